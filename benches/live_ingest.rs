//! Live readings applied to entities: JSON payloads parsed, queued in the
//! bounded pipeline, drained and applied (LatestReading, History, alarm and
//! style rules) in one frame's tick. Printed as readings/s and MB/s.
//!
//! Workload: the sample city (3,532 buildings) with 10,000 energy meters
//! bound by feature id (about three per building), the sample's style rules
//! (colour ramp + extrusion) and an alarm rule; 200,000 readings per
//! iteration in messages of 50 readings (≈ 70 bytes each), 20 per sensor.
//! Goal (issue 5): ≥ 1M readings/s in process on this 2-core machine.
//!
//! Baseline in the same process: the same bytes parsed into
//! `serde_json::Value` only (what a generic JSON consumer pays before doing
//! anything with a reading).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_live::{LiveConfig, LiveSession};
use urbis_model::{CityModel, FeatureId, SemanticClass};

const SENSORS: usize = 10_000;
const PER_MESSAGE: usize = 50;

/// The real bench measures 200k readings per iteration; under `cargo test` a tenth.
fn readings_per_iteration() -> usize {
    if std::env::args().any(|a| a == "--bench") { 200_000 } else { 20_000 }
}

fn setup() -> (CityModel, LiveSession, Vec<Vec<u8>>) {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    let mut model = urbis_model::open_city(&[dir]).expect("load").0;
    let buildings: Vec<String> = {
        let mut q = model.world.query::<(&FeatureId, &SemanticClass)>();
        let mut v: Vec<(u32, String)> = q
            .iter(&model.world)
            .filter(|(_, c)| **c == SemanticClass::BUILDING)
            .map(|(f, _)| (f.index, f.guid.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, g)| g).collect()
    };
    let mut cfg = String::from("[live]\ncapacity = 400000\nhistory = 64\n");
    for i in 0..SENSORS {
        let _ = write!(
            cfg,
            "[[sensor]]\nid = \"m{i}\"\nquantity = \"energy_kw\"\nunit = \"kW\"\nperiod_s = 1\nfeature = \"{}\"\n",
            buildings[i % buildings.len()]
        );
    }
    cfg.push_str(
        r##"
[[style]]
quantity = "energy_kw"
ramp = { min = 0, max = 400, colors = ["#ffffcc", "#fd8d3c", "#bd0026"] }
extrude = { min = 0, max = 400, scale_min = 1.0, scale_max = 1.35 }
[[alarm]]
name = "overload"
quantity = "energy_kw"
above = 390
clear = 350
for_s = 30
"##,
    );
    let config = LiveConfig::parse(&cfg, std::path::Path::new("bench.toml")).expect("config");
    let session = LiveSession::new(config, &mut model).expect("session");
    let n = readings_per_iteration();
    let t0 = 1_784_073_600_000i64;
    let mut messages = Vec::new();
    let mut msg = String::new();
    for k in 0..n {
        let (sensor, step) = (k % SENSORS, k / SENSORS);
        let value = ((k * 7919) % 40_000) as f64 / 100.0;
        msg.push(if msg.is_empty() { '[' } else { ',' });
        let _ = write!(msg, "{{\"sensor\":\"m{sensor}\",\"time\":{},\"value\":{value}}}", t0 + step as i64 * 1000);
        if (k + 1) % PER_MESSAGE == 0 || k + 1 == n {
            msg.push(']');
            messages.push(std::mem::take(&mut msg).into_bytes());
        }
    }
    (model, session, messages)
}

fn ingest(c: &mut Criterion) {
    let (mut model, mut session, messages) = setup();
    let n = readings_per_iteration() as u64;
    let bytes: u64 = messages.iter().map(|m| m.len() as u64).sum();
    eprintln!(
        "live_ingest: {SENSORS} sensors, {n} readings in {} messages, {:.1} MB",
        messages.len(),
        bytes as f64 / 1e6
    );
    let mut g = c.benchmark_group("live_ingest");
    g.sample_size(20).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::ElementsAndBytes { elements: n, bytes });
    let ingest = session.ingest(false);
    let mut batch = Vec::new();
    let mut now = 1_784_073_600_000i64;
    g.bench_function("parse_queue_apply", |b| {
        b.iter(|| {
            let parser = ingest.parser();
            for m in &messages {
                parser.json("city/batch", m, 0, &mut batch);
                ingest.push(&mut batch);
            }
            now += 60_000;
            session.tick(&mut model, now).applied
        })
    });
    g.bench_function("baseline_serde_json_value_parse_only", |b| {
        b.iter(|| {
            let mut count = 0;
            for m in &messages {
                let v: serde_json::Value = serde_json::from_slice(m).expect("json");
                count += v.as_array().map_or(0, Vec::len);
            }
            count
        })
    });
    g.finish();
    let st = session.stats().snapshot();
    assert_eq!(st.rejected_total() + st.unknown + st.dropped, 0, "{st:?}");
}

criterion_group!(benches, ingest);
criterion_main!(benches);
