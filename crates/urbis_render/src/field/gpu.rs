//! The GPU path of building fields: the cull and Hi-Z compute pipelines,
//! the per-frame preparation (chunk matrices, parameters, the draw list
//! reset, or the CPU path's results), and the draws.

use bytemuck::{Pod, Zeroable};
use glam::{DVec3, Mat4, Vec4};

use super::{FieldCounts, FieldCulling, FieldLevel, FieldMode, FrameCull, cull_cpu};
use crate::scene::{GpuScene, InstanceData};
use crate::shadow::ShadowFit;
use crate::timing::{Pass, PassTimer};
use crate::{Camera, GpuContext, RenderError};

/// The uniform `Cull` of `cull.wgsl` (336 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct CullParams {
    planes: [[f32; 4]; 5],
    shadow_axes: [[f32; 4]; 3],
    shadow_box: [f32; 4],
    shadow_depth: [f32; 4],
    prev_view_proj: [[f32; 4]; 4],
    prev: [f32; 4],
    hiz: [f32; 4],
    lod: [f32; 4],
    counts: [u32; 4],
    limits: [f32; 4],
    camera_hi: [f32; 4],
    camera_lo: [f32; 4],
}

use crate::shaders::{CULL, HIZ};

struct CullPipelines {
    layout: wgpu::BindGroupLayout,
    cull: wgpu::ComputePipeline,
    finalize: wgpu::ComputePipeline,
    hiz_layout: wgpu::BindGroupLayout,
    hiz_copy: wgpu::ComputePipeline,
    hiz_down: wgpu::ComputePipeline,
}

/// The previous frame's depth pyramid and the view it was seen from.
struct Hiz {
    texture: wgpu::Texture,
    all: wgpu::TextureView,
    levels: Vec<wgpu::TextureView>,
    /// The frame it holds: its size, view-projection and camera position.
    frame: Option<(u32, u32, Mat4, DVec3)>,
    /// Counts the pyramids made, so bind groups holding an old one are remade.
    generation: u64,
}

impl Hiz {
    /// The pyramid's level 0: powers of two, at least 2 × 2.
    fn padded(width: u32, height: u32) -> (u32, u32) {
        (width.next_power_of_two().max(2), height.next_power_of_two().max(2))
    }

    fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let (w, h) = Self::padded(width, height);
        let count = 32 - w.max(h).leading_zeros();
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("depth pyramid"),
            size: wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
            mip_level_count: count,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R32Float,
            usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        let levels = (0..count)
            .map(|l| {
                texture.create_view(&wgpu::TextureViewDescriptor {
                    base_mip_level: l,
                    mip_level_count: Some(1),
                    ..Default::default()
                })
            })
            .collect();
        static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self { all: texture.create_view(&Default::default()), texture, levels, frame: None, generation }
    }

    fn level_count(&self) -> u32 {
        self.levels.len() as u32
    }
}

/// Culls and draws the scene's building fields for a [`Renderer`](crate::Renderer).
pub(crate) struct FieldRenderer {
    pipelines: Option<CullPipelines>,
    hiz: Hiz,
    pub culling: FieldCulling,
    /// Whether this frame's fields go the GPU way.
    gpu_frame: bool,
    /// CPU time the last frame's `prepare` took (the whole cull on the CPU path).
    pub last_prepare: std::time::Duration,
}

fn buffer_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn texture_entry(binding: u32, sample_type: wgpu::TextureSampleType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

/// Whether the device can run the GPU path: compute, indirect draws with a
/// first instance, and six storage buffers in a compute stage.
pub fn gpu_path_supported(ctx: &GpuContext) -> bool {
    let flags = ctx.adapter.get_downlevel_capabilities().flags;
    flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS | wgpu::DownlevelFlags::INDIRECT_EXECUTION)
        && ctx.device.features().contains(wgpu::Features::INDIRECT_FIRST_INSTANCE)
        && ctx.device.limits().max_storage_buffers_per_shader_stage >= 6
        && ctx.device.limits().max_compute_workgroups_per_dimension >= (super::MAX_FIELD_INSTANCES / 64) as u32
}

impl CullPipelines {
    fn new(device: &wgpu::Device) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("field cull"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                buffer_entry(1, true),
                buffer_entry(2, true),
                buffer_entry(3, false),
                buffer_entry(4, false),
                buffer_entry(5, false),
                buffer_entry(6, false),
                texture_entry(7, wgpu::TextureSampleType::Float { filterable: false }),
            ],
        });
        let hiz_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("depth pyramid"),
            entries: &[
                texture_entry(0, wgpu::TextureSampleType::Depth),
                texture_entry(1, wgpu::TextureSampleType::Float { filterable: false }),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::StorageTexture {
                        access: wgpu::StorageTextureAccess::WriteOnly,
                        format: wgpu::TextureFormat::R32Float,
                        view_dimension: wgpu::TextureViewDimension::D2,
                    },
                    count: None,
                },
            ],
        });
        let pipeline = |layout: &wgpu::BindGroupLayout, source: &str, entry: &str| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(entry),
                bind_group_layouts: &[Some(layout)],
                immediate_size: 0,
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Self {
            cull: pipeline(&layout, CULL, "cull_main"),
            finalize: pipeline(&layout, CULL, "finalize"),
            hiz_copy: pipeline(&hiz_layout, HIZ, "hiz_copy"),
            hiz_down: pipeline(&hiz_layout, HIZ, "hiz_down"),
            layout,
            hiz_layout,
        }
    }
}

impl FieldRenderer {
    pub(crate) fn new(ctx: &GpuContext) -> Self {
        let pipelines = gpu_path_supported(ctx).then(|| CullPipelines::new(&ctx.device));
        if pipelines.is_none() {
            tracing::info!("building fields: the device lacks compute or indirect-first-instance; culling on the CPU");
        }
        Self {
            pipelines,
            hiz: Hiz::new(&ctx.device, 1, 1),
            culling: FieldCulling::default(),
            gpu_frame: false,
            last_prepare: Default::default(),
        }
    }

    /// Whether fields go the GPU way (device support and the mode chosen).
    pub(crate) fn uses_gpu(&self) -> bool {
        self.pipelines.is_some() && self.culling.mode == FieldMode::Auto
    }

    /// Forgets the previous frame's depth (a new view: nothing to occlude with).
    pub(crate) fn forget_depth(&mut self) {
        self.hiz.frame = None;
    }

    /// Writes this frame's chunk matrices and parameters (GPU path) or culls
    /// on the CPU and writes the draws (CPU path).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn prepare(
        &mut self,
        ctx: &GpuContext,
        scene: &GpuScene,
        camera: &Camera,
        planes: [Vec4; 5],
        shadow: Option<&ShadowFit>,
        full_height: f64,
    ) {
        let started = std::time::Instant::now();
        self.gpu_frame = self.uses_gpu();
        let c = self.culling;
        let lod_scale = (full_height / 2.0 / (camera.fov_y / 2.0).tan()) as f32;
        for field in scene.fields.values() {
            if !self.gpu_frame {
                let matrices: Vec<Mat4> = field.chunks.iter().map(|k| camera.chunk_matrix(k.origin, k.basis)).collect();
                let mut cpu = field.cpu.lock().unwrap_or_else(|e| e.into_inner());
                let frame = FrameCull { planes, shadow, lod_scale, culling: c };
                let (lists, args) = cull_cpu(field, &mut cpu.lod, &matrices, &frame);
                for (e, list) in lists.iter().enumerate() {
                    if list.is_empty() {
                        continue;
                    }
                    let view = e / (2 * field.templates as usize);
                    let first = args[e].first_instance as u64 * size_of::<InstanceData>() as u64;
                    ctx.queue.write_buffer(&field.draws[view], first, bytemuck::cast_slice(list));
                }
                cpu.args = Some(args);
                continue;
            }
            field.cpu.lock().unwrap_or_else(|e| e.into_inner()).args = None;
            ctx.queue.write_buffer(&field.args, 0, bytemuck::cast_slice(&field.reset_args));
            let mut p = CullParams::zeroed();
            for (k, plane) in planes.iter().enumerate() {
                p.planes[k] = plane.to_array();
            }
            if let Some(s) = shadow {
                let (axes, centre, half, back) = s.volume();
                for (row, axis) in p.shadow_axes.iter_mut().zip(axes) {
                    *row = axis.as_vec3().extend(0.0).to_array();
                }
                let along = |k: usize| centre.dot(axes[k]) as f32;
                p.shadow_box = [along(0), along(1), along(2), half as f32];
                p.shadow_depth = [back as f32, 1.0, 0.0, 0.0];
            }
            if let (true, Some((w, h, prev_vp, prev_cam))) = (c.occlusion, self.hiz.frame) {
                p.prev_view_proj = prev_vp.to_cols_array_2d();
                p.prev = (camera.position - prev_cam).as_vec3().extend(1.0).to_array();
                p.hiz = [w as f32, h as f32, self.hiz.level_count() as f32, camera.near as f32];
            }
            let forced = match c.forced {
                None => 0.0,
                Some(FieldLevel::Near) => 1.0,
                Some(FieldLevel::Far) => 2.0,
            };
            p.lod = [lod_scale, c.far_below_px, c.near_above_px, forced];
            p.counts = [field.count, field.templates, 0, 0];
            p.limits = [c.min_px, 0.0, 0.0, 0.0];
            (p.camera_hi, p.camera_lo) = super::split(camera.position);
            ctx.queue.write_buffer(&field.params, 0, bytemuck::bytes_of(&p));
        }
        self.last_prepare = started.elapsed();
    }

    /// Records the cull of every field (GPU path).
    pub(crate) fn encode_cull(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        scene: &GpuScene,
        timer: Option<&PassTimer>,
    ) {
        let Some(p) = self.pipelines.as_ref().filter(|_| self.gpu_frame) else { return };
        if scene.fields.is_empty() {
            return;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("field cull"),
            timestamp_writes: timer.and_then(|t| t.compute(Pass::FieldCull)),
        });
        for field in scene.fields.values() {
            let mut cached = field.cull_group.lock().unwrap_or_else(|e| e.into_inner());
            if cached.as_ref().is_none_or(|(generation, _)| *generation != self.hiz.generation) {
                let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("field cull"),
                    layout: &p.layout,
                    entries: &[
                        wgpu::BindGroupEntry { binding: 0, resource: field.params.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 1, resource: field.instances.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 2, resource: field.chunk_frames.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 3, resource: field.lod_state.as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 4, resource: field.draws[0].as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 5, resource: field.draws[1].as_entire_binding() },
                        wgpu::BindGroupEntry { binding: 6, resource: field.args.as_entire_binding() },
                        wgpu::BindGroupEntry {
                            binding: 7,
                            resource: wgpu::BindingResource::TextureView(&self.hiz.all),
                        },
                    ],
                });
                *cached = Some((self.hiz.generation, group));
            }
            let Some((_, group)) = cached.as_ref() else { continue };
            pass.set_bind_group(0, group, &[]);
            if field.count > 0 {
                pass.set_pipeline(&p.cull);
                pass.dispatch_workgroups(field.count.div_ceil(64), 1, 1);
            }
            pass.set_pipeline(&p.finalize);
            pass.dispatch_workgroups((field.templates * 4).div_ceil(64), 1, 1);
        }
    }

    /// Draws every field's instances of one view (0: camera, 1: sun) with
    /// an instanced pipeline whose chunk matrix (group 1) is the identity.
    pub(crate) fn draw(&self, pass: &mut wgpu::RenderPass<'_>, scene: &GpuScene, view: usize, textured: bool) {
        for field in scene.fields.values() {
            if textured {
                pass.set_bind_group(2, scene.textures.get(None), &[]);
            }
            pass.set_vertex_buffer(0, field.template_vertices.slice(..));
            pass.set_vertex_buffer(1, field.draws[view].slice(..));
            pass.set_index_buffer(field.template_indices.slice(..), wgpu::IndexFormat::Uint32);
            if self.gpu_frame {
                let (offset, count) = field.view_entries(view);
                pass.multi_draw_indexed_indirect(&field.args, offset, count);
            } else {
                let cpu = field.cpu.lock().unwrap_or_else(|e| e.into_inner());
                let Some(args) = cpu.args.as_ref() else { continue };
                let per_view = 2 * field.templates as usize;
                for a in &args[view * per_view..(view + 1) * per_view] {
                    if a.instance_count > 0 {
                        pass.draw_indexed(
                            a.first_index..a.first_index + a.index_count,
                            a.base_vertex,
                            a.first_instance..a.first_instance + a.instance_count,
                        );
                    }
                }
            }
        }
    }

    /// Builds the depth pyramid of the frame just drawn (GPU path, occlusion on).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encode_hiz(
        &mut self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        scene: &GpuScene,
        depth: &wgpu::TextureView,
        size: (u32, u32),
        view_proj: Mat4,
        camera: DVec3,
        timer: Option<&PassTimer>,
    ) {
        let Some(p) = self.pipelines.as_ref().filter(|_| self.gpu_frame && self.culling.occlusion) else {
            self.hiz.frame = None;
            return;
        };
        if scene.fields.is_empty() {
            self.hiz.frame = None;
            return;
        }
        let (w, h) = size;
        let (pw, ph) = Hiz::padded(w, h);
        if self.hiz.texture.width() != pw || self.hiz.texture.height() != ph {
            self.hiz = Hiz::new(&ctx.device, w, h);
        }
        let dims = self.hiz.texture.size();
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("depth pyramid"),
            timestamp_writes: timer.and_then(|t| t.compute(Pass::DepthPyramid)),
        });
        for level in 0..self.hiz.levels.len() {
            // Level 0 reads the depth target; its binding 1 (level 1) only fills the layout.
            let src = &self.hiz.levels[if level == 0 { 1 } else { level - 1 }];
            let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("depth pyramid level"),
                layout: &p.hiz_layout,
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: wgpu::BindingResource::TextureView(depth) },
                    wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(src) },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&self.hiz.levels[level]),
                    },
                ],
            });
            pass.set_pipeline(if level == 0 { &p.hiz_copy } else { &p.hiz_down });
            pass.set_bind_group(0, &group, &[]);
            let (lw, lh) = ((dims.width >> level).max(1), (dims.height >> level).max(1));
            pass.dispatch_workgroups(lw.div_ceil(8), lh.div_ceil(8), 1);
        }
        drop(pass);
        self.hiz.frame = Some((w, h, view_proj, camera));
    }

    /// What the last frame drew from each field (reads the draw lists back).
    pub(crate) fn counts(&self, ctx: &GpuContext, scene: &GpuScene) -> Result<Vec<FieldCounts>, RenderError> {
        let mut out = Vec::new();
        for field in scene.fields.values() {
            if let Some(args) = field.cpu.lock().unwrap_or_else(|e| e.into_inner()).args.as_ref() {
                out.push(field.counts_of(args));
                continue;
            }
            let bytes = crate::headless::read_buffer(ctx, &field.args)?;
            let args: Vec<super::DrawArgs> = bytemuck::pod_collect_to_vec(&bytes);
            out.push(field.counts_of(&args));
        }
        Ok(out)
    }
}

impl crate::Renderer {
    /// How building fields are culled and given their level of detail.
    pub fn set_field_culling(&mut self, culling: FieldCulling) {
        if culling.mode != self.fields.culling.mode || !culling.occlusion {
            self.fields.forget_depth();
        }
        self.fields.culling = culling;
    }

    pub fn field_culling(&self) -> FieldCulling {
        self.fields.culling
    }

    /// Whether building fields are culled on the GPU and drawn indirectly
    /// (the device supports it and the mode allows it).
    pub fn fields_on_gpu(&self) -> bool {
        self.fields.uses_gpu()
    }

    /// CPU time the last frame spent preparing its building fields: chunk
    /// matrices and parameters on the GPU path, the whole cull on the CPU path.
    pub fn field_prepare_time(&self) -> std::time::Duration {
        self.fields.last_prepare
    }

    /// What the last frame drew from each building field, in key order
    /// (reads the GPU's draw lists back: for tests and benchmarks).
    pub fn field_counts(&self, ctx: &GpuContext, scene: &GpuScene) -> Result<Vec<FieldCounts>, RenderError> {
        self.fields.counts(ctx, scene)
    }
}
