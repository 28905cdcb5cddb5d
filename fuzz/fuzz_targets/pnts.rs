//! Fuzz target: pnts bytes must give a value or an error, never a panic or a hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::tiles3d::binary::parse_pnts(data);
});
