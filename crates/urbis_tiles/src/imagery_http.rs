//! Imagery tiles over HTTP: the XYZ and WMTS sources of
//! `urbis_formats::imagery` read through this crate's [`Fetcher`]
//! (keep-alive agent, retries with backoff, timeouts, a per-host limit, the
//! optional disk cache).
//!
//! ```text
//! XyzSource / WmtsSource::window ─► TileFetcher::fetch(url) ─► Fetcher::read_optional
//!   200 ─► Some(bytes)   404 / 410 ─► None (a hole)   other ─► Err naming the URL
//! open_wmts(capabilities URL) ─► GET (no cache, ≤ MAX_CAPABILITIES_BYTES)
//!   ─► WmtsSource::new(bytes, url, options, HttpTileFetcher)
//! ```

use std::path::Path;
use std::sync::Arc;

use urbis_formats::imagery::ImageryError;
use urbis_formats::imagery::wmts::{MAX_CAPABILITIES_BYTES, WmtsOptions, WmtsSource};
use urbis_formats::imagery::xyz::TileFetcher;

use crate::fetch::{Fetcher, HttpOptions, default_fetcher};

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

/// Opens `layer` (`None`: the first) of the WMTS whose capabilities
/// document is at `url` (a URL or a file; it is read as it stands, so a KVP
/// service needs `?SERVICE=WMTS&REQUEST=GetCapabilities` in it), reading
/// tiles through `fetcher`. The TileMatrixSet is chosen as
/// [`WmtsOptions`] says (EPSG:3857, then 4326).
pub fn open_wmts(url: &str, layer: Option<&str>, fetcher: Arc<Fetcher>) -> Result<WmtsSource, ImageryError> {
    open_wmts_with(url, &WmtsOptions { layer: layer.map(str::to_string), ..Default::default() }, fetcher)
}

/// [`open_wmts`] with every choice of [`WmtsOptions`]. The capabilities are
/// fetched with `fetcher`'s HTTP options but never from or into its cache,
/// and refused beyond [`MAX_CAPABILITIES_BYTES`].
pub fn open_wmts_with(url: &str, opts: &WmtsOptions, fetcher: Arc<Fetcher>) -> Result<WmtsSource, ImageryError> {
    let http = HttpOptions { max_body: MAX_CAPABILITIES_BYTES as u64, ..fetcher.http.clone() };
    let bytes = Fetcher::new(http, None).read(Path::new(url), None).map_err(|e| ImageryError::Source {
        source_name: url.to_string(),
        message: format!("cannot read the WMTS capabilities: {e}"),
    })?;
    WmtsSource::new(&bytes, url, opts, Arc::new(HttpTileFetcher::new(fetcher)))
}
