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

use serde::{Deserialize, Serialize};

use crate::layout::WallLayout;

mod clock;
mod panels;
mod spec;
mod text;

pub use clock::*;
pub use panels::*;
pub use spec::*;
pub use text::*;

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

#[cfg(test)]
mod tests;
