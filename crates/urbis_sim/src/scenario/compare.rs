//! The 3D comparison of a scenario with its baseline, by style alone: the
//! scenario's changes are overlaid on the loaded city ([`Apply::Overlay`]:
//! added buildings and earthworks spawned, removed buildings kept) and each
//! mode shows or hides them, stretches raised buildings through the
//! per-feature `height_scale`, and in the difference mode colours buildings
//! by what changed and, when a `urbis sim run` left its results.json, by
//! their flood and sunlight impact. No geometry is rebuilt on a switch.

use std::path::{Path, PathBuf};

use bevy_ecs::prelude::Entity;
use urbis_model::{CityModel, FeatureId, FeatureStyle, SemanticClass};

use super::Scenario;
use super::apply::{Apply, ApplyError, Changes, apply_to_city};

/// Which city the comparison shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    Baseline,
    #[default]
    Scenario,
    Difference,
}

/// Errors starting a comparison.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{path}: {source}")]
    Apply { path: PathBuf, source: ApplyError },
    #[error("{path}: {message}")]
    Results { path: PathBuf, message: String },
}

/// The scenario overlaid on a loaded city, switchable between modes.
pub struct Comparison {
    name: String,
    changes: Changes,
    /// Per building id, from a previous `urbis sim run` (results.json), if found.
    results: serde_json::Map<String, serde_json::Value>,
    results_from: Option<PathBuf>,
    mode: Mode,
}

/// A building's results as (what, value) rows: pairs of baseline and
/// scenario figures as "a → b", flags as yes.
pub fn impact_rows(v: &serde_json::Value) -> Vec<(String, String)> {
    let Some(map) = v.as_object() else { return Vec::new() };
    let show = |x: &serde_json::Value| match x {
        serde_json::Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f:.2}")),
        serde_json::Value::Bool(true) => "yes".into(),
        serde_json::Value::Bool(false) => "no".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    map.iter()
        .map(|(k, x)| {
            let value = match x.as_array().map(Vec::as_slice) {
                Some([a, b]) => format!("{} → {}", show(a), show(b)),
                _ => show(x),
            };
            (k.replace('_', " "), value)
        })
        .collect()
}

fn linear(rgb: [u8; 3], weight: f32) -> Option<[f32; 4]> {
    let c = |v: u8| (v as f32 / 255.0).powf(2.2);
    Some([c(rgb[0]), c(rgb[1]), c(rgb[2]), weight])
}

impl Comparison {
    /// Overlays `scenario` on `model`; reads `results_dir/results.json` when present.
    pub fn new(
        model: &mut CityModel,
        scenario: &Scenario,
        results_dir: &Path,
        mode: Mode,
    ) -> Result<Comparison, CompareError> {
        let changes = apply_to_city(model, scenario, Apply::Overlay)
            .map_err(|source| CompareError::Apply { path: scenario.path.clone(), source })?;
        let file = results_dir.join("results.json");
        let (results, results_from) = match file.is_file().then(|| urbis_formats::read_file(&file)) {
            Some(Ok(bytes)) => {
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| CompareError::Results { path: file.clone(), message: e.to_string() })?;
                (v.get("buildings").and_then(|b| b.as_object()).cloned().unwrap_or_default(), Some(file))
            }
            Some(Err(e)) => return Err(CompareError::Results { path: file, message: e.to_string() }),
            None => (Default::default(), None),
        };
        let mut c = Comparison { name: scenario.name.clone(), changes, results, results_from, mode };
        c.restyle(model);
        Ok(c)
    }

    /// Restyles the model for the current mode.
    pub fn restyle(&mut self, model: &mut CityModel) {
        let scenario_on = self.mode != Mode::Baseline;
        let diff = self.mode == Mode::Difference;
        let mut q = model.world.query::<(Entity, &FeatureId, &SemanticClass, &mut FeatureStyle)>();
        for (e, id, class, mut style) in q.iter_mut(&mut model.world) {
            let mut s = FeatureStyle { selected: style.selected, ..FeatureStyle::default() };
            let building = *class == SemanticClass::BUILDING;
            if self.changes.added.contains(&e) || self.changes.earthworks.contains(&e) {
                s.visible = scenario_on;
                if diff {
                    s.color_override = if building { linear([230, 40, 30], 1.0) } else { linear([150, 100, 40], 1.0) };
                }
            } else if self.changes.removed.contains(&e) {
                s.visible = self.mode != Mode::Scenario;
                if diff {
                    s.color_override = linear([60, 120, 230], 0.9);
                }
            } else if let Some((_, f)) = self.changes.raised.iter().find(|(r, _)| *r == e) {
                if scenario_on {
                    s.height_scale = *f as f32;
                }
                if diff {
                    s.color_override = linear([245, 150, 30], 1.0);
                }
            } else if diff && building {
                let r = self.results.get(&id.guid);
                let depth = r.and_then(|v| v.get("flood_depth_m")).and_then(|d| d.as_array()).map(|a| {
                    let f = |k: usize| a.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
                    f(1) - f(0)
                });
                let loses_sun = r.and_then(|v| v.get("loses_sunlight")).is_some();
                s.color_override = if loses_sun {
                    linear([150, 60, 200], 1.0)
                } else if depth.is_some_and(|d| d > 0.05) {
                    linear([20, 200, 220], 1.0)
                } else if depth.is_some_and(|d| d < -0.05) {
                    linear([60, 190, 80], 1.0)
                } else {
                    linear([235, 235, 235], 0.7)
                };
            }
            if *style != s {
                *style = s;
            }
        }
    }

    /// The panel's lines.
    pub fn lines(&self) -> Vec<String> {
        let mode = match self.mode {
            Mode::Baseline => "BASELINE",
            Mode::Scenario => "SCENARIO",
            Mode::Difference => "DIFFERENCE",
        };
        let c = &self.changes;
        let mut v = vec![
            format!("{}: {mode}  [1 base, 2 scenario, 3 diff, Tab]", self.name),
            format!(
                "{} added, {} raised, {} removed, {} earthworks",
                c.added.len(),
                c.raised.len(),
                c.removed.len(),
                c.earthworks.len()
            ),
        ];
        if self.mode == Mode::Difference {
            v.push("red added, orange raised, blue removed, brown earthworks".into());
            v.push(match &self.results_from {
                Some(_) => "purple loses sun, cyan floods deeper, green drier".into(),
                None => "no results.json: `urbis sim run` colours impacts".into(),
            });
        }
        v
    }

    /// What the scenario run (`results.json`) found for the building with
    /// this id, as rows for the inspector: empty without results.
    pub fn impacts(&self, guid: &str) -> Vec<(String, String)> {
        self.results.get(guid).map(impact_rows).unwrap_or_default()
    }

    /// The mode shown.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Switches mode and restyles.
    pub fn set_mode(&mut self, model: &mut CityModel, mode: Mode) {
        self.mode = mode;
        self.restyle(model);
    }

    /// What the scenario changed (entities in the overlaid model).
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// A key from the viewer: 1, 2, 3 choose a mode, Tab cycles. Returns whether it was used.
    pub fn key(&mut self, key: &str, model: &mut CityModel) -> bool {
        let mode = match key {
            "Digit1" | "Numpad1" => Mode::Baseline,
            "Digit2" | "Numpad2" => Mode::Scenario,
            "Digit3" | "Numpad3" => Mode::Difference,
            "Tab" => match self.mode {
                Mode::Baseline => Mode::Scenario,
                Mode::Scenario => Mode::Difference,
                Mode::Difference => Mode::Baseline,
            },
            _ => return false,
        };
        self.set_mode(model, mode);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_rows_show_baseline_to_scenario() {
        let v = serde_json::json!({"flood_depth_m": [0.0, 0.4567], "loses_sunlight": true, "change": "raised"});
        let rows = impact_rows(&v);
        assert_eq!(
            rows,
            vec![
                ("change".to_string(), "raised".to_string()),
                ("flood depth m".to_string(), "0.00 → 0.46".to_string()),
                ("loses sunlight".to_string(), "yes".to_string()),
            ]
        );
    }
}
