//! Fuzz target: osgb bytes (and the same bytes as a `metadata.xml`) must
//! give a value or an error, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(mut file) = urbis_formats::osgb::read_osgb(data, "fuzz.osgb") {
        for (_, geometry) in file.root.geometries() {
            let _ = geometry.triangles();
        }
        let _ = file.root.child_paths(std::path::Path::new("/fuzz"));
        // External images: every name is refused by a resolver that loads nothing.
        let _ = file.embed_external_images(&urbis_formats::gltf::NoResources);
    }
    let text = String::from_utf8_lossy(data);
    let _ = urbis_formats::osgb::read_metadata_xml(&text, "fuzz/metadata.xml");
    let _ = urbis_formats::osgb::wkt_epsg(&text);
});
