//! Indexed triangle solids and the shapes IFC builds them from: extrusions
//! and revolutions of profiles, CSG primitives, swept disks, and booleans
//! (through `boolmesh`, a Manifold-style robust mesh boolean).

use std::collections::HashMap;
use std::f64::consts::TAU;

use glam::{DMat4, DVec2, DVec3};

use super::Profile;
use super::curve::{CIRCLE_SEGMENTS, arc_segments};
use crate::triangulate::polygon_with_holes;

/// An indexed triangle mesh, counter-clockwise seen from outside, f64.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Solid {
    pub positions: Vec<DVec3>,
    pub triangles: Vec<[u32; 3]>,
}

impl Solid {
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }

    pub fn append(&mut self, other: &Solid) {
        let base = self.positions.len() as u32;
        self.positions.extend_from_slice(&other.positions);
        self.triangles.extend(other.triangles.iter().map(|t| t.map(|i| i + base)));
    }

    /// Applies an affine map; a mirroring one keeps the triangles outward.
    pub fn transform(&mut self, m: &DMat4) {
        for p in &mut self.positions {
            *p = m.transform_point3(*p);
        }
        if m.determinant() < 0.0 {
            self.flip();
        }
    }

    pub fn flip(&mut self) {
        for t in &mut self.triangles {
            t.swap(1, 2);
        }
    }

    /// Lowest and highest corner, `None` when empty.
    pub fn bounds(&self) -> Option<(DVec3, DVec3)> {
        let mut it = self.triangles.iter().flatten().map(|&i| self.positions[i as usize]);
        let first = it.next()?;
        Some(it.fold((first, first), |(a, b), p| (a.min(p), b.max(p))))
    }

    /// Enclosed volume (divergence theorem); positive when outward-facing.
    pub fn volume(&self) -> f64 {
        self.triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| self.positions[i as usize]);
                a.dot(b.cross(c))
            })
            .sum::<f64>()
            / 6.0
    }

    /// Merges exactly equal positions; drops triangles that collapse.
    pub fn welded(&self) -> Solid {
        let mut map: HashMap<[u64; 3], u32> = HashMap::with_capacity(self.positions.len());
        let mut positions = Vec::new();
        let remap: Vec<u32> = self
            .positions
            .iter()
            .map(|p| {
                // +0.0 and -0.0 are the same point.
                let key = [p.x + 0.0, p.y + 0.0, p.z + 0.0].map(f64::to_bits);
                *map.entry(key).or_insert_with(|| {
                    positions.push(*p);
                    positions.len() as u32 - 1
                })
            })
            .collect();
        let triangles = self
            .triangles
            .iter()
            .map(|t| t.map(|i| remap[i as usize]))
            .filter(|t| t[0] != t[1] && t[1] != t[2] && t[0] != t[2])
            .collect();
        Solid { positions, triangles }
    }

    /// Whether the welded mesh is closed and consistently oriented: every
    /// directed edge is matched by exactly one opposite edge.
    pub fn is_closed(&self) -> bool {
        let w = self.welded();
        if w.triangles.is_empty() {
            return false;
        }
        let mut edges: HashMap<(u32, u32), i32> = HashMap::new();
        for t in &w.triangles {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                *edges.entry((a, b)).or_default() += 1;
            }
        }
        edges.iter().all(|(&(a, b), &n)| n == 1 && edges.get(&(b, a)) == Some(&1))
    }
}

/// Signed area of a 2D ring (positive counter-clockwise).
fn area(r: &[DVec2]) -> f64 {
    (0..r.len()).map(|i| r[i].perp_dot(r[(i + 1) % r.len()])).sum::<f64>() / 2.0
}

/// Rings of a region oriented: outer counter-clockwise, holes clockwise.
fn oriented(outer: &[DVec2], holes: &[Vec<DVec2>]) -> Vec<Vec<DVec2>> {
    let mut rings = Vec::with_capacity(1 + holes.len());
    for (k, r) in std::iter::once(outer).chain(holes.iter().map(Vec::as_slice)).enumerate() {
        let mut r = r.to_vec();
        if (area(&r) > 0.0) != (k == 0) {
            r.reverse();
        }
        rings.push(r);
    }
    rings
}

/// Sweeps every region's rings through `steps` placements (each mapping the
/// profile plane into 3D), joining consecutive steps with quads; caps the
/// first and last step unless `closed`.
fn sweep_profile(profile: &Profile, steps: &[DMat4], closed: bool) -> Solid {
    let mut s = Solid::default();
    for region in &profile.regions {
        let rings = oriented(&region.outer, &region.holes);
        let n: usize = rings.iter().map(Vec::len).sum();
        let flat: Vec<DVec3> = rings.iter().flatten().map(|p| p.extend(0.0)).collect();
        let base = s.positions.len() as u32;
        for m in steps {
            s.positions.extend(flat.iter().map(|p| m.transform_point3(*p)));
        }
        let layers = steps.len();
        let at = |layer: usize, i: usize| base + (layer % layers * n + i) as u32;
        let joins = if closed { layers } else { layers - 1 };
        for l in 0..joins {
            let mut start = 0;
            for r in &rings {
                for k in 0..r.len() {
                    let (i, j) = (start + k, start + (k + 1) % r.len());
                    s.triangles.push([at(l, i), at(l, j), at(l + 1, j)]);
                    s.triangles.push([at(l, i), at(l + 1, j), at(l + 1, i)]);
                }
                start += r.len();
            }
        }
        if !closed {
            let rings3: Vec<Vec<DVec3>> = rings.iter().map(|r| r.iter().map(|p| p.extend(0.0)).collect()).collect();
            for t in polygon_with_holes(&rings3) {
                s.triangles.push([at(0, t[0] as usize), at(0, t[2] as usize), at(0, t[1] as usize)]);
                s.triangles.push(t.map(|i| at(layers - 1, i as usize)));
            }
        }
    }
    if s.volume() < 0.0 {
        s.flip();
    }
    s
}

/// A profile in its plane extruded along `dir` (in the same frame) by `depth`.
pub(crate) fn extrude(profile: &Profile, dir: DVec3, depth: f64) -> Solid {
    sweep_profile(profile, &[DMat4::IDENTITY, DMat4::from_translation(dir * depth)], false)
}

/// A profile revolved by `angle` radians about an axis through `origin`
/// along `axis` (both in the profile's frame).
pub(crate) fn revolve(profile: &Profile, origin: DVec3, axis: DVec3, angle: f64) -> Solid {
    let full = angle.abs() >= TAU - 1e-9;
    let n = arc_segments(angle);
    let steps: Vec<DMat4> = (0..if full { n } else { n + 1 })
        .map(|k| {
            let a = angle * k as f64 / n as f64;
            DMat4::from_translation(origin) * DMat4::from_axis_angle(axis, a) * DMat4::from_translation(-origin)
        })
        .collect();
    sweep_profile(profile, &steps, full)
}

fn circle(r: f64) -> Vec<DVec2> {
    (0..CIRCLE_SEGMENTS).map(|k| DVec2::from_angle(TAU * k as f64 / CIRCLE_SEGMENTS as f64) * r).collect()
}

fn region(outer: Vec<DVec2>) -> Profile {
    Profile { regions: vec![super::Region { outer, holes: vec![] }] }
}

/// IfcBlock: a box from the origin to (x, y, z).
pub(crate) fn block(x: f64, y: f64, z: f64) -> Solid {
    let rect = vec![DVec2::ZERO, DVec2::new(x, 0.0), DVec2::new(x, y), DVec2::new(0.0, y)];
    extrude(&region(rect), DVec3::Z, z)
}

/// IfcRightCircularCylinder: base centred on the origin, along +z.
pub(crate) fn cylinder(height: f64, r: f64) -> Solid {
    extrude(&region(circle(r)), DVec3::Z, height)
}

/// A cone (or pyramid) from a base polygon at z = 0 to an apex.
fn apex_solid(base: Vec<DVec2>, apex: DVec3) -> Solid {
    let mut s = Solid { positions: base.iter().map(|p| p.extend(0.0)).collect(), triangles: Vec::new() };
    let n = base.len() as u32;
    s.positions.push(apex);
    for k in 0..n {
        s.triangles.push([k, (k + 1) % n, n]);
    }
    for k in 1..n - 1 {
        s.triangles.push([0, k + 1, k]);
    }
    if s.volume() < 0.0 {
        s.flip();
    }
    s
}

/// IfcRightCircularCone: base circle at the origin, apex at z = height.
pub(crate) fn cone(height: f64, r: f64) -> Solid {
    apex_solid(circle(r), DVec3::new(0.0, 0.0, height))
}

/// IfcRectangularPyramid: base from the origin to (x, y), apex above its centre.
pub(crate) fn pyramid(x: f64, y: f64, h: f64) -> Solid {
    apex_solid(
        vec![DVec2::ZERO, DVec2::new(x, 0.0), DVec2::new(x, y), DVec2::new(0.0, y)],
        DVec3::new(x / 2.0, y / 2.0, h),
    )
}

/// IfcSphere centred on the origin.
pub(crate) fn sphere(r: f64) -> Solid {
    let (rings, segs) = (CIRCLE_SEGMENTS / 2, CIRCLE_SEGMENTS as u32);
    let mut s = Solid { positions: vec![DVec3::new(0.0, 0.0, -r), DVec3::new(0.0, 0.0, r)], triangles: Vec::new() };
    for i in 1..rings {
        let phi = std::f64::consts::PI * i as f64 / rings as f64 - std::f64::consts::FRAC_PI_2;
        for k in 0..segs {
            let th = TAU * k as f64 / segs as f64;
            s.positions.push(DVec3::new(r * phi.cos() * th.cos(), r * phi.cos() * th.sin(), r * phi.sin()));
        }
    }
    let at = |ring: usize, k: u32| 2 + (ring as u32 - 1) * segs + k % segs;
    for k in 0..segs {
        s.triangles.push([0, at(1, k + 1), at(1, k)]);
        s.triangles.push([1, at(rings - 1, k), at(rings - 1, k + 1)]);
        for i in 1..rings - 1 {
            s.triangles.push([at(i, k), at(i, k + 1), at(i + 1, k + 1)]);
            s.triangles.push([at(i, k), at(i + 1, k + 1), at(i + 1, k)]);
        }
    }
    s
}

/// IfcSweptDiskSolid: a tube of `radius` (hollow inside `inner`) along a
/// path; a path that returns to its start is swept as a closed loop.
pub(crate) fn swept_disk(path: &[DVec3], radius: f64, inner: Option<f64>) -> Option<Solid> {
    let mut pts: Vec<DVec3> = Vec::with_capacity(path.len());
    for p in path {
        if pts.last().is_none_or(|l: &DVec3| l.distance(*p) > 1e-9) {
            pts.push(*p);
        }
    }
    let closed = pts.len() > 3 && pts[0].distance(pts[pts.len() - 1]) < 1e-6 * radius.max(1e-9);
    if closed {
        pts.pop();
    }
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len();
    let seg_dir = |i: usize| (pts[(i + 1) % n] - pts[i]).normalize();
    // The segments before and after each point.
    let around = |i: usize| -> (Option<DVec3>, Option<DVec3>) {
        let prev = if i > 0 {
            Some(seg_dir(i - 1))
        } else if closed {
            Some(seg_dir(n - 1))
        } else {
            None
        };
        let next = if i + 1 < n || closed { Some(seg_dir(i)) } else { None };
        (prev, next)
    };
    // Rotation-minimising frames by projecting the previous normal; at a
    // joint the ring lies in the bisecting plane, stretched across the bend
    // by 1 / cos(half the bend) so the tube keeps its radius (a mitre).
    let mut normal = DVec3::ZERO;
    let mut steps = Vec::with_capacity(n);
    for (i, &point) in pts.iter().enumerate() {
        let (prev, next) = around(i);
        let t = match (prev, next) {
            (Some(a), Some(b)) => (a + b).try_normalize().unwrap_or(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => DVec3::Z,
        };
        if i == 0 {
            normal = t.any_orthonormal_vector();
        }
        normal = (normal - t * normal.dot(t)).try_normalize().unwrap_or_else(|| t.any_orthonormal_vector());
        let binormal = t.cross(normal);
        let stretch = |v: DVec3| match (prev, next) {
            (Some(a), Some(b)) => match (b - a).try_normalize() {
                Some(u) => v + u * (v.dot(u) * (1.0 / t.dot(b).max(0.25) - 1.0)),
                None => v,
            },
            _ => v,
        };
        let m = DMat4::from_cols(
            stretch(normal).extend(0.0),
            stretch(binormal).extend(0.0),
            t.extend(0.0),
            point.extend(1.0),
        );
        steps.push(m);
    }
    let holes = inner.filter(|&r| r > 0.0 && r < radius).map(circle).into_iter().collect();
    let profile = Profile { regions: vec![super::Region { outer: circle(radius), holes }] };
    Some(sweep_profile(&profile, &steps, closed))
}

/// How two solids combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoolOp {
    Union,
    Intersection,
    Difference,
}

/// A mesh boolean of two closed solids (welded first). Errors say why
/// (an operand that is not a closed manifold, or a failed computation).
pub(crate) fn boolean(a: &Solid, b: &Solid, op: BoolOp) -> Result<Solid, String> {
    use boolmesh::prelude::{Manifold, OpType, compute_boolean};
    let to_manifold = |s: &Solid, which: &str| -> Result<Manifold, String> {
        let w = s.welded();
        let pos: Vec<f64> = w.positions.iter().flat_map(|p| p.to_array()).collect();
        let idx: Vec<usize> = w.triangles.iter().flatten().map(|&i| i as usize).collect();
        let m = std::panic::catch_unwind(|| Manifold::new(&pos, &idx))
            .map_err(|_| format!("{which} operand could not be prepared"))?;
        m.map_err(|e| format!("{which} operand: {e}"))
    };
    // Disjoint boxes need no boolean (and the library is spared a trivial case).
    if let (Some((alo, ahi)), Some((blo, bhi))) = (a.bounds(), b.bounds())
        && (ahi.cmplt(blo).any() || bhi.cmplt(alo).any())
    {
        return Ok(match op {
            BoolOp::Difference => a.clone(),
            BoolOp::Intersection => Solid::default(),
            BoolOp::Union => {
                let mut s = a.clone();
                s.append(b);
                s
            }
        });
    }
    let (ma, mb) = (to_manifold(a, "first")?, to_manifold(b, "second")?);
    let kind = match op {
        BoolOp::Union => OpType::Add,
        BoolOp::Intersection => OpType::Intersect,
        BoolOp::Difference => OpType::Subtract,
    };
    let r = std::panic::catch_unwind(|| compute_boolean(&ma, &mb, kind))
        .map_err(|_| "the boolean computation failed".to_string())??;
    let positions = r.ps.iter().map(|p| DVec3::new(p.x, p.y, p.z)).collect();
    let triangles = r.hs.chunks_exact(3).map(|t| [t[0].tail as u32, t[1].tail as u32, t[2].tail as u32]).collect();
    Ok(Solid { positions, triangles })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_with_hole() -> Profile {
        let sq = |h: f64| vec![DVec2::new(-h, -h), DVec2::new(h, -h), DVec2::new(h, h), DVec2::new(-h, h)];
        Profile { regions: vec![super::super::Region { outer: sq(2.0), holes: vec![sq(1.0)] }] }
    }

    #[test]
    fn extrusions_and_primitives_are_closed_with_their_analytic_volume() {
        let e = extrude(&square_with_hole(), DVec3::Z, 3.0);
        assert!(e.is_closed());
        assert!((e.volume() - (16.0 - 4.0) * 3.0).abs() < 1e-9);
        // Downwards and slanted: still outward, volume = area × depth × cos.
        let d = extrude(&square_with_hole(), DVec3::new(0.6, 0.0, -0.8), 2.0);
        assert!(d.is_closed() && (d.volume() - 12.0 * 2.0 * 0.8).abs() < 1e-9);
        let b = block(2.0, 3.0, 4.0);
        assert!(b.is_closed() && (b.volume() - 24.0).abs() < 1e-9);
        let polygon_area = |r: f64| 0.5 * CIRCLE_SEGMENTS as f64 * r * r * (TAU / CIRCLE_SEGMENTS as f64).sin();
        let c = cylinder(2.0, 1.0);
        assert!(c.is_closed() && (c.volume() - polygon_area(1.0) * 2.0).abs() < 1e-9);
        let k = cone(3.0, 1.0);
        assert!(k.is_closed() && (k.volume() - polygon_area(1.0)).abs() < 1e-9);
        let s = sphere(1.0);
        assert!(s.is_closed());
        // An inscribed polyhedron: a little less than the sphere (4 %).
        let ball = 4.0 / 3.0 * std::f64::consts::PI;
        assert!(s.volume() < ball && s.volume() > 0.96 * ball, "sphere volume {}", s.volume());
        let p = pyramid(2.0, 2.0, 3.0);
        assert!(p.is_closed() && (p.volume() - 4.0).abs() < 1e-9);
        // A half turn of the square-with-hole about an axis beside it.
        let r = revolve(&square_with_hole(), DVec3::new(3.0, 0.0, 0.0), DVec3::Y, std::f64::consts::PI);
        assert!(r.is_closed() && r.volume() > 0.0);
        let full = revolve(&square_with_hole(), DVec3::new(3.0, 0.0, 0.0), DVec3::Y, TAU);
        assert!(full.is_closed() && (full.volume() - 2.0 * r.volume()).abs() / full.volume() < 1e-9);
    }

    #[test]
    fn swept_disks_are_closed_tubes() {
        let path = [DVec3::ZERO, DVec3::new(10.0, 0.0, 0.0), DVec3::new(10.0, 10.0, 0.0)];
        let t = swept_disk(&path, 0.5, None).expect("tube");
        // A mitred bend: exactly the section area × the centre-line length.
        let section = 0.5 * CIRCLE_SEGMENTS as f64 * 0.25 * (TAU / CIRCLE_SEGMENTS as f64).sin();
        assert!(t.is_closed() && (t.volume() - section * 20.0).abs() < 1e-9, "tube volume {}", t.volume());
        let hollow = swept_disk(&path, 0.5, Some(0.3)).expect("hollow");
        assert!(hollow.is_closed() && hollow.volume() < t.volume());
        let ring = [DVec3::ZERO, DVec3::X * 5.0, DVec3::new(5.0, 5.0, 0.0), DVec3::Y * 5.0, DVec3::ZERO];
        assert!(swept_disk(&ring, 0.2, None).expect("loop").is_closed());
    }

    #[test]
    fn booleans_cut_and_stay_closed() {
        let a = block(4.0, 4.0, 4.0);
        let mut b = block(2.0, 2.0, 10.0);
        b.transform(&DMat4::from_translation(DVec3::new(1.0, 1.0, -1.0)));
        let d = boolean(&a, &b, BoolOp::Difference).expect("difference");
        assert!(d.is_closed(), "a box with a hole through it is closed");
        assert!((d.volume() - (64.0 - 16.0)).abs() < 1e-6, "volume {}", d.volume());
        let i = boolean(&a, &b, BoolOp::Intersection).expect("intersection");
        assert!((i.volume() - 16.0).abs() < 1e-6);
        let u = boolean(&a, &b, BoolOp::Union).expect("union");
        assert!((u.volume() - (64.0 + 40.0 - 16.0)).abs() < 1e-6);
        // An open operand is refused with a reason.
        let mut open = a.clone();
        open.triangles.pop();
        assert!(boolean(&open, &b, BoolOp::Difference).is_err());
    }
}
