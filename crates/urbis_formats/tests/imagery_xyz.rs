//! XYZ / TMS pyramids: tile math against published values (mapbox/mercantile's
//! documented examples, the OpenStreetMap wiki's zoom table, the EPSG:3857
//! extent), a pyramid written from an EPSG:4326 raster checked pixel by pixel
//! against the slippy-map formulas computed here, windows vs sampling the
//! source, zoom choice, TMS rows, and missing / corrupt / odd tiles.

use std::path::{Path, PathBuf};

use urbis_formats::imagery::xyz::{
    self, WEB_MERCATOR_HALF, XyzOptions, XyzSource, tile_bounds, tile_for_lonlat, tile_lonlat_bounds, write_xyz,
};
use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-imagery-xyz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn tile_math_matches_published_values() {
    // mercantile README: ul(486, 332, 10) and bounds(486, 332, 10).
    let b = tile_lonlat_bounds(486, 332, 10);
    assert!(close(b[0], -9.140625, 1e-12) && close(b[3], 53.33087298301705, 1e-11), "{b:?}");
    assert!(close(b[2], -8.7890625, 1e-12) && close(b[1], 53.12040528310657, 1e-11), "{b:?}");
    // xy_bounds(486, 332, 10).
    let m = tile_bounds(486, 332, 10);
    for (got, want) in m.iter().zip([-1017529.7205322663, 7005300.768279833, -978393.962050256, 7044436.526761846]) {
        assert!(close(*got, want, 1e-6), "{m:?}");
    }
    // xy(ul(486, 332, 10)) and tile(ul(...), 10) = (486, 332); parent (243, 166).
    let (x, y) = xyz::lonlat_to_mercator(-9.140625, 53.33087298301705);
    assert!(close(x, -1017529.7205322663, 1e-6) && close(y, 7044436.526761846, 1e-6), "{x} {y}");
    assert_eq!(tile_for_lonlat(-9.140625, 53.33087298301705, 10), (486, 332));
    assert_eq!(tile_for_lonlat(-9.140625, 53.33087298301705, 9), (243, 166));
    // mercantile CLI: tiles of [-104.99, 39.99, -105, 40] at zoom 14, and their shapes.
    assert_eq!(tile_for_lonlat(-104.99, 40.0, 14), (3413, 6202));
    assert_eq!(tile_for_lonlat(-105.0, 39.99, 14), (3413, 6203));
    let t = tile_lonlat_bounds(3413, 6202, 14);
    for (got, want) in t.iter().zip([-105.00732421875, 39.9939556939733, -104.9853515625, 40.01078714046552]) {
        assert!(close(*got, want, 1e-12), "{t:?}");
    }
    assert!(close(tile_lonlat_bounds(3413, 6203, 14)[1], 39.977120098439634, 1e-12));
    // mercantile shapes of [106, 193, 9] (6 decimals).
    let t = tile_lonlat_bounds(106, 193, 9);
    for (got, want) in t.iter().zip([-105.46875, 39.909736, -104.765625, 40.446947]) {
        assert!(close(*got, want, 5e-7), "{t:?}");
    }
    // OSM wiki: zoom 0 is one tile of 360° × 170.1022°, zoom 1 tiles are 180° × 85.0511°.
    let z0 = tile_lonlat_bounds(0, 0, 0);
    // (The wiki truncates to 4 decimals.)
    assert!(close(z0[2] - z0[0], 360.0, 1e-12) && (0.0..1e-4).contains(&(z0[3] - z0[1] - 170.1022)), "{z0:?}");
    let z1 = tile_lonlat_bounds(1, 0, 1);
    assert!((0.0..1e-4).contains(&(z1[3] - z1[1] - 85.0511)) && close(z1[2] - z1[0], 180.0, 1e-12), "{z1:?}");
    // EPSG:3857's square: ±20037508.342789244 m.
    assert_eq!(tile_bounds(0, 0, 0), [-WEB_MERCATOR_HALF, -WEB_MERCATOR_HALF, WEB_MERCATOR_HALF, WEB_MERCATOR_HALF]);
    let (x, y) = xyz::lonlat_to_mercator(180.0, xyz::WEB_MERCATOR_MAX_LAT);
    assert!(close(x, 20037508.342789244, 1e-6) && close(y, 20037508.342789244, 1e-3), "{x} {y}");
    let (lon, lat) = xyz::mercator_to_lonlat(-1017529.7205322663, 7044436.526761846);
    assert!(close(lon, -9.140625, 1e-12) && close(lat, 53.33087298301705, 1e-11));
}

#[test]
fn templates_substitute_xyz_and_tms_rows() {
    let s = XyzSource::files("/t/{z}/{x}/{y}.png", XyzOptions::default()).expect("template");
    assert_eq!(s.url(3, 2, 1), "/t/3/2/1.png");
    let s = XyzSource::files("/t/{z}/{x}/{-y}.png", XyzOptions::default()).expect("template");
    assert_eq!(s.url(3, 2, 1), "/t/3/2/6.png", "TMS row = 2^z − 1 − y");
    let s = XyzSource::files("/t/{z}/{x}/{y}.png", XyzOptions { tms: true, ..Default::default() }).expect("tms");
    assert_eq!(s.url(3, 2, 1), "/t/3/2/6.png");
    let e = XyzSource::files("/t/{z}/{x}.png", XyzOptions::default()).expect_err("no {y}");
    assert_eq!(e.to_string(), "/t/{z}/{x}.png: template lacks {z}, {x} and {y} (or {-y})");
    let e = XyzSource::files("/t/{z}/{x}/{y}", XyzOptions { min_zoom: 5, max_zoom: 3, ..Default::default() })
        .expect_err("zooms");
    assert_eq!(e.to_string(), "/t/{z}/{x}/{y}: zooms 5..=3 (need min ≤ max ≤ 30)");
}

/// An EPSG:4326 raster of 0.00002° pixels over west..east × south..north: a
/// smooth colour ramp, blue 60.
fn ramp(west: f64, south: f64, east: f64, north: f64) -> GeoRaster {
    let (dx, dy) = (0.00002, 0.00002);
    let (w, h) = (((east - west) / dx).ceil() as u32, ((north - south) / dy).ceil() as u32);
    let mut rgba = Vec::new();
    for row in 0..h {
        for col in 0..w {
            rgba.extend_from_slice(&[(col * 200 / w) as u8, (row * 200 / h) as u8, 60, 255]);
        }
    }
    GeoRaster { epsg: 4326, x0: west, y0: north, dx, dy, width: w, height: h, rgba }
}

/// [`ramp`] near Munich with a white 5 × 5 pixel marker; returns the raster
/// and the marker's centre (lon, lat).
fn lonlat_raster() -> (GeoRaster, (f64, f64)) {
    let mut r = ramp(11.496, 48.1475, 11.5044, 48.1535);
    let (mc, mr) = (215u32, 160u32);
    for row in mr - 2..=mr + 2 {
        for col in mc - 2..=mc + 2 {
            let o = ((row * r.width + col) * 4) as usize;
            r.rgba[o..o + 4].copy_from_slice(&[255, 255, 255, 255]);
        }
    }
    let centre = (r.x0 + (f64::from(mc) + 0.5) * r.dx, r.y0 - (f64::from(mr) + 0.5) * r.dy);
    (r, centre)
}

fn read_png(path: &Path) -> image::RgbaImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_rgba8()
}

#[test]
fn pyramid_pixels_land_where_the_slippy_formulas_put_them() {
    let dir = temp_dir("register");
    let (r, (lon, lat)) = lonlat_raster();
    let written = write_xyz(&dir, &r, 16..=17).expect("write");
    assert_eq!((written.min_zoom, written.max_zoom), (16, 17));
    assert!(written.tiles >= 4 && written.bytes > 0, "{written:?}");
    let tj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tiles.json")).expect("tiles.json")).expect("json");
    assert_eq!((tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()), (Some(16), Some(17)));
    for z in [16u32, 17] {
        // Where the marker's centre must be: the OSM wiki's formulas, here.
        let n = f64::from(1u32 << z);
        let fx = (lon + 180.0) / 360.0 * n;
        let phi = lat.to_radians();
        let fy = (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
        let (tx, ty) = (fx.floor() as u32, fy.floor() as u32);
        let img = read_png(&dir.join(format!("{z}/{tx}/{ty}.png")));
        // The marker's centroid, weighted by how much whiter than the ramp each pixel is.
        let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
        for (px, py, p) in img.enumerate_pixels() {
            let wgt = (f64::from(p[2]) - 60.0).max(0.0);
            sx += wgt * (f64::from(px) + 0.5);
            sy += wgt * (f64::from(py) + 0.5);
            sw += wgt;
        }
        assert!(sw > 0.0, "zoom {z}: marker not in tile {tx}/{ty}");
        let (ex, ey) = ((fx - f64::from(tx)) * 256.0, (fy - f64::from(ty)) * 256.0);
        let (cx, cy) = (sx / sw, sy / sw);
        assert!(
            (cx - ex).abs() <= 0.5 && (cy - ey).abs() <= 0.5,
            "zoom {z}: marker at ({cx}, {cy}), expected ({ex}, {ey})"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn windows_match_sampling_the_source_and_zooms_follow_max_side() {
    let dir = temp_dir("window");
    let (r, _) = lonlat_raster();
    let w = write_xyz(&dir, &r, 14..=17).expect("write");
    let template = format!("{}/{{z}}/{{x}}/{{y}}.png", dir.display());
    let src = XyzSource::files(
        &template,
        XyzOptions { min_zoom: 14, max_zoom: 17, bounds: Some(w.bounds), ..Default::default() },
    )
    .expect("source");
    assert_eq!(src.epsg(), 3857);
    let (cx, cy) = xyz::lonlat_to_mercator(11.5, 48.15);
    // 600 m: 256 px need ≤ 2.34 m pixels: zoom 16 (2.39 m) is too coarse, 17 (1.19 m) is it.
    let bbox = [cx - 300.0, cy - 200.0, cx + 300.0, cy + 200.0];
    // The expected zoom: the coarsest in 14..=17 whose pixels (40075016.686 m
    // / 2^z / 256) put at least `side` of them across the 600 m.
    let expected = |side: u32| {
        (14..=17u32)
            .find(|z| 600.0 / (40_075_016.685_578_49 / 256.0 / f64::from(1u32 << z)) >= f64::from(side))
            .unwrap_or(17)
    };
    for side in [4000u32, 600, 502, 256, 251, 125, 60, 20] {
        let zoom = src.zoom_for(bbox, side);
        assert_eq!(zoom, expected(side), "side {side}");
        let mut failures = Vec::new();
        let win = src.window(bbox, side, &mut failures).expect("window");
        assert!(failures.is_empty(), "{failures:?}");
        let res = xyz::resolution(zoom, 256);
        // Read at that zoom: its own pixels, or boxed down to `side`.
        let native = ((bbox[2] - bbox[0]) / res).ceil().max(((bbox[3] - bbox[1]) / res).ceil()) as u32;
        if native <= side {
            assert!((win.dx - res).abs() < 1e-9, "side {side}: dx {} vs {res}", win.dx);
        } else {
            assert_eq!(win.width.max(win.height), side, "side {side}");
            assert!(win.dx > res, "side {side}");
        }
    }
    assert_eq!((expected(256), expected(251), expected(125), expected(20), expected(4000)), (17, 16, 15, 14, 17));
    // Each window pixel against the source sampled at its centre (EPSG:3857 →
    // lon/lat in closed form here): a colour ramp, so a few levels apart.
    let mut failures = Vec::new();
    let win = src.window(bbox, 512, &mut failures).expect("window");
    let mut worst = 0i32;
    let mut n = 0;
    for row in (0..win.height).step_by(3) {
        for col in (0..win.width).step_by(3) {
            let (x, y) = (win.x0 + (f64::from(col) + 0.5) * win.dx, win.y0 - (f64::from(row) + 0.5) * win.dy);
            let (lon, lat) = xyz::mercator_to_lonlat(x, y);
            let Some(want) = r.sample(lon, lat) else { continue };
            let o = ((row * win.width + col) * 4) as usize;
            if want[2] != 60 || win.rgba[o + 2] != 60 {
                continue; // the marker's edges
            }
            for (got, want) in win.rgba[o..o + 3].iter().zip(want) {
                worst = worst.max((i32::from(*got) - i32::from(want)).abs());
            }
            n += 1;
        }
    }
    assert!(n > 5000, "{n} pixels compared");
    assert!(worst <= 2, "largest difference {worst}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tms_layout_reads_the_same_as_xyz() {
    let dir = temp_dir("tms");
    let (r, _) = lonlat_raster();
    write_xyz(&dir.join("xyz"), &r, 16..=16).expect("write");
    // Copy into TMS rows.
    for x in std::fs::read_dir(dir.join("xyz/16")).expect("zoom dir").flatten() {
        for y in std::fs::read_dir(x.path()).expect("column").flatten() {
            let row: u32 = y.path().file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).expect("row");
            let to = dir.join("tms/16").join(x.file_name()).join(format!("{}.png", (1u32 << 16) - 1 - row));
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(y.path(), to).expect("copy");
        }
    }
    let opts = XyzOptions { min_zoom: 16, max_zoom: 16, ..Default::default() };
    let a = XyzSource::files(&format!("{}/xyz/{{z}}/{{x}}/{{y}}.png", dir.display()), opts.clone()).expect("xyz");
    let b = XyzSource::files(&format!("{}/tms/{{z}}/{{x}}/{{-y}}.png", dir.display()), opts.clone()).expect("tms");
    let c = XyzSource::files(&format!("{}/tms/{{z}}/{{x}}/{{y}}.png", dir.display()), XyzOptions { tms: true, ..opts })
        .expect("tms flag");
    let (cx, cy) = xyz::lonlat_to_mercator(11.5, 48.15);
    let bbox = [cx - 200.0, cy - 200.0, cx + 200.0, cy + 200.0];
    let (mut fa, mut fb, mut fc) = (Vec::new(), Vec::new(), Vec::new());
    let wa = a.window(bbox, 256, &mut fa).expect("a");
    assert!(fa.is_empty() && wa.rgba.chunks_exact(4).any(|p| p[3] == 255));
    assert_eq!(wa, b.window(bbox, 256, &mut fb).expect("b"));
    assert_eq!(wa, c.window(bbox, 256, &mut fc).expect("c"));
    assert!(fb.is_empty() && fc.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_corrupt_and_odd_tiles_leave_holes_and_are_reported() {
    let dir = temp_dir("holes");
    // A raster over the 3 × 3 tiles around (tx, ty) at zoom 16 and a bit more.
    let (tx, ty) = tile_for_lonlat(11.5, 48.15, 16);
    let (nw, se) = (tile_lonlat_bounds(tx - 1, ty - 1, 16), tile_lonlat_bounds(tx + 1, ty + 1, 16));
    let r = ramp(nw[0] - 0.0005, se[1] - 0.0005, se[2] + 0.0005, nw[3] + 0.0005);
    write_xyz(&dir, &r, 16..=16).expect("write");
    let template = format!("{}/{{z}}/{{x}}/{{y}}.png", dir.display());
    let src =
        XyzSource::files(&template, XyzOptions { min_zoom: 16, max_zoom: 16, ..Default::default() }).expect("src");
    let (gone, bad, odd) = ((tx, ty), (tx + 1, ty), (tx, ty + 1));
    let path = |t: (u32, u32)| dir.join(format!("16/{}/{}.png", t.0, t.1));
    std::fs::remove_file(path(gone)).expect("remove");
    std::fs::write(path(bad), b"<html>not a tile</html>").expect("corrupt");
    let mut big = Vec::new();
    image::RgbaImage::new(512, 512)
        .write_to(&mut std::io::Cursor::new(&mut big), image::ImageFormat::Png)
        .expect("png");
    std::fs::write(path(odd), big).expect("odd");
    // The four tiles (tx..tx+1, ty..ty+1), inset by 10 m.
    let b0 = tile_bounds(tx, ty, 16);
    let b1 = tile_bounds(tx + 1, ty + 1, 16);
    let bbox = [b0[0] + 10.0, b1[1] + 10.0, b1[2] - 10.0, b0[3] - 10.0];
    let mut failures = Vec::new();
    let w = src.window(bbox, 512, &mut failures).expect("window with holes");
    let texts: Vec<String> = failures.iter().map(ImageryError::to_string).collect();
    assert_eq!(
        texts,
        vec![
            format!("{template}: tile 16/{}/{}: not found ({})", gone.0, gone.1, path(gone).display()),
            format!(
                "{template}: tile 16/{}/{}: not a PNG or JPEG image (starts with [3c 68 74 6d 6c 3e 6e 6f], 23 bytes) ({})",
                bad.0,
                bad.1,
                path(bad).display()
            ),
            format!(
                "{template}: tile 16/{}/{}: PNG tile is 512 × 512 px, not 256 × 256 ({})",
                odd.0,
                odd.1,
                path(odd).display()
            ),
        ]
    );
    // Holes: the missing tile's part is clear, the good tile's (tx+1, ty+1) part is not.
    let at = |x: f64, y: f64| {
        let (c, r) = (((x - w.x0) / w.dx) as u32, ((w.y0 - y) / w.dy) as u32);
        w.rgba[((r * w.width + c) * 4 + 3) as usize]
    };
    let mid = |b: [f64; 4]| ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let (gx, gy) = mid(tile_bounds(gone.0, gone.1, 16));
    let (kx, ky) = mid(tile_bounds(tx + 1, ty + 1, 16));
    assert_eq!(at(gx, gy), 0, "missing tile → hole");
    assert_eq!(at(kx, ky), 255, "good tile drawn (control)");
    // A window that would need millions of tiles is refused.
    let deep =
        XyzSource::files(&template, XyzOptions { min_zoom: 18, max_zoom: 18, ..Default::default() }).expect("src");
    let e = deep.window([0.0, 0.0, 100_000.0, 100_000.0], 256, &mut Vec::new()).expect_err("too many tiles");
    let per_side = (100_000.0 / xyz::resolution(18, 256) / 256.0).ceil() as u64;
    assert_eq!(
        e.to_string(),
        format!("{template}: window needs {} tiles at zoom 18, over the limit of 4096", per_side * per_side)
    );
    std::fs::remove_dir_all(&dir).ok();
}
