//! IFC models placed in the city: through IfcMapConversion into their
//! projected CRS (checked by sending the entity's ECEF position back through
//! PROJ), through IfcSite's latitude/longitude and true north, and combined
//! with CityJSON and a DEM in one scene.

mod shared;

use std::path::PathBuf;

use glam::DVec3;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::*;

fn synthetic() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../urbis_formats/tests/data/sample.ifc")
}

fn placement(model: &CityModel, guid: &str) -> DVec3 {
    let e = model.features().by_guid(guid).unwrap_or_else(|| panic!("no entity {guid}"));
    model.world.get::<Placement>(e).expect("placement").enu
}

/// An entity's position in `crs`, through PROJ from its ECEF position.
fn in_crs(model: &CityModel, guid: &str, crs: u32) -> DVec3 {
    let ecef = model.frame().enu_to_ecef(placement(model, guid));
    CrsTransform::new(Epsg::ECEF, Epsg(crs)).expect("proj").transform(ecef).expect("transform")
}

#[test]
fn ut_georef_1_lands_at_the_stated_eastings_and_northings() {
    let Some(p) = shared::shared("ifc/UT_GeoRef_1.ifc") else { return };
    let (model, reports) = open_city(&[p]).expect("load");
    let crs = reports[0].crs.expect("georeferenced by IfcMapConversion");
    // EPSG:5834 is DB_REF Gauss-Krüger zone 4 + DHHN92; where PROJ cannot
    // use the compound CRS the loader falls back to its horizontal part 5684.
    assert!([5834, 5684].contains(&crs), "{crs}");
    // The site's placement is the project origin, which IfcMapConversion puts at
    // (4 468 005, 5 334 600, 515); the round trip through ECEF holds it to 1 cm.
    let site = in_crs(&model, "27H$neCQf1NwtmczxBInPR", crs);
    assert!((site.x - 4_468_005.0).abs() < 0.01 && (site.y - 5_334_600.0).abs() < 0.01, "{site:?}");
    assert!((site.z - 515.0).abs() < 0.01, "height {}", site.z);
    let stratum = model.features().by_guid("28H$neCQf1NwtmczxBInPR").expect("stratum");
    let class = *model.world.get::<SemanticClass>(stratum).expect("class");
    assert_eq!((class.name(), class.family()), ("IfcSolidStratum", Family::Terrain));
    assert_eq!(model.world.get::<Attributes>(stratum).expect("attrs").str("ifc_class"), Some("IfcSolidStratum"));
}

#[test]
fn rotated_map_conversion_places_the_proxy_by_its_x_axis() {
    let Some(p) = shared::shared("ifc/geographic-referencing.ifc") else { return };
    let doc = urbis_formats::ifc::read(&p).expect("read");
    let (model, reports) = open_city(&[p]).expect("load");
    assert_eq!(reports[0].crs, Some(25832));
    // IfcMapConversion by hand (IFC4 §8.18.3.6): E = E0 + a·x − b·y,
    // N = N0 + b·x + a·y, h = H0 + z, with (a, b) the x axis's abscissa and ordinate.
    let (a, b) = (0.270600445976, 0.962691746426);
    let mut checked = 0;
    for e in doc.elements.iter().filter(|e| !e.global_id.is_empty()) {
        let o = e.transform.w_axis.truncate();
        let want = DVec3::new(458_658.78 + a * o.x - b * o.y, 5_438_232.79 + b * o.x + a * o.y, 113.7 + o.z);
        let got = in_crs(&model, &e.global_id, 25832);
        assert!((got - want).length() < 0.01, "{} {}: {got:?} vs {want:?}", e.class, e.global_id);
        checked += 1;
    }
    assert!(checked >= 3, "site, building and the proxy at least: {checked}");
    let proxy = model.features().by_guid("0rBru4syGxGOZb$M8kVJuS").expect("proxy");
    let attrs = model.world.get::<Attributes>(proxy).expect("attrs");
    assert_eq!(attrs.str("Name"), Some("Geographic Position"));
}

#[test]
fn site_latitude_longitude_and_true_north_place_a_local_model() {
    let (model, reports) = open_city(&[synthetic()]).expect("load");
    let r = &reports[0];
    assert_eq!(r.crs, None, "no map conversion");
    assert_eq!(r.unsupported.get("IFCADVANCEDBREP"), Some(&1), "{:?}", r.unsupported);
    assert!(r.warnings.iter().any(|w| w.contains("IFCADVANCEDBREP")), "{:?}", r.warnings);

    // IfcSite at 52° N, 4°30' E, 10 m (the file is in millimetres).
    let site = placement(&model, "1BPCQAtTW7GhKrUF$Sytr1");
    let g = model.frame().enu_to_geodetic(site);
    assert!((g.lat_deg - 52.0).abs() < 1e-9 && (g.lon_deg - 4.5).abs() < 1e-9, "{g:?}");
    assert!((g.height - 10.0).abs() < 1e-6, "{}", g.height);
    // The building sits at project (1 m, 2 m); true north is project −x, so
    // project +x points south and +y east: 2 m east and 1 m south of the site.
    let building = placement(&model, "0cVTYHAI3nGeTXA2X4Gxy1");
    let d = building - site;
    assert!((d - DVec3::new(2.0, -1.0, 0.0)).length() < 1e-6, "{d:?}");

    // Spatial structure: the wall is a part of the storey, the storey of the building.
    let wall = model.features().by_guid("2O2Fr$t4X7Zf8NOew3FL01").expect("wall");
    let storey = model.world.get::<PartOf>(wall).expect("wall in storey").0;
    assert_eq!(model.world.get::<FeatureId>(storey).expect("id").guid, "3_fv_WeK63IPclwapZa9M1");
    let building_e = model.world.get::<PartOf>(storey).expect("storey in building").0;
    assert_eq!(model.world.get::<FeatureId>(building_e).expect("id").guid, "0cVTYHAI3nGeTXA2X4Gxy1");
    let attrs = model.world.get::<Attributes>(wall).expect("attrs");
    assert_eq!(attrs.str("ifc_class"), Some("IfcWall"));
    assert_eq!(attrs.str("Name"), Some("Wall A"));
    // The wall body (4 m × 0.2 m, clipped at 2.5 m) through the site's
    // rotation: 4 m along project x is 4 m north–south in ENU.
    let b = model.world.get::<Bounds>(wall).expect("bounds").size();
    assert!((b.x - 0.2).abs() < 1e-3 && (b.y - 4.0).abs() < 1e-3 && (b.z - 2.5).abs() < 1e-3, "{b:?}");
}

#[test]
fn cityjson_dem_and_ifc_combine_in_one_scene() {
    // rotterdam_one states EPSG:7415 (rotterdam_subset states no CRS); the
    // landlab DEM has none either and lies at the city origin.
    let (Some(city), Some(dem), Some(ifc)) = (
        shared::shared("cityjson/cjio/rotterdam/rotterdam_one.json"),
        shared::shared("dem/hugo_site.asc"),
        shared::shared("ifc/UT_GeoRef_1.ifc"),
    ) else {
        return;
    };
    let (alone, _) = open_city(std::slice::from_ref(&ifc)).expect("ifc alone");
    let (model, reports) = open_city(&[city.clone(), dem, ifc]).expect("combined");
    assert_eq!(reports.len(), 3);
    let (mut city_alone, _) = open_city(&[city]).expect("city alone");
    assert_eq!(model.feature_count(), city_alone.feature_count() + alone.feature_count() + reports[1].features);
    // The IFC site's ECEF position does not depend on the scene it joins.
    let guid = "27H$neCQf1NwtmczxBInPR";
    let a = alone.frame().enu_to_ecef(placement(&alone, guid));
    let b = model.frame().enu_to_ecef(placement(&model, guid));
    assert!((a - b).length() < 1e-3, "{a:?} vs {b:?}");
    // Nor does a Rotterdam building's.
    let e = city_alone.world.query::<&FeatureId>().iter(&city_alone.world).next().expect("a feature").guid.clone();
    let a = city_alone.frame().enu_to_ecef(placement(&city_alone, &e));
    let b = model.frame().enu_to_ecef(placement(&model, &e));
    assert!((a - b).length() < 1e-3, "{e}: {a:?} vs {b:?}");
}
