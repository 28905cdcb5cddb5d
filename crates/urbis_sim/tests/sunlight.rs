//! Sun and shadow against hand-checkable answers:
//! - a single box at 39° N on 大寒 (20 January): the shadow of its height at
//!   true solar noon reaches H / tan(elevation) along the anti-sun azimuth
//!   (tolerance: the 0.25 m sampling step), and not beyond;
//! - its façades, unobstructed, between 8:00 and 16:00 true solar time: the
//!   sun is up the whole window (sunrise ≈ 7:09 at δ ≈ −20°), so the south
//!   face is lit 8 h, east and west 4 h each (morning / afternoon), north
//!   0 h (the winter sun never rises north of the east-west line at this
//!   latitude); tolerance one 10-minute step;
//! - a wall to the south cuts the south face's hours, lower floors most.

use glam::{DVec3, Vec2, Vec3};
use urbis_geo::{CityFrame, Geodetic, SunInput, julian_day, sun_position};
use urbis_model::{CityModel, CpuMesh, Lod, Material, NewFeature, SemanticClass};
use urbis_sim::sunlight::{SunDay, facade_points, shadow_mask, sunlight_hours};

fn box_mesh(w: f32, d: f32, h: f32) -> CpuMesh {
    let c = [Vec3::new(0.0, 0.0, 0.0), Vec3::new(w, 0.0, 0.0), Vec3::new(w, d, 0.0), Vec3::new(0.0, d, 0.0)];
    let mut m = CpuMesh::default();
    let color = [200, 200, 200, 255];
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        let quad = [a, b, b + Vec3::Z * h, a + Vec3::Z * h];
        m.push_flat(&quad, &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, color, Material::Facade);
    }
    let top = c.map(|p| p + Vec3::Z * h);
    m.push_flat(&top, &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, color, Material::Roof);
    m
}

/// A city of boxes: (south-west corner x, y, width, depth, height) in ENU metres, at 39° N.
fn city(boxes: &[(f64, f64, f32, f32, f32)]) -> CityModel {
    let mut city = CityModel::new(CityFrame::new(Geodetic::new(116.0, 39.0, 10.0)));
    for (k, &(x, y, w, d, h)) in boxes.iter().enumerate() {
        let mut f = NewFeature::new(format!("box-{k}"), SemanticClass::BUILDING, DVec3::new(x, y, 0.0));
        f.mesh = Some((box_mesh(w, d, h), Lod(12)));
        let (w, d) = (w as f64, d as f64);
        f.footprint = Some(geo::Polygon::new(
            geo::LineString::from(vec![(x, y), (x + w, y), (x + w, y + d), (x, y + d), (x, y)]),
            vec![],
        ));
        city.spawn_feature(f);
    }
    city.rebuild_spatial_index();
    city
}

#[test]
fn a_box_casts_the_closed_form_shadow_at_solar_noon() {
    let h = 30.0f32;
    let c = city(&[(0.0, 0.0, 20.0, 20.0, h)]);
    // True solar noon on 2027-01-20 at 116° E: 12:00 − 116/15 h − EoT (≈ −11 min) in UT.
    let eot_min = urbis_sim::sunlight::equation_of_time_min(20);
    let ut_h = 12.0 - 116.0 / 15.0 - eot_min / 60.0;
    let jd = julian_day(2027, 1, 20, 0, 0, 0.0) + ut_h / 24.0;
    let sun = sun_position(&SunInput {
        jd,
        delta_t: 69.0,
        lat_deg: 39.0,
        lon_deg: 116.0,
        elevation_m: 10.0,
        pressure_mbar: 1013.0,
        temperature_c: 0.0,
    });
    assert!((sun.azimuth_deg - 180.0).abs() < 0.5, "noon sun due south: {}", sun.azimuth_deg);
    let e = sun.elevation_deg().to_radians();
    let length = h as f64 / e.tan();
    // Along the anti-sun direction from the middle of the north face.
    let anti = -DVec3::new(sun.enu_direction().x, sun.enu_direction().y, 0.0).normalize();
    let start = DVec3::new(10.0, 20.0, 0.01);
    let points: Vec<DVec3> = (0..400).map(|k| start + anti * (k as f64 * 0.25 + 0.125)).collect();
    let shadow = shadow_mask(&c, &points, Some(sun.enu_direction()));
    let last = shadow.iter().rposition(|s| *s).expect("some shadow") as f64 * 0.25 + 0.125;
    assert!(
        (last - length).abs() <= 0.25,
        "shadow {last:.2} m vs H/tan(e) = {length:.2} m (e = {:.2}°)",
        e.to_degrees()
    );
    assert!(shadow[..(length / 0.25) as usize - 1].iter().all(|s| *s), "continuous up to the tip");
    // South of the box is sunlit.
    let south: Vec<DVec3> = (1..20).map(|k| DVec3::new(10.0, -(k as f64), 0.01)).collect();
    let lit = shadow_mask(&c, &south, Some(sun.enu_direction()));
    assert_eq!(lit.len(), south.len());
    assert!(lit.iter().all(|s| !s));
}

#[test]
fn unobstructed_facades_get_their_hand_computed_hours() {
    let mut c = city(&[(0.0, 0.0, 20.0, 20.0, 30.0)]);
    let b = urbis_sim::sunlight::buildings(&mut c);
    let points = facade_points(&c, &b, 5.0, 3.0);
    assert_eq!(points.len(), 4 * 4 * 10, "4 walls × 4 samples × 10 storeys");
    let day = SunDay::major_cold(2027);
    let dirs = day.directions(c.frame());
    assert!(dirs.iter().all(|d| d.is_some()), "the sun is up from 8:00 to 16:00");
    let hours = sunlight_hours(&c, &points, &dirs, day.step_min);
    let tol = day.step_min / 60.0 + 1e-9;
    for (p, h) in points.iter().zip(&hours) {
        let want = if p.normal.y < -0.9 {
            8.0
        } else if p.normal.y > 0.9 {
            0.0
        } else {
            4.0
        };
        assert!((h - want).abs() <= tol, "normal {:?}: {h} h, want {want}", p.normal);
    }
}

#[test]
fn a_wall_to_the_south_takes_sun_from_the_lower_floors() {
    // The box, and a 20 m high wall 20 m to its south.
    let c = city(&[(0.0, 0.0, 20.0, 20.0, 30.0), (-40.0, -30.0, 100.0, 10.0, 20.0)]);
    let boxed = c.features().by_guid("box-0").expect("box");
    let points: Vec<_> = facade_points(&c, &[boxed], 5.0, 3.0).into_iter().filter(|p| p.normal.y < -0.9).collect();
    let day = SunDay::major_cold(2027);
    let hours = sunlight_hours(&c, &points, &day.directions(c.frame()), day.step_min);
    let by_floor = |f: u32| {
        let v: Vec<f64> = points.iter().zip(&hours).filter(|(p, _)| p.floor == f).map(|(_, h)| *h).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    // At noon the sun stands about 31° high: the wall's top (20 m, 20 m away) is seen at
    // 45° from the ground floor (shaded all day), at 26° from the 5th floor (lit around noon).
    assert!(by_floor(0) < 0.2, "ground floor {}", by_floor(0));
    assert!(by_floor(4) > 1.0 && by_floor(4) < 8.0, "5th floor {}", by_floor(4));
    assert!((by_floor(9) - 8.0).abs() < 0.2, "top floor above the wall {}", by_floor(9));
    for f in 1..10 {
        assert!(by_floor(f) >= by_floor(f - 1), "higher floors see more sun");
    }
}

/// A 30 m ridge from 40 to 60 m south of a point on flat ground (a DEM in
/// local metres, 5 m cells): with the sun due south the point is in the
/// ridge's shadow exactly when the sun is lower than the ridge's top edge
/// seen from it: atan(29.9 / 40) = 36.8° (the bilinear flank between the
/// last flat and the first ridge cell centre peaks there).
#[test]
fn hills_cast_shadows() {
    let dir = std::env::temp_dir().join(format!("urbis-ridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let (n, cell) = (81usize, 5.0);
    let mut text =
        format!("ncols {n}\nnrows {n}\nxllcorner -202.5\nyllcorner -202.5\ncellsize {cell}\nNODATA_value -9999\n");
    for r in 0..n {
        let y = 200.0 - r as f64 * cell; // row 0 is north
        let row: Vec<&str> = (0..n).map(|_| if (-60.0..=-40.0).contains(&y) { "30" } else { "0" }).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    let path = dir.join("ridge.asc");
    std::fs::write(&path, text).expect("dem");
    let (city, _) = urbis_model::open_city(&[path]).expect("open");
    let t = urbis_sim::terrain::TerrainSurface::from_city(&city).expect("terrain");
    assert!((t.height(0.0, -50.0).expect("ridge") - 30.0).abs() < 1e-9);
    assert!(t.height(0.0, 0.0).expect("flat").abs() < 1e-9);
    let p = DVec3::new(0.0, 0.0, 0.1);
    let sun = |elev: f64| DVec3::new(0.0, -elev.to_radians().cos(), elev.to_radians().sin());
    for (elev, shaded) in [(10.0, true), (30.0, true), (34.0, true), (40.0, false), (60.0, false)] {
        assert_eq!(t.blocks(p, sun(elev)), shaded, "sun at {elev}°");
        let mask = shadow_mask(&city, &[p], Some(sun(elev)));
        assert_eq!(mask, vec![shaded], "shadow mask at {elev}°");
    }
    // Towards the north the ground is flat: lit at any elevation.
    assert!(!t.blocks(p, DVec3::new(0.0, 0.98, 0.2).normalize()));
    std::fs::remove_dir_all(&dir).ok();
}

/// Points given slightly below the interpolated ground (a coarse grid's
/// cell centre on a slope) stand on the surface: a gentle slope does not
/// shade them from a sun higher than the slope.
#[test]
fn points_below_the_ground_stand_on_it() {
    let dir = std::env::temp_dir().join(format!("urbis-slope-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let n = 41usize;
    let mut text =
        format!("ncols {n}\nnrows {n}\nxllcorner -102.5\nyllcorner -102.5\ncellsize 5\nNODATA_value -9999\n");
    for r in 0..n {
        let y = 100.0 - r as f64 * 5.0;
        // Rising 5 % towards the south.
        let row: Vec<String> = (0..n).map(|_| format!("{}", -0.05 * y)).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    let path = dir.join("slope.asc");
    std::fs::write(&path, text).expect("dem");
    let (city, _) = urbis_model::open_city(&[path]).expect("open");
    let t = urbis_sim::terrain::TerrainSurface::from_city(&city).expect("terrain");
    let sun = |elev: f64| DVec3::new(0.0, -elev.to_radians().cos(), elev.to_radians().sin());
    // 0.5 m under the ground at the origin: still lit by a 10° sun (the slope is 2.9°), shaded by a 2° one.
    let p = DVec3::new(0.0, 0.0, -0.5);
    assert!(!t.blocks(p, sun(10.0)));
    assert!(t.blocks(p, sun(2.0)));
    std::fs::remove_dir_all(&dir).ok();
}
