//! Picking: a pixel known to hit a building returns that building; the
//! GPU feature-id answer agrees with the CPU ray cast through the spatial
//! index; styles change without touching geometry.

mod support;

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_engine::render_image;
use urbis_model::{Attributes, Bounds, CityModel, FeatureId, FeatureStyle, GeometryHandle, PartOf, SemanticClass};

/// The tallest building (or part) with geometry, and its bounds.
fn tallest(model: &mut CityModel) -> (Entity, Bounds) {
    let mut q = model.world.query_filtered::<(Entity, &SemanticClass, &Bounds), With<GeometryHandle>>();
    q.iter(&model.world)
        .filter(|(_, c, _)| c.is_building_or_part())
        .map(|(e, _, b)| (e, *b))
        .max_by(|a, b| a.1.max.z.total_cmp(&b.1.max.z))
        .expect("buildings")
}

/// The tallest building part that belongs to a building (the sample city's towers have parts).
fn tallest_part(model: &mut CityModel) -> (Entity, Entity, Bounds) {
    let mut q = model.world.query_filtered::<(Entity, &SemanticClass, &Bounds, &PartOf), With<GeometryHandle>>();
    q.iter(&model.world)
        .filter(|(_, c, _, _)| **c == SemanticClass::BUILDING_PART)
        .map(|(e, _, b, p)| (e, p.0, *b))
        .max_by(|a, b| a.2.max.z.total_cmp(&b.2.max.z))
        .expect("the sample city has building parts")
}

/// The building a picked entity belongs to.
fn building_of(model: &CityModel, e: Entity) -> Entity {
    model.world.get::<PartOf>(e).map_or(e, |p| p.0)
}

#[test]
fn centre_pixel_over_the_tallest_roof_picks_that_building() {
    let mut model = support::sample_city();
    let (target, b) = tallest(&mut model);
    let roof = DVec3::new(b.center().x, b.center().y, b.max.z);
    let Some(mut engine) = support::engine(model) else {
        return;
    };
    let camera = support::enu_camera(&engine.model, roof + DVec3::new(0.0, 0.0, 120.0), roof);
    let lighting = support::enu_lighting(&engine.model);
    render_image(&mut engine, &camera, &lighting, None, 320, 240).expect("render");

    let hit = engine.pick(160, 120).expect("pick").expect("something under the centre");
    assert_eq!(building_of(&engine.model, hit), building_of(&engine.model, target));
    let id = engine.model.world.get::<FeatureId>(hit).expect("id");
    let target_id = engine.model.world.get::<FeatureId>(target).expect("id");
    assert_eq!(id.guid, target_id.guid, "picked {} expected {}", id.guid, target_id.guid);

    // The CPU ray through the same pixel agrees.
    let (origin, dir) = camera.pixel_ray(160.5, 120.5, 320, 240);
    let frame = *engine.model.frame();
    let ray = engine
        .model
        .spatial()
        .ray_cast(&engine.model.world, frame.ecef_to_enu(origin), frame.enu_to_ecef_rot.transpose() * dir, 10_000.0)
        .expect("CPU ray hits");
    assert_eq!(ray.entity, hit);
    assert!((ray.point.z - b.max.z).abs() < 0.05, "roof at {} m, ray hit at {} m", b.max.z, ray.point.z);

    // The describe() output carries the building's semantics.
    let d = engine.model.describe(building_of(&engine.model, hit)).expect("describe");
    assert_eq!(d["class"], "Building");
    for key in ["height", "floors", "use", "year_built", "address"] {
        assert!(d["attributes"].get(key).is_some(), "attribute {key} missing in {d}");
    }

    // Looking up at the sky picks nothing.
    let sky = support::enu_camera(&engine.model, roof + DVec3::new(0.0, 0.0, 5.0), roof + DVec3::new(0.0, 0.0, 500.0));
    render_image(&mut engine, &sky, &lighting, None, 64, 64).expect("render");
    assert_eq!(engine.pick(32, 32).expect("pick"), None);
    assert!(engine.pick(64, 10).is_err(), "outside the frame is an error");
}

#[test]
fn restyling_features_uploads_styles_not_geometry() {
    let mut model = support::sample_city();
    let (target, parent, b) = tallest_part(&mut model);
    let roof = DVec3::new(b.center().x, b.center().y, b.max.z);
    let Some(mut engine) = support::engine(model) else {
        return;
    };
    let camera = support::enu_camera(&engine.model, roof + DVec3::new(0.0, 0.0, 120.0), roof);
    let lighting = support::enu_lighting(&engine.model);
    let before = render_image(&mut engine, &camera, &lighting, None, 160, 120).expect("render").image;
    assert_eq!(engine.pick(80, 60).expect("pick"), Some(target), "the centre pixel shows the part");
    let uploads = engine.scene.stats();

    // Paint every residential building red and the target pure blue.
    let residential: Vec<Entity> = {
        let mut q = engine.model.world.query::<(Entity, &Attributes)>();
        q.iter(&engine.model.world).filter(|(_, a)| a.str("use") == Some("residential")).map(|(e, _)| e).collect()
    };
    assert!(residential.len() > 500);
    for &e in &residential {
        engine.model.world.get_mut::<FeatureStyle>(e).expect("style").color_override = Some([1.0, 0.0, 0.0, 1.0]);
    }
    engine.model.world.get_mut::<FeatureStyle>(target).expect("style").color_override = Some([0.0, 0.0, 1.0, 1.0]);
    let prep = engine.update();
    assert_eq!(prep.chunks_uploaded, 0, "restyling must not rebuild chunks");
    assert!(prep.styles_updated > residential.len() / 2);
    let after_stats = engine.scene.stats();
    assert_eq!(after_stats.geometry_uploads, uploads.geometry_uploads);
    assert_eq!(after_stats.geometry_bytes, uploads.geometry_bytes);
    assert!(after_stats.style_bytes > uploads.style_bytes);

    let after = render_image(&mut engine, &camera, &lighting, None, 160, 120).expect("render").image;
    let (c0, c1) = (before.get_pixel(80, 60).0, after.get_pixel(80, 60).0);
    assert!(c1[2] > c1[0] + 40 && c1[2] > c1[1] + 40, "centre should be blue now: {c0:?} → {c1:?}");

    // Styling a parent Building reaches its parts.
    engine.model.world.get_mut::<FeatureStyle>(target).expect("style").color_override = None;
    engine.model.world.get_mut::<FeatureStyle>(parent).expect("style").color_override = Some([0.0, 1.0, 0.0, 1.0]);
    let green = render_image(&mut engine, &camera, &lighting, None, 160, 120).expect("render").image;
    let c = green.get_pixel(80, 60).0;
    assert!(c[1] > c[0] + 40 && c[1] > c[2] + 40, "the part should show its parent's green: {c:?}");

    // Hiding the target reveals what is below it.
    engine.model.world.get_mut::<FeatureStyle>(target).expect("style").visible = false;
    render_image(&mut engine, &camera, &lighting, None, 160, 120).expect("render");
    let below = engine.pick(80, 60).expect("pick").expect("something lies below the hidden part");
    assert_ne!(below, target, "a hidden feature cannot be picked");
    assert_eq!(engine.scene.stats().geometry_uploads, uploads.geometry_uploads);
}
