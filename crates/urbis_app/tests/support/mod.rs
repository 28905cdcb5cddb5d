//! Shared helpers of the `urbis` binary's tests: the binary, the GPU and
//! virtual-display checks, and bounded waits on child processes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn urbis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_urbis"))
}

/// Whether a GPU adapter (lavapipe counts) is there; a failure under `URBIS_REQUIRE_GPU=1`.
pub fn gpu_available() -> bool {
    let ok = urbis_render::GpuContext::headless().is_ok();
    if !ok && urbis_render::GpuContext::gpu_required() {
        panic!("URBIS_REQUIRE_GPU=1 but no GPU adapter");
    }
    if !ok {
        eprintln!("SKIP: no GPU adapter");
    }
    ok
}

/// The Xvfb binary, or `None` (test skipped) when it is not installed; a
/// failure under `URBIS_REQUIRE_GPU=1`.
pub fn xvfb() -> Option<PathBuf> {
    let found = ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"].iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(!urbis_render::GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1: install xvfb for the window tests");
        eprintln!("SKIP: Xvfb not installed");
    }
    found
}

/// Starts a virtual X server on `display` (e.g. ":93") and gives it time to listen.
pub fn start_xvfb(xvfb: &PathBuf, display: &str, screen: &str) -> Child {
    let server = Command::new(xvfb)
        .args([display, "-screen", "0", screen, "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    std::thread::sleep(Duration::from_millis(800));
    server
}

/// Waits for `child` at most `limit` (killing it then); its status and stderr.
pub fn wait_up_to(child: &mut Child, limit: Duration) -> (Option<ExitStatus>, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > limit {
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
    (status, err)
}
