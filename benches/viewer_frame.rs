//! What the viewer's panels and the section box cost per frame.
//!
//! Workload: the sample city (generated on first use), the viewer's default
//! view, 1280 × 720 offscreen on whatever adapter there is (lavapipe in CI).
//! Each frame goes through `ViewerCore::frame`, as in the window.
//!
//! - `frame/ui_hidden`: the city and nothing else (key H) — the baseline.
//! - `frame/ui_shown`: the same with the egui panels (tools, layers,
//!   search, bookmarks, status line, inspector of a selected building).
//! - `frame/section_box`: panels shown and a section box cutting the view.
//! - `ui/panels_cpu`: the panels' CPU work alone (egui layout of every
//!   panel, tessellation), no GPU: the figure the issue bounds at 1 ms.
//!
//! With a software rasteriser the frame times are mostly the rasteriser's;
//! compare the groups with each other, in the same run.

/// The allocator the `urbis` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use urbis_engine::{Engine, Input, ViewOptions, ViewerCore};
use urbis_render::{GpuContext, HeadlessTarget};
use urbis_ui::{SectionMode, SectionSettings, UiAction};

const W: u32 = 1280;
const H: u32 = 720;

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(W as f32, H as f32))),
        ..Default::default()
    }
}

fn core() -> Option<(ViewerCore, HeadlessTarget)> {
    let ctx = GpuContext::headless().ok()?;
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).ok()?;
    let model = urbis_model::open_city(&[dir]).ok()?.0;
    let engine = Engine::new(model, ctx, HeadlessTarget::FORMAT);
    let mut core = ViewerCore::new(engine, ViewOptions::default(), None, (W, H), 1.0);
    let target = HeadlessTarget::new(&core.engine.ctx, W, H);
    // A selected building, so the inspector shows too; a search with hits.
    core.search("use = office and height > 40");
    if let Some(e) = core.panels.hits().first().map(|h| h.0) {
        core.ui_action(UiAction::Select(e));
    }
    // Two frames: fonts laid out and uploaded.
    for _ in 0..2 {
        core.frame(1.0 / 30.0, &target.texture, input());
    }
    Some((core, target))
}

/// Waits for the GPU so a frame's cost includes drawing it.
fn finish(core: &ViewerCore) {
    let _ = core.engine.ctx.device.poll(wgpu::PollType::wait_indefinitely());
}

fn bench_viewer(c: &mut Criterion) {
    let Some((mut core, target)) = core() else {
        eprintln!("no GPU adapter or sample city: viewer benches skipped");
        return;
    };
    let mut g = c.benchmark_group("frame");
    g.sample_size(20);
    core.input(Input::KeyDown("KeyH".into()));
    core.input(Input::KeyUp("KeyH".into()));
    g.bench_function("ui_hidden", |b| {
        b.iter(|| {
            core.frame(1.0 / 30.0, &target.texture, input());
            finish(&core);
        })
    });
    core.input(Input::KeyDown("KeyH".into()));
    core.input(Input::KeyUp("KeyH".into()));
    g.bench_function("ui_shown", |b| {
        b.iter(|| {
            core.frame(1.0 / 30.0, &target.texture, input());
            finish(&core);
        })
    });
    core.ui_action(UiAction::Section(SectionSettings { mode: SectionMode::Box, height: 60.0, half_width: 300.0 }));
    g.bench_function("section_box", |b| {
        b.iter(|| {
            core.frame(1.0 / 30.0, &target.texture, input());
            finish(&core);
        })
    });
    g.finish();
    core.ui_action(UiAction::Section(SectionSettings::default()));

    let mut g = c.benchmark_group("ui");
    let info = urbis_ui::FrameInfo { selected: core.engine.selected(), ..Default::default() };
    g.bench_function("panels_cpu", |b| {
        b.iter(|| {
            let (mut output, actions) = core.panels.run(input(), &mut core.engine.model, &info);
            // New glyphs are uploaded by the painter, which this CPU-only figure leaves out.
            output.textures_delta.clear();
            let shapes = core.panels.context().tessellate(output.shapes, output.pixels_per_point);
            std::hint::black_box((shapes.len(), actions.len()));
        })
    });
    g.bench_function("panels_painted", |b| {
        b.iter(|| {
            let (output, _) = core.panels.run(input(), &mut core.engine.model, &info);
            let (device, queue) = (core.engine.ctx.device.clone(), core.engine.ctx.queue.clone());
            core.panels.paint(&device, &queue, &target.view, [W, H], output);
            finish(&core);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_viewer);
criterion_main!(benches);
