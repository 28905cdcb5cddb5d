//! Ops overlays placed in wall coordinates (issue 18): configured by
//! `[[overlay]]` tables of `wall.toml`. Placeholder: a clock only.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// One `[[overlay]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverlay {
    kind: Spanned<String>,
    rect: Spanned<[f64; 4]>,
}

/// A checked overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlaySpec {
    pub kind: String,
    /// West, south, width, height, wall metres.
    pub rect: [f64; 4],
}

/// Checks one table: the span (when known), the field and why on refusal.
pub(crate) fn check(raw: &RawOverlay) -> Result<OverlaySpec, (Option<Range<usize>>, &'static str, String)> {
    let [x, y, w, h] = *raw.rect.get_ref();
    if ![x, y, w, h].iter().all(|v| v.is_finite()) || w <= 0.0 || h <= 0.0 {
        return Err((Some(raw.rect.span()), "rect", "west, south, width > 0, height > 0 (metres)".into()));
    }
    Ok(OverlaySpec { kind: raw.kind.get_ref().clone(), rect: [x, y, w, h] })
}
