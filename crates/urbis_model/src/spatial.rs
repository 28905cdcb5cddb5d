//! The spatial index: an R*-tree (`rstar`) over feature bounds, answering
//! point, box and ray queries. Ray queries are exact: after the tree's
//! broad phase they intersect the features' triangles.

use bevy_ecs::prelude::*;
use glam::DVec3;
use rstar::{AABB, RTree, RTreeObject, SelectionFunction};

use crate::components::{Bounds, Footprint, GeometryHandle, InstanceTransform, Parts, Placement};
use crate::mesh::MeshStore;

/// One indexed feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexedFeature {
    pub entity: Entity,
    pub bounds: Bounds,
}

impl RTreeObject for IndexedFeature {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.bounds.min.to_array(), self.bounds.max.to_array())
    }
}

/// The R*-tree over every feature's bounds.
#[derive(Resource, Debug, Default)]
pub struct SpatialIndex {
    tree: RTree<IndexedFeature>,
}

/// A ray hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RayHit {
    pub entity: Entity,
    /// Distance along the (normalised) ray, metres.
    pub distance: f64,
    pub point: DVec3,
}

struct RaySelection {
    origin: DVec3,
    dir: DVec3,
    max_distance: f64,
}

impl RaySelection {
    fn hits(&self, env: &AABB<[f64; 3]>) -> bool {
        let b = Bounds { min: DVec3::from_array(env.lower()), max: DVec3::from_array(env.upper()) };
        b.ray_entry(self.origin, self.dir).is_some_and(|t| t <= self.max_distance)
    }
}

impl SelectionFunction<IndexedFeature> for RaySelection {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 3]>) -> bool {
        self.hits(envelope)
    }
    fn should_unpack_leaf(&self, leaf: &IndexedFeature) -> bool {
        self.hits(&leaf.envelope())
    }
}

impl SpatialIndex {
    pub fn build(items: Vec<(Entity, Bounds)>) -> Self {
        let objs = items
            .into_iter()
            .filter(|(_, b)| !b.is_empty() && b.min.is_finite() && b.max.is_finite())
            .map(|(entity, bounds)| IndexedFeature { entity, bounds })
            .collect();
        Self { tree: RTree::bulk_load(objs) }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Features whose bounds intersect the box.
    pub fn in_box(&self, b: Bounds) -> Vec<Entity> {
        let env = AABB::from_corners(b.min.to_array(), b.max.to_array());
        self.tree.locate_in_envelope_intersecting(&env).map(|f| f.entity).collect()
    }

    /// Features whose bounds contain the 3D point.
    pub fn containing(&self, p: DVec3) -> Vec<Entity> {
        self.in_box(Bounds { min: p, max: p })
    }

    /// Features over the ground point (x, y): those with a footprint that
    /// contains it, and those without a footprint whose bounds' column does.
    pub fn at_ground_point(&self, world: &World, x: f64, y: f64) -> Vec<Entity> {
        use geo::Contains;
        let env = AABB::from_corners([x, y, f64::MIN], [x, y, f64::MAX]);
        let pt = geo::Point::new(x, y);
        self.tree
            .locate_in_envelope_intersecting(&env)
            .filter(|f| match world.get::<Footprint>(f.entity) {
                Some(fp) => fp.0.contains(&pt),
                None => true,
            })
            .map(|f| f.entity)
            .collect()
    }

    /// The nearest feature hit by the ray within `max_distance`. Features
    /// with a mesh are tested triangle by triangle; others by their bounds,
    /// except parents without geometry, whose parts are hit instead.
    pub fn ray_cast(&self, world: &World, origin: DVec3, dir: DVec3, max_distance: f64) -> Option<RayHit> {
        self.ray_cast_where(world, origin, dir, max_distance, |_| true)
    }

    /// As [`SpatialIndex::ray_cast`], considering only the features `keep` accepts.
    pub fn ray_cast_where(
        &self,
        world: &World,
        origin: DVec3,
        dir: DVec3,
        max_distance: f64,
        keep: impl Fn(Entity) -> bool,
    ) -> Option<RayHit> {
        let dir = dir.normalize();
        let sel = RaySelection { origin, dir, max_distance };
        let meshes = world.get_resource::<MeshStore>();
        let mut best: Option<RayHit> = None;
        for f in self.tree.locate_with_selection_function(sel) {
            if !keep(f.entity) {
                continue;
            }
            let entry = f.bounds.ray_entry(origin, dir).unwrap_or(0.0);
            if best.is_some_and(|b| entry > b.distance) {
                continue;
            }
            let geometry = world.get::<GeometryHandle>(f.entity);
            if geometry.is_none() && world.get::<Parts>(f.entity).is_some() {
                continue; // a parent without geometry: its parts answer for it
            }
            let placement = world.get::<Placement>(f.entity);
            // The f32 test starts a metre before the box: from a far origin
            // (a camera 10 km away, a ray dropped from 100 km) the offsets
            // would otherwise lose centimetres to f32 rounding.
            let start = (entry - 1.0).max(0.0);
            let near = origin + dir * start;
            let distance = match (geometry, placement, meshes) {
                (Some(g), Some(p), Some(store)) => match store.get(g.mesh) {
                    // Points have no surface: their box answers.
                    Some(mesh) if mesh.topology == crate::mesh::Topology::Points => Some(entry),
                    Some(mesh) => match world.get::<InstanceTransform>(f.entity) {
                        // Into the shared mesh's frame; the unnormalised local direction
                        // keeps distances in world metres.
                        Some(t) if t.linear.determinant().abs() > 1e-12 => {
                            let inv = t.linear.inverse();
                            mesh.ray_hit((inv * (near - p.enu)).as_vec3(), (inv * dir).as_vec3())
                                .map(|d| start + f64::from(d))
                        }
                        Some(_) => None,
                        // Into the mesh's frame: small f32 numbers.
                        None => mesh.ray_hit((near - p.enu).as_vec3(), dir.as_vec3()).map(|d| start + f64::from(d)),
                    },
                    None => Some(entry),
                },
                _ => Some(entry),
            };
            if let Some(d) = distance.filter(|&d| d <= max_distance)
                && best.is_none_or(|b| d < b.distance)
            {
                best = Some(RayHit { entity: f.entity, distance: d, point: origin + dir * d });
            }
        }
        best
    }
}
