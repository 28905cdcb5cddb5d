//! `layer.json`, the description of a quantized-mesh tileset (TileJSON 2.1
//! with Cesium's members: tile templates, projection, scheme, per-level
//! availability, extensions), and the geographic tiling scheme's tile math.
//!
//! ```text
//! layer.json ─serde_json─► Value ─member by member─► LayerJson ─tile_url / is_available─► requests
//!                                  (errors name the member: `available[3][0].endX`)
//! ```

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::FormatError;

/// The members [`LayerJson`] reads; the rest go to `other`.
const KNOWN: [&str; 13] = [
    "tilejson",
    "format",
    "version",
    "scheme",
    "tiles",
    "projection",
    "bounds",
    "minzoom",
    "maxzoom",
    "available",
    "extensions",
    "metadataAvailability",
    "attribution",
];

/// Deepest level assumed when neither `maxzoom` nor `available` says.
const DEFAULT_MAX_ZOOM: u32 = 30;

/// A rectangle of tiles at one level, inclusive at both ends (TMS rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TileRange {
    pub start_x: u32,
    pub start_y: u32,
    pub end_x: u32,
    pub end_y: u32,
}

impl TileRange {
    pub fn contains(&self, x: u32, y: u32) -> bool {
        (self.start_x..=self.end_x).contains(&x) && (self.start_y..=self.end_y).contains(&y)
    }
}

/// A quantized-mesh tileset description. Absent members take Cesium's
/// defaults (`tms`, `EPSG:4326`, whole-world bounds, minzoom 0).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerJson {
    pub tilejson: String,
    /// `quantized-mesh-1.0` (any `quantized-mesh-1.x` is accepted).
    pub format: String,
    /// Substituted for `{version}` in the templates.
    pub version: String,
    /// `tms` (rows from the south) or `slippyMap` (rows from the north).
    pub scheme: String,
    /// URL templates relative to the layer.json, with `{z}`, `{x}`, `{y}`, `{version}`.
    pub tiles: Vec<String>,
    /// `EPSG:4326` (2 × 1 root tiles) or `EPSG:3857` (1 × 1).
    pub projection: String,
    /// West, south, east, north in degrees.
    pub bounds: [f64; 4],
    pub minzoom: u32,
    /// Defaults to the last level of `available`, else 30.
    pub maxzoom: u32,
    /// Per level, the rectangles of tiles that exist.
    pub available: Vec<Vec<TileRange>>,
    /// Extensions the server can add (`octvertexnormals`, `watermask`, `metadata`).
    pub extensions: Vec<String>,
    /// Every this many levels, tiles carry the availability of the levels
    /// below them in their metadata extension.
    pub metadata_availability: Option<u32>,
    pub attribution: Option<String>,
    /// Members this type does not model (`name`, `description`, `parentUrl`, …),
    /// kept for a round trip.
    pub other: Map<String, Value>,
}

impl LayerJson {
    /// Tiles across and down at level `z` in this layer's projection.
    pub fn tiles_at_level(&self, z: u32) -> (u32, u32) {
        let (cols, rows) = tiles_at_level(z);
        if self.projection == "EPSG:3857" { (rows, rows) } else { (cols, rows) }
    }

    /// The first template with `{z}`, `{x}`, `{y}` and `{version}` filled
    /// (still relative to the layer.json's URL); `None` without templates or
    /// for a tile outside the level's grid.
    pub fn tile_url(&self, z: u32, x: u32, y: u32) -> Option<String> {
        let (cols, rows) = self.tiles_at_level(z);
        if x >= cols || y >= rows {
            return None;
        }
        let t = self.tiles.first()?;
        Some(
            t.replace("{z}", &z.to_string())
                .replace("{x}", &x.to_string())
                .replace("{y}", &y.to_string())
                .replace("{version}", &self.version),
        )
    }

    /// Whether tile (z, x, y) exists according to `available`. Without
    /// `available`, every tile of the grid between minzoom and maxzoom does.
    /// Levels past the listed ones are unknown here (with
    /// `metadata_availability` the tiles' metadata tells, see
    /// [`super::QuantizedMesh::available`]) and read as unavailable.
    pub fn is_available(&self, z: u32, x: u32, y: u32) -> bool {
        if self.available.is_empty() {
            let (cols, rows) = self.tiles_at_level(z);
            return (self.minzoom..=self.maxzoom).contains(&z) && x < cols && y < rows;
        }
        self.available.get(z as usize).is_some_and(|level| level.iter().any(|r| r.contains(x, y)))
    }
}

/// Tiles across and down at level `z` of Cesium's GeographicTilingScheme
/// (2 × 1 at level 0); saturates at `u32::MAX` past level 31.
pub fn tiles_at_level(z: u32) -> (u32, u32) {
    let rows = 1u64 << z.min(40);
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    (clamp(2 * rows), clamp(rows))
}

/// West, south, east, north (degrees) of geographic TMS tile (z, x, y):
/// level `z` splits the world into 2·2^z × 2^z square tiles, rows counted
/// from the south.
pub fn geographic_tile_rect(z: u32, x: u32, y: u32) -> [f64; 4] {
    let size = 180.0 / 2f64.powi(z.min(1100) as i32);
    let (x, y) = (f64::from(x), f64::from(y));
    [-180.0 + x * size, -90.0 + y * size, -180.0 + (x + 1.0) * size, -90.0 + (y + 1.0) * size]
}

/// Reads a layer.json file.
pub fn read_layer(path: &Path) -> Result<LayerJson, FormatError> {
    let bytes = crate::read_file(path)?;
    parse_layer(&bytes, &path.display().to_string())
}

fn field_err(name: &str, field: &str, msg: impl Into<String>) -> FormatError {
    FormatError::Field { path: name.into(), field: field.into(), msg: msg.into() }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A member read with its path for errors.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    name: &'a str,
}

impl Obj<'_> {
    fn wrong(&self, key: &str, want: &str, got: &Value) -> FormatError {
        field_err(self.name, key, format!("expected {want}, found {}", type_name(got)))
    }

    fn string(&self, key: &str, default: Option<&str>) -> Result<String, FormatError> {
        match (self.map.get(key), default) {
            (Some(Value::String(s)), _) => Ok(s.clone()),
            (Some(v), _) => Err(self.wrong(key, "a string", v)),
            (None, Some(d)) => Ok(d.into()),
            (None, None) => Err(field_err(self.name, key, "missing")),
        }
    }

    fn opt_u32(&self, key: &str) -> Result<Option<u32>, FormatError> {
        self.map.get(key).map(|v| as_u32(v, self.name, key)).transpose()
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, FormatError> {
        let Some(v) = self.map.get(key) else { return Ok(Vec::new()) };
        let Value::Array(a) = v else { return Err(self.wrong(key, "an array of strings", v)) };
        a.iter()
            .enumerate()
            .map(|(i, s)| s.as_str().map(String::from).ok_or_else(|| self.wrong(&format!("{key}[{i}]"), "a string", s)))
            .collect()
    }
}

fn as_u32(v: &Value, name: &str, field: &str) -> Result<u32, FormatError> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| field_err(name, field, format!("expected an integer in 0..=4294967295, found {v}")))
}

/// Per-level availability: `[[{"startX":..,"startY":..,"endX":..,"endY":..}, …], …]`.
pub(super) fn parse_available(v: &Value, name: &str, field: &str) -> Result<Vec<Vec<TileRange>>, FormatError> {
    let Value::Array(levels) = v else {
        return Err(field_err(name, field, format!("expected an array of levels, found {}", type_name(v))));
    };
    let mut out = Vec::with_capacity(levels.len());
    for (z, level) in levels.iter().enumerate() {
        let Value::Array(ranges) = level else {
            return Err(field_err(name, &format!("{field}[{z}]"), "expected an array of tile ranges"));
        };
        let mut rs = Vec::with_capacity(ranges.len());
        for (k, r) in ranges.iter().enumerate() {
            let at = format!("{field}[{z}][{k}]");
            let Value::Object(m) = r else {
                return Err(field_err(name, &at, format!("expected a tile range object, found {}", type_name(r))));
            };
            let get = |key: &str| {
                let f = format!("{at}.{key}");
                m.get(key).ok_or_else(|| field_err(name, &f, "missing")).and_then(|v| as_u32(v, name, &f))
            };
            let range = TileRange {
                start_x: get("startX")?,
                start_y: get("startY")?,
                end_x: get("endX")?,
                end_y: get("endY")?,
            };
            if range.start_x > range.end_x || range.start_y > range.end_y {
                return Err(field_err(name, &at, "start is past end"));
            }
            rs.push(range);
        }
        out.push(rs);
    }
    Ok(out)
}

/// Parses layer.json; errors name the file and the member.
pub fn parse_layer(bytes: &[u8], name: &str) -> Result<LayerJson, FormatError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| FormatError::Json {
        path: name.into(),
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    })?;
    let Value::Object(map) = &root else {
        return Err(field_err(name, "(root)", format!("expected an object, found {}", type_name(&root))));
    };
    let o = Obj { map, name };
    let format = o.string("format", None)?;
    if !format.starts_with("quantized-mesh-1.") {
        return Err(field_err(name, "format", format!("`{format}` is not quantized-mesh-1.x")));
    }
    let scheme = o.string("scheme", Some("tms"))?;
    if scheme != "tms" && scheme != "slippyMap" {
        return Err(field_err(name, "scheme", format!("`{scheme}` is neither `tms` nor `slippyMap`")));
    }
    let projection = o.string("projection", Some("EPSG:4326"))?;
    if projection != "EPSG:4326" && projection != "EPSG:3857" {
        return Err(field_err(name, "projection", format!("`{projection}` is neither EPSG:4326 nor EPSG:3857")));
    }
    let tiles = o.strings("tiles")?;
    if tiles.is_empty() {
        return Err(field_err(name, "tiles", "no tile URL templates"));
    }
    let bounds = match map.get("bounds") {
        None => [-180.0, -90.0, 180.0, 90.0],
        Some(v) => {
            let b: Option<Vec<f64>> = v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect());
            match b.as_deref() {
                Some(&[w, s, e, n]) if v.as_array().is_some_and(|a| a.len() == 4) => [w, s, e, n],
                _ => return Err(field_err(name, "bounds", format!("expected [west, south, east, north], found {v}"))),
            }
        }
    };
    let available =
        map.get("available").map(|v| parse_available(v, name, "available")).transpose()?.unwrap_or_default();
    let minzoom = o.opt_u32("minzoom")?.unwrap_or(0);
    let maxzoom = o.opt_u32("maxzoom")?.unwrap_or(match available.len() {
        0 => DEFAULT_MAX_ZOOM,
        n => u32::try_from(n - 1).unwrap_or(u32::MAX),
    });
    if minzoom > maxzoom {
        return Err(field_err(name, "maxzoom", format!("{maxzoom} is below minzoom {minzoom}")));
    }
    let attribution = match map.get("attribution") {
        None | Some(Value::Null) => None,
        Some(_) => Some(o.string("attribution", None)?),
    };
    Ok(LayerJson {
        tilejson: o.string("tilejson", Some("2.1.0"))?,
        format,
        version: o.string("version", Some("1.0.0"))?,
        scheme,
        tiles,
        projection,
        bounds,
        minzoom,
        maxzoom,
        available,
        extensions: o.strings("extensions")?,
        metadata_availability: o.opt_u32("metadataAvailability")?,
        attribution,
        other: map.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

/// The members in Cesium's order, then the others.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Out<'a> {
    tilejson: &'a str,
    format: &'a str,
    version: &'a str,
    scheme: &'a str,
    tiles: &'a [String],
    projection: &'a str,
    bounds: [f64; 4],
    minzoom: u32,
    maxzoom: u32,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    available: &'a [Vec<TileRange>],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    extensions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata_availability: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'a str>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// Writes layer.json (pretty-printed); [`parse_layer`] reads it back equal.
/// Members of `other` that shadow a modelled member are left out.
pub fn write_layer(l: &LayerJson) -> String {
    let out = Out {
        tilejson: &l.tilejson,
        format: &l.format,
        version: &l.version,
        scheme: &l.scheme,
        tiles: &l.tiles,
        projection: &l.projection,
        bounds: l.bounds,
        minzoom: l.minzoom,
        maxzoom: l.maxzoom,
        available: &l.available,
        extensions: &l.extensions,
        metadata_availability: l.metadata_availability,
        attribution: l.attribution.as_deref(),
        other: l
            .other
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    // Serialising plain strings, numbers and JSON values cannot fail.
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_layer_defaults_and_grid() {
        let l = parse_layer(br#"{"format":"quantized-mesh-1.0","tiles":["{z}/{x}/{y}.terrain"]}"#, "l").expect("parse");
        assert_eq!((l.scheme.as_str(), l.projection.as_str(), l.maxzoom), ("tms", "EPSG:4326", DEFAULT_MAX_ZOOM));
        assert!(l.is_available(3, 15, 7) && !l.is_available(3, 16, 0) && !l.is_available(31, 0, 0));
        assert_eq!(l.tile_url(0, 2, 0), None);
        assert_eq!(tiles_at_level(40), (u32::MAX, u32::MAX));
        assert_eq!(geographic_tile_rect(0, 1, 0), [0.0, -90.0, 180.0, 90.0]);
    }
}
