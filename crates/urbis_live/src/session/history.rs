//! The session's side of the history store: sensors' metadata once, then
//! per tick the applied readings, alarm events and new gaps (source
//! disconnects, and the time ingest was not running) into the store's
//! bounded writer.

use super::{AlarmEvent, LiveSession, Reading};
use crate::rules::Transition;

impl LiveSession {
    /// Keeps every reading applied and every alarm raised or cleared from
    /// now on in a history store, through `writer`'s bounded queue; the
    /// sensors' metadata goes first. `newest_stored` is the time of the
    /// newest reading the store already holds: the time from it to this
    /// session's first reading is recorded as a gap (ingest not running).
    /// Source disconnects are recorded as gaps too.
    pub fn store_to(&mut self, writer: urbis_store::Writer, newest_stored: Option<i64>) {
        self.resumed_after = newest_stored;
        self.gaps_stored = self.stats.snapshot().reconnects;
        let sensors = self
            .streams
            .iter()
            .map(|st| urbis_store::SensorMeta {
                sensor: st.id.clone(),
                feature: st.guid.clone(),
                quantity: self
                    .config
                    .sensors
                    .iter()
                    .find(|c| c.id == st.id)
                    .map(|c| c.quantity.clone())
                    .unwrap_or_default(),
                unit: st.unit.clone(),
            })
            .collect();
        writer.push(urbis_store::Batch { sensors, ..Default::default() });
        self.store = Some(writer);
    }

    /// The history writer's state (lag, rows written and dropped), when storing.
    pub fn store_stats(&self) -> Option<urbis_store::WriterStats> {
        self.store.as_ref().map(urbis_store::Writer::stats)
    }

    /// Writes what is queued for the history store and waits for it.
    pub fn flush_store(&self) -> Result<(), urbis_store::StoreError> {
        self.store.as_ref().map_or(Ok(()), urbis_store::Writer::flush)
    }

    /// Hands the tick's readings (those drained up to pipeline mark `mark`),
    /// alarm events and new gaps to the writer.
    pub(super) fn store_tick(&mut self, readings: &[Reading], events: &[AlarmEvent], mark: u64) {
        if self.store.is_none() {
            return;
        }
        let mut gaps = Vec::new();
        // The first readings after a restart close the gap since the store's newest.
        if let Some(first) = readings.iter().map(|r| r.time_ms).min()
            && let Some(from) = self.resumed_after.take()
            && first > from
        {
            gaps.push(urbis_store::StoredGap {
                source: "ingest".into(),
                from_ms: from,
                to_ms: first,
                reason: "ingest was not running (restarted)".into(),
            });
        }
        // Source disconnects recorded since the last tick.
        let snapshot = self.stats.snapshot();
        let new = snapshot.reconnects.saturating_sub(self.gaps_stored) as usize;
        self.gaps_stored = snapshot.reconnects;
        for g in snapshot.gaps.iter().rev().take(new).rev() {
            gaps.push(urbis_store::StoredGap {
                source: g.source.clone(),
                from_ms: g.from_ms,
                to_ms: g.to_ms,
                reason: "source disconnected".into(),
            });
        }
        let stored = |r: &Reading| urbis_store::StoredReading {
            sensor: self.registry.sensor_id(r.stream).to_string(),
            time_ms: r.time_ms,
            value: r.value,
            quality: match r.quality {
                urbis_model::Quality::Good => 0,
                urbis_model::Quality::Uncertain => 1,
                urbis_model::Quality::Bad => 2,
            },
        };
        let redelivered = readings.iter().filter(|r| r.redelivered).map(stored).collect();
        let readings = readings.iter().filter(|r| !r.redelivered).map(stored).collect();
        let alarms = events
            .iter()
            .map(|e| urbis_store::StoredAlarm {
                time_ms: e.time_ms,
                alarm: e.alarm.clone(),
                severity: format!("{:?}", e.severity).to_lowercase(),
                raised: e.state == Transition::Raised,
                sensor: e.sensor.clone(),
                feature: e.feature.clone(),
                value: e.value,
            })
            .collect();
        if let Some(writer) = &self.store {
            writer.push_marked(urbis_store::Batch { readings, redelivered, alarms, gaps, ..Default::default() }, mark);
        }
    }
}
