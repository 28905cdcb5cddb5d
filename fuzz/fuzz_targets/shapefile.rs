//! Fuzz target: a shapefile's `.shp` and `.dbf` (the input is a u32 LE
//! length of the `.shp`, its bytes, then the `.dbf`) must give features
//! or an error, never a panic, a hang or a runaway allocation.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let n = (u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize).min(data.len() - 4);
    let (shp, dbf) = data[4..].split_at(n);
    let _ = urbis_formats::shapefile::parse(
        shp.to_vec(),
        dbf.to_vec(),
        urbis_geo::Epsg(4547),
        None,
        std::path::Path::new("fuzz.shp"),
    );
});
