//! The district's ground: gentle plain, a hill, and a meandering river
//! valley with a floodplain, sampled into a DEM.

use noise::{Fbm, MultiFractal, NoiseFn, Perlin};

/// The river: a meandering centreline crossing the district west to east.
#[derive(Debug, Clone)]
pub struct River {
    pub base_y: f64,
    pub phase: f64,
}

impl River {
    /// Centreline northing at easting `x` (local metres).
    pub fn centre_y(&self, x: f64) -> f64 {
        use std::f64::consts::TAU;
        self.base_y + 110.0 * (TAU * x / 1400.0 + self.phase).sin() + 35.0 * (TAU * x / 530.0 + 2.0 * self.phase).sin()
    }

    fn slope(&self, x: f64) -> f64 {
        (self.centre_y(x + 0.5) - self.centre_y(x - 0.5)) / 1.0
    }

    /// Approximate horizontal distance from the centreline.
    pub fn distance(&self, x: f64, y: f64) -> f64 {
        (y - self.centre_y(x)).abs() / (1.0 + self.slope(x).powi(2)).sqrt()
    }

    /// River-bed height; the river falls 1 m across the district.
    pub fn bed(&self, x: f64) -> f64 {
        3.6 - x * 0.0005
    }

    /// Normal water level (1.6 m over the bed).
    pub fn water_level(&self, x: f64) -> f64 {
        self.bed(x) + 1.6
    }

    /// Half-width of the water surface polygon, reaching into the banks.
    pub const WATER_HALF_WIDTH: f64 = 25.0;
    /// Half-width of the valley kept free of blocks (floodplain and embankments).
    pub const CORRIDOR_HALF_WIDTH: f64 = 105.0;
}

/// The analytic terrain that the DEM samples.
pub struct TerrainModel {
    pub river: River,
    pub hill: (f64, f64, f64, f64), // x, y, sigma, height
    pub pond: (f64, f64, f64, f64), // x, y, radius, depth
    noise: Fbm<Perlin>,
}

fn smoothstep(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl TerrainModel {
    pub fn new(seed: u32, river: River, hill: (f64, f64, f64, f64), pond: (f64, f64, f64, f64)) -> Self {
        Self { river, hill, pond, noise: Fbm::<Perlin>::new(seed).set_octaves(4).set_frequency(1.0) }
    }

    /// Ground height before the river is carved.
    pub fn plain(&self, x: f64, y: f64) -> f64 {
        let (hx, hy, hs, hh) = self.hill;
        let hill = hh * (-((x - hx).powi(2) + (y - hy).powi(2)) / (2.0 * hs * hs)).exp();
        let (px, py, pr, pd) = self.pond;
        let pd_r = ((x - px).powi(2) + (y - py).powi(2)).sqrt() / pr;
        let pond = -pd * (1.0 - smoothstep((pd_r - 0.55) / 0.6));
        9.0 + 2.0 * (y / 2000.0) + 1.2 * (1.0 - x / 2000.0) + 1.1 * self.noise.get([x / 600.0, y / 600.0]) + hill + pond
    }

    /// Ground height at local (x, y).
    pub fn height(&self, x: f64, y: f64) -> f64 {
        let ground = self.plain(x, y);
        let d = self.river.distance(x, y);
        let bed = self.river.bed(x);
        let floodplain = bed + 3.0;
        let valley = if d < 18.0 {
            bed + 0.4 * (d / 18.0).powi(2)
        } else if d < 30.0 {
            bed + 0.4 + (floodplain - bed - 0.4) * smoothstep((d - 18.0) / 12.0)
        } else if d < 80.0 {
            floodplain + 0.8 * (d - 30.0) / 50.0
        } else if d < Self::EMBANKMENT {
            let t = smoothstep((d - 80.0) / (Self::EMBANKMENT - 80.0));
            (floodplain + 0.8) * (1.0 - t) + ground * t
        } else {
            ground
        };
        valley.min(ground)
    }

    const EMBANKMENT: f64 = 100.0;
}
