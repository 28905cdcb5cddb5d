//! glTF extensions without a public sample in `../shared/data`, checked on
//! assets built here: KHR_mesh_quantization, EXT_meshopt_compression (encoded
//! with the meshopt crate's own encoder), KHR_texture_transform,
//! EXT_mesh_gpu_instancing, and metadata offset/scale, noData and defaults.

use base64::Engine;
use urbis_formats::gltf::{self, MetadataValue, NoResources};

fn data_uri(bytes: &[u8]) -> String {
    format!("data:application/octet-stream;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[test]
fn quantized_positions_dequantize_through_the_node_transform() {
    // SHORT normalized positions (KHR_mesh_quantization) scaled by the node.
    let q: Vec<u8> =
        [[0i16, 0, 0], [32767, 0, 0], [0, -32767, 16384]].iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"extensionsUsed":["KHR_mesh_quantization"],"extensionsRequired":["KHR_mesh_quantization"],
        "buffers":[{{"byteLength":{},"uri":"{}"}}],"bufferViews":[{{"buffer":0,"byteLength":18,"byteStride":8}}],
        "accessors":[{{"bufferView":0,"componentType":5122,"normalized":true,"count":2,"type":"VEC3"}}],
        "meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}},"mode":0}}]}}],"nodes":[{{"mesh":0,"scale":[10,10,10]}}]}}"#,
        q.len(),
        data_uri(&q)
    );
    // Stride 8 over 6-byte elements: only the first two elements fit the 18 bytes.
    let m = gltf::parse(json.as_bytes(), "q.gltf", &NoResources).expect("parse");
    let p = &m.primitives[0];
    assert_eq!(p.positions[0], [0.0, 0.0, 0.0]);
    assert!((p.positions[1][0] - 0.0).abs() < 1e-6, "stride 8 reads bytes 8..14: {:?}", p.positions[1]);
    assert_eq!(p.transform.transform_point3(glam::DVec3::X), glam::DVec3::new(10.0, 0.0, 0.0));
}

#[test]
fn meshopt_compressed_views_decode_to_the_original() {
    let verts: Vec<[f32; 3]> = (0..50).map(|i| [i as f32, (i * i) as f32 * 0.5, -(i as f32)]).collect();
    let idx: Vec<u32> = (0..48u32).flat_map(|i| [i, i + 1, i + 2]).collect();
    let vb = meshopt::encode_vertex_buffer(&verts).expect("encode vertices");
    let ib = meshopt::encode_index_buffer(&idx, verts.len()).expect("encode indices");
    let mut bin = vb.clone();
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let ib_off = bin.len();
    bin.extend_from_slice(&ib);
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"extensionsUsed":["EXT_meshopt_compression"],"extensionsRequired":["EXT_meshopt_compression"],
        "buffers":[{{"byteLength":{},"uri":"{}"}},{{"byteLength":{},"extensions":{{"EXT_meshopt_compression":{{"fallback":true}}}}}}],
        "bufferViews":[
          {{"buffer":1,"byteLength":{},"byteStride":12,"extensions":{{"EXT_meshopt_compression":{{"buffer":0,"byteOffset":0,"byteLength":{},"byteStride":12,"count":{},"mode":"ATTRIBUTES"}}}}}},
          {{"buffer":1,"byteLength":{},"extensions":{{"EXT_meshopt_compression":{{"buffer":0,"byteOffset":{},"byteLength":{},"byteStride":4,"count":{},"mode":"TRIANGLES"}}}}}}],
        "accessors":[{{"bufferView":0,"componentType":5126,"count":{},"type":"VEC3"}},{{"bufferView":1,"componentType":5125,"count":{},"type":"SCALAR"}}],
        "meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}},"indices":1}}]}}],"nodes":[{{"mesh":0}}]}}"#,
        bin.len(),
        data_uri(&bin),
        verts.len() * 12 + idx.len() * 4,
        verts.len() * 12,
        vb.len(),
        verts.len(),
        idx.len() * 4,
        ib_off,
        ib.len(),
        idx.len(),
        verts.len(),
        idx.len()
    );
    let m = gltf::parse(json.as_bytes(), "mo.gltf", &NoResources).expect("parse");
    assert_eq!(m.primitives[0].positions, verts);
    // The index codec may rotate a triangle's corners (keeping its winding).
    let canon = |v: &[u32]| -> Vec<[u32; 3]> {
        v.chunks_exact(3)
            .map(|t| {
                let k = (0..3).min_by_key(|&i| t[i]).unwrap_or(0);
                [t[k], t[(k + 1) % 3], t[(k + 2) % 3]]
            })
            .collect()
    };
    assert_eq!(canon(m.primitives[0].indices.as_deref().expect("indices")), canon(&idx));
    // Corrupt compressed data is an error naming the view, not garbage or a panic.
    let broken = json.replacen(&data_uri(&bin), &data_uri(&vec![0xAB; bin.len()]), 1);
    let e = gltf::parse(broken.as_bytes(), "bad.gltf", &NoResources).expect_err("corrupt").to_string();
    assert!(e.contains("bad.gltf") && e.contains("bufferViews/0"), "{e}");
}

#[test]
fn texture_transform_and_gpu_instancing() {
    let t = gltf::TextureTransform {
        offset: [0.5, 0.0],
        rotation: std::f32::consts::FRAC_PI_2,
        scale: [2.0, 2.0],
        tex_coord: None,
    };
    let uv = t.apply([1.0, 0.0]);
    // Scale (2, 0), rotate 90° (→ (0, −2) in glTF's uv convention), then offset.
    assert!((uv[0] - 0.5).abs() < 1e-6 && (uv[1] + 2.0).abs() < 1e-6, "{uv:?}");
    let pos: Vec<u8> =
        [[0f32, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]].iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let tr: Vec<u8> = [[10f32, 0.0, 0.0], [20.0, 0.0, 0.0]].iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    let mut bin = pos.clone();
    bin.extend(&tr);
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"buffers":[{{"byteLength":{},"uri":"{}"}}],
        "bufferViews":[{{"buffer":0,"byteLength":36}},{{"buffer":0,"byteOffset":36,"byteLength":24}}],
        "accessors":[{{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"}},{{"bufferView":1,"componentType":5126,"count":2,"type":"VEC3"}}],
        "meshes":[{{"primitives":[{{"attributes":{{"POSITION":0}}}}]}}],
        "nodes":[{{"mesh":0,"extensions":{{"EXT_mesh_gpu_instancing":{{"attributes":{{"TRANSLATION":1}}}}}}}}]}}"#,
        bin.len(),
        data_uri(&bin)
    );
    let m = gltf::parse(json.as_bytes(), "inst.gltf", &NoResources).expect("parse");
    let inst = &m.primitives[0].instances;
    assert_eq!(inst.len(), 2);
    assert_eq!(inst[1].transform_point3(glam::DVec3::ZERO), glam::DVec3::new(20.0, 0.0, 0.0));
}

#[test]
fn metadata_offset_scale_nodata_and_defaults() {
    // UINT8 values [0, 100, 255]; normalized with offset 10 and scale 2 → 10 + 2·v/255;
    // INT16 with noData −1 and default 42; a class property absent from the table takes its default.
    let mut bin: Vec<u8> = vec![0, 100, 255, 0];
    bin.extend([5i16, -1, 7, 0].iter().flat_map(|v| v.to_le_bytes()));
    let json = format!(
        r#"{{"asset":{{"version":"2.0"}},"buffers":[{{"byteLength":{},"uri":"{}"}}],
        "bufferViews":[{{"buffer":0,"byteLength":3}},{{"buffer":0,"byteOffset":4,"byteLength":6}}],
        "extensions":{{"EXT_structural_metadata":{{"schema":{{"classes":{{"c":{{"properties":{{
            "level":{{"type":"SCALAR","componentType":"UINT8","normalized":true,"offset":10,"scale":2}},
            "code":{{"type":"SCALAR","componentType":"INT16","noData":-1,"default":42}},
            "name":{{"type":"STRING","default":"unnamed"}}}}}}}}}},
          "propertyTables":[{{"class":"c","count":3,"properties":{{"level":{{"values":0}},"code":{{"values":1}}}}}}]}}}}}}"#,
        bin.len(),
        data_uri(&bin)
    );
    let m = gltf::parse(json.as_bytes(), "md.gltf", &NoResources).expect("parse");
    let t = &m.metadata.as_ref().expect("metadata").property_tables[0];
    let level: Vec<f64> = t.columns["level"].iter().map(|v| v.as_f64().expect("f")).collect();
    let want = [10.0, 10.0 + 2.0 * 100.0 / 255.0, 12.0];
    assert_eq!(level.len(), want.len(), "{level:?}");
    assert!(level.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{level:?}");
    assert_eq!(t.columns["code"], vec![MetadataValue::Int(5), MetadataValue::Int(42), MetadataValue::Int(7)]);
    assert_eq!(t.columns["name"], vec![MetadataValue::String("unnamed".into()); 3]);
    // A table that claims more rows than its views hold is refused before allocating.
    let huge = json.replace(r#""count":3"#, r#""count":4000000000"#);
    let e = gltf::parse(huge.as_bytes(), "huge.gltf", &NoResources).expect_err("huge").to_string();
    assert!(e.contains("huge.gltf") && e.contains("propertyTables/0"), "{e}");
}
