//! The terrain as a height field in the city's ENU frame, for rays that
//! must see hills (sunlight, shadows): the DEM's cell centres placed in ENU
//! through PROJ (so heights share the frame's vertical reference, Earth's
//! curvature included), an affine map from ENU to grid indices fitted on
//! three corners (exact for a projected grid up to its scale distortion,
//! well below a metre across a city), and a ray march in half-cell steps
//! that stops as soon as the ray is above the highest ground.
//!
//! Testing a ray against the terrain's triangle mesh instead would mean
//! every triangle of one huge feature per ray.

use glam::{DMat2, DVec2, DVec3};
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::{CityModel, Terrain};

/// The terrain surface of a city.
#[derive(Debug, Clone)]
pub struct TerrainSurface {
    /// ENU (x, y) → fractional (col, row) of cell centres.
    to_grid: DMat2,
    offset: DVec2,
    ncols: usize,
    nrows: usize,
    /// ENU height of every cell centre, row 0 the northernmost; NaN for NODATA.
    z: Vec<f64>,
    z_max: f64,
    step: f64,
}

impl TerrainSurface {
    /// The first terrain grid of the city, if it has one (and its CRS transforms).
    pub fn from_city(city: &CityModel) -> Option<TerrainSurface> {
        let grid = city.world.iter_entities().find_map(|e| e.get::<Terrain>().map(|t| t.grid.clone()))?;
        let (nc, nr) = (grid.ncols, grid.nrows);
        if nc < 2 || nr < 2 {
            return None;
        }
        let mut pts: Vec<DVec3> = (0..nc * nr)
            .map(|k| {
                let (x, y) = grid.cell_center(k % nc, k / nc);
                DVec3::new(x, y, grid.heights[k] as f64)
            })
            .collect();
        let frame = *city.frame();
        if let Some(crs) = grid.crs {
            // NODATA heights are carried through as 0 and restored after.
            let nodata: Vec<bool> = pts.iter().map(|p| !p.z.is_finite()).collect();
            pts.iter_mut().filter(|p| !p.z.is_finite()).for_each(|p| p.z = 0.0);
            let t = CrsTransform::new(crs, Epsg(4978)).ok()?;
            t.transform_all(&mut pts).ok()?;
            for (p, nd) in pts.iter_mut().zip(nodata) {
                *p = frame.ecef_to_enu(*p);
                if nd {
                    p.z = f64::NAN;
                }
            }
        }
        // Affine fit on three corners: (col, row) = to_grid · (x, y) + offset.
        let (p00, p10, p01) = (pts[0].truncate(), pts[nc - 1].truncate(), pts[(nr - 1) * nc].truncate());
        let m = DMat2::from_cols((p10 - p00) / (nc - 1) as f64, (p01 - p00) / (nr - 1) as f64);
        if m.determinant().abs() < 1e-12 {
            return None;
        }
        let to_grid = m.inverse();
        let offset = -(to_grid * p00);
        let z: Vec<f64> = pts.iter().map(|p| p.z).collect();
        let z_max = z.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        let step = 0.5 * m.x_axis.length().min(m.y_axis.length());
        z_max.is_finite().then_some(TerrainSurface { to_grid, offset, ncols: nc, nrows: nr, z, z_max, step })
    }

    /// Ground height at an ENU point (bilinear between cell centres), if over the grid's data.
    pub fn height(&self, x: f64, y: f64) -> Option<f64> {
        let g = self.to_grid * DVec2::new(x, y) + self.offset;
        let (c, r) = (g.x.floor(), g.y.floor());
        if !(c >= 0.0 && r >= 0.0 && c + 1.0 < self.ncols as f64 && r + 1.0 < self.nrows as f64) {
            return None;
        }
        let (c, r, fx, fy) = (c as usize, r as usize, g.x - c, g.y - r);
        let at = |cc: usize, rr: usize| self.z[rr * self.ncols + cc];
        let h = (at(c, r) * (1.0 - fx) + at(c + 1, r) * fx) * (1.0 - fy)
            + (at(c, r + 1) * (1.0 - fx) + at(c + 1, r + 1) * fx) * fy;
        h.is_finite().then_some(h)
    }

    /// Whether the ground rises above the ray from `p` along the unit
    /// vector `dir` before the ray clears the highest ground or leaves the grid.
    /// A point below the interpolated ground (a coarser grid's cell centre,
    /// a façade's base) starts 5 cm above it: it stands on the surface.
    pub fn blocks(&self, p: DVec3, dir: DVec3) -> bool {
        // Points off the grid are not tested (the terrain is unknown there).
        let Some(ground) = self.height(p.x, p.y) else { return false };
        let p = DVec3::new(p.x, p.y, p.z.max(ground + 0.05));
        let mut s = self.step;
        loop {
            let q = p + dir * s;
            if q.z > self.z_max {
                return false;
            }
            match self.height(q.x, q.y) {
                Some(h) if h > q.z => return true,
                Some(_) => s += self.step,
                None => return false,
            }
        }
    }
}
