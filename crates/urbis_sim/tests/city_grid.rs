//! The sample city as a flood grid: aligned with its DEM, buildings burnt in
//! as raised cells (to their roofs; a tower's podium to the podium's), the river filled and held at its level where it leaves
//! the grid; a short rainstorm conserves mass, and the outputs (ASCII grid,
//! CSV, GeoJSON, PNG map) are written and read back.

use urbis_model::{Bounds, SemanticClass};
use urbis_sim::city::{Cover, GridOptions, flood_grid, flooded_buildings, ground_rise};
use urbis_sim::flood::{FloodSim, Series};
use urbis_sim::report::{Ramp, write_ascii_grid, write_buildings_csv, write_buildings_geojson};

fn sample() -> urbis_model::CityModel {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    urbis_model::open_city(&[dir]).expect("load").0
}

#[test]
fn the_sample_city_becomes_a_flood_grid_and_a_rainstorm_report() {
    let mut city = sample();
    let grid = flood_grid(&mut city, &GridOptions { coarsen: 2, ..Default::default() }).expect("grid");
    let (nx, ny) = (grid.nx(), grid.ny());
    assert_eq!((nx, ny, grid.model.dx), (220, 220, 10.0), "the 5 m DEM coarsened twice");
    assert!(grid.model.z.iter().all(|z| z.is_finite()));
    // Every building cell stands at least as high as the building's roof, and belongs to it.
    let mut building_cells = 0;
    for c in 0..nx * ny {
        if let Some(b) = grid.building[c] {
            building_cells += 1;
            assert_eq!(grid.cover[c], Cover::Building);
            // Raised above the ground (by more than a metre even where a low building stands on a
            // slope), and no higher than the building's own top.
            let top = city.world.get::<Bounds>(b).expect("bounds").max.z;
            let ground = grid.enu[c].z;
            assert!(
                grid.model.z[c] > ground + 1.0 && grid.model.z[c] <= top + 1e-9,
                "cell {c}: {} (ground {ground}, top {top})",
                grid.model.z[c]
            );
            assert_eq!(city.world.get::<SemanticClass>(b), Some(&SemanticClass::BUILDING));
        }
    }
    assert!(building_cells > 3000, "{building_cells}");
    // The river is filled to its surface and held where it crosses the west and east edges.
    let river = city.features().by_guid("XA-W-river").expect("river");
    let surface = city.world.get::<Bounds>(river).expect("bounds").max.z;
    // Every wet cell's level is the surface of a water body (the river's or the pond's).
    let surfaces: Vec<f64> = ["XA-W-river", "XA-W-pond"]
        .iter()
        .filter_map(|id| city.features().by_guid(id))
        .filter_map(|e| city.world.get::<Bounds>(e).map(|b| b.max.z))
        .collect();
    assert!(surfaces.contains(&surface));
    let wet: Vec<usize> = (0..nx * ny).filter(|&c| grid.h0[c] > 0.0).collect();
    assert!(wet.len() > 300, "{}", wet.len());
    let on_river = wet.iter().filter(|&&c| (grid.model.z[c] + grid.h0[c] - surface).abs() < 1e-6).count();
    assert!(on_river > 300, "{on_river} cells at the river's surface");
    for &c in &wet {
        assert!(grid.cover[c] == Cover::Water);
        let level = grid.model.z[c] + grid.h0[c];
        assert!(surfaces.iter().any(|s| (level - s).abs() < 1e-6), "cell {c} at {level}, surfaces {surfaces:?}");
    }
    let outlets = &grid.model.fixed_stage;
    assert!(outlets.iter().any(|((i, _), _)| *i == 0) && outlets.iter().any(|((i, _), _)| *i == nx - 1), "{outlets:?}");

    // Ten minutes of 100 mm/h.
    let mut model = grid.model.clone();
    model.rain = Series::constant(0.1 / 3600.0);
    let mut sim = FloodSim::new(model, Some(grid.h0.clone())).expect("sim");
    sim.run_until(600.0, |_| {});
    assert!(sim.mass_error().abs() < 1e-6, "{}", sim.mass_error());
    let rise: Vec<f32> = sim.max_depth.iter().zip(&grid.h0).map(|(d, h)| (*d as f64 - h) as f32).collect();
    // Rain alone gives 16.7 mm everywhere; runoff concentrates somewhere well above it.
    assert!(rise.iter().cloned().fold(0.0, f32::max) > 0.1);
    let flooded = flooded_buildings(&city, &grid, &rise, 0.05);
    assert!(!flooded.is_empty());
    assert!(flooded.windows(2).all(|w| w[0].max_depth >= w[1].max_depth), "deepest first");
    assert!(city.features().by_guid(&flooded[0].id).is_some());

    let dir = std::env::temp_dir().join(format!("urbis-flood-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    write_ascii_grid(&dir.join("max_depth.asc"), &grid, &sim.max_depth).expect("asc");
    let back = urbis_formats::ascii_grid::read(&dir.join("max_depth.asc")).expect("read back");
    assert_eq!((back.ncols, back.nrows, back.crs.map(|c| c.0)), (nx, ny, Some(4548)));
    // Row 0 of the file is the north: the solver's last row.
    let (i, j) = (100, ny - 1);
    assert!((back.heights[i] as f64 - sim.max_depth[j * nx + i] as f64).abs() < 1e-3);
    let frame = *city.frame();
    write_buildings_csv(&dir.join("b.csv"), &frame, &flooded).expect("csv");
    write_buildings_geojson(&dir.join("b.geojson"), &frame, &flooded).expect("geojson");
    let csv = std::fs::read_to_string(dir.join("b.csv")).expect("csv");
    assert_eq!(csv.lines().count(), flooded.len() + 1);
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("b.geojson")).expect("gj")).expect("json");
    let first = &gj["features"][0];
    assert_eq!(first["properties"]["building_id"], flooded[0].id.as_str());
    let lon = first["geometry"]["coordinates"][0].as_f64().expect("lon");
    assert!((115.8..116.0).contains(&lon), "{lon}");
    let ramp = Ramp {
        title: "max depth".into(),
        unit: "m".into(),
        min: 0.01,
        max: 0.5,
        colors: vec![[200, 220, 240], [8, 48, 107]],
    };
    let marks = vec![((grid.nx() / 2, grid.ny() / 2), "大寒 gauge 1".to_string())];
    urbis_sim::report::map_png_marked(
        &dir.join("map.png"),
        &grid,
        &rise,
        &ramp,
        "暴雨 rainstorm: max depth",
        |v| v > 0.01,
        &marks,
        None,
    )
    .expect("png");
    let img = image::open(dir.join("map.png")).expect("png").to_rgb8();
    assert!(img.width() > 220 && img.height() > 220);
    // The title is drawn: dark anti-aliased ink (grey levels, not one bitmap colour) in its band.
    let title: Vec<u8> =
        (0..300).flat_map(|x| (8..40).map(move |y| (x, y))).map(|(x, y)| img.get_pixel(x, y).0[0]).collect();
    assert!(title.iter().filter(|v| **v < 100).count() > 200, "title ink");
    assert!(title.iter().filter(|v| (100..220).contains(*v)).count() > 50, "anti-aliased edges");
    let lines = [urbis_sim::report::ChartLine {
        label: "大寒 gauge".into(),
        color: [30, 90, 200],
        dashed: true,
        points: (0..50).map(|k| (k as f64, (k as f64 / 8.0).sin())).collect(),
    }];
    urbis_sim::report::line_chart_png(&dir.join("chart.png"), "水位 water level", "minutes", "depth (m)", &lines)
        .expect("chart");
    let chart = image::open(dir.join("chart.png")).expect("chart").to_rgb8();
    let blue = chart.pixels().filter(|p| p.0[2] > 150 && p.0[0] < 90).count();
    assert!(blue > 300, "the dashed line is drawn: {blue}");
    if std::env::var_os("URBIS_KEEP_REPORT").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
}

/// Water on roofs is not ground flooding: the rise every report starts from
/// (maps, deep area, flooded buildings) leaves building cells out.
#[test]
fn ground_rise_leaves_roofs_out() {
    let mut city = sample();
    let grid = flood_grid(&mut city, &GridOptions { coarsen: 4, ..Default::default() }).expect("grid");
    // A metre of water everywhere above the initial level, roofs included.
    let depths: Vec<f32> = grid.h0.iter().map(|h| (h + 1.0) as f32).collect();
    let rise = ground_rise(&grid, &depths);
    let mut roofs = 0;
    for (c, r) in rise.iter().enumerate() {
        if grid.cover[c] == Cover::Building {
            assert!(r.is_nan(), "cell {c} is a roof");
            roofs += 1;
        } else {
            assert!((r - 1.0).abs() < 1e-6, "cell {c}: {r}");
        }
    }
    assert!(roofs > 0, "the sample city has buildings");
}
