//! How fast a frame reaches the followers: a leader and N followers on
//! threads of this process, over 127.0.0.1, in lockstep.
//!
//! ```text
//! base = Instant::now()  (one clock, shared by every thread)
//! leader:   sent[seq] = base.elapsed()  → build + encode + queue Frame(seq)
//!                                          (a storm of `deltas_per_frame`
//!                                          LiveDeltas) → barrier → swap
//! follower: next() decoded Frame(seq)   → got[f][seq] = base.elapsed()
//!           → ready(seq) → wait_swap(seq)
//! latency = got − sent, per frame and follower: p50, p99, max (µs);
//! frames/s = frames ÷ the whole lockstep loop's time.
//! ```
//!
//! Frame 0, the joining snapshot, is a warm-up and not counted.

use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::SyncError;
use super::follower::{Follower, FollowerEvent, FollowerOptions};
use super::leader::{Leader, LeaderOptions};
use super::message::{CameraState, FrameState, LiveDelta};

/// What [`measure`] found (serde: the `--json` report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    pub followers: usize,
    pub frames: usize,
    pub deltas_per_frame: usize,
    /// One Frame message's size on the wire, bytes (the last frame's).
    pub frame_bytes: usize,
    /// Frame deliveries measured (frames × followers).
    pub samples: usize,
    /// Leader starts sending → follower has decoded, microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Frames through the whole lockstep loop (broadcast, every follower
    /// decodes and answers, barrier, swap) per second.
    pub frames_per_s: f64,
    /// Follower-frames that missed the barrier (should be 0).
    pub missed: usize,
}

/// The state of frame `seq`: the camera moves and `deltas` sensors report.
pub fn storm(seq: u64, deltas: usize) -> FrameState {
    let t = seq as f64 / 30.0;
    FrameState {
        camera: CameraState { position: [100.0 * t.cos(), 100.0 * t.sin(), 250.0], ..CameraState::default() },
        sim_time: Some(t),
        selection: Some("bldg-1042".into()),
        live: (0..deltas)
            .map(|i| LiveDelta {
                sensor: format!("meter-{i:05}"),
                time: t,
                value: ((seq as usize * 7919 + i * 104_729) % 100_000) as f64 * 0.01,
            })
            .collect(),
        scenario_mode: None,
        styles: None,
        missing: Vec::new(),
    }
}

/// Runs `frames` lockstep frames with `followers` follower threads and
/// `deltas_per_frame` live readings per frame; see the module docs.
pub fn measure(followers: usize, frames: usize, deltas_per_frame: usize) -> Result<LatencyReport, SyncError> {
    let base = Instant::now();
    let mut leader = Leader::bind(
        "127.0.0.1:0",
        LeaderOptions { barrier_timeout: Duration::from_secs(2), ..LeaderOptions::default() },
    )?;
    let addr = leader.local_addr().to_string();
    let (done_tx, done_rx) = channel();
    for f in 0..followers {
        let (addr, done) = (addr.clone(), done_tx.clone());
        let spawned = std::thread::Builder::new().name(format!("wall-latency-{f}")).spawn(move || {
            let run = || -> Result<Vec<(u64, Duration)>, SyncError> {
                let mut follower = Follower::connect(&addr, &format!("f{f}"), FollowerOptions::default())?;
                let mut got = Vec::new();
                loop {
                    match follower.next()? {
                        FollowerEvent::Frame { seq, .. } => {
                            got.push((seq, base.elapsed()));
                            follower.ready(seq)?;
                            follower.wait_swap(seq)?;
                        }
                        FollowerEvent::Bye(_) => return Ok(got),
                    }
                }
            };
            let _ = done.send(run());
        });
        spawned.map_err(|e| SyncError::Measure(format!("cannot start a follower thread: {e}")))?;
    }
    drop(done_tx);
    // Everyone joins before frame 0.
    let deadline = Instant::now() + Duration::from_secs(10);
    while leader.followers().len() < followers {
        if Instant::now() > deadline {
            return Err(SyncError::Measure(format!(
                "{} of {followers} followers joined within 10 s",
                leader.followers().len()
            )));
        }
        leader.accept_pending();
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut sent = Vec::with_capacity(frames + 1);
    let (mut missed, mut frame_bytes) = (0, 0);
    let mut loop_start = Instant::now();
    for seq in 0..=frames as u64 {
        if seq == 1 {
            loop_start = Instant::now();
        }
        let state = storm(seq, deltas_per_frame);
        sent.push(base.elapsed());
        leader.broadcast_frame(seq, &state, || state.clone())?;
        let report = leader.barrier(seq);
        leader.swap(seq);
        if seq > 0 {
            missed += report.missing.len();
        }
        if seq as usize == frames {
            frame_bytes = super::message::encode_state(false, seq, &state)?.len();
        }
    }
    let elapsed = loop_start.elapsed();
    leader.shutdown("latency measurement done");
    let mut lat_us = Vec::with_capacity(frames * followers);
    for _ in 0..followers {
        let got = done_rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| SyncError::Measure("a follower thread did not finish".into()))??;
        for (seq, at) in got.into_iter().filter(|(s, _)| *s > 0) {
            let from = sent.get(seq as usize).copied().unwrap_or_default();
            lat_us.push(at.saturating_sub(from).as_secs_f64() * 1e6);
        }
    }
    if lat_us.is_empty() {
        return Err(SyncError::Measure("no frame was measured (frames = 0?)".into()));
    }
    lat_us.sort_by(f64::total_cmp);
    let pct = |p: f64| lat_us[((lat_us.len() - 1) as f64 * p).round() as usize];
    Ok(LatencyReport {
        followers,
        frames,
        deltas_per_frame,
        frame_bytes,
        samples: lat_us.len(),
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        max_us: lat_us[lat_us.len() - 1],
        frames_per_s: frames as f64 / elapsed.as_secs_f64().max(1e-9),
        missed,
    })
}
