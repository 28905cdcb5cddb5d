//! The video wall in windows (issue 18), under Xvfb on lavapipe: one
//! process opens a borderless window for each of two displays of a 2 × 1
//! wall, at the positions the layout gives, renders the same city into both
//! with one engine, and calls the hook's barrier before every present. The
//! windows show what `render_display` renders headless for their displays
//! (read from Xvfb's screen, kept as a file with `-fbdir`).
//!
//! winit allows one event loop per process, and `DISPLAY` cannot be set
//! in-process (no unsafe code), so the test runs itself again as a child
//! with `DISPLAY` pointing at its own Xvfb.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glam::DVec3;
use urbis_engine::{WallFrame, WallHook, WallView, WallWindowOptions, render_display, run_wall_windows};
use urbis_model::CityModel;
use urbis_render::{GpuContext, Overlay, Panel};

const CHILD: &str = "URBIS_WALL_WINDOW_CHILD";
/// The child reads the screen from this XWD file.
const SCREEN: &str = "URBIS_WALL_WINDOW_SCREEN";
const FRAMES: u64 = 5;

/// Two 1.6 × 0.9 m displays side by side at 320 × 180 pixels, as windows at
/// (0, 0) and (330, 0).
const WALL: &str = r#"
[eye]
position = [1.6, 0.45, 3.0]

[[display]]
id = "left"
rect = [0.0, 0.0, 1.6, 0.9]
pixels = [320, 180]
window = [0, 0]

[[display]]
id = "right"
rect = [1.6, 0.0, 1.6, 0.9]
pixels = [320, 180]
window = [330, 0]
"#;

/// A fixed view over the sample city for `FRAMES` frames, logging its
/// calls; after the last present it reads the screen.
struct Fixed {
    log: Arc<Mutex<Vec<String>>>,
    screen: Option<PathBuf>,
    shot: Arc<Mutex<Option<image::RgbaImage>>>,
}

/// What the hook shows: the city camera (at the wall's eye) and a panel
/// across the seam, in wall-canvas pixels (640 × 180).
fn frame(model: &CityModel) -> WallFrame {
    let panel = Panel { x: 280.0, y: 20.0, title: Some("wall".into()), lines: vec!["across the seam".into()] };
    WallFrame {
        camera: support::enu_camera(model, DVec3::new(-400.0, -900.0, 600.0), DVec3::ZERO),
        lighting: support::enu_lighting(model),
        overlays: vec![Overlay { panels: vec![panel], scale: 1.0, lines: Vec::new() }],
    }
}

impl Fixed {
    fn push(&self, line: String) {
        if let Ok(mut log) = self.log.lock() {
            log.push(line);
        }
    }
}

impl WallHook for Fixed {
    fn begin_frame(&mut self, model: &mut CityModel, seq: u64) -> Option<WallFrame> {
        self.push(format!("begin {seq}"));
        if seq >= FRAMES {
            return None;
        }
        Some(frame(model))
    }

    fn before_present(&mut self, seq: u64) {
        self.push(format!("before {seq}"));
    }

    fn after_present(&mut self, seq: u64) {
        self.push(format!("after {seq}"));
        if seq + 1 == FRAMES
            && let Some(path) = &self.screen
        {
            // Let the X server take the last frame.
            std::thread::sleep(Duration::from_millis(500));
            let screen = support::read_xwd(path).expect("Xvfb's screen");
            if let Ok(mut shot) = self.shot.lock() {
                *shot = Some(screen);
            }
        }
    }
}

#[test]
fn two_displays_in_two_windows() {
    if std::env::var_os(CHILD).is_some() {
        in_windows();
        return;
    }
    if GpuContext::for_tests().is_none() {
        return;
    }
    let Some(xvfb) = support::xvfb() else { return };
    let dir = std::env::temp_dir().join(format!("urbis_wall_window_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (mut server, display) = support::start_xvfb(&xvfb, "1024x768x24", Some(&dir));
    let log = dir.join("child.log");
    let exe = std::env::current_exe().expect("the test binary");
    let (status, output) = support::run_logged(
        Command::new(exe)
            .args(["two_displays_in_two_windows", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env(SCREEN, dir.join("Xvfb_screen0"))
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY"),
        &log,
        Duration::from_secs(300),
    );
    server.kill().ok();
    server.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    println!("{output}");
    assert!(status.is_some(), "the windows did not close within 300 s:\n{output}");
    assert!(status.is_some_and(|s| s.success()), "the windows' run failed:\n{output}");
    assert!(output.contains("1 passed"), "the child ran no test:\n{output}");
    assert!(output.contains("wall windows: 5 frames"), "{output}");
}

/// The child: the windows themselves, on the parent's Xvfb.
fn in_windows() {
    let layout = urbis_wall::config::parse(WALL, Path::new("wall.toml")).expect("valid wall").layout;
    let log = Arc::new(Mutex::new(Vec::new()));
    let shot = Arc::new(Mutex::new(None));
    let screen = std::env::var_os(SCREEN).map(PathBuf::from);
    let hook = Box::new(Fixed { log: log.clone(), screen, shot: shot.clone() });
    let options = WallWindowOptions { displays: vec![0, 1], fullscreen: false, max_frames: Some(100) };
    let summary = run_wall_windows(support::sample_city(), layout.clone(), options, hook).expect("the wall's windows");
    println!("{summary:?}");

    assert_eq!(summary.frames, FRAMES);
    let ids: Vec<&str> = summary.windows.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(ids, ["left", "right"]);
    for w in &summary.windows {
        assert_eq!(w.1, [320, 180], "{} surface", w.0);
        assert_eq!(w.3, None, "{} is windowed, not full screen", w.0);
    }
    // No window manager under Xvfb: the windows stand where the layout put them.
    let positions: Vec<Option<[i32; 2]>> = summary.windows.iter().map(|w| w.2).collect();
    assert_eq!(positions, [Some([0, 0]), Some([330, 0])]);

    // begin, before and after for every frame, in order; the sixth begin ends the run.
    let mut expected: Vec<String> =
        (0..FRAMES).flat_map(|s| [format!("begin {s}"), format!("before {s}"), format!("after {s}")]).collect();
    expected.push(format!("begin {FRAMES}"));
    assert_eq!(*log.lock().expect("log"), expected);

    // Each window shows its display as rendered headless: the crop of one frame.
    let screen = shot.lock().expect("shot").take().expect("the screen after the last frame");
    let mut engine = support::engine(support::sample_city()).expect("a headless engine");
    engine.update();
    let f = frame(&engine.model);
    let wall = WallView::new(&layout, &f.camera).expect("the eye is in front of the wall");
    let mut headless = Vec::new();
    for (i, x) in [(0, 0), (1, 330)] {
        let expected =
            render_display(&mut engine, &layout, &wall, i, &f.lighting, &f.overlays).expect("headless").image;
        let shown = image::imageops::crop_imm(&screen, x, 0, 320, 180).to_image();
        let (differ, mean) = support::image_difference(&shown, &expected, 24);
        if differ > 0.005 || mean > 2.0 {
            let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/golden-failures");
            std::fs::create_dir_all(&out).ok();
            shown.save(out.join(format!("wall_window_{i}.shown.png"))).ok();
            expected.save(out.join(format!("wall_window_{i}.expected.png"))).ok();
        }
        println!("display {i}: {:.3}% of pixels differ, mean {mean:.2}", differ * 100.0);
        assert!(
            differ <= 0.005 && mean <= 2.0,
            "display {i}'s window is not its headless render (see target/golden-failures)"
        );
        headless.push(expected);
    }
    let (differ, _) = support::image_difference(&headless[0], &headless[1], 24);
    assert!(differ > 0.2, "the two displays show different parts of the wall");
    println!("wall windows: {} frames on {} windows", summary.frames, summary.windows.len());
}
