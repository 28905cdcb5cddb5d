//! # urbis_geo: where things are on the Earth
//!
//! Every position in Urbis starts as coordinates in some coordinate reference
//! system (CRS): EPSG:4326 longitude/latitude, CGCS2000 Gauss-Krüger eastings,
//! a UTM zone. This crate turns them into **f64 Earth-centred, Earth-fixed
//! (ECEF, EPSG:4978)** positions and into the **local east-north-up (ENU)**
//! frame of a city, and back.
//!
//! Data flow:
//!
//! ```text
//! source CRS coords ──CrsTransform (PROJ)──► geographic lon/lat/h
//!        geographic ──Ellipsoid::geodetic_to_ecef──► ECEF (f64)
//!              ECEF ──CityFrame::ecef_to_enu──► city-local ENU metres (f64)
//! ```
//!
//! Nothing here is f32: the renderer only ever receives differences of these
//! f64 values (camera- or chunk-relative), computed by its callers.
//!
//! - [`ellipsoid`]: WGS84 / CGCS2000 ellipsoids, geodetic ↔ ECEF.
//! - [`frame`]: ENU bases and the [`CityFrame`] of a district.
//! - [`sun`]: the sun's topocentric zenith and azimuth (NOAA class, 0.01°).
//! - [`crs`]: `CrsTransform` between any two EPSG codes (through PROJ,
//!   with ECEF handled in closed form so that heights survive). Feature
//!   `proj` (on for everything but the format readers, which only name CRSs).

#[cfg(feature = "proj")]
pub mod calendar;
pub mod crs;
pub mod ellipsoid;
pub mod epsg;
pub mod frame;
pub mod sun;

#[cfg(feature = "proj")]
pub use crs::CrsTransform;
pub use ellipsoid::{Ellipsoid, Geodetic};
pub use epsg::Epsg;
pub use frame::{CityFrame, enu_basis};
pub use sun::{SunInput, SunPosition, julian_day, julian_day_of_unix_ms, sun_position};

/// Errors of the geodesy crate.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// PROJ could not build a transformation between two CRSs.
    #[error("cannot create a transform from EPSG:{from} to EPSG:{to}: {reason}")]
    CreateTransform { from: u32, to: u32, reason: String },
    /// PROJ failed on one coordinate.
    #[error("transform EPSG:{from} → EPSG:{to} failed for ({x}, {y}): {reason}")]
    Transform { from: u32, to: u32, x: f64, y: f64, reason: String },
    /// A coordinate outside the valid domain (NaN, latitude beyond ±90°, ...).
    #[error("invalid coordinate: {0}")]
    InvalidCoordinate(String),
}
