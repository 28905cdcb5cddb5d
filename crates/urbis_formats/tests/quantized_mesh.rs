//! Cesium quantized-mesh-1.0 terrain and layer.json: a tile built byte by
//! byte from the published layout (github.com/CesiumGS/quantized-mesh) read
//! field by field and written back identically; zig-zag, high-water-mark and
//! oct encodings against worked values and Cesium's formulas; 32-bit indices
//! with their padding; gzip; hostile tiles (every truncation, huge counts,
//! indices out of range, bad extension lengths); layer.json as Cesium World
//! Terrain publishes it, its availability, round trip and hostile members;
//! the geographic tiling scheme against the spec's tile list.

use std::io::Write;

use urbis_formats::FormatError;
use urbis_formats::quantized_mesh::{
    self as qm, ACCEPT, LayerJson, QmHeader, QuantizedMesh, TileRange, geographic_tile_rect, oct_decode, oct_encode,
    parse, parse_layer, tiles_at_level, write, write_layer, zigzag_decode, zigzag_encode,
};

const METADATA: &str = r#"{"available":[[{"endX":1,"endY":1,"startX":0,"startY":0}]]}"#;

fn f64s(b: &mut Vec<u8>, vs: &[f64]) {
    for v in vs {
        b.extend_from_slice(&v.to_le_bytes());
    }
}
fn u16s(b: &mut Vec<u8>, vs: &[u16]) {
    for v in vs {
        b.extend_from_slice(&v.to_le_bytes());
    }
}
fn u32le(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// A 4-vertex, 2-triangle tile with all three extensions, written field by
/// field from the spec with hand-computed encodings. Returns the bytes and
/// the offsets where the core data and each extension end.
fn hand_built() -> (Vec<u8>, Vec<usize>) {
    let mut b = Vec::new();
    // QuantizedMeshHeader (88 bytes).
    f64s(&mut b, &[1.5, -2.25, 6378137.0]); // CenterX/Y/Z
    b.extend_from_slice(&(-10.5f32).to_le_bytes()); // MinimumHeight
    b.extend_from_slice(&250.25f32.to_le_bytes()); // MaximumHeight
    f64s(&mut b, &[1.0, 2.0, 3.0, 400.5]); // BoundingSphereCenterX/Y/Z, Radius
    f64s(&mut b, &[0.1, 0.2, 0.3]); // HorizonOcclusionPointX/Y/Z
    assert_eq!(b.len(), 88);
    // VertexData: u = 0, 32767, 0, 32767 → deltas 0, 32767, -32767, 32767.
    u32le(&mut b, 4);
    u16s(&mut b, &[0, 65534, 65533, 65534]);
    // v = 0, 0, 32767, 32767 → deltas 0, 0, 32767, 0.
    u16s(&mut b, &[0, 0, 65534, 0]);
    // height = 0, 16384, 32767, 100 → deltas 0, 16384, 16383, -32667.
    u16s(&mut b, &[0, 32768, 32766, 65333]);
    assert_eq!(b.len(), 116); // 2-byte aligned: no padding before IndexData16
    // IndexData16: triangles (0 1 2) (2 1 3) → high-water codes 0 0 0 1 2 0.
    u32le(&mut b, 2);
    u16s(&mut b, &[0, 0, 0, 1, 2, 0]);
    // EdgeIndices16: west, south, east, north.
    for edge in [[0u16, 2], [0, 1], [1, 3], [2, 3]] {
        u32le(&mut b, 2);
        u16s(&mut b, &edge);
    }
    let mut ends = vec![b.len()];
    // Extension 1: oct normals +Z, +X, -X, -Z.
    b.push(1);
    u32le(&mut b, 8);
    b.extend_from_slice(&[128, 128, 255, 128, 0, 128, 255, 255]);
    ends.push(b.len());
    // Extension 2: a one-byte water mask (all water).
    b.push(2);
    u32le(&mut b, 1);
    b.push(255);
    ends.push(b.len());
    // Extension 4: metadata, jsonLength + JSON.
    b.push(4);
    u32le(&mut b, METADATA.len() as u32 + 4);
    u32le(&mut b, METADATA.len() as u32);
    b.extend_from_slice(METADATA.as_bytes());
    ends.push(b.len());
    (b, ends)
}

fn expected_mesh() -> QuantizedMesh {
    QuantizedMesh {
        header: QmHeader {
            center: [1.5, -2.25, 6378137.0],
            min_height: -10.5,
            max_height: 250.25,
            bounding_sphere: [1.0, 2.0, 3.0, 400.5],
            horizon_occlusion: [0.1, 0.2, 0.3],
        },
        u: vec![0, 32767, 0, 32767],
        v: vec![0, 0, 32767, 32767],
        height: vec![0, 16384, 32767, 100],
        indices: vec![0, 1, 2, 2, 1, 3],
        west: vec![0, 2],
        south: vec![0, 1],
        east: vec![1, 3],
        north: vec![2, 3],
        normals: Some(vec![[128, 128], [255, 128], [0, 128], [255, 255]]),
        water_mask: Some(vec![255]),
        metadata: Some(serde_json::from_str(METADATA).expect("json")),
    }
}

#[test]
fn published_layout_reads_field_by_field_and_writes_back_byte_for_byte() {
    let (bytes, _) = hand_built();
    let m = parse(&bytes, "hand.terrain").expect("parse");
    assert_eq!(m.header.center, [1.5, -2.25, 6378137.0]);
    assert_eq!((m.header.min_height, m.header.max_height), (-10.5, 250.25));
    assert_eq!(m.header.bounding_sphere, [1.0, 2.0, 3.0, 400.5]);
    assert_eq!(m.header.horizon_occlusion, [0.1, 0.2, 0.3]);
    assert_eq!(m.u, [0, 32767, 0, 32767]);
    assert_eq!(m.v, [0, 0, 32767, 32767]);
    assert_eq!(m.height, [0, 16384, 32767, 100]);
    assert_eq!(m.indices, [0, 1, 2, 2, 1, 3]);
    assert_eq!((m.west.as_slice(), m.south.as_slice()), (&[0, 2][..], &[0, 1][..]));
    assert_eq!((m.east.as_slice(), m.north.as_slice()), (&[1, 3][..], &[2, 3][..]));
    assert_eq!(m.water_mask.as_deref(), Some(&[255u8][..]));
    assert_eq!(m.metadata.as_ref().and_then(|j| j["available"][0][0]["endX"].as_u64()), Some(1));
    assert_eq!(m.available(), Some(vec![vec![TileRange { start_x: 0, start_y: 0, end_x: 1, end_y: 1 }]]));
    assert_eq!(m, expected_mesh());
    // Heights: min + (max - min) * h / 32767.
    assert_eq!(m.height_m(0), -10.5);
    assert_eq!(m.height_m(2), 250.25);
    assert!((m.height_m(1) - (-10.5 + 260.75 * 16384.0 / 32767.0)).abs() < 1e-9);
    // Normals decode to +Z, +X, -X, -Z within a degree.
    for (i, want) in [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]].into_iter().enumerate() {
        let n = m.normal(i).expect("normal");
        assert!(angle_deg(n, want) < 1.0, "vertex {i}: {n:?} vs {want:?}");
    }
    assert_eq!(m.normal(4), None);
    // The writer reproduces the published layout exactly.
    assert_eq!(write(&expected_mesh()), bytes);
}

#[test]
fn extensions_are_optional_and_written_in_id_order() {
    let (bytes, ends) = hand_built();
    let mut m = expected_mesh();
    m.normals = None;
    m.water_mask = None;
    m.metadata = None;
    assert_eq!(write(&m), bytes[..ends[0]]);
    assert_eq!(parse(&bytes[..ends[0]], "core.terrain").expect("core"), m);
    // Extensions in another order (as a server may send them) and unknown ones read the same.
    let (e1, e2, e4) = (&bytes[ends[0]..ends[1]], &bytes[ends[1]..ends[2]], &bytes[ends[2]..ends[3]]);
    let mut shuffled = bytes[..ends[0]].to_vec();
    for part in [e4, &[9, 3, 0, 0, 0, 1, 2, 3][..], e2, e1] {
        shuffled.extend_from_slice(part);
    }
    assert_eq!(parse(&shuffled, "shuffled.terrain").expect("shuffled"), expected_mesh());
    assert_eq!(write(&parse(&shuffled, "shuffled.terrain").expect("shuffled")), bytes);
}

#[test]
fn zigzag_known_values() {
    for (v, z) in
        [(0, 0u16), (-1, 1), (1, 2), (-2, 3), (2, 4), (-3, 5), (32767, 65534), (-32767, 65533), (-32768, 65535)]
    {
        assert_eq!(zigzag_encode(v), z, "encode {v}");
        assert_eq!(zigzag_decode(z), v, "decode {z}");
    }
    for z in 0..=u16::MAX {
        assert_eq!(zigzag_encode(zigzag_decode(z)), z);
    }
}

#[test]
fn high_water_mark_worked_example() {
    // Triangles (0 1 2) (0 2 3) (3 2 4): each new vertex is `highest` (code 0),
    // a repeat is coded as its distance below `highest`.
    let m = QuantizedMesh {
        u: vec![0, 100, 200, 300, 400],
        v: vec![0; 5],
        height: vec![0; 5],
        indices: vec![0, 1, 2, 0, 2, 3, 3, 2, 4],
        ..Default::default()
    };
    let bytes = write(&m);
    let at = 88 + 4 + 6 * 5;
    assert_eq!(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")), 3);
    let codes: Vec<u16> =
        bytes[at + 4..at + 4 + 18].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    assert_eq!(codes, [0, 0, 0, 3, 1, 0, 1, 2, 0]);
    assert_eq!(parse(&bytes, "hwm.terrain").expect("parse").indices, m.indices);
}

fn angle_deg(a: [f32; 3], b: [f64; 3]) -> f64 {
    let a = a.map(f64::from);
    let (la, lb) = (a.iter().map(|x| x * x).sum::<f64>().sqrt(), b.iter().map(|x| x * x).sum::<f64>().sqrt());
    let dot = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (la * lb);
    dot.clamp(-1.0, 1.0).acos().to_degrees()
}

#[test]
fn oct_encoding_follows_cesium() {
    // Cesium's octEncode: round((clamp(c, -1, 1) * 0.5 + 0.5) * 255), the lower
    // hemisphere folded with signNotZero. 0 maps to 127.5, which rounds up.
    for (n, e) in [
        ([0.0, 0.0, 1.0], [128, 128]),
        ([1.0, 0.0, 0.0], [255, 128]),
        ([-1.0, 0.0, 0.0], [0, 128]),
        ([0.0, 1.0, 0.0], [128, 255]),
        ([0.0, -1.0, 0.0], [128, 0]),
        ([0.0, 0.0, -1.0], [255, 255]),
    ] {
        assert_eq!(oct_encode(n), e, "{n:?}");
    }
    // Diagonal (1,1,1)/√3: x = y = 1/3 → round((1/6 + 0.5) * 255) = 170.
    let d = 1.0 / 3f32.sqrt();
    assert_eq!(oct_encode([d, d, d]), [170, 170]);
    // (3,1,-4)/8 on the octahedron folds to x = 1 - 1/8, y = 1 - 3/8:
    // round(0.9375 * 255) = round(239.06) and round(0.8125 * 255) = round(207.19).
    assert_eq!(oct_encode([0.3, 0.1, -0.4]), [239, 207]);
    let mut worst = 0f64;
    let dirs = (0..40).flat_map(|i| (0..80).map(move |j| (i, j))).map(|(i, j)| {
        let (th, ph) =
            (std::f64::consts::PI * (f64::from(i) + 0.5) / 40.0, std::f64::consts::TAU * f64::from(j) / 80.0);
        [th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()]
    });
    let axes = [1.0f64, -1.0].into_iter().flat_map(|s| [[s, 0.0, 0.0], [0.0, s, 0.0], [0.0, 0.0, s]]);
    let diagonals = (0..8).map(|k| [1, 2, 4].map(|b| if k & b == 0 { 1.0 } else { -1.0 }));
    for n in dirs.chain(axes).chain(diagonals) {
        let back = oct_decode(oct_encode(n.map(|c| c as f32)));
        let len = back.iter().map(|c| f64::from(*c).powi(2)).sum::<f64>().sqrt();
        assert!((len - 1.0).abs() < 1e-6, "not unit: {back:?}");
        worst = worst.max(angle_deg(back, n));
    }
    assert!(worst < 1.5, "worst oct round trip error {worst}°");
    assert_eq!(oct_encode([0.0, 0.0, 0.0]), [128, 128]);
    assert_eq!(oct_encode([f32::NAN, 0.0, 1.0]), [128, 128]);
    for x in 0..=255u8 {
        for y in 0..=255u8 {
            assert!(oct_decode([x, y]).iter().all(|c| c.is_finite()));
        }
    }
}

/// A triangle fan over `n` vertices.
fn fan(n: usize) -> QuantizedMesh {
    QuantizedMesh {
        header: QmHeader { min_height: 0.0, max_height: 1000.0, ..Default::default() },
        u: (0..n).map(|i| (i % 32768) as u16).collect(),
        v: (0..n).map(|i| (i / 32768 * 1000) as u16).collect(),
        height: (0..n).map(|i| (i * 7 % 32768) as u16).collect(),
        indices: (1..n as u32 - 1).flat_map(|k| [0, k, k + 1]).collect(),
        west: vec![0, 1, n as u32 - 1],
        south: vec![(n - 2) as u32],
        east: vec![],
        north: vec![n as u32 - 1, 2],
        normals: Some((0..n).map(|i| [(i % 256) as u8, (i / 256 % 256) as u8]).collect()),
        ..Default::default()
    }
}

#[test]
fn more_than_65536_vertices_use_padded_u32_indices() {
    // 65537 vertices: 92 + 6·65537 bytes is 2 mod 4, so 2 bytes of padding.
    let m = fan(65537);
    let bytes = write(&m);
    let end_vertices = 88 + 4 + 6 * 65537;
    assert_eq!(end_vertices % 4, 2);
    assert_eq!(bytes[end_vertices..end_vertices + 2], [0, 0]);
    let at = end_vertices + 2;
    assert_eq!(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")), 65535);
    // 32-bit codes: the first triangle is 0 0 0, the second (0 2 3) is 3 1 0.
    let code = |k: usize| u32::from_le_bytes(bytes[at + 4 + 4 * k..at + 8 + 4 * k].try_into().expect("4"));
    assert_eq!((0..6).map(code).collect::<Vec<_>>(), [0, 0, 0, 3, 1, 0]);
    let back = parse(&bytes, "big.terrain").expect("parse");
    assert_eq!(back, m);
    assert_eq!(back.north, [65536, 2]);
    // 65538 vertices: already aligned, no padding.
    let bytes = write(&fan(65538));
    let at = 88 + 4 + 6 * 65538;
    assert_eq!(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")), 65536);
    assert_eq!(parse(&bytes, "big2.terrain").expect("parse"), fan(65538));
    // Exactly 65536 vertices still use 16-bit indices.
    let bytes = write(&fan(65536));
    let at = 88 + 4 + 6 * 65536;
    assert_eq!(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")), 65534);
    assert_eq!(bytes.len(), at + 4 + 2 * 3 * 65534 + 4 * 4 + 2 * 6 + 5 + 2 * 65536);
    assert_eq!(parse(&bytes, "edge.terrain").expect("parse"), fan(65536));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn gzip_tiles_are_inflated_within_a_bound() {
    let (bytes, _) = hand_built();
    assert_eq!(parse(&gzip(&bytes), "gz.terrain").expect("gz"), expected_mesh());
    // A bomb: 8 MiB of zeros is ~8 KB compressed, over 64× its size and over 1 MiB.
    let bomb = gzip(&vec![0u8; 8 << 20]);
    let e = parse(&bomb, "bomb.terrain").expect_err("bomb").to_string();
    assert!(e.contains("bomb.terrain") && e.contains("limit"), "{e}");
    // Corrupt gzip.
    let mut bad = gzip(&bytes);
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    bad.truncate(bad.len() - 4);
    let e = parse(&bad, "badgz.terrain").expect_err("corrupt").to_string();
    assert!(e.contains("badgz.terrain") && e.contains("gzip"), "{e}");
    // An error inside an inflated tile names the file and says so.
    let e = parse(&gzip(&bytes[..100]), "cut.terrain.gz").expect_err("cut").to_string();
    assert!(e.contains("cut.terrain.gz (inflated)") && e.contains("vertexCount"), "{e}");
}

fn refused(bytes: &[u8], name: &str, needles: &[&str]) -> String {
    let e = parse(bytes, name).map(|_| ()).expect_err(name);
    assert!(matches!(e, FormatError::Offset { .. }), "{e:?}");
    let e = e.to_string();
    for n in std::iter::once(name).chain(needles.iter().copied()) {
        assert!(e.contains(n), "{name}: error does not name `{n}`: {e}");
    }
    e
}

#[test]
fn every_truncation_is_an_error_except_at_extension_boundaries() {
    let (bytes, ends) = hand_built();
    for len in 0..bytes.len() {
        match parse(&bytes[..len], "cut.terrain") {
            Ok(_) => assert!(ends.contains(&len), "a {len}-byte prefix was accepted"),
            Err(e) => assert!(e.to_string().contains("cut.terrain"), "{e}"),
        }
    }
    refused(&bytes[..10], "h.terrain", &["header.center", "byte 0"]);
    refused(&bytes[..100], "v.terrain", &["vertexCount", "count 4", "byte 88"]);
    refused(&bytes[..117], "t.terrain", &["triangleCount", "byte 116"]);
    refused(&bytes[..ends[0] + 3], "x.terrain", &["extensionLength", &format!("byte {}", ends[0] + 1)]);
}

#[test]
fn hostile_tiles_are_refused_with_file_offset_and_field() {
    let (bytes, ends) = hand_built();
    let patch = |at: usize, with: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + with.len()].copy_from_slice(with);
        b
    };
    // Huge counts fail before any allocation.
    refused(&patch(88, &u32::MAX.to_le_bytes()), "huge.terrain", &["vertexCount", "4294967295", "byte 88"]);
    refused(&patch(116, &u32::MAX.to_le_bytes()), "tris.terrain", &["triangleCount", "byte 116"]);
    refused(
        &patch(116, &0x1000_0000u32.to_le_bytes()),
        "tris2.terrain",
        &["triangleCount (indices): count 805306368", "byte 116"],
    );
    refused(&patch(132, &u32::MAX.to_le_bytes()), "west.terrain", &["westVertexCount", "byte 132"]);
    // Indices out of range: a first code of 1 (0 - 1), and a fifth new vertex of four.
    refused(&patch(120, &1u16.to_le_bytes()), "hwm.terrain", &["indices[0]", "byte 120"]);
    let mut five = patch(126, &[0, 0, 0, 0, 0, 0]);
    five[120..132].fill(0);
    refused(&five, "idx.terrain", &["indices[4]", "byte 128", "of 4"]);
    refused(&patch(136, &9u16.to_le_bytes()), "edge.terrain", &["westIndices[0] = 9", "byte 136"]);
    // Quantized values out of 0..=32767.
    refused(&patch(92, &1u16.to_le_bytes()), "neg.terrain", &["u[0]", "-1", "byte 92"]);
    // v[1] = 0 + 1, then v[2] = 1 + 32767.
    refused(&patch(102, &2u16.to_le_bytes()), "vbig.terrain", &["v[2]", "32768", "byte 104"]);
    refused(&patch(24, &f32::NAN.to_le_bytes()), "nan.terrain", &["minimumHeight", "byte 24"]);
    // Extensions: length past the end, normals of the wrong size, bad water mask, metadata.
    let e1 = ends[0];
    refused(&patch(e1 + 1, &u32::MAX.to_le_bytes()), "extlen.terrain", &["extensionLength", "extension 1"]);
    let mut short_normals = bytes[..e1].to_vec();
    short_normals.extend_from_slice(&[1, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    refused(&short_normals, "normals.terrain", &["extensionLength 6", "2 bytes per vertex"]);
    let mut mask = bytes[..e1].to_vec();
    mask.extend_from_slice(&[2, 2, 0, 0, 0, 0, 255]);
    refused(&mask, "mask.terrain", &["water mask", &format!("byte {}", e1 + 1)]);
    let e4 = ends[2];
    refused(&patch(e4 + 5, &u32::MAX.to_le_bytes()), "json.terrain", &["jsonLength", &format!("byte {}", e4 + 5)]);
    refused(&patch(e4 + 9, b"["), "json2.terrain", &["metadata json", &format!("byte {}", e4 + 9)]);
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes[ends[1]..ends[2]]);
    refused(&twice, "twice.terrain", &["extensionId 2 appears twice", &format!("byte {}", ends[3])]);
}

#[test]
fn mutated_tiles_never_panic() {
    let (bytes, _) = hand_built();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut b = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] = next() as u8;
        }
        if let Ok(m) = parse(&b, "mutant.terrain") {
            let again = parse(&write(&m), "again").expect("a parsed tile writes back readable");
            assert_eq!(again.indices, m.indices);
        }
    }
}

#[test]
fn fuzz_seed_is_the_hand_built_tile() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/quantized_mesh/tile.terrain");
    let seed = std::fs::read(&p).expect("seed");
    assert!(seed.len() < 4096);
    assert_eq!(seed, hand_built().0, "the seed (written by hand in Python) and this test's layout agree");
    assert_eq!(qm::read(&p).expect("read"), expected_mesh());
}

const LAYER: &str = r#"{
  "tilejson": "2.1.0",
  "name": "world",
  "description": "",
  "version": "1.2.0",
  "format": "quantized-mesh-1.0",
  "attribution": "© Analytical Graphics Inc., © CGIAR-CSI",
  "scheme": "tms",
  "tiles": ["{z}/{x}/{y}.terrain?v={version}", "https://mirror/{z}/{x}/{y}.terrain"],
  "projection": "EPSG:4326",
  "bounds": [-180.0, -90.0, 180.0, 90.0],
  "minzoom": 0,
  "maxzoom": 19,
  "available": [
    [{"startX": 0, "startY": 0, "endX": 1, "endY": 0}],
    [{"startX": 0, "startY": 0, "endX": 3, "endY": 1}],
    [{"startX": 0, "startY": 0, "endX": 7, "endY": 3}],
    [{"startX": 0, "startY": 0, "endX": 4, "endY": 3}, {"startX": 6, "startY": 0, "endX": 15, "endY": 7}]
  ],
  "extensions": ["octvertexnormals", "watermask", "metadata"],
  "metadataAvailability": 10
}"#;

#[test]
fn layer_json_like_cesium_world_terrain() {
    let l = parse_layer(LAYER.as_bytes(), "layer.json").expect("layer");
    assert_eq!((l.tilejson.as_str(), l.format.as_str(), l.version.as_str()), ("2.1.0", "quantized-mesh-1.0", "1.2.0"));
    assert_eq!((l.scheme.as_str(), l.projection.as_str()), ("tms", "EPSG:4326"));
    assert_eq!(l.bounds, [-180.0, -90.0, 180.0, 90.0]);
    assert_eq!((l.minzoom, l.maxzoom, l.metadata_availability), (0, 19, Some(10)));
    assert_eq!(l.extensions, ["octvertexnormals", "watermask", "metadata"]);
    assert_eq!(l.attribution.as_deref(), Some("© Analytical Graphics Inc., © CGIAR-CSI"));
    assert_eq!(l.available.len(), 4);
    assert_eq!(l.available[3][1], TileRange { start_x: 6, start_y: 0, end_x: 15, end_y: 7 });
    assert_eq!(l.other.get("name").and_then(|v| v.as_str()), Some("world"));
    assert_eq!(l.tile_url(0, 1, 0).as_deref(), Some("0/1/0.terrain?v=1.2.0"));
    assert_eq!(l.tile_url(3, 15, 7).as_deref(), Some("3/15/7.terrain?v=1.2.0"));
    assert_eq!(l.tile_url(0, 2, 0), None);
    assert!(l.is_available(0, 0, 0) && l.is_available(0, 1, 0) && !l.is_available(0, 2, 0));
    assert!(l.is_available(2, 7, 3) && !l.is_available(2, 8, 0) && !l.is_available(2, 0, 4));
    assert!(l.is_available(3, 4, 3) && !l.is_available(3, 5, 0) && l.is_available(3, 6, 0));
    assert!(!l.is_available(4, 0, 0), "levels past `available` are not known here");
    let text = write_layer(&l);
    assert_eq!(parse_layer(text.as_bytes(), "again.json").expect("again"), l);
    assert!(text.find("\"tilejson\"") < text.find("\"available\""), "Cesium's member order");
    // Defaults and Web Mercator's single root tile.
    let m = parse_layer(br#"{"format":"quantized-mesh-1.0","tiles":["t/{z}/{x}/{y}"],"projection":"EPSG:3857","available":[[{"startX":0,"startY":0,"endX":0,"endY":0}]]}"#, "m.json")
        .expect("mercator");
    assert_eq!((m.tilejson.as_str(), m.version.as_str(), m.maxzoom), ("2.1.0", "1.0.0", 0));
    assert_eq!((m.tiles_at_level(0), m.tile_url(0, 1, 0)), ((1, 1), None));
    assert_eq!(parse_layer(write_layer(&m).as_bytes(), "m2.json").expect("again"), m);
    assert!(ACCEPT.starts_with("application/vnd.quantized-mesh;extensions=") && ACCEPT.contains("octvertexnormals"));
}

#[test]
fn hostile_layer_json_names_the_member() {
    let base: serde_json::Value = serde_json::from_str(LAYER).expect("json");
    let cases: [(&str, serde_json::Value, &str); 14] = [
        ("format", serde_json::json!(null), "format"),
        ("format", serde_json::json!("heightmap-1.0"), "format"),
        ("tiles", serde_json::json!("x"), "tiles"),
        ("tiles", serde_json::json!(["a", 3]), "tiles[1]"),
        ("tiles", serde_json::json!([]), "tiles"),
        ("scheme", serde_json::json!("xyz"), "scheme"),
        ("projection", serde_json::json!("EPSG:2056"), "projection"),
        ("bounds", serde_json::json!([0, 1, 2]), "bounds"),
        ("maxzoom", serde_json::json!("19"), "maxzoom"),
        ("minzoom", serde_json::json!(25), "maxzoom"),
        ("available", serde_json::json!({}), "available"),
        ("available", serde_json::json!([[{"startX": 0, "startY": 0, "endX": -1, "endY": 0}]]), "available[0][0].endX"),
        ("available", serde_json::json!([[], [{"startX": 2, "startY": 0, "endX": 1, "endY": 0}]]), "available[1][0]"),
        ("metadataAvailability", serde_json::json!(1e20), "metadataAvailability"),
    ];
    for (key, value, field) in cases {
        let mut v = base.clone();
        if value.is_null() {
            v.as_object_mut().expect("object").remove(key);
        } else {
            v[key] = value;
        }
        let e = parse_layer(v.to_string().as_bytes(), "bad/layer.json").expect_err(key);
        assert!(matches!(&e, FormatError::Field { field: f, .. } if f == field), "{key}: {e:?}");
        assert!(e.to_string().contains("bad/layer.json"), "{e}");
    }
    let e = parse_layer(b"{\"format\": ", "trunc.json").expect_err("truncated").to_string();
    assert!(e.contains("trunc.json") && e.contains("line 1"), "{e}");
    let e = parse_layer(b"[1]", "arr.json").expect_err("array").to_string();
    assert!(e.contains("arr.json") && e.contains("object"), "{e}");
}

#[test]
fn geographic_tiling_scheme_matches_the_spec() {
    assert_eq!(tiles_at_level(0), (2, 1));
    assert_eq!(tiles_at_level(1), (4, 2));
    assert_eq!(tiles_at_level(10), (2048, 1024));
    assert_eq!(geographic_tile_rect(0, 0, 0), [-180.0, -90.0, 0.0, 90.0]);
    assert_eq!(geographic_tile_rect(0, 1, 0), [0.0, -90.0, 180.0, 90.0]);
    // The eight level-1 tiles as the quantized-mesh README lists them.
    for (x, y, rect) in [
        (0, 0, [-180.0, -90.0, -90.0, 0.0]),
        (1, 0, [-90.0, -90.0, 0.0, 0.0]),
        (2, 0, [0.0, -90.0, 90.0, 0.0]),
        (3, 0, [90.0, -90.0, 180.0, 0.0]),
        (0, 1, [-180.0, 0.0, -90.0, 90.0]),
        (1, 1, [-90.0, 0.0, 0.0, 90.0]),
        (2, 1, [0.0, 0.0, 90.0, 90.0]),
        (3, 1, [90.0, 0.0, 180.0, 90.0]),
    ] {
        assert_eq!(geographic_tile_rect(1, x, y), rect, "1/{x}/{y}");
    }
    let deep =
        LayerJson { tiles: vec!["{z}/{x}/{y}.terrain".into()], ..parse_layer(LAYER.as_bytes(), "l").expect("l") };
    assert_eq!(deep.tile_url(12, 8191, 4095).as_deref(), Some("12/8191/4095.terrain"));
}
