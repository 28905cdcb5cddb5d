//! Turning a scenario's modifications into a changed city.
//!
//! - [`apply_to_city`] adds, removes and raises buildings in a
//!   [`CityModel`]. For analyses ([`Apply::Rebuild`]) geometry really changes:
//!   removed buildings are despawned and raised ones get stretched meshes.
//!   For the 3D comparison ([`Apply::Overlay`]) nothing is lost: removed
//!   buildings stay (to be hidden), raised ones keep their meshes (to be
//!   stretched by style), and earthworks become visible features.
//! - [`apply_to_grid`] edits the flood grid's bed: terrain polygons raised
//!   or lowered, levees as bands of raised cells at least one cell wide in
//!   both axes so that water cannot pass between diagonal neighbours.

use bevy_ecs::prelude::*;
use glam::{DVec2, DVec3};
use urbis_geo::{CityFrame, CrsTransform, Epsg};
use urbis_model::{
    Attributes, Bounds, CityModel, GeometryHandle, InstanceTransform, Lod, Material, MeshStore, NewFeature, Parts,
    Placement, SemanticClass,
};

use super::{Crs, Located, Modification, Scenario, Shape};
use crate::city::{CityGrid, Cover};
use crate::proposal::prism_mesh;

/// A modification that cannot be applied to this city.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ApplyError {
    pub at: Located,
    pub message: String,
}

/// Whether modifications rebuild geometry (analysis) or overlay it (3D comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Rebuild,
    Overlay,
}

/// What a scenario changed in a city.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub added: Vec<Entity>,
    /// Despawned under [`Apply::Rebuild`]; still present under [`Apply::Overlay`].
    pub removed: Vec<Entity>,
    /// Raised buildings and their height factor (new / old).
    pub raised: Vec<(Entity, f64)>,
    /// Levees and ground edits as features (only under [`Apply::Overlay`]).
    pub earthworks: Vec<Entity>,
}

impl Changes {
    /// ENU footprint centres of added and raised buildings (where their impact is felt).
    pub fn centres(&self, city: &CityModel) -> Vec<DVec3> {
        let ents = self.added.iter().chain(self.raised.iter().map(|(e, _)| e));
        ents.filter_map(|e| city.world.get::<Bounds>(*e).map(|b| b.center())).collect()
    }
}

/// A shape's points in the city's ENU frame (x east, y north), metres.
pub fn to_enu(shape: &Shape, frame: &CityFrame) -> Result<Vec<DVec2>, ApplyError> {
    let fail = |m: String| ApplyError { at: shape.at.clone(), message: m };
    match shape.crs {
        Crs::Local => Ok(shape.points.iter().map(|p| DVec2::new(p[0], p[1])).collect()),
        Crs::Epsg(crs) => {
            let t = CrsTransform::new(crs, Epsg(4978)).map_err(|e| fail(e.to_string()))?;
            let mut pts: Vec<DVec3> = shape.points.iter().map(|p| DVec3::new(p[0], p[1], 0.0)).collect();
            t.transform_all(&mut pts).map_err(|(i, e)| fail(format!("point {i}: {e}")))?;
            let enu: Vec<DVec2> = pts.iter().map(|p| frame.ecef_to_enu(*p).truncate()).collect();
            // A wrong CRS (or axis order) puts the shape thousands of kilometres away.
            if let Some(far) = enu.iter().find(|p| p.length() > 200_000.0) {
                return Err(fail(format!(
                    "lies {:.0} km from the city (wrong CRS, or latitude written before longitude?)",
                    far.length() / 1000.0
                )));
            }
            Ok(enu)
        }
    }
}

fn polygon(points: &[DVec2]) -> geo::Polygon<f64> {
    use geo::orient::{Direction, Orient};
    let ring: Vec<(f64, f64)> = points.iter().map(|p| (p.x, p.y)).collect();
    geo::Polygon::new(geo::LineString::from(ring), vec![]).orient(Direction::Default)
}

/// The terrain's height under an ENU point (straight down through the terrain's triangles).
pub fn ground_at(city: &CityModel, x: f64, y: f64) -> Option<f64> {
    let world = &city.world;
    let terrain = |e: Entity| world.get::<SemanticClass>(e) == Some(&SemanticClass::TIN_RELIEF);
    let hit = city.spatial().ray_cast_where(world, DVec3::new(x, y, 20_000.0), DVec3::NEG_Z, 40_000.0, terrain)?;
    Some(hit.point.z)
}

fn building(city: &CityModel, id: &str, at: &Located) -> Result<Entity, ApplyError> {
    let e = city
        .features()
        .by_guid(id)
        .ok_or_else(|| ApplyError { at: at.clone(), message: format!("no feature `{id}` in the city") })?;
    match city.world.get::<SemanticClass>(e) {
        Some(c) if c.is_building_or_part() => Ok(e),
        other => Err(ApplyError {
            at: at.clone(),
            message: format!("`{id}` is a {}, not a building", other.map_or("feature without a class", |c| c.name())),
        }),
    }
}

/// The building and its parts.
fn with_parts(city: &CityModel, e: Entity) -> Vec<Entity> {
    let mut v = vec![e];
    v.extend(city.world.get::<Parts>(e).map(|p| p.0.clone()).unwrap_or_default());
    v
}

/// Base height and top of a building with its parts.
pub fn building_extent(city: &CityModel, e: Entity) -> Option<(f64, f64)> {
    let b =
        with_parts(city, e).iter().filter_map(|p| city.world.get::<Bounds>(*p).copied()).reduce(|a, b| a.union(b))?;
    (!b.is_empty()).then_some((b.min.z, b.max.z))
}

/// Stretches a feature's geometry vertically about `base` (ENU height) by `factor`.
fn stretch(city: &mut CityModel, e: Entity, base: f64, factor: f64) {
    let (Some(handle), Some(place)) =
        (city.world.get::<GeometryHandle>(e).copied(), city.world.get::<Placement>(e).copied())
    else {
        return;
    };
    let Some(mesh) = city.meshes().get(handle.mesh) else { return };
    let linear = city.world.get::<InstanceTransform>(e).map(|t| t.linear);
    let mut mesh = mesh.clone();
    let mut bounds = Bounds::EMPTY;
    for v in &mut mesh.vertices {
        let mut p = linear.map_or(v.position.as_dvec3(), |l| l * v.position.as_dvec3());
        p.z = base - place.enu.z + (p.z - (base - place.enu.z)) * factor;
        v.position = p.as_vec3();
        bounds = bounds.including(place.enu + p);
    }
    let id = city.world.resource_mut::<MeshStore>().add(mesh);
    let mut r = city.world.entity_mut(e);
    r.insert(GeometryHandle { mesh: id, lod: handle.lod });
    r.remove::<InstanceTransform>();
    r.insert(bounds);
}

/// Applies the scenario's building changes (and, under [`Apply::Overlay`],
/// earthworks as features) to `city`, then rebuilds its spatial index.
pub fn apply_to_city(city: &mut CityModel, scenario: &Scenario, mode: Apply) -> Result<Changes, ApplyError> {
    let frame = *city.frame();
    let mut changes = Changes::default();
    for m in &scenario.modifications {
        match m {
            Modification::AddBuilding { id, footprint, height, usage, storey } => {
                let pts = to_enu(footprint, &frame)?;
                let poly = polygon(&pts);
                let ground = pts.iter().filter_map(|p| ground_at(city, p.x, p.y)).fold(f64::INFINITY, f64::min);
                let ground = if ground.is_finite() { ground } else { 0.0 };
                let origin = DVec3::new(pts[0].x, pts[0].y, ground);
                let mut f = NewFeature::new(id.clone(), SemanticClass::BUILDING, origin);
                f.mesh = Some((
                    prism_mesh(&poly, origin, *height, [205, 120, 110, 255], [170, 95, 90, 255], Material::Facade),
                    Lod(12),
                ));
                f.footprint = Some(poly);
                let floors = (height / storey).floor().max(1.0) as i64;
                f.attributes = Attributes::default()
                    .with("use", usage.clone())
                    .with("height", *height)
                    .with("floors", floors)
                    .with("proposed", true);
                changes.added.push(city.spawn_feature(f));
                city.rebuild_spatial_index();
            }
            Modification::RemoveBuilding { id, at } => {
                let e = building(city, id, at)?;
                if mode == Apply::Rebuild {
                    city.remove_feature(e);
                    city.rebuild_spatial_index();
                }
                changes.removed.push(e);
            }
            Modification::RaiseBuilding { id, by, to, at } => {
                let e = building(city, id, at)?;
                let (base, top) = building_extent(city, e)
                    .ok_or_else(|| ApplyError { at: at.clone(), message: format!("`{id}` has no geometry") })?;
                let old = (top - base).max(0.1);
                let new = to.unwrap_or(old + by.unwrap_or(0.0));
                if new < 1.0 {
                    return Err(ApplyError { at: at.clone(), message: format!("`{id}` would be {new:.1} m tall") });
                }
                let factor = new / old;
                if mode == Apply::Rebuild {
                    for p in with_parts(city, e) {
                        stretch(city, p, base, factor);
                    }
                    if let Some(mut a) = city.world.get_mut::<Attributes>(e) {
                        *a = std::mem::take(&mut *a).with("height", new);
                    }
                    city.rebuild_spatial_index();
                }
                changes.raised.push((e, factor));
            }
            Modification::Terrain { polygon: shape, by } if mode == Apply::Overlay => {
                let pts = to_enu(shape, &frame)?;
                let poly = polygon(&pts);
                let ground = pts.iter().filter_map(|p| ground_at(city, p.x, p.y)).fold(f64::INFINITY, f64::max);
                let ground = if ground.is_finite() { ground } else { 0.0 };
                let origin = DVec3::new(pts[0].x, pts[0].y, ground + by.min(0.0));
                let colour = if *by >= 0.0 { [190, 160, 110, 255] } else { [120, 90, 60, 255] };
                let mut f = NewFeature::new(
                    format!("earthwork-{}", changes.earthworks.len() + 1),
                    SemanticClass::GENERIC_CITY_OBJECT,
                    origin,
                );
                f.mesh =
                    Some((prism_mesh(&poly, origin, by.abs().max(0.3), colour, colour, Material::Terrain), Lod(12)));
                f.footprint = Some(poly);
                f.attributes = Attributes::default().with("scenario", m.describe());
                changes.earthworks.push(city.spawn_feature(f));
            }
            Modification::Levee { line, height, width } if mode == Apply::Overlay => {
                let pts = to_enu(line, &frame)?;
                for (k, w) in pts.windows(2).enumerate() {
                    let d = (w[1] - w[0]).normalize_or_zero();
                    let n = DVec2::new(-d.y, d.x) * (*width / 2.0);
                    let quad = [w[0] - n, w[1] - n, w[1] + n, w[0] + n];
                    let ground =
                        [w[0], w[1]].iter().filter_map(|p| ground_at(city, p.x, p.y)).fold(f64::INFINITY, f64::min);
                    let ground = if ground.is_finite() { ground } else { 0.0 };
                    let origin = DVec3::new(quad[0].x, quad[0].y, ground);
                    let mut f = NewFeature::new(
                        format!("levee-{}-{k}", changes.earthworks.len() + 1),
                        SemanticClass::GENERIC_CITY_OBJECT,
                        origin,
                    );
                    let poly = polygon(&quad);
                    f.mesh = Some((
                        prism_mesh(
                            &poly,
                            origin,
                            *height,
                            [150, 140, 120, 255],
                            [120, 150, 90, 255],
                            Material::Terrain,
                        ),
                        Lod(12),
                    ));
                    f.footprint = Some(poly);
                    f.attributes = Attributes::default().with("scenario", m.describe());
                    changes.earthworks.push(city.spawn_feature(f));
                }
            }
            Modification::Terrain { .. } | Modification::Levee { .. } => {}
        }
    }
    city.rebuild_spatial_index();
    Ok(changes)
}

/// Squared distance from `p` to the segment a–b.
fn segment_distance2(p: DVec2, a: DVec2, b: DVec2) -> f64 {
    let ab = b - a;
    let t = if ab.length_squared() > 0.0 { ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0) } else { 0.0 };
    (a + ab * t - p).length_squared()
}

/// Cells changed by terrain edits and levees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridEdits {
    pub terrain_cells: usize,
    pub levee_cells: usize,
}

/// Applies terrain edits and levees to the flood grid's bed (built
/// buildings stay as they are; water bodies keep their surface level).
pub fn apply_to_grid(grid: &mut CityGrid, scenario: &Scenario, frame: &CityFrame) -> Result<GridEdits, ApplyError> {
    use geo::Contains;
    let mut edits = GridEdits::default();
    let dx = grid.model.dx;
    for m in &scenario.modifications {
        match m {
            Modification::Terrain { polygon: shape, by } => {
                let poly = polygon(&to_enu(shape, frame)?);
                for c in 0..grid.enu.len() {
                    let p = grid.enu[c];
                    if grid.cover[c] == Cover::Building
                        || !grid.model.z[c].is_finite()
                        || !poly.contains(&geo::Point::new(p.x, p.y))
                    {
                        continue;
                    }
                    let level = grid.model.z[c] + grid.h0[c];
                    grid.model.z[c] += by;
                    grid.h0[c] = if grid.h0[c] > 0.0 { (level - grid.model.z[c]).max(0.0) } else { 0.0 };
                    edits.terrain_cells += 1;
                }
            }
            Modification::Levee { line, height, width } => {
                let pts = to_enu(line, frame)?;
                // At least √2/2 cell: the band covers a 4-connected chain of cells.
                let half = (width / 2.0).max(dx * std::f64::consts::FRAC_1_SQRT_2 + 1e-9);
                for c in 0..grid.enu.len() {
                    let p = grid.enu[c].truncate();
                    if !grid.model.z[c].is_finite() || grid.cover[c] == Cover::Building {
                        continue;
                    }
                    if pts.windows(2).any(|w| segment_distance2(p, w[0], w[1]) <= half * half) {
                        let crest = grid.model.z[c] + height;
                        grid.model.z[c] = crest;
                        grid.h0[c] = 0.0;
                        grid.cover[c] = Cover::Ground;
                        edits.levee_cells += 1;
                    }
                }
                grid.model.fixed_stage.retain(|((i, j), _)| grid.h0[j * grid.model.nx + i] > 0.0);
            }
            _ => {}
        }
    }
    Ok(edits)
}
