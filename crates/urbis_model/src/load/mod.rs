//! Loading files into a [`CityModel`]: readers from `urbis_formats` give
//! plain data in the source CRS; this module reprojects it into the city's
//! ENU frame (f64), builds feature meshes and spawns one entity per feature.
//!
//! ```text
//! paths ─► read (formats) ─► choose CityFrame ─► reproject (urbis_geo) ─► spawn entities
//! ```

mod appearance;
mod build;
mod cityjson;
mod dem;
mod detect;
mod footprints;
mod ifc;
mod osgb;
mod photo_roles;
mod stream;
mod terrain_tile;
mod texel_features;
mod tile_semantics;
mod tiles;

use std::path::{Path, PathBuf};

use glam::DVec3;
use urbis_formats::geojson::GeoJson;
use urbis_formats::gltf::GltfModel;
use urbis_formats::ifc::IfcModel;
use urbis_formats::tiles3d::TileContent;
use urbis_formats::{FormatError, ascii_grid::DemGrid, cityjson::CityJson};
use urbis_geo::{CityFrame, CrsTransform, Epsg, GeoError, Geodetic};
use urbis_tiles::tree::TreeLimits;
use urbis_tiles::{TileTree, TilesError, View};

pub use appearance::{stable_hash, surface_appearance};
pub use dem::Terrain;
pub use detect::{InputKind, detect};
pub use footprints::FootprintOptions;
pub use ifc::class_of as ifc_class_of;
pub use stream::{FeaturePreparer, StreamFrame, StreamedTileset};
pub use tiles::Y_UP_TO_Z_UP;
pub use urbis_tiles::StreamOptions;

use crate::CityModel;

/// Errors while loading a city.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{path}: coordinate reference system: {source}")]
    Crs { path: String, source: GeoError },
    #[error(
        "{path}: unsupported input; expected a directory, CityJSON (.json) or CityJSONSeq (.jsonl), IFC (.ifc), GeoJSON footprints, a DEM (ESRI ASCII grid .asc or GeoTIFF .tif), a 3D Tiles tileset.json, glTF/GLB, a b3dm/i3dm/pnts/cmpt tile, or an OSGB tile (.osgb) or dataset (metadata.xml + Data/)"
    )]
    Unsupported { path: String },
    #[error(transparent)]
    Tiles(#[from] TilesError),
    #[error("no input files found under {path}")]
    Empty { path: String },
    #[error("none of the {skipped} input files could be read; the first: {error}")]
    NothingLoaded { path: String, error: String, skipped: usize },
}

/// What loading one file did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    pub path: String,
    pub features: usize,
    pub crs: Option<u32>,
    /// Things skipped, each naming the object and why.
    pub warnings: Vec<String>,
    /// Tiles whose content could not be loaded, each with its URI and reason.
    pub failed_tiles: Vec<String>,
    /// Tile contents loaded (a tile may have several).
    pub tiles_loaded: usize,
    /// Geometry skipped as unsupported, counted per type (IFC).
    pub unsupported: std::collections::BTreeMap<String, usize>,
    /// Why the file was skipped, when a directory's file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A file read into memory, before it is placed in a model.
#[derive(Debug)]
pub enum Source {
    CityJson {
        path: PathBuf,
        doc: Box<CityJson>,
    },
    /// A terrain grid (ESRI ASCII grid or GeoTIFF).
    Dem {
        path: PathBuf,
        grid: DemGrid,
    },
    /// An IFC model (STEP).
    Ifc {
        path: PathBuf,
        model: Box<IfcModel>,
    },
    /// GeoJSON building footprints, extruded when added.
    GeoJson {
        path: PathBuf,
        doc: Box<GeoJson>,
    },
    /// A 3D Tiles tileset; its contents are loaded for a view when added.
    Tileset {
        path: PathBuf,
        tree: Box<TileTree>,
    },
    /// A glTF / GLB on its own (not georeferenced: placed at the city origin, z up).
    Gltf {
        path: PathBuf,
        model: Box<GltfModel>,
    },
    /// A single b3dm / i3dm / pnts / cmpt tile (ECEF coordinates).
    Tile {
        path: PathBuf,
        content: Box<TileContent>,
    },
    /// An OSGB photo-mesh tile, with its dataset's `metadata.xml` when one is found.
    Osgb {
        path: PathBuf,
        file: Box<urbis_formats::osgb::OsgbFile>,
        metadata: Option<urbis_formats::osgb::OsgbMetadata>,
    },
}

impl Source {
    pub fn path(&self) -> &Path {
        match self {
            Source::CityJson { path, .. }
            | Source::Dem { path, .. }
            | Source::GeoJson { path, .. }
            | Source::Ifc { path, .. }
            | Source::Tileset { path, .. }
            | Source::Gltf { path, .. }
            | Source::Tile { path, .. }
            | Source::Osgb { path, .. } => path,
        }
    }

    fn crs(&self) -> Option<Epsg> {
        match self {
            Source::CityJson { doc, .. } => doc.crs,
            Source::Dem { grid, .. } => grid.crs,
            Source::GeoJson { doc, .. } => Some(doc.crs),
            Source::Osgb { metadata, .. } => osgb::epsg(metadata.as_ref()).map(Epsg),
            Source::Tileset { .. } | Source::Gltf { .. } | Source::Tile { .. } | Source::Ifc { .. } => None,
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
            Source::Tileset { .. } | Source::Gltf { .. } | Source::Tile { .. } | Source::Ifc { .. } => None,
            Source::Osgb { file, metadata, .. } => osgb::anchor(file, metadata.as_ref()),
            Source::GeoJson { doc, .. } => {
                let pts = doc.features.iter().flat_map(|f| f.polygons.iter().flatten().flatten());
                let (min, max) = pts
                    .fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(a, b), p| {
                        (a.min(*p), b.max(*p))
                    });
                min.is_finite().then(|| DVec3::new((min.x + max.x) / 2.0, (min.y + max.y) / 2.0, 0.0))
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

/// Expands directories (a `tileset.json` inside, else every CityJSON,
/// GeoJSON, IFC and DEM file, DEMs first so that footprints stand on them),
/// detects each file's kind and reads it. A file found by expanding a
/// directory that cannot be read is skipped: it gets a report with its
/// error, and the rest of the directory loads. Files named explicitly must read.
pub fn read_sources(paths: &[PathBuf]) -> Result<(Vec<Source>, Vec<LoadReport>), LoadError> {
    read_sources_with(paths, TreeLimits::default())
}

/// Like [`read_sources`], opening tilesets with `limits` (lazy trees for streaming).
pub fn read_sources_with(paths: &[PathBuf], limits: TreeLimits) -> Result<(Vec<Source>, Vec<LoadReport>), LoadError> {
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    for (f, from_dir) in expand(paths)? {
        match read_source_with(&f, limits) {
            Ok(s) => sources.push(s),
            Err(e) if from_dir => {
                tracing::warn!("skipped {}: {e}", f.display());
                skipped.push(LoadReport {
                    path: f.display().to_string(),
                    error: Some(e.to_string()),
                    ..LoadReport::default()
                });
            }
            Err(e) => return Err(e),
        }
    }
    Ok((sources, skipped))
}

/// The files to read, each flagged when it was found in a directory.
fn expand(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, LoadError> {
    let mut files = Vec::new();
    for p in paths {
        if urbis_tiles::is_url(p) {
            files.push((p.clone(), false));
        } else if p.is_dir() {
            if p.join("tileset.json").is_file() {
                files.push((p.join("tileset.json"), false));
                continue;
            }
            if p.join("metadata.xml").is_file() && p.join("Data").is_dir() {
                let tops = osgb_top_tiles(&p.join("Data"))?;
                if tops.is_empty() {
                    return Err(LoadError::Empty { path: p.join("Data").display().to_string() });
                }
                files.extend(tops.into_iter().map(|f| (f, true)));
                continue;
            }
            let rd =
                std::fs::read_dir(p).map_err(|source| FormatError::Io { path: p.display().to_string(), source })?;
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().is_some_and(|e| {
                        ["json", "jsonl", "geojson", "shp", "asc", "tif", "tiff", "ifc"]
                            .iter()
                            .any(|k| e.eq_ignore_ascii_case(k))
                    })
                })
                // Files that are no city input at all (a sensor recording beside the city)
                // are passed over; unreadable ones stay, to be reported.
                .filter(|f| !matches!(detect(f), Ok(None)))
                .collect();
            found.sort_by_key(|f| (!is_dem_name(f), f.clone()));
            if found.is_empty() {
                return Err(LoadError::Empty { path: p.display().to_string() });
            }
            files.extend(found.into_iter().map(|f| (f, true)));
        } else {
            files.push((p.clone(), false));
        }
    }
    Ok(files)
}

/// The top tile of each `Data/Tile_*/` folder of an OSGB dataset: the
/// `.osgb` named after its folder.
fn osgb_top_tiles(data: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let rd = std::fs::read_dir(data).map_err(|source| FormatError::Io { path: data.display().to_string(), source })?;
    let mut tops: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|d| {
            let name = d.file_name()?.to_string_lossy().into_owned();
            let top = d.join(format!("{name}.osgb"));
            top.is_file().then_some(top)
        })
        .collect();
    tops.sort();
    Ok(tops)
}

fn is_dem_name(f: &Path) -> bool {
    f.extension().is_some_and(|e| ["asc", "tif", "tiff"].iter().any(|k| e.eq_ignore_ascii_case(k)))
}

/// Reads one file of any supported kind.
pub fn read_source(f: &Path) -> Result<Source, LoadError> {
    read_source_with(f, TreeLimits::default())
}

/// Like [`read_source`], opening a tileset with `limits`.
pub fn read_source_with(f: &Path, limits: TreeLimits) -> Result<Source, LoadError> {
    let path = f.to_path_buf();
    if urbis_tiles::is_url(f) {
        // A URL is a tileset (a `.json` document or a directory holding `tileset.json`).
        let s = f.to_string_lossy();
        let loc = if s.to_ascii_lowercase().split(['?', '#']).next().is_some_and(|p| p.ends_with(".json")) {
            path.clone()
        } else {
            PathBuf::from(format!("{}/tileset.json", s.trim_end_matches('/')))
        };
        let tree = TileTree::open_through(&loc, limits, urbis_tiles::fetch::default_fetcher())?;
        return Ok(Source::Tileset { tree: Box::new(tree), path: loc });
    }
    Ok(match detect(f)? {
        Some(InputKind::CityJson) => Source::CityJson { doc: Box::new(urbis_formats::cityjson::read(f)?), path },
        Some(InputKind::CityJsonSeq) => Source::CityJson { doc: Box::new(urbis_formats::cityjson::read_seq(f)?), path },
        Some(InputKind::AsciiGrid) => Source::Dem { grid: urbis_formats::ascii_grid::read(f)?, path },
        Some(InputKind::GeoTiff) => Source::Dem { grid: urbis_formats::geotiff::read(f)?, path },
        Some(InputKind::Ifc) => Source::Ifc { model: Box::new(urbis_formats::ifc::read(f)?), path },
        Some(InputKind::GeoJson) => Source::GeoJson { doc: Box::new(urbis_formats::geojson::read(f)?), path },
        Some(InputKind::Shapefile) => Source::GeoJson { doc: Box::new(urbis_formats::shapefile::read(f)?), path },
        Some(InputKind::Tileset) => Source::Tileset {
            tree: Box::new(TileTree::open_through(f, limits, urbis_tiles::fetch::default_fetcher())?),
            path,
        },
        Some(InputKind::Gltf) => Source::Gltf { model: Box::new(urbis_formats::gltf::read(f)?), path },
        Some(InputKind::Tile) => Source::Tile { content: Box::new(urbis_formats::tiles3d::read_content(f)?), path },
        Some(InputKind::Osgb) => Source::Osgb {
            file: Box::new(urbis_formats::osgb::read_osgb_file(f)?),
            metadata: osgb::find_metadata(f)?,
            path,
        },
        None => return Err(LoadError::Unsupported { path: f.display().to_string() }),
    })
}

/// How much detail of a tileset to load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TileDetail {
    /// What a view of the whole tileset needs.
    Overview,
    /// Every tile at its finest level.
    Finest,
    /// What this view needs (screen-space error selection).
    View(View),
}

/// How inputs are turned into a model.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    pub detail: TileDetail,
    pub footprints: FootprintOptions,
    /// Where data without a georeference stands (`--place`).
    pub place: Option<Place>,
    /// Cut the photo meshes by the footprints loaded with them, each
    /// building its own entity (physical monomerization; whole loads).
    pub monomerize: bool,
    /// Footprint inputs (GeoJSON, CityJSON) that classify the photo meshes
    /// at render time (dynamic monomerization; whole or streamed loads).
    pub classify_by: Vec<PathBuf>,
    /// Footprint inputs that cut the photo meshes (physical monomerization,
    /// whole loads); only the buildings cut out of the mesh stay from them.
    pub monomerize_by: Vec<PathBuf>,
    /// Stream the terrain on a globe (streamed loads): DEM inputs become a
    /// quadtree of terrain tiles over the WGS84 ellipsoid instead of one mesh.
    pub globe: bool,
    /// A quantized-mesh terrain (a folder, its `layer.json` or an HTTP URL)
    /// for the globe; implies `globe`.
    pub terrain: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            detail: TileDetail::Overview,
            footprints: FootprintOptions::default(),
            place: None,
            monomerize: false,
            classify_by: Vec::new(),
            monomerize_by: Vec::new(),
            globe: false,
            terrain: None,
        }
    }
}

/// Where to put data that carries no georeference: a tileset at the
/// Earth's centre, an IFC without map conversion or site location, a
/// CityJSON or GeoJSON without a CRS. Its local x, y, z (metres, z up) become
/// east, north, up at this point, turned by `heading` degrees clockwise
/// from north (Cesium's `modelMatrix` from `eastNorthUpToFixedFrame`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub lon: f64,
    pub lat: f64,
    pub height: f64,
    pub heading: f64,
}

/// A `--place` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "place `{0}`: expected lon,lat,height[,heading] (degrees, metres above the ellipsoid, degrees clockwise from north)"
)]
pub struct PlaceParseError(pub String);

impl std::str::FromStr for Place {
    type Err = PlaceParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: Vec<f64> = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| PlaceParseError(s.into()))?;
        if !(3..=4).contains(&v.len()) || v.iter().any(|x| !x.is_finite()) || v[1].abs() > 90.0 || v[0].abs() > 360.0 {
            return Err(PlaceParseError(s.into()));
        }
        Ok(Place { lon: v[0], lat: v[1], height: v[2], heading: v.get(3).copied().unwrap_or(0.0) })
    }
}

impl Place {
    pub fn geodetic(&self) -> Geodetic {
        Geodetic::new(self.lon, self.lat, self.height)
    }

    /// Local metres (x east, y north, z up before the heading) → ECEF.
    pub fn matrix(&self) -> glam::DMat4 {
        CityFrame::new(self.geodetic()).enu_to_ecef_matrix() * glam::DMat4::from_rotation_z(-self.heading.to_radians())
    }
}

/// Gives sources that carry no georeference the place asked for: tilesets
/// at the Earth's centre get the model matrix, IFC files without a map
/// conversion or site get it as their site. (CityJSON and GeoJSON without a
/// CRS are placed when added.)
pub fn place_sources(sources: &mut [Source], place: &Place) {
    for s in sources.iter_mut() {
        let anchored = s.ecef_anchor().is_some();
        match s {
            Source::Tileset { tree, path } if !anchored => {
                tracing::info!("{}: placed at {place:?}", path.display());
                tree.apply_model_matrix(place.matrix());
            }
            Source::Ifc { model, .. } if model.map_conversion.is_none() && model.site_location.is_none() => {
                model.site_location = Some(urbis_formats::ifc::SiteLocation {
                    lat_deg: place.lat,
                    lon_deg: place.lon,
                    elevation: place.height,
                });
                let h = place.heading.to_radians();
                model.true_north = Some(glam::DVec2::new(-h.sin(), h.cos()));
            }
            _ => {}
        }
    }
}

/// Below this distance from the Earth's centre, data is not georeferenced.
const GEOREFERENCED_RADIUS: f64 = 5.0e6;

impl Source {
    /// The ECEF centre of georeferenced 3D Tiles content.
    fn ecef_anchor(&self) -> Option<DVec3> {
        let c = match self {
            Source::Tileset { tree, .. } => tree.get(tree.root()).volume.bounding_sphere().0,
            Source::Tile { content, .. } => tiles::content_center(content)?,
            Source::Gltf { model, .. } => model.rtc_center?,
            Source::Osgb { file, metadata, .. } => osgb::ecef_anchor(file, metadata.as_ref())?,
            Source::Ifc { model, path } => {
                let georef = ifc::IfcGeoref::new(model, &path.display().to_string(), &mut Vec::new()).ok()?;
                georef.to_ecef(ifc::centre(model))?.ok()?
            }
            _ => return None,
        };
        (c.length() > GEOREFERENCED_RADIUS).then_some(c)
    }
}

/// Picks the city frame: the anchor of the first georeferenced source, or
/// the equator/Greenwich origin when nothing carries a CRS.
pub fn choose_frame(sources: &[Source]) -> Result<CityFrame, LoadError> {
    choose_frame_or(sources, None)
}

/// Like [`choose_frame`], at `place` when nothing carries a georeference.
pub fn choose_frame_or(sources: &[Source], place: Option<&Place>) -> Result<CityFrame, LoadError> {
    // Features anchor the city before terrain does (DEMs are read first, and
    // usually reach further than the city they carry).
    let (dems, features): (Vec<&Source>, Vec<&Source>) = sources.iter().partition(|s| matches!(s, Source::Dem { .. }));
    for s in features.into_iter().chain(dems) {
        if let Some(c) = s.ecef_anchor() {
            let g = urbis_geo::Ellipsoid::WGS84.ecef_to_geodetic(c);
            return Ok(CityFrame::new(Geodetic::new(g.lon_deg, g.lat_deg, 0.0)));
        }
        if let (Some(crs), Some(anchor)) = (s.crs(), s.anchor()) {
            let to_geo = CrsTransform::new(crs, Epsg::WGS84)
                .and_then(|t| t.transform(anchor))
                .map_err(|source| LoadError::Crs { path: s.path().display().to_string(), source })?;
            return Ok(CityFrame::new(Geodetic::new(to_geo.x, to_geo.y, to_geo.z)));
        }
    }
    Ok(CityFrame::new(place.map_or(Geodetic::new(0.0, 0.0, 0.0), Place::geodetic)))
}

/// Maps source-CRS coordinates into the city's ENU frame.
pub(crate) struct ToEnu {
    to_ecef: Option<CrsTransform>,
    spec: ToEnuSpec,
}

/// What a [`ToEnu`] is built from; cloned to build the same transform on
/// another thread (PROJ handles are not shared between threads).
#[derive(Clone)]
pub(crate) struct ToEnuSpec {
    crs: Option<Epsg>,
    frame: CityFrame,
    /// For sources without a CRS: subtracted so the data sits at the frame origin.
    local_offset: DVec3,
    /// For sources without a CRS, with `--place`: local metres → ECEF.
    placed: Option<glam::DMat4>,
    path: String,
}

impl ToEnu {
    pub(crate) fn new(source: &Source, frame: CityFrame, place: Option<&Place>) -> Result<Self, LoadError> {
        let path = source.path().display().to_string();
        let crs = source.crs();
        let local_offset = match (crs, place) {
            (Some(_), _) => DVec3::ZERO,
            (None, Some(p)) => {
                tracing::info!("{path}: no coordinate reference system; local metres placed at {p:?}");
                source.anchor().unwrap_or(DVec3::ZERO)
            }
            (None, None) => {
                tracing::warn!("{path}: no coordinate reference system; placed at the city origin as local metres");
                source.anchor().unwrap_or(DVec3::ZERO)
            }
        };
        let placed = if crs.is_none() { place.map(Place::matrix) } else { None };
        ToEnuSpec { crs, frame, local_offset, placed, path }.build()
    }

    pub(crate) fn spec(&self) -> ToEnuSpec {
        self.spec.clone()
    }

    pub(crate) fn enu(&self, p: DVec3) -> Result<DVec3, LoadError> {
        match &self.to_ecef {
            Some(t) => t
                .transform(p)
                .map(|e| self.spec.frame.ecef_to_enu(e))
                .map_err(|source| LoadError::Crs { path: self.spec.path.clone(), source }),
            None => match self.spec.placed {
                // The anchor's lowest point stands at the place's height.
                Some(m) => Ok(self.spec.frame.ecef_to_enu(m.transform_point3(p - self.spec.local_offset))),
                None => Ok(p - self.spec.local_offset),
            },
        }
    }
}

impl ToEnuSpec {
    pub(crate) fn build(self) -> Result<ToEnu, LoadError> {
        let to_ecef = match self.crs {
            Some(crs) => Some(
                CrsTransform::new(crs, Epsg::ECEF)
                    .map_err(|e| LoadError::Crs { path: self.path.clone(), source: e })?,
            ),
            None => None,
        };
        Ok(ToEnu { to_ecef, spec: self })
    }
}

/// Reads the inputs and builds one georeferenced city model from them all
/// (tilesets at overview detail).
pub fn open_city(paths: &[PathBuf]) -> Result<(CityModel, Vec<LoadReport>), LoadError> {
    open_city_with(paths, TileDetail::Overview)
}

/// Like [`open_city`], loading tilesets at the given detail.
pub fn open_city_with(paths: &[PathBuf], detail: TileDetail) -> Result<(CityModel, Vec<LoadReport>), LoadError> {
    open_city_opts(paths, &LoadOptions { detail, ..LoadOptions::default() })
}

/// Like [`open_city`], with every option.
pub fn open_city_opts(paths: &[PathBuf], opts: &LoadOptions) -> Result<(CityModel, Vec<LoadReport>), LoadError> {
    let (sources, skipped) = read_sources(paths)?;
    if sources.is_empty()
        && let Some(first) = skipped.first()
    {
        return Err(LoadError::NothingLoaded {
            path: first.path.clone(),
            error: first.error.clone().unwrap_or_default(),
            skipped: skipped.len(),
        });
    }
    let mut sources = sources;
    if let Some(p) = &opts.place {
        place_sources(&mut sources, p);
    }
    let frame = choose_frame_or(&sources, opts.place.as_ref())?;
    let mut model = CityModel::new(frame);
    let mut reports = Vec::new();
    for s in &sources {
        reports.push(add_source(&mut model, s, opts)?);
    }
    if opts.monomerize {
        reports.push(photo_roles::monomerize(&mut model));
    }
    reports.extend(photo_roles::monomerize_by(&mut model, opts)?);
    reports.extend(photo_roles::classify(&mut model, opts)?);
    reports.extend(skipped);
    model.rebuild_spatial_index();
    Ok((model, reports))
}

/// Like [`open_city_opts`], but tilesets and OSGB datasets stream: each
/// becomes a [`StreamedTileset`] that loads what the cameras need frame by
/// frame (an OSGB dataset's PagedLOD pyramid as a lazy tile tree, see
/// `urbis_tiles::osgb`); every other input is loaded whole. The frame is chosen from all inputs.
pub fn open_city_streaming(
    paths: &[PathBuf],
    opts: &LoadOptions,
    stream: &StreamOptions,
) -> Result<(CityModel, Vec<StreamedTileset>, Vec<LoadReport>), LoadError> {
    let (sources, skipped) = read_sources_with(paths, TreeLimits::lazy())?;
    if sources.is_empty()
        && let Some(first) = skipped.first()
    {
        return Err(LoadError::NothingLoaded {
            path: first.path.clone(),
            error: first.error.clone().unwrap_or_default(),
            skipped: skipped.len(),
        });
    }
    let mut sources = sources;
    if let Some(p) = &opts.place {
        place_sources(&mut sources, p);
    }
    let frame = choose_frame_or(&sources, opts.place.as_ref())?;
    let mut model = CityModel::new(frame);
    let mut reports = Vec::new();
    let mut streamed = Vec::new();
    let mut datasets: Vec<OsgbDataset> = Vec::new();
    // On the globe the DEMs become the streamed terrain, made first so that
    // footprints and sensors added next stand on it (`crate::ground`).
    let globe = opts.globe || opts.terrain.is_some();
    let (dem_sources, sources): (Vec<Source>, Vec<Source>) =
        sources.into_iter().partition(|s| globe && matches!(s, Source::Dem { .. }));
    let mut terrain = None;
    if globe {
        use urbis_tiles::terrain::{DemHeights, QmTerrain, TerrainGenerator, TerrainSource};
        let mut dems = Vec::new();
        for s in dem_sources {
            if let Source::Dem { grid, path } = s {
                let name = path.display().to_string();
                match DemHeights::new(&name, grid) {
                    Ok(d) => dems.push(d),
                    Err(e) => reports.push(LoadReport { path: name, error: Some(e), ..Default::default() }),
                }
            }
        }
        let source = match &opts.terrain {
            Some(spec) => {
                if !dems.is_empty() {
                    tracing::warn!("--terrain {spec}: the DEM inputs are not drawn (the quantized-mesh terrain is)");
                }
                TerrainSource::QuantizedMesh(Box::new(QmTerrain::open(spec, urbis_tiles::fetch::default_fetcher())?))
            }
            None if dems.is_empty() => TerrainSource::Ellipsoid,
            None => TerrainSource::Dems(dems),
        };
        let generator = std::sync::Arc::new(TerrainGenerator::new("terrain", source, Vec::new()));
        model.world.insert_resource(crate::ground::StreamedTerrain(generator.clone()));
        terrain = Some(generator);
    }
    for s in sources {
        match s {
            Source::Tileset { tree, .. } => {
                let index = streamed.len() as u32;
                streamed.push(StreamedTileset::new(&model, std::sync::Arc::new(*tree), stream.clone(), index));
            }
            Source::Osgb { path, file, metadata } => {
                let tile = urbis_tiles::osgb::osgb_tile(&path, &file);
                let anchor = osgb::anchor(&file, metadata.as_ref());
                match datasets.iter_mut().find(|d| d.metadata == metadata) {
                    Some(d) => d.tops.push(tile),
                    None => datasets.push(OsgbDataset { metadata, anchor, tops: vec![tile] }),
                }
            }
            other => reports.push(add_source(&mut model, &other, opts)?),
        }
    }
    for d in datasets {
        let tree = d.open(opts.place.as_ref())?;
        let index = streamed.len() as u32;
        streamed.push(StreamedTileset::new(&model, std::sync::Arc::new(tree), stream.clone(), index));
    }
    if let Some(generator) = terrain {
        let index = streamed.len() as u32;
        streamed.push(StreamedTileset::terrain(&model, generator, stream.clone(), index));
    }
    reports.extend(photo_roles::classify(&mut model, opts)?);
    reports.extend(skipped);
    model.rebuild_spatial_index();
    Ok((model, streamed, reports))
}

/// The top tiles of one OSGB dataset (those sharing a `metadata.xml`, or
/// all those without one), streamed as one tree.
struct OsgbDataset {
    metadata: Option<urbis_formats::osgb::OsgbMetadata>,
    /// The first top tile's anchor (dataset coordinates): the origin of local metres.
    anchor: Option<DVec3>,
    tops: Vec<urbis_tiles::osgb::OsgbTile>,
}

impl OsgbDataset {
    /// The dataset as a lazy tile tree placed in ECEF (or in local metres,
    /// moved by `place` when given, like a tileset at the Earth's centre).
    fn open(self, place: Option<&Place>) -> Result<TileTree, LoadError> {
        let origin = self.metadata.as_ref().map_or(DVec3::ZERO, |m| m.srs_origin);
        // The dataset folder: the one holding `metadata.xml` up to three
        // folders above the top tiles' common folder (ContextCapture's
        // `metadata.xml` + `Data/Tile_*/`), else that common folder.
        let dirs: Vec<&Path> = self.tops.iter().filter_map(|t| t.path.parent()).collect();
        let mut common = dirs.first().map(|d| d.to_path_buf()).unwrap_or_default();
        while !dirs.iter().all(|d| d.starts_with(&common)) && common.pop() {}
        let with_metadata = common.ancestors().take(4).find(|d| d.join("metadata.xml").is_file());
        let (path, root_dir) = match (with_metadata, self.tops.as_slice()) {
            (Some(d), _) => (d.join("metadata.xml"), d.to_path_buf()),
            (None, [one]) => (one.path.clone(), common),
            (None, _) => (common.join("osgb"), common),
        };
        let name = path.display().to_string();
        let (lo, hi) = self.tops.iter().fold((DVec3::INFINITY, DVec3::NEG_INFINITY), |(lo, hi), t| {
            (lo.min(t.center - t.radius), hi.max(t.center + t.radius))
        });
        let (centre, radius) =
            if lo.is_finite() { ((lo + hi) / 2.0 + origin, (hi - lo).length() / 2.0) } else { (origin, 1.0) };
        let placed = osgb::dataset_to_ecef(self.metadata.as_ref(), centre, radius, &name)?;
        let to_ecef = placed.unwrap_or_else(|| glam::DMat4::from_translation(-self.anchor.unwrap_or(DVec3::ZERO)));
        let mut tree = TileTree::from_osgb_tops(
            path,
            root_dir,
            self.tops,
            self.metadata.as_ref(),
            to_ecef,
            TreeLimits::lazy(),
            urbis_tiles::fetch::default_fetcher(),
        );
        if let (None, Some(p)) = (placed, place) {
            tracing::info!("{name}: placed at {p:?}");
            tree.apply_model_matrix(p.matrix());
        }
        Ok(tree)
    }
}

/// Adds one read source to a model (in the model's frame). Call
/// [`CityModel::rebuild_spatial_index`] after adding sources.
pub fn add_source(model: &mut CityModel, source: &Source, opts: &LoadOptions) -> Result<LoadReport, LoadError> {
    let detail = &opts.detail;
    let mut report = match source {
        Source::CityJson { doc, path } => {
            let dir = path.parent().unwrap_or(Path::new("."));
            cityjson::add(model, doc, dir, &ToEnu::new(source, *model.frame(), opts.place.as_ref())?)?
        }
        Source::Dem { grid, .. } => dem::add(model, grid, &ToEnu::new(source, *model.frame(), opts.place.as_ref())?)?,
        Source::Ifc { model: doc, path } => ifc::add(model, doc, &path.display().to_string())?,
        Source::GeoJson { doc, path } => {
            let name = path.file_stem().map_or_else(|| "geojson".into(), |s| s.to_string_lossy().into_owned());
            footprints::add(
                model,
                doc,
                &name,
                &ToEnu::new(source, *model.frame(), opts.place.as_ref())?,
                &opts.footprints,
            )?
        }
        Source::Tileset { tree, path } => {
            let local = source.ecef_anchor().is_none();
            tiles::add_tileset(model, tree, path, local, detail)
        }
        Source::Gltf { model: g, path } => {
            let local = source.ecef_anchor().is_none();
            tiles::add_standalone_gltf(model, g, path, local)
        }
        Source::Tile { content, path } => {
            let local = source.ecef_anchor().is_none();
            tiles::add_standalone_tile(model, content, path, local)
        }
        Source::Osgb { file, metadata, path } => {
            let frame = *model.frame();
            let to_enu: Box<dyn Fn(DVec3) -> Result<DVec3, LoadError>> = match metadata.as_ref().map(|m| &m.srs) {
                Some(urbis_formats::osgb::Srs::Enu { latitude, longitude }) => {
                    let local = CityFrame::new(Geodetic::new(*longitude, *latitude, 0.0));
                    Box::new(move |p| Ok(frame.ecef_to_enu(local.enu_to_ecef(p))))
                }
                _ => {
                    let t = ToEnu::new(source, frame, opts.place.as_ref())?;
                    Box::new(move |p| t.enu(p))
                }
            };
            let to_ecef = |p: DVec3| to_enu(p).map(|e| frame.enu_to_ecef(e));
            let depth = match detail {
                TileDetail::Overview => osgb::Depth::Top,
                TileDetail::Finest => osgb::Depth::Finest,
                TileDetail::View(v) => osgb::Depth::View(v, &to_ecef),
            };
            let origin = metadata.as_ref().map_or(DVec3::ZERO, |m| m.srs_origin);
            let mut report = LoadReport::default();
            for (p, f) in osgb::pyramid(path, file, origin, &depth, &mut report.warnings)? {
                let r = osgb::add(model, &f, &p, metadata.as_ref(), &*to_enu)?;
                report.features += r.features;
                report.tiles_loaded += r.tiles_loaded;
                report.warnings.extend(r.warnings);
            }
            report
        }
    };
    report.path = source.path().display().to_string();
    report.crs = report.crs.or(source.crs().map(|c| c.0));
    tracing::info!("{}: {} features", report.path, report.features);
    Ok(report)
}
