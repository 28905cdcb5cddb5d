//! The PostgreSQL history store, on a server the test starts itself: the
//! same day round trip as SQLite, a newer schema refused, bad URLs and
//! credentials with clear errors that keep passwords out, and kill -9
//! mid-write.

mod common;

use common::pg::PgServer;
use urbis_store::{PgStore, StoreError};

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
    common::write_numbered_until_killed(Box::new(PgStore::connect(&url).expect("connect")), &dir);
}

#[test]
fn kill_9_mid_write_to_postgresql_loses_nothing_committed() {
    let Some(pg) = PgServer::start("kill") else { return };
    let url = pg.database("kill");
    let dir = common::temp_dir("pg-kill");
    let env = [("URBIS_STORE_PG_CHILD", std::ffi::OsStr::new(&url)), ("URBIS_STORE_PG_CHILD_DIR", dir.as_os_str())];
    let committed = common::run_and_kill("kill_child_pg_writer", &env, &dir);
    common::assert_gapless_prefix(&mut PgStore::connect(&url).expect("reconnects"), committed);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_storm_at_ten_times_the_configured_rate_into_postgresql_catches_up() {
    let Some(pg) = PgServer::start("storm") else { return };
    let url = pg.database("storm");
    common::storm(Box::new(PgStore::connect(&url).expect("connect")), &|| {
        Box::new(PgStore::connect(&url).expect("reconnect"))
    });
}

/// A full disk: the server may not grow any file past 24 MiB (`prlimit
/// --fsize`, a quota on the server's files), so the readings table fills
/// it. The write fails with the store named and the server's reason, what
/// was committed stays, and the refused rows stay queued, not dropped.
#[test]
fn a_full_disk_refuses_writes_to_postgresql_and_keeps_what_is_stored() {
    use std::time::Duration;
    use urbis_store::{Batch, StoredReading, Writer, WriterOptions};
    let Some(pg) = PgServer::start_with("full", Some(24 << 20)) else { return };
    let url = pg.database("fulldisk");
    let reading =
        |i: i64| StoredReading { sensor: format!("s{}", i % 20), time_ms: common::T0 + i, value: i as f64, quality: 0 };
    let mut store = PgStore::connect(&url).expect("connect");
    use urbis_store::HistoryStore;
    store.write(&Batch { readings: (0..2000).map(reading).collect(), ..Default::default() }).expect("fits");
    let options = WriterOptions { max_rows: 2_000_000, flush_every: Duration::from_millis(50), batch_rows: 1_000_000 };
    let writer = Writer::start(Box::new(store), options).expect("writer");
    // About 54 B a row in the table alone: a million rows pass 24 MiB.
    writer.push(Batch { readings: (2000..1_002_000).map(reading).collect(), ..Default::default() });
    let e = writer.flush().expect_err("the disk is full");
    let text = e.to_string();
    eprintln!("refused: {text}");
    assert!(text.contains(&format!("127.0.0.1:{}/fulldisk", pg.port)), "names the store: {text}");
    assert!(text.contains("could not extend file") || text.contains("File too large"), "says why: {text}");
    let stats = writer.stats();
    assert!(stats.failed_writes > 0 && stats.queued_rows == 1_000_000 && stats.dropped_readings == 0, "{stats:?}");
    drop(writer);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("raw");
    let n: i64 = c.query_one("SELECT COUNT(*) FROM readings", &[]).expect("count").get(0);
    assert_eq!(n, 2000, "what was committed is there");
}

/// Readings are partitioned by week: the weeks written have their own
/// partitions (far-off times go to the default one), pruning drops whole
/// weeks and deletes the rest, and a database made before partitioning (one
/// plain table) keeps working.
#[test]
fn weekly_partitions_are_made_pruned_and_an_older_plain_table_still_works() {
    let Some(pg) = PgServer::start("partitions") else { return };
    let url = pg.database("weeks");
    let mut store = PgStore::connect(&url).expect("connect");
    assert!(store.partitioned());
    common::prune(&mut store);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("raw");
    let parts: Vec<String> = c
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
            &[],
        )
        .expect("partitions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Weeks 4 and 5 stay, week 1 was made again by the last write, and the default partition.
    let week0 = ((common::T0 / urbis_store::PARTITION_MS) + 1) as usize;
    let mut expected: Vec<String> = [week0, week0 + 3, week0 + 4]
        .iter()
        .map(|w| format!("readings_w{w}"))
        .chain(["readings_other".to_string()])
        .collect();
    expected.sort();
    assert_eq!(parts, expected);
    let far: i64 = c.query_one("SELECT COUNT(*) FROM readings_other", &[]).expect("count").get(0);
    assert_eq!(far, 1, "the reading of the year 2255 is in the default partition (the 1811 one was pruned)");

    // Two connections making the same new weeks at once.
    let writers: Vec<_> = (0..2)
        .map(|k| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut s = PgStore::connect(&url).expect("connect");
                let readings = (0..200)
                    .map(|i| urbis_store::StoredReading {
                        sensor: format!("c{k}"),
                        time_ms: common::T0 + 40 * common::DAY_MS + i * common::DAY_MS / 2,
                        value: i as f64,
                        quality: 0,
                    })
                    .collect();
                use urbis_store::HistoryStore;
                s.write(&urbis_store::Batch { readings, ..Default::default() })
            })
        })
        .collect();
    for w in writers {
        w.join().expect("thread").expect("both write");
    }

    // An older database: one plain table, as made before partitioning.
    let old = pg.database("plain");
    let mut c = postgres::Client::connect(&old, postgres::NoTls).expect("raw");
    c.batch_execute("CREATE TABLE readings (sensor BIGINT NOT NULL, t BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL, quality SMALLINT NOT NULL)")
        .expect("plain table");
    let mut store = PgStore::connect(&old).expect("connect");
    assert!(!store.partitioned());
    common::prune(&mut store);
}
