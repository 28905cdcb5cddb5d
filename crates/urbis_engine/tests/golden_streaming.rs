//! A streamed tileset, refined as the camera comes closer, draws the same
//! frame as a direct load of what that camera needs; the refined frame is
//! also kept as a small golden.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use urbis_engine::{Engine, Streams, render_image};
use urbis_model::TileDetail;
use urbis_render::Camera;
use urbis_sample_city::SampleTiles;
use urbis_tiles::StreamOptions;

const W: u32 = 320;
const H: u32 = 180;

fn tileset() -> (SampleTiles, PathBuf) {
    let t = SampleTiles { levels: 4, lots: 6, size_m: 1024.0, ..Default::default() };
    let dir = std::env::temp_dir().join(format!("urbis-golden-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    t.write(&dir, |_| {}).expect("write tiles");
    (t, dir.join("tileset.json"))
}

/// Streams frames at `camera` until every wanted tile is attached (bounded).
fn settle(engine: &mut Engine, streams: &mut Streams, camera: &Camera) -> usize {
    let start = Instant::now();
    let mut frames = 0;
    loop {
        let s = streams.frame(&mut engine.model, &[(*camera, W, H)]);
        engine.update();
        frames += 1;
        if s.complete {
            return frames;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "not complete: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_refined_frame_equals_a_direct_load_at_that_camera() {
    let (_tiles, path) = tileset();
    let opts = StreamOptions::default();
    let (model, sets, _) =
        urbis_model::open_city_streaming(std::slice::from_ref(&path), &Default::default(), &opts).expect("open");
    let Some(mut engine) = support::engine(model) else { return };
    let far = support::enu_camera(&engine.model, glam::DVec3::new(0.0, -6000.0, 3000.0), glam::DVec3::ZERO);
    let near =
        support::enu_camera(&engine.model, glam::DVec3::new(-150.0, -650.0, 220.0), glam::DVec3::new(0.0, 0.0, 0.0));
    let lighting = support::enu_lighting(&engine.model);
    let mut streams = Streams::new(sets, Duration::from_millis(50));
    settle(&mut engine, &mut streams, &far);
    let coarse = engine.scene.triangle_count();
    settle(&mut engine, &mut streams, &near);
    let refined = render_image(&mut engine, &near, &lighting, None, W, H).expect("render").image;
    let drawn = engine.scene.triangle_count();
    assert!(drawn > coarse, "coming closer refines: {coarse} -> {drawn} triangles held");

    // The same camera, loaded directly (static selection, no streaming).
    let view = urbis_engine::tile_view(&near, W, H, 16.0);
    let (direct_model, _) = urbis_model::open_city_with(&[path], TileDetail::View(view)).expect("direct load");
    let mut direct = support::engine(direct_model).expect("adapter");
    let reference = render_image(&mut direct, &near, &lighting, None, W, H).expect("render").image;
    let (frac, mean) = support::image_difference(&refined, &reference, 24);
    println!("refined vs direct: {:.4} % of pixels differ by more than 24 levels, mean {mean:.3}", frac * 100.0);
    assert!(frac < 0.002 && mean < 0.5, "streamed and direct frames differ: {frac} {mean}");
    support::assert_golden("streamed_refined", &refined, 0.01);
}

/// Textures belong to their tile: a textured tileset (Cesium's
/// MetadataGranularities, placed as its Sandcastle does) uploads its images
/// while streamed in, and when every tile is evicted the model's store and
/// the GPU hold none of them.
#[test]
fn an_evicted_tiles_textures_are_freed_on_the_cpu_and_the_gpu() {
    let Some(path) = support::shared("3dtiles/1.1/MetadataGranularities/tileset.json") else { return };
    let load =
        urbis_model::LoadOptions { place: Some("-75.152325,39.94704,0".parse().expect("place")), ..Default::default() };
    let (model, sets, _) = urbis_model::open_city_streaming(&[path], &load, &StreamOptions::default()).expect("open");
    let Some(mut engine) = support::engine(model) else { return };
    let (c, r) = {
        let tree = sets[0].stream.tree();
        tree.get(tree.root()).volume.bounding_sphere()
    };
    let up = c.normalize();
    let dir = (glam::DVec3::Z.cross(up).normalize() * 0.6 - up * 0.8).normalize();
    let look = Camera::look_at(c - dir * r * 2.0, c, up);
    let away = Camera::look_at(c - dir * r * 2.0, c - dir * r * 4.0, up);
    let mut streams = Streams::new(sets, Duration::from_millis(50));
    settle(&mut engine, &mut streams, &look);
    let store = |e: &Engine| e.model.world.resource::<urbis_model::TextureStore>().live();
    let (cpu, gpu) = (store(&engine), engine.scene.texture_count());
    println!("in view: {cpu} textures in the store, {gpu} on the GPU");
    assert!(cpu > 0 && gpu > 0, "the tileset's textures were loaded ({cpu}) and uploaded ({gpu})");

    // Looking away with a budget of one byte: every tile is evicted.
    streams.tilesets[0].stream.set_memory_budget(1);
    let start = Instant::now();
    loop {
        let s = streams.frame(&mut engine.model, &[(away, W, H)]);
        engine.update();
        if s.resident_tiles == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "tiles not evicted: {s:?}");
    }
    assert_eq!(store(&engine), 0, "the store still holds evicted tiles' textures");
    assert_eq!(engine.scene.texture_count(), 0, "the GPU still holds evicted tiles' textures");
    assert_eq!(engine.model.feature_count(), 0);
}
