//! GPU-resident scene: chunk buffers and the per-feature style buffer.

use std::collections::HashMap;

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec3};
use wgpu::util::DeviceExt;

use crate::GpuContext;

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
}

impl ChunkMesh {
    /// Centre and radius of a sphere (world) around all vertices.
    pub fn bounding_sphere(&self) -> (DVec3, f64) {
        if self.vertices.is_empty() {
            return (self.origin, 0.0);
        }
        let (mut lo, mut hi) = (glam::Vec3::splat(f32::INFINITY), glam::Vec3::splat(f32::NEG_INFINITY));
        for v in &self.vertices {
            let p = glam::Vec3::from_array(v.position);
            lo = lo.min(p);
            hi = hi.max(p);
        }
        let c = ((lo + hi) * 0.5).as_dvec3();
        let r = self
            .vertices
            .iter()
            .map(|v| (glam::Vec3::from_array(v.position).as_dvec3() - c).length())
            .fold(0.0, f64::max);
        (self.origin + self.basis * c, r)
    }
}

/// Display state of one feature, as the shaders read it (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct FeatureStyle {
    /// Linear RGB override and its blend weight in `a` (0 = keep the feature's colour).
    pub color: [f32; 4],
    /// `flags[0]`: bit 0 hidden, bit 1 highlighted, bit 2 selected.
    pub flags: [u32; 4],
}

impl FeatureStyle {
    pub const HIDDEN: u32 = 1;
    pub const HIGHLIGHTED: u32 = 2;
    pub const SELECTED: u32 = 4;
    pub const DEFAULT: FeatureStyle = FeatureStyle { color: [0.0; 4], flags: [0; 4] };
}

/// Counts of what went to the GPU, for tests and benches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    pub geometry_uploads: u64,
    pub geometry_bytes: u64,
    pub style_uploads: u64,
    pub style_bytes: u64,
}

pub(crate) struct GpuChunk {
    pub vertex_buffer: wgpu::Buffer,
    pub index_buffer: wgpu::Buffer,
    pub index_count: u32,
    pub origin: DVec3,
    pub basis: DMat3,
    pub center: DVec3,
    pub radius: f64,
}

/// Chunks and feature styles on the GPU.
pub struct GpuScene {
    pub(crate) chunks: HashMap<ChunkKey, GpuChunk>,
    styles: Vec<FeatureStyle>,
    pub(crate) style_buffer: wgpu::Buffer,
    style_capacity: usize,
    dirty: Vec<u32>,
    stats: UploadStats,
}

impl std::fmt::Debug for GpuScene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuScene").field("chunks", &self.chunks.len()).field("features", &self.styles.len()).finish()
    }
}

fn style_buffer(ctx: &GpuContext, capacity: usize) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("feature styles"),
        size: (capacity * size_of::<FeatureStyle>()) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl GpuScene {
    pub fn new(ctx: &GpuContext) -> Self {
        let capacity = 1024;
        let mut s = Self {
            chunks: HashMap::new(),
            styles: vec![FeatureStyle::DEFAULT; 1],
            style_buffer: style_buffer(ctx, capacity),
            style_capacity: capacity,
            dirty: vec![0],
            stats: UploadStats::default(),
        };
        s.flush(ctx);
        s
    }

    /// Uploads (or replaces) a chunk's geometry.
    pub fn upsert_chunk(&mut self, ctx: &GpuContext, key: ChunkKey, mesh: &ChunkMesh) {
        if mesh.indices.is_empty() {
            self.chunks.remove(&key);
            return;
        }
        let vertex_buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("chunk vertices"),
            contents: bytemuck::cast_slice(&mesh.vertices),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let index_buffer = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("chunk indices"),
            contents: bytemuck::cast_slice(&mesh.indices),
            usage: wgpu::BufferUsages::INDEX,
        });
        self.stats.geometry_uploads += 1;
        self.stats.geometry_bytes += (mesh.vertices.len() * size_of::<Vertex>() + mesh.indices.len() * 4) as u64;
        let (center, radius) = mesh.bounding_sphere();
        self.chunks.insert(
            key,
            GpuChunk {
                vertex_buffer,
                index_buffer,
                index_count: mesh.indices.len() as u32,
                origin: mesh.origin,
                basis: mesh.basis,
                center,
                radius,
            },
        );
    }

    pub fn remove_chunk(&mut self, key: ChunkKey) -> bool {
        self.chunks.remove(&key).is_some()
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Total triangles over all chunks.
    pub fn triangle_count(&self) -> u64 {
        self.chunks.values().map(|c| c.index_count as u64 / 3).sum()
    }

    /// Sets a feature's style; uploaded at the next [`GpuScene::flush`].
    pub fn set_style(&mut self, index: u32, style: FeatureStyle) {
        let i = index as usize;
        if i >= self.styles.len() {
            self.styles.resize(i + 1, FeatureStyle::DEFAULT);
        }
        if self.styles[i] != style {
            self.styles[i] = style;
            self.dirty.push(index);
        }
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
        let size = size_of::<FeatureStyle>();
        if self.styles.len() > self.style_capacity {
            self.style_capacity = self.styles.len().next_power_of_two();
            self.style_buffer = style_buffer(ctx, self.style_capacity);
            self.dirty.clear();
            ctx.queue.write_buffer(&self.style_buffer, 0, bytemuck::cast_slice(&self.styles));
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
                bytemuck::cast_slice(&self.styles[start..=end]),
            );
            self.stats.style_uploads += 1;
            self.stats.style_bytes += ((end - start + 1) * size) as u64;
            i += 1;
        }
        self.dirty.clear();
    }

    pub fn stats(&self) -> UploadStats {
        self.stats
    }
}
