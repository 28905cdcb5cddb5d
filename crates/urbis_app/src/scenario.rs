//! `urbis sim run` and the scenario comparison in `view` / `render`.
//!
//! The run loads the scenario's city twice (baseline and modified), hands
//! both to `urbis_sim::scenario::run` with an indicatif progress bar and a
//! Ctrl-C flag, and prints the headline figures. The 3D comparison loads
//! the city once, overlays the scenario's changes (nothing is lost: removed
//! buildings are only hidden, raised ones stretched by style) and switches
//! between baseline, scenario and difference by restyling features.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use bevy_ecs::prelude::Entity;
use urbis_model::{CityModel, FeatureId, FeatureStyle, SemanticClass};
use urbis_sim::scenario::apply::{Apply, Changes, apply_to_city};
use urbis_sim::scenario::run::Progress;
use urbis_sim::scenario::{CitySource, Scenario};

/// The city paths a scenario starts from.
pub fn city_paths(s: &Scenario) -> Result<Vec<PathBuf>> {
    Ok(match &s.city {
        CitySource::Sample => vec![
            urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())
                .context("generating the sample city")?,
        ],
        CitySource::Paths(p) => p.clone(),
    })
}

/// Where `urbis sim run` writes by default, and where the viewer looks for its results.
pub fn default_out(path: &Path) -> PathBuf {
    PathBuf::from("out").join(path.file_stem().unwrap_or_default())
}

struct Bars {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress for Bars {
    fn stage(&mut self, name: &str, total: u64) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>20} {bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix(name.to_string());
        self.bar = Some(b);
    }

    fn advance(&mut self, position: u64, message: &str) {
        if let Some(b) = &self.bar {
            b.set_position(position);
            b.set_message(message.to_string());
        }
    }
}

/// `urbis sim run`. Returns whether the run was interrupted.
pub fn sim_run(path: &Path, out: Option<&Path>) -> Result<bool> {
    let scenario = Scenario::load(path)?;
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| default_out(path));
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let c = cancel.clone();
        // A second Ctrl-C while the outputs are written kills the process as usual.
        ctrlc::set_handler(move || {
            if c.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: writing what has been computed so far (Ctrl-C again to abort)");
        })
        .context("installing the Ctrl-C handler")?;
    }
    let paths = city_paths(&scenario)?;
    let (mut baseline, _) = urbis_model::open_city(&paths)?;
    let (mut modified, _) = urbis_model::open_city(&paths)?;
    eprintln!("scenario `{}` on {} ({} features)", scenario.name, paths[0].display(), baseline.feature_count());
    let mut bars = Bars { bar: None };
    let outcome = urbis_sim::scenario::run::run(&scenario, &mut baseline, &mut modified, &out, &cancel, &mut bars)?;
    if let Some(b) = bars.bar.take() {
        b.finish_and_clear();
    }
    for line in &outcome.summary {
        println!("{line}");
    }
    if outcome.interrupted {
        println!("interrupted: partial outputs in {}", out.display());
    }
    println!("report: {}", outcome.report.display());
    Ok(outcome.interrupted)
}

/// Which city the comparison shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    Baseline,
    #[default]
    Scenario,
    Difference,
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

fn linear(rgb: [u8; 3], weight: f32) -> Option<[f32; 4]> {
    let c = |v: u8| (v as f32 / 255.0).powf(2.2);
    Some([c(rgb[0]), c(rgb[1]), c(rgb[2]), weight])
}

impl Comparison {
    /// Overlays `scenario` on `model`; reads results.json from `results` (or the default run directory) when present.
    pub fn new(model: &mut CityModel, scenario: &Scenario, results: Option<&Path>, mode: Mode) -> Result<Comparison> {
        let changes = apply_to_city(model, scenario, Apply::Overlay)
            .map_err(|e| anyhow::anyhow!("{}: {e}", scenario.path.display()))?;
        let dir = results.map(Path::to_path_buf).unwrap_or_else(|| default_out(&scenario.path));
        let file = dir.join("results.json");
        let (results, results_from) = match std::fs::read_to_string(&file) {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
                (v.get("buildings").and_then(|b| b.as_object()).cloned().unwrap_or_default(), Some(file))
            }
            Err(_) => (Default::default(), None),
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
            let building = matches!(class, SemanticClass::Building);
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
        let mut v = vec![
            format!("{}: {mode}   (1 baseline, 2 scenario, 3 difference, Tab cycles)", self.name),
            format!(
                "{} added, {} raised, {} removed, {} earthworks",
                self.changes.added.len(),
                self.changes.raised.len(),
                self.changes.removed.len(),
                self.changes.earthworks.len()
            ),
        ];
        if self.mode == Mode::Difference {
            v.push("red added, orange raised, blue removed, brown earthworks".into());
            match &self.results_from {
                Some(f) => v.push(format!(
                    "purple loses sunlight, cyan floods deeper, green drier (from {})",
                    f.display()
                )),
                None => v.push("run `urbis sim run` first to colour buildings by impact".into()),
            }
        }
        v
    }
}

impl urbis_engine::FrameHook for Comparison {
    fn before_frame(&mut self, _model: &mut CityModel) -> Vec<String> {
        self.lines()
    }

    fn key(&mut self, key: &str, model: &mut CityModel) {
        let mode = match key {
            "Digit1" | "Numpad1" => Mode::Baseline,
            "Digit2" | "Numpad2" => Mode::Scenario,
            "Digit3" | "Numpad3" => Mode::Difference,
            "Tab" => match self.mode {
                Mode::Baseline => Mode::Scenario,
                Mode::Scenario => Mode::Difference,
                Mode::Difference => Mode::Baseline,
            },
            _ => return,
        };
        self.mode = mode;
        self.restyle(model);
    }

    fn title(&self) -> String {
        "Scenario".into()
    }
}

/// Several hooks in turn (live sensors and a scenario comparison together).
pub struct Hooks(pub Vec<Box<dyn urbis_engine::FrameHook>>);

impl urbis_engine::FrameHook for Hooks {
    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        self.0.iter_mut().flat_map(|h| h.before_frame(model)).collect()
    }

    fn key(&mut self, key: &str, model: &mut CityModel) {
        for h in &mut self.0 {
            h.key(key, model);
        }
    }

    fn title(&self) -> String {
        self.0.iter().map(|h| h.title()).collect::<Vec<_>>().join(" + ")
    }
}
