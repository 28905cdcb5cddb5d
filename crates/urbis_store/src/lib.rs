//! # urbis_store: sensor history in a database
//!
//! What the live pipeline applies is kept for later: every reading, alarm
//! raise and clear, sensor metadata, gaps (a source disconnected) and drop
//! counts; and scenario runs with their inputs and results (listed and
//! compared by `urbis sim list` / `sim diff`). Queries back the timeline,
//! the inspector and the CLI.
//!
//! ```text
//! live session ──push──► Writer (bounded queue; never blocks the caller;
//!                          │     past its bound it counts what it drops)
//!                          ▼ background thread, one transaction per batch
//!                        HistoryStore ◄── queries: a sensor's range (down-
//!                          │               sampled to N points), the latest
//!                          │               value of each sensor at T, alarms
//!                          ▼               in a window, gaps
//!                        SQLite file (WAL)
//! ```
//!
//! [`HistoryStore`] is the one trait; [`SqliteStore`] is the embedded back
//! end (one file, bundled SQLite) and [`PgStore`] the server one
//! (PostgreSQL, readings by `COPY`). The schema carries a version; a file
//! written by a newer Urbis is refused, not altered.

mod postgres;
mod sqlite;
mod writer;

pub use postgres::{PARTITION_MS, PgStore, redacted};
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use writer::{Writer, WriterOptions, WriterStats};

use std::path::PathBuf;

/// One applied reading of one sensor. `time_ms` is Unix time in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredReading {
    pub sensor: String,
    pub time_ms: i64,
    pub value: f64,
    /// 0 good, 1 uncertain, 2 bad.
    pub quality: u8,
}

/// An alarm raised or cleared.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredAlarm {
    pub time_ms: i64,
    pub alarm: String,
    pub severity: String,
    /// True when raised, false when cleared.
    pub raised: bool,
    pub sensor: String,
    /// The observed feature's id.
    pub feature: String,
    pub value: Option<f64>,
}

/// What is known of a sensor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SensorMeta {
    pub sensor: String,
    /// The observed feature's id (empty when it observes none).
    pub feature: String,
    pub quantity: String,
    pub unit: String,
}

/// A period without a connection to a source, or without the store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredGap {
    pub source: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub reason: String,
}

/// Readings a source (or the store's writer) dropped up to a time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DropCount {
    pub source: String,
    pub time_ms: i64,
    pub dropped: u64,
}

/// Everything one write carries; written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub sensors: Vec<SensorMeta>,
    pub readings: Vec<StoredReading>,
    /// Readings that may be stored already (a broker delivering a message
    /// again after a crash): each is written only if the store holds no
    /// reading of its sensor at its time, so a redelivery is kept once.
    pub redelivered: Vec<StoredReading>,
    pub alarms: Vec<StoredAlarm>,
    pub gaps: Vec<StoredGap>,
    pub drops: Vec<DropCount>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.sensors.is_empty()
            && self.readings.is_empty()
            && self.redelivered.is_empty()
            && self.alarms.is_empty()
            && self.gaps.is_empty()
            && self.drops.is_empty()
    }

    /// Rows it holds (for the writer's bound).
    pub fn rows(&self) -> usize {
        self.sensors.len()
            + self.readings.len()
            + self.redelivered.len()
            + self.alarms.len()
            + self.gaps.len()
            + self.drops.len()
    }

    pub fn append(&mut self, mut other: Batch) {
        self.sensors.append(&mut other.sensors);
        self.readings.append(&mut other.readings);
        self.redelivered.append(&mut other.redelivered);
        self.alarms.append(&mut other.alarms);
        self.gaps.append(&mut other.gaps);
        self.drops.append(&mut other.drops);
    }
}

/// A scenario run to keep: its inputs, results and outputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewRun {
    pub name: String,
    pub started_ms: i64,
    /// The scenario file as run (its parameters).
    pub scenario_toml: String,
    /// Hex digests of the scenario text and of the city's input files.
    pub scenario_hash: String,
    pub city_hash: String,
    /// The run's results (its `results.json`; null when there is none).
    pub results: serde_json::Value,
    pub out_dir: String,
    pub interrupted: bool,
}

/// A kept scenario run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredRun {
    pub id: i64,
    #[serde(flatten)]
    pub run: NewRun,
}

/// A result that differs between two runs: its JSON path and the two
/// values (numbers, booleans or text; none where a run lacks it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FigureChange {
    pub path: String,
    pub a: Option<serde_json::Value>,
    pub b: Option<serde_json::Value>,
}

/// The scalar results (numbers, booleans, text) of two results documents
/// that differ, by JSON pointer (`/flood/max_depth_m`,
/// `/buildings/tower/complies`), in path order.
pub fn diff_results(a: &serde_json::Value, b: &serde_json::Value) -> Vec<FigureChange> {
    use serde_json::Value;
    fn leaves(v: &Value, path: String, out: &mut std::collections::BTreeMap<String, Value>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    leaves(v, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    leaves(v, format!("{path}/{i}"), out);
                }
            }
            Value::Null => {}
            scalar => {
                out.insert(path, scalar.clone());
            }
        }
    }
    let (mut la, mut lb) = (Default::default(), Default::default());
    leaves(a, String::new(), &mut la);
    leaves(b, String::new(), &mut lb);
    let paths: std::collections::BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
    paths
        .into_iter()
        .filter_map(|p| {
            let (x, y) = (la.get(p).cloned(), lb.get(p).cloned());
            (x != y).then(|| FigureChange { path: p.clone(), a: x, b: y })
        })
        .collect()
}

/// One point of a down-sampled series: the readings of one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SeriesPoint {
    /// The bucket's start (or the reading's time when not down-sampled).
    pub time_ms: i64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
    /// The worst quality in the bucket (the reading's own when not down-sampled): 0 good, 1 uncertain, 2 bad.
    pub quality: u8,
}

/// The start of bucket `b` of `n` equal buckets over `[from_ms, to_ms)`
/// (down-sampled series; the back ends number buckets the same way).
pub(crate) fn bucket_start(from_ms: i64, to_ms: i64, n: i64, b: i64) -> i64 {
    from_ms + ((i128::from(b) * i128::from(to_ms - from_ms)) / i128::from(n.max(1))) as i64
}

/// Errors of a history store. Each names the store it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{store}: cannot open: {why}")]
    Open { store: String, why: String },
    #[error(
        "{store}: written by a newer Urbis (history schema {found}; this one reads up to {supported}); nothing was changed"
    )]
    NewerSchema { store: String, found: i64, supported: i64 },
    #[error("{store}: {why}")]
    Database { store: String, why: String },
    #[error("{store}: the writer stopped: {why}")]
    WriterGone { store: String, why: String },
    #[error("bad query: {0}")]
    Query(String),
}

impl StoreError {
    pub(crate) fn db(store: &str, e: impl std::fmt::Display) -> Self {
        StoreError::Database { store: store.to_string(), why: e.to_string() }
    }
}

/// A history back end.
pub trait HistoryStore: Send {
    /// A name for messages (the file path or URL, without credentials).
    fn name(&self) -> &str;

    /// Writes a batch in one transaction: all of it or, on error, none.
    fn write(&mut self, batch: &Batch) -> Result<(), StoreError>;

    /// The readings of `sensor` in `[from_ms, to_ms)`, in time order; with
    /// `points`, down-sampled to at most that many equal time buckets
    /// (mean, min, max and count each).
    fn series(
        &mut self,
        sensor: &str,
        from_ms: i64,
        to_ms: i64,
        points: Option<usize>,
    ) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The newest reading at or before `at_ms` of every sensor (or of the
    /// sensors named), by sensor id. Of two readings of a sensor in the same
    /// millisecond, SQLite gives the one stored last, PostgreSQL either.
    fn latest_at(&mut self, at_ms: i64, sensors: Option<&[String]>) -> Result<Vec<StoredReading>, StoreError>;

    /// Alarm raises and clears in `[from_ms, to_ms)`, in time order.
    fn alarms(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredAlarm>, StoreError>;

    /// Gaps overlapping `[from_ms, to_ms)`.
    fn gaps(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredGap>, StoreError>;

    /// Known sensors.
    fn sensors(&mut self) -> Result<Vec<SensorMeta>, StoreError>;

    /// Readings stored in total.
    fn reading_count(&mut self) -> Result<u64, StoreError>;

    /// Keeps a scenario run; returns its id.
    fn record_run(&mut self, run: &NewRun) -> Result<i64, StoreError>;

    /// Every kept run, oldest first.
    fn runs(&mut self) -> Result<Vec<StoredRun>, StoreError>;

    /// Retention: removes the readings and alarms older than `before_ms`
    /// and the gaps that ended by then; returns the readings removed.
    /// PostgreSQL drops whole weekly partitions where it can.
    fn prune_before(&mut self, before_ms: i64) -> Result<u64, StoreError>;
}

/// Opens a store from a `--store` argument: `postgres://…` (or
/// `postgresql://…`) for PostgreSQL, anything else a SQLite file.
pub fn open(spec: &str) -> Result<Box<dyn HistoryStore>, StoreError> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        return Ok(Box::new(PgStore::connect(spec)?));
    }
    if spec.contains("://") {
        return Err(StoreError::Open {
            store: redacted(spec),
            why: "unknown store scheme (postgres:// or a file path)".into(),
        });
    }
    Ok(Box::new(SqliteStore::open(&PathBuf::from(spec))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_results_lists_the_numbers_that_changed_by_path() {
        let a = serde_json::json!({"flood": {"max_depth_m": 1.25, "cells": 40}, "b": [{"sun_h": 3.0}, {"sun_h": 5.5}], "name": "x", "ok": true});
        let b = serde_json::json!({"flood": {"max_depth_m": 1.5, "cells": 40}, "b": [{"sun_h": 3.0}], "name": "y", "new": 2, "ok": true});
        let d = diff_results(&a, &b);
        let j = |v: serde_json::Value| Some(v);
        let got: Vec<(&str, Option<serde_json::Value>, Option<serde_json::Value>)> =
            d.iter().map(|c| (c.path.as_str(), c.a.clone(), c.b.clone())).collect();
        assert_eq!(
            got,
            [
                ("/b/1/sun_h", j(5.5.into()), None),
                ("/flood/max_depth_m", j(1.25.into()), j(1.5.into())),
                ("/name", j("x".into()), j("y".into())),
                ("/new", None, j(2.into())),
            ]
        );
        assert!(diff_results(&a, &a).is_empty());
    }
}
