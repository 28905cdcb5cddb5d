//! Fuzz target: quantized-mesh-1.0 terrain tiles (raw or gzip) and layer.json.
//! A tile that parses must write back into bytes that parse to the same mesh
//! (and write the same bytes again).
#![no_main]

use urbis_formats::quantized_mesh::{self, parse_layer, write};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut mesh) = quantized_mesh::parse(data, "fuzz/tile.terrain") {
        let _ = (mesh.normal(0), mesh.available());
        for i in 0..mesh.vertex_count().min(16) {
            let _ = mesh.height_m(i);
        }
        // JSON floats may move by an ulp through text, and a NaN header is
        // unequal to itself: compare the rest, as bytes.
        mesh.metadata = None;
        let bytes = write(&mesh);
        let again = quantized_mesh::parse(&bytes, "fuzz/again.terrain").expect("our own tile reads back");
        assert!(write(&again) == bytes, "write → parse → write changed the tile");
    }
    if let Ok(layer) = parse_layer(data, "fuzz/layer.json") {
        let _ = (layer.tile_url(3, 1, 2), layer.is_available(2, 1, 1), layer.is_available(u32::MAX, 0, 0));
        let again = parse_layer(quantized_mesh::write_layer(&layer).as_bytes(), "fuzz/again.json");
        assert!(again.is_ok(), "{again:?}");
    }
});
