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
//! - `history/{sqlite,pg,pg_plain}_prune_week`: retention, removing a week
//!   of 100 sensors at 2 min (504,000 readings) out of two: SQLite deletes
//!   rows, PostgreSQL drops the week's partition, and `pg_plain` is the same
//!   server with one unpartitioned table (as made before partitioning),
//!   deleting rows.
//!
//! Under `cargo test` (no `--bench`) the stored day is cut to 100 sensors
//! and the pruned week to 10.

#[path = "../crates/urbis_store/tests/common/pg.rs"]
mod pg;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
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
    // Retention: two weeks stored, the older one removed.
    if let Some(server) = &server {
        backends.push((
            "pg_plain",
            Box::new(move |name: &str| {
                let url = server.database(name);
                let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("raw");
                c.batch_execute("CREATE TABLE readings (sensor BIGINT NOT NULL, t BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL, quality SMALLINT NOT NULL)")
                    .expect("plain table");
                Box::new(PgStore::connect(&url).expect("connect"))
            }),
        ));
    }
    let week = urbis_store::PARTITION_MS;
    let start = (T0 / week + 1) * week;
    let week_sensors = if full { 100 } else { 10 };
    let per_week = 7 * 24 * 30;
    g.sampling_mode(SamplingMode::Flat);
    for (backend, open) in &backends {
        let mut k = 0;
        g.throughput(Throughput::Elements((week_sensors * per_week) as u64));
        g.bench_function(format!("{backend}_prune_week"), |b| {
            b.iter_batched(
                || {
                    k += 1;
                    let mut store = open(&format!("{backend}_prune{k}"));
                    for w in 0..2 {
                        let r = readings(week_sensors, per_week, 120_000, start + w * week);
                        store.write(&Batch { readings: r, ..Default::default() }).expect("weeks");
                    }
                    store
                },
                |mut store| {
                    assert_eq!(store.prune_before(start + week).expect("prune"), (week_sensors * per_week) as u64)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
