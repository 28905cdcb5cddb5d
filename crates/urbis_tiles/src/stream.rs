//! Streaming: the tiles a moving camera needs, loaded on worker threads,
//! kept under a hard memory budget. No ECS, no GPU.
//!
//! The two phases of cesium-native:
//!
//! ```text
//! main thread, each frame                         loader threads ([`crate::loader`])
//! ───────────────────────                         ──────────────
//! begin_frame(views)
//!   drain finished loads ◄──────────────────────  fetch (file / HTTP, per-host limit)
//!   select (SSE) ─► wanted                        ─► parse (glb, b3dm, i3dm, pnts, cmpt)
//!   queue by priority, cancel the unwanted ─────► ─► Prepare::prepare (the caller's
//!   adapt the SSE to the budget                      meshes, built here)
//!                                                 (cancel flags checked while reading)
//! next_decoded / make_room / attached             the caller spawns the prepared
//!   (the caller's per-frame budget)               entities and reports their real
//! render_set(): ready tiles, ancestors            byte sizes
//!   standing in for children not yet ready
//! ```
//!
//! Memory: the budget covers the bytes the caller reports for attached
//! tiles. Before a tile is attached, least-recently-used tiles that no view
//! needs are evicted to make room; a tile that still does not fit is
//! dropped and the screen-space error raised until the view fits.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};

use urbis_formats::tiles3d::TileContent;

use crate::load::TileFailure;
use crate::loader::{Job, Outcome, Prepare, Shared, Work, worker};
use crate::select::{View, select};
use crate::tree::{Refine, TileId, TileTree};

/// How a stream behaves.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Hard limit on the bytes of attached tiles (CPU and GPU copies, as reported).
    pub memory_budget: u64,
    /// The screen-space error asked for, pixels (Cesium's default 16).
    pub max_sse: f64,
    /// Loader threads.
    pub workers: usize,
    /// Also load the siblings of wanted tiles (smoother panning).
    pub preload_siblings: bool,
    /// Also load the REPLACE ancestors of wanted tiles (something coarse shows sooner).
    pub preload_ancestors: bool,
    /// The SSE is never raised past this.
    pub max_raised_sse: f64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            memory_budget: 512 << 20,
            max_sse: 16.0,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8),
            preload_siblings: false,
            preload_ancestors: false,
            max_raised_sse: 4096.0,
        }
    }
}

/// Where a tile is in its life.
#[derive(Debug, Clone)]
enum State {
    Unloaded,
    /// In flight on a loader; the generation tells its result from a stale one.
    Loading {
        generation: u64,
        cancel: Arc<AtomicBool>,
    },
    /// Parsed, waiting for the caller to attach it.
    Decoded,
    /// Attached by the caller, holding this many bytes.
    Ready {
        bytes: u64,
    },
    Failed,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    last_used: u64,
}

/// A tile's contents, parsed (and prepared) on a loader thread.
#[derive(Debug)]
pub struct Decoded {
    pub tile: TileId,
    /// (content index, URI, content); empty when the stream's [`Prepare`]
    /// made them into `prepared`.
    pub contents: Vec<(usize, String, TileContent)>,
    /// Bytes fetched for it.
    pub fetched_bytes: u64,
    /// What [`Prepare::prepare`] made of the contents.
    pub prepared: Option<Box<dyn Any + Send>>,
    /// The bytes [`Prepare::prepare`] counted (0 without a preparer).
    pub prepared_bytes: u64,
    /// Counted in the loaders' backlog until the main thread takes it.
    backlog_bytes: u64,
}

/// Counters since the stream began (or over one frame, see [`TileStream::take_frame_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamCounts {
    pub requested: u64,
    pub loaded: u64,
    pub cancelled: u64,
    pub evicted: u64,
    pub failed: u64,
    /// Loaded but not attached because the budget could not hold them.
    pub dropped_for_budget: u64,
    pub bytes_fetched: u64,
    /// Implicit subtrees and external tilesets grafted (lazy trees).
    pub expanded: u64,
}

impl std::ops::AddAssign for StreamCounts {
    fn add_assign(&mut self, o: StreamCounts) {
        self.requested += o.requested;
        self.loaded += o.loaded;
        self.cancelled += o.cancelled;
        self.evicted += o.evicted;
        self.failed += o.failed;
        self.dropped_for_budget += o.dropped_for_budget;
        self.bytes_fetched += o.bytes_fetched;
        self.expanded += o.expanded;
    }
}

impl std::ops::Sub for StreamCounts {
    type Output = StreamCounts;
    fn sub(self, o: StreamCounts) -> StreamCounts {
        StreamCounts {
            requested: self.requested - o.requested,
            loaded: self.loaded - o.loaded,
            cancelled: self.cancelled - o.cancelled,
            evicted: self.evicted - o.evicted,
            failed: self.failed - o.failed,
            dropped_for_budget: self.dropped_for_budget - o.dropped_for_budget,
            bytes_fetched: self.bytes_fetched - o.bytes_fetched,
            expanded: self.expanded - o.expanded,
        }
    }
}

/// The stream's state after a frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StreamStatus {
    /// Tiles queued or in flight.
    pub pending: usize,
    /// Parsed, not yet attached.
    pub decoded: usize,
    pub resident_tiles: usize,
    pub resident_bytes: u64,
    pub budget_bytes: u64,
    /// The screen-space error in use (raised above the asked one when the view did not fit).
    pub sse: f64,
    pub sse_raised: bool,
    /// Every wanted tile is attached and shown (no ancestor stands in).
    pub complete: bool,
}

/// A tileset streamed for a moving camera.
pub struct TileStream {
    tree: TileTree,
    /// Pending parts of the tree being fetched: generation of the request.
    expanding: HashMap<TileId, u64>,
    opts: StreamOptions,
    entries: Vec<Entry>,
    shared: Arc<Shared>,
    preparer: Option<Arc<dyn Prepare>>,
    results: Receiver<Outcome>,
    decoded: Vec<Decoded>,
    frame: u64,
    generation: u64,
    sse: f64,
    wanted: Vec<TileId>,
    /// Selection reached pending parts of the tree this frame.
    needs_expansion: bool,
    protected: HashSet<TileId>,
    failures: Vec<TileFailure>,
    failed: HashSet<TileId>,
    counts: StreamCounts,
    frame_base: StreamCounts,
    resident_bytes: u64,
    /// Tiles dropped for the budget since the SSE was last adapted.
    drops_since_adapt: u64,
    /// Frames in a row that would have fitted at a lower SSE.
    calm_frames: u32,
    /// Bytes attached per byte fetched, largest seen: the size a tile will take before it is attached.
    expansion: f64,
}

impl std::fmt::Debug for TileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileStream").field("status", &self.status()).field("counts", &self.counts).finish()
    }
}

impl Drop for TileStream {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.stop = true;
        q.jobs.clear();
        drop(q);
        for e in &self.entries {
            if let State::Loading { cancel, .. } = &e.state {
                cancel.store(true, Ordering::Relaxed);
            }
        }
        self.shared.ready.notify_all();
        // Loader threads see the stop flag (or their cancel flag) and end on
        // their own; none is joined, so a request stuck on a dead server
        // cannot hold up the caller.
    }
}

impl TileStream {
    /// Starts the loader threads for a tileset; they fetch and parse.
    pub fn new(tree: Arc<TileTree>, opts: StreamOptions) -> TileStream {
        Self::with_preparer(tree, opts, None)
    }

    /// Starts the loader threads for a tileset; they fetch, parse and, with
    /// a preparer, make each tile ready to attach.
    pub fn with_preparer(tree: Arc<TileTree>, opts: StreamOptions, preparer: Option<Arc<dyn Prepare>>) -> TileStream {
        let tree = Arc::unwrap_or_clone(tree);
        let shared = Arc::new(Shared::new(opts.memory_budget / 4, opts.workers.max(1)));
        let (tx, rx) = channel();
        for k in 0..opts.workers.max(1) {
            let (t, s, o, p) = (tree.fetcher.clone(), shared.clone(), tx.clone(), preparer.clone());
            let g = tree.generator.clone();
            let spawned =
                std::thread::Builder::new().name(format!("urbis-tiles-{k}")).spawn(move || worker(t, s, o, p, g));
            if let Err(e) = spawned {
                tracing::warn!("tile loader thread {k}: {e}");
            }
        }
        let entries = vec![Entry { state: State::Unloaded, last_used: 0 }; tree.len()];
        let sse = opts.max_sse;
        TileStream {
            tree,
            expanding: HashMap::new(),
            opts,
            entries,
            shared,
            preparer,
            results: rx,
            decoded: Vec::new(),
            frame: 0,
            generation: 0,
            sse,
            wanted: Vec::new(),
            needs_expansion: false,
            protected: HashSet::new(),
            failures: Vec::new(),
            failed: HashSet::new(),
            counts: StreamCounts::default(),
            frame_base: StreamCounts::default(),
            resident_bytes: 0,
            expansion: 3.0,
            drops_since_adapt: 0,
            calm_frames: 0,
        }
    }

    pub fn tree(&self) -> &TileTree {
        &self.tree
    }

    pub fn options(&self) -> &StreamOptions {
        &self.opts
    }

    fn entry(&mut self, t: TileId) -> &mut Entry {
        &mut self.entries[t.0 as usize]
    }

    fn is_ready(&self, t: TileId) -> bool {
        matches!(self.entries[t.0 as usize].state, State::Ready { .. })
    }

    /// Phase one of a frame: takes in finished loads, selects what the views
    /// need, queues and cancels requests, and adapts the screen-space error
    /// to the budget.
    pub fn begin_frame(&mut self, views: &[View]) {
        self.frame += 1;
        self.drain_results();
        // What the views want, at the current SSE.
        let mut wanted: Vec<TileId> = Vec::new();
        let mut seen = HashSet::new();
        let mut priority: HashMap<TileId, f64> = HashMap::new();
        let mut expand: Vec<TileId> = Vec::new();
        for v in views {
            let v = View { max_sse: self.sse, ..*v };
            let sel = select(&self.tree, &v, &self.failed);
            for t in sel.expand {
                if !expand.contains(&t) {
                    expand.push(t);
                }
            }
            for t in sel.tiles {
                let p = self.priority(t, &v);
                let slot = priority.entry(t).or_insert(f64::INFINITY);
                *slot = slot.min(p);
                if seen.insert(t) {
                    wanted.push(t);
                }
            }
        }
        // Optional preloading, at lower priority than what is wanted.
        let mut extra: Vec<TileId> = Vec::new();
        for &t in &wanted {
            let node = self.tree.get(t);
            if self.opts.preload_siblings
                && let Some(p) = node.parent
            {
                extra.extend(
                    self.tree.get(p).children.iter().copied().filter(|c| !self.tree.get(*c).contents.is_empty()),
                );
            }
            if self.opts.preload_ancestors {
                let mut a = node.parent;
                while let Some(p) = a {
                    let pn = self.tree.get(p);
                    if pn.refine == Refine::Add {
                        break;
                    }
                    if !pn.contents.is_empty() {
                        extra.push(p);
                    }
                    a = pn.parent;
                }
            }
        }
        for t in extra {
            if !self.failed.contains(&t) && seen.insert(t) {
                let p = priority.get(&t).copied().unwrap_or(0.0) + 10.0;
                priority.insert(t, p);
                wanted.push(t);
            }
        }
        // Everything a view may draw this frame is protected from eviction:
        // the wanted tiles and the ready ancestors that stand in for them.
        self.wanted = wanted.clone();
        let mut protected: HashSet<TileId> = wanted.iter().copied().collect();
        protected.extend(self.render_set());
        let frame = self.frame;
        for &t in &protected {
            self.entry(t).last_used = frame;
        }
        self.needs_expansion = !expand.is_empty();
        self.requeue(&wanted, &priority, &expand);
        self.adapt_sse(&wanted);
        self.wanted = wanted;
        self.protected = protected;
    }

    /// Lower is sooner: coarse tiles (high SSE) near the screen centre and the camera first.
    fn priority(&self, t: TileId, v: &View) -> f64 {
        let node = self.tree.get(t);
        let (c, r) = node.volume.bounding_sphere();
        let d = node.volume.distance(v.position);
        let sse = v.sse(node.geometric_error, d).min(1e6);
        let to = c - v.position;
        let off_centre = if to.length() > r { 1.0 - to.normalize().dot(v.direction) } else { 0.0 };
        1.0 / (1.0 + sse / v.max_sse.max(1e-6)) + off_centre + 0.01 * node.depth as f64
    }

    fn drain_results(&mut self) {
        while let Ok(outcome) = self.results.try_recv() {
            let (tile, generation, result) = match outcome {
                Outcome::Loaded(t, g, r) => (t, g, r),
                Outcome::Expanded(t, g, r) => {
                    if self.expanding.get(&t) == Some(&g) {
                        self.expanding.remove(&t);
                        self.tree.apply_expansion(t, r);
                        self.counts.expanded += 1;
                        let n = self.tree.len();
                        self.entries.resize(n, Entry { state: State::Unloaded, last_used: 0 });
                    }
                    continue;
                }
            };
            let current = matches!(&self.entries[tile.0 as usize].state, State::Loading { generation: g, .. } if *g == generation);
            if !current {
                // Cancelled meanwhile (already counted): its backlog slot is free.
                self.shared.release(result.as_ref().map_or(0, |l| l.backlog_bytes));
                continue;
            }
            match result {
                Ok(l) => {
                    self.counts.loaded += 1;
                    self.counts.bytes_fetched += l.fetched;
                    self.entry(tile).state = State::Decoded;
                    let (prepared, prepared_bytes) = match l.prepared {
                        Some(p) => (Some(p.data), p.bytes),
                        None => (None, 0),
                    };
                    self.decoded.push(Decoded {
                        tile,
                        contents: l.contents,
                        fetched_bytes: l.fetched,
                        prepared,
                        prepared_bytes,
                        backlog_bytes: l.backlog_bytes,
                    });
                }
                Err(f) => {
                    self.shared.release(0);
                    tracing::warn!("tile {}: {}", f.uri, f.error);
                    self.counts.failed += 1;
                    self.entry(tile).state = State::Failed;
                    self.failed.insert(tile);
                    self.failures.push(f);
                }
            }
        }
    }

    fn requeue(&mut self, wanted: &[TileId], priority: &HashMap<TileId, f64>, expand: &[TileId]) {
        let want: HashSet<TileId> = wanted.iter().copied().collect();
        let grow: HashSet<TileId> = expand.iter().copied().collect();
        let mut q = self.shared.lock();
        // Queued jobs no view wants any more are dropped; the rest re-sorted.
        let old = std::mem::take(&mut q.jobs);
        let mut kept = Vec::with_capacity(old.len());
        let mut expansions = Vec::new();
        for j in old {
            if matches!(j.what, Work::Expand(..)) {
                if grow.contains(&j.tile) {
                    expansions.push(j);
                } else {
                    self.expanding.remove(&j.tile);
                }
            } else if want.contains(&j.tile) {
                kept.push(j);
            } else {
                self.counts.cancelled += 1;
                self.entries[j.tile.0 as usize].state = State::Unloaded;
            }
        }
        // In-flight loads no view wants are cancelled.
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let State::Loading { cancel, .. } = &e.state
                && !want.contains(&TileId(i as u32))
            {
                cancel.store(true, Ordering::Relaxed);
                e.state = State::Unloaded;
                self.counts.cancelled += 1;
            }
        }
        // Decoded tiles no view wants are let go before they are attached.
        let before = self.decoded.len();
        let entries = &mut self.entries;
        let mut freed = Vec::new();
        self.decoded.retain(|d| {
            let keep = want.contains(&d.tile);
            if !keep {
                entries[d.tile.0 as usize].state = State::Unloaded;
                freed.push(d.backlog_bytes);
            }
            keep
        });
        self.counts.cancelled += (before - self.decoded.len()) as u64;
        for b in freed {
            q.backlog_tiles = q.backlog_tiles.saturating_sub(1);
            q.backlog_bytes = q.backlog_bytes.saturating_sub(b);
        }
        // New requests: every wanted tile is queued; the loaders' gate (see
        // `loader`) bounds what is loaded ahead of the main thread.
        let mut fresh: Vec<TileId> = wanted
            .iter()
            .copied()
            .filter(|t| matches!(self.entries[t.0 as usize].state, State::Unloaded))
            .filter(|t| !self.tree.get(*t).contents.is_empty())
            .collect();
        fresh.sort_by(|a, b| priority[a].total_cmp(&priority[b]));
        for t in fresh {
            self.generation += 1;
            let cancel = Arc::new(AtomicBool::new(false));
            let contents =
                self.tree.get(t).contents.iter().enumerate().map(|(i, c)| (i, c.uri.clone(), c.path.clone())).collect();
            let context = self.preparer.as_ref().map(|p| p.context(&self.tree, t));
            kept.push(Job {
                tile: t,
                generation: self.generation,
                what: Work::Contents(contents),
                cancel: cancel.clone(),
                context,
            });
            self.entries[t.0 as usize].state = State::Loading { generation: self.generation, cancel };
            self.counts.requested += 1;
        }
        kept.sort_by(|a, b| priority[&b.tile].total_cmp(&priority[&a.tile]));
        // Expanding the tree comes first: it decides what else is needed.
        for &t in expand {
            if self.expanding.contains_key(&t) {
                continue;
            }
            if matches!(self.tree.get(t).pending, Some(crate::tree::Pending::Terrain)) {
                // Terrain children are made here, at once: no file to read.
                self.tree.expand_terrain(t);
                self.counts.expanded += 1;
                let n = self.tree.len();
                self.entries.resize(n, Entry { state: State::Unloaded, last_used: 0 });
                continue;
            }
            let Some((loc, spec)) = self.tree.expansion_job(t) else {
                self.tree.apply_expansion(
                    t,
                    Err(crate::TilesError::Invalid {
                        path: self.tree.path.display().to_string(),
                        msg: "pending part refused".into(),
                    }),
                );
                continue;
            };
            self.generation += 1;
            self.expanding.insert(t, self.generation);
            expansions.push(Job {
                tile: t,
                generation: self.generation,
                what: Work::Expand(loc, spec.map(Box::new)),
                cancel: Arc::new(AtomicBool::new(false)),
                context: None,
            });
        }
        kept.extend(expansions);
        q.jobs = kept;
        drop(q);
        self.shared.ready.notify_all();
    }

    /// Raises the SSE while what the views want cannot fit, lowers it back when it comfortably does.
    fn adapt_sse(&mut self, wanted: &[TileId]) {
        let mut ready = 0u64;
        let mut unknown = 0usize;
        for &t in wanted {
            match self.entries[t.0 as usize].state {
                State::Ready { bytes } => {
                    ready += bytes;
                }
                _ => unknown += 1,
            }
        }
        let resident_tiles = self.entries.iter().filter(|e| matches!(e.state, State::Ready { .. })).count();
        let mean = if resident_tiles > 0 { self.resident_bytes as f64 / resident_tiles as f64 } else { 0.0 };
        let need = ready as f64 + unknown as f64 * mean;
        let budget = self.opts.memory_budget as f64;
        let dropped = std::mem::take(&mut self.drops_since_adapt);
        if need > budget || dropped > 0 {
            let raised = (self.sse * 1.25).min(self.opts.max_raised_sse);
            if raised > self.sse {
                tracing::info!("memory budget: screen-space error raised to {raised:.1} px");
            }
            self.sse = raised;
            self.calm_frames = 0;
        } else if self.sse > self.opts.max_sse && need < 0.5 * budget {
            // Lowered again only after a quiet spell, so a view at the edge
            // of the budget does not load, drop and reload the same tiles.
            self.calm_frames += 1;
            if self.calm_frames > 30 {
                self.sse = (self.sse / 1.1).max(self.opts.max_sse);
            }
        } else {
            self.calm_frames = 0;
        }
    }

    /// The next parsed tile to attach, most wanted first.
    pub fn next_decoded(&mut self) -> Option<Decoded> {
        let d = self.decoded.pop()?;
        self.shared.release(d.backlog_bytes);
        Some(d)
    }

    /// The size a parsed tile is expected to take once attached: what its
    /// preparer counted, or its fetched bytes times the largest expansion seen.
    pub fn expected_bytes(&self, d: &Decoded) -> u64 {
        if d.prepared.is_some() {
            return d.prepared_bytes;
        }
        (d.fetched_bytes as f64 * self.expansion) as u64
    }

    /// Evicts least-recently-used tiles that no view needs until `bytes`
    /// more fit in the budget; returns the tiles evicted (the caller
    /// detaches them) and whether the bytes now fit.
    pub fn make_room(&mut self, bytes: u64) -> (Vec<TileId>, bool) {
        let budget = self.opts.memory_budget;
        if self.resident_bytes + bytes <= budget {
            return (Vec::new(), true);
        }
        let mut candidates: Vec<(u64, TileId, u64)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e.state {
                State::Ready { bytes } if !self.protected.contains(&TileId(i as u32)) => {
                    Some((e.last_used, TileId(i as u32), bytes))
                }
                _ => None,
            })
            .collect();
        candidates.sort();
        let mut evicted = Vec::new();
        for (_, t, b) in candidates {
            if self.resident_bytes + bytes <= budget {
                break;
            }
            self.entries[t.0 as usize].state = State::Unloaded;
            self.resident_bytes -= b;
            self.counts.evicted += 1;
            evicted.push(t);
        }
        (evicted, self.resident_bytes + bytes <= budget)
    }

    /// The caller attached a tile holding `bytes`. Returns false, and
    /// forgets the tile, when it does not fit even after eviction: the
    /// caller must detach it at once.
    pub fn attached(&mut self, d: &Decoded, bytes: u64) -> bool {
        if d.fetched_bytes > 0 {
            let ratio = bytes as f64 / d.fetched_bytes as f64;
            self.expansion = self.expansion.max(ratio).min(64.0);
        }
        if self.resident_bytes + bytes > self.opts.memory_budget {
            self.entry(d.tile).state = State::Unloaded;
            self.counts.dropped_for_budget += 1;
            self.drops_since_adapt += 1;
            return false;
        }
        self.resident_bytes += bytes;
        let frame = self.frame;
        let e = self.entry(d.tile);
        e.state = State::Ready { bytes };
        e.last_used = frame;
        true
    }

    /// Forgets every loaded tile so that each is made again when wanted
    /// (a terrain's imagery changed): loads in flight are cancelled, parsed
    /// tiles dropped; returns the attached tiles, which the caller detaches.
    /// Until their replacements arrive nothing of the tileset is drawn.
    pub fn unload_all(&mut self) -> Vec<TileId> {
        for d in std::mem::take(&mut self.decoded) {
            self.shared.release(d.backlog_bytes);
        }
        let mut attached = Vec::new();
        for (i, e) in self.entries.iter_mut().enumerate() {
            match &e.state {
                State::Ready { .. } => attached.push(TileId(i as u32)),
                State::Loading { cancel, .. } => cancel.store(true, Ordering::Relaxed),
                _ => {}
            }
            e.state = State::Unloaded;
        }
        self.resident_bytes = 0;
        self.failed.clear();
        attached
    }

    /// The caller could not fit a parsed tile (see [`TileStream::make_room`]) and let it go.
    pub fn dropped(&mut self, d: &Decoded) {
        self.entry(d.tile).state = State::Unloaded;
        self.counts.dropped_for_budget += 1;
        self.drops_since_adapt += 1;
    }

    /// Evicts every attached tile no view needs while over the budget (after the budget shrinks).
    pub fn evict_over_budget(&mut self) -> Vec<TileId> {
        self.make_room(0).0
    }

    /// The attached tiles to draw: wanted tiles that are ready, and for a
    /// wanted tile that is not, its nearest ready REPLACE ancestor, which
    /// then stands in for all its descendants.
    pub fn render_set(&self) -> Vec<TileId> {
        let mut stand_ins: HashSet<TileId> = HashSet::new();
        let mut ready: Vec<TileId> = Vec::new();
        for &t in &self.wanted {
            if self.is_ready(t) {
                ready.push(t);
                continue;
            }
            let mut child = t;
            while let Some(p) = self.tree.get(child).parent {
                let pn = self.tree.get(p);
                if pn.refine == Refine::Add {
                    break;
                }
                if self.is_ready(p) {
                    stand_ins.insert(p);
                    break;
                }
                child = p;
            }
        }
        // Whatever lies under a stand-in is hidden: the stand-in replaces its whole subtree.
        let under_stand_in = |t: TileId| {
            let mut a = self.tree.get(t).parent;
            while let Some(p) = a {
                if stand_ins.contains(&p) {
                    return true;
                }
                a = self.tree.get(p).parent;
            }
            false
        };
        let mut out: Vec<TileId> = ready.into_iter().filter(|t| !under_stand_in(*t)).collect();
        let mut s: Vec<TileId> = stand_ins.iter().copied().filter(|t| !under_stand_in(*t)).collect();
        out.append(&mut s);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Tiles the views want (at the current SSE), ready or not.
    pub fn wanted(&self) -> &[TileId] {
        &self.wanted
    }

    /// Failures so far, each with its URI and reason.
    pub fn failures(&self) -> &[TileFailure] {
        &self.failures
    }

    pub fn counts(&self) -> StreamCounts {
        self.counts
    }

    /// The counters since the last call.
    pub fn take_frame_counts(&mut self) -> StreamCounts {
        let d = self.counts - self.frame_base;
        self.frame_base = self.counts;
        d
    }

    pub fn status(&self) -> StreamStatus {
        let mut pending = 0;
        let mut resident_tiles = 0;
        for e in &self.entries {
            match e.state {
                State::Loading { .. } => pending += 1,
                State::Ready { .. } => resident_tiles += 1,
                _ => {}
            }
        }
        let pending = pending + self.expanding.len();
        let complete = pending == 0
            && self.decoded.is_empty()
            && !self.needs_expansion
            && self.wanted.iter().all(|t| self.is_ready(*t) || self.tree.get(*t).contents.is_empty());
        StreamStatus {
            pending,
            decoded: self.decoded.len(),
            resident_tiles,
            resident_bytes: self.resident_bytes,
            budget_bytes: self.opts.memory_budget,
            sse: self.sse,
            sse_raised: self.sse > self.opts.max_sse,
            complete,
        }
    }

    /// Changes the budget; call [`TileStream::evict_over_budget`] after.
    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.opts.memory_budget = bytes;
        self.shared.lock().limit_bytes = bytes / 4;
        self.shared.ready.notify_all();
    }
}
