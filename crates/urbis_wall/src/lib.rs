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
//!
//! several processes (sync, issue 18), over TCP:
//!   sync::Leader ── Snapshot/Frame(seq, FrameState) ──► sync::Follower × N
//!        ▲  swap barrier: Ready(seq) from each, at most barrier_timeout;
//!        └─ late followers reported missing ── Swap(seq) ──► all present
//! ```
//!
//! Wall coordinates: metres on the wall plane, x to the right and y up from
//! the wall's lower-left corner, z towards the viewer (the eye has z > 0).
//! Not yet here: the windows, overlays and `urbis wall render` (issue 18).
//! The wire protocol is described in `docs/WALL-PROTOCOL.md`.

pub mod config;
pub mod frustum;
pub mod layout;
pub mod overlay;
pub mod sync;

pub use config::{SyncConfig, WallConfig, WallError};
pub use frustum::OffAxis;
pub use layout::{Display, WallLayout};
pub use sync::{
    BarrierReport, CameraState, Follower, FollowerEvent, FollowerOptions, FrameState, Leader, LeaderOptions, LiveDelta,
    PeerEvent, SyncError,
};
