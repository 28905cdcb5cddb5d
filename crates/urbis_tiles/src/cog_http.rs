//! Cloud-Optimized GeoTIFFs over HTTP: [`HttpByteSource`] reads byte
//! ranges of one URL, so a `GeoTiffImagery` opened on it ([`open_cog`])
//! fetches the header and IFDs, then only the tiles each window needs.
//!
//! ```text
//! open_cog(url) ─► HttpByteSource::open: HEAD ─► Content-Length
//!                    (no length, HEAD refused: GET Range: bytes=0-0 ─► Content-Range …/N)
//!               ─► GeoTiffImagery::from_source: header + IFDs in 64 KiB blocks (a request or two)
//! window ─► one GET Range: bytes=a-b per tile
//!   206 ─► the bytes (Content-Range and length checked)
//!   200 (Range ignored) ─► the whole body, kept, if ≤ MAX_WHOLE_BODY; else
//!                          "the server does not serve byte ranges"
//!   404 / 410 ─► not found   5xx, 429, 408, network, cut body ─► retried with backoff
//!   other ─► an error naming the URL and the bytes
//! ```
//!
//! Attempts, backoff and timeouts are the [`HttpOptions`] the [`Fetcher`](crate::Fetcher)
//! uses. A source is read one request at a time (`GeoTiffImagery` holds a
//! lock while it reads), over one keep-alive connection.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use urbis_formats::imagery::ImageryError;
use urbis_formats::imagery::geotiff::{ByteSource, GeoTiffImagery, past_end};

use crate::fetch::HttpOptions;

/// The largest body kept from a server that ignores `Range` (it sends the
/// whole file for every request).
pub const MAX_WHOLE_BODY: u64 = 1 << 20;

/// Why one attempt failed, and whether another may succeed.
enum Attempt {
    Retry(String),
    Fatal(String),
}

/// One URL read by HTTP range requests.
pub struct HttpByteSource {
    url: String,
    http: HttpOptions,
    agent: ureq::Agent,
    len: u64,
    /// The whole file, when the server answered a range request with it.
    whole: OnceLock<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for HttpByteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpByteSource").field("url", &self.url).field("len", &self.len).finish()
    }
}

/// A Content-Range: the first and last byte (none in `bytes */TOTAL`), and the total if known.
type ContentRange = (Option<(u64, u64)>, Option<u64>);

/// `bytes START-END/TOTAL` (TOTAL may be `*`), or `bytes */TOTAL`.
fn content_range(v: &str) -> Option<ContentRange> {
    let (range, total) = v.trim().strip_prefix("bytes")?.trim_start().split_once('/')?;
    let total = if total.trim() == "*" { None } else { Some(total.trim().parse().ok()?) };
    if range.trim() == "*" {
        return Some((None, total));
    }
    let (a, b) = range.trim().split_once('-')?;
    Some((Some((a.parse().ok()?, b.parse().ok()?)), total))
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// What a status other than 2xx means.
fn status_error(status: u16, what: &str) -> Attempt {
    match status {
        404 | 410 => Attempt::Fatal(format!("not found (HTTP {status})")),
        408 | 429 | 500.. => Attempt::Retry(format!("{what}HTTP {status}")),
        _ => Attempt::Fatal(format!("{what}HTTP {status}")),
    }
}

impl HttpByteSource {
    /// Asks the server for the length of `url` (a HEAD request; a ranged GET
    /// when HEAD gives none). Nothing else is read.
    pub fn open(url: &str, http: &HttpOptions) -> Result<Self, ImageryError> {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(http.connect_timeout))
            .timeout_global(Some(http.request_timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let mut s = HttpByteSource { url: url.to_string(), http: http.clone(), agent, len: 0, whole: OnceLock::new() };
        s.len = s.with_retries(|| s.probe_len())?;
        Ok(s)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn fail(&self, message: String) -> ImageryError {
        ImageryError::Source { source_name: self.url.clone(), message }
    }

    /// Runs `f` up to the attempts the options allow, backing off between them.
    fn with_retries<T>(&self, f: impl Fn() -> Result<T, Attempt>) -> Result<T, ImageryError> {
        let attempts = self.http.attempts.max(1);
        let mut last = String::from("no attempt made");
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(self.http.backoff * (1 << (attempt - 1).min(8)));
            }
            match f() {
                Ok(v) => return Ok(v),
                Err(Attempt::Fatal(m)) => return Err(self.fail(m)),
                Err(Attempt::Retry(m)) => {
                    tracing::debug!("{}: {m}; attempt {} of {attempts}", self.url, attempt + 1);
                    last = m;
                }
            }
        }
        Err(self.fail(last))
    }

    /// The length: HEAD's Content-Length, else a `bytes=0-0` GET's Content-Range.
    fn probe_len(&self) -> Result<u64, Attempt> {
        let resp = self.agent.head(&self.url).call().map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = resp.status().as_u16();
        if matches!(status, 404 | 410 | 408 | 429 | 500..) {
            return Err(status_error(status, "HEAD: "));
        }
        if (200..300).contains(&status)
            && let Some(n) = header(&resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Ok(n);
        }
        // HEAD refused (405, a URL signed for GET only …) or no length: ask for one byte.
        let mut resp =
            self.agent.get(&self.url).header("Range", "bytes=0-0").call().map_err(|e| Attempt::Retry(e.to_string()))?;
        match resp.status().as_u16() {
            206 => match header(&resp, "content-range").as_deref().and_then(content_range) {
                Some((_, Some(total))) => Ok(total),
                _ => Err(Attempt::Fatal("a range request's answer gives no length (Content-Range)".into())),
            },
            200 => {
                let whole = self.whole_body(&mut resp)?;
                Ok(self.whole.get_or_init(|| Arc::new(whole)).len() as u64)
            }
            status => Err(status_error(status, "")),
        }
    }

    /// The body of a 200 answer to a range request, if it is small enough to keep.
    fn whole_body(&self, resp: &mut ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, Attempt> {
        let refuse = |size: String| {
            Attempt::Fatal(format!(
                "the server does not serve byte ranges (it answered a range request with the whole {size} \
                 file, over the {MAX_WHOLE_BODY} bytes read that way)"
            ))
        };
        let declared = header(resp, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(n) = declared
            && n > MAX_WHOLE_BODY
        {
            return Err(refuse(format!("{n}-byte")));
        }
        let mut body = Vec::new();
        let reader = resp.body_mut().with_config().limit(MAX_WHOLE_BODY + 1).reader();
        reader
            .take(MAX_WHOLE_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| Attempt::Retry(format!("body cut after {} bytes: {e}", body.len())))?;
        if body.len() as u64 > MAX_WHOLE_BODY {
            return Err(refuse("unsized".into()));
        }
        if let Some(n) = declared
            && n != body.len() as u64
        {
            return Err(Attempt::Retry(format!("body is {} of {n} bytes", body.len())));
        }
        Ok(body)
    }

    /// One attempt at `len` (> 0) bytes from `offset`.
    fn range(&self, offset: u64, len: usize) -> Result<Vec<u8>, Attempt> {
        let end = offset + len as u64 - 1;
        let what = format!("bytes {offset}-{end}: ");
        let mut resp = self
            .agent
            .get(&self.url)
            .header("Range", format!("bytes={offset}-{end}"))
            .call()
            .map_err(|e| Attempt::Retry(format!("{what}{e}")))?;
        match resp.status().as_u16() {
            206 => {}
            200 => {
                let whole = self.whole_body(&mut resp)?;
                let whole = self.whole.get_or_init(|| Arc::new(whole));
                return slice(whole, offset, len).map_err(|m| Attempt::Fatal(format!("{what}{m}")));
            }
            416 => {
                return Err(Attempt::Fatal(format!(
                    "{what}HTTP 416 (not satisfiable: is the file shorter than the {} bytes it had when opened?)",
                    self.len
                )));
            }
            status => return Err(status_error(status, &what)),
        }
        if let Some(v) = header(&resp, "content-range") {
            match content_range(&v) {
                Some((Some((a, b)), total)) if a == offset && b == end => {
                    if let Some(t) = total
                        && t != self.len
                    {
                        return Err(Attempt::Fatal(format!(
                            "{what}the file is now {t} bytes, {} when opened",
                            self.len
                        )));
                    }
                }
                _ => {
                    return Err(Attempt::Fatal(format!(
                        "{what}the server sent `Content-Range: {v}` (the file is {} bytes)",
                        self.len
                    )));
                }
            }
        }
        let want = len as u64;
        let mut body = Vec::new();
        let reader = resp.body_mut().with_config().limit(want + 1).reader();
        reader
            .take(want + 1)
            .read_to_end(&mut body)
            .map_err(|e| Attempt::Retry(format!("{what}body cut after {} of {want} bytes: {e}", body.len())))?;
        if body.len() as u64 != want {
            return Err(Attempt::Retry(format!("{what}{} bytes sent for {want}", body.len())));
        }
        Ok(body)
    }
}

/// `len` bytes of `whole` from `offset`.
fn slice(whole: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, String> {
    if let Some(m) = past_end(offset, len as u64, whole.len() as u64) {
        return Err(m);
    }
    Ok(whole[offset as usize..offset as usize + len].to_vec())
}

impl ByteSource for HttpByteSource {
    fn name(&self) -> String {
        self.url.clone()
    }

    fn len(&self) -> Result<u64, ImageryError> {
        Ok(self.len)
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ImageryError> {
        if let Some(whole) = self.whole.get() {
            return slice(whole, offset, len).map_err(|m| self.fail(m));
        }
        if let Some(m) = past_end(offset, len as u64, self.len) {
            return Err(self.fail(m));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        self.with_retries(|| self.range(offset, len))
    }
}

/// Opens the Cloud-Optimized GeoTIFF at `url`: its header and IFDs now
/// (a few requests), each window's tiles later (one range request each).
pub fn open_cog(url: &str, http: &HttpOptions) -> Result<GeoTiffImagery, ImageryError> {
    GeoTiffImagery::from_source(Arc::new(HttpByteSource::open(url, http)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(content_range("bytes 0-0/1234"), Some((Some((0, 0)), Some(1234))));
        assert_eq!(content_range("bytes 10-19/*"), Some((Some((10, 19)), None)));
        assert_eq!(content_range("bytes */99"), Some((None, Some(99))));
        assert_eq!(content_range("bytes 1-x/9"), None);
        assert_eq!(content_range("items 0-1/2"), None);
    }
}
