//! LISFLOOD-FP cases run with Urbis' solver against what LISFLOOD-FP 8.1
//! itself wrote for them (`tests/data/lisflood/*/lisflood-fp-8.1/`, see its
//! README): the gauge series and maximum-depth grids, compared value by
//! value; the output files' layout, compared line by line; and the mass
//! balance, where Urbis is exact and LISFLOOD-FP is not.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use urbis_sim::lisflood::{self, Case};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/lisflood").join(rel)
}

/// A grid file's values (row 0 north), NODATA kept as written.
fn grid(path: &Path) -> (Vec<String>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[..6].iter().map(|l| l.to_string()).collect();
    let values = lines[6..].iter().flat_map(|l| l.split_whitespace()).map(|v| v.parse().expect("number")).collect();
    (header, values)
}

/// A `.stage` file: its header lines and its rows (time, depths).
fn stage(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("Time; stages")).expect("stage header") + 1;
    let rows = lines[at..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|v| v.parse().expect("number")).collect())
        .collect();
    (lines[..at].iter().map(|l| l.to_string()).collect(), rows)
}

/// The last `.mass` row's volume column.
fn final_volume(path: &Path) -> f64 {
    let text = std::fs::read_to_string(path).expect("mass");
    text.lines().last().and_then(|l| l.split_whitespace().nth(5)).and_then(|v| v.parse().ok()).expect("volume")
}

/// Runs `case` (relative to the data folder) into a fresh folder; returns it.
fn run(case: &str) -> (Case, PathBuf, lisflood::RunSummary) {
    let par = data(case);
    let c = Case::load(&par).unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join(format!("urbis-lisflood-{}-{}", std::process::id(), case.replace('/', "-")));
    let _ = std::fs::remove_dir_all(&out);
    let s = lisflood::run(&c, &out, 1 << 30, &AtomicBool::new(false), |_| {}).unwrap_or_else(|e| panic!("{e}"));
    (c, out, s)
}

/// Compares one case with LISFLOOD-FP: returns the largest gauge-peak
/// difference and the share of wet cells whose maximum depth is within 5 cm.
fn compare(case: &str) -> (f64, f64, Vec<f64>) {
    let (c, out, summary) = run(case);
    let name = &c.params.resroot;
    let reference = data(case).parent().expect("dir").join("lisflood-fp-8.1");
    let (ours_h, ours) = stage(&out.join(format!("{name}.stage")));
    let (theirs_h, theirs) = stage(&reference.join(format!("{name}.stage")));
    assert_eq!(ours_h, theirs_h, "{case}: the .stage header is LISFLOOD-FP's, line for line");
    assert_eq!(ours.len(), theirs.len(), "{case}: one row per massint, as LISFLOOD-FP writes them");
    let gauges = theirs[0].len() - 1;
    let peak = |rows: &[Vec<f64>], g: usize| rows.iter().map(|r| r[g]).fold(0.0, f64::max);
    let diffs: Vec<f64> = (1..=gauges).map(|g| (peak(&ours, g) - peak(&theirs, g)).abs()).collect();
    let (oh, og) = grid(&out.join(format!("{name}.max")));
    let (th, tg) = grid(&reference.join(format!("{name}.max")));
    assert_eq!(oh, th, "{case}: the .max header is LISFLOOD-FP's");
    assert_eq!(og.len(), tg.len());
    let wet: Vec<usize> = (0..tg.len()).filter(|&k| tg[k] > 0.01 || og[k] > 0.01).collect();
    assert!(!wet.is_empty(), "{case}: something floods");
    let close = wet.iter().filter(|&&k| (og[k] - tg[k]).abs() <= 0.05).count() as f64 / wet.len() as f64;
    assert!(summary.mass_error.abs() < 1e-9, "{case}: mass error {}", summary.mass_error);
    eprintln!(
        "{case}: gauge peaks within {:.4} m of LISFLOOD-FP ({diffs:.4?}); {:.2} % of {} wet cells' maximum depth within 5 cm",
        diffs.iter().copied().fold(0.0, f64::max),
        close * 100.0,
        wet.len()
    );
    let _ = std::fs::remove_dir_all(&out);
    (diffs.iter().copied().fold(0.0, f64::max), close, diffs)
}

/// EA Test 1: levels held on the west edge (HVAR, minutes), start depths.
#[test]
fn ea_test_1_matches_lisflood_fp() {
    let (peak, close, _) = compare("ea1/ea1.par");
    assert!(peak <= 0.05, "gauge peaks {peak} m apart");
    assert!(close >= 0.99, "{close}");
}

/// EA Test 2 (from its description): a gzipped DEM and inflow on 100 m of edge, 48 h.
#[test]
fn ea_test_2_matches_lisflood_fp() {
    let (peak, close, _) = compare("ea2/ea2.par");
    assert!(peak <= 0.05, "gauge peaks {peak} m apart");
    assert!(close >= 0.99, "{close}");
}

/// A valley with a point hydrograph, a Manning grid, a free edge, a fixed
/// stage and a NODATA wall: with LISFLOOD-FP's default (2D) friction, and with
/// `1Dfriction`, where both solvers ring at gauge 3 when the flood reaches the
/// fixed-stage pond (around t = 4500 s) and disagree there by up to 9 cm.
#[test]
fn valley_matches_lisflood_fp_with_both_frictions() {
    let (peak, close, _) = compare("valley/valley.par");
    assert!(peak <= 0.05, "2D friction: gauge peaks {peak} m apart");
    assert!(close >= 0.99, "{close}");
    let (_, close, diffs) = compare("valley/valley_1d.par");
    assert!(diffs[0] <= 0.05 && diffs[1] <= 0.05 && diffs[3] <= 0.05, "1D friction: {diffs:?}");
    assert!(diffs[2] <= 0.10, "1D friction, gauge 3: {diffs:?}");
    assert!(close >= 0.98, "{close}");
    // Friction from both directions slows the flow: the 2D run holds more water at its end.
    let two = final_volume(&data("valley/lisflood-fp-8.1/valley.mass"));
    let one = final_volume(&data("valley/lisflood-fp-8.1/valley_1d.mass"));
    assert!(two > one, "LISFLOOD-FP itself: {two} vs {one}");
}

/// EA Test 3 and Ritter's dam break: LISFLOOD-FP gains water there by
/// clipping negative depths (its own `.mass` file shows it); Urbis keeps
/// exactly what entered.
#[test]
fn where_lisflood_fp_adds_water_urbis_keeps_mass() {
    let (_, _, s) = run("ea3/ea3.par");
    assert!((s.volume - 1310.0).abs() < 1e-6, "Urbis: {} m³ of the 1310 that entered", s.volume);
    let theirs = final_volume(&data("ea3/lisflood-fp-8.1/ea3.mass"));
    assert!(theirs > 2000.0, "LISFLOOD-FP's reference holds {theirs} m³");
    let (_, _, s) = run("ritter/ritter.par");
    // 1 m over 200 of 400 cells of 0.5 m, three rows: 150 m³.
    assert!((s.volume - 150.0).abs() < 1e-9, "{}", s.volume);
    assert!(final_volume(&data("ritter/lisflood-fp-8.1/ritter.mass")) > 150.3);
    // Until the front (undamped at θ = 1 without friction) rings back past them, the
    // reservoir gauge and the one at the dam agree to millimetres; after t ≈ 6 s the two
    // solvers' oscillations part.
    let (c, out, _) = run("ritter/ritter.par");
    let (_, ours) = stage(&out.join(format!("{}.stage", c.params.resroot)));
    let (_, theirs) = stage(&data("ritter/lisflood-fp-8.1/ritter.stage"));
    let early: Vec<_> = ours.iter().zip(&theirs).filter(|(a, _)| a[0] < 6.0).collect();
    assert!(early.len() >= 10);
    for (a, b) in early {
        for g in [1, 2] {
            assert!((a[g] - b[g]).abs() < 0.005, "t = {}: gauge {g} {} vs {}", a[0], a[g], b[g]);
        }
    }
}

/// Keywords Urbis does not run are refused with their lines; bad files name themselves.
#[test]
fn unsupported_keywords_and_bad_inputs_are_refused_clearly() {
    let dir = std::env::temp_dir().join(format!("urbis-lisflood-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let par = dir.join("bad.par");
    std::fs::write(&par, "DEMfile dem.asc\nacceleration\nSGCwidth w.asc\nrainfall r.rain\nRoe\n").expect("write");
    let e = Case::load(&par).unwrap_err().to_string();
    for want in ["bad.par", "line 3: `SGCwidth`", "line 4: `rainfall`", "line 5: `Roe`"] {
        assert!(e.contains(want), "{want}: {e}");
    }
    std::fs::write(&par, "DEMfile dem.asc\nacceleration\nbcifile b.bci\nbdyfile b.bdy\n").expect("write");
    std::fs::write(dir.join("dem.asc"), "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n0 0\n0 0\n")
        .expect("dem");
    std::fs::write(dir.join("b.bci"), "W 0 2 QVAR missing\n").expect("bci");
    std::fs::write(dir.join("b.bdy"), "title\nother\n1 seconds\n0 0\n").expect("bdy");
    let e = Case::load(&par).unwrap_err().to_string();
    assert!(e.contains("b.bci:1") && e.contains("missing") && e.contains("b.bdy"), "{e}");
    std::fs::write(dir.join("b.bci"), "P 5 5 QFIX 1\n").expect("bci");
    let e = Case::load(&par).unwrap_err().to_string();
    assert!(e.contains("b.bci:1") && e.contains("outside"), "{e}");
    std::fs::write(dir.join("dem.asc"), "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n0 0\n0\n")
        .expect("dem");
    let e = Case::load(&par).unwrap_err().to_string();
    assert!(e.contains("dem.asc") && e.contains("truncated"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
