//! The terrain tree's generator: where heights come from, which imagery is
//! draped, and the tile's mesh made on a loader thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use glam::DVec2;
use urbis_formats::FormatError;
use urbis_formats::tiles3d::TileContent;

use super::{
    DemHeights, DrapeLayer, GRID_CELLS, GenerateContent, TerrainLayout, TerrainMesh, TileCoord, drape_tile,
    geographic_rect, grid_mesh, level_error, level_for_resolution,
};
use crate::tree::TileTree;

/// Where a terrain tree's heights come from.
#[derive(Debug)]
pub enum TerrainSource {
    /// The bare WGS84 ellipsoid (height 0 everywhere).
    Ellipsoid,
    /// DEM grids (the first that covers a point gives its height; the
    /// ellipsoid elsewhere).
    Dems(Vec<DemHeights>),
    /// A quantized-mesh tileset (the ellipsoid where it has no tile).
    QuantizedMesh(Box<super::qm::QmTerrain>),
}

/// Makes a terrain tree's tiles (see the module overview).
pub struct TerrainGenerator {
    pub name: String,
    source: TerrainSource,
    layers: RwLock<Vec<DrapeLayer>>,
    /// Texels along a tile's side.
    pub texture_side: u32,
    /// The colour where no imagery has data (sRGB).
    pub base: [u8; 4],
    /// The finest level of the bare globe.
    pub globe_level: u32,
    /// The finest level of imagery-only coverage.
    pub imagery_level: u32,
    failures: Mutex<Vec<String>>,
    /// Bumped by every [`TerrainGenerator::set_layers`]: tiles made before are stale.
    layers_version: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TerrainGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerrainGenerator").field("name", &self.name).field("source", &self.source).finish()
    }
}

fn union(a: Option<[f64; 4]>, b: [f64; 4]) -> Option<[f64; 4]> {
    Some(match a {
        None => b,
        Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
    })
}

impl TerrainGenerator {
    pub fn new(name: impl Into<String>, source: TerrainSource, layers: Vec<DrapeLayer>) -> Self {
        TerrainGenerator {
            name: name.into(),
            source,
            layers: RwLock::new(layers),
            texture_side: 256,
            base: [96, 112, 128, 255],
            globe_level: 5,
            imagery_level: 16,
            failures: Mutex::new(Vec::new()),
            layers_version: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The imagery layers, bottom first.
    pub fn layers(&self) -> Vec<DrapeLayer> {
        self.layers.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the imagery layers (tiles made from now on drape these).
    pub fn set_layers(&self, layers: Vec<DrapeLayer>) {
        *self.layers.write().unwrap_or_else(|e| e.into_inner()) = layers;
        self.layers_version.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times the layers changed (see [`TerrainGenerator::set_layers`]).
    pub fn layers_version(&self) -> u64 {
        self.layers_version.load(Ordering::Relaxed)
    }

    /// Imagery failures since the last call, each naming the source and tile.
    pub fn take_failures(&self) -> Vec<String> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Where the terrain has data (and where imagery smaller than a
    /// continent lies), degrees.
    pub fn coverage(&self) -> Option<[f64; 4]> {
        let mut cov = None;
        match &self.source {
            TerrainSource::Dems(dems) => {
                for d in dems {
                    cov = union(cov, d.coverage);
                }
            }
            TerrainSource::QuantizedMesh(q) => {
                if let Some(c) = q.coverage() {
                    cov = union(cov, c);
                }
            }
            TerrainSource::Ellipsoid => {}
        }
        for l in self.layers() {
            if let Some(r) = imagery_rect(&*l.source) {
                cov = union(cov, r);
            }
        }
        cov
    }

    /// The tree's shape.
    pub fn layout(self: &Arc<Self>) -> TerrainLayout {
        let coverage = self.coverage();
        let lat = coverage.map_or(0.0, |c| (c[1] + c[3]) / 2.0);
        let dem_level = match &self.source {
            TerrainSource::Dems(dems) => {
                dems.iter().map(|d| level_for_resolution(d.resolution_m(), lat)).max().unwrap_or(0)
            }
            TerrainSource::QuantizedMesh(q) => {
                q.layer.available.len().saturating_sub(1).max(q.layer.maxzoom as usize) as u32
            }
            TerrainSource::Ellipsoid => 0,
        };
        let imagery = self.layers().iter().any(|l| imagery_rect(&*l.source).is_some());
        let max_level = dem_level.max(if imagery { self.imagery_level } else { 0 }).max(self.globe_level);
        let me = self.clone();
        let available: Option<Arc<dyn Fn(TileCoord) -> bool + Send + Sync>> = match &self.source {
            TerrainSource::QuantizedMesh(_) => {
                let me = self.clone();
                Some(Arc::new(move |c: TileCoord| !me.outside(c)))
            }
            _ => None,
        };
        TerrainLayout {
            coverage,
            max_level: max_level.min(super::MAX_LEVEL),
            globe_level: self.globe_level,
            heights: Arc::new(move |rect| me.range(rect)),
            available,
        }
    }

    /// The terrain tree these tiles stream in.
    pub fn tree(self: &Arc<Self>) -> TileTree {
        TileTree::terrain(&self.name, &self.layout(), self.clone())
    }

    /// The height (metres above the ellipsoid) the terrain's sources give
    /// at a longitude and latitude (0 where none covers it).
    pub fn height_at(&self, lon: f64, lat: f64) -> f64 {
        if let TerrainSource::QuantizedMesh(q) = &self.source {
            return q.height_at(lon, lat).unwrap_or(0.0);
        }
        self.heights(&[DVec2::new(lon, lat)])[0]
    }

    /// Heights of a tile's grid from the DEMs (the ellipsoid elsewhere, and
    /// where a quantized-mesh tileset has no tile).
    fn heights(&self, pts: &[DVec2]) -> Vec<f64> {
        let mut out = vec![None; pts.len()];
        if let TerrainSource::Dems(dems) = &self.source {
            for d in dems {
                if out.iter().all(Option::is_some) {
                    break;
                }
                for (o, h) in out.iter_mut().zip(d.heights(pts)) {
                    if o.is_none() {
                        *o = h;
                    }
                }
            }
        }
        out.into_iter().map(|h| h.unwrap_or(0.0)).collect()
    }

    /// Whether a quantized-mesh tileset has no tile here (the bare globe there).
    fn outside(&self, c: TileCoord) -> bool {
        match &self.source {
            TerrainSource::QuantizedMesh(q) => !q.layer.is_available(c.z, c.x, c.y),
            _ => false,
        }
    }

    fn range(&self, rect: [f64; 4]) -> Option<[f64; 2]> {
        if let TerrainSource::QuantizedMesh(_) = &self.source {
            // Unknown until a tile is read: room for any land surface.
            return Some([-500.0, 9000.0]);
        }
        let TerrainSource::Dems(dems) = &self.source else { return None };
        let mut r: Option<[f64; 2]> = None;
        for d in dems {
            if let Some(x) = d.range(rect) {
                r = Some(r.map_or(x, |r| [r[0].min(x[0]), r[1].max(x[1])]));
            }
        }
        // The ellipsoid (0) lies under whatever a DEM leaves uncovered.
        r.map(|r| [r[0].min(0.0), r[1].max(0.0)])
    }

    /// Builds one tile (heights or the quantized-mesh tile, mesh, skirts, imagery).
    pub fn build(&self, coord: TileCoord) -> Result<TerrainMesh, FormatError> {
        let mut mesh = match &self.source {
            TerrainSource::QuantizedMesh(q) if !self.outside(coord) => {
                q.tile(coord, (level_error(coord.z) * 4.0).min(1000.0), None)?
            }
            _ => self.build_heights(coord),
        };
        let layers = self.layers();
        if !layers.is_empty() {
            let failures = drape_tile(&mut mesh, &layers, self.texture_side, self.base);
            if !failures.is_empty() {
                let mut all = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                for f in failures {
                    tracing::warn!("terrain tile {coord}: {f}");
                    all.push(format!("terrain tile {coord}: {f}"));
                }
            }
        }
        Ok(mesh)
    }

    /// A heightmap tile from the DEMs (or the ellipsoid), without imagery.
    pub fn build_heights(&self, coord: TileCoord) -> TerrainMesh {
        let rect = geographic_rect(coord);
        let n = GRID_CELLS;
        let side = n + 3;
        let step = ((rect[2] - rect[0]) / f64::from(n), (rect[3] - rect[1]) / f64::from(n));
        let pts: Vec<DVec2> = (0..side * side)
            .map(|k| {
                let (i, j) = (f64::from(k % side) - 1.0, f64::from(k / side) - 1.0);
                DVec2::new(rect[0] + i * step.0, (rect[3] - j * step.1).clamp(-90.0, 90.0))
            })
            .collect();
        let heights = self.heights(&pts);
        let skirt = (level_error(coord.z) * 4.0).min(1000.0);
        let mut mesh = grid_mesh(coord, rect, n, &heights, skirt);
        if !matches!(self.source, TerrainSource::Dems(_)) || heights.iter().all(|h| *h == 0.0) {
            mesh.source = "ellipsoid";
        }
        mesh
    }
}

/// An imagery source's extent in degrees, when it is smaller than a
/// continent (a global base map does not make the terrain refine everywhere).
fn imagery_rect(src: &dyn urbis_formats::imagery::ImagerySource) -> Option<[f64; 4]> {
    super::drape::degree_extent(src).filter(|r| r[2] - r[0] < 10.0 && r[3] - r[1] < 10.0)
}

impl GenerateContent for TerrainGenerator {
    fn generate(&self, coord: TileCoord, cancel: Option<&AtomicBool>) -> Result<TileContent, FormatError> {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(FormatError::Field {
                path: self.name.clone(),
                field: coord.to_string(),
                msg: "cancelled".into(),
            });
        }
        Ok(TileContent::Terrain(Box::new(self.build(coord)?)))
    }
}
