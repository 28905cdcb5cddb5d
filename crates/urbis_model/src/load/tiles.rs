//! 3D Tiles and glTF content → feature entities (monomerization): every
//! feature ID of a primitive (EXT_mesh_features, or b3dm `_BATCHID`) becomes
//! its own entity with its own mesh and its property-table or batch-table
//! row as attributes; i3dm instances become instances of one shared mesh.

use std::collections::BTreeMap;

use glam::{DMat3, DMat4, DVec3, Vec2, Vec3};
use serde_json::Value;
use urbis_formats::gltf::{FeatureIdSource, GltfModel, MetadataValue, Primitive};
use urbis_formats::tiles3d::TileContent;
use urbis_geo::{CityFrame, enu_basis};

use super::LoadReport;
use super::build::TileBuild;
use super::tile_semantics::{attribute_key, class_of, entity_attributes, json_attr, metadata_attr};
use crate::mesh::{CpuMesh, Material, MeshGroup, MeshVertex, TextureId, Topology};
use crate::{Attributes, Bounds, CityModel, InstanceTransform, Lod, NewFeature};

/// glTF is y-up; 3D Tiles and Urbis are z-up: (x, y, z) → (x, −z, y).
pub const Y_UP_TO_Z_UP: DMat4 =
    DMat4::from_cols_array(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);

/// Maps world coordinates (ECEF, or local metres for data that is not
/// georeferenced) into the model's ENU frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placer {
    pub frame: CityFrame,
    /// The data is not on the Earth: its coordinates are ENU metres already.
    pub local: bool,
}

impl Placer {
    pub fn enu(&self, world: DVec3) -> DVec3 {
        if self.local { world } else { self.frame.ecef_to_enu(world) }
    }

    /// World → ENU for directions.
    pub fn rotation(&self) -> DMat3 {
        if self.local { DMat3::IDENTITY } else { self.frame.enu_to_ecef_rot.transpose() }
    }
}

/// Where a content sits and what it is called.
#[derive(Debug, Clone)]
pub(crate) struct ContentContext {
    pub placer: Placer,
    /// Tile transform (world).
    pub transform: DMat4,
    /// Stable prefix of feature GUIDs, e.g. `tileset.json/dragon_low.b3dm`.
    pub guid_prefix: String,
    /// Attributes every feature of the content carries (tile and content metadata, the URI).
    pub common: Attributes,
}

fn linear_to_srgb(c: f32) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let s = if c <= 0.003_130_8 { c * 12.92 } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
    (s * 255.0 + 0.5) as u8
}

/// A decoded base-colour texture, for sampling colours or feature IDs at vertices.
fn decode_texture(model: &GltfModel, texture: usize) -> Option<image::RgbaImage> {
    let img = model.images.get(model.textures.get(texture)?.image?)?;
    image::load_from_memory(&img.bytes).ok().map(|i| i.to_rgba8())
}

fn sample(img: &image::RgbaImage, uv: [f32; 2]) -> [u8; 4] {
    let (w, h) = img.dimensions();
    let wrap = |t: f32| t - t.floor();
    let x = ((wrap(uv[0]) * w as f32) as u32).min(w - 1);
    let y = ((wrap(uv[1]) * h as f32) as u32).min(h - 1);
    img.get_pixel(x, y).0
}

/// A triangle primitive whose first feature-ID set is a texture, split so
/// that its features follow the texels (see `texel_features`).
fn texel_split(model: &GltfModel, p: &Primitive) -> Option<Primitive> {
    if p.mode == urbis_formats::gltf::PrimitiveMode::Points {
        return None;
    }
    let FeatureIdSource::Texture { texture, tex_coord, channels, transform } = &p.feature_ids.first()?.source else {
        return None;
    };
    let img = decode_texture(model, *texture)?;
    super::texel_features::split_by_texels(p, &img, *tex_coord, channels, *transform)
}

/// Per-vertex feature IDs of a primitive, with the set they came from.
fn vertex_feature_ids(model: &GltfModel, p: &Primitive) -> Option<(Vec<u32>, Option<usize>, Option<u32>)> {
    if let Some(set) = p.feature_ids.first() {
        let ids = match &set.source {
            FeatureIdSource::Texture { texture, tex_coord, channels, transform } => {
                let img = decode_texture(model, *texture)?;
                let uvs = p.tex_coords.get(*tex_coord as usize)?;
                uvs.iter()
                    .map(|&uv| {
                        urbis_formats::gltf::features::texel_feature_id(
                            sample(&img, transform.map_or(uv, |t| t.apply(uv))),
                            channels,
                        )
                    })
                    .collect()
            }
            _ => set.per_vertex(p.positions.len())?,
        };
        return Some((ids, set.property_table, set.null_feature_id));
    }
    p.batch_ids.clone().map(|b| (b, None, None))
}

/// Vertex colours (sRGB) of a primitive: material factor × COLOR_0 (the
/// base-colour texture, if any, is drawn by the renderer on top).
fn vertex_colors(model: &GltfModel, p: &Primitive) -> Vec<[u8; 4]> {
    let mat = p.material.and_then(|m| model.materials.get(m));
    let factor = mat.map_or([0.8, 0.8, 0.8, 1.0], |m| m.base_color);
    let srgb = |c: [f32; 4]| [linear_to_srgb(c[0]), linear_to_srgb(c[1]), linear_to_srgb(c[2]), 255];
    let Some(colors) = p.colors.as_ref() else { return vec![srgb(factor); p.positions.len()] };
    // Runs of equal colours are common (a colour per wall or band): convert once per run.
    let mut last: Option<([f32; 4], [u8; 4])> = None;
    (0..p.positions.len())
        .map(|i| {
            let mut c = factor;
            if let Some(vc) = colors.get(i) {
                for k in 0..4 {
                    c[k] *= vc[k];
                }
            }
            match last {
                Some((l, out)) if l == c => out,
                _ => {
                    let out = srgb(c);
                    last = Some((c, out));
                    out
                }
            }
        })
        .collect()
}

/// How a primitive's surface is drawn: its material and texture, with the
/// texture coordinates it samples (KHR_texture_transform applied).
struct Look {
    material: Material,
    texture: Option<TextureId>,
    uvs: Option<Vec<[f32; 2]>>,
    /// The material is not `doubleSided`: back faces may be culled.
    single_sided: bool,
}

/// Decodes (once per glTF texture) and stores the base-colour texture of a primitive.
fn look_of(
    build: &mut TileBuild,
    g: &GltfModel,
    p: &Primitive,
    cache: &mut BTreeMap<usize, Option<TextureId>>,
) -> Look {
    let material = p.material.and_then(|m| g.materials.get(m));
    let single_sided = material.is_some_and(|m| !m.double_sided);
    let tex = material.and_then(|m| m.base_color_texture.clone());
    let plain = Look { material: Material::Plain, texture: None, uvs: None, single_sided };
    let Some(t) = tex else { return plain };
    let id = *cache.entry(t.texture).or_insert_with(|| decode_texture(g, t.texture).map(|img| build.add_texture(img)));
    match (id, p.tex_coords.get(t.tex_coord as usize)) {
        (Some(id), Some(uvs)) => Look {
            material: Material::Textured,
            texture: Some(id),
            uvs: Some(uvs.iter().map(|&uv| t.transform.map_or(uv, |tt| tt.apply(uv))).collect()),
            single_sided,
        },
        _ => plain,
    }
}

thread_local! {
    static REMAP: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Builds a mesh from a subset of a primitive's triangles (or, for point
/// primitives, of its vertices), relative to `origin` (ENU).
fn feature_mesh(
    tris: &[[u32; 3]],
    points: Option<&[u32]>,
    enu: &[DVec3],
    normals_enu: Option<&[Vec3]>,
    colors: &[[u8; 4]],
    look: &Look,
    origin: DVec3,
) -> CpuMesh {
    let mut mesh = CpuMesh::default();
    let uv = |v: usize| look.uvs.as_ref().and_then(|u| u.get(v)).map_or(Vec2::ZERO, |u| Vec2::from_array(*u));
    let vertex = |v: usize, normal: Vec3| MeshVertex {
        position: (enu[v] - origin).as_vec3(),
        normal,
        uv: uv(v),
        color: colors[v],
        material: look.material,
    };
    if let Some(points) = points {
        mesh.topology = Topology::Points;
        mesh.vertices =
            points.iter().map(|&i| vertex(i as usize, normals_enu.map_or(Vec3::Z, |n| n[i as usize]))).collect();
        return mesh;
    }
    if let Some(normals) = normals_enu {
        // Source vertex → mesh vertex, in a per-thread scratch array that is
        // reset after use (a feature touches few of a primitive's vertices).
        REMAP.with_borrow_mut(|remap| {
            if remap.len() < enu.len() {
                remap.resize(enu.len(), u32::MAX);
            }
            mesh.indices.reserve(tris.len() * 3);
            for t in tris {
                for &i in t {
                    let slot = &mut remap[i as usize];
                    if *slot == u32::MAX {
                        mesh.vertices.push(vertex(i as usize, normals[i as usize]));
                        *slot = mesh.vertices.len() as u32 - 1;
                    }
                    mesh.indices.push(*slot);
                }
            }
            for t in tris {
                for &i in t {
                    remap[i as usize] = u32::MAX;
                }
            }
        });
    } else {
        for t in tris {
            let pts: Vec<Vec3> = t.iter().map(|&i| (enu[i as usize] - origin).as_vec3()).collect();
            let n = (pts[1] - pts[0]).cross(pts[2] - pts[0]).normalize_or(Vec3::Z);
            let base = mesh.vertices.len() as u32;
            mesh.vertices.extend(t.iter().map(|&i| vertex(i as usize, n)));
            mesh.indices.extend([base, base + 1, base + 2]);
        }
    }
    if look.texture.is_some() || look.single_sided {
        mesh.groups = vec![MeshGroup {
            texture: look.texture,
            first_index: 0,
            index_count: mesh.indices.len() as u32,
            single_sided: look.single_sided,
        }];
    }
    mesh
}

/// Adds the features of one glTF (in a tile or alone), placed by `m_world`
/// (tile transform × RTC × y-up→z-up, before node transforms).
pub(crate) fn add_gltf(
    build: &mut TileBuild,
    g: &GltfModel,
    m_world: DMat4,
    batch_table: Option<&BTreeMap<String, Vec<Value>>>,
    ctx: &mut ContentContext,
) -> usize {
    let metadata = g.metadata.as_ref();
    let mut spawned = 0;
    let mut textures = BTreeMap::new();
    // feature key → (mesh, attributes)
    let mut features: BTreeMap<String, (Vec<(CpuMesh, DVec3)>, Attributes)> = BTreeMap::new();
    for (pi, p) in g.primitives.iter().enumerate() {
        // Texture feature IDs: split the triangles along the texels first.
        let split = texel_split(g, p);
        let p = split.as_ref().unwrap_or(p);
        let is_points = p.mode == urbis_formats::gltf::PrimitiveMode::Points;
        let tris = if is_points { Vec::new() } else { p.triangles() };
        if tris.is_empty() && !is_points {
            if !p.positions.is_empty() {
                build.warnings.push(format!("{}: primitive {pi} ({:?}): lines are not drawn", ctx.guid_prefix, p.mode));
            }
            continue;
        }
        let instances = if p.instances.is_empty() { vec![DMat4::IDENTITY] } else { p.instances.clone() };
        let colors = vertex_colors(g, p);
        let look = look_of(build, g, p, &mut textures);
        let ids = vertex_feature_ids(g, p);
        for (ii, inst) in instances.iter().enumerate() {
            let m = m_world * p.transform * *inst;
            let enu: Vec<DVec3> = p
                .positions
                .iter()
                .map(|v| ctx.placer.enu(m.transform_point3(DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64))))
                .collect();
            let normal_m = ctx.placer.rotation() * DMat3::from_mat4(m).inverse().transpose();
            // A mirroring transform turns the winding round (glTF: the front stays counter-clockwise).
            let flipped: Vec<[u32; 3]>;
            let tris = if m.determinant() < 0.0 {
                flipped = tris.iter().map(|t| [t[0], t[2], t[1]]).collect();
                &flipped
            } else {
                &tris
            };
            let normals: Option<Vec<Vec3>> = p.normals.as_ref().map(|ns| {
                ns.iter()
                    .map(|n| {
                        (normal_m * DVec3::new(n[0] as f64, n[1] as f64, n[2] as f64)).normalize_or_zero().as_vec3()
                    })
                    .collect()
            });
            // Group triangles (or points) by the feature of their (first) vertex.
            let feature_of = |v: u32| {
                ids.as_ref().and_then(|(ids, _, null)| ids.get(v as usize).copied().filter(|i| Some(*i) != *null))
            };
            // feature → (its triangles, its points)
            type Parts = (Vec<[u32; 3]>, Vec<u32>);
            let mut groups: BTreeMap<Option<u32>, Parts> = BTreeMap::new();
            for t in tris {
                groups.entry(feature_of(t[0])).or_default().0.push(*t);
            }
            if is_points {
                for v in 0..p.positions.len() as u32 {
                    groups.entry(feature_of(v)).or_default().1.push(v);
                }
            }
            for (id, (group, point_group)) in groups {
                let (key, attrs) = match id {
                    Some(fid) => {
                        let mut a = ctx.common.clone();
                        let mut guid = format!("{}#{fid}", ctx.guid_prefix);
                        a.insert("feature_id", fid as i64);
                        for (k, col) in batch_table.into_iter().flatten() {
                            if let Some(v) = col.get(fid as usize).and_then(json_attr) {
                                a.insert(k.clone(), v);
                            }
                        }
                        if let Some((_, Some(table), _)) = &ids
                            && let Some(t) = metadata.and_then(|m| m.property_tables.get(*table))
                        {
                            a.insert("metadata.class", t.class.clone());
                            // A property with the `ID` semantic names the feature (its GUID).
                            let class = metadata.and_then(|m| m.schema.classes.get(&t.class));
                            let id_key = class
                                .and_then(|c| c.properties.iter().find(|(_, p)| p.semantic.as_deref() == Some("ID")))
                                .map(|(k, _)| k.as_str());
                            for (k, v) in t.row(fid as usize) {
                                if Some(k) == id_key
                                    && let MetadataValue::String(s) = v
                                    && !s.is_empty()
                                {
                                    guid = s.clone();
                                }
                                if let Some(v) = metadata_attr(v) {
                                    a.insert(attribute_key(class, k), v);
                                }
                            }
                        }
                        (guid, a)
                    }
                    None => {
                        // Without feature IDs the content is one feature (instances apart).
                        let suffix =
                            if instances.len() > 1 { format!("/node{}/instance{ii}", p.node) } else { String::new() };
                        (format!("{}{suffix}", ctx.guid_prefix), ctx.common.clone())
                    }
                };
                let used = group.iter().flatten().chain(point_group.iter());
                let (lo, hi) = used
                    .fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(lo, hi), &i| {
                        (lo.min(enu[i as usize]), hi.max(enu[i as usize]))
                    });
                let origin = DVec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z);
                let points = is_points.then_some(point_group.as_slice());
                let mesh = feature_mesh(&group, points, &enu, normals.as_deref(), &colors, &look, origin);
                let entry = features.entry(key).or_insert_with(|| (Vec::new(), attrs));
                entry.0.push((mesh, origin));
            }
        }
    }
    for (guid, (parts, attrs)) in features {
        // One entity per feature: merge the parts of a feature spread over primitives.
        let origin = parts.iter().map(|(_, o)| *o).fold(DVec3::splat(f64::INFINITY), DVec3::min);
        let origin = if parts.len() == 1 { parts[0].1 } else { origin };
        let mut mesh = CpuMesh::default();
        for (m, o) in parts {
            mesh.append(m, (o - origin).as_vec3());
        }
        let mut f = NewFeature::new(guid, class_of(&attrs), origin);
        f.attributes = attrs;
        f.bounds = Some(Bounds::from_points(mesh.vertices.iter().map(|v| origin + v.position.as_dvec3())));
        f.mesh = Some((mesh, Lod(20)));
        build.features.push(f);
        spawned += 1;
    }
    spawned
}

/// The rotation-scale of an i3dm instance in world axes.
fn instance_basis(
    i: &urbis_formats::tiles3d::Instance,
    world_position: DVec3,
    east_north_up: bool,
    placer: &Placer,
) -> DMat3 {
    let rot = match (i.up, i.right) {
        (Some(up), Some(right)) => DMat3::from_cols(right, up.cross(right), up),
        _ if east_north_up && !placer.local => {
            let g = urbis_geo::Ellipsoid::WGS84.ecef_to_geodetic(world_position);
            enu_basis(g.lon_deg, g.lat_deg)
        }
        _ => DMat3::IDENTITY,
    };
    rot * DMat3::from_diagonal(i.scale)
}

/// Adds the features of a tile content.
pub(crate) fn add_content(build: &mut TileBuild, content: &TileContent, ctx: &mut ContentContext) -> usize {
    match content {
        TileContent::Glb(g) => {
            let m = ctx.transform * g.rtc_center.map_or(DMat4::IDENTITY, DMat4::from_translation) * Y_UP_TO_Z_UP;
            add_gltf(build, g, m, None, ctx)
        }
        TileContent::B3dm(b) => {
            let rtc = b.rtc_center.or(b.gltf.rtc_center).map_or(DMat4::IDENTITY, DMat4::from_translation);
            let m = ctx.transform * rtc * Y_UP_TO_Z_UP;
            add_gltf(build, &b.gltf, m, Some(&b.batch_table), ctx)
        }
        TileContent::I3dm(i) => add_i3dm(build, i, ctx),
        TileContent::Pnts(p) => add_pnts(build, p, ctx),
        TileContent::Cmpt(inner) => {
            let prefix = ctx.guid_prefix.clone();
            let mut n = 0;
            for (k, c) in inner.iter().enumerate() {
                ctx.guid_prefix = format!("{prefix}/{k}");
                n += add_content(build, c, ctx);
            }
            ctx.guid_prefix = prefix;
            n
        }
        TileContent::Osgb(f) => add_osgb(build, f, ctx),
        TileContent::Terrain(t) => super::terrain_tile::add(build, t, ctx),
    }
}

/// An OSGB file streamed as a tile: one textured `PhotoMesh` feature (see
/// `osgb::build_photo_mesh`), its raw vertices placed by the tile transform.
fn add_osgb(build: &mut TileBuild, file: &urbis_formats::osgb::OsgbFile, ctx: &mut ContentContext) -> usize {
    let name = ctx.guid_prefix.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
    let (placer, m) = (ctx.placer, ctx.transform);
    let to_enu = move |p: DVec3| Ok(placer.enu(m.transform_point3(p)));
    match super::osgb::build_photo_mesh(build, file, &name, ctx.guid_prefix.clone(), &to_enu) {
        Ok(0) => 0,
        Ok(n) => {
            if let Some(f) = build.features.last_mut() {
                let mut attrs = ctx.common.clone();
                attrs.0.extend(std::mem::take(&mut f.attributes).0);
                f.attributes = attrs;
            }
            n
        }
        Err(e) => {
            build.warnings.push(format!("{}: {e}", ctx.guid_prefix));
            0
        }
    }
}

/// A point cloud: one entity per batch (or one for the tile), drawn as points.
fn add_pnts(build: &mut TileBuild, p: &urbis_formats::tiles3d::Pnts, ctx: &mut ContentContext) -> usize {
    let m = ctx.transform * p.rtc_center.map_or(DMat4::IDENTITY, DMat4::from_translation);
    let enu: Vec<DVec3> = p
        .positions
        .iter()
        .map(|v| ctx.placer.enu(m.transform_point3(DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64))))
        .collect();
    let rot = ctx.placer.rotation() * DMat3::from_mat4(m);
    let normals: Option<Vec<Vec3>> = p.normals.as_ref().map(|ns| {
        ns.iter()
            .map(|n| (rot * DVec3::new(n[0] as f64, n[1] as f64, n[2] as f64)).normalize_or_zero().as_vec3())
            .collect()
    });
    let colors: Vec<[u8; 4]> = (0..enu.len())
        .map(|i| p.colors.as_ref().and_then(|c| c.get(i).copied()).or(p.constant_rgba).unwrap_or([200, 200, 200, 255]))
        .collect();
    let mut groups: BTreeMap<Option<u32>, Vec<u32>> = BTreeMap::new();
    for i in 0..enu.len() as u32 {
        groups.entry(p.batch_ids.as_ref().and_then(|b| b.get(i as usize).copied())).or_default().push(i);
    }
    let look = Look { material: Material::Plain, texture: None, uvs: None, single_sided: false };
    let mut n = 0;
    for (batch, pts) in groups {
        let (lo, hi) =
            pts.iter().fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(lo, hi), &i| {
                (lo.min(enu[i as usize]), hi.max(enu[i as usize]))
            });
        let origin = DVec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z);
        let mesh = feature_mesh(&[], Some(&pts), &enu, normals.as_deref(), &colors, &look, origin);
        let mut attrs = ctx.common.clone();
        attrs.insert("points", pts.len() as i64);
        let guid = match batch {
            Some(b) => {
                attrs.insert("feature_id", b as i64);
                for (k, col) in &p.batch_table {
                    if let Some(v) = col.get(b as usize).and_then(json_attr) {
                        attrs.insert(k.clone(), v);
                    }
                }
                format!("{}#{b}", ctx.guid_prefix)
            }
            None => ctx.guid_prefix.clone(),
        };
        let mut f = NewFeature::new(guid, class_of(&attrs), origin);
        f.attributes = attrs;
        f.bounds = Some(Bounds::from_points(mesh.vertices.iter().map(|v| origin + v.position.as_dvec3())));
        f.mesh = Some((mesh, Lod(20)));
        build.features.push(f);
        n += 1;
    }
    n
}

fn add_i3dm(build: &mut TileBuild, i: &urbis_formats::tiles3d::I3dm, ctx: &mut ContentContext) -> usize {
    // One shared mesh: the glTF in its own (z-up) space, instanced per feature.
    let mut mesh = CpuMesh::default();
    let mut textures = BTreeMap::new();
    for p in &i.gltf.primitives {
        let tris = p.triangles();
        let look = look_of(build, &i.gltf, p, &mut textures);
        let m = Y_UP_TO_Z_UP * p.transform;
        let pos: Vec<DVec3> =
            p.positions.iter().map(|v| m.transform_point3(DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64))).collect();
        let colors = vertex_colors(&i.gltf, p);
        let nm = DMat3::from_mat4(m).inverse().transpose();
        let normals: Option<Vec<Vec3>> = p.normals.as_ref().map(|ns| {
            ns.iter()
                .map(|n| (nm * DVec3::new(n[0] as f64, n[1] as f64, n[2] as f64)).normalize_or_zero().as_vec3())
                .collect()
        });
        let part = feature_mesh(&tris, None, &pos, normals.as_deref(), &colors, &look, DVec3::ZERO);
        mesh.append(part, Vec3::ZERO);
    }
    if mesh.indices.is_empty() {
        build.warnings.push(format!("{}: i3dm glTF has no triangles", ctx.guid_prefix));
        return 0;
    }
    let positions: Vec<Vec3> = mesh.vertices.iter().map(|v| v.position).collect();
    let shared = build.add_shared(mesh);
    let rtc = i.rtc_center.unwrap_or(DVec3::ZERO);
    let mut n = 0;
    for (k, inst) in i.instances.iter().enumerate() {
        let world = ctx.transform.transform_point3(rtc + inst.position);
        let basis = DMat3::from_mat4(ctx.transform) * instance_basis(inst, world, i.east_north_up, &ctx.placer);
        let linear = ctx.placer.rotation() * basis;
        let mut attrs = ctx.common.clone();
        attrs.insert("instance", k as i64);
        let fid = inst.batch_id.unwrap_or(k as u32) as usize;
        attrs.insert("feature_id", fid as i64);
        for (key, col) in &i.batch_table {
            if let Some(v) = col.get(fid).and_then(json_attr) {
                attrs.insert(key.clone(), v);
            }
        }
        let placement = ctx.placer.enu(world);
        let t = InstanceTransform { linear };
        let mut f = NewFeature::new(format!("{}#{k}", ctx.guid_prefix), class_of(&attrs), placement);
        f.attributes = attrs;
        f.bounds = Some(Bounds::from_points(positions.iter().map(|&v| placement + t.apply(v))));
        f.instance_of = Some((shared, Lod(20), t));
        build.features.push(f);
        n += 1;
    }
    n
}

/// The ECEF centre of a tile's content, when it can be told without placing it.
pub(crate) fn content_center(c: &TileContent) -> Option<DVec3> {
    match c {
        TileContent::B3dm(b) => b.rtc_center.or(b.gltf.rtc_center).or_else(|| gltf_center(&b.gltf)),
        TileContent::I3dm(i) => {
            let n = i.instances.len().max(1) as f64;
            Some(i.rtc_center.unwrap_or(DVec3::ZERO) + i.instances.iter().map(|x| x.position).sum::<DVec3>() / n)
        }
        TileContent::Pnts(p) => p.rtc_center,
        TileContent::Glb(g) => g.rtc_center.or_else(|| gltf_center(g)),
        TileContent::Cmpt(inner) => inner.iter().find_map(content_center),
        TileContent::Osgb(_) => None,
        TileContent::Terrain(t) => Some(DVec3::from_array(t.center)),
    }
}

fn gltf_center(g: &GltfModel) -> Option<DVec3> {
    let p = g.primitives.first()?;
    let v = p.positions.first()?;
    Some((Y_UP_TO_Z_UP * p.transform).transform_point3(DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64)))
}

/// The view that shows a whole tileset: from above its root volume, looking down 50°.
fn overview_view(tree: &urbis_tiles::TileTree, local: bool) -> urbis_tiles::View {
    let (c, r) = tree.get(tree.root()).volume.bounding_sphere();
    let up = if local || c.length() < 1.0 { DVec3::Z } else { c.normalize() };
    let side = if up.z.abs() > 0.9 { DVec3::X } else { DVec3::Z.cross(up).normalize() };
    let dir = (side * 0.64 - up * 0.77).normalize();
    let position = c - dir * r.max(1.0) * 2.4;
    urbis_tiles::View {
        position,
        direction: dir,
        up: dir.cross(side).cross(dir).normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

/// Loads the tiles a view needs (rayon across tiles) and adds their features.
pub(crate) fn add_tileset(
    model: &mut CityModel,
    tree: &urbis_tiles::TileTree,
    path: &std::path::Path,
    local: bool,
    detail: &super::TileDetail,
) -> LoadReport {
    let view = match detail {
        super::TileDetail::Overview => overview_view(tree, local),
        super::TileDetail::Finest => urbis_tiles::View { max_sse: 0.0, cull: false, ..overview_view(tree, local) },
        super::TileDetail::View(v) => *v,
    };
    let mut report = LoadReport::default();
    report.warnings.extend(tree.errors.iter().cloned());
    let (loaded, failures) = urbis_tiles::load_selection(tree, &view);
    for f in &failures {
        report.failed_tiles.push(format!("{}: {}", f.uri, f.error));
    }
    let placer = Placer { frame: *model.frame(), local };
    if local {
        report
            .warnings
            .push(format!("{}: not georeferenced; placed at the city origin as local metres", path.display()));
    }
    let name = tileset_name(path);
    let tileset_attrs = tileset_attributes(tree);
    // Features are built across threads, then spawned in tile order (so GUIDs do not depend on timing).
    use rayon::prelude::*;
    let builds: Vec<TileBuild> = loaded
        .par_iter()
        .map(|l| {
            let node = tree.get(l.tile);
            let common = content_attributes(tree, l.tile, l.content_index, &l.uri, &tileset_attrs);
            let mut ctx =
                ContentContext { placer, transform: node.transform, guid_prefix: format!("{name}/{}", l.uri), common };
            let mut build = TileBuild::default();
            add_content(&mut build, &l.content, &mut ctx);
            build
        })
        .collect();
    for mut build in builds {
        report.warnings.append(&mut build.warnings);
        report.features += build.spawn(model);
    }
    report.tiles_loaded = loaded.len();
    report
}

/// Attributes every feature of a tileset carries (its metadata).
pub(crate) fn tileset_attributes(tree: &urbis_tiles::TileTree) -> Attributes {
    let mut a = Attributes::default();
    if let Some(m) = &tree.metadata {
        a.0.extend(entity_attributes(m, "tileset.").0);
    }
    a
}

/// Attributes every feature of one tile content carries: the tileset's,
/// the tile URI, and tile, content and group metadata.
pub(crate) fn content_attributes(
    tree: &urbis_tiles::TileTree,
    tile: urbis_tiles::TileId,
    content_index: usize,
    uri: &str,
    tileset: &Attributes,
) -> Attributes {
    let node = tree.get(tile);
    let c = &node.contents[content_index];
    let mut common = tileset.clone();
    common.insert("tile", uri.to_string());
    if let Some(m) = &node.metadata {
        common.0.extend(entity_attributes(m, "tile.").0);
    }
    if let Some(m) = &c.metadata {
        common.0.extend(entity_attributes(m, "content.").0);
    }
    if let Some(g) = c.group.and_then(|g| tree.groups.get(g)) {
        common.0.extend(entity_attributes(g, "group.").0);
    }
    common
}

/// The name feature GUIDs of a tileset start with: its directory's name.
pub(crate) fn tileset_name(path: &std::path::Path) -> String {
    path.parent()
        .and_then(|p| p.file_name())
        .map_or_else(|| "tileset".to_string(), |n| n.to_string_lossy().into_owned())
}

/// Builds a content's features in place and spawns them.
fn build_and_spawn(model: &mut CityModel, content: &TileContent, ctx: &mut ContentContext, report: &mut LoadReport) {
    let mut build = TileBuild::default();
    add_content(&mut build, content, ctx);
    report.warnings.append(&mut build.warnings);
    report.features += build.spawn(model);
}

/// A glTF on its own: y-up converted, at the city origin (or its CESIUM_RTC centre).
pub(crate) fn add_standalone_gltf(
    model: &mut CityModel,
    g: &GltfModel,
    path: &std::path::Path,
    local: bool,
) -> LoadReport {
    let mut report = LoadReport::default();
    let placer = Placer { frame: *model.frame(), local };
    let name = path.file_name().map_or_else(|| "gltf".into(), |n| n.to_string_lossy().into_owned());
    let m = g.rtc_center.map_or(DMat4::IDENTITY, DMat4::from_translation) * Y_UP_TO_Z_UP;
    let mut ctx =
        ContentContext { placer, transform: DMat4::IDENTITY, guid_prefix: name, common: Attributes::default() };
    let mut build = TileBuild::default();
    add_gltf(&mut build, g, m, None, &mut ctx);
    report.warnings.append(&mut build.warnings);
    report.features += build.spawn(model);
    report.warnings.extend(g.warnings.iter().cloned());
    report
}

/// A single tile file: ECEF coordinates with an identity tile transform.
pub(crate) fn add_standalone_tile(
    model: &mut CityModel,
    c: &TileContent,
    path: &std::path::Path,
    local: bool,
) -> LoadReport {
    let mut report = LoadReport::default();
    let placer = Placer { frame: *model.frame(), local };
    let name = path.file_name().map_or_else(|| "tile".into(), |n| n.to_string_lossy().into_owned());
    let mut ctx =
        ContentContext { placer, transform: DMat4::IDENTITY, guid_prefix: name, common: Attributes::default() };
    build_and_spawn(model, c, &mut ctx, &mut report);
    report.tiles_loaded = 1;
    report
}
