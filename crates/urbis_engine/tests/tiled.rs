//! Tiled offscreen rendering (lavapipe): a frame rendered as crops of the
//! whole frame and stitched matches the same frame rendered in one piece,
//! and an 8K frame (7680 × 4320, beyond a single texture on many adapters)
//! renders in tiles.

mod support;

use glam::DVec3;
use urbis_engine::{default_lighting, render_image, render_image_tiled};

#[test]
fn a_frame_in_tiles_matches_the_frame_in_one_piece() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    let centre = DVec3::new(0.0, 0.0, 0.0);
    let camera = support::enu_camera(&engine.model, DVec3::new(-400.0, -900.0, 600.0), centre);
    let lighting = default_lighting(&engine.model, &camera);
    let (w, h) = (960, 540);
    let whole = render_image(&mut engine, &camera, &lighting, None, w, h).expect("whole");
    // 256-pixel tiles: 4 × 3, the last column and row partial.
    let tiled = render_image_tiled(&mut engine, &camera, &lighting, None, w, h, 256).expect("tiled");
    assert_eq!(tiled.image.dimensions(), (w, h));
    let (differ, mean) = support::image_difference(&whole.image, &tiled.image, 24);
    println!("tiled vs whole: {:.4} % of pixels differ by more than 24, mean {mean:.3}", differ * 100.0);
    // Only outlines along the seams may differ (the composite reads neighbouring pixels).
    assert!(differ < 0.005, "{:.3} % of pixels differ", differ * 100.0);
    assert!(tiled.stats.triangles >= whole.stats.triangles, "every tile draws what it sees");
    // A single-tile call is the plain render.
    let one = render_image_tiled(&mut engine, &camera, &lighting, None, w, h, 4096).expect("one tile");
    assert_eq!(one.image, whole.image);
}

#[test]
fn an_8k_frame_renders_in_tiles() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else { return };
    let camera = support::enu_camera(&engine.model, DVec3::new(-400.0, -900.0, 600.0), DVec3::ZERO);
    let lighting = default_lighting(&engine.model, &camera);
    let img = render_image_tiled(&mut engine, &camera, &lighting, None, 7680, 4320, urbis_engine::MAX_TILE)
        .expect("8K render");
    assert_eq!(img.image.dimensions(), (7680, 4320));
    // Scaled down by 8, it is the same view as a 960 × 540 frame rendered in one piece.
    let small = render_image(&mut engine, &camera, &lighting, None, 960, 540).expect("small");
    let down = image::imageops::resize(&img.image, 960, 540, image::imageops::FilterType::Triangle);
    let (differ, mean) = support::image_difference(&small.image, &down, 48);
    println!("8K scaled down vs 960x540: {:.3} % of pixels differ by more than 48, mean {mean:.3}", differ * 100.0);
    assert!(differ < 0.05 && mean < 8.0, "{:.3} % differ, mean {mean:.2}", differ * 100.0);
}
