//! What a video wall's picture costs: the whole wall rendered display by
//! display (each the crop of the wall's frame), against one frame of the
//! same pixels in one piece, in the same run.
//!
//! Workload: the sample city (generated on first use), its default oblique
//! view from the wall's eye, on whatever adapter there is (lavapipe in CI).
//!
//! - `wall/one_frame_1920x1080`: one 1920 × 1080 render — the baseline.
//! - `wall/2x2_of_960x540`: a 2 × 2 wall of 960 × 540 displays, no bezels
//!   (the same 2.07 Mpx), each display its own crop, read back and pasted.
//! - `wall/2x2_bezels`: the same with 1 cm bezels (10 px gaps).
//!
//! Throughput is in display pixels (criterion's elements/s): megapixels
//! per second is elements/s ÷ 10⁶.

/// The allocator the `urbis` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_engine::{Engine, WallView, default_lighting, render_image, render_wall};
use urbis_render::{Camera, GpuContext, HeadlessTarget};

fn engine() -> Option<Engine> {
    let ctx = GpuContext::headless().ok()?;
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).ok()?;
    let model = urbis_model::open_city(&[dir]).ok()?.0;
    Some(Engine::new(model, ctx, HeadlessTarget::FORMAT))
}

fn wall(bezel: f64) -> urbis_wall::WallLayout {
    let text = format!(
        "[eye]\nposition = [{c}, 0.91, 2.5]\n[grid]\ncolumns = 2\nrows = 2\npanel = [1.6, 0.9]\nbezel = {bezel}\npixels = [960, 540]\n",
        c = 1.6 + bezel * 2.0
    );
    urbis_wall::config::parse(&text, Path::new("bench.toml")).expect("wall").layout
}

fn bench_wall(c: &mut Criterion) {
    let Some(mut engine) = engine() else {
        eprintln!("no GPU adapter or sample city: wall benches skipped");
        return;
    };
    let camera = urbis_engine::default_camera(&engine.model);
    let lighting = default_lighting(&engine.model, &camera);
    engine.update();
    let mut g = c.benchmark_group("wall");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1920 * 1080));
    let one = Camera { fov_y: 2.0 * (0.9f64 / 2.5).atan(), ..camera };
    g.bench_function("one_frame_1920x1080", |b| {
        b.iter(|| render_image(&mut engine, &one, &lighting, None, 1920, 1080).expect("frame"))
    });
    for (name, bezel) in [("2x2_of_960x540", 0.0), ("2x2_bezels", 0.005)] {
        let layout = wall(bezel);
        let view = WallView::new(&layout, &camera).expect("wall view");
        g.bench_function(name, |b| {
            b.iter(|| render_wall(&mut engine, &layout, &view, &lighting, &[], [0, 0, 0, 255]).expect("wall"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_wall);
criterion_main!(benches);
