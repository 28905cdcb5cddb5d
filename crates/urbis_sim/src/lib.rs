//! # urbis_sim: what-if scenarios
//!
//! Analyses that read the city (its terrain grid and features) and write
//! rasters, tables and reports; no GPU.
//!
//! - [`flood`]: a 2D local-inertial shallow-water solver (Bates et al. 2010,
//!   LISFLOOD-FP ACC) on a raster: rainfall, inflow hydrographs and fixed
//!   stages, Manning friction, wet/dry fronts, mass-conserving flux
//!   limiting, and only active tiles updated. Outputs maximum depth,
//!   arrival time and maximum speed per cell.
//!
//! - [`lisflood`]: LISFLOOD-FP cases (`.par`, DEM, `.bci`, `.bdy`,
//!   `.stage`, start and Manning grids) run with this solver under
//!   LISFLOOD-FP's semantics, writing its `.stage`, `.mass`, `.max`, `.mxe`
//!   and other outputs in its formats;
//! - [`city`]: the city model's DEM as a flood grid in the DEM's own CRS,
//!   cell centres placed in ENU through PROJ, buildings burnt in as raised
//!   cells, water bodies filled, roughness from land cover; and the
//!   buildings a flood reaches;
//! - [`sunlight`]: sun directions over a day in true solar time, façade
//!   sample points per storey, sunlight hours and shadow masks by exact ray
//!   casting through the spatial index (rayon);
//! - [`terrain`]: the DEM as a height field in ENU, for rays that must see hills;
//! - [`viewshed`]: the cells an observer sees over the grid's surface
//!   model, and sightlines through the city naming the first obstruction;
//! - [`proposal`]: a proposed building added to the model like any other;
//! - [`report`]: ASCII grids with `.prj`, GeoTIFF, CSV and GeoJSON, PNG maps with
//!   legend, units, scale bar and north arrow, line charts;
//! - [`scenario`]: TOML scenario files (errors with line and field), their
//!   modifications applied to a city and its flood grid, the run of every
//!   analysis on baseline and scenario with diffs and a Markdown report, and
//!   the 3D comparison by style.
//!
//! ```text
//! CityModel (Terrain, footprints, classes) ─► city::flood_grid ─► FloodModel ─► FloodSim::step (rayon over rows)
//!                                                                     └─► max depth, arrival, max speed, mass balance
//!                                               report ◄── city::flooded_buildings ◄──┘
//!
//! scenario.toml ─► Scenario ─► apply (city: buildings; grid: terrain, levees) ─► run: each analysis on
//!                                 baseline and scenario ─► diffs, maps, CSV, report.md, results.json
//! ```

pub mod city;
pub mod flood;
mod flood_kernel;
pub mod lisflood;
pub mod playback;
pub mod proposal;
pub mod report;
pub mod scenario;
pub mod sunlight;
pub mod terrain;
pub mod viewshed;

pub use flood::{Balance, FloodError, FloodModel, FloodSim, Inflow, Series};
