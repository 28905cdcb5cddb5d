//! Screen-space text panels drawn with an 8×8 bitmap font (`font8x8`).

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::{GpuContext, shaders};

/// A box of text lines at a pixel position.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Top-left corner, pixels.
    pub x: f32,
    pub y: f32,
    pub title: Option<String>,
    pub lines: Vec<String>,
}

/// Everything drawn over the 3D view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub panels: Vec<Panel>,
    /// Glyph scale: 1 = 8 px characters.
    pub scale: f32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct OverlayVertex {
    position: [f32; 2],
    uv: [f32; 2],
    color: [f32; 4],
}

const ATLAS_COLS: u32 = 16;

pub(crate) struct OverlayPipeline {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    screen: wgpu::Buffer,
    encode_srgb: bool,
}

impl OverlayPipeline {
    pub(crate) fn new(ctx: &GpuContext, format: wgpu::TextureFormat) -> Self {
        let device = &ctx.device;
        // The atlas: 128 ASCII glyphs in a 16 × 8 grid of 8 × 8 cells.
        let (aw, ah) = (ATLAS_COLS * 8, (128 / ATLAS_COLS) * 8);
        let mut pixels = vec![0u8; (aw * ah) as usize];
        for (c, glyph) in font8x8::legacy::BASIC_LEGACY.iter().enumerate() {
            let (gx, gy) = ((c as u32 % ATLAS_COLS) * 8, (c as u32 / ATLAS_COLS) * 8);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        pixels[((gy + row as u32) * aw + gx + col) as usize] = 255;
                    }
                }
            }
        }
        let atlas = device.create_texture_with_data(
            &ctx.queue,
            &wgpu::TextureDescriptor {
                label: Some("glyph atlas"),
                size: wgpu::Extent3d { width: aw, height: ah, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            &pixels,
        );
        let screen = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("overlay screen"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("overlay"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("overlay"),
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: screen.as_entire_binding() },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&atlas.create_view(&Default::default())),
                },
            ],
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("overlay.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::OVERLAY.into()),
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("overlay"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x2, 2 => Float32x4];
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("overlay"),
            layout: Some(&pl),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: size_of::<OverlayVertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attrs,
                })],
            },
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: Some(wgpu::BlendState::ALPHA_BLENDING),
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self { pipeline, bind_group, screen, encode_srgb: !format.is_srgb() }
    }

    pub(crate) fn draw(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::RenderPass<'_>,
        overlay: &Overlay,
        width: u32,
        height: u32,
    ) {
        let verts = build_vertices(overlay, width as f32);
        if verts.is_empty() {
            return;
        }
        ctx.queue.write_buffer(
            &self.screen,
            0,
            bytemuck::cast_slice(&[width as f32, height as f32, if self.encode_srgb { 1.0 } else { 0.0 }, 0.0]),
        );
        let buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("overlay vertices"),
            contents: bytemuck::cast_slice(&verts),
            usage: wgpu::BufferUsages::VERTEX,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_vertex_buffer(0, buffer.slice(..));
        pass.draw(0..verts.len() as u32, 0..1);
    }
}

#[allow(clippy::too_many_arguments)]
fn quad(
    out: &mut Vec<OverlayVertex>,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    uv0: [f32; 2],
    uv1: [f32; 2],
    color: [f32; 4],
) {
    let v = |x, y, u, v| OverlayVertex { position: [x, y], uv: [u, v], color };
    out.extend([
        v(x0, y0, uv0[0], uv0[1]),
        v(x1, y0, uv1[0], uv0[1]),
        v(x1, y1, uv1[0], uv1[1]),
        v(x0, y0, uv0[0], uv0[1]),
        v(x1, y1, uv1[0], uv1[1]),
        v(x0, y1, uv0[0], uv1[1]),
    ]);
}

fn build_vertices(overlay: &Overlay, screen_width: f32) -> Vec<OverlayVertex> {
    let s = if overlay.scale > 0.0 { overlay.scale } else { 2.0 };
    let (cw, lh, pad) = (8.0 * s, 10.0 * s, 6.0 * s);
    let mut out = Vec::new();
    for p in &overlay.panels {
        let lines: Vec<(&str, bool)> =
            p.title.iter().map(|t| (t.as_str(), true)).chain(p.lines.iter().map(|l| (l.as_str(), false))).collect();
        let max_chars = ((screen_width - p.x - 2.0 * pad) / cw).max(1.0) as usize;
        let cols = lines.iter().map(|(l, _)| l.chars().count().min(max_chars)).max().unwrap_or(0);
        let (w, h) = (cols as f32 * cw + 2.0 * pad, lines.len() as f32 * lh + 2.0 * pad);
        quad(&mut out, p.x, p.y, p.x + w, p.y + h, [-1.0, -1.0], [-1.0, -1.0], [0.02, 0.025, 0.035, 0.78]);
        for (row, (line, title)) in lines.iter().enumerate() {
            let color = if *title { [1.0, 0.72, 0.18, 1.0] } else { [0.92, 0.92, 0.92, 1.0] };
            let y = p.y + pad + row as f32 * lh;
            for (col, ch) in line.chars().take(max_chars).enumerate() {
                let c = if ch.is_ascii() { ch as u32 } else { '?' as u32 };
                if c == ' ' as u32 {
                    continue;
                }
                let (gx, gy) = ((c % ATLAS_COLS) * 8, (c / ATLAS_COLS) * 8);
                let x = p.x + pad + col as f32 * cw;
                quad(
                    &mut out,
                    x,
                    y,
                    x + cw,
                    y + 8.0 * s,
                    [gx as f32, gy as f32],
                    [gx as f32 + 8.0, gy as f32 + 8.0],
                    color,
                );
            }
        }
    }
    out
}
