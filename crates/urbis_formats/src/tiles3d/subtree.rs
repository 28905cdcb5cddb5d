//! Implicit-tiling subtrees (`.subtree` binary or JSON): tile, content and
//! child-subtree availability, as bitstreams or constants.

use serde_json::Value;

use super::TileError;
use crate::gltf::Resources;

/// Availability of a set of positions: constant, or one bit each.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    Constant(bool),
    Bits(Vec<u8>),
}

impl Availability {
    pub fn get(&self, i: usize) -> bool {
        match self {
            Availability::Constant(c) => *c,
            Availability::Bits(b) => b.get(i / 8).is_some_and(|byte| byte >> (i % 8) & 1 == 1),
        }
    }

    /// How many of the first `n` positions are available.
    pub fn count(&self, n: usize) -> usize {
        (0..n).filter(|&i| self.get(i)).count()
    }
}

/// A parsed subtree.
#[derive(Debug, Clone, PartialEq)]
pub struct Subtree {
    pub tile: Availability,
    pub content: Vec<Availability>,
    pub child_subtree: Availability,
}

/// Parses a subtree; `bits_needed` is the number of tiles in a subtree
/// (bitstreams must be at least that long) and `children_needed` the number
/// of child subtrees.
pub fn parse(
    bytes: &[u8],
    resources: &dyn Resources,
    bits_needed: usize,
    children_needed: usize,
) -> Result<Subtree, TileError> {
    let (json, binary, json_at) =
        if bytes.starts_with(b"subt") {
            if bytes.len() < 24 {
                return Err(TileError::at(0, "subtree header needs 24 bytes"));
            }
            let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            if version != 1 {
                return Err(TileError::at(4, format!("subtree version {version}")));
            }
            let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
            let (jl, bl) = (u64_at(8), u64_at(16));
            let je = 24u64.checked_add(jl).filter(|e| *e <= bytes.len() as u64).ok_or_else(|| {
                TileError::at(8, format!("JSON length {jl} overruns the {}-byte subtree", bytes.len()))
            })? as usize;
            let be = (je as u64).checked_add(bl).filter(|e| *e <= bytes.len() as u64).ok_or_else(|| {
                TileError::at(16, format!("binary length {bl} overruns the {}-byte subtree", bytes.len()))
            })? as usize;
            (&bytes[24..je], &bytes[je..be], 24)
        } else {
            (bytes, &bytes[..0], 0)
        };
    let trimmed = json.iter().rposition(|&b| b != b' ' && b != 0).map_or(&json[..0], |e| &json[..=e]);
    let root: Value = serde_json::from_slice(trimmed)
        .map_err(|e| TileError::at(json_at, format!("subtree JSON line {} column {}: {e}", e.line(), e.column())))?;
    // Buffers: the internal binary chunk, or external files.
    let mut buffers = Vec::new();
    for (i, b) in root.get("buffers").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let data = match b.get("uri").and_then(Value::as_str) {
            Some(uri) => resources.load(uri).map_err(TileError::Format)?,
            None => binary.to_vec(),
        };
        let len = b.get("byteLength").and_then(Value::as_u64).unwrap_or(0);
        if (data.len() as u64) < len {
            return Err(TileError::field(
                format!("/buffers/{i}"),
                format!("byteLength {len} but {} bytes", data.len()),
            ));
        }
        buffers.push(data);
    }
    let views: Vec<(usize, usize, usize)> = root
        .get("bufferViews")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            let g = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
            (g("buffer"), g("byteOffset"), g("byteLength"))
        })
        .collect();
    let availability = |v: Option<&Value>, field: &str, needed: usize| -> Result<Availability, TileError> {
        let v = v.ok_or_else(|| TileError::field(field, "missing"))?;
        if let Some(c) = v.get("constant").and_then(Value::as_u64) {
            return Ok(Availability::Constant(c == 1));
        }
        let idx = v
            .get("bitstream")
            .or_else(|| v.get("bufferView"))
            .and_then(Value::as_u64)
            .ok_or_else(|| TileError::field(field, "neither constant nor bitstream"))? as usize;
        let &(b, off, len) =
            views.get(idx).ok_or_else(|| TileError::field(field, format!("bufferView {idx} does not exist")))?;
        let data = buffers
            .get(b)
            .and_then(|d| d.get(off..off.checked_add(len)?))
            .ok_or_else(|| TileError::field(field, format!("bufferView {idx} outside its buffer")))?;
        if data.len() * 8 < needed {
            return Err(TileError::field(field, format!("bitstream of {} bits, {needed} needed", data.len() * 8)));
        }
        Ok(Availability::Bits(data.to_vec()))
    };
    let tile = availability(root.get("tileAvailability"), "/tileAvailability", bits_needed)?;
    let content = match root.get("contentAvailability") {
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| availability(Some(v), &format!("/contentAvailability/{i}"), bits_needed))
            .collect::<Result<_, _>>()?,
        Some(v @ Value::Object(_)) => vec![availability(Some(v), "/contentAvailability", bits_needed)?],
        _ => Vec::new(),
    };
    let child_subtree =
        availability(root.get("childSubtreeAvailability"), "/childSubtreeAvailability", children_needed)?;
    Ok(Subtree { tile, content, child_subtree })
}
