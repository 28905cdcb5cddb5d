//! Implicit tiling: quadtree and octree tiles expanded from subtree
//! availability (bitstreams or constants), with content URIs from templates.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use urbis_formats::tiles3d::subtree;
use urbis_formats::tiles3d::tileset::ImplicitTiling;

use crate::TilesError;
use crate::tree::{ContentRef, ImplicitCoord, TileId, TileNode, TileTree};

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

pub(crate) fn expand(
    tree: &mut TileTree,
    root: TileId,
    imp: &ImplicitTiling,
    content_template: Option<&str>,
    dir: &Path,
    root_dir: &Path,
    max_tiles: usize,
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
    let b: u64 = if octree { 8 } else { 4 };
    let levels = imp.subtree_levels.clamp(1, 16);
    if imp.subtree_levels == 0 || imp.subtree_levels > 16 {
        return Err(TilesError::Invalid {
            path: tree.path.display().to_string(),
            msg: format!("subtreeLevels {} outside 1..16", imp.subtree_levels),
        });
    }
    let available = imp.available_levels.min(30);
    let bits_needed = ((b.pow(levels) - 1) / (b - 1)) as usize;
    let children_needed = b.pow(levels) as usize;
    let base = tree.nodes[root.0 as usize].clone();
    tree.nodes[root.0 as usize].implicit = Some(ImplicitCoord { level: 0, x: 0, y: 0, z: 0 });
    let fetcher = tree.fetcher.clone();
    let resources = crate::fetch::FetchResources { fetcher: &fetcher, dir: dir.to_path_buf(), cancel: None };
    let mut ids: HashMap<(u32, u64, u64, u64), TileId> = HashMap::from([((0, 0, 0, 0), root)]);
    let mut queue = VecDeque::from([ImplicitCoord { level: 0, x: 0, y: 0, z: 0 }]);
    while let Some(sub) = queue.pop_front() {
        let uri = fill_template(&imp.subtrees.uri, sub);
        let parsed = urbis_formats::resolve_relative(dir, &uri)
            .map_err(TilesError::from)
            .and_then(|p| {
                if p.starts_with(root_dir) {
                    Ok(p)
                } else {
                    Err(TilesError::Invalid { path: uri.clone(), msg: "subtree leaves the tileset root".into() })
                }
            })
            .and_then(|p| fetcher.read(&p, None).map_err(TilesError::from).map(|bytes| (p, bytes)))
            .and_then(|(p, bytes)| {
                subtree::parse(&bytes, &resources, bits_needed, children_needed)
                    .map_err(|e| TilesError::Format(e.in_file(&p.display().to_string())))
            });
        let st = match parsed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}");
                tree.errors.push(e.to_string());
                continue;
            }
        };
        for l in 0..levels {
            let global = sub.level + l;
            if global >= available {
                break;
            }
            let level_start = ((b.pow(l) - 1) / (b - 1)) as usize;
            for m in 0..b.pow(l) {
                if !st.tile.get(level_start + m as usize) {
                    continue;
                }
                let (dx, dy, dz) = morton_decode(m, octree);
                let c =
                    ImplicitCoord { level: global, x: (sub.x << l) | dx, y: (sub.y << l) | dy, z: (sub.z << l) | dz };
                let id = if global == 0 {
                    root
                } else {
                    let Some(&parent) = ids.get(&(global - 1, c.x >> 1, c.y >> 1, c.z >> 1)) else { continue };
                    if tree.nodes.len() >= max_tiles {
                        return Err(TilesError::TooManyTiles {
                            path: tree.path.display().to_string(),
                            limit: max_tiles,
                        });
                    }
                    let id = TileId(tree.nodes.len() as u32);
                    tree.nodes.push(TileNode {
                        id,
                        parent: Some(parent),
                        children: Vec::new(),
                        transform: base.transform,
                        volume: base.volume.subdivide(global, c.x, c.y, c.z, octree),
                        viewer_request_volume: None,
                        geometric_error: base.geometric_error / (1u64 << global.min(62)) as f64,
                        refine: base.refine,
                        contents: Vec::new(),
                        metadata: None,
                        implicit: Some(c),
                        depth: base.depth + global,
                    });
                    tree.nodes[parent.0 as usize].children.push(id);
                    ids.insert((global, c.x, c.y, c.z), id);
                    id
                };
                if let Some(t) = content_template
                    && st.content.first().is_some_and(|a| a.get(level_start + m as usize))
                {
                    let uri = fill_template(t, c);
                    match urbis_formats::resolve_relative(dir, &uri) {
                        Ok(path) if path.starts_with(root_dir) => tree.nodes[id.0 as usize].contents.push(ContentRef {
                            uri,
                            path,
                            volume: None,
                            group: None,
                            metadata: None,
                        }),
                        Ok(_) | Err(_) => {
                            tree.errors.push(format!("content `{uri}` refused (leaves the tileset root)"))
                        }
                    }
                }
            }
        }
        for m in 0..b.pow(levels) {
            if st.child_subtree.get(m as usize) {
                let (dx, dy, dz) = morton_decode(m, octree);
                let c = ImplicitCoord {
                    level: sub.level + levels,
                    x: (sub.x << levels) | dx,
                    y: (sub.y << levels) | dy,
                    z: (sub.z << levels) | dz,
                };
                if c.level < available {
                    queue.push_back(c);
                }
            }
        }
    }
    Ok(())
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
