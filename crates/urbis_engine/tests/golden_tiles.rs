//! Golden images of two 3D Tiles samples (lavapipe): the b3dm dragon of
//! TilesetWithDiscreteLOD and the 1.1 glb houses and trees of
//! MetadataGranularities. Each was looked at before it was committed.

mod support;

use urbis_engine::{default_camera, default_lighting, render_image};

fn golden(rel: &str, name: &str) {
    let Some(path) = support::shared(rel) else { return };
    let (model, reports) = urbis_model::open_city(&[path]).expect("load");
    assert!(reports[0].features > 0);
    let Some(mut engine) = support::engine(model) else { return };
    let camera = default_camera(&engine.model);
    let lighting = default_lighting(&engine.model, &camera);
    let img = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    assert!(img.stats.triangles > 1000, "{name}: {} triangles", img.stats.triangles);
    support::assert_golden(name, &img.image, 0.01);
}

#[test]
fn b3dm_dragon() {
    golden("3dtiles/1.0/TilesetWithDiscreteLOD/tileset.json", "tiles_dragon_b3dm");
}

#[test]
fn glb_metadata_granularities() {
    golden("3dtiles/1.1/MetadataGranularities/tileset.json", "tiles_metadata_granularities_glb");
}
