//! One lockstep wall frame over TCP on 127.0.0.1: the leader encodes and
//! queues Frame(seq) for 3 followers (threads of this process), each decodes
//! it and answers Ready(seq), the barrier sees all three, Swap(seq) goes out.
//! Each frame carries a live-sensor storm of 5,000 LiveDeltas (≈ 300 KB of
//! JSON). Rendering is not included: this is the protocol's own cost.
//!
//! Before the criterion group, `urbis_wall::sync::measure` prints the
//! delivery latency (leader starts sending → follower decoded) as JSON:
//! p50/p99/max in µs and frames/s, same workload, 200 frames.
//!
//! `cargo bench -p urbis_wall --bench wall_sync`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_wall::sync::latency::storm;
use urbis_wall::sync::{Follower, FollowerEvent, FollowerOptions, Leader, LeaderOptions, measure};

const FOLLOWERS: usize = 3;
const DELTAS: usize = 5_000;

fn latency_report() {
    let frames = if std::env::args().any(|a| a == "--bench") { 200 } else { 10 };
    match measure(FOLLOWERS, frames, DELTAS) {
        Ok(r) => println!("wall_sync latency: {}", serde_json::to_string(&r).expect("report to JSON")),
        Err(e) => println!("wall_sync latency: failed: {e}"),
    }
}

fn lockstep_frame(c: &mut Criterion) {
    latency_report();
    let mut leader = Leader::bind(
        "127.0.0.1:0",
        LeaderOptions { barrier_timeout: Duration::from_secs(5), ..LeaderOptions::default() },
    )
    .expect("bind");
    let addr = leader.local_addr().to_string();
    let threads: Vec<_> = (0..FOLLOWERS)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut f = Follower::connect(&addr, &format!("c{i}r0"), FollowerOptions::default()).expect("connect");
                while let FollowerEvent::Frame { seq, .. } = f.next().expect("frame") {
                    f.ready(seq).expect("ready");
                    f.wait_swap(seq).expect("swap");
                }
            })
        })
        .collect();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while leader.followers().len() < FOLLOWERS {
        assert!(std::time::Instant::now() < until, "followers did not join");
        leader.accept_pending();
        std::thread::sleep(Duration::from_millis(1));
    }
    let state = storm(1, DELTAS);
    let mut seq = 0u64;
    let mut group = c.benchmark_group("wall_sync");
    group.throughput(Throughput::Elements(1));
    group.bench_function("lockstep_frame_3_followers_5000_deltas", |b| {
        b.iter(|| {
            seq += 1;
            leader.broadcast_frame(seq, &state, || state.clone()).expect("broadcast");
            let report = leader.barrier(seq);
            assert_eq!(report.ready.len(), FOLLOWERS, "frame {seq}: {report:?}");
            leader.swap(seq);
        });
    });
    group.finish();
    leader.shutdown("bench done");
    for t in threads {
        t.join().expect("follower thread");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = lockstep_frame
}
criterion_main!(benches);
