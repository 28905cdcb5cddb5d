//! The subset of the glTF 2.0 JSON schema Urbis reads. The members every
//! tile repeats (accessors, buffer views, meshes, nodes, scenes) are read by
//! hand with [`json_reader`](super::json_reader), in one pass and without a
//! tree; the rest (asset, buffers, materials, textures, images, samplers and
//! every `extensions` object) go through serde from their raw spans. Unknown
//! members are skipped (scalars checked, containers for matched brackets and
//! closed strings); extensions stay raw JSON until a reader wants them. A
//! repeated member keeps its last value.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::json_reader::{self, JsonError, Reader};

/// A glTF object's `extensions`, kept as raw JSON values until a reader
/// wants them. Nearly every node and primitive has none: then nothing is
/// allocated and the field takes one word.
#[derive(Debug, Default, Clone)]
pub struct Extensions(Option<Box<Map<String, Value>>>);

impl Extensions {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.as_ref()?.get(name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }
}

impl<'de> Deserialize<'de> for Extensions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::deserialize(d)?;
        Ok(Self((!m.is_empty()).then(|| Box::new(m))))
    }
}

#[derive(Debug, Default)]
pub struct Root {
    pub asset: Asset,
    pub accessors: Vec<Accessor>,
    pub buffer_views: Vec<BufferView>,
    pub buffers: Vec<Buffer>,
    pub meshes: Vec<Mesh>,
    pub nodes: Vec<Node>,
    pub scenes: Vec<Scene>,
    pub scene: Option<usize>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
    pub images: Vec<Image>,
    pub samplers: Vec<Sampler>,
    pub extensions_used: Vec<String>,
    pub extensions_required: Vec<String>,
    pub extensions: Extensions,
}

impl Root {
    /// Reads a glTF JSON document.
    pub fn read(bytes: &[u8]) -> json_reader::Result<Root> {
        let mut r = Reader::new(bytes);
        let mut root = Root::default();
        r.object(|r, key| {
            match key {
                b"asset" => root.asset = r.serde()?,
                b"accessors" => r.fill_each(&mut root.accessors, Accessor::fill)?,
                b"bufferViews" => r.fill_each(&mut root.buffer_views, BufferView::fill)?,
                b"buffers" => root.buffers = r.serde()?,
                b"meshes" => r.fill_each(&mut root.meshes, Mesh::fill)?,
                b"nodes" => r.fill_each(&mut root.nodes, Node::fill)?,
                b"scenes" => root.scenes = r.vec(Scene::read)?,
                b"scene" => root.scene = r.option(Reader::usize)?,
                b"materials" => root.materials = r.serde()?,
                b"textures" => root.textures = r.serde()?,
                b"images" => root.images = r.serde()?,
                b"samplers" => root.samplers = r.serde()?,
                b"extensionsUsed" => root.extensions_used = r.serde()?,
                b"extensionsRequired" => root.extensions_required = r.serde()?,
                b"extensions" => root.extensions = r.serde()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        r.end()?;
        Ok(root)
    }
}

/// An error for the first required member that is absent.
fn required(start: usize, members: &[(bool, &str)]) -> json_reader::Result<()> {
    match members.iter().find(|(present, _)| !present) {
        Some((_, name)) => Err(missing(start, name)),
        None => Ok(()),
    }
}

/// The error for a required member that is absent.
fn missing(start: usize, name: &str) -> Box<JsonError> {
    Box::new(JsonError { offset: start, path: String::new(), msg: format!("missing member `{name}`") })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    #[serde(default)]
    pub version: String,
    pub generator: Option<String>,
}

#[derive(Debug, Default)]
pub struct Accessor {
    pub buffer_view: Option<usize>,
    pub byte_offset: u64,
    pub component_type: u32,
    pub normalized: bool,
    pub count: u64,
    pub kind: AccessorType,
    /// Boxed: rare, and accessors are many.
    pub sparse: Option<Box<Sparse>>,
}

impl Accessor {
    fn fill(r: &mut Reader, a: &mut Self) -> json_reader::Result<()> {
        let start = r.offset();
        // Required members seen: componentType, count, type.
        let mut seen = [false; 3];
        let has = &mut seen;
        // `move`: the closure holds two references, not one per field.
        r.object(move |r, key| {
            match key {
                b"bufferView" => a.buffer_view = r.option(Reader::usize)?,
                b"byteOffset" => a.byte_offset = r.u64()?,
                b"componentType" => (a.component_type, has[0]) = (r.u32()?, true),
                b"normalized" => a.normalized = r.bool()?,
                b"count" => (a.count, has[1]) = (r.u64()?, true),
                b"type" => (a.kind, has[2]) = (AccessorType::read(r)?, true),
                b"sparse" => a.sparse = r.option(|r| Sparse::read(r).map(Box::new))?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        required(start, &[(seen[0], "componentType"), (seen[1], "count"), (seen[2], "type")])
    }
}

/// The element type of an accessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessorType {
    #[default]
    Scalar,
    Vec2,
    Vec3,
    Vec4,
    Mat2,
    Mat3,
    Mat4,
}

impl AccessorType {
    fn read(r: &mut Reader) -> json_reader::Result<Self> {
        let start = r.offset();
        Ok(match r.key()?.as_ref() {
            b"SCALAR" => AccessorType::Scalar,
            b"VEC2" => AccessorType::Vec2,
            b"VEC3" => AccessorType::Vec3,
            b"VEC4" => AccessorType::Vec4,
            b"MAT2" => AccessorType::Mat2,
            b"MAT3" => AccessorType::Mat3,
            b"MAT4" => AccessorType::Mat4,
            other => {
                return Err(Box::new(JsonError {
                    offset: start,
                    path: String::new(),
                    msg: format!("unknown accessor type `{}`", String::from_utf8_lossy(other)),
                }));
            }
        })
    }

    /// Components per element.
    pub fn components(self) -> usize {
        match self {
            AccessorType::Scalar => 1,
            AccessorType::Vec2 => 2,
            AccessorType::Vec3 => 3,
            AccessorType::Vec4 | AccessorType::Mat2 => 4,
            AccessorType::Mat3 => 9,
            AccessorType::Mat4 => 16,
        }
    }

    pub fn is_matrix(self) -> bool {
        matches!(self, AccessorType::Mat2 | AccessorType::Mat3 | AccessorType::Mat4)
    }
}

#[derive(Debug)]
pub struct Sparse {
    pub count: u64,
    pub indices: SparseIndices,
    pub values: SparseValues,
}

impl Sparse {
    fn read(r: &mut Reader) -> json_reader::Result<Self> {
        let start = r.offset();
        let (mut count, mut indices, mut values) = (None, None, None);
        r.object(|r, key| {
            match key {
                b"count" => count = Some(r.u64()?),
                b"indices" => indices = Some(SparseIndices::read(r)?),
                b"values" => values = Some(SparseValues::read(r)?),
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Self {
            count: count.ok_or_else(|| missing(start, "count"))?,
            indices: indices.ok_or_else(|| missing(start, "indices"))?,
            values: values.ok_or_else(|| missing(start, "values"))?,
        })
    }
}

#[derive(Debug)]
pub struct SparseIndices {
    pub buffer_view: usize,
    pub byte_offset: u64,
    pub component_type: u32,
}

impl SparseIndices {
    fn read(r: &mut Reader) -> json_reader::Result<Self> {
        let start = r.offset();
        let (mut buffer_view, mut byte_offset, mut component_type) = (None, 0, None);
        r.object(|r, key| {
            match key {
                b"bufferView" => buffer_view = Some(r.usize()?),
                b"byteOffset" => byte_offset = r.u64()?,
                b"componentType" => component_type = Some(r.u32()?),
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Self {
            buffer_view: buffer_view.ok_or_else(|| missing(start, "bufferView"))?,
            byte_offset,
            component_type: component_type.ok_or_else(|| missing(start, "componentType"))?,
        })
    }
}

#[derive(Debug)]
pub struct SparseValues {
    pub buffer_view: usize,
    pub byte_offset: u64,
}

impl SparseValues {
    fn read(r: &mut Reader) -> json_reader::Result<Self> {
        let start = r.offset();
        let (mut buffer_view, mut byte_offset) = (None, 0);
        r.object(|r, key| {
            match key {
                b"bufferView" => buffer_view = Some(r.usize()?),
                b"byteOffset" => byte_offset = r.u64()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Self { buffer_view: buffer_view.ok_or_else(|| missing(start, "bufferView"))?, byte_offset })
    }
}

#[derive(Debug, Default)]
pub struct BufferView {
    pub buffer: usize,
    pub byte_offset: u64,
    pub byte_length: u64,
    pub byte_stride: Option<u64>,
    pub extensions: Extensions,
}

impl BufferView {
    fn fill(r: &mut Reader, v: &mut Self) -> json_reader::Result<()> {
        let start = r.offset();
        // Required members seen: buffer, byteLength.
        let mut seen = [false; 2];
        let has = &mut seen;
        r.object(move |r, key| {
            match key {
                b"buffer" => (v.buffer, has[0]) = (r.usize()?, true),
                b"byteOffset" => v.byte_offset = r.u64()?,
                b"byteLength" => (v.byte_length, has[1]) = (r.u64()?, true),
                b"byteStride" => v.byte_stride = r.option(Reader::u64)?,
                b"extensions" => v.extensions = r.serde()?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        required(start, &[(seen[0], "buffer"), (seen[1], "byteLength")])
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buffer {
    pub uri: Option<String>,
    pub byte_length: u64,
    #[serde(default)]
    pub extensions: Extensions,
}

/// A mesh. Most meshes of a tile have one primitive, held inline: no
/// allocation (of room for four) per mesh.
#[derive(Debug, Default)]
pub struct Mesh {
    pub primitives: SmallVec<[Primitive; 1]>,
}

impl Mesh {
    fn fill(r: &mut Reader, m: &mut Self) -> json_reader::Result<()> {
        r.object(move |r, key| {
            match key {
                b"primitives" => r.fill_each(&mut m.primitives, Primitive::fill)?,
                _ => r.skip()?,
            }
            Ok(())
        })
    }
}

/// The attribute names common enough to be stored as a number, in the
/// order of [`Common`].
const COMMON_NAMES: [&str; 11] = [
    "POSITION",
    "NORMAL",
    "TANGENT",
    "TEXCOORD_0",
    "TEXCOORD_1",
    "COLOR_0",
    "JOINTS_0",
    "WEIGHTS_0",
    "_BATCHID",
    "_FEATURE_ID_0",
    "_FEATURE_ID_1",
];

/// The most attributes a primitive may have (real ones have a handful).
pub const MAX_ATTRIBUTES: usize = 1024;

/// A common attribute name, for lookups without string compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    Position,
    Normal,
    Tangent,
    TexCoord0,
    TexCoord1,
    Color0,
    Joints0,
    Weights0,
    BatchId,
    FeatureId0,
    FeatureId1,
}

/// A primitive's vertex attributes, in file order: each a name number and
/// an accessor. Common names are numbered by [`Common`]; others by their
/// place in `other_names` after those. Up to four entries live inline and
/// the whole takes 72 bytes: a JSON-heavy tile has thousands of primitives,
/// and their size is memory traffic.
#[derive(Debug, Default, Clone)]
pub struct Attributes {
    entries: SmallVec<[(u32, u32); 4]>,
    other_names: Vec<String>,
}

impl Attributes {
    /// The accessor of an attribute.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.get_id(self.id_of(name)?)
    }

    /// The accessor of a common attribute.
    #[inline]
    pub fn get_common(&self, name: Common) -> Option<usize> {
        self.get_id(name as u32)
    }

    fn get_id(&self, id: u32) -> Option<usize> {
        self.entries.iter().find(|(k, _)| *k == id).map(|&(_, a)| a as usize)
    }

    fn id_of(&self, name: &str) -> Option<u32> {
        match COMMON_NAMES.iter().position(|&c| c == name) {
            Some(i) => Some(i as u32),
            None => self.other_names.iter().position(|o| o == name).map(|i| (i + COMMON_NAMES.len()) as u32),
        }
    }

    fn name(&self, id: u32) -> &str {
        let id = id as usize;
        COMMON_NAMES.get(id).copied().unwrap_or_else(|| &self.other_names[id - COMMON_NAMES.len()])
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.entries.iter().map(|&(k, a)| (self.name(k), a as usize))
    }

    /// Name and accessor pairs; common names shared as statics.
    pub fn to_named(&self) -> Vec<(Cow<'static, str>, usize)> {
        self.entries
            .iter()
            .map(|&(k, a)| {
                let name = match COMMON_NAMES.get(k as usize) {
                    Some(&c) => Cow::Borrowed(c),
                    None => Cow::Owned(self.name(k).to_string()),
                };
                (name, a as usize)
            })
            .collect()
    }

    /// Sets an attribute (a repeated name keeps the last value, as serde's maps do).
    pub fn insert(&mut self, name: &str, accessor: u32) {
        let id = match self.id_of(name) {
            Some(id) => id,
            None => {
                self.other_names.push(name.to_string());
                (COMMON_NAMES.len() + self.other_names.len() - 1) as u32
            }
        };
        match self.entries.iter_mut().find(|(k, _)| *k == id) {
            Some(slot) => slot.1 = accessor,
            None => self.entries.push((id, accessor)),
        }
    }
}

#[derive(Debug)]
pub struct Primitive {
    pub attributes: Attributes,
    /// 32-bit indices keep a mesh of one primitive within 128 bytes.
    pub indices: Option<u32>,
    pub material: Option<u32>,
    pub mode: u32,
    pub extensions: Extensions,
}

impl Default for Primitive {
    fn default() -> Self {
        Self {
            attributes: Attributes::default(),
            indices: None,
            material: None,
            mode: 4,
            extensions: Extensions::default(),
        }
    }
}

impl Primitive {
    fn fill(r: &mut Reader, p: &mut Self) -> json_reader::Result<()> {
        r.object(move |r, key| {
            match key {
                b"attributes" => r.object(|r, name| {
                    let start = r.offset();
                    let name = std::str::from_utf8(name).map_err(|_| {
                        Box::new(JsonError {
                            offset: start,
                            path: String::new(),
                            msg: "attribute name is not UTF-8".into(),
                        })
                    })?;
                    let a = r.u32()?;
                    // Names are matched one by one: a hostile list of
                    // thousands would take quadratic time.
                    if p.attributes.entries.len() >= MAX_ATTRIBUTES {
                        return r.error(format!("more than {MAX_ATTRIBUTES} attributes"));
                    }
                    p.attributes.insert(name, a);
                    Ok(())
                })?,
                b"indices" => p.indices = r.option(Reader::u32)?,
                b"material" => p.material = r.option(Reader::u32)?,
                b"mode" => p.mode = r.u32()?,
                b"extensions" => p.extensions = r.serde()?,
                _ => r.skip()?,
            }
            Ok(())
        })
    }
}

/// glTF's default rotation (none) and scale (one).
pub const NO_ROTATION: [f64; 4] = [0.0, 0.0, 0.0, 1.0];
pub const UNIT_SCALE: [f64; 3] = [1.0; 3];

/// A node; absent TRS members hold their glTF defaults. Kept small: a tile
/// may have thousands.
#[derive(Debug)]
pub struct Node {
    pub children: Vec<usize>,
    /// 32 bits: it keeps a node within 128 bytes (see the assertion below).
    pub mesh: Option<u32>,
    pub matrix: Option<Box<[f64; 16]>>,
    pub translation: [f64; 3],
    pub rotation: [f64; 4],
    pub scale: [f64; 3],
    pub extensions: Extensions,
}

// Elements filled in place are copied from their default without a call to
// `memcpy` only up to 128 bytes; past that, thousands of calls showed in
// profiles.
const _: () = assert!(size_of::<Node>() <= 128);
const _: () = assert!(size_of::<Mesh>() <= 128);
const _: () = assert!(size_of::<Accessor>() <= 128);

impl Default for Node {
    fn default() -> Self {
        Self {
            children: Vec::new(),
            mesh: None,
            matrix: None,
            translation: [0.0; 3],
            rotation: NO_ROTATION,
            scale: UNIT_SCALE,
            extensions: Extensions::default(),
        }
    }
}

impl Node {
    fn fill(r: &mut Reader, n: &mut Self) -> json_reader::Result<()> {
        r.object(move |r, key| {
            match key {
                b"children" => n.children = r.vec(Reader::usize)?,
                b"mesh" => n.mesh = r.option(Reader::u32)?,
                b"matrix" => n.matrix = r.option(|r| r.f64_array::<16>().map(Box::new))?,
                b"translation" => n.translation = r.option(Reader::f64_array::<3>)?.unwrap_or([0.0; 3]),
                b"rotation" => n.rotation = r.option(Reader::f64_array::<4>)?.unwrap_or(NO_ROTATION),
                b"scale" => n.scale = r.option(Reader::f64_array::<3>)?.unwrap_or(UNIT_SCALE),
                b"extensions" => n.extensions = r.serde()?,
                _ => r.skip()?,
            }
            Ok(())
        })
    }
}

#[derive(Debug, Default)]
pub struct Scene {
    pub nodes: Vec<usize>,
}

impl Scene {
    fn read(r: &mut Reader) -> json_reader::Result<Self> {
        let mut nodes = Vec::new();
        r.object(|r, key| {
            match key {
                b"nodes" => nodes = r.vec(Reader::usize)?,
                _ => r.skip()?,
            }
            Ok(())
        })?;
        Ok(Self { nodes })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Material {
    pub name: Option<String>,
    pub pbr_metallic_roughness: Option<Pbr>,
    #[serde(default)]
    pub double_sided: bool,
    pub alpha_mode: Option<String>,
    #[serde(default)]
    pub extensions: Extensions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pbr {
    pub base_color_factor: Option<[f32; 4]>,
    pub base_color_texture: Option<TextureInfo>,
    pub metallic_factor: Option<f32>,
    pub roughness_factor: Option<f32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextureInfo {
    pub index: usize,
    #[serde(default)]
    pub tex_coord: u32,
    #[serde(default)]
    pub extensions: Extensions,
}

#[derive(Debug, Default, Deserialize)]
pub struct Texture {
    pub source: Option<usize>,
    pub sampler: Option<usize>,
    #[serde(default)]
    pub extensions: Extensions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub uri: Option<String>,
    pub mime_type: Option<String>,
    pub buffer_view: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sampler {
    pub mag_filter: Option<u32>,
    pub min_filter: Option<u32>,
    pub wrap_s: Option<u32>,
    pub wrap_t: Option<u32>,
}
