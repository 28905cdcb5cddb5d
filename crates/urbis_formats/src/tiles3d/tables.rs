//! Feature tables and batch tables of the 3D Tiles 1.0 binary formats: a
//! JSON header whose values are either inline or references into a binary
//! body (`{"byteOffset": …, "componentType": …, "type": …}`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::TileError;

/// A parsed feature or batch table: its JSON and its binary body.
#[derive(Debug, Clone, Default)]
pub struct Table<'a> {
    pub json: Map<String, Value>,
    pub binary: &'a [u8],
    /// Byte offset of the binary body in the file (for errors).
    pub binary_offset: usize,
    pub name: &'static str,
}

fn component_bytes(t: &str) -> Option<usize> {
    Some(match t {
        "BYTE" | "UNSIGNED_BYTE" => 1,
        "SHORT" | "UNSIGNED_SHORT" => 2,
        "INT" | "UNSIGNED_INT" | "FLOAT" => 4,
        "DOUBLE" => 8,
        _ => return None,
    })
}

fn type_count(t: &str) -> Option<usize> {
    Some(match t {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" => 4,
        _ => return None,
    })
}

fn read(b: &[u8], t: &str) -> f64 {
    match t {
        "BYTE" => b[0] as i8 as f64,
        "UNSIGNED_BYTE" => b[0] as f64,
        "SHORT" => i16::from_le_bytes([b[0], b[1]]) as f64,
        "UNSIGNED_SHORT" => u16::from_le_bytes([b[0], b[1]]) as f64,
        "INT" => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
        "UNSIGNED_INT" => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
        "FLOAT" => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
        _ => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

impl<'a> Table<'a> {
    /// Parses the JSON header; empty JSON means an empty table.
    pub fn parse(
        json: &[u8],
        json_offset: usize,
        binary: &'a [u8],
        binary_offset: usize,
        name: &'static str,
    ) -> Result<Self, TileError> {
        // Trailing spaces pad the JSON to 8 bytes; a zero-length header is an empty table.
        let trimmed = json.iter().rposition(|&b| b != b' ' && b != 0).map_or(&json[..0], |e| &json[..=e]);
        let json = if trimmed.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(trimmed) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(TileError::at(json_offset, format!("{name} JSON is not an object"))),
                Err(e) => {
                    return Err(TileError::at(
                        json_offset,
                        format!("{name} JSON, line {} column {}: {e}", e.line(), e.column()),
                    ));
                }
            }
        };
        Ok(Self { json, binary, binary_offset, name })
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.json.get(key).and_then(Value::as_u64)
    }

    pub fn bool(&self, key: &str) -> bool {
        self.json.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// A global property with `n` numbers: inline array or a binary reference.
    pub fn global_numbers(&self, key: &str, n: usize, default_type: &str) -> Result<Option<Vec<f64>>, TileError> {
        match self.json.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() == n => {
                Ok(Some(a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()))
            }
            Some(Value::Number(x)) if n == 1 => Ok(Some(vec![x.as_f64().unwrap_or(f64::NAN)])),
            Some(v @ Value::Object(_)) => Ok(Some(self.binary_numbers(key, v, 1, n, default_type)?)),
            Some(_) => Err(TileError::field(format!("{}/{key}", self.name), format!("expected {n} numbers"))),
        }
    }

    /// A per-feature property of `n` components for `count` features, from
    /// the binary body (`byteOffset`; component type from the reference or
    /// `default_type`).
    pub fn per_feature(
        &self,
        key: &str,
        count: usize,
        n: usize,
        default_type: &str,
    ) -> Result<Option<Vec<f64>>, TileError> {
        match self.json.get(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(self.binary_numbers(key, v, count, n, default_type)?)),
            Some(Value::Array(a)) if a.len() == count * n => {
                Ok(Some(a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()))
            }
            Some(_) => Err(TileError::field(
                format!("{}/{key}", self.name),
                format!("expected {count}×{n} values or a binary reference"),
            )),
        }
    }

    fn binary_numbers(
        &self,
        key: &str,
        v: &Value,
        count: usize,
        n: usize,
        default_type: &str,
    ) -> Result<Vec<f64>, TileError> {
        let field = format!("{}/{key}", self.name);
        let offset =
            v.get("byteOffset").and_then(Value::as_u64).ok_or_else(|| TileError::field(&field, "byteOffset missing"))?
                as usize;
        let t = v.get("componentType").and_then(Value::as_str).unwrap_or(default_type);
        let size = component_bytes(t).ok_or_else(|| TileError::field(&field, format!("componentType `{t}`")))?;
        let total = count
            .checked_mul(n)
            .and_then(|x| x.checked_mul(size))
            .ok_or_else(|| TileError::field(&field, "size overflows"))?;
        let end = offset.checked_add(total).ok_or_else(|| TileError::field(&field, "size overflows"))?;
        let bytes = self.binary.get(offset..end).ok_or_else(|| {
            TileError::at(
                self.binary_offset + offset.min(self.binary.len()),
                format!("{field}: {total} bytes at offset {offset} overrun the {}-byte binary body", self.binary.len()),
            )
        })?;
        Ok(bytes.chunks_exact(size).map(|c| read(c, t)).collect())
    }

    /// Decodes a batch table for `length` features into per-feature JSON values.
    pub fn batch_properties(&self, length: usize) -> Result<BTreeMap<String, Vec<Value>>, TileError> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.json {
            if k == "extensions" || k == "extras" {
                continue;
            }
            let values = match v {
                Value::Array(a) => {
                    if a.len() != length {
                        return Err(TileError::field(
                            format!("{}/{k}", self.name),
                            format!("{} values for {length} features", a.len()),
                        ));
                    }
                    a.clone()
                }
                Value::Object(o) => {
                    let t = o.get("type").and_then(Value::as_str).unwrap_or("SCALAR");
                    let n = type_count(t)
                        .ok_or_else(|| TileError::field(format!("{}/{k}", self.name), format!("type `{t}`")))?;
                    let flat = self.binary_numbers(k, v, length, n, "FLOAT")?;
                    let num = |x: f64| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
                    if n == 1 {
                        flat.into_iter().map(num).collect()
                    } else {
                        flat.chunks_exact(n).map(|c| Value::Array(c.iter().copied().map(num).collect())).collect()
                    }
                }
                _ => {
                    return Err(TileError::field(
                        format!("{}/{k}", self.name),
                        "expected an array or a binary reference",
                    ));
                }
            };
            out.insert(k.clone(), values);
        }
        Ok(out)
    }
}
