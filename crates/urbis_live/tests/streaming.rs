//! Live bindings on streamed tiles: a sensor bound by attribute to a building
//! of a streamed tileset observes it once its tile arrives (it was not there
//! when the session started), readings keep coming without harm while the
//! tile is evicted, and when the tile streams back in (as new entities) the
//! binding is found again and the building shows the newest reading.

use std::path::Path;
use std::time::{Duration, Instant};

use glam::DVec3;
use urbis_geo::CityFrame;
use urbis_live::LiveConfig;
use urbis_live::payload::Reading;
use urbis_model::{AttributeValue, Attributes, CityModel, FeatureStyle, Observes, Quality, StreamedTileset};
use urbis_sample_city::SampleTiles;
use urbis_tiles::{StreamOptions, View};

fn view(t: &SampleTiles, east: f64, north: f64) -> View {
    let frame = CityFrame::new(t.origin);
    let r = frame.enu_to_ecef_rot;
    let p = (-60f64).to_radians();
    View {
        position: frame.enu_to_ecef(DVec3::new(east, north - 60.0, 110.0)),
        direction: (r * DVec3::new(0.0, p.cos(), p.sin())).normalize(),
        up: (r * DVec3::new(0.0, -p.sin(), p.cos())).normalize(),
        fov_y: 45f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 720.0,
        max_sse: 16.0,
        cull: true,
    }
}

fn open(p: &Path) -> (CityModel, StreamedTileset) {
    let opts = StreamOptions { memory_budget: 1 << 30, ..Default::default() };
    let (model, mut sets, _) =
        urbis_model::open_city_streaming(&[p.to_path_buf()], &Default::default(), &opts).expect("open");
    (model, sets.remove(0))
}

fn settle(model: &mut CityModel, s: &mut StreamedTileset, v: View) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        s.frame(model, &[v], Duration::from_millis(50));
        if s.stream.status().complete {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("not complete: {:?}", s.stream.status());
}

/// Entities whose `name` attribute is `name`.
fn named(model: &CityModel, name: &str) -> Vec<bevy_ecs::entity::Entity> {
    model
        .world
        .iter_entities()
        .filter(|r| r.get::<Attributes>().and_then(|a| a.get("name")) == Some(&AttributeValue::String(name.into())))
        .map(|r| r.id())
        .collect()
}

fn color(model: &CityModel, e: bevy_ecs::entity::Entity) -> Option<[f32; 4]> {
    model.world.get::<FeatureStyle>(e).and_then(|s| s.color_override)
}

#[test]
fn a_binding_follows_its_building_through_eviction_and_reload() {
    let tiles = SampleTiles { levels: 3, lots: 4, size_m: 1024.0, ..Default::default() };
    let dir = tempfile::tempdir().expect("tmp");
    tiles.write(dir.path(), |_| {}).expect("write tiles");
    let path = dir.path().join("tileset.json");
    let (west, east) = (view(&tiles, -384.0, -384.0), view(&tiles, 384.0, 384.0));

    // A pre-pass finds a finest-level building under the western view (its name is stable across loads).
    let target = {
        let (mut m, mut s) = open(&path);
        settle(&mut m, &mut s, west);
        let leaf = m
            .world
            .iter_entities()
            .filter_map(|r| r.get::<Attributes>()?.get("name").cloned())
            .filter_map(|v| match v {
                AttributeValue::String(n) if n.starts_with("L2-") => Some(n),
                _ => None,
            })
            .min()
            .expect("a finest-level building under the western view");
        assert!(named(&m, &leaf).len() == 1, "{leaf} is not unique");
        leaf
    };

    let (mut model, mut set) = open(&path);
    let cfg = LiveConfig::parse(
        &format!(
            r##"
[[sensor]]
id = "meter-1"
quantity = "load"
attribute = {{ key = "name", value = "{target}" }}

[[style]]
quantity = "load"
thresholds = [{{ above = 50, color = "#ff0000" }}, {{ above = 80, color = "#0000ff" }}]
"##
        ),
        Path::new("meters.toml"),
    )
    .expect("config");
    let mut session = urbis_live::LiveSession::new(cfg, &mut model).expect("session");
    assert_eq!(session.bind_errors().len(), 1, "nothing is loaded yet, so the binding cannot resolve");
    let sensor = session.sensor_entity("meter-1").expect("sensor");
    let reading =
        |value: f64, t: i64| Reading { stream: 0, time_ms: t, value, quality: Quality::Good, redelivered: false };

    // The tile arrives: the next tick binds the sensor, and readings paint the building.
    settle(&mut model, &mut set, west);
    session.tick(&mut model, 1_000);
    let first = named(&model, &target);
    assert_eq!(first.len(), 1);
    assert_eq!(model.world.get::<Observes>(sensor), Some(&Observes(first[0])));
    session.apply(&mut model, &[reading(60.0, 2_000)], 2_000);
    assert_eq!(color(&model, first[0]), Some([1.0, 0.0, 0.0, 0.85]), "60 is above 50: red");

    // Fly east with a budget that holds one view: the western tiles, the building's among them, are evicted.
    let resident = set.stream.status().resident_bytes;
    set.stream.set_memory_budget(resident + resident / 4);
    settle(&mut model, &mut set, east);
    assert!(named(&model, &target).is_empty(), "the building's tile was not evicted");
    assert!(model.world.get_entity(first[0]).is_err(), "its entity is still in the ECS");
    // Readings while the building is away are taken (no panic) and kept as the newest value.
    session.apply(&mut model, &[reading(90.0, 3_000)], 3_000);
    session.tick(&mut model, 4_000);

    // Back west: the tile streams in again as new entities; the binding is found again and shows 90 (blue).
    settle(&mut model, &mut set, west);
    session.tick(&mut model, 5_000);
    let again = named(&model, &target);
    assert_eq!(again.len(), 1);
    assert_eq!(model.world.get::<Observes>(sensor), Some(&Observes(again[0])));
    assert_eq!(color(&model, again[0]), Some([0.0, 0.0, 1.0, 0.85]), "the newest reading, 90, is above 80: blue");
}
