//! Imagery tiles over HTTP: the XYZ sources of `urbis_formats::imagery`
//! read through this crate's [`Fetcher`] (keep-alive agent, retries with
//! backoff, timeouts, a per-host limit, the optional disk cache).
//!
//! ```text
//! XyzSource::window ─► TileFetcher::fetch(url) ─► Fetcher::read_optional
//!   200 ─► Some(bytes)   404 / 410 ─► None (a hole)   other ─► Err naming the URL
//! ```

use std::path::Path;
use std::sync::Arc;

use urbis_formats::imagery::xyz::TileFetcher;

use crate::fetch::{Fetcher, default_fetcher};

/// A [`TileFetcher`] for `http(s)://` templates (paths work too: they are
/// read as files).
#[derive(Debug, Clone)]
pub struct HttpTileFetcher {
    fetcher: Arc<Fetcher>,
}

impl HttpTileFetcher {
    pub fn new(fetcher: Arc<Fetcher>) -> Self {
        Self { fetcher }
    }
}

impl Default for HttpTileFetcher {
    /// Through the process's fetcher ([`default_fetcher`]).
    fn default() -> Self {
        Self::new(default_fetcher())
    }
}

impl TileFetcher for HttpTileFetcher {
    fn fetch(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        self.fetcher.read_optional(Path::new(url), None).map_err(|e| e.to_string())
    }
}
