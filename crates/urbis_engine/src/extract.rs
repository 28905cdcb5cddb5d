//! Extract: ECS city model → chunk meshes and feature styles.
//!
//! Features are binned into square chunks of the city's ENU plane. A feature
//! goes whole into the chunk under its centre, unless it spans several
//! chunks (terrain, a river), in which case its triangles are binned one by
//! one. Vertices become f32 offsets from the chunk origin, computed in f64
//! from the feature placement, so precision never depends on where the city
//! is on the Earth. Only chunks whose features changed since the last
//! extraction are rebuilt (bevy change detection), in parallel.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use bevy_ecs::prelude::*;
use glam::{DVec2, DVec3};
use rayon::prelude::*;
use urbis_model::classify::{Classification, ClassificationVolume};
use urbis_model::{
    CityModel, FeatureId, FeatureStyle, GeometryHandle, HiddenChunks, InstanceTransform, MeshId, MeshStore, PartOf,
    Parts, Placement, TextureId, TextureStore, TileChunk, Topology,
};
use urbis_render::{
    ChunkKey, ChunkMesh, DrawBatch, FeatureStyle as GpuStyle, InstanceBatch, InstanceData, PointVertex, SharedMeshKey,
    TextureKey, Vertex,
};

/// Chunk size in metres.
pub const DEFAULT_CHUNK_SIZE: f64 = 250.0;

/// The result of one extraction: what the GPU must learn.
#[derive(Debug, Default, Clone)]
pub struct Extracted {
    /// Base-colour textures used for the first time, uploaded before the chunks that draw them.
    pub textures: Vec<(TextureKey, Arc<image::RgbaImage>)>,
    /// Textures released from the model's store (an evicted tile's), to free on the GPU.
    pub texture_removals: Vec<TextureKey>,
    /// Meshes that instances share, uploaded once each before the chunks that use them.
    pub shared_meshes: Vec<SharedMesh>,
    pub chunk_updates: Vec<(ChunkKey, ChunkMesh)>,
    pub chunk_removals: Vec<ChunkKey>,
    pub style_updates: Vec<(u32, GpuStyle)>,
    /// Tile chunks to hide (false) or show again (true).
    pub chunk_visibility: Vec<(ChunkKey, bool)>,
    /// One past the largest feature index.
    pub feature_capacity: u32,
    /// Classification volumes, when they appeared or changed.
    pub classification: Option<urbis_render::ClassificationGrid>,
}

/// A mesh that instances share, ready for the GPU.
#[derive(Debug, Clone)]
pub struct SharedMesh {
    pub key: SharedMeshKey,
    pub vertices: Vec<Vertex>,
    pub indices: Vec<u32>,
    pub batches: Vec<DrawBatch>,
}

/// Where a feature's geometry went.
#[derive(Debug, Clone)]
struct Membership {
    chunks: Vec<ChunkKey>,
    split: bool,
}

/// Keeps the chunk assignment between frames.
#[derive(Debug)]
pub struct Extractor {
    chunk_size: f64,
    members: HashMap<ChunkKey, Vec<Entity>>,
    of_entity: HashMap<Entity, Membership>,
    /// Shared meshes already handed to the GPU, and those to hand over next.
    shared_sent: HashSet<MeshId>,
    pending_shared: Vec<MeshId>,
    textures_sent: HashSet<TextureId>,
    pending_textures: Vec<TextureId>,
    /// Origins of streamed tiles' chunks (their keys have the top bit set).
    tile_origins: HashMap<u64, DVec3>,
    /// Tile chunks hidden on the GPU now.
    hidden_sent: HashSet<u64>,
    first: bool,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new(DEFAULT_CHUNK_SIZE)
    }
}

fn key_of(cell: (i32, i32)) -> ChunkKey {
    ChunkKey((((cell.0 as i64 + (1 << 30)) as u64) << 32) | ((cell.1 as i64 + (1 << 30)) as u64 & 0xffff_ffff))
}

fn cell_of(key: ChunkKey) -> (i32, i32) {
    (((key.0 >> 32) as i64 - (1 << 30)) as i32, ((key.0 & 0xffff_ffff) as i64 - (1 << 30)) as i32)
}

/// A model vertex as the GPU takes it, moved by `offset` (chunk-relative, small).
fn gpu_vertex(v: &urbis_model::MeshVertex, offset: DVec3, feature: u32) -> Vertex {
    Vertex {
        position: (offset + v.position.as_dvec3()).as_vec3().to_array(),
        normal: v.normal.to_array(),
        uv: v.uv.to_array(),
        color: v.color,
        feature,
        material: v.material as u32,
    }
}

/// Converts a model style to the GPU's; `base_z` is the ENU height that
/// extrusion scales about (chunk origins sit at height 0, so it is also the
/// chunk-local one).
pub fn gpu_style(s: &FeatureStyle, base_z: f64) -> GpuStyle {
    let mut flags = 0;
    if !s.visible {
        flags |= GpuStyle::HIDDEN;
    }
    if s.highlighted {
        flags |= GpuStyle::HIGHLIGHTED;
    }
    if s.selected {
        flags |= GpuStyle::SELECTED;
    }
    let mut extrude = if s.height_scale == 1.0 { [0.0; 4] } else { [s.height_scale - 1.0, base_z as f32, 0.0, 0.0] };
    // Transparency (1 − opacity): 0 for the opaque, so the default style stays all zeros.
    extrude[2] = (1.0 - s.opacity).clamp(0.0, 1.0);
    GpuStyle { color: s.color_override.unwrap_or([0.0; 4]), flags: [flags, 0, 0, 0], extrude }
}

/// A part's style given its own and its parent's: the part's own colour
/// override wins; visibility needs both; highlight and selection come from either.
pub fn effective_style(own: FeatureStyle, parent: Option<FeatureStyle>) -> FeatureStyle {
    match parent {
        None => own,
        Some(p) => FeatureStyle {
            color_override: own.color_override.or(p.color_override),
            visible: own.visible && p.visible,
            highlighted: own.highlighted || p.highlighted,
            selected: own.selected || p.selected,
            height_scale: if own.height_scale != 1.0 { own.height_scale } else { p.height_scale },
            opacity: own.opacity.min(p.opacity),
        },
    }
}

impl Extractor {
    pub fn new(chunk_size: f64) -> Self {
        Self {
            chunk_size,
            members: HashMap::new(),
            of_entity: HashMap::new(),
            shared_sent: HashSet::new(),
            pending_shared: Vec::new(),
            textures_sent: HashSet::new(),
            pending_textures: Vec::new(),
            tile_origins: HashMap::new(),
            hidden_sent: HashSet::new(),
            first: true,
        }
    }

    fn cell(&self, p: DVec2) -> (i32, i32) {
        ((p.x / self.chunk_size).floor() as i32, (p.y / self.chunk_size).floor() as i32)
    }

    /// ENU origin of a chunk (its south-west corner at height 0).
    fn chunk_origin(&self, key: ChunkKey) -> DVec3 {
        if let Some(o) = self.tile_origins.get(&key.0) {
            return *o;
        }
        let (i, j) = cell_of(key);
        DVec3::new(i as f64 * self.chunk_size, j as f64 * self.chunk_size, 0.0)
    }

    /// Extracts what changed since the last call (everything, the first time).
    pub fn extract(&mut self, model: &mut CityModel) -> Extracted {
        let world = &mut model.world;
        let mut dirty: HashSet<ChunkKey> = HashSet::new();

        // Geometry: added or changed features move between chunks.
        type Row<'a> =
            (Entity, &'a Placement, &'a GeometryHandle, Option<&'a InstanceTransform>, Option<&'a TileChunk>);
        type Changes = (Entity, DVec3, GeometryHandle, bool, Option<TileChunk>);
        let changed: Vec<Changes> = if self.first {
            let mut q = world.query::<Row>();
            q.iter(world).map(|(e, p, g, i, t)| (e, p.enu, *g, i.is_some(), t.copied())).collect()
        } else {
            let mut q = world.query_filtered::<Row, Or<(
                Changed<Placement>,
                Changed<GeometryHandle>,
                Changed<InstanceTransform>,
                Changed<TileChunk>,
            )>>();
            q.iter(world).map(|(e, p, g, i, t)| (e, p.enu, *g, i.is_some(), t.copied())).collect()
        };
        {
            let meshes = world.resource::<MeshStore>();
            for (e, placement, g, instanced, tile) in changed {
                if let Some(old) = self.of_entity.remove(&e) {
                    for k in old.chunks {
                        if let Some(m) = self.members.get_mut(&k) {
                            m.retain(|x| *x != e);
                        }
                        dirty.insert(k);
                    }
                }
                let Some(mesh) = meshes.get(g.mesh) else {
                    continue;
                };
                if let Some(t) = tile {
                    // A streamed tile's features share the tile's own chunk.
                    let k = ChunkKey(t.key);
                    self.tile_origins.insert(t.key, t.origin);
                    self.members.entry(k).or_default().push(e);
                    dirty.insert(k);
                    self.of_entity.insert(e, Membership { chunks: vec![k], split: false });
                    if instanced && self.shared_sent.insert(g.mesh) {
                        self.pending_shared.push(g.mesh);
                    }
                    continue;
                }
                if instanced {
                    // An instance goes whole into the chunk under its placement.
                    let k = key_of(self.cell(placement.truncate()));
                    self.members.entry(k).or_default().push(e);
                    dirty.insert(k);
                    self.of_entity.insert(e, Membership { chunks: vec![k], split: false });
                    if self.shared_sent.insert(g.mesh) {
                        self.pending_shared.push(g.mesh);
                    }
                    continue;
                }
                let (mut lo, mut hi) = (DVec2::splat(f64::INFINITY), DVec2::splat(f64::NEG_INFINITY));
                for v in &mesh.vertices {
                    let p = placement.truncate() + v.position.truncate().as_dvec2();
                    lo = lo.min(p);
                    hi = hi.max(p);
                }
                if !lo.is_finite() {
                    continue;
                }
                let (c0, c1) = (self.cell(lo), self.cell(hi));
                let membership = if c0 == c1 || (hi - lo).max_element() < self.chunk_size * 0.5 {
                    Membership { chunks: vec![key_of(self.cell((lo + hi) / 2.0))], split: false }
                } else {
                    let mut set = HashSet::new();
                    for t in mesh.indices.chunks_exact(3) {
                        let c =
                            t.iter().map(|&i| mesh.vertices[i as usize].position.truncate().as_dvec2()).sum::<DVec2>()
                                / 3.0;
                        set.insert(key_of(self.cell(placement.truncate() + c)));
                    }
                    let mut chunks: Vec<_> = set.into_iter().collect();
                    chunks.sort_unstable();
                    Membership { chunks, split: true }
                };
                for &k in &membership.chunks {
                    self.members.entry(k).or_default().push(e);
                    dirty.insert(k);
                }
                self.of_entity.insert(e, membership);
            }
        }

        // Removed features.
        let gone: Vec<Entity> = self.of_entity.keys().copied().filter(|e| world.get_entity(*e).is_err()).collect();
        for e in gone {
            if let Some(old) = self.of_entity.remove(&e) {
                for k in old.chunks {
                    if let Some(m) = self.members.get_mut(&k) {
                        m.retain(|x| *x != e);
                    }
                    dirty.insert(k);
                }
            }
        }

        // Rebuild dirty chunks in parallel.
        let mut dirty: Vec<ChunkKey> = dirty.into_iter().collect();
        dirty.sort_unstable();
        let world_ref: &World = world;
        let built: Vec<(ChunkKey, (ChunkMesh, Vec<TextureId>))> =
            dirty.par_iter().map(|&k| (k, self.build_chunk(world_ref, model_frame(world_ref), k))).collect();
        let mut out = Extracted { shared_meshes: self.take_shared(world), ..Default::default() };
        for (k, (mesh, textures)) in built {
            for t in textures {
                self.want_texture(t);
            }
            if mesh.is_empty() {
                self.members.remove(&k);
                self.tile_origins.remove(&k.0);
                out.chunk_removals.push(k);
            } else {
                out.chunk_updates.push((k, mesh));
            }
        }

        // Styles. Parts show their parent's style merged with their own, so
        // styling or selecting a Building reaches all its BuildingParts.
        let changed: Vec<Entity> = if self.first {
            let mut q = world.query_filtered::<Entity, With<FeatureStyle>>();
            q.iter(world).collect()
        } else {
            let mut q = world.query_filtered::<Entity, Changed<FeatureStyle>>();
            q.iter(world).collect()
        };
        let mut targets: Vec<Entity> = Vec::with_capacity(changed.len());
        for e in changed {
            targets.push(e);
            if let Some(parts) = world.get::<Parts>(e) {
                targets.extend(parts.0.iter().copied());
            }
        }
        targets.sort_unstable();
        targets.dedup();
        // Photo meshes are classified when the model has classification volumes.
        let classified = world.contains_resource::<Classification>();
        let photo = urbis_model::classify::photo_mesh_class();
        let styles: Vec<(u32, GpuStyle)> = targets
            .into_iter()
            .filter_map(|e| {
                let id = world.get::<FeatureId>(e)?;
                let own = *world.get::<FeatureStyle>(e)?;
                let parent_entity = world.get::<PartOf>(e).map(|p| p.0);
                let parent = parent_entity.and_then(|p| world.get::<FeatureStyle>(p)).copied();
                // Extrusion scales a building and its parts about the building's base.
                let base = parent_entity.unwrap_or(e);
                let base_z = world.get::<urbis_model::Bounds>(base).map_or(0.0, |b| b.min.z);
                let mut style = gpu_style(&effective_style(own, parent), base_z);
                let is_photo = world.get::<urbis_model::SemanticClass>(e) == Some(&photo);
                if classified && is_photo {
                    style.flags[0] |= GpuStyle::CLASSIFIED;
                }
                if is_photo || is_tile_content(world, e) {
                    style.flags[0] |= GpuStyle::FLATTEN;
                }
                if is_tile_content(world, e)
                    && world.get::<urbis_model::SemanticClass>(e) == Some(&urbis_model::SemanticClass::TIN_RELIEF)
                {
                    // Terrain tiles: one surface, no outlines along their borders.
                    style.flags[0] |= GpuStyle::SEAMLESS;
                }
                Some((id.index, style))
            })
            .collect();
        if self.first || world.query_filtered::<(), Changed<ClassificationVolume>>().iter(world).next().is_some() {
            out.classification = classification_grid(world);
        }
        out.style_updates = styles;
        // Tile chunks an ancestor or descendant stands in for.
        if self.first || world.is_resource_changed::<HiddenChunks>() {
            let now: HashSet<u64> = world.get_resource::<HiddenChunks>().map(|h| h.0.clone()).unwrap_or_default();
            for k in now.difference(&self.hidden_sent) {
                out.chunk_visibility.push((ChunkKey(*k), false));
            }
            for k in self.hidden_sent.difference(&now) {
                out.chunk_visibility.push((ChunkKey(*k), true));
            }
            self.hidden_sent = now;
        }
        out.feature_capacity = world.resource::<urbis_model::FeatureTable>().index_capacity();
        out.textures = self.take_textures(world);
        out.texture_removals = self.released_textures(world);
        world.clear_trackers();
        self.first = false;
        out
    }

    fn build_chunk(&self, world: &World, frame: urbis_geo::CityFrame, key: ChunkKey) -> (ChunkMesh, Vec<TextureId>) {
        let origin_enu = self.chunk_origin(key);
        let mut mesh =
            ChunkMesh { origin: frame.enu_to_ecef(origin_enu), basis: frame.enu_to_ecef_rot, ..Default::default() };
        let mut instances: BTreeMap<MeshId, Vec<InstanceData>> = BTreeMap::new();
        // Indices by texture, so each texture is one draw.
        // Indices by (texture, single-sided): one draw batch each.
        let mut buckets: BTreeMap<(Option<TextureId>, bool), Vec<u32>> = BTreeMap::new();
        let Some(members) = self.members.get(&key) else {
            return (mesh, Vec::new());
        };
        let meshes = world.resource::<MeshStore>();
        for &e in members {
            let (Some(id), Some(p), Some(g)) =
                (world.get::<FeatureId>(e), world.get::<Placement>(e), world.get::<GeometryHandle>(e))
            else {
                continue;
            };
            let Some(src) = meshes.get(g.mesh) else {
                continue;
            };
            let offset = p.enu - origin_enu; // f64, small
            if let Some(t) = world.get::<InstanceTransform>(e) {
                let r = |i: usize| {
                    let row = t.linear.row(i);
                    [row.x as f32, row.y as f32, row.z as f32, offset[i] as f32]
                };
                let data = InstanceData { rows: [r(0), r(1), r(2)], feature: id.index, _pad: [0; 3] };
                instances.entry(g.mesh).or_default().push(data);
                continue;
            }
            if src.topology == Topology::Points {
                mesh.points.extend(src.vertices.iter().map(|v| PointVertex {
                    position: (offset + v.position.as_dvec3()).as_vec3().to_array(),
                    normal: v.normal.to_array(),
                    color: v.color,
                    feature: id.index,
                }));
                continue;
            }
            let split = self.of_entity.get(&e).is_some_and(|m| m.split);
            let convert = |v: &urbis_model::MeshVertex| gpu_vertex(v, offset, id.index);
            let base = mesh.vertices.len() as u32;
            if !split {
                mesh.vertices.extend(src.vertices.iter().map(convert));
                for grp in src.texture_groups() {
                    let range = grp.first_index as usize..(grp.first_index + grp.index_count) as usize;
                    let bucket = buckets.entry((grp.texture, grp.single_sided)).or_default();
                    bucket.extend(src.indices[range].iter().map(|i| base + i));
                }
            } else {
                // Only this chunk's triangles, with their vertices remapped.
                let mut remap: HashMap<u32, u32> = HashMap::new();
                for grp in src.texture_groups() {
                    let range = grp.first_index as usize..(grp.first_index + grp.index_count) as usize;
                    for t in src.indices[range].chunks_exact(3) {
                        let c =
                            t.iter().map(|&i| src.vertices[i as usize].position.truncate().as_dvec2()).sum::<DVec2>()
                                / 3.0;
                        if key_of(self.cell(p.enu.truncate() + c)) != key {
                            continue;
                        }
                        for &i in t {
                            let n = *remap.entry(i).or_insert_with(|| {
                                mesh.vertices.push(convert(&src.vertices[i as usize]));
                                mesh.vertices.len() as u32 - 1
                            });
                            buckets.entry((grp.texture, grp.single_sided)).or_default().push(n);
                        }
                    }
                }
            }
        }
        let mut textures = Vec::new();
        for ((texture, single_sided), indices) in buckets {
            if indices.is_empty() {
                continue;
            }
            textures.extend(texture);
            mesh.batches.push(DrawBatch {
                texture: texture.map(|t| TextureKey(t.0 as u64)),
                first_index: mesh.indices.len() as u32,
                index_count: indices.len() as u32,
                single_sided,
            });
            mesh.indices.extend(indices);
        }
        mesh.instances = instances
            .into_iter()
            .map(|(m, instances)| InstanceBatch { mesh: SharedMeshKey(m.0 as u64), instances })
            .collect();
        (mesh, textures)
    }

    /// Shared meshes referenced by instances and not sent yet, as GPU vertices.
    fn take_shared(&mut self, world: &World) -> Vec<SharedMesh> {
        let meshes = world.resource::<MeshStore>();
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.pending_shared) {
            let Some(m) = meshes.get(id) else { continue };
            let vertices = m.vertices.iter().map(|v| gpu_vertex(v, DVec3::ZERO, 0)).collect();
            let batches = m
                .groups
                .iter()
                .map(|g| DrawBatch {
                    texture: g.texture.map(|t| TextureKey(t.0 as u64)),
                    first_index: g.first_index,
                    index_count: g.index_count,
                    single_sided: g.single_sided,
                })
                .collect();
            for t in m.groups.iter().filter_map(|g| g.texture) {
                self.want_texture(t);
            }
            out.push(SharedMesh { key: SharedMeshKey(id.0 as u64), vertices, indices: m.indices.clone(), batches });
        }
        out
    }

    fn want_texture(&mut self, t: TextureId) {
        if self.textures_sent.insert(t) {
            self.pending_textures.push(t);
        }
    }

    /// Textures sent to the GPU whose image the store has released.
    fn released_textures(&mut self, world: &World) -> Vec<TextureKey> {
        let store = world.resource::<TextureStore>();
        let gone: Vec<TextureId> = self.textures_sent.iter().copied().filter(|t| store.get(*t).is_none()).collect();
        for t in &gone {
            self.textures_sent.remove(t);
        }
        gone.into_iter().map(|t| TextureKey(t.0 as u64)).collect()
    }

    /// Textures referenced and not sent yet.
    fn take_textures(&mut self, world: &World) -> Vec<(TextureKey, Arc<image::RgbaImage>)> {
        let store = world.resource::<TextureStore>();
        std::mem::take(&mut self.pending_textures)
            .into_iter()
            .filter_map(|t| store.get(t).map(|img| (TextureKey(t.0 as u64), img.clone())))
            .collect()
    }

    /// Number of chunks holding geometry.
    pub fn chunk_count(&self) -> usize {
        self.members.values().filter(|m| !m.is_empty()).count()
    }
}

/// The model's classification volumes on a grid in the city's ENU frame
/// (in GUID order, so the first of two overlapping footprints keeps the
/// overlap, as in physical monomerization), or none.
fn classification_grid(world: &mut World) -> Option<urbis_render::ClassificationGrid> {
    let mut q = world.query::<(&FeatureId, &ClassificationVolume)>();
    let mut volumes: Vec<(&FeatureId, &ClassificationVolume)> = q.iter(world).collect();
    if volumes.is_empty() {
        return None;
    }
    volumes.sort_by(|a, b| a.0.guid.cmp(&b.0.guid));
    let ring = |r: &geo::LineString<f64>| r.0.iter().map(|c| DVec2::new(c.x, c.y)).collect::<Vec<_>>();
    let polygons: Vec<urbis_render::ClassifyPolygon> = volumes
        .iter()
        .flat_map(|(id, v)| {
            v.plan.0.iter().map(|p| urbis_render::ClassifyPolygon {
                feature: id.index,
                rings: std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect(),
                base: v.base,
                top: v.top,
            })
        })
        .collect();
    let frame = model_frame(world);
    let reach = urbis_render::ClassifyReach::default();
    Some(urbis_render::ClassificationGrid::build(
        &polygons,
        frame.enu_to_ecef(DVec3::ZERO),
        frame.enu_to_ecef_rot,
        16.0,
        reach,
    ))
}

/// Whether a feature is 3D Tiles content: a streamed tile's (it shares the
/// tile's chunk) or one loaded whole from a tileset (the loader gives each
/// content feature its tile's URI as the `tile` attribute). With photo
/// meshes, these are the surfaces flattening polygons press down; modelled
/// buildings (footprints, CityJSON, IFC) and terrain stand as they are.
fn is_tile_content(world: &World, e: Entity) -> bool {
    world.get::<TileChunk>(e).is_some()
        || world.get::<urbis_model::Attributes>(e).is_some_and(|a| a.get("tile").is_some())
}

fn model_frame(world: &World) -> urbis_geo::CityFrame {
    world.resource::<urbis_model::Frame>().0
}
