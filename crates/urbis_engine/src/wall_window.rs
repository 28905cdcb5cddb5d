//! The video wall in windows (issue 18): one process drives several displays
//! of a [`WallLayout`], each in a borderless window, all sharing one wgpu
//! device and one [`Engine`] (one city model).
//!
//! ```text
//! run_wall_windows(model, layout, options, hook)
//!   resumed: one window per display in options.displays, placed by
//!     display.output (that monitor, full screen) ▸ display.window (at [x, y])
//!     ▸ the k-th monitor (options.fullscreen, enough monitors) ▸ cascading;
//!     a surface each, one GpuContext and one Engine for all of them
//!   about_to_wait, every frame seq (one step for all windows):
//!     acquire every surface texture (none: skip the step, no hook call)
//!     hook.begin_frame(model, seq) ─► WallFrame (None: end) ─► engine.update()
//!     WallView::new(layout, camera): the frame holding the whole wall
//!     per window: set_crop(wall.crop(display.rect)) ─► engine.render (first
//!       overlay, moved from wall-canvas pixels to the display's) ─► the other
//!       overlays ─► set_crop(None)
//!     hook.before_present(seq) (the swap barrier) ─► present all ─► hook.after_present(seq)
//!   close, Escape, max_frames or the hook's None: exit ─► WallWindowSummary
//! ```
//!
//! A window's surface is its inner size; when a full-screen window's size
//! differs from `display.pixels`, the crop still maps the display's
//! rectangle onto the whole surface, and the overlays are scaled with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use urbis_model::CityModel;
use urbis_render::{Camera, GpuContext, Lighting, Overlay};
use urbis_wall::{Display, WallLayout};
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{KeyCode, PhysicalKey};
use winit::monitor::MonitorHandle;
use winit::window::{Fullscreen, Window, WindowId};

use crate::{Engine, WallView, WindowError, shift_overlay};

/// What the wall shows in one frame.
#[derive(Debug, Clone)]
pub struct WallFrame {
    /// The city camera: its position is the viewer's eye, facing the wall
    /// (its field of view is ignored; the wall's geometry sets it).
    pub camera: Camera,
    pub lighting: Lighting,
    /// Drawn in order over every display, in wall-canvas pixels.
    pub overlays: Vec<Overlay>,
}

/// What drives the wall's frames (a leader or follower of the wall's sync, a script).
pub trait WallHook {
    /// Before frame `seq`: updates the model (live state, streaming…) and
    /// says what to show; `None` ends the run.
    fn begin_frame(&mut self, model: &mut CityModel, seq: u64) -> Option<WallFrame>;

    /// Every display of this process has rendered frame `seq`; called before
    /// presenting (the swap barrier goes here).
    fn before_present(&mut self, _seq: u64) {}

    /// Every display of this process has presented frame `seq`.
    fn after_present(&mut self, _seq: u64) {}
}

/// Which displays this process drives, and how.
#[derive(Debug, Clone, Default)]
pub struct WallWindowOptions {
    /// Indices into `layout.displays`, one window each.
    pub displays: Vec<usize>,
    /// Without `output` or `window`, put display k full screen on the k-th
    /// monitor when there is a monitor for every display.
    pub fullscreen: bool,
    /// Close after this many frames; `None` runs until the hook ends it, a
    /// window is closed or Escape is pressed.
    pub max_frames: Option<u64>,
}

/// A window of the wall: display id, surface size, outer position
/// (windowed), monitor (full screen).
pub type WallWindowInfo = (String, [u32; 2], Option<[i32; 2]>, Option<String>);

/// What the wall's windows did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WallWindowSummary {
    /// Frames rendered and presented on every window.
    pub frames: u64,
    /// The windows, in the order of [`WallWindowOptions::displays`], as of the last frame.
    pub windows: Vec<WallWindowInfo>,
}

/// How far each cascading window is moved from the previous one, pixels.
const CASCADE: i32 = 40;

/// One display's window.
struct Output {
    /// Index into the layout's displays.
    display: usize,
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    /// The monitor it is full screen on.
    monitor: Option<String>,
}

struct WallApp {
    instance: Option<wgpu::Instance>,
    model: Option<CityModel>,
    layout: WallLayout,
    options: WallWindowOptions,
    hook: Box<dyn WallHook>,
    engine: Option<Engine>,
    outputs: Vec<Output>,
    summary: WallWindowSummary,
    error: Option<WindowError>,
    done: bool,
}

/// Opens a window for each of `options.displays` and renders the wall in
/// them until the hook, a close request, Escape or `max_frames` ends it.
///
/// On X11 and Wayland the event loop may run off the main thread (tests),
/// but only once per process, as winit allows.
pub fn run_wall_windows(
    model: CityModel,
    layout: WallLayout,
    options: WallWindowOptions,
    hook: Box<dyn WallHook>,
) -> Result<WallWindowSummary, WindowError> {
    if options.displays.is_empty() {
        return Err(WindowError::Wall("no display to drive".into()));
    }
    for (k, &i) in options.displays.iter().enumerate() {
        if i >= layout.displays.len() {
            return Err(WindowError::Wall(format!("no display {i}: the wall has {}", layout.displays.len())));
        }
        if options.displays[..k].contains(&i) {
            return Err(WindowError::Wall(format!("display {} is listed twice", layout.displays[i].id)));
        }
    }
    let mut builder = EventLoop::builder();
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd", target_os = "openbsd"))]
    winit::platform::x11::EventLoopBuilderExtX11::with_any_thread(&mut builder, true);
    #[cfg(target_os = "windows")]
    winit::platform::windows::EventLoopBuilderExtWindows::with_any_thread(&mut builder, true);
    let event_loop = builder.build().map_err(|e| WindowError::NoDisplay(e.to_string()))?;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(Box::new(
        event_loop.owned_display_handle(),
    )));
    let mut app = WallApp {
        instance: Some(instance),
        model: Some(model),
        layout,
        options,
        hook,
        engine: None,
        outputs: Vec::new(),
        summary: WallWindowSummary::default(),
        error: None,
        done: false,
    };
    event_loop.run_app(&mut app).map_err(|e| WindowError::NoDisplay(e.to_string()))?;
    match app.error {
        Some(e) => Err(e),
        None => Ok(app.summary),
    }
}

impl WallApp {
    /// Opens the windows, their surfaces, the device and the engine.
    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<(), WindowError> {
        let monitors: Vec<MonitorHandle> = event_loop.available_monitors().collect();
        let names: Vec<String> = monitors.iter().map(|m| m.name().unwrap_or_else(|| "?".into())).collect();
        tracing::info!("wall: monitors {names:?}");
        let enough = self.options.fullscreen && monitors.len() >= self.options.displays.len();
        let mut windows = Vec::new();
        for (k, &i) in self.options.displays.iter().enumerate() {
            let d = &self.layout.displays[i];
            let (attrs, monitor) = placement(d, k, &monitors, enough);
            let window = event_loop
                .create_window(attrs)
                .map_err(|e| WindowError::NoDisplay(format!("display {}: {e}", d.id)))?;
            windows.push((i, Arc::new(window), monitor));
        }
        let instance = self.instance.take().ok_or_else(|| WindowError::NoDisplay("instance already used".into()))?;
        let mut surfaces = Vec::new();
        for (i, window, _) in &windows {
            let surface = instance
                .create_surface(window.clone())
                .map_err(|e| WindowError::NoDisplay(format!("display {}: {e}", self.layout.displays[*i].id)))?;
            surfaces.push(surface);
        }
        let ctx = GpuContext::with_instance(instance, surfaces.first())?;
        // One renderer draws every window: one format for all surfaces.
        let caps = surfaces.first().map(|s| s.get_capabilities(&ctx.adapter)).unwrap_or_default();
        let format = caps
            .formats
            .iter()
            .find(|f| f.is_srgb())
            .or(caps.formats.first())
            .copied()
            .ok_or_else(|| WindowError::NoDisplay("the adapter cannot present to these windows".into()))?;
        for ((i, window, monitor), surface) in windows.into_iter().zip(surfaces) {
            let d = &self.layout.displays[i];
            let size = window.inner_size();
            let (w, h) = if size.width > 0 && size.height > 0 {
                (size.width, size.height)
            } else {
                (d.pixels[0].max(1), d.pixels[1].max(1))
            };
            let mut config = surface
                .get_default_config(&ctx.adapter, w, h)
                .ok_or_else(|| WindowError::NoDisplay(format!("display {}: the adapter cannot present to it", d.id)))?;
            if !surface.get_capabilities(&ctx.adapter).formats.contains(&format) {
                return Err(WindowError::Wall(format!("display {}: its surface cannot take {format:?}", d.id)));
            }
            config.format = format;
            config.present_mode = wgpu::PresentMode::AutoVsync;
            surface.configure(&ctx.device, &config);
            tracing::info!("wall: display {} surface {w}×{h}", d.id);
            self.outputs.push(Output { display: i, window, surface, config, monitor });
        }
        let model = self.model.take().ok_or_else(|| WindowError::NoDisplay("model already used".into()))?;
        self.engine = Some(Engine::new(model, ctx, format));
        Ok(())
    }

    /// Renders and presents one frame on every window. `Ok(None)`: the run
    /// is over; `Ok(Some(false))`: a surface had no texture, nothing drawn.
    fn step(&mut self) -> Result<Option<bool>, WindowError> {
        let Some(engine) = self.engine.as_mut() else { return Ok(Some(false)) };
        if self.options.max_frames.is_some_and(|max| self.summary.frames >= max) {
            return Ok(None);
        }
        // Every surface first: a frame goes to every display or to none.
        let mut textures = Vec::with_capacity(self.outputs.len());
        for o in &mut self.outputs {
            match acquire(o, &engine.ctx.device) {
                Some(t) => textures.push(t),
                None => return Ok(Some(false)),
            }
        }
        let seq = self.summary.frames;
        let Some(frame) = self.hook.begin_frame(&mut engine.model, seq) else { return Ok(None) };
        engine.update();
        let wall = WallView::new(&self.layout, &frame.camera)
            .ok_or_else(|| WindowError::Wall("the eye is not in front of the wall".into()))?;
        for (o, texture) in self.outputs.iter().zip(&textures) {
            let d = &self.layout.displays[o.display];
            let view = texture.texture.create_view(&wgpu::TextureViewDescriptor::default());
            let (w, h) = (texture.texture.width(), texture.texture.height());
            let overlays: Vec<Overlay> = frame.overlays.iter().map(|ov| on_display(ov, &wall, d, w, h)).collect();
            engine.renderer.set_crop(Some(wall.crop(d.rect)));
            engine.render(&wall.camera, &frame.lighting, overlays.first(), &view, w, h);
            for ov in overlays.iter().skip(1) {
                engine.render_overlay(ov, &view, w, h);
            }
            // The windows are crops of one frame: the first draws the shadow map.
            engine.renderer.set_reuse_shadow_map(true);
        }
        engine.renderer.set_crop(None);
        engine.renderer.set_reuse_shadow_map(false);
        self.hook.before_present(seq);
        for t in textures {
            engine.ctx.queue.present(t);
        }
        self.summary.frames += 1;
        self.hook.after_present(seq);
        if seq == 0 {
            self.snapshot();
        }
        Ok(Some(true))
    }

    /// Records the windows' sizes and places in the summary.
    fn snapshot(&mut self) {
        self.summary.windows = self
            .outputs
            .iter()
            .map(|o| {
                let position =
                    if o.monitor.is_none() { o.window.outer_position().ok().map(|p| [p.x, p.y]) } else { None };
                (
                    self.layout.displays[o.display].id.clone(),
                    [o.config.width, o.config.height],
                    position,
                    o.monitor.clone(),
                )
            })
            .collect();
    }

    /// Ends the run cleanly.
    fn finish(&mut self, event_loop: &ActiveEventLoop) {
        if !self.done {
            self.done = true;
            self.snapshot();
            tracing::info!("wall: {} frames on {} windows", self.summary.frames, self.outputs.len());
        }
        event_loop.exit();
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: WindowError) {
        tracing::error!("wall: {error}");
        self.error = Some(error);
        self.finish(event_loop);
    }
}

/// The window attributes of the k-th display of this process, and the
/// monitor it is full screen on (see the module's overview for the order).
fn placement(
    d: &Display,
    k: usize,
    monitors: &[MonitorHandle],
    fullscreen: bool,
) -> (winit::window::WindowAttributes, Option<String>) {
    let attrs = Window::default_attributes().with_title(format!("Urbis wall: {}", d.id)).with_decorations(false);
    let named = d.output.as_ref().and_then(|name| {
        let m = monitors.iter().find(|m| m.name().as_deref() == Some(name.as_str()));
        if m.is_none() {
            tracing::warn!("wall: display {}: no monitor named {name:?}; placing it otherwise", d.id);
        }
        m
    });
    let monitor = named.or(if d.window.is_none() && fullscreen { monitors.get(k) } else { None });
    if let Some(m) = monitor {
        let name = m.name().unwrap_or_else(|| format!("monitor {k}"));
        tracing::info!("wall: display {} → borderless full screen on {name}", d.id);
        return (attrs.with_fullscreen(Some(Fullscreen::Borderless(Some(m.clone())))), Some(name));
    }
    let cascade = i32::try_from(k).unwrap_or(0).saturating_mul(CASCADE);
    let [x, y] = d.window.unwrap_or([cascade, cascade]);
    let [w, h] = d.pixels;
    let how = if d.window.is_some() { "at its position" } else { "cascading" };
    tracing::info!("wall: display {} → undecorated {w}×{h} window at ({x}, {y}), {how}", d.id);
    let attrs = attrs.with_inner_size(PhysicalSize::new(w.max(1), h.max(1))).with_position(PhysicalPosition::new(x, y));
    (attrs, None)
}

/// The next texture of a window's surface, reconfigured once when outdated
/// or lost; `None` when there is none this frame (timeout, occluded).
fn acquire(o: &mut Output, device: &wgpu::Device) -> Option<wgpu::SurfaceTexture> {
    for _ in 0..2 {
        match o.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t) | wgpu::CurrentSurfaceTexture::Suboptimal(t) => return Some(t),
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                let size = o.window.inner_size();
                if size.width > 0 && size.height > 0 {
                    (o.config.width, o.config.height) = (size.width, size.height);
                }
                o.surface.configure(device, &o.config);
            }
            _ => break,
        }
    }
    tracing::debug!("wall: display {}: no surface texture this frame", o.display);
    None
}

/// An overlay in wall-canvas pixels moved into display `d`'s pixels, and
/// scaled when its surface (`w` × `h`) is not `d.pixels`.
fn on_display(o: &Overlay, wall: &WallView, d: &Display, w: u32, h: u32) -> Overlay {
    let [west, _, _, north] = wall.extent;
    let dx = ((d.rect[0] - west) * wall.density) as f32;
    let dy = ((north - d.rect[1] - d.rect[3]) * wall.density) as f32;
    let mut o = shift_overlay(o, dx, dy);
    if [w, h] == d.pixels {
        return o;
    }
    let (sx, sy) = (w as f32 / d.pixels[0].max(1) as f32, h as f32 / d.pixels[1].max(1) as f32);
    for p in &mut o.panels {
        (p.x, p.y) = (p.x * sx, p.y * sy);
    }
    for l in &mut o.lines {
        l.width *= sy;
        for p in &mut l.points {
            *p = [p[0] * sx, p[1] * sy];
        }
    }
    o.scale *= sy;
    o
}

impl ApplicationHandler for WallApp {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.engine.is_none()
            && !self.done
            && let Err(e) = self.start(event_loop)
        {
            self.fail(event_loop, e);
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        let Some(k) = self.outputs.iter().position(|o| o.window.id() == id) else { return };
        match event {
            WindowEvent::CloseRequested => {
                tracing::info!("wall: display {} closed", self.layout.displays[self.outputs[k].display].id);
                self.finish(event_loop);
            }
            WindowEvent::KeyboardInput { event: key, .. }
                if key.state == ElementState::Pressed && key.physical_key == PhysicalKey::Code(KeyCode::Escape) =>
            {
                self.finish(event_loop);
            }
            WindowEvent::Resized(size) if size.width > 0 && size.height > 0 => {
                if let Some(engine) = &self.engine {
                    let o = &mut self.outputs[k];
                    (o.config.width, o.config.height) = (size.width, size.height);
                    o.surface.configure(&engine.ctx.device, &o.config);
                }
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if self.done {
            return;
        }
        match self.step() {
            Ok(Some(true)) => event_loop.set_control_flow(ControlFlow::Poll),
            // A surface is occluded or timed out: try again shortly.
            Ok(Some(false)) => {
                event_loop.set_control_flow(ControlFlow::WaitUntil(Instant::now() + Duration::from_millis(10)))
            }
            Ok(None) => self.finish(event_loop),
            Err(e) => self.fail(event_loop, e),
        }
    }
}
