//! Fuzz target: WMTS 1.0.0 capabilities documents (XML): parsed into layers
//! and tile matrix sets, and, when they parse, a source built over them.
#![no_main]

use urbis_formats::imagery::wmts::WmtsCapabilities;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(caps) = WmtsCapabilities::parse(data, "fuzz/capabilities.xml") {
        for set in &caps.matrix_sets {
            for m in &set.matrices {
                let _ = m.extent();
            }
        }
    }
});
