//! What the analyst examples share: the city they load (the sample city,
//! generated on first use, or the files given) and how they show progress.
//! Included by each example with `#[path = "common/mod.rs"] mod common;`.

#![allow(dead_code)] // each example uses its own part

use std::path::PathBuf;

/// The city inputs an example accepts: the sample city when none are given.
#[derive(Debug, clap::Args)]
pub struct CityArgs {
    /// City files or folders (CityJSON, IFC, GeoJSON, DEM, 3D Tiles, glTF);
    /// none: the embedded sample city.
    pub paths: Vec<PathBuf>,
}

impl CityArgs {
    /// Opens the city: the given inputs, or the sample city.
    pub fn open(&self) -> anyhow::Result<urbis_model::CityModel> {
        let paths = if self.paths.is_empty() {
            vec![urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?]
        } else {
            self.paths.clone()
        };
        Ok(urbis_model::open_city(&paths)?.0)
    }
}

/// A progress bar over `len` simulated seconds.
pub fn simulated_seconds(len: f64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} s simulated  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}
