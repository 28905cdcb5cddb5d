//! One flood step in bands of rows, fused so that a band's faces, limits
//! and depths stay in cache between the three stages.
//!
//! A band of `BAND` rows computes, in local scratch, the raw discharges of
//! its faces plus a halo (the x faces of one row above and below, the y faces
//! of two face rows beyond each edge), the outflow limits of its cells plus
//! one halo row, and then the continuity of its own rows, writing the
//! limited discharges of the faces it owns (its x faces and the y faces
//! south of its rows) and the new depths. The halo rows of neighbouring
//! bands are read from `Edge` snapshots taken before the bands start, so
//! bands run in parallel without seeing each other's new values. Every band
//! recomputes its halo exactly as its neighbour computes it, so the result
//! equals the unfused three-pass step and does not depend on thread count.

use rayon::prelude::*;

use super::{FloodSim, Friction, TILE};
use crate::flood_kernel::{Run, Step, faces};

/// Rows per band (64 measured best on 1000 × 1000: less halo recomputation than 16 or 32,
/// enough bands to balance two threads). Scratch per thread is about 4 × BAND rows of f64.
const BAND: usize = 64;

/// Old values around row `b` (a band's first row), read by the bands on both sides.
struct Edge {
    /// Depth rows b−2 .. b+2.
    h: Vec<f64>,
    /// x-face rows b−2 .. b+2.
    qx: Vec<f64>,
    /// y-face rows b−2 .. b+3.
    qy: Vec<f64>,
}

fn edge(sim: &FloodSim, b: usize) -> Edge {
    let (nx, ny) = (sim.model.nx, sim.model.ny);
    let rows = |src: &[f64], width: usize, from: isize, n: usize, limit: usize| -> Vec<f64> {
        let mut v = Vec::with_capacity(n * width);
        for k in 0..n {
            let r = from + k as isize;
            if r >= 0 && (r as usize) < limit {
                let r = r as usize;
                v.extend_from_slice(&src[r * width..(r + 1) * width]);
            } else {
                v.resize(v.len() + width, 0.0);
            }
        }
        v
    };
    let b = b as isize;
    Edge {
        h: rows(&sim.h, nx, b - 2, 4, ny),
        qx: rows(&sim.qx, nx + 1, b - 2, 4, ny),
        qy: rows(&sim.qy, nx, b - 2, 5, ny + 1),
    }
}

/// What a band reports back.
#[derive(Default)]
struct BandStats {
    updated: u64,
    deepest: f64,
    /// (row, tile column) of wet tiles.
    wet: Vec<(usize, usize)>,
}

/// Per-step inputs shared by all bands.
struct Forcing<'a> {
    dt: f64,
    rain_depth: f64,
    rain_mask: Option<&'a [bool]>,
    /// (cell, depth added this step), sorted by cell.
    inflow: &'a [(usize, f64)],
    arrival_depth: f64,
    t_next: f32,
    isa: Isa,
}

/// Advances `sim` by `dt` (after `update_active`); returns the cells updated.
pub(super) fn advance(sim: &mut FloodSim, dt: f64, rain_depth: f64, inflow: &[(usize, f64)]) -> u64 {
    let (nx, ny, dx) = (sim.model.nx, sim.model.ny, sim.model.dx);
    let n_bands = ny.div_ceil(BAND);
    let edges: Vec<Edge> = (0..=n_bands).into_par_iter().map(|t| edge(sim, (t * BAND).min(ny))).collect();
    let g = sim.model.g;
    let k = Step {
        g_dt: g * dt,
        inv_dx: 1.0 / dx,
        h_min: sim.model.h_min,
        h_flow_max: sim.model.h_flow_max,
        theta: sim.model.theta,
        froude_sqrt_g: sim.model.froude_max * g.sqrt(),
    };
    let two_d = sim.model.friction == Friction::TwoD;
    let forcing = Forcing {
        dt,
        rain_depth,
        rain_mask: sim.model.rain_mask.as_deref(),
        inflow,
        arrival_depth: sim.model.arrival_depth,
        t_next: (sim.t + dt) as f32,
        isa: sim.model.isa,
    };
    let (z, manning) = (&sim.model.z, &sim.model.manning);
    let (active, tiles_x) = (&sim.active, sim.tiles_x);
    let bands = sim
        .h
        .par_chunks_mut(BAND * nx)
        .zip(sim.qx.par_chunks_mut(BAND * (nx + 1)))
        .zip(sim.qy.par_chunks_mut(BAND * nx))
        .zip(sim.max_depth.par_chunks_mut(BAND * nx))
        .zip(sim.arrival.par_chunks_mut(BAND * nx))
        .zip(sim.max_speed.par_chunks_mut(BAND * nx))
        .enumerate();
    let stats: Vec<BandStats> = bands
        .map(|(t, (((((h, qx), qy), maxd), arr), maxv))| {
            let j0 = t * BAND;
            let j1 = (j0 + BAND).min(ny);
            let band = Band {
                nx,
                ny,
                j0,
                j1,
                z,
                manning,
                top: &edges[t],
                bottom: &edges[t + 1],
                runs: runs(active, tiles_x, nx, ny, j0, j1),
            };
            // Each worker thread keeps its scratch from step to step (no allocation, no zeroing).
            SCRATCH.with_borrow_mut(|slot| {
                let scratch = match slot {
                    Some(s) if s.nx == nx => s,
                    _ => slot.insert(Scratch::new(nx)),
                };
                band_step(&band, scratch, &k, &forcing, two_d, h, qx, qy, (maxd, arr, maxv))
            })
        })
        .collect();
    let mut updated = 0;
    sim.wet_tiles.iter_mut().for_each(|w| *w = false);
    sim.h_max = 0.0;
    for s in stats {
        updated += s.updated;
        sim.h_max = sim.h_max.max(s.deepest);
        for (j, c) in s.wet {
            sim.wet_tiles[(j / TILE) * tiles_x + c] = true;
        }
    }
    updated
}

/// Column runs `[a, b)` of the active tiles in the tile rows touching rows `j0 − 3 .. j1 + 3`.
fn runs(active: &[bool], tiles_x: usize, nx: usize, ny: usize, j0: usize, j1: usize) -> Vec<(usize, usize)> {
    let (tr0, tr1) = (j0.saturating_sub(3) / TILE, (j1 + 3).min(ny).saturating_sub(1) / TILE);
    let mut v: Vec<(usize, usize)> = Vec::new();
    for tc in 0..tiles_x {
        if !(tr0..=tr1).any(|tr| active[tr * tiles_x + tc]) {
            continue;
        }
        let (a, b) = (tc * TILE, ((tc + 1) * TILE).min(nx));
        match v.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => v.push((a, b)),
        }
    }
    v
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
}

/// Band-local buffers: raw x faces of rows j0−1 .. j1+1, raw y faces j0−1 ..= j1+1, water added to and limits of rows j0−1 .. j1+1.
struct Scratch {
    nx: usize,
    fx: Vec<f64>,
    fy: Vec<f64>,
    /// Padded by one cell each side.
    lim: Vec<f64>,
    /// Water added this step per cell (rain, inflows).
    add: Vec<f64>,
    zero: Vec<f64>,
    /// The mean discharge across each face of one face row (2D friction).
    across: Vec<f64>,
}

impl Scratch {
    fn new(nx: usize) -> Self {
        Self {
            nx,
            fx: vec![0.0; (BAND + 2) * (nx + 1)],
            fy: vec![0.0; (BAND + 3) * nx],
            lim: vec![1.0; (BAND + 2) * (nx + 2)],
            add: vec![0.0; (BAND + 2) * nx],
            zero: vec![0.0; nx + 1],
            across: vec![0.0; nx + 1],
        }
    }
}

struct Band<'a> {
    nx: usize,
    ny: usize,
    j0: usize,
    j1: usize,
    z: &'a [f64],
    manning: &'a [f64],
    top: &'a Edge,
    bottom: &'a Edge,
    runs: Vec<(usize, usize)>,
}

impl Band<'_> {
    /// Row `r` of an array `width` wide: the band's own rows from `own`,
    /// others from the edge snapshots, whose rows start `back` rows before
    /// the band's first row (top) and the next band's (bottom).
    fn window_row<'s>(
        &self,
        own: &'s [f64],
        top: &'s [f64],
        bottom: &'s [f64],
        r: usize,
        width: usize,
        back: usize,
    ) -> &'s [f64] {
        let (slice, k) = if r >= self.j0 && r < self.j1 {
            (own, r - self.j0)
        } else if r < self.j0 {
            (top, r + back - self.j0)
        } else {
            (bottom, r + back - self.j1)
        };
        &slice[k * width..(k + 1) * width]
    }

    /// Old depths of row r.
    fn h_row<'s>(&'s self, own: &'s [f64], r: usize) -> &'s [f64] {
        self.window_row(own, &self.top.h, &self.bottom.h, r, self.nx, 2)
    }

    /// Old x faces of row r (zeros outside the grid).
    fn qx_row<'s>(&'s self, own: &'s [f64], zero: &'s [f64], r: isize) -> &'s [f64] {
        if r < 0 || r as usize >= self.ny {
            return &zero[..self.nx + 1];
        }
        self.window_row(own, &self.top.qx, &self.bottom.qx, r as usize, self.nx + 1, 2)
    }

    /// Old y faces of face row f (rows 0 and ny are the boundary's: 0 where it is closed).
    fn qy_row<'s>(&'s self, own: &'s [f64], zero: &'s [f64], f: usize) -> &'s [f64] {
        if f > self.ny {
            return &zero[..self.nx];
        }
        self.window_row(own, &self.top.qy, &self.bottom.qy, f, self.nx, 2)
    }

    fn row<'s>(&self, v: &'s [f64], r: usize) -> &'s [f64] {
        &v[r * self.nx..(r + 1) * self.nx]
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn step<const TWO_D: bool>(
        &self,
        s: &mut Scratch,
        k: &Step,
        f: &Forcing,
        h: &mut [f64],
        qx: &mut [f64],
        qy: &mut [f64],
        (maxd, arr, maxv): (&mut [f32], &mut [f32], &mut [f32]),
    ) -> BandStats {
        let (nx, ny, j0, j1) = (self.nx, self.ny, self.j0, self.j1);
        let mut stats = BandStats::default();
        if self.runs.is_empty() {
            return stats;
        }
        let (r_lo, r_hi) = (j0.saturating_sub(1), (j1 + 1).min(ny));
        let Scratch { fx, fy, lim, add, zero, across, .. } = s;
        // Limits outside the grid (the padding rows of the first and last band) let inflow through.
        let w = nx + 2;
        if j0 == 0 {
            lim[..w].fill(1.0);
        }
        if j1 == ny {
            let row = ny + 1 - j0;
            lim[row * w..(row + 1) * w].fill(1.0);
        }
        {
            let (h, qx, qy) = (&*h, &*qx, &*qy);
            // Raw x faces of rows r_lo .. r_hi (index r − j0 + 1); faces 0 and nx stay closed.
            for r in r_lo..r_hi {
                let (hr, qr, zr, nr) = (
                    self.h_row(h, r),
                    self.qx_row(qx, zero, r as isize),
                    self.row(self.z, r),
                    self.row(self.manning, r),
                );
                if TWO_D {
                    // Face i lies between cells i − 1 and i: the y faces south (row r) and north (r + 1) of both.
                    let (s_, n_) = (self.qy_row(qy, zero, r), self.qy_row(qy, zero, r + 1));
                    for &(c0, c1) in &self.runs {
                        for i in c0.max(1)..(c1 + 1).min(nx) {
                            across[i] = 0.25 * (s_[i - 1] + s_[i] + n_[i - 1] + n_[i]);
                        }
                    }
                }
                let out = &mut fx[(r + 1 - j0) * (nx + 1)..(r + 2 - j0) * (nx + 1)];
                for &(c0, c1) in &self.runs {
                    let (a, b) = (c0.max(1), (c1 + 1).min(nx));
                    out[c0] = 0.0;
                    if c1 == nx {
                        out[nx] = 0.0;
                    }
                    if a >= b {
                        continue;
                    }
                    let run = Run {
                        q: &qr[a..b],
                        q_before: &qr[a - 1..b - 1],
                        q_after: &qr[a + 1..b + 1],
                        q_across: if TWO_D { &across[a..b] } else { &[] },
                        z0: &zr[a - 1..b - 1],
                        z1: &zr[a..b],
                        h0: &hr[a - 1..b - 1],
                        h1: &hr[a..b],
                        n0: &nr[a - 1..b - 1],
                        n1: &nr[a..b],
                    };
                    faces::<TWO_D>(k, &run, &mut out[a..b]);
                }
            }
            // Raw y faces f = j0 − 1 ..= j1 + 1 (index f + 1 − j0); faces 0 and ny stay closed.
            for fr in j0.saturating_sub(1)..=(j1 + 1).min(ny) {
                let out = &mut fy[(fr + 1 - j0) * nx..(fr + 2 - j0) * nx];
                if fr == 0 || fr == ny {
                    for &(c0, c1) in &self.runs {
                        out[c0..c1].fill(0.0);
                    }
                    continue;
                }
                let (q, qb, qa) =
                    (self.qy_row(qy, zero, fr), self.qy_row(qy, zero, fr - 1), self.qy_row(qy, zero, fr + 1));
                if TWO_D {
                    // Face fr lies between rows fr − 1 and fr: the x faces west (i) and east (i + 1) of both cells.
                    let (xs, xn) = (self.qx_row(qx, zero, fr as isize - 1), self.qx_row(qx, zero, fr as isize));
                    for &(a, b) in &self.runs {
                        for i in a..b {
                            across[i] = 0.25 * (xs[i] + xs[i + 1] + xn[i] + xn[i + 1]);
                        }
                    }
                }
                let (h0, h1) = (self.h_row(h, fr - 1), self.h_row(h, fr));
                let (z0, z1) = (self.row(self.z, fr - 1), self.row(self.z, fr));
                let (n0, n1) = (self.row(self.manning, fr - 1), self.row(self.manning, fr));
                for &(a, b) in &self.runs {
                    let run = Run {
                        q: &q[a..b],
                        q_before: &qb[a..b],
                        q_after: &qa[a..b],
                        q_across: if TWO_D { &across[a..b] } else { &[] },
                        z0: &z0[a..b],
                        z1: &z1[a..b],
                        h0: &h0[a..b],
                        h1: &h1[a..b],
                        n0: &n0[a..b],
                        n1: &n1[a..b],
                    };
                    faces::<TWO_D>(k, &run, &mut out[a..b]);
                }
            }
            // Water added this step (rain, inflows) and limits of rows r_lo .. r_hi (index r − j0 + 1):
            // outflow may not exceed what a cell holds.
            for r in r_lo..r_hi {
                let row = r + 1 - j0;
                let ad = &mut add[row * nx..(row + 1) * nx];
                for &(a, b) in &self.runs {
                    match f.rain_mask {
                        None => ad[a..b].fill(f.rain_depth),
                        Some(m) => {
                            for (d, on) in ad[a..b].iter_mut().zip(&m[r * nx + a..r * nx + b]) {
                                *d = if *on { f.rain_depth } else { 0.0 };
                            }
                        }
                    }
                }
                let first = f.inflow.partition_point(|(c, _)| *c < r * nx);
                for &(c, fed) in f.inflow[first..].iter().take_while(|(c, _)| *c < (r + 1) * nx) {
                    if self.runs.iter().any(|(a, b)| (*a..*b).contains(&(c % nx))) {
                        ad[c % nx] += fed;
                    }
                }
                let hr = self.h_row(h, r);
                let x = &fx[row * (nx + 1)..(row + 1) * (nx + 1)];
                let (ys, yn) = (&fy[row * nx..(row + 1) * nx], &fy[(row + 1) * nx..(row + 2) * nx]);
                // Limits are padded by one cell on each side (index i + 1 for cell i).
                let l = &mut lim[row * (nx + 2)..(row + 1) * (nx + 2)];
                for &(a, b) in &self.runs {
                    limits(
                        &x[a..=b],
                        &ys[a..b],
                        &yn[a..b],
                        &hr[a..b],
                        &ad[a..b],
                        f.dt * k.inv_dx,
                        &mut l[a + 1..b + 1],
                    );
                }
            }
        }
        // Continuity of the own rows; the limited discharges of the owned faces are written back.
        let dt_dx = f.dt * k.inv_dx;
        for j in j0..j1 {
            let (jr, row) = (j - j0, j + 1 - j0);
            let x = &fx[row * (nx + 1)..(row + 1) * (nx + 1)];
            let (ys, yn) = (&fy[row * nx..(row + 1) * nx], &fy[(row + 1) * nx..(row + 2) * nx]);
            let (lb, lh, la) =
                (&lim[(row - 1) * w..row * w], &lim[row * w..(row + 1) * w], &lim[(row + 1) * w..(row + 2) * w]);
            let (zr, ad) = (self.row(self.z, j), &add[row * nx..(row + 1) * nx]);
            let (hr, qxr, qyr) = (
                &mut h[jr * nx..(jr + 1) * nx],
                &mut qx[jr * (nx + 1)..(jr + 1) * (nx + 1)],
                &mut qy[jr * nx..(jr + 1) * nx],
            );
            let (md, ar, mv) = (
                &mut maxd[jr * nx..(jr + 1) * nx],
                &mut arr[jr * nx..(jr + 1) * nx],
                &mut maxv[jr * nx..(jr + 1) * nx],
            );
            for &(a, b) in &self.runs {
                let c = Cells {
                    x: &x[a..=b],
                    ys: &ys[a..b],
                    yn: &yn[a..b],
                    lb: &lb[a..b + 2],
                    lh: &lh[a..b + 2],
                    la: &la[a..b + 2],
                    z: &zr[a..b],
                    add: &ad[a..b],
                };
                let o = Out {
                    h: &mut hr[a..b],
                    qx: &mut qxr[a..=b],
                    qy: &mut qyr[a..b],
                    maxd: &mut md[a..b],
                    arrival: &mut ar[a..b],
                    max_speed: &mut mv[a..b],
                };
                stats.updated += continuity(&c, o, dt_dx, f.arrival_depth, f.t_next);
                for t in a / TILE..b.div_ceil(TILE) {
                    let cells = &hr[(t * TILE).max(a)..((t + 1) * TILE).min(b)];
                    let deepest = cells.iter().fold(0.0f64, |m, d| m.max(*d));
                    if deepest > 0.0 {
                        stats.deepest = stats.deepest.max(deepest);
                        stats.wet.push((j, t));
                    }
                }
            }
        }
        stats
    }
}

/// Outflow limits of a run of cells: `x` its x faces (one more than cells),
/// `s`/`n` its south and north faces, `h` depths, `add` water added this step.
#[inline(always)]
fn limits(x: &[f64], s: &[f64], n: &[f64], h: &[f64], add: &[f64], dt_dx: f64, l: &mut [f64]) {
    let m = l.len();
    let (x0, x1, s, n, h, add) = (&x[..m], &x[1..=m], &s[..m], &n[..m], &h[..m], &add[..m]);
    for i in 0..m {
        let out = x1[i].max(0.0) + (-x0[i]).max(0.0) + n[i].max(0.0) + (-s[i]).max(0.0);
        let wanted = out * dt_dx;
        let available = h[i] + add[i];
        l[i] = if wanted > available { (available / wanted).max(0.0) } else { 1.0 };
    }
}

/// Inputs of a run of cells for continuity; limits padded (index i + 1 for cell i).
struct Cells<'a> {
    x: &'a [f64],
    ys: &'a [f64],
    yn: &'a [f64],
    lb: &'a [f64],
    lh: &'a [f64],
    la: &'a [f64],
    z: &'a [f64],
    add: &'a [f64],
}

/// What continuity writes for a run of cells.
struct Out<'a> {
    h: &'a mut [f64],
    /// The run's x faces (one more than cells).
    qx: &'a mut [f64],
    /// The y faces south of the run's cells.
    qy: &'a mut [f64],
    maxd: &'a mut [f32],
    arrival: &'a mut [f32],
    max_speed: &'a mut [f32],
}

/// The limited discharge of a face: raw × the limit of the cell the water leaves.
#[inline(always)]
fn limited(q: f64, up: f64, down: f64) -> f64 {
    q.max(0.0) * up + q.min(0.0) * down
}

/// Continuity and outputs of a run of cells, branch-free; returns the cells updated (finite beds).
#[inline(always)]
fn continuity(c: &Cells, o: Out, dt_dx: f64, arrival_depth: f64, t_next: f32) -> u64 {
    let m = o.h.len();
    let (x, ys, yn, z, add) = (&c.x[..=m], &c.ys[..m], &c.yn[..m], &c.z[..m], &c.add[..m]);
    let (lb, lh, la) = (&c.lb[..m + 2], &c.lh[..m + 2], &c.la[..m + 2]);
    let (h, qx, qy) = (&mut o.h[..m], &mut o.qx[..=m], &mut o.qy[..m]);
    let (maxd, arr, maxv) = (&mut o.maxd[..m], &mut o.arrival[..m], &mut o.max_speed[..m]);
    let mut updated = 0u64;
    for i in 0..m {
        let qw = limited(x[i], lh[i], lh[i + 1]);
        let qe = limited(x[i + 1], lh[i + 1], lh[i + 2]);
        let qs = limited(ys[i], lb[i + 1], lh[i + 1]);
        let qn = limited(yn[i], lh[i + 1], la[i + 1]);
        qx[i] = qw;
        qy[i] = qs;
        let finite = z[i].is_finite();
        updated += u64::from(finite);
        let d = (h[i] + dt_dx * (qw - qe + qs - qn) + add[i]).max(0.0);
        let d = if finite { d } else { h[i] };
        h[i] = d;
        maxd[i] = maxd[i].max(d as f32);
        arr[i] = if arr[i].is_nan() && d > arrival_depth { t_next } else { arr[i] };
        // Speed² = |q|² / d² with q the mean of opposite faces; f32 like the stored maximum.
        let (a, b, df) = ((qw + qe) as f32, (qs + qn) as f32, d.max(0.01) as f32);
        let s2 = (a * a + b * b) * 0.25 / (df * df);
        let mv = maxv[i];
        maxv[i] = if d > 0.01 && s2 > mv * mv { s2.sqrt() } else { mv };
    }
    qx[m] = limited(x[m], lh[m], lh[m + 1]);
    updated
}

/// The instruction sets the band step can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Chosen at run time: AVX2 where the CPU has it, else the baseline.
    Auto,
    /// The baseline x86-64 build (SSE2), as on CPUs without AVX2.
    Baseline,
}

impl Isa {
    /// From `URBIS_FLOOD_ISA` (`baseline` or `auto`, the default), read once;
    /// so the baseline's speed can be measured on any CPU.
    pub fn from_env() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| match std::env::var("URBIS_FLOOD_ISA").as_deref().map(str::trim) {
            Ok("baseline") | Ok("sse2") => Isa::Baseline,
            Ok("auto") | Ok("") | Err(_) => Isa::Auto,
            Ok(other) => {
                tracing::warn!("URBIS_FLOOD_ISA={other:?} is neither `auto` nor `baseline`; using auto");
                Isa::Auto
            }
        })
    }
}

/// One band's step. Everything it calls is inlined, so the face, limit and
/// continuity loops run as wide as the build allows: the multiversioned
/// entry is compiled for AVX2 as well and chosen at run time
/// (`multiversion`), the other is the baseline build only. No FMA
/// contraction happens, so both give identical results.
#[allow(clippy::too_many_arguments)]
fn band_step(
    band: &Band,
    s: &mut Scratch,
    k: &Step,
    f: &Forcing,
    two_d: bool,
    h: &mut [f64],
    qx: &mut [f64],
    qy: &mut [f64],
    outputs: (&mut [f32], &mut [f32], &mut [f32]),
) -> BandStats {
    match f.isa {
        Isa::Auto => band_step_dispatched(band, s, k, f, two_d, h, qx, qy, outputs),
        Isa::Baseline => band_step_baseline(band, s, k, f, two_d, h, qx, qy, outputs),
    }
}

#[multiversion::multiversion(targets("x86_64+avx2"))]
#[allow(clippy::too_many_arguments)]
fn band_step_dispatched(
    band: &Band,
    s: &mut Scratch,
    k: &Step,
    f: &Forcing,
    two_d: bool,
    h: &mut [f64],
    qx: &mut [f64],
    qy: &mut [f64],
    outputs: (&mut [f32], &mut [f32], &mut [f32]),
) -> BandStats {
    if two_d { band.step::<true>(s, k, f, h, qx, qy, outputs) } else { band.step::<false>(s, k, f, h, qx, qy, outputs) }
}

#[allow(clippy::too_many_arguments)]
fn band_step_baseline(
    band: &Band,
    s: &mut Scratch,
    k: &Step,
    f: &Forcing,
    two_d: bool,
    h: &mut [f64],
    qx: &mut [f64],
    qy: &mut [f64],
    outputs: (&mut [f32], &mut [f32], &mut [f32]),
) -> BandStats {
    if two_d { band.step::<true>(s, k, f, h, qx, qy, outputs) } else { band.step::<false>(s, k, f, h, qx, qy, outputs) }
}
