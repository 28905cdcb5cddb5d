//! The SQLite history store against its input: a day of irregular readings
//! of 40 sensors goes in through the bounded writer in uneven batches, and
//! every query is checked against the same computation done here on the
//! input. Bad files, a newer schema, a storm and a kill -9 mid-write.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{T0, day_of_readings, temp_dir, write_all};
use urbis_store::{Batch, HistoryStore, SqliteStore, StoreError, StoredReading, Writer, WriterOptions};

#[test]
fn a_day_goes_in_and_comes_out_to_the_value_and_the_millisecond() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("history.db");
    common::round_trip(&|| Box::new(SqliteStore::open(&path).expect("open")));
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
    write_all(Box::new(SqliteStore::open(&newer).expect("open")), &day_of_readings()[..500], &[]);
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
    // An unknown scheme is refused without echoing credentials.
    let e = urbis_store::open("mysql://user:secret@127.0.0.1:1/db").err().expect("refused");
    assert!(!e.to_string().contains("secret") && e.to_string().contains("127.0.0.1:1/db"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_storm_at_ten_times_the_configured_rate_stays_bounded_reports_its_lag_and_catches_up() {
    let dir = temp_dir("storm");
    let path = dir.join("storm.db");
    common::storm(Box::new(SqliteStore::open(&path).expect("open")), &|| {
        Box::new(SqliteStore::open(&path).expect("reopen"))
    });
    let _ = std::fs::remove_dir_all(dir);
}

/// The child of the kill test: writes numbered readings until killed,
/// noting after each flush the highest number known to be committed.
#[test]
fn kill_child_writer() {
    let Ok(dir) = std::env::var("URBIS_STORE_KILL_CHILD") else { return };
    let dir = PathBuf::from(dir);
    common::write_numbered_until_killed(Box::new(SqliteStore::open(&dir.join("h.db")).expect("open")), &dir);
}

#[test]
fn kill_9_mid_write_loses_nothing_committed_and_leaves_the_store_consistent() {
    let dir = temp_dir("kill");
    let committed = common::run_and_kill("kill_child_writer", &[("URBIS_STORE_KILL_CHILD", dir.as_os_str())], &dir);
    let c = rusqlite::Connection::open(dir.join("h.db")).expect("raw open");
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    drop(c);
    common::assert_gapless_prefix(&mut SqliteStore::open(&dir.join("h.db")).expect("reopens"), committed);
    let _ = std::fs::remove_dir_all(dir);
}

/// A full disk (a size cap on the file): writes fail with a clear error
/// naming the store, what was committed stays sound, and the refused batch
/// stays queued (within the bound, not dropped) while the writer retries.
#[test]
fn a_full_disk_refuses_writes_and_keeps_what_is_stored() {
    let dir = temp_dir("full");
    let path = dir.join("full.db");
    let reading =
        |i: i64| StoredReading { sensor: format!("s{}", i % 20), time_ms: T0 + i, value: i as f64, quality: 0 };
    // A first batch that fits.
    let mut store = SqliteStore::open(&path).expect("open");
    store.write(&Batch { readings: (0..2000).map(reading).collect(), ..Default::default() }).expect("fits");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) + 64 * 1024;
    store.limit_size(size.max(256 * 1024)).expect("cap");
    let options = WriterOptions { max_rows: 500_000, flush_every: Duration::from_millis(50), batch_rows: 50_000 };
    let writer = Writer::start(Box::new(store), options).expect("writer");
    writer.push(Batch { readings: (2000..200_000).map(reading).collect(), ..Default::default() });
    let e = writer.flush().expect_err("the disk is full");
    assert!(e.to_string().contains("full.db") && e.to_string().contains("full"), "{e}");
    let stats = writer.stats();
    assert!(stats.failed_writes > 0 && stats.queued_rows == 198_000 && stats.dropped_readings == 0, "{stats:?}");
    drop(writer);
    // What was committed is there and sound.
    let c = rusqlite::Connection::open(&path).expect("raw");
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    let n: i64 = c.query_row("SELECT COUNT(*) FROM readings", [], |r| r.get(0)).expect("count");
    assert_eq!((check.as_str(), n), ("ok", 2000));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pruning_removes_exactly_what_is_older() {
    let dir = temp_dir("prune");
    common::prune(&mut SqliteStore::open(&dir.join("p.db")).expect("open"));
    let _ = std::fs::remove_dir_all(dir);
}
