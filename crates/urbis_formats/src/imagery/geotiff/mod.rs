//! RGB(A) 8-bit GeoTIFF orthophotos, Cloud-Optimized GeoTIFFs included, as
//! an [`ImagerySource`]; [`write_rgb`] writes them.
//!
//! ```text
//! bytes: a file, a ByteSource (source.rs: an HTTP server's byte ranges …)
//!       in 64 KiB blocks, or any Read + Seek
//! open: header ─► every IFD (tiff crate): size, tiles or strips, compression,
//!       samples ─► full resolution + reduced-resolution IFDs (overviews:
//!       NewSubfileType bit 0; transparency masks skipped) ─► levels, finest
//!       first; georeference and CRS of IFD 0 (crate::geotiff's GeoKey code)
//! window(bbox, max_side): pick the level (resample::pick_level) ─► crop ─►
//!       only the tiles / strips under it: their bytes (from a ByteSource:
//!       one read_at each), decompress (deflate, LZW, none; predictors)
//!       ─► RGBA ─► Mosaic ─► GeoRaster
//! ```
//!
//! Overviews cover the full image's extent (GDAL's convention: pixel size =
//! extent / overview size). A tile that fails to read leaves a hole and is
//! reported (level, column, row, byte offset) through `failures`; a broken
//! header or IFD fails [`GeoTiffImagery::open`].

mod source;
mod write;

pub use source::{BLOCK, ByteSource, CACHED_BLOCKS, FileSource, past_end};
pub use write::{encode_rgb, write_rgb};

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use source::BlockReader;

use tiff::TiffError;
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use super::resample::{self, LevelGrid, MAX_WINDOW_TILES, Mosaic};
use super::{GeoRaster, ImageryError, ImagerySource};

/// The most IFDs (full image, overviews, masks) read from one file.
pub const MAX_IFDS: usize = 64;
/// The largest decoded tile or strip, bytes.
pub const MAX_CHUNK_BYTES: u64 = 64 << 20;
/// The most bytes one window may decode (tiles × their size).
pub const MAX_WINDOW_DECODED: u64 = 1 << 30;

/// Anything a GeoTIFF can be read from: a file, bytes in memory.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// How samples make a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Samples {
    Gray,
    GrayAlpha { premultiplied: bool },
    Rgb,
    RgbAlpha { premultiplied: bool },
}

/// One resolution level (IFD).
#[derive(Debug, Clone)]
struct Level {
    ifd: usize,
    grid: LevelGrid,
    /// Tile (or strip: image width × rows per strip) size in pixels.
    chunk: (u32, u32),
    tiled: bool,
    /// Chunks per plane across and down.
    across: u32,
    down: u32,
    /// Samples per pixel, and whether each is its own plane.
    spp: u16,
    planar: bool,
    samples: Samples,
    /// Byte offset and length of each chunk (for messages).
    offsets: Vec<u64>,
    counts: Vec<u64>,
}

/// What a level looks like (for callers and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelInfo {
    pub width: u32,
    pub height: u32,
    /// Pixel size, CRS units.
    pub dx: f64,
    pub dy: f64,
    pub tiled: bool,
    /// Tile size, or strip width × rows per strip.
    pub chunk: (u32, u32),
}

/// What the decoder reads: any `Read + Seek` as it is, or a [`ByteSource`] in blocks.
enum Input {
    Reader(Box<dyn ReadSeek>),
    Source(BlockReader),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Reader(r) => r.read(buf),
            Input::Source(r) => r.read(buf),
        }
    }
}

impl Seek for Input {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Input::Reader(r) => r.seek(pos),
            Input::Source(r) => r.seek(pos),
        }
    }
}

struct Reader {
    decoder: Decoder<Input>,
    ifd: usize,
}

/// A GeoTIFF orthophoto opened for windows: only its IFDs are read up
/// front; pixels are read tile by tile as windows need them.
pub struct GeoTiffImagery {
    path: PathBuf,
    epsg: u32,
    extent: [f64; 4],
    /// Finest first.
    levels: Vec<Level>,
    /// GDAL_NODATA as one 8-bit value: pixels whose colour samples all equal it are clear.
    nodata: Option<u8>,
    reader: Mutex<Reader>,
}

impl std::fmt::Debug for GeoTiffImagery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoTiffImagery")
            .field("path", &self.path)
            .field("epsg", &self.epsg)
            .field("levels", &self.levels())
            .finish()
    }
}

impl GeoTiffImagery {
    /// Opens a GeoTIFF file: reads its header and IFDs, not its pixels.
    pub fn open(path: &Path) -> Result<Self, ImageryError> {
        Self::from_source(Arc::new(FileSource::open(path)?))
    }

    /// Opens a GeoTIFF from any [`ByteSource`] (its name is used in
    /// messages): its header and IFDs in 64 KiB blocks, then each tile a
    /// window needs with one [`ByteSource::read_at`].
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<Self, ImageryError> {
        let name = PathBuf::from(source.name());
        let len = source.len().map_err(|e| ImageryError::File {
            path: name.clone(),
            message: format!("cannot read: {}", source::message_of(e)),
        })?;
        Self::from_input(Input::Source(BlockReader::new(source, len)), name)
    }

    /// Opens a GeoTIFF from any seekable reader; `name` is used in messages.
    pub fn from_reader(reader: impl ReadSeek + 'static, name: &Path) -> Result<Self, ImageryError> {
        Self::from_input(Input::Reader(Box::new(reader)), name.to_path_buf())
    }

    fn from_input(mut reader: Input, name: PathBuf) -> Result<Self, ImageryError> {
        let fail = |message: String| ImageryError::File { path: name.clone(), message };
        let len = reader.seek(SeekFrom::End(0)).and_then(|n| reader.seek(SeekFrom::Start(0)).map(|_| n));
        let len = len.map_err(|e| fail(format!("cannot read: {e}")))?;
        let mut magic = [0u8; 4];
        match reader.read_exact(&mut magic) {
            Ok(()) if crate::geotiff::is_tiff(&magic) => {}
            Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => return Err(fail(format!("cannot read: {e}"))),
            _ => return Err(fail("not a TIFF (no II*/MM* header at byte 0)".into())),
        }
        reader.seek(SeekFrom::Start(0)).map_err(|e| fail(format!("cannot read: {e}")))?;
        // IFD values (tile offsets) lie inside the file: never more than it.
        let mut limits = Limits::default();
        limits.ifd_value_size = usize::try_from(len).unwrap_or(usize::MAX).clamp(1 << 16, 32 << 20);
        limits.decoding_buffer_size = MAX_CHUNK_BYTES as usize;
        limits.intermediate_buffer_size = MAX_CHUNK_BYTES as usize;
        // An IFD cut by the end of the file: say where the file ends.
        let ifd_fail = |ifd: usize, e: TiffError| match e {
            TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                fail(format!("IFD {ifd}: {e} (the file ends at byte {len})"))
            }
            e => fail(format!("IFD {ifd}: {e}")),
        };
        let mut d = Decoder::new(reader).map_err(|e| ifd_fail(0, e))?.with_limits(limits);
        // The first IFD was read under the crate's default limits; read it again under these.
        d.seek_to_image(0).map_err(|e| ifd_fail(0, e))?;
        let nodata = d
            .find_tag(Tag::GdalNodata)
            .ok()
            .flatten()
            .and_then(|v| v.into_string().ok())
            .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok())
            .filter(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
            .map(|v| v as u8);
        let mut levels = vec![read_level(&mut d, 0).map_err(|m| fail(format!("IFD 0: {m}")))?];
        let georef = crate::geotiff::georeference(&mut d).map_err(|m| fail(format!("IFD 0: {m}")))?;
        let (w0, h0) = (levels[0].grid.width, levels[0].grid.height);
        let extent =
            [georef.west, georef.north - georef.dy * h0 as f64, georef.west + georef.dx * w0 as f64, georef.north];
        let mut ifd = 0;
        while d.more_images() {
            ifd += 1;
            if ifd >= MAX_IFDS {
                return Err(fail(format!("more than {MAX_IFDS} IFDs")));
            }
            d.next_image().map_err(|e| ifd_fail(ifd, e))?;
            let kind = d.find_tag_unsigned::<u32>(Tag::NewSubfileType).ok().flatten().unwrap_or(0);
            // Bit 0: reduced resolution; bit 2: a transparency mask.
            if kind & 1 == 0 || kind & 4 != 0 {
                continue;
            }
            let level = read_level(&mut d, ifd).map_err(|m| fail(format!("IFD {ifd}: {m}")))?;
            if level.samples != levels[0].samples {
                return Err(fail(format!(
                    "IFD {ifd}: overview samples {:?} differ from the full image's {:?}",
                    level.samples, levels[0].samples
                )));
            }
            levels.push(level);
        }
        for l in &mut levels {
            // GDAL: an overview spans the full image's extent.
            l.grid.x0 = extent[0];
            l.grid.y0 = extent[3];
            l.grid.dx = (extent[2] - extent[0]) / l.grid.width as f64;
            l.grid.dy = (extent[3] - extent[1]) / l.grid.height as f64;
        }
        levels.sort_by(|a, b| b.grid.width.cmp(&a.grid.width).then(a.ifd.cmp(&b.ifd)));
        Ok(GeoTiffImagery {
            path: name,
            epsg: georef.crs.map_or(0, |c| c.0),
            extent,
            levels,
            nodata,
            reader: Mutex::new(Reader { decoder: d, ifd }),
        })
    }

    /// The resolution levels, finest (the full image) first.
    pub fn levels(&self) -> Vec<LevelInfo> {
        self.levels
            .iter()
            .map(|l| LevelInfo {
                width: l.grid.width as u32,
                height: l.grid.height as u32,
                dx: l.grid.dx,
                dy: l.grid.dy,
                tiled: l.tiled,
                chunk: l.chunk,
            })
            .collect()
    }

    /// The level (index into [`Self::levels`]) a window of `bbox` at `max_side` reads.
    pub fn level_for(&self, bbox: [f64; 4], max_side: u32) -> usize {
        let grids: Vec<LevelGrid> = self.levels.iter().map(|l| l.grid).collect();
        resample::pick_level(&grids, bbox, max_side)
    }

    /// Reads one chunk of a level as RGBA rows of `w × h` pixels.
    fn read_chunk(&self, r: &mut Reader, level: &Level, index: u32, w: u32, h: u32) -> Result<Vec<u8>, String> {
        if r.ifd != level.ifd {
            r.decoder.seek_to_image(level.ifd).map_err(|e| format!("IFD {}: {e}", level.ifd))?;
            r.ifd = level.ifd;
        }
        let n = (w * h) as usize;
        let planes = if level.planar { usize::from(level.spp) } else { 1 };
        let per_chunk = if level.planar { 1 } else { usize::from(level.spp) };
        let mut samples = Vec::with_capacity(planes);
        for p in 0..planes {
            let idx = index + p as u32 * level.across * level.down;
            let at = level.offsets.get(idx as usize).copied().unwrap_or(0);
            let len = level.counts.get(idx as usize).copied().unwrap_or(0);
            // From a ByteSource: the chunk's bytes in one read, decoded from memory.
            if let Input::Source(b) = r.decoder.inner()
                && len > 0
            {
                b.load_span(at, len).map_err(|m| format!("at byte {at} ({len} bytes): {m}"))?;
            }
            let data = r.decoder.read_chunk(idx);
            if let Input::Source(b) = r.decoder.inner() {
                b.drop_span();
            }
            let data = match data {
                Ok(DecodingResult::U8(v)) => v,
                Ok(_) => return Err("not 8-bit samples".into()),
                Err(e) => return Err(format!("at byte {at} ({len} bytes): {e}")),
            };
            // Tiles come back cropped to the image, or padded to the tile size.
            let padded = |rows: u32| data.len() == (level.chunk.0 * rows) as usize * per_chunk;
            let stride = if data.len() == n * per_chunk {
                w as usize
            } else if level.chunk.0 >= w && (padded(h) || padded(level.chunk.1)) {
                level.chunk.0 as usize
            } else {
                return Err(format!("at byte {at}: {} samples decoded for {w} × {h} pixels", data.len()));
            };
            samples.push((data, stride));
        }
        let mut rgba = Vec::with_capacity(n * 4);
        let sample = |x: usize, y: usize, k: usize| -> u8 {
            if level.planar {
                let (d, stride) = &samples[k];
                d[y * stride + x]
            } else {
                let (d, stride) = &samples[0];
                d[(y * stride + x) * per_chunk + k]
            }
        };
        for y in 0..h as usize {
            for x in 0..w as usize {
                let mut px = match level.samples {
                    Samples::Gray => {
                        let g = sample(x, y, 0);
                        [g, g, g, 255]
                    }
                    Samples::GrayAlpha { .. } => {
                        let g = sample(x, y, 0);
                        [g, g, g, sample(x, y, 1)]
                    }
                    Samples::Rgb => [sample(x, y, 0), sample(x, y, 1), sample(x, y, 2), 255],
                    Samples::RgbAlpha { .. } => [sample(x, y, 0), sample(x, y, 1), sample(x, y, 2), sample(x, y, 3)],
                };
                if matches!(
                    level.samples,
                    Samples::GrayAlpha { premultiplied: true } | Samples::RgbAlpha { premultiplied: true }
                ) && px[3] > 0
                {
                    let a = u32::from(px[3]);
                    for c in &mut px[..3] {
                        *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
                    }
                }
                if self.nodata.is_some_and(|nd| px[..3].iter().all(|c| *c == nd)) {
                    px[3] = 0;
                }
                rgba.extend_from_slice(&px);
            }
        }
        Ok(rgba)
    }
}

/// Reads the current IFD's layout; `Err` names what is unsupported or inconsistent.
fn read_level(d: &mut Decoder<Input>, ifd: usize) -> Result<Level, String> {
    let (width, height) = d.dimensions().map_err(|e| e.to_string())?;
    if width == 0 || height == 0 {
        return Err(format!("empty image ({width} × {height})"));
    }
    let tag = |d: &mut Decoder<Input>, t: Tag| d.find_tag_unsigned::<u32>(t).ok().flatten();
    let compression = tag(d, Tag::Compression).unwrap_or(1);
    if !matches!(compression, 1 | 5 | 8 | 32946) {
        let what = match compression {
            6 | 7 => "JPEG",
            34887 => "LERC",
            50000 => "ZSTD",
            50001 => "WebP",
            _ => "other",
        };
        return Err(format!("compression {compression} ({what}) unsupported: deflate, LZW or none"));
    }
    let spp = tag(d, Tag::SamplesPerPixel).unwrap_or(1);
    let bits = d.find_tag_unsigned_vec::<u16>(Tag::BitsPerSample).ok().flatten().unwrap_or_else(|| vec![1]);
    if bits.iter().any(|b| *b != 8) {
        return Err(format!("{bits:?} bits per sample: only 8-bit imagery"));
    }
    if tag(d, Tag::SampleFormat).is_some_and(|f| f != 1) {
        return Err("sample format is not unsigned integer".into());
    }
    let photometric = tag(d, Tag::PhotometricInterpretation).unwrap_or(u32::MAX);
    let extra = d.find_tag_unsigned_vec::<u16>(Tag::ExtraSamples).ok().flatten().unwrap_or_default();
    // Alpha: ExtraSamples 1 (premultiplied) or 2; a sample beyond the colours
    // with no ExtraSamples at all is taken as alpha too (as the `tiff` crate
    // writes RGBA); ExtraSamples 0 (unspecified) is not alpha.
    let alpha = match extra.first() {
        Some(1) => Some(true),
        Some(2) => Some(false),
        None => Some(false),
        _ => None,
    };
    let samples = match (photometric, spp, alpha) {
        (1, 1, _) => Samples::Gray,
        (1, 2.., Some(premultiplied)) => Samples::GrayAlpha { premultiplied },
        (1, 2.., None) => Samples::Gray,
        (2, 3, _) => Samples::Rgb,
        (2, 4.., Some(premultiplied)) => Samples::RgbAlpha { premultiplied },
        (2, 4.., None) => Samples::Rgb,
        (p, s, _) => {
            return Err(format!(
                "photometric interpretation {p} with {s} samples: only RGB(A) or grey(+alpha) imagery"
            ));
        }
    };
    let spp = u16::try_from(spp).map_err(|_| format!("{spp} samples per pixel"))?;
    let planar = tag(d, Tag::PlanarConfiguration).unwrap_or(1) == 2;
    let tiled = d.get_chunk_type() == ChunkType::Tile;
    let chunk = if tiled {
        let tw = tag(d, Tag::TileWidth).unwrap_or(0);
        let th = tag(d, Tag::TileLength).unwrap_or(0);
        (tw, th)
    } else {
        (width, tag(d, Tag::RowsPerStrip).unwrap_or(height).clamp(1, height))
    };
    if chunk.0 == 0 || chunk.1 == 0 {
        return Err(format!("tile size {} × {}", chunk.0, chunk.1));
    }
    let per_pixel = if planar { 1 } else { u64::from(spp) };
    let chunk_bytes = u64::from(chunk.0) * u64::from(chunk.1) * per_pixel;
    if chunk_bytes > MAX_CHUNK_BYTES {
        let what = if tiled { "tile" } else { "strip" };
        return Err(format!(
            "a {what} of {} × {} pixels ({chunk_bytes} bytes) is over the {MAX_CHUNK_BYTES}-byte limit",
            chunk.0, chunk.1
        ));
    }
    let (across, down) = (width.div_ceil(chunk.0), height.div_ceil(chunk.1));
    let (offsets_tag, counts_tag) =
        if tiled { (Tag::TileOffsets, Tag::TileByteCounts) } else { (Tag::StripOffsets, Tag::StripByteCounts) };
    let offsets = d.find_tag_unsigned_vec::<u64>(offsets_tag).map_err(|e| e.to_string())?.unwrap_or_default();
    let counts = d.find_tag_unsigned_vec::<u64>(counts_tag).map_err(|e| e.to_string())?.unwrap_or_default();
    let expected = u64::from(across) * u64::from(down) * if planar { u64::from(spp) } else { 1 };
    if offsets.len() as u64 != expected || counts.len() as u64 != expected {
        return Err(format!(
            "{} chunk offsets and {} byte counts for {expected} chunks of {width} × {height} pixels",
            offsets.len(),
            counts.len()
        ));
    }
    Ok(Level {
        ifd,
        grid: LevelGrid { x0: 0.0, y0: 0.0, dx: 1.0, dy: 1.0, width: u64::from(width), height: u64::from(height) },
        chunk,
        tiled,
        across,
        down,
        spp,
        planar,
        samples,
        offsets,
        counts,
    })
}

impl ImagerySource for GeoTiffImagery {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn epsg(&self) -> u32 {
        self.epsg
    }

    fn extent(&self) -> [f64; 4] {
        self.extent
    }

    fn window(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        self.window_at(bbox, max_side, false, failures)
    }

    fn window_on_grid(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        self.window_at(bbox, max_side, true, failures)
    }
}

impl GeoTiffImagery {
    /// A window (see [`ImagerySource::window`]); `on_grid`: on the level's own pixels.
    fn window_at(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        on_grid: bool,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        let fail = |message: String| ImageryError::File { path: self.path.clone(), message };
        resample::check_bbox(bbox).map_err(fail)?;
        let k = self.level_for(bbox, max_side);
        let level = &self.levels[k];
        let cap = if on_grid { resample::MAX_WINDOW_SIDE } else { max_side };
        let Some(crop) = resample::crop(&level.grid, bbox, self.extent, cap) else {
            return Ok(resample::empty(self.epsg, bbox, max_side));
        };
        let (cw, ch) = (u64::from(level.chunk.0), u64::from(level.chunk.1));
        let (tx0, tx1) = (crop.cols.0 / cw, (crop.cols.1 - 1) / cw);
        let (ty0, ty1) = (crop.rows.0 / ch, (crop.rows.1 - 1) / ch);
        let count = (tx1 - tx0 + 1) * (ty1 - ty0 + 1);
        if count > MAX_WINDOW_TILES {
            return Err(fail(format!(
                "window needs {count} {} of level {k}, over the limit of {MAX_WINDOW_TILES}",
                if level.tiled { "tiles" } else { "strips" }
            )));
        }
        // Every tile's samples (planar files: the same bytes over several chunks).
        let decoded = count * cw * ch * u64::from(level.spp);
        if decoded > MAX_WINDOW_DECODED {
            return Err(fail(format!(
                "window needs {decoded} bytes decoded from level {k}, over the limit of {MAX_WINDOW_DECODED}"
            )));
        }
        let mut mosaic = Mosaic::new(crop).ok_or_else(|| fail("window too large".into()))?;
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        for ty in ty0..=ty1 {
            for tx in tx0..=tx1 {
                let index = (ty * u64::from(level.across) + tx) as u32;
                let (col, row) = (tx * cw, ty * ch);
                let w = cw.min(level.grid.width - col) as u32;
                let h = ch.min(level.grid.height - row) as u32;
                match self.read_chunk(&mut reader, level, index, w, h) {
                    Ok(rgba) => mosaic.add(col, row, w as usize, h as usize, &rgba),
                    Err(message) => failures.push(ImageryError::Tile {
                        source_name: self.name(),
                        z: k as u32,
                        x: tx as u32,
                        y: ty as u32,
                        message: format!(
                            "level {k} ({} × {} px) {} {index}: {message}",
                            level.grid.width,
                            level.grid.height,
                            if level.tiled { "tile" } else { "strip" }
                        ),
                    }),
                }
            }
        }
        Ok(mosaic.finish(self.epsg))
    }
}
