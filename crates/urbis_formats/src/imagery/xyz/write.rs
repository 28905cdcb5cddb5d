//! Writes an XYZ pyramid of 256-px PNG tiles from a raster in any CRS.
//!
//! ```text
//! raster ─► coarser copies (resample::half) for the coarser zooms
//! per zoom: the raster's outline (edges sampled, → EPSG:3857) ─► tile range
//! per tile: exact transforms EPSG:3857 → raster CRS on a 17 × 17 grid (every
//!   16 px), bilinear in between ─► per pixel a bilinear sample of the copy
//!   whose pixel is the coarsest not coarser than the tile's ─► PNG (RGB when
//!   opaque) ─► DIR/{z}/{x}/{y}.png (rayon), DIR/tiles.json (TileJSON 3.0.0)
//! ```
//!
//! EPSG:3857 and EPSG:4326 rasters need no PROJ; any other CRS needs this
//! crate's `proj` feature (urbis_geo's CrsTransform). Between grid points the
//! interpolated position is off by far less than a pixel for any smooth
//! projection over 16 pixels (GDAL's approximate transformer does the same).

use std::ops::RangeInclusive;
use std::path::Path;

use rayon::prelude::*;

use super::{WEB_MERCATOR_HALF, lonlat_to_mercator, mercator_to_lonlat, resolution, tile_bounds};
use crate::imagery::resample::half;
use crate::imagery::{GeoRaster, ImageryError};

const TILE: u32 = 256;
/// Grid step of exact transforms, pixels.
const STEP: u32 = 16;
/// The most tiles one pyramid may have.
pub const MAX_WRITE_TILES: u64 = 1 << 20;

/// A tile to draw: x, y and its grid of raster-CRS positions (`None`: no transform).
type TileJob = (u32, u32, Vec<Option<(f64, f64)>>);

/// What [`write_xyz`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct XyzWritten {
    pub min_zoom: u32,
    pub max_zoom: u32,
    /// The raster's outline in EPSG:3857 (west, south, east, north).
    pub bounds: [f64; 4],
    pub tiles: usize,
    pub bytes: u64,
}

/// Raster CRS ↔ EPSG:3857.
enum Reproject {
    Identity,
    Geographic,
    #[cfg(feature = "proj")]
    Proj {
        to_raster: urbis_geo::CrsTransform,
        to_mercator: urbis_geo::CrsTransform,
    },
}

impl Reproject {
    fn new(epsg: u32) -> Result<Reproject, String> {
        match epsg {
            3857 => Ok(Reproject::Identity),
            4326 => Ok(Reproject::Geographic),
            #[cfg(feature = "proj")]
            _ => {
                use urbis_geo::{CrsTransform, Epsg};
                let to_raster = CrsTransform::new(Epsg(3857), Epsg(epsg)).map_err(|e| e.to_string())?;
                let to_mercator = CrsTransform::new(Epsg(epsg), Epsg(3857)).map_err(|e| e.to_string())?;
                Ok(Reproject::Proj { to_raster, to_mercator })
            }
            #[cfg(not(feature = "proj"))]
            _ => Err(format!("EPSG:{epsg} → EPSG:3857 needs urbis_formats' `proj` feature")),
        }
    }

    fn to_raster(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match self {
            Reproject::Identity => Some((x, y)),
            Reproject::Geographic => Some(mercator_to_lonlat(x, y)),
            #[cfg(feature = "proj")]
            Reproject::Proj { to_raster, .. } => {
                to_raster.transform(glam::DVec3::new(x, y, 0.0)).ok().map(|p| (p.x, p.y))
            }
        }
    }

    fn to_mercator(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        match self {
            Reproject::Identity => Some((x, y)),
            Reproject::Geographic => Some(lonlat_to_mercator(x, y)),
            #[cfg(feature = "proj")]
            Reproject::Proj { to_mercator, .. } => {
                to_mercator.transform(glam::DVec3::new(x, y, 0.0)).ok().map(|p| (p.x, p.y))
            }
        }
    }
}

/// The raster's outline in EPSG:3857: its edges sampled every 1/64.
fn outline(r: &GeoRaster, t: &Reproject) -> Option<[f64; 4]> {
    let e = r.extent();
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for i in 0..=64 {
        let f = f64::from(i) / 64.0;
        let (x, y) = (e[0] + f * (e[2] - e[0]), e[1] + f * (e[3] - e[1]));
        for (px, py) in [(x, e[1]), (x, e[3]), (e[0], y), (e[2], y)] {
            let (mx, my) = t.to_mercator(px, py)?;
            b = [b[0].min(mx), b[1].min(my), b[2].max(mx), b[3].max(my)];
        }
    }
    b.iter().all(|v| v.is_finite()).then_some(b)
}

/// One tile's pixels from the raster copies.
fn render(levels: &[GeoRaster], grid: &[Option<(f64, f64)>]) -> Vec<u8> {
    let n = (TILE / STEP + 1) as usize;
    let at = |i: usize, j: usize| grid[j * n + i];
    // Raster units per tile pixel, from the middle of the grid.
    let mid = n / 2;
    let size = match (at(mid, mid), at(mid + 1, mid), at(mid, mid + 1)) {
        (Some(a), Some(b), Some(c)) => {
            let d = |p: (f64, f64), q: (f64, f64)| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt();
            (d(a, b) / f64::from(STEP), d(a, c) / f64::from(STEP))
        }
        _ => (levels[0].dx, levels[0].dy),
    };
    let level = levels
        .iter()
        .rposition(|l| l.dx <= size.0 * (1.0 + 1e-6) && l.dy <= size.1 * (1.0 + 1e-6))
        .map_or(&levels[0], |k| &levels[k]);
    let mut rgba = vec![0u8; (TILE * TILE * 4) as usize];
    for py in 0..TILE {
        let gy = (f64::from(py) + 0.5) / f64::from(STEP);
        let (j, ty) = ((gy.floor() as usize).min(n - 2), gy - gy.floor().min((n - 2) as f64));
        for px in 0..TILE {
            let gx = (f64::from(px) + 0.5) / f64::from(STEP);
            let (i, tx) = ((gx.floor() as usize).min(n - 2), gx - gx.floor().min((n - 2) as f64));
            let (Some(a), Some(b), Some(c), Some(d)) = (at(i, j), at(i + 1, j), at(i, j + 1), at(i + 1, j + 1)) else {
                continue;
            };
            let lerp = |p: f64, q: f64, r: f64, s: f64| {
                (p * (1.0 - tx) + q * tx) * (1.0 - ty) + (r * (1.0 - tx) + s * tx) * ty
            };
            let (x, y) = (lerp(a.0, b.0, c.0, d.0), lerp(a.1, b.1, c.1, d.1));
            if let Some(v) = level.sample(x, y) {
                let o = ((py * TILE + px) * 4) as usize;
                rgba[o..o + 4].copy_from_slice(&v);
            }
        }
    }
    rgba
}

/// PNG bytes of a tile (high compression, adaptive filters): RGB when every
/// pixel is opaque, else RGBA.
fn png(rgba: Vec<u8>) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive);
    let result = if rgba.chunks_exact(4).all(|p| p[3] == 255) {
        let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        encoder.write_image(&rgb, TILE, TILE, image::ExtendedColorType::Rgb8)
    } else {
        encoder.write_image(&rgba, TILE, TILE, image::ExtendedColorType::Rgba8)
    };
    result.map(|()| out).map_err(|e| format!("PNG encoding: {e}"))
}

/// Writes `raster` (any CRS, see the module docs) as 256-px PNG tiles
/// `dir/{z}/{x}/{y}.png` (XYZ rows) for every zoom in `zooms`, every tile
/// that touches the raster's outline (transparent outside it), and
/// `dir/tiles.json` naming the zooms and bounds.
pub fn write_xyz(dir: &Path, raster: &GeoRaster, zooms: RangeInclusive<u32>) -> Result<XyzWritten, ImageryError> {
    let fail = |message: String| ImageryError::File { path: dir.to_path_buf(), message };
    let (z0, z1) = (*zooms.start(), *zooms.end());
    if z0 > z1 || z1 > super::MAX_ZOOM {
        return Err(fail(format!("zooms {z0}..={z1} (need min ≤ max ≤ {})", super::MAX_ZOOM)));
    }
    let (w, h) = (raster.width as usize, raster.height as usize);
    if w == 0 || h == 0 || raster.rgba.len() != w * h * 4 || !(raster.dx > 0.0 && raster.dy > 0.0) {
        return Err(fail(format!(
            "bad raster: {w} × {h} px, {} bytes, pixel {} × {}",
            raster.rgba.len(),
            raster.dx,
            raster.dy
        )));
    }
    let t = Reproject::new(raster.epsg).map_err(fail)?;
    let bounds = outline(raster, &t).ok_or_else(|| {
        fail(format!("the raster's outline does not transform from EPSG:{} to EPSG:3857", raster.epsg))
    })?;
    let mut levels = vec![raster.clone()];
    while levels.last().is_some_and(|l| l.width.max(l.height) > 64) {
        let next = half(levels.last().unwrap_or(raster));
        levels.push(next);
    }
    // Tile ranges per zoom, and the total.
    let mut ranges = Vec::new();
    let mut total = 0u64;
    for z in z0..=z1 {
        let size = resolution(z, TILE) * f64::from(TILE);
        let last = f64::from((1u32 << z) - 1);
        let idx = |v: f64| (v / size).floor().clamp(0.0, last) as u32;
        let (x0, x1) = (idx(bounds[0] + WEB_MERCATOR_HALF), idx(bounds[2] + WEB_MERCATOR_HALF));
        let (y0, y1) = (idx(WEB_MERCATOR_HALF - bounds[3]), idx(WEB_MERCATOR_HALF - bounds[1]));
        total += u64::from(x1 - x0 + 1) * u64::from(y1 - y0 + 1);
        ranges.push((z, x0, x1, y0, y1));
    }
    if total > MAX_WRITE_TILES {
        return Err(fail(format!("{total} tiles for zooms {z0}..={z1}, over the limit of {MAX_WRITE_TILES}")));
    }
    let mut written = XyzWritten { min_zoom: z0, max_zoom: z1, bounds, tiles: 0, bytes: 0 };
    let n = TILE / STEP + 1;
    for (z, x0, x1, y0, y1) in ranges {
        // Exact transforms first (a CRS transform may not be shared across threads).
        let jobs: Vec<TileJob> = (y0..=y1)
            .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
            .map(|(x, y)| {
                let b = tile_bounds(x, y, z);
                let res = (b[2] - b[0]) / f64::from(TILE);
                let grid = (0..n)
                    .flat_map(|j| (0..n).map(move |i| (i, j)))
                    .map(|(i, j)| t.to_raster(b[0] + f64::from(i * STEP) * res, b[3] - f64::from(j * STEP) * res))
                    .collect();
                (x, y, grid)
            })
            .collect();
        let results: Vec<Result<u64, String>> = jobs
            .par_iter()
            .map(|(x, y, grid)| {
                let bytes = png(render(&levels, grid))?;
                let folder = dir.join(z.to_string()).join(x.to_string());
                std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
                let path = folder.join(format!("{y}.png"));
                std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                Ok(bytes.len() as u64)
            })
            .collect();
        for r in results {
            written.bytes += r.map_err(fail)?;
            written.tiles += 1;
        }
    }
    let (w_lon, s_lat) = mercator_to_lonlat(bounds[0], bounds[1]);
    let (e_lon, n_lat) = mercator_to_lonlat(bounds[2], bounds[3]);
    let tilejson = serde_json::json!({
        "tilejson": "3.0.0",
        "tiles": ["{z}/{x}/{y}.png"],
        "scheme": "xyz",
        "minzoom": z0,
        "maxzoom": z1,
        "bounds": [w_lon, s_lat, e_lon, n_lat],
    });
    let path = dir.join("tiles.json");
    std::fs::write(&path, tilejson.to_string()).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    Ok(written)
}
