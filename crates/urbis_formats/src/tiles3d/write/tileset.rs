//! `tileset.json` (3D Tiles 1.1) from an explicit tile tree.
//!
//! ```text
//! TilesetDoc { geometric_error, root: TileNode { box, geometricError, refine,
//!              content uri, transform, children: [TileNode ...] }, metadata }
//!   ─► check (the 3d-tiles-validator's rules) ─► serde_json::Value
//! ```
//!
//! Checked: every number finite; geometric errors ≥ 0 and never larger
//! than the parent's (the tileset's own error bounds the root's);
//! transforms affine (bottom row 0 0 0 1) and invertible; content URIs
//! relative, without scheme, backslash, whitespace or `..` segments (also
//! percent-encoded); tile depth at most [`MAX_TILE_DEPTH`], so the JSON
//! stays within serde_json's default nesting limit of 128 when read back.
//! `refine` is written on the root and wherever a tile differs from its
//! parent (children inherit it).

use serde_json::{Map, Value, json};

use super::{WriteError, check_identifier};

/// The deepest tile level written (the root is level 0).
pub const MAX_TILE_DEPTH: usize = 60;

/// How a tile's children refine it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refine {
    /// Children are drawn in addition to the tile.
    Add,
    /// Children replace the tile.
    #[default]
    Replace,
}

impl Refine {
    fn as_str(self) -> &'static str {
        match self {
            Refine::Add => "ADD",
            Refine::Replace => "REPLACE",
        }
    }
}

/// One tile of an explicit tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TileNode {
    /// A 3D Tiles box in the tile's frame: centre, then three half-axes.
    pub bounding_box: [f64; 12],
    pub geometric_error: f64,
    pub refine: Refine,
    /// Relative to the tileset file (`tiles/3/5/2.glb`), percent-encoded.
    pub content_uri: Option<String>,
    /// Column-major 4×4 affine transform to the parent's frame (for the
    /// root, to the tileset's frame, usually ECEF).
    pub transform: Option<[f64; 16]>,
    pub children: Vec<TileNode>,
}

/// A metadata value of the tileset's own metadata entity.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataScalar {
    String(String),
    Float64(f64),
    Int64(i64),
    Boolean(bool),
}

/// Metadata about the whole tileset (3D Tiles 1.1 `schema` + `metadata`):
/// one class declared from the values given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TilesetMetadata {
    pub schema_id: String,
    pub class: String,
    /// Identifiers (unique) and values.
    pub properties: Vec<(String, MetadataScalar)>,
}

/// A whole tileset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TilesetDoc {
    /// The error when the tileset is not drawn at all; at least the root's.
    pub geometric_error: f64,
    /// The root tile; its `transform` places the whole tileset.
    pub root: TileNode,
    /// `asset.tilesetVersion`.
    pub tileset_version: Option<String>,
    pub metadata: Option<TilesetMetadata>,
    /// `asset.extras` (generator, source, ...), omitted when empty.
    pub asset_extras: Map<String, Value>,
}

/// A box around an axis-aligned range: centre and half-extents on x, y, z.
pub fn box_around(min: [f64; 3], max: [f64; 3]) -> [f64; 12] {
    let c = |k: usize| (min[k] + max[k]) * 0.5;
    let h = |k: usize| ((max[k] - min[k]) * 0.5).abs();
    [c(0), c(1), c(2), h(0), 0.0, 0.0, 0.0, h(1), 0.0, 0.0, 0.0, h(2)]
}

/// Checks the tileset and builds its JSON.
pub fn write_tileset(doc: &TilesetDoc) -> Result<Value, WriteError> {
    let e = doc.geometric_error;
    if !e.is_finite() || e < 0.0 {
        return Err(WriteError::invalid("tileset: geometricError", format!("{e}: must be finite and ≥ 0")));
    }
    if doc.root.geometric_error > e {
        return Err(WriteError::GeometricError { tile: "root".into(), error: doc.root.geometric_error, parent: e });
    }
    let mut asset = Map::new();
    asset.insert("version".into(), "1.1".into());
    if let Some(v) = &doc.tileset_version {
        asset.insert("tilesetVersion".into(), v.clone().into());
    }
    if !doc.asset_extras.is_empty() {
        asset.insert("extras".into(), Value::Object(doc.asset_extras.clone()));
    }
    let mut out = Map::new();
    out.insert("asset".into(), Value::Object(asset));
    if let Some(m) = &doc.metadata {
        let (schema, entity) = metadata(m)?;
        out.insert("schema".into(), schema);
        out.insert("metadata".into(), entity);
    }
    out.insert("geometricError".into(), json!(e));
    out.insert("root".into(), tile(&doc.root, "root", None, 0)?);
    Ok(Value::Object(out))
}

/// [`write_tileset`] as pretty-printed bytes, ready for `tileset.json`.
pub fn write_tileset_json(doc: &TilesetDoc) -> Result<Vec<u8>, WriteError> {
    Ok(serde_json::to_vec_pretty(&write_tileset(doc)?)?)
}

fn finite(field: &str, values: &[f64]) -> Result<(), WriteError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(WriteError::NotFinite { field: field.into(), index }),
        None => Ok(()),
    }
}

fn tile(t: &TileNode, path: &str, parent: Option<(f64, Refine)>, depth: usize) -> Result<Value, WriteError> {
    if depth > MAX_TILE_DEPTH {
        return Err(WriteError::invalid(path, format!("deeper than {MAX_TILE_DEPTH} levels")));
    }
    let e = t.geometric_error;
    if !e.is_finite() || e < 0.0 {
        return Err(WriteError::invalid(format!("{path}: geometricError"), format!("{e}: must be finite and ≥ 0")));
    }
    if let Some((pe, _)) = parent
        && e > pe
    {
        return Err(WriteError::GeometricError { tile: path.into(), error: e, parent: pe });
    }
    finite(&format!("{path}: bounding_box"), &t.bounding_box)?;
    let mut o = Map::new();
    o.insert("boundingVolume".into(), json!({ "box": t.bounding_box }));
    o.insert("geometricError".into(), json!(e));
    if parent.is_none_or(|(_, r)| r != t.refine) {
        o.insert("refine".into(), t.refine.as_str().into());
    }
    if let Some(m) = &t.transform {
        check_transform(path, m)?;
        o.insert("transform".into(), json!(m));
    }
    if let Some(uri) = &t.content_uri {
        check_uri(uri).map_err(|msg| WriteError::Uri { tile: path.into(), uri: uri.clone(), msg })?;
        o.insert("content".into(), json!({ "uri": uri }));
    }
    if !t.children.is_empty() {
        let children = t
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| tile(c, &format!("{path}.children[{i}]"), Some((e, t.refine)), depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        o.insert("children".into(), Value::Array(children));
    }
    Ok(Value::Object(o))
}

fn check_transform(path: &str, m: &[f64; 16]) -> Result<(), WriteError> {
    let field = format!("{path}: transform");
    finite(&field, m)?;
    if m[3] != 0.0 || m[7] != 0.0 || m[11] != 0.0 || m[15] != 1.0 {
        return Err(WriteError::invalid(field, "not affine: the bottom row must be 0 0 0 1"));
    }
    let det = glam::DMat3::from_cols_array(&[m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]]).determinant();
    if !det.is_normal() {
        return Err(WriteError::invalid(field, "not invertible"));
    }
    Ok(())
}

/// Why a content URI may not be written, if it may not.
fn check_uri(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() {
        return Err("empty");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has whitespace or control characters (percent-encode them)");
    }
    if uri.contains('\\') {
        return Err("has a backslash (use /)");
    }
    let decoded = crate::percent_decode(uri).ok_or("bad percent-encoding")?;
    if decoded.starts_with('/') || decoded.starts_with('\\') {
        return Err("absolute");
    }
    let path = decoded.split(['?', '#']).next().unwrap_or_default();
    let first = path.split('/').next().unwrap_or_default();
    if first.contains(':') {
        return Err("has a scheme or drive: must be relative");
    }
    if path.split(['/', '\\']).any(|s| s == "..") {
        return Err("has a `..` segment: must stay in the tileset's directory");
    }
    if path.contains('\0') {
        return Err("has a NUL character");
    }
    Ok(())
}

fn metadata(m: &TilesetMetadata) -> Result<(Value, Value), WriteError> {
    check_identifier("schema id", &m.schema_id)?;
    check_identifier("class", &m.class)?;
    let mut class = Map::new();
    let mut values = Map::new();
    for (id, v) in &m.properties {
        check_identifier("property", id)?;
        if values.contains_key(id) {
            return Err(WriteError::Duplicate { what: "property", name: id.clone() });
        }
        let (decl, value) = match v {
            MetadataScalar::String(s) => (json!({ "type": "STRING" }), json!(s)),
            MetadataScalar::Float64(f) => {
                if !f.is_finite() {
                    return Err(WriteError::NotFinite {
                        field: format!("tileset metadata: property `{id}`"),
                        index: 0,
                    });
                }
                (json!({ "type": "SCALAR", "componentType": "FLOAT64" }), json!(f))
            }
            MetadataScalar::Int64(i) => (json!({ "type": "SCALAR", "componentType": "INT64" }), json!(i)),
            MetadataScalar::Boolean(b) => (json!({ "type": "BOOLEAN" }), json!(b)),
        };
        class.insert(id.clone(), decl);
        values.insert(id.clone(), value);
    }
    let schema = json!({ "id": m.schema_id, "classes": { m.class.as_str(): { "properties": class } } });
    Ok((schema, json!({ "class": m.class, "properties": values })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in ["a.glb", "tiles/3/5/2.glb", "./a.glb", "a%20b.glb", "a.glb?v=1", "x..y/z.glb"] {
            assert_eq!(check_uri(ok), Ok(()), "{ok}");
        }
        for bad in ["", "/a.glb", "../a.glb", "a/../../b.glb", "%2e%2e/a.glb", "http://x/a.glb", "C:/a.glb"] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
        for bad in ["a b.glb", "a\\b.glb", "%zz.glb", "%2Fetc/passwd", "a\u{0}.glb"] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_box_around_a_range() {
        assert_eq!(
            box_around([0.0, 2.0, -1.0], [4.0, 2.0, 1.0]),
            [2.0, 2.0, 0.0, 2.0, 0., 0., 0., 0.0, 0., 0., 0., 1.0]
        );
    }
}
