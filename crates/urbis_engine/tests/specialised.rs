//! Pipelines specialised to what a frame and a batch use (see
//! `urbis_render::specialise`) leave code out and never change what is
//! drawn. Checked here against the general pipelines, which compile
//! everything in (`Renderer::set_specialised(false)`), on the sample city.
//! The city has procedural façades, water, foliage and roads, plain and
//! roof surfaces, terrain, and trees drawn as instances, all under sun
//! shadows; the test draws it plain, then with a feature selected and one
//! highlighted.
//! Flattening and classification are checked in `flatten.rs` and
//! `classify_photo.rs`.

mod support;

use glam::DVec3;
use urbis_engine::default_lighting;
use urbis_model::FeatureStyle;

#[test]
fn specialised_pipelines_draw_the_sample_city_as_the_general_ones() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    let camera = support::enu_camera(&engine.model, DVec3::new(-520.0, -560.0, 95.0), DVec3::new(80.0, 40.0, 20.0));
    let lighting = default_lighting(&engine.model, &camera);
    assert!(lighting.shadows, "the check covers the shadow pass");
    let size = (480, 270);
    let (_, seen) = support::assert_specialised_same(&mut engine, &camera, &lighting, size, "sample city");
    assert!(seen > 100, "the view shows the city ({seen} features)");

    // A selected and a highlighted feature (two of the largest in view):
    // the composite's selection outline and the city pass's highlight tint.
    let (ids, w, _) = engine.renderer.feature_ids(&engine.ctx).expect("ids");
    let mut first_pixel = std::collections::HashMap::<u32, (usize, usize)>::new();
    for (k, &i) in ids.iter().enumerate().filter(|(_, i)| **i != 0) {
        first_pixel.entry(i).or_insert((k, 0)).1 += 1;
    }
    let mut by_size: Vec<(u32, (usize, usize))> = first_pixel.into_iter().collect();
    by_size.sort_by_key(|&(i, (_, n))| (std::cmp::Reverse(n), i));
    let entity_at = |k: usize| {
        let (x, y) = ((k as u32) % w, (k as u32) / w);
        engine.pick(x, y).expect("pick").expect("a feature under the pixel")
    };
    let (selected, highlighted) = (entity_at(by_size[1].1.0), entity_at(by_size[2].1.0));
    engine.model.world.get_mut::<FeatureStyle>(selected).expect("style").selected = true;
    engine.model.world.get_mut::<FeatureStyle>(highlighted).expect("style").highlighted = true;
    support::assert_specialised_same(&mut engine, &camera, &lighting, size, "selected and highlighted");
}
