//! `urbis sim run` and `urbis render --scenario` as a user runs them: a
//! report and its outputs, errors naming the line and field, Ctrl-C keeping
//! partial outputs, and the 3D comparison.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::urbis;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-sim-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const TOWER: &str = "crs = \"local\"\n[[modify]]\nkind = \"add_building\"\nid = \"tower\"\nheight = 120\n\
                     footprint = [[303, 56], [333, 56], [333, 86], [303, 86]]\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write scenario");
    p
}

#[test]
fn sim_run_writes_the_report_then_render_compares_in_3d() {
    let dir = temp("run");
    let s = write(
        &dir,
        "small.toml",
        &format!(
            "name = \"small\"\n{TOWER}[flood]\ncoarsen = 4\nduration_min = 5\nrain_mm_per_h = 80\n\
             [sunlight]\nstep_min = 30\nradius_m = 150\n[compliance]\nheight_limit_m = 100\n"
        ),
    );
    let out = dir.join("out");
    let run = urbis().args(["sim", "run"]).arg(&s).arg("--out").arg(&out).output().expect("run");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("1 buildings added") && stdout.contains("compliance of tower: FAIL"), "{stdout}");
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("## Flood") && report.contains("## Sunlight") && report.contains("## Planning compliance"));
    assert!(out.join("scenario/flood/max_depth.tif").is_file() && out.join("diff/flood_max_depth_diff.png").is_file());

    let gpu = urbis_render::GpuContext::headless().is_ok();
    if !gpu {
        assert!(!urbis_render::GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1 but no GPU adapter");
        eprintln!("SKIP: render --scenario needs a GPU adapter");
        return;
    }
    let render = |mode: &str| -> image::RgbImage {
        let png = dir.join(format!("{mode}.png"));
        let r = urbis()
            .args(["render", "--scenario"])
            .arg(&s)
            .arg("--scenario-results")
            .arg(&out)
            .args(["--scenario-mode", mode, "--width", "320", "--height", "180", "--camera"])
            .arg("115.9072,38.9962,230,-36,-14")
            .arg("--out")
            .arg(&png)
            .output()
            .expect("render");
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        image::open(&png).expect("png").to_rgb8()
    };
    let (base, scen, diff) = (render("baseline"), render("scenario"), render("difference"));
    let differing = |a: &image::RgbImage, b: &image::RgbImage| {
        a.pixels().zip(b.pixels()).filter(|(p, q)| p.0.iter().zip(q.0).any(|(x, y)| x.abs_diff(y) > 40)).count()
    };
    // The tower appears (hundreds of pixels), and the difference mode recolours the scene.
    assert!(differing(&base, &scen) > 300, "{}", differing(&base, &scen));
    assert!(differing(&scen, &diff) > 300, "{}", differing(&scen, &diff));
    let red = diff.pixels().filter(|p| p.0[0] > 150 && p.0[1] < 80 && p.0[2] < 80).count();
    assert!(red > 100, "the added tower is red in the difference: {red} px");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn scenario_errors_name_the_file_line_and_field() {
    let dir = temp("errors");
    let s = write(&dir, "bad.toml", "name = \"bad\"\n[flood]\nrain_mm_per_h = -3\n");
    let r = urbis().args(["sim", "run"]).arg(&s).output().expect("run");
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("bad.toml:3:") && err.contains("flood.rain_mm_per_h") && err.contains("negative"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_run_and_keeps_partial_outputs() {
    let dir = temp("ctrlc");
    // Ten hours of river rise on 10 m cells: far longer than the test waits.
    let s = write(
        &dir,
        "long.toml",
        &format!("name = \"long\"\n{TOWER}[flood]\ncoarsen = 2\nduration_min = 600\nriver_rise_m = 4\n"),
    );
    let out = dir.join("out");
    let mut child = urbis()
        .args(["sim", "run"])
        .arg(&s)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The report's first part appears once the city is loaded and changed; then let the flood run a moment.
    let start = Instant::now();
    while !out.join("report.md").exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "the run never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill").arg("-INT").arg(child.id().to_string()).status().expect("kill");
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the run did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130));
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("Interrupted") && report.contains("(partial)"), "{report}");
    let summary = std::fs::read_to_string(out.join("baseline/flood/summary.txt")).expect("partial summary");
    assert!(summary.contains("PARTIAL, interrupted at"), "{summary}");
    assert!(out.join("baseline/flood/max_depth.tif").is_file());
    std::fs::remove_dir_all(&dir).ok();
}

/// The shipped example scenarios run end to end and still show what the README says they show.
#[test]
fn the_example_scenarios_show_their_effects() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = temp("examples");
    let run = |name: &str| -> (String, String) {
        let out = dir.join(name);
        let r = urbis()
            .current_dir(&root)
            .args(["sim", "run"])
            .arg(format!("examples/scenarios/{name}.toml"))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run");
        assert!(r.status.success(), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        (
            String::from_utf8_lossy(&r.stdout).into_owned(),
            std::fs::read_to_string(out.join("report.md")).expect("report"),
        )
    };
    // The tower: fails the 100 m zone, breaks the skyline from Park 175, takes winter sun from homes.
    // The README states these figures; they are pinned exactly, so any change in behaviour shows.
    let (stdout, report) = run("tower_in_park");
    assert!(report.contains("<= 100.0 m (zone riverside 100 m zone) | **FAIL**"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("| Park 175 |") && l.contains("**yes**")), "{report}");
    let line =
        |prefix: &str| stdout.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {stdout}"));
    assert_eq!(
        line("sunlight:"),
        "sunlight: 422 windows short of 2 h (baseline 396); 3 buildings lose compliance",
        "{stdout}"
    );
    assert_eq!(line("view from Park 175:"), "view from Park 175: 0.001 km2 hidden, skyline 5.9 -> 18.2 deg");
    assert_eq!(line("compliance of proposed-tower:"), "compliance of proposed-tower: FAIL");
    // The levee and the raised quarter: 5 of 30 flooded buildings relieved, none newly flooded,
    // and the east riverside gauge stays dry.
    let (stdout, report) = run("river_levee");
    let flooded = stdout.lines().find(|l| l.starts_with("flooded buildings:")).expect("flooded line");
    assert_eq!(flooded, "flooded buildings: 30 baseline, 25 scenario (0 new, 5 relieved)", "{stdout}");
    let gauge = report.lines().find(|l| l.starts_with("| East riverside |")).expect("gauge row");
    let peaks: Vec<f64> = gauge.split('|').filter_map(|s| s.trim().parse().ok()).collect();
    assert!(peaks[0] > 0.1 && peaks[1] < 0.01, "{gauge}");
    // The playback the viewer plays holds the same story: every gauge interval
    // from 0 to 120 min, and by the gauge the baseline floods, the scenario not.
    let play = |run: &str| {
        let p = dir.join("river_levee").join(run).join("flood/playback.bin");
        urbis_sim::playback::FloodPlayback::read(&p).unwrap_or_else(|e| panic!("{e}"))
    };
    let (b, s) = (play("baseline"), play("scenario"));
    let times: Vec<f64> = b.frames.iter().map(|f| f.0).collect();
    assert_eq!((times.first().copied(), times.last().copied()), (Some(0.0), Some(7200.0)), "{times:?}");
    assert!(times.windows(2).all(|w| w[1] > w[0]) && times.len() > 10);
    let near = |p: &urbis_sim::playback::FloodPlayback| {
        let at = glam::DVec3::new(940.0, -175.0, 0.0);
        let mut cells: Vec<usize> = (0..p.cells.len()).collect();
        cells.sort_by(|&i, &j| (p.cells[i] - at).truncate().length().total_cmp(&(p.cells[j] - at).truncate().length()));
        cells.truncate(4);
        p.frames.iter().flat_map(|f| cells.iter().map(|&c| f64::from(f.1[c]))).fold(0.0, f64::max)
    };
    assert!(near(&b) > 0.1 && near(&s) < 0.02, "by the gauge: baseline {}, scenario {}", near(&b), near(&s));
    viewer_plays_the_flood(&root, &dir.join("river_levee/baseline/flood/playback.bin"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `urbis view --flood`: scrubbed to the end, more of the view is water than at the start.
fn viewer_plays_the_flood(root: &Path, playback: &Path) {
    if urbis_render::GpuContext::headless().is_err() {
        assert!(!urbis_render::GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1 but no GPU adapter");
        return;
    }
    let dir = playback.parent().expect("dir");
    let (start, end, script) = (dir.join("start.png"), dir.join("end.png"), dir.join("play.jsonl"));
    let steps = [
        "{\"frame\": 0, \"do\": \"toggle_ui\"}".to_string(),
        "{\"frame\": 1, \"do\": \"scrub\", \"at_ms\": 0}".into(),
        format!("{{\"frame\": 2, \"do\": \"screenshot\", \"path\": {:?}}}", start.display().to_string()),
        "{\"frame\": 3, \"do\": \"scrub\", \"at_ms\": 7200000}".into(),
        format!("{{\"frame\": 4, \"do\": \"screenshot\", \"path\": {:?}}}", end.display().to_string()),
    ];
    std::fs::write(&script, steps.join("\n")).expect("script");
    let r = urbis()
        .current_dir(root)
        .args(["view", "--offscreen", "--width", "480", "--height", "320", "--flood"])
        .arg(playback)
        .arg("--script")
        .arg(&script)
        .output()
        .expect("view");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // Water pixels: blue well above red (the water colour); roofs, lawns and roads are not.
    let water = |p: &Path| {
        let img = image::open(p).expect("shot").to_rgb8();
        img.pixels().filter(|px| i32::from(px[2]) > i32::from(px[0]) + 60 && px[2] > 120).count()
    };
    let (w0, w1) = (water(&start), water(&end));
    assert!(w1 as f64 > w0 as f64 * 1.3 && w1 > 500, "water pixels: {w0} at the start, {w1} at the end");
}

/// `urbis sim lisflood` runs a LISFLOOD-FP case end to end (EA Test 1 in
/// LISFLOOD-FP's format) and writes its outputs; its peaks are LISFLOOD-FP
/// 8.1's (`urbis_sim/tests/data/lisflood`); an unsupported keyword is refused.
#[test]
fn sim_lisflood_runs_a_case_and_refuses_what_it_cannot_run() {
    let case = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../urbis_sim/tests/data/lisflood/ea1/ea1.par");
    let dir = temp("lisflood");
    let out = urbis().args(["sim", "lisflood", "--json", "--out"]).arg(&dir).arg(&case).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["t_end_s"].as_f64().is_some_and(|t| (72_000.0..72_011.0).contains(&t)), "{v}");
    assert!(v["mass_error"].as_f64().is_some_and(|e| e.abs() < 1e-9), "{v}");
    for ext in ["stage", "mass", "max", "mxe", "inittm", "maxtm", "totaltm", "dem"] {
        assert!(dir.join(format!("ea1.{ext}")).is_file(), "ea1.{ext} missing");
    }
    // The gauges' peaks against LISFLOOD-FP 8.1's own run of the case.
    let peaks = |path: &Path| -> Vec<f64> {
        let text = std::fs::read_to_string(path).expect("stage");
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip_while(|l| !l.starts_with("Time; stages"))
            .skip(1)
            .map(|l| l.split_whitespace().map(|x| x.parse().expect("n")).collect())
            .collect();
        (1..3).map(|g| rows.iter().map(|r| r[g]).fold(0.0, f64::max)).collect()
    };
    let ours = peaks(&dir.join("ea1.stage"));
    let theirs = peaks(&case.parent().expect("dir").join("lisflood-fp-8.1/ea1.stage"));
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() <= 0.05, "{ours:?} vs LISFLOOD-FP {theirs:?}");
    }
    let bad = write(&dir, "bad.par", "DEMfile x.asc\nacceleration\nSGCwidth w.asc\n");
    let out = urbis().args(["sim", "lisflood"]).arg(&bad).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.par") && err.contains("line 3: `SGCwidth`"), "{err}");
}

/// Two runs of a scenario with different parameters kept in a store: `sim
/// list` shows both on the same city, `sim diff` names the changed
/// scenario lines and the results that changed (compliance), with the
/// values each run's own results.json holds.
#[test]
fn sim_runs_are_kept_listed_and_compared() {
    let dir = temp("runs");
    let db = dir.join("runs.db");
    let scenario = |height: u32| {
        format!(
            "name = \"tower\"\ncrs = \"local\"\n[[modify]]\nkind = \"add_building\"\nid = \"tower\"\nheight = {height}\n\
             footprint = [[303, 56], [333, 56], [333, 86], [303, 86]]\n[compliance]\nheight_limit_m = 100\n"
        )
    };
    let mut outs = Vec::new();
    for (name, height) in [("low.toml", 60), ("high.toml", 140)] {
        let s = write(&dir, name, &scenario(height));
        let out = dir.join(name.replace(".toml", ""));
        let run =
            urbis().args(["sim", "run"]).arg(&s).arg("--out").arg(&out).arg("--store").arg(&db).output().expect("run");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert!(
            String::from_utf8_lossy(&run.stdout).contains("kept as run"),
            "{}",
            String::from_utf8_lossy(&run.stdout)
        );
        outs.push(out);
    }
    let list = urbis().args(["sim", "list", "--json", "--store"]).arg(&db).output().expect("list");
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let runs: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let runs = runs.as_array().expect("array");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["city_hash"], runs[1]["city_hash"], "the same city");
    assert_ne!(runs[0]["scenario_hash"], runs[1]["scenario_hash"]);
    let (a, b) = (runs[0]["id"].as_i64().expect("id"), runs[1]["id"].as_i64().expect("id"));
    let diff = urbis()
        .args(["sim", "diff", &a.to_string(), &b.to_string(), "--json", "--store"])
        .arg(&db)
        .output()
        .expect("diff");
    assert!(diff.status.success(), "{}", String::from_utf8_lossy(&diff.stderr));
    let d: serde_json::Value = serde_json::from_slice(&diff.stdout).expect("json");
    assert_eq!(d["same_city"], true);
    let lines: Vec<&str> = d["scenario_lines"].as_array().expect("lines").iter().filter_map(|l| l.as_str()).collect();
    assert_eq!(lines, ["+ height = 140", "- height = 60"]);
    // Every changed figure carries the values of the two runs' own results.json.
    let results: Vec<serde_json::Value> = outs
        .iter()
        .map(|o| {
            serde_json::from_str(&std::fs::read_to_string(o.join("results.json")).expect("results")).expect("json")
        })
        .collect();
    let figures = d["figures"].as_array().expect("figures");
    assert!(
        figures.iter().any(|f| f["path"] == "/buildings/tower/complies" && f["a"] == true && f["b"] == false),
        "the 140 m tower breaks the 100 m limit, the 60 m one does not: {figures:?}"
    );
    for f in figures {
        let path = f["path"].as_str().expect("path");
        assert_eq!(results[0].pointer(path), Some(&f["a"]).filter(|v| !v.is_null()), "{path}");
        assert_eq!(results[1].pointer(path), Some(&f["b"]).filter(|v| !v.is_null()), "{path}");
        assert_ne!(f["a"], f["b"]);
    }
    // A run that is not there.
    let missing = urbis().args(["sim", "diff", "1", "99", "--store"]).arg(&db).output().expect("diff");
    assert!(!missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("no run 99"));
    std::fs::remove_dir_all(&dir).ok();
}
