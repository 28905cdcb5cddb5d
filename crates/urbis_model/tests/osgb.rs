//! OSGB photo-mesh tiles loaded whole: the real tile in `../shared/data/osgb`
//! alone (local metres) and inside ContextCapture-style datasets whose
//! `metadata.xml` places it (ENU:lat,lon, or an EPSG code through PROJ),
//! against independent references (the image crate for the texture, the
//! reader's own vertex bounds, textbook metres-per-degree for positions).

mod osgb_data;
mod shared;

use glam::DVec3;
use osgb_data::{dataset, metres_per_degree, with_child};
use urbis_geo::{CrsTransform, Ellipsoid, Epsg};
use urbis_model::{AttributeValue, Attributes, Bounds, CityModel, SemanticClass, TextureStore};

fn photo_meshes(m: &mut CityModel) -> Vec<(SemanticClass, Bounds, Attributes)> {
    let mut q = m.world.query::<(&SemanticClass, &Bounds, &Attributes)>();
    q.iter(&m.world).map(|(c, b, a)| (*c, *b, a.clone())).collect()
}

/// The geodetic position of the middle of an ENU box.
fn lon_lat(m: &CityModel, b: &Bounds) -> (f64, f64) {
    let g = Ellipsoid::WGS84.ecef_to_geodetic(m.frame().enu_to_ecef((b.min + b.max) / 2.0));
    (g.lon_deg, g.lat_deg)
}

#[test]
fn a_tile_alone_is_one_textured_photo_mesh_in_local_metres() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let file = urbis_formats::osgb::read_osgb_file(&tile).expect("read");
    let (lo, hi) = file.root.vertex_bounds().expect("vertices");
    let (mut m, reports) = urbis_model::open_city(std::slice::from_ref(&tile)).expect("open");
    assert_eq!(reports[0].features, 1, "{:?}", reports[0]);
    assert!(reports[0].warnings.is_empty(), "{:?}", reports[0].warnings);
    let meshes = photo_meshes(&mut m);
    assert_eq!(meshes.len(), 1);
    let (class, b, attrs) = &meshes[0];
    assert_eq!(class.name(), "PhotoMesh");
    // Local metres: the same extent as the file's vertices, only moved.
    let (size, want) = (b.max - b.min, hi - lo);
    assert!((size - want).abs().max_element() < 1e-3, "{size} vs {want}");
    let triangles = match attrs.get("triangles") {
        Some(AttributeValue::Int(n)) => *n,
        other => panic!("triangles: {other:?}"),
    };
    assert!(triangles > 0);
    // The embedded JPEG is the mesh's texture, at the size its own header states.
    let jpeg = file
        .root
        .geometries()
        .iter()
        .find_map(|(_, g)| g.state_set.as_ref()?.texture(0)?.image.as_ref()?.file_bytes().map(<[u8]>::to_vec))
        .expect("an embedded image");
    let (w, h) = image::ImageReader::new(std::io::Cursor::new(&jpeg))
        .with_guessed_format()
        .expect("format")
        .into_dimensions()
        .expect("JPEG header");
    let store = m.world.resource::<TextureStore>();
    assert_eq!(store.len(), 1);
    let tex = store.get(urbis_model::TextureId(0)).expect("texture");
    assert_eq!((tex.width(), tex.height()), (w, h));
}

#[test]
fn an_enu_dataset_stands_where_its_metadata_says() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let file = urbis_formats::osgb::read_osgb_file(&tile).expect("read");
    let (lo, hi) = file.root.vertex_bounds().expect("vertices");
    let centre = (lo + hi) / 2.0;
    let origin = DVec3::new(100.0, 200.0, 0.0);
    let dir = dataset(
        "enu",
        &tile,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n\t<SRS>ENU:39.0,115.9</SRS>\n\t<SRSOrigin>100,200,0</SRSOrigin>\n\t<Texture><ColorSource>Visible</ColorSource></Texture>\n</ModelMetadata>\n",
    );
    let (mut m, reports) = urbis_model::open_city(&[dir]).expect("open the dataset");
    assert_eq!(reports.len(), 1, "one top tile: {reports:?}");
    let meshes = photo_meshes(&mut m);
    assert_eq!(meshes.len(), 1);
    let (lon, lat) = lon_lat(&m, &meshes[0].1);
    let (mlat, mlon) = metres_per_degree(39.0);
    let want = (115.9 + (origin.x + centre.x) / mlon, 39.0 + (origin.y + centre.y) / mlat);
    assert!((lon - want.0).abs() < 2e-6 && (lat - want.1).abs() < 2e-6, "at {lon}, {lat}; want {want:?}");
}

#[test]
fn an_epsg_dataset_is_reprojected_through_proj() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let file = urbis_formats::osgb::read_osgb_file(&tile).expect("read");
    let (lo, hi) = file.root.vertex_bounds().expect("vertices");
    let centre = (lo + hi) / 2.0;
    // SRSOrigin: 115.9°E 39.0°N in CGCS2000 / 3-degree Gauss-Kruger CM 117E.
    let gk = CrsTransform::new(Epsg::WGS84, Epsg(4548))
        .expect("proj")
        .transform(DVec3::new(115.9, 39.0, 0.0))
        .expect("to GK");
    let dir = dataset(
        "epsg",
        &tile,
        &format!(
            "<ModelMetadata version=\"1\"><SRS>EPSG:4548</SRS><SRSOrigin>{:.3},{:.3},20</SRSOrigin></ModelMetadata>",
            gk.x, gk.y
        ),
    );
    let (mut m, reports) = urbis_model::open_city(&[dir]).expect("open the dataset");
    assert_eq!(reports[0].crs, Some(4548));
    let meshes = photo_meshes(&mut m);
    let (lon, lat) = lon_lat(&m, &meshes[0].1);
    // Transverse Mercator, first order (Snyder): true north lies γ = Δλ·sin φ
    // east of grid north west of the central meridian, and grid metres are
    // k = 1 + (Δλ·cos φ)²/2 true metres.
    let (phi, dl) = (39f64.to_radians(), (115.9f64 - 117.0).to_radians());
    let gamma = -dl * phi.sin();
    let k = 1.0 + (dl * phi.cos()).powi(2) / 2.0;
    let east = (centre.x * gamma.cos() - centre.y * gamma.sin()) / k;
    let north = (centre.x * gamma.sin() + centre.y * gamma.cos()) / k;
    let (mlat, mlon) = metres_per_degree(39.0);
    let want = (115.9 + east / mlon, 39.0 + north / mlat);
    assert!((lon - want.0).abs() < 3e-6 && (lat - want.1).abs() < 3e-6, "at {lon}, {lat}; want {want:?}");
    // Without the reprojection (grid metres taken as ENU) it would be metres off.
    assert!((lon - (115.9 + centre.x / mlon)).abs() > 1e-5, "grid north is not true north here");
}

#[test]
fn bad_metadata_is_a_clear_error_naming_the_file() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let dir = dataset("badxml", &tile, "<ModelMetadata><SRS>EPSG:notanumber</SRS></ModelMetadata>");
    let e = urbis_model::open_city(&[dir.join("Data/Tile_+000_+000/Tile_+000_+000.osgb")]).expect_err("bad SRS");
    assert!(e.to_string().contains("metadata.xml"), "{e}");
    let dir = dataset("wkt", &tile, "<ModelMetadata><SRS>PROJCS[\"x\",GEOGCS[\"y\"]]</SRS></ModelMetadata>");
    let e = urbis_model::open_city(&[dir]).expect_err("WKT");
    assert!(e.to_string().contains("metadata.xml") && e.to_string().contains("WKT"), "{e}");
}

fn sources(m: &mut CityModel) -> Vec<String> {
    let mut v: Vec<String> = photo_meshes(m)
        .iter()
        .filter_map(|(_, _, a)| match a.get("source") {
            Some(AttributeValue::String(s)) => Some(s.clone()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_pyramid_loads_at_the_detail_asked_and_survives_cycles_missing_and_escaping_children() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let bytes = std::fs::read(&tile).expect("read");
    let xml = osgb_data::ENU_XML;
    let dir = dataset("pyramid", &tile, xml);
    let data = dir.join("Data/Tile_+000_+000");
    // Top → L16 → L17 → L16 again (a cycle).
    std::fs::write(data.join("Tile_+000_+000_L16_0.osgb"), with_child(&bytes, "Tile_+000_+000_L17_0.osgb")).unwrap();
    std::fs::write(data.join("Tile_+000_+000_L17_0.osgb"), with_child(&bytes, "Tile_+000_+000_L16_0.osgb")).unwrap();
    let (mut m, _) = urbis_model::open_city(std::slice::from_ref(&dir)).expect("overview");
    assert_eq!(sources(&mut m), ["Tile_+000_+000.osgb"]);
    let (mut m, reports) =
        urbis_model::open_city_with(std::slice::from_ref(&dir), urbis_model::TileDetail::Finest).expect("finest");
    assert_eq!(sources(&mut m), ["Tile_+000_+000_L17_0.osgb"], "the cycle stops at L17, which stands in");
    assert!(reports[0].warnings.iter().any(|w| w.contains("L17_0.osgb") && w.contains("cycle")), "{:?}", reports[0]);
    // A missing child: its parent stands in, named with the missing file.
    std::fs::remove_file(data.join("Tile_+000_+000_L17_0.osgb")).unwrap();
    let (mut m, reports) =
        urbis_model::open_city_with(std::slice::from_ref(&dir), urbis_model::TileDetail::Finest).expect("finest");
    assert_eq!(sources(&mut m), ["Tile_+000_+000_L16_0.osgb"]);
    assert!(
        reports[0].warnings.iter().any(|w| w.contains("L16_0.osgb") && w.contains("L17_0.osgb")),
        "{:?}",
        reports[0]
    );
    // A child outside the dataset is refused; the top stands in.
    std::fs::write(data.join("Tile_+000_+000.osgb"), with_child(&bytes, "../../../../../../etc/pwd")).unwrap();
    let (mut m, reports) =
        urbis_model::open_city_with(std::slice::from_ref(&dir), urbis_model::TileDetail::Finest).expect("finest");
    assert_eq!(sources(&mut m), ["Tile_+000_+000.osgb"]);
    assert!(reports[0].warnings.iter().any(|w| w.contains("refused")), "{:?}", reports[0]);
}

#[test]
fn a_view_refines_the_pyramid_where_the_tile_covers_enough_pixels() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let bytes = std::fs::read(&tile).expect("read");
    let file = urbis_formats::osgb::read_osgb_file(&tile).expect("read");
    let (lod, _) = file.root.paged_lod().expect("a PagedLOD root");
    assert_eq!(lod.range_mode, urbis_formats::osgb::RangeMode::PixelSizeOnScreen);
    let switch = lod.ranges[1][0] as f64;
    let (centre, radius) = file.root.lod_center().expect("bound");
    let xml = osgb_data::ENU_XML;
    let dir = dataset("view", &tile, xml);
    let data = dir.join("Data/Tile_+000_+000");
    std::fs::write(data.join("Tile_+000_+000_L16_0.osgb"), with_child(&bytes, "Tile_+000_+000_L17_0.osgb")).unwrap();
    let frame = urbis_geo::CityFrame::new(urbis_geo::Geodetic::new(115.9, 39.0, 0.0));
    let fov: f64 = 60f64.to_radians();
    // Looking straight down at the tile from `height` metres above its centre.
    let view = |height: f64| urbis_tiles::View {
        position: frame.enu_to_ecef(centre + DVec3::Z * height),
        direction: (frame.enu_to_ecef(centre) - frame.enu_to_ecef(centre + DVec3::Z)).normalize(),
        up: (frame.enu_to_ecef(centre + DVec3::Y) - frame.enu_to_ecef(centre)).normalize(),
        fov_y: fov,
        aspect: 1.0,
        viewport_height: 1000.0,
        max_sse: 16.0,
        cull: true,
    };
    // The projected diameter 2r·H / (2 d tan(fov/2)) equals the switch range at d = r·H / (switch·tan(fov/2)).
    let d_switch = radius * 1000.0 / (switch * (fov / 2.0).tan());
    let load = |h: f64| {
        let opts = urbis_model::LoadOptions { detail: urbis_model::TileDetail::View(view(h)), ..Default::default() };
        let (mut m, _) = urbis_model::open_city_opts(std::slice::from_ref(&dir), &opts).expect("open");
        sources(&mut m)
    };
    // Heights above the centre: the distance to the sphere is the height less the radius.
    assert_eq!(load(d_switch * 1.5 + radius), ["Tile_+000_+000.osgb"], "far: the top tile");
    assert_eq!(load(d_switch * 0.5 + radius), ["Tile_+000_+000_L16_0.osgb"], "near: its child (L17 is missing)");
}
