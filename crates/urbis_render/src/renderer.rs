//! The frame: city pass → composite → overlay, into any texture view.

use bytemuck::{Pod, Zeroable};
use glam::DVec3;

use crate::classify::{ClassificationGrid, GpuClassification};
use crate::flatten::{FlattenPolygon, FlattenState};
use crate::overlay::{Overlay, OverlayPipeline};
use crate::scene::{GpuChunk, GpuScene};
use crate::section::{SectionState, SectionStyle, SectionUniform};
use crate::transparency::TransparencyState;
use crate::{Camera, GpuContext, RenderError, shaders};

pub use crate::atmosphere::Lighting;
use crate::atmosphere::{haze_scale, space};
use crate::crop::Crop;
use crate::draw::{DrawSet, draw_chunks};
use crate::field::FieldCulling;
use crate::field::gpu::FieldRenderer;
use crate::pipelines::{self, CompositeDraw, DEPTH_FORMAT, Variant, storage_entry, texture_entry, uniform_entry};
use crate::shadow::{SHADOW_SIZE, ShadowFit, frustum_planes};
use crate::specialise::{FrameUses, PassPipelines};
use crate::targets::Targets;
use crate::timing::{Pass, PassTimer};

/// Everything the shadow map's content depends on.
#[derive(Debug, Clone, PartialEq)]
struct ShadowKey {
    scene: u64,
    view_proj: [f32; 16],
    camera: DVec3,
    section: Option<SectionStyle>,
    flatten: Vec<FlattenPolygon>,
    fields: FieldCulling,
}

/// What one frame drew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    pub chunks_drawn: u32,
    pub chunks_culled: u32,
    /// Chunks skipped because they are hidden (streamed tiles stood in for).
    pub chunks_hidden: u32,
    pub triangles: u64,
}

/// Counters of several frames (the crops of one picture) added up.
impl std::ops::AddAssign for FrameStats {
    fn add_assign(&mut self, o: FrameStats) {
        self.chunks_drawn += o.chunks_drawn;
        self.chunks_culled += o.chunks_culled;
        self.chunks_hidden += o.chunks_hidden;
        self.triangles += o.triangles;
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct FrameUniforms {
    view_proj: [[f32; 4]; 4],
    inv_view_proj: [[f32; 4]; 4],
    sun_dir: [f32; 4],
    up: [f32; 4],
    sky_zenith: [f32; 4],
    sky_horizon: [f32; 4],
    fog: [f32; 4],
    viewport: [f32; 4],
    shadow_view_proj: [[f32; 4]; 4],
    shadow: [f32; 4],
    section: SectionUniform,
}

/// Pipelines and targets; draws a [`GpuScene`] into a texture view.
pub struct Renderer {
    output_format: wgpu::TextureFormat,
    city_pipeline: wgpu::RenderPipeline,
    /// The opaque city and shadow passes' pipelines specialised by batch and frame (see `specialise`).
    specialised: PassPipelines,
    city_instanced_pipeline: wgpu::RenderPipeline,
    point_pipeline: wgpu::RenderPipeline,
    shadow_pipeline: wgpu::RenderPipeline,
    shadow_instanced_pipeline: wgpu::RenderPipeline,
    composite: pipelines::Composite,
    frame_layout: wgpu::BindGroupLayout,
    shadow_frame_layout: wgpu::BindGroupLayout,
    shadow_view: wgpu::TextureView,
    shadow_sampler: wgpu::Sampler,
    id_sampler: wgpu::Sampler,
    chunk_layout: wgpu::BindGroupLayout,
    composite_layout: wgpu::BindGroupLayout,
    frame_buffer: wgpu::Buffer,
    chunk_buffer: wgpu::Buffer,
    chunk_stride: u64,
    chunk_capacity: u64,
    targets: Option<Targets>,
    overlay: OverlayPipeline,
    classification_layout: wgpu::BindGroupLayout,
    classification: GpuClassification,
    crop: Option<Crop>,
    /// Keep the shadow map of the previous frame instead of drawing it.
    reuse_shadow_map: bool,
    /// Draw with pipelines specialised to the frame and batch (see `specialise`).
    specialise: bool,
    /// What the frame being drawn uses of what specialised pipelines may leave out.
    uses: FrameUses,
    /// What the shadow map in the texture was drawn from; a frame with the
    /// same keeps it (a still camera over an unchanged scene).
    shadow_drawn: Option<ShadowKey>,
    section: SectionState,
    transparency: TransparencyState,
    flatten: FlattenState,
    pub(crate) fields: FieldRenderer,
    /// Timestamp queries per pass, while timing is on (see [`Renderer::set_pass_timing`]).
    pub(crate) timer: Option<PassTimer>,
    pub(crate) timing_supported: bool,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Renderer({:?})", self.output_format)
    }
}

impl Renderer {
    /// Builds the pipelines for an output of `output_format`.
    pub fn new(ctx: &GpuContext, output_format: wgpu::TextureFormat) -> Self {
        let device = &ctx.device;
        let vf = wgpu::ShaderStages::VERTEX_FRAGMENT;
        let flatten_entries = crate::flatten::layout_entries();
        let frame_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("frame"),
            entries: &[
                uniform_entry(0, vf, false),
                storage_entry(1, vf),
                texture_entry(2, wgpu::TextureSampleType::Depth),
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Comparison),
                    count: None,
                },
                flatten_entries[0],
                flatten_entries[1],
            ],
        });
        // The shadow pass writes the shadow map, so it cannot also bind it.
        let shadow_frame_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("shadow frame"),
            entries: &[uniform_entry(0, vf, false), storage_entry(1, vf), flatten_entries[0], flatten_entries[1]],
        });
        let chunk_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("chunk"),
            entries: &[uniform_entry(0, wgpu::ShaderStages::VERTEX, true)],
        });
        let composite_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("composite"),
            entries: &[
                uniform_entry(0, vf, false),
                storage_entry(1, wgpu::ShaderStages::FRAGMENT),
                texture_entry(2, wgpu::TextureSampleType::Float { filterable: false }),
                texture_entry(3, wgpu::TextureSampleType::Uint),
                texture_entry(4, wgpu::TextureSampleType::Depth),
                wgpu::BindGroupLayoutEntry {
                    binding: 5,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::NonFiltering),
                    count: None,
                },
            ],
        });

        let city_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("city.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shaders::CITY.into()),
        });
        let texture_layout = crate::textures::layout(device);
        let classification_layout = crate::classify::layout(device);
        let city_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("city"),
            bind_group_layouts: &[
                Some(&frame_layout),
                Some(&chunk_layout),
                Some(&texture_layout),
                Some(&classification_layout),
            ],
            immediate_size: 0,
        });
        let point_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("points"),
            bind_group_layouts: &[Some(&frame_layout), Some(&chunk_layout)],
            immediate_size: 0,
        });
        let opaque = pipelines::Blend::Opaque;
        let city = |instanced| {
            pipelines::city(device, &city_layout, &city_module, instanced, "fs_main", opaque, Variant::default())
        };
        let city_pipeline = city(false);
        let city_instanced_pipeline = city(true);
        let point_pipeline = pipelines::points(device, &point_layout, &city_module, "fs_point", opaque);
        let transparency = TransparencyState::new([&city_layout, &point_layout], &city_module);

        let shadow_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("shadow"),
            bind_group_layouts: &[Some(&shadow_frame_layout), Some(&chunk_layout)],
            immediate_size: 0,
        });
        let shadow =
            |instanced| pipelines::shadow(device, &shadow_layout, &city_module, instanced, false, Variant::default());
        let shadow_pipeline = shadow(false);
        let shadow_instanced_pipeline = shadow(true);
        let specialised = PassPipelines::new(&city_layout, &shadow_layout, &city_module);
        let section = SectionState::new([&city_layout, &point_layout, &shadow_layout], &city_module);
        let shadow_view = device
            .create_texture(&wgpu::TextureDescriptor {
                label: Some("shadow map"),
                size: wgpu::Extent3d { width: SHADOW_SIZE, height: SHADOW_SIZE, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: DEPTH_FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            })
            .create_view(&Default::default());
        let shadow_sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("shadow"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            compare: Some(wgpu::CompareFunction::LessEqual),
            ..Default::default()
        });

        let composite = pipelines::Composite::new(device, &composite_layout, output_format);
        // Nearest and clamped (the defaults): the composite gathers feature ids with it.
        let id_sampler =
            device.create_sampler(&wgpu::SamplerDescriptor { label: Some("feature ids"), ..Default::default() });

        let frame_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("frame uniforms"),
            size: size_of::<FrameUniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let chunk_stride = (device.limits().min_uniform_buffer_offset_alignment as u64).max(64);
        let chunk_capacity = 64;
        let chunk_buffer = Self::chunk_buffer(ctx, chunk_stride * chunk_capacity);
        let overlay = OverlayPipeline::new(ctx, output_format);
        let classification = GpuClassification::new(ctx, &classification_layout, None);
        Self {
            output_format,
            city_pipeline,
            specialised,
            city_instanced_pipeline,
            point_pipeline,
            shadow_pipeline,
            shadow_instanced_pipeline,
            composite,
            frame_layout,
            shadow_frame_layout,
            shadow_view,
            shadow_sampler,
            id_sampler,
            chunk_layout,
            composite_layout,
            frame_buffer,
            chunk_buffer,
            chunk_stride,
            chunk_capacity,
            targets: None,
            overlay,
            classification_layout,
            classification,
            crop: None,
            reuse_shadow_map: false,
            specialise: true,
            uses: FrameUses { classification: true, flattening: true, highlight: true },
            shadow_drawn: None,
            section,
            transparency,
            flatten: FlattenState::new(ctx),
            fields: FieldRenderer::new(ctx),
            timer: None,
            timing_supported: ctx.device.features().contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// Cuts the city with a plane or box, capping cut solids (none: off).
    pub fn set_section(&mut self, section: Option<SectionStyle>) {
        self.section.set(section);
    }

    /// The section in use.
    pub fn section(&self) -> Option<&SectionStyle> {
        self.section.style()
    }

    /// Renders only a rectangle of a larger frame from now on (none: the whole frame).
    pub fn set_crop(&mut self, crop: Option<Crop>) {
        self.crop = crop;
    }

    /// Keeps the shadow map the previous frame drew instead of drawing it
    /// again: for the crops of one frame (the tiles of a large screenshot,
    /// the displays of a wall), which share the camera, the lighting, the
    /// frame's shadow fit and the scene. Only the caller knows that nothing
    /// changed in between; it turns this off again.
    pub fn set_reuse_shadow_map(&mut self, reuse: bool) {
        self.reuse_shadow_map = reuse;
    }

    /// Draws with pipelines specialised to what each frame and batch use
    /// (on, the default), or with the general ones only, which draw the same
    /// image more slowly on a CPU rasteriser: for comparison.
    pub fn set_specialised(&mut self, on: bool) {
        self.specialise = on;
    }

    /// Whether the shadow map is being kept (see [`Renderer::set_reuse_shadow_map`]).
    pub fn reuses_shadow_map(&self) -> bool {
        self.reuse_shadow_map
    }

    /// Classification volumes for surfaces styled
    /// [`FeatureStyle::CLASSIFIED`](crate::FeatureStyle::CLASSIFIED) (none: off).
    pub fn set_classification(&mut self, ctx: &GpuContext, grid: Option<ClassificationGrid>) {
        self.classification = GpuClassification::new(ctx, &self.classification_layout, grid);
    }

    /// The classification volumes in use.
    pub fn classification(&self) -> Option<&ClassificationGrid> {
        self.classification.grid.as_ref()
    }

    /// Presses surfaces styled [`FeatureStyle::FLATTEN`](crate::FeatureStyle::FLATTEN)
    /// down inside `polygons`, given in the local frame at `origin` with
    /// `basis` (local → world); none: off. See [`FlattenPolygon`].
    pub fn set_flatten(&mut self, ctx: &GpuContext, origin: DVec3, basis: glam::DMat3, polygons: Vec<FlattenPolygon>) {
        self.flatten.set(ctx, origin, basis, polygons);
    }

    /// The flattening polygons in use.
    pub fn flatten(&self) -> &[FlattenPolygon] {
        self.flatten.polygons()
    }

    fn chunk_buffer(ctx: &GpuContext, size: u64) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("chunk matrices"),
            size,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    pub fn output_format(&self) -> wgpu::TextureFormat {
        self.output_format
    }

    /// Draws the scene into `output` (of the renderer's output format).
    #[allow(clippy::too_many_arguments)]
    pub fn render(
        &mut self,
        ctx: &GpuContext,
        scene: &GpuScene,
        camera: &Camera,
        lighting: &Lighting,
        overlay: Option<&Overlay>,
        output: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) -> FrameStats {
        let (width, height) = (width.max(1), height.max(1));
        if self.targets.as_ref().is_none_or(|t| t.width != width || t.height != height) {
            self.targets = Some(Targets::new(ctx, width, height));
        }
        // A crop renders one rectangle of a larger frame: the full frame's
        // projection (and shadow fit), then the rectangle stretched to the target.
        let (aspect, view_proj) = match self.crop {
            None => {
                let aspect = width as f64 / height as f64;
                (aspect, camera.view_projection(aspect))
            }
            Some(c) => {
                let aspect = c.full_width / c.full_height.max(1e-9);
                (aspect, c.matrix() * camera.view_projection(aspect))
            }
        };
        let encode_srgb = if self.output_format.is_srgb() { 0.0 } else { 1.0 };
        let shadow = lighting.shadows.then(|| ShadowFit::new(camera, aspect, lighting));
        let u = FrameUniforms {
            view_proj: view_proj.to_cols_array_2d(),
            inv_view_proj: view_proj.inverse().to_cols_array_2d(),
            sun_dir: lighting.sun_direction.as_vec3().extend(lighting.sun_intensity).to_array(),
            up: lighting.up.as_vec3().extend(lighting.ground_plain_depth).to_array(),
            sky_zenith: lighting.sky_zenith.extend(1.0).to_array(),
            sky_horizon: lighting.sky_horizon.extend(1.0).to_array(),
            fog: [
                lighting.fog_density * haze_scale(camera.position),
                encode_srgb,
                space(camera.position),
                if scene.has_selection() { 1.0 } else { 0.0 },
            ],
            viewport: [width as f32, height as f32, 1.0 / width as f32, 1.0 / height as f32],
            shadow_view_proj: shadow.as_ref().map_or(glam::Mat4::IDENTITY, |s| s.view_proj).to_cols_array_2d(),
            shadow: match &shadow {
                Some(s) => [1.0, 1.0 / SHADOW_SIZE as f32, s.texel_world * 1.5, 1.0],
                None => [0.0; 4],
            },
            section: SectionUniform::new(self.section.style(), camera.position),
        };
        self.section.prepare(&ctx.device);
        self.transparency.prepare(&ctx.device, scene.has_transparency(), self.section.style().is_some());
        ctx.queue.write_buffer(&self.frame_buffer, 0, bytemuck::bytes_of(&u));
        self.classification.update(ctx, camera);
        self.flatten.update(ctx, camera);

        // Cull chunks against the view frustum and the sun's shadow volume
        // (camera-relative, so f32 is plenty); upload one matrix per chunk kept.
        let planes = frustum_planes(view_proj);
        let mut stats = FrameStats::default();
        let mut kept = Vec::new(); // (chunk, in view, casts into the shadow map)
        let mut keys: Vec<_> = scene.chunks.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let c = &scene.chunks[&key];
            if c.hidden {
                stats.chunks_hidden += 1;
                continue;
            }
            let centre = (c.center - camera.position).as_vec3();
            let in_view = planes.iter().all(|p| p.truncate().dot(centre) + p.w >= -(c.radius as f32));
            let in_shadow = shadow.as_ref().is_some_and(|s| s.contains(centre, c.radius as f32));
            if !in_view {
                stats.chunks_culled += 1;
            }
            if in_view || in_shadow {
                kept.push((c, in_view, in_shadow));
            }
        }
        // Nearest first, so the depth test rejects hidden surfaces before they are shaded.
        let distance = |c: &GpuChunk| ((c.center - camera.position).length() - c.radius).max(0.0);
        kept.sort_by(|a, b| distance(a.0).total_cmp(&distance(b.0)));
        // One slot more, the identity, for building fields (their instances are camera-relative).
        let slots = kept.len() as u64 + 1;
        if slots > self.chunk_capacity {
            self.chunk_capacity = slots.next_power_of_two();
            self.chunk_buffer = Self::chunk_buffer(ctx, self.chunk_stride * self.chunk_capacity);
        }
        let mut matrices = vec![0u8; (self.chunk_stride * slots) as usize];
        let identity = glam::Mat4::IDENTITY;
        for (i, m) in kept.iter().map(|(c, _, _)| camera.chunk_matrix(c.origin, c.basis)).chain([identity]).enumerate()
        {
            let off = i * self.chunk_stride as usize;
            matrices[off..off + 64].copy_from_slice(bytemuck::bytes_of(&m.to_cols_array()));
        }
        ctx.queue.write_buffer(&self.chunk_buffer, 0, &matrices);
        let field_slot = (kept.len() as u64 * self.chunk_stride) as u32;
        // The specialised pipelines this frame needs (the section's and
        // transparency's sets have none).
        let batches = |in_pass: fn(&(&GpuChunk, bool, bool)) -> bool| {
            let kept = &kept;
            kept.iter().filter(move |k| in_pass(k)).flat_map(|(c, _, _)| c.mesh.iter().flat_map(|m| &m.batches))
        };
        self.uses = self.frame_uses(scene);
        if self.specialise {
            self.specialised.prepare(&ctx.device, self.uses, batches(|k| k.1), batches(|k| k.2));
        }
        let full_height = self.crop.map_or(f64::from(height), |c| c.full_height);
        self.fields.prepare(ctx, scene, camera, planes, shadow.as_ref(), full_height);

        let [flatten_uniform, flatten_grid] = self.flatten.entries();
        let frame_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("frame"),
            layout: &self.frame_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.frame_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: scene.style_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&self.shadow_view) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::Sampler(&self.shadow_sampler) },
                flatten_uniform.clone(),
                flatten_grid.clone(),
            ],
        });
        let shadow_frame_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("shadow frame"),
            layout: &self.shadow_frame_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.frame_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: scene.style_binding() },
                flatten_uniform,
                flatten_grid,
            ],
        });
        let chunk_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("chunk"),
            layout: &self.chunk_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.chunk_buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(64),
                }),
            }],
        });
        // The composite split by a depth test costs each pixel only its own
        // half; FXAA looks at neighbours of both kinds, and a section leaves
        // "nothing" at depth, so those draw every pixel alike.
        let composite_draw = if lighting.antialias {
            CompositeDraw::Antialiased
        } else if self.section.active().is_some() {
            CompositeDraw::Plain
        } else {
            CompositeDraw::Split
        };
        self.composite.prepare(&ctx.device, composite_draw, scene.has_selection());
        let Some(t) = self.targets.as_ref() else {
            return stats;
        };
        let composite_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("composite"),
            layout: &self.composite_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.frame_buffer.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: scene.style_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&t.color) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::TextureView(&t.id) },
                wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::TextureView(&t.depth) },
                wgpu::BindGroupEntry { binding: 5, resource: wgpu::BindingResource::Sampler(&self.id_sampler) },
            ],
        });

        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("frame") });
        let timer = self.timer.as_ref();
        self.fields.encode_cull(ctx, &mut encoder, scene, timer);
        let shadow_key = shadow.as_ref().map(|s| ShadowKey {
            scene: scene.generation(),
            view_proj: s.view_proj.to_cols_array(),
            camera: camera.position,
            section: self.section.style().copied(),
            flatten: self.flatten.polygons().to_vec(),
            fields: self.fields.culling,
        });
        let unchanged = shadow_key.is_some() && shadow_key == self.shadow_drawn;
        if !((self.reuse_shadow_map || unchanged) && shadow.is_some()) {
            self.shadow_drawn = shadow_key.clone();
            // Cleared every frame, so a frame without shadows samples "lit".
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("shadow"),
                color_attachments: &[],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &self.shadow_view,
                    depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Store }),
                    stencil_ops: None,
                }),
                timestamp_writes: timer.and_then(|t| t.render(Pass::Shadow)),
                occlusion_query_set: None,
                multiview_mask: None,
            });
            if shadow.is_some() {
                pass.set_bind_group(0, &shadow_frame_group, &[]);
                let casters: Vec<(usize, &GpuChunk)> = kept
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, _, in_shadow))| *in_shadow)
                    .map(|(i, (c, _, _))| (i, *c))
                    .collect();
                draw_chunks(&mut pass, scene, &chunk_group, self.chunk_stride, &casters, self.shadow_set());
                if !scene.fields.is_empty() {
                    pass.set_pipeline(self.shadow_set().instanced);
                    pass.set_bind_group(1, &chunk_group, &[field_slot]);
                    self.fields.draw(&mut pass, scene, 1, false);
                }
            }
        }
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("city"),
                color_attachments: &[
                    Some(wgpu::RenderPassColorAttachment {
                        view: &t.color,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                            store: wgpu::StoreOp::Store,
                        },
                    }),
                    Some(wgpu::RenderPassColorAttachment {
                        view: &t.id,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                            store: wgpu::StoreOp::Store,
                        },
                    }),
                ],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &t.depth,
                    depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(0.0), store: wgpu::StoreOp::Store }),
                    stencil_ops: None,
                }),
                timestamp_writes: timer.and_then(|t| t.render(Pass::City)),
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_bind_group(0, &frame_group, &[]);
            pass.set_bind_group(3, &self.classification.group, &[]);
            let visible: Vec<(usize, &GpuChunk)> =
                kept.iter().enumerate().filter(|(_, (_, in_view, _))| *in_view).map(|(i, (c, _, _))| (i, *c)).collect();
            for (_, c) in &visible {
                stats.chunks_drawn += 1;
                stats.triangles += scene.chunk_triangles(c);
            }
            draw_chunks(&mut pass, scene, &chunk_group, self.chunk_stride, &visible, self.city_set());
            if !scene.fields.is_empty() {
                pass.set_pipeline(self.city_set().instanced);
                pass.set_bind_group(1, &chunk_group, &[field_slot]);
                self.fields.draw(&mut pass, scene, 0, true);
            }
            if let Some(see_through) = self.transparency.see_through() {
                draw_chunks(&mut pass, scene, &chunk_group, self.chunk_stride, &visible, DrawSet::city(see_through));
                if !scene.fields.is_empty() {
                    pass.set_pipeline(&see_through.city_instanced);
                    pass.set_bind_group(1, &chunk_group, &[field_slot]);
                    self.fields.draw(&mut pass, scene, 0, true);
                }
            }
        }
        let timer = self.timer.as_ref();
        self.fields.encode_hiz(ctx, &mut encoder, scene, &t.depth, (width, height), view_proj, camera.position, timer);
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("composite"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: output,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                // Read-only: the split's depth test, while the shader samples it too.
                depth_stencil_attachment: (composite_draw == CompositeDraw::Split).then_some(
                    wgpu::RenderPassDepthStencilAttachment { view: &t.depth, depth_ops: None, stencil_ops: None },
                ),
                timestamp_writes: timer.and_then(|t| t.render(Pass::Composite)),
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_bind_group(0, &composite_group, &[]);
            self.composite.draw(&mut pass, composite_draw, scene.has_selection());
            // The overlay's pipeline has no depth state: with a depth target attached it draws after the frame.
            if let Some(o) = overlay.filter(|_| composite_draw != CompositeDraw::Split) {
                self.overlay.draw(ctx, &mut pass, o, width, height);
            }
        }
        if let Some(timer) = self.timer.as_mut() {
            timer.resolve(&mut encoder);
        }
        ctx.queue.submit([encoder.finish()]);
        if let Some(o) = overlay.filter(|_| composite_draw == CompositeDraw::Split) {
            self.draw_overlay(ctx, o, output, width, height);
        }
        stats
    }

    /// The opaque city pass's pipelines: the section's, skipping
    /// see-through features while there are any, or the plain ones.
    fn city_set(&self) -> DrawSet<'_> {
        let section = self.section.active();
        if let Some(p) = self.transparency.opaque(section.is_some()) {
            return DrawSet::city(p);
        }
        match section {
            Some(s) => DrawSet {
                plain: &s.city,
                specialised: None,
                instanced: &s.city_instanced,
                points: Some(&s.points),
                textured: true,
            },
            None => DrawSet {
                plain: &self.city_pipeline,
                specialised: self.specialise.then_some((&self.specialised.city, self.uses)),
                instanced: self.instanced_pipeline(false),
                points: Some(&self.point_pipeline),
                textured: true,
            },
        }
    }

    /// The instanced pipeline of the city (or shadow) pass without a section.
    fn instanced_pipeline(&self, shadow: bool) -> &wgpu::RenderPipeline {
        let general = if shadow { &self.shadow_instanced_pipeline } else { &self.city_instanced_pipeline };
        let specialised = self.specialise.then(|| self.specialised.instanced(shadow, self.uses)).flatten();
        specialised.unwrap_or(general)
    }

    /// What a frame of `scene` uses of what specialised pipelines may leave out.
    fn frame_uses(&self, scene: &GpuScene) -> FrameUses {
        FrameUses {
            classification: self.classification.active(),
            flattening: self.flatten.active(),
            highlight: scene.has_highlight(),
        }
    }

    fn shadow_set(&self) -> DrawSet<'_> {
        match self.section.active() {
            Some(s) => DrawSet {
                plain: &s.shadow,
                specialised: None,
                instanced: &s.shadow_instanced,
                points: None,
                textured: false,
            },
            None => DrawSet {
                plain: &self.shadow_pipeline,
                specialised: self.specialise.then_some((&self.specialised.shadow, self.uses)),
                instanced: self.instanced_pipeline(true),
                points: None,
                textured: false,
            },
        }
    }

    /// The feature index of every pixel of the last frame, row by row from
    /// the top left (0 = nothing), with its width and height.
    pub fn feature_ids(&self, ctx: &GpuContext) -> Result<(Vec<u32>, u32, u32), RenderError> {
        let t = self.targets.as_ref().ok_or_else(|| RenderError::Readback("nothing rendered yet".into()))?;
        let bytes = crate::headless::read_texture(ctx, &t.id_texture, wgpu::Origin3d::ZERO, t.width, t.height, 4)?;
        let ids = bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok((ids, t.width, t.height))
    }

    /// Draws `overlay` over what `output` already holds (a frame put
    /// together from several renders, such as a swipe comparison).
    pub fn draw_overlay(
        &mut self,
        ctx: &GpuContext,
        overlay: &Overlay,
        output: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) {
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("overlay") });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("overlay"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: output,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            self.overlay.draw(ctx, &mut pass, overlay, width, height);
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// The feature index under pixel (x, y) of the last frame (0 = nothing).
    pub fn pick(&self, ctx: &GpuContext, x: u32, y: u32) -> Result<u32, RenderError> {
        let t = self.targets.as_ref().ok_or_else(|| RenderError::Readback("nothing rendered yet".into()))?;
        if x >= t.width || y >= t.height {
            return Err(RenderError::OutOfFrame { x, y, width: t.width, height: t.height });
        }
        let bytes = crate::headless::read_texture(ctx, &t.id_texture, wgpu::Origin3d { x, y, z: 0 }, 1, 1, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}
