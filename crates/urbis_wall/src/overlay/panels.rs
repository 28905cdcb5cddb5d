//! The alarm list, KPI tiles and charts as text panels and polylines in
//! canvas pixels.

use super::*;

pub(super) const PALETTE: [[f32; 4]; MAX_CHART_SENSORS] = [
    [0.10, 0.58, 0.96, 1.0],
    [0.96, 0.46, 0.05, 1.0],
    [0.26, 0.80, 0.20, 1.0],
    [0.87, 0.16, 0.26, 1.0],
    [0.60, 0.30, 0.95, 1.0],
    [0.95, 0.85, 0.10, 1.0],
    [0.10, 0.85, 0.80, 1.0],
    [0.90, 0.90, 0.90, 1.0],
];
pub(super) const FRAME: [f32; 4] = [0.45, 0.45, 0.5, 0.85];

pub(super) fn alarms(
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
pub(super) fn number(v: f64, decimals: usize) -> String {
    if v.is_finite() { format!("{v:.decimals$}") } else { "—".into() }
}

/// How long ago, short ("42 s", "5 min", "3 h", "2 d").
pub(super) fn age(s: f64) -> String {
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
pub(super) fn kpi(
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
pub(super) fn chart_frame([x, y, w, h]: [f32; 4], head_h: f32) -> ([f32; 4], f32) {
    let frame = [x, y + head_h, x + 0.68 * w, y + h];
    (frame, 0.05 * (frame[3] - frame[1]))
}

/// Up to two samples (the smallest and largest) per pixel column of `px_w`
/// columns over `t0..t1`, in time order; all of them when there are few.
pub(super) fn thin(samples: Vec<(f64, f64)>, t0: f64, t1: f64, px_w: f32) -> Vec<(f64, f64)> {
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
pub(super) fn chart(
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
