//! Coarse levels: an inner tile of a REPLACE tree holds every feature of its
//! subtree simplified to the tile's error (meshoptimizer, absolute error,
//! borders locked so neighbouring pieces and texture seams stay closed),
//! and drops features smaller than that error. Textures are halved once
//! per level above the deepest leaf below the tile.

use std::collections::HashMap;

use glam::DVec3;

use crate::Feature;

/// A feature simplified to about `error` metres; `None` when it is smaller
/// than the error (dropped at this level). Also returns the error reached.
pub(crate) fn simplified(f: &Feature, error: f64) -> Option<(Feature, f64)> {
    if f.diagonal < error {
        return None;
    }
    let mut out = Feature {
        positions: Vec::new(),
        normals: Vec::new(),
        uvs: Vec::new(),
        colors: Vec::new(),
        textures: Vec::new(),
        ..f.clone()
    };
    let mut reached: f64 = 0.0;
    // Each texture's triangles on their own, so seams between textures are borders.
    let mut groups: HashMap<Option<urbis_model::TextureId>, Vec<usize>> = HashMap::new();
    for (t, tex) in f.textures.iter().enumerate() {
        groups.entry(*tex).or_default().push(t);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    for tex in keys {
        let tris = &groups[&tex];
        // Weld corners by position and uv.
        let mut index_of: HashMap<[u64; 5], u32> = HashMap::new();
        let mut corner_of: Vec<usize> = Vec::new();
        let mut indices: Vec<u32> = Vec::with_capacity(tris.len() * 3);
        for &t in tris {
            for c in t * 3..t * 3 + 3 {
                let p = f.positions[c];
                let uv = f.uvs[c];
                let key =
                    [p.x.to_bits(), p.y.to_bits(), p.z.to_bits(), u64::from(uv.x.to_bits()), u64::from(uv.y.to_bits())];
                let i = *index_of.entry(key).or_insert_with(|| {
                    corner_of.push(c);
                    corner_of.len() as u32 - 1
                });
                indices.push(i);
            }
        }
        let positions: Vec<[f32; 3]> =
            corner_of.iter().map(|&c| (f.positions[c] - f.min).as_vec3().to_array()).collect();
        let mut err = 0.0f32;
        let kept = meshopt::simplify_decoder(
            &indices,
            &positions,
            0,
            error as f32,
            meshopt::SimplifyOptions::LockBorder | meshopt::SimplifyOptions::ErrorAbsolute,
            Some(&mut err),
        );
        reached = reached.max(f64::from(err));
        for tri in kept.chunks_exact(3) {
            let p: Vec<DVec3> = tri.iter().map(|&i| f.positions[corner_of[i as usize]]).collect();
            let n = (p[1] - p[0]).cross(p[2] - p[0]).normalize_or(DVec3::Z).as_vec3();
            for &i in tri {
                let c = corner_of[i as usize];
                out.positions.push(f.positions[c]);
                out.normals.push(n);
                out.uvs.push(f.uvs[c]);
                out.colors.push(f.colors[c]);
            }
            out.textures.push(tex);
        }
    }
    (!out.positions.is_empty()).then_some((out, reached))
}
