//! One tile's content: its features as a glb with feature IDs and a
//! property table. The property schema is the same in every tile: each
//! attribute key gets one type over the whole export (INT64, FLOAT64 when
//! integers and floats mix, BOOLEAN when every feature has it, else
//! STRING), and the reserved properties `urbis_guid` (semantic `ID`),
//! `urbis_class`, `urbis_family` and `urbis_parent` come first. Attribute keys that are not
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
const RESERVED: [&str; 4] = ["urbis_guid", "urbis_class", "urbis_family", "urbis_parent"];

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

/// Every texture the features use, as JPEG (PNG when it has transparency),
/// encoded once, halved `halvings` times (not below 16 px) for coarse levels.
pub(crate) fn encode_textures(
    model: &CityModel,
    features: &[Feature],
    quality: u8,
    halvings: u32,
) -> HashMap<TextureId, Arc<GlbImage>> {
    let mut used: Vec<TextureId> = features.iter().flat_map(|f| f.textures.iter().flatten().copied()).collect();
    used.sort_unstable();
    used.dedup();
    let store = model.world.resource::<TextureStore>();
    used.par_iter()
        .filter_map(|&t| {
            let full = store.get(t)?;
            let (w, h) = (full.width(), full.height());
            let scaled;
            let img = if halvings == 0 || w.min(h) <= 16 {
                full
            } else {
                let f = 1u32 << halvings.min(16);
                let (sw, sh) = ((w / f).max(16.min(w)), (h / f).max(16.min(h)));
                scaled = Arc::new(image::imageops::resize(&**full, sw, sh, image::imageops::FilterType::Triangle));
                &scaled
            };
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

/// A triangle corner as written.
#[derive(Debug, Clone, Copy)]
struct Corner {
    p: [f32; 3],
    n: [f32; 3],
    uv: [f32; 2],
    c: [u8; 4],
    row: u32,
}

/// Corners of one texture's triangles, then welded into an indexed primitive.
#[derive(Debug, Default)]
struct Soup {
    corners: Vec<Corner>,
}

impl Soup {
    /// An indexed primitive: normals only where they are not the faces' own
    /// (clients compute flat normals), colours only where not all white,
    /// equal corners shared.
    fn primitive(self, image: Option<usize>) -> GlbPrimitive {
        let flat = self.corners.chunks_exact(3).all(|t| {
            let v = |k: usize| glam::Vec3::from_array(t[k].p);
            let face = (v(1) - v(0)).cross(v(2) - v(0)).normalize_or_zero();
            face == glam::Vec3::ZERO || t.iter().all(|c| face.dot(glam::Vec3::from_array(c.n)).abs() > 0.999)
        });
        let white = self.corners.iter().all(|c| c.c == [255; 4]);
        let textured = image.is_some();
        let mut p = GlbPrimitive {
            normals: (!flat).then(Vec::new),
            uvs: textured.then(Vec::new),
            colors: (!white).then(Vec::new),
            feature_ids: Some(Vec::new()),
            image,
            double_sided: true,
            ..Default::default()
        };
        let mut seen: HashMap<[u32; 10], u32> = HashMap::with_capacity(self.corners.len() / 2);
        for c in &self.corners {
            let n = if flat { [0.0; 3] } else { c.n };
            let uv = if textured { c.uv } else { [0.0; 2] };
            let key = [
                c.p[0].to_bits(),
                c.p[1].to_bits(),
                c.p[2].to_bits(),
                n[0].to_bits(),
                n[1].to_bits(),
                n[2].to_bits(),
                uv[0].to_bits(),
                uv[1].to_bits(),
                if white { 0 } else { u32::from_le_bytes(c.c) },
                c.row,
            ];
            let index = *seen.entry(key).or_insert_with(|| {
                p.positions.push(c.p);
                if let Some(v) = p.normals.as_mut() {
                    v.push(c.n);
                }
                if let Some(v) = p.uvs.as_mut() {
                    v.push(c.uv);
                }
                if let Some(v) = p.colors.as_mut() {
                    v.push(c.c);
                }
                if let Some(v) = p.feature_ids.as_mut() {
                    v.push(c.row);
                }
                p.positions.len() as u32 - 1
            });
            p.indices.push(index);
        }
        p
    }
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
    let mut soups: BTreeMap<Option<TextureId>, Soup> = BTreeMap::new();
    for (row, &i) in members.iter().enumerate() {
        let f = &features[i];
        for (t, tex) in f.textures.iter().enumerate() {
            let tex = tex.filter(|t| textures.contains_key(t));
            let soup = soups.entry(tex).or_default();
            for c in t * 3..t * 3 + 3 {
                soup.corners.push(Corner {
                    p: y_up(f.positions[c] - centre),
                    n: y_up(f.normals[c].as_dvec3()),
                    uv: f.uvs[c].to_array(),
                    c: f.colors[c],
                    row: row as u32,
                });
            }
        }
    }
    let mut images: Vec<GlbImage> = Vec::new();
    let mut primitives = Vec::with_capacity(soups.len());
    for (tex, soup) in soups {
        let image = tex.map(|t| {
            images.push((*textures[&t]).clone());
            images.len() - 1
        });
        primitives.push(soup.primitive(image));
    }
    let content =
        GlbContent { primitives, images, table: Some(table(features, members, schema)), schema_id: SCHEMA_ID.into() };
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
        reserved(RESERVED[0], Some("ID"), PropertyColumn::String(rows.iter().map(|f| f.guid.clone()).collect())),
        reserved(RESERVED[1], None, PropertyColumn::String(rows.iter().map(|f| f.class.clone()).collect())),
        reserved(RESERVED[2], None, PropertyColumn::String(rows.iter().map(|f| f.family.clone()).collect())),
    ];
    if rows.iter().any(|f| f.parent.is_some()) {
        properties.push(reserved(
            RESERVED[3],
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
