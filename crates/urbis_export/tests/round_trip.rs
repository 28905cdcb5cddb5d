//! Convert, reload, compare: the sample city (CityJSON buildings with
//! parts, roads, water, trees, the DEM as terrain) and the synthetic photo
//! mesh cut by its footprints go out as 3D Tiles 1.1 and come back through
//! Urbis' own tileset loader with the same entities (GUIDs), classes,
//! attributes and bounds (placed in ECEF, so the two models' frames need
//! not agree). The tileset is checked against the 3D Tiles rules the
//! official validator applies (asset version, refine on the root,
//! geometric errors never above the parent's, child volumes inside their
//! parent's, every content present), and its glbs with the Khronos
//! glTF-Validator where node has it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bevy_ecs::prelude::Entity;
use glam::{DMat4, DVec3};
use urbis_model::{AttributeValue, Attributes, Bounds, CityModel, FeatureId, LoadOptions, SemanticClass, TileDetail};

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-export-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Entry {
    class: SemanticClass,
    attributes: Attributes,
    /// Box centre in ECEF and its size.
    centre: DVec3,
    size: DVec3,
}

/// Features with a box, by GUID.
fn entries(model: &mut CityModel) -> HashMap<String, Entry> {
    let frame = *model.frame();
    let mut q = model.world.query::<(Entity, &FeatureId, &SemanticClass, &Bounds)>();
    let found: Vec<(Entity, String, SemanticClass, Bounds)> =
        q.iter(&model.world).map(|(e, id, c, b)| (e, id.guid.clone(), *c, *b)).collect();
    found
        .into_iter()
        .map(|(e, guid, class, b)| {
            let attributes = model.world.get::<Attributes>(e).cloned().unwrap_or_default();
            let entry =
                Entry { class, attributes, centre: frame.enu_to_ecef((b.min + b.max) / 2.0), size: b.max - b.min };
            (guid, entry)
        })
        .collect()
}

fn export(model: &CityModel, out: &Path, lod: bool) -> urbis_export::ExportReport {
    let opts = urbis_export::ExportOptions { max_features: 150, lod, ..Default::default() };
    urbis_export::export_3dtiles(model, out, &opts, &|_, _| {}).expect("export")
}

fn reload(out: &Path) -> CityModel {
    let opts = LoadOptions { detail: TileDetail::Finest, ..Default::default() };
    let (model, reports) = urbis_model::open_city_opts(&[out.join("tileset.json")], &opts).expect("reload");
    for r in &reports {
        assert!(r.failed_tiles.is_empty(), "{:?}", r.failed_tiles);
    }
    model
}

/// Every original feature that was written is back, alike.
fn compare(before: &HashMap<String, Entry>, after: &HashMap<String, Entry>, written: usize) -> usize {
    assert_eq!(after.len(), written, "features after the round trip");
    let mut checked = 0;
    for (guid, a) in after {
        let b = before.get(guid).unwrap_or_else(|| panic!("{guid}: not in the original"));
        assert_eq!(a.class.name(), b.class.name(), "{guid}: class");
        assert_eq!(a.class.family(), b.class.family(), "{guid}: family");
        for (k, v) in &b.attributes.0 {
            let got = a.attributes.get(k);
            let same = match (v, got) {
                (AttributeValue::String(s), None) => s.is_empty(),
                (AttributeValue::Float(x), Some(AttributeValue::Float(y))) => x == y,
                (AttributeValue::Float(x), Some(AttributeValue::Int(y))) => *x == *y as f64,
                (AttributeValue::Int(x), Some(AttributeValue::Float(y))) => *x as f64 == *y,
                (v, Some(g)) => v == g,
                (_, None) => false,
            };
            assert!(same, "{guid}: attribute {k}: {v:?} came back as {got:?}");
        }
        assert!(a.centre.distance(b.centre) < 0.01, "{guid}: moved {:.4} m", a.centre.distance(b.centre));
        assert!((a.size - b.size).abs().max_element() < 0.02, "{guid}: size {} -> {}", b.size, a.size);
        checked += 1;
    }
    checked
}

/// A tile's box corners in ECEF.
fn corners(b: &[f64], m: DMat4) -> Vec<DVec3> {
    let c = DVec3::new(b[0], b[1], b[2]);
    let axes = [DVec3::new(b[3], b[4], b[5]), DVec3::new(b[6], b[7], b[8]), DVec3::new(b[9], b[10], b[11])];
    let mut out = Vec::new();
    for s in 0..8 {
        let sign = |k: usize| if s >> k & 1 == 1 { 1.0 } else { -1.0 };
        out.push(m.transform_point3(c + axes[0] * sign(0) + axes[1] * sign(1) + axes[2] * sign(2)));
    }
    out
}

/// The validator's rules, walked over the JSON as written. Returns the tiles.
fn check_tileset(dir: &Path) -> usize {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tileset.json")).expect("tileset.json")).expect("json");
    assert_eq!(doc["asset"]["version"], "1.1");
    let root = &doc["root"];
    assert!(root["refine"] == "ADD" || root["refine"] == "REPLACE", "refine on the root");
    let top = doc["geometricError"].as_f64().expect("geometricError");
    fn walk(
        dir: &Path,
        t: &serde_json::Value,
        parent: DMat4,
        parent_error: f64,
        parent_box: Option<(DVec3, DVec3, DMat4, &[f64])>,
    ) -> usize {
        let m = t["transform"].as_array().map_or(DMat4::IDENTITY, |a| {
            let v: Vec<f64> = a.iter().map(|x| x.as_f64().expect("number")).collect();
            DMat4::from_cols_slice(&v)
        });
        let world = parent * m;
        let e = t["geometricError"].as_f64().expect("error");
        assert!(e >= 0.0 && e <= parent_error, "error {e} above the parent's {parent_error}");
        let b: Vec<f64> =
            t["boundingVolume"]["box"].as_array().expect("box").iter().map(|x| x.as_f64().expect("n")).collect();
        assert_eq!(b.len(), 12);
        if let Some((_, _, pm, pb)) = parent_box {
            // Inside the parent's box: each corner within the parent's half-axes (1 cm slack).
            let inv = pm.inverse();
            let pc = DVec3::new(pb[0], pb[1], pb[2]);
            let axes =
                [DVec3::new(pb[3], pb[4], pb[5]), DVec3::new(pb[6], pb[7], pb[8]), DVec3::new(pb[9], pb[10], pb[11])];
            for c in corners(&b, world) {
                let local = inv.transform_point3(c) - pc;
                for a in axes {
                    let len2 = a.length_squared().max(1e-12);
                    assert!(local.dot(a).abs() / len2.sqrt() <= len2.sqrt() + 0.01, "a child box leaves its parent's");
                }
            }
        }
        if let Some(uri) = t["content"]["uri"].as_str() {
            assert!(dir.join(uri).is_file(), "content {uri} missing");
        }
        let mut n = 1;
        for c in t["children"].as_array().into_iter().flatten() {
            n += walk(dir, c, world, e, Some((DVec3::ZERO, DVec3::ZERO, world, &b)));
        }
        n
    }
    walk(dir, root, DMat4::IDENTITY, top, None)
}

/// The Khronos glTF-Validator on some of the glbs, where node and the package are present.
fn validate_glbs(dir: &Path) {
    if std::process::Command::new("node").arg("--version").output().is_err() {
        eprintln!("skip: node is not installed");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(modules) = [repo.join("target/cesium-bench"), repo.join("../shared/tools/cesium-bench")]
        .into_iter()
        .find(|d| d.join("node_modules/gltf-validator/package.json").exists())
    else {
        eprintln!("skip: the npm package gltf-validator is not installed (target/cesium-bench/node_modules)");
        return;
    };
    let mut glbs: Vec<PathBuf> =
        std::fs::read_dir(dir.join("tiles")).expect("tiles").flatten().map(|e| e.path()).collect();
    glbs.sort();
    glbs.truncate(6);
    let script = repo.join("crates/urbis_formats/tests/support/validate_glb.mjs");
    let run = std::process::Command::new("node").arg(&script).arg(&modules).args(&glbs).output().expect("node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut n = 0;
    for line in stdout.lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("json line");
        assert_eq!(r["errors"], 0, "{line}");
        assert_eq!(r["warnings"], 0, "{line}");
        n += 1;
    }
    assert_eq!(n, glbs.len());
}

#[test]
fn the_sample_city_round_trips_through_3d_tiles() {
    let city = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample city");
    let (mut model, _) = urbis_model::open_city(&[city]).expect("load");
    let before = entries(&mut model);
    // Both tree forms: features at the level of their size (ADD), and coarse inner tiles (REPLACE).
    for lod in [false, true] {
        let out = temp(if lod { "city-lod" } else { "city-add" });
        let report = export(&model, &out, lod);
        println!("{report:?}");
        assert!(report.features > 5000 && report.depth >= 2, "{} features, depth {}", report.features, report.depth);
        let tiles = check_tileset(&out);
        assert_eq!(tiles, report.tiles);
        validate_glbs(&out);
        let mut back = reload(&out);
        let after = entries(&mut back);
        let checked = compare(&before, &after, report.features);
        // Parts name their building.
        let parts = after.values().filter(|e| e.class.name() == "BuildingPart").count();
        assert!(parts > 10 && after.values().filter(|e| e.attributes.get("urbis_parent").is_some()).count() >= parts);
        println!("lod {lod}: {checked} features compared, {parts} parts");
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn a_monomerized_photo_mesh_round_trips_with_its_textures() {
    let dir = temp("photo");
    let city = urbis_sample_city::generate(&Default::default()).expect("city");
    let mesh = urbis_sample_city::photo_mesh(&city, &urbis_sample_city::PhotoMeshConfig::small());
    urbis_sample_city::write_photo_mesh(&dir.join("mesh"), &mesh).expect("mesh");
    let footprints = dir.join("district.city.json");
    std::fs::write(&footprints, serde_json::to_vec(&city.cityjson).expect("json")).expect("write");
    let opts =
        LoadOptions { detail: TileDetail::Finest, monomerize_by: vec![footprints.clone()], ..Default::default() };
    let (mut model, _) = urbis_model::open_city_opts(&[dir.join("mesh")], &opts).expect("monomerize");
    let before = entries(&mut model);
    let buildings = before.values().filter(|e| e.class.name() == "Building").count();
    assert!(buildings >= 265, "{buildings} buildings cut");
    // The same buildings, GUIDs and attributes under dynamic monomerization.
    let opts = LoadOptions { detail: TileDetail::Finest, classify_by: vec![footprints], ..Default::default() };
    let (mut classified, _) = urbis_model::open_city_opts(&[dir.join("mesh")], &opts).expect("classify");
    let volumes = entries(&mut classified);
    for (guid, b) in before.iter().filter(|(_, e)| e.class.name() == "Building") {
        let v = volumes.get(guid).unwrap_or_else(|| panic!("{guid}: cut, but no classification volume"));
        assert_eq!(v.attributes.0, b.attributes.0, "{guid}: attributes differ between the methods");
    }
    let out = dir.join("tiles3d");
    let report = export(&model, &out, true);
    assert_eq!(report.textures, 64, "one texture per finest photo file");
    check_tileset(&out);
    // The root is a coarse level: fewer triangles than the mesh, a positive error, REPLACE.
    let root = urbis_formats::gltf::read(&out.join("tiles/0.glb")).expect("root glb");
    let root_triangles: usize =
        root.primitives.iter().map(|p| p.indices.as_ref().map_or(p.positions.len(), Vec::len) / 3).sum();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tileset.json")).expect("json")).expect("json");
    println!("root: {root_triangles} of {} triangles, error {}", report.triangles, doc["root"]["geometricError"]);
    assert!((root_triangles as u64) * 2 < report.triangles, "{root_triangles} of {}", report.triangles);
    assert!(doc["root"]["geometricError"].as_f64().is_some_and(|e| e > 0.5));
    assert_eq!(doc["root"]["refine"], "REPLACE");
    validate_glbs(&out);
    let mut back = reload(&out);
    let after = entries(&mut back);
    compare(&before, &after, report.features);
    // Textured: the reloaded buildings draw with base-colour textures.
    let textured = back
        .world
        .query::<&urbis_model::GeometryHandle>()
        .iter(&back.world)
        .filter(|g| back.meshes().get(g.mesh).is_some_and(|m| m.groups.iter().any(|gr| gr.texture.is_some())))
        .count();
    assert_eq!(textured, after.len(), "every feature textured");
    let _ = std::fs::remove_dir_all(&dir);
}
