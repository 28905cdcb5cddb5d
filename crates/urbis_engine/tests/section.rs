//! Sections (lavapipe): a clipping plane through a lone box building and a
//! section box through the sample city, checked against geometry computed
//! here, plus a golden image of capped cuts seen at an oblique angle.

mod support;

use std::collections::HashMap;

use bevy_ecs::prelude::*;
use glam::{DMat3, DVec3};
use urbis_engine::{Engine, labels::project, render_image, render_image_tiled};
use urbis_model::{Bounds, CityModel, FeatureId, GeometryHandle, SemanticClass};
use urbis_render::{Camera, Section, SectionStyle};

const W: u32 = 320;
const H: u32 = 240;
const LON: f64 = 4.9;
const LAT: f64 = 52.37;

/// A 40 m × 40 m × 30 m box building, alone, and its footprint centre (ENU, ground).
fn lone_building() -> Option<(Engine, DVec3)> {
    let dir = std::env::temp_dir().join(format!("urbis-section-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (dlat, dlon) = (20.0 / 111_320.0, 20.0 / (111_320.0 * LAT.to_radians().cos()));
    let ring = serde_json::json!([[
        [LON - dlon, LAT - dlat],
        [LON + dlon, LAT - dlat],
        [LON + dlon, LAT + dlat],
        [LON - dlon, LAT + dlat],
        [LON - dlon, LAT - dlat]
    ]]);
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "block", "height": 30.0}, "geometry": {"type": "Polygon", "coordinates": ring}},
    ]});
    let path = dir.join("block.geojson");
    std::fs::write(&path, doc.to_string()).expect("write");
    let (model, _) = urbis_model::open_city(&[path]).expect("load");
    let _ = std::fs::remove_dir_all(&dir);
    let engine = support::engine(model)?;
    let site = engine.model.frame().geodetic_to_enu(urbis_geo::Geodetic::new(LON, LAT, 0.0));
    Some((engine, DVec3::new(site.x, site.y, 0.0)))
}

/// The cap colour after lighting and tone mapping: clearly red, not the grey roofs and walls.
fn is_cap(p: &image::Rgba<u8>) -> bool {
    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    r > g + 40 && r > b + 80
}

fn cap_pixels(img: &image::RgbaImage) -> Vec<(u32, u32)> {
    img.enumerate_pixels().filter(|(_, _, p)| is_cap(p)).map(|(x, y, _)| (x, y)).collect()
}

/// The corners of the building's 40 m square at height `z`, projected (pixels).
fn square_at(engine: &Engine, camera: &Camera, centre: DVec3, z: f64) -> Vec<(f64, f64)> {
    [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .map(|(sx, sy)| {
            let p = DVec3::new(centre.x + sx * 20.0, centre.y + sy * 20.0, z);
            let (x, y, _) = project(&engine.model, camera, p, W, H).expect("corner on screen");
            (f64::from(x), f64::from(y))
        })
        .collect()
}

/// Signed area (pixels²) of a polygon.
fn quad_area(q: &[(f64, f64)]) -> f64 {
    (0..q.len()).map(|i| q[i].0 * q[(i + 1) % q.len()].1 - q[(i + 1) % q.len()].0 * q[i].1).sum::<f64>() / 2.0
}

/// Whether a point lies in a convex polygon grown by `margin` pixels.
fn in_quad(q: &[(f64, f64)], x: f64, y: f64, margin: f64) -> bool {
    let sign = quad_area(q).signum();
    (0..q.len()).all(|i| {
        let (a, b) = (q[i], q[(i + 1) % q.len()]);
        let (ex, ey) = (b.0 - a.0, b.1 - a.1);
        let cross = ex * (y - a.1) - ey * (x - a.0);
        sign * cross / ex.hypot(ey) >= -margin
    })
}

fn the_building(model: &mut CityModel) -> Entity {
    let mut q = model.world.query_filtered::<(Entity, &SemanticClass), With<GeometryHandle>>();
    let v: Vec<Entity> = q.iter(&model.world).filter(|(_, c)| c.is_building_or_part()).map(|(e, _)| e).collect();
    assert_eq!(v.len(), 1, "one building");
    v[0]
}

#[test]
fn clipping_plane_caps_a_building_at_the_cut_height() {
    let Some((mut engine, centre)) = lone_building() else { return };
    let building = the_building(&mut engine.model);
    let frame = *engine.model.frame();
    let up = frame.enu_to_ecef_rot.z_axis;
    let plane = Section::Plane { point: frame.enu_to_ecef(centre + DVec3::new(0.0, 0.0, 15.0)), normal: -up };
    let camera = support::enu_camera(&engine.model, centre + DVec3::new(0.0, 0.0, 110.0), centre);
    let lighting = support::enu_lighting(&engine.model);

    // Without a section: the grey roof, no cap colour.
    let whole = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
    assert!(cap_pixels(&whole.image).is_empty(), "the roof is not the cap colour");
    let roof = whole.image.get_pixel(W / 2, H / 2);

    engine.set_section(Some(SectionStyle::new(plane)));
    assert_eq!(engine.section().map(|s| s.section), Some(plane));
    let cut = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
    let caps = cap_pixels(&cut.image);
    let centre_px = cut.image.get_pixel(W / 2, H / 2);
    assert!(is_cap(centre_px), "the centre shows the cap ({centre_px:?}), not the roof ({roof:?})");

    // The capped region is the 40 m square at 15 m, not at 30 m (nearer, so larger).
    let bbox = |q: &[(f64, f64)]| {
        let xs = q.iter().map(|p| p.0);
        let ys = q.iter().map(|p| p.1);
        [
            xs.clone().fold(f64::MAX, f64::min),
            xs.fold(f64::MIN, f64::max),
            ys.clone().fold(f64::MAX, f64::min),
            ys.fold(f64::MIN, f64::max),
        ]
    };
    let px: Vec<(f64, f64)> = caps.iter().map(|&(x, y)| (f64::from(x), f64::from(y))).collect();
    let mut measured = bbox(&px);
    measured[1] += 1.0; // the far pixel edges
    measured[3] += 1.0;
    let at_cut = bbox(&square_at(&engine, &camera, centre, 15.0));
    let at_roof = bbox(&square_at(&engine, &camera, centre, 30.0));
    println!("cap pixels {measured:?}; square at 15 m {at_cut:?}, at 30 m {at_roof:?}");
    for i in 0..4 {
        assert!((measured[i] - at_cut[i]).abs() <= 2.0, "edge {i}: {} vs {} at 15 m", measured[i], at_cut[i]);
        assert!((at_roof[i] - at_cut[i]).abs() > 4.0, "edge {i}: 15 m and 30 m must be told apart");
    }

    // Picking the cap picks the building.
    assert_eq!(engine.pick(W / 2, H / 2).expect("pick"), Some(building));

    // At an oblique angle the cap fills the cut square and stays inside it:
    // no cap colour spills onto the walls below the cut.
    let oblique =
        support::enu_camera(&engine.model, centre + DVec3::new(-60.0, -90.0, 70.0), centre + DVec3::new(0.0, 0.0, 8.0));
    let img = render_image(&mut engine, &oblique, &lighting, None, W, H).expect("render");
    let quad = square_at(&engine, &oblique, centre, 15.0);
    let caps = cap_pixels(&img.image);
    let outside = caps.iter().filter(|&&(x, y)| !in_quad(&quad, f64::from(x) + 0.5, f64::from(y) + 0.5, 1.5)).count();
    let area = quad_area(&quad).abs();
    println!(
        "oblique: {} cap pixels, the cut square covers {area:.0} px², {outside} cap pixels outside it",
        caps.len()
    );
    assert_eq!(outside, 0, "cap colour outside the cut square");
    assert!((caps.len() as f64) > 0.85 * area && (caps.len() as f64) < 1.1 * area, "the cut square is filled");
    // The walls below the cut are still drawn (front faces, not caps).
    let wall = project(&engine.model, &oblique, centre + DVec3::new(0.0, -20.0, 6.0), W, H).expect("wall on screen");
    let wall_px = img.image.get_pixel(wall.0 as u32, wall.1 as u32);
    assert!(!is_cap(wall_px), "the wall below the cut is not capped: {wall_px:?}");
    assert_eq!(engine.pick(wall.0 as u32, wall.1 as u32).expect("pick"), Some(building));

    // Switching the section off restores the original frame.
    engine.set_section(None);
    let again = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
    assert_eq!(again.image, whole.image);
}

/// A section box around the sample city's tallest building (or part),
/// turned 25° about the vertical, from below the ground to 55 % of the
/// tower's height: the section, its ENU centre, axes and half extents, and the tower.
struct SampleBox {
    section: Section,
    centre: DVec3,
    axes: DMat3,
    half: DVec3,
    tower: (Entity, Bounds),
}

fn sample_box(model: &mut CityModel) -> SampleBox {
    let mut q = model.world.query_filtered::<(Entity, &SemanticClass, &Bounds), With<GeometryHandle>>();
    let tower = q
        .iter(&model.world)
        .filter(|(_, c, _)| c.is_building_or_part())
        .map(|(e, _, b)| (e, *b))
        .max_by(|a, b| a.1.max.z.total_cmp(&b.1.max.z))
        .expect("buildings");
    let t = tower.1;
    let (bottom, top) = (model.bounds().min.z - 5.0, t.min.z + 0.55 * (t.max.z - t.min.z));
    let centre = DVec3::new(t.center().x + 30.0, t.center().y + 10.0, (bottom + top) / 2.0);
    let axes = DMat3::from_rotation_z(25f64.to_radians());
    let half = DVec3::new(110.0, 80.0, (top - bottom) / 2.0);
    let f = model.frame();
    let section = Section::Box { centre: f.enu_to_ecef(centre), axes: f.enu_to_ecef_rot * axes, half };
    SampleBox { section, centre, axes, half, tower }
}

fn sample_box_camera(model: &CityModel, centre: DVec3) -> Camera {
    support::enu_camera(model, centre + DVec3::new(-150.0, -235.0, 165.0), centre - DVec3::new(0.0, 0.0, 20.0))
}

/// Whether ENU bounds reach into the box (separating axes of the box and the bounds' box).
fn touches_box(b: &Bounds, centre: DVec3, axes: DMat3, half: DVec3) -> bool {
    let (bc, bh) = (b.center(), b.size() / 2.0);
    let d = bc - centre;
    let world = [DVec3::X, DVec3::Y, DVec3::Z];
    let box_axes = [axes.x_axis, axes.y_axis, axes.z_axis];
    let mut tests: Vec<DVec3> = world.to_vec();
    tests.extend(box_axes);
    for a in world {
        for b in box_axes {
            let c = a.cross(b);
            if c.length() > 1e-9 {
                tests.push(c);
            }
        }
    }
    tests.iter().all(|t| {
        let rb = bh.x * t.x.abs() + bh.y * t.y.abs() + bh.z * t.z.abs();
        let rbox = (0..3).map(|i| half[i] * box_axes[i].dot(*t).abs()).sum::<f64>();
        d.dot(*t).abs() <= rb + rbox
    })
}

/// The distances (metres) at which a ray (ENU) enters and leaves the box, if it meets it.
fn ray_box(o: DVec3, d: DVec3, centre: DVec3, axes: DMat3, half: DVec3) -> Option<(f64, f64)> {
    let (mut near, mut far) = (f64::MIN, f64::MAX);
    for a in 0..3 {
        let (oc, dd) = (axes.col(a).dot(o - centre), axes.col(a).dot(d));
        if dd.abs() < 1e-12 {
            if oc.abs() > half[a] {
                return None;
            }
            continue;
        }
        let (t0, t1) = ((-half[a] - oc) / dd, (half[a] - oc) / dd);
        near = near.max(t0.min(t1));
        far = far.min(t0.max(t1));
    }
    (near <= far && far > 0.0).then_some((near, far))
}

#[test]
fn section_box_keeps_only_what_is_inside() {
    let mut model = support::sample_city();
    let SampleBox { section, centre, axes, half, .. } = sample_box(&mut model);
    let mut q = model.world.query::<(&FeatureId, &Bounds)>();
    let bounds: Vec<(u32, Bounds)> = q.iter(&model.world).map(|(f, b)| (f.index, *b)).collect();
    let Some(mut engine) = support::engine(model) else { return };
    let camera = sample_box_camera(&engine.model, centre);
    let lighting = support::enu_lighting(&engine.model);
    let render = |engine: &mut Engine| -> (image::RgbaImage, Vec<u32>) {
        let img = render_image(engine, &camera, &lighting, None, W, H).expect("render").image;
        (img, engine.renderer.feature_ids(&engine.ctx).expect("ids").0)
    };
    let pixels_of = |ids: &[u32]| {
        let mut m = HashMap::<u32, usize>::new();
        for &i in ids.iter().filter(|&&i| i != 0) {
            *m.entry(i).or_default() += 1;
        }
        m
    };
    let touches = |i: u32| bounds.iter().filter(|(k, _)| *k == i).any(|(_, b)| touches_box(b, centre, axes, half));
    // Well outside: bounds at least 30 m clear of the box (its half extents grown by 30 m).
    let clear =
        |i: u32| bounds.iter().filter(|(k, _)| *k == i).all(|(_, b)| !touches_box(b, centre, axes, half + 30.0));

    let (_, whole_ids) = render(&mut engine);
    let whole = pixels_of(&whole_ids);
    let inside: Vec<u32> = whole.keys().copied().filter(|&i| touches(i)).collect();
    let outside: Vec<(u32, usize)> = whole.iter().map(|(&i, &n)| (i, n)).filter(|&(i, _)| clear(i)).collect();
    let (biggest, biggest_px) = outside.iter().copied().max_by_key(|&(_, n)| n).expect("features outside the box");
    println!(
        "unsectioned: {} features, {} touch the box, {} well outside (the largest, {biggest}, covers {biggest_px} px)",
        whole.len(),
        inside.len(),
        outside.len()
    );
    assert!(inside.len() >= 5 && outside.len() >= 20, "the frame shows features on both sides of the box");

    engine.set_section(Some(SectionStyle::new(section)));
    let (img, cut_ids) = render(&mut engine);
    let cut = pixels_of(&cut_ids);
    assert!(!cut.contains_key(&biggest), "feature {biggest}, well outside the box, is still drawn");
    // Nothing outside the box is drawn, but for rare single pixels where a
    // back face beyond the box has no front face before it (sub-pixel or
    // open geometry), which pass for caps of a solid crossing the box.
    let strays: Vec<(u32, usize)> = cut.iter().map(|(&i, &n)| (i, n)).filter(|&(i, _)| !touches(i)).collect();
    let stray_px: usize = strays.iter().map(|s| s.1).sum();
    println!("sectioned: {} features; strays {strays:?}", cut.len());
    assert!(strays.iter().all(|s| s.1 <= 2) && stray_px <= 12, "features outside the box still drawn: {strays:?}");
    let kept = inside.iter().filter(|i| cut.contains_key(i)).count();
    assert!(kept * 10 >= inside.len() * 8, "only {kept} of the {} features in the box drawn", inside.len());

    // Pixels whose ray misses the box (grown by 1 m) show nothing: sky, no feature.
    let frame = *engine.model.frame();
    let (mut missing, mut were_drawn) = (0, 0);
    for y in 0..H {
        for x in 0..W {
            let (o, d) = camera.pixel_ray(f64::from(x) + 0.5, f64::from(y) + 0.5, W, H);
            let (o, d) = (frame.ecef_to_enu(o), frame.enu_to_ecef_rot.transpose() * d);
            if ray_box(o, d, centre, axes, half + 1.0).is_some() {
                continue;
            }
            missing += 1;
            let k = (y * W + x) as usize;
            were_drawn += usize::from(whole_ids[k] != 0);
            assert_eq!(cut_ids[k], 0, "pixel {x},{y} misses the box but shows feature {}", cut_ids[k]);
            assert!(!is_cap(img.get_pixel(x, y)), "pixel {x},{y} misses the box but is capped");
        }
    }
    println!("{missing} pixels miss the box; {were_drawn} of them showed a feature without the section");
    assert!(missing > (W * H / 3) as usize && were_drawn > missing / 3, "the check covers drawn pixels");
}

#[test]
fn section_box_golden() {
    let mut model = support::sample_city();
    let SampleBox { section, centre, half, tower: (tower, t), .. } = sample_box(&mut model);
    let Some(mut engine) = support::engine(model) else { return };
    let camera = sample_box_camera(&engine.model, centre);
    let lighting = urbis_engine::default_lighting(&engine.model, &camera);
    engine.set_section(Some(SectionStyle::new(section)));
    let img = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
    // The tower's cap at the box's top: capped, and it picks the tower.
    let cut = DVec3::new(t.center().x, t.center().y, centre.z + half.z);
    let (x, y, _) = project(&engine.model, &camera, cut, W, H).expect("the cut on screen");
    let p = img.image.get_pixel(x as u32, y as u32);
    assert!(is_cap(p), "the tower's cut at {:.1} m is capped: {p:?}", cut.z);
    assert_eq!(engine.pick(x as u32, y as u32).expect("pick"), Some(tower));
    // Tolerance: at most 1 % of the pixels off by more than 24 levels (see support).
    support::assert_golden("section_box", &img.image, 0.01);
    // Tiles (crops of the frame) cut and cap the same: the cut follows each pixel's ray.
    let tiled = render_image_tiled(&mut engine, &camera, &lighting, None, W, H, 128).expect("render tiles");
    let (frac, mean) = support::image_difference(&tiled.image, &img.image, 24);
    println!("tiled vs whole: {:.4} % of pixels differ, mean {mean:.3}", frac * 100.0);
    assert!(frac < 0.002 && mean < 0.5, "tiles differ: {:.3} % of pixels, mean {mean:.2}", frac * 100.0);
}
