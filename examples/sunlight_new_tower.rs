//! Analyst example: whose flats lose their winter sunlight if a 120 m tower
//! is built in a park?
//!
//! Sunlight hours on 大寒 (20 January), 8:00–16:00 true solar time, on the
//! south-facing windows (façade points every 5 m, every 3 m storey) of the
//! residential buildings within 250 m north of the site, before and after.
//! The site is the park with the most homes within 250 m to its north.
//! GB 50180 asks at least 2 hours for dwellings in this climate zone. Writes
//! `out/sunlight_new_tower/windows.csv` (every window, hours before and
//! after) and `buildings.csv` (per building: failing windows before and
//! after), and prints the buildings that lose compliance.
//!
//! ```text
//! cargo run --release --example sunlight_new_tower
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use glam::DVec3;
use urbis_model::FeatureId;
use urbis_sim::proposal::{Proposal, park_with_most_homes_north};
use urbis_sim::sunlight::{SunDay, facade_points, sunlight_hours};

const HEIGHT: f64 = 120.0;
const SIDE: f64 = 30.0;
const REQUIRED_H: f64 = 2.0;

fn main() -> anyhow::Result<()> {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let (mut city, _) = urbis_model::open_city(&[dir])?;
    let out = PathBuf::from("out/sunlight_new_tower");
    std::fs::create_dir_all(&out)?;

    // The site: the park with the most homes within 250 m to its north (winter shadows fall north).
    let site = park_with_most_homes_north(&mut city, 250.0).ok_or_else(|| anyhow::anyhow!("no park in the city"))?;
    let origin = DVec3::new(site.centre.x - SIDE / 2.0, site.centre.y - SIDE / 2.0, site.ground);
    println!(
        "site: park {} at ENU ({:.0}, {:.0}); tower {SIDE} m × {SIDE} m × {HEIGHT} m",
        site.park, site.centre.x, site.centre.y
    );
    let neighbours = site.homes_north;
    let windows: Vec<_> =
        facade_points(&city, &neighbours, 5.0, 3.0).into_iter().filter(|p| p.normal.y < -0.5).collect();
    let day = SunDay::major_cold(2027);
    let dirs = day.directions(city.frame());
    let before = sunlight_hours(&city, &windows, &dirs, day.step_min);

    // Build the tower and look again.
    Proposal {
        id: "proposed-tower".into(),
        origin,
        width: SIDE,
        depth: SIDE,
        height: HEIGHT,
        storey: 4.0,
        usage: "office".into(),
    }
    .build(&mut city);
    let after = sunlight_hours(&city, &windows, &dirs, day.step_min);

    let mut w = std::io::BufWriter::new(std::fs::File::create(out.join("windows.csv"))?);
    writeln!(w, "building_id,floor,x_enu,y_enu,hours_before,hours_after")?;
    let mut per_building: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for ((p, b), a) in windows.iter().zip(&before).zip(&after) {
        let id = city.world.get::<FeatureId>(p.building).map(|f| f.guid.clone()).unwrap_or_default();
        writeln!(w, "{id},{},{:.1},{:.1},{b:.2},{a:.2}", p.floor, p.position.x, p.position.y)?;
        let e = per_building.entry(id).or_default();
        e.0 += 1;
        e.1 += usize::from(*b < REQUIRED_H);
        e.2 += usize::from(*a < REQUIRED_H);
    }
    w.flush()?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out.join("buildings.csv"))?);
    writeln!(w, "building_id,windows,failing_before,failing_after,loses_compliance")?;
    let mut losing = Vec::new();
    for (id, (n, fb, fa)) in &per_building {
        let loses = *fb == 0 && *fa > 0;
        writeln!(w, "{id},{n},{fb},{fa},{loses}")?;
        if loses {
            losing.push((id.clone(), *fa, *n));
        }
    }
    w.flush()?;
    let failing = |h: &[f64]| h.iter().filter(|x| **x < REQUIRED_H).count();
    println!(
        "{} residential buildings, {} south-facing windows: failing the {REQUIRED_H} h rule {} before, {} after",
        per_building.len(),
        windows.len(),
        failing(&before),
        failing(&after)
    );
    println!("buildings that lose compliance because of the tower: {}", losing.len());
    for (id, fa, n) in losing.iter().take(15) {
        println!("  {id}: {fa} of {n} windows under {REQUIRED_H} h");
    }
    println!("outputs in {}", out.display());
    Ok(())
}
