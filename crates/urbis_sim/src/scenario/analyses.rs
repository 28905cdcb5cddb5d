//! The scenario's sunlight, viewshed and compliance sections: each runs on
//! the baseline and the modified city, writes its tables and maps, and
//! appends its part of the report.

use std::collections::BTreeMap;

use bevy_ecs::prelude::*;
use glam::DVec3;
use serde_json::json;
use urbis_model::{Attributes, Bounds, CityModel, FeatureId, Footprint, SemanticClass};

use super::apply::{Changes, building_extent, to_enu};
use super::run::{Ctx, Progress, RunError};
use super::{ComplianceSpec, SunlightSpec, ViewshedSpec};
use crate::city::{CityGrid, Cover};
use crate::report::{ChartLine, Ramp, Window, line_chart_png, map_png_marked};
use crate::sunlight::{FacadePoint, Shade, SunDay, buildings, facade_points};
use crate::viewshed::{skyline_angle, viewshed};

fn guid(city: &CityModel, e: Entity) -> Option<String> {
    city.world.get::<FeatureId>(e).map(|f| f.guid.clone())
}

/// A name as a file-name part: lower-case ASCII letters and digits, `_` for the rest.
fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}

/// A true solar time in hours as `HHMM`.
fn clock(t: f64) -> String {
    format!("{:02}{:02}", t.floor() as u32, (t.fract() * 60.0).round() as u32)
}

/// The open ground cells (not buildings, not NODATA) within `radius` of any of `centres`.
fn ground_cells(grid: &CityGrid, centres: &[DVec3], radius: f64) -> Vec<usize> {
    (0..grid.enu.len())
        .filter(|c| {
            let p = grid.enu[*c];
            grid.cover[*c] != Cover::Building
                && grid.model.z[*c].is_finite()
                && centres.iter().any(|q| (p - *q).truncate().length() <= radius)
        })
        .collect()
}

/// Hours of sun on ground cells within `radius` of `centres` (NaN elsewhere and on buildings).
fn ground_hours(shade: &Shade, grid: &CityGrid, centres: &[DVec3], radius: f64, spec: &SunlightSpec) -> Vec<f32> {
    let dirs = spec.day.directions(shade.city().frame());
    let cells = ground_cells(grid, centres, radius);
    let points: Vec<FacadePoint> = cells
        .iter()
        .map(|c| FacadePoint {
            building: Entity::PLACEHOLDER,
            position: grid.enu[*c] + DVec3::Z * 0.1,
            normal: DVec3::Z,
            floor: 0,
        })
        .collect();
    let hours = shade.sunlight_hours(&points, &dirs, spec.day.step_min);
    let mut out = vec![f32::NAN; grid.enu.len()];
    for (c, h) in cells.iter().zip(hours) {
        out[*c] = h as f32;
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(super) fn sunlight_section(
    cx: &mut Ctx,
    spec: &SunlightSpec,
    baseline: &mut CityModel,
    modified: &mut CityModel,
    changes: &Changes,
    grid_b: &CityGrid,
    grid_s: &CityGrid,
    progress: &mut dyn Progress,
) -> Result<bool, RunError> {
    let d = spec.day;
    cx.md.push_str(&format!(
        "\n## Sunlight\n\n{}-{:02}-{:02}, {:.0}:00–{:.0}:00 true solar time, every {} min; a window needs {} h.\n",
        d.year, d.month, d.day, d.from_h, d.to_h, d.step_min, spec.min_hours
    ));
    let centres = changes.centres(modified);
    if centres.is_empty() {
        cx.md.push_str("\nNo building is added or raised: nothing casts a new shadow.\n");
        return Ok(false);
    }
    progress.stage("sunlight", 4);
    // Neighbours of `usage` within the radius, by id (the same buildings in both cities).
    let changed: Vec<Entity> = changes.added.iter().chain(changes.raised.iter().map(|(e, _)| e)).copied().collect();
    let near: Vec<String> = buildings(modified)
        .into_iter()
        .filter(|e| !changed.contains(e))
        .filter(|e| {
            let r = modified.world.entity(*e);
            let ok_use =
                spec.usage.is_empty() || r.get::<Attributes>().and_then(|a| a.str("use")) == Some(spec.usage.as_str());
            let c = r.get::<Bounds>().map_or(DVec3::splat(f64::INFINITY), |b| b.center());
            ok_use && centres.iter().any(|q| (c - *q).truncate().length() <= spec.radius_m)
        })
        .filter_map(|e| guid(modified, e))
        .collect();
    let ents: Vec<Entity> = near.iter().filter_map(|id| baseline.features().by_guid(id)).collect();
    let mut windows = facade_points(baseline, &ents, spec.spacing_m, spec.storey_m);
    if spec.south_only {
        // Within 60° of due south: the outward normal's northing below -cos 60°.
        windows.retain(|p| p.normal.y < -0.5);
    }
    // From here on both cities are only read: one terrain height field each.
    let (baseline, modified): (&CityModel, &CityModel) = (baseline, modified);
    let (shade_b, shade_s) = (Shade::new(baseline), Shade::new(modified));
    let dirs_b = d.directions(baseline.frame());
    let before = shade_b.sunlight_hours(&windows, &dirs_b, d.step_min);
    progress.advance(1, "sunlight: baseline façades");
    if cx.cancelled() {
        return Ok(true);
    }
    let after = shade_s.sunlight_hours(&windows, &d.directions(modified.frame()), d.step_min);
    progress.advance(2, "sunlight: scenario façades");
    let mut csv = String::from("building_id,floor,x_enu,y_enu,z_enu,facing_deg,baseline_hours,scenario_hours\n");
    let mut per: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for ((p, b), a) in windows.iter().zip(&before).zip(&after) {
        let id = guid(baseline, p.building).unwrap_or_default();
        let facing = p.normal.x.atan2(p.normal.y).to_degrees().rem_euclid(360.0);
        csv.push_str(&format!(
            "{id},{},{:.2},{:.2},{:.2},{facing:.0},{b:.2},{a:.2}\n",
            p.floor, p.position.x, p.position.y, p.position.z
        ));
        let e = per.entry(id).or_default();
        e.0 += 1;
        e.1 += usize::from(*b < spec.min_hours);
        e.2 += usize::from(*a < spec.min_hours);
    }
    cx.write("sunlight_windows.csv", &csv)?;
    let mut bcsv = String::from("building_id,windows,failing_baseline,failing_scenario,loses_compliance\n");
    let mut losing = Vec::new();
    for (id, (n, fb, fs)) in &per {
        // A building complies when none of its sampled windows falls short (as GB 50180 is applied per dwelling).
        let loses = *fb == 0 && *fs > 0;
        bcsv.push_str(&format!("{id},{n},{fb},{fs},{loses}\n"));
        cx.building(id, "sun_failing_windows", json!([fb, fs]));
        if loses {
            losing.push(id.clone());
            cx.building(id, "loses_sunlight", json!(true));
        }
    }
    cx.write("sunlight_buildings.csv", &bcsv)?;
    let (nb, ns) =
        (before.iter().filter(|h| **h < spec.min_hours).count(), after.iter().filter(|h| **h < spec.min_hours).count());
    cx.md.push_str(&format!(
        "\n{} {} buildings within {} m of the changes, {} {}windows: {nb} fall short in the baseline, {ns} in the scenario.\n\n\
         **Buildings that lose compliance** (no window short before, some after): {}\n\n\
         Tables: `sunlight_windows.csv`, `sunlight_buildings.csv`.\n",
        per.len(),
        if spec.usage.is_empty() { "" } else { spec.usage.as_str() },
        spec.radius_m,
        windows.len(),
        if spec.south_only { "south-facing " } else { "" },
        if losing.is_empty() { "none".to_string() } else { losing.join(", ") }
    ));
    cx.summary.push(format!(
        "sunlight: {} windows short of {} h (baseline {nb}); {} buildings lose compliance",
        ns,
        spec.min_hours,
        losing.len()
    ));
    if cx.cancelled() {
        return Ok(true);
    }
    // Ground sunlight hours around the changes.
    let hb = ground_hours(&shade_b, grid_b, &centres, spec.radius_m, spec);
    progress.advance(3, "sunlight: baseline ground");
    let hs = ground_hours(&shade_s, grid_s, &centres, spec.radius_m, spec);
    progress.advance(4, "sunlight: scenario ground");
    let span = (d.to_h - d.from_h).max(1.0);
    let sun = Ramp {
        title: "sunlight".into(),
        unit: "hours".into(),
        min: 0.0,
        max: span,
        colors: vec![[37, 37, 80], [120, 80, 140], [230, 120, 80], [255, 230, 110]],
    };
    // Local maps: the analysed disc and a margin, the changed buildings marked.
    let window = Window::around_finite(grid_s, &hs, 6);
    let marks: Vec<((usize, usize), String)> =
        centres.iter().filter_map(|c| grid_s.cell_at_enu(c.x, c.y)).map(|c| (c, "changed".to_string())).collect();
    for (name, grid, h) in [("baseline", grid_b, &hb), ("scenario", grid_s, &hs)] {
        let path = cx.out.join(format!("sun_hours_ground_{name}.png"));
        let title = format!("Ground sunlight hours ({name})");
        map_png_marked(&path, grid, h, &sun, &title, |v| v >= 0.0, &marks, window)?;
    }
    let diff: Vec<f32> = hb.iter().zip(&hs).map(|(b, s)| s - b).collect();
    let div = Ramp {
        title: "sunlight change".into(),
        unit: "hours, scenario - baseline".into(),
        min: -span / 4.0,
        max: span / 4.0,
        colors: vec![[84, 39, 136], [178, 171, 210], [247, 247, 247], [253, 184, 99], [230, 97, 1]],
    };
    let path = cx.out.join("sun_hours_ground_diff.png");
    map_png_marked(&path, grid_s, &diff, &div, "Ground sunlight change", |v| v.abs() >= 0.05, &marks, window)?;
    let cell = grid_s.model.dx * grid_s.model.dx;
    let lost = diff.iter().filter(|v| **v <= -1.0).count() as f64 * cell;
    cx.md.push_str(&format!(
        "\nGround within {} m losing an hour or more: {lost:.0} m².\n\n![ground sunlight change](sun_hours_ground_diff.png)\n",
        spec.radius_m
    ));
    // How the windows' hours are distributed: the share with at least h hours, before and after.
    let share = |hours: &[f64]| -> Vec<(f64, f64)> {
        let steps = (span * 60.0 / d.step_min).round() as usize;
        (0..=steps)
            .map(|k| {
                let h = k as f64 * d.step_min / 60.0;
                (h, 100.0 * hours.iter().filter(|x| **x >= h - 1e-9).count() as f64 / hours.len().max(1) as f64)
            })
            .collect()
    };
    line_chart_png(
        &cx.out.join("sunlight_windows.png"),
        &format!("Windows with at least h hours of sun (needed: {} h)", spec.min_hours),
        "hours of sun",
        "% of windows",
        &[
            ChartLine { label: "baseline".into(), color: [90, 90, 90], dashed: true, points: share(&before) },
            ChartLine { label: "scenario".into(), color: [214, 39, 40], dashed: false, points: share(&after) },
        ],
    )?;
    cx.md.push_str("\n![windows by hours of sun](sunlight_windows.png)\n");
    // Shadow masks at set true solar times: shade in both, and shade the scenario adds.
    cx.md.push_str("\n| time | ground newly in shadow (m²) |\n|---|---|\n");
    let cells = ground_cells(grid_s, &centres, spec.radius_m);
    let points: Vec<DVec3> = cells.iter().map(|c| grid_s.enu[*c] + DVec3::Z * 0.1).collect();
    for &t in &spec.shadow_times_h {
        let at = SunDay { from_h: t - d.step_min / 120.0, to_h: t + d.step_min / 120.0, ..d };
        let Some(Some(sun)) = at.directions(modified.frame()).first().copied() else { continue };
        let (mb, ms) = (shade_b.shadow_mask(&points, Some(sun)), shade_s.shadow_mask(&points, Some(sun)));
        // 0: shade in both, 1: new shade; NaN: sunlit or outside the radius.
        let mut v = vec![f32::NAN; grid_s.enu.len()];
        let mut new_shade = 0usize;
        for ((c, b), s_) in cells.iter().zip(&mb).zip(&ms) {
            if *s_ {
                v[*c] = if *b { 0.0 } else { 1.0 };
                new_shade += usize::from(!*b);
            }
        }
        let hh = clock(t);
        let ramp = Ramp {
            title: "shadow".into(),
            unit: "0 both, 1 new".into(),
            min: 0.0,
            max: 1.0,
            colors: vec![[120, 120, 140], [150, 60, 200]],
        };
        let file = format!("shadow_{hh}.png");
        let title = format!("Shadows at {hh} true solar time");
        map_png_marked(&cx.out.join(&file), grid_s, &v, &ramp, &title, |x| x >= 0.0, &marks, window)?;
        cx.md.push_str(&format!("| {hh} | {:.0} |\n", new_shade as f64 * cell));
    }
    for &t in &spec.shadow_times_h {
        let hh = clock(t);
        cx.md.push_str(&format!("\n![shadows at {hh}](shadow_{hh}.png)"));
    }
    cx.md.push('\n');
    Ok(false)
}

pub(super) fn viewshed_section(
    cx: &mut Ctx,
    spec: &ViewshedSpec,
    modified: &CityModel,
    changes: &Changes,
    grid_b: &CityGrid,
    grid_s: &CityGrid,
    progress: &mut dyn Progress,
) -> Result<(), RunError> {
    let frame = *modified.frame();
    cx.md.push_str("\n## Viewsheds and skyline\n\n| viewpoint | visible baseline (km²) | visible scenario (km²) | newly hidden (km²) | skyline towards changes (°) | breaks skyline |\n|---|---|---|---|---|---|\n");
    let mut csv = String::from(
        "viewpoint,visible_baseline_km2,visible_scenario_km2,hidden_km2,skyline_baseline_deg,skyline_scenario_deg,breaks_skyline\n",
    );
    progress.stage("viewsheds", spec.viewpoints.len() as u64);
    let cell = grid_s.model.dx * grid_s.model.dx / 1e6;
    let centres = changes.centres(modified);
    for (k, vp) in spec.viewpoints.iter().enumerate() {
        if cx.cancelled() {
            break;
        }
        let p = to_enu(&vp.at, &frame).map_err(|e| cx.apply_err(e))?[0];
        let Some(obs) = grid_s.cell_at_enu(p.x, p.y) else {
            return Err(cx.apply_err(super::apply::ApplyError {
                at: vp.at.at.clone(),
                message: "lies outside the city's terrain".into(),
            }));
        };
        let vb = viewshed(grid_b, obs, vp.eye_height, spec.target_height);
        let vs = viewshed(grid_s, obs, vp.eye_height, spec.target_height);
        // -1 hidden by the scenario, 0 visible in both, +1 revealed, NaN never visible.
        let diff: Vec<f32> = vb
            .iter()
            .zip(&vs)
            .map(|(b, s)| match (b, s) {
                (false, false) => f32::NAN,
                _ => f32::from(u8::from(*s)) - f32::from(u8::from(*b)),
            })
            .collect();
        let (nb, ns) = (vb.iter().filter(|v| **v).count(), vs.iter().filter(|v| **v).count());
        let hidden = diff.iter().filter(|v| **v < 0.0).count();
        // The skyline along the bearing of each changed building.
        let (mut sb, mut ss) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for c in &centres {
            if let Some((ti, tj)) = grid_s.cell_at_enu(c.x, c.y) {
                let az = (ti as f64 - obs.0 as f64).atan2(tj as f64 - obs.1 as f64).to_degrees();
                sb = sb.max(skyline_angle(grid_b, obs, vp.eye_height, az));
                ss = ss.max(skyline_angle(grid_s, obs, vp.eye_height, az));
            }
        }
        let breaks = ss > sb + 0.05;
        let slug = slug(&vp.name);
        let ramp = Ramp {
            title: "visibility".into(),
            unit: "-1 lost, 0 seen, +1 new".into(),
            min: -1.0,
            max: 1.0,
            colors: vec![[215, 25, 28], [120, 200, 110], [5, 113, 176]],
        };
        let file = format!("viewshed_{slug}_diff.png");
        let mut marks = vec![(obs, vp.name.clone())];
        marks.extend(centres.iter().filter_map(|c| grid_s.cell_at_enu(c.x, c.y)).map(|c| (c, "changed".to_string())));
        map_png_marked(
            &cx.out.join(&file),
            grid_s,
            &diff,
            &ramp,
            &format!("Viewshed from {}: scenario vs baseline", vp.name),
            |v| v.is_finite(),
            &marks,
            None,
        )?;
        let sky = |v: f64| if v.is_finite() { format!("{v:.1}") } else { "-".into() };
        cx.md.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {} → {} | {} |\n",
            vp.name,
            nb as f64 * cell,
            ns as f64 * cell,
            hidden as f64 * cell,
            sky(sb),
            sky(ss),
            if breaks { "**yes**" } else { "no" }
        ));
        csv.push_str(&format!(
            "\"{}\",{:.4},{:.4},{:.4},{},{},{breaks}\n",
            vp.name,
            nb as f64 * cell,
            ns as f64 * cell,
            hidden as f64 * cell,
            sky(sb),
            sky(ss)
        ));
        cx.summary.push(format!(
            "view from {}: {:.3} km2 hidden, skyline {} -> {} deg",
            vp.name,
            hidden as f64 * cell,
            sky(sb),
            sky(ss)
        ));
        progress.advance(k as u64 + 1, &vp.name);
    }
    cx.write("viewshed.csv", &csv)?;
    cx.md.push('\n');
    for vp in &spec.viewpoints {
        let slug = slug(&vp.name);
        cx.md.push_str(&format!("![{}](viewshed_{slug}_diff.png)\n", vp.name));
    }
    Ok(())
}

pub(super) fn compliance_section(
    cx: &mut Ctx,
    spec: &ComplianceSpec,
    city: &mut CityModel,
    changes: &Changes,
) -> Result<(), RunError> {
    use geo::{Area, Centroid, Contains, Distance, Euclidean};
    let frame = *city.frame();
    let mut ids = spec.buildings.clone();
    if ids.is_empty() {
        ids =
            changes.added.iter().chain(changes.raised.iter().map(|(e, _)| e)).filter_map(|e| guid(city, *e)).collect();
    }
    let mut zones = Vec::new();
    for z in &spec.height_zones {
        let pts = to_enu(&z.polygon, &frame).map_err(|e| cx.apply_err(e))?;
        let ring: Vec<(f64, f64)> = pts.iter().map(|p| (p.x, p.y)).collect();
        zones.push((z, geo::Polygon::new(geo::LineString::from(ring), vec![])));
    }
    let roads: Vec<(String, geo::Polygon<f64>)> = {
        let mut q = city.world.query::<(&SemanticClass, &FeatureId, &Footprint)>();
        q.iter(&city.world)
            .filter(|(c, _, _)| matches!(**c, SemanticClass::ROAD | SemanticClass::TRANSPORT_SQUARE))
            .map(|(_, f, fp)| (f.guid.clone(), fp.0.clone()))
            .collect()
    };
    let plots: Vec<(String, geo::Polygon<f64>)> = {
        let mut q = city.world.query::<(&SemanticClass, &FeatureId, &Footprint)>();
        q.iter(&city.world)
            .filter(|(c, _, _)| {
                !c.is_building_or_part() && !matches!(**c, SemanticClass::ROAD | SemanticClass::TRANSPORT_SQUARE)
            })
            .map(|(_, f, fp)| (f.guid.clone(), fp.0.clone()))
            .collect()
    };
    cx.md.push_str("\n## Planning compliance\n\n| building | rule | value | limit | result |\n|---|---|---|---|---|\n");
    let mut csv = String::from("building_id,rule,value,limit,pass\n");
    for id in &ids {
        let Some(e) = city.features().by_guid(id) else {
            cx.md.push_str(&format!("| {id} | - | not in the city | - | - |\n"));
            continue;
        };
        let Some(fp) = city.world.get::<Footprint>(e).map(|f| f.0.clone()) else { continue };
        let (base, top) = building_extent(city, e).unwrap_or((0.0, 0.0));
        let height = top - base;
        let centre = fp.centroid().unwrap_or(geo::Point::new(0.0, 0.0));
        let mut rows: Vec<(String, String, String, bool)> = Vec::new();
        let zone = zones
            .iter()
            .filter(|(_, p)| p.contains(&centre))
            .min_by(|a, b| a.0.max_height_m.total_cmp(&b.0.max_height_m));
        let limit = zone
            .map(|(z, _)| (z.max_height_m, format!("zone {}", z.name)))
            .or(spec.height_limit_m.map(|h| (h, "everywhere".into())));
        if let Some((lim, which)) = limit {
            rows.push((
                "height limit".into(),
                format!("{height:.1} m"),
                format!("<= {lim:.1} m ({which})"),
                height <= lim + 1e-6,
            ));
        }
        if let Some(setback) = spec.setback_m {
            let near =
                roads.iter().map(|(rid, r)| (rid, Euclidean.distance(&fp, r))).min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((rid, dist)) = near {
                rows.push((
                    "setback from roads".into(),
                    format!("{dist:.1} m (to {rid})"),
                    format!(">= {setback} m"),
                    dist >= setback,
                ));
            }
        }
        if let Some(max_far) = spec.max_far {
            let plot = match &spec.plot {
                Some(p) => plots.iter().find(|(pid, _)| pid == p),
                None => plots
                    .iter()
                    .filter(|(_, p)| p.contains(&centre))
                    .min_by(|a, b| a.1.unsigned_area().total_cmp(&b.1.unsigned_area())),
            };
            let floors = city
                .world
                .get::<Attributes>(e)
                .and_then(|a| a.get("floors").and_then(|v| v.as_f64()))
                .unwrap_or((height / 3.0).floor().max(1.0));
            match plot {
                Some((pid, p)) => {
                    let far = fp.unsigned_area() * floors / p.unsigned_area().max(1e-9);
                    rows.push((
                        "floor-area ratio".into(),
                        format!("{far:.2} ({floors:.0} floors on plot {pid}, {:.0} m2)", p.unsigned_area()),
                        format!("<= {max_far}"),
                        far <= max_far,
                    ));
                }
                None => rows.push((
                    "floor-area ratio".into(),
                    "no plot under the building".into(),
                    format!("<= {max_far}"),
                    false,
                )),
            }
        }
        if cx.scenario.sunlight.is_some() {
            let losing: Vec<&String> =
                cx.buildings.iter().filter(|(_, v)| v.get("loses_sunlight").is_some()).map(|(k, _)| k).collect();
            rows.push((
                "neighbours' sunlight".into(),
                format!("{} buildings lose compliance", losing.len()),
                "none may".into(),
                losing.is_empty(),
            ));
        }
        let mut all = true;
        for (rule, value, lim, pass) in &rows {
            all &= *pass;
            let verdict = if *pass { "PASS" } else { "**FAIL**" };
            cx.md.push_str(&format!("| {id} | {rule} | {value} | {lim} | {verdict} |\n"));
            csv.push_str(&format!("{id},\"{rule}\",\"{value}\",\"{lim}\",{pass}\n"));
        }
        cx.building(id, "complies", json!(all));
        cx.summary.push(format!("compliance of {id}: {}", if all { "PASS" } else { "FAIL" }));
    }
    cx.write("compliance.csv", &csv)
}
