//! Validation of the local-inertial flood solver against cases with known
//! answers, each with its tolerance:
//! - lake at rest over an uneven bed with islands: speeds < 1e-6 m/s;
//! - mass balance with rain, an inflow hydrograph and a fixed-stage outlet:
//!   relative error < 1e-6;
//! - 1D dam break on a wet bed against Stoker's analytic solution (h_l = 1 m,
//!   h_r = 0.85 m, Froude ≈ 0.08): front position within 5 % of the distance
//!   travelled, plateau depth within 5 %;
//! - filling of a closed depression: the final level is volume ÷ area.

use urbis_sim::flood::*;

const LIMIT: u64 = 1 << 30;
/// Gravity of the analytic references below (SWASHES' value); the models here are given the same.
const G: f64 = 9.81;

fn model(nx: usize, ny: usize, dx: f64, z: Vec<f64>, n: f64) -> FloodModel {
    FloodModel::new(nx, ny, dx, z, n, LIMIT).expect("model")
}

#[test]
fn lake_at_rest_stays_at_rest() {
    let (nx, ny, dx) = (64, 48, 5.0);
    let z: Vec<f64> = (0..nx * ny)
        .map(|c| {
            let (x, y) = ((c % nx) as f64, (c / nx) as f64);
            let island = if ((x - 40.0).powi(2) + (y - 20.0).powi(2)).sqrt() < 6.0 { 2.0 } else { 0.0 };
            1.2 * (x * 0.31).sin() * (y * 0.23).cos() + island
        })
        .collect();
    let h0: Vec<f64> = z.iter().map(|z| (2.0 - z).max(0.0)).collect();
    let dry0 = h0.iter().filter(|h| **h == 0.0).count();
    assert!(dry0 > 20, "the islands stand out of the water");
    let mut sim = FloodSim::new(model(nx, ny, dx, z, 0.03), Some(h0)).expect("sim");
    let mut worst: f64 = 0.0;
    sim.run_until(1800.0, |s| worst = worst.max(s.max_velocity_now()));
    assert!(worst < 1e-6, "max speed {worst} m/s");
    for j in 0..ny {
        for i in 0..nx {
            let c = j * nx + i;
            if sim.h[c] > 0.0 {
                assert!((sim.level(i, j) - 2.0).abs() < 1e-9, "level {} at {i},{j}", sim.level(i, j));
            }
        }
    }
    assert_eq!(sim.h.iter().filter(|h| **h == 0.0).count(), dry0, "islands stay dry");
}

#[test]
fn mass_is_conserved_with_rain_inflow_and_an_outlet() {
    let (nx, ny, dx) = (120, 90, 2.0);
    // A valley draining east-south-east with a bump field.
    let z: Vec<f64> = (0..nx * ny)
        .map(|c| {
            let (x, y) = ((c % nx) as f64, (c / nx) as f64);
            10.0 - 0.03 * x + 0.002 * (y - 45.0).powi(2) + 0.3 * (x * 0.2).sin() * (y * 0.15).sin()
        })
        .collect();
    let mut m = model(nx, ny, dx, z, 0.035);
    m.rain = Series::steps(vec![(0.0, 50e-3 / 3600.0), (1800.0, 0.0)]);
    m.inflows.push(Inflow { cell: (5, 45), discharge: Series::steps(vec![(0.0, 0.0), (300.0, 2.0), (2400.0, 0.5)]) });
    let closed = FloodSim::new(m.clone(), None).expect("sim");
    // A closed box, and the same with a fixed-stage outlet at the low end.
    let mut outlet = m;
    outlet.fixed_stage = (40..50).map(|j| ((nx - 1, j), 5.0)).collect();
    let open = FloodSim::new(outlet, None).expect("sim");
    for (name, mut sim) in [("closed", closed), ("outlet", open)] {
        let mut worst: f64 = 0.0;
        sim.run_until(3600.0, |s| {
            if s.steps % 50 == 0 {
                worst = worst.max(s.mass_error().abs());
            }
        });
        worst = worst.max(sim.mass_error().abs());
        assert!(worst < 1e-6, "{name}: relative mass error {worst:e}");
        let b = sim.balance;
        let rain = 50e-3 * 0.5 * (nx * ny) as f64 * dx * dx;
        assert!((b.rain - rain).abs() < 1e-6 * rain, "{name}: rain booked {} vs {rain}", b.rain);
        let inflow = 2.0 * 2100.0 + 0.5 * 1200.0;
        assert!((b.inflow - inflow).abs() < 1e-6 * inflow, "{name}: inflow booked {} vs {inflow}", b.inflow);
        if name == "outlet" {
            assert!(b.boundary_out > 0.0, "water leaves through the outlet");
        } else {
            assert_eq!(b.boundary_out, 0.0);
        }
        assert!(sim.max_depth.iter().any(|d| *d > 0.05), "{name}: something floods");
    }
}

/// Stoker's solution of the dam break on a wet bed: the middle depth and the shock speed.
fn stoker(h_l: f64, h_r: f64) -> (f64, f64) {
    let f = |h_m: f64| {
        let rarefaction = 2.0 * ((G * h_l).sqrt() - (G * h_m).sqrt());
        let shock = (h_m - h_r) * (G * (h_m + h_r) / (2.0 * h_m * h_r)).sqrt();
        rarefaction - shock
    };
    let (mut lo, mut hi) = (h_r, h_l);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 { lo = mid } else { hi = mid }
    }
    let h_m = 0.5 * (lo + hi);
    let u_m = 2.0 * ((G * h_l).sqrt() - (G * h_m).sqrt());
    (h_m, h_m * u_m / (h_m - h_r))
}

#[test]
fn dam_break_on_a_wet_bed_matches_stoker() {
    // A low-Froude case (Fr ≈ 0.08 behind the shock), the regime the local-inertial
    // equations are meant for: they drop the advection term, so their fronts travel at
    // about √(g·h) and lag Stoker's shock as the Froude number grows (measured here:
    // 8 % at h_r = 0.7 m, Fr 0.18; 13 % at h_r = 0.5 m, Fr 0.33).
    let (h_l, h_r) = (1.0, 0.85);
    let (h_m, speed) = stoker(h_l, h_r);
    // Cross-check with SWASHES' closed form (Delestre et al. 2013): c_m = √(g·h_m) solves
    // −8·g·h_r·c_m²·(√(g·h_l) − c_m)² + (c_m² − g·h_r)²·(c_m² + g·h_r) = 0, and the shock moves at
    // 2·c_m²·(√(g·h_l) − c_m)/(c_m² − g·h_r). For h_l = 1 m, h_r = 0.85 m: h_m = 0.92345 m, 3.07417 m/s.
    let cm = (G * h_m).sqrt();
    let residual =
        -8.0 * G * h_r * cm * cm * ((G * h_l).sqrt() - cm).powi(2) + (cm * cm - G * h_r).powi(2) * (cm * cm + G * h_r);
    assert!(residual.abs() < 1e-9 && (h_m - 0.92345).abs() < 1e-5, "{h_m} {residual}");
    let swashes_speed = 2.0 * cm * cm * ((G * h_l).sqrt() - cm) / (cm * cm - G * h_r);
    assert!((speed - swashes_speed).abs() < 1e-9 && (speed - 3.07417).abs() < 1e-4, "{speed}");
    let (nx, dx, dam) = (1200usize, 0.5, 600usize);
    let z = vec![0.0; nx];
    let h0: Vec<f64> = (0..nx).map(|i| if i < dam { h_l } else { h_r }).collect();
    let mut m = model(nx, 1, dx, z, 0.0);
    m.h_min = 1e-6;
    m.g = G;
    let mut sim = FloodSim::new(m, Some(h0)).expect("sim");
    let t = 40.0;
    sim.run_until(t, |_| {});
    let x_dam = dam as f64 * dx;
    let threshold = h_r + 0.5 * (h_m - h_r);
    let front_cell = (0..nx).rev().find(|&i| sim.h[i] > threshold).expect("front");
    let front = (front_cell as f64 + 1.0) * dx;
    let want = speed * t;
    let got = front - x_dam;
    assert!((got - want).abs() < 0.05 * want, "front travelled {got:.2} m, Stoker {want:.2} m");
    // The plateau between rarefaction and shock.
    let mid = ((x_dam + 0.5 * want) / dx) as usize;
    assert!((sim.h[mid] - h_m).abs() < 0.05 * h_m, "plateau {:.4} m vs {h_m:.4} m", sim.h[mid]);
    assert!(sim.mass_error().abs() < 1e-9);
}

/// The local-inertial equations lack advection, so their shock lags
/// Stoker's more as the Froude number grows; measured with the same set-up
/// at three tailwater depths (Froude number behind the shock in brackets).
/// The lags are pinned here, as the README states them.
#[test]
fn the_shock_lags_stoker_more_as_the_froude_number_grows() {
    let lag = |h_r: f64| -> (f64, f64) {
        let h_l = 1.0;
        let (h_m, speed) = stoker(h_l, h_r);
        let u_m = 2.0 * ((G * h_l).sqrt() - (G * h_m).sqrt());
        let (nx, dx, dam) = (1200usize, 0.5, 600usize);
        let h0: Vec<f64> = (0..nx).map(|i| if i < dam { h_l } else { h_r }).collect();
        let mut m = model(nx, 1, dx, vec![0.0; nx], 0.0);
        m.h_min = 1e-6;
        m.g = G;
        let mut sim = FloodSim::new(m, Some(h0)).expect("sim");
        let t = 40.0;
        sim.run_until(t, |_| {});
        let threshold = h_r + 0.5 * (h_m - h_r);
        let front_cell = (0..nx).rev().find(|&i| sim.h[i] > threshold).expect("front");
        let got = (front_cell as f64 + 1.0) * dx - dam as f64 * dx;
        (1.0 - got / (speed * t), u_m / (G * h_m).sqrt())
    };
    let cases: Vec<(f64, f64, f64)> = [0.85, 0.7, 0.5]
        .iter()
        .map(|&h_r| {
            let (l, fr) = lag(h_r);
            (h_r, l, fr)
        })
        .collect();
    for (h_r, l, fr) in &cases {
        eprintln!("Stoker, h_r = {h_r} m (Fr {fr:.2}): the local-inertial shock lags by {:.1} %", l * 100.0);
    }
    assert!(cases[0].1.abs() < 0.05, "{cases:?}");
    assert!((0.06..=0.10).contains(&cases[1].1), "h_r 0.7: {cases:?}");
    assert!((0.11..=0.15).contains(&cases[2].1), "h_r 0.5: {cases:?}");
    assert!(cases[0].2 < cases[1].2 && cases[1].2 < cases[2].2);
}

#[test]
fn a_closed_depression_fills_to_volume_over_area() {
    let (nx, ny, dx) = (40, 40, 1.0);
    let pit = |i: usize, j: usize| (10..30).contains(&i) && (10..30).contains(&j);
    let z: Vec<f64> = (0..nx * ny).map(|c| if pit(c % nx, c / nx) { -5.0 } else { 0.0 }).collect();
    let mut m = model(nx, ny, dx, z, 0.03);
    // 2 m³/s for 200 s: 400 m³ into a 20 m × 20 m pit → 1 m of water.
    m.inflows.push(Inflow { cell: (12, 12), discharge: Series::steps(vec![(0.0, 2.0), (200.0, 0.0)]) });
    let mut sim = FloodSim::new(m, None).expect("sim");
    sim.run_until(3000.0, |_| {});
    let volume = 400.0;
    let want = -5.0 + volume / 400.0;
    for j in 0..ny {
        for i in 0..nx {
            if pit(i, j) {
                assert!((sim.level(i, j) - want).abs() < 5e-3, "level {} at {i},{j} vs {want}", sim.level(i, j));
            } else {
                assert_eq!(sim.h[j * nx + i], 0.0, "outside the pit stays dry");
            }
        }
    }
    let mean: f64 = (0..nx * ny).filter(|c| pit(c % nx, c / nx)).map(|c| sim.h[c]).sum::<f64>() / 400.0;
    assert!((mean - 1.0).abs() < 1e-9, "mean depth {mean}");
}

#[test]
fn grids_too_large_for_memory_are_refused_up_front() {
    let e = FloodModel::new(200_000, 200_000, 1.0, Vec::new(), 0.03, 8 << 30).expect_err("too large");
    assert!(matches!(e, FloodError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("200000 × 200000"));
}

#[test]
fn nodata_cells_are_walls_that_hold_no_water() {
    // A 1D channel with a NODATA (NaN) block in the middle: water released on
    // the left never reaches the right, NaN cells stay dry, mass is exact.
    let (nx, ny, dx) = (40, 3, 2.0);
    let mut z = vec![0.0; nx * ny];
    for j in 0..ny {
        z[j * nx + 20] = f64::NAN;
    }
    let h0: Vec<f64> = (0..nx * ny).map(|c| if c % nx < 10 { 1.0 } else { 0.0 }).collect();
    let mut sim = FloodSim::new(model(nx, ny, dx, z, 0.03), Some(h0)).expect("sim");
    sim.run_until(600.0, |_| {});
    for j in 0..ny {
        assert_eq!(sim.h[j * nx + 20], 0.0, "NODATA holds no water");
        for i in 21..nx {
            assert_eq!(sim.h[j * nx + i], 0.0, "water crossed the NODATA wall at {i},{j}");
        }
    }
    assert!(sim.h[15] > 0.0, "water spread up to the wall");
    assert!(sim.mass_error().abs() < 1e-12, "{}", sim.mass_error());
}

#[test]
fn a_radial_dam_break_stays_symmetric_across_bands_and_tiles() {
    // The solver works in bands of rows (with halo rows from their
    // neighbours) and 32 × 32 activity tiles; columns are never split. A
    // radially symmetric release over a dry, radially symmetric bed must stay
    // symmetric under transposition (rows ↔ columns) and reflection, to
    // round-off, as its front crosses band and tile edges.
    let n = 211;
    let c = (n - 1) as f64 / 2.0;
    let r = |i: usize, j: usize| ((i as f64 - c).powi(2) + (j as f64 - c).powi(2)).sqrt();
    let z: Vec<f64> = (0..n * n).map(|k| 0.3 * (r(k % n, k / n) / 7.0).cos()).collect();
    let h0: Vec<f64> = (0..n * n).map(|k| if r(k % n, k / n) < 25.0 { 1.5 } else { 0.0 }).collect();
    let mut sim = FloodSim::new(model(n, n, 2.0, z, 0.03), Some(h0)).expect("sim");
    sim.run_until(90.0, |_| {});
    let wet = sim.h.iter().filter(|h| **h > 0.0).count();
    assert!(wet > 10_000, "the front spread over several bands: {wet} wet cells");
    let mut worst: f64 = 0.0;
    for j in 0..n {
        for i in 0..n {
            let h = sim.h[j * n + i];
            worst = worst.max((h - sim.h[i * n + j]).abs());
            worst = worst.max((h - sim.h[(n - 1 - j) * n + i]).abs());
            worst = worst.max((h - sim.h[j * n + (n - 1 - i)]).abs());
        }
    }
    assert!(worst < 1e-9, "asymmetry {worst} m");
    assert!(sim.mass_error().abs() < 1e-12, "{}", sim.mass_error());
}
