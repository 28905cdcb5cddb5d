//! # urbis_ui: the planner's panels
//!
//! egui panels over the city, independent of the window they are shown in:
//!
//! ```text
//! egui::RawInput (window events, or none for a still image)
//!   + CityModel + FrameInfo (camera, fps, streaming)
//!   ──Panels::run──► egui output + UiActions (fly to, select)
//!                    + model edits (layer visibility through FeatureStyle)
//!   ──Panels::paint──► egui-wgpu over the frame already rendered in a texture view
//! ```
//!
//! Panels so far: the status line (camera position, fps, tiles loading),
//! layers (each semantic class with its count and visibility), the
//! inspector (the selected feature's class, id, attributes, parent and
//! parts), search (a query in Urbis' query language, the hits, and a
//! fly-to for each), bookmarks (named poses in a JSON file), the tools
//! (measurement, section), and the style editor (rules, ramps and
//! extrusion by attribute, saved as `--style` TOML).

mod bookmarks;
mod panels;
mod style_editor;
pub mod sun;
pub mod timeline;

pub use bookmarks::{Bookmark, BookmarkError, parse_bookmarks, read_bookmarks, write_bookmarks};
pub use panels::{
    CompareLayout, CompareSettings, FrameInfo, Panels, SectionMode, SectionSettings, Tool, UiAction, install_look,
    set_class_opacity, set_class_visible,
};
pub use style_editor::StyleEditor;
pub use timeline::Timeline;
