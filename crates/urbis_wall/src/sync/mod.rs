//! # Wall synchronisation: one leader, many followers, one swap
//!
//! A wall driven by several processes (one per display or host) shows one
//! picture only if every process renders the same state for the same frame
//! and presents it at the same moment. The leader owns the state (camera,
//! simulation time, selection, live readings, scenario mode, styles); the
//! followers render it. They talk over TCP (std::net, blocking sockets with
//! timeouts, one reader and one writer thread per connection on the leader;
//! no async runtime).
//!
//! ```text
//!  leader (render loop)                          follower "c1r0" (render loop)
//!  ────────────────────                          ─────────────────────────────
//!                                  ◄── Hello { version, display }   Follower::connect
//!  accept_pending()  joins it, owes it a snapshot
//!  broadcast_frame(seq, delta, full)
//!     ├─ Snapshot { seq, full } ──► to newcomers (stands in for the frame)
//!     └─ Frame { seq, delta }  ──►  to the others             next() → FollowerEvent::Frame
//!  render own displays                                        render its displays
//!                                  ◄── Ready { seq }          ready(seq)
//!  barrier(seq): waits for Ready(seq) from every follower in the barrier,
//!     at most barrier_timeout; late ones are reported missing and leave
//!     the barrier until they answer for the latest frame again
//!  swap(seq)     ── Swap { seq } ──►                          wait_swap(seq)
//!  present                                                    present
//!  shutdown(reason) ── Bye { reason } ──►                     next() → FollowerEvent::Bye
//! ```
//!
//! * [`message`]: the wire format (an 11-byte header `URBW`, version, kind,
//!   payload length; then JSON) and [`FrameState`], with every refusal an
//!   error that names the peer and what was wrong.
//! * [`leader`]: [`Leader`], the listening side and its swap barrier.
//! * [`follower`]: [`Follower`], one display process's side.
//! * [`latency`]: [`latency::measure`], leader and followers on threads over
//!   127.0.0.1 with a live-sensor storm: frame delivery latency and the
//!   lockstep rate.
//!
//! `docs/WALL-PROTOCOL.md` describes the protocol for other implementations.

use std::net::SocketAddr;
use std::time::Duration;

pub mod follower;
pub mod latency;
pub mod leader;
pub mod message;

pub use follower::{Follower, FollowerEvent, FollowerOptions};
pub use latency::{LatencyReport, measure};
pub use leader::{BarrierReport, Leader, LeaderOptions, PeerEvent};
pub use message::{CameraState, FrameState, LiveDelta, Message, PROTOCOL_VERSION};

/// Why a wall connection, or a message on it, was refused. Every variant
/// names the peer (`leader 10.0.0.1:7400`, `peer 10.0.0.7:51234`).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("wall leader: cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("wall follower {display}: cannot reach the leader at {addr}: {source}")]
    Connect { display: String, addr: String, source: std::io::Error },
    #[error("{peer}: {context}: {source}")]
    Io { peer: String, context: &'static str, source: std::io::Error },
    #[error("{peer}: not a wall message: starts with {got:?}, expected \"URBW\"")]
    BadMagic { peer: String, got: Vec<u8> },
    #[error("{peer}: speaks wall protocol version {got}; this end speaks version {supported}")]
    UnknownVersion { peer: String, got: u16, supported: u16 },
    #[error("{peer}: unknown message kind {kind}")]
    UnknownKind { peer: String, kind: u8 },
    #[error("{peer}: {kind} payload of {len} bytes is over its limit of {max} bytes")]
    TooLong { peer: String, kind: &'static str, len: u32, max: u32 },
    #[error("{peer}: truncated {what}: {got} of {want} bytes, then {why}")]
    Truncated { peer: String, what: &'static str, got: usize, want: usize, why: String },
    #[error("{peer}: {kind} payload is not valid JSON at line {line}, column {column}: {message}")]
    Json { peer: String, kind: &'static str, line: usize, column: usize, message: String },
    #[error("{peer}: closed the connection")]
    Closed { peer: String },
    #[error("{peer}: sent nothing for {waited:?}")]
    Idle { peer: String, waited: Duration },
    #[error("{peer}: sent {got} where {expected} was expected")]
    Unexpected { peer: String, got: String, expected: &'static str },
    #[error("{peer}: bad Hello: {message}")]
    BadHello { peer: String, message: String },
    #[error("{peer}: no Hello within {waited:?} of connecting")]
    NoHello { peer: String, waited: Duration },
    #[error("{peer}: refused this display: {reason}")]
    Refused { peer: String, reason: String },
    #[error("{peer}: said goodbye: {reason}")]
    Bye { peer: String, reason: String },
    #[error("the wall's leader at {addr} went away {}; this display stops ({cause})", after_frame(*.last_seq))]
    LeaderGone { addr: String, last_seq: Option<u64>, cause: Box<SyncError> },
    #[error("wall leader: frame state not sent: {field} is not finite")]
    NotFinite { field: String },
    #[error("wall leader: frame {seq} does not follow frame {last} (sequence numbers must increase)")]
    SeqOrder { seq: u64, last: u64 },
    #[error("wall leader: cannot encode {kind}: {message}")]
    Encode { kind: &'static str, message: String },
    #[error("wall latency measurement: {0}")]
    Measure(String),
}

fn after_frame(last: Option<u64>) -> String {
    match last {
        Some(seq) => format!("after frame {seq}"),
        None => "before its first frame".into(),
    }
}

/// How a peer is named in errors before it said who it is.
pub(crate) fn peer_name(role: &str, addr: SocketAddr) -> String {
    format!("{role} {addr}")
}
