//! # urbis_tiles: which tiles, in what detail
//!
//! Turns a 3D Tiles tileset into a flat tree and decides which tiles a
//! camera needs; loads their content through `urbis_formats`. No ECS, no GPU.
//!
//! ```text
//! OSGB dataset ─► TileTree (osgb: PagedLOD pyramids as lazy tiles)
//! tileset.json ─► TileTree (world transforms composed, external tilesets grafted,
//!                          implicit quadtree/octree expanded from subtrees)
//! TileTree + View ─► select (screen-space error, Cesium semantics, SSE 16)
//!                 ─► load (rayon across tiles; a failed tile is reported and its
//!                          REPLACE parent stays selected)
//! ```
//!
//! Streaming ([`stream`]): the same selection every frame, tiles fetched
//! ([`fetch`]: files or HTTP with retries, a per-host limit and a disk
//! cache), parsed and prepared ([`loader`]: the caller's [`Prepare`] builds
//! its per-feature meshes there) on loader threads, kept under a hard
//! memory budget; the caller attaches prepared tiles within its own
//! per-frame budget.
//!
//! Terrain ([`terrain`]): DEMs and the bare ellipsoid as a generated
//! quadtree over the globe, each tile's mesh, skirts and draped imagery made
//! on the loader threads, streamed by the same [`TileStream`].
//!
//! Imagery ([`imagery_http`]): XYZ tiles of `urbis_formats::imagery` over
//! the same HTTP fetcher (404 → a hole, other failures → a reported tile).
//! WMTS layers open from their capabilities URL ([`open_wmts`]).
//! Cloud-Optimized GeoTIFFs ([`cog_http`]) read by HTTP range requests:
//! the header and IFDs, then only the tiles a window needs ([`open_cog`]).

pub mod cog_http;
pub mod fetch;
pub mod imagery_http;
pub mod implicit;
pub mod load;
pub mod loader;
pub mod osgb;
pub mod select;
pub mod stream;
pub mod terrain;
pub mod tree;
pub mod volume;

pub use cog_http::{HttpByteSource, open_cog};
pub use fetch::{DiskCache, Fetcher, HttpOptions, is_url};
pub use imagery_http::HttpTileFetcher;
pub use imagery_http::{open_wmts, open_wmts_with};
pub use load::{LoadedTile, TileFailure, load_selection};
pub use loader::{Prepare, Prepared};
pub use select::{Selection, View, select};
pub use stream::{Decoded, StreamCounts, StreamOptions, StreamStatus, TileStream};
pub use tree::{ContentRef, ImplicitCoord, Refine, TileId, TileNode, TileTree};
pub use volume::Volume;

/// Errors of the tiles crate; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TilesError {
    #[error(transparent)]
    Format(#[from] urbis_formats::FormatError),
    #[error("{path}: {msg}")]
    Invalid { path: String, msg: String },
    #[error("{path}: more than {limit} tiles")]
    TooManyTiles { path: String, limit: usize },
}
