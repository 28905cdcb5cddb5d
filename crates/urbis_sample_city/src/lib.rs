//! # urbis_sample_city: a synthetic, georeferenced district
//!
//! A deterministic generator (same seed, same bytes) of a 2 km × 2 km
//! district near Xiong'an (115.9°E, 39.0°N), in CGCS2000 / 3-degree
//! Gauss-Krüger CM 117E (EPSG:4548). It writes standard files that Urbis then
//! loads like any real city:
//!
//! - `district.city.json`: CityJSON 2.0 with buildings (some with
//!   BuildingParts), road segments, bridges, the river and a pond, parks and
//!   trees (geometry templates);
//! - `terrain.asc` + `terrain.prj`: a 5 m ESRI ASCII grid DEM with a river
//!   valley, floodplain, a hill and a pond.
//!
//! ```text
//! seed ─► terrain (noise, river) ─► DEM
//!      ─► street grid ─► blocks (zoning) ─► building typologies ─┐
//!      ─► roads, bridges, water, parks, trees ───────────────────┴─► CityJSON
//! ```

mod buildings;
mod layout;
mod terrain;
mod writer;

use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use urbis_formats::ascii_grid::DemGrid;
use urbis_geo::{CrsTransform, Epsg, Geodetic};

use buildings::{BuildingSpec, Part, Roof};
use layout::{Street, Zone};
use terrain::{River, TerrainModel};
use writer::{CityJsonWriter, GROUND, ROOF, WALL};

/// Bumped whenever the output changes, so cached files are regenerated.
pub const GENERATOR_VERSION: u32 = 4;
/// Radius of the pond's depression, metres (its water reaches 85 % of it).
const POND_RADIUS: f64 = 42.0;
/// The file names written into the output directory.
pub const CITYJSON_FILE: &str = "district.city.json";
pub const DEM_FILE: &str = "terrain.asc";

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SampleCityError {
    #[error("CRS: {0}")]
    Crs(#[from] urbis_geo::GeoError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleCityConfig {
    pub seed: u64,
    /// Centre of the district.
    pub center: Geodetic,
    /// Side of the square district, metres.
    pub size: f64,
    /// DEM margin around the district, metres.
    pub margin: f64,
    /// DEM cell size, metres.
    pub dem_cell: f64,
    pub crs: Epsg,
}

impl Default for SampleCityConfig {
    fn default() -> Self {
        Self {
            seed: 2017,
            center: Geodetic::new(115.9, 39.0, 0.0),
            size: 2000.0,
            margin: 100.0,
            dem_cell: 5.0,
            crs: Epsg::CGCS2000_GK_CM_117E,
        }
    }
}

/// Counts of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleCityStats {
    pub buildings: usize,
    pub building_parts: usize,
    pub roads: usize,
    pub bridges: usize,
    pub water_bodies: usize,
    pub parks: usize,
    pub trees: usize,
}

/// The generated district in memory.
#[derive(Debug, Clone)]
pub struct SampleCity {
    pub cityjson: Value,
    pub dem: DemGrid,
    pub stats: SampleCityStats,
}

/// Local district metres (origin at the south-west corner) → projected CRS.
struct Ground<'a> {
    dem: &'a DemGrid,
    origin: DVec2,
}

impl Ground<'_> {
    fn z(&self, p: DVec2) -> f64 {
        self.dem
            .sample(self.origin.x + p.x, self.origin.y + p.y)
            .unwrap_or(10.0)
    }
    fn at(&self, p: DVec2, z: f64) -> DVec3 {
        DVec3::new(self.origin.x + p.x, self.origin.y + p.y, z)
    }
    fn draped(&self, p: DVec2, lift: f64) -> DVec3 {
        self.at(p, self.z(p) + lift)
    }
}

/// Generates the district.
pub fn generate(cfg: &SampleCityConfig) -> Result<SampleCity, SampleCityError> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let to_grid = CrsTransform::new(Epsg::CGCS2000, cfg.crs)?;
    let c = to_grid.transform(DVec3::new(cfg.center.lon_deg, cfg.center.lat_deg, 0.0))?;
    let origin = DVec2::new(
        (c.x - cfg.size / 2.0).round(),
        (c.y - cfg.size / 2.0).round(),
    );

    // Terrain.
    let river = River {
        base_y: cfg.size * 0.28,
        phase: rng.random_range(0.0..1.0),
    };
    let hill = DVec2::new(cfg.size * 0.86, cfg.size * 0.84);
    // In the middle of a block (blocks are centred between 125 m street lines).
    let pond = DVec2::new(687.5 * cfg.size / 2000.0, 1312.5 * cfg.size / 2000.0);
    let model = TerrainModel::new(
        cfg.seed as u32,
        river.clone(),
        (hill.x, hill.y, 170.0, 24.0),
        (pond.x, pond.y, POND_RADIUS, 3.5),
    );
    let n = ((cfg.size + 2.0 * cfg.margin) / cfg.dem_cell).round() as usize;
    let mut heights = Vec::with_capacity(n * n);
    for row in 0..n {
        for col in 0..n {
            let x = -cfg.margin + (col as f64 + 0.5) * cfg.dem_cell;
            let y = -cfg.margin + (n as f64 - row as f64 - 0.5) * cfg.dem_cell;
            heights.push(((model.height(x, y) * 1000.0).round() / 1000.0) as f32);
        }
    }
    let dem = DemGrid {
        ncols: n,
        nrows: n,
        x_min: origin.x - cfg.margin,
        y_min: origin.y - cfg.margin,
        cell_size: cfg.dem_cell,
        heights,
        nodata_value: Some(-9999.0),
        crs: Some(cfg.crs),
    };
    let ground = Ground { dem: &dem, origin };

    let mut w = CityJsonWriter::new(DVec3::new(origin.x, origin.y, 0.0));
    let mut stats = SampleCityStats::default();
    let streets = layout::streets(cfg.size, 125.0, 4);
    let blocks = layout::blocks(&streets, cfg.size, &river, hill, pond, &mut rng);

    // Buildings.
    let mut n_building = 0usize;
    for block in &blocks {
        for spec in buildings::fill_block(block, &mut rng) {
            n_building += 1;
            let id = format!("XA-B{:05}", n_building);
            let address = address_for(&spec, block, &streets, &mut rng);
            stats.building_parts += add_building(&mut w, &ground, &id, &spec, address);
            stats.buildings += 1;
        }
    }

    // Streets, bridges, water, parks, trees.
    let (roads, bridges) = add_streets(&mut w, &ground, &streets, &river, cfg.size);
    stats.roads = roads;
    stats.bridges = bridges;
    stats.water_bodies = add_water(&mut w, &ground, &river, &model, pond, cfg);
    stats.parks = add_parks(&mut w, &ground, &blocks);
    stats.trees = add_trees(
        &mut w, &ground, &blocks, &streets, &river, cfg.size, &mut rng,
    );

    let metadata = json!({
        "title": "Urbis sample district (synthetic), Xiong'an New Area",
        "referenceSystem": format!("https://www.opengis.net/def/crs/EPSG/0/{}", cfg.crs.0),
        "geographicalExtent": [origin.x, origin.y, 0.0, origin.x + cfg.size, origin.y + cfg.size, 200.0],
        "pointOfContact": {"contactName": "Urbis", "emailAddress": "urbis@example.org"},
        "referenceDate": "2026-11-24",
        "generator": {"name": "urbis_sample_city", "version": GENERATOR_VERSION, "seed": cfg.seed}
    });
    Ok(SampleCity {
        cityjson: w.finish(metadata),
        dem,
        stats,
    })
}

/// Nearest street of the block to the building, and a house number along it.
fn address_for(
    spec: &BuildingSpec,
    block: &layout::Block,
    streets: &[Street],
    rng: &mut impl rand::Rng,
) -> Value {
    let ring = &spec.parts[0].rings[0];
    let c = ring.iter().copied().sum::<DVec2>() / ring.len() as f64;
    let d = [
        c.y - block.min.y,
        block.max.x - c.x,
        block.max.y - c.y,
        c.x - block.min.x,
    ];
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

fn solid_faces(ground: &Ground, p: &Part, base: f64) -> Vec<(Vec<Vec<DVec3>>, usize)> {
    let z0 = base + p.base_offset;
    let z1 = z0 + p.height;
    let mut faces = Vec::new();
    let at = |q: DVec2, z: f64| ground.at(q, z);
    faces.push((
        p.rings
            .iter()
            .map(|r| r.iter().rev().map(|&q| at(q, z0)).collect())
            .collect(),
        GROUND,
    ));
    match p.roof {
        Roof::Gable { rise } if p.rings.len() == 1 && p.rings[0].len() == 4 => {
            let r = &p.rings[0];
            // Start at a corner whose first edge is a long side.
            let s = if r[0].distance(r[1]) >= r[1].distance(r[2]) {
                0
            } else {
                1
            };
            let q = |i: usize| r[(s + i) % 4];
            let (m12, m30) = ((q(1) + q(2)) / 2.0, (q(3) + q(0)) / 2.0);
            let zr = z1 + rise;
            faces.push((
                vec![vec![at(q(0), z0), at(q(1), z0), at(q(1), z1), at(q(0), z1)]],
                WALL,
            ));
            faces.push((
                vec![vec![at(q(2), z0), at(q(3), z0), at(q(3), z1), at(q(2), z1)]],
                WALL,
            ));
            faces.push((
                vec![vec![
                    at(q(1), z0),
                    at(q(2), z0),
                    at(q(2), z1),
                    at(m12, zr),
                    at(q(1), z1),
                ]],
                WALL,
            ));
            faces.push((
                vec![vec![
                    at(q(3), z0),
                    at(q(0), z0),
                    at(q(0), z1),
                    at(m30, zr),
                    at(q(3), z1),
                ]],
                WALL,
            ));
            faces.push((
                vec![vec![at(q(0), z1), at(q(1), z1), at(m12, zr), at(m30, zr)]],
                ROOF,
            ));
            faces.push((
                vec![vec![at(q(2), z1), at(q(3), z1), at(m30, zr), at(m12, zr)]],
                ROOF,
            ));
        }
        _ => {
            faces.push((
                p.rings
                    .iter()
                    .map(|r| r.iter().map(|&q| at(q, z1)).collect())
                    .collect(),
                ROOF,
            ));
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
fn add_building(
    w: &mut CityJsonWriter,
    ground: &Ground,
    id: &str,
    spec: &BuildingSpec,
    address: Value,
) -> usize {
    let footprint = &spec.parts[0].rings[0];
    let c = footprint.iter().copied().sum::<DVec2>() / footprint.len() as f64;
    let base = footprint
        .iter()
        .chain([&c])
        .map(|&p| ground.z(p))
        .fold(f64::INFINITY, f64::min)
        - 0.3;
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
        let geom = w.solid(
            if roof_type == "gable" { "2.2" } else { "1.2" },
            &solid_faces(ground, &spec.parts[0], base),
        );
        w.add(id, json!({"type": "Building", "attributes": attrs, "address": address, "geometry": [geom]}));
        return 0;
    }
    let children: Vec<String> = (0..spec.parts.len())
        .map(|k| format!("{id}-P{}", k + 1))
        .collect();
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
    w.add(
        id,
        json!({"type": "Building", "attributes": attrs, "address": address, "children": children}),
    );
    spec.parts.len()
}

/// Quads of a draped rectangle, subdivided every `step` metres.
fn drape_rect(
    ground: &Ground,
    min: DVec2,
    max: DVec2,
    step: f64,
    lift: f64,
) -> Vec<Vec<Vec<DVec3>>> {
    let nx = ((max.x - min.x) / step).ceil().max(1.0) as usize;
    let ny = ((max.y - min.y) / step).ceil().max(1.0) as usize;
    let p = |i: usize, j: usize| {
        DVec2::new(
            min.x + (max.x - min.x) * i as f64 / nx as f64,
            min.y + (max.y - min.y) * j as f64 / ny as f64,
        )
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
fn add_streets(
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
        w.add(
            &id,
            json!({"type": "Road", "attributes": attrs, "geometry": [geom]}),
        );
    };
    // East-west segments span intersection centre to centre.
    for s in &ew {
        for (k, pair) in ns.windows(2).enumerate() {
            let (x0, x1) = (pair[0].coord, pair[1].coord);
            let blocked = (0..=10)
                .any(|i| in_corridor(DVec2::new(x0 + (x1 - x0) * i as f64 / 10.0, s.coord)));
            if blocked {
                continue;
            }
            road(
                w,
                s,
                DVec2::new(x0, s.coord - s.width / 2.0),
                DVec2::new(x1, s.coord + s.width / 2.0),
                k,
            );
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
            let y0 = pair[0].coord
                + if present(pair[0]) {
                    pair[0].width / 2.0
                } else {
                    0.0
                };
            let y1 = pair[1].coord
                - if present(pair[1]) {
                    pair[1].width / 2.0
                } else {
                    0.0
                };
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
                    let (min, max) = (
                        DVec2::new(x - s.width / 2.0, a),
                        DVec2::new(x + s.width / 2.0, b),
                    );
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

fn add_bridge(
    w: &mut CityJsonWriter,
    ground: &Ground,
    s: &Street,
    min: DVec2,
    max: DVec2,
    k: usize,
) {
    let za = ground.z(DVec2::new((min.x + max.x) / 2.0, min.y)) + 0.3;
    let zb = ground.z(DVec2::new((min.x + max.x) / 2.0, max.y)) + 0.3;
    let top = |p: DVec2| za + (zb - za) * (p.y - min.y) / (max.y - min.y);
    let part = Part {
        rings: vec![vec![
            min,
            DVec2::new(max.x, min.y),
            max,
            DVec2::new(min.x, max.y),
        ]],
        base_offset: 0.0,
        height: 0.0,
        floors: 0,
        roof: Roof::Flat,
    };
    let ring = &part.rings[0];
    let at = |q: DVec2, dz: f64| ground.at(q, top(q) + dz);
    let mut faces = vec![
        (
            vec![ring.iter().rev().map(|&q| at(q, -1.4)).collect()],
            GROUND,
        ),
        (vec![ring.iter().map(|&q| at(q, 0.0)).collect()], ROOF),
    ];
    for i in 0..4 {
        let (a, b) = (ring[i], ring[(i + 1) % 4]);
        faces.push((
            vec![vec![at(a, -1.4), at(b, -1.4), at(b, 0.0), at(a, 0.0)]],
            WALL,
        ));
    }
    let geom = w.solid("2", &faces);
    let id = format!("XA-BR-{}-{}", s.name.replace(' ', ""), k);
    let attrs = json!({"name": format!("{} Bridge", s.name), "carries": s.name, "length": ((max.y - min.y) * 10.0).round() / 10.0, "width": s.width, "material": "concrete"});
    w.add(
        &id,
        json!({"type": "Bridge", "attributes": attrs, "geometry": [geom]}),
    );
}

fn add_water(
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
    let xs: Vec<f64> = (0..=((cfg.size + 2.0 * cfg.margin) / step) as usize)
        .map(|i| -cfg.margin + i as f64 * step)
        .collect();
    let edge = |x: f64| {
        let c = DVec2::new(x, river.centre_y(x));
        let t = DVec2::new(1.0, river.centre_y(x + 0.5) - river.centre_y(x - 0.5)).normalize();
        let n = t.perp();
        let z = river.water_level(x);
        (
            ground.at(c - n * River::WATER_HALF_WIDTH, z),
            ground.at(c + n * River::WATER_HALF_WIDTH, z),
        )
    };
    for pair in xs.windows(2) {
        let ((a0, a1), (b0, b1)) = (edge(pair[0]), edge(pair[1]));
        faces.push(vec![vec![a0, b0, b1, a1]]);
    }
    let geom = w.multi_surface("1", &faces, Some("WaterSurface"));
    let attrs = json!({"name": "Baigou River", "class": "river", "water_level": (river.water_level(cfg.size / 2.0) * 100.0).round() / 100.0});
    w.add(
        "XA-W-river",
        json!({"type": "WaterBody", "attributes": attrs, "geometry": [geom]}),
    );

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

fn add_parks(w: &mut CityJsonWriter, ground: &Ground, blocks: &[layout::Block]) -> usize {
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
    .map(|&(x, y, z)| {
        DVec3::new(x, y, z).normalize() * DVec3::new(2.6, 2.6, 2.3) + DVec3::new(0.0, 0.0, 5.4)
    })
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
fn add_trees(
    w: &mut CityJsonWriter,
    ground: &Ground,
    blocks: &[layout::Block],
    streets: &[Street],
    river: &River,
    size: f64,
    rng: &mut impl rand::Rng,
) -> usize {
    let templates = tree_templates(w);
    let species = [
        ("Sophora japonica", 0),
        ("Populus tomentosa", 0),
        ("Ginkgo biloba", 0),
        ("Pinus tabuliformis", 1),
    ];
    let mut n = 0;
    let mut plant = |w: &mut CityJsonWriter, p: DVec2, rng: &mut dyn FnMut() -> f64| {
        let (name, t) = species[(rng() * species.len() as f64) as usize % species.len()];
        let s = 0.75 + rng() * 0.5;
        let geom = w.instance(
            templates[t],
            ground.draped(p, -0.1),
            s,
            s * (0.9 + rng() * 0.2),
            rng() * 6.283,
        );
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
    let clear_of_crossings = |v: f64, crossing: &[&Street]| {
        crossing
            .iter()
            .all(|c| (v - c.coord).abs() > c.width / 2.0 + 4.0)
    };
    // Street trees along the avenues, both sides.
    for s in streets.iter().filter(|s| s.arterial) {
        let crossing = if s.east_west { &ns } else { &ew };
        let mut t = 6.0;
        while t < size {
            if clear_of_crossings(t, crossing) {
                for side in [-1.0, 1.0] {
                    let off = s.coord + side * (s.width / 2.0 + 2.5);
                    let p = if s.east_west {
                        DVec2::new(t, off)
                    } else {
                        DVec2::new(off, t)
                    };
                    if river.distance(p.x, p.y) > River::CORRIDOR_HALF_WIDTH
                        && (0.0..=size).contains(&off)
                    {
                        plant(w, p, &mut rnd);
                    }
                }
            }
            t += 12.0;
        }
    }
    // Park trees on a jittered grid.
    for b in blocks
        .iter()
        .filter(|b| matches!(b.zone, Zone::Park | Zone::Pond))
    {
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

/// Writes the district into `dir` (created if needed); returns the paths of
/// the CityJSON file and the DEM. Files are written under temporary names
/// and renamed, so readers never see half a file.
pub fn write_to_dir(dir: &Path, cfg: &SampleCityConfig) -> Result<Vec<PathBuf>, SampleCityError> {
    let city = generate(cfg)?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SampleCityError::Io {
            path: path.clone(),
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let unique =
        format!("{}.{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, SampleCityError> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.{unique}.tmp"));
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    };
    let json = serde_json::to_vec(&city.cityjson).map_err(|e| SampleCityError::Io {
        path: CITYJSON_FILE.into(),
        source: e.into(),
    })?;
    let mut dem = Vec::new();
    city.dem.write(&mut dem).map_err(io(Path::new(DEM_FILE)))?;
    let a = write(CITYJSON_FILE, &json)?;
    let b = write(DEM_FILE, &dem)?;
    write("terrain.prj", format!("EPSG:{}\n", cfg.crs.0).as_bytes())?;
    write(".generator", stamp(cfg).as_bytes())?;
    Ok(vec![a, b])
}

fn stamp(cfg: &SampleCityConfig) -> String {
    format!(
        "urbis_sample_city v{} seed {} size {} cell {}\n",
        GENERATOR_VERSION, cfg.seed, cfg.size, cfg.dem_cell
    )
}

/// Makes sure `dir` holds the district for `cfg`, generating it if it is
/// missing or stale. Returns the directory.
pub fn ensure(dir: &Path, cfg: &SampleCityConfig) -> Result<PathBuf, SampleCityError> {
    let fresh = std::fs::read_to_string(dir.join(".generator")).is_ok_and(|s| s == stamp(cfg))
        && dir.join(CITYJSON_FILE).is_file()
        && dir.join(DEM_FILE).is_file();
    if !fresh {
        tracing::info!("generating the sample city into {}", dir.display());
        write_to_dir(dir, cfg)?;
    }
    Ok(dir.to_path_buf())
}

/// `assets/sample_city` in this workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample_city")
}
