//! Loading files into a [`CityModel`]: readers from `urbis_formats` give
//! plain data in the source CRS; this module reprojects it into the city's
//! ENU frame (f64), builds feature meshes and spawns one entity per feature.
//!
//! ```text
//! paths ─► read (formats) ─► choose CityFrame ─► reproject (urbis_geo) ─► spawn entities
//! ```

mod appearance;
mod cityjson;
mod dem;

use std::path::{Path, PathBuf};

use glam::DVec3;
use urbis_formats::{FormatError, ascii_grid::DemGrid, cityjson::CityJson};
use urbis_geo::{CityFrame, CrsTransform, Epsg, GeoError, Geodetic};

pub use appearance::{stable_hash, surface_appearance};
pub use dem::Terrain;

use crate::CityModel;

/// Errors while loading a city.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{path}: coordinate reference system: {source}")]
    Crs { path: String, source: GeoError },
    #[error("{path}: unsupported input; expected a directory, a CityJSON file (.json) or an ESRI ASCII grid (.asc)")]
    Unsupported { path: String },
    #[error("no input files found under {path}")]
    Empty { path: String },
}

/// What loading one file did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    pub path: String,
    pub features: usize,
    pub crs: Option<u32>,
    /// Things skipped, each naming the object and why.
    pub warnings: Vec<String>,
}

/// A file read into memory, before it is placed in a model.
#[derive(Debug)]
pub enum Source {
    CityJson { path: PathBuf, doc: CityJson },
    Dem { path: PathBuf, grid: DemGrid },
}

impl Source {
    pub fn path(&self) -> &Path {
        match self {
            Source::CityJson { path, .. } | Source::Dem { path, .. } => path,
        }
    }

    fn crs(&self) -> Option<Epsg> {
        match self {
            Source::CityJson { doc, .. } => doc.crs,
            Source::Dem { grid, .. } => grid.crs,
        }
    }

    /// Centre of the data's horizontal extent and its lowest height, in the source CRS.
    fn anchor(&self) -> Option<DVec3> {
        match self {
            Source::CityJson { doc, .. } => {
                let mut min = DVec3::splat(f64::INFINITY);
                let mut max = DVec3::splat(f64::NEG_INFINITY);
                for o in &doc.objects {
                    for g in &o.geometries {
                        for p in g.polygons.iter().flat_map(|p| p.rings.iter().flatten()).chain(&g.points) {
                            min = min.min(*p);
                            max = max.max(*p);
                        }
                    }
                }
                min.is_finite().then(|| DVec3::new((min.x + max.x) / 2.0, (min.y + max.y) / 2.0, min.z))
            }
            Source::Dem { grid, .. } => {
                let low = grid.heights.iter().copied().filter(|h| !h.is_nan()).fold(f32::INFINITY, f32::min);
                Some(DVec3::new(
                    grid.x_min + grid.ncols as f64 * grid.cell_size / 2.0,
                    grid.y_min + grid.nrows as f64 * grid.cell_size / 2.0,
                    if low.is_finite() { low as f64 } else { 0.0 },
                ))
            }
        }
    }
}

fn is_cityjson(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn is_ascii_grid(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("asc"))
}

/// Expands directories into the loadable files they hold (sorted), and
/// reads every file.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, LoadError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd =
                std::fs::read_dir(p).map_err(|source| FormatError::Io { path: p.display().to_string(), source })?;
            let mut found: Vec<PathBuf> =
                rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|f| is_cityjson(f) || is_ascii_grid(f)).collect();
            found.sort();
            if found.is_empty() {
                return Err(LoadError::Empty { path: p.display().to_string() });
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| {
            if is_cityjson(&f) {
                Ok(Source::CityJson { doc: urbis_formats::cityjson::read(&f)?, path: f })
            } else if is_ascii_grid(&f) {
                Ok(Source::Dem { grid: urbis_formats::ascii_grid::read(&f)?, path: f })
            } else {
                Err(LoadError::Unsupported { path: f.display().to_string() })
            }
        })
        .collect()
}

/// Picks the city frame: the anchor of the first georeferenced source, or
/// the equator/Greenwich origin when nothing carries a CRS.
pub fn choose_frame(sources: &[Source]) -> Result<CityFrame, LoadError> {
    for s in sources {
        if let (Some(crs), Some(anchor)) = (s.crs(), s.anchor()) {
            let to_geo = CrsTransform::new(crs, Epsg::WGS84)
                .and_then(|t| t.transform(anchor))
                .map_err(|source| LoadError::Crs { path: s.path().display().to_string(), source })?;
            return Ok(CityFrame::new(Geodetic::new(to_geo.x, to_geo.y, to_geo.z)));
        }
    }
    Ok(CityFrame::new(Geodetic::new(0.0, 0.0, 0.0)))
}

/// Maps source-CRS coordinates into the city's ENU frame.
pub(crate) struct ToEnu {
    to_ecef: Option<CrsTransform>,
    frame: CityFrame,
    /// For sources without a CRS: subtracted so the data sits at the frame origin.
    local_offset: DVec3,
    path: String,
}

impl ToEnu {
    pub(crate) fn new(source: &Source, frame: CityFrame) -> Result<Self, LoadError> {
        let path = source.path().display().to_string();
        match source.crs() {
            Some(crs) => Ok(Self {
                to_ecef: Some(
                    CrsTransform::new(crs, Epsg::ECEF).map_err(|e| LoadError::Crs { path: path.clone(), source: e })?,
                ),
                frame,
                local_offset: DVec3::ZERO,
                path,
            }),
            None => {
                tracing::warn!("{path}: no coordinate reference system; placed at the city origin as local metres");
                let a = source.anchor().unwrap_or(DVec3::ZERO);
                Ok(Self { to_ecef: None, frame, local_offset: a, path })
            }
        }
    }

    pub(crate) fn enu(&self, p: DVec3) -> Result<DVec3, LoadError> {
        match &self.to_ecef {
            Some(t) => t
                .transform(p)
                .map(|e| self.frame.ecef_to_enu(e))
                .map_err(|source| LoadError::Crs { path: self.path.clone(), source }),
            None => Ok(p - self.local_offset),
        }
    }
}

/// Reads the inputs and builds one georeferenced city model from them all.
pub fn open_city(paths: &[PathBuf]) -> Result<(CityModel, Vec<LoadReport>), LoadError> {
    let sources = read_sources(paths)?;
    let frame = choose_frame(&sources)?;
    let mut model = CityModel::new(frame);
    let mut reports = Vec::new();
    for s in &sources {
        reports.push(add_source(&mut model, s)?);
    }
    model.rebuild_spatial_index();
    Ok((model, reports))
}

/// Adds one read source to a model (in the model's frame). Call
/// [`CityModel::rebuild_spatial_index`] after adding sources.
pub fn add_source(model: &mut CityModel, source: &Source) -> Result<LoadReport, LoadError> {
    let to_enu = ToEnu::new(source, *model.frame())?;
    let mut report = match source {
        Source::CityJson { doc, .. } => cityjson::add(model, doc, &to_enu)?,
        Source::Dem { grid, .. } => dem::add(model, grid, &to_enu)?,
    };
    report.path = source.path().display().to_string();
    report.crs = source.crs().map(|c| c.0);
    tracing::info!("{}: {} features", report.path, report.features);
    Ok(report)
}
