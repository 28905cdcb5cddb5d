//! History store throughput and query latency (SQLite, one file in the
//! temp dir, WAL).
//!
//! - `history/sqlite_write_100k`: 100,000 readings of 1,000 sensors written
//!   in one batch (one transaction); throughput in readings/s.
//! - `history/sqlite_day_of_one_sensor`: one sensor's day (2,880 readings)
//!   out of 1,000 sensors' day (2.88M readings).
//! - `history/sqlite_latest_of_10k`: the latest value of 10,000 sensors at a time.
//!
//! - `history/pg_write_100k`, `history/pg_day_of_one_sensor`,
//!   `history/pg_latest_of_10k`: the same on PostgreSQL (readings by
//!   `COPY`), a server of the bench's own on a free loopback port (skipped
//!   when PostgreSQL is not installed).
//!
//! Under `cargo test` (no `--bench`) the stored day is cut to 100 sensors.

#[path = "../crates/urbis_store/tests/common/pg.rs"]
mod pg;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_store::{Batch, HistoryStore, PgStore, SqliteStore, StoredReading};

const T0: i64 = 1_780_000_000_000;

fn readings(sensors: usize, per_sensor: usize, step_ms: i64, t0: i64) -> Vec<StoredReading> {
    (0..per_sensor)
        .flat_map(|k| {
            (0..sensors).map(move |s| StoredReading {
                sensor: format!("s{s:05}"),
                time_ms: t0 + k as i64 * step_ms,
                value: (s * 7 + k) as f64 * 0.25,
                quality: 0,
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("urbis-history-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut g = c.benchmark_group("history");
    g.sample_size(10);

    let batch = Batch { readings: readings(1000, 100, 1000, T0), ..Default::default() };
    let sensors = if full { 1000 } else { 100 };
    let n = if full { 10_000 } else { 500 };
    let server = pg::PgServer::start("bench");
    type Open<'a> = Box<dyn Fn(&str) -> Box<dyn HistoryStore> + 'a>;
    let mut backends: Vec<(&str, Open)> = vec![(
        "sqlite",
        Box::new(|name: &str| Box::new(SqliteStore::open(&dir.join(format!("{name}.db"))).expect("open"))),
    )];
    if let Some(server) = &server {
        backends.push((
            "pg",
            Box::new(move |name: &str| Box::new(PgStore::connect(&server.database(name)).expect("connect"))),
        ));
    }
    for (backend, open) in &backends {
        let mut store = open("write");
        g.throughput(Throughput::Elements(batch.readings.len() as u64));
        g.bench_function(format!("{backend}_write_100k"), |b| b.iter(|| store.write(&batch).expect("write")));
        drop(store);

        let mut day = open("day");
        for chunk in readings(sensors, 2880, 30_000, T0).chunks(500_000) {
            day.write(&Batch { readings: chunk.to_vec(), ..Default::default() }).expect("day");
        }
        g.throughput(Throughput::Elements(2880));
        g.bench_function(format!("{backend}_day_of_one_sensor"), |b| {
            b.iter(|| {
                let s = day.series("s00042", T0, T0 + 86_400_000, None).expect("series");
                assert_eq!(s.len(), 2880);
            })
        });
        drop(day);

        let mut many = open("latest");
        many.write(&Batch { readings: readings(n, 10, 60_000, T0), ..Default::default() }).expect("many");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{backend}_latest_of_10k"), |b| {
            b.iter(|| {
                let l = many.latest_at(T0 + 300_000, None).expect("latest");
                assert_eq!(l.len(), n);
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
