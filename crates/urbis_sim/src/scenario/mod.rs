//! Scenario files: a baseline city, the modifications that make the
//! scenario, and the analyses to run on both.
//!
//! ```text
//! scenario.toml ─► Scenario::load (serde + spans: every error names file, line, column and field)
//!      │              └─ CRSs checked with PROJ, footprints checked for self-intersection
//!      ├─► apply::apply_to_city   (add / remove / raise buildings: the scenario's CityModel)
//!      ├─► apply::apply_to_grid   (terrain edits and levees on the flood grid; roughness classes)
//!      └─► run::run               (flood, sunlight, viewshed, compliance on baseline and scenario,
//!                                   then diffs, maps, tables and report.md)
//! ```
//!
//! Coordinates are `[x, y]` pairs in the scenario's `crs` (an EPSG code such
//! as `"EPSG:4326"`, longitude first, or `"local"`: metres east and north of
//! the city frame's origin); any geometry may name its own `crs`.

mod analyses;
pub mod apply;
pub mod compare;
mod parse;
pub mod run;

use std::path::PathBuf;

use urbis_geo::Epsg;

use crate::city::Roughness;
use crate::flood::Series;
use crate::sunlight::SunDay;

pub use parse::ScenarioError;

/// Where in the scenario file a value came from, for errors found later
/// (when the city's frame is known).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located {
    /// The field's path, e.g. `modify[2].footprint`.
    pub field: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.field)
    }
}

/// The CRS of a geometry's coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    Epsg(Epsg),
    /// Metres east and north of the city frame's origin.
    Local,
}

/// Points in a CRS, with where they were written.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub crs: Crs,
    pub points: Vec<[f64; 2]>,
    pub at: Located,
}

/// Which city to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitySource {
    /// The generated sample city.
    Sample,
    /// Files or directories, relative paths resolved against the scenario file.
    Paths(Vec<PathBuf>),
}

/// A change to the baseline city.
#[derive(Debug, Clone, PartialEq)]
pub enum Modification {
    /// A new building extruded from its footprint (its ground: the lowest terrain under it).
    AddBuilding {
        id: String,
        footprint: Shape,
        height: f64,
        usage: String,
        storey: f64,
    },
    RemoveBuilding {
        id: String,
        at: Located,
    },
    /// Sets a building's height (above its base) to `to`, or adds `by` metres.
    RaiseBuilding {
        id: String,
        by: Option<f64>,
        to: Option<f64>,
        at: Located,
    },
    /// Raises (positive) or lowers (negative) the ground inside a polygon.
    Terrain {
        polygon: Shape,
        by: f64,
    },
    /// An embankment along a line: crest `height` m above the ground, `width` m wide.
    Levee {
        line: Shape,
        height: f64,
        width: f64,
    },
}

impl Modification {
    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Modification::AddBuilding { id, height, usage, footprint, .. } => {
                format!("add building `{id}` ({usage}, {height} m, {} corners)", footprint.points.len())
            }
            Modification::RemoveBuilding { id, .. } => format!("remove building `{id}`"),
            Modification::RaiseBuilding { id, by, to, .. } => match (by, to) {
                (_, Some(to)) => format!("set building `{id}` to {to} m"),
                (Some(by), None) => format!("raise building `{id}` by {by} m"),
                (None, None) => format!("building `{id}` unchanged"),
            },
            Modification::Terrain { by, polygon } => {
                format!(
                    "{} ground by {} m over a {}-corner polygon",
                    if *by >= 0.0 { "raise" } else { "lower" },
                    by.abs(),
                    polygon.points.len()
                )
            }
            Modification::Levee { height, width, line } => {
                format!("levee {height} m high, {width} m wide, along {} points", line.points.len())
            }
        }
    }
}

/// The flood analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodSpec {
    /// Merge k × k DEM cells into one.
    pub coarsen: usize,
    /// Simulated time, seconds.
    pub duration_s: f64,
    /// Rain rate over time, m/s.
    pub rain: Series,
    /// Rise of the held water level where water bodies cross the grid's edge, metres, reached after `rise_over_s`.
    pub river_rise_m: f64,
    pub rise_over_s: f64,
    /// Point inflows: where, and discharge over time (m³/s).
    pub inflows: Vec<(Shape, Series)>,
    /// Named gauges whose water level is recorded every `gauge_interval_s`.
    pub gauges: Vec<(String, Shape)>,
    pub gauge_interval_s: f64,
    /// Depth next to a building that counts it as flooded, metres.
    pub threshold_m: f64,
    /// Refuse grids needing more memory than this, bytes.
    pub memory_limit: u64,
    /// Where the grid's size is set (for a refusal).
    pub grid_at: Located,
}

/// Sunlight hours on façades near the changes, and on the ground around them.
#[derive(Debug, Clone, PartialEq)]
pub struct SunlightSpec {
    pub day: SunDay,
    /// Hours a window needs (GB 50180: 2 or 3 on 大寒日 depending on the climate zone).
    pub min_hours: f64,
    /// Buildings (of `usage`) within this distance of a changed building are tested.
    pub radius_m: f64,
    /// Only buildings whose `use` attribute is this (empty: all).
    pub usage: String,
    /// Window spacing along façades and storey height, metres.
    pub spacing_m: f64,
    pub storey_m: f64,
    /// Only windows facing within 60° of due south (where dwellings' main rooms face); else every façade.
    pub south_only: bool,
    /// True solar times (hours) at which shadow maps are drawn.
    pub shadow_times_h: Vec<f64>,
}

/// A named observer.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewpoint {
    pub name: String,
    pub at: Shape,
    /// Eye height above the ground, metres.
    pub eye_height: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewshedSpec {
    pub viewpoints: Vec<Viewpoint>,
    /// Height above ground of the targets seen, metres.
    pub target_height: f64,
    /// Merge k × k DEM cells into one.
    pub coarsen: usize,
}

/// A height-limit zone: buildings whose footprint centre lies inside may not exceed `max_height_m`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightZone {
    pub name: String,
    pub polygon: Shape,
    pub max_height_m: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceSpec {
    /// Buildings checked (empty: every building the scenario adds or raises).
    pub buildings: Vec<String>,
    /// A limit everywhere, and zones that override it.
    pub height_limit_m: Option<f64>,
    pub height_zones: Vec<HeightZone>,
    pub setback_m: Option<f64>,
    pub max_far: Option<f64>,
    /// The plot's feature id (default: the feature with a footprint under the building's centre).
    pub plot: Option<String>,
}

/// A parsed and checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub city: CitySource,
    pub modifications: Vec<Modification>,
    /// Manning's n per land class in the scenario (the baseline keeps the defaults).
    pub roughness: Option<Roughness>,
    pub flood: Option<FloodSpec>,
    pub sunlight: Option<SunlightSpec>,
    pub viewshed: Option<ViewshedSpec>,
    pub compliance: Option<ComplianceSpec>,
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        // Through the formats reader: regular files only, bounded size.
        let bytes = urbis_formats::read_file(path)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let msg = format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to());
            ScenarioError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
            }
        })?;
        Scenario::parse(&text, path)
    }

    /// Parses scenario text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        parse::parse(text, path)
    }
}
