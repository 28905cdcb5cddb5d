//! The generator is deterministic and produces the district the foundation
//! issue asks for.

use std::collections::BTreeMap;

use urbis_sample_city::{SampleCityConfig, generate};

#[test]
fn same_seed_same_bytes_other_seed_other_city() {
    let cfg = SampleCityConfig::default();
    let a = serde_json::to_vec(&generate(&cfg).expect("a").cityjson).expect("json");
    let b = serde_json::to_vec(&generate(&cfg).expect("b").cityjson).expect("json");
    assert!(a == b, "generation is not deterministic");
    let c = serde_json::to_vec(&generate(&SampleCityConfig { seed: 7, ..cfg }).expect("c").cityjson).expect("json");
    assert!(a != c);
}

#[test]
fn district_has_varied_buildings_roads_water_parks_and_trees() {
    let city = generate(&SampleCityConfig::default()).expect("generate");
    let s = &city.stats;
    assert!((3000..=10000).contains(&s.buildings), "{s:?}");
    assert!(s.roads > 100 && s.bridges > 0 && s.water_bodies >= 2 && s.parks > 5 && s.trees > 1000, "{s:?}");

    let objects = city.cityjson["CityObjects"].as_object().expect("objects");
    let mut typologies: BTreeMap<&str, usize> = BTreeMap::new();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    let mut with_hole = 0;
    for o in objects.values().filter(|o| o["type"] == "Building") {
        let a = &o["attributes"];
        for key in ["height", "floors", "use", "year_built"] {
            assert!(!a[key].is_null(), "{key} missing: {o}");
        }
        assert!(o["address"][0]["ThoroughfareName"].is_string());
        *typologies.entry(a["typology"].as_str().expect("typology")).or_default() += 1;
        *uses.entry(a["use"].as_str().expect("use")).or_default() += 1;
        // A courtyard's roof polygon has an inner ring.
        if o["geometry"][0]["boundaries"][0]
            .as_array()
            .is_some_and(|shell| shell.iter().any(|s| s.as_array().is_some_and(|r| r.len() > 1)))
        {
            with_hole += 1;
        }
    }
    for t in ["slab", "L-shaped slab", "point tower", "house", "tower on podium", "courtyard block", "shed"] {
        assert!(typologies.contains_key(t), "no {t} in {typologies:?}");
    }
    for u in ["residential", "commercial", "office", "industrial", "public"] {
        assert!(uses.contains_key(u), "no {u} in {uses:?}");
    }
    assert!(with_hole > 0, "no courtyard footprints");
    assert!(objects.values().any(|o| o["type"] == "BuildingPart" && o["parents"].is_array()));
}

#[test]
fn dem_has_a_river_valley_below_its_banks() {
    let city = generate(&SampleCityConfig::default()).expect("generate");
    let dem = &city.dem;
    assert!(dem.heights.iter().all(|h| h.is_finite()));
    let water = &city.cityjson["CityObjects"]["XA-W-river"];
    let level = water["attributes"]["water_level"].as_f64().expect("level");
    // Along each DEM column, the lowest cell lies below the river's water level
    // and the column rises at least 3 m above it somewhere (the banks).
    for col in (20..dem.ncols - 20).step_by(40) {
        let column: Vec<f64> = (0..dem.nrows).filter_map(|r| dem.height(col, r)).map(f64::from).collect();
        let lo = column.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(lo < level + 0.5, "column {col}: lowest {lo} vs water level {level}");
        assert!(hi > level + 3.0, "column {col}: no banks ({hi})");
    }
}
