//! # urbis_export: the city model out to 3D Tiles 1.1
//!
//! Any scene Urbis loads (the sample city, CityJSON, IFC, OSGB photo
//! meshes, a monomerized mesh, another tileset) is written as a tileset
//! that Urbis, CesiumJS and other 3D Tiles 1.1 clients stream, with every
//! entity kept as a feature:
//!
//! ```text
//! CityModel ──gather──► Feature (ENU f64 triangles, uvs, colours, texture, class, attributes)
//!           ──tree────► loose quadtree over the plan; by default features go to
//!                       the leaves and inner tiles hold their subtree simplified
//!                       (meshoptimizer, REPLACE; `lod`), else a feature lives in
//!                       the smallest cell its size allows (ADD) and a tile's
//!                       geometric error is the largest feature below it
//!           ──content─► per tile: one glb (a primitive per texture, _FEATURE_ID_0
//!                       per vertex, EXT_mesh_features, an EXT_structural_metadata
//!                       property table: urbis_guid (semantic ID), urbis_class,
//!                       urbis_family, urbis_parent,
//!                       every attribute), built in parallel
//!           ──tileset─► tileset.json: the root placed ENU → ECEF, every tile
//!                       translated to its own centre (f64), so glb vertices are
//!                       small f32 offsets wherever the city is
//! ```
//!
//! The glTF JSON and the tileset come from `urbis_formats::tiles3d::write`.
//! What does not fit is reported, not dropped silently: point clouds and
//! features without geometry (classification volumes) are counted.

mod content;
mod gather;
mod lod;
mod tree;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use urbis_formats::tiles3d::write::{Refine, TileNode, TilesetDoc, WriteError, box_around, write_tileset_json};
use urbis_model::CityModel;

pub use gather::Feature;

/// How a tileset is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportOptions {
    /// Most features in one tile before it is split.
    pub max_features: usize,
    /// Most triangles in one tile before it is split.
    pub max_triangles: usize,
    /// JPEG quality of textures (1–100).
    pub jpeg_quality: u8,
    /// Coarse levels: inner tiles hold their subtree simplified (REPLACE
    /// refinement); without, features sit at the level of their size (ADD).
    pub lod: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { max_features: 400, max_triangles: 40_000, jpeg_quality: 85, lod: true }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ExportReport {
    pub features: usize,
    pub tiles: usize,
    pub triangles: u64,
    pub textures: usize,
    pub bytes: u64,
    /// Deepest tile level (0: the root alone).
    pub depth: usize,
    /// Features left out, each with the reason.
    pub skipped: Vec<String>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("tile {tile}: {source}")]
    Write { tile: String, source: WriteError },
    #[error("nothing to export: the scene has no feature with triangles")]
    Empty,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.to_path_buf(), source }
}

/// Writes `model` as a 3D Tiles 1.1 tileset into `out` (`tileset.json` and
/// `tiles/*.glb`). `progress(done, total)` is called as tiles are written.
pub fn export_3dtiles(
    model: &CityModel,
    out: &Path,
    opts: &ExportOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ExportReport, ExportError> {
    let (features, skipped) = gather::gather(model);
    if features.is_empty() {
        return Err(ExportError::Empty);
    }
    let schema = content::Schema::of(&features);
    let mut tree = tree::build(&features, opts, opts.lod);
    let tiles_dir = out.join("tiles");
    std::fs::create_dir_all(&tiles_dir).map_err(io(&tiles_dir))?;
    let halvings = |n: &tree::Node| if n.subtree.is_empty() { 0 } else { (n.leaf_depth - n.depth) as u32 };
    let most = tree.nodes.iter().map(halvings).max().unwrap_or(0);
    let textures: Vec<_> =
        (0..=most).map(|k| content::encode_textures(model, &features, opts.jpeg_quality, k)).collect();
    let with_content: Vec<usize> = (0..tree.nodes.len())
        .filter(|&i| !tree.nodes[i].features.is_empty() || !tree.nodes[i].subtree.is_empty())
        .collect();
    let total = with_content.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let written: Vec<(usize, u64, f64)> = with_content
        .par_iter()
        .map(|&i| {
            let node = &tree.nodes[i];
            let name = format!("tiles/{}.glb", node.name);
            let textures = &textures[halvings(node) as usize];
            let fail = |source| ExportError::Write { tile: name.clone(), source };
            let (glb, error) = if node.subtree.is_empty() {
                (content::glb(&features, &node.features, node.centre, &schema, textures).map_err(fail)?, node.error)
            } else {
                // A coarse level: the subtree simplified to a 64th of the cell.
                let target = node.side / 64.0;
                let mut error: f64 = 0.0;
                let mut coarse = Vec::new();
                for &k in &node.subtree {
                    match lod::simplified(&features[k], target) {
                        Some((f, e)) => {
                            error = error.max(e);
                            coarse.push(f);
                        }
                        None => error = error.max(features[k].diagonal),
                    }
                }
                let members: Vec<usize> = (0..coarse.len()).collect();
                (content::glb(&coarse, &members, node.centre, &schema, textures).map_err(fail)?, error)
            };
            let path = out.join(&name);
            std::fs::write(&path, &glb).map_err(io(&path))?;
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
            Ok((i, glb.len() as u64, error))
        })
        .collect::<Result<_, ExportError>>()?;
    if opts.lod {
        // A coarse tile's error is what it leaves out, and never below its children's.
        for &(i, _, e) in &written {
            tree.nodes[i].error = e;
        }
        for i in (0..tree.nodes.len()).rev() {
            let below = tree.nodes[i].children.iter().map(|&c| tree.nodes[c].error).fold(0.0, f64::max);
            tree.nodes[i].error = tree.nodes[i].error.max(below);
        }
    }
    let frame = model.frame();
    let doc = TilesetDoc {
        geometric_error: tree.nodes[0].error.max(features.iter().map(|f| f.diagonal).fold(0.0, f64::max)),
        root: tile_node(&tree, 0, frame),
        tileset_version: None,
        metadata: None,
        asset_extras: serde_json::Map::from_iter([("generator".to_string(), serde_json::Value::from("Urbis"))]),
    };
    let json = write_tileset_json(&doc).map_err(|source| ExportError::Write { tile: "tileset.json".into(), source })?;
    let path = out.join("tileset.json");
    std::fs::write(&path, &json).map_err(io(&path))?;
    Ok(ExportReport {
        features: features.len(),
        tiles: tree.nodes.len(),
        triangles: features.iter().map(|f| (f.positions.len() / 3) as u64).sum(),
        textures: textures[0].len(),
        bytes: written.iter().map(|(_, b, _)| b).sum::<u64>() + json.len() as u64,
        depth: tree.nodes.iter().map(|n| n.depth).max().unwrap_or(0),
        skipped,
    })
}

/// The tileset node of tree node `i`: translated from its parent's centre
/// to its own (the root: ENU at its centre → ECEF).
fn tile_node(tree: &tree::Tree, i: usize, frame: &urbis_geo::CityFrame) -> TileNode {
    let n = &tree.nodes[i];
    let transform = match n.parent {
        None => {
            let r = frame.enu_to_ecef_rot;
            let t = frame.enu_to_ecef(n.centre);
            glam::DMat4::from_cols(r.x_axis.extend(0.0), r.y_axis.extend(0.0), r.z_axis.extend(0.0), t.extend(1.0))
        }
        Some(p) => glam::DMat4::from_translation(n.centre - tree.nodes[p].centre),
    };
    let (lo, hi) = (n.min - n.centre, n.max - n.centre);
    TileNode {
        bounding_box: box_around(lo.to_array(), hi.to_array()),
        geometric_error: n.error,
        refine: if tree.replace { Refine::Replace } else { Refine::Add },
        content_uri: (!n.features.is_empty() || !n.subtree.is_empty()).then(|| format!("tiles/{}.glb", n.name)),
        transform: Some(transform.to_cols_array()),
        children: n.children.iter().map(|&c| tile_node(tree, c, frame)).collect(),
    }
}
