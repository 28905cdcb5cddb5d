//! Architecture invariants (ARCHITECTURE.md), checked over `cargo metadata`.
//!
//! Dependencies are followed transitively through normal and build
//! dependencies (dev-dependencies do not ship), so a crate that pulls wgpu
//! in through a helper crate breaks the invariant just as a direct
//! dependency would.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// crate name → names of its normal/build dependencies (packages).
type Graph = BTreeMap<String, BTreeSet<String>>;

fn workspace_graph() -> (Graph, BTreeSet<String>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let names: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id").to_string(), p["name"].as_str().expect("name").to_string()))
        .collect();
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|id| names[id.as_str().expect("id")].clone())
        .collect();
    let mut graph = Graph::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve") {
        let name = names[node["id"].as_str().expect("id")].clone();
        let deps = graph.entry(name).or_default();
        for d in node["deps"].as_array().expect("deps") {
            let shipped = d["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if shipped {
                deps.insert(names[d["pkg"].as_str().expect("pkg")].clone());
            }
        }
    }
    (graph, members)
}

fn reaches(graph: &Graph, from: &str, target: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        for d in graph.get(&n).into_iter().flatten() {
            if d == target {
                return true;
            }
            stack.push(d.clone());
        }
    }
    false
}

/// The invariants: for each forbidden dependency, the crates allowed to have it.
fn violations(graph: &Graph, members: &BTreeSet<String>) -> Vec<String> {
    let rules: [(&str, &[&str]); 4] = [
        ("wgpu", &["urbis_render", "urbis_engine", "urbis_app", "urbis_ui"]),
        ("winit", &["urbis_engine", "urbis_app"]),
        (
            "bevy_ecs",
            &["urbis_model", "urbis_engine", "urbis_app", "urbis_live", "urbis_sim", "urbis_export", "urbis_ui"],
        ),
        ("urbis_model", &["urbis_engine", "urbis_app", "urbis_live", "urbis_sim", "urbis_export", "urbis_ui"]),
    ];
    let mut out = Vec::new();
    for (dep, allowed) in rules {
        for m in members {
            if !allowed.contains(&m.as_str()) && reaches(graph, m, dep) {
                out.push(format!("{m} depends on {dep}; only {} may", allowed.join(", ")));
            }
        }
    }
    out
}

#[test]
fn workspace_respects_the_architecture_invariants() {
    let (graph, members) = workspace_graph();
    for required in ["urbis_geo", "urbis_formats", "urbis_model", "urbis_render", "urbis_engine", "urbis_app"] {
        assert!(members.contains(required), "workspace lacks {required}");
    }
    let v = violations(&graph, &members);
    assert!(v.is_empty(), "architecture invariants broken:\n{}", v.join("\n"));
    // Spelled out for the crates ARCHITECTURE.md names.
    assert!(!reaches(&graph, "urbis_render", "bevy_ecs"), "render must not depend on bevy_ecs");
    assert!(!reaches(&graph, "urbis_export", "wgpu"), "export writes files, no GPU");
    assert!(!reaches(&graph, "urbis_ui", "winit"), "the panels take egui input, not window events");
    assert!(!reaches(&graph, "urbis_ui", "urbis_engine"), "the engine shows the panels, not the other way round");
    for c in ["urbis_geo", "urbis_model", "urbis_formats", "urbis_tiles", "urbis_live", "urbis_sim"] {
        assert!(!reaches(&graph, c, "wgpu") && !reaches(&graph, c, "winit"), "{c} must not depend on wgpu or winit");
    }
    // The streaming runtime stays below the model: no ECS, no model, no GPU.
    assert!(members.contains("urbis_tiles"), "workspace lacks urbis_tiles");
    for dep in ["bevy_ecs", "urbis_model", "urbis_engine"] {
        assert!(!reaches(&graph, "urbis_tiles", dep), "urbis_tiles must not depend on {dep}");
    }
    assert!(members.contains("urbis_live"), "workspace lacks urbis_live");
    assert!(!reaches(&graph, "urbis_engine", "urbis_live"), "the engine must not depend on urbis_live");
    // The wall's geometry, overlays and protocol run on any node, with no GPU, window or model.
    assert!(members.contains("urbis_wall"), "workspace lacks urbis_wall");
    for dep in ["wgpu", "winit", "bevy_ecs", "urbis_model", "urbis_engine"] {
        assert!(!reaches(&graph, "urbis_wall", dep), "urbis_wall must not depend on {dep}");
    }
    // History is plain rows: no GPU, window, ECS or model.
    assert!(members.contains("urbis_store"), "workspace lacks urbis_store");
    for dep in ["wgpu", "winit", "bevy_ecs", "urbis_model"] {
        assert!(!reaches(&graph, "urbis_store", dep), "urbis_store must not depend on {dep}");
    }
    assert!(reaches(&graph, "urbis_render", "wgpu"), "sanity: render does use wgpu");
}

#[test]
fn the_checker_catches_a_violation() {
    // A synthetic graph in which geo reaches wgpu through a helper and render reaches bevy_ecs.
    let mut g = Graph::new();
    g.entry("urbis_geo".into()).or_default().insert("helper".into());
    g.entry("helper".into()).or_default().insert("wgpu".into());
    g.entry("urbis_render".into()).or_default().insert("bevy_ecs".into());
    let members: BTreeSet<String> = ["urbis_geo", "urbis_render", "helper"].iter().map(|s| s.to_string()).collect();
    let v = violations(&g, &members);
    assert!(v.iter().any(|s| s.starts_with("urbis_geo depends on wgpu")), "{v:?}");
    assert!(v.iter().any(|s| s.starts_with("urbis_render depends on bevy_ecs")), "{v:?}");
}

#[test]
fn architecture_md_states_the_invariants() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md");
    for needle in ["Architecture invariant", "wgpu", "winit", "bevy_ecs"] {
        assert!(text.contains(needle), "ARCHITECTURE.md does not mention `{needle}`");
    }
}
