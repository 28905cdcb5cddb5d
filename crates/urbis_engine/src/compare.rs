//! Swipe and side-by-side comparison of two states of one scene (a
//! scenario's baseline and its difference, say), in one frame.
//!
//! ```text
//! state A (FrameHook::set_mode) ─extract/prepare─► render: the whole frame, or the left half's own view
//! state B ──────────────────────extract/prepare─► render: the rest of the frame (a Crop of the same
//!                                                 projection for a swipe; the right half's own view
//!                                                 side by side) ─copy─► beside A in the target
//! the state shown before is restored; the overlay goes over both
//! ```
//!
//! A swipe is one picture cut at a vertical line: both sides share the
//! camera and projection, so the line runs through continuous geometry.
//! Side by side, each half is its own view with the half's aspect.

use urbis_render::{Camera, Crop, Lighting};
use urbis_ui::{CompareLayout, CompareSettings};

use crate::{Engine, FrameHook};

/// The pixel column where the right state starts.
pub fn split_column(settings: &CompareSettings, width: u32) -> u32 {
    match settings.layout {
        CompareLayout::Swipe => ((settings.split.clamp(0.0, 1.0) * width as f32).round() as u32).min(width),
        _ => width / 2,
    }
}

fn scratch(engine: &Engine, format: wgpu::TextureFormat, width: u32, height: u32) -> wgpu::Texture {
    engine.ctx.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("comparison half"),
        size: wgpu::Extent3d { width: width.max(1), height: height.max(1), depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

fn copy_into(engine: &Engine, from: &wgpu::Texture, to: &wgpu::Texture, x: u32) {
    let size = from.size();
    let mut encoder =
        engine.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("compare") });
    encoder.copy_texture_to_texture(
        wgpu::TexelCopyTextureInfo {
            texture: from,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyTextureInfo {
            texture: to,
            mip_level: 0,
            origin: wgpu::Origin3d { x, y: 0, z: 0 },
            aspect: wgpu::TextureAspect::All,
        },
        size,
    );
    engine.ctx.queue.submit([encoder.finish()]);
}

/// Renders the comparison into `target` (needs `COPY_DST`), `width` ×
/// `height`, with `lighting` for `camera`; the hook shows `shown` again after.
#[allow(clippy::too_many_arguments)]
pub fn render(
    engine: &mut Engine,
    hook: &mut dyn FrameHook,
    settings: &CompareSettings,
    shown: usize,
    camera: &Camera,
    lighting: &Lighting,
    target: &wgpu::Texture,
    (width, height): (u32, u32),
) {
    let view = target.create_view(&Default::default());
    let split = split_column(settings, width);
    let format = target.format();
    match settings.layout {
        CompareLayout::Off => {}
        CompareLayout::Swipe => {
            hook.set_mode(settings.left, &mut engine.model);
            engine.update();
            engine.render(camera, lighting, None, &view, width, height);
            if split < width {
                hook.set_mode(settings.right, &mut engine.model);
                engine.update();
                let right = scratch(engine, format, width - split, height);
                let crop = Crop::pixels(split, 0, width - split, height, width, height);
                engine.renderer.set_crop(Some(crop));
                engine.render(camera, lighting, None, &right.create_view(&Default::default()), width - split, height);
                engine.renderer.set_crop(None);
                copy_into(engine, &right, target, split);
            }
        }
        CompareLayout::SideBySide => {
            for (mode, x, w) in [(settings.left, 0, split), (settings.right, split, width - split)] {
                if w == 0 {
                    continue;
                }
                hook.set_mode(mode, &mut engine.model);
                engine.update();
                let half = scratch(engine, format, w, height);
                engine.render(camera, lighting, None, &half.create_view(&Default::default()), w, height);
                copy_into(engine, &half, target, x);
            }
        }
    }
    hook.set_mode(shown, &mut engine.model);
}
