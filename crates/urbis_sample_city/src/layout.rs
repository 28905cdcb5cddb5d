//! The street grid, its names, and the blocks between the streets with
//! their zoning.

use glam::DVec2;
use rand::{Rng, RngExt};

use crate::terrain::River;

/// Distance between street lines, metres.
pub const STREET_SPACING: f64 = 125.0;
/// Every this many lines is an avenue (arterial).
pub const ARTERIAL_EVERY: usize = 4;

/// One street line of the grid.
#[derive(Debug, Clone)]
pub struct Street {
    pub name: String,
    /// Runs east-west (constant y) when true, north-south (constant x) otherwise.
    pub east_west: bool,
    /// Its y (east-west) or x (north-south), local metres.
    pub coord: f64,
    pub width: f64,
    pub arterial: bool,
}

/// Land use of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Cbd,
    Residential,
    Village,
    Industrial,
    Public,
    Park,
    Pond,
}

/// A block: the buildable lot between four streets.
#[derive(Debug, Clone)]
pub struct Block {
    pub id: usize,
    pub min: DVec2,
    pub max: DVec2,
    /// Indices into the street list: south, east, north, west.
    pub streets: [usize; 4],
    pub zone: Zone,
}

const WORDS: [&str; 24] = [
    "Rongxi",
    "Baiyang",
    "Qiming",
    "Jinhu",
    "Anxin",
    "Xiongzhou",
    "Rongcheng",
    "Yuhe",
    "Daqing",
    "Qingxi",
    "Lanyuan",
    "Taihang",
    "Huaxin",
    "Dongrong",
    "Shuangyang",
    "Jingxiong",
    "Nanbai",
    "Beiyuan",
    "Zhaobei",
    "Liuyang",
    "Xinglong",
    "Mingde",
    "Lianchi",
    "Yanhe",
];

/// The grid: lines every `spacing` metres over `[0, size]`, arterials every `arterial_every` lines.
pub fn streets(size: f64, spacing: f64, arterial_every: usize) -> Vec<Street> {
    let n = (size / spacing).round() as usize;
    let mut out = Vec::new();
    for east_west in [true, false] {
        for i in 0..=n {
            let arterial = i % arterial_every == 0;
            let k = if east_west { i } else { i + n + 1 };
            let suffix = match (arterial, east_west) {
                (true, _) => "Avenue",
                (false, true) => "Road",
                (false, false) => "Street",
            };
            out.push(Street {
                name: format!("{} {}", WORDS[k % WORDS.len()], suffix),
                east_west,
                coord: i as f64 * spacing,
                width: if arterial { 36.0 } else { 16.0 },
                arterial,
            });
        }
    }
    out
}

/// Whether any sample of the rectangle lies within `margin` of the river corridor.
pub fn touches_corridor(river: &River, min: DVec2, max: DVec2, margin: f64) -> bool {
    let steps = 8;
    (0..=steps).any(|i| {
        (0..=steps).any(|j| {
            let p = min + (max - min) * DVec2::new(i as f64 / steps as f64, j as f64 / steps as f64);
            river.distance(p.x, p.y) < River::CORRIDOR_HALF_WIDTH + margin
        })
    })
}

/// The blocks between the streets, zoned.
pub fn blocks(
    streets: &[Street],
    size: f64,
    river: &River,
    hill: DVec2,
    pond: DVec2,
    rng: &mut impl Rng,
) -> Vec<Block> {
    let ew: Vec<usize> = (0..streets.len()).filter(|&i| streets[i].east_west).collect();
    let ns: Vec<usize> = (0..streets.len()).filter(|&i| !streets[i].east_west).collect();
    let centre = DVec2::splat(size / 2.0);
    let mut out = Vec::new();
    for w in ns.windows(2) {
        for s in ew.windows(2) {
            let (west, east, south, north) = (&streets[w[0]], &streets[w[1]], &streets[s[0]], &streets[s[1]]);
            const SIDEWALK: f64 = 5.0;
            let min = DVec2::new(west.coord + west.width / 2.0 + SIDEWALK, south.coord + south.width / 2.0 + SIDEWALK);
            let max = DVec2::new(east.coord - east.width / 2.0 - SIDEWALK, north.coord - north.width / 2.0 - SIDEWALK);
            if touches_corridor(river, min, max, 0.0) {
                continue;
            }
            let mid = (min + max) / 2.0;
            let roll: f64 = rng.random();
            let zone = if mid.distance(hill) < 190.0 {
                Zone::Park
            } else if mid.distance(pond) < 80.0 {
                Zone::Pond
            } else if mid.distance(centre) < 330.0 {
                if roll < 0.1 { Zone::Park } else { Zone::Cbd }
            } else if mid.x > 1380.0 && mid.y < 420.0 {
                Zone::Industrial
            } else if mid.x < 640.0 && mid.y > 1250.0 {
                Zone::Village
            } else if roll < 0.09 {
                Zone::Public
            } else if roll < 0.15 {
                Zone::Park
            } else if roll < 0.36 {
                Zone::Village
            } else {
                Zone::Residential
            };
            out.push(Block { id: out.len(), min, max, streets: [s[0], w[1], s[1], w[0]], zone });
        }
    }
    out
}
