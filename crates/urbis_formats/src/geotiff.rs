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

/// Whether the start of a TIFF describes 8-bit RGB or RGBA pixels (an
/// orthophoto or map, not a DEM). False when the first image's tags are not
/// within `head`.
pub fn is_imagery(head: &[u8]) -> bool {
    let Ok(mut d) = Decoder::new(Cursor::new(head)) else { return false };
    matches!(d.colortype(), Ok(tiff::ColorType::RGB(8) | tiff::ColorType::RGBA(8)))
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
    let georef = georeference(&mut d).map_err(|msg| err(0, msg))?;
    if (georef.dx - georef.dy).abs() > 1e-9 * georef.dx {
        return Err(FormatError::Unsupported {
            path: name.into(),
            what: format!("non-square pixels ({} × {})", georef.dx, georef.dy),
        });
    }
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
    let (cell, x_min, y_max) = (georef.dx, georef.west, georef.north);
    Ok(DemGrid {
        ncols: w as usize,
        nrows: h as usize,
        x_min,
        y_min: y_max - h as f64 * cell,
        cell_size: cell,
        heights,
        nodata_value: nodata,
        crs: georef.crs,
    })
}

/// Where a GeoTIFF's pixels are: the west and north edges of pixel (0, 0)'s
/// corner, the pixel size and the CRS (shared by the DEM and imagery readers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Georef {
    pub west: f64,
    pub north: f64,
    pub dx: f64,
    pub dy: f64,
    pub crs: Option<Epsg>,
}

/// The georeference of the decoder's current image: ModelTiepoint +
/// ModelPixelScale, or a north-up ModelTransformation; the CRS from the
/// GeoKey directory (projected, else geographic EPSG code); PixelIsPoint
/// moves the tie point from a pixel's centre to its corner.
pub(crate) fn georeference<R: std::io::Read + std::io::Seek>(d: &mut Decoder<R>) -> Result<Georef, String> {
    let doubles = |d: &mut Decoder<R>, tag| d.find_tag(tag).ok().flatten().and_then(|v| v.into_f64_vec().ok());
    let scale = doubles(d, Tag::ModelPixelScaleTag);
    let tie = doubles(d, Tag::ModelTiepointTag);
    let matrix = doubles(d, Tag::ModelTransformationTag);
    let (mut west, mut north, dx, dy) = match (scale, tie, matrix) {
        (Some(scale), Some(tie), _) => {
            if scale.len() < 2 || tie.len() < 6 || tie.iter().take(6).any(|v| !v.is_finite()) {
                return Err(format!("bad pixel scale {scale:?} or tie point {tie:?}"));
            }
            // Tie point (i, j) ↦ (x, y).
            (tie[3] - tie[0] * scale[0], tie[4] + tie[1] * scale[1], scale[0], scale[1])
        }
        (_, _, Some(m)) if m.len() >= 8 => {
            if m[1] != 0.0 || m[4] != 0.0 {
                return Err(format!("rotated or sheared ModelTransformation {:?} (north-up only)", &m[..8]));
            }
            (m[3], m[7], m[0], -m[5])
        }
        _ => return Err("no ModelPixelScale / ModelTiepoint tags: not georeferenced".into()),
    };
    if !(dx > 0.0 && dy > 0.0 && dx.is_finite() && dy.is_finite() && west.is_finite() && north.is_finite()) {
        return Err(format!("bad pixel size {dx} × {dy} or origin ({west}, {north})"));
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
    if key(RASTER_TYPE) == Some(2) {
        west -= dx / 2.0;
        north += dy / 2.0;
    }
    Ok(Georef { west, north, dx, dy, crs })
}

/// A GeoKey directory naming `crs` (version 1.1.0, then key, location 0,
/// count 1, value), PixelIsArea.
pub(crate) fn geokey_directory(crs: Option<Epsg>) -> Vec<u16> {
    const MODEL_TYPE: u16 = 1024;
    let mut keys: Vec<u16> = vec![1, 1, 0, 0];
    let mut key = |id: u16, v: u16| keys.extend_from_slice(&[id, 0, 1, v]);
    match crs {
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
    keys
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
    let keys = geokey_directory(grid.crs);
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
