//! Feature IDs stored per texel (`EXT_mesh_features` with a texture): a
//! triangle may span several features, so sampling the texture at its
//! vertices would give each whole triangle one vertex's feature. Instead the
//! primitive is subdivided uniformly (every triangle into n² sub-triangles
//! on a barycentric grid, the same n for all, so shared edges split at the
//! same points and no cracks open) until a sub-triangle spans about one
//! texel, within a budget; each sub-triangle takes the feature of the texel
//! under its centre. The result is a plain triangle list whose vertices
//! carry their triangle's feature as a per-vertex ID set, which the rest of
//! the loader already turns into one entity per feature, so picking and
//! styling follow the texels.

use image::RgbaImage;
use urbis_formats::gltf::features::{FeatureIdSource, texel_feature_id};
use urbis_formats::gltf::{Primitive, PrimitiveMode, TextureTransform};

/// At most this many sub-triangles per primitive; beyond, each sub-triangle spans several texels.
pub(super) const MAX_SUB_TRIANGLES: usize = 1 << 17;

/// The point of triangle `t` (vertex attributes `v`) with integer barycentric
/// weights `wt` summing to `sum`; integer weights keep points on shared edges
/// bit-identical whichever triangle computes them.
fn lerp<const N: usize>(v: &[[f32; N]], t: &[u32; 3], wt: [u32; 3], sum: u32) -> [f32; N] {
    std::array::from_fn(|c| {
        (v[t[0] as usize][c] * wt[0] as f32 + v[t[1] as usize][c] * wt[1] as f32 + v[t[2] as usize][c] * wt[2] as f32)
            / sum as f32
    })
}

fn texel(img: &RgbaImage, uv: [f32; 2]) -> [u8; 4] {
    let (w, h) = img.dimensions();
    let wrap = |t: f32| t - t.floor();
    let x = ((wrap(uv[0]) * w as f32) as u32).min(w - 1);
    let y = ((wrap(uv[1]) * h as f32) as u32).min(h - 1);
    img.get_pixel(x, y).0
}

/// `p` split along the texels of its feature-ID texture `img`, or None when
/// it has no texture IDs (or has property attributes, which index its original vertices).
pub(super) fn split_by_texels(
    p: &Primitive,
    img: &RgbaImage,
    tex_coord: u32,
    channels: &[u32],
    transform: Option<TextureTransform>,
) -> Option<Primitive> {
    if !p.property_attributes.is_empty() {
        return None;
    }
    let uvs = p.tex_coords.get(tex_coord as usize)?;
    if uvs.len() != p.positions.len() {
        return None;
    }
    let tris = p.triangles();
    if tris.is_empty() {
        return None;
    }
    let (w, h) = img.dimensions();
    let id_uv = |uv: [f32; 2]| transform.map_or(uv, |t| t.apply(uv));
    // Segments per edge: the longest edge in texels, within the budget.
    let mut longest: f32 = 1.0;
    for t in &tris {
        for k in 0..3 {
            let (a, b) = (id_uv(uvs[t[k] as usize]), id_uv(uvs[t[(k + 1) % 3] as usize]));
            let d = ((a[0] - b[0]) * w as f32).hypot((a[1] - b[1]) * h as f32);
            if d.is_finite() {
                longest = longest.max(d);
            }
        }
    }
    let budget = ((MAX_SUB_TRIANGLES / tris.len()) as f32).sqrt().floor().max(1.0);
    let n = longest.ceil().min(budget) as u32;
    let mut out = p.clone();
    out.mode = PrimitiveMode::Triangles;
    out.indices = None;
    out.positions.clear();
    out.normals = p.normals.as_ref().map(|_| Vec::new());
    out.tex_coords = p.tex_coords.iter().map(|_| Vec::new()).collect();
    out.colors = p.colors.as_ref().map(|_| Vec::new());
    out.batch_ids = None;
    let mut ids = Vec::new();
    for t in &tris {
        for i in 0..n {
            for j in 0..n - i {
                let r = n - i - j; // ≥ 1
                let up = [[r, i, j], [r - 1, i + 1, j], [r - 1, i, j + 1]];
                let mut subs = vec![up];
                if r >= 2 {
                    subs.push([[r - 1, i + 1, j], [r - 2, i + 1, j + 1], [r - 1, i, j + 1]]);
                }
                for sub in &subs {
                    // The feature of the texel under the sub-triangle's centre.
                    let c = sub.iter().fold([0u32; 3], |a, w| [a[0] + w[0], a[1] + w[1], a[2] + w[2]]);
                    let centre = lerp(uvs, t, c, 3 * n);
                    let id = texel_feature_id(texel(img, id_uv(centre)), channels);
                    for &wt in sub {
                        out.positions.push(lerp(&p.positions, t, wt, n));
                        if let (Some(dst), Some(src)) = (out.normals.as_mut(), p.normals.as_ref()) {
                            let v = lerp(src, t, wt, n);
                            let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
                            dst.push([v[0] / l, v[1] / l, v[2] / l]);
                        }
                        for (dst, src) in out.tex_coords.iter_mut().zip(&p.tex_coords) {
                            if src.len() == p.positions.len() {
                                dst.push(lerp(src, t, wt, n));
                            }
                        }
                        if let (Some(dst), Some(src)) = (out.colors.as_mut(), p.colors.as_ref()) {
                            dst.push(lerp(src, t, wt, n));
                        }
                        ids.push(id);
                    }
                }
            }
        }
    }
    let set = out.feature_ids.first_mut()?;
    set.source = FeatureIdSource::Attribute { set: 0, values: ids };
    Some(out)
}
