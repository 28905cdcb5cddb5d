//! `--place`: data without a georeference put on the Earth. Expected
//! positions come from the textbook tangent-plane step (east metres over
//! the parallel's radius, north metres over the meridian's), not from
//! Urbis' frame code; headings turn the model clockwise from north.

mod shared;

use std::path::PathBuf;

use glam::DVec3;
use urbis_geo::{Ellipsoid, Geodetic};
use urbis_model::{Bounds, LoadOptions, Place, open_city_opts};
use urbis_sample_city::SampleTiles;

const A: f64 = 6_378_137.0;
const E2: f64 = 6.694_379_990_14e-3;

/// Geodetic position of a point `east`, `north` metres from (lon, lat) on the tangent plane (first order).
fn stepped(lon: f64, lat: f64, east: f64, north: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let w = (1.0 - E2 * phi.sin().powi(2)).sqrt();
    let n = A / w; // prime vertical radius
    let m = A * (1.0 - E2) / w.powi(3); // meridian radius
    (lon + (east / (n * phi.cos())).to_degrees(), lat + (north / m).to_degrees())
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-place-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// A sample tileset with its root transform removed: local metres at the Earth's centre.
fn unplaced_tileset() -> PathBuf {
    let t = SampleTiles { levels: 1, lots: 2, size_m: 200.0, ..Default::default() };
    let dir = temp("tileset");
    t.write(&dir, |_| {}).expect("write");
    let p = dir.join("tileset.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    v["root"].as_object_mut().expect("root").remove("transform");
    std::fs::write(&p, serde_json::to_vec(&v).expect("json")).expect("write");
    p
}

/// Geodetic centres of the features' bounds, sorted by their local name.
fn feature_positions(model: &urbis_model::CityModel) -> Vec<(String, Geodetic)> {
    let frame = *model.frame();
    let mut v: Vec<(String, Geodetic)> = model
        .select(&urbis_model::FeatureQuery::new().exists("name"))
        .into_iter()
        .map(|e| {
            let b = model.world.get::<Bounds>(e).expect("bounds");
            let name = model.world.get::<urbis_model::Attributes>(e).and_then(|a| a.str("name").map(str::to_string));
            let c = DVec3::new((b.min.x + b.max.x) / 2.0, (b.min.y + b.max.y) / 2.0, b.min.z);
            (name.expect("name"), Ellipsoid::WGS84.ecef_to_geodetic(frame.enu_to_ecef(c)))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_tileset_at_the_earths_centre_is_placed_like_cesiums_model_matrix() {
    let p = unplaced_tileset();
    // Without --place it stays local (the city origin at 0°, 0°).
    let (local, _) = urbis_model::open_city(std::slice::from_ref(&p)).expect("load");
    assert!(local.frame().origin.lat_deg.abs() < 1e-9 && local.frame().origin.lon_deg.abs() < 1e-9);
    for heading in [0.0, 90.0, 30.0] {
        let place = Place { lon: 114.3055, lat: 30.5928, height: 20.0, heading };
        let opts = LoadOptions { place: Some(place), ..LoadOptions::default() };
        let (model, _) = open_city_opts(std::slice::from_ref(&p), &opts).expect("load placed");
        let got = feature_positions(&model);
        assert_eq!(got.len(), 4);
        // The 2 x 2 lots of a 200 m tile: centres at local (±50, ±50); name L0-0-0-i-j has i east, j north.
        for (name, g) in &got {
            let ij: Vec<f64> = name.rsplit('-').take(2).map(|s| s.parse().expect("index")).collect();
            let (x, y) = (-50.0 + 100.0 * ij[1], -50.0 + 100.0 * ij[0]);
            let h = heading.to_radians();
            // Clockwise heading: local north points to azimuth `heading`.
            let (east, north) = (x * h.cos() + y * h.sin(), -x * h.sin() + y * h.cos());
            let (lon, lat) = stepped(place.lon, place.lat, east, north);
            assert!(
                (g.lon_deg - lon).abs() < 2e-7 && (g.lat_deg - lat).abs() < 2e-7,
                "{heading}° {name}: {g:?} vs {lon}, {lat}"
            );
            assert!((g.height - place.height).abs() < 0.01, "{name} stands at the place's height: {}", g.height);
        }
    }
}

#[test]
fn a_cityjson_without_crs_is_placed() {
    let dir = temp("cityjson");
    let p = dir.join("local.city.json");
    // One 10 x 30 x 10 m block whose lowest corner is at local (100, 200, 5); no CRS in the metadata.
    let doc = serde_json::json!({
        "type": "CityJSON", "version": "2.0",
        "transform": {"scale": [1.0, 1.0, 1.0], "translate": [0.0, 0.0, 0.0]},
        "CityObjects": {"b": {"type": "Building", "attributes": {"name": "cube"}, "geometry": [{
            "type": "Solid", "lod": "1",
            "boundaries": [[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]
        }]}},
        "vertices": [[100,200,5],[110,200,5],[110,230,5],[100,230,5],[100,200,15],[110,200,15],[110,230,15],[100,230,15]]
    });
    std::fs::write(&p, serde_json::to_vec(&doc).expect("json")).expect("write");
    let place = Place { lon: 115.9, lat: 39.0, height: 10.0, heading: 90.0 };
    let opts = LoadOptions { place: Some(place), ..LoadOptions::default() };
    let (model, _) = open_city_opts(std::slice::from_ref(&p), &opts).expect("load");
    let got = feature_positions(&model);
    assert_eq!(got.len(), 1);
    // The data's centre (105, 215) and lowest height stand at the place, so the block lands on it.
    let g = got[0].1;
    assert!((g.lon_deg - 115.9).abs() < 1e-7 && (g.lat_deg - 39.0).abs() < 1e-7, "{g:?}");
    assert!((g.height - 10.0).abs() < 0.01, "{g:?}");
    // Heading 90°: the block's long side (local north, 30 m) now runs east-west.
    let e = model.select(&urbis_model::FeatureQuery::new().exists("name"))[0];
    let b = model.world.get::<Bounds>(e).expect("bounds");
    assert!(((b.max.x - b.min.x) - 30.0).abs() < 0.01 && ((b.max.y - b.min.y) - 10.0).abs() < 0.01, "{b:?}");
}

#[test]
fn an_ifc_without_georeference_is_placed() {
    let Some(p) = shared::shared("ifc/wall-standard-case.ifc") else { return };
    let place = Place { lon: 4.89, lat: 52.37, height: 0.0, heading: 0.0 };
    let opts = LoadOptions { place: Some(place), ..LoadOptions::default() };
    let (model, _) = open_city_opts(std::slice::from_ref(&p), &opts).expect("load");
    let o = model.frame().origin;
    assert!((o.lon_deg - 4.89).abs() < 1e-6 && (o.lat_deg - 52.37).abs() < 1e-6, "the city stands at the place: {o:?}");
    let (unplaced, _) = urbis_model::open_city(std::slice::from_ref(&p)).expect("load");
    assert!(unplaced.frame().origin.lat_deg.abs() < 1e-9, "without --place it stays at 0°, 0°");
    assert_eq!(model.feature_count(), unplaced.feature_count());
}
