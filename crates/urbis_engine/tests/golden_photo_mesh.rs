//! Golden image of a monomerized photo mesh (lavapipe): the real OSGB tile
//! in `../shared/data/osgb` cut by two footprints (`--monomerize`), the west
//! building selected (outlined) and the east one coloured by its `use`
//! attribute, the ground left as photographed. Looked at before it was
//! committed. Picking the west building's pixel returns its entity.

mod support;

use glam::DVec3;
use urbis_engine::{default_lighting, render_image};
use urbis_model::{AttributeValue, Attributes, FeatureStyle};

#[test]
fn a_monomerized_photo_mesh_with_a_building_selected_and_one_styled() {
    let Some(tile) = support::shared("osgb/test.osgb") else { return };
    let dir = std::env::temp_dir().join(format!("urbis-golden-photo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("Data/Tile_+000_+000")).expect("mkdir");
    std::fs::copy(&tile, dir.join("Data/Tile_+000_+000/Tile_+000_+000.osgb")).expect("copy");
    std::fs::write(
        dir.join("metadata.xml"),
        "<ModelMetadata version=\"1\"><SRS>ENU:39.0,115.9</SRS><SRSOrigin>0,0,0</SRSOrigin></ModelMetadata>",
    )
    .expect("metadata");
    // The photo mesh alone first: its extent in the city frame, which the footprints are laid out on.
    let (mut alone, _) = urbis_model::open_city(std::slice::from_ref(&dir)).expect("open the photo mesh");
    let b = alone.world.query::<&urbis_model::Bounds>().iter(&alone.world).next().copied().expect("bounds");
    let frame = *alone.frame();
    let ll = |x: f64, y: f64| {
        let g = frame.enu_to_geodetic(DVec3::new(x, y, 0.0));
        [g.lon_deg, g.lat_deg]
    };
    let ring = |x0: f64, y0: f64, x1: f64, y1: f64| vec![ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)];
    let (lo, hi) = (b.min, b.max);
    let (w, h) = (hi.x - lo.x, hi.y - lo.y);
    let top = hi.z + 5.0;
    let feature = |name: &str, usage: &str, r: Vec<[f64; 2]>| {
        serde_json::json!({"type": "Feature", "properties": {"name": name, "use": usage, "height": top},
                           "geometry": {"type": "Polygon", "coordinates": [r]}})
    };
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        feature("West", "office", ring(lo.x + 0.1 * w, lo.y + 0.2 * h, lo.x + 0.45 * w, lo.y + 0.8 * h)),
        feature("East", "housing", ring(lo.x + 0.55 * w, lo.y + 0.3 * h, lo.x + 0.9 * w, lo.y + 0.7 * h)),
    ]});
    let fp = dir.join("footprints.geojson");
    std::fs::write(&fp, doc.to_string()).expect("footprints");
    let opts = urbis_model::LoadOptions { monomerize: true, ..Default::default() };
    let (mut model, _) = urbis_model::open_city_opts(&[dir, fp], &opts).expect("open");
    // Select West; colour buildings whose `use` is housing orange.
    let mut west = None;
    let mut q = model.world.query::<(bevy_ecs::entity::Entity, &Attributes, &mut FeatureStyle)>();
    for (e, a, mut s) in q.iter_mut(&mut model.world) {
        match a.get("name") {
            Some(AttributeValue::String(n)) if n == "West" => {
                s.selected = true;
                west = Some(e);
            }
            _ => {}
        }
        if matches!(a.get("use"), Some(AttributeValue::String(u)) if u == "housing") {
            s.color_override = Some([1.0, 0.35, 0.05, 0.7]);
        }
    }
    let west = west.expect("the West building");
    let Some(mut engine) = support::engine(model) else { return };
    // From the south, 45° down, on the tile's centre.
    let centre = {
        let b = engine
            .model
            .world
            .query::<&urbis_model::Bounds>()
            .iter(&engine.model.world)
            .fold(urbis_model::Bounds::from_points([]), |acc, b| acc.union(*b));
        b.center()
    };
    let extent = w.max(h);
    let eye = centre + DVec3::new(0.0, -extent * 0.9, extent * 0.9);
    let camera = support::enu_camera(&engine.model, eye, centre);
    let lighting = default_lighting(&engine.model, &camera);
    let img = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    assert!(img.stats.triangles >= 114, "{} triangles", img.stats.triangles);
    support::assert_golden("photo_mesh_monomerized", &img.image, 0.01);
    // The West building's centre, projected, picks the West building.
    let wb = *engine.model.world.get::<urbis_model::Bounds>(west).expect("bounds");
    // The middle of its top: the roof the camera sees over its plan's centre.
    let surface_top = DVec3::new(wb.center().x, wb.center().y, wb.max.z);
    let (x, y, _) = urbis_engine::labels::project(&engine.model, &camera, surface_top, 480, 270).expect("on screen");
    assert_eq!(engine.pick(x as u32, y as u32).expect("pick"), Some(west));
}
