//! Fuzz target: IFC STEP files, through the whole reader (STEP parse,
//! relations, placements and geometry).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = urbis_formats::ifc::parse(data, "fuzz/model.ifc");
});
