//! Imagery draped on the ground: orthophotos and base maps (any
//! [`ImagerySource`]) baked into one texture laid over the terrain.
//!
//! ```text
//! TINRelief meshes (or, without any, a flat ground grid under the city)
//!   │ ENU plan extent + 1 texel ─► texture plan (metres per texel, side ≤ cap)
//!   │
//!   │ texel centres (ENU) ─► ECEF (CityFrame) ─► layer CRS (PROJ, on a lattice
//!   │                         every few texels, bilinear between its nodes)
//!   │ per layer: window(bbox of the lattice + margin) fetched once
//!   ▼
//! neutral ─► layer 1 ─► layer 2 … (over, with opacity × alpha) ─► RGBA8 texture
//!   ─► TextureStore; meshes get uv = ((x − west)/width, (north − y)/height),
//!      white vertex colour and Material::Textured (the shader multiplies the
//!      vertex colour by the texel and lights the result: true colours, sunlit)
//! ```
//!
//! Layers that fail in part (missing tiles) drape what they have and their
//! failures are reported; where no layer has data the ground keeps
//! [`NEUTRAL_GROUND`]. The texture is baked once: it is not streamed or
//! refined as the camera moves, and its side is capped (see
//! [`DrapeOptions::max_texture_side`]); the report says when the requested
//! resolution was coarsened to fit.

use bevy_ecs::prelude::*;
use glam::{DVec2, DVec3, Vec2, Vec3};

pub use urbis_formats::imagery::{GeoRaster, ImageryError, ImagerySource};

mod bake;
#[cfg(test)]
mod tests;

use crate::mesh::{CpuMesh, Material, MeshGroup, MeshStore, MeshVertex, TextureId, TextureStore, Topology};
use crate::{
    Attributes, Bounds, CityModel, GeometryHandle, InstanceTransform, Lod, NewFeature, Placement, SemanticClass,
    TileChunk,
};

/// The default cap on the texture's side, in texels (WebGL 2 and every
/// desktop GPU take 4096).
pub const MAX_TEXTURE_SIDE: u32 = 4096;
/// The colour of the ground where no layer has data (sRGB).
pub const NEUTRAL_GROUND: [u8; 4] = [168, 166, 160, 255];
/// How far below the model's lowest point an added ground lies, metres, so
/// that ground-level polygons (roads, squares) do not fight with it.
pub const GROUND_DROP: f64 = 0.05;

/// One imagery layer: a source, drawn over the layers before it (the same
/// layer drapes the streamed terrain tile by tile, see `urbis_tiles::terrain`).
pub use urbis_tiles::terrain::DrapeLayer as ImageryLayer;

/// How imagery is draped.
#[derive(Debug, Clone, PartialEq)]
pub struct DrapeOptions {
    /// Wanted ground size of a texel, metres (coarsened to respect the cap).
    pub metres_per_texel: f64,
    /// The texture's longest side, texels.
    pub max_texture_side: u32,
    /// How far an added ground (no terrain) reaches beyond the model, metres.
    pub ground_margin: f64,
    /// Colour where no layer has data.
    pub neutral: [u8; 4],
}

impl DrapeOptions {
    pub fn new(metres_per_texel: f64) -> Self {
        Self { metres_per_texel, max_texture_side: MAX_TEXTURE_SIDE, ground_margin: 50.0, neutral: NEUTRAL_GROUND }
    }
}

/// Marks the flat ground [`drape`] added under a model without terrain
/// (removed and rebuilt by the next drape).
#[derive(Component, Debug, Clone, Copy)]
pub struct DrapedGround;

/// A surface textured by [`drape`], with its texture (released by the next drape).
#[derive(Component, Debug, Clone, Copy)]
pub struct Draped {
    pub texture: TextureId,
}

/// What became of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerOutcome {
    /// Composited (possibly with holes: see the failures).
    Drawn,
    /// Not visible, or opacity 0.
    Hidden,
    /// Its extent does not reach the draped surface.
    OutsideExtent,
    /// Nothing could be read or placed (see the failures).
    Failed,
}

/// Per layer: what was fetched and what went wrong.
#[derive(Debug)]
pub struct LayerReport {
    pub name: String,
    pub epsg: u32,
    pub outcome: LayerOutcome,
    /// Size of the window fetched (after any box-filter reduction), pixels.
    pub window: Option<(u32, u32)>,
    /// Texels it contributed to.
    pub texels: usize,
    /// The source's failures (missing tiles, …) and any of placing it.
    pub failures: Vec<ImageryError>,
}

/// The result of a drape.
#[derive(Debug)]
pub struct DrapeReport {
    /// The textured surfaces: the terrain entities, or the added ground.
    pub surfaces: Vec<Entity>,
    /// The ground entity added because the model had no terrain.
    pub ground: Option<Entity>,
    pub texture: TextureId,
    /// Texture size, texels.
    pub width: u32,
    pub height: u32,
    /// West, south, east and north edges of the texture, ENU metres.
    pub extent: [f64; 4],
    /// The texel size used, and the one asked for.
    pub metres_per_texel: f64,
    pub requested_metres_per_texel: f64,
    pub layers: Vec<LayerReport>,
}

impl DrapeReport {
    /// Whether the texel size was coarsened to keep the texture under the cap.
    pub fn coarsened(&self) -> bool {
        self.metres_per_texel > self.requested_metres_per_texel * (1.0 + 1e-9)
    }

    /// The texel (column, row from the north) holding an ENU plan point.
    pub fn texel_at(&self, x: f64, y: f64) -> Option<(u32, u32)> {
        let c = ((x - self.extent[0]) / self.metres_per_texel).floor();
        let r = ((self.extent[3] - y) / self.metres_per_texel).floor();
        (c >= 0.0 && r >= 0.0 && c < f64::from(self.width) && r < f64::from(self.height))
            .then_some((c as u32, r as u32))
    }

    /// Failures of every layer together.
    pub fn failure_count(&self) -> usize {
        self.layers.iter().map(|l| l.failures.len()).sum()
    }
}

/// Why nothing could be draped.
#[derive(Debug, thiserror::Error)]
pub enum DrapeError {
    #[error("metres per texel must be a positive finite number, not {0}")]
    Resolution(f64),
    #[error("the texture side cap must be at least 16 texels, not {0}")]
    TextureSide(u32),
    #[error("the ground margin must be a finite number of metres ≥ 0, not {0}")]
    Margin(f64),
    #[error("nothing to drape imagery on: the model has no terrain and no features")]
    NothingToDrape,
    #[error("the surface's extent {0:?} is not finite")]
    Extent([f64; 4]),
}

/// Drapes `layers` (later over earlier) on the model's terrain, or on a flat
/// ground added under it, at about `metres_per_texel`.
pub fn drape(model: &mut CityModel, layers: &[ImageryLayer], metres_per_texel: f64) -> Result<DrapeReport, DrapeError> {
    drape_with(model, layers, &DrapeOptions::new(metres_per_texel))
}

/// [`drape`] with every option.
pub fn drape_with(
    model: &mut CityModel,
    layers: &[ImageryLayer],
    opts: &DrapeOptions,
) -> Result<DrapeReport, DrapeError> {
    let mpt = opts.metres_per_texel;
    if !(mpt.is_finite() && mpt > 0.0) {
        return Err(DrapeError::Resolution(mpt));
    }
    if opts.max_texture_side < 16 {
        return Err(DrapeError::TextureSide(opts.max_texture_side));
    }
    if !(opts.ground_margin.is_finite() && opts.ground_margin >= 0.0) {
        return Err(DrapeError::Margin(opts.ground_margin));
    }
    let old_textures = forget_previous(model);
    let mut surfaces = terrain_surfaces(model);
    let mut ground = None;
    if surfaces.is_empty() {
        let e = add_ground(model, opts.ground_margin)?;
        ground = Some(e);
        surfaces.push(e);
    }
    let extent = surface_extent(model, &surfaces);
    let plan = TexturePlan::new(extent, mpt, opts.max_texture_side)?;
    let frame = *model.frame();
    let (rgba, layer_reports) = bake::bake(&frame, &plan, layers, opts.neutral);
    let image = image::RgbaImage::from_raw(plan.width, plan.height, rgba).ok_or(DrapeError::Extent(plan.extent()))?;
    let texture = model.world.resource_mut::<TextureStore>().add(image);
    for &e in &surfaces {
        texture_surface(model, e, &plan, texture);
    }
    let mut store = model.world.resource_mut::<TextureStore>();
    for t in old_textures {
        store.release(t);
    }
    Ok(DrapeReport {
        surfaces,
        ground,
        texture,
        width: plan.width,
        height: plan.height,
        extent: plan.extent(),
        metres_per_texel: plan.texel,
        requested_metres_per_texel: mpt,
        layers: layer_reports,
    })
}

/// Removes a previously added ground and collects the textures of earlier drapes.
fn forget_previous(model: &mut CityModel) -> Vec<TextureId> {
    let mut q = model.world.query::<&Draped>();
    let mut old: Vec<TextureId> = q.iter(&model.world).map(|d| d.texture).collect();
    old.sort_unstable();
    old.dedup();
    let mut q = model.world.query_filtered::<Entity, With<DrapedGround>>();
    let grounds: Vec<Entity> = q.iter(&model.world).collect();
    for &e in &grounds {
        model.remove_feature(e);
    }
    if !grounds.is_empty() {
        model.rebuild_spatial_index();
    }
    old
}

/// TINRelief features owning a triangle mesh (not instances, not streamed tiles).
fn terrain_surfaces(model: &mut CityModel) -> Vec<Entity> {
    type Row<'a> =
        (Entity, &'a SemanticClass, &'a GeometryHandle, Option<&'a InstanceTransform>, Option<&'a TileChunk>);
    let mut q = model.world.query::<Row>();
    let meshes = model.world.resource::<MeshStore>();
    let mut out: Vec<Entity> = q
        .iter(&model.world)
        .filter(|(_, c, g, i, t)| {
            **c == SemanticClass::TIN_RELIEF
                && i.is_none()
                && t.is_none()
                && meshes.get(g.mesh).is_some_and(|m| m.topology == Topology::Triangles && !m.indices.is_empty())
        })
        .map(|(e, ..)| e)
        .collect();
    out.sort_unstable();
    out
}

/// Adds a flat ground grid under the whole model, `margin` beyond its bounds.
fn add_ground(model: &mut CityModel, margin: f64) -> Result<Entity, DrapeError> {
    let b = model.bounds();
    if b.is_empty() {
        return Err(DrapeError::NothingToDrape);
    }
    let (lo, hi) = (b.min.truncate() - DVec2::splat(margin), b.max.truncate() + DVec2::splat(margin));
    let z = b.min.z - GROUND_DROP;
    if !(lo.is_finite() && hi.is_finite() && z.is_finite()) {
        return Err(DrapeError::Extent([lo.x, lo.y, hi.x, hi.y]));
    }
    let size = hi - lo;
    let cell = (size.max_element() / 32.0).max(10.0);
    let (nx, ny) = ((size.x / cell).ceil().clamp(1.0, 64.0) as u32, (size.y / cell).ceil().clamp(1.0, 64.0) as u32);
    let placement = DVec3::new((lo.x + hi.x) * 0.5, (lo.y + hi.y) * 0.5, z);
    let mut mesh = CpuMesh::default();
    for j in 0..=ny {
        for i in 0..=nx {
            let x = lo.x + size.x * f64::from(i) / f64::from(nx);
            let y = lo.y + size.y * f64::from(j) / f64::from(ny);
            mesh.vertices.push(MeshVertex {
                position: Vec3::new((x - placement.x) as f32, (y - placement.y) as f32, 0.0),
                normal: Vec3::Z,
                uv: Vec2::ZERO,
                color: NEUTRAL_GROUND,
                material: Material::Plain,
            });
        }
    }
    for j in 0..ny {
        for i in 0..nx {
            let a = j * (nx + 1) + i;
            let (b, c, d) = (a + 1, a + nx + 1, a + nx + 2);
            // Counter-clockwise seen from above (rows run north).
            mesh.indices.extend([a, b, d, a, d, c]);
        }
    }
    let mut f = NewFeature::new("ground:imagery", SemanticClass::TIN_RELIEF, placement);
    f.attributes = Attributes::default().with("generated", "ground under draped imagery").with("height", z);
    f.mesh = Some((mesh, Lod(10)));
    let e = model.spawn_feature(f);
    model.world.entity_mut(e).insert(DrapedGround);
    model.rebuild_spatial_index();
    Ok(e)
}

/// ENU plan extent of the surfaces' vertices, and their mean height.
fn surface_extent(model: &CityModel, surfaces: &[Entity]) -> Bounds {
    let meshes = model.meshes();
    let mut b = Bounds::EMPTY;
    for &e in surfaces {
        let (Some(p), Some(g)) = (model.world.get::<Placement>(e), model.world.get::<GeometryHandle>(e)) else {
            continue;
        };
        if let Some(m) = meshes.get(g.mesh) {
            for v in &m.vertices {
                b = b.including(p.enu + v.position.as_dvec3());
            }
        }
    }
    b
}

/// Where the texture lies: `width × height` texels of `texel` metres from
/// the north-west corner (`west`, `north`), one texel beyond the surface on
/// every side (so that filtering at its edges never wraps around).
#[derive(Debug, Clone, Copy)]
struct TexturePlan {
    west: f64,
    north: f64,
    texel: f64,
    width: u32,
    height: u32,
    /// Height given to texel centres when they are placed on the Earth.
    z: f64,
}

impl TexturePlan {
    fn new(b: Bounds, wanted: f64, cap: u32) -> Result<Self, DrapeError> {
        let ext = [b.min.x, b.min.y, b.max.x, b.max.y];
        let size = b.size();
        if b.is_empty() || !(size.x.is_finite() && size.y.is_finite()) || size.x.max(size.y) > 1.0e7 {
            return Err(DrapeError::Extent(ext));
        }
        let sides = |t: f64| ((size.x / t).ceil() as u64 + 2, (size.y / t).ceil() as u64 + 2);
        let mut texel = wanted.max(size.x.max(size.y) / 1.0e7);
        let (mut w, mut h) = sides(texel);
        if w.max(h) > u64::from(cap) {
            texel = size.x.max(size.y) / f64::from(cap - 2);
            (w, h) = sides(texel);
            while w.max(h) > u64::from(cap) {
                texel *= 1.0 + 1e-6;
                (w, h) = sides(texel);
            }
        }
        Ok(Self {
            west: b.min.x - texel,
            north: b.max.y + texel,
            texel,
            width: w as u32,
            height: h as u32,
            z: b.center().z,
        })
    }

    fn extent(&self) -> [f64; 4] {
        let (w, h) = (f64::from(self.width) * self.texel, f64::from(self.height) * self.texel);
        [self.west, self.north - h, self.west + w, self.north]
    }

    /// ENU centre of texel (col, row).
    fn centre(&self, col: u32, row: u32) -> DVec3 {
        DVec3::new(
            self.west + (f64::from(col) + 0.5) * self.texel,
            self.north - (f64::from(row) + 0.5) * self.texel,
            self.z,
        )
    }

    fn uv(&self, x: f64, y: f64) -> Vec2 {
        let u = (x - self.west) / (f64::from(self.width) * self.texel);
        let v = (self.north - y) / (f64::from(self.height) * self.texel);
        Vec2::new(u as f32, v as f32)
    }
}

/// Gives a surface's mesh plan UVs, white vertex colour, the Textured
/// material and one texture group; marks it changed for extraction.
fn texture_surface(model: &mut CityModel, e: Entity, plan: &TexturePlan, texture: TextureId) {
    let (Some(p), Some(g)) =
        (model.world.get::<Placement>(e).map(|p| p.enu), model.world.get::<GeometryHandle>(e).copied())
    else {
        return;
    };
    let Some(mut mesh) = model.meshes().get(g.mesh).cloned() else { return };
    for v in &mut mesh.vertices {
        let q = p + v.position.as_dvec3();
        v.uv = plan.uv(q.x, q.y);
        v.color = [255, 255, 255, 255];
        v.material = Material::Textured;
    }
    mesh.groups = vec![MeshGroup {
        texture: Some(texture),
        first_index: 0,
        index_count: mesh.indices.len() as u32,
        single_sided: false,
    }];
    model.world.resource_mut::<MeshStore>().replace(g.mesh, mesh);
    if let Some(mut h) = model.world.get_mut::<GeometryHandle>(e) {
        h.set_changed();
    }
    model.world.entity_mut(e).insert(Draped { texture });
}
