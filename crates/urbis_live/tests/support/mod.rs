//! Shared test helpers: the sample city with its simulated sensor network,
//! and a real mosquitto broker on a free loopback port.
#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use urbis_live::simulate::Network;
use urbis_live::{LiveConfig, LiveSession};
use urbis_model::CityModel;

pub fn sample_model() -> CityModel {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample city");
    urbis_model::open_city(&[dir]).expect("load sample city").0
}

/// The sample city, its simulated network and a session bound to it (config written into `dir`).
pub fn sample_session(dir: &Path, edit: impl FnOnce(&mut String)) -> (CityModel, Network, LiveSession) {
    let mut model = sample_model();
    let net = Network::for_city(&model, 7);
    let mut text = net.config_toml(Some("alarms.jsonl"));
    edit(&mut text);
    let path = dir.join("sensors.toml");
    std::fs::write(&path, &text).expect("write config");
    let config = LiveConfig::read(&path).expect("config");
    let session = LiveSession::new(config, &mut model).expect("session");
    (model, net, session)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A mosquitto broker, killed on drop.
pub struct Broker {
    pub port: u16,
    pub dir: PathBuf,
    conf: PathBuf,
    child: Option<Child>,
}

/// The mosquitto program: on PATH, or where Debian installs it (/usr/sbin,
/// which is not on a normal user's PATH).
pub fn mosquitto_program() -> Option<PathBuf> {
    let runs = |p: &Path| Command::new(p).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("mosquitto")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"].map(PathBuf::from))
        .find(|p| p.is_file() && runs(p))
}

/// Whether an environment flag is set to a true value ("1", "true", "yes"); "0", "false" and "" are not.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Whether broker tests run here: mosquitto must exist; in CI (`CI` or
/// `URBIS_REQUIRE_SHARED_DATA` set true) its absence fails.
pub fn broker_or_skip() -> bool {
    if mosquitto_program().is_some() {
        return true;
    }
    if flag("CI") || flag("URBIS_REQUIRE_SHARED_DATA") {
        panic!("mosquitto is required (install it: apt-get install mosquitto)");
    }
    eprintln!("skipping: mosquitto is not installed");
    false
}

impl Broker {
    /// Starts mosquitto on a free port with `extra` config lines (plain, anonymous by default).
    pub fn start(extra: &str) -> Broker {
        let dir = tempfile::Builder::new().prefix("urbis-mqtt").tempdir().expect("tempdir").keep();
        // mosquitto run as root drops to its own user: let it read and write here.
        let _ = Command::new("chmod").arg("0777").arg(&dir).status();
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let mut f = std::fs::File::create(&conf).expect("conf");
        writeln!(f, "listener {port} 127.0.0.1").expect("w");
        writeln!(f, "persistence false").expect("w");
        writeln!(f, "log_dest file {}", dir.join("mosquitto.log").display()).expect("w");
        writeln!(f, "max_queued_messages 100000").expect("w");
        if extra.is_empty() {
            writeln!(f, "allow_anonymous true").expect("w");
        } else {
            writeln!(f, "{extra}").expect("w");
        }
        drop(f);
        let mut b = Broker { port, dir, conf, child: None };
        b.restart();
        b
    }

    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(mosquitto_program().expect("mosquitto"))
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {}: {}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    pub fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` every 10 ms until it is true or `timeout` passes; returns whether it became true.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
