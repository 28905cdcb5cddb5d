//! The tile tree: a loose quadtree over the plan. A feature lives in the
//! smallest cell that is at least as wide as the feature and holds its
//! centre, so big features (terrain, a photo mesh's ground) sit high and
//! buildings low. Refinement adds (ADD): a tile's content is drawn with its
//! ancestors'. A tile's geometric error is the diagonal of the largest
//! feature below it, the error of drawing it without its children; leaves
//! have none. Cells are split only while they hold more than the options
//! allow, so sparse areas stay shallow.

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
    /// Box of everything in the subtree (ENU), and its centre.
    pub min: DVec3,
    pub max: DVec3,
    pub centre: DVec3,
    pub error: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// The root first.
    pub nodes: Vec<Node>,
}

pub(crate) fn build(features: &[Feature], opts: &ExportOptions) -> Tree {
    let (lo, hi) = features.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), f| {
        (lo.min(f.min.truncate()), hi.max(f.max.truncate()))
    });
    let side = (hi - lo).max_element().max(1.0);
    let mut tree = Tree { nodes: Vec::new() };
    let all: Vec<usize> = (0..features.len()).collect();
    split(&mut tree, features, opts, all, lo, side, 0, None, "0".into());
    tree
}

#[allow(clippy::too_many_arguments)]
fn split(
    tree: &mut Tree,
    features: &[Feature],
    opts: &ExportOptions,
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
    // Features wider than a child cell stay here; the rest go to the child under their centre.
    let half = side / 2.0;
    let mut stay = Vec::new();
    let mut quads: [Vec<usize>; 4] = Default::default();
    for i in members {
        let f = &features[i];
        let extent = (f.max - f.min).truncate().max_element();
        if extent > half {
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
        let child = split(tree, features, opts, list, child_min, half, depth + 1, Some(index), format!("{name}_{q}"));
        error = error.max(tree.nodes[child].error);
        tree.nodes[index].children.push(child);
    }
    let node = &mut tree.nodes[index];
    node.features = stay;
    node.error = error;
    index
}
