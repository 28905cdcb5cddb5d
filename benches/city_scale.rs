//! City-scale rendering: CPU and whole-frame time of a synthetic metropolis
//! of 160k, 1M and 5M buildings drawn as building fields (GPU culling,
//! levels of detail, indirect draws), the CPU path's culling time, and the
//! same 160k buildings drawn one chunk and one draw each (a scene graph's
//! way, as bevy's `many_cubes` lays cubes out), in the same run.
//!
//! Workload: `urbis_sample_city::metropolis(N, 1)` at Xiong'an, 1280 × 720,
//! the camera 1500 m from the core at 30° pitch turning a quarter orbit
//! over the iterations, sun shadows on, on whatever adapter there is
//! (lavapipe in CI, where the "GPU" is the CPU).
//!
//! - `city_scale/cpu_frame/N`: the time `Renderer::render` takes on the
//!   calling thread (culling set-up, encoding, submission); the GPU's work
//!   is waited for outside the measurement.
//! - `city_scale/frame/N`: render and wait: the whole frame on lavapipe.
//! - `city_scale/cpu_cull/1M`: the CPU path's culling (frustum, levels,
//!   sun volume; no occlusion) of one million buildings.
//! - `city_scale/baseline_cpu_frame/160k`: one chunk per building.
//!
//! Memory per building (GPU buffers, CPU copies, styles) is printed for
//! each size. Under `cargo test` (no `--bench`), sizes shrink to 20k so
//! the check stays quick.

/// The allocator the `urbis` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use urbis_engine::city_scale::{
    metropolis_camera, metropolis_fields, metropolis_frame, metropolis_lighting, per_building_chunks,
};
use urbis_render::{FieldCulling, FieldKey, FieldMode, GpuContext, GpuScene, HeadlessTarget, Renderer};
use urbis_sample_city::metropolis::metropolis;

const W: u32 = 1280;
const H: u32 = 720;

struct Setup {
    ctx: GpuContext,
    scene: GpuScene,
    renderer: Renderer,
    target: HeadlessTarget,
    frame: urbis_geo::CityFrame,
    turn: f64,
}

impl Setup {
    fn new(n: usize, baseline: bool) -> Option<Self> {
        let ctx = GpuContext::headless().ok()?;
        let city = metropolis(n, 1);
        let frame = metropolis_frame();
        let mut scene = GpuScene::new(&ctx);
        if baseline {
            for (key, chunk) in per_building_chunks(&city, &frame) {
                scene.upsert_chunk(&ctx, key, &chunk);
            }
            scene.reserve_features(n + 1);
        } else {
            for (k, f) in metropolis_fields(&city, &frame).iter().enumerate() {
                scene.upsert_field(&ctx, FieldKey(k as u64), f).expect("field");
            }
        }
        scene.flush(&ctx);
        let (gpu, cpu) = if baseline { (scene.geometry_bytes(), 0) } else { scene.field_bytes() };
        eprintln!(
            "{n} buildings{}: {:.0} B GPU geometry/instances, {:.0} B CPU, {:.0} B styles per building",
            if baseline { " (baseline)" } else { "" },
            gpu as f64 / n as f64,
            cpu as f64 / n as f64,
            scene.style_buffer_bytes() as f64 / n as f64
        );
        let renderer = Renderer::new(&ctx, HeadlessTarget::FORMAT);
        let target = HeadlessTarget::new(&ctx, W, H);
        Some(Self { ctx, scene, renderer, target, frame, turn: 0.0 })
    }

    /// One frame; returns the time on the calling thread and the whole frame's.
    fn frame(&mut self) -> (Duration, Duration) {
        self.turn = (self.turn + 0.01) % 0.25;
        let camera = metropolis_camera(&self.frame, 1500.0, 30.0, self.turn);
        let lighting = metropolis_lighting(&self.frame, &camera);
        let t = Instant::now();
        self.renderer.render(&self.ctx, &self.scene, &camera, &lighting, None, &self.target.view, W, H);
        let cpu = t.elapsed();
        self.ctx.wait_idle();
        (cpu, t.elapsed())
    }
}

fn bench_city_scale(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[(&str, usize)] =
        if full { &[("160k", 160_000), ("1M", 1_000_000), ("5M", 5_000_000)] } else { &[("20k", 20_000)] };
    let mut g = c.benchmark_group("city_scale");
    g.sample_size(10).warm_up_time(Duration::from_secs(1));
    for &(name, n) in sizes {
        let Some(mut s) = Setup::new(n, false) else {
            eprintln!("no GPU adapter: city-scale benches skipped");
            return;
        };
        g.bench_function(BenchmarkId::new("cpu_frame", name), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| s.frame().0).sum())
        });
        if n <= 1_000_000 {
            g.bench_function(BenchmarkId::new("frame", name), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| s.frame().1).sum())
            });
        }
        if n == 1_000_000 || !full {
            s.renderer.set_field_culling(FieldCulling { mode: FieldMode::Cpu, ..Default::default() });
            g.bench_function(BenchmarkId::new("cpu_cull", name), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            s.frame();
                            s.renderer.field_prepare_time()
                        })
                        .sum()
                })
            });
        }
    }
    let (name, n) = if full { ("160k", 160_000) } else { ("20k", 20_000) };
    if let Some(mut s) = Setup::new(n, true) {
        g.bench_function(BenchmarkId::new("baseline_cpu_frame", name), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| s.frame().0).sum())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_city_scale);
criterion_main!(benches);
