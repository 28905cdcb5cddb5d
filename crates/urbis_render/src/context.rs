//! The wgpu instance, adapter, device and queue.

/// Errors of the renderer.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter found (backends {backends}); on a machine without a GPU install Mesa's lavapipe (apt-get install mesa-vulkan-drivers)"
    )]
    NoAdapter { backends: String },
    #[error("cannot create a device on {adapter}: {reason}")]
    Device { adapter: String, reason: String },
    #[error("surface: {0}")]
    Surface(String),
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error("pixel ({x}, {y}) is outside the {width}×{height} frame")]
    OutOfFrame { x: u32, y: u32, width: u32, height: u32 },
}

/// A wgpu device and the adapter it came from.
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let info = self.adapter.get_info();
        write!(f, "GpuContext({} on {:?})", info.name, info.backend)
    }
}

impl GpuContext {
    /// A device without a window. `WGPU_BACKEND=vulkan|gl` selects a backend.
    pub fn headless() -> Result<Self, RenderError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        Self::with_instance(instance, None)
    }

    /// A device able to present to `surface`.
    pub fn with_instance(instance: wgpu::Instance, surface: Option<&wgpu::Surface<'_>>) -> Result<Self, RenderError> {
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            compatible_surface: surface,
            ..Default::default()
        }))
        .map_err(|_| RenderError::NoAdapter {
            backends: format!("{:?}", wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all())),
        })?;
        let info = adapter.get_info();
        tracing::info!("GPU adapter: {} ({:?}, {:?})", info.name, info.backend, info.device_type);
        // Optional features where the adapter has them: indirect draws with a
        // first instance (building fields' GPU path) and timestamp queries.
        let wanted = wgpu::Features::INDIRECT_FIRST_INSTANCE | wgpu::Features::TIMESTAMP_QUERY;
        let have = adapter.limits();
        let mut limits = wgpu::Limits::downlevel_defaults().using_resolution(have.clone());
        // Large cities: style and field buffers past 128 MiB, six storage buffers in a compute pass.
        limits.max_storage_buffers_per_shader_stage =
            have.max_storage_buffers_per_shader_stage.min(8).max(limits.max_storage_buffers_per_shader_stage);
        limits.max_storage_buffer_binding_size =
            have.max_storage_buffer_binding_size.max(limits.max_storage_buffer_binding_size);
        limits.max_buffer_size = have.max_buffer_size.max(limits.max_buffer_size);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("urbis"),
            required_features: adapter.features() & wanted,
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device { adapter: info.name.clone(), reason: e.to_string() })?;
        Ok(Self { instance, adapter, device, queue })
    }

    /// Whether a missing adapter must fail rather than skip (`URBIS_REQUIRE_GPU=1`, as in CI).
    pub fn gpu_required() -> bool {
        std::env::var("URBIS_REQUIRE_GPU").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// For tests: a headless context, or `None` (with a message) when there is
    /// no adapter and [`GpuContext::gpu_required`] is false. Panics when an
    /// adapter is required and missing.
    pub fn for_tests() -> Option<Self> {
        match Self::headless() {
            Ok(c) => Some(c),
            Err(e) if !Self::gpu_required() => {
                eprintln!("SKIP: {e} (set URBIS_REQUIRE_GPU=1 to make this a failure)");
                None
            }
            Err(e) => panic!("URBIS_REQUIRE_GPU=1 but {e}"),
        }
    }

    /// Waits until the GPU has finished everything submitted so far.
    pub fn wait_idle(&self) {
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            tracing::warn!("waiting for the GPU: {e}");
        }
    }

    pub fn adapter_name(&self) -> String {
        self.adapter.get_info().name
    }
}
