//! A proposed building for what-if analyses: a rectangular tower placed in
//! the city's ENU frame, added to the model as a feature with a mesh and a
//! footprint, so that every analysis (shadows, sightlines, flood grids)
//! sees it like any other building.

use bevy_ecs::prelude::*;
use glam::{DVec3, Vec2, Vec3};
use urbis_model::{Attributes, CityModel, CpuMesh, Lod, Material, NewFeature, SemanticClass};

/// A rectangular building: its south-west corner (ENU, at ground height) and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: String,
    pub origin: DVec3,
    pub width: f64,
    pub depth: f64,
    pub height: f64,
    /// Storey height, metres (for the floor area).
    pub storey: f64,
    pub usage: String,
}

impl Proposal {
    /// The footprint in ENU metres.
    pub fn footprint(&self) -> geo::Polygon<f64> {
        let (x, y, w, d) = (self.origin.x, self.origin.y, self.width, self.depth);
        geo::Polygon::new(geo::LineString::from(vec![(x, y), (x + w, y), (x + w, y + d), (x, y + d), (x, y)]), vec![])
    }

    pub fn storeys(&self) -> u32 {
        (self.height / self.storey).floor().max(1.0) as u32
    }

    /// Gross floor area, m².
    pub fn floor_area(&self) -> f64 {
        self.width * self.depth * self.storeys() as f64
    }

    /// Adds the building to the city (and rebuilds the spatial index).
    pub fn build(&self, city: &mut CityModel) -> Entity {
        let mut f = NewFeature::new(self.id.clone(), SemanticClass::BUILDING, self.origin);
        f.mesh = Some((
            prism_mesh(
                &self.footprint(),
                self.origin,
                self.height,
                [180, 190, 210, 255],
                [150, 150, 160, 255],
                Material::Facade,
            ),
            Lod(12),
        ));
        f.footprint = Some(self.footprint());
        f.attributes = Attributes::default()
            .with("use", self.usage.clone())
            .with("height", self.height)
            .with("floors", self.storeys() as i64)
            .with("proposed", true);
        let e = city.spawn_feature(f);
        city.rebuild_spatial_index();
        e
    }
}

/// A prism over a counter-clockwise footprint (ENU), `height` metres tall, in
/// coordinates relative to `origin` (its base is at `origin`'s height): walls
/// of `wall_mat`, an earcut-triangulated roof.
pub fn prism_mesh(
    ring: &geo::Polygon<f64>,
    origin: DVec3,
    height: f64,
    wall: [u8; 4],
    roof: [u8; 4],
    wall_mat: Material,
) -> CpuMesh {
    use geo::TriangulateEarcut;
    let pts: Vec<Vec3> = ring
        .exterior()
        .0
        .iter()
        .take(ring.exterior().0.len().saturating_sub(1))
        .map(|c| Vec3::new((c.x - origin.x) as f32, (c.y - origin.y) as f32, 0.0))
        .collect();
    let h = Vec3::Z * height as f32;
    let mut m = CpuMesh::default();
    for i in 0..pts.len() {
        let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
        m.push_flat(&[a, b, b + h, a + h], &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, wall, wall_mat);
    }
    let tri = ring.earcut_triangles_raw();
    let top: Vec<Vec3> =
        tri.vertices.iter().map(|c| Vec3::new((c[0] - origin.x) as f32, (c[1] - origin.y) as f32, 0.0) + h).collect();
    let idx: Vec<[u32; 3]> =
        tri.triangle_indices.chunks_exact(3).map(|t| [t[0] as u32, t[1] as u32, t[2] as u32]).collect();
    m.push_flat(&top, &idx, |_| Vec2::ZERO, roof, Material::Roof);
    m
}

/// A park chosen as a building site: the one with the most homes within
/// `radius` metres to its north, where a tower's winter shadow falls.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub park: String,
    /// ENU centre of the park's bounds and its lowest ground height.
    pub centre: DVec3,
    pub ground: f64,
    /// The park's footprint (the plot), ENU metres.
    pub plot: geo::Polygon<f64>,
    /// The residential buildings within `radius` to its north.
    pub homes_north: Vec<Entity>,
}

/// The park ([`SemanticClass::PLANT_COVER`] with a footprint) with the most
/// residential buildings within `radius` metres to its north; ties go to the
/// smallest id, so the choice is deterministic.
pub fn park_with_most_homes_north(city: &mut CityModel, radius: f64) -> Option<Site> {
    use urbis_model::{Bounds, FeatureId, Footprint};
    let homes: Vec<(Entity, DVec3)> = crate::sunlight::buildings(city)
        .into_iter()
        .filter_map(|e| {
            let r = city.world.entity(e);
            let residential = r.get::<Attributes>().and_then(|a| a.str("use")) == Some("residential");
            residential.then(|| (e, r.get::<Bounds>().map_or(DVec3::ZERO, |b| b.center())))
        })
        .collect();
    let north_of = |p: DVec3| -> Vec<Entity> {
        homes.iter().filter(|(_, c)| c.y > p.y && (*c - p).truncate().length() < radius).map(|(e, _)| *e).collect()
    };
    let mut q = city.world.query::<(&SemanticClass, &Bounds, &FeatureId, &Footprint)>();
    q.iter(&city.world)
        .filter(|(c, _, _, _)| **c == SemanticClass::PLANT_COVER)
        .map(|(_, b, f, fp)| Site {
            park: f.guid.clone(),
            centre: b.center(),
            ground: b.min.z,
            plot: fp.0.clone(),
            homes_north: north_of(b.center()),
        })
        .max_by_key(|s| (s.homes_north.len(), std::cmp::Reverse(s.park.clone())))
}
