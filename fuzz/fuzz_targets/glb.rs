//! Fuzz target: glb bytes must give a value or an error, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::gltf::parse(data, "fuzz.glb", &urbis_formats::gltf::NoResources);
});
