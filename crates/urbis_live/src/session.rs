//! A live session: the configured sensors bound into a city model, and the
//! per-frame step that moves readings from the pipeline onto entities.
//!
//! ```text
//! sources ─► Pipeline ─► tick(now): drain ─► LatestReading + History (per stream, grouped)
//!                                        ─► style rules ─► FeatureStyle / LiveLabel of the observed feature
//!                                        ─► alarm rules ─► AlarmEvent (log, JSONL, highlight)
//!                                   stale check (once per second of `now`)
//! ```
//!
//! `now` is the caller's clock: the wall clock for live sources, the replay's
//! virtual clock for recordings, so tests run deterministically and fast.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use bevy_ecs::prelude::*;
use glam::{DMat3, DVec3, Vec2, Vec3};
use urbis_geo::Geodetic;
use urbis_model::{
    BindError, Binder, BindingTarget, Bounds, CityModel, CpuMesh, FeatureId, FeatureStyle, History, InstanceTransform,
    LatestReading, LiveLabel, Lod, Material, MeshId, NewSensor, Sensor,
};

use crate::config::{LiveConfig, Severity, StyleTarget};
use crate::payload::{FieldMap, Limits, Parser, Reading, Registry};
use crate::pipeline::{Pipeline, Stats};
use crate::rules::{AlarmRule, AlarmState, StyleRule, Transition};

mod history;

/// An alarm raised or cleared.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AlarmEvent {
    pub time_ms: i64,
    pub time: String,
    pub alarm: String,
    pub severity: Severity,
    pub state: Transition,
    pub sensor: String,
    /// The observed feature's id (the sensor's own when it observes none).
    pub feature: String,
    pub value: Option<f64>,
}

/// The shared parts a source thread parses and queues with.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub fields: FieldMap,
    pub registry: Arc<Registry>,
    pub stats: Arc<Stats>,
    pub pipeline: Arc<Pipeline>,
    pub limits: Limits,
    /// When the session keeps a history store: the highest pipeline mark
    /// whose readings are committed there. A source that acknowledges only
    /// durable data (MQTT with `ack=commit`) waits for its marks to reach it.
    pub committed: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl Ingest {
    pub fn parser(&self) -> Parser<'_> {
        Parser { fields: &self.fields, registry: &self.registry, stats: &self.stats, limits: self.limits }
    }

    /// Queues readings (emptying `batch`); returns the push's mark (see [`Ingest::committed`]).
    pub fn push(&self, batch: &mut Vec<Reading>) -> u64 {
        self.pipeline.push(batch, &self.stats)
    }
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    pub applied: usize,
    pub events: Vec<AlarmEvent>,
}

struct Stream {
    entity: Entity,
    /// Where style rules paint.
    target: Entity,
    id: String,
    unit: String,
    guid: String,
    period_ms: i64,
    last_ms: Option<i64>,
    stale: bool,
    styles: Vec<(usize, usize)>,
    alarms: Vec<(usize, AlarmState)>,
    /// The newest value (NaN before the first reading).
    value: f64,
    /// Streams of the same quantity painting the same target (this one included):
    /// the target shows the highest of their values.
    peers: Vec<u32>,
    /// How the observed feature is found again after its tile streamed out and back in.
    binding: BindingTarget,
    /// The configured position (city ENU), for nearest bindings.
    near: DVec3,
}

/// The live state of a city: sensors, rules and counters.
pub struct LiveSession {
    pub config: LiveConfig,
    registry: Arc<Registry>,
    pipeline: Arc<Pipeline>,
    stats: Arc<Stats>,
    streams: Vec<Stream>,
    styles: Vec<StyleRule>,
    alarms: Vec<AlarmRule>,
    active: BTreeMap<(usize, u32), AlarmEvent>,
    recent: VecDeque<AlarmEvent>,
    alarm_log: Option<BufWriter<File>>,
    bind_errors: Vec<BindError>,
    start_ms: Option<i64>,
    last_clock_check: i64,
    batch: Vec<Reading>,
    /// Every applied reading is appended here as a JSON line (a replayable recording).
    recording: Option<(std::path::PathBuf, BufWriter<File>)>,
    /// While scrubbing, styles show the history at this time instead of the latest values.
    scrub: Option<i64>,
    /// Features spawned at the last rebinding attempt.
    rebind_seen: u64,
    /// Every applied reading and alarm event also goes here (never waits on the database).
    store: Option<urbis_store::Writer>,
    /// Source gaps already sent to the store, and the newest reading the
    /// store held when this session began (the restart gap ends at the first new one).
    gaps_stored: u64,
    resumed_after: Option<i64>,
}

impl std::fmt::Debug for LiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSession").field("streams", &self.streams.len()).finish()
    }
}

/// Errors setting up a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("alarm log {path}: {source}")]
    AlarmLog { path: std::path::PathBuf, source: std::io::Error },
    #[error("recording {path}: {source}")]
    Recording { path: std::path::PathBuf, source: std::io::Error },
}

const RECENT_EVENTS: usize = 200;

/// The marker mesh of a sensor: a 1.2 m × 1.2 m post, 5 m tall, standing on its origin.
fn marker_mesh() -> CpuMesh {
    let (h, r) = (5.0f32, 0.6f32);
    let c = [Vec3::new(-r, -r, 0.0), Vec3::new(r, -r, 0.0), Vec3::new(r, r, 0.0), Vec3::new(-r, r, 0.0)];
    let mut m = CpuMesh::default();
    let color = [235, 235, 225, 255];
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        let quad = [a, b, b + Vec3::Z * h, a + Vec3::Z * h];
        m.push_flat(&quad, &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, color, Material::Plain);
    }
    let top = c.map(|p| p + Vec3::Z * h);
    m.push_flat(&top, &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, color, Material::Plain);
    m
}

/// The binding a (validated) sensor configuration names.
fn binding_of(s: &crate::config::SensorConfig) -> BindingTarget {
    if let Some(f) = &s.feature {
        BindingTarget::Feature(f.clone())
    } else if let Some(a) = &s.attribute {
        BindingTarget::Attribute { key: a.key.clone(), value: a.value.clone(), class: a.filter().ok().flatten() }
    } else if let Some(n) = &s.nearest {
        BindingTarget::Nearest { class: n.filter().ok().flatten(), radius: n.radius }
    } else {
        BindingTarget::None
    }
}

/// The height of the first surface under (x, y) (a roof, the terrain), the
/// streamed terrain's where no loaded surface is there, or `None` over nothing.
fn surface_height(model: &CityModel, x: f64, y: f64) -> Option<f64> {
    let top = model.bounds().max.z + 100.0;
    model
        .spatial()
        .ray_cast(&model.world, DVec3::new(x, y, top), DVec3::NEG_Z, 20_000.0)
        .map(|h| h.point.z)
        .or_else(|| urbis_model::ground::ground_height(model, x, y))
}

impl LiveSession {
    /// Binds the configured sensors into `model`: each becomes a Sensor
    /// entity with a marker, linked to the feature it observes. Bindings that
    /// fail are reported by [`LiveSession::bind_errors`]; the sensor still
    /// exists, standing alone.
    pub fn new(config: LiveConfig, model: &mut CityModel) -> Result<LiveSession, SessionError> {
        let mut registry = Registry::default();
        let mut binder = Binder::new();
        let mut bind_errors = Vec::new();
        let styles: Vec<StyleRule> = config.styles.iter().map(StyleRule::compile).collect();
        let alarms: Vec<AlarmRule> = config.alarms.iter().map(AlarmRule::compile).collect();
        let marker = model.world.resource_mut::<urbis_model::MeshStore>().add(marker_mesh());
        let frame = *model.frame();
        let mut resolved = Vec::with_capacity(config.sensors.len());
        for s in &config.sensors {
            let geo = s
                .position
                .as_ref()
                .map(|p| frame.geodetic_to_enu(Geodetic::new(p[0], p[1], p.get(2).copied().unwrap_or(0.0))));
            let target = match binder.resolve(model, &s.id, geo.unwrap_or(DVec3::ZERO), &binding_of(s)) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("{e}");
                    bind_errors.push(e);
                    None
                }
            };
            let target_bounds = target.and_then(|t| model.world.get::<Bounds>(t).copied());
            let position = match (s.position.as_ref(), geo, target_bounds) {
                (Some(p), Some(g), _) if p.len() == 3 => g,
                (Some(_), Some(g), _) => DVec3::new(g.x, g.y, surface_height(model, g.x, g.y).unwrap_or(g.z)),
                (_, _, Some(b)) => DVec3::new(b.center().x, b.center().y, b.max.z),
                _ => DVec3::ZERO,
            };
            resolved.push((position, target, geo.unwrap_or(DVec3::ZERO)));
        }
        let spacing = (config.live.history_spacing_s * 1000.0) as i64;
        let mut streams = Vec::with_capacity(config.sensors.len());
        for (s, (position, target, near)) in config.sensors.iter().zip(resolved) {
            let entity = spawn_marked_sensor(model, marker, s, position, target, config.live.history, spacing);
            let stream = registry.add(&s.id, s.datastream.as_deref());
            debug_assert_eq!(stream as usize, streams.len());
            let paint = target.unwrap_or(entity);
            let guid = model.world.get::<FeatureId>(paint).map(|f| f.guid.clone()).unwrap_or_default();
            streams.push(Stream {
                entity,
                target: paint,
                id: s.id.clone(),
                unit: s.unit.clone(),
                guid,
                period_ms: (s.period_s * 1000.0) as i64,
                last_ms: None,
                stale: false,
                styles: styles
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.quantity == s.quantity)
                    .map(|(i, _)| (i, 0))
                    .collect(),
                alarms: alarms
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.applies_to(&s.quantity))
                    .map(|(i, _)| (i, AlarmState::default()))
                    .collect(),
                value: f64::NAN,
                peers: Vec::new(),
                binding: binding_of(s),
                near,
            });
        }
        let mut groups: std::collections::HashMap<(Entity, &str), Vec<u32>> = std::collections::HashMap::new();
        for (i, (st, cfg)) in streams.iter().zip(&config.sensors).enumerate() {
            groups.entry((st.target, cfg.quantity.as_str())).or_default().push(i as u32);
        }
        for list in groups.values() {
            for &i in list {
                streams[i as usize].peers = list.clone();
            }
        }
        model.rebuild_spatial_index();
        let alarm_log = match config.alarm_log() {
            Some(path) => {
                let f = File::options()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|source| SessionError::AlarmLog { path: path.clone(), source })?;
                Some(BufWriter::new(f))
            }
            None => None,
        };
        let pipeline = Arc::new(Pipeline::new(streams.len(), config.live.capacity));
        Ok(LiveSession {
            config,
            registry: Arc::new(registry),
            pipeline,
            stats: Arc::new(Stats::default()),
            streams,
            styles,
            alarms,
            active: BTreeMap::new(),
            recent: VecDeque::new(),
            alarm_log,
            bind_errors,
            start_ms: None,
            last_clock_check: i64::MIN,
            batch: Vec::new(),
            recording: None,
            store: None,
            gaps_stored: 0,
            resumed_after: None,
            scrub: None,
            rebind_seen: u64::MAX,
        })
    }

    /// Binds again the sensors whose observed feature is not in the model:
    /// its streamed tile was evicted, or it had not arrived when the session
    /// started. Tried when features were spawned since the last try, with a
    /// fresh [`Binder`], so a feature that streams back in is
    /// observed, and painted with the newest value, again. Returns how many
    /// sensors were bound.
    pub fn rebind(&mut self, model: &mut CityModel) -> usize {
        let lost = |s: &Stream, model: &CityModel| {
            !matches!(s.binding, BindingTarget::None)
                && (s.target == s.entity || model.world.get_entity(s.target).is_err())
        };
        if !self.streams.iter().any(|s| lost(s, model)) {
            return 0;
        }
        let spawned = model.features().spawned();
        if spawned == self.rebind_seen {
            return 0;
        }
        self.rebind_seen = spawned;
        let mut binder = Binder::new();
        let mut bound = Vec::new();
        for (i, s) in self.streams.iter_mut().enumerate() {
            if !lost(s, model) {
                continue;
            }
            if let Ok(Some(t)) = binder.resolve(model, &s.id, s.near, &s.binding) {
                s.target = t;
                s.guid = model.world.get::<FeatureId>(t).map(|f| f.guid.clone()).unwrap_or_default();
                bound.push(i);
            }
        }
        for &i in &bound {
            let (entity, target, value) = (self.streams[i].entity, self.streams[i].target, self.streams[i].value);
            if let Ok(mut e) = model.world.get_entity_mut(entity) {
                e.insert(urbis_model::Observes(target));
            }
            if value.is_finite() {
                self.paint(model, i, value, value);
            }
        }
        bound.len()
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    pub fn fields(&self) -> &FieldMap {
        &self.config.payload
    }

    /// Parsing limits for live sources (future-time check on) or recordings (off).
    pub fn limits(&self, live: bool) -> Limits {
        Limits {
            max_payload_bytes: self.config.live.max_payload_bytes,
            max_future_ms: live.then_some((self.config.live.max_future_s * 1000.0) as i64),
        }
    }

    /// What a source thread needs to parse and queue readings.
    pub fn ingest(&self, live: bool) -> Ingest {
        Ingest {
            fields: self.config.payload.clone(),
            registry: self.registry.clone(),
            stats: self.stats.clone(),
            pipeline: self.pipeline.clone(),
            limits: self.limits(live),
            committed: self.store.as_ref().map(urbis_store::Writer::committed_mark),
        }
    }

    /// A parser over this session's registry and counters.
    pub fn parser(&self, live: bool) -> Parser<'_> {
        Parser { fields: &self.config.payload, registry: &self.registry, stats: &self.stats, limits: self.limits(live) }
    }

    /// Sensors whose binding failed (they stand alone).
    pub fn bind_errors(&self) -> &[BindError] {
        &self.bind_errors
    }

    /// The sensor entity of a stream id.
    pub fn sensor_entity(&self, id: &str) -> Option<Entity> {
        self.registry.stream(id).map(|s| self.streams[s as usize].entity)
    }

    /// Currently raised alarms.
    pub fn active_alarms(&self) -> impl Iterator<Item = &AlarmEvent> {
        self.active.values()
    }

    /// The latest alarm events, oldest first.
    pub fn recent_events(&self) -> impl Iterator<Item = &AlarmEvent> {
        self.recent.iter()
    }

    /// Applies every waiting reading to the model and advances the rules to `now_ms`.
    pub fn tick(&mut self, model: &mut CityModel, now_ms: i64) -> TickReport {
        self.rebind(model);
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let mark = self.pipeline.drain(&mut batch);
        self.record_readings(&batch);
        let report = self.apply(model, &batch, now_ms);
        self.store_tick(&batch, &report.events, mark);
        self.batch = batch;
        report
    }

    /// Appends every reading applied from now on to `path` as JSON lines, the
    /// form [`Replay`](crate::sources::replay::Replay) reads back.
    pub fn record_to(&mut self, path: &std::path::Path) -> Result<(), SessionError> {
        let f = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SessionError::Recording { path: path.to_path_buf(), source })?;
        self.recording = Some((path.to_path_buf(), BufWriter::new(f)));
        Ok(())
    }

    fn record_readings(&mut self, readings: &[Reading]) {
        let Some((path, w)) = &mut self.recording else { return };
        let mut result = Ok(());
        for r in readings {
            let quality = match r.quality {
                urbis_model::Quality::Good => "",
                urbis_model::Quality::Uncertain => ",\"quality\":\"uncertain\"",
                urbis_model::Quality::Bad => ",\"quality\":\"bad\"",
            };
            let id = serde_json::to_string(self.registry.sensor_id(r.stream)).unwrap_or_default();
            result =
                writeln!(w, "{{\"sensor\":{id},\"time\":\"{}\",\"value\":{}{quality}}}", time_text(r.time_ms), r.value);
            if result.is_err() {
                break;
            }
        }
        if let Err(e) = result.and_then(|_| w.flush()) {
            tracing::error!("recording {}: {e}; recording stopped", path.display());
            self.recording = None;
        }
    }

    /// The time styles show while scrubbing, or `None` when they follow the latest values.
    pub fn scrub_time(&self) -> Option<i64> {
        self.scrub
    }

    /// Shows the city as it was at `at` (from each stream's history), or live
    /// again with `None`. Readings keep arriving and alarms keep running meanwhile.
    pub fn show_at(&mut self, model: &mut CityModel, at: Option<i64>) {
        self.scrub = at;
        let values: Vec<f64> = self
            .streams
            .iter()
            .map(|s| match at {
                Some(t) => model.world.get::<History>(s.entity).and_then(|h| h.at(t)).map_or(f64::NAN, |x| x.1),
                None => s.value,
            })
            .collect();
        for i in 0..self.streams.len() {
            let own = values[i];
            if !own.is_finite() {
                continue;
            }
            let shown = self.streams[i]
                .peers
                .iter()
                .map(|&p| values[p as usize])
                .filter(|v| v.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            self.paint(model, i, own, shown);
        }
    }

    /// Applies readings (grouped by stream, as the pipeline hands them out).
    pub fn apply(&mut self, model: &mut CityModel, readings: &[Reading], now_ms: i64) -> TickReport {
        let start = *self.start_ms.get_or_insert(now_ms);
        let mut report = TickReport { applied: readings.len(), events: Vec::new() };
        let mut i = 0;
        while i < readings.len() {
            let stream = readings[i].stream;
            let mut j = i + 1;
            while j < readings.len() && readings[j].stream == stream {
                j += 1;
            }
            self.apply_stream(model, stream, &readings[i..j], &mut report.events);
            i = j;
        }
        self.stats.applied.fetch_add(readings.len() as u64, Relaxed);
        if now_ms.saturating_sub(self.last_clock_check) >= 1000 || now_ms < self.last_clock_check {
            self.last_clock_check = now_ms;
            self.check_clock(model, now_ms, start, &mut report.events);
        }
        for e in &report.events {
            self.record(e.clone());
        }
        if !report.events.is_empty()
            && let Some(log) = &mut self.alarm_log
        {
            let _ = log.flush();
        }
        self.stats.alarms_active.store(self.active.len() as u64, Relaxed);
        report
    }

    fn apply_stream(&mut self, model: &mut CityModel, stream: u32, group: &[Reading], events: &mut Vec<AlarmEvent>) {
        let Some(s) = self.streams.get_mut(stream as usize) else { return };
        let Some(newest) = group.iter().copied().max_by_key(|r| r.time_ms) else { return };
        {
            let mut e = model.world.entity_mut(s.entity);
            if let Some(mut h) = e.get_mut::<History>() {
                for r in group {
                    h.push(r.time_ms, r.value);
                }
            }
            if let Some(mut latest) = e.get_mut::<LatestReading>() {
                let count = latest.count + group.len() as u64;
                if latest.is_empty() || newest.time_ms >= latest.time_ms {
                    *latest = LatestReading {
                        value: newest.value,
                        time_ms: newest.time_ms,
                        quality: newest.quality,
                        stale: false,
                        count,
                    };
                } else {
                    latest.count = count;
                }
            }
        }
        let is_newest = s.last_ms.is_none_or(|t| newest.time_ms >= t);
        if is_newest {
            s.last_ms = Some(newest.time_ms);
            s.value = newest.value;
        }
        if s.stale {
            s.stale = false;
            self.stats.stale.fetch_sub(1, Relaxed);
        }
        // Alarms see every reading in time order.
        for (rule, state) in &mut s.alarms {
            let a = &self.alarms[*rule];
            for r in group {
                if let Some(t) = a.on_reading(state, r.time_ms, r.value) {
                    events.push(event(a, t, r.time_ms, &s.id, &s.guid, Some(r.value)));
                }
            }
        }
        // Styles follow the newest value (unless scrubbing); a feature watched by
        // several sensors of one quantity shows the highest.
        if !is_newest || s.styles.is_empty() || self.scrub.is_some() {
            return;
        }
        let peers = std::mem::take(&mut s.peers);
        let shown = peers
            .iter()
            .map(|&p| self.streams[p as usize].value)
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        self.streams[stream as usize].peers = peers;
        self.paint(model, stream as usize, newest.value, shown);
    }

    /// Evaluates a stream's style rules: `own` for its marker, `shown` for the observed feature.
    fn paint(&mut self, model: &mut CityModel, stream: usize, own: f64, shown: f64) {
        let Some(s) = self.streams.get_mut(stream) else { return };
        let mut color = None;
        let mut scale = None;
        let mut label = None;
        for (rule, level) in &mut s.styles {
            let is_sensor = self.styles[*rule].target == StyleTarget::Sensor;
            let value = if is_sensor { own } else { shown };
            let out = self.styles[*rule].evaluate(value, &s.unit, &s.id, level);
            if is_sensor && s.entity != s.target {
                if let Some(c) = out.color {
                    set_style(model, s.entity, |st| st.color_override = Some([c[0], c[1], c[2], 1.0]));
                }
                continue;
            }
            color = out.color.or(color);
            scale = out.height_scale.or(scale);
            label = out.label.or(label);
        }
        if let Some(c) = color {
            set_style(model, s.target, |st| st.color_override = Some([c[0], c[1], c[2], 0.85]));
        }
        if let Some(h) = scale {
            set_style(model, s.target, |st| st.height_scale = h);
        }
        // The target may have left with its streamed tile; `rebind` finds it again.
        if let Some(l) = label
            && let Ok(mut e) = model.world.get_entity_mut(s.target)
            && e.get::<LiveLabel>().is_none_or(|x| x.0 != l)
        {
            e.insert(LiveLabel(l));
        }
    }

    fn check_clock(&mut self, model: &mut CityModel, now_ms: i64, start: i64, events: &mut Vec<AlarmEvent>) {
        let factor = self.config.live.stale_factor;
        for s in &mut self.streams {
            let since = now_ms - s.last_ms.unwrap_or(start);
            let stale = since as f64 > factor * s.period_ms as f64;
            if stale && !s.stale {
                s.stale = true;
                self.stats.stale.fetch_add(1, Relaxed);
                if let Some(mut l) = model.world.get_mut::<LatestReading>(s.entity) {
                    l.stale = true;
                }
            }
            for (rule, state) in &mut s.alarms {
                let a = &self.alarms[*rule];
                if let Some(t) = a.on_clock(state, now_ms, s.last_ms, start) {
                    events.push(event(a, t, now_ms, &s.id, &s.guid, None));
                }
            }
        }
    }

    fn record(&mut self, e: AlarmEvent) {
        self.stats.alarm_events.fetch_add(1, Relaxed);
        let Some(rule) = self.alarms.iter().position(|a| a.name == e.alarm) else { return };
        let Some(stream) = self.registry.stream(&e.sensor) else { return };
        match e.state {
            Transition::Raised => {
                tracing::warn!(alarm = %e.alarm, sensor = %e.sensor, feature = %e.feature, value = ?e.value, "alarm raised");
                self.active.insert((rule, stream), e.clone());
            }
            Transition::Cleared => {
                tracing::info!(alarm = %e.alarm, sensor = %e.sensor, "alarm cleared");
                self.active.remove(&(rule, stream));
            }
        }
        if let Some(log) = &mut self.alarm_log
            && let Ok(line) = serde_json::to_string(&e)
        {
            let _ = writeln!(log, "{line}");
        }
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(e);
    }

    /// Highlights the markers of sensors with a raised alarm (and clears the
    /// rest). Observed features keep their rule colours, which a highlight tint would muddy.
    pub fn highlight_alarms(&self, model: &mut CityModel) {
        let alarmed: std::collections::HashSet<u32> = self.active.keys().map(|&(_, s)| s).collect();
        for (i, s) in self.streams.iter().enumerate() {
            let on = alarmed.contains(&(i as u32));
            set_style(model, s.entity, |st| st.highlighted = on);
        }
    }

    /// Short text for an overlay: counters and the raised alarms.
    pub fn overlay_lines(&self, now_ms: i64) -> Vec<String> {
        let st = self.stats.snapshot();
        let mut lines = vec![
            match self.scrub {
                Some(t) => {
                    format!("showing {}  (live {})  [ ] scrub 10 min, Backslash: live", time_text(t), time_text(now_ms))
                }
                None => format!("live  {}  [ ] scrub back/forward", time_text(now_ms)),
            },
            format!(
                "readings {}  applied {}  dropped {}  unknown {}  rejected {}",
                st.readings,
                st.applied,
                st.dropped,
                st.unknown,
                st.rejected_total()
            ),
            format!("stale sensors {}  alarms {}", st.stale, self.active.len()),
        ];
        // One line per alarm and feature: how many sensors, the worst value, since when.
        let mut grouped: BTreeMap<(&str, &str), (usize, Option<f64>, &str)> = BTreeMap::new();
        for a in self.active.values() {
            let g = grouped.entry((a.alarm.as_str(), a.feature.as_str())).or_insert((0, None, a.time.as_str()));
            g.0 += 1;
            g.1 = match (g.1, a.value) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            g.2 = g.2.min(a.time.as_str());
        }
        for ((alarm, feature), (n, value, since)) in grouped.into_iter().take(10) {
            lines.push(format!(
                "! {alarm}: {feature}{}{} since {}",
                if n > 1 { format!(" ({n} sensors)") } else { String::new() },
                value.map(|v| format!(", raised at {v:.2}")).unwrap_or_default(),
                since.get(11..19).unwrap_or(since)
            ));
        }
        lines
    }
}

fn set_style(model: &mut CityModel, e: Entity, f: impl FnOnce(&mut FeatureStyle)) {
    if let Some(mut st) = model.world.get_mut::<FeatureStyle>(e) {
        let mut next = *st;
        f(&mut next);
        if next != *st {
            *st = next;
        }
    }
}

/// Unix ms as RFC 3339 (UTC).
pub fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

fn event(
    a: &AlarmRule,
    state: Transition,
    time_ms: i64,
    sensor: &str,
    feature: &str,
    value: Option<f64>,
) -> AlarmEvent {
    AlarmEvent {
        time_ms,
        time: time_text(time_ms),
        alarm: a.name.clone(),
        severity: a.severity,
        state,
        sensor: sensor.to_string(),
        feature: feature.to_string(),
        value,
    }
}

fn spawn_marked_sensor(
    model: &mut CityModel,
    marker: MeshId,
    s: &crate::config::SensorConfig,
    position: DVec3,
    target: Option<Entity>,
    history: usize,
    spacing_ms: i64,
) -> Entity {
    let e = model.spawn_sensor(NewSensor {
        sensor: Sensor { id: s.id.clone(), quantity: s.quantity.clone(), unit: s.unit.clone(), period_s: s.period_s },
        position,
        observes: target,
        history_len: history,
        history_spacing_ms: spacing_ms,
    });
    // The marker: an instance of the shared post mesh.
    let t = InstanceTransform { linear: DMat3::IDENTITY };
    let bounds = Bounds { min: position - DVec3::new(0.6, 0.6, 0.0), max: position + DVec3::new(0.6, 0.6, 5.0) };
    let mut em = model.world.entity_mut(e);
    em.insert((urbis_model::GeometryHandle { mesh: marker, lod: Lod(10) }, t, bounds));
    e
}
