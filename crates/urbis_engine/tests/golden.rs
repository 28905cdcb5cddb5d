//! Golden images of the sample city (lavapipe in CI). Each golden was
//! looked at before it was committed; see `support::assert_golden` for the
//! tolerance.

mod support;

use glam::DVec3;
use urbis_engine::{default_camera, default_lighting, render_image};

const W: u32 = 480;
const H: u32 = 270;

#[test]
fn sample_city_from_three_cameras() {
    let model = support::sample_city();
    let Some(mut engine) = support::engine(model) else {
        return;
    };
    let overview = default_camera(&engine.model);
    let riverside = support::enu_camera(&engine.model, DVec3::new(-520.0, -560.0, 95.0), DVec3::new(80.0, 40.0, 20.0));
    let village = support::enu_camera(&engine.model, DVec3::new(-780.0, 180.0, 190.0), DVec3::new(-640.0, 380.0, 10.0));
    for (name, camera) in [("overview", overview), ("riverside", riverside), ("village", village)] {
        let lighting = default_lighting(&engine.model, &camera);
        let img = render_image(&mut engine, &camera, &lighting, None, W, H).expect("render");
        assert!(img.stats.triangles > 10_000, "{name}: only {} triangles drawn", img.stats.triangles);
        support::assert_golden(name, &img.image, 0.01);
    }
}
