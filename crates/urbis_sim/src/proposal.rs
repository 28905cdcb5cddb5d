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

    fn mesh(&self) -> CpuMesh {
        let (w, d, h) = (self.width as f32, self.depth as f32, self.height as f32);
        let c = [Vec3::ZERO, Vec3::new(w, 0.0, 0.0), Vec3::new(w, d, 0.0), Vec3::new(0.0, d, 0.0)];
        let mut m = CpuMesh::default();
        for i in 0..4 {
            let (a, b) = (c[i], c[(i + 1) % 4]);
            let quad = [a, b, b + Vec3::Z * h, a + Vec3::Z * h];
            m.push_flat(&quad, &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, [180, 190, 210, 255], Material::Facade);
        }
        m.push_flat(
            &c.map(|p| p + Vec3::Z * h),
            &[[0, 1, 2], [0, 2, 3]],
            |_| Vec2::ZERO,
            [150, 150, 160, 255],
            Material::Roof,
        );
        m
    }

    /// Adds the building to the city (and rebuilds the spatial index).
    pub fn build(&self, city: &mut CityModel) -> Entity {
        let mut f = NewFeature::new(self.id.clone(), SemanticClass::Building, self.origin);
        f.mesh = Some((self.mesh(), Lod(12)));
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

/// The park ([`SemanticClass::PlantCover`] with a footprint) with the most
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
        .filter(|(c, _, _, _)| **c == SemanticClass::PlantCover)
        .map(|(_, b, f, fp)| Site {
            park: f.guid.clone(),
            centre: b.center(),
            ground: b.min.z,
            plot: fp.0.clone(),
            homes_north: north_of(b.center()),
        })
        .max_by_key(|s| (s.homes_north.len(), std::cmp::Reverse(s.park.clone())))
}
