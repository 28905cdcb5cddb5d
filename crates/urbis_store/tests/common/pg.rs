//! A PostgreSQL server of the test's own: `initdb` into a temp dir and
//! `pg_ctl start` on a free loopback port (as the `postgres` user when the
//! tests run as root, which `initdb` refuses), stopped when dropped. Never
//! the system service.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("initdb")).find(|p| p.is_file()))
        .unwrap_or(None);
    if let Some(p) = on_path {
        // Debian's /usr/local/bin links point into /usr/lib/postgresql/N/bin; pg_ctl sits beside initdb.
        return std::fs::canonicalize(p).ok()?.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|e| e.path().join("bin")).collect();
    versions.sort();
    versions.into_iter().rev().find(|b| b.join("initdb").is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

impl PgServer {
    /// A fresh server, or `None` (with a message) when PostgreSQL is not
    /// installed and `URBIS_REQUIRE_POSTGRES=1` is not set (CI sets it).
    pub fn start(name: &str) -> Option<PgServer> {
        Self::start_with(name, None)
    }

    /// A fresh server whose processes may not write any file past
    /// `max_file_bytes` (`prlimit --fsize`): a disk that fills up, for the
    /// tables, without filling the machine's disk.
    pub fn start_with(name: &str, max_file_bytes: Option<u64>) -> Option<PgServer> {
        let Some(bin) = find_bin() else {
            if std::env::var("URBIS_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("URBIS_REQUIRE_POSTGRES=1 but no initdb (apt-get install postgresql)");
            }
            eprintln!("SKIP: PostgreSQL is not installed (apt-get install postgresql)");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("urbis-pg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("pg dir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres"]).arg(&dir).status().expect("chown").success();
            assert!(ok, "chown postgres {}", dir.display());
        }
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let server = PgServer { dir, bin, port, as_postgres };
        let data = server.dir.join("data");
        server.run("initdb", &["-D", &data.to_string_lossy(), "-A", "trust", "-U", "urbis", "--no-sync"]);
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on", server.dir.display());
        let limit = max_file_bytes.map(|b| format!("--fsize={b}"));
        server.run_limited(
            "pg_ctl",
            limit.as_deref(),
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &server.dir.join("log").to_string_lossy(),
                "-w",
                "start",
            ],
        );
        Some(server)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        self.run_limited(tool, None, args)
    }

    /// Runs a server tool, under `prlimit LIMIT` when given.
    fn run_limited(&self, tool: &str, limit: Option<&str>, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut command: Vec<std::ffi::OsString> = Vec::new();
        if self.as_postgres {
            command.extend(["runuser", "-u", "postgres", "--"].map(Into::into));
        }
        if let Some(l) = limit {
            command.extend(["prlimit", l, "--"].map(Into::into));
        }
        command.push(exe.clone().into());
        let out = Command::new(&command[0])
            .args(&command[1..])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// A URL to a new database of the server.
    pub fn database(&self, db: &str) -> String {
        let mut c = postgres::Client::connect(
            &format!("host=127.0.0.1 port={} user=urbis dbname=postgres", self.port),
            postgres::NoTls,
        )
        .expect("connect to the test server");
        c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap_or_else(|e| panic!("create database {db}: {e:?}"));
        format!("postgres://urbis@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"].map(str::to_string);
        let _ = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(&args).output()
        } else {
            Command::new(&exe).args(&args).output()
        };
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
