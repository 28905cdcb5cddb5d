//! A deterministic sensor network for a city, with plausible daily curves
//! and events, for demonstrations, tests and benches.
//!
//! [`Network::for_city`] picks features of the model in index order:
//! - river gauges (`water_level`, m) along the largest water body; a flood
//!   wave raises them by 3 m, reaching each gauge a little later;
//! - air-quality stations (`pm25`, µg/m³) by buildings, one of them with a
//!   pollution spike and one that falls silent for half an hour;
//! - traffic counters (`traffic_flow`, vehicles/h) on road segments;
//! - energy meters (`energy_kw`) in buildings, some bound by address;
//! - car-park occupancy (`parking_occupancy`, %).
//!
//! Values depend only on the seed, the sensor and the time, so a recording
//! written twice is byte-identical.

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::io::Write;
use std::path::Path;

use glam::DVec3;
use urbis_model::{Attributes, Bounds, CityModel, FeatureId, GeometryHandle, MeshStore, Placement, SemanticClass};

use crate::LiveError;

/// What a simulated sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WaterLevel,
    AirQuality,
    Traffic,
    Energy,
    Parking,
}

impl Kind {
    pub fn quantity(self) -> &'static str {
        match self {
            Kind::WaterLevel => "water_level",
            Kind::AirQuality => "pm25",
            Kind::Traffic => "traffic_flow",
            Kind::Energy => "energy_kw",
            Kind::Parking => "parking_occupancy",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::WaterLevel => "m",
            Kind::AirQuality => "ug/m3",
            Kind::Traffic => "veh/h",
            Kind::Energy => "kW",
            Kind::Parking => "%",
        }
    }

    pub fn period_s(self) -> f64 {
        match self {
            Kind::WaterLevel => 30.0,
            Kind::Parking => 120.0,
            _ => 60.0,
        }
    }

    fn topic(self) -> &'static str {
        match self {
            Kind::WaterLevel => "water",
            Kind::AirQuality => "air",
            Kind::Traffic => "traffic",
            Kind::Energy => "energy",
            Kind::Parking => "parking",
        }
    }
}

/// How a simulated sensor is bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Feature(String),
    Address(String),
    NearestBuilding(f64),
}

/// One simulated sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSensor {
    pub id: String,
    pub kind: Kind,
    /// lon, lat, height (height only for gauges, which sit on the water).
    pub position: [f64; 3],
    pub fixed_height: bool,
    pub bind: Bind,
    /// 0..1 along the river for gauges; a per-sensor random number otherwise.
    pub order: f64,
    pub scale: f64,
}

/// The simulated network and its event timetable (offsets from `start_ms`).
#[derive(Debug, Clone)]
pub struct Network {
    pub sensors: Vec<SimSensor>,
    pub seed: u64,
    /// Start of the scenario, Unix ms.
    pub start_ms: i64,
    /// The flood wave reaches the first gauge this long after the start.
    pub flood_at_s: f64,
    /// The air-quality station with a pollution spike, and the one that falls silent.
    pub spike_sensor: Option<String>,
    pub silent_sensor: Option<String>,
}

/// 2026-07-15T00:00:00Z (08:00 in China): the sample recording's start.
pub const SAMPLE_START_MS: i64 = 1_784_073_600_000;

fn hash01(seed: u64, a: u64, b: u64) -> f64 {
    // SplitMix64 over the inputs: deterministic, platform-independent noise.
    let mut z = seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn bump(x: f64, centre: f64, width: f64) -> f64 {
    (-((x - centre) / width).powi(2)).exp()
}

/// Every `step`-th item of a list, at most `n`.
fn spread<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.is_empty() || n == 0 {
        return Vec::new();
    }
    let step = (items.len() as f64 / n as f64).max(1.0);
    (0..n.min(items.len())).map(|i| items[((i as f64 * step) as usize).min(items.len() - 1)].clone()).collect()
}

impl Network {
    /// Picks a few hundred sensors for `model` (fewer for small cities).
    pub fn for_city(model: &CityModel, seed: u64) -> Network {
        let frame = *model.frame();
        let table = model.features();
        let mut buildings = Vec::new();
        let mut roads = Vec::new();
        let mut water: Option<(f64, bevy_ecs::prelude::Entity)> = None;
        let mut address_count: HashMap<String, usize> = HashMap::new();
        for i in 1..table.index_capacity() {
            let Some(e) = table.entity(i) else { continue };
            let r = model.world.entity(e);
            let (Some(c), Some(b), Some(id)) = (r.get::<SemanticClass>(), r.get::<Bounds>(), r.get::<FeatureId>())
            else {
                continue;
            };
            match *c {
                SemanticClass::BUILDING => {
                    let attrs = r.get::<Attributes>();
                    if let Some(a) = attrs.and_then(|a| a.str("address")) {
                        *address_count.entry(a.to_string()).or_default() += 1;
                    }
                    let address = attrs.and_then(|a| a.str("address")).map(str::to_string);
                    let commercial = attrs.and_then(|a| a.str("use")).is_some_and(|u| u != "residential");
                    buildings.push((id.guid.clone(), *b, address, commercial));
                }
                SemanticClass::ROAD => roads.push((id.guid.clone(), *b)),
                SemanticClass::WATER_BODY => {
                    let area = b.size().x * b.size().y;
                    if water.is_none_or(|(a, _)| area > a) {
                        water = Some((area, e));
                    }
                }
                _ => {}
            }
        }
        let lonlat = |p: DVec3| {
            let g = frame.enu_to_geodetic(p);
            [g.lon_deg, g.lat_deg, g.height]
        };
        let mut sensors = Vec::new();
        // Gauges along the river: its mesh vertices, ordered along its longer axis.
        if let Some((_, e)) = water {
            let r = model.world.entity(e);
            let guid = r.get::<FeatureId>().map(|f| f.guid.clone()).unwrap_or_default();
            let place = r.get::<Placement>().map_or(DVec3::ZERO, |p| p.enu);
            let mut points: Vec<DVec3> = r
                .get::<GeometryHandle>()
                .and_then(|g| model.world.resource::<MeshStore>().get(g.mesh))
                .map(|m| m.vertices.iter().map(|v| place + v.position.as_dvec3()).collect())
                .unwrap_or_default();
            if let Some(b) = r.get::<Bounds>() {
                let along_x = b.size().x >= b.size().y;
                points.sort_by(|a, c| {
                    let (ka, kc) = if along_x { (a.x, c.x) } else { (a.y, c.y) };
                    ka.total_cmp(&kc).then(a.x.total_cmp(&c.x)).then(a.y.total_cmp(&c.y))
                });
            }
            let n = 12.min(points.len());
            for (k, p) in spread(&points, n).into_iter().enumerate() {
                sensors.push(SimSensor {
                    id: format!("gauge-{:02}", k + 1),
                    kind: Kind::WaterLevel,
                    position: lonlat(p),
                    fixed_height: true,
                    bind: Bind::Feature(guid.clone()),
                    order: k as f64 / n.max(2).saturating_sub(1) as f64,
                    scale: 1.0,
                });
            }
        }
        for (k, (_, b, _, _)) in spread(&buildings, 40).into_iter().enumerate() {
            sensors.push(SimSensor {
                id: format!("aq-{:02}", k + 1),
                kind: Kind::AirQuality,
                position: lonlat(b.center()),
                fixed_height: false,
                bind: Bind::NearestBuilding(60.0),
                order: hash01(seed, 1, k as u64),
                scale: 0.7 + 0.6 * hash01(seed, 2, k as u64),
            });
        }
        for (k, (guid, b)) in spread(&roads, 120).into_iter().enumerate() {
            sensors.push(SimSensor {
                id: format!("traffic-{:03}", k + 1),
                kind: Kind::Traffic,
                position: lonlat(b.center()),
                fixed_height: false,
                bind: Bind::Feature(guid),
                order: hash01(seed, 3, k as u64),
                scale: 0.5 + hash01(seed, 4, k as u64),
            });
        }
        let offset: Vec<_> = buildings.iter().skip(3).cloned().collect();
        for (k, (guid, b, address, _)) in spread(&offset, 150).into_iter().enumerate() {
            let unique_address = address.filter(|a| address_count.get(a) == Some(&1));
            sensors.push(SimSensor {
                id: format!("energy-{:03}", k + 1),
                kind: Kind::Energy,
                position: lonlat(b.center()),
                fixed_height: false,
                bind: match unique_address {
                    Some(a) if k % 5 == 0 => Bind::Address(a),
                    _ => Bind::Feature(guid),
                },
                order: hash01(seed, 5, k as u64),
                scale: 20.0 + 0.02 * b.size().x * b.size().y * (b.size().z / 3.0).max(1.0),
            });
        }
        let commercial: Vec<_> = buildings.iter().filter(|b| b.3).cloned().collect();
        for (k, (_, b, _, _)) in spread(&commercial, 20).into_iter().enumerate() {
            sensors.push(SimSensor {
                id: format!("parking-{:02}", k + 1),
                kind: Kind::Parking,
                position: lonlat(b.center()),
                fixed_height: false,
                bind: Bind::NearestBuilding(40.0),
                order: hash01(seed, 6, k as u64),
                scale: 1.0,
            });
        }
        let aq: Vec<&SimSensor> = sensors.iter().filter(|s| s.kind == Kind::AirQuality).collect();
        Network {
            spike_sensor: aq.get(6).map(|s| s.id.clone()),
            silent_sensor: aq.get(2).map(|s| s.id.clone()),
            sensors,
            seed,
            start_ms: SAMPLE_START_MS,
            flood_at_s: 1800.0,
        }
    }

    /// The value of sensor `i` at `t_ms`, or `None` while it is silent.
    pub fn value(&self, i: usize, t_ms: i64) -> Option<f64> {
        let s = &self.sensors[i];
        let since_s = (t_ms - self.start_ms) as f64 / 1000.0;
        // Local solar-ish hour in China (UTC+8).
        let hour = ((t_ms as f64 / 3_600_000.0) + 8.0).rem_euclid(24.0);
        let step = (t_ms.div_euclid(1000)) as u64;
        let noise = hash01(self.seed, i as u64 + 1000, step) - 0.5;
        let v = match s.kind {
            Kind::WaterLevel => {
                let base = 2.4 + 0.08 * (TAU * (hour / 12.4 + s.order)).sin();
                // The wave: 40 min rise, 30 min at the peak, 60 min recession; 3 min later per gauge step.
                let t = since_s - self.flood_at_s - s.order * 11.0 * 180.0;
                let wave = if t < 0.0 {
                    0.0
                } else if t < 2400.0 {
                    0.5 - 0.5 * (std::f64::consts::PI * t / 2400.0).cos()
                } else if t < 4200.0 {
                    1.0
                } else if t < 7800.0 {
                    0.5 + 0.5 * (std::f64::consts::PI * (t - 4200.0) / 3600.0).cos()
                } else {
                    0.0
                };
                base + 3.0 * wave + 0.01 * noise
            }
            Kind::AirQuality => {
                if self.silent_sensor.as_deref() == Some(s.id.as_str()) && (3600.0..5400.0).contains(&since_s) {
                    return None;
                }
                let spike = if self.spike_sensor.as_deref() == Some(s.id.as_str()) {
                    180.0 * bump(since_s, 3300.0, 900.0)
                } else {
                    0.0
                };
                (s.scale * (28.0 + 55.0 * bump(hour, 8.5, 2.0) + 25.0 * bump(hour, 19.0, 3.0)) + spike + 6.0 * noise)
                    .max(1.0)
            }
            Kind::Traffic => (s.scale * (150.0 + 1300.0 * bump(hour, 8.0, 1.4) + 1100.0 * bump(hour, 18.0, 1.8))
                + 60.0 * noise)
                .max(0.0),
            Kind::Energy => {
                s.scale * (0.45 + 0.35 * bump(hour, 10.0, 3.0) + 0.55 * bump(hour, 19.5, 2.5)) * (1.0 + 0.05 * noise)
            }
            Kind::Parking => (15.0 + 75.0 * bump(hour, 11.0 + 4.0 * s.order, 3.0) + 4.0 * noise).clamp(0.0, 100.0),
        };
        Some((v * 1000.0).round() / 1000.0)
    }

    /// All readings with time in `[from_ms, to_ms)`, in time order then sensor order:
    /// (sensor index, time, value).
    pub fn readings(&self, from_ms: i64, to_ms: i64) -> Vec<(usize, i64, f64)> {
        let mut out = Vec::new();
        for (i, s) in self.sensors.iter().enumerate() {
            let period = (s.kind.period_s() * 1000.0) as i64;
            // Each sensor reports on its own phase within its period.
            let phase = (s.order * period as f64) as i64 % period;
            let first = from_ms + (phase - (from_ms - self.start_ms)).rem_euclid(period);
            let mut t = first;
            while t < to_ms {
                if let Some(v) = self.value(i, t) {
                    out.push((i, t, v));
                }
                t += period;
            }
        }
        out.sort_by_key(|&(i, t, _)| (t, i));
        out
    }

    /// The MQTT topic of a sensor under `prefix`.
    pub fn topic(&self, prefix: &str, i: usize) -> String {
        let s = &self.sensors[i];
        format!("{}/{}/{}", prefix.trim_end_matches('/'), s.kind.topic(), s.id)
    }

    /// Writes `duration_s` of readings from the start as JSON lines.
    pub fn write_replay(&self, path: &Path, duration_s: f64) -> Result<usize, LiveError> {
        let io = |e| LiveError::Io { path: path.to_path_buf(), source: e };
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        let readings = self.readings(self.start_ms, self.start_ms + (duration_s * 1000.0) as i64);
        for &(i, t, v) in &readings {
            writeln!(w, "{{\"sensor\":\"{}\",\"time\":\"{}\",\"value\":{v}}}", self.sensors[i].id, crate::time_text(t))
                .map_err(io)?;
        }
        w.flush().map_err(io)?;
        Ok(readings.len())
    }

    /// The live configuration for this network: sensors, styles and alarms.
    pub fn config_toml(&self, alarm_log: Option<&str>) -> String {
        let mut s = String::from(
            "# Generated by urbis_live::simulate for this city (deterministic).\n\n[live]\ncapacity = 200000\nhistory = 720\nstale_factor = 3.0\n",
        );
        if let Some(log) = alarm_log {
            s.push_str(&format!("alarm_log = {log:?}\n"));
        }
        for x in &self.sensors {
            s.push_str(&format!(
                "\n[[sensor]]\nid = {:?}\nquantity = {:?}\nunit = {:?}\nperiod_s = {}\n",
                x.id,
                x.kind.quantity(),
                x.kind.unit(),
                x.kind.period_s()
            ));
            if x.fixed_height {
                s.push_str(&format!("position = [{:.7}, {:.7}, {:.2}]\n", x.position[0], x.position[1], x.position[2]));
            } else {
                s.push_str(&format!("position = [{:.7}, {:.7}]\n", x.position[0], x.position[1]));
            }
            match &x.bind {
                Bind::Feature(f) => s.push_str(&format!("feature = {f:?}\n")),
                Bind::Address(a) => {
                    s.push_str(&format!("attribute = {{ key = \"address\", value = {a:?}, class = \"Building\" }}\n"))
                }
                Bind::NearestBuilding(r) => {
                    s.push_str(&format!("nearest = {{ class = \"Building\", radius = {r} }}\n"))
                }
            }
        }
        s.push_str(SAMPLE_RULES);
        s
    }
}

/// Style and alarm rules of the simulated network.
pub const SAMPLE_RULES: &str = r##"
[[style]]
quantity = "water_level"
ramp = { min = 2.0, max = 5.5, colors = ["#9ecae1", "#2171b5", "#08306b"] }
label = "{value:.2} m"
[[style]]
quantity = "water_level"
target = "sensor"
thresholds = [{ above = 3.5, color = "#fdae6b" }, { above = 4.2, color = "#e31a1c" }]
hysteresis = 0.2

[[style]]
quantity = "pm25"
target = "sensor"
thresholds = [{ above = 35, color = "#ffff00" }, { above = 75, color = "#ff7e00" }, { above = 150, color = "#ff0000" }]
hysteresis = 5

[[style]]
quantity = "traffic_flow"
ramp = { min = 0, max = 1600, colors = ["#1a9850", "#fee08b", "#d73027"] }

[[style]]
quantity = "energy_kw"
ramp = { min = 0, max = 400, colors = ["#ffffcc", "#fd8d3c", "#bd0026"] }
extrude = { min = 0, max = 400, scale_min = 1.0, scale_max = 1.35 }

[[style]]
quantity = "parking_occupancy"
label = "P {value:.0}%"

[[alarm]]
name = "river flood"
quantity = "water_level"
above = 4.2
clear = 4.0
for_s = 60
severity = "critical"

[[alarm]]
name = "PM2.5 very unhealthy"
quantity = "pm25"
above = 150
clear = 120
severity = "warning"

[[alarm]]
name = "no data"
quantity = "pm25"
no_data_s = 300
severity = "info"
"##;

/// Bump when the generated network or rules change, so sample files are rewritten.
const SAMPLE_VERSION: u32 = 1;

/// The sample recording's length.
pub const SAMPLE_DURATION_S: f64 = 3.0 * 3600.0;

/// Makes sure `dir` holds `sensors.toml` and `sensors.jsonl` (3 h) for the
/// city in `model`, regenerating them when missing or out of date.
/// Returns (config, recording).
pub fn ensure_sample_files(
    dir: &Path,
    model: &CityModel,
) -> Result<(std::path::PathBuf, std::path::PathBuf), LiveError> {
    let net = Network::for_city(model, 7);
    let config = dir.join("sensors.toml");
    let recording = dir.join("sensors.jsonl");
    let stamp_path = dir.join(".sensors");
    let stamp = format!("urbis_live sensors v{SAMPLE_VERSION} {} sensors\n", net.sensors.len());
    let fresh =
        std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) && config.is_file() && recording.is_file();
    if !fresh {
        tracing::info!("writing the sample sensor network into {}", dir.display());
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| LiveError::Io { path: p, source: e }
        };
        std::fs::write(&config, net.config_toml(Some("alarms.jsonl"))).map_err(io(&config))?;
        net.write_replay(&recording, SAMPLE_DURATION_S)?;
        std::fs::write(&stamp_path, stamp).map_err(io(&stamp_path))?;
    }
    Ok((config, recording))
}

/// How the simulator publishes to MQTT.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Topic prefix; sensors publish under `prefix/<kind>/<id>`, batches under `prefix/batch`.
    pub prefix: String,
    /// Recorded seconds per real second; `None`: as fast as the broker takes them.
    pub speed: Option<f64>,
    /// Readings per message (1: one JSON object per sensor topic).
    pub batch: usize,
    /// Where in the simulation to begin, seconds after its start.
    pub from_s: f64,
    /// How much simulated time to publish.
    pub duration_s: f64,
    pub qos: u8,
    /// Stamp readings with the wall clock (live demos) instead of the simulated time.
    pub wall_clock: bool,
}

/// What a publishing run sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Published {
    pub messages: u64,
    pub readings: u64,
    pub seconds: f64,
}

impl Network {
    /// Publishes the network's readings to an MQTT broker; `progress` is
    /// called after each simulated minute with (readings so far, simulated ms).
    pub fn publish_mqtt(
        &self,
        source: &crate::sources::mqtt::MqttSource,
        opts: &PublishOptions,
        mut progress: impl FnMut(u64, i64),
    ) -> Result<Published, LiveError> {
        use rumqttc::{Client, Event, Packet, QoS};
        let mut mo = rumqttc::MqttOptions::new(
            format!("urbis-sim-{}-{}", std::process::id(), crate::sources::now_ms() % 1_000_000),
            source.host.clone(),
            source.port,
        );
        mo.set_keep_alive(std::time::Duration::from_secs(10));
        mo.set_max_packet_size(64 << 20, 64 << 20);
        if let Some(u) = &source.username {
            mo.set_credentials(u.clone(), source.password.clone().unwrap_or_default());
        }
        if let Some(ca) = &source.tls {
            mo.set_transport(rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Rustls(std::sync::Arc::new(
                crate::sources::mqtt::tls_config(ca.as_deref())?,
            ))));
        }
        let (client, mut connection) = Client::new(mo, 1024);
        let url = format!("mqtt://{}:{}", source.host, source.port);
        // The connection is driven on its own thread; the first event tells whether we got in.
        // It counts acknowledgements, and ends once asked to and the connection has gone quiet.
        let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (acked_d, done_d) = (acked.clone(), done.clone());
        let driver = std::thread::spawn(move || {
            use std::sync::atomic::Ordering::Relaxed;
            let mut told = false;
            loop {
                match connection.recv_timeout(std::time::Duration::from_millis(100)) {
                    Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) if !told => {
                        told = true;
                        let _ = tx.send(Ok(()));
                    }
                    Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => {
                        acked_d.fetch_add(1, Relaxed);
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        if !told {
                            let _ = tx.send(Err(e.to_string()));
                        }
                        break;
                    }
                    Err(rumqttc::RecvTimeoutError::Timeout) if done_d.load(Relaxed) => break,
                    Err(rumqttc::RecvTimeoutError::Timeout) => {}
                    Err(rumqttc::RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(LiveError::Url { url, why: e }),
            Err(_) => return Err(LiveError::Url { url, why: "no answer from the broker in 10 s".into() }),
        }
        let qos = if opts.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce };
        let prefix = opts.prefix.trim_end_matches('#').trim_end_matches('/').to_string();
        let started = std::time::Instant::now();
        let first = self.start_ms + (opts.from_s * 1000.0) as i64;
        let end = first + (opts.duration_s * 1000.0) as i64;
        let mut virtual_ms = first;
        let mut sent = Published::default();
        let mut batch = String::new();
        let mut in_batch = 0;
        let fail = |e: rumqttc::ClientError| LiveError::Url {
            url: format!("mqtt://{}:{}", source.host, source.port),
            why: e.to_string(),
        };
        while virtual_ms < end {
            let next = match opts.speed {
                Some(x) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    (first + (started.elapsed().as_secs_f64() * x * 1000.0) as i64).min(end)
                }
                None => (virtual_ms + 60_000).min(end),
            };
            for (i, t, v) in self.readings(virtual_ms, next) {
                let stamp = if opts.wall_clock { crate::sources::now_ms() } else { t };
                let one = format!("{{\"sensor\":\"{}\",\"time\":{stamp},\"value\":{v}}}", self.sensors[i].id);
                sent.readings += 1;
                if opts.batch <= 1 {
                    client.publish(self.topic(&prefix, i), qos, false, one.into_bytes()).map_err(fail)?;
                    sent.messages += 1;
                    continue;
                }
                batch.push(if in_batch == 0 { '[' } else { ',' });
                batch.push_str(&one);
                in_batch += 1;
                if in_batch == opts.batch {
                    batch.push(']');
                    client
                        .publish(format!("{prefix}/batch"), qos, false, std::mem::take(&mut batch).into_bytes())
                        .map_err(fail)?;
                    sent.messages += 1;
                    in_batch = 0;
                }
            }
            virtual_ms = next;
            progress(sent.readings, virtual_ms);
        }
        if in_batch > 0 {
            batch.push(']');
            client.publish(format!("{prefix}/batch"), qos, false, batch.into_bytes()).map_err(fail)?;
            sent.messages += 1;
        }
        // QoS 1: wait until the broker has every message (bounded), then leave.
        if opts.qos >= 1 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while acked.load(std::sync::atomic::Ordering::Relaxed) < sent.messages
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        let _ = client.disconnect();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = driver.join();
        sent.seconds = started.elapsed().as_secs_f64();
        Ok(sent)
    }
}
