//! Builders of small, valid tiles for tests (and the hostile corpus).
#![allow(dead_code)]

/// Pads to a multiple of 8 with spaces (JSON) or zeros (binary).
pub fn pad8(mut v: Vec<u8>, with: u8) -> Vec<u8> {
    while !v.len().is_multiple_of(8) {
        v.push(with);
    }
    v
}

/// A GLB holding one triangle (positions only), `_BATCHID` 0,1,2 per vertex.
pub fn triangle_glb() -> Vec<u8> {
    let mut bin = Vec::new();
    for p in [[0.0f32, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] {
        for c in p {
            bin.extend_from_slice(&c.to_le_bytes());
        }
    }
    for id in [0u16, 1, 2, 0] {
        bin.extend_from_slice(&id.to_le_bytes());
    }
    let json = r#"{"asset":{"version":"2.0"},"buffers":[{"byteLength":44}],
      "bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":36},{"buffer":0,"byteOffset":36,"byteLength":6}],
      "accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3","min":[0,0,0],"max":[1,1,0]},
                   {"bufferView":1,"componentType":5123,"count":3,"type":"SCALAR"}],
      "meshes":[{"primitives":[{"attributes":{"POSITION":0,"_BATCHID":1}}]}],
      "nodes":[{"mesh":0}],"scenes":[{"nodes":[0]}],"scene":0}"#;
    glb(json, &bin)
}

pub fn glb(json: &str, bin: &[u8]) -> Vec<u8> {
    let mut j = json.as_bytes().to_vec();
    while !j.len().is_multiple_of(4) {
        j.push(b' ');
    }
    let mut b = bin.to_vec();
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    let total = 12 + 8 + j.len() + 8 + b.len();
    let mut out = Vec::new();
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(j.len() as u32).to_le_bytes());
    out.extend_from_slice(&0x4E4F534Au32.to_le_bytes());
    out.extend_from_slice(&j);
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(&0x004E4942u32.to_le_bytes());
    out.extend_from_slice(&b);
    out
}

/// A 1.0 tile: magic, header, tables, body. `extra` is i3dm's gltfFormat.
pub fn tile(
    magic: &[u8; 4],
    ft_json: &str,
    ft_bin: &[u8],
    bt_json: &str,
    bt_bin: &[u8],
    extra: Option<u32>,
    body: &[u8],
) -> Vec<u8> {
    let ftj = pad8(ft_json.as_bytes().to_vec(), b' ');
    let ftb = pad8(ft_bin.to_vec(), 0);
    let btj = pad8(bt_json.as_bytes().to_vec(), b' ');
    let btb = pad8(bt_bin.to_vec(), 0);
    let header = if extra.is_some() { 32 } else { 28 };
    let total = header + ftj.len() + ftb.len() + btj.len() + btb.len() + body.len();
    let mut out = Vec::new();
    out.extend_from_slice(magic);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    for l in [ftj.len(), ftb.len(), btj.len(), btb.len()] {
        out.extend_from_slice(&(l as u32).to_le_bytes());
    }
    if let Some(e) = extra {
        out.extend_from_slice(&e.to_le_bytes());
    }
    for part in [&ftj, &ftb, &btj, &btb] {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(body);
    out
}

pub fn cmpt(inner: &[Vec<u8>]) -> Vec<u8> {
    let total = 16 + inner.iter().map(Vec::len).sum::<usize>();
    let mut out = Vec::new();
    out.extend_from_slice(b"cmpt");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(inner.len() as u32).to_le_bytes());
    for t in inner {
        out.extend_from_slice(t);
    }
    out
}

pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
