//! Viewsheds and sightlines.
//!
//! - [`viewshed`]: the cells of a [`CityGrid`] an observer can see, over
//!   its surface model (the bed with buildings burnt in to their roofs).
//!   The sightline to each cell is sampled every half cell; a cell is
//!   visible when no sample of the surface rises above the line from the
//!   eye to the target point. Rows in parallel (rayon).
//! - [`line_of_sight`]: between two ENU points through the city's features
//!   with exact triangle tests, naming the first obstruction.

use bevy_ecs::prelude::*;
use glam::DVec3;
use rayon::prelude::*;
use urbis_model::{CityModel, FeatureId, SemanticClass};

use crate::city::CityGrid;

/// Which cells of `grid` see the observer standing on cell `observer` with
/// eyes `eye_height` above the surface; targets are `target_height` above
/// the surface of their cell. Row 0 is south, as in the grid.
pub fn viewshed(grid: &CityGrid, observer: (usize, usize), eye_height: f64, target_height: f64) -> Vec<bool> {
    let (nx, ny) = (grid.nx(), grid.ny());
    let z = &grid.model.z;
    let (oi, oj) = observer;
    let eye = z[oj * nx + oi] + eye_height;
    let surface = |x: f64, y: f64| -> f64 {
        let (i, j) = (x.round() as i64, y.round() as i64);
        if i < 0 || j < 0 || i >= nx as i64 || j >= ny as i64 {
            return f64::NEG_INFINITY;
        }
        let v = z[j as usize * nx + i as usize];
        if v.is_finite() { v } else { f64::NEG_INFINITY }
    };
    let mut out = vec![false; nx * ny];
    out.par_chunks_mut(nx).enumerate().for_each(|(j, row)| {
        for (i, visible) in row.iter_mut().enumerate() {
            let tz = z[j * nx + i];
            if !tz.is_finite() {
                continue;
            }
            let target = tz + target_height;
            let (dx, dy) = (i as f64 - oi as f64, j as f64 - oj as f64);
            let cells = dx.hypot(dy);
            let samples = (cells * 2.0).ceil() as usize;
            *visible = (1..samples).all(|s| {
                let t = s as f64 / samples as f64;
                let (x, y) = (oi as f64 + dx * t, oj as f64 + dy * t);
                // Samples within the target's own cell do not hide it.
                if (x - i as f64).abs() < 0.5 && (y - j as f64).abs() < 0.5 {
                    return true;
                }
                surface(x, y) <= eye + (target - eye) * t
            });
        }
    });
    out
}

/// What stands between two points.
#[derive(Debug, Clone, PartialEq)]
pub enum Sight {
    Clear,
    Blocked { entity: Entity, id: String, class: Option<SemanticClass>, point: DVec3, distance: f64 },
}

/// The sightline from `from` to `to` (ENU) through every feature of the city,
/// terrain included, with the first obstruction named.
pub fn line_of_sight(city: &CityModel, from: DVec3, to: DVec3) -> Sight {
    let d = to - from;
    let length = d.length();
    if length <= 0.0 {
        return Sight::Clear;
    }
    match city.spatial().ray_cast(&city.world, from, d / length, length) {
        None => Sight::Clear,
        Some(hit) => Sight::Blocked {
            entity: hit.entity,
            id: city.world.get::<FeatureId>(hit.entity).map(|f| f.guid.clone()).unwrap_or_default(),
            class: city.world.get::<SemanticClass>(hit.entity).copied(),
            point: hit.point,
            distance: hit.distance,
        },
    }
}

/// The skyline seen from `observer` (a cell, eyes `eye_height` up) towards
/// `azimuth_deg` (clockwise from grid north): the largest elevation angle,
/// degrees, of the surface model along that bearing, out to the grid's edge.
pub fn skyline_angle(grid: &CityGrid, observer: (usize, usize), eye_height: f64, azimuth_deg: f64) -> f64 {
    let (nx, ny) = (grid.nx(), grid.ny());
    let z = &grid.model.z;
    let eye = z[observer.1 * nx + observer.0] + eye_height;
    let (sx, sy) = (azimuth_deg.to_radians().sin(), azimuth_deg.to_radians().cos());
    let mut best = f64::NEG_INFINITY;
    let mut s = 1.0;
    loop {
        let (x, y) = (observer.0 as f64 + sx * s * 0.5, observer.1 as f64 + sy * s * 0.5);
        let (i, j) = (x.round() as i64, y.round() as i64);
        if i < 0 || j < 0 || i >= nx as i64 || j >= ny as i64 {
            break;
        }
        let v = z[j as usize * nx + i as usize];
        if v.is_finite() {
            let d = s * 0.5 * grid.model.dx;
            best = best.max(((v - eye) / d).atan().to_degrees());
        }
        s += 1.0;
    }
    best
}
