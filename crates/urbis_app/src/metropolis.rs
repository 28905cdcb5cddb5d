//! `urbis sample-city --buildings N`: a synthetic metropolis of N
//! buildings (`urbis_sample_city::metropolis`), drawn as building fields
//! (GPU-driven culling, levels of detail, indirect draws) or, with
//! `--baseline`, one chunk and one draw per building; frames along a
//! quarter orbit over the core, with CPU and whole-frame times, what was
//! drawn and the memory per building.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use urbis_engine::city_scale::{
    metropolis_camera, metropolis_fields, metropolis_frame, metropolis_lighting, per_building_chunks,
};
use urbis_render::{FieldCounts, FieldCulling, FieldKey, FieldMode, GpuContext, GpuScene, HeadlessTarget, Renderer};

/// What to generate and how to draw it.
pub(crate) struct MetropolisRun {
    pub buildings: usize,
    pub seed: u64,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub out: Option<PathBuf>,
    pub json: bool,
    pub cpu_culling: bool,
    pub no_occlusion: bool,
    pub baseline: bool,
}

pub(crate) fn run(args: &MetropolisRun) -> Result<()> {
    anyhow::ensure!(args.buildings > 0, "--buildings must be at least 1");
    anyhow::ensure!(args.frames > 0, "--frames must be at least 1");
    let rss_before = crate::fly::rss().1;
    let started = Instant::now();
    let pb = crate::commands::spinner(&format!("generating {} buildings", args.buildings));
    let city = urbis_sample_city::metropolis::metropolis(args.buildings, args.seed);
    let generate_s = started.elapsed().as_secs_f64();
    let frame = metropolis_frame();
    let ctx = GpuContext::headless().context("no GPU adapter")?;
    let mut scene = GpuScene::new(&ctx);
    let upload = Instant::now();
    pb.set_message("uploading");
    if args.baseline {
        for (key, chunk) in per_building_chunks(&city, &frame) {
            scene.upsert_chunk(&ctx, key, &chunk);
        }
        scene.reserve_features(args.buildings + 1);
    } else {
        for (k, field) in metropolis_fields(&city, &frame).iter().enumerate() {
            scene.upsert_field(&ctx, FieldKey(k as u64), field).context("uploading a building field")?;
        }
    }
    scene.flush(&ctx);
    ctx.wait_idle();
    let upload_s = upload.elapsed().as_secs_f64();
    drop(city);
    pb.finish_and_clear();

    let mut renderer = Renderer::new(&ctx, HeadlessTarget::FORMAT);
    let mode = if args.cpu_culling { FieldMode::Cpu } else { FieldMode::Auto };
    renderer.set_field_culling(FieldCulling { mode, occlusion: !args.no_occlusion, ..Default::default() });
    let target = HeadlessTarget::new(&ctx, args.width, args.height);
    let timed = renderer.set_pass_timing(&ctx, true);
    let mut gpu_ms = Vec::new();
    let mut cull_gpu_ms = Vec::new();
    let (mut cpu_ms, mut frame_ms, mut prepare_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut drawn = Vec::new();
    let bar = indicatif::ProgressBar::new(args.frames as u64);
    for k in 0..args.frames {
        let camera = metropolis_camera(&frame, 1500.0, 30.0, 0.25 * k as f64 / args.frames as f64);
        let lighting = metropolis_lighting(&frame, &camera);
        let t = Instant::now();
        let stats = renderer.render(&ctx, &scene, &camera, &lighting, None, &target.view, args.width, args.height);
        cpu_ms.push(t.elapsed().as_secs_f64() * 1e3);
        ctx.wait_idle();
        frame_ms.push(t.elapsed().as_secs_f64() * 1e3);
        prepare_ms.push(renderer.field_prepare_time().as_secs_f64() * 1e3);
        if let Some(p) = renderer.pass_times(&ctx)? {
            gpu_ms.push(p.total_ms());
            cull_gpu_ms.extend(p.field_cull_ms);
        }
        drawn.push(stats);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let counts: FieldCounts =
        renderer.field_counts(&ctx, &scene)?.into_iter().fold(FieldCounts::default(), |mut a, c| {
            a += c;
            a
        });
    if let Some(out) = &args.out {
        let px = target.read_rgba(&ctx)?;
        image::RgbaImage::from_raw(args.width, args.height, px)
            .context("frame size")?
            .save(out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let (gpu_bytes, cpu_bytes) = if args.baseline { (scene.geometry_bytes(), 0) } else { scene.field_bytes() };
    let n = args.buildings as f64;
    let last = drawn.last().copied().unwrap_or_default();
    let report = serde_json::json!({
        "buildings": args.buildings,
        "path": if args.baseline { "baseline: one chunk and one draw per building" } else if renderer.fields_on_gpu() { "fields, GPU culling, indirect draws" } else { "fields, CPU culling, direct draws" },
        "occlusion": !args.no_occlusion,
        "adapter": ctx.adapter_name(),
        "width": args.width,
        "height": args.height,
        "generate_s": generate_s,
        "upload_s": upload_s,
        "frames": args.frames,
        "cpu_frame_ms_p50": crate::fly::percentile(&cpu_ms, 0.5),
        "cpu_frame_ms_p99": crate::fly::percentile(&cpu_ms, 0.99),
        "frame_ms_p50": crate::fly::percentile(&frame_ms, 0.5),
        "frame_ms_p99": crate::fly::percentile(&frame_ms, 0.99),
        "field_prepare_ms_p50": crate::fly::percentile(&prepare_ms, 0.5),
        "gpu_timestamps": timed,
        "gpu_frame_ms_p50": crate::fly::percentile(&gpu_ms, 0.5),
        "gpu_field_cull_ms_p50": crate::fly::percentile(&cull_gpu_ms, 0.5),
        "drawn_near": counts.near,
        "drawn_far": counts.far,
        "shadow_casters": counts.shadow_near + counts.shadow_far,
        "field_triangles": counts.triangles,
        "baseline_chunks_drawn": last.chunks_drawn,
        "baseline_triangles": last.triangles,
        "gpu_bytes": gpu_bytes,
        "cpu_bytes": cpu_bytes,
        "gpu_bytes_per_building": gpu_bytes as f64 / n,
        "style_bytes_per_building": scene.style_buffer_bytes() as f64 / n,
        "cpu_bytes_per_building": cpu_bytes as f64 / n,
        "rss_growth_bytes": crate::fly::rss().1.saturating_sub(rss_before),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprintln!(
            "{} buildings ({}): CPU frame p50 {:.2} ms, whole frame p50 {:.1} ms; drawn {} near + {} far; {:.0} B GPU and {:.0} B CPU per building",
            args.buildings,
            report["path"].as_str().unwrap_or(""),
            crate::fly::percentile(&cpu_ms, 0.5),
            crate::fly::percentile(&frame_ms, 0.5),
            counts.near,
            counts.far,
            gpu_bytes as f64 / n,
            cpu_bytes as f64 / n
        );
    }
    Ok(())
}
