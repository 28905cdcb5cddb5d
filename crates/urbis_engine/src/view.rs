//! Cameras from geodetic parameters, the default view of a city, and the
//! lighting at a camera: a fixed clear afternoon, or the real sun over the
//! city at a given time (NREL SPA, `urbis_geo::sun`).

use glam::DVec3;
use urbis_geo::{Ellipsoid, Geodetic, enu_basis};
use urbis_model::CityModel;
use urbis_render::{Camera, Lighting};

/// A camera pose as users give it: longitude, latitude (degrees), height
/// above the ellipsoid (metres), heading (degrees clockwise from north) and
/// pitch (degrees, negative looks down), as in Cesium.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeodeticPose {
    pub lon: f64,
    pub lat: f64,
    pub height: f64,
    pub heading: f64,
    pub pitch: f64,
}

/// A `--camera` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("camera `{0}`: expected lon,lat,height,heading,pitch (degrees, metres, degrees, degrees)")]
pub struct PoseParseError(pub String);

impl std::str::FromStr for GeodeticPose {
    type Err = PoseParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: Vec<f64> = s
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| PoseParseError(s.into()))?;
        if v.len() != 5 || v.iter().any(|x| !x.is_finite()) || v[1].abs() > 90.0 || v[4].abs() > 90.0 {
            return Err(PoseParseError(s.into()));
        }
        Ok(GeodeticPose { lon: v[0], lat: v[1], height: v[2], heading: v[3], pitch: v[4] })
    }
}

impl GeodeticPose {
    /// The ECEF camera for this pose.
    pub fn camera(&self) -> Camera {
        let position = Ellipsoid::WGS84.geodetic_to_ecef(Geodetic::new(self.lon, self.lat, self.height));
        let b = enu_basis(self.lon, self.lat);
        let (east, north, up) = (b.x_axis, b.y_axis, b.z_axis);
        let (h, p) = (self.heading.to_radians(), self.pitch.to_radians());
        let forward = (north * h.cos() + east * h.sin()) * p.cos() + up * p.sin();
        let up_hint = if p.cos().abs() < 1e-6 { north * h.cos() + east * h.sin() } else { up };
        Camera::look_at(position, position + forward, up_hint)
    }

    /// The pose of an ECEF camera.
    pub fn from_camera(c: &Camera) -> GeodeticPose {
        let g = Ellipsoid::WGS84.ecef_to_geodetic(c.position);
        let b = enu_basis(g.lon_deg, g.lat_deg);
        let f = c.forward();
        let (e, n, u) = (f.dot(b.x_axis), f.dot(b.y_axis), f.dot(b.z_axis));
        GeodeticPose {
            lon: g.lon_deg,
            lat: g.lat_deg,
            height: g.height,
            heading: e.atan2(n).to_degrees().rem_euclid(360.0),
            pitch: u.clamp(-1.0, 1.0).asin().to_degrees(),
        }
    }
}

/// An oblique view of the whole model from the south-south-west, looking
/// down 35° at its centre, far enough to see all of it.
pub fn default_camera(model: &CityModel) -> Camera {
    let b = model.bounds();
    let (centre, size) = if b.is_empty() { (DVec3::ZERO, DVec3::splat(100.0)) } else { (b.center(), b.size()) };
    let extent = size.x.max(size.y).max(1.0);
    // Flat scenes (cities) are aimed at their ground; tall ones (a model) at their middle.
    let tall = size.z > 0.3 * extent;
    let target = DVec3::new(centre.x, centre.y, if tall { centre.z } else { b.min.z.max(-1e6) });
    let (heading, pitch) = (20f64.to_radians(), -40f64.to_radians());
    let dir = DVec3::new(heading.sin() * pitch.cos(), heading.cos() * pitch.cos(), pitch.sin());
    let distance = if tall { (extent * 1.3).max(size.z * 2.2) } else { extent * 1.3 };
    let target = target - DVec3::new(dir.x, dir.y, 0.0).normalize_or_zero() * extent * 0.08;
    let eye = target - dir * distance;
    let frame = model.frame();
    let mut cam = Camera::look_at(frame.enu_to_ecef(eye), frame.enu_to_ecef(target), frame.enu_to_ecef_rot.z_axis);
    cam.near = (distance * 1e-3).clamp(0.01, 1.0);
    cam
}

/// Clear-day lighting at the camera, the sun at a fixed afternoon position
/// (azimuth 215°, elevation 42°) in the local frame under the camera, with
/// a plain at the model's lowest ground continuing beyond its data.
pub fn default_lighting(model: &CityModel, camera: &Camera) -> Lighting {
    let g = Ellipsoid::WGS84.ecef_to_geodetic(camera.position);
    let b = enu_basis(g.lon_deg, g.lat_deg);
    let mut l = Lighting::clear_day(b.x_axis, b.y_axis, b.z_axis, 215.0, 42.0);
    let ground = model.bounds().min.z;
    let camera_enu = model.frame().ecef_to_enu(camera.position);
    if ground.is_finite() {
        l.ground_plain_depth = (camera_enu.z - ground).max(0.0) as f32;
    }
    l
}

/// The lighting at `camera` with the real sun over the city's origin at
/// `unix_ms` (UTC): its direction from NREL's Solar Position Algorithm,
/// shadows while it is above the horizon, dimmer near it, none at night.
pub fn sun_lighting(model: &CityModel, camera: &Camera, unix_ms: i64) -> Lighting {
    let mut l = default_lighting(model, camera);
    let site = model.frame().enu_to_geodetic(DVec3::ZERO);
    let p = urbis_geo::sun_position(&urbis_geo::SunInput {
        jd: urbis_geo::julian_day_of_unix_ms(unix_ms),
        delta_t: 69.2,
        lat_deg: site.lat_deg,
        lon_deg: site.lon_deg,
        elevation_m: site.height,
        pressure_mbar: 1013.25,
        temperature_c: 15.0,
    });
    let elevation = p.elevation_deg();
    l.sun_direction = (model.frame().enu_to_ecef_rot * p.enu_direction()).normalize();
    if elevation > 0.0 {
        l.sun_intensity *= (elevation / 10.0).clamp(0.2, 1.0) as f32;
        l.shadows = true;
    } else {
        l.sun_intensity = 0.0;
        l.shadows = false;
    }
    l
}

/// The height of the terrain (features of the Terrain family: DEMs, photo
/// mesh ground) under an ENU plan point, or `None` where there is none.
pub fn terrain_height(model: &CityModel, x: f64, y: f64) -> Option<f64> {
    let top = model.bounds().max.z;
    if !top.is_finite() {
        return None;
    }
    let origin = DVec3::new(x, y, top + 100.0);
    let world = &model.world;
    let terrain = |e: bevy_ecs::entity::Entity| {
        world.get::<urbis_model::SemanticClass>(e).is_some_and(|c| c.family() == urbis_model::Family::Terrain)
    };
    let reach = top - model.bounds().min.z + 200.0;
    model.spatial().ray_cast_where(world, origin, DVec3::NEG_Z, reach, terrain).map(|h| h.point.z)
}

/// A camera position (ECEF) moved up, if need be, to stand `clearance`
/// metres over the terrain under it: the viewer never passes through the ground.
pub fn above_terrain(model: &CityModel, position: DVec3, clearance: f64) -> DVec3 {
    let frame = model.frame();
    let enu = frame.ecef_to_enu(position);
    match terrain_height(model, enu.x, enu.y) {
        Some(ground) if enu.z < ground + clearance => frame.enu_to_ecef(DVec3::new(enu.x, enu.y, ground + clearance)),
        _ => position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_round_trips() {
        let p: GeodeticPose = "115.9, 39.0, 450, 30, -25".parse().unwrap();
        let back = GeodeticPose::from_camera(&p.camera());
        assert!(
            (back.lon - 115.9).abs() < 1e-9 && (back.lat - 39.0).abs() < 1e-9 && (back.height - 450.0).abs() < 1e-6
        );
        assert!((back.heading - 30.0).abs() < 1e-6 && (back.pitch + 25.0).abs() < 1e-6, "{back:?}");
        assert!("1,2,3".parse::<GeodeticPose>().is_err());
        assert!("1,95,3,0,0".parse::<GeodeticPose>().is_err());
    }
}
