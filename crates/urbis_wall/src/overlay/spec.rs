//! The `[[overlay]]` tables of `wall.toml`: read with their spans, checked
//! into [`OverlaySpec`]s; every refusal names the field.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::*;

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
    pub(super) fn matches_id(&self, id: &str, data: &OpsData) -> bool {
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

pub(super) type Refusal = (Option<Range<usize>>, &'static str, String);

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
pub(super) fn check_format(f: &str) -> Result<(), String> {
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
