//! The ground under a point of the city frame: what footprints, sensors
//! and labels stand on.
//!
//! ```text
//! (x, y) ENU ─► StreamedTerrain resource (the globe's terrain, `--globe`):
//!                 ENU → longitude, latitude → the terrain source's height
//!                 (DEM bilinear, quantized-mesh triangle, 0 on the ellipsoid) → ENU z
//!           └─► else the first TINRelief surface a vertical ray meets (a DEM loaded whole)
//! ```
//!
//! The streamed terrain answers from its source, not from the tiles drawn
//! now, so a footprint stands at the same height whatever level of detail
//! the camera has loaded (the finest tiles sample the same source).

use std::sync::Arc;

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_tiles::terrain::TerrainGenerator;

use crate::{CityModel, SemanticClass};

/// The streamed terrain of a model on the globe.
#[derive(Resource, Clone, Debug)]
pub struct StreamedTerrain(pub Arc<TerrainGenerator>);

/// The ground height (ENU z) under (x, y): the streamed terrain's, or the
/// terrain a vertical ray meets first (`None` over no terrain, or where
/// another feature is met first).
pub fn ground_height(model: &CityModel, x: f64, y: f64) -> Option<f64> {
    if let Some(t) = model.world.get_resource::<StreamedTerrain>() {
        let frame = model.frame();
        let g = frame.enu_to_geodetic(DVec3::new(x, y, 0.0));
        let h = t.0.height_at(g.lon_deg, g.lat_deg);
        return Some(frame.geodetic_to_enu(urbis_geo::Geodetic::new(g.lon_deg, g.lat_deg, h)).z);
    }
    let hit = model.spatial().ray_cast(&model.world, DVec3::new(x, y, 1.0e5), -DVec3::Z, 2.0e5)?;
    (model.world.get::<SemanticClass>(hit.entity) == Some(&SemanticClass::TIN_RELIEF)).then_some(hit.point.z)
}
