//! Viewshed over the sample city's surface model (DEM with buildings burnt
//! in): an observer 1.6 m above the ground at the grid's centre, every cell
//! tested with targets 1.6 m up. 5 m cells (440 × 440) with `--bench`,
//! 10 m cells under `cargo test`. Printed as cells per second; no in-process
//! baseline exists.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_sim::city::{GridOptions, flood_grid};
use urbis_sim::viewshed::viewshed;

fn bench(c: &mut Criterion) {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    let mut city = urbis_model::open_city(&[dir]).expect("load").0;
    let coarsen = if std::env::args().any(|a| a == "--bench") { 1 } else { 2 };
    let grid = flood_grid(&mut city, &GridOptions { coarsen, ..Default::default() }).expect("grid");
    let observer = (grid.nx() / 2, grid.ny() / 2);
    let seen = viewshed(&grid, observer, 1.6, 1.6).iter().filter(|v| **v).count();
    eprintln!("viewshed: {} × {} cells of {} m, {seen} visible from the centre", grid.nx(), grid.ny(), grid.model.dx);
    let mut g = c.benchmark_group("viewshed");
    g.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements((grid.nx() * grid.ny()) as u64));
    g.bench_function("sample_city_from_centre", |b| b.iter(|| viewshed(&grid, observer, 1.6, 1.6)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
