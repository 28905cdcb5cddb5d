//! Triangulation of planar 3D polygons with holes, by ear clipping (`earcutr`)
//! in the polygon's dominant plane.

use glam::DVec3;

/// Newell's normal of a ring (not normalised); robust for non-convex rings.
pub fn ring_normal(ring: &[DVec3]) -> DVec3 {
    let mut n = DVec3::ZERO;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        n.x += (a.y - b.y) * (a.z + b.z);
        n.y += (a.z - b.z) * (a.x + b.x);
        n.z += (a.x - b.x) * (a.y + b.y);
    }
    n
}

/// Triangulates a polygon given as an exterior ring followed by hole rings
/// (rings are open: the last vertex is not a repeat of the first).
///
/// Returns index triples into the rings' vertices concatenated in order, wound
/// counter-clockwise around the exterior ring's Newell normal. Degenerate
/// input (fewer than three vertices, zero area) gives no triangles.
pub fn polygon_with_holes(rings: &[Vec<DVec3>]) -> Vec<[u32; 3]> {
    let Some(outer) = rings.first() else {
        return Vec::new();
    };
    if outer.len() < 3 {
        return Vec::new();
    }
    let normal = ring_normal(outer);
    if normal.length_squared() < 1e-18 {
        return Vec::new();
    }
    // Drop the dominant axis of the normal, keeping a right-handed 2D frame.
    let a = normal.abs();
    let (ux, uy, flip) = if a.z >= a.x && a.z >= a.y {
        (0, 1, normal.z < 0.0)
    } else if a.x >= a.y {
        (1, 2, normal.x < 0.0)
    } else {
        (2, 0, normal.y < 0.0)
    };
    let mut flat = Vec::new();
    let mut holes = Vec::new();
    for (k, ring) in rings.iter().enumerate() {
        if k > 0 {
            holes.push(flat.len() / 2);
        }
        for p in ring {
            let p = p.to_array();
            flat.push(p[ux]);
            flat.push(p[uy]);
        }
    }
    let Ok(idx) = earcutr::earcut(&flat, &holes, 2) else {
        return Vec::new();
    };
    idx.chunks_exact(3)
        .map(|t| {
            let (a, b, c) = (t[0] as u32, t[1] as u32, t[2] as u32);
            // earcut returns clockwise triangles in its 2D frame; make them CCW about the normal.
            let ccw_in_plane = {
                let p = |i: u32| (flat[2 * i as usize], flat[2 * i as usize + 1]);
                let (pa, pb, pc) = (p(a), p(b), p(c));
                (pb.0 - pa.0) * (pc.1 - pa.1) - (pb.1 - pa.1) * (pc.0 - pa.0) > 0.0
            };
            if ccw_in_plane != flip { [a, b, c] } else { [a, c, b] }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(rings: &[Vec<DVec3>], tris: &[[u32; 3]]) -> (f64, DVec3) {
        let all: Vec<DVec3> = rings.iter().flatten().copied().collect();
        let mut sum = DVec3::ZERO;
        for t in tris {
            let (a, b, c) = (all[t[0] as usize], all[t[1] as usize], all[t[2] as usize]);
            sum += (b - a).cross(c - a) * 0.5;
        }
        (sum.length(), sum)
    }

    #[test]
    fn square_with_hole_in_a_wall_plane() {
        // A vertical wall (normal -y) 10 × 10 with a 2 × 2 window.
        let outer = vec![
            DVec3::new(0.0, 0.0, 0.0),
            DVec3::new(10.0, 0.0, 0.0),
            DVec3::new(10.0, 0.0, 10.0),
            DVec3::new(0.0, 0.0, 10.0),
        ];
        let hole = vec![
            DVec3::new(4.0, 0.0, 4.0),
            DVec3::new(4.0, 0.0, 6.0),
            DVec3::new(6.0, 0.0, 6.0),
            DVec3::new(6.0, 0.0, 4.0),
        ];
        let rings = vec![outer.clone(), hole];
        let tris = polygon_with_holes(&rings);
        let (a, n) = area(&rings, &tris);
        assert!((a - 96.0).abs() < 1e-9, "area {a}");
        // Winding follows the exterior ring.
        assert!(n.normalize().dot(ring_normal(&outer).normalize()) > 0.999);
    }

    #[test]
    fn roof_facing_down_keeps_its_orientation() {
        let ring: Vec<DVec3> =
            [(0.0, 0.0), (0.0, 5.0), (5.0, 5.0), (5.0, 0.0)].iter().map(|&(x, y)| DVec3::new(x, y, 3.0)).collect();
        let tris = polygon_with_holes(std::slice::from_ref(&ring));
        let (a, n) = area(std::slice::from_ref(&ring), &tris);
        assert!((a - 25.0).abs() < 1e-9);
        assert!(n.z < 0.0);
    }

    #[test]
    fn degenerate_input_gives_nothing() {
        assert!(polygon_with_holes(&[]).is_empty());
        assert!(polygon_with_holes(&[vec![DVec3::ZERO, DVec3::X]]).is_empty());
        assert!(polygon_with_holes(&[vec![DVec3::ZERO, DVec3::X, DVec3::X * 2.0]]).is_empty());
    }
}
