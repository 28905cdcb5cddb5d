//! The streaming runtime against real parts: a tiny_http server on
//! 127.0.0.1 (free port) serving a synthetic tileset with injected faults
//! (404, 500, cut bodies, a hung response, slow responses), and tilesets on
//! disk. The caller's half (attaching) is played by the test, which reports
//! byte sizes like the model does.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glam::DVec3;
use urbis_geo::CityFrame;
use urbis_sample_city::SampleTiles;
use urbis_tiles::fetch::Fetcher;
use urbis_tiles::tree::TreeLimits;
use urbis_tiles::{HttpOptions, StreamOptions, TileId, TileStream, TileTree, View};

#[derive(Clone, Copy, Debug)]
enum Fault {
    NotFound,
    ServerError,
    /// 500 for the first n requests, then the file.
    FlakyServerError(usize),
    /// Declares the full length, sends half, closes.
    Cut,
    /// Never answers (until the server is dropped).
    Hang,
    Slow(Duration),
}

/// A loopback tile server: every path of a [`SampleTiles`], with faults.
struct Server {
    base: String,
    /// Requests per path, in arrival order.
    log: Arc<Mutex<Vec<(Instant, String)>>>,
    in_flight: Arc<AtomicUsize>,
}

impl Server {
    fn start(tiles: SampleTiles, faults: HashMap<String, Fault>) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (l, f) = (log.clone(), in_flight.clone());
        std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let path = req.url().trim_start_matches('/').to_string();
                let count = {
                    let mut log = l.lock().expect("log");
                    log.push((Instant::now(), path.clone()));
                    log.iter().filter(|(_, p)| *p == path).count()
                };
                let fault = faults.get(&path).copied();
                let bytes = tiles.file(&path);
                let f = f.clone();
                f.fetch_add(1, Ordering::SeqCst);
                // One thread per request: a hung or slow answer holds up nothing else.
                std::thread::spawn(move || {
                    let r = match (fault, bytes) {
                        (_, None) | (Some(Fault::NotFound), _) => {
                            req.respond(tiny_http::Response::from_string("no such tile").with_status_code(404))
                        }
                        (Some(Fault::ServerError), _) => {
                            req.respond(tiny_http::Response::from_string("broken").with_status_code(500))
                        }
                        (Some(Fault::FlakyServerError(n)), Some(_)) if count <= n => {
                            req.respond(tiny_http::Response::from_string("busy").with_status_code(503))
                        }
                        (Some(Fault::Cut), Some(b)) => {
                            let half = b[..b.len() / 2].to_vec();
                            let resp = tiny_http::Response::new(
                                tiny_http::StatusCode(200),
                                vec![],
                                std::io::Cursor::new(half),
                                Some(b.len()),
                                None,
                            );
                            req.respond(resp)
                        }
                        (Some(Fault::Hang), _) => {
                            std::thread::sleep(Duration::from_secs(30));
                            Ok(())
                        }
                        (Some(Fault::Slow(d)), Some(b)) => {
                            std::thread::sleep(d);
                            req.respond(tiny_http::Response::from_data(b))
                        }
                        (_, Some(b)) => req.respond(tiny_http::Response::from_data(b)),
                    };
                    let _ = r;
                    f.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Server { base: format!("http://127.0.0.1:{port}"), log, in_flight }
    }

    fn requests(&self, path: &str) -> usize {
        self.log.lock().expect("log").iter().filter(|(_, p)| p == path).count()
    }
}

fn quick_http() -> Arc<Fetcher> {
    Arc::new(Fetcher::new(
        HttpOptions {
            attempts: 3,
            backoff: Duration::from_millis(20),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_millis(1500),
            per_host: 4,
            ..Default::default()
        },
        None,
    ))
}

fn small() -> SampleTiles {
    SampleTiles { levels: 3, lots: 4, size_m: 512.0, ..Default::default() }
}

/// A view from above the tileset's centre at `height` metres, looking down at `pitch` degrees towards north.
fn view(t: &SampleTiles, east: f64, north: f64, height: f64, pitch: f64, max_sse: f64) -> View {
    let frame = CityFrame::new(t.origin);
    let r = frame.enu_to_ecef_rot;
    let p = pitch.to_radians();
    let dir = r * DVec3::new(0.0, p.cos(), p.sin());
    let up = r * DVec3::new(0.0, -p.sin(), p.cos());
    View {
        position: frame.enu_to_ecef(DVec3::new(east, north, height)),
        direction: dir.normalize(),
        up: up.normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse,
        cull: true,
    }
}

/// Plays the caller: attaches every parsed tile at `expand` × its fetched
/// bytes (evicting first) until the stream is complete or `limit` passes.
fn run_until_complete(s: &mut TileStream, views: &[View], expand: u64, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        s.begin_frame(views);
        while let Some(d) = s.next_decoded() {
            let bytes = d.fetched_bytes * expand;
            let _ = s.make_room(bytes);
            s.attached(&d, bytes);
        }
        let _ = s.evict_over_budget();
        assert!(s.status().resident_bytes <= s.status().budget_bytes, "over budget: {:?}", s.status());
        if s.status().complete {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn tile_at(tree: &TileTree, level: u32, x: u64, y: u64) -> TileId {
    tree.nodes
        .iter()
        .find(|n| n.implicit.is_some_and(|c| c.level == level && c.x == x && c.y == y))
        .map(|n| n.id)
        .unwrap_or_else(|| panic!("no tile {level}/{x}/{y}"))
}

#[test]
fn http_failures_are_reported_and_the_view_finishes() {
    let tiles = small();
    // One failure kind per quadrant: each quadrant's parent then stands in
    // (its other leaves are no longer wanted); the first parent answers 503
    // twice before it serves, the second is slow.
    let faults: HashMap<String, Fault> = [
        ("tiles/2/0/0.glb", Fault::NotFound),
        ("tiles/2/2/0.glb", Fault::ServerError),
        ("tiles/2/0/2.glb", Fault::Cut),
        ("tiles/2/2/2.glb", Fault::Hang),
        ("tiles/1/0/0.glb", Fault::FlakyServerError(2)),
        ("tiles/1/1/0.glb", Fault::Slow(Duration::from_millis(300))),
    ]
    .into_iter()
    .map(|(p, f)| (p.to_string(), f))
    .collect();
    let server = Server::start(tiles, faults);
    let url = PathBuf::from(format!("{}/tileset.json", server.base));
    let tree = Arc::new(TileTree::open_through(&url, TreeLimits::default(), quick_http()).expect("open over HTTP"));
    assert_eq!(tree.len() as u64, tiles.tile_count(), "{:?}", tree.errors);
    let mut s = TileStream::new(tree.clone(), StreamOptions { workers: 4, ..Default::default() });
    // SSE 0: every leaf wanted.
    let v = view(&tiles, 0.0, -900.0, 600.0, -35.0, 0.0);
    let done = run_until_complete(&mut s, &[v], 3, Duration::from_secs(40));
    assert!(done, "the view finishes with failures: {:?} {:?}", s.status(), s.failures());
    let mut failed: Vec<(String, String)> = s.failures().iter().map(|f| (f.uri.clone(), f.error.clone())).collect();
    failed.sort();
    let uris: Vec<&str> = failed.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(uris, ["tiles/2/0/0.glb", "tiles/2/0/2.glb", "tiles/2/2/0.glb", "tiles/2/2/2.glb"], "{failed:#?}");
    let why = |uri: &str| failed.iter().find(|(u, _)| u == uri).map(|(_, e)| e.as_str()).unwrap_or_default();
    assert!(why("tiles/2/0/0.glb").contains("404") && why("tiles/2/0/0.glb").contains(&server.base), "{failed:?}");
    assert!(why("tiles/2/2/0.glb").contains("500"), "{failed:?}");
    assert!(why("tiles/2/0/2.glb").contains("bytes"), "a cut body names what arrived: {failed:?}");
    assert!(why("tiles/2/2/2.glb").to_lowercase().contains("time"), "a hung server times out: {failed:?}");
    // 404 is final; 5xx, cut bodies and timeouts are retried (3 attempts);
    // the flaky parent succeeds on its third.
    assert_eq!(server.requests("tiles/2/0/0.glb"), 1);
    assert_eq!(server.requests("tiles/2/2/0.glb"), 3);
    assert_eq!(server.requests("tiles/2/0/2.glb"), 3);
    assert_eq!(server.requests("tiles/2/2/2.glb"), 3);
    assert_eq!(server.requests("tiles/1/0/0.glb"), 3);
    assert_eq!(s.counts().failed, 4);
    // Every quadrant's parent stands in; no leaf under it is drawn.
    let mut shown = s.render_set();
    shown.sort();
    let mut parents: Vec<TileId> =
        [(0, 0), (1, 0), (0, 1), (1, 1)].iter().map(|&(x, y)| tile_at(&tree, 1, x, y)).collect();
    parents.sort();
    assert_eq!(shown, parents);
}

#[test]
fn a_tileset_url_that_is_not_there_is_a_clear_error() {
    let server = Server::start(small(), HashMap::new());
    let url = PathBuf::from(format!("{}/missing/tileset.json", server.base));
    let e = TileTree::open_through(&url, TreeLimits::default(), quick_http()).expect_err("404");
    let msg = e.to_string();
    assert!(msg.contains("404") && msg.contains("/missing/tileset.json"), "{msg}");
    // A dead port: connection refused, named with its URL.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    let url = PathBuf::from(format!("http://127.0.0.1:{port}/tileset.json"));
    let e = TileTree::open_through(&url, TreeLimits::default(), quick_http()).expect_err("refused");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

fn write_tiles(t: &SampleTiles, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.write(&dir, |_| {}).expect("write tiles");
    dir.join("tileset.json")
}

fn open(p: &Path) -> Arc<TileTree> {
    Arc::new(TileTree::open(p).expect("open"))
}

#[test]
fn ancestors_stand_in_until_all_children_are_ready() {
    let tiles = SampleTiles { levels: 3, lots: 4, size_m: 512.0, ..Default::default() };
    let p = write_tiles(&tiles, "standin");
    let tree = open(&p);
    let mut s = TileStream::new(tree.clone(), StreamOptions::default());
    // From far away only the root is wanted.
    let far = view(&tiles, 0.0, -20000.0, 8000.0, -20.0, 16.0);
    assert!(run_until_complete(&mut s, &[far], 3, Duration::from_secs(20)));
    assert_eq!(s.render_set(), vec![tree.root()]);
    // Close up: the four level-1 tiles are wanted. Until all four are
    // attached the root stands in, and none of them is drawn.
    let near = view(&tiles, 0.0, -700.0, 500.0, -35.0, 16.0);
    s.begin_frame(&[near]);
    assert!(s.wanted().iter().all(|t| tree.get(*t).depth >= 1), "{:?}", s.wanted());
    let start = Instant::now();
    let mut held = Vec::new();
    while held.len() < s.wanted().len() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
        s.begin_frame(&[near]);
        while let Some(d) = s.next_decoded() {
            held.push(d);
        }
        assert_eq!(s.render_set(), vec![tree.root()], "nothing attached yet: the root still shows");
    }
    let last = held.pop().expect("children loaded");
    for d in &held {
        assert!(s.attached(d, d.fetched_bytes));
    }
    assert_eq!(s.render_set(), vec![tree.root()], "one child missing: the root still stands in");
    assert!(s.attached(&last, last.fetched_bytes));
    let shown = s.render_set();
    assert!(!shown.contains(&tree.root()) && !shown.is_empty(), "{shown:?}");
    assert_eq!(shown, {
        let mut w = s.wanted().to_vec();
        w.sort();
        w
    });
}

#[test]
fn a_fly_through_ten_times_the_budget_stays_within_it() {
    let tiles = SampleTiles { levels: 4, lots: 8, size_m: 1024.0, ..Default::default() };
    let p = write_tiles(&tiles, "budget");
    let total: u64 = tiles.paths().filter_map(|q| tiles.file(&q)).map(|b| b.len() as u64).sum();
    let tree = open(&p);
    let expand = 3;
    let budget = total * expand / 10;
    let mut s = TileStream::new(tree.clone(), StreamOptions { memory_budget: budget, ..Default::default() });
    let mut peak = 0;
    let mut raised = false;
    // Low over the city from south to north, looking ahead.
    for k in 0..40 {
        let north = -600.0 + k as f64 * 30.0;
        let v = view(&tiles, 0.0, north, 120.0, -25.0, 16.0);
        let _ = run_until_complete(&mut s, &[v], expand, Duration::from_millis(400));
        let st = s.status();
        assert!(st.resident_bytes <= budget, "frame {k}: {st:?}");
        peak = peak.max(st.resident_bytes);
        raised |= st.sse_raised;
    }
    let c = s.counts();
    println!(
        "tileset {total} bytes x{expand} = {}; budget {budget}; peak resident {peak}; loaded {}, evicted {}, dropped {}, SSE raised: {raised}",
        total * expand,
        c.loaded,
        c.evicted,
        c.dropped_for_budget
    );
    assert!(c.loaded > 0 && c.evicted > 0, "the fly-through evicts: {c:?}");
    assert!(peak > budget / 2, "the budget is used, not left idle: {peak} of {budget}");
    // A budget too small for the view raises the SSE until the view fits and says so.
    s.set_memory_budget(budget / 8);
    let _ = s.evict_over_budget();
    let v = view(&tiles, 0.0, -300.0, 150.0, -30.0, 16.0);
    let fits = run_until_complete(&mut s, &[v], expand, Duration::from_secs(20));
    let st = s.status();
    assert!(fits && st.sse_raised && st.sse > 16.0, "{st:?}");
    assert!(st.resident_bytes <= budget / 8);
}

#[test]
fn a_fast_camera_move_cancels_what_is_no_longer_needed() {
    let tiles = SampleTiles { levels: 4, lots: 4, size_m: 1024.0, ..Default::default() };
    let slow: HashMap<String, Fault> =
        tiles.paths().filter(|p| p.ends_with(".glb")).map(|p| (p, Fault::Slow(Duration::from_millis(150)))).collect();
    let server = Server::start(tiles, slow);
    let url = PathBuf::from(format!("{}/tileset.json", server.base));
    let tree = Arc::new(TileTree::open_through(&url, TreeLimits::default(), quick_http()).expect("open"));
    let mut s = TileStream::new(tree.clone(), StreamOptions { workers: 2, ..Default::default() });
    // Look closely at the south-west corner: many leaves wanted, two at a time in flight.
    let sw = view(&tiles, -450.0, -700.0, 150.0, -30.0, 16.0);
    s.begin_frame(&[sw]);
    let wanted_sw: Vec<TileId> = s.wanted().to_vec();
    assert!(wanted_sw.len() >= 6, "{}", wanted_sw.len());
    std::thread::sleep(Duration::from_millis(200));
    s.begin_frame(&[sw]);
    // Jump to the north-east corner: the south-west tiles are no longer wanted.
    let ne = view(&tiles, 450.0, 150.0, 150.0, -30.0, 16.0);
    let moved = Instant::now();
    s.begin_frame(&[ne]);
    let uri = |t: &TileId| tree.get(*t).contents[0].uri.clone();
    let wanted_ne: HashSet<String> = s.wanted().iter().map(uri).collect();
    let stale: Vec<String> = wanted_sw.iter().map(uri).filter(|u| !wanted_ne.contains(u)).collect();
    assert!(stale.len() >= 4, "the move drops most of the old view: {stale:?}");
    let c = s.counts();
    assert!(c.cancelled >= 4, "queued and in-flight loads cancelled: {c:?}");
    let _ = run_until_complete(&mut s, &[ne], 3, Duration::from_secs(20));
    assert!(s.status().complete, "{:?}", s.status());
    let after: Vec<(Instant, String)> =
        server.log.lock().expect("log").iter().filter(|(t, _)| *t > moved).cloned().collect();
    assert!(!after.is_empty());
    let late_stale: Vec<&String> = after.iter().map(|(_, p)| p).filter(|p| stale.contains(p)).collect();
    assert!(late_stale.is_empty(), "no request for the old view starts after the move: {late_stale:?}");
    let first = after.iter().map(|(t, _)| *t - moved).min().expect("a request");
    assert!(
        first < Duration::from_millis(1000),
        "loaders turn to the new view at once, not after the old queue: {first:?}"
    );
    assert_eq!(server.in_flight.load(Ordering::SeqCst), 0, "the server has nothing left to answer");
    println!("cancelled {} of {} wanted; requested {}", c.cancelled, wanted_sw.len(), c.requested);
}

/// The paths of the contents of some tiles, sorted.
fn content_paths(tree: &TileTree, tiles: &[TileId]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = tiles.iter().flat_map(|t| tree.get(*t).contents.iter().map(|c| c.path.clone())).collect();
    v.sort();
    v
}

#[test]
fn a_lazy_tree_of_millions_of_tiles_fetches_only_what_selection_reaches() {
    // 12 levels: 5.6 million tiles, made by the server on request.
    let tiles = SampleTiles { levels: 12, lots: 1, size_m: 131072.0, ..Default::default() };
    assert!(tiles.tile_count() > 5_000_000);
    let server = Server::start(tiles, HashMap::new());
    let url = PathBuf::from(format!("{}/tileset.json", server.base));
    let tree = TileTree::open_through(&url, TreeLimits::lazy(), quick_http()).expect("open lazily");
    assert_eq!(tree.len(), 1, "only the root at open");
    assert_eq!(server.requests("subtrees/0/0/0.subtree"), 0, "no subtree read at open");
    let mut s = TileStream::new(Arc::new(tree), StreamOptions::default());
    // Low over the south-west corner, looking steeply down.
    let v = view(&tiles, -64000.0, -65000.0, 300.0, -70.0, 16.0);
    assert!(run_until_complete(&mut s, &[v], 3, Duration::from_secs(60)), "{:?}", s.status());
    let tree = s.tree();
    let subtrees = server.log.lock().expect("log").iter().filter(|(_, p)| p.ends_with(".subtree")).count();
    let c = s.counts();
    println!(
        "{} of {} tiles in memory; {subtrees} subtrees and {} contents fetched",
        tree.len(),
        tiles.tile_count(),
        c.loaded
    );
    assert_eq!(c.expanded as usize, subtrees, "every subtree fetched was grafted");
    assert!(tree.len() < 50_000 && subtrees < 500, "{} tiles, {subtrees} subtrees", tree.len());
    let deepest = s.render_set().iter().map(|t| tree.get(*t).implicit.map_or(0, |c| c.level)).max().unwrap_or(0);
    assert!(deepest >= 10, "the camera near the ground refines deep ({deepest})");
}

#[test]
fn a_lazy_tree_selects_what_the_eager_tree_selects() {
    let tiles = SampleTiles { levels: 5, lots: 2, size_m: 4096.0, ..Default::default() };
    let p = write_tiles(&tiles, "lazy-eager");
    let v = view(&tiles, -1500.0, -2500.0, 200.0, -20.0, 16.0);
    let eager = TileTree::open(&p).expect("eager");
    let want = content_paths(&eager, &urbis_tiles::select(&eager, &v, &Default::default()).tiles);
    let lazy = TileTree::open_through(&p, TreeLimits::lazy(), urbis_tiles::fetch::default_fetcher()).expect("lazy");
    assert!(lazy.len() < eager.len());
    let mut s = TileStream::new(Arc::new(lazy), StreamOptions::default());
    assert!(run_until_complete(&mut s, &[v], 3, Duration::from_secs(30)));
    let got = content_paths(s.tree(), &s.render_set());
    assert!(
        got == want,
        "lazy {} tiles, eager {}: {:?}",
        got.len(),
        want.len(),
        got.iter().filter(|p| !want.contains(p)).collect::<Vec<_>>()
    );
    assert!(s.tree().len() < eager.len(), "{} of {}", s.tree().len(), eager.len());
}

#[test]
fn external_tilesets_are_grafted_when_reached() {
    let tiles = SampleTiles { levels: 3, lots: 2, size_m: 512.0, ..Default::default() };
    let dir = std::env::temp_dir().join(format!("urbis-stream-external-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for name in ["east", "west"] {
        tiles.write(&dir.join(name), |_| {}).expect("write");
    }
    // A parent tileset (ECEF, no transform: the children carry their own) whose two children are those tilesets.
    let c = CityFrame::new(tiles.origin).enu_to_ecef(DVec3::new(0.0, 0.0, 40.0));
    let sphere = serde_json::json!({"sphere": [c.x, c.y, c.z, 400.0]});
    let child =
        |uri: &str| serde_json::json!({"boundingVolume": sphere, "geometricError": 100, "content": {"uri": uri}});
    let doc = serde_json::json!({
        "asset": {"version": "1.1"}, "geometricError": 1000,
        "root": {"boundingVolume": sphere,
            "geometricError": 1000, "refine": "ADD",
            "children": [child("east/tileset.json"), child("west/tileset.json")]}
    });
    let p = dir.join("tileset.json");
    std::fs::write(&p, serde_json::to_vec(&doc).expect("json")).expect("write");
    let lazy = TileTree::open_through(&p, TreeLimits::lazy(), urbis_tiles::fetch::default_fetcher()).expect("lazy");
    assert_eq!(lazy.len(), 3, "root and the two tiles that reference external tilesets");
    assert!(
        lazy.nodes.iter().filter(|n| matches!(n.pending, Some(urbis_tiles::tree::Pending::External { .. }))).count()
            == 2
    );
    let eager = TileTree::open(&p).expect("eager");
    let v = view(&tiles, 0.0, -700.0, 300.0, -30.0, 16.0);
    let want = content_paths(&eager, &urbis_tiles::select(&eager, &v, &Default::default()).tiles);
    eprintln!("eager: {} tiles, {} selected, errors {:?}", eager.len(), want.len(), eager.errors);
    assert!(
        want.iter().any(|p| p.starts_with(dir.join("east"))) && want.iter().any(|p| p.starts_with(dir.join("west")))
    );
    let mut s = TileStream::new(Arc::new(lazy), StreamOptions::default());
    assert!(run_until_complete(&mut s, &[v], 3, Duration::from_secs(30)));
    assert_eq!(content_paths(s.tree(), &s.render_set()), want);
    assert!(s.counts().expanded >= 4, "two external tilesets and their root subtrees: {:?}", s.counts());
}

/// One call of [`Recorder`]: thread name, tile, URIs the context named, URIs the contents carried.
type PrepareCall = (String, TileId, Vec<String>, Vec<String>);

/// A caller's preparer: records where it ran and what it was given.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<PrepareCall>>,
    bytes: u64,
}

impl urbis_tiles::Prepare for Recorder {
    fn context(&self, tree: &TileTree, tile: TileId) -> Box<dyn std::any::Any + Send> {
        let uris: Vec<String> = tree.get(tile).contents.iter().map(|c| c.uri.clone()).collect();
        Box::new((tile, uris))
    }

    fn prepare(
        &self,
        context: Box<dyn std::any::Any + Send>,
        contents: Vec<(usize, String, urbis_formats::tiles3d::TileContent)>,
    ) -> urbis_tiles::Prepared {
        let (tile, uris) = *context.downcast::<(TileId, Vec<String>)>().expect("the context made for this tile");
        let got: Vec<String> = contents.iter().map(|(_, u, _)| u.clone()).collect();
        let thread = std::thread::current().name().unwrap_or_default().to_string();
        self.calls.lock().expect("calls").push((thread, tile, uris, got));
        urbis_tiles::Prepared { data: Box::new(tile), bytes: self.bytes }
    }
}

#[test]
fn loaders_prepare_tiles_and_stay_a_bounded_backlog_ahead_of_the_main_thread() {
    let tiles = small();
    let p = write_tiles(&tiles, "prepare");
    let tree = open(&p);
    let budget = 64 << 20;
    // Every prepared tile counts a quarter of the budget: the loaders' limit.
    let recorder = Arc::new(Recorder { bytes: budget / 4, ..Default::default() });
    let opts = StreamOptions { memory_budget: budget, workers: 2, ..Default::default() };
    let mut s = TileStream::with_preparer(tree.clone(), opts, Some(recorder.clone()));
    let v = view(&tiles, 0.0, -900.0, 600.0, -35.0, 0.0);
    // The main thread selects but takes nothing: the loaders stop once each
    // holds a tile and the backlog reaches its limit.
    for _ in 0..40 {
        s.begin_frame(&[v]);
        std::thread::sleep(Duration::from_millis(10));
    }
    let wanted = s.wanted().len();
    assert!(wanted >= 16, "every leaf is wanted at SSE 0: {wanted}");
    assert_eq!(s.status().decoded, 2, "{:?}", s.status());
    assert_eq!(s.counts().loaded, 2);
    // Taking one lets one more in.
    let first = s.next_decoded().expect("a prepared tile");
    for _ in 0..40 {
        s.begin_frame(&[v]);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.counts().loaded, 3, "{:?}", s.status());
    assert_eq!(s.status().decoded, 2);
    // Taking them as they come, the view completes.
    assert!(s.attached(&first, 1000));
    let mut taken = vec![first];
    let start = Instant::now();
    while !s.status().complete && start.elapsed() < Duration::from_secs(20) {
        s.begin_frame(&[v]);
        while let Some(d) = s.next_decoded() {
            assert!(s.attached(&d, 1000));
            taken.push(d);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(s.status().complete, "{:?}", s.status());
    // Each tile was prepared once, on a loader thread, from the context the
    // main thread made for it, and came back in place of its contents.
    let calls = recorder.calls.lock().expect("calls");
    assert_eq!(calls.len(), taken.len());
    for (thread, tile, named, got) in calls.iter() {
        assert!(thread.starts_with("urbis-tiles-"), "prepared on {thread:?}");
        assert!(!got.is_empty() && named == got, "tile {tile:?}: context {named:?}, contents {got:?}");
    }
    for d in &taken {
        assert!(d.contents.is_empty(), "the contents went to the preparer");
        assert_eq!(d.prepared_bytes, budget / 4);
        assert_eq!(s.expected_bytes(d), budget / 4);
        let tile = d.prepared.as_ref().and_then(|p| p.downcast_ref::<TileId>()).copied();
        assert_eq!(tile, Some(d.tile));
    }
}
