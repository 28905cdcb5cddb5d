//! City-scale scenes: a synthetic metropolis of any size
//! ([`urbis_sample_city::metropolis`]) as building fields for the
//! renderer's GPU-driven path, and the same buildings the way a scene
//! graph draws them one object at a time (the baseline the benchmarks
//! compare with).
//!
//! ```text
//! Metropolis (ENU metres) ─► field_templates (one per footprint shape:
//!                            near = walls, parapet roof, plant room;
//!                            far = LoD1 prism)
//!                         ─► metropolis_fields: 512 m chunks (f64 origins
//!                            on the ellipsoid), ≤ MAX_FIELD_INSTANCES a field
//!                         ─► per_building_chunks: one chunk, one draw each
//! ```

use glam::{DVec3, Vec3};
use urbis_geo::{CityFrame, Geodetic};
use urbis_render::{
    BuildingField, Camera, ChunkKey, ChunkMesh, FieldChunk, FieldInstance, FieldTemplate, Lighting,
    MAX_FIELD_INSTANCES, TemplateMesh, Vertex,
};
use urbis_sample_city::metropolis::{MassBuilding, Metropolis, Shape};

/// Side of a field chunk, metres.
pub const CHUNK_M: f64 = 512.0;
/// Unit-template material: façade whose coordinates come from the instance's scale.
const FACADE_UNIT: u32 = 8;
const ROOF: u32 = 2;
const PLAIN: u32 = 0;
/// Roof height of the near template (the walls rise above it as a parapet).
const ROOF_Z: f32 = 0.97;

/// Where the plant room sits on each shape's roof (unit space).
fn plant_room(shape: Shape) -> [f32; 2] {
    match shape {
        Shape::Rect => [0.0, 0.0],
        Shape::L => [-0.25, -0.25],
        Shape::T => [0.0, 0.3],
        Shape::U => [-0.35, 0.0],
        Shape::Courtyard => [0.375, 0.0],
    }
}

struct MeshBuilder {
    mesh: TemplateMesh,
}

impl MeshBuilder {
    fn vertex(&mut self, p: [f32; 3], n: [f32; 3], color: [u8; 4], material: u32) -> u32 {
        self.mesh.vertices.push(Vertex { position: p, normal: n, uv: [0.0; 2], color, feature: 0, material });
        self.mesh.vertices.len() as u32 - 1
    }

    /// Vertical quads along every ring edge from `z0` to `z1`, facing out of the solid.
    fn walls(&mut self, rings: &[Vec<[f32; 2]>], z0: f32, z1: f32, color: [u8; 4], material: u32) {
        for ring in rings {
            for k in 0..ring.len() {
                let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                let n = Vec3::new(b[1] - a[1], a[0] - b[0], 0.0).normalize().to_array();
                let v = [
                    self.vertex([a[0], a[1], z0], n, color, material),
                    self.vertex([b[0], b[1], z0], n, color, material),
                    self.vertex([b[0], b[1], z1], n, color, material),
                    self.vertex([a[0], a[1], z1], n, color, material),
                ];
                self.mesh.indices.extend([v[0], v[1], v[2], v[0], v[2], v[3]]);
            }
        }
    }

    /// A flat roof over the rings at `z`.
    fn roof(&mut self, rings: &[Vec<[f32; 2]>], z: f32, color: [u8; 4]) {
        let rings3: Vec<Vec<DVec3>> =
            rings.iter().map(|r| r.iter().map(|p| DVec3::new(p[0] as f64, p[1] as f64, 0.0)).collect()).collect();
        let base = self.mesh.vertices.len() as u32;
        for p in rings.iter().flatten() {
            self.vertex([p[0], p[1], z], [0.0, 0.0, 1.0], color, ROOF);
        }
        for t in urbis_formats::triangulate::polygon_with_holes(&rings3) {
            self.mesh.indices.extend(t.map(|i| base + i));
        }
    }
}

const WALL: [u8; 4] = [206, 200, 190, 255];
const ROOF_COLOUR: [u8; 4] = [140, 142, 148, 255];
const PLANT: [u8; 4] = [172, 174, 180, 255];

/// One template per [`Shape`], in `Shape::ALL` order: near, the walls with
/// a parapet, the roof below it and a plant room; far, the LoD1 prism.
pub fn field_templates() -> Vec<FieldTemplate> {
    Shape::ALL
        .iter()
        .map(|&shape| {
            let rings = shape.rings();
            let mut near = MeshBuilder { mesh: TemplateMesh::default() };
            near.walls(&rings, 0.0, 1.0, WALL, FACADE_UNIT);
            near.roof(&rings, ROOF_Z, ROOF_COLOUR);
            let [cx, cy] = plant_room(shape);
            let h = 0.1;
            let room = vec![[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]];
            near.walls(std::slice::from_ref(&room), ROOF_Z, 1.0, PLANT, PLAIN);
            near.roof(&[room], 1.0, ROOF_COLOUR);
            let mut far = MeshBuilder { mesh: TemplateMesh::default() };
            far.walls(&rings, 0.0, 1.0, WALL, FACADE_UNIT);
            far.roof(&rings, 1.0, ROOF_COLOUR);
            FieldTemplate { near: near.mesh, far: far.mesh }
        })
        .collect()
}

/// The frame the synthetic metropolis stands in: Xiong'an, at its true
/// ECEF position (so the precision path is exercised).
pub fn metropolis_frame() -> CityFrame {
    CityFrame::new(Geodetic { lon_deg: 115.9, lat_deg: 39.0, height: 10.0 })
}

fn instance(b: &MassBuilding, centre: DVec3, chunk: u32, feature: u32) -> FieldInstance {
    FieldInstance {
        position: (DVec3::new(b.x, b.y, 0.0) - centre).as_vec3().to_array(),
        yaw: b.yaw,
        size: [b.width, b.depth, b.height],
        template: b.shape as u32,
        feature,
        chunk,
        _pad: [0; 2],
    }
}

/// The metropolis as building fields: 512 m chunks, fields of at most
/// [`MAX_FIELD_INSTANCES`] buildings; building `i` is feature `i + 1`.
pub fn metropolis_fields(m: &Metropolis, frame: &CityFrame) -> Vec<BuildingField> {
    let cell = |b: &MassBuilding| ((b.x / CHUNK_M).floor() as i64, (b.y / CHUNK_M).floor() as i64);
    let mut order: Vec<u32> = (0..m.buildings.len() as u32).collect();
    order.sort_by_key(|&i| cell(&m.buildings[i as usize]));
    let templates = field_templates();
    let mut fields = Vec::new();
    let mut field = BuildingField { templates: templates.clone(), ..Default::default() };
    let mut start = 0;
    while start < order.len() {
        let key = cell(&m.buildings[order[start] as usize]);
        let end = start + order[start..].iter().take_while(|&&i| cell(&m.buildings[i as usize]) == key).count();
        if field.instances.len() + (end - start) > MAX_FIELD_INSTANCES {
            fields.push(std::mem::replace(
                &mut field,
                BuildingField { templates: templates.clone(), ..Default::default() },
            ));
        }
        let centre = DVec3::new((key.0 as f64 + 0.5) * CHUNK_M, (key.1 as f64 + 0.5) * CHUNK_M, 0.0);
        let chunk = field.chunks.len() as u32;
        field.chunks.push(FieldChunk { origin: frame.enu_to_ecef(centre), basis: frame.enu_to_ecef_rot });
        for &i in &order[start..end] {
            field.instances.push(instance(&m.buildings[i as usize], centre, chunk, i + 1));
        }
        start = end;
    }
    if !field.instances.is_empty() {
        fields.push(field);
    }
    fields
}

/// The baseline: every building its own chunk with its own (near) mesh,
/// culled one by one on the CPU and drawn with a draw call each, as a
/// scene graph of one object per building draws it (bevy's `many_cubes`).
pub fn per_building_chunks(m: &Metropolis, frame: &CityFrame) -> Vec<(ChunkKey, ChunkMesh)> {
    let templates = field_templates();
    m.buildings
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let inst = instance(b, DVec3::new(b.x, b.y, 0.0), 0, i as u32 + 1);
            let rows = urbis_render::InstanceData { rows: inst.rows(), feature: inst.feature, _pad: [0; 3] };
            let t = &templates[b.shape as usize].near;
            let vertices = t
                .vertices
                .iter()
                .map(|v| {
                    let n = Vec3::from_array(v.normal);
                    let s = Vec3::from_array(inst.size);
                    let scaled_n = rows.apply(n) - rows.apply(Vec3::ZERO);
                    let p = rows.apply(Vec3::from_array(v.position));
                    let along = if n.x.abs() > n.y.abs() { v.position[1] * s.y } else { v.position[0] * s.x };
                    let (uv, material) = if v.material == FACADE_UNIT {
                        ([along / 3.0, v.position[2] * s.z / 3.0], 1)
                    } else {
                        (v.uv, v.material)
                    };
                    Vertex {
                        position: p.to_array(),
                        normal: scaled_n.normalize_or_zero().to_array(),
                        uv,
                        color: v.color,
                        feature: inst.feature,
                        material,
                    }
                })
                .collect();
            let origin = frame.enu_to_ecef(DVec3::new(b.x, b.y, 0.0));
            let chunk = ChunkMesh {
                origin,
                basis: frame.enu_to_ecef_rot,
                vertices,
                indices: t.indices.clone(),
                ..Default::default()
            };
            (ChunkKey(i as u64 + 1), chunk)
        })
        .collect()
}

/// A camera over the metropolis: `range` metres from the centre, seen from
/// the south-west at `pitch_deg` below the horizon, turned `turn` of a full
/// orbit about the centre.
pub fn metropolis_camera(frame: &CityFrame, range: f64, pitch_deg: f64, turn: f64) -> Camera {
    let az = std::f64::consts::TAU * turn + 225f64.to_radians();
    let (p, a) = (pitch_deg.to_radians(), az);
    let eye_enu = DVec3::new(a.sin() * p.cos(), a.cos() * p.cos(), p.sin()) * range;
    let up = frame.enu_to_ecef_rot * DVec3::Z;
    let mut c = Camera::look_at(frame.enu_to_ecef(eye_enu), frame.enu_to_ecef(DVec3::ZERO), up);
    c.fov_y = 45f64.to_radians();
    c
}

/// An afternoon sun over the metropolis seen from `camera`: shadows over
/// the near part of the view and a ground plain under the city (both sized
/// by the camera's height over the ground).
pub fn metropolis_lighting(frame: &CityFrame, camera: &Camera) -> Lighting {
    let r = frame.enu_to_ecef_rot;
    let mut l = Lighting::clear_day(r * DVec3::X, r * DVec3::Y, r * DVec3::Z, 215.0, 38.0);
    l.ground_plain_depth = frame.ecef_to_enu(camera.position).z.max(1.0) as f32;
    l
}
