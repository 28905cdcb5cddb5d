//! The loader threads of a [`crate::TileStream`]: a shared priority queue of
//! jobs, workers that fetch, parse and (with a [`Prepare`]) build the
//! caller's ready-to-attach form of a tile, and a gate that bounds what is
//! loaded but not yet taken by the main thread.
//!
//! ```text
//! main thread                               loader thread (each)
//! requeue: jobs sorted, highest last ─────► pop (gated: backlog under its limit)
//!   Prepare::context(tree, tile)              fetch + parse every content
//!                                             Prepare::prepare(context, contents)
//! drain ◄──────────── Outcome::Loaded ─────── send (backlog += its bytes)
//! next_decoded / discard: backlog −= bytes
//! ```
//!
//! The gate: a loader takes a tile job only while fewer tiles than loaders
//! are loaded-but-not-taken, or while their bytes are under the limit
//! (a quarter of the memory budget). So a slow frame never stalls the
//! loaders after a handful of tiles, and memory outside the budget stays
//! bounded by the limit plus one tile per loader.

use std::any::Any;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use urbis_formats::tiles3d::TileContent;

use crate::load::TileFailure;
use crate::tree::{Expansion, TileId, TileTree};

/// The second half of loading, done on the loader threads (cesium-native's
/// `prepareInLoadThread`): parsed contents become whatever the caller
/// attaches on the main thread, e.g. per-feature meshes.
pub trait Prepare: Send + Sync {
    /// Main thread, when the tile is requested: what the loader needs to
    /// know of it (its transform, metadata, names).
    fn context(&self, tree: &TileTree, tile: TileId) -> Box<dyn Any + Send>;
    /// Loader thread: the tile's parsed contents (index, URI, content) into
    /// the caller's form, with the bytes it holds.
    fn prepare(&self, context: Box<dyn Any + Send>, contents: Vec<(usize, String, TileContent)>) -> Prepared;
}

/// A tile in the caller's form, made by [`Prepare::prepare`].
pub struct Prepared {
    pub data: Box<dyn Any + Send>,
    /// Bytes it holds (and is expected to hold once attached).
    pub bytes: u64,
}

pub(crate) struct Job {
    pub tile: TileId,
    pub generation: u64,
    pub what: Work,
    pub cancel: Arc<AtomicBool>,
    /// From [`Prepare::context`].
    pub context: Option<Box<dyn Any + Send>>,
}

pub(crate) enum Work {
    Contents(Vec<(usize, String, PathBuf)>),
    /// A pending subtree (with its spec) or external tileset.
    Expand(PathBuf, Option<Box<crate::implicit::ImplicitSpec>>),
}

pub(crate) struct Queue {
    /// Highest priority last (popped first).
    pub jobs: Vec<Job>,
    pub stop: bool,
    /// Tiles taken by a loader and not yet taken by the main thread.
    pub backlog_tiles: usize,
    /// Bytes of loaded tiles not yet taken by the main thread.
    pub backlog_bytes: u64,
    /// Loaders go on past `min_tiles` only while the backlog is under this.
    pub limit_bytes: u64,
    pub min_tiles: usize,
}

impl Queue {
    /// Takes the next job a loader may start: expansions always (they are
    /// small and decide what else is needed), tile contents while the
    /// backlog is open (the tile is then counted in it).
    fn take(&mut self) -> Option<Job> {
        let next = self.jobs.last()?;
        let open = self.backlog_tiles < self.min_tiles || self.backlog_bytes < self.limit_bytes;
        match next.what {
            Work::Expand(..) => self.jobs.pop(),
            Work::Contents(_) if open => {
                self.backlog_tiles += 1;
                self.jobs.pop()
            }
            Work::Contents(_) => None,
        }
    }
}

pub(crate) struct Shared {
    pub queue: Mutex<Queue>,
    pub ready: Condvar,
}

impl Shared {
    pub fn new(limit_bytes: u64, min_tiles: usize) -> Self {
        Shared {
            queue: Mutex::new(Queue {
                jobs: Vec::new(),
                stop: false,
                backlog_tiles: 0,
                backlog_bytes: 0,
                limit_bytes,
                min_tiles,
            }),
            ready: Condvar::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The main thread took (or let go of) a loaded tile of `bytes`.
    pub fn release(&self, bytes: u64) {
        let mut q = self.lock();
        q.backlog_tiles = q.backlog_tiles.saturating_sub(1);
        q.backlog_bytes = q.backlog_bytes.saturating_sub(bytes);
        drop(q);
        self.ready.notify_all();
    }
}

/// A loaded tile: its contents (empty once prepared), the bytes fetched,
/// and the prepared form.
pub(crate) struct Loaded {
    pub contents: Vec<(usize, String, TileContent)>,
    pub fetched: u64,
    pub prepared: Option<Prepared>,
    /// Bytes counted in the backlog for it.
    pub backlog_bytes: u64,
}

pub(crate) enum Outcome {
    /// A tile job's end; every one, failed or not, holds a backlog slot
    /// the main thread releases.
    Loaded(TileId, u64, Result<Loaded, TileFailure>),
    Expanded(TileId, u64, Result<Expansion, crate::TilesError>),
}

pub(crate) fn worker(
    fetcher: Arc<crate::fetch::Fetcher>,
    shared: Arc<Shared>,
    out: Sender<Outcome>,
    preparer: Option<Arc<dyn Prepare>>,
    generator: Option<Arc<dyn crate::terrain::GenerateContent>>,
) {
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if q.stop {
                    return;
                }
                if let Some(j) = q.take() {
                    break j;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let list = match job.what {
            Work::Contents(list) => list,
            Work::Expand(loc, spec) => {
                let r = crate::tree::fetch_expansion(&fetcher, &loc, spec.as_deref(), Some(&job.cancel));
                if out.send(Outcome::Expanded(job.tile, job.generation, r)).is_err() {
                    return;
                }
                continue;
            }
        };
        if job.cancel.load(Ordering::Relaxed) {
            shared.release(0);
            continue;
        }
        let mut contents = Vec::with_capacity(list.len());
        let mut fetched = 0;
        let mut failure = None;
        for (i, uri, path) in &list {
            match crate::fetch::read_tree_content(&fetcher, generator.as_ref(), path, Some(&job.cancel)) {
                Ok((c, n)) => {
                    fetched += n;
                    contents.push((*i, uri.clone(), c));
                }
                Err(e) => {
                    failure = Some(TileFailure { tile: job.tile, uri: uri.clone(), error: e.to_string() });
                    break;
                }
            }
        }
        let result = match failure {
            Some(f) => Err(f),
            None => {
                let prepared = match (&preparer, job.context) {
                    (Some(p), Some(ctx)) if !job.cancel.load(Ordering::Relaxed) => {
                        Some(p.prepare(ctx, std::mem::take(&mut contents)))
                    }
                    _ => None,
                };
                let backlog_bytes = prepared.as_ref().map_or(fetched, |p| p.bytes);
                shared.lock().backlog_bytes += backlog_bytes;
                Ok(Loaded { contents, fetched, prepared, backlog_bytes })
            }
        };
        if out.send(Outcome::Loaded(job.tile, job.generation, result)).is_err() {
            return;
        }
    }
}
