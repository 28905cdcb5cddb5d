//! Cloud-Optimized GeoTIFFs over real HTTP range requests: a tiny_http
//! server on 127.0.0.1 (free port) serves a tiled GeoTIFF with overviews
//! written by `urbis_formats::imagery::geotiff::write_rgb`, honouring
//! `Range` (206 + Content-Range) and counting requests and bytes. Windows
//! through [`open_cog`] equal windows of the same file opened from disk,
//! byte for byte; a small window fetches a few tiles, not the file; a
//! server that ignores `Range`, a 404, a truncated file and a cut body give
//! errors naming the URL (and the bytes), never a panic.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use urbis_formats::imagery::geotiff::{GeoTiffImagery, write_rgb};
use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};
use urbis_tiles::{HttpOptions, open_cog};

/// How the server answers for one file.
#[derive(Clone, Copy)]
enum Mode {
    /// 206 with Content-Range for `Range: bytes=a-b`, 200 without one.
    Ranges,
    /// `Range` ignored: always 200 with the whole file.
    Whole,
    /// HEAD reports the whole length; a range's body stops at this byte,
    /// its headers still promising the whole range (a cut body).
    Short(usize),
}

#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Counts {
    requests: usize,
    bytes: u64,
}

struct Server {
    base: String,
    counts: Arc<Mutex<Counts>>,
}

/// `bytes=a-b` or `bytes=a-`.
fn parse_range(v: &str) -> Option<(usize, Option<usize>)> {
    let (a, b) = v.trim().strip_prefix("bytes=")?.split_once('-')?;
    Some((a.trim().parse().ok()?, if b.trim().is_empty() { None } else { Some(b.trim().parse().ok()?) }))
}

/// Answers `req`, counting it (before it goes, so that a client that has
/// its answer finds it counted).
fn respond(
    req: tiny_http::Request,
    counts: &Mutex<Counts>,
    status: u16,
    headers: Vec<(&str, String)>,
    body: &[u8],
    len: usize,
) {
    {
        let mut c = counts.lock().expect("counts");
        c.requests += 1;
        c.bytes += if req.method() == &tiny_http::Method::Head { 0 } else { body.len() as u64 };
    }
    let headers = headers
        .into_iter()
        .map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("header"))
        .collect();
    let resp = tiny_http::Response::new(
        tiny_http::StatusCode(status),
        headers,
        std::io::Cursor::new(body.to_vec()),
        Some(len),
        None,
    )
    .with_chunked_threshold(usize::MAX);
    let _ = req.respond(resp);
}

impl Server {
    fn start(files: HashMap<String, (Arc<Vec<u8>>, Mode)>) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let counts = Arc::new(Mutex::new(Counts::default()));
        let c = counts.clone();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let path = req.url().trim_start_matches('/').to_string();
                let range =
                    req.headers().iter().find(|h| h.field.equiv("Range")).and_then(|h| parse_range(h.value.as_str()));
                let head = req.method() == &tiny_http::Method::Head;
                match (files.get(&path), range) {
                    (None, _) => respond(req, &c, 404, vec![], b"no such file", 12),
                    (Some((bytes, _)), _) if head => respond(req, &c, 200, vec![], &[], bytes.len()),
                    (Some((bytes, Mode::Whole)), _) | (Some((bytes, _)), None) => {
                        respond(req, &c, 200, vec![], bytes, bytes.len())
                    }
                    (Some((bytes, mode)), Some((a, b))) => {
                        let total = bytes.len();
                        let end = b.unwrap_or(usize::MAX).min(total.saturating_sub(1));
                        if a >= total || a > end {
                            respond(req, &c, 416, vec![("Content-Range", format!("bytes */{total}"))], &[], 0)
                        } else {
                            let range = ("Content-Range", format!("bytes {a}-{end}/{total}"));
                            let stop = match mode {
                                Mode::Short(cut) => (end + 1).min(*cut).max(a),
                                _ => end + 1,
                            };
                            respond(req, &c, 206, vec![range], &bytes[a..stop], stop - a)
                        }
                    }
                }
            }
        });
        Server { base: format!("http://127.0.0.1:{port}"), counts }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn counts(&self) -> Counts {
        *self.counts.lock().expect("counts")
    }
}

fn http() -> HttpOptions {
    HttpOptions {
        attempts: 2,
        backoff: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        ..Default::default()
    }
}

/// A `width × height` RGB noise raster (noise does not compress, so tiles
/// are ~196 KB) in UTM 50N, 0.5 m pixels.
fn noise(width: u32, height: u32) -> GeoRaster {
    let mut h = 0x9E37_79B9u32 ^ width.wrapping_mul(31).wrapping_add(height);
    let mut rgba = Vec::with_capacity((width * height * 4) as usize);
    for _ in 0..width * height {
        h ^= h << 13;
        h ^= h >> 17;
        h ^= h << 5;
        let [r, g, b, _] = h.to_le_bytes();
        rgba.extend_from_slice(&[r, g, b, 255]);
    }
    GeoRaster { epsg: 32650, x0: 500_000.0, y0: 3_400_000.0, dx: 0.5, dy: 0.5, width, height, rgba }
}

/// The raster written as a tiled GeoTIFF with internal overviews; its path and bytes.
fn cog(name: &str, r: &GeoRaster) -> (PathBuf, Arc<Vec<u8>>) {
    let dir = std::env::temp_dir().join(format!("urbis-cog-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{name}.tif"));
    write_rgb(&path, r, true).expect("write the COG");
    let mut bytes = Vec::new();
    std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)).expect("read back");
    (path, Arc::new(bytes))
}

fn texts(failures: &[ImageryError]) -> Vec<String> {
    failures.iter().map(ToString::to_string).collect()
}

#[test]
fn windows_over_http_equal_windows_from_the_file() {
    let r = noise(1200, 1000);
    let (path, bytes) = cog("same", &r);
    let server = Server::start([("same.tif".to_string(), (bytes.clone(), Mode::Ranges))].into());
    let url = server.url("same.tif");
    let file = GeoTiffImagery::open(&path).expect("file");
    let web = open_cog(&url, &http()).expect("http");
    assert_eq!(web.name(), url);
    assert_eq!((web.epsg(), web.extent(), web.levels()), (file.epsg(), file.extent(), file.levels()));
    assert_eq!(web.levels().len(), 4, "1200, 600, 300 and 150 px wide");
    let e = r.extent();
    let windows = [
        // The whole image small: an overview.
        (e, 256),
        (e, 700),
        // Inside one tile, full resolution.
        ([500_010.0, 3_399_800.0, 500_020.0, 3_399_810.0], 20),
        // Across tile edges (256 px = 128 m), full resolution.
        ([500_100.3, 3_399_700.0, 500_300.0, 3_399_900.1], 1024),
        // Half outside the image, the south-east corner.
        ([e[2] - 80.0, e[1] - 80.0, e[2] + 80.0, e[1] + 80.0], 300),
    ];
    assert!(web.level_for(windows[0].0, windows[0].1) >= 2, "the first window reads an overview");
    assert_eq!(web.level_for(windows[2].0, windows[2].1), 0);
    for (i, (bbox, side)) in windows.into_iter().enumerate() {
        let (mut f1, mut f2) = (Vec::new(), Vec::new());
        let a = web.window(bbox, side, &mut f1).expect("http window");
        let b = file.window(bbox, side, &mut f2).expect("file window");
        assert!(f1.is_empty() && f2.is_empty(), "window {i}: {f1:?} {f2:?}");
        assert!(a == b, "window {i} ({bbox:?} at {side}) differs");
        let a = web.window_on_grid(bbox, side, &mut f1).expect("http window on grid");
        let b = file.window_on_grid(bbox, side, &mut f2).expect("file window on grid");
        assert!(f1.is_empty() && f2.is_empty(), "window {i} on grid: {f1:?} {f2:?}");
        assert!(a == b, "window {i} on grid differs");
    }
    let c = server.counts();
    eprintln!("5 windows twice over HTTP: {} requests, {} of {} bytes", c.requests, c.bytes, bytes.len());
    std::fs::remove_dir_all(path.parent().expect("dir")).ok();
}

#[test]
fn a_small_window_fetches_a_few_tiles_not_the_file() {
    let r = noise(1200, 1000);
    let (path, bytes) = cog("small", &r);
    let server = Server::start([("small.tif".to_string(), (bytes.clone(), Mode::Ranges))].into());
    let web = open_cog(&server.url("small.tif"), &http()).expect("open");
    let open = server.counts();
    // HEAD, then the header and every IFD in the first 64 KiB block.
    assert!(open.requests <= 3, "open: {open:?}");
    assert!(open.bytes <= 2 * (64 << 10), "open: {open:?}");
    // 10 × 10 m inside one full-resolution tile: one more request.
    let mut failures = Vec::new();
    let w = web.window([500_010.0, 3_399_800.0, 500_020.0, 3_399_810.0], 20, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((w.width, w.height), (20, 20));
    let one = server.counts();
    let file = bytes.len() as u64;
    eprintln!(
        "file {file} bytes; open: {} requests, {} bytes; + 1-tile window: {} requests, {} bytes ({:.1} %)",
        open.requests,
        open.bytes,
        one.requests - open.requests,
        one.bytes - open.bytes,
        100.0 * one.bytes as f64 / file as f64
    );
    assert_eq!(one.requests - open.requests, 1, "one request for the one tile");
    assert!(one.bytes < file / 10, "{one:?} of {file} bytes");
    assert!(one.bytes - open.bytes > 150_000, "the tile's ~196 KB came (control)");
    // A window over 2 × 2 tiles at full resolution: four requests, one a tile.
    let bbox = [500_100.0, 3_399_820.0, 500_150.0, 3_399_900.0];
    assert_eq!(web.level_for(bbox, 200), 0);
    web.window(bbox, 200, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    let four = server.counts();
    eprintln!("+ 4-tile window: {} requests, {} bytes", four.requests - one.requests, four.bytes - one.bytes);
    assert_eq!(four.requests - one.requests, 4);
    // The whole image at 150 px: the coarsest overview, one tile.
    web.window(r.extent(), 150, &mut failures).expect("window");
    let ov = server.counts();
    eprintln!("+ whole image at 150 px: {} requests, {} bytes", ov.requests - four.requests, ov.bytes - four.bytes);
    assert_eq!(ov.requests - four.requests, 1);
    assert!(ov.bytes - four.bytes < 100_000);
    std::fs::remove_dir_all(path.parent().expect("dir")).ok();
}

#[test]
fn a_server_that_ignores_ranges_is_refused_unless_the_file_is_small() {
    let big = noise(1200, 1000);
    let small = noise(200, 150);
    let (big_path, big_bytes) = cog("whole-big", &big);
    let (small_path, small_bytes) = cog("whole-small", &small);
    assert!(big_bytes.len() > 1 << 20 && small_bytes.len() < 1 << 20);
    let server = Server::start(
        [
            ("big.tif".to_string(), (big_bytes, Mode::Whole)),
            ("small.tif".to_string(), (small_bytes.clone(), Mode::Whole)),
        ]
        .into(),
    );
    let url = server.url("big.tif");
    let e = open_cog(&url, &http()).expect_err("a large file without ranges").to_string();
    assert!(e.starts_with(&format!("{url}: ")), "{e}");
    assert!(e.contains("the server does not serve byte ranges"), "{e}");
    eprintln!("{e}");
    // A small one is read whole, once, and windows come from it.
    let before = server.counts();
    let web = open_cog(&server.url("small.tif"), &http()).expect("a small file without ranges");
    let file = GeoTiffImagery::open(&small_path).expect("file");
    let mut failures = Vec::new();
    for (bbox, side) in [(small.extent(), 200), (small.extent(), 60)] {
        let a = web.window(bbox, side, &mut failures).expect("window");
        assert!(a == file.window(bbox, side, &mut failures).expect("file window"));
    }
    assert!(failures.is_empty(), "{failures:?}");
    let after = server.counts();
    assert_eq!(after.requests - before.requests, 2, "HEAD, then one GET answered with the whole file");
    assert_eq!(after.bytes - before.bytes, small_bytes.len() as u64);
    std::fs::remove_dir_all(big_path.parent().expect("dir")).ok();
    std::fs::remove_dir_all(small_path.parent().expect("dir")).ok();
}

#[test]
fn not_found_names_the_url_and_is_not_retried() {
    let server = Server::start(HashMap::new());
    let url = server.url("missing.tif");
    let e = open_cog(&url, &http()).expect_err("404").to_string();
    assert_eq!(e, format!("{url}: not found (HTTP 404)"));
    assert_eq!(server.counts().requests, 1);
}

#[test]
fn truncated_files_and_cut_bodies_name_the_url_and_the_bytes() {
    let r = noise(600, 520);
    let (path, bytes) = cog("cut", &r);
    let n = bytes.len();
    // The full image's tiles are stored last: cut through them.
    let cut = Arc::new(bytes[..n * 3 / 4].to_vec());
    // Cut inside the first IFD.
    let stub = Arc::new(bytes[..40].to_vec());
    let server = Server::start(
        [
            ("cut.tif".to_string(), (cut.clone(), Mode::Ranges)),
            ("stub.tif".to_string(), (stub, Mode::Ranges)),
            ("short.tif".to_string(), (bytes.clone(), Mode::Short(n * 3 / 4))),
        ]
        .into(),
    );
    let mut failures = Vec::new();
    // An honest server with a truncated file: IFDs come first, so it opens; lost tiles are holes.
    let url = server.url("cut.tif");
    let web = open_cog(&url, &http()).expect("IFDs come first, so it opens");
    let w = web.window(r.extent(), 600, &mut failures).expect("a window with holes");
    assert_eq!((w.width, w.height), (600, 520));
    let t = texts(&failures);
    assert!(!t.is_empty() && t.len() < 9, "not all 9 tiles: {t:?}");
    for f in &t {
        assert!(f.starts_with(&format!("{url}: tile 0/")), "{f}");
        assert!(f.contains("at byte ") && f.contains(&format!("lie past the end ({} bytes)", cut.len())), "{f}");
    }
    assert!(w.rgba.chunks_exact(4).any(|p| p[3] == 255) && w.rgba.chunks_exact(4).any(|p| p[3] == 0));
    // Cut inside IFD 0: refused at open, naming it.
    let url = server.url("stub.tif");
    let e = open_cog(&url, &http()).expect_err("cut IFD").to_string();
    eprintln!("{e}");
    assert!(e.starts_with(&format!("{url}: IFD 0: ")) && e.ends_with("(the file ends at byte 40)"), "{e}");
    // A server whose bodies stop short of the range it promised: retried, then holes naming the bytes.
    let url = server.url("short.tif");
    let web = open_cog(&url, &http()).expect("the IFDs are whole");
    failures.clear();
    web.window(r.extent(), 600, &mut failures).expect("a window with holes");
    let t = texts(&failures);
    assert!(!t.is_empty() && t.len() < 9, "not all 9 tiles: {t:?}");
    for f in &t {
        assert!(f.starts_with(&format!("{url}: tile 0/")), "{f}");
        assert!(f.contains("at byte ") && f.contains("bytes sent for "), "{f}");
    }
    eprintln!("{}", t[0]);
    std::fs::remove_dir_all(path.parent().expect("dir")).ok();
}
