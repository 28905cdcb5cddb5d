//! The [`Engine`]: a city model, a GPU scene and the renderer, with the
//! explicit phases extract → prepare → render, and picking.

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_model::{CityModel, FeatureStyle};
use urbis_render::{
    Camera, FlattenPolygon, FrameStats, GpuContext, GpuScene, Lighting, Overlay, RenderError, Renderer, SectionStyle,
};

use crate::extract::{Extracted, Extractor};

/// What a prepare phase uploaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrepareStats {
    pub chunks_uploaded: usize,
    pub chunks_removed: usize,
    pub styles_updated: usize,
}

/// A city model bound to a GPU.
pub struct Engine {
    pub model: CityModel,
    pub ctx: GpuContext,
    pub renderer: Renderer,
    pub scene: GpuScene,
    extractor: Extractor,
    selected: Option<Entity>,
    /// The hovered entity and whether it was highlighted before.
    hovered: Option<(Entity, bool)>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("model", &self.model).field("scene", &self.scene).finish()
    }
}

impl Engine {
    pub fn new(model: CityModel, ctx: GpuContext, output_format: wgpu::TextureFormat) -> Self {
        let renderer = Renderer::new(&ctx, output_format);
        let scene = GpuScene::new(&ctx);
        Self { model, ctx, renderer, scene, extractor: Extractor::default(), selected: None, hovered: None }
    }

    /// Extract phase: ECS → render data (only what changed).
    pub fn extract(&mut self) -> Extracted {
        self.extractor.extract(&mut self.model)
    }

    /// Prepare phase: upload extracted data to the GPU.
    pub fn prepare(&mut self, extracted: Extracted) -> PrepareStats {
        self.scene.reserve_features(extracted.feature_capacity as usize);
        let stats = PrepareStats {
            chunks_uploaded: extracted.chunk_updates.len(),
            chunks_removed: extracted.chunk_removals.len(),
            styles_updated: extracted.style_updates.len(),
        };
        for (k, img) in &extracted.textures {
            self.scene.upsert_texture(&self.ctx, *k, img.width(), img.height(), img.as_raw());
        }
        for k in &extracted.texture_removals {
            self.scene.remove_texture(*k);
        }
        for m in &extracted.shared_meshes {
            self.scene.upsert_shared_mesh(&self.ctx, m.key, &m.vertices, &m.indices, &m.batches);
        }
        for (k, mesh) in &extracted.chunk_updates {
            self.scene.upsert_chunk(&self.ctx, *k, mesh);
        }
        for k in extracted.chunk_removals {
            self.scene.remove_chunk(k);
        }
        for (k, visible) in extracted.chunk_visibility {
            self.scene.set_chunk_visible(k, visible);
        }
        if let Some(grid) = extracted.classification {
            self.renderer.set_classification(&self.ctx, Some(grid));
        }
        for (i, s) in extracted.style_updates {
            self.scene.set_style(i, s);
        }
        self.scene.flush(&self.ctx);
        stats
    }

    /// Extract and prepare.
    pub fn update(&mut self) -> PrepareStats {
        let e = self.extract();
        self.prepare(e)
    }

    /// Render phase: draws into `view` (of the renderer's output format).
    pub fn render(
        &mut self,
        camera: &Camera,
        lighting: &Lighting,
        overlay: Option<&Overlay>,
        view: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) -> FrameStats {
        self.renderer.render(&self.ctx, &self.scene, camera, lighting, overlay, view, width, height)
    }

    /// Cuts the city with a clipping plane or section box, capping the cut
    /// solids (none: off); see [`urbis_render::Section`].
    pub fn set_section(&mut self, section: Option<SectionStyle>) {
        self.renderer.set_section(section);
    }

    /// The section in use.
    pub fn section(&self) -> Option<&SectionStyle> {
        self.renderer.section()
    }

    /// Flattens (压平) photo meshes and 3D Tiles content inside `polygons`,
    /// given in the city's ENU frame (plan rings in metres east and north,
    /// heights in metres up): every vertex of such a surface inside a
    /// polygon is pressed down to at most the polygon's height, so that a
    /// proposed building can stand there. Modelled buildings and terrain are
    /// not flattened. None: off. See [`urbis_render::FlattenPolygon`].
    pub fn set_flatten(&mut self, polygons: Vec<FlattenPolygon>) {
        let frame = self.model.frame();
        let (origin, basis) = (frame.enu_to_ecef(DVec3::ZERO), frame.enu_to_ecef_rot);
        self.renderer.set_flatten(&self.ctx, origin, basis, polygons);
    }

    /// The flattening polygons in use (ENU).
    pub fn flatten(&self) -> &[FlattenPolygon] {
        self.renderer.flatten()
    }

    /// Draws an overlay over what `view` already holds.
    pub fn render_overlay(&mut self, overlay: &Overlay, view: &wgpu::TextureView, width: u32, height: u32) {
        self.renderer.draw_overlay(&self.ctx, overlay, view, width, height);
    }

    /// The entity under pixel (x, y) of the last rendered frame.
    pub fn pick(&self, x: u32, y: u32) -> Result<Option<Entity>, RenderError> {
        let index = self.renderer.pick(&self.ctx, x, y)?;
        Ok(if index == 0 { None } else { self.model.features().entity(index) })
    }

    /// Selects an entity (outlined) and deselects the previous one.
    pub fn select(&mut self, entity: Option<Entity>) {
        if let Some(old) = self.selected.take()
            && let Some(mut s) = self.model.world.get_mut::<FeatureStyle>(old)
        {
            s.selected = false;
        }
        if let Some(e) = entity
            && let Some(mut s) = self.model.world.get_mut::<FeatureStyle>(e)
        {
            s.selected = true;
            self.selected = Some(e);
        }
    }

    pub fn selected(&self) -> Option<Entity> {
        self.selected
    }

    /// Highlights the entity under the cursor (none: nothing), giving the
    /// previous one back the highlight it had (a query's, say).
    pub fn hover(&mut self, entity: Option<Entity>) {
        if self.hovered.map(|(e, _)| e) == entity {
            return;
        }
        if let Some((old, was)) = self.hovered.take()
            && let Some(mut s) = self.model.world.get_mut::<FeatureStyle>(old)
        {
            s.highlighted = was;
        }
        if let Some(e) = entity
            && let Some(mut s) = self.model.world.get_mut::<FeatureStyle>(e)
        {
            let was = s.highlighted;
            s.highlighted = true;
            self.hovered = Some((e, was));
        }
    }

    pub fn hovered(&self) -> Option<Entity> {
        self.hovered.map(|(e, _)| e)
    }
}
