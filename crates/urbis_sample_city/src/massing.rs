//! Buildings: CityJSON solids (flat and gable roofs, parts) standing on the
//! terrain, with their attributes and addresses.

use glam::{DVec2, DVec3};
use rand::RngExt;
use serde_json::{Value, json};

use crate::Ground;
use crate::buildings::{BuildingSpec, Part, Roof};
use crate::layout::{self, Street};
use crate::writer::{CityJsonWriter, GROUND, ROOF, WALL};

/// Nearest street of the block to the building, and a house number along it.
pub(crate) fn address_for(
    spec: &BuildingSpec,
    block: &layout::Block,
    streets: &[Street],
    rng: &mut impl rand::Rng,
) -> Value {
    let ring = &spec.parts[0].rings[0];
    let c = ring.iter().copied().sum::<DVec2>() / ring.len() as f64;
    let d = [c.y - block.min.y, block.max.x - c.x, block.max.y - c.y, c.x - block.min.x];
    let side = (0..4).min_by(|&a, &b| d[a].total_cmp(&d[b])).unwrap_or(0);
    let street = &streets[block.streets[side]];
    let along = if street.east_west { c.x } else { c.y };
    let parity = if side == 0 || side == 3 { 1 } else { 0 }; // odd numbers south and west
    let number = 2 * (along / 10.0).floor() as i64 + parity + 2 * rng.random_range(0..1i64);
    json!([{
        "ThoroughfareNumber": number.max(1).to_string(),
        "ThoroughfareName": street.name,
        "LocalityName": "Rongdong, Xiong'an New Area",
        "PostalCode": "071700",
        "CountryName": "China"
    }])
}

pub(crate) fn solid_faces(ground: &Ground, p: &Part, base: f64) -> Vec<(Vec<Vec<DVec3>>, usize)> {
    let z0 = base + p.base_offset;
    let z1 = z0 + p.height;
    let mut faces = Vec::new();
    let at = |q: DVec2, z: f64| ground.at(q, z);
    faces.push((p.rings.iter().map(|r| r.iter().rev().map(|&q| at(q, z0)).collect()).collect(), GROUND));
    match p.roof {
        Roof::Gable { rise } if p.rings.len() == 1 && p.rings[0].len() == 4 => {
            let r = &p.rings[0];
            // Start at a corner whose first edge is a long side.
            let s = if r[0].distance(r[1]) >= r[1].distance(r[2]) { 0 } else { 1 };
            let q = |i: usize| r[(s + i) % 4];
            let (m12, m30) = ((q(1) + q(2)) / 2.0, (q(3) + q(0)) / 2.0);
            let zr = z1 + rise;
            faces.push((vec![vec![at(q(0), z0), at(q(1), z0), at(q(1), z1), at(q(0), z1)]], WALL));
            faces.push((vec![vec![at(q(2), z0), at(q(3), z0), at(q(3), z1), at(q(2), z1)]], WALL));
            faces.push((vec![vec![at(q(1), z0), at(q(2), z0), at(q(2), z1), at(m12, zr), at(q(1), z1)]], WALL));
            faces.push((vec![vec![at(q(3), z0), at(q(0), z0), at(q(0), z1), at(m30, zr), at(q(3), z1)]], WALL));
            faces.push((vec![vec![at(q(0), z1), at(q(1), z1), at(m12, zr), at(m30, zr)]], ROOF));
            faces.push((vec![vec![at(q(2), z1), at(q(3), z1), at(m30, zr), at(m12, zr)]], ROOF));
        }
        _ => {
            faces.push((p.rings.iter().map(|r| r.iter().map(|&q| at(q, z1)).collect()).collect(), ROOF));
            for ring in &p.rings {
                for i in 0..ring.len() {
                    let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                    faces.push((vec![vec![at(a, z0), at(b, z0), at(b, z1), at(a, z1)]], WALL));
                }
            }
        }
    }
    faces
}

/// Writes a building (and its parts); returns the number of BuildingParts.
pub(crate) fn add_building(
    w: &mut CityJsonWriter,
    ground: &Ground,
    id: &str,
    spec: &BuildingSpec,
    address: Value,
) -> usize {
    let footprint = &spec.parts[0].rings[0];
    let c = footprint.iter().copied().sum::<DVec2>() / footprint.len() as f64;
    let base = footprint.iter().chain([&c]).map(|&p| ground.z(p)).fold(f64::INFINITY, f64::min) - 0.3;
    let roof_type = match spec.parts[0].roof {
        Roof::Flat => "flat",
        Roof::Gable { .. } => "gable",
    };
    let mut attrs = json!({
        "height": (spec.height() * 100.0).round() / 100.0,
        "floors": spec.floors(),
        "use": spec.usage,
        "year_built": spec.year,
        "typology": spec.typology,
        "roof_type": roof_type,
    });
    if spec.parts.len() == 1 {
        let geom =
            w.solid(if roof_type == "gable" { "2.2" } else { "1.2" }, &solid_faces(ground, &spec.parts[0], base));
        w.add(id, json!({"type": "Building", "attributes": attrs, "address": address, "geometry": [geom]}));
        return 0;
    }
    let children: Vec<String> = (0..spec.parts.len()).map(|k| format!("{id}-P{}", k + 1)).collect();
    for (k, p) in spec.parts.iter().enumerate() {
        let geom = w.solid("1.2", &solid_faces(ground, p, base));
        let pattrs = json!({
            "height": ((p.base_offset + p.height) * 100.0).round() / 100.0,
            "floors": p.floors,
            "use": spec.usage,
            "part": if k == 0 { "podium" } else { "tower" },
        });
        w.add(&children[k], json!({"type": "BuildingPart", "attributes": pattrs, "parents": [id], "geometry": [geom]}));
    }
    attrs["parts"] = spec.parts.len().into();
    w.add(id, json!({"type": "Building", "attributes": attrs, "address": address, "children": children}));
    spec.parts.len()
}
