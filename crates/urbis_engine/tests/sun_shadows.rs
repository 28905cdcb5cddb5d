//! Shadows from the real sun at two times (lavapipe): a 40 m tower on a
//! flat slab in Beijing on the June solstice at 09:00 and 16:00 local time,
//! seen from straight above. Where the geometry says the shadow falls (away
//! from the sun given by NREL's SPA, as long as 40 m / tan(elevation)), the
//! ground is darker than the same distance towards the sun; the morning
//! shadow falls west, the afternoon one east. Golden images of both, looked
//! at before they were committed.

mod support;

use glam::DVec3;
use urbis_engine::{render_image, sun_lighting};
use urbis_geo::{SunInput, julian_day_of_unix_ms, sun_position};

const LON: f64 = 116.39;
const LAT: f64 = 39.9;

fn square(cx: f64, cy: f64, half: f64) -> serde_json::Value {
    // Metres to degrees at the site (small extents).
    let (dlat, dlon) = (half / 111_320.0, half / (111_320.0 * LAT.to_radians().cos()));
    let (x, y) = (LON + cx / (111_320.0 * LAT.to_radians().cos()), LAT + cy / 111_320.0);
    serde_json::json!([[
        [x - dlon, y - dlat],
        [x + dlon, y - dlat],
        [x + dlon, y + dlat],
        [x - dlon, y + dlat],
        [x - dlon, y - dlat]
    ]])
}

fn luminance(p: &image::Rgba<u8>) -> f64 {
    0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2])
}

#[test]
fn shadows_fall_away_from_the_real_sun() {
    let dir = std::env::temp_dir().join(format!("urbis-sun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "slab", "height": 0.2}, "geometry": {"type": "Polygon", "coordinates": square(0.0, 0.0, 200.0)}},
        {"type": "Feature", "properties": {"name": "tower", "height": 40.0}, "geometry": {"type": "Polygon", "coordinates": square(0.0, 0.0, 10.0)}},
    ]});
    let path = dir.join("site.geojson");
    std::fs::write(&path, doc.to_string()).expect("write");
    let (model, _) = urbis_model::open_city(&[path]).expect("load");
    let Some(mut engine) = support::engine(model) else { return };
    // The tower's centre in the city frame, at the slab's top.
    let site = engine.model.frame().geodetic_to_enu(urbis_geo::Geodetic::new(LON, LAT, 0.0));
    let centre = DVec3::new(site.x, site.y, 0.2);
    let camera = support::enu_camera(&engine.model, centre + DVec3::new(0.0, -0.5, 260.0), centre);
    let mut west_east = Vec::new();
    for (tag, utc) in [("0900", "2026-06-21T01:00:00Z"), ("1600", "2026-06-21T08:00:00Z")] {
        let ms = chrono_ms(utc);
        let sun = sun_position(&SunInput {
            jd: julian_day_of_unix_ms(ms),
            delta_t: 69.2,
            lat_deg: LAT,
            lon_deg: LON,
            elevation_m: 0.0,
            pressure_mbar: 1013.25,
            temperature_c: 15.0,
        });
        let s = sun.enu_direction();
        let away = -DVec3::new(s.x, s.y, 0.0).normalize();
        let length = 40.0 / sun.elevation_deg().to_radians().tan();
        assert!(length > 25.0, "{tag}: the shadow reaches past the samples ({length:.1} m)");
        let lighting = sun_lighting(&engine.model, &camera, ms);
        let img = render_image(&mut engine, &camera, &lighting, None, 320, 240).expect("render");
        support::assert_golden(&format!("sun_shadows_{tag}"), &img.image, 0.01);
        // 22 m from the centre: 12 m past the tower's edge, in its shadow away from the sun, lit towards it.
        let at = |p: DVec3| {
            let (x, y, _) = urbis_engine::labels::project(&engine.model, &camera, p, 320, 240).expect("on screen");
            luminance(img.image.get_pixel(x as u32, y as u32))
        };
        let (shade, lit) = (at(centre + away * 22.0), at(centre - away * 22.0));
        println!(
            "{tag}: sun azimuth {:.1}°, elevation {:.1}°; ground {shade:.0} in the shadow, {lit:.0} lit",
            sun.azimuth_deg,
            sun.elevation_deg()
        );
        assert!(shade < 0.75 * lit, "{tag}: the shadow side ({shade:.0}) is not darker than the lit side ({lit:.0})");
        west_east.push(away.x);
    }
    assert!(west_east[0] < -0.3 && west_east[1] > 0.3, "morning shadow west, afternoon east: {west_east:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SSZ`) as Unix ms.
fn chrono_ms(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("digits");
    let (y, m, d, hh, mm, ss) = (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000
}
