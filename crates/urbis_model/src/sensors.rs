//! Sensors in the city model: a live device is an entity of class
//! [`SemanticClass::SENSOR`] with its position, linked by [`Observes`] to
//! the feature it measures. Its state is the [`LatestReading`] and a
//! [`History`] ring buffer; the live crate writes both.
//!
//! Binding a configured sensor to the feature it observes goes through a
//! [`Binder`]: by the feature's GUID, by an attribute value (a CityJSON id,
//! an address), or by the nearest feature of a class within a radius
//! (through the [`SpatialIndex`](crate::SpatialIndex)).

use std::collections::{HashMap, VecDeque};

use bevy_ecs::prelude::*;
use glam::DVec3;

use crate::attributes::AttributeValue;
use crate::city::{CityModel, NewFeature};
use crate::class::ClassFilter;
use crate::components::{Bounds, SemanticClass};
use crate::{Attributes, FeatureId};

/// What a sensor measures and how often it is expected to report.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct Sensor {
    /// The datastream's id as the sources name it ("gauge-03", a SensorThings Datastream id).
    pub id: String,
    /// The observed property ("water_level", "pm25"), which style and alarm rules select on.
    pub quantity: String,
    pub unit: String,
    /// Expected reporting period, seconds; stale detection counts in multiples of it.
    pub period_s: f64,
}

/// The feature a sensor observes.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observes(pub Entity);

/// How far a reading can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Good,
    Uncertain,
    Bad,
}

/// The newest reading of a sensor. `time_ms` is Unix time in milliseconds.
#[derive(Component, Debug, Clone, Copy, PartialEq, Default)]
pub struct LatestReading {
    pub value: f64,
    pub time_ms: i64,
    pub quality: Quality,
    /// Set when no reading came for the configured number of periods.
    pub stale: bool,
    /// Readings received in total (including those older than `time_ms`).
    pub count: u64,
}

impl LatestReading {
    /// True before the first reading.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A bounded history of one datastream: at most `capacity` samples, at
/// least `min_spacing_ms` apart (newer readings inside the spacing replace
/// the last sample, so the buffer always ends with the latest value).
#[derive(Component, Debug, Clone, PartialEq)]
pub struct History {
    samples: VecDeque<(i64, f64)>,
    capacity: usize,
    min_spacing_ms: i64,
    /// The time of the first reading folded into the last sample.
    last_slot_ms: i64,
}

impl History {
    pub fn new(capacity: usize, min_spacing_ms: i64) -> Self {
        let capacity = capacity.max(1);
        Self {
            samples: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            min_spacing_ms: min_spacing_ms.max(0),
            last_slot_ms: i64::MIN,
        }
    }

    /// Records a reading. Readings older than the last sample are ignored
    /// (history is append-only); returns whether it was recorded.
    pub fn push(&mut self, time_ms: i64, value: f64) -> bool {
        if let Some(&(last_t, _)) = self.samples.back() {
            if time_ms < last_t {
                return false;
            }
            if time_ms.saturating_sub(self.last_slot_ms) < self.min_spacing_ms {
                if let Some(last) = self.samples.back_mut() {
                    *last = (time_ms, value);
                }
                return true;
            }
        }
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back((time_ms, value));
        self.last_slot_ms = time_ms;
        true
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Samples, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.samples.iter().copied()
    }

    /// The last sample at or before `time_ms` (for scrubbing back in time).
    pub fn at(&self, time_ms: i64) -> Option<(i64, f64)> {
        let i = self.samples.partition_point(|&(t, _)| t <= time_ms);
        i.checked_sub(1).map(|i| self.samples[i])
    }
}

/// A text label shown over a feature (from a live label rule).
#[derive(Component, Debug, Clone, PartialEq, Eq)]
pub struct LiveLabel(pub String);

/// How a configured sensor finds the feature it observes.
#[derive(Debug, Clone, PartialEq)]
pub enum BindingTarget {
    /// The feature with this GUID (CityJSON id, IFC GlobalId).
    Feature(String),
    /// The feature whose attribute `key` equals `value` (optionally of one class).
    Attribute { key: String, value: String, class: Option<ClassFilter> },
    /// The nearest feature of `class` whose ground box lies within `radius` metres
    /// of `position` (city ENU), measured horizontally.
    Nearest { class: Option<ClassFilter>, radius: f64 },
    /// The sensor stands alone.
    None,
}

/// Why a binding failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BindError {
    #[error("sensor {sensor}: no feature with id {guid:?}")]
    NoSuchFeature { sensor: String, guid: String },
    #[error("sensor {sensor}: no feature with {key} = {value:?}")]
    NoAttributeMatch { sensor: String, key: String, value: String },
    #[error("sensor {sensor}: no {class} within {radius} m")]
    NothingNear { sensor: String, class: String, radius: f64 },
}

/// Resolves bindings against a model, caching one attribute index per key.
#[derive(Debug, Default)]
pub struct Binder {
    by_attribute: HashMap<String, HashMap<String, Vec<(Entity, SemanticClass)>>>,
}

fn attribute_text(v: &AttributeValue) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_json().to_string(),
    }
}

impl Binder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The feature `target` names for the sensor `sensor` standing at `position` (ENU).
    pub fn resolve(
        &mut self,
        model: &CityModel,
        sensor: &str,
        position: DVec3,
        target: &BindingTarget,
    ) -> Result<Option<Entity>, BindError> {
        match target {
            BindingTarget::None => Ok(None),
            BindingTarget::Feature(guid) => model
                .features()
                .by_guid(guid)
                .map(Some)
                .ok_or_else(|| BindError::NoSuchFeature { sensor: sensor.into(), guid: guid.clone() }),
            BindingTarget::Attribute { key, value, class } => {
                let index = self.by_attribute.entry(key.clone()).or_insert_with(|| {
                    let mut index: HashMap<String, Vec<(Entity, SemanticClass)>> = HashMap::new();
                    for r in model.world.iter_entities() {
                        if let (Some(a), Some(c)) = (r.get::<Attributes>(), r.get::<SemanticClass>())
                            && let Some(v) = a.get(key)
                        {
                            index.entry(attribute_text(v)).or_default().push((r.id(), *c));
                        }
                    }
                    for list in index.values_mut() {
                        list.sort_by_key(|(e, _)| model.world.get::<FeatureId>(*e).map_or(u32::MAX, |f| f.index));
                    }
                    index
                });
                index
                    .get(value)
                    .and_then(|list| list.iter().find(|(_, c)| class.as_ref().is_none_or(|k| k.matches(*c))))
                    .map(|(e, _)| Some(*e))
                    .ok_or_else(|| BindError::NoAttributeMatch {
                        sensor: sensor.into(),
                        key: key.clone(),
                        value: value.clone(),
                    })
            }
            BindingTarget::Nearest { class, radius } => {
                let r = radius.max(0.0);
                let probe = Bounds {
                    min: DVec3::new(position.x - r, position.y - r, f64::MIN / 4.0),
                    max: DVec3::new(position.x + r, position.y + r, f64::MAX / 4.0),
                };
                let mut best: Option<(f64, u32, Entity)> = None;
                for e in model.spatial().in_box(probe) {
                    let Ok(er) = model.world.get_entity(e) else { continue };
                    let Some(&c) = er.get::<SemanticClass>() else { continue };
                    if c == SemanticClass::SENSOR || class.as_ref().is_some_and(|k| !k.matches(c)) {
                        continue;
                    }
                    let Some(b) = er.get::<Bounds>() else { continue };
                    let dx = (b.min.x - position.x).max(position.x - b.max.x).max(0.0);
                    let dy = (b.min.y - position.y).max(position.y - b.max.y).max(0.0);
                    let d = dx.hypot(dy);
                    let index = er.get::<FeatureId>().map_or(u32::MAX, |f| f.index);
                    if d <= r && best.is_none_or(|(bd, bi, _)| (d, index) < (bd, bi)) {
                        best = Some((d, index, e));
                    }
                }
                best.map(|(_, _, e)| Some(e)).ok_or_else(|| BindError::NothingNear {
                    sensor: sensor.into(),
                    class: class.as_ref().map_or("feature".to_string(), ToString::to_string),
                    radius: r,
                })
            }
        }
    }
}

/// Everything needed to add a sensor entity.
#[derive(Debug, Clone)]
pub struct NewSensor {
    pub sensor: Sensor,
    /// Position in the city ENU frame.
    pub position: DVec3,
    pub observes: Option<Entity>,
    pub history_len: usize,
    pub history_spacing_ms: i64,
}

impl CityModel {
    /// Spawns a sensor as a feature of class Sensor (GUID `sensor:<id>`) with
    /// its state components, linked to the feature it observes.
    pub fn spawn_sensor(&mut self, s: NewSensor) -> Entity {
        let mut f = NewFeature::new(format!("sensor:{}", s.sensor.id), SemanticClass::SENSOR, s.position);
        f.attributes = Attributes::default()
            .with("sensor_id", s.sensor.id.clone())
            .with("quantity", s.sensor.quantity.clone())
            .with("unit", s.sensor.unit.clone());
        if let Some(target) = s.observes
            && let Some(id) = self.world.get::<FeatureId>(target)
        {
            f.attributes.insert("observes", id.guid.clone());
        }
        let e = self.spawn_feature(f);
        let mut em = self.world.entity_mut(e);
        em.insert((s.sensor, LatestReading::default(), History::new(s.history_len, s.history_spacing_ms)));
        if let Some(target) = s.observes {
            em.insert(Observes(target));
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_downsampled_and_ends_with_the_latest() {
        let mut h = History::new(3, 1000);
        assert!(h.push(0, 1.0));
        assert!(h.push(500, 2.0)); // inside the spacing: replaces the last sample
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(500, 2.0)]);
        assert!(h.push(1000, 3.0));
        assert!(h.push(2000, 4.0));
        assert!(h.push(3000, 5.0));
        assert_eq!(h.len(), 3);
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(1000, 3.0), (2000, 4.0), (3000, 5.0)]);
        assert!(!h.push(10, 9.0), "older than the last sample");
        assert_eq!(h.at(2500), Some((2000, 4.0)));
        assert_eq!(h.at(-1), None);
    }
}
