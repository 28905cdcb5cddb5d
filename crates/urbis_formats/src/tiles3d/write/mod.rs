//! 3D Tiles 1.1 writer: plain data in, GLB bytes and tileset JSON out.
//!
//! ```text
//! GlbContent { primitives, images, property table } ─► write_glb ─► .glb bytes
//!   glb.rs:      gltf::json::Root (one buffer = the BIN chunk, one mesh, one
//!                node, one scene), materials, textures, EXT_mesh_features
//!   metadata.rs: EXT_structural_metadata: schema + one property table
//!                (STRING, FLOAT64, INT64, BOOLEAN columns, noData sentinels)
//! TilesetDoc { root: TileNode tree } ─► write_tileset ─► tileset.json (3D Tiles 1.1)
//!   tileset.rs:  boxes, geometric errors, refine, transforms, content URIs
//! ```
//!
//! Everything is checked before it is written: lengths of every per-vertex
//! array, index bounds, finite numbers, identifiers, property column lengths,
//! image and texture references, geometric errors down the tree and content
//! URIs. A bad input is a [`WriteError`] that names the field, never a panic
//! and never a file that the Khronos glTF-Validator or the 3D Tiles
//! validator would refuse.
//!
//! The glTF JSON is built with the `gltf` crate's `gltf::json` types; the
//! two extensions, which that crate does not model, are typed serde structs
//! placed in its `others` maps.

mod glb;
pub mod metadata;
pub mod tileset;

pub use glb::{GlbContent, GlbImage, GlbPrimitive, srgb_to_linear, write_glb};
pub use metadata::{PropertyColumn, PropertyTableData, TableProperty};
pub use tileset::{
    MetadataScalar, Refine, TileNode, TilesetDoc, TilesetMetadata, box_around, write_tileset, write_tileset_json,
};

/// Why a tile, tileset or glb could not be written. Each variant names the
/// field at fault (for example `primitive 3: feature_ids`).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A per-element array whose length does not match what it describes.
    #[error("{field} has {len} values for {expected} {unit}")]
    Length { field: String, len: usize, expected: usize, unit: &'static str },
    /// An index (vertex index, image index, feature ID) out of its range.
    #[error("{field}: {value} is out of range (must be below {bound})")]
    OutOfRange { field: String, value: u64, bound: u64 },
    /// A NaN or infinite number.
    #[error("{field}: element {index} is not finite")]
    NotFinite { field: String, index: usize },
    /// A name that the metadata spec's identifier pattern refuses.
    #[error("{what} `{name}` is not an identifier (^[a-zA-Z_][a-zA-Z0-9_]*$); use sanitize_identifier")]
    Identifier { what: &'static str, name: String },
    /// A name given twice where names must be unique.
    #[error("{what} `{name}` is given twice")]
    Duplicate { what: &'static str, name: String },
    /// A child tile whose geometric error exceeds its parent's.
    #[error("{tile}: geometricError {error} is larger than its parent's {parent}")]
    GeometricError { tile: String, error: f64, parent: f64 },
    /// A content URI that is absolute, has a scheme or leaves the tileset's directory.
    #[error("{tile}: content uri `{uri}`: {msg}")]
    Uri { tile: String, uri: String, msg: &'static str },
    /// Anything else wrong with a field.
    #[error("{field}: {msg}")]
    Invalid { field: String, msg: String },
    /// Output past what GLB (32-bit lengths) can hold.
    #[error("{what} is too large for a GLB (over 4 GiB)")]
    TooLarge { what: String },
    /// serde_json could not serialise the document.
    #[error("serialising JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl WriteError {
    pub(crate) fn invalid(field: impl Into<String>, msg: impl Into<String>) -> Self {
        WriteError::Invalid { field: field.into(), msg: msg.into() }
    }
}

/// Whether `s` matches the identifier pattern of the 3D Metadata spec,
/// `^[a-zA-Z_][a-zA-Z0-9_]*$` (schema IDs, class and property IDs).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Turns any name into an identifier the metadata spec accepts: ASCII
/// letters, digits and `_` are kept, other ASCII characters become `_`,
/// other characters become `u` and their hexadecimal code point (so `高度`
/// becomes `u9AD8u5EA6` rather than `__`), and a leading digit (or an empty
/// name) gets a `_` in front. Distinct names can still meet (`a b` and
/// `a-b`); [`sanitize_identifiers`] also makes a list unique.
pub fn sanitize_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if c.is_ascii() {
            out.push('_');
        } else {
            out.push_str(&format!("u{:X}", c as u32));
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// [`sanitize_identifier`] for each name, with `_2`, `_3`, ... appended to
/// names already taken, so the result is a list of distinct identifiers in
/// the input order.
pub fn sanitize_identifiers<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .iter()
        .map(|n| {
            let base = sanitize_identifier(n.as_ref());
            let mut id = base.clone();
            let mut k = 2;
            while !taken.insert(id.clone()) {
                id = format!("{base}_{k}");
                k += 1;
            }
            id
        })
        .collect()
}

/// Refuses a name that is not an identifier.
pub(crate) fn check_identifier(what: &'static str, name: &str) -> Result<(), WriteError> {
    if is_identifier(name) { Ok(()) } else { Err(WriteError::Identifier { what, name: name.into() }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("_a1") && is_identifier("Height") && !is_identifier("1a") && !is_identifier(""));
        assert!(!is_identifier("a-b") && !is_identifier("高度"));
        assert_eq!(sanitize_identifier("building height (m)"), "building_height__m_");
        assert_eq!(sanitize_identifier("3d"), "_3d");
        assert_eq!(sanitize_identifier(""), "_");
        assert_eq!(sanitize_identifier("高度"), "u9AD8u5EA6");
        assert_eq!(sanitize_identifiers(&["a b", "a-b", "a_b", "x"]), ["a_b", "a_b_2", "a_b_3", "x"]);
        for s in ["", "1", "é", "a b", "高度", "_"] {
            assert!(is_identifier(&sanitize_identifier(s)), "{s}");
        }
    }
}
