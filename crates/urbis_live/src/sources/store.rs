//! A history store as a live source: a viewer reads the city's state from
//! the database that ingest workers write (`store:postgres://…` or
//! `store:FILE.db`), instead of subscribing to the broker itself.
//!
//! On start it loads the last `history` of every configured sensor (so the
//! timeline can scrub back before the viewer started); then every `every`
//! it asks for each sensor's newest reading and queues those newer than
//! what it queued before. [`readings_between`] is also what a still image
//! at a past time (`render --live-at`) replays from.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::Duration;

use urbis_store::{HistoryStore, StoreError};

use crate::LiveError;
use crate::payload::{Reading, Registry};
use crate::session::Ingest;
use crate::sources::{SourceHandle, now_ms};

/// Which store, and how often to look.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSource {
    /// A SQLite file or a `postgres://` URL (see [`urbis_store::open`]).
    pub store: String,
    pub every: Duration,
    /// How much history to load first, before the newest reading.
    pub history: Duration,
}

impl StoreSource {
    /// Parses `store:SPEC[?every=SECONDS&history=SECONDS]` (other query
    /// keys stay part of SPEC, e.g. a PostgreSQL `sslmode`).
    pub fn parse(spec: &str) -> Result<StoreSource, LiveError> {
        let bad = |why: &str| LiveError::Url { url: urbis_store::redacted(spec), why: why.to_string() };
        let rest = spec.strip_prefix("store:").ok_or_else(|| bad("expected store:FILE.db or store:postgres://…"))?;
        let (base, query) = rest.rsplit_once('?').unwrap_or((rest, ""));
        let mut s =
            StoreSource { store: base.to_string(), every: Duration::from_secs(1), history: Duration::from_secs(3600) };
        let mut kept = Vec::new();
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let secs = |v: &str, what: &str| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e9)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| bad(&format!("{what} must be seconds")))
            };
            match kv.split_once('=') {
                Some(("every", v)) => s.every = secs(v, "every")?.max(Duration::from_millis(10)),
                Some(("history", v)) => s.history = secs(v, "history")?,
                _ => kept.push(kv),
            }
        }
        if !kept.is_empty() {
            s.store = format!("{base}?{}", kept.join("&"));
        }
        if s.store.is_empty() {
            return Err(bad("no store after store:"));
        }
        Ok(s)
    }
}

fn quality(q: u8) -> urbis_model::Quality {
    match q {
        0 => urbis_model::Quality::Good,
        1 => urbis_model::Quality::Uncertain,
        _ => urbis_model::Quality::Bad,
    }
}

/// Every stored reading of the registry's sensors with `from_ms <= t < to_ms`, oldest first.
pub fn readings_between(
    store: &mut dyn HistoryStore,
    registry: &Registry,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Reading>, StoreError> {
    let mut out = Vec::new();
    for stream in 0..registry.len() as u32 {
        for p in store.series(registry.sensor_id(stream), from_ms, to_ms, None)? {
            out.push(Reading {
                stream,
                time_ms: p.time_ms,
                value: p.mean,
                quality: quality(p.quality),
                redelivered: false,
            });
        }
    }
    out.sort_by_key(|r| r.time_ms);
    Ok(out)
}

/// One look at the store: each sensor's newest reading, queued when newer
/// than `last` (which it updates). Returns the readings queued.
pub fn poll_once(
    store: &mut dyn HistoryStore,
    last: &mut HashMap<u32, i64>,
    ingest: &Ingest,
) -> Result<usize, StoreError> {
    let mut batch = Vec::new();
    for r in store.latest_at(i64::MAX, None)? {
        let Some(stream) = ingest.registry.stream(&r.sensor) else { continue };
        if last.get(&stream).is_some_and(|t| *t >= r.time_ms) {
            continue;
        }
        last.insert(stream, r.time_ms);
        batch.push(Reading {
            stream,
            time_ms: r.time_ms,
            value: r.value,
            quality: quality(r.quality),
            redelivered: false,
        });
    }
    let n = batch.len();
    ingest.stats.count_message();
    ingest.stats.count_readings(n as u64);
    ingest.push(&mut batch);
    Ok(n)
}

/// Reads the store on a thread. An unreachable store is retried every
/// `every` (logged, and the time without it recorded as a gap).
pub fn spawn_store(source: StoreSource, ingest: Ingest) -> Result<SourceHandle, LiveError> {
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicI64::new(now_ms()));
    let finished = Arc::new(AtomicBool::new(false));
    let name = format!("store:{}", urbis_store::redacted(&source.store));
    let (s, c, f, n) = (stop.clone(), clock.clone(), finished.clone(), name.clone());
    let thread = std::thread::Builder::new()
        .name("urbis-store-source".into())
        .spawn(move || {
            run(&source, &ingest, &n, &s, &c);
            f.store(true, Relaxed);
        })
        .map_err(|e| LiveError::Io { path: PathBuf::from(&name), source: e })?;
    Ok(SourceHandle::new(name, stop, clock, finished, thread))
}

fn run(source: &StoreSource, ingest: &Ingest, name: &str, stop: &AtomicBool, clock: &AtomicI64) {
    let mut store: Option<Box<dyn HistoryStore>> = None;
    let mut last: HashMap<u32, i64> = HashMap::new();
    let mut loaded_history = false;
    let mut down_since: Option<i64> = None;
    while !stop.load(Relaxed) {
        clock.store(now_ms(), Relaxed);
        let result = (|| -> Result<(), StoreError> {
            let db = match &mut store {
                Some(db) => db,
                None => store.insert(urbis_store::open(&source.store)?),
            };
            if !loaded_history {
                let newest = db.latest_at(i64::MAX, None)?.iter().map(|r| r.time_ms).max();
                if let Some(newest) = newest {
                    let from = newest.saturating_sub(source.history.as_millis() as i64);
                    let mut batch = readings_between(db.as_mut(), &ingest.registry, from, newest.saturating_add(1))?;
                    for r in &batch {
                        last.insert(r.stream, r.time_ms);
                    }
                    ingest.stats.count_readings(batch.len() as u64);
                    ingest.push(&mut batch);
                }
                loaded_history = true;
            }
            poll_once(db.as_mut(), &mut last, ingest)?;
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(from) = down_since.take() {
                    ingest.stats.record_gap(crate::pipeline::Gap {
                        source: name.to_string(),
                        from_ms: from,
                        to_ms: now_ms(),
                    });
                }
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(source = name, "history store unreachable: {e}; retrying every {:?}", source.every);
                    down_since = Some(now_ms());
                }
                store = None;
            }
        }
        let until = std::time::Instant::now() + source.every;
        while std::time::Instant::now() < until && !stop.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(10).min(source.every));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_specs_keep_foreign_query_keys() {
        let s = StoreSource::parse("store:postgres://u@h:5432/city?sslmode=disable&every=0.5&history=60").unwrap();
        assert_eq!(s.store, "postgres://u@h:5432/city?sslmode=disable");
        assert_eq!(s.every, Duration::from_millis(500));
        assert_eq!(s.history, Duration::from_secs(60));
        let s = StoreSource::parse("store:history.db").unwrap();
        assert_eq!((s.store.as_str(), s.every), ("history.db", Duration::from_secs(1)));
        assert!(StoreSource::parse("store:x.db?every=soon").is_err());
        assert!(StoreSource::parse("store:").is_err());
    }
}
