//! Analyst example: what can a visitor see from the largest park, and would
//! a proposed 120 m tower break the skyline seen from there?
//!
//! Builds the surface model of the city (DEM with buildings burnt in, 5 m
//! cells), computes the viewshed of an observer (eyes 1.6 m up) at the
//! park's centre for targets 1.6 m above the surface, and writes
//! `out/viewshed_from_park/visible.asc` and a PNG map. Then it places a
//! 120 m tower 600 m from the viewpoint (due east or west, towards the
//! middle of the district), traces the sightline to its top
//! (naming what is in the way, if anything) and compares the tower's
//! elevation angle with the existing skyline on that bearing.
//!
//! ```text
//! cargo run --release --example viewshed_from_park
//! ```

use std::path::PathBuf;

use glam::DVec3;
use urbis_model::{Bounds, FeatureId, SemanticClass};
use urbis_sim::city::{GridOptions, flood_grid};
use urbis_sim::report::{Ramp, map_png, write_ascii_grid};
use urbis_sim::viewshed::{Sight, line_of_sight, skyline_angle, viewshed};

fn main() -> anyhow::Result<()> {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let (mut city, _) = urbis_model::open_city(&[dir])?;
    let out = PathBuf::from("out/viewshed_from_park");
    std::fs::create_dir_all(&out)?;
    let grid = flood_grid(&mut city, &GridOptions::default())?;

    let park = {
        let mut q = city.world.query::<(&SemanticClass, &Bounds, &FeatureId)>();
        q.iter(&city.world)
            .filter(|(c, _, _)| **c == SemanticClass::PLANT_COVER)
            .max_by(|a, b| {
                let area = |b: &Bounds| b.size().x * b.size().y;
                area(a.1).total_cmp(&area(b.1)).then_with(|| b.2.guid.cmp(&a.2.guid))
            })
            .map(|(_, b, f)| (b.center(), f.guid.clone()))
            .ok_or_else(|| anyhow::anyhow!("no park"))?
    };
    let observer = grid.cell_at_enu(park.0.x, park.0.y).ok_or_else(|| anyhow::anyhow!("park outside the grid"))?;
    let eye_h = 1.6;
    let visible = viewshed(&grid, observer, eye_h, 1.6);
    let values: Vec<f32> = visible.iter().map(|v| if *v { 1.0 } else { 0.0 }).collect();
    write_ascii_grid(&out.join("visible.asc"), &grid, &values)?;
    let ramp = Ramp {
        title: "visible from the park".into(),
        unit: "1 = seen".into(),
        min: 0.5,
        max: 1.0,
        colors: vec![[255, 190, 60], [230, 120, 20]],
    };
    map_png(&out.join("visible.png"), &grid, &values, &ramp, &format!("Viewshed from park {} (eyes 1.6 m)", park.1))?;
    let seen = visible.iter().filter(|v| **v).count();
    let area_km2 = seen as f64 * grid.model.dx * grid.model.dx / 1e6;
    println!("viewpoint: park {} (cell {:?}); visible: {seen} cells, {area_km2:.3} km²", park.1, observer);

    // The proposed tower, 600 m from the viewpoint towards the middle of the grid, due east or west.
    let (ox, oy) = observer;
    let eye = grid.enu[oy * grid.nx() + ox] + DVec3::new(0.0, 0.0, eye_h);
    let steps = (600.0 / grid.model.dx) as usize;
    let (tower_cell, bearing) =
        if ox >= grid.nx() / 2 { ((ox.saturating_sub(steps), oy), 270.0) } else { ((ox + steps, oy), 90.0) };
    anyhow::ensure!(tower_cell.0 < grid.nx(), "the tower site is off the grid");
    let base = grid.enu[tower_cell.1 * grid.nx() + tower_cell.0];
    let top = base + DVec3::new(0.0, 0.0, 120.0);
    let distance = (top - eye).truncate().length();
    let tower_angle = ((top.z - eye.z) / distance).atan().to_degrees();
    let skyline = skyline_angle(&grid, observer, eye_h, bearing);
    let sight = line_of_sight(&city, eye, top);
    let breaks = tower_angle > skyline;
    println!(
        "tower top at {distance:.0} m: elevation {tower_angle:.2}°, existing skyline on that bearing {skyline:.2}°"
    );
    match &sight {
        Sight::Clear => println!("sightline to the tower's top: clear"),
        Sight::Blocked { id, class, distance, .. } => {
            println!("sightline to the tower's top: blocked by {id} ({class:?}) at {distance:.0} m")
        }
    }
    println!("skyline check: {}", if breaks { "FAIL: the tower rises above the existing skyline" } else { "pass" });
    std::fs::write(
        out.join("skyline.csv"),
        format!(
            "viewpoint,bearing_deg,tower_distance_m,tower_elevation_deg,skyline_elevation_deg,breaks_skyline\n{},{bearing},{distance:.1},{tower_angle:.3},{skyline:.3},{breaks}\n",
            park.1
        ),
    )?;
    println!("outputs in {}", out.display());
    Ok(())
}
