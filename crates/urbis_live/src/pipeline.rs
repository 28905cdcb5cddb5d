//! The bounded pipeline between the sources' threads and the model, and the
//! counters every stage reports into.
//!
//! Each stream has its own queue of at most `capacity / streams` readings
//! (at least one). A reading arriving at a full queue pushes out that
//! stream's oldest, so memory is bounded by the capacity, a storm on one
//! sensor never starves the others, and the newest value of every sensor
//! always survives. Every drop is counted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::payload::{Reading, Reject};

/// Counters of the whole live session; shared by all threads.
#[derive(Debug, Default)]
pub struct Stats {
    pub messages: AtomicU64,
    pub readings: AtomicU64,
    pub accepted: AtomicU64,
    pub applied: AtomicU64,
    pub dropped: AtomicU64,
    pub unknown: AtomicU64,
    pub rejected: [AtomicU64; Reject::ALL.len()],
    pub reconnects: AtomicU64,
    /// Logins the broker refused.
    pub refused: AtomicU64,
    /// Subscriptions the broker acknowledged (one per connection).
    pub subscribed: AtomicU64,
    pub stale: AtomicU64,
    pub alarms_active: AtomicU64,
    pub alarm_events: AtomicU64,
    unknown_ids: Mutex<BTreeMap<String, u64>>,
    gaps: Mutex<Vec<Gap>>,
}

/// A period without a connection to a source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Gap {
    pub source: String,
    /// Unix ms when the connection was lost and when it came back.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// How many distinct unknown sensor ids are remembered by name.
const UNKNOWN_NAMES: usize = 1000;

/// A copy of the counters at one moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsSnapshot {
    pub messages: u64,
    pub readings: u64,
    pub accepted: u64,
    pub applied: u64,
    pub dropped: u64,
    pub unknown: u64,
    pub rejected: BTreeMap<&'static str, u64>,
    pub reconnects: u64,
    pub refused: u64,
    pub subscribed: u64,
    pub stale: u64,
    pub alarms_active: u64,
    pub alarm_events: u64,
    pub unknown_ids: BTreeMap<String, u64>,
    pub gaps: Vec<Gap>,
}

impl StatsSnapshot {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl Stats {
    pub fn count_message(&self) {
        self.messages.fetch_add(1, Relaxed);
    }

    pub fn count_readings(&self, n: u64) {
        self.readings.fetch_add(n, Relaxed);
    }

    /// Counts a refusal and logs the first few of each kind, then every 1000th.
    pub fn reject(&self, why: Reject, detail: &str) {
        let n = self.rejected[why as usize].fetch_add(1, Relaxed) + 1;
        if n <= 5 || n.is_multiple_of(1000) {
            let detail: String = detail.chars().take(160).collect();
            tracing::warn!(reason = why.name(), count = n, "live reading rejected: {detail}");
        }
    }

    pub fn rejected(&self, why: Reject) -> u64 {
        self.rejected[why as usize].load(Relaxed)
    }

    /// Counts a reading for a sensor nobody configured, remembering its id.
    pub fn unknown(&self, id: &str) {
        let n = self.unknown.fetch_add(1, Relaxed) + 1;
        if let Ok(mut ids) = self.unknown_ids.lock() {
            if let Some(c) = ids.get_mut(id) {
                *c += 1;
            } else if ids.len() < UNKNOWN_NAMES {
                ids.insert(id.chars().take(128).collect(), 1);
                tracing::warn!(sensor = id, total = n, "reading for an unknown sensor");
            }
        }
    }

    pub fn record_gap(&self, gap: Gap) {
        tracing::warn!(source = %gap.source, gap_ms = gap.to_ms - gap.from_ms, "source reconnected after a gap");
        self.reconnects.fetch_add(1, Relaxed);
        if let Ok(mut g) = self.gaps.lock() {
            if g.len() >= 1000 {
                g.remove(0);
            }
            g.push(gap);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            messages: self.messages.load(Relaxed),
            readings: self.readings.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            applied: self.applied.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            unknown: self.unknown.load(Relaxed),
            rejected: Reject::ALL.iter().map(|r| (r.name(), self.rejected(*r))).collect(),
            reconnects: self.reconnects.load(Relaxed),
            refused: self.refused.load(Relaxed),
            subscribed: self.subscribed.load(Relaxed),
            stale: self.stale.load(Relaxed),
            alarms_active: self.alarms_active.load(Relaxed),
            alarm_events: self.alarm_events.load(Relaxed),
            unknown_ids: self.unknown_ids.lock().map(|m| m.clone()).unwrap_or_default(),
            gaps: self.gaps.lock().map(|g| g.clone()).unwrap_or_default(),
        }
    }
}

struct Queues {
    queues: Vec<VecDeque<Reading>>,
    /// Streams whose queue is not empty, in the order they became so.
    pending: Vec<u32>,
    len: usize,
    /// Pushes so far: each push's mark (see [`Pipeline::push`]).
    pushes: u64,
}

/// The bounded, per-stream queue between sources and the model.
pub struct Pipeline {
    inner: Mutex<Queues>,
    per_stream: usize,
    capacity: usize,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("capacity", &self.capacity).field("per_stream", &self.per_stream).finish()
    }
}

impl Pipeline {
    /// A pipeline for `streams` streams holding at most `capacity` readings
    /// (and at least one per stream).
    pub fn new(streams: usize, capacity: usize) -> Self {
        let per_stream = (capacity / streams.max(1)).max(1);
        Self {
            inner: Mutex::new(Queues {
                queues: (0..streams).map(|_| VecDeque::new()).collect(),
                pending: Vec::new(),
                len: 0,
                pushes: 0,
            }),
            per_stream,
            capacity: per_stream * streams.max(1),
        }
    }

    /// Readings held at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn per_stream(&self) -> usize {
        self.per_stream
    }

    /// Readings waiting now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |q| q.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues readings (emptying `batch`), dropping each full stream's
    /// oldest. Returns the push's mark: once a [`drain`](Self::drain)
    /// returns a mark at or above it, these readings have been taken.
    pub fn push(&self, batch: &mut Vec<Reading>, stats: &Stats) -> u64 {
        let Ok(mut q) = self.inner.lock() else { return 0 };
        let q = &mut *q;
        if batch.is_empty() {
            return q.pushes;
        }
        q.pushes += 1;
        let mut dropped = 0;
        let accepted = batch.len() as u64;
        for r in batch.drain(..) {
            let Some(queue) = q.queues.get_mut(r.stream as usize) else { continue };
            if queue.len() >= self.per_stream {
                queue.pop_front();
                dropped += 1;
            } else {
                if queue.is_empty() {
                    q.pending.push(r.stream);
                }
                q.len += 1;
            }
            queue.push_back(r);
        }
        stats.accepted.fetch_add(accepted, Relaxed);
        if dropped > 0 {
            let before = stats.dropped.fetch_add(dropped, Relaxed);
            if before == 0 || (before + dropped) / 10_000 != before / 10_000 {
                tracing::warn!(dropped = before + dropped, "live pipeline full: oldest readings dropped");
            }
        }
        q.pushes
    }

    /// Moves every waiting reading into `out`, grouped by stream (oldest first
    /// within a stream). At most `capacity()` readings come out per call.
    /// Returns the mark of the last push taken.
    pub fn drain(&self, out: &mut Vec<Reading>) -> u64 {
        let Ok(mut q) = self.inner.lock() else { return 0 };
        let q = &mut *q;
        out.reserve(q.len);
        for s in q.pending.drain(..) {
            if let Some(queue) = q.queues.get_mut(s as usize) {
                out.extend(queue.drain(..));
            }
        }
        q.len = 0;
        q.pushes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(stream: u32, t: i64) -> Reading {
        Reading { stream, time_ms: t, value: t as f64, quality: Default::default(), redelivered: false }
    }

    #[test]
    fn a_full_stream_drops_its_oldest_and_keeps_the_latest() {
        let stats = Stats::default();
        let p = Pipeline::new(2, 6); // 3 per stream
        let mut batch: Vec<Reading> = (0..10).map(|t| r(0, t)).chain([r(1, 100)]).collect();
        p.push(&mut batch, &stats);
        assert_eq!(p.len(), 4);
        let mut out = Vec::new();
        p.drain(&mut out);
        assert_eq!(out.iter().map(|r| r.time_ms).collect::<Vec<_>>(), vec![7, 8, 9, 100]);
        assert_eq!(stats.dropped.load(Relaxed), 7);
        assert_eq!(stats.accepted.load(Relaxed), 11);
        assert!(p.is_empty());
    }
}
