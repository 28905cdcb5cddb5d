//! glTF 2.0 and GLB: geometry, node hierarchy, materials and images, with
//! `KHR_mesh_quantization`, `KHR_texture_transform`,
//! `EXT_meshopt_compression`, `EXT_mesh_gpu_instancing`, `CESIUM_RTC`,
//! `EXT_mesh_features` and `EXT_structural_metadata`.
//!
//! ```text
//! bytes ─► container (GLB chunks) ─► json (serde) ─► buffers (BIN, data:, files)
//!       ─► views (meshopt decoded) ─► accessors ─► GltfModel { primitives (world
//!          transform, attributes, feature IDs), materials, images, metadata }
//! ```
//!
//! Coordinates stay in glTF space (y up); placing them is the caller's job.
//! `KHR_draco_mesh_compression` is refused with a clear "unsupported" error:
//! there is no maintained Rust decoder.

pub mod accessor;
pub mod container;
pub mod features;
pub mod json;
pub mod json_reader;
mod json_scan;
mod meshopt_views;
pub mod metadata;

use std::borrow::Cow;
use std::path::Path;

use base64::Engine;
use glam::{DMat4, DQuat, DVec3};

pub use container::{GLB_MAGIC, parse_glb};
pub use features::{FeatureIdSet, FeatureIdSource};
pub use metadata::{MetadataValue, PropertyTable, StructuralMetadata};

use crate::FormatError;
use json::Common;

/// An error inside a glTF document, before it is tied to a file name.
#[derive(Debug, Clone, PartialEq)]
pub struct GltfError {
    pub offset: Option<usize>,
    pub field: Option<String>,
    pub msg: String,
    pub unsupported: bool,
}

impl GltfError {
    pub fn at(offset: usize, msg: impl Into<String>) -> Self {
        Self { offset: Some(offset), field: None, msg: msg.into(), unsupported: false }
    }
    pub fn field(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Self { offset: None, field: Some(field.into()), msg: msg.into(), unsupported: false }
    }
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self { offset: None, field: None, msg: what.into(), unsupported: true }
    }
    /// Ties the error to a file (and an offset of the glTF inside it, for embedded GLBs).
    pub fn in_file(self, path: &str, base_offset: usize) -> FormatError {
        if self.unsupported {
            return FormatError::Unsupported { path: path.into(), what: self.msg };
        }
        match (self.offset, self.field) {
            (Some(o), _) => FormatError::Offset { path: path.into(), offset: base_offset + o, msg: self.msg },
            (None, Some(f)) => FormatError::Field { path: path.into(), field: f, msg: self.msg },
            (None, None) => FormatError::Field { path: path.into(), field: "/".into(), msg: self.msg },
        }
    }
}

impl std::fmt::Display for GltfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.offset, &self.field) {
            (Some(o), _) => write!(f, "at byte {o}: {}", self.msg),
            (None, Some(p)) => write!(f, "at `{p}`: {}", self.msg),
            _ => f.write_str(&self.msg),
        }
    }
}

/// Extensions this reader understands; a required extension outside this
/// list makes the asset unsupported.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[
    "KHR_mesh_quantization",
    "KHR_texture_transform",
    "KHR_materials_unlit",
    "EXT_meshopt_compression",
    "EXT_mesh_gpu_instancing",
    "EXT_mesh_features",
    "EXT_structural_metadata",
    "EXT_instance_features",
    "CESIUM_RTC",
    "CESIUM_primitive_outline",
];

/// How a primitive's vertices form shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimitiveMode {
    Points,
    Lines,
    LineLoop,
    LineStrip,
    Triangles,
    TriangleStrip,
    TriangleFan,
}

impl PrimitiveMode {
    fn from_gl(mode: u32) -> Option<Self> {
        Some(match mode {
            0 => Self::Points,
            1 => Self::Lines,
            2 => Self::LineLoop,
            3 => Self::LineStrip,
            4 => Self::Triangles,
            5 => Self::TriangleStrip,
            6 => Self::TriangleFan,
            _ => return None,
        })
    }
}

/// `KHR_texture_transform` of a texture reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextureTransform {
    pub offset: [f32; 2],
    pub rotation: f32,
    pub scale: [f32; 2],
    pub tex_coord: Option<u32>,
}

impl TextureTransform {
    /// Applies the transform to a texture coordinate (offset · rotation · scale).
    pub fn apply(&self, uv: [f32; 2]) -> [f32; 2] {
        let (s, c) = self.rotation.sin_cos();
        let (x, y) = (uv[0] * self.scale[0], uv[1] * self.scale[1]);
        [c * x + s * y + self.offset[0], -s * x + c * y + self.offset[1]]
    }
}

/// A texture use: which texture, which coordinate set, and its transform.
#[derive(Debug, Clone, PartialEq)]
pub struct TextureRef {
    pub texture: usize,
    pub tex_coord: u32,
    pub transform: Option<TextureTransform>,
}

/// The material properties Urbis renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    pub name: Option<String>,
    /// Linear RGBA factor.
    pub base_color: [f32; 4],
    pub base_color_texture: Option<TextureRef>,
    pub double_sided: bool,
    pub unlit: bool,
}

/// A texture: the image it samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Texture {
    pub image: Option<usize>,
}

/// An encoded image (PNG, JPEG, ...), not decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub mime_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A mesh primitive placed by its node.
#[derive(Debug, Clone, PartialEq)]
pub struct Primitive {
    pub mesh: usize,
    pub index_in_mesh: usize,
    pub node: usize,
    pub mode: PrimitiveMode,
    /// Node world transform (glTF space, column-major).
    pub transform: DMat4,
    pub positions: Vec<[f32; 3]>,
    pub normals: Option<Vec<[f32; 3]>>,
    /// TEXCOORD_0, TEXCOORD_1, ...
    pub tex_coords: Vec<Vec<[f32; 2]>>,
    pub colors: Option<Vec<[f32; 4]>>,
    pub indices: Option<Vec<u32>>,
    pub material: Option<usize>,
    pub feature_ids: Vec<FeatureIdSet>,
    /// The legacy `_BATCHID` attribute of b3dm content.
    pub batch_ids: Option<Vec<u32>>,
    /// `EXT_mesh_gpu_instancing`: one transform per instance (node-local).
    pub instances: Vec<DMat4>,
    /// Indices of `EXT_structural_metadata` property attributes on this primitive.
    pub property_attributes: Vec<usize>,
    /// The primitive's raw accessor indices by attribute name, for primitives
    /// with property attributes (empty otherwise).
    pub attribute_accessors: Vec<(Cow<'static, str>, usize)>,
}

impl Primitive {
    /// Triangle list indices, whatever the mode (strips and fans expanded).
    pub fn triangles(&self) -> Vec<[u32; 3]> {
        let idx: Vec<u32> = match &self.indices {
            Some(i) => i.clone(),
            None => (0..self.positions.len() as u32).collect(),
        };
        let n = self.positions.len() as u32;
        let ok = |t: &[u32; 3]| t.iter().all(|&i| i < n);
        let tris: Vec<[u32; 3]> = match self.mode {
            PrimitiveMode::Triangles => idx.chunks_exact(3).map(|t| [t[0], t[1], t[2]]).collect(),
            PrimitiveMode::TriangleStrip => (2..idx.len())
                .map(|i| if i % 2 == 0 { [idx[i - 2], idx[i - 1], idx[i]] } else { [idx[i - 1], idx[i - 2], idx[i]] })
                .collect(),
            PrimitiveMode::TriangleFan => (2..idx.len()).map(|i| [idx[0], idx[i - 1], idx[i]]).collect(),
            _ => Vec::new(),
        };
        tris.into_iter().filter(ok).collect()
    }
}

/// A decoded glTF asset.
#[derive(Debug, Clone, Default)]
pub struct GltfModel {
    pub primitives: Vec<Primitive>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
    pub images: Vec<Image>,
    pub metadata: Option<StructuralMetadata>,
    pub extensions_used: Vec<String>,
    /// `CESIUM_RTC` centre (glTF space), if any.
    pub rtc_center: Option<DVec3>,
    /// Things skipped, each naming what and why.
    pub warnings: Vec<String>,
    pub generator: Option<String>,
}

/// Where external resources (buffers, images) come from.
pub trait Resources {
    /// The bytes of a relative URI, or an error (for example, if it escapes the root).
    fn load(&self, uri: &str) -> Result<Vec<u8>, FormatError>;
}

/// Resources next to a file on disk; URIs may not leave its directory.
#[derive(Debug, Clone)]
pub struct DirResources {
    pub dir: std::path::PathBuf,
}

impl Resources for DirResources {
    fn load(&self, uri: &str) -> Result<Vec<u8>, FormatError> {
        let path = crate::resolve_relative(&self.dir, uri)?;
        crate::read_file(&path)
    }
}

/// No external resources: every external URI is an error.
#[derive(Debug, Clone, Copy)]
pub struct NoResources;

impl Resources for NoResources {
    fn load(&self, uri: &str) -> Result<Vec<u8>, FormatError> {
        Err(FormatError::Field {
            path: uri.into(),
            field: "uri".into(),
            msg: "external resources are not available here".into(),
        })
    }
}

/// Reads a `.glb` or `.gltf` file; external resources resolve next to it.
pub fn read(path: &Path) -> Result<GltfModel, FormatError> {
    let bytes = crate::read_file(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&bytes, &path.display().to_string(), &DirResources { dir })
}

/// Parses glTF JSON or GLB bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str, resources: &dyn Resources) -> Result<GltfModel, FormatError> {
    parse_at(bytes, name, 0, resources)
}

/// Like [`parse`] for a glTF embedded at `base_offset` of a larger file (b3dm, i3dm).
pub fn parse_at(
    bytes: &[u8],
    name: &str,
    base_offset: usize,
    resources: &dyn Resources,
) -> Result<GltfModel, FormatError> {
    let (json_bytes, json_offset, bin) = if bytes.starts_with(GLB_MAGIC) {
        let g = parse_glb(bytes).map_err(|e| e.in_file(name, base_offset))?;
        (g.json, g.json_offset, g.bin)
    } else {
        (bytes, 0, None)
    };
    let root = json::Root::read(json_bytes).map_err(|e| FormatError::Offset {
        path: name.into(),
        offset: base_offset + json_offset + e.offset,
        msg: format!("JSON `{}`: {}", e.path_or_root(), e.msg),
    })?;
    Loader::new(&root, bin, bytes.len(), resources).and_then(|l| l.load()).map_err(|e| match e {
        LoadError::Gltf(g) => g.in_file(name, base_offset),
        LoadError::Format(f) => f,
    })
}

/// Errors while loading: glTF-internal or from a resource.
#[derive(Debug)]
enum LoadError {
    Gltf(GltfError),
    Format(FormatError),
}

impl From<GltfError> for LoadError {
    fn from(e: GltfError) -> Self {
        LoadError::Gltf(e)
    }
}

impl From<FormatError> for LoadError {
    fn from(e: FormatError) -> Self {
        LoadError::Format(e)
    }
}

struct Loader<'a> {
    root: &'a json::Root,
    /// Buffer bytes; the GLB BIN chunk is borrowed, not copied.
    buffers: Vec<Option<Cow<'a, [u8]>>>,
    views: meshopt_views::Views,
    file_len: usize,
    resources: &'a dyn Resources,
}

impl accessor::ViewBytes for Loader<'_> {
    fn view(&self, index: usize) -> Result<(&[u8], Option<usize>), GltfError> {
        self.views.get(self.root, &self.buffers, index)
    }
    fn max_synthetic_elements(&self) -> usize {
        // Accessors without data may not claim more than a small multiple of the file.
        (self.file_len * 16).max(1 << 20)
    }
}

fn decode_data_uri(uri: &str) -> Option<Vec<u8>> {
    let rest = uri.strip_prefix("data:")?;
    let (_, data) = rest.split_once(";base64,")?;
    base64::engine::general_purpose::STANDARD.decode(data.trim()).ok()
}

impl<'a> Loader<'a> {
    fn new(
        root: &'a json::Root,
        bin: Option<&'a [u8]>,
        file_len: usize,
        resources: &'a dyn Resources,
    ) -> Result<Self, LoadError> {
        for ext in &root.extensions_required {
            if ext == "KHR_draco_mesh_compression" {
                return Err(
                    GltfError::unsupported("Draco (KHR_draco_mesh_compression): no maintained Rust decoder").into()
                );
            }
            if !SUPPORTED_EXTENSIONS.contains(&ext.as_str()) {
                return Err(GltfError::unsupported(format!("required extension {ext}")).into());
            }
        }
        let mut buffers = Vec::with_capacity(root.buffers.len());
        for (i, b) in root.buffers.iter().enumerate() {
            let field = format!("/buffers/{i}");
            let data = match &b.uri {
                None if i == 0 && bin.is_some() => bin.map(Cow::Borrowed),
                None if b.extensions.contains_key("EXT_meshopt_compression") => None, // fallback buffer: never read
                None => return Err(GltfError::field(&field, "has no uri and there is no GLB BIN chunk").into()),
                Some(uri) if uri.starts_with("data:") => Some(Cow::Owned(
                    decode_data_uri(uri)
                        .ok_or_else(|| GltfError::field(format!("{field}/uri"), "bad base64 data URI"))?,
                )),
                Some(uri) => Some(Cow::Owned(resources.load(uri)?)),
            };
            if let Some(d) = &data
                && (d.len() as u64) < b.byte_length
            {
                return Err(GltfError::field(
                    &field,
                    format!("byteLength {} but only {} bytes", b.byte_length, d.len()),
                )
                .into());
            }
            buffers.push(data);
        }
        Ok(Self { root, buffers, views: meshopt_views::Views::default(), file_len, resources })
    }

    fn load(mut self) -> Result<GltfModel, LoadError> {
        let root = self.root;
        self.views.decode_compressed(root, &self.buffers)?;
        let mut model = GltfModel {
            extensions_used: root.extensions_used.clone(),
            generator: root.asset.generator.clone(),
            ..Default::default()
        };
        model.rtc_center = root
            .extensions
            .get("CESIUM_RTC")
            .and_then(|v| v.get("center"))
            .and_then(|c| serde_json::from_value::<[f64; 3]>(c.clone()).ok())
            .map(DVec3::from_array);
        model.materials = root.materials.iter().map(material).collect();
        model.textures = root.textures.iter().map(|t| Texture { image: t.source }).collect();
        for (i, img) in root.images.iter().enumerate() {
            let bytes = match (&img.uri, img.buffer_view) {
                (_, Some(v)) => accessor::ViewBytes::view(&self, v).map(|(b, _)| b.to_vec())?,
                (Some(uri), None) if uri.starts_with("data:") => decode_data_uri(uri).unwrap_or_default(),
                (Some(uri), None) => match self.resources.load(uri) {
                    Ok(b) => b,
                    Err(e) => {
                        model.warnings.push(format!("image {i}: {e}"));
                        Vec::new()
                    }
                },
                (None, None) => Vec::new(),
            };
            model.images.push(Image { mime_type: img.mime_type.clone(), bytes });
        }
        if let Some(m) = root.extensions.get("EXT_structural_metadata") {
            let external = match m.get("schemaUri").and_then(serde_json::Value::as_str) {
                Some(uri) => {
                    let bytes = self.resources.load(uri)?;
                    Some(serde_json::from_slice::<metadata::Schema>(&bytes).map_err(|e| FormatError::Json {
                        path: uri.to_string(),
                        line: e.line(),
                        column: e.column(),
                        msg: e.to_string(),
                    })?)
                }
                None => None,
            };
            model.metadata = Some(metadata::read(m, &self, external)?);
        }
        // Scenes: the default scene, else every root node.
        let roots: Vec<usize> = match root.scene.and_then(|s| root.scenes.get(s)).or(root.scenes.first()) {
            Some(s) => s.nodes.clone(),
            None => {
                let mut is_child = vec![false; root.nodes.len()];
                for n in &root.nodes {
                    for &c in &n.children {
                        if let Some(x) = is_child.get_mut(c) {
                            *x = true;
                        }
                    }
                }
                (0..root.nodes.len()).filter(|&i| !is_child[i]).collect()
            }
        };
        // Usually one placement per primitive; reserving avoids moving thousands of them while growing.
        model.primitives.reserve(root.meshes.iter().map(|m| m.primitives.len()).sum::<usize>().min(1 << 16));
        // Depth first, without recursion. The stack holds node, the slot of
        // its parent's world transform in `worlds` (`NO_PARENT` for roots)
        // and depth: 24 bytes a node, where a transform per entry made a
        // flat tile of thousands of roots write half a megabyte of identities.
        const NO_PARENT: usize = usize::MAX;
        let mut worlds: Vec<DMat4> = Vec::new();
        let mut stack: Vec<(usize, usize, usize)> = roots.iter().rev().map(|&n| (n, NO_PARENT, 0)).collect();
        let mut visits = 0usize;
        while let Some((n, parent, depth)) = stack.pop() {
            let node = root.nodes.get(n).ok_or_else(|| GltfError::field(format!("/nodes/{n}"), "does not exist"))?;
            visits += 1;
            if depth > 64 || visits > root.nodes.len() * 4 + 16 {
                return Err(GltfError::field(format!("/nodes/{n}"), "node hierarchy is cyclic or too deep").into());
            }
            let local = local_transform(node);
            let world = match worlds.get(parent) {
                Some(p) => *p * local,
                None => local,
            };
            if let Some(m) = node.mesh {
                self.mesh_primitives(m as usize, n, world, node, &mut model)?;
            }
            if !node.children.is_empty() {
                worlds.push(world);
                let slot = worlds.len() - 1;
                for &c in node.children.iter().rev() {
                    stack.push((c, slot, depth + 1));
                }
            }
        }
        Ok(model)
    }

    fn mesh_primitives(
        &self,
        m: usize,
        node_index: usize,
        world: DMat4,
        node: &json::Node,
        model: &mut GltfModel,
    ) -> Result<(), LoadError> {
        let root = self.root;
        let mesh = root
            .meshes
            .get(m)
            .ok_or_else(|| GltfError::field(format!("/nodes/{node_index}/mesh"), format!("mesh {m} does not exist")))?;
        let instances = self.instances(node, node_index)?;
        for (pi, p) in mesh.primitives.iter().enumerate() {
            // Built only when needed: formatting it for every primitive showed in profiles.
            let field = || format!("/meshes/{m}/primitives/{pi}");
            if p.extensions.contains_key("KHR_draco_mesh_compression") {
                return Err(
                    GltfError::unsupported("Draco (KHR_draco_mesh_compression): no maintained Rust decoder").into()
                );
            }
            let mode =
                PrimitiveMode::from_gl(p.mode).ok_or_else(|| GltfError::field(field(), format!("mode {}", p.mode)))?;
            let Some(pos) = p.attributes.get_common(Common::Position) else {
                model.warnings.push(format!("{}: no POSITION, skipped", field()));
                continue;
            };
            let positions = accessor::read_vec::<3>(&root.accessors, pos, self)?;
            let normals = p
                .attributes
                .get_common(Common::Normal)
                .map(|a| accessor::read_vec::<3>(&root.accessors, a, self))
                .transpose()?;
            let mut tex_coords = Vec::new();
            while let Some(a) = texcoord(&p.attributes, tex_coords.len()) {
                tex_coords.push(accessor::read_vec::<2>(&root.accessors, a, self)?);
            }
            let colors = match p.attributes.get_common(Common::Color0) {
                Some(a) => {
                    let (flat, n) = accessor::read_f64(&root.accessors, a, self)?;
                    Some(match n {
                        3 => flat.chunks_exact(3).map(|c| [c[0] as f32, c[1] as f32, c[2] as f32, 1.0]).collect(),
                        4 => {
                            flat.chunks_exact(4).map(|c| [c[0] as f32, c[1] as f32, c[2] as f32, c[3] as f32]).collect()
                        }
                        _ => {
                            return Err(
                                GltfError::field(format!("/accessors/{a}"), "COLOR_0 must be VEC3 or VEC4").into()
                            );
                        }
                    })
                }
                None => None,
            };
            let indices = p.indices.map(|i| accessor::read_u32(&root.accessors, i as usize, self)).transpose()?;
            // The maximum first (a vectorised pass), the culprit only on error.
            if let Some(idx) = &indices
                && idx.iter().copied().max().is_some_and(|m| m as usize >= positions.len())
                && let Some(bad) = idx.iter().find(|&&i| i as usize >= positions.len())
            {
                return Err(GltfError::field(field(), format!("index {bad} ≥ vertex count {}", positions.len())).into());
            }
            let batch_ids = p
                .attributes
                .get_common(Common::BatchId)
                .map(|a| accessor::read_u32(&root.accessors, a, self))
                .transpose()?;
            let feature_ids = if p.extensions.is_empty() {
                Vec::new()
            } else {
                features::read_primitive(p, &field(), &root.accessors, self, positions.len())?
            };
            let property_attributes: Vec<usize> = p
                .extensions
                .get("EXT_structural_metadata")
                .and_then(|e| e.get("propertyAttributes"))
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_u64().map(|u| u as usize)).collect())
                .unwrap_or_default();
            for (name, v) in [("NORMAL", &normals)] {
                if let Some(v) = v
                    && v.len() != positions.len()
                {
                    return Err(GltfError::field(
                        field(),
                        format!("{name} has {} values for {} positions", v.len(), positions.len()),
                    )
                    .into());
                }
            }
            model.primitives.push(Primitive {
                mesh: m,
                index_in_mesh: pi,
                node: node_index,
                mode,
                transform: world,
                positions,
                normals,
                tex_coords,
                colors,
                indices,
                material: p.material.map(|m| m as usize),
                feature_ids,
                batch_ids,
                instances: instances.clone(),
                // Only primitives with property attributes need them; others skip an allocation each.
                attribute_accessors: if property_attributes.is_empty() { Vec::new() } else { p.attributes.to_named() },
                property_attributes,
            });
        }
        Ok(())
    }

    /// `EXT_mesh_gpu_instancing` transforms of a node.
    fn instances(&self, node: &json::Node, n: usize) -> Result<Vec<DMat4>, LoadError> {
        let Some(ext) = node.extensions.get("EXT_mesh_gpu_instancing").and_then(|e| e.get("attributes")) else {
            return Ok(Vec::new());
        };
        let acc = |name: &str| ext.get(name).and_then(|v| v.as_u64()).map(|v| v as usize);
        let root = self.root;
        let t = acc("TRANSLATION").map(|a| accessor::read_vec::<3>(&root.accessors, a, self)).transpose()?;
        let r = acc("ROTATION").map(|a| accessor::read_vec::<4>(&root.accessors, a, self)).transpose()?;
        let s = acc("SCALE").map(|a| accessor::read_vec::<3>(&root.accessors, a, self)).transpose()?;
        let count = [t.as_ref().map(Vec::len), r.as_ref().map(Vec::len), s.as_ref().map(Vec::len)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let tr = t
                .as_ref()
                .and_then(|v| v.get(i))
                .map_or(DVec3::ZERO, |v| DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64));
            let ro = r.as_ref().and_then(|v| v.get(i)).map_or(DQuat::IDENTITY, |q| {
                DQuat::from_xyzw(q[0] as f64, q[1] as f64, q[2] as f64, q[3] as f64).normalize()
            });
            let sc = s
                .as_ref()
                .and_then(|v| v.get(i))
                .map_or(DVec3::ONE, |v| DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64));
            out.push(DMat4::from_scale_rotation_translation(sc, ro, tr));
        }
        if out.iter().any(|m| !m.is_finite()) {
            return Err(GltfError::field(
                format!("/nodes/{n}/extensions/EXT_mesh_gpu_instancing"),
                "non-finite transform",
            )
            .into());
        }
        Ok(out)
    }
}

/// The accessor of `TEXCOORD_n`, without formatting a name for the usual sets.
fn texcoord(attributes: &json::Attributes, n: usize) -> Option<usize> {
    match n {
        0 => attributes.get_common(Common::TexCoord0),
        1 => attributes.get_common(Common::TexCoord1),
        _ => attributes.get(&format!("TEXCOORD_{n}")),
    }
}

fn local_transform(n: &json::Node) -> DMat4 {
    if let Some(m) = &n.matrix {
        let m = DMat4::from_cols_array(m);
        if m.is_finite() {
            return m;
        }
    }
    let t = DVec3::from_array(n.translation);
    if n.rotation == json::NO_ROTATION && n.scale == json::UNIT_SCALE {
        return if t.is_finite() { DMat4::from_translation(t) } else { DMat4::IDENTITY };
    }
    let [x, y, z, w] = n.rotation;
    let r = DQuat::from_xyzw(x, y, z, w);
    let r = if r.is_finite() && r.length() > 1e-12 { r.normalize() } else { DQuat::IDENTITY };
    let s = DVec3::from_array(n.scale);
    let m = DMat4::from_scale_rotation_translation(s, r, t);
    if m.is_finite() { m } else { DMat4::IDENTITY }
}

pub(crate) fn texture_ref(t: &json::TextureInfo) -> TextureRef {
    let transform = t.extensions.get("KHR_texture_transform").map(|x| {
        let arr2 = |k: &str, d: [f32; 2]| {
            x.get(k).and_then(|v| serde_json::from_value::<[f32; 2]>(v.clone()).ok()).unwrap_or(d)
        };
        TextureTransform {
            offset: arr2("offset", [0.0, 0.0]),
            rotation: x.get("rotation").and_then(|v| v.as_f64()).unwrap_or(0.0) as f32,
            scale: arr2("scale", [1.0, 1.0]),
            tex_coord: x.get("texCoord").and_then(|v| v.as_u64()).map(|v| v as u32),
        }
    });
    let tex_coord = transform.and_then(|t| t.tex_coord).unwrap_or(t.tex_coord);
    TextureRef { texture: t.index, tex_coord, transform }
}

fn material(m: &json::Material) -> Material {
    let pbr = m.pbr_metallic_roughness.as_ref();
    Material {
        name: m.name.clone(),
        base_color: pbr.and_then(|p| p.base_color_factor).unwrap_or([1.0; 4]),
        base_color_texture: pbr.and_then(|p| p.base_color_texture.as_ref()).map(texture_ref),
        double_sided: m.double_sided,
        unlit: m.extensions.contains_key("KHR_materials_unlit"),
    }
}
