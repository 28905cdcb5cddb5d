//! Render state: `osg::StateSet` with its attributes (Material, Texture2D
//! and a few small ones) and the images textures carry.
//!
//! Layouts: `StateSet.cpp`, `StateAttribute.cpp`, `Material.cpp`,
//! `Texture.cpp`, `Texture2D.cpp`, `TexEnv.cpp`, `CullFace.cpp`,
//! `AlphaFunc.cpp`, `BlendFunc.cpp`, `ShadeModel.cpp`, `PolygonMode.cpp`,
//! `LightModel.cpp`, `PolygonOffset.cpp`, `Depth.cpp`, and
//! `InputStream::readImage` for images (file name, write hint, then inline
//! pixels, an inline image file, or nothing for an external file).

use std::sync::Arc;

use super::parse::{Obj, ObjectFields, Parsed, Parser};
use super::stream::{Res, Stream};
use crate::FormatError;

/// An `osg::StateSet`. Mode and attribute values are OpenSceneGraph's
/// `StateAttribute::Values` bits (1 ON, 2 OVERRIDE, 4 PROTECTED, 8 INHERIT).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateSet {
    pub name: String,
    /// (OpenGL mode, value), e.g. `GL_LIGHTING` (0x0B50) off.
    pub modes: Vec<(u32, i32)>,
    pub attributes: Vec<(StateAttribute, i32)>,
    /// Per texture unit.
    pub texture_modes: Vec<Vec<(u32, i32)>>,
    /// Per texture unit.
    pub texture_attributes: Vec<Vec<(StateAttribute, i32)>>,
    pub rendering_hint: i32,
    pub render_bin_mode: i32,
    pub bin_number: i32,
    pub bin_name: String,
    pub nest_render_bins: bool,
    /// (name, value, override value), streams from 151.
    pub defines: Vec<(String, String, i32)>,
}

impl StateSet {
    /// The Material, if the state set has one.
    pub fn material(&self) -> Option<&Material> {
        self.attributes.iter().find_map(|(a, _)| match a {
            StateAttribute::Material(m) => Some(m),
            _ => None,
        })
    }

    /// The 2D texture of a texture unit.
    pub fn texture(&self, unit: usize) -> Option<&Texture2D> {
        self.texture_attributes.get(unit)?.iter().find_map(|(a, _)| match a {
            StateAttribute::Texture2D(t) => Some(&**t),
            _ => None,
        })
    }
}

/// A state attribute. GL enums are kept as numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum StateAttribute {
    Material(Material),
    Texture2D(Box<Texture2D>),
    /// `osg::TexEnv`: mode (e.g. `GL_MODULATE` 0x2100) and colour.
    TexEnv {
        mode: i32,
        color: [f32; 4],
    },
    /// `osg::CullFace`: `GL_FRONT` 0x404, `GL_BACK` 0x405, `GL_FRONT_AND_BACK` 0x408.
    CullFace {
        mode: i32,
    },
    /// `osg::AlphaFunc`: comparison (e.g. `GL_GREATER` 0x204) and reference.
    AlphaFunc {
        function: i32,
        reference: f32,
    },
    /// `osg::BlendFunc` factors.
    BlendFunc {
        source_rgb: u32,
        source_alpha: u32,
        destination_rgb: u32,
        destination_alpha: u32,
    },
    /// A known attribute read and not kept (ShadeModel, PolygonMode,
    /// LightModel, PolygonOffset, Depth).
    Other {
        class: String,
    },
}

/// A material property for the front and back faces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face<T> {
    pub front: T,
    pub back: T,
}

/// `osg::Material`. Colours are RGBA.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// `GL_AMBIENT_AND_DIFFUSE` (0x1602) etc.; 0x1603 is OFF.
    pub color_mode: i32,
    pub ambient: Face<[f32; 4]>,
    pub diffuse: Face<[f32; 4]>,
    pub specular: Face<[f32; 4]>,
    pub emission: Face<[f32; 4]>,
    pub shininess: Face<f32>,
}

impl Default for Material {
    /// OpenSceneGraph's defaults (`osg::Material::Material`).
    fn default() -> Self {
        let both = |v| Face { front: v, back: v };
        Material {
            color_mode: 0x1603,
            ambient: both([0.2, 0.2, 0.2, 1.0]),
            diffuse: both([0.8, 0.8, 0.8, 1.0]),
            specular: both([0.0, 0.0, 0.0, 1.0]),
            emission: both([0.0, 0.0, 0.0, 1.0]),
            shininess: Face { front: 0.0, back: 0.0 },
        }
    }
}

/// `osg::Texture2D` with the `osg::Texture` fields that matter for drawing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texture2D {
    pub image: Option<OsgbImage>,
    /// `GL_CLAMP` 0x2900, `GL_REPEAT` 0x2901, `GL_CLAMP_TO_EDGE` 0x812F…
    pub wrap: [u32; 3],
    /// `GL_LINEAR_MIPMAP_LINEAR` 0x2703 etc.
    pub min_filter: u32,
    pub mag_filter: u32,
    pub max_anisotropy: f32,
    pub use_hardware_mipmap_generation: bool,
    pub internal_format_mode: i32,
    pub internal_format: Option<u32>,
    pub texture_width: i32,
    pub texture_height: i32,
}

/// An `osg::Image` as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OsgbImage {
    /// The image's file name (inline images keep it; its extension names
    /// the format the embedded bytes are in).
    pub file_name: String,
    pub write_hint: i32,
    pub payload: ImagePayload,
    /// The `.osgb` file and the byte offset where the image record starts.
    pub path: String,
    pub offset: usize,
}

/// Where an image's pixels are.
#[derive(Debug, Clone, PartialEq)]
pub enum ImagePayload {
    /// Not in this file: `file_name` names it (resolve it like a child path).
    External,
    /// The bytes of an image file (JPEG, PNG, DDS…) embedded as stored.
    InlineFile(Arc<[u8]>),
    /// Raw pixels.
    Pixels(RawPixels),
}

/// Raw pixel data (`IMAGE_INLINE_DATA`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPixels {
    /// 0 bottom-left (first row is the bottom), 1 top-left.
    pub origin: i32,
    pub width: i32,
    pub height: i32,
    pub depth: i32,
    pub internal_format: i32,
    /// `GL_RGB` 0x1907, `GL_RGBA` 0x1908, compressed formats…
    pub pixel_format: u32,
    /// `GL_UNSIGNED_BYTE` 0x1401…
    pub data_type: u32,
    /// Row alignment in bytes.
    pub packing: u32,
    /// All levels: the base image then mipmaps at `mipmap_offsets`.
    pub data: Arc<[u8]>,
    pub mipmap_offsets: Vec<u32>,
}

impl OsgbImage {
    /// The embedded image file's bytes, if the image is stored that way.
    pub fn file_bytes(&self) -> Option<&[u8]> {
        match &self.payload {
            ImagePayload::InlineFile(b) => Some(b),
            _ => None,
        }
    }

    fn error(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Field {
            path: self.path.clone(),
            field: format!("image `{}` at byte {}", self.file_name, self.offset),
            msg: msg.into(),
        }
    }

    /// Decodes the base level to RGBA8, first row at the top: embedded JPEG,
    /// PNG or DDS (DXT1/3/5) files through the `image` crate, raw 8-bit RGB(A) /
    /// luminance(-alpha) / BGR(A) pixels directly (flipped when stored
    /// bottom-up). Texture coordinates are OpenGL's, `t` up: sample row
    /// `(1 − t) · height`. Raw compressed pixels and external images are errors.
    pub fn decode_rgba(&self) -> Result<image::RgbaImage, FormatError> {
        match &self.payload {
            ImagePayload::External => Err(self.error("the image is external (not embedded in this file)")),
            ImagePayload::InlineFile(bytes) => {
                // JPEG, PNG, or DDS (DXT1/3/5, as ContextCapture writes).
                image::load_from_memory(bytes).map(|i| i.to_rgba8()).map_err(|e| self.error(e.to_string()))
            }
            ImagePayload::Pixels(p) => self.decode_pixels(p),
        }
    }

    fn decode_pixels(&self, p: &RawPixels) -> Result<image::RgbaImage, FormatError> {
        if p.data_type != 0x1401 {
            return Err(self.error(format!("unsupported pixel data type 0x{:X}", p.data_type)));
        }
        let channels: usize = match p.pixel_format {
            0x1909 | 0x1906 | 0x1903 => 1,
            0x190A => 2,
            0x1907 | 0x80E0 => 3,
            0x1908 | 0x80E1 => 4,
            f => return Err(self.error(format!("unsupported pixel format 0x{f:X}"))),
        };
        if p.width <= 0 || p.height <= 0 || p.depth > 1 {
            return Err(self.error(format!("unsupported image size {}×{}×{}", p.width, p.height, p.depth)));
        }
        let (w, h) = (p.width as usize, p.height as usize);
        let align = (p.packing as usize).clamp(1, 8);
        let row = w.checked_mul(channels).ok_or_else(|| self.error("image too wide"))?;
        let stride = row.div_ceil(align) * align;
        let need = stride.checked_mul(h - 1).and_then(|n| n.checked_add(row));
        if need.is_none_or(|n| n > p.data.len()) {
            return Err(self.error(format!("{w}×{h} pixels need more than the {} bytes stored", p.data.len())));
        }
        let mut out = image::RgbaImage::new(w as u32, h as u32);
        for y in 0..h {
            let src_row = if p.origin == 0 { h - 1 - y } else { y };
            let src = &p.data[src_row * stride..src_row * stride + row];
            for (x, px) in src.chunks_exact(channels).enumerate() {
                let rgba = match (p.pixel_format, channels) {
                    (_, 1) if p.pixel_format == 0x1906 => [255, 255, 255, px[0]],
                    (_, 1) => [px[0], px[0], px[0], 255],
                    (_, 2) => [px[0], px[0], px[0], px[1]],
                    (0x80E0, _) => [px[2], px[1], px[0], 255],
                    (0x80E1, _) => [px[2], px[1], px[0], px[3]],
                    (_, 3) => [px[0], px[1], px[2], 255],
                    _ => [px[0], px[1], px[2], px[3]],
                };
                out.put_pixel(x as u32, y as u32, image::Rgba(rgba));
            }
        }
        Ok(out)
    }
}

/// A user serializer holding one GLenum.
fn glenum_field(s: &mut Stream<'_>, what: &str) -> Res<Option<u32>> {
    if s.bool(what)? { Ok(Some(s.u32(what)?)) } else { Ok(None) }
}

pub(super) fn is_attribute_class(short: &str) -> bool {
    matches!(
        short,
        "Material"
            | "Texture2D"
            | "TexEnv"
            | "CullFace"
            | "AlphaFunc"
            | "BlendFunc"
            | "ShadeModel"
            | "PolygonMode"
            | "LightModel"
            | "PolygonOffset"
            | "Depth"
    )
}

impl Parser<'_> {
    /// `StateSet.cpp`.
    pub(super) fn state_set(&mut self, object: ObjectFields) -> Res<StateSet> {
        let mut ss = StateSet { name: object.name, ..StateSet::default() };
        if self.s.bool("StateSet::ModeList")? {
            ss.modes = self.modes("StateSet::ModeList")?;
        }
        if self.s.bool("StateSet::AttributeList")? {
            ss.attributes = self.attributes("StateSet::AttributeList")?;
        }
        if self.s.bool("StateSet::TextureModeList")? {
            let n = self.unit_count("StateSet::TextureModeList")?;
            self.s.begin()?;
            for _ in 0..n {
                let modes = self.modes("StateSet::TextureModeList")?;
                ss.texture_modes.push(modes);
            }
            self.s.end();
        }
        if self.s.bool("StateSet::TextureAttributeList")? {
            let n = self.unit_count("StateSet::TextureAttributeList")?;
            self.s.begin()?;
            for _ in 0..n {
                let attrs = self.attributes("StateSet::TextureAttributeList")?;
                ss.texture_attributes.push(attrs);
            }
            self.s.end();
        }
        if self.s.bool("StateSet::UniformList")? {
            let n = self.unit_count("StateSet::UniformList")?;
            self.s.begin()?;
            for _ in 0..n {
                self.read_object()?; // uniforms are not kept
                self.s.i32("uniform value")?;
            }
            self.s.end();
        }
        ss.rendering_hint = self.s.i32("StateSet::RenderingHint")?;
        ss.render_bin_mode = self.s.i32("StateSet::RenderBinMode")?;
        ss.bin_number = self.s.i32("StateSet::BinNumber")?;
        ss.bin_name = self.s.string("StateSet::BinName")?;
        ss.nest_render_bins = self.s.bool("StateSet::NestRenderBins")?;
        self.object_field()?; // UpdateCallback
        self.object_field()?; // EventCallback
        if self.version() >= 151 && self.s.bool("StateSet::DefineList")? {
            let n = self.unit_count("StateSet::DefineList")?;
            self.s.begin()?;
            for _ in 0..n {
                let name = self.s.string("define name")?;
                let value = self.s.string("define value")?;
                let over = self.s.i32("define override")?;
                ss.defines.push((name, value, over));
            }
            self.s.end();
        }
        Ok(ss)
    }

    /// A `u32` count of records of at least 4 bytes each.
    fn unit_count(&mut self, what: &str) -> Res<u32> {
        let at = self.s.pos();
        let n = self.s.u32(what)?;
        self.s.check_count(u64::from(n), 4, what, at)?;
        Ok(n)
    }

    /// `readModes`: count, and if any, bracketed (GLenum, value) pairs.
    fn modes(&mut self, what: &str) -> Res<Vec<(u32, i32)>> {
        let n = self.s.u32(what)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        self.s.begin()?;
        let v = self.s.elements(u64::from(n), 8, what, |s| Ok((s.u32("mode")?, s.i32("mode value")?)))?;
        self.s.end();
        Ok(v)
    }

    /// `readAttributes`: count, and if any, bracketed (object, value) pairs.
    fn attributes(&mut self, what: &str) -> Res<Vec<(StateAttribute, i32)>> {
        let n = self.unit_count(what)?;
        let mut out = Vec::new();
        if n == 0 {
            return Ok(out);
        }
        self.s.begin()?;
        for _ in 0..n {
            let obj = self.read_object()?;
            let value = self.s.i32("attribute value")?;
            match obj {
                None | Some(Obj { value: Parsed::Skipped, .. }) => {}
                Some(Obj { value: Parsed::Attribute(a), .. }) => out.push((*a, value)),
                Some(o) => {
                    return Err(self.s.error(o.at, format!("{what}: expected a state attribute, found `{}`", o.class)));
                }
            }
        }
        self.s.end();
        Ok(out)
    }

    /// A state attribute's fields after `osg::Object`'s.
    pub(super) fn state_attribute(&mut self, short: &str, class: &str, at: usize) -> Res<StateAttribute> {
        self.object_field()?; // StateAttribute::UpdateCallback
        self.object_field()?; // StateAttribute::EventCallback
        let s = &mut self.s;
        Ok(match short {
            "Material" => StateAttribute::Material(self.material()?),
            "Texture2D" => StateAttribute::Texture2D(Box::new(self.texture_2d()?)),
            "TexEnv" => StateAttribute::TexEnv { mode: s.i32("TexEnv::Mode")?, color: s.vec4f("TexEnv::Color")? },
            "CullFace" => StateAttribute::CullFace { mode: s.i32("CullFace::Mode")? },
            "AlphaFunc" => StateAttribute::AlphaFunc {
                function: s.i32("AlphaFunc::Function")?,
                reference: s.f32("AlphaFunc::ReferenceValue")?,
            },
            "BlendFunc" => StateAttribute::BlendFunc {
                source_rgb: s.u32("BlendFunc::SourceRGB")?,
                source_alpha: s.u32("BlendFunc::SourceAlpha")?,
                destination_rgb: s.u32("BlendFunc::DestinationRGB")?,
                destination_alpha: s.u32("BlendFunc::DestinationAlpha")?,
            },
            "ShadeModel" => {
                s.i32("ShadeModel::Mode")?;
                StateAttribute::Other { class: class.into() }
            }
            "PolygonMode" => {
                if s.bool("PolygonMode::Mode")? {
                    s.bool("PolygonMode::UseFrontAndBack")?;
                    s.i32("PolygonMode::Front")?;
                    s.i32("PolygonMode::Back")?;
                }
                StateAttribute::Other { class: class.into() }
            }
            "LightModel" => {
                s.vec4f("LightModel::AmbientIntensity")?;
                s.i32("LightModel::ColorControl")?;
                s.bool("LightModel::LocalViewer")?;
                s.bool("LightModel::TwoSided")?;
                StateAttribute::Other { class: class.into() }
            }
            "PolygonOffset" => {
                s.f32("PolygonOffset::Factor")?;
                s.f32("PolygonOffset::Units")?;
                StateAttribute::Other { class: class.into() }
            }
            "Depth" => {
                s.i32("Depth::Function")?;
                s.f64("Depth::ZNear")?;
                s.f64("Depth::ZFar")?;
                s.bool("Depth::WriteMask")?;
                StateAttribute::Other { class: class.into() }
            }
            _ => return Err(self.unsupported(at, &format!("state attribute `{class}`"))),
        })
    }

    /// `Material.cpp`: ColorMode, then Ambient, Diffuse, Specular, Emission,
    /// Shininess, each (present, front-and-back, front, back).
    fn material(&mut self) -> Res<Material> {
        let mut m = Material { color_mode: self.s.i32("Material::ColorMode")?, ..Material::default() };
        for (i, what) in ["Material::Ambient", "Material::Diffuse", "Material::Specular", "Material::Emission"]
            .into_iter()
            .enumerate()
        {
            if !self.s.bool(what)? {
                continue;
            }
            let both = self.s.bool(what)?;
            let front = self.s.vec4f(what)?;
            let back = self.s.vec4f(what)?;
            let face = Face { front, back: if both { front } else { back } };
            match i {
                0 => m.ambient = face,
                1 => m.diffuse = face,
                2 => m.specular = face,
                _ => m.emission = face,
            }
        }
        if self.s.bool("Material::Shininess")? {
            let both = self.s.bool("Material::Shininess")?;
            let front = self.s.f32("Material::Shininess")?;
            let back = self.s.f32("Material::Shininess")?;
            m.shininess = Face { front, back: if both { front } else { back } };
        }
        Ok(m)
    }

    /// `Texture.cpp` then `Texture2D.cpp`.
    fn texture_2d(&mut self) -> Res<Texture2D> {
        let v = self.version();
        let s = &mut self.s;
        let mut t = Texture2D::default();
        for (i, what) in ["Texture::WRAP_S", "Texture::WRAP_T", "Texture::WRAP_R"].into_iter().enumerate() {
            t.wrap[i] = glenum_field(s, what)?.unwrap_or(0x2900);
        }
        t.min_filter = glenum_field(s, "Texture::MIN_FILTER")?.unwrap_or(0x2703);
        t.mag_filter = glenum_field(s, "Texture::MAG_FILTER")?.unwrap_or(0x2601);
        t.max_anisotropy = s.f32("Texture::MaxAnisotropy")?;
        t.use_hardware_mipmap_generation = s.bool("Texture::UseHardwareMipMapGeneration")?;
        s.bool("Texture::UnRefImageDataAfterApply")?;
        s.bool("Texture::ClientStorageHint")?;
        s.bool("Texture::ResizeNonPowerOfTwoHint")?;
        for _ in 0..4 {
            s.f64("Texture::BorderColor")?;
        }
        s.i32("Texture::BorderWidth")?;
        t.internal_format_mode = s.i32("Texture::InternalFormatMode")?;
        t.internal_format = glenum_field(s, "Texture::InternalFormat")?;
        glenum_field(s, "Texture::SourceFormat")?;
        glenum_field(s, "Texture::SourceType")?;
        s.bool("Texture::ShadowComparison")?;
        s.i32("Texture::ShadowCompareFunc")?;
        s.i32("Texture::ShadowTextureMode")?;
        s.f32("Texture::ShadowAmbient")?;
        if (95..=153).contains(&v) && s.bool("Texture::ImageAttachment")? {
            s.u32("ImageAttachment unit")?;
            s.i32("ImageAttachment level")?;
            s.u8("ImageAttachment layered")?;
            s.i32("ImageAttachment layer")?;
            s.u32("ImageAttachment access")?;
            s.u32("ImageAttachment format")?;
        }
        if v >= 98 && s.bool("Texture::Swizzle")? {
            s.string("Texture::Swizzle")?;
        }
        if v >= 155 {
            s.f32("Texture::MinLOD")?;
            s.f32("Texture::MaxLOD")?;
            s.f32("Texture::LODBias")?;
        }
        if self.s.bool("Texture2D::Image")? {
            t.image = self.read_image()?;
        }
        t.texture_width = self.s.i32("Texture2D::TextureWidth")?;
        t.texture_height = self.s.i32("Texture2D::TextureHeight")?;
        Ok(t)
    }

    /// `InputStream::readImage` after the class name and unique id.
    pub(super) fn image_fields(&mut self, at: usize) -> Res<OsgbImage> {
        let file_name = self.s.string("Image::FileName")?;
        let write_hint = self.s.i32("Image::WriteHint")?;
        let decision = self.s.i32("Image decision")?;
        let payload = match decision {
            0 => {
                let mut f = [0i32; 9];
                for v in &mut f {
                    *v = self.s.i32("Image header")?;
                }
                let size = self.s.u32("Image data size")?;
                let data: Arc<[u8]> = self.s.take(size as usize, "Image data")?.into();
                let n = self.s.u32("Image mipmap level count")?;
                let mipmap_offsets =
                    self.s.elements(u64::from(n), 4, "Image mipmap levels", |s| s.u32("mipmap offset"))?;
                ImagePayload::Pixels(RawPixels {
                    origin: f[0],
                    width: f[1],
                    height: f[2],
                    depth: f[3],
                    internal_format: f[4],
                    pixel_format: f[5] as u32,
                    data_type: f[6] as u32,
                    packing: f[7] as u32,
                    data,
                    mipmap_offsets,
                })
            }
            1 => {
                let size = self.s.u32("inline image file size")?;
                ImagePayload::InlineFile(self.s.take(size as usize, "inline image file")?.into())
            }
            _ => ImagePayload::External,
        };
        self.object_fields()?; // readObjectFields("osg::Object")
        Ok(OsgbImage { file_name, write_hint, payload, path: self.s.path().to_string(), offset: at })
    }
}
