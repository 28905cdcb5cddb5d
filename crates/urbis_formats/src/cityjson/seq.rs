//! CityJSONSeq (`.city.jsonl`): a CityJSON header line (transform,
//! metadata, appearance) then one CityJSONFeature per line, each with its
//! own vertices. Features are gathered into one document; each object
//! remembers the feature (line) it came in.

use std::path::Path;

use serde_json::Value;

use super::{CityJson, Ctx, header, json_error, quantized_vertices, read_object};
use crate::FormatError;

/// Reads a CityJSONSeq file.
pub fn read_seq(path: &Path) -> Result<CityJson, FormatError> {
    let bytes = crate::read_file(path)?;
    parse_seq(&bytes, &path.display().to_string())
}

/// Parses CityJSONSeq bytes. Each object gets the attribute-free member
/// `feature` (in [`CityObject::extra`](super::CityObject)) naming its CityJSONFeature.
pub fn parse_seq(bytes: &[u8], name: &str) -> Result<CityJson, FormatError> {
    let mut doc: Option<CityJson> = None;
    // Values one after another: one per line as the spec writes them, but
    // pretty-printed sequences are read as well.
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut n = 0usize;
    loop {
        // The value starts after the whitespace that ends the previous one.
        let after = stream.byte_offset().min(bytes.len());
        let start = after + bytes[after..].iter().take_while(|b| b.is_ascii_whitespace()).count();
        let Some(next) = stream.next() else { break };
        n += 1;
        let line = 1 + bytes[..start.min(bytes.len())].iter().filter(|&&b| b == b'\n').count();
        let item_name = format!("{name} (value {n}, from line {line})");
        let v = next.map_err(|e| json_error(&item_name, e))?;
        let ctx = Ctx { name: &item_name, vertices: Vec::new(), template_vertices: Vec::new(), templates: Vec::new() };
        match v.get("type").and_then(Value::as_str) {
            Some("CityJSON") => {
                if doc.is_some() {
                    return Err(ctx.err("/type", "a second CityJSON header"));
                }
                let root = v.as_object().ok_or_else(|| ctx.err("/", "not an object"))?;
                doc = Some(header(root, &ctx)?);
            }
            Some("CityJSONFeature") => {
                let d = doc.get_or_insert_with(|| CityJson { version: "2.0".into(), ..Default::default() });
                let id = v.get("id").and_then(Value::as_str).ok_or_else(|| ctx.err("/id", "missing"))?.to_string();
                let ctx =
                    Ctx { vertices: quantized_vertices(v.get("vertices"), "/vertices", d.transform, &ctx)?, ..ctx };
                let objs = v
                    .get("CityObjects")
                    .and_then(Value::as_object)
                    .ok_or_else(|| ctx.err("/CityObjects", "missing or not an object"))?;
                if !objs.contains_key(&id) {
                    return Err(ctx.err("/id", format!("feature `{id}` has no CityObject of that id")));
                }
                d.vertex_count += ctx.vertices.len();
                for (oid, o) in objs {
                    let mut obj = read_object(oid, o, &ctx)?;
                    obj.extra.insert("feature".into(), Value::String(id.clone()));
                    d.objects.push(obj);
                }
            }
            other => {
                return Err(
                    ctx.err("/type", format!("`{}` is neither CityJSON nor CityJSONFeature", other.unwrap_or("none")))
                );
            }
        }
    }
    doc.ok_or_else(|| FormatError::Field { path: name.into(), field: "/".into(), msg: "empty CityJSONSeq".into() })
}
