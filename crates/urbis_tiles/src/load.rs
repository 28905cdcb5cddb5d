//! Loading the content of selected tiles, in parallel; failures are
//! reported with their URI and the selection falls back to parents.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use urbis_formats::tiles3d::TileContent;

use crate::select::{View, select};
use crate::tree::{TileId, TileTree};

/// The content of a tile, read.
#[derive(Debug, Clone)]
pub struct LoadedTile {
    pub tile: TileId,
    pub content_index: usize,
    pub uri: String,
    pub content: TileContent,
}

/// A tile content that could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct TileFailure {
    pub tile: TileId,
    pub uri: String,
    pub error: String,
}

/// Selects tiles for `view`, loads their contents (rayon across tiles) and,
/// when some fail, selects again so that the parents of failed REPLACE
/// tiles are shown instead (bounded rounds).
pub fn load_selection(tree: &TileTree, view: &View) -> (Vec<LoadedTile>, Vec<TileFailure>) {
    let mut failed: HashSet<TileId> = HashSet::new();
    let mut failures = Vec::new();
    let mut loaded: HashMap<(TileId, usize), LoadedTile> = HashMap::new();
    for _round in 0..16 {
        let sel = select(tree, view, &failed);
        let todo: Vec<(TileId, usize)> = sel
            .tiles
            .iter()
            .flat_map(|&t| (0..tree.get(t).contents.len()).map(move |i| (t, i)))
            .filter(|k| !loaded.contains_key(k))
            .collect();
        let results: Vec<_> = todo
            .par_iter()
            .map(|&(t, i)| {
                let c = &tree.get(t).contents[i];
                (
                    t,
                    i,
                    c.uri.clone(),
                    crate::fetch::read_tree_content(&tree.fetcher, tree.generator.as_ref(), &c.path, None)
                        .map(|(c, _)| c),
                )
            })
            .collect();
        let mut new_failure = false;
        for (t, i, uri, r) in results {
            match r {
                Ok(content) => {
                    loaded.insert((t, i), LoadedTile { tile: t, content_index: i, uri, content });
                }
                Err(e) => {
                    tracing::warn!("tile content {uri}: {e}");
                    failures.push(TileFailure { tile: t, uri, error: e.to_string() });
                    failed.insert(t);
                    new_failure = true;
                }
            }
        }
        if !new_failure {
            let keep: HashSet<TileId> = sel.tiles.iter().copied().collect();
            let mut out: Vec<LoadedTile> = loaded.into_values().filter(|l| keep.contains(&l.tile)).collect();
            out.sort_by_key(|l| (l.tile, l.content_index));
            return (out, failures);
        }
    }
    let mut out: Vec<LoadedTile> = loaded.into_values().collect();
    out.sort_by_key(|l| (l.tile, l.content_index));
    (out, failures)
}
