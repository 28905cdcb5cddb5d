//! From the city model to a flood grid: the DEM (the TINRelief feature's
//! `Terrain`) in its own CRS and cells, optionally coarsened; every cell
//! centre placed in the city's ENU frame through PROJ, so that bed heights,
//! building roofs and water surfaces share one vertical reference; buildings
//! burnt in as raised cells; water bodies filled to their surface, and held
//! at it where they cross the grid's edge (the river's inflow and outlet);
//! Manning's n from the land class under each cell.

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_geo::{CrsTransform, Epsg};
use urbis_model::{Bounds, CityModel, Family, FeatureId, SemanticClass, Terrain};

use crate::flood::{FloodError, FloodModel};

/// Paved ground for Manning's n: roads, squares, bridges (rails and tunnels are not).
fn is_paved(class: SemanticClass) -> bool {
    class.family() == Family::Transport && class != SemanticClass::RAILWAY && !class.name().starts_with("Tunnel")
}

/// Errors building a city flood grid.
#[derive(Debug, thiserror::Error)]
pub enum CityGridError {
    #[error("the city has no terrain grid (load a DEM: ESRI ASCII grid or GeoTIFF)")]
    NoTerrain,
    #[error("terrain CRS {crs}: {why}")]
    Crs { crs: String, why: String },
    #[error(transparent)]
    Flood(#[from] FloodError),
}

/// Manning's n per land class, s/m^(1/3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roughness {
    pub road: f64,
    pub vegetation: f64,
    pub water: f64,
    /// Bare or unclassified ground.
    pub ground: f64,
}

impl Default for Roughness {
    fn default() -> Self {
        // Chow (1959) typical values: asphalt, short grass/parkland, natural channel, open land.
        Self { road: 0.016, vegetation: 0.05, water: 0.03, ground: 0.035 }
    }
}

/// How to build the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridOptions {
    /// Merge k × k DEM cells into one (1: the DEM's own cells).
    pub coarsen: usize,
    pub roughness: Roughness,
    /// Refuse grids that would need more memory than this, bytes.
    pub memory_limit: u64,
}

impl Default for GridOptions {
    fn default() -> Self {
        Self { coarsen: 1, roughness: Roughness::default(), memory_limit: 4 << 30 }
    }
}

/// What a cell is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    Ground,
    Road,
    Vegetation,
    Water,
    /// A building (its entity is in `CityGrid::building`).
    Building,
}

/// A flood model of the city and how its cells map back to the city.
#[derive(Debug, Clone)]
pub struct CityGrid {
    pub model: FloodModel,
    /// Initial depths (water bodies filled to their surface).
    pub h0: Vec<f64>,
    /// The grid's CRS (the DEM's), and its south-west corner and cell size in it.
    pub crs: Option<Epsg>,
    pub x_min: f64,
    pub y_min: f64,
    /// ENU position of every cell centre (bed height in z), row 0 south.
    pub enu: Vec<DVec3>,
    pub cover: Vec<Cover>,
    /// The building standing on each cell, if any.
    pub building: Vec<Option<Entity>>,
}

impl CityGrid {
    pub fn nx(&self) -> usize {
        self.model.nx
    }

    pub fn ny(&self) -> usize {
        self.model.ny
    }

    /// The cell whose centre is nearest to the ENU point, if inside the grid (by the ENU centres' bounds).
    pub fn cell_at_enu(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let mut best: Option<(f64, usize)> = None;
        for (c, p) in self.enu.iter().enumerate() {
            let d = (p.x - x).powi(2) + (p.y - y).powi(2);
            if d.is_finite() && best.is_none_or(|(b, _)| d < b) {
                best = Some((d, c));
            }
        }
        let (d, c) = best?;
        (d.sqrt() <= self.model.dx).then_some((c % self.model.nx, c / self.model.nx))
    }
}

/// Builds the flood grid of `city` from its terrain.
pub fn flood_grid(city: &mut CityModel, opts: &GridOptions) -> Result<CityGrid, CityGridError> {
    let grid = {
        let mut q = city.world.query::<&Terrain>();
        q.iter(&city.world).next().map(|t| t.grid.clone()).ok_or(CityGridError::NoTerrain)?
    };
    let k = opts.coarsen.max(1);
    let (nx, ny) = (grid.ncols / k, grid.nrows / k);
    let dx = grid.cell_size * k as f64;
    // Coarsened heights, solver order: row 0 is the southernmost.
    let mut height = vec![f64::NAN; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let (mut sum, mut n) = (0.0, 0);
            for dj in 0..k {
                for di in 0..k {
                    // DEM row 0 is the northernmost.
                    let r = grid.nrows - 1 - (j * k + dj);
                    let v = grid.heights[r * grid.ncols + i * k + di];
                    if v.is_finite() {
                        sum += v as f64;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                height[j * nx + i] = sum / n as f64;
            }
        }
    }
    // Cell centres into the city frame (ENU) with their heights.
    let frame = *city.frame();
    let mut points: Vec<DVec3> = (0..nx * ny)
        .map(|c| {
            let (i, j) = (c % nx, c / nx);
            DVec3::new(grid.x_min + (i as f64 + 0.5) * dx, grid.y_min + (j as f64 + 0.5) * dx, height[c].max(-1e4))
        })
        .collect();
    match grid.crs {
        Some(crs) => {
            let t = CrsTransform::new(crs, Epsg(4978))
                .map_err(|e| CityGridError::Crs { crs: crs.to_string(), why: e.to_string() })?;
            t.transform_all(&mut points)
                .map_err(|(i, e)| CityGridError::Crs { crs: crs.to_string(), why: format!("cell {i}: {e}") })?;
            for p in &mut points {
                *p = frame.ecef_to_enu(*p);
            }
        }
        None => {
            // A DEM without CRS was loaded in local metres: its coordinates are the frame's.
        }
    }
    let z: Vec<f64> = points.iter().zip(&height).map(|(p, h)| if h.is_finite() { p.z } else { f64::NAN }).collect();
    let mut model = FloodModel::new(nx, ny, dx, z, opts.roughness.ground, opts.memory_limit)?;
    let mut cover = vec![Cover::Ground; nx * ny];
    let mut building = vec![None; nx * ny];
    let mut h0 = vec![0.0; nx * ny];
    let spatial = city.spatial();
    let world = &city.world;
    for c in 0..nx * ny {
        if !model.z[c].is_finite() {
            continue;
        }
        let p = points[c];
        for e in spatial.at_ground_point(world, p.x, p.y) {
            let Ok(r) = world.get_entity(e) else { continue };
            let Some(&class) = r.get::<SemanticClass>() else { continue };
            let has_footprint = r.get::<urbis_model::Footprint>().is_some();
            match class {
                k if k.is_building_or_part() && has_footprint => {
                    if let Some(b) = r.get::<Bounds>() {
                        // Raised to the roof: water flows around, never through.
                        model.z[c] = model.z[c].max(b.max.z);
                        cover[c] = Cover::Building;
                        // Parts count as their building.
                        let owner = r.get::<urbis_model::PartOf>().map_or(e, |p| p.0);
                        building[c] = Some(owner);
                    }
                }
                k if k.family() == Family::Water && cover[c] != Cover::Building => {
                    cover[c] = Cover::Water;
                    // The water body's surface: the top of its (flat) geometry, in ENU like the bed.
                    if let Some(s) = r.get::<Bounds>().map(|b| b.max.z) {
                        h0[c] = (s - model.z[c]).max(0.0);
                    }
                }
                // Paved: roads, squares and bridges (not rails or tunnels underground).
                k if is_paved(k) && matches!(cover[c], Cover::Ground) => cover[c] = Cover::Road,
                SemanticClass::PLANT_COVER if matches!(cover[c], Cover::Ground) => cover[c] = Cover::Vegetation,
                _ => {}
            }
        }
        model.manning[c] = match cover[c] {
            Cover::Road => opts.roughness.road,
            Cover::Vegetation => opts.roughness.vegetation,
            Cover::Water => opts.roughness.water,
            Cover::Ground | Cover::Building => opts.roughness.ground,
        };
        if cover[c] == Cover::Building {
            h0[c] = 0.0;
        }
    }
    // Water leaves where water bodies cross the grid's edge: those cells hold their initial level.
    for j in 0..ny {
        for i in 0..nx {
            let c = j * nx + i;
            let edge = i == 0 || j == 0 || i == nx - 1 || j == ny - 1;
            if edge && cover[c] == Cover::Water && h0[c] > 0.0 {
                model.fixed_stage.push(((i, j), model.z[c] + h0[c]));
            }
        }
    }
    Ok(CityGrid { model, h0, crs: grid.crs, x_min: grid.x_min, y_min: grid.y_min, enu: points, cover, building })
}

/// A building's flood exposure: the deepest water in the cells around it.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodedBuilding {
    pub entity: Entity,
    pub id: String,
    /// Deepest water recorded next to the building, metres.
    pub max_depth: f64,
    /// ENU centre of its cells.
    pub centre: DVec3,
}

/// The rise of the maximum depth over the initial water (rivers and ponds
/// start full), NaN on building cells: rain ponding on a roof is not ground
/// flooding. Reports' maps, deep areas and flooded-building lists all start
/// from it, so that they agree.
pub fn ground_rise(grid: &CityGrid, max_depth: &[f32]) -> Vec<f32> {
    max_depth
        .iter()
        .zip(&grid.h0)
        .zip(&grid.cover)
        .map(|((d, h), c)| if *c == Cover::Building { f32::NAN } else { (*d as f64 - h) as f32 })
        .collect()
}

/// Buildings whose neighbouring cells saw water deeper than `threshold`, deepest first.
pub fn flooded_buildings(city: &CityModel, grid: &CityGrid, max_depth: &[f32], threshold: f64) -> Vec<FloodedBuilding> {
    use std::collections::HashMap;
    let (nx, ny) = (grid.nx(), grid.ny());
    let mut by_building: HashMap<Entity, (f64, DVec3, usize)> = HashMap::new();
    for j in 0..ny {
        for i in 0..nx {
            let Some(b) = grid.building[j * nx + i] else { continue };
            let entry = by_building.entry(b).or_insert((0.0, DVec3::ZERO, 0));
            entry.1 += grid.enu[j * nx + i];
            entry.2 += 1;
            for (di, dj) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                let (ni, nj) = (i as i64 + di, j as i64 + dj);
                if ni < 0 || nj < 0 || ni >= nx as i64 || nj >= ny as i64 {
                    continue;
                }
                let n = nj as usize * nx + ni as usize;
                if grid.building[n].is_none() {
                    entry.0 = entry.0.max(max_depth[n] as f64);
                }
            }
        }
    }
    let mut out: Vec<FloodedBuilding> = by_building
        .into_iter()
        .filter(|(_, (d, _, _))| *d > threshold)
        .map(|(e, (d, sum, n))| FloodedBuilding {
            entity: e,
            id: city.world.get::<FeatureId>(e).map(|f| f.guid.clone()).unwrap_or_default(),
            max_depth: d,
            centre: sum / n as f64,
        })
        .collect();
    out.sort_by(|a, b| b.max_depth.total_cmp(&a.max_depth).then(a.id.cmp(&b.id)));
    out
}
