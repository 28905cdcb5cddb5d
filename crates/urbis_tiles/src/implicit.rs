//! Implicit tiling: quadtree and octree tiles expanded from subtree
//! availability (bitstreams or constants), with content URIs from templates.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use urbis_formats::tiles3d::subtree;
use urbis_formats::tiles3d::tileset::ImplicitTiling;

use crate::TilesError;
use crate::fetch::Fetcher;
use crate::tree::{ContentRef, ImplicitCoord, Pending, TileId, TileNode, TileTree};

/// Substitutes `{level}`, `{x}`, `{y}`, `{z}` in a URI template.
pub fn fill_template(t: &str, c: ImplicitCoord) -> String {
    t.replace("{level}", &c.level.to_string())
        .replace("{x}", &c.x.to_string())
        .replace("{y}", &c.y.to_string())
        .replace("{z}", &c.z.to_string())
}

/// Decodes a Morton index into (x, y, z) (z = 0 for quadtrees).
pub fn morton_decode(m: u64, octree: bool) -> (u64, u64, u64) {
    let dims = if octree { 3 } else { 2 };
    let (mut x, mut y, mut z) = (0, 0, 0);
    for bit in 0..(64 / dims) {
        x |= ((m >> (bit * dims)) & 1) << bit;
        y |= ((m >> (bit * dims + 1)) & 1) << bit;
        if octree {
            z |= ((m >> (bit * dims + 2)) & 1) << bit;
        }
    }
    (x, y, z)
}

/// What every subtree of one implicit root shares.
#[derive(Debug, Clone)]
pub struct ImplicitSpec {
    pub octree: bool,
    pub subtree_levels: u32,
    pub available_levels: u32,
    pub subtrees_uri: String,
    pub content_template: Option<String>,
    /// Directory templates resolve against.
    pub dir: PathBuf,
    /// The implicit root (transform, volume, error, refinement, depth).
    pub root: TileId,
    pub(crate) base_transform: glam::DMat4,
    pub(crate) base_volume: crate::volume::Volume,
    base_error: f64,
    base_refine: crate::tree::Refine,
    base_depth: u32,
}

impl ImplicitSpec {
    fn branching(&self) -> u64 {
        if self.octree { 8 } else { 4 }
    }

    fn bits_needed(&self) -> usize {
        let b = self.branching();
        ((b.pow(self.subtree_levels) - 1) / (b - 1)) as usize
    }

    fn children_needed(&self) -> usize {
        self.branching().pow(self.subtree_levels) as usize
    }

    /// The subtree file of the subtree rooted at `c`, inside the tileset root.
    pub fn subtree_location(&self, c: ImplicitCoord, root_dir: &Path) -> Result<PathBuf, TilesError> {
        let uri = fill_template(&self.subtrees_uri, c);
        let p = urbis_formats::resolve_relative(&self.dir, &uri)?;
        if p.starts_with(root_dir) {
            Ok(p)
        } else {
            Err(TilesError::Invalid { path: uri, msg: "subtree leaves the tileset root".into() })
        }
    }

    /// Parses a subtree file's bytes (on any thread).
    pub fn parse(&self, fetcher: &Fetcher, loc: &Path, bytes: &[u8]) -> Result<subtree::Subtree, TilesError> {
        let resources = crate::fetch::FetchResources {
            fetcher,
            dir: loc.parent().map(Path::to_path_buf).unwrap_or_default(),
            cancel: None,
        };
        subtree::parse(bytes, &resources, self.bits_needed(), self.children_needed())
            .map_err(|e| TilesError::Format(e.in_file(&loc.display().to_string())))
    }
}

/// Registers an implicit root and expands it: every subtree at once
/// (eager), or only marks the root as waiting for its subtree (lazy; the
/// streamer fetches subtrees as selection reaches them).
pub(crate) fn expand(
    tree: &mut TileTree,
    root: TileId,
    imp: &ImplicitTiling,
    content_template: Option<&str>,
    dir: &Path,
    max_tiles: usize,
    lazy: bool,
) -> Result<(), TilesError> {
    let octree = match imp.subdivision_scheme.as_str() {
        "QUADTREE" => false,
        "OCTREE" => true,
        s => {
            return Err(TilesError::Invalid {
                path: tree.path.display().to_string(),
                msg: format!("subdivisionScheme `{s}`"),
            });
        }
    };
    if imp.subtree_levels == 0 || imp.subtree_levels > 16 {
        return Err(TilesError::Invalid {
            path: tree.path.display().to_string(),
            msg: format!("subtreeLevels {} outside 1..16", imp.subtree_levels),
        });
    }
    let base = tree.nodes[root.0 as usize].clone();
    let spec = ImplicitSpec {
        octree,
        subtree_levels: imp.subtree_levels,
        available_levels: imp.available_levels.min(30),
        subtrees_uri: imp.subtrees.uri.clone(),
        content_template: content_template.map(str::to_string),
        dir: dir.to_path_buf(),
        root,
        base_transform: base.transform,
        base_volume: base.volume,
        base_error: base.geometric_error,
        base_refine: base.refine,
        base_depth: base.depth,
    };
    tree.implicit_specs.push(spec);
    let spec = tree.implicit_specs.len() - 1;
    let origin = ImplicitCoord { level: 0, x: 0, y: 0, z: 0 };
    tree.nodes[root.0 as usize].implicit = Some(origin);
    tree.nodes[root.0 as usize].pending = Some(Pending::Subtree { spec, coord: origin });
    if lazy {
        return Ok(());
    }
    let fetcher = tree.fetcher.clone();
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        let Some(Pending::Subtree { spec, coord }) = tree.nodes[id.0 as usize].pending.clone() else { continue };
        let parsed = tree.implicit_specs[spec]
            .subtree_location(coord, &tree.root_dir)
            .and_then(|p| fetcher.read(&p, None).map_err(TilesError::from).map(|bytes| (p, bytes)))
            .and_then(|(p, bytes)| tree.implicit_specs[spec].parse(&fetcher, &p, &bytes));
        match parsed {
            Ok(st) => queue.extend(apply_subtree(tree, id, &st, max_tiles)?),
            Err(e) => {
                tracing::warn!("{e}");
                tree.errors.push(e.to_string());
                tree.nodes[id.0 as usize].pending = None;
            }
        }
    }
    Ok(())
}

/// Expands the subtree rooted at placeholder `sub_root` from its parsed
/// availability: its tiles and contents, and a placeholder for the root of
/// every available child subtree. Returns the new placeholders.
pub(crate) fn apply_subtree(
    tree: &mut TileTree,
    sub_root: TileId,
    st: &subtree::Subtree,
    max_tiles: usize,
) -> Result<Vec<TileId>, TilesError> {
    let Some(Pending::Subtree { spec, coord: sub }) = tree.nodes[sub_root.0 as usize].pending.take() else {
        return Ok(Vec::new());
    };
    let sp = tree.implicit_specs[spec].clone();
    let b = sp.branching();
    let levels = sp.subtree_levels;
    let mut ids: HashMap<(u32, u64, u64, u64), TileId> = HashMap::new();
    let mut placeholders = Vec::new();
    let new_node = |tree: &mut TileTree, parent: TileId, c: ImplicitCoord| -> Result<TileId, TilesError> {
        if tree.nodes.len() >= max_tiles {
            return Err(TilesError::TooManyTiles { path: tree.path.display().to_string(), limit: max_tiles });
        }
        let id = TileId(tree.nodes.len() as u32);
        tree.nodes.push(TileNode {
            id,
            parent: Some(parent),
            children: Vec::new(),
            transform: sp.base_transform,
            volume: sp.base_volume.subdivide(c.level, c.x, c.y, c.z, sp.octree),
            viewer_request_volume: None,
            geometric_error: sp.base_error / (1u64 << c.level.min(62)) as f64,
            refine: sp.base_refine,
            contents: Vec::new(),
            metadata: None,
            implicit: Some(c),
            depth: sp.base_depth + c.level,
            pending: None,
        });
        tree.nodes[parent.0 as usize].children.push(id);
        Ok(id)
    };
    for l in 0..levels {
        let global = sub.level + l;
        if global >= sp.available_levels {
            break;
        }
        let level_start = ((b.pow(l) - 1) / (b - 1)) as usize;
        for m in 0..b.pow(l) {
            if !st.tile.get(level_start + m as usize) {
                continue;
            }
            let (dx, dy, dz) = morton_decode(m, sp.octree);
            let c = ImplicitCoord { level: global, x: (sub.x << l) | dx, y: (sub.y << l) | dy, z: (sub.z << l) | dz };
            let id = if l == 0 {
                sub_root
            } else {
                let Some(&parent) = ids.get(&(global - 1, c.x >> 1, c.y >> 1, c.z >> 1)) else { continue };
                new_node(tree, parent, c)?
            };
            ids.insert((global, c.x, c.y, c.z), id);
            if let Some(t) = &sp.content_template
                && st.content.first().is_some_and(|a| a.get(level_start + m as usize))
            {
                let uri = fill_template(t, c);
                match urbis_formats::resolve_relative(&sp.dir, &uri) {
                    Ok(path) if path.starts_with(&tree.root_dir) => tree.nodes[id.0 as usize]
                        .contents
                        .push(ContentRef { uri, path, volume: None, group: None, metadata: None }),
                    Ok(_) | Err(_) => tree.errors.push(format!("content `{uri}` refused (leaves the tileset root)")),
                }
            }
        }
    }
    for m in 0..b.pow(levels) {
        if !st.child_subtree.get(m as usize) {
            continue;
        }
        let (dx, dy, dz) = morton_decode(m, sp.octree);
        let c = ImplicitCoord {
            level: sub.level + levels,
            x: (sub.x << levels) | dx,
            y: (sub.y << levels) | dy,
            z: (sub.z << levels) | dz,
        };
        if c.level >= sp.available_levels {
            continue;
        }
        let Some(&parent) = ids.get(&(c.level - 1, c.x >> 1, c.y >> 1, c.z >> 1)) else { continue };
        let id = new_node(tree, parent, c)?;
        tree.nodes[id.0 as usize].pending = Some(Pending::Subtree { spec, coord: c });
        placeholders.push(id);
    }
    Ok(placeholders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_and_templates() {
        assert_eq!(morton_decode(0b1011, false), (0b01, 0b11, 0));
        assert_eq!(morton_decode(0b111_001, true), (0b11, 0b10, 0b10));
        let c = ImplicitCoord { level: 3, x: 5, y: 6, z: 0 };
        assert_eq!(fill_template("content/content_{level}__{x}_{y}.glb", c), "content/content_3__5_6.glb");
    }
}
