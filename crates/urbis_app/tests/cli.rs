//! The `urbis` binary: the exact command forms of the foundation issue.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use support::{gpu_available, start_xvfb, urbis, wait_up_to, xvfb};

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
    let Some(xvfb) = xvfb() else { return };
    if !gpu_available() {
        return;
    }
    let display = format!(":{}", 90 + std::process::id() % 100);
    let mut server = start_xvfb(&xvfb, &display, "1280x800x24");
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
    let shot = std::env::temp_dir().join(format!("urbis-window-{}.png", std::process::id()));
    let mut first = true;
    for args in runs {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if first {
            args.extend(["--screenshot".to_string(), shot.display().to_string()]);
        }
        let mut child = urbis()
            .args(&args)
            .current_dir(&root)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start urbis view");
        let (status, err) = wait_up_to(&mut child, Duration::from_secs(120));
        let Some(status) = status else {
            server.kill().ok();
            panic!("urbis {args:?} did not finish in 120 s");
        };
        assert!(status.success(), "urbis {args:?} failed: {err}");
        let frames: u64 = args[args.iter().position(|a| a == "--frames").expect("frames") + 1].parse().expect("n");
        assert!(err.contains(&format!("view: presented {frames} frames at ")), "urbis {args:?}: {err}");
        if std::mem::take(&mut first) {
            server.kill().ok();
            server.wait().ok();
            window_shows_what_render_draws(&root, &shot, &err);
            server = start_xvfb(&xvfb, &display, "1280x800x24");
        }
    }
    fly_tour_in_the_window(&display);
    server.kill().ok();
    server.wait().ok();
    let _ = std::fs::remove_file(&shot);
}

/// `urbis fly --window`: the tour drives the window's camera over a streamed
/// tileset, each waypoint waits for full detail, and the viewer closes by
/// itself at the tour's end.
fn fly_tour_in_the_window(display: &str) {
    let dir = std::env::temp_dir().join(format!("urbis-window-tiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let st = urbis()
        .args(["sample-tiles", "--levels", "3", "--lots", "4", "--out", dir.to_str().expect("utf-8")])
        .output()
        .expect("sample-tiles");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let tour = dir.join("tour.json");
    std::fs::write(
        &tour,
        r#"[{"lon": 115.9, "lat": 38.99, "height": 400, "pitch": -35},
            {"lon": 115.9, "lat": 38.996, "height": 150, "pitch": -30, "duration": 2}]"#,
    )
    .expect("tour");
    let tileset = dir.join("tileset.json");
    let args = ["fly", tileset.to_str().expect("utf-8"), "--tour", tour.to_str().expect("utf-8")];
    let mut child = urbis()
        .args(args)
        .args(["--window", "--frames", "8", "--width", "640", "--height", "360"])
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start urbis fly --window");
    let (status, err) = wait_up_to(&mut child, Duration::from_secs(120));
    let status = status.unwrap_or_else(|| panic!("urbis fly --window did not close by itself in 120 s: {err}"));
    assert!(status.success(), "urbis fly --window failed: {err}");
    // 9 path frames (the first pose, then 8 to the second), plus frames waiting at the waypoints.
    let presented: u64 = err
        .split("fly: presented ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count: {err}"));
    assert!(presented >= 9, "{presented} frames: {err}");
    for w in 0..2 {
        assert!(err.contains(&format!("waypoint {w}: full detail in ")), "waypoint {w} not at full detail: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The window's last frame, read back from its surface, shows the same city as
/// `urbis render` at the same size and default camera: outside the panels
/// (the top 120 rows, the egui layers panel and status line), nearly every
/// pixel agrees, and under the layers panel most do not. A blank, black or
/// mis-oriented window would not.
fn window_shows_what_render_draws(root: &Path, shot: &Path, log: &str) {
    let win = image::open(shot).unwrap_or_else(|e| panic!("{}: {e}; {log}", shot.display())).to_rgba8();
    let (w, h) = win.dimensions();
    assert!(log.contains(&format!("at {w}×{h}")), "the screenshot is the presented size: {log}");
    let reference = shot.with_extension("render.png");
    let out = urbis()
        .current_dir(root)
        .args(["render", "--width", &w.to_string(), "--height", &h.to_string(), "--out"])
        .arg(&reference)
        .output()
        .expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rend = image::open(&reference).expect("reference").to_rgba8();
    let _ = std::fs::remove_file(&reference);
    // The egui panels cover the left 200 points (layers, search) and a status line at the bottom.
    let (panel_right, status_top) = (210, h.saturating_sub(40));
    let (mut same, mut total, mut distinct) = (0u64, 0u64, std::collections::HashSet::new());
    let (mut panel_same, mut panel_total) = (0u64, 0u64);
    for y in 120..status_top {
        for x in 0..w {
            let (a, b) = (win.get_pixel(x, y).0, rend.get_pixel(x, y).0);
            let agree = u64::from((0..3).all(|c| a[c].abs_diff(b[c]) <= 8));
            if x < panel_right {
                panel_total += 1;
                panel_same += agree;
                continue;
            }
            total += 1;
            same += agree;
            distinct.insert([a[0] / 16, a[1] / 16, a[2] / 16]);
        }
    }
    let share = same as f64 / total as f64;
    let panel_share = panel_same as f64 / panel_total.max(1) as f64;
    eprintln!(
        "window vs render: {:.2} % of the view's pixels agree, {} colour bins; {:.2} % under the layers panel",
        share * 100.0,
        distinct.len(),
        panel_share * 100.0
    );
    assert!(distinct.len() > 50, "the window shows a picture, not a flat fill ({} colours)", distinct.len());
    assert!(share > 0.98, "only {:.2} % of the window's pixels match `urbis render`", share * 100.0);
    assert!(panel_share < 0.5, "the layers panel is not drawn ({:.2} % as rendered)", panel_share * 100.0);
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
    // Every IFC product keeps its own class; the families group them.
    let counts = &v["counts"];
    for (class, n) in [("IfcWall", 1), ("IfcSlab", 1), ("IfcColumn", 1), ("IfcBuildingElementProxy", 2), ("IfcSite", 1)]
    {
        assert_eq!(counts[class], n, "{class}: {counts}");
    }
    assert!(counts.get("Building").is_none(), "no IFC product is counted as a CityJSON Building: {counts}");
    assert_eq!(v["class_families"]["IfcWall"], "Building");
    assert_eq!(v["class_families"]["IfcSite"], "Generic");
    let total: u64 = counts.as_object().expect("counts").values().filter_map(|n| n.as_u64()).sum();
    assert_eq!(v["family_counts"]["Building"].as_u64(), Some(total - 1), "all but the site: {}", v["family_counts"]);
    assert_eq!(v["family_counts"]["Generic"], 1);
    // A query by either level.
    let q = json_of(urbis().arg("inspect").arg("--json").arg("--where").arg("class = IfcWall").arg(&ifc));
    assert_eq!(q["query"]["matches"], 1, "{}", q["query"]);
    assert_eq!(q["query"]["first"][0]["class"], "IfcWall");
    assert_eq!(q["query"]["first"][0]["family"], "Building");
    let q = json_of(urbis().arg("inspect").arg("--json").arg("--where").arg("family = Building").arg(&ifc));
    assert_eq!(q["query"]["matches"].as_u64(), Some(total - 1));
}

/// The public data beside the repository, or `None` (a skip) unless CI requires it.
fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        !std::env::var("URBIS_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1"),
        "URBIS_REQUIRE_SHARED_DATA=1 but {} is missing",
        p.display()
    );
    eprintln!("SKIP: {} is missing", p.display());
    None
}

/// The CityJSON 2.0 conformance case with one object of every type: each
/// keeps its own type as its class (LandUse is LandUse, not PlantCover), and
/// the families group them as the specification's modules do.
#[test]
fn inspect_json_keeps_every_cityjson_type_and_counts_families() {
    let Some(path) = shared("cityjson/corpus/conformance/v2_0/cityobject_all_types/cityobject_all_types.city.json")
    else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    for o in doc["CityObjects"].as_object().expect("objects").values() {
        *want.entry(o["type"].as_str().expect("type").to_string()).or_default() += 1;
    }
    assert_eq!(want.len(), 33, "the case holds the 33 types of CityJSON 2.0");
    let v = json_of(urbis().arg("inspect").arg("--json").arg(&path));
    let got: std::collections::BTreeMap<String, u64> =
        v["counts"].as_object().expect("counts").iter().map(|(k, n)| (k.clone(), n.as_u64().expect("count"))).collect();
    assert_eq!(got, want);
    assert_eq!(v["counts"]["LandUse"], 1);
    // Families after the CityJSON 2.0 modules (Building, Bridge/Tunnel/Transportation,
    // Vegetation, WaterBody, Relief/LandUse, CityFurniture, Generic/Group/OtherConstruction).
    let module = |t: &str| match t {
        t if t.starts_with("Building") => "Building",
        t if t.starts_with("Bridge") || t.starts_with("Tunnel") => "Transport",
        "Road" | "Railway" | "TransportSquare" | "Waterway" => "Transport",
        "PlantCover" | "SolitaryVegetationObject" => "Vegetation",
        "WaterBody" => "Water",
        "TINRelief" | "LandUse" => "Terrain",
        "CityFurniture" => "Furniture",
        _ => "Generic",
    };
    let mut families = std::collections::BTreeMap::<&str, u64>::new();
    for (t, n) in &want {
        *families.entry(module(t)).or_default() += n;
    }
    let got_families: std::collections::BTreeMap<&str, u64> = v["family_counts"]
        .as_object()
        .expect("family counts")
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_u64().expect("count")))
        .collect();
    assert_eq!(got_families, families);
    for (query, n) in
        [("class = LandUse", 1), ("class = PlantCover", 1), ("family = Vegetation", 2), ("family = Terrain", 2)]
    {
        let q = json_of(urbis().arg("inspect").arg("--json").arg("--where").arg(query).arg(&path));
        assert_eq!(q["query"]["matches"], n, "{query}: {}", q["query"]);
    }
    let q = json_of(urbis().arg("inspect").arg("--json").arg("--where").arg("class = LandUse").arg(&path));
    assert_eq!(q["query"]["first"][0]["family"], "Terrain");
}

/// An OSGB dataset (ContextCapture layout, the shared tile as its top tile,
/// its paged child absent) streams through `render`: the top tile is drawn
/// with its 114 triangles (the count the file stores: 336 indices) and its
/// texture, and the missing child is reported, not fatal.
#[test]
fn render_streams_an_osgb_dataset() {
    if !gpu_available() {
        return;
    }
    let Some(tile) = shared("osgb/test.osgb") else { return };
    let dir = std::env::temp_dir().join(format!("urbis-cli-osgb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("Data/Tile_+000_+000")).expect("mkdir");
    std::fs::copy(&tile, dir.join("Data/Tile_+000_+000/Tile_+000_+000.osgb")).expect("copy");
    std::fs::write(
        dir.join("metadata.xml"),
        "<ModelMetadata version=\"1\"><SRS>ENU:39.0,115.9</SRS><SRSOrigin>0,0,0</SRSOrigin></ModelMetadata>",
    )
    .expect("metadata");
    let out = dir.join("photo.png");
    let run = urbis()
        .arg("render")
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .args(["--width", "320", "--height", "200"])
        .output()
        .expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{text}");
    assert!(text.contains(" 114 triangles"), "{text}");
    let img = image::open(&out).expect("png").to_rgb8();
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 300, "the photo texture shows: only {} colours", colours.len());
}

/// A fresh temp dir with an hour of the sample city's simulated sensors
/// (`rec.jsonl` and its config `rec.toml`).
fn simulated_hour(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp");
    let rec = dir.join("rec.jsonl");
    let out =
        urbis().args(["live", "simulate", "--duration", "3600", "--out"]).arg(&rec).output().expect("run simulate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (dir, rec)
}

/// `urbis live stats --store` keeps what the replay applied; `urbis history
/// query` gives it back: every reading of a sensor with its recorded time
/// and value (as the recording wrote them), the latest value of every
/// sensor at a moment, and the alarm log's events.
#[test]
fn live_stats_keeps_a_history_that_history_query_gives_back() {
    let (dir, rec) = simulated_hour("urbis-cli-history");
    let db = dir.join("history.db");
    let v = json_of(
        urbis()
            .args(["live", "stats", "--json", "--seconds", "120", "--store"])
            .arg(&db)
            .arg("--live")
            .arg(format!("replay:{}?speed=max", rec.display())),
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rec)
        .expect("recording")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(v["stats"]["applied"].as_u64(), Some(lines.len() as u64), "{v}");
    assert_eq!(v["store"]["dropped_readings"].as_u64(), Some(0), "{v}");
    assert_eq!(v["store"]["queued_rows"].as_u64(), Some(0), "{v}");
    let csv = |args: &[&str]| {
        let out = urbis().args(["history", "query", "--store"]).arg(&db).args(args).output().expect("query");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8").lines().skip(1).map(str::to_string).collect::<Vec<_>>()
    };
    // One sensor's whole series: the recording's time text and value text, line for line.
    for sensor in ["gauge-01", "aq-23"] {
        let expected: Vec<(String, String)> = lines
            .iter()
            .filter(|l| l["sensor"] == sensor)
            .map(|l| (l["time"].as_str().expect("time").to_string(), l["value"].to_string()))
            .collect();
        assert!(expected.len() > 50, "{sensor}: {}", expected.len());
        let got: Vec<(String, String)> = csv(&["--sensor", sensor])
            .iter()
            .map(|row| {
                let f: Vec<&str> = row.split(',').collect();
                (f[1].to_string(), f[2].to_string())
            })
            .collect();
        assert_eq!(got, expected, "{sensor}");
    }
    // The latest value of every sensor half-way through, from the recording.
    let at = "2026-07-15T00:30:00.000Z";
    let mut latest = std::collections::BTreeMap::new();
    for l in &lines {
        let t = l["time"].as_str().expect("time");
        if t <= at {
            latest.insert(l["sensor"].as_str().expect("sensor").to_string(), (t.to_string(), l["value"].to_string()));
        }
    }
    let got: std::collections::BTreeMap<String, (String, String)> = csv(&["--latest-at", at])
        .iter()
        .map(|row| {
            let f: Vec<&str> = row.split(',').collect();
            (f[0].to_string(), (f[2].to_string(), f[3].to_string()))
        })
        .collect();
    assert!(latest.len() > 100, "{}", latest.len());
    assert_eq!(got, latest);
    // The alarms: the session's own log holds the same events.
    let log: std::collections::BTreeSet<(String, String, String, String)> =
        std::fs::read_to_string(dir.join("alarms.jsonl"))
            .expect("alarm log")
            .lines()
            .map(|l| {
                let e: serde_json::Value = serde_json::from_str(l).expect("event");
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (e["time_ms"].to_string(), s("alarm"), s("state"), s("sensor"))
            })
            .collect();
    let stored: std::collections::BTreeSet<(String, String, String, String)> = csv(&["--alarms"])
        .iter()
        .map(|row| {
            let f: Vec<&str> = row.split(',').collect();
            (f[0].to_string(), f[2].trim_matches('"').to_string(), f[4].to_string(), f[5].to_string())
        })
        .collect();
    assert!(!log.is_empty());
    assert_eq!(stored, log);
    // Down-sampled: 6 buckets of 10 minutes hold every reading of the sensor once.
    let buckets = csv(&[
        "--sensor",
        "gauge-01",
        "--from",
        "2026-07-15T00:00:00Z",
        "--to",
        "2026-07-15T01:00:00Z",
        "--points",
        "6",
    ]);
    let counted: usize = buckets.iter().map(|r| r.split(',').nth(5).expect("count").parse::<usize>().expect("n")).sum();
    assert_eq!(counted, lines.iter().filter(|l| l["sensor"] == "gauge-01").count());
    assert!(buckets.len() <= 6);
    // A still image at a past moment from the store (what ingest workers write) equals the
    // one replayed from the recording: the same readings, ticked the same minutes.
    if gpu_available() {
        let render = |live: String, at: &str, png: &Path| {
            let out = urbis()
                .args(["render", "--width", "320", "--height", "180", "--live-at", at, "--live"])
                .arg(live)
                .arg("--live-config")
                .arg(rec.with_extension("toml"))
                .arg("--out")
                .arg(png)
                .output()
                .expect("render");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            image::open(png).expect("png").to_rgba8()
        };
        let at = "2026-07-15T00:45:00Z";
        let replayed = render(format!("replay:{}", rec.display()), at, &dir.join("replayed.png"));
        let stored = render(format!("store:{}?history=86400", db.display()), at, &dir.join("stored.png"));
        // One overlay line may differ: "readings N" counts what each source read, and a
        // replay reads a few readings past the moment ahead. Labels, colours, alarms, applied
        // counts and every other pixel are the same.
        let rows: Vec<u32> =
            replayed.enumerate_pixels().filter(|(x, y, p)| stored.get_pixel(*x, *y) != *p).map(|(_, y, _)| y).collect();
        let band = rows.iter().max().zip(rows.iter().min()).map_or(0, |(hi, lo)| hi - lo + 1);
        assert!(band <= 12, "the store's image differs from the replay's in {} pixels over {band} rows", rows.len());
        // And the store's image is of that moment: at the recording's start it differs.
        let earlier =
            render(format!("store:{}?history=86400", db.display()), "2026-07-15T00:01:00Z", &dir.join("earlier.png"));
        assert!(earlier.pixels().zip(stored.pixels()).any(|(a, b)| a != b), "time moves the image");
    }
    // Retention: pruning before half-time removes exactly the recording's first half.
    let cut = "2026-07-15T00:30:00.000Z";
    let v = json_of(urbis().args(["history", "prune", "--json", "--before", cut, "--store"]).arg(&db));
    let older = lines.iter().filter(|l| l["time"].as_str().expect("time") < cut).count() as u64;
    assert!(older > 1000, "{older}");
    assert_eq!(v["removed_readings"].as_u64(), Some(older), "{v}");
    assert_eq!(v["readings_left"].as_u64(), Some(lines.len() as u64 - older), "{v}");
    let kept = csv(&["--sensor", "gauge-01"]);
    let expected = lines.iter().filter(|l| l["sensor"] == "gauge-01" && l["time"].as_str().expect("t") >= cut).count();
    assert_eq!(kept.len(), expected);
    // A store that is not there is an error naming it.
    let out = urbis().args(["history", "query", "--alarms", "--store"]).arg(dir.join("nope.db")).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.db"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ingest stopped for twenty minutes and started again on the same store:
/// the history records the gap from the last reading it had to the first
/// new one, and keeps both halves.
#[test]
fn a_restarted_ingest_records_its_gap_in_the_history() {
    let (dir, rec) = simulated_hour("urbis-cli-history-gap");
    let text = std::fs::read_to_string(&rec).expect("recording");
    let time_of = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).expect("line")["time"].as_str().expect("time").to_string()
    };
    // The first 20 minutes, then from minute 40 on; each part with the recording's config.
    let first: Vec<&str> = text.lines().filter(|l| time_of(l).as_str() < "2026-07-15T00:20:00").collect();
    let second: Vec<&str> = text.lines().filter(|l| time_of(l).as_str() >= "2026-07-15T00:40:00").collect();
    assert!(!first.is_empty() && !second.is_empty());
    for (name, lines) in [("a", &first), ("b", &second)] {
        std::fs::write(dir.join(format!("{name}.jsonl")), lines.join("\n") + "\n").expect("part");
        std::fs::copy(dir.join("rec.toml"), dir.join(format!("{name}.toml"))).expect("config");
    }
    let db = dir.join("history.db");
    for name in ["a", "b"] {
        let out = urbis()
            .args(["live", "stats", "--json", "--seconds", "60", "--store"])
            .arg(&db)
            .arg("--live")
            .arg(format!("replay:{}?speed=max", dir.join(format!("{name}.jsonl")).display()))
            .output()
            .expect("live stats");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = urbis().args(["history", "query", "--gaps", "--store"]).arg(&db).output().expect("query");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let ingest: Vec<&Vec<String>> = rows.iter().filter(|r| r[4] == "ingest").collect();
    assert_eq!(ingest.len(), 1, "{rows:?}");
    let last_before = first.iter().map(|l| time_of(l)).max().expect("last");
    let first_after = second.iter().map(|l| time_of(l)).min().expect("first");
    assert_eq!((&ingest[0][1], &ingest[0][3]), (&last_before, &first_after));
    // Both halves are there.
    let out = urbis().args(["history", "query", "--sensor", "gauge-01", "--store"]).arg(&db).output().expect("query");
    let stored = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    let expected = first.iter().chain(&second).filter(|l| l.contains("\"gauge-01\"")).count();
    assert_eq!(stored, expected);
    let _ = std::fs::remove_dir_all(&dir);
}
