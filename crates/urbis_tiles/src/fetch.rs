//! Where tile bytes come from: local files or HTTP(S), with retries,
//! timeouts, cancellation, a per-host concurrency limit and an optional
//! on-disk cache.
//!
//! A location is a [`Path`] that holds either a file path or a URL
//! (`https://host/city/tileset.json`). Relative URIs resolve against it
//! with the same rules as files ([`urbis_formats::resolve_relative`]), so a
//! URL never leaves the tileset's directory and error messages name the
//! whole URL.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use urbis_formats::FormatError;

/// Whether a location is a URL rather than a file.
pub fn is_url(p: &Path) -> bool {
    let s = p.to_string_lossy();
    s.starts_with("http://") || s.starts_with("https://")
}

/// The `scheme://host:port` of a URL location, or `file` for files.
pub fn host_of(p: &Path) -> String {
    if !is_url(p) {
        return "file".into();
    }
    let s = p.to_string_lossy();
    let (scheme, rest) = s.split_once("://").unwrap_or(("http", &s));
    format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
}

/// How HTTP requests behave.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Attempts per request (1 = no retry). 404 and other 4xx are not retried.
    pub attempts: u32,
    /// Backoff before the second attempt, doubled each time.
    pub backoff: Duration,
    /// Connection establishment limit.
    pub connect_timeout: Duration,
    /// Whole-request limit (connect, headers and body).
    pub request_timeout: Duration,
    /// Largest body accepted.
    pub max_body: u64,
    /// Requests in flight per host, over every tileset of the process.
    pub per_host: usize,
    /// An `Accept` header for every request (quantized-mesh servers send
    /// the extensions it names, see `quantized_mesh::ACCEPT`).
    pub accept: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_body: 1 << 30,
            per_host: 6,
            accept: None,
        }
    }
}

/// Reads locations: files directly, URLs through one keep-alive agent,
/// each optionally through a [`DiskCache`].
pub struct Fetcher {
    pub http: HttpOptions,
    agent: ureq::Agent,
    cache: Option<DiskCache>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("http", &self.http).field("cache", &self.cache).finish()
    }
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new(HttpOptions::default(), None)
    }
}

fn http_error(url: &str, why: impl std::fmt::Display) -> FormatError {
    FormatError::Io { path: url.to_string(), source: std::io::Error::other(why.to_string()) }
}

/// Why one HTTP attempt failed, and whether another may succeed.
enum Attempt {
    Retry(FormatError),
    Fatal(FormatError),
    /// 404 or 410: there is nothing there (not retried).
    Missing(FormatError),
}

impl Fetcher {
    pub fn new(http: HttpOptions, cache: Option<DiskCache>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(http.connect_timeout))
            .timeout_global(Some(http.request_timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self { http, agent, cache }
    }

    /// The bytes at a location. `cancel` is checked between attempts and
    /// while a body streams in; a cancelled read returns an error.
    pub fn read(&self, loc: &Path, cancel: Option<&AtomicBool>) -> Result<Vec<u8>, FormatError> {
        match self.read_or_missing(loc, cancel) {
            Ok(bytes) => Ok(bytes),
            Err(Attempt::Missing(e) | Attempt::Fatal(e) | Attempt::Retry(e)) => Err(e),
        }
    }

    /// Like [`Self::read`], but a location that does not exist (HTTP 404 or
    /// 410, a missing file) is `Ok(None)` rather than an error.
    pub fn read_optional(&self, loc: &Path, cancel: Option<&AtomicBool>) -> Result<Option<Vec<u8>>, FormatError> {
        match self.read_or_missing(loc, cancel) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Attempt::Missing(_)) => Ok(None),
            Err(Attempt::Fatal(e) | Attempt::Retry(e)) => Err(e),
        }
    }

    fn read_or_missing(&self, loc: &Path, cancel: Option<&AtomicBool>) -> Result<Vec<u8>, Attempt> {
        if !is_url(loc) {
            return urbis_formats::read_file(loc).map_err(|e| match &e {
                FormatError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Attempt::Missing(e),
                _ => Attempt::Fatal(e),
            });
        }
        let url = url_of(loc);
        if let Some(c) = &self.cache
            && let Some(bytes) = c.get(&url)
        {
            return Ok(bytes);
        }
        let _slot = HostGate::global()
            .acquire(&host_of(loc), self.http.per_host, cancel)
            .ok_or_else(|| Attempt::Fatal(http_error(&url, "cancelled")))?;
        let mut last = http_error(&url, "no attempt made");
        for attempt in 0..self.http.attempts.max(1) {
            if attempt > 0 {
                let wait = self.http.backoff * (1 << (attempt - 1).min(8));
                if sleep_unless_cancelled(wait, cancel) {
                    return Err(Attempt::Fatal(http_error(&url, "cancelled")));
                }
            }
            match self.attempt(&url, cancel) {
                Ok(bytes) => {
                    if let Some(c) = &self.cache {
                        c.put(&url, &bytes);
                    }
                    return Ok(bytes);
                }
                Err(e @ (Attempt::Fatal(_) | Attempt::Missing(_))) => return Err(e),
                Err(Attempt::Retry(e)) => {
                    tracing::debug!("{e}; attempt {} of {}", attempt + 1, self.http.attempts);
                    last = e;
                }
            }
        }
        Err(Attempt::Retry(last))
    }

    fn attempt(&self, url: &str, cancel: Option<&AtomicBool>) -> Result<Vec<u8>, Attempt> {
        let mut request = self.agent.get(url);
        if let Some(accept) = &self.http.accept {
            request = request.header("Accept", accept);
        }
        let mut resp = request.call().map_err(|e| Attempt::Retry(http_error(url, e)))?;
        let status = resp.status().as_u16();
        if status >= 500 || status == 429 || status == 408 {
            return Err(Attempt::Retry(http_error(url, format!("HTTP {status}"))));
        }
        if status == 404 || status == 410 {
            return Err(Attempt::Missing(http_error(url, format!("HTTP {status}"))));
        }
        if status >= 400 {
            return Err(Attempt::Fatal(http_error(url, format!("HTTP {status}"))));
        }
        let declared = resp.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(n) = declared
            && n > self.http.max_body
        {
            return Err(Attempt::Fatal(FormatError::TooLarge { path: url.into(), size: n, limit: self.http.max_body }));
        }
        let mut reader = resp.body_mut().with_config().limit(self.http.max_body + 1).reader();
        let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(64 << 20) as usize);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(Attempt::Fatal(http_error(url, "cancelled")));
            }
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return Err(Attempt::Retry(http_error(url, format!("body cut after {} bytes: {e}", bytes.len()))));
                }
            }
            if bytes.len() as u64 > self.http.max_body {
                return Err(Attempt::Fatal(FormatError::TooLarge {
                    path: url.into(),
                    size: bytes.len() as u64,
                    limit: self.http.max_body,
                }));
            }
        }
        if let Some(n) = declared
            && n != bytes.len() as u64
        {
            return Err(Attempt::Retry(http_error(url, format!("body is {} of {n} bytes", bytes.len()))));
        }
        Ok(bytes)
    }
}

/// The URL of a location, with characters a request line cannot carry escaped.
fn url_of(loc: &Path) -> String {
    let s = loc.to_string_lossy();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '"' => out.push_str("%22"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            c if c.is_ascii_control() => {}
            c if !c.is_ascii() => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Sleeps up to `d`; true if cancelled meanwhile.
fn sleep_unless_cancelled(d: Duration, cancel: Option<&AtomicBool>) -> bool {
    let end = Instant::now() + d;
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return true;
        }
        let now = Instant::now();
        if now >= end {
            return false;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

/// Requests in flight per host, and parses running ([`DECODE_GATE`]), process-wide.
struct HostGate {
    busy: Mutex<HashMap<String, usize>>,
    freed: Condvar,
}

struct HostSlot {
    host: String,
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let g = HostGate::global();
        let mut busy = g.busy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = busy.get_mut(&self.host) {
            *n = n.saturating_sub(1);
        }
        g.freed.notify_all();
    }
}

impl HostGate {
    fn global() -> &'static HostGate {
        static GATE: OnceLock<HostGate> = OnceLock::new();
        GATE.get_or_init(|| HostGate { busy: Mutex::new(HashMap::new()), freed: Condvar::new() })
    }

    /// Waits for a free slot on `host`; `None` if cancelled while waiting.
    fn acquire(&self, host: &str, limit: usize, cancel: Option<&AtomicBool>) -> Option<HostSlot> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return None;
            }
            let n = busy.entry(host.to_string()).or_default();
            if *n < limit.max(1) {
                *n += 1;
                return Some(HostSlot { host: host.to_string() });
            }
            busy = self.freed.wait_timeout(busy, Duration::from_millis(20)).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    #[cfg(test)]
    fn in_flight(&self, host: &str) -> usize {
        self.busy.lock().unwrap_or_else(|e| e.into_inner()).get(host).copied().unwrap_or(0)
    }
}

/// An on-disk cache of fetched URLs with a size limit; least recently used
/// entries go first. Entries are written to a temporary name and renamed,
/// so a crash never leaves a half-written entry behind.
#[derive(Debug)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// File name → (size, last use tick).
    entries: HashMap<String, (u64, u64)>,
    total: u64,
    tick: u64,
}

/// What a cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: u64,
}

impl DiskCache {
    /// Opens (creating) a cache directory; what is already there counts
    /// towards the limit, oldest first.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<DiskCache> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            if name.ends_with(".part") {
                let _ = std::fs::remove_file(e.path());
                continue;
            }
            found.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), name, meta.len()));
        }
        found.sort();
        let mut state = CacheState::default();
        for (_, name, size) in found {
            state.tick += 1;
            state.total += size;
            state.entries.insert(name, (size, state.tick));
        }
        let cache = DiskCache { dir: dir.to_path_buf(), max_bytes, state: Mutex::new(state) };
        cache.trim(&mut cache.state.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(cache)
    }

    fn name(url: &str) -> String {
        // FNV-1a 128 over the URL: stable between runs and platforms.
        let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
        for b in url.bytes() {
            h ^= b as u128;
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
        format!("{h:032x}")
    }

    pub fn get(&self, url: &str) -> Option<Vec<u8>> {
        let name = Self::name(url);
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.tick += 1;
            let tick = s.tick;
            s.entries.get_mut(&name)?.1 = tick;
        }
        std::fs::read(self.dir.join(&name)).ok()
    }

    pub fn put(&self, url: &str, bytes: &[u8]) {
        if bytes.len() as u64 > self.max_bytes {
            return;
        }
        let name = Self::name(url);
        let part = self.dir.join(format!("{name}.{}.part", std::process::id()));
        if std::fs::write(&part, bytes).and_then(|_| std::fs::rename(&part, self.dir.join(&name))).is_err() {
            let _ = std::fs::remove_file(&part);
            tracing::warn!("cache {}: could not store {url}", self.dir.display());
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.tick += 1;
        let tick = s.tick;
        if let Some((old, _)) = s.entries.insert(name, (bytes.len() as u64, tick)) {
            s.total -= old;
        }
        s.total += bytes.len() as u64;
        self.trim(&mut s);
    }

    fn trim(&self, s: &mut CacheState) {
        if s.total <= self.max_bytes {
            return;
        }
        let mut by_age: Vec<(u64, String, u64)> =
            s.entries.iter().map(|(n, (size, t))| (*t, n.clone(), *size)).collect();
        by_age.sort();
        for (_, name, size) in by_age {
            if s.total <= self.max_bytes {
                break;
            }
            let _ = std::fs::remove_file(self.dir.join(&name));
            s.entries.remove(&name);
            s.total -= size;
        }
    }

    pub fn stats(&self) -> CacheStats {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        CacheStats { entries: s.entries.len(), bytes: s.total }
    }
}

/// glTF external resources next to a location (file or URL).
pub struct FetchResources<'a> {
    pub fetcher: &'a Fetcher,
    pub dir: PathBuf,
    pub cancel: Option<&'a AtomicBool>,
}

impl urbis_formats::gltf::Resources for FetchResources<'_> {
    fn load(&self, uri: &str) -> Result<Vec<u8>, FormatError> {
        let p = urbis_formats::resolve_relative(&self.dir, uri)?;
        self.fetcher.read(&p, self.cancel)
    }
}

/// The gate key that limits concurrent parses (no URL host looks like it).
const DECODE_GATE: &str = " decode";

/// Parses that may run at once: the cores less one for the frame thread, at
/// least one (asked once: `available_parallelism` reads cgroup files).
pub fn decoders() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).max(1))
}

/// Reads and parses one tile content through a fetcher.
/// Reads a content through a tree's generator when the path is a
/// generated one (see [`crate::terrain`]), else through `fetcher`.
pub fn read_tree_content(
    fetcher: &Fetcher,
    generator: Option<&Arc<dyn crate::terrain::GenerateContent>>,
    loc: &Path,
    cancel: Option<&AtomicBool>,
) -> Result<(urbis_formats::tiles3d::TileContent, u64), FormatError> {
    if let (Some(g), Some(coord)) = (generator, crate::terrain::parse_terrain_path(loc)) {
        let name = loc.display().to_string();
        let _decoder = HostGate::global()
            .acquire(DECODE_GATE, decoders(), cancel)
            .ok_or_else(|| http_error(&name, "cancelled"))?;
        let content = g.generate(coord, cancel)?;
        let bytes = match &content {
            urbis_formats::tiles3d::TileContent::Terrain(t) => t.bytes(),
            _ => 0,
        };
        return Ok((content, bytes));
    }
    read_content(fetcher, loc, cancel)
}

pub fn read_content(
    fetcher: &Fetcher,
    loc: &Path,
    cancel: Option<&AtomicBool>,
) -> Result<(urbis_formats::tiles3d::TileContent, u64), FormatError> {
    let bytes = fetcher.read(loc, cancel)?;
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(http_error(&loc.display().to_string(), "cancelled"));
    }
    let name = loc.display().to_string();
    // Parsing is CPU work: at most `decoders()` parses at once, so loaders
    // waiting on the network may be many while the frame thread always keeps
    // a core (cesium-native's and Cesium's worker count).
    let _decoder =
        HostGate::global().acquire(DECODE_GATE, decoders(), cancel).ok_or_else(|| http_error(&name, "cancelled"))?;
    let resources = FetchResources { fetcher, dir: loc.parent().map(Path::to_path_buf).unwrap_or_default(), cancel };
    let content = urbis_formats::tiles3d::parse_content(&bytes, &name, &resources, 0).map_err(|e| e.in_file(&name))?;
    Ok((content, bytes.len() as u64))
}

static DEFAULT: std::sync::RwLock<Option<Arc<Fetcher>>> = std::sync::RwLock::new(None);

/// The process's fetcher (files, and HTTP without a cache unless
/// [`set_default_fetcher`] gave one with a cache).
pub fn default_fetcher() -> Arc<Fetcher> {
    if let Some(f) = DEFAULT.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return f.clone();
    }
    DEFAULT.write().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(|| Arc::new(Fetcher::default())).clone()
}

/// Sets the fetcher tilesets opened from now on read through (an
/// application's `--cache DIR`, its HTTP settings).
pub fn set_default_fetcher(f: Arc<Fetcher>) {
    *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_locations_resolve_like_paths() {
        let base = Path::new("https://example.org:8080/city/tileset.json");
        assert!(is_url(base));
        assert_eq!(host_of(base), "https://example.org:8080");
        let dir = base.parent().expect("dir");
        let p = urbis_formats::resolve_relative(dir, "tiles/0/0 0.glb").expect("relative");
        assert_eq!(url_of(&p), "https://example.org:8080/city/tiles/0/0%200.glb");
        assert!(p.starts_with(dir));
        assert!(urbis_formats::resolve_relative(dir, "../../etc/passwd").is_err());
        assert!(!is_url(Path::new("/data/tileset.json")));
    }

    #[test]
    fn host_gate_limits_and_cancels() {
        let g = HostGate::global();
        let host = "http://gate-test:1";
        let a = g.acquire(host, 2, None).expect("first");
        let b = g.acquire(host, 2, None).expect("second");
        assert_eq!(g.in_flight(host), 2);
        let cancel = AtomicBool::new(true);
        assert!(g.acquire(host, 2, Some(&cancel)).is_none(), "a full host makes a cancelled request give up");
        drop(a);
        assert_eq!(g.in_flight(host), 1);
        let c = g.acquire(host, 2, None).expect("freed slot");
        drop((b, c));
        assert_eq!(g.in_flight(host), 0);
    }

    #[test]
    fn disk_cache_keeps_to_its_limit_oldest_first() {
        let dir = std::env::temp_dir().join(format!("urbis-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let c = DiskCache::open(&dir, 250).expect("open");
        c.put("http://h/a", &[1u8; 100]);
        c.put("http://h/b", &[2u8; 100]);
        assert_eq!(c.get("http://h/a").as_deref(), Some(&[1u8; 100][..]), "a is now the most recent");
        c.put("http://h/c", &[3u8; 100]);
        assert_eq!(c.stats(), CacheStats { entries: 2, bytes: 200 });
        assert!(c.get("http://h/b").is_none(), "b was least recently used");
        assert!(c.get("http://h/a").is_some() && c.get("http://h/c").is_some());
        drop(c);
        let again = DiskCache::open(&dir, 250).expect("reopen");
        assert_eq!(again.stats(), CacheStats { entries: 2, bytes: 200 }, "entries survive a restart");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
