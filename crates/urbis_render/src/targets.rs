//! The frame's own targets, sized to the output: the city pass's linear
//! colour and feature ids, and reversed-Z depth, which the composite pass
//! reads (and picking reads the ids).

use crate::GpuContext;
use crate::pipelines::{COLOR_FORMAT, DEPTH_FORMAT, ID_FORMAT};

/// The colour, feature-id and depth targets of one frame size.
pub(crate) struct Targets {
    pub width: u32,
    pub height: u32,
    pub color: wgpu::TextureView,
    pub id_texture: wgpu::Texture,
    pub id: wgpu::TextureView,
    pub depth: wgpu::TextureView,
}

impl Targets {
    pub(crate) fn new(ctx: &GpuContext, width: u32, height: u32) -> Self {
        let make = |label, format, usage| {
            ctx.device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let rt = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING;
        let color = make("colour", COLOR_FORMAT, rt);
        let id_texture = make("feature id", ID_FORMAT, rt | wgpu::TextureUsages::COPY_SRC);
        let depth = make("depth", DEPTH_FORMAT, rt);
        Self {
            width,
            height,
            color: color.create_view(&Default::default()),
            id: id_texture.create_view(&Default::default()),
            id_texture,
            depth: depth.create_view(&Default::default()),
        }
    }
}
