//! The synthetic photo mesh against facts taken independently from the
//! sample city: the CityJSON's building solids (roof heights, footprints)
//! and the DEM; and the written OSGB dataset read back file by file.

use std::collections::{HashMap, HashSet};

use glam::{DVec2, DVec3};
use serde_json::Value;
use urbis_sample_city::{PhotoMesh, PhotoMeshConfig, PhotoTile, SampleCityConfig, generate, photo_mesh};

/// A building of the CityJSON: footprint rings (xy of its lowest
/// horizontal surfaces, per part) and its vertices' height range.
struct Building {
    /// Polygons: outer ring then holes.
    footprints: Vec<Vec<Vec<DVec2>>>,
    roof_min: f64,
    top: f64,
}

fn vertices(doc: &Value) -> Vec<DVec3> {
    let s = &doc["transform"]["scale"];
    let t = &doc["transform"]["translate"];
    let f = |v: &Value, i: usize| v[i].as_f64().expect("number");
    doc["vertices"]
        .as_array()
        .expect("vertices")
        .iter()
        .map(|v| DVec3::new(f(v, 0) * f(s, 0) + f(t, 0), f(v, 1) * f(s, 1) + f(t, 1), f(v, 2) * f(s, 2) + f(t, 2)))
        .collect()
}

/// Buildings by id, parts merged into their parent; from Solid geometry
/// (shells → surfaces → rings) and its semantics (GroundSurface / RoofSurface).
fn buildings(doc: &Value) -> HashMap<String, Building> {
    let v = vertices(doc);
    let mut out: HashMap<String, Building> = HashMap::new();
    for (id, o) in doc["CityObjects"].as_object().expect("objects") {
        let owner = match o["type"].as_str() {
            Some("Building") => id.clone(),
            Some("BuildingPart") => o["parents"][0].as_str().expect("parent").to_string(),
            _ => continue,
        };
        let b = out.entry(owner).or_insert(Building { footprints: vec![], roof_min: f64::INFINITY, top: f64::MIN });
        for g in o["geometry"].as_array().into_iter().flatten().filter(|g| g["type"] == "Solid") {
            let kinds: Vec<&str> = g["semantics"]["surfaces"]
                .as_array()
                .expect("sem")
                .iter()
                .map(|s| s["type"].as_str().unwrap_or(""))
                .collect();
            let values = &g["semantics"]["values"][0];
            for (k, surface) in g["boundaries"][0].as_array().expect("shell").iter().enumerate() {
                let ring: Vec<DVec3> =
                    surface[0].as_array().expect("ring").iter().map(|i| v[i.as_u64().expect("i") as usize]).collect();
                let kind = values[k].as_u64().map_or("", |s| kinds[s as usize]);
                for p in &ring {
                    b.top = b.top.max(p.z);
                }
                match kind {
                    "GroundSurface" => b.footprints.push(
                        surface
                            .as_array()
                            .expect("rings")
                            .iter()
                            .map(|r| {
                                r.as_array()
                                    .expect("ring")
                                    .iter()
                                    .map(|i| v[i.as_u64().expect("i") as usize].truncate())
                                    .collect()
                            })
                            .collect(),
                    ),
                    "RoofSurface" => {
                        b.roof_min = b.roof_min.min(ring.iter().map(|p| p.z).fold(f64::INFINITY, f64::min))
                    }
                    _ => {}
                }
            }
        }
    }
    out.retain(|_, b| !b.footprints.is_empty());
    out
}

fn inside(ring: &[DVec2], p: DVec2) -> bool {
    let mut c = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            c = !c;
        }
        j = i;
    }
    c
}

/// Well inside a footprint: the point and 8 points 1.5 m around it.
fn deep_inside(b: &Building, p: DVec2) -> bool {
    (-1..=1).all(|dx| {
        (-1..=1).all(|dy| {
            b.footprints
                .iter()
                .any(|poly| poly.iter().fold(false, |c, r| c ^ inside(r, p + DVec2::new(dx as f64, dy as f64) * 1.5)))
        })
    })
}

/// The mesh height at `p` from the finest tiles (the triangle containing it).
fn height_at(finest: &[&PhotoTile], p: DVec2) -> Option<f64> {
    let t = finest.iter().find(|t| p.cmpge(t.min).all() && p.cmplt(t.min + t.size).all())?;
    for tri in &t.triangles {
        let [a, b, c] = tri.map(|i| t.positions[i as usize]);
        let d = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);
        let l1 = ((b.y - c.y) * (p.x - c.x) + (c.x - b.x) * (p.y - c.y)) / d;
        let l2 = ((c.y - a.y) * (p.x - c.x) + (a.x - c.x) * (p.y - c.y)) / d;
        let l3 = 1.0 - l1 - l2;
        if l1 >= -1e-9 && l2 >= -1e-9 && l3 >= -1e-9 {
            return Some(l1 * a.z + l2 * b.z + l3 * c.z);
        }
    }
    None
}

/// Every vertex index under a geometry list (boundaries of any depth;
/// a GeometryInstance's anchor).
fn collect_indices(v: &Value, out: &mut Vec<usize>) {
    match v {
        Value::Array(a) => a.iter().for_each(|c| collect_indices(c, out)),
        Value::Object(o) => {
            if let Some(b) = o.get("boundaries") {
                collect_indices(b, out);
            }
        }
        Value::Number(n) => out.extend(n.as_u64().map(|i| i as usize)),
        _ => {}
    }
}

#[test]
fn the_small_photo_mesh_matches_the_city() {
    let city = generate(&SampleCityConfig::default()).expect("city");
    let cfg = PhotoMeshConfig::small();
    let mesh: PhotoMesh = photo_mesh(&city, &cfg);
    let (lo, hi) = mesh.extent;
    assert_eq!(hi - lo, DVec2::splat(512.0));
    assert_eq!(mesh.epsg, 4548);
    assert_eq!(mesh.tiles.len(), 4 * (1 + 4 + 16));
    let finest: Vec<&PhotoTile> = mesh.tiles.iter().filter(|t| t.level == 2).collect();
    assert_eq!(finest.len(), 64);

    // Continuity: every edge inside the extent is shared by exactly two triangles.
    let key = |p: DVec3| ((p.x * 100.0).round() as i64, (p.y * 100.0).round() as i64);
    type Key = (i64, i64);
    let mut edges: HashMap<(Key, Key), u32> = HashMap::new();
    for t in &finest {
        assert_eq!(t.truth.len(), t.triangles.len());
        for tri in &t.triangles {
            for (a, b) in [(0, 1), (1, 2), (2, 0)] {
                let (ka, kb) = (key(t.positions[tri[a] as usize]), key(t.positions[tri[b] as usize]));
                *edges.entry((ka.min(kb), ka.max(kb))).or_default() += 1;
            }
        }
    }
    let on_border = |k: (i64, i64)| {
        let (x, y) = (k.0 as f64 / 100.0, k.1 as f64 / 100.0);
        (x - lo.x).abs() < 1e-3 || (x - hi.x).abs() < 1e-3 || (y - lo.y).abs() < 1e-3 || (y - hi.y).abs() < 1e-3
    };
    for ((a, b), n) in &edges {
        let border = on_border(*a) && on_border(*b) && (a.0 == b.0 || a.1 == b.1);
        assert_eq!(*n, if border { 1 } else { 2 }, "edge {a:?}-{b:?}");
    }
    // Vertex heights agree where tiles meet (the same points, the same noise).
    let mut heights: HashMap<Key, f64> = HashMap::new();
    for t in &finest {
        for p in &t.positions {
            let h = heights.entry(key(*p)).or_insert(p.z);
            assert_eq!(*h, p.z, "a seam at {p}");
        }
    }

    // Buildings wholly inside: roof heights, and the truth on their roofs.
    let noise = cfg.noise + 1e-6;
    let (mut checked, mut roofs_seen, mut roofs_red) = (0, 0, 0);
    let ids: HashSet<String> = finest.iter().flat_map(|t| t.truth.iter().flatten().cloned()).collect();
    for (id, b) in buildings(&city.cityjson) {
        let pts = b.footprints.iter().flatten().flatten();
        let (bl, bh) = pts.fold((DVec2::MAX, DVec2::MIN), |(l, h), p| (l.min(*p), h.max(*p)));
        if !(bl.cmpgt(lo + 2.0).all() && bh.cmplt(hi - 2.0).all()) {
            continue;
        }
        checked += 1;
        assert!(ids.contains(&id), "{id} never in the truth");
        // Height in the middle of the footprint's bounding box, when inside it.
        let c = (bl + bh) / 2.0;
        if deep_inside(&b, c) {
            let h = height_at(&finest, c).expect("covered");
            // The orthophoto shows a roof there (roofs are redder than green, grass is not).
            let t = finest.iter().find(|t| c.cmpge(t.min).all() && c.cmplt(t.min + t.size).all()).expect("tile");
            let img = image::load_from_memory(&t.jpeg).expect("jpeg").to_rgb8();
            let f = (c - t.min) / t.size * f64::from(img.width());
            let px = img.get_pixel(f.x as u32, img.height() - 1 - f.y as u32).0;
            roofs_seen += 1;
            roofs_red += usize::from(px[0] > px[1]);
            assert!(
                h >= b.roof_min - noise - 0.05 && h <= b.top + noise,
                "{id}: {h} not in [{}, {}]",
                b.roof_min,
                b.top
            );
        }
        let (mut roof, mut marked) = (0usize, 0usize);
        for t in &finest {
            for (tri, truth) in t.triangles.iter().zip(&t.truth) {
                let cen = tri.iter().map(|&i| t.positions[i as usize].truncate()).sum::<DVec2>() / 3.0;
                if cen.cmpge(bl).all() && cen.cmple(bh).all() && deep_inside(&b, cen) {
                    roof += 1;
                    marked += usize::from(truth.as_deref() == Some(id.as_str()));
                }
            }
        }
        if roof > 0 {
            assert!(marked as f64 >= 0.95 * roof as f64, "{id}: {marked} of {roof} roof triangles marked");
        }
    }
    assert!(checked >= 5, "only {checked} buildings inside the small area");
    assert!(roofs_red * 10 >= roofs_seen * 9, "{roofs_red} of {roofs_seen} roof pixels look like roofs");

    // Open ground (grass, or the few centimetres of a road's drape):
    // outside the boxes (grown by 6 m) of buildings, trees, bridges and water.
    let all = vertices(&city.cityjson);
    let mut boxes: Vec<(DVec2, DVec2)> = Vec::new();
    for o in city.cityjson["CityObjects"].as_object().expect("objects").values() {
        let ty = o["type"].as_str().unwrap_or("");
        if matches!(ty, "Road" | "PlantCover" | "LandUse") {
            continue;
        }
        let mut idx = Vec::new();
        collect_indices(&o["geometry"], &mut idx);
        let pts: Vec<DVec2> = idx.iter().map(|&i| all[i].truncate()).collect();
        if !pts.is_empty() {
            boxes.push(pts.iter().fold((DVec2::MAX, DVec2::MIN), |(l, h), p| (l.min(*p), h.max(*p))));
        }
    }
    let mut ground = 0;
    for j in 0..40 {
        for i in 0..40 {
            let p = lo + DVec2::new(i as f64 + 0.37, j as f64 + 0.61) * 12.8;
            if boxes.iter().any(|(l, h)| p.cmpge(*l - 6.0).all() && p.cmple(*h + 6.0).all()) {
                continue;
            }
            let dem = city.dem.sample(p.x, p.y).expect("dem");
            let h = height_at(&finest, p).expect("covered");
            // The DEM between its 5 m cells is bilinear; the mesh interpolates its 1 m samples.
            assert!((h - dem).abs() < noise + 0.3, "{p}: mesh {h} vs DEM {dem}");
            ground += 1;
        }
    }
    assert!(ground > 20, "only {ground} open-ground points");

    // Every level covers the same extent.
    for level in 0..3 {
        let tiles: Vec<&PhotoTile> = mesh.tiles.iter().filter(|t| t.level == level).collect();
        let (l, h) = tiles
            .iter()
            .flat_map(|t| &t.positions)
            .fold((DVec2::MAX, DVec2::MIN), |(l, h), p| (l.min(p.truncate()), h.max(p.truncate())));
        assert_eq!((l, h), (lo, hi), "level {level}");
        let area: f64 = tiles.iter().map(|t| t.size * t.size).sum();
        assert_eq!(area, 512.0 * 512.0, "level {level}");
    }
}

#[test]
fn the_written_dataset_reads_back_file_by_file() {
    let city = generate(&SampleCityConfig::default()).expect("city");
    let cfg = PhotoMeshConfig { area: Some(([1, 2], [1, 2])), levels: 2, ..PhotoMeshConfig::default() };
    let mesh = photo_mesh(&city, &cfg);
    let dir = std::env::temp_dir().join(format!("urbis-photo-mesh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let paths = urbis_sample_city::write_photo_mesh(&dir, &mesh).expect("write");
    assert_eq!(paths.len(), 5);
    let meta = std::fs::read_to_string(dir.join("metadata.xml")).expect("metadata");
    let meta = urbis_formats::osgb::read_metadata_xml(&meta, "metadata.xml").expect("parses");
    assert_eq!(meta.srs_origin, mesh.origin);
    let truth: Value = serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth")).expect("json");
    for t in mesh.tiles.iter().filter(|t| t.level == 1) {
        let marked: usize = truth[&t.name]
            .as_object()
            .expect("per finest file")
            .values()
            .map(|v| v.as_array().expect("indices").len())
            .sum();
        assert_eq!(marked, t.truth.iter().flatten().count(), "{}", t.name);
    }
    for (path, tile) in paths.iter().zip(&mesh.tiles) {
        assert!(path.starts_with(dir.join("Data/Tile_+001_+001")), "{}", path.display());
        let f = urbis_formats::osgb::read_osgb_file(path).expect("reads");
        let geoms = f.root.geometries();
        assert_eq!(geoms.len(), 1);
        let g = geoms[0].1;
        assert_eq!(g.triangles().expect("t").len(), tile.triangles.len());
        let p = g.positions().expect("p");
        assert_eq!(p.len(), tile.positions.len());
        assert!((p[7] + mesh.origin - tile.positions[7]).length() < 1e-3);
        let img = g.state_set.as_ref().and_then(|s| s.texture(0)).and_then(|t| t.image.as_ref()).expect("image");
        assert_eq!(img.decode_rgba().expect("jpeg").dimensions(), (256, 256));
        for c in f.root.child_paths(path.parent().expect("dir")) {
            assert!(c.expect("inside").is_file());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
