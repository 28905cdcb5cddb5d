//! Windows out of pixel pyramids, shared by the imagery sources.
//!
//! ```text
//! levels, finest first (GeoTIFF IFDs, XYZ zooms) + bbox + max_side
//!   ─► pick_level: the coarsest level that still gives max_side pixels
//!   ─► crop: the level's pixel rectangle under bbox ∩ extent, and the output
//!      grid (the level's own pixels, or fewer, boxed so that the longer side
//!      is max_side)
//!   ─► Mosaic::add(block of level pixels) for each tile or strip read
//!   ─► Mosaic::finish ─► GeoRaster
//! ```
//!
//! [`half`] is the 2 × 2 box the writers build overviews and coarser
//! sampling levels with.

use super::GeoRaster;

/// The largest window side a source returns; larger requests are clamped.
pub const MAX_WINDOW_SIDE: u32 = 4096;
/// The most tiles (or strips) one window may read.
pub const MAX_WINDOW_TILES: u64 = 4096;

/// A level's pixel grid: the centre of pixel (col, row) is at
/// (`x0 + (col + 0.5) · dx`, `y0 − (row + 0.5) · dy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LevelGrid {
    pub x0: f64,
    pub y0: f64,
    pub dx: f64,
    pub dy: f64,
    pub width: u64,
    pub height: u64,
}

/// Of `levels` (finest first), the coarsest one on which `bbox` still spans
/// at least `max_side` pixels along its longer side; the finest if none does.
pub(crate) fn pick_level(levels: &[LevelGrid], bbox: [f64; 4], max_side: u32) -> usize {
    let (bw, bh) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    let mut pick = 0;
    for (i, l) in levels.iter().enumerate() {
        let px = (bw / l.dx).max(bh / l.dy);
        if px >= f64::from(max_side) * (1.0 - 1e-9) {
            pick = i;
        } else {
            break;
        }
    }
    pick
}

/// The level pixels a window reads and the grid it is delivered on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Crop {
    /// Level columns `c0..c1` and rows `r0..r1`.
    pub cols: (u64, u64),
    pub rows: (u64, u64),
    /// Level pixels per output pixel along each axis (1: the level's own).
    pub scale: f64,
    /// The output grid.
    pub out: LevelGrid,
}

/// Largest crop side in level pixels (larger crops are refused by the
/// tile count first; this bounds the column and row maps).
const MAX_CROP_SIDE: u64 = 1 << 26;

/// The crop of `level` under `bbox ∩ extent` (west, south, east, north);
/// `None` when they do not overlap.
pub(crate) fn crop(level: &LevelGrid, bbox: [f64; 4], extent: [f64; 4], max_side: u32) -> Option<Crop> {
    let (w, s) = (bbox[0].max(extent[0]), bbox[1].max(extent[1]));
    let (e, n) = (bbox[2].min(extent[2]), bbox[3].min(extent[3]));
    if !(w < e && s < n) {
        return None;
    }
    const EPS: f64 = 1e-9;
    let clamp = |v: f64, hi: u64| if v.is_nan() || v <= 0.0 { 0 } else { (v.min(hi as f64)) as u64 };
    let c0 = clamp(((w - level.x0) / level.dx + EPS).floor(), level.width);
    let c1 = clamp(((e - level.x0) / level.dx - EPS).ceil(), level.width);
    let r0 = clamp(((level.y0 - n) / level.dy + EPS).floor(), level.height);
    let r1 = clamp(((level.y0 - s) / level.dy - EPS).ceil(), level.height);
    if c0 >= c1 || r0 >= r1 {
        return None;
    }
    let (cw, ch) = (c1 - c0, r1 - r0);
    let max_side = u64::from(max_side.clamp(1, MAX_WINDOW_SIDE));
    let scale = (cw.max(ch) as f64 / max_side as f64).max(1.0);
    let (ow, oh) = if scale == 1.0 {
        (cw, ch)
    } else {
        (((cw as f64 / scale).ceil() as u64).clamp(1, max_side), ((ch as f64 / scale).ceil() as u64).clamp(1, max_side))
    };
    Some(Crop {
        cols: (c0, c1),
        rows: (r0, r1),
        scale,
        out: LevelGrid {
            x0: level.x0 + c0 as f64 * level.dx,
            y0: level.y0 - r0 as f64 * level.dy,
            dx: level.dx * scale,
            dy: level.dy * scale,
            width: ow,
            height: oh,
        },
    })
}

/// Collects blocks of level pixels into a crop's output grid: copied when
/// the scale is 1, otherwise averaged over each output pixel's box (colours
/// weighted by alpha; pixels never added count as transparent).
pub(crate) struct Mosaic {
    crop: Crop,
    /// Scale 1: the output RGBA itself.
    direct: Vec<u8>,
    /// Scale > 1: per output pixel, Σ r·a, g·a, b·a and Σ a.
    sums: Vec<[f32; 4]>,
    /// Per crop column (row), its output column (row).
    col_out: Vec<u32>,
    row_out: Vec<u32>,
}

impl Mosaic {
    /// `None` when the crop is too large to map (see [`MAX_CROP_SIDE`]).
    pub(crate) fn new(crop: Crop) -> Option<Mosaic> {
        let (cw, ch) = (crop.cols.1 - crop.cols.0, crop.rows.1 - crop.rows.0);
        if cw > MAX_CROP_SIDE || ch > MAX_CROP_SIDE {
            return None;
        }
        let n = (crop.out.width * crop.out.height) as usize;
        let map = |len: u64, out: u64| -> Vec<u32> {
            (0..len).map(|c| (((c as f64 + 0.5) / crop.scale) as u64).min(out - 1) as u32).collect()
        };
        if crop.scale == 1.0 {
            Some(Mosaic { direct: vec![0; n * 4], sums: Vec::new(), col_out: Vec::new(), row_out: Vec::new(), crop })
        } else {
            let col_out = map(cw, crop.out.width);
            let row_out = map(ch, crop.out.height);
            Some(Mosaic { direct: Vec::new(), sums: vec![[0.0; 4]; n], col_out, row_out, crop })
        }
    }

    /// Adds a `w × h` block of RGBA level pixels whose top-left pixel is
    /// level pixel (`col`, `row`); the parts outside the crop are ignored.
    pub(crate) fn add(&mut self, col: u64, row: u64, w: usize, h: usize, rgba: &[u8]) {
        let (c0, c1) = self.crop.cols;
        let (r0, r1) = self.crop.rows;
        let (bx0, bx1) = (col.max(c0), (col + w as u64).min(c1));
        let (by0, by1) = (row.max(r0), (row + h as u64).min(r1));
        if bx0 >= bx1 || by0 >= by1 || rgba.len() < w * h * 4 {
            return;
        }
        let ow = self.crop.out.width as usize;
        for y in by0..by1 {
            let src_row = (y - row) as usize * w;
            let cy = (y - r0) as usize;
            if self.crop.scale == 1.0 {
                let o = (cy * ow + (bx0 - c0) as usize) * 4;
                let s = (src_row + (bx0 - col) as usize) * 4;
                let len = (bx1 - bx0) as usize * 4;
                self.direct[o..o + len].copy_from_slice(&rgba[s..s + len]);
                continue;
            }
            let orow = self.row_out[cy] as usize * ow;
            for x in bx0..bx1 {
                let s = (src_row + (x - col) as usize) * 4;
                let px = &rgba[s..s + 4];
                if px[3] == 0 {
                    continue;
                }
                let a = f32::from(px[3]);
                let acc = &mut self.sums[orow + self.col_out[(x - c0) as usize] as usize];
                acc[0] += f32::from(px[0]) * a;
                acc[1] += f32::from(px[1]) * a;
                acc[2] += f32::from(px[2]) * a;
                acc[3] += a;
            }
        }
    }

    /// The window, in CRS `epsg`.
    pub(crate) fn finish(self, epsg: u32) -> GeoRaster {
        let out = self.crop.out;
        let rgba = if self.crop.scale == 1.0 {
            self.direct
        } else {
            // Level pixels per output column and row (edges may have fewer).
            let count = |map: &[u32], n: u64| {
                let mut c = vec![0u32; n as usize];
                for &o in map {
                    c[o as usize] += 1;
                }
                c
            };
            let (cols, rows) = (count(&self.col_out, out.width), count(&self.row_out, out.height));
            let mut rgba = Vec::with_capacity(self.sums.len() * 4);
            for (i, s) in self.sums.iter().enumerate() {
                let n = (cols[i % out.width as usize] * rows[i / out.width as usize]).max(1) as f32;
                if s[3] <= 0.0 {
                    rgba.extend_from_slice(&[0, 0, 0, 0]);
                    continue;
                }
                let c = |k: usize| (s[k] / s[3]).round().clamp(0.0, 255.0) as u8;
                rgba.extend_from_slice(&[c(0), c(1), c(2), (s[3] / n).round().clamp(0.0, 255.0) as u8]);
            }
            rgba
        };
        GeoRaster {
            epsg,
            x0: out.x0,
            y0: out.y0,
            dx: out.dx,
            dy: out.dy,
            width: out.width as u32,
            height: out.height as u32,
            rgba,
        }
    }
}

/// An empty window (nothing of the source under the bbox).
pub(crate) fn empty(epsg: u32, bbox: [f64; 4], max_side: u32) -> GeoRaster {
    let side = f64::from(max_side.clamp(1, MAX_WINDOW_SIDE));
    let d = ((bbox[2] - bbox[0]).max(bbox[3] - bbox[1]) / side).max(f64::MIN_POSITIVE);
    GeoRaster { epsg, x0: bbox[0], y0: bbox[3], dx: d, dy: d, width: 0, height: 0, rgba: Vec::new() }
}

/// Checks a window request: a finite bbox with west < east and south < north.
pub(crate) fn check_bbox(bbox: [f64; 4]) -> Result<(), String> {
    if bbox.iter().all(|v| v.is_finite()) && bbox[0] < bbox[2] && bbox[1] < bbox[3] {
        Ok(())
    } else {
        Err(format!("bad window {bbox:?}: need finite west < east and south < north"))
    }
}

/// The raster at half resolution: each pixel the 2 × 2 box under it
/// (colours weighted by alpha, alpha averaged over the pixels present), the
/// same west and north edges, twice the pixel size; odd sizes round up.
pub(crate) fn half(r: &GeoRaster) -> GeoRaster {
    let (w, h) = (r.width as usize, r.height as usize);
    let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
    let mut rgba = Vec::with_capacity(hw * hh * 4);
    for y in 0..hh {
        for x in 0..hw {
            let mut acc = [0u32; 4];
            let mut n = 0u32;
            for (sx, sy) in [(2 * x, 2 * y), (2 * x + 1, 2 * y), (2 * x, 2 * y + 1), (2 * x + 1, 2 * y + 1)] {
                if sx >= w || sy >= h {
                    continue;
                }
                n += 1;
                let p = &r.rgba[(sy * w + sx) * 4..(sy * w + sx) * 4 + 4];
                let a = u32::from(p[3]);
                for k in 0..3 {
                    acc[k] += u32::from(p[k]) * a;
                }
                acc[3] += a;
            }
            if acc[3] == 0 {
                rgba.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                let c = |k: usize| ((acc[k] + acc[3] / 2) / acc[3]) as u8;
                rgba.extend_from_slice(&[c(0), c(1), c(2), ((acc[3] + n / 2) / n.max(1)) as u8]);
            }
        }
    }
    GeoRaster {
        epsg: r.epsg,
        x0: r.x0,
        y0: r.y0,
        dx: r.dx * 2.0,
        dy: r.dy * 2.0,
        width: hw as u32,
        height: hh as u32,
        rgba,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(dx: f64, n: u64) -> LevelGrid {
        LevelGrid { x0: 0.0, y0: 1024.0, dx, dy: dx, width: n, height: n }
    }

    #[test]
    fn picks_the_coarsest_level_with_enough_pixels() {
        let levels = [grid(1.0, 1024), grid(2.0, 512), grid(4.0, 256), grid(8.0, 128)];
        // 512 m at 256 px needs 2 m pixels: level 1; 300 px needs finer than
        // 2 m (512 / 300 = 1.7 m): level 0.
        assert_eq!(pick_level(&levels, [0.0, 0.0, 512.0, 100.0], 256), 1);
        assert_eq!(pick_level(&levels, [0.0, 0.0, 512.0, 100.0], 300), 0);
        assert_eq!(pick_level(&levels, [0.0, 0.0, 1024.0, 1024.0], 128), 3);
        assert_eq!(pick_level(&levels, [0.0, 0.0, 1024.0, 1024.0], 4000), 0, "finer than the finest");
    }

    #[test]
    fn crops_snap_outwards_and_box_down_to_max_side() {
        let g = grid(1.0, 1024);
        let c = crop(&g, [10.5, 1000.0, 20.0, 1014.2], [0.0, 0.0, 1024.0, 1024.0], 64).expect("overlap");
        assert_eq!((c.cols, c.rows, c.scale), ((10, 20), (9, 24), 1.0));
        assert_eq!((c.out.x0, c.out.y0, c.out.width, c.out.height), (10.0, 1015.0, 10, 15));
        let c = crop(&g, [0.0, 0.0, 2000.0, 512.0], [0.0, 0.0, 1024.0, 1024.0], 256).expect("overlap");
        assert_eq!((c.cols, c.rows, c.scale), ((0, 1024), (512, 1024), 4.0));
        assert_eq!((c.out.width, c.out.height, c.out.dx), (256, 128, 4.0));
        assert!(crop(&g, [2000.0, 0.0, 3000.0, 10.0], [0.0, 0.0, 1024.0, 1024.0], 256).is_none());
    }

    #[test]
    fn mosaic_boxes_with_alpha_and_counts_holes_as_clear() {
        // 4 × 2 level pixels into 2 × 1 output pixels (scale 2).
        let c = crop(&grid(1.0, 4), [0.0, 1020.0, 4.0, 1024.0], [0.0, 1020.0, 4.0, 1024.0], 2).expect("crop");
        assert_eq!((c.cols, c.rows, c.scale, c.out.width, c.out.height), ((0, 4), (0, 4), 2.0, 2, 2));
        let mut m = Mosaic::new(c).expect("small");
        // Top-left 2 × 2: red, red, blue, clear → colour (2 red + 1 blue)/3, alpha 3/4.
        m.add(0, 0, 2, 2, &[255, 0, 0, 255, 255, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0]);
        // Top-right: only one pixel added (a hole for the rest).
        m.add(3, 0, 1, 1, &[0, 200, 0, 255]);
        let r = m.finish(3857);
        assert_eq!(&r.rgba[0..4], &[170, 0, 85, 191]);
        assert_eq!(&r.rgba[4..8], &[0, 200, 0, 64]);
        assert_eq!(&r.rgba[8..16], &[0; 8], "never added");
    }

    #[test]
    fn half_averages_by_alpha_and_keeps_the_corner() {
        let r = GeoRaster {
            epsg: 4326,
            x0: 10.0,
            y0: 50.0,
            dx: 0.5,
            dy: 0.25,
            width: 3,
            height: 1,
            rgba: vec![100, 0, 0, 255, 200, 0, 0, 0, 30, 60, 90, 255],
        };
        let h = half(&r);
        assert_eq!((h.width, h.height, h.x0, h.y0, h.dx, h.dy), (2, 1, 10.0, 50.0, 1.0, 0.5));
        assert_eq!(h.rgba, vec![100, 0, 0, 128, 30, 60, 90, 255]);
    }
}
