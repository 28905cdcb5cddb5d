//! Style and alarm rules, evaluated on readings. Pure state machines: the
//! session feeds them values and times and applies what they return.

use crate::config::{AlarmConfig, Severity, StyleConfig, StyleTarget, parse_color};

/// A compiled style rule.
#[derive(Debug, Clone)]
pub struct StyleRule {
    pub quantity: String,
    pub target: StyleTarget,
    ramp: Option<(f64, f64, Vec<[f32; 3]>)>,
    thresholds: Vec<(f64, [f32; 3])>,
    hysteresis: f64,
    extrude: Option<(f64, f64, f64, f64)>,
    label: Option<String>,
}

/// What a style rule asks of a feature.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StyleOutcome {
    pub color: Option<[f32; 3]>,
    pub height_scale: Option<f32>,
    pub label: Option<String>,
}

impl StyleRule {
    pub fn compile(c: &StyleConfig) -> StyleRule {
        StyleRule {
            quantity: c.quantity.clone(),
            target: c.target,
            ramp: c.ramp.as_ref().map(|r| (r.min, r.max, r.colors.iter().filter_map(|c| parse_color(c)).collect())),
            thresholds: c.thresholds.iter().filter_map(|t| Some((t.above, parse_color(&t.color)?))).collect(),
            hysteresis: c.hysteresis,
            extrude: c.extrude.as_ref().map(|e| (e.min, e.max, e.scale_min, e.scale_max)),
            label: c.label.clone(),
        }
    }

    /// The threshold level for `value`, given the level it was at (hysteresis:
    /// a level is left downwards only below its threshold minus the hysteresis).
    pub fn level(&self, value: f64, previous: usize) -> usize {
        let mut level = self.thresholds.iter().take_while(|(t, _)| value > *t).count();
        if level < previous {
            // Stay as high as the hysteresis band allows.
            while level < previous && value > self.thresholds[level].0 - self.hysteresis {
                level += 1;
            }
        }
        level
    }

    /// Evaluates the rule; `level` is this stream's threshold level, updated in place.
    pub fn evaluate(&self, value: f64, unit: &str, sensor: &str, level: &mut usize) -> StyleOutcome {
        let mut out = StyleOutcome::default();
        if let Some((min, max, colors)) = &self.ramp {
            let t = ((value - min) / (max - min)).clamp(0.0, 1.0) * (colors.len() - 1) as f64;
            let i = (t.floor() as usize).min(colors.len() - 2);
            let f = (t - i as f64) as f32;
            let (a, b) = (colors[i], colors[i + 1]);
            out.color = Some([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
        }
        if !self.thresholds.is_empty() {
            *level = self.level(value, *level);
            if *level > 0 {
                out.color = Some(self.thresholds[*level - 1].1);
            }
        }
        if let Some((min, max, s0, s1)) = self.extrude {
            let t = ((value - min) / (max - min)).clamp(0.0, 1.0);
            out.height_scale = Some((s0 + (s1 - s0) * t) as f32);
        }
        if let Some(template) = &self.label {
            out.label = Some(format_label(template, value, unit, sensor));
        }
        out
    }
}

/// Fills `{value}`, `{value:.N}`, `{unit}` and `{sensor}`.
pub fn format_label(template: &str, value: f64, unit: &str, sensor: &str) -> String {
    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let field = &rest[start + 1..start + end];
        match field.split_once(':') {
            Some(("value", spec)) => {
                let digits = spec.trim_start_matches('.').parse::<usize>().unwrap_or(1).min(9);
                out.push_str(&format!("{value:.digits$}"));
            }
            _ => match field {
                "value" => out.push_str(&format!("{value}")),
                "unit" => out.push_str(unit),
                "sensor" => out.push_str(sensor),
                other => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            },
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// A compiled alarm rule.
#[derive(Debug, Clone)]
pub struct AlarmRule {
    pub name: String,
    pub quantity: Option<String>,
    pub severity: Severity,
    kind: AlarmKind,
    for_ms: i64,
}

#[derive(Debug, Clone, Copy)]
enum AlarmKind {
    Above { raise: f64, clear: f64 },
    Below { raise: f64, clear: f64 },
    NoData { after_ms: i64 },
}

/// Per-stream state of one alarm rule.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AlarmState {
    /// Since when the raise condition has held (for `for_s`).
    pub pending_since: Option<i64>,
    pub active: bool,
}

/// A change of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Raised,
    Cleared,
}

impl AlarmRule {
    pub fn compile(c: &AlarmConfig) -> AlarmRule {
        let kind = match (c.above, c.below, c.no_data_s) {
            (Some(t), _, _) => AlarmKind::Above { raise: t, clear: c.clear.unwrap_or(t) },
            (_, Some(t), _) => AlarmKind::Below { raise: t, clear: c.clear.unwrap_or(t) },
            (_, _, s) => AlarmKind::NoData { after_ms: (s.unwrap_or(300.0) * 1000.0) as i64 },
        };
        AlarmRule {
            name: c.name.clone(),
            quantity: c.quantity.clone(),
            severity: c.severity,
            kind,
            for_ms: (c.for_s * 1000.0) as i64,
        }
    }

    pub fn is_no_data(&self) -> bool {
        matches!(self.kind, AlarmKind::NoData { .. })
    }

    pub fn applies_to(&self, quantity: &str) -> bool {
        self.quantity.as_deref().is_none_or(|q| q == quantity)
    }

    /// Feeds a reading (value alarms only).
    pub fn on_reading(&self, s: &mut AlarmState, time_ms: i64, value: f64) -> Option<Transition> {
        let (raising, clearing) = match self.kind {
            AlarmKind::Above { raise, clear } => (value > raise, value < clear || (clear == raise && value <= raise)),
            AlarmKind::Below { raise, clear } => (value < raise, value > clear || (clear == raise && value >= raise)),
            AlarmKind::NoData { .. } => return self.on_data(s),
        };
        if s.active {
            if clearing {
                *s = AlarmState::default();
                return Some(Transition::Cleared);
            }
            return None;
        }
        if !raising {
            s.pending_since = None;
            return None;
        }
        let since = *s.pending_since.get_or_insert(time_ms);
        if time_ms - since >= self.for_ms {
            s.active = true;
            return Some(Transition::Raised);
        }
        None
    }

    /// Data arrived: a no-data alarm clears.
    pub fn on_data(&self, s: &mut AlarmState) -> Option<Transition> {
        if self.is_no_data() && s.active {
            *s = AlarmState::default();
            return Some(Transition::Cleared);
        }
        None
    }

    /// The clock advanced: a condition held long enough raises, silence raises a no-data alarm.
    /// `last_ms` is the time of the stream's last reading (`None`: never; counted from `start_ms`).
    pub fn on_clock(&self, s: &mut AlarmState, now_ms: i64, last_ms: Option<i64>, start_ms: i64) -> Option<Transition> {
        if s.active {
            return None;
        }
        match self.kind {
            AlarmKind::NoData { after_ms } => {
                if now_ms - last_ms.unwrap_or(start_ms) >= after_ms {
                    s.active = true;
                    return Some(Transition::Raised);
                }
                None
            }
            _ => {
                let since = s.pending_since?;
                if now_ms - since >= self.for_ms {
                    s.active = true;
                    return Some(Transition::Raised);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fill_their_fields() {
        assert_eq!(format_label("{value:.1} {unit} at {sensor}", 4.25, "m", "g1"), "4.2 m at g1");
        assert_eq!(format_label("P {value:.0}%", 85.4, "", ""), "P 85%");
        assert_eq!(format_label("{nope} {", 1.0, "", ""), "{nope} {");
    }
}
