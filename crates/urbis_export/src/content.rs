//! One tile's content: its features as a glb with feature IDs and a
//! property table. The property schema is the same in every tile: each
//! attribute key gets one type over the whole export (INT64, FLOAT64 when
//! integers and floats mix, BOOLEAN when every feature has it, else
//! STRING), and the reserved properties `guid` (semantic `ID`), `class`,
//! `family` and `parent` come first. Attribute keys that are not
//! identifiers are sanitized, the original kept as the property's `name`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use glam::DVec3;
use rayon::prelude::*;
use urbis_formats::tiles3d::write::{
    GlbContent, GlbImage, GlbPrimitive, PropertyColumn, PropertyTableData, TableProperty, WriteError,
    sanitize_identifiers, write_glb,
};
use urbis_model::{AttributeValue, CityModel, TextureId, TextureStore};

use crate::Feature;

/// The class every tile's property table uses.
pub const CLASS: &str = "feature";
/// The schema's id.
pub const SCHEMA_ID: &str = "urbis";
const RESERVED: [&str; 4] = ["guid", "class", "family", "parent"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
}

fn kind_of(v: &AttributeValue) -> Kind {
    match v {
        AttributeValue::Int(_) => Kind::Int,
        AttributeValue::Float(_) => Kind::Float,
        AttributeValue::Bool(_) => Kind::Bool,
        AttributeValue::String(_) | AttributeValue::Date(_) => Kind::Str,
    }
}

/// Attribute keys, their property ids and types.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    keys: BTreeMap<String, (String, Kind)>,
}

impl Schema {
    pub fn of(features: &[Feature]) -> Self {
        let mut kinds: BTreeMap<&str, (Kind, usize)> = BTreeMap::new();
        for f in features {
            for (k, v) in &f.attributes {
                let kind = kind_of(v);
                let e = kinds.entry(k.as_str()).or_insert((kind, 0));
                e.0 = match (e.0, kind) {
                    (a, b) if a == b => a,
                    (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
                    _ => Kind::Str,
                };
                e.1 += 1;
            }
        }
        let names: Vec<&str> = RESERVED.iter().copied().chain(kinds.keys().copied()).collect();
        let ids = sanitize_identifiers(&names);
        let keys = kinds
            .iter()
            .zip(ids.into_iter().skip(RESERVED.len()))
            .map(|((k, (kind, n)), id)| {
                // A boolean some features lack has no noData in 3D Metadata: written as text.
                let kind = if *kind == Kind::Bool && *n < features.len() { Kind::Str } else { *kind };
                (k.to_string(), (id, kind))
            })
            .collect();
        Self { keys }
    }
}

/// Every texture the features use, as JPEG (PNG when it has transparency), encoded once.
pub(crate) fn encode_textures(
    model: &CityModel,
    features: &[Feature],
    quality: u8,
) -> HashMap<TextureId, Arc<GlbImage>> {
    let mut used: Vec<TextureId> = features.iter().flat_map(|f| f.textures.iter().flatten().copied()).collect();
    used.sort_unstable();
    used.dedup();
    let store = model.world.resource::<TextureStore>();
    used.par_iter()
        .filter_map(|&t| {
            let img = store.get(t)?;
            let opaque = img.pixels().all(|p| p[3] == 255);
            let mut bytes = Vec::new();
            let ok = if opaque {
                let rgb = image::DynamicImage::ImageRgba8((**img).clone()).to_rgb8();
                let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100));
                rgb.write_with_encoder(enc).is_ok()
            } else {
                img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut bytes)).is_ok()
            };
            if !ok {
                tracing::warn!("texture {t:?} could not be encoded; its surfaces are written untextured");
                return None;
            }
            let mime = if opaque { "image/jpeg" } else { "image/png" };
            Some((t, Arc::new(GlbImage { mime_type: mime.into(), bytes })))
        })
        .collect()
}

/// ENU (z up) → glTF (y up).
fn y_up(v: DVec3) -> [f32; 3] {
    [v.x as f32, v.z as f32, (-v.y) as f32]
}

/// The glb of the features `members`, vertices relative to `centre`.
pub(crate) fn glb(
    features: &[Feature],
    members: &[usize],
    centre: DVec3,
    schema: &Schema,
    textures: &HashMap<TextureId, Arc<GlbImage>>,
) -> Result<Vec<u8>, WriteError> {
    // One primitive per texture (None: untextured), rows in member order.
    let mut prims: BTreeMap<Option<TextureId>, GlbPrimitive> = BTreeMap::new();
    let mut images: Vec<GlbImage> = Vec::new();
    let mut image_of: HashMap<TextureId, usize> = HashMap::new();
    for (row, &i) in members.iter().enumerate() {
        let f = &features[i];
        for (t, tex) in f.textures.iter().enumerate() {
            let tex = tex.filter(|t| textures.contains_key(t));
            let p = prims.entry(tex).or_insert_with(|| GlbPrimitive {
                normals: Some(Vec::new()),
                uvs: tex.map(|_| Vec::new()),
                colors: Some(Vec::new()),
                feature_ids: Some(Vec::new()),
                double_sided: true,
                ..Default::default()
            });
            if let Some(t) = tex
                && p.image.is_none()
            {
                let k = *image_of.entry(t).or_insert_with(|| {
                    images.push((*textures[&t]).clone());
                    images.len() - 1
                });
                p.image = Some(k);
            }
            for c in t * 3..t * 3 + 3 {
                p.indices.push(p.positions.len() as u32);
                p.positions.push(y_up(f.positions[c] - centre));
                p.normals.get_or_insert_default().push(y_up(f.normals[c].as_dvec3()));
                if let Some(uvs) = p.uvs.as_mut() {
                    uvs.push(f.uvs[c].to_array());
                }
                p.colors.get_or_insert_default().push(f.colors[c]);
                p.feature_ids.get_or_insert_default().push(row as u32);
            }
        }
    }
    let content = GlbContent {
        primitives: prims.into_values().collect(),
        images,
        table: Some(table(features, members, schema)),
        schema_id: SCHEMA_ID.into(),
    };
    write_glb(&content)
}

fn text(v: &AttributeValue) -> Option<String> {
    let s = match v {
        AttributeValue::String(s) => s.clone(),
        other => other.to_string(),
    };
    (!s.is_empty()).then_some(s)
}

fn table(features: &[Feature], members: &[usize], schema: &Schema) -> PropertyTableData {
    let rows: Vec<&Feature> = members.iter().map(|&i| &features[i]).collect();
    let reserved = |id: &str, semantic: Option<&str>, values: PropertyColumn| TableProperty {
        id: id.into(),
        name: None,
        semantic: semantic.map(Into::into),
        values,
    };
    let mut properties = vec![
        reserved("guid", Some("ID"), PropertyColumn::String(rows.iter().map(|f| f.guid.clone()).collect())),
        reserved("class", None, PropertyColumn::String(rows.iter().map(|f| f.class.clone()).collect())),
        reserved("family", None, PropertyColumn::String(rows.iter().map(|f| f.family.clone()).collect())),
    ];
    if rows.iter().any(|f| f.parent.is_some()) {
        properties.push(reserved(
            "parent",
            None,
            PropertyColumn::OptionalString(rows.iter().map(|f| f.parent.clone()).collect()),
        ));
    }
    // Only the keys some feature of this tile has.
    let mut present: Vec<&str> = rows.iter().flat_map(|f| f.attributes.iter().map(|(k, _)| k.as_str())).collect();
    present.sort_unstable();
    present.dedup();
    for key in present {
        let Some((id, kind)) = schema.keys.get(key) else { continue };
        let value = |f: &Feature| f.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let values = match kind {
            Kind::Int => PropertyColumn::Int64(
                rows.iter()
                    .map(|f| value(f).and_then(|v| if let AttributeValue::Int(i) = v { Some(i) } else { None }))
                    .collect(),
            ),
            Kind::Float => PropertyColumn::Float64(
                rows.iter().map(|f| value(f).and_then(|v| v.as_f64()).filter(|x| x.is_finite())).collect(),
            ),
            Kind::Bool => PropertyColumn::Boolean(
                rows.iter().map(|f| matches!(value(f), Some(AttributeValue::Bool(true)))).collect(),
            ),
            Kind::Str => PropertyColumn::OptionalString(rows.iter().map(|f| value(f).and_then(|v| text(&v))).collect()),
        };
        let name = (id != key).then(|| key.to_string());
        properties.push(TableProperty { id: id.clone(), name, semantic: None, values });
    }
    PropertyTableData { class: CLASS.into(), count: rows.len(), properties }
}
