//! Picking a triangle of a 3D Tiles / glTF content returns its feature:
//! the GPU feature-id target agrees with a CPU ray cast, and the entity
//! carries its property-table row.

mod support;

use urbis_engine::{default_camera, default_lighting, render_image};
use urbis_model::{Attributes, FeatureId};

#[test]
fn picked_pixels_resolve_to_features_with_their_properties() {
    let Some(p) = support::shared("3dtiles/1.0/TilesetWithDiscreteLOD/tileset.json") else { return };
    let (model, _) = urbis_model::open_city(&[p]).expect("load");
    let Some(mut engine) = support::engine(model) else { return };
    let camera = default_camera(&engine.model);
    let lighting = default_lighting(&engine.model, &camera);
    let (w, h) = (320u32, 180u32);
    render_image(&mut engine, &camera, &lighting, None, w, h).expect("render");
    let frame = *engine.model.frame();
    let mut hits = 0;
    for (x, y) in [(160, 90), (150, 80), (170, 100), (140, 95), (180, 85), (10, 10)] {
        let gpu = engine.pick(x, y).expect("pick");
        let (o, d) = camera.pixel_ray(x as f64 + 0.5, y as f64 + 0.5, w, h);
        let cpu = engine
            .model
            .spatial()
            .ray_cast(&engine.model.world, frame.ecef_to_enu(o), frame.enu_to_ecef_rot.transpose() * d, 1e5)
            .map(|r| r.entity);
        assert_eq!(gpu, cpu, "pixel ({x}, {y}): GPU and CPU disagree");
        if let Some(e) = gpu {
            hits += 1;
            let id = engine.model.world.get::<FeatureId>(e).expect("id");
            let a = engine.model.world.get::<Attributes>(e).expect("attributes");
            assert!(id.guid.starts_with("TilesetWithDiscreteLOD/dragon_"), "{}", id.guid);
            assert!(a.str("tile").is_some_and(|t| t.ends_with(".b3dm")));
        }
    }
    assert!(hits >= 3, "the dragon fills the centre of the view");
}
