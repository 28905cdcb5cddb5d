//! The subcommands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bevy_ecs::prelude::Entity;
use serde_json::json;
use urbis_engine::{Engine, GeodeticPose, ViewOptions, default_camera, default_lighting, describe_lines, render_image};
use urbis_model::{CityModel, FeatureQuery, FeatureStyle, TileDetail};
use urbis_render::{GpuContext, HeadlessTarget, Overlay, Panel};
use urbis_sample_city::SampleCityConfig;

use crate::{Frame, Inputs, LiveArgs, ScenarioArgs};

pub(crate) fn spinner(msg: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// The inputs, or the sample city (generated on first use).
pub(crate) fn input_paths(inputs: &Inputs) -> Result<Vec<PathBuf>> {
    if !inputs.paths.is_empty() {
        return Ok(inputs.paths.clone());
    }
    let dir = urbis_sample_city::default_dir();
    let pb = spinner("preparing the sample city");
    let dir = urbis_sample_city::ensure(&dir, &SampleCityConfig::default()).context("generating the sample city")?;
    pb.finish_and_clear();
    Ok(vec![dir])
}

/// The tileset detail a camera needs: Cesium screen-space error (16 px) for
/// its view and viewport; without a camera, the overview of each tileset.
fn tile_detail(camera: Option<GeodeticPose>, width: u32, height: u32, fov: Option<f64>) -> TileDetail {
    match camera {
        Some(pose) => {
            let mut c = pose.camera();
            if let Some(f) = fov {
                c.fov_y = f.to_radians();
            }
            TileDetail::View(urbis_tiles::View {
                position: c.position,
                direction: c.forward(),
                up: c.up(),
                fov_y: c.fov_y,
                aspect: width as f64 / height.max(1) as f64,
                viewport_height: height as f64,
                max_sse: 16.0,
                cull: true,
            })
        }
        None => TileDetail::Overview,
    }
}

pub(crate) fn load(inputs: &Inputs, detail: TileDetail) -> Result<CityModel> {
    load_with(inputs, detail, &[])
}

/// Loads the inputs whole; photo meshes are cut by the footprints in `monomerize_by`.
pub(crate) fn load_with(inputs: &Inputs, detail: TileDetail, monomerize_by: &[PathBuf]) -> Result<CityModel> {
    let paths = input_paths(inputs)?;
    let pb =
        spinner(&format!("loading {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    let mut opts = inputs.load_options(detail);
    opts.monomerize_by = monomerize_by.to_vec();
    let (model, reports) = urbis_model::open_city_opts(&paths, &opts)?;
    pb.finish_and_clear();
    for r in &reports {
        for w in &r.warnings {
            tracing::warn!("{}: {w}", r.path);
        }
        for f in &r.failed_tiles {
            eprintln!("warning: tile not loaded: {f}");
        }
    }
    tracing::info!("{} features loaded", model.feature_count());
    let mut model = model;
    apply_style(inputs, &mut model)?;
    crate::imagery::drape(inputs, &mut model)?;
    Ok(model)
}

/// Loads the inputs with tilesets streaming (everything else whole).
pub(crate) fn load_streaming(
    inputs: &Inputs,
    stream: &crate::fly::StreamArgs,
) -> Result<(CityModel, urbis_engine::Streams)> {
    let paths = input_paths(inputs)?;
    let pb =
        spinner(&format!("loading {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    let (mut model, tilesets) = crate::fly::open_streaming(&paths, inputs, stream)?;
    pb.finish_and_clear();
    apply_style(inputs, &mut model)?;
    let mut streams = urbis_engine::Streams::new(tilesets, Duration::from_millis(stream.attach_ms));
    for t in &mut streams.tilesets {
        t.gpu_vertex_bytes = size_of::<urbis_render::Vertex>() as u64;
    }
    Ok((model, streams))
}

/// Applies the `--style` file's rules to the features loaded now.
pub(crate) fn apply_style(inputs: &Inputs, model: &mut CityModel) -> Result<()> {
    if let Some(path) = &inputs.style {
        let style = urbis_model::style::read_style(path)?;
        let counts = style.apply(model);
        tracing::info!("{}: rules matched {counts:?} features", path.display());
    }
    Ok(())
}

pub(crate) fn headless_engine(model: CityModel) -> Result<Engine> {
    let ctx = GpuContext::headless()?;
    Ok(Engine::new(model, ctx, HeadlessTarget::FORMAT))
}

/// Binds live sources into the model and starts them, if any were asked for.
pub(crate) fn start_live(inputs: &Inputs, model: &mut CityModel, live: &LiveArgs) -> Result<Option<crate::live::Live>> {
    start_live_with(inputs, model, live, true)
}

/// As [`start_live`]; without `spawn_sources` the sources are not started
/// (a still image at a past time replays them synchronously, and a source
/// already running could slip later readings in).
pub(crate) fn start_live_with(
    inputs: &Inputs,
    model: &mut CityModel,
    live: &LiveArgs,
    spawn_sources: bool,
) -> Result<Option<crate::live::Live>> {
    if live.live.is_empty() {
        return Ok(None);
    }
    let l = crate::live::start(
        model,
        &live.live,
        live.live_config.as_deref(),
        inputs.paths.is_empty(),
        crate::live::Keep {
            record: live.record.as_deref(),
            store: live.store.as_deref(),
            store_flush: Duration::from_millis(live.store_flush_ms),
        },
        spawn_sources,
    )?;
    Ok(Some(l))
}

pub fn live_simulate(
    inputs: &Inputs,
    mqtt: Option<&str>,
    out: Option<&Path>,
    speed: Option<f64>,
    duration: f64,
    batch: usize,
) -> Result<()> {
    let model = load(inputs, TileDetail::Overview)?;
    crate::live::simulate(&model, mqtt, out, speed, duration, batch)
}

pub fn live_stats(inputs: &Inputs, live: &LiveArgs, seconds: f64, json: bool) -> Result<()> {
    if live.live.is_empty() {
        bail!("give at least one --live source");
    }
    let mut model = load(inputs, TileDetail::Overview)?;
    let mut l = start_live(inputs, &mut model, live)?.context("no live sources")?;
    crate::live::stats(&mut model, &mut l, seconds, json)
}

/// The scenario named by `--scenario`, and the inputs with its city when no PATH was given.
fn scenario_inputs(inputs: &Inputs, args: &ScenarioArgs) -> Result<(Inputs, Option<urbis_sim::scenario::Scenario>)> {
    let Some(path) = &args.scenario else { return Ok((inputs.clone(), None)) };
    let s = urbis_sim::scenario::Scenario::load(path)?;
    let mut inputs = inputs.clone();
    if inputs.paths.is_empty() {
        inputs.paths = crate::scenario::city_paths(&s)?;
    }
    Ok((inputs, Some(s)))
}

fn start_comparison(
    model: &mut CityModel,
    scenario: Option<&urbis_sim::scenario::Scenario>,
    args: &ScenarioArgs,
) -> Result<Option<crate::scenario::Comparison>> {
    scenario
        .map(|s| crate::scenario::Comparison::new(model, s, args.scenario_results.as_deref(), args.scenario_mode))
        .transpose()
}

/// The window's size, field of view, sun time (Unix ms) and bookmarks file.
pub type ViewLook = (Option<(u32, u32)>, Option<f64>, Option<i64>, Option<PathBuf>);

/// Scripted input and recording for `urbis view`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ScriptArgs {
    /// Replay a recorded stream of input (JSON lines: keys, mouse, panel
    /// actions, screenshots at marked frames), then close.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Write what you do in the window as such a script when the viewer closes.
    #[arg(long, conflicts_with = "script")]
    pub record_input: Option<PathBuf>,
    /// Draw offscreen at --width × --height pixels instead of in a window
    /// (with --script or --frames; needs no display).
    #[arg(long)]
    pub offscreen: bool,
    /// Write what the viewer did (picks, measurements, fly-tos, searches, screenshots) as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Play this camera tour (as `urbis fly --tour` takes) when the viewer opens.
    #[arg(long)]
    pub tour: Option<PathBuf>,
    /// Play a flood run's depth over time (`urbis sim run` writes
    /// `OUT/{baseline,scenario}/flood/playback.bin`) as water over the city; the timeline scrubs it.
    #[arg(long)]
    pub flood: Option<PathBuf>,
    /// Anti-aliasing (FXAA) from the start (the panel's checkbox turns it on and off).
    #[arg(long)]
    pub aa: bool,
    /// Flood playback speed: simulated seconds per second.
    #[arg(long, default_value_t = 60.0)]
    pub flood_speed: f64,
    /// Key K appends the current view to this tour file (replay it with --tour,
    /// or export it as PNG frames with `urbis fly --tour FILE --out-dir DIR`).
    #[arg(long)]
    pub record_tour: Option<PathBuf>,
}

#[allow(clippy::too_many_arguments)]
pub fn view(
    inputs: &Inputs,
    camera: Option<GeodeticPose>,
    (frames, screenshot): (Option<u64>, Option<PathBuf>),
    live: &LiveArgs,
    scenario_args: &ScenarioArgs,
    (size, fov, sun_time_ms, bookmarks): ViewLook,
    script_args: &ScriptArgs,
    stream: &crate::fly::StreamArgs,
    wall_leader: Option<&Path>,
) -> Result<()> {
    // A bad script stops here, before anything loads, with its file, line and field.
    let script = script_args.script.as_deref().map(urbis_engine::Script::read).transpose()?;
    // A bad tour or style is reported and the viewer opens without it (the
    // style editor shows the style's error and can load it again once fixed).
    let tour = script_args
        .tour
        .as_deref()
        .and_then(|p| urbis_engine::tour::read_tour(p).map_err(|e| eprintln!("warning: tour not loaded: {e}")).ok());
    if script_args.offscreen && script.is_none() && frames.is_none() {
        bail!("--offscreen needs --script FILE or --frames N to know when to stop");
    }
    if !script_args.offscreen && std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        bail!(
            "no display (DISPLAY/WAYLAND_DISPLAY unset). Render headless instead:\n  urbis render --out city.png --width 1280 --height 720\nor run the viewer under a virtual display: xvfb-run -a urbis view"
        );
    }
    let (mut inputs, scenario) = scenario_inputs(inputs, scenario_args)?;
    let style_file = inputs.style.clone();
    if let Some(p) = &inputs.style
        && let Err(e) = urbis_model::style::read_style(p)
    {
        eprintln!("warning: style not applied: {e}");
        inputs.style = None;
    }
    let inputs = &inputs;
    let (mut model, streams) = load_streaming(inputs, stream)?;
    let terrain = streams.tilesets.iter().find_map(|t| t.terrain.clone());
    let mut hooks: Vec<Box<dyn urbis_engine::FrameHook>> = Vec::new();
    // Without --camera, a scene of streamed tilesets alone opens on the first one.
    let camera = match camera {
        None if !streams.is_empty() && model.feature_count() == 0 => {
            Some(GeodeticPose::from_camera(&crate::fly::scene_camera(&model, &streams)))
        }
        c => c,
    };
    if !streams.is_empty() {
        hooks.push(Box::new(crate::fly::StreamHook::new(streams)));
    }
    // The scenario panel: the --scenario comparison, and runs opened from the panel.
    let comparison = start_comparison(&mut model, scenario.as_ref(), scenario_args)?;
    hooks.push(Box::new(crate::scenario_panel::ScenarioPanel::new(comparison, scenario_args.scenario_results.clone())));
    if let Some(l) = start_live(inputs, &mut model, live)? {
        hooks.push(Box::new(l));
    }
    if let Some(path) = wall_leader {
        let wall = crate::wall::read_wall(path)?;
        hooks.push(Box::new(crate::wall_run::LeaderHook::new(wall, None, None)?));
    }
    if let Some(path) = &script_args.flood {
        hooks.push(Box::new(crate::playback::FloodHook::open(&mut model, path, script_args.flood_speed)?));
    }
    let hook: Option<Box<dyn urbis_engine::FrameHook>> = match hooks.len() {
        0 => None,
        1 => hooks.pop(),
        _ => Some(Box::new(crate::scenario::Hooks(hooks))),
    };
    let options = ViewOptions {
        title: "Urbis".into(),
        camera,
        max_frames: frames,
        screenshot: screenshot.clone(),
        size,
        fov_deg: fov,
        sun_time_ms,
        bookmarks,
        style: style_file,
        script,
        record: script_args.record_input.clone(),
        tour,
        record_tour: script_args.record_tour.clone(),
        antialias: script_args.aa,
        imagery: crate::imagery::layers(inputs)?,
        imagery_texel: inputs.imagery_texel,
        terrain,
    };
    let summary = if script_args.offscreen {
        let ctx = GpuContext::headless()?;
        let engine = Engine::new(model, ctx, HeadlessTarget::FORMAT);
        urbis_engine::run_offscreen(engine, options, hook, size.unwrap_or((1280, 760)))?
    } else {
        urbis_engine::run_viewer_with(model, options, hook)?
    };
    eprintln!("view: presented {} frames at {}×{}", summary.frames, summary.width, summary.height);
    for p in &summary.screenshots {
        eprintln!("view: wrote {}", p.display());
    }
    if let Some(p) = &script_args.record_input {
        eprintln!("view: recorded the input to {}", p.display());
    }
    if let Some(p) = &script_args.report {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("view: wrote the report {}", p.display());
    }
    Ok(())
}

fn find_feature(model: &CityModel, guid: &str) -> Result<Entity> {
    model.features().by_guid(guid).with_context(|| format!("no feature with id `{guid}`"))
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    inputs: &Inputs,
    out: &Path,
    frame: &Frame,
    select: Option<&str>,
    highlight: Option<&str>,
    live: &LiveArgs,
    live_at: Option<&str>,
    scenario_args: &ScenarioArgs,
    stream: &crate::fly::StreamArgs,
) -> Result<()> {
    let (inputs, scenario) = scenario_inputs(inputs, scenario_args)?;
    let inputs = &inputs;
    let (mut model, mut streams) = load_streaming(inputs, stream)?;
    let comparison = start_comparison(&mut model, scenario.as_ref(), scenario_args)?;
    let mut live_lines = None;
    if let Some(mut l) = start_live_with(inputs, &mut model, live, live_at.is_none())? {
        match live_at {
            Some(at) => {
                let at = crate::live::parse_at(at)?;
                crate::live::replay_until(&mut model, &mut l, &live.live, at)?;
                live_lines = Some(l.session.overlay_lines(at));
            }
            None => {
                // Let live sources deliver for a moment, then draw what arrived.
                std::thread::sleep(Duration::from_secs(2));
                live_lines = Some(l.step(&mut model));
            }
        }
    } else if live_at.is_some() {
        bail!("--live-at needs --live replay:FILE");
    }
    let mut engine = headless_engine(model)?;
    // Tilesets stream for the camera until it has every tile it needs.
    let camera = match frame.camera {
        Some(p) => p.camera(),
        None => crate::fly::scene_camera(&engine.model, &streams),
    };
    let camera = frame.with_fov(camera);
    crate::fly::settle(&mut engine, &mut streams, &camera, frame.width, frame.height, Duration::from_secs(300));
    // Streamed tiles arrived while settling: style them too.
    apply_style(inputs, &mut engine.model)?;
    let mut overlay = None;
    if let Some(q) = highlight {
        let q = parse_query(&engine.model, q)?;
        let hits = engine.model.select(&q);
        eprintln!("highlighting {} features", hits.len());
        for e in hits {
            if let Some(mut s) = engine.model.world.get_mut::<FeatureStyle>(e) {
                s.highlighted = true;
            }
        }
    }
    if let Some(guid) = select {
        let e = find_feature(&engine.model, guid)?;
        engine.select(Some(e));
        overlay = Some(Overlay {
            scale: 2.0,
            panels: vec![Panel {
                x: 10.0,
                y: 10.0,
                title: Some("Selected".into()),
                lines: describe_lines(&engine.model, e),
            }],
            ..Default::default()
        });
    }
    if let Some(lines) = live_lines {
        let scale = if frame.width >= 1600 { 2.0 } else { 1.0 };
        let o = overlay.get_or_insert_with(|| Overlay { scale, ..Default::default() });
        let s = o.scale;
        let y = (frame.height as f32 - (22.0 + 10.0 * lines.len() as f32) * s - 10.0).max(10.0);
        o.panels.push(Panel { x: 10.0, y, title: Some("Live".into()), lines });
        o.panels.extend(urbis_engine::label_panels(&mut engine.model, &camera, frame.width, frame.height, 24, s));
    }
    if let Some(c) = &comparison {
        let scale = if frame.width >= 1600 { 2.0 } else { 1.0 };
        let o = overlay.get_or_insert_with(|| Overlay { scale, ..Default::default() });
        let lines = c.lines();
        let y = (frame.height as f32 - (22.0 + 10.0 * lines.len() as f32) * o.scale - 10.0).max(10.0);
        o.panels.push(Panel { x: 10.0, y, title: Some("Scenario".into()), lines });
    }
    let pb = spinner("rendering");
    let mut lighting = match frame.sun_time.as_deref() {
        Some(t) => urbis_engine::sun_lighting(&engine.model, &camera, crate::live::parse_at(t)?),
        None => default_lighting(&engine.model, &camera),
    };
    lighting.antialias = frame.aa;
    // Frames larger than a texture may be (8K screenshots) are rendered in tiles.
    let img = urbis_engine::render_image_tiled(
        &mut engine,
        &camera,
        &lighting,
        overlay.as_ref(),
        frame.width,
        frame.height,
        urbis_engine::MAX_TILE,
    )?;
    pb.finish_and_clear();
    img.image.save(out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} ({}×{}, {} chunks drawn, {} culled, {} triangles, GPU: {})",
        out.display(),
        frame.width,
        frame.height,
        img.stats.chunks_drawn,
        img.stats.chunks_culled,
        img.stats.triangles,
        engine.ctx.adapter_name()
    );
    Ok(())
}

pub fn inspect(inputs: &Inputs, as_json: bool, query: Option<&str>) -> Result<()> {
    let paths = input_paths(inputs)?;
    // Inspection covers every tile at its finest level.
    let opts = inputs.load_options(TileDetail::Finest);
    let (model, reports) = urbis_model::open_city_opts(&paths, &opts)?;
    let counts: serde_json::Map<String, serde_json::Value> =
        model.counts_by_class().into_iter().map(|(c, n)| (c.name().to_string(), n.into())).collect();
    let family_counts: serde_json::Map<String, serde_json::Value> =
        model.counts_by_family().into_iter().map(|(f, n)| (f.name().to_string(), n.into())).collect();
    let families: serde_json::Map<String, serde_json::Value> =
        model.counts_by_class().into_keys().map(|c| (c.name().to_string(), c.family().name().into())).collect();
    let keys: serde_json::Map<String, serde_json::Value> = model
        .attribute_keys()
        .into_iter()
        .map(|(c, ks)| {
            (
                c.name().to_string(),
                ks.into_iter()
                    .map(|(k, t)| (k, json!(t.into_iter().collect::<Vec<_>>())))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            )
        })
        .collect();
    let f = model.frame().origin;
    let b = model.bounds();
    let mut out = json!({
        "sources": reports,
        "frame": {"lon": f.lon_deg, "lat": f.lat_deg, "height": f.height},
        "feature_count": model.feature_count(),
        "counts": counts,
        "family_counts": family_counts,
        "class_families": families,
        "attribute_keys": keys,
        "bounds_enu": {"min": b.min.to_array(), "max": b.max.to_array()},
    });
    if let Some(q) = query {
        let q = parse_query(&model, q)?;
        let hits = model.select(&q);
        let ids: Vec<serde_json::Value> = hits.iter().take(100).filter_map(|&e| model.describe(e)).collect();
        out["query"] = json!({"matches": hits.len(), "first": ids});
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} features in {} source(s), frame origin {:.6}, {:.6}",
            model.feature_count(),
            reports.len(),
            f.lon_deg,
            f.lat_deg
        );
        for (f, n) in model.counts_by_family() {
            println!("  {:<26} {n}", f.name());
            for (c, n) in model.counts_by_class().into_iter().filter(|(c, _)| c.family() == f) {
                println!("    {:<24} {n}", c.name());
            }
        }
        if let Some(q) = out.get("query") {
            println!("query matches: {}", q["matches"]);
        }
    }
    Ok(())
}

/// A query, with a warning for each class it names that no loaded feature has.
fn parse_query(model: &CityModel, text: &str) -> Result<FeatureQuery> {
    let q = FeatureQuery::parse(text)?;
    for absent in model.absent_classes(&q) {
        let here: Vec<&str> = model.counts_by_class().into_keys().map(|c| c.name()).collect();
        tracing::warn!("no feature of class `{absent}` is loaded (classes here: {})", here.join(", "));
    }
    Ok(q)
}

pub fn pick(inputs: &Inputs, x: u32, y: u32, frame: &Frame, as_json: bool) -> Result<()> {
    if x >= frame.width || y >= frame.height {
        bail!("pixel ({x}, {y}) is outside the {}×{} frame", frame.width, frame.height);
    }
    let model = load(inputs, tile_detail(frame.camera, frame.width, frame.height, frame.fov))?;
    let mut engine = headless_engine(model)?;
    let camera = frame.with_fov(frame.camera.map(|p| p.camera()).unwrap_or_else(|| default_camera(&engine.model)));
    let lighting = default_lighting(&engine.model, &camera);
    render_image(&mut engine, &camera, &lighting, None, frame.width, frame.height)?;
    let hit = engine.pick(x, y)?;
    let feature = hit.and_then(|e| engine.model.describe(e));
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({"x": x, "y": y, "feature": feature}))?);
    } else {
        match hit {
            Some(e) => describe_lines(&engine.model, e).iter().for_each(|l| println!("{l}")),
            None => println!("nothing at ({x}, {y})"),
        }
    }
    Ok(())
}

pub fn sample_city(out: Option<PathBuf>, seed: u64, photo_mesh: Option<PathBuf>, area: &str) -> Result<()> {
    let dir = out.unwrap_or_else(urbis_sample_city::default_dir);
    let cfg = SampleCityConfig { seed, ..Default::default() };
    let pb = spinner("generating");
    let files = urbis_sample_city::write_to_dir(&dir, &cfg)?;
    pb.finish_and_clear();
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    if let Some(mesh_dir) = photo_mesh {
        let pb = spinner("photo mesh");
        let city = urbis_sample_city::generate(&cfg)?;
        let mesh_cfg = match area {
            "small" => urbis_sample_city::PhotoMeshConfig::small(),
            _ => urbis_sample_city::PhotoMeshConfig::default(),
        };
        let mesh = urbis_sample_city::photo_mesh(&city, &urbis_sample_city::PhotoMeshConfig { seed, ..mesh_cfg });
        let files = urbis_sample_city::write_photo_mesh(&mesh_dir, &mesh)?;
        pb.finish_and_clear();
        eprintln!("wrote {} OSGB files, metadata.xml and truth.json into {}", files.len(), mesh_dir.display());
    }
    Ok(())
}
