//! The live configuration (TOML): pipeline limits, the JSON field mapping,
//! the sensors and their bindings, style rules and alarm rules.
//!
//! ```toml
//! [live]
//! capacity = 100000          # readings held between sources and the model
//! history = 720              # samples kept per stream
//! stale_factor = 3.0         # stale after this many missed periods
//! alarm_log = "alarms.jsonl"
//!
//! [[sensor]]
//! id = "gauge-01"
//! quantity = "water_level"
//! unit = "m"
//! period_s = 30
//! position = [115.905, 39.012]           # lon, lat (and height) in WGS 84
//! feature = "XA-W-river"                 # or: attribute = { key = "address", value = "…" }
//!                                        # or: nearest = { class = "Road", radius = 50 }
//!                                        # (or family = "Transport": either level)
//!
//! [[style]]
//! quantity = "water_level"
//! ramp = { min = 2.0, max = 5.5, colors = ["#c6dbef", "#08306b"] }
//!
//! [[alarm]]
//! name = "river flood"
//! quantity = "water_level"
//! above = 4.2
//! clear = 4.0
//! for_s = 60
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use urbis_model::ClassFilter;

use crate::payload::FieldMap;

/// Errors reading a configuration. They name the file, and TOML errors carry line and column.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

/// Pipeline and state limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveSettings {
    /// Readings held between the sources and the model, in all.
    pub capacity: usize,
    /// Samples of history per stream.
    pub history: usize,
    /// History keeps at most one sample per this many seconds (0: every reading).
    pub history_spacing_s: f64,
    /// A sensor is stale after `stale_factor × period_s` without data.
    pub stale_factor: f64,
    pub max_payload_bytes: usize,
    /// Live sources refuse readings this far ahead of the wall clock.
    pub max_future_s: f64,
    /// Alarm events are appended here as JSON lines (relative to the config file).
    pub alarm_log: Option<PathBuf>,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            capacity: 200_000,
            history: 720,
            history_spacing_s: 0.0,
            stale_factor: 3.0,
            max_payload_bytes: 1 << 20,
            max_future_s: 3600.0,
            alarm_log: None,
        }
    }
}

/// An attribute-match binding.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeBinding {
    pub key: String,
    pub value: String,
    /// Only features of this source class (`Road`, `IfcWall`)...
    pub class: Option<String>,
    /// ...or of this family (`Transport`).
    pub family: Option<String>,
}

impl AttributeBinding {
    /// The class filter it names, if any.
    pub fn filter(&self) -> Result<Option<ClassFilter>, String> {
        class_filter(&self.class, &self.family)
    }
}

/// A nearest-feature binding.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearestBinding {
    /// Only features of this source class...
    pub class: Option<String>,
    /// ...or of this family.
    pub family: Option<String>,
    pub radius: f64,
}

impl NearestBinding {
    /// The class filter it names, if any.
    pub fn filter(&self) -> Result<Option<ClassFilter>, String> {
        class_filter(&self.class, &self.family)
    }
}

fn class_filter(class: &Option<String>, family: &Option<String>) -> Result<Option<ClassFilter>, String> {
    match (class, family) {
        (Some(_), Some(_)) => Err("give class or family, not both".into()),
        (Some(c), None) if c.trim().is_empty() => Err("class is empty".into()),
        (Some(c), None) => Ok(Some(ClassFilter::Class(c.trim().to_string()))),
        (None, Some(f)) => ClassFilter::family(f).map(Some).map_err(|e| e.to_string()),
        (None, None) => Ok(None),
    }
}

/// One configured datastream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    pub id: String,
    pub quantity: String,
    #[serde(default)]
    pub unit: String,
    /// Expected reporting period, seconds.
    #[serde(default = "default_period")]
    pub period_s: f64,
    /// lon, lat (degrees, WGS 84) and optionally the height in metres.
    pub position: Option<Vec<f64>>,
    /// Bind to the feature with this id.
    pub feature: Option<String>,
    pub attribute: Option<AttributeBinding>,
    pub nearest: Option<NearestBinding>,
    /// The SensorThings Datastream id that feeds this sensor.
    pub datastream: Option<String>,
}

fn default_period() -> f64 {
    60.0
}

/// Which entity a style rule paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StyleTarget {
    /// The feature the sensor observes (the sensor itself when it observes none).
    #[default]
    Observed,
    /// The sensor's own marker.
    Sensor,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampConfig {
    pub min: f64,
    pub max: f64,
    /// Two or more "#rrggbb" colours spread evenly over [min, max].
    pub colors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdConfig {
    pub above: f64,
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtrudeConfig {
    pub min: f64,
    pub max: f64,
    /// Height scale at `min` and at `max`.
    #[serde(default = "one")]
    pub scale_min: f64,
    pub scale_max: f64,
}

fn one() -> f64 {
    1.0
}

/// A declarative style rule on the streams of one quantity.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleConfig {
    pub quantity: String,
    #[serde(default)]
    pub target: StyleTarget,
    pub ramp: Option<RampConfig>,
    /// Ascending thresholds; the highest one passed gives the colour.
    #[serde(default)]
    pub thresholds: Vec<ThresholdConfig>,
    /// A level is left only when the value falls this far below its threshold.
    #[serde(default)]
    pub hysteresis: f64,
    pub extrude: Option<ExtrudeConfig>,
    /// A label template: `{value}`, `{value:.1}`, `{unit}`, `{sensor}`.
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

/// An alarm rule: a threshold held for a while, or silence.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmConfig {
    pub name: String,
    /// The quantity it watches (all sensors when absent, for `no_data_s`).
    pub quantity: Option<String>,
    pub above: Option<f64>,
    pub below: Option<f64>,
    /// The value at which a raised alarm clears (hysteresis); default: the threshold.
    pub clear: Option<f64>,
    /// The condition must hold this long before the alarm is raised.
    #[serde(default)]
    pub for_s: f64,
    /// Raise when a sensor has sent nothing for this long.
    pub no_data_s: Option<f64>,
    #[serde(default)]
    pub severity: Severity,
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    pub live: LiveSettings,
    pub payload: FieldMap,
    #[serde(rename = "sensor")]
    pub sensors: Vec<SensorConfig>,
    #[serde(rename = "style")]
    pub styles: Vec<StyleConfig>,
    #[serde(rename = "alarm")]
    pub alarms: Vec<AlarmConfig>,
    /// Where it was read from (paths in it are relative to this file's folder).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Parses "#rrggbb" into linear RGB.
pub fn parse_color(s: &str) -> Option<[f32; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok().map(|v| srgb_to_linear(v as f32 / 255.0));
    Some([c(0)?, c(2)?, c(4)?])
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

impl LiveConfig {
    /// Parses a configuration; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<LiveConfig, ConfigError> {
        let mut c: LiveConfig =
            toml::from_str(text).map_err(|e| ConfigError::Toml { path: path.to_path_buf(), message: e.to_string() })?;
        c.path = path.to_path_buf();
        c.validate()?;
        Ok(c)
    }

    pub fn read(path: &Path) -> Result<LiveConfig, ConfigError> {
        let io = |source| ConfigError::Io { path: path.to_path_buf(), source };
        // A regular file of sane size only: a device (e.g. /dev/zero) would never end.
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() || meta.len() > 64 << 20 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                what: "not a regular file of at most 64 MiB".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::parse(&text, path)
    }

    fn invalid(&self, what: String) -> ConfigError {
        ConfigError::Invalid { path: self.path.clone(), what }
    }

    // `!(x > 0.0)` on purpose: NaN must fail every check.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.live;
        if l.capacity == 0 || l.history == 0 {
            return Err(self.invalid("live.capacity and live.history must be at least 1".into()));
        }
        if !(l.stale_factor > 0.0) || !(l.history_spacing_s >= 0.0) || !(l.max_future_s >= 0.0) {
            return Err(self.invalid("live.stale_factor must be > 0; history_spacing_s, max_future_s ≥ 0".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.sensors.iter().enumerate() {
            let at = format!("sensor[{i}] ({})", s.id);
            if s.id.is_empty() || !seen.insert(s.id.as_str()) {
                return Err(self.invalid(format!("{at}: id is empty or repeated")));
            }
            if !(s.period_s > 0.0) {
                return Err(self.invalid(format!("{at}: period_s must be > 0")));
            }
            let bindings = [s.feature.is_some(), s.attribute.is_some(), s.nearest.is_some()];
            if bindings.iter().filter(|b| **b).count() > 1 {
                return Err(self.invalid(format!("{at}: give at most one of feature, attribute, nearest")));
            }
            if let Some(p) = &s.position
                && (p.len() < 2 || p.len() > 3 || p.iter().any(|v| !v.is_finite()) || p[1].abs() > 90.0)
            {
                return Err(self.invalid(format!("{at}: position must be [lon, lat] or [lon, lat, height] in degrees")));
            }
            if s.position.is_none() && s.feature.is_none() && s.attribute.is_none() {
                return Err(self.invalid(format!("{at}: give a position or a feature / attribute binding")));
            }
            if s.nearest.is_some() && s.position.is_none() {
                return Err(self.invalid(format!("{at}: a nearest binding needs a position")));
            }
            if let Some(n) = &s.nearest
                && !(n.radius >= 0.0)
            {
                return Err(self.invalid(format!("{at}: nearest.radius must be ≥ 0")));
            }
            if let Some(Err(e)) = s.attribute.as_ref().map(AttributeBinding::filter) {
                return Err(self.invalid(format!("{at}: attribute: {e}")));
            }
            if let Some(Err(e)) = s.nearest.as_ref().map(NearestBinding::filter) {
                return Err(self.invalid(format!("{at}: nearest: {e}")));
            }
        }
        for (i, st) in self.styles.iter().enumerate() {
            let at = format!("style[{i}] ({})", st.quantity);
            if let Some(r) = &st.ramp {
                if r.colors.len() < 2 || !(r.max > r.min) {
                    return Err(self.invalid(format!("{at}: a ramp needs two or more colours and max > min")));
                }
                for c in &r.colors {
                    parse_color(c).ok_or_else(|| self.invalid(format!("{at}: bad colour {c:?} (want #rrggbb)")))?;
                }
            }
            for t in &st.thresholds {
                parse_color(&t.color).ok_or_else(|| self.invalid(format!("{at}: bad colour {:?}", t.color)))?;
            }
            if st.thresholds.windows(2).any(|w| w[1].above <= w[0].above) || !(st.hysteresis >= 0.0) {
                return Err(self.invalid(format!("{at}: thresholds must ascend and hysteresis be ≥ 0")));
            }
            if let Some(e) = &st.extrude
                && (!(e.max > e.min) || !(e.scale_min > 0.0) || !(e.scale_max > 0.0))
            {
                return Err(self.invalid(format!("{at}: extrude needs max > min and positive scales")));
            }
        }
        for (i, a) in self.alarms.iter().enumerate() {
            let at = format!("alarm[{i}] ({})", a.name);
            let kinds = [a.above.is_some(), a.below.is_some(), a.no_data_s.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(self.invalid(format!("{at}: give exactly one of above, below, no_data_s")));
            }
            if !(a.for_s >= 0.0) || a.no_data_s.is_some_and(|s| !(s > 0.0)) {
                return Err(self.invalid(format!("{at}: for_s must be ≥ 0 and no_data_s > 0")));
            }
            if let (Some(t), Some(c)) = (a.above, a.clear)
                && c > t
            {
                return Err(self.invalid(format!("{at}: clear must not exceed the threshold for `above`")));
            }
            if let (Some(t), Some(c)) = (a.below, a.clear)
                && c < t
            {
                return Err(self.invalid(format!("{at}: clear must not be below the threshold for `below`")));
            }
        }
        Ok(())
    }

    /// The alarm log path, resolved against the config file's folder.
    pub fn alarm_log(&self) -> Option<PathBuf> {
        let p = self.live.alarm_log.as_ref()?;
        Some(match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.clone(),
        })
    }
}
