//! Fuzz target: ESRI ASCII grid DEMs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::ascii_grid::parse(data, "fuzz/dem.asc");
});
