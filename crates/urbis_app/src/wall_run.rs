//! `urbis wall run`: one process driving displays, as the whole wall, its
//! leader or a follower.
//!
//! ```text
//! leader:   accept followers ─► live step, camera ─► FrameState (deltas; snapshots to newcomers)
//!           ─► broadcast ─► render own displays ─► barrier (Ready or timeout: missing) ─► swap ─► present
//! follower: Frame/Snapshot from the leader ─► camera, live readings, styles into the model
//!           ─► render its displays ─► Ready ─► wait for Swap ─► present
//! all:      every display of the wall in this process (no network)
//! ```
//!
//! Each node is a [`Node`]: `begin_frame` (state in), `before_present` (the
//! swap barrier), `after_present` (the frame log). The displays are drawn
//! offscreen (`--headless`) or in windows (`urbis_engine::wall_window`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use glam::{DMat3, DVec3};
use urbis_engine::{Streams, WallView};
use urbis_model::{CityModel, LatestReading, Sensor};
use urbis_render::{Camera, Lighting, Overlay};
use urbis_wall::WallConfig;
use urbis_wall::sync::{
    CameraState, Follower, FollowerEvent, FollowerOptions, FrameState, Leader, LeaderOptions, LiveDelta,
};

/// Which part this process plays.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every display (or those given with --display) in this process, no network.
    All,
    /// Owns the state: broadcasts every frame and holds the swap barrier.
    Leader,
    /// Renders what the leader sends.
    Follower,
}

/// One frame's inputs for the displays.
pub struct NodeFrame {
    pub camera: Camera,
    pub lighting: Lighting,
    pub overlays: Vec<Overlay>,
}

enum Sync {
    None,
    Leader { leader: Option<Leader>, last_live: HashMap<String, i64>, styles: Option<String> },
    Follower { follower: Follower },
}

/// A wall process' frame loop, whatever draws its displays.
pub struct Node {
    wall: WallConfig,
    sync: Sync,
    /// The city camera at frame 0 (the leader's; followers take the leader's).
    base: Camera,
    /// Seconds per turn of a slow orbit about the view's target (leader / all), if any.
    orbit: Option<f64>,
    fps: f64,
    pub max_frames: Option<u64>,
    streams: Streams,
    max_sse: f64,
    live: Option<crate::live::Live>,
    camera: Camera,
    frame_start: Instant,
    log: Option<std::fs::File>,
    displays: Vec<String>,
    /// The error that ended the run (the leader went away, …).
    pub error: Option<anyhow::Error>,
    pub frames: u64,
    pub missing_frames: u64,
    /// Follower: the first frame was a snapshot at this seq.
    joined_at: Option<u64>,
    /// The camera set from outside (a planner's viewer leading the wall):
    /// used as is, with no orbit and no pacing (the viewer sets the pace).
    driven: Option<Camera>,
    /// The frame being drawn (a follower's is the leader's).
    seq: u64,
    /// The last barrier's missing displays (leader).
    missing: Vec<String>,
    /// The displays the wall goes without now (the leader's list), shown on every display.
    wall_missing: Vec<String>,
    waited_ms: f64,
    snapshot: bool,
    /// When this frame's state left the leader (leader) or arrived (follower), Unix µs.
    state_us: u64,
    /// The leader's selection (a feature id); the one highlighted now.
    select: Option<String>,
    selected: Option<String>,
    /// Sensors with a reading, and the sum of their latest values, after
    /// this frame's state (the frame log's check that the displays agree).
    live_digest: (usize, f64),
}

/// Unix time in microseconds (the frame log's clock: every process on a
/// machine shares it).
fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn camera_state(c: &Camera) -> CameraState {
    CameraState { position: c.position.to_array(), rotation: c.rotation.to_cols_array(), fov_y: c.fov_y, near: c.near }
}

fn camera_of(s: &CameraState) -> Camera {
    Camera {
        position: DVec3::from_array(s.position),
        rotation: DMat3::from_cols_array(&s.rotation),
        fov_y: s.fov_y,
        near: s.near,
    }
}

/// What the process was asked to do.
pub struct NodeOptions {
    pub role: Role,
    pub displays: Vec<String>,
    pub leader_addr: Option<String>,
    pub orbit: Option<f64>,
    pub max_frames: Option<u64>,
    pub frame_log: Option<PathBuf>,
    pub max_sse: f64,
    /// The feature the leader selects (its id), highlighted on every display.
    pub select: Option<String>,
}

impl Node {
    /// Sets the process up: binds (leader) or connects (follower).
    pub fn new(
        wall: WallConfig,
        options: NodeOptions,
        camera: Camera,
        streams: Streams,
        live: Option<crate::live::Live>,
        styles: Option<String>,
    ) -> Result<Node> {
        let fps = wall.sync.as_ref().map_or(30.0, |s| s.fps);
        let addr = options.leader_addr.clone().or_else(|| wall.sync.as_ref().map(|s| s.leader.clone()));
        let sync = match options.role {
            Role::All => Sync::None,
            Role::Leader => {
                let Some(addr) = addr else { bail!("--role leader needs a [sync] table in the wall file or --leader") };
                let expected = wall
                    .layout
                    .displays
                    .iter()
                    .map(|d| d.id.clone())
                    .filter(|id| !options.displays.contains(id))
                    .collect();
                let opts = LeaderOptions {
                    barrier_timeout: wall.sync.as_ref().map_or(Duration::from_millis(250), |s| s.barrier_timeout),
                    expected,
                    ..Default::default()
                };
                let leader = Leader::bind(&addr, opts)?;
                eprintln!("wall leader: listening on {}", leader.local_addr());
                Sync::Leader { leader: Some(leader), last_live: HashMap::new(), styles }
            }
            Role::Follower => {
                let Some(addr) = addr else {
                    bail!("--role follower needs a [sync] table in the wall file or --leader")
                };
                let [display] = options.displays.as_slice() else {
                    bail!("--role follower renders one display: give --display ID once")
                };
                let opts = FollowerOptions::default();
                let follower = Follower::connect(&addr, display, opts)?;
                eprintln!("wall follower {display}: connected to the leader at {addr}");
                Sync::Follower { follower }
            }
        };
        let mut log = match &options.frame_log {
            Some(p) => Some(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
            None => None,
        };
        if let Some(log) = log.as_mut() {
            let role = format!("{:?}", options.role).to_lowercase();
            let line = serde_json::json!({"event": "started", "role": role, "t_us": unix_us()});
            let _ = writeln!(log, "{line}");
        }
        Ok(Node {
            wall,
            sync,
            base: camera,
            orbit: options.orbit,
            fps,
            max_frames: options.max_frames,
            streams,
            max_sse: options.max_sse,
            live,
            camera,
            frame_start: Instant::now(),
            log,
            displays: options.displays,
            error: None,
            frames: 0,
            missing_frames: 0,
            joined_at: None,
            driven: None,
            seq: 0,
            missing: Vec::new(),
            wall_missing: Vec::new(),
            waited_ms: 0.0,
            snapshot: false,
            state_us: 0,
            select: options.select,
            selected: None,
            live_digest: (0, 0.0),
        })
    }

    pub fn wall(&self) -> &WallConfig {
        &self.wall
    }

    /// The leader's camera for frame `seq`: the base camera, turned about
    /// the point it looks at when orbiting.
    fn leader_camera(&self, seq: u64) -> Camera {
        if let Some(c) = self.driven {
            return c;
        }
        let Some(period) = self.orbit else { return self.base };
        let angle = std::f64::consts::TAU * seq as f64 / self.fps / period.max(0.1);
        // The orbit's axis: the local vertical (the camera's position direction on the globe).
        let up = self.base.position.normalize();
        let target = self.base.position + self.base.forward() * 1000.0;
        let rot = DMat3::from_axis_angle(up, angle);
        Camera {
            position: target + rot * (self.base.position - target),
            rotation: rot * self.base.rotation,
            ..self.base
        }
    }

    /// The readings that changed since the last frame (leader); with
    /// `all`, every sensor's history and latest reading (a snapshot: a
    /// follower that joins late draws the same charts).
    fn live_deltas(model: &CityModel, last: &mut HashMap<String, i64>, all: bool) -> Vec<LiveDelta> {
        let mut out = Vec::new();
        if all {
            let mut q = model.world.try_query::<(&Sensor, &urbis_model::History)>();
            if let Some(q) = q.as_mut() {
                for (s, h) in q.iter(&model.world) {
                    let id = &s.id;
                    out.extend(h.iter().map(|(t, v)| LiveDelta {
                        sensor: id.clone(),
                        time: t as f64 / 1000.0,
                        value: v,
                    }));
                }
            }
        }
        let mut q = model.world.try_query::<(&Sensor, &LatestReading)>();
        let Some(q) = q.as_mut() else { return out };
        for (s, l) in q.iter(&model.world) {
            if l.is_empty() {
                continue;
            }
            let changed = last.get(&s.id) != Some(&l.time_ms);
            if changed || all {
                out.push(LiveDelta { sensor: s.id.clone(), time: l.time_ms as f64 / 1000.0, value: l.value });
            }
            if changed && !all {
                last.insert(s.id.clone(), l.time_ms);
            }
        }
        // By sensor, then time; a history's last sample may be the latest reading itself.
        out.sort_by(|a, b| a.sensor.cmp(&b.sensor).then(a.time.total_cmp(&b.time)));
        out.dedup_by(|a, b| a.sensor == b.sensor && a.time == b.time);
        out
    }

    /// Frame `seq`'s state into the model; `None` ends the run.
    pub fn begin_frame(&mut self, model: &mut CityModel, seq: u64) -> Option<NodeFrame> {
        if self.max_frames.is_some_and(|m| self.frames >= m) {
            return None;
        }
        // Pace the leader (and a lone process) to the wall's frame rate.
        if !matches!(self.sync, Sync::Follower { .. }) && self.driven.is_none() {
            let period = Duration::from_secs_f64(1.0 / self.fps);
            let next = self.frame_start + period;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.frame_start = Instant::now();
        self.seq = seq;
        self.snapshot = false;
        let mut now_s = None;
        if let Some(l) = self.live.as_mut() {
            l.step(model);
            now_s = Some(l.now_ms() as f64 / 1000.0);
        }
        match &mut self.sync {
            Sync::None => self.camera = self.leader_camera(seq),
            Sync::Leader { .. } => {
                self.camera = self.leader_camera(seq);
                let Sync::Leader { leader: Some(leader), last_live, styles } = &mut self.sync else { return None };
                let deltas = Self::live_deltas(model, last_live, false);
                let state = FrameState {
                    camera: camera_state(&self.camera),
                    sim_time: now_s,
                    selection: self.select.clone(),
                    live: deltas,
                    scenario_mode: None,
                    styles: None,
                    missing: self.missing.clone(),
                };
                let full = || FrameState {
                    live: Self::live_deltas(model, &mut HashMap::new(), true),
                    styles: styles.clone(),
                    ..state.clone()
                };
                for e in leader.accept_pending() {
                    tracing::info!("wall: {e:?}");
                }
                // The frame-state latency runs from here (encoding included) to the follower's decode.
                self.state_us = unix_us();
                if let Err(e) = leader.broadcast_frame(seq, &state, full) {
                    self.error = Some(e.into());
                    return None;
                }
            }
            Sync::Follower { follower } => match follower.next_latest() {
                Ok(FollowerEvent::Frame { seq: got, state, snapshot }) => {
                    self.state_us = unix_us();
                    if snapshot && self.joined_at.is_none() {
                        self.joined_at = Some(got);
                    }
                    self.snapshot = snapshot;
                    self.camera = camera_of(&state.camera);
                    self.select = state.selection.clone();
                    self.wall_missing = state.missing.clone();
                    if let Some(l) = self.live.as_mut() {
                        apply_live(model, l, &state.live, state.sim_time);
                    }
                    if let Some(text) = &state.styles
                        && let Err(e) = apply_styles(model, text)
                    {
                        tracing::warn!("wall: the leader's styles: {e:#}");
                    }
                    self.seq = got;
                }
                Ok(FollowerEvent::Bye(reason)) => {
                    eprintln!("wall follower: the leader stopped the wall: {reason}");
                    return None;
                }
                Err(e) => {
                    self.error = Some(anyhow!(e));
                    return None;
                }
            },
        }
        if self.selected != self.select {
            highlight(model, self.selected.as_deref(), false);
            highlight(model, self.select.as_deref(), true);
            self.selected.clone_from(&self.select);
        }
        let view = WallView::new(&self.wall.layout, &self.camera)?;
        if !self.streams.is_empty() {
            self.streams.frame_views(model, &[view.tile_view(self.max_sse)]);
        }
        if self.log.is_some() {
            self.live_digest = live_digest(model);
        }
        let lighting = urbis_engine::default_lighting(model, &view.camera);
        if let Sync::Leader { .. } = self.sync {
            self.wall_missing.clone_from(&self.missing);
        }
        let mut overlays = crate::wall::overlays(&self.wall, model, self.live.as_ref(), now_s);
        if !self.wall_missing.is_empty() {
            overlays.push(missing_panels(&self.wall.layout, &self.displays, &self.wall_missing));
        }
        Some(NodeFrame { camera: self.camera, lighting, overlays })
    }
}

impl Node {
    /// Every display of this process has drawn the frame: the swap barrier.
    pub fn before_present(&mut self) {
        let seq = self.seq;
        match &mut self.sync {
            Sync::None => {}
            Sync::Leader { leader: Some(leader), .. } => {
                let report = leader.barrier(seq);
                for e in &report.events {
                    tracing::info!("wall: {e:?}");
                }
                if !report.missing.is_empty() {
                    self.missing_frames += 1;
                }
                self.missing = report.missing;
                self.waited_ms = report.waited.as_secs_f64() * 1000.0;
                leader.swap(seq);
            }
            Sync::Leader { leader: None, .. } => {}
            Sync::Follower { follower } => {
                if let Err(e) = follower.ready(seq).and_then(|()| follower.wait_swap(seq)) {
                    self.error = Some(anyhow!(e));
                }
            }
        }
    }

    /// The frame is on screen: count it and log it.
    pub fn after_present(&mut self) {
        self.frames += 1;
        if let Some(log) = self.log.as_mut() {
            let t_us = unix_us();
            let line = serde_json::json!({
                "seq": self.seq,
                "t_us": t_us,
                "state_us": self.state_us,
                "displays": self.displays,
                "snapshot": self.snapshot,
                "missing": self.missing,
                "shown_missing": self.wall_missing,
                "waited_ms": self.waited_ms,
                "live": self.live_digest,
                "selected": self.selected,
            });
            // The log is for tests and operators; a full disk must not stop the wall.
            let _ = writeln!(log, "{line}").and_then(|()| log.flush());
        }
    }

    /// Whether the run ended on an error (a follower whose leader went away).
    pub fn take_error(&mut self) -> Option<anyhow::Error> {
        self.error.take()
    }

    /// A leader says goodbye to its followers.
    pub fn shutdown(&mut self, reason: &str) {
        if let Sync::Leader { leader, .. } = &mut self.sync
            && let Some(l) = leader.take()
        {
            l.shutdown(reason);
        }
    }
}

/// The leader's readings into this follower's live session (which applies
/// style and alarm rules as the leader's did).
fn apply_live(model: &mut CityModel, live: &mut crate::live::Live, deltas: &[LiveDelta], sim_time: Option<f64>) {
    let registry = live.session.registry().clone();
    let mut readings: Vec<urbis_live::Reading> = deltas
        .iter()
        .filter_map(|d| {
            Some(urbis_live::Reading {
                stream: registry.stream(&d.sensor)?,
                time_ms: (d.time * 1000.0).round() as i64,
                value: d.value,
                quality: urbis_model::Quality::Good,
                redelivered: false,
            })
        })
        .collect();
    readings.sort_by_key(|r| (r.stream, r.time_ms));
    // The leader's clock, so silence and held-threshold alarms agree with its.
    let newest = readings.iter().map(|r| r.time_ms).max();
    let Some(now) = sim_time.map(|t| (t * 1000.0).round() as i64).or(newest) else { return };
    let report = live.session.apply(model, &readings, now);
    if !report.events.is_empty() {
        live.session.highlight_alarms(model);
    }
}

/// The leader's style TOML onto this follower's model.
fn apply_styles(model: &mut CityModel, text: &str) -> Result<()> {
    let style = urbis_model::style::parse_style(text, Path::new("<leader's styles>"))?;
    style.apply(model);
    Ok(())
}

/// Draws this process' displays in windows (one borderless window per
/// display, one device and one city model), frame after frame.
pub fn drive_windows(node: Node, model: CityModel, mine: &[usize]) -> Result<()> {
    struct Hook(Node, std::rc::Rc<std::cell::RefCell<Option<anyhow::Error>>>);
    impl urbis_engine::wall_window::WallHook for Hook {
        fn begin_frame(&mut self, model: &mut CityModel, seq: u64) -> Option<urbis_engine::wall_window::WallFrame> {
            let f = self.0.begin_frame(model, seq)?;
            Some(urbis_engine::wall_window::WallFrame { camera: f.camera, lighting: f.lighting, overlays: f.overlays })
        }
        fn before_present(&mut self, _seq: u64) {
            self.0.before_present();
        }
        fn after_present(&mut self, _seq: u64) {
            self.0.after_present();
        }
    }
    impl Drop for Hook {
        fn drop(&mut self) {
            self.0.shutdown("the leader's windows closed");
            *self.1.borrow_mut() = self.0.take_error();
        }
    }
    let layout = node.wall().layout.clone();
    let max_frames = node.max_frames;
    let error = std::rc::Rc::new(std::cell::RefCell::new(None));
    let options =
        urbis_engine::wall_window::WallWindowOptions { displays: mine.to_vec(), fullscreen: true, max_frames };
    let summary =
        urbis_engine::wall_window::run_wall_windows(model, layout, options, Box::new(Hook(node, error.clone())))?;
    for (id, size, position, monitor) in &summary.windows {
        let place = match (monitor, position) {
            (Some(m), _) => format!("full screen on {m}"),
            (None, Some(p)) => format!("at ({}, {})", p[0], p[1]),
            (None, None) => String::new(),
        };
        eprintln!("wall: {id} {}×{} {place}", size[0], size[1]);
    }
    eprintln!("wall: presented {} frames on {} window(s)", summary.frames, summary.windows.len());
    match error.borrow_mut().take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sensors with a reading and the sum of their latest values.
fn live_digest(model: &CityModel) -> (usize, f64) {
    let mut q = model.world.try_query::<&LatestReading>();
    let Some(q) = q.as_mut() else { return (0, 0.0) };
    q.iter(&model.world).filter(|l| !l.is_empty()).fold((0, 0.0), |(n, s), l| (n + 1, s + l.value))
}

/// Highlights (or clears) the feature with this id, when the model has it.
fn highlight(model: &mut CityModel, id: Option<&str>, on: bool) {
    let Some(id) = id else { return };
    let Some(e) = model.features().by_guid(id) else {
        tracing::warn!("wall: no feature with id {id} to select");
        return;
    };
    if let Some(mut s) = model.world.get_mut::<urbis_model::FeatureStyle>(e) {
        s.highlighted = on;
    }
}

/// A panel in the top-left corner of each display this process draws,
/// naming the displays the wall goes without.
fn missing_panels(layout: &urbis_wall::WallLayout, mine: &[String], missing: &[String]) -> Overlay {
    let (_, _, rects) = layout.canvas();
    let scale = 1.0_f32.max(rects.first().map_or(1.0, |r| r[3] as f32 / 540.0));
    let panels = layout
        .displays
        .iter()
        .zip(&rects)
        .filter(|(d, _)| mine.contains(&d.id))
        .map(|(_, r)| urbis_render::Panel {
            x: r[0] as f32 + 8.0 * scale,
            y: r[1] as f32 + 8.0 * scale,
            title: Some("Wall".into()),
            lines: vec![format!("missing: {}", missing.join(", "))],
        })
        .collect();
    Overlay { scale, panels, lines: Vec::new() }
}

/// A planner's viewer leading the wall (`urbis view --wall-leader
/// WALL.toml`): every frame of the viewer is a frame of the wall, with the
/// viewer's camera; the followers draw the displays. The swap barrier of a
/// frame runs at the start of the next, so the viewer waits at most the
/// barrier timeout, and only for followers slower than itself.
pub struct LeaderHook {
    node: Node,
    seq: u64,
    started: bool,
    address: String,
}

impl LeaderHook {
    pub fn new(wall: WallConfig, leader_addr: Option<String>, frame_log: Option<PathBuf>) -> Result<LeaderHook> {
        let options = NodeOptions {
            role: Role::Leader,
            displays: Vec::new(),
            leader_addr,
            orbit: None,
            max_frames: None,
            frame_log,
            max_sse: 16.0,
            select: None,
        };
        let address =
            options.leader_addr.clone().or_else(|| wall.sync.as_ref().map(|s| s.leader.clone())).unwrap_or_default();
        let camera = Camera::look_at(DVec3::new(0.0, 0.0, 1.0), DVec3::ZERO, DVec3::Y);
        let mut node = Node::new(wall, options, camera, Streams::default(), None, None)?;
        node.driven = Some(camera);
        Ok(LeaderHook { node, seq: 0, started: false, address })
    }
}

impl urbis_engine::FrameHook for LeaderHook {
    fn camera(&mut self, camera: &Camera, _width: u32, _height: u32) {
        self.node.driven = Some(*camera);
    }

    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        if self.started {
            self.node.before_present();
            self.node.after_present();
        }
        if self.node.begin_frame(model, self.seq).is_some() {
            self.started = true;
            self.seq += 1;
        } else if let Some(e) = self.node.take_error() {
            tracing::warn!("wall leader: {e:#}");
        }
        let mut lines = vec![format!("leading the wall from {} (frame {})", self.address, self.seq)];
        if !self.node.missing.is_empty() {
            lines.push(format!("missing: {}", self.node.missing.join(", ")));
        }
        lines
    }

    fn title(&self) -> String {
        "Wall".into()
    }
}

impl Drop for LeaderHook {
    fn drop(&mut self) {
        // The last frame is swapped before the goodbye, so followers end cleanly.
        if self.started {
            self.node.before_present();
            self.node.after_present();
        }
        self.node.shutdown("the planner's viewer closed");
    }
}
