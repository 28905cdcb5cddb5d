//! The timeline: the selected feature's sensor histories as charts, a
//! time scrubber over the recorded history (the state of the city at that
//! time, as `render --live-at` shows it), and the alarm log; and the
//! sparklines the inspector draws next to live readings.
//!
//! ```text
//! CityModel: Sensor + Observes + History + LatestReading ─► series (time, value)
//!                                                         ─► sparkline / chart points
//! FrameHook (live sessions): now, shown time, alarm log ─► Timeline ─► scrubber ─► UiAction::Scrub
//! ```

use bevy_ecs::prelude::Entity;
use urbis_model::{CityModel, History, LatestReading, Observes, Sensor};

use crate::UiAction;

/// What a live source tells the timeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// The live clock, Unix ms.
    pub now_ms: i64,
    /// The time shown, when scrubbed back (`None`: live).
    pub at_ms: Option<i64>,
    /// Alarm events, oldest first, as text.
    pub alarms: Vec<String>,
    /// Where the scrubber starts (a simulation's start); `None`: the oldest history.
    pub start_ms: Option<i64>,
}

/// One sensor's series for the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub sensor: Entity,
    pub label: String,
    pub unit: String,
    pub latest: Option<f64>,
    pub samples: Vec<(i64, f64)>,
}

/// The sensors observing `e` (or `e` itself when it is a sensor), with
/// their histories and their value at `at` (Unix ms, from the history), or
/// their latest reading (`None`).
pub fn series_of(model: &mut CityModel, e: Entity, at: Option<i64>) -> Vec<Series> {
    let mut q = model.world.query::<(Entity, &Sensor, Option<&Observes>, Option<&History>, Option<&LatestReading>)>();
    let mut out: Vec<Series> = q
        .iter(&model.world)
        .filter(|(s, _, o, _, _)| *s == e || o.is_some_and(|o| o.0 == e))
        .map(|(s, sensor, _, h, l)| Series {
            sensor: s,
            label: format!("{} {}", sensor.id, sensor.quantity),
            unit: sensor.unit.clone(),
            latest: match at {
                Some(t) => h.and_then(|h| h.at(t)).map(|s| s.1),
                None => l.filter(|l| !l.is_empty()).map(|l| l.value),
            },
            samples: h.map(|h| h.iter().collect()).unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// The earliest and latest sample time of every history in the model.
pub fn history_span(model: &mut CityModel) -> Option<(i64, i64)> {
    let mut q = model.world.query::<&History>();
    let mut span: Option<(i64, i64)> = None;
    for h in q.iter(&model.world) {
        let mut it = h.iter();
        let (Some(first), Some(last)) = (it.next(), h.iter().last()) else { continue };
        span = Some(span.map_or((first.0, last.0), |(a, b)| (a.min(first.0), b.max(last.0))));
    }
    span
}

/// Points of a line chart of `samples` in `rect`: time `t0..t1` left to
/// right, the samples' smallest value at the bottom and largest at the top
/// (a flat series runs through the middle). Samples outside the times are left out.
pub fn chart_points(samples: &[(i64, f64)], rect: egui::Rect, t0: i64, t1: i64) -> Vec<egui::Pos2> {
    let inside: Vec<(i64, f64)> =
        samples.iter().copied().filter(|(t, v)| *t >= t0 && *t <= t1 && v.is_finite()).collect();
    let lo = inside.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let hi = inside.iter().map(|s| s.1).fold(f64::NEG_INFINITY, f64::max);
    let span_t = (t1 - t0).max(1) as f64;
    inside
        .iter()
        .map(|&(t, v)| {
            let x = rect.left() + rect.width() * ((t - t0) as f64 / span_t) as f32;
            let f = if hi > lo { ((v - lo) / (hi - lo)) as f32 } else { 0.5 };
            egui::pos2(x, rect.bottom() - rect.height() * f)
        })
        .collect()
}

/// A small line chart of a series over its own time span.
pub fn sparkline(ui: &mut egui::Ui, samples: &[(i64, f64)], size: egui::Vec2) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else { return };
    let points = chart_points(samples, rect.shrink(1.0), first.0, last.0);
    ui.painter().rect_filled(rect, 2.0, egui::Color32::from_gray(28));
    ui.painter().add(egui::Shape::line(points, egui::Stroke::new(1.2, egui::Color32::from_rgb(90, 200, 250))));
}

const COLOURS: [egui::Color32; 4] = [
    egui::Color32::from_rgb(90, 200, 250),
    egui::Color32::from_rgb(250, 180, 60),
    egui::Color32::from_rgb(140, 230, 120),
    egui::Color32::from_rgb(240, 110, 140),
];

/// The timeline panel's contents: charts of `series`, the scrubber, the alarm log.
pub fn show(
    ui: &mut egui::Ui,
    timeline: &Timeline,
    span: Option<(i64, i64)>,
    series: &[Series],
    actions: &mut Vec<UiAction>,
) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(ui.available_width() * 0.62);
            let (t0, t1) = match (timeline.start_ms, span) {
                (Some(s), _) => (s, timeline.now_ms.max(s + 1)),
                (None, Some((a, b))) => (a, b.max(timeline.now_ms)),
                (None, None) => (timeline.now_ms - 3_600_000, timeline.now_ms),
            };
            ui.horizontal(|ui| {
                let mut at = timeline.at_ms.unwrap_or(t1).clamp(t0, t1);
                let label = if timeline.at_ms.is_some() { format!("shown: {}", clock(at)) } else { "live".into() };
                ui.spacing_mut().slider_width = (ui.available_width() - 200.0).max(60.0);
                let time = ui.label("time");
                let slider = egui::Slider::new(&mut at, t0..=t1).show_value(false);
                if ui.add(slider).labelled_by(time.id).changed() {
                    actions.push(UiAction::Scrub(if at >= t1 { None } else { Some(at) }));
                }
                ui.label(label);
                if timeline.at_ms.is_some() && ui.small_button("live").clicked() {
                    actions.push(UiAction::Scrub(None));
                }
            });
            let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width(), 72.0), egui::Sense::hover());
            let painter = ui.painter();
            painter.rect_filled(rect, 2.0, egui::Color32::from_gray(24));
            for (i, s) in series.iter().enumerate() {
                let colour = COLOURS[i % COLOURS.len()];
                painter.add(egui::Shape::line(
                    chart_points(&s.samples, rect.shrink(2.0), t0, t1),
                    egui::Stroke::new(1.5, colour),
                ));
            }
            if let Some(at) = timeline.at_ms {
                let x = rect.left() + rect.width() * ((at - t0) as f64 / (t1 - t0).max(1) as f64) as f32;
                painter.line_segment(
                    [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
                    egui::Stroke::new(1.0, egui::Color32::WHITE),
                );
            }
            if series.is_empty() {
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    "select a feature with sensors",
                    egui::FontId::proportional(13.0),
                    egui::Color32::GRAY,
                );
            }
            ui.horizontal_wrapped(|ui| {
                for (i, s) in series.iter().enumerate() {
                    let value = s.latest.map_or("–".into(), |v| format!("{v:.2} {}", s.unit));
                    ui.colored_label(COLOURS[i % COLOURS.len()], format!("{}: {value}", s.label));
                }
            });
        });
        ui.separator();
        ui.vertical(|ui| {
            ui.label(format!("Alarms ({})", timeline.alarms.len()));
            egui::ScrollArea::vertical().id_salt("alarms").max_height(110.0).stick_to_bottom(true).show(ui, |ui| {
                for a in &timeline.alarms {
                    ui.label(egui::RichText::new(a).small());
                }
            });
        });
    });
}

/// Hours, minutes and seconds (UTC) of a Unix time in ms.
fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_points_put_time_across_and_the_range_up() {
        let rect = egui::Rect::from_min_size(egui::pos2(10.0, 20.0), egui::vec2(100.0, 50.0));
        let samples = [(1000, 2.0), (1500, 6.0), (2000, 4.0), (5000, 9.0)];
        let p = chart_points(&samples, rect, 1000, 2000);
        // The 5000 ms sample is past the window; 2 is the bottom (y 70), 6 the top (y 20).
        assert_eq!(p, vec![egui::pos2(10.0, 70.0), egui::pos2(60.0, 20.0), egui::pos2(110.0, 45.0)]);
        let flat = chart_points(&[(0, 3.0), (10, 3.0)], rect, 0, 10);
        assert_eq!(flat, vec![egui::pos2(10.0, 45.0), egui::pos2(110.0, 45.0)]);
        assert_eq!(clock(86_400_000 + 3_723_000), "01:02:03 UTC");
    }
}
