//! The hostile corpus of the GIS and BIM readers: truncated files, JSON
//! nested 10,000 deep, vertex indices out of range, STEP files with deep
//! nesting, reference cycles and dangling references, grids claiming more
//! cells than they hold. Each is an error naming the file and the line,
//! offset or JSON path; none panics, hangs (every case runs under a
//! deadline) or allocates beyond the file's size. GeoTIFF's own hostile
//! rasters (1e6 × 1e6 pixels, truncations) are in `geotiff.rs`; 3D Tiles' in
//! `tiles3d_formats.rs`.

use std::sync::mpsc;
use std::time::Duration;

use urbis_formats::{ascii_grid, cityjson, geojson, ifc};

/// Runs `f` on its own thread and fails if it panics or takes over 30 s.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within 30 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the reader panicked"),
    }
}

/// The error of `parse` on `bytes`, which must fail and name every one of `needles`.
fn refused<T: Send + 'static>(
    what: &str,
    bytes: Vec<u8>,
    parse: fn(&[u8]) -> Result<T, urbis_formats::FormatError>,
    needles: &[&str],
) -> String {
    let e = match bounded(what, move || parse(&bytes).map(|_| ()).map_err(|e| e.to_string())) {
        Ok(()) => panic!("{what}: accepted"),
        Err(e) => e,
    };
    for n in needles {
        assert!(e.contains(n), "{what}: error does not name `{n}`: {e}");
    }
    e
}

const CITY: &str = r#"{"type":"CityJSON","version":"2.0",
 "transform":{"scale":[0.001,0.001,0.001],"translate":[84000,446000,0]},
 "metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/7415"},
 "CityObjects":{"b1":{"type":"Building","attributes":{"name":"B"},
   "geometry":[{"type":"Solid","lod":"1","boundaries":[[[[0,1,2,3]],[[4,7,6,5]],[[0,4,5,1]],[[1,5,6,2]],[[2,6,7,3]],[[3,7,4,0]]]]}]}},
 "vertices":[[0,0,0],[10000,0,0],[10000,10000,0],[0,10000,0],[0,0,5000],[10000,0,5000],[10000,10000,5000],[0,10000,5000]]}"#;

fn parse_city(b: &[u8]) -> Result<cityjson::CityJson, urbis_formats::FormatError> {
    cityjson::parse(b, "hostile/city.json")
}

fn parse_seq(b: &[u8]) -> Result<cityjson::CityJson, urbis_formats::FormatError> {
    cityjson::parse_seq(b, "hostile/city.jsonl")
}

fn parse_geojson(b: &[u8]) -> Result<geojson::GeoJson, urbis_formats::FormatError> {
    geojson::parse(b, "hostile/footprints.geojson")
}

fn parse_ifc(b: &[u8]) -> Result<ifc::IfcModel, urbis_formats::FormatError> {
    ifc::parse(b, "hostile/model.ifc")
}

fn parse_asc(b: &[u8]) -> Result<ascii_grid::DemGrid, urbis_formats::FormatError> {
    ascii_grid::parse(b, "hostile/dem.asc")
}

#[test]
fn cityjson_truncated_deep_and_out_of_range() {
    let city = parse_city(CITY.as_bytes()).expect("the base document is valid");
    assert_eq!(city.objects.len(), 1);
    // Every truncation is an error naming the file and a line.
    for cut in (0..CITY.len() - 1).step_by(5) {
        refused(&format!("city cut at {cut}"), CITY.as_bytes()[..cut].to_vec(), parse_city, &["hostile/city.json"]);
    }
    // Nested 10,000 deep inside an attribute: serde_json's depth limit, with a line.
    let deep = CITY.replace(r#""name":"B""#, &format!(r#""name":{}{}"#, "[".repeat(10_000), "]".repeat(10_000)));
    refused("city nested 10,000 deep", deep.into_bytes(), parse_city, &["hostile/city.json", "line"]);
    // A vertex index past the end, named by its JSON path.
    let bad = CITY.replace("[[[[0,1,2,3]],", "[[[[0,1,2,99]],");
    refused(
        "city vertex 99",
        bad.into_bytes(),
        parse_city,
        &["hostile/city.json", "/CityObjects/b1/geometry/0/boundaries/0/0/0/3", "99", "out of range"],
    );
    for (what, from, to) in [
        ("negative index", "[[[[0,1,2,3]],", "[[[[0,1,-2,3]],"),
        ("fractional index", "[[[[0,1,2,3]],", "[[[[0,1,2.5,3]],"),
        ("a ring that is not an array", "[[[[0,1,2,3]],", "[[[7,"),
        ("a vertex of two numbers", "[[0,0,0],", "[[0,0],"),
        ("a scale that is not numbers", r#""scale":[0.001,0.001,0.001]"#, r#""scale":"huge""#),
    ] {
        let e = refused(what, CITY.replacen(from, to, 1).into_bytes(), parse_city, &["hostile/city.json"]);
        assert!(e.contains('/'), "{what}: names a JSON path: {e}");
    }
    // CityJSONSeq: a feature cut short names the line it started on.
    let header = r#"{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[0,0,0]},"CityObjects":{},"vertices":[]}"#;
    let feature = r#"{"type":"CityJSONFeature","id":"f","CityObjects":{"f":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[0,1,2]]]}]}},"vertices":[[0,0,0],[1,0,0],[0,1,0]]}"#;
    let good = format!("{header}\n{feature}\n");
    assert_eq!(parse_seq(good.as_bytes()).expect("valid sequence").objects.len(), 1);
    let seq = format!("{header}\n{feature}\n{}", &feature[..feature.len() / 2]);
    refused("seq cut", seq.into_bytes(), parse_seq, &["hostile/city.jsonl", "line 3"]);
    let seq = format!("{header}\n{}\n", feature.replace("[[[0,1,2]]]", "[[[0,1,5]]]"));
    refused("seq index", seq.into_bytes(), parse_seq, &["hostile/city.jsonl", "line 2", "out of range"]);
}

const FOOTPRINTS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"height":10},"geometry":{"type":"Polygon","coordinates":[[[4.0,52.0],[4.001,52.0],[4.001,52.001],[4.0,52.0]]]}}]}"#;

#[test]
fn geojson_truncated_deep_and_malformed() {
    assert_eq!(parse_geojson(FOOTPRINTS.as_bytes()).expect("valid").features.len(), 1);
    for cut in (0..FOOTPRINTS.len() - 1).step_by(3) {
        refused(
            &format!("geojson cut at {cut}"),
            FOOTPRINTS.as_bytes()[..cut].to_vec(),
            parse_geojson,
            &["hostile/footprints.geojson"],
        );
    }
    let deep = FOOTPRINTS
        .replace(r#""height":10"#, &format!(r#""height":{}{}"#, "{\"a\":".repeat(10_000), "}".repeat(10_000)));
    refused("geojson nested 10,000 deep", deep.into_bytes(), parse_geojson, &["hostile/footprints.geojson", "line"]);
    let deep_coords = FOOTPRINTS.replace("[[[4.0,52.0]", &format!("{}[[[4.0,52.0]", "[".repeat(10_000)));
    refused("coordinates nested 10,000 deep", deep_coords.into_bytes(), parse_geojson, &["hostile/footprints.geojson"]);
    for (what, from, to, path) in [
        ("a string coordinate", "[4.001,52.0]", r#"["x",52.0]"#, "/features/0/geometry/coordinates/0/1"),
        ("a one-number position", "[4.001,52.0]", "[4.001]", "/features/0/geometry/coordinates/0/1"),
        ("coordinates not an array", r#""coordinates":[[["#, r#""coordinates":7,"x":[[["#, "/features/0/geometry"),
    ] {
        refused(
            what,
            FOOTPRINTS.replacen(from, to, 1).into_bytes(),
            parse_geojson,
            &["hostile/footprints.geojson", path],
        );
    }
}

const STEP: &str = "ISO-10303-21;
HEADER;
FILE_DESCRIPTION((''),'2;1');
FILE_NAME('x.ifc','',(''),(''),'','','');
FILE_SCHEMA(('IFC4'));
ENDSEC;
DATA;
#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'P',$,$,$,$,(#10),$);
#10=IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-5,#11,$);
#11=IFCAXIS2PLACEMENT3D(#12,$,$);
#12=IFCCARTESIANPOINT((0.,0.,0.));
#20=IFCWALL('2O2Fr$t4X7Zf8NOew3FL01',$,'Wall',$,$,#21,#22,$,$);
#21=IFCLOCALPLACEMENT($,#11);
#22=IFCPRODUCTDEFINITIONSHAPE($,$,(#23));
#23=IFCSHAPEREPRESENTATION(#10,'Body','SweptSolid',(#24));
#24=IFCEXTRUDEDAREASOLID(#25,$,#27,3.);
#25=IFCRECTANGLEPROFILEDEF(.AREA.,$,$,4.,0.2);
#27=IFCDIRECTION((0.,0.,1.));
ENDSEC;
END-ISO-10303-21;
";

#[test]
fn ifc_truncated_deep_cyclic_and_dangling() {
    let m = parse_ifc(STEP.as_bytes()).expect("the base file is valid");
    assert_eq!(m.elements.len(), 1);
    assert!(m.elements[0].mesh.is_some());
    // Truncated inside the DATA section: an error naming the file and a line.
    let data = STEP.find("DATA;").expect("data") + 6;
    for cut in (data..STEP.len() - 20).step_by(7) {
        if STEP.as_bytes()[cut - 1] == b'\n' {
            continue; // a cut between whole instances is only a shorter file
        }
        refused(
            &format!("step cut at {cut}"),
            STEP.as_bytes()[..cut].to_vec(),
            parse_ifc,
            &["hostile/model.ifc", "line"],
        );
    }
    // Before the DATA section: not yet an IFC file.
    for cut in [0, 10, 40, data - 3] {
        refused(&format!("header cut at {cut}"), STEP.as_bytes()[..cut].to_vec(), parse_ifc, &["hostile/model.ifc"]);
    }
    // Lists nested 10,000 deep: refused at the parser's depth limit, on the right line.
    let deep = STEP.replace(
        "#27=IFCDIRECTION((0.,0.,1.));",
        &format!("#27=IFCDIRECTION({}0.{});", "(".repeat(10_000), ")".repeat(10_000)),
    );
    refused("step nested 10,000 deep", deep.into_bytes(), parse_ifc, &["hostile/model.ifc", "line 18"]);
    // An unterminated string swallows the rest: the error names where it began.
    let open = STEP.replace("'Wall'", "'Wall");
    refused("unterminated string", open.into_bytes(), parse_ifc, &["hostile/model.ifc", "line"]);
    // A placement cycle and a dangling profile: the wall is still read, with warnings naming #ids.
    let cyclic = STEP
        .replace("#21=IFCLOCALPLACEMENT($,#11);", "#21=IFCLOCALPLACEMENT(#29,#11);\n#29=IFCLOCALPLACEMENT(#21,#11);")
        .replace("#24=IFCEXTRUDEDAREASOLID(#25,", "#24=IFCEXTRUDEDAREASOLID(#77,");
    let m =
        bounded("cycle", move || parse_ifc(cyclic.as_bytes()).map_err(|e| e.to_string())).expect("read with warnings");
    let wall = m.elements.iter().find(|e| e.class == "IfcWall").expect("wall");
    assert!(wall.mesh.is_none(), "its body refers to nothing");
    let w = m.warnings.join("\n");
    assert!(w.contains("#77"), "dangling #77 named: {w}");
    assert!(w.contains("#21") || w.contains("#29"), "cycle named: {w}");
    // A reference to itself in a geometric item.
    let selfref = STEP.replace("#12=IFCCARTESIANPOINT((0.,0.,0.));", "#12=IFCCARTESIANPOINT(#12);");
    // The model is still read: the bad point is reported by its #id and the wall stays.
    let m = bounded("self", move || parse_ifc(selfref.as_bytes()).map_err(|e| e.to_string()))
        .expect("a self-referencing point is a warning, not a failure");
    assert!(m.warnings.iter().any(|w| w.contains("#12")), "the point is named: {:?}", m.warnings);
    assert!(m.elements.iter().any(|e| e.class == "IfcWall"), "the wall is still read");
}

const GRID: &str = "ncols 4\nnrows 3\nxllcorner 100\nyllcorner 200\ncellsize 10\nNODATA_value -9999\n1 2 3 4\n5 -9999 7 8\n9 10 11 12\n";

#[test]
fn ascii_grid_truncated_and_oversized() {
    assert_eq!(parse_asc(GRID.as_bytes()).expect("valid").heights.len(), 12);
    let body = GRID.find("1 2 3 4").expect("body");
    for cut in (0..GRID.len() - 2).filter(|c| *c < body || GRID.as_bytes()[*c - 1] == b' ') {
        refused(
            &format!("grid cut at {cut}"),
            GRID.as_bytes()[..cut].to_vec(),
            parse_asc,
            &["hostile/dem.asc", "line"],
        );
    }
    // A header claiming 1e6 × 1e6 cells in a 100-byte file: refused before any allocation.
    let huge = GRID.replace("ncols 4\nnrows 3", "ncols 1000000\nnrows 1000000");
    refused("1e6 × 1e6 grid", huge.into_bytes(), parse_asc, &["hostile/dem.asc", "line 1", "1000000"]);
    // 30,000 × 30,000 is under the cell limit: the values run out, named by line, and
    // the buffer reserved was bounded by the file's size, not the header's claim.
    let big = GRID.replace("ncols 4\nnrows 3", "ncols 30000\nnrows 30000");
    refused("30k × 30k grid", big.into_bytes(), parse_asc, &["hostile/dem.asc", "truncated", "12 of 900000000"]);
    let extra = format!("{GRID}13\n");
    refused("one value too many", extra.into_bytes(), parse_asc, &["hostile/dem.asc", "line 10"]);
    refused("a word among heights", GRID.replace("11", "eleven").into_bytes(), parse_asc, &["line 9", "eleven"]);
    refused("not UTF-8", vec![b'n', 0xff, 0xfe], parse_asc, &["hostile/dem.asc", "line 1"]);
}
