//! MQTT against a real mosquitto on 127.0.0.1 (started here on a free
//! port): every reading lands; a broker restart mid-stream is survived
//! with state kept and the gap reported; TLS with passwords, and refusal
//! of wrong ones; a storm at 10× capacity stays bounded and keeps the
//! latest values; bad payloads are counted by reason while good ones flow.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use rumqttc::{Client, MqttOptions, QoS};
use urbis_live::simulate::PublishOptions;
use urbis_live::sources::mqtt::{MqttSource, spawn_mqtt};
use urbis_live::sources::now_ms;
use urbis_model::{History, LatestReading};

use support::{Broker, broker_or_skip, sample_session, wait_until};

fn publish_opts(minutes: f64, batch: usize) -> PublishOptions {
    PublishOptions {
        prefix: "city".into(),
        speed: None,
        batch,
        from_s: 0.0,
        duration_s: minutes * 60.0,
        qos: 1,
        wall_clock: false,
    }
}

fn publish_later(from_min: f64, minutes: f64, batch: usize) -> PublishOptions {
    PublishOptions { from_s: from_min * 60.0, ..publish_opts(minutes, batch) }
}

/// Expected (time, value) per sensor id for `minutes` of the simulation.
fn expected(net: &urbis_live::simulate::Network, from_min: i64, to_min: i64) -> HashMap<String, Vec<(i64, f64)>> {
    let mut m: HashMap<String, Vec<(i64, f64)>> = HashMap::new();
    for (i, t, v) in net.readings(net.start_ms + from_min * 60_000, net.start_ms + to_min * 60_000) {
        m.entry(net.sensors[i].id.clone()).or_default().push((t, v));
    }
    m
}

#[test]
fn every_published_reading_lands_on_its_entity_with_value_and_time() {
    if !broker_or_skip() {
        return;
    }
    let broker = Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let stats = session.stats().clone();
    let _src = spawn_mqtt(MqttSource::parse(&broker.url("city/#")).expect("url"), session.ingest(true)).expect("spawn");
    assert!(wait_until(Duration::from_secs(10), || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed) >= 1));
    // Half the messages one reading each, half in batches of 25.
    let source = MqttSource::parse(&broker.url("city")).expect("url");
    let a = net.publish_mqtt(&source, &publish_opts(10.0, 1), |_, _| {}).expect("publish");
    let b = net.publish_mqtt(&source, &publish_later(10.0, 10.0, 25), |_, _| {}).expect("publish batches");
    let total = a.readings + b.readings;
    assert!(b.messages * 20 < b.readings, "batched: {b:?}");
    assert!(wait_until(Duration::from_secs(30), || stats.snapshot().readings >= total), "{:?}", stats.snapshot());
    session.tick(&mut model, now_ms());
    let st = stats.snapshot();
    assert_eq!((st.applied, st.dropped, st.unknown, st.rejected_total()), (total, 0, 0, 0));
    for (id, want) in expected(&net, 0, 20) {
        let e = session.sensor_entity(&id).expect("sensor");
        let h: Vec<(i64, f64)> = model.world.get::<History>(e).expect("history").iter().collect();
        assert_eq!(h, want, "{id}");
        let l = model.world.get::<LatestReading>(e).expect("latest");
        assert_eq!((l.time_ms, l.value), *want.last().expect("some"), "{id}");
    }
}

#[test]
fn a_broker_restart_is_survived_with_state_kept_and_the_gap_reported() {
    if !broker_or_skip() {
        return;
    }
    let mut broker = Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let stats = session.stats().clone();
    let _src = spawn_mqtt(MqttSource::parse(&broker.url("city/#")).expect("url"), session.ingest(true)).expect("spawn");
    let subscribed = || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed);
    assert!(wait_until(Duration::from_secs(10), || subscribed() >= 1));
    let source = MqttSource::parse(&broker.url("city")).expect("url");
    let first = net.publish_mqtt(&source, &publish_opts(5.0, 10), |_, _| {}).expect("publish");
    assert!(wait_until(Duration::from_secs(20), || stats.snapshot().readings >= first.readings));
    session.tick(&mut model, now_ms());
    let before: HashMap<String, LatestReading> = net
        .sensors
        .iter()
        .map(|s| {
            (s.id.clone(), *model.world.get::<LatestReading>(session.sensor_entity(&s.id).expect("e")).expect("l"))
        })
        .collect();

    broker.kill();
    std::thread::sleep(Duration::from_millis(700));
    broker.restart();
    // How soon it reconnects is the backoff's schedule (unit-tested in
    // `sources::mqtt`); here only that it does, within a generous deadline.
    assert!(wait_until(Duration::from_secs(30), || subscribed() >= 2), "no resubscription: {:?}", stats.snapshot());
    let st = stats.snapshot();
    assert_eq!(st.gaps.len(), 1, "{st:?}");
    let gap = &st.gaps[0];
    assert!(gap.to_ms - gap.from_ms >= 600, "the gap covers the outage: {gap:?}");
    // State from before the outage is intact.
    session.tick(&mut model, now_ms());
    for s in &net.sensors {
        let l = model.world.get::<LatestReading>(session.sensor_entity(&s.id).expect("e")).expect("l");
        assert_eq!(l, &before[&s.id], "{}", s.id);
    }
    // And the stream goes on.
    let second = net.publish_mqtt(&source, &publish_later(5.0, 5.0, 10), |_, _| {}).expect("publish after restart");
    let total = first.readings + second.readings;
    assert!(wait_until(Duration::from_secs(20), || stats.snapshot().readings >= total), "{:?}", stats.snapshot());
    session.tick(&mut model, now_ms());
    for (id, want) in expected(&net, 0, 10) {
        let h = model.world.get::<History>(session.sensor_entity(&id).expect("e")).expect("h").len();
        assert_eq!(h, want.len(), "{id}");
    }
}

/// A CA and a server certificate for 127.0.0.1, as PEM files in `dir`.
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("ca");
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server cert");
    let (ca_path, cert_path, key_path) = (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&ca_path, ca.pem()).expect("w");
    std::fs::write(&cert_path, cert.pem()).expect("w");
    std::fs::write(&key_path, key.serialize_pem()).expect("w");
    (ca_path, cert_path, key_path)
}

#[test]
fn tls_with_a_password_works_and_wrong_credentials_are_refused() {
    if !broker_or_skip() {
        return;
    }
    let certs_dir = tempfile::Builder::new().prefix("urbis-tls").tempdir().expect("tmp");
    let _ = std::process::Command::new("chmod").arg("0755").arg(certs_dir.path()).status();
    let (ca, cert, key) = certificates(certs_dir.path());
    let passwd = certs_dir.path().join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["operator", "s3cret"])
        .status()
        .expect("mosquitto_passwd");
    assert!(ok.success());
    for f in [&cert, &key, &passwd, &ca] {
        let _ = std::process::Command::new("chmod").arg("0644").arg(f).status();
    }
    let broker = Broker::start(&format!(
        "allow_anonymous false\npassword_file {}\ncafile {}\ncertfile {}\nkeyfile {}\n",
        passwd.display(),
        ca.display(),
        cert.display(),
        key.display()
    ));
    let url = |user: &str, topic: &str| format!("mqtts://{user}@127.0.0.1:{}/{topic}?ca={}", broker.port, ca.display());
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let stats = session.stats().clone();
    let _good = spawn_mqtt(MqttSource::parse(&url("operator:s3cret", "city/#")).expect("url"), session.ingest(true))
        .expect("spawn");
    assert!(
        wait_until(Duration::from_secs(10), || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed) >= 1),
        "TLS login failed: {}",
        broker.log()
    );
    // A second session with a wrong password is refused and receives nothing.
    let dir2 = tempfile::tempdir().expect("tmp");
    let (_m2, _n2, session2) = sample_session(dir2.path(), |_| {});
    let stats2 = session2.stats().clone();
    let _bad = spawn_mqtt(MqttSource::parse(&url("operator:wrong", "city/#")).expect("url"), session2.ingest(true))
        .expect("spawn");
    let source = MqttSource::parse(&url("operator:s3cret", "city")).expect("url");
    let sent = net.publish_mqtt(&source, &publish_opts(3.0, 5), |_, _| {}).expect("publish over TLS");
    assert!(wait_until(Duration::from_secs(20), || stats.snapshot().readings >= sent.readings));
    session.tick(&mut model, now_ms());
    assert_eq!(stats.snapshot().applied, sent.readings);
    assert!(wait_until(Duration::from_secs(10), || stats2.snapshot().refused >= 1), "{:?}", stats2.snapshot());
    let s2 = stats2.snapshot();
    assert_eq!((s2.readings, s2.subscribed), (0, 0));
    // Plain MQTT to a TLS listener fails too (no readings, no subscription).
    let anonymous = MqttSource::parse(&format!("mqtt://127.0.0.1:{}/city", broker.port)).expect("url");
    assert!(net.publish_mqtt(&anonymous, &publish_opts(1.0, 1), |_, _| {}).is_err());
}

#[test]
fn a_storm_of_ten_times_capacity_stays_bounded_and_keeps_the_latest_values() {
    if !broker_or_skip() {
        return;
    }
    let broker = Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    // Capacity: 5 readings per stream.
    let (mut model, net, mut session) = sample_session(dir.path(), |t| {
        let sensors = t.matches("[[sensor]]").count();
        *t = t.replace("capacity = 200000", &format!("capacity = {}", 5 * sensors));
    });
    let capacity = session.pipeline().capacity();
    assert_eq!(capacity, 5 * net.sensors.len());
    let stats = session.stats().clone();
    let _src = spawn_mqtt(MqttSource::parse(&broker.url("city/#")).expect("url"), session.ingest(true)).expect("spawn");
    assert!(wait_until(Duration::from_secs(10), || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed) >= 1));
    // 50 readings per sensor ≈ 10× capacity, published as fast as possible while nobody drains.
    let mut storm = net.clone();
    for s in &mut storm.sensors {
        s.order = 0.0; // every sensor reports on the minute
    }
    let minutes = 50.0 * 2.0; // parking reports every 2 min
    let pipe = session.pipeline().clone();
    let mut peak = 0;
    let sent = storm
        .publish_mqtt(&MqttSource::parse(&broker.url("city")).expect("url"), &publish_opts(minutes, 20), |_, _| {
            peak = peak.max(pipe.len());
        })
        .expect("publish");
    assert!(sent.readings as usize >= 9 * capacity, "{} readings vs capacity {capacity}", sent.readings);
    assert!(wait_until(Duration::from_secs(30), || {
        peak = peak.max(session.pipeline().len());
        stats.snapshot().readings >= sent.readings
    }));
    peak = peak.max(session.pipeline().len());
    assert!(peak <= capacity, "memory bounded: {peak} > {capacity}");
    let st = stats.snapshot();
    assert_eq!(st.dropped, sent.readings - session.pipeline().len() as u64, "every drop counted");
    // One tick applies at most the capacity: the frame's work is bounded whatever arrives.
    let report = session.tick(&mut model, now_ms());
    assert!(report.applied <= capacity);
    // The newest value of every sensor survived.
    for (id, want) in expected(&storm, 0, minutes as i64) {
        let e = session.sensor_entity(&id).expect("e");
        let l = model.world.get::<LatestReading>(e).expect("latest");
        assert_eq!((l.time_ms, l.value), *want.last().expect("some"), "{id}");
        assert!(model.world.get::<History>(e).expect("h").len() <= 5);
    }
}

#[test]
fn bad_payloads_are_counted_by_reason_and_good_ones_still_land() {
    if !broker_or_skip() {
        return;
    }
    let broker = Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, _net, mut session) = sample_session(dir.path(), |t| {
        *t = t.replacen("id = \"gauge-01\"\n", "id = \"gauge-01\"\ndatastream = \"17\"\n", 1)
    });
    let stats = session.stats().clone();
    let _src = spawn_mqtt(MqttSource::parse(&broker.url("#")).expect("url"), session.ingest(true)).expect("spawn");
    assert!(wait_until(Duration::from_secs(10), || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed) >= 1));
    let mut o = MqttOptions::new("urbis-test-bad", "127.0.0.1", broker.port);
    o.set_max_packet_size(64 << 20, 64 << 20);
    let (client, mut conn) = Client::new(o, 100);
    let driver = std::thread::spawn(move || {
        for ev in conn.iter() {
            match ev {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                _ => {}
            }
        }
    });
    let now = now_ms();
    let big = format!("{{\"sensor\":\"gauge-01\",\"value\":1,\"pad\":\"{}\"}}", "x".repeat(10 << 20));
    let payloads: Vec<(&str, String)> = vec![
        ("city/x", "not json at all".into()),
        ("city/x", "{\"sensor\":\"gauge-01\",\"value\":\"high\"}".into()),
        ("city/x", "{\"sensor\":\"gauge-01\",\"value\":\"NaN\"}".into()),
        ("city/x", "{\"sensor\":\"gauge-01\",\"value\":1e999}".into()),
        ("city/x", "{\"sensor\":5,\"value\":1}".into()),
        ("city/x", "{\"sensor\":\"gauge-01\"}".into()),
        ("city/x", format!("{{\"sensor\":\"gauge-01\",\"value\":1,\"time\":{}}}", now + 86_400_000)),
        ("city/x", "{\"sensor\":\"gauge-01\",\"value\":1,\"time\":\"yesterday\"}".into()),
        ("city/x", big),
        ("city/x", "{\"sensor\":\"no-such-sensor\",\"value\":1}".into()),
        ("v1.1/Datastreams(99)/Observations", "{\"phenomenonTime\":\"2026-07-15T00:00:00Z\",\"result\":1}".into()),
        (
            "city/x",
            format!(
                "[{{\"sensor\":\"gauge-02\",\"value\":2.5,\"time\":{now}}},{{\"sensor\":\"gauge-03\",\"value\":true}}]"
            ),
        ),
        ("v1.1/Datastreams(17)/Observations", "{\"phenomenonTime\":\"2026-07-15T00:00:00Z\",\"result\":3.25}".into()),
    ];
    let n = payloads.len();
    for (topic, p) in payloads {
        client.publish(topic, QoS::AtLeastOnce, false, p.into_bytes()).expect("publish");
    }
    assert!(wait_until(Duration::from_secs(20), || stats.snapshot().messages >= n as u64), "{:?}", stats.snapshot());
    let _ = client.disconnect();
    let _ = driver.join();
    session.tick(&mut model, now_ms());
    let st = stats.snapshot();
    let r = &st.rejected;
    assert_eq!(r["not_json"], 2, "garbage and 1e999: {r:?}");
    assert_eq!(r["wrong_type"], 3, "a string value, a numeric sensor, a boolean value: {r:?}");
    assert_eq!(r["non_finite"], 1, "{r:?}");
    assert_eq!(r["missing_field"], 1, "{r:?}");
    assert_eq!(r["future_time"], 1, "{r:?}");
    assert_eq!(r["bad_time"], 1, "{r:?}");
    assert_eq!(r["too_large"], 1, "{r:?}");
    assert_eq!(st.unknown, 2, "{:?}", st.unknown_ids);
    assert!(st.unknown_ids.contains_key("no-such-sensor") && st.unknown_ids.contains_key("Datastreams(99)"));
    assert_eq!(st.applied, 2);
    let l = |id: &str| *model.world.get::<LatestReading>(session.sensor_entity(id).expect("e")).expect("l");
    assert_eq!((l("gauge-02").value, l("gauge-02").time_ms), (2.5, now));
    assert_eq!(l("gauge-01").value, 3.25, "SensorThings form through the topic's datastream");
}

#[test]
fn an_mqtt_5_subscription_receives_every_reading_too() {
    if !broker_or_skip() {
        return;
    }
    let broker = Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |_| {});
    let stats = session.stats().clone();
    let source = MqttSource::parse(&format!("{}?v=5&qos=1", broker.url("city/#"))).expect("url");
    assert!(source.v5);
    let _src = spawn_mqtt(source, session.ingest(true)).expect("spawn");
    assert!(wait_until(Duration::from_secs(10), || stats.subscribed.load(std::sync::atomic::Ordering::Relaxed) >= 1));
    let sent = net
        .publish_mqtt(&MqttSource::parse(&broker.url("city")).expect("url"), &publish_opts(5.0, 10), |_, _| {})
        .expect("publish");
    assert!(wait_until(Duration::from_secs(20), || stats.snapshot().readings >= sent.readings));
    session.tick(&mut model, now_ms());
    assert_eq!(stats.snapshot().applied, sent.readings);
    assert!(broker.log().contains("p5"), "the broker saw an MQTT 5 client: {}", broker.log());
}

#[test]
fn mqtt_urls_parse_and_bad_ones_are_named() {
    let s = MqttSource::parse("mqtts://op:pw@broker.example:8884/city/+/water/#?qos=0&ca=/etc/ca.pem").expect("url");
    assert_eq!((s.host.as_str(), s.port, s.topic.as_str(), s.qos), ("broker.example", 8884, "city/+/water/#", 0));
    assert_eq!((s.username.as_deref(), s.password.as_deref()), (Some("op"), Some("pw")));
    assert_eq!(s.tls, Some(Some(std::path::PathBuf::from("/etc/ca.pem"))));
    assert_eq!(MqttSource::parse("mqtt://h/t").expect("url").port, 1883);
    for bad in ["http://h/t", "mqtt://h", "mqtt://h:99999/t", "mqtt://h/t?qos=2", "mqtt://h/t?v=6", "mqtt://h/t?x=1"] {
        let e = MqttSource::parse(bad).expect_err(bad).to_string();
        assert!(e.starts_with(bad), "{e}");
    }
}
