//! A synthetic metropolis of any number of buildings, for city-scale
//! rendering benchmarks (`urbis sample-city --buildings N`).
//!
//! Plain data: each building is a footprint shape scaled to a width and
//! depth, turned by a yaw and raised to a height, on a lot of a street
//! grid. The spread follows what big cities show: a dense core of towers
//! whose median height falls off with distance from the centre (a
//! log-normal around that median), mid-rise districts and low-rise
//! outskirts; lots 20–40 m wide with streets every five lots; districts of
//! 16 × 16 lots turned by up to ±20°; rectangles for most footprints, and
//! L, T, U and courtyard blocks for the rest. Deterministic for a seed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Footprint shapes, in the order of the renderer's templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    Rect = 0,
    L = 1,
    T = 2,
    U = 3,
    Courtyard = 4,
}

impl Shape {
    pub const ALL: [Shape; 5] = [Shape::Rect, Shape::L, Shape::T, Shape::U, Shape::Courtyard];

    /// The footprint in unit space ([−0.5, 0.5]², counter-clockwise, edges
    /// along the axes): the outer ring and, for a courtyard, the hole.
    pub fn rings(self) -> Vec<Vec<[f32; 2]>> {
        let r = |pts: &[[f32; 2]]| pts.to_vec();
        match self {
            Shape::Rect => vec![r(&[[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])],
            Shape::L => vec![r(&[[-0.5, -0.5], [0.5, -0.5], [0.5, 0.0], [0.0, 0.0], [0.0, 0.5], [-0.5, 0.5]])],
            Shape::T => vec![r(&[
                [-0.2, -0.5],
                [0.2, -0.5],
                [0.2, 0.1],
                [0.5, 0.1],
                [0.5, 0.5],
                [-0.5, 0.5],
                [-0.5, 0.1],
                [-0.2, 0.1],
            ])],
            Shape::U => vec![r(&[
                [-0.5, -0.5],
                [0.5, -0.5],
                [0.5, 0.5],
                [0.2, 0.5],
                [0.2, -0.1],
                [-0.2, -0.1],
                [-0.2, 0.5],
                [-0.5, 0.5],
            ])],
            Shape::Courtyard => vec![
                r(&[[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]),
                r(&[[-0.25, -0.25], [-0.25, 0.25], [0.25, 0.25], [0.25, -0.25]]),
            ],
        }
    }
}

/// One building of the metropolis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MassBuilding {
    /// Footprint centre, metres east and north of the city centre.
    pub x: f64,
    pub y: f64,
    /// Radians, counter-clockwise from east.
    pub yaw: f32,
    pub width: f32,
    pub depth: f32,
    pub height: f32,
    pub shape: Shape,
}

/// The generated city.
#[derive(Debug, Clone, PartialEq)]
pub struct Metropolis {
    pub buildings: Vec<MassBuilding>,
    /// Half the side of the square the lots cover, metres.
    pub half_size_m: f64,
}

const LOT_M: f64 = 30.0;
const STREET_M: f64 = 16.0;
const LOTS_PER_BLOCK: usize = 5;
const DISTRICT_LOTS: usize = 16;

/// `count` buildings on the smallest square grid of lots that holds them.
pub fn metropolis(count: usize, seed: u64) -> Metropolis {
    let side = ((count as f64).sqrt().ceil() as usize).max(1);
    let pitch = |i: usize| i as f64 * LOT_M + (i / LOTS_PER_BLOCK) as f64 * STREET_M;
    let extent = pitch(side);
    let half = extent / 2.0;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let districts = side.div_ceil(DISTRICT_LOTS);
    let turns: Vec<f32> = (0..districts * districts)
        .map(|_| if rng.random_bool(0.6) { 0.0 } else { rng.random_range(-0.35f32..0.35) })
        .collect();
    let mut buildings = Vec::with_capacity(count);
    'rows: for row in 0..side {
        for col in 0..side {
            if buildings.len() == count {
                break 'rows;
            }
            let x = pitch(col) + LOT_M / 2.0 - half;
            let y = pitch(row) + LOT_M / 2.0 - half;
            // Distance from the centre as a fraction of the half size.
            let r = (x.hypot(y) / half.max(1.0)).min(1.5);
            let median = 8.0 + 70.0 * (-(r / 0.12).powi(2)).exp() + 18.0 * (-(r / 0.45).powi(2)).exp();
            let normal: f64 = {
                // Box–Muller.
                let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            };
            let height = (median * (0.45 * normal).exp()).clamp(3.0, 420.0) as f32;
            let tower = height > 60.0;
            let (lo, hi) = if tower { (14.0, 26.0) } else { (9.0, 27.0) };
            let width = rng.random_range(lo..hi) as f32;
            let depth = rng.random_range(lo..hi) as f32;
            let pick: f64 = rng.random();
            let shape = if tower || pick < 0.60 {
                Shape::Rect
            } else if pick < 0.75 {
                Shape::L
            } else if pick < 0.83 {
                Shape::T
            } else if pick < 0.90 {
                Shape::U
            } else if width > 18.0 && depth > 18.0 {
                Shape::Courtyard
            } else {
                Shape::Rect
            };
            let district = (row / DISTRICT_LOTS) * districts + col / DISTRICT_LOTS;
            let quarter = rng.random_range(0..4) as f32 * std::f32::consts::FRAC_PI_2;
            let yaw = turns[district] + if shape == Shape::Rect { 0.0 } else { quarter };
            buildings.push(MassBuilding { x, y, yaw, width, depth, height, shape });
        }
    }
    Metropolis { buildings, half_size_m: half }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_exact_and_the_spread_is_a_city() {
        let m = metropolis(40_000, 7);
        assert_eq!(m.buildings.len(), 40_000);
        // Every footprint sits on its own 30 m lot: no two centres closer than a lot.
        let mut xs: Vec<_> =
            m.buildings.iter().map(|b| ((b.x / LOT_M).round() as i64, (b.y / LOT_M).round() as i64)).collect();
        xs.sort_unstable();
        xs.dedup();
        assert_eq!(xs.len(), 40_000, "one building per lot");
        assert!(m.buildings.iter().all(|b| b.width.max(b.depth) < LOT_M as f32));
        // Taller in the core than in the outskirts (medians).
        let median = |f: &dyn Fn(f64) -> bool| {
            let mut h: Vec<f32> =
                m.buildings.iter().filter(|b| f(b.x.hypot(b.y) / m.half_size_m)).map(|b| b.height).collect();
            assert!(h.len() > 100);
            h.sort_by(f32::total_cmp);
            h[h.len() / 2]
        };
        let (core, outskirts) = (median(&|r| r < 0.1), median(&|r| r > 0.8));
        assert!(core > 40.0 && outskirts < 12.0, "core {core} m, outskirts {outskirts} m");
        // Every shape occurs; rectangles are the most common.
        for s in Shape::ALL {
            let n = m.buildings.iter().filter(|b| b.shape == s).count();
            assert!(n > 200, "{s:?}: {n}");
        }
        assert_eq!(metropolis(1000, 7), metropolis(1000, 7), "deterministic");
    }
}
