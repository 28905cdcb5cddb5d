//! The `urbis` binary: the exact command forms of the foundation issue.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn urbis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_urbis"))
}

fn gpu_available() -> bool {
    let ok = urbis_render::GpuContext::headless().is_ok();
    if !ok && urbis_render::GpuContext::gpu_required() {
        panic!("URBIS_REQUIRE_GPU=1 but no GPU adapter");
    }
    if !ok {
        eprintln!("SKIP: no GPU adapter");
    }
    ok
}

fn json_of(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("run urbis");
    assert!(out.status.success(), "urbis failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn inspect_json_lists_classes_and_attribute_keys() {
    let v = json_of(urbis().args([
        "inspect",
        "--json",
        "--where",
        "class = Building and use = residential and height > 50",
    ]));
    let buildings = v["counts"]["Building"].as_u64().expect("Building count");
    assert!((3000..=10000).contains(&buildings), "{buildings}");
    for class in ["Road", "WaterBody", "PlantCover", "SolitaryVegetationObject", "TINRelief", "Bridge", "BuildingPart"]
    {
        assert!(v["counts"][class].as_u64().is_some_and(|n| n > 0), "no {class}: {}", v["counts"]);
    }
    let keys = &v["attribute_keys"]["Building"];
    for k in ["height", "floors", "use", "year_built", "address"] {
        assert!(keys.get(k).is_some(), "Building attribute {k} missing: {keys}");
    }
    assert_eq!(keys["year_built"], serde_json::json!(["int"]));
    let m = v["query"]["matches"].as_u64().expect("matches");
    assert!(m > 0);
    for f in v["query"]["first"].as_array().expect("first") {
        assert_eq!(f["attributes"]["use"], "residential");
        assert!(f["attributes"]["height"].as_f64().expect("height") > 50.0);
    }
}

#[test]
fn render_writes_a_png_of_the_requested_size() {
    if !gpu_available() {
        return;
    }
    let out = std::env::temp_dir().join(format!("urbis-cli-{}.png", std::process::id()));
    let status =
        urbis().args(["render", "--out"]).arg(&out).args(["--width", "320", "--height", "180"]).status().expect("run");
    assert!(status.success());
    let img = image::open(&out).expect("png").to_rgb8();
    assert_eq!(img.dimensions(), (320, 180));
    // Not a blank frame: many distinct colours.
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 500, "only {} colours", colours.len());
    std::fs::remove_file(&out).ok();

    let bad = urbis().args(["render", "--out", "/tmp/x.png", "--camera", "1,2,3"]).output().expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lon,lat,height,heading,pitch"));
}

#[test]
fn pick_json_returns_the_building_under_the_pixel() {
    if !gpu_available() {
        return;
    }
    // Find the tallest building's roof, then look straight down at it.
    let v = json_of(urbis().args(["inspect", "--json", "--where", "class = Building and height > 0"]));
    assert!(v["query"]["matches"].as_u64().expect("n") > 0);
    let all = json_of(urbis().args(["inspect", "--json", "--where", "class = Building and height > 120"]));
    let tall = all["query"]["first"].as_array().expect("tall buildings").iter().max_by(|a, b| {
        a["attributes"]["height"].as_f64().unwrap_or(0.0).total_cmp(&b["attributes"]["height"].as_f64().unwrap_or(0.0))
    });
    let tall = tall.expect("a building over 120 m");
    let (lon, lat) = (tall["position"]["lon"].as_f64().expect("lon"), tall["position"]["lat"].as_f64().expect("lat"));
    let top = tall["bounds_enu"]["max"][2].as_f64().expect("top") + all["frame"]["height"].as_f64().expect("frame h");
    let camera = format!("{lon},{lat},{},0,-90", top + 150.0);
    let p = json_of(urbis().args([
        "pick", "--x", "200", "--y", "150", "--width", "400", "--height", "300", "--camera", &camera, "--json",
    ]));
    let f = &p["feature"];
    let picked = f["parent"]["feature_id"].as_str().or(f["feature_id"].as_str()).expect("a feature");
    assert_eq!(picked, tall["feature_id"].as_str().expect("id"), "{p}");
}

#[test]
fn view_without_display_points_to_render() {
    let out = urbis().arg("view").env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY").output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("urbis render"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Opens the real window under a virtual X server started by the test, for a few frames.
#[test]
fn view_opens_a_window_under_xvfb() {
    let xvfb = ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"].iter().map(PathBuf::from).find(|p| p.exists());
    let Some(xvfb) = xvfb else {
        assert!(!urbis_render::GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1: install xvfb for the window test");
        eprintln!("SKIP: Xvfb not installed");
        return;
    };
    if !gpu_available() {
        return;
    }
    let display = format!(":{}", 90 + std::process::id() % 100);
    let mut server = Command::new(xvfb)
        .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    std::thread::sleep(Duration::from_millis(800));
    // The plain viewer, the viewer with the sample sensors replayed at 600×, and a scenario
    // compared with its baseline together with live sensors (both frame hooks at once).
    let runs: [&[&str]; 3] = [
        &["view", "--frames", "5"],
        &["view", "--frames", "30", "--live", "replay:assets/sample_city/sensors.jsonl?speed=600"],
        &[
            "view",
            "--frames",
            "10",
            "--scenario",
            "examples/scenarios/tower_in_park.toml",
            "--scenario-mode",
            "difference",
            "--live",
            "replay:assets/sample_city/sensors.jsonl?speed=600",
        ],
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for args in runs {
        let mut child = urbis()
            .args(args)
            .current_dir(&root)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start urbis view");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if start.elapsed() > Duration::from_secs(120) {
                child.kill().ok();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            e.read_to_string(&mut err).ok();
        }
        let Some(status) = status else {
            server.kill().ok();
            panic!("urbis {args:?} did not finish in 120 s");
        };
        assert!(status.success(), "urbis {args:?} failed: {err}");
    }
    server.kill().ok();
    server.wait().ok();
}

/// `urbis live simulate` writes a recording and its config; `urbis live stats`
/// replays it as fast as possible and reports every reading applied and the alarms.
#[test]
fn live_simulate_then_stats_counts_every_reading_and_the_flood() {
    let dir = std::env::temp_dir().join(format!("urbis-cli-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let rec = dir.join("rec.jsonl");
    let out =
        urbis().args(["live", "simulate", "--duration", "5400", "--out"]).arg(&rec).output().expect("run simulate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = std::fs::read_to_string(&rec).expect("recording").lines().count() as u64;
    assert!(dir.join("rec.toml").is_file());
    let v = json_of(
        urbis()
            .args(["live", "stats", "--json", "--seconds", "120", "--live"])
            .arg(format!("replay:{}?speed=max", rec.display())),
    );
    let s = &v["stats"];
    assert_eq!(s["applied"].as_u64(), Some(lines), "{s}");
    assert_eq!((s["dropped"].as_u64(), s["unknown"].as_u64()), (Some(0), Some(0)), "{s}");
    let alarms = v["active_alarms"].as_array().expect("alarms");
    assert!(alarms.iter().any(|a| a["alarm"] == "river flood" && a["feature"] == "XA-W-river"), "{v}");
    // The alarm log beside the config holds the raise events.
    let log = std::fs::read_to_string(dir.join("alarms.jsonl")).expect("alarm log");
    assert!(log.lines().any(|l| l.contains("\"river flood\"") && l.contains("\"raised\"")));
    // And a still image at a moment of the recording.
    if gpu_available() {
        let png = dir.join("live.png");
        let out = urbis()
            .args(["render", "--width", "320", "--height", "180", "--live-at", "2026-07-15T01:10:00Z", "--live"])
            .arg(format!("replay:{}", rec.display()))
            .arg("--out")
            .arg(&png)
            .output()
            .expect("render");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(image::open(&png).expect("png").width(), 320);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_json_counts_unsupported_ifc_geometry() {
    let ifc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../urbis_formats/tests/data/sample.ifc");
    let v = json_of(urbis().arg("inspect").arg("--json").arg(&ifc));
    let source = &v["sources"][0];
    assert_eq!(source["unsupported"]["IFCADVANCEDBREP"], 1, "{source}");
    assert!(
        source["warnings"].as_array().expect("warnings").iter().any(|w| w.as_str().is_some_and(|w| w.contains("#"))),
        "warnings name the entity: {source}"
    );
    assert!(v["counts"]["Building"].as_u64().is_some_and(|n| n >= 5), "{}", v["counts"]);
}
