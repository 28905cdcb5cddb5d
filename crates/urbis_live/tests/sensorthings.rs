//! The SensorThings poller against a small SensorThings server started here
//! on 127.0.0.1: paging through `@iot.nextLink`, `$filter` on
//! phenomenonTime so a second poll reads only what is new, foreign links
//! refused, server errors reported without losing state.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use urbis_live::sources::now_ms;
use urbis_live::sources::sensorthings::{SensorThingsSource, agent, poll_once, spawn_sensorthings};
use urbis_live::time_text;
use urbis_model::{History, LatestReading};

use support::{sample_session, wait_until};

#[derive(Default)]
struct Service {
    /// (Unix ms, value) of datastream 17, in time order.
    observations: Vec<(i64, f64)>,
    requests: usize,
    fail_next: bool,
    foreign_next_link: bool,
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf8")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-_.~:".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// Serves `GET /v1.1/Datastreams(17)/Observations` with `$top`, `$skip`, `$orderby` and `$filter=phenomenonTime gt T`.
fn serve(service: Arc<Mutex<Service>>) -> (String, std::thread::JoinHandle<()>, Arc<tiny_http::Server>) {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("server"));
    let port = server.server_addr().to_ip().expect("ip").port();
    let base = format!("http://127.0.0.1:{port}/v1.1");
    let (srv, b) = (server.clone(), base.clone());
    let handle = std::thread::spawn(move || {
        for req in srv.incoming_requests() {
            let url = req.url().to_string();
            let (path, query) = url.split_once('?').unwrap_or((&url, ""));
            let mut s = service.lock().expect("lock");
            s.requests += 1;
            if std::mem::take(&mut s.fail_next) {
                let _ = req.respond(tiny_http::Response::from_string("boom").with_status_code(500));
                continue;
            }
            if path != "/v1.1/Datastreams(17)/Observations" {
                let _ = req.respond(tiny_http::Response::from_string("{}").with_status_code(404));
                continue;
            }
            let (mut top, mut skip, mut after) = (100usize, 0usize, i64::MIN);
            let mut filter_raw = None;
            for kv in query.split('&').filter(|kv| !kv.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                let (k, v) = (decode(k), decode(v));
                match k.as_str() {
                    "$top" => top = v.parse().expect("top"),
                    "$skip" => skip = v.parse().expect("skip"),
                    "$filter" => {
                        let t = v.strip_prefix("phenomenonTime gt ").expect("filter form");
                        after = urbis_live::payload::parse_time(t).expect("filter time");
                        filter_raw = Some(v.clone());
                    }
                    _ => {}
                }
            }
            let matching: Vec<(i64, f64)> = s.observations.iter().copied().filter(|(t, _)| *t > after).collect();
            let page: Vec<serde_json::Value> = matching
                .iter()
                .skip(skip)
                .take(top)
                .map(|(t, v)| serde_json::json!({"@iot.id": t, "phenomenonTime": time_text(*t), "result": v}))
                .collect();
            let mut body = serde_json::json!({ "value": page });
            if skip + top < matching.len() {
                let host = if s.foreign_next_link { "http://198.51.100.7/v1.1".to_string() } else { b.clone() };
                let mut next = format!("{host}/Datastreams(17)/Observations?$top={top}&$skip={}", skip + top);
                if let Some(f) = &filter_raw {
                    next.push_str(&format!("&$filter={}", encode(f)));
                }
                body["@iot.nextLink"] = next.into();
            }
            let _ = req.respond(tiny_http::Response::from_string(body.to_string()));
        }
    });
    (base, handle, server)
}

#[test]
fn the_poller_pages_filters_and_survives_server_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut model, net, mut session) = sample_session(dir.path(), |t| {
        *t = t.replacen("id = \"gauge-01\"\n", "id = \"gauge-01\"\ndatastream = \"17\"\n", 1)
    });
    let t0 = net.start_ms;
    let service = Arc::new(Mutex::new(Service {
        observations: (0..250).map(|i| (t0 + i * 30_000, 2.0 + i as f64 / 1000.0)).collect(),
        ..Default::default()
    }));
    let (base, _thread, server) = serve(service.clone());
    let mut src = SensorThingsSource::new(&base, vec!["17".into()]);
    src.top = 100;
    let http = agent();
    let ingest = session.ingest(true);
    let mut last = std::collections::HashMap::new();

    // First poll: three pages.
    assert_eq!(poll_once(&src, &http, &mut last, &ingest).expect("poll"), 250);
    assert_eq!(service.lock().expect("lock").requests, 3);
    session.tick(&mut model, now_ms());
    let e = session.sensor_entity("gauge-01").expect("gauge");
    let want: Vec<(i64, f64)> = service.lock().expect("lock").observations.clone();
    assert_eq!(model.world.get::<History>(e).expect("h").iter().collect::<Vec<_>>(), want);

    // Second poll: only the five new observations, in one request.
    service.lock().expect("lock").observations.extend((250..255).map(|i| (t0 + i * 30_000, 9.0 + i as f64)));
    assert_eq!(poll_once(&src, &http, &mut last, &ingest).expect("poll"), 5);
    assert_eq!(service.lock().expect("lock").requests, 4);
    session.tick(&mut model, now_ms());
    assert_eq!(model.world.get::<History>(e).expect("h").len(), 255);
    let l = model.world.get::<LatestReading>(e).expect("latest");
    assert_eq!((l.time_ms, l.value, l.count), (t0 + 254 * 30_000, 9.0 + 254.0, 255));

    // A server error is an error naming the URL; state is untouched and the next poll works.
    service.lock().expect("lock").fail_next = true;
    let err = poll_once(&src, &http, &mut last, &ingest).expect_err("500");
    assert!(err.to_string().contains("/Datastreams(17)/Observations"), "{err}");
    assert_eq!(poll_once(&src, &http, &mut last, &ingest).expect("poll"), 0);

    // A nextLink to another host is not followed.
    {
        let mut s = service.lock().expect("lock");
        s.observations.extend((255..500).map(|i| (t0 + i * 30_000, 1.0)));
        s.foreign_next_link = true;
        s.requests = 0;
    }
    assert_eq!(poll_once(&src, &http, &mut last, &ingest).expect("poll"), 100);
    assert_eq!(service.lock().expect("lock").requests, 1);

    // The threaded poller picks up what appears.
    {
        let mut s = service.lock().expect("lock");
        s.foreign_next_link = false;
        s.observations.clear();
        s.observations.push((now_ms() - 1000, 4.5));
    }
    src.interval = Duration::from_millis(50);
    let before = session.stats().snapshot().accepted;
    let stats = session.stats().clone();
    let handle = spawn_sensorthings(src, session.ingest(true)).expect("spawn");
    assert!(wait_until(Duration::from_secs(10), || stats.snapshot().accepted > before));
    handle.stop();
    session.tick(&mut model, now_ms());
    assert_eq!(model.world.get::<LatestReading>(e).expect("latest").value, 4.5);
    server.unblock();
}
