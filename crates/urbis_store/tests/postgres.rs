//! The PostgreSQL history store, on a server the test starts itself: the
//! same day round trip as SQLite, a newer schema refused, bad URLs and
//! credentials with clear errors that keep passwords out, and kill -9
//! mid-write.

mod common;

use std::time::Duration;

use common::pg::PgServer;
use urbis_store::{Batch, HistoryStore, PgStore, StoreError, StoredReading, Writer, WriterOptions};

#[test]
fn a_day_goes_in_and_comes_out_of_postgresql_to_the_value_and_the_millisecond() {
    let Some(pg) = PgServer::start("roundtrip") else { return };
    let url = pg.database("history");
    common::round_trip(&|| Box::new(PgStore::connect(&url).expect("connect")));
}

#[test]
fn bad_urls_credentials_and_a_newer_schema_are_clear_errors() {
    let Some(pg) = PgServer::start("bad") else { return };
    let url = pg.database("newer");
    common::write_all(Box::new(PgStore::connect(&url).expect("connect")), &common::day_of_readings()[..300], &[]);
    // Nothing listens on this port.
    let dead = format!("postgres://urbis:hunter2@127.0.0.1:{}/history", pg.port + 1);
    let e = PgStore::connect(&dead).expect_err("no server");
    let text = e.to_string();
    assert!(matches!(e, StoreError::Open { .. }) && text.contains(&format!("127.0.0.1:{}", pg.port + 1)), "{text}");
    assert!(!text.contains("hunter2"), "the password stays out: {text}");
    // A role that does not exist, and a database that does not exist.
    let e = PgStore::connect(&format!("postgres://mallory:pw@127.0.0.1:{}/newer", pg.port)).expect_err("no role");
    assert!(e.to_string().contains("mallory") && !e.to_string().contains(":pw@"), "{e}");
    let e = PgStore::connect(&format!("postgres://urbis@127.0.0.1:{}/nosuchdb", pg.port)).expect_err("no db");
    assert!(e.to_string().contains("nosuchdb"), "{e}");
    // A newer schema: refused, rows kept.
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("raw");
    c.execute("UPDATE urbis_meta SET value = 9 WHERE key = 'schema_version'", &[]).expect("bump");
    let e = PgStore::connect(&url).expect_err("newer");
    assert!(matches!(e, StoreError::NewerSchema { found: 9, supported: 1, .. }), "{e}");
    let n: i64 = c.query_one("SELECT COUNT(*) FROM readings", &[]).expect("count").get(0);
    assert_eq!(n, 300);
}

/// The child of the kill test (a PostgreSQL URL in the environment).
#[test]
fn kill_child_pg_writer() {
    let Ok(url) = std::env::var("URBIS_STORE_PG_CHILD") else { return };
    let dir = std::path::PathBuf::from(std::env::var("URBIS_STORE_PG_CHILD_DIR").expect("dir"));
    let options = WriterOptions { flush_every: Duration::from_millis(50), ..Default::default() };
    let writer = Writer::start(Box::new(PgStore::connect(&url).expect("connect")), options).expect("writer");
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
fn kill_9_mid_write_to_postgresql_loses_nothing_committed() {
    let Some(pg) = PgServer::start("kill") else { return };
    let url = pg.database("kill");
    let dir = common::temp_dir("pg-kill");
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "kill_child_pg_writer", "--nocapture"])
        .env("URBIS_STORE_PG_CHILD", &url)
        .env("URBIS_STORE_PG_CHILD_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child");
    let note = dir.join("committed");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&note).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) < 50_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "the child wrote too little");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(137));
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let committed: i64 = std::fs::read_to_string(&note).expect("note").parse().expect("number");
    let mut store = PgStore::connect(&url).expect("reconnects");
    let stored = store.reading_count().expect("count") as i64;
    assert!(stored >= committed, "{stored} stored, {committed} were committed before the kill");
    let series = store.series("seq", 0, i64::MAX, None).expect("series");
    assert_eq!(series.len() as i64, stored);
    assert!(series.iter().enumerate().all(|(i, p)| p.time_ms == i as i64 && p.mean == i as f64), "a gapless prefix");
    eprintln!("{stored} readings survived the kill; {committed} were known committed");
    let _ = std::fs::remove_dir_all(dir);
}
