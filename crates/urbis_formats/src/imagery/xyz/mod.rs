//! XYZ / TMS tile pyramids in Web Mercator (EPSG:3857): tile math, a URL or
//! path template, and windows assembled from tiles; [`write_xyz`] makes a
//! pyramid from any raster.
//!
//! ```text
//! template "DIR/{z}/{x}/{y}.png" (or {-y}, or tms) ─┐
//! TileFetcher (files here, HTTP in urbis_tiles) ────┴─► XyzSource
//! window(bbox, max_side): zoom = the coarsest in [min, max] with max_side
//!   pixels ─► tiles under bbox ∩ bounds ─► fetch + decode (PNG/JPEG, rayon,
//!   a batch at a time) ─► Mosaic ─► GeoRaster (EPSG:3857)
//!   missing or corrupt tile ─► transparent hole + ImageryError::Tile
//! ```
//!
//! Tile numbers follow the slippy-map formulas (OpenStreetMap wiki): at zoom
//! z the square ±[`WEB_MERCATOR_HALF`] metres is cut into 2^z × 2^z tiles,
//! x from the west, y from the north (TMS counts rows from the south).
//! MBTiles (`super::mbtiles`) shares the window code through `TileStore`.

mod write;

pub use write::{XyzWritten, write_xyz};

use std::f64::consts::PI;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::resample::{self, LevelGrid, MAX_WINDOW_TILES, Mosaic};
use super::{GeoRaster, ImageryError, ImagerySource};

/// Half the side of the Web Mercator square, metres (π × 6378137).
pub const WEB_MERCATOR_HALF: f64 = 20_037_508.342_789_244;
/// The latitude where the Web Mercator square ends, degrees.
pub const WEB_MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_59;
/// The deepest zoom accepted (tile numbers stay within u32 and pixels within u64).
pub const MAX_ZOOM: u32 = 30;
/// The largest tile file or body accepted, bytes.
pub const MAX_TILE_BYTES: u64 = 32 << 20;
const EARTH_RADIUS: f64 = 6_378_137.0;

/// Longitude and latitude (degrees) to Web Mercator metres (latitude clamped
/// to the square).
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-WEB_MERCATOR_MAX_LAT, WEB_MERCATOR_MAX_LAT).to_radians();
    (EARTH_RADIUS * lon.to_radians(), EARTH_RADIUS * (PI / 4.0 + lat / 2.0).tan().ln())
}

/// Web Mercator metres to longitude and latitude, degrees.
pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    ((x / EARTH_RADIUS).to_degrees(), (2.0 * (y / EARTH_RADIUS).exp().atan() - PI / 2.0).to_degrees())
}

/// The XYZ tile (x, y) holding a longitude and latitude at zoom `z`
/// (slippy-map formulas: x = ⌊(lon + 180) / 360 · 2^z⌋,
/// y = ⌊(1 − ln(tan φ + sec φ) / π) / 2 · 2^z⌋), clamped to the pyramid.
pub fn tile_for_lonlat(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z.min(MAX_ZOOM));
    let phi = lat.clamp(-WEB_MERCATOR_MAX_LAT, WEB_MERCATOR_MAX_LAT).to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0 * n).floor();
    (x.clamp(0.0, n - 1.0) as u32, y.clamp(0.0, n - 1.0) as u32)
}

/// West, south, east and north of XYZ tile (x, y, z) in degrees
/// (lon = x / 2^z · 360 − 180, lat = atan(sinh(π (1 − 2 y / 2^z)))).
pub fn tile_lonlat_bounds(x: u32, y: u32, z: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z.min(MAX_ZOOM));
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    [lon(f64::from(x)), lat(f64::from(y) + 1.0), lon(f64::from(x) + 1.0), lat(f64::from(y))]
}

/// West, south, east and north of XYZ tile (x, y, z) in Web Mercator metres.
pub fn tile_bounds(x: u32, y: u32, z: u32) -> [f64; 4] {
    let size = 2.0 * WEB_MERCATOR_HALF / f64::from(1u32 << z.min(MAX_ZOOM));
    let west = -WEB_MERCATOR_HALF + f64::from(x) * size;
    let north = WEB_MERCATOR_HALF - f64::from(y) * size;
    [west, north - size, west + size, north]
}

/// Pixel size at zoom `z` (metres of Web Mercator; on the ground, × cos φ).
pub fn resolution(z: u32, tile_size: u32) -> f64 {
    2.0 * WEB_MERCATOR_HALF / (f64::from(tile_size) * f64::from(1u32 << z.min(MAX_ZOOM)))
}

/// The pixel grid of zoom `z`.
fn zoom_grid(z: u32, tile_size: u32) -> LevelGrid {
    let d = resolution(z, tile_size);
    let n = u64::from(tile_size) << z.min(MAX_ZOOM);
    LevelGrid { x0: -WEB_MERCATOR_HALF, y0: WEB_MERCATOR_HALF, dx: d, dy: d, width: n, height: n }
}

/// Where tile bytes come from. `Ok(None)`: no such tile (a 404, a missing
/// file); `Err`: it could not be read (the message names the location).
pub trait TileFetcher: Send + Sync {
    fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, String>;
}

/// Tiles from files: the "URL" is a path (a `file://` prefix is dropped).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileTileFetcher;

impl TileFetcher for FileTileFetcher {
    fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        let path = Path::new(url.strip_prefix("file://").unwrap_or(url));
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{url}: cannot open: {e}")),
        };
        let meta = file.metadata().map_err(|e| format!("{url}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{url}: not a regular file"));
        }
        if meta.len() > MAX_TILE_BYTES {
            return Err(format!("{url}: {} bytes, over the {MAX_TILE_BYTES}-byte tile limit", meta.len()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_TILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("{url}: cannot read: {e}"))?;
        if bytes.len() as u64 > MAX_TILE_BYTES {
            return Err(format!("{url}: over the {MAX_TILE_BYTES}-byte tile limit"));
        }
        Ok(Some(bytes))
    }
}

/// A tile pyramid a window can be assembled from (XYZ, MBTiles).
pub(crate) trait TileStore: Sync {
    /// Bytes of XYZ tile (z, x, y): `Ok(None)` when there is none.
    fn tile_bytes(&self, z: u32, x: u32, y: u32) -> Result<Option<Vec<u8>>, String>;
    /// Where that tile is, for messages (a URL, a row of a table).
    fn locate(&self, z: u32, x: u32, y: u32) -> String;
}

/// How a pyramid is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct XyzOptions {
    pub min_zoom: u32,
    pub max_zoom: u32,
    /// Rows counted from the south (TMS) for `{y}`; `{-y}` always is.
    pub tms: bool,
    /// Tile side, pixels.
    pub tile_size: u32,
    /// What the pyramid covers (west, south, east, north, EPSG:3857);
    /// `None`: the whole square. No tile outside it is requested.
    pub bounds: Option<[f64; 4]>,
}

impl Default for XyzOptions {
    fn default() -> Self {
        Self { min_zoom: 0, max_zoom: 19, tms: false, tile_size: 256, bounds: None }
    }
}

impl XyzOptions {
    /// Checks zooms, tile size and bounds.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.min_zoom > self.max_zoom || self.max_zoom > MAX_ZOOM {
            return Err(format!("zooms {}..={} (need min ≤ max ≤ {MAX_ZOOM})", self.min_zoom, self.max_zoom));
        }
        if !(16..=4096).contains(&self.tile_size) {
            return Err(format!("tile size {} (16 to 4096 px)", self.tile_size));
        }
        if let Some(b) = self.bounds
            && resample::check_bbox(b).is_err()
        {
            return Err(format!("bounds {b:?}"));
        }
        Ok(())
    }

    pub(crate) fn extent(&self) -> [f64; 4] {
        let w = [-WEB_MERCATOR_HALF, -WEB_MERCATOR_HALF, WEB_MERCATOR_HALF, WEB_MERCATOR_HALF];
        match self.bounds {
            Some(b) => [b[0].max(w[0]), b[1].max(w[1]), b[2].min(w[2]), b[3].min(w[3])],
            None => w,
        }
    }
}

/// An XYZ or TMS pyramid behind a template with `{z}`, `{x}` and `{y}` (or
/// `{-y}`), read through a [`TileFetcher`].
pub struct XyzSource {
    template: String,
    fetcher: Arc<dyn TileFetcher>,
    opts: XyzOptions,
}

impl std::fmt::Debug for XyzSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XyzSource").field("template", &self.template).field("opts", &self.opts).finish()
    }
}

impl XyzSource {
    /// A pyramid at `template` (a URL or path with `{z}`, `{x}` and `{y}` or `{-y}`).
    pub fn new(template: &str, fetcher: Arc<dyn TileFetcher>, opts: XyzOptions) -> Result<Self, ImageryError> {
        let fail = |message: String| ImageryError::Source { source_name: template.to_string(), message };
        let has = |p: &str| template.contains(p);
        if !(has("{z}") && has("{x}") && (has("{y}") || has("{-y}"))) {
            return Err(fail("template lacks {z}, {x} and {y} (or {-y})".into()));
        }
        opts.check().map_err(fail)?;
        Ok(XyzSource { template: template.to_string(), fetcher, opts })
    }

    /// A pyramid of files, e.g. `DIR/{z}/{x}/{y}.png`.
    pub fn files(template: &str, opts: XyzOptions) -> Result<Self, ImageryError> {
        Self::new(template, Arc::new(FileTileFetcher), opts)
    }

    /// The URL (or path) of XYZ tile (z, x, y), TMS rows flipped as configured.
    pub fn url(&self, z: u32, x: u32, y: u32) -> String {
        let flipped = (1u32 << z.min(MAX_ZOOM)).wrapping_sub(1).wrapping_sub(y);
        let row = if self.opts.tms { flipped } else { y };
        self.template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{-y}", &flipped.to_string())
            .replace("{y}", &row.to_string())
    }

    pub fn options(&self) -> &XyzOptions {
        &self.opts
    }

    /// The zoom a window of `bbox` at `max_side` reads.
    pub fn zoom_for(&self, bbox: [f64; 4], max_side: u32) -> u32 {
        choose_zoom(&self.opts, bbox, max_side).0
    }
}

/// The coarsest zoom in the options' range on which `bbox` spans `max_side`
/// pixels (the deepest if none does), and its pixel grid.
fn choose_zoom(opts: &XyzOptions, bbox: [f64; 4], max_side: u32) -> (u32, LevelGrid) {
    let zooms: Vec<u32> = (opts.min_zoom..=opts.max_zoom).rev().collect();
    let grids: Vec<LevelGrid> = zooms.iter().map(|z| zoom_grid(*z, opts.tile_size)).collect();
    let k = resample::pick_level(&grids, bbox, max_side);
    (zooms[k], grids[k])
}

impl TileStore for XyzSource {
    fn tile_bytes(&self, z: u32, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        self.fetcher.fetch(&self.url(z, x, y))
    }

    fn locate(&self, z: u32, x: u32, y: u32) -> String {
        self.url(z, x, y)
    }
}

impl ImagerySource for XyzSource {
    fn name(&self) -> String {
        self.template.clone()
    }

    fn epsg(&self) -> u32 {
        3857
    }

    fn extent(&self) -> [f64; 4] {
        self.opts.extent()
    }

    fn window(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        pyramid_window(self, &self.template, &self.opts, bbox, max_side, false, failures)
    }

    fn window_on_grid(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        pyramid_window(self, &self.template, &self.opts, bbox, max_side, true, failures)
    }
}

/// Which of PNG or JPEG bytes are, from their signature.
fn image_format(bytes: &[u8]) -> Result<image::ImageFormat, String> {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Ok(image::ImageFormat::Png),
        [0xFF, 0xD8, 0xFF, ..] => Ok(image::ImageFormat::Jpeg),
        _ => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            Err(format!("not a PNG or JPEG image (starts with [{}], {} bytes)", head.join(" "), bytes.len()))
        }
    }
}

/// Decodes a PNG or JPEG tile of `size × size` pixels to RGBA.
pub(crate) fn decode_tile(bytes: &[u8], size: u32) -> Result<Vec<u8>, String> {
    decode_tile_sized(bytes, size, size)
}

/// Decodes a PNG or JPEG tile of `width × height` pixels to RGBA.
pub(crate) fn decode_tile_sized(bytes: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let format = image_format(bytes)?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(4096);
    limits.max_image_height = Some(4096);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let name = if format == image::ImageFormat::Png { "PNG" } else { "JPEG" };
    let img = reader.decode().map_err(|e| format!("{name} decoding failed: {e}"))?;
    if img.width() != width || img.height() != height {
        return Err(format!("{name} tile is {} × {} px, not {width} × {height}", img.width(), img.height()));
    }
    Ok(img.into_rgba8().into_raw())
}

/// Tiles fetched and decoded at once.
const BATCH: usize = 16;

/// A window of a pyramid: the zoom for `max_side`, the tiles under
/// `bbox ∩ bounds`, each fetched and decoded; failures leave holes.
/// `on_grid`: on the zoom's own pixels (see [`ImagerySource::window_on_grid`]).
pub(crate) fn pyramid_window(
    store: &dyn TileStore,
    name: &str,
    opts: &XyzOptions,
    bbox: [f64; 4],
    max_side: u32,
    on_grid: bool,
    failures: &mut Vec<ImageryError>,
) -> Result<GeoRaster, ImageryError> {
    let fail = |message: String| ImageryError::Source { source_name: name.to_string(), message };
    resample::check_bbox(bbox).map_err(fail)?;
    let (z, grid) = choose_zoom(opts, bbox, max_side);
    let cap = if on_grid { resample::MAX_WINDOW_SIDE } else { max_side };
    let Some(crop) = resample::crop(&grid, bbox, opts.extent(), cap) else {
        return Ok(resample::empty(3857, bbox, max_side));
    };
    let ts = u64::from(opts.tile_size);
    let (tx0, tx1) = (crop.cols.0 / ts, (crop.cols.1 - 1) / ts);
    let (ty0, ty1) = (crop.rows.0 / ts, (crop.rows.1 - 1) / ts);
    let count = (tx1 - tx0 + 1) * (ty1 - ty0 + 1);
    if count > MAX_WINDOW_TILES {
        return Err(fail(format!("window needs {count} tiles at zoom {z}, over the limit of {MAX_WINDOW_TILES}")));
    }
    let mut mosaic = Mosaic::new(crop).ok_or_else(|| fail("window too large".into()))?;
    let tiles: Vec<(u32, u32)> = (ty0..=ty1).flat_map(|y| (tx0..=tx1).map(move |x| (x as u32, y as u32))).collect();
    for batch in tiles.chunks(BATCH) {
        let decoded: Vec<Result<Vec<u8>, String>> = batch
            .par_iter()
            .map(|&(x, y)| match store.tile_bytes(z, x, y)? {
                None => Err(format!("not found ({})", store.locate(z, x, y))),
                Some(bytes) => {
                    decode_tile(&bytes, opts.tile_size).map_err(|e| format!("{e} ({})", store.locate(z, x, y)))
                }
            })
            .collect();
        for (&(x, y), result) in batch.iter().zip(decoded) {
            match result {
                Ok(rgba) => mosaic.add(u64::from(x) * ts, u64::from(y) * ts, ts as usize, ts as usize, &rgba),
                Err(message) => failures.push(ImageryError::Tile { source_name: name.to_string(), z, x, y, message }),
            }
        }
    }
    Ok(mosaic.finish(3857))
}
