//! The panels and their painting.

use std::collections::BTreeMap;

use bevy_ecs::prelude::Entity;
use urbis_model::{CityModel, FeatureId, FeatureQuery, FeatureStyle, PartOf, Parts, SemanticClass};

/// What the frame around the panels is doing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameInfo {
    /// Camera longitude, latitude (degrees) and height (metres).
    pub lon: f64,
    pub lat: f64,
    pub height: f64,
    pub fps: f64,
    /// Tiles requested but not yet shown, and tiles shown.
    pub tiles_loading: usize,
    pub tiles_shown: usize,
    /// The selected feature, if any.
    pub selected: Option<Entity>,
    /// The active tool, and what the measurement being made reads.
    pub tool: Tool,
    pub measurement: Vec<String>,
    /// Live sources' clock, scrubbed time and alarm log (none: no timeline).
    pub timeline: Option<crate::Timeline>,
    /// A scenario comparison's modes, the one shown, and its summary lines.
    pub modes: Vec<String>,
    pub mode: usize,
    pub scenario: Vec<String>,
    /// The city's clock, hours east of UTC (the sun panel's local time).
    pub utc_offset_h: i32,
    /// What a scenario did to the selected feature (what, value).
    pub impacts: Vec<(String, String)>,
    /// Frames are anti-aliased.
    pub antialias: bool,
    /// Imagery layers in drawing order: name, visible, opacity.
    pub imagery: Vec<(String, bool, f32)>,
}

/// What a click in the 3D view does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// Pick (select) the feature under the cursor.
    #[default]
    Pick,
    /// Measure the distance between two points.
    Distance,
    /// Measure the length along points (Enter ends).
    Polyline,
    /// Measure the area of the polygon through points (Enter ends).
    Area,
    /// Measure the height difference of two points.
    Height,
    /// Press photo meshes and tilesets down inside the polygon through
    /// points (Enter ends), to the lowest point's height (压平).
    Flatten,
}

impl Tool {
    pub const ALL: [Tool; 6] = [Tool::Pick, Tool::Distance, Tool::Polyline, Tool::Area, Tool::Height, Tool::Flatten];

    pub fn label(self) -> &'static str {
        match self {
            Tool::Pick => "pick",
            Tool::Distance => "distance",
            Tool::Polyline => "polyline",
            Tool::Area => "area",
            Tool::Height => "height",
            Tool::Flatten => "flatten",
        }
    }
}

/// How the city is cut (the section tool).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionMode {
    #[default]
    Off,
    /// A horizontal plane: what is above it is cut away.
    Plane,
    /// A box about the view's pivot: what is outside it is cut away.
    Box,
}

/// How two states of the scene (a comparison's modes) share the view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareLayout {
    /// One state fills the view.
    #[default]
    Off,
    /// One picture cut at a vertical line: `left` to its left, `right` to its right.
    Swipe,
    /// Two views side by side, each with the whole scene.
    SideBySide,
}

/// A comparison's layout, its two states (indices of the modes) and the swipe line (0..1 of the width).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CompareSettings {
    pub layout: CompareLayout,
    pub left: usize,
    pub right: usize,
    pub split: f32,
}

impl Default for CompareSettings {
    fn default() -> Self {
        Self { layout: CompareLayout::Off, left: 0, right: 2, split: 0.5 }
    }
}

/// The section tool's settings: its mode, the plane's or box top's height
/// over the ground (metres) and the box's half width (metres).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SectionSettings {
    pub mode: SectionMode,
    pub height: f64,
    pub half_width: f64,
}

impl Default for SectionSettings {
    fn default() -> Self {
        Self { mode: SectionMode::Off, height: 20.0, half_width: 80.0 }
    }
}

/// What the user asked for in the panels this frame.
#[derive(Debug, Clone)]
pub enum UiAction {
    /// Fly the camera to this feature (a search hit).
    FlyTo(Entity),
    /// Select this feature (a search hit, a part or parent in the inspector).
    Select(Entity),
    /// Go to bookmark `i` of [`Panels::bookmarks`].
    GoTo(usize),
    /// Keep the current view as a bookmark of this name.
    AddBookmark(String),
    /// Clicks in the view now do this.
    Tool(Tool),
    /// End the polyline or area being measured.
    FinishMeasurement,
    /// Remove every measurement.
    ClearMeasurements,
    /// Cut the city so (or stop cutting it).
    Section(SectionSettings),
    /// Restyle the city with this style (from the style editor).
    ApplyStyle(Box<urbis_model::style::StyleFile>),
    /// Show the live state at this time (Unix ms), or live again.
    Scrub(Option<i64>),
    /// Show the comparison's mode `i` (baseline, scenario, difference).
    Mode(usize),
    /// Compare two modes in the view (swipe, side by side) or stop.
    Compare(CompareSettings),
    /// Light the view by the real sun at this time (Unix ms), or by the fixed afternoon light.
    Sun(Option<i64>),
    /// Open and run this scenario file, then compare it with the baseline.
    RunScenario(std::path::PathBuf),
    /// Anti-aliasing on or off.
    Antialias(bool),
    /// Imagery layer `index` shown or not, at this opacity.
    Imagery { index: usize, visible: bool, opacity: f32 },
}

/// Shows or hides every feature of a class (its source class name); returns how many changed.
pub fn set_class_visible(model: &mut CityModel, class: &str, visible: bool) -> usize {
    let mut q = model.world.query::<(&SemanticClass, &mut FeatureStyle)>();
    let mut n = 0;
    for (c, mut s) in q.iter_mut(&mut model.world) {
        if c.name() == class && s.visible != visible {
            s.visible = visible;
            n += 1;
        }
    }
    n
}

/// Sets the opacity of every feature of a class (its source class name); returns how many changed.
pub fn set_class_opacity(model: &mut CityModel, class: &str, opacity: f32) -> usize {
    let mut q = model.world.query::<(&SemanticClass, &mut FeatureStyle)>();
    let mut n = 0;
    for (c, mut s) in q.iter_mut(&mut model.world) {
        if c.name() == class && s.opacity != opacity {
            s.opacity = opacity;
            n += 1;
        }
    }
    n
}

/// The panels' look on an egui context: dark visuals and Urbis' bundled
/// font (Latin, Greek, symbols and GB 2312 Chinese) for every text style.
pub fn install_look(ctx: &egui::Context) {
    ctx.set_visuals(egui::Visuals::dark());
    let mut fonts = egui::FontDefinitions::empty();
    fonts.font_data.insert("urbis".into(), std::sync::Arc::new(egui::FontData::from_static(urbis_text::FONT_BYTES)));
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("urbis".into());
    }
    ctx.set_fonts(fonts);
}

/// The panels' state and their egui painter.
pub struct Panels {
    ctx: egui::Context,
    renderer: egui_wgpu::Renderer,
    /// The search field, its last result and error.
    query: String,
    hits: Vec<(Entity, String)>,
    query_error: Option<String>,
    /// Classes hidden from the layers panel.
    hidden: std::collections::BTreeSet<String>,
    bookmarks: Vec<crate::Bookmark>,
    new_bookmark: String,
    section: SectionSettings,
    compare: CompareSettings,
    pub sun: crate::sun::SunPanel,
    /// The scenario file field.
    scenario_path: String,
    /// Opacity per class set in the layers panel (absent: opaque).
    opacity: BTreeMap<String, f32>,
    pub style_editor: crate::StyleEditor,
    /// Where the panels were laid out last frame, points.
    areas: Vec<egui::Rect>,
}

impl std::fmt::Debug for Panels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Panels").field("query", &self.query).field("hits", &self.hits.len()).finish()
    }
}

impl Panels {
    /// Panels painted into targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let ctx = egui::Context::default();
        install_look(&ctx);
        let renderer = egui_wgpu::Renderer::new(device, format, egui_wgpu::RendererOptions::default());
        Self {
            ctx,
            renderer,
            query: String::new(),
            hits: Vec::new(),
            query_error: None,
            hidden: Default::default(),
            bookmarks: Vec::new(),
            new_bookmark: String::new(),
            section: SectionSettings::default(),
            compare: CompareSettings::default(),
            sun: Default::default(),
            scenario_path: String::new(),
            opacity: BTreeMap::new(),
            style_editor: crate::StyleEditor::default(),
            areas: Vec::new(),
        }
    }

    /// The bookmarks listed in the panel.
    pub fn set_bookmarks(&mut self, list: Vec<crate::Bookmark>) {
        self.bookmarks = list;
    }

    pub fn bookmarks(&self) -> &[crate::Bookmark] {
        &self.bookmarks
    }

    /// Whether the point (x, y), in points, lies on a panel (last frame's
    /// layout): input there is the panels', not the 3D view's.
    pub fn covers(&self, x: f32, y: f32) -> bool {
        self.areas.iter().any(|r| r.contains(egui::pos2(x, y)))
    }

    pub fn section(&self) -> SectionSettings {
        self.section
    }

    /// Classes the layers panel hides, and their opacities (to apply again after a restyle).
    pub fn layer_state(&self) -> (Vec<String>, Vec<(String, f32)>) {
        (self.hidden.iter().cloned().collect(), self.opacity.iter().map(|(k, v)| (k.clone(), *v)).collect())
    }

    /// Sets the comparison's settings (as its widgets do).
    pub fn set_compare(&mut self, c: CompareSettings) {
        self.compare = c;
    }

    /// Sets the section tool's settings (as its widgets do).
    pub fn set_section(&mut self, s: SectionSettings) {
        self.section = s;
    }

    pub fn context(&self) -> &egui::Context {
        &self.ctx
    }

    /// Runs the search now (as the search field's Enter does).
    pub fn search(&mut self, model: &mut CityModel, query: &str) {
        self.query = query.to_string();
        self.hits.clear();
        self.query_error = None;
        match FeatureQuery::parse(query) {
            Ok(q) => {
                let found = model.select(&q);
                for e in found.into_iter().take(200) {
                    let name = model.world.get::<FeatureId>(e).map_or_else(|| format!("{e:?}"), |id| id.guid.clone());
                    self.hits.push((e, name));
                }
            }
            Err(e) => self.query_error = Some(e.to_string()),
        }
    }

    /// The last search's hits.
    pub fn hits(&self) -> &[(Entity, String)] {
        &self.hits
    }

    /// Lays the panels out for this frame and applies their edits to the model.
    pub fn run(
        &mut self,
        input: egui::RawInput,
        model: &mut CityModel,
        info: &FrameInfo,
    ) -> (egui::FullOutput, Vec<UiAction>) {
        let mut actions = Vec::new();
        let classes = class_counts(model);
        let inspector = info.selected.map(|e| inspected(model, e));
        let at = info.timeline.as_ref().and_then(|t| t.at_ms);
        let series = info.selected.map(|e| crate::timeline::series_of(model, e, at)).unwrap_or_default();
        let span = info.timeline.as_ref().and_then(|_| crate::timeline::history_span(model));
        let mut toggles: Vec<(String, bool)> = Vec::new();
        let mut fades: Vec<(String, f32)> = Vec::new();
        let mut run_query = false;
        let mut areas = Vec::new();
        let before = self.section;
        let compare_before = self.compare;
        let ctx = self.ctx.clone();
        let output = ctx.run_ui(input, |ui| {
            let status = egui::Panel::bottom("status").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(format!("{:.5}°, {:.5}°  h {:.0} m", info.lon, info.lat, info.height));
                    ui.separator();
                    ui.label(format!("{:.0} fps", info.fps));
                    ui.separator();
                    ui.label(format!("tiles: {} shown, {} loading", info.tiles_shown, info.tiles_loading));
                });
            });
            areas.push(status.response.rect);
            if let Some(t) = &info.timeline {
                let timeline = egui::Panel::bottom("timeline").exact_size(150.0).show(ui, |ui| {
                    crate::timeline::show(ui, t, span, &series, &mut actions);
                });
                areas.push(timeline.response.rect);
            }
            let left = egui::Panel::left("layers").resizable(false).exact_size(200.0).show(ui, |ui| {
                ui.heading("Tools");
                ui.horizontal_wrapped(|ui| {
                    for t in Tool::ALL {
                        if ui.selectable_label(info.tool == t, t.label()).clicked() {
                            actions.push(UiAction::Tool(t));
                        }
                    }
                });
                if info.tool != Tool::Pick {
                    ui.horizontal(|ui| {
                        if matches!(info.tool, Tool::Polyline | Tool::Area | Tool::Flatten)
                            && ui.small_button("finish").clicked()
                        {
                            actions.push(UiAction::FinishMeasurement);
                        }
                        if ui.small_button("clear").clicked() {
                            actions.push(UiAction::ClearMeasurements);
                        }
                    });
                    for l in &info.measurement {
                        ui.label(l);
                    }
                }
                ui.heading("Scenario");
                ui.horizontal(|ui| {
                    let l = ui.label("file");
                    let field = egui::TextEdit::singleline(&mut self.scenario_path)
                        .desired_width(100.0)
                        .hint_text("scenario.toml");
                    ui.add(field).labelled_by(l.id);
                    if ui.small_button("run").clicked() && !self.scenario_path.trim().is_empty() {
                        actions.push(UiAction::RunScenario(self.scenario_path.trim().into()));
                    }
                });
                if info.modes.is_empty() {
                    for l in &info.scenario {
                        ui.label(egui::RichText::new(l).small());
                    }
                }
                if !info.modes.is_empty() {
                    ui.horizontal(|ui| {
                        for (i, m) in info.modes.iter().enumerate() {
                            if ui.selectable_label(info.mode == i, m).clicked() && info.mode != i {
                                actions.push(UiAction::Mode(i));
                            }
                        }
                    });
                    let c = &mut self.compare;
                    ui.horizontal(|ui| {
                        for (l, name) in [
                            (CompareLayout::Off, "one"),
                            (CompareLayout::Swipe, "swipe"),
                            (CompareLayout::SideBySide, "side by side"),
                        ] {
                            ui.radio_value(&mut c.layout, l, name);
                        }
                    });
                    if c.layout != CompareLayout::Off {
                        let n = info.modes.len();
                        ui.horizontal(|ui| {
                            for (side, value) in [("left", &mut c.left), ("right", &mut c.right)] {
                                egui::ComboBox::from_label(side)
                                    .width(70.0)
                                    .selected_text(info.modes.get(*value).cloned().unwrap_or_default())
                                    .show_ui(ui, |ui| {
                                        for (i, m) in info.modes.iter().enumerate().take(n) {
                                            ui.selectable_value(value, i, m);
                                        }
                                    });
                            }
                        });
                        if c.layout == CompareLayout::Swipe {
                            ui.add(egui::Slider::new(&mut c.split, 0.0..=1.0).text("line"));
                        }
                    }
                    for l in &info.scenario {
                        ui.label(egui::RichText::new(l).small());
                    }
                    ui.separator();
                }
                self.sun.show(ui, info.utc_offset_h, &mut actions);
                let mut aa = info.antialias;
                if ui.checkbox(&mut aa, "anti-aliasing").changed() {
                    actions.push(UiAction::Antialias(aa));
                }
                ui.label("Section");
                ui.horizontal(|ui| {
                    for (m, name) in
                        [(SectionMode::Off, "off"), (SectionMode::Plane, "plane"), (SectionMode::Box, "box")]
                    {
                        ui.radio_value(&mut self.section.mode, m, name);
                    }
                });
                if self.section.mode != SectionMode::Off {
                    ui.add(egui::Slider::new(&mut self.section.height, 0.0..=300.0).text("height m"));
                }
                if self.section.mode == SectionMode::Box {
                    ui.add(
                        egui::Slider::new(&mut self.section.half_width, 5.0..=1000.0).logarithmic(true).text("half m"),
                    );
                }
                ui.separator();
                ui.heading("Layers");
                egui::ScrollArea::vertical().id_salt("layers").max_height(140.0).show(ui, |ui| {
                    for (class, n) in &classes {
                        ui.horizontal(|ui| {
                            // Opacity: see through a class (X-ray).
                            ui.spacing_mut().slider_width = 36.0;
                            let mut o = self.opacity.get(class).copied().unwrap_or(1.0);
                            let slider = egui::Slider::new(&mut o, 0.0..=1.0).show_value(false);
                            if ui.add(slider).on_hover_text("opacity").changed() {
                                fades.push((class.clone(), o));
                            }
                            let mut visible = !self.hidden.contains(class);
                            if ui.checkbox(&mut visible, format!("{class} ({n})")).changed() {
                                toggles.push((class.clone(), visible));
                            }
                        });
                    }
                });
                if !info.imagery.is_empty() {
                    ui.label("Imagery (later over earlier)");
                    for (index, (name, visible, opacity)) in info.imagery.iter().enumerate() {
                        ui.horizontal(|ui| {
                            ui.spacing_mut().slider_width = 36.0;
                            let (mut v, mut o) = (*visible, *opacity);
                            let slider = egui::Slider::new(&mut o, 0.0..=1.0).show_value(false);
                            let faded = ui.add(slider).on_hover_text("opacity").changed();
                            let short: String =
                                name.chars().rev().take(22).collect::<Vec<_>>().into_iter().rev().collect();
                            if ui.checkbox(&mut v, short).on_hover_text(name).changed() || faded {
                                actions.push(UiAction::Imagery { index, visible: v, opacity: o });
                            }
                        });
                    }
                }
                if ui.small_button("style editor…").clicked() {
                    self.style_editor.open = !self.style_editor.open;
                }
                ui.separator();
                ui.heading("Search");
                let field = ui.text_edit_singleline(&mut self.query);
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    run_query = true;
                }
                if let Some(e) = &self.query_error {
                    ui.colored_label(egui::Color32::LIGHT_RED, e);
                }
                egui::ScrollArea::vertical().id_salt("hits").max_height(90.0).show(ui, |ui| {
                    for (e, name) in &self.hits {
                        ui.horizontal(|ui| {
                            if ui.small_button("fly to").clicked() {
                                actions.push(UiAction::FlyTo(*e));
                                actions.push(UiAction::Select(*e));
                            }
                            ui.label(name);
                        });
                    }
                });
                ui.separator();
                ui.heading("Bookmarks");
                for (i, b) in self.bookmarks.iter().enumerate() {
                    ui.horizontal(|ui| {
                        if ui.small_button("go").clicked() {
                            actions.push(UiAction::GoTo(i));
                        }
                        ui.label(&b.name);
                    });
                }
                ui.horizontal(|ui| {
                    ui.add(egui::TextEdit::singleline(&mut self.new_bookmark).desired_width(120.0).hint_text("name"));
                    if ui.small_button("add view").clicked() && !self.new_bookmark.trim().is_empty() {
                        actions.push(UiAction::AddBookmark(self.new_bookmark.trim().to_string()));
                        self.new_bookmark.clear();
                    }
                });
            });
            areas.push(left.response.rect);
            if let Some(lines) = &inspector {
                let right = egui::Panel::right("inspector").resizable(false).exact_size(280.0).show(ui, |ui| {
                    ui.heading("Inspector");
                    egui::Grid::new("attributes").striped(true).show(ui, |ui| {
                        for (k, v, link) in lines {
                            ui.label(k);
                            match link {
                                Some(e) => {
                                    if ui.link(v).clicked() {
                                        actions.push(UiAction::Select(*e));
                                    }
                                }
                                None => {
                                    ui.label(v);
                                }
                            }
                            ui.end_row();
                        }
                    });
                    if !info.impacts.is_empty() {
                        ui.separator();
                        ui.label("Scenario impacts");
                        egui::Grid::new("impacts").striped(true).show(ui, |ui| {
                            for (k, v) in &info.impacts {
                                ui.label(k);
                                ui.label(v);
                                ui.end_row();
                            }
                        });
                    }
                    for s in &series {
                        ui.separator();
                        let value = s.latest.map_or("no reading".into(), |v| format!("{v:.2} {}", s.unit));
                        ui.label(format!("{}: {value}", s.label));
                        crate::timeline::sparkline(ui, &s.samples, egui::vec2(240.0, 36.0));
                    }
                });
                areas.push(right.response.rect);
            }
            if self.style_editor.open {
                areas.extend(self.style_editor.show(ui.ctx(), &mut actions));
            }
        });
        self.areas = areas;
        if self.section != before {
            actions.push(UiAction::Section(self.section));
        }
        if self.compare != compare_before {
            actions.push(UiAction::Compare(self.compare));
        }
        for (class, o) in fades {
            set_class_opacity(model, &class, o);
            self.opacity.insert(class, o);
        }
        for (class, visible) in toggles {
            set_class_visible(model, &class, visible);
            if visible {
                self.hidden.remove(&class);
            } else {
                self.hidden.insert(class);
            }
        }
        if run_query {
            let q = self.query.clone();
            self.search(model, &q);
        }
        (output, actions)
    }

    /// Paints `output` over `view` (already holding the frame), `size` pixels, at `pixels_per_point`.
    pub fn paint(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        view: &wgpu::TextureView,
        size: [u32; 2],
        mut output: egui::FullOutput,
    ) {
        let ppp = output.pixels_per_point;
        let mut textures = std::mem::take(&mut output.textures_delta);
        let jobs = self.ctx.tessellate(std::mem::take(&mut output.shapes), ppp);
        let screen = egui_wgpu::ScreenDescriptor { size_in_pixels: size, pixels_per_point: ppp };
        for (id, deltas) in textures.set.drain() {
            for delta in &deltas {
                self.renderer.update_texture(device, queue, id, delta);
            }
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ui") });
        let extra = self.renderer.update_buffers(device, queue, &mut encoder, &jobs, &screen);
        {
            let pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("ui"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations { load: wgpu::LoadOp::Load, store: wgpu::StoreOp::Store },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let mut pass = pass.forget_lifetime();
            self.renderer.render(&mut pass, &jobs, &screen);
        }
        queue.submit(extra.into_iter().chain([encoder.finish()]));
        for id in textures.free.drain() {
            self.renderer.free_texture(&id);
        }
    }
}

/// Features per source class, in name order.
fn class_counts(model: &mut CityModel) -> BTreeMap<String, usize> {
    let mut q = model.world.query::<&SemanticClass>();
    let mut out = BTreeMap::new();
    for c in q.iter(&model.world) {
        *out.entry(c.name().to_string()).or_default() += 1;
    }
    out
}

/// The inspector's rows: (key, value, a feature the value links to).
fn inspected(model: &CityModel, e: Entity) -> Vec<(String, String, Option<Entity>)> {
    let mut rows = Vec::new();
    let Some(d) = model.describe(e) else { return rows };
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    // Long values are cut for the panel's width.
    let text = |v: &serde_json::Value| {
        let t = text(v);
        if t.chars().count() > 22 { format!("{}…", t.chars().take(21).collect::<String>()) } else { t }
    };
    rows.push(("class".into(), text(&d["class"]), None));
    rows.push(("id".into(), text(&d["feature_id"]), None));
    if let Some(map) = d["attributes"].as_object() {
        for (k, v) in map {
            // The key's last part where it is long (`address.PostalCode` → `PostalCode`).
            let key = if k.chars().count() > 16 { k.rsplit('.').next().unwrap_or(k).to_string() } else { k.clone() };
            rows.push((key, text(v), None));
        }
    }
    if let Some(p) = model.world.get::<PartOf>(e) {
        let name = model.world.get::<FeatureId>(p.0).map_or_else(String::new, |id| id.guid.clone());
        rows.push(("part of".into(), name, Some(p.0)));
    }
    if let Some(parts) = model.world.get::<Parts>(e) {
        for part in &parts.0 {
            let name = model.world.get::<FeatureId>(*part).map_or_else(String::new, |id| id.guid.clone());
            rows.push(("part".into(), name, Some(*part)));
        }
    }
    rows
}
