//! Overlay parsing and layout against hand-computed positions and values.

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
    let item = OverlayItem::Text(TextItem { x: 2000.0, y: 1100.0, scale: 1.0, title: None, lines: vec!["a".into()] });
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
    assert_eq!((t[0].title.as_deref(), t[1].lines.as_slice()), (Some("max water_level"), &["4.0 m".to_string()][..]));
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
    assert_eq!(c.overlays[0].kind, OverlayKind::Clock { utc_offset_s: 28_800, format: "%Y-%m-%d\n%H:%M:%S".into() });
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
        ("utc_offset_hours = 8", "rows = 3", "ops/wall.toml:13:8: overlay[0].rows", "not a field of kind = \"clock\""),
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
        ("rows = 5", "metric = \"max\"", "ops/wall.toml:31:10: overlay[3].metric", "not a field of kind = \"alarms\""),
    ];
    for (from, to, at, what) in cases {
        assert!(WALL.contains(from), "{from}");
        let e = crate::config::parse(&WALL.replacen(from, to, 1), path).expect_err(what).to_string();
        assert!(e.starts_with(at) && e.contains(what), "{what}: {e}");
    }
    // Unknown fields and a missing rect are serde's refusals, at the table.
    let e = crate::config::parse(&WALL.replace("rows = 5", "colour = \"red\""), path).expect_err("unknown").to_string();
    assert!(e.starts_with("ops/wall.toml:31:") && e.contains("unknown field `colour`"), "{e}");
    let e =
        crate::config::parse(&WALL.replace("rect = [0.1, 0.1, 1.4, 1.2]\n", ""), path).expect_err("rect").to_string();
    assert!(e.starts_with("ops/wall.toml:") && e.contains("missing field `rect`"), "{e}");
}
