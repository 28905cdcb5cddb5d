//! The bounded background writer: callers hand it batches without ever
//! waiting on the database; a thread writes them in one transaction each,
//! at least every `flush_every` (default 1 s, the most a crash can lose).
//!
//! The queue holds at most `max_rows` rows. Past that the writer is
//! lagging: readings that do not fit are dropped and counted, and the
//! count is written into the store (`drops`, source `store-writer`) with a
//! gap over the time they cover, once the backlog has drained. Memory
//! stays bounded whatever the rate; [`WriterStats`] says how far behind it
//! is.
//!
//! A caller that must not acknowledge data before it is durable (an MQTT
//! subscription acknowledging after the commit) tags what it pushes with a
//! rising mark ([`Writer::push_marked`]) and reads
//! [`Writer::committed_mark`]: every batch pushed with a mark at or below
//! it has been committed (or counted as dropped).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Batch, DropCount, HistoryStore, StoreError, StoredGap};

/// How the writer batches and bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterOptions {
    /// Most rows queued in memory.
    pub max_rows: usize,
    /// Longest time a row waits before it is written.
    pub flush_every: Duration,
    /// Rows that trigger a write before `flush_every`.
    pub batch_rows: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self { max_rows: 1_000_000, flush_every: Duration::from_secs(1), batch_rows: 100_000 }
    }
}

/// What the writer has done and how far behind it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct WriterStats {
    /// Rows queued, not yet written (the lag).
    pub queued_rows: usize,
    /// Age of the oldest queued row, milliseconds (0 when none).
    pub lag_ms: u64,
    pub written_rows: u64,
    /// Readings dropped because the queue was full.
    pub dropped_readings: u64,
    pub batches: u64,
    pub failed_writes: u64,
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Pending {
    batch: Batch,
    rows: usize,
    since: Option<Instant>,
    /// Readings dropped since the last write, and the time span they cover.
    dropped: u64,
    dropped_span: Option<(i64, i64)>,
    stats: WriterStats,
    stop: bool,
    in_flight: bool,
    /// The highest mark pushed.
    mark: u64,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Every push marked at or below this is committed.
    committed: Arc<AtomicU64>,
    wake: Condvar,
    done: Condvar,
}

/// A history store behind a bounded queue and a writer thread.
pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    name: String,
    options: WriterOptions,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({})", self.name)
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Pending> {
    shared.pending.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writer {
    /// Starts the writer thread over `store`.
    pub fn start(store: Box<dyn HistoryStore>, options: WriterOptions) -> Result<Self, StoreError> {
        let name = store.name().to_string();
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            committed: Arc::new(AtomicU64::new(0)),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("urbis-store".into())
            .spawn(move || run(store, &thread_shared, options))
            .map_err(|e| StoreError::WriterGone { store: name.clone(), why: e.to_string() })?;
        Ok(Self { shared, thread: Some(thread), name, options })
    }

    /// Queues a batch; never waits for the database. Readings that do not
    /// fit under the bound are dropped and counted.
    pub fn push(&self, batch: Batch) {
        self.push_marked(batch, 0);
    }

    /// Queues a batch tagged with `mark` (marks only rise): once it is
    /// committed, [`committed_mark`](Self::committed_mark) reaches `mark`.
    /// An empty batch only moves the mark.
    pub fn push_marked(&self, mut batch: Batch, mark: u64) {
        let mut p = lock(&self.shared);
        p.mark = p.mark.max(mark);
        if batch.is_empty() {
            if p.rows == 0 && !p.in_flight {
                self.shared.committed.fetch_max(p.mark, Ordering::Release);
            }
            return;
        }
        let room = self.options.max_rows.saturating_sub(p.rows);
        if batch.rows() > room {
            let other = batch.rows() - batch.readings.len();
            let keep = room.saturating_sub(other).min(batch.readings.len());
            for r in &batch.readings[keep..] {
                let span = p.dropped_span.get_or_insert((r.time_ms, r.time_ms));
                span.0 = span.0.min(r.time_ms);
                span.1 = span.1.max(r.time_ms);
            }
            let lost = (batch.readings.len() - keep) as u64;
            p.dropped += lost;
            p.stats.dropped_readings += lost;
            batch.readings.truncate(keep);
        }
        p.rows += batch.rows();
        p.since.get_or_insert_with(Instant::now);
        p.batch.append(batch);
        if p.rows >= self.options.batch_rows {
            self.shared.wake.notify_one();
        }
    }

    /// Waits until everything queued so far is written (or a write failed).
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut p = lock(&self.shared);
        let failed_before = p.stats.failed_writes;
        self.shared.wake.notify_one();
        while (p.rows > 0 || p.in_flight || p.dropped > 0) && !p.stop {
            if p.stats.failed_writes > failed_before {
                let last = p.stats.last_error.clone().unwrap_or_default();
                // The error text names the store already.
                let why = last.strip_prefix(&format!("{}: ", self.name)).unwrap_or(&last).to_string();
                return Err(StoreError::Database { store: self.name.clone(), why });
            }
            self.shared.wake.notify_one();
            p = self
                .shared
                .done
                .wait_timeout(p, Duration::from_millis(50))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        Ok(())
    }

    pub fn stats(&self) -> WriterStats {
        let p = lock(&self.shared);
        let mut s = p.stats.clone();
        s.queued_rows = p.rows;
        s.lag_ms = p.since.map_or(0, |t| t.elapsed().as_millis() as u64);
        s
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The highest mark whose batches are all committed (see [`push_marked`](Self::push_marked)).
    pub fn committed_mark(&self) -> Arc<AtomicU64> {
        self.shared.committed.clone()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("{e}");
        }
        lock(&self.shared).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(mut store: Box<dyn HistoryStore>, shared: &Shared, options: WriterOptions) {
    loop {
        let (mut batch, taken_mark) = {
            let mut p = lock(shared);
            loop {
                if p.stop && p.rows == 0 && p.dropped == 0 {
                    return;
                }
                let due = p.since.is_some_and(|t| t.elapsed() >= options.flush_every);
                if p.rows >= options.batch_rows
                    || due
                    || (p.stop && (p.rows > 0 || p.dropped > 0))
                    || (p.rows == 0 && p.dropped > 0)
                {
                    break;
                }
                let wait = p.since.map_or(options.flush_every, |t| options.flush_every.saturating_sub(t.elapsed()));
                p = shared
                    .wake
                    .wait_timeout(p, wait.max(Duration::from_millis(1)))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            let batch = std::mem::take(&mut p.batch);
            let taken_mark = p.mark;
            p.rows = 0;
            p.since = None;
            p.in_flight = true;
            // Once the backlog is taken, what was dropped is recorded with it.
            if p.dropped > 0 {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let mut b = batch;
                b.drops.push(DropCount { source: "store-writer".into(), time_ms: now, dropped: p.dropped });
                if let Some((from, to)) = p.dropped_span.take() {
                    b.gaps.push(StoredGap {
                        source: "store-writer".into(),
                        from_ms: from,
                        to_ms: to + 1,
                        reason: format!("{} readings dropped: the store lagged behind", p.dropped),
                    });
                }
                p.dropped = 0;
                (b, taken_mark)
            } else {
                (batch, taken_mark)
            }
        };
        let rows = batch.rows();
        let result = store.write(&batch);
        let mut p = lock(shared);
        p.in_flight = false;
        match result {
            Ok(()) => {
                p.stats.written_rows += rows as u64;
                p.stats.batches += 1;
                // Marks pushed since with nothing to write are committed too once nothing waits.
                let mark = if p.rows == 0 { p.mark } else { taken_mark };
                shared.committed.fetch_max(mark, Ordering::Release);
            }
            Err(e) => {
                tracing::warn!("history store: {e}");
                p.stats.failed_writes += 1;
                p.stats.last_error = Some(e.to_string());
                if p.stop {
                    // Shutting down and the store refuses: what is left is lost, and counted.
                    p.stats.dropped_readings += batch.readings.len() as u64;
                    drop(p);
                    shared.done.notify_all();
                    return;
                }
                // Keep the batch for the next try while it fits the bound; count the rest as dropped.
                let room = options.max_rows.saturating_sub(p.rows);
                if rows <= room {
                    let queued = std::mem::take(&mut p.batch);
                    batch.append(queued);
                    p.batch = batch;
                    p.rows += rows;
                    p.since.get_or_insert_with(Instant::now);
                } else {
                    p.dropped += batch.readings.len() as u64;
                    p.stats.dropped_readings += batch.readings.len() as u64;
                }
                drop(p);
                shared.done.notify_all();
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        }
        drop(p);
        shared.done.notify_all();
    }
}
