//! `EXT_structural_metadata` for a glb: a schema with one class and one
//! property table whose columns live in the BIN chunk.
//!
//! ```text
//! PropertyTableData { class, count, properties: [TableProperty { id, name, semantic, values }] }
//!   STRING  ─► values (UTF-8 bytes) + stringOffsets (UINT32, count + 1)
//!   FLOAT64 ─► values (f64 LE), None ─► FLOAT64_NO_DATA, declared as noData
//!   INT64   ─► values (i64 LE), None ─► INT64_NO_DATA, declared as noData
//!   BOOLEAN ─► values (bitstream, least significant bit first)
//! ```
//!
//! Every property-table buffer view starts 8-byte aligned. `noData` is
//! declared only for columns that hold a `None`, and a real value equal to
//! the sentinel is then refused. The spec forbids `noData` on BOOLEAN
//! properties, so boolean columns have no missing values; STRING columns
//! have none either (an empty string is a value): use an INT64 or STRING
//! column where "unknown" matters.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::glb::Bin;
use super::{WriteError, check_identifier};

/// The `noData` sentinel of FLOAT64 columns with missing values.
pub const FLOAT64_NO_DATA: f64 = f64::MIN;
/// The `noData` sentinel of INT64 columns with missing values.
pub const INT64_NO_DATA: i64 = i64::MIN;

/// One property table (its class is declared from the columns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyTableData {
    /// The class ID (an identifier).
    pub class: String,
    /// Rows (features), at least one; every column has this many values.
    pub count: usize,
    /// At least one property; IDs unique.
    pub properties: Vec<TableProperty>,
}

/// A column of a property table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProperty {
    /// The property ID: an identifier (see [`super::sanitize_identifier`]).
    pub id: String,
    /// A display name (the original attribute name, say); any non-empty text.
    pub name: Option<String>,
    /// A semantic from the 3D Metadata Semantic Reference (`ID`, `NAME`, ...).
    pub semantic: Option<String>,
    pub values: PropertyColumn,
}

/// The values of one property, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyColumn {
    /// STRING; empty strings are values.
    String(Vec<String>),
    /// STRING with missing values: `None` is written as the empty string,
    /// declared as the property's `noData` (so a present value may not be empty).
    OptionalString(Vec<Option<String>>),
    /// SCALAR FLOAT64; `None` is missing (noData), other values finite.
    Float64(Vec<Option<f64>>),
    /// SCALAR INT64; `None` is missing (noData).
    Int64(Vec<Option<i64>>),
    /// BOOLEAN (the spec allows no noData for booleans).
    Boolean(Vec<bool>),
}

impl PropertyColumn {
    pub fn len(&self) -> usize {
        match self {
            PropertyColumn::String(v) => v.len(),
            PropertyColumn::OptionalString(v) => v.len(),
            PropertyColumn::Float64(v) => v.len(),
            PropertyColumn::Int64(v) => v.len(),
            PropertyColumn::Boolean(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn has_missing(&self) -> bool {
        match self {
            PropertyColumn::Float64(v) => v.iter().any(Option::is_none),
            PropertyColumn::Int64(v) => v.iter().any(Option::is_none),
            PropertyColumn::OptionalString(v) => v.iter().any(Option::is_none),
            PropertyColumn::String(_) | PropertyColumn::Boolean(_) => false,
        }
    }
}

/// Checks a table before anything is written.
pub(super) fn check(t: &PropertyTableData, schema_id: &str) -> Result<(), WriteError> {
    check_identifier("schema id", schema_id)?;
    check_identifier("class", &t.class)?;
    if t.count == 0 {
        return Err(WriteError::invalid("property table: count", "must be at least 1"));
    }
    if t.properties.is_empty() {
        return Err(WriteError::invalid("property table: properties", "none: a table needs at least one property"));
    }
    let mut seen = HashSet::new();
    for p in &t.properties {
        check_identifier("property", &p.id)?;
        if !seen.insert(p.id.as_str()) {
            return Err(WriteError::Duplicate { what: "property", name: p.id.clone() });
        }
        let field = || format!("property table: property `{}`", p.id);
        if p.name.as_deref() == Some("") {
            return Err(WriteError::invalid(field(), "an empty display name (use None)"));
        }
        if p.values.len() != t.count {
            return Err(WriteError::Length { field: field(), len: p.values.len(), expected: t.count, unit: "rows" });
        }
        let missing = p.values.has_missing();
        match &p.values {
            PropertyColumn::Float64(v) => {
                if let Some(index) = v.iter().position(|x| x.is_some_and(|x| !x.is_finite())) {
                    return Err(WriteError::NotFinite { field: field(), index });
                }
                if missing && let Some(row) = v.iter().position(|x| *x == Some(FLOAT64_NO_DATA)) {
                    return Err(WriteError::invalid(field(), format!("row {row} equals the noData value f64::MIN")));
                }
            }
            PropertyColumn::Int64(v) => {
                if missing && let Some(row) = v.iter().position(|x| *x == Some(INT64_NO_DATA)) {
                    return Err(WriteError::invalid(field(), format!("row {row} equals the noData value i64::MIN")));
                }
            }
            PropertyColumn::String(v) => {
                if v.iter()
                    .map(String::len)
                    .try_fold(0u64, |a, l| a.checked_add(l as u64))
                    .is_none_or(|s| s > u32::MAX as u64)
                {
                    return Err(WriteError::TooLarge { what: field() });
                }
            }
            PropertyColumn::OptionalString(v) => {
                if missing && let Some(row) = v.iter().position(|x| x.as_deref() == Some("")) {
                    return Err(WriteError::invalid(field(), format!("row {row} is empty, the noData value")));
                }
                if v.iter()
                    .map(|s| s.as_ref().map_or(0, String::len))
                    .try_fold(0u64, |a, l| a.checked_add(l as u64))
                    .is_none_or(|s| s > u32::MAX as u64)
                {
                    return Err(WriteError::TooLarge { what: field() });
                }
            }
            PropertyColumn::Boolean(_) => {}
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtensionJson<'a> {
    schema: SchemaJson<'a>,
    property_tables: Vec<TableJson<'a>>,
}

#[derive(Serialize)]
struct SchemaJson<'a> {
    id: &'a str,
    classes: BTreeMap<&'a str, ClassJson<'a>>,
}

#[derive(Serialize)]
struct ClassJson<'a> {
    properties: BTreeMap<&'a str, ClassPropertyJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClassPropertyJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    semantic: Option<&'a str>,
}

#[derive(Serialize)]
struct TableJson<'a> {
    class: &'a str,
    count: usize,
    properties: BTreeMap<&'a str, TablePropertyJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TablePropertyJson {
    values: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    string_offsets: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    string_offset_type: Option<&'static str>,
}

/// Writes the columns into `bin` and returns the root extension object.
/// The table must have passed [`check`].
pub(super) fn encode(t: &PropertyTableData, schema_id: &str, bin: &mut Bin) -> Result<Value, WriteError> {
    let mut class = BTreeMap::new();
    let mut table = BTreeMap::new();
    for p in &t.properties {
        let view = |bin: &mut Bin, bytes: &[u8]| -> Result<u32, WriteError> {
            // A buffer view has at least one byte (all-empty strings have none).
            let bytes = if bytes.is_empty() { &[0u8][..] } else { bytes };
            Ok(bin.push(bytes, 8, None, None)?.value() as u32)
        };
        let missing = p.values.has_missing();
        let (kind, component, no_data, values, offsets) = match &p.values {
            PropertyColumn::String(_) | PropertyColumn::OptionalString(_) => {
                let strings: Vec<&str> = match &p.values {
                    PropertyColumn::String(v) => v.iter().map(String::as_str).collect(),
                    PropertyColumn::OptionalString(v) => v.iter().map(|s| s.as_deref().unwrap_or("")).collect(),
                    _ => Vec::new(),
                };
                let mut bytes = Vec::new();
                let mut offsets = Vec::with_capacity((strings.len() + 1) * 4);
                offsets.extend_from_slice(&0u32.to_le_bytes());
                for s in strings {
                    bytes.extend_from_slice(s.as_bytes());
                    // Fits: check() bounded the total by u32::MAX.
                    offsets.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                }
                let nd = missing.then(|| Value::from(""));
                ("STRING", None, nd, view(bin, &bytes)?, Some(view(bin, &offsets)?))
            }
            PropertyColumn::Float64(v) => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.unwrap_or(FLOAT64_NO_DATA).to_le_bytes()).collect();
                let nd = missing.then(|| Value::from(FLOAT64_NO_DATA));
                ("SCALAR", Some("FLOAT64"), nd, view(bin, &bytes)?, None)
            }
            PropertyColumn::Int64(v) => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.unwrap_or(INT64_NO_DATA).to_le_bytes()).collect();
                let nd = missing.then(|| Value::from(INT64_NO_DATA));
                ("SCALAR", Some("INT64"), nd, view(bin, &bytes)?, None)
            }
            PropertyColumn::Boolean(v) => {
                let mut bytes = vec![0u8; v.len().div_ceil(8)];
                for (i, _) in v.iter().enumerate().filter(|(_, b)| **b) {
                    bytes[i / 8] |= 1 << (i % 8);
                }
                ("BOOLEAN", None, None, view(bin, &bytes)?, None)
            }
        };
        class.insert(
            p.id.as_str(),
            ClassPropertyJson {
                name: p.name.as_deref(),
                kind,
                component_type: component,
                no_data,
                semantic: p.semantic.as_deref(),
            },
        );
        table.insert(
            p.id.as_str(),
            TablePropertyJson { values, string_offsets: offsets, string_offset_type: offsets.map(|_| "UINT32") },
        );
    }
    let ext = ExtensionJson {
        schema: SchemaJson {
            id: schema_id,
            classes: BTreeMap::from([(t.class.as_str(), ClassJson { properties: class })]),
        },
        property_tables: vec![TableJson { class: &t.class, count: t.count, properties: table }],
    };
    Ok(serde_json::to_value(ext)?)
}
