//! Operations-centre figures for live sensors through a real MQTT broker.
//!
//! Starts mosquitto on a free loopback port (or uses `URBIS_BROKER=host:port`),
//! binds the sample city's simulated sensor network, and measures:
//!
//! 1. end to end, publisher → mosquitto → subscriber, as messages/s and
//!    readings/s with 1 and with 20 readings per message, for a plain rumqttc
//!    subscriber that only counts (the baseline) and for Urbis (parse, queue,
//!    apply to entities, styles, alarms), on the same broker in the same run;
//! 2. latency from publish to the GPU style buffer while rendering: readings
//!    stamped with the wall clock at publish, a headless engine rendering
//!    320×180 frames (lavapipe without a GPU) that ticks the session, uploads
//!    styles and records, per sensor and frame, now − stamp of its newest
//!    reading. Prints p50 / p99 / max; then again with 16 ms frames that
//!    tick and upload but do not draw, which isolates the pipeline's share
//!    from a software rasteriser's frame time.
//!
//! ```text
//! cargo run --release -p urbis_app --example live_throughput
//! ```

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use urbis_engine::{Engine, GeodeticPose, default_lighting};
use urbis_live::simulate::{Network, PublishOptions};
use urbis_live::sources::mqtt::{MqttSource, spawn_mqtt};
use urbis_live::sources::now_ms;
use urbis_live::{LiveConfig, LiveSession};
use urbis_model::{CityModel, LatestReading, Sensor};
use urbis_render::{GpuContext, HeadlessTarget};

struct Broker(Option<Child>, u16);

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn broker() -> Result<Broker> {
    if let Ok(hp) = std::env::var("URBIS_BROKER") {
        let port = hp.rsplit(':').next().and_then(|p| p.parse().ok()).context("URBIS_BROKER=host:port")?;
        return Ok(Broker(None, port));
    }
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = std::env::temp_dir().join(format!("urbis-live-bench-{port}"));
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\nmax_inflight_messages 0\n"
        ),
    )?;
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mosquitto (apt-get install mosquitto)")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("mosquitto did not start on {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Broker(Some(child), port))
}

fn session(model: &mut CityModel, net: &Network) -> Result<LiveSession> {
    let cfg = LiveConfig::parse(&net.config_toml(None), std::path::Path::new("simulated.toml"))?;
    Ok(LiveSession::new(cfg, model)?)
}

fn opts(batch: usize, minutes: f64, prefix: &str) -> PublishOptions {
    PublishOptions {
        prefix: prefix.into(),
        speed: None,
        batch,
        from_s: 0.0,
        duration_s: minutes * 60.0,
        qos: 1,
        wall_clock: false,
    }
}

/// A rumqttc subscriber that only counts messages: the baseline.
fn baseline(port: u16, topic: &str, net: &Network, o: &PublishOptions) -> Result<(u64, f64)> {
    let mut mo = rumqttc::MqttOptions::new(format!("baseline-{}", now_ms()), "127.0.0.1", port);
    mo.set_max_packet_size(64 << 20, 1 << 20);
    let (client, mut conn) = rumqttc::Client::new(mo, 64);
    let count = Arc::new(AtomicU64::new(0));
    let first = Arc::new(AtomicU64::new(0));
    let subscribed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, f, s, st) = (count.clone(), first.clone(), subscribed.clone(), stop.clone());
    let t0 = Instant::now();
    client.subscribe(topic, rumqttc::QoS::AtLeastOnce)?;
    let th = std::thread::spawn(move || {
        while !st.load(Relaxed) {
            match conn.recv_timeout(Duration::from_millis(100)) {
                Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))) => s.store(true, Relaxed),
                Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(_)))) => {
                    let before = c.fetch_add(1, Relaxed);
                    if before == 0 {
                        f.store(t0.elapsed().as_micros() as u64, Relaxed);
                    }
                }
                Ok(Err(_)) => std::thread::sleep(Duration::from_millis(50)),
                _ => {}
            }
        }
    });
    while !subscribed.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = net.publish_mqtt(&MqttSource::parse(&format!("mqtt://127.0.0.1:{port}/x"))?, o, |_, _| {})?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while count.load(Relaxed) < sent.messages && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let secs = t0.elapsed().as_secs_f64() - first.load(Relaxed) as f64 / 1e6;
    stop.store(true, Relaxed);
    let _ = client.disconnect();
    let _ = th.join();
    Ok((count.load(Relaxed), secs))
}

/// Urbis subscribing, parsing and applying in a tick loop.
fn urbis(port: u16, topic: &str, net: &Network, o: &PublishOptions) -> Result<(u64, u64, f64)> {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let mut model = urbis_model::open_city(&[dir])?.0;
    let mut s = session(&mut model, net)?;
    let stats = s.stats().clone();
    let src = spawn_mqtt(MqttSource::parse(&format!("mqtt://127.0.0.1:{port}/{topic}"))?, s.ingest(true))?;
    while stats.subscribed.load(Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let publisher = {
        let (net, o) = (net.clone(), o.clone());
        std::thread::spawn(move || {
            net.publish_mqtt(&MqttSource::parse(&format!("mqtt://127.0.0.1:{port}/x")).expect("url"), &o, |_, _| {})
        })
    };
    let mut first: Option<Instant> = None;
    let expected = net.readings(net.start_ms, net.start_ms + (o.duration_s * 1000.0) as i64).len() as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while stats.applied.load(Relaxed) < expected && Instant::now() < deadline {
        s.tick(&mut model, now_ms());
        if first.is_none() && stats.messages.load(Relaxed) > 0 {
            first = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    let sent = publisher.join().map_err(|_| anyhow::anyhow!("publisher panicked"))??;
    drop(src);
    let st = stats.snapshot();
    if st.applied != sent.readings {
        eprintln!("warning: applied {} of {} readings (dropped {})", st.applied, sent.readings, st.dropped);
    }
    Ok((st.messages, st.applied, secs))
}

fn latency(port: u16, render: bool) -> Result<()> {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let mut model = urbis_model::open_city(&[dir])?.0;
    let net = Network::for_city(&model, 7);
    let mut s = session(&mut model, &net)?;
    let stats = s.stats().clone();
    let src = spawn_mqtt(MqttSource::parse(&format!("mqtt://127.0.0.1:{port}/lat/#"))?, s.ingest(true))?;
    while stats.subscribed.load(Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let ctx = GpuContext::headless()?;
    let adapter = ctx.adapter_name();
    let mut engine = Engine::new(model, ctx, HeadlessTarget::FORMAT);
    let camera = "115.899,38.9865,420,0,-32".parse::<GeodeticPose>().map_err(|e| anyhow::anyhow!("{e:?}"))?.camera();
    let lighting = default_lighting(&engine.model, &camera);
    let (w, h) = (320, 180);
    let target = HeadlessTarget::new(&engine.ctx, w, h);
    let sensors: Vec<_> = {
        let mut q = engine.model.world.query::<(bevy_ecs::prelude::Entity, &Sensor)>();
        q.iter(&engine.model.world).map(|(e, _)| e).collect()
    };
    let mut seen = vec![0u64; sensors.len()];
    // The first extraction uploads the whole city: do it before the clock starts.
    engine.update();
    engine.render(&camera, &lighting, None, &target.view, w, h);
    let _ = engine.ctx.device.poll(wgpu::PollType::wait_indefinitely());
    // 60× real time: the whole network reports about 500 readings/s for 15 s.
    let publisher = {
        let net = net.clone();
        let o = PublishOptions {
            prefix: "lat".into(),
            speed: Some(60.0),
            batch: 1,
            from_s: 0.0,
            duration_s: 900.0,
            qos: 1,
            wall_clock: true,
        };
        std::thread::spawn(move || {
            net.publish_mqtt(&MqttSource::parse(&format!("mqtt://127.0.0.1:{port}/lat")).expect("url"), &o, |_, _| {})
        })
    };
    let mut samples = Vec::new();
    let mut frames = 0u64;
    let start = Instant::now();
    while !publisher.is_finished() || !s.pipeline().is_empty() {
        s.tick(&mut engine.model, now_ms());
        engine.update(); // extract + prepare: styles reach the GPU buffer here
        let now = now_ms();
        for (i, e) in sensors.iter().enumerate() {
            if let Some(l) = engine.model.world.get::<LatestReading>(*e)
                && l.count != seen[i]
            {
                seen[i] = l.count;
                samples.push((now - l.time_ms) as f64);
            }
        }
        if render {
            engine.render(&camera, &lighting, None, &target.view, w, h);
            let _ = engine.ctx.device.poll(wgpu::PollType::wait_indefinitely());
        } else {
            std::thread::sleep(Duration::from_millis(16)); // a 60 Hz frame budget with a free GPU
        }
        frames += 1;
    }
    let _ = publisher.join();
    drop(src);
    samples.sort_by(f64::total_cmp);
    let q = |p: f64| samples.get(((samples.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(f64::NAN);
    let fps = frames as f64 / start.elapsed().as_secs_f64();
    if render {
        println!("\nlatency publish → GPU style buffer while rendering {w}×{h} on {adapter} ({fps:.1} frames/s):");
    } else {
        println!("\nlatency publish → GPU style buffer, frames of 16 ms without drawing ({fps:.1} frames/s):");
    }
    println!(
        "  {} samples: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal: p99 < 100 ms)",
        samples.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
    Ok(())
}

fn main() -> Result<()> {
    let b = broker()?;
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let model = urbis_model::open_city(&[dir])?.0;
    let net = Network::for_city(&model, 7);
    drop(model);
    println!("broker 127.0.0.1:{}  {} simulated sensors, QoS 1", b.1, net.sensors.len());
    println!("{:<28} {:>10} {:>12} {:>14}", "run", "messages", "msgs/s", "readings/s");
    for batch in [1usize, 20] {
        let minutes = if batch == 1 { 60.0 } else { 240.0 };
        let o = opts(batch, minutes, &format!("b{batch}"));
        let (msgs, secs) = baseline(b.1, &format!("b{batch}/#"), &net, &o)?;
        let readings = net.readings(net.start_ms, net.start_ms + (minutes * 60_000.0) as i64).len() as f64;
        println!(
            "{:<28} {:>10} {:>12.0} {:>14.0}",
            format!("baseline subscriber, {batch}/msg"),
            msgs,
            msgs as f64 / secs,
            readings / secs
        );
        let o = opts(batch, minutes, &format!("u{batch}"));
        let (msgs, applied, secs) = urbis(b.1, &format!("u{batch}/#"), &net, &o)?;
        println!(
            "{:<28} {:>10} {:>12.0} {:>14.0}",
            format!("urbis (applied), {batch}/msg"),
            msgs,
            msgs as f64 / secs,
            applied as f64 / secs
        );
    }
    latency(b.1, true)?;
    latency(b.1, false)
}
