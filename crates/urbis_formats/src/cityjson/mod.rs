//! CityJSON 1.0 / 1.1 / 2.0 and CityJSONSeq (`.city.jsonl`).
//!
//! Reads the document into [`CityJson`]: objects with their type,
//! attributes, addresses, parent/child links, extension members and
//! geometries. Geometry boundaries are resolved to real coordinates (the
//! `transform` applied, templates placed) and keep their original vertex
//! indices; every polygon keeps its semantic surface, material and texture
//! per theme. The appearance (materials, textures, texture vertices,
//! default themes), metadata, extensions and unknown root members are kept.

mod geometry;
mod seq;

use std::path::Path;

use glam::{DMat4, DVec3};
use serde_json::{Map, Value};
use urbis_geo::Epsg;

pub use geometry::{Geometry, GeometryKind, Polygon, PolygonTexture, SemanticSurface, TemplateInstance};
pub use seq::{parse_seq, read_seq};

use crate::FormatError;

/// The quantisation transform of a document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub scale: DVec3,
    pub translate: DVec3,
}

/// A material of the appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Material {
    pub name: String,
    /// Linear RGB in 0..1.
    pub diffuse_color: Option<[f64; 3]>,
    pub transparency: Option<f64>,
    /// Every member, as it was.
    pub raw: Map<String, Value>,
}

/// A texture of the appearance (an image file next to the document).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextureImage {
    pub image: String,
    pub kind: Option<String>,
    pub raw: Map<String, Value>,
}

/// Materials, textures and texture coordinates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Appearance {
    pub materials: Vec<Material>,
    pub textures: Vec<TextureImage>,
    pub texture_vertices: Vec<[f64; 2]>,
    pub default_theme_material: Option<String>,
    pub default_theme_texture: Option<String>,
}

/// A parsed CityJSON document.
#[derive(Debug, Clone, Default)]
pub struct CityJson {
    pub version: String,
    /// From `metadata.referenceSystem`.
    pub crs: Option<Epsg>,
    /// The `metadata` member, as it was.
    pub metadata: Map<String, Value>,
    pub transform: Option<Transform>,
    /// Number of entries of the `vertices` member.
    pub vertex_count: usize,
    /// Objects in file order.
    pub objects: Vec<CityObject>,
    /// Geometry templates in their own coordinates (metres, unprojected).
    pub templates: Vec<Geometry>,
    pub appearance: Appearance,
    /// The `extensions` member (Extension names → URLs and versions).
    pub extensions: Map<String, Value>,
    /// Root members that CityJSON does not define, as they were.
    pub extra: Map<String, Value>,
}

/// One `CityObjects` member.
#[derive(Debug, Clone, Default)]
pub struct CityObject {
    pub id: String,
    /// The CityJSON type, e.g. `Building`, `BuildingPart`, `Road`, `+NoiseBarrier`.
    pub object_type: String,
    pub attributes: Map<String, Value>,
    pub address: Vec<Address>,
    pub parents: Vec<String>,
    pub children: Vec<String>,
    pub geometries: Vec<Geometry>,
    /// Whether the object had a `geometry` member at all.
    pub has_geometry_member: bool,
    /// Members CityJSON does not define (Extension members), as they were.
    pub extra: Map<String, Value>,
}

/// An address, with its location point resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address {
    pub fields: Map<String, Value>,
    pub location: Option<DVec3>,
}

const ROOT_MEMBERS: [&str; 9] = [
    "type",
    "version",
    "transform",
    "metadata",
    "CityObjects",
    "vertices",
    "geometry-templates",
    "appearance",
    "extensions",
];
const OBJECT_MEMBERS: [&str; 7] =
    ["type", "attributes", "address", "parents", "children", "geometry", "geographicalExtent"];

/// Reads a CityJSON file.
pub fn read(path: &Path) -> Result<CityJson, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

pub(crate) struct Ctx<'a> {
    pub name: &'a str,
    pub vertices: Vec<DVec3>,
    pub template_vertices: Vec<DVec3>,
    pub templates: Vec<Value>,
}

impl Ctx<'_> {
    pub(crate) fn err(&self, field: impl Into<String>, msg: impl Into<String>) -> FormatError {
        FormatError::Field { path: self.name.into(), field: field.into(), msg: msg.into() }
    }
}

pub(crate) fn json_error(name: &str, e: serde_json::Error) -> FormatError {
    FormatError::Json { path: name.into(), line: e.line(), column: e.column(), msg: e.to_string() }
}

/// Parses CityJSON bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<CityJson, FormatError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| json_error(name, e))?;
    let ctx = Ctx { name, vertices: Vec::new(), template_vertices: Vec::new(), templates: Vec::new() };
    let root = root.as_object().ok_or_else(|| ctx.err("/", "document is not a JSON object"))?;
    if root.get("type").and_then(Value::as_str) != Some("CityJSON") {
        return Err(ctx.err("/type", "is not \"CityJSON\""));
    }
    let mut doc = header(root, &ctx)?;
    let mut ctx = ctx;
    ctx.vertices = quantized_vertices(root.get("vertices"), "/vertices", doc.transform, &ctx)?;
    doc.vertex_count = ctx.vertices.len();
    if let Some(t) = root.get("geometry-templates") {
        ctx.template_vertices =
            read_vertices(t.get("vertices-templates"), "/geometry-templates/vertices-templates", &ctx)?;
        ctx.templates = t.get("templates").and_then(Value::as_array).cloned().unwrap_or_default();
    }
    let objects_json = root
        .get("CityObjects")
        .and_then(Value::as_object)
        .ok_or_else(|| ctx.err("/CityObjects", "missing or not an object"))?;
    doc.objects.reserve(objects_json.len());
    for (id, obj) in objects_json {
        doc.objects.push(read_object(id, obj, &ctx)?);
    }
    for (i, t) in ctx.templates.iter().enumerate() {
        doc.templates.push(geometry::read_template(t, i, &ctx, None)?);
    }
    Ok(doc)
}

/// The members of a document other than its objects and vertices.
pub(crate) fn header(root: &Map<String, Value>, ctx: &Ctx) -> Result<CityJson, FormatError> {
    let version = root.get("version").and_then(Value::as_str).unwrap_or_default().to_string();
    if !matches!(version.as_str(), "1.0" | "1.1" | "2.0") {
        return Err(ctx.err("/version", format!("unsupported CityJSON version `{version}` (1.0, 1.1, 2.0)")));
    }
    let transform = match root.get("transform") {
        Some(t) => Some(Transform {
            scale: vec3(t.get("scale"), "/transform/scale", ctx)?,
            translate: vec3(t.get("translate"), "/transform/translate", ctx)?,
        }),
        None => None,
    };
    let metadata = root.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    let crs = metadata.get("referenceSystem").and_then(Value::as_str).and_then(parse_crs_url);
    Ok(CityJson {
        version,
        crs,
        metadata,
        transform,
        appearance: read_appearance(root.get("appearance"), ctx)?,
        extensions: root.get("extensions").and_then(Value::as_object).cloned().unwrap_or_default(),
        extra: root
            .iter()
            .filter(|(k, _)| !ROOT_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    })
}

fn read_appearance(v: Option<&Value>, ctx: &Ctx) -> Result<Appearance, FormatError> {
    let Some(a) = v else { return Ok(Appearance::default()) };
    let a = a.as_object().ok_or_else(|| ctx.err("/appearance", "not an object"))?;
    let mut out = Appearance {
        default_theme_material: a.get("default-theme-material").and_then(Value::as_str).map(str::to_string),
        default_theme_texture: a.get("default-theme-texture").and_then(Value::as_str).map(str::to_string),
        ..Default::default()
    };
    for (i, m) in a.get("materials").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let m = m.as_object().ok_or_else(|| ctx.err(format!("/appearance/materials/{i}"), "not an object"))?;
        let color = m.get("diffuseColor").and_then(Value::as_array).filter(|c| c.len() == 3).map(|c| {
            let f = |k: usize| c[k].as_f64().unwrap_or(0.0).clamp(0.0, 1.0);
            [f(0), f(1), f(2)]
        });
        out.materials.push(Material {
            name: m.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            diffuse_color: color,
            transparency: m.get("transparency").and_then(Value::as_f64),
            raw: m.clone(),
        });
    }
    for (i, t) in a.get("textures").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let t = t.as_object().ok_or_else(|| ctx.err(format!("/appearance/textures/{i}"), "not an object"))?;
        out.textures.push(TextureImage {
            image: t.get("image").and_then(Value::as_str).unwrap_or_default().to_string(),
            kind: t.get("type").and_then(Value::as_str).map(str::to_string),
            raw: t.clone(),
        });
    }
    for (i, uv) in a.get("vertices-texture").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let uv = uv
            .as_array()
            .filter(|a| a.len() == 2)
            .ok_or_else(|| ctx.err(format!("/appearance/vertices-texture/{i}"), "expected [u, v]"))?;
        let c = |k: usize| {
            uv[k].as_f64().ok_or_else(|| ctx.err(format!("/appearance/vertices-texture/{i}/{k}"), "not a number"))
        };
        out.texture_vertices.push([c(0)?, c(1)?]);
    }
    Ok(out)
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

pub(crate) fn vec3(v: Option<&Value>, field: &str, ctx: &Ctx) -> Result<DVec3, FormatError> {
    let a = v.and_then(Value::as_array).ok_or_else(|| ctx.err(field, "missing or not an array"))?;
    if a.len() != 3 {
        return Err(ctx.err(field, format!("has {} numbers, expected 3", a.len())));
    }
    let n = |i: usize| a[i].as_f64().ok_or_else(|| ctx.err(format!("{field}/{i}"), "not a number"));
    Ok(DVec3::new(n(0)?, n(1)?, n(2)?))
}

pub(crate) fn read_vertices(v: Option<&Value>, field: &str, ctx: &Ctx) -> Result<Vec<DVec3>, FormatError> {
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

/// Vertices with the transform applied.
pub(crate) fn quantized_vertices(
    v: Option<&Value>,
    field: &str,
    t: Option<Transform>,
    ctx: &Ctx,
) -> Result<Vec<DVec3>, FormatError> {
    let raw = read_vertices(v, field, ctx)?;
    Ok(match t {
        Some(t) => raw.into_iter().map(|v| v * t.scale + t.translate).collect(),
        None => raw,
    })
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

pub(crate) fn read_object(id: &str, obj: &Value, ctx: &Ctx) -> Result<CityObject, FormatError> {
    let base = format!("/CityObjects/{id}");
    let obj = obj.as_object().ok_or_else(|| ctx.err(&base, "not an object"))?;
    let object_type = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ctx.err(format!("{base}/type"), "missing or not a string"))?
        .to_string();
    let attributes = obj.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    let addresses: Vec<&Map<String, Value>> = match obj.get("address") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o], // CityJSON 1.0 form
        _ => Vec::new(),
    };
    let mut address = Vec::with_capacity(addresses.len());
    for (i, a) in addresses.into_iter().enumerate() {
        let location = match a.get("location") {
            Some(l) => {
                let g = geometry::read_geometry(l, &format!("{base}/address/{i}/location"), ctx)?;
                g.points.first().copied()
            }
            None => None,
        };
        address.push(Address {
            fields: a.iter().filter(|(k, _)| *k != "location").map(|(k, v)| (k.clone(), v.clone())).collect(),
            location,
        });
    }
    let mut geometries = Vec::new();
    if let Some(gs) = obj.get("geometry") {
        let gs = gs.as_array().ok_or_else(|| ctx.err(format!("{base}/geometry"), "not an array"))?;
        for (i, g) in gs.iter().enumerate() {
            geometries.push(geometry::read_geometry(g, &format!("{base}/geometry/{i}"), ctx)?);
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
        has_geometry_member: obj.contains_key("geometry"),
        extra: obj
            .iter()
            .filter(|(k, _)| !OBJECT_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Re-quantises a real coordinate with the document transform (the inverse
/// of reading), for round-trip checks.
pub fn quantize(p: DVec3, t: &Transform) -> [i64; 3] {
    let q = ((p - t.translate) / t.scale).round();
    [q.x as i64, q.y as i64, q.z as i64]
}

/// A column-major matrix from CityJSON's row-major 16 numbers.
pub(crate) fn row_major(m: &[f64; 16]) -> DMat4 {
    let mut cols = [0.0; 16];
    for (i, x) in m.iter().enumerate() {
        cols[(i % 4) * 4 + i / 4] = *x;
    }
    DMat4::from_cols_array(&cols)
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
