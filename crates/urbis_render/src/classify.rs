//! Classification volumes: vertical prisms (a plan polygon with holes, a
//! base and a top height) that claim the pixels of *classified* surfaces at
//! render time, as Cesium's classification primitives do. A photo mesh is
//! one continuous skin; a footprint prism over it makes every pixel of the
//! skin inside the prism report the prism's feature index, take that
//! feature's style (colour, highlight, selection outline) and answer picks
//! with it, with no change to the mesh (dynamic monomerization).
//!
//! ```text
//! ClassifyPolygon (plan in a local frame, f64) ──build──► ClassificationGrid
//!   uniform grid of cells ─► entries (one per prism near the cell: its
//!   feature, heights, whether the cell's reference point is inside) ─►
//!   the prism's edges that reach the cell (f32, local frame)
//! Renderer: camera-relative world → local frame (f64 on the CPU, once a
//!   frame) ─► city.wgsl `classify()`: even-odd crossings of the segment from
//!   the cell's reference point to the fragment, per entry
//! ```
//!
//! A fragment is classified when its surface's style carries
//! [`FeatureStyle::CLASSIFIED`](crate::FeatureStyle::CLASSIFIED), its height
//! lies in `[base − below, top + above]` and its plan point is inside the
//! polygon (exact: a point-in-polygon test per pixel, not a raster). Steep
//! fragments (walls, whose photo mesh stands on or just outside the
//! footprint's edge) also go to the nearest polygon whose edge is within
//! `reach` metres in plan. Where prisms overlap, the first in the caller's
//! order wins.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec2, DVec3, Mat4};
use wgpu::util::DeviceExt;

use crate::{Camera, GpuContext};

/// One prism: a plan polygon (exterior first, then holes; each ring open or
/// closed, either winding) in the local frame's x/y, and heights along its z.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyPolygon {
    /// The feature index the prism's pixels report.
    pub feature: u32,
    pub rings: Vec<Vec<DVec2>>,
    pub base: f64,
    pub top: f64,
}

/// How far volumes reach beyond their polygons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifyReach {
    /// Plan distance within which steep fragments go to the nearest polygon, metres.
    pub wall: f64,
    /// Margins below the base and above the top, metres.
    pub below: f64,
    pub above: f64,
    /// A fragment is steep when its normal's vertical component is below this.
    pub steep_cos: f64,
}

impl Default for ClassifyReach {
    fn default() -> Self {
        Self { wall: 1.0, below: 1.0, above: 2.0, steep_cos: 0.5 }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
struct Entry {
    feature: u32,
    inside: u32,
    first_edge: u32,
    edge_count: u32,
    base: f32,
    top: f32,
    reference: [f32; 2],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct ClassifyUniforms {
    /// Camera-relative world → the grid's local frame.
    pub(crate) from_world: [[f32; 4]; 4],
    /// Grid minimum x, y, cell size, wall reach.
    pub(crate) grid: [f32; 4],
    /// Cells along x and y, enabled (1/0), unused.
    pub(crate) dims: [u32; 4],
    /// Below, above, steep cosine, unused.
    heights: [f32; 4],
}

/// Prisms binned on a uniform grid, ready for the GPU.
#[derive(Debug, Clone)]
pub struct ClassificationGrid {
    /// The local frame: origin (world) and basis (local → world), like a chunk's.
    pub origin: DVec3,
    pub basis: DMat3,
    min: DVec2,
    cell: f64,
    nx: u32,
    ny: u32,
    reach: ClassifyReach,
    /// Per cell: first entry, entry count.
    cells: Vec<[u32; 2]>,
    entries: Vec<Entry>,
    /// Edges as (ax, ay, bx, by), local frame.
    edges: Vec<[f32; 4]>,
    polygons: usize,
}

/// Most cells a grid gets (the cell grows to keep under it).
const MAX_CELLS: f64 = 1_048_576.0;

/// Orientation of `c` against the line a→b (positive: to the left).
fn orient(a: DVec2, b: DVec2, c: DVec2) -> f64 {
    (b - a).perp_dot(c - a)
}

/// Whether segment r→p crosses edge a→b, with the half-open rule that makes
/// a crossing through a shared vertex count once (the same test as the shader).
fn crosses(r: DVec2, p: DVec2, a: DVec2, b: DVec2) -> bool {
    (orient(a, b, r) > 0.0) != (orient(a, b, p) > 0.0) && (orient(r, p, a) > 0.0) != (orient(r, p, b) > 0.0)
}

fn ring_edges(ring: &[DVec2]) -> impl Iterator<Item = (DVec2, DVec2)> + '_ {
    let n = if ring.len() > 1 && ring.first() == ring.last() { ring.len() - 1 } else { ring.len() };
    (0..n).map(move |i| (ring[i], ring[(i + 1) % n])).filter(|(a, b)| a != b)
}

impl ClassificationGrid {
    /// Bins `polygons` (in a local frame placed at `origin` with `basis`,
    /// local → world) on a grid of cells about `cell` metres (grown to keep
    /// the grid under a million cells). Non-finite or degenerate polygons are skipped.
    pub fn build(polygons: &[ClassifyPolygon], origin: DVec3, basis: DMat3, cell: f64, reach: ClassifyReach) -> Self {
        let usable: Vec<&ClassifyPolygon> = polygons
            .iter()
            .filter(|p| {
                p.feature != 0
                    && p.base.is_finite()
                    && p.top.is_finite()
                    && p.rings.first().is_some_and(|r| r.len() >= 3)
                    && p.rings.iter().flatten().all(|v| v.is_finite())
            })
            .collect();
        let (mut lo, mut hi) = (DVec2::INFINITY, DVec2::NEG_INFINITY);
        for v in usable.iter().flat_map(|p| p.rings.iter().flatten()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        if usable.is_empty() {
            return Self::empty(origin, basis, reach);
        }
        let pad = reach.wall.max(0.0) + 1.0;
        let (lo, hi) = (lo - pad, hi + pad);
        let size = hi - lo;
        let cell = cell.max(1.0).max((size.x * size.y / MAX_CELLS).sqrt());
        let nx = (size.x / cell).ceil().max(1.0) as u32;
        let ny = (size.y / cell).ceil().max(1.0) as u32;
        let mut per_cell: Vec<Vec<(usize, Vec<[f32; 4]>)>> = vec![Vec::new(); (nx * ny) as usize];
        let reach_m = reach.wall.max(0.0);
        for (k, p) in usable.iter().enumerate() {
            let (mut plo, mut phi) = (DVec2::INFINITY, DVec2::NEG_INFINITY);
            for v in p.rings.iter().flatten() {
                plo = plo.min(*v);
                phi = phi.max(*v);
            }
            let to_cell = |v: f64, o: f64, n: u32| (((v - o) / cell).floor().max(0.0) as u32).min(n - 1);
            let (x0, x1) = (to_cell(plo.x - reach_m, lo.x, nx), to_cell(phi.x + reach_m, lo.x, nx));
            let (y0, y1) = (to_cell(plo.y - reach_m, lo.y, ny), to_cell(phi.y + reach_m, lo.y, ny));
            let edges: Vec<(DVec2, DVec2)> = p.rings.iter().flat_map(|r| ring_edges(r)).collect();
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let c_lo = lo + DVec2::new(f64::from(x), f64::from(y)) * cell - reach_m;
                    let c_hi = c_lo + cell + 2.0 * reach_m;
                    let near: Vec<[f32; 4]> = edges
                        .iter()
                        .filter(|(a, b)| a.min(*b).cmplt(c_hi).all() && a.max(*b).cmpgt(c_lo).all())
                        .map(|(a, b)| [a.x as f32, a.y as f32, b.x as f32, b.y as f32])
                        .collect();
                    per_cell[(y * nx + x) as usize].push((k, near));
                }
            }
        }
        let mut cells = Vec::with_capacity(per_cell.len());
        let mut entries = Vec::new();
        let mut edges = Vec::new();
        for (i, list) in per_cell.into_iter().enumerate() {
            let (x, y) = ((i as u32 % nx) as f64, (i as u32 / nx) as f64);
            // An irrational-ish point of the cell, unlikely to sit on an edge of axis-aligned data.
            let reference = lo + DVec2::new(x + 0.5123, y + 0.4871) * cell;
            let reference = reference.as_vec2().as_dvec2();
            cells.push([entries.len() as u32, list.len() as u32]);
            for (k, near) in list {
                let p = usable[k];
                // Even-odd from a point left of everything, along a line to the reference.
                let far = DVec2::new(lo.x - 10.0 * cell, reference.y + 0.37 * cell);
                let mut inside = false;
                for (a, b) in p.rings.iter().flat_map(|r| ring_edges(r)) {
                    let (a, b) = (a.as_vec2().as_dvec2(), b.as_vec2().as_dvec2());
                    if crosses(far, reference, a, b) {
                        inside = !inside;
                    }
                }
                entries.push(Entry {
                    feature: p.feature,
                    inside: inside as u32,
                    first_edge: edges.len() as u32,
                    edge_count: near.len() as u32,
                    base: p.base as f32,
                    top: p.top as f32,
                    reference: reference.as_vec2().to_array(),
                });
                edges.extend(near);
            }
        }
        Self { origin, basis, min: lo, cell, nx, ny, reach, cells, entries, edges, polygons: usable.len() }
    }

    fn empty(origin: DVec3, basis: DMat3, reach: ClassifyReach) -> Self {
        Self {
            origin,
            basis,
            min: DVec2::ZERO,
            cell: 1.0,
            nx: 0,
            ny: 0,
            reach,
            cells: Vec::new(),
            entries: Vec::new(),
            edges: Vec::new(),
            polygons: 0,
        }
    }

    /// Polygons binned.
    pub fn polygon_count(&self) -> usize {
        self.polygons
    }

    /// Bytes the grid takes on the GPU.
    pub fn gpu_bytes(&self) -> u64 {
        (self.cells.len() * 8 + self.entries.len() * size_of::<Entry>() + self.edges.len() * 16) as u64
    }

    /// The grid in one array of 16-byte words, for the vertex stage (which
    /// has few storage bindings to spare): the cells, two to a word, then
    /// the entries, two words each, then the edges (f32 bits), one word
    /// each; with the word offsets of the entries and of the edges.
    pub(crate) fn packed(&self) -> (Vec<[u32; 4]>, u32, u32) {
        let mut words: Vec<[u32; 4]> = self
            .cells
            .chunks(2)
            .map(|c| {
                let b = c.get(1).copied().unwrap_or([0, 0]);
                [c[0][0], c[0][1], b[0], b[1]]
            })
            .collect();
        let entries_at = words.len() as u32;
        for e in &self.entries {
            words.push([e.feature, e.inside, e.first_edge, e.edge_count]);
            let [rx, ry] = e.reference;
            words.push([e.base.to_bits(), e.top.to_bits(), rx.to_bits(), ry.to_bits()]);
        }
        let edges_at = words.len() as u32;
        words.extend(self.edges.iter().map(|e| e.map(f32::to_bits)));
        (words, entries_at, edges_at)
    }

    pub(crate) fn uniforms(&self, camera: &Camera) -> ClassifyUniforms {
        // local = Bᵀ (world_rel + camera − origin), in f64, then rounded once.
        let bt = self.basis.transpose();
        let t = bt * (camera.position - self.origin);
        let r = bt.as_mat3();
        let m =
            Mat4::from_cols(r.x_axis.extend(0.0), r.y_axis.extend(0.0), r.z_axis.extend(0.0), t.as_vec3().extend(1.0));
        ClassifyUniforms {
            from_world: m.to_cols_array_2d(),
            grid: [self.min.x as f32, self.min.y as f32, self.cell as f32, self.reach.wall as f32],
            dims: [self.nx, self.ny, u32::from(!self.entries.is_empty()), 0],
            heights: [self.reach.below as f32, self.reach.above as f32, self.reach.steep_cos as f32, 0.0],
        }
    }
}

/// The grid's buffers and bind group (group 3 of the city pipeline).
pub(crate) struct GpuClassification {
    pub grid: Option<ClassificationGrid>,
    pub uniform: wgpu::Buffer,
    pub group: wgpu::BindGroup,
}

pub(crate) fn layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let storage = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: true },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("classification"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            storage(1),
            storage(2),
            storage(3),
        ],
    })
}

impl GpuClassification {
    /// Uploads `grid` (or nothing: classification off).
    pub fn new(ctx: &GpuContext, layout: &wgpu::BindGroupLayout, grid: Option<ClassificationGrid>) -> Self {
        let device = &ctx.device;
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("classification uniforms"),
            size: size_of::<ClassifyUniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&uniform, 0, bytemuck::bytes_of(&ClassifyUniforms::zeroed()));
        // Storage bindings may not be empty: one zeroed element stands in.
        fn bytes<T: Pod + Zeroable>(v: &[T]) -> Vec<u8> {
            if v.is_empty() { bytemuck::bytes_of(&T::zeroed()).to_vec() } else { bytemuck::cast_slice(v).to_vec() }
        }
        let (cells, entries, edges) = match &grid {
            Some(g) => (bytes(&g.cells), bytes(&g.entries), bytes(&g.edges)),
            None => (bytes::<[u32; 2]>(&[]), bytes::<Entry>(&[]), bytes::<[f32; 4]>(&[])),
        };
        let storage = |label, contents: &[u8]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let cells = storage("classification cells", &cells);
        let entries = storage("classification entries", &entries);
        let edges = storage("classification edges", &edges);
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("classification"),
            layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: cells.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 2, resource: entries.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 3, resource: edges.as_entire_binding() },
            ],
        });
        Self { grid, uniform, group }
    }

    /// Whether any volume classifies (the shader's `dims.z`).
    pub(crate) fn active(&self) -> bool {
        self.grid.as_ref().is_some_and(|g| !g.entries.is_empty())
    }

    /// Writes this frame's camera-relative transform.
    pub fn update(&self, ctx: &GpuContext, camera: &Camera) {
        if let Some(g) = &self.grid {
            ctx.queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&g.uniforms(camera)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(feature: u32, lo: f64, hi: f64) -> ClassifyPolygon {
        let r = vec![DVec2::new(lo, lo), DVec2::new(hi, lo), DVec2::new(hi, hi), DVec2::new(lo, hi)];
        ClassifyPolygon { feature, rings: vec![r], base: 0.0, top: 10.0 }
    }

    #[test]
    fn reference_points_know_whether_they_are_inside() {
        // A 100 m square on a 16 m grid: cells well inside have an inside reference, cells outside do not.
        let g =
            ClassificationGrid::build(&[square(7, 0.0, 100.0)], DVec3::ZERO, DMat3::IDENTITY, 16.0, Default::default());
        assert_eq!(g.polygon_count(), 1);
        let mut inside = 0;
        let mut outside = 0;
        for e in &g.entries {
            let r = DVec2::from(e.reference.map(f64::from));
            let truly = r.cmpgt(DVec2::ZERO).all() && r.cmplt(DVec2::splat(100.0)).all();
            assert_eq!(e.inside == 1, truly, "reference {r}");
            if truly { inside += 1 } else { outside += 1 }
        }
        assert!(inside > 10 && outside > 4, "{inside} inside, {outside} outside");
    }

    #[test]
    fn degenerate_polygons_are_skipped_and_the_grid_stays_small() {
        let mut bad = square(3, 0.0, 10.0);
        bad.rings[0][1].x = f64::NAN;
        let none = ClassifyPolygon { feature: 4, rings: vec![vec![DVec2::ZERO, DVec2::ONE]], base: 0.0, top: 1.0 };
        let g = ClassificationGrid::build(&[bad, none], DVec3::ZERO, DMat3::IDENTITY, 16.0, Default::default());
        assert_eq!(g.polygon_count(), 0);
        assert_eq!(g.gpu_bytes(), 0);
        // A huge extent grows the cell instead of the cell count.
        let g =
            ClassificationGrid::build(&[square(1, 0.0, 1.0e6)], DVec3::ZERO, DMat3::IDENTITY, 1.0, Default::default());
        assert!(u64::from(g.nx) * u64::from(g.ny) <= MAX_CELLS as u64 + 4096, "{} x {}", g.nx, g.ny);
    }
}
