//! Golden images of a CityJSON city (cjio's Rotterdam extract, 16 LoD2 buildings with
//! semantic surfaces) and an IFC model (lavapipe). Each was looked at before
//! it was committed.

mod support;

use std::path::PathBuf;

use glam::DVec3;
use urbis_engine::{default_lighting, render_image};
use urbis_model::{Bounds, CityModel};
use urbis_render::Camera;

/// A camera from the south-south-west, 40° down, on the bulk of the
/// features: those within 200 m of their median centre (cjio's Rotterdam
/// extract has one building 500 m from the other fifteen).
fn camera_on_bulk(model: &mut CityModel) -> Camera {
    let centres: Vec<DVec3> = model.world.query::<&Bounds>().iter(&model.world).map(|b| b.center()).collect();
    let median = |f: fn(&DVec3) -> f64| {
        let mut v: Vec<f64> = centres.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let m = DVec3::new(median(|p| p.x), median(|p| p.y), 0.0);
    let bulk = model
        .world
        .query::<&Bounds>()
        .iter(&model.world)
        .filter(|b| (b.center() - m).truncate().length() < 200.0)
        .fold(Bounds::from_points([]), |acc, b| acc.union(*b));
    let extent = bulk.size().x.max(bulk.size().y).max(bulk.size().z).max(1.0);
    let target = DVec3::new(bulk.center().x, bulk.center().y, bulk.min.z + 0.25 * bulk.size().z);
    let (heading, pitch) = (20f64.to_radians(), -40f64.to_radians());
    let dir = DVec3::new(heading.sin() * pitch.cos(), heading.cos() * pitch.cos(), pitch.sin());
    let eye = target - dir * extent * 1.5;
    let frame = model.frame();
    let mut cam = Camera::look_at(frame.enu_to_ecef(eye), frame.enu_to_ecef(target), frame.enu_to_ecef_rot.z_axis);
    cam.near = 0.05;
    cam
}

fn golden(path: PathBuf, name: &str, min_triangles: u64) {
    let (model, reports) = urbis_model::open_city(&[path]).expect("load");
    assert!(reports[0].features > 0);
    let Some(mut engine) = support::engine(model) else { return };
    let camera = camera_on_bulk(&mut engine.model);
    let lighting = default_lighting(&engine.model, &camera);
    let img = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    assert!(img.stats.triangles >= min_triangles, "{name}: {} triangles", img.stats.triangles);
    support::assert_golden(name, &img.image, 0.01);
}

#[test]
fn cityjson_rotterdam() {
    let Some(path) = support::shared("cityjson/cjio/rotterdam/rotterdam_subset.json") else { return };
    golden(path, "cityjson_rotterdam", 100);
}

#[test]
fn ifc_sample_building() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../urbis_formats/tests/data/sample.ifc");
    golden(path, "ifc_sample", 50);
}
