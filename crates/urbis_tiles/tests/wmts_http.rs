//! WMTS over real HTTP: a tiny_http server on 127.0.0.1 (free port) serves a
//! capabilities document (GoogleMapsCompatible levels 0–3 and an EPSG:4326
//! GoogleCRS84Quad set with latitude-first corners; a RESTful layer and a
//! KVP-only one) and PNG tiles, each one colour from (matrix, row, column),
//! with one tile answering 404 and one corrupt. Windows through
//! [`open_wmts`] are checked at points known in longitude and latitude
//! against the tile the slippy-map (or plate carrée) formula puts them in,
//! computed here; the failed tiles are holes named in the failures; the
//! server saw only the tiles under the window.

use std::collections::{BTreeSet, HashMap};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use urbis_formats::imagery::wmts::WmtsOptions;
use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};
use urbis_tiles::{Fetcher, HttpOptions, open_wmts, open_wmts_with};

const R: f64 = 6_378_137.0;

#[derive(Clone, Copy)]
enum Fault {
    NotFound,
    Corrupt,
}

/// A tile: (matrix set, matrix, row, column).
type Tile = (String, u32, u32, u32);

/// The colour of every tile of the server.
fn colour(m: u32, row: u32, col: u32) -> [u8; 4] {
    [40 + 50 * m as u8, 20 + 25 * row as u8, 20 + 25 * col as u8, 255]
}

fn png(rgba: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(256, 256, image::Rgba(rgba));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode PNG");
    out.into_inner()
}

fn capabilities(base: &str) -> String {
    let matrices = |set: &str| -> String {
        let (levels, scale0, corner, wide) = match set {
            "GoogleMapsCompatible" => (0..4, 559_082_264.028_717_8, "-20037508.3427892 20037508.3427892", 1),
            _ => (0..3, 279_541_132.014_358_9, "90 -180", 2),
        };
        levels
            .map(|z| {
                let n = 1u32 << z;
                format!(
                    "<TileMatrix><ows:Identifier>{z}</ows:Identifier>\
                     <ScaleDenominator>{}</ScaleDenominator><TopLeftCorner>{corner}</TopLeftCorner>\
                     <TileWidth>256</TileWidth><TileHeight>256</TileHeight>\
                     <MatrixWidth>{}</MatrixWidth><MatrixHeight>{n}</MatrixHeight></TileMatrix>\n",
                    scale0 / f64::from(n),
                    wide * n
                )
            })
            .collect()
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
  xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
  <ows:ServiceIdentification><ows:Title>loopback</ows:Title><ows:ServiceType>OGC WMTS</ows:ServiceType>
    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion></ows:ServiceIdentification>
  <ows:OperationsMetadata>
    <ows:Operation name="GetTile"><ows:DCP><ows:HTTP>
      <ows:Get xlink:href="{base}/kvp?"><ows:Constraint name="GetEncoding">
        <ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get>
    </ows:HTTP></ows:DCP></ows:Operation>
  </ows:OperationsMetadata>
  <Contents>
    <Layer>
      <ows:Title>Solid tiles</ows:Title><ows:Identifier>solid</ows:Identifier>
      <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>
      <Format>image/png</Format>
      <TileMatrixSetLink><TileMatrixSet>WGS84</TileMatrixSet></TileMatrixSetLink>
      <TileMatrixSetLink><TileMatrixSet>GoogleMapsCompatible</TileMatrixSet></TileMatrixSetLink>
      <ResourceURL format="image/png" resourceType="tile"
        template="{base}/tiles/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png"/>
    </Layer>
    <Layer>
      <ows:Title>Solid tiles by KVP</ows:Title><ows:Identifier>solid_kvp</ows:Identifier>
      <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>
      <Format>image/png</Format>
      <TileMatrixSetLink><TileMatrixSet>WGS84</TileMatrixSet></TileMatrixSetLink>
    </Layer>
    <TileMatrixSet><ows:Identifier>GoogleMapsCompatible</ows:Identifier>
      <ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>
      <WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible</WellKnownScaleSet>
{}    </TileMatrixSet>
    <TileMatrixSet><ows:Identifier>WGS84</ows:Identifier>
      <ows:SupportedCRS>urn:ogc:def:crs:EPSG:6.3:4326</ows:SupportedCRS>
      <WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleCRS84Quad</WellKnownScaleSet>
{}    </TileMatrixSet>
  </Contents>
</Capabilities>
"#,
        matrices("GoogleMapsCompatible"),
        matrices("WGS84")
    )
}

/// The tile a request asks for: `/tiles/{style}/{set}/{m}/{row}/{col}.png` or KVP `/kvp?…`.
fn requested_tile(url: &str) -> Option<Tile> {
    if let Some(query) = url.strip_prefix("/kvp?") {
        let p: HashMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        let n = |k: &str| p.get(k)?.parse().ok();
        return Some((p.get("TILEMATRIXSET")?.to_string(), n("TILEMATRIX")?, n("TILEROW")?, n("TILECOL")?));
    }
    let parts: Vec<&str> = url.strip_prefix("/tiles/")?.strip_suffix(".png")?.split('/').collect();
    match parts[..] {
        [_style, set, m, row, col] => Some((set.to_string(), m.parse().ok()?, row.parse().ok()?, col.parse().ok()?)),
        _ => None,
    }
}

/// Serves the capabilities and tiles, with faults by tile; logs every request.
struct Server {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(faults: HashMap<Tile, Fault>) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let base = format!("http://127.0.0.1:{port}");
        let caps = capabilities(&base);
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let url = req.url().to_string();
                l.lock().expect("log").push(url.clone());
                let not_found = || tiny_http::Response::from_string("no such tile").with_status_code(404);
                let r = if url == "/wmts/1.0.0/WMTSCapabilities.xml" {
                    req.respond(tiny_http::Response::from_string(caps.clone()))
                } else {
                    match requested_tile(&url) {
                        None => req.respond(not_found()),
                        Some(t) => match faults.get(&t) {
                            Some(Fault::NotFound) => req.respond(not_found()),
                            Some(Fault::Corrupt) => req.respond(tiny_http::Response::from_data(b"GIF89a...".to_vec())),
                            None => req.respond(tiny_http::Response::from_data(png(colour(t.1, t.2, t.3)))),
                        },
                    }
                };
                let _ = r;
            }
        });
        Server { base, log }
    }

    fn caps_url(&self) -> String {
        format!("{}/wmts/1.0.0/WMTSCapabilities.xml", self.base)
    }

    /// The tiles requested so far, with how often each was.
    fn tiles(&self) -> HashMap<Tile, usize> {
        let mut seen = HashMap::new();
        for url in self.log.lock().expect("log").iter() {
            if let Some(t) = requested_tile(url) {
                *seen.entry(t).or_insert(0) += 1;
            }
        }
        seen
    }
}

fn fetcher() -> Arc<Fetcher> {
    Arc::new(Fetcher::new(
        HttpOptions {
            attempts: 2,
            backoff: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        None,
    ))
}

/// Web Mercator metres of a longitude and latitude (spherical formulas).
fn mercator(lon: f64, lat: f64) -> (f64, f64) {
    (R * lon.to_radians(), R * (PI / 4.0 + lat.to_radians() / 2.0).tan().ln())
}

/// The slippy-map tile (column, row) of a longitude and latitude at zoom z.
fn slippy(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let phi = lat.to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

fn texts(failures: &[ImageryError]) -> Vec<String> {
    failures.iter().map(ToString::to_string).collect()
}

#[test]
fn rest_windows_in_web_mercator_register_tiles_and_leave_listed_holes() {
    let gm = |m: u32, row: u32, col: u32| ("GoogleMapsCompatible".to_string(), m, row, col);
    let faults: HashMap<Tile, Fault> = [(gm(3, 3, 2), Fault::NotFound), (gm(3, 4, 5), Fault::Corrupt)].into();
    let server = Server::start(faults);
    let source = open_wmts(&server.caps_url(), Some("solid"), fetcher()).expect("open the layer");
    assert_eq!((source.matrix_set().identifier.as_str(), source.epsg()), ("GoogleMapsCompatible", 3857));
    // 260° of longitude: zoom 2 has 740 px across it, zoom 3 1479, so 1000 px read zoom 3.
    let (lon0, lat0, lon1, lat1) = (-130.0, -60.0, 130.0, 60.0);
    let (w, s) = mercator(lon0, lat0);
    let (e, n) = mercator(lon1, lat1);
    let bbox = [w, s, e, n];
    assert_eq!(source.matrix_for(bbox, 1000), Some(3));
    let mut failures = Vec::new();
    let raster: GeoRaster = source.window(bbox, 1000, &mut failures).expect("window with holes");
    assert_eq!(raster.epsg, 3857);
    let name = format!("{} (WMTS layer 'solid', TileMatrixSet 'GoogleMapsCompatible')", server.caps_url());
    let url = |row: u32, col: u32| format!("{}/tiles/default/GoogleMapsCompatible/3/{row}/{col}.png", server.base);
    assert_eq!(
        texts(&failures),
        [
            format!("{name}: tile 3/2/3: not found ({})", url(3, 2)),
            format!(
                "{name}: tile 3/5/4: not a PNG or JPEG image (starts with [47 49 46 38 39 61 2e 2e], 9 bytes) ({})",
                url(4, 5)
            ),
        ]
    );
    // Registration: points at least 10° off the tile edges in longitude
    // (every 45°) and 4° in latitude (0, ±41.0°), each the colour of its
    // slippy-map tile (or a hole).
    let (mut holes, mut coloured) = (0, 0);
    for i in 0..18 {
        for lat in [-55.0, -45.0, -35.0, -25.0, -5.0, 5.0, 15.0, 25.0, 35.0, 45.0, 55.0] {
            let lon = -180.0 + 45.0 * f64::from(1 + i / 3) + [10.5, 22.5, 34.5][i as usize % 3];
            let (col, row) = slippy(lon, lat, 3);
            let (x, y) = mercator(lon, lat);
            let got = raster.sample(x, y);
            if [(3, 2), (4, 5)].contains(&(row, col)) {
                assert_eq!(got, None, "({lon}, {lat}) is in failed tile {row}/{col}");
                holes += 1;
            } else {
                assert_eq!(got, Some(colour(3, row, col)), "({lon}, {lat}) in tile {row}/{col}");
                coloured += 1;
            }
        }
    }
    assert!(holes >= 4 && coloured > 150, "{holes} holes, {coloured} coloured");
    // The server saw each tile under the bbox once (the 404 is not retried) and nothing else.
    let (c0, r0) = slippy(lon0, lat1, 3);
    let (c1, r1) = slippy(lon1, lat0, 3);
    assert_eq!(((c0, r0), (c1, r1)), ((1, 2), (6, 5)));
    let expected: HashMap<Tile, usize> = (r0..=r1).flat_map(|r| (c0..=c1).map(move |c| (gm(3, r, c), 1))).collect();
    assert_eq!(server.tiles(), expected);
    let log = server.log.lock().expect("log").clone();
    assert_eq!(log.iter().filter(|u| u.ends_with("WMTSCapabilities.xml")).count(), 1);
    assert_eq!(log.len(), 1 + expected.len());
}

#[test]
fn kvp_windows_in_epsg_4326_follow_the_latitude_first_corner() {
    let server = Server::start(HashMap::new());
    let opts = WmtsOptions { layer: Some("solid_kvp".into()), ..Default::default() };
    let source = open_wmts_with(&server.caps_url(), &opts, fetcher()).expect("open the KVP layer");
    assert!(source.is_kvp());
    assert_eq!((source.matrix_set().identifier.as_str(), source.epsg()), ("WGS84", 4326));
    assert_eq!(source.extent(), [-180.0, -90.0, 180.0, 90.0], "'90 -180' read as latitude, longitude");
    // 160° over 400 px: matrix 1 (0.35°/px, 455 px) rather than matrix 0 (227 px).
    let bbox = [-170.0, -80.0, -10.0, 80.0];
    let mut failures = Vec::new();
    let raster = source.window(bbox, 400, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    // Plate carrée at matrix 1: 4 × 2 tiles of 90°, column ⌊(lon + 180) / 90⌋, row ⌊(90 − lat) / 90⌋.
    for (lon, lat) in [(-160.0, 70.0), (-100.0, 10.0), (-80.0, 30.0), (-20.0, 75.0), (-135.0, -45.0), (-45.0, -60.0)] {
        let (col, row) = (((lon + 180.0) / 90.0f64).floor() as u32, ((90.0 - lat) / 90.0f64).floor() as u32);
        assert_eq!(raster.sample(lon, lat), Some(colour(1, row, col)), "({lon}, {lat})");
    }
    let seen: BTreeSet<Tile> = server.tiles().into_keys().collect();
    let wgs = |row: u32, col: u32| ("WGS84".to_string(), 1, row, col);
    assert_eq!(seen, [wgs(0, 0), wgs(0, 1), wgs(1, 0), wgs(1, 1)].into());
    let log = server.log.lock().expect("log").clone();
    let kvp = "/kvp?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=solid_kvp&STYLE=default&FORMAT=image%2Fpng\
               &TILEMATRIXSET=WGS84&TILEMATRIX=1&TILEROW=1&TILECOL=0";
    assert!(log.iter().any(|u| u == kvp), "{log:?}");
}

#[test]
fn missing_capabilities_name_the_url() {
    let server = Server::start(HashMap::new());
    let url = format!("{}/nowhere.xml", server.base);
    let e = open_wmts(&url, None, fetcher()).expect_err("404").to_string();
    assert!(e.starts_with(&format!("{url}: cannot read the WMTS capabilities")) && e.contains("HTTP 404"), "{e}");
    let e = open_wmts(&server.caps_url(), Some("nope"), fetcher()).expect_err("no layer").to_string();
    assert!(e.ends_with("no Layer 'nope' (layers: solid, solid_kvp)"), "{e}");
}
