//! Render pipeline construction for the city and shadow passes, plain and
//! instanced, and for the composite pass.

use crate::scene::{InstanceData, PointVertex, Vertex};

pub(crate) const COLOR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
pub(crate) const ID_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R32Uint;
pub(crate) const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

fn buffers(instanced: bool) -> Vec<Option<wgpu::VertexBufferLayout<'static>>> {
    if instanced { vec![Some(Vertex::layout()), Some(InstanceData::layout())] } else { vec![Some(Vertex::layout())] }
}

/// How a city-pass pipeline writes its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blend {
    /// Colour and feature id replace what is there; depth is written.
    Opaque,
    /// See-through surfaces (see `transparency`): premultiplied colour
    /// blended over the target, no feature id, no depth write.
    Transparent,
}

impl Blend {
    fn targets(self) -> [Option<wgpu::ColorTargetState>; 2] {
        match self {
            Blend::Opaque => [Some(COLOR_FORMAT.into()), Some(ID_FORMAT.into())],
            Blend::Transparent => [
                Some(wgpu::ColorTargetState {
                    format: COLOR_FORMAT,
                    blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                    write_mask: wgpu::ColorWrites::ALL,
                }),
                Some(wgpu::ColorTargetState { format: ID_FORMAT, blend: None, write_mask: wgpu::ColorWrites::empty() }),
            ],
        }
    }

    fn depth(self) -> wgpu::DepthStencilState {
        wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(self == Blend::Opaque),
            depth_compare: Some(wgpu::CompareFunction::Greater),
            stencil: Default::default(),
            bias: Default::default(),
        }
    }
}

/// How a city- or shadow-pass pipeline is specialised (see `specialise`):
/// back faces culled, and values for pipeline constants of `city.wgsl`
/// (given to both stages; those not given keep their defaults).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Variant<'a> {
    pub cull_back: bool,
    pub constants: &'a [(&'a str, f64)],
}

/// The main pass: colour + feature id, reversed-Z depth (greater is nearer).
/// `fragment`: `fs_main`, or the entry point of a section, of transparency
/// or of both (see `section` and `transparency`).
pub(crate) fn city(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    instanced: bool,
    fragment: &str,
    blend: Blend,
    variant: Variant<'_>,
) -> wgpu::RenderPipeline {
    let buffers = buffers(instanced);
    let options = || wgpu::PipelineCompilationOptions { constants: variant.constants, ..Default::default() };
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(if instanced { "city instanced" } else { "city" }),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some(if instanced { "vs_instanced" } else { "vs_main" }),
            compilation_options: options(),
            buffers: &buffers,
        },
        // Sources disagree on winding; both faces are drawn and lit from the viewer's side,
        // except where the source says only the front is seen (`variant.cull_back`).
        primitive: wgpu::PrimitiveState {
            cull_mode: variant.cull_back.then_some(wgpu::Face::Back),
            front_face: wgpu::FrontFace::Ccw,
            ..Default::default()
        },
        depth_stencil: Some(blend.depth()),
        multisample: Default::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fragment),
            compilation_options: options(),
            targets: &blend.targets(),
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Depth from the sun (standard depth, slope-scaled bias against acne).
/// With `section`, a fragment stage discards what the section removes;
/// with `variant.cull_back`, faces turned away from the sun are not drawn
/// (single-sided batches: a solid's sunward faces cast its shadow).
pub(crate) fn shadow(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    instanced: bool,
    section: bool,
    variant: Variant<'_>,
) -> wgpu::RenderPipeline {
    let buffers = buffers(instanced);
    let options = || wgpu::PipelineCompilationOptions { constants: variant.constants, ..Default::default() };
    let vertex = match (instanced, section) {
        (false, false) => "vs_shadow",
        (true, false) => "vs_shadow_instanced",
        (false, true) => "vs_shadow_section",
        (true, true) => "vs_shadow_section_instanced",
    };
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(if instanced { "shadow instanced" } else { "shadow" }),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some(vertex),
            compilation_options: options(),
            buffers: &buffers,
        },
        primitive: wgpu::PrimitiveState {
            cull_mode: variant.cull_back.then_some(wgpu::Face::Back),
            front_face: wgpu::FrontFace::Ccw,
            ..Default::default()
        },
        depth_stencil: Some(wgpu::DepthStencilState {
            format: DEPTH_FORMAT,
            depth_write_enabled: Some(true),
            depth_compare: Some(wgpu::CompareFunction::LessEqual),
            stencil: Default::default(),
            bias: wgpu::DepthBiasState { constant: 2, slope_scale: 2.5, clamp: 0.0 },
        }),
        multisample: Default::default(),
        fragment: section.then(|| wgpu::FragmentState {
            module,
            entry_point: Some("fs_shadow_section"),
            compilation_options: options(),
            targets: &[],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Points as camera-facing squares (six vertices per point instance);
/// `fragment`: `fs_point`, or that of a section, of transparency or of both.
pub(crate) fn points(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    fragment: &str,
    blend: Blend,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some("points"),
        layout: Some(layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_point"),
            compilation_options: Default::default(),
            buffers: &[Some(PointVertex::layout())],
        },
        primitive: wgpu::PrimitiveState { cull_mode: None, ..Default::default() },
        depth_stencil: Some(blend.depth()),
        multisample: Default::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(fragment),
            compilation_options: Default::default(),
            targets: &blend.targets(),
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// How the composite pass draws the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CompositeDraw {
    /// One full-screen draw (`fs_main`).
    Plain,
    /// One full-screen draw with FXAA (`fs_antialias`).
    Antialiased,
    /// Two full-screen draws split by a read-only depth test: `fs_sky`
    /// where nothing opaque was drawn, `fs_opaque_surface` elsewhere. Only
    /// without a section (which leaves see-through "nothing" at depth).
    Split,
}

/// The composite pass (`composite.wgsl`) into the output: plain,
/// anti-aliased or split, with or without the selection outline. Each
/// variant is a pipeline of its own, built on first use, so frames without
/// FXAA or a selection neither run nor compile them.
pub(crate) struct Composite {
    layout: wgpu::PipelineLayout,
    module: wgpu::ShaderModule,
    format: wgpu::TextureFormat,
    /// By fragment entry point and selection.
    variants: std::collections::HashMap<(&'static str, bool), wgpu::RenderPipeline>,
}

impl Composite {
    pub(crate) fn new(device: &wgpu::Device, group: &wgpu::BindGroupLayout, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("composite.wgsl"),
            source: wgpu::ShaderSource::Wgsl(crate::shaders::COMPOSITE.into()),
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("composite"),
            bind_group_layouts: &[Some(group)],
            immediate_size: 0,
        });
        Self { layout, module, format, variants: Default::default() }
    }

    /// The fragment entry points of a way of drawing, with the depth test
    /// that picks each one's pixels (none: every pixel).
    fn entries(draw: CompositeDraw) -> &'static [(&'static str, Option<wgpu::CompareFunction>)] {
        match draw {
            CompositeDraw::Plain => &[("fs_main", None)],
            CompositeDraw::Antialiased => &[("fs_antialias", None)],
            // The full-screen triangle lies at depth 0, the cleared far plane (reversed Z).
            CompositeDraw::Split => &[
                ("fs_sky", Some(wgpu::CompareFunction::Equal)),
                ("fs_opaque_surface", Some(wgpu::CompareFunction::Less)),
            ],
        }
    }

    /// Builds the pipelines of `draw` with or without `selection` not built yet.
    pub(crate) fn prepare(&mut self, device: &wgpu::Device, draw: CompositeDraw, selection: bool) {
        for &(fragment, depth) in Self::entries(draw) {
            if !self.variants.contains_key(&(fragment, selection)) {
                let p = Self::pipeline(device, &self.layout, &self.module, self.format, fragment, selection, depth);
                self.variants.insert((fragment, selection), p);
            }
        }
    }

    /// Draws the frame with the prepared pipelines of `draw` (the pass has
    /// the depth target attached, read-only, exactly when `draw` is `Split`).
    pub(crate) fn draw(&self, pass: &mut wgpu::RenderPass<'_>, draw: CompositeDraw, selection: bool) {
        for &(fragment, _) in Self::entries(draw) {
            if let Some(p) = self.variants.get(&(fragment, selection)) {
                pass.set_pipeline(p);
                pass.draw(0..3, 0..1);
            }
        }
    }

    fn pipeline(
        device: &wgpu::Device,
        layout: &wgpu::PipelineLayout,
        module: &wgpu::ShaderModule,
        format: wgpu::TextureFormat,
        fragment: &str,
        selection: bool,
        depth: Option<wgpu::CompareFunction>,
    ) -> wgpu::RenderPipeline {
        let on = |b: bool| if b { 1.0 } else { 0.0 };
        let constants: &[(&str, f64)] = &[("SELECTION", on(selection)), ("ENCODE_SRGB", on(!format.is_srgb()))];
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(fragment),
            layout: Some(layout),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: Default::default(),
            depth_stencil: depth.map(|compare| wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(false),
                depth_compare: Some(compare),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some(fragment),
                compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        })
    }
}

pub(crate) fn storage_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: true },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

pub(crate) fn texture_entry(binding: u32, sample_type: wgpu::TextureSampleType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type,
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}
