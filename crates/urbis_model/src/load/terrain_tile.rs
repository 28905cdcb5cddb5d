//! A streamed terrain tile (`urbis_tiles::terrain`) as one feature: its mesh
//! from ECEF into the city frame, its draped imagery as its texture.
//!
//! ```text
//! TerrainMesh (ECEF offsets, normals, uvs, skirts, texture)
//!   ─► ENU (Placer) around the tile's centre ─► CpuMesh (Textured, white; or Terrain colour)
//!   ─► NewFeature "…/z/x/y.terrain", class TINRelief, level/x/y/source/heights attributes
//! ```

use glam::{DVec3, Vec2, Vec3};
use urbis_formats::terrain_mesh::TerrainMesh;

use super::build::TileBuild;
use super::tiles::ContentContext;
use crate::mesh::{CpuMesh, Material, MeshGroup, MeshVertex};
use crate::{Bounds, Lod, NewFeature, SemanticClass};

/// Colour of untextured terrain from a DEM, and of the bare globe (sRGB).
pub const DEM_COLOUR: [u8; 4] = [112, 128, 80, 255];
pub const GLOBE_COLOUR: [u8; 4] = [96, 112, 128, 255];

/// Adds a terrain tile to `build`; returns the features added (1).
pub(crate) fn add(build: &mut TileBuild, t: &TerrainMesh, ctx: &mut ContentContext) -> usize {
    let center = DVec3::from_array(t.center);
    let rot = ctx.placer.rotation();
    let origin = ctx.placer.enu(center);
    let textured = t.texture.is_some();
    let (material, color) = match (textured, t.source) {
        (true, _) => (Material::Textured, [255, 255, 255, 255]),
        (false, "ellipsoid") => (Material::Terrain, GLOBE_COLOUR),
        (false, _) => (Material::Terrain, DEM_COLOUR),
    };
    let mut mesh = CpuMesh::default();
    mesh.vertices.reserve(t.positions.len());
    let (mut lo, mut hi) = (DVec3::INFINITY, DVec3::NEG_INFINITY);
    for (k, p) in t.positions.iter().enumerate() {
        let enu = ctx.placer.enu(center + Vec3::from_array(*p).as_dvec3());
        lo = lo.min(enu);
        hi = hi.max(enu);
        let n = t.normals.get(k).map_or(Vec3::Z, |n| (rot * Vec3::from_array(*n).as_dvec3()).as_vec3());
        mesh.vertices.push(MeshVertex {
            position: (enu - origin).as_vec3(),
            normal: n,
            uv: t.uvs.get(k).map_or(Vec2::ZERO, |uv| Vec2::from_array(*uv)),
            color,
            material,
        });
    }
    mesh.indices = t.indices.clone();
    if let Some(tex) = &t.texture
        && let Some(img) = image::RgbaImage::from_raw(tex.width, tex.height, tex.rgba.clone())
    {
        let id = build.add_texture(img);
        mesh.groups.push(MeshGroup {
            texture: Some(id),
            first_index: 0,
            index_count: mesh.indices.len() as u32,
            single_sided: false,
        });
    }
    let mut f = NewFeature::new(ctx.guid_prefix.clone(), SemanticClass::TIN_RELIEF, origin);
    let mut attrs = ctx.common.clone();
    attrs.insert("level", i64::from(t.coord.z));
    attrs.insert("tile_x", i64::from(t.coord.x));
    attrs.insert("tile_y", i64::from(t.coord.y));
    attrs.insert("terrain_source", t.source.to_string());
    attrs.insert("min_height", t.height_range[0]);
    attrs.insert("max_height", t.height_range[1]);
    f.attributes = attrs;
    if lo.is_finite() {
        f.bounds = Some(Bounds::from_points([lo, hi]));
    }
    f.mesh = Some((mesh, Lod(10)));
    build.features.push(f);
    1
}
