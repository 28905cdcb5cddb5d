//! Writes RGB(A) GeoTIFFs laid out like a Cloud-Optimized GeoTIFF: the
//! `tiff` crate's encoder has no tiles or overviews, so the file is made here.
//!
//! ```text
//! GeoRaster ─► levels: full image, then 2 × 2 boxes (resample::half) until
//!              one 256-px tile holds the level
//!           ─► per level, 256 × 256 tiles: horizontal predictor, deflate (rayon)
//!           ─► header │ IFD 0 (+ GeoTIFF tags) │ IFD 1 … n (NewSubfileType 1)
//!              │ tile data, coarsest level first
//! ```
//!
//! Classic little-endian TIFF: every IFD before any pixel, so a reader of
//! the first few kilobytes knows where every tile of every level is.

use std::path::Path;

use rayon::prelude::*;
use urbis_geo::Epsg;

use super::super::resample::half;
use super::super::{GeoRaster, ImageryError};

/// Tile side, pixels.
const TILE: usize = 256;

const SHORT: u16 = 3;
const LONG: u16 = 4;
const DOUBLE: u16 = 12;

/// One IFD entry: tag, field type, count and the value's bytes (little-endian).
struct Entry {
    tag: u16,
    ty: u16,
    count: u32,
    bytes: Vec<u8>,
}

fn shorts(tag: u16, v: &[u16]) -> Entry {
    Entry { tag, ty: SHORT, count: v.len() as u32, bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect() }
}

fn longs(tag: u16, v: &[u32]) -> Entry {
    Entry { tag, ty: LONG, count: v.len() as u32, bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect() }
}

fn doubles(tag: u16, v: &[f64]) -> Entry {
    Entry { tag, ty: DOUBLE, count: v.len() as u32, bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect() }
}

/// Bytes an IFD takes: count, entries, next pointer, then out-of-line values (word-aligned).
fn ifd_size(entries: &[Entry]) -> usize {
    6 + 12 * entries.len()
        + entries.iter().filter(|e| e.bytes.len() > 4).map(|e| e.bytes.len().next_multiple_of(2)).sum::<usize>()
}

fn put_ifd(out: &mut Vec<u8>, entries: &[Entry], next: u32) {
    let base = out.len();
    let mut extra = base + 6 + 12 * entries.len();
    let mut tail = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.ty.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        if e.bytes.len() <= 4 {
            let mut v = [0u8; 4];
            v[..e.bytes.len()].copy_from_slice(&e.bytes);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&(extra as u32).to_le_bytes());
            tail.extend_from_slice(&e.bytes);
            if e.bytes.len() % 2 == 1 {
                tail.push(0);
            }
            extra += e.bytes.len().next_multiple_of(2);
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&tail);
}

/// One tile: padded to 256 × 256 with zeros, horizontally differenced
/// (predictor 2), zlib-deflated.
fn encode_tile(level: &GeoRaster, spp: usize, tx: usize, ty: usize) -> Vec<u8> {
    let (w, h) = (level.width as usize, level.height as usize);
    let mut buf = vec![0u8; TILE * TILE * spp];
    for y in 0..TILE.min(h.saturating_sub(ty * TILE)) {
        let sy = ty * TILE + y;
        for x in 0..TILE.min(w.saturating_sub(tx * TILE)) {
            let s = (sy * w + tx * TILE + x) * 4;
            buf[(y * TILE + x) * spp..(y * TILE + x + 1) * spp].copy_from_slice(&level.rgba[s..s + spp]);
        }
    }
    for row in buf.chunks_exact_mut(TILE * spp) {
        for i in (spp..row.len()).rev() {
            row[i] = row[i].wrapping_sub(row[i - spp]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    std::io::Write::write_all(&mut z, &buf).expect("writing into memory does not fail");
    z.finish().expect("writing into memory does not fail")
}

/// A tiled (256 × 256), deflate-compressed GeoTIFF of `raster` in memory:
/// RGB when every pixel is opaque, else RGBA (unassociated alpha); with
/// `overviews`, internal overviews halving down to one tile. Placed by
/// ModelTiepoint + ModelPixelScale (PixelIsArea), CRS as a GeoKey.
pub fn encode_rgb(raster: &GeoRaster, overviews: bool) -> Result<Vec<u8>, ImageryError> {
    let fail = |message: String| ImageryError::Source { source_name: "GeoTIFF writer".into(), message };
    let (w, h) = (raster.width as usize, raster.height as usize);
    if w == 0 || h == 0 || raster.rgba.len() != w * h * 4 {
        return Err(fail(format!("{} bytes for a {w} × {h} RGBA raster", raster.rgba.len())));
    }
    let ok = |v: f64| v.is_finite();
    if !(raster.dx > 0.0 && raster.dy > 0.0 && ok(raster.dx) && ok(raster.dy) && ok(raster.x0) && ok(raster.y0)) {
        return Err(fail(format!(
            "bad georeference: origin ({}, {}), pixel {} × {}",
            raster.x0, raster.y0, raster.dx, raster.dy
        )));
    }
    let spp = if raster.rgba.chunks_exact(4).all(|p| p[3] == 255) { 3 } else { 4 };
    let mut levels = vec![std::borrow::Cow::Borrowed(raster)];
    while overviews && levels.last().is_some_and(|l| l.width as usize > TILE || l.height as usize > TILE) {
        let next = half(levels.last().map(|c| c.as_ref()).unwrap_or(raster));
        levels.push(std::borrow::Cow::Owned(next));
    }
    // Compressed tiles per level, row by row.
    let tiles: Vec<Vec<Vec<u8>>> = levels
        .iter()
        .map(|l| {
            let (across, down) = ((l.width as usize).div_ceil(TILE), (l.height as usize).div_ceil(TILE));
            (0..across * down).into_par_iter().map(|i| encode_tile(l, spp, i % across, i / across)).collect()
        })
        .collect();
    let epsg = (raster.epsg != 0).then_some(Epsg(raster.epsg));
    let ifd = |k: usize, offsets: &[u32], counts: &[u32]| -> Vec<Entry> {
        let l = &levels[k];
        let mut e = vec![
            longs(254, &[u32::from(k > 0)]),
            longs(256, &[l.width]),
            longs(257, &[l.height]),
            shorts(258, &vec![8; spp]),
            shorts(259, &[8]),
            shorts(262, &[2]),
            shorts(277, &[spp as u16]),
            shorts(284, &[1]),
            shorts(317, &[2]),
            shorts(322, &[TILE as u16]),
            shorts(323, &[TILE as u16]),
            longs(324, offsets),
            longs(325, counts),
        ];
        if spp == 4 {
            e.push(shorts(338, &[2]));
        }
        e.push(shorts(339, &vec![1; spp]));
        if k == 0 {
            e.push(doubles(33550, &[raster.dx, raster.dy, 0.0]));
            e.push(doubles(33922, &[0.0, 0.0, 0.0, raster.x0, raster.y0, 0.0]));
            e.push(shorts(34735, &crate::geotiff::geokey_directory(epsg)));
        }
        e
    };
    // First pass: sizes (values do not change them), so where the data starts.
    let mut pos = 8usize;
    for (k, t) in tiles.iter().enumerate() {
        pos += ifd_size(&ifd(k, &vec![0; t.len()], &vec![0; t.len()]));
    }
    let data_start = pos;
    let total = data_start + tiles.iter().flatten().map(Vec::len).sum::<usize>();
    if total > u32::MAX as usize {
        return Err(fail(format!("{total} bytes: over the 4 GiB of a classic TIFF")));
    }
    // Tile data, coarsest level first (as COGs store it).
    let mut offsets: Vec<Vec<u32>> = tiles.iter().map(|t| vec![0; t.len()]).collect();
    let mut at = data_start;
    for (k, t) in tiles.iter().enumerate().rev() {
        for (i, bytes) in t.iter().enumerate() {
            offsets[k][i] = at as u32;
            at += bytes.len();
        }
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"II*\0");
    out.extend_from_slice(&8u32.to_le_bytes());
    for (k, t) in tiles.iter().enumerate() {
        let counts: Vec<u32> = t.iter().map(|b| b.len() as u32).collect();
        let entries = ifd(k, &offsets[k], &counts);
        let next = if k + 1 < tiles.len() { (out.len() + ifd_size(&entries)) as u32 } else { 0 };
        put_ifd(&mut out, &entries, next);
    }
    debug_assert_eq!(out.len(), data_start);
    for t in tiles.iter().rev() {
        for bytes in t {
            out.extend_from_slice(bytes);
        }
    }
    Ok(out)
}

/// Writes [`encode_rgb`]'s file to `path`.
pub fn write_rgb(path: &Path, raster: &GeoRaster, overviews: bool) -> Result<(), ImageryError> {
    let bytes = encode_rgb(raster, overviews).map_err(|e| match e {
        ImageryError::Source { message, .. } => ImageryError::File { path: path.to_path_buf(), message },
        e => e,
    })?;
    std::fs::write(path, bytes)
        .map_err(|e| ImageryError::File { path: path.to_path_buf(), message: format!("cannot write: {e}") })
}
