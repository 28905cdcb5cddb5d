//! ESRI shapefiles of polygons (building footprints): `.shp` geometry,
//! `.dbf` attributes, `.prj` CRS and `.cpg` code page, read through the
//! `shapefile` and `dbase` crates into the same plain features as GeoJSON,
//! so footprints extrude and classify alike.
//!
//! ```text
//! NAME.shp ──shapefile──► Polygon / PolygonZ / PolygonM rings (outer, inner)
//! NAME.dbf ──dbase──────► fields → JSON properties (text decoded by .cpg or the LDID)
//! NAME.prj ──wkt_epsg──► the EPSG code the WKT names (none: an error naming the file)
//! ```
//!
//! Outer rings start polygons; each hole joins the outer ring that holds
//! it. Shapes that are not polygons are kept as features without polygons
//! (`other_geometry`), as GeoJSON points are. Files are read whole within
//! [`crate::read_file`]'s limit, and a record that lies about its counts is
//! an error naming the file and the record, not an allocation.

use std::io::Cursor;
use std::path::Path;

use glam::DVec3;
use serde_json::{Map, Value};
use shapefile::dbase::{FieldValue, Record};
use shapefile::{PolygonRing, Shape};
use urbis_geo::Epsg;

use crate::FormatError;
use crate::geojson::{GeoFeature, GeoJson};

fn field_error(path: &Path, field: String, msg: impl Into<String>) -> FormatError {
    FormatError::Field { path: path.display().to_string(), field, msg: msg.into() }
}

/// The CRS of a shapefile from its `.prj` (WKT naming an EPSG code).
fn crs_of(shp: &Path) -> Result<Epsg, FormatError> {
    let prj = shp.with_extension("prj");
    if !prj.is_file() {
        return Err(field_error(
            &prj,
            "CRS".into(),
            "missing: a shapefile needs its .prj to be placed (or give the footprints as GeoJSON)",
        ));
    }
    let text = String::from_utf8_lossy(&crate::read_file(&prj)?).into_owned();
    if text.contains("GCS_WGS_1984") && !text.contains("PROJCS") {
        return Ok(Epsg::WGS84); // ESRI's WKT for WGS 84 names no authority
    }
    crate::osgb::wkt_epsg(&text)
        .map(|(code, _)| Epsg(code))
        .ok_or_else(|| field_error(&prj, "CRS".into(), "the WKT names no EPSG code of its own (AUTHORITY or ID)"))
}

/// The `.dbf`'s text encoding from the `.cpg` beside it (e.g. `GBK`, `UTF-8`, `936`).
fn encoding_of(shp: &Path) -> Option<&'static encoding_rs::Encoding> {
    let cpg = std::fs::read_to_string(shp.with_extension("cpg")).ok()?;
    let label = cpg.trim();
    let label = match label {
        "936" => "gbk",
        "65001" => "utf-8",
        other => other,
    };
    encoding_rs::Encoding::for_label(label.as_bytes())
}

fn json(v: FieldValue) -> Value {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Value::String(s.trim_end().to_string()),
        FieldValue::Numeric(Some(x)) | FieldValue::Double(x) | FieldValue::Currency(x) => {
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                Value::from(x as i64)
            } else {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
        }
        FieldValue::Float(Some(x)) => serde_json::Number::from_f64(f64::from(x)).map_or(Value::Null, Value::Number),
        FieldValue::Integer(i) => Value::from(i),
        FieldValue::Logical(Some(b)) => Value::Bool(b),
        FieldValue::Date(Some(d)) => Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        _ => Value::Null,
    }
}

fn properties(record: Record) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in record {
        let v = json(v);
        if !v.is_null() {
            out.insert(k, v);
        }
    }
    out
}

/// Signed area of a ring in plan (positive: counter-clockwise).
fn signed_area(ring: &[DVec3]) -> f64 {
    let n = ring.len();
    (0..n).map(|i| ring[i].x * ring[(i + 1) % n].y - ring[(i + 1) % n].x * ring[i].y).sum::<f64>() / 2.0
}

fn contains(ring: &[DVec3], p: DVec3) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + n - 1) % n]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
    }
    inside
}

/// Rings (with their role) into polygons: outer rings start one, holes
/// join the smallest outer ring holding their first point.
fn polygons(rings: Vec<(bool, Vec<DVec3>)>) -> Vec<Vec<Vec<DVec3>>> {
    let open = |mut r: Vec<DVec3>| {
        if r.len() > 1 && r.first() == r.last() {
            r.pop();
        }
        r
    };
    let mut out: Vec<Vec<Vec<DVec3>>> = Vec::new();
    let mut holes = Vec::new();
    for (outer, ring) in rings {
        let ring = open(ring);
        if ring.len() < 3 {
            continue;
        }
        if outer { out.push(vec![ring]) } else { holes.push(ring) }
    }
    for hole in holes {
        let owner = out
            .iter()
            .enumerate()
            .filter(|(_, p)| contains(&p[0], hole[0]))
            .min_by(|a, b| signed_area(&a.1[0]).abs().total_cmp(&signed_area(&b.1[0]).abs()))
            .map(|(i, _)| i);
        match owner {
            Some(i) => out[i].push(hole),
            // A "hole" outside every outer ring is drawn as a polygon of its own.
            None => out.push(vec![hole]),
        }
    }
    out
}

fn rings_of<P>(rings: &[PolygonRing<P>], xyz: impl Fn(&P) -> DVec3) -> Vec<(bool, Vec<DVec3>)> {
    rings.iter().map(|r| (matches!(r, PolygonRing::Outer(_)), r.points().iter().map(&xyz).collect())).collect()
}

/// Reads `NAME.shp` with its `.dbf`, `.prj` and (optional) `.cpg`.
pub fn read(shp: &Path) -> Result<GeoJson, FormatError> {
    let crs = crs_of(shp)?;
    let shp_bytes = crate::read_file(shp)?;
    let dbf_bytes = crate::read_file(&shp.with_extension("dbf"))?;
    parse(shp_bytes, dbf_bytes, crs, encoding_of(shp), shp)
}

/// Parses a shapefile's `.shp` and `.dbf` bytes (`shp` names them in
/// errors, its `.dbf` sibling the attributes) in CRS `crs`.
pub fn parse(
    shp_bytes: Vec<u8>,
    dbf_bytes: Vec<u8>,
    crs: Epsg,
    encoding: Option<&'static encoding_rs::Encoding>,
    shp: &Path,
) -> Result<GeoJson, FormatError> {
    let dbf = shp.with_extension("dbf");
    let bad = |path: &Path, e: &dyn std::fmt::Display| field_error(path, "header".into(), e.to_string());
    let shapes = shapefile::ShapeReader::new(Cursor::new(shp_bytes)).map_err(|e| bad(shp, &e))?;
    let mut builder = shapefile::dbase::ReaderBuilder::new();
    if let Some(enc) = encoding {
        builder = builder.with_encoding(shapefile::dbase::encoding::EncodingRs::from(enc));
    }
    let records = builder.build(Cursor::new(dbf_bytes)).map_err(|e| bad(&dbf, &e))?;
    let mut reader = shapefile::Reader::new(shapes, records);
    let mut out = GeoJson { crs, features: Vec::new() };
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(|e| field_error(shp, format!("record {}", i + 1), e.to_string()))?;
        let mut f = GeoFeature { id: None, properties: properties(record), ..Default::default() };
        let rings = match shape {
            Shape::Polygon(p) => Some(rings_of(p.rings(), |q| DVec3::new(q.x, q.y, 0.0))),
            Shape::PolygonM(p) => Some(rings_of(p.rings(), |q| DVec3::new(q.x, q.y, 0.0))),
            Shape::PolygonZ(p) => Some(rings_of(p.rings(), |q| DVec3::new(q.x, q.y, q.z))),
            Shape::NullShape => None,
            other => {
                f.other_geometry = Some(other.shapetype().to_string());
                None
            }
        };
        if let Some(rings) = rings {
            if rings.iter().flat_map(|(_, r)| r).any(|p| !p.is_finite()) {
                return Err(field_error(shp, format!("record {}", i + 1), "a coordinate is not finite"));
            }
            f.polygons = polygons(rings);
        }
        out.features.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64, ccw: bool) -> Vec<DVec3> {
        let mut r = vec![
            DVec3::new(x0, y0, 0.0),
            DVec3::new(x0 + s, y0, 0.0),
            DVec3::new(x0 + s, y0 + s, 0.0),
            DVec3::new(x0, y0 + s, 0.0),
        ];
        if !ccw {
            r.reverse();
        }
        r
    }

    #[test]
    fn holes_join_the_outer_ring_that_holds_them() {
        let rings = vec![
            (true, square(0.0, 0.0, 10.0, false)),
            (true, square(20.0, 0.0, 10.0, false)),
            (false, square(22.0, 2.0, 2.0, true)),
            (false, square(2.0, 2.0, 2.0, true)),
            (false, square(50.0, 50.0, 1.0, true)),
        ];
        let p = polygons(rings);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].len(), p[1].len(), p[2].len()), (2, 2, 1));
        assert!(p[0][1].iter().all(|v| (2.0..=4.0).contains(&v.x)), "the first hole in the first square");
        assert!(p[1][1].iter().all(|v| (22.0..=24.0).contains(&v.x)), "the second hole in the second square");
        assert!(p[2][0].iter().all(|v| v.x >= 50.0), "a hole outside every ring stands alone");
    }
}
