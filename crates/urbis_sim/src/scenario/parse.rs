//! From TOML text to a checked [`Scenario`]. The raw serde structs keep
//! byte spans (`toml::Spanned`) so that every refusal names the line,
//! column and field; CRSs are checked with PROJ here, before any city loads.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use urbis_geo::{CrsTransform, Epsg};

use super::*;

/// Errors reading a scenario. All name the file; content errors the line, column and field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file could not be read (it names itself).
    #[error(transparent)]
    Read(#[from] urbis_formats::FormatError),
    #[error("{path}:{line}:{column}: {message}")]
    Toml { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}:{}:{}: {}: {message}", at.line, at.column, at.field)]
    Invalid { path: PathBuf, at: Located, message: String },
}

type P2 = [f64; 2];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    description: Option<String>,
    city: Option<Spanned<toml::Value>>,
    crs: Option<Spanned<String>>,
    #[serde(default)]
    modify: Vec<Spanned<RawMod>>,
    roughness: Option<Spanned<RawRoughness>>,
    flood: Option<Spanned<RawFlood>>,
    sunlight: Option<RawSun>,
    viewshed: Option<RawView>,
    compliance: Option<RawCompliance>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMod {
    kind: Spanned<String>,
    id: Option<Spanned<String>>,
    footprint: Option<Spanned<Vec<P2>>>,
    polygon: Option<Spanned<Vec<P2>>>,
    line: Option<Spanned<Vec<P2>>>,
    height: Option<Spanned<f64>>,
    width: Option<Spanned<f64>>,
    by: Option<Spanned<f64>>,
    to: Option<Spanned<f64>>,
    #[serde(rename = "use")]
    usage: Option<String>,
    storey: Option<Spanned<f64>>,
    crs: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoughness {
    road: Option<Spanned<f64>>,
    vegetation: Option<Spanned<f64>>,
    water: Option<Spanned<f64>>,
    ground: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    name: Option<String>,
    at: Spanned<P2>,
    crs: Option<Spanned<String>>,
    hydrograph: Option<Spanned<Vec<P2>>>,
    eye_height: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlood {
    coarsen: Option<Spanned<i64>>,
    duration_min: Option<Spanned<f64>>,
    rain_mm_per_h: Option<Spanned<f64>>,
    rain_min: Option<Spanned<f64>>,
    hyetograph: Option<Spanned<Vec<P2>>>,
    river_rise_m: Option<Spanned<f64>>,
    rise_over_min: Option<Spanned<f64>>,
    #[serde(default)]
    inflow: Vec<RawPoint>,
    #[serde(default)]
    gauge: Vec<RawPoint>,
    gauge_interval_s: Option<Spanned<f64>>,
    threshold_m: Option<Spanned<f64>>,
    memory_limit_mb: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSun {
    date: Option<Spanned<toml::Value>>,
    from_h: Option<Spanned<f64>>,
    to_h: Option<Spanned<f64>>,
    step_min: Option<Spanned<f64>>,
    min_hours: Option<Spanned<f64>>,
    radius_m: Option<Spanned<f64>>,
    #[serde(rename = "use")]
    usage: Option<String>,
    spacing_m: Option<Spanned<f64>>,
    storey_m: Option<Spanned<f64>>,
    facing: Option<Spanned<String>>,
    shadow_times_h: Option<Spanned<Vec<f64>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawView {
    #[serde(default)]
    viewpoint: Vec<RawPoint>,
    target_height: Option<Spanned<f64>>,
    coarsen: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    name: Option<String>,
    polygon: Spanned<Vec<P2>>,
    max_height_m: Spanned<f64>,
    crs: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompliance {
    #[serde(default)]
    buildings: Vec<String>,
    height_limit_m: Option<Spanned<f64>>,
    #[serde(default)]
    height_zone: Vec<RawZone>,
    /// A GeoJSON layer of height-limit polygons with a `max_height_m` property.
    height_limits: Option<Spanned<String>>,
    setback_m: Option<Spanned<f64>>,
    max_far: Option<Spanned<f64>>,
    plot: Option<String>,
}

/// The file's text and name, for turning spans into line and column.
struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    /// The scenario-wide CRS.
    crs: Crs,
}

impl Ctx<'_> {
    fn at(&self, span: Range<usize>, field: impl Into<String>) -> Located {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Located { field: field.into(), line, column }
    }

    fn err(&self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid { path: self.path.to_path_buf(), at: self.at(span, field), message: message.into() }
    }

    /// A number within [lo, hi].
    fn num(&self, v: &Spanned<f64>, field: &str, lo: f64, hi: f64) -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if !(x.is_finite() && x >= lo && x <= hi) {
            let what = if x < 0.0 && lo >= 0.0 { "must not be negative" } else { "is out of range" };
            return Err(self.err(v.span(), field, format!("{x} {what} ([{lo}, {hi}])")));
        }
        Ok(x)
    }

    fn opt(&self, v: &Option<Spanned<f64>>, field: &str, lo: f64, hi: f64, default: f64) -> Result<f64, ScenarioError> {
        v.as_ref().map_or(Ok(default), |v| self.num(v, field, lo, hi))
    }

    fn crs(&self, v: &Option<Spanned<String>>, field: &str) -> Result<Crs, ScenarioError> {
        match v {
            None => Ok(self.crs),
            Some(s) => parse_crs(s.get_ref()).map_err(|m| self.err(s.span(), field, m)),
        }
    }

    fn shape(&self, pts: &Spanned<Vec<P2>>, crs: Crs, field: &str, min: usize) -> Result<Shape, ScenarioError> {
        let points = pts.get_ref().clone();
        if points.len() < min {
            return Err(self.err(pts.span(), field, format!("needs at least {min} points, has {}", points.len())));
        }
        if let Some(k) = points.iter().position(|p| !p[0].is_finite() || !p[1].is_finite()) {
            return Err(self.err(pts.span(), format!("{field}[{k}]"), "coordinates must be finite numbers"));
        }
        Ok(Shape { crs, points, at: self.at(pts.span(), field) })
    }

    fn polygon(&self, pts: &Spanned<Vec<P2>>, crs: Crs, field: &str) -> Result<Shape, ScenarioError> {
        use geo::Validation;
        let mut s = self.shape(pts, crs, field, 3)?;
        if s.points.len() > 3 && s.points.first() == s.points.last() {
            s.points.pop();
        }
        let ring: Vec<(f64, f64)> = s.points.iter().map(|p| (p[0], p[1])).collect();
        let poly = geo::Polygon::new(geo::LineString::from(ring), vec![]);
        if let Err(e) = poly.check_validation() {
            let what = e.to_string();
            let msg = if what.contains("ntersect") { format!("self-intersecting polygon ({what})") } else { what };
            return Err(self.err(pts.span(), field, msg));
        }
        Ok(s)
    }

    fn point(&self, p: &RawPoint, field: &str) -> Result<Shape, ScenarioError> {
        let crs = self.crs(&p.crs, &format!("{field}.crs"))?;
        let pts = Spanned::new(p.at.span(), vec![*p.at.get_ref()]);
        self.shape(&pts, crs, &format!("{field}.at"), 1)
    }
}

/// `"EPSG:n"` (checked with PROJ) or `"local"`.
fn parse_crs(s: &str) -> Result<Crs, String> {
    if s.eq_ignore_ascii_case("local") {
        return Ok(Crs::Local);
    }
    let code = s
        .strip_prefix("EPSG:")
        .or_else(|| s.strip_prefix("epsg:"))
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| format!("unknown CRS `{s}` (write \"EPSG:<code>\" or \"local\")"))?;
    CrsTransform::new(Epsg(code), Epsg(4978)).map_err(|e| format!("unknown CRS `{s}`: {e}"))?;
    Ok(Crs::Epsg(Epsg(code)))
}

fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.trim().splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    let days = [
        31,
        if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    ((1..=12).contains(&m) && d >= 1 && d <= days[m as usize - 1] && (1900..=2200).contains(&y)).then_some((y, m, d))
}

/// A `[minute, value]` table as a step series in seconds; values ≥ 0, minutes increasing.
fn steps(cx: &Ctx, t: &Spanned<Vec<P2>>, field: &str, scale: f64, what: &str) -> Result<Series, ScenarioError> {
    let mut out = Vec::new();
    for (k, [minute, v]) in t.get_ref().iter().enumerate() {
        if !(v.is_finite() && *v >= 0.0) {
            return Err(cx.err(t.span(), format!("{field}[{k}]"), format!("negative or invalid {what} {v}")));
        }
        if !minute.is_finite() || out.last().is_some_and(|(m, _)| *minute * 60.0 <= *m) || *minute < 0.0 {
            return Err(cx.err(t.span(), format!("{field}[{k}]"), "minutes must start at 0 or later and increase"));
        }
        out.push((minute * 60.0, v * scale));
    }
    if out.is_empty() {
        return Err(cx.err(t.span(), field, "is empty"));
    }
    Ok(Series::steps(out))
}

pub(super) fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let cx = Ctx { text, path, crs: Crs::Local };
        let at = cx.at(e.span().unwrap_or(0..0), "");
        ScenarioError::Toml { path: path.to_path_buf(), line: at.line, column: at.column, message: e.message().into() }
    })?;
    let mut cx = Ctx { text, path, crs: Crs::Epsg(Epsg::WGS84) };
    cx.crs = cx.crs(&raw.crs, "crs")?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let city = match &raw.city {
        None => CitySource::Sample,
        Some(v) => {
            let items: Vec<String> = match v.get_ref() {
                toml::Value::String(s) => vec![s.clone()],
                toml::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
                _ => return Err(cx.err(v.span(), "city", "must be \"sample\" or a list of paths")),
            };
            if items.iter().any(|s| s == "sample") {
                CitySource::Sample
            } else if items.is_empty() {
                return Err(cx.err(v.span(), "city", "must be \"sample\" or a list of paths"));
            } else {
                let mut paths = Vec::new();
                for s in items {
                    let p = dir.join(&s);
                    if !p.exists() {
                        return Err(cx.err(v.span(), "city", format!("{} does not exist", p.display())));
                    }
                    paths.push(p);
                }
                CitySource::Paths(paths)
            }
        }
    };
    let mut modifications = Vec::new();
    for (i, m) in raw.modify.iter().enumerate() {
        let f = |name: &str| format!("modify[{i}].{name}");
        let r = m.get_ref();
        let need = |v: Option<Range<usize>>, name: &str| {
            v.ok_or_else(|| cx.err(m.span(), f(name), "is required for this kind"))
        };
        let crs = cx.crs(&r.crs, &f("crs"))?;
        let id = |cx: &Ctx| -> Result<(String, Located), ScenarioError> {
            let s = r.id.as_ref().ok_or_else(|| cx.err(m.span(), f("id"), "is required for this kind"))?;
            Ok((s.get_ref().clone(), cx.at(s.span(), f("id"))))
        };
        let modification = match r.kind.get_ref().as_str() {
            "add_building" => {
                let (id, _) = id(&cx)?;
                need(r.footprint.as_ref().map(|s| s.span()), "footprint")?;
                need(r.height.as_ref().map(|s| s.span()), "height")?;
                let footprint = cx.polygon(r.footprint.as_ref().expect("checked"), crs, &f("footprint"))?;
                let height = cx.num(r.height.as_ref().expect("checked"), &f("height"), 1.0, 1000.0)?;
                let storey = cx.opt(&r.storey, &f("storey"), 2.0, 10.0, 3.0)?;
                if modifications.iter().any(|x| matches!(x, Modification::AddBuilding { id: o, .. } if *o == id)) {
                    return Err(cx.err(m.span(), f("id"), format!("building `{id}` is added twice")));
                }
                Modification::AddBuilding {
                    id,
                    footprint,
                    height,
                    usage: r.usage.clone().unwrap_or_else(|| "residential".into()),
                    storey,
                }
            }
            "remove_building" => {
                let (id, at) = id(&cx)?;
                Modification::RemoveBuilding { id, at }
            }
            "raise_building" => {
                let (id, at) = id(&cx)?;
                let by = r.by.as_ref().map(|v| cx.num(v, &f("by"), -1000.0, 1000.0)).transpose()?;
                let to = r.to.as_ref().map(|v| cx.num(v, &f("to"), 1.0, 1000.0)).transpose()?;
                if by.is_some() == to.is_some() {
                    return Err(cx.err(
                        m.span(),
                        f("by"),
                        "give exactly one of `by` (metres added) or `to` (new height)",
                    ));
                }
                Modification::RaiseBuilding { id, by, to, at }
            }
            "terrain" => {
                need(r.polygon.as_ref().map(|s| s.span()), "polygon")?;
                need(r.by.as_ref().map(|s| s.span()), "by")?;
                let polygon = cx.polygon(r.polygon.as_ref().expect("checked"), crs, &f("polygon"))?;
                Modification::Terrain { polygon, by: cx.num(r.by.as_ref().expect("checked"), &f("by"), -200.0, 200.0)? }
            }
            "levee" => {
                need(r.line.as_ref().map(|s| s.span()), "line")?;
                need(r.height.as_ref().map(|s| s.span()), "height")?;
                let line = cx.shape(r.line.as_ref().expect("checked"), crs, &f("line"), 2)?;
                let height = cx.num(r.height.as_ref().expect("checked"), &f("height"), 0.1, 50.0)?;
                Modification::Levee { line, height, width: cx.opt(&r.width, &f("width"), 0.5, 200.0, 4.0)? }
            }
            other => {
                return Err(cx.err(
                    r.kind.span(),
                    f("kind"),
                    format!("unknown kind `{other}` (add_building, remove_building, raise_building, terrain, levee)"),
                ));
            }
        };
        modifications.push(modification);
    }
    let roughness = match &raw.roughness {
        None => None,
        Some(r) => {
            let d = Roughness::default();
            let r = r.get_ref();
            let n = |v: &Option<Spanned<f64>>, name: &str, dflt: f64| {
                cx.opt(v, &format!("roughness.{name}"), 0.005, 1.0, dflt)
            };
            Some(Roughness {
                road: n(&r.road, "road", d.road)?,
                vegetation: n(&r.vegetation, "vegetation", d.vegetation)?,
                water: n(&r.water, "water", d.water)?,
                ground: n(&r.ground, "ground", d.ground)?,
            })
        }
    };
    let flood = raw.flood.as_ref().map(|f| parse_flood(&cx, f)).transpose()?;
    let sunlight = raw.sunlight.as_ref().map(|s| parse_sun(&cx, s)).transpose()?;
    let viewshed = match &raw.viewshed {
        None => None,
        Some(v) => {
            let mut viewpoints = Vec::new();
            for (k, p) in v.viewpoint.iter().enumerate() {
                let field = format!("viewshed.viewpoint[{k}]");
                viewpoints.push(Viewpoint {
                    name: p.name.clone().unwrap_or_else(|| format!("viewpoint {}", k + 1)),
                    at: cx.point(p, &field)?,
                    eye_height: cx.opt(&p.eye_height, &format!("{field}.eye_height"), 0.0, 500.0, 1.7)?,
                });
            }
            if viewpoints.is_empty() {
                return Err(ScenarioError::Invalid {
                    path: path.to_path_buf(),
                    at: Located { field: "viewshed.viewpoint".into(), line: 1, column: 1 },
                    message: "add at least one [[viewshed.viewpoint]]".into(),
                });
            }
            let coarsen = v.coarsen.as_ref().map_or(Ok(2), |c| {
                let k = *c.get_ref();
                if (1..=64).contains(&k) {
                    Ok(k as usize)
                } else {
                    Err(cx.err(c.span(), "viewshed.coarsen", "must be 1..=64"))
                }
            })?;
            Some(ViewshedSpec {
                viewpoints,
                target_height: cx.opt(&v.target_height, "viewshed.target_height", 0.0, 500.0, 1.5)?,
                coarsen,
            })
        }
    };
    let compliance = raw.compliance.as_ref().map(|c| parse_compliance(&cx, c, dir)).transpose()?;
    Ok(Scenario {
        path: path.to_path_buf(),
        name: raw
            .name
            .clone()
            .unwrap_or_else(|| path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into())),
        description: raw.description.clone().unwrap_or_default(),
        city,
        modifications,
        roughness,
        flood,
        sunlight,
        viewshed,
        compliance,
    })
}

fn parse_flood(cx: &Ctx, spanned: &Spanned<RawFlood>) -> Result<FloodSpec, ScenarioError> {
    let f = spanned.get_ref();
    // Where a grid that is too large is blamed: the coarsening if given, else the table.
    let grid_at = match &f.coarsen {
        Some(c) => cx.at(c.span(), "flood.coarsen"),
        None => cx.at(spanned.span(), "flood"),
    };
    let coarsen = f.coarsen.as_ref().map_or(Ok(2), |c| {
        let k = *c.get_ref();
        if (1..=64).contains(&k) { Ok(k as usize) } else { Err(cx.err(c.span(), "flood.coarsen", "must be 1..=64")) }
    })?;
    let duration_s = cx.opt(&f.duration_min, "flood.duration_min", 1.0, 7.0 * 24.0 * 60.0, 90.0)? * 60.0;
    let rain = match (&f.hyetograph, &f.rain_mm_per_h) {
        (Some(h), None) => steps(cx, h, "flood.hyetograph", 1.0 / 1000.0 / 3600.0, "rainfall (mm/h)")?,
        (None, Some(r)) => {
            let mm_h = cx.num(r, "flood.rain_mm_per_h", 0.0, 1000.0)?;
            let minutes = cx.opt(&f.rain_min, "flood.rain_min", 0.0, 7.0 * 24.0 * 60.0, 60.0)?;
            Series::steps(vec![(0.0, mm_h / 1000.0 / 3600.0), (minutes * 60.0, 0.0)])
        }
        (None, None) => Series::default(),
        (Some(h), Some(_)) => {
            return Err(cx.err(h.span(), "flood.hyetograph", "give either hyetograph or rain_mm_per_h, not both"));
        }
    };
    let mut inflows = Vec::new();
    for (k, p) in f.inflow.iter().enumerate() {
        let field = format!("flood.inflow[{k}]");
        let h = p
            .hydrograph
            .as_ref()
            .ok_or_else(|| cx.err(p.at.span(), format!("{field}.hydrograph"), "is required: [[minute, m3/s], ...]"))?;
        inflows.push((cx.point(p, &field)?, steps(cx, h, &format!("{field}.hydrograph"), 1.0, "discharge (m3/s)")?));
    }
    let mut gauges = Vec::new();
    for (k, p) in f.gauge.iter().enumerate() {
        gauges.push((
            p.name.clone().unwrap_or_else(|| format!("gauge {}", k + 1)),
            cx.point(p, &format!("flood.gauge[{k}]"))?,
        ));
    }
    Ok(FloodSpec {
        coarsen,
        duration_s,
        rain,
        river_rise_m: cx.opt(&f.river_rise_m, "flood.river_rise_m", -20.0, 50.0, 0.0)?,
        rise_over_s: cx.opt(&f.rise_over_min, "flood.rise_over_min", 0.0, 7.0 * 24.0 * 60.0, 30.0)? * 60.0,
        inflows,
        gauges,
        gauge_interval_s: cx.opt(&f.gauge_interval_s, "flood.gauge_interval_s", 1.0, 86_400.0, 60.0)?,
        threshold_m: cx.opt(&f.threshold_m, "flood.threshold_m", 0.001, 100.0, 0.15)?,
        memory_limit: (cx.opt(&f.memory_limit_mb, "flood.memory_limit_mb", 1.0, 1.0e6, 4096.0)? * 1048576.0) as u64,
        grid_at,
    })
}

fn parse_sun(cx: &Ctx, s: &RawSun) -> Result<SunlightSpec, ScenarioError> {
    let mut day = SunDay::major_cold(2027);
    if let Some(d) = &s.date {
        let text = match d.get_ref() {
            toml::Value::String(t) => t.clone(),
            toml::Value::Datetime(t) => t.to_string(),
            _ => String::new(),
        };
        let (y, m, dd) = parse_date(&text)
            .ok_or_else(|| cx.err(d.span(), "sunlight.date", format!("`{text}` is not a date YYYY-MM-DD")))?;
        (day.year, day.month, day.day) = (y, m, dd);
    }
    day.from_h = cx.opt(&s.from_h, "sunlight.from_h", 0.0, 24.0, 8.0)?;
    day.to_h = cx.opt(&s.to_h, "sunlight.to_h", 0.0, 24.0, 16.0)?;
    if day.to_h <= day.from_h {
        let span = s.to_h.as_ref().map_or(0..0, |v| v.span());
        return Err(cx.err(span, "sunlight.to_h", "must be after from_h"));
    }
    day.step_min = cx.opt(&s.step_min, "sunlight.step_min", 0.5, 60.0, 10.0)?;
    Ok(SunlightSpec {
        day,
        min_hours: cx.opt(&s.min_hours, "sunlight.min_hours", 0.0, 24.0, 2.0)?,
        radius_m: cx.opt(&s.radius_m, "sunlight.radius_m", 1.0, 5000.0, 250.0)?,
        usage: s.usage.clone().unwrap_or_else(|| "residential".into()),
        spacing_m: cx.opt(&s.spacing_m, "sunlight.spacing_m", 0.5, 100.0, 5.0)?,
        storey_m: cx.opt(&s.storey_m, "sunlight.storey_m", 2.0, 10.0, 3.0)?,
        shadow_times_h: match &s.shadow_times_h {
            None => vec![10.0, 12.0, 14.0],
            Some(v) => {
                let t = v.get_ref().clone();
                if t.len() > 24 || t.iter().any(|h| !(h.is_finite() && *h > 0.0 && *h < 24.0)) {
                    return Err(cx.err(v.span(), "sunlight.shadow_times_h", "at most 24 times, each in (0, 24) hours"));
                }
                t
            }
        },
        south_only: match &s.facing {
            None => true,
            Some(f) => match f.get_ref().as_str() {
                "south" => true,
                "all" => false,
                other => {
                    return Err(cx.err(f.span(), "sunlight.facing", format!("`{other}`: write \"south\" or \"all\"")));
                }
            },
        },
    })
}

fn parse_compliance(cx: &Ctx, c: &RawCompliance, dir: &Path) -> Result<ComplianceSpec, ScenarioError> {
    let mut height_zones = Vec::new();
    for (k, z) in c.height_zone.iter().enumerate() {
        let field = format!("compliance.height_zone[{k}]");
        let crs = cx.crs(&z.crs, &format!("{field}.crs"))?;
        height_zones.push(HeightZone {
            name: z.name.clone().unwrap_or_else(|| format!("zone {}", k + 1)),
            polygon: cx.polygon(&z.polygon, crs, &format!("{field}.polygon"))?,
            max_height_m: cx.num(&z.max_height_m, &format!("{field}.max_height_m"), 0.0, 2000.0)?,
        });
    }
    if let Some(file) = &c.height_limits {
        let p = dir.join(file.get_ref());
        let layer = urbis_formats::geojson::read(&p)
            .map_err(|e| cx.err(file.span(), "compliance.height_limits", e.to_string()))?;
        for (k, f) in layer.features.iter().enumerate() {
            let field = format!("compliance.height_limits ({} feature {k})", p.display());
            let h = f.properties.get("max_height_m").and_then(|v| v.as_f64()).filter(|h| h.is_finite() && *h >= 0.0);
            let h = h.ok_or_else(|| {
                cx.err(file.span(), field.clone(), "needs a non-negative number property `max_height_m`")
            })?;
            for poly in &f.polygons {
                let Some(ring) = poly.first() else { continue };
                let pts: Vec<P2> = ring.iter().map(|p| [p.x, p.y]).collect();
                let polygon = cx.polygon(&Spanned::new(file.span(), pts), Crs::Epsg(layer.crs), &field)?;
                let name = f.id.clone().or_else(|| f.properties.get("name").and_then(|v| v.as_str()).map(String::from));
                height_zones.push(HeightZone {
                    name: name.unwrap_or_else(|| format!("feature {k}")),
                    polygon,
                    max_height_m: h,
                });
            }
        }
    }
    Ok(ComplianceSpec {
        buildings: c.buildings.clone(),
        height_limit_m: c
            .height_limit_m
            .as_ref()
            .map(|v| cx.num(v, "compliance.height_limit_m", 0.0, 2000.0))
            .transpose()?,
        height_zones,
        setback_m: c.setback_m.as_ref().map(|v| cx.num(v, "compliance.setback_m", 0.0, 1000.0)).transpose()?,
        max_far: c.max_far.as_ref().map(|v| cx.num(v, "compliance.max_far", 0.01, 100.0)).transpose()?,
        plot: c.plot.clone(),
    })
}
