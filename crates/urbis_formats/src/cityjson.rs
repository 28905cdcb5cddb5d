//! CityJSON 1.1 / 2.0 reader.
//!
//! Reads the document into [`CityJson`]: objects with their type, attributes,
//! address, parent/child links and geometries. Geometry boundaries are
//! resolved to real coordinates (the `transform` applied, templates placed),
//! so consumers never see vertex indices. Surfaces keep their semantic type
//! (`RoofSurface`, `WallSurface`, ...) per polygon.

use std::path::Path;

use glam::{DMat4, DVec3};
use serde_json::{Map, Value};
use urbis_geo::Epsg;

use crate::FormatError;

/// A parsed CityJSON document.
#[derive(Debug, Clone, Default)]
pub struct CityJson {
    pub version: String,
    /// From `metadata.referenceSystem`.
    pub crs: Option<Epsg>,
    /// The `metadata` member, as it was.
    pub metadata: Map<String, Value>,
    /// Objects in file order.
    pub objects: Vec<CityObject>,
    /// Geometry templates in their own coordinates (metres, unprojected).
    pub templates: Vec<Geometry>,
}

/// One `CityObjects` member.
#[derive(Debug, Clone, Default)]
pub struct CityObject {
    pub id: String,
    /// The CityJSON type, e.g. `Building`, `BuildingPart`, `Road`, `+NoiseBarrier`.
    pub object_type: String,
    pub attributes: Map<String, Value>,
    pub address: Vec<Map<String, Value>>,
    pub parents: Vec<String>,
    pub children: Vec<String>,
    pub geometries: Vec<Geometry>,
}

/// Geometry kinds of CityJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    fn parse(s: &str) -> Option<Self> {
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
    /// For a GeometryInstance: which template, where, and how. The polygons
    /// above are then the template already placed in real coordinates.
    pub instance: Option<TemplateInstance>,
}

/// A placed geometry template: real position = `reference` + `matrix` · template vertex.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemplateInstance {
    /// Index into [`CityJson::templates`].
    pub template: usize,
    /// The reference point (a real vertex) in the document's CRS.
    pub reference: DVec3,
    /// The transformation matrix of the instance (column-major), without the reference translation.
    pub matrix: DMat4,
}

/// A planar polygon: exterior ring then holes, open rings, real coordinates.
#[derive(Debug, Clone)]
pub struct Polygon {
    pub rings: Vec<Vec<DVec3>>,
    /// The semantic surface type, e.g. `RoofSurface`.
    pub semantic: Option<String>,
}

/// Reads a CityJSON file.
pub fn read(path: &Path) -> Result<CityJson, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

struct Ctx<'a> {
    name: &'a str,
    vertices: Vec<DVec3>,
    template_vertices: Vec<DVec3>,
    templates: Vec<Value>,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, msg: impl Into<String>) -> FormatError {
        FormatError::Field { path: self.name.into(), field: field.into(), msg: msg.into() }
    }
}

/// Parses CityJSON bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<CityJson, FormatError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| FormatError::Json {
        path: name.into(),
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    })?;
    let mut ctx = Ctx { name, vertices: Vec::new(), template_vertices: Vec::new(), templates: Vec::new() };
    let root = root.as_object().ok_or_else(|| ctx.err("/", "document is not a JSON object"))?;
    if root.get("type").and_then(Value::as_str) != Some("CityJSON") {
        return Err(ctx.err("/type", "is not \"CityJSON\""));
    }
    let version = root.get("version").and_then(Value::as_str).unwrap_or_default().to_string();
    if !matches!(version.as_str(), "1.0" | "1.1" | "2.0") {
        return Err(ctx.err("/version", format!("unsupported CityJSON version `{version}` (1.0, 1.1, 2.0)")));
    }

    let (scale, translate) = match root.get("transform") {
        Some(t) => {
            (vec3(t.get("scale"), "/transform/scale", &ctx)?, vec3(t.get("translate"), "/transform/translate", &ctx)?)
        }
        None => (DVec3::ONE, DVec3::ZERO),
    };
    ctx.vertices =
        read_vertices(root.get("vertices"), "/vertices", &ctx)?.into_iter().map(|v| v * scale + translate).collect();
    if let Some(t) = root.get("geometry-templates") {
        ctx.template_vertices =
            read_vertices(t.get("vertices-templates"), "/geometry-templates/vertices-templates", &ctx)?;
        ctx.templates = t.get("templates").and_then(Value::as_array).cloned().unwrap_or_default();
    }

    let metadata = root.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    let crs = metadata.get("referenceSystem").and_then(Value::as_str).and_then(parse_crs_url);

    let objects_json = root
        .get("CityObjects")
        .and_then(Value::as_object)
        .ok_or_else(|| ctx.err("/CityObjects", "missing or not an object"))?;
    let mut objects = Vec::with_capacity(objects_json.len());
    for (id, obj) in objects_json {
        objects.push(read_object(id, obj, &ctx)?);
    }
    let mut templates = Vec::with_capacity(ctx.templates.len());
    for (i, t) in ctx.templates.iter().enumerate() {
        templates.push(read_template(t, i, &ctx, None)?);
    }
    Ok(CityJson { version, crs, metadata, objects, templates })
}

/// Parses the CRS URL forms of CityJSON (`https://www.opengis.net/def/crs/EPSG/0/7415`,
/// `urn:ogc:def:crs:EPSG::7415`, `EPSG:7415`).
pub fn parse_crs_url(s: &str) -> Option<Epsg> {
    let digits: String =
        s.chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    if !s.to_ascii_uppercase().contains("EPSG") {
        return None;
    }
    digits.parse().ok().map(Epsg)
}

fn vec3(v: Option<&Value>, field: &str, ctx: &Ctx) -> Result<DVec3, FormatError> {
    let a = v.and_then(Value::as_array).ok_or_else(|| ctx.err(field, "missing or not an array"))?;
    if a.len() != 3 {
        return Err(ctx.err(field, format!("has {} numbers, expected 3", a.len())));
    }
    let n = |i: usize| a[i].as_f64().ok_or_else(|| ctx.err(format!("{field}/{i}"), "not a number"));
    Ok(DVec3::new(n(0)?, n(1)?, n(2)?))
}

fn read_vertices(v: Option<&Value>, field: &str, ctx: &Ctx) -> Result<Vec<DVec3>, FormatError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let arr = v.as_array().ok_or_else(|| ctx.err(field, "not an array"))?;
    let mut out = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        let p = vec3(Some(p), &format!("{field}/{i}"), ctx)?;
        if !p.is_finite() {
            return Err(ctx.err(format!("{field}/{i}"), "not finite"));
        }
        out.push(p);
    }
    Ok(out)
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn read_object(id: &str, obj: &Value, ctx: &Ctx) -> Result<CityObject, FormatError> {
    let base = format!("/CityObjects/{id}");
    let obj = obj.as_object().ok_or_else(|| ctx.err(&base, "not an object"))?;
    let object_type = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ctx.err(format!("{base}/type"), "missing or not a string"))?
        .to_string();
    let attributes = obj.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    let address = match obj.get("address") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).cloned().collect(),
        Some(Value::Object(o)) => vec![o.clone()], // CityJSON 1.0 form
        _ => Vec::new(),
    };
    let mut geometries = Vec::new();
    if let Some(gs) = obj.get("geometry") {
        let gs = gs.as_array().ok_or_else(|| ctx.err(format!("{base}/geometry"), "not an array"))?;
        for (i, g) in gs.iter().enumerate() {
            geometries.push(read_geometry(g, &format!("{base}/geometry/{i}"), ctx)?);
        }
    }
    Ok(CityObject {
        id: id.to_string(),
        object_type,
        attributes,
        address,
        parents: string_list(obj.get("parents")),
        children: string_list(obj.get("children")),
        geometries,
    })
}

/// Maps boundary vertex indices to coordinates.
struct Resolver<'a> {
    vertices: &'a [DVec3],
    /// Applied to template vertices when placing an instance.
    matrix: Option<DMat4>,
}

impl Resolver<'_> {
    fn ring(&self, v: &Value, field: &str, ctx: &Ctx) -> Result<Vec<DVec3>, FormatError> {
        let a = v.as_array().ok_or_else(|| ctx.err(field, "ring is not an array"))?;
        a.iter()
            .enumerate()
            .map(|(i, idx)| {
                let k = idx
                    .as_u64()
                    .ok_or_else(|| ctx.err(format!("{field}/{i}"), "vertex index is not an unsigned integer"))?;
                let p = self.vertices.get(k as usize).copied().ok_or_else(|| {
                    ctx.err(
                        format!("{field}/{i}"),
                        format!("vertex index {k} out of range ({} vertices)", self.vertices.len()),
                    )
                })?;
                Ok(match self.matrix {
                    Some(m) => m.transform_point3(p),
                    None => p,
                })
            })
            .collect()
    }

    fn polygon(&self, v: &Value, field: &str, ctx: &Ctx) -> Result<Vec<Vec<DVec3>>, FormatError> {
        let a = v.as_array().ok_or_else(|| ctx.err(field, "surface is not an array of rings"))?;
        a.iter().enumerate().map(|(i, r)| self.ring(r, &format!("{field}/{i}"), ctx)).collect()
    }
}

/// Semantic type of surface `value_index` from a `semantics` member.
fn semantic_of(semantics: Option<&Value>, value_path: &[usize]) -> Option<String> {
    let sem = semantics?;
    let mut values = sem.get("values")?;
    for &i in value_path {
        values = values.as_array()?.get(i)?;
    }
    let s = values.as_u64()? as usize;
    sem.get("surfaces")?.as_array()?.get(s)?.get("type")?.as_str().map(str::to_string)
}

fn read_geometry(g: &Value, field: &str, ctx: &Ctx) -> Result<Geometry, FormatError> {
    let kind_name = g.get("type").and_then(Value::as_str).ok_or_else(|| ctx.err(format!("{field}/type"), "missing"))?;
    let kind = GeometryKind::parse(kind_name)
        .ok_or_else(|| ctx.err(format!("{field}/type"), format!("unknown geometry type `{kind_name}`")))?;
    if kind == GeometryKind::GeometryInstance {
        return read_instance(g, field, ctx);
    }
    let lod = match g.get("lod") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let resolver = Resolver { vertices: &ctx.vertices, matrix: None };
    let mut geom = resolve_boundaries(kind, g, field, &resolver, ctx)?;
    geom.lod = lod;
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
    let sem = g.get("semantics");
    let mut geom =
        Geometry { kind, lod: None, polygons: Vec::new(), points: Vec::new(), lines: Vec::new(), instance: None };
    let arr = |v: &'_ Value, f: &str| -> Result<Vec<Value>, FormatError> {
        v.as_array().cloned().ok_or_else(|| ctx.err(f, "not an array"))
    };
    match kind {
        GeometryKind::MultiPoint => geom.points = r.ring(&Value::Array(b.clone()), &bfield, ctx)?,
        GeometryKind::MultiLineString => {
            for (i, l) in b.iter().enumerate() {
                geom.lines.push(r.ring(l, &format!("{bfield}/{i}"), ctx)?);
            }
        }
        GeometryKind::MultiSurface | GeometryKind::CompositeSurface => {
            for (i, s) in b.iter().enumerate() {
                let rings = r.polygon(s, &format!("{bfield}/{i}"), ctx)?;
                geom.polygons.push(Polygon { rings, semantic: semantic_of(sem, &[i]) });
            }
        }
        GeometryKind::Solid => {
            for (si, shell) in b.iter().enumerate() {
                let f = format!("{bfield}/{si}");
                for (i, s) in arr(shell, &f)?.iter().enumerate() {
                    let rings = r.polygon(s, &format!("{f}/{i}"), ctx)?;
                    geom.polygons.push(Polygon { rings, semantic: semantic_of(sem, &[si, i]) });
                }
            }
        }
        GeometryKind::MultiSolid | GeometryKind::CompositeSolid => {
            for (di, solid) in b.iter().enumerate() {
                let f = format!("{bfield}/{di}");
                for (si, shell) in arr(solid, &f)?.iter().enumerate() {
                    let f = format!("{f}/{si}");
                    for (i, s) in arr(shell, &f)?.iter().enumerate() {
                        let rings = r.polygon(s, &format!("{f}/{i}"), ctx)?;
                        geom.polygons.push(Polygon { rings, semantic: semantic_of(sem, &[di, si, i]) });
                    }
                }
            }
        }
        GeometryKind::GeometryInstance => {
            return Err(ctx.err(format!("{field}/type"), "a GeometryInstance cannot be nested in a template"));
        }
    }
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
    let mut cols = [0.0; 16];
    for (i, v) in m.iter().enumerate() {
        let x = v.as_f64().ok_or_else(|| ctx.err(format!("{field}/transformationMatrix/{i}"), "not a number"))?;
        // CityJSON stores the matrix row-major; glam is column-major.
        cols[(i % 4) * 4 + i / 4] = x;
    }
    let matrix = DMat4::from_cols_array(&cols);
    let mut geom = read_template(template, t as usize, ctx, Some(DMat4::from_translation(reference) * matrix))?;
    geom.instance = Some(TemplateInstance { template: t as usize, reference, matrix });
    Ok(geom)
}

/// Reads template `index`, placed by `placement` (or in template coordinates).
fn read_template(template: &Value, index: usize, ctx: &Ctx, placement: Option<DMat4>) -> Result<Geometry, FormatError> {
    let tfield = format!("/geometry-templates/templates/{index}");
    let kind_name = template.get("type").and_then(Value::as_str).unwrap_or_default();
    let kind = GeometryKind::parse(kind_name)
        .filter(|k| *k != GeometryKind::GeometryInstance)
        .ok_or_else(|| ctx.err(format!("{tfield}/type"), format!("bad template type `{kind_name}`")))?;
    let resolver = Resolver { vertices: &ctx.template_vertices, matrix: placement };
    let mut geom = resolve_boundaries(kind, template, &tfield, &resolver, ctx)?;
    geom.lod = match template.get("lod") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(geom)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUBE: &str = r#"{
      "type": "CityJSON", "version": "2.0",
      "transform": {"scale": [0.001, 0.001, 0.001], "translate": [1000.0, 2000.0, 0.0]},
      "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/4548"},
      "CityObjects": {
        "b1": {"type": "Building", "attributes": {"measuredHeight": 3.0, "function": "residential"},
               "children": ["b1-p"],
               "geometry": [{"type": "MultiSurface", "lod": "1.2",
                 "boundaries": [[[0, 3, 2, 1]], [[4, 5, 6, 7]]],
                 "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}], "values": [0, 1]}}]},
        "b1-p": {"type": "BuildingPart", "parents": ["b1"]},
        "t1": {"type": "SolitaryVegetationObject",
               "geometry": [{"type": "GeometryInstance", "template": 0, "boundaries": [0],
                 "transformationMatrix": [2,0,0,0, 0,2,0,0, 0,0,2,0, 0,0,0,1]}]}
      },
      "vertices": [[0,0,0],[1000,0,0],[1000,1000,0],[0,1000,0],[0,0,3000],[1000,0,3000],[1000,1000,3000],[0,1000,3000]],
      "geometry-templates": {"templates": [{"type": "MultiPoint", "lod": "1", "boundaries": [0, 1]}],
                             "vertices-templates": [[0,0,0],[0,0,5]]}
    }"#;

    #[test]
    fn reads_objects_transform_semantics_and_templates() {
        let doc = parse(CUBE.as_bytes(), "cube.json").unwrap();
        assert_eq!(doc.crs, Some(Epsg(4548)));
        assert_eq!(doc.objects.len(), 3);
        let b = doc.objects.iter().find(|o| o.id == "b1").unwrap();
        assert_eq!(b.children, vec!["b1-p".to_string()]);
        let g = &b.geometries[0];
        assert_eq!(g.lod.as_deref(), Some("1.2"));
        assert_eq!(g.polygons[1].semantic.as_deref(), Some("RoofSurface"));
        assert_eq!(g.polygons[1].rings[0][2], DVec3::new(1001.0, 2001.0, 3.0));
        let t = doc.objects.iter().find(|o| o.id == "t1").unwrap();
        // Template point (0,0,5) scaled by 2 and placed at vertex 0 = (1000, 2000, 0).
        assert_eq!(t.geometries[0].points[1], DVec3::new(1000.0, 2000.0, 10.0));
        let inst = t.geometries[0].instance.expect("instance");
        assert_eq!((inst.template, inst.reference), (0, DVec3::new(1000.0, 2000.0, 0.0)));
        assert_eq!(inst.matrix.transform_point3(DVec3::new(0.0, 0.0, 5.0)), DVec3::new(0.0, 0.0, 10.0));
        assert_eq!(doc.templates[0].points[1], DVec3::new(0.0, 0.0, 5.0));
    }

    #[test]
    fn hostile_input_names_file_and_field() {
        let bad_index = CUBE.replace("[[0, 3, 2, 1]]", "[[0, 3, 2, 99]]");
        let e = parse(bad_index.as_bytes(), "x.json").unwrap_err().to_string();
        assert!(
            e.contains("x.json") && e.contains("/CityObjects/b1/geometry/0/boundaries/0/0/3") && e.contains("99"),
            "{e}"
        );
        let e = parse(b"{\"type\": \"CityJSON\", ", "trunc.json").unwrap_err().to_string();
        assert!(e.contains("trunc.json") && e.contains("line 1"), "{e}");
        let e = parse(br#"{"type": "CityJSON", "version": "9.9"}"#, "v.json").unwrap_err().to_string();
        assert!(e.contains("/version"), "{e}");
        let e = parse(CUBE.replace("\"MultiSurface\"", "\"Blob\"").as_bytes(), "t.json").unwrap_err().to_string();
        assert!(e.contains("Blob"), "{e}");
    }

    #[test]
    fn crs_url_forms() {
        assert_eq!(parse_crs_url("urn:ogc:def:crs:EPSG::7415"), Some(Epsg(7415)));
        assert_eq!(parse_crs_url("EPSG:4548"), Some(Epsg(4548)));
        assert_eq!(parse_crs_url("https://www.opengis.net/def/crs/EPSG/0/28992"), Some(Epsg(28992)));
        assert_eq!(parse_crs_url("local"), None);
    }
}
