//! Cesium quantized-mesh-1.0 terrain tiles (`.terrain`) and their tileset
//! description (`layer.json`), read and written as plain data.
//!
//! ```text
//! .terrain bytes ─(gzip? inflate, bounded)─► header (88 B: ECEF centre, min/max height,
//!                                            bounding sphere, horizon occlusion point)
//!                                        ─► u / v / height   zig-zag + delta  → 0..=32767
//!                                        ─► triangles        high-water mark  → u32 indices
//!                                        ─► west/south/east/north edge vertices
//!                                        ─► extensions: 1 oct normals, 2 water mask, 4 metadata JSON
//!                                        ═► QuantizedMesh ──write──► .terrain bytes (uncompressed)
//! layer.json ──parse_layer──► LayerJson (templates, availability) ──write_layer──► JSON
//! ```
//!
//! The layout is the published one (github.com/CesiumGS/quantized-mesh),
//! little-endian throughout. Tiles with more than 65 536 vertices use 32-bit
//! indices, aligned to 4 bytes by padding before `triangleCount`. Vertex
//! positions stay quantized: `u`/`v` run west→east / south→north over the
//! tile's rectangle ([`geographic_tile_rect`] for the default EPSG:4326 TMS
//! pyramid), heights between the header's minimum and maximum
//! ([`QuantizedMesh::height_m`]).
//!
//! Every count (vertices, triangles, edge lists, extension and JSON lengths)
//! is checked against the bytes that remain before anything is allocated,
//! every index against the vertex count; errors name the file, the byte
//! offset and the field. Gzip input is inflated to at most
//! [`MAX_INFLATED_BYTES`] and 64 times its size (with a 1 MiB floor, so a
//! tile whose 64 KiB water mask compresses to a few bytes still opens).

mod layer;

use layer::parse_available;
pub use layer::{LayerJson, TileRange, geographic_tile_rect, parse_layer, read_layer, tiles_at_level, write_layer};

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::FormatError;

/// The `Accept` header that asks a server for tiles with oct-encoded normals
/// and metadata (the extensions this reader understands besides the water mask).
pub const ACCEPT: &str = "application/vnd.quantized-mesh;extensions=octvertexnormals-metadata";

/// The header's size in bytes.
pub const HEADER_LEN: usize = 88;
/// The largest quantized `u`, `v` or `height` value.
pub const MAX_QUANTIZED: u16 = 32767;
/// Above this many vertices indices are 32-bit.
pub const MAX_U16_VERTICES: usize = 65536;
/// Extension ids.
pub const EXT_OCT_NORMALS: u8 = 1;
pub const EXT_WATER_MASK: u8 = 2;
pub const EXT_METADATA: u8 = 4;
/// Side of a full water mask (256 × 256 bytes).
pub const WATER_MASK_SIZE: usize = 256;
/// The most a gzip-compressed tile may inflate to.
pub const MAX_INFLATED_BYTES: usize = 64 << 20;

/// The 88-byte tile header.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QmHeader {
    /// Tile centre, ECEF metres.
    pub center: [f64; 3],
    /// Heights (metres above the ellipsoid) that quantized 0 and 32767 stand for.
    pub min_height: f32,
    pub max_height: f32,
    /// Bounding sphere: ECEF centre and radius, metres.
    pub bounding_sphere: [f64; 4],
    /// Horizon occlusion point in the ellipsoid-scaled ECEF frame.
    pub horizon_occlusion: [f64; 3],
}

/// One decoded terrain tile. Vertex arrays are parallel (`u.len()` vertices);
/// `indices` are triangle triplets, counter-clockwise.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantizedMesh {
    pub header: QmHeader,
    /// 0 = west edge, 32767 = east edge.
    pub u: Vec<u16>,
    /// 0 = south edge, 32767 = north edge.
    pub v: Vec<u16>,
    /// 0 = `min_height`, 32767 = `max_height`.
    pub height: Vec<u16>,
    pub indices: Vec<u32>,
    /// Vertices on each edge of the tile (for skirts).
    pub west: Vec<u32>,
    pub south: Vec<u32>,
    pub east: Vec<u32>,
    pub north: Vec<u32>,
    /// Extension 1: one oct-encoded unit normal per vertex.
    pub normals: Option<Vec<[u8; 2]>>,
    /// Extension 2: 1 byte (all land 0 / all water 255) or 256 × 256 bytes,
    /// rows north to south, columns west to east.
    pub water_mask: Option<Vec<u8>>,
    /// Extension 4: the tile's metadata JSON (e.g. child `available` ranges).
    pub metadata: Option<Value>,
}

impl QuantizedMesh {
    pub fn vertex_count(&self) -> usize {
        self.u.len()
    }

    /// Height in metres of vertex `i`: `min + (max - min) * h / 32767`.
    ///
    /// # Panics
    /// If `i` is not a vertex.
    pub fn height_m(&self, i: usize) -> f64 {
        let (lo, hi) = (f64::from(self.header.min_height), f64::from(self.header.max_height));
        lo + (hi - lo) * f64::from(self.height[i]) / f64::from(MAX_QUANTIZED)
    }

    /// Decoded unit normal of vertex `i`, if the extension is present (and `i` is a vertex).
    pub fn normal(&self, i: usize) -> Option<[f32; 3]> {
        self.normals.as_ref()?.get(i).map(|e| oct_decode(*e))
    }

    /// The child availability in the metadata extension (`available`, one
    /// list of ranges per level below this tile), if present and well formed.
    pub fn available(&self) -> Option<Vec<Vec<TileRange>>> {
        parse_available(self.metadata.as_ref()?.get("available")?, "metadata", "available").ok()
    }
}

/// Reads a `.terrain` file (gzip-compressed or not).
pub fn read(path: &Path) -> Result<QuantizedMesh, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

/// Whether bytes start like a gzip member (magic `1f 8b`, method deflate).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b, 0x08])
}

/// Parses a quantized-mesh tile, gzip-compressed or not; `name` is used in
/// errors. Offsets in errors about a compressed tile count in the inflated
/// bytes (the name then reads `… (inflated)`).
pub fn parse(bytes: &[u8], name: &str) -> Result<QuantizedMesh, FormatError> {
    if is_gzip(bytes) {
        return match inflate(bytes, name) {
            Ok(raw) => parse_raw(&raw, &format!("{name} (inflated)")),
            // A raw tile whose centre happens to start with the gzip magic.
            Err(gz) => parse_raw(bytes, name).map_err(|_| gz),
        };
    }
    parse_raw(bytes, name)
}

/// Inflates a gzip member, refusing output over the bound.
fn inflate(bytes: &[u8], name: &str) -> Result<Vec<u8>, FormatError> {
    let limit = bytes.len().saturating_mul(64).clamp(1 << 20, MAX_INFLATED_BYTES);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| FormatError::Offset { path: name.into(), offset: 0, msg: format!("gzip: {e}") })?;
    if out.len() > limit {
        return Err(FormatError::Offset {
            path: name.into(),
            offset: 0,
            msg: format!("gzip: inflates past the {limit}-byte limit"),
        });
    }
    Ok(out)
}

/// A bounds-checked little-endian cursor.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    name: &'a str,
}

impl<'a> Reader<'a> {
    fn err(&self, offset: usize, msg: impl Into<String>) -> FormatError {
        FormatError::Offset { path: self.name.into(), offset, msg: msg.into() }
    }

    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }

    /// The next `len` bytes, or an error naming `field`.
    fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8], FormatError> {
        if len > self.remaining() {
            return Err(self.err(self.pos, format!("{field}: needs {len} bytes, {} remain", self.remaining())));
        }
        let s = &self.b[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    /// The bytes of `count` elements of `size` bytes each, if that many remain;
    /// otherwise an error at the count's offset.
    fn check(&self, count: u32, size: usize, field: &str, count_at: usize) -> Result<usize, FormatError> {
        (count as usize).checked_mul(size).filter(|n| *n <= self.remaining()).ok_or_else(|| {
            let need = u64::from(count) * size as u64;
            self.err(count_at, format!("{field}: count {count} needs {need} bytes, {} remain", self.remaining()))
        })
    }

    /// `count` elements of `size` bytes each, checked before any allocation.
    fn array(&mut self, count: u32, size: usize, field: &str, count_at: usize) -> Result<&'a [u8], FormatError> {
        let len = self.check(count, size, field, count_at)?;
        self.take(len, field)
    }

    fn u8(&mut self, field: &str) -> Result<u8, FormatError> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, FormatError> {
        let s = self.take(4, field)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn f64s<const N: usize>(&mut self, field: &str) -> Result<[f64; N], FormatError> {
        let s = self.take(8 * N, field)?;
        Ok(std::array::from_fn(|i| f64::from_le_bytes(std::array::from_fn(|k| s[8 * i + k]))))
    }

    fn f32(&mut self, field: &str) -> Result<f32, FormatError> {
        let s = self.take(4, field)?;
        Ok(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Edge or index values of `width` bytes (2 or 4).
    fn indices(&mut self, count: u32, width: usize, field: &str, count_at: usize) -> Result<Vec<u32>, FormatError> {
        let s = self.array(count, width, field, count_at)?;
        Ok(if width == 2 {
            s.chunks_exact(2).map(|c| u32::from(u16::from_le_bytes([c[0], c[1]]))).collect()
        } else {
            s.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        })
    }
}

/// Decodes one zig-zag + delta array of `n` values, each within 0..=32767.
fn delta_array(r: &Reader, s: &[u8], start: usize, field: &str) -> Result<Vec<u16>, FormatError> {
    let mut value = 0i32;
    let mut out = Vec::with_capacity(s.len() / 2);
    for (i, c) in s.chunks_exact(2).enumerate() {
        value += zigzag_decode(u16::from_le_bytes([c[0], c[1]]));
        if !(0..=i32::from(MAX_QUANTIZED)).contains(&value) {
            return Err(r.err(start + 2 * i, format!("{field}[{i}] decodes to {value}, outside 0..=32767")));
        }
        out.push(value as u16);
    }
    Ok(out)
}

fn parse_raw(bytes: &[u8], name: &str) -> Result<QuantizedMesh, FormatError> {
    let mut r = Reader { b: bytes, pos: 0, name };
    let center = r.f64s::<3>("header.center")?;
    let heights_at = r.pos;
    let min_height = r.f32("header.minimumHeight")?;
    let max_height = r.f32("header.maximumHeight")?;
    if !min_height.is_finite() || !max_height.is_finite() {
        return Err(
            r.err(heights_at, format!("header.minimumHeight/maximumHeight {min_height}/{max_height} not finite"))
        );
    }
    let bounding_sphere = r.f64s::<4>("header.boundingSphere")?;
    let horizon_occlusion = r.f64s::<3>("header.horizonOcclusionPoint")?;
    let header = QmHeader { center, min_height, max_height, bounding_sphere, horizon_occlusion };

    let count_at = r.pos;
    let vertex_count = r.u32("vertexCount")?;
    let n = vertex_count as usize;
    // All three arrays at once, so a huge count fails before any allocation.
    r.check(vertex_count, 6, "vertexCount (u, v, height)", count_at)?;
    let (u_at, u_raw) = (r.pos, r.take(2 * n, "u")?);
    let u = delta_array(&r, u_raw, u_at, "u")?;
    let (v_at, v_raw) = (r.pos, r.take(2 * n, "v")?);
    let v = delta_array(&r, v_raw, v_at, "v")?;
    let (h_at, h_raw) = (r.pos, r.take(2 * n, "height")?);
    let height = delta_array(&r, h_raw, h_at, "height")?;

    let width = if n > MAX_U16_VERTICES { 4 } else { 2 };
    let pad = r.pos.next_multiple_of(width) - r.pos;
    r.take(pad, "indexData padding")?;
    let count_at = r.pos;
    let triangle_count = r.u32("triangleCount")?;
    let index_count = u32::try_from(u64::from(triangle_count) * 3)
        .map_err(|_| r.err(count_at, format!("triangleCount {triangle_count} is too large")))?;
    let indices_at = r.pos;
    let mut indices = r.indices(index_count, width, "triangleCount (indices)", count_at)?;
    let mut highest = 0u64;
    for (i, idx) in indices.iter_mut().enumerate() {
        let code = u64::from(*idx);
        let decoded = highest.checked_sub(code).filter(|d| *d < n as u64).ok_or_else(|| {
            r.err(
                indices_at + width * i,
                format!("indices[{i}]: high-water code {code} (highest {highest}) gives no vertex of {n}"),
            )
        })?;
        *idx = decoded as u32;
        if code == 0 {
            highest += 1;
        }
    }

    let mut edges: [Vec<u32>; 4] = Default::default();
    for (edge, side) in edges.iter_mut().zip(["west", "south", "east", "north"]) {
        let count_at = r.pos;
        let count = r.u32(&format!("{side}VertexCount"))?;
        let at = r.pos;
        *edge = r.indices(count, width, &format!("{side}VertexCount ({side}Indices)"), count_at)?;
        if let Some(i) = edge.iter().position(|&e| e as usize >= n) {
            return Err(r.err(at + width * i, format!("{side}Indices[{i}] = {} is not a vertex of {n}", edge[i])));
        }
    }
    let [west, south, east, north] = edges;

    let mut mesh = QuantizedMesh { header, u, v, height, indices, west, south, east, north, ..Default::default() };
    read_extensions(&mut r, &mut mesh)?;
    Ok(mesh)
}

/// Reads extensions until the end of the data. Unknown ids are skipped.
fn read_extensions(r: &mut Reader, mesh: &mut QuantizedMesh) -> Result<(), FormatError> {
    let n = mesh.vertex_count();
    let mut seen = [false; 256];
    while r.remaining() > 0 {
        let id_at = r.pos;
        let id = r.u8("extensionId")?;
        let len_at = r.pos;
        let len = r.u32("extensionLength")?;
        let data = r.array(len, 1, &format!("extensionLength of extension {id}"), len_at)?;
        if std::mem::replace(&mut seen[usize::from(id)], true) {
            return Err(r.err(id_at, format!("extensionId {id} appears twice")));
        }
        let bad_len = |what: &str| r.err(len_at, format!("extensionLength {len} of extension {id}: {what}"));
        match id {
            EXT_OCT_NORMALS => {
                if data.len() != 2 * n {
                    return Err(bad_len(&format!("oct normals need 2 bytes per vertex ({})", 2 * n)));
                }
                mesh.normals = Some(data.chunks_exact(2).map(|c| [c[0], c[1]]).collect());
            }
            EXT_WATER_MASK => {
                if data.len() != 1 && data.len() != WATER_MASK_SIZE * WATER_MASK_SIZE {
                    return Err(bad_len("a water mask is 1 or 65536 bytes"));
                }
                mesh.water_mask = Some(data.to_vec());
            }
            EXT_METADATA => {
                let json_len_at = len_at + 4;
                let Some((len_bytes, rest)) = data.split_first_chunk::<4>() else {
                    return Err(bad_len("metadata needs a 4-byte jsonLength"));
                };
                let json_len = u32::from_le_bytes(*len_bytes);
                let json = rest.get(..json_len as usize).ok_or_else(|| {
                    let have = rest.len();
                    r.err(json_len_at, format!("jsonLength {json_len} overruns the {have} bytes left in the extension"))
                })?;
                let value =
                    serde_json::from_slice(json).map_err(|e| r.err(json_len_at + 4, format!("metadata json: {e}")))?;
                mesh.metadata = Some(value);
            }
            _ => tracing::debug!("{}: skipping unknown quantized-mesh extension {id} ({len} bytes)", r.name),
        }
    }
    Ok(())
}

/// Writes an uncompressed tile: the header, vertices, 16-bit indices (32-bit
/// after padding to 4 bytes when there are more than 65 536 vertices), edge
/// lists, then the extensions that are `Some`, in id order 1, 2, 4.
///
/// The high-water-mark code needs vertices numbered in order of first use
/// by the triangles; a mesh that is not (never one from [`parse`]) is
/// renumbered, unused vertices last. The writer never fails; a mesh that
/// breaks the format's rules is written sanitised: the vertex count is the
/// shortest of `u`/`v`/`height`, values above 32767 are clamped, triangles
/// and edge entries naming no vertex are dropped, normals are written only
/// with one per vertex and a water mask only at 1 or 65536 bytes.
pub fn write(mesh: &QuantizedMesh) -> Vec<u8> {
    let n = mesh.u.len().min(mesh.v.len()).min(mesh.height.len());
    let in_range = |i: &u32| (*i as usize) < n;
    let triangles: Vec<u32> =
        mesh.indices.chunks_exact(3).filter(|t| t.iter().all(in_range)).flatten().copied().collect();
    let order = first_use_order(&triangles, n);
    // new index of each old vertex
    let renumber = |i: u32| order.as_ref().map_or(i, |o| o.1[i as usize]);
    let old = |k: usize| order.as_ref().map_or(k, |o| o.0[k] as usize);

    let mut out = Vec::with_capacity(HEADER_LEN + 4 + 6 * n + 8 * triangles.len() + 64);
    let h = &mesh.header;
    let push_f64s = |out: &mut Vec<u8>, vs: &[f64]| vs.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    push_f64s(&mut out, &h.center);
    out.extend_from_slice(&h.min_height.to_le_bytes());
    out.extend_from_slice(&h.max_height.to_le_bytes());
    push_f64s(&mut out, &h.bounding_sphere);
    push_f64s(&mut out, &h.horizon_occlusion);

    out.extend_from_slice(&(n as u32).to_le_bytes());
    for values in [&mesh.u, &mesh.v, &mesh.height] {
        let mut prev = 0i32;
        for k in 0..n {
            let value = i32::from(values[old(k)].min(MAX_QUANTIZED));
            out.extend_from_slice(&zigzag_encode(value - prev).to_le_bytes());
            prev = value;
        }
    }

    let wide = n > MAX_U16_VERTICES;
    if wide {
        out.resize(out.len().next_multiple_of(4), 0);
    }
    let push_index = |out: &mut Vec<u8>, i: u32| {
        if wide {
            out.extend_from_slice(&i.to_le_bytes());
        } else {
            out.extend_from_slice(&(i as u16).to_le_bytes());
        }
    };
    out.extend_from_slice(&((triangles.len() / 3) as u32).to_le_bytes());
    let mut highest = 0u32;
    for &i in &triangles {
        let i = renumber(i);
        push_index(&mut out, highest - i);
        if i == highest {
            highest += 1;
        }
    }
    for edge in [&mesh.west, &mesh.south, &mesh.east, &mesh.north] {
        let kept: Vec<u32> = edge.iter().filter(|i| in_range(i)).map(|&i| renumber(i)).collect();
        out.extend_from_slice(&(kept.len() as u32).to_le_bytes());
        kept.iter().for_each(|&i| push_index(&mut out, i));
    }

    let mut extension = |id: u8, data: &[u8]| {
        out.push(id);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    };
    if let Some(normals) = mesh.normals.as_ref().filter(|v| v.len() == n) {
        let data: Vec<u8> = (0..n).flat_map(|k| normals[old(k)]).collect();
        extension(EXT_OCT_NORMALS, &data);
    }
    if let Some(mask) = mesh.water_mask.as_ref().filter(|m| m.len() == 1 || m.len() == WATER_MASK_SIZE.pow(2)) {
        extension(EXT_WATER_MASK, mask);
    }
    if let Some(meta) = &mesh.metadata {
        let json = meta.to_string().into_bytes();
        let mut data = (json.len() as u32).to_le_bytes().to_vec();
        data.extend_from_slice(&json);
        extension(EXT_METADATA, &data);
    }
    out
}

/// `None` when `triangles` already introduce vertices in order 0, 1, 2, …;
/// otherwise (new → old, old → new) numbering by first use, unused vertices last.
fn first_use_order(triangles: &[u32], n: usize) -> Option<(Vec<u32>, Vec<u32>)> {
    let mut highest = 0u32;
    let in_order = triangles.iter().all(|&i| {
        if i == highest {
            highest += 1;
        }
        i <= highest
    });
    if in_order {
        return None;
    }
    let mut old_to_new = vec![u32::MAX; n];
    let mut new_to_old = Vec::with_capacity(n);
    for i in triangles.iter().copied().chain(0..n as u32) {
        if old_to_new[i as usize] == u32::MAX {
            old_to_new[i as usize] = new_to_old.len() as u32;
            new_to_old.push(i);
        }
    }
    Some((new_to_old, old_to_new))
}

/// Zig-zag encoding of a signed delta: 0→0, -1→1, 1→2, -2→3, …
/// (values outside the `i16` range wrap).
pub fn zigzag_encode(v: i32) -> u16 {
    ((v << 1) ^ (v >> 31)) as u16
}

/// Inverse of [`zigzag_encode`].
pub fn zigzag_decode(z: u16) -> i32 {
    i32::from(z >> 1) ^ -i32::from(z & 1)
}

/// Cesium's `signNotZero`.
fn sign_not_zero(x: f64) -> f64 {
    if x < 0.0 { -1.0 } else { 1.0 }
}

/// Oct-encodes a unit normal into two bytes, as Cesium's
/// `AttributeCompression.octEncode` (Cigolle et al. 2014): project onto the
/// octahedron, fold the lower hemisphere, then
/// `round((clamp(c, -1, 1) * 0.5 + 0.5) * 255)`. +Z encodes as `[128, 128]`.
/// A zero or non-finite vector encodes as +Z.
pub fn oct_encode(n: [f32; 3]) -> [u8; 2] {
    let [x, y, z] = n.map(f64::from);
    let l1 = x.abs() + y.abs() + z.abs();
    if !l1.is_finite() || l1 == 0.0 {
        return [128, 128];
    }
    let (mut px, mut py) = (x / l1, y / l1);
    if z < 0.0 {
        (px, py) = ((1.0 - py.abs()) * sign_not_zero(px), (1.0 - px.abs()) * sign_not_zero(py));
    }
    let snorm = |c: f64| ((c.clamp(-1.0, 1.0) * 0.5 + 0.5) * 255.0).round() as u8;
    [snorm(px), snorm(py)]
}

/// Decodes an oct-encoded normal to a unit vector (Cesium's `octDecode`).
pub fn oct_decode(e: [u8; 2]) -> [f32; 3] {
    let x = f64::from(e[0]) / 255.0 * 2.0 - 1.0;
    let y = f64::from(e[1]) / 255.0 * 2.0 - 1.0;
    let z = 1.0 - (x.abs() + y.abs());
    let (x, y) =
        if z < 0.0 { ((1.0 - y.abs()) * sign_not_zero(x), (1.0 - x.abs()) * sign_not_zero(y)) } else { (x, y) };
    let len = (x * x + y * y + z * z).sqrt();
    [(x / len) as f32, (y / len) as f32, (z / len) as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh(indices: Vec<u32>) -> QuantizedMesh {
        QuantizedMesh {
            u: vec![0, 32767, 0, 32767],
            v: vec![0, 0, 32767, 32767],
            height: vec![1, 2, 3, 4],
            indices,
            west: vec![0, 2],
            normals: Some(vec![[1, 1], [2, 2], [3, 3], [4, 4]]),
            ..Default::default()
        }
    }

    #[test]
    fn quantized_writer_renumbers_vertices_by_first_use() {
        let m = mesh(vec![3, 1, 2, 2, 1, 0]);
        let back = parse(&write(&m), "t").expect("parse");
        assert_eq!(back.indices, [0, 1, 2, 2, 1, 3]);
        for (k, old) in [3usize, 1, 2, 0].into_iter().enumerate() {
            assert_eq!((back.u[k], back.v[k], back.height[k]), (m.u[old], m.v[old], m.height[old]));
            assert_eq!(back.normals.as_ref().expect("normals")[k], m.normals.as_ref().expect("normals")[old]);
        }
        assert_eq!(back.west, [3, 2]);
        // Already in first-use order: untouched, and the bytes round-trip.
        let m = mesh(vec![0, 1, 2, 2, 1, 3]);
        let bytes = write(&m);
        assert_eq!(parse(&bytes, "t").expect("parse"), m);
        assert_eq!(write(&parse(&bytes, "t").expect("parse")), bytes);
    }

    #[test]
    fn quantized_writer_sanitises_what_the_format_cannot_hold() {
        let mut m = mesh(vec![0, 1, 2, 2, 1, 9, 1]);
        m.u[1] = 40000;
        m.height.pop();
        m.east = vec![7, 1];
        m.water_mask = Some(vec![0; 5]);
        let back = parse(&write(&m), "t").expect("parse");
        assert_eq!(back.vertex_count(), 3);
        assert_eq!(back.u[1], MAX_QUANTIZED);
        assert_eq!(back.indices, [0, 1, 2]);
        assert_eq!(back.east, [1]);
        assert!(back.normals.is_none() && back.water_mask.is_none());
    }

    #[test]
    fn quantized_reader_errors_name_field_and_offset() {
        let bytes = write(&mesh(vec![0, 1, 2]));
        let e = parse(&bytes[..50], "short.terrain").expect_err("short").to_string();
        assert!(e.contains("short.terrain") && e.contains("header.boundingSphere") && e.contains("byte 32"), "{e}");
    }
}
