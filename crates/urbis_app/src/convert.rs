//! `urbis convert` and `urbis monomerize`: a loaded scene out to 3D Tiles 1.1.
//!
//! ```text
//! inputs ─ whole load (tilesets and OSGB pyramids at their finest) ─► CityModel
//!        ─ [--monomerize: photo meshes cut by the footprints] ─► urbis_export ─► DIR/tileset.json + DIR/tiles/*.glb
//! ```

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use urbis_model::TileDetail;

use crate::Inputs;

/// Loads `inputs` whole, at the finest detail (cutting their photo meshes
/// by `monomerize_by`, when given), and writes them as 3D Tiles into `out`.
pub(crate) fn convert(
    inputs: &Inputs,
    monomerize_by: &[std::path::PathBuf],
    out: &Path,
    opts: &urbis_export::ExportOptions,
    json: bool,
) -> Result<()> {
    let started = Instant::now();
    let model = crate::commands::load_with(inputs, TileDetail::Finest, monomerize_by)?;
    let loaded_s = started.elapsed().as_secs_f64();
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} tiles ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.set_message(format!("writing {}", out.display()));
    let progress = |done: u64, total: u64| {
        pb.set_length(total);
        pb.set_position(done);
    };
    let report = urbis_export::export_3dtiles(&model, out, opts, &progress)
        .with_context(|| format!("writing 3D Tiles into {}", out.display()))?;
    pb.finish_and_clear();
    for s in report.skipped.iter().take(10) {
        tracing::warn!("not written: {s}");
    }
    if report.skipped.len() > 10 {
        tracing::warn!("not written: {} more", report.skipped.len() - 10);
    }
    let total_s = started.elapsed().as_secs_f64();
    if json {
        let mut v = serde_json::to_value(&report)?;
        v["load_s"] = loaded_s.into();
        v["total_s"] = total_s.into();
        v["out"] = out.display().to_string().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "wrote {}: {} features, {} triangles, {} textures in {} tiles ({} levels), {:.1} MB, {:.1} s ({} not written)",
            out.join("tileset.json").display(),
            report.features,
            report.triangles,
            report.textures,
            report.tiles,
            report.depth + 1,
            report.bytes as f64 / 1e6,
            total_s,
            report.skipped.len()
        );
    }
    Ok(())
}
