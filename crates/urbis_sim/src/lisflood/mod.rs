//! LISFLOOD-FP cases as input: a `.par` file and the files it names run
//! with Urbis' flood solver, and write LISFLOOD-FP's outputs in its own
//! formats, so an analyst can rerun an existing case and compare line for line.
//!
//! ```text
//! case.par ─► par::parse ─► Params ─┬─ DEM, manningfile, startfile (ESRI ASCII, raw or gzip)
//!                                   ├─ .bci + .bdy ─► edge conditions, point sources and stages
//!                                   └─ .stage gauges
//!            Case::model ─► FloodModel (LISFLOOD-FP's semantics) ─► run ─► .stage .mass .max .mxe
//!                                                                    .inittm .maxtm .totaltm -NNNN.wd/.elev .dem
//! ```
//!
//! The semantics are LISFLOOD-FP 8.1's ACC solver's: its gravity (9.80655),
//! CFL 0.7 with `initial_tstep` as the longest step, θ = 1, friction from
//! the speed in both directions unless `1Dfriction`, flow depths capped at
//! 10 m, no Froude limit, `.bdy` series linearly interpolated, QFIX/QVAR
//! per unit width (× the cell size, on edges and at points), HFIX/HVAR as
//! water-surface elevations, FREE outflow down the given or local slope,
//! and gauge and balance rows at the first step end at or after each
//! `massint` (steps are not shortened; the run overshoots `sim_time` as
//! LISFLOOD-FP's does). Where Urbis differs, on purpose:
//!
//! - outflow is limited so no depth goes negative and mass is exact;
//!   LISFLOOD-FP scales outflows cell by cell and then clips negative
//!   depths to zero, which adds water (its `.mass` error column shows it);
//! - a face's n² is the mean of its cells' n², not the square of their mean;
//! - inflows are integrated exactly over each step, not taken at its start;
//! - relative paths in the `.par` are resolved against its folder (LISFLOOD-FP
//!   uses the working directory), `xllcenter` is honoured (LISFLOOD-FP reads
//!   it as a corner), gzipped grids are read, and every keyword Urbis does not
//!   support is refused rather than ignored.

pub mod inputs;
pub mod output;
pub mod par;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::flood::{EdgeCondition, EdgeSegment, Friction, Inflow, Series, Side};
use crate::{FloodModel, FloodSim};
pub use inputs::{Bc, BcKind, BcPlace, BcValue, Grid};
pub use par::Params;

/// An error reading or running a case; each names its file (and line).
#[derive(Debug, thiserror::Error)]
pub enum LisfloodError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {msg}", path.display())]
    At { path: PathBuf, line: usize, msg: String },
    #[error("{}: keywords Urbis does not support:\n  {}", file.display(), keywords.join("\n  "))]
    Unsupported { file: PathBuf, keywords: Vec<String> },
    #[error("{0}")]
    Flood(#[from] crate::flood::FloodError),
}

impl LisfloodError {
    pub(crate) fn at(path: &Path, line: usize, msg: String) -> Self {
        LisfloodError::At { path: path.to_path_buf(), line, msg }
    }
}

/// A point forcing from the `.bci` file.
#[derive(Debug, Clone, PartialEq)]
enum PointForcing {
    /// A water-surface elevation imposed on the cell after every step.
    Stage(Series),
    /// An inflow, m³/s.
    Flow(Series),
}

/// A gauge: its x and y, and its cell (column, row from the north) when on the grid.
pub type Gauge = (f64, f64, Option<(usize, usize)>);

/// A value per cell (column, row from the north) for an output grid.
type CellValue<'a> = Box<dyn Fn(usize, usize) -> f64 + 'a>;

/// A case read and checked, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    pub par: PathBuf,
    pub params: Params,
    pub dem: Grid,
    /// Manning's n per cell (row 0 north), NODATA replaced by `fpfric`.
    pub manning: Vec<f64>,
    /// Initial depths (row 0 north).
    pub h0: Vec<f64>,
    edges: Vec<EdgeSegment>,
    /// (column, row from the north, forcing).
    points: Vec<(usize, usize, PointForcing)>,
    /// Gauges: (x, y, cell (column, row from the north) if on the grid).
    pub gauges: Vec<Gauge>,
    /// The stage file's name as the `.par` gives it.
    pub stage_name: Option<String>,
    /// Notes for the analyst (keywords that change nothing, `xllcenter`).
    pub notes: Vec<String>,
}

impl Case {
    /// Reads `par` and every file it names.
    pub fn load(par: &Path) -> Result<Case, LisfloodError> {
        let text = inputs::read_text(par)?;
        let dir = par.parent().unwrap_or(Path::new(".")).to_path_buf();
        let params = par::parse(&text, par, &dir)?;
        let dem = inputs::read_grid(&params.dem)?;
        let (nx, ny) = (dem.ncols, dem.nrows);
        let mut notes: Vec<String> = params
            .no_effect
            .iter()
            .map(|(l, k)| format!("{}:{l}: `{k}` changes nothing in an ACC run (nor in LISFLOOD-FP's)", par.display()))
            .collect();
        if dem.centred {
            notes.push(format!(
                "{}: xllcenter/yllcenter read as cell centres (LISFLOOD-FP would read them as corners, half a cell off)",
                params.dem.display()
            ));
        }
        let same_grid = |g: &Grid, path: &Path| -> Result<(), LisfloodError> {
            if (g.ncols, g.nrows) != (nx, ny) {
                return Err(LisfloodError::at(
                    path,
                    1,
                    format!("{} × {} cells, but the DEM has {nx} × {ny}", g.ncols, g.nrows),
                ));
            }
            Ok(())
        };
        let manning = match &params.manningfile {
            Some(p) => {
                let g = inputs::read_grid(p)?;
                same_grid(&g, p)?;
                if let Some(bad) = g.values.iter().find(|v| **v < 0.0) {
                    return Err(LisfloodError::at(p, 0, format!("negative Manning's n {bad}")));
                }
                g.values.iter().map(|v| if v.is_nan() { params.fpfric } else { *v }).collect()
            }
            None => vec![params.fpfric; nx * ny],
        };
        let h0: Vec<f64> = match &params.startfile {
            Some(p) => {
                let g = inputs::read_grid(p)?;
                same_grid(&g, p)?;
                g.values
                    .iter()
                    .zip(&dem.values)
                    .map(|(v, z)| match (v.is_nan(), params.startelev) {
                        (true, _) => 0.0,
                        (false, true) => (v - z).max(0.0),
                        (false, false) => v.max(0.0),
                    })
                    .map(|d| if d.is_finite() { d } else { 0.0 })
                    .collect()
            }
            None => vec![0.0; nx * ny],
        };
        let series = match &params.bdyfile {
            Some(p) => inputs::parse_bdy(&inputs::read_text(p)?, p)?,
            None => BTreeMap::new(),
        };
        let (mut edges, mut points) = (Vec::new(), Vec::new());
        if let Some(p) = &params.bcifile {
            for bc in inputs::parse_bci(&inputs::read_text(p)?, p)? {
                place_bc(&bc, &dem, &series, p, params.bdyfile.as_deref(), &mut edges, &mut points)?;
            }
        }
        let (gauges, stage_name) = match &params.stagefile {
            Some(p) => {
                let list = inputs::parse_stage(&inputs::read_text(p)?, p)?;
                let name = text
                    .lines()
                    .find(|l| l.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case("stagefile")))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or_default()
                    .to_string();
                (list.into_iter().map(|(x, y)| (x, y, gauge_cell(&dem, x, y))).collect(), Some(name))
            }
            None => (Vec::new(), None),
        };
        Ok(Case { par: par.to_path_buf(), params, dem, manning, h0, edges, points, gauges, stage_name, notes })
    }

    /// The flood model with LISFLOOD-FP's semantics, and its initial depths (row 0 south).
    pub fn model(&self, memory_limit: u64) -> Result<(FloodModel, Vec<f64>), LisfloodError> {
        let (nx, ny, p) = (self.dem.ncols, self.dem.nrows, &self.params);
        let south_up =
            |v: &[f64]| -> Vec<f64> { (0..ny).rev().flat_map(|r| v[r * nx..(r + 1) * nx].iter().copied()).collect() };
        let mut m = FloodModel::new(nx, ny, self.dem.cell, south_up(&self.dem.values), p.fpfric, memory_limit)?;
        m.manning = south_up(&self.manning);
        m.g = p.gravity;
        m.alpha = p.cfl;
        m.max_dt = p.initial_tstep;
        m.theta = p.theta;
        m.h_min = p.depththresh;
        m.friction = if p.one_d_friction { Friction::FaceNormal } else { Friction::TwoD };
        m.froude_max = f64::INFINITY;
        m.h_flow_max = 10.0;
        m.arrival_depth = p.depththresh;
        m.edges = self.edges.clone();
        for (col, row, f) in &self.points {
            let cell = (*col, ny - 1 - row);
            match f {
                PointForcing::Flow(s) => m.inflows.push(Inflow { cell, discharge: s.clone() }),
                PointForcing::Stage(s) => m.fixed_stage.push((cell, s.at(p.tstart))),
            }
        }
        Ok((m, south_up(&self.h0)))
    }

    fn stage_series(&self) -> Vec<Option<&Series>> {
        self.points
            .iter()
            .filter(|(_, _, f)| matches!(f, PointForcing::Stage(_)))
            .map(|(_, _, f)| match f {
                PointForcing::Stage(s) => Some(s),
                PointForcing::Flow(_) => None,
            })
            .collect()
    }
}

/// The cell of a gauge: column from the west edge, row from the north, or
/// `None` off the grid (LISFLOOD-FP prints `-` for it).
fn gauge_cell(dem: &Grid, x: f64, y: f64) -> Option<(usize, usize)> {
    let (a, b) = ((x - dem.xll) / dem.cell, (y - dem.yll) / dem.cell);
    if !(a >= 0.0 && b >= 0.0 && a < dem.ncols as f64 && b < dem.nrows as f64) {
        return None;
    }
    Some((a.floor() as usize, dem.nrows - 1 - b.floor() as usize))
}

#[allow(clippy::too_many_arguments)]
fn place_bc(
    bc: &Bc,
    dem: &Grid,
    series: &BTreeMap<String, Series>,
    bci: &Path,
    bdy: Option<&Path>,
    edges: &mut Vec<EdgeSegment>,
    points: &mut Vec<(usize, usize, PointForcing)>,
) -> Result<(), LisfloodError> {
    let (nx, ny, dx) = (dem.ncols, dem.nrows, dem.cell);
    let top = dem.yll + ny as f64 * dx;
    let value = |scale: f64| -> Result<Series, LisfloodError> {
        match &bc.value {
            Some(BcValue::Fixed(v)) => Ok(Series::linear(vec![(0.0, v * scale)])),
            Some(BcValue::Named(name)) => {
                let s = series.get(name).ok_or_else(|| {
                    let src = bdy
                        .map_or("no bdyfile is given".to_string(), |b| format!("{} has no such series", b.display()));
                    LisfloodError::at(bci, bc.line, format!("series `{name}`: {src}"))
                })?;
                Ok(Series::linear(s.points.iter().map(|&(t, v)| (t, v * scale)).collect()))
            }
            None => Ok(Series::default()),
        }
    };
    match bc.place {
        BcPlace::Edge { side, from, to } => {
            let (lo, hi) = (from.min(to), from.max(to));
            // LISFLOOD-FP's cell choice (`input.cpp`, LoadBCs): coordinates clamped to the
            // domain; north and east edges round down, south and west up.
            let a = |x: f64| (x.clamp(dem.xll, dem.xll + nx as f64 * dx) - dem.xll) / dx;
            let b = |y: f64| (top - y.clamp(dem.yll, top)) / dx;
            let (side, cells) = match side {
                'N' => (Side::North, a(lo).floor() as usize..a(hi).floor() as usize),
                'S' => (Side::South, a(lo).ceil() as usize..a(hi).ceil() as usize),
                // Rows from the north → rows from the south.
                'E' => {
                    let (r0, r1) = (b(hi).floor() as usize, b(lo).floor() as usize);
                    (Side::East, ny - r1.min(ny)..ny - r0.min(ny))
                }
                _ => {
                    let (r0, r1) = (b(hi).ceil() as usize, b(lo).ceil() as usize);
                    (Side::West, ny - r1.min(ny)..ny - r0.min(ny))
                }
            };
            let condition = match bc.kind {
                BcKind::Free => EdgeCondition::Free {
                    slope: match bc.value {
                        Some(BcValue::Fixed(s)) => Some(s),
                        _ => None,
                    },
                },
                BcKind::Level => EdgeCondition::Level(value(1.0)?),
                BcKind::Flow => EdgeCondition::Flow(value(1.0)?),
            };
            if !cells.is_empty() {
                edges.push(EdgeSegment { side, cells, condition });
            }
        }
        BcPlace::Point { x, y } => {
            let (a, b) = ((x - dem.xll) / dx, (top - y) / dx);
            if !(a >= 0.0 && b >= 0.0 && a < nx as f64 && b < ny as f64) {
                return Err(LisfloodError::at(bci, bc.line, format!("point ({x}, {y}) lies outside the DEM")));
            }
            let forcing = match bc.kind {
                BcKind::Level => PointForcing::Stage(value(1.0)?),
                // Per unit width × the cell size (LISFLOOD-FP `iterateq.cpp`).
                BcKind::Flow => PointForcing::Flow(value(dx)?),
                BcKind::Free => unreachable!("refused by parse_bci"),
            };
            points.push((a as usize, b as usize, forcing));
        }
    }
    Ok(())
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub steps: u64,
    /// The last step's end (at or past `sim_time`).
    pub t_end: f64,
    pub cancelled: bool,
    pub max_depth: f64,
    /// Water on the grid at the end, m³, and the relative mass error.
    pub volume: f64,
    pub mass_error: f64,
    pub files: Vec<PathBuf>,
}

/// The output folder a case writes to: `out` if given, else its `dirroot`
/// (relative to the `.par`), else the `.par`'s folder.
pub fn output_dir(case: &Case, out: Option<&Path>) -> PathBuf {
    match (out, &case.params.dirroot) {
        (Some(o), _) => o.to_path_buf(),
        (None, Some(d)) => d.clone(),
        (None, None) => case.par.parent().unwrap_or(Path::new(".")).to_path_buf(),
    }
}

/// Runs a case to `sim_time`, writing its outputs into `dir`; `progress(t)`
/// is called after every step; `cancel` stops it after the current step
/// (the outputs then hold what was computed).
pub fn run(
    case: &Case,
    dir: &Path,
    memory_limit: u64,
    cancel: &AtomicBool,
    mut progress: impl FnMut(f64),
) -> Result<RunSummary, LisfloodError> {
    std::fs::create_dir_all(dir).map_err(|e| LisfloodError::Io { path: dir.to_path_buf(), source: e })?;
    let p = &case.params;
    let (nx, ny, dx) = (case.dem.ncols, case.dem.nrows, case.dem.cell);
    let file = |ext: &str| dir.join(format!("{}{ext}", p.resroot));
    let geo = (case.dem.xll, case.dem.yll, dx);
    let mut files = Vec::new();
    // The DEM as used, NODATA as LISFLOOD-FP's 1e7 m walls.
    let dem_out = file(".dem");
    output::write_grid(
        &dem_out,
        (nx, ny),
        geo,
        |c, r| {
            let z = case.dem.values[r * nx + c];
            if z.is_nan() { 1e7 } else { z }
        },
        p.output_precision,
    )?;
    files.push(dem_out);
    let (model, h0) = case.model(memory_limit)?;
    let stages = case.stage_series();
    let mut sim = FloodSim::new(model, Some(h0))?;
    sim.t = p.tstart;
    let idx = |c: usize, r: usize| (ny - 1 - r) * nx + c;
    let mut stage_out = match &case.stage_name {
        Some(name) => {
            let gauges: Vec<(f64, f64, Option<f64>)> = case
                .gauges
                .iter()
                .map(|(x, y, cell)| (*x, *y, cell.map(|(c, r)| case.dem.values[r * nx + c])))
                .collect();
            let path = file(".stage");
            files.push(path.clone());
            Some(output::StageWriter::create(&path, name, &gauges)?)
        }
        None => None,
    };
    let mass_path = file(".mass");
    let io = |e: std::io::Error, path: &Path| LisfloodError::Io { path: path.to_path_buf(), source: e };
    let mut mass = std::io::BufWriter::new(std::fs::File::create(&mass_path).map_err(|e| io(e, &mass_path))?);
    use std::io::Write;
    mass.write_all(output::MASS_HEADER.as_bytes()).map_err(|e| io(e, &mass_path))?;
    files.push(mass_path.clone());
    // LISFLOOD-FP's per-cell records, updated where the depth exceeds the threshold.
    let n = nx * ny;
    let (mut max_h, mut max_t, mut init_t, mut total_t) =
        (vec![0.0f64; n], vec![f64::NAN; n], vec![f64::NAN; n], vec![0.0f64; n]);
    let (mut mass_total, mut save_total, mut save_no) = (p.tstart, p.tstart, 0u32);
    let mut min_dt = p.initial_tstep;
    let mut vol_prev = sim.volume();
    let mut net_since = 0.0;
    let mut cancelled = false;
    while sim.t < p.sim_time {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        for (k, s) in stages.iter().enumerate() {
            if let Some(s) = s {
                sim.model.fixed_stage[k].1 = s.at(sim.t);
            }
        }
        let dt = sim.stable_dt();
        let before = sim.balance;
        let first = sim.t <= p.tstart;
        sim.step_dt(dt);
        if !first {
            min_dt = min_dt.min(dt);
        }
        let b = sim.balance;
        let vin =
            (b.inflow - before.inflow) + (b.boundary_in_gross - before.boundary_in_gross) + (b.rain - before.rain);
        let vout = b.boundary_out_gross - before.boundary_out_gross;
        net_since += vin - vout;
        let (t, thresh) = (sim.t, p.depththresh);
        let hours = t / 3600.0;
        max_h
            .par_iter_mut()
            .zip(max_t.par_iter_mut())
            .zip(init_t.par_iter_mut())
            .zip(total_t.par_iter_mut())
            .zip(sim.h.par_iter())
            .for_each(|((((mh, mt), it), tt), &h)| {
                if h > thresh {
                    if h > *mh {
                        *mh = h;
                        *mt = hours;
                    }
                    if it.is_nan() {
                        *it = hours;
                    }
                    *tt += dt / 3600.0;
                }
            });
        if t >= mass_total {
            let volume = sim.volume();
            let v_error = net_since - (volume - vol_prev);
            let area = sim.h.par_iter().filter(|h| **h > 0.01).count() as f64 * dx * dx;
            let row = output::MassRow {
                t,
                dt,
                min_dt,
                steps: sim.steps,
                area,
                volume,
                q_in: vin / dt,
                q_out: vout / dt,
                v_error,
                q_error: v_error / p.massint,
            };
            mass.write_all(output::mass_line(&row).as_bytes()).map_err(|e| io(e, &mass_path))?;
            (vol_prev, net_since) = (volume, 0.0);
            if let Some(w) = &mut stage_out {
                let depths: Vec<Option<f64>> =
                    case.gauges.iter().map(|(_, _, cell)| cell.map(|(c, r)| sim.h[idx(c, r)])).collect();
                w.row(t, &depths)?;
            }
            mass_total += p.massint;
        }
        if t >= save_total {
            let tag = if save_no <= 9999 { format!("-{save_no:04}") } else { format!("-{save_no}") };
            if !p.depthoff {
                let path = file(&format!("{tag}.wd"));
                output::write_grid(&path, (nx, ny), geo, |c, r| sim.h[idx(c, r)], p.output_precision)?;
                files.push(path);
            }
            if !p.elevoff {
                let path = file(&format!("{tag}.elev"));
                output::write_grid(
                    &path,
                    (nx, ny),
                    geo,
                    |c, r| {
                        let k = idx(c, r);
                        if sim.h[k] > thresh { sim.model.z[k] + sim.h[k] } else { f64::NAN }
                    },
                    p.output_precision,
                )?;
                files.push(path);
            }
            save_total += p.saveint;
            save_no += 1;
        }
        progress(t);
    }
    mass.flush().map_err(|e| io(e, &mass_path))?;
    let north = |v: &[f64], c: usize, r: usize| v[(ny - 1 - r) * nx + c];
    let grids: [(&str, CellValue); 5] = [
        (".max", Box::new(|c, r| north(&max_h, c, r))),
        (
            ".mxe",
            Box::new(|c, r| {
                let k = (ny - 1 - r) * nx + c;
                if max_h[k] > 1e-3 { max_h[k] + sim.model.z[k] } else { f64::NAN }
            }),
        ),
        (".inittm", Box::new(|c, r| north(&init_t, c, r))),
        (".maxtm", Box::new(|c, r| north(&max_t, c, r))),
        (".totaltm", Box::new(|c, r| north(&total_t, c, r))),
    ];
    for (ext, f) in grids {
        let path = file(ext);
        output::write_grid(&path, (nx, ny), geo, f, p.output_precision)?;
        files.push(path);
    }
    Ok(RunSummary {
        steps: sim.steps,
        t_end: sim.t,
        cancelled,
        max_depth: max_h.iter().copied().fold(0.0, f64::max),
        volume: sim.volume(),
        mass_error: sim.mass_error(),
        files,
    })
}
