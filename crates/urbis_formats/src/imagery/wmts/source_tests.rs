//! WmtsSource: set, style and format choice, REST and KVP URLs, and windows
//! through an in-memory fetcher (EPSG:4326 registration, limits, 640 × 480
//! tiles, holes), on the capabilities sample of `capabilities_tests`.

use std::sync::Mutex;

use super::capabilities::tests::{SAMPLE, matrix, one_set};
use super::*;

const URL: &str = "https://maps.example.org/wmts/1.0.0/WMTSCapabilities.xml";

/// Makes a tile's bytes from its URL (`None`: no such tile).
type MakeTile = dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync;

/// Tiles made from their URL by `make`; every URL asked for is logged.
struct Tiles {
    log: Mutex<Vec<String>>,
    make: Box<MakeTile>,
}

impl TileFetcher for Tiles {
    fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        self.log.lock().expect("log").push(url.to_string());
        Ok((self.make)(url))
    }
}

fn tiles(make: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static) -> Arc<Tiles> {
    Arc::new(Tiles { log: Mutex::new(Vec::new()), make: Box::new(make) })
}

fn png(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(rgba));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode PNG");
    out.into_inner()
}

/// A KVP parameter's number.
fn param(url: &str, key: &str) -> u32 {
    let v = url.split(['?', '&']).find_map(|kv| kv.strip_prefix(&format!("{key}="))).expect("parameter");
    v.parse().expect("number")
}

fn open(opts: WmtsOptions, fetcher: Arc<dyn TileFetcher>) -> Result<WmtsSource, ImageryError> {
    WmtsSource::new(SAMPLE.as_bytes(), URL, &opts, fetcher)
}

fn opts(layer: &str) -> WmtsOptions {
    WmtsOptions { layer: Some(layer.into()), ..Default::default() }
}

#[test]
fn picks_mercator_the_default_style_and_png_and_fills_templates_in_any_case() {
    let s = open(WmtsOptions::default(), tiles(|_| None)).expect("first layer");
    assert_eq!(s.layer().identifier, "BlueMarbleNextGeneration");
    assert_eq!((s.matrix_set().identifier.as_str(), s.epsg()), ("GoogleMapsCompatible", 3857), "3857 before 4326");
    assert_eq!((s.style(), s.format(), s.is_kvp()), ("DarkBlue", "image/png", false));
    // The PNG template spells its variables {style}, {time}, {TILEMATRIX}, {tileCol}.
    let base = "https://maps.example.org/wmts/1.0.0/BlueMarbleNextGeneration";
    assert_eq!(
        s.tile_url(3, 2, 5).as_deref(),
        Some(&*format!("{base}/DarkBlue/20110805/GoogleMapsCompatible/3/2/5.png"))
    );
    assert_eq!(
        s.tile_url(4, 7, 9).as_deref(),
        Some(&*format!("{base}/DarkBlue/20110805/GoogleMapsCompatible/18/7/9.png"))
    );
    assert_eq!(s.tile_url(5, 0, 0), None);
    let e = s.extent();
    assert!((e[2] - 20_037_508.342_789_244).abs() < 1e-3 && (e[3] - 20_037_508.342_789_244).abs() < 1e-3, "{e:?}");
    let jpeg = WmtsOptions {
        matrix_set: Some("WGS84".into()),
        style: Some("thick and red".into()),
        format: Some("image/jpeg".into()),
        ..opts("BlueMarbleNextGeneration")
    };
    let s = open(jpeg, tiles(|_| None)).expect("jpeg");
    assert_eq!(s.epsg(), 4326);
    assert_eq!(s.tile_url(1, 1, 3).as_deref(), Some(&*format!("{base}/thick%20and%20red/20110805/WGS84/1/1/3.jpg")));
}

#[test]
fn kvp_urls_from_operations_metadata() {
    let s = open(opts("coastlines"), tiles(|_| None)).expect("kvp layer");
    assert!(s.is_kvp());
    assert_eq!(s.matrix_set().identifier, "WGS84", "the first set in EPSG:4326");
    assert_eq!(
        s.tile_url(1, 0, 2).as_deref(),
        Some(
            "https://maps.example.org/cgi-bin/wmts?map=base&SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0\
             &LAYER=coastlines&STYLE=default&FORMAT=image%2Fpng&TILEMATRIXSET=WGS84&TILEMATRIX=1&TILEROW=0&TILECOL=2"
        )
    );
}

#[test]
fn relative_urls_and_escapes() {
    let base = "http://h:8080/a/b/caps.xml?x=1";
    assert_eq!(resolve_url(base, "t/{TileMatrix}.png"), "http://h:8080/a/b/t/{TileMatrix}.png");
    assert_eq!(resolve_url(base, "/wmts?"), "http://h:8080/wmts?");
    assert_eq!(resolve_url(base, "//cdn.example.org/t"), "http://cdn.example.org/t");
    assert_eq!(resolve_url("http://h", "t.png"), "http://h/t.png");
    assert_eq!(resolve_url("/data/wmts/caps.xml", "tiles/{TileMatrix}"), "/data/wmts/tiles/{TileMatrix}");
    assert_eq!(resolve_url(base, "https://x/y"), "https://x/y");
    assert_eq!(escape("EPSG:3857:5", false), "EPSG:3857:5");
    assert_eq!(escape("a b/c&d=e+f", true), "a%20b%2Fc%26d%3De%2Bf");
    assert_eq!(escape("a b/c&d=e+f", false), "a%20b%2Fc%26d=e+f");
}

#[test]
fn option_and_template_errors_name_the_url_and_the_element() {
    let err = |o: WmtsOptions| open(o, tiles(|_| None)).expect_err("must fail").to_string();
    assert_eq!(err(opts("nope")), format!("{URL}: no Layer 'nope' (layers: BlueMarbleNextGeneration, coastlines)"));
    let set = WmtsOptions { matrix_set: Some("BigWorldPixel".into()), ..opts("BlueMarbleNextGeneration") };
    assert!(err(set).ends_with(
        "Layer 'BlueMarbleNextGeneration' has no TileMatrixSetLink to 'BigWorldPixel' (it links: WGS84, GoogleMapsCompatible)"
    ));
    let gif = WmtsOptions { format: Some("image/gif".into()), ..opts("BlueMarbleNextGeneration") };
    assert!(err(gif).ends_with("has no tile ResourceURL in image/gif (it has: image/png, image/jpeg)"));
    let one = |template: &str| {
        let doc = one_set("EPSG:3857", &matrix("0", "559082264.0287178", "-20037508.34 20037508.34", 256, "1", "1"))
            .replace("t/{TileMatrix}/{TileRow}/{TileCol}.png", template);
        WmtsSource::new(doc.as_bytes(), URL, &WmtsOptions::default(), tiles(|_| None))
    };
    let unknown = one("t/{Elevation}/{TileMatrix}/{TileRow}/{TileCol}.png").expect_err("unknown").to_string();
    assert!(unknown.contains("{Elevation} is neither a WMTS variable nor a dimension with a default"), "{unknown}");
    let lacking = one("t/{TileMatrix}/{TileRow}.png").expect_err("no col").to_string();
    assert!(lacking.ends_with("lacks {TileCol}"), "{lacking}");
    let relative = one("t/{TileMatrix}/{TileRow}/{TileCol}.png").expect("relative template");
    assert_eq!(relative.tile_url(0, 0, 0).as_deref(), Some("https://maps.example.org/wmts/1.0.0/t/0/0/0.png"));
    let no_kvp = one_set("EPSG:3857", &matrix("0", "1000", "0 0", 256, "1", "1")).replace("resourceType=\"tile\"", "");
    let e = WmtsSource::new(no_kvp.as_bytes(), URL, &WmtsOptions::default(), tiles(|_| None)).expect_err("no url");
    assert!(e.to_string().ends_with("Layer 'l' has no tile ResourceURL and OperationsMetadata no KVP GetTile"));
    let odd_crs = one_set("urn:ogc:def:crs:IGNF::LAMB93", &matrix("0", "1000", "0 0", 256, "1", "1"));
    let e = WmtsSource::new(odd_crs.as_bytes(), URL, &WmtsOptions::default(), tiles(|_| None)).expect_err("crs");
    assert!(e.to_string().ends_with("none of its TileMatrixSets (x) is in Contents with a known CRS"), "{e}");
}

#[test]
fn epsg_4326_windows_register_tiles_and_respect_the_limits() {
    // Each tile a colour from its matrix and column; a KVP layer with all of
    // matrix 0 (2 × 1 tiles) and, of matrix 1, the north-east quadrant
    // (columns 2, 3 of 4; row 0 of 2); matrix 2 is not the layer's.
    let fetcher = tiles(|url| {
        let (m, col) = (param(url, "TILEMATRIX") as u8, param(url, "TILECOL") as u8);
        Some(png(256, 256, [40 * col, 100 + 50 * m, 200, 255]))
    });
    let s = open(opts("coastlines"), fetcher.clone()).expect("kvp layer");
    assert_eq!(s.extent(), [-180.0, -90.0, 180.0, 90.0]);
    let bbox = [10.0, 10.0, 170.0, 80.0];
    assert_eq!(s.matrix_for(bbox, 256), Some(1), "160° over 256 px: matrix 1 (0.35°); matrix 0 (0.7°) is too coarse");
    let mut failures = Vec::new();
    let w = s.window(bbox, 256, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(w.epsg, 4326);
    // Registration, from the GoogleCRS84Quad layout: column ⌊(lon + 180) / 90⌋ at matrix 1.
    for (lon, lat) in [(20.0, 30.0), (80.0, 75.0), (100.0, 15.0), (160.0, 60.0)] {
        let col = ((lon + 180.0) / 90.0f64).floor() as u8;
        assert_eq!(w.sample(lon, lat), Some([40 * col, 150, 200, 255]), "({lon}, {lat})");
    }
    let requested = |log: &Mutex<Vec<String>>| {
        let mut t: Vec<(u32, u32, u32)> = log
            .lock()
            .expect("log")
            .drain(..)
            .map(|u| (param(&u, "TILEMATRIX"), param(&u, "TILEROW"), param(&u, "TILECOL")))
            .collect();
        t.sort();
        t
    };
    assert_eq!(requested(&fetcher.log), [(1, 0, 2), (1, 0, 3)], "only the tiles under the window");
    // South of matrix 1's limits only matrix 0 has tiles: it is read, coarse as it is.
    let south = [10.0, -60.0, 80.0, -10.0];
    assert_eq!(s.matrix_for(south, 256), Some(0));
    let w = s.window(south, 256, &mut failures).expect("south");
    assert_eq!(w.sample(45.0, -30.0), Some([40, 100, 200, 255]), "matrix 0, column ⌊(45 + 180) / 180⌋ = 1");
    assert_eq!(requested(&fetcher.log), [(0, 0, 1)]);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn crs84_640_by_480_tiles_and_holes_for_bad_ones() {
    // BigWorldPixel: 1/12° pixels, tiles of 640 × 480 (53.3° × 40°) from (-180, 90).
    let fetcher = tiles(|url| match (param(url, "TILEROW"), param(url, "TILECOL")) {
        (2, 3) => Some(png(640, 480, [10, 20, 30, 255])),
        (2, 4) => Some(png(256, 256, [0, 0, 0, 255])),
        (1, 3) => None,
        _ => Some(b"<ows:ExceptionReport/>".to_vec()),
    });
    let o = WmtsOptions { matrix_set: Some("BigWorldPixel".into()), ..opts("coastlines") };
    let s = open(o, fetcher.clone()).expect("crs84 set");
    assert_eq!(s.epsg(), 4326);
    let mut failures = Vec::new();
    // Longitudes -20..40 are columns 3 (-20..33.3) and 4; latitudes -5..20 are row 2 (10..-30) and row 1.
    let w = s.window([-20.0, -5.0, 40.0, 20.0], 64, &mut failures).expect("window");
    assert_eq!(w.sample(0.0, 0.0), Some([10, 20, 30, 255]));
    assert_eq!(w.sample(0.0, 15.0), None, "row 1, column 3 is a hole");
    let texts: Vec<String> = failures.iter().map(ToString::to_string).collect();
    let name = format!("{URL} (WMTS layer 'coastlines', TileMatrixSet 'BigWorldPixel')");
    let url = |r: u32, c: u32| s.tile_url(0, r, c).expect("url");
    assert_eq!(
        texts,
        [
            format!("{name}: tile 0/3/1: TileMatrix '10000m': not found ({})", url(1, 3)),
            format!(
                "{name}: tile 0/4/1: TileMatrix '10000m': not a PNG or JPEG image (starts with [3c 6f 77 73 3a 45 78 63], 22 bytes) ({})",
                url(1, 4)
            ),
            format!("{name}: tile 0/4/2: TileMatrix '10000m': PNG tile is 256 × 256 px, not 640 × 480 ({})", url(2, 4)),
        ]
    );
    assert!(matches!(failures[0], ImageryError::Tile { z: 0, x: 3, y: 1, .. }));
}
