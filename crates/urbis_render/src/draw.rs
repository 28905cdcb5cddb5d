//! How chunk geometry is submitted: one [`DrawSet`] of pipelines per pass
//! over the visible chunks, batched geometry first (back faces culled for
//! single-sided batches where the set allows), then instances grouped by
//! shared mesh, then points.

use crate::scene::{GpuBatch, GpuChunk, GpuScene};
use crate::specialise::{FrameUses, Specialised};
use crate::transparency::CityPipelines;

/// The pipelines of one draw over the chunks: batched, instanced, points
/// (none in the shadow pass); `textured` binds each batch's texture.
#[derive(Clone, Copy)]
pub(crate) struct DrawSet<'a> {
    pub plain: &'a wgpu::RenderPipeline,
    /// Pipelines specialised by batch for this frame (see `specialise`),
    /// where the pass has them; a batch whose own is missing takes `plain`.
    pub specialised: Option<(&'a Specialised, FrameUses)>,
    pub instanced: &'a wgpu::RenderPipeline,
    pub points: Option<&'a wgpu::RenderPipeline>,
    pub textured: bool,
}

impl<'a> DrawSet<'a> {
    pub fn city(p: &'a CityPipelines) -> Self {
        Self {
            plain: &p.city,
            specialised: None,
            instanced: &p.city_instanced,
            points: Some(&p.points),
            textured: true,
        }
    }

    /// The pipeline for a batch, and its key (`None`: `plain`).
    fn batched(&self, b: &GpuBatch) -> (Option<crate::specialise::Key>, &'a wgpu::RenderPipeline) {
        let Some((specialised, frame)) = self.specialised else { return (None, self.plain) };
        let key = specialised.key(Some(b), frame);
        match specialised.get(key) {
            Some(p) => (Some(key), p),
            None => (None, self.plain),
        }
    }
}

/// Draws chunks (with their matrix slot) with one set of pipelines:
/// batched geometry first, then instances grouped by shared mesh, then points.
pub(crate) fn draw_chunks(
    pass: &mut wgpu::RenderPass<'_>,
    scene: &GpuScene,
    chunk_group: &wgpu::BindGroup,
    chunk_stride: u64,
    chunks: &[(usize, &GpuChunk)],
    set: DrawSet<'_>,
) {
    let DrawSet { instanced, points, textured: city, .. } = set;
    let offset = |i: usize| (i as u64 * chunk_stride) as u32;
    // The key of the pipeline now set (set when a batch needs another).
    let mut current = None;
    for (i, c) in chunks {
        if let Some(m) = &c.mesh {
            pass.set_bind_group(1, chunk_group, &[offset(*i)]);
            pass.set_vertex_buffer(0, m.vertex_buffer.slice(..));
            pass.set_index_buffer(m.index_buffer.slice(..), wgpu::IndexFormat::Uint32);
            for b in &m.batches {
                let (key, pipeline) = set.batched(b);
                if current != Some(key) {
                    pass.set_pipeline(pipeline);
                    current = Some(key);
                }
                let b = &b.draw;
                if city {
                    pass.set_bind_group(2, scene.textures.get(b.texture), &[]);
                }
                pass.draw_indexed(b.first_index..b.first_index + b.index_count, 0, 0..1);
            }
        }
    }
    pass.set_pipeline(instanced);
    for (i, c) in chunks {
        for batch in &c.instances {
            let Some(m) = scene.shared.get(&batch.mesh) else { continue };
            pass.set_bind_group(1, chunk_group, &[offset(*i)]);
            pass.set_vertex_buffer(0, m.vertex_buffer.slice(..));
            pass.set_vertex_buffer(1, batch.buffer.slice(..));
            pass.set_index_buffer(m.index_buffer.slice(..), wgpu::IndexFormat::Uint32);
            for b in m.batches.iter().map(|b| &b.draw) {
                if city {
                    pass.set_bind_group(2, scene.textures.get(b.texture), &[]);
                }
                pass.draw_indexed(b.first_index..b.first_index + b.index_count, 0, 0..batch.count);
            }
        }
    }
    if let Some(points) = points {
        pass.set_pipeline(points);
        for (i, c) in chunks {
            if let Some((buffer, count)) = &c.points {
                pass.set_bind_group(1, chunk_group, &[offset(*i)]);
                pass.set_vertex_buffer(0, buffer.slice(..));
                pass.draw(0..6, 0..*count);
            }
        }
    }
}
