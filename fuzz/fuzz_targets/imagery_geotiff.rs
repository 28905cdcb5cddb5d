//! Fuzz target: GeoTIFF orthophotos (tiles or strips, overviews) and windows of them.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use urbis_formats::imagery::ImagerySource;
use urbis_formats::imagery::geotiff::GeoTiffImagery;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(src) = GeoTiffImagery::from_reader(Cursor::new(data.to_vec()), Path::new("fuzz/ortho.tif")) else {
        return;
    };
    let e = src.extent();
    let mut failures = Vec::new();
    let _ = src.window(e, 64, &mut failures);
    let (mx, my) = ((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0);
    let _ = src.window([e[0], e[1], mx, my], 300, &mut failures);
});
