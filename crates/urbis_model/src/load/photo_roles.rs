//! What footprints loaded with a photo mesh do to it: cut it into
//! buildings (`--monomerize`, [`crate::monomerize`]) or classify it at
//! render time (`--classify-by`, [`crate::classify`]). Each step reports
//! as one [`LoadReport`], with footprints the mesh does not cover and
//! overlapping footprints as one summary warning each.

use std::collections::HashSet;

use bevy_ecs::prelude::Entity;

use super::{LoadError, LoadOptions, LoadReport, add_source, read_sources};
use crate::CityModel;

/// The first ten names of a list, and how many more.
fn first_ten(v: &[String]) -> String {
    let more = if v.len() > 10 { format!(" and {} more", v.len() - 10) } else { String::new() };
    format!("{}{more}", v.iter().take(10).cloned().collect::<Vec<_>>().join(", "))
}

fn overlap_warning(overlaps: &[(String, String)]) -> Option<String> {
    (!overlaps.is_empty()).then(|| {
        let pairs: Vec<String> = overlaps.iter().map(|(a, b)| format!("{a} / {b}")).collect();
        format!(
            "overlapping footprint pairs, the first of each keeping the overlap: {}: {}",
            pairs.len(),
            first_ten(&pairs)
        )
    })
}

/// Physical monomerization of the loaded photo meshes by the loaded footprints.
pub(super) fn monomerize(model: &mut CityModel) -> LoadReport {
    let r = crate::monomerize::monomerize_by_footprints(model);
    monomerize_report("monomerize".into(), &r, "kept as they were")
}

fn monomerize_report(path: String, r: &crate::monomerize::MonomerizeReport, fate: &str) -> LoadReport {
    let mut report = LoadReport { path, features: r.buildings, ..Default::default() };
    if !r.uncovered.is_empty() {
        report.warnings.push(format!(
            "footprints with no photo mesh over them, {fate}: {}: {}",
            r.uncovered.len(),
            first_ten(&r.uncovered)
        ));
    }
    report.warnings.extend(overlap_warning(&r.overlaps));
    if r.photo_meshes == 0 {
        report.warnings.push("no photo mesh (OSGB) among the inputs: nothing to cut".into());
    }
    report
}

/// The feature entities of the model now.
fn feature_entities(m: &mut CityModel) -> HashSet<Entity> {
    let mut q = m.world.query_filtered::<Entity, bevy_ecs::query::With<crate::FeatureId>>();
    q.iter(&m.world).collect()
}

/// Loads a footprint layer's `paths` into the model: the entities it added, and its reports.
fn add_layer(
    model: &mut CityModel,
    paths: &[std::path::PathBuf],
    opts: &LoadOptions,
) -> Result<(HashSet<Entity>, Vec<LoadReport>), LoadError> {
    let (sources, mut reports) = read_sources(paths)?;
    let before = feature_entities(model);
    for s in &sources {
        reports.push(add_source(model, s, opts)?);
    }
    let added = feature_entities(model).difference(&before).copied().collect();
    Ok((added, reports))
}

/// Loads `opts.monomerize_by` and cuts the loaded photo meshes by its
/// buildings; everything else from those inputs (uncovered footprints,
/// roads, terrain) leaves the scene.
pub(super) fn monomerize_by(model: &mut CityModel, opts: &LoadOptions) -> Result<Vec<LoadReport>, LoadError> {
    if opts.monomerize_by.is_empty() {
        return Ok(Vec::new());
    }
    let (added, mut reports) = add_layer(model, &opts.monomerize_by, opts)?;
    let r = crate::monomerize::monomerize_by_footprints_in(model, Some(&added));
    for e in &added {
        if model.world.get_entity(*e).is_ok() {
            model.remove_feature(*e);
        }
    }
    let names = opts.monomerize_by.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let mut report = monomerize_report(format!("monomerize by {names}"), &r, "left out");
    if r.photo_meshes == 0 {
        report.warnings.push("no photo mesh (OSGB) among the inputs: nothing to cut".into());
    }
    reports.push(report);
    model.rebuild_spatial_index();
    Ok(reports)
}

/// Loads `opts.classify_by` into the model and turns its buildings into
/// classification volumes (nothing when the list is empty).
pub(super) fn classify(model: &mut CityModel, opts: &LoadOptions) -> Result<Vec<LoadReport>, LoadError> {
    if opts.classify_by.is_empty() {
        return Ok(Vec::new());
    }
    let (added, mut reports) = add_layer(model, &opts.classify_by, opts)?;
    let r = crate::classify::classify_by_footprints(model, Some(&added));
    // The layer only classifies: what is neither a volume nor the building
    // of one (roads, water, the terrain of a CityJSON) leaves the scene.
    let mut keep: HashSet<Entity> = HashSet::new();
    for &e in &added {
        if model.world.get::<crate::classify::ClassificationVolume>(e).is_some() {
            keep.insert(e);
            keep.extend(model.world.get::<crate::PartOf>(e).map(|p| p.0));
        }
    }
    let mut dropped = 0;
    for e in added.difference(&keep) {
        model.remove_feature(*e);
        dropped += 1;
    }
    let names = opts.classify_by.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let mut report = LoadReport { path: format!("classify by {names}"), features: r.volumes, ..Default::default() };
    if dropped > 0 {
        tracing::info!(
            "{names}: {dropped} features that are not building footprints left out of the classification layer"
        );
    }
    if r.volumes == 0 {
        report.warnings.push(format!("{names}: no building footprints to classify by"));
    }
    if !r.uncovered.is_empty() {
        report.warnings.push(format!(
            "footprints with no photo mesh under them: {}: {}",
            r.uncovered.len(),
            first_ten(&r.uncovered)
        ));
    }
    report.warnings.extend(overlap_warning(&r.overlaps));
    reports.push(report);
    Ok(reports)
}
