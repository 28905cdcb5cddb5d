//! The viewer's state and behaviour, apart from any window: camera
//! navigation, picking and hover, the tools (measurement, section), the
//! egui panels and their actions, and one frame into any texture view.
//!
//! ```text
//! window events (winit) ─┐                    ┌─► Engine::render (city + overlay)
//! script steps ──────────┴─► Input ─► ViewerCore ─► Panels::run / paint (egui)
//!                          egui::Event ──────┘  └─► report (picks, measurements)
//! ```
//!
//! The window ([`crate::window`]) and the scripted offscreen runner
//! ([`crate::script`]) both drive this one type, so a script replays what a
//! user does through the same code.

mod actions;

use std::collections::HashSet;

use bevy_ecs::prelude::Entity;
use glam::{DMat3, DVec3};
use urbis_render::{Camera, Overlay, Panel};
use urbis_ui::Tool;

use crate::measure::{MeasureKind, Measurement};
use crate::view::{GeodeticPose, default_camera, default_lighting};
use crate::{Engine, FrameHook, ViewOptions};

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Button {
    Left,
    Right,
    Middle,
}

/// Input to the 3D view (what the panels did not take).
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A key by its winit `KeyCode` name ("KeyW", "Enter", "Escape").
    KeyDown(String),
    KeyUp(String),
    /// The cursor, physical pixels from the top left.
    CursorMoved(f64, f64),
    ButtonDown(Button),
    ButtonUp(Button),
    /// Wheel lines (positive: towards the scene).
    Wheel(f64),
}

/// Something the viewer did that a script's report lists.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ViewerEvent {
    /// A click hit this feature (its GUID), or nothing, and selected it (its
    /// building, for a part).
    Pick { frame: u64, feature_id: Option<String>, selected: Option<String>, x: f64, y: f64 },
    /// A measurement finished: its kind, points (city ENU, metres) and figures.
    Measurement { frame: u64, kind: MeasureKind, points: Vec<[f64; 3]>, lines: Vec<String>, figures: [f64; 5] },
    /// The camera flew to a feature.
    FlyTo { frame: u64, feature_id: Option<String> },
    /// A search ran and found this many features.
    Search { frame: u64, query: String, hits: usize },
    /// The timeline showed this time (none: live); the selected feature's
    /// sensors then read these values.
    Scrub { frame: u64, at_ms: Option<i64>, readings: Vec<(String, Option<f64>)> },
    /// The comparison's mode changed.
    Mode { frame: u64, mode: usize },
    /// Photo meshes and tilesets are pressed down inside this ring (city
    /// ENU, metres) to this height.
    Flatten { frame: u64, ring: Vec<[f64; 2]>, height: f64 },
}

/// The viewer apart from its window.
pub struct ViewerCore {
    pub engine: Engine,
    pub panels: urbis_ui::Panels,
    pub camera: Camera,
    options: ViewOptions,
    width: u32,
    height: u32,
    /// Physical pixels per egui point.
    scale_factor: f32,
    keys: HashSet<String>,
    cursor: (f64, f64),
    press: Option<(Button, (f64, f64), bool)>,
    frames: u64,
    fps: f64,
    hook: Option<Box<dyn FrameHook>>,
    hook_lines: Vec<String>,
    /// The cursor moved since the hovered feature was last looked up.
    hover_stale: bool,
    /// The picked point (ECEF): the right-drag orbit turns about it.
    picked_point: Option<DVec3>,
    tool: Tool,
    /// The measurement being made, and those made.
    measuring: Option<Measurement>,
    measured: Vec<Measurement>,
    /// The real sun's time lighting the view (Unix ms), or none: a fixed afternoon.
    sun_ms: Option<i64>,
    /// Two modes of the hook shown at once (swipe, side by side).
    compare: urbis_ui::CompareSettings,
    /// The section's centre (city ENU), fixed while the section is on.
    section_centre: Option<DVec3>,
    /// The style in force (the `--style` file or the editor's), and the
    /// features spawned when it was last applied (streamed tiles add more).
    style: Option<urbis_model::style::StyleFile>,
    style_spawned: u64,
    /// Panels and overlay hidden (key H): the bare city, as `urbis render` draws it.
    ui_hidden: bool,
    /// Viewer time, seconds (fixed steps under a script).
    time: f64,
    /// The tour being recorded (key K), and when its last pose was taken.
    recorded: Vec<crate::tour::TourPose>,
    recorded_at: f64,
    /// The tour playing, and when it started.
    playing: Option<(Vec<crate::tour::TourPose>, f64)>,
    exit: bool,
    events: Vec<ViewerEvent>,
}

impl ViewerCore {
    /// A viewer of `engine` drawing `width` × `height` pixels at `scale_factor` pixels per point.
    pub fn new(
        engine: Engine,
        options: ViewOptions,
        hook: Option<Box<dyn FrameHook>>,
        (width, height): (u32, u32),
        scale_factor: f32,
    ) -> Self {
        let mut camera = match options.camera {
            Some(p) => p.camera(),
            None => default_camera(&engine.model),
        };
        if let Some(f) = options.fov_deg {
            camera.fov_y = f.to_radians();
        }
        let mut panels = urbis_ui::Panels::new(&engine.ctx.device, engine.renderer.output_format());
        if let Some(ms) = options.sun_time_ms {
            let lon = GeodeticPose::from_camera(&camera).lon;
            panels.sun = urbis_ui::sun::SunPanel::at(ms, (lon / 15.0).round() as i32);
        }
        panels.style_editor = urbis_ui::StyleEditor::new(options.style.clone());
        // The file was applied when the city loaded; tiles streamed later get it too.
        let style = options.style.as_deref().and_then(|p| urbis_model::style::read_style(p).ok());
        if let Some(path) = &options.bookmarks {
            match urbis_ui::read_bookmarks(path) {
                Ok(list) => panels.set_bookmarks(list),
                // The viewer keeps running without them.
                Err(e) => tracing::warn!("bookmarks not loaded: {e}"),
            }
        }
        let playing = options.tour.clone().filter(|t| !t.is_empty()).map(|t| (t, 0.0));
        let sun_ms = options.sun_time_ms;
        Self {
            playing,
            engine,
            panels,
            camera,
            options,
            width: width.max(1),
            height: height.max(1),
            scale_factor: scale_factor.max(0.1),
            keys: HashSet::new(),
            cursor: (0.0, 0.0),
            press: None,
            frames: 0,
            fps: 0.0,
            hook,
            hook_lines: Vec::new(),
            hover_stale: false,
            picked_point: None,
            tool: Tool::Pick,
            measuring: None,
            measured: Vec::new(),
            section_centre: None,
            compare: urbis_ui::CompareSettings::default(),
            sun_ms,
            style_spawned: 0,
            ui_hidden: false,
            time: 0.0,
            recorded: Vec::new(),
            recorded_at: 0.0,
            style,
            exit: false,
            events: Vec::new(),
        }
    }

    pub fn resize(&mut self, width: u32, height: u32) {
        (self.width, self.height) = (width.max(1), height.max(1));
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Physical pixels per panel point.
    pub fn scale_factor(&self) -> f32 {
        self.scale_factor
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Whether the hook has work running in the background (a scenario run).
    pub fn busy(&self) -> bool {
        self.hook.as_ref().is_some_and(|h| h.busy())
    }

    /// Whether the viewer asked to close (Esc, a finished tour).
    pub fn wants_exit(&self) -> bool {
        self.exit
    }

    /// What the viewer did so far (picks, measurements, fly-tos, searches).
    pub fn events(&self) -> &[ViewerEvent] {
        &self.events
    }

    /// Whether (x, y), physical pixels, lies on a panel.
    pub fn on_panels(&self, x: f64, y: f64) -> bool {
        !self.ui_hidden && self.panels.covers(x as f32 / self.scale_factor, y as f32 / self.scale_factor)
    }

    /// Appends the current view to the tour being recorded, reached in the
    /// viewer time since the last pose, and writes the tour file.
    fn record_tour_pose(&mut self) {
        let Some(path) = self.options.record_tour.clone() else {
            tracing::info!("K records a tour pose with --record-tour FILE");
            return;
        };
        let duration = if self.recorded.is_empty() { 0.0 } else { (self.time - self.recorded_at).max(0.1) };
        self.recorded_at = self.time;
        let pose = GeodeticPose::from_camera(&self.camera);
        self.recorded.push(crate::tour::TourPose::from_pose(pose, duration));
        match crate::tour::write_tour(&path, &self.recorded) {
            Ok(()) => tracing::info!("tour: {} poses in {}", self.recorded.len(), path.display()),
            Err(e) => tracing::warn!("tour not saved: {e}"),
        }
    }

    /// Input to the 3D view.
    pub fn input(&mut self, input: Input) {
        match input {
            Input::KeyDown(code) => {
                match code.as_str() {
                    "Escape" => {
                        if self.measuring.is_some() {
                            self.measuring = None;
                        } else {
                            self.exit = true;
                        }
                    }
                    "KeyF" => {
                        let mut c = default_camera(&self.engine.model);
                        if let Some(f) = self.options.fov_deg {
                            c.fov_y = f.to_radians();
                        }
                        self.camera = c;
                    }
                    "Enter" | "NumpadEnter" => self.finish_measurement(),
                    "KeyH" => self.ui_hidden = !self.ui_hidden,
                    "KeyK" => self.record_tour_pose(),
                    other => {
                        if let Some(h) = self.hook.as_mut() {
                            h.key(other, &mut self.engine.model);
                        }
                    }
                }
                self.keys.insert(code);
            }
            Input::KeyUp(code) => {
                self.keys.remove(&code);
            }
            Input::CursorMoved(x, y) => {
                let (dx, dy) = (x - self.cursor.0, y - self.cursor.1);
                self.cursor = (x, y);
                self.hover_stale = true;
                if let Some((button, start, dragged)) = self.press {
                    let moved = dragged || (x - start.0).hypot(y - start.1) > 4.0;
                    self.press = Some((button, start, moved));
                    if moved {
                        match button {
                            Button::Left => self.look(dx, dy),
                            Button::Right | Button::Middle => {
                                let p = self.pivot();
                                self.orbit(dx, dy, p);
                            }
                        }
                    }
                }
            }
            Input::ButtonDown(b) => self.press = Some((b, self.cursor, false)),
            Input::ButtonUp(_) => {
                if let Some((Button::Left, _, false)) = self.press {
                    let (x, y) = self.cursor;
                    self.click(x, y);
                }
                self.press = None;
            }
            Input::Wheel(amount) => self.dolly(amount),
        }
    }

    /// Forgets a press the panels took (its release goes to them too).
    pub fn cancel_press(&mut self) {
        self.press = None;
    }

    fn local_up(&self) -> DVec3 {
        self.engine.model.frame().enu_to_ecef_rot.z_axis
    }

    /// Height of the camera over the lowest ground of the model, metres.
    fn height_over_ground(&self) -> f64 {
        let enu = self.engine.model.frame().ecef_to_enu(self.camera.position);
        let ground = self.engine.model.bounds().min.z;
        (enu.z - if ground.is_finite() { ground } else { 0.0 }).max(1.0)
    }

    fn fly(&mut self, dt: f64) {
        let up = self.local_up();
        let fast = self.keys.contains("ShiftLeft") || self.keys.contains("ShiftRight");
        let speed = self.height_over_ground().max(5.0) * if fast { 3.0 } else { 0.8 };
        let cam = &mut self.camera;
        let fwd = cam.forward() - up * cam.forward().dot(up);
        let fwd = if fwd.length() > 1e-6 { fwd.normalize() } else { cam.up() };
        let right = cam.right();
        let mut v = DVec3::ZERO;
        for (k, d) in [("KeyW", fwd), ("KeyS", -fwd), ("KeyD", right), ("KeyA", -right), ("KeyE", up), ("KeyQ", -up)] {
            if self.keys.contains(k) {
                v += d;
            }
        }
        if v != DVec3::ZERO {
            cam.position += v.normalize() * speed * dt;
        }
    }

    fn look(&mut self, dx: f64, dy: f64) {
        let up = self.local_up();
        let cam = &mut self.camera;
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
        self.centre_point()
            .unwrap_or_else(|| self.camera.position + self.camera.forward() * self.height_over_ground() * 2.0)
    }

    /// The city surface under the screen centre (ECEF).
    fn centre_point(&self) -> Option<DVec3> {
        let c = &self.camera;
        let frame = self.engine.model.frame();
        let origin = frame.ecef_to_enu(c.position);
        let dir = frame.enu_to_ecef_rot.transpose() * c.forward();
        let hit = self.engine.model.spatial().ray_cast(&self.engine.model.world, origin, dir, 100_000.0)?;
        Some(frame.enu_to_ecef(hit.point))
    }

    fn orbit(&mut self, dx: f64, dy: f64, pivot: DVec3) {
        let up = self.local_up();
        let cam = &mut self.camera;
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
        let (_, dir) = self.camera.pixel_ray(self.cursor.0, self.cursor.1, self.width, self.height);
        self.camera.position += dir * amount * h.max(5.0) * 0.2;
    }

    /// A click in the 3D view: a measured point under a measuring tool, else a pick.
    fn click(&mut self, x: f64, y: f64) {
        if let Some(kind) = measure_kind(self.tool) {
            let hit = crate::measure::surface_point(&self.engine.model, &self.camera, x, y, self.width, self.height);
            if let Some((p, _)) = hit {
                let m = self.measuring.get_or_insert_with(|| Measurement::new(kind));
                if m.add(p) {
                    self.finish_measurement();
                }
            }
            return;
        }
        self.pick_at(x, y);
    }

    fn finish_measurement(&mut self) {
        let Some(mut m) = self.measuring.take() else { return };
        m.finish();
        if self.tool == Tool::Flatten {
            if m.points.len() >= 3 {
                let height = m.points.iter().map(|p| p.z).fold(f64::INFINITY, f64::min);
                let ring: Vec<glam::DVec2> = m.points.iter().map(|p| p.truncate()).collect();
                let mut all = self.engine.flatten().to_vec();
                all.push(urbis_render::FlattenPolygon { ring: ring.clone(), height });
                self.engine.set_flatten(all);
                let ring = ring.iter().map(|p| p.to_array()).collect();
                self.events.push(ViewerEvent::Flatten { frame: self.frames, ring, height });
            }
            return;
        }
        let f = m.figures();
        self.events.push(ViewerEvent::Measurement {
            frame: self.frames,
            kind: m.kind,
            points: m.points.iter().map(|p| p.to_array()).collect(),
            lines: m.lines(),
            figures: [f.length, f.horizontal, f.vertical, f.area_horizontal, f.area_surface],
        });
        tracing::info!("measured {}: {}", m.kind.name(), m.lines().join(", "));
        self.measured.push(m);
    }

    fn pick_at(&mut self, x: f64, y: f64) {
        // The point under the cursor becomes the orbit's pivot (none: the view's centre).
        let (origin, dir) = self.camera.pixel_ray(x, y, self.width, self.height);
        let frame = self.engine.model.frame();
        let (o, d) = (frame.ecef_to_enu(origin), frame.enu_to_ecef_rot.transpose() * dir);
        self.picked_point = self
            .engine
            .model
            .spatial()
            .ray_cast(&self.engine.model.world, o, d, 100_000.0)
            .map(|h| frame.enu_to_ecef(h.point));
        if x < 0.0 || y < 0.0 {
            return;
        }
        match self.engine.pick(x as u32, y as u32) {
            Ok(hit) => {
                // Select the whole building when a part is hit.
                let whole = hit.map(|e| self.engine.model.world.get::<urbis_model::PartOf>(e).map_or(e, |p| p.0));
                self.engine.select(whole);
                if let Some(e) = hit
                    && let Some(d) = self.engine.model.describe(e)
                {
                    tracing::info!("picked {d}");
                }
                let feature_id = hit.and_then(|e| self.guid(e));
                let selected = whole.and_then(|e| self.guid(e));
                self.events.push(ViewerEvent::Pick { frame: self.frames, feature_id, selected, x, y });
            }
            Err(e) => tracing::warn!("pick failed: {e}"),
        }
    }

    fn guid(&self, e: Entity) -> Option<String> {
        self.engine.model.world.get::<urbis_model::FeatureId>(e).map(|id| id.guid.clone())
    }

    /// Highlights what is under the cursor (the whole building for a part),
    /// from the last frame's feature ids; not while dragging.
    fn hover(&mut self) {
        if !std::mem::take(&mut self.hover_stale) || self.press.is_some() || self.frames == 0 {
            return;
        }
        let (x, y) = self.cursor;
        if x < 0.0 || y < 0.0 || x >= f64::from(self.width) || y >= f64::from(self.height) || self.on_panels(x, y) {
            self.engine.hover(None);
            return;
        }
        match self.engine.pick(x as u32, y as u32) {
            Ok(hit) => {
                let whole = hit.map(|e| self.engine.model.world.get::<urbis_model::PartOf>(e).map_or(e, |p| p.0));
                self.engine.hover(whole);
            }
            Err(e) => tracing::debug!("hover pick failed: {e}"),
        }
    }

    /// Moves the camera by the keys held for `dt` seconds, runs the hooks and
    /// renders the frame and the panels into `target` (`width` × `height`;
    /// `COPY_DST` for comparisons).
    pub fn frame(&mut self, dt: f64, target: &wgpu::Texture, input: egui::RawInput) -> egui::PlatformOutput {
        let view = &target.create_view(&Default::default());
        self.fps = self.fps * 0.9 + 0.1 / dt.max(1e-4);
        self.time += dt;
        self.fly(dt);
        // The user's camera never passes through the ground (2 m clearance).
        self.camera.position = crate::view::above_terrain(&self.engine.model, self.camera.position, 2.0);
        if let Some(c) = self.hook.as_mut().and_then(|h| h.drive_camera()) {
            self.camera = c;
        }
        if let Some((tour, start)) = &mut self.playing {
            // The first frame shows the first pose; the tour runs on viewer time.
            if self.frames == 0 {
                *start = self.time;
            }
            let t = self.time - *start;
            if let Some(p) = crate::tour::pose_at(tour, t) {
                let fov = self.camera.fov_y;
                self.camera = p.camera();
                self.camera.fov_y = fov;
            }
            if t > crate::tour::duration(tour) {
                self.playing = None;
            }
        }
        self.hover();
        let camera = self.camera;
        let pose = GeodeticPose::from_camera(&camera);
        let (width, height) = (self.width, self.height);
        if let Some(h) = self.hook.as_mut() {
            h.advance(dt);
            h.camera(&camera, width, height);
            self.hook_lines = h.before_frame(&mut self.engine.model);
        }
        let spawned = self.engine.model.features().spawned();
        if spawned != self.style_spawned {
            // New features (streamed tiles) take the style in force, and the layer settings.
            self.style_spawned = spawned;
            if let Some(style) = &self.style {
                style.apply(&mut self.engine.model);
            }
            self.apply_layer_state();
        }
        self.engine.update();
        let overlay = (!self.ui_hidden).then(|| self.overlay(&camera));
        let mut lighting = match self.sun_ms {
            Some(ms) => crate::view::sun_lighting(&self.engine.model, &camera, ms),
            None => default_lighting(&self.engine.model, &camera),
        };
        lighting.antialias = self.options.antialias;
        let modes = self.hook.as_ref().and_then(|h| h.modes());
        match (self.hook.as_mut(), &modes) {
            (Some(hook), Some((_, shown))) if self.compare.layout != urbis_ui::CompareLayout::Off => {
                let c = self.compare;
                crate::compare::render(
                    &mut self.engine,
                    hook.as_mut(),
                    &c,
                    *shown,
                    &camera,
                    &lighting,
                    target,
                    (width, height),
                );
                // The line and the sides' names are part of the overlay (hidden with it).
                if let Some(mut over) = overlay.clone() {
                    actions::compare_marks(
                        &mut over,
                        &c,
                        modes.as_ref().map(|m| m.0.as_slice()).unwrap_or_default(),
                        width,
                        height,
                    );
                    self.engine.render_overlay(&over, view, width, height);
                }
            }
            _ => {
                self.engine.render(&camera, &lighting, overlay.as_ref(), view, width, height);
            }
        }
        if self.ui_hidden {
            self.frames += 1;
            self.check_end();
            return egui::PlatformOutput::default();
        }
        let measurement = match &self.measuring {
            Some(m) => m.lines(),
            None => self.measured.last().filter(|m| Some(m.kind) == measure_kind(self.tool)).map_or_else(
                || measure_kind(self.tool).map(|k| Measurement::new(k).lines()).unwrap_or_default(),
                Measurement::lines,
            ),
        };
        let tiles = self.hook.as_ref().and_then(|h| h.tiles());
        let info = urbis_ui::FrameInfo {
            lon: pose.lon,
            lat: pose.lat,
            height: pose.height,
            fps: self.fps,
            tiles_loading: tiles.map_or(0, |t| t.1),
            tiles_shown: tiles.map_or(0, |t| t.0),
            selected: self.engine.selected(),
            tool: self.tool,
            measurement,
            timeline: self.hook.as_ref().and_then(|h| h.timeline()),
            modes: modes.as_ref().map(|m| m.0.clone()).unwrap_or_default(),
            mode: modes.as_ref().map_or(0, |m| m.1),
            scenario: if self.hook.as_ref().is_some_and(|h| h.title().contains("Scenario")) {
                self.hook_lines.clone()
            } else {
                Vec::new()
            },
            utc_offset_h: (pose.lon / 15.0).round() as i32,
            antialias: self.options.antialias,
            imagery: self.options.imagery.iter().map(|l| (l.source.name(), l.visible, l.opacity)).collect(),
            impacts: match (self.hook.as_ref(), self.engine.selected()) {
                (Some(h), Some(e)) => h.impacts(&self.engine.model, e),
                _ => Vec::new(),
            },
        };
        let (output, actions) = self.panels.run(input, &mut self.engine.model, &info);
        let platform = output.platform_output.clone();
        let device = self.engine.ctx.device.clone();
        let queue = self.engine.ctx.queue.clone();
        self.panels.paint(&device, &queue, view, [width, height], output);
        for action in actions {
            self.ui_action(action);
        }
        self.frames += 1;
        self.check_end();
        platform
    }

    fn check_end(&mut self) {
        if self.options.max_frames.is_some_and(|m| self.frames >= m) || self.hook.as_ref().is_some_and(|h| h.finished())
        {
            self.exit = true;
        }
    }

    /// What is drawn over the city: the key help, the hooks' panel and
    /// labels, and the measurements with their figures.
    fn overlay(&mut self, camera: &Camera) -> Overlay {
        let (width, height) = (self.width, self.height);
        // Text panels stand right of the egui layers panel (about 200 points wide).
        let left = 210.0 * self.scale_factor;
        let mut overlay = Overlay {
            scale: 2.0,
            panels: vec![Panel {
                x: left,
                y: 10.0,
                title: None,
                lines: vec![
                    "WASD/QE fly  drag look  right-drag orbit  wheel zoom  click pick/measure  F frame  Esc quit"
                        .into(),
                ],
            }],
            ..Default::default()
        };
        if !self.hook_lines.is_empty() {
            // Above the status line, and above the timeline where there is one.
            let timeline = if self.hook.as_ref().is_some_and(|h| h.timeline().is_some()) { 150.0 } else { 0.0 };
            let bottom = height as f32 - 40.0 - timeline * self.scale_factor;
            let y = (bottom - (22.0 + 10.0 * self.hook_lines.len() as f32) * overlay.scale).max(90.0);
            let title = self.hook.as_ref().map_or_else(|| "Live".into(), |h| h.title());
            overlay.panels.push(Panel { x: left, y, title: Some(title), lines: self.hook_lines.clone() });
            let labels = crate::label_panels(&mut self.engine.model, camera, width, height, 30, overlay.scale);
            overlay.panels.extend(labels);
        }
        overlay.lines.extend(self.section_outline(camera));
        for m in self.measured.iter().chain(&self.measuring) {
            let (lines, panel) = m.overlay(&self.engine.model, camera, width, height, 1.0);
            overlay.lines.extend(lines);
            overlay.panels.extend(panel);
        }
        overlay
    }
}

fn measure_kind(tool: Tool) -> Option<MeasureKind> {
    match tool {
        Tool::Pick => None,
        Tool::Distance => Some(MeasureKind::Distance),
        Tool::Polyline => Some(MeasureKind::Polyline),
        Tool::Area => Some(MeasureKind::Area),
        Tool::Height => Some(MeasureKind::Height),
        Tool::Flatten => Some(MeasureKind::Area),
    }
}

fn orthonormal(m: DMat3) -> DMat3 {
    let z = m.z_axis.normalize();
    let x = m.y_axis.cross(z).normalize();
    let y = z.cross(x);
    DMat3::from_cols(x, y, z)
}
