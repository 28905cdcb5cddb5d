//! Physical monomerization against a reference: the synthetic photo mesh
//! of the sample city (`urbis_sample_city::photo_mesh`, the 2 × 2-tile
//! fixture at its finest level, 1 m) cut by the sample city's own footprints
//! (the CityJSON buildings' GroundSurfaces, parts merged into their
//! building).
//!
//! The reference is how the mesh was made: a vertex sampled from a
//! building's roof lies inside its footprint and above its base + 1 m, and
//! a triangle belongs to the building of its highest vertex (so a wall, the
//! ramp from a roof edge down to the ground beside it, is the building's),
//! or to the ground when that vertex is on no roof. Per building wholly
//! inside the fixture, the cut must give it at least 98 % of its reference
//! surface (roof and walls); of the reference ground, under 1 % may go to
//! any building.

mod photo_truth;

use std::collections::HashMap;

use glam::{DVec2, Vec2};
use photo_truth::prisms;
use urbis_model::monomerize::{Prism, SurfaceTri, cut};
use urbis_sample_city::{PhotoMeshConfig, SampleCityConfig, generate, photo_mesh};

#[test]
fn the_sample_citys_photo_mesh_is_cut_into_its_buildings() {
    let city = generate(&SampleCityConfig::default()).expect("sample city");
    let cfg = PhotoMeshConfig::small();
    let mesh = photo_mesh(&city, &cfg);
    let finest = cfg.levels - 1;
    let mut surface = Vec::new();
    for t in mesh.tiles.iter().filter(|t| t.level == finest) {
        for tri in &t.triangles {
            let p = tri.map(|i| t.positions[i as usize]);
            let uv = tri.map(|i| Vec2::from_array(t.tex_coords[i as usize]));
            surface.push(SurfaceTri { p, uv, texture: None });
        }
    }
    let (lo, hi) = mesh.extent;
    let inside = |p: DVec2| p.x > lo.x && p.y > lo.y && p.x < hi.x && p.y < hi.y;
    // Buildings wholly inside the fixture, as prisms.
    let prisms: Vec<Prism> = prisms(&city.cityjson)
        .into_iter()
        .filter(|p| p.plan.0.iter().flat_map(|poly| poly.exterior().coords()).all(|c| inside(DVec2::new(c.x, c.y))))
        .collect();
    assert!(prisms.len() >= 10, "{} buildings in the fixture", prisms.len());
    let cut = cut(&surface, &prisms);
    // The reference: the building of each triangle's highest vertex, if that vertex is on a roof.
    let truth: Vec<Option<String>> =
        surface.iter().map(|t| photo_truth::owner(&prisms, t.p).map(str::to_string)).collect();
    // Reference areas per building and of the ground (within the footprints' reach only).
    let mut reference: HashMap<&str, f64> = HashMap::new();
    let mut ground = 0.0;
    for (t, who) in surface.iter().zip(&truth) {
        match who {
            Some(id) => *reference.entry(id.as_str()).or_default() += t.area(),
            None => ground += t.area(),
        }
    }
    let mut worst = (1.0f64, String::new());
    let mut leaked = 0.0;
    for (k, p) in prisms.iter().enumerate() {
        let mut right = 0.0;
        for (piece, &src) in cut.buildings[k].iter().zip(&cut.building_sources[k]) {
            match &truth[src as usize] {
                Some(id) if *id == p.id => right += piece.area(),
                None => leaked += piece.area(),
                Some(_) => {}
            }
        }
        let total = reference.get(p.id.as_str()).copied().unwrap_or(0.0);
        if total > 0.0 && right / total < worst.0 {
            worst = (right / total, p.id.clone());
        }
    }
    // Diagnostics: where the worst building's reference surface went, and what leaked.
    if let Some(k) = prisms.iter().position(|p| p.id == worst.1) {
        let mut to_ground = 0.0;
        for (piece, &src) in cut.ground.iter().zip(&cut.ground_sources) {
            if truth[src as usize].as_deref() == Some(worst.1.as_str()) {
                to_ground += piece.area();
            }
        }
        let mut to_other = 0.0;
        for (j, b) in cut.buildings.iter().enumerate() {
            if j == k {
                continue;
            }
            for (piece, &src) in b.iter().zip(&cut.building_sources[j]) {
                if truth[src as usize].as_deref() == Some(worst.1.as_str()) {
                    to_other += piece.area();
                }
            }
        }
        let p = &prisms[k];
        println!(
            "worst {}: reference {:.1} m², to ground {:.1}, to others {:.1}; prism {:.1}..{:.1}, plan {:.1} m²",
            p.id,
            reference[p.id.as_str()],
            to_ground,
            to_other,
            p.base,
            p.top,
            geo::Area::unsigned_area(&p.plan)
        );
    }
    println!(
        "{} buildings, {} triangles ({} clipped, {} steep); worst share of a building's own surface {:.4} ({}); ground given to buildings {:.5}",
        prisms.len(),
        surface.len(),
        cut.clipped,
        cut.steep_taken,
        worst.0,
        worst.1,
        leaked / ground
    );
    assert!(worst.0 >= 0.98, "building {} keeps only {:.2} % of its surface", worst.1, worst.0 * 100.0);
    assert!(leaked / ground < 0.01, "{:.3} % of the ground went to buildings", leaked / ground * 100.0);
}
