//! Streaming tilesets for the cameras the engine draws: each frame, every
//! camera becomes a tile [`View`], every streamed tileset selects, requests
//! and attaches within the frame's time budget and within what the others
//! leave of one shared memory budget, and the counters are summed for stats
//! and the progress line.

use std::time::Duration;

use urbis_model::{CityModel, StreamFrame, StreamedTileset};
use urbis_render::Camera;
use urbis_tiles::{StreamCounts, StreamStatus, View};

/// The tile view of a camera drawing `width` × `height` pixels.
pub fn tile_view(camera: &Camera, width: u32, height: u32, max_sse: f64) -> View {
    View {
        position: camera.position,
        direction: camera.forward(),
        up: camera.up(),
        fov_y: camera.fov_y,
        aspect: width as f64 / height.max(1) as f64,
        viewport_height: height as f64,
        max_sse,
        cull: true,
    }
}

/// What the streamed tilesets did in one frame, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StreamSummary {
    pub frame: StreamFrame,
    /// Counters of this frame.
    pub counts: StreamCounts,
    pub pending: usize,
    pub resident_tiles: usize,
    pub resident_bytes: u64,
    pub budget_bytes: u64,
    /// The largest screen-space error in use.
    pub sse: f64,
    pub sse_raised: bool,
    pub complete: bool,
}

/// Every streamed tileset of a scene.
#[derive(Debug, Default)]
pub struct Streams {
    pub tilesets: Vec<StreamedTileset>,
    /// Main-thread time per frame for turning loaded tiles into entities,
    /// at least; a quarter of the time since the last frame when that is
    /// more (a slow renderer leaves as much room for attaching in
    /// proportion), never over [`Streams::MAX_ATTACH`].
    pub attach_budget: Duration,
    /// Failures already reported.
    reported: usize,
    last_frame: Option<std::time::Instant>,
    /// The memory budget all the tilesets share (the terrain included): the
    /// one they were opened with.
    shared_budget: u64,
}

impl Streams {
    /// The longest attach time of one frame.
    pub const MAX_ATTACH: Duration = Duration::from_millis(250);

    pub fn new(tilesets: Vec<StreamedTileset>, attach_budget: Duration) -> Self {
        let shared_budget = tilesets.iter().map(|t| t.stream.options().memory_budget).max().unwrap_or(0);
        Self { tilesets, attach_budget, reported: 0, last_frame: None, shared_budget }
    }

    /// Gives each tileset what the others leave of the shared budget (at
    /// least a quarter of an even share, so none starves): one budget holds
    /// 3D Tiles, photo meshes and the terrain together.
    fn share_budget(&mut self, i: usize) {
        let n = self.tilesets.len() as u64;
        if n < 2 {
            return;
        }
        let others: u64 = self
            .tilesets
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, t)| t.stream.status().resident_bytes)
            .sum();
        let share = self.shared_budget.saturating_sub(others).max(self.shared_budget / (4 * n));
        let stream = &mut self.tilesets[i].stream;
        if stream.options().memory_budget != share {
            stream.set_memory_budget(share);
        }
    }

    /// This frame's attach time: the set budget, or a quarter of the last frame period when that is longer.
    fn frame_attach_budget(&mut self) -> Duration {
        let now = std::time::Instant::now();
        let period = self.last_frame.map_or(Duration::ZERO, |t| now - t);
        self.last_frame = Some(now);
        self.attach_budget.max(period / 4).min(Self::MAX_ATTACH.max(self.attach_budget))
    }

    pub fn is_empty(&self) -> bool {
        self.tilesets.is_empty()
    }

    /// One frame for these cameras (each with its viewport).
    pub fn frame(&mut self, model: &mut CityModel, cameras: &[(Camera, u32, u32)]) -> StreamSummary {
        let views: Vec<View> = cameras.iter().map(|(c, w, h)| tile_view(c, *w, *h, 0.0)).collect();
        self.frame_views(model, &views)
    }

    /// One frame for these tile views (a video wall's whole-wall view, say);
    /// each tileset selects with its own screen-space error.
    pub fn frame_views(&mut self, model: &mut CityModel, views: &[View]) -> StreamSummary {
        let mut s = StreamSummary { complete: true, ..Default::default() };
        let per_set = self.frame_attach_budget() / self.tilesets.len().max(1) as u32;
        for i in 0..self.tilesets.len() {
            self.share_budget(i);
            let t = &mut self.tilesets[i];
            let max_sse = t.stream.options().max_sse;
            let views: Vec<View> = views.iter().map(|v| View { max_sse, ..*v }).collect();
            let f = t.frame(model, &views, per_set);
            s.frame.attached += f.attached;
            s.frame.detached += f.detached;
            s.frame.shown += f.shown;
            s.frame.attach_ms += f.attach_ms;
            let c = t.stream.take_frame_counts();
            s.counts += c;
            let st: StreamStatus = t.stream.status();
            s.pending += st.pending + st.decoded;
            s.resident_tiles += st.resident_tiles;
            s.resident_bytes += st.resident_bytes;
            s.budget_bytes = self.shared_budget.max(st.budget_bytes);
            s.sse = s.sse.max(st.sse);
            s.sse_raised |= st.sse_raised;
            s.complete &= st.complete;
        }
        s
    }

    /// Failures since the last call, each as "URI: reason".
    pub fn new_failures(&mut self) -> Vec<String> {
        let all: Vec<String> = self.tilesets.iter().flat_map(|t| t.report.failed_tiles.iter().cloned()).collect();
        let fresh = all.get(self.reported..).map(<[String]>::to_vec).unwrap_or_default();
        self.reported = all.len();
        fresh
    }

    /// Every failure so far.
    pub fn failures(&self) -> Vec<String> {
        self.tilesets.iter().flat_map(|t| t.report.failed_tiles.iter().cloned()).collect()
    }
}

/// One line for a progress display.
pub fn progress_line(s: &StreamSummary, fetched_total: u64) -> String {
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let mut line = format!(
        "tiles: {} pending, {} resident ({:.1} of {:.0} MB), {:.1} MB loaded",
        s.pending,
        s.resident_tiles,
        mb(s.resident_bytes),
        mb(s.budget_bytes),
        mb(fetched_total)
    );
    if s.sse_raised {
        line.push_str(&format!("; over budget: SSE raised to {:.0} px", s.sse));
    }
    line
}
