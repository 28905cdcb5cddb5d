//! `osg::Geometry` as plain data: vertex arrays, primitive sets, and their
//! expansion to triangles (reading them is `geometry_read`'s job).

use std::sync::Arc;

use glam::DVec3;

use super::UserData;
use super::state::StateSet;
use crate::FormatError;

/// The values of an array, component by component (a Vec3Array of n
/// elements holds 3n `f32`s).
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayValues {
    I8(Arc<[i8]>),
    U8(Arc<[u8]>),
    I16(Arc<[i16]>),
    U16(Arc<[u16]>),
    I32(Arc<[i32]>),
    U32(Arc<[u32]>),
    F32(Arc<[f32]>),
    F64(Arc<[f64]>),
}

impl ArrayValues {
    /// The number of components.
    pub fn len(&self) -> usize {
        match self {
            ArrayValues::I8(v) => v.len(),
            ArrayValues::U8(v) => v.len(),
            ArrayValues::I16(v) => v.len(),
            ArrayValues::U16(v) => v.len(),
            ArrayValues::I32(v) => v.len(),
            ArrayValues::U32(v) => v.len(),
            ArrayValues::F32(v) => v.len(),
            ArrayValues::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How an array maps onto the geometry (`osg::Array::Binding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Undefined,
    Off,
    Overall,
    PerPrimitiveSet,
    /// Deprecated (streams before 112).
    PerPrimitive,
    PerVertex,
    Other(i32),
}

impl Binding {
    pub(super) fn from_i32(v: i32) -> Self {
        match v {
            -1 => Binding::Undefined,
            0 => Binding::Off,
            1 => Binding::Overall,
            2 => Binding::PerPrimitiveSet,
            3 => Binding::PerPrimitive,
            4 => Binding::PerVertex,
            v => Binding::Other(v),
        }
    }
}

/// An `osg::*Array`.
#[derive(Debug, Clone, PartialEq)]
pub struct OsgbArray {
    /// The class, e.g. `osg::Vec3Array` (f32 × 3) or `osg::Vec3dArray`.
    pub class: &'static str,
    /// Components per element (1–4).
    pub components: usize,
    pub values: ArrayValues,
    pub binding: Binding,
    pub normalize: bool,
    /// Byte offset of the first value in the file.
    pub offset: usize,
}

impl OsgbArray {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.values.len() / self.components
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// 3-component `f32` / `f64` arrays as f64 vectors.
    pub fn to_dvec3(&self) -> Option<Vec<DVec3>> {
        if self.components != 3 {
            return None;
        }
        match &self.values {
            ArrayValues::F32(v) => {
                Some(v.chunks_exact(3).map(|c| DVec3::new(c[0].into(), c[1].into(), c[2].into())).collect())
            }
            ArrayValues::F64(v) => Some(v.chunks_exact(3).map(|c| DVec3::new(c[0], c[1], c[2])).collect()),
            _ => None,
        }
    }

    /// 2-component `f32` / `f64` arrays (texture coordinates).
    pub fn to_vec2(&self) -> Option<Vec<[f32; 2]>> {
        if self.components != 2 {
            return None;
        }
        match &self.values {
            ArrayValues::F32(v) => Some(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect()),
            ArrayValues::F64(v) => Some(v.chunks_exact(2).map(|c| [c[0] as f32, c[1] as f32]).collect()),
            _ => None,
        }
    }

    /// Colours as RGBA `f32`: Vec4 / Vec3 (alpha 1) floats, or Vec4ub /
    /// Vec3ub scaled from 0–255.
    pub fn to_rgba(&self) -> Option<Vec<[f32; 4]>> {
        let n = self.components;
        if n != 3 && n != 4 {
            return None;
        }
        let comps: Vec<f32> = match &self.values {
            ArrayValues::F32(v) => v.to_vec(),
            ArrayValues::F64(v) => v.iter().map(|x| *x as f32).collect(),
            ArrayValues::U8(v) => v.iter().map(|x| f32::from(*x) / 255.0).collect(),
            _ => return None,
        };
        Some(comps.chunks_exact(n).map(|c| [c[0], c[1], c[2], if n == 4 { c[3] } else { 1.0 }]).collect())
    }
}

/// A primitive set's mode (the OpenGL primitive type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimitiveMode {
    Points,
    Lines,
    LineLoop,
    LineStrip,
    Triangles,
    TriangleStrip,
    TriangleFan,
    Quads,
    QuadStrip,
    Polygon,
    LinesAdjacency,
    LineStripAdjacency,
    TrianglesAdjacency,
    TriangleStripAdjacency,
    Patches,
    Other(u32),
}

impl PrimitiveMode {
    pub fn from_gl(v: u32) -> Self {
        use PrimitiveMode::*;
        const MODES: [PrimitiveMode; 15] = [
            Points,
            Lines,
            LineLoop,
            LineStrip,
            Triangles,
            TriangleStrip,
            TriangleFan,
            Quads,
            QuadStrip,
            Polygon,
            LinesAdjacency,
            LineStripAdjacency,
            TrianglesAdjacency,
            TriangleStripAdjacency,
            Patches,
        ];
        MODES.get(v as usize).copied().unwrap_or(Other(v))
    }
}

/// The stored width of a DrawElements' indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexWidth {
    U8,
    U16,
    U32,
}

/// What a primitive set draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Primitive {
    /// `osg::DrawArrays`: vertices `first .. first + count`.
    DrawArrays { first: i32, count: i32 },
    /// `osg::DrawArrayLengths`: consecutive runs of these lengths from `first`,
    /// each a separate primitive (strip, fan, polygon…).
    DrawArrayLengths { first: i32, lengths: Arc<[i32]> },
    /// `osg::DrawElementsUByte / UShort / UInt`, widened to `u32`.
    DrawElements { width: IndexWidth, indices: Arc<[u32]> },
}

/// An `osg::PrimitiveSet`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimitiveSet {
    pub mode: PrimitiveMode,
    pub num_instances: u32,
    pub primitive: Primitive,
}

/// An `osg::Geometry`.
#[derive(Debug, Clone, Default)]
pub struct Geometry {
    pub name: String,
    /// The file this came from and the byte offset of the object (for errors).
    pub path: String,
    pub offset: usize,
    pub node_mask: u32,
    pub state_set: Option<StateSet>,
    pub user_data: UserData,
    /// `Drawable::InitialBound` (min, max), when set.
    pub initial_bound: Option<(DVec3, DVec3)>,
    pub primitives: Vec<PrimitiveSet>,
    pub vertices: Option<OsgbArray>,
    pub normals: Option<OsgbArray>,
    pub colors: Option<OsgbArray>,
    pub secondary_colors: Option<OsgbArray>,
    pub fog_coords: Option<OsgbArray>,
    /// Per texture unit (`None` for a unit without coordinates).
    pub tex_coords: Vec<Option<OsgbArray>>,
    pub vertex_attribs: Vec<Option<OsgbArray>>,
}

impl Geometry {
    pub fn vertex_count(&self) -> usize {
        self.vertices.as_ref().map_or(0, OsgbArray::len)
    }

    /// The vertices as f64 (from a Vec3Array or Vec3dArray).
    pub fn positions(&self) -> Option<Vec<DVec3>> {
        self.vertices.as_ref()?.to_dvec3()
    }

    /// The texture coordinates of a unit, when they are 2D.
    pub fn tex_coords(&self, unit: usize) -> Option<Vec<[f32; 2]>> {
        self.tex_coords.get(unit)?.as_ref()?.to_vec2()
    }

    fn error(&self, set: usize, msg: impl Into<String>) -> FormatError {
        FormatError::Field {
            path: self.path.clone(),
            field: format!("geometry `{}` at byte {}, primitive set {set}", self.name, self.offset),
            msg: msg.into(),
        }
    }

    /// Every triangle of the surface primitive sets (triangles, strips,
    /// fans, quads, quad strips, polygons), with OpenSceneGraph's winding
    /// (`osg::TriangleIndexFunctor`). Degenerate triangles of strips and
    /// fans (two equal indices, used to join strips) are dropped; points
    /// and lines give none. Indices and ranges outside the vertex array,
    /// and negative counts, are errors.
    pub fn triangles(&self) -> Result<Vec<[u32; 3]>, FormatError> {
        let n = self.vertex_count();
        // A DrawArrays names many vertices in a few bytes: before allocating,
        // cap the output by what the stored vertices and indices can make.
        let (mut bound, mut elements) = (0u64, 0u64);
        for p in &self.primitives {
            match &p.primitive {
                Primitive::DrawArrays { count, .. } => bound += (*count).max(0) as u64,
                Primitive::DrawArrayLengths { lengths, .. } => {
                    bound += lengths.iter().map(|l| (*l).max(0) as u64).sum::<u64>();
                }
                Primitive::DrawElements { indices, .. } => {
                    bound += indices.len() as u64;
                    elements += indices.len() as u64;
                }
            }
        }
        let cap = 16 * (n as u64 + elements) + 16;
        if bound > cap {
            return Err(self.error(0, format!("the primitive sets name {bound} vertices, far beyond the {n} stored")));
        }
        let mut out = Vec::with_capacity(bound as usize);
        for (k, p) in self.primitives.iter().enumerate() {
            for run in self.runs(k, p, n)? {
                expand(p.mode, &run, &mut out).map_err(|m| self.error(k, m))?;
            }
        }
        Ok(out)
    }

    /// The index runs of a primitive set, checked against the vertex count.
    fn runs(&self, k: usize, p: &PrimitiveSet, n: usize) -> Result<Vec<Vec<u32>>, FormatError> {
        let range = |first: i64, count: i64| -> Result<Vec<u32>, FormatError> {
            if first < 0 || count < 0 || first + count > n as i64 {
                return Err(self.error(k, format!("vertices {first}..{} outside the {n} stored", first + count)));
            }
            Ok((first as u32..(first + count) as u32).collect())
        };
        match &p.primitive {
            Primitive::DrawArrays { first, count } => Ok(vec![range((*first).into(), (*count).into())?]),
            Primitive::DrawArrayLengths { first, lengths } => {
                let mut at = i64::from(*first);
                let mut runs = Vec::with_capacity(lengths.len());
                for l in lengths.iter() {
                    runs.push(range(at, (*l).into())?);
                    at += i64::from(*l);
                }
                Ok(runs)
            }
            Primitive::DrawElements { indices, .. } => {
                if let Some((i, bad)) = indices.iter().enumerate().find(|(_, v)| **v as usize >= n) {
                    return Err(self.error(k, format!("index {bad} (element {i}) is outside the {n} vertices")));
                }
                Ok(vec![indices.to_vec()])
            }
        }
    }
}

/// Appends the triangles of one run of indices.
fn expand(mode: PrimitiveMode, r: &[u32], out: &mut Vec<[u32; 3]>) -> Result<(), String> {
    use PrimitiveMode::*;
    let mut push_nondegenerate = |t: [u32; 3]| {
        if t[0] != t[1] && t[1] != t[2] && t[0] != t[2] {
            out.push(t);
        }
    };
    match mode {
        Triangles => out.extend(r.chunks_exact(3).map(|c| [c[0], c[1], c[2]])),
        TriangleStrip => {
            for i in 2..r.len() {
                push_nondegenerate(if i % 2 == 1 { [r[i - 2], r[i], r[i - 1]] } else { [r[i - 2], r[i - 1], r[i]] });
            }
        }
        TriangleFan | Polygon => {
            for i in 2..r.len() {
                push_nondegenerate([r[0], r[i - 1], r[i]]);
            }
        }
        Quads => {
            for q in r.chunks_exact(4) {
                out.push([q[0], q[1], q[2]]);
                out.push([q[0], q[2], q[3]]);
            }
        }
        QuadStrip => {
            for i in (3..r.len()).step_by(2) {
                push_nondegenerate([r[i - 3], r[i - 2], r[i - 1]]);
                push_nondegenerate([r[i - 2], r[i], r[i - 1]]);
            }
        }
        TrianglesAdjacency => out.extend(r.chunks_exact(6).map(|c| [c[0], c[2], c[4]])),
        Points | Lines | LineLoop | LineStrip | LinesAdjacency | LineStripAdjacency | Patches => {}
        TriangleStripAdjacency | Other(_) => return Err(format!("cannot expand primitive mode {mode:?} to triangles")),
    }
    Ok(())
}
