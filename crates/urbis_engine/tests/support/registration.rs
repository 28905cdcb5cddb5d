//! The registration fixture shared by the imagery tests: a flat DEM in UTM
//! 50N, an orthophoto of coloured squares at known georeferenced centres,
//! and the measure of where a square lands on screen.

use std::path::{Path, PathBuf};

use glam::DVec3;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::CityModel;
use urbis_model::imagery::GeoRaster;

pub const UTM50N: Epsg = Epsg(32650);
/// South-west corner of the test DEMs, UTM 50N (near 116.3°E, 39.9°N).
pub const X0: f64 = 440_000.0;
pub const Y0: f64 = 4_416_000.0;

/// Writes an ESRI ASCII grid (`n × n` cells of `cell` m from (X0, Y0)) in UTM 50N.
pub fn write_dem(dir: &Path, n: usize, cell: f64, height: impl Fn(f64, f64) -> f64) -> PathBuf {
    let mut text = format!("ncols {n}\nnrows {n}\nxllcorner {X0}\nyllcorner {Y0}\ncellsize {cell}\n");
    for r in 0..n {
        let y = Y0 + (n - r) as f64 * cell - cell / 2.0;
        let row: Vec<String> = (0..n).map(|c| format!("{:.3}", height(X0 + (c as f64 + 0.5) * cell, y))).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    let path = dir.join("dem.asc");
    std::fs::write(&path, text).expect("write dem");
    std::fs::write(dir.join("dem.prj"), "EPSG:32650\n").expect("write prj");
    path
}

/// A raster of `w × h` pixels of `px` CRS units from (x0, y0) north-west, coloured by `f(x, y)` at pixel centres.
pub fn raster(epsg: u32, x0: f64, y0: f64, px: f64, w: u32, h: u32, f: impl Fn(f64, f64) -> [u8; 4]) -> GeoRaster {
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for r in 0..h {
        for c in 0..w {
            rgba.extend(f(x0 + (f64::from(c) + 0.5) * px, y0 - (f64::from(r) + 0.5) * px));
        }
    }
    GeoRaster { epsg, x0, y0, dx: px, dy: px, width: w, height: h, rgba }
}

/// A CRS position in the model's ENU frame, the way the loaders place data (CRS → ECEF → ENU).
pub fn to_enu(model: &CityModel, crs: Epsg, p: DVec3) -> DVec3 {
    let t = CrsTransform::new(crs, Epsg::ECEF).expect("transform");
    model.frame().ecef_to_enu(t.transform(p).expect("placed"))
}

/// Square centres (UTM 50N) and colours of the registration orthophoto; 12 m squares.
pub const SQUARES: [((f64, f64), [u8; 3]); 4] = [
    ((X0 + 50.0, Y0 + 150.0), [230, 20, 20]),
    ((X0 + 150.0, Y0 + 160.0), [20, 210, 20]),
    ((X0 + 60.0, Y0 + 50.0), [20, 20, 230]),
    ((X0 + 140.0, Y0 + 45.0), [230, 220, 20]),
];

/// Which square colour a rendered pixel shows, if any (hue dominance).
pub fn square_of(p: [u8; 4]) -> Option<usize> {
    let [r, g, b] = [p[0], p[1], p[2]].map(f32::from);
    let dominant = |a: f32, o1: f32, o2: f32| a > 60.0 && a > 1.8 * o1 && a > 1.8 * o2;
    if r > 60.0 && g > 60.0 && r > 1.8 * b && g > 1.8 * b && (r - g).abs() < 0.35 * r {
        Some(3)
    } else if dominant(r, g, b) {
        Some(0)
    } else if dominant(g, r, b) {
        Some(1)
    } else if dominant(b, r, g) {
        Some(2)
    } else {
        None
    }
}

/// The centroid of a square weighted by how much of its colour each pixel
/// holds (unmixing from the background at the border of a box of `half`
/// pixels around `rough` to the colour at its middle), so that pixels its
/// edges cut in part count in part.
pub fn weighted_centroid(img: &image::RgbaImage, rough: (f64, f64), half: i64) -> (f64, f64) {
    let (x0, y0) = (rough.0.floor() as i64, rough.1.floor() as i64);
    let px = |x: i64, y: i64| {
        let p = img.get_pixel(x.clamp(0, img.width() as i64 - 1) as u32, y.clamp(0, img.height() as i64 - 1) as u32).0;
        [0, 1, 2].map(|i| f64::from(p[i]))
    };
    let mean = |pts: &[(i64, i64)]| {
        let s = pts.iter().fold([0.0; 3], |a, &(x, y)| {
            let p = px(x, y);
            [a[0] + p[0], a[1] + p[1], a[2] + p[2]]
        });
        s.map(|v| v / pts.len() as f64)
    };
    let border: Vec<(i64, i64)> = (-half..=half)
        .flat_map(|d| [(x0 + d, y0 - half), (x0 + d, y0 + half), (x0 - half, y0 + d), (x0 + half, y0 + d)])
        .collect();
    let core: Vec<(i64, i64)> = (-2..=2).flat_map(|dy| (-2..=2).map(move |dx| (x0 + dx, y0 + dy))).collect();
    let (bg, fg) = (mean(&border), mean(&core));
    let d = [fg[0] - bg[0], fg[1] - bg[1], fg[2] - bg[2]];
    let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
    for y in y0 - half + 1..y0 + half {
        for x in x0 - half + 1..x0 + half {
            let p = px(x, y);
            let f = (((p[0] - bg[0]) * d[0] + (p[1] - bg[1]) * d[1] + (p[2] - bg[2]) * d[2]) / dd).clamp(0.0, 1.0);
            sx += f * (x as f64 + 0.5);
            sy += f * (y as f64 + 0.5);
            sw += f;
        }
    }
    (sx / sw, sy / sw)
}

/// The registration orthophoto: 1 m pixels over 245 m from (X0 − 20, Y0 + 225),
/// grey with the [`SQUARES`] (12 m, aligned to pixel edges).
pub fn squares_photo() -> GeoRaster {
    raster(UTM50N.0, X0 - 20.0, Y0 + 225.0, 1.0, 245, 245, |x, y| {
        let inside = |&&((cx, cy), _): &&((f64, f64), [u8; 3])| (x - cx).abs() < 6.0 && (y - cy).abs() < 6.0;
        match SQUARES.iter().find(inside) {
            Some((_, [r, g, b])) => [*r, *g, *b, 255],
            None => [128, 128, 128, 255],
        }
    })
}
