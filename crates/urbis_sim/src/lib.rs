//! # urbis_sim: what-if scenarios
//!
//! Analyses that read the city (its terrain grid and features) and write
//! rasters, tables and reports; no GPU. So far:
//!
//! - [`flood`]: a 2D local-inertial shallow-water solver (Bates et al. 2010,
//!   LISFLOOD-FP ACC) on a raster: rainfall, inflow hydrographs and fixed
//!   stages, Manning friction, wet/dry fronts, mass-conserving flux
//!   limiting, and only active tiles updated. Outputs maximum depth,
//!   arrival time and maximum speed per cell.
//!
//! ```text
//! DEM grid + burnt-in buildings + roughness ─► FloodModel ─► FloodSim::step (rayon over rows)
//!                                                              └─► max depth, arrival, max speed, mass balance
//! ```

pub mod flood;

pub use flood::{Balance, FloodError, FloodModel, FloodSim, Inflow, Series};
