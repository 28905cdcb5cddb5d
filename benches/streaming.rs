//! Streaming a synthetic city (`SampleTiles`: 5 levels, 16 x 16 buildings
//! per tile, walls in 4 bands at the finest level; 341 glb tiles):
//!
//! - `decode/leaf_tile_one_core`: one finest-level glb parsed to CPU
//!   buffers and feature tables on one thread (tiles per second per core);
//! - `decode/leaf_tile_prepared_one_core`: the same, then made ready to
//!   attach as the loader threads do (`FeaturePreparer`: a mesh, bounds and
//!   attributes per building);
//! - `full_detail/cold_disk` and `cold_http`: a camera looking over the city
//!   from 300 m, from opening the tileset (lazy tree) to every wanted tile
//!   attached as entities, frames of 12 ms attach budget, no drawing; from
//!   files and from a tiny_http server on 127.0.0.1 (files held in memory);
//! - `full_detail/jump_disk`: after full detail at one end of the city, the
//!   camera jumps to the other end; time until it is at full detail again;
//! - `shared/<tileset>/disk` and `/http`: the same for the tilesets in
//!   `../shared/data/3dtiles` (Cesium's samples), camera looking down 35° at
//!   the root sphere from one radius away (skipped when the data is absent).
//!
//! Frame times while streaming against a static scene come from
//! `urbis fly --laps 2 --json` (see the README), not from here.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::DVec3;
use urbis_geo::CityFrame;
use urbis_model::{CityModel, StreamedTileset};
use urbis_sample_city::SampleTiles;
use urbis_tiles::{StreamOptions, View};

fn city() -> SampleTiles {
    SampleTiles { levels: 5, lots: 16, floors: 4, size_m: 2048.0, ..Default::default() }
}

fn view(t: &SampleTiles, east: f64, north: f64, height: f64, pitch: f64) -> View {
    let frame = CityFrame::new(t.origin);
    let r = frame.enu_to_ecef_rot;
    let p = pitch.to_radians();
    View {
        position: frame.enu_to_ecef(DVec3::new(east, north, height)),
        direction: (r * DVec3::new(0.0, p.cos(), p.sin())).normalize(),
        up: (r * DVec3::new(0.0, -p.sin(), p.cos())).normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

fn open(p: &Path) -> (CityModel, StreamedTileset) {
    let (m, mut s, _) =
        urbis_model::open_city_streaming(&[p.to_path_buf()], &Default::default(), &StreamOptions::default())
            .expect("open");
    (m, s.remove(0))
}

/// Frames until every wanted tile is attached; returns the frames taken.
fn settle(model: &mut CityModel, s: &mut StreamedTileset, v: View) -> usize {
    let start = Instant::now();
    let mut n = 0;
    loop {
        s.frame(model, &[v], Duration::from_millis(12));
        n += 1;
        if s.stream.status().complete {
            return n;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "not complete");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Serves files from memory on 127.0.0.1 (made once, so the server costs what a file server does).
fn serve(files: std::collections::HashMap<String, Vec<u8>>, root: &str) -> String {
    // TCP_NODELAY on the listener (inherited by connections on Linux), as `urbis sample-tiles --serve`
    // does: else each keep-alive response waits ~40 ms for a delayed ACK.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.set_tcp_nodelay(true).expect("nodelay");
    sock.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    sock.listen(128).expect("listen");
    let server = tiny_http::Server::from_listener(std::net::TcpListener::from(sock), None).expect("server");
    let port = server.server_addr().to_ip().expect("ip").port();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let url = req.url().split('?').next().unwrap_or_default().trim_start_matches('/').to_string();
            let _ = match files.get(&url) {
                Some(b) => req.respond(tiny_http::Response::from_data(b.clone())),
                None => req.respond(tiny_http::Response::empty(404)),
            };
        }
    });
    format!("http://127.0.0.1:{port}/{root}")
}

fn serve_sample(t: SampleTiles) -> String {
    serve(t.paths().filter_map(|p| t.file(&p).map(|b| (p, b))).collect(), "tileset.json")
}

/// Every file under `dir`, keyed by its path relative to `dir`.
fn files_under(dir: &Path) -> std::collections::HashMap<String, Vec<u8>> {
    let mut out = std::collections::HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// Looking down 35° at the root sphere from one radius away (north of it looking south when the tileset is at the Earth's centre).
fn root_view(s: &StreamedTileset) -> View {
    let tree = s.stream.tree();
    let (c, r) = tree.get(tree.root()).volume.bounding_sphere();
    let up = if c.length() < 1.0 { DVec3::Z } else { c.normalize() };
    let side = if up.z.abs() > 0.9 { DVec3::X } else { DVec3::Z.cross(up).normalize() };
    let dir = (side * 35f64.to_radians().cos() - up * 35f64.to_radians().sin()).normalize();
    let right = dir.cross(up).normalize();
    View {
        position: c - dir * r.max(1.0),
        direction: dir,
        up: right.cross(dir).normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

fn bench(c: &mut Criterion) {
    let t = city();
    let dir = std::env::temp_dir().join("urbis-bench-streaming");
    if !dir.join("tileset.json").is_file() {
        t.write(&dir, |_| {}).expect("write tiles");
    }
    let path = dir.join("tileset.json");

    let mut g = c.benchmark_group("decode");
    let leaf = t.tile_glb(4, 5, 9);
    g.throughput(Throughput::Elements(1));
    g.bench_function("leaf_tile_one_core", |b| {
        b.iter(|| {
            urbis_formats::tiles3d::parse_content(&leaf, "leaf.glb", &urbis_formats::gltf::NoResources, 0)
                .expect("parse")
        })
    });
    let tree = urbis_tiles::TileTree::open(&path).expect("open");
    let leaf_id = tree.nodes.iter().find(|n| n.contents.iter().any(|c| c.uri.ends_with("4/5/9.glb"))).expect("leaf").id;
    let model = CityModel::new(CityFrame::new(t.origin));
    let preparer = urbis_model::FeaturePreparer::new(&model, &tree);
    g.bench_function("leaf_tile_prepared_one_core", |b| {
        use urbis_tiles::Prepare;
        b.iter(|| {
            let c = urbis_formats::tiles3d::parse_content(&leaf, "leaf.glb", &urbis_formats::gltf::NoResources, 0)
                .expect("parse");
            let p = preparer.prepare(preparer.context(&tree, leaf_id), vec![(0, "leaf.glb".into(), c)]);
            assert!(p.bytes > 0);
            p
        })
    });
    g.finish();

    let over = view(&t, 0.0, -1300.0, 300.0, -30.0);
    let mut g = c.benchmark_group("full_detail");
    g.sample_size(10);
    g.bench_function("cold_disk", |b| {
        b.iter(|| {
            let (mut m, mut s) = open(&path);
            settle(&mut m, &mut s, over)
        })
    });
    let url = PathBuf::from(serve_sample(t));
    g.bench_function("cold_http", |b| {
        b.iter(|| {
            let (mut m, mut s) = open(&url);
            settle(&mut m, &mut s, over)
        })
    });
    let west = view(&t, -700.0, -1100.0, 200.0, -30.0);
    let east = view(&t, 700.0, -1100.0, 200.0, -30.0);
    g.bench_function("jump_disk", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (mut m, mut s) = open(&path);
                settle(&mut m, &mut s, west);
                let t0 = Instant::now();
                settle(&mut m, &mut s, east);
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();

    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/3dtiles");
    let sets = [
        "1.0/TilesetWithDiscreteLOD",
        "1.1/SparseImplicitQuadtree",
        "1.1/MultipleContents",
        "1.1/MetadataGranularities",
    ];
    if !shared.is_dir() {
        eprintln!("skip: {} not found", shared.display());
        return;
    }
    let mut g = c.benchmark_group("shared");
    g.sample_size(10);
    for set in sets {
        let dir = shared.join(set);
        let name = set.rsplit('/').next().unwrap_or(set);
        let path = dir.join("tileset.json");
        let v = {
            let (_, s) = open(&path);
            root_view(&s)
        };
        g.bench_function(format!("{name}/disk"), |b| {
            b.iter(|| {
                let (mut m, mut s) = open(&path);
                settle(&mut m, &mut s, v)
            })
        });
        let url = PathBuf::from(serve(files_under(&dir), "tileset.json"));
        g.bench_function(format!("{name}/http"), |b| {
            b.iter(|| {
                let (mut m, mut s) = open(&url);
                settle(&mut m, &mut s, v)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
