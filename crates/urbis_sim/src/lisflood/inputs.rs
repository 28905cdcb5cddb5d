//! The input files of a LISFLOOD-FP case: ESRI ASCII grids (raw or gzip),
//! boundary conditions (`.bci`), their time series (`.bdy`) and gauges
//! (`.stage`). Every error names the file and line.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::LisfloodError;
use crate::flood::Series;

/// Grids larger than this many cells are refused (as `urbis_formats`' reader does).
const MAX_CELLS: usize = 1 << 30;

/// An ESRI ASCII grid as LISFLOOD-FP reads it, in f64, row 0 the northernmost.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub ncols: usize,
    pub nrows: usize,
    /// Lower-left corner of the lower-left cell.
    pub xll: f64,
    pub yll: f64,
    pub cell: f64,
    /// Row-major values, north row first; NaN where the file had NODATA.
    pub values: Vec<f64>,
    /// Whether the file gave `xllcenter` (LISFLOOD-FP would read it as a corner, half a cell off).
    pub centred: bool,
}

/// Reads a file whole, gunzipping it when it starts with gzip's magic bytes
/// (LISFLOOD-FP reads plain text only). Decompression stops past `limit` bytes.
pub fn read_maybe_gz(path: &Path, limit: u64) -> Result<Vec<u8>, LisfloodError> {
    let io = |e: std::io::Error| LisfloodError::Io { path: path.to_path_buf(), source: e };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(LisfloodError::at(path, 0, "is not a regular file".into()));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| LisfloodError::at(path, 0, format!("gzip: {e}")))?;
    if out.len() as u64 > limit {
        return Err(LisfloodError::at(path, 0, format!("unpacks to more than {limit} bytes")));
    }
    Ok(out)
}

/// Reads an ESRI ASCII grid (header keywords in any order, `xllcorner` or
/// `xllcenter`); values within 1e-5 of NODATA become NaN, as LISFLOOD-FP matches them.
pub fn read_grid(path: &Path) -> Result<Grid, LisfloodError> {
    let bytes = read_maybe_gz(path, (MAX_CELLS as u64) * 24)?;
    parse_grid(&bytes, path)
}

pub fn parse_grid(bytes: &[u8], path: &Path) -> Result<Grid, LisfloodError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        LisfloodError::at(path, line, "not UTF-8 text".into())
    })?;
    let err = |line: usize, msg: String| LisfloodError::at(path, line, msg);
    let mut header: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some(&(i, line)) = lines.peek() {
        let mut parts = line.split_whitespace();
        let Some(key) = parts.next() else {
            lines.next();
            continue;
        };
        if key.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.' || c == '+') {
            break;
        }
        let value = parts.next().ok_or_else(|| err(i + 1, format!("header `{key}` has no value")))?;
        let v: f64 = value.parse().map_err(|_| err(i + 1, format!("header `{key}`: `{value}` is not a number")))?;
        let k = key.to_ascii_lowercase();
        if !["ncols", "nrows", "xllcorner", "yllcorner", "xllcenter", "yllcenter", "cellsize", "nodata_value"]
            .contains(&k.as_str())
        {
            return Err(err(i + 1, format!("unknown header key `{key}`")));
        }
        header.insert(k, (i + 1, v));
        lines.next();
    }
    let get = |k: &str| header.get(k).map(|(_, v)| *v);
    let need = |k: &str| get(k).ok_or_else(|| err(1, format!("header lacks `{k}`")));
    let (ncols, nrows) = (need("ncols")?, need("nrows")?);
    if !(ncols >= 1.0
        && nrows >= 1.0
        && ncols.fract() == 0.0
        && nrows.fract() == 0.0
        && ncols * nrows <= MAX_CELLS as f64)
    {
        return Err(err(
            1,
            format!("grid size {ncols} × {nrows} is not a positive count of at most {MAX_CELLS} cells"),
        ));
    }
    let (ncols, nrows) = (ncols as usize, nrows as usize);
    let cell = need("cellsize")?;
    let centred = get("xllcenter").is_some();
    let (mut xll, mut yll) = match (get("xllcorner"), get("yllcorner"), get("xllcenter"), get("yllcenter")) {
        (Some(x), Some(y), None, None) => (x, y),
        (None, None, Some(x), Some(y)) => (x, y),
        _ => return Err(err(1, "give xllcorner and yllcorner, or xllcenter and yllcenter".into())),
    };
    if !(cell.is_finite() && cell > 0.0 && xll.is_finite() && yll.is_finite()) {
        return Err(err(1, format!("cellsize {cell} / corner ({xll}, {yll}) invalid")));
    }
    if centred {
        xll -= cell / 2.0;
        yll -= cell / 2.0;
    }
    let nodata = get("nodata_value");
    let total = ncols * nrows;
    let mut values = Vec::with_capacity(total.min(bytes.len() / 2 + 1));
    for (i, line) in lines {
        for tok in line.split_whitespace() {
            if values.len() == total {
                return Err(err(i + 1, format!("more than {total} values ({ncols} × {nrows})")));
            }
            let v: f64 = tok.parse().map_err(|_| err(i + 1, format!("`{tok}` is not a number")))?;
            let is_nodata = nodata.is_some_and(|nd| (v - nd).abs() < 1e-5) || !v.is_finite();
            values.push(if is_nodata { f64::NAN } else { v });
        }
    }
    if values.len() != total {
        return Err(err(text.lines().count(), format!("truncated: {} of {total} values", values.len())));
    }
    Ok(Grid { ncols, nrows, xll, yll, cell, values, centred })
}

/// A value or a named series of the `.bdy` file.
#[derive(Debug, Clone, PartialEq)]
pub enum BcValue {
    Fixed(f64),
    Named(String),
}

/// What a boundary condition imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BcKind {
    /// Free outflow (the value, if any, is the slope).
    Free,
    /// Water-surface elevation (HFIX, HVAR).
    Level,
    /// Discharge per unit width, m²/s (QFIX, QVAR).
    Flow,
}

/// Where a boundary condition applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BcPlace {
    /// `N`, `E`, `S` or `W` from one coordinate along the edge to another.
    Edge { side: char, from: f64, to: f64 },
    /// `P x y`: one cell.
    Point { x: f64, y: f64 },
}

/// One line of the `.bci` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Bc {
    pub line: usize,
    pub place: BcPlace,
    pub kind: BcKind,
    /// `None` for FREE without a slope.
    pub value: Option<BcValue>,
}

/// Parses the `.bci` file: `N|E|S|W from to TYPE [value]` or `P x y TYPE value|name`.
/// Blank lines and lines starting with `#` are skipped (LISFLOOD-FP would warn).
pub fn parse_bci(text: &str, path: &Path) -> Result<Vec<Bc>, LisfloodError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let words: Vec<&str> = raw.split_whitespace().collect();
        if words.is_empty() || words[0].starts_with('#') {
            continue;
        }
        let err = |msg: String| LisfloodError::at(path, line, msg);
        if words.len() < 4 {
            return Err(err(format!("expected `N|E|S|W|P a b TYPE [value]`, got `{}`", raw.trim())));
        }
        let num = |w: &str| {
            w.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| err(format!("`{w}` is not a number")))
        };
        let (a, b) = (num(words[1])?, num(words[2])?);
        let place = match words[0].chars().next() {
            Some(c @ ('N' | 'E' | 'S' | 'W')) => BcPlace::Edge { side: c, from: a, to: b },
            Some('P') => BcPlace::Point { x: a, y: b },
            _ => return Err(err(format!("`{}` is not N, E, S, W or P", words[0]))),
        };
        let ty = words[3].to_ascii_uppercase();
        let arg = words.get(4).copied();
        let (kind, value) = match ty.as_str() {
            "FREE" => {
                if matches!(place, BcPlace::Point { .. }) {
                    return Err(err(
                        "a point cannot be FREE (LISFLOOD-FP allows it only with sub-grid channels)".into()
                    ));
                }
                // LISFLOOD-FP reads a slope below −0.999 as "none".
                let slope = arg.map(num).transpose()?.filter(|s| *s > -0.999);
                if slope.is_some_and(|s| s < 0.0) {
                    return Err(err("a FREE slope must be ≥ 0".into()));
                }
                (BcKind::Free, slope.map(BcValue::Fixed))
            }
            "HFIX" | "QFIX" => {
                let v = num(arg.ok_or_else(|| err(format!("{ty} needs a value")))?)?;
                (if ty == "HFIX" { BcKind::Level } else { BcKind::Flow }, Some(BcValue::Fixed(v)))
            }
            "HVAR" | "QVAR" => {
                let name = arg.ok_or_else(|| err(format!("{ty} needs the name of a .bdy series")))?;
                (if ty == "HVAR" { BcKind::Level } else { BcKind::Flow }, Some(BcValue::Named(name.to_string())))
            }
            "CLOSED" | "NONE" => continue,
            other => return Err(err(format!("unknown boundary type `{other}` (FREE, HFIX, HVAR, QFIX, QVAR)"))),
        };
        out.push(Bc { line, place, kind, value });
    }
    Ok(out)
}

/// Parses the `.bdy` file: a title line, then for each series its name, a
/// line `count units` (seconds, minutes, hours or days) and `count` lines of
/// `value time`; times must increase. Returns linear series in seconds.
pub fn parse_bdy(text: &str, path: &Path) -> Result<BTreeMap<String, Series>, LisfloodError> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().enumerate().skip(1).peekable();
    let is_skip = |l: &str| l.trim().is_empty() || l.starts_with('#');
    while let Some((i, raw)) = lines.next() {
        if is_skip(raw) {
            continue;
        }
        let name = raw.split_whitespace().next().unwrap_or_default().to_string();
        let header = loop {
            match lines.next() {
                Some((_, l)) if is_skip(l) => continue,
                Some(h) => break h,
                None => {
                    return Err(LisfloodError::at(path, i + 1, format!("series `{name}` has no `count units` line")));
                }
            }
        };
        let (hl, htext) = (header.0 + 1, header.1);
        let mut w = htext.split_whitespace();
        let count: usize = w.next().and_then(|c| c.parse().ok()).ok_or_else(|| {
            LisfloodError::at(path, hl, format!("series `{name}`: expected `count units`, got `{}`", htext.trim()))
        })?;
        let unit = w.next().unwrap_or("seconds").to_ascii_lowercase();
        let scale = match unit.as_str() {
            "seconds" | "second" => 1.0,
            "minutes" | "minute" => 60.0,
            "hours" | "hour" => 3600.0,
            "days" | "day" => 86_400.0,
            other => {
                return Err(LisfloodError::at(
                    path,
                    hl,
                    format!("series `{name}`: unit `{other}` (seconds, minutes, hours, days)"),
                ));
            }
        };
        if count == 0 || count > text.len() {
            return Err(LisfloodError::at(path, hl, format!("series `{name}`: {count} values")));
        }
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(count);
        while points.len() < count {
            let Some((j, l)) = lines.next() else {
                return Err(LisfloodError::at(
                    path,
                    hl,
                    format!("series `{name}` ends after {} of {count} values", points.len()),
                ));
            };
            if l.starts_with('#') {
                continue;
            }
            let err = |msg: String| LisfloodError::at(path, j + 1, format!("series `{name}`: {msg}"));
            let nums: Vec<f64> = l
                .split_whitespace()
                .take(2)
                .map(|t| t.parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| err(format!("`{}` is not `value time`", l.trim())))?;
            if nums.len() < 2 || nums.iter().any(|v| !v.is_finite()) {
                return Err(err(format!("`{}` is not `value time`", l.trim())));
            }
            let (v, t) = (nums[0], nums[1] * scale);
            if points.last().is_some_and(|p| t <= p.0) {
                return Err(err(format!("time {} does not increase", nums[1])));
            }
            points.push((t, v));
        }
        if out.insert(name.clone(), Series::linear(points)).is_some() {
            return Err(LisfloodError::at(path, i + 1, format!("series `{name}` is given twice")));
        }
    }
    Ok(out)
}

/// Parses the gauge list: a count, then that many `x y` pairs (anything after is ignored, as LISFLOOD-FP does).
pub fn parse_stage(text: &str, path: &Path) -> Result<Vec<(f64, f64)>, LisfloodError> {
    let mut tokens = text.lines().enumerate().flat_map(|(i, l)| l.split_whitespace().map(move |t| (i + 1, t)));
    let (line, first) = tokens.next().ok_or_else(|| LisfloodError::at(path, 1, "empty gauge list".into()))?;
    let n: usize =
        first.parse().map_err(|_| LisfloodError::at(path, line, format!("`{first}` is not a gauge count")))?;
    if n > 1_000_000 {
        return Err(LisfloodError::at(path, line, format!("{n} gauges")));
    }
    let mut out = Vec::with_capacity(n.min(text.len()));
    for k in 0..n {
        let mut coord = || -> Result<f64, LisfloodError> {
            let (l, t) = tokens
                .next()
                .ok_or_else(|| LisfloodError::at(path, line, format!("{n} gauges announced, {k} given")))?;
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| LisfloodError::at(path, l, format!("`{t}` is not a coordinate")))
        };
        let (x, y) = (coord()?, coord()?);
        out.push((x, y));
    }
    Ok(out)
}

/// Reads a small text file (bci, bdy, stage), refusing anything but regular files.
pub fn read_text(path: &Path) -> Result<String, LisfloodError> {
    let bytes = read_maybe_gz(path, 1 << 30)?;
    String::from_utf8(bytes).map_err(|_| LisfloodError::at(path, 0, "not UTF-8 text".into()))
}

/// A relative path resolved against the case's directory (kept for messages).
pub fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { dir.join(p) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_with_corner_or_centre_and_nodata() {
        let g = parse_grid(
            b"ncols 2\nnrows 2\nxllcenter 5\nyllcenter 5\ncellsize 10\nNODATA_value -9999\n1 2\n-9999 4\n",
            Path::new("g.asc"),
        )
        .expect("grid");
        assert_eq!((g.xll, g.yll, g.centred), (0.0, 0.0, true));
        assert!(g.values[2].is_nan() && g.values[3] == 4.0);
        let e = parse_grid(b"ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2 3\n", Path::new("g.asc"))
            .unwrap_err();
        assert!(e.to_string().contains("g.asc") && e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn bci_lines_and_their_errors() {
        let b = parse_bci("W 0 100 HVAR tide\nP 25 25 QFIX 5\nN 0 999 FREE\nE 0 50 FREE 0.001\n", Path::new("c.bci"))
            .expect("bci");
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].value, Some(BcValue::Named("tide".into())));
        assert_eq!((b[1].kind, b[2].value.clone()), (BcKind::Flow, None));
        assert_eq!(b[3].value, Some(BcValue::Fixed(0.001)));
        let e = parse_bci("W 0 100 HVAR\n", Path::new("c.bci")).unwrap_err().to_string();
        assert!(e.contains("c.bci:1") && e.contains("HVAR"), "{e}");
        let e = parse_bci("P 1 1 FREE\n", Path::new("c.bci")).unwrap_err().to_string();
        assert!(e.contains("point"), "{e}");
    }

    #[test]
    fn bdy_series_are_linear_in_seconds() {
        let s =
            parse_bdy("title\ntide\n3 minutes\n1.0 0\n2.0 10\n0.0 20\nflow\n2 hours\n5 0\n5 1\n", Path::new("c.bdy"))
                .expect("bdy");
        let tide = &s["tide"];
        assert_eq!(tide.points, vec![(0.0, 1.0), (600.0, 2.0), (1200.0, 0.0)]);
        assert_eq!(tide.at(300.0), 1.5);
        assert_eq!(tide.at(5000.0), 0.0);
        assert_eq!(s["flow"].points[1], (3600.0, 5.0));
        let e = parse_bdy("t\nx\n2 seconds\n1 0\n1 0\n", Path::new("c.bdy")).unwrap_err().to_string();
        assert!(e.contains("c.bdy:5") && e.contains("increase"), "{e}");
        let e = parse_bdy("t\nx\n3 seconds\n1 0\n\n", Path::new("c.bdy")).unwrap_err().to_string();
        assert!(e.contains("ends after") || e.contains("value time"), "{e}");
    }

    #[test]
    fn gauges() {
        assert_eq!(
            parse_stage("2\n1 2\n3 4\n# notes\n", Path::new("g.stage")).expect("stage"),
            vec![(1.0, 2.0), (3.0, 4.0)]
        );
        assert!(parse_stage("3\n1 2\n", Path::new("g.stage")).is_err());
    }
}
