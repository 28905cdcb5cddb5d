//! Anti-aliasing (FXAA in the composite pass, `Lighting::antialias`) on
//! lavapipe, against an independent reference: the same view rendered
//! without it at 4 × 4 the size and box-filtered down in linear light
//! (decode sRGB, average 16 samples, encode), i.e. 16× supersampling.
//!
//! On the pixels where the aliased frame is far from the reference (edges),
//! the anti-aliased one must be clearly nearer to it; where the aliased
//! frame is flat, anti-aliasing must leave it alone. And every anti-aliased
//! pixel must be a blend of the aliased pixel with one of its four
//! neighbours in the aliased frame (what FXAA does), a selection outline
//! and see-through surfaces included. Golden image of a close view of
//! turned towers against the sky (long diagonal edges), looked at before it
//! was committed.
//!
//! The supersampled reference draws the feature outlines (one pixel wide
//! at any size) a quarter as wide, which no anti-aliasing makes up for: the
//! error left on edges is mostly theirs.

mod support;

use glam::DVec3;
use urbis_engine::{Engine, default_lighting, render_image};
use urbis_model::FeatureStyle;
use urbis_render::Camera;

fn render(engine: &mut Engine, camera: &Camera, antialias: bool, w: u32, h: u32) -> image::RgbaImage {
    let mut lighting = default_lighting(&engine.model, camera);
    lighting.antialias = antialias;
    render_image(engine, camera, &lighting, None, w, h).expect("render").image
}

fn decode(v: u8) -> f64 {
    let c = f64::from(v) / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn encode(l: f64) -> f64 {
    let c = if l <= 0.003_130_8 { l * 12.92 } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 };
    c * 255.0
}

/// Box filter of `s` × `s` blocks in linear light, in levels (0..255, unrounded).
fn downsample(img: &image::RgbaImage, s: u32) -> Vec<[f64; 3]> {
    let (w, h) = (img.width() / s, img.height() / s);
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0.0; 3];
            for j in 0..s {
                for i in 0..s {
                    let p = img.get_pixel(x * s + i, y * s + j);
                    for c in 0..3 {
                        sum[c] += decode(p[c]);
                    }
                }
            }
            out.push(sum.map(|v| encode(v / f64::from(s * s))));
        }
    }
    out
}

/// Mean over channels of |a − b|, and the largest.
fn diff(a: &image::Rgba<u8>, b: &[f64; 3]) -> (f64, f64) {
    let d: Vec<f64> = (0..3).map(|c| (f64::from(a[c]) - b[c]).abs()).collect();
    (d.iter().sum::<f64>() / 3.0, d.iter().copied().fold(0.0, f64::max))
}

/// Whether the 3 × 3 neighbourhood of (x, y) is within 2 levels in every channel.
fn flat(img: &image::RgbaImage, x: u32, y: u32) -> bool {
    (0..3).all(|c| {
        let v: Vec<u8> = (0..9).map(|k| img.get_pixel(x + k % 3 - 1, y + k / 3 - 1)[c]).collect();
        v.iter().max().unwrap_or(&0) - v.iter().min().unwrap_or(&0) <= 2
    })
}

/// Renders the view without and with anti-aliasing and 16× supersampled;
/// checks edges got nearer to the supersampled frame and flat parts stayed.
fn compare_with_supersampling(name: &str, engine: &mut Engine, camera: &Camera, w: u32, h: u32) {
    let off = render(engine, camera, false, w, h);
    let on = render(engine, camera, true, w, h);
    let reference = downsample(&render(engine, camera, false, 4 * w, 4 * h), 4);
    let (mut edges, mut err_off, mut err_on) = (0usize, 0.0, 0.0);
    let (mut flats, mut flat_changed, mut worst_flat) = (0usize, 0usize, 0u8);
    for y in 0..h {
        for x in 0..w {
            let r = &reference[(y * w + x) as usize];
            let (p_off, p_on) = (off.get_pixel(x, y), on.get_pixel(x, y));
            let (mean_off, max_off) = diff(p_off, r);
            if max_off > 20.0 {
                edges += 1;
                err_off += mean_off;
                err_on += diff(p_on, r).0;
            }
            if x > 0 && y > 0 && x + 1 < w && y + 1 < h && flat(&off, x, y) {
                flats += 1;
                let d = (0..3).map(|c| p_off[c].abs_diff(p_on[c])).max().unwrap_or(0);
                worst_flat = worst_flat.max(d);
                flat_changed += usize::from(d > 1);
            }
        }
    }
    let n = f64::from(w * h);
    let (mae_off, mae_on) = (err_off / edges as f64, err_on / edges as f64);
    let reduction = 1.0 - mae_on / mae_off;
    println!(
        "{name}: {edges} edge pixels ({:.1} %): mean error vs 16× supersampling {mae_off:.2} levels aliased, \
         {mae_on:.2} anti-aliased ({:.0} % less); {flats} flat pixels ({:.1} %), largest change {worst_flat}",
        100.0 * edges as f64 / n,
        100.0 * reduction,
        100.0 * flats as f64 / n,
    );
    assert!(edges as f64 > 0.01 * n, "{name}: too few edge pixels ({edges}) for a comparison");
    assert!(reduction >= 0.25, "{name}: anti-aliasing cut the edge error by only {:.0} %", 100.0 * reduction);
    assert!(flats as f64 > 0.2 * n, "{name}: too few flat pixels ({flats})");
    assert_eq!(flat_changed, 0, "{name}: anti-aliasing changed {flat_changed} flat pixels (up to {worst_flat} levels)");
}

/// A box `w` × `d` × `h` m standing at (cx, cy), turned `deg` anticlockwise:
/// a CityJSON solid (untextured: no façade windows) appended to `vertices`.
fn prism(
    vertices: &mut Vec<[f64; 3]>,
    (cx, cy): (f64, f64),
    (w, d, h): (f64, f64, f64),
    deg: f64,
) -> serde_json::Value {
    let (s, c) = deg.to_radians().sin_cos();
    let o = vertices.len();
    for z in [0.0, h] {
        for (u, v) in [(-w, -d), (w, -d), (w, d), (-w, d)] {
            let (u, v) = (u / 2.0, v / 2.0);
            vertices.push([cx + u * c - v * s, cy + u * s + v * c, z]);
        }
    }
    let f = |k: [usize; 4]| serde_json::json!([k.map(|k| k + o)]);
    let faces = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]].map(f);
    serde_json::json!({"type": "GenericCityObject", "geometry": [{"type": "Solid", "lod": "1", "boundaries": [faces]}]})
}

/// Two turned towers and a low block, in flat colours, on a slab, seen
/// from `eye` (city frame, metres) towards `target`.
fn towers(eye: DVec3, target: DVec3) -> Option<(Engine, Camera)> {
    let mut vertices = Vec::new();
    let objects = serde_json::json!({
        "slab": prism(&mut vertices, (0.0, 0.0), (200.0, 200.0, 0.2), 0.0),
        "tower": prism(&mut vertices, (-15.0, 10.0), (18.0, 24.0, 60.0), 27.0),
        "slim": prism(&mut vertices, (22.0, 30.0), (12.0, 30.0, 45.0), -38.0),
        "block": prism(&mut vertices, (5.0, -25.0), (40.0, 10.0, 12.0), 12.0),
    });
    let doc = serde_json::json!({"type": "CityJSON", "version": "2.0",
        "transform": {"scale": [1.0, 1.0, 1.0], "translate": [0.0, 0.0, 0.0]},
        "CityObjects": objects, "vertices": vertices});
    let path = std::env::temp_dir().join(format!("urbis-antialias-{}.city.json", std::process::id()));
    std::fs::write(&path, doc.to_string()).expect("write");
    let (mut model, _) = urbis_model::open_city(std::slice::from_ref(&path)).expect("load");
    let _ = std::fs::remove_file(&path);
    for (guid, colour) in [
        ("slab", [0.30, 0.30, 0.28]),
        ("tower", [0.55, 0.16, 0.08]),
        ("slim", [0.70, 0.74, 0.80]),
        ("block", [0.85, 0.70, 0.20]),
    ] {
        let e = model.features().by_guid(guid).unwrap_or_else(|| panic!("no {guid}"));
        let [r, g, b] = colour;
        model.world.get_mut::<FeatureStyle>(e).expect("style").color_override = Some([r, g, b, 1.0]);
    }
    let engine = support::engine(model)?;
    let camera = support::enu_camera(&engine.model, eye, target);
    Some((engine, camera))
}

#[test]
fn fxaa_brings_edges_towards_supersampling_in_the_sample_city() {
    let Some(mut engine) = support::engine(support::sample_city()) else { return };
    let camera = support::enu_camera(&engine.model, DVec3::new(-520.0, -560.0, 95.0), DVec3::new(80.0, 40.0, 20.0));
    compare_with_supersampling("sample city", &mut engine, &camera, 240, 135);
}

/// From the south-west, a little above the block.
const OBLIQUE: (DVec3, DVec3) = (DVec3::new(-40.0, -95.0, 22.0), DVec3::new(0.0, 10.0, 28.0));
/// From the foot of the towers, looking up: long diagonal edges against the sky.
const LOOKING_UP: (DVec3, DVec3) = (DVec3::new(-30.0, -60.0, 3.0), DVec3::new(0.0, 10.0, 35.0));

#[test]
fn fxaa_brings_edges_towards_supersampling_on_towers() {
    for (name, (eye, target)) in [("towers, oblique", OBLIQUE), ("towers, looking up", LOOKING_UP)] {
        let Some((mut engine, camera)) = towers(eye, target) else { return };
        compare_with_supersampling(name, &mut engine, &camera, 160, 120);
    }
}

/// Linear light of an sRGB level.
fn linear(p: &image::Rgba<u8>) -> [f64; 3] {
    [decode(p[0]), decode(p[1]), decode(p[2])]
}

/// How far (in levels) `on` is from the nearest blend `(1 − t)·a + t·b`, t in 0..=0.75, in linear light.
fn distance_to_blend(on: &image::Rgba<u8>, a: &image::Rgba<u8>, b: &image::Rgba<u8>) -> f64 {
    let (o, a, b) = (linear(on), linear(a), linear(b));
    let d: [f64; 3] = std::array::from_fn(|c| b[c] - a[c]);
    let len2: f64 = d.iter().map(|v| v * v).sum();
    let t = if len2 > 0.0 { ((0..3).map(|c| (o[c] - a[c]) * d[c]).sum::<f64>() / len2).clamp(0.0, 0.75) } else { 0.0 };
    (0..3).map(|c| (encode(a[c] + t * d[c]) - f64::from(on[c])).abs()).fold(0.0, f64::max)
}

#[test]
fn fxaa_blends_each_pixel_with_a_neighbour_around_a_selection_and_see_through() {
    let Some((mut engine, camera)) = towers(OBLIQUE.0, OBLIQUE.1) else { return };
    let slim = engine.model.features().by_guid("slim").expect("slim");
    engine.select(Some(slim));
    // The block half see-through, over the towers, the slab and the sky.
    let block = engine.model.features().by_guid("block").expect("block");
    engine.model.world.get_mut::<FeatureStyle>(block).expect("style").opacity = 0.5;
    let (w, h) = (160, 120);
    let off = render(&mut engine, &camera, false, w, h);
    let on = render(&mut engine, &camera, true, w, h);
    // The selection outline's colour: ACES of 0.9 · (4, 1.2, 0.1), sRGB.
    let outline = |p: &image::Rgba<u8>| p[0] >= 245 && (220..=240).contains(&p[1]) && p[2] < 110;
    let outlined = off.pixels().filter(|p| outline(p)).count();
    let (mut changed, mut worst, mut worst_at) = (0usize, 0.0f64, (0, 0));
    for y in 0..h {
        for x in 0..w {
            let (a, b) = (off.get_pixel(x, y), on.get_pixel(x, y));
            changed += usize::from((0..3).any(|c| a[c].abs_diff(b[c]) > 2));
            let n = [(x.wrapping_sub(1), y), (x + 1, y), (x, y.wrapping_sub(1)), (x, y + 1)];
            let d = n
                .iter()
                .filter(|(i, j)| *i < w && *j < h)
                .map(|&(i, j)| distance_to_blend(b, a, off.get_pixel(i, j)))
                .fold(f64::INFINITY, f64::min);
            if d > worst {
                (worst, worst_at) = (d, (x, y));
            }
        }
    }
    println!(
        "{outlined} pixels of selection outline; anti-aliasing changed {changed} pixels, each within {worst:.1} levels \
         of a blend with a neighbour (worst at {worst_at:?})"
    );
    assert!(outlined > 100, "the selection outline is drawn ({outlined} pixels)");
    assert!(changed as f64 > 0.02 * f64::from(w * h), "anti-aliasing changed only {changed} pixels");
    assert!(worst <= 2.0, "pixel {worst_at:?} is {worst:.1} levels from any blend with a neighbour");
}

#[test]
fn golden_antialiased_towers() {
    let Some((mut engine, camera)) = towers(LOOKING_UP.0, LOOKING_UP.1) else { return };
    let img = render(&mut engine, &camera, true, 320, 240);
    support::assert_golden("antialiased", &img, 0.01);
}
