//! The CPU path of field culling: the rules of `cull.wgsl` (frustum, level
//! of detail with hysteresis, the sun's volume), chunk by chunk on rayon,
//! without occlusion. Chunks wholly outside both the view and the sun's
//! volume are skipped without looking at their buildings.

use glam::{Mat4, Vec3, Vec4};
use rayon::prelude::*;

use super::{DrawArgs, FieldCulling, FieldLevel, GpuField};
use crate::scene::InstanceData;
use crate::shadow::ShadowFit;

/// What the CPU path needs of the frame.
pub(crate) struct FrameCull<'a> {
    pub planes: [Vec4; 5],
    pub shadow: Option<&'a ShadowFit>,
    /// Pixels per unit of (diameter / distance), of the full frame.
    pub lod_scale: f32,
    pub culling: FieldCulling,
}

fn in_view(planes: &[Vec4; 5], c: Vec3, r: f32) -> bool {
    planes.iter().all(|p| p.truncate().dot(c) + p.w >= -r)
}

/// Culls `field` for this frame: returns the camera-relative instances of
/// each draw-list entry (2 views × templates × 2 levels) and the draw list.
pub(crate) fn cull_cpu(
    field: &GpuField,
    lod_state: &mut [u8],
    matrices: &[Mat4],
    frame: &FrameCull<'_>,
) -> (Vec<Vec<InstanceData>>, Vec<DrawArgs>) {
    let t = field.templates as usize;
    let entries = 4 * t;
    // Per-chunk LOD slices, so chunks can run in parallel.
    let mut lod_slices = Vec::with_capacity(field.bounds.len());
    let mut rest: &mut [u8] = lod_state;
    for b in &field.bounds {
        let (head, tail) = rest.split_at_mut(b.count as usize);
        lod_slices.push(head);
        rest = tail;
    }
    let by_chunk = &field.by_chunk;
    let c = frame.culling;
    let lists: Vec<Vec<(u32, InstanceData)>> = field
        .bounds
        .par_iter()
        .zip(lod_slices.into_par_iter())
        .map(|(b, lod)| {
            let first = &by_chunk[b.first as usize];
            let m = matrices[first.chunk as usize];
            let centre = m.transform_point3(b.centre);
            let view = in_view(&frame.planes, centre, b.radius);
            let sun = frame.shadow.is_some_and(|s| s.contains(centre, b.radius));
            let mut out = Vec::new();
            if !view && !sun {
                return out;
            }
            for (inst, state) in by_chunk[b.first as usize..(b.first + b.count) as usize].iter().zip(lod.iter_mut()) {
                let (lc, r) = inst.bounding_sphere();
                let centre = m.transform_point3(lc);
                let px = 2.0 * r * frame.lod_scale / centre.length().max(1e-3);
                if *state == 0 && px < c.far_below_px {
                    *state = 1;
                } else if *state == 1 && px > c.near_above_px {
                    *state = 0;
                }
                let level = match c.forced {
                    Some(FieldLevel::Near) => 0,
                    Some(FieldLevel::Far) => 1,
                    None => u32::from(*state),
                };
                let seen = px >= c.min_px && in_view(&frame.planes, centre, r);
                let casts = frame.shadow.is_some_and(|s| s.contains(centre, r));
                if !seen && !casts {
                    continue;
                }
                let rows = inst.rows();
                let col = |k: usize| m.transform_vector3(Vec3::new(rows[0][k], rows[1][k], rows[2][k]));
                let (c0, c1, c2) = (col(0), col(1), col(2));
                let c3 = m.transform_point3(Vec3::from_array(inst.position));
                let d = InstanceData {
                    rows: [[c0.x, c1.x, c2.x, c3.x], [c0.y, c1.y, c2.y, c3.y], [c0.z, c1.z, c2.z, c3.z]],
                    feature: inst.feature,
                    _pad: [0; 3],
                };
                let entry = |view: u32| (view * t as u32 + inst.template) * 2 + level;
                if seen {
                    out.push((entry(0), d));
                }
                if casts {
                    out.push((entry(1), d));
                }
            }
            out
        })
        .collect();
    let mut per_entry: Vec<Vec<InstanceData>> = vec![Vec::new(); entries];
    for list in lists {
        for (e, d) in list {
            per_entry[e as usize].push(d);
        }
    }
    let mut args = field.reset_args.clone();
    for (e, a) in args.iter_mut().enumerate() {
        let n = per_entry[e].len() as u32;
        a.instance_count = n;
        if e % 2 == 1 {
            a.first_instance -= n;
        }
    }
    (per_entry, args)
}
