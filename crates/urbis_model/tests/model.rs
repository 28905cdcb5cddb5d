//! The city model over the sample city: one entity per CityJSON object,
//! spatial queries, attribute queries checked against the source file,
//! georeference, and bad input.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bevy_ecs::prelude::*;
use geo::{Centroid, Contains};
use glam::DVec3;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::*;

fn sample_dir() -> PathBuf {
    urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample city")
}

fn cityjson() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sample_dir().join(urbis_sample_city::CITYJSON_FILE)).expect("read"))
        .expect("json")
}

#[test]
fn one_entity_per_city_object_with_its_class() {
    let (model, reports) = open_city(&[sample_dir()]).expect("load");
    let doc = cityjson();
    let objects = doc["CityObjects"].as_object().expect("objects");
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for o in objects.values() {
        *expected.entry(o["type"].as_str().expect("type").to_string()).or_default() += 1;
    }
    let counts = model.counts_by_class();
    for (ty, n) in &expected {
        let class = SemanticClass::from_name(ty).expect("known class");
        assert_eq!(counts.get(&class), Some(n), "{ty}");
    }
    assert_eq!(counts.get(&SemanticClass::TIN_RELIEF), Some(&1));
    assert_eq!(model.feature_count(), objects.len() + 1);
    assert!((3000..=10000).contains(&counts[&SemanticClass::BUILDING]), "{counts:?}");
    assert!(!reports.is_empty() && reports.iter().all(|r| r.crs == Some(4548)), "{reports:?}");
    // Every feature index maps back to its entity, and GUIDs are the CityJSON ids.
    for (guid, _) in objects.iter().take(200) {
        let e = model.features().by_guid(guid).expect("guid");
        let id = model.world.get::<FeatureId>(e).expect("id");
        assert_eq!(&id.guid, guid);
        assert_eq!(model.features().entity(id.index), Some(e));
    }
}

#[test]
fn attributes_come_through_typed() {
    let (model, _) = open_city(&[sample_dir()]).expect("load");
    let doc = cityjson();
    let (guid, obj) = doc["CityObjects"]
        .as_object()
        .expect("objects")
        .iter()
        .find(|(_, o)| o["type"] == "Building")
        .expect("a building");
    let e = model.features().by_guid(guid).expect("entity");
    let a = model.world.get::<Attributes>(e).expect("attributes");
    assert_eq!(a.f64("height"), obj["attributes"]["height"].as_f64());
    assert_eq!(a.get("floors"), Some(&AttributeValue::Int(obj["attributes"]["floors"].as_i64().expect("floors"))));
    assert_eq!(a.str("use"), obj["attributes"]["use"].as_str());
    let street = obj["address"][0]["ThoroughfareName"].as_str().expect("street");
    assert!(a.str("address").expect("address").contains(street));
}

#[test]
fn residential_buildings_taller_than_50m_match_the_file() {
    let (model, _) = open_city(&[sample_dir()]).expect("load");
    let q = FeatureQuery::parse("class = Building and use = residential and height > 50").expect("query");
    let mut got: Vec<String> =
        model.select(&q).into_iter().map(|e| model.world.get::<FeatureId>(e).expect("id").guid.clone()).collect();
    // Brute force over the JSON, independently of the model.
    let doc = cityjson();
    let mut want: Vec<String> = doc["CityObjects"]
        .as_object()
        .expect("objects")
        .iter()
        .filter(|(_, o)| {
            o["type"] == "Building"
                && o["attributes"]["use"] == "residential"
                && o["attributes"]["height"].as_f64().unwrap_or(0.0) > 50.0
        })
        .map(|(k, _)| k.clone())
        .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty(), "the sample city has tall residential buildings");
    assert_eq!(got, want);
}

#[test]
fn spatial_queries_find_the_right_features() {
    let (mut model, _) = open_city(&[sample_dir()]).expect("load");
    let mut q = model.world.query::<(Entity, &SemanticClass, &Footprint, &Bounds, &Attributes)>();
    let buildings: Vec<(Entity, geo::Polygon<f64>, Bounds)> = q
        .iter(&model.world)
        .filter(|(_, c, _, _, a)| **c == SemanticClass::BUILDING && a.str("typology") == Some("slab"))
        .take(50)
        .map(|(e, _, f, b, _)| (e, f.0.clone(), *b))
        .collect();
    assert!(buildings.len() >= 10);
    for (e, fp, b) in &buildings {
        let c = fp.centroid().expect("centroid");
        assert!(fp.contains(&c));
        // Point: the building is among the features over its footprint centroid.
        let at = model.spatial().at_ground_point(&model.world, c.x(), c.y());
        assert!(at.contains(e), "point query at {c:?} misses its building");
        // Box: a box around the footprint finds it; one far away does not.
        let inside = Bounds {
            min: DVec3::new(c.x() - 1.0, c.y() - 1.0, b.min.z),
            max: DVec3::new(c.x() + 1.0, c.y() + 1.0, b.max.z),
        };
        assert!(model.spatial().in_box(inside).contains(e));
        let far = Bounds { min: b.min + DVec3::splat(5000.0), max: b.max + DVec3::splat(5000.0) };
        assert!(!model.spatial().in_box(far).contains(e));
        // Ray: straight down onto the roof hits this building at its roof height.
        let hit = model
            .spatial()
            .ray_cast(&model.world, DVec3::new(c.x(), c.y(), b.max.z + 200.0), -DVec3::Z, 1000.0)
            .expect("ray hit");
        assert_eq!(hit.entity, *e);
        assert!((hit.point.z - b.max.z).abs() < 0.01, "roof {} hit {}", b.max.z, hit.point.z);
    }
}

#[test]
fn features_are_placed_at_their_georeferenced_position() {
    let (model, _) = open_city(&[sample_dir()]).expect("load");
    let doc = cityjson();
    let (guid, obj) = doc["CityObjects"]
        .as_object()
        .expect("objects")
        .iter()
        .find(|(_, o)| o["type"] == "Building")
        .expect("building");
    // The first vertex of its first surface, from the file, through PROJ.
    let t = &doc["transform"];
    let v = obj["geometry"][0]["boundaries"][0][0][0][0].as_u64().expect("index") as usize;
    let raw = &doc["vertices"][v];
    let p = DVec3::new(
        raw[0].as_f64().expect("x") * t["scale"][0].as_f64().expect("s") + t["translate"][0].as_f64().expect("t"),
        raw[1].as_f64().expect("y") * t["scale"][1].as_f64().expect("s") + t["translate"][1].as_f64().expect("t"),
        raw[2].as_f64().expect("z") * t["scale"][2].as_f64().expect("s") + t["translate"][2].as_f64().expect("t"),
    );
    let ecef = CrsTransform::new(Epsg(4548), Epsg::ECEF).expect("transform").transform(p).expect("point");
    let e = model.features().by_guid(guid).expect("entity");
    let b = model.world.get::<Bounds>(e).expect("bounds");
    let enu = model.frame().ecef_to_enu(ecef);
    assert!(b.min.cmple(enu + 1e-6).all() && b.max.cmpge(enu - 1e-6).all(), "{enu} outside {b:?}");
    let g = model.frame().origin;
    assert!((g.lon_deg - 115.9).abs() < 0.01 && (g.lat_deg - 39.0).abs() < 0.01, "{g:?}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("urbis-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let text = std::fs::read_to_string(sample_dir().join(urbis_sample_city::CITYJSON_FILE)).expect("read");
    let truncated = dir.join("truncated.city.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).expect("write");
    let e = open_city(&[truncated]).expect_err("truncated").to_string();
    assert!(e.contains("truncated.city.json") && e.contains("line"), "{e}");

    let wrong_crs = dir.join("wrong.city.json");
    std::fs::write(&wrong_crs, text.replace("EPSG/0/4548", "EPSG/0/999999")).expect("write");
    let e = open_city(&[wrong_crs]).expect_err("wrong CRS").to_string();
    assert!(e.contains("wrong.city.json") && e.contains("999999"), "{e}");

    let e = open_city(&[dir.join("missing.city.json")]).expect_err("missing").to_string();
    assert!(e.contains("missing.city.json"), "{e}");
    std::fs::write(dir.join("notes.txt"), "just some notes").expect("write");
    let e = open_city(&[dir.join("notes.txt")]).expect_err("unsupported").to_string();
    assert!(e.contains("notes.txt") && e.contains("unsupported"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn template_trees_share_meshes_and_stand_at_their_reference_points() {
    let (mut model, _) = open_city(&[sample_dir()]).expect("load");
    let mut q = model.world.query::<(&SemanticClass, &GeometryHandle, &InstanceTransform, &Placement, &Bounds)>();
    let trees: Vec<_> = q
        .iter(&model.world)
        .filter(|(c, ..)| **c == SemanticClass::SOLITARY_VEGETATION_OBJECT)
        .map(|(_, g, t, p, b)| (g.mesh, *t, p.enu, *b))
        .collect();
    assert!(trees.len() > 1000);
    let meshes: std::collections::BTreeSet<_> = trees.iter().map(|t| t.0).collect();
    assert!(meshes.len() <= 2, "{} distinct tree meshes", meshes.len());
    for (_, t, at, b) in trees.iter().take(100) {
        // Scale 0.75–1.25 of an 8–9 m template; the trunk foot is at the placement.
        let h = b.max.z - at.z;
        assert!((5.0..12.0).contains(&h), "tree height {h}");
        assert!(t.linear.determinant() > 0.3, "{:?}", t.linear);
        assert!((b.min.z - at.z).abs() < 0.5);
    }
}

/// A ray from far away (here 100 km above) hits a surface to the
/// millimetre: the f32 triangle test starts next to the feature, not at the
/// ray's far origin.
#[test]
fn rays_from_far_away_hit_to_the_millimetre() {
    let doc = r#"{"type":"CityJSON","version":"2.0","transform":{"scale":[0.001,0.001,0.001],"translate":[0,0,0]},
      "CityObjects":{"low":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[0,1,2,3]]]}]},
                     "roof":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[4,5,6,7]]]}]}},
      "vertices":[[0,0,0],[1000,0,0],[1000,1000,0],[0,1000,0],
                  [20000,0,3217],[30000,0,3217],[30000,10000,3217],[20000,10000,3217]]}"#;
    let path = std::env::temp_dir().join(format!("urbis-far-ray-{}.city.json", std::process::id()));
    std::fs::write(&path, doc).expect("write");
    let (model, _) = open_city(std::slice::from_ref(&path)).expect("load");
    let _ = std::fs::remove_file(&path);
    let roof = model.features().by_guid("roof").expect("roof");
    let b = *model.world.get::<Bounds>(roof).expect("bounds");
    for height in [99_999.37, 12_345.678, 50.3] {
        let c = b.center();
        let hit = model
            .spatial()
            .ray_cast(&model.world, DVec3::new(c.x + 1.234, c.y - 2.345, height), -DVec3::Z, 2e5)
            .expect("hit");
        assert_eq!(hit.entity, roof);
        assert!((hit.point.z - b.max.z).abs() < 1e-3, "from {height} m: {} vs {}", hit.point.z, b.max.z);
        assert!((hit.distance - (height - b.max.z)).abs() < 1e-3);
    }
}
