//! The model's entities as plain features: triangles in ENU (f64), with
//! their uvs, colours, texture and semantics. Shared meshes (instances)
//! are baked in place; point clouds and features without triangles are
//! reported as skipped.

use bevy_ecs::prelude::Entity;
use glam::{DVec3, Vec2, Vec3};
use urbis_model::{
    AttributeValue, Attributes, CityModel, FeatureId, GeometryHandle, InstanceTransform, Material, PartOf, Placement,
    SemanticClass, TextureId, Topology,
};

/// One entity, ready to write. Triangles are unindexed (three corners each).
#[derive(Debug, Clone)]
pub struct Feature {
    pub guid: String,
    pub class: String,
    pub family: String,
    pub parent: Option<String>,
    pub attributes: Vec<(String, AttributeValue)>,
    /// Corners in ENU, three per triangle.
    pub positions: Vec<DVec3>,
    pub normals: Vec<Vec3>,
    pub uvs: Vec<Vec2>,
    /// sRGB.
    pub colors: Vec<[u8; 4]>,
    /// Per triangle: its base-colour texture.
    pub textures: Vec<Option<TextureId>>,
    pub min: DVec3,
    pub max: DVec3,
    /// Length of the box's diagonal, metres.
    pub diagonal: f64,
}

/// Every entity with triangles, in GUID order, and what was skipped.
pub(crate) fn gather(model: &CityModel) -> (Vec<Feature>, Vec<String>) {
    let world = &model.world;
    let mut skipped = Vec::new();
    let mut out = Vec::new();
    let Some(mut q) = world.try_query::<(Entity, &FeatureId, &SemanticClass)>() else {
        return (out, skipped);
    };
    let mut entities: Vec<(Entity, &FeatureId, &SemanticClass)> = q.iter(world).collect();
    entities.sort_by(|a, b| a.1.guid.cmp(&b.1.guid));
    for (e, id, class) in entities {
        let (Some(g), Some(pl)) = (world.get::<GeometryHandle>(e), world.get::<Placement>(e)) else {
            if world.get::<urbis_model::classify::ClassificationVolume>(e).is_some() {
                skipped.push(format!("{}: a classification volume (no triangles of its own)", id.guid));
            }
            continue;
        };
        let Some(mesh) = model.meshes().get(g.mesh) else { continue };
        if mesh.topology == Topology::Points {
            skipped.push(format!(
                "{}: a point cloud ({} points; only triangles are written)",
                id.guid,
                mesh.vertices.len()
            ));
            continue;
        }
        let linear = world.get::<InstanceTransform>(e);
        let place = |p: Vec3| pl.enu + linear.map_or(p.as_dvec3(), |l| l.apply(p));
        let turn = |n: Vec3| linear.map_or(n, |l| (l.linear * n.as_dvec3()).as_vec3()).normalize_or(Vec3::Z);
        let groups = mesh.texture_groups();
        let mut f = Feature {
            guid: id.guid.clone(),
            class: class.name().to_string(),
            family: class.family().name().to_string(),
            parent: world.get::<PartOf>(e).and_then(|p| world.get::<FeatureId>(p.0)).map(|p| p.guid.clone()),
            attributes: attributes(world.get::<Attributes>(e)),
            positions: Vec::new(),
            normals: Vec::new(),
            uvs: Vec::new(),
            colors: Vec::new(),
            textures: Vec::new(),
            min: DVec3::INFINITY,
            max: DVec3::NEG_INFINITY,
            diagonal: 0.0,
        };
        for gr in groups {
            let range = gr.first_index as usize..(gr.first_index + gr.index_count) as usize;
            let Some(indices) = mesh.indices.get(range) else { continue };
            for tri in indices.chunks_exact(3) {
                let Some(v) = tri.iter().map(|&i| mesh.vertices.get(i as usize)).collect::<Option<Vec<_>>>() else {
                    continue;
                };
                let p: Vec<DVec3> = v.iter().map(|v| place(v.position)).collect();
                if p.iter().any(|p| !p.is_finite()) {
                    continue;
                }
                let textured = gr.texture.is_some() && v.iter().all(|v| v.material == Material::Textured);
                for (v, p) in v.iter().zip(p) {
                    f.min = f.min.min(p);
                    f.max = f.max.max(p);
                    f.positions.push(p);
                    f.normals.push(turn(v.normal));
                    f.uvs.push(v.uv);
                    f.colors.push(v.color);
                }
                f.textures.push(if textured { gr.texture } else { None });
            }
        }
        if f.positions.is_empty() {
            skipped.push(format!("{}: no triangles", id.guid));
            continue;
        }
        f.diagonal = (f.max - f.min).length();
        out.push(f);
    }
    (out, skipped)
}

/// Attributes in key order.
fn attributes(a: Option<&Attributes>) -> Vec<(String, AttributeValue)> {
    a.map(|a| a.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}
