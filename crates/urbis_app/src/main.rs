//! # urbis: the command-line application
//!
//! ```text
//! urbis view    [PATH...]                     open a window (fly, pick)
//! urbis render  [PATH...] --out F.png ...      render headless to PNG
//! urbis inspect [PATH...] --json              entity counts and attribute keys
//! urbis pick    [PATH...] --x X --y Y ...     the feature under a pixel
//! urbis sample-city [--out DIR]               (re)generate the sample district
//!       [--photo-mesh DIR [--area small]]     … and a synthetic OSGB photo mesh of it
//! urbis live simulate [--out F.jsonl] [--mqtt URL]   a sensor network for the city
//! urbis live stats --live SPEC                 ingestion counters, no rendering
//! urbis sim run SCENARIO.toml [--out DIR]       baseline vs scenario: flood, sunlight, views, compliance
//! urbis sim lisflood CASE.par [--out DIR]      a LISFLOOD-FP case with Urbis' solver, LISFLOOD-FP's outputs
//! ```
//!
//! `view` and `render` take `--scenario SCENARIO.toml` to show the scenario's
//! city against its baseline (`--scenario-mode baseline|scenario|difference`;
//! keys 1/2/3 or Tab in the window), coloured by the impacts of the last
//! `urbis sim run` where its results.json is found.
//!
//! `view` and `render` take `--live SPEC` (replay:FILE.jsonl, mqtt://host:port/topic/#,
//! mqtts://…, sta:http://host/v1.1) to bind live sensors onto the city.
//!
//! Without PATH every command works on the sample city in
//! `assets/sample_city`, generating it first when it is missing.

mod commands;
mod convert;
mod fly;
mod history;
mod imagery;
mod live;
mod metropolis;
mod playback;
mod scenario;
mod scenario_panel;
mod terrain;
mod wall;
mod wall_ops;
mod wall_run;

/// mimalloc keeps freed memory for reuse: decoding tiles allocates and frees large buffers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use urbis_engine::GeodeticPose;

#[derive(Parser, Debug)]
#[command(name = "urbis", version, about = "Urbis: an engine for city digital twins")]
struct Cli {
    /// Log filter (also RUST_LOG), e.g. `info` or `urbis_model=debug`.
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Inputs {
    /// Inputs, combined into one scene: CityJSON / CityJSONSeq, GeoJSON footprints, DEMs
    /// (ESRI ASCII grid, GeoTIFF), 3D Tiles tilesets or tiles, glTF/GLB, or directories of them.
    /// Default: the sample city.
    pub paths: Vec<PathBuf>,
    /// GeoJSON footprints: a property holding the building height in metres (tried before the defaults
    /// height, building:height, measuredHeight, height_m).
    #[arg(long)]
    pub height_attr: Option<String>,
    /// GeoJSON footprints: a property holding the number of floors (tried before the defaults
    /// floors, building:levels, levels, storeysAboveGround).
    #[arg(long)]
    pub floors_attr: Option<String>,
    /// GeoJSON footprints: metres per floor when the height comes from floors.
    #[arg(long, default_value_t = 3.0)]
    pub storey_height: f64,
    /// GeoJSON footprints: height when no property gives one.
    #[arg(long, default_value_t = 10.0)]
    pub default_height: f64,
    /// Place data without a georeference (a tileset at the Earth's centre, an IFC without map conversion,
    /// a CityJSON without CRS) at lon,lat,height[,heading] (degrees, metres, degrees clockwise from north).
    #[arg(long, allow_hyphen_values = true)]
    pub place: Option<urbis_model::Place>,
    /// Cut photo meshes (OSGB) by the footprints loaded with them (GeoJSON, CityJSON buildings): each
    /// building becomes its own entity with the footprint's attributes, the rest ground (physical
    /// monomerization). For whole loads: inspect, pick, live and sim commands.
    #[arg(long)]
    pub monomerize: bool,
    /// Footprints (GeoJSON, CityJSON) that classify the photo meshes at render time (dynamic
    /// monomerization): each building keeps its entity and attributes, and every pixel of a photo mesh
    /// inside its footprint prism picks, highlights and styles as that building. Works on streamed
    /// meshes too. Repeatable.
    #[arg(long = "classify-by")]
    pub classify_by: Vec<PathBuf>,
    /// Attribute styles: a TOML file of `[[rule]]`s, each a query (`when`) with a `color` ("#rrggbb"
    /// or [r, g, b]), a `mix` and/or `hide = true`; later rules win. See docs/GUIDE.md.
    #[arg(long)]
    pub style: Option<PathBuf>,
    /// Imagery draped on the terrain (or a ground under the city), in order, later over earlier:
    /// an RGB(A) GeoTIFF orthophoto, a GeoTIFF/COG URL (`https://…/ortho.tif`, read by HTTP range
    /// requests), `xyz:DIR/{z}/{x}/{y}.png` or `xyz:https://…/{z}/{x}/{y}.png`,
    /// an `.mbtiles` file, `wmts:CAPABILITIES-URL[#LAYER]` (OGC WMTS), `sample` (the sample city's
    /// orthophoto) or `graticule[:DEGREES]` (lines
    /// of latitude and longitude, made on the fly; for the globe). Repeatable.
    #[arg(long = "imagery")]
    pub imagery: Vec<String>,
    /// Ground size of an imagery texel, metres.
    #[arg(long, default_value_t = 1.0)]
    pub imagery_texel: f64,
    /// Stream the terrain on a WGS84 globe (view, render, fly): DEM inputs become a quadtree of
    /// terrain tiles chosen by screen-space error under the memory budget, imagery is draped tile
    /// by tile and refines as the camera comes closer, and the ellipsoid with the imagery lies
    /// around everything.
    #[arg(long)]
    pub globe: bool,
    /// A quantized-mesh terrain for the globe (implies --globe): a folder with `layer.json` and
    /// `z/x/y.terrain` tiles (e.g. written by `urbis terrain`), its `layer.json`, or an HTTP URL.
    #[arg(long)]
    pub terrain: Option<String>,
}

impl Inputs {
    /// How footprints are extruded, from the flags.
    /// How inputs load, from the flags (tileset detail aside).
    pub fn load_options(&self, detail: urbis_model::TileDetail) -> urbis_model::LoadOptions {
        urbis_model::LoadOptions {
            detail,
            footprints: self.footprint_options(),
            place: self.place,
            monomerize: self.monomerize,
            classify_by: self.classify_by.clone(),
            monomerize_by: Vec::new(),
            globe: self.globe,
            terrain: self.terrain.clone(),
        }
    }

    pub fn footprint_options(&self) -> urbis_model::FootprintOptions {
        let mut o = urbis_model::FootprintOptions::default();
        if let Some(h) = &self.height_attr {
            o.height_keys.insert(0, h.clone());
        }
        if let Some(f) = &self.floors_attr {
            o.floors_keys.insert(0, f.clone());
        }
        o.storey_height = self.storey_height;
        o.default_height = self.default_height;
        o
    }
}

#[derive(Args, Debug, Clone)]
pub struct Frame {
    /// Image width in pixels.
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Camera as lon,lat,height,heading,pitch (degrees, metres above the ellipsoid, degrees, degrees;
    /// negative pitch looks down). Default: an oblique view of the whole scene.
    #[arg(long, allow_hyphen_values = true)]
    pub camera: Option<GeodeticPose>,
    /// Vertical field of view, degrees (default 45).
    #[arg(long)]
    pub fov: Option<f64>,
    /// Light by the real sun over the city at this time (RFC 3339, e.g. 2026-06-21T09:00:00+08:00,
    /// or Unix ms): its direction from NREL's SPA, with shadows. Default: a fixed clear afternoon.
    #[arg(long)]
    pub sun_time: Option<String>,
    /// Anti-aliasing (FXAA): smoother edges, about 0.9 s more per 1280×720 frame on a CPU renderer.
    #[arg(long)]
    pub aa: bool,
}

impl Frame {
    /// The camera with this frame's field of view.
    pub fn with_fov(&self, mut c: urbis_render::Camera) -> urbis_render::Camera {
        if let Some(f) = self.fov {
            c.fov_y = f.to_radians();
        }
        c
    }
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Output directory (tileset.json and tiles/).
    #[arg(long)]
    pub out: PathBuf,
    /// Most features per tile before a tile is split.
    #[arg(long, default_value_t = urbis_export::ExportOptions::default().max_features)]
    pub max_features: usize,
    /// Most triangles per tile before a tile is split.
    #[arg(long, default_value_t = urbis_export::ExportOptions::default().max_triangles)]
    pub max_triangles: usize,
    /// JPEG quality of the textures (1-100).
    #[arg(long, default_value_t = 85)]
    pub jpeg_quality: u8,
    /// No coarse levels: each feature in the tile of its size, ADD refinement (by default inner tiles
    /// hold their subtree simplified, REPLACE refinement).
    #[arg(long)]
    pub no_lod: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ExportArgs {
    fn options(&self) -> urbis_export::ExportOptions {
        urbis_export::ExportOptions {
            max_features: self.max_features.max(1),
            max_triangles: self.max_triangles.max(1),
            jpeg_quality: self.jpeg_quality.clamp(1, 100),
            lod: !self.no_lod,
        }
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct LiveArgs {
    /// Live sensor sources: replay:FILE.jsonl[?speed=N|max], mqtt://[user:pass@]host:port/topic/#,
    /// mqtts://…?ca=ca.pem, sta:http://host:port/v1.1 (SensorThings polling), store:FILE.db or
    /// store:postgres://… (the state ingest workers keep). Repeatable. MQTT options: ?qos=0|1, v=5,
    /// client_id=ID, share=GROUP, session=SECONDS, ack=commit|receipt, inflight=N.
    #[arg(long = "live")]
    pub live: Vec<String>,
    /// The live configuration (sensors, bindings, style and alarm rules). Default: FILE.toml beside a
    /// replay FILE.jsonl, or the sample city's.
    #[arg(long)]
    pub live_config: Option<PathBuf>,
    /// Append every applied reading to this JSON-lines file (replayable with --live replay:FILE).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Keep every applied reading, alarm raise and clear and the sensors' metadata in a history
    /// store: a SQLite file (created if missing) or postgres://user@host:port/db. Written in the
    /// background, at least every second.
    #[arg(long, value_name = "FILE.db|postgres://…")]
    pub store: Option<PathBuf>,
    /// Longest time a reading waits before the store commits it (what a crash can lose), ms.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub store_flush_ms: u64,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ScenarioArgs {
    /// Compare a scenario (TOML) with its baseline; without PATH, the scenario's city is loaded.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// What to show first: baseline, scenario or difference.
    #[arg(long, value_enum, default_value = "scenario")]
    pub scenario_mode: scenario::Mode,
    /// The `urbis sim run` output directory whose results.json colours the difference (default: out/<scenario name>).
    #[arg(long)]
    pub scenario_results: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum SimCommand {
    /// Run a scenario's analyses on the baseline and the modified city; write results, diffs and report.md.
    Run {
        /// The scenario file (TOML); see examples/scenarios/.
        scenario: PathBuf,
        /// Output directory (default: out/<scenario file name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Keep the run (scenario text, digests of it and of the city, results, outputs) in a
        /// history store: a SQLite file or postgres://…, for `urbis sim list` and `sim diff`.
        #[arg(long, value_name = "FILE.db|postgres://…")]
        store: Option<PathBuf>,
    },
    /// The scenario runs a history store keeps.
    List {
        #[arg(long, value_name = "FILE.db|postgres://…")]
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// What differs between two kept runs: scenario lines, city, and every result that changed.
    Diff {
        run_a: i64,
        run_b: i64,
        #[arg(long, value_name = "FILE.db|postgres://…")]
        store: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a LISFLOOD-FP case (ACC solver keywords) with Urbis' flood solver and write
    /// LISFLOOD-FP's outputs (.stage, .mass, .max, .mxe, ...) in its formats.
    Lisflood {
        /// The case's .par file; relative paths in it are read from its folder.
        case: PathBuf,
        /// Output directory (default: the case's `dirroot`, else the .par's folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the run's summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open a window on the city: WASD/QE fly, drag to look or orbit, click to pick.
    View {
        #[command(flatten)]
        inputs: Inputs,
        /// Initial camera as lon,lat,height,heading,pitch.
        #[arg(long, allow_hyphen_values = true)]
        camera: Option<GeodeticPose>,
        /// Quit after this many frames (smoke tests).
        #[arg(long, hide = true)]
        frames: Option<u64>,
        /// With --frames: save the last frame the window presented as a PNG.
        #[arg(long, requires = "frames")]
        screenshot: Option<PathBuf>,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Window width (logical pixels).
        #[arg(long, default_value_t = 1280)]
        width: u32,
        /// Window height (logical pixels).
        #[arg(long, default_value_t = 760)]
        height: u32,
        /// Vertical field of view, degrees (default 45).
        #[arg(long)]
        fov: Option<f64>,
        /// Light by the real sun at this time (RFC 3339 or Unix ms), with shadows.
        #[arg(long)]
        sun_time: Option<String>,
        /// Bookmarks: a JSON file of named views, listed in the panel; "add view" saves to it.
        #[arg(long)]
        bookmarks: Option<PathBuf>,
        /// Lead a video wall from this viewer: its camera, frame after frame, goes to the
        /// followers of WALL.toml (`urbis wall run WALL.toml --role follower --display ID`).
        #[arg(long)]
        wall_leader: Option<PathBuf>,
        #[command(flatten)]
        script: commands::ScriptArgs,
        #[command(flatten)]
        stream: fly::StreamArgs,
    },
    /// Render the city headless to a PNG file.
    Render {
        #[command(flatten)]
        inputs: Inputs,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        frame: Frame,
        /// Select (outline) the feature with this id and show its attributes.
        #[arg(long)]
        select: Option<String>,
        /// Highlight the features matching this query, e.g. "use = residential and height > 50".
        #[arg(long = "highlight")]
        highlight: Option<String>,
        #[command(flatten)]
        live: LiveArgs,
        /// With replay sources: render the state at this time (RFC 3339 or Unix ms).
        #[arg(long)]
        live_at: Option<String>,
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[command(flatten)]
        stream: fly::StreamArgs,
    },
    /// Print entity counts per semantic class and the attribute keys.
    Inspect {
        #[command(flatten)]
        inputs: Inputs,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Also list the features matching a query, e.g. "class = Building and height > 50".
        #[arg(long = "where")]
        query: Option<String>,
    },
    /// Print the feature under a pixel of a headless render.
    Pick {
        #[command(flatten)]
        inputs: Inputs,
        #[arg(long)]
        x: u32,
        #[arg(long)]
        y: u32,
        #[command(flatten)]
        frame: Frame,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Fly a camera path headless while tilesets stream; prints what loading did per frame.
    Fly {
        #[command(flatten)]
        inputs: Inputs,
        /// A tour: a JSON list of {lon, lat, height, heading, pitch, duration} poses.
        #[arg(long, conflicts_with = "orbit")]
        tour: Option<PathBuf>,
        /// Orbit the first tileset (Cesium's viewBoundingSphere: pitch -35°, range 2r).
        #[arg(long)]
        orbit: bool,
        /// Frames over the whole path (a waypoint also waits for full detail).
        #[arg(long, default_value_t = 120)]
        frames: usize,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        /// Vertical field of view, degrees.
        #[arg(long, default_value_t = 45.0)]
        fov: f64,
        /// Longest wait for full detail at a waypoint, seconds.
        #[arg(long, default_value_t = 60.0)]
        settle: f64,
        /// Fly in the window (with the streaming and tour panels) instead of headless.
        #[arg(long)]
        window: bool,
        /// Fly the path this many times; later laps draw the same frames from resident tiles (the static baseline).
        #[arg(long, default_value_t = 1)]
        laps: usize,
        /// Print per-frame and total counters as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Write every frame as a PNG here.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        #[command(flatten)]
        stream: fly::StreamArgs,
    },
    /// Write any loaded scene (the sample city, CityJSON, IFC, OSGB, a tileset, a monomerized mesh) as
    /// 3D Tiles 1.1: glb tiles with textures, EXT_mesh_features feature IDs and EXT_structural_metadata
    /// property tables (guid, class, attributes), in a quadtree whose geometric errors stream well.
    Convert {
        #[command(flatten)]
        inputs: Inputs,
        #[command(flatten)]
        export: ExportArgs,
    },
    /// Cut a photo mesh (OSGB) by footprints (GeoJSON, CityJSON) into one entity per building and write
    /// the result as 3D Tiles 1.1: the cut buildings with the footprints' attributes, and the ground.
    /// Footprints the mesh does not cover, and the footprint files' other features, are left out.
    Monomerize {
        /// The photo mesh: an OSGB dataset folder (metadata.xml + Data/) or files.
        photo_mesh: PathBuf,
        /// Footprints: GeoJSON or CityJSON (their buildings' ground surfaces). Repeatable.
        #[arg(required = true)]
        footprints: Vec<PathBuf>,
        #[command(flatten)]
        export: ExportArgs,
    },
    /// Write or serve a synthetic 3D Tiles tileset (implicit quadtree of glb box buildings with metadata).
    SampleTiles {
        /// Write it under this directory.
        #[arg(long, conflicts_with = "serve")]
        out: Option<PathBuf>,
        /// Serve it over HTTP at this address (e.g. 127.0.0.1:8080), each file made on request.
        #[arg(long)]
        serve: Option<String>,
        /// Quadtree levels (4^levels / 3 tiles).
        #[arg(long, default_value_t = 5)]
        levels: u32,
        /// Buildings per tile side.
        #[arg(long, default_value_t = 16)]
        lots: u32,
        /// Wall bands per building at the finest level (more triangles).
        #[arg(long, default_value_t = 1)]
        floors: u32,
        /// Side of the whole tileset, metres.
        #[arg(long, default_value_t = 2048.0)]
        size: f64,
    },
    /// Write DEMs (default: the sample city's) as a quantized-mesh terrain tileset (layer.json and
    /// z/x/y.terrain tiles with oct normals and availability metadata), for `--terrain` or Cesium.
    Terrain {
        /// DEM files (ESRI ASCII grid with .prj, or GeoTIFF); none: the sample city's DEM.
        paths: Vec<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The deepest level written (default: the level matching the DEM's cell size).
        #[arg(long)]
        max_level: Option<u32>,
        /// Print what was written as JSON (tiles, bytes, levels, tiles per second).
        #[arg(long)]
        json: bool,
    },
    /// Generate the sample district (CityJSON + DEM).
    SampleCity {
        /// Output directory (default: assets/sample_city).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value_t = urbis_sample_city::SampleCityConfig::default().seed)]
        seed: u64,
        /// Also write a synthetic oblique-photography photo mesh of the
        /// district into DIR (OSGB pyramids + metadata.xml, and truth.json).
        #[arg(long, value_name = "DIR")]
        photo_mesh: Option<PathBuf>,
        /// The photo mesh's extent: `full` (the district) or `small` (2 × 2
        /// top tiles of 256 m at its south-west corner, the test fixture).
        #[arg(long, default_value = "full", value_parser = ["full", "small"])]
        area: String,
        /// Instead of the district: generate a synthetic metropolis of N
        /// buildings (towers in the core, low-rise outskirts, five footprint
        /// shapes), draw it as building fields (GPU culling, levels of
        /// detail, indirect draws) along a quarter orbit and print frame
        /// times, what was drawn and the memory per building.
        #[arg(long, value_name = "N")]
        buildings: Option<usize>,
        /// Metropolis: frames to draw.
        #[arg(long, default_value_t = 20)]
        frames: usize,
        /// Metropolis: frame size.
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        /// Metropolis: write the last frame as a PNG.
        #[arg(long, value_name = "PNG")]
        image: Option<PathBuf>,
        /// Metropolis: print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Metropolis: cull on the CPU and draw directly (the fallback path).
        #[arg(long)]
        cpu_culling: bool,
        /// Metropolis: no occlusion culling.
        #[arg(long)]
        no_occlusion: bool,
        /// Metropolis: draw every building as its own chunk with its own
        /// draw, culled one by one on the CPU (a scene graph's way; the
        /// comparison for the fields).
        #[arg(long)]
        baseline: bool,
    },
    /// Query a history store (`--store` of the live commands).
    History {
        #[command(subcommand)]
        command: history::HistoryCommand,
    },
    /// Live sensors without a window: simulate a network, measure ingestion, or ingest into a history store.
    Live {
        #[command(subcommand)]
        command: live::LiveCommand,
    },
    /// The video wall: render it to one image, run its windows or its leader and followers.
    Wall {
        #[command(subcommand)]
        command: wall::WallCommand,
    },
    /// What-if scenarios: flood, sunlight, viewsheds and compliance, baseline against scenario.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
}

fn main() -> anyhow::Result<()> {
    // No transparent huge pages for this process. mimalloc asks for them on
    // its arenas, and on a machine where first-touch page faults are slow
    // (virtual machines) zeroing a 2 MB page for every fresh arena region
    // was 50-75 % of the CPU time of `urbis render` and `urbis fly` in
    // `perf` (clear_page_erms); the sample city tileset rendered in 1.5 s
    // instead of 0.65 s (docs/GUIDE.md, streaming figures). Not fatal when refused.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!("PR_SET_THP_DISABLE: {e}");
    }
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match cli.command {
        Command::View {
            inputs,
            camera,
            frames,
            screenshot,
            live,
            scenario,
            width,
            height,
            fov,
            sun_time,
            bookmarks,
            wall_leader,
            script,
            stream,
        } => {
            let sun = sun_time.as_deref().map(live::parse_at).transpose()?;
            commands::view(
                &inputs,
                camera,
                (frames, screenshot),
                &live,
                &scenario,
                (Some((width, height)), fov, sun, bookmarks),
                &script,
                &stream,
                wall_leader.as_deref(),
            )
        }
        Command::Render { inputs, out, frame, select, highlight, live, live_at, scenario, stream } => commands::render(
            &inputs,
            &out,
            &frame,
            select.as_deref(),
            highlight.as_deref(),
            &live,
            live_at.as_deref(),
            &scenario,
            &stream,
        ),
        Command::Sim { command: SimCommand::Run { scenario, out, store } } => {
            if scenario::sim_run(&scenario, out.as_deref(), store.as_deref())? {
                std::process::exit(130);
            }
            Ok(())
        }
        Command::Sim { command: SimCommand::List { store, json } } => history::sim_list(&store, json),
        Command::Sim { command: SimCommand::Diff { run_a, run_b, store, json } } => {
            history::sim_diff(&store, run_a, run_b, json)
        }
        Command::Sim { command: SimCommand::Lisflood { case, out, json } } => {
            if scenario::sim_lisflood(&case, out.as_deref(), json)? {
                std::process::exit(130);
            }
            Ok(())
        }
        Command::Live { command } => live::run(command),
        Command::Wall { command } => wall::run(command),
        Command::History {
            command: history::HistoryCommand::Query { store, sensor, from, to, points, latest_at, alarms, gaps, json },
        } => history::query(&history::Query { store, sensor, from, to, points, latest_at, alarms, gaps, json }),
        Command::History { command: history::HistoryCommand::Prune { store, before, json } } => {
            history::prune(&store, &before, json)
        }
        Command::Convert { inputs, export } => {
            convert::convert(&inputs, &[], &export.out, &export.options(), export.json)
        }
        Command::Monomerize { photo_mesh, footprints, export } => {
            let inputs = Inputs {
                paths: vec![photo_mesh],
                height_attr: None,
                floors_attr: None,
                storey_height: 3.0,
                default_height: 10.0,
                place: None,
                monomerize: false,
                classify_by: Vec::new(),
                style: None,
                imagery: Vec::new(),
                imagery_texel: 1.0,
                globe: false,
                terrain: None,
            };
            convert::convert(&inputs, &footprints, &export.out, &export.options(), export.json)
        }
        Command::Inspect { inputs, json, query } => commands::inspect(&inputs, json, query.as_deref()),
        Command::Pick { inputs, x, y, frame, json } => commands::pick(&inputs, x, y, &frame, json),
        Command::Terrain { paths, out, max_level, json } => terrain::write(&paths, &out, max_level, json),
        Command::SampleCity {
            out,
            seed,
            photo_mesh,
            area,
            buildings: Some(buildings),
            frames,
            width,
            height,
            image,
            json,
            cpu_culling,
            no_occlusion,
            baseline,
        } => {
            anyhow::ensure!(
                out.is_none() && photo_mesh.is_none(),
                "--buildings draws a metropolis; it writes no district (--out, --photo-mesh)"
            );
            let _ = area;
            metropolis::run(&metropolis::MetropolisRun {
                buildings,
                seed,
                frames,
                width,
                height,
                out: image,
                json,
                cpu_culling,
                no_occlusion,
                baseline,
            })
        }
        Command::SampleCity { out, seed, photo_mesh, area, .. } => commands::sample_city(out, seed, photo_mesh, &area),
        Command::Fly {
            inputs,
            tour,
            orbit,
            frames,
            width,
            height,
            fov,
            settle,
            window,
            laps,
            json,
            out_dir,
            stream,
        } => {
            if !(1..=100).contains(&laps) {
                anyhow::bail!("--laps 1..=100");
            }
            let args =
                fly::FlyArgs { tour, orbit, frames, width, height, fov, json, out_dir, settle_s: settle, laps, window };
            fly::fly(&inputs, &args, &stream)
        }
        Command::SampleTiles { out, serve, levels, lots, floors, size } => {
            if !(1..=20).contains(&levels) || !(1..=256).contains(&lots) || !(1..=64).contains(&floors) {
                anyhow::bail!("--levels 1..=20, --lots 1..=256 and --floors 1..=64");
            }
            if !(size.is_finite() && size > 0.0) {
                anyhow::bail!("--size must be a positive number of metres");
            }
            let tiles = urbis_sample_city::SampleTiles { levels, lots, floors, size_m: size, ..Default::default() };
            fly::sample_tiles(&tiles, out.as_deref(), serve.as_deref())
        }
    }
}
