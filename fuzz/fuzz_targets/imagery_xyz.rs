//! Fuzz target: XYZ tiles (PNG / JPEG bytes) decoded into a window; the input
//! is every tile of a zoom-1 pyramid. MBTiles is left out (SQLite is not
//! fuzzed here; its reads share this decoding).
#![no_main]

use std::sync::Arc;

use urbis_formats::imagery::ImagerySource;
use urbis_formats::imagery::xyz::{TileFetcher, WEB_MERCATOR_HALF, XyzOptions, XyzSource};

struct Same(Vec<u8>);

impl TileFetcher for Same {
    fn fetch(&self, _url: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(self.0.clone()))
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = XyzOptions { min_zoom: 1, max_zoom: 1, ..Default::default() };
    let Ok(src) = XyzSource::new("fuzz/{z}/{x}/{y}.png", Arc::new(Same(data.to_vec())), opts) else {
        return;
    };
    let h = WEB_MERCATOR_HALF;
    let mut failures = Vec::new();
    let _ = src.window([-h, -h, h, h], 300, &mut failures);
    let _ = src.window([-h / 3.0, -h / 5.0, h / 7.0, h / 2.0], 100, &mut failures);
});
