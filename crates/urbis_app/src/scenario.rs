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
use urbis_model::CityModel;
use urbis_sim::scenario::compare;
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
pub fn sim_run(path: &Path, out: Option<&Path>, store: Option<&Path>) -> Result<bool> {
    let started = std::time::Instant::now();
    let started_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let scenario = Scenario::load(path)?;
    // Open the store first: a bad one is an error before minutes of analyses.
    let mut store = store.map(|s| urbis_store::open(&s.to_string_lossy())).transpose()?;
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
    println!("finished in {:.1} s (both cities loaded and every analysis run)", started.elapsed().as_secs_f64());
    if let Some(store) = store.as_mut() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let results = match std::fs::read_to_string(out.join("results.json")) {
            Ok(t) => serde_json::from_str(&t).with_context(|| format!("{}", out.join("results.json").display()))?,
            Err(_) => serde_json::Value::Null,
        };
        let run = urbis_store::NewRun {
            name: scenario.name.clone(),
            started_ms,
            scenario_hash: crate::history::sha256_hex(&[text.as_bytes()]),
            scenario_toml: text,
            city_hash: crate::history::city_hash(&paths)?,
            results,
            out_dir: out.display().to_string(),
            interrupted: outcome.interrupted,
        };
        let id = store.record_run(&run)?;
        println!("kept as run {id} in {}", store.name());
    }
    Ok(outcome.interrupted)
}

/// `urbis sim lisflood`. Returns whether the run was interrupted.
pub fn sim_lisflood(par: &Path, out: Option<&Path>, json: bool) -> Result<bool> {
    use urbis_sim::lisflood;
    let case = lisflood::Case::load(par)?;
    for note in &case.notes {
        eprintln!("note: {note}");
    }
    let dir = lisflood::output_dir(&case, out);
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let c = cancel.clone();
        ctrlc::set_handler(move || {
            if c.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: writing the outputs of what has been computed (Ctrl-C again to abort)");
        })
        .context("installing the Ctrl-C handler")?;
    }
    let p = &case.params;
    let bar = indicatif::ProgressBar::new(((p.sim_time - p.tstart).max(0.0)).ceil() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>10} {bar:40} {pos}/{len} s simulated, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix("lisflood");
    let started = std::time::Instant::now();
    let summary = lisflood::run(&case, &dir, 8 << 30, &cancel, |t| bar.set_position((t - p.tstart).max(0.0) as u64))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let cells = (case.dem.ncols * case.dem.nrows) as f64;
    if json {
        let v = serde_json::json!({
            "case": par.display().to_string(),
            "out": dir.display().to_string(),
            "cells": cells,
            "steps": summary.steps,
            "t_end_s": summary.t_end,
            "interrupted": summary.cancelled,
            "max_depth_m": summary.max_depth,
            "volume_m3": summary.volume,
            "mass_error": summary.mass_error,
            "wall_s": secs,
            "cell_steps_per_s": cells * summary.steps as f64 / secs.max(1e-9),
            "files": summary.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: {} steps to t = {:.1} s in {secs:.1} s; deepest {:.3} m; {:.1} m³ on the grid, mass error {:.1e}",
            par.display(),
            summary.steps,
            summary.t_end,
            summary.max_depth,
            summary.volume,
            summary.mass_error
        );
        println!("outputs in {}", dir.display());
    }
    if summary.cancelled {
        println!("interrupted: outputs hold the run up to t = {:.1} s", summary.t_end);
    }
    Ok(summary.cancelled)
}

/// Which city the comparison shows first (`--scenario-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    Baseline,
    #[default]
    Scenario,
    Difference,
}

impl From<Mode> for compare::Mode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Baseline => compare::Mode::Baseline,
            Mode::Scenario => compare::Mode::Scenario,
            Mode::Difference => compare::Mode::Difference,
        }
    }
}

/// A comparison for the viewer.
pub struct Comparison(pub compare::Comparison);

impl Comparison {
    pub fn new(model: &mut CityModel, scenario: &Scenario, results: Option<&Path>, mode: Mode) -> Result<Comparison> {
        let dir = results.map(Path::to_path_buf).unwrap_or_else(|| default_out(&scenario.path));
        Ok(Comparison(compare::Comparison::new(model, scenario, &dir, mode.into())?))
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lines()
    }
}

impl urbis_engine::FrameHook for Comparison {
    fn before_frame(&mut self, _model: &mut CityModel) -> Vec<String> {
        self.0.lines()
    }

    fn key(&mut self, key: &str, model: &mut CityModel) {
        self.0.key(key, model);
    }

    fn title(&self) -> String {
        "Scenario".into()
    }

    fn modes(&self) -> Option<(Vec<String>, usize)> {
        let shown = match self.0.mode() {
            compare::Mode::Baseline => 0,
            compare::Mode::Scenario => 1,
            compare::Mode::Difference => 2,
        };
        Some((vec!["baseline".into(), "scenario".into(), "difference".into()], shown))
    }

    fn impacts(&self, model: &CityModel, feature: bevy_ecs::prelude::Entity) -> Vec<(String, String)> {
        model.world.get::<urbis_model::FeatureId>(feature).map(|id| self.0.impacts(&id.guid)).unwrap_or_default()
    }

    fn set_mode(&mut self, i: usize, model: &mut CityModel) {
        let mode = match i {
            0 => compare::Mode::Baseline,
            1 => compare::Mode::Scenario,
            _ => compare::Mode::Difference,
        };
        self.0.set_mode(model, mode);
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

    fn camera(&mut self, camera: &urbis_render::Camera, width: u32, height: u32) {
        for h in &mut self.0 {
            h.camera(camera, width, height);
        }
    }

    fn title(&self) -> String {
        self.0.iter().map(|h| h.title()).collect::<Vec<_>>().join(" + ")
    }

    fn drive_camera(&mut self) -> Option<urbis_render::Camera> {
        self.0.iter_mut().find_map(|h| h.drive_camera())
    }

    fn timeline(&self) -> Option<urbis_ui::Timeline> {
        self.0.iter().find_map(|h| h.timeline())
    }

    fn advance(&mut self, dt: f64) {
        for h in &mut self.0 {
            h.advance(dt);
        }
    }

    fn scrub(&mut self, at: Option<i64>, model: &mut CityModel) {
        for h in &mut self.0 {
            h.scrub(at, model);
        }
    }

    fn modes(&self) -> Option<(Vec<String>, usize)> {
        self.0.iter().find_map(|h| h.modes())
    }

    fn impacts(&self, model: &CityModel, feature: bevy_ecs::prelude::Entity) -> Vec<(String, String)> {
        self.0.iter().flat_map(|h| h.impacts(model, feature)).collect()
    }

    fn open_scenario(&mut self, path: &Path, model: &mut CityModel) {
        for h in &mut self.0 {
            h.open_scenario(path, model);
        }
    }

    fn busy(&self) -> bool {
        self.0.iter().any(|h| h.busy())
    }

    fn set_mode(&mut self, i: usize, model: &mut CityModel) {
        if let Some(h) = self.0.iter_mut().find(|h| h.modes().is_some()) {
            h.set_mode(i, model);
        }
    }

    fn tiles(&self) -> Option<(usize, usize)> {
        self.0.iter().find_map(|h| h.tiles())
    }

    fn finished(&self) -> bool {
        self.0.iter().any(|h| h.finished())
    }
}
