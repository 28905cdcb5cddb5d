//! The video wall's pictures (issue 18), on lavapipe: every display is the
//! crop of one frame that holds the whole wall, so
//! - with no bezels the wall equals one render of the whole frustum by the
//!   plain (uncropped) renderer;
//! - an off-centre eye sees exactly its part of a larger symmetric frame;
//! - with bezels the picture continues behind them: the strips they hide
//!   are not drawn and nothing is squeezed;
//! - every display selects the same tiles (the whole wall's tile view).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use glam::DVec3;
use urbis_engine::{WallView, default_lighting, render_image, render_wall};
use urbis_render::Camera;
use urbis_tiles::terrain::{TerrainGenerator, TerrainLayout, TerrainSource};
use urbis_tiles::{TileTree, View};

const BEZEL: [u8; 4] = [0, 0, 0, 255];

fn wall(text: &str) -> urbis_wall::WallLayout {
    urbis_wall::config::parse(text, Path::new("wall.toml")).expect("valid wall").layout
}

/// A 2 × 2 wall of 1.6 × 0.9 m panels at 320 × 180 pixels (200 px a metre).
fn grid(bezel: f64, eye: [f64; 3]) -> urbis_wall::WallLayout {
    wall(&format!(
        "[eye]\nposition = [{}, {}, {}]\n[grid]\ncolumns = 2\nrows = 2\npanel = [1.6, 0.9]\nbezel = {bezel}\npixels = [320, 180]\n",
        eye[0], eye[1], eye[2]
    ))
}

/// The city camera: the wall's eye, looking over the sample city.
fn city_camera(engine: &urbis_engine::Engine) -> Camera {
    support::enu_camera(&engine.model, DVec3::new(-400.0, -900.0, 600.0), DVec3::ZERO)
}

#[test]
fn a_wall_without_bezels_is_one_render_of_the_whole_frustum() {
    let Some(mut engine) = support::engine(support::sample_city()) else { return };
    let camera = city_camera(&engine);
    let lighting = default_lighting(&engine.model, &camera);
    // The eye centred on a 3.2 × 1.8 m wall, 2.5 m away: the whole wall is a
    // symmetric frustum, which the renderer draws uncropped.
    let layout = grid(0.0, [1.6, 0.9, 2.5]);
    let view = WallView::new(&layout, &camera).expect("wall view");
    let walled = render_wall(&mut engine, &layout, &view, &lighting, &[], BEZEL).expect("wall");
    assert_eq!(walled.image.dimensions(), (640, 360));
    let reference = Camera { fov_y: 2.0 * (0.9f64 / 2.5).atan(), ..camera };
    let whole = render_image(&mut engine, &reference, &lighting, None, 640, 360).expect("whole");
    let (differ, mean) = support::image_difference(&whole.image, &walled.image, 24);
    println!("wall vs whole: {:.4} % of pixels differ by more than 24, mean {mean:.3}", differ * 100.0);
    assert!(differ < 0.005 && mean < 1.0, "{:.3} % differ, mean {mean:.3}", differ * 100.0);
}

#[test]
fn an_off_centre_eye_sees_its_part_of_a_larger_symmetric_frame() {
    let Some(mut engine) = support::engine(support::sample_city()) else { return };
    let camera = city_camera(&engine);
    let lighting = default_lighting(&engine.model, &camera);
    // The eye 1.0 m from the wall's left edge and 0.6 m above its bottom:
    // tangents −0.4 … 0.88 across, −0.24 … 0.48 up. Its frame, symmetric
    // about the eye's axis, is 2 × 2.2 m by 2 × 1.2 m = 880 × 480 px, the
    // wall its columns 240–879 and rows 0–359.
    let layout = grid(0.0, [1.0, 0.6, 2.5]);
    let view = WallView::new(&layout, &camera).expect("wall view");
    let walled = render_wall(&mut engine, &layout, &view, &lighting, &[], BEZEL).expect("wall");
    let reference = Camera { fov_y: 2.0 * (1.2f64 / 2.5).atan(), ..camera };
    let frame = render_image(&mut engine, &reference, &lighting, None, 880, 480).expect("frame");
    let part = image::imageops::crop_imm(&frame.image, 240, 0, 640, 360).to_image();
    let (differ, mean) = support::image_difference(&part, &walled.image, 24);
    println!("off-axis wall vs its part of the frame: {:.4} % differ, mean {mean:.3}", differ * 100.0);
    assert!(differ < 0.005 && mean < 1.0, "{:.3} % differ, mean {mean:.3}", differ * 100.0);
    // The centred crop (a symmetric wall frustum) is another picture.
    let centred = image::imageops::crop_imm(&frame.image, 120, 60, 640, 360).to_image();
    let (other, _) = support::image_difference(&centred, &walled.image, 24);
    assert!(other > 0.2, "the off-axis frustum is not the symmetric one ({:.1} % differ)", other * 100.0);
}

#[test]
fn behind_a_bezel_the_picture_goes_on_and_nothing_is_squeezed() {
    let Some(mut engine) = support::engine(support::sample_city()) else { return };
    let camera = city_camera(&engine);
    let lighting = default_lighting(&engine.model, &camera);
    // 25 mm bezels: 10 px between two pictures. The canvas spans the
    // pictures and the gaps between them: 3.25 × 1.85 m = 650 × 370 px.
    let layout = grid(0.025, [1.65, 0.95, 2.5]);
    let view = WallView::new(&layout, &camera).expect("wall view");
    let walled = render_wall(&mut engine, &layout, &view, &lighting, &[], BEZEL).expect("wall");
    assert_eq!(walled.image.dimensions(), (650, 370));
    let reference = Camera { fov_y: 2.0 * (0.925f64 / 2.5).atan(), ..camera };
    let whole = render_image(&mut engine, &reference, &lighting, None, 650, 370).expect("whole");
    let (_, _, rects) = layout.canvas();
    assert_eq!(rects, vec![[0, 190, 320, 180], [330, 190, 320, 180], [0, 0, 320, 180], [330, 0, 320, 180]]);
    let inside = |x: u32, y: u32| rects.iter().any(|r| x >= r[0] && x < r[0] + r[2] && y >= r[1] && y < r[1] + r[3]);
    let mut bezel_pixels = 0;
    for (x, y, p) in walled.image.enumerate_pixels() {
        if !inside(x, y) {
            assert_eq!(p.0, BEZEL, "a bezel pixel ({x}, {y}) is not drawn");
            bezel_pixels += 1;
        }
    }
    assert_eq!(bezel_pixels, 650 * 370 - 4 * 320 * 180);
    // Each display shows the whole frame's pixels at its place: the picture
    // continues behind the bezel.
    for r in &rects {
        let a = image::imageops::crop_imm(&whole.image, r[0], r[1], r[2], r[3]).to_image();
        let b = image::imageops::crop_imm(&walled.image, r[0], r[1], r[2], r[3]).to_image();
        let (differ, mean) = support::image_difference(&a, &b, 24);
        println!("display at {r:?} vs the whole frame: {:.4} % differ, mean {mean:.3}", differ * 100.0);
        assert!(differ < 0.005 && mean < 1.0, "{r:?}: {:.3} % differ, mean {mean:.3}", differ * 100.0);
    }
    // A wall that squeezed the picture into its displays (the frame without
    // bezels, cut in four) shows something else at the lower-right display.
    let squeezed_camera = Camera { fov_y: 2.0 * (0.925f64 / 2.5).atan(), ..camera };
    let squeezed = render_image(&mut engine, &squeezed_camera, &lighting, None, 640, 360).expect("squeezed");
    let s = image::imageops::crop_imm(&squeezed.image, 320, 180, 320, 180).to_image();
    let b = image::imageops::crop_imm(&walled.image, 330, 190, 320, 180).to_image();
    let (differ, _) = support::image_difference(&s, &b, 24);
    assert!(differ > 0.05, "squeezing would show a different picture ({:.1} % differ)", differ * 100.0);
}

fn ecef(lon: f64, lat: f64, h: f64) -> DVec3 {
    urbis_geo::Ellipsoid::WGS84.geodetic_to_ecef(urbis_geo::Geodetic { lon_deg: lon, lat_deg: lat, height: h })
}

/// Every display of a 2 × 1 wall, selecting as if it were its own process
/// (its own `WallView` from the same wall file and camera), selects the
/// same terrain tiles; selecting for the display's own frustum would not.
#[test]
fn every_display_selects_the_same_tiles() {
    let layout = TerrainLayout {
        coverage: Some([115.85, 38.95, 116.05, 39.15]),
        max_level: 16,
        globe_level: 5,
        heights: Arc::new(|_| Some([0.0, 0.0])),
        available: None,
    };
    let generator = Arc::new(TerrainGenerator::new("flat", TerrainSource::Ellipsoid, Vec::new()));
    let tree = TileTree::terrain("flat", &layout, generator);
    // 500 m above the ground, looking north and 25° down: the levels change
    // across the picture, and the seam runs up its middle.
    let (lon, lat): (f64, f64) = (115.95, 39.0);
    let (sl, cl) = lat.to_radians().sin_cos();
    let (so, co) = lon.to_radians().sin_cos();
    let (up, north) = (DVec3::new(cl * co, cl * so, sl), DVec3::new(-sl * co, -sl * so, cl));
    let pitch = 25f64.to_radians();
    let forward = north * pitch.cos() - up * pitch.sin();
    let position = ecef(lon, lat, 500.0);
    let camera = Camera::look_at(position, position + forward, up);
    let text = "[eye]\nposition = [1.6, 0.45, 2.0]\n[grid]\ncolumns = 2\nrows = 1\npanel = [1.6, 0.9]\npixels = [1920, 1080]\n";
    let tiles =
        |v: &View| -> BTreeSet<_> { urbis_tiles::select(&tree, v, &Default::default()).tiles.into_iter().collect() };
    let mut per_wall = Vec::new();
    let mut per_display = Vec::new();
    for i in 0..2 {
        // A display's process: it knows only the wall file, the camera and its own id.
        let layout = wall(text);
        let view = WallView::new(&layout, &camera).expect("wall view");
        per_wall.push(tiles(&view.tile_view(16.0)));
        // What it would select for its own frustum alone.
        let f = layout.frustum(i).expect("frustum");
        // Turned towards the display's centre, as a per-display camera would be.
        let axis = camera.rotation * DVec3::new((f.left + f.right) / 2.0, (f.top + f.bottom) / 2.0, -1.0).normalize();
        let own = View {
            position,
            direction: axis,
            up: camera.up(),
            fov_y: 2.0 * ((f.top - f.bottom) / 2.0).atan(),
            aspect: (f.right - f.left) / (f.top - f.bottom),
            viewport_height: 1080.0,
            max_sse: 16.0,
            cull: true,
        };
        per_display.push(tiles(&own));
    }
    println!("the wall's selection: {} tiles on both displays", per_wall[0].len());
    assert!(per_wall[0].len() > 20, "{} tiles selected", per_wall[0].len());
    assert_eq!(per_wall[0], per_wall[1], "both displays select the wall's tiles");
    assert_ne!(per_display[0], per_display[1], "each display alone would select other tiles");
    // The wall's selection holds each display's own: nothing a display needs is missing.
    for (i, own) in per_display.iter().enumerate() {
        let finer: Vec<_> = own.difference(&per_wall[0]).collect();
        let levels = |s: &BTreeSet<_>| s.iter().filter_map(|t| tree.get(*t).implicit.map(|c| c.level)).max();
        assert!(
            levels(own) <= levels(&per_wall[0]),
            "display {i}: levels {:?} vs {:?}",
            levels(own),
            levels(&per_wall[0])
        );
        println!("display {i}: {} own tiles, {} not in the wall's selection", own.len(), finer.len());
    }
}

/// The ops overlays over a 2 × 2 wall with bezels: a clock, a KPI tile,
/// the alarm list and a chart of two sensors, from fixed data (golden
/// `wall_ops.png`, looked at).
#[test]
fn ops_overlays_on_the_wall() {
    let Some(mut engine) = support::engine(support::sample_city()) else { return };
    let camera = city_camera(&engine);
    let lighting = default_lighting(&engine.model, &camera);
    let text = format!(
        "{}\n{}",
        "[eye]\nposition = [1.61, 0.91, 2.5]\n[grid]\ncolumns = 2\nrows = 2\npanel = [1.6, 0.9]\nbezel = 0.01\npixels = [240, 135]\n",
        r#"
[[overlay]]
kind = "clock"
rect = [0.05, 1.5, 0.6, 0.25]
title = "Beijing"
utc_offset_hours = 8

[[overlay]]
kind = "kpi"
rect = [2.5, 1.5, 0.65, 0.27]
title = "Mean river level"
metric = "mean"
quantity = "water_level"
decimals = 2

[[overlay]]
kind = "alarms"
rect = [0.05, 0.05, 1.3, 0.5]
rows = 4

[[overlay]]
kind = "chart"
rect = [1.85, 0.05, 1.3, 0.6]
title = "Gauges"
sensors = ["gauge-01", "gauge-02"]
window_s = 3600
decimals = 2
"#
    );
    let config = urbis_wall::config::parse(&text, Path::new("wall.toml")).expect("valid wall");
    // An hour of readings a minute apart: a sine and a rising line.
    let now = 1_784_077_800.0; // 2026-07-15 01:10:00 UTC
    let series = |id: &str, f: &dyn Fn(f64) -> f64| {
        let history: Vec<(f64, f64)> =
            (0..=60).map(|k| (now - 3600.0 + 60.0 * f64::from(k), f(f64::from(k)))).collect();
        urbis_wall::overlay::SensorSeries {
            id: id.into(),
            quantity: "water_level".into(),
            unit: "m".into(),
            latest: history.last().copied(),
            stale: false,
            history,
        }
    };
    let alarm = |t: f64, sensor: &str, active: bool| urbis_wall::overlay::AlarmRow {
        time: now - t,
        sensor: sensor.into(),
        message: "river flood".into(),
        active,
        severity: Some("critical".into()),
    };
    let data = urbis_wall::overlay::OpsData {
        now,
        sensors: vec![
            series("gauge-01", &|k| 2.0 + 0.5 * (k / 60.0 * std::f64::consts::TAU).sin()),
            series("gauge-02", &|k| 1.5 + k / 40.0),
        ],
        alarms: vec![alarm(300.0, "gauge-02", true), alarm(1800.0, "gauge-01", false)],
    };
    let items = urbis_wall::overlay::layout(&config.overlays, &config.layout, &data);
    let overlays = urbis_engine::ops_overlays(&items);
    assert!(overlays.len() >= 2, "panels of several text sizes: {} overlays", overlays.len());
    let view = WallView::new(&config.layout, &camera).expect("wall view");
    let walled = render_wall(&mut engine, &config.layout, &view, &lighting, &overlays, BEZEL).expect("wall");
    let bare = render_wall(&mut engine, &config.layout, &view, &lighting, &[], BEZEL).expect("bare wall");
    // The chart's lines are drawn inside its rectangle, and nowhere the wall shows no overlay.
    let [cx, cy, cw, ch] = urbis_wall::overlay::canvas_rect(&config.layout, [1.85, 0.05, 1.3, 0.6]);
    let changed = |x0: f32, y0: f32, w: f32, h: f32| {
        let mut n = 0;
        for y in y0 as u32..(y0 + h) as u32 {
            for x in x0 as u32..(x0 + w) as u32 {
                if walled.image.get_pixel(x, y) != bare.image.get_pixel(x, y) {
                    n += 1;
                }
            }
        }
        n
    };
    assert!(changed(cx, cy, cw, ch) > 500, "the chart is drawn");
    assert_eq!(changed(150.0, 60.0, 80.0, 40.0), 0, "the middle of the upper-left display has no overlay");
    support::assert_golden("wall_ops", &walled.image, 0.01);
}
