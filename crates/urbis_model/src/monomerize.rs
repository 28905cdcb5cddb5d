//! Physical monomerization (单体化): a continuous photo mesh is cut by
//! footprint prisms so that each building becomes its own surface, and
//! what no footprint covers stays ground. Triangles are clipped exactly at
//! the footprint edges (holes and multipolygons included); the new
//! vertices take their height and texture coordinates from the plane of the
//! triangle they were cut from, so textures stay where they were.
//!
//! ```text
//! triangle (ENU, uv) ─► its ground-plan triangle ∩ footprint (geo BooleanOps)
//!                        ─► earcut ─► height and uv by barycentric weights ─► that building
//!                    └─► what the footprints leave ─► ground
//! steep triangle (> 60°, a wall) ─► the footprint under its centroid
//!                                    (or within 1 m of it), whole
//! ```
//!
//! Where footprints overlap, the first prism given keeps the overlap.
//! A prism only takes the parts of triangles whose heights reach into it
//! (from `base - 1 m` to `top + 2 m`), so a bridge or a crane above a
//! footprint's height range is not taken for the building.

use geo::{
    Area, BooleanOps, BoundingRect, Contains, Coord, Distance, LineString, MultiPolygon, Polygon, TriangulateEarcut,
};
use glam::{DVec2, DVec3, Vec2};
use rstar::{AABB, RTree, RTreeObject};

use crate::CityModel;
use crate::mesh::TextureId;

/// A building's footprint prism in the city's ENU frame.
#[derive(Debug, Clone)]
pub struct Prism {
    pub id: String,
    /// Ground plan, ENU metres (x east, y north).
    pub plan: MultiPolygon<f64>,
    pub base: f64,
    pub top: f64,
}

/// One triangle of a textured surface, in ENU metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceTri {
    pub p: [DVec3; 3],
    pub uv: [Vec2; 3],
    pub texture: Option<TextureId>,
}

impl SurfaceTri {
    pub fn area(&self) -> f64 {
        (self.p[1] - self.p[0]).cross(self.p[2] - self.p[0]).length() / 2.0
    }

    fn plan_area(&self) -> f64 {
        let (a, b, c) = (self.p[0].truncate(), self.p[1].truncate(), self.p[2].truncate());
        ((b - a).perp_dot(c - a) / 2.0).abs()
    }

    /// The surface point above plan point `q`, with its uv (barycentric in plan).
    fn at(&self, q: DVec2) -> (DVec3, Vec2) {
        let (a, b, c) = (self.p[0].truncate(), self.p[1].truncate(), self.p[2].truncate());
        let d = (b - a).perp_dot(c - a);
        let l1 = (q - a).perp_dot(c - a) / d;
        let l2 = (b - a).perp_dot(q - a) / d;
        let l0 = 1.0 - l1 - l2;
        let z = l0 * self.p[0].z + l1 * self.p[1].z + l2 * self.p[2].z;
        let uv = self.uv[0] * l0 as f32 + self.uv[1] * l1 as f32 + self.uv[2] * l2 as f32;
        (DVec3::new(q.x, q.y, z), uv)
    }

    fn plan(&self) -> Polygon<f64> {
        let ring: Vec<Coord<f64>> = self.p.iter().map(|p| Coord { x: p.x, y: p.y }).collect();
        Polygon::new(LineString::from(ring), vec![])
    }
}

/// The surface cut by the prisms: per prism (in the order given) its
/// triangles, and the ground that no prism took.
#[derive(Debug, Clone, Default)]
pub struct Cut {
    pub buildings: Vec<Vec<SurfaceTri>>,
    pub ground: Vec<SurfaceTri>,
    /// For each triangle of `buildings[k]`, the index of the surface triangle it came from.
    pub building_sources: Vec<Vec<u32>>,
    /// For each triangle of `ground`, the index of the surface triangle it came from.
    pub ground_sources: Vec<u32>,
    /// Steep triangles given whole to the prism under their centroid.
    pub steep_taken: usize,
    /// Triangles clipped at a footprint edge.
    pub clipped: usize,
}

struct Indexed {
    index: usize,
    bbox: AABB<[f64; 2]>,
}

impl RTreeObject for Indexed {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.bbox
    }
}

/// A triangle whose plan area is under this share of its area is steep
/// (steeper than 60°, a wall): it is assigned whole, not clipped in plan.
const STEEP: f64 = 0.5;
/// A steep triangle whose centroid lies outside every footprint but within
/// this distance of one (a wall that leans out, as a photo mesh's walls do
/// between a roof edge and the ground beside it) goes to the nearest, metres.
const WALL_REACH: f64 = 1.0;
/// Height margins of a prism below its base and above its top, metres.
const BELOW: f64 = 1.0;
const ABOVE: f64 = 2.0;

/// Cuts `surface` by `prisms`.
pub fn cut(surface: &[SurfaceTri], prisms: &[Prism]) -> Cut {
    let index = RTree::bulk_load(
        prisms
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let r = p.plan.bounding_rect()?;
                Some(Indexed { index: i, bbox: AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]) })
            })
            .collect(),
    );
    let mut out = Cut {
        buildings: vec![Vec::new(); prisms.len()],
        building_sources: vec![Vec::new(); prisms.len()],
        ..Default::default()
    };
    for (source, t) in surface.iter().enumerate() {
        let source = source as u32;
        let lo = t.p.iter().fold(DVec3::splat(f64::INFINITY), |a, p| a.min(*p));
        let hi = t.p.iter().fold(DVec3::splat(f64::NEG_INFINITY), |a, p| a.max(*p));
        let reaches = |p: &Prism| hi.z >= p.base - BELOW && lo.z <= p.top + ABOVE;
        let mut candidates: Vec<usize> = index
            .locate_in_envelope_intersecting(&AABB::from_corners([lo.x, lo.y], [hi.x, hi.y]))
            .map(|c| c.index)
            .filter(|&i| reaches(&prisms[i]))
            .collect();
        candidates.sort_unstable();
        if candidates.is_empty() {
            out.ground.push(*t);
            out.ground_sources.push(source);
            continue;
        }
        let area = t.area();
        let plan_area = t.plan_area();
        if plan_area < STEEP * area {
            let c = (t.p[0] + t.p[1] + t.p[2]) / 3.0;
            let at = geo::Point::new(c.x, c.y);
            // The footprint under the centroid, else the nearest within reach.
            let under = candidates.iter().copied().find(|&i| prisms[i].plan.contains(&at)).or_else(|| {
                candidates
                    .iter()
                    .map(|&i| (i, geo::Euclidean.distance(&prisms[i].plan, &at)))
                    .filter(|(_, d)| *d <= WALL_REACH)
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i)
            });
            match under {
                Some(i) => {
                    out.buildings[i].push(*t);
                    out.building_sources[i].push(source);
                    out.steep_taken += 1;
                }
                None => {
                    out.ground.push(*t);
                    out.ground_sources.push(source);
                }
            }
            continue;
        }
        let plan = t.plan();
        let mut taken: Option<MultiPolygon<f64>> = None;
        for &i in &candidates {
            let mut inside = plan.intersection(&prisms[i].plan);
            // Where footprints overlap, the first one given keeps the overlap.
            if let Some(m) = &taken {
                inside = inside.difference(m);
            }
            let a = inside.unsigned_area();
            if a <= 1e-9 * plan_area.max(1e-12) {
                continue;
            }
            if taken.is_none() && (a - plan_area).abs() <= 1e-9 * plan_area {
                // Wholly inside: the triangle as it is.
                out.buildings[i].push(*t);
                out.building_sources[i].push(source);
                taken = Some(MultiPolygon::new(vec![plan.clone()]));
                break;
            }
            out.clipped += 1;
            emit(t, &inside, &mut out.buildings[i]);
            let n = out.buildings[i].len() - out.building_sources[i].len();
            out.building_sources[i].extend(std::iter::repeat_n(source, n));
            taken = Some(match taken {
                None => inside,
                Some(m) => m.union(&inside),
            });
        }
        match taken {
            None => {
                out.ground.push(*t);
                out.ground_sources.push(source);
            }
            Some(m) => {
                let rest = MultiPolygon::new(vec![plan]).difference(&m);
                emit(t, &rest, &mut out.ground);
                let n = out.ground.len() - out.ground_sources.len();
                out.ground_sources.extend(std::iter::repeat_n(source, n));
            }
        }
    }
    out
}

/// Triangulates plan polygons cut from `t` and lifts them onto `t`'s plane.
fn emit(t: &SurfaceTri, parts: &MultiPolygon<f64>, into: &mut Vec<SurfaceTri>) {
    // Keep the source triangle's winding (its normal's side).
    let up = (t.p[1] - t.p[0]).cross(t.p[2] - t.p[0]).z >= 0.0;
    for poly in parts {
        if poly.unsigned_area() <= 1e-12 {
            continue;
        }
        for tri in poly.earcut_triangles_iter() {
            let q = [tri.v1(), tri.v2(), tri.v3()].map(|c| DVec2::new(c.x, c.y));
            if ((q[1] - q[0]).perp_dot(q[2] - q[0])).abs() <= 1e-12 {
                continue;
            }
            let mut v = q.map(|q| t.at(q));
            let ccw = (q[1] - q[0]).perp_dot(q[2] - q[0]) > 0.0;
            if ccw != up {
                v.swap(1, 2);
            }
            into.push(SurfaceTri { p: v.map(|(p, _)| p), uv: v.map(|(_, uv)| uv), texture: t.texture });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w` × `h` m grid of `cell` m squares on z = f(x, y), uv = (x, y) / 100.
    fn grid(w: f64, h: f64, cell: f64, f: impl Fn(f64, f64) -> f64) -> Vec<SurfaceTri> {
        let mut out = Vec::new();
        let (nx, ny) = ((w / cell) as usize, (h / cell) as usize);
        let v = |i: usize, j: usize| {
            let (x, y) = (i as f64 * cell, j as f64 * cell);
            (DVec3::new(x, y, f(x, y)), Vec2::new((x / 100.0) as f32, (y / 100.0) as f32))
        };
        for i in 0..nx {
            for j in 0..ny {
                let (a, b, c, d) = (v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1));
                for (p, q, r) in [(a, b, c), (a, c, d)] {
                    out.push(SurfaceTri { p: [p.0, q.0, r.0], uv: [p.1, q.1, r.1], texture: None });
                }
            }
        }
        out
    }

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> LineString<f64> {
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    }

    fn prism(id: &str, polys: Vec<Polygon<f64>>) -> Prism {
        Prism { id: id.into(), plan: MultiPolygon::new(polys), base: 0.0, top: 20.0 }
    }

    fn area(ts: &[SurfaceTri]) -> f64 {
        ts.iter().map(SurfaceTri::area).sum()
    }

    fn plan_area(ts: &[SurfaceTri]) -> f64 {
        ts.iter().map(SurfaceTri::plan_area).sum()
    }

    #[test]
    fn footprints_take_exactly_their_area_with_holes_and_multipolygons() {
        let surface = grid(100.0, 100.0, 2.0, |_, _| 0.0);
        // Off the grid lines, so every edge clips triangles.
        let square = prism("square", vec![Polygon::new(rect(13.3, 41.7, 23.3, 51.7), vec![])]);
        let l_shape = prism(
            "L",
            vec![Polygon::new(
                LineString::from(vec![
                    (60.5, 10.5),
                    (70.5, 10.5),
                    (70.5, 15.5),
                    (65.5, 15.5),
                    (65.5, 20.5),
                    (60.5, 20.5),
                    (60.5, 10.5),
                ]),
                vec![],
            )],
        );
        let holed =
            prism("court", vec![Polygon::new(rect(30.1, 70.1, 40.1, 80.1), vec![rect(33.1, 73.1, 37.1, 77.1)])]);
        let pair = prism(
            "pair",
            vec![
                Polygon::new(rect(80.2, 80.2, 85.2, 85.2), vec![]),
                Polygon::new(rect(90.7, 90.7, 95.7, 95.7), vec![]),
            ],
        );
        let cut = cut(&surface, &[square, l_shape, holed, pair]);
        // Shoelace areas by hand: 10×10, 10×5 + 5×5, 10×10 − 4×4, 2 × 5×5.
        let want = [100.0, 75.0, 84.0, 50.0];
        for (k, w) in want.iter().enumerate() {
            let got = area(&cut.buildings[k]);
            assert!((got - w).abs() < 1e-6, "footprint {k}: {got} m² vs {w}");
        }
        let ground = area(&cut.ground);
        assert!((ground - (10_000.0 - 309.0)).abs() < 1e-6, "ground {ground}");
        // Every piece names the triangle it came from, and lies inside it in plan.
        assert_eq!(cut.ground_sources.len(), cut.ground.len());
        for (k, b) in cut.buildings.iter().enumerate() {
            assert_eq!(cut.building_sources[k].len(), b.len());
            for (t, &src) in b.iter().zip(&cut.building_sources[k]) {
                let c = (t.p[0] + t.p[1] + t.p[2]) / 3.0;
                assert!(surface[src as usize].plan().contains(&geo::Point::new(c.x, c.y)), "piece of {src}");
            }
        }
        assert!(cut.clipped > 0);
        // Every vertex keeps the surface's texture mapping uv = xy / 100 and its height.
        for t in cut.buildings.iter().flatten().chain(&cut.ground) {
            for (p, uv) in t.p.iter().zip(t.uv) {
                assert!((uv.x as f64 - p.x / 100.0).abs() < 1e-5 && (uv.y as f64 - p.y / 100.0).abs() < 1e-5);
                assert_eq!(p.z, 0.0);
            }
            // Facing up, as the surface does.
            assert!((t.p[1] - t.p[0]).cross(t.p[2] - t.p[0]).z > 0.0);
        }
        // Nothing of the court's hole went to the building.
        for t in &cut.buildings[2] {
            let c = (t.p[0] + t.p[1] + t.p[2]) / 3.0;
            assert!(!(33.1..37.1).contains(&c.x) || !(73.1..77.1).contains(&c.y), "{c} is in the hole");
        }
    }

    #[test]
    fn overlapping_footprints_share_nothing() {
        let surface = grid(40.0, 40.0, 2.0, |_, _| 0.0);
        let a = prism("a", vec![Polygon::new(rect(10.5, 10.5, 20.5, 20.5), vec![])]);
        let b = prism("b", vec![Polygon::new(rect(15.5, 10.5, 25.5, 20.5), vec![])]);
        let cut = cut(&surface, &[a, b]);
        let (aa, ab, g) = (area(&cut.buildings[0]), area(&cut.buildings[1]), area(&cut.ground));
        assert!((aa - 100.0).abs() < 1e-6 && (ab - 50.0).abs() < 1e-6, "{aa} {ab}");
        assert!((aa + ab + g - 1600.0).abs() < 1e-6, "area is kept: {}", aa + ab + g);
    }

    #[test]
    fn a_sloped_surface_is_cut_on_its_own_plane() {
        let f = |x: f64, y: f64| 0.1 * x + 0.2 * y;
        let surface = grid(50.0, 50.0, 5.0, f);
        let cut = cut(&surface, &[prism("a", vec![Polygon::new(rect(11.0, 12.0, 31.0, 27.0), vec![])])]);
        // Plan area 20 × 15 on a plane of slope (0.1, 0.2): area × √(1 + 0.01 + 0.04).
        let want = 300.0 * (1.05f64).sqrt();
        assert!((area(&cut.buildings[0]) - want).abs() < 1e-6, "{}", area(&cut.buildings[0]));
        assert!((plan_area(&cut.buildings[0]) - 300.0).abs() < 1e-6);
        for t in cut.buildings.iter().flatten().chain(&cut.ground) {
            for p in t.p {
                assert!((p.z - f(p.x, p.y)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn walls_go_whole_to_the_footprint_under_them_and_heights_limit_a_prism() {
        // A vertical wall just inside a footprint's edge, and one outside.
        let wall = |x: f64| SurfaceTri {
            p: [DVec3::new(x, 10.0, 0.0), DVec3::new(x, 20.0, 0.0), DVec3::new(x + 0.01, 15.0, 12.0)],
            uv: [Vec2::ZERO; 3],
            texture: None,
        };
        let mut surface = vec![wall(10.2), wall(9.5)];
        // A deck 40 m up over the footprint: above the prism's top.
        surface.push(SurfaceTri {
            p: [DVec3::new(12.0, 12.0, 40.0), DVec3::new(18.0, 12.0, 40.0), DVec3::new(15.0, 18.0, 40.0)],
            uv: [Vec2::ZERO; 3],
            texture: None,
        });
        let p = Prism {
            id: "b".into(),
            plan: MultiPolygon::new(vec![Polygon::new(rect(10.0, 5.0, 30.0, 25.0), vec![])]),
            base: 0.0,
            top: 12.0,
        };
        let cut = cut(&surface, &[p]);
        assert_eq!(cut.buildings[0], vec![surface[0]]);
        assert_eq!(cut.steep_taken, 1);
        assert_eq!(cut.ground, vec![surface[1], surface[2]]);
    }
}

/// What [`monomerize_model`] did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MonomerizeReport {
    /// Photo-mesh entities cut (and replaced).
    pub photo_meshes: usize,
    /// Building entities made, one per footprint the mesh covers.
    pub buildings: usize,
    /// Footprints the mesh does not cover at all.
    pub uncovered: Vec<String>,
    /// Pairs of footprints whose plans overlap (the first keeps the overlap).
    pub overlaps: Vec<(String, String)>,
    pub clipped_triangles: usize,
}

/// The triangles of a mesh entity in ENU, with their textures.
fn surface_of(model: &CityModel, e: bevy_ecs::entity::Entity) -> Vec<SurfaceTri> {
    let (Some(pl), Some(g)) = (model.world.get::<crate::Placement>(e), model.world.get::<crate::GeometryHandle>(e))
    else {
        return Vec::new();
    };
    let Some(mesh) = model.meshes().get(g.mesh) else { return Vec::new() };
    let texture_of = |index: usize| {
        mesh.groups
            .iter()
            .find(|gr| (gr.first_index as usize..(gr.first_index + gr.index_count) as usize).contains(&index))
            .and_then(|gr| gr.texture)
    };
    mesh.indices
        .chunks_exact(3)
        .enumerate()
        .filter_map(|(k, t)| {
            let v = [
                mesh.vertices.get(t[0] as usize)?,
                mesh.vertices.get(t[1] as usize)?,
                mesh.vertices.get(t[2] as usize)?,
            ];
            Some(SurfaceTri {
                p: v.map(|v| pl.enu + v.position.as_dvec3()),
                uv: v.map(|v| v.uv),
                texture: texture_of(k * 3),
            })
        })
        .collect()
}

/// A textured mesh of `tris` relative to the lowest middle point of their box.
fn mesh_of(tris: &[SurfaceTri]) -> (crate::CpuMesh, DVec3) {
    let lo = tris.iter().flat_map(|t| t.p).fold(DVec3::splat(f64::INFINITY), DVec3::min);
    let hi = tris.iter().flat_map(|t| t.p).fold(DVec3::splat(f64::NEG_INFINITY), DVec3::max);
    let origin = DVec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z);
    let mut mesh = crate::CpuMesh::default();
    let mut sorted: Vec<&SurfaceTri> = tris.iter().collect();
    sorted.sort_by_key(|t| t.texture);
    for group in sorted.chunk_by(|a, b| a.texture == b.texture) {
        let first = mesh.indices.len() as u32;
        for t in group {
            let p = t.p.map(|p| (p - origin).as_vec3());
            let n = (p[1] - p[0]).cross(p[2] - p[0]).normalize_or(glam::Vec3::Z);
            for (position, uv) in p.into_iter().zip(t.uv) {
                mesh.indices.push(mesh.vertices.len() as u32);
                mesh.vertices.push(crate::MeshVertex {
                    position,
                    normal: n,
                    uv,
                    color: [255, 255, 255, 255],
                    material: if t.texture.is_some() { crate::Material::Textured } else { crate::Material::Plain },
                });
            }
        }
        mesh.groups.push(crate::MeshGroup {
            texture: group[0].texture,
            first_index: first,
            index_count: mesh.indices.len() as u32 - first,
            single_sided: false,
        });
    }
    (mesh, origin)
}

/// Pairs of prisms whose plans overlap (by more than a square millimetre), in order.
pub fn overlapping_pairs(prisms: &[Prism]) -> Vec<(String, String)> {
    // Only footprints whose boxes meet can overlap.
    let boxes: Vec<Option<geo::Rect<f64>>> = prisms.iter().map(|p| p.plan.bounding_rect()).collect();
    let meet = |a: &Option<geo::Rect<f64>>, b: &Option<geo::Rect<f64>>| match (a, b) {
        (Some(a), Some(b)) => {
            a.min().x < b.max().x && b.min().x < a.max().x && a.min().y < b.max().y && b.min().y < a.max().y
        }
        _ => false,
    };
    let mut out = Vec::new();
    for i in 0..prisms.len() {
        for j in i + 1..prisms.len() {
            if meet(&boxes[i], &boxes[j]) && prisms[i].plan.intersection(&prisms[j].plan).unsigned_area() > 1e-6 {
                out.push((prisms[i].id.clone(), prisms[j].id.clone()));
            }
        }
    }
    out
}

/// Cuts every `PhotoMesh` entity of the model by `footprints` (each a prism
/// and the attributes its building gets): one `Building` entity per covered
/// footprint holds its part of every photo mesh, one `Ground` entity per
/// photo mesh holds the rest, and the photo-mesh entities are removed.
pub fn monomerize_model(model: &mut CityModel, footprints: &[(Prism, crate::Attributes)]) -> MonomerizeReport {
    monomerize_replacing(model, footprints, &vec![None; footprints.len()])
}

/// [`monomerize_model`], where footprint k's own entity `replaces[k]` (if
/// any) makes way for its cut building when the mesh covers it.
fn monomerize_replacing(
    model: &mut CityModel,
    footprints: &[(Prism, crate::Attributes)],
    replaces: &[Option<bevy_ecs::entity::Entity>],
) -> MonomerizeReport {
    let photo = crate::SemanticClass::new("PhotoMesh", crate::Family::Generic);
    let mut q = model.world.query::<(bevy_ecs::entity::Entity, &crate::SemanticClass, &crate::FeatureId)>();
    let meshes: Vec<(bevy_ecs::entity::Entity, String)> =
        q.iter(&model.world).filter(|(_, c, _)| **c == photo).map(|(e, _, id)| (e, id.guid.clone())).collect();
    let prisms: Vec<Prism> = footprints.iter().map(|(p, _)| p.clone()).collect();
    let mut report =
        MonomerizeReport { photo_meshes: meshes.len(), overlaps: overlapping_pairs(&prisms), ..Default::default() };
    let mut per_building: Vec<Vec<SurfaceTri>> = vec![Vec::new(); prisms.len()];
    let building = crate::SemanticClass::new("Building", crate::Family::Building);
    let ground = crate::SemanticClass::new("Ground", crate::Family::Terrain);
    for (e, guid) in meshes {
        let surface = surface_of(model, e);
        let c = cut(&surface, &prisms);
        report.clipped_triangles += c.clipped;
        for (k, part) in c.buildings.into_iter().enumerate() {
            per_building[k].extend(part);
        }
        model.remove_feature(e);
        if !c.ground.is_empty() {
            let (mesh, origin) = mesh_of(&c.ground);
            let mut f = crate::NewFeature::new(format!("{guid}/ground"), ground, origin);
            f.attributes.insert("source", guid);
            f.mesh = Some((mesh, crate::Lod(30)));
            model.spawn_feature(f);
        }
    }
    for (k, tris) in per_building.into_iter().enumerate() {
        let (prism, attrs) = &footprints[k];
        if tris.is_empty() {
            report.uncovered.push(prism.id.clone());
            continue;
        }
        if let Some(e) = replaces.get(k).copied().flatten() {
            model.remove_feature(e);
        }
        let (mesh, origin) = mesh_of(&tris);
        let mut f = crate::NewFeature::new(prism.id.clone(), building, origin);
        f.attributes = attrs.clone();
        f.footprint = prism.plan.0.first().cloned();
        f.mesh = Some((mesh, crate::Lod(30)));
        model.spawn_feature(f);
        report.buildings += 1;
    }
    model.rebuild_spatial_index();
    report
}

/// Cuts the model's photo meshes by the footprints of its other buildings
/// (GeoJSON footprints, CityJSON buildings): each footprint's prism runs
/// from its lowest to its highest point, its attributes go to the cut
/// building, and the footprint's own (LoD1) entity is replaced by it.
/// Footprints the photo mesh does not cover keep their own entity.
pub fn monomerize_by_footprints(model: &mut CityModel) -> MonomerizeReport {
    monomerize_by_footprints_in(model, None)
}

/// [`monomerize_by_footprints`] with only the footprint buildings in `only` (when given).
pub fn monomerize_by_footprints_in(
    model: &mut CityModel,
    only: Option<&std::collections::HashSet<bevy_ecs::entity::Entity>>,
) -> MonomerizeReport {
    let photo = crate::SemanticClass::new("PhotoMesh", crate::Family::Generic);
    let has_photo = model.world.query::<&crate::SemanticClass>().iter(&model.world).any(|c| *c == photo);
    if !has_photo {
        return MonomerizeReport::default();
    }
    let found: Vec<_> =
        footprint_prisms(model).into_iter().filter(|(e, ..)| only.is_none_or(|s| s.contains(e))).collect();
    // The footprints' own entities make way for the cut buildings (their GUIDs pass on).
    let replaces: Vec<Option<bevy_ecs::entity::Entity>> = found.iter().map(|(e, ..)| Some(*e)).collect();
    let footprints: Vec<(Prism, crate::Attributes)> = found.into_iter().map(|(_, p, a)| (p, a)).collect();
    monomerize_replacing(model, &footprints, &replaces)
}

/// The prisms of the model's buildings that have a footprint (not photo
/// meshes): plan, lowest to highest point, attributes, and their entity.
pub fn footprint_prisms(model: &mut CityModel) -> Vec<(bevy_ecs::entity::Entity, Prism, crate::Attributes)> {
    let photo = crate::SemanticClass::new("PhotoMesh", crate::Family::Generic);
    let mut q = model.world.query::<(
        bevy_ecs::entity::Entity,
        &crate::SemanticClass,
        &crate::FeatureId,
        &crate::Footprint,
        &crate::Bounds,
        &crate::Attributes,
    )>();
    let mut found: Vec<(bevy_ecs::entity::Entity, Prism, crate::Attributes)> = q
        .iter(&model.world)
        .filter(|(_, c, ..)| **c != photo && c.family() == crate::Family::Building)
        .map(|(e, _, id, fp, b, a)| {
            let plan = MultiPolygon::new(vec![fp.0.clone()]);
            (e, Prism { id: id.guid.clone(), plan, base: b.min.z, top: b.max.z }, a.clone())
        })
        .collect();
    // In GUID order, so which of two overlapping footprints keeps the overlap does not depend on storage.
    found.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    found
}

/// Every triangle of the model's photo meshes, in ENU.
pub fn photo_surface(model: &mut CityModel) -> Vec<SurfaceTri> {
    let photo = crate::SemanticClass::new("PhotoMesh", crate::Family::Generic);
    let mut q = model.world.query::<(bevy_ecs::entity::Entity, &crate::SemanticClass)>();
    let meshes: Vec<bevy_ecs::entity::Entity> =
        q.iter(&model.world).filter(|(_, c)| **c == photo).map(|(e, _)| e).collect();
    meshes.into_iter().flat_map(|e| surface_of(model, e)).collect()
}
