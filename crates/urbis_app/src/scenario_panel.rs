//! The viewer's scenario panel: open a scenario TOML, run it in the
//! background with progress, then compare it with the baseline in 3D
//! (baseline, scenario, difference; swipe) as `view --scenario` does.
//!
//! ```text
//! panel "run" ─open_scenario(path)─► thread: Scenario::load → two cities → urbis_sim::scenario::run (progress)
//!                                         └─► out/<name>/ (report, results.json, maps, playback)
//! each frame: progress lines; when the thread ends ─► Comparison::new(model, scenario, out) ─► modes
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use urbis_engine::FrameHook;
use urbis_model::CityModel;
use urbis_sim::scenario::Scenario;
use urbis_sim::scenario::run::Progress;

use crate::scenario::{Comparison, Mode, city_paths, default_out};

/// Stage, position and length of the run, shared with its thread.
#[derive(Debug, Clone, Default)]
struct Shared {
    stage: String,
    position: u64,
    total: u64,
}

struct ToPanel(Arc<Mutex<Shared>>);

impl Progress for ToPanel {
    fn stage(&mut self, name: &str, total: u64) {
        if let Ok(mut s) = self.0.lock() {
            *s = Shared { stage: name.to_string(), position: 0, total };
        }
    }

    fn advance(&mut self, position: u64, _message: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.position = position;
        }
    }
}

struct Running {
    path: PathBuf,
    out: PathBuf,
    progress: Arc<Mutex<Shared>>,
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<anyhow::Result<Vec<String>>>,
}

/// A scenario comparison the panel can replace by running another scenario.
pub struct ScenarioPanel {
    comparison: Option<Comparison>,
    running: Option<Running>,
    /// What the last run said (its figures, or why it failed).
    last: Vec<String>,
    /// Where runs write (`--scenario-results`, else `out/<name>`).
    results: Option<PathBuf>,
}

impl ScenarioPanel {
    pub fn new(comparison: Option<Comparison>, results: Option<PathBuf>) -> Self {
        Self { comparison, running: None, last: Vec::new(), results }
    }

    fn finish(&mut self, model: &mut CityModel) {
        let Some(r) = self.running.take_if(|r| r.thread.is_finished()) else { return };
        let outcome = r.thread.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the run's thread panicked")));
        match outcome.and_then(|summary| {
            let scenario = Scenario::load(&r.path)?;
            let c = Comparison::new(model, &scenario, Some(&r.out), Mode::Difference)?;
            Ok((summary, c))
        }) {
            Ok((summary, c)) => {
                tracing::info!("scenario {} run; results in {}", r.path.display(), r.out.display());
                // The previous comparison's overlay stays in the model but is no longer styled by it.
                self.comparison = Some(c);
                self.last = summary;
            }
            Err(e) => {
                tracing::warn!("scenario {} failed: {e:#}", r.path.display());
                self.last = vec![format!("{}: {e:#}", r.path.display())];
            }
        }
    }
}

impl Drop for ScenarioPanel {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl FrameHook for ScenarioPanel {
    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        self.finish(model);
        let mut lines = Vec::new();
        if let Some(r) = &self.running {
            let s = r.progress.lock().map(|s| s.clone()).unwrap_or_default();
            let pct = if s.total > 0 { 100.0 * s.position as f64 / s.total as f64 } else { 0.0 };
            let name = r.path.file_name().unwrap_or_default().to_string_lossy();
            lines.push(format!("running {name}: {} {pct:.0} %", if s.stage.is_empty() { "loading" } else { &s.stage }));
        }
        if let Some(c) = &mut self.comparison {
            lines.extend(c.before_frame(model));
        }
        lines.extend(self.last.iter().cloned());
        lines
    }

    fn key(&mut self, key: &str, model: &mut CityModel) {
        if let Some(c) = &mut self.comparison {
            c.key(key, model);
        }
    }

    fn title(&self) -> String {
        "Scenario".into()
    }

    fn modes(&self) -> Option<(Vec<String>, usize)> {
        self.comparison.as_ref().and_then(|c| c.modes())
    }

    fn set_mode(&mut self, i: usize, model: &mut CityModel) {
        if let Some(c) = &mut self.comparison {
            c.set_mode(i, model);
        }
    }

    fn impacts(&self, model: &CityModel, feature: bevy_ecs::prelude::Entity) -> Vec<(String, String)> {
        self.comparison.as_ref().map(|c| c.impacts(model, feature)).unwrap_or_default()
    }

    fn open_scenario(&mut self, path: &Path, _model: &mut CityModel) {
        if self.running.is_some() {
            self.last = vec!["a scenario is running already".into()];
            return;
        }
        let scenario = match Scenario::load(path) {
            Ok(s) => s,
            // A bad file is reported in the panel; the view keeps its comparison.
            Err(e) => {
                tracing::warn!("scenario not run: {e}");
                self.last = vec![e.to_string()];
                return;
            }
        };
        let out = self.results.clone().unwrap_or_else(|| default_out(path));
        let progress = Arc::new(Mutex::new(Shared::default()));
        let cancel = Arc::new(AtomicBool::new(false));
        let (p, c, o) = (progress.clone(), cancel.clone(), out.clone());
        let thread = std::thread::Builder::new().name("urbis-scenario".into()).spawn(move || {
            let paths = city_paths(&scenario)?;
            let (mut baseline, _) = urbis_model::open_city(&paths)?;
            let (mut modified, _) = urbis_model::open_city(&paths)?;
            let outcome =
                urbis_sim::scenario::run::run(&scenario, &mut baseline, &mut modified, &o, &c, &mut ToPanel(p))?;
            Ok(outcome.summary)
        });
        match thread {
            Ok(thread) => {
                self.last.clear();
                self.running = Some(Running { path: path.to_path_buf(), out, progress, cancel, thread });
            }
            Err(e) => self.last = vec![format!("cannot start the run: {e}")],
        }
    }

    fn busy(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.thread.is_finished())
    }
}
