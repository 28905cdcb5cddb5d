//! The sky's part of a frame: the sun and sky colours ([`Lighting`]) and
//! how haze and the sky change with the camera's height (thinning above
//! 10 km, space from 50 km up).

use glam::{DVec3, Vec3};

/// Sun, sky and atmosphere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    /// Unit vector towards the sun, world frame.
    pub sun_direction: DVec3,
    pub sun_intensity: f32,
    /// The local vertical at the camera, world frame.
    pub up: DVec3,
    /// Linear RGB.
    pub sky_zenith: Vec3,
    pub sky_horizon: Vec3,
    /// Aerial perspective density, per metre.
    pub fog_density: f32,
    /// Height of the camera over a plain drawn below the horizon where no
    /// geometry is (0 draws none). Also sizes the shadowed region.
    pub ground_plain_depth: f32,
    /// Cast sun shadows (a shadow map fitted to the near part of the view).
    pub shadows: bool,
    /// Smooth jagged edges (FXAA in the composite pass, over the final
    /// colours, so outlines and the sky's silhouette too); off leaves frames
    /// exactly as without it.
    pub antialias: bool,
}

impl Lighting {
    /// A clear afternoon: sun at `azimuth_deg` (clockwise from north) and
    /// `elevation_deg`, given the local east, north and up axes in world.
    pub fn clear_day(east: DVec3, north: DVec3, up: DVec3, azimuth_deg: f64, elevation_deg: f64) -> Lighting {
        let (az, el) = (azimuth_deg.to_radians(), elevation_deg.to_radians());
        let sun = (east * az.sin() * el.cos() + north * az.cos() * el.cos() + up * el.sin()).normalize();
        Lighting {
            sun_direction: sun,
            sun_intensity: 1.9,
            up,
            sky_zenith: Vec3::new(0.09, 0.22, 0.55),
            sky_horizon: Vec3::new(0.50, 0.62, 0.78),
            fog_density: 1.0 / 20000.0,
            ground_plain_depth: 0.0,
            shadows: true,
            antialias: false,
        }
    }
}

/// Haze thins as the camera climbs out of the lower atmosphere: the fog
/// density is kept up to 10 km above the ellipsoid (every city view) and
/// falls inversely with altitude above that, so the globe seen from orbit
/// is not lost in haze. Scenes away from the Earth (near the ECEF origin)
/// keep it whole.
pub(crate) fn haze_scale(eye: DVec3) -> f32 {
    (10_000.0 / altitude(eye).max(1.0)).min(1.0) as f32
}

/// Height above the WGS84 ellipsoid, from the radius at the eye's
/// geocentric latitude (within metres of the geodetic height); negative for
/// scenes near the ECEF origin.
fn altitude(eye: DVec3) -> f64 {
    const A: f64 = 6_378_137.0;
    const B: f64 = 6_356_752.314_245;
    let d = eye.length();
    if d < 1.0 {
        return -A;
    }
    let (s, c2) = (eye.z / d, 1.0 - (eye.z / d).powi(2));
    d - A * B / (B * B * c2 + A * A * s * s).sqrt()
}

/// How far into space the eye is: 0 up to 50 km above the ellipsoid, 1 from
/// 550 km (the composite darkens the sky to space by it).
pub(crate) fn space(eye: DVec3) -> f32 {
    ((altitude(eye) - 50_000.0) / 500_000.0).clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod haze_tests {
    use super::*;

    #[test]
    fn haze_is_whole_over_a_city_and_thin_from_orbit() {
        // 2 km above 39°N (geodetic → ECEF by the closed form, WGS84).
        let ecef = |lat: f64, h: f64| {
            let (a, e2) = (6_378_137.0, 6.694_379_990_14e-3);
            let (s, c) = lat.to_radians().sin_cos();
            let n = a / (1.0 - e2 * s * s).sqrt();
            DVec3::new((n + h) * c, 0.0, (n * (1.0 - e2) + h) * s)
        };
        assert_eq!(haze_scale(ecef(39.0, 2000.0)), 1.0);
        assert_eq!(haze_scale(ecef(80.0, 9000.0)), 1.0);
        assert!((haze_scale(ecef(39.0, 20_000.0)) - 0.5).abs() < 0.01);
        assert!((haze_scale(ecef(0.0, 2.0e7)) - 5e-4).abs() < 1e-5);
        assert_eq!(haze_scale(DVec3::new(100.0, 0.0, 0.0)), 1.0, "a scene at the origin keeps its haze");
        assert_eq!((space(ecef(39.0, 9000.0)), space(DVec3::new(100.0, 0.0, 0.0))), (0.0, 0.0));
        assert_eq!(space(ecef(0.0, 2.0e7)), 1.0);
    }
}
