//! Wall files (`wall.toml`): any text gives a wall or an error naming the
//! file, never a panic or a hang; a wall that parses gives its canvas,
//! frusta and overlay layout without a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use urbis_wall::overlay::{self, OpsData};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let cfg = match urbis_wall::config::parse(text, Path::new("fuzz.toml")) {
        Ok(cfg) => cfg,
        Err(e) => {
            assert!(e.to_string().contains("fuzz.toml"), "errors name the file: {e}");
            return;
        }
    };
    let layout = &cfg.layout;
    // Bound the work: the layout calls on small walls only.
    if layout.displays.len() > 64 {
        return;
    }
    let (w, h, rects) = layout.canvas();
    assert!(w <= 65536 && h <= 65536, "parse refuses a canvas over 65536 px a side: {w} × {h}");
    assert_eq!(rects.len(), layout.displays.len());
    let _ = layout.whole();
    for i in 0..layout.displays.len() {
        let _ = layout.frustum(i);
    }
    if w > 16384 || h > 16384 {
        return;
    }
    let items = overlay::layout(&cfg.overlays, layout, &OpsData::default());
    let _ = overlay::batches(&items);
    for r in &rects {
        let _ = overlay::for_display(&items, *r);
    }
});
