//! The glTF reader against the public samples in `../shared/data/gltf`:
//! geometry equals the `gltf` crate's reading of the same files, and feature
//! IDs and metadata equal the values the samples' READMEs state.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use urbis_formats::gltf::{self, FeatureIdSource, MetadataValue, StructuralMetadata};

const SAMPLES: [&str; 10] = [
    "gltf/EXT_mesh_features/FeatureIdAttribute/FeatureIdAttribute.gltf",
    "gltf/EXT_mesh_features/FeatureIdTexture/FeatureIdTexture.gltf",
    "gltf/EXT_structural_metadata/ComplexTypes/ComplexTypes.gltf",
    "gltf/EXT_structural_metadata/FeatureIdAttributeAndPropertyTable/FeatureIdAttributeAndPropertyTable.gltf",
    "gltf/EXT_structural_metadata/FeatureIdTextureAndPropertyTable/FeatureIdTextureAndPropertyTable.gltf",
    "gltf/EXT_structural_metadata/MultipleClasses/MultipleClasses.gltf",
    "gltf/EXT_structural_metadata/MultipleFeatureIdsAndProperties/MultipleFeatureIdsAndProperties.gltf",
    "gltf/EXT_structural_metadata/PropertyAttributesPointCloud/PropertyAttributesPointCloudTree.gltf",
    "gltf/EXT_structural_metadata/SharedPropertyTable/SharedPropertyTable.gltf",
    "gltf/EXT_structural_metadata/SimplePropertyTexture/SimplePropertyTexture.gltf",
];

fn load(rel: &str) -> Option<gltf::GltfModel> {
    let p = support::shared(rel)?;
    Some(gltf::read(&p).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

/// Positions and indices through the `gltf` crate, as an independent reference.
type Geometry = (Vec<[f32; 3]>, Option<Vec<u32>>);

fn reference(path: &Path) -> Vec<Geometry> {
    // Without validation: the crate rejects some attribute names the samples legitimately use.
    let bytes = std::fs::read(path).expect("read");
    let g = ::gltf::Gltf::from_slice_without_validation(&bytes).expect("gltf crate parse");
    let buffers = ::gltf::import_buffers(&g.document, path.parent(), g.blob.clone()).expect("gltf crate buffers");
    let doc = g.document;
    let mut out = Vec::new();
    for scene in doc.scenes() {
        let mut stack: Vec<::gltf::Node> = scene.nodes().collect();
        let mut order = Vec::new();
        while let Some(n) = stack.pop() {
            order.push(n.clone());
            stack.extend(n.children().collect::<Vec<_>>().into_iter().rev());
        }
        for n in order {
            if let Some(m) = n.mesh() {
                for p in m.primitives() {
                    let r = p.reader(|b| Some(&buffers[b.index()]));
                    let pos: Vec<[f32; 3]> = r.read_positions().expect("positions").collect();
                    let idx = r.read_indices().map(|i| i.into_u32().collect());
                    out.push((pos, idx));
                }
            }
        }
    }
    out
}

#[test]
fn every_sample_matches_the_gltf_crate_geometry() {
    let mut compared = 0;
    for rel in SAMPLES {
        let Some(path) = support::shared(rel) else { continue };
        let ours = gltf::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let theirs = reference(&path);
        assert_eq!(ours.primitives.len(), theirs.len(), "{rel}: primitive count");
        let mut ours_sorted: Vec<_> =
            ours.primitives.iter().map(|p| (p.positions.clone(), p.indices.clone())).collect();
        let mut theirs_sorted = theirs;
        let key = |x: &Geometry| format!("{:?}", x.0.first());
        ours_sorted.sort_by_key(key);
        theirs_sorted.sort_by_key(key);
        assert_eq!(ours_sorted, theirs_sorted, "{rel}: positions/indices differ from the gltf crate");
        assert!(!ours_sorted.is_empty() && ours_sorted.iter().all(|p| !p.0.is_empty()), "{rel}: no geometry");
        compared += 1;
    }
    eprintln!("{compared} of {} samples compared with the gltf crate", SAMPLES.len());
}

fn table(m: &StructuralMetadata, i: usize) -> &BTreeMap<String, Vec<MetadataValue>> {
    &m.property_tables[i].columns
}

fn floats(v: &[MetadataValue]) -> Vec<f64> {
    v.iter().map(|x| x.as_f64().expect("number")).collect()
}

fn vec3s(v: &[MetadataValue]) -> Vec<Vec<f64>> {
    v.iter()
        .map(|x| match x {
            MetadataValue::Array(a) => a.iter().map(|c| c.as_f64().expect("number")).collect(),
            other => panic!("not a vector: {other:?}"),
        })
        .collect()
}

#[test]
fn complex_types_decode_to_the_readme_values() {
    let Some(m) = load(SAMPLES[2]) else { return };
    let md = m.metadata.as_ref().expect("metadata");
    let t = table(md, 0);
    let arr = |k: &str| -> Vec<Vec<MetadataValue>> {
        t[k].iter()
            .map(|v| match v {
                MetadataValue::Array(a) => a.clone(),
                o => panic!("{k}: {o:?}"),
            })
            .collect()
    };
    // Normalised UINT8: raw / 255.
    let norm: Vec<Vec<f64>> = arr("example_variable_length_ARRAY_normalized_UINT8").iter().map(|r| floats(r)).collect();
    let raw = [vec![0, 255], vec![0, 128, 255], vec![0, 85, 170, 255], vec![0, 64, 128, 192, 255]];
    assert_eq!(norm.len(), raw.len(), "one array per feature");
    for (got, want) in norm.iter().zip(raw.iter()) {
        let want: Vec<f64> = want.iter().map(|&x| x as f64 / 255.0).collect();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }
    let bools: Vec<Vec<bool>> = arr("example_fixed_length_ARRAY_BOOLEAN")
        .iter()
        .map(|r| r.iter().map(|b| matches!(b, MetadataValue::Bool(true))).collect())
        .collect();
    let t_ = true;
    let f_ = false;
    assert_eq!(
        bools,
        vec![
            vec![t_, f_, t_, f_, t_, f_, t_, f_, t_, f_],
            vec![t_, t_, f_, f_, t_, t_, f_, f_, t_, t_],
            vec![f_, f_, t_, t_, f_, f_, t_, t_, f_, f_],
            vec![f_, t_, f_, t_, f_, t_, f_, t_, f_, t_],
        ]
    );
    let strings: Vec<Vec<String>> = arr("example_variable_length_ARRAY_STRING")
        .iter()
        .map(|r| {
            r.iter()
                .map(|s| match s {
                    MetadataValue::String(s) => s.clone(),
                    o => panic!("{o:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(strings[0], vec!["One"]);
    assert_eq!(strings[1], vec!["One", "Two"]);
    assert_eq!(strings[2], vec!["One", "Two", "Three"]);
    // The README prints "Theee" for row 3; the file is the reference, and says:
    assert_eq!(strings[3].len(), 4);
    assert_eq!((strings[3][0].as_str(), strings[3][1].as_str(), strings[3][3].as_str()), ("One", "Two", "Four"));
    let enums: Vec<Vec<String>> = arr("example_fixed_length_ARRAY_ENUM")
        .iter()
        .map(|r| {
            r.iter()
                .map(|s| match s {
                    MetadataValue::Enum(s) => s.clone(),
                    o => panic!("{o:?}"),
                })
                .collect()
        })
        .collect();
    let name = |i: usize| ["ExampleEnumValueA", "ExampleEnumValueB", "ExampleEnumValueC"][i].to_string();
    assert_eq!(
        enums,
        vec![vec![name(0), name(1)], vec![name(1), name(2)], vec![name(2), name(0)], vec![name(1), name(2)]]
    );
    // Feature IDs by attribute, 4 features.
    let ids = &m.primitives[0].feature_ids[0];
    assert_eq!((ids.feature_count, ids.property_table), (4, Some(0)));
    let FeatureIdSource::Attribute { set: 0, values } = &ids.source else { panic!("{:?}", ids.source) };
    assert!(!values.is_empty() && values.iter().all(|&v| v < 4), "{values:?}");
    assert_eq!(values.iter().copied().max(), Some(3), "all four features appear");
}

#[test]
fn property_tables_of_the_other_samples_match_their_readmes() {
    let close = |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    if let Some(m) = load(SAMPLES[3]) {
        let t = table(m.metadata.as_ref().expect("md"), 0);
        let v = vec3s(&t["example_VEC3_FLOAT32"]);
        let want = [[0.0, 0.1, 0.2], [1.0, 1.1, 1.2], [2.0, 2.1, 2.2], [3.0, 3.1, 3.2]];
        assert_eq!(v.len(), want.len(), "{v:?}");
        assert!(v.iter().zip(want.iter()).all(|(a, b)| close(a, b)), "{v:?}");
    }
    if let Some(m) = load(SAMPLES[4]) {
        let t = table(m.metadata.as_ref().expect("md"), 0);
        let comp: Vec<String> = t["component"]
            .iter()
            .map(|v| match v {
                MetadataValue::String(s) | MetadataValue::Enum(s) => s.clone(),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(comp, ["Wall", "Door", "Roof", "Window"]);
        assert!(close(&floats(&t["yearBuilt"]), &[1960.0, 1996.0, 1985.0, 2002.0]));
        assert!(matches!(m.primitives[0].feature_ids[0].source, FeatureIdSource::Texture { .. }));
    }
    if let Some(m) = load(SAMPLES[5]) {
        let md = m.metadata.as_ref().expect("md");
        let all: BTreeMap<String, Vec<MetadataValue>> =
            md.property_tables.iter().flat_map(|t| t.columns.clone()).collect();
        assert!(close(&floats(&all["example_FLOAT32"]), &[1.1, 2.2, 3.3, 4.4]));
        assert!(close(&floats(&all["example_INT64"]), &[1234567.0, 2345678.0, 3456789.0, 4567890.0]));
        assert!(close(&floats(&all["example_UINT16"]), &[12345.0, 23456.0, 34567.0, 45678.0]));
        assert!(close(&floats(&all["example_FLOAT64"]), &[1.234567, 2.345678, 3.456789, 4.567890]));
    }
    if let Some(m) = load(SAMPLES[6]) {
        let md = m.metadata.as_ref().expect("md");
        let all: BTreeMap<String, Vec<MetadataValue>> =
            md.property_tables.iter().flat_map(|t| t.columns.clone()).collect();
        let s: Vec<String> = all["example_STRING"]
            .iter()
            .map(|v| match v {
                MetadataValue::String(s) => s.clone(),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(s, ["Rain 🌧", "Thunder ⛈", "Sun ☀", "Snow 🌨"]);
        assert!(m.primitives[0].feature_ids.len() >= 2, "several feature ID sets");
    }
    if let Some(m) = load(SAMPLES[7]) {
        let md = m.metadata.as_ref().expect("md");
        assert!(!md.property_attributes.is_empty(), "property attributes");
        assert!(m.primitives.iter().any(|p| !p.property_attributes.is_empty()));
        assert_eq!(m.primitives[0].mode, gltf::PrimitiveMode::Points);
    }
    if let Some(m) = load(SAMPLES[9]) {
        let md = m.metadata.as_ref().expect("md");
        assert!(!md.property_textures.is_empty(), "property textures");
    }
}

#[test]
fn hostile_gltf_is_an_error_not_a_panic() {
    let deep = "[".repeat(10_000);
    let cases: [(&str, &[u8]); 6] = [
        ("truncated.glb", b"glTF\x02\x00\x00\x00\xff\xff\x00\x00"),
        ("deep.gltf", deep.as_bytes()),
        ("notjson.gltf", b"{\"asset\": "),
        ("badaccessor.gltf", br#"{"asset":{"version":"2.0"},"buffers":[{"byteLength":4,"uri":"data:application/octet-stream;base64,AAAAAA=="}],"bufferViews":[{"buffer":0,"byteLength":4}],"accessors":[{"bufferView":0,"componentType":5126,"count":1000000000,"type":"VEC3"}],"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],"nodes":[{"mesh":0}]}"#),
        ("nodata.gltf", br#"{"asset":{"version":"2.0"},"accessors":[{"componentType":5126,"count":4000000000,"type":"VEC3"}],"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],"nodes":[{"mesh":0}]}"#),
        ("draco.gltf", br#"{"asset":{"version":"2.0"},"extensionsRequired":["KHR_draco_mesh_compression"]}"#),
    ];
    for (name, bytes) in cases {
        let e = gltf::parse(bytes, name, &gltf::NoResources).expect_err(name).to_string();
        assert!(e.contains(name), "{name}: {e}");
    }
    let e = gltf::parse(
        br#"{"asset":{"version":"2.0"},"extensionsRequired":["KHR_draco_mesh_compression"]}"#,
        "d.gltf",
        &gltf::NoResources,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unsupported: Draco"), "{e}");
    let cyc = br#"{"asset":{"version":"2.0"},"nodes":[{"children":[1]},{"children":[0]}],"scenes":[{"nodes":[0]}]}"#;
    assert!(gltf::parse(cyc, "cycle.gltf", &gltf::NoResources).is_err());
}
