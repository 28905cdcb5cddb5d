//! Streets: road segments draped on the terrain between intersections, and
//! bridges where north-south streets cross the river valley.

use glam::{DVec2, DVec3};
use serde_json::json;

use crate::Ground;
use crate::buildings::{Part, Roof};
use crate::layout::Street;
use crate::terrain::River;
use crate::writer::{CityJsonWriter, GROUND, ROOF, WALL};

/// Quads of a draped rectangle, subdivided every `step` metres.
pub(crate) fn drape_rect(ground: &Ground, min: DVec2, max: DVec2, step: f64, lift: f64) -> Vec<Vec<Vec<DVec3>>> {
    let nx = ((max.x - min.x) / step).ceil().max(1.0) as usize;
    let ny = ((max.y - min.y) / step).ceil().max(1.0) as usize;
    let p = |i: usize, j: usize| {
        DVec2::new(min.x + (max.x - min.x) * i as f64 / nx as f64, min.y + (max.y - min.y) * j as f64 / ny as f64)
    };
    let mut quads = Vec::with_capacity(nx * ny);
    for i in 0..nx {
        for j in 0..ny {
            quads.push(vec![vec![
                ground.draped(p(i, j), lift),
                ground.draped(p(i + 1, j), lift),
                ground.draped(p(i + 1, j + 1), lift),
                ground.draped(p(i, j + 1), lift),
            ]]);
        }
    }
    quads
}

/// Road segments between intersections, and bridges where north-south streets cross the river.
pub(crate) fn add_streets(
    w: &mut CityJsonWriter,
    ground: &Ground,
    streets: &[Street],
    river: &River,
    size: f64,
) -> (usize, usize) {
    let (mut roads, mut bridges) = (0, 0);
    let ns: Vec<&Street> = streets.iter().filter(|s| !s.east_west).collect();
    let ew: Vec<&Street> = streets.iter().filter(|s| s.east_west).collect();
    let in_corridor = |p: DVec2| river.distance(p.x, p.y) < River::CORRIDOR_HALF_WIDTH - 5.0;
    let road = |w: &mut CityJsonWriter, s: &Street, min: DVec2, max: DVec2, k: usize| {
        let id = format!("XA-R-{}-{}", s.name.replace(' ', ""), k);
        let faces = drape_rect(ground, min, max, 10.0, if s.arterial { 0.3 } else { 0.25 });
        let geom = w.multi_surface("2", &faces, Some("TrafficArea"));
        let attrs = json!({
            "name": s.name, "class": if s.arterial { "arterial" } else { "local" },
            "width": s.width, "lanes": if s.arterial { 6 } else { 2 },
            "surface": "asphalt", "speed_limit": if s.arterial { 60 } else { 40 },
        });
        w.add(&id, json!({"type": "Road", "attributes": attrs, "geometry": [geom]}));
    };
    // East-west segments span intersection centre to centre.
    for s in &ew {
        for (k, pair) in ns.windows(2).enumerate() {
            let (x0, x1) = (pair[0].coord, pair[1].coord);
            let blocked = (0..=10).any(|i| in_corridor(DVec2::new(x0 + (x1 - x0) * i as f64 / 10.0, s.coord)));
            if blocked {
                continue;
            }
            road(w, s, DVec2::new(x0, s.coord - s.width / 2.0), DVec2::new(x1, s.coord + s.width / 2.0), k);
            roads += 1;
        }
    }
    // North-south segments stop at the east-west streets' edges.
    for (si, s) in ns.iter().enumerate() {
        let crosses = s.arterial || si % 2 == 0;
        let x = s.coord;
        let present = |e: &Street| !in_corridor(DVec2::new(x, e.coord));
        let mut k = 0;
        for pair in ew.windows(2) {
            let y0 = pair[0].coord + if present(pair[0]) { pair[0].width / 2.0 } else { 0.0 };
            let y1 = pair[1].coord - if present(pair[1]) { pair[1].width / 2.0 } else { 0.0 };
            // Split at the corridor.
            let ys: Vec<f64> = (0..=((y1 - y0) as usize)).map(|i| y0 + i as f64).collect();
            let inside: Vec<bool> = ys.iter().map(|&y| in_corridor(DVec2::new(x, y))).collect();
            let mut start = 0;
            while start < ys.len() {
                let mut end = start;
                while end + 1 < ys.len() && inside[end + 1] == inside[start] {
                    end += 1;
                }
                let (a, b) = (ys[start], if end + 1 < ys.len() { ys[end + 1] } else { y1 });
                if b - a > 2.0 {
                    let (min, max) = (DVec2::new(x - s.width / 2.0, a), DVec2::new(x + s.width / 2.0, b));
                    if !inside[start] {
                        road(w, s, min, max, 100 + k);
                        roads += 1;
                    } else if crosses {
                        add_bridge(w, ground, s, min, max, k);
                        bridges += 1;
                    }
                    k += 1;
                }
                start = end + 1;
            }
        }
    }
    let _ = size;
    (roads, bridges)
}

fn add_bridge(w: &mut CityJsonWriter, ground: &Ground, s: &Street, min: DVec2, max: DVec2, k: usize) {
    let za = ground.z(DVec2::new((min.x + max.x) / 2.0, min.y)) + 0.3;
    let zb = ground.z(DVec2::new((min.x + max.x) / 2.0, max.y)) + 0.3;
    let top = |p: DVec2| za + (zb - za) * (p.y - min.y) / (max.y - min.y);
    let part = Part {
        rings: vec![vec![min, DVec2::new(max.x, min.y), max, DVec2::new(min.x, max.y)]],
        base_offset: 0.0,
        height: 0.0,
        floors: 0,
        roof: Roof::Flat,
    };
    let ring = &part.rings[0];
    let at = |q: DVec2, dz: f64| ground.at(q, top(q) + dz);
    let mut faces = vec![
        (vec![ring.iter().rev().map(|&q| at(q, -1.4)).collect()], GROUND),
        (vec![ring.iter().map(|&q| at(q, 0.0)).collect()], ROOF),
    ];
    for i in 0..4 {
        let (a, b) = (ring[i], ring[(i + 1) % 4]);
        faces.push((vec![vec![at(a, -1.4), at(b, -1.4), at(b, 0.0), at(a, 0.0)]], WALL));
    }
    let geom = w.solid("2", &faces);
    let id = format!("XA-BR-{}-{}", s.name.replace(' ', ""), k);
    let attrs = json!({"name": format!("{} Bridge", s.name), "carries": s.name, "length": ((max.y - min.y) * 10.0).round() / 10.0, "width": s.width, "material": "concrete"});
    w.add(&id, json!({"type": "Bridge", "attributes": attrs, "geometry": [geom]}));
}
