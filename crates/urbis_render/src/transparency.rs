//! See-through surfaces (X-ray): features drawn with an opacity below one.
//!
//! A feature's transparency (`1 − opacity`) travels in its style
//! ([`FeatureStyle::extrude`](crate::FeatureStyle::extrude)`[2]`, 0 for
//! the opaque). While any visible feature of the scene has some
//! ([`GpuScene::has_transparency`](crate::GpuScene::has_transparency),
//! checked every frame), the city pass draws twice:
//!
//! 1. **opaque**: the usual pipelines, but their fragment entry points
//!    (`fs_opaque`, `fs_section_opaque`, `fs_point_opaque`,
//!    `fs_point_section_opaque` in `city.wgsl`) discard the fragments of
//!    see-through features, so they write neither colour, feature id nor
//!    depth;
//! 2. **see-through**, in the same render pass (`fs_transparent`,
//!    `fs_point_transparent`): only the fragments of see-through features,
//!    depth-tested against the opaque depth and not writing it, their
//!    colour shaded as usual and blended with premultiplied alpha
//!    (`rgb·a + dst·(1 − a)`, `a + dst_a·(1 − a)`), `a` the opacity. The
//!    feature-id target's write mask is empty, so picks and outlines see
//!    through to what is behind. Back faces are skipped (by the same rule as
//!    the section's caps: both the winding and the normal say so, since
//!    sources disagree on winding), so a see-through box shows its near
//!    faces once, not its inside as well; under a section, the see-through
//!    fragments the section removes are discarded (no caps).
//!
//! The colour target thus holds premultiplied colour and coverage: an
//! opaque pixel keeps alpha 1, and where nothing opaque was drawn the alpha
//! is the coverage of the see-through surfaces over it, which the composite
//! lays over the sky: `rgb + sky · (1 − a)`.
//!
//! Shadows: see-through features still cast shadows (the shadow pass does
//! not change): opacity is a way of looking at the city, not a change of
//! it, so sun and shadow studies read the same whatever is X-rayed.
//!
//! Whether a fragment is see-through goes by the surface's own feature, not
//! by the classification volume that may claim its pixel. Several
//! see-through layers over one pixel blend in draw order (chunk order),
//! not sorted by depth. Without see-through features none of this runs:
//! the usual pipelines draw exactly as before.

use crate::pipelines::{self, Blend, Variant};

/// City, instanced city and point pipelines of one kind.
pub(crate) struct CityPipelines {
    pub(crate) city: wgpu::RenderPipeline,
    pub(crate) city_instanced: wgpu::RenderPipeline,
    pub(crate) points: wgpu::RenderPipeline,
}

impl CityPipelines {
    /// `city` and `points`: the fragment entry points.
    fn new(
        device: &wgpu::Device,
        layouts: &[wgpu::PipelineLayout; 2],
        module: &wgpu::ShaderModule,
        city: &str,
        points: &str,
        blend: Blend,
    ) -> Self {
        Self {
            city: pipelines::city(device, &layouts[0], module, false, city, blend, Variant::default()),
            city_instanced: pipelines::city(device, &layouts[0], module, true, city, blend, Variant::default()),
            points: pipelines::points(device, &layouts[1], module, points, blend),
        }
    }
}

/// Whether see-through features are drawn this frame, and their pipelines,
/// built on first use.
pub(crate) struct TransparencyState {
    on: bool,
    /// The opaque pass's pipelines without a section, and the see-through ones.
    plain: Option<(CityPipelines, CityPipelines)>,
    /// The opaque pass's pipelines under a section.
    section: Option<CityPipelines>,
    /// City and point pipeline layouts.
    layouts: [wgpu::PipelineLayout; 2],
    module: wgpu::ShaderModule,
}

impl TransparencyState {
    pub(crate) fn new(layouts: [&wgpu::PipelineLayout; 2], module: &wgpu::ShaderModule) -> Self {
        Self { on: false, plain: None, section: None, layouts: layouts.map(Clone::clone), module: module.clone() }
    }

    /// Turns see-through drawing on or off for this frame, building what it needs.
    pub(crate) fn prepare(&mut self, device: &wgpu::Device, on: bool, section: bool) {
        self.on = on;
        if !on {
            return;
        }
        let (l, m) = (&self.layouts, &self.module);
        if self.plain.is_none() {
            let opaque = CityPipelines::new(device, l, m, "fs_opaque", "fs_point_opaque", Blend::Opaque);
            let see_through =
                CityPipelines::new(device, l, m, "fs_transparent", "fs_point_transparent", Blend::Transparent);
            self.plain = Some((opaque, see_through));
        }
        if section && self.section.is_none() {
            let opaque =
                CityPipelines::new(device, l, m, "fs_section_opaque", "fs_point_section_opaque", Blend::Opaque);
            self.section = Some(opaque);
        }
    }

    /// The opaque pass's pipelines while see-through features are drawn
    /// (none: the usual ones).
    pub(crate) fn opaque(&self, section: bool) -> Option<&CityPipelines> {
        if !self.on {
            return None;
        }
        if section { self.section.as_ref() } else { self.plain.as_ref().map(|p| &p.0) }
    }

    /// The see-through pipelines, while see-through features are drawn.
    pub(crate) fn see_through(&self) -> Option<&CityPipelines> {
        self.plain.as_ref().filter(|_| self.on).map(|p| &p.1)
    }
}
