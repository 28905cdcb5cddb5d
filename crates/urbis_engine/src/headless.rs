//! Headless rendering: the same frame path, into a texture read back to an image.

use urbis_render::{Camera, Crop, FrameStats, HeadlessTarget, Lighting, Overlay, RenderError};

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
    draw(engine, camera, lighting, overlay.map(std::slice::from_ref).unwrap_or_default(), width, height)
}

/// Draws the engine's prepared state into a fresh target, the overlays over
/// it in order, and reads it back.
fn draw(
    engine: &mut Engine,
    camera: &Camera,
    lighting: &Lighting,
    overlays: &[Overlay],
    width: u32,
    height: u32,
) -> Result<RenderedImage, RenderError> {
    let target = HeadlessTarget::new(&engine.ctx, width, height);
    let stats = engine.render(camera, lighting, overlays.first(), &target.view, width, height);
    for o in overlays.iter().skip(1) {
        engine.render_overlay(o, &target.view, width, height);
    }
    let pixels = target.read_rgba(&engine.ctx)?;
    let image =
        image::RgbaImage::from_raw(width, height, pixels).ok_or_else(|| RenderError::Readback("short image".into()))?;
    Ok(RenderedImage { image, stats })
}

/// The largest side a single headless frame is rendered at; larger images
/// are rendered in tiles of this size.
pub const MAX_TILE: u32 = 4096;

/// Renders a frame of any size (an 8K screenshot on lavapipe, say) in tiles
/// of at most `tile` pixels a side, stitched into one image. Each tile is a
/// [`Crop`] of the whole frame: the same projection, culling and shadow
/// fit, so the tiles meet without seams; overlay panels are placed in the
/// whole frame. Stats add up over the tiles (a chunk in two tiles counts twice).
pub fn render_image_tiled(
    engine: &mut Engine,
    camera: &Camera,
    lighting: &Lighting,
    overlay: Option<&Overlay>,
    width: u32,
    height: u32,
    tile: u32,
) -> Result<RenderedImage, RenderError> {
    if width <= tile.max(16) && height <= tile.max(16) {
        return render_image(engine, camera, lighting, overlay, width, height);
    }
    engine.update();
    let whole = Crop::pixels(0, 0, width, height, width, height);
    let overlays = overlay.map(std::slice::from_ref).unwrap_or_default();
    render_crop(engine, camera, lighting, overlays, whole, width, height, tile)
}

/// Renders `crop` of the camera's frame into a `width` × `height` image,
/// in tiles of at most `tile` pixels a side (each a crop of the crop), with
/// `overlays` (drawn in order) placed in the image's pixels. The engine is
/// not updated.
#[allow(clippy::too_many_arguments)]
pub fn render_crop(
    engine: &mut Engine,
    camera: &Camera,
    lighting: &Lighting,
    overlays: &[Overlay],
    crop: Crop,
    width: u32,
    height: u32,
    tile: u32,
) -> Result<RenderedImage, RenderError> {
    let tile = tile.max(16);
    let (sx, sy) = (crop.width / f64::from(width.max(1)), crop.height / f64::from(height.max(1)));
    let mut image = image::RgbaImage::new(width, height);
    let mut stats = FrameStats::default();
    let reusing = engine.renderer.reuses_shadow_map();
    let result = (|| {
        for y0 in (0..height).step_by(tile as usize) {
            for x0 in (0..width).step_by(tile as usize) {
                let (w, h) = (tile.min(width - x0), tile.min(height - y0));
                engine.renderer.set_crop(Some(Crop {
                    x: crop.x + f64::from(x0) * sx,
                    y: crop.y + f64::from(y0) * sy,
                    width: f64::from(w) * sx,
                    height: f64::from(h) * sy,
                    ..crop
                }));
                let shifted: Vec<Overlay> = overlays.iter().map(|o| shift_overlay(o, x0 as f32, y0 as f32)).collect();
                let part = draw(engine, camera, lighting, &shifted, w, h)?;
                stats += part.stats;
                image::imageops::replace(&mut image, &part.image, i64::from(x0), i64::from(y0));
                // Every tile has the whole frame's shadow fit: the first draws the map.
                engine.renderer.set_reuse_shadow_map(true);
            }
        }
        Ok(())
    })();
    engine.renderer.set_crop(None);
    engine.renderer.set_reuse_shadow_map(reusing);
    result.map(|()| RenderedImage { image, stats })
}

/// An overlay moved `dx`, `dy` pixels up and to the left (for a tile or a
/// display whose top-left lies there in the overlay's frame).
pub fn shift_overlay(o: &Overlay, dx: f32, dy: f32) -> Overlay {
    Overlay {
        panels: o.panels.iter().map(|p| urbis_render::Panel { x: p.x - dx, y: p.y - dy, ..p.clone() }).collect(),
        scale: o.scale,
        lines: o
            .lines
            .iter()
            .map(|l| urbis_render::OverlayLine {
                points: l.points.iter().map(|p| [p[0] - dx, p[1] - dy]).collect(),
                ..l.clone()
            })
            .collect(),
    }
}
