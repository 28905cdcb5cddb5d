//! OpenSceneGraph binary scenes (`.osgb`), as written by oblique-photography
//! tools (ContextCapture / Smart3D, and converters built on OpenSceneGraph),
//! read natively: no OpenSceneGraph, no GPU.
//!
//! ```text
//! bytes ─► stream   header (magic, type, version, attributes, compressor),
//!          │        little/big-endian primitives, robust-mode block sizes
//!          ▼
//!          parse    objects: class name + unique id (+ "seen id" shortcut),
//!          │        each class's serializer fields in wrapper order, gated
//!          │        by the stream version (OpenSceneGraph's SOVERSION)
//!          ▼
//!          plain data: OsgbFile { version, root: OsgbNode tree }
//!                      nodes (Group, LOD, PagedLOD, Geode, MatrixTransform…)
//!                      └─ Geometry: arrays, primitive sets, StateSet
//!                                   (Material, Texture2D + embedded image)
//! metadata.xml ─► read_metadata_xml ─► OsgbMetadata { SRS, SRS origin }
//! OsgbTile ─► write::write_osgb ─► plain little-endian version-161 bytes
//! ```
//!
//! The layout of every field follows OpenSceneGraph's serializer wrappers
//! (`src/osgWrappers/serializers/osg/*.cpp`) and `src/osgDB/InputStream.cpp`;
//! each parsing function names the wrapper it mirrors. Streams of version
//! 70 and later are read (OpenSceneGraph 3.0 writes 80, 3.2 100, 3.4 130,
//! 3.6 156–161; the ContextCapture tiles seen so far are 91), little- or
//! big-endian, plain or "robust" (with block sizes, where objects of
//! unknown classes are skipped). Compressed streams (`zlib`: gzip or zlib
//! encoded, and `null`) are inflated within limits; schema streams are refused.
//!
//! Coordinates stay in the file's frame: a tile's vertices are usually
//! relative to `metadata.xml`'s `SRSOrigin` in its `SRS`.
//!
//! Defensive like every reader here: a malformed or hostile file yields a
//! [`FormatError`] naming the byte offset, never a panic; every count is
//! checked against the bytes that remain before anything is allocated;
//! object nesting, and the objects materialized through shared ids, are
//! bounded ([`MAX_DEPTH`], [`MAX_OBJECTS`]).

mod geometry;
mod geometry_read;
mod metadata;
mod parse;
mod state;
mod stream;
#[cfg(test)]
mod tests;
mod user_data;
pub mod write;

use std::path::{Path, PathBuf};

use glam::{DMat4, DVec3};

pub use geometry::{ArrayValues, Binding, Geometry, IndexWidth, OsgbArray, Primitive, PrimitiveMode, PrimitiveSet};
pub use metadata::{OsgbMetadata, Srs, read_metadata_xml, wkt_epsg};
pub use state::{Face, ImagePayload, Material, OsgbImage, RawPixels, StateAttribute, StateSet, Texture2D};
pub use write::{OsgbMesh, OsgbTile, write_osgb};

use crate::FormatError;

/// The deepest nesting of objects inside objects that is read.
pub const MAX_DEPTH: usize = 64;
/// The most objects a file may produce, counting each copy made for an
/// object referenced again by its unique id (shared subtrees are copied).
/// Files under 8 MiB get less: a quarter of their byte count (at least 4096).
pub const MAX_OBJECTS: u64 = 1 << 21;

/// A whole `.osgb` file.
#[derive(Debug, Clone)]
pub struct OsgbFile {
    /// The stream's serializer version (OpenSceneGraph's SOVERSION at writing).
    pub version: u32,
    /// Whether the file was written in "robust" mode (block sizes present).
    pub robust: bool,
    pub root: OsgbNode,
    /// Objects of unknown classes skipped (robust files only), in file order.
    pub skipped: Vec<SkippedObject>,
}

/// An object of a class this reader does not know, skipped by its block size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedObject {
    pub class: String,
    pub offset: usize,
}

/// A scene-graph node with its class-specific data.
#[derive(Debug, Clone, Default)]
pub struct OsgbNode {
    /// The OpenSceneGraph class, e.g. `osg::PagedLOD`.
    pub class: String,
    pub name: String,
    /// Byte offset of the object (its class name) in the file.
    pub offset: usize,
    pub node_mask: u32,
    pub state_set: Option<StateSet>,
    pub user_data: UserData,
    /// `Node::InitialBound` (centre, radius), when the file sets one.
    pub initial_bound: Option<(DVec3, f64)>,
    pub kind: NodeKind,
    /// Inline children (Group, Transform, LOD; the PagedLOD children that
    /// are stored in this file rather than paged in from another).
    pub children: Vec<OsgbNode>,
    /// A Geode's drawables; for a Geometry used as a node (OpenSceneGraph
    /// 3.6 lets drawables be children) its single geometry.
    pub drawables: Vec<Geometry>,
}

/// What kind of node, with the fields that only that kind has.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum NodeKind {
    /// `osg::Node`.
    #[default]
    Node,
    /// `osg::Group`.
    Group,
    /// `osg::Switch`: per-child on/off values.
    Switch { values: Vec<bool> },
    /// `osg::CoordinateSystemNode`.
    CoordinateSystem { format: String, coordinate_system: String },
    /// `osg::Transform` / `osg::MatrixTransform`: `matrix` maps child
    /// coordinates to parent ones (column-vector convention; identity for a
    /// bare Transform). `reference_frame` 0 = relative, 1 = absolute.
    Transform { matrix: DMat4, reference_frame: i32 },
    /// `osg::LOD`: `children` line up with `lod.ranges`.
    Lod(Lod),
    /// `osg::PagedLOD`: `paged.file_names` line up with `lod.ranges`; the
    /// entries with an empty file name are the inline `children`, in order.
    PagedLod(Lod, PagedLod),
    /// `osg::Geode`: see `drawables`.
    Geode,
    /// A drawable (`osg::Geometry`) standing as a node: see `drawables`.
    Drawable,
    /// An object of an unknown class skipped in a robust file.
    Skipped,
}

/// `osg::LOD` fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Lod {
    pub center_mode: CenterMode,
    /// The user-defined centre, when the file stores one.
    pub user_center: Option<DVec3>,
    /// The user-defined radius (OpenSceneGraph's default is -1: unset).
    pub radius: f64,
    pub range_mode: RangeMode,
    /// `[min, max]` per child: metres from the eye, or pixels on screen.
    pub ranges: Vec<[f32; 2]>,
}

/// `osg::LOD::CenterMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CenterMode {
    UseBoundingSphereCenter,
    UserDefinedCenter,
    UnionOfBoundingSphereAndUserDefined,
    Other(i32),
}

/// `osg::LOD::RangeMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeMode {
    DistanceFromEyePoint,
    PixelSizeOnScreen,
    Other(i32),
}

/// `osg::PagedLOD` fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PagedLod {
    /// The path that child file names are relative to, when the file has one.
    pub database_path: Option<String>,
    /// One per range: the child's file name, or empty for an inline child.
    pub file_names: Vec<String>,
    /// `(offset, scale)` per child.
    pub priorities: Vec<[f32; 2]>,
    pub num_children_that_cannot_be_expired: u32,
    pub disable_external_children_paging: bool,
}

/// User data attached to an object (`osg::DefaultUserDataContainer`, or the
/// `Descriptions` of streams before version 77).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData {
    pub descriptions: Vec<String>,
    /// `osg::*ValueObject`s: (name, value).
    pub values: Vec<(String, UserValue)>,
}

/// The value of an `osg::*ValueObject`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserValue {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    /// Vectors, planes, quaternions and matrices, component by component.
    Numbers(Vec<f64>),
}

/// Reads an `.osgb` file's bytes; `path` names the file in errors.
pub fn read_osgb(bytes: &[u8], path: &str) -> Result<OsgbFile, FormatError> {
    parse::read(bytes, path)
}

/// Reads an `.osgb` file from disk (size-limited by [`crate::read_file`]);
/// external texture images are read from beside it.
pub fn read_osgb_file(path: &Path) -> Result<OsgbFile, FormatError> {
    let bytes = crate::read_file(path)?;
    let mut file = read_osgb(&bytes, &path.display().to_string())?;
    let dir = crate::gltf::DirResources { dir: path.parent().unwrap_or(Path::new(".")).to_path_buf() };
    for w in file.embed_external_images(&dir) {
        tracing::warn!("{w}");
    }
    Ok(file)
}

impl OsgbFile {
    /// Reads the external texture images (`IMAGE_EXTERNAL`: a file name,
    /// relative to the tile, or an absolute path of the machine that made
    /// it, of which the bare name is tried) through `resources` and keeps
    /// their bytes as if embedded. Returns what could not be read, naming
    /// the tile and the image; those images stay external (not drawn).
    pub fn embed_external_images(&mut self, resources: &dyn crate::gltf::Resources) -> Vec<String> {
        let mut loaded: std::collections::HashMap<String, Result<std::sync::Arc<[u8]>, String>> = Default::default();
        let mut warnings = Vec::new();
        let mut visit = |s: &mut StateSet| {
            for unit in &mut s.texture_attributes {
                for (attr, _) in unit {
                    let StateAttribute::Texture2D(t) = attr else { continue };
                    let Some(img) = t.image.as_mut().filter(|i| i.payload == ImagePayload::External) else { continue };
                    let got = loaded.entry(img.file_name.clone()).or_insert_with(|| {
                        let bare = img.file_name.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
                        resources
                            .load(&img.file_name)
                            .or_else(|e| if bare != img.file_name { resources.load(&bare) } else { Err(e) })
                            .map(std::sync::Arc::from)
                            .map_err(|e| {
                                format!("{} (byte {}): external image {}: {e}", img.path, img.offset, img.file_name)
                            })
                    });
                    match got {
                        Ok(bytes) => img.payload = ImagePayload::InlineFile(bytes.clone()),
                        Err(e) => warnings.push(e.clone()),
                    }
                }
            }
        };
        fn walk(node: &mut OsgbNode, f: &mut dyn FnMut(&mut StateSet)) {
            if let Some(s) = node.state_set.as_mut() {
                f(s);
            }
            for g in &mut node.drawables {
                if let Some(s) = g.state_set.as_mut() {
                    f(s);
                }
            }
            for c in &mut node.children {
                walk(c, f);
            }
        }
        walk(&mut self.root, &mut visit);
        warnings
    }
}

impl PagedLod {
    /// The paths of the paged children (the non-empty file names, in
    /// order), resolved against the tile's directory `dir` and the
    /// database path with [`crate::resolve_relative`]: absolute paths,
    /// URI schemes and `..` steps leaving `dir` are refused.
    pub fn child_paths(&self, dir: &Path) -> Vec<Result<PathBuf, FormatError>> {
        let base = match self.database_path.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(dir.to_path_buf()),
            Some(db) => crate::resolve_relative(dir, db),
        };
        self.file_names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|name| match &base {
                Ok(base) => crate::resolve_relative(base, name),
                Err(e) => Err(FormatError::Field {
                    path: dir.display().to_string(),
                    field: name.clone(),
                    msg: format!("database path refused: {e}"),
                }),
            })
            .collect()
    }
}

impl OsgbNode {
    /// The PagedLOD fields when this node is one.
    pub fn paged_lod(&self) -> Option<(&Lod, &PagedLod)> {
        match &self.kind {
            NodeKind::PagedLod(lod, paged) => Some((lod, paged)),
            _ => None,
        }
    }

    /// The LOD fields of a LOD or PagedLOD.
    pub fn lod(&self) -> Option<&Lod> {
        match &self.kind {
            NodeKind::Lod(lod) | NodeKind::PagedLod(lod, _) => Some(lod),
            _ => None,
        }
    }

    /// The paged-child paths of every PagedLOD in this subtree (depth
    /// first), each resolved as [`PagedLod::child_paths`] does.
    pub fn child_paths(&self, dir: &Path) -> Vec<Result<PathBuf, FormatError>> {
        let mut out = Vec::new();
        self.walk(DMat4::IDENTITY, &mut |node, _| {
            if let Some((_, paged)) = node.paged_lod() {
                out.extend(paged.child_paths(dir));
            }
        });
        out
    }

    /// Every inline geometry of this subtree with the matrix from its
    /// coordinates to this node's (MatrixTransforms multiplied in).
    pub fn geometries(&self) -> Vec<(DMat4, &Geometry)> {
        let mut out = Vec::new();
        self.walk(DMat4::IDENTITY, &mut |node, m| out.extend(node.drawables.iter().map(|g| (m, g))));
        out
    }

    fn walk<'s>(&'s self, m: DMat4, f: &mut dyn FnMut(&'s OsgbNode, DMat4)) {
        f(self, m);
        let m = match &self.kind {
            NodeKind::Transform { matrix, reference_frame: 0 } => m * *matrix,
            NodeKind::Transform { matrix, .. } => *matrix,
            _ => m,
        };
        for c in &self.children {
            c.walk(m, f);
        }
    }

    /// An axis-aligned box around the vertices of this subtree's inline
    /// geometry (transforms applied), or `None` when it has none.
    pub fn vertex_bounds(&self) -> Option<(DVec3, DVec3)> {
        let mut lo = DVec3::splat(f64::INFINITY);
        let mut hi = DVec3::splat(f64::NEG_INFINITY);
        for (m, g) in self.geometries() {
            for p in g.positions().unwrap_or_default() {
                let p = m.transform_point3(p);
                if p.is_finite() {
                    lo = lo.min(p);
                    hi = hi.max(p);
                }
            }
        }
        (lo.x <= hi.x).then_some((lo, hi))
    }

    /// A LOD's centre and radius: the user-defined ones when the centre
    /// mode says so, otherwise the sphere around [`Self::vertex_bounds`]
    /// (OpenSceneGraph's bound of a single Geode; an approximation for
    /// several children). `None` for other nodes or without any geometry.
    pub fn lod_center(&self) -> Option<(DVec3, f64)> {
        let lod = self.lod()?;
        let from_bound = || self.vertex_bounds().map(|(lo, hi)| ((lo + hi) * 0.5, (hi - lo).length() * 0.5));
        match (lod.center_mode, lod.user_center) {
            (CenterMode::UserDefinedCenter, Some(c)) => Some((c, lod.radius)),
            (CenterMode::UnionOfBoundingSphereAndUserDefined, Some(c)) => match from_bound() {
                None => Some((c, lod.radius)),
                Some((bc, br)) => Some(union_spheres((c, lod.radius), (bc, br))),
            },
            _ => from_bound(),
        }
    }
}

/// The smallest sphere (centre, radius) around two spheres; a negative
/// radius is no sphere.
pub fn union_spheres(a: (DVec3, f64), b: (DVec3, f64)) -> (DVec3, f64) {
    if a.1 < 0.0 {
        return b;
    }
    if b.1 < 0.0 {
        return a;
    }
    let d = (b.0 - a.0).length();
    if d + b.1 <= a.1 {
        return a;
    }
    if d + a.1 <= b.1 {
        return b;
    }
    let r = (d + a.1 + b.1) * 0.5;
    let c = a.0 + (b.0 - a.0) * ((r - a.1) / d);
    (c, r)
}
