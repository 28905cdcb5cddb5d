//! The leader: listens for followers, sends every frame, runs the swap
//! barrier.
//!
//! ```text
//!  TcpListener (non-blocking) ──accept_pending──► one Conn per socket
//!     ├─ reader thread: read_message (blocking; the rest of a message within
//!     │    message_timeout) ──► inbound channel (conn id, message or error)
//!     └─ writer thread ◄── queue of encoded messages (Arc'd, encoded once per
//!          frame for every follower); a write error ──► inbound channel
//!  Leader (the render thread) drains the inbound channel: Hello → joined
//!  (owed a snapshot), Ready → ready_seq, error/EOF/Bye → left.
//!  barrier(seq): recv_timeout on that channel until every follower in the
//!  barrier said Ready(seq) or barrier_timeout passed.
//! ```
//!
//! Nothing here blocks the render thread for longer than the barrier
//! timeout: sends only queue bytes for the writer threads; a follower whose
//! queue holds more than `max_queued_bytes` is dropped.

use std::collections::BTreeSet;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use super::message::{self, FrameState, Message, PROTOCOL_VERSION};
use super::{SyncError, peer_name};

/// How often a waiting barrier looks for new connections.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// How the leader waits and what it tolerates.
#[derive(Debug, Clone)]
pub struct LeaderOptions {
    /// The swap barrier's longest wait; a follower later than this is
    /// reported missing (`SyncConfig::barrier_timeout`).
    pub barrier_timeout: Duration,
    /// A new connection must say Hello within this.
    pub hello_timeout: Duration,
    /// Once a message has begun, the rest must arrive within this; a write
    /// to a follower must make progress within this.
    pub message_timeout: Duration,
    /// Bytes queued for one follower beyond which it is dropped as too slow.
    pub max_queued_bytes: usize,
    /// Displays expected to join: reported missing until they do.
    pub expected: Vec<String>,
}

impl Default for LeaderOptions {
    fn default() -> Self {
        Self {
            barrier_timeout: Duration::from_millis(250),
            hello_timeout: Duration::from_secs(5),
            message_timeout: Duration::from_secs(5),
            max_queued_bytes: 256 << 20,
            expected: Vec::new(),
        }
    }
}

/// Something that happened to a connection.
#[derive(Debug)]
pub enum PeerEvent {
    /// A follower said Hello; it gets a snapshot with the next frame.
    Joined { display: String, peer: SocketAddr },
    /// A follower's connection ended (closed, failed, said Bye, replaced by a
    /// new connection for its display, or too slow); `reason` says which.
    Left { display: String, peer: SocketAddr, reason: String },
    /// A connection that never became a follower: bad bytes, a wrong
    /// version, no Hello.
    Refused { peer: SocketAddr, error: SyncError },
}

/// What one swap barrier saw.
#[derive(Debug)]
pub struct BarrierReport {
    pub seq: u64,
    /// How long the barrier waited (at most the barrier timeout, plus
    /// scheduling).
    pub waited: Duration,
    /// Displays whose Ready(seq) came in time, sorted.
    pub ready: Vec<String>,
    /// Displays known to the wall (joined once, or expected) without a
    /// Ready(seq) in time: late, gone or not yet joined; sorted.
    pub missing: Vec<String>,
    /// Joins, departures and refusals since the previous report.
    pub events: Vec<PeerEvent>,
}

enum Inbound {
    Message(Message),
    Failed(SyncError),
    Flushed,
}

struct Conn {
    id: u64,
    peer: SocketAddr,
    stream: TcpStream,
    out: Sender<Arc<Vec<u8>>>,
    queued: Arc<AtomicUsize>,
    since: Instant,
    /// `None` until its Hello.
    display: Option<String>,
    needs_snapshot: bool,
    last_sent: Option<u64>,
    ready_seq: Option<u64>,
    missing: bool,
}

impl Conn {
    fn send(&self, bytes: &Arc<Vec<u8>>) {
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        // A closed queue means the writer failed; its error is on its way.
        let _ = self.out.send(Arc::clone(bytes));
    }
}

/// The wall's leader. Drive it from the render loop: `accept_pending`,
/// `broadcast_frame`, render, `barrier`, `swap`. Dropping it closes every
/// connection without a goodbye (as a crash would); `shutdown` says Bye.
pub struct Leader {
    listener: TcpListener,
    local: SocketAddr,
    opts: LeaderOptions,
    tx: Sender<(u64, Inbound)>,
    rx: Receiver<(u64, Inbound)>,
    next_id: u64,
    conns: Vec<Conn>,
    known: BTreeSet<String>,
    events: Vec<PeerEvent>,
    last_seq: Option<u64>,
}

impl Leader {
    /// Listens on `addr` (`"0.0.0.0:7400"`; port 0 picks a free port).
    pub fn bind(addr: &str, opts: LeaderOptions) -> Result<Leader, SyncError> {
        let bind_err = |source| SyncError::Bind { addr: addr.into(), source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        let (tx, rx) = channel();
        let known = opts.expected.iter().cloned().collect();
        tracing::info!(%local, "wall leader listening");
        Ok(Leader {
            listener,
            local,
            opts,
            tx,
            rx,
            next_id: 0,
            conns: Vec::new(),
            known,
            events: Vec::new(),
            last_seq: None,
        })
    }

    /// Where followers connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The connected followers' displays, sorted.
    pub fn followers(&self) -> Vec<String> {
        let mut v: Vec<String> = self.conns.iter().filter_map(|c| c.display.clone()).collect();
        v.sort();
        v
    }

    /// Stops reporting `display` as missing (it was taken off the wall).
    pub fn forget(&mut self, display: &str) {
        self.known.remove(display);
    }

    /// Accepts new connections and handles what arrived (Hellos, Readys,
    /// departures) without blocking; returns what happened since the last
    /// call or barrier report.
    pub fn accept_pending(&mut self) -> Vec<PeerEvent> {
        self.accept_connections();
        self.drain();
        std::mem::take(&mut self.events)
    }

    /// Takes the connections waiting on the listener (never blocks).
    fn accept_connections(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.open(stream, peer),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        tracing::warn!(error = %e, "wall leader: accept failed");
                    }
                    break;
                }
            }
        }
    }

    /// Sends frame `seq`: a `Snapshot` of `full()` (called at most once, and
    /// only when some follower is new or rejoined; it must include this
    /// frame's changes) to followers that need one, `delta` to the others.
    /// Returns how many followers it went to. Never blocks: the bytes are
    /// queued for each follower's writer thread.
    pub fn broadcast_frame(
        &mut self,
        seq: u64,
        delta: &FrameState,
        full: impl FnOnce() -> FrameState,
    ) -> Result<usize, SyncError> {
        if let Some(last) = self.last_seq
            && seq <= last
        {
            return Err(SyncError::SeqOrder { seq, last });
        }
        self.drain();
        let frame = Arc::new(message::encode_state(false, seq, delta)?);
        let snapshot = if self.conns.iter().any(|c| c.display.is_some() && c.needs_snapshot) {
            Some(Arc::new(message::encode_state(true, seq, &full())?))
        } else {
            None
        };
        let max = self.opts.max_queued_bytes;
        let mut slow = Vec::new();
        let mut sent = 0;
        for c in self.conns.iter_mut().filter(|c| c.display.is_some()) {
            let queued = c.queued.load(Ordering::Relaxed);
            if queued > max {
                slow.push((c.id, queued));
                continue;
            }
            match (&snapshot, c.needs_snapshot) {
                (Some(bytes), true) => c.send(bytes),
                _ => c.send(&frame),
            }
            c.needs_snapshot = false;
            c.last_sent = Some(seq);
            sent += 1;
        }
        self.last_seq = Some(seq);
        for (id, queued) in slow {
            if let Some(i) = self.index(id) {
                let c = self.conns.swap_remove(i);
                let reason = format!("too slow: {:.1} MiB queued unsent", queued as f64 / (1 << 20) as f64);
                self.depart(c, None, reason, None);
            }
        }
        Ok(sent)
    }

    /// The swap barrier: waits until every follower that was sent frame
    /// `seq`, and is not already missing, said Ready(seq), or until the
    /// barrier timeout. Followers without a Ready(seq) by then are missing:
    /// the barrier stops waiting for them until they answer for the latest
    /// frame, or the one before it, again.
    pub fn barrier(&mut self, seq: u64) -> BarrierReport {
        let start = Instant::now();
        let deadline = start + self.opts.barrier_timeout;
        self.drain();
        loop {
            // A missing follower that answered for the previous frame is
            // keeping up again: waited for, so it rejoins the lockstep.
            let waiting = self.conns.iter().any(|c| {
                let close = !c.missing || c.ready_seq.is_some_and(|r| r + 1 >= seq);
                c.display.is_some() && close && c.last_sent == Some(seq) && c.ready_seq.is_none_or(|r| r < seq)
            });
            let now = Instant::now();
            if !waiting || now >= deadline {
                break;
            }
            // Followers connecting meanwhile say Hello now and get their
            // snapshot with the next frame, not the one after.
            self.accept_connections();
            match self.rx.recv_timeout((deadline - now).min(ACCEPT_POLL)) {
                Ok((id, what)) => self.handle(id, what),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let waited = start.elapsed();
        let mut ready = Vec::new();
        for c in self.conns.iter_mut().filter(|c| c.last_sent.is_some_and(|s| s >= seq)) {
            let Some(display) = &c.display else { continue };
            if c.ready_seq.is_some_and(|r| r >= seq) {
                ready.push(display.clone());
            } else if c.last_sent == Some(seq) {
                if !c.missing {
                    let name = display.as_str();
                    tracing::warn!(display = name, seq, ?waited, "wall follower missed the swap barrier");
                }
                c.missing = true;
            }
        }
        ready.sort();
        let missing = self.known.iter().filter(|d| ready.binary_search(d).is_err()).cloned().collect();
        BarrierReport { seq, waited, ready, missing, events: std::mem::take(&mut self.events) }
    }

    /// Tells every follower that was sent frame `seq` to present it.
    pub fn swap(&mut self, seq: u64) {
        let Ok(bytes) = message::encode(&Message::Swap { seq }) else { return };
        let bytes = Arc::new(bytes);
        for c in self.conns.iter().filter(|c| c.display.is_some() && c.last_sent == Some(seq)) {
            c.send(&bytes);
        }
    }

    /// A clean end: every follower gets `Bye { reason }`; waits up to the
    /// message timeout for the goodbyes to be written, then closes.
    pub fn shutdown(mut self, reason: &str) {
        let bye = message::encode(&Message::Bye { reason: reason.into() }).ok().map(Arc::new);
        let conns = std::mem::take(&mut self.conns);
        let mut streams = Vec::with_capacity(conns.len());
        for c in conns {
            if let (Some(bytes), Some(_)) = (&bye, &c.display) {
                c.send(bytes);
            }
            // Dropping the queue's sender lets the writer flush and close.
            streams.push(c.stream);
        }
        let deadline = Instant::now() + self.opts.message_timeout;
        let mut flushed = 0;
        while flushed < streams.len() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match self.rx.recv_timeout(deadline - now) {
                Ok((_, Inbound::Flushed)) => flushed += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        for s in streams {
            let _ = s.shutdown(Shutdown::Both);
        }
        tracing::info!(reason, "wall leader shut down");
    }

    fn open(&mut self, stream: TcpStream, peer: SocketAddr) {
        let setup = || -> std::io::Result<(TcpStream, TcpStream)> {
            stream.set_nonblocking(false)?;
            stream.set_nodelay(true)?;
            stream.set_write_timeout(Some(self.opts.message_timeout))?;
            Ok((stream.try_clone()?, stream.try_clone()?))
        };
        let (mut reader, mut writer) = match setup() {
            Ok(s) => s,
            Err(source) => {
                let error = SyncError::Io { peer: peer_name("peer", peer), context: "setting up the socket", source };
                self.events.push(PeerEvent::Refused { peer, error });
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let name = peer_name("peer", peer);
        let (out, queue) = channel::<Arc<Vec<u8>>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let body = self.opts.message_timeout;
        let tx = self.tx.clone();
        let peer_r = name.clone();
        let spawned = std::thread::Builder::new().name(format!("wall-read-{peer}")).spawn(move || {
            loop {
                match message::read_message(&mut reader, &peer_r, None, body) {
                    Ok(m) => {
                        if tx.send((id, Inbound::Message(m))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send((id, Inbound::Failed(e)));
                        return;
                    }
                }
            }
        });
        let tx = self.tx.clone();
        let q = Arc::clone(&queued);
        let spawned = spawned.and_then(|_| {
            std::thread::Builder::new().name(format!("wall-write-{peer}")).spawn(move || {
                use std::io::Write;
                for bytes in queue {
                    if let Err(source) = writer.write_all(&bytes) {
                        let _ =
                            tx.send((id, Inbound::Failed(SyncError::Io { peer: name, context: "writing", source })));
                        break;
                    }
                    q.fetch_sub(bytes.len(), Ordering::Relaxed);
                }
                // The leader let go of this connection and everything queued
                // is written, or a write failed: close it (which also ends
                // the reader).
                let _ = writer.shutdown(Shutdown::Both);
                let _ = tx.send((id, Inbound::Flushed));
            })
        });
        if let Err(source) = spawned {
            let _ = stream.shutdown(Shutdown::Both);
            let error = SyncError::Io { peer: peer_name("peer", peer), context: "starting its threads", source };
            self.events.push(PeerEvent::Refused { peer, error });
            return;
        }
        self.conns.push(Conn {
            id,
            peer,
            stream,
            out,
            queued,
            since: Instant::now(),
            display: None,
            needs_snapshot: true,
            last_sent: None,
            ready_seq: None,
            missing: false,
        });
    }

    /// Handles everything already in the inbound channel; drops connections
    /// that never said Hello in time.
    fn drain(&mut self) {
        while let Ok((id, what)) = self.rx.try_recv() {
            self.handle(id, what);
        }
        let hello_timeout = self.opts.hello_timeout;
        let late: Vec<u64> = self
            .conns
            .iter()
            .filter(|c| c.display.is_none() && c.since.elapsed() > hello_timeout)
            .map(|c| c.id)
            .collect();
        for id in late {
            if let Some(i) = self.index(id) {
                let c = self.conns.swap_remove(i);
                let peer = c.peer;
                let error = SyncError::NoHello { peer: peer_name("peer", peer), waited: hello_timeout };
                self.close(c, Some(Message::Refused { reason: error.to_string() }));
                self.events.push(PeerEvent::Refused { peer, error });
            }
        }
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.conns.iter().position(|c| c.id == id)
    }

    fn handle(&mut self, id: u64, what: Inbound) {
        let Some(i) = self.index(id) else { return };
        match what {
            Inbound::Flushed => {}
            Inbound::Failed(error) => {
                // Said back where the socket still takes it: a follower of
                // another version learns why.
                let c = self.conns.swap_remove(i);
                let reason = error.to_string();
                let last = match c.display {
                    Some(_) => Message::Bye { reason: reason.clone() },
                    None => Message::Refused { reason: reason.clone() },
                };
                self.depart(c, Some(last), reason, Some(error));
            }
            Inbound::Message(Message::Hello { version, display }) if self.conns[i].display.is_none() => {
                self.hello(i, version, display);
            }
            Inbound::Message(Message::Ready { seq }) if self.conns[i].display.is_some() => {
                if self.conns[i].last_sent.is_none_or(|s| seq > s) {
                    let c = self.conns.swap_remove(i);
                    let reason = format!("sent Ready({seq}) for a frame it was not sent");
                    self.depart(c, Some(Message::Bye { reason: reason.clone() }), reason, None);
                    return;
                }
                let c = &mut self.conns[i];
                c.ready_seq = Some(c.ready_seq.map_or(seq, |r| r.max(seq)));
                // Back in the barrier once it answers for the latest frame.
                if c.missing && Some(seq) == self.last_seq {
                    c.missing = false;
                    tracing::info!(display = c.display.as_deref().unwrap_or(""), seq, "wall follower caught up");
                }
            }
            Inbound::Message(Message::Bye { reason }) if self.conns[i].display.is_some() => {
                let c = self.conns.swap_remove(i);
                self.depart(c, None, format!("said goodbye: {reason}"), None);
            }
            Inbound::Message(m) => {
                let c = self.conns.swap_remove(i);
                let expected = if c.display.is_some() { "Ready or Bye" } else { "Hello" };
                let error = SyncError::Unexpected { peer: peer_name("peer", c.peer), got: m.describe(), expected };
                let reason = error.to_string();
                self.depart(c, Some(Message::Bye { reason: reason.clone() }), reason, Some(error));
            }
        }
    }

    fn hello(&mut self, i: usize, version: u16, display: String) {
        let (id, peer) = (self.conns[i].id, self.conns[i].peer);
        let name = peer_name("peer", peer);
        let problem = if version != PROTOCOL_VERSION {
            Some(SyncError::UnknownVersion { peer: name, got: version, supported: PROTOCOL_VERSION })
        } else if display.trim().is_empty() || display.len() > 256 || display.chars().any(char::is_control) {
            Some(SyncError::BadHello {
                peer: name,
                message: format!("display {display:?}: give 1 to 256 printable characters"),
            })
        } else {
            None
        };
        if let Some(error) = problem {
            let c = self.conns.swap_remove(i);
            self.close(c, Some(Message::Refused { reason: error.to_string() }));
            self.events.push(PeerEvent::Refused { peer, error });
            return;
        }
        // A display has one connection: a newer one replaces the older
        // (whose process was restarted without its socket closing).
        if let Some(j) = self.conns.iter().position(|c| c.display.as_deref() == Some(display.as_str())) {
            let old = self.conns.swap_remove(j);
            let reason = format!("replaced by a new connection from {peer}");
            self.depart(old, Some(Message::Bye { reason: reason.clone() }), reason, None);
        }
        let Some(i) = self.index(id) else { return };
        let name = display.as_str();
        tracing::info!(display = name, %peer, "wall follower joined");
        self.conns[i].display = Some(display.clone());
        self.conns[i].needs_snapshot = true;
        self.known.insert(display.clone());
        self.events.push(PeerEvent::Joined { display, peer });
    }

    /// Lets go of a connection: `last` is queued before it closes.
    fn close(&self, c: Conn, last: Option<Message>) {
        match last.and_then(|m| message::encode(&m).ok()) {
            // The writer flushes, then shuts the socket down.
            Some(bytes) => c.send(&Arc::new(bytes)),
            None => {
                let _ = c.stream.shutdown(Shutdown::Both);
            }
        }
    }

    fn depart(&mut self, c: Conn, last: Option<Message>, reason: String, error: Option<SyncError>) {
        let peer = c.peer;
        match c.display.clone() {
            Some(display) => {
                let name = display.as_str();
                tracing::warn!(display = name, %peer, reason, "wall follower left");
                self.close(c, last);
                self.events.push(PeerEvent::Left { display, peer, reason });
            }
            None => {
                self.close(c, last);
                let error = error.unwrap_or(SyncError::Closed { peer: peer_name("peer", peer) });
                self.events.push(PeerEvent::Refused { peer, error });
            }
        }
    }
}

impl Drop for Leader {
    /// Closes every connection at once, without a goodbye.
    fn drop(&mut self) {
        for c in &self.conns {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
    }
}
