//! The SQLite history store against its input: a day of irregular readings
//! of 40 sensors goes in through the bounded writer in uneven batches, and
//! every query is checked against the same computation done here on the
//! input. Bad files, a newer schema, a storm and a kill -9 mid-write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use urbis_store::{
    Batch, HistoryStore, SensorMeta, SqliteStore, StoreError, StoredAlarm, StoredReading, Writer, WriterOptions,
};

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_780_000_000_000;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A deterministic day: sensor k reads every 20–70 s (a linear congruential
/// sequence), values with millisecond times and fractional parts.
fn day_of_readings() -> Vec<StoredReading> {
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as i64
    };
    let mut out = Vec::new();
    for k in 0..40 {
        let mut t = T0 + next() % 60_000;
        while t < T0 + DAY_MS {
            let value = (k as f64) * 10.0 + (next() % 100_000) as f64 / 997.0;
            out.push(StoredReading { sensor: format!("s{k:02}"), time_ms: t, value, quality: (next() % 3) as u8 });
            t += 20_000 + next() % 50_000;
        }
    }
    // Arrival order is not time order across sensors.
    out.sort_by_key(|r| (r.time_ms / 600_000, r.sensor.clone(), r.time_ms));
    out
}

fn write_all(path: &Path, readings: &[StoredReading], alarms: &[StoredAlarm]) {
    let store = SqliteStore::open(path).expect("open");
    let writer =
        Writer::start(Box::new(store), WriterOptions { batch_rows: 5_000, ..Default::default() }).expect("writer");
    let sensors = (0..40)
        .map(|k| SensorMeta {
            sensor: format!("s{k:02}"),
            feature: format!("b{k}"),
            quantity: "level".into(),
            unit: "m".into(),
        })
        .collect();
    writer.push(Batch { sensors, ..Default::default() });
    let mut i = 0;
    let mut size = 1;
    while i < readings.len() {
        let end = (i + size).min(readings.len());
        writer.push(Batch { readings: readings[i..end].to_vec(), ..Default::default() });
        i = end;
        size = size * 7 % 1999 + 1;
    }
    writer.push(Batch { alarms: alarms.to_vec(), ..Default::default() });
    writer.flush().expect("flush");
    let stats = writer.stats();
    assert_eq!(stats.dropped_readings, 0);
    assert_eq!(stats.queued_rows, 0);
}

#[test]
fn a_day_goes_in_and_comes_out_to_the_value_and_the_millisecond() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("history.db");
    let readings = day_of_readings();
    let alarms: Vec<StoredAlarm> = (0..30)
        .map(|i| StoredAlarm {
            time_ms: T0 + i * 2_000_000 + 17,
            alarm: "high water".into(),
            severity: if i % 2 == 0 { "warning".into() } else { "critical".into() },
            raised: i % 2 == 0,
            sensor: format!("s{:02}", i % 40),
            feature: format!("b{}", i % 40),
            value: (i % 3 != 0).then_some(i as f64 * 0.5),
        })
        .collect();
    write_all(&path, &readings, &alarms);
    // Reopened: a fresh connection reads what the writer committed.
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.reading_count().expect("count"), readings.len() as u64);
    assert_eq!(store.sensors().expect("sensors").len(), 40);
    assert_eq!(store.sensors().expect("sensors")[7].feature, "b7");

    let mut by_sensor: BTreeMap<&str, Vec<&StoredReading>> = BTreeMap::new();
    for r in &readings {
        by_sensor.entry(&r.sensor).or_default().push(r);
    }
    for v in by_sensor.values_mut() {
        v.sort_by_key(|r| r.time_ms);
    }
    // Whole series of a few sensors, and a window of one.
    for (sensor, expected) in by_sensor.iter().step_by(9) {
        let got = store.series(sensor, T0, T0 + DAY_MS, None).expect("series");
        assert_eq!(got.len(), expected.len(), "{sensor}");
        for (g, e) in got.iter().zip(expected) {
            assert_eq!((g.time_ms, g.mean.to_bits()), (e.time_ms, e.value.to_bits()), "{sensor}");
        }
    }
    let (from, to) = (T0 + 3_600_000, T0 + 7_200_000);
    let window = store.series("s05", from, to, None).expect("window");
    let expected: Vec<_> = by_sensor["s05"].iter().filter(|r| r.time_ms >= from && r.time_ms < to).collect();
    assert_eq!(window.len(), expected.len());
    assert!(window.first().expect("some").time_ms >= from && window.last().expect("some").time_ms < to);

    // Down-sampled to 24 points: buckets computed here from the input.
    let got = store.series("s11", T0, T0 + DAY_MS, Some(24)).expect("buckets");
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for r in &by_sensor["s11"] {
        buckets.entry((r.time_ms - T0) * 24 / DAY_MS).or_default().push(r.value);
    }
    assert_eq!(got.len(), buckets.len());
    for (g, (b, vals)) in got.iter().zip(&buckets) {
        assert_eq!(g.time_ms, T0 + b * DAY_MS / 24);
        assert_eq!(g.count, vals.len() as u64);
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        assert!((g.mean - mean).abs() < 1e-9 * mean.abs().max(1.0), "{} vs {mean}", g.mean);
        assert_eq!(g.min, vals.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(g.max, vals.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    }

    // The latest value of every sensor at noon.
    let noon = T0 + DAY_MS / 2 + 123;
    let latest = store.latest_at(noon, None).expect("latest");
    assert_eq!(latest.len(), 40);
    for l in &latest {
        let e = by_sensor[l.sensor.as_str()].iter().rev().find(|r| r.time_ms <= noon).expect("a reading before noon");
        assert_eq!(
            (l.time_ms, l.value.to_bits(), l.quality),
            (e.time_ms, e.value.to_bits(), e.quality),
            "{}",
            l.sensor
        );
    }
    let two = store.latest_at(noon, Some(&["s03".to_string(), "s31".to_string()])).expect("two");
    assert_eq!(two.iter().map(|r| r.sensor.as_str()).collect::<Vec<_>>(), ["s03", "s31"]);
    assert!(store.latest_at(T0 - 1, None).expect("before").is_empty(), "nothing before the first reading");

    // Alarms in a window, in time order, fields intact.
    let got = store.alarms(T0 + 10_000_000, T0 + 30_000_000).expect("alarms");
    let expected: Vec<_> =
        alarms.iter().filter(|a| a.time_ms >= T0 + 10_000_000 && a.time_ms < T0 + 30_000_000).cloned().collect();
    assert_eq!(got, expected);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_files_and_a_newer_schema_are_refused_untouched() {
    let dir = temp_dir("bad");
    // Not a database.
    let text = dir.join("notes.db");
    std::fs::write(&text, "these are not the droids").expect("write");
    let e = SqliteStore::open(&text).expect_err("not SQLite");
    assert!(matches!(e, StoreError::Open { .. }) && e.to_string().contains("notes.db"), "{e}");
    assert_eq!(std::fs::read_to_string(&text).expect("read"), "these are not the droids");
    // A directory that does not exist.
    let e = SqliteStore::open(&dir.join("no/such/dir/h.db")).expect_err("no dir");
    assert!(e.to_string().contains("no/such/dir/h.db"), "{e}");
    // A store written by a newer schema: refused, its rows kept.
    let newer = dir.join("newer.db");
    write_all(&newer, &day_of_readings()[..500], &[]);
    {
        let c = rusqlite::Connection::open(&newer).expect("raw open");
        c.pragma_update(None, "user_version", 7).expect("bump");
    }
    let e = SqliteStore::open(&newer).expect_err("newer");
    assert!(matches!(e, StoreError::NewerSchema { found: 7, supported: 1, .. }), "{e}");
    assert!(e.to_string().contains("newer.db") && e.to_string().contains("schema 7"), "{e}");
    let c = rusqlite::Connection::open(&newer).expect("raw open");
    let n: i64 = c.query_row("SELECT COUNT(*) FROM readings", [], |r| r.get(0)).expect("count");
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!((n, v), (500, 7));
    // A URL back end that is not built yet says so.
    let e = urbis_store::open("postgres://user:secret@127.0.0.1:1/db").err().expect("refused");
    assert!(!e.to_string().contains("secret"), "credentials stay out of messages: {e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_storm_keeps_memory_bounded_reports_the_lag_and_catches_up() {
    let dir = temp_dir("storm");
    let path = dir.join("storm.db");
    let options = WriterOptions { max_rows: 20_000, flush_every: Duration::from_millis(200), batch_rows: 5_000 };
    let writer = Writer::start(Box::new(SqliteStore::open(&path).expect("open")), options).expect("writer");
    let mut pushed = 0u64;
    let mut peak_queued = 0;
    let mut saw_lag = false;
    // 400k readings as fast as the loop goes: far more than the writer keeps up with at once.
    for b in 0..400 {
        let readings = (0..1000)
            .map(|i| StoredReading {
                sensor: format!("s{}", i % 50),
                time_ms: T0 + b * 1000 + i,
                value: i as f64,
                quality: 0,
            })
            .collect();
        writer.push(Batch { readings, ..Default::default() });
        pushed += 1000;
        let s = writer.stats();
        peak_queued = peak_queued.max(s.queued_rows);
        saw_lag |= s.queued_rows > 0;
    }
    let stats = writer.stats();
    eprintln!("peak queue {peak_queued} rows, dropped {}, written {}", stats.dropped_readings, stats.written_rows);
    assert!(peak_queued <= options.max_rows, "the queue stayed under its bound: {peak_queued}");
    assert!(saw_lag, "the lag was visible in the stats");
    writer.flush().expect("catches up");
    let after = writer.stats();
    assert_eq!(after.queued_rows, 0, "caught up");
    drop(writer);
    let store = SqliteStore::open(&path).expect("reopen");
    let stored = store.reading_count().expect("count");
    assert_eq!(stored + after.dropped_readings, pushed, "every reading is stored or counted as dropped");
    if after.dropped_readings > 0 {
        let gaps = store.gaps(0, i64::MAX).expect("gaps");
        assert!(gaps.iter().any(|g| g.source == "store-writer" && g.reason.contains("dropped")), "{gaps:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The child of the kill test: writes numbered readings until killed,
/// noting after each flush the highest number known to be committed.
#[test]
fn kill_child_writer() {
    let Ok(dir) = std::env::var("URBIS_STORE_KILL_CHILD") else { return };
    let dir = PathBuf::from(dir);
    let options = WriterOptions { flush_every: Duration::from_millis(50), ..Default::default() };
    let writer = Writer::start(Box::new(SqliteStore::open(&dir.join("h.db")).expect("open")), options).expect("writer");
    let mut n = 0i64;
    loop {
        let readings = (0..500)
            .map(|i| StoredReading { sensor: "seq".into(), time_ms: n + i, value: (n + i) as f64, quality: 0 })
            .collect();
        writer.push(Batch { readings, ..Default::default() });
        n += 500;
        if n % 5000 == 0 {
            writer.flush().expect("flush");
            std::fs::write(dir.join("committed.tmp"), n.to_string()).expect("note");
            std::fs::rename(dir.join("committed.tmp"), dir.join("committed")).expect("note");
        }
    }
}

#[test]
fn kill_9_mid_write_loses_nothing_committed_and_leaves_the_store_consistent() {
    let dir = temp_dir("kill");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "kill_child_writer", "--nocapture"])
        .env("URBIS_STORE_KILL_CHILD", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child");
    let committed_file = dir.join("committed");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&committed_file).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) < 50_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "the child wrote too little");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(137));
    // SIGKILL: no destructor, no flush.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let committed: i64 = std::fs::read_to_string(&committed_file).expect("note").parse().expect("number");
    let c = rusqlite::Connection::open(dir.join("h.db")).expect("raw open");
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    drop(c);
    let store = SqliteStore::open(&dir.join("h.db")).expect("reopens");
    let stored = store.reading_count().expect("count") as i64;
    assert!(stored >= committed, "{stored} stored, {committed} were committed before the kill");
    // Batches are all or nothing and in order: what is there is 0..stored, each once.
    let series = store.series("seq", 0, i64::MAX, None).expect("series");
    assert_eq!(series.len() as i64, stored);
    assert!(series.iter().enumerate().all(|(i, p)| p.time_ms == i as i64 && p.mean == i as f64), "a gapless prefix");
    eprintln!("{stored} readings survived the kill; {committed} were known committed");
    let _ = std::fs::remove_dir_all(dir);
}
