//! Scale-out ingest with real processes: two `urbis live ingest` workers
//! share one mosquitto subscription (`$share/urbis/…`, MQTT 5) and write to
//! one PostgreSQL. A publisher sends every reading once at QoS 1; one
//! worker is killed with SIGKILL mid-stream and started again under its
//! client id. The store must then hold every published reading exactly
//! once: nothing the killed worker had taken but not committed is lost (it
//! acknowledges only after the commit, and its persistent session keeps
//! the rest), and nothing the broker sent again is stored twice.

#[path = "../../urbis_live/tests/support/mod.rs"]
mod mqtt_support;
#[allow(dead_code)]
#[path = "../../urbis_store/tests/common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn urbis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_urbis"))
}

/// A running worker and the lines it printed.
struct Worker {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    fn start(config: &Path, store: &str, source: &str) -> Worker {
        let mut child = urbis()
            .args(["live", "ingest", "--store-flush-ms", "200", "--live-config"])
            .arg(config)
            .args(["--store", store, "--live", source])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start urbis live ingest");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let l = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    l.lock().expect("lines").push(line);
                }
            });
        }
        Worker { child, lines }
    }

    fn text(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }

    fn wait_subscribed(&mut self) {
        let (child, lines) = (&mut self.child, &self.lines);
        let ok = mqtt_support::wait_until(Duration::from_secs(60), || {
            lines.lock().expect("lines").iter().any(|l| l.contains("subscribed 1"))
                || child.try_wait().ok().flatten().is_some()
        }) && self.child.try_wait().ok().flatten().is_none();
        assert!(ok, "worker never subscribed:\n{}", self.text());
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> (bool, String) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        (status.is_some_and(|s| s.success()), self.text())
    }
}

/// Whether a progress line shows readings received (`received N/s` above 0).
fn received_some(text: &str) -> bool {
    text.lines().any(|l| {
        l.split("received ")
            .nth(1)
            .and_then(|r| r.trim_start().split('/').next())
            .and_then(|n| n.trim().parse::<f64>().ok())
            .is_some_and(|n| n > 0.0)
    })
}

/// Publishes `readings` (sensor, time, value), one per message, at QoS 1
/// and about `per_second`, and waits until the broker acknowledged each.
fn publish(port: u16, readings: &[(String, i64, f64)], per_second: f64) {
    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
    let mut o = MqttOptions::new("urbis-test-publisher", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(10));
    let (client, mut connection) = Client::new(o, 1024);
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = acked.clone();
    let driver = std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    a.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                _ => {}
            }
        }
    });
    let started = Instant::now();
    for (i, (sensor, t, v)) in readings.iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / per_second);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let payload = format!("{{\"sensor\":\"{sensor}\",\"time\":{t},\"value\":{v:?}}}");
        client.publish(format!("city/{sensor}"), QoS::AtLeastOnce, false, payload).expect("publish");
    }
    let all = mqtt_support::wait_until(Duration::from_secs(60), || {
        acked.load(std::sync::atomic::Ordering::Relaxed) >= readings.len()
    });
    assert!(all, "the broker acknowledged {} of {}", acked.load(std::sync::atomic::Ordering::Relaxed), readings.len());
    let _ = client.disconnect();
    let _ = driver.join();
}

#[test]
fn two_shared_workers_store_every_message_once_through_a_kill() {
    if !mqtt_support::broker_or_skip() {
        return;
    }
    let Some(server) = pg::PgServer::start("ingest-cli") else { return };
    let store = server.database("city");
    let broker = mqtt_support::Broker::start("");
    let dir = tempfile::tempdir().expect("tmp");
    // The sample network's configuration (and its sensor ids) from `live simulate`.
    let rec = dir.path().join("rec.jsonl");
    let out = urbis().args(["live", "simulate", "--duration", "60", "--out"]).arg(&rec).output().expect("simulate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = rec.with_extension("toml");
    let sensors: BTreeSet<String> = std::fs::read_to_string(&rec)
        .expect("recording")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["sensor"].as_str().expect("id").to_string()
        })
        .collect();
    let sensors: Vec<String> = sensors.into_iter().collect();
    assert!(sensors.len() > 50, "{}", sensors.len());
    // 4,000 readings, each (sensor, time) once.
    let t0 = 1_784_073_600_000_i64;
    let readings: Vec<(String, i64, f64)> = (0..4000)
        .map(|k| (sensors[k % sensors.len()].clone(), t0 + k as i64 * 1000, k as f64 * 0.25 - 100.0))
        .collect();

    let source =
        |id: &str| format!("mqtt://127.0.0.1:{}/city/#?v=5&share=urbis&session=600&client_id={id}", broker.port);
    let mut a = Worker::start(&config, &store, &source("worker-a"));
    let mut b = Worker::start(&config, &store, &source("worker-b"));
    a.wait_subscribed();
    b.wait_subscribed();

    let port = broker.port;
    let to_send = readings.clone();
    let publisher = std::thread::spawn(move || publish(port, &to_send, 800.0));
    // Mid-stream: kill worker b outright, and start it again a second later.
    std::thread::sleep(Duration::from_millis(2000));
    b.child.kill().expect("SIGKILL");
    let _ = b.child.wait();
    std::thread::sleep(Duration::from_millis(100));
    let b_first = b.text();
    std::thread::sleep(Duration::from_millis(900));
    let mut b = Worker::start(&config, &store, &source("worker-b"));
    b.wait_subscribed();
    publisher.join().expect("publisher");

    let mut db = postgres::Client::connect(
        &format!("host=127.0.0.1 port={} user=urbis dbname=city", server.port),
        postgres::NoTls,
    )
    .expect("connect");
    let count =
        |db: &mut postgres::Client| db.query_one("SELECT COUNT(*) FROM readings", &[]).expect("count").get::<_, i64>(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&mut db) < readings.len() as i64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Anything still on its way (a duplicate) would show within a flush or two.
    std::thread::sleep(Duration::from_millis(600));
    let (a_ok, a_text) = a.terminate();
    let (b_ok, b_text) = b.terminate();
    assert!(a_ok, "worker a did not stop cleanly:\n{a_text}");
    assert!(b_ok, "worker b did not stop cleanly:\n{b_text}");

    let rows = db
        .query("SELECT s.sensor, r.t, r.value FROM readings r JOIN sensors s ON s.id = r.sensor", &[])
        .expect("readings");
    let stored: Vec<(String, i64, f64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let key = |r: &(String, i64, f64)| (r.0.clone(), r.1, r.2.to_bits());
    let distinct: BTreeSet<_> = stored.iter().map(key).collect();
    let sent: BTreeSet<_> = readings.iter().map(key).collect();
    assert_eq!(stored.len(), readings.len(), "each message stored exactly once (distinct: {})", distinct.len());
    assert_eq!(distinct, sent, "the store holds exactly what was published");
    // Both workers took part: the killed one before its death, and the survivor.
    assert!(received_some(&b_first), "worker b received nothing before it was killed:\n{b_first}");
    assert!(received_some(&a_text), "worker a received nothing:\n{a_text}");
}
