//! # urbis_formats: files in, plain CPU data out
//!
//! Readers for the formats a city arrives in. Each reader takes bytes (or a
//! path) and returns plain Rust data in the source's own coordinate reference
//! system: f64 coordinates, semantic type names, attribute maps, polygons and
//! triangle meshes. Nothing here knows about the ECS or the GPU; the model
//! crate turns this data into entities, the engine into GPU buffers.
//!
//! ```text
//! bytes ──reader──► document (CRS-native f64 coords, semantics, attributes)
//!                     └─► triangulate::polygon_with_holes ─► triangles
//! ```
//!
//! Every reader is defensive: malformed input yields a [`FormatError`] that
//! names the file and the field, line or byte offset; never a panic, and no
//! allocation sized by an untrusted number before it is checked.
//!
//! - [`cityjson`]: CityJSON 1.1 / 2.0 objects, geometry, semantics, templates.
//! - [`ascii_grid`]: ESRI ASCII grid DEMs.
//! - [`triangulate`]: planar 3D polygons with holes → triangles (earcut).

pub mod ascii_grid;
pub mod cityjson;
pub mod triangulate;

use std::path::Path;

/// The largest file a reader will load into memory (4 GiB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Errors of every reader. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: invalid JSON at line {line}, column {column}: {msg}")]
    Json { path: String, line: usize, column: usize, msg: String },
    #[error("{path}: at `{field}`: {msg}")]
    Field { path: String, field: String, msg: String },
    #[error("{path}: line {line}: {msg}")]
    Line { path: String, line: usize, msg: String },
}

/// Reads a whole file, refusing files over [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| FormatError::Io { path: name.clone(), source })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(FormatError::TooLarge { path: name, size: meta.len(), limit: MAX_FILE_BYTES });
    }
    std::fs::read(path).map_err(|source| FormatError::Io { path: name, source })
}
