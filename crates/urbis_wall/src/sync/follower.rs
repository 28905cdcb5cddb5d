//! A follower: one display process's side of the wall protocol.
//!
//! ```text
//! Follower::connect ──Hello──► leader
//! loop {
//!     next()          ◄── Snapshot (first, or after rejoining) or Frame
//!     render the frame
//!     ready(seq)      ──► Ready
//!     wait_swap(seq)  ◄── Swap
//!     present
//! }                   ◄── Bye: FollowerEvent::Bye, the loop ends
//! ```
//!
//! One blocking socket, read with a deadline: no message for
//! `leader_timeout`, end of stream or a reset is the leader's death and
//! comes back as [`SyncError::LeaderGone`] ("the wall's leader at … went
//! away after frame 812; this display stops"). Bytes that are not the wall
//! protocol come back as the decoding error, naming the leader.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::message::{self, FrameState, Message, PROTOCOL_VERSION};
use super::{SyncError, peer_name};

/// How long a follower waits.
#[derive(Debug, Clone)]
pub struct FollowerOptions {
    /// For the TCP connection to the leader.
    pub connect_timeout: Duration,
    /// No message from the leader for this long: it is gone. Frames come
    /// every 1/fps seconds, so a few seconds is plenty.
    pub leader_timeout: Duration,
}

impl Default for FollowerOptions {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(5), leader_timeout: Duration::from_secs(5) }
    }
}

/// What the leader sent.
// One per frame, moved once: boxing the state would cost more than it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum FollowerEvent {
    /// Render frame `seq`. `snapshot`: `state` holds everything (every
    /// sensor's latest reading, the styles) and replaces what this display
    /// had; otherwise it holds the changes since the previous frame.
    Frame { seq: u64, state: FrameState, snapshot: bool },
    /// The leader shut down cleanly, saying why.
    Bye(String),
}

/// A connection to the wall's leader for one display.
pub struct Follower {
    stream: TcpStream,
    addr: String,
    peer: String,
    display: String,
    opts: FollowerOptions,
    last_seq: Option<u64>,
}

impl Follower {
    /// Connects to the leader at `addr` (`"10.0.0.1:7400"`) and says Hello
    /// for `display`. Frames arrive with [`Follower::next`]; the first is a
    /// snapshot.
    pub fn connect(addr: &str, display: &str, opts: FollowerOptions) -> Result<Follower, SyncError> {
        let err = |source| SyncError::Connect { display: display.into(), addr: addr.into(), source };
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(err)?.collect();
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the address resolved to nothing");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, opts.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = stream.ok_or_else(|| err(last))?;
        stream.set_nodelay(true).map_err(err)?;
        stream.set_write_timeout(Some(opts.leader_timeout)).map_err(err)?;
        let peer = peer_name("leader", stream.peer_addr().map_err(err)?);
        let mut f = Follower { stream, addr: addr.into(), peer, display: display.into(), opts, last_seq: None };
        f.send(&Message::Hello { version: PROTOCOL_VERSION, display: display.into() })?;
        Ok(f)
    }

    /// This follower's display.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The last frame received.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Waits for the next frame (skipping swaps nobody waited for) or the
    /// leader's goodbye, at most `leader_timeout`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<FollowerEvent, SyncError> {
        loop {
            match self.read()? {
                Message::Frame { seq, state } => return Ok(self.frame(seq, state, false)),
                Message::Snapshot { seq, state } => return Ok(self.frame(seq, state, true)),
                Message::Bye { reason } => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return Ok(FollowerEvent::Bye(reason));
                }
                Message::Swap { .. } => {}
                m => return Err(self.unexpected(m, "Frame, Snapshot, Swap or Bye")),
            }
        }
    }

    /// As [`Follower::next`], but a follower that has fallen behind catches
    /// up: frames already waiting in the socket are merged into one, the
    /// newest (its camera, times, selection and mode; every reading of them
    /// all, in order; the last styles sent), so it renders and answers for
    /// the leader's latest frame and the barrier takes it back.
    pub fn next_latest(&mut self) -> Result<FollowerEvent, SyncError> {
        let mut event = self.next()?;
        while let FollowerEvent::Frame { state, snapshot, .. } = &mut event {
            if !self.message_waiting()? {
                break;
            }
            match self.read()? {
                Message::Frame { seq, state: newer } | Message::Snapshot { seq, state: newer } => {
                    let mut live = std::mem::take(&mut state.live);
                    let styles = newer.styles.clone().or_else(|| state.styles.take());
                    live.extend(newer.live);
                    *state = FrameState { live, styles, ..newer };
                    self.last_seq = Some(seq);
                    let s = *snapshot;
                    event = FollowerEvent::Frame { seq, state: std::mem::take(state), snapshot: s };
                }
                Message::Swap { .. } => {}
                Message::Bye { reason } => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return Ok(FollowerEvent::Bye(reason));
                }
                m => return Err(self.unexpected(m, "Frame, Snapshot, Swap or Bye")),
            }
        }
        Ok(event)
    }

    /// Whether a whole message header is already waiting in the socket.
    fn message_waiting(&mut self) -> Result<bool, SyncError> {
        let mut header = [0u8; message::HEADER_LEN];
        let peeked = match self.stream.set_nonblocking(true) {
            Ok(()) => {
                let p = self.stream.peek(&mut header);
                self.stream.set_nonblocking(false).and(p)
            }
            Err(e) => Err(e),
        };
        match peeked {
            Ok(n) => Ok(n >= message::HEADER_LEN),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(source) => {
                let e = SyncError::Io { peer: self.peer.clone(), context: "peeking", source };
                Err(self.gone(e))
            }
        }
    }

    fn frame(&mut self, seq: u64, state: FrameState, snapshot: bool) -> FollowerEvent {
        self.last_seq = Some(seq);
        FollowerEvent::Frame { seq, state, snapshot }
    }

    /// Frame `seq` is rendered.
    pub fn ready(&mut self, seq: u64) -> Result<(), SyncError> {
        self.send(&Message::Ready { seq })
    }

    /// Waits for the leader's Swap(seq), at most `leader_timeout`. A Bye
    /// here is the leader leaving: an error, as no swap will come.
    pub fn wait_swap(&mut self, seq: u64) -> Result<(), SyncError> {
        loop {
            match self.read()? {
                Message::Swap { seq: s } if s == seq => return Ok(()),
                Message::Swap { seq: s } if s < seq => {}
                Message::Bye { reason } => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    let cause = Box::new(SyncError::Bye { peer: self.peer.clone(), reason });
                    return Err(SyncError::LeaderGone { addr: self.addr.clone(), last_seq: self.last_seq, cause });
                }
                m => return Err(self.unexpected(m, "Swap")),
            }
        }
    }

    /// Leaves cleanly, telling the leader why.
    pub fn leave(mut self, reason: &str) -> Result<(), SyncError> {
        self.send(&Message::Bye { reason: reason.into() })?;
        let _ = self.stream.shutdown(Shutdown::Write);
        Ok(())
    }

    fn unexpected(&mut self, m: Message, expected: &'static str) -> SyncError {
        let _ = self.stream.shutdown(Shutdown::Both);
        match m {
            Message::Refused { reason } => SyncError::Refused { peer: self.peer.clone(), reason },
            m => SyncError::Unexpected { peer: self.peer.clone(), got: m.describe(), expected },
        }
    }

    fn read(&mut self) -> Result<Message, SyncError> {
        let t = self.opts.leader_timeout;
        message::read_message(&mut self.stream, &self.peer, Some(t), t).map_err(|e| self.gone(e))
    }

    fn send(&mut self, m: &Message) -> Result<(), SyncError> {
        let bytes = message::encode(m)?;
        self.stream
            .write_all(&bytes)
            .map_err(|source| SyncError::Io { peer: self.peer.clone(), context: "writing", source })
            .map_err(|e| self.gone(e))
    }

    /// Ends of the stream, resets and silence are the leader going away;
    /// bad bytes stay what they are.
    fn gone(&mut self, e: SyncError) -> SyncError {
        let _ = self.stream.shutdown(Shutdown::Both);
        match e {
            SyncError::Closed { .. } | SyncError::Idle { .. } | SyncError::Io { .. } => {
                SyncError::LeaderGone { addr: self.addr.clone(), last_seq: self.last_seq, cause: Box::new(e) }
            }
            SyncError::Truncated { ref why, .. } if why.starts_with("the connection closed") => {
                SyncError::LeaderGone { addr: self.addr.clone(), last_seq: self.last_seq, cause: Box::new(e) }
            }
            e => e,
        }
    }
}
