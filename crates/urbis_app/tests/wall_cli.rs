//! `urbis wall` end to end: real processes on loopback (a leader and two
//! followers, each its own `urbis` with its own city and GPU device), the
//! frame logs they write, a follower killed and restarted, and the leader
//! killed; `urbis wall render` of a wall file with overlays.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod support;

use serde_json::Value;
use support::{gpu_available, urbis, wait_up_to};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-wall-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The tests that run several renderers take turns: on a 2-core machine two
/// of them at once would measure each other.
static RENDERERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    RENDERERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Barrier timeout of the test wall, ms: generous, for a loaded 2-core CI machine.
const BARRIER_MS: f64 = 1000.0;

fn wall_file(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("wall.toml");
    std::fs::write(
        &path,
        format!(
            "[eye]\nposition = [2.4, 0.45, 3.0]\n[grid]\ncolumns = 3\nrows = 1\npanel = [1.6, 0.9]\npixels = [96, 54]\n\
             [sync]\nleader = \"127.0.0.1:{port}\"\nbarrier_timeout_ms = {BARRIER_MS}\nfps = 20\n"
        ),
    )
    .expect("write wall");
    path
}

/// A wall process; its stderr goes to LOG.err (a pipe nobody reads would
/// fill and stop it).
fn node(wall: &Path, args: &[&str], log: &Path) -> Child {
    let err = std::fs::File::create(log.with_extension("err")).expect("stderr file");
    urbis()
        .args(["wall", "run"])
        .arg(wall)
        .args(["--headless", "--frame-log"])
        .arg(log)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("start urbis wall run")
}

/// The frame log: the "started" time (Unix µs) and the frames.
fn read_log(path: &Path) -> (Option<u64>, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut started = None;
    let mut frames = Vec::new();
    for line in text.lines() {
        // The last line may be half written.
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if v["event"] == "started" {
            started = v["t_us"].as_u64();
        } else if v["seq"].is_u64() {
            frames.push(v);
        }
    }
    (started, frames)
}

fn wait_frames(path: &Path, n: usize, child: &mut Child, limit: Duration) {
    let start = Instant::now();
    while read_log(path).1.len() < n {
        if let Some(s) = child.try_wait().expect("wait") {
            let err = std::fs::read_to_string(path.with_extension("err")).unwrap_or_default();
            panic!("{} exited ({s}) before {n} frames: {err}", path.display());
        }
        assert!(start.elapsed() < limit, "{}: fewer than {n} frames after {limit:?}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().expect("seq")
}

fn consecutive(frames: &[Value]) -> bool {
    frames.len() > 1 && frames.windows(2).all(|w| seq(&w[1]) == seq(&w[0]) + 1)
}

#[test]
fn three_processes_stay_in_lockstep_a_restarted_follower_rejoins_and_the_leaders_death_stops_the_wall() {
    if !gpu_available() {
        return;
    }
    let _turn = take_turn();
    let dir = temp_dir("sync");
    let wall = wall_file(&dir, free_port());
    let (ll, l1, l2, l2b) =
        (dir.join("leader.jsonl"), dir.join("c1.jsonl"), dir.join("c2.jsonl"), dir.join("c2b.jsonl"));
    // The leader replays the sample city's sensors at 600× and selects the river.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample_city/sensors.jsonl");
    let live = format!("replay:{}?speed=600", sample.display());
    let select = ["--select", "XA-W-river", "--live", live.as_str()];
    let mut leader = node(&wall, &[&["--role", "leader"][..], &select[..]].concat(), &ll);
    std::thread::sleep(Duration::from_millis(500));
    let mut c1 = node(&wall, &["--role", "follower", "--display", "c1r0"], &l1);
    let mut c2 = node(&wall, &["--role", "follower", "--display", "c2r0"], &l2);
    let limit = Duration::from_secs(180);
    wait_frames(&l2, 10, &mut c2, limit);
    // A follower dies: the leader goes on.
    c2.kill().expect("kill c2");
    c2.wait().ok();
    let killed_at = read_log(&ll).1.last().map_or(0, seq);
    std::thread::sleep(Duration::from_millis(1500));
    // And comes back.
    let mut c2b = node(&wall, &["--role", "follower", "--display", "c2r0"], &l2b);
    wait_frames(&l2b, 10, &mut c2b, limit);
    wait_frames(&l1, 30, &mut c1, limit);
    // The leader dies: the followers stop with a message.
    leader.kill().expect("kill the leader");
    leader.wait().ok();
    for (name, child, log) in [("c1r0", &mut c1, &l1), ("c2r0", &mut c2b, &l2b)] {
        let (status, _) = wait_up_to(child, Duration::from_secs(10));
        let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
        let status = status.unwrap_or_else(|| panic!("{name} still runs 10 s after the leader died"));
        assert!(!status.success(), "{name}: {err}");
        assert!(err.contains("leader at 127.0.0.1:") && err.contains("went away"), "{name}: {err}");
    }

    let (_, lf) = read_log(&ll);
    let (_, f1) = read_log(&l1);
    let (_, f2) = read_log(&l2);
    let (rejoined, f2b) = read_log(&l2b);
    assert!(consecutive(&lf), "the leader's frames follow each other");
    let at = |s: u64| lf.iter().find(|v| seq(v) == s);
    // Lockstep: c1 presented every frame from its first, each one the
    // leader presented too, within a frame of the leader's present.
    assert!(consecutive(&f1), "c1r0 skipped frames");
    assert!(f1[0]["snapshot"] == true, "a follower starts from a snapshot");
    let mut gaps = Vec::new();
    let mut latency = Vec::new();
    for v in &f1 {
        let l = at(seq(v)).unwrap_or_else(|| panic!("c1r0 presented frame {} the leader did not", seq(v)));
        gaps.push((v["t_us"].as_f64().expect("t") - l["t_us"].as_f64().expect("t")).abs() / 1000.0);
        latency.push((v["state_us"].as_f64().expect("state") - l["state_us"].as_f64().expect("state")) / 1000.0);
    }
    gaps.sort_by(f64::total_cmp);
    latency.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "c1r0: {} frames; present vs the leader's: p50 {:.1} ms, max {:.1} ms; frame state leader → follower: p50 {:.2} ms, p99 {:.2} ms",
        f1.len(),
        pct(&gaps, 0.5),
        pct(&gaps, 1.0),
        pct(&latency, 0.5),
        pct(&latency, 0.99)
    );
    assert!(pct(&gaps, 0.5) < 100.0, "presents are in step: p50 {:.1} ms apart", pct(&gaps, 0.5));
    assert!(pct(&latency, 0.5) >= 0.0 && pct(&latency, 0.5) < 100.0, "state latency p50 {:.2} ms", pct(&latency, 0.5));
    // The leader never waited longer than the barrier timeout (plus scheduling).
    let worst = lf.iter().map(|v| v["waited_ms"].as_f64().expect("waited")).fold(0.0, f64::max);
    assert!(worst <= BARRIER_MS + 200.0, "the barrier waited {worst:.0} ms, over {BARRIER_MS} ms");
    // While c2r0 was dead it was shown missing; c1r0 was not.
    let missing = |v: &Value, d: &str| v["missing"].as_array().expect("missing").iter().any(|m| m == d);
    let dead: Vec<&Value> = lf.iter().filter(|v| seq(v) > killed_at + 1 && missing(v, "c2r0")).collect();
    assert!(dead.len() >= 2, "c2r0 shown missing after it died ({} frames)", dead.len());
    // … and the other displays showed it missing.
    let shown = f1.iter().filter(|v| v["shown_missing"].as_array().is_some_and(|m| m.iter().any(|d| d == "c2r0")));
    assert!(shown.count() >= 2, "c1r0 showed c2r0 as missing");
    let c1_join = seq(&f1[0]);
    assert!(
        !lf.iter().any(|v| seq(v) > c1_join + 1 && missing(v, "c1r0")),
        "c1r0 never missed the barrier once it had joined"
    );
    // The restarted follower: a snapshot first, in lockstep within 1 s of connecting.
    assert!(f2b[0]["snapshot"] == true && consecutive(&f2b), "c2r0 rejoined from a snapshot, frame after frame");
    let resync_ms = (f2b[0]["t_us"].as_u64().expect("t") - rejoined.expect("started")) as f64 / 1000.0;
    let snapshot_ms = (f2b[0]["state_us"].as_u64().expect("t") - rejoined.expect("started")) as f64 / 1000.0;
    println!(
        "c2r0 presented its first frame {resync_ms:.0} ms after connecting again (its snapshot came after {snapshot_ms:.0} ms)"
    );
    assert!(resync_ms < 1000.0, "resynchronised in {resync_ms:.0} ms");
    for v in &f2b {
        assert!(at(seq(v)).is_some(), "c2r0 presented frame {} the leader did not", seq(v));
    }
    // Every display shows the leader's live state and selection, frame by
    // frame: the same sensors with the same latest values (the restarted
    // follower from its snapshot on).
    let mut compared = 0;
    for v in f1.iter().chain(&f2b) {
        let l = at(seq(v)).expect("leader frame");
        let (a, b) = (&v["live"], &l["live"]);
        assert_eq!(a[0], b[0], "frame {}: sensors with a reading", seq(v));
        let (x, y) = (a[1].as_f64().expect("sum"), b[1].as_f64().expect("sum"));
        assert!(
            (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            "frame {}: latest values sum to {x} vs the leader's {y}",
            seq(v)
        );
        assert_eq!(v["selected"], "XA-W-river");
        compared += 1;
    }
    let sensors = lf.last().expect("frames")["live"][0].as_u64().expect("count");
    assert!(sensors > 100, "the replay reached the followers: {sensors} sensors");
    assert!(compared >= 40);
    let values: std::collections::BTreeSet<u64> =
        lf.iter().map(|v| v["live"][1].as_f64().expect("sum").to_bits()).collect();
    assert!(values.len() > 5, "the live state changed during the run ({} states)", values.len());
    let back = seq(&f2b[1]);
    assert!(lf.iter().any(|v| seq(v) >= back && !missing(v, "c2r0")), "the leader took c2r0 back");
    assert!(!f2.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_follower_without_a_leader_and_a_bad_wall_file_say_what_is_wrong() {
    let dir = temp_dir("errors");
    let wall = wall_file(&dir, free_port());
    // Nothing listens on the port.
    let out = urbis()
        .args(["wall", "run"])
        .arg(&wall)
        .args(["--headless", "--role", "follower", "--display", "c1r0"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot reach the leader at 127.0.0.1:"), "{err}");
    // A display that is not on the wall.
    let out = urbis().args(["wall", "run"]).arg(&wall).args(["--headless", "--display", "c9r9"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no display \"c9r9\""), "{err}");
    // A bad field names its line and column.
    let text = std::fs::read_to_string(&wall).expect("read").replace("fps = 20", "fps = -3");
    std::fs::write(&wall, text).expect("write");
    let out = urbis().args(["wall", "render"]).arg(&wall).args(["--out", "x.png"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wall.toml:11:") && err.contains("sync.fps"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wall file that says which host draws which display: a process draws
/// its host's displays; `wall render` draws them all on one canvas.
#[test]
fn a_process_draws_its_hosts_displays_and_render_draws_the_whole_wall() {
    let dir = temp_dir("hosts");
    let wall = dir.join("wall.toml");
    std::fs::write(
        &wall,
        "[eye]\nposition = [2.42, 0.45, 3.0]\n[grid]\ncolumns = 3\nrows = 1\npanel = [1.6, 0.9]\nbezel = 0.01\n\
         pixels = [160, 90]\nhosts = [\"node-a\", \"node-b\", \"node-b\"]\n",
    )
    .expect("write");
    let out = urbis().args(["wall", "run"]).arg(&wall).args(["--headless", "--host", "node-z"]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no display of the wall has host = \"node-z\""), "{err}");
    if !gpu_available() {
        return;
    }
    let _turn = take_turn();
    let shots = dir.join("shots");
    let out = urbis()
        .args(["wall", "run"])
        .arg(&wall)
        .args(["--headless", "--host", "node-b", "--frames", "2", "--shots"])
        .arg(&shots)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("presented 2 frames of 2 display(s)"), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&shots)
        .expect("shots")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(names, ["c1r0.png", "c2r0.png"], "node-b draws c1r0 and c2r0");
    // The whole wall: 3 × 160 px and two 2 px gaps (2 cm at 100 px/m).
    let png = dir.join("wall.png");
    let out =
        urbis().args(["wall", "render"]).arg(&wall).arg("--out").arg(&png).arg("--json").output().expect("render");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["canvas"], serde_json::json!([484, 90]));
    assert_eq!(report["display_pixels"], 3 * 160 * 90);
    assert!(report["megapixels_per_second"].as_f64().expect("throughput") > 0.0);
    let img = image::open(&png).expect("png").to_rgba8();
    assert_eq!(img.dimensions(), (484, 90));
    // The gaps are black from top to bottom; the displays are not.
    for x in [160, 161, 322, 323] {
        assert!((0..90).all(|y| img.get_pixel(x, y).0 == [0, 0, 0, 255]), "column {x} is a bezel gap");
    }
    for x in [80, 242, 404] {
        assert!((0..90).any(|y| img.get_pixel(x, y).0 != [0, 0, 0, 255]), "column {x} shows the city");
    }
    // The display c1r0 that node-b drew alone is the wall image's c1r0.
    let shot = image::open(shots.join("c1r0.png")).expect("shot").to_rgba8();
    let part = image::imageops::crop_imm(&img, 162, 0, 160, 90).to_image();
    let same = shot.pixels().zip(part.pixels()).filter(|(a, b)| a == b).count();
    assert!(same as f64 > 0.99 * 160.0 * 90.0, "{same} of {} pixels equal", 160 * 90);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A planner's viewer leads the wall (`urbis view --wall-leader`): a
/// follower draws its display frame after frame, and ends cleanly when the
/// viewer closes.
#[test]
fn a_planners_viewer_leads_the_wall() {
    if !gpu_available() {
        return;
    }
    let _turn = take_turn();
    let dir = temp_dir("viewer");
    let wall = wall_file(&dir, free_port());
    let viewer_err = dir.join("viewer.err");
    let mut viewer = urbis()
        .args(["view", "--offscreen", "--frames", "150", "--width", "160", "--height", "90", "--wall-leader"])
        .arg(&wall)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&viewer_err).expect("stderr file"))
        .spawn()
        .expect("start the viewer");
    let start = Instant::now();
    while !std::fs::read_to_string(&viewer_err).unwrap_or_default().contains("wall leader: listening on") {
        assert!(
            viewer.try_wait().expect("wait").is_none(),
            "{}",
            std::fs::read_to_string(&viewer_err).unwrap_or_default()
        );
        assert!(start.elapsed() < Duration::from_secs(120), "the viewer never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dir.join("c1.jsonl");
    let mut follower = node(&wall, &["--role", "follower", "--display", "c1r0"], &log);
    let (status, _) = wait_up_to(&mut viewer, Duration::from_secs(300));
    assert!(status.is_some_and(|s| s.success()), "{}", std::fs::read_to_string(&viewer_err).unwrap_or_default());
    let (status, _) = wait_up_to(&mut follower, Duration::from_secs(20));
    let err = std::fs::read_to_string(log.with_extension("err")).unwrap_or_default();
    assert!(status.is_some_and(|s| s.success()), "the follower ends cleanly: {err}");
    assert!(err.contains("the leader stopped the wall: the planner's viewer closed"), "{err}");
    let (_, frames) = read_log(&log);
    assert!(frames.len() >= 10 && consecutive(&frames), "{} frames, in order", frames.len());
    assert!(frames[0]["snapshot"] == true);
    let _ = std::fs::remove_dir_all(&dir);
}
