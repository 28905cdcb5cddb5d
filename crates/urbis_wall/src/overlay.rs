//! Ops overlays placed in wall coordinates (issue 18): an alarm list, KPI
//! tiles, time-series charts and a clock, configured by `[[overlay]]` tables
//! of `wall.toml` and laid out in the wall canvas' pixels
//! ([`WallLayout::canvas`]) as plain text panels and polylines.
//!
//! ```text
//! [[overlay]] ─► check ─► OverlaySpec ┐
//! OpsData (now, sensors, alarms) ─────┼─► layout ─► Vec<OverlayItem> (canvas px)
//! WallLayout (canvas density) ────────┘     └─► batches: one per text scale (urbis_render's Overlay)
//!                                           └─► for_display: shifted to one display's pixels
//! ```
//!
//! ```toml
//! [[overlay]]
//! kind = "clock"
//! rect = [0.1, 1.5, 0.8, 0.25]    # west, south, width, height, wall metres
//! title = "Beijing"               # optional, every kind
//! utc_offset_hours = 8            # optional (default 0), a multiple of 0.25, -14 to 14
//! format = "%Y-%m-%d\n%H:%M:%S"   # optional: %Y %m %d %H %M %S %a %b %z %%, lines split at \n
//!
//! [[overlay]]
//! kind = "alarms"
//! rect = [0.1, 0.1, 1.4, 1.2]
//! rows = 8                        # optional (default 8, 1 to 50): active first, newest first
//! quantity = "water_level"        # optional filter (and/or sensors = [...])
//! utc_offset_hours = 8            # optional, for the times shown
//!
//! [[overlay]]
//! kind = "kpi"
//! rect = [1.7, 1.3, 0.6, 0.4]
//! metric = "max"                  # sensors | alarms | latest | mean | min | max (of latest values)
//! quantity = "water_level"        # optional filter (and/or sensors = ["gauge-01", ...])
//! unit = "m"                      # optional (default: the sensors' unit when they share one)
//! decimals = 2                    # optional (default 1), 0 to 6
//!
//! [[overlay]]
//! kind = "chart"
//! rect = [1.7, 0.1, 1.4, 1.1]
//! sensors = ["gauge-01", "gauge-02"]   # 1 to 8
//! window_s = 3600                 # optional (default 3600): the last so many seconds
//! axis = "shared"                 # optional: shared (default) or each (every line scaled alone)
//! decimals = 2                    # optional (default 1): the legend's values
//! ```
//!
//! Text follows urbis_render's overlay panels: at scale `s` glyphs are
//! `round(8.5 s)` px on `10 s` px lines with `6 s` px padding, and a panel is
//! as wide as its text. The scale is chosen per panel so the text fits its
//! part of the rect (from an estimate of the font's advances, on the wide
//! side), rounded down to quarter steps so few scales (and glyph sizes) occur.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::layout::WallLayout;

/// The most sensors a chart draws.
pub const MAX_CHART_SENSORS: usize = 8;
/// The most rows an alarm list shows.
pub const MAX_ALARM_ROWS: usize = 50;
/// The longest chart window, seconds (31 days).
pub const MAX_WINDOW_S: f64 = 31.0 * 86_400.0;
/// Text scales are kept within these (urbis_render's glyph atlas is 1024² texels).
pub const MIN_SCALE: f32 = 0.5;
pub const MAX_SCALE: f32 = 16.0;

/// Glyph size, line height and padding at scale 1, pixels (as urbis_render's overlay).
pub const EM: f32 = 8.5;
pub const LINE_HEIGHT: f32 = 10.0;
pub const PAD: f32 = 6.0;

/// One `[[overlay]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverlay {
    kind: Spanned<String>,
    rect: Spanned<[f64; 4]>,
    title: Option<Spanned<String>>,
    rows: Option<Spanned<i64>>,
    metric: Option<Spanned<String>>,
    sensors: Option<Spanned<Vec<String>>>,
    quantity: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
    decimals: Option<Spanned<i64>>,
    window_s: Option<Spanned<f64>>,
    axis: Option<Spanned<String>>,
    utc_offset_hours: Option<Spanned<f64>>,
    format: Option<Spanned<String>>,
}

impl RawOverlay {
    /// The kind-specific fields given, with their spans.
    fn given(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut out = Vec::new();
        let mut add = |name: &'static str, span: Option<Range<usize>>| {
            if let Some(s) = span {
                out.push((name, s));
            }
        };
        add("rows", self.rows.as_ref().map(Spanned::span));
        add("metric", self.metric.as_ref().map(Spanned::span));
        add("sensors", self.sensors.as_ref().map(Spanned::span));
        add("quantity", self.quantity.as_ref().map(Spanned::span));
        add("unit", self.unit.as_ref().map(Spanned::span));
        add("decimals", self.decimals.as_ref().map(Spanned::span));
        add("window_s", self.window_s.as_ref().map(Spanned::span));
        add("axis", self.axis.as_ref().map(Spanned::span));
        add("utc_offset_hours", self.utc_offset_hours.as_ref().map(Spanned::span));
        add("format", self.format.as_ref().map(Spanned::span));
        out
    }
}

/// A checked overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlaySpec {
    /// West, south, width, height, wall metres.
    pub rect: [f64; 4],
    pub title: Option<String>,
    pub kind: OverlayKind,
}

/// What an overlay shows.
#[derive(Debug, Clone, PartialEq)]
pub enum OverlayKind {
    /// The alarm log: active alarms first, then newest first, at most `rows`.
    Alarms { rows: usize, select: SensorSelect, utc_offset_s: i64 },
    /// One number over the selected sensors.
    Kpi { metric: Metric, select: SensorSelect, unit: Option<String>, decimals: usize },
    /// The selected sensors' histories over the last `window_s` seconds.
    Chart { sensors: Vec<String>, window_s: f64, axis: Axis, decimals: usize },
    /// Date and time at a fixed offset from UTC.
    Clock { utc_offset_s: i64, format: String },
}

/// What a KPI tile counts or computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// How many sensors are selected.
    Sensors,
    /// How many alarms of the selected sensors are raised.
    Alarms,
    /// The newest reading of the selected sensors.
    Latest,
    /// Mean, smallest and largest latest value of the selected sensors.
    Mean,
    Min,
    Max,
}

impl Metric {
    const NAMES: [(&'static str, Metric); 6] = [
        ("sensors", Metric::Sensors),
        ("alarms", Metric::Alarms),
        ("latest", Metric::Latest),
        ("mean", Metric::Mean),
        ("min", Metric::Min),
        ("max", Metric::Max),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, m)| *m == self).map_or("", |(n, _)| n)
    }
}

/// Which sensors an overlay takes: those listed and/or those of a quantity
/// (both: sensors in the list with that quantity; neither: every sensor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorSelect {
    pub sensors: Option<Vec<String>>,
    pub quantity: Option<String>,
}

impl SensorSelect {
    pub fn matches(&self, s: &SensorSeries) -> bool {
        self.sensors.as_ref().is_none_or(|ids| ids.contains(&s.id))
            && self.quantity.as_ref().is_none_or(|q| *q == s.quantity)
    }

    /// Whether an alarm of sensor `id` is selected (its quantity looked up in `data`).
    fn matches_id(&self, id: &str, data: &OpsData) -> bool {
        if self.sensors.as_ref().is_some_and(|ids| !ids.iter().any(|s| s == id)) {
            return false;
        }
        match &self.quantity {
            None => true,
            Some(q) => data.sensors.iter().any(|s| s.id == id && s.quantity == *q),
        }
    }
}

/// How a chart scales its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// One value axis for every line (the visible values' range).
    Shared,
    /// Each line over its own range.
    Each,
}

type Refusal = (Option<Range<usize>>, &'static str, String);

/// Checks one table: the span (when known), the field and why on refusal.
pub(crate) fn check(raw: &RawOverlay) -> Result<OverlaySpec, Refusal> {
    let [x, y, w, h] = *raw.rect.get_ref();
    if ![x, y, w, h].iter().all(|v| v.is_finite()) || w <= 0.0 || h <= 0.0 {
        return Err((Some(raw.rect.span()), "rect", "west, south, width > 0, height > 0 (metres)".into()));
    }
    let kind = raw.kind.get_ref().as_str();
    let takes: &[&str] = match kind {
        "alarms" => &["rows", "sensors", "quantity", "utc_offset_hours"],
        "kpi" => &["metric", "sensors", "quantity", "unit", "decimals"],
        "chart" => &["sensors", "window_s", "axis", "decimals"],
        "clock" => &["utc_offset_hours", "format"],
        other => {
            return Err((Some(raw.kind.span()), "kind", format!("\"{other}\": give alarms, kpi, chart or clock")));
        }
    };
    for (field, span) in raw.given() {
        if !takes.contains(&field) {
            return Err((
                Some(span),
                field,
                format!("not a field of kind = \"{kind}\" (it takes rect, title, {})", takes.join(", ")),
            ));
        }
    }
    let title = match &raw.title {
        None => None,
        Some(t) if t.get_ref().trim().is_empty() || t.get_ref().chars().count() > 200 => {
            return Err((Some(t.span()), "title", "1 to 200 characters, or leave it out".into()));
        }
        Some(t) => Some(t.get_ref().clone()),
    };
    let sensors = match &raw.sensors {
        None => None,
        Some(s) => {
            let ids = s.get_ref();
            if ids.is_empty() {
                return Err((Some(s.span()), "sensors", "an empty list: name sensors or leave it out".into()));
            }
            if let Some(bad) = ids.iter().find(|i| i.trim().is_empty()) {
                return Err((Some(s.span()), "sensors", format!("\"{bad}\" is not a sensor id")));
            }
            if let Some((i, dup)) = ids.iter().enumerate().find(|(i, d)| ids[..*i].contains(d)) {
                return Err((Some(s.span()), "sensors", format!("\"{dup}\" is listed twice (at {i})")));
            }
            Some(ids.clone())
        }
    };
    let quantity = match &raw.quantity {
        Some(q) if q.get_ref().trim().is_empty() => {
            return Err((Some(q.span()), "quantity", "empty: give an observed property (\"water_level\")".into()));
        }
        q => q.as_ref().map(|q| q.get_ref().clone()),
    };
    let select = SensorSelect { sensors: sensors.clone(), quantity };
    let decimals = match &raw.decimals {
        None => 1,
        Some(d) => match usize::try_from(*d.get_ref()) {
            Ok(n) if n <= 6 => n,
            _ => return Err((Some(d.span()), "decimals", format!("{} (0 to 6)", d.get_ref()))),
        },
    };
    let utc_offset_s = match &raw.utc_offset_hours {
        None => 0,
        Some(o) => {
            let hours = *o.get_ref();
            let quarters = hours * 4.0;
            if !(hours.is_finite() && (-14.0..=14.0).contains(&hours) && (quarters - quarters.round()).abs() < 1e-9) {
                return Err((
                    Some(o.span()),
                    "utc_offset_hours",
                    format!("{hours}: hours from UTC, -14 to 14 in steps of 0.25"),
                ));
            }
            quarters.round() as i64 * 900
        }
    };
    let kind = match kind {
        "alarms" => {
            let rows = match &raw.rows {
                None => 8,
                Some(r) => match usize::try_from(*r.get_ref()) {
                    Ok(n) if (1..=MAX_ALARM_ROWS).contains(&n) => n,
                    _ => return Err((Some(r.span()), "rows", format!("{} (1 to {MAX_ALARM_ROWS})", r.get_ref()))),
                },
            };
            OverlayKind::Alarms { rows, select, utc_offset_s }
        }
        "kpi" => {
            let Some(m) = &raw.metric else {
                return Err((
                    Some(raw.kind.span()),
                    "metric",
                    "a kpi needs metric = sensors, alarms, latest, mean, min or max".into(),
                ));
            };
            let Some(&(_, metric)) = Metric::NAMES.iter().find(|(n, _)| n == m.get_ref()) else {
                return Err((
                    Some(m.span()),
                    "metric",
                    format!("\"{}\": give sensors, alarms, latest, mean, min or max", m.get_ref()),
                ));
            };
            let unit = match &raw.unit {
                Some(u) if u.get_ref().chars().count() > 16 => {
                    return Err((Some(u.span()), "unit", "at most 16 characters".into()));
                }
                u => u.as_ref().map(|u| u.get_ref().clone()),
            };
            OverlayKind::Kpi { metric, select, unit, decimals }
        }
        "chart" => {
            let Some(ids) = sensors else {
                return Err((
                    Some(raw.kind.span()),
                    "sensors",
                    format!("a chart needs sensors = [\"id\", ...] (1 to {MAX_CHART_SENSORS})"),
                ));
            };
            if ids.len() > MAX_CHART_SENSORS {
                let span = raw.sensors.as_ref().map(Spanned::span);
                return Err((span, "sensors", format!("{} sensors, at most {MAX_CHART_SENSORS}", ids.len())));
            }
            let window_s = match &raw.window_s {
                None => 3600.0,
                Some(s) => {
                    let v = *s.get_ref();
                    if !(v > 0.0 && v <= MAX_WINDOW_S) {
                        return Err((Some(s.span()), "window_s", format!("{v} (over 0, at most {MAX_WINDOW_S} s)")));
                    }
                    v
                }
            };
            let axis = match raw.axis.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
                None | Some(("shared", _)) => Axis::Shared,
                Some(("each", _)) => Axis::Each,
                Some((other, span)) => {
                    return Err((Some(span), "axis", format!("\"{other}\": give shared or each")));
                }
            };
            OverlayKind::Chart { sensors: ids, window_s, axis, decimals }
        }
        _ => {
            let format = match &raw.format {
                None => "%Y-%m-%d\n%H:%M:%S".to_string(),
                Some(f) => {
                    check_format(f.get_ref()).map_err(|m| (Some(f.span()), "format", m))?;
                    f.get_ref().clone()
                }
            };
            OverlayKind::Clock { utc_offset_s, format }
        }
    };
    Ok(OverlaySpec { rect: [x, y, w, h], title, kind })
}

/// The clock's format: known `%` codes, 1 to 4 lines of at most 64 characters.
fn check_format(f: &str) -> Result<(), String> {
    let lines: Vec<&str> = f.split('\n').collect();
    if f.trim().is_empty() || lines.len() > 4 || lines.iter().any(|l| l.chars().count() > 64) {
        return Err("1 to 4 lines of at most 64 characters".into());
    }
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'a' | 'b' | 'z' | '%') => {}
                Some(other) => return Err(format!("%{other}: unknown (use %Y %m %d %H %M %S %a %b %z %%)")),
                None => return Err("a lone % at the end (write %% for a percent sign)".into()),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- input data

/// What the overlays show, gathered by the app each frame (plain data, so a
/// wall's leader can ship it to its followers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpsData {
    /// Unix seconds (the live session's clock: wall clock live, a replay's virtual clock).
    pub now: f64,
    pub sensors: Vec<SensorSeries>,
    pub alarms: Vec<AlarmRow>,
}

/// One sensor's datastream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SensorSeries {
    pub id: String,
    /// The observed property ("water_level", "pm25").
    pub quantity: String,
    pub unit: String,
    /// The newest reading: Unix seconds, value.
    pub latest: Option<(f64, f64)>,
    /// No reading came for the configured number of periods.
    #[serde(default)]
    pub stale: bool,
    /// Samples, oldest first: Unix seconds, value.
    #[serde(default)]
    pub history: Vec<(f64, f64)>,
}

/// One line of the alarm log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmRow {
    /// Unix seconds of the event (raised, or cleared).
    pub time: f64,
    pub sensor: String,
    pub message: String,
    /// Still raised.
    pub active: bool,
    /// "info", "warning", "critical".
    #[serde(default)]
    pub severity: Option<String>,
}

// ---------------------------------------------------------------- output

/// Something drawn over the wall, in canvas pixels (x, y from the canvas' top left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OverlayItem {
    Text(TextItem),
    Line(LineItem),
}

/// A box of text (urbis_render's `Panel`, with its own scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextItem {
    /// Top-left corner, canvas pixels.
    pub x: f32,
    pub y: f32,
    /// Text scale: 1 = 8.5 px type on 10 px lines (urbis_render's `Overlay::scale`).
    pub scale: f32,
    pub title: Option<String>,
    pub lines: Vec<String>,
}

/// A polyline (urbis_render's `OverlayLine`, without markers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Canvas pixels.
    pub points: Vec<[f32; 2]>,
    /// Join the last point to the first.
    pub closed: bool,
    /// Width, pixels.
    pub width: f32,
    /// Linear RGBA.
    pub color: [f32; 4],
}

/// Items of one text scale: one urbis_render `Overlay` each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlayBatch {
    pub scale: f32,
    pub panels: Vec<TextItem>,
    pub lines: Vec<LineItem>,
}

/// Items grouped by text scale, smallest first; every line goes in the first
/// batch (so it is drawn under every panel). Nothing to draw: no batches.
pub fn batches(items: &[OverlayItem]) -> Vec<OverlayBatch> {
    let mut out: Vec<OverlayBatch> = Vec::new();
    let mut lines = Vec::new();
    for item in items {
        match item {
            OverlayItem::Line(l) => lines.push(l.clone()),
            OverlayItem::Text(t) => match out.iter_mut().find(|b| b.scale == t.scale) {
                Some(b) => b.panels.push(t.clone()),
                None => out.push(OverlayBatch { scale: t.scale, panels: vec![t.clone()], lines: Vec::new() }),
            },
        }
    }
    out.sort_by(|a, b| a.scale.total_cmp(&b.scale));
    if !lines.is_empty() {
        match out.first_mut() {
            Some(b) => b.lines = lines,
            None => out.push(OverlayBatch { scale: 1.0, panels: Vec::new(), lines }),
        }
    }
    out
}

/// The items that reach display `rect` (its canvas rectangle: x, y, width,
/// height, as [`WallLayout::canvas`] gives it), moved into its own pixels.
pub fn for_display(items: &[OverlayItem], rect: [u32; 4]) -> Vec<OverlayItem> {
    let [x, y, w, h] = rect.map(|v| v as f32);
    let meets = |b: [f32; 4]| b[0] < x + w && b[2] > x && b[1] < y + h && b[3] > y;
    items
        .iter()
        .filter_map(|item| match item {
            OverlayItem::Text(t) => {
                let (tw, th) = text_size(t.title.as_deref(), &t.lines, t.scale);
                meets([t.x, t.y, t.x + tw, t.y + th])
                    .then(|| OverlayItem::Text(TextItem { x: t.x - x, y: t.y - y, ..t.clone() }))
            }
            OverlayItem::Line(l) => {
                let r = l.width;
                let b = l.points.iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, p| {
                    [b[0].min(p[0] - r), b[1].min(p[1] - r), b[2].max(p[0] + r), b[3].max(p[1] + r)]
                });
                meets(b).then(|| {
                    OverlayItem::Line(LineItem {
                        points: l.points.iter().map(|p| [p[0] - x, p[1] - y]).collect(),
                        ..l.clone()
                    })
                })
            }
        })
        .collect()
}

/// A rectangle in wall metres (west, south, width, height) as canvas pixels
/// (x, y of the top left, width, height), rounded as the canvas' display rectangles.
pub fn canvas_rect(wall: &WallLayout, rect: [f64; 4]) -> [f32; 4] {
    let d = wall.density();
    let [w, _, _, n] = wall.extent();
    let [x, y, rw, rh] = rect;
    [
        ((x - w) * d).round() as f32,
        ((n - (y + rh)) * d).round() as f32,
        (rw * d).round() as f32,
        (rh * d).round() as f32,
    ]
}

/// Estimated advance of `c`, ems: the bundled font's (Noto Sans CJK SC)
/// rounded up, full width for CJK, symbols and punctuation past U+2000.
fn advance(c: char) -> f32 {
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
fn quantize(s: f32) -> f32 {
    ((s * 4.0).floor() / 4.0).clamp(MIN_SCALE, MAX_SCALE)
}

/// The scale at which `n` lines fill at most `h` pixels.
fn scale_for_height(n: usize, h: f32) -> f32 {
    h / (n as f32 * LINE_HEIGHT + 2.0 * PAD)
}

/// The largest scale at which the panel fits `w` × `h` pixels.
fn fit_scale(title: Option<&str>, lines: &[String], w: f32, h: f32) -> f32 {
    let n = usize::from(title.is_some()) + lines.len();
    let widest =
        title.into_iter().chain(lines.iter().map(String::as_str)).map(|l| text_width(l, 1.0)).fold(0.0, f32::max);
    // width at scale s ≤ widest × (8.5 s + 0.5) + 1 + 12 s (the em rounds to whole pixels).
    let by_width = (w - 0.5 * widest - 1.0) / (EM * widest + 2.0 * PAD);
    quantize(scale_for_height(n, h).min(by_width))
}

/// `s` cut to at most `w` pixels at `em`, with an ellipsis when cut.
fn truncate(s: &str, w: f32, em: f32) -> String {
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

const PALETTE: [[f32; 4]; MAX_CHART_SENSORS] = [
    [0.10, 0.58, 0.96, 1.0],
    [0.96, 0.46, 0.05, 1.0],
    [0.26, 0.80, 0.20, 1.0],
    [0.87, 0.16, 0.26, 1.0],
    [0.60, 0.30, 0.95, 1.0],
    [0.95, 0.85, 0.10, 1.0],
    [0.10, 0.85, 0.80, 1.0],
    [0.90, 0.90, 0.90, 1.0],
];
const FRAME: [f32; 4] = [0.45, 0.45, 0.5, 0.85];

/// Lays out every overlay over the wall canvas for `data`, in drawing order.
pub fn layout(specs: &[OverlaySpec], wall: &WallLayout, data: &OpsData) -> Vec<OverlayItem> {
    let mut out = Vec::new();
    for spec in specs {
        let r = canvas_rect(wall, spec.rect);
        let title = spec.title.as_deref();
        match &spec.kind {
            OverlayKind::Alarms { rows, select, utc_offset_s } => {
                alarms(&mut out, r, title, *rows, select, *utc_offset_s, data);
            }
            OverlayKind::Kpi { metric, select, unit, decimals } => {
                kpi(&mut out, r, title, *metric, select, unit.as_deref(), *decimals, data);
            }
            OverlayKind::Chart { sensors, window_s, axis, decimals } => {
                chart(&mut out, r, title, sensors, *window_s, *axis, *decimals, data);
            }
            OverlayKind::Clock { utc_offset_s, format } => {
                let lines: Vec<String> =
                    clock_text(data.now, *utc_offset_s, format).split('\n').map(String::from).collect();
                let scale = fit_scale(title, &lines, r[2], r[3]);
                out.push(OverlayItem::Text(TextItem {
                    x: r[0],
                    y: r[1],
                    scale,
                    title: title.map(String::from),
                    lines,
                }));
            }
        }
    }
    out
}

fn alarms(
    out: &mut Vec<OverlayItem>,
    [x, y, w, h]: [f32; 4],
    title: Option<&str>,
    rows: usize,
    select: &SensorSelect,
    offset_s: i64,
    data: &OpsData,
) {
    let mut shown: Vec<&AlarmRow> = data.alarms.iter().filter(|a| select.matches_id(&a.sensor, data)).collect();
    let active = shown.iter().filter(|a| a.active).count();
    shown.sort_by(|a, b| b.active.cmp(&a.active).then(b.time.total_cmp(&a.time)));
    shown.truncate(rows);
    // The scale follows the configured rows (stable as alarms come and go); long lines are cut.
    let scale = quantize(scale_for_height(rows + 1, h));
    let em = (EM * scale).round();
    let room = w - 2.0 * PAD * scale;
    let title = truncate(&format!("{}: {active} active", title.unwrap_or("Alarms")), room, em);
    let mut lines: Vec<String> = shown
        .iter()
        .map(|a| {
            let clock = clock_text(a.time, offset_s, "%H:%M:%S");
            let severity = a.severity.as_deref().map(|s| format!("{} ", s.to_uppercase())).unwrap_or_default();
            let mark = if a.active { '●' } else { '○' };
            truncate(&format!("{mark} {clock} {severity}{}: {}", a.sensor, a.message), room, em)
        })
        .collect();
    if lines.is_empty() {
        lines.push("no alarms".into());
    }
    out.push(OverlayItem::Text(TextItem { x, y, scale, title: Some(title), lines }));
}

/// A number as text with `decimals` places ("—" when it is not finite).
fn number(v: f64, decimals: usize) -> String {
    if v.is_finite() { format!("{v:.decimals$}") } else { "—".into() }
}

/// How long ago, short ("42 s", "5 min", "3 h", "2 d").
fn age(s: f64) -> String {
    let s = s.max(0.0);
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.0} h", s / 3600.0),
        s => format!("{:.0} d", s / 86_400.0),
    }
}

/// A KPI's value text and a detail line.
pub fn kpi_value(
    metric: Metric,
    select: &SensorSelect,
    unit: Option<&str>,
    decimals: usize,
    data: &OpsData,
) -> (String, String) {
    let chosen: Vec<&SensorSeries> = data.sensors.iter().filter(|s| select.matches(s)).collect();
    let shared_unit = match chosen.split_first() {
        Some((first, rest)) if rest.iter().all(|s| s.unit == first.unit) && !first.unit.is_empty() => {
            Some(first.unit.as_str())
        }
        _ => None,
    };
    let with_unit = |v: String, u: Option<&str>| match u {
        Some(u) if v != "—" => format!("{v} {u}"),
        _ => v,
    };
    let values: Vec<(&SensorSeries, f64)> =
        chosen.iter().filter_map(|s| s.latest.map(|(_, v)| (*s, v))).filter(|(_, v)| v.is_finite()).collect();
    match metric {
        Metric::Sensors => {
            let reporting = chosen.iter().filter(|s| s.latest.is_some() && !s.stale).count();
            let stale = chosen.iter().filter(|s| s.stale).count();
            (with_unit(chosen.len().to_string(), unit), format!("{reporting} reporting, {stale} stale"))
        }
        Metric::Alarms => {
            let raised: Vec<&AlarmRow> =
                data.alarms.iter().filter(|a| a.active && select.matches_id(&a.sensor, data)).collect();
            let critical = raised.iter().filter(|a| a.severity.as_deref() == Some("critical")).count();
            let detail = match (raised.len(), critical) {
                (0, _) => "none raised".to_string(),
                (_, 0) => "raised".to_string(),
                (_, c) => format!("{c} critical"),
            };
            (with_unit(raised.len().to_string(), unit), detail)
        }
        Metric::Latest => {
            let newest = chosen
                .iter()
                .filter_map(|s| s.latest.filter(|l| l.1.is_finite()).map(|l| (*s, l)))
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0));
            match newest {
                None => ("—".into(), "no reading".into()),
                Some((s, (t, v))) => (
                    with_unit(number(v, decimals), unit.or((!s.unit.is_empty()).then_some(s.unit.as_str()))),
                    format!("{}, {} ago", s.id, age(data.now - t)),
                ),
            }
        }
        Metric::Mean | Metric::Min | Metric::Max => {
            let unit = unit.or(shared_unit);
            if values.is_empty() {
                return ("—".into(), format!("{} sensors, none reporting", chosen.len()));
            }
            let pick = |better: fn(f64, f64) -> bool| {
                values
                    .iter()
                    .copied()
                    .reduce(|a, b| if better(b.1, a.1) { b } else { a })
                    .map(|(s, v)| (s.id.as_str(), v))
            };
            let (v, detail) = match metric {
                Metric::Min => pick(|b, a| b < a).map_or((f64::NAN, String::new()), |(id, v)| (v, format!("at {id}"))),
                Metric::Max => pick(|b, a| b > a).map_or((f64::NAN, String::new()), |(id, v)| (v, format!("at {id}"))),
                _ => {
                    let mean = values.iter().map(|(_, v)| v).sum::<f64>() / values.len() as f64;
                    (mean, format!("of {} sensors", values.len()))
                }
            };
            (with_unit(number(v, decimals), unit), detail)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn kpi(
    out: &mut Vec<OverlayItem>,
    [x, y, w, h]: [f32; 4],
    title: Option<&str>,
    metric: Metric,
    select: &SensorSelect,
    unit: Option<&str>,
    decimals: usize,
    data: &OpsData,
) {
    let (value, detail) = kpi_value(metric, select, unit, decimals, data);
    let title = title.map_or_else(
        || match &select.quantity {
            Some(q) => format!("{} {q}", metric.name()),
            None => metric.name().to_string(),
        },
        String::from,
    );
    // The title and detail in the top 40 %, the value as large as fits below.
    let head_lines = vec![detail];
    let head_scale = fit_scale(Some(&title), &head_lines, w, 0.4 * h);
    let (_, head_h) = text_size(Some(&title), &head_lines, head_scale);
    let value_lines = vec![value];
    let value_scale = fit_scale(None, &value_lines, w, (h - head_h).max(1.0));
    out.push(OverlayItem::Text(TextItem { x, y, scale: head_scale, title: Some(title), lines: head_lines }));
    out.push(OverlayItem::Text(TextItem { x, y: y + head_h, scale: value_scale, title: None, lines: value_lines }));
}

/// Where a chart's plot lies inside its rect: the frame (x0, y0, x1, y1), and
/// the vertical inset that keeps the lines off the frame.
fn chart_frame([x, y, w, h]: [f32; 4], head_h: f32) -> ([f32; 4], f32) {
    let frame = [x, y + head_h, x + 0.68 * w, y + h];
    (frame, 0.05 * (frame[3] - frame[1]))
}

/// Up to two samples (the smallest and largest) per pixel column of `px_w`
/// columns over `t0..t1`, in time order; all of them when there are few.
fn thin(samples: Vec<(f64, f64)>, t0: f64, t1: f64, px_w: f32) -> Vec<(f64, f64)> {
    let columns = px_w.max(1.0) as usize;
    if samples.len() <= 4 * columns {
        return samples;
    }
    let mut out = Vec::with_capacity(2 * columns);
    let column = |t: f64| (((t - t0) / (t1 - t0)) * columns as f64).floor() as usize;
    let mut i = 0;
    while i < samples.len() {
        let c = column(samples[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < samples.len() && column(samples[j].0) == c {
            if samples[j].1 < samples[lo].1 {
                lo = j;
            }
            if samples[j].1 > samples[hi].1 {
                hi = j;
            }
            j += 1;
        }
        out.push(samples[lo.min(hi)]);
        if lo != hi {
            out.push(samples[lo.max(hi)]);
        }
        i = j;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn chart(
    out: &mut Vec<OverlayItem>,
    rect: [f32; 4],
    title: Option<&str>,
    sensors: &[String],
    window_s: f64,
    axis: Axis,
    decimals: usize,
    data: &OpsData,
) {
    let [x, y, w, h] = rect;
    let mut head_h = 0.0;
    if let Some(t) = title {
        let scale = fit_scale(Some(t), &[], w, 0.15 * h);
        head_h = text_size(Some(t), &[], scale).1;
        out.push(OverlayItem::Text(TextItem { x, y, scale, title: Some(t.to_string()), lines: Vec::new() }));
    }
    let (t0, t1) = (data.now - window_s, data.now);
    // Each sensor's id, series (when in the data) and samples inside the window.
    type Visible<'a> = (&'a String, Option<&'a SensorSeries>, Vec<(f64, f64)>);
    let series: Vec<Visible> = sensors
        .iter()
        .map(|id| {
            let s = data.sensors.iter().find(|s| s.id == *id);
            let visible = s.map_or_else(Vec::new, |s| {
                s.history.iter().copied().filter(|&(t, v)| t >= t0 && t <= t1 && v.is_finite()).collect()
            });
            (id, s, visible)
        })
        .collect();
    let range = |v: &[(f64, f64)]| {
        v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, v)| (lo.min(v), hi.max(v)))
    };
    let shared = series
        .iter()
        .map(|(_, _, v)| range(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    let (frame, inset) = chart_frame(rect, head_h);
    let [fx0, fy0, fx1, fy1] = frame;
    let frame_width = (h / 250.0).clamp(1.0, 4.0);
    out.push(OverlayItem::Line(LineItem {
        points: vec![[fx0, fy0], [fx1, fy0], [fx1, fy1], [fx0, fy1]],
        closed: true,
        width: frame_width,
        color: FRAME,
    }));
    let (py0, py1) = (fy0 + inset, fy1 - inset);
    let line_width = (h / 150.0).clamp(1.5, 8.0);
    let mut legend = Vec::new();
    for (i, (id, s, visible)) in series.into_iter().enumerate() {
        let (lo, hi) = match axis {
            Axis::Shared => shared,
            Axis::Each => range(&visible),
        };
        let points: Vec<[f32; 2]> = thin(visible, t0, t1, fx1 - fx0)
            .into_iter()
            .map(|(t, v)| {
                let f = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                [fx0 + (fx1 - fx0) * ((t - t0) / window_s) as f32, py1 - (py1 - py0) * f as f32]
            })
            .collect();
        if !points.is_empty() {
            out.push(OverlayItem::Line(LineItem { points, closed: false, width: line_width, color: PALETTE[i] }));
        }
        let unit = s.map_or("", |s| s.unit.as_str());
        let value = s.and_then(|s| s.latest).map_or("—".to_string(), |(_, v)| number(v, decimals));
        let mut line =
            if value == "—" || unit.is_empty() { format!("{id} {value}") } else { format!("{id} {value} {unit}") };
        if axis == Axis::Each && lo <= hi {
            line.push_str(&format!(" ({}–{})", number(lo, decimals), number(hi, decimals)));
        }
        legend.push(line);
    }
    if axis == Axis::Shared && shared.0 <= shared.1 {
        legend.push(format!("axis {} – {}", number(shared.0, decimals), number(shared.1, decimals)));
    }
    legend.push(format!("last {}", age(window_s)));
    // The legend right of the plot, a colour swatch before each sensor's line.
    let (lx, lw) = (x + 0.72 * w, 0.28 * w);
    let swatch = 0.05 * w;
    let scale = fit_scale(None, &legend, lw - swatch, (h - head_h).max(1.0));
    let top = y + head_h;
    for (i, color) in PALETTE.iter().enumerate().take(sensors.len()) {
        let cy = top + PAD * scale + (i as f32 + 0.5) * LINE_HEIGHT * scale;
        out.push(OverlayItem::Line(LineItem {
            points: vec![[lx, cy], [lx + 0.7 * swatch, cy]],
            closed: false,
            width: line_width,
            color: *color,
        }));
    }
    out.push(OverlayItem::Text(TextItem { x: lx + swatch, y: top, scale, title: None, lines: legend }));
}

// ---------------------------------------------------------------- clock

/// Year, month (1–12), day (1–31) of a day count from 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `unix` seconds at `offset_s` from UTC, written by `format` (%Y %m %d %H %M
/// %S %a %b %z %%; anything else as written).
pub fn clock_text(unix: f64, offset_s: i64, format: &str) -> String {
    let secs = if unix.is_finite() { unix.floor() as i64 } else { 0 } + offset_s;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{year:04}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('H') => out.push_str(&format!("{:02}", sod / 3600)),
            Some('M') => out.push_str(&format!("{:02}", sod / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", sod % 60)),
            Some('a') => out.push_str(WEEKDAYS[(days + 4).rem_euclid(7) as usize]),
            Some('b') => out.push_str(MONTHS[(month - 1) as usize]),
            Some('z') => {
                let sign = if offset_s < 0 { '-' } else { '+' };
                let m = offset_s.abs() / 60;
                out.push_str(&format!("UTC{sign}{:02}:{:02}", m / 60, m % 60));
            }
            Some('%') | None => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use glam::DVec3;

    use super::*;
    use crate::layout::Display;

    /// 3 × 2 panels of 1.6 × 0.9 m at 1920 × 1080 (1200 px a metre), 1 cm gaps:
    /// extent 0..4.82 × 0..1.81 m, canvas 5784 × 2172 px.
    fn grid() -> WallLayout {
        let mut displays = Vec::new();
        for r in 0..2 {
            for c in 0..3 {
                let (x, y) = (f64::from(c) * 1.61, f64::from(r) * 0.91);
                displays.push(Display {
                    id: format!("c{c}r{r}"),
                    rect: [x, y, 1.6, 0.9],
                    pixels: [1920, 1080],
                    host: None,
                    output: None,
                    window: None,
                });
            }
        }
        WallLayout { displays, eye: DVec3::new(2.4, 0.9, 3.0) }
    }

    /// One display of 1 × 0.5 m at 1000 × 500 px: a metre is 1000 px, the canvas' origin is the wall's.
    fn single() -> WallLayout {
        WallLayout {
            displays: vec![Display {
                id: "d".into(),
                rect: [0.0, 0.0, 1.0, 0.5],
                pixels: [1000, 500],
                host: None,
                output: None,
                window: None,
            }],
            eye: DVec3::new(0.5, 0.25, 1.0),
        }
    }

    fn spec(rect: [f64; 4], kind: OverlayKind) -> OverlaySpec {
        OverlaySpec { rect, title: None, kind }
    }

    fn sensor(id: &str, quantity: &str, unit: &str, latest: Option<(f64, f64)>) -> SensorSeries {
        SensorSeries {
            id: id.into(),
            quantity: quantity.into(),
            unit: unit.into(),
            latest,
            stale: false,
            history: latest.into_iter().collect(),
        }
    }

    fn texts(items: &[OverlayItem]) -> Vec<&TextItem> {
        items
            .iter()
            .filter_map(|i| match i {
                OverlayItem::Text(t) => Some(t),
                OverlayItem::Line(_) => None,
            })
            .collect()
    }

    fn lines(items: &[OverlayItem]) -> Vec<&LineItem> {
        items
            .iter()
            .filter_map(|i| match i {
                OverlayItem::Line(l) => Some(l),
                OverlayItem::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn wall_metres_map_to_canvas_pixels() {
        let wall = grid();
        // 0.1 m from the west edge: 120 px; top at 1.5 + 0.25 = 1.75 m, 0.06 m under the
        // wall's top (1.81 m): 72 px; 0.8 × 0.25 m: 960 × 300 px.
        assert_eq!(canvas_rect(&wall, [0.1, 1.5, 0.8, 0.25]), [120.0, 72.0, 960.0, 300.0]);
        // A rect exactly over the middle bottom display is that display's canvas rectangle.
        assert_eq!(canvas_rect(&wall, [1.61, 0.0, 1.6, 0.9]), [1932.0, 1092.0, 1920.0, 1080.0]);
        let (_, _, rects) = wall.canvas();
        assert_eq!(rects[1], [1932, 1092, 1920, 1080]);
        // Shifted into that display's own pixels, a text at canvas (2000, 1100) is at (68, 8);
        // a display it does not reach does not get it.
        let item =
            OverlayItem::Text(TextItem { x: 2000.0, y: 1100.0, scale: 1.0, title: None, lines: vec!["a".into()] });
        let moved = for_display(std::slice::from_ref(&item), rects[1]);
        assert!(matches!(&moved[..], [OverlayItem::Text(t)] if t.x == 68.0 && t.y == 8.0), "{moved:?}");
        assert!(for_display(&[item], rects[3]).is_empty());
    }

    #[test]
    fn chart_lines_run_over_the_window_scaled_to_the_visible_values() {
        let wall = single();
        let mut s = sensor("g1", "water_level", "m", Some((1000.0, 2.0)));
        // 850 s is before the window (900..1000 s), its 10.0 does not stretch the axis.
        s.history = vec![(850.0, 10.0), (900.0, 1.0), (950.0, 3.0), (1000.0, 2.0)];
        let data = OpsData { now: 1000.0, sensors: vec![s], alarms: Vec::new() };
        let chart = OverlayKind::Chart { sensors: vec!["g1".into()], window_s: 100.0, axis: Axis::Shared, decimals: 2 };
        let items = layout(&[spec([0.0, 0.0, 1.0, 0.5], chart)], &wall, &data);
        let ls = lines(&items);
        // The frame: 0.68 of 1000 px wide, the whole 500 px high (no title).
        assert_eq!(ls[0].points, vec![[0.0, 0.0], [680.0, 0.0], [680.0, 500.0], [0.0, 500.0]]);
        assert!(ls[0].closed);
        // Values 1..3 between 5 % insets (25 px): 1.0 at y 475, 3.0 at y 25, 2.0 half way;
        // times 900, 950, 1000 s at x 0, 340, 680.
        assert_eq!(ls[1].points, vec![[0.0, 475.0], [340.0, 25.0], [680.0, 250.0]]);
        assert_eq!(ls[1].color, PALETTE[0]);
        let legend = texts(&items).pop().expect("legend");
        assert_eq!(legend.lines, ["g1 2.00 m", "axis 1.00 – 3.00", "last 100 s"]);
        assert!(legend.x >= 680.0, "the legend is right of the plot");
        let (lw, lh) = text_size(None, &legend.lines, legend.scale);
        assert!(legend.x + lw <= 1000.0 && lh <= 500.0, "the legend fits: {lw} × {lh}");
    }

    #[test]
    fn kpi_counts_and_statistics() {
        let mut data = OpsData {
            now: 100.0,
            sensors: vec![
                sensor("a", "water_level", "m", Some((90.0, 1.5))),
                sensor("b", "water_level", "m", Some((95.0, 4.0))),
                sensor("c", "water_level", "m", Some((80.0, 2.5))),
                sensor("d", "water_level", "m", None),
                sensor("p", "pm25", "µg/m³", Some((99.0, 80.0))),
            ],
            alarms: vec![
                AlarmRow { time: 50.0, sensor: "b".into(), message: "high".into(), active: true, severity: None },
                AlarmRow {
                    time: 60.0,
                    sensor: "p".into(),
                    message: "smog".into(),
                    active: true,
                    severity: Some("critical".into()),
                },
                AlarmRow { time: 20.0, sensor: "a".into(), message: "high".into(), active: false, severity: None },
            ],
        };
        data.sensors[2].stale = true;
        let water = SensorSelect { sensors: None, quantity: Some("water_level".into()) };
        let all = SensorSelect::default();
        let kv = |m, sel: &SensorSelect| kpi_value(m, sel, None, 2, &data);
        // Mean of 1.5, 4.0, 2.5 = 8.0 / 3 = 2.666…; d has no reading and is left out.
        assert_eq!(kv(Metric::Mean, &water), ("2.67 m".into(), "of 3 sensors".into()));
        assert_eq!(kv(Metric::Min, &water), ("1.50 m".into(), "at a".into()));
        assert_eq!(kv(Metric::Max, &water), ("4.00 m".into(), "at b".into()));
        assert_eq!(kv(Metric::Sensors, &water), ("4".into(), "2 reporting, 1 stale".into()));
        assert_eq!(kv(Metric::Sensors, &all).0, "5");
        assert_eq!(kv(Metric::Alarms, &water), ("1".into(), "raised".into()));
        assert_eq!(kv(Metric::Alarms, &all), ("2".into(), "1 critical".into()));
        // The newest reading: p at 99 s, 1 s before now.
        assert_eq!(kv(Metric::Latest, &all), ("80.00 µg/m³".into(), "p, 1 s ago".into()));
        let listed = SensorSelect { sensors: Some(vec!["a".into(), "c".into()]), quantity: None };
        assert_eq!(kpi_value(Metric::Mean, &listed, Some("metres"), 1, &data).0, "2.0 metres");
        let none = SensorSelect { sensors: Some(vec!["zz".into()]), quantity: None };
        assert_eq!(kv(Metric::Max, &none).0, "—");
        // Laid out: the title above, the value below it, both inside the rect.
        let wall = single();
        let kpi = OverlayKind::Kpi { metric: Metric::Max, select: water, unit: None, decimals: 1 };
        let items = layout(&[spec([0.1, 0.1, 0.4, 0.2], kpi)], &wall, &data);
        let t = texts(&items);
        assert_eq!(
            (t[0].title.as_deref(), t[1].lines.as_slice()),
            (Some("max water_level"), &["4.0 m".to_string()][..])
        );
        // The rect: x 100 px, top (0.5 − 0.3) m = 200 px, 400 × 200 px.
        assert_eq!((t[0].x, t[0].y), (100.0, 200.0));
        assert!(t[1].scale > t[0].scale, "the value is the big line");
        let (_, head_h) = text_size(t[0].title.as_deref(), &t[0].lines, t[0].scale);
        assert_eq!(t[1].y, 200.0 + head_h);
        let (vw, vh) = text_size(None, &t[1].lines, t[1].scale);
        assert!(vw <= 400.0 && t[1].y + vh <= 400.0, "{vw} × {vh}");
    }

    #[test]
    fn alarms_active_first_newest_first_at_most_rows() {
        let row = |time: f64, sensor: &str, active: bool| AlarmRow {
            time,
            sensor: sensor.into(),
            message: format!("m{time}"),
            active,
            severity: active.then(|| "warning".into()),
        };
        let data = OpsData {
            now: 1000.0,
            sensors: Vec::new(),
            alarms: vec![row(100.0, "a", true), row(400.0, "b", false), row(300.0, "c", true), row(500.0, "d", false)],
        };
        let wall = single();
        let alarms = |rows| OverlayKind::Alarms { rows, select: SensorSelect::default(), utc_offset_s: 3600 };
        let items = layout(&[spec([0.0, 0.0, 1.0, 0.2], alarms(3))], &wall, &data);
        let t = texts(&items);
        assert_eq!(t[0].title.as_deref(), Some("Alarms: 2 active"));
        // 300 s at +1 h is 01:05:00; 100 s 01:01:40; then the newest cleared, 500 s: 01:08:20.
        assert_eq!(t[0].lines, ["● 01:05:00 WARNING c: m300", "● 01:01:40 WARNING a: m100", "○ 01:08:20 d: m500"]);
        // The scale follows the configured rows: 4 lines (title + 3) in 200 px: 200 / 52 = 3.85 → 3.75.
        assert_eq!(t[0].scale, 3.75);
        let filtered = OverlayKind::Alarms {
            rows: 8,
            select: SensorSelect { sensors: Some(vec!["b".into()]), quantity: None },
            utc_offset_s: 0,
        };
        let t = layout(&[spec([0.0, 0.0, 1.0, 0.5], filtered)], &wall, &data);
        assert_eq!(texts(&t)[0].lines, ["○ 00:06:40 b: m400"]);
        let empty = OpsData::default();
        let t = layout(&[spec([0.0, 0.0, 1.0, 0.5], alarms(2))], &wall, &empty);
        assert_eq!(texts(&t)[0].lines, ["no alarms"]);
        // Lines too long for the rect are cut.
        let long = OpsData { alarms: vec![AlarmRow { message: "x".repeat(500), ..row(1.0, "a", true) }], ..empty };
        let t = layout(&[spec([0.0, 0.0, 0.3, 0.5], alarms(8))], &wall, &long);
        let t = texts(&t)[0];
        assert!(t.lines[0].ends_with('…') && text_size(None, &t.lines, t.scale).0 <= 300.0 + 1.0, "{t:?}");
    }

    #[test]
    fn clock_at_an_offset() {
        // 1 700 000 000 s is 2023-11-14 22:13:20 UTC, a Tuesday.
        assert_eq!(clock_text(1.7e9, 0, "%Y-%m-%d %H:%M:%S"), "2023-11-14 22:13:20");
        assert_eq!(
            clock_text(1.7e9 + 0.9, 8 * 3600, "%Y-%m-%d %H:%M:%S %a %b %z"),
            "2023-11-15 06:13:20 Wed Nov UTC+08:00"
        );
        // 951 782 400 s is 2000-02-29 00:00 UTC (a leap day of a year divisible by 400);
        // at −5 h it is still the 28th; at 5:45 it is the 29th.
        assert_eq!(clock_text(951_782_400.0, -5 * 3600, "%Y-%m-%d %H:%M %z"), "2000-02-28 19:00 UTC-05:00");
        assert_eq!(clock_text(951_782_400.0, 20_700, "%d %H:%M %% %q"), "29 05:45 % %q");
        // Before 1970: 0 − 1 s is 1969-12-31 23:59:59, a Wednesday.
        assert_eq!(clock_text(-1.0, 0, "%Y-%m-%d %H:%M:%S %a"), "1969-12-31 23:59:59 Wed");
        let wall = single();
        let clock = OverlayKind::Clock { utc_offset_s: 8 * 3600, format: "%Y-%m-%d\n%H:%M:%S".into() };
        let items = layout(
            &[OverlaySpec { rect: [0.0, 0.0, 1.0, 0.5], title: Some("Beijing".into()), kind: clock }],
            &wall,
            &OpsData { now: 1.7e9, ..OpsData::default() },
        );
        let t = texts(&items)[0];
        assert_eq!(t.lines, ["2023-11-15", "06:13:20"]);
        let (w, h) = text_size(t.title.as_deref(), &t.lines, t.scale);
        assert!(w <= 1000.0 && h <= 500.0 && (w > 750.0 || h > 375.0), "fits and fills: {w} × {h} at {}", t.scale);
    }

    #[test]
    fn batches_group_panels_by_scale_lines_first() {
        let text = |scale| OverlayItem::Text(TextItem { x: 0.0, y: 0.0, scale, title: None, lines: Vec::new() });
        let line = OverlayItem::Line(LineItem { points: vec![[0.0, 0.0]], closed: false, width: 1.0, color: [1.0; 4] });
        let b = batches(&[text(2.0), line.clone(), text(1.0), text(2.0)]);
        assert_eq!(
            b.iter().map(|b| (b.scale, b.panels.len(), b.lines.len())).collect::<Vec<_>>(),
            [(1.0, 1, 1), (2.0, 2, 0)]
        );
        assert_eq!(batches(&[line]).len(), 1);
        assert!(batches(&[]).is_empty());
    }

    const WALL: &str = r#"[eye]
position = [2.4, 1.0, 3.0]

[grid]
columns = 3
rows = 2
panel = [1.6, 0.9]
pixels = [1920, 1080]

[[overlay]]
kind = "clock"
rect = [0.1, 1.5, 0.8, 0.25]
utc_offset_hours = 8

[[overlay]]
kind = "kpi"
rect = [1.7, 1.3, 0.6, 0.4]
metric = "max"
quantity = "water_level"
decimals = 2

[[overlay]]
kind = "chart"
rect = [1.7, 0.1, 1.4, 1.1]
sensors = ["gauge-01", "gauge-02"]
window_s = 600

[[overlay]]
kind = "alarms"
rect = [0.1, 0.1, 1.4, 1.2]
rows = 5
"#;

    #[test]
    fn wall_toml_overlays_parse() {
        let c = crate::config::parse(WALL, Path::new("wall.toml")).expect("valid");
        assert_eq!(c.overlays.len(), 4);
        assert_eq!(
            c.overlays[0].kind,
            OverlayKind::Clock { utc_offset_s: 28_800, format: "%Y-%m-%d\n%H:%M:%S".into() }
        );
        assert_eq!(
            c.overlays[1].kind,
            OverlayKind::Kpi {
                metric: Metric::Max,
                select: SensorSelect { sensors: None, quantity: Some("water_level".into()) },
                unit: None,
                decimals: 2
            }
        );
        assert_eq!(
            c.overlays[2].kind,
            OverlayKind::Chart {
                sensors: vec!["gauge-01".into(), "gauge-02".into()],
                window_s: 600.0,
                axis: Axis::Shared,
                decimals: 1
            }
        );
        assert!(matches!(c.overlays[3].kind, OverlayKind::Alarms { rows: 5, .. }));
        assert_eq!(c.overlays[3].rect, [0.1, 0.1, 1.4, 1.2]);
    }

    #[test]
    fn overlay_refusals_name_the_line_and_field() {
        let path = Path::new("ops/wall.toml");
        let cases = [
            ("kind = \"clock\"", "kind = \"weather\"", "ops/wall.toml:11:8: overlay[0].kind", "\"weather\""),
            (
                "utc_offset_hours = 8",
                "utc_offset_hours = 8.1",
                "ops/wall.toml:13:20: overlay[0].utc_offset_hours",
                "steps of 0.25",
            ),
            ("utc_offset_hours = 8", "format = \"%H:%q\"", "ops/wall.toml:13:10: overlay[0].format", "%q"),
            (
                "utc_offset_hours = 8",
                "rows = 3",
                "ops/wall.toml:13:8: overlay[0].rows",
                "not a field of kind = \"clock\"",
            ),
            (
                "rect = [0.1, 1.5, 0.8, 0.25]",
                "rect = [0.1, 1.5, 0.0, 0.25]",
                "ops/wall.toml:12:8: overlay[0].rect",
                "width > 0",
            ),
            ("metric = \"max\"", "metric = \"median\"", "ops/wall.toml:18:10: overlay[1].metric", "\"median\""),
            ("metric = \"max\"\n", "", "ops/wall.toml:16:8: overlay[1].metric", "a kpi needs metric"),
            ("decimals = 2", "decimals = 7", "ops/wall.toml:20:12: overlay[1].decimals", "0 to 6"),
            ("quantity = \"water_level\"", "quantity = \"\"", "ops/wall.toml:19:12: overlay[1].quantity", "empty"),
            (
                "sensors = [\"gauge-01\", \"gauge-02\"]\n",
                "",
                "ops/wall.toml:23:8: overlay[2].sensors",
                "a chart needs sensors",
            ),
            (
                "\"gauge-01\", \"gauge-02\"]",
                "\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]",
                "ops/wall.toml:25:11: overlay[2].sensors",
                "9 sensors, at most 8",
            ),
            (
                "\"gauge-01\", \"gauge-02\"]",
                "\"gauge-01\", \"gauge-01\"]",
                "ops/wall.toml:25:11: overlay[2].sensors",
                "listed twice",
            ),
            ("window_s = 600", "window_s = -5.0", "ops/wall.toml:26:12: overlay[2].window_s", "over 0"),
            ("window_s = 600", "axis = \"log\"", "ops/wall.toml:26:8: overlay[2].axis", "shared or each"),
            ("rows = 5", "rows = 0", "ops/wall.toml:31:8: overlay[3].rows", "1 to 50"),
            (
                "rows = 5",
                "metric = \"max\"",
                "ops/wall.toml:31:10: overlay[3].metric",
                "not a field of kind = \"alarms\"",
            ),
        ];
        for (from, to, at, what) in cases {
            assert!(WALL.contains(from), "{from}");
            let e = crate::config::parse(&WALL.replacen(from, to, 1), path).expect_err(what).to_string();
            assert!(e.starts_with(at) && e.contains(what), "{what}: {e}");
        }
        // Unknown fields and a missing rect are serde's refusals, at the table.
        let e =
            crate::config::parse(&WALL.replace("rows = 5", "colour = \"red\""), path).expect_err("unknown").to_string();
        assert!(e.starts_with("ops/wall.toml:31:") && e.contains("unknown field `colour`"), "{e}");
        let e = crate::config::parse(&WALL.replace("rect = [0.1, 0.1, 1.4, 1.2]\n", ""), path)
            .expect_err("rect")
            .to_string();
        assert!(e.starts_with("ops/wall.toml:") && e.contains("missing field `rect`"), "{e}");
    }
}
