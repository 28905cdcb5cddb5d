//! OGC SensorThings API polling over HTTP (ureq).
//!
//! Every `interval`, for each configured datastream:
//! `GET {base}/Datastreams({id})/Observations?$filter=phenomenonTime gt {last}&$orderby=phenomenonTime asc&$top={top}`,
//! then follows `@iot.nextLink` (same origin only, at most `max_pages`
//! pages) until the collection ends. The newest phenomenonTime seen per
//! datastream is the next poll's filter, so nothing is read twice.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::Duration;

use crate::LiveError;
use crate::payload::{Reject, parse_observations, parse_time};
use crate::session::Ingest;
use crate::sources::{SourceHandle, now_ms};

/// What to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorThingsSource {
    /// The service root, e.g. `http://127.0.0.1:8080/v1.1`.
    pub base: String,
    pub datastreams: Vec<String>,
    pub interval: Duration,
    pub top: usize,
    pub max_pages: usize,
    /// Largest response body read, bytes.
    pub max_body: u64,
}

impl SensorThingsSource {
    pub fn new(base: &str, datastreams: Vec<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            datastreams,
            interval: Duration::from_secs(5),
            top: 1000,
            max_pages: 100,
            max_body: 16 << 20,
        }
    }
}

/// Polls one round: every datastream, every page. `last` holds the newest
/// phenomenonTime per datastream (RFC 3339) and is updated. Returns readings queued.
pub fn poll_once(
    src: &SensorThingsSource,
    agent: &ureq::Agent,
    last: &mut HashMap<String, String>,
    ingest: &Ingest,
) -> Result<usize, LiveError> {
    let mut queued = 0;
    for ds in &src.datastreams {
        let mut url = format!("{}/Datastreams({ds})/Observations", src.base);
        let mut query: Vec<(String, String)> =
            vec![("$orderby".into(), "phenomenonTime asc".into()), ("$top".into(), src.top.to_string())];
        if let Some(t) = last.get(ds) {
            query.push(("$filter".into(), format!("phenomenonTime gt {t}")));
        }
        for page in 0..src.max_pages {
            let mut req = agent.get(&url);
            if page == 0 {
                for (k, v) in &query {
                    req = req.query(k, v);
                }
            }
            let mut resp = req.call().map_err(|e| LiveError::Http { url: url.clone(), why: e.to_string() })?;
            let body = resp
                .body_mut()
                .with_config()
                .limit(src.max_body)
                .read_to_vec()
                .map_err(|e| LiveError::Http { url: url.clone(), why: e.to_string() })?;
            let now = now_ms();
            ingest.stats.count_message();
            let parsed = match parse_observations(&body) {
                Ok(p) => p,
                Err(e) => {
                    ingest.stats.reject(Reject::NotJson, &format!("{url}: {e}"));
                    break;
                }
            };
            let mut batch = Vec::new();
            ingest.parser().observations(ds, &parsed.observations, now, &mut batch);
            queued += batch.len();
            ingest.push(&mut batch);
            if let Some(newest) = parsed
                .observations
                .iter()
                .filter_map(|o| o.phenomenon_time.as_deref())
                .filter_map(|t| parse_time(t).map(|ms| (ms, t)))
                .max_by_key(|(ms, _)| *ms)
                && last.get(ds).and_then(|t| parse_time(t)).is_none_or(|old| newest.0 > old)
            {
                last.insert(ds.clone(), newest.1.rsplit('/').next().unwrap_or(newest.1).to_string());
            }
            match parsed.next_link {
                Some(next) if same_origin(&src.base, &next) => url = next,
                Some(next) => {
                    tracing::warn!(next, "SensorThings nextLink leaves the service; not followed");
                    break;
                }
                None => break,
            }
        }
    }
    Ok(queued)
}

fn same_origin(base: &str, link: &str) -> bool {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        Some(format!("{scheme}://{}", rest.split('/').next()?))
    };
    origin(base).is_some_and(|o| origin(link).as_deref() == Some(o.as_str()))
}

/// An HTTP agent with timeouts, so a stalled server cannot hang the poller.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(true)
        .build()
        .into()
}

/// Polls on a thread until stopped; failures are logged and retried next round.
pub fn spawn_sensorthings(src: SensorThingsSource, ingest: Ingest) -> Result<SourceHandle, LiveError> {
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicI64::new(now_ms()));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, c) = (stop.clone(), clock.clone());
    let name = format!("sensorthings {}", src.base);
    let thread = std::thread::Builder::new()
        .name("urbis-sta".into())
        .spawn(move || {
            let agent = agent();
            let mut last = HashMap::new();
            while !s.load(Relaxed) {
                c.store(now_ms(), Relaxed);
                if let Err(e) = poll_once(&src, &agent, &mut last, &ingest) {
                    tracing::warn!("{e}");
                }
                let until = std::time::Instant::now() + src.interval;
                while std::time::Instant::now() < until && !s.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                    c.store(now_ms(), Relaxed);
                }
            }
        })
        .map_err(|e| LiveError::Io { path: PathBuf::from(&name), source: e })?;
    Ok(SourceHandle::new(name, stop, clock, finished, thread))
}
