//! Streamed tilesets in the city model. On the loader threads,
//! [`FeaturePreparer`] builds each tile's per-feature meshes (a
//! `TileBuild`); on the main thread, each frame, the stream selects and
//! requests, prepared tiles are spawned as feature entities within a time
//! budget, what they hold is measured, evicted tiles are detached (their
//! entities leave the ECS, their meshes and feature indices are freed) and
//! the chunks of tiles that an ancestor or descendant stands in for are
//! hidden.
//!
//! ```text
//! loader threads: fetch ─► parse ─► FeaturePreparer::prepare ─► TileBuild
//! main thread:    TileStream::begin_frame(views)
//!   └► next_decoded ─► make_room (evict LRU) ─► TileBuild::spawn (TileChunk per tile)
//!                      ─► attached(real bytes) ─► detach at once if it does not fit
//!   └► render_set ─► HiddenChunks (the engine skips hidden tile chunks)
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy_ecs::prelude::Entity;
use urbis_formats::tiles3d::TileContent;
use urbis_tiles::{Decoded, Prepare, Prepared, StreamOptions, TileId, TileStream, TileTree, View};

use super::LoadReport;
use super::build::TileBuild;
use super::tiles::{ContentContext, Placer, add_content, content_attributes, tileset_attributes, tileset_name};
use crate::{
    Attributes, CityModel, FeatureId, GeometryHandle, HiddenChunks, InstanceTransform, RetainedAttributes,
    SemanticClass, SpawnLog, TextureId, TextureStore, TileChunk,
};

/// Bookkeeping bytes counted per feature entity besides its geometry
/// (components, table slots, a GPU style).
const ENTITY_OVERHEAD: u64 = 320;
/// Bytes counted per attribute of a feature.
const ATTRIBUTE_BYTES: u64 = 64;
/// Bytes per vertex of the GPU copy assumed by the loaders' estimate.
const GPU_VERTEX_BYTES: u64 = 48;

/// Builds the features of a tile on a loader thread: the loader-thread
/// half of attaching (see [`urbis_tiles::Prepare`]).
#[derive(Debug)]
pub struct FeaturePreparer {
    placer: Placer,
    name: String,
    common: Attributes,
}

/// What a loader needs to know of a tile to build its features.
struct TileContext {
    transform: glam::DMat4,
    /// Per content index: the attributes all its features carry.
    common: Vec<Attributes>,
}

impl FeaturePreparer {
    /// The preparer of `tree`'s tiles for `model` (its frame places them).
    pub fn new(model: &CityModel, tree: &TileTree) -> Self {
        let (c, _) = tree.get(tree.root()).volume.bounding_sphere();
        // A tree centred on the Earth's centre is in local metres, except a
        // generated terrain tree (the globe), which is in ECEF.
        let local = c.length() < 5.0e6 && tree.generator.is_none();
        FeaturePreparer {
            placer: Placer { frame: *model.frame(), local },
            name: tileset_name(&tree.path),
            common: tileset_attributes(tree),
        }
    }

    /// Builds a tile's features from its parsed contents.
    fn build(&self, ctx: &TileContext, contents: &[(usize, String, TileContent)]) -> TileBuild {
        let mut build = TileBuild::default();
        for (i, uri, content) in contents {
            let mut c = ContentContext {
                placer: self.placer,
                transform: ctx.transform,
                guid_prefix: format!("{}/{uri}", self.name),
                common: ctx.common.get(*i).cloned().unwrap_or_else(|| self.common.clone()),
            };
            add_content(&mut build, content, &mut c);
        }
        build
    }

    fn context(&self, tree: &TileTree, tile: TileId) -> TileContext {
        let node = tree.get(tile);
        let common = node
            .contents
            .iter()
            .enumerate()
            .map(|(i, c)| content_attributes(tree, tile, i, &c.uri, &self.common))
            .collect();
        TileContext { transform: node.transform, common }
    }
}

impl Prepare for FeaturePreparer {
    fn context(&self, tree: &TileTree, tile: TileId) -> Box<dyn std::any::Any + Send> {
        Box::new(FeaturePreparer::context(self, tree, tile))
    }

    fn prepare(&self, context: Box<dyn std::any::Any + Send>, contents: Vec<(usize, String, TileContent)>) -> Prepared {
        let build = match context.downcast::<TileContext>() {
            Ok(ctx) => self.build(&ctx, &contents),
            Err(_) => TileBuild::default(),
        };
        drop(contents);
        let bytes = build.bytes(GPU_VERTEX_BYTES, ENTITY_OVERHEAD, ATTRIBUTE_BYTES);
        Prepared { data: Box::new(build), bytes }
    }
}

/// What one frame of a streamed tileset did.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StreamFrame {
    pub attached: usize,
    pub detached: usize,
    /// Tiles drawn (ready tiles and stand-ins).
    pub shown: usize,
    /// Time spent turning tiles into entities, ms.
    pub attach_ms: f64,
}

/// A tileset that streams into a [`CityModel`].
pub struct StreamedTileset {
    pub stream: TileStream,
    index: u32,
    placer: Placer,
    preparer: Arc<FeaturePreparer>,
    attached: HashMap<TileId, Vec<Entity>>,
    /// Texture ids each attached tile added to the model's store.
    textures: HashMap<TileId, std::ops::Range<u32>>,
    hidden: HashSet<TileId>,
    /// Bytes per vertex of the GPU copy (the engine's vertex size).
    pub gpu_vertex_bytes: u64,
    /// Warnings of the tree (external tilesets, subtrees) and tile failures.
    pub report: LoadReport,
    /// Tree errors already reported (those of expansions made while streaming follow).
    tree_errors: usize,
    /// Tile failures already reported.
    tile_failures: usize,
    /// The generator of a terrain tree (the globe), for its imagery layers and heights.
    pub terrain: Option<Arc<urbis_tiles::terrain::TerrainGenerator>>,
    /// The terrain's imagery layers version the attached tiles were made with.
    layers_version: u64,
}

impl std::fmt::Debug for StreamedTileset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedTileset").field("name", &self.preparer.name).field("stream", &self.stream).finish()
    }
}

impl StreamedTileset {
    /// Streams `tree` into `model`; `index` tells this tileset's tile chunks
    /// from other streamed tilesets'.
    pub fn new(model: &CityModel, tree: Arc<TileTree>, opts: StreamOptions, index: u32) -> Self {
        let report =
            LoadReport { path: tree.path.display().to_string(), warnings: tree.errors.clone(), ..Default::default() };
        let tree_errors = tree.errors.len();
        let preparer = Arc::new(FeaturePreparer::new(model, &tree));
        let placer = preparer.placer;
        StreamedTileset {
            stream: TileStream::with_preparer(tree, opts, Some(preparer.clone())),
            index,
            placer,
            preparer,
            attached: HashMap::new(),
            textures: HashMap::new(),
            hidden: HashSet::new(),
            gpu_vertex_bytes: GPU_VERTEX_BYTES,
            tree_errors,
            tile_failures: 0,
            report,
            terrain: None,
            layers_version: 0,
        }
    }

    /// Streams the terrain `generator` makes (the globe, DEMs draped with
    /// its imagery layers) into `model`.
    pub fn terrain(
        model: &CityModel,
        generator: Arc<urbis_tiles::terrain::TerrainGenerator>,
        opts: StreamOptions,
        index: u32,
    ) -> Self {
        let tree = generator.tree();
        let mut s = Self::new(model, Arc::new(tree), opts, index);
        s.layers_version = generator.layers_version();
        s.terrain = Some(generator);
        s
    }

    /// One frame: select and request for `views`, attach parsed tiles for
    /// at most `attach_budget` (at least one tile, so loading always
    /// advances), evict, and update which tile chunks are hidden.
    pub fn frame(&mut self, model: &mut CityModel, views: &[View], attach_budget: Duration) -> StreamFrame {
        let mut out = StreamFrame::default();
        if let Some(v) = self.terrain.as_ref().map(|g| g.layers_version())
            && v != self.layers_version
        {
            // The imagery changed: every tile is made again with the new layers.
            self.layers_version = v;
            for t in self.stream.unload_all() {
                self.detach(model, t);
                out.detached += 1;
            }
        }
        self.stream.begin_frame(views);
        let start = Instant::now();
        while let Some(mut d) = self.stream.next_decoded() {
            let (evicted, _) = self.stream.make_room(self.stream.expected_bytes(&d));
            for t in evicted {
                self.detach(model, t);
                out.detached += 1;
            }
            let bytes = self.attach(model, &mut d);
            if self.stream.attached(&d, bytes) {
                out.attached += 1;
            } else {
                tracing::debug!("tile {} ({bytes} bytes) does not fit the budget", d.tile.0);
                self.detach(model, d.tile);
            }
            if start.elapsed() >= attach_budget {
                break;
            }
        }
        for t in self.stream.evict_over_budget() {
            self.detach(model, t);
            out.detached += 1;
        }
        out.attach_ms = start.elapsed().as_secs_f64() * 1e3;
        let shown: HashSet<TileId> = self.stream.render_set().into_iter().collect();
        out.shown = shown.len();
        let hidden: HashSet<TileId> = self.attached.keys().copied().filter(|t| !shown.contains(t)).collect();
        if hidden != self.hidden {
            let mut res = model.world.get_resource_or_insert_with(HiddenChunks::default);
            for t in self.hidden.difference(&hidden) {
                res.0.remove(&TileChunk::key_of(self.index, t.0));
            }
            for t in hidden.difference(&self.hidden) {
                res.0.insert(TileChunk::key_of(self.index, t.0));
            }
            self.hidden = hidden;
        }
        if let Some(g) = &self.terrain {
            self.report.failed_tiles.extend(g.take_failures());
        }
        for f in self.stream.failures().iter().skip(self.tile_failures) {
            self.report.failed_tiles.push(format!("{}: {}", f.uri, f.error));
        }
        self.tile_failures = self.stream.failures().len();
        // Parts of the tree that failed while streaming (an OSGB child file,
        // an external tileset, a subtree): their parent stands in.
        let errors = &self.stream.tree().errors;
        self.report.failed_tiles.extend(errors.iter().skip(self.tree_errors).cloned());
        self.tree_errors = errors.len();
        out
    }

    /// Spawns a tile's features (built on a loader thread, or here when it
    /// came unprepared); returns the bytes they hold.
    fn attach(&mut self, model: &mut CityModel, d: &mut Decoded) -> u64 {
        let tree = self.stream.tree();
        let node = tree.get(d.tile);
        let mut build = match d.prepared.take().map(|p| p.downcast::<TileBuild>()) {
            Some(Ok(b)) => *b,
            _ => self.preparer.build(&self.preparer.context(tree, d.tile), &d.contents),
        };
        self.report.warnings.append(&mut build.warnings);
        model.world.insert_resource(SpawnLog::default());
        let textures_before = model.world.get_resource::<TextureStore>().map_or(0, TextureStore::len) as u32;
        self.report.features += build.spawn(model);
        let spawned = model.world.remove_resource::<SpawnLog>().map(|l| l.0).unwrap_or_default();
        if model.world.contains_resource::<RetainedAttributes>() {
            let guids: Vec<String> =
                spawned.iter().filter_map(|&e| model.world.get::<FeatureId>(e).map(|f| f.guid.clone())).collect();
            let mut kept = model.world.resource_mut::<RetainedAttributes>();
            for g in &guids {
                kept.forget(g);
            }
        }
        let origin = self.placer.enu(node.volume.bounding_sphere().0);
        let chunk = TileChunk { key: TileChunk::key_of(self.index, d.tile.0), origin };
        let mut bytes = 0;
        for &e in &spawned {
            let Ok(mut em) = model.world.get_entity_mut(e) else { continue };
            em.insert(chunk);
            bytes += ENTITY_OVERHEAD + em.get::<Attributes>().map_or(0, |a| a.0.len() as u64 * ATTRIBUTE_BYTES);
            if let (Some(g), None) = (em.get::<GeometryHandle>().copied(), em.get::<InstanceTransform>()) {
                let meshes = model.meshes();
                bytes += meshes.bytes(g.mesh);
                if let Some(m) = meshes.get(g.mesh) {
                    bytes += m.vertices.len() as u64 * self.gpu_vertex_bytes + m.indices.len() as u64 * 4;
                }
            }
        }
        // The textures this tile's contents added are its own: counted in its bytes
        // (CPU image and GPU copy with mips, 4/3) and released with it.
        let textures_after = model.world.get_resource::<TextureStore>().map_or(0, TextureStore::len) as u32;
        if textures_after > textures_before {
            let store = model.world.resource::<TextureStore>();
            for id in textures_before..textures_after {
                if let Some(img) = store.get(TextureId(id)) {
                    bytes += img.as_raw().len() as u64 * 7 / 3;
                }
            }
            self.textures.insert(d.tile, textures_before..textures_after);
        }
        self.report.tiles_loaded += 1;
        self.attached.insert(d.tile, spawned);
        bytes
    }

    fn detach(&mut self, model: &mut CityModel, tile: TileId) {
        if let Some(ids) = self.textures.remove(&tile)
            && let Some(mut store) = model.world.get_resource_mut::<TextureStore>()
        {
            for id in ids {
                store.release(TextureId(id));
            }
        }
        if let Some(entities) = self.attached.remove(&tile) {
            for e in entities {
                let Ok(er) = model.world.get_entity(e) else { continue };
                // The geometry goes; the class and attributes stay queryable (see `retained`).
                let kept = match (er.get::<FeatureId>(), er.get::<SemanticClass>(), er.get::<Attributes>()) {
                    (Some(id), Some(c), Some(a)) => Some((id.guid.clone(), *c, a.clone())),
                    _ => None,
                };
                if let Some((guid, class, attributes)) = kept {
                    model.world.get_resource_or_insert_with(RetainedAttributes::default).keep(&guid, class, attributes);
                }
                model.remove_feature(e);
            }
        }
        if self.hidden.remove(&tile)
            && let Some(mut res) = model.world.get_resource_mut::<HiddenChunks>()
        {
            res.0.remove(&TileChunk::key_of(self.index, tile.0));
        }
    }

    /// The entities a tile spawned, while it is attached.
    pub fn entities_of(&self, tile: TileId) -> Option<&[Entity]> {
        self.attached.get(&tile).map(Vec::as_slice)
    }

    /// Tiles attached now.
    pub fn attached_tiles(&self) -> impl Iterator<Item = TileId> + '_ {
        self.attached.keys().copied()
    }
}
