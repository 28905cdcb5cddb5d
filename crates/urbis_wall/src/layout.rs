//! The wall's physical layout: each display's visible rectangle in wall
//! metres, the eye, and the frusta they make.

use glam::DVec3;

use crate::frustum::OffAxis;

/// One display of the wall.
#[derive(Debug, Clone, PartialEq)]
pub struct Display {
    pub id: String,
    /// Visible area: west, south, width, height in wall metres.
    pub rect: [f64; 4],
    /// Its resolution.
    pub pixels: [u32; 2],
    /// Which process or host renders it, and on which output or window.
    pub host: Option<String>,
    pub output: Option<String>,
    pub window: Option<[i32; 2]>,
}

impl Display {
    /// Lower-left, lower-right and upper-left corners on the wall plane (z = 0).
    pub fn corners(&self) -> (DVec3, DVec3, DVec3) {
        let [x, y, w, h] = self.rect;
        (DVec3::new(x, y, 0.0), DVec3::new(x + w, y, 0.0), DVec3::new(x, y + h, 0.0))
    }
}

/// Displays and the eye.
#[derive(Debug, Clone, PartialEq)]
pub struct WallLayout {
    pub displays: Vec<Display>,
    /// The viewer's eye, wall coordinates (z > 0: in front of the wall).
    pub eye: DVec3,
}

impl WallLayout {
    /// The frustum of display `i` from the eye.
    pub fn frustum(&self, i: usize) -> Option<OffAxis> {
        let (pa, pb, pc) = self.displays.get(i)?.corners();
        OffAxis::new(pa, pb, pc, self.eye)
    }

    /// West, south, east, north of all the displays, wall metres.
    pub fn extent(&self) -> [f64; 4] {
        self.displays.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |e, d| {
            let [x, y, w, h] = d.rect;
            [e[0].min(x), e[1].min(y), e[2].max(x + w), e[3].max(y + h)]
        })
    }

    /// The frustum through the whole wall (bezels included): one selection
    /// of tiles and levels for every display, so the seams match.
    pub fn whole(&self) -> Option<OffAxis> {
        let [w, s, e, n] = self.extent();
        OffAxis::new(DVec3::new(w, s, 0.0), DVec3::new(e, s, 0.0), DVec3::new(w, n, 0.0), self.eye)
    }

    /// Pixels per metre of the finest display: the whole wall's canvas is
    /// drawn at this density.
    pub fn density(&self) -> f64 {
        self.displays
            .iter()
            .map(|d| (f64::from(d.pixels[0]) / d.rect[2]).max(f64::from(d.pixels[1]) / d.rect[3]))
            .fold(0.0, f64::max)
    }

    /// The whole wall as one image at the finest display's pixel density:
    /// its size, and each display's pixel rectangle in it (x, y from the top
    /// left, width, height); bezels are the gaps between them.
    pub fn canvas(&self) -> (u32, u32, Vec<[u32; 4]>) {
        let density = self.density();
        let [w, _, e, n] = self.extent();
        let px = |m: f64| (m * density).round().max(0.0) as u32;
        let rects = self
            .displays
            .iter()
            .map(|d| {
                let [x, y, dw, dh] = d.rect;
                [px(x - w), px(n - (y + dh)), px(dw), px(dh)]
            })
            .collect();
        let [_, s, _, _] = self.extent();
        (px(e - w), px(n - s), rects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(id: &str, rect: [f64; 4]) -> Display {
        Display { id: id.into(), rect, pixels: [1920, 1080], host: None, output: None, window: None }
    }

    #[test]
    fn neighbours_without_a_bezel_continue_each_other() {
        let wall = WallLayout {
            displays: vec![display("a", [0.0, 0.0, 1.6, 0.9]), display("b", [1.6, 0.0, 1.6, 0.9])],
            eye: DVec3::new(1.2, 0.6, 2.0),
        };
        let (a, b) = (wall.frustum(0).expect("a"), wall.frustum(1).expect("b"));
        // The right edge of a is the left edge of b, at every height.
        for y in [-1.0, -0.3, 0.4, 1.0] {
            let (ra, rb) = (a.ray(1.0, y), b.ray(-1.0, y));
            assert!(ra.dot(rb) > 1.0 - 1e-12, "at ndc y {y}");
        }
        assert_eq!(a.basis, b.basis, "one wall plane, one view rotation");
    }

    #[test]
    fn every_display_is_a_window_onto_the_whole_wall() {
        // 3 × 2 panels of 1.6 × 0.9 m (1920 × 1080: 1200 px a metre) with
        // 1 cm gaps, the eye off centre.
        let mut displays = Vec::new();
        for r in 0..2 {
            for c in 0..3 {
                let (x, y) = (f64::from(c) * 1.61, f64::from(r) * 0.91);
                displays.push(display(&format!("c{c}r{r}"), [x, y, 1.6, 0.9]));
            }
        }
        let wall = WallLayout { displays, eye: DVec3::new(1.0, 0.9, 2.5) };
        let whole = wall.whole().expect("whole");
        let [w, s, e, n] = wall.extent();
        for (i, d) in wall.displays.iter().enumerate() {
            let f = wall.frustum(i).expect("display");
            // A point of the display seen through its own frustum and through
            // the whole wall's: the same ray, so nothing is squeezed or shifted.
            for (u, v) in [(-1.0, -1.0), (0.3, -0.2), (1.0, 1.0)] {
                let [x, y, dw, dh] = d.rect;
                let (px, py) = (x + (u + 1.0) / 2.0 * dw, y + (v + 1.0) / 2.0 * dh);
                let (wu, wv) = ((px - w) / (e - w) * 2.0 - 1.0, (py - s) / (n - s) * 2.0 - 1.0);
                assert!(f.ray(u, v).dot(whole.ray(wu, wv)) > 1.0 - 1e-12, "display {i} at ({u}, {v})");
            }
        }
        let (cw, ch, rects) = wall.canvas();
        assert_eq!((cw, ch), (5784, 2172), "3 × 1920 + 2 gaps of 12 px; 2 × 1080 + 1 gap of 12 px");
        assert_eq!(rects[0], [0, 1092, 1920, 1080], "c0r0, the lower-left panel, below the top row and its gap");
        assert_eq!(rects[5], [3864, 0, 1920, 1080], "c2r1, the upper-right panel");
    }
}
