//! The hand-written glTF JSON reader against serde_json on every glTF and
//! GLB of the shared samples: both accept the same files, and the arrays
//! Urbis reads by hand have the lengths and members serde sees.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use urbis_formats::gltf::{self, json::Root};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "gltf" || x == "glb") {
            out.push(p);
        }
    }
}

#[test]
fn hand_reader_agrees_with_serde_on_the_shared_samples() {
    let mut paths = Vec::new();
    for rel in ["gltf", "3dtiles"] {
        if let Some(dir) = support::shared(rel) {
            files(&dir, &mut paths);
        }
    }
    if paths.is_empty() {
        // Only where the shared data is absent and not required (support::shared printed the skip).
        assert!(!std::env::var("URBIS_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1"), "no glTF files found");
        return;
    }
    // The shared samples hold 71 glTF and GLB documents; a lost folder must not pass quietly.
    assert!(paths.len() >= 71, "only {} glTF/GLB files found", paths.len());
    for p in &paths {
        let bytes = std::fs::read(p).expect("read");
        let json = if bytes.starts_with(gltf::GLB_MAGIC) { gltf::parse_glb(&bytes).expect("glb").json } else { &bytes };
        let tree: Value = serde_json::from_slice(json).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let root = Root::read(json).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let len = |k: &str| tree.get(k).and_then(Value::as_array).map_or(0, Vec::len);
        assert_eq!(root.accessors.len(), len("accessors"), "{}", p.display());
        assert_eq!(root.buffer_views.len(), len("bufferViews"), "{}", p.display());
        assert_eq!(root.meshes.len(), len("meshes"), "{}", p.display());
        assert_eq!(root.nodes.len(), len("nodes"), "{}", p.display());
        for (i, a) in root.accessors.iter().enumerate() {
            let t = &tree["accessors"][i];
            assert_eq!(Some(a.count), t["count"].as_u64(), "{} accessor {i}", p.display());
            assert_eq!(Some(u64::from(a.component_type)), t["componentType"].as_u64());
            assert_eq!(a.buffer_view.map(|v| v as u64), t["bufferView"].as_u64());
            assert_eq!(a.byte_offset, t["byteOffset"].as_u64().unwrap_or(0));
            assert_eq!(
                a.kind.components(),
                gltf::accessor::component_count(t["type"].as_str().expect("type")).expect("kind")
            );
            assert_eq!(a.sparse.is_some(), t.get("sparse").is_some());
        }
        for (i, m) in root.meshes.iter().enumerate() {
            let prims = tree["meshes"][i]["primitives"].as_array().expect("primitives");
            assert_eq!(m.primitives.len(), prims.len());
            for (pm, pt) in m.primitives.iter().zip(prims) {
                let attrs = pt["attributes"].as_object().expect("attributes");
                assert_eq!(pm.attributes.iter().count(), attrs.len());
                for (k, v) in attrs {
                    assert_eq!(pm.attributes.get(k).map(|a| a as u64), v.as_u64(), "{} {k}", p.display());
                }
                assert_eq!(pm.indices.map(|v| v as u64), pt["indices"].as_u64());
                assert_eq!(pm.mode as u64, pt["mode"].as_u64().unwrap_or(4));
                assert_eq!(pm.extensions.len(), pt.get("extensions").and_then(Value::as_object).map_or(0, |o| o.len()));
            }
        }
        for (i, n) in root.nodes.iter().enumerate() {
            let t = &tree["nodes"][i];
            assert_eq!(n.mesh.map(|v| v as u64), t["mesh"].as_u64());
            assert_eq!(n.children.len(), t.get("children").and_then(Value::as_array).map_or(0, Vec::len));
            if let Some(tr) = t.get("translation").and_then(Value::as_array) {
                let want: Vec<f64> = tr.iter().map(|v| v.as_f64().expect("number")).collect();
                assert_eq!(n.translation.to_vec(), want, "{} node {i}", p.display());
            }
            assert_eq!(n.matrix.is_some(), t.get("matrix").is_some());
        }
    }
    eprintln!("{} glTF documents read alike", paths.len());
}

#[test]
fn json_errors_name_the_file_offset_and_path() {
    let text = br#"{"asset":{"version":"2.0"},"accessors":[{"componentType":5126,"count":4,"type":"VEC3"},{"componentType":5126,"count":-4,"type":"VEC3"}]}"#;
    let e = gltf::parse(text, "bad.gltf", &gltf::NoResources).expect_err("negative count").to_string();
    let at = text.windows(2).position(|w| w == b"-4").expect("offset");
    assert!(e.contains("bad.gltf") && e.contains(&format!("at byte {at}")) && e.contains("/accessors/1/count"), "{e}");
    let missing = br#"{"accessors":[{"componentType":5126,"count":4}]}"#;
    let e = gltf::parse(missing, "m.gltf", &gltf::NoResources).expect_err("no type").to_string();
    assert!(e.contains("/accessors/0") && e.contains("missing member `type`"), "{e}");
}

#[test]
fn empty_objects_cannot_blow_memory_up() {
    // `[{},{},…]` costs 3 bytes a primitive or node; what it decodes to must
    // stay within the reader's budget of 64× the document (plus 1 MiB).
    for (member, size) in
        [("meshes\":[{\"primitives\"", size_of::<gltf::json::Primitive>()), ("nodes\"", size_of::<gltf::json::Node>())]
    {
        let n = 1_000_000;
        let text = format!(
            "{{\"{member}:[{}{{}}]{}}}",
            "{},".repeat(n - 1),
            if member.starts_with("meshes") { "}]" } else { "" }
        );
        let budget = gltf::json_reader::MEMORY_PER_INPUT_BYTE * text.len() + (1 << 20);
        match Root::read(text.as_bytes()) {
            Ok(root) => {
                let decoded = root.meshes.iter().map(|m| m.primitives.len()).sum::<usize>() + root.nodes.len();
                assert_eq!(decoded, n);
                assert!(n * size <= budget, "{member}: {n} × {size} bytes decoded past the budget of {budget}");
                eprintln!("{member}: {n} elements of {size} bytes decoded within the budget");
            }
            Err(e) => {
                eprintln!("{member}: {n} elements of {size} bytes refused: {e}");
                assert!(n * size > budget, "{member}: refused within budget: {e}");
                assert!(e.msg.contains("64× the document"), "{e}");
            }
        }
    }
}

#[test]
fn attributes_are_named_numbered_and_bounded() {
    let text = br#"{"meshes":[{"primitives":[{"attributes":{"POSITION":3,"_HEIGHT":7,"TEXCOORD_0":4,"_HEIGHT":8,"NORMAL":5}}]}]}"#;
    let root = Root::read(text).expect("read");
    let a = &root.meshes[0].primitives[0].attributes;
    // File order kept, a repeated name keeps its last value.
    let names: Vec<(&str, usize)> = a.iter().collect();
    assert_eq!(names, [("POSITION", 3), ("_HEIGHT", 8), ("TEXCOORD_0", 4), ("NORMAL", 5)]);
    assert_eq!(a.get("_HEIGHT"), Some(8));
    assert_eq!(a.get_common(gltf::json::Common::TexCoord0), Some(4));
    assert_eq!(a.get("TEXCOORD_1"), None);
    // Thousands of distinct names would cost quadratic time to match: refused.
    let n = gltf::json::MAX_ATTRIBUTES + 1;
    let many: Vec<String> = (0..n).map(|i| format!("\"_A{i}\":0")).collect();
    let text = format!(r#"{{"meshes":[{{"primitives":[{{"attributes":{{{}}}}}]}}]}}"#, many.join(","));
    let e = Root::read(text.as_bytes()).expect_err("too many attributes");
    assert!(e.msg.contains("attributes") && e.path.starts_with("/meshes/0/primitives/0/attributes"), "{e}");
}
