//! Fuzz target: CityJSON documents and CityJSONSeq streams, then the
//! triangulation of every polygon read.
#![no_main]

use urbis_formats::cityjson::{CityJson, parse, parse_seq};
use urbis_formats::triangulate::polygon_with_holes;

fn triangulate_all(doc: &CityJson) {
    for g in doc.objects.iter().flat_map(|o| &o.geometries).chain(&doc.templates) {
        for p in &g.polygons {
            let _ = polygon_with_holes(&p.rings);
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = parse(data, "fuzz/city.json") {
        triangulate_all(&doc);
    }
    if let Ok(doc) = parse_seq(data, "fuzz/city.jsonl") {
        triangulate_all(&doc);
    }
});
