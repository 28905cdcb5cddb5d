//! Curves (polylines, indexed poly curves with arcs, composite and trimmed
//! curves, circles, ellipses) as point lists, and profile definitions as
//! planar regions with holes.

use std::f64::consts::TAU;

use glam::{DMat4, DVec2, DVec3};

use super::{Ctx, GResult, Profile, Region, invalid, unsupported};
use crate::ifc::step::{Instance, Value};

/// Segments for a full circle (profiles, primitives).
pub(crate) const CIRCLE_SEGMENTS: usize = 32;

/// Segments for an arc of `sweep` radians: 64 per turn, since arcs in
/// outlines often have large radii (0.12 % of the radius at most off the arc).
pub(crate) fn arc_segments(sweep: f64) -> usize {
    // (a hair less, so that a full turn in degrees is not 65 segments)
    ((sweep.abs() / TAU) * 64.0 - 1e-9).ceil().clamp(2.0, 256.0) as usize
}

/// Points on an arc from `a` through `b` to `c` (3D), excluding `a`.
fn three_point_arc(a: DVec3, b: DVec3, c: DVec3, out: &mut Vec<DVec3>) {
    let (u, v) = (a - c, b - c);
    let n = u.cross(v);
    let n2 = n.length_squared();
    if n2 < 1e-18 * u.length_squared().max(1e-30) * v.length_squared().max(1e-30) {
        out.extend([b, c]); // collinear: straight
        return;
    }
    let centre = c + (v * u.length_squared() - u * v.length_squared()).cross(n) / (2.0 * n2);
    let axis = (b - a).cross(c - b).normalize();
    let r = (a - centre).length();
    let e1 = (a - centre) / r;
    let e2 = axis.cross(e1);
    let angle = |p: DVec3| {
        let d = p - centre;
        d.dot(e2).atan2(d.dot(e1)).rem_euclid(TAU)
    };
    let sweep = angle(c);
    let n = arc_segments(sweep);
    for k in 1..n {
        let t = sweep * k as f64 / n as f64;
        out.push(centre + (e1 * t.cos() + e2 * t.sin()) * r);
    }
    out.push(c);
}

fn point_list(ctx: &Ctx, from: &Instance, v: &Value) -> GResult<Vec<DVec3>> {
    let l = ctx.deref(from, v)?;
    if !l.kind.starts_with("IFCCARTESIANPOINTLIST") {
        return Err(invalid(l, "expected IFCCARTESIANPOINTLIST2D/3D"));
    }
    let coords = l.arg(0).as_list().ok_or_else(|| invalid(l, "CoordList is not a list"))?;
    coords.iter().map(|c| ctx.coords(l, c)).collect()
}

fn indices(i: &Instance, v: &Value) -> GResult<Vec<usize>> {
    let l = v.as_list().ok_or_else(|| invalid(i, "an index list is not a list"))?;
    l.iter()
        .map(|x| x.as_int().filter(|&k| k >= 1).map(|k| k as usize - 1))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid(i, "an index is not a positive integer"))
}

/// A curve as a list of points (2D curves have z = 0).
pub(crate) fn curve_points(ctx: &Ctx, c: &Instance, depth: usize) -> GResult<Vec<DVec3>> {
    ctx.check_depth(c, depth)?;
    match c.kind.as_str() {
        "IFCPOLYLINE" => {
            let pts = c.arg(0).as_list().ok_or_else(|| invalid(c, "Points is not a list"))?;
            pts.iter().map(|p| ctx.point(c, p)).collect()
        }
        "IFCINDEXEDPOLYCURVE" => {
            let pts = point_list(ctx, c, c.arg(0))?;
            let get = |k: usize| pts.get(k).copied().ok_or_else(|| invalid(c, format!("index {} out of range", k + 1)));
            let Some(segments) = c.arg(1).as_list() else { return Ok(pts) };
            let mut out: Vec<DVec3> = Vec::new();
            for s in segments {
                let Value::Typed(kind, inner) = s else { return Err(invalid(c, "a segment is not typed")) };
                let idx = indices(c, inner)?;
                let first = get(*idx.first().ok_or_else(|| invalid(c, "empty segment"))?)?;
                if out.last() != Some(&first) {
                    out.push(first);
                }
                match kind.as_str() {
                    "IFCLINEINDEX" => {
                        for &k in &idx[1..] {
                            out.push(get(k)?);
                        }
                    }
                    "IFCARCINDEX" if idx.len() == 3 => {
                        three_point_arc(get(idx[0])?, get(idx[1])?, get(idx[2])?, &mut out)
                    }
                    _ => return Err(invalid(c, format!("segment {kind} with {} indices", idx.len()))),
                }
            }
            Ok(out)
        }
        "IFCCOMPOSITECURVE" | "IFCCOMPOSITECURVEONSURFACE" => {
            let segs = c.arg(0).as_list().ok_or_else(|| invalid(c, "Segments is not a list"))?;
            let mut out: Vec<DVec3> = Vec::new();
            for s in segs {
                let seg = ctx.deref(c, s)?;
                if !seg.kind.ends_with("COMPOSITECURVESEGMENT") {
                    return Err(unsupported(seg));
                }
                let parent = ctx.deref(seg, seg.arg(2))?;
                let mut pts = curve_points(ctx, parent, depth + 1)?;
                if seg.arg(1).as_enum() == Some("F") {
                    pts.reverse();
                }
                let skip = usize::from(out.last().zip(pts.first()).is_some_and(|(a, b)| a.distance(*b) < 1e-9));
                out.extend(pts.into_iter().skip(skip));
            }
            Ok(out)
        }
        "IFCTRIMMEDCURVE" => trimmed(ctx, c, depth),
        "IFCCIRCLE" | "IFCELLIPSE" => {
            let m = ctx.axis_placement(c, c.arg(0))?;
            let a = ctx.number(c, 1)?;
            let b = if c.kind == "IFCELLIPSE" { ctx.number(c, 2)? } else { a };
            Ok((0..=CIRCLE_SEGMENTS)
                .map(|k| {
                    let t = TAU * k as f64 / CIRCLE_SEGMENTS as f64;
                    m.transform_point3(DVec3::new(a * t.cos(), b * t.sin(), 0.0))
                })
                .collect())
        }
        _ => Err(unsupported(c)),
    }
}

fn trimmed(ctx: &Ctx, c: &Instance, depth: usize) -> GResult<Vec<DVec3>> {
    let basis = ctx.deref(c, c.arg(0))?;
    let sense = c.arg(3).as_enum() != Some("F");
    let prefer_points = c.arg(4).as_enum() == Some("CARTESIAN");
    // Each trim: a parameter and/or a point.
    let trim = |v: &Value| -> GResult<(Option<f64>, Option<DVec3>)> {
        let mut param = None;
        let mut point = None;
        for s in v.as_list().unwrap_or_default() {
            match s {
                Value::Typed(k, x) if k == "IFCPARAMETERVALUE" => param = x.as_f64(),
                Value::Ref(_) => point = Some(ctx.point(c, s)?),
                _ => {}
            }
        }
        Ok((param, point))
    };
    let (t1, t2) = (trim(c.arg(1))?, trim(c.arg(2))?);
    match basis.kind.as_str() {
        "IFCCIRCLE" | "IFCELLIPSE" => {
            let m = ctx.axis_placement(basis, basis.arg(0))?;
            let a = ctx.number(basis, 1)?;
            let b = if basis.kind == "IFCELLIPSE" { ctx.number(basis, 2)? } else { a };
            let inv = m.inverse();
            let angle = |(p, q): (Option<f64>, Option<DVec3>)| -> GResult<f64> {
                let from_point = q.map(|q| {
                    let l = inv.transform_point3(q);
                    (l.y / b).atan2(l.x / a)
                });
                let from_param = p.map(|p| p * ctx.angle_unit);
                let pick = if prefer_points { from_point.or(from_param) } else { from_param.or(from_point) };
                pick.ok_or_else(|| invalid(c, "a trim has neither a parameter nor a point"))
            };
            let (s, mut e) = (angle(t1)?, angle(t2)?);
            if sense {
                while e <= s {
                    e += TAU;
                }
            } else {
                while e >= s {
                    e -= TAU;
                }
            }
            let n = arc_segments(e - s);
            Ok((0..=n)
                .map(|k| {
                    let t = s + (e - s) * k as f64 / n as f64;
                    m.transform_point3(DVec3::new(a * t.cos(), b * t.sin(), 0.0))
                })
                .collect())
        }
        "IFCLINE" => {
            let origin = ctx.point(basis, basis.arg(0))?;
            let vector = ctx.deref(basis, basis.arg(1))?;
            let dir = ctx.direction(vector, vector.arg(0), DVec3::X)? * ctx.number_or(vector, 1, 1.0)?;
            let at = |(p, q): (Option<f64>, Option<DVec3>)| -> GResult<DVec3> {
                let from_param = p.map(|t| origin + dir * t);
                let pick = if prefer_points { q.or(from_param) } else { from_param.or(q) };
                pick.ok_or_else(|| invalid(c, "a trim has neither a parameter nor a point"))
            };
            let (a, b) = (at(t1)?, at(t2)?);
            Ok(if sense { vec![a, b] } else { vec![b, a] })
        }
        _ => {
            // Other basis curves trimmed by points: the stretch between them.
            let pts = curve_points(ctx, basis, depth + 1)?;
            match (t1.1, t2.1) {
                (Some(a), Some(b)) => Ok(vec![a, b]),
                _ => Ok(pts),
            }
        }
    }
}

/// A closed curve as a 2D ring without its closing repeat.
fn ring(ctx: &Ctx, from: &Instance, v: &Value, depth: usize) -> GResult<Vec<DVec2>> {
    let c = ctx.deref(from, v)?;
    let pts = curve_points(ctx, c, depth + 1)?;
    let mut r: Vec<DVec2> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = p.truncate();
        if r.last().is_none_or(|l: &DVec2| l.distance(q) > 1e-9) {
            r.push(q);
        }
    }
    while r.len() > 1 && r[0].distance(r[r.len() - 1]) < 1e-9 {
        r.pop();
    }
    if r.len() < 3 {
        return Err(invalid(c, "a profile curve with fewer than three distinct points"));
    }
    Ok(r)
}

fn rect(w: f64, h: f64) -> Vec<DVec2> {
    vec![
        DVec2::new(-w / 2.0, -h / 2.0),
        DVec2::new(w / 2.0, -h / 2.0),
        DVec2::new(w / 2.0, h / 2.0),
        DVec2::new(-w / 2.0, h / 2.0),
    ]
}

fn ellipse(a: f64, b: f64) -> Vec<DVec2> {
    (0..CIRCLE_SEGMENTS)
        .map(|k| {
            let t = TAU * k as f64 / CIRCLE_SEGMENTS as f64;
            DVec2::new(a * t.cos(), b * t.sin())
        })
        .collect()
}

fn rounded_rect(w: f64, h: f64, r: f64) -> Vec<DVec2> {
    let r = r.clamp(0.0, w.min(h) / 2.0);
    if r <= 0.0 {
        return rect(w, h);
    }
    let quarter = CIRCLE_SEGMENTS / 4;
    let corners = [
        (w / 2.0 - r, h / 2.0 - r, 0.0),
        (-w / 2.0 + r, h / 2.0 - r, 0.25),
        (-w / 2.0 + r, -h / 2.0 + r, 0.5),
        (w / 2.0 - r, -h / 2.0 + r, 0.75),
    ];
    let mut out = Vec::new();
    for (cx, cy, start) in corners {
        for k in 0..=quarter {
            let t = TAU * (start + 0.25 * k as f64 / quarter as f64);
            out.push(DVec2::new(cx + r * t.cos(), cy + r * t.sin()));
        }
    }
    out
}

/// Points given from a corner at the origin, moved so their bounding box is centred.
fn centred(pts: &[(f64, f64)]) -> Vec<DVec2> {
    let v: Vec<DVec2> = pts.iter().map(|&(x, y)| DVec2::new(x, y)).collect();
    let (lo, hi) = v
        .iter()
        .fold((DVec2::splat(f64::INFINITY), DVec2::splat(f64::NEG_INFINITY)), |(a, b), p| (a.min(*p), b.max(*p)));
    let c = (lo + hi) / 2.0;
    v.into_iter().map(|p| p - c).collect()
}

/// A profile definition as regions in its own plane (position applied).
pub(crate) fn profile(ctx: &Ctx, p: &Instance, depth: usize) -> GResult<Profile> {
    ctx.check_depth(p, depth)?;
    let n = |at: usize| ctx.number(p, at);
    let positive = |at: usize| -> GResult<f64> {
        let x = ctx.number(p, at)?;
        if x > 0.0 { Ok(x) } else { Err(invalid(p, format!("argument {} must be positive, is {x}", at + 1))) }
    };
    let single = |outer: Vec<DVec2>, holes: Vec<Vec<DVec2>>| Profile { regions: vec![Region { outer, holes }] };
    let parametric = match p.kind.as_str() {
        "IFCRECTANGLEPROFILEDEF" => Some(single(rect(positive(3)?, positive(4)?), vec![])),
        "IFCROUNDEDRECTANGLEPROFILEDEF" => Some(single(rounded_rect(positive(3)?, positive(4)?, n(5)?), vec![])),
        "IFCRECTANGLEHOLLOWPROFILEDEF" => {
            let (w, h, t) = (positive(3)?, positive(4)?, positive(5)?);
            if 2.0 * t >= w.min(h) {
                return Err(invalid(p, "wall thickness leaves no hollow"));
            }
            Some(single(rect(w, h), vec![rect(w - 2.0 * t, h - 2.0 * t)]))
        }
        "IFCCIRCLEPROFILEDEF" => {
            let r = positive(3)?;
            Some(single(ellipse(r, r), vec![]))
        }
        "IFCCIRCLEHOLLOWPROFILEDEF" => {
            let (r, t) = (positive(3)?, positive(4)?);
            let inner = if t < r { vec![ellipse(r - t, r - t)] } else { vec![] };
            Some(single(ellipse(r, r), inner))
        }
        "IFCELLIPSEPROFILEDEF" => Some(single(ellipse(positive(3)?, positive(4)?), vec![])),
        "IFCISHAPEPROFILEDEF" | "IFCASYMMETRICISHAPEPROFILEDEF" => {
            let asym = p.kind.starts_with("IFCASYM");
            let (bb, h, tw, tfb) = (positive(3)?, positive(4)?, positive(5)?, positive(6)?);
            let (bt, tft) = if asym { (positive(8)?, ctx.number_or(p, 9, tfb)?) } else { (bb, tfb) };
            let w = bb.max(bt);
            let (xb, xt, xw) = ((w - bb) / 2.0, (w - bt) / 2.0, (w - tw) / 2.0);
            Some(single(
                centred(&[
                    (xb, 0.0),
                    (xb + bb, 0.0),
                    (xb + bb, tfb),
                    (xw + tw, tfb),
                    (xw + tw, h - tft),
                    (xt + bt, h - tft),
                    (xt + bt, h),
                    (xt, h),
                    (xt, h - tft),
                    (xw, h - tft),
                    (xw, tfb),
                    (xb, tfb),
                ]),
                vec![],
            ))
        }
        "IFCLSHAPEPROFILEDEF" => {
            let d = positive(3)?;
            let w = ctx.number_or(p, 4, d)?;
            let t = positive(5)?;
            Some(single(centred(&[(0.0, 0.0), (w, 0.0), (w, t), (t, t), (t, d), (0.0, d)]), vec![]))
        }
        "IFCUSHAPEPROFILEDEF" => {
            let (d, b, tw, tf) = (positive(3)?, positive(4)?, positive(5)?, positive(6)?);
            Some(single(
                centred(&[(0.0, 0.0), (b, 0.0), (b, tf), (tw, tf), (tw, d - tf), (b, d - tf), (b, d), (0.0, d)]),
                vec![],
            ))
        }
        "IFCTSHAPEPROFILEDEF" => {
            let (d, b, tw, tf) = (positive(3)?, positive(4)?, positive(5)?, positive(6)?);
            let (x0, x1) = ((b - tw) / 2.0, (b + tw) / 2.0);
            Some(single(
                centred(&[
                    (x0, 0.0),
                    (x1, 0.0),
                    (x1, d - tf),
                    (b, d - tf),
                    (b, d),
                    (0.0, d),
                    (0.0, d - tf),
                    (x0, d - tf),
                ]),
                vec![],
            ))
        }
        "IFCCSHAPEPROFILEDEF" => {
            let (d, w, t) = (positive(3)?, positive(4)?, positive(5)?);
            let g = ctx.number_or(p, 6, 0.0)?.clamp(t, d / 2.0);
            Some(single(
                centred(&[
                    (0.0, 0.0),
                    (w, 0.0),
                    (w, g),
                    (w - t, g),
                    (w - t, t),
                    (t, t),
                    (t, d - t),
                    (w - t, d - t),
                    (w - t, d - g),
                    (w, d - g),
                    (w, d),
                    (0.0, d),
                ]),
                vec![],
            ))
        }
        "IFCZSHAPEPROFILEDEF" => {
            let (d, b, tw, tf) = (positive(3)?, positive(4)?, positive(5)?, positive(6)?);
            Some(single(
                centred(&[
                    (0.0, 0.0),
                    (b, 0.0),
                    (b, d - tf),
                    (2.0 * b - tw, d - tf),
                    (2.0 * b - tw, d),
                    (b - tw, d),
                    (b - tw, tf),
                    (0.0, tf),
                ]),
                vec![],
            ))
        }
        "IFCTRAPEZIUMPROFILEDEF" => {
            let (bx, tx, y, off) = (positive(3)?, positive(4)?, positive(5)?, n(6)?);
            Some(single(centred(&[(0.0, 0.0), (bx, 0.0), (off + tx, y), (off, y)]), vec![]))
        }
        _ => None,
    };
    if let Some(mut prof) = parametric {
        let m = ctx.axis_placement(p, p.arg(2))?;
        transform_profile(&mut prof, &m);
        return Ok(prof);
    }
    match p.kind.as_str() {
        "IFCARBITRARYCLOSEDPROFILEDEF" | "IFCARBITRARYPROFILEDEFWITHVOIDS" => {
            let outer = ring(ctx, p, p.arg(2), depth)?;
            let mut holes = Vec::new();
            if p.kind == "IFCARBITRARYPROFILEDEFWITHVOIDS" {
                for h in p.arg(3).as_list().unwrap_or_default() {
                    holes.push(ring(ctx, p, h, depth)?);
                }
            }
            Ok(single(outer, holes))
        }
        "IFCDERIVEDPROFILEDEF" => {
            let parent = ctx.deref(p, p.arg(2))?;
            let mut prof = profile(ctx, parent, depth + 1)?;
            let m = ctx.transform_operator(p, p.arg(3))?;
            transform_profile(&mut prof, &m);
            Ok(prof)
        }
        "IFCCOMPOSITEPROFILEDEF" => {
            let mut out = Profile::default();
            for q in p.arg(2).as_list().unwrap_or_default() {
                let child = ctx.deref(p, q)?;
                out.regions.extend(profile(ctx, child, depth + 1)?.regions);
            }
            Ok(out)
        }
        _ => Err(unsupported(p)),
    }
}

fn transform_profile(p: &mut Profile, m: &DMat4) {
    let t = |v: &mut DVec2| *v = m.transform_point3(v.extend(0.0)).truncate();
    for r in &mut p.regions {
        r.outer.iter_mut().for_each(t);
        r.holes.iter_mut().flatten().for_each(t);
        // A mirroring operator reverses the rings; extrusion re-orients them anyway.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_point_arc_passes_through_its_points() {
        let (a, b, c) = (DVec3::new(1.0, 0.0, 0.0), DVec3::new(0.0, 1.0, 0.0), DVec3::new(-1.0, 0.0, 0.0));
        let mut out = Vec::new();
        three_point_arc(a, b, c, &mut out);
        assert_eq!(out.last(), Some(&c));
        assert!(out.iter().all(|p| (p.length() - 1.0).abs() < 1e-12 && p.y >= -1e-12), "upper half circle");
        assert!(out.iter().any(|p| p.distance(b) < 0.1));
        // Clockwise the other way round: through the lower half.
        let mut low = Vec::new();
        three_point_arc(a, DVec3::new(0.0, -1.0, 0.0), c, &mut low);
        assert!(low.iter().all(|p| p.y <= 1e-12));
    }
}
