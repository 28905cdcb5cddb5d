//! GeoTIFF orthophotos: the writer (tiles, deflate, overviews) checked
//! against the `tiff` crate's own decoder and tag reader; the reader's
//! registration (each pixel's colour encodes where it came from), windows vs
//! direct sampling, overview choice, reads of only the tiles a window needs,
//! striped / LZW / uncompressed files written by the `tiff` crate's encoder,
//! and hostile files with their exact messages.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{Compression, TiffEncoder, colortype};
use tiff::tags::Tag;
use urbis_formats::imagery::geotiff::{GeoTiffImagery, encode_rgb, write_rgb};
use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-imagery-geotiff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A raster whose every pixel names its own column and row: r = col % 256,
/// g = row % 256, b = 16 · (col / 256) + row / 256.
fn coded(width: u32, height: u32, alpha: bool) -> GeoRaster {
    let mut rgba = Vec::with_capacity((width * height * 4) as usize);
    for row in 0..height {
        for col in 0..width {
            let a = if alpha && (col + row) % 7 == 0 { 0 } else { 255 };
            rgba.extend_from_slice(&[(col % 256) as u8, (row % 256) as u8, (16 * (col / 256) + row / 256) as u8, a]);
        }
    }
    GeoRaster { epsg: 32650, x0: 500_000.0, y0: 3_400_000.0, dx: 0.5, dy: 0.5, width, height, rgba }
}

fn decode_col_row(px: &[u8]) -> (u32, u32) {
    (u32::from(px[0]) + 256 * u32::from(px[2] / 16), u32::from(px[1]) + 256 * u32::from(px[2] % 16))
}

#[test]
fn written_file_matches_an_independent_decoder() {
    let r = coded(600, 520, false);
    let bytes = encode_rgb(&r, true).expect("encode");
    let mut d = Decoder::new(Cursor::new(&bytes)).expect("tiff crate opens it");
    assert_eq!(d.dimensions().expect("dims"), (600, 520));
    assert_eq!(d.get_tag_u32(Tag::TileWidth).expect("tiled"), 256);
    assert_eq!(d.get_tag_u32(Tag::Compression).expect("compression"), 8, "deflate");
    assert_eq!(d.get_tag_f64_vec(Tag::ModelPixelScaleTag).expect("scale"), vec![0.5, 0.5, 0.0]);
    assert_eq!(
        d.get_tag_f64_vec(Tag::ModelTiepointTag).expect("tie"),
        vec![0.0, 0.0, 0.0, 500_000.0, 3_400_000.0, 0.0]
    );
    let keys = d.get_tag_u16_vec(Tag::GeoKeyDirectoryTag).expect("geokeys");
    assert!(keys.chunks_exact(4).any(|k| k == [3072, 0, 1, 32650]), "ProjectedCSTypeGeoKey: {keys:?}");
    let DecodingResult::U8(full) = d.read_image().expect("full image") else { panic!("8-bit") };
    let rgb: Vec<u8> = r.rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert!(full == rgb, "full resolution pixels differ");
    // Overviews: 300 × 260 (2 × 2 means), then 150 × 130, marked reduced-resolution.
    let mut sizes = Vec::new();
    while d.more_images() {
        d.next_image().expect("overview IFD");
        assert_eq!(d.get_tag_u32(Tag::NewSubfileType).expect("subfile type"), 1);
        sizes.push(d.dimensions().expect("dims"));
        if sizes.len() == 1 {
            let DecodingResult::U8(ov) = d.read_image().expect("overview") else { panic!("8-bit") };
            for (y, x) in [(0usize, 0usize), (5, 17), (259, 299), (100, 150)] {
                for k in 0..3 {
                    let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|(a, b)| u32::from(r.rgba[((2 * y + b) * 600 + 2 * x + a) * 4 + k]))
                        .sum();
                    assert_eq!(u32::from(ov[(y * 300 + x) * 3 + k]), (s + 2) / 4, "overview ({x}, {y}) band {k}");
                }
            }
        }
    }
    assert_eq!(sizes, vec![(300, 260), (150, 130)]);
}

#[test]
fn round_trip_registers_every_pixel_within_half_a_pixel() {
    let dir = temp_dir("register");
    let path = dir.join("ortho.tif");
    let r = coded(600, 520, true);
    write_rgb(&path, &r, true).expect("write");
    let src = GeoTiffImagery::open(&path).expect("open");
    assert_eq!(src.epsg(), 32650);
    assert_eq!(src.extent(), r.extent());
    let dims: Vec<(u32, u32)> = src.levels().iter().map(|l| (l.width, l.height)).collect();
    assert_eq!(dims, vec![(600, 520), (300, 260), (150, 130)]);
    // A window at full resolution across tile edges (256 px): every opaque
    // pixel's colour names the source pixel, whose centre (from the
    // writer's georeference) must be the window pixel's centre.
    let bbox = [500_100.3, 3_399_800.0, 500_200.0, 3_399_900.1];
    let mut failures = Vec::new();
    let w = src.window(bbox, 1024, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((w.width, w.height, w.dx), (200, 201, 0.5));
    let mut checked = 0;
    for row in 0..w.height {
        for col in 0..w.width {
            let o = ((row * w.width + col) * 4) as usize;
            let (x, y) = (w.x0 + (f64::from(col) + 0.5) * w.dx, w.y0 - (f64::from(row) + 0.5) * w.dy);
            let direct = r.sample(x, y);
            if w.rgba[o + 3] == 0 {
                assert_eq!(direct, None, "({col}, {row}) is clear only where the source is");
                continue;
            }
            let (sc, sr) = decode_col_row(&w.rgba[o..o + 4]);
            let (sx, sy) = (r.x0 + (f64::from(sc) + 0.5) * r.dx, r.y0 - (f64::from(sr) + 0.5) * r.dy);
            assert!((sx - x).abs() <= r.dx / 2.0 && (sy - y).abs() <= r.dy / 2.0, "({col}, {row}) from ({sc}, {sr})");
            assert_eq!(Some([w.rgba[o], w.rgba[o + 1], w.rgba[o + 2], w.rgba[o + 3]]), direct, "vs sampling");
            checked += 1;
        }
    }
    assert!(checked > 30_000, "{checked} pixels checked");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn overviews_are_chosen_by_the_requested_resolution() {
    let r = coded(600, 520, false);
    let src = GeoTiffImagery::from_reader(Cursor::new(encode_rgb(&r, true).expect("encode")), Path::new("mem.tif"))
        .expect("open");
    let all = r.extent();
    // 300 m wide: 150 px is exactly overview 2, 151 needs overview 1, 301 the full image.
    assert_eq!(src.level_for(all, 150), 2);
    assert_eq!(src.level_for(all, 151), 1);
    assert_eq!(src.level_for(all, 300), 1);
    assert_eq!(src.level_for(all, 301), 0);
    let mut failures = Vec::new();
    let w = src.window(all, 200, &mut failures).expect("window");
    assert!(failures.is_empty());
    // From overview 1 (1 m pixels), boxed to 200 px along the longer side.
    assert_eq!((w.width, w.height), (200, 174));
    assert!((w.dx - 1.5).abs() < 1e-12, "{}", w.dx);
    // Overview 2 read directly: each pixel the mean of a 4 × 4 block of the source.
    let w = src.window(all, 150, &mut failures).expect("window");
    assert_eq!((w.width, w.height, w.dx), (150, 130, 2.0));
    for (x, y) in [(0usize, 0usize), (37, 91), (149, 129)] {
        for k in 0..3 {
            let s: u32 = (0..4)
                .flat_map(|b| (0..4).map(move |a| (a, b)))
                .map(|(a, b)| u32::from(r.rgba[((4 * y + b) * 600 + 4 * x + a) * 4 + k]))
                .sum();
            let got = i32::from(w.rgba[(y * 150 + x) * 4 + k]);
            assert!((got - (s as f64 / 16.0).round() as i32).abs() <= 1, "({x}, {y}) band {k}: {got} vs {s}/16");
        }
    }
    assert!(failures.is_empty());
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_small_window_reads_a_few_tiles_not_the_file() {
    // Noise does not compress: 1024 × 1024 RGB is ~3 MB of tiles.
    let mut r = coded(1024, 1024, false);
    let mut h = 0x9E37_79B9u32;
    for v in r.rgba.iter_mut().filter(|v| **v != 255) {
        h ^= h << 13;
        h ^= h >> 17;
        h ^= h << 5;
        *v = (h >> 24) as u8;
    }
    let bytes = encode_rgb(&r, true).expect("encode");
    let read = Arc::new(AtomicU64::new(0));
    let src = GeoTiffImagery::from_reader(
        Counting { inner: Cursor::new(bytes.clone()), read: read.clone() },
        Path::new("cog.tif"),
    )
    .expect("open");
    let at_open = read.load(Ordering::Relaxed);
    let mut failures = Vec::new();
    // 20 × 20 m inside one tile of the full image.
    let w = src.window([500_010.0, 3_399_800.0, 500_020.0, 3_399_810.0], 20, &mut failures).expect("window");
    assert!(failures.is_empty());
    assert_eq!((w.width, w.height), (20, 20));
    let total = read.load(Ordering::Relaxed);
    let file = bytes.len() as u64;
    // Headers plus one ~196 KB tile; a whole read would be ≥ the file.
    assert!(at_open < 4096, "opening read {at_open} bytes");
    assert!(total < file / 8, "read {total} of {file} bytes");
    assert!(total > file / 40, "read {total}: at least the tile (control)");
}

/// A striped GeoTIFF by the `tiff` crate's encoder, EPSG:4326 GeoKeys.
fn striped<C: colortype::ColorType<Inner = u8>>(r: &GeoRaster, compression: Compression, spp: usize) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = TiffEncoder::new(&mut buf).expect("encoder").with_compression(compression);
        let mut img = enc.new_image::<C>(r.width, r.height).expect("image");
        img.rows_per_strip(7).expect("strips");
        img.encoder().write_tag(Tag::ModelPixelScaleTag, &[r.dx, r.dy, 0.0][..]).expect("scale");
        img.encoder().write_tag(Tag::ModelTiepointTag, &[0.0, 0.0, 0.0, r.x0, r.y0, 0.0][..]).expect("tie");
        img.encoder()
            .write_tag(Tag::GeoKeyDirectoryTag, &[1u16, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326][..])
            .expect("keys");
        let data: Vec<u8> = r.rgba.chunks_exact(4).flat_map(|p| p[..spp].to_vec()).collect();
        img.write_data(&data).expect("data");
    }
    buf.into_inner()
}

#[test]
fn striped_lzw_deflate_and_uncompressed_files_read_like_the_source() {
    let mut r = coded(90, 61, false);
    (r.epsg, r.x0, r.y0, r.dx, r.dy) = (4326, 115.0, 39.0, 0.001, 0.0005);
    for (compression, name) in [
        (Compression::Lzw, "lzw"),
        (Compression::Deflate(Default::default()), "deflate"),
        (Compression::Uncompressed, "none"),
    ] {
        let bytes = striped::<colortype::RGB8>(&r, compression, 3);
        let src = GeoTiffImagery::from_reader(Cursor::new(bytes), Path::new(name)).expect(name);
        assert_eq!(src.epsg(), 4326, "{name}");
        assert_eq!(src.levels()[0].chunk, (90, 7), "{name}: strips of 7 rows");
        assert!(!src.levels()[0].tiled);
        let mut failures = Vec::new();
        let w = src.window([115.01, 38.98, 115.05, 38.99], 500, &mut failures).expect(name);
        assert!(failures.is_empty(), "{name}: {failures:?}");
        assert_eq!((w.width, w.height), (40, 20), "{name}");
        for (i, px) in w.rgba.chunks_exact(4).enumerate() {
            let (col, row) = (i as u32 % w.width, i as u32 / w.width);
            let (x, y) = (w.x0 + (f64::from(col) + 0.5) * w.dx, w.y0 - (f64::from(row) + 0.5) * w.dy);
            assert_eq!(Some([px[0], px[1], px[2], px[3]]), r.sample(x, y), "{name} ({col}, {row})");
        }
    }
    // RGBA strips (the encoder writes no ExtraSamples): clear pixels come back clear.
    let a = coded(40, 30, true);
    let src = GeoTiffImagery::from_reader(
        Cursor::new(striped::<colortype::RGBA8>(&a, Compression::Uncompressed, 4)),
        Path::new("rgba.tif"),
    )
    .expect("rgba");
    let w = src.window(a.extent(), 64, &mut Vec::new()).expect("window");
    assert!(w.rgba == a.rgba, "RGBA pixels");
}

fn err_text(e: ImageryError) -> String {
    e.to_string()
}

#[test]
fn truncated_and_foreign_files_name_the_file_and_the_tile() {
    let dir = temp_dir("bad");
    let r = coded(600, 520, false);
    let good = encode_rgb(&r, true).expect("encode");
    // The full image's tile 1 (column 1, row 0): its offset and size, by the tiff crate.
    let mut d = Decoder::new(Cursor::new(&good)).expect("decoder");
    let offsets = d.get_tag_u64_vec(Tag::TileOffsets).expect("offsets");
    let counts = d.get_tag_u64_vec(Tag::TileByteCounts).expect("counts");
    // Cut the file in the middle of the full image's data (stored last).
    let cut = (offsets[1] + counts[1] / 2) as usize;
    let path = dir.join("cut.tif");
    std::fs::write(&path, &good[..cut]).expect("write");
    let src = GeoTiffImagery::open(&path).expect("IFDs come first, so it opens");
    let mut failures = Vec::new();
    let w = src.window(r.extent(), 600, &mut failures).expect("window with holes");
    assert_eq!((w.width, w.height), (600, 520));
    let lost: Vec<(u32, u32)> = failures
        .iter()
        .map(|f| match f {
            ImageryError::Tile { z: 0, x, y, .. } => (*x, *y),
            other => panic!("{other}"),
        })
        .collect();
    assert!(lost.contains(&(1, 0)) && !lost.contains(&(0, 0)), "{lost:?}");
    let text = failures.iter().map(|f| f.to_string()).find(|t| t.contains("tile 0/1/0")).expect("tile 1");
    let expected = format!(
        "{}: tile 0/1/0: level 0 (600 × 520 px) tile 1: at byte {} ({} bytes): ",
        path.display(),
        offsets[1],
        counts[1]
    );
    assert!(text.starts_with(&expected), "{text}\nvs {expected}");
    // Tile 0 was read: its pixels are there; tile 1's are a hole.
    assert_eq!(&w.rgba[0..4], &[0, 0, 0, 255]);
    assert_eq!(w.rgba[(300 * 4) + 3], 0, "hole");

    // Cut inside the first IFD: refused at open, naming it.
    std::fs::write(&path, &good[..40]).expect("write");
    let e = err_text(GeoTiffImagery::open(&path).expect_err("cut IFD"));
    assert!(e.starts_with(&format!("{}: IFD 0: ", path.display())), "{e}");
    // Not a TIFF at all.
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n not a tiff").expect("write");
    assert_eq!(
        err_text(GeoTiffImagery::open(&path).expect_err("png")),
        format!("{}: not a TIFF (no II*/MM* header at byte 0)", path.display())
    );
    let missing = dir.join("missing.tif");
    assert!(
        err_text(GeoTiffImagery::open(&missing).expect_err("missing"))
            .starts_with(&format!("{}: cannot open: ", missing.display()))
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// An IFD entry of a hand-made TIFF: tag, field type, value bytes.
type Raw = (u16, u16, Vec<u8>);

fn longs(tag: u16, v: &[u32]) -> Raw {
    (tag, 4, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

fn shorts(tag: u16, v: &[u16]) -> Raw {
    (tag, 3, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

fn doubles(tag: u16, v: &[f64]) -> Raw {
    (tag, 12, v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// A minimal little-endian TIFF: one IFD from `entries(data_at)`, its
/// arrays after it, then `data` (which starts at `data_at`).
fn handmade(entries: impl Fn(u32) -> Vec<Raw>, data: &[u8]) -> Vec<u8> {
    let probe = entries(0);
    let ifd_end = 8 + 2 + 12 * probe.len() + 4;
    let data_at = (ifd_end + probe.iter().map(|e| e.2.len()).filter(|l| *l > 4).sum::<usize>()) as u32;
    let list = entries(data_at);
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    out.extend_from_slice(&(list.len() as u16).to_le_bytes());
    let mut extra = Vec::new();
    for (tag, ty, bytes) in &list {
        let size = if *ty == 3 {
            2
        } else if *ty == 12 {
            8
        } else {
            4
        };
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&((bytes.len() / size) as u32).to_le_bytes());
        if bytes.len() <= 4 {
            let mut v = [0u8; 4];
            v[..bytes.len()].copy_from_slice(bytes);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&((ifd_end + extra.len()) as u32).to_le_bytes());
            extra.extend_from_slice(bytes);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&extra);
    assert_eq!(out.len(), data_at as usize);
    out.extend_from_slice(data);
    out
}

/// An RGB, deflate, georeferenced tiled image whose every tile is `tile_data`.
fn tiled(w: u32, h: u32, tile: u32, tiles: usize, tile_data: &[u8]) -> Vec<u8> {
    handmade(
        |at| {
            vec![
                longs(256, &[w]),
                longs(257, &[h]),
                shorts(258, &[8, 8, 8]),
                shorts(259, &[8]),
                shorts(262, &[2]),
                shorts(277, &[3]),
                longs(322, &[tile]),
                longs(323, &[tile]),
                longs(324, &vec![at; tiles]),
                longs(325, &vec![tile_data.len() as u32; tiles]),
                doubles(33550, &[1.0, 1.0, 0.0]),
                doubles(33922, &[0.0, 0.0, 0.0, 500_000.0, 3_400_000.0, 0.0]),
                shorts(34735, &[1, 1, 0, 1, 3072, 0, 1, 32650]),
            ]
        },
        tile_data,
    )
}

#[test]
fn hostile_sizes_and_tile_counts_are_refused_before_reading() {
    let open = |bytes: Vec<u8>| GeoTiffImagery::from_reader(Cursor::new(bytes), Path::new("evil.tif"));
    // One deflated 16 × 16 grey tile.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &[128u8; 16 * 16 * 3]).expect("deflate");
    let tile = z.finish().expect("deflate");
    // Control: the same layout, honest, opens and reads.
    let ok = open(tiled(32, 32, 16, 4, &tile)).expect("honest file");
    let w = ok.window(ok.extent(), 32, &mut Vec::new()).expect("window");
    assert_eq!(&w.rgba[..4], &[128, 128, 128, 255]);
    // 100000 × 100000 pixels in 16-px tiles (39 million) with four offsets.
    let e = err_text(open(tiled(100_000, 100_000, 16, 4, &tile)).expect_err("tile count"));
    // (the `tiff` crate's own check; the reader's would say the same in its words).
    assert_eq!(e, "evil.tif: IFD 0: format error: inconsistent sizes encountered");
    // One 65536-px tile: decoding it would take 12 GiB.
    let e = err_text(open(tiled(65_536, 65_536, 65_536, 1, &tile)).expect_err("tile size"));
    assert_eq!(
        e,
        "evil.tif: IFD 0: a tile of 65536 × 65536 pixels (12884901888 bytes) is over the 67108864-byte limit"
    );
    // 4096 × 4096 in 16-px tiles: a whole-image window would read 65536 tiles.
    let many = open(tiled(4096, 4096, 16, 65_536, &tile)).expect("opens");
    let e = err_text(many.window(many.extent(), 4096, &mut Vec::new()).expect_err("window"));
    assert_eq!(e, "evil.tif: window needs 65536 tiles of level 0, over the limit of 4096");
    // A small window of the same file is fine.
    let w = many.window([500_000.0, 3_399_990.0, 500_010.0, 3_400_000.0], 10, &mut Vec::new()).expect("small");
    assert_eq!((w.width, w.height, &w.rgba[..4]), (10, 10, &[128u8, 128, 128, 255][..]));
    // Non-georeferenced: named.
    let plain = handmade(
        |at| {
            vec![
                longs(256, &[16]),
                longs(257, &[16]),
                shorts(258, &[8, 8, 8]),
                shorts(259, &[8]),
                shorts(262, &[2]),
                shorts(277, &[3]),
                longs(322, &[16]),
                longs(323, &[16]),
                longs(324, &[at]),
                longs(325, &[tile.len() as u32]),
            ]
        },
        &tile,
    );
    assert_eq!(
        err_text(open(plain).expect_err("no georeference")),
        "evil.tif: IFD 0: no ModelPixelScale / ModelTiepoint tags: not georeferenced"
    );
}
