//! Fuzz target: i3dm bytes must give a value or an error, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::tiles3d::binary::parse_i3dm(data, "fuzz.i3dm", &urbis_formats::gltf::NoResources);
});
