//! GPU-resident scene: chunk buffers and the per-feature style buffer.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec3};
use wgpu::util::DeviceExt;

use crate::GpuContext;
use crate::field::{BuildingField, FieldError, FieldKey, GpuField};
use crate::specialise::Surface;
use crate::textures::{TextureKey, Textures};

/// One vertex as the GPU reads it (44 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Vertex {
    /// Offset from the chunk origin along the chunk basis, metres.
    pub position: [f32; 3],
    pub normal: [f32; 3],
    /// Material-specific coordinates (façade bay/storey, plan metres, ...).
    pub uv: [f32; 2],
    /// sRGB colour.
    pub color: [u8; 4],
    /// Compact feature index (0 = none).
    pub feature: u32,
    /// Material code, see `shaders/city.wgsl`.
    pub material: u32,
}

impl Vertex {
    pub const ATTRIBUTES: [wgpu::VertexAttribute; 6] = wgpu::vertex_attr_array![
        0 => Float32x3, 1 => Float32x3, 2 => Float32x2, 3 => Unorm8x4, 4 => Uint32, 5 => Uint32
    ];

    pub fn layout() -> wgpu::VertexBufferLayout<'static> {
        wgpu::VertexBufferLayout {
            array_stride: size_of::<Vertex>() as u64,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &Self::ATTRIBUTES,
        }
    }
}

/// Identifies a chunk (the caller's choice: a grid cell, a tile id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey(pub u64);

/// Batched geometry of many features, relative to an f64 origin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkMesh {
    /// World position of the chunk's local origin.
    pub origin: DVec3,
    /// Chunk-local → world rotation.
    pub basis: DMat3,
    pub vertices: Vec<Vertex>,
    pub indices: Vec<u32>,
    /// Instances of shared meshes placed in this chunk.
    pub instances: Vec<InstanceBatch>,
    /// Index ranges by texture; empty means one untextured range over all indices.
    pub batches: Vec<DrawBatch>,
    /// Points (point clouds), drawn as screen-space squares.
    pub points: Vec<PointVertex>,
}

/// A range of indices drawn with one base-colour texture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawBatch {
    pub texture: Option<TextureKey>,
    pub first_index: u32,
    pub index_count: u32,
    /// Only counter-clockwise faces are seen (a glTF material that is not
    /// double-sided): the opaque pass culls the back faces. Otherwise both
    /// sides are drawn and lit from the viewer's side.
    pub single_sided: bool,
}

/// One point of a point cloud (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct PointVertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    /// sRGB colour.
    pub color: [u8; 4],
    pub feature: u32,
}

impl PointVertex {
    pub const ATTRIBUTES: [wgpu::VertexAttribute; 4] =
        wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Unorm8x4, 3 => Uint32];

    /// Points are drawn as instances: six vertices (a square) per point.
    pub fn layout() -> wgpu::VertexBufferLayout<'static> {
        wgpu::VertexBufferLayout {
            array_stride: size_of::<PointVertex>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &Self::ATTRIBUTES,
        }
    }
}

/// Identifies a mesh shared by many instances (see [`GpuScene::upsert_shared_mesh`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedMeshKey(pub u64);

/// One instance of a shared mesh: an affine map from the mesh's coordinates
/// to the chunk's (rows of a 3×4 matrix), and the feature it is (64 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct InstanceData {
    pub rows: [[f32; 4]; 3],
    pub feature: u32,
    pub _pad: [u32; 3],
}

impl InstanceData {
    pub const ATTRIBUTES: [wgpu::VertexAttribute; 4] = wgpu::vertex_attr_array![
        6 => Float32x4, 7 => Float32x4, 8 => Float32x4, 9 => Uint32
    ];

    pub fn layout() -> wgpu::VertexBufferLayout<'static> {
        wgpu::VertexBufferLayout {
            array_stride: size_of::<InstanceData>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &Self::ATTRIBUTES,
        }
    }

    /// Where the instance puts a mesh point, in chunk coordinates.
    pub fn apply(&self, p: glam::Vec3) -> glam::Vec3 {
        let r = |i: usize| glam::Vec4::from_array(self.rows[i]);
        glam::Vec3::new(
            r(0).truncate().dot(p) + r(0).w,
            r(1).truncate().dot(p) + r(1).w,
            r(2).truncate().dot(p) + r(2).w,
        )
    }

    /// The largest factor by which the instance stretches any direction (bound).
    pub fn max_scale(&self) -> f32 {
        (0..3).map(|c| glam::Vec3::new(self.rows[0][c], self.rows[1][c], self.rows[2][c]).length()).sum()
    }
}

/// Instances of one shared mesh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceBatch {
    pub mesh: SharedMeshKey,
    pub instances: Vec<InstanceData>,
}

impl ChunkMesh {
    /// Whether the chunk draws nothing.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty() && self.points.is_empty() && self.instances.iter().all(|b| b.instances.is_empty())
    }

    /// Centre and radius of a sphere (world) around all vertices; instances
    /// count by their origin, widened by `instance_radius(mesh)`.
    pub fn bounding_sphere(&self, instance_radius: impl Fn(SharedMeshKey) -> f32) -> (DVec3, f64) {
        let mut points: Vec<(glam::Vec3, f32)> = self
            .vertices
            .iter()
            .map(|v| v.position)
            .chain(self.points.iter().map(|p| p.position))
            .map(|p| (glam::Vec3::from_array(p), 0.0))
            .collect();
        for b in &self.instances {
            let r = instance_radius(b.mesh);
            points.extend(b.instances.iter().map(|i| (i.apply(glam::Vec3::ZERO), r * i.max_scale())));
        }
        if points.is_empty() {
            return (self.origin, 0.0);
        }
        let (mut lo, mut hi) = (glam::Vec3::splat(f32::INFINITY), glam::Vec3::splat(f32::NEG_INFINITY));
        for (p, r) in &points {
            lo = lo.min(*p - glam::Vec3::splat(*r));
            hi = hi.max(*p + glam::Vec3::splat(*r));
        }
        let c = ((lo + hi) * 0.5).as_dvec3();
        let r = points.iter().map(|(p, r)| (p.as_dvec3() - c).length() + *r as f64).fold(0.0, f64::max);
        (self.origin + self.basis * c, r)
    }
}

/// Display state of one feature (uploaded packed into 24 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct FeatureStyle {
    /// Linear RGB override and its blend weight in `a` (0 = keep the feature's colour).
    pub color: [f32; 4],
    /// `flags[0]`: bit 0 hidden, bit 1 highlighted, bit 2 selected, bit 3
    /// classified (the surface's pixels take the feature of the
    /// classification volume they are in), bit 4 flattened (the surface is
    /// pressed down by flattening polygons, see [`FlattenPolygon`](crate::FlattenPolygon)).
    pub flags: [u32; 4],
    /// Live extrusion and transparency: `[scale − 1, base height,
    /// transparency, 0]`. Vertices move vertically about the base height
    /// (chunk-local z, which is the city's ENU up); transparency is
    /// `1 − opacity` (see-through features, drawn blended; 0: opaque). All
    /// zeros leaves the geometry as modelled and opaque.
    pub extrude: [f32; 4],
}

impl FeatureStyle {
    /// Whether the feature is drawn see-through (visible, with some transparency).
    pub fn is_transparent(&self) -> bool {
        self.extrude[2] > 0.0 && self.flags[0] & Self::HIDDEN == 0
    }

    pub const HIDDEN: u32 = 1;
    pub const HIGHLIGHTED: u32 = 2;
    pub const SELECTED: u32 = 4;
    pub const CLASSIFIED: u32 = 8;
    pub const FLATTEN: u32 = 16;
    /// Part of a continuous surface cut into tiles (terrain): no feature
    /// outline where it meets another such part.
    pub const SEAMLESS: u32 = 32;
    pub const DEFAULT: FeatureStyle = FeatureStyle { color: [0.0; 4], flags: [0; 4], extrude: [0.0; 4] };
}

/// Counts of what went to the GPU, for tests and benches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    pub geometry_uploads: u64,
    pub geometry_bytes: u64,
    pub style_uploads: u64,
    pub style_bytes: u64,
}

pub(crate) struct GpuMesh {
    pub vertex_buffer: wgpu::Buffer,
    pub index_buffer: wgpu::Buffer,
    pub index_count: u32,
    pub batches: Vec<GpuBatch>,
    /// Distance of the farthest vertex from the mesh origin.
    pub radius: f32,
}

/// Material codes (`city.wgsl`) shaded without a procedural pattern: plain,
/// roof, terrain and textured.
const BASIC_MATERIALS: [u32; 4] = [0, 2, 3, 7];

/// A draw batch as uploaded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GpuBatch {
    pub draw: DrawBatch,
    /// What its surfaces need: procedural materials if any vertex it draws
    /// has one, otherwise its texture or none.
    pub surface: Surface,
}

impl GpuBatch {
    fn new(draw: DrawBatch, vertices: &[Vertex], indices: &[u32]) -> Self {
        let range = draw.first_index as usize..(draw.first_index + draw.index_count) as usize;
        let basic = indices.get(range).is_some_and(|r| {
            r.iter().all(|&i| vertices.get(i as usize).is_some_and(|v| BASIC_MATERIALS.contains(&v.material)))
        });
        let surface = match (basic, draw.texture) {
            (false, _) => Surface::Procedural,
            (true, None) => Surface::Plain,
            (true, Some(_)) => Surface::Textured,
        };
        Self { draw, surface }
    }
}

pub(crate) struct GpuInstances {
    pub mesh: SharedMeshKey,
    pub buffer: wgpu::Buffer,
    pub count: u32,
}

pub(crate) struct GpuChunk {
    /// The chunk's own (batched) geometry, if any.
    pub mesh: Option<GpuMesh>,
    /// Points and their count.
    pub points: Option<(wgpu::Buffer, u32)>,
    pub instances: Vec<GpuInstances>,
    pub origin: DVec3,
    pub basis: DMat3,
    pub center: DVec3,
    pub radius: f64,
    /// Not drawn (a streamed tile another level stands in for).
    pub hidden: bool,
}

/// Chunks and feature styles on the GPU.
pub struct GpuScene {
    pub(crate) chunks: HashMap<ChunkKey, GpuChunk>,
    /// Building fields (see `field`), in key order.
    pub(crate) fields: std::collections::BTreeMap<FieldKey, GpuField>,
    pub(crate) shared: HashMap<SharedMeshKey, GpuMesh>,
    pub(crate) textures: Textures,
    styles: Vec<FeatureStyle>,
    /// Counts changes to geometry, visibility and styles (what a shadow map depends on).
    generation: u64,
    /// How many of them are see-through, how many selected and how many highlighted.
    transparent: usize,
    selected: usize,
    highlighted: usize,
    pub(crate) style_buffer: wgpu::Buffer,
    style_capacity: usize,
    /// The device's largest storage binding, bytes.
    style_binding_limit: u64,
    dirty: Vec<u32>,
    stats: UploadStats,
}

impl std::fmt::Debug for GpuScene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuScene").field("chunks", &self.chunks.len()).field("features", &self.styles.len()).finish()
    }
}

/// A style as the shaders read it (`PackedStyle` in `city.wgsl`, 24 bytes):
/// colour as four f16, the flags, transparency as f16, and the extrusion's
/// scale − 1 and base height as f32, so that 5 million features fit in one
/// 128 MiB storage binding.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct PackedStyle([u32; 6]);

impl From<&FeatureStyle> for PackedStyle {
    fn from(s: &FeatureStyle) -> Self {
        let h = |a: f32, b: f32| {
            u32::from(half::f16::from_f32(a).to_bits()) | (u32::from(half::f16::from_f32(b).to_bits()) << 16)
        };
        PackedStyle([
            h(s.color[0], s.color[1]),
            h(s.color[2], s.color[3]),
            s.flags[0],
            h(s.extrude[2], 0.0),
            s.extrude[0].to_bits(),
            s.extrude[1].to_bits(),
        ])
    }
}

fn packed(styles: &[FeatureStyle]) -> Vec<PackedStyle> {
    styles.iter().map(PackedStyle::from).collect()
}

/// Generations are unique across scenes, so two scenes drawn by one
/// renderer never look alike to its shadow-map cache.
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn style_buffer(ctx: &GpuContext, capacity: usize) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("feature styles"),
        size: (capacity * size_of::<PackedStyle>()) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl GpuScene {
    pub fn new(ctx: &GpuContext) -> Self {
        let capacity = 1024;
        let mut s = Self {
            chunks: HashMap::new(),
            fields: Default::default(),
            shared: HashMap::new(),
            textures: Textures::new(ctx),
            styles: vec![FeatureStyle::DEFAULT; 1],
            transparent: 0,
            selected: 0,
            highlighted: 0,
            generation: next_generation(),
            style_buffer: style_buffer(ctx, capacity),
            style_capacity: capacity,
            style_binding_limit: ctx.device.limits().max_storage_buffer_binding_size,
            dirty: vec![0],
            stats: UploadStats::default(),
        };
        s.flush(ctx);
        s
    }

    fn upload_mesh(
        &mut self,
        ctx: &GpuContext,
        vertices: &[Vertex],
        indices: &[u32],
        batches: &[DrawBatch],
    ) -> GpuMesh {
        let vertex_buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh vertices"),
            contents: bytemuck::cast_slice(vertices),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let index_buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh indices"),
            contents: bytemuck::cast_slice(indices),
            usage: wgpu::BufferUsages::INDEX,
        });
        self.stats.geometry_uploads += 1;
        self.stats.geometry_bytes += (size_of_val(vertices) + size_of_val(indices)) as u64;
        let radius = vertices.iter().map(|v| glam::Vec3::from_array(v.position).length()).fold(0.0, f32::max);
        let whole =
            [DrawBatch { texture: None, first_index: 0, index_count: indices.len() as u32, single_sided: false }];
        let batches = if batches.is_empty() { &whole[..] } else { batches };
        let batches = batches.iter().map(|b| GpuBatch::new(*b, vertices, indices)).collect();
        GpuMesh { vertex_buffer, index_buffer, index_count: indices.len() as u32, batches, radius }
    }

    /// Uploads (or replaces) a mesh that instances refer to. Its vertices'
    /// `feature` is ignored: each instance carries its own.
    pub fn upsert_shared_mesh(
        &mut self,
        ctx: &GpuContext,
        key: SharedMeshKey,
        vertices: &[Vertex],
        indices: &[u32],
        batches: &[DrawBatch],
    ) {
        self.generation = next_generation();
        if indices.is_empty() {
            self.shared.remove(&key);
            return;
        }
        let mesh = self.upload_mesh(ctx, vertices, indices, batches);
        self.shared.insert(key, mesh);
    }

    pub fn has_shared_mesh(&self, key: SharedMeshKey) -> bool {
        self.shared.contains_key(&key)
    }

    /// Uploads (or replaces) a chunk's geometry and instances. Instances of
    /// shared meshes not uploaded yet are kept and drawn once the mesh arrives.
    pub fn upsert_chunk(&mut self, ctx: &GpuContext, key: ChunkKey, chunk: &ChunkMesh) {
        self.generation = next_generation();
        if chunk.is_empty() {
            self.chunks.remove(&key);
            return;
        }
        let mesh =
            (!chunk.indices.is_empty()).then(|| self.upload_mesh(ctx, &chunk.vertices, &chunk.indices, &chunk.batches));
        let points = (!chunk.points.is_empty()).then(|| {
            self.stats.geometry_uploads += 1;
            self.stats.geometry_bytes += size_of_val(chunk.points.as_slice()) as u64;
            let b = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("points"),
                contents: bytemuck::cast_slice(&chunk.points),
                usage: wgpu::BufferUsages::VERTEX,
            });
            (b, chunk.points.len() as u32)
        });
        let mut instances = Vec::new();
        for b in chunk.instances.iter().filter(|b| !b.instances.is_empty()) {
            let buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instances"),
                contents: bytemuck::cast_slice(&b.instances),
                usage: wgpu::BufferUsages::VERTEX,
            });
            self.stats.geometry_uploads += 1;
            self.stats.geometry_bytes += size_of_val(b.instances.as_slice()) as u64;
            instances.push(GpuInstances { mesh: b.mesh, buffer, count: b.instances.len() as u32 });
        }
        let (center, radius) = chunk.bounding_sphere(|k| self.shared.get(&k).map_or(50.0, |m| m.radius));
        let hidden = self.chunks.get(&key).is_some_and(|c| c.hidden);
        self.chunks.insert(
            key,
            GpuChunk { mesh, points, instances, origin: chunk.origin, basis: chunk.basis, center, radius, hidden },
        );
    }

    /// Uploads (or replaces) a building field: many buildings as instances
    /// of a few templates, culled and given a level of detail per building
    /// each frame (see [`BuildingField`]). Styles are by the instances'
    /// feature indices, as for chunks.
    pub fn upsert_field(&mut self, ctx: &GpuContext, key: FieldKey, field: &BuildingField) -> Result<(), FieldError> {
        self.generation = next_generation();
        let gpu = GpuField::new(ctx, field)?;
        self.stats.geometry_uploads += 1;
        self.stats.geometry_bytes += gpu.gpu_bytes();
        if let Some(max) = field.instances.iter().map(|i| i.feature).max() {
            self.reserve_features(max as usize + 1);
        }
        self.fields.insert(key, gpu);
        Ok(())
    }

    pub fn remove_field(&mut self, key: FieldKey) -> bool {
        self.generation = next_generation();
        self.fields.remove(&key).is_some()
    }

    /// Bytes the fields hold on the GPU and on the CPU.
    pub fn field_bytes(&self) -> (u64, u64) {
        self.fields.values().fold((0, 0), |(g, c), f| (g + f.gpu_bytes(), c + f.cpu_bytes()))
    }

    /// Uploads a base-colour texture (RGBA8 sRGB, rows packed) with mipmaps.
    pub fn upsert_texture(&mut self, ctx: &GpuContext, key: TextureKey, width: u32, height: u32, rgba: &[u8]) {
        self.textures.insert(ctx, key, width, height, rgba);
    }

    pub fn has_texture(&self, key: TextureKey) -> bool {
        self.textures.contains(key)
    }

    /// Frees a texture no chunk draws any more (a streamed tile's, after its eviction).
    pub fn remove_texture(&mut self, key: TextureKey) -> bool {
        self.textures.remove(key)
    }

    /// Textures held on the GPU.
    pub fn texture_count(&self) -> usize {
        self.textures.len()
    }

    pub fn remove_chunk(&mut self, key: ChunkKey) -> bool {
        self.generation = next_generation();
        self.chunks.remove(&key).is_some()
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Shows or hides a chunk without touching its buffers; false if there is no such chunk.
    pub fn set_chunk_visible(&mut self, key: ChunkKey, visible: bool) -> bool {
        self.generation = next_generation();
        match self.chunks.get_mut(&key) {
            Some(c) => {
                c.hidden = !visible;
                true
            }
            None => false,
        }
    }

    /// Bytes of every chunk's vertex, index, point and instance buffers.
    pub fn geometry_bytes(&self) -> u64 {
        self.chunks
            .values()
            .map(|c| {
                c.mesh.as_ref().map_or(0, |m| m.vertex_buffer.size() + m.index_buffer.size())
                    + c.points.as_ref().map_or(0, |p| p.0.size())
                    + c.instances.iter().map(|i| i.buffer.size()).sum::<u64>()
            })
            .sum()
    }

    /// Total triangles over all chunks.
    pub fn triangle_count(&self) -> u64 {
        self.chunks.values().map(|c| self.chunk_triangles(c)).sum()
    }

    pub(crate) fn chunk_triangles(&self, c: &GpuChunk) -> u64 {
        let own =
            c.mesh.as_ref().map_or(0, |m| m.index_count as u64 / 3) + c.points.as_ref().map_or(0, |p| 2 * p.1 as u64);
        let inst: u64 = c
            .instances
            .iter()
            .map(|i| self.shared.get(&i.mesh).map_or(0, |m| m.index_count as u64 / 3) * i.count as u64)
            .sum();
        own + inst
    }

    /// Sets a feature's style; uploaded at the next [`GpuScene::flush`].
    pub fn set_style(&mut self, index: u32, style: FeatureStyle) {
        let i = index as usize;
        if i >= self.styles.len() {
            self.styles.resize(i + 1, FeatureStyle::DEFAULT);
        }
        if self.styles[i] != style {
            self.transparent -= usize::from(self.styles[i].is_transparent());
            self.transparent += usize::from(style.is_transparent());
            self.selected -= usize::from(self.styles[i].flags[0] & FeatureStyle::SELECTED != 0);
            self.selected += usize::from(style.flags[0] & FeatureStyle::SELECTED != 0);
            self.highlighted -= usize::from(self.styles[i].flags[0] & FeatureStyle::HIGHLIGHTED != 0);
            self.highlighted += usize::from(style.flags[0] & FeatureStyle::HIGHLIGHTED != 0);
            self.styles[i] = style;
            self.dirty.push(index);
        }
    }

    /// Changes so far to geometry, visibility or styles: equal numbers mean
    /// the scene draws the same (a cached shadow map still holds).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether any feature is selected (the composite pass outlines selections only then).
    pub fn has_selection(&self) -> bool {
        self.selected > 0
    }

    /// Whether any feature is highlighted (the city pass tints them only then).
    pub fn has_highlight(&self) -> bool {
        self.highlighted > 0
    }

    /// Whether any visible feature is see-through (drawn in a second, blended pass).
    pub fn has_transparency(&self) -> bool {
        self.transparent > 0
    }

    pub fn style(&self, index: u32) -> FeatureStyle {
        self.styles.get(index as usize).copied().unwrap_or(FeatureStyle::DEFAULT)
    }

    /// Makes room for `count` feature indices (new ones get the default style).
    pub fn reserve_features(&mut self, count: usize) {
        if count > self.styles.len() {
            let from = self.styles.len();
            self.styles.resize(count, FeatureStyle::DEFAULT);
            self.dirty.extend(from as u32..count as u32);
        }
    }

    /// Uploads the styles changed since the last flush, coalesced into runs.
    /// Grows the buffer (re-uploading everything) when indices outgrow it.
    pub fn flush(&mut self, ctx: &GpuContext) {
        if self.dirty.is_empty() {
            return;
        }
        self.generation = next_generation();
        let size = size_of::<PackedStyle>();
        if self.styles.len() > self.style_capacity {
            // Powers of two, but never past the device's binding limit when the styles fit in it.
            let limit = (ctx.device.limits().max_storage_buffer_binding_size as usize / size).max(self.styles.len());
            self.style_capacity = self.styles.len().next_power_of_two().min(limit);
            self.style_buffer = style_buffer(ctx, self.style_capacity);
            self.dirty.clear();
            ctx.queue.write_buffer(&self.style_buffer, 0, bytemuck::cast_slice(&packed(&self.styles)));
            self.stats.style_uploads += 1;
            self.stats.style_bytes += (self.styles.len() * size) as u64;
            return;
        }
        self.dirty.sort_unstable();
        self.dirty.dedup();
        let mut i = 0;
        while i < self.dirty.len() {
            let start = self.dirty[i] as usize;
            let mut end = start;
            // Merge runs separated by small gaps: one larger write beats many tiny ones.
            while i + 1 < self.dirty.len() && (self.dirty[i + 1] as usize) <= end + 8 {
                i += 1;
                end = self.dirty[i] as usize;
            }
            ctx.queue.write_buffer(
                &self.style_buffer,
                (start * size) as u64,
                bytemuck::cast_slice(&packed(&self.styles[start..=end])),
            );
            self.stats.style_uploads += 1;
            self.stats.style_bytes += ((end - start + 1) * size) as u64;
            i += 1;
        }
        self.dirty.clear();
    }

    /// Bytes of the style buffer on the GPU.
    pub fn style_buffer_bytes(&self) -> u64 {
        self.style_buffer.size()
    }

    /// The style buffer as the shaders bind it: the whole buffer, or as much
    /// of it as one storage binding of the device may hold (features past
    /// that read as unstyled; 5.59 million at 128 MiB).
    pub(crate) fn style_binding(&self) -> wgpu::BindingResource<'_> {
        let limit = self.style_buffer.size().min(self.style_binding_limit);
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.style_buffer,
            offset: 0,
            size: wgpu::BufferSize::new(limit),
        })
    }

    pub fn stats(&self) -> UploadStats {
        self.stats
    }
}
