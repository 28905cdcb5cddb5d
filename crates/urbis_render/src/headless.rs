//! Offscreen output and GPU → CPU readback.

use crate::{GpuContext, RenderError};

/// An offscreen RGBA8 (sRGB) texture that frames can be rendered into and read back.
pub struct HeadlessTarget {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for HeadlessTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadlessTarget({}×{})", self.width, self.height)
    }
}

impl HeadlessTarget {
    pub const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

    pub fn new(ctx: &GpuContext, width: u32, height: u32) -> Self {
        let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("headless output"),
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: Self::FORMAT,
            // COPY_DST: frames put together from several renders (comparisons) copy into it.
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        Self { texture, view, width, height }
    }

    /// The pixels, tightly packed RGBA8 rows (sRGB-encoded).
    pub fn read_rgba(&self, ctx: &GpuContext) -> Result<Vec<u8>, RenderError> {
        read_texture(ctx, &self.texture, wgpu::Origin3d::ZERO, self.width, self.height, 4)
    }
}

/// The whole of an 8-bit, 4-channel texture (a window's surface texture, say)
/// as RGBA rows, tightly packed; BGRA formats are swizzled. The texture
/// needs `COPY_SRC` usage.
pub fn read_texture_rgba(ctx: &GpuContext, texture: &wgpu::Texture) -> Result<Vec<u8>, RenderError> {
    use wgpu::TextureFormat as F;
    let format = texture.format();
    let bgra = matches!(format, F::Bgra8Unorm | F::Bgra8UnormSrgb);
    if !(bgra || matches!(format, F::Rgba8Unorm | F::Rgba8UnormSrgb)) {
        return Err(RenderError::Readback(format!("cannot read back a {format:?} texture as RGBA8")));
    }
    let size = texture.size();
    let mut px = read_texture(ctx, texture, wgpu::Origin3d::ZERO, size.width, size.height, 4)?;
    if bgra {
        px.chunks_exact_mut(4).for_each(|p| p.swap(0, 2));
    }
    Ok(px)
}

/// Copies a region of a texture to the CPU, rows tightly packed.
pub(crate) fn read_texture(
    ctx: &GpuContext,
    texture: &wgpu::Texture,
    origin: wgpu::Origin3d,
    width: u32,
    height: u32,
    bytes_per_pixel: u32,
) -> Result<Vec<u8>, RenderError> {
    let unpadded = width * bytes_per_pixel;
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let padded = unpadded.div_ceil(align) * align;
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (padded * height) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo { texture, mip_level: 0, origin, aspect: wgpu::TextureAspect::All },
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
    );
    ctx.queue.submit([encoder.finish()]);
    let data = map_read(ctx, &buffer)?;
    let mut out = Vec::with_capacity((unpadded * height) as usize);
    for row in data.chunks(padded as usize).take(height as usize) {
        out.extend_from_slice(&row[..unpadded as usize]);
    }
    Ok(out)
}

/// Waits for the GPU, then copies a `MAP_READ` buffer's bytes out and unmaps it.
pub(crate) fn map_read(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Result<Vec<u8>, RenderError> {
    let failed = |e: &dyn std::fmt::Display| RenderError::Readback(e.to_string());
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| failed(&e))?;
    rx.recv().map_err(|e| failed(&e))?.map_err(|e| failed(&e))?;
    let out = slice.get_mapped_range().map_err(|e| failed(&e))?.to_vec();
    buffer.unmap();
    Ok(out)
}

/// Copies a whole buffer (with `COPY_SRC`) to the CPU.
pub(crate) fn read_buffer(ctx: &GpuContext, source: &wgpu::Buffer) -> Result<Vec<u8>, RenderError> {
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: source.size(),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    encoder.copy_buffer_to_buffer(source, 0, &buffer, 0, source.size());
    ctx.queue.submit([encoder.finish()]);
    map_read(ctx, &buffer)
}
