//! The `tileset.json` schema (3D Tiles 1.0 and 1.1, with metadata, multiple
//! contents and implicit tiling). Deserialisation errors name the JSON path.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::FormatError;
pub use crate::gltf::metadata::Schema;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tileset {
    pub asset: Asset,
    pub geometric_error: f64,
    pub root: Tile,
    pub schema: Option<Schema>,
    pub schema_uri: Option<String>,
    pub statistics: Option<Value>,
    #[serde(default)]
    pub groups: Vec<MetadataEntity>,
    pub metadata: Option<MetadataEntity>,
    pub properties: Option<Value>,
    #[serde(default)]
    pub extensions_used: Vec<String>,
    #[serde(default)]
    pub extensions_required: Vec<String>,
    #[serde(default)]
    pub extensions: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub version: String,
    pub tileset_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tile {
    pub bounding_volume: BoundingVolume,
    pub viewer_request_volume: Option<BoundingVolume>,
    pub geometric_error: f64,
    pub refine: Option<String>,
    pub transform: Option<[f64; 16]>,
    pub content: Option<Content>,
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default)]
    pub children: Vec<Tile>,
    pub implicit_tiling: Option<ImplicitTiling>,
    pub metadata: Option<MetadataEntity>,
    #[serde(default)]
    pub extensions: Map<String, Value>,
}

impl Tile {
    /// `content` and `contents` together.
    pub fn all_contents(&self) -> impl Iterator<Item = &Content> {
        self.content.iter().chain(self.contents.iter())
    }
}

/// A bounding volume: exactly one of box, region or sphere.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct BoundingVolume {
    #[serde(rename = "box")]
    pub oriented_box: Option<[f64; 12]>,
    pub region: Option<[f64; 6]>,
    pub sphere: Option<[f64; 4]>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(alias = "url")]
    pub uri: String,
    pub bounding_volume: Option<BoundingVolume>,
    pub group: Option<usize>,
    pub metadata: Option<MetadataEntity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImplicitTiling {
    pub subdivision_scheme: String,
    pub subtree_levels: u32,
    #[serde(alias = "maximumLevel")]
    pub available_levels: u32,
    pub subtrees: SubtreesUri,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubtreesUri {
    pub uri: String,
}

/// A metadata entity: an instance of a schema class.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct MetadataEntity {
    pub class: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// Parses tileset JSON; errors name the file and the JSON path.
pub fn parse(bytes: &[u8], name: &str) -> Result<Tileset, FormatError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, Tileset>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        FormatError::Json {
            path: format!("{name} (at `{path}`)"),
            line: inner.line(),
            column: inner.column(),
            msg: inner.to_string(),
        }
    })
}
