//! Output files in LISFLOOD-FP 8.1's own formats (`output.cpp`,
//! `lisflood.cpp`, `iterateq.cpp`), so that a case's results can be compared
//! line for line: ASCII grids (`.max`, `.mxe`, `.wd`, `.elev`, `.dem`,
//! `.inittm`, `.maxtm`, `.totaltm`), the `.stage` gauge series and the
//! `.mass` balance.

use std::io::Write;
use std::path::Path;

use super::LisfloodError;

/// LISFLOOD-FP's no-data value in output grids.
pub const NULL: f64 = -9999.0;

/// Writes an ESRI ASCII grid as LISFLOOD-FP does: a fixed-width header with
/// six decimals, then rows north to south, every value followed by a tab.
/// `values` are row-major from the north; NaN is written as −9999.
pub fn write_grid(
    path: &Path,
    (ncols, nrows): (usize, usize),
    (xll, yll, cell): (f64, f64, f64),
    values: impl Fn(usize, usize) -> f64,
    precision: usize,
) -> Result<(), LisfloodError> {
    let io = |e: std::io::Error| LisfloodError::Io { path: path.to_path_buf(), source: e };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    write!(
        w,
        "ncols         {ncols}\nnrows         {nrows}\nxllcorner     {xll:.6}\nyllcorner     {yll:.6}\ncellsize      {cell:.6}\nNODATA_value  {NULL:.6}\n"
    )
    .map_err(io)?;
    let mut line = String::with_capacity(ncols * (precision + 8));
    for row in 0..nrows {
        line.clear();
        for col in 0..ncols {
            let v = values(col, row);
            let v = if v.is_finite() { v } else { NULL };
            use std::fmt::Write as _;
            let _ = write!(line, "{v:.precision$}\t");
        }
        line.push('\n');
        w.write_all(line.as_bytes()).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// The `.stage` file: the header LISFLOOD-FP writes, then a row of depths per output time.
pub struct StageWriter {
    out: std::io::BufWriter<std::fs::File>,
    path: std::path::PathBuf,
}

impl StageWriter {
    /// `gauges`: (x, y, bed elevation if on the grid).
    pub fn create(path: &Path, source_name: &str, gauges: &[(f64, f64, Option<f64>)]) -> Result<Self, LisfloodError> {
        let io = |e: std::io::Error| LisfloodError::Io { path: path.to_path_buf(), source: e };
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        write!(
            out,
            "Stage output, depth (m). Stage locations from: {source_name}\n\nStage information (stage,x,y,elev):\n"
        )
        .map_err(io)?;
        for (k, (x, y, z)) in gauges.iter().enumerate() {
            match z {
                Some(z) => writeln!(out, "{}\t{x:.4}\t{y:.4}\t{z:.4}", k + 1),
                None => writeln!(out, "{}\t{x:.4}\t{y:.4}\tn/a", k + 1),
            }
            .map_err(io)?;
        }
        write!(out, "\nOutput, depths:\nTime; stages 1 to {}\n", gauges.len()).map_err(io)?;
        Ok(Self { out, path: path.to_path_buf() })
    }

    /// One row: the time and each gauge's depth (`None` off the grid).
    pub fn row(&mut self, t: f64, depths: &[Option<f64>]) -> Result<(), LisfloodError> {
        let io = |e: std::io::Error| LisfloodError::Io { path: self.path.clone(), source: e };
        let mut s = format!("{t:12.3}");
        for d in depths {
            match d {
                Some(d) => s.push_str(&format!("{d:10.4}")),
                None => s.push_str("-\t"),
            }
        }
        s.push('\n');
        self.out.write_all(s.as_bytes()).map_err(io)?;
        self.out.flush().map_err(io)
    }
}

/// One row of the `.mass` file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MassRow {
    pub t: f64,
    pub dt: f64,
    pub min_dt: f64,
    pub steps: u64,
    /// Area deeper than 1 cm, m².
    pub area: f64,
    pub volume: f64,
    /// Discharges into and out of the grid over the last step, m³/s.
    pub q_in: f64,
    pub q_out: f64,
    /// Volume error since the previous row, m³, and that over `massint`, m³/s.
    pub v_error: f64,
    pub q_error: f64,
}

pub const MASS_HEADER: &str = "Time         Tstep      MinTstep   NumTsteps    Area         Vol         Qin         Hds        Qout          Qerror       Verror       Rain-(Inf+Evap)\n";

/// LISFLOOD-FP's row format: `%-12.3f %-10.4f %-10.4f %-10ld %12.4f %12.4f  %-11.3f %-10.3f %-11.3f %12.4f %12.4f %12.4f`.
pub fn mass_line(r: &MassRow) -> String {
    format!(
        "{:<12.3} {:<10.4} {:<10.4} {:<10} {:>12.4} {:>12.4}  {:<11.3} {:<10.3} {:<11.3} {:>12.4} {:>12.4} {:>12.4}\n",
        r.t, r.dt, r.min_dt, r.steps, r.area, r.volume, r.q_in, 0.0, r.q_out, r.q_error, r.v_error, 0.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The row LISFLOOD-FP 8.1 printed for its T002 case (ACC, initial_tstep 10), as
    /// quoted from its `.mass` file: "10.000       10.0000    10.0000    1              100.0000     500.0000  50.000 ...".
    #[test]
    fn mass_rows_are_laid_out_as_lisflood_prints_them() {
        let r = MassRow {
            t: 10.0,
            dt: 10.0,
            min_dt: 10.0,
            steps: 1,
            area: 100.0,
            volume: 500.0,
            q_in: 50.0,
            ..Default::default()
        };
        let line = mass_line(&r);
        assert!(
            line.starts_with("10.000       10.0000    10.0000    1              100.0000     500.0000  50.000 "),
            "{line:?}"
        );
    }
}
