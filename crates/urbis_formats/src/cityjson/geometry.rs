//! CityJSON geometries: boundaries resolved to coordinates (keeping their
//! vertex indices), with semantics, materials and textures per polygon,
//! point and line semantics, and geometry templates placed by instances.

use glam::{DMat4, DVec3};
use serde_json::{Map, Value};

use super::{Ctx, row_major};
use crate::FormatError;

/// Geometry kinds of CityJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GeometryKind {
    MultiPoint,
    MultiLineString,
    MultiSurface,
    CompositeSurface,
    Solid,
    MultiSolid,
    CompositeSolid,
    /// A placed template (its resolved kind is that of the template).
    GeometryInstance,
}

impl GeometryKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "MultiPoint" => Self::MultiPoint,
            "MultiLineString" => Self::MultiLineString,
            "MultiSurface" => Self::MultiSurface,
            "CompositeSurface" => Self::CompositeSurface,
            "Solid" => Self::Solid,
            "MultiSolid" => Self::MultiSolid,
            "CompositeSolid" => Self::CompositeSolid,
            "GeometryInstance" => Self::GeometryInstance,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MultiPoint => "MultiPoint",
            Self::MultiLineString => "MultiLineString",
            Self::MultiSurface => "MultiSurface",
            Self::CompositeSurface => "CompositeSurface",
            Self::Solid => "Solid",
            Self::MultiSolid => "MultiSolid",
            Self::CompositeSolid => "CompositeSolid",
            Self::GeometryInstance => "GeometryInstance",
        }
    }
}

/// A semantic surface object (`RoofSurface`, `+ThermalSurface`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SemanticSurface {
    pub kind: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// Every other member (attributes, Extension members).
    pub attributes: Map<String, Value>,
}

/// A polygon's texture in one theme: the texture and, per ring, the
/// indices of its vertices' texture coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonTexture {
    pub texture: usize,
    pub uvs: Vec<Vec<u32>>,
}

/// A planar polygon: exterior ring then holes, open rings, real coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Vec<DVec3>>,
    /// The `vertices` indices of each ring, as in the file (template
    /// vertex indices for template geometry).
    pub ring_indices: Vec<Vec<u32>>,
    /// The semantic surface type, e.g. `RoofSurface`.
    pub semantic: Option<String>,
    /// Index into the geometry's `surfaces`.
    pub semantic_index: Option<usize>,
    /// Material index per theme.
    pub materials: Vec<(String, usize)>,
    /// Texture per theme.
    pub textures: Vec<(String, PolygonTexture)>,
    /// Solid and shell this polygon belongs to (0 for surface geometries).
    pub solid: usize,
    pub shell: usize,
}

/// A geometry with its polygons (surface kinds) or points and lines.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub kind: GeometryKind,
    pub lod: Option<String>,
    /// Surfaces, with shells and solids flattened; each keeps its semantics.
    pub polygons: Vec<Polygon>,
    /// MultiPoint points.
    pub points: Vec<DVec3>,
    /// MultiLineString lines.
    pub lines: Vec<Vec<DVec3>>,
    /// Semantic surface index of each point / line.
    pub point_semantics: Vec<Option<usize>>,
    pub line_semantics: Vec<Option<usize>>,
    /// The `semantics.surfaces` array.
    pub surfaces: Vec<SemanticSurface>,
    /// For a GeometryInstance: which template, where, and how. The polygons
    /// above are then the template already placed in real coordinates.
    pub instance: Option<TemplateInstance>,
}

/// A placed geometry template: real position = `reference` + `matrix` · template vertex.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemplateInstance {
    /// Index into the document's templates.
    pub template: usize,
    /// The reference point (a real vertex) in the document's CRS.
    pub reference: DVec3,
    /// The transformation matrix of the instance (column-major), without the reference translation.
    pub matrix: DMat4,
}

/// Maps boundary vertex indices to coordinates.
struct Resolver<'a> {
    vertices: &'a [DVec3],
    /// Applied to template vertices when placing an instance.
    matrix: Option<DMat4>,
}

impl Resolver<'_> {
    fn ring(&self, v: &Value, field: &str, ctx: &Ctx) -> Result<(Vec<DVec3>, Vec<u32>), FormatError> {
        let a = v.as_array().ok_or_else(|| ctx.err(field, "ring is not an array"))?;
        let mut pts = Vec::with_capacity(a.len());
        let mut idx = Vec::with_capacity(a.len());
        for (i, x) in a.iter().enumerate() {
            let k =
                x.as_u64().ok_or_else(|| ctx.err(format!("{field}/{i}"), "vertex index is not an unsigned integer"))?;
            let p = self.vertices.get(k as usize).copied().ok_or_else(|| {
                ctx.err(
                    format!("{field}/{i}"),
                    format!("vertex index {k} out of range ({} vertices)", self.vertices.len()),
                )
            })?;
            pts.push(match self.matrix {
                Some(m) => m.transform_point3(p),
                None => p,
            });
            idx.push(k as u32);
        }
        Ok((pts, idx))
    }

    fn polygon(&self, v: &Value, field: &str, ctx: &Ctx) -> Result<Polygon, FormatError> {
        let a = v.as_array().ok_or_else(|| ctx.err(field, "surface is not an array of rings"))?;
        let mut p = Polygon::default();
        for (i, r) in a.iter().enumerate() {
            let (pts, idx) = self.ring(r, &format!("{field}/{i}"), ctx)?;
            p.rings.push(pts);
            p.ring_indices.push(idx);
        }
        Ok(p)
    }
}

/// Follows `path` into nested arrays.
fn at<'v>(mut v: &'v Value, path: &[usize]) -> Option<&'v Value> {
    for &i in path {
        v = v.as_array()?.get(i)?;
    }
    Some(v)
}

fn read_surfaces(sem: Option<&Value>) -> Vec<SemanticSurface> {
    let Some(list) = sem.and_then(|s| s.get("surfaces")).and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .map(|s| SemanticSurface {
            kind: s.get("type").and_then(Value::as_str).unwrap_or_default().to_string(),
            parent: s.get("parent").and_then(Value::as_u64).map(|p| p as usize),
            children: s
                .get("children")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(Value::as_u64).map(|c| c as usize).collect())
                .unwrap_or_default(),
            attributes: s
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| !matches!(k.as_str(), "type" | "parent" | "children"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Attaches semantics, materials and textures of the polygon at `path`.
fn decorate(p: &mut Polygon, g: &Value, path: &[usize], surfaces: &[SemanticSurface]) {
    if let Some(values) = g.get("semantics").and_then(|s| s.get("values"))
        && let Some(s) = at(values, path).and_then(Value::as_u64)
    {
        p.semantic_index = Some(s as usize);
        p.semantic = surfaces.get(s as usize).map(|x| x.kind.clone());
    }
    for (theme, m) in g.get("material").and_then(Value::as_object).into_iter().flatten() {
        let idx = m
            .get("value")
            .and_then(Value::as_u64)
            .or_else(|| m.get("values").and_then(|v| at(v, path)).and_then(Value::as_u64));
        if let Some(i) = idx {
            p.materials.push((theme.clone(), i as usize));
        }
    }
    for (theme, t) in g.get("texture").and_then(Value::as_object).into_iter().flatten() {
        let Some(rings) = t.get("values").and_then(|v| at(v, path)).and_then(Value::as_array) else { continue };
        let mut texture = None;
        let mut uvs = Vec::with_capacity(rings.len());
        for r in rings {
            let r = r.as_array().map(Vec::as_slice).unwrap_or_default();
            match r.first().and_then(Value::as_u64) {
                Some(t) => {
                    texture = Some(t as usize);
                    uvs.push(r[1..].iter().filter_map(Value::as_u64).map(|u| u as u32).collect());
                }
                None => uvs.push(Vec::new()),
            }
        }
        if let Some(texture) = texture {
            p.textures.push((theme.clone(), PolygonTexture { texture, uvs }));
        }
    }
}

fn lod_of(g: &Value) -> Option<String> {
    match g.get("lod") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn read_geometry(g: &Value, field: &str, ctx: &Ctx) -> Result<Geometry, FormatError> {
    let kind_name = g.get("type").and_then(Value::as_str).ok_or_else(|| ctx.err(format!("{field}/type"), "missing"))?;
    let kind = GeometryKind::parse(kind_name)
        .ok_or_else(|| ctx.err(format!("{field}/type"), format!("unknown geometry type `{kind_name}`")))?;
    if kind == GeometryKind::GeometryInstance {
        return read_instance(g, field, ctx);
    }
    let resolver = Resolver { vertices: &ctx.vertices, matrix: None };
    let mut geom = resolve_boundaries(kind, g, field, &resolver, ctx)?;
    geom.lod = lod_of(g);
    Ok(geom)
}

fn resolve_boundaries(
    kind: GeometryKind,
    g: &Value,
    field: &str,
    r: &Resolver,
    ctx: &Ctx,
) -> Result<Geometry, FormatError> {
    let bfield = format!("{field}/boundaries");
    let b = g.get("boundaries").and_then(Value::as_array).ok_or_else(|| ctx.err(&bfield, "missing or not an array"))?;
    let surfaces = read_surfaces(g.get("semantics"));
    let mut geom = Geometry {
        kind,
        lod: None,
        polygons: Vec::new(),
        points: Vec::new(),
        lines: Vec::new(),
        point_semantics: Vec::new(),
        line_semantics: Vec::new(),
        surfaces: Vec::new(),
        instance: None,
    };
    let arr = |v: &Value, f: &str| -> Result<Vec<Value>, FormatError> {
        v.as_array().cloned().ok_or_else(|| ctx.err(f, "not an array"))
    };
    let sem_of = |path: &[usize]| {
        g.get("semantics")
            .and_then(|s| s.get("values"))
            .and_then(|v| at(v, path))
            .and_then(Value::as_u64)
            .map(|s| s as usize)
    };
    match kind {
        GeometryKind::MultiPoint => {
            geom.points = r.ring(&Value::Array(b.clone()), &bfield, ctx)?.0;
            geom.point_semantics = (0..geom.points.len()).map(|i| sem_of(&[i])).collect();
        }
        GeometryKind::MultiLineString => {
            for (i, l) in b.iter().enumerate() {
                geom.lines.push(r.ring(l, &format!("{bfield}/{i}"), ctx)?.0);
                geom.line_semantics.push(sem_of(&[i]));
            }
        }
        GeometryKind::MultiSurface | GeometryKind::CompositeSurface => {
            for (i, s) in b.iter().enumerate() {
                let mut p = r.polygon(s, &format!("{bfield}/{i}"), ctx)?;
                decorate(&mut p, g, &[i], &surfaces);
                geom.polygons.push(p);
            }
        }
        GeometryKind::Solid => {
            for (si, shell) in b.iter().enumerate() {
                let f = format!("{bfield}/{si}");
                for (i, s) in arr(shell, &f)?.iter().enumerate() {
                    let mut p = r.polygon(s, &format!("{f}/{i}"), ctx)?;
                    decorate(&mut p, g, &[si, i], &surfaces);
                    p.shell = si;
                    geom.polygons.push(p);
                }
            }
        }
        GeometryKind::MultiSolid | GeometryKind::CompositeSolid => {
            for (di, solid) in b.iter().enumerate() {
                let f = format!("{bfield}/{di}");
                for (si, shell) in arr(solid, &f)?.iter().enumerate() {
                    let f = format!("{f}/{si}");
                    for (i, s) in arr(shell, &f)?.iter().enumerate() {
                        let mut p = r.polygon(s, &format!("{f}/{i}"), ctx)?;
                        decorate(&mut p, g, &[di, si, i], &surfaces);
                        p.solid = di;
                        p.shell = si;
                        geom.polygons.push(p);
                    }
                }
            }
        }
        GeometryKind::GeometryInstance => {
            return Err(ctx.err(format!("{field}/type"), "a GeometryInstance cannot be nested in a template"));
        }
    }
    geom.surfaces = surfaces;
    Ok(geom)
}

fn read_instance(g: &Value, field: &str, ctx: &Ctx) -> Result<Geometry, FormatError> {
    let t = g
        .get("template")
        .and_then(Value::as_u64)
        .ok_or_else(|| ctx.err(format!("{field}/template"), "missing or not an index"))?;
    let template = ctx.templates.get(t as usize).ok_or_else(|| {
        ctx.err(format!("{field}/template"), format!("template {t} does not exist ({} templates)", ctx.templates.len()))
    })?;
    let reference = g
        .get("boundaries")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_u64)
        .and_then(|k| ctx.vertices.get(k as usize).copied())
        .ok_or_else(|| ctx.err(format!("{field}/boundaries"), "must hold one valid reference vertex index"))?;
    let m = g
        .get("transformationMatrix")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 16)
        .ok_or_else(|| ctx.err(format!("{field}/transformationMatrix"), "must be 16 numbers"))?;
    let mut raw = [0.0; 16];
    for (i, v) in m.iter().enumerate() {
        raw[i] = v.as_f64().ok_or_else(|| ctx.err(format!("{field}/transformationMatrix/{i}"), "not a number"))?;
    }
    let matrix = row_major(&raw);
    let _ = template;
    let mut geom =
        read_template(&ctx.templates[t as usize], t as usize, ctx, Some(DMat4::from_translation(reference) * matrix))?;
    geom.instance = Some(TemplateInstance { template: t as usize, reference, matrix });
    Ok(geom)
}

/// Reads template `index`, placed by `placement` (or in template coordinates).
pub(crate) fn read_template(
    template: &Value,
    index: usize,
    ctx: &Ctx,
    placement: Option<DMat4>,
) -> Result<Geometry, FormatError> {
    let tfield = format!("/geometry-templates/templates/{index}");
    let kind_name = template.get("type").and_then(Value::as_str).unwrap_or_default();
    let kind = GeometryKind::parse(kind_name)
        .filter(|k| *k != GeometryKind::GeometryInstance)
        .ok_or_else(|| ctx.err(format!("{tfield}/type"), format!("bad template type `{kind_name}`")))?;
    let resolver = Resolver { vertices: &ctx.template_vertices, matrix: placement };
    let mut geom = resolve_boundaries(kind, template, &tfield, &resolver, ctx)?;
    geom.lod = lod_of(template);
    Ok(geom)
}
