//! Sun, shadow and sunlight hours by ray casting against the city.
//!
//! ```text
//! date + true solar times ─► sun directions (urbis_geo::sun, ENU) ─┐
//! footprints ─► façade sample points (per floor, per few metres) ───┼─► rays to the sun through the
//! ground points ─────────────────────────────────────────────────────┘   spatial index (exact triangles), rayon
//!                                                                        ─► hours lit per point, shadow masks
//! ```
//!
//! Times are true (apparent) solar time at the city's frame origin, as
//! China's GB 50180 counts sunlight hours (大寒日 8:00–16:00). A façade point
//! is lit when the sun is above the horizon, in front of the façade, and the
//! ray towards it leaves the city unobstructed by buildings, trees, bridges
//! and other features (exact triangles, [`sees_sun`]) and by the terrain
//! (a height-field march over the DEM, [`crate::terrain::TerrainSurface`]).

use bevy_ecs::prelude::*;
use glam::DVec3;
use rayon::prelude::*;
use urbis_geo::{CityFrame, SunInput, julian_day, sun_position};
use urbis_model::{Bounds, CityModel, Family, Footprint, SemanticClass};

use crate::terrain::TerrainSurface;

/// A point on a façade, just outside the wall.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FacadePoint {
    pub building: Entity,
    /// ENU position, 5 cm in front of the wall.
    pub position: DVec3,
    /// Outward horizontal normal of the wall.
    pub normal: DVec3,
    /// Storey index from the ground (0 = ground floor).
    pub floor: u32,
}

/// Sample points on the walls of `buildings`: every `spacing` metres along
/// each footprint edge, at mid-height of every storey of `storey` metres.
pub fn facade_points(city: &CityModel, buildings: &[Entity], spacing: f64, storey: f64) -> Vec<FacadePoint> {
    use geo::Orient;
    let mut out = Vec::new();
    for &b in buildings {
        let Ok(r) = city.world.get_entity(b) else { continue };
        let (Some(fp), Some(bounds)) = (r.get::<Footprint>(), r.get::<Bounds>()) else { continue };
        // Counter-clockwise exterior: the outward normal of edge (a → b) is (dy, −dx).
        let poly = fp.0.orient(geo::orient::Direction::Default);
        let ring: Vec<geo::Coord<f64>> = poly.exterior().coords().copied().collect();
        let height = bounds.max.z - bounds.min.z;
        let floors = ((height / storey).floor() as u32).max(1);
        for w in ring.windows(2) {
            let (a, c) = (DVec3::new(w[0].x, w[0].y, 0.0), DVec3::new(w[1].x, w[1].y, 0.0));
            let edge = c - a;
            let len = edge.length();
            if len < 1e-6 {
                continue;
            }
            let normal = DVec3::new(edge.y, -edge.x, 0.0) / len;
            let n = ((len / spacing).floor() as usize).max(1);
            for k in 0..n {
                let p = a + edge * ((k as f64 + 0.5) / n as f64) + normal * 0.05;
                for f in 0..floors {
                    let z = bounds.min.z + storey * (f as f64 + 0.5);
                    out.push(FacadePoint { building: b, position: DVec3::new(p.x, p.y, z), normal, floor: f });
                }
            }
        }
    }
    out
}

/// The buildings of a city (features of class Building with a footprint), in feature order.
pub fn buildings(city: &mut CityModel) -> Vec<Entity> {
    let mut q = city.world.query_filtered::<(Entity, &SemanticClass, &urbis_model::FeatureId), With<Footprint>>();
    let mut v: Vec<(u32, Entity)> =
        q.iter(&city.world).filter(|(_, c, _)| **c == SemanticClass::BUILDING).map(|(e, _, f)| (f.index, e)).collect();
    v.sort();
    v.into_iter().map(|(_, e)| e).collect()
}

/// The equation of time (apparent − mean solar time), minutes (NOAA's series).
pub fn equation_of_time_min(day_of_year: u32) -> f64 {
    let g = std::f64::consts::TAU / 365.0 * (day_of_year as f64 - 1.0);
    229.18
        * (0.000_075 + 0.001_868 * g.cos()
            - 0.032_077 * g.sin()
            - 0.014_615 * (2.0 * g).cos()
            - 0.040_849 * (2.0 * g).sin())
}

/// A day's analysis window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunDay {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    /// True solar hours, e.g. 8.0 and 16.0.
    pub from_h: f64,
    pub to_h: f64,
    /// Step between samples, minutes; each sample stands for one step.
    pub step_min: f64,
}

impl SunDay {
    /// 大寒 (Major Cold, about 20 January), 8:00–16:00 true solar time, as GB 50180 counts.
    pub fn major_cold(year: i32) -> SunDay {
        SunDay { year, month: 1, day: 20, from_h: 8.0, to_h: 16.0, step_min: 10.0 }
    }

    fn day_of_year(&self) -> u32 {
        let jd = julian_day(self.year, self.month, self.day, 0, 0, 0.0);
        (jd - julian_day(self.year, 1, 1, 0, 0, 0.0)).round() as u32 + 1
    }

    /// Sun directions (ENU unit vectors at the frame origin) at the middle of
    /// each step; `None` where the sun is below the horizon.
    pub fn directions(&self, frame: &CityFrame) -> Vec<Option<DVec3>> {
        let o = frame.origin;
        let eot_h = equation_of_time_min(self.day_of_year()) / 60.0;
        let steps = ((self.to_h - self.from_h) * 60.0 / self.step_min).round() as usize;
        (0..steps)
            .map(|k| {
                let solar_h = self.from_h + (k as f64 + 0.5) * self.step_min / 60.0;
                // True solar time → UT.
                let ut_h = solar_h - o.lon_deg / 15.0 - eot_h;
                let jd = julian_day(self.year, self.month, self.day, 0, 0, 0.0) + ut_h / 24.0;
                let p = sun_position(&SunInput {
                    jd,
                    delta_t: 69.0,
                    lat_deg: o.lat_deg,
                    lon_deg: o.lon_deg,
                    elevation_m: o.height.max(0.0),
                    pressure_mbar: 1013.0,
                    temperature_c: 0.0,
                });
                (p.elevation_deg() > 0.0).then(|| p.enu_direction())
            })
            .collect()
    }
}

/// Whether `point` sees the sun in `direction` (ENU unit vector) past every
/// feature that stands up from the ground: buildings, trees, bridges,
/// furniture. Ground surfaces (terrain, roads, railways, plant cover, water)
/// lie a few centimetres above the DEM and would otherwise shade every
/// point on the ground; the terrain's relief is tested as a height field by
/// [`sunlight_hours`] and [`shadow_mask`] instead (its single large mesh
/// would be tested triangle by triangle for every ray).
pub fn sees_sun(city: &CityModel, point: DVec3, direction: DVec3) -> bool {
    let world = &city.world;
    // Flat surfaces lying on the ground cast no shadow: relief, land use, water, roads, rails, squares, plant cover.
    let casts_shadow = |e: Entity| {
        world.get::<SemanticClass>(e).is_none_or(|&c| {
            !matches!(c.family(), Family::Terrain | Family::Water)
                && !matches!(
                    c,
                    SemanticClass::ROAD
                        | SemanticClass::RAILWAY
                        | SemanticClass::TRANSPORT_SQUARE
                        | SemanticClass::WATERWAY
                        | SemanticClass::PLANT_COVER
                )
        })
    };
    city.spatial().ray_cast_where(world, point, direction, 50_000.0, casts_shadow).is_none()
}

/// What casts shadows in a city: its features (through the spatial index)
/// and its terrain, whose height field is built once here. Building it means
/// carrying the whole DEM into ENU through PROJ (about 90 ms for the sample
/// city), so analyses that ask several questions of one city keep one.
pub struct Shade<'c> {
    city: &'c CityModel,
    terrain: Option<TerrainSurface>,
}

impl<'c> Shade<'c> {
    pub fn new(city: &'c CityModel) -> Self {
        Self { city, terrain: TerrainSurface::from_city(city) }
    }

    /// The city it answers for.
    pub fn city(&self) -> &'c CityModel {
        self.city
    }

    /// Whether the sun in `direction` reaches `point` past terrain and features.
    fn lit(&self, point: DVec3, direction: DVec3) -> bool {
        !self.terrain.as_ref().is_some_and(|t| t.blocks(point, direction)) && sees_sun(self.city, point, direction)
    }

    /// Hours of direct sun at each façade point over the day's samples, in parallel.
    pub fn sunlight_hours(&self, points: &[FacadePoint], directions: &[Option<DVec3>], step_min: f64) -> Vec<f64> {
        points
            .par_iter()
            .map(|p| {
                let n =
                    directions.iter().flatten().filter(|d| d.dot(p.normal) > 0.0 && self.lit(p.position, **d)).count();
                n as f64 * step_min / 60.0
            })
            .collect()
    }

    /// For each point, whether it lies in shadow with the sun in `direction`
    /// (None: night, all shadow).
    pub fn shadow_mask(&self, points: &[DVec3], direction: Option<DVec3>) -> Vec<bool> {
        match direction {
            None => vec![true; points.len()],
            Some(d) => points.par_iter().map(|p| !self.lit(*p, d)).collect(),
        }
    }
}

/// Hours of direct sun at each façade point over the day's samples, in
/// parallel; features and terrain both cast shadows. One question of a
/// city: [`Shade`] keeps the terrain for several.
pub fn sunlight_hours(
    city: &CityModel,
    points: &[FacadePoint],
    directions: &[Option<DVec3>],
    step_min: f64,
) -> Vec<f64> {
    Shade::new(city).sunlight_hours(points, directions, step_min)
}

/// For each point, whether it lies in shadow (of features or terrain) with
/// the sun in `direction` (None: night, all shadow). See [`Shade`].
pub fn shadow_mask(city: &CityModel, points: &[DVec3], direction: Option<DVec3>) -> Vec<bool> {
    Shade::new(city).shadow_mask(points, direction)
}
