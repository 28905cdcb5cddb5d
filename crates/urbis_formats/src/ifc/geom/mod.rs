//! IFC geometry: representation items → closed triangle solids in the
//! product's local frame (project length units; the caller scales to metres).
//!
//! ```text
//! IfcShapeRepresentation items ─► items.rs (dispatch, face sets, breps, mapped items)
//!      profiles / curves ─► curve.rs ─► solid.rs (extrude, revolve, sweep, CSG primitives)
//!      IfcBooleanResult ─► solid.rs (boolmesh booleans on closed solids)
//! ```
//!
//! Every reference is resolved through [`Ctx`], which bounds recursion
//! (cycles in hostile files end as errors naming the `#id`) and the total
//! triangle count (a budget proportional to the file size).

mod curve;
mod items;
mod solid;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use glam::{DMat4, DVec2, DVec3, DVec4};

pub use solid::Solid;

use super::step::{Instance, StepFile, Value};

/// Deepest chain of references followed while building one item.
const MAX_DEPTH: usize = 64;

/// Why an item gave no geometry.
#[derive(Debug, Clone, PartialEq)]
pub enum GeomError {
    /// A type Urbis does not turn into geometry.
    Unsupported { id: u64, kind: String },
    /// Malformed data, with what is wrong.
    Invalid { id: u64, kind: String, msg: String },
    /// The file's triangle budget is spent.
    Budget,
}

impl std::fmt::Display for GeomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeomError::Unsupported { id, kind } => write!(f, "#{id} {kind}: unsupported geometry, skipped"),
            GeomError::Invalid { id, kind, msg } => write!(f, "#{id} {kind}: {msg}"),
            GeomError::Budget => f.write_str("triangle budget for this file spent; further geometry skipped"),
        }
    }
}

pub(crate) type GResult<T> = Result<T, GeomError>;

/// Resolves references and tracks the budget while geometry is built.
pub(crate) struct Ctx<'a> {
    pub file: &'a StepFile,
    /// Radians per plane angle unit.
    pub angle_unit: f64,
    /// Triangles that may still be produced (shared by every worker).
    budget: &'a AtomicUsize,
    placements: HashMap<u64, DMat4>,
    items: HashMap<u64, Solid>,
    /// Items built for the current product (for looking up their styles).
    pub visited: Vec<u64>,
}

pub(crate) fn invalid(i: &Instance, msg: impl Into<String>) -> GeomError {
    GeomError::Invalid { id: i.id, kind: i.kind.clone(), msg: msg.into() }
}

pub(crate) fn unsupported(i: &Instance) -> GeomError {
    GeomError::Unsupported { id: i.id, kind: i.kind.clone() }
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a StepFile, angle_unit: f64, budget: &'a AtomicUsize) -> Self {
        Self { file, angle_unit, budget, placements: HashMap::new(), items: HashMap::new(), visited: Vec::new() }
    }

    /// The instance a reference argument points to.
    pub fn deref(&self, from: &Instance, v: &Value) -> GResult<&'a Instance> {
        let id = v.as_ref_id().ok_or_else(|| invalid(from, format!("expected a reference, found {v:?}")))?;
        self.file.get(id).ok_or_else(|| invalid(from, format!("dangling reference #{id}")))
    }

    /// Like [`Ctx::deref`] for an optional argument.
    pub fn deref_opt(&self, from: &Instance, v: &Value) -> GResult<Option<&'a Instance>> {
        if v.is_null() { Ok(None) } else { self.deref(from, v).map(Some) }
    }

    pub fn check_depth(&self, i: &Instance, depth: usize) -> GResult<()> {
        if depth > MAX_DEPTH {
            Err(invalid(i, format!("references nested deeper than {MAX_DEPTH} (a cycle?)")))
        } else {
            Ok(())
        }
    }

    pub fn number(&self, i: &Instance, at: usize) -> GResult<f64> {
        i.arg(at)
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| invalid(i, format!("argument {} is not a finite number", at + 1)))
    }

    pub fn number_or(&self, i: &Instance, at: usize, default: f64) -> GResult<f64> {
        if i.arg(at).is_null() { Ok(default) } else { self.number(i, at) }
    }

    /// Charges `n` triangles against the budget.
    pub fn spend(&mut self, n: usize) -> GResult<()> {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(n))
            .map(|_| ())
            .map_err(|_| GeomError::Budget)
    }

    /// Coordinates of a list of numbers (2 or 3), z = 0 for 2D.
    pub fn coords(&self, i: &Instance, v: &Value) -> GResult<DVec3> {
        let l = v.as_list().ok_or_else(|| invalid(i, "coordinates are not a list"))?;
        let c: Vec<f64> = l
            .iter()
            .map(|x| x.as_f64().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid(i, "a coordinate is not a finite number"))?;
        match c.as_slice() {
            [x, y] => Ok(DVec3::new(*x, *y, 0.0)),
            [x, y, z] => Ok(DVec3::new(*x, *y, *z)),
            _ => Err(invalid(i, format!("{} coordinates, expected 2 or 3", c.len()))),
        }
    }

    /// An IfcCartesianPoint.
    pub fn point(&self, from: &Instance, v: &Value) -> GResult<DVec3> {
        let p = self.deref(from, v)?;
        if p.kind != "IFCCARTESIANPOINT" {
            return Err(invalid(p, "expected IFCCARTESIANPOINT"));
        }
        self.coords(p, p.arg(0))
    }

    /// An IfcDirection (normalised), or `default` when not given.
    pub fn direction(&self, from: &Instance, v: &Value, default: DVec3) -> GResult<DVec3> {
        let Some(d) = self.deref_opt(from, v)? else { return Ok(default) };
        if d.kind != "IFCDIRECTION" {
            return Err(invalid(d, "expected IFCDIRECTION"));
        }
        let dir = self.coords(d, d.arg(0))?;
        dir.try_normalize().ok_or_else(|| invalid(d, "zero-length direction"))
    }

    /// IfcAxis2Placement2D / 3D (or IfcAxis1Placement) as a matrix.
    pub fn axis_placement(&self, from: &Instance, v: &Value) -> GResult<DMat4> {
        let Some(a) = self.deref_opt(from, v)? else { return Ok(DMat4::IDENTITY) };
        let origin = self.point(a, a.arg(0))?;
        let (z, x) = match a.kind.as_str() {
            "IFCAXIS2PLACEMENT3D" => (self.direction(a, a.arg(1), DVec3::Z)?, self.direction(a, a.arg(2), DVec3::X)?),
            "IFCAXIS2PLACEMENT2D" => (DVec3::Z, self.direction(a, a.arg(1), DVec3::X)?),
            "IFCAXIS1PLACEMENT" => {
                let z = self.direction(a, a.arg(1), DVec3::Z)?;
                (z, z.any_orthonormal_vector())
            }
            _ => return Err(invalid(a, "expected an IFCAXIS2PLACEMENT")),
        };
        Ok(frame(origin, z, x))
    }

    /// An IfcObjectPlacement chain (IfcLocalPlacement) in project coordinates.
    pub fn object_placement(&mut self, from: &Instance, id: u64, depth: usize) -> GResult<DMat4> {
        if let Some(m) = self.placements.get(&id) {
            return Ok(*m);
        }
        let p = self.file.get(id).ok_or_else(|| invalid(from, format!("dangling placement reference #{id}")))?;
        self.check_depth(p, depth)?;
        let m = match p.kind.as_str() {
            "IFCLOCALPLACEMENT" => {
                let parent = match p.arg(0).as_ref_id() {
                    Some(r) => self.object_placement(p, r, depth + 1)?,
                    None => DMat4::IDENTITY,
                };
                parent * self.axis_placement(p, p.arg(1))?
            }
            // Not allowed by the schema as PlacementRelTo, but written by
            // hand-made files meaning "relative to this axis placement".
            "IFCAXIS2PLACEMENT3D" | "IFCAXIS2PLACEMENT2D" => self.axis_placement(p, &Value::Ref(p.id))?,
            _ => return Err(unsupported(p)),
        };
        self.placements.insert(id, m);
        Ok(m)
    }

    /// IfcCartesianTransformationOperator2D / 3D (uniform or not).
    pub fn transform_operator(&self, from: &Instance, v: &Value) -> GResult<DMat4> {
        let t = self.deref(from, v)?;
        let three_d = t.kind.starts_with("IFCCARTESIANTRANSFORMATIONOPERATOR3D");
        let two_d = t.kind.starts_with("IFCCARTESIANTRANSFORMATIONOPERATOR2D");
        if !three_d && !two_d {
            return Err(invalid(t, "expected an IFCCARTESIANTRANSFORMATIONOPERATOR"));
        }
        let origin = self.point(t, t.arg(2))?;
        let s = self.number_or(t, 3, 1.0)?;
        let nonuniform = t.kind.ends_with("NONUNIFORM");
        let (z, x, y_given) = if three_d {
            let z = self.direction(t, t.arg(4), DVec3::Z)?;
            (z, self.direction(t, t.arg(0), DVec3::X)?, self.direction(t, t.arg(1), DVec3::ZERO)?)
        } else {
            (DVec3::Z, self.direction(t, t.arg(0), DVec3::X)?, self.direction(t, t.arg(1), DVec3::ZERO)?)
        };
        let mut m = frame(origin, z, x);
        // A given Axis2 only decides the handedness of y (IfcBaseAxis).
        if y_given != DVec3::ZERO && y_given.dot(m.y_axis.truncate()) < 0.0 {
            m.y_axis = -m.y_axis;
        }
        let (s2, s3) = if nonuniform {
            (self.number_or(t, if three_d { 5 } else { 4 }, s)?, if three_d { self.number_or(t, 6, s)? } else { 1.0 })
        } else {
            (s, if three_d { s } else { 1.0 })
        };
        Ok(m * DMat4::from_scale(DVec3::new(s, s2, s3)))
    }

    pub fn cached_item(&self, id: u64) -> Option<&Solid> {
        self.items.get(&id)
    }

    pub fn cache_item(&mut self, id: u64, s: &Solid) {
        self.items.insert(id, s.clone());
    }
}

/// A right-handed frame from an origin, a z axis and a (not necessarily
/// orthogonal) x direction.
pub(crate) fn frame(origin: DVec3, z: DVec3, x: DVec3) -> DMat4 {
    let z = z.try_normalize().unwrap_or(DVec3::Z);
    let mut x = x - z * x.dot(z);
    if x.length_squared() < 1e-12 {
        x = z.any_orthonormal_vector();
    }
    let x = x.normalize();
    let y = z.cross(x);
    DMat4::from_cols(x.extend(0.0), y.extend(0.0), z.extend(0.0), DVec4::new(origin.x, origin.y, origin.z, 1.0))
}

/// Builds the body of a product: its 'Body' representation (or the only
/// geometric one) as one solid in the product's frame.
pub(crate) fn product_shape(ctx: &mut Ctx, shape: &Instance) -> (Option<Solid>, Vec<GeomError>) {
    items::product_shape(ctx, shape)
}

/// A closed 2D profile: outer rings with their holes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    pub regions: Vec<Region>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Region {
    pub outer: Vec<DVec2>,
    pub holes: Vec<Vec<DVec2>>,
}

pub(crate) use solid::{BoolOp, boolean};
