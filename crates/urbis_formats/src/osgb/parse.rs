//! Objects: the header, `InputStream::readObject` (class name, unique id,
//! the shortcut for ids seen before), and the fields of the node classes.
//!
//! Each class's fields are its wrappers' serializers in order, wrapper by
//! wrapper along its "associates" list (`osg::Object osg::Node osg::Group
//! osg::LOD`…), as `InputStream::readObjectFields` and `ObjectWrapper::read`
//! do. Fields added or removed at a stream version (`UPDATE_TO_VERSION_SCOPED`)
//! are read only in the versions that have them. Serializer kinds in binary:
//! a user serializer is a `bool` "present" then its own reader; an object
//! serializer a `bool` then `readObject`; enums and ints are `i32`; GLenums
//! `u32`; vectors and lists a `u32` count then their elements.

use std::collections::HashMap;

use glam::DMat4;

use super::geometry::{Geometry, OsgbArray, PrimitiveSet};
use super::state::{OsgbImage, StateAttribute, StateSet};
use super::stream::{Res, Stream};
use super::{
    CenterMode, Lod, MAX_DEPTH, MAX_OBJECTS, NodeKind, OsgbFile, OsgbNode, PagedLod, RangeMode, SkippedObject,
    UserData, UserValue,
};
use crate::FormatError;

const MAGIC_LOW: u32 = 0x6C91_0EA1;
const MAGIC_HIGH: u32 = 0x1AFB_4545;
/// The oldest stream version read. OpenSceneGraph 3.0 wrote 80; older
/// streams come from 2.9 development releases (the version gates below 80,
/// at 70 and 77, are still followed).
const MIN_VERSION: u32 = 70;
/// Class names longer than this are taken for garbage.
const MAX_CLASS_NAME: usize = 128;

/// A parsed object, before the caller checks it is of the kind it wants.
#[derive(Debug, Clone)]
pub(super) enum Parsed {
    Node(Box<OsgbNode>),
    Geometry(Box<Geometry>),
    StateSet(Box<StateSet>),
    Attribute(Box<StateAttribute>),
    Array(OsgbArray),
    Primitive(PrimitiveSet),
    Image(Box<OsgbImage>),
    UserData(UserData),
    Value(String, UserValue),
    /// A class read and discarded (buffer objects, ellipsoid models).
    Ignored,
    /// An unknown class skipped in a robust stream.
    Skipped,
}

/// An object as read, with where it starts and its class.
pub(super) struct Obj {
    pub value: Parsed,
    pub class: String,
    pub at: usize,
}

/// `osg::Object`'s fields.
#[derive(Default)]
pub(super) struct ObjectFields {
    pub name: String,
    pub user: UserData,
}

/// `osg::Node`'s fields.
pub(super) struct NodeFields {
    pub node_mask: u32,
    pub state_set: Option<StateSet>,
    pub initial_bound: Option<(glam::DVec3, f64)>,
    pub descriptions: Vec<String>,
}

/// What the id table knows of an object.
enum Entry {
    /// Being read: a reference to it now would be a cycle.
    Open,
    /// A copy, for objects cheap to copy (their bulk data is shared), with
    /// the number of objects a copy counts as.
    Copy { value: Parsed, class: String, cost: u64 },
    /// A node, read again from its fields when referenced again, so that the
    /// table holds no copies of subtrees.
    Node { class: String, at: usize, fields_at: usize, block: Option<(usize, u64)> },
}

pub(super) struct Parser<'a> {
    pub s: Stream<'a>,
    /// Objects and images by unique id.
    ids: HashMap<u32, Entry>,
    /// Arrays by ArrayID (streams before 112).
    pub arrays: HashMap<u32, OsgbArray>,
    /// Where each object, image or array that was read whole ends, by where
    /// it starts: when a node is read again, the definitions inside it are
    /// recalled by id and their bytes stepped over.
    ends: HashMap<usize, usize>,
    depth: usize,
    /// Objects in the values made so far (each copy of a shared one counts).
    produced: u64,
    /// `produced` plus the copies kept under their ids: what is limited.
    materialized: u64,
    /// The limit on `materialized`: [`MAX_OBJECTS`], less for small files.
    max_objects: u64,
    skipped: Vec<SkippedObject>,
    /// The header announced schema data (attribute 0x2).
    schema: bool,
}

/// Most bytes a compressed stream may inflate to, and most times its size.
const MAX_INFLATED: u64 = 1 << 30;
const MAX_RATIO: u64 = 1024;

fn parser<'a>(bytes: &'a [u8], path: &'a str) -> Parser<'a> {
    Parser {
        s: Stream::new(bytes, path),
        ids: HashMap::new(),
        arrays: HashMap::new(),
        ends: HashMap::new(),
        depth: 0,
        produced: 0,
        materialized: 0,
        // Every object takes well over 4 bytes; sharing is what can inflate.
        max_objects: (bytes.len() as u64 / 4).clamp(4096, MAX_OBJECTS),
        skipped: Vec::new(),
        schema: false,
    }
}

/// Reads a whole file. A compressed stream (`InputStream::decompress`:
/// OpenSceneGraph's `zlib` compressor, gzip or zlib encoded, or `null`,
/// size-prefixed) is inflated, within limits, and read on from there;
/// offsets in its errors count in the inflated bytes.
pub(super) fn read(bytes: &[u8], path: &str) -> Result<OsgbFile, FormatError> {
    let mut p = parser(bytes, path);
    let compressor = p.header()?;
    if compressor == "0" {
        return p.body();
    }
    let at = p.s.pos();
    let rest = &bytes[at..];
    let limit = MAX_INFLATED.min((rest.len() as u64).saturating_mul(MAX_RATIO));
    let fail = |msg: String| p.s.error(at, msg);
    let inflated: Vec<u8> = match compressor.as_str() {
        "zlib" => {
            use std::io::Read;
            let mut out = Vec::new();
            let reader: Box<dyn Read> = if rest.starts_with(&[0x1f, 0x8b]) {
                Box::new(flate2::read::GzDecoder::new(rest))
            } else {
                Box::new(flate2::read::ZlibDecoder::new(rest))
            };
            reader
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| fail(format!("the zlib-compressed stream does not inflate: {e}")))?;
            if out.len() as u64 > limit {
                return Err(fail(format!("the compressed stream inflates past {limit} bytes")));
            }
            out
        }
        "null" => {
            let size = p.s.u32("null-compressed size")? as usize;
            p.s.take(size, "null-compressed stream")?.to_vec()
        }
        other => return Err(p.unsupported(at, &format!("compressed stream (compressor `{other}`)"))),
    };
    let inflated_path = format!("{path} (inflated stream)");
    let mut q = parser(&inflated, &inflated_path);
    q.max_objects = (inflated.len() as u64 / 4).clamp(4096, MAX_OBJECTS);
    q.s.set_big_endian(p.s.big_endian());
    q.s.version = p.s.version;
    q.s.robust = p.s.robust;
    q.schema = p.schema;
    q.body()
}

impl Parser<'_> {
    /// The schema check and the root object, after the header (and any decompression).
    fn body(mut self) -> Result<OsgbFile, FormatError> {
        if self.schema {
            return Err(self.unsupported(
                self.s.pos(),
                "schema data (attribute 0x2): fields may be reordered by the embedded schema",
            ));
        }
        let at = self.s.pos();
        let root = match self.read_object()? {
            None => return Err(self.s.error(at, "the root object is NULL")),
            Some(obj) => self.as_node(obj)?,
        };
        Ok(OsgbFile { version: self.s.version, robust: self.s.robust, root, skipped: self.skipped })
    }
}

impl<'a> Parser<'a> {
    /// `ReaderWriterOSG2::readInputIterator`, `InputStream::start` and the
    /// start of `InputStream::decompress`: returns the compressor's name.
    fn header(&mut self) -> Res<String> {
        let first = self.s.take(8, "header").map_err(|_| self.s.error(0, "too short for an .osgb header"))?;
        let low = u32::from_le_bytes([first[0], first[1], first[2], first[3]]);
        let high = u32::from_le_bytes([first[4], first[5], first[6], first[7]]);
        if (low, high) == (MAGIC_LOW.swap_bytes(), MAGIC_HIGH.swap_bytes()) {
            self.s.set_big_endian(true);
        } else if (low, high) != (MAGIC_LOW, MAGIC_HIGH) {
            return Err(self.s.error(0, "not an OpenSceneGraph binary file (magic 0x6C910EA1 0x1AFB4545 missing)"));
        }
        let kind = self.s.u32("file type")?;
        let version_at = self.s.pos();
        let version = self.s.u32("version")?;
        let attributes = self.s.u32("attributes")?;
        match kind {
            1 | 3 => {}
            2 => return Err(self.unsupported(8, "an image file (type 2); only scenes and objects are read")),
            k => return Err(self.s.error(8, format!("unknown file type {k} (1 scene, 2 image, 3 object)"))),
        }
        if version < MIN_VERSION {
            return Err(self.unsupported(version_at, &format!("stream version {version} (older than {MIN_VERSION})")));
        }
        self.s.version = version;
        self.s.robust = attributes & 0x4 != 0;
        if attributes & 0x1 != 0 {
            let at = self.s.pos();
            let n = self.s.u32("custom domain count")?;
            self.s.check_count(u64::from(n), 8, "custom domains", at)?;
            for _ in 0..n {
                self.s.string("custom domain name")?;
                self.s.i32("custom domain version")?;
            }
        }
        let compressor = self.s.string("compressor name")?;
        // The schema follows the compressor (inside a compressed stream).
        self.schema = attributes & 0x2 != 0;
        Ok(compressor.to_string())
    }

    pub fn unsupported(&self, at: usize, what: &str) -> FormatError {
        self.s.error(at, format!("unsupported: {what}"))
    }

    pub fn version(&self) -> u32 {
        self.s.version
    }

    /// Counts objects made, refusing more than [`MAX_OBJECTS`].
    pub fn charge(&mut self, n: u64, at: usize) -> Res<()> {
        self.produced = self.produced.saturating_add(n);
        self.keep(n, at)
    }

    /// Counts objects kept (made, or copied into the id table).
    fn keep(&mut self, n: u64, at: usize) -> Res<()> {
        self.materialized = self.materialized.saturating_add(n);
        if self.materialized > self.max_objects {
            let max = self.max_objects;
            return Err(self.s.error(at, format!("more than {max} objects (shared objects are copied for each use)")));
        }
        Ok(())
    }

    /// The object already read under `id`, copied (a node is read again
    /// from its fields), or an error for an object that refers to itself.
    fn recall(&mut self, id: u32, at: usize) -> Res<Option<(Parsed, String)>> {
        let (class, cost) = match self.ids.get(&id) {
            None => return Ok(None),
            Some(Entry::Open) => {
                return Err(self.s.error(at, format!("object id {id} refers to an object still being read (a cycle)")));
            }
            Some(Entry::Node { class, at: node_at, fields_at, block }) => {
                let (class, node_at, fields_at, block) = (class.clone(), *node_at, *fields_at, *block);
                let value = self.reread(&class, node_at, fields_at, block)?;
                return Ok(Some((value, class)));
            }
            Some(Entry::Copy { class, cost, .. }) => (class.clone(), *cost),
        };
        self.charge(cost, at)?; // before copying
        match self.ids.get(&id) {
            Some(Entry::Copy { value, .. }) => Ok(Some((value.clone(), class))),
            _ => Ok(None),
        }
    }

    /// Reads a node's fields again, from where they start, then comes back.
    fn reread(&mut self, class: &str, at: usize, fields_at: usize, block: Option<(usize, u64)>) -> Res<Parsed> {
        self.enter(at)?;
        self.charge(1, at)?;
        let resume = self.s.pos();
        self.s.seek(fields_at, block);
        let value = self.object_fields_of(class, at)?;
        self.s.skip_to_block_end()?;
        self.s.seek(resume, None);
        self.depth -= 1;
        Ok(value)
    }

    /// Notes that the definition starting at `at` ends here.
    pub fn mark_end(&mut self, at: usize) {
        self.ends.insert(at, self.s.pos());
    }

    /// After recalling by id: if `at` is where that object was defined (a
    /// node being read again), steps over the definition's bytes.
    pub fn step_over_definition(&mut self, at: usize) {
        if let Some(&end) = self.ends.get(&at) {
            self.s.seek(end, None);
        }
    }

    fn enter(&mut self, at: usize) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.s.error(at, format!("objects nested deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    /// Marks `id` as being read; returns the object count before, for costing.
    fn start_object(&mut self, id: u32, at: usize) -> Res<u64> {
        self.enter(at)?;
        self.ids.insert(id, Entry::Open);
        let before = self.produced;
        self.charge(1, at)?;
        Ok(before)
    }

    /// Files the object under its id: nodes by where their fields are,
    /// other objects as a copy.
    fn finish_object(
        &mut self,
        id: u32,
        value: &Parsed,
        class: &str,
        before: u64,
        (at, fields_at): (usize, usize),
        block: Option<(usize, u64)>,
    ) -> Res<()> {
        self.depth -= 1;
        let entry = if let Parsed::Node(_) = value {
            Entry::Node { class: class.to_string(), at, fields_at, block }
        } else {
            let cost = self.produced - before;
            self.keep(cost, at)?;
            Entry::Copy { value: value.clone(), class: class.to_string(), cost }
        };
        self.ids.insert(id, entry);
        Ok(())
    }

    /// `InputStream::readObject`: `None` for a NULL object.
    pub fn read_object(&mut self) -> Res<Option<Obj>> {
        let at = self.s.pos();
        let class = self.s.string("class name")?;
        if class == "NULL" {
            return Ok(None);
        }
        if class.is_empty() || class.len() > MAX_CLASS_NAME || !class.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.s.error(at, format!("not a class name: {:?}", truncate(&class))));
        }
        self.s.begin()?;
        let block = self.s.last_block();
        let id = self.s.u32("unique id")?;
        if let Some(seen) = self.ids.get(&id) {
            let seen_class = match seen {
                Entry::Copy { class, .. } | Entry::Node { class, .. } => class.as_str(),
                Entry::Open => class.as_str(), // `recall` reports the cycle
            };
            if seen_class != class {
                return Err(self.s.error(at, format!("object id {id} is a `{seen_class}`, not a `{class}`")));
            }
        }
        if let Some((value, _)) = self.recall(id, at)? {
            self.s.skip_to_block_end()?;
            self.step_over_definition(at);
            return Ok(Some(Obj { value, class, at }));
        }
        let fields_at = self.s.pos();
        let before = self.start_object(id, at)?;
        let value = self.object_fields_of(&class, at)?;
        self.s.skip_to_block_end()?;
        self.mark_end(at);
        self.finish_object(id, &value, &class, before, (at, fields_at), block)?;
        Ok(Some(Obj { value, class, at }))
    }

    /// The fields of a class, dispatched on its name.
    fn object_fields_of(&mut self, class: &str, at: usize) -> Res<Parsed> {
        let Some(short) = class.strip_prefix("osg::").filter(|c| is_known(c)) else {
            if self.s.robust {
                self.skipped.push(SkippedObject { class: class.to_string(), offset: at });
                return Ok(Parsed::Skipped);
            }
            return Err(self.unsupported(
                at,
                &format!(
                    "class `{class}`: its fields are unknown, and the file was not written in robust \
                     mode (no block sizes), so it cannot be skipped"
                ),
            ));
        };
        let object = self.object_fields()?;
        Ok(match short {
            "Node"
            | "Group"
            | "Switch"
            | "CoordinateSystemNode"
            | "Transform"
            | "MatrixTransform"
            | "LOD"
            | "PagedLOD"
            | "Geode" => Parsed::Node(Box::new(self.node(short, class, object, at)?)),
            "Geometry" => Parsed::Geometry(Box::new(self.geometry(object, at)?)),
            "StateSet" => Parsed::StateSet(Box::new(self.state_set(object)?)),
            "DefaultUserDataContainer" => Parsed::UserData(self.user_data_container(object)?),
            "EllipsoidModel" => {
                self.s.f64("EllipsoidModel::RadiusEquator")?;
                self.s.f64("EllipsoidModel::RadiusPolar")?;
                Parsed::Ignored
            }
            "VertexBufferObject" | "ElementBufferObject" => {
                // BufferObject.cpp: Target, Usage, CopyDataAndReleaseGLBufferObject, MappingBitfield (201).
                self.s.u32("BufferObject::Target")?;
                self.s.u32("BufferObject::Usage")?;
                self.s.bool("BufferObject::CopyDataAndReleaseGLBufferObject")?;
                if self.version() >= 201 {
                    self.s.u32("BufferObject::MappingBitfield")?;
                }
                Parsed::Ignored
            }
            c if c.ends_with("ValueObject") => {
                let value = self.value_object(c)?;
                Parsed::Value(object.name, value)
            }
            c if c.ends_with("Array") => Parsed::Array(self.array_object(c, at)?),
            c if c.starts_with("Draw") => Parsed::Primitive(self.primitive_object(c, at)?),
            c => Parsed::Attribute(Box::new(self.state_attribute(c, class, at)?)),
        })
    }

    /// `Object.cpp`: Name, DataVariance, then UserData (before 77) or
    /// UserDataContainer (from 77).
    pub fn object_fields(&mut self) -> Res<ObjectFields> {
        let name = self.s.string("Object::Name")?;
        self.s.i32("Object::DataVariance")?;
        let mut user = UserData::default();
        if self.version() < 77 {
            if self.s.bool("Object::UserData")? {
                self.s.begin()?;
                if let Some(obj) = self.read_object()? {
                    self.absorb_user_object(&mut user, obj);
                }
                self.s.end();
            }
        } else if let Some(obj) = self.object_field()? {
            self.absorb_user_object(&mut user, obj);
        }
        Ok(ObjectFields { name, user })
    }

    /// An object serializer: `bool` present, then `readObject`.
    pub fn object_field(&mut self) -> Res<Option<Obj>> {
        if self.s.bool("object present")? { self.read_object() } else { Ok(None) }
    }

    /// An object field that must be a StateSet.
    pub fn state_set_field(&mut self) -> Res<Option<StateSet>> {
        match self.object_field()? {
            None => Ok(None),
            Some(Obj { value: Parsed::StateSet(s), .. }) => Ok(Some(*s)),
            Some(Obj { value: Parsed::Skipped, .. }) => Ok(None),
            Some(o) => Err(self.s.error(o.at, format!("expected an osg::StateSet, found `{}`", o.class))),
        }
    }

    /// `Node.cpp`.
    pub fn node_fields(&mut self) -> Res<NodeFields> {
        let mut initial_bound = None;
        if self.s.bool("Node::InitialBound")? {
            self.s.begin()?;
            let c = self.s.vec3d("Node::InitialBound center")?;
            let r = self.s.f64("Node::InitialBound radius")?;
            self.s.end();
            initial_bound = Some((c, r));
        }
        for _callback in ["ComputeBoundingSphereCallback", "UpdateCallback", "EventCallback", "CullCallback"] {
            self.object_field()?;
        }
        self.s.bool("Node::CullingActive")?;
        let node_mask = self.s.u32("Node::NodeMask")?;
        let mut descriptions = Vec::new();
        if self.version() < 77 && self.s.bool("Node::Descriptions")? {
            descriptions = self.string_list("Node::Descriptions")?;
        }
        let state_set = self.state_set_field()?;
        Ok(NodeFields { node_mask, state_set, initial_bound, descriptions })
    }

    /// `u32` count, `BEGIN_BRACKET`, strings, `END_BRACKET`.
    pub fn string_list(&mut self, what: &str) -> Res<Vec<String>> {
        let at = self.s.pos();
        let n = self.s.u32(what)?;
        self.s.check_count(u64::from(n), 4, what, at)?;
        self.s.begin()?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.s.string(what)?);
        }
        self.s.end();
        Ok(out)
    }

    /// A node of one of the node classes.
    fn node(&mut self, short: &str, class: &str, object: ObjectFields, at: usize) -> Res<OsgbNode> {
        let fields = self.node_fields()?;
        let mut user_data = object.user;
        user_data.descriptions.extend(fields.descriptions);
        let mut node = OsgbNode {
            class: class.to_string(),
            name: object.name,
            offset: at,
            node_mask: fields.node_mask,
            state_set: fields.state_set,
            user_data,
            initial_bound: fields.initial_bound,
            ..OsgbNode::default()
        };
        // Wrappers with osg::Group among their associates read its children first.
        if matches!(short, "Group" | "Switch" | "CoordinateSystemNode" | "Transform" | "MatrixTransform" | "LOD") {
            node.children = self.group_children()?;
        }
        node.kind = match short {
            "Node" => NodeKind::Node,
            "Group" => NodeKind::Group,
            "Switch" => {
                self.s.bool("Switch::NewChildDefaultValue")?;
                let n = self.s.u32("Switch::ValueList")?;
                let values = self.s.elements(u64::from(n), 1, "Switch::ValueList", |s| s.bool("Switch value"))?;
                NodeKind::Switch { values }
            }
            "CoordinateSystemNode" => {
                let format = self.s.string("CoordinateSystemNode::Format")?;
                let coordinate_system = self.s.string("CoordinateSystemNode::CoordinateSystem")?;
                self.object_field()?; // EllipsoidModel
                NodeKind::CoordinateSystem { format, coordinate_system }
            }
            "Transform" | "MatrixTransform" => {
                let reference_frame = self.s.i32("Transform::ReferenceFrame")?;
                let matrix =
                    if short == "MatrixTransform" { self.matrix("MatrixTransform::Matrix")? } else { DMat4::IDENTITY };
                NodeKind::Transform { matrix, reference_frame }
            }
            "LOD" => NodeKind::Lod(self.lod_fields()?),
            "PagedLOD" => {
                let lod = self.lod_fields()?;
                let (paged, children) = self.paged_lod_fields()?;
                node.children = children;
                NodeKind::PagedLod(lod, paged)
            }
            _ => {
                node.drawables = self.geode_drawables()?;
                NodeKind::Geode
            }
        };
        Ok(node)
    }

    /// A Matrixd: `BEGIN_BRACKET`, 16 `f64` row by row, `END_BRACKET`.
    /// OpenSceneGraph's rows (row-vector convention) are glam's columns.
    pub fn matrix(&mut self, what: &str) -> Res<DMat4> {
        self.s.begin()?;
        let mut m = [0.0; 16];
        for v in &mut m {
            *v = self.s.f64(what)?;
        }
        self.s.end();
        Ok(DMat4::from_cols_array(&m))
    }

    /// `Group.cpp` Children: user serializer, `u32` count, bracketed objects.
    fn group_children(&mut self) -> Res<Vec<OsgbNode>> {
        if !self.s.bool("Group::Children")? {
            return Ok(Vec::new());
        }
        let at = self.s.pos();
        let n = self.s.u32("Group::Children count")?;
        self.s.check_count(u64::from(n), 4, "Group::Children", at)?;
        self.s.begin()?;
        let mut children = Vec::new();
        for _ in 0..n {
            if let Some(obj) = self.read_object()? {
                children.push(self.as_node(obj)?);
            }
        }
        self.s.end();
        Ok(children)
    }

    /// `LOD.cpp`: CenterMode, UserCenter, RangeMode, RangeList.
    fn lod_fields(&mut self) -> Res<Lod> {
        let center_mode = match self.s.i32("LOD::CenterMode")? {
            0 => CenterMode::UseBoundingSphereCenter,
            1 => CenterMode::UserDefinedCenter,
            2 => CenterMode::UnionOfBoundingSphereAndUserDefined,
            m => CenterMode::Other(m),
        };
        let (mut user_center, mut radius) = (None, -1.0);
        if self.s.bool("LOD::UserCenter")? {
            user_center = Some(self.s.vec3d("LOD::UserCenter center")?);
            radius = self.s.f64("LOD::UserCenter radius")?;
        }
        let range_mode = match self.s.i32("LOD::RangeMode")? {
            0 => RangeMode::DistanceFromEyePoint,
            1 => RangeMode::PixelSizeOnScreen,
            m => RangeMode::Other(m),
        };
        let mut ranges = Vec::new();
        if self.s.bool("LOD::RangeList")? {
            ranges = self.float_pairs("LOD::RangeList")?;
        }
        Ok(Lod { center_mode, user_center, radius, range_mode, ranges })
    }

    /// `u32` count, `BEGIN_BRACKET`, `(f32, f32)` pairs, `END_BRACKET`.
    fn float_pairs(&mut self, what: &str) -> Res<Vec<[f32; 2]>> {
        let n = self.s.u32(what)?;
        self.s.begin()?;
        let v = self.s.elements(u64::from(n), 8, what, |s| Ok([s.f32(what)?, s.f32(what)?]))?;
        self.s.end();
        Ok(v)
    }

    /// `PagedLOD.cpp` (associates Object, Node, LOD, PagedLOD: no Group).
    fn paged_lod_fields(&mut self) -> Res<(PagedLod, Vec<OsgbNode>)> {
        let mut paged = PagedLod::default();
        if self.s.bool("PagedLOD::DatabasePath")? && self.s.bool("PagedLOD::DatabasePath present")? {
            paged.database_path = Some(self.s.string("PagedLOD::DatabasePath")?);
        }
        if self.version() < 70 {
            self.s.u32("PagedLOD::FrameNumberOfLastTraversal")?;
        }
        paged.num_children_that_cannot_be_expired = self.s.u32("PagedLOD::NumChildrenThatCannotBeExpired")?;
        paged.disable_external_children_paging = self.s.bool("PagedLOD::DisableExternalChildrenPaging")?;
        if self.s.bool("PagedLOD::RangeDataList")? {
            paged.file_names = self.string_list("PagedLOD::RangeDataList file names")?;
            paged.priorities = self.float_pairs("PagedLOD::PriorityList")?;
        }
        let mut children = Vec::new();
        if self.s.bool("PagedLOD::Children")? {
            let at = self.s.pos();
            let n = self.s.u32("PagedLOD::Children count")?;
            self.s.check_count(u64::from(n), 4, "PagedLOD::Children", at)?;
            if n > 0 {
                self.s.begin()?;
                for _ in 0..n {
                    if let Some(obj) = self.read_object()? {
                        children.push(self.as_node(obj)?);
                    }
                }
                self.s.end();
            }
        }
        Ok((paged, children))
    }

    /// `Geode.cpp` Drawables.
    fn geode_drawables(&mut self) -> Res<Vec<Geometry>> {
        if !self.s.bool("Geode::Drawables")? {
            return Ok(Vec::new());
        }
        let at = self.s.pos();
        let n = self.s.u32("Geode::Drawables count")?;
        self.s.check_count(u64::from(n), 4, "Geode::Drawables", at)?;
        self.s.begin()?;
        let mut out = Vec::new();
        for _ in 0..n {
            let Some(obj) = self.read_object()? else { continue };
            match obj.value {
                Parsed::Geometry(g) => out.push(*g),
                Parsed::Skipped => {}
                _ => return Err(self.s.error(obj.at, format!("expected a drawable, found `{}`", obj.class))),
            }
        }
        self.s.end();
        Ok(out)
    }

    /// An object that must be a node (or, from OpenSceneGraph 3.6, a drawable).
    pub fn as_node(&self, obj: Obj) -> Res<OsgbNode> {
        match obj.value {
            Parsed::Node(n) => Ok(*n),
            Parsed::Geometry(g) => Ok(OsgbNode {
                class: obj.class,
                name: g.name.clone(),
                offset: obj.at,
                node_mask: g.node_mask,
                kind: NodeKind::Drawable,
                drawables: vec![*g],
                ..OsgbNode::default()
            }),
            Parsed::Skipped => {
                Ok(OsgbNode { class: obj.class, offset: obj.at, kind: NodeKind::Skipped, ..OsgbNode::default() })
            }
            _ => Err(self.s.error(obj.at, format!("expected a node, found `{}`", obj.class))),
        }
    }

    /// `InputStream::readImage` with the image shortcut for ids seen before.
    pub fn read_image(&mut self) -> Res<Option<OsgbImage>> {
        let at = self.s.pos();
        let mut class = "osg::Image".to_string();
        if self.version() > 94 {
            class = self.s.string("Image::ClassName")?;
        }
        let id = self.s.u32("Image::UniqueID")?;
        if let Some((value, _)) = self.recall(id, at)? {
            self.step_over_definition(at);
            return match value {
                Parsed::Image(img) => Ok(Some(*img)),
                _ => Err(self.s.error(at, format!("image id {id} refers to an object that is not an image"))),
            };
        }
        let before = self.start_object(id, at)?;
        let image = self.image_fields(at)?;
        self.mark_end(at);
        let value = Parsed::Image(Box::new(image.clone()));
        self.finish_object(id, &value, &class, before, (at, at), None)?;
        Ok(Some(image))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The classes (without `osg::`) whose fields this reader knows.
fn is_known(c: &str) -> bool {
    const CLASSES: &[&str] = &[
        "Node",
        "Group",
        "Switch",
        "CoordinateSystemNode",
        "Transform",
        "MatrixTransform",
        "LOD",
        "PagedLOD",
        "Geode",
        "Geometry",
        "StateSet",
        "DefaultUserDataContainer",
        "EllipsoidModel",
        "VertexBufferObject",
        "ElementBufferObject",
    ];
    const VALUES: &[&str] = &[
        "Bool", "Char", "UChar", "Short", "UShort", "Int", "UInt", "Float", "Double", "String", "Vec2f", "Vec3f",
        "Vec4f", "Vec2d", "Vec3d", "Vec4d", "Plane", "Quat", "Matrixf", "Matrixd",
    ];
    CLASSES.contains(&c)
        || c.strip_suffix("ValueObject").is_some_and(|t| VALUES.contains(&t))
        || super::geometry_read::array_class(c).is_some()
        || super::geometry_read::is_primitive_class(c)
        || super::state::is_attribute_class(c)
}
