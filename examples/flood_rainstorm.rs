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

use clap::Parser;
use urbis_sim::city::{GridOptions, flood_grid};
use urbis_sim::flood::{FloodSim, Series};
use urbis_sim::report::{Ramp, write_flood_report};

#[path = "common/mod.rs"]
mod common;

/// A 100 mm/h rainstorm for one hour over the city; outputs in out/flood_rainstorm/.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    city: common::CityArgs,
    /// Merge K × K DEM cells into one flood cell.
    #[arg(long, default_value_t = 2)]
    coarsen: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let coarsen = args.coarsen;
    let mut city = args.city.open()?;
    let out = PathBuf::from("out/flood_rainstorm");
    std::fs::create_dir_all(&out)?;

    let grid = flood_grid(&mut city, &GridOptions { coarsen, ..Default::default() })?;
    let mut model = grid.model.clone();
    let (rain_mm_h, rain_s, total_s) = (100.0, 3600.0, 5400.0);
    model.rain = Series::steps(vec![(0.0, rain_mm_h / 1000.0 / 3600.0), (rain_s, 0.0)]);
    let mut sim = FloodSim::new(model, Some(grid.h0.clone()))?;
    let start = Instant::now();
    let pb = common::simulated_seconds(total_s);
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
