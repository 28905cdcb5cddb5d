//! ESRI ASCII grid (`.asc`) digital elevation models.
//!
//! The header gives `ncols`, `nrows`, `xllcorner`/`xllcenter`,
//! `yllcorner`/`yllcenter`, `cellsize` and optionally `NODATA_value`; then
//! `nrows` rows of `ncols` values, northernmost row first. A sidecar `.prj`
//! naming an EPSG code (WKT `AUTHORITY["EPSG", "…"]`/`ID["EPSG", …]`, or the text
//! `EPSG:…`) gives the CRS.

use std::io::Write;
use std::path::Path;

use urbis_geo::Epsg;

use crate::FormatError;

/// The largest grid accepted, in cells (a 32k × 32k raster).
pub const MAX_CELLS: usize = 1 << 30;

/// A regular height grid in some CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct DemGrid {
    pub ncols: usize,
    pub nrows: usize,
    /// West edge of the grid (lower-left corner of the lower-left cell), CRS units.
    pub x_min: f64,
    /// South edge of the grid.
    pub y_min: f64,
    pub cell_size: f64,
    /// Row-major heights, row 0 the northernmost; `NaN` where the file had NODATA.
    pub heights: Vec<f32>,
    /// The NODATA value the file declared, if any.
    pub nodata_value: Option<f64>,
    pub crs: Option<Epsg>,
}

impl DemGrid {
    /// Centre of cell (col, row) in CRS units; row 0 is the northernmost row.
    pub fn cell_center(&self, col: usize, row: usize) -> (f64, f64) {
        (
            self.x_min + (col as f64 + 0.5) * self.cell_size,
            self.y_min + (self.nrows as f64 - row as f64 - 0.5) * self.cell_size,
        )
    }

    /// Height of a cell, `None` for NODATA or out of range.
    pub fn height(&self, col: usize, row: usize) -> Option<f32> {
        if col >= self.ncols || row >= self.nrows {
            return None;
        }
        let h = self.heights[row * self.ncols + col];
        (!h.is_nan()).then_some(h)
    }

    /// Bilinear interpolation between cell centres; `None` outside the grid
    /// or next to NODATA. Points between the outermost centres and the edge
    /// take the nearest edge values.
    pub fn sample(&self, x: f64, y: f64) -> Option<f64> {
        let fx = (x - self.x_min) / self.cell_size - 0.5;
        let fy = (self.y_min + self.nrows as f64 * self.cell_size - y) / self.cell_size - 0.5;
        if !(fx >= -0.5 && fy >= -0.5 && fx <= self.ncols as f64 - 0.5 && fy <= self.nrows as f64 - 0.5) {
            return None;
        }
        let fx = fx.clamp(0.0, (self.ncols - 1) as f64);
        let fy = fy.clamp(0.0, (self.nrows - 1) as f64);
        let (c0, r0) = (fx.floor() as usize, fy.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(self.ncols - 1), (r0 + 1).min(self.nrows - 1));
        let (tx, ty) = (fx - c0 as f64, fy - r0 as f64);
        // Corners with zero weight may be NODATA without spoiling the sample.
        let mut sum = 0.0;
        for (c, r, w) in
            [(c0, r0, (1.0 - tx) * (1.0 - ty)), (c1, r0, tx * (1.0 - ty)), (c0, r1, (1.0 - tx) * ty), (c1, r1, tx * ty)]
        {
            if w > 0.0 {
                sum += w * f64::from(self.height(c, r)?);
            }
        }
        Some(sum)
    }

    /// Writes the grid in ESRI ASCII form with `-9999` for NODATA.
    pub fn write(&self, mut w: impl Write) -> std::io::Result<()> {
        writeln!(w, "ncols {}", self.ncols)?;
        writeln!(w, "nrows {}", self.nrows)?;
        writeln!(w, "xllcorner {}", self.x_min)?;
        writeln!(w, "yllcorner {}", self.y_min)?;
        writeln!(w, "cellsize {}", self.cell_size)?;
        writeln!(w, "NODATA_value -9999")?;
        let mut line = String::new();
        for row in self.heights.chunks(self.ncols.max(1)) {
            line.clear();
            for (i, h) in row.iter().enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                if h.is_nan() {
                    line.push_str("-9999");
                } else {
                    // Millimetre resolution is plenty for terrain.
                    let text = format!("{h:.3}");
                    line.push_str(text.trim_end_matches('0').trim_end_matches('.'));
                }
            }
            writeln!(w, "{line}")?;
        }
        Ok(())
    }
}

/// Reads an ESRI ASCII grid file and its optional `.prj` sidecar.
pub fn read(path: &Path) -> Result<DemGrid, FormatError> {
    let bytes = crate::read_file(path)?;
    let mut grid = parse(&bytes, &path.display().to_string())?;
    let prj = path.with_extension("prj");
    if prj.exists() {
        let text = std::fs::read_to_string(&prj)
            .map_err(|source| FormatError::Io { path: prj.display().to_string(), source })?;
        grid.crs = epsg_from_prj(&text);
    }
    Ok(grid)
}

/// Finds the EPSG code of the CRS in `.prj` text: the last `AUTHORITY`/`ID`
/// EPSG entry of WKT (the one of the whole CRS), or an `EPSG:NNNN` string.
pub fn epsg_from_prj(text: &str) -> Option<Epsg> {
    let upper = text.to_ascii_uppercase();
    let mut found = None;
    for (i, _) in upper.match_indices("EPSG") {
        let rest = &upper[i + 4..];
        let digits: String = rest
            .trim_start_matches(|c: char| c == '"' || c == ':' || c == ',' || c.is_whitespace())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(code) = digits.parse::<u32>() {
            found = Some(Epsg(code));
        }
    }
    found
}

/// Parses ESRI ASCII grid text; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<DemGrid, FormatError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FormatError::Line {
        path: name.into(),
        line: 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count(),
        msg: "not UTF-8 text".into(),
    })?;
    let err = |line: usize, msg: String| FormatError::Line { path: name.into(), line, msg };

    let mut ncols = None;
    let mut nrows = None;
    let mut x = None;
    let mut y = None;
    let mut centered = false;
    let mut cell = None;
    let mut nodata = None;
    let mut lines = text.lines().enumerate().peekable();
    while let Some(&(i, line)) = lines.peek() {
        let mut parts = line.split_whitespace();
        let Some(key) = parts.next() else {
            lines.next();
            continue;
        };
        if key.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.' || c == '+') {
            break; // first data row
        }
        let value = parts.next().ok_or_else(|| err(i + 1, format!("header `{key}` has no value")))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| err(i + 1, format!("header `{key}`: `{v}` is not a number")));
        let count =
            |v: &str| v.parse::<usize>().map_err(|_| err(i + 1, format!("header `{key}`: `{v}` is not a count")));
        match key.to_ascii_lowercase().as_str() {
            "ncols" => ncols = Some(count(value)?),
            "nrows" => nrows = Some(count(value)?),
            "xllcorner" => x = Some(num(value)?),
            "yllcorner" => y = Some(num(value)?),
            "xllcenter" => {
                x = Some(num(value)?);
                centered = true;
            }
            "yllcenter" => {
                y = Some(num(value)?);
                centered = true;
            }
            "cellsize" => cell = Some(num(value)?),
            "nodata_value" => nodata = Some(num(value)?),
            other => return Err(err(i + 1, format!("unknown header key `{other}`"))),
        }
        lines.next();
    }
    let missing = |k: &str| err(1, format!("header lacks `{k}`"));
    let ncols = ncols.ok_or_else(|| missing("ncols"))?;
    let nrows = nrows.ok_or_else(|| missing("nrows"))?;
    let cell_size = cell.ok_or_else(|| missing("cellsize"))?;
    let (mut x_min, mut y_min) = (x.ok_or_else(|| missing("xllcorner"))?, y.ok_or_else(|| missing("yllcorner"))?);
    if ncols == 0 || nrows == 0 || ncols.saturating_mul(nrows) > MAX_CELLS {
        return Err(err(1, format!("grid size {ncols} × {nrows} is empty or over {MAX_CELLS} cells")));
    }
    if !(cell_size.is_finite() && cell_size > 0.0 && x_min.is_finite() && y_min.is_finite()) {
        return Err(err(1, format!("cellsize {cell_size} / corner ({x_min}, {y_min}) invalid")));
    }
    if centered {
        x_min -= cell_size / 2.0;
        y_min -= cell_size / 2.0;
    }
    let total = ncols * nrows;
    // Never reserve more than the remaining text could hold (two bytes a value).
    let mut heights = Vec::with_capacity(total.min(bytes.len() / 2 + 1));
    for (i, line) in lines {
        for tok in line.split_whitespace() {
            if heights.len() == total {
                return Err(err(i + 1, format!("more than {total} values ({ncols} × {nrows})")));
            }
            let v: f64 = tok.parse().map_err(|_| err(i + 1, format!("`{tok}` is not a number")))?;
            let is_nodata = nodata.is_some_and(|nd| (v - nd).abs() < 1e-9) || !v.is_finite();
            heights.push(if is_nodata { f32::NAN } else { v as f32 });
        }
    }
    if heights.len() != total {
        return Err(err(text.lines().count(), format!("truncated: {} of {total} values", heights.len())));
    }
    Ok(DemGrid { ncols, nrows, x_min, y_min, cell_size, heights, nodata_value: nodata, crs: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str =
        "ncols 3\nnrows 2\nxllcorner 100\nyllcorner 200\ncellsize 10\nNODATA_value -9999\n1 2 3\n4 -9999 6\n";

    #[test]
    fn parses_header_rows_and_nodata() {
        let g = parse(SMALL.as_bytes(), "small.asc").unwrap();
        assert_eq!((g.ncols, g.nrows), (3, 2));
        assert_eq!(g.height(0, 0), Some(1.0)); // north-west
        assert_eq!(g.height(1, 1), None);
        assert_eq!(g.cell_center(0, 0), (105.0, 215.0));
        assert_eq!(g.sample(105.0, 215.0), Some(1.0));
        assert_eq!(g.sample(110.0, 215.0), Some(1.5));
        assert_eq!(g.sample(115.0, 205.0), None); // next to NODATA
        assert_eq!(g.sample(99.0, 215.0), None);
    }

    #[test]
    fn round_trips_through_write() {
        let g = parse(SMALL.as_bytes(), "small.asc").unwrap();
        let mut out = Vec::new();
        g.write(&mut out).unwrap();
        let h = parse(&out, "again.asc").unwrap();
        assert_eq!(g.ncols, h.ncols);
        assert!(g.heights.iter().zip(&h.heights).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
    }

    #[test]
    fn bad_input_names_file_and_line() {
        let truncated = "ncols 3\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2 3\n4\n";
        let e = parse(truncated.as_bytes(), "t.asc").unwrap_err().to_string();
        assert!(e.contains("t.asc") && e.contains("truncated"), "{e}");
        let huge = "ncols 4000000000\nnrows 4000000000\nxllcorner 0\nyllcorner 0\ncellsize 1\n1\n";
        assert!(parse(huge.as_bytes(), "h.asc").unwrap_err().to_string().contains("over"));
        let junk = "ncols 1\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\nabc\n";
        let e = parse(junk.as_bytes(), "j.asc").unwrap_err().to_string();
        assert!(e.contains("line 6") && e.contains("abc"), "{e}");
        assert!(parse(&[0xff, 0xfe], "b.asc").is_err());
    }

    #[test]
    fn prj_epsg_codes() {
        assert_eq!(epsg_from_prj("EPSG:4548"), Some(Epsg(4548)));
        let wkt = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 117E",GEOGCS["China Geodetic Coordinate System 2000",AUTHORITY["EPSG","4490"]],AUTHORITY["EPSG","4548"]]"#;
        assert_eq!(epsg_from_prj(wkt), Some(Epsg(4548)));
        assert_eq!(epsg_from_prj("LOCAL_CS[\"x\"]"), None);
    }
}
