//! Text metrics for the overlay panels: estimated advances of the bundled
//! font, panel sizes and the scale that fits a rectangle.

use super::*;

/// Estimated advance of `c`, ems: the bundled font's (Noto Sans CJK SC)
/// rounded up, full width for CJK, symbols and punctuation past U+2000.
pub(super) fn advance(c: char) -> f32 {
    match c {
        ' ' => 0.26,
        'i' | 'l' | 'j' | 'I' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.33,
        'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '{' | '}' | '-' => 0.4,
        'M' | 'W' | 'm' | 'w' | '@' | '%' => 0.95,
        'A'..='Z' | '&' => 0.75,
        '0'..='9' => 0.6,
        '×' | '÷' => 1.0,
        c if c >= '\u{2000}' => 1.0,
        _ => 0.65,
    }
}

/// Estimated width of `s` at `em` pixels per em.
pub fn text_width(s: &str, em: f32) -> f32 {
    s.chars().map(advance).sum::<f32>() * em
}

/// Estimated size of a panel at `scale` (as urbis_render's `panel_size`), pixels.
pub fn text_size(title: Option<&str>, lines: &[String], scale: f32) -> (f32, f32) {
    let em = (EM * scale).round();
    let all = title.into_iter().chain(lines.iter().map(String::as_str));
    let width = all.clone().map(|l| text_width(l, em)).fold(0.0, f32::max);
    (width.ceil() + 2.0 * PAD * scale, all.count() as f32 * LINE_HEIGHT * scale + 2.0 * PAD * scale)
}

/// Rounds a scale down to a quarter step, within [`MIN_SCALE`], [`MAX_SCALE`].
pub(super) fn quantize(s: f32) -> f32 {
    ((s * 4.0).floor() / 4.0).clamp(MIN_SCALE, MAX_SCALE)
}

/// The scale at which `n` lines fill at most `h` pixels.
pub(super) fn scale_for_height(n: usize, h: f32) -> f32 {
    h / (n as f32 * LINE_HEIGHT + 2.0 * PAD)
}

/// The largest scale at which the panel fits `w` × `h` pixels.
pub(super) fn fit_scale(title: Option<&str>, lines: &[String], w: f32, h: f32) -> f32 {
    let n = usize::from(title.is_some()) + lines.len();
    let widest =
        title.into_iter().chain(lines.iter().map(String::as_str)).map(|l| text_width(l, 1.0)).fold(0.0, f32::max);
    // width at scale s ≤ widest × (8.5 s + 0.5) + 1 + 12 s (the em rounds to whole pixels).
    let by_width = (w - 0.5 * widest - 1.0) / (EM * widest + 2.0 * PAD);
    quantize(scale_for_height(n, h).min(by_width))
}

/// `s` cut to at most `w` pixels at `em`, with an ellipsis when cut.
pub(super) fn truncate(s: &str, w: f32, em: f32) -> String {
    if text_width(s, em) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = text_width("…", em);
    for c in s.chars() {
        used += advance(c) * em;
        if used > w {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
