//! What the wall's ops overlays show, gathered from the city model and the
//! live session: every sensor's latest reading and history, and the alarm log.
//!
//! ```text
//! CityModel: Sensor + LatestReading + History ─► SensorSeries ┐
//! LiveSession: recent events + raised alarms ──► AlarmRow ────┴─► OpsData ─► urbis_wall::overlay::layout
//! ```

use urbis_live::LiveSession;
use urbis_live::config::Severity;
use urbis_live::rules::Transition;
use urbis_model::{CityModel, History, LatestReading, Sensor};
use urbis_wall::overlay::{AlarmRow, OpsData, SensorSeries};

/// Unix milliseconds as seconds.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The sensors of `model` (sorted by id) and the alarm log of `session`
/// (every recent event, the raised ones still active marked so, and raised
/// alarms whose event has left the recent log) at `now` (Unix seconds).
pub fn ops_data(model: &CityModel, session: Option<&LiveSession>, now: f64) -> OpsData {
    let mut sensors: Vec<SensorSeries> = model
        .world
        .iter_entities()
        .filter_map(|e| {
            let sensor = e.get::<Sensor>()?;
            let latest = e.get::<LatestReading>().filter(|l| !l.is_empty());
            Some(SensorSeries {
                id: sensor.id.clone(),
                quantity: sensor.quantity.clone(),
                unit: sensor.unit.clone(),
                latest: latest.map(|l| (seconds(l.time_ms), l.value)),
                stale: latest.is_some_and(|l| l.stale),
                history: e
                    .get::<History>()
                    .map(|h| h.iter().map(|(t, v)| (seconds(t), v)).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    sensors.sort_by(|a, b| a.id.cmp(&b.id));
    let mut alarms = Vec::new();
    if let Some(session) = session {
        let raised: Vec<&urbis_live::AlarmEvent> = session.active_alarms().collect();
        let is_raised = |e: &urbis_live::AlarmEvent| {
            raised.iter().any(|a| a.alarm == e.alarm && a.sensor == e.sensor && a.time_ms == e.time_ms)
        };
        let mut logged = Vec::new();
        for e in session.recent_events() {
            let active = e.state == Transition::Raised && is_raised(e);
            if active {
                logged.push(e);
            }
            alarms.push(row(e, active));
        }
        for a in raised {
            if !logged.iter().any(|e| e.alarm == a.alarm && e.sensor == a.sensor && e.time_ms == a.time_ms) {
                alarms.push(row(a, true));
            }
        }
    }
    OpsData { now, sensors, alarms }
}

/// One alarm event as a row: "water high at bldg-12, 3.42" or "water high cleared at bldg-12".
fn row(e: &urbis_live::AlarmEvent, active: bool) -> AlarmRow {
    let at = if e.feature.is_empty() || e.feature == e.sensor { String::new() } else { format!(" at {}", e.feature) };
    let message = match e.state {
        Transition::Raised => {
            format!("{}{at}{}", e.alarm, e.value.map(|v| format!(", {v:.2}")).unwrap_or_default())
        }
        Transition::Cleared => format!("{} cleared{at}", e.alarm),
    };
    let severity = match e.severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    };
    AlarmRow {
        time: seconds(e.time_ms),
        sensor: e.sensor.clone(),
        message,
        active,
        severity: Some(severity.to_string()),
    }
}
