//! CPU meshes of features, kept in the [`MeshStore`] resource.
//!
//! Vertex positions are f32 offsets from the owning feature's
//! [`Placement`](crate::Placement), along the city's ENU axes, so they stay
//! small (a building's extent) wherever the city is on the Earth.

use bevy_ecs::prelude::*;
use glam::{Vec2, Vec3};

/// How the renderer shades a surface. Stored per vertex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Material {
    /// Plain lit colour.
    #[default]
    Plain = 0,
    /// A building façade: `uv` is (metres along the wall / bay width,
    /// metres above the base / storey height) and windows are drawn per cell.
    Facade = 1,
    /// A roof.
    Roof = 2,
    /// Bare ground or terrain.
    Terrain = 3,
    /// Water: specular, with a Fresnel sky reflection.
    Water = 4,
    /// Leaves and grass.
    Foliage = 5,
    /// A road surface: `uv` is (metres across from the centre line, metres along).
    Road = 6,
    /// Lit colour multiplied by the mesh group's base-colour texture at `uv`.
    Textured = 7,
}

/// A decoded RGBA8 (sRGB) texture in the [`TextureStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextureId(pub u32);

/// Base-colour textures of the model's meshes.
#[derive(Resource, Debug, Default)]
pub struct TextureStore {
    /// `None` once released; ids are never handed out again, so a GPU copy keyed by id cannot show another image.
    textures: Vec<Option<std::sync::Arc<image::RgbaImage>>>,
}

impl TextureStore {
    pub fn add(&mut self, image: image::RgbaImage) -> TextureId {
        self.textures.push(Some(std::sync::Arc::new(image)));
        TextureId(self.textures.len() as u32 - 1)
    }

    pub fn get(&self, id: TextureId) -> Option<&std::sync::Arc<image::RgbaImage>> {
        self.textures.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// Frees a texture (a streamed tile's, when the tile is evicted); returns its bytes.
    pub fn release(&mut self, id: TextureId) -> u64 {
        let img = self.textures.get_mut(id.0 as usize).and_then(Option::take);
        img.map_or(0, |i| i.as_raw().len() as u64)
    }

    /// Ids handed out so far (released ones included).
    pub fn len(&self) -> usize {
        self.textures.len()
    }

    /// Textures held now.
    pub fn live(&self) -> usize {
        self.textures.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.textures.is_empty()
    }
}

/// A range of a mesh's indices drawn with one texture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeshGroup {
    pub texture: Option<TextureId>,
    pub first_index: u32,
    pub index_count: u32,
    /// Only the front (counter-clockwise) side is seen: a glTF material that is
    /// not `doubleSided`, so the renderer may cull back faces as the format
    /// asks. False for sources that do not say (they disagree on winding).
    pub single_sided: bool,
}

/// What a mesh's vertices form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Topology {
    /// Indexed triangles.
    #[default]
    Triangles,
    /// Each vertex is a point (point clouds); indices are unused.
    Points,
}

/// One mesh vertex.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshVertex {
    pub position: Vec3,
    pub normal: Vec3,
    pub uv: Vec2,
    /// sRGB colour, alpha unused (opaque).
    pub color: [u8; 4],
    pub material: Material,
}

/// A triangle mesh in a feature's local frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuMesh {
    pub vertices: Vec<MeshVertex>,
    /// Counter-clockwise triangles (seen from outside).
    pub indices: Vec<u32>,
    /// Texture groups over `indices`; empty means one untextured group.
    pub groups: Vec<MeshGroup>,
    pub topology: Topology,
}

impl CpuMesh {
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// The texture groups, or one untextured group covering every index.
    pub fn texture_groups(&self) -> Vec<MeshGroup> {
        if self.groups.is_empty() {
            vec![MeshGroup {
                texture: None,
                first_index: 0,
                index_count: self.indices.len() as u32,
                single_sided: false,
            }]
        } else {
            self.groups.clone()
        }
    }

    /// Appends another mesh (in the same frame, shifted by `offset`), keeping its groups.
    pub fn append(&mut self, other: CpuMesh, offset: Vec3) {
        if self.groups.is_empty() && !self.indices.is_empty() {
            self.groups = self.texture_groups();
        }
        let base = self.vertices.len() as u32;
        let first = self.indices.len() as u32;
        let other_groups = other.texture_groups();
        self.vertices.extend(other.vertices.into_iter().map(|mut v| {
            v.position += offset;
            v
        }));
        self.indices.extend(other.indices.into_iter().map(|i| i + base));
        for g in other_groups {
            self.groups.push(MeshGroup { first_index: first + g.first_index, ..g });
        }
        if self.groups.iter().all(|g| g.texture.is_none() && !g.single_sided) {
            self.groups.clear();
        }
        if other.topology == Topology::Points {
            self.topology = Topology::Points;
        }
    }

    /// Appends a flat-shaded polygon already triangulated: `positions` and
    /// triangles indexing them; the normal is computed from the triangles.
    pub fn push_flat(
        &mut self,
        positions: &[Vec3],
        triangles: &[[u32; 3]],
        uv: impl Fn(Vec3) -> Vec2,
        color: [u8; 4],
        material: Material,
    ) {
        let mut normal = Vec3::ZERO;
        for t in triangles {
            let (a, b, c) = (positions[t[0] as usize], positions[t[1] as usize], positions[t[2] as usize]);
            normal += (b - a).cross(c - a);
        }
        let normal = normal.normalize_or(Vec3::Z);
        let base = self.vertices.len() as u32;
        self.vertices.extend(positions.iter().map(|&p| MeshVertex { position: p, normal, uv: uv(p), color, material }));
        self.indices.extend(triangles.iter().flat_map(|t| t.map(|i| base + i)));
    }

    /// Ray–triangle intersection (Möller–Trumbore) in the mesh's local frame;
    /// the nearest positive distance along `dir`.
    pub fn ray_hit(&self, origin: Vec3, dir: Vec3) -> Option<f32> {
        let mut best: Option<f32> = None;
        for t in self.indices.chunks_exact(3) {
            let p = |i: u32| self.vertices[i as usize].position;
            let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
            let (e1, e2) = (b - a, c - a);
            let h = dir.cross(e2);
            let det = e1.dot(h);
            if det.abs() < 1e-12 {
                continue;
            }
            let inv = 1.0 / det;
            let s = origin - a;
            let u = s.dot(h) * inv;
            if !(0.0..=1.0).contains(&u) {
                continue;
            }
            let q = s.cross(e1);
            let v = dir.dot(q) * inv;
            if v < 0.0 || u + v > 1.0 {
                continue;
            }
            let dist = e2.dot(q) * inv;
            if dist > 1e-4 && best.is_none_or(|b| dist < b) {
                best = Some(dist);
            }
        }
        best
    }
}

/// Identifies a mesh in the [`MeshStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeshId(pub u32);

/// All feature meshes of a city model.
#[derive(Resource, Debug, Default)]
pub struct MeshStore {
    meshes: Vec<CpuMesh>,
    /// Slots released by removed features, reused by the next meshes.
    free: Vec<u32>,
}

impl MeshStore {
    pub fn add(&mut self, mesh: CpuMesh) -> MeshId {
        if let Some(i) = self.free.pop() {
            self.meshes[i as usize] = mesh;
            return MeshId(i);
        }
        self.meshes.push(mesh);
        MeshId(self.meshes.len() as u32 - 1)
    }

    /// Frees a mesh that only one (removed) feature used; its slot is reused.
    pub fn release(&mut self, id: MeshId) {
        if let Some(m) = self.meshes.get_mut(id.0 as usize) {
            *m = CpuMesh::default();
            self.free.push(id.0);
        }
    }

    /// Bytes of a mesh's vertex and index arrays.
    pub fn bytes(&self, id: MeshId) -> u64 {
        self.get(id).map_or(0, Self::mesh_bytes)
    }

    /// Bytes of a mesh's vertex and index arrays.
    pub fn mesh_bytes(m: &CpuMesh) -> u64 {
        (size_of_val(m.vertices.as_slice()) + size_of_val(m.indices.as_slice())) as u64
    }

    pub fn get(&self, id: MeshId) -> Option<&CpuMesh> {
        self.meshes.get(id.0 as usize)
    }

    /// Replaces a mesh; the caller must mark the owning feature's
    /// `GeometryHandle` changed so that extraction rebuilds it.
    pub fn replace(&mut self, id: MeshId, mesh: CpuMesh) -> bool {
        match self.meshes.get_mut(id.0 as usize) {
            Some(m) => {
                *m = mesh;
                true
            }
            None => false,
        }
    }

    /// Meshes held (released slots not counted).
    pub fn len(&self) -> usize {
        self.meshes.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
