//! OSGB oblique-photography datasets (ContextCapture layout: `metadata.xml`
//! beside `Data/Tile_*/Tile_*.osgb`) as a lazy [`TileTree`], streamed like
//! 3D Tiles with no conversion step.
//!
//! ```text
//! synthetic root (no content, REPLACE, sphere around the top tiles)
//!  ├─ Tile_+000_+000.osgb   content = the file; children Pending::Osgb
//!  │    └─ (expanded on a loader thread) its PagedLOD's paged child files,
//!  │       each a tile whose content is the file, pending in turn
//!  └─ Tile_+000_+001.osgb …
//! ```
//!
//! Every tile's `transform` is `to_ecef × translation(SRSOrigin)`, so the
//! raw vertices of any file of the dataset map to ECEF by it. A file's
//! bounding volume is the sphere of its LOD nodes (`lod_center`, their
//! union when a file holds several; the vertices' sphere when it has none).
//!
//! Geometric error: a file whose PagedLOD pages in children gets the error
//! at which Cesium's screen-space error (16 px) crosses OpenSceneGraph's
//! switch point.
//! - Pixel-size ranges: OpenSceneGraph pages the child in when the LOD's
//!   sphere covers `switch_px` pixels (the lower bound of the first range
//!   with a file name). The projected diameter `2r·H/(2d·tan(fov/2))` equals
//!   `switch_px` exactly where `SSE(e) = e·H/(2d·tan(fov/2))` equals 16 for
//!   `e = 2r·16/switch_px` — whatever the camera's field of view and
//!   viewport, and with `d` the distance to the sphere for both.
//! - Distance ranges: OpenSceneGraph pages the child in nearer than
//!   `switch_m` metres (the upper bound of that range), independent of the
//!   viewport, which SSE is not. The error is taken so that SSE = 16 at
//!   `switch_m` from the sphere for a reference camera of 60° vertical field
//!   of view over 720 pixels: `e = switch_m·16·2·tan(30°)/720`. A taller
//!   viewport or narrower field refines farther away, as 3D Tiles does.
//!
//! When a file holds several PagedLODs the largest error is the file's (it
//! refines when any of them would). The synthetic root refines as soon as
//! the dataset covers more than a pixel (error = 16 × its diameter).
//! Expansion reads the paged children; a missing, unreadable or escaping
//! child, a cycle (a child that is already an ancestor) or a pyramid deeper
//! than [`MAX_OSGB_DEPTH`] fails the expansion: the parent keeps standing in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::{DMat4, DVec3};
use rayon::prelude::*;
use urbis_formats::FormatError;
use urbis_formats::osgb::{OsgbFile, OsgbMetadata, OsgbNode, RangeMode, union_spheres};

use crate::TilesError;
use crate::fetch::Fetcher;
use crate::tree::{ContentRef, Pending, Refine, TileId, TileNode, TileTree, TreeLimits, max_scale};
use crate::volume::Volume;

/// The deepest PagedLOD pyramid followed below a top tile.
pub const MAX_OSGB_DEPTH: u32 = 64;
/// Screen-space error at which OpenSceneGraph's switch point is matched.
const SSE: f64 = 16.0;
/// Reference camera for distance ranges: vertical field of view and viewport height.
const REFERENCE_FOV_Y_DEG: f64 = 60.0;
const REFERENCE_HEIGHT_PX: f64 = 720.0;

/// What the tree needs of one `.osgb` file, in the file's own coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct OsgbTile {
    pub path: PathBuf,
    /// Bounding-sphere centre (file coordinates, without `SRSOrigin`).
    pub center: DVec3,
    pub radius: f64,
    /// Geometric error in file units (0 without paged children).
    pub geometric_error: f64,
    /// Whether the file pages in child files.
    pub has_children: bool,
}

/// The geometric error of one PagedLOD of radius `radius` (see the module notes).
pub fn paged_lod_error(mode: RangeMode, ranges: &[[f32; 2]], file_names: &[String], radius: f64) -> Option<f64> {
    let k = file_names.iter().position(|n| !n.is_empty())?;
    let range = ranges.get(k)?;
    Some(match mode {
        RangeMode::PixelSizeOnScreen => 2.0 * radius.max(0.0) * SSE / (range[0] as f64).max(1.0),
        _ => {
            let tan = (REFERENCE_FOV_Y_DEG.to_radians() / 2.0).tan();
            (range[1] as f64).max(0.0) * SSE * 2.0 * tan / REFERENCE_HEIGHT_PX
        }
    })
}

/// The sphere and error of a parsed file.
pub fn osgb_tile(path: &Path, file: &OsgbFile) -> OsgbTile {
    let mut sphere = (DVec3::ZERO, -1.0);
    let mut error: f64 = 0.0;
    let mut has_children = false;
    let mut stack: Vec<&OsgbNode> = vec![&file.root];
    while let Some(n) = stack.pop() {
        stack.extend(n.children.iter());
        let Some(lod) = n.lod() else { continue };
        let Some((c, r)) = n.lod_center().filter(|(c, r)| c.is_finite() && r.is_finite()) else { continue };
        sphere = union_spheres(sphere, (c, r));
        if let Some((_, paged)) = n.paged_lod()
            && let Some(e) = paged_lod_error(lod.range_mode, &lod.ranges, &paged.file_names, r)
        {
            has_children = true;
            error = error.max(e);
        }
    }
    if sphere.1 < 0.0 {
        sphere = file
            .root
            .vertex_bounds()
            .map_or((DVec3::ZERO, 0.0), |(lo, hi)| ((lo + hi) * 0.5, (hi - lo).length() * 0.5));
    }
    OsgbTile { path: path.to_path_buf(), center: sphere.0, radius: sphere.1, geometric_error: error, has_children }
}

/// Reads and measures one file through `fetcher`.
fn read_tile(
    fetcher: &Fetcher,
    path: &Path,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<(OsgbTile, OsgbFile), TilesError> {
    let bytes = fetcher.read(path, cancel)?;
    let file = urbis_formats::osgb::read_osgb(&bytes, &path.display().to_string())?;
    Ok((osgb_tile(path, &file), file))
}

/// The top tile of each `Data/Tile_*/` folder (the `.osgb` named after its
/// folder) of a dataset folder, or the file itself.
pub fn osgb_top_files(dataset: &Path) -> Result<Vec<PathBuf>, TilesError> {
    if !dataset.is_dir() {
        return Ok(vec![dataset.to_path_buf()]);
    }
    let data = dataset.join("Data");
    let rd = std::fs::read_dir(&data).map_err(|source| FormatError::Io { path: data.display().to_string(), source })?;
    let mut tops: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|d| {
            let top = d.join(format!("{}.osgb", d.file_name()?.to_string_lossy()));
            top.is_file().then_some(top)
        })
        .collect();
    tops.sort();
    Ok(tops)
}

/// Children of one expanded file, measured on a loader thread.
pub(crate) fn fetch_children(
    fetcher: &Fetcher,
    loc: &Path,
    bytes: &[u8],
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Vec<OsgbTile>, TilesError> {
    let file = urbis_formats::osgb::read_osgb(bytes, &loc.display().to_string())?;
    let dir = loc.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    let standing_in = |e: &dyn std::fmt::Display| TilesError::Invalid {
        path: loc.display().to_string(),
        msg: format!("drawn in place of its children: {e}"),
    };
    for p in file.root.child_paths(dir) {
        let p = p.map_err(|e| standing_in(&e))?;
        out.push(read_tile(fetcher, &p, cancel).map_err(|e| standing_in(&e))?.0);
    }
    Ok(out)
}

impl TileTree {
    /// Opens an OSGB dataset (a folder with `Data/Tile_*/Tile_*.osgb`, or a
    /// single top `.osgb`) as a lazy tree: the top files are read now (in
    /// parallel) to place them, their pyramids when selection reaches them.
    /// `to_ecef` maps dataset coordinates (`SRSOrigin` added) to ECEF.
    pub fn open_osgb(
        dataset: &Path,
        meta: Option<&OsgbMetadata>,
        to_ecef: DMat4,
        limits: TreeLimits,
    ) -> Result<TileTree, TilesError> {
        let fetcher = crate::fetch::default_fetcher();
        let tops = osgb_top_files(dataset)?;
        if tops.is_empty() {
            return Err(TilesError::Invalid { path: dataset.display().to_string(), msg: "no top tiles".into() });
        }
        let tiles: Vec<OsgbTile> =
            tops.par_iter().map(|p| read_tile(&fetcher, p, None).map(|(t, _)| t)).collect::<Result<_, _>>()?;
        let (path, root_dir) = if dataset.is_dir() {
            (dataset.join("metadata.xml"), dataset.to_path_buf())
        } else {
            (dataset.to_path_buf(), dataset.parent().map(Path::to_path_buf).unwrap_or_default())
        };
        Ok(Self::from_osgb_tops(path, root_dir, tiles, meta, to_ecef, limits, fetcher))
    }

    /// A lazy tree over top tiles already measured ([`osgb_tile`]).
    pub fn from_osgb_tops(
        path: PathBuf,
        root_dir: PathBuf,
        tops: Vec<OsgbTile>,
        meta: Option<&OsgbMetadata>,
        to_ecef: DMat4,
        limits: TreeLimits,
        fetcher: Arc<Fetcher>,
    ) -> TileTree {
        let transform = to_ecef * DMat4::from_translation(meta.map_or(DVec3::ZERO, |m| m.srs_origin));
        let mut tree = TileTree::bare(path, root_dir, "osgb", fetcher, limits, None);
        let scale = max_scale(&transform);
        let spheres: Vec<(DVec3, f64)> =
            tops.iter().map(|t| (transform.transform_point3(t.center), t.radius * scale)).collect();
        let (center, radius) = spheres.iter().fold((DVec3::ZERO, -1.0), |a, s| union_spheres(a, *s));
        let max_child = tops.iter().map(|t| t.geometric_error * scale).fold(0.0, f64::max);
        tree.nodes.push(TileNode {
            id: TileId(0),
            parent: None,
            children: Vec::new(),
            transform,
            volume: Volume::Sphere { center, radius: radius.max(0.0) },
            viewer_request_volume: None,
            geometric_error: (2.0 * radius.max(0.0) * SSE).max(max_child),
            refine: Refine::Replace,
            contents: Vec::new(),
            metadata: None,
            implicit: None,
            depth: 0,
            pending: None,
        });
        for t in tops.iter().take(limits.max_tiles.saturating_sub(1)) {
            tree.add_osgb_tile(TileId(0), t);
        }
        tree
    }

    /// Adds one file as a child of `parent` (same transform, REPLACE).
    fn add_osgb_tile(&mut self, parent: TileId, t: &OsgbTile) -> TileId {
        let p = &self.nodes[parent.0 as usize];
        let (transform, depth) = (p.transform, p.depth + 1);
        let scale = max_scale(&transform);
        let id = TileId(self.nodes.len() as u32);
        let uri = t.path.strip_prefix(&self.root_dir).unwrap_or(&t.path).to_string_lossy().into_owned();
        self.nodes.push(TileNode {
            id,
            parent: Some(parent),
            children: Vec::new(),
            transform,
            volume: Volume::Sphere { center: transform.transform_point3(t.center), radius: t.radius * scale },
            viewer_request_volume: None,
            geometric_error: t.geometric_error * scale,
            refine: Refine::Replace,
            contents: vec![ContentRef { uri, path: t.path.clone(), volume: None, group: None, metadata: None }],
            metadata: None,
            implicit: None,
            depth,
            pending: t.has_children.then(|| Pending::Osgb { path: t.path.clone() }),
        });
        self.nodes[parent.0 as usize].children.push(id);
        id
    }

    /// Grafts the measured children of an expanded file below `id`, unless
    /// one of them is the file itself or one of its ancestors (a cycle), the
    /// pyramid is too deep, or the tree is full: then nothing is grafted.
    pub(crate) fn graft_osgb(&mut self, id: TileId, children: &[OsgbTile]) -> Result<(), TilesError> {
        let node = &self.nodes[id.0 as usize];
        let refuse = |msg: String| Err(TilesError::Invalid { path: node.contents[0].path.display().to_string(), msg });
        if node.contents.is_empty() {
            return Ok(());
        }
        if node.depth >= MAX_OSGB_DEPTH {
            return refuse(format!("PagedLOD pyramid deeper than {MAX_OSGB_DEPTH}"));
        }
        if self.nodes.len() + children.len() > self.limits.max_tiles {
            return Err(TilesError::TooManyTiles {
                path: self.path.display().to_string(),
                limit: self.limits.max_tiles,
            });
        }
        let key = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let mut ancestors = Vec::new();
        let mut at = Some(id);
        while let Some(a) = at {
            let n = &self.nodes[a.0 as usize];
            ancestors.extend(n.contents.iter().map(|c| key(&c.path)));
            at = n.parent;
        }
        for c in children {
            if ancestors.contains(&key(&c.path)) {
                return refuse(format!("child {} is already in the pyramid (a cycle)", c.path.display()));
            }
        }
        for c in children {
            self.add_osgb_tile(id, c);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(path: &str, error: f64, children: bool) -> OsgbTile {
        OsgbTile {
            path: PathBuf::from(path),
            center: DVec3::new(1.0, 2.0, 3.0),
            radius: 10.0,
            geometric_error: error,
            has_children: children,
        }
    }

    #[test]
    fn pixel_ranges_refine_where_the_sphere_covers_the_switch_size() {
        // One inline child [0, 100) px, one paged child from 100 px.
        let names = vec![String::new(), "child.osgb".to_string()];
        let ranges = [[0.0, 100.0], [100.0, 1e30]];
        let e = paged_lod_error(RangeMode::PixelSizeOnScreen, &ranges, &names, 25.0).expect("paged");
        let view = crate::View {
            position: DVec3::ZERO,
            direction: DVec3::X,
            up: DVec3::Z,
            fov_y: 45f64.to_radians(),
            aspect: 1.0,
            viewport_height: 900.0,
            max_sse: 16.0,
            cull: false,
        };
        // Independent reference: the distance at which a 50 m diameter covers 100 px.
        let d = 50.0 * 900.0 / (2.0 * 100.0 * (22.5f64.to_radians()).tan());
        assert!(view.sse(e, d * 0.99) > 16.0 && view.sse(e, d * 1.01) < 16.0);
        // Distance ranges: SSE 16 at the switch distance for a 60° / 720 px camera.
        let e = paged_lod_error(RangeMode::DistanceFromEyePoint, &[[0.0, 1e30], [0.0, 300.0]], &names, 25.0).unwrap();
        let reference = crate::View { fov_y: 60f64.to_radians(), viewport_height: 720.0, ..view };
        assert!((reference.sse(e, 300.0) - 16.0).abs() < 1e-9);
        // No paged child: no error.
        assert_eq!(paged_lod_error(RangeMode::PixelSizeOnScreen, &ranges, &[String::new(), String::new()], 5.0), None);
    }

    #[test]
    fn cycles_and_depth_are_refused_and_leave_the_parent_a_leaf() {
        let origin = OsgbMetadata {
            srs: urbis_formats::osgb::Srs::Enu { latitude: 0.0, longitude: 0.0 },
            srs_origin: DVec3::new(100.0, 0.0, 0.0),
            color_source: None,
        };
        let mut tree = TileTree::from_osgb_tops(
            PathBuf::from("/d/metadata.xml"),
            PathBuf::from("/d"),
            vec![tile("/d/Data/T/T.osgb", 5.0, true)],
            Some(&origin),
            DMat4::from_scale(DVec3::splat(2.0)),
            TreeLimits::lazy(),
            crate::fetch::default_fetcher(),
        );
        assert_eq!(tree.len(), 2);
        let top = tree.get(TileId(1));
        assert_eq!(top.pending, Some(Pending::Osgb { path: PathBuf::from("/d/Data/T/T.osgb") }));
        assert_eq!(top.contents[0].uri, "Data/T/T.osgb");
        // transform = to_ecef × translation(SRSOrigin): (1,2,3) + (100,0,0), doubled; errors scale too.
        assert_eq!(top.volume, Volume::Sphere { center: DVec3::new(202.0, 4.0, 6.0), radius: 20.0 });
        assert_eq!(top.geometric_error, 10.0);
        assert!(tree.get(tree.root()).geometric_error >= 10.0);
        // Expanding to a child that pages back to the top is a cycle.
        let n = tree
            .apply_expansion(TileId(1), Ok(crate::tree::Expansion::Osgb(vec![tile("/d/Data/T/L1.osgb", 2.0, true)])));
        assert_eq!(n, 1);
        assert_eq!(tree.get(TileId(2)).parent, Some(TileId(1)));
        let n = tree
            .apply_expansion(TileId(2), Ok(crate::tree::Expansion::Osgb(vec![tile("/d/Data/T/T.osgb", 1.0, false)])));
        assert_eq!(n, 0);
        assert!(tree.errors.last().is_some_and(|e| e.contains("cycle")), "{:?}", tree.errors);
        assert_eq!(tree.get(TileId(2)).pending, None);
        assert!(tree.get(TileId(2)).children.is_empty());
        // Too deep: refused the same way.
        tree.nodes[1].depth = MAX_OSGB_DEPTH;
        tree.nodes[1].pending = Some(Pending::Osgb { path: PathBuf::from("/d/Data/T/T.osgb") });
        let n = tree
            .apply_expansion(TileId(1), Ok(crate::tree::Expansion::Osgb(vec![tile("/d/Data/T/L9.osgb", 1.0, false)])));
        assert_eq!(n, 0);
        assert!(tree.errors.last().is_some_and(|e| e.contains("deeper")), "{:?}", tree.errors);
    }
}
