//! # urbis_engine: from the city model to pixels
//!
//! The bridge between the ECS [`CityModel`](urbis_model::CityModel) and the
//! data-blind renderer, in three explicit phases per frame:
//!
//! ```text
//! extract  (Extractor)  ECS changes ─► chunk meshes (f64 → chunk-relative f32)
//!                                     + feature styles (colour, visibility, selection)
//! prepare  (Engine)     upload only what changed to the GpuScene
//! render   (Renderer)   camera-relative matrices in f64 ─► colour + feature-id targets
//!                       ─► a window surface (window) or a texture read back (headless)
//! ```
//!
//! Streamed tilesets ([`streaming`]) run before extract: each camera's
//! view selects tiles, loader threads fetch them, and the frame attaches
//! what arrived within its time budget.
//!
//! Picking reads the feature-id target and maps the index back to the
//! entity through the model's `FeatureTable`.

pub mod city_scale;
pub mod compare;
pub mod engine;
pub mod extract;
pub mod headless;
pub mod labels;
pub mod measure;
pub mod script;
pub mod streaming;
pub mod tour;
pub mod view;
pub mod viewer;
pub mod wall;
pub mod wall_window;
pub mod window;

pub use engine::{Engine, PrepareStats};
pub use extract::{Extracted, Extractor};
pub use headless::{MAX_TILE, RenderedImage, render_crop, render_image, render_image_tiled, shift_overlay};
pub use labels::label_panels;
pub use script::{Script, ScriptError, run_offscreen};
pub use streaming::{StreamSummary, Streams, progress_line, tile_view};
pub use view::{GeodeticPose, default_camera, default_lighting, sun_lighting};
pub use viewer::{Input, ViewerCore, ViewerEvent};
pub use wall::{WallView, ops_overlays, render_display, render_wall};
pub use wall_window::{WallFrame, WallHook, WallWindowInfo, WallWindowOptions, WallWindowSummary, run_wall_windows};
pub use window::{FrameHook, ViewOptions, ViewSummary, WindowError, run_viewer, run_viewer_with};

use bevy_ecs::prelude::Entity;
use urbis_model::CityModel;

/// A feature described as short text lines (class, id, attributes; the
/// parent's attributes for parts), for overlays and logs.
pub fn describe_lines(model: &CityModel, entity: Entity) -> Vec<String> {
    let Some(d) = model.describe(entity) else {
        return Vec::new();
    };
    let mut lines =
        vec![format!("{}  {}", d["class"].as_str().unwrap_or("?"), d["feature_id"].as_str().unwrap_or("?"))];
    fn push_attrs(lines: &mut Vec<String>, v: &serde_json::Value, prefix: &str) {
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                lines.push(format!("{prefix}{k}: {s}"));
            }
        }
    }
    push_attrs(&mut lines, &d["attributes"], "");
    if let Some(r) = d.get("reading") {
        let value = r["value"].as_f64().map_or("no data yet".to_string(), |v| format!("{v:.3}"));
        lines.push(format!(
            "reading: {} {} {}{}  ({} received, {} in history)",
            r["quantity"].as_str().unwrap_or("?"),
            value,
            r["unit"].as_str().unwrap_or(""),
            if r["stale"].as_bool() == Some(true) { "  STALE" } else { "" },
            r["readings"],
            r["history"]
        ));
    }
    if let Some(l) = d.get("live_label").and_then(|l| l.as_str()) {
        lines.push(format!("live: {l}"));
    }
    if let Some(p) = d.get("parent") {
        lines.push(format!("part of {}", p["feature_id"].as_str().unwrap_or("?")));
        push_attrs(&mut lines, &p["attributes"], "  ");
    }
    if let Some(pos) = d.get("position") {
        lines.push(format!(
            "at {:.6}, {:.6}, {:.1} m",
            pos["lon"].as_f64().unwrap_or(0.0),
            pos["lat"].as_f64().unwrap_or(0.0),
            pos["height"].as_f64().unwrap_or(0.0)
        ));
    }
    lines
}
