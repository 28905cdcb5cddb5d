//! `EXT_structural_metadata`: the schema, and property tables decoded into
//! typed values (every type of the spec: scalars, vectors, matrices,
//! strings, booleans, enums; fixed and variable-length arrays; normalized
//! values, offset/scale, noData and default).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::GltfError;
use super::accessor::ViewBytes;

/// A decoded metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// The value equals the property's noData and there is no default.
    NoData,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    /// An enum value by name.
    Enum(String),
    /// Arrays, and vector/matrix components.
    Array(Vec<MetadataValue>),
}

impl MetadataValue {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MetadataValue::Int(i) => Some(*i as f64),
            MetadataValue::UInt(u) => Some(*u as f64),
            MetadataValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Plain JSON (enums as names, noData as null).
    pub fn to_json(&self) -> Value {
        match self {
            MetadataValue::NoData => Value::Null,
            MetadataValue::Bool(b) => (*b).into(),
            MetadataValue::Int(i) => (*i).into(),
            MetadataValue::UInt(u) => (*u).into(),
            MetadataValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            MetadataValue::String(s) | MetadataValue::Enum(s) => s.clone().into(),
            MetadataValue::Array(a) => Value::Array(a.iter().map(MetadataValue::to_json).collect()),
        }
    }
}

/// A class property of the schema.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassProperty {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub component_type: Option<String>,
    pub enum_type: Option<String>,
    #[serde(default)]
    pub array: bool,
    pub count: Option<u64>,
    #[serde(default)]
    pub normalized: bool,
    pub offset: Option<Value>,
    pub scale: Option<Value>,
    pub no_data: Option<Value>,
    pub default: Option<Value>,
    pub semantic: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Class {
    pub name: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, ClassProperty>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnumDef {
    pub value_type: Option<String>,
    #[serde(default)]
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnumValue {
    pub name: String,
    pub value: i64,
}

/// The metadata schema (also the 3D Tiles 1.1 schema).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Schema {
    pub id: Option<String>,
    #[serde(default)]
    pub classes: BTreeMap<String, Class>,
    #[serde(default)]
    pub enums: BTreeMap<String, EnumDef>,
}

/// A decoded property table: one column of values per property.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyTable {
    pub name: Option<String>,
    pub class: String,
    pub count: usize,
    pub columns: BTreeMap<String, Vec<MetadataValue>>,
}

impl PropertyTable {
    /// The properties of one row (feature).
    pub fn row(&self, i: usize) -> Vec<(&str, &MetadataValue)> {
        self.columns.iter().filter_map(|(k, col)| col.get(i).map(|v| (k.as_str(), v))).collect()
    }
}

/// A property attribute: which vertex attribute holds each property.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyAttribute {
    pub class: String,
    /// property → (attribute name, offset, scale overrides)
    pub properties: BTreeMap<String, (String, Option<Value>, Option<Value>)>,
}

/// A property texture: which texture channels hold each property.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyTexture {
    pub class: String,
    /// property → (texture index, texCoord, channels)
    pub properties: BTreeMap<String, (usize, u32, Vec<u32>)>,
}

/// `EXT_structural_metadata` of an asset.
#[derive(Debug, Clone, Default)]
pub struct StructuralMetadata {
    pub schema: Schema,
    pub property_tables: Vec<PropertyTable>,
    pub property_textures: Vec<PropertyTexture>,
    pub property_attributes: Vec<PropertyAttribute>,
}

/// Reads the root extension, decoding every property table.
/// `external` is the schema loaded from `schemaUri`, when the extension uses one.
pub(super) fn read(
    ext: &Value,
    views: &impl ViewBytes,
    external: Option<Schema>,
) -> Result<StructuralMetadata, GltfError> {
    let base = "/extensions/EXT_structural_metadata";
    let schema: Schema = match (ext.get("schema"), external) {
        (Some(s), _) => {
            serde_json::from_value(s.clone()).map_err(|e| GltfError::field(format!("{base}/schema"), e.to_string()))?
        }
        (None, Some(s)) => s,
        (None, None) => Schema::default(),
    };
    let mut out = StructuralMetadata { schema, ..Default::default() };
    for (i, t) in ext.get("propertyTables").and_then(Value::as_array).into_iter().flatten().enumerate() {
        out.property_tables.push(read_table(t, &out.schema, views, &format!("{base}/propertyTables/{i}"))?);
    }
    for t in ext.get("propertyAttributes").and_then(Value::as_array).into_iter().flatten() {
        let mut pa = PropertyAttribute {
            class: t.get("class").and_then(Value::as_str).unwrap_or_default().into(),
            ..Default::default()
        };
        for (k, p) in t.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let attr = p.get("attribute").and_then(Value::as_str).unwrap_or_default().to_string();
            pa.properties.insert(k.clone(), (attr, p.get("offset").cloned(), p.get("scale").cloned()));
        }
        out.property_attributes.push(pa);
    }
    for t in ext.get("propertyTextures").and_then(Value::as_array).into_iter().flatten() {
        let mut pt = PropertyTexture {
            class: t.get("class").and_then(Value::as_str).unwrap_or_default().into(),
            ..Default::default()
        };
        for (k, p) in t.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let index = p.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
            let tex_coord = p.get("texCoord").and_then(Value::as_u64).unwrap_or(0) as u32;
            let channels = p
                .get("channels")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).map(|c| c as u32).collect())
                .unwrap_or_else(|| vec![0]);
            pt.properties.insert(k.clone(), (index, tex_coord, channels));
        }
        out.property_textures.push(pt);
    }
    Ok(out)
}

/// Bytes of a component type name.
pub fn component_bytes(t: &str) -> Option<usize> {
    Some(match t {
        "INT8" | "UINT8" => 1,
        "INT16" | "UINT16" => 2,
        "INT32" | "UINT32" | "FLOAT32" => 4,
        "INT64" | "UINT64" | "FLOAT64" => 8,
        _ => return None,
    })
}

/// Components of a property type.
pub fn type_components(t: &str) -> Option<usize> {
    Some(match t {
        "SCALAR" | "STRING" | "BOOLEAN" | "ENUM" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" | "MAT2" => 4,
        "MAT3" => 9,
        "MAT4" => 16,
        _ => return None,
    })
}

/// A raw component before normalization and transforms.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Raw {
    I(i64),
    U(u64),
    F(f64),
}

fn read_component(b: &[u8], t: &str) -> Raw {
    let arr = |n: usize| -> [u8; 8] {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(&b[..n]);
        a
    };
    match t {
        "INT8" => Raw::I(b[0] as i8 as i64),
        "UINT8" => Raw::U(b[0] as u64),
        "INT16" => Raw::I(i16::from_le_bytes([b[0], b[1]]) as i64),
        "UINT16" => Raw::U(u16::from_le_bytes([b[0], b[1]]) as u64),
        "INT32" => Raw::I(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64),
        "UINT32" => Raw::U(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64),
        "INT64" => Raw::I(i64::from_le_bytes(arr(8))),
        "UINT64" => Raw::U(u64::from_le_bytes(arr(8))),
        "FLOAT32" => Raw::F(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        _ => Raw::F(f64::from_le_bytes(arr(8))),
    }
}

fn normalize(raw: Raw, t: &str) -> f64 {
    match raw {
        Raw::U(u) => {
            let max = match t {
                "UINT8" => u8::MAX as f64,
                "UINT16" => u16::MAX as f64,
                "UINT32" => u32::MAX as f64,
                _ => u64::MAX as f64,
            };
            u as f64 / max
        }
        Raw::I(i) => {
            let max = match t {
                "INT8" => i8::MAX as f64,
                "INT16" => i16::MAX as f64,
                "INT32" => i32::MAX as f64,
                _ => i64::MAX as f64,
            };
            (i as f64 / max).max(-1.0)
        }
        Raw::F(f) => f,
    }
}

fn raw_eq_json(raw: &[Raw], v: &Value) -> bool {
    let one = |r: &Raw, v: &Value| match r {
        Raw::I(i) => v.as_i64() == Some(*i),
        Raw::U(u) => v.as_u64() == Some(*u),
        Raw::F(f) => v.as_f64() == Some(*f),
    };
    match v {
        Value::Array(a) if a.len() == raw.len() => raw.iter().zip(a).all(|(r, v)| one(r, v)),
        Value::Array(_) => false,
        v if raw.len() == 1 => one(&raw[0], v),
        _ => false,
    }
}

fn json_to_value(v: &Value) -> MetadataValue {
    match v {
        Value::Bool(b) => MetadataValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(MetadataValue::Int)
            .or_else(|| n.as_u64().map(MetadataValue::UInt))
            .unwrap_or(MetadataValue::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => MetadataValue::String(s.clone()),
        Value::Array(a) => MetadataValue::Array(a.iter().map(json_to_value).collect()),
        _ => MetadataValue::NoData,
    }
}

fn json_f64s(v: Option<&Value>, n: usize) -> Option<Vec<f64>> {
    match v? {
        Value::Array(a) => Some(a.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect()),
        x => x.as_f64().map(|f| vec![f; n]),
    }
}

struct Column<'a> {
    name: &'a str,
    prop: &'a ClassProperty,
    values: &'a [u8],
    array_offsets: Option<(&'a [u8], &'a str)>,
    string_offsets: Option<(&'a [u8], &'a str)>,
    offset: Option<Vec<f64>>,
    scale: Option<Vec<f64>>,
    field: String,
}

fn offset_at(bytes: &[u8], t: &str, i: usize, field: &str) -> Result<usize, GltfError> {
    let size = component_bytes(t)
        .filter(|s| *s <= 8 && !t.starts_with("INT") && !t.starts_with("FLOAT"))
        .ok_or_else(|| GltfError::field(field, format!("offset type {t}")))?;
    let b = bytes
        .get(i * size..(i + 1) * size)
        .ok_or_else(|| GltfError::field(field, format!("offset {i} outside its buffer view")))?;
    match read_component(b, t) {
        Raw::U(u) => usize::try_from(u).map_err(|_| GltfError::field(field, "offset overflows")),
        _ => Err(GltfError::field(field, "offsets must be unsigned")),
    }
}

fn read_table(t: &Value, schema: &Schema, views: &impl ViewBytes, base: &str) -> Result<PropertyTable, GltfError> {
    let class_name =
        t.get("class").and_then(Value::as_str).ok_or_else(|| GltfError::field(format!("{base}/class"), "missing"))?;
    let class = schema
        .classes
        .get(class_name)
        .ok_or_else(|| GltfError::field(format!("{base}/class"), format!("class `{class_name}` not in the schema")))?;
    let count =
        t.get("count").and_then(Value::as_u64).ok_or_else(|| GltfError::field(format!("{base}/count"), "missing"))?;
    let count = usize::try_from(count).map_err(|_| GltfError::field(format!("{base}/count"), "overflows"))?;
    let mut table = PropertyTable {
        name: t.get("name").and_then(Value::as_str).map(str::to_string),
        class: class_name.into(),
        count,
        columns: BTreeMap::new(),
    };
    for (name, p) in t.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let field = format!("{base}/properties/{name}");
        let prop = class
            .properties
            .get(name)
            .ok_or_else(|| GltfError::field(&field, format!("not a property of class `{class_name}`")))?;
        let view = |k: &str| -> Result<Option<&[u8]>, GltfError> {
            match p.get(k).and_then(Value::as_u64) {
                Some(v) => Ok(Some(views.view(v as usize)?.0)),
                None => Ok(None),
            }
        };
        let values = view("values")?.ok_or_else(|| GltfError::field(format!("{field}/values"), "missing"))?;
        let ot = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("UINT32");
        let col = Column {
            name,
            prop,
            values,
            array_offsets: view("arrayOffsets")?.map(|b| (b, ot("arrayOffsetType"))),
            string_offsets: view("stringOffsets")?.map(|b| (b, ot("stringOffsetType"))),
            offset: json_f64s(p.get("offset").or(prop.offset.as_ref()), type_components(&prop.kind).unwrap_or(1)),
            scale: json_f64s(p.get("scale").or(prop.scale.as_ref()), type_components(&prop.kind).unwrap_or(1)),
            field,
        };
        table.columns.insert(name.clone(), decode_column(&col, count, schema)?);
    }
    // Properties of the class absent from the table take their default.
    for (name, prop) in &class.properties {
        if !table.columns.contains_key(name)
            && let Some(d) = &prop.default
        {
            table.columns.insert(name.clone(), vec![json_to_value(d); count]);
        }
    }
    Ok(table)
}

fn decode_column(c: &Column, count: usize, schema: &Schema) -> Result<Vec<MetadataValue>, GltfError> {
    let p = c.prop;
    let field = &c.field;
    let comps = type_components(&p.kind).ok_or_else(|| GltfError::field(field, format!("type `{}`", p.kind)))?;
    let enum_def = match &p.enum_type {
        Some(e) if p.kind == "ENUM" => {
            Some(schema.enums.get(e).ok_or_else(|| GltfError::field(field, format!("enum `{e}` not in the schema")))?)
        }
        _ => None,
    };
    let ctype: String = match (p.kind.as_str(), &p.component_type, enum_def) {
        ("ENUM", _, Some(e)) => e.value_type.clone().unwrap_or_else(|| "UINT16".into()),
        ("STRING" | "BOOLEAN", _, _) => String::new(),
        (_, Some(t), _) => t.clone(),
        _ => return Err(GltfError::field(field, "componentType missing")),
    };
    let csize = if ctype.is_empty() {
        0
    } else {
        component_bytes(&ctype).ok_or_else(|| GltfError::field(field, format!("componentType `{ctype}`")))?
    };
    // Element range of row i: fixed arrays use count, variable arrays offsets.
    let fixed = if p.array { p.count.map(|n| n as usize) } else { Some(1) };
    let range = |i: usize| -> Result<(usize, usize), GltfError> {
        match (fixed, c.array_offsets) {
            (Some(n), _) => Ok((i * n, (i + 1) * n)),
            (None, Some((b, t))) => {
                let (a, z) = (offset_at(b, t, i, field)?, offset_at(b, t, i + 1, field)?);
                if z < a {
                    return Err(GltfError::field(field, format!("array offsets decrease at row {i}")));
                }
                Ok((a, z))
            }
            (None, None) => Err(GltfError::field(field, "variable-length array without arrayOffsets")),
        }
    };
    // Guard: the last row's end must lie inside the data before anything is allocated.
    if count > 0 {
        let (_, end) = range(count - 1)?;
        let need_bits = match p.kind.as_str() {
            "BOOLEAN" => end.div_ceil(8),
            "STRING" => 0,
            _ => end.saturating_mul(comps).saturating_mul(csize),
        };
        if need_bits > c.values.len() {
            return Err(GltfError::field(
                field,
                format!("{count} rows need {need_bits} bytes, the values view has {}", c.values.len()),
            ));
        }
        if p.kind == "STRING" && c.string_offsets.is_none() {
            return Err(GltfError::field(field, "STRING without stringOffsets"));
        }
    }
    let element = |e: usize| -> Result<MetadataValue, GltfError> {
        match p.kind.as_str() {
            "BOOLEAN" => Ok(MetadataValue::Bool(c.values[e / 8] >> (e % 8) & 1 == 1)),
            "STRING" => {
                let (b, t) = c.string_offsets.ok_or_else(|| GltfError::field(field, "stringOffsets missing"))?;
                let (a, z) = (offset_at(b, t, e, field)?, offset_at(b, t, e + 1, field)?);
                let s = c
                    .values
                    .get(a..z)
                    .ok_or_else(|| GltfError::field(field, format!("string bytes {a}..{z} outside the values view")))?;
                let s = String::from_utf8_lossy(s).into_owned();
                if !p.array && p.no_data.as_ref().and_then(Value::as_str) == Some(s.as_str()) {
                    return Ok(p.default.as_ref().map_or(MetadataValue::NoData, json_to_value));
                }
                Ok(MetadataValue::String(s))
            }
            _ => {
                let raws: Vec<Raw> =
                    (0..comps).map(|k| read_component(&c.values[(e * comps + k) * csize..], &ctype)).collect();
                if let Some(nd) = &p.no_data
                    && !p.array
                    && raw_eq_json(&raws, nd)
                {
                    return Ok(p.default.as_ref().map_or(MetadataValue::NoData, json_to_value));
                }
                if let Some(en) = enum_def {
                    let v = match raws[0] {
                        Raw::I(i) => i,
                        Raw::U(u) => u as i64,
                        Raw::F(f) => f as i64,
                    };
                    let name =
                        en.values.iter().find(|x| x.value == v).map_or_else(|| format!("{v}"), |x| x.name.clone());
                    return Ok(MetadataValue::Enum(name));
                }
                let transformed = p.normalized || c.offset.is_some() || c.scale.is_some();
                let vals: Vec<MetadataValue> = raws
                    .iter()
                    .enumerate()
                    .map(|(k, &r)| {
                        if transformed || matches!(r, Raw::F(_)) {
                            let mut f = if p.normalized {
                                normalize(r, &ctype)
                            } else {
                                match r {
                                    Raw::I(i) => i as f64,
                                    Raw::U(u) => u as f64,
                                    Raw::F(f) => f,
                                }
                            };
                            if let Some(s) = &c.scale {
                                f *= s.get(k).copied().unwrap_or(1.0);
                            }
                            if let Some(o) = &c.offset {
                                f += o.get(k).copied().unwrap_or(0.0);
                            }
                            MetadataValue::Float(f)
                        } else {
                            match r {
                                Raw::I(i) => MetadataValue::Int(i),
                                Raw::U(u) => MetadataValue::UInt(u),
                                Raw::F(f) => MetadataValue::Float(f),
                            }
                        }
                    })
                    .collect();
                Ok(if comps == 1 {
                    vals.into_iter().next().unwrap_or(MetadataValue::NoData)
                } else {
                    MetadataValue::Array(vals)
                })
            }
        }
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (a, z) = range(i)?;
        if p.array {
            out.push(MetadataValue::Array((a..z).map(element).collect::<Result<_, _>>()?));
        } else {
            out.push(element(a)?);
        }
    }
    let _ = c.name;
    Ok(out)
}
