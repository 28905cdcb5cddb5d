//! Dynamic monomerization: footprints classify photo meshes at render time.
//!
//! Physical monomerization ([`crate::monomerize`]) cuts the mesh. This
//! leaves it whole: each footprint building (GeoJSON, CityJSON) keeps its
//! entity, GUID and attributes but is drawn as a [`ClassificationVolume`]
//! (its footprint prism from its lowest to its highest point) instead of
//! its own mesh; the renderer gives every pixel of a photo mesh inside the
//! prism the building's feature index and style, so picking, hover,
//! selection, attribute styles and live styles reach the building on the
//! mesh. The mesh may be streamed: the volumes do not depend on which
//! tiles are loaded.
//!
//! ```text
//! footprint buildings ──classify_by_footprints──► ClassificationVolume (mesh dropped)
//!                                                 + the Classification resource
//! urbis_engine::extract ──► urbis_render::ClassificationGrid + CLASSIFIED on PhotoMesh styles
//! ```

use std::collections::HashSet;

use bevy_ecs::prelude::*;
use geo::{BoundingRect, MultiPolygon};

use crate::monomerize::{Prism, footprint_prisms, overlapping_pairs};
use crate::{CityModel, SemanticClass};

/// A building drawn as a classification volume over photo meshes: its plan
/// (ENU metres) from `base` to `top` (ENU heights).
#[derive(Component, Debug, Clone, PartialEq)]
pub struct ClassificationVolume {
    pub plan: MultiPolygon<f64>,
    pub base: f64,
    pub top: f64,
}

/// Present when the model's photo meshes are classified by volumes.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Classification;

/// What [`classify_by_footprints`] did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClassifyReport {
    /// Buildings turned into classification volumes.
    pub volumes: usize,
    /// Photo-mesh entities loaded now (0 when they stream).
    pub photo_meshes: usize,
    /// Footprints no loaded photo mesh reaches (only known for whole loads).
    pub uncovered: Vec<String>,
    /// Pairs of footprints whose plans overlap (the first, in GUID order, keeps the overlap).
    pub overlaps: Vec<(String, String)>,
}

/// The class photo meshes carry.
pub fn photo_mesh_class() -> SemanticClass {
    SemanticClass::new("PhotoMesh", crate::Family::Generic)
}

/// Turns the footprint buildings of the model (those in `only`, when
/// given) into classification volumes over its photo meshes, whole or
/// streamed, and marks the model as classified.
pub fn classify_by_footprints(model: &mut CityModel, only: Option<&HashSet<Entity>>) -> ClassifyReport {
    let found: Vec<(Entity, Prism, crate::Attributes)> =
        footprint_prisms(model).into_iter().filter(|(e, ..)| only.is_none_or(|s| s.contains(e))).collect();
    let prisms: Vec<Prism> = found.iter().map(|(_, p, _)| p.clone()).collect();
    let photo = photo_mesh_class();
    let mut q = model.world.query::<(&SemanticClass, &crate::Bounds)>();
    let photo_boxes: Vec<crate::Bounds> = q.iter(&model.world).filter(|(c, _)| **c == photo).map(|(_, b)| *b).collect();
    let mut report = ClassifyReport { volumes: found.len(), photo_meshes: photo_boxes.len(), ..Default::default() };
    // Parts of one building may stack (a tower on its podium): not an overlap.
    let parent_of: std::collections::HashMap<&str, Option<Entity>> =
        found.iter().map(|(e, p, _)| (p.id.as_str(), model.world.get::<crate::PartOf>(*e).map(|p| p.0))).collect();
    report.overlaps = overlapping_pairs(&prisms)
        .into_iter()
        .filter(|(a, b)| {
            let (pa, pb) = (parent_of.get(a.as_str()).copied().flatten(), parent_of.get(b.as_str()).copied().flatten());
            pa.is_none() || pa != pb
        })
        .collect();
    for (e, prism, _) in &found {
        if !photo_boxes.is_empty() {
            let covered = prism.plan.bounding_rect().is_some_and(|r| {
                photo_boxes
                    .iter()
                    .any(|b| r.min().x < b.max.x && b.min.x < r.max().x && r.min().y < b.max.y && b.min.y < r.max().y)
            });
            if !covered {
                report.uncovered.push(prism.id.clone());
            }
        }
        let volume = ClassificationVolume { plan: prism.plan.clone(), base: prism.base, top: prism.top };
        if let Ok(mut entity) = model.world.get_entity_mut(*e) {
            entity.insert(volume);
            entity.remove::<crate::GeometryHandle>();
        }
    }
    model.world.insert_resource(Classification);
    report
}
