//! LISFLOOD-FP case files: the first byte picks the parser (.par, .bci,
//! .bdy, .stage or an ESRI ASCII grid), the rest is its text. Each must
//! return a value or an error, never panic or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use urbis_sim::lisflood::{inputs, par};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let p = Path::new("fuzz.in");
    let text = String::from_utf8_lossy(rest);
    let error = match which % 5 {
        0 => par::parse(&text, p, p).err(),
        1 => inputs::parse_bci(&text, p).err(),
        2 => inputs::parse_bdy(&text, p).err(),
        3 => inputs::parse_stage(&text, p).err(),
        _ => inputs::parse_grid(rest, p).err(),
    };
    if let Some(e) = error {
        assert!(e.to_string().contains("fuzz.in"), "errors name the file: {e}");
    }
});
