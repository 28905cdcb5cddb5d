//! Real CityJSON (cjio's Rotterdam and Den Haag extracts) and a real DEM
//! (landlab's hugo_site.asc) through the model.

mod shared;

use std::collections::BTreeMap;

use serde_json::Value;
use urbis_model::*;

/// The entity's class: the source's own CityJSON type, whatever it is.
fn type_of(model: &CityModel, e: bevy_ecs::entity::Entity) -> String {
    model.world.get::<SemanticClass>(e).expect("class").name().to_string()
}

#[test]
fn rotterdam_and_den_haag_counts_and_attributes() {
    for rel in [
        "cityjson/cjio/rotterdam/rotterdam_subset.json",
        "cityjson/cjio/rotterdam/rotterdam_one.json",
        "cityjson/cjio/DH_01_subs.city.json",
    ] {
        let Some(p) = shared::shared(rel) else { continue };
        let raw: Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
        let (model, _) = open_city(&[p]).expect("load");
        let objects = raw["CityObjects"].as_object().expect("objects");
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        for o in objects.values() {
            *want.entry(o["type"].as_str().expect("type").to_string()).or_default() += 1;
        }
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for (id, o) in objects {
            let e = model.features().by_guid(id).unwrap_or_else(|| panic!("{rel}: {id} has no entity"));
            *got.entry(type_of(&model, e)).or_default() += 1;
            let a = model.world.get::<Attributes>(e).expect("attributes");
            for (k, v) in o.get("attributes").and_then(Value::as_object).into_iter().flatten() {
                match AttributeValue::from_json(v) {
                    Some(want) => assert_eq!(a.get(k), Some(&want), "{rel}: {id}.{k}"),
                    None => assert!(a.get(k).is_none(), "{rel}: {id}.{k} is null"),
                }
            }
        }
        assert_eq!(got, want, "{rel}: entities per type");
        assert_eq!(model.feature_count(), objects.len(), "{rel}: one entity per CityObject");
    }
}

#[test]
fn hugo_site_dem_has_its_heights_and_nodata_holes() {
    let Some(p) = shared::shared("dem/hugo_site.asc") else { return };
    let grid = urbis_formats::ascii_grid::read(&p).expect("grid");
    assert_eq!((grid.ncols, grid.nrows), (76, 55));
    let nodata = grid.heights.iter().filter(|h| h.is_nan()).count();
    assert!(nodata > 0, "the real watershed has NODATA cells");
    let (mut model, reports) = open_city(&[p]).expect("load");
    assert_eq!(reports[0].features, 1);
    let mut q = model.world.query::<(&SemanticClass, &Terrain, &GeometryHandle, &Placement, &Attributes)>();
    let (class, terrain, g, placement, attrs) = q.single(&model.world).expect("one terrain");
    assert_eq!(*class, SemanticClass::TIN_RELIEF);
    assert_eq!(attrs.f64("nodata_cells"), Some(nodata as f64));
    assert_eq!(terrain.grid.heights.len(), 76 * 55);
    let mesh = model.meshes().get(g.mesh).expect("mesh");
    // One vertex per valid cell, at the cell's height (local metres: no CRS).
    assert_eq!(mesh.vertices.len(), 76 * 55 - nodata);
    let mut heights: Vec<f64> = mesh.vertices.iter().map(|v| placement.enu.z + v.position.z as f64).collect();
    let mut want: Vec<f64> = grid.heights.iter().filter(|h| !h.is_nan()).map(|&h| h as f64).collect();
    heights.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    let lowest = want[0];
    for (a, b) in heights.iter().zip(&want) {
        assert!((a - (b - lowest) - heights[0]).abs() < 1e-3, "{a} vs {b}");
    }
    // Holes: no triangle uses a NODATA cell, so there are fewer triangles than a full grid.
    assert!(mesh.triangle_count() < 2 * 75 * 54);
}

/// Above 4,096 objects the loader projects on every rayon thread, each with
/// its own PROJ transform: every object lands where a transform of its own
/// coordinates says (to 1 mm), whichever worker did it.
#[test]
fn many_objects_projected_in_parallel_land_exactly() {
    use urbis_geo::{CrsTransform, Epsg};
    let n = 5_000;
    let mut objects = Vec::new();
    let mut vertices = Vec::new();
    for i in 0..n {
        let (x, y) = ((i % 100) as i64 * 15_000, (i / 100) as i64 * 15_000);
        let b = vertices.len();
        vertices.extend([format!("[{x},{y},0]"), format!("[{},{y},0]", x + 8000), format!("[{x},{},9000]", y + 6000)]);
        objects.push(format!(
            r#""o{i}":{{"type":"Building","geometry":[{{"type":"MultiSurface","lod":"1","boundaries":[[[{},{},{}]]]}}]}}"#,
            b,
            b + 1,
            b + 2
        ));
    }
    let doc = format!(
        r#"{{"type":"CityJSON","version":"2.0","transform":{{"scale":[0.001,0.001,0.001],"translate":[84000,446000,0]}},
        "metadata":{{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/28992"}},
        "CityObjects":{{{}}},"vertices":[{}]}}"#,
        objects.join(","),
        vertices.join(",")
    );
    let path = std::env::temp_dir().join(format!("urbis-many-{}.city.json", std::process::id()));
    std::fs::write(&path, doc).expect("write");
    let (model, _) = open_city(std::slice::from_ref(&path)).expect("load");
    let _ = std::fs::remove_file(&path);
    assert_eq!(model.feature_count(), n);
    let t = CrsTransform::new(Epsg(28992), Epsg::ECEF).expect("proj");
    for i in [0, 1, 2_499, 2_500, 4_999] {
        let e = model.features().by_guid(&format!("o{i}")).expect("entity");
        let b = model.world.get::<Bounds>(e).expect("bounds");
        let (x, y) = (84_000.0 + (i % 100) as f64 * 15.0, 446_000.0 + (i / 100) as f64 * 15.0);
        let enu = |p: glam::DVec3| model.frame().ecef_to_enu(t.transform(p).expect("transform"));
        let pts = [
            enu(glam::DVec3::new(x, y, 0.0)),
            enu(glam::DVec3::new(x + 8.0, y, 0.0)),
            enu(glam::DVec3::new(x, y + 6.0, 9.0)),
        ];
        let (lo, hi) = (pts[0].min(pts[1]).min(pts[2]), pts[0].max(pts[1]).max(pts[2]));
        assert!((b.min - lo).length() < 1e-3 && (b.max - hi).length() < 1e-3, "o{i}: {b:?} vs {lo:?}..{hi:?}");
    }
}

/// A CityJSON vertex in RD New (EPSG:28992) lands where NSGI's RDNAPTRANS™2018
/// validation file puts it (`Z001_ETRS89andRDNAP.txt`, point 30010000: RD
/// x 108360.8790 y 415757.2745, NAP 258.0057 m ↔ ETRS89 51.728601274°N
/// 4.712120126°E, h 301.7981 m). Without NSGI's correction grid PROJ joins
/// Amersfoort to WGS 84 by a Helmert transformation good to about a metre,
/// and ETRS89 has drifted about 0.8 m from WGS 84 (ITRF) since 1989, so the
/// horizontal bound is 2 m; the height (NAP plus geoid, also not gridded
/// here) is not checked.
#[test]
fn rd_new_vertices_land_at_the_nsgi_validation_point() {
    let doc = r#"{"type":"CityJSON","version":"2.0","transform":{"scale":[0.0001,0.0001,0.0001],"translate":[0,0,0]},
        "metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/28992"},
        "CityObjects":{"p":{"type":"GenericCityObject","geometry":[{"type":"MultiPoint","lod":"1","boundaries":[0]}]}},
        "vertices":[[1083608790,4157572745,2580057]]}"#;
    let path = std::env::temp_dir().join(format!("urbis-nsgi-{}.city.json", std::process::id()));
    std::fs::write(&path, doc).expect("write");
    let (model, _) = open_city(std::slice::from_ref(&path)).expect("load");
    let _ = std::fs::remove_file(&path);
    let e = model.features().by_guid("p").expect("feature");
    let b = model.world.get::<Bounds>(e).expect("bounds");
    let g = model.frame().enu_to_geodetic(b.center());
    let (lat, lon) = (51.728_601_274, 4.712_120_126);
    let north = (g.lat_deg - lat).to_radians() * 6_365_000.0;
    let east = (g.lon_deg - lon).to_radians() * 6_365_000.0 * lat.to_radians().cos();
    eprintln!("NSGI point: {:.3} m east, {:.3} m north of its ETRS89 position", east, north);
    assert!(east.hypot(north) < 2.0, "{east:.2} m east, {north:.2} m north of the published position");
}
