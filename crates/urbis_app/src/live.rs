//! Live sources for the commands: `--live` specs, the session setup, the
//! viewer's per-frame hook, `urbis live simulate` and `urbis live stats`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use urbis_live::simulate::{Network, PublishOptions};
use urbis_live::sources::mqtt::{MqttSource, spawn_mqtt};
use urbis_live::sources::replay::{Replay, Speed, spawn_replay};
use urbis_live::sources::sensorthings::{SensorThingsSource, spawn_sensorthings};
use urbis_live::sources::store::{StoreSource, spawn_store};
use urbis_live::sources::{SourceHandle, now_ms};
use urbis_live::{LiveConfig, LiveSession};
use urbis_model::CityModel;

use crate::{Inputs, LiveArgs};

#[derive(Subcommand, Debug)]
pub enum LiveCommand {
    /// Simulate a sensor network for the city: write a recording (and its config) or publish to MQTT.
    Simulate {
        #[command(flatten)]
        inputs: Inputs,
        /// Publish to this broker, e.g. mqtt://127.0.0.1:1883/city.
        #[arg(long)]
        mqtt: Option<String>,
        /// Write a JSON-lines recording here (and its config as .toml beside it).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Simulated seconds per real second when publishing (default: as fast as possible).
        #[arg(long)]
        speed: Option<f64>,
        /// Simulated duration, seconds.
        #[arg(long, default_value_t = 3.0 * 3600.0)]
        duration: f64,
        /// Readings per MQTT message.
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// Ingest live sources without rendering and print readings/s, drops, unknown and stale sensors, alarms.
    Stats {
        #[command(flatten)]
        inputs: Inputs,
        #[command(flatten)]
        live: LiveArgs,
        /// Stop after this many seconds (a replay also stops at its end).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Print JSON at the end instead of a line per second.
        #[arg(long)]
        json: bool,
    },
    /// Ingest live sources into a history store (--store) without rendering, until Ctrl-C or
    /// SIGTERM (or --seconds). Several workers split one broker's traffic with a shared MQTT 5
    /// subscription: --live 'mqtt://host:1883/city/#?v=5&share=urbis&session=3600&client_id=w1'
    /// (each worker its own client_id); each acknowledges a message once the store committed it.
    Ingest {
        #[command(flatten)]
        inputs: Inputs,
        #[command(flatten)]
        live: LiveArgs,
        /// Stop after this many seconds (default: run until stopped; a replay also stops at its end).
        #[arg(long)]
        seconds: Option<f64>,
        /// Print JSON at the end instead of a line per second.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `urbis live …` command.
pub fn run(command: LiveCommand) -> Result<()> {
    match command {
        LiveCommand::Simulate { inputs, mqtt, out, speed, duration, batch } => {
            crate::commands::live_simulate(&inputs, mqtt.as_deref(), out.as_deref(), speed, duration, batch)
        }
        LiveCommand::Stats { inputs, live, seconds, json } => {
            crate::commands::live_stats(&inputs, &live, seconds, json)
        }
        LiveCommand::Ingest { inputs, live, seconds, json } => {
            if live.store.is_none() {
                bail!("urbis live ingest needs --store FILE.db or --store postgres://…");
            }
            if live.live.is_empty() {
                bail!("give at least one --live source");
            }
            let mut model = crate::commands::load(&inputs, urbis_model::TileDetail::Overview)?;
            let mut l = crate::commands::start_live(&inputs, &mut model, &live)?.context("no live sources")?;
            ingest(&mut model, &mut l, seconds, json)
        }
    }
}

/// A session and its running sources.
pub struct Live {
    pub session: LiveSession,
    pub sources: Vec<SourceHandle>,
    /// Index of the replay whose virtual clock is the session's `now`.
    clock_from: Option<usize>,
}

impl Live {
    /// The session's clock: the replay's virtual time, or the wall clock.
    pub fn now_ms(&self) -> i64 {
        match self.clock_from {
            Some(i) => self.sources[i].clock_ms(),
            None => now_ms(),
        }
    }

    /// Every source has finished (a replay's end, or a stop) and nothing waits to be applied.
    pub fn drained(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().all(|s| s.finished()) && self.session.pipeline().is_empty()
    }

    /// Applies what arrived and refreshes alarm highlights; returns overlay lines.
    pub fn step(&mut self, model: &mut CityModel) -> Vec<String> {
        let now = self.now_ms();
        let report = self.session.tick(model, now);
        if !report.events.is_empty() {
            self.session.highlight_alarms(model);
        }
        self.session.overlay_lines(now)
    }
}

/// How far one `[` or `]` moves the scrubbed time.
const SCRUB_STEP_MS: i64 = 10 * 60_000;

impl urbis_engine::FrameHook for Live {
    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        self.step(model)
    }

    /// `[` and `]` scrub back and forward through the history; Backslash returns to live.
    fn key(&mut self, key: &str, model: &mut CityModel) {
        let now = self.now_ms();
        let at = match (key, self.session.scrub_time()) {
            ("BracketLeft", t) => Some(t.unwrap_or(now) - SCRUB_STEP_MS),
            ("BracketRight", Some(t)) if t + SCRUB_STEP_MS < now => Some(t + SCRUB_STEP_MS),
            ("BracketRight", _) | ("Backslash", _) => None,
            _ => return,
        };
        self.session.show_at(model, at);
    }

    fn timeline(&self) -> Option<urbis_ui::Timeline> {
        let alarms = self
            .session
            .recent_events()
            .map(|e| {
                let value = e.value.map_or(String::new(), |v| format!(" {v:.2}"));
                format!("{} {:?} {:?} {} {}{value}", e.time, e.state, e.severity, e.alarm, e.feature)
            })
            .collect();
        Some(urbis_ui::Timeline { now_ms: self.now_ms(), at_ms: self.session.scrub_time(), alarms, start_ms: None })
    }

    fn scrub(&mut self, at: Option<i64>, model: &mut CityModel) {
        self.session.show_at(model, at);
    }
}

/// `replay:PATH[?speed=N|max]`: the path and speed.
fn replay_spec(spec: &str) -> Option<(PathBuf, Speed)> {
    let rest = spec.strip_prefix("replay:")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut speed = Speed::Times(1.0);
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        if let Some(v) = kv.strip_prefix("speed=") {
            speed = if v == "max" { Speed::Max } else { Speed::Times(v.parse().unwrap_or(1.0)) };
        }
    }
    Some((PathBuf::from(path), speed))
}

/// The configuration for `specs`: the one given, else `X.toml` beside a
/// replay `X.jsonl`, else the sample city's.
fn config_path(specs: &[String], given: Option<&Path>, sample: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    for s in specs {
        if let Some((path, _)) = replay_spec(s) {
            let beside = path.with_extension("toml");
            if beside.is_file() {
                return Ok(beside);
            }
        }
    }
    match sample {
        Some(p) => Ok(p.to_path_buf()),
        None => bail!("no live configuration: give --live-config FILE (sensors, bindings, rules)"),
    }
}

/// Where a live session keeps what it applies: a JSON-lines recording, a
/// history store, and how often the store commits.
#[derive(Debug, Clone, Copy)]
pub struct Keep<'a> {
    pub record: Option<&'a Path>,
    pub store: Option<&'a Path>,
    pub store_flush: Duration,
}

impl Keep<'_> {
    /// Nothing kept.
    pub const NOTHING: Keep<'static> = Keep { record: None, store: None, store_flush: Duration::from_secs(1) };
}

/// Binds the sensors into `model` and starts the sources named by `specs`
/// (`replay:…`, `mqtt://…`, `mqtts://…`, `sta:http://…/v1.1`).
pub fn start(
    model: &mut CityModel,
    specs: &[String],
    config: Option<&Path>,
    sample_city: bool,
    keep: Keep<'_>,
    spawn_sources: bool,
) -> Result<Live> {
    let Keep { record, store, store_flush } = keep;
    let sample = if sample_city {
        let (cfg, _) = urbis_live::simulate::ensure_sample_files(&urbis_sample_city::default_dir(), model)
            .context("writing the sample sensor network")?;
        Some(cfg)
    } else {
        None
    };
    let path = config_path(specs, config, sample.as_deref())?;
    let config = LiveConfig::read(&path)?;
    let mut session = LiveSession::new(config, model)?;
    for e in session.bind_errors() {
        eprintln!("warning: {e}");
    }
    if let Some(path) = record {
        session.record_to(path)?;
        eprintln!("recording applied readings to {}", path.display());
    }
    if let Some(path) = store {
        let mut db = urbis_store::open(&path.to_string_lossy())?;
        // Where the history stops: a restart's gap runs from here to the first new reading.
        let newest = db.latest_at(i64::MAX, None)?.iter().map(|r| r.time_ms).max();
        // A shared subscription's other workers go on while this one is down, and a persistent
        // session keeps its messages at the broker: neither restart is a gap in the data.
        let kept_elsewhere =
            specs.iter().filter_map(|s| MqttSource::parse(s).ok()).any(|m| m.share.is_some() || m.session_s.is_some());
        eprintln!("keeping the history in {}", db.name());
        let options = urbis_store::WriterOptions { flush_every: store_flush, ..Default::default() };
        session.store_to(urbis_store::Writer::start(db, options)?, newest.filter(|_| !kept_elsewhere));
    }
    let mut live = Live { session, sources: Vec::new(), clock_from: None };
    // A still image at a past time replays synchronously (`replay_until`) instead.
    for spec in specs.iter().filter(|_| spawn_sources) {
        let handle = if let Some((path, speed)) = replay_spec(spec) {
            let replay = Replay::open(&path)?;
            if live.clock_from.is_none() {
                live.clock_from = Some(live.sources.len());
            }
            spawn_replay(replay, speed, live.session.ingest(false))?
        } else if spec.starts_with("mqtt://") || spec.starts_with("mqtts://") {
            spawn_mqtt(MqttSource::parse(spec)?, live.session.ingest(true))?
        } else if let Some(base) = spec.strip_prefix("sta:") {
            let ds: Vec<String> = live.session.config.sensors.iter().filter_map(|s| s.datastream.clone()).collect();
            if ds.is_empty() {
                bail!("{spec}: no sensor in the configuration names a SensorThings `datastream`");
            }
            spawn_sensorthings(SensorThingsSource::new(base, ds), live.session.ingest(true))?
        } else if spec.starts_with("store:") {
            spawn_store(StoreSource::parse(spec)?, live.session.ingest(true))?
        } else {
            bail!(
                "unknown live source {spec:?}: use replay:FILE.jsonl, mqtt://host:port/topic/#, mqtts://… or sta:http://host/v1.1"
            );
        };
        eprintln!("live: {}", handle.name);
        live.sources.push(handle);
    }
    Ok(live)
}

/// Replays a recording, or a history store's readings over its `history`
/// window (default 1 h), synchronously up to `at_ms`, for a still image.
pub fn replay_until(model: &mut CityModel, live: &mut Live, specs: &[String], at_ms: i64) -> Result<()> {
    for spec in specs {
        let ingest = live.session.ingest(false);
        if spec.starts_with("store:") {
            let source = StoreSource::parse(spec)?;
            let mut db = urbis_store::open(&source.store)?;
            let from = at_ms.saturating_sub(source.history.as_millis() as i64);
            let readings = urbis_live::sources::store::readings_between(
                db.as_mut(),
                &ingest.registry,
                from,
                at_ms.saturating_add(1),
            )?;
            eprintln!("{} readings from {} up to {at_ms}", readings.len(), db.name());
            ingest.stats.count_readings(readings.len() as u64);
            let mut rest = readings.as_slice();
            let Some(first) = rest.first().map(|r| r.time_ms) else { continue };
            tick_minutes(model, live, first, at_ms, |t| {
                let n = rest.iter().take_while(|r| r.time_ms <= t).count();
                ingest.push(&mut rest[..n].to_vec());
                rest = &rest[n..];
                Ok(())
            })?;
            continue;
        }
        let Some((path, _)) = replay_spec(spec) else { bail!("--live-at needs replay: or store: sources, not {spec}") };
        let mut replay = Replay::open(&path)?;
        let Some(first) = replay.peek_time(&ingest)? else { continue };
        tick_minutes(model, live, first, at_ms, |t| Ok(replay.advance(t, &ingest).map(|_| ())?))?;
    }
    live.session.tick(model, at_ms);
    live.session.highlight_alarms(model);
    Ok(())
}

/// Ticks the session a minute at a time from `first` up to `at_ms`, first
/// queueing what `advance(t)` has up to each step's time `t`, so alarms see
/// time pass as they would live.
fn tick_minutes(
    model: &mut CityModel,
    live: &mut Live,
    first: i64,
    at_ms: i64,
    mut advance: impl FnMut(i64) -> Result<()>,
) -> Result<()> {
    let mut t = first;
    while t < at_ms {
        t = (t + 60_000).min(at_ms);
        advance(t)?;
        live.session.tick(model, t);
    }
    Ok(())
}

/// Parses an RFC 3339 time or Unix milliseconds.
pub fn parse_at(s: &str) -> Result<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    urbis_live::payload::parse_time(s)
        .with_context(|| format!("bad time {s:?} (want RFC 3339, e.g. 2026-07-15T01:10:00Z)"))
}

/// `urbis live simulate`: write a recording and config, or publish to MQTT.
pub fn simulate(
    model: &CityModel,
    mqtt: Option<&str>,
    out: Option<&Path>,
    speed: Option<f64>,
    duration_s: f64,
    batch: usize,
) -> Result<()> {
    let net = Network::for_city(model, 7);
    eprintln!("{} simulated sensors", net.sensors.len());
    if let Some(path) = out {
        let n = net.write_replay(path, duration_s)?;
        let cfg = path.with_extension("toml");
        std::fs::write(&cfg, net.config_toml(Some("alarms.jsonl"))).with_context(|| cfg.display().to_string())?;
        eprintln!("wrote {n} readings to {} and the config to {}", path.display(), cfg.display());
    }
    if let Some(url) = mqtt {
        let source = MqttSource::parse(url)?;
        let opts = PublishOptions {
            prefix: source.topic.clone(),
            speed,
            batch,
            from_s: 0.0,
            duration_s,
            qos: source.qos,
            wall_clock: speed.is_some(),
        };
        let pb = indicatif::ProgressBar::new((duration_s / 60.0).ceil() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} simulated min  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let start = net.start_ms;
        let sent = net.publish_mqtt(&source, &opts, |readings, t| {
            pb.set_position(((t - start) / 60_000) as u64);
            pb.set_message(format!("{readings} readings"));
        })?;
        pb.finish_and_clear();
        eprintln!(
            "published {} readings in {} messages in {:.1} s ({:.0} msg/s, {:.0} readings/s)",
            sent.readings,
            sent.messages,
            sent.seconds,
            sent.messages as f64 / sent.seconds.max(1e-9),
            sent.readings as f64 / sent.seconds.max(1e-9)
        );
    }
    if mqtt.is_none() && out.is_none() {
        bail!("give --out FILE.jsonl and/or --mqtt mqtt://host:port/prefix");
    }
    Ok(())
}

/// `urbis live stats`: runs the sources without rendering for `seconds` and
/// prints the counters every second, then as JSON.
pub fn stats(model: &mut CityModel, live: &mut Live, seconds: f64, json: bool) -> Result<()> {
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut last = live.session.stats().snapshot();
    loop {
        live.step(model);
        let done = started.elapsed().as_secs_f64() >= seconds || live.drained();
        if last_print.elapsed() >= Duration::from_secs(1) || done {
            let s = live.session.stats().snapshot();
            let dt = last_print.elapsed().as_secs_f64().max(1e-9);
            if !json {
                println!(
                    "{:>6.1} s  received {:>9.0}/s  applied {:>9.0}/s  dropped {}  unknown {}  rejected {}  stale {}  alarms {}  reconnects {}",
                    started.elapsed().as_secs_f64(),
                    (s.readings - last.readings) as f64 / dt,
                    (s.applied - last.applied) as f64 / dt,
                    s.dropped,
                    s.unknown,
                    s.rejected_total(),
                    s.stale,
                    s.alarms_active,
                    s.reconnects
                );
            }
            last = s;
            last_print = Instant::now();
        }
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    let s = live.session.stats().snapshot();
    live.session.flush_store()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "stats": s,
                "active_alarms": live.session.active_alarms().collect::<Vec<_>>(),
                "store": live.session.store_stats(),
            }))?
        );
    } else {
        for a in live.session.active_alarms() {
            println!("alarm: {} {} ({}) since {}", a.alarm, a.feature, a.sensor, a.time);
        }
    }
    Ok(())
}

/// `urbis live ingest`: runs the sources into the session's history store
/// until Ctrl-C or SIGTERM (or `seconds`, or a replay's end), printing the
/// counters and the store's lag every second. On a stop the sources are
/// asked to finish (an MQTT subscription acknowledges what the store has
/// committed) while the session keeps ticking, then the store is flushed.
pub fn ingest(model: &mut CityModel, live: &mut Live, seconds: Option<f64>, json: bool) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed)) {
        tracing::warn!("no Ctrl-C handler: {e}");
    }
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut last = live.session.stats().snapshot();
    let mut stopping: Option<Instant> = None;
    loop {
        live.step(model);
        let asked = stop.load(std::sync::atomic::Ordering::Relaxed)
            || seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s)
            || live.drained();
        if asked && stopping.is_none() {
            stopping = Some(Instant::now());
            live.sources.iter().for_each(SourceHandle::request_stop);
        }
        let done = stopping.is_some_and(|t| live.drained() || t.elapsed() > Duration::from_secs(5));
        if (last_print.elapsed() >= Duration::from_secs(1) || done) && !json {
            let s = live.session.stats().snapshot();
            let dt = last_print.elapsed().as_secs_f64().max(1e-9);
            let w = live.session.store_stats().unwrap_or_default();
            println!(
                "{:>6.1} s  subscribed {}  received {:>9.0}/s  stored {}  queued {}  lag {} ms  dropped {}  unknown {}  rejected {}  reconnects {}",
                started.elapsed().as_secs_f64(),
                s.subscribed,
                (s.readings - last.readings) as f64 / dt,
                w.written_rows,
                w.queued_rows,
                w.lag_ms,
                s.dropped + w.dropped_readings,
                s.unknown,
                s.rejected_total(),
                s.reconnects
            );
            last = s;
            last_print = Instant::now();
        }
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    live.session.flush_store()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "stats": live.session.stats().snapshot(),
                "store": live.session.store_stats(),
            }))?
        );
    }
    Ok(())
}
