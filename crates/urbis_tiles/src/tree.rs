//! The tile tree: every tile of a tileset with its world transform,
//! bounding volume, error, refinement and content URIs, external tilesets
//! grafted in and implicit tiling expanded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glam::DMat4;
use serde_json::{Map, Value};
use urbis_formats::FormatError;
use urbis_formats::tiles3d::tileset::{self, MetadataEntity, Schema, Tile, Tileset};

use crate::TilesError;
use crate::fetch::Fetcher;
use crate::volume::Volume;

/// Index of a tile in its [`TileTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId(pub u32);

/// How a tile's children refine it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refine {
    Add,
    Replace,
}

/// One content of a tile.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentRef {
    pub uri: String,
    /// The file, resolved inside the tileset root.
    pub path: PathBuf,
    pub volume: Option<Volume>,
    pub group: Option<usize>,
    pub metadata: Option<MetadataEntity>,
}

/// Implicit-tiling coordinates of a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImplicitCoord {
    pub level: u32,
    pub x: u64,
    pub y: u64,
    pub z: u64,
}

/// A tile of the tree.
#[derive(Debug, Clone)]
pub struct TileNode {
    pub id: TileId,
    pub parent: Option<TileId>,
    pub children: Vec<TileId>,
    /// World (ECEF) transform of the tile's content.
    pub transform: DMat4,
    pub volume: Volume,
    pub viewer_request_volume: Option<Volume>,
    pub geometric_error: f64,
    pub refine: Refine,
    pub contents: Vec<ContentRef>,
    pub metadata: Option<MetadataEntity>,
    pub implicit: Option<ImplicitCoord>,
    pub depth: u32,
    /// Part of the tree below this tile not fetched yet (lazy trees).
    pub pending: Option<Pending>,
}

/// A part of a lazy tree that is fetched when selection first reaches it.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// This tile is the root of an implicit subtree not yet read: its
    /// content and children come from the subtree file.
    Subtree { spec: usize, coord: ImplicitCoord },
    /// This tile's content is an external tileset, whose root becomes its child.
    External { path: PathBuf, transform: DMat4, refine: Refine, chain: Vec<PathBuf> },
    /// This tile is an OSGB file whose PagedLOD pages in child files, not
    /// read yet (see [`crate::osgb`]).
    Osgb { path: PathBuf },
    /// A terrain tile whose four children are not made yet: they are made
    /// on the main thread when selection first reaches it (see
    /// [`crate::terrain`]; no file to read).
    Terrain,
}

/// A fetched and parsed expansion, ready to graft on the main thread.
#[derive(Debug)]
pub enum Expansion {
    Subtree(Box<urbis_formats::tiles3d::subtree::Subtree>),
    Tileset(Box<Tileset>),
    /// The paged children of an OSGB file, each read and measured.
    Osgb(Vec<crate::osgb::OsgbTile>),
}

/// Fetches and parses a pending part (on any thread): a subtree with its
/// spec, an external tileset, or (told by its magic bytes) an OSGB file
/// whose paged children are read in turn.
pub fn fetch_expansion(
    fetcher: &Fetcher,
    loc: &Path,
    spec: Option<&crate::implicit::ImplicitSpec>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Expansion, TilesError> {
    let bytes = fetcher.read(loc, cancel)?;
    if spec.is_none() && bytes.starts_with(&urbis_formats::tiles3d::OSGB_MAGIC) {
        return Ok(Expansion::Osgb(crate::osgb::fetch_children(fetcher, loc, &bytes, cancel)?));
    }
    match spec {
        Some(sp) => Ok(Expansion::Subtree(Box::new(sp.parse(fetcher, loc, &bytes)?))),
        None => Ok(Expansion::Tileset(Box::new(tileset::parse(&bytes, &loc.display().to_string())?))),
    }
}

/// A tileset as a flat tree.
#[derive(Debug, Clone)]
pub struct TileTree {
    pub nodes: Vec<TileNode>,
    /// The root tileset file.
    pub path: PathBuf,
    /// Directory no content URI may leave.
    pub root_dir: PathBuf,
    pub version: String,
    pub schema: Option<Schema>,
    pub metadata: Option<MetadataEntity>,
    pub groups: Vec<MetadataEntity>,
    /// External tilesets or subtrees that failed, each with its reason; the rest of the tree is intact.
    pub errors: Vec<String>,
    /// Reads this tileset's files (local or HTTP).
    pub fetcher: Arc<Fetcher>,
    /// The implicit roots of the tree.
    pub implicit_specs: Vec<crate::implicit::ImplicitSpec>,
    pub limits: TreeLimits,
    /// Makes the contents of a generated tree (terrain) instead of the fetcher.
    pub generator: Option<Arc<dyn crate::terrain::GenerateContent>>,
    /// A terrain tree's shape, for the children made as selection reaches them.
    pub terrain_layout: Option<Arc<crate::terrain::TerrainLayout>>,
}

/// Limits that keep hostile tilesets bounded.
#[derive(Debug, Clone, Copy)]
pub struct TreeLimits {
    pub max_tiles: usize,
    pub max_external_depth: usize,
    /// Leave implicit subtrees and external tilesets unread until selection
    /// reaches them ([`Pending`]); a streamer expands them.
    pub lazy: bool,
}

impl Default for TreeLimits {
    fn default() -> Self {
        Self { max_tiles: 1_000_000, max_external_depth: 16, lazy: false }
    }
}

impl TreeLimits {
    /// Limits of a lazy tree: up to 64 M tiles, expanded as they are reached.
    pub fn lazy() -> Self {
        Self { max_tiles: 64_000_000, lazy: true, ..Self::default() }
    }
}

fn load_tileset(fetcher: &Fetcher, path: &Path) -> Result<Tileset, FormatError> {
    let bytes = fetcher.read(path, None)?;
    tileset::parse(&bytes, &path.display().to_string())
}

impl TileTree {
    /// Opens a tileset file and builds its tree.
    pub fn open(path: &Path) -> Result<TileTree, TilesError> {
        Self::open_with(path, TreeLimits::default())
    }

    pub fn open_with(path: &Path, limits: TreeLimits) -> Result<TileTree, TilesError> {
        Self::open_through(path, limits, crate::fetch::default_fetcher())
    }

    /// Opens a tileset (a file path or an `http(s)://` URL) reading every
    /// file through `fetcher`; contents are later read through it too.
    pub fn open_through(path: &Path, limits: TreeLimits, fetcher: Arc<Fetcher>) -> Result<TileTree, TilesError> {
        let ts = load_tileset(&fetcher, path)?;
        let root_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let schema = match (&ts.schema, &ts.schema_uri) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(uri)) => {
                let p = urbis_formats::resolve_relative(&root_dir, uri)?;
                let bytes = fetcher.read(&p, None)?;
                Some(serde_json::from_slice(&bytes).map_err(|e| FormatError::Json {
                    path: p.display().to_string(),
                    line: e.line(),
                    column: e.column(),
                    msg: e.to_string(),
                })?)
            }
            (None, None) => None,
        };
        let mut tree = TileTree {
            nodes: Vec::new(),
            path: path.to_path_buf(),
            root_dir: root_dir.clone(),
            version: ts.asset.version.clone(),
            schema,
            metadata: ts.metadata.clone(),
            groups: ts.groups.clone(),
            errors: Vec::new(),
            fetcher,
            implicit_specs: Vec::new(),
            limits,
            generator: None,
            terrain_layout: None,
        };
        let mut b = Builder { tree: &mut tree, limits, external_chain: vec![path.to_path_buf()] };
        b.add_tile(&ts.root, None, DMat4::IDENTITY, Refine::Replace, &root_dir, path, 0)?;
        Ok(tree)
    }

    /// A tree without tiles, metadata or schema (OSGB datasets, terrain):
    /// its files are read through `fetcher`, or made by `generator`.
    pub(crate) fn bare(
        path: PathBuf,
        root_dir: PathBuf,
        version: &str,
        fetcher: Arc<Fetcher>,
        limits: TreeLimits,
        generator: Option<Arc<dyn crate::terrain::GenerateContent>>,
    ) -> TileTree {
        TileTree {
            nodes: Vec::new(),
            path,
            root_dir,
            version: version.into(),
            schema: None,
            metadata: None,
            groups: Vec::new(),
            errors: Vec::new(),
            fetcher,
            implicit_specs: Vec::new(),
            limits,
            generator,
            terrain_layout: None,
        }
    }

    pub fn root(&self) -> TileId {
        TileId(0)
    }

    pub fn get(&self, id: TileId) -> &TileNode {
        &self.nodes[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Where the pending part below `id` is read from.
    pub fn expansion_location(&self, id: TileId) -> Option<Result<PathBuf, TilesError>> {
        match self.get(id).pending.as_ref()? {
            Pending::Subtree { spec, coord } => {
                Some(self.implicit_specs[*spec].subtree_location(*coord, &self.root_dir))
            }
            Pending::External { path, .. } | Pending::Osgb { path } => Some(Ok(path.clone())),
            Pending::Terrain => None,
        }
    }

    /// What a loader thread needs to parse the pending part below `id`:
    /// its location and, for a subtree, its implicit spec.
    pub fn expansion_job(&self, id: TileId) -> Option<(PathBuf, Option<crate::implicit::ImplicitSpec>)> {
        let loc = match self.expansion_location(id)? {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("{e}");
                return None;
            }
        };
        let spec = match self.get(id).pending.as_ref()? {
            Pending::Subtree { spec, .. } => Some(self.implicit_specs[*spec].clone()),
            Pending::External { .. } | Pending::Osgb { .. } | Pending::Terrain => None,
        };
        Some((loc, spec))
    }

    /// Grafts a parsed expansion (or records its failure) below `id`;
    /// returns the tiles added. A failure leaves `id` without the part and
    /// is listed in [`TileTree::errors`].
    pub fn apply_expansion(&mut self, id: TileId, parsed: Result<Expansion, TilesError>) -> usize {
        let before = self.nodes.len();
        let pending = self.nodes[id.0 as usize].pending.clone();
        let result = match (parsed, pending) {
            (Ok(Expansion::Subtree(st)), Some(Pending::Subtree { .. })) => {
                crate::implicit::apply_subtree(self, id, &st, self.limits.max_tiles).map(|_| ())
            }
            (Ok(Expansion::Tileset(ts)), Some(Pending::External { path, transform, refine, chain })) => {
                self.nodes[id.0 as usize].pending = None;
                let depth = self.nodes[id.0 as usize].depth;
                let limits = self.limits;
                let mut b = Builder { tree: self, limits, external_chain: chain };
                if b.external_chain.len() > limits.max_external_depth || b.external_chain.contains(&path) {
                    Err(TilesError::Invalid {
                        path: path.display().to_string(),
                        msg: format!("external tileset cycle or nesting deeper than {}", limits.max_external_depth),
                    })
                } else {
                    b.external_chain.push(path.clone());
                    b.add_external(*ts, &path, id, transform, refine, depth)
                }
            }
            (Ok(Expansion::Osgb(children)), Some(Pending::Osgb { .. })) => self.graft_osgb(id, &children),
            (Err(e), _) => Err(e),
            (Ok(_), _) => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!("{e}");
            self.errors.push(e.to_string());
        }
        self.nodes[id.0 as usize].pending = None;
        self.nodes.len() - before
    }

    /// Places the whole tileset with a model matrix, as Cesium's
    /// `modelMatrix` does: every tile transform and bounding volume (and
    /// every part still pending) is premultiplied by `m`.
    pub fn apply_model_matrix(&mut self, m: DMat4) {
        for n in &mut self.nodes {
            n.transform = m * n.transform;
            n.volume = n.volume.transformed(&m);
            n.viewer_request_volume = n.viewer_request_volume.map(|v| v.transformed(&m));
            for c in &mut n.contents {
                c.volume = c.volume.map(|v| v.transformed(&m));
            }
            if let Some(Pending::External { transform, .. }) = &mut n.pending {
                *transform = m * *transform;
            }
        }
        for s in &mut self.implicit_specs {
            s.base_transform = m * s.base_transform;
            s.base_volume = s.base_volume.transformed(&m);
        }
    }

    /// Number of content references over all tiles.
    pub fn content_count(&self) -> usize {
        self.nodes.iter().map(|n| n.contents.len()).sum()
    }
}

struct Builder<'a> {
    tree: &'a mut TileTree,
    limits: TreeLimits,
    external_chain: Vec<PathBuf>,
}

/// The largest scale factor of a transform's linear part.
pub fn max_scale(m: &DMat4) -> f64 {
    let s = m.x_axis.truncate().length().max(m.y_axis.truncate().length()).max(m.z_axis.truncate().length());
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

fn is_tileset_uri(uri: &str) -> bool {
    uri.split(['?', '#']).next().is_some_and(|p| p.to_ascii_lowercase().ends_with(".json"))
}

impl Builder<'_> {
    /// Adds a tile (and its subtree); returns its id.
    #[allow(clippy::too_many_arguments)]
    fn add_tile(
        &mut self,
        t: &Tile,
        parent: Option<TileId>,
        parent_transform: DMat4,
        parent_refine: Refine,
        dir: &Path,
        file: &Path,
        depth: u32,
    ) -> Result<TileId, TilesError> {
        if self.tree.nodes.len() >= self.limits.max_tiles {
            return Err(TilesError::TooManyTiles { path: file.display().to_string(), limit: self.limits.max_tiles });
        }
        let local = t.transform.map(|m| DMat4::from_cols_array(&m)).unwrap_or(DMat4::IDENTITY);
        if !local.is_finite() {
            return Err(TilesError::Invalid {
                path: file.display().to_string(),
                msg: "tile transform is not finite".into(),
            });
        }
        let transform = parent_transform * local;
        let bad_volume = |e: crate::volume::VolumeError| TilesError::Invalid {
            path: file.display().to_string(),
            msg: e.to_string(),
        };
        let volume = Volume::from_json(&t.bounding_volume, &transform).map_err(bad_volume)?;
        let viewer_request_volume = t
            .viewer_request_volume
            .as_ref()
            .map(|v| Volume::from_json(v, &transform))
            .transpose()
            .map_err(bad_volume)?;
        let refine = match t.refine.as_deref() {
            Some("ADD" | "add") => Refine::Add,
            Some("REPLACE" | "replace") => Refine::Replace,
            _ => parent_refine,
        };
        let id = TileId(self.tree.nodes.len() as u32);
        self.tree.nodes.push(TileNode {
            id,
            parent,
            children: Vec::new(),
            transform,
            volume,
            viewer_request_volume,
            // As CesiumJS does, the error scales with the tile transform's largest scale.
            geometric_error: t.geometric_error.max(0.0) * max_scale(&transform),
            refine,
            contents: Vec::new(),
            metadata: t.metadata.clone(),
            implicit: None,
            depth,
            pending: None,
        });
        if let Some(p) = parent {
            self.tree.nodes[p.0 as usize].children.push(id);
        }
        if let Some(imp) = &t.implicit_tiling {
            let template = t.all_contents().next().map(|c| c.uri.clone());
            crate::implicit::expand(
                self.tree,
                id,
                imp,
                template.as_deref(),
                dir,
                self.limits.max_tiles,
                self.limits.lazy,
            )?;
            return Ok(id);
        }
        for c in t.all_contents() {
            let path = match urbis_formats::resolve_relative(dir, &c.uri) {
                Ok(p) if p.starts_with(&self.tree.root_dir) => p,
                Ok(p) => {
                    self.tree.errors.push(format!(
                        "{}: content `{}` leaves the tileset root ({})",
                        file.display(),
                        c.uri,
                        p.display()
                    ));
                    continue;
                }
                Err(e) => {
                    self.tree.errors.push(format!("{}: content `{}`: {e}", file.display(), c.uri));
                    continue;
                }
            };
            if is_tileset_uri(&c.uri) {
                if self.limits.lazy {
                    self.tree.nodes[id.0 as usize].pending =
                        Some(Pending::External { path, transform, refine, chain: self.external_chain.clone() });
                } else {
                    self.graft_external(&path, id, transform, refine, depth)?;
                }
                continue;
            }
            let cv =
                c.bounding_volume.as_ref().map(|v| Volume::from_json(v, &transform)).transpose().map_err(bad_volume)?;
            self.tree.nodes[id.0 as usize].contents.push(ContentRef {
                uri: c.uri.clone(),
                path,
                volume: cv,
                group: c.group,
                metadata: c.metadata.clone(),
            });
        }
        for child in &t.children {
            self.add_tile(child, Some(id), transform, refine, dir, file, depth + 1)?;
        }
        Ok(id)
    }

    /// An external tileset: its root becomes a child of the tile that references it.
    fn graft_external(
        &mut self,
        path: &Path,
        parent: TileId,
        transform: DMat4,
        refine: Refine,
        depth: u32,
    ) -> Result<(), TilesError> {
        if self.external_chain.len() > self.limits.max_external_depth || self.external_chain.iter().any(|p| p == path) {
            self.tree.errors.push(format!(
                "{}: external tileset cycle or nesting deeper than {}",
                path.display(),
                self.limits.max_external_depth
            ));
            return Ok(());
        }
        let ts = match load_tileset(&self.tree.fetcher.clone(), path) {
            Ok(ts) => ts,
            Err(e) => {
                // A missing or broken external tileset is reported; the tree keeps the rest.
                tracing::warn!("{e}");
                self.tree.errors.push(e.to_string());
                return Ok(());
            }
        };
        self.add_external(ts, path, parent, transform, refine, depth)
    }

    fn add_external(
        &mut self,
        ts: Tileset,
        path: &Path,
        parent: TileId,
        transform: DMat4,
        refine: Refine,
        depth: u32,
    ) -> Result<(), TilesError> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.external_chain.push(path.to_path_buf());
        let r = self.add_tile(&ts.root, Some(parent), transform, refine, &dir, path, depth + 1);
        self.external_chain.pop();
        r.map(|_| ())
    }
}

/// Reads the properties of a metadata entity as a JSON object (for attributes).
pub fn entity_properties(e: &MetadataEntity) -> Map<String, Value> {
    e.properties.clone()
}
