//! A rectangle of a larger frame, as a clip-space matrix: tiled
//! screenshots and the displays of a video wall are crops of one frame.

use glam::Vec4;

/// One rectangle of a larger frame: pixels `x..x + width`, `y..y + height`
/// (from the top left, fractions allowed) of a `full_width` × `full_height`
/// frame, stretched over the render target. Tiled screenshots render a
/// large frame as whole-pixel crops; a video wall renders each display as
/// the crop of one frame that holds the whole wall, which is the display's
/// off-axis frustum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub full_width: f64,
    pub full_height: f64,
}

impl Crop {
    /// A crop in whole pixels.
    pub fn pixels(x: u32, y: u32, width: u32, height: u32, full_width: u32, full_height: u32) -> Crop {
        Crop {
            x: f64::from(x),
            y: f64::from(y),
            width: f64::from(width),
            height: f64::from(height),
            full_width: f64::from(full_width),
            full_height: f64::from(full_height),
        }
    }

    /// Clip space of the full frame → clip space of the rectangle.
    pub fn matrix(&self) -> glam::Mat4 {
        let (fw, fh) = (self.full_width.max(1e-9), self.full_height.max(1e-9));
        let (w, h) = (self.width.max(1e-9), self.height.max(1e-9));
        let (sx, sy) = (fw / w, fh / h);
        // The rectangle's centre in full-frame NDC (y up).
        let cx = (self.x + w / 2.0) / fw * 2.0 - 1.0;
        let cy = 1.0 - (self.y + h / 2.0) / fh * 2.0;
        glam::Mat4::from_cols(
            Vec4::new(sx as f32, 0.0, 0.0, 0.0),
            Vec4::new(0.0, sy as f32, 0.0, 0.0),
            Vec4::new(0.0, 0.0, 1.0, 0.0),
            Vec4::new((-cx * sx) as f32, (-cy * sy) as f32, 0.0, 1.0),
        )
    }
}
