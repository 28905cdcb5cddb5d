//! Reading `osg::Geometry` (with `osg::Drawable`'s and, from stream version
//! 154, `osg::Node`'s fields before it), its arrays and primitive sets.
//!
//! Two layouts exist. Before stream version 112 arrays and primitive sets
//! are inline records (`InputStream::readArray` with an ArrayID and a type
//! number, `InputStream::readPrimitiveSet`) wrapped in Geometry's
//! `VertexData`-style user serializers with binding and normalize; from 112
//! they are ordinary objects (`osg::Vec3Array`, `osg::DrawElementsUInt`) with
//! their own wrappers (`Array.cpp`, `PrimitiveSet.cpp`).

use std::sync::Arc;

use super::geometry::{ArrayValues, Binding, Geometry, IndexWidth, OsgbArray, Primitive, PrimitiveMode, PrimitiveSet};
use super::parse::{Obj, ObjectFields, Parsed, Parser};
use super::stream::Res;

/// Scalar types of array components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }
}

/// Array classes: (stream type number before 112, class, scalar, components),
/// from `osgDB/DataTypes` (`ID_BYTE_ARRAY`…) and `Array.cpp`.
const ARRAYS: [(i32, &str, Scalar, usize); 32] = {
    use Scalar::*;
    [
        (0, "osg::ByteArray", I8, 1),
        (1, "osg::UByteArray", U8, 1),
        (2, "osg::ShortArray", I16, 1),
        (3, "osg::UShortArray", U16, 1),
        (4, "osg::IntArray", I32, 1),
        (5, "osg::UIntArray", U32, 1),
        (6, "osg::FloatArray", F32, 1),
        (7, "osg::DoubleArray", F64, 1),
        (8, "osg::Vec2bArray", I8, 2),
        (9, "osg::Vec3bArray", I8, 3),
        (10, "osg::Vec4bArray", I8, 4),
        (11, "osg::Vec4ubArray", U8, 4),
        (12, "osg::Vec2sArray", I16, 2),
        (13, "osg::Vec3sArray", I16, 3),
        (14, "osg::Vec4sArray", I16, 4),
        (15, "osg::Vec2Array", F32, 2),
        (16, "osg::Vec3Array", F32, 3),
        (17, "osg::Vec4Array", F32, 4),
        (18, "osg::Vec2dArray", F64, 2),
        (19, "osg::Vec3dArray", F64, 3),
        (20, "osg::Vec4dArray", F64, 4),
        (21, "osg::Vec2ubArray", U8, 2),
        (22, "osg::Vec3ubArray", U8, 3),
        (23, "osg::Vec2usArray", U16, 2),
        (24, "osg::Vec3usArray", U16, 3),
        (25, "osg::Vec4usArray", U16, 4),
        (26, "osg::Vec2iArray", I32, 2),
        (27, "osg::Vec3iArray", I32, 3),
        (28, "osg::Vec4iArray", I32, 4),
        (29, "osg::Vec2uiArray", U32, 2),
        (30, "osg::Vec3uiArray", U32, 3),
        (31, "osg::Vec4uiArray", U32, 4),
    ]
};

/// The array class of a class name without `osg::`.
pub(super) fn array_class(short: &str) -> Option<(&'static str, Scalar, usize)> {
    ARRAYS.iter().find(|a| a.1.strip_prefix("osg::") == Some(short)).map(|a| (a.1, a.2, a.3))
}

pub(super) fn is_primitive_class(short: &str) -> bool {
    matches!(short, "DrawArrays" | "DrawArrayLengths" | "DrawElementsUByte" | "DrawElementsUShort" | "DrawElementsUInt")
}

fn decode<T, const N: usize>(bytes: &[u8], big: bool, le: fn([u8; N]) -> T, be: fn([u8; N]) -> T) -> Arc<[T]> {
    bytes
        .chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            if big { be(a) } else { le(a) }
        })
        .collect()
}

impl<'a> Parser<'a> {
    /// The bytes of `count` components of a scalar type, checked before
    /// anything is allocated, and whether they are big-endian.
    fn component_bytes(&mut self, scalar: Scalar, count: u64, what: &str) -> Res<(&'a [u8], bool)> {
        let at = self.s.pos();
        let n = self.s.check_count(count, scalar.size(), what, at)?;
        let big = self.s.big_endian();
        Ok((self.s.take(n * scalar.size(), what)?, big))
    }

    fn values(&mut self, scalar: Scalar, count: u64, what: &str) -> Res<ArrayValues> {
        let (bytes, big) = self.component_bytes(scalar, count, what)?;
        Ok(match scalar {
            Scalar::I8 => ArrayValues::I8(bytes.iter().map(|b| *b as i8).collect()),
            Scalar::U8 => ArrayValues::U8(bytes.into()),
            Scalar::I16 => ArrayValues::I16(decode(bytes, big, i16::from_le_bytes, i16::from_be_bytes)),
            Scalar::U16 => ArrayValues::U16(decode(bytes, big, u16::from_le_bytes, u16::from_be_bytes)),
            Scalar::I32 => ArrayValues::I32(decode(bytes, big, i32::from_le_bytes, i32::from_be_bytes)),
            Scalar::U32 => ArrayValues::U32(decode(bytes, big, u32::from_le_bytes, u32::from_be_bytes)),
            Scalar::F32 => ArrayValues::F32(decode(bytes, big, f32::from_le_bytes, f32::from_be_bytes)),
            Scalar::F64 => ArrayValues::F64(decode(bytes, big, f64::from_le_bytes, f64::from_be_bytes)),
        })
    }

    fn lengths(&mut self, n: u32) -> Res<Arc<[i32]>> {
        let (bytes, big) = self.component_bytes(Scalar::I32, n.into(), "DrawArrayLengths")?;
        Ok(decode(bytes, big, i32::from_le_bytes, i32::from_be_bytes))
    }

    /// `Geometry.cpp` with `Drawable.cpp` (and `Node.cpp` from 154) before it.
    pub(super) fn geometry(&mut self, object: ObjectFields, at: usize) -> Res<Geometry> {
        let v = self.version();
        let mut g = Geometry {
            name: object.name,
            path: self.s.path().to_string(),
            offset: at,
            node_mask: 0xffff_ffff,
            user_data: object.user,
            ..Geometry::default()
        };
        if v >= 154 {
            let node = self.node_fields()?;
            g.node_mask = node.node_mask;
            g.state_set = node.state_set;
            g.user_data.descriptions.extend(node.descriptions);
        }
        if v <= 155
            && let Some(ss) = self.state_set_field()?
        {
            g.state_set = Some(ss);
        }
        if self.s.bool("Drawable::InitialBound")? {
            self.s.begin()?;
            let lo = self.s.vec3d("Drawable::InitialBound minimum")?;
            let hi = self.s.vec3d("Drawable::InitialBound maximum")?;
            self.s.end();
            g.initial_bound = Some((lo, hi));
        }
        self.object_field()?; // ComputeBoundingBoxCallback
        self.object_field()?; // Shape
        self.s.bool("Drawable::SupportsDisplayList")?;
        self.s.bool("Drawable::UseDisplayList")?;
        self.s.bool("Drawable::UseVertexBufferObjects")?;
        if v <= 155 {
            for _callback in ["UpdateCallback", "EventCallback", "CullCallback", "DrawCallback"] {
                self.object_field()?;
            }
        }
        if v >= 142 {
            g.node_mask = self.s.u32("Drawable::NodeMask")?;
        }
        if v >= 145 {
            self.s.bool("Drawable::CullingActive")?;
        }
        g.primitives = self.primitive_list()?;
        if v < 112 {
            g.vertices = self.array_data("Geometry::VertexData")?;
            g.normals = self.array_data("Geometry::NormalData")?;
            g.colors = self.array_data("Geometry::ColorData")?;
            g.secondary_colors = self.array_data("Geometry::SecondaryColorData")?;
            g.fog_coords = self.array_data("Geometry::FogCoordData")?;
            g.tex_coords = self.array_data_list("Geometry::TexCoordData")?;
            g.vertex_attribs = self.array_data_list("Geometry::VertexAttribData")?;
            self.s.bool("Geometry::FastPathHint")?; // nothing follows in binary
        } else {
            g.vertices = self.array_field("Geometry::VertexArray")?;
            g.normals = self.array_field("Geometry::NormalArray")?;
            g.colors = self.array_field("Geometry::ColorArray")?;
            g.secondary_colors = self.array_field("Geometry::SecondaryColorArray")?;
            g.fog_coords = self.array_field("Geometry::FogCoordArray")?;
            g.tex_coords = self.array_list("Geometry::TexCoordArrayList")?;
            g.vertex_attribs = self.array_list("Geometry::VertexAttribArrayList")?;
        }
        Ok(g)
    }

    /// `Geometry::PrimitiveSetList`: a vector serializer of primitive sets.
    fn primitive_list(&mut self) -> Res<Vec<PrimitiveSet>> {
        let at = self.s.pos();
        let n = self.s.u32("Geometry::PrimitiveSetList count")?;
        self.s.check_count(u64::from(n), 4, "Geometry::PrimitiveSetList", at)?;
        let mut out = Vec::new();
        for _ in 0..n {
            if self.version() < 112 {
                out.push(self.legacy_primitive()?);
                continue;
            }
            match self.read_object()? {
                None | Some(Obj { value: Parsed::Skipped, .. }) => {}
                Some(Obj { value: Parsed::Primitive(p), .. }) => out.push(p),
                Some(o) => return Err(self.s.error(o.at, format!("expected a primitive set, found `{}`", o.class))),
            }
        }
        Ok(out)
    }

    /// `InputStream::readPrimitiveSet` (streams before 112).
    fn legacy_primitive(&mut self) -> Res<PrimitiveSet> {
        let at = self.s.pos();
        let kind = self.s.i32("PrimitiveSet type")?;
        let mode = PrimitiveMode::from_gl(self.s.i32("PrimitiveSet mode")? as u32);
        let num_instances = if self.version() > 96 { self.s.u32("PrimitiveSet NumInstances")? } else { 0 };
        let primitive = match kind {
            50 => {
                Primitive::DrawArrays { first: self.s.i32("DrawArrays first")?, count: self.s.i32("DrawArrays count")? }
            }
            51 => {
                let first = self.s.i32("DrawArrayLengths first")?;
                let n = self.s.u32("DrawArrayLengths count")?;
                self.s.begin()?;
                let lengths = self.lengths(n)?;
                self.s.end();
                Primitive::DrawArrayLengths { first, lengths }
            }
            52..=54 => {
                let n = self.s.u32("DrawElements count")?;
                self.s.begin()?;
                let p = self.elements(kind - 52, n)?;
                self.s.end();
                p
            }
            k => return Err(self.s.error(at, format!("unknown primitive set type {k}"))),
        };
        Ok(PrimitiveSet { mode, num_instances, primitive })
    }

    /// DrawElements indices of width `U8`/`U16`/`U32` (0/1/2), widened.
    fn elements(&mut self, width: i32, n: u32) -> Res<Primitive> {
        let (scalar, width, what) = match width {
            0 => (Scalar::U8, IndexWidth::U8, "DrawElementsUByte"),
            1 => (Scalar::U16, IndexWidth::U16, "DrawElementsUShort"),
            _ => (Scalar::U32, IndexWidth::U32, "DrawElementsUInt"),
        };
        let (bytes, big) = self.component_bytes(scalar, n.into(), what)?;
        let indices: Arc<[u32]> = match width {
            IndexWidth::U8 => bytes.iter().map(|i| u32::from(*i)).collect(),
            IndexWidth::U16 => {
                decode(bytes, big, u16::from_le_bytes, u16::from_be_bytes).iter().map(|i| u32::from(*i)).collect()
            }
            IndexWidth::U32 => decode(bytes, big, u32::from_le_bytes, u32::from_be_bytes),
        };
        Ok(Primitive::DrawElements { width, indices })
    }

    /// `PrimitiveSet.cpp` objects (streams from 112).
    pub(super) fn primitive_object(&mut self, short: &str, _at: usize) -> Res<PrimitiveSet> {
        if self.version() >= 147 {
            self.object_field()?; // BufferData::BufferObject
        }
        let num_instances = self.s.i32("PrimitiveSet::NumInstances")?.max(0) as u32;
        let mode = PrimitiveMode::from_gl(self.s.i32("PrimitiveSet::Mode")? as u32);
        let primitive = match short {
            "DrawArrays" => Primitive::DrawArrays {
                first: self.s.i32("DrawArrays::First")?,
                count: self.s.i32("DrawArrays::Count")?,
            },
            "DrawArrayLengths" => {
                let first = self.s.i32("DrawArrayLengths::First")?;
                let n = self.s.u32("DrawArrayLengths count")?;
                Primitive::DrawArrayLengths { first, lengths: self.lengths(n)? }
            }
            _ => {
                let n = self.s.u32("DrawElements count")?;
                let width = match short {
                    "DrawElementsUByte" => 0,
                    "DrawElementsUShort" => 1,
                    _ => 2,
                };
                self.elements(width, n)?
            }
        };
        Ok(PrimitiveSet { mode, num_instances, primitive })
    }

    /// `Array.cpp` objects (streams from 112): BufferData (from 147), then
    /// Binding, Normalize, PreserveDataType, then the elements.
    pub(super) fn array_object(&mut self, short: &str, at: usize) -> Res<OsgbArray> {
        let Some((class, scalar, components)) = array_class(short) else {
            return Err(self.unsupported(at, &format!("array class `osg::{short}`")));
        };
        if self.version() >= 147 {
            self.object_field()?; // BufferData::BufferObject
        }
        let binding = Binding::from_i32(self.s.i32("Array::Binding")?);
        let normalize = self.s.bool("Array::Normalize")?;
        self.s.bool("Array::PreserveDataType")?;
        let n = self.s.u32("array size")?;
        let offset = self.s.pos();
        let values = self.values(scalar, u64::from(n) * components as u64, class)?;
        Ok(OsgbArray { class, components, values, binding, normalize, offset })
    }

    /// An object field that must be an array (streams from 112).
    fn array_field(&mut self, what: &str) -> Res<Option<OsgbArray>> {
        match self.object_field()? {
            None => Ok(None),
            Some(o) => self.as_array(o, what),
        }
    }

    fn as_array(&self, o: Obj, what: &str) -> Res<Option<OsgbArray>> {
        match o.value {
            Parsed::Array(a) => Ok(Some(a)),
            Parsed::Skipped => Ok(None),
            _ => Err(self.s.error(o.at, format!("{what}: expected an array, found `{}`", o.class))),
        }
    }

    /// A vector serializer of arrays (streams from 112); NULL entries stay.
    fn array_list(&mut self, what: &str) -> Res<Vec<Option<OsgbArray>>> {
        let at = self.s.pos();
        let n = self.s.u32(what)?;
        self.s.check_count(u64::from(n), 4, what, at)?;
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(match self.read_object()? {
                None => None,
                Some(o) => self.as_array(o, what)?,
            });
        }
        Ok(out)
    }

    /// `ADD_ARRAYDATA_FUNCTIONS` (streams before 112): user serializer,
    /// `BEGIN_BRACKET`, Geometry.cpp's `readArray`, `END_BRACKET`.
    fn array_data(&mut self, what: &str) -> Res<Option<OsgbArray>> {
        if !self.s.bool(what)? {
            return Ok(None);
        }
        self.s.begin()?;
        let a = self.array_record(what)?;
        self.s.end();
        Ok(a)
    }

    /// `ADD_ARRAYLIST_FUNCTIONS` (streams before 112).
    fn array_data_list(&mut self, what: &str) -> Res<Vec<Option<OsgbArray>>> {
        if !self.s.bool(what)? {
            return Ok(Vec::new());
        }
        let at = self.s.pos();
        let n = self.s.u32(what)?;
        self.s.check_count(u64::from(n), 10, what, at)?;
        self.s.begin()?;
        let mut out = Vec::new();
        for _ in 0..n {
            self.s.begin()?;
            out.push(self.array_record(what)?);
            self.s.end();
        }
        self.s.end();
        Ok(out)
    }

    /// Geometry.cpp's `readArray`: Array, Indices, Binding, Normalize.
    fn array_record(&mut self, what: &str) -> Res<Option<OsgbArray>> {
        let mut array = None;
        if self.s.bool("array present")? {
            array = Some(self.legacy_array(what)?);
        }
        let at = self.s.pos();
        if self.s.bool("array indices present")? {
            return Err(
                self.unsupported(at, &format!("{what}: per-attribute index arrays (deprecated before OSG 3.2)"))
            );
        }
        let binding = Binding::from_i32(self.s.i32("array binding")?);
        let normalize = self.s.i32("array normalize")? != 0;
        Ok(array.map(|a| OsgbArray { binding, normalize, ..a }))
    }

    /// `InputStream::readArray`: ArrayID (shortcut for ids seen before),
    /// type number, `i32` size, bracketed components.
    fn legacy_array(&mut self, what: &str) -> Res<OsgbArray> {
        let at = self.s.pos();
        let id = self.s.u32("ArrayID")?;
        if let Some(a) = self.arrays.get(&id).cloned() {
            self.charge(1, at)?;
            self.step_over_definition(at);
            return Ok(a);
        }
        let type_at = self.s.pos();
        let kind = self.s.i32("array type")?;
        let Some(&(_, class, scalar, components)) = ARRAYS.iter().find(|a| a.0 == kind) else {
            return Err(self.s.error(type_at, format!("{what}: unknown array type {kind}")));
        };
        let size_at = self.s.pos();
        let n = self.s.i32("array size")?;
        if n < 0 {
            return Err(self.s.error(size_at, format!("{what}: negative array size {n}")));
        }
        self.s.begin()?;
        let offset = self.s.pos();
        let values = self.values(scalar, n as u64 * components as u64, class)?;
        self.s.end();
        let a = OsgbArray { class, components, values, binding: Binding::Undefined, normalize: false, offset };
        self.charge(1, at)?;
        self.mark_end(at);
        self.arrays.insert(id, a.clone());
        Ok(a)
    }
}
