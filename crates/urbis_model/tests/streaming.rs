//! Streamed tilesets in the model: tiles become feature entities (one per
//! building, with its property-table row), evicted tiles' entities leave
//! the ECS and its lookup tables, queries see exactly what is loaded, and
//! meshes and feature indices are reused rather than growing without bound.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use urbis_geo::CityFrame;
use urbis_model::{Bounds, CityModel, FeatureId, FeatureQuery, StreamedTileset};
use urbis_sample_city::SampleTiles;
use urbis_tiles::{StreamOptions, TileId, View};

fn write(t: &SampleTiles, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-model-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.write(&dir, |_| {}).expect("write");
    dir.join("tileset.json")
}

fn view(t: &SampleTiles, east: f64, north: f64, height: f64, pitch: f64) -> View {
    let frame = CityFrame::new(t.origin);
    let r = frame.enu_to_ecef_rot;
    let p = pitch.to_radians();
    View {
        position: frame.enu_to_ecef(DVec3::new(east, north, height)),
        direction: (r * DVec3::new(0.0, p.cos(), p.sin())).normalize(),
        up: (r * DVec3::new(0.0, -p.sin(), p.cos())).normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

fn open(p: &PathBuf, budget: u64) -> (CityModel, StreamedTileset) {
    let opts = StreamOptions { memory_budget: budget, ..Default::default() };
    let (model, mut sets, _) =
        urbis_model::open_city_streaming(std::slice::from_ref(p), &Default::default(), &opts).expect("open");
    assert_eq!(sets.len(), 1);
    (model, sets.remove(0))
}

/// Frames at one view until the stream is complete (bounded).
fn settle(model: &mut CityModel, s: &mut StreamedTileset, v: View) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        s.frame(model, &[v], Duration::from_millis(50));
        if s.stream.status().complete {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("not complete: {:?}", s.stream.status());
}

#[test]
fn tiles_become_entities_and_evicted_tiles_leave_the_ecs() {
    let tiles = SampleTiles { levels: 4, lots: 6, size_m: 1024.0, ..Default::default() };
    let p = write(&tiles, "evict");
    let (mut model, mut s) = open(&p, 2 << 20);
    let per_tile = (tiles.lots * tiles.lots) as usize;
    let mut seen: HashMap<TileId, Vec<Entity>> = HashMap::new();
    let mut evicted_checked = 0;
    let mut max_index = 0;
    // Every feature ever loaded, by GUID: its mesh's height (from its bounds, not its row).
    let mut mesh_heights: HashMap<String, f64> = HashMap::new();
    for k in 0..30 {
        let v = view(&tiles, -300.0 + 20.0 * k as f64, -700.0 + 45.0 * k as f64, 130.0, -25.0);
        settle(&mut model, &mut s, v);
        let attached: Vec<TileId> = s.attached_tiles().collect();
        // Every attached tile holds one entity per building, each with its row.
        let mut total = 0;
        for t in &attached {
            let es = s.entities_of(*t).expect("attached");
            assert_eq!(es.len(), per_tile, "tile {t:?}");
            for e in es {
                let (id, b) =
                    (model.world.get::<FeatureId>(*e).expect("id"), model.world.get::<Bounds>(*e).expect("b"));
                mesh_heights.insert(id.guid.clone(), b.max.z - b.min.z);
            }
            total += es.len();
            seen.insert(*t, es.to_vec());
        }
        assert_eq!(model.feature_count(), total, "the ECS holds exactly the attached tiles' features");
        // Tiles seen before and now gone: their entities are despawned and unfindable.
        for (t, es) in &seen {
            if attached.contains(t) {
                continue;
            }
            for e in es {
                assert!(model.world.get_entity(*e).is_err(), "an evicted tile's entity is gone");
            }
            evicted_checked += 1;
        }
        seen.retain(|t, _| attached.contains(t));
        // A query sees what is loaded: every building, and the tall ones by their metadata height.
        let all = model.select(&FeatureQuery::new().exists("height"));
        assert_eq!(all.len(), total);
        let tall = model.select(&FeatureQuery::new().gt("height", 60.0));
        assert!(tall.len() < total);
        for e in tall.iter().take(20) {
            let b = model.world.get::<Bounds>(*e).expect("bounds");
            let h = model.world.get::<urbis_model::Attributes>(*e).and_then(|a| a.f64("height")).expect("height");
            assert!(
                (b.max.z - b.min.z - h).abs() < 0.01,
                "the mesh is as tall as its row says: {} vs {h}",
                b.max.z - b.min.z
            );
        }
        let mut q = model.world.query::<&FeatureId>();
        for id in q.iter(&model.world) {
            max_index = max_index.max(id.index);
            assert_eq!(
                model.features().entity(id.index).map(|e| model.world.get::<FeatureId>(e).cloned()),
                Some(Some(id.clone()))
            );
        }
        assert!(s.stream.status().resident_bytes <= 2 << 20);
    }
    let c = s.stream.counts();
    assert!(evicted_checked > 0 && c.evicted > 0, "the flight evicted tiles: {c:?}");
    // Indices are reused: far fewer than every feature ever loaded.
    let ever = c.loaded as usize * per_tile;
    println!("loaded {} tiles ({ever} features) over the flight; largest feature index {max_index}", c.loaded);
    assert!((max_index as usize) < ever, "feature indices are reused ({max_index} of {ever})");
    assert!(model.meshes().len() <= model.feature_count() + per_tile, "meshes are freed with their features");

    // Attributes outlive their geometry: every feature ever loaded is still found by a query,
    // the evicted ones with the height their mesh had while loaded.
    let all = model.select_including_evicted(&FeatureQuery::new().exists("height"));
    let away: Vec<&String> = all.iter().filter(|(_, e)| e.is_none()).map(|(g, _)| g).collect();
    // (Tiles attached and evicted between two settled views were not seen here, so `all` may hold more.)
    let found: std::collections::HashSet<&String> = all.iter().map(|(g, _)| g).collect();
    assert!(mesh_heights.keys().all(|g| found.contains(g)), "a feature seen loaded is not found any more");
    assert_eq!(all.len() - away.len(), model.feature_count());
    assert!(away.len() > 1000, "{} evicted features kept", away.len());
    let kept = model.world.resource::<urbis_model::RetainedAttributes>();
    let mut compared = 0;
    for g in &away {
        let h = kept.get(g).and_then(|r| r.attributes.f64("height")).expect("kept height");
        if let Some(m) = mesh_heights.get(*g) {
            assert!((h - m).abs() < 0.01, "{g}: kept height {h}, mesh {m}");
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared} evicted features compared with their meshes");
    let tall: std::collections::BTreeSet<String> =
        model.select_including_evicted(&FeatureQuery::new().gt("height", 60.0)).into_iter().map(|(g, _)| g).collect();
    for (g, h) in &mesh_heights {
        if (h - 60.0).abs() > 0.02 {
            assert!(found.contains(g));
            assert_eq!(tall.contains(g), *h > 60.0, "{g} ({h} m) and the query height > 60");
        }
    }
    assert!(!tall.is_empty() && tall.len() < mesh_heights.len());
}
