//! # urbis_model: the city as entities
//!
//! One bevy_ecs entity per real-world feature (building, building part,
//! road segment, tree, water body, terrain), each with:
//!
//! - [`FeatureId`]: the source GUID and a compact u32 index for the GPU;
//! - [`SemanticClass`]: the source's own class (CityJSON type, IFC entity,
//!   3D Tiles metadata class) and its [`Family`];
//! - [`Attributes`]: typed values (string, int, float, bool, date);
//! - [`Placement`]: an f64 origin in the city's ENU frame;
//! - [`Footprint`]: a `geo::Polygon` in local metres, where it has one;
//! - [`GeometryHandle`]: a mesh in the [`MeshStore`] with its [`Lod`];
//! - [`Bounds`]: an axis-aligned box in ENU metres;
//! - [`FeatureStyle`]: colour override, visibility, highlight and live extrusion;
//! - [`imagery`]: orthophotos and base maps draped on the terrain ([`drape`]);
//! - sensors ([`Sensor`], [`Observes`], [`LatestReading`], [`History`]): live
//!   devices as entities bound to the features they observe.
//!
//! Data flow:
//!
//! ```text
//! files ─► urbis_formats readers ─► load (reproject to ENU, mesh) ─► CityModel (World)
//!                                                       │
//!          SpatialIndex (rstar) ◄── rebuild ────────────┤
//!          FeatureQuery (attributes) ◄── select ────────┘
//! ```
//!
//! The model never touches the GPU: the engine crate extracts from it.

pub mod attributes;
pub mod city;
pub mod class;
pub mod classify;
pub mod components;
pub mod ground;
pub mod imagery;
pub mod load;
pub mod mesh;
pub mod monomerize;
pub mod query;
pub mod retained;
pub mod sensors;
pub mod spatial;
pub mod style;

pub use attributes::{AttributeValue, Attributes, Date};
pub use city::{CityModel, FeatureTable, Frame, NewFeature, SpawnLog};
pub use class::{ClassFilter, Family, UnknownFamily};
pub use components::{
    Bounds, FeatureId, FeatureStyle, Footprint, GeometryHandle, HiddenChunks, InstanceTransform, Lod, PartOf, Parts,
    Placement, SemanticClass, TileChunk,
};
pub use imagery::{
    DrapeError, DrapeOptions, DrapeReport, Draped, DrapedGround, ImageryLayer, LayerOutcome, LayerReport, drape,
    drape_with,
};
pub use load::{
    FeaturePreparer, FootprintOptions, LoadError, LoadOptions, LoadReport, Place, PlaceParseError, StreamFrame,
    StreamedTileset, Terrain, TileDetail, open_city, open_city_opts, open_city_streaming, open_city_with,
};
pub use mesh::{CpuMesh, Material, MeshGroup, MeshId, MeshStore, MeshVertex, TextureId, TextureStore, Topology};
pub use query::{CompareOp, FeatureQuery, Predicate};
pub use retained::{Retained, RetainedAttributes};
pub use sensors::{
    BindError, Binder, BindingTarget, History, LatestReading, LiveLabel, NewSensor, Observes, Quality, Sensor,
};
pub use spatial::{RayHit, SpatialIndex};
