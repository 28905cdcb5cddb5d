//! OSGB datasets streamed through the 3D Tiles runtime (`open_city_streaming`
//! → `StreamedTileset`): a three-level PagedLOD pyramid made from the real
//! tile in `../shared/data/osgb` by patching its child's file name. The
//! switch distances come from the file's own range and radius (OpenSceneGraph's
//! pixel-size rule), not from the code's error mapping.

mod osgb_data;
mod shared;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use osgb_data::{ENU_XML, dataset, with_child};
use urbis_geo::{CityFrame, CrsTransform, Epsg, Geodetic};
use urbis_model::{AttributeValue, Attributes, Bounds, CityModel, StreamedTileset};
use urbis_tiles::{StreamOptions, View};

const TOP: &str = "Tile_+000_+000.osgb";
const L16: &str = "Tile_+000_+000_L16_0.osgb";
const L17: &str = "Tile_+000_+000_L17_0.osgb";
const L18: &str = "Tile_+000_+000_L18_0.osgb";

/// A dataset whose top tile pages in L16, L16 pages in L17, and L17 pages
/// in L18, which is missing.
fn pyramid(name: &str, tile: &Path, metadata: &str) -> PathBuf {
    let bytes = std::fs::read(tile).expect("read");
    let dir = dataset(&format!("stream-{name}"), tile, metadata);
    let data = dir.join("Data/Tile_+000_+000");
    std::fs::write(data.join(L16), with_child(&bytes, L17)).expect("L16");
    std::fs::write(data.join(L17), with_child(&bytes, L18)).expect("L17");
    dir
}

const FOV_DEG: f64 = 60.0;
const HEIGHT_PX: f64 = 1000.0;

/// Looking straight down at `centre` (ENU metres at 39°N 115.9°E) from `height` above it.
fn down(centre: DVec3, height: f64) -> View {
    let frame = CityFrame::new(Geodetic::new(115.9, 39.0, 0.0));
    View {
        position: frame.enu_to_ecef(centre + DVec3::Z * height),
        direction: (frame.enu_to_ecef(centre) - frame.enu_to_ecef(centre + DVec3::Z)).normalize(),
        up: (frame.enu_to_ecef(centre + DVec3::Y) - frame.enu_to_ecef(centre)).normalize(),
        fov_y: FOV_DEG.to_radians(),
        aspect: 1.0,
        viewport_height: HEIGHT_PX,
        max_sse: 16.0,
        cull: true,
    }
}

fn open(dir: &Path, budget: u64) -> (CityModel, StreamedTileset) {
    let opts = StreamOptions { memory_budget: budget, ..Default::default() };
    let (model, mut sets, reports) =
        urbis_model::open_city_streaming(&[dir.to_path_buf()], &Default::default(), &opts).expect("open");
    assert!(reports.is_empty(), "the dataset streams, nothing is loaded whole: {reports:?}");
    assert_eq!(sets.len(), 1);
    (model, sets.remove(0))
}

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

fn source(model: &CityModel, e: Entity) -> String {
    match model.world.get::<Attributes>(e).and_then(|a| a.get("source")) {
        Some(AttributeValue::String(s)) => s.clone(),
        other => panic!("source: {other:?}"),
    }
}

/// The files of the tiles drawn now, and of every tile attached.
fn drawn(model: &CityModel, s: &StreamedTileset) -> (Vec<String>, Vec<String>) {
    let files = |tiles: &mut dyn Iterator<Item = urbis_tiles::TileId>| {
        let mut v: Vec<String> =
            tiles.flat_map(|t| s.entities_of(t).unwrap_or_default().iter().map(|&e| source(model, e))).collect();
        v.sort();
        v
    };
    (files(&mut s.stream.render_set().into_iter()), files(&mut s.attached_tiles()))
}

/// The LOD centre, radius and pixel switch of the real tile.
fn switch_of(tile: &Path) -> (DVec3, f64, f64) {
    let file = urbis_formats::osgb::read_osgb_file(tile).expect("read");
    let (lod, paged) = file.root.paged_lod().expect("a PagedLOD root");
    assert_eq!(lod.range_mode, urbis_formats::osgb::RangeMode::PixelSizeOnScreen);
    let k = paged.file_names.iter().position(|n| !n.is_empty()).expect("a paged child");
    let (centre, radius) = file.root.lod_center().expect("bound");
    (centre, radius, lod.ranges[k][0] as f64)
}

#[test]
fn a_pyramid_streams_refining_where_openscenegraph_switches() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let (centre, radius, switch) = switch_of(&tile);
    // OpenSceneGraph pages the child in when the sphere's projected diameter
    // 2r·H / (2d·tan(fov/2)) reaches `switch` pixels: d = r·H / (switch·tan(fov/2))
    // from the sphere, i.e. that plus r above the centre.
    let d_switch = radius * HEIGHT_PX / (switch * (FOV_DEG.to_radians() / 2.0).tan());
    let dir = pyramid("levels", &tile, ENU_XML);
    let (mut model, mut s) = open(&dir, 512 << 20);
    // Far: only the top file, and nothing below it was read.
    settle(&mut model, &mut s, down(centre, d_switch * 1.2 + radius));
    assert_eq!(drawn(&model, &s), (vec![TOP.to_string()], vec![TOP.to_string()]));
    assert_eq!(s.stream.tree().len(), 2, "synthetic root and the top tile: the pyramid is not expanded");
    assert!(s.report.failed_tiles.is_empty(), "{:?}", s.report.failed_tiles);
    // Just outside the switch distance: still the top file.
    settle(&mut model, &mut s, down(centre, d_switch * 1.02 + radius));
    assert_eq!(drawn(&model, &s).0, [TOP]);
    // Close above: the deepest existing file replaces its ancestors.
    settle(&mut model, &mut s, down(centre, d_switch * 0.5 + radius));
    let (shown, _) = drawn(&model, &s);
    assert_eq!(shown, [L17], "REPLACE: L17 alone is drawn");
    // L17's child is missing: reported, and L17 stands in for it.
    assert_eq!(s.report.failed_tiles.len(), 1, "{:?}", s.report.failed_tiles);
    assert!(s.report.failed_tiles[0].contains(L17) && s.report.failed_tiles[0].contains(L18), "{:?}", s.report);
    // Just inside the switch distance the pyramid is still refined to L17.
    settle(&mut model, &mut s, down(centre, d_switch * 0.98 + radius));
    assert_eq!(drawn(&model, &s).0, [L17]);
    // Back far: the top again.
    settle(&mut model, &mut s, down(centre, d_switch * 3.0 + radius));
    assert_eq!(drawn(&model, &s).0, [TOP]);
    assert_eq!(s.report.failed_tiles.len(), 1, "the failure is reported once");
}

#[test]
fn tiles_that_leave_the_view_are_evicted_under_a_small_budget() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let (centre, radius, switch) = switch_of(&tile);
    let d_switch = radius * HEIGHT_PX / (switch * (FOV_DEG.to_radians() / 2.0).tan());
    let (far, near) = (down(centre, d_switch * 2.0 + radius), down(centre, d_switch * 0.5 + radius));
    let dir = pyramid("evict", &tile, ENU_XML);
    // The bytes of one tile (all three files hold the same mesh and texture).
    let one = {
        let (mut model, mut s) = open(&dir, 512 << 20);
        settle(&mut model, &mut s, far);
        s.stream.status().resident_bytes
    };
    assert!(one > 0);
    // Room for two tiles: a stand-in and the child replacing it, not three.
    let mut budget = one * 5 / 2;
    let (mut model, mut s) = open(&dir, budget);
    let mut seen: HashMap<urbis_tiles::TileId, Vec<Entity>> = HashMap::new();
    // Every tile ever attached that is not attached now has no entity left.
    let check =
        |model: &CityModel, s: &StreamedTileset, seen: &mut HashMap<urbis_tiles::TileId, Vec<Entity>>, budget: u64| {
            for t in s.attached_tiles() {
                seen.insert(t, s.entities_of(t).unwrap_or_default().to_vec());
            }
            let attached: Vec<_> = s.attached_tiles().collect();
            let mut evicted = Vec::new();
            for (t, es) in seen.iter() {
                if !attached.contains(t) {
                    assert!(es.iter().all(|e| model.world.get_entity(*e).is_err()), "tile {t:?} left entities behind");
                    evicted.push(*t);
                }
            }
            assert!(s.stream.status().resident_bytes <= budget, "{:?}", s.stream.status());
            evicted
        };
    settle(&mut model, &mut s, far);
    assert_eq!(drawn(&model, &s), (vec![TOP.to_string()], vec![TOP.to_string()]));
    let top = s.attached_tiles().next().expect("top");
    assert!(check(&model, &s, &mut seen, budget).is_empty());
    settle(&mut model, &mut s, near);
    let (shown, attached) = drawn(&model, &s);
    assert_eq!(shown, [L17], "{:?}", s.stream.status());
    assert!(attached.len() <= 2, "{attached:?}");
    check(&model, &s, &mut seen, budget);
    let l17 = s.stream.render_set()[0];
    // A smaller budget: what is out of view goes (the top, or L16 if it stayed), L17 stays.
    s.stream.set_memory_budget(one * 6 / 5);
    budget = one * 6 / 5;
    s.frame(&mut model, &[near], Duration::from_millis(50));
    let evicted = check(&model, &s, &mut seen, budget);
    assert!(evicted.contains(&top), "the top tile, out of view, was evicted");
    assert_eq!(s.attached_tiles().collect::<Vec<_>>(), [l17], "L17, in view, stays");
    assert_eq!(drawn(&model, &s).0, [L17]);
    // Looking away (at the sky): L17 leaves the view and goes once the budget needs it.
    let mut away = near;
    away.direction = -near.direction;
    away.up = -near.up;
    s.frame(&mut model, &[away], Duration::from_millis(50));
    assert!(s.attached_tiles().any(|t| t == l17), "within the budget, nothing needs to go");
    s.stream.set_memory_budget(one / 2);
    budget = one / 2;
    s.frame(&mut model, &[away], Duration::from_millis(50));
    assert!(check(&model, &s, &mut seen, budget).contains(&l17), "L17, out of view, was evicted");
    assert_eq!(s.attached_tiles().count(), 0);
}

#[test]
fn an_epsg_dataset_streams_where_proj_puts_it() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    // SRSOrigin: 115.9°E 39.0°N in CGCS2000 / 3-degree Gauss-Kruger CM 117E
    // (1.1° off the central meridian, where the grid bends most in that zone).
    let gk = CrsTransform::new(Epsg::WGS84, Epsg(4548))
        .expect("proj")
        .transform(DVec3::new(115.9, 39.0, 0.0))
        .expect("to GK");
    let xml = format!(
        "<ModelMetadata version=\"1\"><SRS>EPSG:4548</SRS><SRSOrigin>{:.3},{:.3},20</SRSOrigin></ModelMetadata>",
        gk.x, gk.y
    );
    let dir = pyramid("epsg", &tile, &xml);
    // Reference: the whole load, every vertex through PROJ.
    let (mut whole, _) = urbis_model::open_city(std::slice::from_ref(&dir)).expect("whole");
    let want: Vec<Bounds> = whole.world.query::<&Bounds>().iter(&whole.world).copied().collect();
    assert_eq!(want.len(), 1);
    let (mut model, mut s) = open(&dir, 512 << 20);
    assert_eq!(model.frame(), whole.frame(), "the same city frame");
    // Far enough for the top tile, seen from straight above (ECEF up at the tile).
    let c = model.frame().enu_to_ecef((want[0].min + want[0].max) / 2.0);
    let up = c.normalize();
    let view = View {
        position: c + up * 5000.0,
        direction: -up,
        up: up.cross(DVec3::Z).cross(up).normalize(),
        fov_y: FOV_DEG.to_radians(),
        aspect: 1.0,
        viewport_height: HEIGHT_PX,
        max_sse: 16.0,
        cull: true,
    };
    settle(&mut model, &mut s, view);
    let got: Vec<Bounds> = s
        .attached_tiles()
        .flat_map(|t| s.entities_of(t).unwrap_or_default().to_vec())
        .filter_map(|e| model.world.get::<Bounds>(e).copied())
        .collect();
    assert_eq!(got.len(), 1);
    // The fitted affine map's error over the tile's extent, against PROJ.
    let err = (got[0].min - want[0].min).abs().max_element().max((got[0].max - want[0].max).abs().max_element());
    eprintln!("EPSG:4548 affine placement vs PROJ over the tile: {:.2e} m", err);
    assert!(err < 0.01, "{err} m");
    assert!((want[0].max - want[0].min).length() > 1.0, "a real extent");
}
