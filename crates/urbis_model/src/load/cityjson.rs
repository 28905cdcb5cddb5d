//! CityJSON objects → feature entities with meshes, footprints and attributes.

use std::collections::HashMap;

use glam::{DMat3, DVec3, Vec2, Vec3};
use std::path::Path;

use urbis_formats::cityjson::{CityJson, CityObject, Geometry, Polygon, TemplateInstance};
use urbis_formats::triangulate::polygon_with_holes;

use super::appearance::{TRUNK, surface_appearance};
use super::{LoadError, LoadReport, ToEnu};
use crate::mesh::{CpuMesh, Material, MeshGroup, MeshId, MeshStore, MeshVertex, TextureId, TextureStore};
use crate::{AttributeValue, Attributes, CityModel, Family, InstanceTransform, Lod, NewFeature, SemanticClass};

/// Adds every CityObject of the document as a feature.
pub(super) fn add(model: &mut CityModel, doc: &CityJson, dir: &Path, to_enu: &ToEnu) -> Result<LoadReport, LoadError> {
    let mut report = LoadReport::default();
    let skin = Skin::new(model, doc, dir, &mut report);
    let mut spawned = HashMap::new();
    let mut template_meshes: HashMap<(usize, SemanticClass), MeshId> = HashMap::new();
    let mut projected = project_all(doc, to_enu)?.into_iter();
    for obj in &doc.objects {
        let enu = projected.next().flatten();
        // The source's own type; extension types (`+NoiseBarrier`) are Generic.
        let class = SemanticClass::new(&obj.object_type, Family::Generic);
        let attributes = attributes_of(obj, class);
        let instance = best_geometry(obj).and_then(|g| g.instance.map(|i| (g, i)));
        let feature = match instance.and_then(|(g, i)| doc.templates.get(i.template).map(|t| (g, i, t))) {
            Some((g, inst, template)) => {
                let key = (inst.template, class);
                let mesh = match template_meshes.get(&key) {
                    Some(&m) => m,
                    None => {
                        let polys = plain_polygons(template);
                        let guid = format!("template-{}", inst.template);
                        let mesh = mesh_of(&polys, DVec3::ZERO, class, &attributes, &guid, &skin, &mut report);
                        let m = model.world.resource_mut::<MeshStore>().add(mesh);
                        template_meshes.insert(key, m);
                        m
                    }
                };
                instanced_feature(obj, class, attributes, g, inst, mesh, to_enu)?
            }
            None => build_feature(obj, class, attributes, enu.unwrap_or_default(), &skin, &mut report)?,
        };
        spawned.insert(obj.id.as_str(), model.spawn_feature(feature));
        report.features += 1;
    }
    for obj in &doc.objects {
        for parent in &obj.parents {
            match (spawned.get(parent.as_str()), spawned.get(obj.id.as_str())) {
                (Some(&p), Some(&c)) => model.link_part(p, c),
                _ => report.warnings.push(format!("{}: parent `{parent}` does not exist", obj.id)),
            }
        }
    }
    // Parents without geometry of their own take the extent of their parts.
    for obj in doc.objects.iter().filter(|o| !o.children.is_empty()) {
        let Some(&parent) = spawned.get(obj.id.as_str()) else {
            continue;
        };
        let own = model.world.get::<crate::Bounds>(parent).copied().unwrap_or(crate::Bounds::EMPTY);
        if !own.is_empty() {
            continue;
        }
        let b = obj
            .children
            .iter()
            .filter_map(|c| spawned.get(c.as_str()))
            .filter_map(|&c| model.world.get::<crate::Bounds>(c).copied())
            .fold(crate::Bounds::EMPTY, crate::Bounds::union);
        if !b.is_empty() {
            let mut e = model.world.entity_mut(parent);
            e.insert(b);
            e.insert(crate::Placement { enu: DVec3::new(b.center().x, b.center().y, b.min.z) });
        }
    }
    Ok(report)
}

fn attributes_of(obj: &CityObject, class: SemanticClass) -> Attributes {
    let mut a = Attributes::default();
    for (k, v) in &obj.attributes {
        if let Some(v) = AttributeValue::from_json(v) {
            a.insert(k.clone(), v);
        }
    }
    if class.name() != obj.object_type {
        a.insert("cityjson_type", obj.object_type.clone());
    }
    if let Some(address) = obj.address.first() {
        let addr = &address.fields;
        for (k, v) in addr {
            if let Some(v) = AttributeValue::from_json(v) {
                a.insert(format!("address.{k}"), v);
            }
        }
        let part = |k: &str| {
            addr.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_i64().map(|i| i.to_string())))
        };
        let line: Vec<String> = [
            [part("ThoroughfareNumber"), part("ThoroughfareName")].into_iter().flatten().collect::<Vec<_>>().join(" "),
            part("LocalityName").unwrap_or_default(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        if !line.is_empty() {
            a.insert("address", line.join(", "));
        }
    }
    a
}

/// The geometry with the highest LoD that has surfaces (or points).
fn best_geometry(obj: &CityObject) -> Option<&Geometry> {
    obj.geometries
        .iter()
        .filter(|g| !g.polygons.is_empty() || !g.points.is_empty())
        .max_by_key(|g| g.lod.as_deref().and_then(Lod::parse).unwrap_or(Lod(0)))
}

/// An object's best geometry in ENU: each polygon's rings, then its points.
#[derive(Default)]
struct Projected {
    rings: Vec<Vec<Vec<DVec3>>>,
    points: Vec<DVec3>,
}

/// Objects at or above this count are projected on every rayon thread: a
/// worker's own PROJ transform costs about 50 ms to build (the bench's
/// synthetic_570 got slower in parallel, synthetic_100k twice as fast).
const PARALLEL_OBJECTS: usize = 4096;

/// The best geometry of every object not placed by a template, in ENU
/// (`None` for the others). PROJ handles are not shared between threads, so
/// each worker builds its own from the same CRS; a vertex that several
/// polygons of an object share is projected once.
fn project_all(doc: &CityJson, to_enu: &ToEnu) -> Result<Vec<Option<Projected>>, LoadError> {
    use rayon::prelude::*;
    let one = |obj: &CityObject, t: &ToEnu| -> Result<Option<Projected>, LoadError> {
        match best_geometry(obj) {
            Some(g) if g.instance.is_none() => project(g, t).map(Some),
            _ => Ok(None),
        }
    };
    let n = doc.objects.len();
    let threads = rayon::current_num_threads();
    if n < PARALLEL_OBJECTS || threads < 2 {
        return doc.objects.iter().map(|o| one(o, to_enu)).collect();
    }
    let spec = to_enu.spec();
    let chunk = n.div_ceil(threads);
    let parts: Vec<Result<Vec<Option<Projected>>, LoadError>> = doc
        .objects
        .par_chunks(chunk)
        .map(|objs| {
            let t = spec.clone().build()?;
            objs.iter().map(|o| one(o, &t)).collect()
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

fn project(geom: &Geometry, to_enu: &ToEnu) -> Result<Projected, LoadError> {
    let mut seen: HashMap<u32, DVec3> = HashMap::new();
    let mut rings = Vec::with_capacity(geom.polygons.len());
    for p in &geom.polygons {
        let mut poly = Vec::with_capacity(p.rings.len());
        for (k, r) in p.rings.iter().enumerate() {
            let idx = p.ring_indices.get(k).filter(|ix| ix.len() == r.len());
            let mut ring = Vec::with_capacity(r.len());
            for (j, &v) in r.iter().enumerate() {
                let e = match idx.map(|ix| ix[j]) {
                    Some(i) => match seen.get(&i) {
                        Some(&e) => e,
                        None => {
                            let e = to_enu.enu(v)?;
                            seen.insert(i, e);
                            e
                        }
                    },
                    None => to_enu.enu(v)?,
                };
                ring.push(e);
            }
            poly.push(ring);
        }
        rings.push(poly);
    }
    let points = geom.points.iter().map(|&v| to_enu.enu(v)).collect::<Result<Vec<_>, _>>()?;
    Ok(Projected { rings, points })
}

fn build_feature(
    obj: &CityObject,
    class: SemanticClass,
    attributes: Attributes,
    enu: Projected,
    skin: &Skin,
    report: &mut LoadReport,
) -> Result<NewFeature, LoadError> {
    let Some(geom) = best_geometry(obj) else {
        // No geometry (a parent Building, say): bounds come from its parts once linked.
        let mut f = NewFeature::new(&obj.id, class, DVec3::ZERO);
        f.attributes = attributes;
        f.bounds = Some(crate::Bounds::EMPTY);
        return Ok(f);
    };
    let lod = geom.lod.as_deref().and_then(Lod::parse).unwrap_or(Lod(0));
    let polys: Vec<(Vec<Vec<DVec3>>, &Polygon)> = enu.rings.into_iter().zip(&geom.polygons).collect();
    let points = enu.points;

    let all = polys.iter().flat_map(|(r, _)| r.iter().flatten()).chain(&points);
    let (min, max) =
        all.fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(a, b), p| (a.min(*p), b.max(*p)));
    let placement = DVec3::new((min.x + max.x) / 2.0, (min.y + max.y) / 2.0, min.z);

    let mesh = mesh_of(&polys, placement, class, &attributes, &obj.id, skin, report);

    let footprint = footprint_of(class, &polys, &points);
    let mut f = NewFeature::new(&obj.id, class, placement);
    f.attributes = attributes;
    f.footprint = footprint;
    if !mesh.indices.is_empty() {
        f.mesh = Some((mesh, lod));
    }
    f.bounds = Some(crate::Bounds { min, max });
    Ok(f)
}

/// A geometry's polygons, as they are (no reprojection).
fn plain_polygons(g: &Geometry) -> Vec<(Vec<Vec<DVec3>>, &Polygon)> {
    g.polygons.iter().map(|p| (p.rings.clone(), p)).collect()
}

/// The document's appearance, ready for meshes: material colours (sRGB)
/// and decoded textures, for the default (else the first) theme.
struct Skin<'a> {
    doc: &'a CityJson,
    colors: Vec<Option<[u8; 4]>>,
    textures: Vec<Option<TextureId>>,
}

fn linear_to_srgb(c: f64) -> u8 {
    let c = c.clamp(0.0, 1.0);
    let s = if c <= 0.003_130_8 { c * 12.92 } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
    (s * 255.0 + 0.5) as u8
}

impl<'a> Skin<'a> {
    fn new(model: &mut CityModel, doc: &'a CityJson, dir: &Path, report: &mut LoadReport) -> Self {
        let a = &doc.appearance;
        let colors = a
            .materials
            .iter()
            .map(|m| m.diffuse_color.map(|c| [linear_to_srgb(c[0]), linear_to_srgb(c[1]), linear_to_srgb(c[2]), 255]))
            .collect();
        let mut textures = Vec::with_capacity(a.textures.len());
        for t in &a.textures {
            let loaded = urbis_formats::resolve_relative(dir, &t.image).ok().and_then(|p| {
                image::open(&p).map_err(|e| report.warnings.push(format!("texture {}: {e}", t.image))).ok()
            });
            textures.push(loaded.map(|img| model.world.resource_mut::<TextureStore>().add(img.to_rgba8())));
        }
        Self { doc, colors, textures }
    }

    fn theme<'t, T>(&self, list: &'t [(String, T)], default: Option<&String>) -> Option<&'t T> {
        default.and_then(|d| list.iter().find(|(t, _)| t == d)).or(list.first()).map(|(_, x)| x)
    }

    fn color(&self, p: &Polygon) -> Option<[u8; 4]> {
        let m = self.theme(&p.materials, self.doc.appearance.default_theme_material.as_ref())?;
        self.colors.get(*m).copied().flatten()
    }

    /// The texture and per-vertex uvs (rings concatenated) of a polygon.
    fn texture(&self, p: &Polygon) -> Option<(TextureId, Vec<Vec2>)> {
        let t = self.theme(&p.textures, self.doc.appearance.default_theme_texture.as_ref())?;
        let id = self.textures.get(t.texture).copied().flatten()?;
        let tv = &self.doc.appearance.texture_vertices;
        let uvs: Option<Vec<Vec2>> = p
            .rings
            .iter()
            .zip(&t.uvs)
            .flat_map(|(ring, uv)| {
                (0..ring.len()).map(move |k| {
                    uv.get(k).and_then(|&i| tv.get(i as usize)).map(|c| Vec2::new(c[0] as f32, 1.0 - c[1] as f32))
                })
            })
            .collect();
        uvs.filter(|u| u.len() == p.rings.iter().map(Vec::len).sum::<usize>()).map(|u| (id, u))
    }
}

/// Triangulates polygons (metric coordinates) into a mesh relative to `origin`,
/// coloured by class, semantics and attributes.
fn mesh_of(
    polys: &[(Vec<Vec<DVec3>>, &Polygon)],
    origin: DVec3,
    class: SemanticClass,
    attributes: &Attributes,
    guid: &str,
    skin: &Skin,
    report: &mut LoadReport,
) -> CpuMesh {
    let (lo, hi) = polys
        .iter()
        .flat_map(|(r, _)| r.iter().flatten())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.z), b.max(p.z)));
    let height = (hi - lo).max(0.0);
    let storey = storey_height(attributes, height);
    let mut mesh = CpuMesh::default();
    for (rings, poly) in polys {
        let semantic = &poly.semantic.as_deref();
        let tris = polygon_with_holes(rings);
        if tris.is_empty() {
            report.warnings.push(format!("{guid}: a degenerate {} polygon was skipped", semantic.unwrap_or("surface")));
            continue;
        }
        let local: Vec<Vec3> = rings.iter().flatten().map(|p| (*p - origin).as_vec3()).collect();
        let (mut color, mut material) = surface_appearance(class, *semantic, attributes, guid);
        if let Some(c) = skin.color(poly) {
            color = c;
            material = Material::Plain;
        }
        if let Some((texture, uvs)) = skin.texture(poly) {
            let mut part = CpuMesh::default();
            let normal = urbis_formats::triangulate::ring_normal(&rings[0]).normalize_or_zero().as_vec3();
            part.vertices = local
                .iter()
                .zip(&uvs)
                .map(|(&position, &uv)| MeshVertex {
                    position,
                    normal,
                    uv,
                    color: [255, 255, 255, 255],
                    material: Material::Textured,
                })
                .collect();
            part.indices = tris.iter().flatten().copied().collect();
            part.groups = vec![MeshGroup {
                texture: Some(texture),
                first_index: 0,
                index_count: part.indices.len() as u32,
                single_sided: false,
            }];
            mesh.append(part, Vec3::ZERO);
            continue;
        }
        if class == SemanticClass::SOLITARY_VEGETATION_OBJECT {
            let mean_z = rings.iter().flatten().map(|p| p.z).sum::<f64>() / local.len() as f64;
            if mean_z - lo < height * 0.28 {
                color = TRUNK;
            }
        }
        let normal = urbis_formats::triangulate::ring_normal(&rings[0]);
        let uv = uv_mapper(material, normal.normalize_or_zero().as_vec3(), storey);
        mesh.push_flat(&local, &tris, uv, color, material);
    }
    mesh
}

/// A feature that places a shared template mesh: the reference point through
/// the CRS, and the template matrix composed with the CRS's local Jacobian,
/// so that rotation, scale and grid convergence are all exact to first order.
fn instanced_feature(
    obj: &CityObject,
    class: SemanticClass,
    attributes: Attributes,
    g: &Geometry,
    inst: TemplateInstance,
    mesh: MeshId,
    to_enu: &ToEnu,
) -> Result<NewFeature, LoadError> {
    let placement = to_enu.enu(inst.reference)?;
    let mut jacobian = [DVec3::ZERO; 3];
    for (i, axis) in [DVec3::X, DVec3::Y, DVec3::Z].into_iter().enumerate() {
        jacobian[i] = (to_enu.enu(inst.reference + axis)? - to_enu.enu(inst.reference - axis)?) / 2.0;
    }
    let linear = DMat3::from_cols(jacobian[0], jacobian[1], jacobian[2]) * DMat3::from_mat4(inst.matrix);
    let mut f = NewFeature::new(&obj.id, class, placement);
    f.attributes = attributes;
    f.instance_of = Some((mesh, g.lod.as_deref().and_then(Lod::parse).unwrap_or(Lod(0)), InstanceTransform { linear }));
    Ok(f)
}

fn storey_height(a: &Attributes, height: f64) -> f32 {
    let floors = a.f64("floors").or_else(|| a.f64("storeysAboveGround")).filter(|f| *f >= 1.0);
    match floors {
        Some(n) => ((a.f64("height").or_else(|| a.f64("measuredHeight")).unwrap_or(height)) / n).clamp(2.4, 8.0) as f32,
        None => 3.2,
    }
}

/// Texture coordinates: façades get (bay index, storey index) so the shader
/// can draw windows; everything else gets plan metres.
fn uv_mapper(material: Material, normal: Vec3, storey: f32) -> Box<dyn Fn(Vec3) -> Vec2> {
    const BAY_WIDTH: f32 = 3.6;
    if material == Material::Facade && normal.z.abs() < 0.3 {
        let along = Vec3::Z.cross(normal).normalize_or(Vec3::X);
        Box::new(move |p: Vec3| Vec2::new(p.dot(along) / BAY_WIDTH, p.z / storey))
    } else {
        Box::new(|p: Vec3| Vec2::new(p.x, p.y))
    }
}

fn to_geo_polygon(rings: &[Vec<DVec3>]) -> Option<geo::Polygon<f64>> {
    let ring = |r: &Vec<DVec3>| geo::LineString::from(r.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
    let outer = rings.first().filter(|r| r.len() >= 3)?;
    Some(geo::Polygon::new(ring(outer), rings[1..].iter().filter(|r| r.len() >= 3).map(ring).collect()))
}

fn footprint_of(
    class: SemanticClass,
    polys: &[(Vec<Vec<DVec3>>, &Polygon)],
    points: &[DVec3],
) -> Option<geo::Polygon<f64>> {
    use geo::{Area, ConvexHull, MultiPoint};
    if class == SemanticClass::SOLITARY_VEGETATION_OBJECT
        || matches!(class.family(), Family::Sensor | Family::Furniture)
    {
        return None;
    }
    let ground = polys
        .iter()
        .filter(|(_, p)| p.semantic.as_deref() == Some("GroundSurface"))
        .filter_map(|(r, _)| to_geo_polygon(r))
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()));
    if ground.is_some() {
        return ground;
    }
    if class.is_building_or_part() || polys.len() > 4 {
        let pts: MultiPoint<f64> = polys
            .iter()
            .flat_map(|(r, _)| r.iter().flatten())
            .chain(points)
            .map(|p| geo::Point::new(p.x, p.y))
            .collect();
        let hull = pts.convex_hull();
        return (hull.unsigned_area() > 0.0).then_some(hull);
    }
    // Surface features (roads, water, parks): their largest polygon in plan.
    polys.iter().filter_map(|(r, _)| to_geo_polygon(r)).max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
}
