//! # urbis_sample_city: a synthetic, georeferenced district
//!
//! A deterministic generator (same seed, same bytes) of a 2 km × 2 km
//! district near Xiong'an (115.9°E, 39.0°N), in CGCS2000 / 3-degree
//! Gauss-Krüger CM 117E (EPSG:4548). It writes standard files that Urbis then
//! loads like any real city:
//!
//! - `district.city.json`: CityJSON 2.0 with buildings (some with
//!   BuildingParts), road segments, bridges, the river and a pond, parks and
//!   trees (geometry templates);
//! - `terrain.asc` + `terrain.prj`: a 5 m ESRI ASCII grid DEM with a river
//!   valley, floodplain, a hill and a pond.
//!
//! [`SampleTiles`] makes synthetic 3D Tiles tilesets of any size (an
//! implicit quadtree of glb box buildings with feature metadata), written
//! to disk or served file by file, for streaming tests and benchmarks.
//! [`photo_mesh`] makes a synthetic oblique-photography photo mesh of the
//! district (OSGB pyramids + `metadata.xml`, with per-triangle truth).
//! [`ortho`] draws its orthophoto (`ortho.tif`, a tiled GeoTIFF with
//! overviews, and an XYZ pyramid `ortho_xyz/`), made on first use by
//! [`ensure_ortho`].
//!
//! ```text
//! seed ─► terrain (noise, river) ─► DEM
//!      ─► street grid ─► blocks (zoning) ─► building typologies ─┐
//!      ─► roads, bridges, water, parks, trees ───────────────────┴─► CityJSON
//! ```

mod buildings;
mod layout;
mod massing;
pub mod metropolis;
mod nature;
pub mod ortho;
pub mod photo_mesh;
mod streets;
mod terrain;
pub mod tiles;
mod writer;

pub use ortho::{ORTHO_FILE, ORTHO_XYZ_DIR, ORTHO_ZOOMS, OrthoFiles, ensure_ortho, orthophoto, write_ortho};
pub use photo_mesh::{PhotoMesh, PhotoMeshConfig, PhotoTile, photo_mesh, write_photo_mesh};
pub use tiles::SampleTiles;

use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use urbis_formats::ascii_grid::DemGrid;
use urbis_geo::{CrsTransform, Epsg, Geodetic};

use terrain::{River, TerrainModel};
use writer::CityJsonWriter;

/// Bumped whenever the output changes, so cached files are regenerated.
pub const GENERATOR_VERSION: u32 = 5;
/// Radius of the pond's depression, metres (its water reaches 85 % of it).
pub(crate) const POND_RADIUS: f64 = 42.0;
/// The file names written into the output directory.
pub const CITYJSON_FILE: &str = "district.city.json";
pub const DEM_FILE: &str = "terrain.asc";

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SampleCityError {
    #[error("CRS: {0}")]
    Crs(#[from] urbis_geo::GeoError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Imagery(#[from] urbis_formats::imagery::ImageryError),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleCityConfig {
    pub seed: u64,
    /// Centre of the district.
    pub center: Geodetic,
    /// Side of the square district, metres.
    pub size: f64,
    /// DEM margin around the district, metres.
    pub margin: f64,
    /// DEM cell size, metres.
    pub dem_cell: f64,
    pub crs: Epsg,
}

impl Default for SampleCityConfig {
    fn default() -> Self {
        Self {
            seed: 2017,
            center: Geodetic::new(115.9, 39.0, 0.0),
            size: 2000.0,
            margin: 100.0,
            dem_cell: 5.0,
            crs: Epsg::CGCS2000_GK_CM_117E,
        }
    }
}

/// Counts of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleCityStats {
    pub buildings: usize,
    pub building_parts: usize,
    pub roads: usize,
    pub bridges: usize,
    pub water_bodies: usize,
    pub parks: usize,
    pub trees: usize,
}

/// The generated district in memory.
#[derive(Debug, Clone)]
pub struct SampleCity {
    pub cityjson: Value,
    pub dem: DemGrid,
    pub stats: SampleCityStats,
}

/// Local district metres (origin at the south-west corner) → projected CRS.
pub(crate) struct Ground<'a> {
    dem: &'a DemGrid,
    origin: DVec2,
}

impl Ground<'_> {
    pub(crate) fn z(&self, p: DVec2) -> f64 {
        self.dem.sample(self.origin.x + p.x, self.origin.y + p.y).unwrap_or(10.0)
    }
    pub(crate) fn at(&self, p: DVec2, z: f64) -> DVec3 {
        DVec3::new(self.origin.x + p.x, self.origin.y + p.y, z)
    }
    pub(crate) fn draped(&self, p: DVec2, lift: f64) -> DVec3 {
        self.at(p, self.z(p) + lift)
    }
}

/// Generates the district.
pub fn generate(cfg: &SampleCityConfig) -> Result<SampleCity, SampleCityError> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let to_grid = CrsTransform::new(Epsg::CGCS2000, cfg.crs)?;
    let c = to_grid.transform(DVec3::new(cfg.center.lon_deg, cfg.center.lat_deg, 0.0))?;
    let origin = DVec2::new((c.x - cfg.size / 2.0).round(), (c.y - cfg.size / 2.0).round());

    // Terrain.
    let river = River { base_y: cfg.size * 0.28, phase: rng.random_range(0.0..1.0) };
    let hill = DVec2::new(cfg.size * 0.86, cfg.size * 0.84);
    // In the middle of a block (blocks are centred between 125 m street lines).
    let pond = DVec2::new(687.5 * cfg.size / 2000.0, 1312.5 * cfg.size / 2000.0);
    let model = TerrainModel::new(
        cfg.seed as u32,
        river.clone(),
        (hill.x, hill.y, 170.0, 24.0),
        (pond.x, pond.y, POND_RADIUS, 3.5),
    );
    let n = ((cfg.size + 2.0 * cfg.margin) / cfg.dem_cell).round() as usize;
    let mut heights = Vec::with_capacity(n * n);
    for row in 0..n {
        for col in 0..n {
            let x = -cfg.margin + (col as f64 + 0.5) * cfg.dem_cell;
            let y = -cfg.margin + (n as f64 - row as f64 - 0.5) * cfg.dem_cell;
            heights.push(((model.height(x, y) * 1000.0).round() / 1000.0) as f32);
        }
    }
    let dem = DemGrid {
        ncols: n,
        nrows: n,
        x_min: origin.x - cfg.margin,
        y_min: origin.y - cfg.margin,
        cell_size: cfg.dem_cell,
        heights,
        nodata_value: Some(-9999.0),
        crs: Some(cfg.crs),
    };
    let ground = Ground { dem: &dem, origin };

    let mut w = CityJsonWriter::new(DVec3::new(origin.x, origin.y, 0.0));
    let mut stats = SampleCityStats::default();
    let streets = layout::streets(cfg.size, layout::STREET_SPACING, layout::ARTERIAL_EVERY);
    let blocks = layout::blocks(&streets, cfg.size, &river, hill, pond, &mut rng);

    // Buildings.
    let mut n_building = 0usize;
    for block in &blocks {
        for spec in buildings::fill_block(block, &mut rng) {
            n_building += 1;
            let id = format!("XA-B{:05}", n_building);
            let address = massing::address_for(&spec, block, &streets, &mut rng);
            stats.building_parts += massing::add_building(&mut w, &ground, &id, &spec, address);
            stats.buildings += 1;
        }
    }

    // Streets, bridges, water, parks, trees.
    let (roads, bridges) = streets::add_streets(&mut w, &ground, &streets, &river, cfg.size);
    stats.roads = roads;
    stats.bridges = bridges;
    stats.water_bodies = nature::add_water(&mut w, &ground, &river, &model, pond, cfg);
    stats.parks = nature::add_parks(&mut w, &ground, &blocks);
    stats.trees = nature::add_trees(&mut w, &ground, &blocks, &streets, &river, cfg.size, &mut rng);

    let metadata = json!({
        "title": "Urbis sample district (synthetic), Xiong'an New Area",
        "referenceSystem": format!("https://www.opengis.net/def/crs/EPSG/0/{}", cfg.crs.0),
        "geographicalExtent": [origin.x, origin.y, 0.0, origin.x + cfg.size, origin.y + cfg.size, 200.0],
        "pointOfContact": {"contactName": "Urbis", "emailAddress": "urbis@example.org"},
        "referenceDate": "2026-11-24",
        "generator": {"name": "urbis_sample_city", "version": GENERATOR_VERSION, "seed": cfg.seed}
    });
    Ok(SampleCity { cityjson: w.finish(metadata), dem, stats })
}

/// Writes the district into `dir` (created if needed); returns the paths of
/// the CityJSON file and the DEM. Files are written under temporary names
/// and renamed, so readers never see half a file.
pub fn write_to_dir(dir: &Path, cfg: &SampleCityConfig) -> Result<Vec<PathBuf>, SampleCityError> {
    let city = generate(cfg)?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SampleCityError::Io { path: path.clone(), source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let unique = format!("{}.{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, SampleCityError> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.{unique}.tmp"));
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    };
    let json = serde_json::to_vec(&city.cityjson)
        .map_err(|e| SampleCityError::Io { path: CITYJSON_FILE.into(), source: e.into() })?;
    let mut dem = Vec::new();
    city.dem.write(&mut dem).map_err(io(Path::new(DEM_FILE)))?;
    let a = write(CITYJSON_FILE, &json)?;
    let b = write(DEM_FILE, &dem)?;
    write("terrain.prj", format!("EPSG:{}\n", cfg.crs.0).as_bytes())?;
    write(".generator", stamp(cfg).as_bytes())?;
    Ok(vec![a, b])
}

fn stamp(cfg: &SampleCityConfig) -> String {
    format!("urbis_sample_city v{} seed {} size {} cell {}\n", GENERATOR_VERSION, cfg.seed, cfg.size, cfg.dem_cell)
}

/// Makes sure `dir` holds the district for `cfg`, generating it if it is
/// missing or stale. Returns the directory.
pub fn ensure(dir: &Path, cfg: &SampleCityConfig) -> Result<PathBuf, SampleCityError> {
    let fresh = std::fs::read_to_string(dir.join(".generator")).is_ok_and(|s| s == stamp(cfg))
        && dir.join(CITYJSON_FILE).is_file()
        && dir.join(DEM_FILE).is_file();
    if !fresh {
        tracing::info!("generating the sample city into {}", dir.display());
        write_to_dir(dir, cfg)?;
    }
    Ok(dir.to_path_buf())
}

/// `assets/sample_city` in this workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample_city")
}
