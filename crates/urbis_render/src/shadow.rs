//! The sun's shadow volume and view-frustum culling planes.

use glam::{DVec3, Vec3, Vec4};

use crate::{Camera, Lighting};

/// Side of the square shadow map, texels.
pub(crate) const SHADOW_SIZE: u32 = 2048;

/// The sun's orthographic shadow volume, fitted to the near part of the
/// view (camera-relative coordinates) and snapped to whole texels in world
/// space so shadows do not shimmer as the camera moves.
pub(crate) struct ShadowFit {
    pub(crate) view_proj: glam::Mat4,
    /// Light-space axes and the volume's centre (camera-relative).
    axes: [DVec3; 3],
    centre: DVec3,
    radius: f64,
    back: f64,
    pub(crate) texel_world: f32,
}

impl ShadowFit {
    pub(crate) fn new(camera: &Camera, aspect: f64, lighting: &Lighting) -> Self {
        let h = f64::from(lighting.ground_plain_depth).max(20.0);
        let far = (h * 4.0 + 300.0).clamp(400.0, 6000.0);
        let t = (camera.fov_y / 2.0).tan();
        let mut corners = Vec::with_capacity(8);
        for z in [camera.near, far] {
            for (sx, sy) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
                corners.push(camera.rotation * DVec3::new(sx * t * aspect * z, sy * t * z, -z));
            }
        }
        let mut centre = corners.iter().copied().sum::<DVec3>() / corners.len() as f64;
        let radius = corners.iter().map(|c| (*c - centre).length()).fold(0.0, f64::max);
        let z = lighting.sun_direction.normalize();
        let helper = if z.dot(lighting.up).abs() < 0.99 { lighting.up } else { camera.right() };
        let x = helper.cross(z).normalize();
        let y = z.cross(x);
        let texel = 2.0 * radius / SHADOW_SIZE as f64;
        // Snap the centre to the texel grid of absolute (world) light-space coordinates.
        let abs = camera.position + centre;
        for axis in [x, y] {
            let u = abs.dot(axis);
            centre += axis * ((u / texel).round() * texel - u);
        }
        // Room towards the sun for tall occluders outside the view.
        let back = radius + 3000.0;
        let depth = back + radius;
        let row = |a: DVec3, w: f64| Vec4::new(a.x as f32, a.y as f32, a.z as f32, w as f32);
        // Light view (rows): x, y, z axes; the eye sits `back` metres sunwards of the centre.
        let view = glam::Mat4::from_cols(
            row(DVec3::new(x.x, y.x, z.x), 0.0),
            row(DVec3::new(x.y, y.y, z.y), 0.0),
            row(DVec3::new(x.z, y.z, z.z), 0.0),
            row(DVec3::new(-x.dot(centre), -y.dot(centre), -z.dot(centre) - back), 1.0),
        );
        let s = (1.0 / radius) as f32;
        let proj = glam::Mat4::from_cols(
            Vec4::new(s, 0.0, 0.0, 0.0),
            Vec4::new(0.0, s, 0.0, 0.0),
            Vec4::new(0.0, 0.0, -1.0 / depth as f32, 0.0),
            Vec4::new(0.0, 0.0, 0.0, 1.0),
        );
        Self { view_proj: proj * view, axes: [x, y, z], centre, radius, back, texel_world: texel as f32 }
    }

    /// Light-space axes, the volume's centre (camera-relative), its half
    /// size across and the room it keeps sunwards: what `contains` tests.
    pub(crate) fn volume(&self) -> ([DVec3; 3], DVec3, f64, f64) {
        (self.axes, self.centre, self.radius, self.back)
    }

    /// Whether a sphere (camera-relative centre) touches the shadow volume.
    pub(crate) fn contains(&self, centre: Vec3, radius: f32) -> bool {
        let d = centre.as_dvec3() - self.centre;
        let r = radius as f64;
        let (u, v, w) = (d.dot(self.axes[0]), d.dot(self.axes[1]), d.dot(self.axes[2]));
        u.abs() <= self.radius + r && v.abs() <= self.radius + r && w <= self.back + r && w >= -self.radius - r
    }
}

/// Left, right, bottom, top and near planes (xyz·p + w ≥ 0 inside) of a
/// reversed-Z infinite projection; there is no far plane.
pub(crate) fn frustum_planes(m: glam::Mat4) -> [Vec4; 5] {
    let r = |i: usize| m.row(i);
    let norm = |p: Vec4| p / p.truncate().length().max(1e-20);
    [norm(r(3) + r(0)), norm(r(3) - r(0)), norm(r(3) + r(1)), norm(r(3) - r(1)), norm(r(3) - r(2))]
}
