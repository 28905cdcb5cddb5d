//! What a tile feature is: its attributes from batch tables, property
//! tables and metadata entities (`json_attr`, `metadata_attr`,
//! `entity_attributes`; `attribute_key` restores original keys that a
//! writer had to sanitize) and its semantic class (`class_of`: Urbis'
//! own `urbis_class`, the property table's class, CityJSON type names, or
//! words such as `house` and `street`).

use serde_json::Value;
use urbis_formats::gltf::MetadataValue;
use urbis_formats::tiles3d::tileset::MetadataEntity;

use crate::{AttributeValue, Attributes, Family, SemanticClass};

pub(super) fn json_attr(v: &Value) -> Option<AttributeValue> {
    AttributeValue::from_json(v)
}

pub(super) fn metadata_attr(v: &MetadataValue) -> Option<AttributeValue> {
    match v {
        MetadataValue::NoData => None,
        MetadataValue::Bool(b) => Some(AttributeValue::Bool(*b)),
        MetadataValue::Int(i) => Some(AttributeValue::Int(*i)),
        MetadataValue::UInt(u) => Some(i64::try_from(*u).map_or(AttributeValue::Float(*u as f64), AttributeValue::Int)),
        MetadataValue::Float(f) => Some(AttributeValue::Float(*f)),
        MetadataValue::String(s) | MetadataValue::Enum(s) => AttributeValue::from_json(&Value::String(s.clone())),
        MetadataValue::Array(_) => Some(AttributeValue::String(v.to_json().to_string())),
    }
}

/// The attribute key of property `id`: its display name when that name is
/// the original the id was sanitized from (as writers that must use
/// identifiers keep `address.PostalCode`), else the id.
pub(super) fn attribute_key(class: Option<&urbis_formats::gltf::metadata::Class>, id: &str) -> String {
    match class.and_then(|c| c.properties.get(id)).and_then(|p| p.name.as_deref()) {
        Some(name) if urbis_formats::tiles3d::write::sanitize_identifier(name) == id => name.to_string(),
        _ => id.to_string(),
    }
}

/// Attributes from a metadata entity (tileset, tile, content, group).
pub(crate) fn entity_attributes(e: &MetadataEntity, prefix: &str) -> Attributes {
    let mut a = Attributes::default();
    a.insert(format!("{prefix}class"), e.class.clone());
    for (k, v) in &e.properties {
        if let Some(v) = json_attr(v) {
            a.insert(format!("{prefix}{k}"), v);
        }
    }
    a
}

/// The semantic class of a tile feature. The source's own class is the
/// EXT_structural_metadata class of its property table (`metadata.class`),
/// else of its content (`content.class`); its family comes from a CityJSON
/// type or the words in those names. Without metadata, a CityJSON type named
/// by a `class`, `type` or `featureType` attribute is the class; else the
/// words in them pick Building or SolitaryVegetationObject; else
/// GenericCityObject.
pub(super) fn class_of(a: &Attributes) -> SemanticClass {
    const NAMING_KEYS: [&str; 5] = ["class", "type", "featureType", "feature_type", "cityjson_type"];
    let named = || NAMING_KEYS.iter().filter_map(|k| a.str(k));
    let known = named().find_map(SemanticClass::from_name);
    // Urbis' own export names each feature's class and family (`urbis convert`):
    // more specific than its property table's class.
    if let Some(c) = a.str("urbis_class") {
        let family = a.str("urbis_family").and_then(Family::from_name);
        return SemanticClass::new(
            c,
            family.or(SemanticClass::from_name(c).map(SemanticClass::family)).unwrap_or(Family::Generic),
        );
    }
    let metadata = ["metadata.class", "content.class"].iter().find_map(|k| a.str(k));
    if let Some(m) = metadata {
        let family = SemanticClass::from_name(m)
            .or(known)
            .map(SemanticClass::family)
            .or_else(|| std::iter::once(m).chain(named()).find_map(family_in_words))
            .unwrap_or(Family::Generic);
        return SemanticClass::new(m, family);
    }
    if let Some(c) = known {
        return c;
    }
    match named().find_map(family_in_words) {
        Some(Family::Building) => SemanticClass::BUILDING,
        Some(Family::Vegetation) => SemanticClass::SOLITARY_VEGETATION_OBJECT,
        _ => SemanticClass::GENERIC_CITY_OBJECT,
    }
}

/// The family a free-text class name suggests (`house`, `tree-beech`, `street`).
fn family_in_words(name: &str) -> Option<Family> {
    let lower = name.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["build", "house"]) {
        Some(Family::Building)
    } else if has(&["tree", "vegetation", "plant"]) {
        Some(Family::Vegetation)
    } else if has(&["road", "street", "rail", "bridge"]) {
        Some(Family::Transport)
    } else if has(&["water", "river", "lake"]) {
        Some(Family::Water)
    } else {
        None
    }
}
