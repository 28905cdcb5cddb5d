//! Scripted input through the viewer's own core, offscreen on lavapipe
//! (`urbis view --script FILE --offscreen` runs exactly this):
//! - clicks pick what an exact CPU ray cast through the same pixels hits;
//! - a search and its "fly to" land on the feature the query's conditions
//!   select (checked on the attributes in the test), and a click at the
//!   screen centre then picks it;
//! - measured height, distance and area snap to the building's vertices
//!   and agree with its CPU mesh within 1 cm (1 cm² for the area);
//! - golden `measure_distance_area.png` (looked at) shows the figures.

mod support;

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use urbis_engine::script::Script;
use urbis_engine::{GeodeticPose, ViewOptions, ViewerEvent, run_offscreen};
use urbis_model::{AttributeValue, Attributes, CityModel, FeatureId, GeometryHandle, MeshStore, PartOf, Placement};
use urbis_render::Camera;

const W: u32 = 800;
const H: u32 = 600;

fn options(camera: &Camera, script: &str) -> ViewOptions {
    ViewOptions {
        camera: Some(GeodeticPose::from_camera(camera)),
        fov_deg: Some(camera.fov_y.to_degrees()),
        script: Some(Script::parse(script, std::path::Path::new("test.jsonl")).expect("script")),
        ..Default::default()
    }
}

fn guid(model: &CityModel, e: Entity) -> String {
    model.world.get::<FeatureId>(e).expect("id").guid.clone()
}

/// The feature an exact CPU ray through pixel (x, y) meets first, as its building.
fn cpu_hit(model: &CityModel, camera: &Camera, x: f64, y: f64) -> Option<Entity> {
    let (origin, dir) = camera.pixel_ray(x, y, W, H);
    let f = model.frame();
    let hit =
        model.spatial().ray_cast(&model.world, f.ecef_to_enu(origin), f.enu_to_ecef_rot.transpose() * dir, 1e5)?;
    Some(model.world.get::<PartOf>(hit.entity).map_or(hit.entity, |p| p.0))
}

#[test]
fn clicks_pick_what_a_cpu_ray_hits() {
    let model = support::sample_city();
    let b = model.bounds();
    let centre = (b.min + b.max) / 2.0;
    let camera =
        support::enu_camera(&model, centre + DVec3::new(-150.0, -420.0, 330.0), DVec3::new(centre.x, centre.y, 0.0));
    // Pixels in the open 3D view (clear of the panels) where the CPU ray and
    // its neighbours 3 px away agree on a feature: the picks' reference.
    let mut chosen = Vec::new();
    'grid: for gy in 0..6 {
        for gx in 0..6 {
            let (x, y) = (260.0 + gx as f64 * 45.0 + 0.5, 90.0 + gy as f64 * 70.0 + 0.5);
            let Some(e) = cpu_hit(&model, &camera, x, y) else { continue };
            let around = [(3.0, 0.0), (-3.0, 0.0), (0.0, 3.0), (0.0, -3.0)];
            if around.iter().all(|(dx, dy)| cpu_hit(&model, &camera, x + dx, y + dy) == Some(e))
                && !chosen.iter().any(|(_, _, c)| *c == e)
            {
                chosen.push((x, y, e));
                if chosen.len() == 6 {
                    break 'grid;
                }
            }
        }
    }
    assert!(chosen.len() >= 4, "the view shows at least four distinct features ({})", chosen.len());
    let mut script = String::new();
    for (i, (x, y, _)) in chosen.iter().enumerate() {
        script.push_str(&format!("{{\"frame\": {}, \"do\": \"click\", \"x\": {x}, \"y\": {y}}}\n", 2 + 2 * i));
    }
    let want: Vec<String> = chosen.iter().map(|(_, _, e)| guid(&model, *e)).collect();
    let Some(engine) = support::engine(model) else { return };
    let summary = run_offscreen(engine, options(&camera, &script), None, (W, H)).expect("run");
    let picked: Vec<Option<String>> = summary
        .events
        .iter()
        .filter_map(|e| match e {
            ViewerEvent::Pick { selected, .. } => Some(selected.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(picked.len(), want.len(), "one pick per click: {:?}", summary.events);
    for (got, want) in picked.iter().zip(&want) {
        assert_eq!(got.as_deref(), Some(want.as_str()));
    }
}

#[test]
fn search_flies_to_the_hit_and_the_centre_picks_it() {
    let model = support::sample_city();
    // The query's reference, on the attributes: offices taller than 40 m.
    let mut q = model.world.try_query::<(Entity, &Attributes)>().expect("query");
    let offices: Vec<Entity> = q
        .iter(&model.world)
        .filter(|(_, a)| {
            a.get("use").and_then(AttributeValue::as_str) == Some("office")
                && a.get("height").and_then(AttributeValue::as_f64).is_some_and(|h| h > 40.0)
        })
        .map(|(e, _)| e)
        .collect();
    assert!(!offices.is_empty());
    let camera = urbis_engine::default_camera(&model);
    let script = format!(
        "{{\"frame\": 1, \"do\": \"search\", \"query\": \"use = office and height > 40\"}}\n\
         {{\"frame\": 2, \"do\": \"fly_to\", \"hit\": 0}}\n\
         {{\"frame\": 4, \"do\": \"click\", \"x\": {}, \"y\": {}}}\n",
        f64::from(W) / 2.0,
        f64::from(H) / 2.0
    );
    let guids: Vec<String> = offices.iter().map(|e| guid(&model, *e)).collect();
    let Some(engine) = support::engine(model) else { return };
    let summary = run_offscreen(engine, options(&camera, &script), None, (W, H)).expect("run");
    let hits = summary.events.iter().find_map(|e| match e {
        ViewerEvent::Search { hits, .. } => Some(*hits),
        _ => None,
    });
    assert_eq!(hits, Some(offices.len().min(200)), "the search lists what the conditions select");
    let flown = summary.events.iter().find_map(|e| match e {
        ViewerEvent::FlyTo { feature_id, .. } => feature_id.clone(),
        _ => None,
    });
    let flown = flown.expect("the viewer flew to a hit");
    assert!(guids.contains(&flown), "{flown} is an office over 40 m");
    let centre = summary.events.iter().find_map(|e| match e {
        ViewerEvent::Pick { selected, .. } => Some(selected.clone()),
        _ => None,
    });
    assert_eq!(centre, Some(Some(flown)), "after the fly-to, the screen centre shows the hit");
}

const LON: f64 = 116.39;
const LAT: f64 = 39.9;

/// One 40 m × 20 m building, 30 m tall, at (LON, LAT).
fn building_scene() -> CityModel {
    let dir = std::env::temp_dir().join(format!("urbis-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (mx, my) = (111_320.0 * LAT.to_radians().cos(), 111_320.0);
    let c = |x: f64, y: f64| [LON + x / mx, LAT + y / my];
    let ring = [c(-20.0, -10.0), c(20.0, -10.0), c(20.0, 10.0), c(-20.0, 10.0), c(-20.0, -10.0)];
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "block", "height": 30.0}, "geometry": {"type": "Polygon", "coordinates": [ring]}},
    ]});
    let path = dir.join("block.geojson");
    std::fs::write(&path, doc.to_string()).expect("write");
    let model = urbis_model::open_city(std::slice::from_ref(&path)).expect("load").0;
    std::fs::remove_dir_all(&dir).ok();
    model
}

/// The building's mesh vertices in the city frame (ENU), read from the CPU mesh.
fn cpu_vertices(model: &CityModel) -> Vec<DVec3> {
    let store = model.world.resource::<MeshStore>();
    let mut q = model.world.try_query::<(&GeometryHandle, &Placement)>().expect("query");
    let mut out = Vec::new();
    for (g, p) in q.iter(&model.world) {
        let mesh = store.get(g.mesh).expect("mesh");
        out.extend(mesh.vertices.iter().map(|v| p.enu + v.position.as_dvec3()));
    }
    out
}

fn nearest(vertices: &[DVec3], p: DVec3) -> DVec3 {
    vertices.iter().copied().min_by(|a, b| (*a - p).length().total_cmp(&(*b - p).length())).expect("vertices")
}

/// The building scene's CPU mesh and the view both tool tests click in.
struct Block {
    vertices: Vec<DVec3>,
    site: DVec3,
    base: f64,
    top: f64,
    camera: Camera,
}

impl Block {
    fn of(model: &CityModel) -> Block {
        let site = model.frame().geodetic_to_enu(urbis_geo::Geodetic::new(LON, LAT, 0.0));
        let vertices = cpu_vertices(model);
        let base = vertices.iter().map(|v| v.z).fold(f64::INFINITY, f64::min);
        let top = vertices.iter().map(|v| v.z).fold(f64::NEG_INFINITY, f64::max);
        let middle = DVec3::new(site.x, site.y, (base + top) / 2.0);
        let camera = support::enu_camera(model, middle + DVec3::new(-55.0, -95.0, 70.0), middle);
        Block { vertices, site, base, top, camera }
    }

    /// The mesh vertex nearest the plan offset (x, y) from the site at height z.
    fn corner(&self, x: f64, y: f64, z: f64) -> DVec3 {
        nearest(&self.vertices, DVec3::new(self.site.x + x, self.site.y + y, z))
    }

    fn middle(&self) -> DVec3 {
        DVec3::new(self.site.x, self.site.y, (self.base + self.top) / 2.0)
    }

    /// A click at frame `f` 4 px from `p` towards the building's middle on
    /// screen: on its surface, so snapping has to find `p`.
    fn click(&self, model: &CityModel, f: usize, p: DVec3) -> String {
        let px = |p: DVec3| urbis_engine::labels::project(model, &self.camera, p, W, H).expect("on screen");
        let ((mx, my, _), (x, y, _)) = (px(self.middle()), px(p));
        let (dx, dy) = (mx - x, my - y);
        let l = dx.hypot(dy);
        let (x, y) = (f64::from(x + dx / l * 4.0), f64::from(y + dy / l * 4.0));
        format!("{{\"frame\": {f}, \"do\": \"click\", \"x\": {x:.2}, \"y\": {y:.2}}}\n")
    }
}

#[test]
fn measurements_snap_to_the_mesh_and_agree_within_a_centimetre() {
    let model = building_scene();
    let block = Block::of(&model);
    let corner = |x, y, z| block.corner(x, y, z);
    let (base, top) = (block.base, block.top);
    let (sw_base, sw_top) = (corner(-20.0, -10.0, base), corner(-20.0, -10.0, top));
    let (se_top, ne_top, nw_top) = (corner(20.0, -10.0, top), corner(20.0, 10.0, top), corner(-20.0, 10.0, top));
    let camera = block.camera;
    // Each click lands 4 px from the corner towards the building's middle, on its surface: snapping finds the corner.
    let click = |f: usize, p: DVec3| block.click(&model, f, p);
    let mut script = String::from("{\"frame\": 1, \"do\": \"tool\", \"tool\": \"height\"}\n");
    script += &click(2, sw_base);
    script += &click(3, sw_top);
    script += "{\"frame\": 4, \"do\": \"tool\", \"tool\": \"distance\"}\n";
    script += &click(5, sw_top);
    script += &click(6, se_top);
    script += "{\"frame\": 7, \"do\": \"tool\", \"tool\": \"area\"}\n";
    for (i, p) in [sw_top, se_top, ne_top, nw_top].into_iter().enumerate() {
        script += &click(8 + i, p);
    }
    script += "{\"frame\": 12, \"do\": \"key\", \"key\": \"Enter\"}\n";
    let shot = std::env::temp_dir().join(format!("urbis-measure-{}.png", std::process::id()));
    script += &format!("{{\"frame\": 14, \"do\": \"screenshot\", \"path\": {:?}}}\n", shot.display().to_string());
    let Some(engine) = support::engine(model) else { return };
    let summary = run_offscreen(engine, options(&camera, &script), None, (W, H)).expect("run");
    let figures: Vec<(String, [f64; 5])> = summary
        .events
        .iter()
        .filter_map(|e| match e {
            ViewerEvent::Measurement { kind, figures, .. } => Some((format!("{kind:?}"), *figures)),
            _ => None,
        })
        .collect();
    assert_eq!(figures.len(), 3, "three measurements finished: {:?}", summary.events);
    let height = sw_top.z - sw_base.z;
    assert!((height - 30.0).abs() < 0.05, "the mesh is the 30 m extrusion ({height})");
    assert_eq!(figures[0].0, "Height");
    assert!((figures[0].1[2] - height).abs() < 0.01, "height {} against the mesh's {height}", figures[0].1[2]);
    assert_eq!(figures[1].0, "Distance");
    let edge = (se_top - sw_top).length();
    assert!((figures[1].1[0] - edge).abs() < 0.01, "distance {} against the mesh's {edge}", figures[1].1[0]);
    assert_eq!(figures[2].0, "Area");
    // Shoelace over the mesh's roof corners.
    let roof = [sw_top, se_top, ne_top, nw_top];
    let twice: f64 = (0..4).map(|i| roof[i].x * roof[(i + 1) % 4].y - roof[(i + 1) % 4].x * roof[i].y).sum();
    let area = twice.abs() / 2.0;
    assert!((area - 800.0).abs() < 1.0, "the roof is about 40 × 20 m ({area})");
    assert!((figures[2].1[3] - area).abs() < 0.01, "area {} against the mesh's {area}", figures[2].1[3]);
    let img = image::open(&shot).expect("screenshot").to_rgba8();
    std::fs::remove_file(&shot).ok();
    support::assert_golden("measure_distance_area", &img, 0.01);
}

/// A comparison of two looks of the city: mode 0 as loaded, mode 1 with
/// every building blue (a stand-in for a scenario's baseline and difference).
struct TwoLooks {
    mode: usize,
}

impl urbis_engine::FrameHook for TwoLooks {
    fn before_frame(&mut self, _model: &mut CityModel) -> Vec<String> {
        Vec::new()
    }

    fn modes(&self) -> Option<(Vec<String>, usize)> {
        Some((vec!["as built".into(), "blue".into()], self.mode))
    }

    fn set_mode(&mut self, i: usize, model: &mut CityModel) {
        self.mode = i;
        let blue = (i == 1).then_some([0.05, 0.2, 0.9, 1.0]);
        let mut q = model.world.query::<(&urbis_model::SemanticClass, &mut urbis_model::FeatureStyle)>();
        for (c, mut s) in q.iter_mut(&mut model.world) {
            if c.name() == "Building" && s.color_override != blue {
                s.color_override = blue;
            }
        }
    }
}

fn fraction_differing(a: &image::RgbaImage, b: &image::RgbaImage, xs: std::ops::Range<u32>) -> f64 {
    let mut n = 0;
    let mut differ = 0;
    for y in 0..a.height() {
        for x in xs.clone() {
            n += 1;
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            if p.0.iter().zip(q.0).take(3).any(|(u, v)| u.abs_diff(v) > 24) {
                differ += 1;
            }
        }
    }
    differ as f64 / n.max(1) as f64
}

/// Swipe: left of the line is the first mode's own frame, right of it the
/// second's, pixel for pixel (one projection cut in two); side by side
/// shows both whole. Golden `swipe_comparison.png` (looked at).
#[test]
fn swipe_shows_each_mode_on_its_side_of_the_line() {
    let model = support::sample_city();
    let camera = urbis_engine::default_camera(&model);
    let dir = std::env::temp_dir().join(format!("urbis-swipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let shot = |n: &str| dir.join(format!("{n}.png")).display().to_string();
    let compare = |layout: &str, split: f32| {
        format!("{{\"layout\": \"{layout}\", \"left\": 0, \"right\": 1, \"split\": {split}}}")
    };
    let script = [
        "{\"frame\": 0, \"do\": \"move\", \"x\": -1, \"y\": -1}".to_string(),
        "{\"frame\": 0, \"do\": \"toggle_ui\"}".into(),
        "{\"frame\": 1, \"do\": \"mode\", \"mode\": 0}".into(),
        format!("{{\"frame\": 2, \"do\": \"screenshot\", \"path\": {:?}}}", shot("a")),
        "{\"frame\": 3, \"do\": \"mode\", \"mode\": 1}".into(),
        format!("{{\"frame\": 4, \"do\": \"screenshot\", \"path\": {:?}}}", shot("b")),
        "{\"frame\": 5, \"do\": \"mode\", \"mode\": 0}".into(),
        format!("{{\"frame\": 5, \"do\": \"compare\", \"compare\": {}}}", compare("swipe", 0.4)),
        format!("{{\"frame\": 6, \"do\": \"screenshot\", \"path\": {:?}}}", shot("swipe")),
        format!("{{\"frame\": 7, \"do\": \"compare\", \"compare\": {}}}", compare("side_by_side", 0.4)),
        format!("{{\"frame\": 8, \"do\": \"screenshot\", \"path\": {:?}}}", shot("sbs")),
        "{\"frame\": 9, \"do\": \"toggle_ui\"}".into(),
        // With the panels: the line right of the layers panel.
        format!("{{\"frame\": 9, \"do\": \"compare\", \"compare\": {}}}", compare("swipe", 0.72)),
        format!("{{\"frame\": 11, \"do\": \"screenshot\", \"path\": {:?}}}", shot("golden")),
    ]
    .join("\n");
    let Some(engine) = support::engine(model) else { return };
    let (w, h) = (480, 320);
    run_offscreen(engine, options(&camera, &script), Some(Box::new(TwoLooks { mode: 0 })), (w, h)).expect("run");
    let open = |n: &str| image::open(shot(n)).expect("shot").to_rgba8();
    let (a, b, swipe, sbs) = (open("a"), open("b"), open("swipe"), open("sbs"));
    let split = (0.4 * w as f32).round() as u32;
    assert!(fraction_differing(&a, &b, 0..w) > 0.02, "the two modes look different");
    assert!(fraction_differing(&swipe, &a, 0..split) < 0.002, "left of the line: mode 0");
    assert!(fraction_differing(&swipe, &b, split..w) < 0.002, "right of the line: mode 1");
    assert!(fraction_differing(&swipe, &a, split..w) > 0.02, "right of the line is not mode 0");
    // Side by side: two whole views at half the width, so neither half is a cut of the full frame.
    assert!(fraction_differing(&sbs, &a, 0..w / 2) > 0.02 && fraction_differing(&sbs, &swipe, 0..w) > 0.02);
    support::assert_golden("swipe_comparison", &open("golden"), 0.01);
    std::fs::remove_dir_all(&dir).ok();
}

/// The flatten tool: clicks make a polygon, Enter presses photo meshes
/// down inside it to its lowest clicked point (here a building's foot,
/// from the CPU mesh).
#[test]
fn the_flatten_tool_takes_a_polygon_down_to_its_lowest_point() {
    let model = building_scene();
    let block = Block::of(&model);
    let (base, top) = (block.base, block.top);
    let points = [(-20.0, base), (20.0, base), (20.0, top), (-20.0, top)].map(|(x, z)| block.corner(x, -10.0, z));
    let camera = block.camera;
    let mut script = String::from("{\"frame\": 1, \"do\": \"tool\", \"tool\": \"flatten\"}\n");
    for (i, p) in points.iter().enumerate() {
        script += &block.click(&model, 2 + i, *p);
    }
    script += "{\"frame\": 7, \"do\": \"key\", \"key\": \"Enter\"}\n";
    let Some(engine) = support::engine(model) else { return };
    let summary = run_offscreen(engine, options(&camera, &script), None, (W, H)).expect("run");
    let flat: Vec<(usize, f64)> = summary
        .events
        .iter()
        .filter_map(|e| match e {
            ViewerEvent::Flatten { ring, height, .. } => Some((ring.len(), *height)),
            _ => None,
        })
        .collect();
    assert_eq!(flat.len(), 1, "{:?}", summary.events);
    assert_eq!(flat[0].0, 4);
    assert!((flat[0].1 - base).abs() < 0.01, "down to the foot {base}, not {}", flat[0].1);
}
