//! Footprints from an ESRI shapefile: written here with the `shapefile`
//! crate's writer (a 30 × 20 m building with a 4 × 4 m courtyard and a
//! 10 × 10 m one, in EPSG:4547, GBK-encoded names), loaded as LoD1
//! buildings like GeoJSON footprints: heights from the `height` field,
//! plan area (584 and 100 m², the projection's scale near its central
//! meridian is 1 within 1e-4), names decoded through the `.cpg`, and the
//! CRS from the `.prj`. A `.prj` that names no EPSG code, or none at all,
//! is an error naming the file.

use shapefile::dbase::{FieldValue, Record, TableWriterBuilder};
use shapefile::{Point, Polygon, PolygonRing};
use urbis_model::{AttributeValue, Attributes, Bounds, Footprint, LoadOptions};

const PRJ_4547: &str = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",114],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4547"]]"#;

/// A rectangle ring, clockwise (outer) or counter-clockwise (inner), as the shapefile spec has them.
fn rect(x: f64, y: f64, w: f64, h: f64, outer: bool) -> PolygonRing<Point> {
    let mut pts =
        vec![Point::new(x, y), Point::new(x, y + h), Point::new(x + w, y + h), Point::new(x + w, y), Point::new(x, y)];
    if outer {
        PolygonRing::Outer(pts)
    } else {
        pts.reverse();
        PolygonRing::Inner(pts)
    }
}

fn write(dir: &std::path::Path, prj: Option<&str>) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let shp = dir.join("blocks.shp");
    let gbk = shapefile::dbase::encoding::EncodingRs::from(encoding_rs::GBK);
    let table = TableWriterBuilder::with_encoding(gbk)
        .add_character_field("name".try_into().expect("field"), 40)
        .add_numeric_field("height".try_into().expect("field"), 10, 2)
        .add_numeric_field("floors".try_into().expect("field"), 4, 0);
    let mut w = shapefile::Writer::from_path(&shp, table).expect("writer");
    let (x0, y0) = (520_000.0, 3_397_000.0);
    let shapes = [
        (
            Polygon::with_rings(vec![rect(x0, y0, 30.0, 20.0, true), rect(x0 + 5.0, y0 + 8.0, 4.0, 4.0, false)]),
            "教学楼",
            24.5,
            8.0,
        ),
        (Polygon::with_rings(vec![rect(x0 + 50.0, y0, 10.0, 10.0, true)]), "Gym", 12.0, 3.0),
    ];
    for (poly, name, height, floors) in shapes {
        let mut r = Record::default();
        r.insert("name".into(), FieldValue::Character(Some(name.into())));
        r.insert("height".into(), FieldValue::Numeric(Some(height)));
        r.insert("floors".into(), FieldValue::Numeric(Some(floors)));
        w.write_shape_and_record(&poly, &r).expect("write");
    }
    drop(w);
    std::fs::write(dir.join("blocks.cpg"), "GBK").expect("cpg");
    if let Some(p) = prj {
        std::fs::write(dir.join("blocks.prj"), p).expect("prj");
    }
    shp
}

#[test]
fn shapefile_footprints_become_buildings() {
    let dir = std::env::temp_dir().join(format!("urbis-shp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let shp = write(&dir, Some(PRJ_4547));
    let (mut model, reports) = urbis_model::open_city_opts(&[shp], &LoadOptions::default()).expect("load");
    assert_eq!(reports[0].crs, Some(4547));
    let mut q = model.world.query::<(&Attributes, &Bounds, &Footprint)>();
    let mut found: Vec<(String, f64, f64)> = q
        .iter(&model.world)
        .map(|(a, b, f)| {
            let name = match a.get("name") {
                Some(AttributeValue::String(s)) => s.clone(),
                other => panic!("name {other:?}"),
            };
            (name, b.max.z - b.min.z, geo::Area::unsigned_area(&f.0))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(found.len(), 2, "{found:?}");
    let (gym, school) = (&found[0], &found[1]);
    assert_eq!(school.0, "教学楼", "GBK decoded through the .cpg");
    assert!((school.1 - 24.5).abs() < 0.01 && (gym.1 - 12.0).abs() < 0.01, "heights {found:?}");
    assert!((school.2 - 584.0).abs() < 584.0 * 1e-3, "courtyard cut out: {} m²", school.2);
    assert!((gym.2 - 100.0).abs() < 0.1, "{} m²", gym.2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shapefile_without_a_usable_prj_is_refused_by_name() {
    for (tag, prj) in [("none", None), ("local", Some(r#"LOCAL_CS["site grid",UNIT["metre",1]]"#))] {
        let dir = std::env::temp_dir().join(format!("urbis-shp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let shp = write(&dir, prj);
        let e = urbis_model::open_city_opts(&[shp], &LoadOptions::default()).expect_err(tag).to_string();
        assert!(e.contains("blocks.prj"), "{tag}: {e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A truncated .shp is an error naming it, not a panic.
    let dir = std::env::temp_dir().join(format!("urbis-shp-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let shp = write(&dir, Some(PRJ_4547));
    let bytes = std::fs::read(&shp).expect("shp");
    std::fs::write(&shp, &bytes[..bytes.len() - 40]).expect("cut");
    let e = urbis_model::open_city_opts(&[shp], &LoadOptions::default()).expect_err("cut").to_string();
    assert!(e.contains("blocks.shp"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
