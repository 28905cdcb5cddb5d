//! GPU time per pass from timestamp queries, where the device has them:
//! each pass of a frame writes a timestamp at its start and end; the frame
//! resolves them into a buffer that [`Renderer::pass_times`](crate::Renderer::pass_times)
//! reads back on request (a blocking read, for benchmarks and `--json`).

/// The passes a frame may run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    FieldCull = 0,
    Shadow = 1,
    City = 2,
    DepthPyramid = 3,
    Composite = 4,
}

const PASSES: u32 = 5;
const SLOT: u64 = wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT;

/// Milliseconds of GPU time each pass of the last frame took (none: not run).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PassTimes {
    /// Building fields: culling, levels of detail, draw lists (compute).
    pub field_cull_ms: Option<f64>,
    /// The sun's shadow map.
    pub shadow_ms: Option<f64>,
    /// Colour, feature ids and depth of everything drawn.
    pub city_ms: Option<f64>,
    /// The depth pyramid for the next frame's occlusion culling (compute).
    pub depth_pyramid_ms: Option<f64>,
    /// Sky, outlines, selection, tone mapping and overlays.
    pub composite_ms: Option<f64>,
}

impl PassTimes {
    /// The sum of the passes that ran.
    pub fn total_ms(&self) -> f64 {
        [self.field_cull_ms, self.shadow_ms, self.city_ms, self.depth_pyramid_ms, self.composite_ms]
            .iter()
            .flatten()
            .sum()
    }
}

pub(crate) struct PassTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Passes written by the frame being recorded and by the last resolved one.
    ran: [std::sync::atomic::AtomicBool; PASSES as usize],
    resolved: [bool; PASSES as usize],
    period_ns: f32,
}

impl PassTimer {
    /// A timer, if the device can write timestamps in passes.
    pub(crate) fn new(ctx: &crate::GpuContext) -> Option<Self> {
        if !ctx.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let count = PASSES * 2;
        // Each pass resolves into its own aligned slot.
        let size = u64::from(PASSES) * SLOT;
        Some(Self {
            queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass times"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pass times (resolve)"),
                size,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pass times (readback)"),
                size,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            }),
            ran: Default::default(),
            resolved: [false; PASSES as usize],
            period_ns: ctx.queue.get_timestamp_period(),
        })
    }

    /// The timestamp writes of a render pass (and marks it as run).
    pub(crate) fn render(&self, pass: Pass) -> Option<wgpu::RenderPassTimestampWrites<'_>> {
        self.ran[pass as usize].store(true, std::sync::atomic::Ordering::Relaxed);
        let i = pass as u32 * 2;
        Some(wgpu::RenderPassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        })
    }

    /// The timestamp writes of a compute pass (and marks it as run).
    pub(crate) fn compute(&self, pass: Pass) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        self.ran[pass as usize].store(true, std::sync::atomic::Ordering::Relaxed);
        let i = pass as u32 * 2;
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        })
    }

    /// Resolves this frame's timestamps at the end of its encoder.
    pub(crate) fn resolve(&mut self, encoder: &mut wgpu::CommandEncoder) {
        for p in 0..PASSES {
            let ran = self.ran[p as usize].swap(false, std::sync::atomic::Ordering::Relaxed);
            if ran {
                encoder.resolve_query_set(&self.queries, p * 2..p * 2 + 2, &self.resolve, u64::from(p) * SLOT);
            }
            self.resolved[p as usize] = ran;
        }
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, self.resolve.size());
    }

    /// Reads the last resolved frame's times back (waits for the GPU).
    pub(crate) fn read(&self, ctx: &crate::GpuContext) -> Result<PassTimes, crate::RenderError> {
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&crate::headless::map_read(ctx, &self.readback)?);
        let ms = |p: Pass| {
            let i = p as usize;
            let at = i * (SLOT as usize / 8);
            self.resolved[i].then(|| ticks[at + 1].saturating_sub(ticks[at]) as f64 * f64::from(self.period_ns) / 1e6)
        };
        Ok(PassTimes {
            field_cull_ms: ms(Pass::FieldCull),
            shadow_ms: ms(Pass::Shadow),
            city_ms: ms(Pass::City),
            depth_pyramid_ms: ms(Pass::DepthPyramid),
            composite_ms: ms(Pass::Composite),
        })
    }
}

impl crate::Renderer {
    /// Times every pass on the GPU from now on (timestamp queries); false
    /// when the device cannot, or when turned off.
    pub fn set_pass_timing(&mut self, ctx: &crate::GpuContext, on: bool) -> bool {
        self.timer = if on && self.timing_supported { self.timer.take().or_else(|| PassTimer::new(ctx)) } else { None };
        self.timer.is_some()
    }

    /// GPU time per pass of the last frame (waits for it); none while timing is off.
    pub fn pass_times(&self, ctx: &crate::GpuContext) -> Result<Option<PassTimes>, crate::RenderError> {
        self.timer.as_ref().map(|t| t.read(ctx)).transpose()
    }
}
