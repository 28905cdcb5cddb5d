//! The video wall's pictures (issue 18).
//!
//! ```text
//! WallLayout (displays in wall metres, the eye) + the city camera (position = the eye,
//!   looking square at the wall)
//!   └─► WallView: one frame holding the whole wall, symmetric about the eye's axis,
//!         in wall-canvas pixels
//!         ├─► display_crop(i): the display's rectangle of that frame — its off-axis
//!         │     frustum — rendered at the display's resolution (render_crop, tiled)
//!         ├─► tile_view: the whole wall's tile view; every display and every process
//!         │     selects and streams with it, so the seams show the same tiles
//!         └─► render_wall: every display pasted on the canvas, bezels as gaps
//! ```
//!
//! Every display is a crop of the same frame, so the shadow map fit, haze and
//! sky are the wall's, not the display's: the picture continues across the
//! seams and behind the bezels, undistorted for a viewer at the eye.

use glam::DVec3;
use urbis_render::{Camera, Crop, FrameStats, Lighting, Overlay, RenderError};
use urbis_tiles::View;
use urbis_wall::WallLayout;

use crate::headless::{MAX_TILE, RenderedImage, render_crop};
use crate::{Engine, shift_overlay};

/// The whole wall's frame, seen from its eye.
#[derive(Debug, Clone, PartialEq)]
pub struct WallView {
    /// At the eye, looking square at the wall (the city camera's position
    /// and rotation); its field of view encloses the whole wall, symmetric
    /// about the view axis.
    pub camera: Camera,
    /// The frame that camera sees, wall-canvas pixels.
    pub full: [f64; 2],
    /// The canvas' top-left corner in that frame, pixels.
    pub canvas_origin: [f64; 2],
    /// Canvas pixels per wall metre.
    pub density: f64,
    /// The wall's extent (west, south, east, north, metres).
    pub extent: [f64; 4],
    /// Aspect (width / height) of the frame.
    pub aspect: f64,
}

impl WallView {
    /// The wall's frame for a city camera whose position is the viewer's eye
    /// and whose right, up and back are the wall's; its field of view is
    /// ignored (the wall's geometry sets it). `None` when the eye is not in
    /// front of the wall.
    pub fn new(layout: &WallLayout, view: &Camera) -> Option<WallView> {
        let whole = layout.whole()?;
        let d = layout.eye.z;
        let (tx, ty) = (whole.left.abs().max(whole.right.abs()), whole.bottom.abs().max(whole.top.abs()));
        let density = layout.density();
        if !(density > 0.0 && d > 0.0) {
            return None;
        }
        let focal = density * d;
        let camera = Camera { fov_y: 2.0 * ty.atan(), ..*view };
        Some(WallView {
            camera,
            full: [2.0 * tx * focal, 2.0 * ty * focal],
            canvas_origin: [(whole.left + tx) * focal, (ty - whole.top) * focal],
            density,
            extent: layout.extent(),
            aspect: tx / ty,
        })
    }

    /// A rectangle of the wall (west, south, width, height in metres) as a
    /// crop of the frame.
    pub fn crop(&self, rect: [f64; 4]) -> Crop {
        let [x, y, w, h] = rect;
        let [west, _, _, north] = self.extent;
        Crop {
            x: self.canvas_origin[0] + (x - west) * self.density,
            y: self.canvas_origin[1] + (north - (y + h)) * self.density,
            width: w * self.density,
            height: h * self.density,
            full_width: self.full[0],
            full_height: self.full[1],
        }
    }

    /// The tile view of the whole wall: every display (in this process or
    /// another) selects the same tiles at the same levels with it.
    pub fn tile_view(&self, max_sse: f64) -> View {
        View {
            position: self.camera.position,
            direction: self.camera.forward(),
            up: self.camera.up(),
            fov_y: self.camera.fov_y,
            aspect: self.aspect,
            viewport_height: self.full[1],
            max_sse,
            cull: true,
        }
    }

    /// The world-space ray through a point of the wall (metres): what a
    /// viewer at the eye sees there.
    pub fn ray(&self, layout: &WallLayout, x: f64, y: f64) -> DVec3 {
        let local = DVec3::new(x, y, 0.0) - layout.eye;
        (self.camera.rotation * local).normalize()
    }
}

/// Renders display `i` at its own resolution (in tiles of at most
/// [`MAX_TILE`] pixels); `overlays` are in wall-canvas pixels, drawn in order.
pub fn render_display(
    engine: &mut Engine,
    layout: &WallLayout,
    wall: &WallView,
    i: usize,
    lighting: &Lighting,
    overlays: &[Overlay],
) -> Result<RenderedImage, RenderError> {
    let d = layout.displays.get(i).ok_or_else(|| RenderError::Readback(format!("no display {i}")))?;
    let crop = wall.crop(d.rect);
    let [west, _, _, north] = wall.extent;
    let (dx, dy) =
        (((d.rect[0] - west) * wall.density) as f32, ((north - d.rect[1] - d.rect[3]) * wall.density) as f32);
    let shifted: Vec<Overlay> = overlays.iter().map(|o| shift_overlay(o, dx, dy)).collect();
    render_crop(engine, &wall.camera, lighting, &shifted, crop, d.pixels[0], d.pixels[1], MAX_TILE)
}

/// The whole wall as one image on its canvas (see [`WallLayout::canvas`]):
/// each display rendered at its resolution and placed at its rectangle, the
/// bezels drawn as gaps of `bezel` colour, `overlays` (canvas pixels) on top. Stats add up over the displays.
pub fn render_wall(
    engine: &mut Engine,
    layout: &WallLayout,
    wall: &WallView,
    lighting: &Lighting,
    overlays: &[Overlay],
    bezel: [u8; 4],
) -> Result<RenderedImage, RenderError> {
    engine.update();
    let (cw, ch, rects) = layout.canvas();
    let mut image = image::RgbaImage::from_pixel(cw, ch, image::Rgba(bezel));
    let mut stats = FrameStats::default();
    // The displays are crops of one frame: the first draws the shadow map, the others keep it.
    let result = (|| {
        for (i, r) in rects.iter().enumerate() {
            let part = render_display(engine, layout, wall, i, lighting, overlays)?;
            engine.renderer.set_reuse_shadow_map(true);
            stats += part.stats;
            let img = if part.image.dimensions() == (r[2], r[3]) {
                part.image
            } else {
                image::imageops::resize(&part.image, r[2].max(1), r[3].max(1), image::imageops::FilterType::Triangle)
            };
            image::imageops::replace(&mut image, &img, i64::from(r[0]), i64::from(r[1]));
        }
        Ok(())
    })();
    engine.renderer.set_reuse_shadow_map(false);
    result.map(|()| RenderedImage { image, stats })
}

/// Ops overlay items (`urbis_wall::overlay::layout`, wall-canvas pixels) as
/// renderer overlays: one per text scale (smallest first), every line in
/// the first so lines lie under all panels.
pub fn ops_overlays(items: &[urbis_wall::overlay::OverlayItem]) -> Vec<Overlay> {
    urbis_wall::overlay::batches(items)
        .into_iter()
        .map(|b| Overlay {
            scale: b.scale,
            panels: b
                .panels
                .into_iter()
                .map(|t| urbis_render::Panel { x: t.x, y: t.y, title: t.title, lines: t.lines })
                .collect(),
            lines: b
                .lines
                .into_iter()
                .map(|l| urbis_render::OverlayLine {
                    points: l.points,
                    closed: l.closed,
                    width: l.width,
                    color: l.color,
                    markers: false,
                })
                .collect(),
        })
        .collect()
}
