//! Terrain on a globe: a quadtree of terrain tiles in the geographic tiling
//! scheme (Cesium's: two level-0 tiles, TMS rows from the south), streamed
//! like any tileset — the same screen-space-error selection, loader threads
//! and memory budget — with each tile's mesh and draped imagery made on a
//! loader thread by a [`GenerateContent`].
//!
//! ```text
//! TerrainSource (DEMs through PROJ │ quantized-mesh layer.json + tiles (qm) │ the bare ellipsoid)
//!   └─ TerrainLayout: coverage, finest level, height range per rectangle
//!        └─ TileTree::terrain: every tile to `globe_level` everywhere and to
//!           `max_level` inside the coverage; boxes from the tile's corners at
//!           its heights; Cesium's geometric error per level
//! loader thread: TerrainGenerator::generate(z/x/y)
//!   ─► heights on a (n+1)² grid (or the quantized-mesh tile) ─► mesh + skirts
//!   ─► imagery layers resampled onto the tile's rectangle (drape) ─► TerrainMesh
//! ```
//!
//! [`write_quantized_mesh`] writes a DEM's tiles as a quantized-mesh tileset.
//!
//! Neighbouring tiles sample their shared edge at the same longitudes and
//! latitudes, so their edge heights are equal; where levels differ, skirts
//! hang below every edge and hide the cracks. Texels sit on the same lattice
//! (the first and last texel of a row lie on the tile's edges), so imagery
//! shows no seam at tile borders.

mod dem;
mod drape;
mod generator;
mod mesh;
mod qm;
mod write;

pub use dem::DemHeights;
pub use drape::{DrapeLayer, degree_extent, drape_tile};
pub use generator::{TerrainGenerator, TerrainSource};
pub use mesh::{grid_mesh, tile_box};
pub use qm::{QmTerrain, from_quantized, ranges_of, to_quantized};
pub use urbis_formats::terrain_mesh::{TerrainMesh, TileCoord, TileTexture};
pub use write::{WrittenTerrain, write_quantized_mesh};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use urbis_formats::FormatError;
use urbis_formats::tiles3d::TileContent;

use crate::tree::{ContentRef, Pending, Refine, TileId, TileNode, TileTree, TreeLimits};

/// The scheme prefix of generated terrain content paths.
pub const TERRAIN_SCHEME: &str = "urbis-terrain:";
/// Cells along a tile's side of a heightmap tile.
pub const GRID_CELLS: u32 = 64;
/// How much a terrain tile's geometric error is enlarged in the tree: Cesium
/// draws terrain to a screen-space error of 2 px (`Globe.maximumScreenSpaceError`)
/// and 3D Tiles to 16 px; with errors × 8 the stream's one threshold gives both.
pub const TERRAIN_SSE_FACTOR: f64 = 8.0;
/// The deepest level a terrain tree goes to.
pub const MAX_LEVEL: u32 = 22;

/// West, south, east and north edges of a geographic tile, degrees.
pub fn geographic_rect(c: TileCoord) -> [f64; 4] {
    let size = 180.0 / f64::from(1u32 << c.z.min(30));
    let west = -180.0 + f64::from(c.x) * size;
    let south = -90.0 + f64::from(c.y) * size;
    [west, south, west + size, south + size]
}

/// The geometric error of a heightmap tile at `level`, metres: Cesium's
/// `TerrainProvider.getEstimatedLevelZeroGeometricErrorForAHeightmap`
/// (0.25 · 2π · a / (65 · 2)) halved per level.
pub fn level_error(level: u32) -> f64 {
    let a = urbis_geo::Ellipsoid::WGS84.a;
    a * 2.0 * std::f64::consts::PI * 0.25 / (65.0 * 2.0) / f64::from(1u32 << level.min(30))
}

/// The level whose heightmap cells (of [`GRID_CELLS`] per tile) are no
/// larger than `metres` at latitude `lat_deg`.
pub fn level_for_resolution(metres: f64, lat_deg: f64) -> u32 {
    let cos = lat_deg.to_radians().cos().max(0.05);
    let metres_per_degree = 111_320.0 * cos;
    (0..=MAX_LEVEL)
        .find(|&z| 180.0 / f64::from(1u32 << z) * metres_per_degree / f64::from(GRID_CELLS) <= metres)
        .unwrap_or(MAX_LEVEL)
}

/// Generates a terrain tree's contents on the loader threads.
pub trait GenerateContent: Send + Sync + std::fmt::Debug {
    /// The content of a tile of the tree.
    fn generate(&self, coord: TileCoord, cancel: Option<&AtomicBool>) -> Result<TileContent, FormatError>;
}

/// The shape of a terrain tree.
#[derive(Clone)]
pub struct TerrainLayout {
    /// West, south, east, north (degrees) where the terrain has data.
    pub coverage: Option<[f64; 4]>,
    /// The finest level inside the coverage.
    pub max_level: u32,
    /// The finest level outside it (the bare globe, refined for its curvature).
    pub globe_level: u32,
    /// Lowest and highest heights inside a rectangle (degrees), when known.
    pub heights: Arc<dyn Fn([f64; 4]) -> Option<[f64; 2]> + Send + Sync>,
    /// Tiles that have data (quantized-mesh availability): a tile at or
    /// past `globe_level` is refined only when one of its children has;
    /// `None`: every tile.
    pub available: Option<Arc<dyn Fn(TileCoord) -> bool + Send + Sync>>,
}

impl std::fmt::Debug for TerrainLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerrainLayout")
            .field("coverage", &self.coverage)
            .field("max_level", &self.max_level)
            .field("globe_level", &self.globe_level)
            .finish()
    }
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Tiles a terrain tree is built with at first (breadth first); tiles past
/// them are made as selection reaches them ([`TileTree::expand_terrain`]).
pub const EAGER_TILES: usize = 100_000;

impl TileTree {
    /// A terrain tree over the whole globe (see the module overview); each
    /// tile's content is made by `generator`. Built breadth first up to
    /// [`EAGER_TILES`]; deeper tiles wait as [`Pending::Terrain`] marks.
    pub fn terrain(name: &str, layout: &TerrainLayout, generator: Arc<dyn GenerateContent>) -> TileTree {
        let limits = TreeLimits::lazy();
        let mut tree = TileTree::bare(
            PathBuf::from(name),
            PathBuf::new(),
            "terrain",
            crate::fetch::default_fetcher(),
            limits,
            Some(generator),
        );
        tree.terrain_layout = Some(Arc::new(layout.clone()));
        // A content-less root above the two level-0 tiles.
        let earth = urbis_geo::Ellipsoid::WGS84.a;
        tree.nodes.push(TileNode {
            id: TileId(0),
            parent: None,
            children: Vec::new(),
            transform: glam::DMat4::IDENTITY,
            volume: crate::volume::Volume::Sphere { center: glam::DVec3::ZERO, radius: earth + 10_000.0 },
            viewer_request_volume: None,
            // Always refined: the globe is drawn from its level-0 tiles at any distance.
            geometric_error: 1e15,
            refine: Refine::Replace,
            contents: Vec::new(),
            metadata: None,
            implicit: None,
            depth: 0,
            pending: None,
        });
        let mut queue: std::collections::VecDeque<(TileId, TileCoord)> = std::collections::VecDeque::new();
        queue.push_back((TileId(0), TileCoord { z: 0, x: 0, y: 0 }));
        queue.push_back((TileId(0), TileCoord { z: 0, x: 1, y: 0 }));
        while let Some((parent, c)) = queue.pop_front() {
            let eager = tree.nodes.len() + queue.len() + 4 <= EAGER_TILES;
            let (id, children) = add_tile(&mut tree, layout, parent, c, !eager);
            for k in children {
                queue.push_back((id, k));
            }
        }
        tree
    }

    /// Makes the children of a terrain tile marked [`Pending::Terrain`]
    /// (each marked in turn when it has children); returns how many.
    pub fn expand_terrain(&mut self, id: TileId) -> usize {
        let (Some(layout), Some(Pending::Terrain), Some(c)) = (
            self.terrain_layout.clone(),
            self.nodes[id.0 as usize].pending.clone(),
            self.nodes[id.0 as usize].implicit,
        ) else {
            return 0;
        };
        self.nodes[id.0 as usize].pending = None;
        let coord = TileCoord { z: c.level, x: c.x as u32, y: c.y as u32 };
        let children = children_of(&layout, coord);
        for k in &children {
            add_tile(self, &layout, id, *k, true);
        }
        children.len()
    }
}

/// The children a terrain tile has: all four or none (REPLACE refinement
/// leaves no holes); with an availability, only where one of them has data.
fn children_of(layout: &TerrainLayout, c: TileCoord) -> Vec<TileCoord> {
    let rect = geographic_rect(c);
    let inside = layout.coverage.is_some_and(|cov| overlaps(rect, cov));
    let finest = if inside { layout.max_level } else { layout.globe_level };
    let mut children: Vec<TileCoord> = if c.z < finest.min(MAX_LEVEL) {
        (0..4).map(|k| TileCoord { z: c.z + 1, x: c.x * 2 + (k & 1), y: c.y * 2 + (k >> 1) }).collect()
    } else {
        Vec::new()
    };
    if let Some(a) = &layout.available
        && c.z >= layout.globe_level
        && !children.iter().any(|k| a(*k))
    {
        children.clear();
    }
    children
}

/// Adds tile `c` under `parent`; returns its id and children. `lazy`: its
/// children are left for [`TileTree::expand_terrain`] (marked pending).
fn add_tile(
    tree: &mut TileTree,
    layout: &TerrainLayout,
    parent: TileId,
    c: TileCoord,
    lazy: bool,
) -> (TileId, Vec<TileCoord>) {
    let rect = geographic_rect(c);
    let inside = layout.coverage.is_some_and(|cov| overlaps(rect, cov));
    let heights = if inside { (layout.heights)(rect).unwrap_or([0.0, 0.0]) } else { [0.0, 0.0] };
    let children = children_of(layout, c);
    let id = TileId(tree.nodes.len() as u32);
    tree.nodes.push(TileNode {
        id,
        parent: Some(parent),
        children: Vec::new(),
        transform: glam::DMat4::IDENTITY,
        volume: tile_box(rect, heights),
        viewer_request_volume: None,
        geometric_error: if children.is_empty() { 0.0 } else { level_error(c.z) * TERRAIN_SSE_FACTOR },
        refine: Refine::Replace,
        contents: vec![ContentRef {
            path: PathBuf::from(format!("{TERRAIN_SCHEME}{c}")),
            uri: format!("{c}.terrain"),
            volume: None,
            group: None,
            metadata: None,
        }],
        metadata: None,
        implicit: Some(crate::tree::ImplicitCoord { level: c.z, x: c.x.into(), y: c.y.into(), z: 0 }),
        depth: c.z + 1,
        pending: (lazy && !children.is_empty()).then_some(Pending::Terrain),
    });
    tree.nodes[parent.0 as usize].children.push(id);
    (id, if lazy { Vec::new() } else { children })
}

/// The tile a generated content path names (`urbis-terrain:z/x/y`).
pub fn parse_terrain_path(path: &std::path::Path) -> Option<TileCoord> {
    let s = path.to_str()?.strip_prefix(TERRAIN_SCHEME)?;
    let mut it = s.split('/').map(str::parse::<u32>);
    let (z, x, y) = (it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?);
    (it.next().is_none() && z <= MAX_LEVEL).then_some(TileCoord { z, x, y })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geographic_tiles_follow_cesiums_scheme() {
        // Level 0: two tiles of 180°; level 1 tile (3, 1) is the north-east quarter's east half.
        assert_eq!(geographic_rect(TileCoord { z: 0, x: 0, y: 0 }), [-180.0, -90.0, 0.0, 90.0]);
        assert_eq!(geographic_rect(TileCoord { z: 1, x: 3, y: 1 }), [90.0, 0.0, 180.0, 90.0]);
        // Cesium's level-zero heightmap error for WGS84: 77067.34 m (quoted from
        // CesiumJS: TerrainProvider.getEstimatedLevelZeroGeometricErrorForAHeightmap(ellipsoid, 65, 2)).
        assert!((level_error(0) - 77_067.34).abs() < 0.01, "{}", level_error(0));
        assert_eq!(
            parse_terrain_path(std::path::Path::new("urbis-terrain:3/5/2")),
            Some(TileCoord { z: 3, x: 5, y: 2 })
        );
        assert_eq!(parse_terrain_path(std::path::Path::new("urbis-terrain:3/5")), None);
        // 5 m cells near 40°N: 180/2^z · 111320 · cos 40° / 64 ≤ 5 first at z = 16 (3.7 m; z = 15 gives 7.5 m).
        assert_eq!(level_for_resolution(5.0, 40.0), 16);
    }
}
