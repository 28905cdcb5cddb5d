//! Off-axis (asymmetric) frusta: Kooima's "Generalized Perspective
//! Projection" (2008) for a screen rectangle seen from an eye.
//!
//! ```text
//! screen corners pa (lower-left), pb (lower-right), pc (upper-left), eye pe
//!   vr = (pb − pa)/|…|, vu = (pc − pa)/|…|, vn = vr × vu
//!   d = −(pa − pe)·vn     (the eye's distance to the screen plane)
//!   left = vr·(pa − pe)/d, right = vr·(pb − pe)/d,
//!   bottom = vu·(pa − pe)/d, top = vu·(pc − pe)/d   (tangents at unit distance)
//! ```

use glam::{DMat3, DMat4, DVec3, DVec4};

/// A frustum as the tangents of its four side planes at unit distance
/// along the view direction, with the view's basis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OffAxis {
    pub left: f64,
    pub right: f64,
    pub bottom: f64,
    pub top: f64,
    /// Columns: the screen's right, up and normal (towards the eye); the
    /// view looks along −normal.
    pub basis: DMat3,
}

impl OffAxis {
    /// The frustum from `eye` through the rectangle with corners `pa`
    /// (lower-left), `pb` (lower-right) and `pc` (upper-left); `None` when
    /// the eye is on or behind the screen's plane or the corners are degenerate.
    pub fn new(pa: DVec3, pb: DVec3, pc: DVec3, eye: DVec3) -> Option<OffAxis> {
        let vr = (pb - pa).try_normalize()?;
        let vu = (pc - pa).try_normalize()?;
        let vn = vr.cross(vu).try_normalize()?;
        let (va, vb, vc) = (pa - eye, pb - eye, pc - eye);
        let d = -va.dot(vn);
        if d <= 1e-9 {
            return None;
        }
        Some(OffAxis {
            left: vr.dot(va) / d,
            right: vr.dot(vb) / d,
            bottom: vu.dot(va) / d,
            top: vu.dot(vc) / d,
            basis: DMat3::from_cols(vr, vu, vn),
        })
    }

    /// A symmetric frustum: vertical field of view (radians) and aspect.
    pub fn symmetric(fov_y: f64, aspect: f64, basis: DMat3) -> OffAxis {
        let t = (fov_y / 2.0).tan();
        OffAxis { left: -t * aspect, right: t * aspect, bottom: -t, top: t, basis }
    }

    /// The projection in Urbis' convention (reversed Z, infinite far plane,
    /// clip w = −z; `urbis_render::Camera::projection` is the symmetric
    /// case): view-space (x, y, z) with z < 0 goes to
    /// x_ndc = (2·x/−z − (right + left)) / (right − left), likewise y, depth = near/−z.
    pub fn projection(&self, near: f64) -> DMat4 {
        let (w, h) = (self.right - self.left, self.top - self.bottom);
        DMat4::from_cols(
            DVec4::new(2.0 / w, 0.0, 0.0, 0.0),
            DVec4::new(0.0, 2.0 / h, 0.0, 0.0),
            DVec4::new((self.right + self.left) / w, (self.top + self.bottom) / h, 0.0, -1.0),
            DVec4::new(0.0, 0.0, near, 0.0),
        )
    }

    /// The direction (unit, in the basis' space) through normalised device
    /// coordinates (x, y) in [−1, 1].
    pub fn ray(&self, ndc_x: f64, ndc_y: f64) -> DVec3 {
        let tx = self.left + (ndc_x + 1.0) / 2.0 * (self.right - self.left);
        let ty = self.bottom + (ndc_y + 1.0) / 2.0 * (self.top - self.bottom);
        (self.basis * DVec3::new(tx, ty, -1.0)).normalize()
    }

    /// The smallest symmetric frustum (about the same axis) holding this one:
    /// vertical field of view and aspect, for a selection that only takes those.
    pub fn enclosing_symmetric(&self) -> (f64, f64) {
        let ty = self.top.abs().max(self.bottom.abs());
        let tx = self.right.abs().max(self.left.abs());
        (2.0 * ty.atan(), tx / ty.max(1e-12))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_centred_on_the_eye_gives_the_symmetric_projection() {
        // A 4 m × 2.25 m screen 3 m in front of the eye, centred.
        let eye = DVec3::new(2.0, 1.125, 3.0);
        let f = OffAxis::new(DVec3::ZERO, DVec3::new(4.0, 0.0, 0.0), DVec3::new(0.0, 2.25, 0.0), eye).expect("frustum");
        let fov_y = 2.0 * (1.125f64 / 3.0).atan();
        let s = OffAxis::symmetric(fov_y, 4.0 / 2.25, DMat3::IDENTITY);
        for (a, b) in [(f.left, s.left), (f.right, s.right), (f.bottom, s.bottom), (f.top, s.top)] {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // The symmetric matrix is the renderer's: f/aspect, f, w = −z, depth near/−z.
        let m = f.projection(0.5);
        let focal = 1.0 / (fov_y / 2.0).tan();
        assert!((m.x_axis.x - focal / (4.0 / 2.25)).abs() < 1e-12 && (m.y_axis.y - focal).abs() < 1e-12);
        assert!(m.z_axis.x.abs() < 1e-12 && m.z_axis.w == -1.0 && m.w_axis.z == 0.5);
    }

    #[test]
    fn screen_corners_project_to_the_corners_of_the_image() {
        // An off-centre screen, seen from the side: its corners land on NDC ±1.
        let (pa, pb, pc) = (DVec3::new(1.0, 0.5, 0.0), DVec3::new(3.0, 0.5, 0.0), DVec3::new(1.0, 1.7, 0.0));
        let eye = DVec3::new(0.3, 1.6, 2.5);
        let f = OffAxis::new(pa, pb, pc, eye).expect("frustum");
        assert!(f.left > 0.0, "the screen lies wholly to the eye's right");
        let m = f.projection(0.1);
        let pd = pb + (pc - pa);
        for (p, want) in [(pa, (-1.0, -1.0)), (pb, (1.0, -1.0)), (pc, (-1.0, 1.0)), (pd, (1.0, 1.0))] {
            let v = f.basis.transpose() * (p - eye);
            let clip = m * v.extend(1.0);
            let ndc = (clip.x / clip.w, clip.y / clip.w);
            assert!((ndc.0 - want.0).abs() < 1e-12 && (ndc.1 - want.1).abs() < 1e-12, "{p}: {ndc:?}");
            // And the ray through that corner meets it.
            let r = f.ray(want.0, want.1);
            assert!(r.dot((p - eye).normalize()) > 1.0 - 1e-12);
        }
    }

    #[test]
    fn an_eye_behind_the_screen_has_no_frustum() {
        let (pa, pb, pc) = (DVec3::ZERO, DVec3::X, DVec3::Y);
        assert!(OffAxis::new(pa, pb, pc, DVec3::new(0.5, 0.5, -1.0)).is_none());
        assert!(OffAxis::new(pa, pa, pc, DVec3::new(0.5, 0.5, 1.0)).is_none());
    }
}
