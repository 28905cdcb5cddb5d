//! Imagery (remote-sensing orthophotos, base maps) as plain data: sources
//! that give georeferenced RGBA windows in their own CRS.
//!
//! ```text
//! GeoTIFF orthophoto (tiled or striped, overviews) ─┐
//! XYZ / TMS tile folder or URL template ────────────┼─► ImagerySource::window(bbox, size) ─► GeoRaster
//! MBTiles (SQLite) ─────────────────────────────────┤      (source CRS; the caller reprojects)
//! WMTS capabilities + layer (REST template or KVP) ─┘
//! ```
//!
//! No ECS, no GPU: draping onto terrain and ground happens in the model
//! (`urbis_model::imagery`), which samples windows through PROJ.
//!
//! - [`geotiff`]: RGB(A) GeoTIFFs and COGs (tiles or strips, overviews,
//!   reads only the tiles a window needs) and a tiled writer with overviews.
//! - [`xyz`]: XYZ / TMS pyramids behind a template and a [`xyz::TileFetcher`]
//!   (files here; HTTP in `urbis_tiles`), tile math, a pyramid writer.
//! - `mbtiles` (feature `mbtiles`): MBTiles 1.3 through SQLite.
//! - [`wmts`]: OGC WMTS 1.0.0 layers from a capabilities document (matrix
//!   sets in any EPSG CRS, RESTful templates or KVP GetTile).
//! - `resample`: level choice, crops and box resampling the sources share.

pub mod geotiff;
pub mod graticule;
#[cfg(feature = "mbtiles")]
pub mod mbtiles;
mod resample;
pub mod wmts;
pub mod xyz;

pub use resample::{MAX_WINDOW_SIDE, MAX_WINDOW_TILES};

use std::path::PathBuf;

/// An RGBA8 (sRGB) image georeferenced in a CRS: the centre of pixel
/// (col, row) is at (`x0 + (col + 0.5) · dx`, `y0 − (row + 0.5) · dy`);
/// row 0 is north. Alpha 0 marks no data.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoRaster {
    /// EPSG code of the CRS (4326 degrees, 3857 Web Mercator metres, or a projected CRS).
    pub epsg: u32,
    /// West and north edges of the image, in CRS units.
    pub x0: f64,
    pub y0: f64,
    /// Pixel size, CRS units (both positive).
    pub dx: f64,
    pub dy: f64,
    pub width: u32,
    pub height: u32,
    /// `width × height × 4` bytes, rows from the north.
    pub rgba: Vec<u8>,
}

impl GeoRaster {
    /// West, south, east and north edges, CRS units.
    pub fn extent(&self) -> [f64; 4] {
        [self.x0, self.y0 - self.dy * f64::from(self.height), self.x0 + self.dx * f64::from(self.width), self.y0]
    }

    /// Bilinear RGBA at (x, y) in the raster's CRS (pixel centres as above);
    /// `None` outside the image or where every contributing pixel has alpha 0.
    pub fn sample(&self, x: f64, y: f64) -> Option<[u8; 4]> {
        let (w, h) = (self.width as i64, self.height as i64);
        if w == 0 || h == 0 {
            return None;
        }
        let fx = (x - self.x0) / self.dx - 0.5;
        let fy = (self.y0 - y) / self.dy - 0.5;
        if !(fx > -1.0 && fy > -1.0 && fx < w as f64 && fy < h as f64) {
            return None;
        }
        let (ix, iy) = (fx.floor() as i64, fy.floor() as i64);
        let (tx, ty) = (fx - ix as f64, fy - iy as f64);
        let mut acc = [0.0f64; 4];
        let mut weight = 0.0;
        for (cx, cy, wgt) in [
            (ix, iy, (1.0 - tx) * (1.0 - ty)),
            (ix + 1, iy, tx * (1.0 - ty)),
            (ix, iy + 1, (1.0 - tx) * ty),
            (ix + 1, iy + 1, tx * ty),
        ] {
            let (cx, cy) = (cx.clamp(0, w - 1), cy.clamp(0, h - 1));
            let o = ((cy * w + cx) * 4) as usize;
            let px = &self.rgba[o..o + 4];
            if px[3] == 0 || wgt == 0.0 {
                continue;
            }
            for k in 0..4 {
                acc[k] += f64::from(px[k]) * wgt;
            }
            weight += wgt;
        }
        (weight > 0.0).then(|| acc.map(|v| (v / weight).round().clamp(0.0, 255.0) as u8))
    }
}

/// Why imagery could not be read: the source (file, URL, tile) and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImageryError {
    #[error("{source_name}: {message}")]
    Source { source_name: String, message: String },
    #[error("{source_name}: tile {z}/{x}/{y}: {message}")]
    Tile { source_name: String, z: u32, x: u32, y: u32, message: String },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// A source of georeferenced imagery.
pub trait ImagerySource: Send + Sync {
    /// The source's name in messages (a path or URL).
    fn name(&self) -> String;
    /// EPSG code of the CRS its windows are in.
    fn epsg(&self) -> u32;
    /// West, south, east and north edges of what it covers, in its CRS.
    fn extent(&self) -> [f64; 4];
    /// The part of `bbox` (west, south, east, north, source CRS) it covers, at
    /// a resolution fine enough for `max_side` pixels along the longer side
    /// (the nearest overview or zoom level at or finer than that, resampled
    /// to at most `max_side`). Tiles that fail are left transparent and
    /// reported through `failures`, so a layer goes on with holes.
    fn window(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError>;

    /// Like [`ImagerySource::window`], at the same level but on that level's
    /// own pixel grid (not boxed down to `max_side`; at most twice as many
    /// pixels), so that windows of neighbouring areas sample the very same
    /// pixels (terrain tiles draped one by one show no seam). By default the
    /// plain window.
    fn window_on_grid(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        self.window(bbox, max_side, failures)
    }
}

impl ImagerySource for GeoRaster {
    fn name(&self) -> String {
        format!("in-memory raster ({} × {}, EPSG:{})", self.width, self.height, self.epsg)
    }

    fn epsg(&self) -> u32 {
        self.epsg
    }

    fn extent(&self) -> [f64; 4] {
        GeoRaster::extent(self)
    }

    /// The raster itself cropped to `bbox` (no resampling below `max_side`).
    fn window(
        &self,
        bbox: [f64; 4],
        _max_side: u32,
        _failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        let c0 = (((bbox[0] - self.x0) / self.dx).floor().max(0.0) as u32).min(self.width);
        let c1 = (((bbox[2] - self.x0) / self.dx).ceil().max(0.0) as u32).min(self.width);
        let r0 = (((self.y0 - bbox[3]) / self.dy).floor().max(0.0) as u32).min(self.height);
        let r1 = (((self.y0 - bbox[1]) / self.dy).ceil().max(0.0) as u32).min(self.height);
        let (w, h) = (c1.saturating_sub(c0), r1.saturating_sub(r0));
        let mut rgba = Vec::with_capacity((w * h * 4) as usize);
        for r in r0..r1 {
            let o = ((r * self.width + c0) * 4) as usize;
            rgba.extend_from_slice(&self.rgba[o..o + (w * 4) as usize]);
        }
        Ok(GeoRaster {
            epsg: self.epsg,
            x0: self.x0 + f64::from(c0) * self.dx,
            y0: self.y0 - f64::from(r0) * self.dy,
            dx: self.dx,
            dy: self.dy,
            width: w,
            height: h,
            rgba,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_pixel_centres_and_crops() {
        // 2 × 2 pixels of 10 m from (100, 200) north-west: red, green / blue, clear.
        let r = GeoRaster {
            epsg: 32650,
            x0: 100.0,
            y0: 200.0,
            dx: 10.0,
            dy: 10.0,
            width: 2,
            height: 2,
            rgba: vec![255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0],
        };
        assert_eq!(r.extent(), [100.0, 180.0, 120.0, 200.0]);
        assert_eq!(r.sample(105.0, 195.0), Some([255, 0, 0, 255]), "the first pixel's centre");
        assert_eq!(r.sample(110.0, 195.0), Some([128, 128, 0, 255]), "half way to the second");
        assert_eq!(r.sample(115.0, 185.0), None, "the clear pixel");
        assert_eq!(r.sample(300.0, 195.0), None);
        let w = ImagerySource::window(&r, [111.0, 181.0, 119.0, 189.0], 16, &mut Vec::new()).expect("window");
        assert_eq!((w.x0, w.y0, w.width, w.height), (110.0, 190.0, 1, 1));
    }
}
