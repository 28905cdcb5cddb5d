//! A viewer's state from a history store (`store:` source): what is in the
//! store when it starts is loaded as history, and what a worker writes
//! later arrives as the sensors' latest values.

mod support;

use std::time::Duration;

use urbis_live::sources::store::{StoreSource, spawn_store};
use urbis_model::{History, LatestReading};
use urbis_store::{Batch, HistoryStore, SqliteStore, StoredReading};

fn reading(sensor: &str, time_ms: i64, value: f64) -> StoredReading {
    StoredReading { sensor: sensor.into(), time_ms, value, quality: 0 }
}

#[test]
fn a_viewer_takes_history_and_new_state_from_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = support::sample_session(dir.path(), |_| {});
    let (a, b) = (net.sensors[0].id.clone(), net.sensors[1].id.clone());
    let db_path = dir.path().join("history.db");
    let mut db = SqliteStore::open(&db_path).expect("store");
    let t0 = 1_784_073_600_000; // 2026-07-15T00:00:00Z
    // Written by "another process" before the viewer starts: three readings of a, one of b,
    // and one of a sensor the viewer's configuration does not know.
    let first: Vec<StoredReading> = vec![
        reading(&a, t0, 1.0),
        reading(&a, t0 + 60_000, 2.0),
        reading(&a, t0 + 120_000, 3.5),
        reading(&b, t0 + 30_000, 7.25),
        reading("not-configured", t0, 9.0),
    ];
    db.write(&Batch { readings: first, ..Default::default() }).expect("write");

    let source = StoreSource {
        store: db_path.display().to_string(),
        every: Duration::from_millis(50),
        history: Duration::from_secs(3600),
    };
    let handle = spawn_store(source, session.ingest(true)).expect("spawn");
    let entity_a = session.sensor_entity(&a).expect("a");
    let entity_b = session.sensor_entity(&b).expect("b");
    // (time, value) of the newest reading applied, once one has been.
    let latest = |model: &urbis_model::CityModel, e| {
        model.world.get::<LatestReading>(e).filter(|l| l.count > 0).map(|l| (l.time_ms, l.value))
    };
    let mut ok = false;
    for _ in 0..500 {
        session.tick(&mut model, t0 + 180_000);
        if latest(&model, entity_a) == Some((t0 + 120_000, 3.5)) && latest(&model, entity_b).is_some() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ok, "a: {:?}", latest(&model, entity_a));
    assert_eq!(latest(&model, entity_b), Some((t0 + 30_000, 7.25)));
    // The whole stored history of a is in the viewer's timeline history, once.
    let history: Vec<(i64, f64)> = model.world.get::<History>(entity_a).expect("history").iter().collect();
    assert_eq!(history, vec![(t0, 1.0), (t0 + 60_000, 2.0), (t0 + 120_000, 3.5)]);

    // A worker commits a newer reading of a, and an older one of b (already superseded).
    db.write(&Batch { readings: vec![reading(&a, t0 + 240_000, 4.75), reading(&b, t0, 1.0)], ..Default::default() })
        .expect("write");
    let mut ok = false;
    for _ in 0..500 {
        session.tick(&mut model, t0 + 300_000);
        if latest(&model, entity_a) == Some((t0 + 240_000, 4.75)) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ok, "a: {:?}", latest(&model, entity_a));
    assert_eq!(latest(&model, entity_b), Some((t0 + 30_000, 7.25)), "b keeps its newest");
    handle.stop();
}

#[test]
fn an_unreachable_store_is_retried_and_recorded_as_a_gap() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = support::sample_session(dir.path(), |_| {});
    // A directory that does not exist yet: the store cannot be opened.
    let db_path = dir.path().join("later").join("history.db");
    let source = StoreSource {
        store: db_path.display().to_string(),
        every: Duration::from_millis(50),
        history: Duration::from_secs(3600),
    };
    let handle = spawn_store(source, session.ingest(true)).expect("spawn");
    std::thread::sleep(Duration::from_millis(300));
    session.tick(&mut model, 0);
    assert_eq!(session.stats().snapshot().gaps.len(), 0, "no gap while it is still down");
    std::fs::create_dir_all(db_path.parent().expect("dir")).expect("mkdir");
    let mut db = SqliteStore::open(&db_path).expect("store");
    let a = net.sensors[0].id.clone();
    db.write(&Batch { readings: vec![reading(&a, 1_000, 5.0)], ..Default::default() }).expect("write");
    let entity = session.sensor_entity(&a).expect("a");
    let mut value = None;
    for _ in 0..500 {
        session.tick(&mut model, 2_000);
        value = model.world.get::<LatestReading>(entity).filter(|l| l.count > 0).map(|l| l.value);
        if value.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(value, Some(5.0));
    let gaps = session.stats().snapshot().gaps;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].source.starts_with("store:") && gaps[0].to_ms >= gaps[0].from_ms + 250, "{gaps:?}");
    handle.stop();
}
