//! Sections: a clipping plane or a section box, with the cut faces capped.
//!
//! The kept region (a half-space or an oriented box) is an intersection of
//! *slabs*: one for a plane, three for a box. Each slab is an axis, the
//! camera's coordinate along it (the f64 difference of camera and section
//! origin, rounded once, like the chunk matrices) and a range, so only
//! camera-relative f32 reaches the GPU.
//!
//! While a section is set, the city pass uses its own fragment entry point
//! (`fs_section` in `city.wgsl`). Every fragment intersects the view ray
//! of its pixel (from the pixel centre, so that all fragments of a pixel
//! agree) with the slabs, the slab method, which gives the interval
//! `[near, far]` of the ray inside the kept region, in metres from the
//! camera. By its own distance along that ray, a fragment is:
//!
//! - before the region, or the ray misses it: discarded;
//! - a **back face** (by its winding and by its normal: sources disagree on
//!   winding) past the point where the ray enters the region
//!   (`near > 0`: the camera is outside it): the cap. The ray entered the
//!   region inside a solid, so the pixel shows the cap colour, lit with the
//!   normal of the face entered and shadowed at the entry point, with the
//!   solid's feature index (so picking the cap picks the building);
//! - any other fragment past the region (`far <` distance): "nothing", an
//!   empty pixel (transparent colour, feature 0) that the composite fills
//!   with sky or ground plain. It still occludes what lies behind it, so
//!   that a back face behind it does not pass for a cap;
//! - otherwise the surface, shaded exactly as without a section.
//!
//! The depth test keeps the nearest fragment not discarded: the first
//! surface the ray meets after entering the region, which (for closed,
//! consistently wound solids) is a back face exactly when the entry point
//! is inside a solid. That is also true where the ray leaves a box while
//! still inside a solid that crosses it, hence "past the region" above.
//! Caps are written at the depth of that back face, not at the entry point:
//! a front face between the two must still win the depth test (or the cap
//! would spill onto walls below a cut seen at an angle). Only the composite
//! reads depth afterwards, and only as "something was drawn here".
//!
//! The shadow pass discards what lies outside the region, so cut-away
//! geometry casts no shadow; caps themselves cast none. Without a section
//! none of this runs: the plain pipelines draw exactly as before.
//!
//! Limits: open meshes (photo meshes, terrain seen from below) and meshes
//! whose faces are wound inconsistently show the cap colour where their
//! back faces are seen through a cut, and a sub-pixel or non-watertight
//! object behind a box can leave a stray cap pixel.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec3, Vec3};

use crate::pipelines::{self, Blend, Variant};

/// What a section keeps, in world (ECEF, f64) coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Section {
    /// Keeps the side the normal points to: points p with (p - point)·normal >= 0 stay.
    Plane { point: DVec3, normal: DVec3 },
    /// Keeps the inside of an oriented box: centre, rotation (columns =
    /// box axes in world, orthonormal; normalised on upload), half extents in metres.
    Box { centre: DVec3, axes: DMat3, half: DVec3 },
}

impl Section {
    /// Whether the section keeps a world point (the CPU twin of the shader's test).
    pub fn keeps(&self, p: DVec3) -> bool {
        self.slabs(p).iter().all(|(_, c, lo, hi)| (*lo..=*hi).contains(c))
    }

    /// Slabs as (unit axis, coordinate of `at` along it, low, high).
    fn slabs(&self, at: DVec3) -> Vec<(DVec3, f64, f64, f64)> {
        match *self {
            Section::Plane { point, normal } => {
                let n = normal.normalize_or_zero();
                vec![(n, n.dot(at - point), 0.0, 1.0e30)]
            }
            Section::Box { centre, axes, half } => (0..3)
                .map(|i| {
                    let a = axes.col(i).normalize_or_zero();
                    (a, a.dot(at - centre), -half[i].abs(), half[i].abs())
                })
                .collect(),
        }
    }
}

/// A section and the colour of its caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SectionStyle {
    pub section: Section,
    /// Linear RGB of the cut faces.
    pub cap_color: Vec3,
}

impl SectionStyle {
    /// The default cap colour: a warm orange-red.
    pub const DEFAULT_CAP: Vec3 = Vec3::new(0.85, 0.25, 0.12);

    /// `section` with the default cap colour.
    pub fn new(section: Section) -> Self {
        Self { section, cap_color: Self::DEFAULT_CAP }
    }
}

impl From<Section> for SectionStyle {
    fn from(section: Section) -> Self {
        Self::new(section)
    }
}

/// The section part of the frame uniforms (`Section` in `city.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, Pod, Zeroable)]
pub(crate) struct SectionUniform {
    /// x: number of slabs (0: no section).
    count: [f32; 4],
    /// xyz: unit axis (world); w: the camera's coordinate along it.
    axes: [[f32; 4]; 3],
    /// Per slab (x, y, z): the kept range of coordinates.
    lo: [f32; 4],
    hi: [f32; 4],
    /// rgb: cap colour (linear).
    cap: [f32; 4],
}

impl SectionUniform {
    /// The uniform for `style` seen from `camera` (f64 differences, rounded once).
    pub(crate) fn new(style: Option<&SectionStyle>, camera: DVec3) -> Self {
        let Some(style) = style else { return Self::default() };
        let mut u = Self { cap: style.cap_color.extend(1.0).to_array(), ..Self::default() };
        let slabs = style.section.slabs(camera);
        u.count[0] = slabs.len() as f32;
        for (i, (axis, c, lo, hi)) in slabs.into_iter().enumerate() {
            u.axes[i] = axis.as_vec3().extend(c as f32).to_array();
            u.lo[i] = lo as f32;
            u.hi[i] = hi as f32;
        }
        u
    }
}

/// The pipelines used while a section is set.
pub(crate) struct SectionPipelines {
    pub(crate) city: wgpu::RenderPipeline,
    pub(crate) city_instanced: wgpu::RenderPipeline,
    pub(crate) points: wgpu::RenderPipeline,
    pub(crate) shadow: wgpu::RenderPipeline,
    pub(crate) shadow_instanced: wgpu::RenderPipeline,
}

/// The section in use, and its pipelines, built on first use.
pub(crate) struct SectionState {
    style: Option<SectionStyle>,
    pipelines: Option<SectionPipelines>,
    /// City, point and shadow pipeline layouts and the city module.
    layouts: [wgpu::PipelineLayout; 3],
    module: wgpu::ShaderModule,
}

impl SectionState {
    pub(crate) fn new(layouts: [&wgpu::PipelineLayout; 3], module: &wgpu::ShaderModule) -> Self {
        Self { style: None, pipelines: None, layouts: layouts.map(Clone::clone), module: module.clone() }
    }

    pub(crate) fn set(&mut self, style: Option<SectionStyle>) {
        self.style = style;
    }

    pub(crate) fn style(&self) -> Option<&SectionStyle> {
        self.style.as_ref()
    }

    /// Builds the pipelines if a section is set and they are not built yet.
    pub(crate) fn prepare(&mut self, device: &wgpu::Device) {
        if self.style.is_none() || self.pipelines.is_some() {
            return;
        }
        let [city, points, shadow] = &self.layouts;
        let m = &self.module;
        self.pipelines = Some(SectionPipelines {
            city: pipelines::city(device, city, m, false, "fs_section", Blend::Opaque, Variant::default()),
            city_instanced: pipelines::city(device, city, m, true, "fs_section", Blend::Opaque, Variant::default()),
            points: pipelines::points(device, points, m, "fs_point_section", Blend::Opaque),
            shadow: pipelines::shadow(device, shadow, m, false, true, Variant::default()),
            shadow_instanced: pipelines::shadow(device, shadow, m, true, true, Variant::default()),
        });
    }

    /// The section pipelines, while a section is set.
    pub(crate) fn active(&self) -> Option<&SectionPipelines> {
        self.style.as_ref().and(self.pipelines.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_keeps_the_side_its_normal_points_to() {
        let s = Section::Plane { point: DVec3::new(0.0, 0.0, 10.0), normal: DVec3::new(0.0, 0.0, -2.0) };
        assert!(s.keeps(DVec3::new(5.0, 5.0, 9.0)));
        assert!(!s.keeps(DVec3::new(5.0, 5.0, 11.0)));
    }

    #[test]
    fn box_keeps_its_rotated_inside() {
        let r = DMat3::from_rotation_z(45f64.to_radians());
        let s = Section::Box { centre: DVec3::new(100.0, 0.0, 0.0), axes: r, half: DVec3::new(10.0, 1.0, 5.0) };
        // 9 m along the box's rotated x axis is inside; 9 m along world x is 6.4 m off its y axis.
        assert!(s.keeps(DVec3::new(100.0, 0.0, 0.0) + r.x_axis * 9.0));
        assert!(!s.keeps(DVec3::new(109.0, 0.0, 0.0)));
        assert!(!s.keeps(DVec3::new(100.0, 0.0, 5.5)));
    }

    #[test]
    fn uniform_is_camera_relative() {
        let camera = DVec3::new(6_378_137.0, 0.0, 0.0);
        let point = camera + DVec3::new(0.0, 3.0, 0.0);
        let style = SectionStyle::new(Section::Plane { point, normal: DVec3::Y });
        let u = SectionUniform::new(Some(&style), camera);
        assert_eq!(u.count[0], 1.0);
        assert_eq!(u.axes[0], [0.0, 1.0, 0.0, -3.0], "the camera is 3 m on the removed side");
        assert_eq!(SectionUniform::new(None, camera).count[0], 0.0);
        assert_eq!(size_of::<SectionUniform>() % 16, 0);
    }
}
