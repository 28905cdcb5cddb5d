//! Screen-space text panels in the bundled font (`urbis_text`: Noto Sans
//! CJK SC, so names such as 大寒 show as written). Glyphs are rasterised on
//! the CPU when first needed, at the size they are drawn, into a single-
//! channel atlas texture that is uploaded when it changes; quads then map
//! screen pixels to atlas texels one to one.

use std::collections::HashMap;

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

/// A polyline over the view (a measurement, a section's outline), pixels
/// from the top left, drawn under the panels with a dark edge so it reads
/// on any background.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlayLine {
    pub points: Vec<[f32; 2]>,
    /// Join the last point to the first.
    pub closed: bool,
    /// Width, pixels.
    pub width: f32,
    /// Linear RGBA.
    pub color: [f32; 4],
    /// Draw a square at every point.
    pub markers: bool,
}

/// Everything drawn over the 3D view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub panels: Vec<Panel>,
    /// Text scale: 1 = 8.5 px type on 10 px lines.
    pub scale: f32,
    /// Polylines, drawn first.
    pub lines: Vec<OverlayLine>,
}

/// The size a panel is drawn at, pixels (text width and lines plus padding),
/// at `scale` (as [`Overlay::scale`]), before any clipping at the screen's edge.
pub fn panel_size(panel: &Panel, scale: f32) -> (f32, f32) {
    let s = if scale > 0.0 { scale } else { 2.0 };
    let (em, lh, pad) = ((8.5 * s).round(), 10.0 * s, 6.0 * s);
    let lines = panel.title.iter().chain(&panel.lines);
    let width = lines.clone().map(|l| urbis_text::measure(l, em).0).fold(0.0f32, f32::max);
    (width.ceil() + 2.0 * pad, lines.count() as f32 * lh + 2.0 * pad)
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct OverlayVertex {
    position: [f32; 2],
    uv: [f32; 2],
    color: [f32; 4],
}

/// The atlas texture's side, texels.
const ATLAS: u32 = 1024;

/// Where a glyph lies in the atlas, and its offset from the pen at the line's top.
#[derive(Debug, Clone, Copy)]
struct Slot {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    dx: i32,
    dy: i32,
}

/// Glyphs packed in shelves; cleared and refilled when it runs out of room.
struct GlyphAtlas {
    pixels: Vec<u8>,
    slots: HashMap<(char, u32), Option<Slot>>,
    /// The open shelf: next x, its top y, its height so far.
    shelf: (u32, u32, u32),
    dirty: bool,
    /// Times the atlas was cleared (a frame laid out across a clear is laid out again).
    resets: u64,
}

impl GlyphAtlas {
    fn new() -> Self {
        Self {
            pixels: vec![0; (ATLAS * ATLAS) as usize],
            slots: HashMap::new(),
            shelf: (0, 0, 0),
            dirty: true,
            resets: 0,
        }
    }

    /// The slot of `c` at `px` pixels per em (`None` for blank glyphs), rasterising it when new.
    fn slot(&mut self, c: char, px: f32) -> Option<Slot> {
        let key = (c, px.to_bits());
        if let Some(s) = self.slots.get(&key) {
            return *s;
        }
        let mut ink: Vec<(i32, i32, f32)> = Vec::new();
        urbis_text::rasterize(&c.to_string(), px, (0.0, 0.0), |x, y, v| ink.push((x, y, v)));
        let slot = if ink.is_empty() {
            None
        } else {
            let (x0, y0) = (ink.iter().map(|p| p.0).min().unwrap_or(0), ink.iter().map(|p| p.1).min().unwrap_or(0));
            let (x1, y1) = (ink.iter().map(|p| p.0).max().unwrap_or(0), ink.iter().map(|p| p.1).max().unwrap_or(0));
            let (w, h) = ((x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32);
            let (mut sx, mut sy, mut sh) = self.shelf;
            if sx + w + 1 > ATLAS {
                (sx, sy, sh) = (0, sy + sh + 1, 0);
            }
            if sy + h + 1 > ATLAS || w + 1 > ATLAS {
                // Full: start again (the frame re-requests what it needs).
                self.pixels.fill(0);
                self.slots.clear();
                self.resets += 1;
                (sx, sy, sh) = (0, 0, 0);
                if h + 1 > ATLAS || w + 1 > ATLAS {
                    return None;
                }
            }
            for (x, y, v) in ink {
                let (ax, ay) = (sx + (x - x0) as u32, sy + (y - y0) as u32);
                let p = &mut self.pixels[(ay * ATLAS + ax) as usize];
                *p = (*p).max((v * 255.0).round() as u8);
            }
            self.shelf = (sx + w + 1, sy, sh.max(h));
            self.dirty = true;
            Some(Slot { x: sx, y: sy, w, h, dx: x0, dy: y0 })
        };
        self.slots.insert(key, slot);
        slot
    }
}

pub(crate) struct OverlayPipeline {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    screen: wgpu::Buffer,
    encode_srgb: bool,
    atlas: GlyphAtlas,
    atlas_texture: wgpu::Texture,
}

impl OverlayPipeline {
    pub(crate) fn new(ctx: &GpuContext, format: wgpu::TextureFormat) -> Self {
        let device = &ctx.device;
        let atlas = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("glyph atlas"),
            size: wgpu::Extent3d { width: ATLAS, height: ATLAS, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
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
        Self {
            pipeline,
            bind_group,
            screen,
            encode_srgb: !format.is_srgb(),
            atlas: GlyphAtlas::new(),
            atlas_texture: atlas,
        }
    }

    pub(crate) fn draw(
        &mut self,
        ctx: &GpuContext,
        pass: &mut wgpu::RenderPass<'_>,
        overlay: &Overlay,
        width: u32,
        height: u32,
    ) {
        let resets = self.atlas.resets;
        let mut verts = build_vertices(overlay, width as f32, &mut self.atlas);
        if self.atlas.resets != resets {
            verts = build_vertices(overlay, width as f32, &mut self.atlas);
        }
        if verts.is_empty() {
            return;
        }
        if std::mem::take(&mut self.atlas.dirty) {
            ctx.queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &self.atlas_texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                &self.atlas.pixels,
                wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(ATLAS), rows_per_image: Some(ATLAS) },
                wgpu::Extent3d { width: ATLAS, height: ATLAS, depth_or_array_layers: 1 },
            );
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

/// Segments (and markers) of `line` as solid triangles `width` pixels wide.
fn polyline(out: &mut Vec<OverlayVertex>, line: &OverlayLine, width: f32, color: [f32; 4]) {
    let n = line.points.len();
    let segments = if line.closed && n > 2 { n } else { n.saturating_sub(1) };
    let v = |p: [f32; 2]| OverlayVertex { position: p, uv: [-1.0, -1.0], color };
    for i in 0..segments {
        let (a, b) = (line.points[i], line.points[(i + 1) % n]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = dx.hypot(dy);
        if len < 1e-3 || !len.is_finite() {
            continue;
        }
        // Half a width across the segment, and half a width past each end (square caps).
        let (ux, uy) = (dx / len * width * 0.5, dy / len * width * 0.5);
        let (nx, ny) = (-uy, ux);
        let (a, b) = ([a[0] - ux, a[1] - uy], [b[0] + ux, b[1] + uy]);
        let c = [[a[0] + nx, a[1] + ny], [b[0] + nx, b[1] + ny], [b[0] - nx, b[1] - ny], [a[0] - nx, a[1] - ny]];
        out.extend([v(c[0]), v(c[1]), v(c[2]), v(c[0]), v(c[2]), v(c[3])]);
    }
    if line.markers {
        let r = width * 1.6;
        for p in &line.points {
            quad(out, p[0] - r, p[1] - r, p[0] + r, p[1] + r, [-1.0, -1.0], [-1.0, -1.0], color);
        }
    }
}

fn build_vertices(overlay: &Overlay, screen_width: f32, atlas: &mut GlyphAtlas) -> Vec<OverlayVertex> {
    let s = if overlay.scale > 0.0 { overlay.scale } else { 2.0 };
    let (em, lh, pad) = ((8.5 * s).round(), 10.0 * s, 6.0 * s);
    let mut out = Vec::new();
    for line in &overlay.lines {
        // The dark edge, then the line over it.
        let edge = [0.0, 0.0, 0.0, 0.65 * line.color[3]];
        polyline(&mut out, line, line.width + 2.0, edge);
        polyline(&mut out, line, line.width, line.color);
    }
    for p in &overlay.panels {
        let lines: Vec<(&str, bool)> =
            p.title.iter().map(|t| (t.as_str(), true)).chain(p.lines.iter().map(|l| (l.as_str(), false))).collect();
        let max_w = (screen_width - p.x - 2.0 * pad).max(em);
        // Each line's glyphs up to the width the screen leaves.
        let laid: Vec<Vec<(char, f32)>> = lines
            .iter()
            .map(|(line, _)| {
                line.chars()
                    .zip(urbis_text::layout(line, em))
                    .map(|(c, g)| (c, g.position.x))
                    .take_while(|(c, x)| x + urbis_text::measure(&c.to_string(), em).0 <= max_w)
                    .collect()
            })
            .collect();
        let width = laid
            .iter()
            .filter_map(|l| l.last().map(|(c, x)| x + urbis_text::measure(&c.to_string(), em).0))
            .fold(0.0f32, f32::max);
        let (w, h) = (width.ceil() + 2.0 * pad, lines.len() as f32 * lh + 2.0 * pad);
        quad(&mut out, p.x, p.y, p.x + w, p.y + h, [-1.0, -1.0], [-1.0, -1.0], [0.02, 0.025, 0.035, 0.78]);
        for (row, ((_, title), glyphs)) in lines.iter().zip(&laid).enumerate() {
            let color = if *title { [1.0, 0.72, 0.18, 1.0] } else { [0.92, 0.92, 0.92, 1.0] };
            let y = (p.y + pad + row as f32 * lh + (lh - em) * 0.5).round();
            for &(c, gx) in glyphs {
                let Some(slot) = atlas.slot(c, em) else { continue };
                let x = (p.x + pad + gx).round() + slot.dx as f32;
                let top = y + slot.dy as f32;
                quad(
                    &mut out,
                    x,
                    top,
                    x + slot.w as f32,
                    top + slot.h as f32,
                    [slot.x as f32, slot.y as f32],
                    [(slot.x + slot.w) as f32, (slot.y + slot.h) as f32],
                    color,
                );
            }
        }
    }
    out
}
