//! Capabilities parsing against a document laid out like real services
//! (OGC 07-057r7's example, EOX::Maps), checked against the OGC
//! well-known scale sets computed here from their definitions.

use super::*;

pub(crate) const SAMPLE: &str = include_str!("../../../tests/data/wmts_capabilities.xml");
const URL: &str = "https://maps.example.org/wmts/1.0.0/WMTSCapabilities.xml";

fn parse_ok(doc: &str) -> WmtsCapabilities {
    WmtsCapabilities::parse(doc.as_bytes(), URL).expect("capabilities parse")
}

fn parse_err(doc: &str) -> String {
    WmtsCapabilities::parse(doc.as_bytes(), URL).expect_err("capabilities must fail").to_string()
}

/// A document with one layer linking one set of `crs` with `matrices`.
pub(crate) fn one_set(crs: &str, matrices: &str) -> String {
    format!(
        r#"<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1" version="1.0.0">
  <Contents>
    <Layer><ows:Identifier>l</ows:Identifier><Format>image/png</Format>
      <TileMatrixSetLink><TileMatrixSet>x</TileMatrixSet></TileMatrixSetLink>
      <ResourceURL format="image/png" resourceType="tile" template="t/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png"/>
    </Layer>
    <TileMatrixSet><ows:Identifier>x</ows:Identifier><ows:SupportedCRS>{crs}</ows:SupportedCRS>{matrices}</TileMatrixSet>
  </Contents>
</Capabilities>"#
    )
}

pub(crate) fn matrix(id: &str, scale: &str, corner: &str, tile: u32, mw: &str, mh: &str) -> String {
    format!(
        "<TileMatrix><ows:Identifier>{id}</ows:Identifier><ScaleDenominator>{scale}</ScaleDenominator>\
         <TopLeftCorner>{corner}</TopLeftCorner><TileWidth>{tile}</TileWidth><TileHeight>{tile}</TileHeight>\
         <MatrixWidth>{mw}</MatrixWidth><MatrixHeight>{mh}</MatrixHeight></TileMatrix>"
    )
}

#[test]
fn reads_layers_styles_templates_and_the_kvp_endpoint() {
    let c = parse_ok(SAMPLE);
    assert_eq!(c.layers.len(), 2);
    let l = c.layer("BlueMarbleNextGeneration").expect("layer");
    assert_eq!(l.title, "Blue Marble Next Generation");
    assert_eq!(l.formats, ["image/jpeg", "image/png"]);
    let styles: Vec<(&str, bool)> = l.styles.iter().map(|s| (s.identifier.as_str(), s.is_default)).collect();
    assert_eq!(styles, [("thickAndRed", false), ("DarkBlue", true)]);
    assert_eq!(l.dimensions, [WmtsDimension { identifier: "Time".into(), default: Some("20110805".into()) }]);
    let links: Vec<&str> = l.matrix_set_links.iter().map(|k| k.matrix_set.as_str()).collect();
    assert_eq!(links, ["WGS84", "GoogleMapsCompatible"]);
    assert_eq!(l.resource_urls.len(), 2, "the FeatureInfo template is not a tile template");
    assert_eq!(l.resource_urls[1].format, "image/png");
    assert!(
        l.resource_urls[1].template.ends_with("/{style}/{time}/{tilematrixset}/{TILEMATRIX}/{TileRow}/{tileCol}.png")
    );
    let coast = c.layer("coastlines").expect("layer");
    assert!(coast.resource_urls.is_empty());
    assert_eq!(
        coast.matrix_set_links[0].limits[1],
        TileMatrixLimits { tile_matrix: "1".into(), min_row: 0, max_row: 0, min_col: 2, max_col: 3 }
    );
    // The GetTile Get that allows KVP, not the RESTful one listed first.
    assert_eq!(c.get_tile_kvp.as_deref(), Some("https://maps.example.org/cgi-bin/wmts?map=base&"));
}

#[test]
fn google_maps_compatible_scales_give_the_well_known_pixel_sizes() {
    let c = parse_ok(SAMPLE);
    let s = c.matrix_set("GoogleMapsCompatible").expect("set");
    assert_eq!(s.crs, Some(WmtsCrs { epsg: 3857, degrees: false, lat_first: false }));
    let m0 = &s.matrices[0];
    assert!((m0.pixel_size - 156_543.033_9).abs() < 1e-4, "{}", m0.pixel_size);
    // Reference: the equator (2π · 6378137 m) over 256 · 2^z pixels.
    for m in &s.matrices {
        let z: i32 = m.identifier.parse().expect("numeric ids");
        let expected = 2.0 * PI * 6_378_137.0 / (256.0 * 2f64.powi(z));
        assert!((m.pixel_size / expected - 1.0).abs() < 1e-12, "level {z}: {} vs {expected}", m.pixel_size);
        let e = m.extent();
        assert!((e[2] - 20_037_508.342_789_244).abs() < 1e-3 && (e[1] + 20_037_508.342_789_244).abs() < 1e-3);
    }
    assert_eq!((s.matrices[4].matrix_width, s.matrices[4].tile_width), (262_144, 256));
    assert!((s.matrices[4].pixel_size - 0.597_164_283_5).abs() < 1e-9, "level 18");
}

#[test]
fn epsg_4326_corners_are_latitude_first_and_crs84_longitude_first() {
    let c = parse_ok(SAMPLE);
    let s = c.matrix_set("WGS84").expect("set");
    assert_eq!(s.crs, Some(WmtsCrs { epsg: 4326, degrees: true, lat_first: true }));
    for (z, m) in s.matrices.iter().enumerate() {
        assert_eq!(m.top_left, [-180.0, 90.0], "'90 -180' is latitude, longitude");
        // GoogleCRS84Quad: 360° over 2 · 256 · 2^z pixels.
        let expected = 360.0 / (512.0 * f64::from(1u32 << z));
        assert!((m.pixel_size / expected - 1.0).abs() < 1e-12, "level {z}: {}", m.pixel_size);
        let e = m.extent();
        assert!(e.iter().zip([-180.0, -90.0, 180.0, 90.0]).all(|(a, b)| (a - b).abs() < 1e-9), "{e:?}");
    }
    let p = c.matrix_set("BigWorldPixel").expect("set");
    assert_eq!(p.crs, Some(WmtsCrs { epsg: 4326, degrees: true, lat_first: false }));
    let m = &p.matrices[0];
    assert_eq!((m.top_left, m.tile_width, m.tile_height), ([-180.0, 90.0], 640, 480));
    assert!((m.pixel_size - 1.0 / 12.0).abs() < 1e-12, "GlobalCRS84Pixel 10 km: 1/12°, {}", m.pixel_size);
    // Control: the same corner in EPSG:4326 written longitude first (a server
    // bug: -180 cannot be a latitude) is kept; a projected CRS never swaps.
    let lon_first = one_set("EPSG:4326", &matrix("0", "279541132.0143589", "-180 90", 256, "2", "1"));
    assert_eq!(parse_ok(&lon_first).matrix_sets[0].matrices[0].top_left, [-180.0, 90.0]);
    let ambiguous = one_set("EPSG:4326", &matrix("0", "279541132.0143589", "60 10", 256, "1", "1"));
    assert_eq!(parse_ok(&ambiguous).matrix_sets[0].matrices[0].top_left, [10.0, 60.0]);
    let projected = one_set("urn:ogc:def:crs:EPSG::32650", &matrix("0", "1000", "60 10", 256, "1", "1"));
    let m = &parse_ok(&projected).matrix_sets[0].matrices[0];
    assert_eq!(m.top_left, [60.0, 10.0]);
    assert!((m.pixel_size - 0.28).abs() < 1e-12, "1:1000 is 0.28 m pixels");
}

#[test]
fn crs_names() {
    let cases = [
        ("urn:ogc:def:crs:EPSG::3857", Some((3857, false, false))),
        ("urn:ogc:def:crs:EPSG:6.18.3:3857", Some((3857, false, false))),
        ("urn:ogc:def:crs:EPSG:6.18:3:3857", Some((3857, false, false))),
        ("urn:ogc:def:crs:EPSG:6.3:900913", Some((3857, false, false))),
        ("EPSG:4326", Some((4326, true, true))),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", Some((4490, true, true))),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", Some((4326, true, false))),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", Some((4326, true, false))),
        ("urn:ogc:def:crs:EPSG::2056", Some((2056, false, false))),
        ("urn:ogc:def:crs:IGNF::LAMB93", None),
        ("EPSG:", None),
        ("EPSG:0", None),
    ];
    for (text, want) in cases {
        let got = WmtsCrs::parse(text).map(|c| (c.epsg, c.degrees, c.lat_first));
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn errors_name_the_url_and_the_element() {
    let m = |id: &str, scale: &str, mw: &str| matrix(id, scale, "0 0", 256, mw, "1");
    let no_scale = one_set("EPSG:3857", &m("3", "", "1").replace("<ScaleDenominator></ScaleDenominator>", ""));
    assert_eq!(parse_err(&no_scale), format!("{URL}: TileMatrixSet 'x': TileMatrix '3': ScaleDenominator missing"));
    assert!(parse_err(&one_set("EPSG:3857", &m("3", "big", "1"))).ends_with("ScaleDenominator 'big' is not a number"));
    assert!(parse_err(&one_set("EPSG:3857", &m("3", "-5", "1"))).ends_with("ScaleDenominator -5 is not positive"));
    assert!(parse_err(&one_set("EPSG:3857", &m("3", "1e308", "1073741824"))).contains("no finite extent"));
    let overflow = parse_err(&one_set("EPSG:3857", &m("3", "1000", "99999999999999999999999")));
    assert!(overflow.ends_with("MatrixWidth '99999999999999999999999' is not a whole number"), "{overflow}");
    let huge = parse_err(&one_set("EPSG:3857", &m("3", "1000", "4294967296")));
    assert!(huge.ends_with("MatrixWidth 4294967296 is out of range (1 to 1073741824)"), "{huge}");
    assert!(parse_err(&one_set("EPSG:3857", &m("3", "1000", "0"))).contains("MatrixWidth 0 is out of range"));
    let big_tile = matrix("3", "1000", "0 0", 8192, "1", "1");
    assert!(parse_err(&one_set("EPSG:3857", &big_tile)).contains("TileWidth 8192 is out of range"));
    let corner = matrix("3", "1000", "0", 256, "1", "1");
    assert!(parse_err(&one_set("EPSG:3857", &corner)).ends_with("TopLeftCorner '0' is not two numbers"));
    let many: String = (0..65).map(|i| m(&i.to_string(), "1000", "1")).collect();
    assert!(parse_err(&one_set("EPSG:3857", &many)).ends_with("65 TileMatrix elements, over the limit of 64"));
    assert!(parse_err(&one_set("EPSG:3857", "")).ends_with("TileMatrixSet 'x': no TileMatrix"));
    let no_crs =
        one_set("EPSG:3857", &m("0", "1000", "1")).replace("<ows:SupportedCRS>EPSG:3857</ows:SupportedCRS>", "");
    assert!(parse_err(&no_crs).ends_with("TileMatrixSet 'x': ows:SupportedCRS missing"));
    let no_id = one_set("EPSG:3857", &m("0", "1000", "1")).replace("<ows:Identifier>l</ows:Identifier>", "");
    assert!(parse_err(&no_id).ends_with("Layer #1: ows:Identifier missing"));
    let report = r#"<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.1.0">
        <ows:Exception exceptionCode="InvalidParameterValue" locator="layer"><ows:ExceptionText>no such layer</ows:ExceptionText></ows:Exception>
        </ows:ExceptionReport>"#;
    assert!(parse_err(report).ends_with("ows:ExceptionReport: InvalidParameterValue: no such layer"));
    assert!(
        parse_err("<WMS_Capabilities/>").ends_with("root element is <WMS_Capabilities>, not a WMTS <Capabilities>")
    );
    assert!(parse_err("<Capabilities/>").ends_with("Contents missing"));
    assert!(parse_err("not xml at all").starts_with(URL));
    let big = format!("<Capabilities><!--{}--></Capabilities>", " ".repeat(MAX_CAPABILITIES_BYTES));
    assert!(parse_err(&big).contains("over the limit"));
}

#[test]
fn hostile_documents_fail_without_panicking() {
    // Every truncation and a byte flipped at many offsets: Ok or Err, never a panic.
    let bytes = SAMPLE.as_bytes();
    for cut in (0..bytes.len()).step_by(41) {
        let _ = WmtsCapabilities::parse(&bytes[..cut], URL);
        let mut flipped = bytes.to_vec();
        flipped[cut] ^= 0x5A;
        let _ = WmtsCapabilities::parse(&flipped, URL);
    }
    assert!(WmtsCapabilities::parse(&bytes[..bytes.len() / 2], URL).is_err());
}
