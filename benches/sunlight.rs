//! Sunlight hours on façades: sample points (every 5 m, every 3 m storey)
//! on the 20 buildings nearest the sample city's centre, 48 sun directions
//! of 大寒 8:00–16:00 (10-minute steps), each a ray through the spatial index
//! with exact triangle tests against every feature but the terrain surface.
//! Printed as façade points per second (each point: the full day) and rays
//! per second. No in-process baseline exists. `terrain_surface/from_city`
//! times building the terrain's height field (the DEM through PROJ into
//! ENU), which `sunlight::Shade` does once per city for all its questions.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_model::Bounds;
use urbis_sim::sunlight::{SunDay, buildings, facade_points, sunlight_hours};

fn sunlight(c: &mut Criterion) {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    let mut city = urbis_model::open_city(&[dir]).expect("load").0;
    let mut all = buildings(&mut city);
    let centre = city.bounds().center();
    all.sort_by(|a, b| {
        let d = |e: &bevy_ecs::prelude::Entity| {
            let c = city.world.get::<Bounds>(*e).map_or(centre, |b| b.center());
            (c.x - centre.x).hypot(c.y - centre.y)
        };
        d(a).total_cmp(&d(b))
    });
    let n = if std::env::args().any(|a| a == "--bench") { 20 } else { 3 };
    let chosen = &all[..n.min(all.len())];
    let points = facade_points(&city, chosen, 5.0, 3.0);
    let day = SunDay::major_cold(2027);
    let dirs = day.directions(city.frame());
    let lit_dirs = dirs.iter().flatten().count();
    eprintln!("sunlight: {} façade points on {} buildings, {lit_dirs} sun directions", points.len(), chosen.len());
    let mut g = c.benchmark_group("sunlight_hours");
    g.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("facade_points_major_cold_day", |b| {
        b.iter(|| sunlight_hours(&city, &points, &dirs, day.step_min))
    });
    g.finish();
    // The terrain's height field (the sample DEM carried into ENU by PROJ),
    // which every shadow test also marches through.
    let mut g = c.benchmark_group("terrain_surface");
    g.sample_size(10);
    g.bench_function("from_city", |b| b.iter(|| urbis_sim::terrain::TerrainSurface::from_city(&city)));
    g.finish();
}

criterion_group!(benches, sunlight);
criterion_main!(benches);
