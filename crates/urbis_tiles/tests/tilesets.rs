//! Tile trees of the Cesium 3D Tiles samples in `../shared/data/3dtiles`:
//! tile and content counts from the files, implicit availability against
//! the subtree files, metadata, the missing dragon tile, and hostile tilesets.

mod shared;

use std::collections::{BTreeSet, HashSet};

use glam::DVec3;
use serde_json::Value;
use urbis_tiles::{TileTree, View, load_selection, select};

fn json(rel: &str) -> Option<(std::path::PathBuf, Value)> {
    let p = shared::shared(rel)?;
    let v = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    Some((p, v))
}

/// Counts tiles and contents of explicit tileset JSON, independently of urbis_tiles.
fn count(t: &Value) -> (usize, usize) {
    let own = t.get("content").is_some() as usize + t.get("contents").and_then(Value::as_array).map_or(0, Vec::len);
    t.get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(count)
        .fold((1, own), |(a, b), (c, d)| (a + c, b + d))
}

/// A view looking at a point from `distance` metres along +x of its frame.
fn view_at(target: DVec3, from: DVec3) -> View {
    let direction = (target - from).normalize();
    let helper = if direction.z.abs() < 0.9 { DVec3::Z } else { DVec3::X };
    let up = direction.cross(helper).cross(direction).normalize() * -1.0;
    View {
        position: from,
        direction,
        up,
        fov_y: 60f64.to_radians(),
        aspect: 1.5,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

#[test]
fn explicit_tilesets_have_the_tiles_and_contents_of_their_files() {
    for rel in [
        "3dtiles/1.0/TilesetWithDiscreteLOD/tileset.json",
        "3dtiles/1.1/MetadataGranularities/tileset.json",
        "3dtiles/1.1/MultipleContents/tileset.json",
        "3dtiles/1.1/TilesetWithFullMetadata/tileset.json",
        "3dtiles/1.1/BoundingBoxTests/0_0_0-1_1_2/tileset.json",
        "3dtiles/1.1/BoundingBoxTests/2_0_0-4_1_1/tileset.json",
    ] {
        let Some((path, v)) = json(rel) else { continue };
        let tree = TileTree::open(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let (tiles, contents) = count(&v["root"]);
        assert_eq!((tree.len(), tree.content_count()), (tiles, contents), "{rel}");
        assert!(tree.errors.is_empty(), "{rel}: {:?}", tree.errors);
        assert_eq!(tree.version, v["asset"]["version"].as_str().expect("version"));
    }
}

#[test]
fn metadata_granularities_keep_tileset_group_tile_and_content_metadata() {
    let Some((path, v)) = json("3dtiles/1.1/MetadataGranularities/tileset.json") else { return };
    let tree = TileTree::open(&path).expect("open");
    let schema = tree.schema.as_ref().expect("schema");
    assert_eq!(schema.classes.len(), v["schema"]["classes"].as_object().expect("classes").len());
    let md = tree.metadata.as_ref().expect("tileset metadata");
    assert_eq!(md.class, v["metadata"]["class"].as_str().expect("class"));
    assert_eq!(Value::Object(md.properties.clone()), v["metadata"]["properties"]);
    assert_eq!(tree.groups.len(), v["groups"].as_array().expect("groups").len());
    // Every content with metadata or a group in the file has it in the tree, in file order.
    let mut file_contents = Vec::new();
    fn walk(t: &Value, out: &mut Vec<Value>) {
        if let Some(c) = t.get("content") {
            out.push(c.clone());
        }
        for c in t.get("contents").and_then(Value::as_array).into_iter().flatten() {
            out.push(c.clone());
        }
        for ch in t.get("children").and_then(Value::as_array).into_iter().flatten() {
            walk(ch, out);
        }
    }
    walk(&v["root"], &mut file_contents);
    let tree_contents: Vec<_> = tree.nodes.iter().flat_map(|n| n.contents.iter()).collect();
    assert_eq!(tree_contents.len(), file_contents.len());
    for (ours, theirs) in tree_contents.iter().zip(&file_contents) {
        assert_eq!(ours.uri, theirs["uri"].as_str().expect("uri"));
        assert_eq!(ours.group, theirs.get("group").and_then(Value::as_u64).map(|g| g as usize));
        assert_eq!(
            ours.metadata.as_ref().map(|m| Value::Object(m.properties.clone())),
            theirs.get("metadata").map(|m| m["properties"].clone())
        );
    }
    let tiles_with_metadata = tree.nodes.iter().filter(|n| n.metadata.is_some()).count();
    assert!(tiles_with_metadata > 0, "tile metadata kept");
}

#[test]
fn sparse_implicit_quadtree_matches_its_subtrees() {
    let Some(path) = shared::shared("3dtiles/1.1/SparseImplicitQuadtree/tileset.json") else { return };
    let tree = TileTree::open(&path).expect("open");
    assert!(tree.errors.is_empty(), "{:?}", tree.errors);
    // The content files that exist are exactly the contents the availability yields.
    let dir = path.parent().expect("dir").join("content");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("content dir")
        .map(|e| format!("content/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    let uris: BTreeSet<String> = tree.nodes.iter().flat_map(|n| n.contents.iter().map(|c| c.uri.clone())).collect();
    assert_eq!(uris, files);
    assert_eq!(uris.len(), 32, "the README states 32 tiles with content at level 5");
    // Available tiles are exactly the content tiles and their ancestors (README).
    let mut expected: HashSet<(u32, u64, u64)> = HashSet::new();
    for n in tree.nodes.iter().filter(|n| !n.contents.is_empty()) {
        let c = n.implicit.expect("implicit coordinate");
        assert_eq!(c.level, 5);
        for up in 0..=5 {
            expected.insert((5 - up, c.x >> up, c.y >> up));
        }
    }
    let got: HashSet<(u32, u64, u64)> =
        tree.nodes.iter().map(|n| n.implicit.expect("coord")).map(|c| (c.level, c.x, c.y)).collect();
    assert_eq!(got, expected);
    // Geometric error halves per level from the root's 32.
    for n in &tree.nodes {
        let c = n.implicit.expect("coord");
        assert!((n.geometric_error - 32.0 / f64::from(1u32 << c.level)).abs() < 1e-12);
        // Child boxes lie inside their parent's.
        if let (Some(p), urbis_tiles::Volume::Box { center, half_axes }) = (n.parent, n.volume) {
            for s in [(-1.0, -1.0, -1.0), (1.0, -1.0, -1.0), (-1.0, 1.0, 1.0), (1.0, 1.0, 1.0)] {
                let corner = center + half_axes * DVec3::new(s.0, s.1, s.2);
                assert!(tree.get(p).volume.distance(corner) < 1e-9, "tile {c:?} leaves its parent");
            }
        }
    }
}

#[test]
fn the_missing_dragon_is_reported_and_its_parent_stays() {
    let Some(path) = shared::shared("3dtiles/1.0/TilesetWithDiscreteLOD/tileset.json") else { return };
    let tree = TileTree::open(&path).expect("open");
    let (center, radius) = tree.get(tree.root()).volume.bounding_sphere();
    // Close enough that full detail is wanted.
    let up = center.normalize();
    let side = up.cross(DVec3::Z).normalize();
    let view = view_at(center, center + side * radius * 0.9 + up * radius * 0.2);
    let wanted = select(&tree, &view, &HashSet::new());
    let wanted_uris: Vec<_> =
        wanted.tiles.iter().flat_map(|t| tree.get(*t).contents.iter().map(|c| c.uri.clone())).collect();
    assert_eq!(wanted_uris, vec!["dragon_high.b3dm"]);
    let (loaded, failures) = load_selection(&tree, &view);
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].uri, "dragon_high.b3dm");
    assert!(failures[0].error.contains("dragon_high.b3dm"), "{}", failures[0].error);
    let shown: Vec<_> = loaded.iter().map(|l| l.uri.as_str()).collect();
    assert_eq!(shown, vec!["dragon_medium.b3dm"], "the parent of the missing tile stays");
    // Far away, the low LOD alone.
    let far = view_at(center, center + side * radius * 400.0);
    let (loaded, failures) = load_selection(&tree, &far);
    assert!(failures.is_empty());
    assert_eq!(loaded.iter().map(|l| l.uri.as_str()).collect::<Vec<_>>(), vec!["dragon_low.b3dm"]);
}

#[test]
fn hostile_tilesets_are_refused_or_contained() {
    let dir = std::env::temp_dir().join(format!("urbis-hostile-tiles-{}", std::process::id()));
    let sub = dir.join("set");
    std::fs::create_dir_all(&sub).expect("dir");
    let bv = r#"{"sphere":[0,0,0,10]}"#;
    let write = |name: &str, text: &str| std::fs::write(sub.join(name), text).expect("write");
    // Escaping URIs are refused, and the rest of the tileset stays.
    write(
        "escape.json",
        &format!(
            r#"{{"asset":{{"version":"1.1"}},"geometricError":1,"root":{{"boundingVolume":{bv},"geometricError":1,"children":[
        {{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"../../etc/passwd"}}}},
        {{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"/etc/passwd"}}}},
        {{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"file:///etc/passwd"}}}},
        {{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"ok.glb"}}}}]}}}}"#
        ),
    );
    let tree = TileTree::open(&sub.join("escape.json")).expect("open");
    assert_eq!(tree.content_count(), 1);
    assert_eq!(tree.errors.len(), 3, "{:?}", tree.errors);
    assert!(tree.errors.iter().all(|e| e.contains("refused") || e.contains("leaves")), "{:?}", tree.errors);
    // External tilesets that reference each other: reported, no hang.
    write(
        "a.json",
        &format!(
            r#"{{"asset":{{"version":"1.0"}},"geometricError":1,"root":{{"boundingVolume":{bv},"geometricError":1,"content":{{"uri":"b.json"}}}}}}"#
        ),
    );
    write(
        "b.json",
        &format!(
            r#"{{"asset":{{"version":"1.0"}},"geometricError":1,"root":{{"boundingVolume":{bv},"geometricError":1,"content":{{"uri":"a.json"}}}}}}"#
        ),
    );
    let tree = TileTree::open(&sub.join("a.json")).expect("open");
    assert_eq!(tree.len(), 2);
    assert!(tree.errors.iter().any(|e| e.contains("cycle")), "{:?}", tree.errors);
    // A missing external tileset is reported; its sibling survives.
    write(
        "missing.json",
        &format!(
            r#"{{"asset":{{"version":"1.0"}},"geometricError":1,"root":{{"boundingVolume":{bv},"geometricError":1,"children":[
        {{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"nowhere.json"}}}},{{"boundingVolume":{bv},"geometricError":0,"content":{{"uri":"x.b3dm"}}}}]}}}}"#
        ),
    );
    let tree = TileTree::open(&sub.join("missing.json")).expect("open");
    assert_eq!(tree.content_count(), 1);
    assert!(tree.errors.iter().any(|e| e.contains("nowhere.json")), "{:?}", tree.errors);
    // Nested 10,000 deep: an error naming the file, not a stack overflow.
    let deep = format!(
        r#"{{"asset":{{"version":"1.0"}},"geometricError":1,"root":{}{}}}"#,
        r#"{"boundingVolume":{"sphere":[0,0,0,1]},"geometricError":1,"children":["#.repeat(10_000),
        "]}".repeat(10_000)
    );
    write("deep.json", &deep);
    let e = TileTree::open(&sub.join("deep.json")).expect_err("deep").to_string();
    assert!(e.contains("deep.json"), "{e}");
    // Broken JSON names the JSON path.
    write(
        "bad.json",
        r#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"boundingVolume":{"box":[1,2]},"geometricError":1}}"#,
    );
    let e = TileTree::open(&sub.join("bad.json")).expect_err("bad").to_string();
    assert!(e.contains("bad.json") && e.contains("root.boundingVolume.box"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
