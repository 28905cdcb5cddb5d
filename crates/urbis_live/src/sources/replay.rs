//! Replay of a recording: JSON lines (one reading or a batch per line, in
//! the config's field mapping) or CSV (`sensor,time,value[,quality]`).
//!
//! [`Replay::advance`] releases the readings up to a virtual time, so tests
//! drive it with their own clock; [`spawn_replay`] runs it on a thread at
//! N× real time or as fast as the consumer takes it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::LiveError;
use crate::payload::{Reading, Reject};
use crate::session::Ingest;
use crate::sources::SourceHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    Csv,
}

/// A recording being read.
pub struct Replay {
    path: PathBuf,
    reader: BufReader<File>,
    format: Format,
    line: String,
    line_no: u64,
    /// Parsed readings not yet released (later than the last `until`).
    pending: VecDeque<Reading>,
    done: bool,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay").field("path", &self.path).field("line", &self.line_no).finish()
    }
}

/// Longest line read from a recording; longer ones are refused as too large.
const MAX_LINE: usize = 1 << 20;

impl Replay {
    /// Opens a `.jsonl` / `.ndjson` or `.csv` recording.
    pub fn open(path: &Path) -> Result<Replay, LiveError> {
        let file = File::open(path).map_err(|e| LiveError::Io { path: path.to_path_buf(), source: e })?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            _ => Format::Jsonl,
        };
        Ok(Replay {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            format,
            line: String::new(),
            line_no: 0,
            pending: VecDeque::new(),
            done: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads lines until at least one reading is pending or the file ends.
    fn fill(&mut self, ingest: &Ingest) -> Result<(), LiveError> {
        let mut parsed = Vec::new();
        while self.pending.is_empty() && !self.done {
            self.line.clear();
            let n = std::io::Read::take(&mut self.reader, MAX_LINE as u64 + 1)
                .read_line(&mut self.line)
                .map_err(|e| LiveError::Io { path: self.path.clone(), source: e })?;
            if n == 0 {
                self.done = true;
                break;
            }
            self.line_no += 1;
            if self.line.len() > MAX_LINE {
                ingest.stats.reject(Reject::TooLarge, &format!("{} line {}", self.path.display(), self.line_no));
                // Skip the rest of the long line.
                let mut rest = Vec::new();
                let _ = self.reader.read_until(b'\n', &mut rest);
                continue;
            }
            let text = self.line.trim();
            if text.is_empty() {
                continue;
            }
            match self.format {
                Format::Jsonl => {
                    ingest.parser().json("", text.as_bytes(), 0, &mut parsed);
                }
                Format::Csv => {
                    if self.line_no == 1 && text.starts_with("sensor") {
                        continue;
                    }
                    let json = csv_line_to_json(text, &ingest.fields);
                    ingest.parser().json("", json.as_bytes(), 0, &mut parsed);
                }
            }
            self.pending.extend(parsed.drain(..));
        }
        Ok(())
    }

    /// The time of the next reading, or `None` at the end.
    pub fn peek_time(&mut self, ingest: &Ingest) -> Result<Option<i64>, LiveError> {
        self.fill(ingest)?;
        Ok(self.pending.front().map(|r| r.time_ms))
    }

    /// Queues every reading up to `until_ms` (in file order) into the
    /// pipeline. Returns false once the recording is exhausted.
    pub fn advance(&mut self, until_ms: i64, ingest: &Ingest) -> Result<bool, LiveError> {
        let mut out = Vec::new();
        loop {
            self.fill(ingest)?;
            match self.pending.front() {
                Some(r) if r.time_ms <= until_ms => {
                    out.push(*r);
                    self.pending.pop_front();
                    if out.len() >= 4096 {
                        ingest.push(&mut out);
                    }
                }
                _ => break,
            }
        }
        ingest.push(&mut out);
        Ok(!(self.done && self.pending.is_empty()))
    }
}

/// `sensor,time,value[,quality]` → a JSON reading in the field mapping.
fn csv_line_to_json(line: &str, fields: &crate::payload::FieldMap) -> String {
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    let mut m = serde_json::Map::new();
    let text = |s: &str| serde_json::Value::String(s.trim_matches('"').to_string());
    if let Some(s) = cols.first() {
        m.insert(fields.sensor.clone(), text(s));
    }
    if let Some(t) = cols.get(1) {
        let v = t.parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| text(t));
        m.insert(fields.time.clone(), v);
    }
    if let Some(v) = cols.get(2) {
        let v = v.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(serde_json::Value::Number);
        m.insert(fields.value.clone(), v.unwrap_or_else(|| text(cols[2])));
    }
    if let Some(q) = cols.get(3) {
        m.insert(fields.quality.clone(), text(q));
    }
    serde_json::Value::Object(m).to_string()
}

/// Replay speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// This many recorded seconds per real second.
    Times(f64),
    /// As fast as the consumer drains the pipeline.
    Max,
}

/// Runs a replay on a thread. The handle's clock is the replay's virtual time.
pub fn spawn_replay(mut replay: Replay, speed: Speed, ingest: Ingest) -> Result<SourceHandle, LiveError> {
    let first = replay.peek_time(&ingest)?.unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(AtomicI64::new(first));
    let finished = Arc::new(AtomicBool::new(false));
    let (s, c, f) = (stop.clone(), clock.clone(), finished.clone());
    let name = format!("replay {}", replay.path().display());
    let thread = std::thread::Builder::new()
        .name("urbis-replay".into())
        .spawn(move || {
            let started = Instant::now();
            let mut virtual_ms = first;
            let mut done = false;
            while !s.load(Relaxed) {
                let more = match speed {
                    Speed::Times(x) => {
                        virtual_ms = first + (started.elapsed().as_secs_f64() * x * 1000.0) as i64;
                        c.store(virtual_ms, Relaxed);
                        std::thread::sleep(Duration::from_millis(10));
                        if done {
                            continue; // the clock runs on after the end, so silence turns stale
                        }
                        replay.advance(virtual_ms, &ingest)
                    }
                    Speed::Max => {
                        // Back-pressure instead of drops: wait while the pipeline is half full.
                        if ingest.pipeline.len() > ingest.pipeline.capacity() / 2 {
                            std::thread::sleep(Duration::from_millis(1));
                            continue;
                        }
                        let next = match replay.peek_time(&ingest) {
                            Ok(Some(t)) => t,
                            Ok(None) => break,
                            Err(e) => {
                                tracing::error!("{e}");
                                break;
                            }
                        };
                        virtual_ms = virtual_ms.max(next);
                        c.store(virtual_ms, Relaxed);
                        replay.advance(next, &ingest)
                    }
                };
                match more {
                    Ok(true) => {}
                    Ok(false) if matches!(speed, Speed::Times(_)) => {
                        done = true;
                        f.store(true, Relaxed);
                    }
                    Ok(false) => break,
                    Err(e) => {
                        tracing::error!("{e}");
                        break;
                    }
                }
            }
            f.store(true, Relaxed);
        })
        .map_err(|e| LiveError::Io { path: PathBuf::from(&name), source: e })?;
    Ok(SourceHandle::new(name, stop, clock, finished, thread))
}
