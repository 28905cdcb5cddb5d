//! See-through features (X-ray) on lavapipe: a grey building in front of a
//! red one, on a slab, seen from the south; the grey one half covers the
//! red one and half the sky beyond the slab.
//!
//! The expected colour of a see-through pixel comes from two opaque renders
//! made here: the front building opaque (its colour `F` where it is in
//! front) and the front building hidden (`B`, what is behind it). Blending
//! happens in the linear HDR colour target, before the composite's tone
//! map (ACES of 0.9·x) and sRGB encoding, so neither 8-bit value can be
//! blended directly: each is taken back through the inverse of the sRGB
//! encoding and of the tone curve to the HDR colour, blended there as
//! `o·F + (1 − o)·B` for opacity `o`, and sent forward again. The same
//! holds where `B` is the sky: the composite lays the sky under the
//! see-through coverage (`rgb + sky·(1 − a)`).

mod support;

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use urbis_engine::{Engine, render_image};
use urbis_model::{Attributes, FeatureId, FeatureStyle};
use urbis_render::{Camera, Lighting, Section, SectionStyle};

const LON: f64 = 4.9;
const LAT: f64 = 52.37;
const W: u32 = 320;
const H: u32 = 240;

/// A rectangle centred (cx, cy) metres from the site, half sizes hx, hy.
fn rect(cx: f64, cy: f64, hx: f64, hy: f64) -> serde_json::Value {
    let m_lat = 111_320.0;
    let m_lon = 111_320.0 * LAT.to_radians().cos();
    let (x0, x1) = (LON + (cx - hx) / m_lon, LON + (cx + hx) / m_lon);
    let (y0, y1) = (LAT + (cy - hy) / m_lat, LAT + (cy + hy) / m_lat);
    serde_json::json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]])
}

struct Scene {
    engine: Engine,
    front: Entity,
    back: Entity,
    camera: Camera,
    /// The site's ENU position at the ground.
    site: DVec3,
}

fn scene() -> Option<Scene> {
    let dir = std::env::temp_dir().join(format!("urbis-transparency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let feature = |name: &str, height: f64, ring: serde_json::Value| {
        serde_json::json!({"type": "Feature", "properties": {"name": name, "height": height},
                           "geometry": {"type": "Polygon", "coordinates": ring}})
    };
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        feature("slab", 0.2, rect(0.0, 25.0, 70.0, 75.0)),
        feature("front", 20.0, rect(-12.0, 0.0, 10.0, 10.0)),
        feature("back", 40.0, rect(0.0, 60.0, 15.0, 15.0)),
    ]});
    let path = dir.join("pair.geojson");
    std::fs::write(&path, doc.to_string()).expect("write");
    let (mut model, _) = urbis_model::open_city(&[path]).expect("load");
    let _ = std::fs::remove_dir_all(&dir);
    let mut named = |want: &str, colour: [f32; 4]| {
        let mut q = model.world.query::<(Entity, &Attributes, &mut FeatureStyle)>();
        let mut found = None;
        for (e, a, mut s) in q.iter_mut(&mut model.world) {
            if a.str("name") == Some(want) {
                s.color_override = Some(colour);
                found = Some(e);
            }
        }
        found.unwrap_or_else(|| panic!("no {want}"))
    };
    let front = named("front", [0.45, 0.45, 0.45, 1.0]);
    let back = named("back", [0.75, 0.06, 0.04, 1.0]);
    let engine = support::engine(model)?;
    let site = engine.model.frame().geodetic_to_enu(urbis_geo::Geodetic::new(LON, LAT, 0.0));
    let o = DVec3::new(site.x, site.y, 0.0);
    let camera = support::enu_camera(&engine.model, o + DVec3::new(0.0, -120.0, 30.0), o + DVec3::new(0.0, 30.0, 15.0));
    Some(Scene { engine, front, back, camera, site: o })
}

fn set_opacity(engine: &mut Engine, e: Entity, opacity: f32) {
    engine.model.world.get_mut::<FeatureStyle>(e).expect("style").opacity = opacity;
}

fn set_visible(engine: &mut Engine, e: Entity, visible: bool) {
    engine.model.world.get_mut::<FeatureStyle>(e).expect("style").visible = visible;
}

/// Renders, returning the image and the feature index of every pixel.
fn render(s: &mut Scene, lighting: &Lighting) -> (image::RgbaImage, Vec<u32>) {
    let img = render_image(&mut s.engine, &s.camera, lighting, None, W, H).expect("render").image;
    let (ids, ..) = s.engine.renderer.feature_ids(&s.engine.ctx).expect("ids");
    (img, ids)
}

fn index(engine: &Engine, e: Entity) -> u32 {
    engine.model.world.get::<FeatureId>(e).expect("id").index
}

// The composite's tone curve (ACES, Narkowicz) and sRGB encoding, and their inverses.
const A: f64 = 2.51;
const B: f64 = 0.03;
const C: f64 = 2.43;
const D: f64 = 0.59;
const E: f64 = 0.14;

fn aces(x: f64) -> f64 {
    ((x * (A * x + B)) / (x * (C * x + D) + E)).clamp(0.0, 1.0)
}

/// Solves y·(C x² + D x + E) = A x² + B x for x ≥ 0.
fn aces_inverse(y: f64) -> f64 {
    let (a, b, c) = (A - C * y, B - D * y, -E * y);
    (-b + (b * b - 4.0 * a * c).sqrt()) / (2.0 * a)
}

fn srgb_decode(v: f64) -> f64 {
    if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
}

fn srgb_encode(l: f64) -> f64 {
    if l <= 0.003_130_8 { l * 12.92 } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 }
}

/// An output level back to the HDR colour the composite was given.
fn to_hdr(v: u8) -> f64 {
    aces_inverse(srgb_decode(f64::from(v) / 255.0)) / 0.9
}

/// An HDR colour to the output level (unrounded).
fn to_level(x: f64) -> f64 {
    255.0 * srgb_encode(aces(0.9 * x))
}

/// Pixels whose 5 × 5 neighbourhood is all of feature `id` (no outlines, no edges).
fn interior(ids: &[u32], id: u32) -> Vec<bool> {
    let (w, h) = (W as i64, H as i64);
    (0..h * w)
        .map(|k| {
            let (x, y) = (k % w, k / w);
            (-2..=2).all(|dy| {
                (-2..=2).all(|dx| {
                    let (u, v) = (x + dx, y + dy);
                    u >= 0 && v >= 0 && u < w && v < h && ids[(v * w + u) as usize] == id
                })
            })
        })
        .collect()
}

/// Largest channel difference between the see-through pixel and the blend
/// of the two opaque ones at opacity `o`, over `pixels`.
fn worst_blend_error(
    xray: &image::RgbaImage,
    front: &image::RgbaImage,
    behind: &image::RgbaImage,
    o: f64,
    pixels: &[(u32, u32)],
) -> f64 {
    let mut worst: f64 = 0.0;
    for &(x, y) in pixels {
        let (f, b, got) = (front.get_pixel(x, y), behind.get_pixel(x, y), xray.get_pixel(x, y));
        for c in 0..3 {
            let expected = to_level(o * to_hdr(f[c]) + (1.0 - o) * to_hdr(b[c]));
            worst = worst.max((f64::from(got[c]) - expected).abs());
        }
    }
    worst
}

#[test]
fn a_see_through_building_blends_with_what_is_behind_and_picks_through() {
    let Some(mut s) = scene() else { return };
    let (front, back) = (s.front, s.back);
    let (fi, bi) = (index(&s.engine, front), index(&s.engine, back));
    // Shadows off: the front building's shadow (it still casts one) would darken what is behind it.
    let mut lighting = support::enu_lighting(&s.engine.model);
    lighting.shadows = false;

    let (plain, plain_ids) = render(&mut s, &lighting);
    set_visible(&mut s.engine, front, false);
    let (behind, behind_ids) = render(&mut s, &lighting);
    set_visible(&mut s.engine, front, true);

    let in_front = interior(&plain_ids, fi);
    let over_back = interior(&behind_ids, bi);
    let over_sky = interior(&behind_ids, 0);
    let pick = |m: &dyn Fn(usize) -> bool| -> Vec<(u32, u32)> {
        (0..(W * H) as usize).filter(|&k| in_front[k] && m(k)).map(|k| (k as u32 % W, k as u32 / W)).collect()
    };
    let covering_back = pick(&|k| over_back[k]);
    let covering_sky = pick(&|k| over_sky[k]);
    println!("{} pixels of the front over the back, {} over the sky", covering_back.len(), covering_sky.len());
    assert!(covering_back.len() > 300 && covering_sky.len() > 300, "the scene is laid out as intended");

    for o in [0.3, 0.7] {
        set_opacity(&mut s.engine, front, o as f32);
        let (xray, xray_ids) = render(&mut s, &lighting);
        let over_back = worst_blend_error(&xray, &plain, &behind, o, &covering_back);
        let over_sky = worst_blend_error(&xray, &plain, &behind, o, &covering_sky);
        // The same blend of the 8-bit values would be off by far more (tone curve, sRGB).
        let naive = covering_back
            .iter()
            .map(|&(x, y)| {
                let (f, b, g) = (plain.get_pixel(x, y), behind.get_pixel(x, y), xray.get_pixel(x, y));
                (0..3)
                    .map(|c| (o * f64::from(f[c]) + (1.0 - o) * f64::from(b[c]) - f64::from(g[c])).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        println!(
            "opacity {o}: worst error {over_back:.2} levels over the back, {over_sky:.2} over the sky (8-bit blend: {naive:.1})"
        );
        assert!(over_back <= 3.0, "opacity {o}: the blend over the back building is off by {over_back:.2} levels");
        assert!(over_sky <= 3.0, "opacity {o}: the blend over the sky is off by {over_sky:.2} levels");
        assert!(naive > 6.0, "the check tells a linear blend from an 8-bit one");
        // No feature ids for see-through pixels: what is behind answers.
        for &(x, y) in covering_back.iter().chain(&covering_sky) {
            assert_eq!(xray_ids[(y * W + x) as usize], behind_ids[(y * W + x) as usize]);
        }
        let (x, y) = covering_back[covering_back.len() / 2];
        assert_eq!(s.engine.pick(x, y).expect("pick"), Some(back), "picking sees through to the back building");
        let (x, y) = covering_sky[covering_sky.len() / 2];
        assert_eq!(s.engine.pick(x, y).expect("pick"), None, "picking sees through to the sky");
    }

    // Opaque again: exactly the plain frame (the opaque path).
    set_opacity(&mut s.engine, front, 1.0);
    let (again, again_ids) = render(&mut s, &lighting);
    assert!(!s.engine.scene.has_transparency());
    assert!(again == plain && again_ids == plain_ids, "opacity 1 renders the plain frame");

    // Opacity 0: exactly what is behind.
    set_opacity(&mut s.engine, front, 0.0);
    let (gone, gone_ids) = render(&mut s, &lighting);
    assert!(s.engine.scene.has_transparency());
    let differ = gone.pixels().zip(behind.pixels()).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "opacity 0 shows what is behind");
    assert_eq!(gone_ids, behind_ids);

    // Under a section that cuts the front building away, see-through or
    // not, it is gone: the frames agree (and differ from the uncut one).
    let f = *s.engine.model.frame();
    let plane = Section::Plane {
        point: f.enu_to_ecef(s.site + DVec3::new(0.0, 15.0, 0.0)),
        normal: f.enu_to_ecef_rot * DVec3::Y,
    };
    s.engine.set_section(Some(SectionStyle::new(plane)));
    set_opacity(&mut s.engine, front, 0.3);
    let (cut_xray, cut_xray_ids) = render(&mut s, &lighting);
    set_opacity(&mut s.engine, front, 1.0);
    let (cut, cut_ids) = render(&mut s, &lighting);
    s.engine.set_section(None);
    assert!(cut != plain && !cut_ids.contains(&fi), "the section cuts the front building away");
    assert!(cut_xray == cut && cut_xray_ids == cut_ids, "a see-through building cut away is gone too");
    set_opacity(&mut s.engine, front, 0.0);

    // With shadows, a see-through building still casts its shadow: at opacity
    // 0 the frame is the hidden one's but darker where its shadow falls.
    lighting.shadows = true;
    let (shadowed, _) = render(&mut s, &lighting);
    set_opacity(&mut s.engine, front, 1.0);
    set_visible(&mut s.engine, front, false);
    let (unshadowed, _) = render(&mut s, &lighting);
    let luma = |p: &image::Rgba<u8>| p.0[..3].iter().map(|&c| i32::from(c)).sum::<i32>();
    let (mut darker, mut brighter) = (0, 0);
    for (a, b) in shadowed.pixels().zip(unshadowed.pixels()) {
        darker += usize::from(luma(a) + 15 < luma(b));
        brighter += usize::from(luma(a) > luma(b) + 3);
    }
    println!("with shadows at opacity 0: {darker} pixels darker than without the building, {brighter} brighter");
    assert!(darker > 200, "the see-through building casts a shadow");
    assert_eq!(brighter, 0, "and changes nothing else");
}

#[test]
fn xray_golden() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    // Buildings (and so their parts) at opacity 0.25 over the roads, water and ground.
    let mut n = 0;
    let mut q = engine.model.world.query::<(&urbis_model::SemanticClass, &mut FeatureStyle)>();
    for (c, mut s) in q.iter_mut(&mut engine.model.world) {
        if *c == urbis_model::SemanticClass::BUILDING {
            s.opacity = 0.25;
            n += 1;
        }
    }
    assert!(n > 50, "{n} buildings");
    let camera = support::enu_camera(&engine.model, DVec3::new(-330.0, -420.0, 210.0), DVec3::new(60.0, 40.0, 0.0));
    let lighting = urbis_engine::default_lighting(&engine.model, &camera);
    let img = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
    assert!(engine.scene.has_transparency());
    support::assert_golden("xray", &img.image, 0.01);
}
