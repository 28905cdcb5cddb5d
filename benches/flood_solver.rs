//! Flood solver throughput in cell-steps per second (one cell updated for
//! one time step) on a 1000 × 1000 grid of 2 m cells:
//! - `dense`: fully wet (1 m of water over a gently undulating bed, a
//!   tilted water surface so it moves);
//! - `mostly_dry`: a dry city with 100 mm/h of rain on a 100 × 100-cell
//!   catchment (1 % of the area); only active tiles are updated, so the
//!   grid is covered many times faster.
//!
//! Printed per run: cell-steps/s over the cells actually updated and "grid"
//! cell-steps/s (every cell of the grid per step), which is what skipping
//! dry cells buys. Goal (issue 6): ≥ 1.2e8 cell-steps/s dense on 2 cores;
//! LISFLOOD-FP 8.1 ACC does about 6e7 here; this solver did 2.2e7 before
//! the fused band step and does about 1.26–1.32e8 now (2 cores, AVX2).
//! Under `cargo test` the grid is 200 × 200.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_sim::flood::{FloodModel, FloodSim, Friction, Series};

fn size() -> usize {
    if std::env::args().any(|a| a == "--bench") { 1000 } else { 200 }
}

fn bed(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|c| {
            let (x, y) = ((c % n) as f64, (c / n) as f64);
            0.2 * (x * 0.05).sin() * (y * 0.07).cos() - 0.0005 * x
        })
        .collect()
}

fn dense(n: usize) -> FloodSim {
    let z = bed(n);
    let h0: Vec<f64> = z.iter().enumerate().map(|(c, z)| 1.0 + 0.0003 * (c % n) as f64 - z.min(0.0) * 0.0).collect();
    let m = FloodModel::new(n, n, 2.0, z, 0.03, 1 << 34).expect("model");
    FloodSim::new(m, Some(h0)).expect("sim")
}

fn dense_1d(n: usize) -> FloodSim {
    let mut sim = dense(n);
    sim.model.friction = Friction::FaceNormal;
    sim
}

fn mostly_dry(n: usize) -> FloodSim {
    let mut m = FloodModel::new(n, n, 2.0, bed(n), 0.03, 1 << 34).expect("model");
    m.rain = Series::constant(100e-3 / 3600.0);
    let k = n / 10;
    m.rain_mask = Some((0..n * n).map(|c| (c % n) < k && (c / n) < k).collect());
    FloodSim::new(m, None).expect("sim")
}

fn report(name: &str, sim_fn: fn(usize) -> FloodSim) {
    let n = size();
    let mut sim = sim_fn(n);
    for _ in 0..5 {
        sim.step();
    }
    let (steps0, cells0) = (sim.steps, sim.cell_steps);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        sim.step();
    }
    let secs = start.elapsed().as_secs_f64();
    let steps = sim.steps - steps0;
    let updated = (sim.cell_steps - cells0) as f64 / secs;
    let grid = (steps as f64 * (n * n) as f64) / secs;
    eprintln!(
        "flood/{name}: {n}×{n}, {steps} steps in {secs:.2} s on {} threads ({:?}): {updated:.3e} updated cell-steps/s, {grid:.3e} grid cell-steps/s",
        rayon::current_num_threads(),
        sim.model.isa
    );
}

fn flood(c: &mut Criterion) {
    report("dense", dense);
    report("dense_1d", dense_1d);
    report("mostly_dry", mostly_dry);
    let n = size();
    let mut g = c.benchmark_group("flood_step");
    g.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements((n * n) as u64));
    let mut sim = dense(n);
    g.bench_function("dense", |b| b.iter(|| sim.step()));
    let mut sim = mostly_dry(n);
    g.bench_function("mostly_dry", |b| b.iter(|| sim.step()));
    g.finish();
}

criterion_group!(benches, flood);
criterion_main!(benches);
