//! Analyst example: does a proposed 120 m office tower in a park pass the
//! planning rules? A pass/fail table with the numbers:
//! - height limit (a constant 100 m here);
//! - setback: at least 10 m from the nearest road segment;
//! - floor-area ratio on its plot (the park) of at most 2.5;
//! - sunlight: no residential building within 250 m to its north may lose
//!   GB 50180's 2 hours on 大寒 (south-facing windows every 5 m, every 3 m storey).
//!
//! Writes `out/compliance_check/compliance.csv` and `compliance.md`.
//!
//! ```text
//! cargo run --release --example compliance_check
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use geo::{Area, Distance, Euclidean};
use glam::DVec3;
use urbis_model::{FeatureId, Footprint, SemanticClass};
use urbis_sim::proposal::{Proposal, park_with_most_homes_north};
use urbis_sim::sunlight::{SunDay, facade_points, sunlight_hours};

const HEIGHT_LIMIT: f64 = 100.0;
const SETBACK: f64 = 10.0;
const MAX_FAR: f64 = 2.5;
const SUN_HOURS: f64 = 2.0;

fn main() -> anyhow::Result<()> {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default())?;
    let (mut city, _) = urbis_model::open_city(&[dir])?;
    let out = PathBuf::from("out/compliance_check");
    std::fs::create_dir_all(&out)?;

    // The plot: the park with the most homes to its north (as in sunlight_new_tower).
    let site = park_with_most_homes_north(&mut city, 250.0).ok_or_else(|| anyhow::anyhow!("no park"))?;
    let (centre, ground, plot_id, plot) = (site.centre, site.ground, site.park.clone(), site.plot.clone());
    let tower = Proposal {
        id: "proposed-tower".into(),
        origin: DVec3::new(centre.x - 15.0, centre.y - 15.0, ground),
        width: 30.0,
        depth: 30.0,
        height: 120.0,
        storey: 4.0,
        usage: "office".into(),
    };

    // Setback: the nearest road segment's footprint.
    let fp = tower.footprint();
    let (road_id, road_distance) = {
        let mut q = city.world.query::<(&SemanticClass, &FeatureId, &Footprint)>();
        q.iter(&city.world)
            .filter(|(c, _, _)| **c == SemanticClass::ROAD)
            .map(|(_, f, r)| (f.guid.clone(), Euclidean.distance(&fp, &r.0)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("none".into(), f64::INFINITY))
    };
    let far = tower.floor_area() / plot.unsigned_area();

    // Sunlight before and after.
    let neighbours = site.homes_north;
    let windows: Vec<_> =
        facade_points(&city, &neighbours, 5.0, 3.0).into_iter().filter(|p| p.normal.y < -0.5).collect();
    let day = SunDay::major_cold(2027);
    let dirs = day.directions(city.frame());
    let before = sunlight_hours(&city, &windows, &dirs, day.step_min);
    tower.build(&mut city);
    let after = sunlight_hours(&city, &windows, &dirs, day.step_min);
    let mut failing: BTreeMap<bevy_ecs::prelude::Entity, (usize, usize)> = BTreeMap::new();
    for ((p, b), a) in windows.iter().zip(&before).zip(&after) {
        let e = failing.entry(p.building).or_default();
        e.0 += usize::from(*b < SUN_HOURS);
        e.1 += usize::from(*a < SUN_HOURS);
    }
    let losing: Vec<String> = failing
        .iter()
        .filter(|(_, (b, a))| *b == 0 && *a > 0)
        .filter_map(|(e, _)| city.world.get::<FeatureId>(*e).map(|f| f.guid.clone()))
        .collect();

    let rows = [
        (
            "height limit",
            format!("{:.0} m", tower.height),
            format!("<= {HEIGHT_LIMIT:.0} m"),
            tower.height <= HEIGHT_LIMIT,
        ),
        (
            "setback from roads",
            format!("{road_distance:.1} m (to {road_id})"),
            format!(">= {SETBACK:.0} m"),
            road_distance >= SETBACK,
        ),
        (
            "floor-area ratio",
            format!("{far:.2} ({:.0} m2 on {:.0} m2, plot {plot_id})", tower.floor_area(), plot.unsigned_area()),
            format!("<= {MAX_FAR}"),
            far <= MAX_FAR,
        ),
        (
            "sunlight (大寒 >= 2 h)",
            format!("{} of {} buildings to the north lose compliance", losing.len(), failing.len()),
            "none may lose it".to_string(),
            losing.is_empty(),
        ),
    ];
    let mut md =
        String::from("# Compliance of the proposed tower\n\n| rule | value | limit | result |\n|---|---|---|---|\n");
    let mut csv = String::from("rule,value,limit,pass\n");
    println!("{:<24} {:<58} {:<18} result", "rule", "value", "limit");
    for (rule, value, limit, pass) in &rows {
        let verdict = if *pass { "PASS" } else { "FAIL" };
        println!("{rule:<24} {value:<58} {limit:<18} {verdict}");
        md.push_str(&format!("| {rule} | {value} | {limit} | {verdict} |\n"));
        csv.push_str(&format!("\"{rule}\",\"{value}\",\"{limit}\",{pass}\n"));
    }
    if !losing.is_empty() {
        md.push_str(&format!("\nBuildings losing their winter sunlight: {}\n", losing.join(", ")));
        println!("losing sunlight: {}", losing.join(", "));
    }
    std::fs::write(out.join("compliance.md"), md)?;
    std::fs::write(out.join("compliance.csv"), csv)?;
    println!("outputs in {}", out.display());
    Ok(())
}
