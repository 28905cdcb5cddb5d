//! Terrain and imagery on the globe (`--globe`, `--terrain`), streamed and
//! rendered (lavapipe):
//!
//! - registration: coloured squares of a synthetic UTM 50N orthophoto,
//!   draped tile by tile on a streamed DEM seen straight down, land within
//!   half a tile texel of where their georeferenced centres project
//!   (positions computed here through PROJ); picking a square returns a
//!   terrain tile;
//! - the globe from far away with a graticule: its lines' crossings project
//!   (glam, from longitude and latitude) onto bright pixels, the cells'
//!   middles onto darker ones; golden `globe_far`;
//! - the sample city on its streamed DEM with the orthophoto, against the
//!   same view of the DEM loaded whole with the imagery baked on it ("one
//!   big render"); golden `globe_city`;
//! - the sample DEM with the orthophoto's XYZ pyramid (Web Mercator,
//!   reprojected per tile) against the GeoTIFF; golden `globe_dem_xyz`;
//! - a quantized-mesh tileset written by our writer, streamed, against the
//!   DEM it was written from; golden `globe_quantized_mesh`.

mod support;

use support::registration::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glam::DVec3;
use urbis_engine::labels::project;
use urbis_engine::{Engine, Streams, render_image};
use urbis_formats::imagery::ImagerySource;
use urbis_geo::{Ellipsoid, Geodetic};
use urbis_model::{CityModel, ImageryLayer, LoadOptions, SemanticClass};
use urbis_render::Camera;
use urbis_sample_city::SampleCityConfig;
use urbis_tiles::StreamOptions;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-globe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Opens `paths` on the globe (or a quantized-mesh `terrain`) with these imagery layers.
fn open_globe(paths: &[PathBuf], terrain: Option<String>, layers: Vec<ImageryLayer>) -> (CityModel, Streams) {
    let opts = LoadOptions { globe: true, terrain, ..Default::default() };
    let (model, sets, _) =
        urbis_model::open_city_streaming(paths, &opts, &StreamOptions::default()).expect("open on the globe");
    let generator = sets.iter().find_map(|t| t.terrain.clone()).expect("a terrain stream");
    generator.set_layers(layers);
    (model, Streams::new(sets, Duration::from_millis(200)))
}

/// Streams frames at `camera` until every wanted tile is attached (bounded).
fn settle(engine: &mut Engine, streams: &mut Streams, camera: &Camera, w: u32, h: u32) {
    let start = Instant::now();
    loop {
        let s = streams.frame(&mut engine.model, &[(*camera, w, h)]);
        engine.update();
        if s.complete {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not complete: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn sample_dir() -> (PathBuf, SampleCityConfig) {
    let cfg = SampleCityConfig::default();
    (urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &cfg).expect("the sample city"), cfg)
}

fn ortho(dir: &Path, cfg: &SampleCityConfig) -> Arc<dyn ImagerySource> {
    let tif = urbis_sample_city::ensure_ortho(dir, cfg).expect("the orthophoto");
    Arc::new(urbis_formats::imagery::geotiff::GeoTiffImagery::open(&tif).expect("open the orthophoto"))
}

// ---------------------------------------------------------------------------
// Registration.

#[test]
fn streamed_imagery_registers_within_half_a_texel_and_picks_a_terrain_tile() {
    let dir = temp_dir("registration");
    let dem = write_dem(&dir, 41, 5.0, |_, _| 50.0);
    let photo = squares_photo();
    let (model, mut streams) = open_globe(&[dem], None, vec![ImageryLayer::new(Arc::new(photo))]);
    let truth: Vec<DVec3> =
        SQUARES.iter().map(|((e, n), _)| to_enu(&model, UTM50N, DVec3::new(*e, *n, 50.0))).collect();
    let centre = to_enu(&model, UTM50N, DVec3::new(X0 + 102.5, Y0 + 102.5, 50.0));
    let Some(mut engine) = support::engine(model) else { return };
    let (w, h) = (480u32, 480u32);
    let mut camera = support::enu_camera(&engine.model, centre + DVec3::new(0.0, 0.0, 1230.0), centre);
    camera.fov_y = 10f64.to_radians();
    settle(&mut engine, &mut streams, &camera, w, h);
    let lighting = support::enu_lighting(&engine.model);
    let img = render_image(&mut engine, &camera, &lighting, None, w, h).expect("render").image;
    // The finest tiles here: level 16, 256 texels over 180°/2^16 of longitude.
    let texel_m = 180.0 / 65536.0 * 111_320.0 * 39.9f64.to_radians().cos() / 255.0;
    let (ax, ay, _) = project(&engine.model, &camera, centre, w, h).expect("centre on screen");
    let (bx, by, _) = project(&engine.model, &camera, centre + DVec3::new(texel_m, 0.0, 0.0), w, h).expect("on screen");
    let texel_px = f64::from((bx - ax).hypot(by - ay));
    let tolerance = 0.5 * texel_px;
    assert!(texel_px > 1.5, "a texel is {texel_px} px on screen");
    let mut sums = [(0.0f64, 0.0f64, 0usize); 4];
    for (x, y, p) in img.enumerate_pixels() {
        if let Some(k) = square_of(p.0) {
            sums[k].0 += f64::from(x) + 0.5;
            sums[k].1 += f64::from(y) + 0.5;
            sums[k].2 += 1;
        }
    }
    let mut picked = 0;
    let mut errors = Vec::new();
    for (k, t) in truth.iter().enumerate() {
        let (sx, sy, count) = sums[k];
        // A 12 m square at about 0.45 m a pixel: (12 / 0.45)² ≈ 700 pixels.
        assert!(count > 400 && count < 1100, "square {k}: {count} pixels");
        let (cx, cy) = weighted_centroid(&img, (sx / count as f64, sy / count as f64), 24);
        let (px, py, _) = project(&engine.model, &camera, *t, w, h).expect("square on screen");
        let err = (cx - f64::from(px)).hypot(cy - f64::from(py));
        eprintln!("square {k}: centroid ({cx:.2}, {cy:.2}), georeference ({px:.2}, {py:.2}), error {err:.3} px");
        errors.push(err);
        let e = engine.pick(px as u32, py as u32).expect("pick").expect("a feature under the square");
        assert_eq!(engine.model.world.get::<SemanticClass>(e), Some(&SemanticClass::TIN_RELIEF), "square {k}");
        let level = engine.model.world.get::<urbis_model::Attributes>(e).and_then(|a| a.get("level").cloned());
        assert_eq!(level, Some(urbis_model::AttributeValue::Int(16)), "square {k} lies on a finest-level tile");
        picked += 1;
    }
    assert_eq!(picked, 4);
    for (k, err) in errors.iter().enumerate() {
        assert!(*err <= tolerance, "square {k} is {err:.3} px off (tolerance {tolerance:.3} px = half a texel)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// The globe from far away.

fn ecef(lon: f64, lat: f64, h: f64) -> DVec3 {
    Ellipsoid::WGS84.geodetic_to_ecef(Geodetic::new(lon, lat, h))
}

fn luma(img: &image::RgbaImage, x: f32, y: f32, r: i64) -> f64 {
    let mut best = 0.0f64;
    for dy in -r..=r {
        for dx in -r..=r {
            let (px, py) = (x as i64 + dx, y as i64 + dy);
            if px < 0 || py < 0 || px >= img.width() as i64 || py >= img.height() as i64 {
                continue;
            }
            let p = img.get_pixel(px as u32, py as u32).0;
            best = best.max(0.3 * f64::from(p[0]) + 0.59 * f64::from(p[1]) + 0.11 * f64::from(p[2]));
        }
    }
    best
}

#[test]
fn the_globe_from_far_away_shows_the_graticule_where_it_lies() {
    let (dir, _) = sample_dir();
    let graticule = urbis_formats::imagery::graticule::Graticule { step: 10.0, width_px: 3.0 };
    let (model, mut streams) =
        open_globe(&[dir.join(urbis_sample_city::DEM_FILE)], None, vec![ImageryLayer::new(Arc::new(graticule))]);
    let Some(mut engine) = support::engine(model) else { return };
    let (w, h) = (320u32, 320u32);
    // 20,000 km above 115°E 20°N, looking at the Earth's centre, north up.
    let camera = Camera::look_at(ecef(115.0, 20.0, 20_000_000.0), DVec3::ZERO, DVec3::Z);
    settle(&mut engine, &mut streams, &camera, w, h);
    let lighting = support::enu_lighting(&engine.model);
    let img = render_image(&mut engine, &camera, &lighting, None, w, h).expect("render").image;
    let f = *engine.model.frame();
    let at = |lon: f64, lat: f64| project(&engine.model, &camera, f.ecef_to_enu(ecef(lon, lat, 0.0)), w, h);
    let mut lines = Vec::new();
    let mut cells = Vec::new();
    for (lon, lat) in [(110.0, 10.0), (120.0, 20.0), (110.0, 30.0), (130.0, 0.0), (100.0, 20.0)] {
        let (x, y, _) = at(lon, lat).expect("a crossing on screen");
        lines.push(luma(&img, x, y, 1));
        let (cx, cy, _) = at(lon + 5.0, lat + 5.0).expect("a cell on screen");
        cells.push(luma(&img, cx, cy, 1));
    }
    eprintln!("crossings {lines:?}, cells {cells:?}");
    let darkest_line = lines.iter().copied().fold(f64::INFINITY, f64::min);
    let brightest_cell = cells.iter().copied().fold(0.0, f64::max);
    assert!(darkest_line > brightest_cell + 20.0, "crossings ({lines:?}) are not brighter than the cells ({cells:?})");
    support::assert_golden("globe_far", &img, 0.01);
}

// ---------------------------------------------------------------------------
// The sample city, its DEM and imagery, and a quantized-mesh tileset.

const W: u32 = 320;
const H: u32 = 180;

/// An oblique camera over the sample city's centre (ENU of the model).
fn city_camera(model: &CityModel) -> Camera {
    let b = model.bounds();
    let c = (b.min + b.max) / 2.0;
    let mut cam = support::enu_camera(model, c + DVec3::new(-300.0, -900.0, 700.0), DVec3::new(c.x, c.y, b.min.z));
    cam.fov_y = 45f64.to_radians();
    cam
}

#[test]
fn the_city_on_streamed_terrain_matches_the_dem_loaded_whole() {
    let (dir, cfg) = sample_dir();
    let photo = ortho(&dir, &cfg);
    let (model, mut streams) = open_globe(std::slice::from_ref(&dir), None, vec![ImageryLayer::new(photo.clone())]);
    let camera = city_camera(&model);
    let Some(mut engine) = support::engine(model) else { return };
    settle(&mut engine, &mut streams, &camera, W, H);
    let lighting = support::enu_lighting(&engine.model);
    let streamed = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render").image;
    // One big render: the DEM as one mesh with the orthophoto baked on it.
    let mut whole = urbis_model::open_city(std::slice::from_ref(&dir)).expect("open whole").0;
    urbis_model::drape(&mut whole, &[ImageryLayer::new(photo)], 1.0).expect("drape");
    let mut reference = support::engine(whole).expect("adapter");
    let baked = render_image(&mut reference, &camera, &lighting, None, W, H).expect("render").image;
    // Compared over 8 × 8 pixel blocks where the whole render drew the city
    // (a pick at the block's middle finds a feature): beyond it the streamed
    // view shows the globe and the whole one the sky's plain. Block means,
    // because the two textures differ texel by texel (0.92 m texels on
    // level-16 tiles against 1 m baked ones, other mip levels), which moves
    // single pixels along the orthophoto's sharp edges.
    let mean_of = |img: &image::RgbaImage, bx: u32, by: u32| {
        let mut acc = [0.0f64; 3];
        for y in by * 8..by * 8 + 8 {
            for x in bx * 8..bx * 8 + 8 {
                let p = img.get_pixel(x, y).0;
                for k in 0..3 {
                    acc[k] += f64::from(p[k]) / 64.0;
                }
            }
        }
        acc
    };
    let (mut compared, mut differing) = (0, 0);
    for by in 0..H / 8 {
        for bx in 0..W / 8 {
            if reference.pick(bx * 8 + 4, by * 8 + 4).expect("pick").is_none() {
                continue;
            }
            compared += 1;
            let (a, b) = (mean_of(&streamed, bx, by), mean_of(&baked, bx, by));
            if (0..3).any(|k| (a[k] - b[k]).abs() > 16.0) {
                differing += 1;
            }
        }
    }
    eprintln!("streamed vs whole: {differing} of {compared} city blocks differ by more than 16 levels");
    assert!(compared > 600, "the city covers {compared} blocks");
    assert!(differing * 100 < compared * 3, "{differing} of {compared} blocks differ");
    support::assert_golden("globe_city", &streamed, 0.01);
}

#[test]
fn the_dem_with_the_xyz_pyramid_matches_the_geotiff() {
    let (dir, cfg) = sample_dir();
    let tif = ortho(&dir, &cfg);
    let template = dir.join(urbis_sample_city::ORTHO_XYZ_DIR).join("{z}/{x}/{y}.png");
    let xyz = urbis_formats::imagery::xyz::XyzSource::files(&template.display().to_string(), Default::default())
        .expect("the orthophoto's XYZ pyramid");
    let dem = dir.join(urbis_sample_city::DEM_FILE);
    let (model, mut streams) = open_globe(std::slice::from_ref(&dem), None, vec![ImageryLayer::new(Arc::new(xyz))]);
    // The DEM alone has no features to frame: the sample city's view (ECEF).
    let camera = city_camera(&support::sample_city());
    let Some(mut engine) = support::engine(model) else { return };
    settle(&mut engine, &mut streams, &camera, W, H);
    let lighting = support::enu_lighting(&engine.model);
    let from_xyz = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render").image;
    let (model, mut streams) = open_globe(&[dem], None, vec![ImageryLayer::new(tif)]);
    let mut other = support::engine(model).expect("adapter");
    settle(&mut other, &mut streams, &camera, W, H);
    let from_tif = render_image(&mut other, &camera, &lighting, None, W, H).expect("render").image;
    let (frac, mean) = support::image_difference(&from_xyz, &from_tif, 32);
    eprintln!("XYZ vs GeoTIFF: {:.2} % of pixels differ by more than 32, mean {mean:.2}", frac * 100.0);
    // The pyramid is the GeoTIFF resampled into Web Mercator tiles.
    assert!(frac < 0.03 && mean < 4.0, "{frac} {mean}");
    support::assert_golden("globe_dem_xyz", &from_xyz, 0.01);
}

#[test]
fn a_quantized_mesh_tileset_from_our_writer_draws_like_its_dem() {
    let (dir, cfg) = sample_dir();
    let dem = dir.join(urbis_sample_city::DEM_FILE);
    let out = temp_dir("qm");
    let grid = urbis_formats::ascii_grid::read(&dem).expect("dem");
    let heights = urbis_tiles::terrain::DemHeights::new("sample", grid).expect("heights");
    let generator = Arc::new(urbis_tiles::terrain::TerrainGenerator::new(
        "sample",
        urbis_tiles::terrain::TerrainSource::Dems(vec![heights]),
        Vec::new(),
    ));
    let written = urbis_tiles::terrain::write_quantized_mesh(&generator, &out, None, &|_, _| {}).expect("write");
    assert!(written.tiles > 20 && written.max_level == 16, "{written:?}");
    let photo = ortho(&dir, &cfg);
    let city = dir.join(urbis_sample_city::CITYJSON_FILE);
    let (dem_model, mut dem_streams) = open_globe(&[city.clone(), dem], None, vec![ImageryLayer::new(photo.clone())]);
    // Cameras are in ECEF: the same view for both models.
    let camera = city_camera(&dem_model);
    let Some(mut engine) = support::engine(dem_model) else { return };
    settle(&mut engine, &mut dem_streams, &camera, W, H);
    let lighting = support::enu_lighting(&engine.model);
    let from_dem = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render").image;
    let (qm_model, mut qm_streams) =
        open_globe(&[city], Some(out.display().to_string()), vec![ImageryLayer::new(photo)]);
    let mut qm_engine = support::engine(qm_model).expect("adapter");
    settle(&mut qm_engine, &mut qm_streams, &camera, W, H);
    let from_qm = render_image(&mut qm_engine, &camera, &lighting, None, W, H).expect("render").image;
    let failures = qm_streams.failures();
    assert!(failures.is_empty(), "{failures:?}");
    let (frac, mean) = support::image_difference(&from_qm, &from_dem, 24);
    eprintln!("quantized-mesh vs DEM: {:.2} % of pixels differ by more than 24, mean {mean:.2}", frac * 100.0);
    // Heights quantized to 1/32767 of a tile's range and oct-encoded normals (about 1°).
    assert!(frac < 0.02 && mean < 2.0, "{frac} {mean}");
    support::assert_golden("globe_quantized_mesh", &from_qm, 0.01);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn hiding_an_imagery_layer_remakes_the_terrain_tiles_without_it() {
    let (dir, cfg) = sample_dir();
    let photo = ortho(&dir, &cfg);
    let dem = dir.join(urbis_sample_city::DEM_FILE);
    let (model, mut streams) = open_globe(&[dem], None, vec![ImageryLayer::new(photo.clone())]);
    let camera = city_camera(&support::sample_city());
    let Some(mut engine) = support::engine(model) else { return };
    let lighting = support::enu_lighting(&engine.model);
    let generator = streams.tilesets.iter().find_map(|t| t.terrain.clone()).expect("terrain");
    let shot = |engine: &mut Engine, streams: &mut Streams| {
        settle(engine, streams, &camera, W, H);
        render_image(engine, &camera, &lighting, None, W, H).expect("render").image
    };
    let on = shot(&mut engine, &mut streams);
    generator.set_layers(vec![ImageryLayer { visible: false, ..ImageryLayer::new(photo.clone()) }]);
    let off = shot(&mut engine, &mut streams);
    generator.set_layers(vec![ImageryLayer::new(photo)]);
    let again = shot(&mut engine, &mut streams);
    let (changed, _) = support::image_difference(&on, &off, 24);
    let (restored, mean) = support::image_difference(&on, &again, 24);
    eprintln!(
        "hidden: {:.1} % changed; shown again: {:.3} % differ, mean {mean:.3}",
        changed * 100.0,
        restored * 100.0
    );
    assert!(changed > 0.3, "hiding the orthophoto changes the ground: {changed}");
    assert!(restored < 0.002 && mean < 0.5, "showing it again restores the view: {restored} {mean}");
}

/// The terrain and a 3D Tiles tileset stream under one memory budget: what
/// they hold together stays within it (less than they hold each alone), one
/// of them gives way, and both keep tiles on screen.
#[test]
fn the_terrain_and_a_tileset_share_one_memory_budget() {
    let (dir, _) = sample_dir();
    let tiles_dir = temp_dir("shared-budget");
    let t = urbis_sample_city::SampleTiles { levels: 4, lots: 6, size_m: 1024.0, ..Default::default() };
    t.write(&tiles_dir, |_| {}).expect("write tiles");
    let globe = LoadOptions { globe: true, ..Default::default() };
    let paths = [dir.join(urbis_sample_city::DEM_FILE), tiles_dir.join("tileset.json")];
    let camera = city_camera(&support::sample_city());
    if support::engine(CityModel::new(urbis_geo::CityFrame::new(Geodetic::new(0.0, 0.0, 0.0)))).is_none() {
        return; // no adapter (a failure under URBIS_REQUIRE_GPU=1)
    }
    let open = |paths: &[PathBuf], opts: &LoadOptions, budget: u64| {
        let stream = StreamOptions { memory_budget: budget, ..Default::default() };
        let (m, sets, _) = urbis_model::open_city_streaming(paths, opts, &stream).expect("open");
        let mut streams = Streams::new(sets, Duration::from_millis(200));
        let mut e = support::engine(m).expect("adapter");
        settle(&mut e, &mut streams, &camera, W, H);
        let held: Vec<u64> = streams.tilesets.iter().map(|t| t.stream.status().resident_bytes).collect();
        let shown: Vec<usize> = streams.tilesets.iter().map(|t| t.stream.render_set().len()).collect();
        (held, shown)
    };
    let big = 512u64 << 20;
    let terrain_alone = open(&paths[..1], &globe, big).0[0];
    let tiles_alone = open(&paths[1..], &LoadOptions::default(), big).0[0];
    // Room for the terrain at full detail and half the tileset: the terrain
    // cannot give much (the tiles under the camera are always refined), the
    // tileset can (its coarser levels).
    let budget = terrain_alone + tiles_alone / 2;
    let (held, shown) = open(&paths, &globe, budget);
    eprintln!(
        "alone: the tileset {tiles_alone}, the terrain {terrain_alone} bytes; sharing {budget}: {held:?} bytes, {shown:?} tiles shown"
    );
    assert_eq!(held.len(), 2, "the tileset and the terrain");
    assert!(held.iter().sum::<u64>() <= budget, "together {held:?} over {budget}");
    assert!(held[0] < tiles_alone || held[1] < terrain_alone, "one gives way: {held:?}");
    assert!(held.iter().all(|b| *b > 0) && shown.iter().all(|n| *n > 0), "{held:?} {shown:?}");
    let _ = std::fs::remove_dir_all(&tiles_dir);
}
