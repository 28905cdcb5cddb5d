//! Payload parsing: bytes from a source → [`Reading`]s for known streams.
//!
//! Two forms are read:
//! - JSON readings with a configurable field mapping: one object, or an
//!   array of objects (a batch). The sensor id can also come from a topic
//!   level. Parsed with a borrowing serde visitor, so a reading costs no
//!   allocation.
//! - OGC SensorThings observations (`{"phenomenonTime": …, "result": …}`),
//!   whose datastream comes from the MQTT topic `…/Datastreams(ID)/Observations`
//!   or from the poller.
//!
//! Every rejected payload or reading is counted by [`Reject`] reason in the
//! [`Stats`]; unknown sensors are counted and named there too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use urbis_model::Quality;

use crate::pipeline::Stats;

/// One reading of one known datastream. `time_ms` is Unix time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Index of the stream in the session's [`Registry`].
    pub stream: u32,
    pub time_ms: i64,
    pub value: f64,
    pub quality: Quality,
    /// It came again: an MQTT broker redelivering a message it had sent
    /// before (after a crash), so it may be stored already.
    pub redelivered: bool,
}

/// Why a payload or a reading was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// Not JSON, or not of the expected shape.
    NotJson,
    /// A required field (sensor, value) is missing.
    MissingField,
    /// A field has the wrong type (a string value, a numeric sensor id …).
    WrongType,
    /// The value is NaN or infinite.
    NonFinite,
    /// The timestamp cannot be read.
    BadTime,
    /// The timestamp lies beyond the allowed clock skew into the future.
    FutureTime,
    /// The payload is larger than `max_payload_bytes`.
    TooLarge,
    /// The topic names no datastream (SensorThings form).
    BadTopic,
}

impl Reject {
    pub const ALL: [Reject; 8] = [
        Reject::NotJson,
        Reject::MissingField,
        Reject::WrongType,
        Reject::NonFinite,
        Reject::BadTime,
        Reject::FutureTime,
        Reject::TooLarge,
        Reject::BadTopic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reject::NotJson => "not_json",
            Reject::MissingField => "missing_field",
            Reject::WrongType => "wrong_type",
            Reject::NonFinite => "non_finite",
            Reject::BadTime => "bad_time",
            Reject::FutureTime => "future_time",
            Reject::TooLarge => "too_large",
            Reject::BadTopic => "bad_topic",
        }
    }
}

/// Where the fields of a JSON reading are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldMap {
    pub sensor: String,
    pub time: String,
    pub value: String,
    pub quality: String,
    /// Take the sensor id from this topic level (0-based) when the payload has none.
    pub topic_sensor_level: Option<usize>,
}

impl Default for FieldMap {
    fn default() -> Self {
        Self {
            sensor: "sensor".into(),
            time: "time".into(),
            value: "value".into(),
            quality: "quality".into(),
            topic_sensor_level: None,
        }
    }
}

/// Stream lookup: sensor ids and SensorThings datastream ids → stream index.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    by_sensor: HashMap<Box<str>, u32>,
    by_datastream: HashMap<Box<str>, u32>,
    ids: Vec<String>,
}

impl Registry {
    /// Adds a stream and returns its index.
    pub fn add(&mut self, sensor: &str, datastream: Option<&str>) -> u32 {
        let i = self.ids.len() as u32;
        self.by_sensor.insert(sensor.into(), i);
        if let Some(d) = datastream {
            self.by_datastream.insert(d.into(), i);
        }
        self.ids.push(sensor.to_string());
        i
    }

    pub fn stream(&self, sensor: &str) -> Option<u32> {
        self.by_sensor.get(sensor).copied()
    }

    pub fn datastream(&self, id: &str) -> Option<u32> {
        self.by_datastream.get(id).copied()
    }

    pub fn sensor_id(&self, stream: u32) -> &str {
        self.ids.get(stream as usize).map_or("?", String::as_str)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A timestamp as found in a payload: epoch milliseconds, or an RFC 3339 string.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawTime<'a> {
    Millis(f64),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

/// Parses an RFC 3339 time (or a SensorThings interval `start/end`, taking the end) to Unix ms.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.rsplit('/').next()?;
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

fn time_ms(t: &RawTime<'_>) -> Result<i64, Reject> {
    match t {
        RawTime::Millis(ms) if ms.is_finite() && ms.abs() < 1e15 => Ok(*ms as i64),
        RawTime::Millis(_) => Err(Reject::BadTime),
        RawTime::Text(s) => parse_time(s).ok_or(Reject::BadTime),
    }
}

fn quality_of(q: Option<&str>) -> Quality {
    match q {
        Some("bad") => Quality::Bad,
        Some("uncertain") => Quality::Uncertain,
        _ => Quality::Good,
    }
}

/// A JSON reading before lookup, borrowing from the payload.
#[derive(Default)]
struct RawReading<'a> {
    sensor: Option<Cow<'a, str>>,
    time: Option<RawTime<'a>>,
    value: Option<Result<f64, Reject>>,
    quality: Option<Cow<'a, str>>,
    wrong_type: bool,
}

struct ReadingSeed<'m>(&'m FieldMap);

/// A number, or a marker that the field held something else.
struct NumberOrWrong(Result<f64, Reject>);

impl<'de> Deserialize<'de> for NumberOrWrong {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumberOrWrong;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E>(self, v: f64) -> Result<NumberOrWrong, E> {
                Ok(NumberOrWrong(if v.is_finite() { Ok(v) } else { Err(Reject::NonFinite) }))
            }
            fn visit_i64<E>(self, v: i64) -> Result<NumberOrWrong, E> {
                Ok(NumberOrWrong(Ok(v as f64)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<NumberOrWrong, E> {
                Ok(NumberOrWrong(Ok(v as f64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<NumberOrWrong, E> {
                // "NaN", "Infinity" spelled as strings are non-finite values, not just wrong types.
                let lower = v.trim().to_ascii_lowercase();
                let non_finite = ["nan", "inf", "+inf", "-inf", "infinity", "-infinity", "+infinity"];
                Ok(NumberOrWrong(Err(if non_finite.contains(&lower.as_str()) {
                    Reject::NonFinite
                } else {
                    Reject::WrongType
                })))
            }
            fn visit_bool<E>(self, _: bool) -> Result<NumberOrWrong, E> {
                Ok(NumberOrWrong(Err(Reject::WrongType)))
            }
            fn visit_unit<E>(self) -> Result<NumberOrWrong, E> {
                Ok(NumberOrWrong(Err(Reject::WrongType)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NumberOrWrong, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(NumberOrWrong(Err(Reject::WrongType)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NumberOrWrong, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(NumberOrWrong(Err(Reject::WrongType)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string field, or a marker that it held something else.
struct TextOrWrong<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for TextOrWrong<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TextOrWrong<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TextOrWrong(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TextOrWrong(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(TextOrWrong(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(TextOrWrong(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(TextOrWrong(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(TextOrWrong(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(TextOrWrong(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TextOrWrong(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TextOrWrong(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> DeserializeSeed<'de> for ReadingSeed<'_> {
    type Value = RawReading<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawReading<'de>, D::Error> {
        struct V<'m>(&'m FieldMap);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = RawReading<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reading object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawReading<'de>, A::Error> {
                let mut r = RawReading::default();
                while let Some(key) = a.next_key::<Cow<'de, str>>()? {
                    if key == self.0.sensor {
                        let t: TextOrWrong<'de> = a.next_value()?;
                        r.wrong_type |= t.0.is_none();
                        r.sensor = t.0;
                    } else if key == self.0.value {
                        r.value = Some(a.next_value::<NumberOrWrong>()?.0);
                    } else if key == self.0.time {
                        match a.next_value::<RawTime<'de>>() {
                            Ok(t) => r.time = Some(t),
                            Err(_) => r.time = Some(RawTime::Millis(f64::NAN)),
                        }
                    } else if key == self.0.quality {
                        r.quality = a.next_value::<TextOrWrong<'de>>()?.0;
                    } else {
                        a.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(r)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawReading<'de>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawReading { wrong_type: true, ..Default::default() })
            }
        }
        d.deserialize_any(V(self.0))
    }
}

/// One reading or a batch of them.
struct BatchSeed<'m, 'o> {
    map: &'m FieldMap,
    out: &'o mut Vec<RawReadingOwned>,
}

/// A raw reading whose text borrows were resolved into the registry already.
struct RawReadingOwned {
    stream: Result<u32, Option<String>>,
    time: Option<Result<i64, Reject>>,
    value: Option<Result<f64, Reject>>,
    quality: Quality,
    wrong_type: bool,
}

impl<'de> DeserializeSeed<'de> for BatchSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // Without the registry here, ids are kept as text only when unknown (see `resolve`).
        struct V<'m, 'o>(&'m FieldMap, &'o mut Vec<RawReadingOwned>);
        impl<'de> Visitor<'de> for V<'_, '_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reading object or an array of them")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<(), A::Error> {
                while let Some(r) = a.next_element_seed(ReadingSeed(self.0))? {
                    self.1.push(own(r));
                }
                Ok(())
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<(), A::Error> {
                let r = ReadingSeed(self.0).deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                self.1.push(own(r));
                Ok(())
            }
        }
        d.deserialize_any(V(self.map, self.out))
    }
}

fn own(r: RawReading<'_>) -> RawReadingOwned {
    RawReadingOwned {
        stream: Err(r.sensor.map(Cow::into_owned)),
        time: r.time.as_ref().map(time_ms),
        value: r.value,
        quality: quality_of(r.quality.as_deref()),
        wrong_type: r.wrong_type,
    }
}

/// Limits a parser applies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_payload_bytes: usize,
    /// Readings more than this far ahead of `now_ms` are refused (`None`: no check, as in replay).
    pub max_future_ms: Option<i64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_payload_bytes: 1 << 20, max_future_ms: Some(3_600_000) }
    }
}

/// Parses payloads into readings, counting every refusal.
#[derive(Debug)]
pub struct Parser<'a> {
    pub fields: &'a FieldMap,
    pub registry: &'a Registry,
    pub stats: &'a Stats,
    pub limits: Limits,
}

impl Parser<'_> {
    fn check_size(&self, payload: &[u8]) -> bool {
        if payload.len() > self.limits.max_payload_bytes {
            self.stats.reject(Reject::TooLarge, &format!("{} bytes", payload.len()));
            return false;
        }
        true
    }

    fn finish(
        &self,
        stream: u32,
        time: Option<Result<i64, Reject>>,
        value: Option<Result<f64, Reject>>,
        quality: Quality,
        now_ms: i64,
        out: &mut Vec<Reading>,
    ) {
        let value = match value {
            None => return self.stats.reject(Reject::MissingField, "value"),
            Some(Err(r)) => return self.stats.reject(r, "value"),
            Some(Ok(v)) => v,
        };
        let time_ms = match time {
            None => now_ms,
            Some(Err(r)) => return self.stats.reject(r, "time"),
            Some(Ok(t)) => t,
        };
        if let Some(skew) = self.limits.max_future_ms
            && time_ms > now_ms.saturating_add(skew)
        {
            return self.stats.reject(Reject::FutureTime, &format!("{time_ms} ms"));
        }
        out.push(Reading { stream, time_ms, value, quality, redelivered: false });
    }

    /// Parses a JSON payload (one reading or an array) that arrived on `topic`.
    /// Accepted readings are appended to `out`; returns how many.
    pub fn json(&self, topic: &str, payload: &[u8], now_ms: i64, out: &mut Vec<Reading>) -> usize {
        self.stats.count_message();
        if !self.check_size(payload) {
            return 0;
        }
        let mut raw = Vec::new();
        let mut de = serde_json::Deserializer::from_slice(payload);
        if let Err(e) = (BatchSeed { map: self.fields, out: &mut raw }).deserialize(&mut de).and_then(|_| de.end()) {
            self.stats.reject(Reject::NotJson, &e.to_string());
            return 0;
        }
        let before = out.len();
        let topic_sensor = self.fields.topic_sensor_level.and_then(|l| topic.split('/').nth(l));
        self.stats.count_readings(raw.len() as u64);
        for r in raw {
            if r.wrong_type {
                self.stats.reject(Reject::WrongType, "sensor");
                continue;
            }
            let id = match (&r.stream, topic_sensor) {
                (Err(Some(id)), _) => id.as_str(),
                (Err(None), Some(t)) => t,
                _ => {
                    self.stats.reject(Reject::MissingField, "sensor");
                    continue;
                }
            };
            match self.registry.stream(id) {
                Some(stream) => self.finish(stream, r.time, r.value, r.quality, now_ms, out),
                None => self.stats.unknown(id),
            }
        }
        out.len() - before
    }

    /// Parses a SensorThings observation (or an array, or a `{"value": [...]}`
    /// page) of the datastream `datastream`.
    pub fn sensorthings(&self, datastream: &str, payload: &[u8], now_ms: i64, out: &mut Vec<Reading>) -> usize {
        self.stats.count_message();
        if !self.check_size(payload) {
            return 0;
        }
        let page = match parse_observations(payload) {
            Ok(p) => p,
            Err(e) => {
                self.stats.reject(Reject::NotJson, &e);
                return 0;
            }
        };
        self.observations(datastream, &page.observations, now_ms, out)
    }

    /// Turns parsed observations of one datastream into readings.
    pub fn observations(&self, datastream: &str, obs: &[Observation], now_ms: i64, out: &mut Vec<Reading>) -> usize {
        let before = out.len();
        self.stats.count_readings(obs.len() as u64);
        let Some(stream) = self.registry.datastream(datastream) else {
            for _ in obs {
                self.stats.unknown(&format!("Datastreams({datastream})"));
            }
            return 0;
        };
        for o in obs {
            let time = o.phenomenon_time.as_deref().map(|t| parse_time(t).ok_or(Reject::BadTime));
            self.finish(stream, time, Some(o.result), Quality::Good, now_ms, out);
        }
        out.len() - before
    }
}

/// A SensorThings observation, as far as Urbis reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub phenomenon_time: Option<String>,
    pub result: Result<f64, Reject>,
}

/// A page of observations and the link to the next one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservationPage {
    pub observations: Vec<Observation>,
    pub next_link: Option<String>,
}

#[derive(Deserialize)]
struct RawObservation {
    #[serde(rename = "phenomenonTime")]
    phenomenon_time: Option<String>,
    result: Option<NumberOrWrong>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawObservations {
    Page {
        value: Vec<RawObservation>,
        #[serde(rename = "@iot.nextLink")]
        next_link: Option<String>,
    },
    Many(Vec<RawObservation>),
    One(RawObservation),
}

/// Parses an observation, an array of them, or a collection page.
pub fn parse_observations(payload: &[u8]) -> Result<ObservationPage, String> {
    let raw: RawObservations = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let (list, next_link) = match raw {
        RawObservations::Page { value, next_link } => (value, next_link),
        RawObservations::Many(v) => (v, None),
        RawObservations::One(o) => (vec![o], None),
    };
    Ok(ObservationPage {
        observations: list
            .into_iter()
            .map(|o| Observation {
                phenomenon_time: o.phenomenon_time,
                result: o.result.map_or(Err(Reject::MissingField), |r| r.0),
            })
            .collect(),
        next_link,
    })
}

/// The datastream id in a SensorThings MQTT topic `v1.1/Datastreams(ID)/Observations`.
pub fn datastream_of_topic(topic: &str) -> Option<&str> {
    let start = topic.find("Datastreams(")? + "Datastreams(".len();
    let end = start + topic[start..].find(')')?;
    let id = topic[start..end].trim_matches('\'');
    (!id.is_empty() && topic[end..].starts_with(")/Observations")).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let mut r = Registry::default();
        r.add("g1", Some("17"));
        r.add("g2", None);
        r
    }

    #[test]
    fn a_configured_field_mapping_and_topic_level_find_the_reading() {
        let fields = FieldMap {
            sensor: "id".into(),
            time: "ts".into(),
            value: "v".into(),
            quality: "q".into(),
            topic_sensor_level: Some(2),
        };
        let (reg, stats) = (registry(), Stats::default());
        let p = Parser { fields: &fields, registry: &reg, stats: &stats, limits: Limits::default() };
        let mut out = Vec::new();
        // The payload names the sensor; extra fields are ignored.
        assert_eq!(
            p.json("city/x/ignored", br#"{"id":"g2","ts":1000,"v":2.5,"q":"bad","extra":[1,{"a":2}]}"#, 2000, &mut out),
            1
        );
        assert_eq!(out[0], Reading { stream: 1, time_ms: 1000, value: 2.5, quality: Quality::Bad, redelivered: false });
        // No sensor field: the topic's third level names it; no time: the arrival time.
        assert_eq!(p.json("city/water/g1", br#"{"v":4}"#, 5000, &mut out), 1);
        assert_eq!(
            out[1],
            Reading { stream: 0, time_ms: 5000, value: 4.0, quality: Quality::Good, redelivered: false }
        );
        // The default names mean nothing under this mapping.
        assert_eq!(p.json("a", br#"{"sensor":"g1","value":1}"#, 0, &mut out), 0);
        assert_eq!(stats.rejected(Reject::MissingField), 1);
        assert_eq!(datastream_of_topic("v1.1/Datastreams(17)/Observations"), Some("17"));
        assert_eq!(datastream_of_topic("v1.1/Datastreams('x')/Observations"), Some("x"));
        assert_eq!(datastream_of_topic("v1.1/Things(1)"), None);
    }
}
