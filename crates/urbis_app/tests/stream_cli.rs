//! `urbis sample-tiles` and `urbis fly`: a tour over a tileset far larger
//! than the memory budget, from disk and from `sample-tiles --serve` on a
//! loopback port; the budget holds at every frame and the process stays
//! under budget plus a stated overhead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

mod support;

use support::{gpu_available, urbis};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-stream-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Fixed process overhead allowed above the budget: the GPU device (lavapipe
/// keeps its own copies), the renderer, the loader threads' tiles in flight.
const OVERHEAD_MB: u64 = 300;

fn tour(dir: &Path) -> PathBuf {
    let p = dir.join("tour.json");
    std::fs::write(
        &p,
        r#"[{"lon": 115.9, "lat": 38.985, "height": 300, "heading": 0, "pitch": -30},
            {"lon": 115.9, "lat": 38.995, "height": 150, "heading": 0, "pitch": -25, "duration": 3},
            {"lon": 115.91, "lat": 39.005, "height": 150, "heading": 45, "pitch": -25, "duration": 3}]"#,
    )
    .expect("tour");
    p
}

fn fly(args: &[&str]) -> serde_json::Value {
    let out = urbis().arg("fly").args(args).output().expect("run urbis fly");
    assert!(out.status.success(), "urbis fly failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Checks the budget at every frame; returns (peak resident, peak RSS) bytes.
fn check_budget(r: &serde_json::Value, budget: u64) -> (u64, u64) {
    let frames = r["frames"].as_array().expect("frames");
    assert!(frames.len() >= 30, "{}", frames.len());
    for f in frames {
        let resident = f["resident_bytes"].as_u64().expect("resident");
        assert!(resident <= budget, "frame {}: {resident} bytes resident over the {budget}-byte budget", f["frame"]);
    }
    let t = &r["total"];
    // Over budget the SSE rises until the view fits; tiles are not loaded, dropped and loaded again.
    let (loaded, dropped) = (t["loaded"].as_u64().expect("loaded"), t["dropped_for_budget"].as_u64().expect("dropped"));
    assert!(dropped * 4 <= loaded, "{dropped} of {loaded} loaded tiles dropped for the budget");
    for w in r["waypoints"].as_array().expect("waypoints") {
        assert!(w["full_detail_ms"].as_f64().is_some(), "waypoint not at full detail: {w}");
    }
    (t["peak_resident_bytes"].as_u64().expect("peak"), t["peak_rss_bytes"].as_u64().expect("rss"))
}

#[test]
fn a_tour_over_fifteen_times_the_budget_stays_within_it() {
    if !gpu_available() {
        return;
    }
    let dir = temp("disk");
    let out = urbis()
        .args(["sample-tiles", "--levels", "5", "--lots", "8", "--out"])
        .arg(dir.join("city"))
        .output()
        .expect("sample-tiles");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: u64 = walk(&dir.join("city"));
    let budget_mb = 4;
    let budget = budget_mb << 20;
    // The model holds about three times the glb bytes (CPU mesh and GPU copy): far more than the budget.
    assert!(files * 3 > 10 * budget, "{files} bytes of tiles");
    let r = fly(&[
        dir.join("city/tileset.json").to_str().expect("utf-8"),
        "--tour",
        tour(&dir).to_str().expect("utf-8"),
        "--frames",
        "30",
        "--width",
        "480",
        "--height",
        "270",
        "--memory-budget",
        &budget_mb.to_string(),
        "--json",
    ]);
    let (peak, rss) = check_budget(&r, budget);
    let t = &r["total"];
    println!(
        "tiles on disk {:.1} MB; budget {budget_mb} MB; peak resident {:.2} MB; peak RSS {:.0} MB (allowed {} MB); loaded {}, evicted {}, cancelled {}",
        files as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        rss as f64 / 1048576.0,
        budget_mb + OVERHEAD_MB,
        t["loaded"],
        t["evicted"],
        t["cancelled"]
    );
    assert!(rss <= (budget_mb + OVERHEAD_MB) << 20, "RSS {rss}");
    assert!(t["evicted"].as_u64().expect("evicted") > 0);
    assert_eq!(t["failed"], 0);
    // Every waypoint reaches full detail and says when.
    let w = r["waypoints"].as_array().expect("waypoints");
    assert_eq!(w.len(), 3);
    for p in w {
        assert!(p["full_detail_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{p}");
        assert!(p["triangles"].as_u64().expect("triangles") > 0);
    }
    // Counters add up: loaded tiles were requested first.
    let sum = |k: &str| r["frames"].as_array().expect("frames").iter().map(|f| f[k].as_u64().expect(k)).sum::<u64>();
    assert_eq!(sum("loaded"), t["loaded"].as_u64().expect("loaded"));
    assert!(sum("requested") >= sum("loaded"));
}

fn walk(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .expect("dir")
        .flatten()
        .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
        .sum()
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn fly_streams_from_sample_tiles_served_over_http_through_a_cache() {
    if !gpu_available() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = urbis()
        .args(["sample-tiles", "--levels", "5", "--lots", "8", "--serve", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stderr.take().expect("stderr")).read_line(&mut line).expect("banner");
    let _server = Served(child);
    assert!(line.contains(&format!("http://127.0.0.1:{port}/tileset.json")), "{line}");
    let dir = temp("http");
    let url = format!("http://127.0.0.1:{port}/tileset.json");
    let cache = dir.join("cache");
    let args = |budget: &str| {
        vec![
            url.clone(),
            "--tour".into(),
            tour(&dir).display().to_string(),
            "--frames".into(),
            "30".into(),
            "--width".into(),
            "320".into(),
            "--height".into(),
            "180".into(),
            "--memory-budget".into(),
            budget.into(),
            "--cache".into(),
            cache.display().to_string(),
            "--json".into(),
        ]
    };
    let a: Vec<String> = args("4");
    let r = fly(&a.iter().map(String::as_str).collect::<Vec<_>>());
    check_budget(&r, 4 << 20);
    assert_eq!(r["total"]["failed"], 0, "{}", r["failures"]);
    assert!(r["total"]["loaded"].as_u64().expect("loaded") > 20);
    // The cache now holds what was fetched, under its limit.
    let cached = walk(&cache);
    assert!(cached > 0 && cached <= 2048 << 20, "{cached}");
    // A tour that does not parse names its file and the field.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"[{"lon": 115.9, "lat": 39.0, "height": "high"}]"#).expect("write");
    let out = urbis().args(["fly", &url, "--tour"]).arg(&bad).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("height"), "the bad tour names its file and field: {err}");
}
