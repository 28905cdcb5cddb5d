//! Sources: each runs on its own thread and feeds the session's pipeline
//! through an [`Ingest`](crate::session::Ingest).
//!
//! - [`mqtt`]: an MQTT 3.1.1 subscription (rumqttc), plain or TLS, with
//!   reconnection and gap reporting; JSON or SensorThings payloads.
//! - [`sensorthings`]: polling of SensorThings `Observations` over HTTP.
//! - [`replay`]: a JSONL or CSV recording at N× or as fast as possible.
//! - [`store`]: a history store that ingest workers write (a viewer's
//!   state from the database).

pub mod mqtt;
pub mod replay;
pub mod sensorthings;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::thread::JoinHandle;

/// A running source. Dropping it stops the thread.
#[derive(Debug)]
pub struct SourceHandle {
    pub name: String,
    stop: Arc<AtomicBool>,
    clock: Arc<AtomicI64>,
    finished: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SourceHandle {
    pub(crate) fn new(
        name: String,
        stop: Arc<AtomicBool>,
        clock: Arc<AtomicI64>,
        finished: Arc<AtomicBool>,
        thread: JoinHandle<()>,
    ) -> Self {
        Self { name, stop, clock, finished, thread: Some(thread) }
    }

    /// The source's clock, Unix ms: the virtual time of a replay, the wall clock otherwise.
    pub fn clock_ms(&self) -> i64 {
        self.clock.load(Relaxed)
    }

    /// A replay that reached its end, or a source whose thread ended after a stop.
    pub fn finished(&self) -> bool {
        self.finished.load(Relaxed)
    }

    /// Asks the thread to stop without waiting; [`finished`](Self::finished)
    /// turns true once it has (an MQTT subscription first acknowledges
    /// what the store has committed, see [`mqtt`]).
    pub fn request_stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The wall clock, Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
