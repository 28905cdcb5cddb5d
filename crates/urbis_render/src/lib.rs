//! # urbis_render: the data-blind city renderer on wgpu
//!
//! This crate draws triangles it is given; it knows nothing of the ECS, of
//! buildings or of CRSs. Its callers hand it:
//!
//! - **chunks** ([`ChunkMesh`]): batched geometry of many features, with an
//!   f64 origin and rotation and f32 vertices relative to that origin. Every
//!   vertex carries the compact index of the feature it belongs to;
//! - **feature styles** ([`FeatureStyle`]): colour override, visibility,
//!   highlight and selection per feature index, kept in one GPU storage
//!   buffer, so restyling a feature uploads 24 bytes and no geometry;
//! - a [`Camera`] with an f64 position and [`Lighting`];
//! - optionally, classification volumes ([`ClassificationGrid`]): prisms
//!   that give the pixels of classified surfaces (photo meshes) their
//!   feature index and style at render time;
//! - optionally, a [`Section`] (clipping plane or section box) whose cut
//!   faces are capped ([`Renderer::set_section`]);
//! - optionally, flattening polygons ([`FlattenPolygon`],
//!   [`Renderer::set_flatten`]) that press photo meshes and tileset content
//!   down so that proposed buildings can stand in their place.
//!
//! - optionally, **building fields** ([`BuildingField`],
//!   [`GpuScene::upsert_field`]): up to millions of buildings as instances
//!   of a few template meshes with two levels of detail, culled (frustum,
//!   the previous frame's depth pyramid, the sun's volume) and given their
//!   level per building by a compute pass, and drawn with a fixed list of
//!   indirect draws; a CPU path does the same where the device cannot
//!   (see `field`).
//!
//! Features whose style carries a transparency (`1 − opacity`) are drawn
//! see-through (X-ray), in a second, blended part of the city pass that
//! writes no feature ids, so picks see through them (see `transparency.rs`).
//!
//! ```text
//! ChunkMesh ──upsert──► GpuScene (vertex/index buffers per chunk)
//! FeatureStyle ─set──► GpuScene (style storage buffer, dirty runs)
//! Camera (f64) ──► per-chunk camera-relative f32 matrices (computed in f64)
//!      └─► Renderer: city pass (colour + feature id + reversed-Z depth)
//!                    → composite (sky, outlines, selection, tone map)
//!                    → overlay (text panels) → any TextureView
//! ```
//!
//! The same [`Renderer::render`] draws into a window's surface texture or a
//! headless texture ([`HeadlessTarget`]) that is read back to PNG; the
//! feature-id target answers picking ([`Renderer::pick`]).
//!
//! Shaders live in the workspace's `shaders/` directory as WGSL files.

mod atmosphere;
mod camera;
pub mod classify;
mod context;
mod crop;
mod draw;
pub mod field;
mod flatten;
mod headless;
mod overlay;
mod pipelines;
mod renderer;
mod scene;
mod section;
pub mod shaders;
mod shadow;
mod specialise;
mod targets;
mod textures;
mod timing;
mod transparency;

pub use camera::Camera;
pub use classify::{ClassificationGrid, ClassifyPolygon, ClassifyReach};
pub use context::{GpuContext, RenderError};
pub use crop::Crop;
pub use field::{
    BuildingField, FieldChunk, FieldCounts, FieldCulling, FieldError, FieldInstance, FieldKey, FieldLevel, FieldMode,
    FieldTemplate, MAX_FIELD_INSTANCES, TemplateMesh,
};
pub use flatten::FlattenPolygon;
pub use headless::{HeadlessTarget, read_texture_rgba};
pub use overlay::{Overlay, OverlayLine, Panel, panel_size};
pub use renderer::{FrameStats, Lighting, Renderer};
pub use scene::{
    ChunkKey, ChunkMesh, DrawBatch, FeatureStyle, GpuScene, InstanceBatch, InstanceData, PointVertex, SharedMeshKey,
    UploadStats, Vertex,
};
pub use section::{Section, SectionStyle};
pub use textures::TextureKey;
pub use timing::PassTimes;
