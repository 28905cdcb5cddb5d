//! City-pass and shadow-pass pipelines specialised, through the pipeline
//! constants of `city.wgsl`, to what a frame and a batch use.
//!
//! A CPU rasteriser such as lavapipe runs both sides of every branch for
//! every fragment (and vertex) of a SIMD group. A feature that neither the
//! frame nor the batch uses still costs each fragment as if it did, unless
//! the pipeline compiles it out. Those features are:
//! - the procedural materials (façade windows, water, foliage, road speckle);
//! - the base-colour texture;
//! - classification by volumes;
//! - flattening by polygons;
//! - the highlight tint.
//!
//! The renderer works out each batch's [`Key`] from the batch (its faces and
//! surfaces, [`Surface`]) and the frame ([`FrameUses`]). Before encoding, it
//! builds the pipelines it lacks ([`Specialised::prepare`]), then draws each
//! batch with its own. Left out means left out of the shader, not changed:
//! a specialised pipeline draws its batches exactly as the general one
//! would. Instances (fields, trees) get a pipeline keyed by the frame alone.
//! Sections, see-through features and points keep the general pipelines.

use std::collections::HashMap;

use crate::pipelines::{self, Blend, Variant};
use crate::scene::GpuBatch;

/// What a batch's surfaces need from the fragment stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Surface {
    /// Some procedural material (façade, water, foliage, road): everything.
    Procedural,
    /// Only basic materials (plain, roof, terrain, textured), no texture.
    Plain,
    /// Only basic materials, with a base-colour texture.
    Textured,
}

/// What the frame uses, whatever the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FrameUses {
    /// Classification volumes are set.
    pub classification: bool,
    /// Flattening polygons are set.
    pub flattening: bool,
    /// Some feature is highlighted.
    pub highlight: bool,
}

/// One specialisation: the pipeline constants it sets, and the faces it culls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub cull_back: bool,
    pub surface: Surface,
    pub frame: FrameUses,
}

impl Key {
    fn constants(self) -> [(&'static str, f64); 5] {
        let on = |b: bool| if b { 1.0 } else { 0.0 };
        [
            ("PROCEDURAL_MATERIALS", on(self.surface == Surface::Procedural)),
            ("TEXTURED", on(self.surface != Surface::Plain)),
            ("CLASSIFICATION", on(self.frame.classification)),
            ("FLATTENING", on(self.frame.flattening)),
            ("HIGHLIGHT", on(self.frame.highlight)),
        ]
    }
}

/// Which pass the pipelines draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The opaque city pass (`fs_main`).
    City,
    /// The shadow pass (depth only: only the faces and the flattening matter).
    Shadow,
}

/// The specialised pipelines of one pass, batched or instanced, built on first use.
pub(crate) struct Specialised {
    pass: Pass,
    instanced: bool,
    layout: wgpu::PipelineLayout,
    module: wgpu::ShaderModule,
    built: HashMap<Key, wgpu::RenderPipeline>,
}

impl Specialised {
    fn new(pass: Pass, instanced: bool, layout: &wgpu::PipelineLayout, module: &wgpu::ShaderModule) -> Self {
        Self { pass, instanced, layout: layout.clone(), module: module.clone(), built: HashMap::new() }
    }

    /// The key a batch (or, with `None`, an instance of a shared mesh) is
    /// drawn with in this pass, in a frame that uses `frame`. Instances
    /// keep both faces and every material.
    pub(crate) fn key(&self, batch: Option<&GpuBatch>, frame: FrameUses) -> Key {
        let cull_back = batch.is_some_and(|b| b.draw.single_sided);
        match self.pass {
            Pass::City => Key { cull_back, surface: batch.map_or(Surface::Procedural, |b| b.surface), frame },
            // The depth pass shades nothing: one pipeline per faces and flattening.
            Pass::Shadow => Key {
                cull_back,
                surface: Surface::Procedural,
                frame: FrameUses { classification: true, flattening: frame.flattening, highlight: true },
            },
        }
    }

    /// Builds the pipelines of `keys` not built yet.
    fn prepare(&mut self, device: &wgpu::Device, keys: impl IntoIterator<Item = Key>) {
        for key in keys {
            if self.built.contains_key(&key) {
                continue;
            }
            let constants = key.constants();
            let variant = Variant { cull_back: key.cull_back, constants: &constants };
            let (layout, module, instanced) = (&self.layout, &self.module, self.instanced);
            let pipeline = match self.pass {
                Pass::City => pipelines::city(device, layout, module, instanced, "fs_main", Blend::Opaque, variant),
                Pass::Shadow => pipelines::shadow(device, layout, module, instanced, false, variant),
            };
            self.built.insert(key, pipeline);
        }
    }

    /// The pipeline of `key`, if prepared.
    pub(crate) fn get(&self, key: Key) -> Option<&wgpu::RenderPipeline> {
        self.built.get(&key)
    }
}

/// The specialised pipelines of the opaque city pass and the shadow pass
/// without a section: batched and instanced.
pub(crate) struct PassPipelines {
    pub city: Specialised,
    pub city_instanced: Specialised,
    pub shadow: Specialised,
    pub shadow_instanced: Specialised,
}

impl PassPipelines {
    pub(crate) fn new(
        city_layout: &wgpu::PipelineLayout,
        shadow_layout: &wgpu::PipelineLayout,
        module: &wgpu::ShaderModule,
    ) -> Self {
        Self {
            city: Specialised::new(Pass::City, false, city_layout, module),
            city_instanced: Specialised::new(Pass::City, true, city_layout, module),
            shadow: Specialised::new(Pass::Shadow, false, shadow_layout, module),
            shadow_instanced: Specialised::new(Pass::Shadow, true, shadow_layout, module),
        }
    }

    /// Builds what a frame that uses `frame` needs to draw the batches of
    /// `city` in the city pass and those of `shadow` in the shadow pass,
    /// and instances in both.
    pub(crate) fn prepare<'a>(
        &mut self,
        device: &wgpu::Device,
        frame: FrameUses,
        city: impl Iterator<Item = &'a GpuBatch>,
        shadow: impl Iterator<Item = &'a GpuBatch>,
    ) {
        let keys: Vec<Key> = city.map(|b| self.city.key(Some(b), frame)).collect();
        self.city.prepare(device, keys);
        let keys: Vec<Key> = shadow.map(|b| self.shadow.key(Some(b), frame)).collect();
        self.shadow.prepare(device, keys);
        let key = self.city_instanced.key(None, frame);
        self.city_instanced.prepare(device, [key]);
        let key = self.shadow_instanced.key(None, frame);
        self.shadow_instanced.prepare(device, [key]);
    }

    /// The instanced pipeline of the city (or shadow) pass for the frame, if prepared.
    pub(crate) fn instanced(&self, shadow: bool, frame: FrameUses) -> Option<&wgpu::RenderPipeline> {
        let s = if shadow { &self.shadow_instanced } else { &self.city_instanced };
        s.get(s.key(None, frame))
    }
}
