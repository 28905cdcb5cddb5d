//! Fuzz target: tileset.json documents.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::tiles3d::tileset::parse(data, "fuzz/tileset.json");
});
