//! The style editor: rules (a query with a colour, an opacity or hide), a
//! colour ramp and an extrusion by attribute, edited in a window, checked
//! by the same parser as `--style` files, applied to the view, and saved
//! to or loaded from a TOML file.
//!
//! ```text
//! widgets ─► StyleEdit ─to TOML─► urbis_model::style::parse_style ─ok─► UiAction::ApplyStyle
//!                                                               └err─► shown in red; the last good style stays
//! TOML file ◄─save── StyleFile::to_toml      load ─► StyleEdit (from the parsed file)
//! ```

use std::path::PathBuf;

use urbis_model::style::{StyleFile, parse_style, read_style};

use crate::UiAction;

#[derive(Debug, Clone, PartialEq)]
struct RuleEdit {
    query: String,
    use_color: bool,
    color: [f32; 3],
    mix: f32,
    opacity: f32,
    hide: bool,
}

impl Default for RuleEdit {
    fn default() -> Self {
        Self {
            query: "class = Building".into(),
            use_color: true,
            color: [0.9, 0.5, 0.1],
            mix: 0.8,
            opacity: 1.0,
            hide: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct RampEdit {
    on: bool,
    attribute: String,
    when: String,
    stops: Vec<(f64, [f32; 3])>,
}

impl Default for RampEdit {
    fn default() -> Self {
        Self {
            on: false,
            attribute: "height".into(),
            when: "class = Building".into(),
            stops: vec![(0.0, [0.17, 0.48, 0.71]), (40.0, [1.0, 1.0, 0.75]), (120.0, [0.84, 0.1, 0.11])],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct ExtrudeEdit {
    on: bool,
    attribute: String,
    when: String,
    metres_per_unit: f64,
}

impl Default for ExtrudeEdit {
    fn default() -> Self {
        Self { on: false, attribute: "floors".into(), when: "class = Building".into(), metres_per_unit: 3.2 }
    }
}

/// The editor's state: what is being edited, the file, the last message.
#[derive(Debug, Clone, Default)]
pub struct StyleEditor {
    pub open: bool,
    rules: Vec<RuleEdit>,
    ramp: RampEdit,
    extrude: ExtrudeEdit,
    /// The file saved to and loaded from.
    pub path: String,
    message: Option<(bool, String)>,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn hex(c: [f32; 3]) -> String {
    let b = c.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
    format!("\"#{:02x}{:02x}{:02x}\"", b[0], b[1], b[2])
}

impl StyleEditor {
    /// An editor of the file at `path` (loaded when it exists).
    pub fn new(path: Option<PathBuf>) -> Self {
        let mut e = Self { path: path.map(|p| p.display().to_string()).unwrap_or_default(), ..Default::default() };
        if !e.path.is_empty() && std::path::Path::new(&e.path).exists() {
            e.load();
        }
        e
    }

    /// The style being edited as a TOML file.
    pub fn to_toml(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for r in &self.rules {
            let _ = write!(out, "[[rule]]\nwhen = {}\n", quote(&r.query));
            if r.use_color {
                let _ = write!(out, "color = {}\nmix = {}\n", hex(r.color), r.mix);
            }
            if r.opacity < 1.0 {
                let _ = writeln!(out, "opacity = {}", r.opacity);
            }
            if r.hide {
                out.push_str("hide = true\n");
            }
            out.push('\n');
        }
        if self.ramp.on {
            let r = &self.ramp;
            let _ = write!(out, "[[ramp]]\nattribute = {}\n", quote(&r.attribute));
            if !r.when.trim().is_empty() {
                let _ = writeln!(out, "when = {}", quote(&r.when));
            }
            let stops: Vec<String> = r.stops.iter().map(|(v, c)| format!("[{v:?}, {}]", hex(*c))).collect();
            let _ = write!(out, "stops = [{}]\nmix = 1.0\n\n", stops.join(", "));
        }
        if self.extrude.on {
            let x = &self.extrude;
            let _ = write!(out, "[[extrude]]\nattribute = {}\n", quote(&x.attribute));
            if !x.when.trim().is_empty() {
                let _ = writeln!(out, "when = {}", quote(&x.when));
            }
            let _ = writeln!(out, "metres_per_unit = {:?}", x.metres_per_unit);
        }
        out
    }

    /// Checks what is edited as a style file would be.
    pub fn parse(&self) -> Result<StyleFile, String> {
        parse_style(&self.to_toml(), std::path::Path::new("style editor")).map_err(|e| e.to_string())
    }

    /// Takes a checked style for editing.
    pub fn set(&mut self, style: &StyleFile) {
        self.rules = style
            .rules
            .iter()
            .map(|r| RuleEdit {
                query: r.query.clone(),
                use_color: r.color_srgb.is_some(),
                color: r.color_srgb.map_or([0.9, 0.5, 0.1], |c| c.map(|x| x as f32)),
                mix: r.color.map_or(0.8, |c| c[3]),
                opacity: r.opacity.unwrap_or(1.0),
                hide: r.hide,
            })
            .collect();
        self.ramp = match style.ramps.first() {
            Some(r) => RampEdit {
                on: true,
                attribute: r.attribute.clone(),
                when: r.when.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
                stops: r.stops.iter().map(|(v, c)| (*v, c.map(|x| x as f32))).collect(),
            },
            None => RampEdit::default(),
        };
        self.extrude = match style.extrusions.first() {
            Some(x) => ExtrudeEdit {
                on: true,
                attribute: x.attribute.clone(),
                when: x.when.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
                metres_per_unit: x.metres_per_unit,
            },
            None => ExtrudeEdit::default(),
        };
    }

    /// Loads the editor's file; a bad file is reported and the edits stay.
    pub fn load(&mut self) -> Option<StyleFile> {
        match read_style(std::path::Path::new(&self.path)) {
            Ok(s) => {
                self.set(&s);
                self.message = Some((true, format!("loaded {}", self.path)));
                Some(s)
            }
            Err(e) => {
                self.message = Some((false, e.to_string()));
                None
            }
        }
    }

    /// Saves the edited style to the editor's file (through a temporary file).
    pub fn save(&mut self) -> Result<(), String> {
        let style = self.parse()?;
        let path = std::path::Path::new(&self.path);
        if self.path.trim().is_empty() {
            return Err("no file to save to".into());
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, style.to_toml())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The editor's window; pushes the style to apply when asked.
    pub fn show(&mut self, ctx: &egui::Context, actions: &mut Vec<UiAction>) -> Option<egui::Rect> {
        let mut open = self.open;
        let mut apply = false;
        let response = egui::Window::new("Style").open(&mut open).default_width(330.0).show(ctx, |ui| {
            egui::ScrollArea::vertical().max_height(420.0).show(ui, |ui| {
                ui.label("Rules (later ones win)");
                let mut remove = None;
                for (i, r) in self.rules.iter_mut().enumerate() {
                    ui.push_id(i, |ui| {
                        ui.horizontal(|ui| {
                            let when = ui.label("when");
                            ui.add(egui::TextEdit::singleline(&mut r.query).desired_width(150.0)).labelled_by(when.id);
                            if ui.small_button("remove").clicked() {
                                remove = Some(i);
                            }
                        });
                        ui.horizontal(|ui| {
                            ui.checkbox(&mut r.use_color, "colour");
                            ui.color_edit_button_rgb(&mut r.color);
                            ui.add(egui::Slider::new(&mut r.opacity, 0.0..=1.0).text("opacity"));
                            ui.checkbox(&mut r.hide, "hide");
                        });
                    });
                }
                if let Some(i) = remove {
                    self.rules.remove(i);
                }
                if ui.small_button("add rule").clicked() {
                    self.rules.push(RuleEdit::default());
                }
                ui.separator();
                ui.checkbox(&mut self.ramp.on, "colour ramp by attribute");
                if self.ramp.on {
                    ui.horizontal(|ui| {
                        let l = ui.label("attribute");
                        ui.add(egui::TextEdit::singleline(&mut self.ramp.attribute).desired_width(90.0))
                            .labelled_by(l.id);
                        let l = ui.label("when");
                        ui.add(egui::TextEdit::singleline(&mut self.ramp.when).desired_width(120.0)).labelled_by(l.id);
                    });
                    for (i, (v, c)) in self.ramp.stops.iter_mut().enumerate() {
                        ui.push_id(("stop", i), |ui| {
                            ui.horizontal(|ui| {
                                ui.add(egui::DragValue::new(v).speed(1.0));
                                ui.color_edit_button_rgb(c);
                            });
                        });
                    }
                }
                ui.separator();
                ui.checkbox(&mut self.extrude.on, "extrude by attribute");
                if self.extrude.on {
                    ui.horizontal(|ui| {
                        let l = ui.label("attribute");
                        ui.add(egui::TextEdit::singleline(&mut self.extrude.attribute).desired_width(90.0))
                            .labelled_by(l.id);
                        ui.add(egui::DragValue::new(&mut self.extrude.metres_per_unit).speed(0.1).suffix(" m/unit"));
                    });
                    ui.horizontal(|ui| {
                        let l = ui.label("when");
                        ui.add(egui::TextEdit::singleline(&mut self.extrude.when).desired_width(160.0))
                            .labelled_by(l.id);
                    });
                }
            });
            ui.separator();
            ui.horizontal(|ui| {
                if ui.button("apply").clicked() {
                    apply = true;
                }
                let l = ui.label("file");
                ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(120.0).hint_text("style.toml"))
                    .labelled_by(l.id);
                if ui.small_button("save").clicked() {
                    self.message = Some(match self.save() {
                        Ok(()) => (true, format!("saved {}", self.path)),
                        Err(e) => (false, e),
                    });
                }
                if ui.small_button("load").clicked() && self.load().is_some() {
                    apply = true;
                }
            });
            if let Some((ok, m)) = &self.message {
                let colour = if *ok { egui::Color32::LIGHT_GREEN } else { egui::Color32::LIGHT_RED };
                ui.colored_label(colour, m);
            }
        });
        self.open = open;
        if apply {
            match self.parse() {
                Ok(style) => {
                    self.message = Some((true, format!("applied {} rules", style.rules.len())));
                    actions.push(UiAction::ApplyStyle(Box::new(style)));
                }
                // The view keeps the last good style.
                Err(e) => self.message = Some((false, e)),
            }
        }
        response.map(|r| r.response.rect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_round_trip_through_the_style_parser() {
        let mut e = StyleEditor::default();
        e.rules.push(RuleEdit { query: "use = \"office\"".into(), opacity: 0.4, ..Default::default() });
        e.rules.push(RuleEdit { query: "class = Road".into(), use_color: false, hide: true, ..Default::default() });
        e.ramp.on = true;
        e.extrude.on = true;
        let style = e.parse().expect("the edited style parses");
        assert_eq!((style.rules.len(), style.ramps.len(), style.extrusions.len()), (2, 1, 1));
        assert_eq!(style.rules[0].opacity, Some(0.4));
        assert!(style.rules[1].hide && style.rules[1].color.is_none());
        // Loading what was saved gives the same edits back.
        let mut back = StyleEditor::default();
        back.set(&style);
        assert_eq!(back.rules.len(), e.rules.len());
        for (b, r) in back.rules.iter().zip(&e.rules) {
            assert_eq!(
                (&b.query, b.use_color, b.mix, b.opacity, b.hide),
                (&r.query, r.use_color, r.mix, r.opacity, r.hide)
            );
            // Colours go through 8-bit hex.
            assert!(
                b.color.iter().zip(r.color).all(|(x, y)| (x - y).abs() <= 0.5 / 255.0 + 1e-6),
                "{:?} {:?}",
                b.color,
                r.color
            );
        }
        assert_eq!(back.extrude, e.extrude);
        // A bad query is refused with the rule's field; nothing is applied.
        e.rules[0].query = "height >".into();
        let err = e.parse().expect_err("bad query");
        assert!(err.contains("rule[0].when"), "{err}");
    }
}
