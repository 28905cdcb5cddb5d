//! CRS transforms checked against independent references to within 1 mm.
//!
//! The reference for transverse Mercator (Gauss-Krüger and UTM) is Krüger's
//! series to sixth order in n as given by Karney (2011, J. Geodesy 85:475),
//! written out here independently of PROJ; its error is a few nanometres
//! within 1,000 km of the central meridian, far below the 1 mm tolerance.

use glam::DVec3;
use urbis_geo::{CrsTransform, Ellipsoid, Epsg, Geodetic};

const MM: f64 = 1e-3;

/// Transverse Mercator forward by Krüger's series (Karney 2011, eqs. 7, 9, 35).
fn kruger_tm(ell: Ellipsoid, lon0: f64, k0: f64, fe: f64, fn_: f64, lon: f64, lat: f64) -> (f64, f64) {
    let f = ell.f;
    let n = f / (2.0 - f);
    let (n2, n3, n4, n5, n6) = (n * n, n.powi(3), n.powi(4), n.powi(5), n.powi(6));
    let big_a = ell.a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0);
    let alpha = [
        n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0 - 127.0 * n5 / 288.0 + 7891.0 * n6 / 37800.0,
        13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0 - 1983433.0 * n6 / 1935360.0,
        61.0 * n3 / 240.0 - 103.0 * n4 / 140.0 + 15061.0 * n5 / 26880.0 + 167603.0 * n6 / 181440.0,
        49561.0 * n4 / 161280.0 - 179.0 * n5 / 168.0 + 6601661.0 * n6 / 7257600.0,
        34729.0 * n5 / 80640.0 - 3418889.0 * n6 / 1995840.0,
        212378941.0 * n6 / 319334400.0,
    ];
    let e = ell.e2().sqrt();
    let phi = lat.to_radians();
    let dl = (lon - lon0).to_radians();
    let t = (phi.sin().atanh() - e * (e * phi.sin()).atanh()).sinh();
    let xi = t.atan2(dl.cos());
    let eta = (dl.sin() / (1.0 + t * t).sqrt()).atanh();
    let mut x = eta;
    let mut y = xi;
    for (j, a) in alpha.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        x += a * (k * xi).cos() * (k * eta).sinh();
        y += a * (k * xi).sin() * (k * eta).cosh();
    }
    (fe + k0 * big_a * x, fn_ + k0 * big_a * y)
}

fn assert_close(a: DVec3, b: DVec3, tol: f64, what: &str) {
    let d = (a - b).abs().max_element();
    assert!(d <= tol, "{what}: {a} vs {b} differ by {d} m (tolerance {tol} m)");
}

#[test]
fn wuhan_in_cgcs2000_gauss_kruger_114e() {
    let t = CrsTransform::new(Epsg::WGS84, Epsg::CGCS2000_GK_CM_114E).unwrap();
    let p = t.transform(DVec3::new(114.3055, 30.5928, 20.0)).unwrap();
    // Published PROJ 9.6 output for this point (../shared/STACK.md), 1 mm.
    assert_close(p, DVec3::new(529_299.860, 3_385_869.453, 20.0), 0.6 * MM, "PROJ reference");
    let (e, n) = kruger_tm(Ellipsoid::CGCS2000, 114.0, 1.0, 500_000.0, 0.0, 114.3055, 30.5928);
    assert_close(p, DVec3::new(e, n, 20.0), MM, "Krüger series");
}

#[test]
fn cgcs2000_geographic_to_gauss_kruger_117e_matches_kruger_series() {
    let t = CrsTransform::new(Epsg::CGCS2000, Epsg::CGCS2000_GK_CM_117E).unwrap();
    for (lon, lat) in [(115.9, 39.0), (117.0, 39.0), (118.4, 24.5), (116.2, 45.1)] {
        let p = t.transform(DVec3::new(lon, lat, 0.0)).unwrap();
        let (e, n) = kruger_tm(Ellipsoid::CGCS2000, 117.0, 1.0, 500_000.0, 0.0, lon, lat);
        assert_close(p, DVec3::new(e, n, 0.0), MM, &format!("({lon}, {lat})"));
    }
    assert_eq!(Epsg::cgcs2000_gk3_for_longitude(115.9), Some(Epsg::CGCS2000_GK_CM_117E));
    assert_eq!(Epsg::cgcs2000_gk3_for_longitude(114.3), Some(Epsg::CGCS2000_GK_CM_114E));
}

#[test]
fn utm_zones_north_and_south_match_kruger_series() {
    let cases = [
        (Epsg::utm_north(50), 117.0, 116.39, 39.91, 0.0),    // Beijing, zone 50N
        (Epsg::utm_north(31), 3.0, 2.35, 48.86, 0.0),        // Paris, zone 31N
        (Epsg::utm_south(56), 153.0, 151.21, -33.87, 1e7),   // Sydney, zone 56S
        (Epsg::utm_north(18), -75.0, -74.006, 40.7128, 0.0), // New York, zone 18N
    ];
    for (crs, lon0, lon, lat, fn_) in cases {
        let t = CrsTransform::new(Epsg::WGS84, crs).unwrap();
        let p = t.transform(DVec3::new(lon, lat, 5.0)).unwrap();
        let (e, n) = kruger_tm(Ellipsoid::WGS84, lon0, 0.9996, 500_000.0, fn_, lon, lat);
        assert_close(p, DVec3::new(e, n, 5.0), MM, &format!("{crs} ({lon}, {lat})"));
        let back = CrsTransform::new(crs, Epsg::WGS84).unwrap().transform(p).unwrap();
        // 1e-8° is about 1 mm.
        assert!((back.x - lon).abs() < 1e-8 && (back.y - lat).abs() < 1e-8, "{crs} inverse {back}");
    }
}

#[test]
fn ecef_matches_closed_form_and_round_trips_through_projected_crs() {
    let ecef = CrsTransform::new(Epsg::WGS84, Epsg::ECEF).unwrap();
    let p = ecef.transform(DVec3::new(0.0, 0.0, 0.0)).unwrap();
    assert_close(p, DVec3::new(6_378_137.0, 0.0, 0.0), 1e-6, "equator/Greenwich");
    let g = Geodetic::new(115.9, 39.0, 12.5);
    let p = ecef.transform(DVec3::new(g.lon_deg, g.lat_deg, g.height)).unwrap();
    assert_close(p, Ellipsoid::WGS84.geodetic_to_ecef(g), 1e-6, "closed form");

    // Gauss-Krüger 117E → ECEF → Gauss-Krüger 117E keeps eastings, northings and height.
    let gk = DVec3::new(405_123.456, 4_318_765.432, 17.25);
    let to = CrsTransform::new(Epsg::CGCS2000_GK_CM_117E, Epsg::ECEF).unwrap();
    let back = CrsTransform::new(Epsg::ECEF, Epsg::CGCS2000_GK_CM_117E).unwrap();
    let e = to.transform(gk).unwrap();
    assert!(e.length() > 6.3e6);
    assert_close(back.transform(e).unwrap(), gk, MM, "GK → ECEF → GK");

    // CGCS2000 and WGS84 geographic coincide at the millimetre level in PROJ's null transform.
    let t = CrsTransform::new(Epsg::CGCS2000, Epsg::WGS84).unwrap();
    assert_close(t.transform(DVec3::new(115.9, 39.0, 3.0)).unwrap(), DVec3::new(115.9, 39.0, 3.0), 1e-8, "4490→4326");
}

#[test]
fn bad_codes_and_coordinates_are_errors_not_panics() {
    let err = CrsTransform::new(Epsg(999_999), Epsg::WGS84).unwrap_err();
    assert!(err.to_string().contains("EPSG:999999"), "{err}");
    let t = CrsTransform::new(Epsg::WGS84, Epsg::ECEF).unwrap();
    assert!(t.transform(DVec3::new(0.0, 95.0, 0.0)).is_err());
    assert!(t.transform(DVec3::new(f64::NAN, 0.0, 0.0)).is_err());
    let t = CrsTransform::new(Epsg::WGS84, Epsg::CGCS2000_GK_CM_114E).unwrap();
    assert!(t.transform(DVec3::new(f64::INFINITY, 30.0, 0.0)).is_err());
}
