//! A graticule: imagery made on the fly in EPSG:4326, lines of latitude and
//! longitude every few degrees over a colour that shades with latitude (the
//! equator lighter, the poles bluer). It needs no data, so the globe shows
//! where it is anywhere on Earth, and where each line lies is known exactly,
//! which makes it a reference for placing imagery on the globe.
//!
//! ```text
//! window(bbox, max_side) ─► pixel centres (lon, lat) ─► line within half a pixel? line colour : shade(lat)
//! ```

use super::{GeoRaster, ImageryError, ImagerySource};

/// The lines' colour (sRGB).
pub const LINE: [u8; 4] = [250, 250, 235, 255];

/// Lines every `step` degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Graticule {
    pub step: f64,
    /// Line width in pixels of the window.
    pub width_px: f64,
}

impl Default for Graticule {
    fn default() -> Self {
        Self { step: 10.0, width_px: 1.5 }
    }
}

impl Graticule {
    /// The colour between the lines at a latitude (degrees).
    pub fn shade(lat: f64) -> [u8; 4] {
        let t = (lat.abs() / 90.0).clamp(0.0, 1.0);
        let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
        [mix(70.0, 40.0), mix(120.0, 80.0), mix(110.0, 140.0), 255]
    }
}

impl ImagerySource for Graticule {
    fn name(&self) -> String {
        format!("graticule every {}°", self.step)
    }

    fn epsg(&self) -> u32 {
        4326
    }

    fn extent(&self) -> [f64; 4] {
        [-180.0, -90.0, 180.0, 90.0]
    }

    fn window(&self, bbox: [f64; 4], max_side: u32, _f: &mut Vec<ImageryError>) -> Result<GeoRaster, ImageryError> {
        let w = bbox[0].max(-180.0);
        let s = bbox[1].max(-90.0);
        let e = bbox[2].min(180.0);
        let n = bbox[3].min(90.0);
        if !(w < e && s < n && self.step > 0.0) {
            return Err(ImageryError::Source { source_name: self.name(), message: format!("empty window {bbox:?}") });
        }
        let side = max_side.clamp(1, super::MAX_WINDOW_SIDE);
        let d = ((e - w).max(n - s)) / f64::from(side);
        let (width, height) = (((e - w) / d).ceil().max(1.0) as u32, ((n - s) / d).ceil().max(1.0) as u32);
        let half = d * self.width_px / 2.0;
        let on_line = |v: f64| {
            let r = v.rem_euclid(self.step);
            r.min(self.step - r) <= half
        };
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        for row in 0..height {
            let lat = n - (f64::from(row) + 0.5) * d;
            let lat_line = on_line(lat);
            for col in 0..width {
                let lon = w + (f64::from(col) + 0.5) * d;
                let c = if lat_line || on_line(lon) { LINE } else { Self::shade(lat) };
                rgba.extend_from_slice(&c);
            }
        }
        Ok(GeoRaster { epsg: 4326, x0: w, y0: n, dx: d, dy: d, width, height, rgba })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lie_on_multiples_of_the_step() {
        let g = Graticule { step: 10.0, width_px: 2.0 };
        let r = g.window([5.0, 5.0, 25.0, 25.0], 200, &mut Vec::new()).expect("window");
        assert_eq!((r.width, r.height, r.dx), (200, 200, 0.1));
        // 0.1° pixels, lines 0.2° wide: the pixels centred 0.05° either side
        // of 20°E and of 10°N are line; those 0.15° away and 15° are not.
        assert_eq!(r.sample(20.0, 17.05), Some(LINE));
        assert_eq!(r.sample(13.05, 10.0), Some(LINE));
        assert_eq!(r.sample(20.15, 17.05), Some(Graticule::shade(17.05)));
        assert_eq!(r.sample(15.05, 15.05), Some(Graticule::shade(15.05)));
        assert_ne!(Graticule::shade(0.0), Graticule::shade(80.0));
    }
}
