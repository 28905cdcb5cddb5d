//! The interactive window: winit event loop, fly/orbit camera, picking and
//! the attribute panel. Frames go through the same [`Engine`] path as
//! headless rendering.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use bevy_ecs::prelude::Entity;
use glam::{DMat3, DVec3};
use urbis_model::CityModel;
use urbis_render::{Camera, GpuContext, Overlay, Panel};
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{KeyCode, PhysicalKey};
use winit::window::{Window, WindowId};

use crate::Engine;
use crate::view::{GeodeticPose, default_camera, default_lighting};

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
    /// A JSON file of bookmarks to list, go to and add to.
    pub bookmarks: Option<std::path::PathBuf>,
}

/// What the viewer did, reported when it closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewSummary {
    /// Frames rendered and presented to the window.
    pub frames: u64,
    /// The window's surface size at the last frame, pixels.
    pub width: u32,
    pub height: u32,
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
}

struct Running {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    engine: Engine,
    /// The egui panels and their window input.
    panels: urbis_ui::Panels,
    egui_input: egui_winit::State,
}

struct Viewer {
    instance: Option<wgpu::Instance>,
    model: Option<CityModel>,
    running: Option<Running>,
    options: ViewOptions,
    camera: Option<Camera>,
    keys: HashSet<KeyCode>,
    cursor: (f64, f64),
    press: Option<(MouseButton, (f64, f64), bool)>,
    last_frame: Instant,
    frames: u64,
    fps: f64,
    error: Option<WindowError>,
    summary: ViewSummary,
    hook: Option<Box<dyn FrameHook>>,
    hook_lines: Vec<String>,
    /// The cursor moved since the hovered feature was last looked up.
    hover_stale: bool,
    /// The picked point (ECEF): the right-drag orbit turns about it.
    picked_point: Option<DVec3>,
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
    let mut viewer = Viewer {
        instance: Some(instance),
        model: Some(model),
        running: None,
        options,
        camera: None,
        keys: HashSet::new(),
        cursor: (0.0, 0.0),
        press: None,
        last_frame: Instant::now(),
        frames: 0,
        fps: 0.0,
        error: None,
        summary: ViewSummary::default(),
        hook,
        hook_lines: Vec::new(),
        hover_stale: false,
        picked_point: None,
    };
    event_loop.run_app(&mut viewer).map_err(|e| WindowError::NoDisplay(e.to_string()))?;
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
        if self.options.screenshot.is_some() && caps.usages.contains(wgpu::TextureUsages::COPY_SRC) {
            config.usage |= wgpu::TextureUsages::COPY_SRC;
        }
        surface.configure(&ctx.device, &config);
        let model = self.model.take().ok_or_else(|| WindowError::NoDisplay("model already used".into()))?;
        let engine = Engine::new(model, ctx, config.format);
        let mut camera = match self.options.camera {
            Some(p) => p.camera(),
            None => default_camera(&engine.model),
        };
        if let Some(f) = self.options.fov_deg {
            camera.fov_y = f.to_radians();
        }
        self.camera = Some(camera);
        let mut panels = urbis_ui::Panels::new(&engine.ctx.device, config.format);
        if let Some(path) = &self.options.bookmarks {
            match urbis_ui::read_bookmarks(path) {
                Ok(list) => panels.set_bookmarks(list),
                // The viewer keeps running without them.
                Err(e) => tracing::warn!("bookmarks not loaded: {e}"),
            }
        }
        let egui_input = egui_winit::State::new(
            panels.context().clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(engine.ctx.device.limits().max_texture_dimension_2d as usize),
        );
        self.running = Some(Running { window, surface, config, engine, panels, egui_input });
        Ok(())
    }

    fn local_up(&self) -> DVec3 {
        self.running.as_ref().map_or(DVec3::Z, |r| r.engine.model.frame().enu_to_ecef_rot.z_axis)
    }

    /// Height of the camera over the lowest ground of the model, metres.
    fn height_over_ground(&self) -> f64 {
        let (Some(r), Some(c)) = (&self.running, &self.camera) else {
            return 100.0;
        };
        let enu = r.engine.model.frame().ecef_to_enu(c.position);
        let ground = r.engine.model.bounds().min.z;
        (enu.z - if ground.is_finite() { ground } else { 0.0 }).max(1.0)
    }

    fn fly(&mut self, dt: f64) {
        let up = self.local_up();
        let speed =
            self.height_over_ground().max(5.0) * if self.keys.contains(&KeyCode::ShiftLeft) { 3.0 } else { 0.8 };
        let Some(cam) = self.camera.as_mut() else {
            return;
        };
        let fwd = cam.forward() - up * cam.forward().dot(up);
        let fwd = if fwd.length() > 1e-6 { fwd.normalize() } else { cam.up() };
        let right = cam.right();
        let mut v = DVec3::ZERO;
        for (k, d) in [
            (KeyCode::KeyW, fwd),
            (KeyCode::KeyS, -fwd),
            (KeyCode::KeyD, right),
            (KeyCode::KeyA, -right),
            (KeyCode::KeyE, up),
            (KeyCode::KeyQ, -up),
        ] {
            if self.keys.contains(&k) {
                v += d;
            }
        }
        if v != DVec3::ZERO {
            cam.position += v.normalize() * speed * dt;
        }
    }

    fn look(&mut self, dx: f64, dy: f64) {
        let up = self.local_up();
        let Some(cam) = self.camera.as_mut() else {
            return;
        };
        let yaw = DMat3::from_axis_angle(up, -dx * 0.004);
        let mut r = yaw * cam.rotation;
        let pitch = DMat3::from_axis_angle(r.x_axis, -dy * 0.004);
        let candidate = pitch * r;
        if (-candidate.z_axis).dot(up).abs() < 0.995 {
            r = candidate;
        }
        cam.rotation = orthonormal(r);
    }

    /// The point under the screen centre (ray cast on the CPU index), else a point ahead.
    fn pivot(&self) -> DVec3 {
        if let Some(p) = self.picked_point {
            return p;
        }
        let (Some(r), Some(c)) = (&self.running, &self.camera) else {
            return DVec3::ZERO;
        };
        let frame = r.engine.model.frame();
        let origin = frame.ecef_to_enu(c.position);
        let dir = frame.enu_to_ecef_rot.transpose() * c.forward();
        match r.engine.model.spatial().ray_cast(&r.engine.model.world, origin, dir, 100_000.0) {
            Some(hit) => frame.enu_to_ecef(hit.point),
            None => c.position + c.forward() * self.height_over_ground() * 2.0,
        }
    }

    fn orbit(&mut self, dx: f64, dy: f64, pivot: DVec3) {
        let up = self.local_up();
        let Some(cam) = self.camera.as_mut() else {
            return;
        };
        let yaw = DMat3::from_axis_angle(up, -dx * 0.005);
        let pitch = DMat3::from_axis_angle(cam.right(), -dy * 0.005);
        let rot = pitch * yaw;
        let new_forward = rot * cam.forward();
        if new_forward.dot(up).abs() > 0.995 {
            return;
        }
        cam.position = pivot + rot * (cam.position - pivot);
        cam.rotation = orthonormal(rot * cam.rotation);
    }

    fn dolly(&mut self, amount: f64) {
        let h = self.height_over_ground();
        let Some(cam) = self.camera.as_mut() else {
            return;
        };
        let (w, hgt) = self.running.as_ref().map_or((1, 1), |r| (r.config.width, r.config.height));
        let (_, dir) = cam.pixel_ray(self.cursor.0, self.cursor.1, w, hgt);
        cam.position += dir * amount * h.max(5.0) * 0.2;
    }

    fn pick_at(&mut self, x: f64, y: f64) {
        // The point under the cursor becomes the orbit's pivot (none: the view's centre).
        self.picked_point = match (&self.running, &self.camera) {
            (Some(r), Some(c)) => {
                let (origin, dir) = c.pixel_ray(x, y, r.config.width, r.config.height);
                let frame = r.engine.model.frame();
                let (o, d) = (frame.ecef_to_enu(origin), frame.enu_to_ecef_rot.transpose() * dir);
                r.engine
                    .model
                    .spatial()
                    .ray_cast(&r.engine.model.world, o, d, 100_000.0)
                    .map(|h| frame.enu_to_ecef(h.point))
            }
            _ => None,
        };
        let Some(r) = self.running.as_mut() else {
            return;
        };
        match r.engine.pick(x as u32, y as u32) {
            Ok(hit) => {
                // Select the whole building when a part is hit.
                let whole = hit.map(|e| r.engine.model.world.get::<urbis_model::PartOf>(e).map_or(e, |p| p.0));
                r.engine.select(whole);
                if let Some(e) = hit {
                    log_pick(&r.engine.model, e);
                }
            }
            Err(e) => tracing::warn!("pick failed: {e}"),
        }
    }

    /// Highlights what is under the cursor (the whole building for a part),
    /// from the last frame's feature ids; not while dragging.
    fn hover(&mut self) {
        if !std::mem::take(&mut self.hover_stale) || self.press.is_some() || self.frames == 0 {
            return;
        }
        let (x, y) = self.cursor;
        let Some(r) = self.running.as_mut() else { return };
        if x < 0.0 || y < 0.0 || x >= r.config.width as f64 || y >= r.config.height as f64 {
            r.engine.hover(None);
            return;
        }
        match r.engine.pick(x as u32, y as u32) {
            Ok(hit) => {
                let whole = hit.map(|e| r.engine.model.world.get::<urbis_model::PartOf>(e).map_or(e, |p| p.0));
                r.engine.hover(whole);
            }
            Err(e) => tracing::debug!("hover pick failed: {e}"),
        }
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        let now = Instant::now();
        let dt = (now - self.last_frame).as_secs_f64().min(0.1);
        self.last_frame = now;
        self.fps = self.fps * 0.9 + 0.1 / dt.max(1e-4);
        self.fly(dt);
        // The user's camera never passes through the ground (2 m clearance).
        if let (Some(r), Some(c)) = (&self.running, self.camera.as_mut()) {
            c.position = crate::view::above_terrain(&r.engine.model, c.position, 2.0);
        }
        if let Some(c) = self.hook.as_mut().and_then(|h| h.drive_camera()) {
            self.camera = Some(c);
        }
        self.hover();
        let Some(camera) = self.camera else { return };
        let pose = GeodeticPose::from_camera(&camera);
        let Some(r) = self.running.as_mut() else {
            return;
        };
        if let Some(h) = self.hook.as_mut() {
            h.camera(&camera, r.config.width, r.config.height);
            self.hook_lines = h.before_frame(&mut r.engine.model);
        }
        r.engine.update();
        let frame = match r.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(f) | wgpu::CurrentSurfaceTexture::Suboptimal(f) => f,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                r.surface.configure(&r.engine.ctx.device, &r.config);
                return;
            }
            _ => return,
        };
        let view = frame.texture.create_view(&wgpu::TextureViewDescriptor::default());
        // Text panels stand right of the egui layers panel (about 200 points wide).
        let left = 210.0 * r.window.scale_factor() as f32;
        let mut overlay = Overlay {
            scale: 2.0,
            panels: vec![Panel {
                x: left,
                y: 10.0,
                title: None,
                lines: vec![
                    "WASD/QE fly  left-drag look  right-drag orbit  wheel zoom  hover highlights  click pick  F frame  Esc quit".into(),
                ],
            }],
        };
        if !self.hook_lines.is_empty() {
            let y = (r.config.height as f32 - (22.0 + 10.0 * self.hook_lines.len() as f32) * overlay.scale - 40.0)
                .max(90.0);
            let title = self.hook.as_ref().map_or_else(|| "Live".into(), |h| h.title());
            overlay.panels.push(Panel { x: left, y, title: Some(title), lines: self.hook_lines.clone() });
            let labels =
                crate::label_panels(&mut r.engine.model, &camera, r.config.width, r.config.height, 30, overlay.scale);
            overlay.panels.extend(labels);
        }
        let lighting = match self.options.sun_time_ms {
            Some(ms) => crate::view::sun_lighting(&r.engine.model, &camera, ms),
            None => default_lighting(&r.engine.model, &camera),
        };
        r.engine.render(&camera, &lighting, Some(&overlay), &view, r.config.width, r.config.height);
        let info = urbis_ui::FrameInfo {
            lon: pose.lon,
            lat: pose.lat,
            height: pose.height,
            fps: self.fps,
            tiles_loading: self.hook.as_ref().and_then(|h| h.tiles()).map_or(0, |t| t.1),
            tiles_shown: self.hook.as_ref().and_then(|h| h.tiles()).map_or(0, |t| t.0),
            selected: r.engine.selected(),
        };
        let input = r.egui_input.take_egui_input(&r.window);
        let (output, actions) = r.panels.run(input, &mut r.engine.model, &info);
        r.egui_input.handle_platform_output(&r.window, output.platform_output.clone());
        let size = [r.config.width, r.config.height];
        r.panels.paint(&r.engine.ctx.device, &r.engine.ctx.queue, &view, size, output);
        for action in actions {
            match action {
                urbis_ui::UiAction::Select(e) => r.engine.select(Some(e)),
                urbis_ui::UiAction::GoTo(i) => {
                    if let Some(b) = r.panels.bookmarks().get(i) {
                        let pose = GeodeticPose {
                            lon: b.lon,
                            lat: b.lat,
                            height: b.height,
                            heading: b.heading,
                            pitch: b.pitch,
                        };
                        let mut c = pose.camera();
                        if let Some(f) = self.options.fov_deg {
                            c.fov_y = f.to_radians();
                        }
                        self.camera = Some(c);
                    }
                }
                urbis_ui::UiAction::AddBookmark(name) => {
                    let p = GeodeticPose::from_camera(&camera);
                    let mut list = r.panels.bookmarks().to_vec();
                    list.push(urbis_ui::Bookmark {
                        name,
                        lon: p.lon,
                        lat: p.lat,
                        height: p.height,
                        heading: p.heading,
                        pitch: p.pitch,
                    });
                    if let Some(path) = &self.options.bookmarks
                        && let Err(e) = urbis_ui::write_bookmarks(path, &list)
                    {
                        tracing::warn!("bookmark not saved: {e}");
                    }
                    r.panels.set_bookmarks(list);
                }
                urbis_ui::UiAction::FlyTo(e) => {
                    if let Some(b) = r.engine.model.world.get::<urbis_model::Bounds>(e).copied() {
                        let target = b.center();
                        let reach = (b.max - b.min).length().max(30.0) * 1.5;
                        let eye = target + DVec3::new(0.0, -reach, reach * 0.8);
                        let f = r.engine.model.frame();
                        self.camera = Some(Camera::look_at(
                            f.enu_to_ecef(eye),
                            f.enu_to_ecef(target),
                            f.enu_to_ecef_rot * DVec3::Z,
                        ));
                    }
                }
            }
        }
        self.frames += 1;
        self.summary = ViewSummary { frames: self.frames, width: r.config.width, height: r.config.height };
        let last = self.options.max_frames.is_some_and(|m| self.frames >= m)
            || self.hook.as_ref().is_some_and(|h| h.finished());
        if last
            && let Some(path) = &self.options.screenshot
            && let Err(e) = save_frame(&r.engine.ctx, &frame.texture, path)
        {
            self.error = Some(e);
        }
        r.engine.ctx.queue.present(frame);
        if last {
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

fn orthonormal(m: DMat3) -> DMat3 {
    let z = m.z_axis.normalize();
    let x = m.y_axis.cross(z).normalize();
    let y = z.cross(x);
    DMat3::from_cols(x, y, z)
}

fn log_pick(model: &CityModel, e: Entity) {
    if let Some(d) = model.describe(e) {
        tracing::info!("picked {}", d);
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
        // The panels take the input they are over (typing, clicks on them) first.
        if let Some(r) = self.running.as_mut() {
            let response = r.egui_input.on_window_event(&r.window, &event);
            let passes =
                matches!(event, WindowEvent::RedrawRequested | WindowEvent::Resized(_) | WindowEvent::CloseRequested);
            if response.consumed && !passes {
                self.press = None;
                return;
            }
        }
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                if let Some(r) = self.running.as_mut()
                    && size.width > 0
                    && size.height > 0
                {
                    r.config.width = size.width;
                    r.config.height = size.height;
                    r.surface.configure(&r.engine.ctx.device, &r.config);
                }
            }
            WindowEvent::KeyboardInput { event, .. } => {
                let PhysicalKey::Code(code) = event.physical_key else {
                    return;
                };
                match event.state {
                    ElementState::Pressed => {
                        match code {
                            KeyCode::Escape => event_loop.exit(),
                            KeyCode::KeyF => {
                                if let Some(r) = &self.running {
                                    let mut c = default_camera(&r.engine.model);
                                    if let Some(f) = self.options.fov_deg {
                                        c.fov_y = f.to_radians();
                                    }
                                    self.camera = Some(c);
                                }
                            }
                            other => {
                                if let (Some(h), Some(r)) = (self.hook.as_mut(), self.running.as_mut()) {
                                    h.key(&format!("{other:?}"), &mut r.engine.model);
                                }
                            }
                        }
                        self.keys.insert(code);
                    }
                    ElementState::Released => {
                        self.keys.remove(&code);
                    }
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                let (dx, dy) = (position.x - self.cursor.0, position.y - self.cursor.1);
                self.cursor = (position.x, position.y);
                self.hover_stale = true;
                if let Some((button, start, dragged)) = self.press {
                    let moved = dragged || (position.x - start.0).hypot(position.y - start.1) > 4.0;
                    self.press = Some((button, start, moved));
                    if moved {
                        match button {
                            MouseButton::Left => self.look(dx, dy),
                            MouseButton::Right | MouseButton::Middle => {
                                let p = self.pivot();
                                self.orbit(dx, dy, p);
                            }
                            _ => {}
                        }
                    }
                }
            }
            WindowEvent::MouseInput { state, button, .. } => match state {
                ElementState::Pressed => self.press = Some((button, self.cursor, false)),
                ElementState::Released => {
                    if let Some((MouseButton::Left, _, false)) = self.press {
                        let (x, y) = self.cursor;
                        self.pick_at(x, y);
                    }
                    self.press = None;
                }
            },
            WindowEvent::MouseWheel { delta, .. } => {
                let amount = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y as f64,
                    MouseScrollDelta::PixelDelta(p) => p.y / 40.0,
                };
                self.dolly(amount);
            }
            WindowEvent::RedrawRequested => self.redraw(event_loop),
            _ => {}
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(r) = &self.running {
            r.window.request_redraw();
        }
    }
}
