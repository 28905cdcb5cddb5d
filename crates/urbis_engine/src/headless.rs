//! Headless rendering: the same frame path, into a texture read back to an image.

use urbis_render::{Camera, FrameStats, HeadlessTarget, Lighting, Overlay, RenderError};

use crate::Engine;

/// An RGBA8 image and what drawing it took.
#[derive(Debug)]
pub struct RenderedImage {
    pub image: image::RgbaImage,
    pub stats: FrameStats,
}

/// Renders one frame of the engine's current state to an image.
pub fn render_image(
    engine: &mut Engine,
    camera: &Camera,
    lighting: &Lighting,
    overlay: Option<&Overlay>,
    width: u32,
    height: u32,
) -> Result<RenderedImage, RenderError> {
    engine.update();
    let target = HeadlessTarget::new(&engine.ctx, width, height);
    let stats = engine.render(camera, lighting, overlay, &target.view, width, height);
    let pixels = target.read_rgba(&engine.ctx)?;
    let image =
        image::RgbaImage::from_raw(width, height, pixels).ok_or_else(|| RenderError::Readback("short image".into()))?;
    Ok(RenderedImage { image, stats })
}
