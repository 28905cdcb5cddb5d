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
