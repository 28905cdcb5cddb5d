//! `urbis terrain`: DEMs as a quantized-mesh terrain tileset.
//!
//! ```text
//! DEM files (or the sample city's) ─► DemHeights (PROJ) ─► TerrainGenerator
//!   ─► urbis_tiles::terrain::write_quantized_mesh (rayon, progress bar) ─► layer.json + z/x/y.terrain
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use urbis_tiles::terrain::{DemHeights, TerrainGenerator, TerrainSource, write_quantized_mesh};

/// Reads a DEM (ASCII grid or GeoTIFF) by its extension.
fn read_dem(path: &Path) -> Result<urbis_formats::ascii_grid::DemGrid> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    Ok(match ext.as_str() {
        "tif" | "tiff" => urbis_formats::geotiff::read(path)?,
        _ => urbis_formats::ascii_grid::read(path)?,
    })
}

pub fn write(paths: &[PathBuf], out: &Path, max_level: Option<u32>, json: bool) -> Result<()> {
    let paths = if paths.is_empty() {
        let cfg = urbis_sample_city::SampleCityConfig::default();
        let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &cfg).context("the sample city")?;
        vec![dir.join(urbis_sample_city::DEM_FILE)]
    } else {
        paths.to_vec()
    };
    let mut dems = Vec::new();
    for p in &paths {
        let grid = read_dem(p)?;
        dems.push(DemHeights::new(&p.display().to_string(), grid).map_err(anyhow::Error::msg)?);
    }
    let name = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let generator = Arc::new(TerrainGenerator::new(name, TerrainSource::Dems(dems), Vec::new()));
    std::fs::create_dir_all(out).with_context(|| format!("{}", out.display()))?;
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("terrain tiles {bar:40} {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let written = write_quantized_mesh(&generator, out, max_level, &|done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(anyhow::Error::msg)?;
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let per_s = written.tiles as f64 / secs.max(1e-9);
    if json {
        let v = serde_json::json!({
            "out": out.display().to_string(),
            "tiles": written.tiles,
            "bytes": written.bytes,
            "max_level": written.max_level,
            "seconds": secs,
            "tiles_per_second": per_s,
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "wrote {} terrain tiles ({:.1} MB, levels 0–{}) to {} in {secs:.2} s ({per_s:.0} tiles/s)",
            written.tiles,
            written.bytes as f64 / 1e6,
            written.max_level,
            out.display()
        );
    }
    Ok(())
}
