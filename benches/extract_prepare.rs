//! Extraction, prepare and restyling throughput.
//!
//! Workload: a synthetic district of N box buildings (24 vertices, 12
//! triangles each) on a 12 m grid, N = 10,000 and 100,000, in the sample
//! city's frame (115.9°E, 39.0°N).
//!
//! - `extract/N`: ECS → chunk meshes from scratch (all chunks dirty).
//! - `prepare/N`: upload those chunks and styles to the GPU (needs an
//!   adapter; lavapipe works).
//! - `restyle_10k`: change the colour of 10,000 buildings, then extract and
//!   prepare; the baseline in the same group moves the same 10,000
//!   buildings instead, which rebuilds geometry. Restyling must not upload
//!   geometry; the bench checks it.
//!
//! Throughput is reported in entities per second.

/// The allocator the `urbis` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bevy_ecs::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::{DVec3, Vec2, Vec3};
use urbis_engine::{Engine, Extractor};
use urbis_geo::{CityFrame, Geodetic};
use urbis_model::{CityModel, CpuMesh, FeatureStyle, Lod, Material, NewFeature, Placement, SemanticClass};
use urbis_render::{GpuContext, HeadlessTarget};

fn box_mesh(h: f32) -> CpuMesh {
    let mut m = CpuMesh::default();
    let c = |x: f32, y: f32, z: f32| Vec3::new((x - 0.5) * 9.0, (y - 0.5) * 9.0, z * h);
    for f in [
        [c(0., 0., 1.), c(1., 0., 1.), c(1., 1., 1.), c(0., 1., 1.)],
        [c(0., 0., 0.), c(0., 1., 0.), c(1., 1., 0.), c(1., 0., 0.)],
        [c(0., 0., 0.), c(1., 0., 0.), c(1., 0., 1.), c(0., 0., 1.)],
        [c(1., 0., 0.), c(1., 1., 0.), c(1., 1., 1.), c(1., 0., 1.)],
        [c(1., 1., 0.), c(0., 1., 0.), c(0., 1., 1.), c(1., 1., 1.)],
        [c(0., 1., 0.), c(0., 0., 0.), c(0., 0., 1.), c(0., 1., 1.)],
    ] {
        m.push_flat(&f, &[[0, 1, 2], [0, 2, 3]], |p| Vec2::new(p.x, p.z / 3.0), [200, 190, 170, 255], Material::Facade);
    }
    m
}

fn district(n: usize) -> CityModel {
    let mut model = CityModel::new(CityFrame::new(Geodetic::new(115.9, 39.0, 10.0)));
    let side = (n as f64).sqrt().ceil() as usize;
    for i in 0..n {
        let (x, y) = ((i % side) as f64 * 12.0, (i / side) as f64 * 12.0);
        let mut f = NewFeature::new(format!("b{i}"), SemanticClass::BUILDING, DVec3::new(x, y, 0.0));
        f.mesh = Some((box_mesh(6.0 + (i % 17) as f32 * 3.0), Lod(12)));
        model.spawn_feature(f);
    }
    model
}

fn bench_extract_prepare(c: &mut Criterion) {
    let gpu = GpuContext::headless().ok();
    if gpu.is_none() {
        eprintln!("no GPU adapter: prepare benches skipped");
    }
    for n in [10_000usize, 100_000] {
        let mut model = district(n);
        let mut g = c.benchmark_group("extract");
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let mut x = Extractor::default();
                x.extract(&mut model)
            })
        });
        g.finish();
        if let Some(ctx) = GpuContext::headless().ok().filter(|_| gpu.is_some()) {
            let mut engine = Engine::new(model, ctx, HeadlessTarget::FORMAT);
            let mut g = c.benchmark_group("prepare");
            g.throughput(Throughput::Elements(n as u64));
            g.sample_size(10);
            let extracted = Extractor::default().extract(&mut engine.model);
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter_batched(|| extracted.clone(), |x| engine.prepare(x), criterion::BatchSize::LargeInput)
            });
            g.finish();
        }
    }
}

fn bench_restyle(c: &mut Criterion) {
    let Ok(ctx) = GpuContext::headless() else {
        eprintln!("no GPU adapter: restyle bench skipped");
        return;
    };
    let n = 10_000;
    let mut engine = Engine::new(district(n), ctx, HeadlessTarget::FORMAT);
    engine.update();
    let entities: Vec<Entity> =
        engine.model.world.query_filtered::<Entity, With<FeatureStyle>>().iter(&engine.model.world).collect();
    let mut g = c.benchmark_group("restyle_10k");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    let mut flip = 0.0f32;
    g.bench_function("style_only", |b| {
        b.iter(|| {
            flip = 1.0 - flip;
            for &e in &entities {
                if let Some(mut s) = engine.model.world.get_mut::<FeatureStyle>(e) {
                    s.color_override = Some([flip, 0.2, 1.0 - flip, 1.0]);
                }
            }
            let before = engine.scene.stats().geometry_uploads;
            let p = engine.update();
            assert_eq!(engine.scene.stats().geometry_uploads, before, "restyling uploaded geometry");
            assert_eq!(p.chunks_uploaded, 0);
            p
        })
    });
    g.bench_function("baseline_move_geometry", |b| {
        b.iter(|| {
            for &e in &entities {
                if let Some(mut p) = engine.model.world.get_mut::<Placement>(e) {
                    p.enu.z += 0.0; // marks the geometry changed without moving it
                }
            }
            engine.update()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_extract_prepare, bench_restyle);
criterion_main!(benches);
