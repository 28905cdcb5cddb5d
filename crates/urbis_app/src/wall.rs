//! `urbis wall`: the video wall (issue 18).
//!
//! ```text
//! wall.toml ─► urbis_wall::config ─► layout, sync, overlays
//! city (inputs, tilesets, live) ─► one model and engine
//!   render: WallView (the whole wall's frame) ─► settle the streams for the whole wall
//!           ─► every display rendered as its crop ─► one PNG, bezels as gaps
//!   run:    windows on this machine, or a leader / follower process (wall_run)
//!   latency: urbis_wall::sync::latency on loopback
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use urbis_engine::{WallView, default_lighting};

use crate::{Inputs, LiveArgs};

#[derive(Subcommand, Debug)]
pub enum WallCommand {
    /// Render the whole wall as one PNG: every display at its resolution, bezels as gaps, ops overlays on top.
    Render {
        /// The wall description (displays, bezels, eye, overlays).
        wall: PathBuf,
        #[command(flatten)]
        inputs: Inputs,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        view: WallCamera,
        #[command(flatten)]
        live: LiveArgs,
        /// With replay sources: show the state at this time (RFC 3339 or Unix ms).
        #[arg(long)]
        live_at: Option<String>,
        #[command(flatten)]
        stream: crate::fly::StreamArgs,
        /// Print what was drawn, and the throughput, as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the wall: every display in this process (windows, or offscreen with --headless), or
    /// one process of several: the leader, or a follower for one display.
    Run {
        /// The wall description (displays, bezels, eye, [sync], overlays).
        wall: PathBuf,
        #[command(flatten)]
        inputs: Inputs,
        /// all: every display here, no network; leader: owns the state and the swap barrier;
        /// follower: renders one display from the leader's frames.
        #[arg(long, value_enum, default_value = "all")]
        role: crate::wall_run::Role,
        /// The displays this process draws (ids from the wall file; repeatable). Default: every
        /// display for --role all, none for the leader; a follower needs exactly one.
        #[arg(long = "display")]
        displays: Vec<String>,
        /// The leader's address, instead of the wall file's [sync] leader.
        #[arg(long)]
        leader: Option<String>,
        /// This machine's name in the wall file's `host` fields (default: the hostname): without
        /// --display, the process draws the displays of its host.
        #[arg(long)]
        host: Option<String>,
        /// Draw offscreen (no windows): for tests, benchmarks and machines without a display.
        #[arg(long)]
        headless: bool,
        /// Stop after this many frames (the leader then says goodbye to its followers).
        #[arg(long)]
        frames: Option<u64>,
        /// Append a JSON line per presented frame (seq, time, snapshot, missing displays).
        #[arg(long)]
        frame_log: Option<PathBuf>,
        /// With --headless: write each display's last frame to DIR/ID.png.
        #[arg(long)]
        shots: Option<PathBuf>,
        /// Orbit the view about the point 1 km ahead, one turn in this many seconds (leader / all).
        #[arg(long)]
        orbit: Option<f64>,
        /// Select (highlight) the feature with this id on every display (leader / all).
        #[arg(long)]
        select: Option<String>,
        #[command(flatten)]
        view: WallCamera,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        stream: crate::fly::StreamArgs,
    },
    /// Measure the leader-to-follower frame-state latency on loopback (p50, p99) under a live-sensor storm.
    Latency {
        /// Followers, each a thread with its own TCP connection.
        #[arg(long, default_value_t = 3)]
        followers: usize,
        /// Frames in lockstep.
        #[arg(long, default_value_t = 500)]
        frames: usize,
        /// Live readings in every frame's state (the storm).
        #[arg(long, default_value_t = 5000)]
        deltas: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Where the wall looks from: the eye's place in the city.
#[derive(clap::Args, Debug, Clone)]
pub struct WallCamera {
    /// The viewer's eye in the city as lon,lat,height,heading,pitch (degrees, metres above the
    /// ellipsoid, degrees, degrees); the wall faces the heading and pitch. Default: an oblique
    /// view of the whole scene. The wall's size and the eye's distance set the field of view.
    #[arg(long, allow_hyphen_values = true)]
    pub camera: Option<urbis_engine::GeodeticPose>,
    /// Light by the real sun at this time (RFC 3339 or Unix ms), with shadows.
    #[arg(long)]
    pub sun_time: Option<String>,
}

pub fn run(command: WallCommand) -> Result<()> {
    match command {
        WallCommand::Render { wall, inputs, out, view, live, live_at, stream, json } => {
            render(&wall, &inputs, &out, &view, &live, live_at.as_deref(), &stream, json)
        }
        WallCommand::Run {
            wall,
            inputs,
            role,
            displays,
            leader,
            host,
            headless,
            frames,
            frame_log,
            shots,
            orbit,
            select,
            view,
            live,
            stream,
        } => {
            let options = crate::wall_run::NodeOptions {
                role,
                displays,
                leader_addr: leader,
                orbit,
                max_frames: frames,
                frame_log,
                max_sse: stream.sse,
                select,
            };
            run_wall(&wall, &inputs, options, host, headless, shots.as_deref(), &view, &live, &stream)
        }
        WallCommand::Latency { followers, frames, deltas, json } => latency(followers, frames, deltas, json),
    }
}

fn latency(followers: usize, frames: usize, deltas: usize, json: bool) -> Result<()> {
    if followers == 0 || frames == 0 {
        bail!("--followers and --frames must be at least 1");
    }
    let pb = crate::commands::spinner(&format!("{frames} frames to {followers} followers, {deltas} readings each"));
    let report = urbis_wall::sync::measure(followers, frames, deltas)?;
    pb.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report:#?}");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_wall(
    wall_path: &Path,
    inputs: &Inputs,
    mut options: crate::wall_run::NodeOptions,
    host: Option<String>,
    headless: bool,
    shots: Option<&Path>,
    view: &WallCamera,
    live: &LiveArgs,
    stream: &crate::fly::StreamArgs,
) -> Result<()> {
    use crate::wall_run::{Node, Role};
    let wall = read_wall(wall_path)?;
    for id in &options.displays {
        if !wall.layout.displays.iter().any(|d| &d.id == id) {
            bail!("{}: no display {id:?} (displays: {})", wall_path.display(), ids(&wall));
        }
    }
    if options.displays.is_empty() {
        options.displays = displays_of_host(&wall, options.role, host)?;
    }
    let mine: Vec<usize> =
        options.displays.iter().filter_map(|id| wall.layout.displays.iter().position(|d| &d.id == id)).collect();
    let (mut model, streams) = crate::commands::load_streaming(inputs, stream)?;
    // The leader (or a lone process) runs the live sources; a follower binds
    // the same sensors and applies the leader's readings.
    let live_state = match options.role {
        Role::Follower => {
            if live.live_config.is_some() || inputs.paths.is_empty() {
                Some(crate::live::start(
                    &mut model,
                    &[],
                    live.live_config.as_deref(),
                    inputs.paths.is_empty(),
                    crate::live::Keep::NOTHING,
                    true,
                )?)
            } else {
                None
            }
        }
        _ => crate::commands::start_live(inputs, &mut model, live)?,
    };
    let camera = match view.camera {
        Some(p) => p.camera(),
        None => crate::fly::scene_camera(&model, &streams),
    };
    let styles = match &inputs.style {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    if headless {
        // The device and the city's meshes are ready before a follower
        // joins, so its first frame follows its snapshot at once.
        let mut engine = crate::commands::headless_engine(model)?;
        engine.update();
        if let Some(&i) = mine.first()
            && let Some(v) = WallView::new(&wall.layout, &camera)
        {
            // One frame drawn before joining: buffers uploaded, pipelines warm.
            let lighting = default_lighting(&engine.model, &v.camera);
            urbis_engine::render_display(&mut engine, &wall.layout, &v, i, &lighting, &[])?;
        }
        let mut node = Node::new(wall, options, camera, streams, live_state, styles)?;
        drive_headless(&mut node, engine, &mine, shots)
    } else {
        let node = Node::new(wall, options, camera, streams, live_state, styles)?;
        crate::wall_run::drive_windows(node, model, &mine)
    }
}

/// The displays a process draws when none are named: those whose `host` is
/// this machine, when the wall file says who renders what; else every
/// display for a lone process, none for a leader.
fn displays_of_host(
    wall: &urbis_wall::WallConfig,
    role: crate::wall_run::Role,
    host: Option<String>,
) -> Result<Vec<String>> {
    let hosted = wall.layout.displays.iter().any(|d| d.host.is_some());
    if !hosted {
        return Ok(match role {
            crate::wall_run::Role::All => wall.layout.displays.iter().map(|d| d.id.clone()).collect(),
            _ => Vec::new(),
        });
    }
    let host = match host {
        Some(h) => h,
        None => std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .context("cannot tell this machine's name: give --host NAME or --display ID")?,
    };
    let mine: Vec<String> = wall
        .layout
        .displays
        .iter()
        .filter(|d| d.host.as_deref() == Some(host.as_str()))
        .map(|d| d.id.clone())
        .collect();
    if mine.is_empty() && role != crate::wall_run::Role::Leader {
        bail!("no display of the wall has host = \"{host}\": give --host NAME or --display ID");
    }
    Ok(mine)
}

fn ids(wall: &urbis_wall::WallConfig) -> String {
    wall.layout.displays.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
}

/// Draws this process' displays offscreen, frame after frame.
fn drive_headless(
    node: &mut crate::wall_run::Node,
    mut engine: urbis_engine::Engine,
    mine: &[usize],
    shots: Option<&Path>,
) -> Result<()> {
    let layout = node.wall().layout.clone();
    let mut last = Vec::new();
    let mut seq = 0;
    let start = std::time::Instant::now();
    while let Some(frame) = node.begin_frame(&mut engine.model, seq) {
        engine.update();
        let view = WallView::new(&layout, &frame.camera).context("the eye must be in front of the wall")?;
        last.clear();
        for &i in mine {
            let img = urbis_engine::render_display(&mut engine, &layout, &view, i, &frame.lighting, &frame.overlays);
            // This process' displays are crops of one frame: the first draws the shadow map.
            engine.renderer.set_reuse_shadow_map(true);
            let img = img?;
            last.push((i, img.image));
        }
        engine.renderer.set_reuse_shadow_map(false);
        node.before_present();
        if node.error.is_some() {
            break;
        }
        node.after_present();
        seq += 1;
    }
    node.shutdown("the leader finished its frames");
    if let Some(dir) = shots {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (i, img) in &last {
            let path = dir.join(format!("{}.png", layout.displays[*i].id));
            img.save(&path).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    eprintln!(
        "wall: presented {} frames of {} display(s) in {:.1} s ({} with displays missing)",
        node.frames,
        mine.len(),
        start.elapsed().as_secs_f64(),
        node.missing_frames
    );
    match node.take_error() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub(crate) fn read_wall(path: &Path) -> Result<urbis_wall::WallConfig> {
    Ok(urbis_wall::config::read(path)?)
}

#[allow(clippy::too_many_arguments)]
fn render(
    wall_path: &Path,
    inputs: &Inputs,
    out: &Path,
    view: &WallCamera,
    live: &LiveArgs,
    live_at: Option<&str>,
    stream: &crate::fly::StreamArgs,
    json: bool,
) -> Result<()> {
    let wall = read_wall(wall_path)?;
    let (mut model, mut streams) = crate::commands::load_streaming(inputs, stream)?;
    let mut live_state = crate::commands::start_live_with(inputs, &mut model, live, live_at.is_none())?;
    let mut now_s = None;
    if let Some(l) = live_state.as_mut() {
        match live_at {
            Some(at) => {
                let at = crate::live::parse_at(at)?;
                crate::live::replay_until(&mut model, l, &live.live, at)?;
                now_s = Some(at as f64 / 1000.0);
            }
            None => {
                std::thread::sleep(Duration::from_secs(2));
                l.step(&mut model);
                now_s = Some(l.now_ms() as f64 / 1000.0);
            }
        }
    } else if live_at.is_some() {
        bail!("--live-at needs --live replay:FILE");
    }
    let mut engine = crate::commands::headless_engine(model)?;
    let camera = match view.camera {
        Some(p) => p.camera(),
        None => crate::fly::scene_camera(&engine.model, &streams),
    };
    let wall_view = WallView::new(&wall.layout, &camera)
        .with_context(|| format!("{}: the eye must be in front of the wall", wall_path.display()))?;
    crate::fly::settle_views(&mut engine, &mut streams, &[wall_view.tile_view(stream.sse)], Duration::from_secs(300));
    crate::commands::apply_style(inputs, &mut engine.model)?;
    let lighting = match view.sun_time.as_deref() {
        Some(t) => urbis_engine::sun_lighting(&engine.model, &wall_view.camera, crate::live::parse_at(t)?),
        None => default_lighting(&engine.model, &wall_view.camera),
    };
    let overlays = overlays(&wall, &engine.model, live_state.as_ref(), now_s);
    let (cw, ch, _) = wall.layout.canvas();
    let pb = crate::commands::spinner(&format!("rendering the wall ({cw}×{ch})"));
    let start = std::time::Instant::now();
    let img = urbis_engine::render_wall(&mut engine, &wall.layout, &wall_view, &lighting, &overlays, BEZEL)?;
    let seconds = start.elapsed().as_secs_f64();
    pb.finish_and_clear();
    img.image.save(out).with_context(|| format!("writing {}", out.display()))?;
    let pixels: u64 = wall.layout.displays.iter().map(|d| u64::from(d.pixels[0]) * u64::from(d.pixels[1])).sum();
    let summary = serde_json::json!({
        "out": out.display().to_string(),
        "canvas": [cw, ch],
        "displays": wall.layout.displays.len(),
        "display_pixels": pixels,
        "render_seconds": seconds,
        "megapixels_per_second": pixels as f64 / 1e6 / seconds.max(1e-9),
        "chunks_drawn": img.stats.chunks_drawn,
        "triangles": img.stats.triangles,
        "overlays": wall.overlays.len(),
        "gpu": engine.ctx.adapter_name(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        eprintln!(
            "wrote {} ({cw}×{ch}, {} displays, {:.1} Mpx in {seconds:.2} s: {:.2} Mpx/s, GPU: {})",
            out.display(),
            wall.layout.displays.len(),
            pixels as f64 / 1e6,
            pixels as f64 / 1e6 / seconds.max(1e-9),
            engine.ctx.adapter_name()
        );
    }
    Ok(())
}

/// The colour of the bezels' gaps in a wall image.
pub const BEZEL: [u8; 4] = [0, 0, 0, 255];

/// The wall's ops overlays for the model's state at `now_s` (Unix seconds;
/// the clock's time when `None`), in wall-canvas pixels: one urbis_render
/// overlay per text scale, lines under the panels.
pub(crate) fn overlays(
    wall: &urbis_wall::WallConfig,
    model: &urbis_model::CityModel,
    live: Option<&crate::live::Live>,
    now_s: Option<f64>,
) -> Vec<urbis_render::Overlay> {
    if wall.overlays.is_empty() {
        return Vec::new();
    }
    let now = now_s.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    });
    let data = crate::wall_ops::ops_data(model, live.map(|l| &l.session), now);
    let items = urbis_wall::overlay::layout(&wall.overlays, &wall.layout, &data);
    urbis_engine::ops_overlays(&items)
}
