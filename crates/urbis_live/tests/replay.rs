//! The live session over the sample city, driven by a replay on a virtual
//! clock: bindings, every reading landing, styles, alarms with hysteresis,
//! stale detection, the alarm log, and the CSV form.

mod support;

use std::collections::HashMap;

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_live::config::Severity;
use urbis_live::rules::Transition;
use urbis_live::simulate::{Bind, Kind};
use urbis_live::sources::replay::Replay;
use urbis_live::{AlarmEvent, LiveConfig};
use urbis_model::{
    Attributes, Bounds, FeatureId, FeatureStyle, History, LatestReading, LiveLabel, Observes, SemanticClass, Sensor,
};

use support::sample_session;

#[test]
fn every_sensor_is_bound_to_the_entity_its_config_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let (model, net, session) = sample_session(dir.path(), |_| {});
    assert!(session.bind_errors().is_empty(), "{:?}", session.bind_errors());
    assert!(net.sensors.len() >= 300, "a few hundred sensors: {}", net.sensors.len());
    assert_eq!(model.counts_by_class()[&SemanticClass::SENSOR], net.sensors.len());
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for s in &net.sensors {
        let e = session.sensor_entity(&s.id).expect("sensor entity");
        let r = model.world.entity(e);
        assert_eq!(r.get::<SemanticClass>(), Some(&SemanticClass::SENSOR));
        assert_eq!(r.get::<Sensor>().map(|x| x.quantity.as_str()), Some(s.kind.quantity()));
        let target = r.get::<Observes>().expect("observes").0;
        let t = model.world.entity(target);
        match &s.bind {
            Bind::Feature(guid) => {
                assert_eq!(&t.get::<FeatureId>().expect("id").guid, guid);
                *kinds.entry("feature").or_default() += 1;
            }
            Bind::Address(a) => {
                assert_eq!(t.get::<Attributes>().and_then(|x| x.str("address")), Some(a.as_str()));
                assert_eq!(t.get::<SemanticClass>(), Some(&SemanticClass::BUILDING));
                *kinds.entry("attribute").or_default() += 1;
            }
            Bind::NearestBuilding(radius) => {
                assert_eq!(t.get::<SemanticClass>(), Some(&SemanticClass::BUILDING));
                let b = t.get::<Bounds>().expect("bounds");
                let p = model.frame().geodetic_to_enu(urbis_geo::Geodetic::new(s.position[0], s.position[1], 0.0));
                let dx = (b.min.x - p.x).max(p.x - b.max.x).max(0.0);
                let dy = (b.min.y - p.y).max(p.y - b.max.y).max(0.0);
                assert!(dx.hypot(dy) <= *radius, "{} is {} m from its building", s.id, dx.hypot(dy));
                *kinds.entry("nearest").or_default() += 1;
            }
        }
    }
    assert!(kinds.len() == 3 && kinds.values().all(|n| *n >= 5), "all three binding kinds used: {kinds:?}");
    // Gauges stand on the river, at the height the config gives.
    let gauge = session.sensor_entity("gauge-01").expect("gauge");
    let b = model.world.get::<Bounds>(gauge).expect("bounds");
    let river = model.features().by_guid("XA-W-river").expect("river");
    let rb = model.world.get::<Bounds>(river).expect("river bounds");
    assert!(rb.intersects(&Bounds { min: b.min - DVec3::splat(1.0), max: b.max }), "{b:?} vs {rb:?}");
}

/// Replays `minutes` of the recording on a virtual clock stepping `step_s`, collecting alarm events.
fn run_replay(
    model: &mut urbis_model::CityModel,
    session: &mut urbis_live::LiveSession,
    path: &std::path::Path,
    start_ms: i64,
    minutes: i64,
    step_s: i64,
) -> Vec<AlarmEvent> {
    let ingest = session.ingest(false);
    let mut replay = Replay::open(path).expect("open replay");
    let mut events = Vec::new();
    let mut now = start_ms;
    while now <= start_ms + minutes * 60_000 {
        replay.advance(now, &ingest).expect("advance");
        events.extend(session.tick(model, now).events);
        now += step_s * 1000;
    }
    events
}

#[test]
fn every_replayed_reading_lands_on_its_sensor_with_value_and_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    let minutes = 20;
    let written = net.write_replay(&path, minutes as f64 * 60.0).expect("write");
    run_replay(&mut model, &mut session, &path, net.start_ms, minutes, 15);
    let stats = session.stats().snapshot();
    assert_eq!(stats.applied as usize, written);
    assert_eq!((stats.dropped, stats.unknown, stats.rejected_total()), (0, 0, 0));
    let expected = net.readings(net.start_ms, net.start_ms + minutes * 60_000);
    let mut per_sensor: HashMap<usize, Vec<(i64, f64)>> = HashMap::new();
    for (i, t, v) in expected {
        per_sensor.entry(i).or_default().push((t, v));
    }
    for (i, s) in net.sensors.iter().enumerate() {
        let e = session.sensor_entity(&s.id).expect("entity");
        let want = per_sensor.get(&i).cloned().unwrap_or_default();
        let latest = model.world.get::<LatestReading>(e).expect("latest");
        let history: Vec<(i64, f64)> = model.world.get::<History>(e).expect("history").iter().collect();
        // Times in the file have millisecond resolution, values three decimals: exact.
        assert_eq!(history, want, "{}", s.id);
        if let Some(&(t, v)) = want.last() {
            assert_eq!((latest.time_ms, latest.value, latest.count), (t, v, want.len() as u64), "{}", s.id);
        }
    }
}

#[test]
fn flood_alarm_waits_for_its_hold_time_and_clears_with_hysteresis() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    net.write_replay(&path, 3.0 * 3600.0).expect("write");
    let events = run_replay(&mut model, &mut session, &path, net.start_ms, 180, 10);

    // The reference: the gauge's own readings, with the rule "> 4.2 for 60 s, clears < 4.0".
    let gauge = net.sensors.iter().position(|s| s.id == "gauge-01").expect("gauge-01");
    let readings: Vec<(i64, f64)> = net
        .readings(net.start_ms, net.start_ms + 3 * 3_600_000)
        .into_iter()
        .filter(|r| r.0 == gauge)
        .map(|r| (r.1, r.2))
        .collect();
    let first_above = readings.iter().find(|r| r.1 > 4.2).expect("the flood passes 4.2 m").0;
    let raise = readings.iter().find(|r| r.0 >= first_above + 60_000).expect("raise").0;
    let clear = readings.iter().find(|r| r.0 > raise && r.1 < 4.0).expect("clear").0;
    // Hysteresis is exercised: the level spends time between 4.0 and 4.2 on the way down before clearing.
    assert!(readings.iter().any(|r| r.0 > raise && r.0 < clear && r.1 < 4.2), "no reading inside the band");

    let mine: Vec<&AlarmEvent> = events.iter().filter(|e| e.sensor == "gauge-01" && e.alarm == "river flood").collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!((mine[0].state, mine[0].time_ms), (Transition::Raised, raise));
    assert_eq!((mine[1].state, mine[1].time_ms), (Transition::Cleared, clear));
    assert_eq!(mine[0].feature, "XA-W-river");
    assert_eq!(mine[0].severity, Severity::Critical);
    // Every gauge floods once.
    let raised = events.iter().filter(|e| e.alarm == "river flood" && e.state == Transition::Raised).count();
    assert_eq!(raised, net.sensors.iter().filter(|s| s.kind == Kind::WaterLevel).count());
    // The PM2.5 spike at one station.
    let spike = net.spike_sensor.clone().expect("spike");
    assert!(
        events.iter().any(|e| e.sensor == spike && e.alarm == "PM2.5 very unhealthy" && e.state == Transition::Raised)
    );
    // The log holds the same events as JSON lines.
    let log = std::fs::read_to_string(dir.path().join("alarms.jsonl")).expect("alarm log");
    let logged: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(logged.len(), events.len());
    assert!(logged.iter().any(|l| l["alarm"] == "river flood" && l["state"] == "raised" && l["sensor"] == "gauge-01"));
}

#[test]
fn a_silent_sensor_turns_stale_and_raises_no_data_until_it_speaks() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    net.write_replay(&path, 2.0 * 3600.0).expect("write");
    let silent = net.silent_sensor.clone().expect("silent sensor");
    let e = session.sensor_entity(&silent).expect("entity");
    let ingest = session.ingest(false);
    let mut replay = Replay::open(&path).expect("open");
    let mut now = net.start_ms;
    let mut raised_at = None;
    let mut cleared_at = None;
    let mut stale_seen = false;
    while now <= net.start_ms + 2 * 3_600_000 {
        replay.advance(now, &ingest).expect("advance");
        for ev in session.tick(&mut model, now).events {
            if ev.sensor == silent && ev.alarm == "no data" {
                match ev.state {
                    Transition::Raised => raised_at = Some(ev.time_ms),
                    Transition::Cleared => cleared_at = Some(now),
                }
            }
        }
        stale_seen |= model.world.get::<LatestReading>(e).is_some_and(|l| l.stale);
        now += 5_000;
    }
    // Silence begins after the last reading before +3600 s; no_data_s = 300; ticks every 5 s.
    let i = net.sensors.iter().position(|s| s.id == silent).expect("index");
    let last_before = net
        .readings(net.start_ms, net.start_ms + 3_600_000)
        .into_iter()
        .filter(|r| r.0 == i)
        .map(|r| r.1)
        .max()
        .expect("readings");
    let raised = raised_at.expect("no-data alarm raised");
    assert!((last_before + 300_000..last_before + 300_000 + 5_000).contains(&raised), "{raised} vs {last_before}");
    assert!(cleared_at.expect("cleared") >= net.start_ms + 5_400_000);
    assert!(stale_seen, "stale after 3 missed periods");
    assert!(!model.world.get::<LatestReading>(e).expect("latest").stale, "fresh again");
    // Nothing else ever went silent.
    assert_eq!(session.stats().snapshot().stale, 0);
}

#[test]
fn styles_colour_extrude_and_label_the_observed_features() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    net.write_replay(&path, 2.0 * 3600.0).expect("write");
    // Up to the flood's peak at the first gauge (start + 30 min + 40 min).
    run_replay(&mut model, &mut session, &path, net.start_ms, 75, 30);
    let river = model.features().by_guid("XA-W-river").expect("river");
    let style = model.world.get::<FeatureStyle>(river).expect("style");
    let c = style.color_override.expect("river coloured by the ramp");
    assert!(c[2] > c[0] && c[2] > c[1], "blue: {c:?}");
    // The river shows the highest of its gauges.
    let highest = net
        .sensors
        .iter()
        .filter(|s| s.kind == Kind::WaterLevel)
        .map(|s| model.world.get::<LatestReading>(session.sensor_entity(&s.id).expect("gauge")).expect("latest").value)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(model.world.get::<LiveLabel>(river).map(|l| l.0.clone()), Some(format!("{highest:.2} m")));
    // Energy meters extrude their buildings in proportion to the load.
    let mut extruded = 0;
    for s in net.sensors.iter().filter(|s| s.kind == Kind::Energy) {
        let e = session.sensor_entity(&s.id).expect("entity");
        let target = model.world.get::<Observes>(e).expect("observes").0;
        let v = model.world.get::<LatestReading>(e).expect("latest").value;
        let scale = model.world.get::<FeatureStyle>(target).expect("style").height_scale;
        let want = 1.0 + 0.35 * (v / 400.0).clamp(0.0, 1.0);
        assert!((scale as f64 - want).abs() < 1e-5, "{}: {scale} vs {want}", s.id);
        extruded += usize::from(scale > 1.0);
    }
    assert!(extruded > 100);
    // Traffic counters colour their road segments along the green → red ramp.
    for s in net.sensors.iter().filter(|s| s.kind == Kind::Traffic) {
        let e = session.sensor_entity(&s.id).expect("entity");
        let road = model.world.get::<Observes>(e).expect("observes").0;
        assert_eq!(model.world.get::<SemanticClass>(road), Some(&SemanticClass::ROAD));
        let c = model.world.get::<FeatureStyle>(road).and_then(|st| st.color_override);
        assert!(c.is_some_and(|c| c[3] > 0.5), "{}: {c:?}", s.id);
    }
    // Car parks carry their occupancy as a label.
    let p = session.sensor_entity("parking-01").expect("parking");
    let target = model.world.get::<Observes>(p).expect("observes").0;
    let v = model.world.get::<LatestReading>(p).expect("latest").value;
    assert_eq!(model.world.get::<LiveLabel>(target).map(|l| l.0.clone()), Some(format!("P {v:.0}%")));
    // Alarms highlight their sensors' markers, and only those.
    session.highlight_alarms(&mut model);
    let mut q = model.world.query::<(&FeatureId, &FeatureStyle)>();
    let highlighted: Vec<String> =
        q.iter(&model.world).filter(|(_, s)| s.highlighted).map(|(f, _)| f.guid.clone()).collect();
    let active: Vec<String> = session.active_alarms().map(|a| format!("sensor:{}", a.sensor)).collect();
    assert!(!active.is_empty());
    let mut want = active.clone();
    want.sort();
    want.dedup();
    let mut got = highlighted.clone();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn threshold_styles_keep_their_level_inside_the_hysteresis_band() {
    let cfg = LiveConfig::parse(
        r##"
[[style]]
quantity = "pm25"
thresholds = [{ above = 35, color = "#ffff00" }, { above = 75, color = "#ff0000" }]
hysteresis = 5
"##,
        std::path::Path::new("t.toml"),
    )
    .expect("config");
    let rule = urbis_live::rules::StyleRule::compile(&cfg.styles[0]);
    let mut level = 0;
    let mut seq = vec![];
    for v in [30.0, 36.0, 33.0, 29.0, 76.0, 72.0, 69.0, 80.0] {
        rule.evaluate(v, "", "", &mut level);
        seq.push(level);
    }
    // 33 stays in level 1 (35 − 5 < 33), 29 drops; 72 stays in level 2, 69 drops to 1.
    assert_eq!(seq, vec![0, 1, 1, 0, 2, 2, 1, 2]);
}

#[test]
fn csv_recordings_replay_like_json_lines() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let csv = dir.path().join("rec.csv");
    let t0 = net.start_ms;
    std::fs::write(
        &csv,
        format!("sensor,time,value,quality\ngauge-02,{t0},2.5,good\ngauge-02,{},2.75,uncertain\nnobody,{t0},1,good\ngauge-02,{t0},oops,good\n", t0 + 30_000),
    )
    .expect("write");
    let ingest = session.ingest(false);
    let mut replay = Replay::open(&csv).expect("open");
    assert!(!replay.advance(t0 + 60_000, &ingest).expect("advance"));
    session.tick(&mut model, t0 + 60_000);
    let e = session.sensor_entity("gauge-02").expect("gauge");
    let l = model.world.get::<LatestReading>(e).expect("latest");
    assert_eq!((l.value, l.time_ms, l.quality), (2.75, t0 + 30_000, urbis_model::Quality::Uncertain));
    let st = session.stats().snapshot();
    assert_eq!((st.applied, st.unknown, st.rejected["wrong_type"]), (2, 1, 1));
    assert_eq!(st.unknown_ids.get("nobody"), Some(&1));
}

#[test]
fn config_errors_name_the_file_and_line() {
    let err = LiveConfig::parse("[live]\ncapacity = \"lots\"\n", std::path::Path::new("city/sensors.toml"))
        .expect_err("bad type");
    let msg = err.to_string();
    assert!(msg.contains("city/sensors.toml") && msg.contains("line 2"), "{msg}");
    let err = LiveConfig::parse(
        "[[sensor]]\nid = \"a\"\nquantity = \"q\"\nperiod_s = -1\nfeature = \"x\"\n",
        std::path::Path::new("s.toml"),
    )
    .expect_err("negative period");
    assert!(err.to_string().contains("sensor[0] (a): period_s"), "{err}");
    let err = LiveConfig::parse(
        "[[style]]\nquantity = \"q\"\nramp = { min = 0, max = 1, colors = [\"red\", \"#000000\"] }\n",
        std::path::Path::new("s.toml"),
    )
    .expect_err("bad colour");
    assert!(err.to_string().contains("bad colour \"red\""), "{err}");
    let _ = Entity::PLACEHOLDER;
}

#[test]
fn a_recorded_session_replays_to_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    net.write_replay(&path, 20.0 * 60.0).expect("write");
    let recorded = dir.path().join("recorded.jsonl");
    session.record_to(&recorded).expect("record");
    run_replay(&mut model, &mut session, &path, net.start_ms, 20, 15);
    let (mut model2, _, mut session2) = sample_session(dir.path(), |_| {});
    run_replay(&mut model2, &mut session2, &recorded, net.start_ms, 20, 15);
    assert_eq!(session2.stats().snapshot().applied, session.stats().snapshot().applied);
    for s in &net.sensors {
        let h = |m: &urbis_model::CityModel, ses: &urbis_live::LiveSession| -> Vec<(i64, f64)> {
            m.world.get::<History>(ses.sensor_entity(&s.id).expect("e")).expect("h").iter().collect()
        };
        assert_eq!(h(&model, &session), h(&model2, &session2), "{}", s.id);
    }
}

#[test]
fn scrubbing_shows_the_history_and_returns_to_live() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let path = dir.path().join("sensors.jsonl");
    net.write_replay(&path, 2.0 * 3600.0).expect("write");
    run_replay(&mut model, &mut session, &path, net.start_ms, 75, 30);
    let river = model.features().by_guid("XA-W-river").expect("river");
    let label = |m: &urbis_model::CityModel| m.world.get::<LiveLabel>(river).map(|l| l.0.clone());
    let live = label(&model);
    // 20 minutes in, before the flood: the river shows the highest gauge of that moment.
    let at = net.start_ms + 20 * 60_000;
    session.show_at(&mut model, Some(at));
    assert_eq!(session.scrub_time(), Some(at));
    let then = net
        .sensors
        .iter()
        .filter(|s| s.kind == Kind::WaterLevel)
        .filter_map(|s| model.world.get::<History>(session.sensor_entity(&s.id).expect("e")).expect("h").at(at))
        .map(|x| x.1)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(then < 3.0, "before the flood: {then}");
    assert_eq!(label(&model), Some(format!("{then:.2} m")));
    // New readings do not repaint while scrubbing; back to live repaints the latest.
    session.show_at(&mut model, None);
    assert_eq!(label(&model), live);
}
