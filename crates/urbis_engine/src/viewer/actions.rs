//! What the viewer does for the panels' actions: selection and fly-to,
//! bookmarks, tools, sections, comparisons, styles, imagery, the sun and
//! scenario runs; and the overlay marks those leave (section outline,
//! comparison line).

use glam::DVec3;
use urbis_render::{Camera, Overlay, Panel};
use urbis_ui::{Tool, UiAction};

use super::{ViewerCore, ViewerEvent};
use crate::view::GeodeticPose;

impl ViewerCore {
    /// Does what a panel asked.
    pub fn ui_action(&mut self, action: UiAction) {
        match action {
            UiAction::Select(e) => self.engine.select(Some(e)),
            UiAction::GoTo(i) => {
                if let Some(b) = self.panels.bookmarks().get(i) {
                    let pose =
                        GeodeticPose { lon: b.lon, lat: b.lat, height: b.height, heading: b.heading, pitch: b.pitch };
                    let mut c = pose.camera();
                    if let Some(f) = self.options.fov_deg {
                        c.fov_y = f.to_radians();
                    }
                    self.camera = c;
                }
            }
            UiAction::AddBookmark(name) => {
                let p = GeodeticPose::from_camera(&self.camera);
                let mut list = self.panels.bookmarks().to_vec();
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
                self.panels.set_bookmarks(list);
            }
            UiAction::FlyTo(e) => {
                if let Some(b) = self.engine.model.world.get::<urbis_model::Bounds>(e).copied() {
                    let target = b.center();
                    let reach = (b.max - b.min).length().max(30.0) * 1.5;
                    let eye = target + DVec3::new(0.0, -reach, reach * 0.8);
                    let f = self.engine.model.frame();
                    let mut c =
                        Camera::look_at(f.enu_to_ecef(eye), f.enu_to_ecef(target), f.enu_to_ecef_rot * DVec3::Z);
                    c.fov_y = self.camera.fov_y;
                    self.camera = c;
                    self.picked_point = Some(f.enu_to_ecef(target));
                }
                self.events.push(ViewerEvent::FlyTo { frame: self.frames, feature_id: self.guid(e) });
            }
            UiAction::Tool(t) => {
                if self.tool != t {
                    self.measuring = None;
                }
                self.tool = t;
            }
            UiAction::FinishMeasurement => self.finish_measurement(),
            UiAction::ClearMeasurements => {
                self.measuring = None;
                if self.tool == Tool::Flatten {
                    self.engine.set_flatten(Vec::new());
                } else {
                    self.measured.clear();
                }
            }
            UiAction::Section(s) => self.set_section(s),
            UiAction::ApplyStyle(style) => self.restyle(*style),
            UiAction::Scrub(at) => {
                if let Some(h) = self.hook.as_mut() {
                    h.scrub(at, &mut self.engine.model);
                }
                let readings = match self.engine.selected() {
                    Some(e) => urbis_ui::timeline::series_of(&mut self.engine.model, e, at)
                        .into_iter()
                        .map(|s| (s.label, s.latest))
                        .collect(),
                    None => Vec::new(),
                };
                self.events.push(ViewerEvent::Scrub { frame: self.frames, at_ms: at, readings });
            }
            UiAction::Sun(ms) => self.sun_ms = ms,
            UiAction::Antialias(on) => self.options.antialias = on,
            UiAction::Imagery { index, visible, opacity } => self.restyle_imagery(index, visible, opacity),
            UiAction::RunScenario(path) => {
                if let Some(h) = self.hook.as_mut() {
                    h.open_scenario(&path, &mut self.engine.model);
                }
            }
            UiAction::Compare(c) => {
                self.compare = c;
                self.panels.set_compare(c);
            }
            UiAction::Mode(i) => {
                if let Some(h) = self.hook.as_mut() {
                    h.set_mode(i, &mut self.engine.model);
                }
                self.events.push(ViewerEvent::Mode { frame: self.frames, mode: i });
            }
        }
    }

    /// Replaces the style in force: every feature's colour, visibility,
    /// opacity and extrusion go back to as modelled, then the style and the
    /// layers panel's settings apply.
    pub fn restyle(&mut self, style: urbis_model::style::StyleFile) {
        let mut q = self.engine.model.world.query::<&mut urbis_model::FeatureStyle>();
        for mut s in q.iter_mut(&mut self.engine.model.world) {
            s.color_override = None;
            s.visible = true;
            s.opacity = 1.0;
            s.height_scale = 1.0;
        }
        let counts = style.apply(&mut self.engine.model);
        tracing::info!("restyled: {counts:?} features per rule, ramp and extrusion");
        self.style = Some(style);
        self.apply_layer_state();
    }

    /// Shows or hides an imagery layer, or sets its opacity, and drapes the
    /// layers again (failures are logged; the ground keeps what drapes).
    fn restyle_imagery(&mut self, index: usize, visible: bool, opacity: f32) {
        let Some(layer) = self.options.imagery.get_mut(index) else { return };
        layer.visible = visible;
        layer.opacity = opacity.clamp(0.0, 1.0);
        if let Some(g) = &self.options.terrain {
            g.set_layers(self.options.imagery.clone());
            return;
        }
        match urbis_model::imagery::drape(&mut self.engine.model, &self.options.imagery, self.options.imagery_texel) {
            Ok(report) => {
                for l in &report.layers {
                    for f in &l.failures {
                        tracing::warn!("imagery {}: {f}", l.name);
                    }
                }
            }
            Err(e) => tracing::warn!("imagery not draped: {e}"),
        }
    }

    pub(super) fn apply_layer_state(&mut self) {
        let (hidden, opacity) = self.panels.layer_state();
        for class in hidden {
            urbis_ui::set_class_visible(&mut self.engine.model, &class, false);
        }
        for (class, o) in opacity {
            urbis_ui::set_class_opacity(&mut self.engine.model, &class, o);
        }
    }

    /// Runs a search as the panel's field does, and records it.
    pub fn search(&mut self, query: &str) {
        self.panels.search(&mut self.engine.model, query);
        let hits = self.panels.hits().len();
        self.events.push(ViewerEvent::Search { frame: self.frames, query: query.into(), hits });
    }

    /// Cuts the city as the section tool says: a horizontal plane `height`
    /// metres over the ground (what is above goes), or a box about the
    /// view's pivot from the ground up to that height (what is outside goes).
    fn set_section(&mut self, s: urbis_ui::SectionSettings) {
        use urbis_render::{Section, SectionStyle};
        use urbis_ui::SectionMode;
        let frame = *self.engine.model.frame();
        let ground = self.engine.model.bounds().min.z;
        let ground = if ground.is_finite() { ground } else { 0.0 };
        if s.mode == SectionMode::Off {
            self.section_centre = None;
            self.engine.set_section(None);
            return;
        }
        let centre = match self.section_centre {
            Some(c) => c,
            None => frame.ecef_to_enu(self.pivot()),
        };
        self.section_centre = Some(centre);
        let top = ground + s.height.max(0.1);
        let section = match s.mode {
            SectionMode::Plane => Section::Plane {
                point: frame.enu_to_ecef(DVec3::new(centre.x, centre.y, top)),
                normal: -frame.enu_to_ecef_rot.z_axis,
            },
            _ => {
                // From a metre under the ground (so the ground is cut, not capped) to the top.
                let (lo, hi) = (ground - 1.0, top);
                let half = s.half_width.max(0.5);
                Section::Box {
                    centre: frame.enu_to_ecef(DVec3::new(centre.x, centre.y, (lo + hi) / 2.0)),
                    axes: frame.enu_to_ecef_rot,
                    half: DVec3::new(half, half, (hi - lo) / 2.0),
                }
            }
        };
        self.engine.set_section(Some(SectionStyle::new(section)));
    }

    /// The section box's edges, or the plane's square about the centre, as
    /// overlay lines.
    pub(super) fn section_outline(&self, camera: &Camera) -> Vec<urbis_render::OverlayLine> {
        use urbis_render::Section;
        let Some(style) = self.engine.section() else { return Vec::new() };
        let frame = self.engine.model.frame();
        let corners: Vec<DVec3> = match style.section {
            Section::Box { centre, axes, half } => (0..8)
                .map(|i| {
                    let sign = |bit: usize| if i & bit == 0 { -1.0 } else { 1.0 };
                    let p = centre + axes * DVec3::new(sign(1) * half.x, sign(2) * half.y, sign(4) * half.z);
                    frame.ecef_to_enu(p)
                })
                .collect(),
            Section::Plane { .. } => return Vec::new(),
        };
        let edges = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)];
        edges
            .iter()
            .filter_map(|&(a, b)| {
                let (p, q) = crate::measure::segment_on_screen(
                    &self.engine.model,
                    camera,
                    corners[a],
                    corners[b],
                    self.width,
                    self.height,
                )?;
                Some(urbis_render::OverlayLine {
                    points: vec![p, q],
                    closed: false,
                    width: 1.5,
                    color: [0.95, 0.35, 0.15, 0.9],
                    markers: false,
                })
            })
            .collect()
    }
}

/// The comparison's dividing line and the names of the two sides.
pub(super) fn compare_marks(
    overlay: &mut Overlay,
    c: &urbis_ui::CompareSettings,
    modes: &[String],
    width: u32,
    height: u32,
) {
    let x = crate::compare::split_column(c, width) as f32;
    overlay.lines.push(urbis_render::OverlayLine {
        points: vec![[x, 0.0], [x, height as f32]],
        closed: false,
        width: 2.0,
        color: [1.0, 1.0, 1.0, 0.9],
        markers: false,
    });
    let name = |i: usize| modes.get(i).cloned().unwrap_or_else(|| format!("mode {i}"));
    let (w, _) =
        urbis_render::panel_size(&Panel { x: 0.0, y: 0.0, title: None, lines: vec![name(c.left)] }, overlay.scale);
    let y = height as f32 * 0.5;
    overlay.panels.push(Panel { x: (x - w - 8.0).max(0.0), y, title: None, lines: vec![name(c.left)] });
    overlay.panels.push(Panel { x: x + 8.0, y, title: None, lines: vec![name(c.right)] });
}
