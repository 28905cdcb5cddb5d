//! The tile tree: a loose quadtree over the plan. A feature lives in the
//! smallest cell that is at least as wide as the feature and holds its
//! centre, so big features (terrain, a photo mesh's ground) sit high and
//! buildings low. Refinement adds (ADD): a tile's content is drawn with its
//! ancestors'. A tile's geometric error is the diagonal of the largest
//! feature below it, the error of drawing it without its children; leaves
//! have none. Cells are split only while they hold more than the options
//! allow, so sparse areas stay shallow.
//!
//! With coarse levels (`replace`), every feature goes down to a leaf (by
//! its centre; a leaf's box grows to hold it) and inner tiles keep the list
//! of their subtree's features, which `lod` simplifies into their content.

use glam::{DVec2, DVec3};

use crate::{ExportOptions, Feature};

/// Deepest level a split reaches.
const MAX_DEPTH: usize = 20;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    pub depth: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Indices of the features this tile holds.
    pub features: Vec<usize>,
    /// REPLACE trees: every feature below an inner tile (for its coarse content).
    pub subtree: Vec<usize>,
    /// Side of the tile's cell, metres.
    pub side: f64,
    /// The deepest leaf below (itself for a leaf).
    pub leaf_depth: usize,
    /// Box of everything in the subtree (ENU), and its centre.
    pub min: DVec3,
    pub max: DVec3,
    pub centre: DVec3,
    pub error: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// The root first; parents before their children.
    pub nodes: Vec<Node>,
    /// REPLACE refinement with coarse inner tiles.
    pub replace: bool,
}

pub(crate) fn build(features: &[Feature], opts: &ExportOptions, replace: bool) -> Tree {
    let (lo, hi) = features.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), f| {
        (lo.min(f.min.truncate()), hi.max(f.max.truncate()))
    });
    let side = (hi - lo).max_element().max(1.0);
    let mut tree = Tree { nodes: Vec::new(), replace };
    let all: Vec<usize> = (0..features.len()).collect();
    split(&mut tree, features, opts, replace, all, lo, side, 0, None, "0".into());
    tree
}

#[allow(clippy::too_many_arguments)]
fn split(
    tree: &mut Tree,
    features: &[Feature],
    opts: &ExportOptions,
    replace: bool,
    members: Vec<usize>,
    cell_min: DVec2,
    side: f64,
    depth: usize,
    parent: Option<usize>,
    name: String,
) -> usize {
    let index = tree.nodes.len();
    let (min, max) = members.iter().fold((DVec3::INFINITY, DVec3::NEG_INFINITY), |(lo, hi), &i| {
        (lo.min(features[i].min), hi.max(features[i].max))
    });
    tree.nodes.push(Node {
        name: name.clone(),
        depth,
        parent,
        children: Vec::new(),
        features: Vec::new(),
        subtree: Vec::new(),
        side,
        leaf_depth: depth,
        min,
        max,
        centre: (min + max) / 2.0,
        error: 0.0,
    });
    let triangles: usize = members.iter().map(|&i| features[i].positions.len() / 3).sum();
    let small = members.len() <= opts.max_features && triangles <= opts.max_triangles;
    if small || depth >= MAX_DEPTH {
        tree.nodes[index].features = members;
        return index;
    }
    // Features wider than a child cell stay here (REPLACE: in a leaf of
    // their own beside the four quadrants); the rest go to the child under their centre.
    let half = side / 2.0;
    let mut stay = Vec::new();
    let wide = |i: usize| (features[i].max - features[i].min).truncate().max_element() > half;
    if replace {
        if members.iter().all(|&i| wide(i)) {
            tree.nodes[index].features = members;
            return index;
        }
        tree.nodes[index].subtree = members.clone();
    }
    let mut quads: [Vec<usize>; 4] = Default::default();
    for i in members {
        let f = &features[i];
        if wide(i) {
            stay.push(i);
            continue;
        }
        let c = (f.min + f.max).truncate() / 2.0 - cell_min;
        let q = usize::from(c.x >= half) + 2 * usize::from(c.y >= half);
        quads[q].push(i);
    }
    let mut error: f64 = 0.0;
    for (q, list) in quads.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        error = list.iter().map(|&i| features[i].diagonal).fold(error, f64::max);
        let child_min = cell_min + DVec2::new(if q & 1 == 1 { half } else { 0.0 }, if q & 2 == 2 { half } else { 0.0 });
        let child =
            split(tree, features, opts, replace, list, child_min, half, depth + 1, Some(index), format!("{name}_{q}"));
        error = error.max(tree.nodes[child].error);
        tree.nodes[index].leaf_depth = tree.nodes[index].leaf_depth.max(tree.nodes[child].leaf_depth);
        tree.nodes[index].children.push(child);
    }
    if replace && !stay.is_empty() {
        let (min, max) = stay.iter().fold((DVec3::INFINITY, DVec3::NEG_INFINITY), |(lo, hi), &i| {
            (lo.min(features[i].min), hi.max(features[i].max))
        });
        let leaf = tree.nodes.len();
        tree.nodes.push(Node {
            name: format!("{name}_w"),
            depth: depth + 1,
            parent: Some(index),
            children: Vec::new(),
            features: std::mem::take(&mut stay),
            subtree: Vec::new(),
            side: half,
            leaf_depth: depth + 1,
            min,
            max,
            centre: (min + max) / 2.0,
            error: 0.0,
        });
        tree.nodes[index].children.push(leaf);
        tree.nodes[index].leaf_depth = tree.nodes[index].leaf_depth.max(depth + 1);
    }
    let node = &mut tree.nodes[index];
    node.features = stay;
    node.error = error;
    index
}
