//! The interactive window: the winit event loop around a [`ViewerCore`].
//! Window events go to the egui panels first and the rest to the core as
//! [`Input`]; a script ([`crate::script`]) can feed the same inputs at
//! given frames, and `--record-input` writes what the user did as such a script.

use std::sync::Arc;
use std::time::Instant;

use urbis_model::CityModel;
use urbis_render::{Camera, GpuContext};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::PhysicalKey;
use winit::window::{Window, WindowId};

use crate::Engine;
use crate::script::{Recorder, Script, ScriptPlayer};
use crate::view::GeodeticPose;
use crate::viewer::{Button, Input, ViewerCore};

/// Errors of the window loop.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error(
        "cannot open a window: {0}. Without a display, use `urbis render --out city.png` instead (or run under xvfb-run)"
    )]
    NoDisplay(String),
    #[error("{0}")]
    Render(#[from] urbis_render::RenderError),
    #[error("screenshot: {0}")]
    Screenshot(String),
    #[error("{0}")]
    Script(#[from] crate::script::ScriptError),
    /// A video wall's displays cannot be driven as asked (see [`crate::wall_window`]).
    #[error("video wall: {0}")]
    Wall(String),
}

/// Options of the viewer.
#[derive(Debug, Clone, Default)]
pub struct ViewOptions {
    pub title: String,
    pub camera: Option<GeodeticPose>,
    /// Close after this many frames (for smoke tests); `None` runs until Esc.
    pub max_frames: Option<u64>,
    /// Save the last frame presented (after `max_frames`) as a PNG here.
    pub screenshot: Option<std::path::PathBuf>,
    /// Window size in logical pixels (default 1280 × 760).
    pub size: Option<(u32, u32)>,
    /// Vertical field of view, degrees (default 45).
    pub fov_deg: Option<f64>,
    /// Light by the real sun at this time (Unix ms, UTC); `None`: a fixed clear afternoon.
    pub sun_time_ms: Option<i64>,
    /// Anti-alias frames (FXAA; costly on a CPU renderer).
    pub antialias: bool,
    /// Imagery layers draped on the ground (already draped when the viewer
    /// opens); the layers panel changes their visibility and opacity.
    pub imagery: Vec<urbis_model::imagery::ImageryLayer>,
    /// Ground size of an imagery texel, metres.
    pub imagery_texel: f64,
    /// The streamed globe's terrain (`--globe`): imagery is draped tile by
    /// tile there, and a layer change makes its tiles again.
    pub terrain: Option<Arc<urbis_tiles::terrain::TerrainGenerator>>,
    /// A JSON file of bookmarks to list, go to and add to.
    pub bookmarks: Option<std::path::PathBuf>,
    /// The style file (`--style`): the style editor edits, saves and loads it,
    /// and streamed tiles are styled by it as they arrive.
    pub style: Option<std::path::PathBuf>,
    /// Play this tour from the start (then the user flies on).
    pub tour: Option<Vec<crate::tour::TourPose>>,
    /// Key K appends the current view to this tour file (written at once).
    pub record_tour: Option<std::path::PathBuf>,
    /// Replay this script's input, then close.
    pub script: Option<Script>,
    /// Write the user's input as a script here when the viewer closes.
    pub record: Option<std::path::PathBuf>,
}

/// What the viewer did, reported when it closes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ViewSummary {
    /// Frames rendered and presented to the window.
    pub frames: u64,
    /// The window's surface size at the last frame, pixels.
    pub width: u32,
    pub height: u32,
    /// Picks, measurements, fly-tos and searches, in order.
    pub events: Vec<crate::viewer::ViewerEvent>,
    /// Screenshots a script took.
    pub screenshots: Vec<std::path::PathBuf>,
}

/// Work done on the model before every frame (live sensors, animations).
pub trait FrameHook {
    /// Updates the model; returns lines for a "Live" overlay panel.
    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String>;

    /// The camera of the coming frame and its viewport, before
    /// [`FrameHook::before_frame`] (streaming selects tiles for it).
    fn camera(&mut self, _camera: &Camera, _width: u32, _height: u32) {}

    /// A key the viewer does not use itself was pressed (winit's `KeyCode` name,
    /// e.g. "BracketLeft"); the model is updated on the next frame.
    fn key(&mut self, _key: &str, _model: &mut CityModel) {}

    /// The title of the overlay panel showing [`FrameHook::before_frame`]'s lines.
    fn title(&self) -> String {
        "Live".into()
    }

    /// The camera of the coming frame when the hook drives it (a tour), before
    /// [`FrameHook::camera`]; `None` leaves the user's camera.
    fn drive_camera(&mut self) -> Option<Camera> {
        None
    }

    /// True when the hook is done and the viewer should close after this frame (a tour's end).
    fn finished(&self) -> bool {
        false
    }

    /// Tiles shown and tiles still loading, for the status line (streaming hooks).
    fn tiles(&self) -> Option<(usize, usize)> {
        None
    }

    /// The viewer's time moved on by `dt` seconds (fixed steps under a script), before the frame.
    fn advance(&mut self, _dt: f64) {}

    /// The live clock, the time shown and the alarm log, for the timeline (live hooks).
    fn timeline(&self) -> Option<urbis_ui::Timeline> {
        None
    }

    /// Shows the state at `at` (Unix ms; `None`: live), from the timeline's scrubber.
    fn scrub(&mut self, _at: Option<i64>, _model: &mut CityModel) {}

    /// A comparison's modes and the one shown (scenario hooks).
    fn modes(&self) -> Option<(Vec<String>, usize)> {
        None
    }

    /// Shows mode `i` of [`FrameHook::modes`].
    fn set_mode(&mut self, _i: usize, _model: &mut CityModel) {}

    /// Opens and runs a scenario file (the scenario panel's "run"), in the background.
    fn open_scenario(&mut self, path: &std::path::Path, _model: &mut CityModel) {
        tracing::warn!("{}: this view cannot run scenarios", path.display());
    }

    /// Work is running in the background (a scenario run); scripts can wait for it.
    fn busy(&self) -> bool {
        false
    }

    /// What a scenario did to this feature, as (what, value) rows for the inspector.
    fn impacts(&self, _model: &CityModel, _feature: bevy_ecs::prelude::Entity) -> Vec<(String, String)> {
        Vec::new()
    }
}

struct Running {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    core: ViewerCore,
    egui_input: egui_winit::State,
}

struct Viewer {
    instance: Option<wgpu::Instance>,
    model: Option<CityModel>,
    running: Option<Running>,
    options: ViewOptions,
    hook: Option<Box<dyn FrameHook>>,
    last_frame: Instant,
    error: Option<WindowError>,
    summary: ViewSummary,
    player: Option<ScriptPlayer>,
    recorder: Option<Recorder>,
}

/// Opens a window on the model and runs until the user quits.
pub fn run_viewer(model: CityModel, options: ViewOptions) -> Result<ViewSummary, WindowError> {
    run_viewer_with(model, options, None)
}

/// As [`run_viewer`], calling `hook` on the model before every frame.
pub fn run_viewer_with(
    model: CityModel,
    options: ViewOptions,
    hook: Option<Box<dyn FrameHook>>,
) -> Result<ViewSummary, WindowError> {
    let event_loop = EventLoop::new().map_err(|e| WindowError::NoDisplay(e.to_string()))?;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(Box::new(
        event_loop.owned_display_handle(),
    )));
    let player = options.script.clone().map(ScriptPlayer::new);
    let recorder = options.record.as_ref().map(|_| Recorder::default());
    let mut viewer = Viewer {
        instance: Some(instance),
        model: Some(model),
        running: None,
        options,
        hook,
        last_frame: Instant::now(),
        error: None,
        summary: ViewSummary::default(),
        player,
        recorder,
    };
    event_loop.run_app(&mut viewer).map_err(|e| WindowError::NoDisplay(e.to_string()))?;
    if let (Some(rec), Some(path)) = (&viewer.recorder, &viewer.options.record) {
        rec.write(path).map_err(WindowError::Screenshot)?;
    }
    match viewer.error {
        Some(e) => Err(e),
        None => Ok(viewer.summary),
    }
}

impl Viewer {
    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<(), WindowError> {
        let attrs = Window::default_attributes()
            .with_title(if self.options.title.is_empty() { "Urbis" } else { &self.options.title })
            .with_inner_size({
                let (w, h) = self.options.size.unwrap_or((1280, 760));
                winit::dpi::LogicalSize::new(w.max(1) as f64, h.max(1) as f64)
            });
        let window = Arc::new(event_loop.create_window(attrs).map_err(|e| WindowError::NoDisplay(e.to_string()))?);
        let instance = self.instance.take().ok_or_else(|| WindowError::NoDisplay("instance already used".into()))?;
        let surface = instance.create_surface(window.clone()).map_err(|e| WindowError::NoDisplay(e.to_string()))?;
        let ctx = GpuContext::with_instance(instance, Some(&surface))?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&ctx.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| WindowError::NoDisplay("the adapter cannot present to this window".into()))?;
        let caps = surface.get_capabilities(&ctx.adapter);
        if let Some(f) = caps.formats.iter().find(|f| f.is_srgb()) {
            config.format = *f;
        }
        config.present_mode = wgpu::PresentMode::AutoVsync;
        if (self.options.screenshot.is_some() || self.player.is_some())
            && caps.usages.contains(wgpu::TextureUsages::COPY_SRC)
        {
            config.usage |= wgpu::TextureUsages::COPY_SRC;
        }
        // Comparisons put the frame together from several renders.
        if caps.usages.contains(wgpu::TextureUsages::COPY_DST) {
            config.usage |= wgpu::TextureUsages::COPY_DST;
        }
        surface.configure(&ctx.device, &config);
        let model = self.model.take().ok_or_else(|| WindowError::NoDisplay("model already used".into()))?;
        let engine = Engine::new(model, ctx, config.format);
        let core = ViewerCore::new(
            engine,
            self.options.clone(),
            self.hook.take(),
            (config.width, config.height),
            window.scale_factor() as f32,
        );
        let egui_input = egui_winit::State::new(
            core.panels.context().clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(core.engine.ctx.device.limits().max_texture_dimension_2d as usize),
        );
        self.running = Some(Running { window, surface, config, core, egui_input });
        Ok(())
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        let now = Instant::now();
        let Some(r) = self.running.as_mut() else { return };
        // A script runs at a fixed 30 frames a second of viewer time.
        let dt = if self.player.is_some() { 1.0 / 30.0 } else { (now - self.last_frame).as_secs_f64().min(0.1) };
        self.last_frame = now;
        let mut input = r.egui_input.take_egui_input(&r.window);
        let mut shots = Vec::new();
        if let Some(p) = self.player.as_mut() {
            let step = p.frame(&mut r.core);
            input.events.extend(step.egui);
            shots = step.screenshots;
        }
        let frame = match r.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f) | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                r.surface.configure(&r.core.engine.ctx.device, &r.config);
                return;
            }
            _ => return,
        };
        let output = r.core.frame(dt, &frame.texture, input);
        r.egui_input.handle_platform_output(&r.window, output);
        if let Some(rec) = self.recorder.as_mut() {
            rec.next_frame();
        }
        let done = r.core.wants_exit() || self.player.as_ref().is_some_and(ScriptPlayer::finished);
        let mut paths: Vec<std::path::PathBuf> = shots;
        if done && let Some(p) = &self.options.screenshot {
            paths.push(p.clone());
        }
        for path in paths {
            match save_frame(&r.core.engine.ctx, &frame.texture, &path) {
                Ok(()) => self.summary.screenshots.push(path),
                Err(e) => self.error = Some(e),
            }
        }
        self.summary.frames = r.core.frames();
        (self.summary.width, self.summary.height) = (r.config.width, r.config.height);
        self.summary.events = r.core.events().to_vec();
        r.core.engine.ctx.queue.present(frame);
        if done || self.error.is_some() {
            event_loop.exit();
        }
    }
}

/// Saves a presented frame as PNG (the surface must have been configured with `COPY_SRC`).
fn save_frame(ctx: &GpuContext, texture: &wgpu::Texture, path: &std::path::Path) -> Result<(), WindowError> {
    if !texture.usage().contains(wgpu::TextureUsages::COPY_SRC) {
        return Err(WindowError::Screenshot(format!("{}: this surface cannot be read back", path.display())));
    }
    let size = texture.size();
    let px = urbis_render::read_texture_rgba(ctx, texture)?;
    let img = image::RgbaImage::from_raw(size.width, size.height, px)
        .ok_or_else(|| WindowError::Screenshot("readback size mismatch".into()))?;
    img.save(path).map_err(|e| WindowError::Screenshot(format!("{}: {e}", path.display())))
}

fn button(b: MouseButton) -> Option<Button> {
    match b {
        MouseButton::Left => Some(Button::Left),
        MouseButton::Right => Some(Button::Right),
        MouseButton::Middle => Some(Button::Middle),
        _ => None,
    }
}

impl ApplicationHandler for Viewer {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.running.is_none()
            && let Err(e) = self.start(event_loop)
        {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        if matches!(event, WindowEvent::RedrawRequested) {
            self.redraw(event_loop);
            return;
        }
        let Some(r) = self.running.as_mut() else { return };
        let mut text = None;
        let input = match &event {
            WindowEvent::CloseRequested => {
                event_loop.exit();
                None
            }
            WindowEvent::Resized(size) => {
                if size.width > 0 && size.height > 0 {
                    r.config.width = size.width;
                    r.config.height = size.height;
                    r.surface.configure(&r.core.engine.ctx.device, &r.config);
                    r.core.resize(size.width, size.height);
                }
                None
            }
            WindowEvent::KeyboardInput { event: k, .. } => match k.physical_key {
                PhysicalKey::Code(code) => {
                    let name = format!("{code:?}");
                    match k.state {
                        ElementState::Pressed if !k.repeat => {
                            text =
                                k.text.as_ref().map(|t| t.to_string()).filter(|t| t.chars().all(|c| !c.is_control()));
                            Some(Input::KeyDown(name))
                        }
                        ElementState::Pressed => None,
                        ElementState::Released => Some(Input::KeyUp(name)),
                    }
                }
                PhysicalKey::Unidentified(_) => None,
            },
            WindowEvent::CursorMoved { position, .. } => Some(Input::CursorMoved(position.x, position.y)),
            WindowEvent::MouseInput { state, button: b, .. } => button(*b).map(|b| match state {
                ElementState::Pressed => Input::ButtonDown(b),
                ElementState::Released => Input::ButtonUp(b),
            }),
            WindowEvent::MouseWheel { delta, .. } => Some(Input::Wheel(match delta {
                MouseScrollDelta::LineDelta(_, y) => *y as f64,
                MouseScrollDelta::PixelDelta(p) => p.y / 40.0,
            })),
            _ => None,
        };
        // While a script plays, the user's own input is ignored.
        if self.player.is_some() {
            return;
        }
        if let (Some(rec), Some(i)) = (self.recorder.as_mut(), &input) {
            rec.push(i, text.as_deref());
        }
        // The panels take the input they are over (typing, clicks on them) first.
        let response = r.egui_input.on_window_event(&r.window, &event);
        if response.consumed {
            r.core.cancel_press();
            return;
        }
        if let Some(input) = input {
            r.core.input(input);
            if r.core.wants_exit() {
                event_loop.exit();
            }
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(r) = &self.running {
            r.window.request_redraw();
        }
    }
}
