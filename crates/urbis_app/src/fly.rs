//! Streaming commands: `urbis fly` (a camera path flown headless while
//! tiles stream, with per-frame counters), the streaming hook of `urbis
//! view`, and `urbis sample-tiles` (synthetic tilesets written or served).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use glam::DVec3;
use serde_json::json;
use urbis_engine::{Engine, StreamSummary, Streams, default_lighting, progress_line};
use urbis_geo::{Ellipsoid, enu_basis};
use urbis_model::{CityModel, StreamedTileset};
use urbis_render::{Camera, GpuContext, HeadlessTarget};
use urbis_sample_city::SampleTiles;
use urbis_tiles::StreamOptions;

use crate::Inputs;

/// How tilesets stream.
#[derive(Args, Debug, Clone)]
pub struct StreamArgs {
    /// Hard limit on the tile bytes held in CPU and GPU memory, MB.
    #[arg(long, default_value_t = 512)]
    pub memory_budget: u64,
    /// Screen-space error, pixels (Cesium's default 16); raised while the view does not fit the budget.
    #[arg(long, default_value_t = 16.0)]
    pub sse: f64,
    /// Cache HTTP tiles in this directory.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Size limit of the --cache directory, MB.
    #[arg(long, default_value_t = 2048)]
    pub cache_size: u64,
    /// HTTP requests in flight per host.
    #[arg(long, default_value_t = 6)]
    pub per_host: usize,
    /// Main-thread time per frame for turning loaded tiles into entities, ms (at least; a quarter of a slow frame when more).
    #[arg(long, default_value_t = 12)]
    pub attach_ms: u64,
    /// Also load the siblings and ancestors of the tiles in view.
    #[arg(long)]
    pub preload: bool,
}

impl StreamArgs {
    pub fn options(&self) -> StreamOptions {
        StreamOptions {
            memory_budget: self.memory_budget << 20,
            max_sse: self.sse,
            workers: self.per_host.max(2),
            preload_siblings: self.preload,
            preload_ancestors: self.preload,
            ..StreamOptions::default()
        }
    }

    /// Installs the HTTP settings and the cache for every tileset opened after.
    pub fn install_fetcher(&self) -> Result<()> {
        let cache = match &self.cache {
            Some(dir) => Some(
                urbis_tiles::DiskCache::open(dir, self.cache_size << 20)
                    .with_context(|| format!("cache {}", dir.display()))?,
            ),
            None => None,
        };
        let http = urbis_tiles::HttpOptions { per_host: self.per_host.max(1), ..Default::default() };
        urbis_tiles::fetch::set_default_fetcher(Arc::new(urbis_tiles::Fetcher::new(http, cache)));
        Ok(())
    }
}

/// Opens the inputs with tilesets streaming.
pub fn open_streaming(
    paths: &[PathBuf],
    inputs: &Inputs,
    stream: &StreamArgs,
) -> Result<(CityModel, Vec<StreamedTileset>)> {
    stream.install_fetcher()?;
    if inputs.monomerize {
        anyhow::bail!(
            "--monomerize cuts photo meshes loaded whole; view, render and fly stream them. Use inspect or pick with --monomerize"
        );
    }
    let opts = inputs.load_options(urbis_model::TileDetail::Overview);
    let (mut model, tilesets, reports) = urbis_model::open_city_streaming(paths, &opts, &stream.options())?;
    match tilesets.iter().find_map(|t| t.terrain.clone()) {
        // On the globe the terrain drapes the imagery tile by tile.
        Some(g) => g.set_layers(crate::imagery::layers(inputs)?),
        None => crate::imagery::drape(inputs, &mut model)?,
    }
    for r in &reports {
        for w in &r.warnings {
            tracing::warn!("{}: {w}", r.path);
        }
    }
    for t in &tilesets {
        for w in &t.report.warnings {
            eprintln!("warning: {}: {w}", t.report.path);
        }
    }
    Ok((model, tilesets))
}

/// The default camera: over the loaded features, else an oblique view of
/// the first streamed tileset's root volume (from the south-south-west,
/// looking down 40°, as the overview of a directly loaded tileset).
pub fn scene_camera(model: &CityModel, streams: &Streams) -> Camera {
    let first = streams.tilesets.first().map(|t| {
        let tree = t.stream.tree();
        tree.get(tree.root()).volume.bounding_sphere()
    });
    match first {
        Some((c, r)) if model.feature_count() == 0 => {
            let up = if c.length() < 1.0 { DVec3::Z } else { c.normalize() };
            let side = if up.z.abs() > 0.9 { DVec3::X } else { DVec3::Z.cross(up).normalize() };
            let dir = (side * 0.64 - up * 0.77).normalize();
            let mut cam = Camera::look_at(c - dir * r.max(1.0) * 2.4, c, up);
            cam.near = (r * 2.4e-3).clamp(0.01, 1.0);
            cam
        }
        _ => urbis_engine::default_camera(model),
    }
}

/// Streams frames at one camera until every wanted tile is attached (or `limit` passes), with a progress line.
pub fn settle(engine: &mut Engine, streams: &mut Streams, camera: &Camera, width: u32, height: u32, limit: Duration) {
    settle_views(engine, streams, &[urbis_engine::tile_view(camera, width, height, 0.0)], limit);
}

/// [`settle`] for tile views (a video wall's whole-wall view).
pub fn settle_views(engine: &mut Engine, streams: &mut Streams, views: &[urbis_tiles::View], limit: Duration) {
    if streams.is_empty() {
        return;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(120));
    let start = Instant::now();
    let mut fetched = 0;
    loop {
        let s = streams.frame_views(&mut engine.model, views);
        engine.update();
        fetched += s.counts.bytes_fetched;
        pb.set_message(progress_line(&s, fetched));
        for f in streams.new_failures() {
            pb.suspend(|| eprintln!("warning: tile not loaded: {f}"));
        }
        if s.complete {
            if s.sse_raised {
                pb.suspend(|| {
                    eprintln!("warning: the view needs more than the memory budget; drawn at SSE {:.0} px", s.sse)
                });
            }
            break;
        }
        if start.elapsed() > limit {
            pb.suspend(|| {
                eprintln!("warning: tiles still loading after {:.0} s; drawing what arrived", limit.as_secs_f64())
            });
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    pb.finish_and_clear();
    engine.model.rebuild_spatial_index();
}

/// An orbit around a sphere: Cesium's viewBoundingSphere at pitch −35°, range 2r, heading 0 → 360°.
fn orbit_frames(centre: DVec3, radius: f64, frames: usize, fov: f64) -> Vec<(Camera, Option<usize>)> {
    let g = Ellipsoid::WGS84.ecef_to_geodetic(centre);
    let b = enu_basis(g.lon_deg, g.lat_deg);
    let n = frames.max(1);
    (0..n)
        .map(|i| {
            let h = (i as f64 / n as f64) * std::f64::consts::TAU;
            let p = (-35f64).to_radians();
            let dir_enu = DVec3::new(h.sin() * p.cos(), h.cos() * p.cos(), p.sin());
            let dir = b * dir_enu;
            let mut c = Camera::look_at(centre - dir * radius * 2.0, centre, b.z_axis);
            c.fov_y = fov;
            (c, (i == 0).then_some(0))
        })
        .collect()
}

/// Peak and current resident set of this process, bytes (Linux).
pub(crate) fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// GPU milliseconds per pass of one frame (passes that did not run are left out).
fn pass_json(p: urbis_render::PassTimes) -> serde_json::Value {
    json!({
        "field_cull": p.field_cull_ms, "shadow": p.shadow_ms, "city": p.city_ms,
        "depth_pyramid": p.depth_pyramid_ms, "composite": p.composite_ms, "total": p.total_ms(),
    })
}

/// The median of each pass over frames.
fn pass_p50(frames: &[urbis_render::PassTimes]) -> serde_json::Value {
    let p = |f: fn(&urbis_render::PassTimes) -> Option<f64>| {
        let v: Vec<f64> = frames.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| percentile(&v, 0.5))
    };
    json!({
        "field_cull": p(|t| t.field_cull_ms), "shadow": p(|t| t.shadow_ms), "city": p(|t| t.city_ms),
        "depth_pyramid": p(|t| t.depth_pyramid_ms), "composite": p(|t| t.composite_ms),
        "total": percentile(&frames.iter().map(|t| t.total_ms()).collect::<Vec<_>>(), 0.5),
    })
}

pub(crate) fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * p).round() as usize]
}

/// Flying options.
#[derive(Debug, Clone)]
pub struct FlyArgs {
    pub tour: Option<PathBuf>,
    pub orbit: bool,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub fov: f64,
    pub json: bool,
    pub out_dir: Option<PathBuf>,
    /// Longest wait for full detail at a waypoint, seconds.
    pub settle_s: f64,
    /// Times the path is flown; laps after the first are the static baseline when the tiles fit the budget.
    pub laps: usize,
    /// Fly in the window instead of headless.
    pub window: bool,
}

/// `urbis fly`: flies the camera path headless while tilesets stream.
pub fn fly(inputs: &Inputs, args: &FlyArgs, stream: &StreamArgs) -> Result<()> {
    if args.tour.is_some() == args.orbit {
        bail!("give exactly one of --tour FILE.json or --orbit");
    }
    let paths = crate::commands::input_paths(inputs)?;
    let started = Instant::now();
    let (model, tilesets) = open_streaming(&paths, inputs, stream)?;
    let fov = args.fov.to_radians();
    let path = match &args.tour {
        Some(t) => urbis_engine::tour::frames(&urbis_engine::tour::read_tour(t)?, args.frames, fov),
        None => {
            let (c, r) = match tilesets.first() {
                Some(t) => t.stream.tree().get(t.stream.tree().root()).volume.bounding_sphere(),
                None => {
                    let b = model.bounds();
                    (model.frame().enu_to_ecef(b.center()), b.size().length().max(1.0) / 2.0)
                }
            };
            orbit_frames(c, r, args.frames, fov)
        }
    };
    if args.window {
        if args.json || args.out_dir.is_some() || args.laps > 1 {
            bail!("--window shows the flight; --json, --out-dir and --laps are for headless flights");
        }
        return fly_window(model, tilesets, path, args, stream);
    }
    let ctx = GpuContext::headless()?;
    let mut engine = Engine::new(model, ctx, HeadlessTarget::FORMAT);
    let mut streams = Streams::new(tilesets, Duration::from_millis(stream.attach_ms));
    for t in &mut streams.tilesets {
        t.gpu_vertex_bytes = size_of::<urbis_render::Vertex>() as u64;
    }
    if let Some(d) = &args.out_dir {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let target = HeadlessTarget::new(&engine.ctx, args.width, args.height);
    let pb = if args.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new((path.len() * args.laps.max(1)) as u64)
    };
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} frames  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut frames_json = Vec::new();
    let mut waypoints = Vec::new();
    let mut frame_ms = Vec::new();
    let mut laps = Vec::new();
    let mut peak_resident = 0u64;
    let mut fetched = 0u64;
    let mut totals = urbis_tiles::StreamCounts::default();
    let mut n = 0usize;
    // GPU time per pass (timestamp queries) goes into the JSON where the device has them.
    let timed = args.json && engine.renderer.set_pass_timing(&engine.ctx, true);
    let mut pass_ms: Vec<urbis_render::PassTimes> = Vec::new();
    let draw = |engine: &mut Engine, streams: &mut Streams, cam: &Camera, n: usize| -> Result<(StreamSummary, f64)> {
        let t0 = Instant::now();
        let s = streams.frame(&mut engine.model, &[(*cam, args.width, args.height)]);
        engine.update();
        let lighting = default_lighting(&engine.model, cam);
        engine.render(cam, &lighting, None, &target.view, args.width, args.height);
        let px = target.read_rgba(&engine.ctx)?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if let Some(d) = &args.out_dir {
            let img = image::RgbaImage::from_raw(args.width, args.height, px).context("short frame")?;
            img.save(d.join(format!("frame_{n:05}.png")))?;
        }
        for f in streams.new_failures() {
            pb.suspend(|| eprintln!("warning: tile not loaded: {f}"));
        }
        Ok((s, ms))
    };
    for lap in 0..args.laps.max(1) {
        let lap_first = frame_ms.len();
        let lap_counts = totals;
        for (cam, arrives) in &path {
            let arrival = Instant::now();
            let mut settle = 0;
            loop {
                let (s, ms) = draw(&mut engine, &mut streams, cam, n)?;
                let passes = if timed { engine.renderer.pass_times(&engine.ctx)? } else { None };
                pass_ms.extend(passes);
                n += 1;
                fetched += s.counts.bytes_fetched;
                totals += s.counts;
                peak_resident = peak_resident.max(s.resident_bytes);
                frame_ms.push(ms);
                pb.set_message(progress_line(&s, fetched));
                frames_json.push(json!({
                "frame": n - 1, "lap": lap, "ms": ms, "waypoint": arrives, "settling": settle > 0,
                "requested": s.counts.requested, "loaded": s.counts.loaded, "cancelled": s.counts.cancelled,
                "evicted": s.counts.evicted, "failed": s.counts.failed, "dropped_for_budget": s.counts.dropped_for_budget,
                "bytes_fetched": s.counts.bytes_fetched, "attached": s.frame.attached, "attach_ms": s.frame.attach_ms,
                "shown_tiles": s.frame.shown, "pending": s.pending, "resident_tiles": s.resident_tiles,
                "resident_bytes": s.resident_bytes, "sse": s.sse, "sse_raised": s.sse_raised, "complete": s.complete,
                "triangles": engine.scene.triangle_count(),
                "pass_ms": passes.map(pass_json),
            }));
                // At a waypoint the camera waits for full detail (up to settle_s).
                let Some(w) = arrives else { break };
                if s.complete || arrival.elapsed().as_secs_f64() > args.settle_s {
                    waypoints.push(json!({
                        "lap": lap,
                        "waypoint": w,
                        "full_detail_ms": s.complete.then(|| arrival.elapsed().as_secs_f64() * 1e3),
                        "frames": settle + 1,
                        "triangles": engine.scene.triangle_count(),
                        "shown_tiles": s.frame.shown,
                        "sse": s.sse,
                    }));
                    break;
                }
                settle += 1;
            }
            pb.inc(1);
        }
        let lap_ms = &frame_ms[lap_first..];
        let c = totals - lap_counts;
        laps.push(json!({
            "lap": lap, "frames": lap_ms.len(), "loaded": c.loaded, "requested": c.requested, "evicted": c.evicted,
            "frame_ms_p50": percentile(lap_ms, 0.5), "frame_ms_p99": percentile(lap_ms, 0.99),
        }));
    }
    pb.finish_and_clear();
    let (peak_rss, rss_now) = rss();
    let failures = streams.failures();
    let report = json!({
        "frames": frames_json,
        "waypoints": waypoints,
        "laps": laps,
        "total": {
            "frames": n,
            "wall_s": started.elapsed().as_secs_f64(),
            "requested": totals.requested, "loaded": totals.loaded, "cancelled": totals.cancelled,
            "evicted": totals.evicted, "failed": totals.failed, "dropped_for_budget": totals.dropped_for_budget,
            "bytes_fetched": totals.bytes_fetched, "expanded": totals.expanded,
            "budget_bytes": stream.memory_budget << 20,
            "peak_resident_bytes": peak_resident,
            "peak_rss_bytes": peak_rss,
            "rss_bytes": rss_now,
            "frame_ms_p50": percentile(&frame_ms, 0.5),
            "frame_ms_p99": percentile(&frame_ms, 0.99),
            "pass_ms_p50": (!pass_ms.is_empty()).then(|| pass_p50(&pass_ms)),
        },
        "failures": failures,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let t = &report["total"];
        eprintln!(
            "fly: {n} frames, {} tiles loaded ({:.1} MB), {} cancelled, {} evicted, {} failed; peak resident {:.1} MB of {} MB, peak RSS {:.0} MB; frame p50 {:.0} ms, p99 {:.0} ms",
            totals.loaded,
            totals.bytes_fetched as f64 / 1048576.0,
            totals.cancelled,
            totals.evicted,
            totals.failed,
            peak_resident as f64 / 1048576.0,
            stream.memory_budget,
            peak_rss as f64 / 1048576.0,
            t["frame_ms_p50"].as_f64().unwrap_or(0.0),
            t["frame_ms_p99"].as_f64().unwrap_or(0.0),
        );
        for w in &waypoints {
            match w["full_detail_ms"].as_f64() {
                Some(ms) => eprintln!("  lap {} waypoint {}: full detail in {ms:.0} ms", w["lap"], w["waypoint"]),
                None => eprintln!(
                    "  lap {} waypoint {}: not at full detail after {} s",
                    w["lap"], w["waypoint"], args.settle_s
                ),
            }
        }
        if laps.len() > 1 {
            for l in &laps {
                eprintln!(
                    "  lap {}: {} frames, {} tiles loaded, frame p50 {:.1} ms, p99 {:.1} ms",
                    l["lap"],
                    l["frames"],
                    l["loaded"],
                    l["frame_ms_p50"].as_f64().unwrap_or(0.0),
                    l["frame_ms_p99"].as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    Ok(())
}

/// Streams tilesets in the window: tiles for each frame's camera, a progress line in the overlay.
pub struct StreamHook {
    pub streams: Streams,
    camera: Option<(Camera, u32, u32)>,
    fetched: u64,
    /// The last frame's summary.
    pub last: Option<StreamSummary>,
}

impl StreamHook {
    pub fn new(mut streams: Streams) -> Self {
        for t in &mut streams.tilesets {
            t.gpu_vertex_bytes = size_of::<urbis_render::Vertex>() as u64;
        }
        Self { streams, camera: None, fetched: 0, last: None }
    }
}

impl urbis_engine::FrameHook for StreamHook {
    fn camera(&mut self, camera: &Camera, width: u32, height: u32) {
        self.camera = Some((*camera, width, height));
    }

    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        let Some(c) = self.camera else { return Vec::new() };
        let s = self.streams.frame(model, &[c]);
        self.last = Some(s);
        self.fetched += s.counts.bytes_fetched;
        for f in self.streams.new_failures() {
            eprintln!("warning: tile not loaded: {f}");
        }
        vec![progress_line(&s, self.fetched)]
    }

    fn title(&self) -> String {
        "Streaming".into()
    }

    fn tiles(&self) -> Option<(usize, usize)> {
        self.last.as_ref().map(|s| (s.resident_tiles, s.pending))
    }
}

/// An HTTP server whose connections send at once (TCP_NODELAY, inherited
/// from the listening socket on Linux): without it every keep-alive
/// response waits about 40 ms for the client's delayed ACK (Nagle), which
/// measures the kernel and not the loader.
pub fn http_server(addr: &str) -> Result<tiny_http::Server> {
    use std::net::ToSocketAddrs;
    let sa = addr.to_socket_addrs()?.next().with_context(|| format!("no address in {addr}"))?;
    let sock = socket2::Socket::new(socket2::Domain::for_address(sa), socket2::Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    sock.set_tcp_nodelay(true)?;
    sock.bind(&sa.into())?;
    sock.listen(1024)?;
    tiny_http::Server::from_listener(std::net::TcpListener::from(sock), None).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Flies a camera path in the window: each frame's camera comes from the
/// path; at a waypoint the camera waits for full detail (or `settle_s`).
struct TourHook {
    inner: StreamHook,
    path: Vec<(Camera, Option<usize>)>,
    at: usize,
    arrival: Option<Instant>,
    settle_s: f64,
    /// (waypoint, ms to full detail) as they are reached.
    reached: Reached,
}

/// Waypoints reached in the window, with the milliseconds each took to full detail.
type Reached = Arc<std::sync::Mutex<Vec<(usize, Option<f64>)>>>;

impl urbis_engine::FrameHook for TourHook {
    fn drive_camera(&mut self) -> Option<Camera> {
        self.path.get(self.at).map(|p| p.0)
    }

    fn camera(&mut self, camera: &Camera, width: u32, height: u32) {
        self.inner.camera(camera, width, height);
    }

    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        let mut lines = self.inner.before_frame(model);
        let Some(&(_, arrives)) = self.path.get(self.at) else { return lines };
        match arrives {
            None => self.at += 1,
            Some(w) => {
                let arrival = *self.arrival.get_or_insert_with(Instant::now);
                let complete = self.inner.last.is_some_and(|s| s.complete);
                if complete || arrival.elapsed().as_secs_f64() > self.settle_s {
                    let ms = complete.then(|| arrival.elapsed().as_secs_f64() * 1e3);
                    self.reached.lock().unwrap_or_else(|e| e.into_inner()).push((w, ms));
                    self.at += 1;
                    self.arrival = None;
                }
            }
        }
        lines.push(format!("tour: frame {} of {}", self.at.min(self.path.len()), self.path.len()));
        lines
    }

    fn finished(&self) -> bool {
        self.at >= self.path.len()
    }

    fn tiles(&self) -> Option<(usize, usize)> {
        urbis_engine::FrameHook::tiles(&self.inner)
    }

    fn title(&self) -> String {
        "Tour".into()
    }
}

/// `urbis fly --window`: the camera path in the window, streaming as it goes.
fn fly_window(
    model: CityModel,
    tilesets: Vec<StreamedTileset>,
    path: Vec<(Camera, Option<usize>)>,
    args: &FlyArgs,
    stream: &StreamArgs,
) -> Result<()> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!("no display (DISPLAY/WAYLAND_DISPLAY unset): fly headless without --window, or under xvfb-run -a");
    }
    let reached: Reached = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook = TourHook {
        inner: StreamHook::new(Streams::new(tilesets, Duration::from_millis(stream.attach_ms))),
        path,
        at: 0,
        arrival: None,
        settle_s: args.settle_s,
        reached: reached.clone(),
    };
    let options = urbis_engine::ViewOptions {
        title: "Urbis fly".into(),
        size: Some((args.width, args.height)),
        fov_deg: Some(args.fov),
        ..Default::default()
    };
    let summary = urbis_engine::run_viewer_with(model, options, Some(Box::new(hook)))?;
    eprintln!("fly: presented {} frames at {}x{}", summary.frames, summary.width, summary.height);
    for (w, ms) in reached.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        match ms {
            Some(ms) => eprintln!("  waypoint {w}: full detail in {ms:.0} ms"),
            None => eprintln!("  waypoint {w}: not at full detail after {} s", args.settle_s),
        }
    }
    Ok(())
}

/// `urbis sample-tiles`: writes a synthetic tileset, or serves one made on the fly.
pub fn sample_tiles(tiles: &SampleTiles, out: Option<&Path>, serve: Option<&str>) -> Result<()> {
    match (out, serve) {
        (Some(dir), None) => {
            let pb = indicatif::ProgressBar::new(tiles.tile_count());
            pb.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} tiles  {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let mut written = 0u64;
            let total = tiles
                .write(dir, |n| {
                    written += n;
                    pb.inc(1);
                    pb.set_message(format!("{:.1} MB", written as f64 / 1048576.0));
                })
                .with_context(|| format!("writing {}", dir.display()))?;
            pb.finish_and_clear();
            eprintln!(
                "sample-tiles: {} tiles, {:.1} MB in {}",
                tiles.tile_count(),
                total as f64 / 1048576.0,
                dir.join("tileset.json").display()
            );
            Ok(())
        }
        (None, Some(addr)) => {
            let server = http_server(addr).map_err(|e| anyhow::anyhow!("serving on {addr}: {e}"))?;
            let bound = server.server_addr().to_ip().map_or(addr.to_string(), |a| a.to_string());
            eprintln!("sample-tiles: {} tiles at http://{bound}/tileset.json (Ctrl-C stops)", tiles.tile_count());
            for req in server.incoming_requests() {
                let url = req.url().split('?').next().unwrap_or_default().to_string();
                let resp = match tiles.file(&url) {
                    Some(bytes) => req.respond(tiny_http::Response::from_data(bytes)),
                    None => req.respond(tiny_http::Response::from_string("not found").with_status_code(404)),
                };
                if let Err(e) = resp {
                    tracing::debug!("{url}: {e}");
                }
            }
            Ok(())
        }
        _ => bail!("give exactly one of --out DIR or --serve ADDR"),
    }
}
