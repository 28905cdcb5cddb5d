//! A 2D shallow-water flood solver with the local-inertial formulation of
//! Bates, Horritt and Fewtrell (2010), as in LISFLOOD-FP's ACC solver.
//!
//! Unknowns on a regular raster of square cells: the water depth `h` at
//! cell centres and the unit-width discharges `qx`, `qy` (m²/s) on cell
//! faces. Each step:
//!
//! 1. `dt = α·dx / √(g·h_max)` (CFL, α = 0.5 by default), capped by `max_dt`;
//! 2. on every face with a flow depth `h_f = max(η) − max(z) > h_min`
//!    (optionally capped, as LISFLOOD-FP caps it at 10 m):
//!    `q ← (q − g·h_f·dt·∂η/∂x) / (1 + g·dt·n²·|q| / h_f^(7/3))` (Manning friction,
//!    semi-implicit; `|q|` is the speed of the flow in both directions, the
//!    face's own discharge with the mean of the four across it, as LISFLOOD-FP
//!    does by default, or the face-normal discharge alone with
//!    [`Friction::FaceNormal`], its `1Dfriction`) with de Almeida's θ-weighting
//!    (dropped where the result would flow against the surface slope, as
//!    LISFLOOD-FP does) and an optional Froude-number cap, else `q = 0` (wet/dry);
//! 3. outgoing discharges of a cell are scaled down when they would take
//!    more water than it holds, so depths stay ≥ 0 and mass is conserved to
//!    round-off (no clipping);
//! 4. `h ← h + dt·(Σ q_in − Σ q_out)/dx + dt·rain + dt·Q_inflow/dx²`;
//!    fixed-stage cells are then reset to their stage and the difference is
//!    booked as boundary flow.
//!
//! The grid's edges are closed unless [`EdgeSegment`]s say otherwise: free
//! outflow, a water level outside the edge, or an inflow per unit width
//! (LISFLOOD-FP's FREE, HFIX/HVAR and QFIX/QVAR; `flood/edges.rs`). Their
//! discharges are computed from the state at the start of the step, outflow
//! never takes more than a cell holds, and every volume is booked.
//!
//! Only active tiles (32 × 32 cells holding water, receiving rain or
//! inflow, or next to such a tile) are updated, so mostly dry cities run in
//! time proportional to their wet area. Rows are processed in parallel
//! (rayon); results do not depend on the thread count.

use rayon::prelude::*;

mod edges;
mod step;

pub use edges::{EdgeCondition, EdgeSegment, Side};
pub use step::Isa;

/// Gravity, m/s²: LISFLOOD-FP's value (`lisflood.cpp`, `g = 9.8065500000000`),
/// the default so that its cases run alike. Standard gravity is 9.80665 and
/// local gravity 9.78–9.83; set [`FloodModel::g`] for either.
pub const G: f64 = 9.806_55;
const TILE: usize = 32;

/// Errors building a flood model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FloodError {
    #[error("grid of {nx} × {ny} cells needs about {bytes} bytes, over the limit of {limit}")]
    TooLarge { nx: usize, ny: usize, bytes: u64, limit: u64 },
    #[error("{what}: expected {expected} values, got {got}")]
    Size { what: &'static str, expected: usize, got: usize },
    #[error("{0}")]
    Invalid(String),
}

/// Bytes of memory per cell the solver uses (state, outputs, scratch).
pub const BYTES_PER_CELL: u64 = 8 * 8 + 4 * 4;

/// How a [`Series`] runs between its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interpolation {
    /// Each value holds until the next time; 0 before the first.
    #[default]
    Steps,
    /// Straight lines between points; the first value before the first time
    /// and the last after the last (LISFLOOD-FP's `.bdy` series).
    Linear,
}

/// A time series of `(time s, value)` points, ascending in time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub points: Vec<(f64, f64)>,
    pub interpolation: Interpolation,
}

impl Series {
    /// Values that hold from their time until the next.
    pub fn steps(points: Vec<(f64, f64)>) -> Series {
        Series { points, interpolation: Interpolation::Steps }
    }

    /// Values joined by straight lines.
    pub fn linear(points: Vec<(f64, f64)>) -> Series {
        Series { points, interpolation: Interpolation::Linear }
    }

    pub fn constant(v: f64) -> Series {
        Series::steps(vec![(0.0, v)])
    }

    pub fn at(&self, t: f64) -> f64 {
        let p = &self.points;
        match self.interpolation {
            Interpolation::Steps => p.iter().take_while(|(s, _)| *s <= t).last().map_or(0.0, |(_, v)| *v),
            Interpolation::Linear => {
                let Some(&(_, v0)) = p.first() else { return 0.0 };
                let k = p.partition_point(|(s, _)| *s <= t);
                if k == 0 {
                    return v0;
                }
                if k == p.len() {
                    return p[k - 1].1;
                }
                let ((ta, va), (tb, vb)) = (p[k - 1], p[k]);
                va + (vb - va) * (t - ta) / (tb - ta)
            }
        }
    }

    /// ∫ from a to b.
    pub fn integral(&self, a: f64, b: f64) -> f64 {
        let p = &self.points;
        let mut total = 0.0;
        match self.interpolation {
            Interpolation::Steps => {
                for (k, &(t0, v)) in p.iter().enumerate() {
                    let t1 = p.get(k + 1).map_or(f64::INFINITY, |x| x.0);
                    let (lo, hi) = (t0.max(a), t1.min(b));
                    if hi > lo {
                        total += v * (hi - lo);
                    }
                }
            }
            Interpolation::Linear => {
                if p.is_empty() || b <= a {
                    return 0.0;
                }
                // Breakpoints inside (a, b), then the trapezoid rule between them: exact for a polyline.
                let mut ts = vec![a];
                ts.extend(p.iter().map(|x| x.0).filter(|&t| t > a && t < b));
                ts.push(b);
                for w in ts.windows(2) {
                    total += 0.5 * (self.at(w[0]) + self.at(w[1])) * (w[1] - w[0]);
                }
            }
        }
        total
    }
}

/// A point inflow (a hydrograph in m³/s) into one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Inflow {
    pub cell: (usize, usize),
    pub discharge: Series,
}

/// The model: terrain, roughness and forcing.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodModel {
    pub nx: usize,
    pub ny: usize,
    /// Cell size, metres.
    pub dx: f64,
    /// Bed elevation per cell, row-major from the south-west (row 0 is south), metres.
    /// Buildings are burnt in as raised cells. NaN marks NODATA, treated as a wall.
    pub z: Vec<f64>,
    /// Manning's n per cell (s/m^(1/3)).
    pub manning: Vec<f64>,
    /// Rain intensity over time, m/s.
    pub rain: Series,
    /// Where rain falls (all cells when `None`).
    pub rain_mask: Option<Vec<bool>>,
    pub inflows: Vec<Inflow>,
    /// Cells held at a fixed water level (m): rivers, the sea.
    pub fixed_stage: Vec<((usize, usize), f64)>,
    /// Flow depth below which a face carries no flow, metres.
    pub h_min: f64,
    /// CFL coefficient α.
    pub alpha: f64,
    /// de Almeida et al. (2012) weighting θ of a face's own discharge against
    /// the mean of its two neighbours in the flow direction (1: Bates 2010 as
    /// is; 0.7–0.9 damp the checkerboard oscillations of weakly damped flow).
    pub theta: f64,
    /// Face discharges are capped at this Froude number (1 by default; infinity
    /// turns the cap off, as in LISFLOOD-FP's ACC solver).
    pub froude_max: f64,
    /// The flow depth of a face is capped here, metres (LISFLOOD-FP fixes
    /// 10 m; infinity, the default, caps nothing).
    pub h_flow_max: f64,
    /// Gravity, m/s² (LISFLOOD-FP's 9.80655 by default).
    pub g: f64,
    /// Which speed the friction term uses.
    pub friction: Friction,
    /// Conditions on the grid's edges (closed where none is given; later segments win).
    pub edges: Vec<EdgeSegment>,
    /// The instruction set of the step (`URBIS_FLOOD_ISA`; results are identical).
    pub isa: Isa,
    /// Largest time step, seconds.
    pub max_dt: f64,
    /// Depth at which a cell counts as flooded for arrival times, metres.
    pub arrival_depth: f64,
}

impl FloodModel {
    /// A flat-roughness model over `z`; refuses grids above `memory_limit` bytes up front.
    pub fn new(
        nx: usize,
        ny: usize,
        dx: f64,
        z: Vec<f64>,
        manning: f64,
        memory_limit: u64,
    ) -> Result<Self, FloodError> {
        let bytes = (nx as u64).saturating_mul(ny as u64).saturating_mul(BYTES_PER_CELL);
        if bytes > memory_limit {
            return Err(FloodError::TooLarge { nx, ny, bytes, limit: memory_limit });
        }
        if z.len() != nx * ny {
            return Err(FloodError::Size { what: "bed elevations", expected: nx * ny, got: z.len() });
        }
        if dx.is_nan() || dx <= 0.0 || manning.is_nan() || manning < 0.0 {
            return Err(FloodError::Invalid(format!("cell size {dx} and Manning's n {manning} must be positive")));
        }
        Ok(Self {
            nx,
            ny,
            dx,
            z,
            manning: vec![manning; nx * ny],
            rain: Series::default(),
            rain_mask: None,
            inflows: Vec::new(),
            fixed_stage: Vec::new(),
            h_min: 1e-3,
            // 0.7 (Bates et al.) went unstable here in 2D with a point inflow into a
            // deep, weakly damped pool; 0.5 was stable in every validation case.
            alpha: 0.5,
            theta: 0.8,
            froude_max: 1.0,
            h_flow_max: f64::INFINITY,
            g: G,
            friction: Friction::default(),
            edges: Vec::new(),
            isa: Isa::from_env(),
            max_dt: 10.0,
            arrival_depth: 0.05,
        })
    }
}

/// The speed in Manning's friction term of a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Friction {
    /// The speed of the flow in both directions: the face's own discharge
    /// with the mean of the four discharges across it on the two cells
    /// (LISFLOOD-FP's default).
    #[default]
    TwoD,
    /// The face-normal discharge alone (LISFLOOD-FP's `1Dfriction`).
    FaceNormal,
}

/// Volumes booked since the start, m³.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Balance {
    pub rain: f64,
    pub inflow: f64,
    /// Net volume that left through fixed-stage cells and edges (negative: entered).
    pub boundary_out: f64,
    /// The same, gross: what entered and what left through them.
    pub boundary_in_gross: f64,
    pub boundary_out_gross: f64,
}

impl Balance {
    /// Volume that entered minus volume that left, m³.
    pub fn net_in(&self) -> f64 {
        self.rain + self.inflow - self.boundary_out
    }
}

/// The solver's state and outputs.
#[derive(Debug, Clone)]
pub struct FloodSim {
    pub model: FloodModel,
    pub h: Vec<f64>,
    /// East faces: `(nx + 1) × ny`, face `i` of row `j` is the west face of cell `i`.
    pub qx: Vec<f64>,
    /// North faces: `nx × (ny + 1)`, face row `j` is the south face of cell row `j`.
    pub qy: Vec<f64>,
    pub t: f64,
    pub steps: u64,
    /// Cell updates done (active cells summed over steps).
    pub cell_steps: u64,
    pub max_depth: Vec<f32>,
    /// Seconds until the depth first exceeded `arrival_depth` (NaN: never).
    pub arrival: Vec<f32>,
    pub max_speed: Vec<f32>,
    pub balance: Balance,
    initial_volume: f64,
    tiles_x: usize,
    tiles_y: usize,
    active: Vec<bool>,
    /// Tiles holding water after the last step (kept by the continuity pass).
    wet_tiles: Vec<bool>,
    /// Tiles that receive rain (from the rain mask), and how many cells do.
    rain_tiles: Vec<bool>,
    rained_cells: usize,
    /// Deepest water after the last step (kept by the continuity pass).
    h_max: f64,
    /// The grid's boundary faces and their discharges (m²/s, into the grid positive).
    edges: edges::EdgeFaces,
}

impl FloodSim {
    /// Starts with depths `h0` (None: dry), velocities zero.
    pub fn new(model: FloodModel, h0: Option<Vec<f64>>) -> Result<Self, FloodError> {
        let n = model.nx * model.ny;
        let h = h0.unwrap_or_else(|| vec![0.0; n]);
        if h.len() != n {
            return Err(FloodError::Size { what: "initial depths", expected: n, got: h.len() });
        }
        if let Some(m) = &model.rain_mask
            && m.len() != n
        {
            return Err(FloodError::Size { what: "rain mask", expected: n, got: m.len() });
        }
        for f in &model.inflows {
            if f.cell.0 >= model.nx || f.cell.1 >= model.ny {
                return Err(FloodError::Invalid(format!("inflow cell {:?} is outside the grid", f.cell)));
            }
        }
        let h: Vec<f64> = h.iter().zip(&model.z).map(|(d, z)| if z.is_finite() { d.max(0.0) } else { 0.0 }).collect();
        let (tiles_x, tiles_y) = (model.nx.div_ceil(TILE), model.ny.div_ceil(TILE));
        let mut sim = Self {
            qx: vec![0.0; (model.nx + 1) * model.ny],
            qy: vec![0.0; model.nx * (model.ny + 1)],
            t: 0.0,
            steps: 0,
            cell_steps: 0,
            max_depth: h.iter().map(|&d| d as f32).collect(),
            arrival: vec![f32::NAN; n],
            max_speed: vec![0.0; n],
            balance: Balance::default(),
            initial_volume: 0.0,
            tiles_x,
            tiles_y,
            active: vec![true; tiles_x * tiles_y],
            wet_tiles: vec![false; tiles_x * tiles_y],
            rain_tiles: vec![false; tiles_x * tiles_y],
            rained_cells: 0,
            h_max: 0.0,
            edges: edges::EdgeFaces::new(&model)?,
            h,
            model,
        };
        let nx = sim.model.nx;
        for c in 0..n {
            let tile = (c / nx / TILE) * tiles_x + (c % nx) / TILE;
            let finite = sim.model.z[c].is_finite();
            if sim.model.rain_mask.as_ref().is_none_or(|m| m[c]) && finite {
                sim.rain_tiles[tile] = true;
                sim.rained_cells += 1;
            }
        }
        sim.apply_fixed_stage(0.0);
        sim.rescan();
        sim.balance = Balance::default();
        sim.initial_volume = sim.volume();
        Ok(sim)
    }

    /// Recomputes the wet tiles and the deepest water from the depths.
    fn rescan(&mut self) {
        let (nx, tx) = (self.model.nx, self.tiles_x);
        self.wet_tiles.iter_mut().for_each(|w| *w = false);
        self.h_max = 0.0;
        for (c, &d) in self.h.iter().enumerate() {
            if d > 0.0 {
                self.wet_tiles[(c / nx / TILE) * tx + (c % nx) / TILE] = true;
                self.h_max = self.h_max.max(d);
            }
        }
    }

    /// Water volume on the grid, m³.
    pub fn volume(&self) -> f64 {
        self.h.par_iter().sum::<f64>() * self.model.dx * self.model.dx
    }

    /// Relative mass error: (volume − initial − rain − inflow + boundary outflow) / max(volume, inputs).
    pub fn mass_error(&self) -> f64 {
        let b = self.balance;
        let expected = self.initial_volume + b.rain + b.inflow - b.boundary_out;
        let scale = expected.abs().max(self.volume()).max(1e-12);
        (self.volume() - expected) / scale
    }

    fn idx(&self, i: usize, j: usize) -> usize {
        j * self.model.nx + i
    }

    /// The next stable time step.
    pub fn stable_dt(&self) -> f64 {
        let h_max = self.h_max;
        if h_max <= 0.0 {
            return self.model.max_dt;
        }
        (self.model.alpha * self.model.dx / (self.model.g * h_max).sqrt()).min(self.model.max_dt)
    }

    fn apply_fixed_stage(&mut self, _dt: f64) {
        let dx2 = self.model.dx * self.model.dx;
        for k in 0..self.model.fixed_stage.len() {
            let ((i, j), stage) = self.model.fixed_stage[k];
            if i >= self.model.nx || j >= self.model.ny {
                continue;
            }
            let c = self.idx(i, j);
            let z = self.model.z[c];
            if !z.is_finite() {
                continue;
            }
            let target = (stage - z).max(0.0);
            let left = (self.h[c] - target) * dx2;
            self.balance.boundary_out += left;
            if left > 0.0 {
                self.balance.boundary_out_gross += left;
            } else {
                self.balance.boundary_in_gross -= left;
            }
            self.h[c] = target;
            self.h_max = self.h_max.max(target);
            if target > 0.0 {
                self.wet_tiles[(j / TILE) * self.tiles_x + i / TILE] = true;
            }
        }
    }

    /// Marks tiles that hold water or receive rain or inflow, dilated by one tile.
    fn update_active(&mut self, raining: bool) {
        let (nx, tx, ty) = (self.model.nx, self.tiles_x, self.tiles_y);
        let mut wet = self.wet_tiles.clone();
        if raining {
            for (w, r) in wet.iter_mut().zip(&self.rain_tiles) {
                *w |= *r;
            }
        }
        for f in &self.model.inflows {
            wet[(f.cell.1 / TILE) * tx + f.cell.0 / TILE] = true;
        }
        for &((i, j), _) in &self.model.fixed_stage {
            if i < nx && j < self.model.ny {
                wet[(j / TILE) * tx + i / TILE] = true;
            }
        }
        for ty_ in 0..ty {
            for tx_ in 0..tx {
                let mut a = false;
                for dy in ty_.saturating_sub(1)..=(ty_ + 1).min(ty - 1) {
                    for dx in tx_.saturating_sub(1)..=(tx_ + 1).min(tx - 1) {
                        a |= wet[dy * tx + dx];
                    }
                }
                self.active[ty_ * tx + tx_] = a;
            }
        }
    }

    /// Advances one time step; returns its length.
    pub fn step(&mut self) -> f64 {
        let dt = self.stable_dt();
        self.step_dt(dt);
        dt
    }

    /// Advances by `dt` (which must respect the CFL condition).
    pub fn step_dt(&mut self, dt: f64) {
        let rain_rate = self.model.rain.integral(self.t, self.t + dt) / dt;
        let m = &self.model;
        let (nx, dx) = (m.nx, m.dx);
        let mut added: Vec<(usize, f64)> = m
            .inflows
            .iter()
            .map(|f| (f.cell.1 * nx + f.cell.0, f.discharge.integral(self.t, self.t + dt) / (dx * dx)))
            .collect();
        let inflow_volume = added.iter().map(|(_, d)| d * dx * dx).sum::<f64>();
        // Edge discharges from the state at the start of the step, as depths added to their cells.
        let (edge_in, edge_out) = self.edges.discharges(&self.model, &self.h, self.t, dt, &mut added);
        for &(c, d) in &added {
            if d > 0.0 {
                self.wet_tiles[(c / nx / TILE) * self.tiles_x + (c % nx) / TILE] = true;
            }
        }
        self.update_active(rain_rate > 0.0);
        // Sorted by cell, so each band row finds its own in a binary search.
        added.sort_by_key(|(c, _)| *c);
        let rain_depth = rain_rate * dt;
        let updated = step::advance(self, dt, rain_depth, &added);
        self.edges.store(&mut self.qx, &mut self.qy, self.model.nx, self.model.ny);
        // Book the forcing actually applied.
        let dx2 = dx * dx;
        self.balance.rain += rain_depth * dx2 * self.rained_cells as f64;
        self.balance.inflow += inflow_volume;
        self.balance.boundary_out += edge_out - edge_in;
        self.balance.boundary_in_gross += edge_in;
        self.balance.boundary_out_gross += edge_out;
        self.apply_fixed_stage(dt);
        self.t += dt;
        self.steps += 1;
        self.cell_steps += updated;
    }

    /// Runs until `t_end` seconds, calling `every(self)` after each step.
    pub fn run_until(&mut self, t_end: f64, mut every: impl FnMut(&Self)) {
        while self.t < t_end - 1e-9 {
            let dt = self.stable_dt().min(t_end - self.t);
            self.step_dt(dt);
            every(self);
        }
    }

    /// The largest depth-averaged speed on the grid now, m/s.
    pub fn max_velocity_now(&self) -> f64 {
        let nx = self.model.nx;
        (0..self.h.len())
            .into_par_iter()
            .map(|c| {
                let (i, j) = (c % nx, c / nx);
                let d = self.h[c];
                if d <= self.model.h_min {
                    return 0.0;
                }
                let u = 0.5 * (self.qx[j * (nx + 1) + i] + self.qx[j * (nx + 1) + i + 1]) / d;
                let v = 0.5 * (self.qy[j * nx + i] + self.qy[(j + 1) * nx + i]) / d;
                u.hypot(v)
            })
            .reduce(|| 0.0, f64::max)
    }

    /// Water surface elevation of a cell (bed + depth).
    pub fn level(&self, i: usize, j: usize) -> f64 {
        let c = self.idx(i, j);
        self.model.z[c] + self.h[c]
    }
}
