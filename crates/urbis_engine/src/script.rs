//! Scripted input: a recorded stream of input events replayed at given
//! frames, with screenshots at marked frames (`urbis view --script FILE`),
//! and the recorder that writes such a stream (`urbis view --record-input FILE`).
//!
//! ```text
//! script.jsonl ─parse─► Script (steps by frame) ─ScriptPlayer::frame─► Input ─► ViewerCore
//!                                                                   └► egui::Event ─► the panels
//! window events ─► Recorder ─► script.jsonl
//! ```
//!
//! A script is JSON lines, one step a line (blank lines and lines starting
//! with `#` are skipped):
//!
//! ```text
//! {"frame": 2, "do": "click", "x": 640, "y": 360}
//! {"frame": 3, "do": "key_down", "key": "KeyW"}
//! {"frame": 9, "do": "key_up", "key": "KeyW"}
//! {"frame": 10, "do": "drag", "x": 600, "y": 300, "to": [700, 300], "button": "right", "frames": 10}
//! {"frame": 30, "do": "tool", "tool": "distance"}
//! {"frame": 40, "do": "search", "query": "height > 40"}
//! {"frame": 41, "do": "fly_to", "hit": 0}
//! {"frame": 50, "do": "screenshot", "path": "shot.png"}
//! ```
//!
//! Pointer positions are window pixels from the top left. Pointer and key
//! input goes to the panels as egui events and, where no panel is under
//! the pointer (or holds the keyboard), to the 3D view, exactly as window
//! events do. The named steps (`tool`, `search`, `fly_to`, `finish`, …) do
//! what the panel's widget does. Viewer time advances 1/30 s a frame.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use urbis_ui::{CompareSettings, SectionSettings, Tool, UiAction};

use crate::viewer::{Button, Input, ViewerCore};

/// A script that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A line that is not a valid step: its number (from 1) and field.
    #[error("{path}:{line}: {field}: {message}")]
    Step { path: PathBuf, line: usize, field: String, message: String },
    #[error("{path}: the script has no steps")]
    Empty { path: PathBuf },
}

/// One scripted step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    KeyDown {
        key: String,
    },
    KeyUp {
        key: String,
    },
    /// Down now, up the next frame.
    Key {
        key: String,
    },
    /// Typed text (into the focused panel field).
    Text {
        text: String,
    },
    Move {
        x: f64,
        y: f64,
    },
    Press {
        #[serde(default = "left")]
        button: Button,
    },
    Release {
        #[serde(default = "left")]
        button: Button,
    },
    /// Move, press and release at one point in one frame.
    Click {
        x: f64,
        y: f64,
        #[serde(default = "left")]
        button: Button,
    },
    /// Press at (x, y), move to `to` over `frames` frames, release.
    Drag {
        x: f64,
        y: f64,
        to: [f64; 2],
        #[serde(default = "left")]
        button: Button,
        #[serde(default = "ten")]
        frames: u64,
    },
    Wheel {
        delta: f64,
    },
    /// Clicks in the view now measure (or pick).
    Tool {
        tool: Tool,
    },
    /// Ends the polyline or area being measured (the Enter key, the panel's button).
    Finish,
    ClearMeasurements,
    /// Runs a query in the search panel.
    Search {
        query: String,
    },
    /// The search hit's "fly to" (the hit's index in the list).
    FlyTo {
        hit: usize,
    },
    /// A bookmark's "go" (its index in the list).
    GoTo {
        bookmark: usize,
    },
    /// The section tool's settings.
    Section {
        section: SectionSettings,
    },
    /// The timeline's scrubber: show the live state at this Unix time (ms), or live again (none).
    Scrub {
        #[serde(default)]
        at_ms: Option<i64>,
    },
    /// A scenario comparison's mode (0 baseline, 1 scenario, 2 difference).
    Mode {
        mode: usize,
    },
    /// Key H: hides or shows the panels and overlay.
    ToggleUi,
    /// The layers panel's imagery row: layer `index` shown or not, at `opacity`.
    Imagery {
        index: usize,
        visible: bool,
        #[serde(default = "opaque")]
        opacity: f32,
    },
    /// The scenario panel's "run": open and run this scenario file in the background.
    RunScenario {
        path: PathBuf,
    },
    /// Waits (up to `timeout_s`, default 600) until background work (a scenario run) is done.
    WaitIdle {
        #[serde(default = "ten_minutes")]
        timeout_s: f64,
    },
    /// Light by the real sun at this Unix time (ms), or the fixed afternoon (none).
    Sun {
        #[serde(default)]
        at_ms: Option<i64>,
    },
    /// Two modes at once: swipe or side by side (layout "off" ends it).
    Compare {
        compare: CompareSettings,
    },
    /// Saves the frame as a PNG once it is drawn.
    Screenshot {
        path: PathBuf,
    },
    /// Closes the viewer after this frame.
    Exit,
}

fn left() -> Button {
    Button::Left
}

fn ten() -> u64 {
    10
}

fn ten_minutes() -> f64 {
    600.0
}

fn opaque() -> f32 {
    1.0
}

/// A parsed script: steps in frame order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub steps: Vec<(u64, Step)>,
}

#[derive(Deserialize)]
struct Line {
    frame: u64,
    #[serde(flatten)]
    step: serde_json::Map<String, serde_json::Value>,
}

impl Script {
    /// Reads a script file.
    pub fn read(path: &Path) -> Result<Script, ScriptError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScriptError::Io { path: path.to_path_buf(), source })?;
        let script = Script::parse(&text, path)?;
        if script.steps.is_empty() {
            return Err(ScriptError::Empty { path: path.to_path_buf() });
        }
        Ok(script)
    }

    /// Parses a script's text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Script, ScriptError> {
        let mut steps = Vec::new();
        let err = |line: usize, field: &str, message: String| ScriptError::Step {
            path: path.to_path_buf(),
            line,
            field: field.to_string(),
            message,
        };
        let mut last = 0;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let mut de = serde_json::Deserializer::from_str(raw);
            let line: Line = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    err(n, &format!("column {}", inner.column()), inner.to_string())
                } else {
                    err(n, if field == "." { "frame" } else { &field }, inner.to_string())
                }
            })?;
            // `{"do": "click", "x": …}` is read as serde's `{"click": {"x": …}}`, which keeps field paths.
            let mut fields = line.step;
            let name = match fields.remove("do") {
                Some(serde_json::Value::String(name)) => name,
                Some(other) => return Err(err(n, "do", format!("{other} is not a step name"))),
                None => return Err(err(n, "do", "missing field `do`".into())),
            };
            // A step without fields is a unit variant, or a struct variant of defaults (`press`).
            let unit =
                fields.is_empty() && serde_json::from_value::<Step>(serde_json::Value::String(name.clone())).is_ok();
            let value = if unit {
                serde_json::Value::String(name.clone())
            } else {
                serde_json::json!({ name.clone(): fields })
            };
            let step: Step = serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let field = path.strip_prefix(&name).map(|f| f.trim_start_matches('.')).unwrap_or(&path);
                err(n, if field.is_empty() || field == "." { "do" } else { field }, e.into_inner().to_string())
            })?;
            if line.frame < last {
                return Err(err(n, "frame", format!("frame {} comes after frame {last}", line.frame)));
            }
            if line.frame > 1_000_000 {
                return Err(err(n, "frame", format!("frame {} is past the limit of 1,000,000", line.frame)));
            }
            if let Step::Drag { frames, .. } = step
                && !(1..=10_000).contains(&frames)
            {
                return Err(err(n, "frames", format!("{frames}: a drag takes 1 to 10,000 frames")));
            }
            let finite = match &step {
                Step::Move { x, y } | Step::Click { x, y, .. } => x.is_finite() && y.is_finite(),
                Step::Drag { x, y, to, .. } => [*x, *y, to[0], to[1]].iter().all(|v| v.is_finite()),
                Step::Wheel { delta } => delta.is_finite(),
                _ => true,
            };
            if !finite {
                return Err(err(n, "x", "positions and deltas must be finite numbers".into()));
            }
            last = line.frame;
            steps.push((line.frame, step));
        }
        Ok(Script { steps })
    }

    /// The frame of the last step.
    pub fn last_frame(&self) -> u64 {
        let extra = |s: &Step| match s {
            Step::Drag { frames, .. } => *frames,
            Step::Key { .. } => 1,
            _ => 0,
        };
        self.steps.iter().map(|(f, s)| f + extra(s)).max().unwrap_or(0)
    }
}

/// What one frame of a script gives the panels and asks of the runner.
#[derive(Debug, Default)]
pub struct FrameSteps {
    pub egui: Vec<egui::Event>,
    pub screenshots: Vec<PathBuf>,
}

/// Replays a script frame by frame.
#[derive(Debug)]
pub struct ScriptPlayer {
    /// Inputs by frame (drags and keys expanded over their frames).
    pending: BTreeMap<u64, Vec<Step>>,
    frame: u64,
    last: u64,
    exit: bool,
    /// The pointer is pressed on a panel: its moves and release are the panel's.
    panel_press: bool,
    cursor: (f64, f64),
}

impl ScriptPlayer {
    pub fn new(script: Script) -> Self {
        let mut pending: BTreeMap<u64, Vec<Step>> = BTreeMap::new();
        let last = script.last_frame();
        for (f, step) in script.steps {
            match step {
                Step::Key { key } => {
                    pending.entry(f).or_default().push(Step::KeyDown { key: key.clone() });
                    pending.entry(f + 1).or_default().push(Step::KeyUp { key });
                }
                Step::Drag { x, y, to, button, frames } => {
                    pending.entry(f).or_default().extend([Step::Move { x, y }, Step::Press { button }]);
                    for k in 1..=frames {
                        let t = k as f64 / frames as f64;
                        let p = Step::Move { x: x + (to[0] - x) * t, y: y + (to[1] - y) * t };
                        pending.entry(f + k).or_default().push(p);
                    }
                    pending.entry(f + frames).or_default().push(Step::Release { button });
                }
                Step::Click { x, y, button } => pending.entry(f).or_default().extend([
                    Step::Move { x, y },
                    Step::Press { button },
                    Step::Release { button },
                ]),
                other => pending.entry(f).or_default().push(other),
            }
        }
        Self { pending, frame: 0, last, exit: false, panel_press: false, cursor: (0.0, 0.0) }
    }

    /// True once every step has been played (or an `exit` step was).
    pub fn finished(&self) -> bool {
        self.exit || (self.frame > self.last && self.pending.is_empty())
    }

    /// Applies this frame's steps to `core`; returns what goes to the panels.
    pub fn frame(&mut self, core: &mut ViewerCore) -> FrameSteps {
        let mut out = FrameSteps::default();
        let steps = self.pending.remove(&self.frame).unwrap_or_default();
        self.frame += 1;
        let scale = core.scale_factor();
        let pos = |(x, y): (f64, f64)| egui::pos2(x as f32 / scale, y as f32 / scale);
        let pointer = |b: Button| match b {
            Button::Left => egui::PointerButton::Primary,
            Button::Right => egui::PointerButton::Secondary,
            Button::Middle => egui::PointerButton::Middle,
        };
        for step in steps {
            match step {
                Step::Move { x, y } => {
                    self.cursor = (x, y);
                    out.egui.push(egui::Event::PointerMoved(pos(self.cursor)));
                    core.input(Input::CursorMoved(x, y));
                }
                Step::Press { button } => {
                    out.egui.push(egui::Event::PointerButton {
                        pos: pos(self.cursor),
                        button: pointer(button),
                        pressed: true,
                        modifiers: Default::default(),
                    });
                    self.panel_press = core.on_panels(self.cursor.0, self.cursor.1);
                    if !self.panel_press {
                        core.input(Input::ButtonDown(button));
                    }
                }
                Step::Release { button } => {
                    out.egui.push(egui::Event::PointerButton {
                        pos: pos(self.cursor),
                        button: pointer(button),
                        pressed: false,
                        modifiers: Default::default(),
                    });
                    if std::mem::take(&mut self.panel_press) {
                        core.cancel_press();
                    } else {
                        core.input(Input::ButtonUp(button));
                    }
                }
                Step::KeyDown { key } => {
                    let typing = core.panels.context().egui_wants_keyboard_input();
                    if let Some(k) = egui_key(&key) {
                        out.egui.push(key_event(k, true));
                    }
                    if !typing {
                        core.input(Input::KeyDown(key));
                    }
                }
                Step::KeyUp { key } => {
                    if let Some(k) = egui_key(&key) {
                        out.egui.push(key_event(k, false));
                    }
                    core.input(Input::KeyUp(key));
                }
                Step::Text { text } => out.egui.push(egui::Event::Text(text)),
                Step::Wheel { delta } => {
                    if core.on_panels(self.cursor.0, self.cursor.1) {
                        out.egui.push(egui::Event::MouseWheel {
                            unit: egui::MouseWheelUnit::Line,
                            delta: egui::vec2(0.0, delta as f32),
                            phase: egui::TouchPhase::Move,
                            source: egui::MouseWheelSource::Wheel,
                            modifiers: Default::default(),
                        });
                    } else {
                        core.input(Input::Wheel(delta));
                    }
                }
                Step::Tool { tool } => core.ui_action(UiAction::Tool(tool)),
                Step::Finish => core.ui_action(UiAction::FinishMeasurement),
                Step::ClearMeasurements => core.ui_action(UiAction::ClearMeasurements),
                Step::Search { query } => core.search(&query),
                Step::FlyTo { hit } => match core.panels.hits().get(hit).map(|h| h.0) {
                    Some(e) => {
                        core.ui_action(UiAction::FlyTo(e));
                        core.ui_action(UiAction::Select(e));
                    }
                    None => tracing::warn!("script: no search hit {hit}"),
                },
                Step::GoTo { bookmark } => core.ui_action(UiAction::GoTo(bookmark)),
                Step::Section { section } => {
                    core.panels.set_section(section);
                    core.ui_action(UiAction::Section(section));
                }
                Step::Scrub { at_ms } => core.ui_action(UiAction::Scrub(at_ms)),
                Step::Mode { mode } => core.ui_action(UiAction::Mode(mode)),
                Step::Sun { at_ms } => core.ui_action(UiAction::Sun(at_ms)),
                Step::Imagery { index, visible, opacity } => {
                    core.ui_action(UiAction::Imagery { index, visible, opacity });
                }
                Step::RunScenario { path } => core.ui_action(UiAction::RunScenario(path)),
                Step::WaitIdle { timeout_s } => {
                    let until =
                        std::time::Instant::now() + std::time::Duration::from_secs_f64(timeout_s.clamp(0.0, 3600.0));
                    while core.busy() && std::time::Instant::now() < until {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    if core.busy() {
                        tracing::warn!("script: still busy after {timeout_s} s");
                    }
                }
                Step::Compare { compare } => core.ui_action(UiAction::Compare(compare)),
                Step::ToggleUi => {
                    core.input(Input::KeyDown("KeyH".into()));
                    core.input(Input::KeyUp("KeyH".into()));
                }
                Step::Screenshot { path } => out.screenshots.push(path),
                Step::Exit => self.exit = true,
                Step::Key { .. } | Step::Click { .. } | Step::Drag { .. } => {} // expanded in `new`
            }
        }
        out
    }
}

fn key_event(key: egui::Key, pressed: bool) -> egui::Event {
    egui::Event::Key { key, physical_key: Some(key), pressed, repeat: false, modifiers: Default::default() }
}

/// egui's key for a winit `KeyCode` name ("KeyA" → A, "Digit1" → 1, "Enter").
fn egui_key(code: &str) -> Option<egui::Key> {
    let name = code.strip_prefix("Key").or_else(|| code.strip_prefix("Digit")).unwrap_or(code);
    let name = match name {
        "NumpadEnter" => "Enter",
        other => other,
    };
    egui::Key::from_name(name)
}

/// Records the user's input as a script, frame by frame.
#[derive(Debug, Default)]
pub struct Recorder {
    frame: u64,
    steps: Vec<(u64, Step)>,
}

impl Recorder {
    /// Records an input (and the text a key typed).
    pub fn push(&mut self, input: &Input, text: Option<&str>) {
        let step = match input.clone() {
            Input::KeyDown(key) => Step::KeyDown { key },
            Input::KeyUp(key) => Step::KeyUp { key },
            Input::CursorMoved(x, y) => {
                // One move a frame is enough: the last.
                if let Some((f, Step::Move { .. })) = self.steps.last()
                    && *f == self.frame
                {
                    self.steps.pop();
                }
                Step::Move { x, y }
            }
            Input::ButtonDown(button) => Step::Press { button },
            Input::ButtonUp(button) => Step::Release { button },
            Input::Wheel(delta) => Step::Wheel { delta },
        };
        self.steps.push((self.frame, step));
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.steps.push((self.frame, Step::Text { text: t.to_string() }));
        }
    }

    pub fn next_frame(&mut self) {
        self.frame += 1;
    }

    /// Writes the script (JSON lines).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let mut out = String::from("# recorded by urbis view --record-input\n");
        for (frame, step) in &self.steps {
            let mut line = serde_json::Map::new();
            line.insert("frame".into(), (*frame).into());
            match serde_json::to_value(step).map_err(|e| e.to_string())? {
                serde_json::Value::String(name) => {
                    line.insert("do".into(), name.into());
                }
                serde_json::Value::Object(o) => {
                    for (name, fields) in o {
                        line.insert("do".into(), name.into());
                        if let serde_json::Value::Object(f) = fields {
                            line.extend(f);
                        }
                    }
                }
                other => return Err(format!("unexpected step {other}")),
            }
            out.push_str(&serde_json::Value::Object(line).to_string());
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Runs the viewer without a window (`engine` made for
/// [`HeadlessTarget::FORMAT`](urbis_render::HeadlessTarget::FORMAT)): `width` × `height` pixels rendered
/// offscreen, the script's input replayed (or `max_frames` frames drawn),
/// screenshots saved as the script asks. Same core, same frames as the window.
pub fn run_offscreen(
    engine: crate::Engine,
    options: crate::ViewOptions,
    hook: Option<Box<dyn crate::FrameHook>>,
    (width, height): (u32, u32),
) -> Result<crate::ViewSummary, crate::WindowError> {
    use urbis_render::HeadlessTarget;
    let Some(limit) = options.script.as_ref().map(|s| s.last_frame() + 1).or(options.max_frames) else {
        return Err(crate::WindowError::NoDisplay("an offscreen viewer needs a script or a frame count to end".into()));
    };
    let (width, height) = (width.clamp(1, 8192), height.clamp(1, 8192));
    let mut player = options.script.clone().map(ScriptPlayer::new);
    let screenshot = options.screenshot.clone();
    let mut core = ViewerCore::new(engine, options, hook, (width, height), 1.0);
    let target = HeadlessTarget::new(&core.engine.ctx, width, height);
    let mut summary = crate::ViewSummary { width, height, ..Default::default() };
    let dt = 1.0 / 30.0;
    loop {
        let frame = core.frames();
        let mut input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width as f32, height as f32))),
            time: Some(frame as f64 * dt),
            predicted_dt: dt as f32,
            ..Default::default()
        };
        let mut shots = Vec::new();
        if let Some(p) = player.as_mut() {
            let step = p.frame(&mut core);
            input.events = step.egui;
            shots = step.screenshots;
        }
        core.frame(dt, &target.texture, input);
        let done = core.wants_exit() || player.as_ref().is_some_and(ScriptPlayer::finished) || core.frames() >= limit;
        if done && let Some(p) = &screenshot {
            shots.push(p.clone());
        }
        for path in shots {
            let px = target.read_rgba(&core.engine.ctx)?;
            let img = image::RgbaImage::from_raw(width, height, px)
                .ok_or_else(|| crate::WindowError::Screenshot("readback size mismatch".into()))?;
            img.save(&path).map_err(|e| crate::WindowError::Screenshot(format!("{}: {e}", path.display())))?;
            summary.screenshots.push(path);
        }
        if done {
            break;
        }
    }
    summary.frames = core.frames();
    summary.events = core.events().to_vec();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Script::parse(text, Path::new("s.jsonl")).expect_err("a bad script").to_string()
    }

    #[test]
    fn bad_scripts_name_the_line_and_field() {
        let ok = "{\"frame\": 1, \"do\": \"click\", \"x\": 1, \"y\": 2}\n";
        let e = error(&format!("{ok}{{\"do\": \"click\", \"x\": 1, \"y\": 2}}"));
        assert!(e.starts_with("s.jsonl:2: frame: missing field `frame`"), "{e}");
        let e = error(&format!("# a comment\n{ok}{{\"frame\": 3, \"do\": \"click\", \"x\": \"a\", \"y\": 2}}"));
        assert!(e.starts_with("s.jsonl:3: x: invalid type"), "{e}");
        let e = error("{\"frame\": 3, \"do\": \"jump\"}");
        assert!(e.starts_with("s.jsonl:1: do: unknown variant `jump`"), "{e}");
        let e = error("{\"frame\": 3, \"do\": \"wheel\", \"delta\": 1, \"z\": 5}");
        assert!(e.contains(":1: ") && e.contains("unknown field `z`"), "{e}");
        let e = error(&format!("{{\"frame\": 5, \"do\": \"exit\"}}\n{ok}"));
        assert!(e.starts_with("s.jsonl:2: frame: frame 1 comes after frame 5"), "{e}");
        let s = Script::parse("{\"frame\": 1, \"do\": \"press\"}\n{\"frame\": 2, \"do\": \"exit\"}", Path::new("s"));
        assert_eq!(s.expect("defaults").steps, vec![(1, Step::Press { button: Button::Left }), (2, Step::Exit)]);
        let e = error("{\"frame\": 3, \"do\": ");
        assert!(e.starts_with("s.jsonl:1: column "), "{e}");
        let e = error("{\"frame\": 3, \"do\": \"drag\", \"x\": 1, \"y\": 2, \"to\": [3, 4], \"frames\": 0}");
        assert!(e.starts_with("s.jsonl:1: frames: "), "{e}");
    }

    #[test]
    fn recorded_input_reads_back_as_the_same_steps() {
        let mut r = Recorder::default();
        r.push(&Input::CursorMoved(10.0, 20.0), None);
        r.push(&Input::CursorMoved(11.0, 21.0), None);
        r.push(&Input::KeyDown("KeyA".into()), Some("a"));
        r.next_frame();
        r.push(&Input::ButtonDown(Button::Right), None);
        r.push(&Input::Wheel(-2.0), None);
        let path = std::env::temp_dir().join(format!("urbis-record-{}.jsonl", std::process::id()));
        r.write(&path).expect("write");
        let back = Script::read(&path).expect("read");
        std::fs::remove_file(&path).ok();
        let want = vec![
            (0, Step::Move { x: 11.0, y: 21.0 }),
            (0, Step::KeyDown { key: "KeyA".into() }),
            (0, Step::Text { text: "a".into() }),
            (1, Step::Press { button: Button::Right }),
            (1, Step::Wheel { delta: -2.0 }),
        ];
        assert_eq!(back.steps, want);
    }
}
