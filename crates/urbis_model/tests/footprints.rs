//! GeoJSON footprints extruded into LoD1 buildings standing on a GeoTIFF
//! DEM, in the Dutch RD New CRS and in plain RFC 7946 lon/lat.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use geo::{Area, GeodesicArea};
use glam::DVec3;
use tiff::encoder::{TiffEncoder, colortype};
use tiff::tags::Tag;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-footprints-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// Terrain height in RD New at (x, y): a plane rising 2 cm per metre eastwards.
fn terrain_h(x: f64) -> f64 {
    2.0 + 0.02 * (x - 84_900.0)
}

/// A 40 × 40 GeoTIFF of 5 m cells from (84 900, 446 900) in EPSG:28992.
fn write_dem(path: &Path) {
    let (n, cell) = (40u32, 5.0);
    let mut data = Vec::new();
    for _row in 0..n {
        for col in 0..n {
            data.push(terrain_h(84_900.0 + (col as f64 + 0.5) * cell) as f32);
        }
    }
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).expect("encoder");
        let mut img = enc.new_image::<colortype::Gray32Float>(n, n).expect("image");
        img.encoder().write_tag(Tag::ModelPixelScaleTag, &[cell, cell, 0.0][..]).expect("scale");
        img.encoder().write_tag(Tag::ModelTiepointTag, &[0.0, 0.0, 0.0, 84_900.0, 447_100.0, 0.0][..]).expect("tie");
        img.encoder()
            .write_tag(Tag::GeoKeyDirectoryTag, &[1u16, 1, 0, 2, 1025, 0, 1, 1, 3072, 0, 1, 28992][..])
            .expect("keys");
        img.write_data(&data).expect("data");
    }
    std::fs::write(path, buf.into_inner()).expect("write dem");
}

fn square(x: f64, y: f64, w: f64) -> String {
    format!("[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]", x + w, x + w, y + w, y + w)
}

const RD_FEATURES: &str = r#"{"type":"FeatureCollection",
 "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::28992"}},
 "features":[
  {"type":"Feature","id":"A","properties":{"name":"Hof","height":12.5},
   "geometry":{"type":"Polygon","coordinates":[OUTER_A, HOLE_A]}},
  {"type":"Feature","id":"B","properties":{"building:levels":"4"},
   "geometry":{"type":"MultiPolygon","coordinates":[[PART_B1],[PART_B2]]}},
  {"type":"Feature","id":"C","properties":{},
   "geometry":{"type":"Polygon","coordinates":[PART_C]}},
  {"type":"Feature","id":"D","properties":{"kind":"lamp"},
   "geometry":{"type":"Point","coordinates":[85000,447000]}}
 ]}"#;

fn rd_features() -> String {
    let hole: String = {
        // Clockwise already; the loader orients rings itself either way.
        let (x, y, w) = (84_970.0, 446_990.0, 20.0);
        format!("[[{x},{y}],[{x},{}],[{},{}],[{},{y}],[{x},{y}]]", y + w, x + w, y + w, x + w)
    };
    RD_FEATURES
        .replace("OUTER_A", &square(84_960.0, 446_980.0, 40.0))
        .replace("HOLE_A", &hole)
        .replace("PART_B1", &square(85_020.0, 447_000.0, 10.0))
        .replace("PART_B2", &square(85_040.0, 447_000.0, 10.0))
        .replace("PART_C", &square(84_920.0, 447_040.0, 10.0))
}

fn rd_to_enu(model: &CityModel, x: f64, y: f64, h: f64) -> DVec3 {
    let t = CrsTransform::new(Epsg(28992), Epsg::ECEF).expect("proj");
    model.frame().ecef_to_enu(t.transform(DVec3::new(x, y, h)).expect("transform"))
}

fn hit_below(model: &CityModel, p: DVec3) -> (SemanticClass, String, f64) {
    let hit = model.spatial().ray_cast(&model.world, p + DVec3::Z * 500.0, -DVec3::Z, 1000.0).expect("something below");
    let class = *model.world.get::<SemanticClass>(hit.entity).expect("class");
    let guid = model.world.get::<FeatureId>(hit.entity).map(|f| f.guid.clone()).unwrap_or_default();
    (class, guid, hit.point.z)
}

#[test]
fn footprints_stand_on_a_geotiff_dem_in_rd_new() {
    let dir = scratch("rd");
    // Named so that the footprints sort first: the loader still reads DEMs first.
    std::fs::write(dir.join("a_buildings.json"), rd_features()).expect("write geojson");
    write_dem(&dir.join("z_dem.tif"));
    let (model, reports) = open_city(std::slice::from_ref(&dir)).expect("load");
    assert_eq!(reports.len(), 2);
    assert!(reports[0].path.ends_with("z_dem.tif"), "DEM first: {:?}", reports[0].path);
    let fr = &reports[1];
    assert_eq!(fr.crs, Some(28992));
    assert_eq!(fr.features, 3, "A, B and C; the point is skipped");
    assert!(fr.warnings.iter().any(|w| w.contains("a_buildings#D") && w.contains("Point")), "{:?}", fr.warnings);
    assert!(fr.warnings.iter().any(|w| w.contains("a_buildings#C") && w.contains("10 m")), "{:?}", fr.warnings);

    let by = |id: &str| model.features().by_guid(&format!("a_buildings#{id}")).unwrap_or_else(|| panic!("{id}"));
    let (a, b, c) = (by("A"), by("B"), by("C"));
    let attrs = model.world.get::<Attributes>(a).expect("attrs");
    assert_eq!(attrs.str("name"), Some("Hof"));
    assert_eq!(attrs.get("extruded_height"), Some(&AttributeValue::from(12.5)));
    let attrs_b = model.world.get::<Attributes>(b).expect("attrs");
    assert_eq!(attrs_b.get("extruded_height"), Some(&AttributeValue::from(12.0)), "4 floors × 3 m");
    assert_eq!(attrs_b.str("height_source"), Some("floors"));
    assert_eq!(model.world.get::<Attributes>(c).expect("attrs").str("height_source"), Some("default"));

    // Each building's base is the lowest terrain under its outline (less
    // 20 cm so no gap shows), and its roof is that plus its height. The
    // terrain is a plane, which the DEM's triangles reproduce exactly.
    for (e, west_x, south_y, height) in [(a, 84_960.0, 446_980.0, 12.5), (c, 84_920.0, 447_040.0, 10.0)] {
        let bounds = model.world.get::<Bounds>(e).expect("bounds");
        let ground = rd_to_enu(&model, west_x, south_y, terrain_h(west_x)).z;
        assert!((bounds.min.z - (ground - 0.2)).abs() < 0.01, "base {} vs ground {ground}", bounds.min.z);
        assert!((bounds.max.z - bounds.min.z - height).abs() < 0.01, "height {}", bounds.max.z - bounds.min.z);
    }

    // Looking down: the roof of A, the terrain in A's courtyard, both parts of B.
    let (class, guid, z) = hit_below(&model, rd_to_enu(&model, 84_965.0, 447_000.0, 0.0));
    assert_eq!((class, guid.as_str()), (SemanticClass::BUILDING, "a_buildings#A"));
    let a_bounds = model.world.get::<Bounds>(a).expect("bounds");
    assert!((z - a_bounds.max.z).abs() < 0.01);
    let court = rd_to_enu(&model, 84_980.0, 447_000.0, terrain_h(84_980.0));
    let (class, _, z) = hit_below(&model, DVec3::new(court.x, court.y, 0.0));
    assert_eq!(class, SemanticClass::TIN_RELIEF, "the courtyard is open");
    assert!((z - court.z).abs() < 0.01, "courtyard ground {z} vs {}", court.z);
    for x in [85_025.0, 85_045.0] {
        let (_, guid, _) = hit_below(&model, rd_to_enu(&model, x, 447_005.0, 0.0));
        assert_eq!(guid, "a_buildings#B");
    }

    // The footprint keeps its hole; its area is RD's area rescaled by the
    // projection (point scale ≈ 0.99998 here), so within 0.1 %.
    let fp = model.world.get::<Footprint>(a).expect("footprint");
    assert_eq!(fp.0.interiors().len(), 1);
    let area = fp.0.unsigned_area();
    assert!((area - 1200.0).abs() / 1200.0 < 1e-3, "area {area}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lon_lat_footprints_without_terrain_sit_on_the_ellipsoid() {
    let dir = scratch("wgs84");
    let (lon, lat, d) = (4.3571, 52.0116, 0.001);
    let ring =
        format!("[[{lon},{lat}],[{},{lat}],[{},{}],[{lon},{}],[{lon},{lat}]]", lon + d, lon + d, lat + d, lat + d);
    let doc = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"floors":5}},
        "geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}]}}"#
    );
    let path = dir.join("block.geojson");
    std::fs::write(&path, doc).expect("write");
    let opts = LoadOptions {
        footprints: FootprintOptions { storey_height: 3.5, ..FootprintOptions::default() },
        ..LoadOptions::default()
    };
    let (model, reports) = open_city_opts(&[path], &opts).expect("load");
    assert_eq!(reports[0].crs, Some(4326));
    assert_eq!(model.feature_count(), 1);
    let e = model.features().by_guid("block#0").expect("guid from file name and index");
    let bounds = model.world.get::<Bounds>(e).expect("bounds");
    assert!(bounds.min.z.abs() < 0.01 && (bounds.max.z - 17.5).abs() < 0.01, "{bounds:?}");
    // Plan area against Karney's geodesic area of the same lon/lat square (0.1 %).
    let reference = geo::Polygon::new(
        geo::LineString::from(vec![(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat)]),
        vec![],
    )
    .geodesic_area_unsigned();
    let area = model.world.get::<Footprint>(e).expect("footprint").0.unsigned_area();
    assert!((area - reference).abs() / reference < 1e-3, "area {area} vs geodesic {reference}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn broken_geojson_names_the_file_and_field() {
    let dir = scratch("bad");
    let path = dir.join("broken.geojson");
    std::fs::write(&path, r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1]]]}}]}"#)
        .expect("write");
    let err = open_city(&[path]).expect_err("must fail").to_string();
    assert!(err.contains("broken.geojson") && err.contains("/features/0/geometry"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// On the globe the DEM is streamed, not loaded: footprints stand on the
/// streamed terrain's heights (its DEM, or a quantized-mesh tileset written
/// from it), with no terrain tile attached yet.
#[test]
fn footprints_stand_on_the_streamed_terrain_of_the_globe() {
    let dir = scratch("globe");
    std::fs::write(dir.join("a_buildings.json"), rd_features()).expect("write geojson");
    write_dem(&dir.join("z_dem.tif"));
    let qm_dir = scratch("globe-qm");
    let grid = urbis_formats::geotiff::read(&dir.join("z_dem.tif")).expect("dem");
    let heights = urbis_tiles::terrain::DemHeights::new("dem", grid).expect("heights");
    let generator = std::sync::Arc::new(urbis_tiles::terrain::TerrainGenerator::new(
        "dem",
        urbis_tiles::terrain::TerrainSource::Dems(vec![heights]),
        Vec::new(),
    ));
    urbis_tiles::terrain::write_quantized_mesh(&generator, &qm_dir, None, &|_, _| {}).expect("write quantized mesh");
    let stream = urbis_tiles::StreamOptions::default();
    for (label, paths, terrain) in [
        ("DEM", vec![dir.clone()], None),
        ("quantized mesh", vec![dir.join("a_buildings.json")], Some(qm_dir.display().to_string())),
    ] {
        let opts = LoadOptions { globe: true, terrain, ..Default::default() };
        let (model, sets, _) = open_city_streaming(&paths, &opts, &stream).expect("open on the globe");
        assert!(sets.iter().any(|s| s.terrain.is_some()), "{label}: a terrain stream");
        let counts = model.counts_by_class();
        assert_eq!(counts.get(&SemanticClass::TIN_RELIEF), None, "{label}: the DEM is not loaded whole");
        assert_eq!(counts.get(&SemanticClass::BUILDING), Some(&3), "{label}: {counts:?}");
        let by = |id: &str| model.features().by_guid(&format!("a_buildings#{id}")).unwrap_or_else(|| panic!("{id}"));
        for (id, west_x, south_y, height) in [("A", 84_960.0, 446_980.0, 12.5), ("C", 84_920.0, 447_040.0, 10.0)] {
            let bounds = model.world.get::<Bounds>(by(id)).expect("bounds");
            let ground = rd_to_enu(&model, west_x, south_y, terrain_h(west_x)).z;
            eprintln!("{label} {id}: base {:.4}, ground {ground:.4} − 0.2", bounds.min.z);
            assert!(
                (bounds.min.z - (ground - 0.2)).abs() < 0.01,
                "{label} {id}: base {} vs ground {ground}",
                bounds.min.z
            );
            assert!((bounds.max.z - bounds.min.z - height).abs() < 0.01);
        }
        // The ground query answers anywhere on the terrain, and on the ellipsoid beyond it.
        let p = rd_to_enu(&model, 85_000.0, 447_000.0, terrain_h(85_000.0));
        let z = ground::ground_height(&model, p.x, p.y).expect("ground");
        assert!((z - p.z).abs() < 0.01, "{label}: ground {z} vs {}", p.z);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&qm_dir);
}
