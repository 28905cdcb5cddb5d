//! `urbis view --script FILE`: a bad script is refused with its file, line
//! and field before anything opens; a good one replays offscreen
//! (`--offscreen`) and in a real window under a virtual X server started by
//! the test, takes its screenshots and reports what the viewer did
//! (`--report`). The window's and the offscreen run's pick agree.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use support::{gpu_available, start_xvfb, urbis, wait_up_to, xvfb};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("urbis-view-script-{}", std::process::id()))
}

fn temp(name: &str) -> PathBuf {
    std::fs::create_dir_all(temp_dir()).expect("dir");
    temp_dir().join(name)
}

#[test]
fn a_bad_script_names_its_line_and_field() {
    let path = temp("bad.jsonl");
    std::fs::write(&path, "{\"frame\": 1, \"do\": \"click\", \"x\": 10, \"y\": 10}\n{\"frame\": 2, \"do\": \"wheel\", \"delta\": \"far\"}\n")
        .expect("write");
    let out = urbis().args(["view", "--offscreen", "--script"]).arg(&path).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("{}:2: delta: invalid type", path.display())), "{err}");
}

/// The script: frame 3 clicks the screen centre, frame 5 saves a screenshot.
fn script(shot: &Path) -> PathBuf {
    let path = temp("click.jsonl");
    let text = format!(
        "# click the centre, then a screenshot\n\
         {{\"frame\": 3, \"do\": \"click\", \"x\": 320, \"y\": 240}}\n\
         {{\"frame\": 5, \"do\": \"screenshot\", \"path\": {:?}}}\n",
        shot.display().to_string()
    );
    std::fs::write(&path, text).expect("write");
    path
}

fn picked(report: &Path) -> Option<String> {
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(report).expect("report")).expect("json");
    let picks: Vec<&serde_json::Value> = r["events"].as_array()?.iter().filter(|e| e["event"] == "pick").collect();
    assert_eq!(picks.len(), 1, "one click, one pick: {r}");
    picks[0]["selected"].as_str().map(str::to_string)
}

/// Runs urbis to its end (at most `limit`); its stderr, asserting success.
fn run(cmd: &mut Command, limit: Duration) -> String {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start urbis");
    let (status, err) = wait_up_to(&mut child, limit);
    let status = status.unwrap_or_else(|| panic!("urbis did not finish in {limit:?}"));
    assert!(status.success(), "urbis failed: {err}");
    err
}

#[test]
fn a_script_replays_offscreen_and_in_a_window() {
    if !gpu_available() {
        return;
    }
    let (shot, report) = (temp("offscreen.png"), temp("offscreen.json"));
    let path = script(&shot);
    let err = run(
        urbis()
            .args(["view", "--offscreen", "--width", "640", "--height", "480", "--script"])
            .arg(&path)
            .arg("--report")
            .arg(&report)
            .current_dir(root()),
        Duration::from_secs(300),
    );
    assert!(err.contains("view: presented 6 frames at 640×480"), "{err}");
    let img = image::open(&shot).expect("screenshot").to_rgba8();
    assert_eq!(img.dimensions(), (640, 480));
    let offscreen = picked(&report);
    assert!(offscreen.is_some(), "the sample city's centre is a feature");

    // The same script in a real window on a virtual display.
    let Some(xvfb) = xvfb() else { return };
    let display = format!(":{}", 200 + std::process::id() % 100);
    let mut server = start_xvfb(&xvfb, &display, "1024x768x24");
    let (wshot, wreport) = (temp("window.png"), temp("window.json"));
    let path = script(&wshot);
    let result = std::panic::catch_unwind(|| {
        run(
            urbis()
                .args(["view", "--width", "640", "--height", "480", "--script"])
                .arg(&path)
                .arg("--report")
                .arg(&wreport)
                .current_dir(root())
                .env("DISPLAY", &display)
                .env_remove("WAYLAND_DISPLAY"),
            Duration::from_secs(300),
        )
    });
    server.kill().ok();
    server.wait().ok();
    let err = result.unwrap_or_else(|e| std::panic::resume_unwind(e));
    assert!(err.contains("view: presented 6 frames at 640×480"), "{err}");
    let img = image::open(&wshot).expect("window screenshot").to_rgba8();
    assert_eq!(img.dimensions(), (640, 480));
    assert_eq!(picked(&wreport), offscreen, "the window's pick is the offscreen run's");
    // Other tests of this binary use the same directory at the same time: only this test's files go.
    for f in [&shot, &report, &wshot, &wreport, &path] {
        std::fs::remove_file(f).ok();
    }
}

fn difference(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let differ = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0).take(3).any(|(x, y)| x.abs_diff(y) > 24))
        .count();
    differ as f64 / f64::from(a.width() * a.height())
}

/// A tour recorded in the viewer (key K, with the panels hidden by key H)
/// replays in `urbis fly --tour` to the frames the viewer showed at each
/// recorded pose.
#[test]
fn a_recorded_tour_replays_to_the_same_frames() {
    if !gpu_available() {
        return;
    }
    let dir = temp_dir().join("tour");
    std::fs::create_dir_all(&dir).expect("dir");
    let shot = |k: usize| dir.join(format!("viewer_{k}.png"));
    let tour = dir.join("tour.json");
    // Fly forward, look right by dragging, rise, with a pose and a screenshot whenever still.
    let steps = [
        "{\"frame\": 0, \"do\": \"move\", \"x\": -1, \"y\": -1}".to_string(),
        "{\"frame\": 0, \"do\": \"key\", \"key\": \"KeyH\"}".into(),
        "{\"frame\": 2, \"do\": \"key\", \"key\": \"KeyK\"}".into(),
        format!("{{\"frame\": 2, \"do\": \"screenshot\", \"path\": {:?}}}", shot(0).display().to_string()),
        "{\"frame\": 4, \"do\": \"key_down\", \"key\": \"KeyW\"}".into(),
        "{\"frame\": 16, \"do\": \"key_up\", \"key\": \"KeyW\"}".into(),
        "{\"frame\": 18, \"do\": \"drag\", \"x\": 100, \"y\": 120, \"to\": [180, 110], \"frames\": 8}".into(),
        // Off the view again: nothing hovered (and so highlighted) in the frames compared.
        "{\"frame\": 27, \"do\": \"move\", \"x\": -1, \"y\": -1}".into(),
        "{\"frame\": 30, \"do\": \"key\", \"key\": \"KeyK\"}".into(),
        format!("{{\"frame\": 30, \"do\": \"screenshot\", \"path\": {:?}}}", shot(1).display().to_string()),
        "{\"frame\": 32, \"do\": \"key_down\", \"key\": \"KeyE\"}".into(),
        "{\"frame\": 40, \"do\": \"key_up\", \"key\": \"KeyE\"}".into(),
        "{\"frame\": 42, \"do\": \"key\", \"key\": \"KeyK\"}".into(),
        format!("{{\"frame\": 42, \"do\": \"screenshot\", \"path\": {:?}}}", shot(2).display().to_string()),
    ];
    let script = dir.join("tour.jsonl");
    std::fs::write(&script, steps.join("\n")).expect("write");
    run(
        urbis()
            .args(["view", "--offscreen", "--width", "320", "--height", "240", "--fov", "45", "--script"])
            .arg(&script)
            .arg("--record-tour")
            .arg(&tour)
            .current_dir(root()),
        Duration::from_secs(300),
    );
    let poses: serde_json::Value = serde_json::from_slice(&std::fs::read(&tour).expect("tour")).expect("json");
    assert_eq!(poses.as_array().map(Vec::len), Some(3), "{poses}");
    let out = dir.join("frames");
    let fly = urbis()
        .args(["fly", "--frames", "12", "--width", "320", "--height", "240", "--fov", "45", "--json", "--tour"])
        .arg(&tour)
        .arg("--out-dir")
        .arg(&out)
        .current_dir(root())
        .output()
        .expect("fly");
    assert!(fly.status.success(), "{}", String::from_utf8_lossy(&fly.stderr));
    let report: serde_json::Value = serde_json::from_slice(&fly.stdout).expect("fly json");
    for k in 0..3 {
        let frame = report["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .find(|f| f["waypoint"] == k)
            .and_then(|f| f["frame"].as_u64())
            .unwrap_or_else(|| panic!("waypoint {k} in {report}"));
        let flown = image::open(out.join(format!("frame_{frame:05}.png"))).expect("flown frame").to_rgba8();
        let seen = image::open(shot(k)).expect("viewer frame").to_rgba8();
        let d = difference(&flown, &seen);
        assert!(d < 0.005, "pose {k}: {:.3} % of pixels differ between the viewer and the replay", d * 100.0);
        if k > 0 {
            let before = image::open(shot(k - 1)).expect("viewer frame").to_rgba8();
            assert!(difference(&before, &seen) > 0.05, "pose {k} shows a different view from pose {}", k - 1);
        }
    }
    // The viewer plays the tour too (`view --tour`): after its 1.33 s it rests on the last pose.
    let end = dir.join("played.png");
    let steps = [
        "{\"frame\": 0, \"do\": \"move\", \"x\": -1, \"y\": -1}".to_string(),
        "{\"frame\": 0, \"do\": \"key\", \"key\": \"KeyH\"}".into(),
        format!("{{\"frame\": 50, \"do\": \"screenshot\", \"path\": {:?}}}", end.display().to_string()),
    ];
    std::fs::write(&script, steps.join("\n")).expect("write");
    run(
        urbis()
            .args(["view", "--offscreen", "--width", "320", "--height", "240", "--fov", "45", "--script"])
            .arg(&script)
            .arg("--tour")
            .arg(&tour)
            .current_dir(root()),
        Duration::from_secs(300),
    );
    let played = image::open(&end).expect("played").to_rgba8();
    let d = difference(&played, &image::open(shot(2)).expect("pose 2").to_rgba8());
    assert!(d < 0.005, "the played tour ends at the last pose ({:.3} % differ)", d * 100.0);
    std::fs::remove_dir_all(&dir).ok();
}

/// The timeline's scrubber shows the live state at a past time: the
/// selected gauge then reads what the replayed file says it read then;
/// the scenario panel's modes switch what the view shows (baseline against
/// difference).
#[test]
fn the_timeline_scrubs_and_the_scenario_panel_switches_modes() {
    if !gpu_available() {
        return;
    }
    // 2026-07-15T01:00:15Z: 15 s after a gauge-01 reading, 15 s before the next.
    const AT_MS: i64 = 1_784_077_215_000;
    let file = std::fs::read_to_string(root().join("assets/sample_city/sensors.jsonl")).expect("replay file");
    let want = file
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .find(|r| r["sensor"] == "gauge-01" && r["time"] == "2026-07-15T01:00:00.000Z")
        .and_then(|r| r["value"].as_f64())
        .expect("gauge-01 at 01:00");
    let (script, report) = (temp("timeline.jsonl"), temp("timeline.json"));
    let (baseline, scenario) = (temp("baseline.png"), temp("scenario.png"));
    let steps = [
        "{\"frame\": 1, \"do\": \"search\", \"query\": \"sensor_id = gauge-01\"}".to_string(),
        "{\"frame\": 2, \"do\": \"fly_to\", \"hit\": 0}".into(),
        format!("{{\"frame\": 30, \"do\": \"scrub\", \"at_ms\": {AT_MS}}}"),
        "{\"frame\": 31, \"do\": \"scrub\"}".into(),
        "{\"frame\": 32, \"do\": \"toggle_ui\"}".into(),
        "{\"frame\": 33, \"do\": \"key\", \"key\": \"KeyF\"}".into(),
        "{\"frame\": 35, \"do\": \"mode\", \"mode\": 0}".into(),
        format!("{{\"frame\": 36, \"do\": \"screenshot\", \"path\": {:?}}}", baseline.display().to_string()),
        "{\"frame\": 37, \"do\": \"mode\", \"mode\": 2}".into(),
        format!("{{\"frame\": 38, \"do\": \"screenshot\", \"path\": {:?}}}", scenario.display().to_string()),
    ];
    std::fs::write(&script, steps.join("\n")).expect("write");
    run(
        urbis()
            .args(["view", "--offscreen", "--width", "480", "--height", "320", "--script"])
            .arg(&script)
            .arg("--report")
            .arg(&report)
            .args(["--live", "replay:assets/sample_city/sensors.jsonl?speed=max"])
            .args(["--scenario", "examples/scenarios/tower_in_park.toml"])
            .current_dir(root()),
        Duration::from_secs(300),
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    let scrubs: Vec<&serde_json::Value> =
        r["events"].as_array().expect("events").iter().filter(|e| e["event"] == "scrub").collect();
    assert_eq!(scrubs.len(), 2, "{r}");
    let reading = |e: &serde_json::Value| e["readings"][0][1].as_f64();
    assert_eq!(scrubs[0]["at_ms"], AT_MS);
    assert_eq!(reading(scrubs[0]), Some(want), "gauge-01 at 01:00:15 reads its 01:00:00 value: {}", scrubs[0]);
    assert!(scrubs[1]["at_ms"].is_null());
    assert!(reading(scrubs[1]).is_some_and(|v| v != want), "live again: the newest reading {}", scrubs[1]);
    let modes: Vec<u64> = r["events"].as_array().expect("events").iter().filter_map(|e| e["mode"].as_u64()).collect();
    assert_eq!(modes, vec![0, 2]);
    let (b, s) =
        (image::open(&baseline).expect("baseline").to_rgba8(), image::open(&scenario).expect("scenario").to_rgba8());
    let d = difference(&b, &s);
    assert!(d > 0.001, "the difference mode colours what the scenario changed ({:.3} % differ)", d * 100.0);
}

/// A bad style or tour is reported with its file, line or field, and the
/// viewer opens without it.
#[test]
fn the_viewer_opens_without_a_bad_style_or_tour() {
    if !gpu_available() {
        return;
    }
    let (style, tour) = (temp("bad.toml"), temp("bad-tour.json"));
    std::fs::write(&style, "[[rule]]\nwhen = \"class = Road\"\ncolor = \"#f0802\"\n").expect("write");
    std::fs::write(&tour, "[{\"lon\": 116.3, \"lat\": 95, \"height\": 300}]").expect("write");
    let err = run(
        urbis()
            .args(["view", "--offscreen", "--frames", "2", "--width", "320", "--height", "240", "--style"])
            .arg(&style)
            .arg("--tour")
            .arg(&tour)
            .current_dir(root()),
        Duration::from_secs(300),
    );
    assert!(err.contains(&format!("warning: style not applied: {}:3:9: rule[0].color", style.display())), "{err}");
    assert!(err.contains(&format!("warning: tour not loaded: {}: [0]: out of range", tour.display())), "{err}");
    assert!(err.contains("view: presented 2 frames"), "{err}");
}

/// The scenario panel runs a scenario file in the background (a bad one is
/// reported and the view goes on), writes the run's outputs, and then
/// compares it in 3D: the difference mode shows what the baseline does not.
#[test]
fn the_scenario_panel_runs_a_scenario_and_compares_it() {
    if !gpu_available() {
        return;
    }
    let dir = temp_dir().join("panel-run");
    std::fs::create_dir_all(&dir).expect("dir");
    let good = dir.join("small.toml");
    std::fs::write(
        &good,
        "name = \"small\"\ncrs = \"local\"\n[[modify]]\nkind = \"add_building\"\nid = \"tower\"\nheight = 120\n\
         footprint = [[303, 56], [333, 56], [333, 86], [303, 86]]\n[compliance]\nheight_limit_m = 100\n",
    )
    .expect("write");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"bad\"\n[[modify]]\nkind = \"paint_it_blue\"\n").expect("write");
    let (base, diff, script) = (dir.join("base.png"), dir.join("diff.png"), dir.join("run.jsonl"));
    let steps = [
        format!("{{\"frame\": 1, \"do\": \"run_scenario\", \"path\": {:?}}}", bad.display().to_string()),
        format!("{{\"frame\": 2, \"do\": \"run_scenario\", \"path\": {:?}}}", good.display().to_string()),
        "{\"frame\": 3, \"do\": \"wait_idle\", \"timeout_s\": 280}".into(),
        "{\"frame\": 5, \"do\": \"toggle_ui\"}".into(),
        "{\"frame\": 5, \"do\": \"mode\", \"mode\": 0}".into(),
        format!("{{\"frame\": 6, \"do\": \"screenshot\", \"path\": {:?}}}", base.display().to_string()),
        "{\"frame\": 7, \"do\": \"mode\", \"mode\": 2}".into(),
        format!("{{\"frame\": 8, \"do\": \"screenshot\", \"path\": {:?}}}", diff.display().to_string()),
    ];
    std::fs::write(&script, steps.join("\n")).expect("write");
    let err = run(
        urbis()
            .args(["view", "--offscreen", "--width", "480", "--height", "320", "--script"])
            .arg(&script)
            .current_dir(&dir),
        Duration::from_secs(300),
    );
    assert!(err.contains("scenario not run:") && err.contains("bad.toml"), "the bad file is reported: {err}");
    let out = dir.join("out/small");
    assert!(out.join("report.md").is_file() && out.join("results.json").is_file(), "the run wrote its outputs");
    let d = difference(&image::open(&base).expect("base").to_rgba8(), &image::open(&diff).expect("diff").to_rgba8());
    assert!(d > 0.001, "difference mode colours the added tower ({:.3} % differ)", d * 100.0);
    std::fs::remove_dir_all(&dir).ok();
}

/// Imagery in the layers panel: hiding the sample orthophoto drapes the
/// ground again without it (neutral), showing it again brings it back.
#[test]
fn imagery_layers_show_and_hide_from_the_panel() {
    if !gpu_available() {
        return;
    }
    let dir = temp_dir().join("imagery");
    std::fs::create_dir_all(&dir).expect("dir");
    let shot = |n: &str| dir.join(format!("{n}.png"));
    let steps = [
        "{\"frame\": 0, \"do\": \"toggle_ui\"}".to_string(),
        format!("{{\"frame\": 1, \"do\": \"screenshot\", \"path\": {:?}}}", shot("on").display().to_string()),
        "{\"frame\": 2, \"do\": \"imagery\", \"index\": 0, \"visible\": false}".into(),
        format!("{{\"frame\": 3, \"do\": \"screenshot\", \"path\": {:?}}}", shot("off").display().to_string()),
        "{\"frame\": 4, \"do\": \"imagery\", \"index\": 0, \"visible\": true}".into(),
        format!("{{\"frame\": 5, \"do\": \"screenshot\", \"path\": {:?}}}", shot("again").display().to_string()),
    ];
    let script = dir.join("imagery.jsonl");
    std::fs::write(&script, steps.join("\n")).expect("write");
    run(
        urbis()
            .args(["view", "--offscreen", "--width", "480", "--height", "320", "--imagery", "sample", "--script"])
            .arg(&script)
            .current_dir(root()),
        Duration::from_secs(300),
    );
    let open = |n: &str| image::open(shot(n)).expect("shot").to_rgba8();
    let (on, off, again) = (open("on"), open("off"), open("again"));
    assert!(
        difference(&on, &off) > 0.02,
        "hiding the orthophoto changes the ground ({:.3} %)",
        difference(&on, &off) * 100.0
    );
    assert!(difference(&on, &again) < 0.002, "showing it again restores the view");
    std::fs::remove_dir_all(&dir).ok();
}
