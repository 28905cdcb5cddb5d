//! Imagery draped on the ground (`urbis_model::imagery`), rendered (lavapipe):
//!
//! - registration: coloured squares of a synthetic UTM 50N orthophoto land,
//!   seen straight down, within half a texel of where their georeferenced
//!   centres project (positions computed here through PROJ, not by the drape);
//!   picking a square returns the terrain;
//! - layers: a base and a half-transparent overlay with a hole, in two CRSs,
//!   composite in order (texels checked against the blend computed here);
//! - no terrain: a GeoJSON-only city gets a ground that carries the imagery,
//!   with its buildings standing on it;
//! - golden `imagery_on_terrain`: a hill with fields, a road, a river, a
//!   translucent zoning overlay and a hole (neutral ground), with a building.

mod support;

use support::registration::*;

use std::path::PathBuf;
use std::sync::Arc;

use glam::DVec3;
use urbis_engine::labels::project;
use urbis_engine::render_image;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::imagery::NEUTRAL_GROUND;
use urbis_model::{CityModel, DrapedGround, ImageryLayer, LayerOutcome, SemanticClass, TextureStore, drape};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-imagery-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// An ENU position in a CRS (ENU → ECEF → CRS).
fn from_enu(model: &CityModel, crs: Epsg, p: DVec3) -> DVec3 {
    let t = CrsTransform::new(Epsg::ECEF, crs).expect("transform");
    t.transform(model.frame().enu_to_ecef(p)).expect("placed")
}

#[test]
fn orthophoto_squares_register_within_half_a_texel_and_pick_the_terrain() {
    let dir = temp_dir("registration");
    let dem = write_dem(&dir, 41, 5.0, |_, _| 50.0);
    let (mut model, _) = urbis_model::open_city(&[dem]).expect("open the DEM");
    let photo = squares_photo();
    let report = drape(&mut model, &[ImageryLayer::new(Arc::new(photo))], 1.0).expect("drape");
    assert_eq!(report.layers[0].outcome, LayerOutcome::Drawn);
    assert!(report.ground.is_none() && report.surfaces.len() == 1);
    let terrain = report.surfaces[0];
    assert_eq!(model.world.get::<SemanticClass>(terrain), Some(&SemanticClass::TIN_RELIEF));
    let truth: Vec<DVec3> =
        SQUARES.iter().map(|((e, n), _)| to_enu(&model, UTM50N, DVec3::new(*e, *n, 50.0))).collect();
    let centre = to_enu(&model, UTM50N, DVec3::new(X0 + 102.5, Y0 + 102.5, 50.0));
    let Some(mut engine) = support::engine(model) else { return };
    // Straight down from 1.2 km with a 10° field of view: about 0.45 m a pixel.
    let (w, h) = (480u32, 480u32);
    let mut camera = support::enu_camera(&engine.model, centre + DVec3::new(0.0, 0.0, 1230.0), centre);
    camera.fov_y = 10f64.to_radians();
    let lighting = support::enu_lighting(&engine.model);
    let img = render_image(&mut engine, &camera, &lighting, None, w, h).expect("render").image;
    // One texel on screen: two ground points a texel apart, projected.
    let step = DVec3::new(report.metres_per_texel, 0.0, 0.0);
    let (ax, ay, _) = project(&engine.model, &camera, centre, w, h).expect("centre on screen");
    let (bx, by, _) = project(&engine.model, &camera, centre + step, w, h).expect("on screen");
    let texel_px = f64::from((bx - ax).hypot(by - ay));
    let tolerance = 0.5 * texel_px;
    assert!(texel_px > 2.0, "a texel is {texel_px} px on screen");
    let mut sums = [(0.0f64, 0.0f64, 0usize); 4];
    for (x, y, p) in img.enumerate_pixels() {
        if let Some(k) = square_of(p.0) {
            sums[k].0 += f64::from(x) + 0.5;
            sums[k].1 += f64::from(y) + 0.5;
            sums[k].2 += 1;
        }
    }
    let mut worst = 0.0f64;
    for (k, t) in truth.iter().enumerate() {
        let (sx, sy, n) = sums[k];
        // A 12 m square is (12 / 0.45)² ≈ 700 pixels.
        assert!(n > 400 && n < 1100, "square {k}: {n} pixels");
        let (cx, cy) = weighted_centroid(&img, (sx / n as f64, sy / n as f64), 24);
        let (px, py, _) = project(&engine.model, &camera, *t, w, h).expect("square on screen");
        let err = (cx - f64::from(px)).hypot(cy - f64::from(py));
        eprintln!("square {k}: centroid ({cx:.2}, {cy:.2}), georeference ({px:.2}, {py:.2}), error {err:.3} px");
        assert!(err <= tolerance, "square {k} is {err:.3} px off (tolerance {tolerance:.3} px = half a texel)");
        worst = worst.max(err);
        assert_eq!(engine.pick(px as u32, py as u32).expect("pick"), Some(terrain), "square {k} picks the terrain");
    }
    eprintln!("registration: worst {worst:.3} px, tolerance {tolerance:.3} px ({texel_px:.2} px a texel)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `top` composited over `under` with coverage `a` (0–1), before rounding to a byte.
fn over(under: [f64; 3], top: [u8; 3], a: f64) -> [f64; 3] {
    [0, 1, 2].map(|i| under[i] * (1.0 - a) + f64::from(top[i]) * a)
}

#[test]
fn layers_composite_in_order_with_opacity_alpha_and_holes() {
    let dir = temp_dir("layers");
    let dem = write_dem(&dir, 41, 5.0, |x, _| 30.0 + (x - X0) * 0.05);
    let (mut model, _) = urbis_model::open_city(&[dem]).expect("open the DEM");
    let base_rgb = [200u8, 180, 40];
    // The base (UTM 50N) covers the north three quarters of the DEM.
    let base = raster(UTM50N.0, X0 - 10.0, Y0 + 215.0, 2.0, 115, 80, |_, _| [200, 180, 40, 255]);
    // The overlay (Web Mercator): west third a hole, middle opaque C1, east C2 at alpha 102.
    let (c1, c2) = ([20u8, 60, 220], [240u8, 30, 160]);
    let sw = from_enu(&model, Epsg(3857), to_enu(&model, UTM50N, DVec3::new(X0 - 20.0, Y0 - 20.0, 40.0)));
    let ne = from_enu(&model, Epsg(3857), to_enu(&model, UTM50N, DVec3::new(X0 + 225.0, Y0 + 225.0, 40.0)));
    let third = (ne.x - sw.x) / 3.0;
    let (cut1, cut2) = (sw.x + third, sw.x + 2.0 * third);
    let px = 1.0;
    let (ow, oh) = (((ne.x - sw.x) / px).ceil() as u32, ((ne.y - sw.y) / px).ceil() as u32);
    let overlay = raster(3857, sw.x, ne.y, px, ow, oh, |x, _| {
        if x < cut1 {
            [0, 0, 0, 0]
        } else if x < cut2 {
            [c1[0], c1[1], c1[2], 255]
        } else {
            [c2[0], c2[1], c2[2], 102]
        }
    });
    let opacity = 0.6f32;
    let layers = [
        ImageryLayer::new(Arc::new(base)),
        ImageryLayer { opacity, ..ImageryLayer::new(Arc::new(overlay)) },
        ImageryLayer {
            visible: false,
            ..ImageryLayer::new(Arc::new(raster(UTM50N.0, X0, Y0 + 300.0, 10.0, 30, 30, |_, _| [255; 4])))
        },
    ];
    let report = drape(&mut model, &layers, 1.0).expect("drape");
    let outcomes: Vec<LayerOutcome> = report.layers.iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, vec![LayerOutcome::Drawn, LayerOutcome::Drawn, LayerOutcome::Hidden]);
    let image = model.world.resource::<TextureStore>().get(report.texture).expect("texture").clone();
    // Probe points (UTM), each well inside one region; the overlay's strips are found in Mercator.
    let neutral = NEUTRAL_GROUND.map(f64::from);
    let neutral = [neutral[0], neutral[1], neutral[2]];
    let base_f = base_rgb.map(f64::from);
    let a1 = f64::from(opacity);
    let a2 = f64::from(opacity) * 102.0 / 255.0;
    let mut regions = std::collections::BTreeSet::new();
    for (e, n) in [(30.0, 150.0), (100.0, 150.0), (180.0, 120.0), (30.0, 15.0), (100.0, 15.0), (180.0, 15.0)] {
        let enu = to_enu(&model, UTM50N, DVec3::new(X0 + e, Y0 + n, 40.0));
        let merc = from_enu(&model, Epsg(3857), enu);
        let under = if n > 50.0 { base_f } else { neutral };
        let strip = if merc.x < cut1 {
            0
        } else if merc.x < cut2 {
            1
        } else {
            2
        };
        assert!((merc.x - cut1).abs() > 10.0 && (merc.x - cut2).abs() > 10.0, "probe {e},{n} near a strip edge");
        regions.insert((n > 50.0, strip));
        let want = match strip {
            0 => under,
            1 => over(under, c1, a1),
            _ => over(under, c2, a2),
        };
        let (c, r) = report.texel_at(enu.x, enu.y).expect("probe on the texture");
        let got = image.get_pixel(c, r).0;
        for i in 0..3 {
            assert!((f64::from(got[i]) - want[i]).abs() <= 1.0, "probe ({e}, {n}) strip {strip}: {got:?} vs {want:?}");
        }
    }
    assert_eq!(regions.len(), 6, "every combination was probed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Longitude/latitude of a UTM 50N point.
fn lon_lat(e: f64, n: f64) -> [f64; 2] {
    let p = CrsTransform::new(UTM50N, Epsg::WGS84).expect("transform").transform(DVec3::new(e, n, 0.0)).expect("ll");
    [p.x, p.y]
}

/// A GeoJSON footprint (a UTM rectangle) with a height.
fn footprint(name: &str, x: f64, y: f64, side: f64, height: f64) -> serde_json::Value {
    let ring: Vec<[f64; 2]> = [(x, y), (x + side, y), (x + side, y + side), (x, y + side), (x, y)]
        .iter()
        .map(|&(e, n)| lon_lat(e, n))
        .collect();
    serde_json::json!({"type": "Feature", "properties": {"name": name, "height": height},
                       "geometry": {"type": "Polygon", "coordinates": [ring]}})
}

#[test]
fn a_city_without_terrain_stands_on_a_draped_ground() {
    let dir = temp_dir("ground");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        footprint("A", X0 + 20.0, Y0 + 20.0, 20.0, 15.0),
        footprint("B", X0 + 70.0, Y0 + 40.0, 25.0, 30.0),
    ]});
    let path = dir.join("city.geojson");
    std::fs::write(&path, doc.to_string()).expect("write geojson");
    let (mut model, _) = urbis_model::open_city(&[path]).expect("open");
    let (city_bounds, features) = (model.bounds(), model.feature_count());
    let magenta = (X0 + 60.0, Y0 + 10.0);
    let photo = raster(UTM50N.0, X0 - 100.0, Y0 + 200.0, 0.5, 600, 600, |x, y| {
        if (x - magenta.0).abs() < 5.0 && (y - magenta.1).abs() < 5.0 {
            [220, 40, 200, 255]
        } else {
            [70, 130, 60, 255]
        }
    });
    let report = drape(&mut model, &[ImageryLayer::new(Arc::new(photo))], 0.5).expect("drape");
    let ground = report.ground.expect("a ground was added");
    assert_eq!(model.feature_count(), features + 1);
    assert_eq!(model.world.get::<SemanticClass>(ground), Some(&SemanticClass::TIN_RELIEF));
    assert!(model.world.get::<DrapedGround>(ground).is_some());
    let gb = *model.world.get::<urbis_model::Bounds>(ground).expect("bounds");
    assert!(gb.min.x < city_bounds.min.x - 40.0 && gb.max.x > city_bounds.max.x + 40.0);
    assert!(gb.min.y < city_bounds.min.y - 40.0 && gb.max.y > city_bounds.max.y + 40.0);
    assert!(
        (gb.max.z - city_bounds.min.z).abs() < 0.1,
        "ground at {} under a city from {}",
        gb.max.z,
        city_bounds.min.z
    );
    let tall = {
        let mut q = model.world.query::<(bevy_ecs::entity::Entity, &urbis_model::Bounds, &SemanticClass)>();
        q.iter(&model.world)
            .filter(|(_, _, c)| c.is_building_or_part())
            .max_by(|a, b| a.1.max.z.total_cmp(&b.1.max.z))
            .map(|(e, ..)| e)
            .expect("building B")
    };
    let tb = *model.world.get::<urbis_model::Bounds>(tall).expect("bounds");
    let spot = to_enu(&model, UTM50N, DVec3::new(magenta.0, magenta.1, 0.0));
    let spot = DVec3::new(spot.x, spot.y, gb.max.z);
    let centre = city_bounds.center();
    let Some(mut engine) = support::engine(model) else { return };
    let mut camera = support::enu_camera(
        &engine.model,
        centre + DVec3::new(0.0, 0.0, 800.0),
        DVec3::new(centre.x, centre.y, gb.max.z),
    );
    camera.fov_y = 15f64.to_radians();
    let lighting = support::enu_lighting(&engine.model);
    let (w, h) = (320u32, 320u32);
    let img = render_image(&mut engine, &camera, &lighting, None, w, h).expect("render").image;
    let (sx, sy, _) = project(&engine.model, &camera, spot, w, h).expect("magenta on screen");
    let p = img.get_pixel(sx as u32, sy as u32).0;
    let [r, g, b] = [p[0], p[1], p[2]].map(u16::from);
    assert!(r > 2 * g && b > 2 * g, "the magenta patch shows: {p:?}");
    assert_eq!(engine.pick(sx as u32, sy as u32).expect("pick"), Some(ground));
    // Beside the buildings the ground is the imagery's green, not the neutral colour.
    let grass = DVec3::new(centre.x, city_bounds.max.y + 20.0, gb.max.z);
    let (gx, gy, _) = project(&engine.model, &camera, grass, w, h).expect("grass on screen");
    let q = img.get_pixel(gx as u32, gy as u32).0;
    assert!(q[1] > q[0] && q[1] > q[2], "green ground: {q:?}");
    // The tall building's roof centre picks it: it stands on the imagery.
    let roof = DVec3::new(tb.center().x, tb.center().y, tb.max.z);
    let (rx, ry, _) = project(&engine.model, &camera, roof, w, h).expect("roof on screen");
    assert_eq!(engine.pick(rx as u32, ry as u32).expect("pick"), Some(tall));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Colour of the golden scene's orthophoto at a UTM point (alpha 0 in its hole).
fn landscape(x: f64, y: f64) -> [u8; 4] {
    let (e, n) = (x - X0, y - Y0);
    if e > 190.0 && n < 60.0 {
        return [0, 0, 0, 0];
    }
    let river = Y0 + 40.0 + 12.0 * (e / 30.0).sin();
    if (y - river).abs() < 6.0 {
        return [40, 90, 160, 255];
    }
    // A road climbing north-east: within 3.5 m of the line n = 0.6 e + 70.
    if (n - 0.6 * e - 70.0).abs() / 1.166 < 3.5 {
        return [92, 92, 96, 255];
    }
    let furrow = if (n / 6.0).floor() as i64 % 2 == 0 { 1.0 } else { 0.9 };
    let field: [f64; 3] = match (e < 122.0, n < 122.0) {
        (true, true) => [205.0, 180.0, 95.0],
        (false, true) => [150.0, 112.0, 78.0],
        (true, false) => [118.0, 158.0, 76.0],
        (false, false) => [48.0, 92.0, 44.0],
    };
    let [r, g, b] = field.map(|c| (c * furrow) as u8);
    [r, g, b, 255]
}

#[test]
fn golden_imagery_on_terrain() {
    let dir = temp_dir("golden");
    let hill = |x: f64, y: f64| {
        let (dx, dy) = (x - X0 - 130.0, y - Y0 - 140.0);
        40.0 + 40.0 * (-(dx * dx + dy * dy) / (2.0 * 45.0 * 45.0)).exp() + 0.03 * (x - X0)
    };
    let dem = write_dem(&dir, 61, 4.0, hill);
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        footprint("Hall", X0 + 160.0, Y0 + 64.0, 18.0, 24.0),
        footprint("Barn", X0 + 70.0, Y0 + 150.0, 12.0, 9.0),
    ]});
    let fp = dir.join("buildings.geojson");
    std::fs::write(&fp, doc.to_string()).expect("write geojson");
    let (mut model, _) = urbis_model::open_city(&[dem, fp]).expect("open");
    let photo = raster(UTM50N.0, X0 - 20.0, Y0 + 264.0, 1.0, 284, 284, landscape);
    let zoning = raster(UTM50N.0, X0 + 40.0, Y0 + 115.0, 2.0, 30, 25, |_, _| [235, 40, 40, 255]);
    let layers =
        [ImageryLayer::new(Arc::new(photo)), ImageryLayer { opacity: 0.4, ..ImageryLayer::new(Arc::new(zoning)) }];
    let report = drape(&mut model, &layers, 0.5).expect("drape");
    assert!(report.layers.iter().all(|l| l.outcome == LayerOutcome::Drawn && l.failures.is_empty()));
    assert!(report.ground.is_none());
    let target = to_enu(&model, UTM50N, DVec3::new(X0 + 122.0, Y0 + 122.0, 50.0));
    let Some(mut engine) = support::engine(model) else { return };
    let camera = support::enu_camera(&engine.model, target + DVec3::new(110.0, -215.0, 105.0), target);
    let lighting = support::enu_lighting(&engine.model);
    let img = render_image(&mut engine, &camera, &lighting, None, 480, 320).expect("render");
    support::assert_golden("imagery_on_terrain", &img.image, 0.01);
    let _ = std::fs::remove_dir_all(&dir);
}
