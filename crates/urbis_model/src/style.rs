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
//!
//! [[rule]]
//! when = "class = Vegetation"
//! opacity = 0.3                   # see-through (X-ray); 1 = opaque
//!
//! [[ramp]]                        # colour by a numeric attribute
//! attribute = "height"
//! when = "class = Building"       # optional: which features
//! stops = [[0, "#2c7bb6"], [40, "#ffffbf"], [120, "#d7191c"]]
//! mix = 1.0
//!
//! [[extrude]]                     # height from an attribute
//! attribute = "floors"
//! metres_per_unit = 3.2
//! ```
//!
//! Rules, then ramps, then extrusions apply in file order; later ones win.
//!
//! ```text
//! TOML ──parse_style──► StyleFile (queries checked, colours made linear)
//!      ──apply──► FeatureStyle (colour, visibility, opacity, height scale) of the matching entities
//!      ◄─to_toml── (the style editor saves what it edited)
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
    /// The query as written.
    pub query: String,
    /// Linear RGB and the blend weight, as [`FeatureStyle::color_override`].
    pub color: Option<[f32; 4]>,
    /// The colour as written (sRGB, 0..1).
    pub color_srgb: Option<[f64; 3]>,
    pub hide: bool,
    /// 0 (invisible) to 1 (opaque).
    pub opacity: Option<f32>,
}

/// A colour ramp over a numeric attribute.
#[derive(Debug, Clone)]
pub struct StyleRamp {
    pub attribute: String,
    pub when: Option<(String, FeatureQuery)>,
    /// Values in increasing order, with sRGB colours (0..1).
    pub stops: Vec<(f64, [f64; 3])>,
    pub mix: f32,
}

/// Heights from a numeric attribute.
#[derive(Debug, Clone)]
pub struct StyleExtrude {
    pub attribute: String,
    pub when: Option<(String, FeatureQuery)>,
    pub metres_per_unit: f64,
}

/// A checked style file.
#[derive(Debug, Clone, Default)]
pub struct StyleFile {
    pub rules: Vec<StyleRule>,
    pub ramps: Vec<StyleRamp>,
    pub extrusions: Vec<StyleExtrude>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    ramp: Vec<RawRamp>,
    #[serde(default)]
    extrude: Vec<RawExtrude>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRamp {
    attribute: Spanned<String>,
    when: Option<Spanned<String>>,
    stops: Spanned<Vec<(f64, toml::Value)>>,
    mix: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtrude {
    attribute: Spanned<String>,
    when: Option<Spanned<String>>,
    metres_per_unit: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: Spanned<String>,
    color: Option<Spanned<toml::Value>>,
    mix: Option<Spanned<f64>>,
    #[serde(default)]
    hide: bool,
    opacity: Option<Spanned<f64>>,
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
        let color_srgb = match &r.color {
            Some(c) => Some(colour(c.get_ref()).map_err(|m| invalid(c.span(), format!("rule[{k}].color"), m))?),
            None => None,
        };
        let color = color_srgb.map(|rgb| linear(rgb, mix as f32));
        let opacity = match &r.opacity {
            Some(o) if !(0.0..=1.0).contains(o.get_ref()) => {
                let message = format!("{} is outside 0..1", o.get_ref());
                return Err(invalid(o.span(), format!("rule[{k}].opacity"), message));
            }
            Some(o) => Some(*o.get_ref() as f32),
            None => None,
        };
        if color.is_none() && !r.hide && opacity.is_none() {
            let message = "gives none of color, opacity or hide = true".into();
            return Err(invalid(r.when.span(), format!("rule[{k}]"), message));
        }
        rules.push(StyleRule { when, query: r.when.into_inner(), color, color_srgb, hide: r.hide, opacity });
    }
    let when = |w: Option<Spanned<String>>, field: String| match w {
        Some(w) => FeatureQuery::parse(w.get_ref())
            .map(|q| Some((w.get_ref().clone(), q)))
            .map_err(|e| invalid(w.span(), field, e.to_string())),
        None => Ok(None),
    };
    let mut ramps = Vec::with_capacity(raw.ramp.len());
    for (k, r) in raw.ramp.into_iter().enumerate() {
        let mix = match &r.mix {
            Some(m) if !(0.0..=1.0).contains(m.get_ref()) => {
                return Err(invalid(m.span(), format!("ramp[{k}].mix"), format!("{} is outside 0..1", m.get_ref())));
            }
            Some(m) => *m.get_ref() as f32,
            None => 1.0,
        };
        let span = r.stops.span();
        let mut stops = Vec::with_capacity(r.stops.get_ref().len());
        for (i, (v, c)) in r.stops.into_inner().into_iter().enumerate() {
            let rgb = colour(&c).map_err(|m| invalid(span.clone(), format!("ramp[{k}].stops[{i}]"), m))?;
            if !v.is_finite() || stops.last().is_some_and(|(prev, _)| v <= *prev) {
                let message = format!("{v}: stop values must be finite and increase");
                return Err(invalid(span.clone(), format!("ramp[{k}].stops[{i}]"), message));
            }
            stops.push((v, rgb));
        }
        if stops.is_empty() {
            return Err(invalid(span, format!("ramp[{k}].stops"), "a ramp needs at least one stop".into()));
        }
        let when = when(r.when, format!("ramp[{k}].when"))?;
        ramps.push(StyleRamp { attribute: r.attribute.into_inner(), when, stops, mix });
    }
    let mut extrusions = Vec::with_capacity(raw.extrude.len());
    for (k, x) in raw.extrude.into_iter().enumerate() {
        let m = *x.metres_per_unit.get_ref();
        if !(m.is_finite() && m > 0.0 && m < 10_000.0) {
            let message = format!("{m} is not a positive number of metres under 10,000");
            return Err(invalid(x.metres_per_unit.span(), format!("extrude[{k}].metres_per_unit"), message));
        }
        let when = when(x.when, format!("extrude[{k}].when"))?;
        extrusions.push(StyleExtrude { attribute: x.attribute.into_inner(), when, metres_per_unit: m });
    }
    Ok(StyleFile { rules, ramps, extrusions })
}

fn linear(rgb: [f64; 3], weight: f32) -> [f32; 4] {
    [srgb_to_linear(rgb[0]), srgb_to_linear(rgb[1]), srgb_to_linear(rgb[2]), weight]
}

/// The ramp's sRGB colour at `v`: linear interpolation between the stops
/// around it (in linear light), the end colours beyond them.
pub fn ramp_color(stops: &[(f64, [f64; 3])], v: f64) -> Option<[f32; 3]> {
    let first = stops.first()?;
    let last = stops.last()?;
    let lin = |c: [f64; 3]| c.map(|x| f64::from(srgb_to_linear(x)));
    let out = if v <= first.0 {
        lin(first.1)
    } else if v >= last.0 {
        lin(last.1)
    } else {
        let i = stops.windows(2).position(|w| v >= w[0].0 && v <= w[1].0)?;
        let (a, b) = (stops[i], stops[i + 1]);
        let t = (v - a.0) / (b.0 - a.0);
        let (ca, cb) = (lin(a.1), lin(b.1));
        [0, 1, 2].map(|k| ca[k] + (cb[k] - ca[k]) * t)
    };
    Some(out.map(|x| x as f32))
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
                    if let Some(o) = r.opacity {
                        s.opacity = o;
                    }
                }
            }
        }
        let chosen = |model: &mut CityModel, when: &Option<(String, FeatureQuery)>| match when {
            Some((_, q)) => model.select(q),
            None => {
                let t = model.features();
                (0..t.index_capacity()).filter_map(|i| t.entity(i)).collect::<Vec<_>>()
            }
        };
        for r in &self.ramps {
            let mut n = 0;
            for e in chosen(model, &r.when) {
                let v = model.world.get::<crate::Attributes>(e).and_then(|a| a.get(&r.attribute)?.as_f64());
                let Some(c) = v.and_then(|v| ramp_color(&r.stops, v)) else { continue };
                if let Some(mut s) = model.world.get_mut::<FeatureStyle>(e) {
                    s.color_override = Some([c[0], c[1], c[2], r.mix]);
                    n += 1;
                }
            }
            counts.push(n);
        }
        for x in &self.extrusions {
            let mut n = 0;
            for e in chosen(model, &x.when) {
                let v = model.world.get::<crate::Attributes>(e).and_then(|a| a.get(&x.attribute)?.as_f64());
                let modelled = model.world.get::<crate::Bounds>(e).map(|b| b.max.z - b.min.z);
                let (Some(v), Some(h)) = (v, modelled) else { continue };
                if !(v.is_finite() && v >= 0.0 && h > 0.01) {
                    continue;
                }
                if let Some(mut s) = model.world.get_mut::<FeatureStyle>(e) {
                    s.height_scale = (v * x.metres_per_unit / h).min(1000.0) as f32;
                    n += 1;
                }
            }
            counts.push(n);
        }
        counts
    }

    /// The style as a TOML file that [`parse_style`] reads back to the same style.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write;
        let hex = |c: [f64; 3]| {
            let b = c.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
            format!("\"#{:02x}{:02x}{:02x}\"", b[0], b[1], b[2])
        };
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::from("# Urbis style (urbis view's style editor, or by hand; see docs/GUIDE.md)\n");
        for r in &self.rules {
            let _ = write!(out, "\n[[rule]]\nwhen = {}\n", q(&r.query));
            if let (Some(c), Some(l)) = (r.color_srgb, r.color) {
                let _ = write!(out, "color = {}\nmix = {}\n", hex(c), l[3]);
            }
            if r.hide {
                out.push_str("hide = true\n");
            }
            if let Some(o) = r.opacity {
                let _ = writeln!(out, "opacity = {o}");
            }
        }
        for r in &self.ramps {
            let _ = write!(out, "\n[[ramp]]\nattribute = {}\n", q(&r.attribute));
            if let Some((w, _)) = &r.when {
                let _ = writeln!(out, "when = {}", q(w));
            }
            let stops: Vec<String> = r.stops.iter().map(|(v, c)| format!("[{v:?}, {}]", hex(*c))).collect();
            let _ = write!(out, "stops = [{}]\nmix = {}\n", stops.join(", "), r.mix);
        }
        for x in &self.extrusions {
            let _ = write!(out, "\n[[extrude]]\nattribute = {}\n", q(&x.attribute));
            if let Some((w, _)) = &x.when {
                let _ = writeln!(out, "when = {}", q(w));
            }
            let _ = writeln!(out, "metres_per_unit = {:?}", x.metres_per_unit);
        }
        out
    }
}
