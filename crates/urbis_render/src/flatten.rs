//! Flattening (压平): photo meshes and tileset content pressed down inside
//! polygons, so that a proposed building can stand where the photographed
//! one was.
//!
//! A [`FlattenPolygon`] is a plan ring and a height in a local frame (an
//! origin and a basis, local → world, like a chunk's: the city's ENU frame
//! for the engine). In the city and shadow vertex shaders, a vertex of a
//! surface styled [`FeatureStyle::FLATTEN`](crate::FeatureStyle::FLATTEN)
//! whose plan point (its local x, y) lies inside a polygon has its local
//! height clamped to the polygon's: `z = min(z, height)`; where polygons
//! overlap, the lowest wins. Normals, texture coordinates and feature
//! indices stay, so the photographed roof lies on the ground as a texture.
//!
//! The polygons are binned on a grid exactly as the classification volumes
//! are ([`ClassificationGrid`]: per cell, each polygon near it, whether the
//! cell's reference point is inside and the polygon's edges that reach the
//! cell), and the shader runs the same exact even-odd test per vertex. The
//! grid travels in one storage buffer of 16-byte words
//! ([`ClassificationGrid::packed`]), as the vertex stage has few storage
//! bindings to spare, bound in the frame group (bindings 4 and 5) of the city
//! and shadow passes. Without polygons, a uniform flag returns every vertex
//! untouched before any lookup: frames are as without the feature.
//!
//! Limits: the test is per vertex, so a triangle with vertices on both
//! sides of a polygon's edge becomes a slope between the two heights (the
//! flattened edge is as sharp as the mesh is fine); point clouds are not
//! flattened.

use bytemuck::{Pod, Zeroable};
use glam::{DMat3, DVec2, DVec3};
use wgpu::util::DeviceExt;

use crate::classify::{ClassificationGrid, ClassifyPolygon, ClassifyReach};
use crate::{Camera, GpuContext};

/// One flattening polygon: a plan ring (open or closed, either winding) in
/// the local frame's x/y, and the height, along its z, that surfaces inside
/// it are pressed down to.
#[derive(Debug, Clone, PartialEq)]
pub struct FlattenPolygon {
    pub ring: Vec<DVec2>,
    pub height: f64,
}

impl FlattenPolygon {
    /// Whether a plan point lies inside the ring (even-odd).
    pub fn contains(&self, p: DVec2) -> bool {
        let r = &self.ring;
        let n = if r.len() > 1 && r.first() == r.last() { r.len() - 1 } else { r.len() };
        let mut inside = false;
        for i in 0..n {
            let (a, b) = (r[i], r[(i + 1) % n]);
            if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) {
                inside = !inside;
            }
        }
        inside
    }
}

/// `Flatten` in `city.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct FlattenUniforms {
    /// Camera-relative world → the local frame.
    from_world: [[f32; 4]; 4],
    /// Grid minimum x, y, cell size, unused.
    grid: [f32; 4],
    /// Cells along x and y, enabled (1/0), unused.
    dims: [u32; 4],
    /// Word offsets of the entries and of the edges, unused, unused.
    at: [u32; 4],
}

/// The flattening polygons in use and their GPU buffers.
pub(crate) struct FlattenState {
    polygons: Vec<FlattenPolygon>,
    grid: Option<ClassificationGrid>,
    at: [u32; 2],
    uniform: wgpu::Buffer,
    words: wgpu::Buffer,
}

/// Grid cell size, metres.
const CELL: f64 = 16.0;

fn words_buffer(ctx: &GpuContext, words: &[[u32; 4]]) -> wgpu::Buffer {
    // Storage bindings may not be empty: one zeroed word stands in.
    let zero = [[0u32; 4]];
    ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("flatten grid"),
        contents: bytemuck::cast_slice(if words.is_empty() { &zero } else { words }),
        usage: wgpu::BufferUsages::STORAGE,
    })
}

/// Bindings 4 (uniform) and 5 (the packed grid) of the frame groups.
pub(crate) fn layout_entries() -> [wgpu::BindGroupLayoutEntry; 2] {
    [
        crate::pipelines::uniform_entry(4, wgpu::ShaderStages::VERTEX, false),
        crate::pipelines::storage_entry(5, wgpu::ShaderStages::VERTEX),
    ]
}

/// The polygons binned as flat prisms at their heights (feature index =
/// position + 1), in the frame at `origin` with `basis`.
fn grid_of(polygons: &[FlattenPolygon], origin: DVec3, basis: DMat3) -> ClassificationGrid {
    let prisms: Vec<ClassifyPolygon> = polygons
        .iter()
        .enumerate()
        .map(|(i, p)| ClassifyPolygon {
            feature: i as u32 + 1,
            rings: vec![p.ring.clone()],
            base: p.height,
            top: p.height,
        })
        .collect();
    let reach = ClassifyReach { wall: 0.0, below: 0.0, above: 0.0, steep_cos: 0.0 };
    ClassificationGrid::build(&prisms, origin, basis, CELL, reach)
}

impl FlattenState {
    /// No polygons: off.
    pub(crate) fn new(ctx: &GpuContext) -> Self {
        let uniform = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("flatten uniforms"),
            contents: bytemuck::bytes_of(&FlattenUniforms::zeroed()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        Self { polygons: Vec::new(), grid: None, at: [0; 2], uniform, words: words_buffer(ctx, &[]) }
    }

    /// Bins `polygons` (in the frame at `origin` with `basis`, local →
    /// world) and uploads them; none (or only degenerate ones): off.
    pub(crate) fn set(&mut self, ctx: &GpuContext, origin: DVec3, basis: DMat3, polygons: Vec<FlattenPolygon>) {
        let grid = grid_of(&polygons, origin, basis);
        let (words, entries_at, edges_at) = grid.packed();
        self.words = words_buffer(ctx, &words);
        self.at = [entries_at, edges_at];
        self.grid = (grid.polygon_count() > 0).then_some(grid);
        self.polygons = polygons;
        ctx.queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&FlattenUniforms::zeroed()));
    }

    /// Whether any polygon flattens (the shader's `dims.z`).
    pub(crate) fn active(&self) -> bool {
        self.grid.is_some()
    }

    pub(crate) fn polygons(&self) -> &[FlattenPolygon] {
        &self.polygons
    }

    /// Writes this frame's camera-relative transform (nothing while off).
    pub(crate) fn update(&self, ctx: &GpuContext, camera: &Camera) {
        if let Some(g) = &self.grid {
            let u = g.uniforms(camera);
            let f = FlattenUniforms {
                from_world: u.from_world,
                grid: [u.grid[0], u.grid[1], u.grid[2], 0.0],
                dims: u.dims,
                at: [self.at[0], self.at[1], 0, 0],
            };
            ctx.queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&f));
        }
    }

    /// The frame groups' entries for bindings 4 and 5.
    pub(crate) fn entries(&self) -> [wgpu::BindGroupEntry<'_>; 2] {
        [
            wgpu::BindGroupEntry { binding: 4, resource: self.uniform.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 5, resource: self.words.as_entire_binding() },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shader's `flattened` height on the CPU, over the packed words (f32 as on the GPU).
    fn packed_height(grid: &ClassificationGrid, p: glam::Vec3) -> f32 {
        let (words, entries_at, edges_at) = grid.packed();
        let u = grid.uniforms(&Camera::look_at(grid.origin, grid.origin + DVec3::X, DVec3::Z));
        let f = |w: u32| f32::from_bits(w);
        let orient = |a: glam::Vec2, b: glam::Vec2, c: glam::Vec2| (b - a).perp_dot(c - a);
        let g = (p.truncate() - glam::Vec2::new(u.grid[0], u.grid[1])) / u.grid[2];
        if u.dims[2] == 0 || g.x < 0.0 || g.y < 0.0 || g.x >= u.dims[0] as f32 || g.y >= u.dims[1] as f32 {
            return p.z;
        }
        let c = (g.y as u32).min(u.dims[1] - 1) * u.dims[0] + (g.x as u32).min(u.dims[0] - 1);
        let pair = words[(c / 2) as usize];
        let (first, count) = if c & 1 == 1 { (pair[2], pair[3]) } else { (pair[0], pair[1]) };
        let mut h = p.z;
        for i in first..first + count {
            let e = words[(entries_at + 2 * i) as usize];
            let d = words[(entries_at + 2 * i + 1) as usize];
            let (height, r) = (f(d[0]), glam::Vec2::new(f(d[2]), f(d[3])));
            let mut inside = e[1] != 0;
            for k in e[2]..e[2] + e[3] {
                let w = words[(edges_at + k) as usize];
                let (a, b) = (glam::Vec2::new(f(w[0]), f(w[1])), glam::Vec2::new(f(w[2]), f(w[3])));
                let q = p.truncate();
                if ((orient(a, b, r) > 0.0) != (orient(a, b, q) > 0.0))
                    && ((orient(r, q, a) > 0.0) != (orient(r, q, b) > 0.0))
                {
                    inside = !inside;
                }
            }
            if inside {
                h = h.min(height);
            }
        }
        h
    }

    #[test]
    fn the_packed_grid_finds_the_lowest_polygon_holding_a_point() {
        // An L-shaped polygon at 5 m and, overlapping its corner, a square at 2 m.
        let l = FlattenPolygon {
            ring: [(0.0, 0.0), (60.0, 0.0), (60.0, 20.0), (20.0, 20.0), (20.0, 50.0), (0.0, 50.0)]
                .map(|(x, y)| DVec2::new(x, y))
                .to_vec(),
            height: 5.0,
        };
        let sq = FlattenPolygon {
            ring: [(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0), (-10.0, -10.0)]
                .map(|(x, y)| DVec2::new(x, y))
                .to_vec(),
            height: 2.0,
        };
        let polys = [l.clone(), sq.clone()];
        let grid = grid_of(&polys, DVec3::ZERO, DMat3::IDENTITY);
        let (mut lowered, mut kept) = (0, 0);
        // A deterministic scatter over and around both (off the edges by at least 1 cm).
        for i in 0..4000 {
            let x = -25.0 + (i as f64 * 0.618_034).fract() * 100.0;
            let y = -25.0 + (i as f64 * 0.414_214).fract() * 90.0;
            let p = DVec2::new(x, y);
            let near_edge = polys.iter().any(|q| {
                let n = q.ring.len();
                (0..n).any(|k| {
                    let (a, b) = (q.ring[k], q.ring[(k + 1) % n]);
                    let t = ((p - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0);
                    (p - a - (b - a) * t).length() < 0.01
                })
            });
            if near_edge {
                continue;
            }
            let expected = polys.iter().filter(|q| q.contains(p)).map(|q| q.height).fold(30.0, f64::min);
            let got = packed_height(&grid, glam::Vec3::new(x as f32, y as f32, 30.0));
            assert_eq!(got, expected as f32, "at {p}");
            if expected < 30.0 { lowered += 1 } else { kept += 1 }
        }
        assert!(lowered > 500 && kept > 500, "{lowered} lowered, {kept} kept");
        // Below the polygon's height nothing moves.
        assert_eq!(packed_height(&grid, glam::Vec3::new(30.0, 10.0, 1.0)), 1.0);
        assert!(l.contains(DVec2::new(10.0, 40.0)) && !l.contains(DVec2::new(40.0, 40.0)));
    }
}
