//! Running a scenario: the baseline city and the modified one go through
//! the same analyses, then every result is compared.
//!
//! ```text
//! out/
//!   report.md                 what changed, and each analysis: tables, maps, charts
//!   results.json              per-building figures, baseline and scenario (read by `urbis view --scenario`)
//!   baseline/flood/  scenario/flood/   depth, arrival, speed (.asc + .prj, .tif), map, flooded buildings
//!   diff/flood_max_depth_diff.{asc,tif,png}, flood_gauges.{csv,png}, flooded_buildings_diff.csv
//!   sunlight_windows.csv, sunlight_buildings.csv, sun_hours_ground_{baseline,scenario,diff}.png
//!   viewshed_<name>_diff.png, viewshed.csv, compliance.csv
//! ```
//!
//! The report is rewritten after every section, so an interrupted run
//! (the `cancel` flag, set by Ctrl-C) leaves everything finished so far,
//! and a flood run cut short writes its partial results, marked as such.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use urbis_model::{CityModel, FeatureId};

use super::analyses;
use super::apply::{Apply, ApplyError, Changes, apply_to_city, apply_to_grid, to_enu};
use super::{FloodSpec, Scenario};
use crate::city::{CityGrid, CityGridError, GridOptions, Roughness, flood_grid, flooded_buildings};
use crate::flood::{FloodError, FloodSim, Inflow};
use crate::report::{
    ChartLine, Ramp, ReportError, line_chart_png, map_png_where, write_ascii_grid, write_flood_report, write_geotiff,
};

/// Progress of a long run: stages with a length, and positions in them.
pub trait Progress {
    fn stage(&mut self, name: &str, total: u64);
    fn advance(&mut self, position: u64, message: &str);
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {}
}

/// Errors running a scenario.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Apply { path: PathBuf, source: ApplyError },
    #[error(transparent)]
    Grid(#[from] CityGridError),
    #[error(transparent)]
    Flood(#[from] FloodError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Playback(#[from] crate::playback::PlaybackError),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub report: PathBuf,
    /// Stopped early by the cancel flag.
    pub interrupted: bool,
    /// The headline figures, one per line.
    pub summary: Vec<String>,
}

/// The run's state shared by the sections.
pub(super) struct Ctx<'a> {
    pub scenario: &'a Scenario,
    pub out: &'a Path,
    pub cancel: &'a AtomicBool,
    pub md: String,
    pub summary: Vec<String>,
    /// Per building id: figures for results.json.
    pub buildings: serde_json::Map<String, Value>,
}

impl Ctx<'_> {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    pub fn apply_err(&self, source: ApplyError) -> RunError {
        RunError::Apply { path: self.scenario.path.clone(), source }
    }

    pub fn write(&self, name: &str, text: &str) -> Result<(), RunError> {
        let p = self.out.join(name);
        std::fs::write(&p, text).map_err(|source| RunError::Io { path: p, source })
    }

    pub fn mkdir(&self, name: &str) -> Result<PathBuf, RunError> {
        let p = self.out.join(name);
        std::fs::create_dir_all(&p).map_err(|source| RunError::Io { path: p.clone(), source })?;
        Ok(p)
    }

    /// Merges figures into a building's entry in results.json.
    pub fn building(&mut self, id: &str, key: &str, v: Value) {
        let e = self.buildings.entry(id.to_string()).or_insert_with(|| json!({}));
        if let Some(o) = e.as_object_mut() {
            o.insert(key.into(), v);
        }
    }

    fn flush(&self, interrupted: bool) -> Result<(), RunError> {
        let mut md = self.md.clone();
        if interrupted {
            md.push_str("\n**Interrupted (Ctrl-C)**: the sections above are complete or marked partial; later analyses did not run.\n");
        }
        self.write("report.md", &md)?;
        let results =
            json!({ "scenario": self.scenario.name, "interrupted": interrupted, "buildings": self.buildings });
        self.write("results.json", &serde_json::to_string_pretty(&results).unwrap_or_default())
    }
}

/// Runs every analysis the scenario names on `baseline` and on `modified`
/// (the same city, loaded twice; the scenario's changes are applied to
/// `modified` here), writing into `out`.
pub fn run(
    scenario: &Scenario,
    baseline: &mut CityModel,
    modified: &mut CityModel,
    out: &Path,
    cancel: &AtomicBool,
    progress: &mut dyn Progress,
) -> Result<Outcome, RunError> {
    std::fs::create_dir_all(out).map_err(|source| RunError::Io { path: out.to_path_buf(), source })?;
    let mut cx = Ctx { scenario, out, cancel, md: String::new(), summary: Vec::new(), buildings: Default::default() };
    let changes = apply_to_city(modified, scenario, Apply::Rebuild).map_err(|e| cx.apply_err(e))?;
    cx.md = format!(
        "# Scenario: {}\n\n{}\n\nScenario file: `{}`\n\n## Changes\n\n",
        scenario.name,
        scenario.description,
        scenario.path.display()
    );
    for m in &scenario.modifications {
        cx.md.push_str(&format!("- {}\n", m.describe()));
    }
    if let Some(r) = scenario.roughness {
        cx.md.push_str(&format!(
            "- Manning's n: road {}, vegetation {}, water {}, ground {} (baseline: defaults)\n",
            r.road, r.vegetation, r.water, r.ground
        ));
    }
    record_changes(&mut cx, modified, &changes);
    cx.flush(false)?;
    let mut interrupted = false;
    if let Some(spec) = &scenario.flood {
        interrupted = flood_section(&mut cx, spec, baseline, modified, progress)?;
        cx.flush(interrupted)?;
    }
    // Surface grids for ground sunlight and viewsheds, built once.
    let needs_grid = scenario.sunlight.is_some() || scenario.viewshed.is_some();
    let mut grids: Option<(CityGrid, CityGrid)> = None;
    if needs_grid && !interrupted {
        let coarsen = scenario.viewshed.as_ref().map_or(2, |v| v.coarsen);
        let opts = GridOptions { coarsen, ..Default::default() };
        let gb = flood_grid(baseline, &opts)?;
        let mut gs = flood_grid(modified, &opts)?;
        apply_to_grid(&mut gs, scenario, modified.frame()).map_err(|e| cx.apply_err(e))?;
        grids = Some((gb, gs));
    }
    if let (Some(spec), Some((gb, gs)), false) = (&scenario.sunlight, &grids, interrupted) {
        interrupted = analyses::sunlight_section(&mut cx, spec, baseline, modified, &changes, gb, gs, progress)?;
        cx.flush(interrupted)?;
    }
    if let (Some(spec), Some((gb, gs)), false) = (&scenario.viewshed, &grids, cx.cancelled()) {
        analyses::viewshed_section(&mut cx, spec, modified, &changes, gb, gs, progress)?;
        cx.flush(false)?;
    }
    if let (Some(spec), false) = (&scenario.compliance, cx.cancelled()) {
        analyses::compliance_section(&mut cx, spec, modified, &changes)?;
    }
    interrupted |= cx.cancelled();
    cx.flush(interrupted)?;
    Ok(Outcome { report: out.join("report.md"), interrupted, summary: cx.summary })
}

fn guid(city: &CityModel, e: bevy_ecs::prelude::Entity) -> String {
    city.world.get::<FeatureId>(e).map_or_else(|| format!("{e:?}"), |f| f.guid.clone())
}

fn record_changes(cx: &mut Ctx, modified: &CityModel, changes: &Changes) {
    for e in &changes.added {
        let id = guid(modified, *e);
        cx.building(&id, "change", json!("added"));
    }
    for (e, f) in &changes.raised {
        let id = guid(modified, *e);
        cx.building(&id, "change", json!("raised"));
        cx.building(&id, "height_factor", json!(f));
    }
    // Removed buildings are gone from `modified`: their ids come from the scenario.
    for m in &cx.scenario.modifications {
        if let super::Modification::RemoveBuilding { id, .. } = m {
            cx.building(id, "change", json!("removed"));
        }
    }
    cx.summary.push(format!(
        "{} buildings added, {} raised, {} removed",
        changes.added.len(),
        changes.raised.len(),
        changes.removed.len()
    ));
}

/// One flood run with its gauge records.
struct FloodRun {
    grid: CityGrid,
    sim: FloodSim,
    /// Per gauge: (minute, depth m).
    gauges: Vec<Vec<(f64, f64)>>,
    /// Every cell's depth at every gauge interval, for the viewer's playback.
    playback: crate::playback::FloodPlayback,
    complete: bool,
    seconds: f64,
}

fn simulate(
    cx: &Ctx,
    city: &mut CityModel,
    spec: &FloodSpec,
    roughness: Roughness,
    edit: bool,
    label: &str,
    progress: &mut dyn Progress,
) -> Result<FloodRun, RunError> {
    let frame = *city.frame();
    let mut grid = flood_grid(city, &GridOptions { coarsen: spec.coarsen, roughness, memory_limit: spec.memory_limit })
        .map_err(|e| match e {
            CityGridError::Flood(too @ FloodError::TooLarge { .. }) => cx.apply_err(ApplyError {
                at: spec.grid_at.clone(),
                message: format!("{too}; raise flood.coarsen or flood.memory_limit_mb"),
            }),
            other => other.into(),
        })?;
    if edit {
        apply_to_grid(&mut grid, cx.scenario, &frame).map_err(|e| cx.apply_err(e))?;
    }
    let cell_of = |shape: &super::Shape| -> Result<(usize, usize), RunError> {
        let p = to_enu(shape, &frame).map_err(|e| cx.apply_err(e))?[0];
        grid.cell_at_enu(p.x, p.y).ok_or_else(|| {
            cx.apply_err(ApplyError { at: shape.at.clone(), message: "lies outside the flood grid".into() })
        })
    };
    let mut model = grid.model.clone();
    model.rain = spec.rain.clone();
    for (shape, q) in &spec.inflows {
        model.inflows.push(Inflow { cell: cell_of(shape)?, discharge: q.clone() });
    }
    // A gauge on a building is moved to the nearest open cell (within 5 cells) beside it.
    let open = |(i, j): (usize, usize)| -> usize {
        let (nx, ny) = (grid.nx() as i64, grid.ny() as i64);
        let mut best = (i64::MAX, j * grid.nx() + i);
        for dj in -5i64..=5 {
            for di in -5i64..=5 {
                let (a, b) = (i as i64 + di, j as i64 + dj);
                if a < 0 || b < 0 || a >= nx || b >= ny {
                    continue;
                }
                let c = (b * nx + a) as usize;
                let d = di * di + dj * dj;
                if grid.cover[c] != crate::city::Cover::Building && grid.model.z[c].is_finite() && d < best.0 {
                    best = (d, c);
                }
            }
        }
        best.1
    };
    let gauge_cells: Vec<usize> = spec.gauges.iter().map(|(_, s)| cell_of(s).map(open)).collect::<Result<_, _>>()?;
    let normal = model.fixed_stage.clone();
    let mut sim = FloodSim::new(model, Some(grid.h0.clone()))?;
    let mut gauges: Vec<Vec<(f64, f64)>> = gauge_cells.iter().map(|c| vec![(0.0, sim.h[*c])]).collect();
    let mut playback = crate::playback::FloodPlayback::new(grid.nx(), grid.ny(), sim.model.dx, grid.enu.clone());
    playback.push(0.0, &sim.h);
    progress.stage(label, spec.duration_s as u64);
    let start = Instant::now();
    let checkpoint = spec.gauge_interval_s.min(60.0);
    let (mut t, mut next_gauge) = (0.0f64, spec.gauge_interval_s);
    let mut complete = true;
    while t < spec.duration_s {
        if cx.cancelled() {
            complete = false;
            break;
        }
        t = (t + checkpoint).min(spec.duration_s);
        if spec.river_rise_m != 0.0 {
            let ramp = if spec.rise_over_s > 0.0 { (t / spec.rise_over_s).min(1.0) } else { 1.0 };
            let raised = spec.river_rise_m * ramp;
            sim.model.fixed_stage = normal.iter().map(|&(cell, level)| (cell, level + raised)).collect();
        }
        sim.run_until(t, |_| {});
        if t + 1e-9 >= next_gauge || t >= spec.duration_s {
            for (g, c) in gauges.iter_mut().zip(&gauge_cells) {
                g.push((t / 60.0, sim.h[*c]));
            }
            playback.push(t, &sim.h);
            next_gauge += spec.gauge_interval_s;
        }
        progress.advance(t as u64, &format!("{label}: {} steps", sim.steps));
    }
    Ok(FloodRun { grid, sim, gauges, playback, complete, seconds: start.elapsed().as_secs_f64() })
}

/// Depth rise over the initial water, NaN on buildings.
fn rise(run: &FloodRun) -> Vec<f32> {
    crate::city::ground_rise(&run.grid, &run.sim.max_depth)
}

fn flood_section(
    cx: &mut Ctx,
    spec: &FloodSpec,
    baseline: &mut CityModel,
    modified: &mut CityModel,
    progress: &mut dyn Progress,
) -> Result<bool, RunError> {
    let ramp = Ramp::water_depth("m above initial", (spec.river_rise_m.abs() + 1.0).max(1.0));
    let rain_mm: f64 = spec.rain.integral(0.0, spec.duration_s) * 1000.0;
    let headline = format!("{rain_mm:.0} mm of rain, river {:+.1} m", spec.river_rise_m);
    let mut runs = Vec::new();
    for (label, city, roughness, edit) in [
        ("baseline", &mut *baseline, Roughness::default(), false),
        ("scenario", &mut *modified, cx.scenario.roughness.unwrap_or_default(), true),
    ] {
        let run = simulate(cx, city, spec, roughness, edit, &format!("flood ({label})"), progress)?;
        let dir = cx.mkdir(&format!("{label}/flood"))?;
        let state = if run.complete {
            String::new()
        } else {
            format!(" — PARTIAL, interrupted at {:.1} min", run.sim.t / 60.0)
        };
        let title = format!("{}: {label} max depth{state}", cx.scenario.name);
        write_flood_report(
            &dir,
            city,
            &run.grid,
            &run.sim,
            &ramp,
            &title,
            spec.threshold_m,
            &format!("{headline}{state}"),
            run.seconds,
        )?;
        run.playback.write(&dir.join("playback.bin"))?;
        let complete = run.complete;
        runs.push(run);
        if !complete {
            break;
        }
    }
    let interrupted = runs.iter().any(|r| !r.complete);
    cx.md.push_str(&format!(
        "\n## Flood\n\n{headline}; {:.0} min simulated; cells of {} m.\n\n",
        spec.duration_s / 60.0,
        runs[0].grid.model.dx
    ));
    cx.md.push_str("| run | steps | cell-steps/s | mass error | ground area deeper than threshold (km²) | flooded buildings |\n|---|---|---|---|---|---|\n");
    let mut flooded = Vec::new();
    for (label, r, city) in [("baseline", runs.first(), &*baseline), ("scenario", runs.get(1), &*modified)] {
        let Some(r) = r else { continue };
        let rs = rise(r);
        let list = flooded_buildings(city, &r.grid, &rs, spec.threshold_m);
        let deep = rs.iter().filter(|v| **v as f64 > spec.threshold_m).count() as f64 * r.grid.model.dx.powi(2) / 1e6;
        cx.md.push_str(&format!(
            "| {label}{} | {} | {:.2e} | {:.1e} | {deep:.3} | {} |\n",
            if r.complete { "" } else { " (partial)" },
            r.sim.steps,
            r.sim.cell_steps as f64 / r.seconds.max(1e-9),
            r.sim.mass_error(),
            list.len()
        ));
        flooded.push(list);
    }
    cx.md.push_str(
        "\nMaximum depth: [baseline](baseline/flood/max_depth.png), [scenario](scenario/flood/max_depth.png) \
         (grids as .asc and .tif beside them).\n\n![scenario](scenario/flood/max_depth.png)\n",
    );
    if let [b, s] = &runs[..] {
        let (rb, rs) = (rise(b), rise(s));
        let diff: Vec<f32> =
            rb.iter().zip(&rs).map(|(a, c)| if a.is_finite() && c.is_finite() { c - a } else { f32::NAN }).collect();
        let d = cx.mkdir("diff")?;
        write_ascii_grid(&d.join("flood_max_depth_diff.asc"), &s.grid, &diff)?;
        write_geotiff(&d.join("flood_max_depth_diff.tif"), &s.grid, &diff)?;
        let div = Ramp {
            title: "depth change".into(),
            unit: "m, scenario - baseline".into(),
            min: -0.5,
            max: 0.5,
            colors: vec![[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]],
        };
        map_png_where(
            &d.join("flood_max_depth_diff.png"),
            &s.grid,
            &diff,
            &div,
            &format!("{}: max depth change", cx.scenario.name),
            |v| v.abs() > 0.02,
        )?;
        let deeper = diff.iter().filter(|v| **v > 0.02).count() as f64 * s.grid.model.dx.powi(2) / 1e6;
        let shallower = diff.iter().filter(|v| **v < -0.02).count() as f64 * s.grid.model.dx.powi(2) / 1e6;
        cx.md.push_str(&format!(
            "\n### Difference\n\nDeeper by more than 2 cm: {deeper:.3} km²; shallower: {shallower:.3} km².\n\n![depth change](diff/flood_max_depth_diff.png)\n"
        ));
        cx.summary.push(format!("flood: {deeper:.3} km2 deeper, {shallower:.3} km2 shallower"));
        // Buildings, matched by id.
        let by_id = |l: &Vec<crate::city::FloodedBuilding>| -> std::collections::BTreeMap<String, f64> {
            l.iter().map(|b| (b.id.clone(), b.max_depth)).collect()
        };
        let (fb, fs) = (by_id(&flooded[0]), by_id(&flooded[1]));
        let mut ids: Vec<&String> = fb.keys().chain(fs.keys()).collect();
        ids.sort();
        ids.dedup();
        let mut rows: Vec<(String, f64, f64)> = ids
            .iter()
            .map(|id| ((*id).clone(), fb.get(*id).copied().unwrap_or(0.0), fs.get(*id).copied().unwrap_or(0.0)))
            .collect();
        rows.sort_by(|a, b| (b.2 - b.1).abs().total_cmp(&(a.2 - a.1).abs()));
        let mut csv = String::from("building_id,baseline_depth_m,scenario_depth_m,change_m\n");
        for (id, a, c) in &rows {
            csv.push_str(&format!("{id},{a:.3},{c:.3},{:.3}\n", c - a));
            cx.building(id, "flood_depth_m", json!([a, c]));
        }
        cx.write("diff/flooded_buildings_diff.csv", &csv)?;
        let newly = rows.iter().filter(|r| r.1 == 0.0 && r.2 > 0.0).count();
        let relieved = rows.iter().filter(|r| r.1 > 0.0 && r.2 == 0.0).count();
        // Changes under a centimetre are left to the CSV.
        let changed: Vec<&(String, f64, f64)> = rows.iter().filter(|r| (r.2 - r.1).abs() >= 0.01).collect();
        cx.md.push_str(&format!(
            "\nBuildings newly flooded: {newly}; no longer flooded: {relieved}; depth next to them changed by 1 cm or more: {} \
             (all in `diff/flooded_buildings_diff.csv`).\n",
            changed.len()
        ));
        if !changed.is_empty() {
            cx.md.push_str("\n| building | baseline (m) | scenario (m) |\n|---|---|---|\n");
            for (id, a, c) in changed.iter().take(10) {
                cx.md.push_str(&format!("| {id} | {a:.2} | {c:.2} |\n"));
            }
        }
        cx.summary.push(format!(
            "flooded buildings: {} baseline, {} scenario ({newly} new, {relieved} relieved)",
            fb.len(),
            fs.len()
        ));
    }
    if !spec.gauges.is_empty() {
        let palette = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14], [23, 190, 207]];
        let mut lines = Vec::new();
        let mut csv = String::from("gauge,run,minute,depth_m\n");
        for (k, (name, _)) in spec.gauges.iter().enumerate() {
            for (r, label, dashed) in [(runs.first(), "baseline", true), (runs.get(1), "scenario", false)] {
                let Some(r) = r else { continue };
                for (t, h) in &r.gauges[k] {
                    csv.push_str(&format!("\"{name}\",{label},{t:.2},{h:.4}\n"));
                }
                lines.push(ChartLine {
                    label: format!("{name} ({label})"),
                    color: palette[k % palette.len()],
                    dashed,
                    points: r.gauges[k].clone(),
                });
            }
        }
        cx.mkdir("diff")?;
        cx.write("diff/flood_gauges.csv", &csv)?;
        line_chart_png(&cx.out.join("diff/flood_gauges.png"), "Water depth at gauges", "minutes", "depth (m)", &lines)?;
        cx.md.push_str("\n### Gauges\n\n![gauges](diff/flood_gauges.png)\n\n| gauge | baseline peak (m) | scenario peak (m) |\n|---|---|---|\n");
        for (k, (name, _)) in spec.gauges.iter().enumerate() {
            let peak =
                |r: Option<&FloodRun>| r.map_or(f64::NAN, |r| r.gauges[k].iter().map(|p| p.1).fold(0.0, f64::max));
            cx.md.push_str(&format!("| {name} | {:.2} | {:.2} |\n", peak(runs.first()), peak(runs.get(1))));
        }
    }
    Ok(interrupted)
}
