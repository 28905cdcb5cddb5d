//! Water, parks and trees.

use glam::{DVec2, DVec3};
use rand::RngExt;
use serde_json::json;

use crate::layout::{self, Street, Zone};
use crate::streets::drape_rect;
use crate::terrain::{River, TerrainModel};
use crate::writer::CityJsonWriter;
use crate::{Ground, POND_RADIUS, SampleCityConfig};

pub(crate) fn add_water(
    w: &mut CityJsonWriter,
    ground: &Ground,
    river: &River,
    model: &TerrainModel,
    pond: DVec2,
    cfg: &SampleCityConfig,
) -> usize {
    // The river: quads along the centreline at the water level.
    let mut faces = Vec::new();
    let step = 10.0;
    let xs: Vec<f64> =
        (0..=((cfg.size + 2.0 * cfg.margin) / step) as usize).map(|i| -cfg.margin + i as f64 * step).collect();
    let edge = |x: f64| {
        let c = DVec2::new(x, river.centre_y(x));
        let t = DVec2::new(1.0, river.centre_y(x + 0.5) - river.centre_y(x - 0.5)).normalize();
        let n = t.perp();
        let z = river.water_level(x);
        (ground.at(c - n * River::WATER_HALF_WIDTH, z), ground.at(c + n * River::WATER_HALF_WIDTH, z))
    };
    for pair in xs.windows(2) {
        let ((a0, a1), (b0, b1)) = (edge(pair[0]), edge(pair[1]));
        faces.push(vec![vec![a0, b0, b1, a1]]);
    }
    let geom = w.multi_surface("1", &faces, Some("WaterSurface"));
    let attrs = json!({"name": "Baigou River", "class": "river", "water_level": (river.water_level(cfg.size / 2.0) * 100.0).round() / 100.0});
    w.add("XA-W-river", json!({"type": "WaterBody", "attributes": attrs, "geometry": [geom]}));

    // The pond: a polygon at its level.
    let level = model.plain(pond.x, pond.y) + 3.5 * 0.4;
    let ring: Vec<DVec3> = (0..48)
        .map(|i| {
            let a = i as f64 / 48.0 * std::f64::consts::TAU;
            ground.at(pond + DVec2::from_angle(a) * POND_RADIUS * 0.85, level)
        })
        .collect();
    let geom = w.multi_surface("1", &[vec![ring]], Some("WaterSurface"));
    w.add("XA-W-pond", json!({"type": "WaterBody", "attributes": {"name": "Lianchi Pond", "class": "pond", "water_level": (level * 100.0).round() / 100.0}, "geometry": [geom]}));
    2
}

pub(crate) fn add_parks(w: &mut CityJsonWriter, ground: &Ground, blocks: &[layout::Block]) -> usize {
    let mut n = 0;
    for b in blocks.iter().filter(|b| b.zone == Zone::Park) {
        let faces = drape_rect(ground, b.min, b.max, 10.0, 0.12);
        let geom = w.multi_surface("1", &faces, None);
        let area = ((b.max - b.min).x * (b.max - b.min).y).round();
        w.add(&format!("XA-P{:03}", b.id), json!({"type": "PlantCover", "attributes": {"class": "park", "area_m2": area, "name": format!("Park {}", b.id)}, "geometry": [geom]}));
        n += 1;
    }
    n
}

/// Unit-height tree templates: a round deciduous crown and a conifer.
fn tree_templates(w: &mut CityJsonWriter) -> [usize; 2] {
    let trunk = |r: f64, h: f64| -> Vec<[DVec3; 3]> {
        let mut t = Vec::new();
        for i in 0..5 {
            let a0 = DVec2::from_angle(i as f64 / 5.0 * std::f64::consts::TAU) * r;
            let a1 = DVec2::from_angle((i + 1) as f64 / 5.0 * std::f64::consts::TAU) * r;
            let (p0, p1) = (a0.extend(0.0), a1.extend(0.0));
            let (q0, q1) = (a0.extend(h), a1.extend(h));
            t.push([p0, p1, q1]);
            t.push([p0, q1, q0]);
        }
        t
    };
    // Icosahedron crown.
    let phi = (1.0 + 5f64.sqrt()) / 2.0;
    let v: Vec<DVec3> = [
        (-1.0, phi, 0.0),
        (1.0, phi, 0.0),
        (-1.0, -phi, 0.0),
        (1.0, -phi, 0.0),
        (0.0, -1.0, phi),
        (0.0, 1.0, phi),
        (0.0, -1.0, -phi),
        (0.0, 1.0, -phi),
        (phi, 0.0, -1.0),
        (phi, 0.0, 1.0),
        (-phi, 0.0, -1.0),
        (-phi, 0.0, 1.0),
    ]
    .iter()
    .map(|&(x, y, z)| DVec3::new(x, y, z).normalize() * DVec3::new(2.6, 2.6, 2.3) + DVec3::new(0.0, 0.0, 5.4))
    .collect();
    let faces = [
        [0, 11, 5],
        [0, 5, 1],
        [0, 1, 7],
        [0, 7, 10],
        [0, 10, 11],
        [1, 5, 9],
        [5, 11, 4],
        [11, 10, 2],
        [10, 7, 6],
        [7, 1, 8],
        [3, 9, 4],
        [3, 4, 2],
        [3, 2, 6],
        [3, 6, 8],
        [3, 8, 9],
        [4, 9, 5],
        [2, 4, 11],
        [6, 2, 10],
        [8, 6, 7],
        [9, 8, 1],
    ];
    let mut round = trunk(0.22, 3.6);
    round.extend(faces.iter().map(|f| [v[f[0]], v[f[1]], v[f[2]]]));
    let round_id = w.template("2", &round);
    let mut conifer = trunk(0.2, 2.0);
    for i in 0..7 {
        let a0 = DVec2::from_angle(i as f64 / 7.0 * std::f64::consts::TAU) * 2.0;
        let a1 = DVec2::from_angle((i + 1) as f64 / 7.0 * std::f64::consts::TAU) * 2.0;
        conifer.push([a0.extend(1.6), a1.extend(1.6), DVec3::new(0.0, 0.0, 9.0)]);
        conifer.push([a1.extend(1.6), a0.extend(1.6), DVec3::new(0.0, 0.0, 1.6)]);
    }
    let conifer_id = w.template("2", &conifer);
    [round_id, conifer_id]
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn add_trees(
    w: &mut CityJsonWriter,
    ground: &Ground,
    blocks: &[layout::Block],
    streets: &[Street],
    river: &River,
    size: f64,
    rng: &mut impl rand::Rng,
) -> usize {
    let templates = tree_templates(w);
    let species = [("Sophora japonica", 0), ("Populus tomentosa", 0), ("Ginkgo biloba", 0), ("Pinus tabuliformis", 1)];
    let mut n = 0;
    let mut plant = |w: &mut CityJsonWriter, p: DVec2, rng: &mut dyn FnMut() -> f64| {
        let (name, t) = species[(rng() * species.len() as f64) as usize % species.len()];
        let s = 0.75 + rng() * 0.5;
        let geom =
            w.instance(templates[t], ground.draped(p, -0.1), s, s * (0.9 + rng() * 0.2), rng() * std::f64::consts::TAU);
        n += 1;
        let height = (if t == 0 { 7.9 } else { 9.0 }) * s;
        w.add(
            &format!("XA-T{:05}", n),
            json!({"type": "SolitaryVegetationObject", "attributes": {"species": name, "height": (height * 10.0f64).round() / 10.0, "crown_diameter": (5.2 * s * 10.0f64).round() / 10.0}, "geometry": [geom]}),
        );
    };
    let mut rnd = || rng.random::<f64>();
    let ns: Vec<&Street> = streets.iter().filter(|s| !s.east_west).collect();
    let ew: Vec<&Street> = streets.iter().filter(|s| s.east_west).collect();
    let clear_of_crossings =
        |v: f64, crossing: &[&Street]| crossing.iter().all(|c| (v - c.coord).abs() > c.width / 2.0 + 4.0);
    // Street trees along the avenues, both sides.
    for s in streets.iter().filter(|s| s.arterial) {
        let crossing = if s.east_west { &ns } else { &ew };
        let mut t = 6.0;
        while t < size {
            if clear_of_crossings(t, crossing) {
                for side in [-1.0, 1.0] {
                    let off = s.coord + side * (s.width / 2.0 + 2.5);
                    let p = if s.east_west { DVec2::new(t, off) } else { DVec2::new(off, t) };
                    if river.distance(p.x, p.y) > River::CORRIDOR_HALF_WIDTH && (0.0..=size).contains(&off) {
                        plant(w, p, &mut rnd);
                    }
                }
            }
            t += 12.0;
        }
    }
    // Park trees on a jittered grid.
    for b in blocks.iter().filter(|b| matches!(b.zone, Zone::Park | Zone::Pond)) {
        let centre = (b.min + b.max) / 2.0;
        let mut y = b.min.y + 6.0;
        while y < b.max.y - 4.0 {
            let mut x = b.min.x + 6.0;
            while x < b.max.x - 4.0 {
                let p = DVec2::new(x + (rnd() - 0.5) * 6.0, y + (rnd() - 0.5) * 6.0);
                let in_pond = b.zone == Zone::Pond && p.distance(centre) < POND_RADIUS * 1.1;
                if rnd() < 0.55 && !in_pond {
                    plant(w, p, &mut rnd);
                }
                x += 14.0;
            }
            y += 14.0;
        }
    }
    // Trees along the river's floodplain.
    let mut x = 5.0;
    while x < size {
        for side in [-1.0, 1.0] {
            let p = DVec2::new(x, river.centre_y(x) + side * (45.0 + rnd() * 25.0));
            if rnd() < 0.6 {
                plant(w, p, &mut rnd);
            }
        }
        x += 16.0;
    }
    n
}
