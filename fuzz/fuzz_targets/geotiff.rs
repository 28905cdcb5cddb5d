//! Fuzz target: GeoTIFF DEMs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::geotiff::parse(data, "fuzz/dem.tif");
});
