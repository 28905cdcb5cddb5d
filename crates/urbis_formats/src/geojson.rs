//! GeoJSON (RFC 7946) features with their polygons, for extruding building
//! footprints. Coordinates are WGS84 longitude/latitude unless the legacy
//! `crs` member names another EPSG code (as QGIS exports do).

use std::path::Path;

use glam::DVec3;
use serde_json::{Map, Value};
use urbis_geo::Epsg;

use crate::FormatError;

/// One feature: its id, properties and polygons (rings of coordinates; z
/// is kept when given, else 0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoFeature {
    pub id: Option<String>,
    pub properties: Map<String, Value>,
    /// Polygons: exterior ring then holes; rings open (the closing point dropped).
    pub polygons: Vec<Vec<Vec<DVec3>>>,
    /// The geometry type when it was not (Multi)Polygon, e.g. `Point`.
    pub other_geometry: Option<String>,
}

/// A parsed GeoJSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoJson {
    pub crs: Epsg,
    pub features: Vec<GeoFeature>,
}

pub fn read(path: &Path) -> Result<GeoJson, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

fn crs_of(root: &Value) -> Option<Epsg> {
    let name = root.get("crs")?.get("properties")?.get("name")?.as_str()?;
    if name.contains("CRS84") {
        return Some(Epsg::WGS84);
    }
    crate::cityjson::parse_crs_url(name)
}

/// Parses a FeatureCollection, a Feature or a bare geometry.
pub fn parse(bytes: &[u8], name: &str) -> Result<GeoJson, FormatError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| crate::cityjson::json_error(name, e))?;
    let err = |field: String, msg: String| FormatError::Field { path: name.into(), field, msg };
    let crs = crs_of(&root).unwrap_or(Epsg::WGS84);
    let mut out = GeoJson { crs, features: Vec::new() };
    match root.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            let list = root
                .get("features")
                .and_then(Value::as_array)
                .ok_or_else(|| err("/features".into(), "missing or not an array".into()))?;
            out.features.reserve(list.len());
            for (i, f) in list.iter().enumerate() {
                out.features.push(feature(f, &format!("/features/{i}"), &err)?);
            }
        }
        Some("Feature") => out.features.push(feature(&root, "", &err)?),
        Some(_) => out.features.push(GeoFeature { polygons: polygons(&root, "", &err)?, ..Default::default() }),
        None => return Err(err("/type".into(), "missing".into())),
    }
    Ok(out)
}

type ErrFn<'a> = dyn Fn(String, String) -> FormatError + 'a;

fn feature(f: &Value, field: &str, err: &ErrFn) -> Result<GeoFeature, FormatError> {
    if f.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(err(format!("{field}/type"), "is not \"Feature\"".into()));
    }
    let id = match f.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let properties = f.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let g = f.get("geometry").unwrap_or(&Value::Null);
    if g.is_null() {
        return Ok(GeoFeature { id, properties, polygons: Vec::new(), other_geometry: Some("null".into()) });
    }
    let kind = g.get("type").and_then(Value::as_str).unwrap_or_default();
    let (polygons, other) = match kind {
        "Polygon" | "MultiPolygon" => (polygons(g, &format!("{field}/geometry"), err)?, None),
        k => (Vec::new(), Some(k.to_string())),
    };
    Ok(GeoFeature { id, properties, polygons, other_geometry: other })
}

fn position(v: &Value, field: &str, err: &ErrFn) -> Result<DVec3, FormatError> {
    let a = v
        .as_array()
        .filter(|a| (2..=3).contains(&a.len()))
        .ok_or_else(|| err(field.into(), "a position needs 2 or 3 numbers".into()))?;
    let n = |i: usize| {
        a.get(i)
            .map_or(Some(0.0), Value::as_f64)
            .filter(|x| x.is_finite())
            .ok_or_else(|| err(format!("{field}/{i}"), "not a finite number".into()))
    };
    Ok(DVec3::new(n(0)?, n(1)?, n(2)?))
}

fn polygon(v: &Value, field: &str, err: &ErrFn) -> Result<Vec<Vec<DVec3>>, FormatError> {
    let rings = v.as_array().ok_or_else(|| err(field.into(), "a polygon is an array of rings".into()))?;
    let mut out = Vec::with_capacity(rings.len());
    for (i, r) in rings.iter().enumerate() {
        let f = format!("{field}/{i}");
        let pts = r.as_array().ok_or_else(|| err(f.clone(), "a ring is an array of positions".into()))?;
        let mut ring: Vec<DVec3> =
            pts.iter().enumerate().map(|(k, p)| position(p, &format!("{f}/{k}"), err)).collect::<Result<_, _>>()?;
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() < 3 {
            return Err(err(f, format!("a ring needs 3 distinct positions, has {}", ring.len())));
        }
        out.push(ring);
    }
    Ok(out)
}

fn polygons(g: &Value, field: &str, err: &ErrFn) -> Result<Vec<Vec<Vec<DVec3>>>, FormatError> {
    let coords = g.get("coordinates").ok_or_else(|| err(format!("{field}/coordinates"), "missing".into()))?;
    let cf = format!("{field}/coordinates");
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(vec![polygon(coords, &cf, err)?]),
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or_else(|| err(cf.clone(), "not an array".into()))?
            .iter()
            .enumerate()
            .map(|(i, p)| polygon(p, &format!("{cf}/{i}"), err))
            .collect(),
        other => Err(err(format!("{field}/type"), format!("`{}` is not a polygon", other.unwrap_or("none")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_polygons_holes_and_crs() {
        let doc = br#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4548"}},
          "features":[{"type":"Feature","id":7,"properties":{"height":12.5,"name":"A"},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[2,2],[2,4],[4,4],[2,2]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}},
            {"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1]]],[[[5,5],[6,5],[6,6]]]]}}]}"#;
        let g = parse(doc, "a.geojson").unwrap();
        assert_eq!(g.crs, Epsg(4548));
        assert_eq!(g.features[0].id.as_deref(), Some("7"));
        assert_eq!(g.features[0].polygons[0].len(), 2);
        assert_eq!(g.features[0].polygons[0][0].len(), 4, "closing point dropped");
        assert_eq!(g.features[1].other_geometry.as_deref(), Some("Point"));
        assert_eq!(g.features[2].polygons.len(), 2);
    }

    #[test]
    fn bad_geojson_names_the_field() {
        let e = parse(br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,"x"],[1,1]]]}}]}"#, "b.geojson").unwrap_err().to_string();
        assert!(e.contains("b.geojson") && e.contains("/features/0/geometry/coordinates/0/1/1"), "{e}");
        assert!(parse(b"[1,2", "c.geojson").unwrap_err().to_string().contains("c.geojson"));
    }
}
