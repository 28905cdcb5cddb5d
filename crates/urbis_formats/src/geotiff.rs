//! GeoTIFF digital elevation models through the `tiff` crate: one band of
//! integer or float heights, placed by ModelTiepoint + ModelPixelScale, the
//! CRS from the GeoKey directory (projected or geographic EPSG code), and
//! NODATA from GDAL's tag. [`write`] produces the same kind of file
//! (float32, deflate, PixelIsArea), so analysis rasters open in QGIS/GDAL.

use std::io::Cursor;
use std::path::Path;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;
use urbis_geo::Epsg;

use crate::FormatError;
use crate::ascii_grid::{DemGrid, MAX_CELLS};

/// GeoKey ids this reader uses.
const GEOGRAPHIC_TYPE: u16 = 2048;
const PROJECTED_CS_TYPE: u16 = 3072;
const RASTER_TYPE: u16 = 1025;

/// Reads a GeoTIFF DEM.
pub fn read(path: &Path) -> Result<DemGrid, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

/// Whether bytes start like a TIFF (little- or big-endian, classic or BigTIFF).
pub fn is_tiff(bytes: &[u8]) -> bool {
    matches!(bytes.get(0..4), Some(b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+"))
}

/// Parses GeoTIFF bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<DemGrid, FormatError> {
    let err = |offset: usize, msg: String| FormatError::Offset { path: name.into(), offset, msg };
    if !is_tiff(bytes) {
        return Err(err(0, "not a TIFF (no II*/MM* header)".into()));
    }
    // Never let the image buffer outgrow a small multiple of the file.
    let mut limits = Limits::default();
    limits.decoding_buffer_size = (bytes.len() * 16).clamp(1 << 20, 1 << 31);
    limits.ifd_value_size = (bytes.len() * 4).clamp(1 << 16, 1 << 28);
    limits.intermediate_buffer_size = limits.decoding_buffer_size;
    let mut d = Decoder::new(Cursor::new(bytes)).map_err(|e| err(0, format!("TIFF header: {e}")))?.with_limits(limits);
    let (w, h) = d.dimensions().map_err(|e| err(0, format!("dimensions: {e}")))?;
    let cells = w as usize * h as usize;
    if w == 0 || h == 0 || cells > MAX_CELLS {
        return Err(err(0, format!("raster of {w} × {h} pixels is empty or over {MAX_CELLS} cells")));
    }
    let scale = d.find_tag(Tag::ModelPixelScaleTag).ok().flatten().and_then(|v| v.into_f64_vec().ok());
    let tie = d.find_tag(Tag::ModelTiepointTag).ok().flatten().and_then(|v| v.into_f64_vec().ok());
    let (Some(scale), Some(tie)) = (scale, tie) else {
        return Err(err(0, "no ModelPixelScale / ModelTiepoint tags: not georeferenced".into()));
    };
    if scale.len() < 2
        || tie.len() < 6
        || !(scale[0] > 0.0 && scale[1] > 0.0 && scale[0].is_finite() && scale[1].is_finite())
    {
        return Err(err(0, format!("bad pixel scale {scale:?} or tie point {tie:?}")));
    }
    if (scale[0] - scale[1]).abs() > 1e-9 * scale[0].abs() {
        return Err(FormatError::Unsupported {
            path: name.into(),
            what: format!("non-square pixels ({} × {})", scale[0], scale[1]),
        });
    }
    let keys =
        d.find_tag(Tag::GeoKeyDirectoryTag).ok().flatten().and_then(|v| v.into_u16_vec().ok()).unwrap_or_default();
    let key =
        |id: u16| keys.get(4..).unwrap_or_default().chunks_exact(4).find(|k| k[0] == id && k[1] == 0).map(|k| k[3]);
    let crs = key(PROJECTED_CS_TYPE)
        .or_else(|| key(GEOGRAPHIC_TYPE))
        .filter(|c| *c != 0 && *c != 32767)
        .map(|c| Epsg(c as u32));
    // PixelIsPoint (2) places the tie point on a pixel centre, PixelIsArea (1, default) on its corner.
    let pixel_is_point = key(RASTER_TYPE) == Some(2);
    let nodata = d
        .find_tag(Tag::GdalNodata)
        .ok()
        .flatten()
        .and_then(|v| v.into_string().ok())
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok());
    let data = d.read_image().map_err(|e| err(0, format!("image data: {e}")))?;
    let values: Vec<f64> = match data {
        DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F64(v) => v,
        DecodingResult::I16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I8(v) => v.into_iter().map(f64::from).collect(),
        _ => {
            return Err(FormatError::Unsupported {
                path: name.into(),
                what: "this TIFF sample format for heights".into(),
            });
        }
    };
    if values.len() != cells {
        return Err(FormatError::Unsupported {
            path: name.into(),
            what: format!("{} samples for {cells} pixels (multi-band?)", values.len()),
        });
    }
    let heights = values
        .into_iter()
        .map(|v| if !v.is_finite() || nodata.is_some_and(|nd| (v - nd).abs() < 1e-9) { f32::NAN } else { v as f32 })
        .collect();
    // Tie point (i, j) ↦ (x, y): the grid's west edge and north edge.
    let cell = scale[0];
    let (mut x_min, mut y_max) = (tie[3] - tie[0] * cell, tie[4] + tie[1] * scale[1]);
    if pixel_is_point {
        x_min -= cell / 2.0;
        y_max += cell / 2.0;
    }
    Ok(DemGrid {
        ncols: w as usize,
        nrows: h as usize,
        x_min,
        y_min: y_max - h as f64 * cell,
        cell_size: cell,
        heights,
        nodata_value: nodata,
        crs,
    })
}

/// NODATA value [`write`] stores for NaN cells.
pub const WRITE_NODATA: f32 = -9999.0;

/// Writes a one-band float32 GeoTIFF: deflate-compressed, placed by
/// ModelTiepoint + ModelPixelScale (PixelIsArea), the CRS as a projected or
/// geographic GeoKey, NaN cells as GDAL NODATA [`WRITE_NODATA`].
pub fn write(path: &Path, grid: &DemGrid) -> Result<(), FormatError> {
    let name = path.display().to_string();
    let fail = |msg: String| FormatError::Offset { path: name.clone(), offset: 0, msg };
    if grid.heights.len() != grid.ncols * grid.nrows || grid.ncols == 0 || grid.nrows == 0 {
        return Err(fail(format!("{} values for a {} × {} grid", grid.heights.len(), grid.ncols, grid.nrows)));
    }
    let file = std::fs::File::create(path).map_err(|source| FormatError::Io { path: name.clone(), source })?;
    let mut enc = tiff::encoder::TiffEncoder::new(std::io::BufWriter::new(file))
        .map_err(|e| fail(e.to_string()))?
        .with_compression(tiff::encoder::Compression::Deflate(tiff::encoder::DeflateLevel::Balanced));
    let data: Vec<f32> = grid.heights.iter().map(|v| if v.is_finite() { *v } else { WRITE_NODATA }).collect();
    let mut image = enc
        .new_image::<tiff::encoder::colortype::Gray32Float>(grid.ncols as u32, grid.nrows as u32)
        .map_err(|e| fail(e.to_string()))?;
    let y_max = grid.y_min + grid.nrows as f64 * grid.cell_size;
    let dir = image.encoder();
    let tags: [(Tag, &[f64]); 2] = [
        (Tag::ModelPixelScaleTag, &[grid.cell_size, grid.cell_size, 0.0]),
        (Tag::ModelTiepointTag, &[0.0, 0.0, 0.0, grid.x_min, y_max, 0.0]),
    ];
    for (tag, v) in tags {
        dir.write_tag(tag, v).map_err(|e| fail(e.to_string()))?;
    }
    // GeoKey directory: version 1.1.0, then (key, location 0, count 1, value).
    let mut keys: Vec<u16> = vec![1, 1, 0, 0];
    let mut key = |id: u16, v: u16| keys.extend_from_slice(&[id, 0, 1, v]);
    const MODEL_TYPE: u16 = 1024;
    match grid.crs {
        Some(crs) if crs.is_geographic() => {
            key(MODEL_TYPE, 2);
            key(RASTER_TYPE, 1);
            key(GEOGRAPHIC_TYPE, u16::try_from(crs.0).unwrap_or(32767));
        }
        Some(crs) => {
            key(MODEL_TYPE, 1);
            key(RASTER_TYPE, 1);
            key(PROJECTED_CS_TYPE, u16::try_from(crs.0).unwrap_or(32767));
        }
        None => key(RASTER_TYPE, 1),
    }
    keys[3] = (keys.len() / 4 - 1) as u16;
    dir.write_tag(Tag::GeoKeyDirectoryTag, &keys[..]).map_err(|e| fail(e.to_string()))?;
    dir.write_tag(Tag::GdalNodata, &*format!("{WRITE_NODATA}")).map_err(|e| fail(e.to_string()))?;
    image.write_data(&data).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod write_tests {
    use super::*;

    #[test]
    fn written_geotiff_reads_back_with_placement_crs_and_nodata() {
        let grid = DemGrid {
            ncols: 3,
            nrows: 2,
            x_min: 500_000.0,
            y_min: 3_000_000.0,
            cell_size: 10.0,
            heights: vec![1.0, 2.5, f32::NAN, -3.0, 0.0, 7.25],
            nodata_value: None,
            crs: Some(Epsg(32650)),
        };
        let dir = std::env::temp_dir().join(format!("urbis-geotiff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.tif");
        write(&path, &grid).unwrap();
        let back = read(&path).unwrap();
        assert_eq!((back.ncols, back.nrows, back.crs), (3, 2, Some(Epsg(32650))));
        assert_eq!((back.x_min, back.y_min, back.cell_size), (500_000.0, 3_000_000.0, 10.0));
        assert!(back.heights[2].is_nan(), "NODATA read back as NaN");
        for (a, b) in grid.heights.iter().zip(&back.heights) {
            assert!(a.is_nan() && b.is_nan() || a == b, "{a} vs {b}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
