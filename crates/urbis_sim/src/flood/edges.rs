//! Conditions on the grid's edges, after LISFLOOD-FP's `.bci` types:
//! free outflow (FREE), a water level outside the edge (HFIX/HVAR) and an
//! inflow per unit width (QFIX/QVAR).
//!
//! Each boundary face carries a discharge per unit width `q` (m²/s,
//! positive into the grid), computed once per step from the state at its
//! start, in LISFLOOD-FP's form (`boundary.cpp`, ACC branch):
//!
//! - free: where the cell is wet, `|q| = (|q₀| + g·dt·h·|S|) / (1 + g·dt·n²·|q₀| / h^(7/3))`
//!   out of the grid, with `S` the given slope or the water-surface slope
//!   from the cell to its inward neighbour;
//! - level `η_b`: `q = (q₀ + g·dt·h_f·(η_b − η)/dx) / (1 + g·dt·n²·|q₀| / h_f^(7/3))`
//!   with `h_f = max(h, η_b − z)`, in or out;
//! - flow: the series' mean over the step.
//!
//! Outflow never takes more than the cell holds at the start of the step
//! (several faces of a corner cell share it), so depths stay non-negative
//! and the volumes booked are exactly those moved. The discharges are kept
//! on the boundary faces of `qx`/`qy`, where the next step reads them as
//! `q₀` and as neighbours in the θ-weighting and the 2D friction speed.

use super::{FloodError, FloodModel, Series};

/// An edge of the grid. Rows run from the south (row 0), columns from the west.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    North,
    East,
    South,
    West,
}

/// What lies beyond a stretch of the edge.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeCondition {
    /// A wall (the default everywhere).
    Closed,
    /// Free outflow down a slope (`Some`: that energy slope; `None`: the
    /// local water-surface slope), never inflow.
    Free { slope: Option<f64> },
    /// A water-surface elevation outside the edge, metres, over time.
    Level(Series),
    /// Inflow per unit width of edge, m²/s, over time (negative draws water out).
    Flow(Series),
}

/// A condition on the cells `cells` (columns for North/South, rows for East/West) of one side.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSegment {
    pub side: Side,
    pub cells: std::ops::Range<usize>,
    pub condition: EdgeCondition,
}

/// One boundary face with a condition.
#[derive(Debug, Clone, Copy)]
struct Face {
    side: Side,
    /// The boundary cell, and the cell inward from it (for the free-outflow slope).
    cell: usize,
    inward: Option<usize>,
    /// Index of the segment in `FloodModel::edges`.
    segment: usize,
}

/// The boundary faces that carry a condition, and their discharges.
#[derive(Debug, Clone, Default)]
pub(super) struct EdgeFaces {
    faces: Vec<Face>,
    /// Discharge per unit width into the grid, m²/s, of each face after the last step.
    q: Vec<f64>,
}

impl EdgeFaces {
    pub(super) fn new(model: &FloodModel) -> Result<Self, FloodError> {
        let (nx, ny) = (model.nx, model.ny);
        // The last segment naming a face wins; closed segments just clear it.
        let mut by_face: std::collections::BTreeMap<(u8, usize), usize> = Default::default();
        for (k, seg) in model.edges.iter().enumerate() {
            let len = match seg.side {
                Side::North | Side::South => nx,
                Side::East | Side::West => ny,
            };
            if seg.cells.end > len || seg.cells.start > seg.cells.end {
                return Err(FloodError::Invalid(format!(
                    "edge segment {k} ({:?} cells {:?}) is outside the {len} cells of that side",
                    seg.side, seg.cells
                )));
            }
            if let EdgeCondition::Free { slope: Some(s) } = seg.condition
                && !(s.is_finite() && s >= 0.0)
            {
                return Err(FloodError::Invalid(format!("edge segment {k}: free-outflow slope {s} must be ≥ 0")));
            }
            for c in seg.cells.clone() {
                let key = (seg.side as u8, c);
                if seg.condition == EdgeCondition::Closed {
                    by_face.remove(&key);
                } else {
                    by_face.insert(key, k);
                }
            }
        }
        let faces: Vec<Face> = by_face
            .into_iter()
            .map(|((side, c), segment)| {
                let side = [Side::North, Side::East, Side::South, Side::West][usize::from(side)];
                let (cell, inward) = match side {
                    Side::West => (c * nx, (nx > 1).then(|| c * nx + 1)),
                    Side::East => (c * nx + nx - 1, (nx > 1).then(|| c * nx + nx - 2)),
                    Side::South => (c, (ny > 1).then(|| nx + c)),
                    Side::North => ((ny - 1) * nx + c, (ny > 1).then(|| (ny - 2) * nx + c)),
                };
                Face { side, cell, inward, segment }
            })
            .collect();
        let q = vec![0.0; faces.len()];
        Ok(Self { faces, q })
    }

    /// This step's edge discharges from depths `h` at time `t`: each cell's
    /// change of depth is appended to `added`; returns the volumes that
    /// enter and that leave the grid, m³.
    pub(super) fn discharges(
        &mut self,
        m: &FloodModel,
        h: &[f64],
        t: f64,
        dt: f64,
        added: &mut Vec<(usize, f64)>,
    ) -> (f64, f64) {
        if self.faces.is_empty() {
            return (0.0, 0.0);
        }
        let (g, dx) = (m.g, m.dx);
        for (f, q) in self.faces.iter().zip(&mut self.q) {
            let (z, d, n) = (m.z[f.cell], h[f.cell], m.manning[f.cell]);
            if !z.is_finite() {
                *q = 0.0;
                continue;
            }
            let q0 = *q;
            let friction = |hf: f64| 1.0 + g * dt * n * n * q0.abs() / hf.powf(7.0 / 3.0);
            *q = match &m.edges[f.segment].condition {
                EdgeCondition::Closed => 0.0,
                EdgeCondition::Free { slope } if d > m.h_min => {
                    let hf = d.min(m.h_flow_max);
                    let s = slope.unwrap_or_else(|| match f.inward {
                        Some(i) if m.z[i].is_finite() => ((z + d) - (m.z[i] + h[i])).abs() / dx,
                        _ => 0.0,
                    });
                    -(q0.abs() + g * dt * hf * s) / friction(hf)
                }
                EdgeCondition::Free { .. } => 0.0,
                EdgeCondition::Level(level) => {
                    let eta_b = level.at(t);
                    let hf = d.max(eta_b - z).min(m.h_flow_max);
                    if hf < m.h_min { 0.0 } else { (q0 + g * dt * hf * (eta_b - (z + d)) / dx) / friction(hf) }
                }
                EdgeCondition::Flow(flow) => flow.integral(t, t + dt) / dt,
            };
        }
        // Outflow takes at most what each cell holds (a corner's two faces share it).
        let mut out: std::collections::HashMap<usize, f64> = Default::default();
        for (f, q) in self.faces.iter().zip(&self.q) {
            *out.entry(f.cell).or_default() += (-q).max(0.0) * dt / dx;
        }
        let (mut vin, mut vout) = (0.0, 0.0);
        for (f, q) in self.faces.iter().zip(&mut self.q) {
            let wanted = out[&f.cell];
            if *q < 0.0 && wanted > h[f.cell] {
                *q *= h[f.cell] / wanted;
            }
            let depth = *q * dt / dx;
            if depth != 0.0 {
                added.push((f.cell, depth));
            }
            if *q > 0.0 {
                vin += *q * dt * dx;
            } else {
                vout -= *q * dt * dx;
            }
        }
        (vin, vout)
    }

    /// Writes the edge discharges onto the boundary faces of `qx` (positive
    /// east) and `qy` (positive north), where closed edges hold 0.
    pub(super) fn store(&self, qx: &mut [f64], qy: &mut [f64], nx: usize, ny: usize) {
        for (f, &q) in self.faces.iter().zip(&self.q) {
            let (i, j) = (f.cell % nx, f.cell / nx);
            match f.side {
                Side::West => qx[j * (nx + 1)] = q,
                Side::East => qx[j * (nx + 1) + nx] = -q,
                Side::South => qy[i] = q,
                Side::North => qy[ny * nx + i] = -q,
            }
        }
    }
}
