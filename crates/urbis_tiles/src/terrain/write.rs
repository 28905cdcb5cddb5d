//! Writes a terrain's tiles as a quantized-mesh-1.0 tileset: `layer.json`
//! and `z/x/y.terrain` for every tile of the terrain tree that touches its
//! coverage (and the two level-0 tiles), each with oct normals and the
//! metadata extension naming its children.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use urbis_formats::quantized_mesh::{self as qm, LayerJson};

use super::{TerrainGenerator, TileCoord, geographic_rect, ranges_of, to_quantized};

/// What [`write_quantized_mesh`] wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WrittenTerrain {
    pub tiles: usize,
    pub bytes: u64,
    pub max_level: u32,
}

/// Writes `generator`'s tiles to `dir` down to `max_level` (its own finest
/// level when `None`); `progress(done, total)` is called as tiles finish.
pub fn write_quantized_mesh(
    generator: &Arc<TerrainGenerator>,
    dir: &Path,
    max_level: Option<u32>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<WrittenTerrain, String> {
    let layout = generator.layout();
    let cov = layout.coverage.ok_or_else(|| format!("{}: the terrain covers nothing to write", generator.name))?;
    let deepest = max_level.unwrap_or(layout.max_level).min(layout.max_level);
    let overlaps = |r: [f64; 4]| r[0] < cov[2] && cov[0] < r[2] && r[1] < cov[3] && cov[1] < r[3];
    // Every tile touching the coverage, level by level.
    let mut levels: Vec<Vec<TileCoord>> = vec![vec![TileCoord { z: 0, x: 0, y: 0 }, TileCoord { z: 0, x: 1, y: 0 }]];
    while (levels.len() as u32) <= deepest {
        let next: Vec<TileCoord> = levels
            .last()
            .into_iter()
            .flatten()
            .flat_map(|c| (0..4).map(move |k| TileCoord { z: c.z + 1, x: c.x * 2 + (k & 1), y: c.y * 2 + (k >> 1) }))
            .filter(|c| overlaps(geographic_rect(*c)))
            .collect();
        if next.is_empty() {
            break;
        }
        levels.push(next);
    }
    let all: Vec<TileCoord> = levels.iter().flatten().copied().collect();
    let total = all.len() as u64;
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let has = |c: TileCoord| levels.get(c.z as usize).is_some_and(|l| l.contains(&c));
    all.par_iter().try_for_each(|&c| -> Result<(), String> {
        let mesh = generator.build_heights(c);
        let children: Vec<TileCoord> = (0..4)
            .map(|k| TileCoord { z: c.z + 1, x: c.x * 2 + (k & 1), y: c.y * 2 + (k >> 1) })
            .filter(|k| has(*k))
            .collect();
        let data = qm::write(&to_quantized(&mesh, Some(&children)));
        let path = dir.join(format!("{}/{}/{}.terrain", c.z, c.x, c.y));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
        bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
        Ok(())
    })?;
    let layer = LayerJson {
        tilejson: "2.1.0".into(),
        format: "quantized-mesh-1.0".into(),
        version: "1.0.0".into(),
        scheme: "tms".into(),
        tiles: vec!["{z}/{x}/{y}.terrain?v={version}".into()],
        projection: "EPSG:4326".into(),
        bounds: [-180.0, -90.0, 180.0, 90.0],
        minzoom: 0,
        maxzoom: (levels.len() - 1) as u32,
        available: levels.iter().map(|l| ranges_of(l)).collect(),
        extensions: vec!["octvertexnormals".into(), "metadata".into()],
        metadata_availability: None,
        attribution: Some(format!("Urbis, from {}", generator.name)),
        other: Default::default(),
    };
    let layer_path = dir.join("layer.json");
    std::fs::write(&layer_path, qm::write_layer(&layer)).map_err(|e| format!("{}: {e}", layer_path.display()))?;
    Ok(WrittenTerrain { tiles: all.len(), bytes: bytes.into_inner(), max_level: (levels.len() - 1) as u32 })
}
