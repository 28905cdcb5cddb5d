//! Overlay text on the GPU: a panel titled with a Chinese name (大寒) shows
//! the same glyphs the CPU rasteriser draws (itself checked against a second
//! rasteriser in `urbis_text`): the bright text pixels of the rendered panel
//! and the glyphs' ink, placed as the overlay lays them out, overlap almost
//! entirely, and 大 and 寒 are told apart.

mod support;

use std::collections::HashSet;

use glam::DVec3;
use urbis_engine::render_image;
use urbis_render::{Overlay, Panel, panel_size};

#[test]
fn chinese_names_draw_in_overlay_panels() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    // Look up at the empty sky, so only the panel has structure.
    let b = engine.model.bounds();
    let eye = DVec3::new(b.center().x, b.center().y, b.max.z + 50.0);
    let camera = support::enu_camera(&engine.model, eye, eye + DVec3::new(0.0, 1.0, 400.0));
    let lighting = support::enu_lighting(&engine.model);
    let (w, h) = (320u32, 120u32);
    let title = "大寒 日照".to_string();
    let panel = Panel { x: 10.0, y: 10.0, title: Some(title.clone()), lines: vec![] };
    let scale = 3.0;
    let overlay = Overlay { scale, panels: vec![panel.clone()], ..Default::default() };
    let img = render_image(&mut engine, &camera, &lighting, Some(&overlay), w, h).expect("render").image;
    // The panel's extent as laid out, and the text inside it: bright (the title's amber) on dark.
    let (pw, ph) = panel_size(&panel, scale);
    let gpu: HashSet<(i32, i32)> = (10..(10 + pw as u32))
        .flat_map(|x| (10..(10 + ph as u32)).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 140)
        .map(|(x, y)| (x as i32, y as i32))
        .collect();
    // The CPU's ink for the same string: em 8.5 × scale, at the panel's padding, centred in its line.
    let em = (8.5f32 * scale).round();
    let (pad, lh) = (6.0 * scale, 10.0 * scale);
    let cpu_at = |text: &str| -> HashSet<(i32, i32)> {
        let mut ink = HashSet::new();
        let origin = ((10.0 + pad).round(), (10.0 + pad + (lh - em) * 0.5).round());
        urbis_text::rasterize(text, em, origin, |x, y, c| {
            if c > 0.5 {
                ink.insert((x, y));
            }
        });
        ink
    };
    let best = |a: &HashSet<(i32, i32)>, b: &HashSet<(i32, i32)>| -> f64 {
        let mut best: f64 = 0.0;
        for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
            let moved: HashSet<(i32, i32)> = b.iter().map(|&(x, y)| (x + dx, y + dy)).collect();
            let iou = a.intersection(&moved).count() as f64 / a.union(&moved).count() as f64;
            best = best.max(iou);
        }
        best
    };
    assert!(gpu.len() > 100, "the title is drawn: {} bright pixels", gpu.len());
    let same = best(&gpu, &cpu_at(&title));
    let other = best(&gpu, &cpu_at("寒大 照日"));
    eprintln!("overlay text vs the CPU rasteriser: IoU {same:.3} (swapped characters: {other:.3})");
    assert!(same > 0.75, "IoU {same}");
    assert!(other < same - 0.3, "the glyphs are told apart: {other} vs {same}");
}
