//! The `.par` file: one `keyword value` per line, `#` in the first column
//! for comments, keywords matched without regard to case, flags bare.
//!
//! Only the keywords of LISFLOOD-FP's ACC (local-inertial) solver that
//! Urbis honours are accepted; every other keyword is refused with its
//! line, in one error naming all of them (LISFLOOD-FP itself ignores
//! unknown keywords silently). Unlike LISFLOOD-FP, a line may start with
//! spaces, and a repeated keyword is an error instead of the last one winning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LisfloodError;

/// The options of a run, with LISFLOOD-FP 8.1's defaults (`lisflood.cpp`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub dem: PathBuf,
    pub resroot: String,
    pub dirroot: Option<PathBuf>,
    pub sim_time: f64,
    pub initial_tstep: f64,
    pub massint: f64,
    pub saveint: f64,
    pub fpfric: f64,
    pub manningfile: Option<PathBuf>,
    pub bcifile: Option<PathBuf>,
    pub bdyfile: Option<PathBuf>,
    pub stagefile: Option<PathBuf>,
    pub startfile: Option<PathBuf>,
    /// The start file holds water-surface elevations, not depths.
    pub startelev: bool,
    pub theta: f64,
    /// Friction from the face-normal discharge only.
    pub one_d_friction: bool,
    pub cfl: f64,
    pub depththresh: f64,
    pub gravity: f64,
    pub tstart: f64,
    pub output_precision: usize,
    pub elevoff: bool,
    pub depthoff: bool,
    /// Keywords accepted that change nothing in an ACC run, with their lines (for a note).
    pub no_effect: Vec<(usize, String)>,
}

/// Keywords for other solvers, engines or physics, refused by name so the
/// error can say what they are.
const OTHER_SOLVERS: &[&str] = &[
    "adaptoff",
    "roe",
    "roe_slow",
    "fv1",
    "fv2",
    "dg2",
    "acc_nugrid",
    "cuda",
    "qlim",
    "dhlin",
    "qlimfact",
    "toutput",
    "qloutput",
    "momentumthresh",
    "limitslopes",
    "krivodonovathresh",
    "dg2depththresh",
    "dg2thindepth_tstep",
    "epsilon",
    "l",
    "startq2d",
];
const SUBGRID: &[&str] = &[
    "sgcwidth",
    "sgc_enable",
    "sgcbed",
    "sgcbank",
    "sgcp",
    "sgcr",
    "sgcm",
    "sgcchan",
    "sgcs",
    "sgc2",
    "sgcn",
    "sgca",
    "sgcbfh_mode",
    "sgca_mode",
    "sgcvoutput",
    "sgccat_area",
    "sgcchangroup",
    "sgcchanprams",
    "sgcmanningfile",
    "sgcdirnfile",
    "sgcd8",
    "latlong",
    "damfile",
    "dammask",
    "chanmask",
    "linklist",
    "diffusive_froude_thresh",
    "saveint_max",
    "maxint",
];
const CHANNEL: &[&str] = &[
    "riverfile",
    "multiriverfile",
    "htol",
    "ts_multiple",
    "ch_start_h",
    "startq",
    "ch_dynamic",
    "dynsw",
    "diffusive",
    "chainageoff",
    "profiles",
    "qfile",
];
const NOT_YET: &[&str] = &[
    "rainfall",
    "rainfallmask",
    "dynamicrainfile",
    "infiltration",
    "inf",
    "infilfile",
    "evaporation",
    "routing",
    "routing_mass_check",
    "rainfallrouting",
    "routingspeed",
    "routesfthresh",
    "dist_routing",
    "porfile",
    "weirfile",
    "weir",
    "drycheckoff",
    "drain_nodata",
    "nodata_elevation",
    "binarystartfile",
    "binary_out",
    "ascheader",
    "qoutput",
    "voutput",
    "voutput_stage",
    "voutput_max",
    "hazard",
    "gaugefile",
    "overpass",
    "overpassfile",
    "checkpoint",
    "loadcheck",
    "steady",
    "steadytol",
    "mint_hk",
    "resettimeinit",
    "gzip",
    "netcdf_out",
    "ascii_out",
    "standard_extensions_out",
    "maxdepthonly",
];
/// Accepted: they change nothing in LISFLOOD-FP's ACC solver either.
const NO_EFFECT: &[&str] =
    &["max_froude", "log", "comp_out", "debug", "kill", "calcarea", "calcmeandepth", "calcvolume", "vtkoff"];

fn refusal(key: &str) -> Option<&'static str> {
    let k = key.to_ascii_lowercase();
    let k = k.as_str();
    if OTHER_SOLVERS.contains(&k) {
        Some("selects or tunes another LISFLOOD-FP solver; Urbis runs the ACC (local-inertial) solver only")
    } else if SUBGRID.contains(&k) {
        Some("belongs to the sub-grid channel model, which Urbis does not run")
    } else if CHANNEL.contains(&k) {
        Some("belongs to the 1D channel model, which Urbis does not run")
    } else if NOT_YET.contains(&k) {
        Some("is a LISFLOOD-FP option Urbis does not support yet")
    } else {
        None
    }
}

/// Parses a `.par` file's text; relative paths are resolved against `dir`.
pub fn parse(text: &str, file: &Path, dir: &Path) -> Result<Params, LisfloodError> {
    let mut seen: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    let mut no_effect = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.starts_with('#') {
            continue;
        }
        let mut words = raw.split_whitespace();
        let Some(key) = words.next() else { continue };
        if key.starts_with('#') {
            continue;
        }
        let lower = key.to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "dir" => "dirroot".to_string(),
            "simtime" => "sim_time".to_string(),
            "nfp" => "fpfric".to_string(),
            other => other.to_string(),
        };
        if let Some(why) = refusal(&canonical) {
            refused.push(format!("line {line}: `{key}` {why}"));
            continue;
        }
        if NO_EFFECT.contains(&canonical.as_str()) {
            no_effect.push((line, key.to_string()));
            continue;
        }
        if !KNOWN.contains(&canonical.as_str()) {
            refused.push(format!("line {line}: `{key}` is not a LISFLOOD-FP keyword Urbis knows"));
            continue;
        }
        let values: Vec<String> = words.take_while(|w| !w.starts_with('#')).map(str::to_string).collect();
        if let Some((first, _)) = seen.get(&canonical) {
            return Err(LisfloodError::at(file, line, format!("`{key}` repeats line {first}")));
        }
        seen.insert(canonical, (line, values));
    }
    if !refused.is_empty() {
        return Err(LisfloodError::Unsupported { file: file.to_path_buf(), keywords: refused });
    }
    let get = |k: &str| seen.get(k);
    let number = |k: &str, default: f64| -> Result<f64, LisfloodError> {
        match get(k) {
            None => Ok(default),
            Some((line, v)) => {
                let text = v.first().ok_or_else(|| LisfloodError::at(file, *line, format!("`{k}` needs a number")))?;
                let x: f64 = text
                    .parse()
                    .map_err(|_| LisfloodError::at(file, *line, format!("`{k}`: `{text}` is not a number")))?;
                if !x.is_finite() {
                    return Err(LisfloodError::at(file, *line, format!("`{k}`: {x} is not finite")));
                }
                Ok(x)
            }
        }
    };
    let path = |k: &str| -> Result<Option<PathBuf>, LisfloodError> {
        match get(k) {
            None => Ok(None),
            Some((line, v)) => {
                let name =
                    v.first().ok_or_else(|| LisfloodError::at(file, *line, format!("`{k}` needs a file name")))?;
                Ok(Some(dir.join(name)))
            }
        }
    };
    let flag = |k: &str| get(k).is_some();
    if !flag("acceleration") {
        return Err(LisfloodError::at(
            file,
            1,
            "no `acceleration` keyword: LISFLOOD-FP would run its older adaptive solver; Urbis runs the ACC \
             (local-inertial) solver only, so add `acceleration`"
                .into(),
        ));
    }
    let dem = path("demfile")?.ok_or_else(|| LisfloodError::at(file, 1, "no `DEMfile`".into()))?;
    let resroot = get("resroot").and_then(|(_, v)| v.first().cloned()).unwrap_or_else(|| "res".into());
    if resroot.contains(['/', '\\']) || resroot.is_empty() {
        let line = get("resroot").map_or(1, |(l, _)| *l);
        return Err(LisfloodError::at(file, line, format!("`resroot` {resroot:?} must be a plain file name")));
    }
    let params = Params {
        dem,
        resroot,
        dirroot: path("dirroot")?,
        sim_time: number("sim_time", 3600.0)?,
        initial_tstep: number("initial_tstep", 10.0)?,
        massint: number("massint", 100.0)?,
        saveint: number("saveint", 1000.0)?,
        fpfric: number("fpfric", 0.06)?,
        manningfile: path("manningfile")?,
        bcifile: path("bcifile")?,
        bdyfile: path("bdyfile")?,
        stagefile: path("stagefile")?,
        startfile: path("startfile")?,
        startelev: flag("startelev"),
        theta: number("theta", 1.0)?,
        one_d_friction: flag("1dfriction"),
        cfl: number("cfl", 0.7)?,
        depththresh: number("depththresh", 1e-3)?,
        gravity: number("gravity", super::super::flood::G)?,
        tstart: number("tstart", 0.0)?,
        output_precision: number("output_precision", 3.0)? as usize,
        elevoff: flag("elevoff"),
        depthoff: flag("depthoff"),
        no_effect,
    };
    let positive = [
        ("sim_time", params.sim_time),
        ("initial_tstep", params.initial_tstep),
        ("massint", params.massint),
        ("saveint", params.saveint),
        ("cfl", params.cfl),
        ("depththresh", params.depththresh),
        ("gravity", params.gravity),
    ];
    for (k, v) in positive {
        if v <= 0.0 {
            let line = get(k).map_or(1, |(l, _)| *l);
            return Err(LisfloodError::at(file, line, format!("`{k}` must be > 0, not {v}")));
        }
    }
    if !(0.0..=1.0).contains(&params.theta) || params.fpfric < 0.0 || params.cfl > 1.0 || params.output_precision > 12 {
        return Err(LisfloodError::at(
            file,
            1,
            "`theta` must be in [0, 1], `fpfric` ≥ 0, `cfl` ≤ 1 and `output_precision` ≤ 12".into(),
        ));
    }
    Ok(params)
}

/// The keywords Urbis honours (lower case, after aliases).
const KNOWN: &[&str] = &[
    "demfile",
    "resroot",
    "dirroot",
    "sim_time",
    "initial_tstep",
    "massint",
    "saveint",
    "fpfric",
    "manningfile",
    "bcifile",
    "bdyfile",
    "stagefile",
    "startfile",
    "startelev",
    "acceleration",
    "theta",
    "1dfriction",
    "cfl",
    "depththresh",
    "gravity",
    "tstart",
    "output_precision",
    "elevoff",
    "depthoff",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Params, LisfloodError> {
        parse(text, Path::new("case.par"), Path::new("/cases"))
    }

    #[test]
    fn keywords_defaults_and_paths() {
        let p = read("# a case\nDEMfile  dem.asc\nacceleration\nsim_time 7200 # two hours\n  massint 60\n1Dfriction\n")
            .expect("parse");
        assert_eq!(p.dem, Path::new("/cases/dem.asc"));
        assert_eq!((p.sim_time, p.massint, p.saveint, p.initial_tstep), (7200.0, 60.0, 1000.0, 10.0));
        assert_eq!((p.theta, p.cfl, p.depththresh, p.fpfric), (1.0, 0.7, 1e-3, 0.06));
        assert_eq!(p.gravity, 9.806_55);
        assert!(p.one_d_friction && !p.startelev);
        assert_eq!(p.resroot, "res");
    }

    #[test]
    fn unsupported_keywords_are_listed_with_their_lines() {
        let e =
            read("DEMfile d.asc\nacceleration\nSGCwidth w.asc\nrainfall r.rain\nfoo 1\nfv1\n").unwrap_err().to_string();
        for want in ["line 3: `SGCwidth`", "line 4: `rainfall`", "line 5: `foo`", "line 6: `fv1`", "case.par"] {
            assert!(e.contains(want), "{want} missing from: {e}");
        }
    }

    #[test]
    fn bad_values_name_the_line() {
        assert!(read("DEMfile d.asc\nsim_time 10\n").unwrap_err().to_string().contains("acceleration"));
        let e = read("DEMfile d.asc\nacceleration\nsim_time ten\n").unwrap_err().to_string();
        assert!(e.contains("case.par:3") && e.contains("ten"), "{e}");
        let e = read("DEMfile d.asc\nacceleration\ncfl -1\n").unwrap_err().to_string();
        assert!(e.contains("case.par:3") && e.contains("cfl"), "{e}");
        let e = read("DEMfile d.asc\nacceleration\nmassint 1\nmassint 2\n").unwrap_err().to_string();
        assert!(e.contains("case.par:4") && e.contains("repeats line 3"), "{e}");
    }
}
