//! The wall protocol over real TCP sockets on 127.0.0.1 (port 0): a leader
//! on the test thread, followers on threads. Every loop is bounded (frame
//! counts, deadlines, the followers' leader_timeout).
//!
//! Timing margin: a barrier may overrun its timeout by scheduling only;
//! on this shared 2-core machine we allow MARGIN (300 ms) for that.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::channel;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use urbis_wall::sync::message::{self, Message};
use urbis_wall::sync::{
    BarrierReport, CameraState, Follower, FollowerEvent, FollowerOptions, FrameState, Leader, LeaderOptions, LiveDelta,
    PeerEvent, SyncError,
};

const MARGIN: Duration = Duration::from_millis(300);

/// What one follower saw of one frame.
#[derive(Debug)]
struct Seen {
    seq: u64,
    state: FrameState,
    snapshot: bool,
    /// Just before it sent Ready(seq).
    ready_at: Instant,
    /// Just after Swap(seq) arrived.
    swap_at: Instant,
}

#[derive(Clone, Copy)]
enum Plan {
    Lockstep,
    /// Drops its socket on receiving this frame (a killed process).
    DropAt(u64),
    /// Sleeps this long before answering this frame, the socket open.
    SleepAt(u64, Duration),
}

struct Run {
    seen: Vec<Seen>,
    /// `Ok(bye reason)`, or the error that ended it.
    end: Result<String, SyncError>,
    ended_at: Instant,
}

fn opts(leader_timeout: Duration) -> FollowerOptions {
    FollowerOptions { connect_timeout: Duration::from_secs(5), leader_timeout }
}

fn follower(addr: SocketAddr, display: &str, plan: Plan, leader_timeout: Duration) -> JoinHandle<Run> {
    let display = display.to_string();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut f = match Follower::connect(&addr.to_string(), &display, opts(leader_timeout)) {
            Ok(f) => f,
            Err(e) => return Run { seen, end: Err(e), ended_at: Instant::now() },
        };
        let mut step = || -> Result<Option<String>, SyncError> {
            let (seq, state, snapshot) = match f.next()? {
                FollowerEvent::Frame { seq, state, snapshot } => (seq, state, snapshot),
                FollowerEvent::Bye(reason) => return Ok(Some(reason)),
            };
            match plan {
                Plan::DropAt(n) if seq == n => return Ok(Some("dropped".into())),
                Plan::SleepAt(n, d) if seq == n => std::thread::sleep(d),
                _ => {}
            }
            let ready_at = Instant::now();
            f.ready(seq)?;
            f.wait_swap(seq)?;
            seen.push(Seen { seq, state, snapshot, ready_at, swap_at: Instant::now() });
            Ok(None)
        };
        let mut end = Err(SyncError::Measure("follower loop bound reached".into()));
        for _ in 0..10_000 {
            match step() {
                Ok(None) => {}
                Ok(Some(reason)) => {
                    end = Ok(reason);
                    break;
                }
                Err(e) => {
                    end = Err(e);
                    break;
                }
            }
        }
        Run { seen, end, ended_at: Instant::now() }
    })
}

fn leader(barrier_ms: u64) -> Leader {
    let o = LeaderOptions {
        barrier_timeout: Duration::from_millis(barrier_ms),
        hello_timeout: Duration::from_secs(1),
        message_timeout: Duration::from_millis(300),
        ..LeaderOptions::default()
    };
    Leader::bind("127.0.0.1:0", o).expect("bind on port 0")
}

/// Accepts until `n` followers joined (10 s at most); the events seen.
fn join(leader: &mut Leader, n: usize) -> Vec<PeerEvent> {
    let until = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    while leader.followers().len() < n {
        assert!(Instant::now() < until, "only {:?} joined", leader.followers());
        events.extend(leader.accept_pending());
        std::thread::sleep(Duration::from_millis(2));
    }
    events
}

/// The leader's world: every sensor's latest reading, and each frame's changes.
struct World {
    latest: BTreeMap<String, (f64, f64)>,
    styles: String,
}

impl World {
    fn new() -> World {
        World { latest: BTreeMap::new(), styles: "[[style]]\nquantity = \"energy_kw\"\n".into() }
    }

    /// Frame `seq`'s changes, applied to the world.
    fn step(&mut self, seq: u64) -> FrameState {
        let t = seq as f64 * 0.1;
        let live: Vec<LiveDelta> = (0..3 + seq % 5)
            .map(|i| LiveDelta {
                sensor: format!("s{}", (seq * 7 + i) % 23),
                time: t,
                value: (seq * 31 + i) as f64 * 0.5,
            })
            .collect();
        for d in &live {
            self.latest.insert(d.sensor.clone(), (d.time, d.value));
        }
        let styles = seq.is_multiple_of(50).then(|| {
            self.styles = format!("[[style]]\nquantity = \"energy_kw\"\nrevision = {seq}\n");
            self.styles.clone()
        });
        FrameState {
            camera: CameraState { position: [t, -t, 100.0 + t], ..CameraState::default() },
            sim_time: Some(t),
            selection: seq.is_multiple_of(3).then(|| format!("bldg-{seq}")),
            live,
            scenario_mode: (seq > 100).then(|| "flood".to_string()),
            styles,
            missing: Vec::new(),
        }
    }

    /// Everything, for a snapshot: `delta` for the rest of the fields.
    fn full(&self, delta: &FrameState) -> FrameState {
        FrameState {
            live: self.latest.iter().map(|(s, (t, v))| LiveDelta { sensor: s.clone(), time: *t, value: *v }).collect(),
            styles: Some(self.styles.clone()),
            ..delta.clone()
        }
    }
}

/// Every sensor's latest reading in a state's `live`.
fn live_map(state: &FrameState) -> BTreeMap<String, (f64, f64)> {
    state.live.iter().map(|d| (d.sensor.clone(), (d.time, d.value))).collect()
}

fn finish(h: JoinHandle<Run>) -> Run {
    h.join().expect("follower thread panicked")
}

#[test]
fn lockstep_200_frames_with_3_followers() {
    let mut leader = leader(5_000);
    let addr = leader.local_addr();
    let names = ["c0r0", "c1r0", "c2r0"];
    let threads: Vec<_> = names.iter().map(|n| follower(addr, n, Plan::Lockstep, Duration::from_secs(10))).collect();
    let joined = join(&mut leader, 3);
    assert_eq!(joined.iter().filter(|e| matches!(e, PeerEvent::Joined { .. })).count(), 3, "{joined:?}");
    let mut world = World::new();
    // What the leader sent, recorded on its side: (delta, the snapshot if one was made).
    let mut sent: Vec<(FrameState, Option<FrameState>)> = Vec::new();
    for seq in 1..=200 {
        let delta = world.step(seq);
        let mut snapshot = None;
        let n = leader
            .broadcast_frame(seq, &delta, || {
                let full = world.full(&delta);
                snapshot = Some(full.clone());
                full
            })
            .expect("broadcast");
        assert_eq!(n, 3);
        sent.push((delta, snapshot));
        let report = leader.barrier(seq);
        assert_eq!(report.ready, names, "frame {seq}: {report:?}");
        assert!(report.missing.is_empty(), "frame {seq}: {report:?}");
        leader.swap(seq);
    }
    assert!(sent[0].1.is_some() && sent[1..].iter().all(|s| s.1.is_none()), "one snapshot, for frame 1");
    leader.shutdown("end of the demo");
    let runs: Vec<Run> = threads.into_iter().map(finish).collect();
    for (name, run) in names.iter().zip(&runs) {
        assert_eq!(run.end.as_ref().map_err(ToString::to_string), Ok(&"end of the demo".to_string()), "{name}");
        let seqs: Vec<u64> = run.seen.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<u64>>(), "{name}");
        let mut rebuilt = BTreeMap::new();
        for (s, (delta, snapshot)) in run.seen.iter().zip(&sent) {
            let want = snapshot.as_ref().unwrap_or(delta);
            assert_eq!(s.snapshot, snapshot.is_some(), "{name} frame {}", s.seq);
            assert_eq!(&s.state, want, "{name} frame {}", s.seq);
            rebuilt.extend(live_map(&s.state));
        }
        // Snapshot + deltas on the follower = the leader's world.
        assert_eq!(rebuilt, world.latest, "{name}");
    }
    // No swap before every Ready of its frame.
    for seq in 1..=200usize {
        let last_ready = runs.iter().map(|r| r.seen[seq - 1].ready_at).max().expect("3 runs");
        let first_swap = runs.iter().map(|r| r.seen[seq - 1].swap_at).min().expect("3 runs");
        assert!(first_swap >= last_ready, "frame {seq}: a swap arrived before the last Ready was sent");
    }
}

/// Runs one frame as a render loop would: accept, broadcast, a little
/// "rendering", barrier, swap. The report's events include accept's.
fn frame(leader: &mut Leader, world: &mut World, seq: u64) -> (BarrierReport, Option<FrameState>) {
    let accepted = leader.accept_pending();
    let delta = world.step(seq);
    let mut snapshot = None;
    leader
        .broadcast_frame(seq, &delta, || {
            let full = world.full(&delta);
            snapshot = Some(full.clone());
            full
        })
        .expect("broadcast");
    std::thread::sleep(Duration::from_millis(5));
    let mut report = leader.barrier(seq);
    leader.swap(seq);
    report.events.splice(0..0, accepted);
    (report, snapshot)
}

#[test]
fn a_killed_follower_is_missing_and_a_restarted_one_resyncs_from_a_snapshot() {
    let timeout = Duration::from_millis(200);
    let mut leader = leader(200);
    let addr = leader.local_addr();
    let long = Duration::from_secs(10);
    let c0 = follower(addr, "c0r0", Plan::Lockstep, long);
    let c1 = follower(addr, "c1r0", Plan::Lockstep, long);
    let c2 = follower(addr, "c2r0", Plan::DropAt(20), long);
    join(&mut leader, 3);
    let mut world = World::new();
    let mut events = Vec::new();
    for seq in 1..20 {
        let (r, _) = frame(&mut leader, &mut world, seq);
        assert_eq!(r.ready.len(), 3, "frame {seq}: {r:?}");
        events.extend(r.events);
    }
    // Frame 20: c2 drops its socket instead of answering.
    for seq in 20..30 {
        let (r, _) = frame(&mut leader, &mut world, seq);
        assert!(r.waited <= timeout + MARGIN, "frame {seq} waited {:?}", r.waited);
        assert_eq!(r.ready, ["c0r0", "c1r0"], "frame {seq}");
        assert_eq!(r.missing, ["c2r0"], "frame {seq}");
        events.extend(r.events);
    }
    assert_eq!(finish(c2).end.expect("c2 dropped"), "dropped");
    assert!(
        events.iter().any(|e| matches!(e, PeerEvent::Left { display, .. } if display == "c2r0")),
        "no Left event for c2r0: {events:?}"
    );
    // A new process for c2r0.
    let (tx, rx) = channel();
    let c2b = std::thread::spawn(move || {
        let connecting = Instant::now();
        let mut f = Follower::connect(&addr.to_string(), "c2r0", opts(long)).expect("reconnect");
        let first = f.next().expect("first frame");
        tx.send((connecting, first.clone())).expect("to the test");
        let FollowerEvent::Frame { mut seq, .. } = first else { return 0 };
        let mut frames = 1;
        for _ in 0..1000 {
            f.ready(seq).expect("ready");
            f.wait_swap(seq).expect("swap");
            match f.next().expect("frame") {
                FollowerEvent::Frame { seq: s, .. } => seq = s,
                FollowerEvent::Bye(_) => break,
            }
            frames += 1;
        }
        frames
    });
    let mut resynced = None;
    let mut snapshot_at = None;
    for seq in 30..230 {
        let (r, snap) = frame(&mut leader, &mut world, seq);
        if let Some(s) = snap {
            // The leader's full set, as it stood at this frame.
            assert_eq!(live_map(&s), world.latest);
            snapshot_at = Some((seq, s));
        }
        if r.ready.len() == 3 {
            assert!(r.missing.is_empty(), "{r:?}");
            resynced = Some((seq, Instant::now()));
            break;
        }
        assert!(r.waited <= timeout + MARGIN, "frame {seq} waited {:?}", r.waited);
    }
    let (seq_back, back_at) = resynced.expect("c2r0 never came back into lockstep");
    let (connecting, first) = rx.recv_timeout(long).expect("c2r0's first frame");
    let (snap_seq, leader_snapshot) = snapshot_at.expect("the leader made a snapshot");
    let FollowerEvent::Frame { seq, state, snapshot } = first else { panic!("first event: {first:?}") };
    assert!(snapshot && seq == snap_seq, "first frame {seq} (snapshot: {snapshot}), snapshot made at {snap_seq}");
    assert_eq!(state, leader_snapshot);
    assert_eq!(live_map(&state).len(), 23, "every sensor's latest reading");
    assert!(seq_back <= snap_seq + 1, "in lockstep at frame {seq_back}, snapshot at {snap_seq}");
    let took = back_at - connecting;
    assert!(took < Duration::from_secs(1), "back in lockstep {took:?} after connecting");
    for seq in seq_back + 1..seq_back + 5 {
        let (r, _) = frame(&mut leader, &mut world, seq);
        assert_eq!(r.ready.len(), 3, "{r:?}");
    }
    leader.shutdown("done");
    assert!(finish(c0).end.is_ok() && finish(c1).end.is_ok());
    assert!(c2b.join().expect("c2b") >= 5);
}

#[test]
fn a_follower_that_sleeps_is_missing_while_the_others_swap() {
    let timeout = Duration::from_millis(150);
    let sleep = Duration::from_millis(1200);
    let mut leader = leader(150);
    let addr = leader.local_addr();
    let long = Duration::from_secs(10);
    let c0 = follower(addr, "c0r0", Plan::Lockstep, long);
    let c1 = follower(addr, "c1r0", Plan::SleepAt(10, sleep), long);
    let c2 = follower(addr, "c2r0", Plan::Lockstep, long);
    join(&mut leader, 3);
    let mut world = World::new();
    let mut missing_frames = 0;
    let mut back = None;
    for seq in 1..1000 {
        let (r, _) = frame(&mut leader, &mut world, seq);
        assert!(r.waited <= timeout + MARGIN, "frame {seq} waited {:?}", r.waited);
        if seq < 10 {
            assert_eq!(r.ready.len(), 3, "frame {seq}: {r:?}");
        } else if seq == 10 {
            // The barrier waited the whole timeout for c1, then gave up on it.
            assert!(r.waited >= timeout, "frame 10 waited only {:?}", r.waited);
            assert_eq!(r.ready, ["c0r0", "c2r0"], "{r:?}");
            assert_eq!(r.missing, ["c1r0"], "{r:?}");
        } else if r.missing.is_empty() {
            assert_eq!(r.ready.len(), 3);
            back = Some(seq);
            break;
        } else {
            assert_eq!(r.missing, ["c1r0"], "frame {seq}");
            assert_eq!(r.ready, ["c0r0", "c2r0"], "frame {seq}");
            missing_frames += 1;
        }
    }
    let back = back.expect("c1r0 never caught up");
    leader.shutdown("done");
    let (r0, r1) = (finish(c0), finish(c1));
    finish(c2);
    // While c1 slept the others kept swapping (≈ 5 ms a frame, no waiting for c1).
    let slept_from = r1.seen[8].swap_at;
    let woke = r1.seen[9].ready_at;
    assert!(woke - slept_from >= sleep);
    let swaps_meanwhile = r0.seen.iter().filter(|s| s.swap_at > slept_from && s.swap_at < woke).count();
    assert!(swaps_meanwhile >= 20 && missing_frames >= 20, "{swaps_meanwhile} swaps, {missing_frames} frames");
    // The control for the lockstep test's order check: here a swap did come
    // before a Ready (c1's late one) of its frame.
    assert!(r0.seen[9].swap_at < r1.seen[9].ready_at);
    // c1 got every frame in order, and answered for all of them.
    let seqs: Vec<u64> = r1.seen.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() as u64 >= back);
}

#[test]
fn followers_stop_with_a_clear_error_when_the_leader_dies() {
    // Dropped: connections end at once.
    let mut leader = leader(2_000);
    let addr = leader.local_addr();
    let leader_timeout = Duration::from_secs(2);
    let threads: Vec<_> =
        ["c0r0", "c1r0", "c2r0"].iter().map(|n| follower(addr, n, Plan::Lockstep, leader_timeout)).collect();
    join(&mut leader, 3);
    let mut world = World::new();
    for seq in 1..=5 {
        assert_eq!(frame(&mut leader, &mut world, seq).0.ready.len(), 3);
    }
    // Let frame 5's swaps leave the writer threads (a drop closes at once).
    std::thread::sleep(Duration::from_millis(200));
    let died = Instant::now();
    drop(leader);
    let want = format!("the wall's leader at {addr} went away after frame 5; this display stops");
    for run in threads.into_iter().map(finish) {
        let e = run.end.expect_err("the leader died").to_string();
        assert!(e.starts_with(&want), "{e}");
        assert!(run.ended_at - died < leader_timeout + MARGIN, "took {:?}", run.ended_at - died);
        assert_eq!(run.seen.len(), 5);
    }

    // Silent: the socket stays open, nothing comes.
    let mut leader = self::leader(2_000);
    let addr = leader.local_addr();
    let leader_timeout = Duration::from_millis(400);
    let threads: Vec<_> = ["c0r0", "c1r0"].iter().map(|n| follower(addr, n, Plan::Lockstep, leader_timeout)).collect();
    join(&mut leader, 2);
    for seq in 1..=5 {
        assert_eq!(frame(&mut leader, &mut world, seq).0.ready.len(), 2);
    }
    let silent = Instant::now();
    let want = format!("the wall's leader at {addr} went away after frame 5; this display stops");
    for run in threads.into_iter().map(finish) {
        let e = run.end.expect_err("the leader went silent").to_string();
        assert!(e.starts_with(&want) && e.contains("sent nothing for 400ms"), "{e}");
        let took = run.ended_at - silent;
        assert!(took >= leader_timeout - Duration::from_millis(50) && took < leader_timeout + MARGIN, "{took:?}");
    }
    drop(leader);
}

/// Writes `bytes`, keeps the socket open; returns it and its address.
fn raw(addr: SocketAddr, bytes: &[u8]) -> (TcpStream, SocketAddr) {
    let mut s = TcpStream::connect(addr).expect("raw connect");
    s.write_all(bytes).expect("raw write");
    let local = s.local_addr().expect("local addr");
    (s, local)
}

fn header(version: u16, kind: u8, len: u32) -> Vec<u8> {
    let mut h = b"URBW".to_vec();
    h.extend(version.to_le_bytes());
    h.push(kind);
    h.extend(len.to_le_bytes());
    h
}

fn hand_made(version: u16, kind: u8, json: &str) -> Vec<u8> {
    let mut m = header(version, kind, json.len() as u32);
    m.extend(json.as_bytes());
    m
}

#[test]
fn hostile_bytes_are_refused_per_peer_while_the_wall_keeps_running() {
    let mut leader = leader(2_000);
    let addr = leader.local_addr();
    let long = Duration::from_secs(10);
    let c0 = follower(addr, "c0r0", Plan::Lockstep, long);
    let c1 = follower(addr, "c1r0", Plan::Lockstep, long);
    join(&mut leader, 2);
    let mut bad_json = header(1, 1, 9);
    bad_json.extend(b"{\"versio");
    bad_json.push(b'\n');
    let hostile = [
        (raw(addr, b"GET / HTTP/1.1\r\nHost: wall\r\n\r\n"), "not a wall message: starts with [71, 69, 84, 32]"),
        (raw(addr, &header(1, 1, u32::MAX)), "Hello payload of 4294967295 bytes is over its limit of 65536 bytes"),
        (raw(addr, &header(1, 4, 1 << 30)), "Frame payload of 1073741824 bytes is over its limit of 67108864"),
        (raw(addr, &header(1, 1, 20)[..5]), "truncated header: 5 of 11 bytes, then nothing more for 300ms"),
        (raw(addr, &bad_json), "Hello payload is not valid JSON at line 2, column 0"),
        (raw(addr, &header(1, 9, 2)), "unknown message kind 9"),
        (raw(addr, b""), "no Hello within 1s of connecting"),
    ];
    let mut world = World::new();
    let mut events = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    let mut seq = 0;
    while Instant::now() < until {
        seq += 1;
        let (r, _) = frame(&mut leader, &mut world, seq);
        assert_eq!(r.ready, ["c0r0", "c1r0"], "frame {seq}: {r:?}");
        events.extend(r.events);
        std::thread::sleep(Duration::from_millis(10));
    }
    leader.shutdown("done");
    let refused: Vec<(SocketAddr, String)> = events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Refused { peer, error } => Some((*peer, error.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), hostile.len(), "{refused:#?}");
    for ((_, local), want) in &hostile {
        let (_, e) = refused.iter().find(|(p, _)| p == local).unwrap_or_else(|| panic!("nothing for {local}"));
        assert!(e.starts_with(&format!("peer {local}: ")) && e.contains(want), "{want}: {e}");
    }
    for run in [finish(c0), finish(c1)] {
        assert_eq!(run.seen.len(), seq as usize);
        assert!(run.end.is_ok());
    }
}

/// A fake leader that accepts one follower and sends it `bytes`.
fn fake_leader(bytes: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.write_all(&bytes).expect("write");
        // Keep the socket open until the follower gives up.
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let _ = s.read_to_end(&mut Vec::new());
    });
    (addr, t)
}

#[test]
fn a_follower_refuses_a_leader_that_does_not_speak_the_protocol() {
    let cases = [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), "not a wall message"),
        (header(1, 4, u32::MAX), "Frame payload of 4294967295 bytes is over its limit"),
        (hand_made(1, 4, "{\"seq\": 1, \"state\": [}"), "Frame payload is not valid JSON at line 1, column"),
        (hand_made(1, 5, "{\"seq\": 1}"), "sent Ready(1) where Frame, Snapshot, Swap or Bye was expected"),
    ];
    for (bytes, want) in cases {
        let (addr, t) = fake_leader(bytes);
        let started = Instant::now();
        let mut f = Follower::connect(&addr.to_string(), "c0r0", opts(Duration::from_secs(2))).expect("connect");
        let e = f.next().expect_err(want).to_string();
        assert!(e.starts_with(&format!("leader {addr}: ")) && e.contains(want), "{want}: {e}");
        assert!(started.elapsed() < Duration::from_secs(1), "{want}: took {:?}", started.elapsed());
        drop(f);
        t.join().expect("fake leader");
    }
}

#[test]
fn a_hello_of_another_version_is_refused_naming_both_versions() {
    let mut leader = leader(500);
    let addr = leader.local_addr();
    // Version 99 in the Hello, a version-1 header.
    let (mut hello99, local99) = raw(addr, &hand_made(1, 1, r#"{"version":99,"display":"c0r0"}"#));
    // Version 99 in the header itself.
    let (mut header99, local_h99) = raw(addr, &hand_made(99, 1, r#"{"version":99,"display":"c0r0"}"#));
    // And a real follower with an unusable display name.
    let bad_name = std::thread::spawn(move || {
        let mut f = Follower::connect(&addr.to_string(), "", opts(Duration::from_secs(5))).expect("connect");
        f.next().expect_err("refused").to_string()
    });
    let mut events = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while events.len() < 3 && Instant::now() < until {
        events.extend(leader.accept_pending());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(events.len(), 3, "{events:?}");
    for (stream, local, want) in [
        (&mut hello99, local99, "speaks wall protocol version 99; this end speaks version 1"),
        (&mut header99, local_h99, "speaks wall protocol version 99; this end speaks version 1"),
    ] {
        let e = events
            .iter()
            .find_map(|e| match e {
                PeerEvent::Refused { peer, error } if *peer == local => Some(error.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no refusal for {local}: {events:?}"));
        assert_eq!(e, format!("peer {local}: {want}"));
        // The peer is told why, in a Refused message, then the connection closes.
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut back = Vec::new();
        stream.read_to_end(&mut back).expect("read the refusal");
        let (m, n) = message::decode(&back, "leader").expect("a Refused message");
        assert_eq!((m, n), (Message::Refused { reason: e.clone() }, back.len()));
    }
    let e = bad_name.join().expect("follower thread");
    assert!(e.starts_with(&format!("leader {addr}: refused this display: ")) && e.contains("bad Hello"), "{e}");
    assert!(leader.followers().is_empty());
}

#[test]
fn the_latency_measurement_counts_every_delivery() {
    let r = urbis_wall::sync::measure(2, 20, 100).expect("measure");
    assert_eq!((r.followers, r.frames, r.samples, r.missed), (2, 20, 40, 0), "{r:?}");
    assert!(0.0 < r.p50_us && r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
    assert!(r.frames_per_s > 0.0 && r.frame_bytes > 100 * 30, "{r:?}");
    let json = serde_json::to_string(&r).expect("report to JSON");
    assert_eq!(serde_json::from_str::<urbis_wall::sync::LatencyReport>(&json).expect("back"), r);
}
