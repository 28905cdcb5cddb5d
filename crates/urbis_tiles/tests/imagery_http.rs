//! XYZ imagery over real HTTP: a tiny_http server on 127.0.0.1 (free port)
//! serves a pyramid written by `urbis_formats::imagery::xyz::write_xyz`,
//! with injected faults (404, a corrupt body, 500, a flaky 503). Windows
//! through [`HttpTileFetcher`] equal the same pyramid read from files, except
//! the failed tiles, which are holes listed with their URL.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use urbis_formats::imagery::xyz::{self, XyzOptions, XyzSource, tile_bounds, write_xyz};
use urbis_formats::imagery::{GeoRaster, ImagerySource};
use urbis_tiles::{Fetcher, HttpOptions, HttpTileFetcher};

#[derive(Clone, Copy)]
enum Fault {
    NotFound,
    Corrupt,
    ServerError,
    /// 503 for the first request, then the tile.
    Flaky,
}

/// Serves files under `root`, with faults by path; counts requests per path.
struct Server {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(root: PathBuf, faults: HashMap<String, Fault>) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let path = req.url().trim_start_matches('/').to_string();
                let count = {
                    let mut log = l.lock().expect("log");
                    log.push(path.clone());
                    log.iter().filter(|p| **p == path).count()
                };
                let file = std::fs::read(root.join(&path)).ok();
                let r = match (faults.get(&path), file) {
                    (Some(Fault::NotFound), _) | (_, None) => {
                        req.respond(tiny_http::Response::from_string("no such tile").with_status_code(404))
                    }
                    (Some(Fault::Corrupt), _) => req.respond(tiny_http::Response::from_data(b"GIF89a...".to_vec())),
                    (Some(Fault::ServerError), _) => {
                        req.respond(tiny_http::Response::from_string("broken").with_status_code(500))
                    }
                    (Some(Fault::Flaky), _) if count == 1 => {
                        req.respond(tiny_http::Response::from_string("busy").with_status_code(503))
                    }
                    (_, Some(bytes)) => req.respond(tiny_http::Response::from_data(bytes)),
                };
                let _ = r;
            }
        });
        Server { base: format!("http://127.0.0.1:{port}"), log }
    }

    fn requests(&self, path: &str) -> usize {
        self.log.lock().expect("log").iter().filter(|p| *p == path).count()
    }
}

fn fetcher() -> Arc<HttpTileFetcher> {
    Arc::new(HttpTileFetcher::new(Arc::new(Fetcher::new(
        HttpOptions {
            attempts: 3,
            backoff: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..Default::default()
        },
        None,
    ))))
}

/// A Web Mercator colour ramp over ~1.2 km around (116.39, 39.91) and its pyramid at zoom 16.
fn pyramid(name: &str) -> (PathBuf, GeoRaster) {
    let dir = std::env::temp_dir().join(format!("urbis-imagery-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (cx, cy) = xyz::lonlat_to_mercator(116.39, 39.91);
    let (w, h) = (400u32, 400u32);
    let mut rgba = Vec::new();
    for row in 0..h {
        for col in 0..w {
            rgba.extend_from_slice(&[(col * 255 / w) as u8, (row * 255 / h) as u8, 90, 255]);
        }
    }
    let r = GeoRaster { epsg: 3857, x0: cx - 600.0, y0: cy + 600.0, dx: 3.0, dy: 3.0, width: w, height: h, rgba };
    write_xyz(&dir, &r, 16..=16).expect("pyramid");
    (dir, r)
}

fn opts() -> XyzOptions {
    XyzOptions { min_zoom: 16, max_zoom: 16, ..Default::default() }
}

#[test]
fn http_windows_equal_file_windows() {
    let (dir, r) = pyramid("clean");
    let server = Server::start(dir.clone(), HashMap::new());
    let http = XyzSource::new(&format!("{}/{{z}}/{{x}}/{{y}}.png", server.base), fetcher(), opts()).expect("http");
    let files = XyzSource::files(&format!("{}/{{z}}/{{x}}/{{y}}.png", dir.display()), opts()).expect("files");
    let e = r.extent();
    let bbox = [e[0] + 50.0, e[1] + 50.0, e[2] - 50.0, e[3] - 50.0];
    let (mut f1, mut f2) = (Vec::new(), Vec::new());
    let a = http.window(bbox, 1024, &mut f1).expect("http window");
    let b = files.window(bbox, 1024, &mut f2).expect("file window");
    assert!(f1.is_empty() && f2.is_empty(), "{f1:?} {f2:?}");
    assert!(a.rgba.chunks_exact(4).all(|p| p[3] == 255), "all inside the raster");
    assert_eq!(a, b);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn http_404_corrupt_and_server_errors_leave_listed_holes() {
    let (dir, r) = pyramid("faults");
    let (tx, ty) = xyz::tile_for_lonlat(116.39, 39.91, 16);
    let tiles = [(tx - 1, ty - 1), (tx, ty - 1), (tx - 1, ty), (tx, ty)];
    let name = |t: (u32, u32)| format!("16/{}/{}.png", t.0, t.1);
    let faults: HashMap<String, Fault> = [
        (name(tiles[0]), Fault::NotFound),
        (name(tiles[1]), Fault::Corrupt),
        (name(tiles[2]), Fault::ServerError),
        (name(tiles[3]), Fault::Flaky),
    ]
    .into_iter()
    .collect();
    let server = Server::start(dir.clone(), faults);
    let template = format!("{}/{{z}}/{{x}}/{{y}}.png", server.base);
    let http = XyzSource::new(&template, fetcher(), opts()).expect("http");
    let files = XyzSource::files(&format!("{}/{{z}}/{{x}}/{{y}}.png", dir.display()), opts()).expect("files");
    // The 2 × 2 tiles around (tx, ty)'s north-west corner, where the raster is.
    let b0 = tile_bounds(tx - 1, ty - 1, 16);
    let b1 = tile_bounds(tx, ty, 16);
    let e = r.extent();
    let bbox = [b0[0].max(e[0]), b1[1].max(e[1]), b1[2].min(e[2]), b0[3].min(e[3])];
    let mut failures = Vec::new();
    let a = http.window(bbox, 2048, &mut failures).expect("window with holes");
    let texts: Vec<String> = failures.iter().map(ToString::to_string).collect();
    let url = |t: (u32, u32)| format!("{}/{}", server.base, name(t));
    let tile = |t: (u32, u32)| format!("{template}: tile 16/{}/{}", t.0, t.1);
    assert_eq!(
        texts,
        vec![
            format!("{}: not found ({})", tile(tiles[0]), url(tiles[0])),
            format!(
                "{}: not a PNG or JPEG image (starts with [47 49 46 38 39 61 2e 2e], 9 bytes) ({})",
                tile(tiles[1]),
                url(tiles[1])
            ),
            format!("{}: {}: cannot read: HTTP 500", tile(tiles[2]), url(tiles[2])),
        ],
        "the flaky tile succeeded on its retry"
    );
    assert_eq!(server.requests(&name(tiles[0])), 1, "404 is not retried");
    assert_eq!(server.requests(&name(tiles[2])), 3, "500 is retried up to the attempts");
    assert_eq!(server.requests(&name(tiles[3])), 2, "503, then the tile");
    // Against the files: equal outside the failed tiles; holes inside them.
    let b = files.window(bbox, 2048, &mut Vec::new()).expect("file window");
    assert_eq!((a.width, a.height, a.x0, a.y0), (b.width, b.height, b.x0, b.y0));
    let failed: Vec<[f64; 4]> = tiles[..3].iter().map(|t| tile_bounds(t.0, t.1, 16)).collect();
    let (mut holes, mut same) = (0, 0);
    for (i, (pa, pb)) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)).enumerate() {
        let (col, row) = (i as u32 % a.width, i as u32 / a.width);
        let (x, y) = (a.x0 + (f64::from(col) + 0.5) * a.dx, a.y0 - (f64::from(row) + 0.5) * a.dy);
        if failed.iter().any(|f| x > f[0] && x < f[2] && y > f[1] && y < f[3]) {
            assert_eq!(pa[3], 0, "({col}, {row}) in a failed tile");
            holes += 1;
        } else {
            assert_eq!(pa, pb, "({col}, {row})");
            same += 1;
        }
    }
    assert!(holes > 1000 && same > 1000, "{holes} holes, {same} equal");
    std::fs::remove_dir_all(&dir).ok();
}
