//! Live styling on the sample city: a replay of the simulated sensor
//! network applied up to a fixed time (the river flood), rendered against a
//! golden image (looked at before it was committed), and the proof that
//! readings only touch the per-feature style buffer, never geometry.

mod support;

use urbis_engine::{GeodeticPose, default_lighting, label_panels, render_image};
use urbis_live::simulate::Network;
use urbis_live::sources::replay::Replay;
use urbis_live::{LiveConfig, LiveSession};
use urbis_render::{Overlay, Panel};

const W: u32 = 480;
const H: u32 = 270;

#[test]
fn flood_at_its_peak_with_live_styles_labels_and_alarms() {
    let mut model = support::sample_city();
    let net = Network::for_city(&model, 7);
    let dir = std::env::temp_dir().join(format!("urbis-golden-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cfg_path = dir.join("sensors.toml");
    std::fs::write(&cfg_path, net.config_toml(None)).expect("config");
    let rec = dir.join("sensors.jsonl");
    net.write_replay(&rec, 5400.0).expect("recording");
    let mut session = LiveSession::new(LiveConfig::read(&cfg_path).expect("config"), &mut model).expect("session");
    let ingest = session.ingest(false);
    let mut replay = Replay::open(&rec).expect("open");
    // 01:15Z: the wave is at its peak on the upstream gauges.
    let at = net.start_ms + 75 * 60_000;
    let mut t = net.start_ms;
    while t < at {
        t += 60_000;
        replay.advance(t, &ingest).expect("advance");
        session.tick(&mut model, t);
    }
    session.highlight_alarms(&mut model);
    assert!(session.active_alarms().any(|a| a.alarm == "river flood"));
    let lines = session.overlay_lines(at);

    let Some(mut engine) = support::engine(model) else {
        return;
    };
    let camera = "115.899,38.9865,420,0,-32".parse::<GeodeticPose>().expect("pose").camera();
    let lighting = default_lighting(&engine.model, &camera);
    let mut overlay =
        Overlay { scale: 1.0, panels: label_panels(&mut engine.model, &camera, W, H, 12, 1.0), ..Default::default() };
    assert!(overlay.panels.iter().any(|p| p.lines[0].ends_with(" m")), "the river's level is labelled");
    overlay.panels.push(Panel {
        x: 4.0,
        y: H as f32 - 22.0 - 10.0 * lines.len() as f32 - 4.0,
        title: Some("Live".into()),
        lines,
    });
    let img = render_image(&mut engine, &camera, &lighting, Some(&overlay), W, H).expect("render");
    support::assert_golden("live_flood", &img.image, 0.01);

    // Ten more minutes of readings: styles change, geometry does not move.
    let before = engine.scene.stats();
    while t < at + 10 * 60_000 {
        t += 60_000;
        replay.advance(t, &ingest).expect("advance");
        session.tick(&mut engine.model, t);
    }
    let prepared = engine.update();
    let after = engine.scene.stats();
    assert!(prepared.styles_updated > 100, "{prepared:?}");
    assert_eq!(prepared.chunks_uploaded, 0, "{prepared:?}");
    assert_eq!(after.geometry_uploads, before.geometry_uploads);
    assert!(after.style_bytes > before.style_bytes);
    let _ = std::fs::remove_dir_all(&dir);
}
