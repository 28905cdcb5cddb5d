//! MBTiles 1.3 files written here with SQLite (the spec's schema: `metadata`
//! (name, value) and `tiles` (zoom_level, tile_column, tile_row, tile_data),
//! TMS rows): tiles come back at the flipped row, windows equal the same
//! pyramid read as XYZ files, and broken schemas, odd values and corrupt
//! blobs are named with the file and tile.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use urbis_formats::imagery::mbtiles::MbTiles;
use urbis_formats::imagery::xyz::{self, XyzOptions, XyzSource, write_xyz};
use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-imagery-mbtiles-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A Web Mercator raster: a colour ramp.
fn raster() -> GeoRaster {
    let (cx, cy) = xyz::lonlat_to_mercator(2.35, 48.85);
    let (w, h) = (300u32, 200u32);
    let mut rgba = Vec::new();
    for row in 0..h {
        for col in 0..w {
            rgba.extend_from_slice(&[(col * 255 / w) as u8, (row * 255 / h) as u8, 128, 255]);
        }
    }
    GeoRaster { epsg: 3857, x0: cx - 450.0, y0: cy + 300.0, dx: 3.0, dy: 3.0, width: w, height: h, rgba }
}

/// Writes the XYZ pyramid in `dir` into an MBTiles file, as the spec lays it out.
fn mbtiles_from(dir: &Path, file: &Path, zooms: std::ops::RangeInclusive<u32>, bounds: [f64; 4]) {
    let db = Connection::open(file).expect("create");
    db.execute_batch(
        "CREATE TABLE metadata (name text, value text);
         CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
         CREATE UNIQUE INDEX tile_index on tiles (zoom_level, tile_column, tile_row);",
    )
    .expect("schema");
    let (w, s) = xyz::mercator_to_lonlat(bounds[0], bounds[1]);
    let (e, n) = xyz::mercator_to_lonlat(bounds[2], bounds[3]);
    for (k, v) in [
        ("name", "test".to_string()),
        ("format", "png".to_string()),
        ("bounds", format!("{w},{s},{e},{n}")),
        ("minzoom", zooms.start().to_string()),
        ("maxzoom", zooms.end().to_string()),
    ] {
        db.execute("INSERT INTO metadata (name, value) VALUES (?1, ?2)", params![k, v]).expect("metadata");
    }
    for z in zooms {
        for x in std::fs::read_dir(dir.join(z.to_string())).expect("zoom").flatten() {
            let col: u32 = x.file_name().to_string_lossy().parse().expect("column");
            for y in std::fs::read_dir(x.path()).expect("column").flatten() {
                let row: u32 = y.path().file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).expect("row");
                let tms = (1u32 << z) - 1 - row;
                let data = std::fs::read(y.path()).expect("tile");
                db.execute("INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)", params![z, col, tms, data]).expect("tile");
            }
        }
    }
}

#[test]
fn tiles_are_read_at_tms_rows_and_windows_equal_the_xyz_pyramid() {
    let dir = temp_dir("roundtrip");
    let r = raster();
    let written = write_xyz(&dir.join("xyz"), &r, 14..=16).expect("xyz");
    let file = dir.join("t.mbtiles");
    mbtiles_from(&dir.join("xyz"), &file, 14..=16, written.bounds);
    let mb = MbTiles::open(&file).expect("open");
    let meta = mb.metadata();
    assert_eq!((meta.format.as_str(), meta.min_zoom, meta.max_zoom, meta.tile_size), ("png", 14, 16, 256));
    assert_eq!(meta.name.as_deref(), Some("test"));
    // Tile (z, x, y) is the file z/x/y.png; the unflipped row is not (control).
    let (tx, ty) = xyz::tile_for_lonlat(2.35, 48.85, 16);
    let file_tile = std::fs::read(dir.join(format!("xyz/16/{tx}/{ty}.png"))).expect("file");
    assert_eq!(mb.tile(16, tx, ty).expect("read").as_deref(), Some(&file_tile[..]));
    assert_eq!(mb.tile(16, tx, (1 << 16) - 1 - ty).expect("read"), None, "row {ty} unflipped is empty");
    let xyz_src = XyzSource::files(
        &format!("{}/xyz/{{z}}/{{x}}/{{y}}.png", dir.display()),
        XyzOptions { min_zoom: 14, max_zoom: 16, bounds: Some(mb.extent()), ..Default::default() },
    )
    .expect("xyz");
    let (cx, cy) = xyz::lonlat_to_mercator(2.35, 48.85);
    for (half, side) in [(300.0, 256u32), (400.0, 64), (200.0, 1000)] {
        let bbox = [cx - half, cy - half, cx + half, cy + half];
        let (mut f1, mut f2) = (Vec::new(), Vec::new());
        let a = mb.window(bbox, side, &mut f1).expect("mbtiles window");
        let b = xyz_src.window(bbox, side, &mut f2).expect("xyz window");
        assert!(f1.is_empty() && f2.is_empty(), "{f1:?} {f2:?}");
        assert_eq!(a, b, "half {half}, side {side}");
        assert!(a.rgba.chunks_exact(4).filter(|p| p[3] == 255).count() > 1000);
    }
    // Against the source raster at pixel centres: a ramp, so within a few levels.
    let bbox = [cx - 300.0, cy - 250.0, cx + 300.0, cy + 250.0];
    let w = mb.window(bbox, 1024, &mut Vec::new()).expect("window");
    let mut n = 0;
    for row in (0..w.height).step_by(7) {
        for col in (0..w.width).step_by(7) {
            let (x, y) = (w.x0 + (f64::from(col) + 0.5) * w.dx, w.y0 - (f64::from(row) + 0.5) * w.dy);
            let (Some(want), o) = (r.sample(x, y), ((row * w.width + col) * 4) as usize) else { continue };
            for (k, (got, want)) in w.rgba[o..o + 3].iter().zip(want).enumerate() {
                assert!((i32::from(*got) - i32::from(want)).abs() <= 3, "({col}, {row}) band {k}");
            }
            n += 1;
        }
    }
    assert!(n > 1000, "{n}");
    std::fs::remove_dir_all(&dir).ok();
}

fn open_err(file: &Path) -> String {
    MbTiles::open(file).expect_err("refused").to_string()
}

#[test]
fn broken_schemas_and_values_name_the_file() {
    let dir = temp_dir("broken");
    let make = |name: &str, sql: &str| {
        let f = dir.join(name);
        Connection::open(&f).expect("create").execute_batch(sql).expect("sql");
        f
    };
    let meta = "CREATE TABLE metadata (name text, value text); INSERT INTO metadata VALUES ('format', 'png');";
    let f = make("no_tiles.mbtiles", meta);
    assert_eq!(open_err(&f), format!("{}: no `tiles` table or view: not an MBTiles file (MBTiles 1.3)", f.display()));
    let f = make(
        "no_meta.mbtiles",
        "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);",
    );
    assert_eq!(
        open_err(&f),
        format!("{}: no `metadata` table or view: not an MBTiles file (MBTiles 1.3)", f.display())
    );
    let f = make(
        "text_data.mbtiles",
        &format!(
            "{meta} CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data text);"
        ),
    );
    assert_eq!(open_err(&f), format!("{}: table `tiles`: column `tile_data` is declared TEXT, not BLOB", f.display()));
    let f = make(
        "text_zoom.mbtiles",
        &format!("{meta} CREATE TABLE tiles (zoom_level text, tile_column integer, tile_row integer, tile_data blob);"),
    );
    assert_eq!(
        open_err(&f),
        format!("{}: table `tiles`: column `zoom_level` is declared TEXT, not INTEGER", f.display())
    );
    let f = make(
        "no_row.mbtiles",
        &format!("{meta} CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_data blob);"),
    );
    assert_eq!(
        open_err(&f),
        format!(
            "{}: table `tiles` has no column `tile_row` (MBTiles 1.3: zoom_level, tile_column, tile_row, tile_data)",
            f.display()
        )
    );
    let tiles = "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);";
    let f = make(
        "pbf.mbtiles",
        &format!(
            "{tiles} CREATE TABLE metadata (name text, value text); INSERT INTO metadata VALUES ('format', 'pbf');"
        ),
    );
    assert_eq!(open_err(&f), format!("{}: metadata format `pbf` unsupported: png or jpg raster tiles", f.display()));
    let f = make("empty.mbtiles", &format!("{meta} {tiles}"));
    assert_eq!(open_err(&f), format!("{}: table `tiles` is empty", f.display()));
    let f = make("bounds.mbtiles", &format!("{meta} {tiles} INSERT INTO metadata VALUES ('bounds', '10,50,9,51');"));
    assert_eq!(
        open_err(&f),
        format!("{}: metadata bounds `10,50,9,51`: need west,south,east,north degrees", f.display())
    );
    let f = make(
        "zoom.mbtiles",
        &format!("{meta} {tiles} INSERT INTO metadata VALUES ('minzoom', '0'), ('maxzoom', '99');"),
    );
    assert_eq!(open_err(&f), format!("{}: metadata maxzoom `99`: need a zoom of 0 to 30", f.display()));
    // Not SQLite at all, and no file.
    let f = dir.join("junk.mbtiles");
    std::fs::write(&f, vec![b'x'; 4096]).expect("junk");
    assert_eq!(open_err(&f), format!("{}: not a readable SQLite database: file is not a database", f.display()));
    let f = dir.join("missing.mbtiles");
    assert!(open_err(&f).starts_with(&format!("{}: cannot open: ", f.display())));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupt_and_mistyped_blobs_leave_holes_named_by_tile() {
    let dir = temp_dir("blobs");
    let r = raster();
    let written = write_xyz(&dir.join("xyz"), &r, 16..=16).expect("xyz");
    let file = dir.join("t.mbtiles");
    mbtiles_from(&dir.join("xyz"), &file, 16..=16, written.bounds);
    let (tx, ty) = xyz::tile_for_lonlat(2.35, 48.85, 16);
    let row = |y: u32| (1u32 << 16) - 1 - y;
    {
        let db = Connection::open(&file).expect("open rw");
        db.execute(
            "UPDATE tiles SET tile_data = ?1 WHERE zoom_level = 16 AND tile_column = ?2 AND tile_row = ?3",
            params![vec![0x89u8, b'P', b'N', b'G', 0, 0, 0, 0], tx, row(ty)],
        )
        .expect("corrupt");
        db.execute(
            "UPDATE tiles SET tile_data = 'text' WHERE zoom_level = 16 AND tile_column = ?1 AND tile_row = ?2",
            params![tx + 1, row(ty)],
        )
        .expect("text");
    }
    let mb = MbTiles::open(&file).expect("open");
    let b = xyz::tile_bounds(tx, ty, 16);
    let bbox = [b[0] + 5.0, b[1] + 5.0, b[2] + 100.0, b[3] - 5.0];
    let mut failures = Vec::new();
    let w = mb.window(bbox, 1024, &mut failures).expect("window");
    let texts: Vec<String> = failures.iter().map(ImageryError::to_string).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    let f = file.display();
    assert!(texts[0].starts_with(&format!("{f}: tile 16/{tx}/{ty}: PNG decoding failed: ")), "{}", texts[0]);
    assert!(texts[0].ends_with(&format!("(zoom_level 16, tile_column {tx}, tile_row {})", row(ty))), "{}", texts[0]);
    assert_eq!(
        texts[1],
        format!(
            "{f}: tile 16/{}/{ty}: tile_data is TEXT, not a BLOB (zoom_level 16, tile_column {}, tile_row {})",
            tx + 1,
            tx + 1,
            row(ty)
        )
    );
    assert!(w.rgba.chunks_exact(4).all(|p| p[3] == 0), "both tiles under the window are holes");
    std::fs::remove_dir_all(&dir).ok();
}
