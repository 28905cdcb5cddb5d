//! Analyst example: a 100 mm/h rainstorm for one hour over the city.
//!
//! Builds the flood grid from the city's DEM (coarsened to 10 m cells for
//! the sample city's 5 m DEM), with buildings burnt in and the river and
//! pond filled to their surfaces, rains 100 mm/h for an hour, lets the
//! water run for another half hour, and writes to `out/flood_rainstorm/`:
//! - `max_depth.asc`, `arrival_time.asc`, `max_speed.asc` (+ `.prj`);
//! - `max_depth.png`, a map with legend, units, scale and north arrow;
//! - `flooded_buildings.csv` and `.geojson`: buildings with water deeper
//!   than 0.15 m next to them, deepest first;
//! - `summary.txt`: the figures printed at the end.
//!
//! ```text
//! cargo run --release --example flood_rainstorm -- [PATH...] [--coarsen K]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use urbis_sim::city::{GridOptions, flood_grid};
use urbis_sim::flood::{FloodSim, Series};
use urbis_sim::report::{Ramp, write_flood_report};

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut coarsen = 2;
    if let Some(i) = args.iter().position(|a| a == "--coarsen") {
        coarsen = args.get(i + 1).context("--coarsen K")?.parse()?;
        args.drain(i..=i + 1);
    }
    let paths: Vec<PathBuf> = if args.is_empty() {
        vec![urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?]
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    let (mut city, _) = urbis_model::open_city(&paths)?;
    let out = PathBuf::from("out/flood_rainstorm");
    std::fs::create_dir_all(&out)?;

    let grid = flood_grid(&mut city, &GridOptions { coarsen, ..Default::default() })?;
    let mut model = grid.model.clone();
    let (rain_mm_h, rain_s, total_s) = (100.0, 3600.0, 5400.0);
    model.rain = Series(vec![(0.0, rain_mm_h / 1000.0 / 3600.0), (rain_s, 0.0)]);
    let mut sim = FloodSim::new(model, Some(grid.h0.clone()))?;
    let start = Instant::now();
    let pb = indicatif::ProgressBar::new(total_s as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} s simulated  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    sim.run_until(total_s, |s| {
        if s.steps % 20 == 0 {
            pb.set_position(s.t as u64);
            pb.set_message(format!("{} steps", s.steps));
        }
    });
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();

    let ramp = Ramp::water_depth("m above initial", 1.0);
    let summary = write_flood_report(
        &out,
        &city,
        &grid,
        &sim,
        &ramp,
        &format!("Rainstorm {rain_mm_h} mm/h for {} h: maximum depth", rain_s / 3600.0),
        0.15,
        &format!("rainstorm: {rain_mm_h} mm/h for {:.0} min", rain_s / 60.0),
        secs,
    )?;
    print!("{summary}");
    println!("outputs in {}", out.display());
    Ok(())
}
