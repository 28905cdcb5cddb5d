//! Sensors placed by longitude and latitude alone stand on the ground: on
//! the globe, on the streamed terrain's heights (no tile needs to be loaded).

use glam::DVec3;
use urbis_geo::{CrsTransform, Epsg, Geodetic};
use urbis_live::{LiveConfig, LiveSession};
use urbis_model::{FeatureId, LoadOptions, Placement};

/// A plane rising 5 cm a metre northwards over UTM 50N.
const X0: f64 = 440_000.0;
const Y0: f64 = 4_416_000.0;
fn plane(y: f64) -> f64 {
    40.0 + 0.05 * (y - Y0)
}

#[test]
fn sensors_by_longitude_and_latitude_stand_on_the_streamed_terrain() {
    let dir = tempfile::tempdir().expect("tmp");
    let n = 60;
    let mut text = format!("ncols {n}\nnrows {n}\nxllcorner {X0}\nyllcorner {Y0}\ncellsize 5\n");
    for r in 0..n {
        let y = Y0 + (n - r) as f64 * 5.0 - 2.5;
        text.push_str(&vec![format!("{:.3}", plane(y)); n].join(" "));
        text.push('\n');
    }
    std::fs::write(dir.path().join("dem.asc"), text).expect("dem");
    std::fs::write(dir.path().join("dem.prj"), "EPSG:32650\n").expect("prj");
    let opts = LoadOptions { globe: true, ..Default::default() };
    let (mut model, _sets, _) =
        urbis_model::open_city_streaming(&[dir.path().join("dem.asc")], &opts, &Default::default()).expect("open");
    // Two sensors by longitude and latitude (computed here from UTM through PROJ).
    let to_geo = CrsTransform::new(Epsg(32650), Epsg::WGS84).expect("proj");
    let points = [(X0 + 100.0, Y0 + 60.0), (X0 + 200.0, Y0 + 250.0)];
    let mut toml = String::new();
    let mut geo = Vec::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let g = to_geo.transform(DVec3::new(*x, *y, 0.0)).expect("to lon/lat");
        toml.push_str(&format!(
            "[[sensor]]\nid = \"s{i}\"\nquantity = \"level\"\nposition = [{:.10}, {:.10}]\n\n",
            g.x, g.y
        ));
        geo.push(g);
    }
    let config = LiveConfig::parse(&toml, std::path::Path::new("sensors.toml")).expect("config");
    let _session = LiveSession::new(config, &mut model).expect("session");
    let frame = *model.frame();
    let mut found = 0;
    for (i, ((_, y), g)) in points.iter().zip(&geo).enumerate() {
        let e = model.features().by_guid(&format!("sensor:s{i}")).expect("the sensor entity");
        assert_eq!(model.world.get::<FeatureId>(e).map(|f| f.guid.clone()), Some(format!("sensor:s{i}")));
        let at = model.world.get::<Placement>(e).expect("placed").enu;
        let want = frame.geodetic_to_enu(Geodetic::new(g.x, g.y, plane(*y)));
        eprintln!("sensor s{i}: z {:.3}, ground {:.3}", at.z, want.z);
        assert!((at.z - want.z).abs() < 0.02, "sensor s{i} at z {} over ground {}", at.z, want.z);
        found += 1;
    }
    assert_eq!(found, 2);
}
