//! Back faces of single-sided glTF materials (lavapipe). glTF culls the back
//! faces of a material that is not `doubleSided`; Urbis draws both sides of
//! everything else. A closed box seen from outside looks the same either
//! way (its back faces are hidden behind its front ones), and seen from
//! inside, a single-sided box shows nothing of its walls while a
//! double-sided one shows them all around. Mirrored by its node (scale
//! −1 along x), the single-sided box still looks like the double-sided one
//! from outside: the loader turns the winding round with the mirror.

mod support;

use glam::DVec3;
use urbis_engine::{default_camera, default_lighting, render_image};
use urbis_formats::tiles3d::write::{GlbContent, GlbPrimitive, write_glb};

/// A 20 m box (glTF y up, base at y = 0), wound counter-clockwise seen from outside.
fn closed_box(double_sided: bool) -> GlbPrimitive {
    let (h, s) = (20.0f32, 10.0f32);
    let mut positions = Vec::new();
    let mut normals = Vec::new();
    let mut indices = Vec::new();
    // Each face: its normal and two edge directions (u × v = normal).
    let faces: [([f32; 3], [f32; 3], [f32; 3]); 6] = [
        ([1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]),
        ([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]),
        ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]),
        ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
        ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        ([0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
    ];
    for (n, u, v) in faces {
        let centre = [n[0] * s, h / 2.0 + n[1] * h / 2.0, n[2] * s];
        let half = |d: [f32; 3]| if d[1] != 0.0 { h / 2.0 } else { s };
        let base = positions.len() as u32;
        for (a, b) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
            positions.push([0, 1, 2].map(|k| centre[k] + a * half(u) * u[k] + b * half(v) * v[k]));
            normals.push(n);
        }
        indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    }
    GlbPrimitive {
        positions,
        normals: Some(normals),
        indices,
        base_color: [0.9, 0.3, 0.2, 1.0],
        double_sided,
        ..Default::default()
    }
}

fn write(dir: &std::path::Path, name: &str, double_sided: bool, mirrored: bool) -> std::path::PathBuf {
    let content = GlbContent { primitives: vec![closed_box(double_sided)], ..Default::default() };
    let mut glb = write_glb(&content).expect("glb");
    if mirrored {
        glb = with_node_scale(&glb, [-1.0, 1.0, 1.0]);
    }
    let path = dir.join(name);
    std::fs::write(&path, glb).expect("write");
    path
}

/// The GLB with `scale` on every node (its JSON chunk rewritten, padded with spaces).
fn with_node_scale(glb: &[u8], scale: [f64; 3]) -> Vec<u8> {
    let u32_at = |o: usize| u32::from_le_bytes(glb[o..o + 4].try_into().expect("4 bytes")) as usize;
    let json_len = u32_at(12);
    let mut json: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).expect("json chunk");
    for node in json["nodes"].as_array_mut().expect("nodes") {
        node["scale"] = serde_json::json!(scale);
    }
    let mut text = serde_json::to_vec(&json).expect("json");
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let rest = &glb[20 + json_len..];
    let total = 12 + 8 + text.len() + rest.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&glb[..8]);
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(rest);
    out
}

/// Renders the box from outside and from its middle.
fn views(path: &std::path::Path) -> Option<(image::RgbaImage, image::RgbaImage, u64)> {
    let (model, _) = urbis_model::open_city(&[path.to_path_buf()]).expect("load");
    let bounds = model.bounds();
    let mut engine = support::engine(model)?;
    let outside = default_camera(&engine.model);
    let lighting = default_lighting(&engine.model, &outside);
    let out = render_image(&mut engine, &outside, &lighting, None, 160, 120).expect("render");
    let c = bounds.center();
    let inside = support::enu_camera(&engine.model, c, c + DVec3::new(1.0, 0.3, 0.0));
    let inn = render_image(&mut engine, &inside, &lighting, None, 160, 120).expect("render");
    Some((out.image, inn.image, out.stats.triangles as u64))
}

/// Pixels of the box's colour family (red dominant), i.e. its walls.
fn wall_pixels(img: &image::RgbaImage) -> usize {
    img.pixels().filter(|p| p[0] as i32 > p[1] as i32 + 25 && p[0] as i32 > p[2] as i32 + 25).count()
}

#[test]
fn single_sided_boxes_look_the_same_outside_and_are_hollow_inside() {
    let dir = std::env::temp_dir().join(format!("urbis-back-faces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let one = write(&dir, "single.glb", false, false);
    let two = write(&dir, "double.glb", true, false);
    let Some((one_out, one_in, tris)) = views(&one) else { return };
    let Some((two_out, two_in, _)) = views(&two) else { return };
    assert_eq!(tris, 12);
    let walls = wall_pixels(&two_out);
    assert!(walls > 500, "the box is in view: {walls} wall pixels");
    let (frac, _) = support::image_difference(&one_out, &two_out, 0);
    assert!(frac < 1e-3, "outside, culling changes {:.3} % of pixels", frac * 100.0);
    // Inside: the double-sided walls fill the view; the single-sided ones are culled.
    let (inside_two, inside_one) = (wall_pixels(&two_in), wall_pixels(&one_in));
    if std::env::var_os("URBIS_DEBUG_BACK_FACES").is_some() {
        for (n, i) in [("one_out", &one_out), ("two_out", &two_out), ("one_in", &one_in), ("two_in", &two_in)] {
            i.save(format!("/tmp/bf_{n}.png")).expect("save");
        }
    }
    let all = (160 * 120) as usize;
    assert!(inside_two > all * 9 / 10, "double-sided from inside: {inside_two} of {all}");
    assert_eq!(inside_one, 0, "single-sided from inside shows no wall");

    // Mirrored: the same box (it is symmetric), so the same views.
    let mirrored = write(&dir, "mirrored.glb", false, true);
    let Some((m_out, m_in, _)) = views(&mirrored) else { return };
    let (frac, _) = support::image_difference(&m_out, &two_out, 0);
    assert!(frac < 1e-3, "mirrored, outside, {:.3} % of pixels differ from the double-sided box", frac * 100.0);
    assert_eq!(wall_pixels(&m_in), 0, "mirrored, inside, still culled");
    let _ = std::fs::remove_dir_all(&dir);
}
