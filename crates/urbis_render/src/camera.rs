//! The camera: an f64 position and orientation, reversed-Z infinite projection.

use glam::{DMat3, DVec3, Mat4, Vec4};

/// A perspective camera in world coordinates (ECEF in Urbis, but any
/// right-handed metric frame works).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub position: DVec3,
    /// Camera → world rotation; columns are the camera's right, up and back
    /// (it looks along −back).
    pub rotation: DMat3,
    /// Vertical field of view, radians.
    pub fov_y: f64,
    /// Near plane distance, metres. The far plane is at infinity.
    pub near: f64,
}

impl Camera {
    /// A camera at `position` looking at `target`, with `up` as the approximate up direction.
    pub fn look_at(position: DVec3, target: DVec3, up: DVec3) -> Camera {
        let forward = (target - position).normalize();
        let right = forward.cross(up).normalize();
        let cam_up = right.cross(forward);
        Camera { position, rotation: DMat3::from_cols(right, cam_up, -forward), fov_y: 45f64.to_radians(), near: 0.5 }
    }

    pub fn forward(&self) -> DVec3 {
        -self.rotation.z_axis
    }

    pub fn right(&self) -> DVec3 {
        self.rotation.x_axis
    }

    pub fn up(&self) -> DVec3 {
        self.rotation.y_axis
    }

    /// Reversed-Z infinite perspective (depth 1 at the near plane, → 0 at infinity).
    pub fn projection(&self, aspect: f64) -> Mat4 {
        let f = (1.0 / (self.fov_y / 2.0).tan()) as f32;
        Mat4::from_cols(
            Vec4::new(f / aspect as f32, 0.0, 0.0, 0.0),
            Vec4::new(0.0, f, 0.0, 0.0),
            Vec4::new(0.0, 0.0, 0.0, -1.0),
            Vec4::new(0.0, 0.0, self.near as f32, 0.0),
        )
    }

    /// Projection × view rotation: maps camera-relative world vectors to clip space.
    pub fn view_projection(&self, aspect: f64) -> Mat4 {
        let r = self.rotation.transpose().as_mat3();
        self.projection(aspect) * Mat4::from_mat3(r)
    }

    /// The f32 matrix taking chunk-local coordinates to camera-relative world
    /// coordinates: the translation is the f64 difference of origin and
    /// camera, rounded once, so it is exact to f32 precision of that difference.
    pub fn chunk_matrix(&self, origin: DVec3, basis: DMat3) -> Mat4 {
        let t = (origin - self.position).as_vec3();
        let b = basis.as_mat3();
        Mat4::from_cols(b.x_axis.extend(0.0), b.y_axis.extend(0.0), b.z_axis.extend(0.0), t.extend(1.0))
    }

    /// The world-space ray through pixel (x, y) of a `width` × `height` image
    /// (pixel centres at +0.5): origin and unit direction.
    pub fn pixel_ray(&self, x: f64, y: f64, width: u32, height: u32) -> (DVec3, DVec3) {
        let aspect = width as f64 / height as f64;
        let t = (self.fov_y / 2.0).tan();
        let nx = (x / width as f64) * 2.0 - 1.0;
        let ny = 1.0 - (y / height as f64) * 2.0;
        let dir_cam = DVec3::new(nx * t * aspect, ny * t, -1.0);
        (self.position, (self.rotation * dir_cam).normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_z_maps_near_to_one_and_far_towards_zero() {
        let cam = Camera::look_at(DVec3::ZERO, DVec3::new(0.0, 0.0, -1.0), DVec3::Y);
        let p = cam.projection(1.0);
        let at = |d: f32| {
            let c = p * Vec4::new(0.0, 0.0, -d, 1.0);
            c.z / c.w
        };
        assert!((at(0.5) - 1.0).abs() < 1e-6);
        assert!(at(50_000.0) > 0.0 && at(50_000.0) < 1e-4);
        assert!(at(10.0) > at(11.0), "nearer is larger");
    }

    #[test]
    fn pixel_ray_centre_is_forward() {
        let cam = Camera::look_at(DVec3::new(1.0, 2.0, 3.0), DVec3::new(1.0, 12.0, 3.0), DVec3::Z);
        let (_, d) = cam.pixel_ray(50.0, 50.0, 100, 100);
        assert!((d - DVec3::Y).length() < 1e-12);
        let (_, top) = cam.pixel_ray(50.0, 0.0, 100, 100);
        assert!(top.z > 0.0);
    }
}
