//! `urbis view --scenario` in 3D: a scenario (a tower added, a building
//! raised, one removed, a levee) overlaid on the sample city and switched
//! between baseline, scenario and difference by style alone. Picking proves
//! what each mode shows; the difference mode is a golden image (looked at
//! before it was committed).

mod support;

use glam::DVec3;
use urbis_engine::{Engine, default_lighting, render_image};
use urbis_model::{Bounds, CityModel, FeatureId, PartOf, SemanticClass};
use urbis_render::{Camera, Overlay, Panel};
use urbis_sim::scenario::Scenario;
use urbis_sim::scenario::compare::{Comparison, Mode};

const W: u32 = 480;
const H: u32 = 270;

/// The building whose centre is nearest to an ENU point.
fn building_near(model: &mut CityModel, x: f64, y: f64) -> (String, Bounds) {
    let mut q = model.world.query::<(&SemanticClass, &FeatureId, &Bounds)>();
    q.iter(&model.world)
        .filter(|(c, _, _)| **c == SemanticClass::BUILDING)
        .map(|(_, f, b)| (f.guid.clone(), *b))
        .min_by(|a, b| {
            let d = |b: &Bounds| (b.center().truncate() - glam::DVec2::new(x, y)).length();
            d(&a.1).total_cmp(&d(&b.1))
        })
        .expect("buildings")
}

/// The pixel where an ENU point appears.
fn project(model: &CityModel, cam: &Camera, p: DVec3) -> (u32, u32) {
    let c = cam.rotation.transpose() * (model.frame().enu_to_ecef(p) - cam.position);
    let t = (cam.fov_y / 2.0).tan();
    let (nx, ny) = (c.x / -c.z / (t * W as f64 / H as f64), c.y / -c.z / t);
    (((nx + 1.0) / 2.0 * W as f64) as u32, ((1.0 - ny) / 2.0 * H as f64) as u32)
}

fn picked(engine: &mut Engine, cam: &Camera, at: (u32, u32)) -> Option<String> {
    let lighting = default_lighting(&engine.model, cam);
    render_image(engine, cam, &lighting, None, W, H).expect("render");
    let e = engine.pick(at.0, at.1).expect("pick")?;
    // A building part counts as its building.
    let e = engine.model.world.get::<PartOf>(e).map_or(e, |p| p.0);
    engine.model.world.get::<FeatureId>(e).map(|f| f.guid.clone())
}

#[test]
fn baseline_scenario_and_difference_in_3d() {
    let mut model = support::sample_city();
    let (raised, raised_b) = building_near(&mut model, 420.0, -10.0);
    let (removed, removed_b) = building_near(&mut model, 230.0, -20.0);
    let dir = std::env::temp_dir().join(format!("urbis-golden-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = dir.join("s.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"golden\"\ncrs = \"local\"\n\
             [[modify]]\nkind = \"add_building\"\nid = \"tower\"\nheight = 120\nfootprint = [[303, 56], [333, 56], [333, 86], [303, 86]]\n\
             [[modify]]\nkind = \"raise_building\"\nid = \"{raised}\"\nby = 40\n\
             [[modify]]\nkind = \"remove_building\"\nid = \"{removed}\"\n\
             [[modify]]\nkind = \"levee\"\nheight = 3\nwidth = 6\nline = [[180, -75], [480, -75]]\n"
        ),
    )
    .expect("write");
    let scenario = Scenario::load(&path).expect("scenario");
    let mut cmp = Comparison::new(&mut model, &scenario, &dir, Mode::Scenario).expect("overlay");
    assert_eq!(cmp.changes().added.len(), 1);
    assert_eq!(cmp.changes().earthworks.len(), 1);

    let Some(mut engine) = support::engine(model) else {
        return;
    };
    let cam = support::enu_camera(&engine.model, DVec3::new(620.0, -420.0, 230.0), DVec3::new(318.0, 40.0, 40.0));
    let tower_px = project(&engine.model, &cam, DVec3::new(318.0, 56.0, 70.0));
    let above_raised = project(&engine.model, &cam, raised_b.center().with_z(raised_b.max.z + 20.0));
    let removed_px = project(&engine.model, &cam, removed_b.center());

    // Scenario: the tower stands, the raised building reaches higher, the removed one is gone.
    assert_eq!(picked(&mut engine, &cam, tower_px).as_deref(), Some("tower"));
    assert_eq!(picked(&mut engine, &cam, above_raised).as_deref(), Some(raised.as_str()));
    let behind = picked(&mut engine, &cam, removed_px).expect("the ground or a building behind the removed one");
    assert_ne!(behind, removed);

    // Baseline: the city as it is.
    cmp.set_mode(&mut engine.model, Mode::Baseline);
    let behind_tower = picked(&mut engine, &cam, tower_px).expect("the park behind the tower");
    assert_ne!(behind_tower, "tower");
    let above = picked(&mut engine, &cam, above_raised).expect("the ground or a building behind the raised one");
    assert_ne!(above, raised);
    assert_eq!(picked(&mut engine, &cam, removed_px).as_deref(), Some(removed.as_str()));

    // Difference: the scenario, coloured by change (the removed building shown in blue).
    cmp.set_mode(&mut engine.model, Mode::Difference);
    assert_eq!(picked(&mut engine, &cam, removed_px).as_deref(), Some(removed.as_str()));
    let prepared = engine.update();
    assert_eq!(prepared.chunks_uploaded, 0, "switching modes restyles, it does not rebuild: {prepared:?}");
    let lines = cmp.lines();
    let overlay = Overlay {
        scale: 1.0,
        panels: vec![Panel {
            x: 4.0,
            y: H as f32 - 22.0 - 10.0 * lines.len() as f32 - 4.0,
            title: Some("Scenario".into()),
            lines,
        }],
        ..Default::default()
    };
    let lighting = default_lighting(&engine.model, &cam);
    let img = render_image(&mut engine, &cam, &lighting, Some(&overlay), W, H).expect("render");
    support::assert_golden("scenario_difference", &img.image, 0.01);
    let _ = std::fs::remove_dir_all(&dir);
}
