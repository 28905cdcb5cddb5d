//! CityJSON and IFC into the city model: bytes on disk → entities with
//! attributes, semantic classes and triangulated meshes (the work of
//! `urbis_model::open_city`). Throughput is printed both as features
//! (CityObjects or IFC products) per second and as MB/s of input.
//!
//! Workloads:
//! - `rotterdam_subset`, `den_haag` (cjio's extracts in ../shared/data, when
//!   present): 16 and 12 LoD2 CityObjects.
//! - `synthetic_570`: 570 LoD2 buildings (gabled solids with semantic
//!   surfaces, attributes, a BuildingPart under every tenth), the size of
//!   the city file for which cjio 0.10's `export glb` takes about 30 s on
//!   this machine class. Goal: ≥ 100× faster, that is under 0.3 s.
//! - `synthetic_100k`: 100,000 such buildings (about 60 MB of JSON).
//! - `ifc_50k`: a synthetic IFC4 file of 50,000 products (walls, columns,
//!   slabs: extruded rectangle and circle profiles, local placement chains,
//!   a property set each), read by `urbis_formats::ifc::parse` alone and into
//!   the model.
//!
//! There is no in-process baseline to compare with: cjio is a Python tool
//! (its figure above is the issue's, not measured here). Features are read
//! in parallel with rayon inside the loaders.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A CityJSON 2.0 file of `n` gabled LoD2 buildings in RD New + NAP.
fn synthetic_city(n: usize) -> String {
    let mut objects = String::new();
    let mut vertices = String::new();
    let side = (n as f64).sqrt().ceil() as usize;
    let mut v = 0usize;
    for i in 0..n {
        let (x0, y0) = ((i % side) as i64 * 20_000, (i / side) as i64 * 20_000);
        let (w, d, h, ridge) = (8_000 + (i % 5) as i64 * 1_000, 10_000, 6_000 + (i % 7) as i64 * 1_500, 3_000);
        // 0..4 ground, 4..8 eaves, 8..10 ridge.
        let pts = [
            (x0, y0, 0),
            (x0 + w, y0, 0),
            (x0 + w, y0 + d, 0),
            (x0, y0 + d, 0),
            (x0, y0, h),
            (x0 + w, y0, h),
            (x0 + w, y0 + d, h),
            (x0, y0 + d, h),
            (x0, y0 + d / 2, h + ridge),
            (x0 + w, y0 + d / 2, h + ridge),
        ];
        for (x, y, z) in pts {
            let _ = write!(vertices, "[{x},{y},{z}],");
        }
        let base = v;
        let k = |j: usize| base + j;
        let surfaces = [
            vec![k(0), k(3), k(2), k(1)],
            vec![k(0), k(1), k(5), k(4)],
            vec![k(2), k(3), k(7), k(6)],
            vec![k(1), k(2), k(6), k(9), k(5)],
            vec![k(3), k(0), k(4), k(8), k(7)],
            vec![k(4), k(5), k(9), k(8)],
            vec![k(6), k(7), k(8), k(9)],
        ];
        v += pts.len();
        let shell: Vec<String> = surfaces
            .iter()
            .map(|s| format!("[[{}]]", s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")))
            .collect();
        let parent = if i % 10 == 0 { format!(r#","children":["b{i}-part"]"#) } else { String::new() };
        let _ = write!(
            objects,
            r#""b{i}":{{"type":"Building","attributes":{{"measuredHeight":{},"yearOfConstruction":{},"function":"residential","name":"building {i}"}}{parent},
"geometry":[{{"type":"Solid","lod":"2.2","boundaries":[[{}]],
"semantics":{{"surfaces":[{{"type":"GroundSurface"}},{{"type":"WallSurface"}},{{"type":"RoofSurface"}}],"values":[[0,1,1,1,1,2,2]]}}}}]}},"#,
            (h + ridge) as f64 / 1000.0,
            1900 + i % 120,
            shell.join(",")
        );
        if i % 10 == 0 {
            // A BuildingPart: a small annex with an LoD1 block of the same ground.
            let _ = write!(
                objects,
                r#""b{i}-part":{{"type":"BuildingPart","parents":["b{i}"],"attributes":{{"function":"annex"}},
"geometry":[{{"type":"MultiSurface","lod":"1","boundaries":[[[{},{},{},{}]]]}}]}},"#,
                k(0),
                k(1),
                k(2),
                k(3)
            );
        }
    }
    objects.pop();
    vertices.pop();
    format!(
        r#"{{"type":"CityJSON","version":"2.0","transform":{{"scale":[0.001,0.001,0.001],"translate":[84000,446000,0]}},
"metadata":{{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/7415"}},
"CityObjects":{{{objects}}},"vertices":[{vertices}]}}"#
    )
}

/// An IFC4 file of `n` products under one storey, in metres.
fn synthetic_ifc(n: usize) -> String {
    let mut s = String::from(
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('bench'),'2;1');\nFILE_NAME('bench.ifc','',(''),(''),'','','');\nFILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n\
#1=IFCPROJECT('0YvctVUKr0kugbFTf53O9L',$,'Bench',$,$,$,$,(#10),$);\n\
#10=IFCGEOMETRICREPRESENTATIONCONTEXT($,'Model',3,1.E-5,#11,$);\n#11=IFCAXIS2PLACEMENT3D(#12,$,$);\n#12=IFCCARTESIANPOINT((0.,0.,0.));\n#13=IFCDIRECTION((0.,0.,1.));\n#14=IFCCARTESIANPOINT((0.,0.));\n\
#20=IFCSITE('1BPCQAtTW7GhKrUF$Sytr1',$,'Site',$,$,#21,$,$,.ELEMENT.,(52,0,0,0),(4,30,0,0),0.,$,$);\n#21=IFCLOCALPLACEMENT($,#11);\n\
#22=IFCBUILDING('0cVTYHAI3nGeTXA2X4Gxy1',$,'Building',$,$,#23,$,$,.ELEMENT.,$,$,$);\n#23=IFCLOCALPLACEMENT(#21,#11);\n\
#24=IFCBUILDINGSTOREY('3_fv_WeK63IPclwapZa9M1',$,'Storey',$,$,#25,$,$,.ELEMENT.,0.);\n#25=IFCLOCALPLACEMENT(#23,#11);\n\
#30=IFCRELAGGREGATES('2vOmTZNmbvJAJRbSGMMN01',$,$,$,#1,(#20));\n#31=IFCRELAGGREGATES('2vOmTZNmbvJAJRbSGMMN02',$,$,$,#20,(#22));\n#32=IFCRELAGGREGATES('2vOmTZNmbvJAJRbSGMMN03',$,$,$,#22,(#24));\n",
    );
    let mut contained = Vec::with_capacity(n);
    let guid = |i: usize, salt: u8| {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$";
        let mut g = vec![b'0'; 22];
        let mut x = (i as u64) * 4 + salt as u64;
        for c in g.iter_mut().rev() {
            *c = A[(x % 64) as usize];
            x /= 64;
        }
        String::from_utf8(g).unwrap_or_default()
    };
    for i in 0..n {
        let id = 100 + i * 12;
        let (x, y) = ((i % 250) as f64 * 5.0, (i / 250) as f64 * 5.0);
        let (class, profile) = match i % 3 {
            0 => ("IFCWALL", format!("IFCRECTANGLEPROFILEDEF(.AREA.,$,#{},4.,0.25)", id + 8)),
            1 => ("IFCCOLUMN", format!("IFCCIRCLEPROFILEDEF(.AREA.,$,#{},0.3)", id + 8)),
            _ => ("IFCSLAB", format!("IFCRECTANGLEPROFILEDEF(.AREA.,$,#{},4.5,4.5)", id + 8)),
        };
        let _ = write!(
            s,
            "#{id}={class}('{}',$,'element {i}',$,$,#{},#{},'T-{i}',$);\n\
#{}=IFCLOCALPLACEMENT(#25,#{});\n#{}=IFCAXIS2PLACEMENT3D(#{},$,$);\n#{}=IFCCARTESIANPOINT(({x:.1},{y:.1},0.));\n\
#{}=IFCPRODUCTDEFINITIONSHAPE($,$,(#{}));\n#{}=IFCSHAPEREPRESENTATION(#10,'Body','SweptSolid',(#{}));\n\
#{}=IFCEXTRUDEDAREASOLID(#{},$,#13,3.);\n#{}={profile};\n#{}=IFCAXIS2PLACEMENT2D(#14,$);\n\
#{}=IFCPROPERTYSINGLEVALUE('FireRating',$,IFCLABEL('REI{}'),$);\n#{}=IFCPROPERTYSET('{}',$,'Pset_Common',$,(#{}));\n\
#{}=IFCRELDEFINESBYPROPERTIES('{}',$,$,$,(#{id}),#{});\n",
            guid(i, 0),
            id + 1,
            id + 4,
            id + 1,
            id + 2,
            id + 2,
            id + 3,
            id + 3,
            id + 4,
            id + 5,
            id + 5,
            id + 6,
            id + 6,
            id + 7,
            id + 7,
            id + 8,
            id + 9,
            30 + (i % 4) * 30,
            id + 10,
            guid(i, 1),
            id + 9,
            id + 11,
            guid(i, 2),
            id + 10,
        );
        contained.push(format!("#{id}"));
    }
    let _ = write!(
        s,
        "#99=IFCRELCONTAINEDINSPATIALSTRUCTURE('2lLFgu3KhSGw4jMC3$Ak01',$,$,$,({}),#24);\nENDSEC;\nEND-ISO-10303-21;\n",
        contained.join(",")
    );
    s
}

/// `cargo bench` passes `--bench`; under `cargo test` (debug, each
/// benchmark run once as a smoke test) the large workloads are scaled down.
fn full_size() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-bench-gis-bim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is missing", p.display());
        None
    }
}

fn bench_file(c: &mut Criterion, group: &str, name: &str, path: &Path, samples: usize) {
    let bytes = std::fs::metadata(path).expect("stat").len();
    let (model, _) = urbis_model::open_city(&[path.to_path_buf()]).expect("load");
    let features = model.feature_count() as u64;
    let mb = bytes as f64 / 1e6;
    eprintln!("{group}/{name}: {features} features, {mb:.2} MB");
    drop(model);
    let mut g = c.benchmark_group(group);
    g.sample_size(samples).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::ElementsAndBytes { elements: features, bytes });
    g.bench_function(name, |b| {
        b.iter(|| {
            let (model, _) = urbis_model::open_city(&[path.to_path_buf()]).expect("load");
            model.feature_count()
        })
    });
    g.finish();
}

fn cityjson(c: &mut Criterion) {
    for (rel, name) in [
        ("cityjson/cjio/rotterdam/rotterdam_subset.json", "rotterdam_subset"),
        ("cityjson/cjio/DH_01_subs.city.json", "den_haag"),
    ] {
        if let Some(p) = shared(rel) {
            bench_file(c, "cityjson_to_entities", name, &p, 30);
        }
    }
    let dir = scratch();
    let big = if full_size() { 100_000 } else { 2_000 };
    for (n, name, samples) in [(570, "synthetic_570", 30), (big, "synthetic_100k", 10)] {
        let p = dir.join(format!("{name}.city.json"));
        std::fs::write(&p, synthetic_city(n)).expect("write");
        bench_file(c, "cityjson_to_entities", name, &p, samples);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn ifc(c: &mut Criterion) {
    let n = if full_size() { 50_000 } else { 1_000 };
    let text = synthetic_ifc(n);
    let dir = scratch();
    let p = dir.join("bench_50k.ifc");
    std::fs::write(&p, &text).expect("write");
    let doc = urbis_formats::ifc::parse(text.as_bytes(), "bench_50k.ifc").expect("parse");
    let with_mesh = doc.elements.iter().filter(|e| e.mesh.is_some()).count();
    eprintln!("ifc_50k: {} products ({with_mesh} with a body), {:.1} MB", doc.elements.len(), text.len() as f64 / 1e6);
    assert!(with_mesh >= n, "every product has a body");
    let mut g = c.benchmark_group("ifc_elements");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::ElementsAndBytes { elements: doc.elements.len() as u64, bytes: text.len() as u64 });
    g.bench_function("parse_50k", |b| {
        b.iter(|| urbis_formats::ifc::parse(text.as_bytes(), "bench_50k.ifc").expect("parse").elements.len())
    });
    g.finish();
    bench_file(c, "ifc_elements", "to_entities_50k", &p, 10);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, cityjson, ifc);
criterion_main!(benches);
