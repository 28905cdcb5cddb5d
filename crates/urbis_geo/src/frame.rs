//! Local east-north-up frames and the [`CityFrame`] of a district.

use glam::{DMat3, DMat4, DVec3};

use crate::{Ellipsoid, Geodetic};

/// The ENU basis at a geodetic position: columns are east, north and up,
/// expressed in ECEF axes. Multiplying an ENU vector by it gives an ECEF vector.
pub fn enu_basis(lon_deg: f64, lat_deg: f64) -> DMat3 {
    let (so, co) = lon_deg.to_radians().sin_cos();
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let east = DVec3::new(-so, co, 0.0);
    let north = DVec3::new(-sl * co, -sl * so, cl);
    let up = DVec3::new(cl * co, cl * so, sl);
    DMat3::from_cols(east, north, up)
}

/// A georeferenced local frame: a geodetic origin and the ENU basis there.
///
/// City-scale data lives in this frame as f64 metres (x east, y north, z up).
/// Conversions to ECEF are exact rigid transforms; nothing is projected, so
/// distances in the frame are true 3D distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CityFrame {
    pub origin: Geodetic,
    pub origin_ecef: DVec3,
    /// ENU → ECEF rotation (columns east, north, up).
    pub enu_to_ecef_rot: DMat3,
    pub ellipsoid: Ellipsoid,
}

impl CityFrame {
    /// A frame at a geodetic origin on WGS84 (also used for CGCS2000, see [`Ellipsoid::CGCS2000`]).
    pub fn new(origin: Geodetic) -> Self {
        Self::with_ellipsoid(origin, Ellipsoid::WGS84)
    }

    pub fn with_ellipsoid(origin: Geodetic, ellipsoid: Ellipsoid) -> Self {
        Self {
            origin,
            origin_ecef: ellipsoid.geodetic_to_ecef(origin),
            enu_to_ecef_rot: enu_basis(origin.lon_deg, origin.lat_deg),
            ellipsoid,
        }
    }

    /// A frame whose "ECEF" is the frame itself: used to render data at the
    /// local origin (tests compare it against the true ECEF placement).
    pub fn identity() -> Self {
        Self {
            origin: Geodetic::new(0.0, 0.0, 0.0),
            origin_ecef: DVec3::ZERO,
            enu_to_ecef_rot: DMat3::IDENTITY,
            ellipsoid: Ellipsoid::WGS84,
        }
    }

    pub fn enu_to_ecef(&self, enu: DVec3) -> DVec3 {
        self.origin_ecef + self.enu_to_ecef_rot * enu
    }

    pub fn ecef_to_enu(&self, ecef: DVec3) -> DVec3 {
        self.enu_to_ecef_rot.transpose() * (ecef - self.origin_ecef)
    }

    pub fn geodetic_to_enu(&self, g: Geodetic) -> DVec3 {
        self.ecef_to_enu(self.ellipsoid.geodetic_to_ecef(g))
    }

    pub fn enu_to_geodetic(&self, enu: DVec3) -> Geodetic {
        self.ellipsoid.ecef_to_geodetic(self.enu_to_ecef(enu))
    }

    /// The rigid ENU → ECEF transform as a 4×4 f64 matrix.
    pub fn enu_to_ecef_matrix(&self) -> DMat4 {
        let r = self.enu_to_ecef_rot;
        DMat4::from_cols(r.x_axis.extend(0.0), r.y_axis.extend(0.0), r.z_axis.extend(0.0), self.origin_ecef.extend(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_is_orthonormal_and_up_is_the_ellipsoid_normal() {
        let b = enu_basis(115.9, 39.0);
        assert!((b.transpose() * b - DMat3::IDENTITY).to_cols_array().iter().all(|v| v.abs() < 1e-12));
        assert!((b.determinant() - 1.0).abs() < 1e-12);
        let e = Ellipsoid::WGS84;
        let p0 = e.geodetic_to_ecef(Geodetic::new(115.9, 39.0, 0.0));
        let p1 = e.geodetic_to_ecef(Geodetic::new(115.9, 39.0, 1000.0));
        assert!(((p1 - p0) / 1000.0 - b.z_axis).length() < 1e-12);
    }

    #[test]
    fn enu_offsets_match_geodesic_intuition() {
        let f = CityFrame::new(Geodetic::new(115.9, 39.0, 10.0));
        // One arc-second of latitude is about 30.8 m at 39°N; points north land on +y.
        let p = f.geodetic_to_enu(Geodetic::new(115.9, 39.0 + 1.0 / 3600.0, 10.0));
        assert!(p.x.abs() < 1e-6 && (p.y - 30.85).abs() < 0.05 && p.z.abs() < 1e-3, "{p}");
        let back = f.enu_to_geodetic(DVec3::new(1234.5, -987.25, 55.0));
        let again = f.geodetic_to_enu(back);
        assert!((again - DVec3::new(1234.5, -987.25, 55.0)).length() < 1e-6);
        let m = f.enu_to_ecef_matrix();
        let q = DVec3::new(10.0, 20.0, 30.0);
        assert!((m.transform_point3(q) - f.enu_to_ecef(q)).length() < 1e-9);
    }
}
