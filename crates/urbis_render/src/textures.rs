//! Base-colour textures: RGBA8 sRGB images uploaded with a CPU-built mip
//! chain, each with its own bind group (group 2 of the city pipelines).

use std::collections::HashMap;

use crate::GpuContext;

/// Identifies a texture (the caller's choice, e.g. a model texture id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextureKey(pub u64);

/// The bind group layout of a base-colour texture and its sampler.
pub(crate) fn layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("base colour texture"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
        ],
    })
}

pub(crate) struct Textures {
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    groups: HashMap<TextureKey, wgpu::BindGroup>,
    /// A 1×1 white texture bound for untextured draws.
    pub(crate) white: wgpu::BindGroup,
    pub(crate) bytes_uploaded: u64,
}

impl Textures {
    pub(crate) fn new(ctx: &GpuContext) -> Self {
        let layout = layout(&ctx.device);
        let sampler = ctx.device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("base colour"),
            address_mode_u: wgpu::AddressMode::Repeat,
            address_mode_v: wgpu::AddressMode::Repeat,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            ..Default::default()
        });
        let (white, bytes) = upload(ctx, &layout, &sampler, 1, 1, &[255, 255, 255, 255]);
        Self { white, layout, sampler, groups: HashMap::new(), bytes_uploaded: bytes }
    }

    /// Uploads an RGBA8 sRGB image (`width` × `height`, rows packed) with mipmaps.
    pub(crate) fn insert(&mut self, ctx: &GpuContext, key: TextureKey, width: u32, height: u32, rgba: &[u8]) {
        if width == 0 || height == 0 || rgba.len() != (width * height * 4) as usize {
            return;
        }
        let (g, bytes) = upload(ctx, &self.layout, &self.sampler, width, height, rgba);
        self.bytes_uploaded += bytes;
        self.groups.insert(key, g);
    }

    pub(crate) fn get(&self, key: Option<TextureKey>) -> &wgpu::BindGroup {
        key.and_then(|k| self.groups.get(&k)).unwrap_or(&self.white)
    }

    pub(crate) fn contains(&self, key: TextureKey) -> bool {
        self.groups.contains_key(&key)
    }

    /// Drops a texture (its bind group holds the GPU texture, freed with it).
    pub(crate) fn remove(&mut self, key: TextureKey) -> bool {
        self.groups.remove(&key).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }
}

/// Creates a mipmapped texture and its bind group; returns the bytes uploaded.
fn upload(
    ctx: &GpuContext,
    layout: &wgpu::BindGroupLayout,
    sampler: &wgpu::Sampler,
    width: u32,
    height: u32,
    rgba: &[u8],
) -> (wgpu::BindGroup, u64) {
    {
        let levels = 32 - width.max(height).leading_zeros();
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("base colour"),
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: levels,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8UnormSrgb,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let (mut w, mut h, mut level) = (width, height, rgba.to_vec());
        let mut bytes = 0u64;
        for mip in 0..levels {
            ctx.queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &texture,
                    mip_level: mip,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                &level,
                wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(4 * w), rows_per_image: Some(h) },
                wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
            );
            bytes += level.len() as u64;
            if w == 1 && h == 1 {
                break;
            }
            let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
            level = downsample(&level, w, h, nw, nh);
            (w, h) = (nw, nh);
        }
        let view = texture.create_view(&Default::default());
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("base colour"),
            layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: wgpu::BindingResource::TextureView(&view) },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::Sampler(sampler) },
            ],
        });
        (group, bytes)
    }
}

/// Box-filters an RGBA8 image to the next mip level (2×2 averages, edges clamped).
fn downsample(src: &[u8], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u8> {
    let mut out = vec![0u8; (nw * nh * 4) as usize];
    for y in 0..nh {
        for x in 0..nw {
            for c in 0..4 {
                let mut sum = 0u32;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let sx = (2 * x + dx).min(w - 1);
                    let sy = (2 * y + dy).min(h - 1);
                    sum += src[((sy * w + sx) * 4 + c) as usize] as u32;
                }
                out[((y * nw + x) * 4 + c) as usize] = (sum / 4) as u8;
            }
        }
    }
    out
}
