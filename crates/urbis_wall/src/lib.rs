//! # urbis_wall: one picture across many displays
//!
//! A video wall is a plane of displays in front of a viewer. This crate
//! turns its description into geometry; the engine renders from it.
//!
//! ```text
//! wall.toml ─► config::parse (line:column: field errors) ─► WallConfig
//!   └─► layout::WallLayout: every display's visible rectangle in wall metres
//!         (a grid with bezels, or rectangles), the eye, who renders what
//!         └─► frustum::OffAxis per display: the asymmetric frustum from the
//!             eye through the display's rectangle (Kooima's generalized
//!             perspective projection), so the displays show one continuous
//!             view across the bezels; WallLayout::whole: the frustum of the
//!             whole wall, for one tile selection shared by every display
//! ```
//!
//! Wall coordinates: metres on the wall plane, x to the right and y up from
//! the wall's lower-left corner, z towards the viewer (the eye has z > 0).
//! Not yet here: the windows, the leader/follower protocol, overlays and
//! `urbis wall render` (issue 18).

pub mod config;
pub mod frustum;
pub mod layout;
pub mod overlay;

pub use config::{SyncConfig, WallConfig, WallError};
pub use frustum::OffAxis;
pub use layout::{Display, WallLayout};
