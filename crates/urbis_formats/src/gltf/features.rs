//! `EXT_mesh_features`: which feature each vertex (or texel) belongs to.

use serde_json::Value;

use super::accessor::{self, ViewBytes};
use super::{GltfError, TextureTransform, json};

/// Where a feature ID set takes its IDs from.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureIdSource {
    /// `_FEATURE_ID_n` vertex attribute, read.
    Attribute { set: u32, values: Vec<u32> },
    /// A texture whose channels hold the IDs.
    Texture { texture: usize, tex_coord: u32, channels: Vec<u32>, transform: Option<TextureTransform> },
    /// Neither attribute nor texture: the ID is the vertex index.
    Implicit,
}

/// One entry of a primitive's `featureIds`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureIdSet {
    pub feature_count: u32,
    pub null_feature_id: Option<u32>,
    pub label: Option<String>,
    pub property_table: Option<usize>,
    pub source: FeatureIdSource,
}

impl FeatureIdSet {
    /// Per-vertex IDs for attribute and implicit sets (`None` for textures).
    pub fn per_vertex(&self, vertex_count: usize) -> Option<Vec<u32>> {
        match &self.source {
            FeatureIdSource::Attribute { values, .. } => Some(values.clone()),
            FeatureIdSource::Implicit => Some((0..vertex_count as u32).collect()),
            FeatureIdSource::Texture { .. } => None,
        }
    }

    /// Whether `id` names a feature (not the null ID, below the count).
    pub fn is_feature(&self, id: u32) -> bool {
        Some(id) != self.null_feature_id && id < self.feature_count
    }
}

/// Reads the `EXT_mesh_features` of a primitive.
pub(super) fn read_primitive(
    p: &json::Primitive,
    field: &str,
    accessors: &[json::Accessor],
    views: &impl ViewBytes,
    vertex_count: usize,
) -> Result<Vec<FeatureIdSet>, GltfError> {
    let Some(ext) = p.extensions.get("EXT_mesh_features") else { return Ok(Vec::new()) };
    let field = format!("{field}/extensions/EXT_mesh_features/featureIds");
    let Some(list) = ext.get("featureIds").and_then(Value::as_array) else {
        return Err(GltfError::field(field, "missing or not an array"));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let ff = format!("{field}/{i}");
        let u = |k: &str| f.get(k).and_then(Value::as_u64);
        let feature_count = u("featureCount")
            .filter(|c| *c >= 1 && *c <= u32::MAX as u64)
            .ok_or_else(|| GltfError::field(&ff, "featureCount missing or not ≥ 1"))?
            as u32;
        let source = if let Some(set) = u("attribute") {
            let name = format!("_FEATURE_ID_{set}");
            let a = p
                .attributes
                .get(&name)
                .ok_or_else(|| GltfError::field(&ff, format!("attribute {name} not on the primitive")))?;
            let values = accessor::read_u32(accessors, a, views)?;
            if values.len() != vertex_count {
                return Err(GltfError::field(
                    &ff,
                    format!("{name} has {} values for {vertex_count} vertices", values.len()),
                ));
            }
            FeatureIdSource::Attribute { set: set as u32, values }
        } else if let Some(t) = f.get("texture") {
            let info: json::TextureInfo = serde_json::from_value(t.clone())
                .map_err(|e| GltfError::field(format!("{ff}/texture"), e.to_string()))?;
            let channels = t
                .get("channels")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).map(|c| c as u32).collect())
                .unwrap_or_else(|| vec![0]);
            if channels.is_empty() || channels.len() > 4 || channels.iter().any(|&c| c > 3) {
                return Err(GltfError::field(format!("{ff}/texture/channels"), "must list 1–4 channels in 0..3"));
            }
            let r = super::texture_ref(&info);
            FeatureIdSource::Texture { texture: r.texture, tex_coord: r.tex_coord, channels, transform: r.transform }
        } else {
            FeatureIdSource::Implicit
        };
        out.push(FeatureIdSet {
            feature_count,
            null_feature_id: u("nullFeatureId").map(|v| v as u32),
            label: f.get("label").and_then(Value::as_str).map(str::to_string),
            property_table: u("propertyTable").map(|v| v as usize),
            source,
        });
    }
    Ok(out)
}

/// The feature ID stored in a texel: channels read as little-endian bytes
/// (channel list order, first = least significant), as the spec defines.
pub fn texel_feature_id(rgba: [u8; 4], channels: &[u32]) -> u32 {
    channels.iter().enumerate().fold(0u32, |id, (i, &c)| id | ((rgba[c as usize & 3] as u32) << (8 * i)))
}
