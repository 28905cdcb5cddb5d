//! GLB tile content: triangle primitives with normals, texture coordinates,
//! vertex colours and feature IDs, embedded images, materials, and the
//! `EXT_mesh_features` / `EXT_structural_metadata` extensions.
//!
//! ```text
//! check everything ─► BIN chunk (one buffer): per primitive POSITION (min/max),
//!   NORMAL, TEXCOORD_0, COLOR_0, _FEATURE_ID_0, indices; images; property
//!   table columns ─► gltf::json::Root ─► JSON chunk (padded so BIN starts
//!   8-aligned in the file) ─► GLB
//! ```
//!
//! Layout rules followed: every bufferView starts 4-byte aligned in the
//! buffer (property-table views 8-byte aligned); vertex views have target
//! ARRAY_BUFFER, index views ELEMENT_ARRAY_BUFFER, image and property views
//! none; every vertex attribute element starts on a 4-byte boundary (so
//! 2-byte feature IDs are written with byteStride 4).

use ::gltf::json as gj;
use gj::Index;
use gj::accessor::{ComponentType, GenericComponentType, Type};
use gj::buffer::Target;
use gj::validation::{Checked::Valid, USize64};
use serde_json::{Map, Value};

use super::WriteError;
use super::metadata::{self, PropertyTableData};

/// Feature IDs at or above this are written as FLOAT (16-bit otherwise).
const U16_FEATURE_IDS_BELOW: u32 = 65535;
/// FLOAT feature IDs are exact below 2^24.
const MAX_FLOAT_FEATURE_ID: u32 = 1 << 24;

/// The content of one `.glb` tile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlbContent {
    /// At least one; all go into one mesh under one node.
    pub primitives: Vec<GlbPrimitive>,
    /// Encoded images (PNG or JPEG), referenced by [`GlbPrimitive::image`].
    pub images: Vec<GlbImage>,
    /// The property table the primitives' feature IDs index into.
    pub table: Option<PropertyTableData>,
    /// The metadata schema ID (an identifier; used when `table` is set).
    pub schema_id: String,
}

/// One triangle-list primitive, in glTF's frame (y up, metres).
#[derive(Debug, Clone, PartialEq)]
pub struct GlbPrimitive {
    /// At least one vertex; every value finite.
    pub positions: Vec<[f32; 3]>,
    /// One per vertex, non-zero (written normalised).
    pub normals: Option<Vec<[f32; 3]>>,
    /// One per vertex, glTF convention (origin at the image's top-left).
    pub uvs: Option<Vec<[f32; 2]>>,
    /// One per vertex, sRGB RGBA8. glTF's COLOR_0 is linear, so these are
    /// converted (alpha kept linear) and written as normalised UNSIGNED_SHORT,
    /// which keeps dark sRGB values distinct.
    pub colors: Option<Vec<[u8; 4]>>,
    /// One per vertex: the row of the property table (when there is one)
    /// of the feature the vertex belongs to.
    pub feature_ids: Option<Vec<u32>>,
    /// Triangles: a non-empty multiple of three, each below the vertex count.
    pub indices: Vec<u32>,
    /// Base-colour texture: an index into [`GlbContent::images`] (needs `uvs`).
    pub image: Option<usize>,
    /// Linear RGBA factor in `[0, 1]`; an alpha below 1 makes the material BLEND.
    pub base_color: [f32; 4],
    pub double_sided: bool,
}

impl Default for GlbPrimitive {
    fn default() -> Self {
        Self {
            positions: Vec::new(),
            normals: None,
            uvs: None,
            colors: None,
            feature_ids: None,
            indices: Vec::new(),
            image: None,
            base_color: [1.0; 4],
            double_sided: false,
        }
    }
}

/// An encoded image stored in the GLB.
#[derive(Debug, Clone, PartialEq)]
pub struct GlbImage {
    /// `image/png` or `image/jpeg` (checked against the bytes).
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// The BIN chunk under construction: bytes and the buffer views into them.
#[derive(Default)]
pub(super) struct Bin {
    pub data: Vec<u8>,
    pub views: Vec<gj::buffer::View>,
}

impl Bin {
    /// Appends `bytes` at the next multiple of `align` as a new buffer view.
    pub(super) fn push(
        &mut self,
        bytes: &[u8],
        align: usize,
        target: Option<Target>,
        stride: Option<usize>,
    ) -> Result<Index<gj::buffer::View>, WriteError> {
        let offset = self.data.len().next_multiple_of(align);
        if offset.saturating_add(bytes.len()) > u32::MAX as usize {
            return Err(WriteError::TooLarge { what: "the BIN chunk".into() });
        }
        self.data.resize(offset, 0);
        self.data.extend_from_slice(bytes);
        self.views.push(gj::buffer::View {
            buffer: Index::new(0),
            byte_length: USize64::from(bytes.len()),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: stride.map(gj::buffer::Stride),
            name: None,
            target: target.map(Valid),
            extensions: None,
            extras: Default::default(),
        });
        Ok(index(self.views.len() - 1))
    }
}

/// A glTF index from a position in a list (lists here never reach 2^32).
pub(super) fn index<T>(i: usize) -> Index<T> {
    Index::new(u32::try_from(i).unwrap_or(u32::MAX))
}

/// Writes a GLB: checks the content, then lays out the BIN chunk and the
/// glTF JSON (see the module documentation).
pub fn write_glb(content: &GlbContent) -> Result<Vec<u8>, WriteError> {
    if content.primitives.is_empty() {
        return Err(WriteError::invalid("primitives", "none: a glb needs at least one primitive"));
    }
    check_images(&content.images)?;
    if let Some(t) = &content.table {
        metadata::check(t, &content.schema_id)?;
    }
    let rows = content.table.as_ref().map(|t| t.count);
    for (i, p) in content.primitives.iter().enumerate() {
        check_primitive(i, p, content.images.len(), rows)?;
    }

    let mut bin = Bin::default();
    let mut root_ext = Map::new();
    let mut used = Vec::new();
    // Property tables first: their 8-byte alignment then costs no padding.
    if let Some(t) = &content.table {
        root_ext.insert("EXT_structural_metadata".into(), metadata::encode(t, &content.schema_id, &mut bin)?);
        used.push("EXT_structural_metadata".to_string());
    }
    let mut accessors = Vec::new();
    let mut materials = Vec::new();
    let mut material_of = std::collections::HashMap::new();
    let mut primitives = Vec::with_capacity(content.primitives.len());
    for p in &content.primitives {
        let mut prim = write_primitive(p, &mut bin, &mut accessors, content.table.is_some())?;
        let m = *material_of.entry(MaterialKey::of(p)).or_insert_with(|| {
            materials.push(material(p));
            materials.len() - 1
        });
        prim.material = Some(index(m));
        primitives.push(prim);
    }
    if content.primitives.iter().any(|p| p.feature_ids.is_some()) {
        used.insert(0, "EXT_mesh_features".to_string());
    }
    let mut images = Vec::with_capacity(content.images.len());
    let mut textures = Vec::with_capacity(content.images.len());
    for (i, img) in content.images.iter().enumerate() {
        let view = bin.push(&img.bytes, 4, None, None)?;
        images.push(gj::Image {
            buffer_view: Some(view),
            mime_type: Some(gj::image::MimeType(img.mime_type.clone())),
            name: None,
            uri: None,
            extensions: None,
            extras: Default::default(),
        });
        textures.push(gj::Texture {
            name: None,
            sampler: Some(Index::new(0)),
            source: index(i),
            extensions: None,
            extras: Default::default(),
        });
    }
    let samplers = if images.is_empty() {
        Vec::new()
    } else {
        vec![gj::texture::Sampler {
            mag_filter: Some(Valid(gj::texture::MagFilter::Linear)),
            min_filter: Some(Valid(gj::texture::MinFilter::LinearMipmapLinear)),
            wrap_s: Valid(gj::texture::WrappingMode::Repeat),
            wrap_t: Valid(gj::texture::WrappingMode::Repeat),
            ..Default::default()
        }]
    };
    // The buffer is the whole BIN chunk, padded to 4 bytes.
    bin.data.resize(bin.data.len().next_multiple_of(4), 0);
    let root = gj::Root {
        asset: gj::Asset { generator: Some("Urbis".into()), version: "2.0".into(), ..Default::default() },
        accessors,
        buffers: vec![gj::Buffer {
            byte_length: USize64::from(bin.data.len()),
            name: None,
            uri: None,
            extensions: None,
            extras: Default::default(),
        }],
        buffer_views: std::mem::take(&mut bin.views),
        images,
        samplers,
        textures,
        materials,
        meshes: vec![gj::Mesh { extensions: None, extras: Default::default(), name: None, primitives, weights: None }],
        nodes: vec![gj::Node { mesh: Some(Index::new(0)), ..Default::default() }],
        scenes: vec![gj::Scene {
            extensions: None,
            extras: Default::default(),
            name: None,
            nodes: vec![Index::new(0)],
        }],
        scene: Some(Index::new(0)),
        extensions: (!root_ext.is_empty()).then_some(gj::extensions::root::Root { others: root_ext }),
        extensions_used: used,
        ..Default::default()
    };
    let json = gj::serialize::to_vec(&root)?;
    container(json, &bin.data)
}

/// The GLB container: header, JSON chunk (space-padded so that the BIN
/// data starts at a multiple of 8 in the file), BIN chunk.
fn container(mut json: Vec<u8>, bin: &[u8]) -> Result<Vec<u8>, WriteError> {
    // 12 (header) + 8 (JSON chunk header) + json + 8 (BIN chunk header) ≡ 0 (mod 8).
    while !(28 + json.len()).is_multiple_of(8) {
        json.push(b' ');
    }
    let total = 28 + json.len() + bin.len();
    let total = u32::try_from(total).map_err(|_| WriteError::TooLarge { what: "the glb".into() })?;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&json);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(bin);
    Ok(out)
}

fn check_images(images: &[GlbImage]) -> Result<(), WriteError> {
    for (i, img) in images.iter().enumerate() {
        let field = format!("image {i}");
        let magic_ok = match img.mime_type.as_str() {
            "image/png" => img.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "image/jpeg" => img.bytes.starts_with(&[0xff, 0xd8, 0xff]),
            other => {
                return Err(WriteError::invalid(field, format!("mime type `{other}`: use image/png or image/jpeg")));
            }
        };
        if !magic_ok {
            return Err(WriteError::invalid(field, format!("the bytes are not a {} file", img.mime_type)));
        }
    }
    Ok(())
}

fn check_len(i: usize, name: &str, len: usize, vertices: usize) -> Result<(), WriteError> {
    if len == vertices {
        return Ok(());
    }
    Err(WriteError::Length { field: format!("primitive {i}: {name}"), len, expected: vertices, unit: "vertices" })
}

fn check_finite<const N: usize>(i: usize, name: &str, values: &[[f32; N]]) -> Result<(), WriteError> {
    match values.iter().position(|v| v.iter().any(|c| !c.is_finite())) {
        Some(index) => Err(WriteError::NotFinite { field: format!("primitive {i}: {name}"), index }),
        None => Ok(()),
    }
}

fn check_primitive(i: usize, p: &GlbPrimitive, images: usize, rows: Option<usize>) -> Result<(), WriteError> {
    let n = p.positions.len();
    if n == 0 {
        return Err(WriteError::invalid(format!("primitive {i}: positions"), "empty"));
    }
    check_finite(i, "positions", &p.positions)?;
    if let Some(normals) = &p.normals {
        check_len(i, "normals", normals.len(), n)?;
        check_finite(i, "normals", normals)?;
        if let Some(z) = normals.iter().position(|v| v.iter().all(|c| *c == 0.0)) {
            return Err(WriteError::invalid(format!("primitive {i}: normals"), format!("normal {z} is zero")));
        }
    }
    if let Some(uvs) = &p.uvs {
        check_len(i, "uvs", uvs.len(), n)?;
        check_finite(i, "uvs", uvs)?;
    }
    if let Some(colors) = &p.colors {
        check_len(i, "colors", colors.len(), n)?;
    }
    if let Some(ids) = &p.feature_ids {
        check_len(i, "feature_ids", ids.len(), n)?;
        let bound = rows.map_or(MAX_FLOAT_FEATURE_ID as u64, |r| (r as u64).min(MAX_FLOAT_FEATURE_ID as u64));
        if let Some(&bad) = ids.iter().find(|&&id| id as u64 >= bound) {
            return Err(WriteError::OutOfRange {
                field: format!("primitive {i}: feature_ids"),
                value: bad as u64,
                bound,
            });
        }
    }
    if p.indices.is_empty() || !p.indices.len().is_multiple_of(3) {
        return Err(WriteError::invalid(
            format!("primitive {i}: indices"),
            format!("{} indices: need a non-empty multiple of 3 (a triangle list)", p.indices.len()),
        ));
    }
    // u32::MAX is the primitive-restart value, which glTF forbids.
    let bound = (n as u64).min(u32::MAX as u64);
    if let Some(&bad) = p.indices.iter().find(|&&x| x as u64 >= bound) {
        return Err(WriteError::OutOfRange { field: format!("primitive {i}: indices"), value: bad as u64, bound });
    }
    if let Some(img) = p.image {
        if img >= images {
            return Err(WriteError::OutOfRange {
                field: format!("primitive {i}: image"),
                value: img as u64,
                bound: images as u64,
            });
        }
        if p.uvs.is_none() {
            return Err(WriteError::invalid(format!("primitive {i}: image"), "a texture needs uvs"));
        }
    }
    if p.base_color.iter().any(|c| !(0.0..=1.0).contains(c)) {
        return Err(WriteError::invalid(
            format!("primitive {i}: base_color"),
            format!("{:?}: components must lie in [0, 1]", p.base_color),
        ));
    }
    Ok(())
}

fn accessor(
    view: Index<gj::buffer::View>,
    count: usize,
    component: ComponentType,
    kind: Type,
    normalized: bool,
) -> gj::Accessor {
    gj::Accessor {
        buffer_view: Some(view),
        byte_offset: None,
        count: USize64::from(count),
        component_type: Valid(GenericComponentType(component)),
        extensions: None,
        extras: Default::default(),
        type_: Valid(kind),
        min: None,
        max: None,
        name: None,
        normalized,
        sparse: None,
    }
}

fn add(a: gj::Accessor, accessors: &mut Vec<gj::Accessor>) -> Index<gj::Accessor> {
    accessors.push(a);
    index(accessors.len() - 1)
}

fn f32_bytes<const N: usize>(values: &[[f32; N]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * N * 4);
    for v in values {
        for c in v {
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
    out
}

/// sRGB-encoded 8-bit value to linear `[0, 1]`.
pub fn srgb_to_linear(c: u8) -> f32 {
    let c = c as f32 / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn write_primitive(
    p: &GlbPrimitive,
    bin: &mut Bin,
    accessors: &mut Vec<gj::Accessor>,
    has_table: bool,
) -> Result<gj::mesh::Primitive, WriteError> {
    use gj::mesh::Semantic;
    let n = p.positions.len();
    let mut attributes = std::collections::BTreeMap::new();

    let (mut min, mut max) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for v in &p.positions {
        for k in 0..3 {
            min[k] = min[k].min(v[k]);
            max[k] = max[k].max(v[k]);
        }
    }
    let view = bin.push(&f32_bytes(&p.positions), 4, Some(Target::ArrayBuffer), None)?;
    let mut pos = accessor(view, n, ComponentType::F32, Type::Vec3, false);
    pos.min = Some(Value::from(min.to_vec()));
    pos.max = Some(Value::from(max.to_vec()));
    attributes.insert(Valid(Semantic::Positions), add(pos, accessors));

    if let Some(normals) = &p.normals {
        let unit: Vec<[f32; 3]> = normals
            .iter()
            .map(|v| {
                let l = (v[0] as f64).hypot(v[1] as f64).hypot(v[2] as f64);
                [(v[0] as f64 / l) as f32, (v[1] as f64 / l) as f32, (v[2] as f64 / l) as f32]
            })
            .collect();
        let view = bin.push(&f32_bytes(&unit), 4, Some(Target::ArrayBuffer), None)?;
        attributes
            .insert(Valid(Semantic::Normals), add(accessor(view, n, ComponentType::F32, Type::Vec3, false), accessors));
    }
    if let Some(uvs) = &p.uvs {
        let view = bin.push(&f32_bytes(uvs), 4, Some(Target::ArrayBuffer), None)?;
        attributes.insert(
            Valid(Semantic::TexCoords(0)),
            add(accessor(view, n, ComponentType::F32, Type::Vec2, false), accessors),
        );
    }
    if let Some(colors) = &p.colors {
        let mut bytes = Vec::with_capacity(n * 8);
        for &[r, g, b, a] in colors {
            for c in [r, g, b] {
                bytes.extend_from_slice(&((srgb_to_linear(c) * 65535.0).round() as u16).to_le_bytes());
            }
            bytes.extend_from_slice(&(a as u16 * 257).to_le_bytes());
        }
        let view = bin.push(&bytes, 4, Some(Target::ArrayBuffer), None)?;
        attributes.insert(
            Valid(Semantic::Colors(0)),
            add(accessor(view, n, ComponentType::U16, Type::Vec4, true), accessors),
        );
    }
    let mut extensions = None;
    if let Some(ids) = &p.feature_ids {
        let small = ids.iter().all(|&id| id < U16_FEATURE_IDS_BELOW);
        let mut bytes = Vec::with_capacity(n * 4);
        for &id in ids {
            if small {
                // Two bytes of ID and two of padding: attribute elements start 4-byte aligned.
                bytes.extend_from_slice(&(id as u16).to_le_bytes());
                bytes.extend_from_slice(&[0, 0]);
            } else {
                bytes.extend_from_slice(&(id as f32).to_le_bytes());
            }
        }
        let (component, stride) = if small { (ComponentType::U16, Some(4)) } else { (ComponentType::F32, None) };
        let view = bin.push(&bytes, 4, Some(Target::ArrayBuffer), stride)?;
        attributes.insert(
            Valid(Semantic::Extras("FEATURE_ID_0".into())),
            add(accessor(view, n, component, Type::Scalar, false), accessors),
        );
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut set = Map::new();
        set.insert("featureCount".into(), distinct.len().into());
        set.insert("attribute".into(), 0.into());
        if has_table {
            set.insert("propertyTable".into(), 0.into());
        }
        let mut features = Map::new();
        features.insert("featureIds".into(), Value::Array(vec![Value::Object(set)]));
        let mut others = Map::new();
        others.insert("EXT_mesh_features".into(), Value::Object(features));
        extensions = Some(gj::extensions::mesh::Primitive { others });
    }

    let max_index = p.indices.iter().copied().max().unwrap_or(0);
    let (bytes, component) = if max_index < 65535 {
        (p.indices.iter().flat_map(|&x| (x as u16).to_le_bytes()).collect::<Vec<u8>>(), ComponentType::U16)
    } else {
        (p.indices.iter().flat_map(|&x| x.to_le_bytes()).collect::<Vec<u8>>(), ComponentType::U32)
    };
    let view = bin.push(&bytes, 4, Some(Target::ElementArrayBuffer), None)?;
    let indices = add(accessor(view, p.indices.len(), component, Type::Scalar, false), accessors);

    Ok(gj::mesh::Primitive {
        attributes,
        extensions,
        extras: Default::default(),
        indices: Some(indices),
        material: None,
        mode: Valid(gj::mesh::Mode::Triangles),
        targets: None,
    })
}

/// What makes two primitives' materials the same.
#[derive(PartialEq, Eq, Hash)]
struct MaterialKey {
    base_color: [u32; 4],
    image: Option<usize>,
    double_sided: bool,
}

impl MaterialKey {
    fn of(p: &GlbPrimitive) -> Self {
        Self { base_color: p.base_color.map(f32::to_bits), image: p.image, double_sided: p.double_sided }
    }
}

fn material(p: &GlbPrimitive) -> gj::Material {
    use gj::material::{AlphaMode, PbrBaseColorFactor, PbrMetallicRoughness, StrengthFactor};
    gj::Material {
        alpha_mode: Valid(if p.base_color[3] < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque }),
        double_sided: p.double_sided,
        pbr_metallic_roughness: PbrMetallicRoughness {
            base_color_factor: PbrBaseColorFactor(p.base_color),
            base_color_texture: p.image.map(|i| gj::texture::Info {
                index: index(i),
                tex_coord: 0,
                extensions: None,
                extras: Default::default(),
            }),
            metallic_factor: StrengthFactor(0.0),
            roughness_factor: StrengthFactor(1.0),
            ..Default::default()
        },
        ..Default::default()
    }
}
