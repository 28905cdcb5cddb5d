//! Terrain tile meshes: a grid of heights on the tile's rectangle with
//! skirts, and the oriented box around a tile.

use glam::{DMat3, DVec3};
use urbis_geo::{Ellipsoid, Geodetic, enu_basis};

use super::{TerrainMesh, TileCoord};
use crate::volume::Volume;

/// ECEF of a longitude, latitude (degrees) and height on WGS84.
pub(crate) fn ecef(lon: f64, lat: f64, h: f64) -> DVec3 {
    Ellipsoid::WGS84.geodetic_to_ecef(Geodetic::new(lon, lat, h))
}

/// The oriented box (in the east-north-up axes at the rectangle's centre)
/// around a rectangle (degrees) between two heights.
pub fn tile_box(rect: [f64; 4], heights: [f64; 2]) -> Volume {
    let (lon, lat) = ((rect[0] + rect[2]) / 2.0, (rect[1] + rect[3]) / 2.0);
    let basis = enu_basis(lon, lat);
    let origin = ecef(lon, lat, 0.0);
    let n = 8;
    let (mut lo, mut hi) = (DVec3::INFINITY, DVec3::NEG_INFINITY);
    for j in 0..=n {
        for i in 0..=n {
            let (x, y) = (
                rect[0] + (rect[2] - rect[0]) * f64::from(i) / f64::from(n),
                rect[1] + (rect[3] - rect[1]) * f64::from(j) / f64::from(n),
            );
            for h in heights {
                let local = basis.transpose() * (ecef(x, y, h) - origin);
                lo = lo.min(local);
                hi = hi.max(local);
            }
        }
    }
    // The surface bulges between the samples: a margin of a sixteenth of
    // the sample spacing's sagitta bound (generous for small tiles).
    let pad = (hi - lo).max_element() / f64::from(n * n) + 1.0;
    let (lo, hi) = (lo - DVec3::splat(pad), hi + DVec3::splat(pad));
    let half = (hi - lo) / 2.0;
    Volume::Box {
        center: origin + basis * ((lo + hi) / 2.0),
        half_axes: DMat3::from_cols(basis.x_axis * half.x, basis.y_axis * half.y, basis.z_axis * half.z),
    }
}

/// A heightmap tile: `heights` holds (n + 3)² values, rows from the north,
/// the tile's (n + 1)² grid points with a one-sample border outside it (so
/// that normals at the edges match the neighbour's). Skirts `skirt` metres
/// deep hang below the four edges. UVs are the grid fractions (0, 0) at the
/// north-west corner; [`super::drape_tile`] maps them to texels.
pub fn grid_mesh(coord: TileCoord, rect: [f64; 4], n: u32, heights: &[f64], skirt: f64) -> TerrainMesh {
    let side = (n + 3) as usize;
    debug_assert_eq!(heights.len(), side * side);
    let (w, s, e, nth) = (rect[0], rect[1], rect[2], rect[3]);
    let step = ((e - w) / f64::from(n), (nth - s) / f64::from(n));
    // ECEF of every sample including the border.
    let point = |i: usize, j: usize| {
        let lon = w + (i as f64 - 1.0) * step.0;
        let lat = (nth - (j as f64 - 1.0) * step.1).clamp(-90.0, 90.0);
        ecef(lon, lat, heights[j * side + i])
    };
    let grid: Vec<DVec3> = (0..side * side).map(|k| point(k % side, k / side)).collect();
    let centre_h = {
        let inner = (1..side - 1).flat_map(|j| (1..side - 1).map(move |i| (i, j)));
        let (lo, hi) = inner.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (i, j)| {
            let h = heights[j * side + i];
            (lo.min(h), hi.max(h))
        });
        (lo, hi)
    };
    let center = ecef((w + e) / 2.0, (s + nth) / 2.0, (centre_h.0 + centre_h.1) / 2.0);
    let up_at = |i: usize, j: usize| {
        let lon = w + (i as f64 - 1.0) * step.0;
        let lat = nth - (j as f64 - 1.0) * step.1;
        enu_basis(lon, lat.clamp(-90.0, 90.0)).z_axis
    };
    let cells = n as usize;
    let mut mesh = TerrainMesh {
        coord,
        rect,
        center: center.to_array(),
        positions: Vec::with_capacity((cells + 1) * (cells + 1) + 4 * (cells + 1)),
        normals: Vec::new(),
        uvs: Vec::new(),
        indices: Vec::with_capacity(cells * cells * 6 + cells * 24),
        first_skirt_vertex: 0,
        height_range: [centre_h.0, centre_h.1],
        source: "dem",
        texture: None,
    };
    for j in 1..side - 1 {
        for i in 1..side - 1 {
            let p = grid[j * side + i];
            // Central differences over the neighbours (the border makes edges
            // use the same samples as the neighbouring tile).
            let dx = grid[j * side + i + 1] - grid[j * side + i - 1];
            let dy = grid[(j - 1) * side + i] - grid[(j + 1) * side + i];
            let mut nrm = dx.cross(dy).normalize_or_zero();
            if !nrm.is_finite() || nrm == DVec3::ZERO || nrm.dot(up_at(i, j)) <= 0.0 {
                nrm = up_at(i, j);
            }
            mesh.positions.push((p - center).as_vec3().to_array());
            mesh.normals.push(nrm.as_vec3().to_array());
            mesh.uvs.push([(i - 1) as f32 / n as f32, (j - 1) as f32 / n as f32]);
        }
    }
    let at = |i: usize, j: usize| (j * (cells + 1) + i) as u32;
    for j in 0..cells {
        for i in 0..cells {
            let (nw, ne, sw, se) = (at(i, j), at(i + 1, j), at(i, j + 1), at(i + 1, j + 1));
            mesh.indices.extend_from_slice(&[nw, sw, ne, ne, sw, se]);
        }
    }
    mesh.first_skirt_vertex = mesh.positions.len() as u32;
    let edges: [Vec<(usize, usize)>; 4] = [
        (0..=cells).map(|j| (0, j)).collect(),
        (0..=cells).map(|i| (i, cells)).collect(),
        (0..=cells).rev().map(|j| (cells, j)).collect(),
        (0..=cells).rev().map(|i| (i, 0)).collect(),
    ];
    for edge in edges {
        let ring: Vec<u32> = edge.iter().map(|&(i, j)| at(i, j)).collect();
        add_skirt(&mut mesh, &ring, skirt);
    }
    mesh
}

/// Hangs a skirt `depth` metres below the edge vertices `ring` (in order),
/// double-sided, along each vertex's normal direction reversed.
pub(crate) fn add_skirt(mesh: &mut TerrainMesh, ring: &[u32], depth: f64) {
    let first = mesh.positions.len() as u32;
    let center = DVec3::from_array(mesh.center);
    for &v in ring {
        let p = center + glam::Vec3::from_array(mesh.positions[v as usize]).as_dvec3();
        let down = -p.normalize_or_zero();
        mesh.positions.push((p + down * depth - center).as_vec3().to_array());
        mesh.normals.push(mesh.normals[v as usize]);
        mesh.uvs.push(mesh.uvs[v as usize]);
    }
    for k in 0..ring.len().saturating_sub(1) {
        let (a, b) = (ring[k], ring[k + 1]);
        let (sa, sb) = (first + k as u32, first + k as u32 + 1);
        mesh.indices.extend_from_slice(&[a, sa, b, b, sa, sb, a, b, sa, b, sb, sa]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_tile_lies_on_the_ellipsoid_with_its_skirts_below() {
        let c = TileCoord { z: 10, x: 1700, y: 750 };
        let rect = super::super::geographic_rect(c);
        let n = 4;
        let heights = vec![0.0; ((n + 3) * (n + 3)) as usize];
        let m = grid_mesh(c, rect, n, &heights, 50.0);
        assert_eq!(m.first_skirt_vertex, 25);
        assert_eq!(m.positions.len(), 25 + 4 * 5);
        let centre = DVec3::from_array(m.center);
        for (k, p) in m.positions.iter().enumerate() {
            let g = Ellipsoid::WGS84.ecef_to_geodetic(centre + glam::Vec3::from_array(*p).as_dvec3());
            let want = if k < 25 { 0.0 } else { -50.0 };
            assert!((g.height - want).abs() < 0.01, "vertex {k}: {}", g.height);
        }
        // The north-west vertex is the rectangle's north-west corner.
        let g = Ellipsoid::WGS84.ecef_to_geodetic(centre + glam::Vec3::from_array(m.positions[0]).as_dvec3());
        assert!(
            (g.lon_deg - rect[0]).abs() < 1e-7 && (g.lat_deg - rect[3]).abs() < 1e-7,
            "f32 offsets keep about a centimetre"
        );
        // Normals of a flat tile are the ellipsoid's up.
        let up = enu_basis(g.lon_deg, g.lat_deg).z_axis;
        assert!(glam::Vec3::from_array(m.normals[0]).as_dvec3().dot(up) > 0.99999);
        // The box holds every vertex.
        let Volume::Box { center, half_axes } = tile_box(rect, [-50.0, 0.0]) else { panic!("a box") };
        for p in &m.positions {
            let d = centre + glam::Vec3::from_array(*p).as_dvec3() - center;
            for a in [half_axes.x_axis, half_axes.y_axis, half_axes.z_axis] {
                assert!(d.dot(a).abs() <= a.length_squared() * 1.000_001, "outside the box");
            }
        }
    }
}
