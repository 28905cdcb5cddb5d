//! Decoding glTF and b3dm into CPU buffers and feature tables, against the
//! `gltf` crate's `import_slice` on the same bytes (same process, same run).
//!
//! Workloads:
//! - `json_heavy_glb`: 3,000 nodes, each with its own mesh, accessors and a
//!   4-vertex primitive (about 1 MB of JSON, little geometry): parse-bound.
//! - `geometry_heavy_glb`: one primitive with 300,000 vertices (position,
//!   normal, uv) and 900,000 indices: copy-bound; compared with a memcpy of
//!   the BIN chunk as the ceiling.
//! - `dragon_b3dm` (from ../shared/data when present): a real b3dm tile.
//! - `tiles_parallel`: the 20 glb contents of MetadataGranularities decoded
//!   one after another and with rayon across tiles.
//!
//! - `osgb`: the real oblique-photography tile in `../shared/data/osgb`
//!   (23 KB, 114 triangles, an embedded JPEG) and a photo-mesh tile as the
//!   synthetic pyramid's finest files are (64 × 64 cells, 8,192 triangles,
//!   written by `osgb::write`): `read_osgb` alone (tiles/s and MB/s), and
//!   with `triangles()` as a loader needs them.
//!
//! Baselines in the same run: `gltf_crate_import` (the crate's import: JSON,
//! validation, buffer copies, image decoding; accessors not read) and
//! `gltf_crate_import_and_read` (import plus reading every attribute and
//! index list, the work urbis does). Throughput is printed in bytes/s of
//! input (criterion's MB/s column). Goal: ≥ 3× the gltf crate on JSON-heavy
//! tiles (see the README's performance notes for where this stands).
//! `URBIS_BENCH_PROFILE=1` adds the JSON reader alone and serde_json's
//! `Value` on the same text; `URBIS_BENCH_COUNT` runs a fixed count (below),
//! and `URBIS_BENCH_JSON=FILE` gives `urbis_json_only` that JSON to read.

/// The allocator the `urbis` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use urbis_formats::gltf::{self, NoResources};

fn glb(json: &str, bin: &[u8]) -> Vec<u8> {
    let mut j = json.as_bytes().to_vec();
    while !j.len().is_multiple_of(4) {
        j.push(b' ');
    }
    let mut b = bin.to_vec();
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&((12 + 8 + j.len() + 8 + b.len()) as u32).to_le_bytes());
    out.extend_from_slice(&(j.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&j);
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&b);
    out
}

fn json_heavy(n: usize) -> Vec<u8> {
    let mut bin = Vec::new();
    for p in [[0f32, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]] {
        for c in p {
            bin.extend_from_slice(&c.to_le_bytes());
        }
    }
    for i in [0u16, 1, 2, 0, 2, 3] {
        bin.extend_from_slice(&i.to_le_bytes());
    }
    let (mut nodes, mut meshes, mut accessors) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        accessors.push(format!(r#"{{"bufferView":0,"componentType":5126,"count":4,"type":"VEC3","min":[0,0,0],"max":[1,1,0],"name":"positions of building {i}"}}"#));
        accessors.push(format!(
            r#"{{"bufferView":1,"componentType":5123,"count":6,"type":"SCALAR","name":"indices of building {i}"}}"#
        ));
        meshes.push(format!(
            r#"{{"name":"building {i}","primitives":[{{"attributes":{{"POSITION":{}}},"indices":{},"material":0}}]}}"#,
            2 * i,
            2 * i + 1
        ));
        nodes.push(format!(
            r#"{{"name":"node {i}","mesh":{i},"translation":[{}.5,0,{}.25],"extras":{{"id":"b-{i}","height":{}}}}}"#,
            i % 60,
            i / 60,
            10 + i % 40
        ));
    }
    let json = format!(
        r#"{{"asset":{{"version":"2.0","generator":"urbis bench"}},"scene":0,"scenes":[{{"nodes":[{}]}}],"nodes":[{}],"meshes":[{}],"accessors":[{}],
        "materials":[{{"pbrMetallicRoughness":{{"baseColorFactor":[0.8,0.7,0.6,1]}}}}],
        "bufferViews":[{{"buffer":0,"byteOffset":0,"byteLength":48}},{{"buffer":0,"byteOffset":48,"byteLength":12}}],"buffers":[{{"byteLength":60}}]}}"#,
        (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
        nodes.join(","),
        meshes.join(","),
        accessors.join(",")
    );
    glb(&json, &bin)
}

fn geometry_heavy(vertices: usize) -> Vec<u8> {
    let mut bin = Vec::with_capacity(vertices * 32 + vertices * 12);
    for i in 0..vertices {
        let f = i as f32;
        for c in [f, f * 0.5, -f, 0.0, 0.0, 1.0, f / 100.0, f / 50.0] {
            bin.extend_from_slice(&c.to_le_bytes());
        }
    }
    let idx_off = bin.len();
    for i in 0..(vertices as u32 - 2) {
        for k in [i, i + 1, i + 2] {
            bin.extend_from_slice(&k.to_le_bytes());
        }
    }
    let n_idx = (vertices - 2) * 3;
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"scene":0,"scenes":[{{"nodes":[0]}}],"nodes":[{{"mesh":0}}],
        "meshes":[{{"primitives":[{{"attributes":{{"POSITION":0,"NORMAL":1,"TEXCOORD_0":2}},"indices":3}}]}}],
        "accessors":[{{"bufferView":0,"byteOffset":0,"componentType":5126,"count":{vertices},"type":"VEC3","min":[0,-1e7,-1e7],"max":[1e7,1e7,0]}},
                     {{"bufferView":0,"byteOffset":12,"componentType":5126,"count":{vertices},"type":"VEC3"}},
                     {{"bufferView":0,"byteOffset":24,"componentType":5126,"count":{vertices},"type":"VEC2"}},
                     {{"bufferView":1,"componentType":5125,"count":{n_idx},"type":"SCALAR"}}],
        "bufferViews":[{{"buffer":0,"byteLength":{},"byteStride":32}},{{"buffer":0,"byteOffset":{idx_off},"byteLength":{}}}],
        "buffers":[{{"byteLength":{}}}]}}"#,
        idx_off,
        n_idx * 4,
        bin.len()
    );
    glb(&json, &bin)
}

/// The gltf crate's import plus reading every primitive's positions,
/// normals, first texture coordinates and indices: the work `urbis` does.
fn gltf_crate_decode(bytes: &[u8]) -> usize {
    let (doc, buffers, _) = ::gltf::import_slice(bytes).expect("gltf import");
    let mut n = 0;
    for m in doc.meshes() {
        for p in m.primitives() {
            let r = p.reader(|b| Some(&buffers[b.index()]));
            n += r.read_positions().map_or(0, |i| i.collect::<Vec<_>>().len());
            n += r.read_normals().map_or(0, |i| i.collect::<Vec<_>>().len());
            n += r.read_tex_coords(0).map_or(0, |i| i.into_f32().collect::<Vec<_>>().len());
            n += r.read_indices().map_or(0, |i| i.into_u32().collect::<Vec<_>>().len());
        }
    }
    n
}

/// Urbis's decode (JSON, buffers, accessors, transforms, feature IDs).
fn urbis_decode(bytes: &[u8]) -> gltf::GltfModel {
    gltf::parse(bytes, "bench", &NoResources).expect("urbis parse")
}

/// The gltf crate's import alone.
fn gltf_crate_import(bytes: &[u8]) -> ::gltf::Document {
    ::gltf::import_slice(bytes).expect("gltf import").0
}

fn compare(c: &mut Criterion, name: &str, bytes: &[u8]) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("urbis", |b| b.iter(|| urbis_decode(bytes)));
    g.bench_function("gltf_crate_import", |b| b.iter(|| gltf_crate_import(bytes)));
    g.bench_function("gltf_crate_import_and_read", |b| b.iter(|| gltf_crate_decode(bytes)));
    g.finish();
}

/// `URBIS_BENCH_COUNT=urbis|urbis_json_only|skip_only|gltf_import|gltf_import_and_read:N` runs only that
/// decoder N times on the JSON-heavy tile (prefixed `geometry_`: on the
/// geometry-heavy one) and exits: for `perf record` or
/// valgrind, whose instruction counts stay steady on a VM whose wall-clock
/// timings swing with its neighbours. `skip_only` skips the whole JSON
/// structurally: the floor for a byte-at-a-time reader.
fn fixed_count(spec: &str, bytes: &[u8]) {
    let (which, n) = spec.split_once(':').unwrap_or((spec, "100"));
    let n: usize = n.parse().expect("URBIS_BENCH_COUNT=name:count");
    // URBIS_BENCH_JSON=FILE: that JSON text for `urbis_json_only` (to profile one part).
    let json_text = std::env::var("URBIS_BENCH_JSON").ok().map(|f| std::fs::read(f).expect("URBIS_BENCH_JSON"));
    for _ in 0..n {
        match which {
            "urbis" => drop(std::hint::black_box(urbis_decode(bytes))),
            "skip_only" => {
                let json = gltf::parse_glb(bytes).expect("glb").json;
                gltf::json_reader::Reader::new(json).skip().expect("skip");
            }
            "urbis_json_only" => {
                let json = json_text.as_deref().unwrap_or_else(|| gltf::parse_glb(bytes).expect("glb").json);
                drop(std::hint::black_box(gltf::json::Root::read(json).expect("json")))
            }
            "gltf_import" => drop(std::hint::black_box(gltf_crate_import(bytes))),
            "gltf_import_and_read" => drop(std::hint::black_box(gltf_crate_decode(bytes))),
            other => panic!("unknown decoder {other}"),
        }
    }
    println!("{which}: {n} decodes of {} bytes", bytes.len());
}

/// The three decoders interleaved, one decode each in turn, `rounds` times:
/// on a VM whose speed drifts over seconds, this compares them under the
/// same conditions, which criterion's one-group-after-another cannot.
/// Prints the median of each and the ratios.
fn interleaved(bytes: &[u8], rounds: usize) {
    let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        drop(std::hint::black_box(urbis_decode(bytes)));
        times[0].push(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        drop(std::hint::black_box(gltf_crate_import(bytes)));
        times[1].push(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        std::hint::black_box(gltf_crate_decode(bytes));
        times[2].push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [u, i, r] = times.each_mut().map(median);
    let mib = bytes.len() as f64 / (1 << 20) as f64;
    println!(
        "json_heavy_glb interleaved ({rounds} rounds, medians): urbis {:.2} ms ({:.0} MiB/s), gltf import {:.2} ms, \
         import+read {:.2} ms; urbis is {:.2}× import and {:.2}× import+read",
        u * 1e3,
        mib / u,
        i * 1e3,
        r * 1e3,
        i / u,
        r / u
    );
}

fn benches(c: &mut Criterion) {
    let heavy = json_heavy(3000);
    if let Ok(spec) = std::env::var("URBIS_BENCH_COUNT") {
        // `geometry_urbis:N` decodes the geometry-heavy tile instead.
        match spec.strip_prefix("geometry_") {
            Some(rest) => fixed_count(rest, &geometry_heavy(300_000)),
            None => fixed_count(&spec, &heavy),
        }
        std::process::exit(0);
    }
    // Only when benchmarking (`cargo bench` passes --bench), not under `cargo test`.
    if std::env::args().any(|a| a == "--bench") {
        interleaved(&heavy, 300);
    }
    compare(c, "json_heavy_glb", &heavy);
    if std::env::var("URBIS_BENCH_PROFILE").is_ok() {
        let g = gltf::parse_glb(&heavy).expect("glb");
        let json = g.json.to_vec();
        c.bench_function("json_heavy_glb/json_root_only", |b| b.iter(|| gltf::json::Root::read(&json).expect("json")));
        c.bench_function("json_heavy_glb/serde_value_only", |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(&json).expect("json"))
        });
    }
    let geo = geometry_heavy(300_000);
    compare(c, "geometry_heavy_glb", &geo);
    let mut g = c.benchmark_group("geometry_heavy_glb");
    g.throughput(Throughput::Bytes(geo.len() as u64));
    g.sample_size(10);
    g.bench_function("memcpy_ceiling", |b| b.iter(|| geo.to_vec()));
    g.finish();

    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/3dtiles");
    if let Ok(b3dm) = std::fs::read(shared.join("1.0/TilesetWithDiscreteLOD/dragon_medium.b3dm")) {
        let glb_at = b3dm.windows(4).position(|w| w == b"glTF").unwrap_or(0);
        let mut g = c.benchmark_group("dragon_b3dm");
        g.throughput(Throughput::Bytes(b3dm.len() as u64));
        g.sample_size(10);
        g.bench_function("urbis", |b| {
            b.iter(|| urbis_formats::tiles3d::binary::parse_b3dm(&b3dm, "dragon", &NoResources).expect("b3dm"))
        });
        g.bench_function("gltf_crate_import", |b| {
            b.iter(|| ::gltf::import_slice(&b3dm[glb_at..]).expect("gltf import"))
        });
        g.bench_function("gltf_crate_import_and_read", |b| b.iter(|| gltf_crate_decode(&b3dm[glb_at..])));
        g.finish();
    }
    let dir = shared.join("1.1/MetadataGranularities");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let tiles: Vec<Vec<u8>> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "glb"))
            .filter_map(|p| std::fs::read(p).ok())
            .collect();
        let total: usize = tiles.iter().map(Vec::len).sum();
        let mut g = c.benchmark_group("tiles_parallel");
        g.throughput(Throughput::Bytes(total as u64));
        g.sample_size(10);
        g.bench_function("sequential", |b| {
            b.iter(|| tiles.iter().map(|t| urbis_decode(t).primitives.len()).sum::<usize>())
        });
        g.bench_function("rayon", |b| {
            b.iter(|| tiles.par_iter().map(|t| urbis_decode(t).primitives.len()).sum::<usize>())
        });
        g.finish();
    }
}

fn osgb_benches(c: &mut Criterion) {
    use urbis_formats::osgb::{OsgbMesh, OsgbTile, read_osgb, write_osgb};
    let n = 64u32;
    let positions: Vec<[f32; 3]> = (0..=n)
        .flat_map(|j| (0..=n).map(move |i| [i as f32, j as f32, ((i * 7 + j * 13) % 11) as f32 * 0.1]))
        .collect();
    let tex_coords: Vec<[f32; 2]> =
        (0..=n).flat_map(|j| (0..=n).map(move |i| [i as f32 / n as f32, j as f32 / n as f32])).collect();
    let triangles: Vec<[u32; 3]> = (0..n)
        .flat_map(|j| {
            (0..n).flat_map(move |i| {
                let v = |a: u32, b: u32| b * (n + 1) + a;
                [[v(i, j), v(i + 1, j), v(i + 1, j + 1)], [v(i, j), v(i + 1, j + 1), v(i, j + 1)]]
            })
        })
        .collect();
    let synthetic = write_osgb(&OsgbTile {
        mesh: OsgbMesh { name: "tile".into(), positions, tex_coords, triangles, image: None },
        center: glam::DVec3::new(32.0, 32.0, 0.0),
        radius: 46.0,
        pixel_threshold: 512.0,
        children: vec!["child.osgb".into()],
    });
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/osgb/test.osgb");
    let mut cases = vec![("photo_tile_64x64", synthetic)];
    if let Ok(real) = std::fs::read(&shared) {
        cases.push(("shared_test_osgb", real));
    }
    for (name, bytes) in cases {
        let mut g = c.benchmark_group(format!("osgb/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("read", |b| b.iter(|| read_osgb(&bytes, name).expect("osgb")));
        g.bench_function("read_and_triangles", |b| {
            b.iter(|| {
                let f = read_osgb(&bytes, name).expect("osgb");
                f.root.geometries().iter().map(|(_, g)| g.triangles().expect("triangles").len()).sum::<usize>()
            })
        });
        g.finish();
    }
}

criterion_group!(decode, benches, osgb_benches);
criterion_main!(decode);
