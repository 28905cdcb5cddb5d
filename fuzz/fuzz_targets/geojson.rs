//! Fuzz target: GeoJSON feature collections.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::geojson::parse(data, "fuzz/footprints.geojson");
});
