//! # urbis_live: live sensor state on the twin
//!
//! Readings flow one way, through one bounded pipeline:
//!
//! ```text
//! MQTT (rumqttc) ─┐
//! SensorThings ───┼─► payload::Parser ─► Pipeline (bounded, per-stream, drop oldest) ─► LiveSession::tick(now)
//! replay JSONL/CSV┘    (counts rejects,                                                     │
//!                       unknown sensors)      LatestReading + History on Sensor entities ◄──┤
//!                                             FeatureStyle / LiveLabel of observed features◄┤  (style rules)
//!                                             AlarmEvent → log, JSONL, highlight ◄──────────┘  (alarm rules)
//! ```
//!
//! Each source runs on its own thread ([`sources`]). The session is
//! configured in TOML ([`config`]): sensors bound to entities by id,
//! attribute or proximity; colour ramps, thresholds with hysteresis,
//! extrusion and labels; alarms on thresholds held for a time or on
//! silence. [`simulate`] makes a deterministic sensor network for any city
//! (the sample city's includes a river flood).

pub mod config;
pub mod payload;
pub mod pipeline;
pub mod rules;
pub mod session;
pub mod simulate;
pub mod sources;

use std::path::PathBuf;

pub use config::{ConfigError, LiveConfig};
pub use payload::{FieldMap, Parser, Reading, Registry, Reject};
pub use pipeline::{Pipeline, Stats, StatsSnapshot};
pub use session::{AlarmEvent, Ingest, LiveSession, TickReport, time_text};
pub use sources::SourceHandle;

/// Errors of the live crate.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Session(#[from] session::SessionError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{url}: {why}")]
    Url { url: String, why: String },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{url}: {why}")]
    Http { url: String, why: String },
}
