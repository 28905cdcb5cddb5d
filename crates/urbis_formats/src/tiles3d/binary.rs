//! The binary tile formats: b3dm (batched models), i3dm (instanced models),
//! pnts (point clouds) and cmpt (composites of those).

use std::collections::BTreeMap;

use glam::{DVec2, DVec3};
use serde_json::Value;

use super::tables::Table;
use super::{TileContent, TileError};
use crate::gltf::{self, GltfModel, Resources};

/// A batched model: a glTF with per-feature `_BATCHID`s and a batch table.
#[derive(Debug, Clone)]
pub struct B3dm {
    pub rtc_center: Option<DVec3>,
    pub batch_length: usize,
    /// Per-feature batch table properties (JSON values, binary ones decoded).
    pub batch_table: BTreeMap<String, Vec<Value>>,
    pub gltf: GltfModel,
}

/// One instance of an i3dm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instance {
    /// Position in the tile frame (RTC and quantization applied).
    pub position: DVec3,
    /// Orientation axes (unit), when the tile gives them; otherwise the
    /// consumer applies east-north-up (if `east_north_up`) or identity.
    pub up: Option<DVec3>,
    pub right: Option<DVec3>,
    pub scale: DVec3,
    pub batch_id: Option<u32>,
}

/// An instanced model.
#[derive(Debug, Clone)]
pub struct I3dm {
    pub rtc_center: Option<DVec3>,
    pub east_north_up: bool,
    pub instances: Vec<Instance>,
    pub batch_length: usize,
    pub batch_table: BTreeMap<String, Vec<Value>>,
    pub gltf: GltfModel,
}

/// A point cloud.
#[derive(Debug, Clone)]
pub struct Pnts {
    pub rtc_center: Option<DVec3>,
    /// Positions in the tile frame relative to `rtc_center` (quantization applied).
    pub positions: Vec<[f32; 3]>,
    /// sRGB RGBA per point (RGB565/RGB expanded), if any.
    pub colors: Option<Vec<[u8; 4]>>,
    pub constant_rgba: Option<[u8; 4]>,
    pub normals: Option<Vec<[f32; 3]>>,
    pub batch_ids: Option<Vec<u32>>,
    pub batch_length: usize,
    pub batch_table: BTreeMap<String, Vec<Value>>,
}

struct Parts<'a> {
    feature_table: Table<'a>,
    batch_table: Table<'a>,
    body: &'a [u8],
    body_offset: usize,
    /// b3dm legacy headers carry the batch length in the header.
    legacy_batch_length: Option<usize>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Splits a 1.0 tile into feature table, batch table and body, checking every length.
fn split<'a>(bytes: &'a [u8], magic: &[u8; 4], header_len: usize, legacy_b3dm: bool) -> Result<Parts<'a>, TileError> {
    if bytes.len() < header_len {
        return Err(TileError::at(0, format!("header needs {header_len} bytes, the data has {}", bytes.len())));
    }
    if &bytes[0..4] != magic {
        return Err(TileError::at(0, format!("magic is not `{}`", String::from_utf8_lossy(magic))));
    }
    let version = u32_at(bytes, 4);
    if version != 1 {
        return Err(TileError::at(4, format!("version {version}, expected 1")));
    }
    let byte_length = u32_at(bytes, 8) as usize;
    if byte_length > bytes.len() {
        return Err(TileError::at(8, format!("byteLength {byte_length} exceeds the {} bytes available", bytes.len())));
    }
    if byte_length < header_len {
        return Err(TileError::at(8, format!("byteLength {byte_length} is shorter than the {header_len}-byte header")));
    }
    let bytes = &bytes[..byte_length];
    let mut lens = [
        u32_at(bytes, 12) as usize,
        u32_at(bytes, 16) as usize,
        u32_at(bytes, 20) as usize,
        u32_at(bytes, 24) as usize,
    ];
    let mut start = header_len;
    let mut legacy_batch_length = None;
    if legacy_b3dm {
        // Cesium's two legacy b3dm layouts, recognised by a glTF magic read as a length.
        const GLTF_AS_LENGTH: usize = 570_425_344;
        if lens[2] >= GLTF_AS_LENGTH {
            start -= 8;
            legacy_batch_length = Some(lens[0]);
            lens = [0, 0, lens[1], 0];
        } else if lens[3] >= GLTF_AS_LENGTH {
            start -= 4;
            legacy_batch_length = Some(lens[2]);
            lens = [0, 0, lens[0], lens[1]];
        }
    }
    let mut at = start;
    let mut take = |len: usize, what: &str, field_at: usize| -> Result<(&'a [u8], usize), TileError> {
        let end = at.checked_add(len).filter(|e| *e <= bytes.len()).ok_or_else(|| {
            TileError::at(
                field_at,
                format!("{what} of {len} bytes at byte {at} overruns the {}-byte tile", bytes.len()),
            )
        })?;
        let s = (&bytes[at..end], at);
        at = end;
        Ok(s)
    };
    let (ftj, ftj_at) = take(lens[0], "feature table JSON", 12)?;
    let (ftb, ftb_at) = take(lens[1], "feature table binary", 16)?;
    let (btj, btj_at) = take(lens[2], "batch table JSON", 20)?;
    let (btb, btb_at) = take(lens[3], "batch table binary", 24)?;
    Ok(Parts {
        feature_table: Table::parse(ftj, ftj_at, ftb, ftb_at, "featureTable")?,
        batch_table: Table::parse(btj, btj_at, btb, btb_at, "batchTable")?,
        body: &bytes[at..],
        body_offset: at,
        legacy_batch_length,
    })
}

fn rtc(t: &Table) -> Result<Option<DVec3>, TileError> {
    Ok(t.global_numbers("RTC_CENTER", 3, "FLOAT")?.map(|v| DVec3::new(v[0], v[1], v[2])).filter(|v| v.is_finite()))
}

/// The declared count of a feature table, bounded by what the binary body can hold.
fn bounded_count(t: &Table, key: &str, min_bytes_each: usize) -> Result<usize, TileError> {
    let n = t.u64(key).ok_or_else(|| TileError::field(format!("featureTable/{key}"), "missing"))? as usize;
    if n.saturating_mul(min_bytes_each) > t.binary.len() + t.json.len() * 64 + 64 {
        return Err(TileError::field(
            format!("featureTable/{key}"),
            format!("{n} is more than the {}-byte tile can hold", t.binary.len()),
        ));
    }
    Ok(n)
}

fn batch_table(t: &Table, length: usize) -> Result<BTreeMap<String, Vec<Value>>, TileError> {
    if t.json.is_empty() || length == 0 {
        return Ok(BTreeMap::new());
    }
    t.batch_properties(length)
}

fn embedded_gltf(
    body: &[u8],
    body_offset: usize,
    name: &str,
    resources: &dyn Resources,
) -> Result<GltfModel, TileError> {
    gltf::parse_at(body, name, body_offset, resources).map_err(TileError::Format)
}

/// Parses a b3dm tile.
pub fn parse_b3dm(bytes: &[u8], name: &str, resources: &dyn Resources) -> Result<B3dm, TileError> {
    let p = split(bytes, b"b3dm", 28, true)?;
    let batch_length = match p.legacy_batch_length {
        Some(n) => n,
        None => p.feature_table.u64("BATCH_LENGTH").unwrap_or(0) as usize,
    };
    if batch_length > bytes.len() {
        return Err(TileError::field(
            "featureTable/BATCH_LENGTH",
            format!("{batch_length} features in a {}-byte tile", bytes.len()),
        ));
    }
    let rtc_center = rtc(&p.feature_table)?;
    let batch_table = batch_table(&p.batch_table, batch_length)?;
    let gltf = embedded_gltf(p.body, p.body_offset, name, resources)?;
    Ok(B3dm { rtc_center, batch_length, batch_table, gltf })
}

/// Octahedral decoding of a unit vector from two values in [0, range].
pub fn oct_decode(x: f64, y: f64, range: f64) -> DVec3 {
    let mut v = DVec2::new(x / range * 2.0 - 1.0, y / range * 2.0 - 1.0);
    let z = 1.0 - v.x.abs() - v.y.abs();
    if z < 0.0 {
        v = DVec2::new((1.0 - v.y.abs()) * v.x.signum(), (1.0 - v.x.abs()) * v.y.signum());
    }
    DVec3::new(v.x, v.y, z).normalize_or_zero()
}

fn vec3s(flat: Vec<f64>) -> Vec<DVec3> {
    flat.chunks_exact(3).map(|c| DVec3::new(c[0], c[1], c[2])).collect()
}

/// Parses an i3dm tile; a glTF given by URI is loaded through `resources`.
pub fn parse_i3dm(bytes: &[u8], name: &str, resources: &dyn Resources) -> Result<I3dm, TileError> {
    let p = split(bytes, b"i3dm", 32, false)?;
    let gltf_format = u32_at(bytes, 28);
    let ft = &p.feature_table;
    let n = bounded_count(ft, "INSTANCES_LENGTH", 6)?;
    let rtc_center = rtc(ft)?;
    let positions: Vec<DVec3> = match ft.per_feature("POSITION", n, 3, "FLOAT")? {
        Some(v) => vec3s(v),
        None => {
            let q = ft
                .per_feature("POSITION_QUANTIZED", n, 3, "UNSIGNED_SHORT")?
                .ok_or_else(|| TileError::field("featureTable", "neither POSITION nor POSITION_QUANTIZED"))?;
            let off = ft
                .global_numbers("QUANTIZED_VOLUME_OFFSET", 3, "FLOAT")?
                .ok_or_else(|| TileError::field("featureTable/QUANTIZED_VOLUME_OFFSET", "missing"))?;
            let sc = ft
                .global_numbers("QUANTIZED_VOLUME_SCALE", 3, "FLOAT")?
                .ok_or_else(|| TileError::field("featureTable/QUANTIZED_VOLUME_SCALE", "missing"))?;
            vec3s(q)
                .into_iter()
                .map(|v| DVec3::new(off[0], off[1], off[2]) + v / 65535.0 * DVec3::new(sc[0], sc[1], sc[2]))
                .collect()
        }
    };
    let axes = |float_key: &str, oct_key: &str| -> Result<Option<Vec<DVec3>>, TileError> {
        if let Some(v) = ft.per_feature(float_key, n, 3, "FLOAT")? {
            return Ok(Some(vec3s(v).into_iter().map(|a| a.normalize_or_zero()).collect()));
        }
        Ok(ft
            .per_feature(oct_key, n, 2, "UNSIGNED_SHORT")?
            .map(|v| v.chunks_exact(2).map(|c| oct_decode(c[0], c[1], 65535.0)).collect()))
    };
    let up = axes("NORMAL_UP", "NORMAL_UP_OCT32P")?;
    let right = axes("NORMAL_RIGHT", "NORMAL_RIGHT_OCT32P")?;
    let scale = ft.per_feature("SCALE", n, 1, "FLOAT")?;
    let scale3 = ft.per_feature("SCALE_NON_UNIFORM", n, 3, "FLOAT")?.map(vec3s);
    let batch_ids = ft.per_feature("BATCH_ID", n, 1, "UNSIGNED_SHORT")?;
    let instances = (0..n)
        .map(|i| Instance {
            position: positions[i],
            up: up.as_ref().map(|u| u[i]),
            right: right.as_ref().map(|r| r[i]),
            scale: scale3
                .as_ref()
                .map(|s| s[i])
                .or_else(|| scale.as_ref().map(|s| DVec3::splat(s[i])))
                .unwrap_or(DVec3::ONE),
            batch_id: batch_ids.as_ref().map(|b| b[i] as u32),
        })
        .collect();
    let batch_length = batch_ids.as_ref().map_or(n, |b| b.iter().fold(0.0f64, |m, &x| m.max(x + 1.0)) as usize);
    let batch_table = batch_table(&p.batch_table, batch_length)?;
    let gltf = match gltf_format {
        1 => embedded_gltf(p.body, p.body_offset, name, resources)?,
        0 => {
            let uri = String::from_utf8_lossy(p.body).trim_end_matches(['\0', ' ']).to_string();
            let bytes = resources.load(&uri).map_err(TileError::Format)?;
            gltf::parse(&bytes, &uri, resources).map_err(TileError::Format)?
        }
        f => return Err(TileError::at(28, format!("gltfFormat {f}, expected 0 or 1"))),
    };
    Ok(I3dm { rtc_center, east_north_up: ft.bool("EAST_NORTH_UP"), instances, batch_length, batch_table, gltf })
}

/// Parses a pnts tile.
pub fn parse_pnts(bytes: &[u8]) -> Result<Pnts, TileError> {
    let p = split(bytes, b"pnts", 28, false)?;
    let ft = &p.feature_table;
    let n = bounded_count(ft, "POINTS_LENGTH", 6)?;
    let positions: Vec<[f32; 3]> = match ft.per_feature("POSITION", n, 3, "FLOAT")? {
        Some(v) => v.chunks_exact(3).map(|c| [c[0] as f32, c[1] as f32, c[2] as f32]).collect(),
        None => {
            let q = ft
                .per_feature("POSITION_QUANTIZED", n, 3, "UNSIGNED_SHORT")?
                .ok_or_else(|| TileError::field("featureTable", "neither POSITION nor POSITION_QUANTIZED"))?;
            let off = ft
                .global_numbers("QUANTIZED_VOLUME_OFFSET", 3, "FLOAT")?
                .ok_or_else(|| TileError::field("featureTable/QUANTIZED_VOLUME_OFFSET", "missing"))?;
            let sc = ft
                .global_numbers("QUANTIZED_VOLUME_SCALE", 3, "FLOAT")?
                .ok_or_else(|| TileError::field("featureTable/QUANTIZED_VOLUME_SCALE", "missing"))?;
            q.chunks_exact(3).map(|c| std::array::from_fn(|k| (off[k] + c[k] / 65535.0 * sc[k]) as f32)).collect()
        }
    };
    let u8s = |v: Vec<f64>| v.into_iter().map(|x| x as u8).collect::<Vec<u8>>();
    let colors = if let Some(v) = ft.per_feature("RGBA", n, 4, "UNSIGNED_BYTE")? {
        Some(u8s(v).chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect())
    } else if let Some(v) = ft.per_feature("RGB", n, 3, "UNSIGNED_BYTE")? {
        Some(u8s(v).chunks_exact(3).map(|c| [c[0], c[1], c[2], 255]).collect())
    } else {
        ft.per_feature("RGB565", n, 1, "UNSIGNED_SHORT")?.map(|v| {
            v.into_iter()
                .map(|c| {
                    let c = c as u16;
                    let (r, g, b) = ((c >> 11) & 31, (c >> 5) & 63, c & 31);
                    [(r * 255 / 31) as u8, (g * 255 / 63) as u8, (b * 255 / 31) as u8, 255]
                })
                .collect()
        })
    };
    let constant_rgba = ft
        .global_numbers("CONSTANT_RGBA", 4, "UNSIGNED_BYTE")?
        .map(|v| [v[0] as u8, v[1] as u8, v[2] as u8, v[3] as u8]);
    let normals = match ft.per_feature("NORMAL", n, 3, "FLOAT")? {
        Some(v) => Some(v.chunks_exact(3).map(|c| [c[0] as f32, c[1] as f32, c[2] as f32]).collect()),
        None => ft
            .per_feature("NORMAL_OCT16P", n, 2, "UNSIGNED_BYTE")?
            .map(|v| v.chunks_exact(2).map(|c| oct_decode(c[0], c[1], 255.0).as_vec3().to_array()).collect()),
    };
    let batch_ids: Option<Vec<u32>> =
        ft.per_feature("BATCH_ID", n, 1, "UNSIGNED_SHORT")?.map(|v| v.into_iter().map(|x| x as u32).collect());
    let batch_length = match &batch_ids {
        Some(_) => ft
            .u64("BATCH_LENGTH")
            .ok_or_else(|| TileError::field("featureTable/BATCH_LENGTH", "required with BATCH_ID"))?
            as usize,
        None => n,
    };
    let batch_table = if batch_ids.is_some() || !p.batch_table.json.is_empty() {
        batch_table(&p.batch_table, batch_length)?
    } else {
        BTreeMap::new()
    };
    Ok(Pnts { rtc_center: rtc(ft)?, positions, colors, constant_rgba, normals, batch_ids, batch_length, batch_table })
}

/// Parses a cmpt tile into its inner tiles (nested composites allowed, 8 deep).
pub fn parse_cmpt(
    bytes: &[u8],
    name: &str,
    resources: &dyn Resources,
    depth: usize,
) -> Result<Vec<TileContent>, TileError> {
    if depth > 8 {
        return Err(TileError::at(0, "composites nested more than 8 deep"));
    }
    if bytes.len() < 16 || &bytes[0..4] != b"cmpt" {
        return Err(TileError::at(0, "not a cmpt header (16 bytes starting `cmpt`)"));
    }
    let byte_length = u32_at(bytes, 8) as usize;
    if byte_length > bytes.len() {
        return Err(TileError::at(8, format!("byteLength {byte_length} exceeds the {} bytes available", bytes.len())));
    }
    let tiles = u32_at(bytes, 12) as usize;
    let mut at = 16;
    let mut out = Vec::new();
    for i in 0..tiles {
        if at + 12 > byte_length {
            return Err(TileError::at(at, format!("inner tile {i} of {tiles} starts past the end")));
        }
        let len = u32_at(bytes, at + 8) as usize;
        let end = at
            .checked_add(len)
            .filter(|e| *e <= byte_length && len >= 12)
            .ok_or_else(|| TileError::at(at + 8, format!("inner tile {i} of {len} bytes overruns the composite")))?;
        let inner = super::parse_content(&bytes[at..end], name, resources, depth + 1).map_err(|e| e.shifted(at))?;
        out.push(inner);
        at = end;
    }
    Ok(out)
}
