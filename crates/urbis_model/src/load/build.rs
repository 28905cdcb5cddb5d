//! Tile contents made ready to spawn, away from the model: the features of
//! a tile with their meshes and bounds, the textures and shared (instanced)
//! meshes they use, numbered locally. Built on a loader thread when
//! streaming (see `stream`), or in place for whole loads; spawning it is
//! then only table and ECS work on the main thread.
//!
//! ```text
//! TileContent ─► tiles::add_content ─► TileBuild { features, textures, shared }
//!                                          └► spawn(model): textures and shared meshes
//!                                             stored, local ids remapped, entities spawned
//! ```

use crate::mesh::{CpuMesh, MeshId, MeshStore, TextureId, TextureStore};
use crate::{CityModel, NewFeature};

/// Features ready to spawn. In their meshes, `TextureId(k)` is the k-th of
/// `textures`; in `instance_of`, `MeshId(k)` is the k-th of `shared`.
#[derive(Debug, Default)]
pub(crate) struct TileBuild {
    pub features: Vec<NewFeature>,
    pub textures: Vec<image::RgbaImage>,
    pub shared: Vec<CpuMesh>,
    /// Things skipped, each naming the content and why.
    pub warnings: Vec<String>,
}

impl TileBuild {
    pub fn add_texture(&mut self, image: image::RgbaImage) -> TextureId {
        self.textures.push(image);
        TextureId(self.textures.len() as u32 - 1)
    }

    pub fn add_shared(&mut self, mesh: CpuMesh) -> MeshId {
        self.shared.push(mesh);
        MeshId(self.shared.len() as u32 - 1)
    }

    /// The bytes the build will hold once spawned: meshes (CPU, and a GPU
    /// copy of `gpu_vertex_bytes` per vertex and 4 per index), textures (the
    /// image, and its GPU copy with mips), and per entity `entity_bytes` and
    /// `attribute_bytes` per attribute. The same count the stream measures
    /// after attaching.
    pub fn bytes(&self, gpu_vertex_bytes: u64, entity_bytes: u64, attribute_bytes: u64) -> u64 {
        let mesh = |m: &CpuMesh| {
            MeshStore::mesh_bytes(m) + m.vertices.len() as u64 * gpu_vertex_bytes + m.indices.len() as u64 * 4
        };
        let features: u64 = self
            .features
            .iter()
            .map(|f| {
                entity_bytes + f.attributes.0.len() as u64 * attribute_bytes + f.mesh.as_ref().map_or(0, |m| mesh(&m.0))
            })
            .sum();
        let textures: u64 = self.textures.iter().map(|t| t.as_raw().len() as u64 * 7 / 3).sum();
        features + textures + self.shared.iter().map(mesh).sum::<u64>()
    }

    /// Stores the textures and shared meshes, remaps the local ids and
    /// spawns every feature; returns how many.
    pub fn spawn(self, model: &mut CityModel) -> usize {
        let textures: Vec<TextureId> = if self.textures.is_empty() {
            Vec::new()
        } else {
            let mut store = model.world.resource_mut::<TextureStore>();
            self.textures.into_iter().map(|t| store.add(t)).collect()
        };
        let remap = |mesh: &mut CpuMesh| {
            for g in &mut mesh.groups {
                g.texture = g.texture.and_then(|t| textures.get(t.0 as usize).copied());
            }
        };
        let shared: Vec<MeshId> = if self.shared.is_empty() {
            Vec::new()
        } else {
            let mut store = model.world.resource_mut::<MeshStore>();
            self.shared
                .into_iter()
                .map(|mut m| {
                    remap(&mut m);
                    store.add(m)
                })
                .collect()
        };
        let n = self.features.len();
        for mut f in self.features {
            if let Some((m, _)) = &mut f.mesh {
                remap(m);
            }
            if let Some((id, ..)) = &mut f.instance_of {
                match shared.get(id.0 as usize) {
                    Some(s) => *id = *s,
                    None => f.instance_of = None,
                }
            }
            model.spawn_feature(f);
        }
        n
    }
}
