//! Representation items → solids: swept areas, CSG, tessellations, breps,
//! mapped items and booleans with half-spaces.

use glam::{DMat4, DVec3};

use super::curve::{curve_points, profile};
use super::solid::{self, BoolOp, Solid};
use super::{Ctx, GResult, GeomError, invalid, unsupported};
use crate::ifc::step::{Instance, Value};
use crate::triangulate::polygon_with_holes;

/// Representation identifiers that never describe the body.
const NOT_BODY: [&str; 8] = ["AXIS", "FOOTPRINT", "BOX", "ANNOTATION", "PROFILE", "CLEARANCE", "REFERENCE", "COG"];

/// The product's body: its 'Body' representation, else any other
/// geometric one that gives triangles.
pub(crate) fn product_shape(ctx: &mut Ctx, shape: &Instance) -> (Option<Solid>, Vec<GeomError>) {
    let mut errors = Vec::new();
    let Some(reps) = shape.arg(2).as_list() else {
        errors.push(invalid(shape, "Representations is not a list"));
        return (None, errors);
    };
    let mut candidates: Vec<(u8, &Instance)> = Vec::new();
    for r in reps {
        match ctx.deref(shape, r) {
            Ok(rep) => {
                let ident = rep.arg(1).as_str().unwrap_or("").to_ascii_uppercase();
                if NOT_BODY.contains(&ident.as_str()) {
                    continue;
                }
                candidates.push((u8::from(ident != "BODY"), rep));
            }
            Err(e) => errors.push(e),
        }
    }
    candidates.sort_by_key(|c| c.0);
    for (_, rep) in candidates {
        let solid = representation(ctx, rep, 0, &mut errors);
        if !solid.is_empty() {
            return (Some(solid), errors);
        }
        if matches!(errors.last(), Some(GeomError::Budget)) {
            break;
        }
    }
    (None, errors)
}

/// Every item of an IfcShapeRepresentation, appended; failures go to `errors`.
fn representation(ctx: &mut Ctx, rep: &Instance, depth: usize, errors: &mut Vec<GeomError>) -> Solid {
    let mut out = Solid::default();
    if let Err(e) = ctx.check_depth(rep, depth) {
        errors.push(e);
        return out;
    }
    for it in rep.arg(3).as_list().unwrap_or_default() {
        match ctx.deref(rep, it).and_then(|i| item(ctx, i, depth + 1, errors)) {
            Ok(s) => out.append(&s),
            Err(e) => errors.push(e),
        }
    }
    out
}

/// One representation item in its representation's frame.
pub(crate) fn item(ctx: &mut Ctx, i: &Instance, depth: usize, errors: &mut Vec<GeomError>) -> GResult<Solid> {
    ctx.check_depth(i, depth)?;
    if let Some(s) = ctx.cached_item(i.id) {
        let s = s.clone();
        ctx.spend(s.triangles.len())?;
        ctx.visited.push(i.id);
        return Ok(s);
    }
    let s = build(ctx, i, depth, errors)?;
    ctx.spend(s.triangles.len())?;
    ctx.visited.push(i.id);
    ctx.cache_item(i.id, &s);
    Ok(s)
}

fn positive(ctx: &Ctx, i: &Instance, at: usize) -> GResult<f64> {
    let x = ctx.number(i, at)?;
    if x > 0.0 { Ok(x) } else { Err(invalid(i, format!("argument {} must be positive, is {x}", at + 1))) }
}

fn placed(ctx: &Ctx, i: &Instance, at: usize, mut s: Solid) -> GResult<Solid> {
    s.transform(&ctx.axis_placement(i, i.arg(at))?);
    Ok(s)
}

fn build(ctx: &mut Ctx, i: &Instance, depth: usize, errors: &mut Vec<GeomError>) -> GResult<Solid> {
    match i.kind.as_str() {
        "IFCEXTRUDEDAREASOLID" => {
            let prof = profile(ctx, ctx.deref(i, i.arg(0))?, depth + 1)?;
            let dir = ctx.direction(i, i.arg(2), DVec3::Z)?;
            if dir.z.abs() < 1e-9 {
                return Err(invalid(i, "extrusion direction lies in the profile plane"));
            }
            placed(ctx, i, 1, solid::extrude(&prof, dir, positive(ctx, i, 3)?))
        }
        "IFCREVOLVEDAREASOLID" => {
            let prof = profile(ctx, ctx.deref(i, i.arg(0))?, depth + 1)?;
            let axis = ctx.deref(i, i.arg(2))?;
            let origin = ctx.point(axis, axis.arg(0))?;
            let dir = ctx.direction(axis, axis.arg(1), DVec3::Y)?;
            let angle = ctx.number(i, 3)? * ctx.angle_unit;
            if angle.abs() < 1e-9 {
                return Err(invalid(i, "zero revolution angle"));
            }
            placed(ctx, i, 1, solid::revolve(&prof, origin, dir, angle))
        }
        "IFCTRIANGULATEDFACESET" | "IFCTRIANGULATEDIRREGULARNETWORK" => triangulated_face_set(ctx, i),
        "IFCPOLYGONALFACESET" => polygonal_face_set(ctx, i),
        "IFCFACETEDBREP" | "IFCFACETEDBREPWITHVOIDS" => {
            let mut s = shell(ctx, ctx.deref(i, i.arg(0))?)?;
            if i.kind == "IFCFACETEDBREPWITHVOIDS" {
                for v in i.arg(1).as_list().unwrap_or_default() {
                    let mut void = shell(ctx, ctx.deref(i, v)?)?;
                    void.flip();
                    s.append(&void);
                }
            }
            Ok(s)
        }
        "IFCSHELLBASEDSURFACEMODEL" | "IFCFACEBASEDSURFACEMODEL" => {
            let mut s = Solid::default();
            for sh in i.arg(0).as_list().unwrap_or_default() {
                s.append(&shell(ctx, ctx.deref(i, sh)?)?);
            }
            Ok(s)
        }
        "IFCCLOSEDSHELL" | "IFCOPENSHELL" | "IFCCONNECTEDFACESET" => shell(ctx, i),
        "IFCMAPPEDITEM" => {
            let source = ctx.deref(i, i.arg(0))?;
            if source.kind != "IFCREPRESENTATIONMAP" {
                return Err(invalid(source, "expected IFCREPRESENTATIONMAP"));
            }
            let origin = ctx.axis_placement(source, source.arg(0))?;
            let target = ctx.transform_operator(i, i.arg(1))?;
            let rep = ctx.deref(source, source.arg(1))?;
            let mut s = representation(ctx, rep, depth + 1, errors);
            s.transform(&(target * origin));
            Ok(s)
        }
        "IFCBOOLEANRESULT" | "IFCBOOLEANCLIPPINGRESULT" => boolean_result(ctx, i, depth, errors),
        "IFCCSGSOLID" => item(ctx, ctx.deref(i, i.arg(0))?, depth + 1, errors),
        "IFCBLOCK" => {
            let b = solid::block(positive(ctx, i, 1)?, positive(ctx, i, 2)?, positive(ctx, i, 3)?);
            placed(ctx, i, 0, b)
        }
        "IFCRECTANGULARPYRAMID" => {
            let p = solid::pyramid(positive(ctx, i, 1)?, positive(ctx, i, 2)?, positive(ctx, i, 3)?);
            placed(ctx, i, 0, p)
        }
        "IFCRIGHTCIRCULARCYLINDER" => placed(ctx, i, 0, solid::cylinder(positive(ctx, i, 1)?, positive(ctx, i, 2)?)),
        "IFCRIGHTCIRCULARCONE" => placed(ctx, i, 0, solid::cone(positive(ctx, i, 1)?, positive(ctx, i, 2)?)),
        "IFCSPHERE" => placed(ctx, i, 0, solid::sphere(positive(ctx, i, 1)?)),
        "IFCSWEPTDISKSOLID" | "IFCSWEPTDISKSOLIDPOLYGONAL" => {
            let path = curve_points(ctx, ctx.deref(i, i.arg(0))?, depth + 1)?;
            let inner = if i.arg(2).is_null() { None } else { Some(ctx.number(i, 2)?) };
            solid::swept_disk(&path, positive(ctx, i, 1)?, inner)
                .ok_or_else(|| invalid(i, "directrix has fewer than two points"))
        }
        _ => Err(unsupported(i)),
    }
}

/// 1-based index lists → 0-based, checked against `n` points.
fn index_lists(i: &Instance, v: &Value, n: usize, pn: Option<&[usize]>) -> GResult<Vec<Vec<usize>>> {
    let lists = v.as_list().ok_or_else(|| invalid(i, "an index list is not a list"))?;
    lists
        .iter()
        .map(|l| {
            l.as_list()
                .ok_or_else(|| invalid(i, "an index entry is not a list"))?
                .iter()
                .map(|x| {
                    let k = x
                        .as_int()
                        .filter(|&k| k >= 1)
                        .ok_or_else(|| invalid(i, "an index is not a positive integer"))?
                        as usize
                        - 1;
                    let k = match pn {
                        Some(pn) => *pn.get(k).ok_or_else(|| invalid(i, format!("PnIndex has no entry {}", k + 1)))?,
                        None => k,
                    };
                    if k < n { Ok(k) } else { Err(invalid(i, format!("index {} out of range ({n} points)", k + 1))) }
                })
                .collect()
        })
        .collect()
}

fn point_list(ctx: &Ctx, i: &Instance) -> GResult<Vec<DVec3>> {
    let l = ctx.deref(i, i.arg(0))?;
    let coords = l.arg(0).as_list().ok_or_else(|| invalid(l, "CoordList is not a list"))?;
    coords.iter().map(|c| ctx.coords(l, c)).collect()
}

/// PnIndex (a flat list of 1-based point indices), when given.
fn pn_index(i: &Instance, at: usize) -> GResult<Option<Vec<usize>>> {
    let Some(l) = i.arg(at).as_list() else { return Ok(None) };
    if l.first().is_some_and(|x| x.as_list().is_some()) {
        return Ok(None); // a list of lists is not PnIndex
    }
    l.iter()
        .map(|x| x.as_int().filter(|&k| k >= 1).map(|k| k as usize - 1).ok_or_else(|| invalid(i, "bad PnIndex entry")))
        .collect::<GResult<Vec<_>>>()
        .map(Some)
}

fn triangulated_face_set(ctx: &Ctx, i: &Instance) -> GResult<Solid> {
    let positions = point_list(ctx, i)?;
    // CoordIndex is the argument holding a list of index triples (its
    // position differs between IFC4 and IFC4.3).
    let at = (1..i.args.len())
        .find(|&k| {
            i.arg(k).as_list().is_some_and(|l| {
                !l.is_empty()
                    && l.iter()
                        .all(|t| t.as_list().is_some_and(|t| t.len() == 3 && t.iter().all(|x| x.as_int().is_some())))
            })
        })
        .ok_or_else(|| invalid(i, "no CoordIndex list of triples"))?;
    let pn = pn_index(i, at + 1)?;
    let tris = index_lists(i, i.arg(at), positions.len(), pn.as_deref())?;
    Ok(Solid { triangles: tris.iter().map(|t| [t[0] as u32, t[1] as u32, t[2] as u32]).collect(), positions })
}

fn polygonal_face_set(ctx: &Ctx, i: &Instance) -> GResult<Solid> {
    let positions = point_list(ctx, i)?;
    let pn = pn_index(i, 3)?;
    let mut s = Solid { positions: positions.clone(), triangles: Vec::new() };
    for f in i.arg(2).as_list().ok_or_else(|| invalid(i, "Faces is not a list"))? {
        let face = ctx.deref(i, f)?;
        let outer = index_lists(face, &Value::List(vec![face.arg(0).clone()]), positions.len(), pn.as_deref())?;
        let mut loops = outer;
        if face.kind == "IFCINDEXEDPOLYGONALFACEWITHVOIDS" {
            loops.extend(index_lists(face, face.arg(1), positions.len(), pn.as_deref())?);
        }
        push_face(&mut s, &loops);
    }
    Ok(s)
}

/// Triangulates a planar face given as loops of indices into `s.positions`.
fn push_face(s: &mut Solid, loops: &[Vec<usize>]) {
    let rings: Vec<Vec<DVec3>> = loops.iter().map(|l| l.iter().map(|&k| s.positions[k]).collect()).collect();
    let flat: Vec<usize> = loops.iter().flatten().copied().collect();
    for t in polygon_with_holes(&rings) {
        s.triangles.push(t.map(|k| flat[k as usize] as u32));
    }
}

/// An IfcClosedShell / IfcOpenShell / IfcConnectedFaceSet of IfcFace with poly loops.
fn shell(ctx: &Ctx, sh: &Instance) -> GResult<Solid> {
    if !matches!(sh.kind.as_str(), "IFCCLOSEDSHELL" | "IFCOPENSHELL" | "IFCCONNECTEDFACESET") {
        return Err(unsupported(sh));
    }
    let mut s = Solid::default();
    for f in sh.arg(0).as_list().ok_or_else(|| invalid(sh, "CfsFaces is not a list"))? {
        let face = ctx.deref(sh, f)?;
        if !matches!(face.kind.as_str(), "IFCFACE" | "IFCFACESURFACE") {
            return Err(unsupported(face));
        }
        let mut outer = Vec::new();
        let mut holes = Vec::new();
        for b in face.arg(0).as_list().unwrap_or_default() {
            let bound = ctx.deref(face, b)?;
            let lp = ctx.deref(bound, bound.arg(0))?;
            if lp.kind != "IFCPOLYLOOP" {
                return Err(unsupported(lp));
            }
            let mut ring: Vec<DVec3> =
                lp.arg(0).as_list().unwrap_or_default().iter().map(|p| ctx.point(lp, p)).collect::<GResult<_>>()?;
            if bound.arg(1).as_enum() == Some("F") {
                ring.reverse();
            }
            if bound.kind == "IFCFACEOUTERBOUND" && outer.is_empty() {
                outer = ring;
            } else {
                holes.push(ring);
            }
        }
        if outer.is_empty() && !holes.is_empty() {
            outer = holes.remove(0);
        }
        let base = s.positions.len();
        let loops: Vec<Vec<usize>> = std::iter::once(&outer)
            .chain(&holes)
            .scan(base, |next, r| {
                let l = (*next..*next + r.len()).collect();
                *next += r.len();
                Some(l)
            })
            .collect();
        s.positions.extend(outer.iter().chain(holes.iter().flatten()));
        push_face(&mut s, &loops);
    }
    Ok(s)
}

/// IfcBooleanResult / IfcBooleanClippingResult. When the boolean cannot be
/// computed the first operand stands, with a warning.
fn boolean_result(ctx: &mut Ctx, i: &Instance, depth: usize, errors: &mut Vec<GeomError>) -> GResult<Solid> {
    let op = match i.arg(0).as_enum() {
        Some("UNION") => BoolOp::Union,
        Some("INTERSECTION") => BoolOp::Intersection,
        Some("DIFFERENCE") => BoolOp::Difference,
        other => return Err(invalid(i, format!("unknown boolean operator {other:?}"))),
    };
    let first = item(ctx, ctx.deref(i, i.arg(1))?, depth + 1, errors)?;
    let second_inst = ctx.deref(i, i.arg(2))?;
    let Some(bounds) = first.bounds() else { return Ok(first) };
    let second = if second_inst.kind.contains("HALFSPACE") {
        half_space(ctx, second_inst, bounds, depth + 1)?
    } else {
        item(ctx, second_inst, depth + 1, errors)?
    };
    match solid::boolean(&first, &second, op) {
        Ok(s) => Ok(s),
        Err(why) => {
            errors.push(invalid(i, format!("boolean not computed ({why}); first operand kept")));
            Ok(first)
        }
    }
}

/// A half-space (plain, boxed or polygonally bounded) as a closed solid
/// large enough to cover `around`.
fn half_space(ctx: &Ctx, h: &Instance, around: (DVec3, DVec3), depth: usize) -> GResult<Solid> {
    ctx.check_depth(h, depth)?;
    let plane = ctx.deref(h, h.arg(0))?;
    if plane.kind != "IFCPLANE" {
        return Err(unsupported(plane));
    }
    let frame = ctx.axis_placement(plane, plane.arg(0))?;
    let inv = frame.inverse();
    let centre = inv.transform_point3((around.0 + around.1) / 2.0);
    let r = (around.1 - around.0).length() + 1.0;
    // AgreementFlag TRUE: the normal points away from the material.
    let below = h.arg(1).as_enum() != Some("F");
    let extent = r + centre.z.abs();
    let mut b = solid::block(4.0 * r, 4.0 * r, extent);
    let z0 = if below { -extent } else { 0.0 };
    b.transform(&(frame * DMat4::from_translation(DVec3::new(centre.x - 2.0 * r, centre.y - 2.0 * r, z0))));
    if h.kind != "IFCPOLYGONALBOUNDEDHALFSPACE" {
        return Ok(b);
    }
    let position = ctx.axis_placement(h, h.arg(2))?;
    let boundary = ctx.deref(h, h.arg(3))?;
    let pts = curve_points(ctx, boundary, depth + 1)?;
    let mut outer: Vec<glam::DVec2> = pts.iter().map(|p| p.truncate()).collect();
    if outer.len() > 1 && outer[0].distance(outer[outer.len() - 1]) < 1e-9 {
        outer.pop();
    }
    if outer.len() < 3 {
        return Err(invalid(boundary, "a polygonal boundary needs three points"));
    }
    let local_centre = position.inverse().transform_point3((around.0 + around.1) / 2.0);
    let len = 2.0 * (r + local_centre.z.abs());
    let mut prism =
        solid::extrude(&super::Profile { regions: vec![super::Region { outer, holes: vec![] }] }, DVec3::Z, 2.0 * len);
    prism.transform(&(position * DMat4::from_translation(DVec3::new(0.0, 0.0, -len))));
    solid::boolean(&prism, &b, BoolOp::Intersection).map_err(|why| invalid(h, format!("bounded half-space: {why}")))
}
