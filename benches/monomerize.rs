//! Physical monomerization speed, in buildings per second: the sample
//! city's synthetic photo mesh (`urbis sample-city --photo-mesh`, the
//! 2 × 2-tile fixture at its finest level: 64 files, 524,288 triangles) cut
//! by the sample city's own building footprints that stand on it.
//!
//! - `monomerize/cut`: `urbis_model::monomerize::cut` alone (clipping,
//!   triangulation, assignment), throughput in buildings.
//!
//! Loading the dataset and the city is done once, outside the measurement.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::BoundingRect;
use urbis_model::TileDetail;
use urbis_model::monomerize::{cut, footprint_prisms, photo_surface};
use urbis_sample_city::{PhotoMeshConfig, SampleCityConfig, photo_mesh, write_photo_mesh};

fn bench(c: &mut Criterion) {
    let cfg = SampleCityConfig::default();
    let city_dir = std::env::temp_dir().join(format!("urbis-bench-mono-city-{}", std::process::id()));
    let city_file = urbis_sample_city::ensure(&city_dir, &cfg).expect("sample city");
    let city = urbis_sample_city::generate(&cfg).expect("sample city");
    let mesh = photo_mesh(&city, &PhotoMeshConfig::small());
    let dir = std::env::temp_dir().join(format!("urbis-bench-mono-photo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_photo_mesh(&dir, &mesh).expect("write the photo mesh");
    let (mut model, _) = urbis_model::open_city_with(&[dir.clone(), city_file], TileDetail::Finest)
        .expect("open the photo mesh and city");
    let surface = photo_surface(&mut model);
    // The footprints that stand on the photo mesh.
    let covered = surface
        .iter()
        .flat_map(|t| t.p)
        .fold((glam::DVec2::splat(f64::INFINITY), glam::DVec2::splat(f64::NEG_INFINITY)), |(lo, hi), p| {
            (lo.min(p.truncate()), hi.max(p.truncate()))
        });
    let prisms: Vec<_> = footprint_prisms(&mut model)
        .into_iter()
        .map(|(_, p, _)| p)
        .filter(|p| {
            p.plan.bounding_rect().is_some_and(|r| {
                r.min().x > covered.0.x && r.min().y > covered.0.y && r.max().x < covered.1.x && r.max().y < covered.1.y
            })
        })
        .collect();
    eprintln!("{} triangles, {} footprints", surface.len(), prisms.len());
    let mut g = c.benchmark_group("monomerize");
    g.sample_size(10);
    g.throughput(Throughput::Elements(prisms.len() as u64));
    g.bench_function("cut", |b| b.iter(|| cut(&surface, &prisms).clipped));
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&city_dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
