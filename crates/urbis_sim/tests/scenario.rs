//! Scenario files: errors that name line and field, modifications applied to
//! the sample city and its flood grid, and a whole run (baseline against
//! scenario) with its outputs, including one interrupted part-way.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use urbis_model::{Bounds, CityModel};
use urbis_sim::city::{Cover, GridOptions, flood_grid};
use urbis_sim::scenario::apply::{Apply, apply_to_city, apply_to_grid, building_extent, to_enu};
use urbis_sim::scenario::run::{Progress, Quiet, run};
use urbis_sim::scenario::{Modification, Scenario, ScenarioError};

fn sample() -> CityModel {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    urbis_model::open_city(&[dir]).expect("open").0
}

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, Path::new("test.toml"))
}

/// The error's text, which must name the file, the line and the field.
fn error(text: &str) -> String {
    let e = parse(text).expect_err("must be refused").to_string();
    assert!(e.starts_with("test.toml:"), "names the file: {e}");
    e
}

const TOWER: &str = r#"
crs = "local"
[[modify]]
kind = "add_building"
id = "t"
height = 60
footprint = [[300, 50], [330, 50], [330, 80], [300, 80]]
"#;

#[test]
fn errors_name_line_column_and_field() {
    let e = error("name = \"x\"\ncrs = \"EPSG:999999\"\n");
    assert!(e.contains(":2:") && e.contains("crs") && e.contains("unknown CRS"), "{e}");

    let e = error(&TOWER.replace("[330, 80], [300, 80]", "[300, 80], [330, 80]"));
    assert!(e.contains(":7:") && e.contains("modify[0].footprint") && e.contains("self-intersecting"), "{e}");

    let e = error("[flood]\nduration_min = 10\nrain_mm_per_h = -5\n");
    assert!(e.contains(":3:") && e.contains("flood.rain_mm_per_h") && e.contains("negative"), "{e}");

    let e = error("[flood]\nhyetograph = [[0, 10], [10, -1]]\n");
    assert!(e.contains(":2:") && e.contains("flood.hyetograph[1]") && e.contains("negative"), "{e}");

    let e = error("[flood]\nrain_mm_per_hour = 5\n");
    assert!(e.contains(":2:") && e.contains("rain_mm_per_hour"), "unknown field named: {e}");

    let e = error("[[modify]]\nkind = \"demolish\"\nid = \"x\"\n");
    assert!(e.contains(":2:") && e.contains("modify[0].kind") && e.contains("demolish"), "{e}");

    let e = error("[[modify]]\nkind = \"add_building\"\nid = \"x\"\nheight = 10\n");
    assert!(e.contains("modify[0].footprint") && e.contains("required"), "{e}");

    let e = error("[sunlight]\ndate = \"2027-02-30\"\n");
    assert!(e.contains(":2:") && e.contains("sunlight.date"), "{e}");

    let e = error("[flood]\ncoarsen = 2\n[[flood.gauge]]\nat = [\"a\", 1]\n");
    assert!(e.contains(":4:"), "type errors carry the line: {e}");
}

#[test]
fn example_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/scenarios") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "toml") {
            let s = Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.modifications.is_empty(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn a_wrong_crs_is_caught_when_placed_in_the_city() {
    let mut city = sample();
    // Latitude written first: PROJ accepts it, but it lands far from the city.
    let s = parse(
        "crs = \"EPSG:4326\"\n[[modify]]\nkind = \"add_building\"\nid = \"t\"\nheight = 10\n\
         footprint = [[39.0, 115.9], [39.001, 115.9], [39.001, 115.901]]\n",
    )
    .expect("parses");
    let e = apply_to_city(&mut city, &s, Apply::Rebuild).expect_err("not a latitude").to_string();
    assert!(e.contains("line 6") && e.contains("modify[0].footprint") && e.contains("latitude 115.9"), "{e}");
    // Valid coordinates, but in Germany.
    let s = parse(
        "crs = \"EPSG:4326\"\n[[modify]]\nkind = \"add_building\"\nid = \"t\"\nheight = 10\n\
         footprint = [[10.0, 50.0], [10.001, 50.0], [10.001, 50.001]]\n",
    )
    .expect("parses");
    let e = apply_to_city(&mut city, &s, Apply::Rebuild).expect_err("far away").to_string();
    assert!(e.contains("line 6") && e.contains("km from the city"), "{e}");
}

#[test]
fn buildings_are_added_removed_and_raised() {
    let mut city = sample();
    let victim = "XA-B02739";
    let raised = "XA-B02503";
    let e_raised = city.features().by_guid(raised).expect("raised exists");
    let (base, top) = building_extent(&city, e_raised).expect("extent");
    let text = format!(
        "{TOWER}\n[[modify]]\nkind = \"remove_building\"\nid = \"{victim}\"\n\
         [[modify]]\nkind = \"raise_building\"\nid = \"{raised}\"\nby = 12\n"
    );
    let s = parse(&text).expect("parses");
    let n = city.feature_count();
    let changes = apply_to_city(&mut city, &s, Apply::Rebuild).expect("applies");
    assert_eq!(city.feature_count(), n, "one added, one removed");
    assert!(city.features().by_guid(victim).is_none());
    // The new tower stands on the ground: its base within 0.5 m of the terrain under its corners.
    let t = changes.added[0];
    let b = *city.world.get::<Bounds>(t).expect("bounds");
    let ground = urbis_sim::scenario::apply::ground_at(&city, 300.0, 50.0).expect("terrain");
    assert!((b.min.z - ground).abs() < 0.5, "base {} vs ground {ground}", b.min.z);
    assert!((b.max.z - b.min.z - 60.0).abs() < 1e-3);
    // It is in the spatial index: a ray down onto its roof hits it.
    let hit = city.spatial().ray_cast(&city.world, glam::DVec3::new(315.0, 65.0, 500.0), glam::DVec3::NEG_Z, 1000.0);
    assert_eq!(hit.map(|h| h.entity), Some(t));
    // The raised building's top rose by exactly 12 m about the same base.
    let (b2, t2) = building_extent(&city, e_raised).expect("extent");
    assert!((b2 - base).abs() < 1e-3 && (t2 - top - 12.0).abs() < 1e-3, "{base},{top} -> {b2},{t2}");
    // The flood grid sees the tower as raised cells.
    let grid = flood_grid(&mut city, &GridOptions { coarsen: 2, ..Default::default() }).expect("grid");
    let (i, j) = grid.cell_at_enu(315.0, 65.0).expect("in grid");
    assert_eq!(grid.cover[j * grid.nx() + i], Cover::Building);
    assert_eq!(grid.building[j * grid.nx() + i], Some(t));
}

#[test]
fn levees_block_every_gap_and_terrain_edits_move_the_bed() {
    let mut city = sample();
    let s = parse(
        "crs = \"local\"\n[[modify]]\nkind = \"levee\"\nheight = 2.5\nwidth = 1\n\
         line = [[-600, -200], [-300, -150], [200, -260], [600, -120]]\n\
         [[modify]]\nkind = \"terrain\"\nby = -1.5\npolygon = [[-100, 100], [100, 100], [100, 300], [-100, 300]]\n",
    )
    .expect("parses");
    let base = flood_grid(&mut city, &GridOptions { coarsen: 2, ..Default::default() }).expect("grid");
    let mut grid = base.clone();
    let edits = apply_to_grid(&mut grid, &s, city.frame()).expect("edits");
    assert!(edits.levee_cells > 50 && edits.terrain_cells > 200, "{edits:?}");
    let nx = grid.nx();
    let raised = |c: usize| grid.cover[c] == Cover::Building || grid.model.z[c] >= base.model.z[c] + 2.5 - 1e-9;
    // Walk the line in quarter cells: consecutive cells must share a face, or one of the two
    // cells that would join them across the corner must be raised too.
    let Modification::Levee { line, .. } = &s.modifications[0] else { panic!() };
    let pts = to_enu(line, city.frame()).expect("enu");
    let mut last: Option<(usize, usize)> = None;
    for w in pts.windows(2) {
        let n = ((w[1] - w[0]).length() / (grid.model.dx / 4.0)).ceil() as usize;
        for k in 0..=n {
            let p = w[0] + (w[1] - w[0]) * (k as f64 / n as f64);
            let Some((i, j)) = grid.cell_at_enu(p.x, p.y) else { continue };
            assert!(raised(j * nx + i), "cell ({i},{j}) on the line is not raised");
            if let Some((li, lj)) = last
                && li != i
                && lj != j
            {
                assert!(raised(lj * nx + i) || raised(j * nx + li), "diagonal gap at ({li},{lj})-({i},{j})");
            }
            last = Some((i, j));
        }
    }
    // Inside the lowered polygon the bed is 1.5 m lower; outside it is untouched (away from the levee).
    let (i, j) = grid.cell_at_enu(0.0, 200.0).expect("in grid");
    let c = j * nx + i;
    if grid.cover[c] != Cover::Building {
        assert!((grid.model.z[c] - (base.model.z[c] - 1.5)).abs() < 1e-9);
    }
    let (i, j) = grid.cell_at_enu(0.0, 500.0).expect("in grid");
    assert_eq!(grid.model.z[j * nx + i], base.model.z[j * nx + i]);
}

/// A small scenario that runs in seconds: 20 m cells, 10 minutes of rain.
fn small_scenario(out: &Path) -> Scenario {
    let text = format!(
        "name = \"small\"\n{TOWER}\n[flood]\ncoarsen = 4\nduration_min = 10\nrain_mm_per_h = 120\n\
         [[flood.gauge]]\nname = \"park\"\nat = [280, 40]\n\
         [sunlight]\nstep_min = 30\nradius_m = 120\nspacing_m = 10\n\
         [viewshed]\ncoarsen = 4\n[[viewshed.viewpoint]]\nname = \"pond\"\nat = [-310, 309]\n\
         [compliance]\nheight_limit_m = 50\nsetback_m = 5\nmax_far = 2.5\n"
    );
    let path = out.join("small.toml");
    std::fs::write(&path, text).expect("write");
    Scenario::load(&path).expect("parses")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("urbis-scenario-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn a_scenario_runs_baseline_and_scenario_and_writes_its_report() {
    let out = temp("run");
    let s = small_scenario(&out);
    let (mut a, mut b) = (sample(), sample());
    let outcome = run(&s, &mut a, &mut b, &out, &AtomicBool::new(false), &mut Quiet).expect("runs");
    assert!(!outcome.interrupted);
    let report = std::fs::read_to_string(&outcome.report).expect("report");
    for section in [
        "## Changes",
        "## Flood",
        "### Difference",
        "### Gauges",
        "## Sunlight",
        "## Viewsheds",
        "## Planning compliance",
    ] {
        assert!(report.contains(section), "report lacks {section}:\n{report}");
    }
    // The tower is 60 m against a 50 m limit.
    assert!(report.contains("| t | height limit | 60.0 m | <= 50.0 m (everywhere) | **FAIL** |"), "{report}");
    for f in [
        "baseline/flood/max_depth.tif",
        "scenario/flood/max_depth.png",
        "diff/flood_max_depth_diff.tif",
        "diff/flood_max_depth_diff.png",
        "diff/flood_gauges.png",
        "sunlight_windows.csv",
        "sun_hours_ground_diff.png",
        "sunlight_windows.png",
        "shadow_1000.png",
        "shadow_1400.png",
        "viewshed_pond_diff.png",
        "compliance.csv",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // The report's flood table and the run's own summary give the same
    // ground area and flooded buildings (roofs left out of both).
    let row = report.lines().find(|l| l.starts_with("| baseline |")).expect("baseline flood row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let summary = std::fs::read_to_string(out.join("baseline/flood/summary.txt")).expect("summary");
    let area = summary.lines().find_map(|l| l.split_once("m: ").filter(|_| l.starts_with("ground area")));
    let area = area.map(|(_, v)| v.trim_end_matches(" km2")).expect("ground area line");
    assert_eq!(cells[5], area, "report row {row} against summary {summary}");
    let flooded = summary.lines().find_map(|l| l.strip_prefix("flooded buildings (water > ")).expect("flooded line");
    assert_eq!(flooded.rsplit(' ').next(), Some(cells[6]), "{row} against {summary}");
    // The depth difference GeoTIFF is georeferenced like the grid and NaN on the tower.
    let tif = urbis_formats::geotiff::read(&out.join("diff/flood_max_depth_diff.tif")).expect("tif");
    assert_eq!(tif.crs, Some(urbis_geo::Epsg::CGCS2000_GK_CM_117E));
    assert!(tif.heights.iter().any(|v| v.is_nan()) && tif.heights.iter().any(|v| v.is_finite()));
    // Gauges: one row per minute and run, plus t = 0.
    let gauges = std::fs::read_to_string(out.join("diff/flood_gauges.csv")).expect("gauges");
    assert_eq!(gauges.lines().count(), 1 + 2 * 11, "{gauges}");
    // The tower shades the ground around it: ground sunlight can only drop, and somewhere it does.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("json")).expect("parse");
    assert_eq!(results["buildings"]["t"]["change"], "added");
    assert!(report.contains("Ground within 120 m losing an hour or more"), "{report}");
    // At 10:00 the 60 m tower's shadow falls north-west of it: new shade, and some of it.
    let row = report.lines().find(|l| l.starts_with("| 1000 |")).expect("shadow row");
    let new_shade: f64 = row.split('|').nth(2).and_then(|s| s.trim().parse().ok()).expect("m2");
    assert!(new_shade >= 400.0, "{row}");
    let windows = std::fs::read_to_string(out.join("sunlight_windows.csv")).expect("windows");
    let rows: Vec<(f64, f64)> = windows
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[6].parse().expect("b"), f[7].parse().expect("s"))
        })
        .collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|(b, s)| s <= b), "a new building cannot add sunlight to a window");
    assert!(rows.iter().any(|(b, s)| s < b), "the 60 m tower shades some window within 120 m");
    std::fs::remove_dir_all(&out).ok();
}

/// Sets the cancel flag after the first progress report, as Ctrl-C would.
struct CancelAfterFirst<'a>(&'a AtomicBool);

impl Progress for CancelAfterFirst<'_> {
    fn stage(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn an_interrupted_run_keeps_partial_outputs() {
    let out = temp("cancel");
    let s = small_scenario(&out);
    let (mut a, mut b) = (sample(), sample());
    let cancel = AtomicBool::new(false);
    let outcome = run(&s, &mut a, &mut b, &out, &cancel, &mut CancelAfterFirst(&cancel)).expect("runs");
    assert!(outcome.interrupted);
    let report = std::fs::read_to_string(out.join("report.md")).expect("report");
    assert!(report.contains("Interrupted") && report.contains("(partial)"), "{report}");
    assert!(!report.contains("## Sunlight"), "later sections did not run");
    let summary = std::fs::read_to_string(out.join("baseline/flood/summary.txt")).expect("partial flood summary");
    assert!(summary.contains("PARTIAL, interrupted at 1.0 min"), "{summary}");
    assert!(out.join("baseline/flood/max_depth.tif").is_file());
    assert!(!out.join("scenario/flood").exists(), "the scenario run never started");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_grid_too_large_for_memory_is_refused_up_front() {
    let out = temp("memory");
    let path = out.join("big.toml");
    std::fs::write(&path, format!("{TOWER}\n[flood]\ncoarsen = 1\nmemory_limit_mb = 1\n")).expect("write");
    let s = Scenario::load(&path).expect("parses");
    let (mut a, mut b) = (sample(), sample());
    let e = run(&s, &mut a, &mut b, &out, &AtomicBool::new(false), &mut Quiet).expect_err("too large").to_string();
    // TOWER has 7 lines plus a blank one: `coarsen = 1` is on line 10.
    assert!(e.contains("big.toml") && e.contains("line 10") && e.contains("flood.coarsen"), "{e}");
    assert!(e.contains("bytes, over the limit"), "{e}");
    assert!(!out.join("baseline/flood/max_depth.tif").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn height_limits_come_from_a_geojson_layer_of_zones() {
    let out = temp("zones");
    // Two zones in WGS84 around the tower (at about 115.9036, 39.0006): the lower limit applies.
    let ring = |d: f64| {
        format!(
            "[[{a},{b}],[{c},{b}],[{c},{e}],[{a},{e}],[{a},{b}]]",
            a = 115.9036 - d,
            b = 39.0006 - d,
            c = 115.9036 + d,
            e = 39.0006 + d
        )
    };
    let layer = format!(
        r#"{{"type":"FeatureCollection","features":[
        {{"type":"Feature","id":"core","properties":{{"max_height_m":45}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}},
        {{"type":"Feature","id":"district","properties":{{"max_height_m":80}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}]}}"#,
        ring(0.001),
        ring(0.01)
    );
    std::fs::write(out.join("zones.geojson"), layer).expect("layer");
    let path = out.join("z.toml");
    std::fs::write(&path, format!("{TOWER}\n[compliance]\nheight_limits = \"zones.geojson\"\n")).expect("write");
    let s = Scenario::load(&path).expect("parses");
    let zones = &s.compliance.as_ref().expect("compliance").height_zones;
    assert_eq!(
        zones.iter().map(|z| (z.name.as_str(), z.max_height_m)).collect::<Vec<_>>(),
        [("core", 45.0), ("district", 80.0)]
    );
    let (mut a, mut b) = (sample(), sample());
    run(&s, &mut a, &mut b, &out, &AtomicBool::new(false), &mut Quiet).expect("runs");
    let csv = std::fs::read_to_string(out.join("compliance.csv")).expect("csv");
    assert!(csv.contains("t,\"height limit\",\"60.0 m\",\"<= 45.0 m (zone core)\",false"), "{csv}");

    // A zone without its property is refused, naming the layer and the feature.
    std::fs::write(out.join("zones.geojson"), r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#).expect("layer");
    let e = Scenario::load(&path).expect_err("no max_height_m").to_string();
    assert!(e.contains("z.toml:10:") && e.contains("zones.geojson feature 0") && e.contains("max_height_m"), "{e}");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn hostile_scenario_files_are_errors_not_crashes() {
    // 100,000-deep arrays and inline tables.
    let deep = format!("name = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse(&deep).is_err());
    let deep = format!("x = {}1{}\n", "{a = ".repeat(50_000), "}".repeat(50_000));
    assert!(parse(&deep).is_err());
    // A footprint of a million points is read (bounded by the file) and refused for what it is.
    let pts = "[1.0, 2.0], ".repeat(1_000_000);
    let e = parse(&format!(
        "crs = \"local\"\n[[modify]]\nkind = \"add_building\"\nid = \"x\"\nheight = 10\nfootprint = [{pts}]\n"
    ))
    .expect_err("all points equal: not a valid polygon")
    .to_string();
    assert!(e.contains("modify[0].footprint"), "{e}");
    // Numbers that are not numbers.
    for bad in ["nan", "inf", "-inf", "1e999"] {
        let e = parse(&format!("[flood]\nrain_mm_per_h = {bad}\n")).expect_err(bad).to_string();
        assert!(e.contains("test.toml:2:"), "{bad}: {e}");
    }
    // Not UTF-8 / not TOML at all.
    assert!(parse("\u{0}\u{1}\u{2}garbage = = =").is_err());
}
