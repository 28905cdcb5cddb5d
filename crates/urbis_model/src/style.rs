//! Attribute styles from a TOML file (`--style FILE`): rules of a query
//! and a colour, applied in order (a later rule wins where two match).
//!
//! ```toml
//! [[rule]]
//! when = "use = residential"      # Urbis' query language
//! color = "#f08020"               # sRGB hex, or [r, g, b] in 0..1 (sRGB)
//! mix = 0.8                       # how much of the feature's own colour it replaces (default 0.8)
//!
//! [[rule]]
//! when = "class = Road"
//! hide = true
//! ```
//!
//! ```text
//! TOML ──parse_style──► StyleFile (queries checked, colours made linear)
//!      ──apply──► FeatureStyle.color_override / visible of the matching entities
//! ```
//!
//! Every refusal names the file, the line and column, and the field.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::{CityModel, FeatureQuery, FeatureStyle};

/// Why a style file was refused.
#[derive(Debug, thiserror::Error)]
pub enum StyleError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Toml { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, field: String, message: String },
}

/// One checked rule.
#[derive(Debug, Clone)]
pub struct StyleRule {
    pub when: FeatureQuery,
    /// Linear RGB and the blend weight, as [`FeatureStyle::color_override`].
    pub color: Option<[f32; 4]>,
    pub hide: bool,
}

/// A checked style file.
#[derive(Debug, Clone, Default)]
pub struct StyleFile {
    pub rules: Vec<StyleRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: Spanned<String>,
    color: Option<Spanned<toml::Value>>,
    mix: Option<Spanned<f64>>,
    #[serde(default)]
    hide: bool,
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (line, column)
}

fn srgb_to_linear(c: f64) -> f32 {
    let c = c.clamp(0.0, 1.0);
    (if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }) as f32
}

/// An sRGB colour: `"#rrggbb"` or `[r, g, b]` in 0..1.
fn colour(v: &toml::Value) -> Result<[f64; 3], String> {
    match v {
        toml::Value::String(s) => {
            let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()));
            let hex = hex.ok_or_else(|| format!("`{s}` is not a colour like \"#f08020\""))?;
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map(|b| f64::from(b) / 255.0);
            Ok([byte(0), byte(2), byte(4)].map(|b| b.unwrap_or(0.0)))
        }
        toml::Value::Array(a) if a.len() == 3 => {
            let mut out = [0.0; 3];
            for (k, x) in a.iter().enumerate() {
                let x =
                    x.as_float().or_else(|| x.as_integer().map(|i| i as f64)).ok_or("components must be numbers")?;
                if !(0.0..=1.0).contains(&x) {
                    return Err(format!("component {k} is {x}, outside 0..1"));
                }
                out[k] = x;
            }
            Ok(out)
        }
        _ => Err("a colour is \"#rrggbb\" or [r, g, b] in 0..1".into()),
    }
}

/// Parses a style file's text; `path` names it in errors.
pub fn parse_style(text: &str, path: &Path) -> Result<StyleFile, StyleError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        StyleError::Toml { path: path.to_path_buf(), line, column, message: e.message().to_string() }
    })?;
    let invalid = |span: std::ops::Range<usize>, field: String, message: String| {
        let (line, column) = line_col(text, span.start);
        StyleError::Invalid { path: path.to_path_buf(), line, column, field, message }
    };
    let mut rules = Vec::with_capacity(raw.rule.len());
    for (k, r) in raw.rule.into_iter().enumerate() {
        let when = FeatureQuery::parse(r.when.get_ref())
            .map_err(|e| invalid(r.when.span(), format!("rule[{k}].when"), e.to_string()))?;
        let mix = match &r.mix {
            Some(m) if !(0.0..=1.0).contains(m.get_ref()) => {
                return Err(invalid(m.span(), format!("rule[{k}].mix"), format!("{} is outside 0..1", m.get_ref())));
            }
            Some(m) => *m.get_ref(),
            None => 0.8,
        };
        let color = match &r.color {
            Some(c) => {
                let rgb = colour(c.get_ref()).map_err(|m| invalid(c.span(), format!("rule[{k}].color"), m))?;
                Some([srgb_to_linear(rgb[0]), srgb_to_linear(rgb[1]), srgb_to_linear(rgb[2]), mix as f32])
            }
            None => None,
        };
        if color.is_none() && !r.hide {
            return Err(invalid(r.when.span(), format!("rule[{k}]"), "gives neither a color nor hide = true".into()));
        }
        rules.push(StyleRule { when, color, hide: r.hide });
    }
    Ok(StyleFile { rules })
}

/// Reads and parses a style file.
pub fn read_style(path: &Path) -> Result<StyleFile, StyleError> {
    let text = std::fs::read_to_string(path).map_err(|source| StyleError::Read { path: path.to_path_buf(), source })?;
    parse_style(&text, path)
}

impl StyleFile {
    /// Applies the rules in order to the model's features; returns how many features each rule matched.
    pub fn apply(&self, model: &mut CityModel) -> Vec<usize> {
        let mut counts = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let hits = model.select(&r.when);
            counts.push(hits.len());
            for e in hits {
                if let Some(mut s) = model.world.get_mut::<FeatureStyle>(e) {
                    if let Some(c) = r.color {
                        s.color_override = Some(c);
                    }
                    if r.hide {
                        s.visible = false;
                    }
                }
            }
        }
        counts
    }
}
