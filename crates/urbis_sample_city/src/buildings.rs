//! Building typologies: the footprints and massing that fill a block.
//!
//! Every typology returns [`BuildingSpec`]s in local metres; the writer
//! turns them into CityJSON solids standing on the terrain.

use glam::DVec2;
use rand::{Rng, RngExt};

use crate::layout::{Block, Zone};

/// A roof form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Roof {
    Flat,
    /// A gable roof over a rectangle, ridge along its longer side, `rise` metres above the eaves.
    Gable {
        rise: f64,
    },
}

/// One extruded part: footprint rings (exterior counter-clockwise, holes
/// clockwise), the height of its base over the building's base, its own height.
#[derive(Debug, Clone)]
pub struct Part {
    pub rings: Vec<Vec<DVec2>>,
    pub base_offset: f64,
    pub height: f64,
    pub floors: u32,
    pub roof: Roof,
}

/// A building before it is placed on the ground.
#[derive(Debug, Clone)]
pub struct BuildingSpec {
    pub parts: Vec<Part>,
    pub usage: &'static str,
    pub typology: &'static str,
    pub year: i32,
}

impl BuildingSpec {
    pub fn height(&self) -> f64 {
        self.parts.iter().map(|p| p.base_offset + p.height + roof_rise(p.roof)).fold(0.0, f64::max)
    }

    pub fn floors(&self) -> u32 {
        let mut f = 0;
        for p in &self.parts {
            f = f.max(p.floors + (p.base_offset / 4.5).round() as u32);
        }
        f
    }
}

fn roof_rise(r: Roof) -> f64 {
    match r {
        Roof::Flat => 0.0,
        Roof::Gable { rise } => rise,
    }
}

fn rect(min: DVec2, max: DVec2) -> Vec<DVec2> {
    vec![min, DVec2::new(max.x, min.y), max, DVec2::new(min.x, max.y)]
}

/// A rectangle of `w` × `d` centred at `c`, rotated by `angle` radians (CCW).
fn rotated_rect(c: DVec2, w: f64, d: f64, angle: f64) -> Vec<DVec2> {
    let r = DVec2::from_angle(angle);
    [(-w, -d), (w, -d), (w, d), (-w, d)].iter().map(|&(x, y)| c + r.rotate(DVec2::new(x, y) * 0.5)).collect()
}

fn part(rings: Vec<Vec<DVec2>>, floors: u32, storey: f64) -> Part {
    Part { rings, base_offset: 0.0, height: floors as f64 * storey, floors, roof: Roof::Flat }
}

fn year(rng: &mut impl Rng, from: i32, to: i32) -> i32 {
    rng.random_range(from..=to)
}

/// Fills a block with the buildings of its zone.
pub fn fill_block(block: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    match block.zone {
        Zone::Residential => residential(block, rng),
        Zone::Cbd => cbd(block, rng),
        Zone::Village => village(block, rng),
        Zone::Industrial => industrial(block, rng),
        Zone::Public => public(block, rng),
        Zone::Park | Zone::Pond => Vec::new(),
    }
}

/// Slab rows facing south with sunlight spacing, or point towers.
fn residential(b: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    let size = b.max - b.min;
    let mut out = Vec::new();
    let towers = rng.random_bool(0.3);
    let floors: u32 = if towers { rng.random_range(18..=33) } else { rng.random_range(6..=18) };
    let storey = 3.0;
    let h = floors as f64 * storey;
    if towers {
        // Point towers on a grid, spaced for light.
        let n = ((size.x + 10.0) / 36.0).floor().max(1.0) as usize;
        let m = ((size.y + 10.0) / 44.0).floor().max(1.0) as usize;
        for i in 0..n {
            for j in 0..m {
                let c = b.min + DVec2::new((i as f64 + 0.5) * size.x / n as f64, (j as f64 + 0.5) * size.y / m as f64);
                let w = rng.random_range(18.0..24.0);
                let fl = (floors as i32 + rng.random_range(-3..=3)).max(12) as u32;
                out.push(BuildingSpec {
                    parts: vec![part(vec![rotated_rect(c, w, w * 0.9, 0.0)], fl, storey)],
                    usage: "residential",
                    typology: "point tower",
                    year: year(rng, 2005, 2025),
                });
            }
        }
        return out;
    }
    // Slabs: depth 12-14 m; rows separated by ~0.9 × height (sunlight spacing, capped).
    let depth = rng.random_range(12.0..14.0);
    let gap = (0.9 * h).clamp(14.0, 40.0);
    let rows = (((size.y - depth) / (depth + gap)).floor() as usize + 1).max(1);
    let mut top = b.min.y;
    let cols = if size.x > 95.0 { 2 } else { 1 };
    for j in 0..rows {
        let y0 = b.min.y + j as f64 * (depth + gap);
        if y0 + depth > b.max.y {
            break;
        }
        for i in 0..cols {
            let col_w = size.x / cols as f64;
            let len = (col_w - rng.random_range(8.0..16.0)).max(20.0);
            let x0 = b.min.x + i as f64 * col_w + (col_w - len) / 2.0;
            let fl = (floors as i32 + rng.random_range(-2..=2)).max(4) as u32;
            top = top.max(y0 + depth + gap * 0.25);
            let l_shape = rng.random_bool(0.15);
            let ring = if l_shape {
                let wing = rng.random_range(10.0..14.0);
                let wlen = rng.random_range((depth + 3.0)..(depth + gap * 0.25).max(depth + 4.0));
                vec![
                    DVec2::new(x0, y0),
                    DVec2::new(x0 + len, y0),
                    DVec2::new(x0 + len, y0 + depth),
                    DVec2::new(x0 + wing, y0 + depth),
                    DVec2::new(x0 + wing, (y0 + wlen).min(b.max.y)),
                    DVec2::new(x0, (y0 + wlen).min(b.max.y)),
                ]
            } else {
                rect(DVec2::new(x0, y0), DVec2::new(x0 + len, y0 + depth))
            };
            out.push(BuildingSpec {
                parts: vec![part(vec![ring], fl, storey)],
                usage: "residential",
                typology: if l_shape { "L-shaped slab" } else { "slab" },
                year: year(rng, 1995, 2024),
            });
        }
    }
    // Ancillary buildings in the gaps between slab rows: clubhouses, kindergartens, substations.
    for j in 0..rows.saturating_sub(1) {
        let y = b.min.y + j as f64 * (depth + gap) + depth + gap / 2.0;
        if gap < 16.0 {
            break;
        }
        let n = rng.random_range(1..=3);
        for k in 0..n {
            let x = b.min.x + 8.0 + k as f64 * (size.x - 16.0) / n as f64;
            let (w, d) = (rng.random_range(8.0..14.0), (gap * 0.4).min(10.0));
            let (usage, typology, floors) = match rng.random_range(0..3) {
                0 => ("public", "kindergarten", 2),
                1 => ("commercial", "clubhouse", 1),
                _ => ("industrial", "substation", 1),
            };
            out.push(BuildingSpec {
                parts: vec![part(vec![rect(DVec2::new(x, y - d / 2.0), DVec2::new(x + w, y + d / 2.0))], floors, 3.6)],
                usage,
                typology,
                year: year(rng, 1998, 2025),
            });
        }
    }
    // Shops along the south street front where there is room.
    let shops = (size.x / 14.0) as usize;
    if top < b.max.y - 12.0 && rng.random_bool(0.8) {
        for i in 0..shops.min(6) {
            let x = b.min.x + 4.0 + i as f64 * 14.0;
            out.push(BuildingSpec {
                parts: vec![part(vec![rect(DVec2::new(x, b.max.y - 9.0), DVec2::new(x + 11.0, b.max.y))], 1, 4.5)],
                usage: "commercial",
                typology: "shop",
                year: year(rng, 2000, 2025),
            });
        }
    }
    out
}

/// Towers on podiums, perimeter courtyard blocks and L-shaped offices.
fn cbd(b: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    let size = b.max - b.min;
    let mut out = Vec::new();
    let quads = [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)];
    let kind = rng.random_range(0..3);
    if kind == 2 {
        // One perimeter block with a courtyard.
        let inset = rng.random_range(14.0..18.0);
        let outer = rect(b.min, b.max);
        let mut hole = rect(b.min + DVec2::splat(inset), b.max - DVec2::splat(inset));
        hole.reverse();
        let fl = rng.random_range(6..=10);
        out.push(BuildingSpec {
            parts: vec![part(vec![outer, hole], fl, 3.8)],
            usage: if rng.random_bool(0.5) { "office" } else { "commercial" },
            typology: "courtyard block",
            year: year(rng, 2010, 2025),
        });
        return out;
    }
    for (qx, qy) in quads {
        let qmin = b.min + size * DVec2::new(qx, qy) + DVec2::splat(3.0);
        let qmax = qmin + size * 0.5 - DVec2::splat(6.0);
        let qs = qmax - qmin;
        if kind == 0 && rng.random_bool(0.75) {
            // Tower on podium.
            let pod_fl = rng.random_range(3..=5);
            let podium = part(vec![rect(qmin, qmax)], pod_fl, 5.0);
            let tw = qs.min_element() * rng.random_range(0.5..0.7);
            let c = (qmin + qmax) / 2.0 + DVec2::new(rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0));
            let tower_fl = rng.random_range(20..=45);
            let mut tower = part(vec![rotated_rect(c, tw, tw * rng.random_range(0.8..1.0), 0.0)], tower_fl, 3.9);
            tower.base_offset = podium.height;
            out.push(BuildingSpec {
                parts: vec![podium, tower],
                usage: if rng.random_bool(0.6) { "office" } else { "commercial" },
                typology: "tower on podium",
                year: year(rng, 2012, 2025),
            });
        } else {
            let arm = qs.min_element() * 0.45;
            let ring = vec![
                qmin,
                DVec2::new(qmax.x, qmin.y),
                DVec2::new(qmax.x, qmin.y + arm),
                DVec2::new(qmin.x + arm, qmin.y + arm),
                DVec2::new(qmin.x + arm, qmax.y),
                DVec2::new(qmin.x, qmax.y),
            ];
            out.push(BuildingSpec {
                parts: vec![part(vec![ring], rng.random_range(5..=14), 3.8)],
                usage: if rng.random_bool(0.5) { "office" } else { "commercial" },
                typology: "L-shaped block",
                year: year(rng, 2000, 2025),
            });
        }
    }
    out
}

/// Dense low-rise houses with gable roofs, slightly irregular.
fn village(b: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    let size = b.max - b.min;
    let mut out = Vec::new();
    let (cw, ch) = (13.0, 11.5);
    let (n, m) = ((size.x / cw).floor() as usize, (size.y / ch).floor() as usize);
    for i in 0..n {
        for j in 0..m {
            if rng.random_bool(0.12) {
                continue; // a yard
            }
            let c = b.min + DVec2::new((i as f64 + 0.5) * cw, (j as f64 + 0.5) * ch);
            let w = rng.random_range(8.5..11.5);
            let d = rng.random_range(7.0..9.5);
            let angle = rng.random_range(-0.06..0.06);
            let floors = rng.random_range(1..=3);
            let mut p = part(vec![rotated_rect(c, w, d, angle)], floors, 3.0);
            p.roof = Roof::Gable { rise: d * rng.random_range(0.25..0.4) };
            out.push(BuildingSpec {
                parts: vec![p],
                usage: "residential",
                typology: "house",
                year: year(rng, 1965, 2020),
            });
        }
    }
    out
}

/// Large sheds and a small office.
fn industrial(b: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    let size = b.max - b.min;
    let mut out = Vec::new();
    let halves = if rng.random_bool(0.5) { 2 } else { 1 };
    for k in 0..halves {
        let w = size.x / halves as f64;
        let min = DVec2::new(b.min.x + k as f64 * w + 4.0, b.min.y + 6.0);
        let max = DVec2::new(min.x + w - 8.0, b.max.y - rng.random_range(20.0..30.0));
        let mut p = part(vec![rect(min, max)], 1, rng.random_range(8.0..14.0));
        if rng.random_bool(0.4) {
            p.roof = Roof::Gable { rise: 2.5 };
        }
        out.push(BuildingSpec { parts: vec![p], usage: "industrial", typology: "shed", year: year(rng, 1985, 2022) });
    }
    out.push(BuildingSpec {
        parts: vec![part(
            vec![rect(DVec2::new(b.min.x + 4.0, b.max.y - 16.0), DVec2::new(b.min.x + 34.0, b.max.y - 2.0))],
            3,
            3.5,
        )],
        usage: "office",
        typology: "site office",
        year: year(rng, 1990, 2020),
    });
    out
}

/// A school or hospital: a courtyard main building, an L wing and a hall.
fn public(b: &Block, rng: &mut impl Rng) -> Vec<BuildingSpec> {
    let size = b.max - b.min;
    let mut out = Vec::new();
    let main_min = b.min + DVec2::splat(4.0);
    let main_max = main_min + DVec2::new(size.x * 0.55, size.y * 0.55);
    let outer = rect(main_min, main_max);
    let mut hole = rect(main_min + DVec2::splat(13.0), main_max - DVec2::splat(13.0));
    hole.reverse();
    out.push(BuildingSpec {
        parts: vec![part(vec![outer, hole], rng.random_range(4..=6), 3.9)],
        usage: "public",
        typology: "courtyard",
        year: year(rng, 1990, 2024),
    });
    let hx = main_max.x + 8.0;
    if b.max.x - hx > 16.0 {
        out.push(BuildingSpec {
            parts: vec![part(
                vec![rect(DVec2::new(hx, b.min.y + 4.0), DVec2::new(b.max.x - 4.0, b.min.y + 4.0 + size.y * 0.35))],
                2,
                6.0,
            )],
            usage: "public",
            typology: "hall",
            year: year(rng, 1990, 2024),
        });
    }
    let wy = main_max.y + 8.0;
    if b.max.y - wy > 14.0 {
        let arm = 12.0;
        let (x0, y0, x1, y1) = (b.min.x + 4.0, wy, b.min.x + size.x * 0.7, b.max.y - 4.0);
        let ring = vec![
            DVec2::new(x0, y0),
            DVec2::new(x0 + arm, y0),
            DVec2::new(x0 + arm, y1 - arm),
            DVec2::new(x1, y1 - arm),
            DVec2::new(x1, y1),
            DVec2::new(x0, y1),
        ];
        out.push(BuildingSpec {
            parts: vec![part(vec![ring], rng.random_range(3..=5), 3.6)],
            usage: "public",
            typology: "L-shaped wing",
            year: year(rng, 1990, 2024),
        });
    }
    out
}
