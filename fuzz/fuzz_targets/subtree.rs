//! Fuzz target: implicit-tiling subtrees (binary or JSON), quadtree with 3 levels.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::tiles3d::subtree::parse(data, &urbis_formats::gltf::NoResources, 21, 64);
});
