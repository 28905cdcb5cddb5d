//! # urbis_text: text for reports and labels
//!
//! One open font is bundled: Noto Sans CJK SC Regular, cut to Latin, Greek,
//! punctuation, units and all of GB 2312 (`fonts/README.md`; SIL OFL 1.1),
//! so Chinese names such as 大寒 draw as they are written. Text is laid
//! out (advances and kerning) and rasterised with anti-aliasing by
//! `ab_glyph`.
//!
//! ```text
//! &str ─► layout (glyph ids, pen positions, kerning) ─► coverage per pixel ─► draw_rgb (blend into an image)
//!                                                                          └► coverage callback (GPU atlases)
//! ```
//!
//! Characters the font lacks draw as its empty box (`.notdef`), never as
//! nothing; [`covers`] tells beforehand.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont, point};

/// The bundled font's bytes (OpenType, CFF outlines).
#[allow(clippy::large_include_file)] // 1.6 MB: the GB 2312 hanzi are most of it, and they are the point.
pub const FONT_BYTES: &[u8] = include_bytes!("../fonts/NotoSansCJKsc-Regular-GB2312.otf");

static FONT: LazyLock<FontRef<'static>> =
    LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES).expect("the bundled font is a valid OpenType file"));

/// The bundled font.
pub fn font() -> &'static FontRef<'static> {
    &FONT
}

/// Whether the font has a glyph for every character of `s` (whitespace aside).
pub fn covers(s: &str) -> bool {
    s.chars().filter(|c| !c.is_whitespace()).all(|c| font().glyph_id(c).0 != 0)
}

/// The font's typographic ascender and descender (OS/2 `sTypoAscender` 880,
/// `sTypoDescender` −120 of 1000 units): text boxes use these, not the
/// taller `hhea` line gap values.
const ASCENT_EM: f32 = 0.88;
const DESCENT_EM: f32 = 0.12;

/// `ab_glyph` scales by the `hhea` line height; this is the scale that makes
/// one em `px` pixels, as font sizes are meant.
fn scale(px: f32) -> PxScale {
    let f = font();
    PxScale::from(px * f.height_unscaled() / f.units_per_em().unwrap_or(1000.0))
}

/// The extent of `s` at `px` pixels per em: (width, height) in pixels, the
/// height being one line (ascender plus descender, one em for this font).
pub fn measure(s: &str, px: f32) -> (f32, f32) {
    let glyphs = layout(s, px);
    let scaled = font().as_scaled(scale(px));
    let width = glyphs.last().map_or(0.0, |g| g.position.x + scaled.h_advance(g.id));
    (width, (ASCENT_EM + DESCENT_EM) * px)
}

/// The glyphs of `s` on one line at `px` pixels per em, the pen starting at
/// x = 0 with the baseline at y = the ascender (so y = 0 is the line's top).
pub fn layout(s: &str, px: f32) -> Vec<Glyph> {
    let sc = scale(px);
    let scaled = font().as_scaled(sc);
    let mut x = 0.0f32;
    let mut prev = None;
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            x += scaled.kern(p, id);
        }
        out.push(id.with_scale_and_position(sc, point(x, ASCENT_EM * px)));
        x += scaled.h_advance(id);
        prev = Some(id);
    }
    out
}

/// Calls `f(x, y, coverage)` for every pixel `s` covers, the text's top-left
/// at (x0, y0); coverage is in (0, 1].
pub fn rasterize(s: &str, px: f32, (x0, y0): (f32, f32), mut f: impl FnMut(i32, i32, f32)) {
    for g in layout(s, px) {
        let Some(outline) = font().outline_glyph(g) else { continue };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, c| {
            if c > 0.0 {
                f((x0 + b.min.x).floor() as i32 + gx as i32, (y0 + b.min.y).floor() as i32 + gy as i32, c.min(1.0));
            }
        });
    }
}

/// Draws `s` into an RGB image, its top-left at (x, y), blending `color` by coverage.
pub fn draw_rgb(img: &mut image::RgbImage, (x, y): (f32, f32), s: &str, px: f32, color: [u8; 3]) {
    let (w, h) = img.dimensions();
    rasterize(s, px, (x, y), |px_, py, c| {
        if px_ >= 0 && py >= 0 && (px_ as u32) < w && (py as u32) < h {
            let p = img.get_pixel_mut(px_ as u32, py as u32);
            for (channel, target) in p.0.iter_mut().zip(color) {
                *channel = (*channel as f32 * (1.0 - c) + target as f32 * c).round() as u8;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_gb2312_and_latin() {
        assert!(covers("Max water depth (m) 0.25 km² ° ± × → θ Δ"));
        assert!(covers("大寒 日照 淹没 北京市 雄安新区 黄河 长江"));
        // The GB 2312 hanzi block runs 啊 … 齄.
        assert!(covers("啊齄"));
        assert!(!covers("𠀀"), "a CJK Extension B character is outside the subset");
    }

    #[test]
    fn hanzi_draw_as_distinct_glyphs_with_ink() {
        let mut ink = Vec::new();
        for s in ["大", "寒", "?"] {
            let mut img = image::RgbImage::from_pixel(40, 40, image::Rgb([255, 255, 255]));
            draw_rgb(&mut img, (4.0, 4.0), s, 28.0, [0, 0, 0]);
            let dark: Vec<bool> = img.pixels().map(|p| p.0[0] < 128).collect();
            assert!(dark.iter().filter(|d| **d).count() > 20, "{s} has ink");
            ink.push(dark);
        }
        assert_ne!(ink[0], ink[1], "大 and 寒 differ");
        assert_ne!(ink[0], ink[2]);
    }

    #[test]
    fn widths_add_up_and_scale() {
        let (a, h) = measure("Flood", 20.0);
        let (b, _) = measure("Flood Flood", 20.0);
        let (space, _) = measure(" ", 20.0);
        assert!((b - (2.0 * a + space)).abs() < 0.5, "{a} {b} {space}");
        let (c, h2) = measure("Flood", 40.0);
        assert!((c - 2.0 * a).abs() < 0.5 && (h2 - 2.0 * h).abs() < 0.5);
        // A full-width hanzi is one em wide, and a line one em high.
        assert!((measure("大", 20.0).0 - 20.0).abs() < 0.5);
        assert!((h - 20.0).abs() < 1e-3);
        // The ink of a capital sits inside the line box.
        let mut top = i32::MAX;
        rasterize("H", 100.0, (0.0, 0.0), |_, y, _| top = top.min(y));
        assert!((0..=20).contains(&top), "cap height top at {top} px of a 100 px line");
    }

    /// The same glyphs through `fontdue`, a separate rasteriser reading the
    /// same font file: their coverage images agree (normalised L1 difference
    /// under 0.25 at the best whole-pixel shift; the two place glyphs a
    /// fraction of a pixel apart) and their total ink, the outline's area,
    /// within 3 %. A control shows the measure tells glyphs apart (大 against
    /// 寒 differs by far more).
    #[test]
    fn glyphs_match_a_second_rasteriser() {
        use std::collections::HashMap;
        type Cov = HashMap<(i32, i32), f64>;
        let other = fontdue::Font::from_bytes(FONT_BYTES, fontdue::FontSettings::default()).expect("fontdue");
        let px = 48.0;
        let theirs = |c: char| -> Cov {
            let (m, bitmap) = other.rasterize(c, px);
            let mut cov = Cov::new();
            for y in 0..m.height {
                for x in 0..m.width {
                    let v = f64::from(bitmap[y * m.width + x]) / 255.0;
                    if v > 0.0 {
                        cov.insert((x as i32, y as i32), v);
                    }
                }
            }
            cov
        };
        let ours = |c: char| -> Cov {
            let mut cov = Cov::new();
            rasterize(&c.to_string(), px, (0.0, 0.0), |x, y, v| *cov.entry((x, y)).or_default() += f64::from(v));
            cov
        };
        let corner = |s: &Cov| (s.keys().map(|p| p.0).min().unwrap_or(0), s.keys().map(|p| p.1).min().unwrap_or(0));
        // The smallest normalised L1 distance over shifts of a pixel around the ink corners' alignment.
        let distance = |a: &Cov, b: &Cov| -> f64 {
            let ((ax, ay), (bx, by)) = (corner(a), corner(b));
            let mut best = f64::MAX;
            for (dx, dy) in (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))) {
                let moved: Cov = a.iter().map(|(&(x, y), &v)| ((x - ax + bx + dx, y - ay + by + dy), v)).collect();
                let keys: std::collections::HashSet<_> = moved.keys().chain(b.keys()).collect();
                let diff: f64 =
                    keys.iter().map(|k| (moved.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs()).sum();
                let total: f64 = moved.values().chain(b.values()).sum();
                best = best.min(diff / total);
            }
            best
        };
        for c in ['大', '寒', '雄', 'A', 'g', '°', '²'] {
            let (a, b) = (ours(c), theirs(c));
            assert!(!a.is_empty() && !b.is_empty(), "{c}: ink");
            let area = a.values().sum::<f64>() / b.values().sum::<f64>();
            assert!((area - 1.0).abs() < 0.03, "{c}: ink area ratio {area:.3}");
            let d = distance(&a, &b);
            assert!(d < 0.25, "{c}: coverage differs by {d:.3}");
        }
        let control = distance(&ours('大'), &theirs('寒'));
        assert!(control > 0.5, "大 against 寒: {control:.3}");
    }
}
