//! Screen-space labels for features that carry a [`LiveLabel`]: each is
//! projected from the top centre of its (extruded) bounds, in f64 relative
//! to the camera, and becomes a small overlay panel. The nearest win when
//! there are more than the budget.

use glam::DVec3;
use urbis_model::{Bounds, CityModel, FeatureStyle, LiveLabel};
use urbis_render::{Camera, Panel, panel_size};

/// Pixel position of an ENU point, or `None` behind the camera or off screen.
pub fn project(model: &CityModel, camera: &Camera, enu: DVec3, width: u32, height: u32) -> Option<(f32, f32, f64)> {
    let rel = model.frame().enu_to_ecef(enu) - camera.position;
    let clip = camera.view_projection(width as f64 / height.max(1) as f64) * rel.as_vec3().extend(1.0);
    if clip.w <= 0.0 {
        return None;
    }
    let (x, y) = ((clip.x / clip.w * 0.5 + 0.5) * width as f32, (0.5 - clip.y / clip.w * 0.5) * height as f32);
    ((0.0..width as f32).contains(&x) && (0.0..height as f32).contains(&y)).then_some((x, y, rel.length()))
}

/// Up to `max` label panels, nearest first, skipping any that would overlap
/// a nearer one. `scale` is the overlay's text scale (as `Overlay::scale`).
pub fn label_panels(
    model: &mut CityModel,
    camera: &Camera,
    width: u32,
    height: u32,
    max: usize,
    scale: f32,
) -> Vec<Panel> {
    let mut q = model.world.query::<(&LiveLabel, &Bounds, Option<&FeatureStyle>)>();
    let items: Vec<(String, DVec3)> = q
        .iter(&model.world)
        .filter(|(_, _, s)| s.is_none_or(|s| s.visible))
        .map(|(l, b, s)| {
            let scale = s.map_or(1.0, |s| s.height_scale as f64);
            let top = b.min.z + (b.max.z - b.min.z) * scale;
            (l.0.clone(), DVec3::new(b.center().x, b.center().y, top))
        })
        .collect();
    let mut placed: Vec<(f64, Panel)> = items
        .into_iter()
        .filter_map(|(text, p)| {
            let (x, y, d) = project(model, camera, p, width, height)?;
            let mut panel = Panel { x: 0.0, y: 0.0, title: None, lines: vec![text] };
            let (w, h) = panel_size(&panel, scale);
            (panel.x, panel.y) = ((x - w / 2.0).max(0.0), (y - h).max(0.0));
            Some((d, panel))
        })
        .collect();
    placed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut kept: Vec<(Panel, f32, f32)> = Vec::new();
    for (_, p) in placed {
        let (w, h) = panel_size(&p, scale);
        let overlaps =
            kept.iter().any(|(k, kw, kh)| p.x < k.x + kw && k.x < p.x + w && p.y < k.y + kh && k.y < p.y + h);
        if !overlaps {
            kept.push((p, w, h));
            if kept.len() == max {
                break;
            }
        }
    }
    kept.into_iter().map(|(p, _, _)| p).collect()
}
