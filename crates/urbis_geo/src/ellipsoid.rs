//! Reference ellipsoids and the geodetic ↔ ECEF conversion, in f64.

use glam::DVec3;
use serde::{Deserialize, Serialize};

use crate::GeoError;

/// A reference ellipsoid given by its semi-major axis and flattening.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipsoid {
    /// Semi-major axis in metres.
    pub a: f64,
    /// Flattening.
    pub f: f64,
}

/// A geodetic position: longitude and latitude in degrees, ellipsoidal height in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geodetic {
    pub lon_deg: f64,
    pub lat_deg: f64,
    pub height: f64,
}

impl Geodetic {
    pub const fn new(lon_deg: f64, lat_deg: f64, height: f64) -> Self {
        Self { lon_deg, lat_deg, height }
    }

    /// Checks that the coordinate is finite and latitude lies in [-90, 90].
    pub fn validate(&self) -> Result<(), GeoError> {
        if !(self.lon_deg.is_finite() && self.lat_deg.is_finite() && self.height.is_finite()) {
            return Err(GeoError::InvalidCoordinate(format!("non-finite geodetic {self:?}")));
        }
        if self.lat_deg.abs() > 90.0 {
            return Err(GeoError::InvalidCoordinate(format!("latitude {} beyond ±90°", self.lat_deg)));
        }
        Ok(())
    }
}

impl Ellipsoid {
    /// WGS84 (EPSG:7030).
    pub const WGS84: Ellipsoid = Ellipsoid { a: 6_378_137.0, f: 1.0 / 298.257_223_563 };
    /// CGCS2000 (EPSG:1024), identical to GRS80 in a and f. Its semi-minor
    /// axis differs from WGS84's by 0.1 mm, so Urbis uses one ECEF for both.
    pub const CGCS2000: Ellipsoid = Ellipsoid { a: 6_378_137.0, f: 1.0 / 298.257_222_101 };

    /// Semi-minor axis b = a (1 - f).
    pub fn b(&self) -> f64 {
        self.a * (1.0 - self.f)
    }

    /// First eccentricity squared e² = f (2 - f).
    pub fn e2(&self) -> f64 {
        self.f * (2.0 - self.f)
    }

    /// Prime-vertical radius of curvature N(φ).
    pub fn prime_vertical_radius(&self, lat_rad: f64) -> f64 {
        let s = lat_rad.sin();
        self.a / (1.0 - self.e2() * s * s).sqrt()
    }

    /// Geodetic (lon, lat in degrees, h in metres) to ECEF metres.
    pub fn geodetic_to_ecef(&self, g: Geodetic) -> DVec3 {
        let (lat, lon) = (g.lat_deg.to_radians(), g.lon_deg.to_radians());
        let n = self.prime_vertical_radius(lat);
        let (sl, cl) = lat.sin_cos();
        let (so, co) = lon.sin_cos();
        DVec3::new((n + g.height) * cl * co, (n + g.height) * cl * so, (n * (1.0 - self.e2()) + g.height) * sl)
    }

    /// ECEF metres to geodetic, by Heikkinen's closed form (Zhu 1993),
    /// accurate to well under a millimetre for any point outside the Earth's core.
    pub fn ecef_to_geodetic(&self, p: DVec3) -> Geodetic {
        let a = self.a;
        let b = self.b();
        let e2 = self.e2();
        let ep2 = (a * a - b * b) / (b * b);
        let r = (p.x * p.x + p.y * p.y).sqrt();
        let lon = p.y.atan2(p.x);
        if r < 1e-9 {
            // On the polar axis.
            let lat = if p.z >= 0.0 { 90.0 } else { -90.0 };
            return Geodetic::new(lon.to_degrees(), lat, p.z.abs() - b);
        }
        let big_e2 = a * a - b * b;
        let f = 54.0 * b * b * p.z * p.z;
        let g = r * r + (1.0 - e2) * p.z * p.z - e2 * big_e2;
        let c = e2 * e2 * f * r * r / (g * g * g);
        let s = (1.0 + c + (c * c + 2.0 * c).sqrt()).cbrt();
        let k = s + 1.0 + 1.0 / s;
        let pp = f / (3.0 * k * k * g * g);
        let q = (1.0 + 2.0 * e2 * e2 * pp).sqrt();
        let r0 = -(pp * e2 * r) / (1.0 + q)
            + (0.5 * a * a * (1.0 + 1.0 / q) - pp * (1.0 - e2) * p.z * p.z / (q * (1.0 + q)) - 0.5 * pp * r * r)
                .max(0.0)
                .sqrt();
        let u = ((r - e2 * r0).powi(2) + p.z * p.z).sqrt();
        let v = ((r - e2 * r0).powi(2) + (1.0 - e2) * p.z * p.z).sqrt();
        let z0 = b * b * p.z / (a * v);
        let h = u * (1.0 - b * b / (a * v));
        let lat = (p.z + ep2 * z0).atan2(r);
        Geodetic::new(lon.to_degrees(), lat.to_degrees(), h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_land_on_the_ellipsoid() {
        let e = Ellipsoid::WGS84;
        let p = e.geodetic_to_ecef(Geodetic::new(0.0, 0.0, 0.0));
        assert!((p - DVec3::new(e.a, 0.0, 0.0)).length() < 1e-9);
        let p = e.geodetic_to_ecef(Geodetic::new(90.0, 0.0, 10.0));
        assert!((p - DVec3::new(0.0, e.a + 10.0, 0.0)).length() < 1e-9);
        let p = e.geodetic_to_ecef(Geodetic::new(0.0, 90.0, 0.0));
        assert!((p - DVec3::new(0.0, 0.0, e.b())).length() < 1e-6);
        assert!((e.b() - 6_356_752.314_245).abs() < 1e-6);
    }

    #[test]
    fn round_trip_is_sub_millimetre_everywhere() {
        let e = Ellipsoid::WGS84;
        for lat in (-90..=90).step_by(5) {
            for lon in (-180..180).step_by(15) {
                for h in [-400.0, 0.0, 35.5, 8848.0, 400_000.0] {
                    let g = Geodetic::new(lon as f64 + 0.123, lat as f64, h);
                    let back = e.ecef_to_geodetic(e.geodetic_to_ecef(g));
                    let p0 = e.geodetic_to_ecef(g);
                    let p1 = e.geodetic_to_ecef(back);
                    assert!((p0 - p1).length() < 1e-4, "{g:?} -> {back:?}: {}", (p0 - p1).length());
                    assert!((back.height - h).abs() < 1e-4);
                }
            }
        }
    }
}
