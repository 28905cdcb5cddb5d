//! The sun's topocentric position, NOAA class: Meeus' solar coordinates
//! (Astronomical Algorithms, ch. 25, with nutation and aberration),
//! apparent sidereal time, the topocentric parallax correction of the NREL
//! SPA (Reda & Andreas 2004, §3.12) and SPA's refraction formula.
//!
//! Accuracy: within 0.01° of the NREL SPA over 1950–2050 (the NOAA
//! calculator's stated class); checked against SPA's own test vector in the
//! tests. Shadows and sunlight hours need far less.

/// Where and when, as SPA takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunInput {
    /// Julian day (UT).
    pub jd: f64,
    /// TT − UT, seconds.
    pub delta_t: f64,
    pub lat_deg: f64,
    /// East positive.
    pub lon_deg: f64,
    pub elevation_m: f64,
    /// Pressure (mbar) and temperature (°C) for refraction.
    pub pressure_mbar: f64,
    pub temperature_c: f64,
}

/// The sun seen from the site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunPosition {
    /// Topocentric zenith angle with refraction, degrees.
    pub zenith_deg: f64,
    /// Without refraction.
    pub zenith_geometric_deg: f64,
    /// Eastward from north, degrees in [0, 360).
    pub azimuth_deg: f64,
    /// Geocentric declination and right ascension, degrees.
    pub declination_deg: f64,
    pub right_ascension_deg: f64,
    /// Earth–sun distance, AU.
    pub distance_au: f64,
}

impl SunPosition {
    /// Elevation above the horizon with refraction, degrees.
    pub fn elevation_deg(&self) -> f64 {
        90.0 - self.zenith_deg
    }

    /// Unit vector towards the sun in the local east-north-up frame.
    pub fn enu_direction(&self) -> glam::DVec3 {
        let (e, a) = (self.elevation_deg().to_radians(), self.azimuth_deg.to_radians());
        glam::DVec3::new(e.cos() * a.sin(), e.cos() * a.cos(), e.sin())
    }
}

/// Julian day of a proleptic Gregorian calendar date and UT time of day.
pub fn julian_day(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: f64) -> f64 {
    let (mut y, mut m) = (year as f64, month as f64);
    if m <= 2.0 {
        y -= 1.0;
        m += 12.0;
    }
    let d = day as f64 + (hour as f64 + (minute as f64 + second / 60.0) / 60.0) / 24.0;
    let a = (y / 100.0).floor();
    let b = 2.0 - a + (a / 4.0).floor();
    (365.25 * (y + 4716.0)).floor() + (30.6001 * (m + 1.0)).floor() + d + b - 1524.5
}

/// Julian day of Unix milliseconds.
pub fn julian_day_of_unix_ms(ms: i64) -> f64 {
    2_440_587.5 + ms as f64 / 86_400_000.0
}

fn norm360(x: f64) -> f64 {
    x.rem_euclid(360.0)
}

/// The sun's position for `input`.
pub fn sun_position(input: &SunInput) -> SunPosition {
    let jde = input.jd + input.delta_t / 86_400.0;
    let t = (jde - 2_451_545.0) / 36_525.0;
    // Geometric mean longitude and anomaly, eccentricity (Meeus 25.2–25.4).
    let l0 = norm360(280.46646 + 36_000.769_83 * t + 0.000_303_2 * t * t);
    let m = norm360(357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t * t).to_radians();
    let e = 0.016_708_634 - 0.000_042_037 * t - 0.000_000_126_7 * t * t;
    let c = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * m.sin()
        + (0.019_993 - 0.000_101 * t) * (2.0 * m).sin()
        + 0.000_289 * (3.0 * m).sin();
    let true_long = l0 + c;
    let nu = m + c.to_radians();
    let r = 1.000_001_018 * (1.0 - e * e) / (1.0 + e * nu.cos());
    // Nutation (Meeus 22, the four main terms) and obliquity.
    let omega = (125.044_52 - 1_934.136_261 * t).to_radians();
    let l_sun = (280.4665 + 36_000.769_8 * t).to_radians();
    let l_moon = (218.3165 + 481_267.881_3 * t).to_radians();
    let d_psi = (-17.20 * omega.sin() - 1.32 * (2.0 * l_sun).sin() - 0.23 * (2.0 * l_moon).sin()
        + 0.21 * (2.0 * omega).sin())
        / 3600.0;
    let d_eps = (9.20 * omega.cos() + 0.57 * (2.0 * l_sun).cos() + 0.10 * (2.0 * l_moon).cos()
        - 0.09 * (2.0 * omega).cos())
        / 3600.0;
    let eps0 = 23.0 + 26.0 / 60.0 + 21.448 / 3600.0 - (46.8150 * t + 0.000_59 * t * t - 0.001_813 * t * t * t) / 3600.0;
    let eps = (eps0 + d_eps).to_radians();
    // Apparent longitude: nutation and aberration (−20.4898″ / R).
    let lambda = (true_long + d_psi - 20.4898 / 3600.0 / r).to_radians();
    let alpha = (eps.cos() * lambda.sin()).atan2(lambda.cos());
    let delta = (eps.sin() * lambda.sin()).asin();
    // Apparent sidereal time at Greenwich (UT), then the local hour angle.
    let d = input.jd - 2_451_545.0;
    let tu = d / 36_525.0;
    let theta0 =
        norm360(280.460_618_37 + 360.985_647_366_29 * d + 0.000_387_933 * tu * tu - tu * tu * tu / 38_710_000.0);
    let theta = theta0 + d_psi * eps.cos();
    let h = norm360(theta + input.lon_deg - alpha.to_degrees()).to_radians();
    // Topocentric parallax (SPA 3.12).
    let phi = input.lat_deg.to_radians();
    let xi = (8.794 / (3600.0 * r)).to_radians();
    let u = (0.996_647_19 * phi.tan()).atan();
    let x = u.cos() + input.elevation_m / 6_378_140.0 * phi.cos();
    let y = 0.996_647_19 * u.sin() + input.elevation_m / 6_378_140.0 * phi.sin();
    let d_alpha = (-x * xi.sin() * h.sin()).atan2(delta.cos() - x * xi.sin() * h.cos());
    let delta_p = ((delta.sin() - y * xi.sin()) * d_alpha.cos()).atan2(delta.cos() - x * xi.sin() * h.cos());
    let h_p = h - d_alpha;
    // Elevation, refraction (SPA 3.14), azimuth.
    let e0 = (phi.sin() * delta_p.sin() + phi.cos() * delta_p.cos() * h_p.cos()).asin().to_degrees();
    let refraction = if e0 >= -(0.26667 + 0.5667) {
        (input.pressure_mbar / 1010.0) * (283.0 / (273.0 + input.temperature_c)) * 1.02
            / (60.0 * (e0 + 10.3 / (e0 + 5.11)).to_radians().tan())
    } else {
        0.0
    };
    let gamma = h_p.sin().atan2(h_p.cos() * phi.sin() - delta_p.tan() * phi.cos()).to_degrees();
    SunPosition {
        zenith_deg: 90.0 - (e0 + refraction),
        zenith_geometric_deg: 90.0 - e0,
        azimuth_deg: norm360(gamma + 180.0),
        declination_deg: delta.to_degrees(),
        right_ascension_deg: norm360(alpha.to_degrees()),
        distance_au: r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NREL SPA's test vector (Reda & Andreas 2004, table A4.1; in ../shared/data/README.md).
    #[test]
    fn matches_the_nrel_spa_test_vector_within_the_noaa_class_bound() {
        let jd = julian_day(2003, 10, 17, 19, 30, 30.0); // 12:30:30 at UTC−7
        assert!((jd - 2_452_930.312_847).abs() < 1e-6, "{jd}");
        let p = sun_position(&SunInput {
            jd,
            delta_t: 67.0,
            lat_deg: 39.742_476,
            lon_deg: -105.1786,
            elevation_m: 1830.14,
            pressure_mbar: 820.0,
            temperature_c: 11.0,
        });
        let bound = 0.01;
        eprintln!(
            "SPA test vector: zenith error {:.5}°, geometric zenith {:.5}°, azimuth {:.5}°",
            p.zenith_deg - 50.111_622,
            p.zenith_geometric_deg - 50.127_954,
            p.azimuth_deg - 194.340_241
        );
        assert!((p.zenith_deg - 50.111_622).abs() < bound, "zenith {}", p.zenith_deg);
        assert!((p.zenith_geometric_deg - 50.127_954).abs() < bound, "geometric zenith {}", p.zenith_geometric_deg);
        assert!((p.azimuth_deg - 194.340_241).abs() < bound, "azimuth {}", p.azimuth_deg);
    }

    #[test]
    fn unix_time_and_calendar_agree() {
        assert!((julian_day_of_unix_ms(0) - julian_day(1970, 1, 1, 0, 0, 0.0)).abs() < 1e-9);
        let p = SunPosition {
            zenith_deg: 0.0,
            zenith_geometric_deg: 0.0,
            azimuth_deg: 0.0,
            declination_deg: 0.0,
            right_ascension_deg: 0.0,
            distance_au: 1.0,
        };
        assert!((p.enu_direction() - glam::DVec3::Z).length() < 1e-12);
    }
}
