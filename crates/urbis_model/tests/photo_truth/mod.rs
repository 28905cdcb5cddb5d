//! The sample city's buildings as the reference monomerization uses them:
//! footprint prisms per building (parts merged) read straight from the
//! generated CityJSON, and the owner of a photo-mesh point. Shared by the
//! physical (`monomerize_photo.rs`) and the dynamic
//! (`urbis_engine/tests/classify_photo.rs`) tests.

#![allow(dead_code)]

use std::collections::HashMap;

use geo::{LineString, MultiPolygon, Polygon};
use glam::DVec3;
use serde_json::Value;
use urbis_model::monomerize::Prism;

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

/// Footprint prisms per building (parts merged): GroundSurface polygons
/// with holes, from the lowest to the highest vertex.
pub fn prisms(doc: &Value) -> Vec<Prism> {
    let v = vertices(doc);
    let mut by_id: HashMap<String, (Vec<Polygon<f64>>, f64, f64)> = HashMap::new();
    for (id, o) in doc["CityObjects"].as_object().expect("objects") {
        let owner = match o["type"].as_str() {
            Some("Building") => id.clone(),
            Some("BuildingPart") => o["parents"][0].as_str().expect("parent").to_string(),
            _ => continue,
        };
        let entry = by_id.entry(owner).or_insert((Vec::new(), f64::INFINITY, f64::NEG_INFINITY));
        for g in o["geometry"].as_array().into_iter().flatten().filter(|g| g["type"] == "Solid") {
            let kinds: Vec<&str> = g["semantics"]["surfaces"]
                .as_array()
                .expect("sem")
                .iter()
                .map(|s| s["type"].as_str().unwrap_or(""))
                .collect();
            for (k, surface) in g["boundaries"][0].as_array().expect("shell").iter().enumerate() {
                let rings: Vec<Vec<DVec3>> = surface
                    .as_array()
                    .expect("rings")
                    .iter()
                    .map(|r| r.as_array().expect("ring").iter().map(|i| v[i.as_u64().expect("i") as usize]).collect())
                    .collect();
                for p in rings.iter().flatten() {
                    entry.1 = entry.1.min(p.z);
                    entry.2 = entry.2.max(p.z);
                }
                let kind = g["semantics"]["values"][0][k].as_u64().map_or("", |s| kinds[s as usize]);
                if kind == "GroundSurface" {
                    let ls = |r: &Vec<DVec3>| LineString::from(r.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
                    entry.0.push(Polygon::new(ls(&rings[0]), rings[1..].iter().map(ls).collect()));
                }
            }
        }
    }
    let mut out: Vec<Prism> = by_id
        .into_iter()
        .filter(|(_, (polys, ..))| !polys.is_empty())
        .map(|(id, (polys, base, top))| Prism { id, plan: MultiPolygon::new(polys), base, top })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The reference owner of a photo-mesh triangle: the building whose roof
/// holds its highest vertex (inside the footprint, above base + 1 m), or
/// none (ground, trees, roads).
pub fn owner(prisms: &[Prism], tri: [DVec3; 3]) -> Option<&str> {
    let p = tri.into_iter().max_by(|a, b| a.z.total_cmp(&b.z))?;
    let at = geo::Point::new(p.x, p.y);
    prisms.iter().find(|b| p.z > b.base + 1.0 && geo::Intersects::intersects(&b.plan, &at)).map(|b| b.id.as_str())
}
