//! What the history store tests share: a deterministic day of readings,
//! writing it through the writer, and the round trip's checks, for every
//! back end.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use urbis_store::{Batch, HistoryStore, SensorMeta, StoredAlarm, StoredReading, Writer, WriterOptions};

pub mod pg;

pub const DAY_MS: i64 = 86_400_000;
pub const T0: i64 = 1_780_000_000_000;

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A deterministic day: sensor k reads every 20–70 s (a linear congruential
/// sequence), values with millisecond times and fractional parts.
pub fn day_of_readings() -> Vec<StoredReading> {
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

pub fn write_all(store: Box<dyn HistoryStore>, readings: &[StoredReading], alarms: &[StoredAlarm]) {
    let writer = Writer::start(store, WriterOptions { batch_rows: 5_000, ..Default::default() }).expect("writer");
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

/// A day in through the writer, then every query against the input.
/// `open` gives a fresh connection to the same store each time.
pub fn round_trip(open: &dyn Fn() -> Box<dyn HistoryStore>) {
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
    write_all(open(), &readings, &alarms);
    // Reopened: a fresh connection reads what the writer committed.
    let mut store = open();
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

    // Scenario runs: kept and listed back in order, results intact.
    let run = |name: &str, depth: f64| urbis_store::NewRun {
        name: name.into(),
        started_ms: T0 + 5,
        scenario_toml: format!("name = \"{name}\"\n[flood]\nrain_mm_per_h = 80\n"),
        scenario_hash: format!("{name}-hash"),
        city_hash: "city".into(),
        results: serde_json::json!({"flood": {"max_depth_m": depth}}),
        out_dir: format!("out/{name}"),
        interrupted: false,
    };
    let (a, b) = (run("a", 1.25), run("b", 1.5));
    let (ia, ib) = (store.record_run(&a).expect("run a"), store.record_run(&b).expect("run b"));
    assert!(ib > ia);
    let runs = store.runs().expect("runs");
    assert_eq!(runs.iter().map(|r| (r.id, r.run.clone())).collect::<Vec<_>>(), [(ia, a), (ib, b)]);
}

/// The child side of a kill test: writes numbered readings through a
/// writer over `store` until killed, noting in `dir/committed` after each
/// flush the count known to be committed.
pub fn write_numbered_until_killed(store: Box<dyn HistoryStore>, dir: &std::path::Path) -> ! {
    let options = WriterOptions { flush_every: std::time::Duration::from_millis(50), ..Default::default() };
    let writer = Writer::start(store, options).expect("writer");
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

/// The parent side: runs the test `child` of this binary with `env`, lets
/// it commit 50,000 readings, kills it with SIGKILL (no destructor, no
/// flush) a little later and returns the count it had noted as committed.
pub fn run_and_kill(child: &str, env: &[(&str, &std::ffi::OsStr)], dir: &std::path::Path) -> i64 {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
    cmd.args(["--exact", child, "--nocapture"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut process = cmd.spawn().expect("child");
    let note = dir.join("committed");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&note).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) < 50_000 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the child wrote too little");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(137));
    process.kill().expect("kill -9");
    process.wait().expect("reaped");
    std::fs::read_to_string(&note).expect("note").parse().expect("number")
}

/// After the kill: nothing committed is lost, and since batches are all or
/// nothing and in order, what is there is 0..stored, each once.
pub fn assert_gapless_prefix(store: &mut dyn HistoryStore, committed: i64) {
    let stored = store.reading_count().expect("count") as i64;
    assert!(stored >= committed, "{stored} stored, {committed} were committed before the kill");
    let series = store.series("seq", 0, i64::MAX, None).expect("series");
    assert_eq!(series.len() as i64, stored);
    assert!(series.iter().enumerate().all(|(i, p)| p.time_ms == i as i64 && p.mean == i as f64), "a gapless prefix");
    eprintln!("{stored} readings survived the kill; {committed} were known committed");
}

/// The rate a deployment is configured for in the storm test, readings/s;
/// the writer's bound is one second of it.
pub const CONFIGURED_RATE: usize = 10_000;

/// A store that takes at least `rows / rows_per_s` seconds per write: a
/// slow disk or a busy server, twice as fast as the configured rate, so a
/// storm at ten times that rate outruns it whatever the machine.
pub struct Throttled {
    pub inner: Box<dyn HistoryStore>,
    pub rows_per_s: f64,
}

impl HistoryStore for Throttled {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn write(&mut self, batch: &Batch) -> Result<(), urbis_store::StoreError> {
        let started = std::time::Instant::now();
        self.inner.write(batch)?;
        let least = std::time::Duration::from_secs_f64(batch.rows() as f64 / self.rows_per_s);
        if let Some(rest) = least.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
        Ok(())
    }
    fn series(
        &mut self,
        sensor: &str,
        from_ms: i64,
        to_ms: i64,
        points: Option<usize>,
    ) -> Result<Vec<urbis_store::SeriesPoint>, urbis_store::StoreError> {
        self.inner.series(sensor, from_ms, to_ms, points)
    }
    fn latest_at(
        &mut self,
        at_ms: i64,
        sensors: Option<&[String]>,
    ) -> Result<Vec<StoredReading>, urbis_store::StoreError> {
        self.inner.latest_at(at_ms, sensors)
    }
    fn alarms(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<StoredAlarm>, urbis_store::StoreError> {
        self.inner.alarms(from_ms, to_ms)
    }
    fn gaps(&mut self, from_ms: i64, to_ms: i64) -> Result<Vec<urbis_store::StoredGap>, urbis_store::StoreError> {
        self.inner.gaps(from_ms, to_ms)
    }
    fn sensors(&mut self) -> Result<Vec<SensorMeta>, urbis_store::StoreError> {
        self.inner.sensors()
    }
    fn reading_count(&mut self) -> Result<u64, urbis_store::StoreError> {
        self.inner.reading_count()
    }
    fn record_run(&mut self, run: &urbis_store::NewRun) -> Result<i64, urbis_store::StoreError> {
        self.inner.record_run(run)
    }
    fn runs(&mut self) -> Result<Vec<urbis_store::StoredRun>, urbis_store::StoreError> {
        self.inner.runs()
    }
    fn prune_before(&mut self, before_ms: i64) -> Result<u64, urbis_store::StoreError> {
        self.inner.prune_before(before_ms)
    }
}

/// A storm at ten times the configured rate for two seconds, then three
/// seconds at the configured rate, pushed on a 10 ms clock into a store
/// that takes twice the configured rate: the queue never passes its bound
/// (one second of the configured rate), the lag shows in the writer's
/// stats, readings past the bound are dropped and counted with a gap, the
/// writer catches up while the configured rate goes on, and every reading
/// is stored or counted as dropped.
pub fn storm(store: Box<dyn HistoryStore>, reopen: &dyn Fn() -> Box<dyn HistoryStore>) {
    use std::time::{Duration, Instant};
    let options = WriterOptions {
        max_rows: CONFIGURED_RATE,
        flush_every: Duration::from_millis(200),
        batch_rows: CONFIGURED_RATE / 2,
    };
    let store = Box::new(Throttled { inner: store, rows_per_s: 2.0 * CONFIGURED_RATE as f64 });
    let writer = Writer::start(store, options).expect("writer");
    let mut pushed = 0i64;
    let start = Instant::now();
    let mut tick = 0u32;
    // Per phase (rate, seconds): peak queue, peak lag, and the last second's peak queue.
    let mut report = Vec::new();
    for (rate, seconds) in [(10 * CONFIGURED_RATE, 2u32), (CONFIGURED_RATE, 3)] {
        let (mut peak, mut lag, mut last_second) = (0usize, 0u64, 0usize);
        let per_tick = rate / 100;
        for k in 0..seconds * 100 {
            tick += 1;
            let due = start + Duration::from_millis(10 * u64::from(tick));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let readings = (0..per_tick as i64)
                .map(|i| StoredReading {
                    sensor: format!("s{}", (pushed + i) % 100),
                    time_ms: T0 + pushed + i,
                    value: (pushed + i) as f64,
                    quality: 0,
                })
                .collect();
            writer.push(Batch { readings, ..Default::default() });
            pushed += per_tick as i64;
            let s = writer.stats();
            peak = peak.max(s.queued_rows);
            lag = lag.max(s.lag_ms);
            if k >= (seconds - 1) * 100 {
                last_second = last_second.max(s.queued_rows);
            }
        }
        report.push((rate, peak, lag, last_second));
    }
    let stats = writer.stats();
    eprintln!("storm (rate, peak queue, peak lag ms, last second's peak queue): {report:?}; {stats:?}");
    let (_, storm_peak, storm_lag, _) = report[0];
    let (_, calm_peak, _, calm_last) = report[1];
    assert!(storm_peak <= options.max_rows && calm_peak <= options.max_rows, "the queue stayed under its bound");
    assert!(storm_peak == options.max_rows && storm_lag >= 200, "the lag was reported during the storm: {report:?}");
    assert!(stats.dropped_readings > 0, "the storm outran the store: {stats:?}");
    // Caught up at the configured rate: in the last second the queue holds at most what
    // arrives between two writes (a flush interval of the configured rate, plus a batch).
    assert!(calm_last <= CONFIGURED_RATE / 5 + CONFIGURED_RATE / 2, "caught up: {report:?}");
    writer.flush().expect("catches up");
    let after = writer.stats();
    assert_eq!(after.queued_rows, 0);
    drop(writer);
    let mut store = reopen();
    let stored = store.reading_count().expect("count") as i64;
    assert_eq!(stored + after.dropped_readings as i64, pushed, "every reading is stored or counted as dropped");
    let gaps = store.gaps(0, i64::MAX).expect("gaps");
    assert!(gaps.iter().any(|g| g.source == "store-writer" && g.reason.contains("dropped")), "{gaps:?}");
}

/// Retention on any back end: readings over five weeks (and one far in the
/// past and one far ahead), an alarm and a gap before the cut; pruning
/// before the fourth week removes exactly what is older, by count and by
/// every query, and keeps the rest.
pub fn prune(store: &mut dyn HistoryStore) {
    const WEEK: i64 = 7 * DAY_MS;
    let start = (T0 / WEEK + 1) * WEEK; // a week boundary
    let mut readings: Vec<StoredReading> = (0..5 * 7 * 24)
        .map(|h| StoredReading {
            sensor: format!("s{}", h % 3),
            time_ms: start + h * 3_600_000 + 17,
            value: h as f64,
            quality: 0,
        })
        .collect();
    readings.push(StoredReading { sensor: "s0".into(), time_ms: -5_000_000_000_000, value: -1.0, quality: 0 });
    readings.push(StoredReading { sensor: "s1".into(), time_ms: 9_000_000_000_000, value: 1.0, quality: 0 });
    let alarm = |t| StoredAlarm {
        time_ms: t,
        alarm: "a".into(),
        severity: "warning".into(),
        raised: true,
        sensor: "s0".into(),
        feature: "f".into(),
        value: None,
    };
    let gap = |from, to| urbis_store::StoredGap { source: "x".into(), from_ms: from, to_ms: to, reason: "r".into() };
    store
        .write(&Batch {
            readings: readings.clone(),
            alarms: vec![alarm(start + WEEK), alarm(start + 4 * WEEK)],
            gaps: vec![gap(start, start + WEEK), gap(start + 3 * WEEK - 10, start + 3 * WEEK + 10)],
            ..Default::default()
        })
        .expect("write");
    let cut = start + 3 * WEEK;
    let older = readings.iter().filter(|r| r.time_ms < cut).count() as u64;
    assert_eq!(store.prune_before(cut).expect("prune"), older);
    assert_eq!(store.reading_count().expect("count"), readings.len() as u64 - older);
    for s in ["s0", "s1", "s2"] {
        let got: Vec<(i64, f64)> =
            store.series(s, i64::MIN, i64::MAX, None).expect("series").iter().map(|p| (p.time_ms, p.mean)).collect();
        let expected: Vec<(i64, f64)> =
            readings.iter().filter(|r| r.sensor == s && r.time_ms >= cut).map(|r| (r.time_ms, r.value)).collect();
        assert_eq!(got, expected, "{s}");
    }
    let alarms = store.alarms(i64::MIN, i64::MAX).expect("alarms");
    assert_eq!(alarms.iter().map(|a| a.time_ms).collect::<Vec<_>>(), vec![start + 4 * WEEK]);
    let gaps = store.gaps(i64::MIN, i64::MAX).expect("gaps");
    assert_eq!(
        gaps.iter().map(|g| g.from_ms).collect::<Vec<_>>(),
        vec![start + 3 * WEEK - 10],
        "the gap over the cut stays"
    );
    // Writing into a pruned week again works.
    store.write(&Batch { readings: vec![readings[0].clone()], ..Default::default() }).expect("write again");
    assert_eq!(store.series("s0", start, start + 1, None).expect("series").len(), 0);
    assert_eq!(store.series("s0", start, start + 3_600_000, None).expect("series").len(), 1);
}
