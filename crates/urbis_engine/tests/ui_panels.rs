//! The egui panels over the city (lavapipe): layers with a count per class,
//! a search and its hits, a bookmark, the inspector of the selected
//! building and the status line, painted over the rendered frame; golden `ui_over_city.png`
//! (looked at). Hiding a layer hides exactly that class's features, and
//! the search lists what the query language selects.

mod support;

use glam::DVec3;
use urbis_engine::default_lighting;
use urbis_model::{FeatureQuery, FeatureStyle, SemanticClass};
use urbis_render::HeadlessTarget;
use urbis_ui::{FrameInfo, Panels, set_class_visible};

fn input(w: u32, h: u32) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(w as f32, h as f32))),
        ..Default::default()
    }
}

#[test]
fn panels_over_the_city() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    let (w, h) = (640, 480);
    let mut panels = Panels::new(&engine.ctx.device, HeadlessTarget::FORMAT);
    panels.set_bookmarks(vec![urbis_ui::Bookmark {
        name: "河边 riverside".into(),
        lon: 115.9,
        lat: 38.99,
        height: 200.0,
        heading: 0.0,
        pitch: -30.0,
    }]);

    // Search: the hits are what the query selects.
    panels.search(&mut engine.model, "use = office and height > 40");
    let want = engine.model.select(&FeatureQuery::parse("use = office and height > 40").expect("query"));
    assert!(!want.is_empty());
    assert_eq!(panels.hits().len(), want.len().min(200));
    let first = panels.hits()[0].0;
    engine.select(Some(first));

    // Layers: hiding Road hides every road and nothing else.
    let roads =
        engine.model.world.query::<&SemanticClass>().iter(&engine.model.world).filter(|c| c.name() == "Road").count();
    assert!(roads > 10);
    assert_eq!(set_class_visible(&mut engine.model, "Road", false), roads);
    let hidden: Vec<&str> = engine
        .model
        .world
        .query::<(&SemanticClass, &FeatureStyle)>()
        .iter(&engine.model.world)
        .filter(|(_, s)| !s.visible)
        .map(|(c, _)| c.name())
        .collect();
    assert!(hidden.len() == roads && hidden.iter().all(|c| *c == "Road"), "{} hidden", hidden.len());
    assert_eq!(set_class_visible(&mut engine.model, "Road", true), roads);

    let camera = support::enu_camera(&engine.model, DVec3::new(-500.0, -1100.0, 700.0), DVec3::ZERO);
    let lighting = default_lighting(&engine.model, &camera);
    let info = FrameInfo {
        lon: 115.9,
        lat: 39.0,
        height: 700.0,
        fps: 30.0,
        tiles_loading: 0,
        tiles_shown: 0,
        selected: Some(first),
        ..Default::default()
    };
    let frame = |engine: &mut urbis_engine::Engine, panels: &mut Panels| {
        engine.update();
        let target = HeadlessTarget::new(&engine.ctx, w, h);
        engine.render(&camera, &lighting, None, &target.view, w, h);
        let (out, _) = panels.run(input(w, h), &mut engine.model, &info);
        panels.paint(&engine.ctx.device, &engine.ctx.queue, &target.view, [w, h], out);
        let px = target.read_rgba(&engine.ctx).expect("read");
        image::RgbaImage::from_raw(w, h, px).expect("image")
    };
    // The first pass lays out and uploads the fonts; the second is the picture.
    let _ = frame(&mut engine, &mut panels);
    let img = frame(&mut engine, &mut panels);
    support::assert_golden("ui_over_city", &img, 0.01);
}
