//! Fuzz target: osgb bytes must give a value or an error, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(file) = urbis_formats::osgb::read_osgb(data, "fuzz.osgb") {
        for (_, geometry) in file.root.geometries() {
            let _ = geometry.triangles();
        }
        let _ = file.root.child_paths(std::path::Path::new("/fuzz"));
    }
});
