//! Building fields: very many buildings drawn as instances of a few
//! template meshes, culled and given a level of detail per building on the
//! GPU, and drawn by indirect draws whose number does not grow with what is
//! loaded.
//!
//! ```text
//! BuildingField (templates: near + far mesh; chunks: f64 origin; instances)
//!   └─upsert_field─► GpuField: template vertex/index buffers, instance
//!                    records (48 B), per-building LOD state, two draw
//!                    regions (view, sun) and the indirect draw list
//! each frame:  chunk matrices (f64 → camera-relative f32, one per chunk)
//!   GPU path:  cull.wgsl (frustum, Hi-Z of the previous frame, LOD with
//!              hysteresis, sun volume) → camera-relative InstanceData +
//!              instance counts → multi_draw_indexed_indirect
//!   CPU path:  the same rules on the CPU, chunk by chunk (no occlusion) →
//!              written draws and counts → direct instanced draws
//! ```
//!
//! The drawn instances are the renderer's [`InstanceData`], so fields go
//! through the same instanced pipelines as any shared mesh (shadows,
//! sections, picking by feature, styles).

mod cpu;
pub(crate) mod gpu;

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec3, Vec3};
use wgpu::util::DeviceExt;

use crate::GpuContext;
use crate::scene::{InstanceData, Vertex};

pub(crate) use cpu::{FrameCull, cull_cpu};

/// Identifies a field (the caller's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldKey(pub u64);

/// One building of a field: a template scaled to `size`, turned by `yaw`
/// about the chunk's z axis and set down at `position` (48 bytes, as
/// `cull.wgsl` reads it).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct FieldInstance {
    /// Footprint centre at the base, chunk coordinates, metres.
    pub position: [f32; 3],
    /// Radians, counter-clockwise from the chunk's x axis.
    pub yaw: f32,
    /// Width, depth and height (the template's x, y and z), metres.
    pub size: [f32; 3],
    /// Index into [`BuildingField::templates`].
    pub template: u32,
    /// Compact feature index (styles, picking).
    pub feature: u32,
    /// Index into [`BuildingField::chunks`].
    pub chunk: u32,
    pub _pad: [u32; 2],
}

impl FieldInstance {
    /// Centre and radius of the sphere around the instance's box (chunk coordinates).
    pub fn bounding_sphere(&self) -> (Vec3, f32) {
        let s = Vec3::from_array(self.size);
        (Vec3::from_array(self.position) + Vec3::new(0.0, 0.0, s.z * 0.5), 0.5 * s.length())
    }

    /// The map template → chunk coordinates, as the rows of [`InstanceData`].
    pub fn rows(&self) -> [[f32; 4]; 3] {
        let (s, c) = self.yaw.sin_cos();
        let [w, d, h] = self.size;
        let p = self.position;
        [[c * w, -s * d, 0.0, p[0]], [s * w, c * d, 0.0, p[1]], [0.0, 0.0, h, p[2]]]
    }
}

/// A template mesh in unit space: the footprint within [−0.5, 0.5]², the
/// base at z = 0 and the top at z ≤ 1. Faces should be axis-aligned
/// (walls along x or y, flat roofs): normals are carried through the
/// instance's scale exactly only then. Material 8 (unit façade) gets
/// façade coordinates from the scaled position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateMesh {
    pub vertices: Vec<Vertex>,
    pub indices: Vec<u32>,
}

/// The two levels of detail of a template: full geometry near, a simpler
/// mesh (a LoD1 prism) far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldTemplate {
    pub near: TemplateMesh,
    pub far: TemplateMesh,
}

/// A chunk of a field: the f64 frame its instances are placed in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldChunk {
    pub origin: DVec3,
    /// Chunk-local → world rotation.
    pub basis: DMat3,
}

/// What the caller hands over: templates, chunks and instances.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildingField {
    pub templates: Vec<FieldTemplate>,
    pub chunks: Vec<FieldChunk>,
    pub instances: Vec<FieldInstance>,
}

/// Why a field cannot be uploaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("a field holds at most {max} buildings, this one {count}; split it into several fields")]
    TooMany { count: usize, max: usize },
    #[error("building {index}: template {template} does not exist ({templates} templates)")]
    NoTemplate { index: usize, template: u32, templates: usize },
    #[error("building {index}: chunk {chunk} does not exist ({chunks} chunks)")]
    NoChunk { index: usize, chunk: u32, chunks: usize },
    #[error("building {index}: position, size or yaw is not finite, or a size is negative")]
    BadShape { index: usize },
    #[error("template {index}: {level} mesh is empty or has an index past its {vertices} vertices")]
    BadTemplate { index: usize, level: &'static str, vertices: usize },
}

/// Level-of-detail and culling settings of building fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldCulling {
    /// GPU compute culling and indirect draws where the device can, or the
    /// CPU path.
    pub mode: FieldMode,
    /// Test buildings against the previous frame's depth pyramid (GPU path only).
    pub occlusion: bool,
    /// A near building goes far when its bounding sphere is narrower than
    /// this on screen (pixels of the full frame).
    pub far_below_px: f32,
    /// A far building comes near again when wider than this (> `far_below_px`: hysteresis).
    pub near_above_px: f32,
    /// Buildings narrower than this on screen (pixels of the full frame)
    /// are not drawn at all (contribution culling; 0 keeps every one).
    pub min_px: f32,
    /// Draw every building at one level (tests, comparisons).
    pub forced: Option<FieldLevel>,
}

impl Default for FieldCulling {
    fn default() -> Self {
        Self {
            mode: FieldMode::Auto,
            occlusion: true,
            far_below_px: 48.0,
            near_above_px: 60.0,
            min_px: 1.0,
            forced: None,
        }
    }
}

/// Where fields are culled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    /// The GPU path where the device supports it, else the CPU path.
    Auto,
    /// The CPU path (frustum, level of detail and sun volume; no occlusion;
    /// direct draws).
    Cpu,
}

/// A level of detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldLevel {
    Near,
    Far,
}

/// Buildings a frame drew from the fields, by view and level (read back from the GPU).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldCounts {
    pub near: u64,
    pub far: u64,
    pub shadow_near: u64,
    pub shadow_far: u64,
    pub triangles: u64,
}

/// Counts of several fields (or frames) added up.
impl std::ops::AddAssign for FieldCounts {
    fn add_assign(&mut self, o: FieldCounts) {
        self.near += o.near;
        self.far += o.far;
        self.shadow_near += o.shadow_near;
        self.shadow_far += o.shadow_far;
        self.triangles += o.triangles;
    }
}

/// Most buildings in one field (its draw regions must fit one storage binding).
pub const MAX_FIELD_INSTANCES: usize = 1 << 20;

/// One indirect draw (wgpu's `DrawIndexedIndirectArgs`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub(crate) struct DrawArgs {
    pub index_count: u32,
    pub instance_count: u32,
    pub first_index: u32,
    pub base_vertex: i32,
    pub first_instance: u32,
}

/// A world position as two f32s whose sum is the f64 (for camera-relative
/// differences on the GPU).
pub(crate) fn split(v: DVec3) -> ([f32; 4], [f32; 4]) {
    let hi = v.as_vec3();
    let lo = (v - hi.as_dvec3()).as_vec3();
    (hi.extend(0.0).to_array(), lo.extend(0.0).to_array())
}

/// `ChunkFrame`s of `cull.wgsl`: origin hi, origin lo, the basis's three columns (80 bytes each).
fn chunk_frames(chunks: &[FieldChunk]) -> Vec<[[f32; 4]; 5]> {
    chunks
        .iter()
        .map(|c| {
            let (hi, lo) = split(c.origin);
            let b = c.basis.as_mat3();
            [hi, lo, b.x_axis.extend(0.0).to_array(), b.y_axis.extend(0.0).to_array(), b.z_axis.extend(0.0).to_array()]
        })
        .collect()
}

/// A chunk's bound for the CPU path: centre (chunk coordinates) and radius.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkBound {
    pub centre: Vec3,
    pub radius: f32,
    /// The chunk's instances, `first..first + count` of the chunk-sorted order.
    pub first: u32,
    pub count: u32,
}

pub(crate) struct GpuField {
    pub template_vertices: wgpu::Buffer,
    pub template_indices: wgpu::Buffer,
    /// The draw list as it is before culling: 2 views × templates × 2 levels.
    pub reset_args: Vec<DrawArgs>,
    pub templates: u32,
    pub count: u32,
    pub instances: wgpu::Buffer,
    /// Chunk frames as `cull.wgsl` reads them (origins split into two f32s), uploaded once.
    pub chunk_frames: wgpu::Buffer,
    pub lod_state: wgpu::Buffer,
    /// Camera-relative instances drawn: the view's, the sun's.
    pub draws: [wgpu::Buffer; 2],
    pub args: wgpu::Buffer,
    pub params: wgpu::Buffer,
    /// CPU copies for the CPU path: chunk frames, instances by chunk, bounds, LOD state.
    pub chunks: Vec<FieldChunk>,
    pub by_chunk: Vec<FieldInstance>,
    pub bounds: Vec<ChunkBound>,
    /// The CPU path's LOD state (by chunk order) and its last draw list (none: GPU path).
    pub cpu: std::sync::Mutex<CpuState>,
    /// The cull pass's bind group, with the pyramid generation it binds.
    pub cull_group: std::sync::Mutex<Option<(u64, wgpu::BindGroup)>>,
    /// Triangles of each template's near and far mesh.
    pub triangles: Vec<[u64; 2]>,
}

#[derive(Default)]
pub(crate) struct CpuState {
    pub lod: Vec<u8>,
    pub args: Option<Vec<DrawArgs>>,
}

impl GpuField {
    pub(crate) fn new(ctx: &GpuContext, field: &BuildingField) -> Result<Self, FieldError> {
        let n = field.instances.len();
        if n > MAX_FIELD_INSTANCES {
            return Err(FieldError::TooMany { count: n, max: MAX_FIELD_INSTANCES });
        }
        let t = field.templates.len();
        for (index, i) in field.instances.iter().enumerate() {
            if i.template as usize >= t {
                return Err(FieldError::NoTemplate { index, template: i.template, templates: t });
            }
            if i.chunk as usize >= field.chunks.len() {
                return Err(FieldError::NoChunk { index, chunk: i.chunk, chunks: field.chunks.len() });
            }
            let finite = i.position.iter().chain(&i.size).all(|v| v.is_finite()) && i.yaw.is_finite();
            if !finite || i.size.iter().any(|s| *s < 0.0) {
                return Err(FieldError::BadShape { index });
            }
        }
        // Template meshes, near and far, one after another in one buffer pair.
        let (mut vertices, mut indices) = (Vec::new(), Vec::new());
        let mut meshes = Vec::new(); // (first index, index count, base vertex) per template and level
        let mut triangles = Vec::new();
        for (index, tpl) in field.templates.iter().enumerate() {
            let mut tri = [0u64; 2];
            for (level, (mesh, name)) in [(&tpl.near, "near"), (&tpl.far, "far")].into_iter().enumerate() {
                let nv = mesh.vertices.len();
                if mesh.indices.is_empty() || mesh.indices.iter().any(|&k| k as usize >= nv) {
                    return Err(FieldError::BadTemplate { index, level: name, vertices: nv });
                }
                meshes.push((indices.len() as u32, mesh.indices.len() as u32, vertices.len() as i32));
                vertices.extend_from_slice(&mesh.vertices);
                indices.extend_from_slice(&mesh.indices);
                tri[level] = mesh.indices.len() as u64 / 3;
            }
            triangles.push(tri);
        }
        // Regions of the draw buffers: one per template, as long as its instances.
        let mut per_template = vec![0u32; t];
        for i in &field.instances {
            per_template[i.template as usize] += 1;
        }
        let mut reset_args = Vec::with_capacity(4 * t);
        for _view in 0..2 {
            let mut base = 0u32;
            for (tpl, &cap) in per_template.iter().enumerate() {
                for level in 0..2 {
                    let (first_index, index_count, base_vertex) = meshes[tpl * 2 + level];
                    let first_instance = if level == 0 { base } else { base + cap };
                    reset_args.push(DrawArgs {
                        index_count,
                        instance_count: 0,
                        first_index,
                        base_vertex,
                        first_instance,
                    });
                }
                base += cap;
            }
        }
        // Instances sorted by chunk, with a bound per chunk, for the CPU path.
        let mut by_chunk = field.instances.clone();
        by_chunk.sort_by_key(|i| i.chunk);
        let mut bounds = Vec::new();
        let mut start = 0;
        while start < by_chunk.len() {
            let chunk = by_chunk[start].chunk;
            let end = start + by_chunk[start..].iter().take_while(|i| i.chunk == chunk).count();
            let spheres: Vec<_> = by_chunk[start..end].iter().map(FieldInstance::bounding_sphere).collect();
            let (lo, hi) = spheres.iter().fold((Vec3::splat(f32::MAX), Vec3::splat(f32::MIN)), |(lo, hi), (c, r)| {
                (lo.min(*c - Vec3::splat(*r)), hi.max(*c + Vec3::splat(*r)))
            });
            let centre = (lo + hi) * 0.5;
            let radius = spheres.iter().map(|(c, r)| (*c - centre).length() + r).fold(0.0, f32::max);
            bounds.push(ChunkBound { centre, radius, first: start as u32, count: (end - start) as u32 });
            start = end;
        }

        let device = &ctx.device;
        let init = |label, contents: &[u8], usage| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let empty = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        let draw_size = (n.max(1) * size_of::<InstanceData>()) as u64;
        let draws = [
            empty("field draws (view)", draw_size, U::STORAGE | U::VERTEX | U::COPY_DST),
            empty("field draws (sun)", draw_size, U::STORAGE | U::VERTEX | U::COPY_DST),
        ];
        Ok(Self {
            template_vertices: init("field template vertices", bytemuck::cast_slice(&vertices), U::VERTEX),
            template_indices: init("field template indices", bytemuck::cast_slice(&indices), U::INDEX),
            templates: t as u32,
            count: n as u32,
            instances: init("field instances", bytemuck::cast_slice(&field.instances), U::STORAGE),
            chunk_frames: init("field chunk frames", bytemuck::cast_slice(&chunk_frames(&field.chunks)), U::STORAGE),
            lod_state: empty("field LOD state", (n * 4) as u64, U::STORAGE | U::COPY_DST | U::COPY_SRC),
            draws,
            args: init(
                "field draw list",
                bytemuck::cast_slice(&reset_args),
                U::STORAGE | U::INDIRECT | U::COPY_DST | U::COPY_SRC,
            ),
            params: empty("field cull parameters", size_of::<gpu::CullParams>() as u64, U::UNIFORM | U::COPY_DST),
            reset_args,
            chunks: field.chunks.clone(),
            by_chunk,
            bounds,
            cpu: std::sync::Mutex::new(CpuState { lod: vec![0; n], args: None }),
            triangles,
            cull_group: std::sync::Mutex::new(None),
        })
    }

    /// GPU bytes of the field: templates, instances, LOD state, chunk matrices, draw regions and list.
    pub(crate) fn gpu_bytes(&self) -> u64 {
        [&self.template_vertices, &self.template_indices, &self.instances, &self.lod_state, &self.chunk_frames]
            .iter()
            .map(|b| b.size())
            .sum::<u64>()
            + self.draws.iter().map(|b| b.size()).sum::<u64>()
            + self.args.size()
            + self.params.size()
    }

    /// CPU bytes kept for the CPU path and bookkeeping.
    pub(crate) fn cpu_bytes(&self) -> u64 {
        (self.by_chunk.capacity() * size_of::<FieldInstance>()
            + self.bounds.capacity() * size_of::<ChunkBound>()
            + self.count as usize
            + self.chunks.capacity() * size_of::<FieldChunk>()
            + self.reset_args.capacity() * size_of::<DrawArgs>()) as u64
    }

    /// The draw list's byte offset and length for view 0 (camera) or 1 (sun).
    pub(crate) fn view_entries(&self, view: usize) -> (u64, u32) {
        let per_view = self.templates * 2;
        ((view as u64) * u64::from(per_view) * size_of::<DrawArgs>() as u64, per_view)
    }

    pub(crate) fn counts_of(&self, args: &[DrawArgs]) -> FieldCounts {
        let mut c = FieldCounts::default();
        let t = self.templates as usize;
        for (e, a) in args.iter().enumerate() {
            let (view, tpl, level) = (e / (2 * t), (e / 2) % t, e % 2);
            let n = u64::from(a.instance_count);
            match (view, level) {
                (0, 0) => c.near += n,
                (0, _) => c.far += n,
                (_, 0) => c.shadow_near += n,
                _ => c.shadow_far += n,
            }
            if view == 0 {
                c.triangles += n * self.triangles[tpl][level];
            }
        }
        c
    }
}
