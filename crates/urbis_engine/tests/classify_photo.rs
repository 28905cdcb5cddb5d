//! Dynamic monomerization (`--classify-by`) on lavapipe: the synthetic
//! photo mesh of the sample city (the 2 × 2-tile fixture, finest level)
//! classified at render time by the city's own CityJSON footprints.
//!
//! - Against the reference: every pixel of a reference render, in which
//!   each photo-mesh triangle is its own reference owner's entity (the
//!   building whose roof holds its highest vertex, from the generator's
//!   CityJSON, see `urbis_model/tests/photo_truth`), is compared with the
//!   same pixel of the classified render. Over a nadir and four oblique
//!   views, each building keeps at least 98 % of its reference pixels, and
//!   under 1 % of the reference ground pixels go to any building.
//! - A golden image with one building selected (outlined on the mesh) and
//!   buildings coloured by their `use` attribute; picks on the mesh return
//!   the building's entity, with the footprint's attributes, or the photo
//!   mesh off any footprint. Looked at before it was committed.

#[path = "../../urbis_model/tests/photo_truth/mod.rs"]
mod photo_truth;
mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use urbis_engine::{Engine, default_lighting, render_image};
use urbis_model::{AttributeValue, Attributes, CityModel, CpuMesh, FeatureId, FeatureStyle, MeshGroup, PartOf};
use urbis_sample_city::{PhotoMeshConfig, SampleCityConfig, generate, photo_mesh, write_photo_mesh};

struct Fixture {
    /// The fixture's folder, removed when the test ends.
    root: PathBuf,
    mesh_dir: PathBuf,
    city_json: PathBuf,
    /// Per finest file name: the reference owner of each triangle.
    owners: HashMap<String, Vec<Option<String>>>,
    /// Buildings wholly inside the fixture.
    inside: Vec<String>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn fixture(tag: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("urbis-classify-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let city = generate(&SampleCityConfig::default()).expect("sample city");
    let cfg = PhotoMeshConfig::small();
    let mesh = photo_mesh(&city, &cfg);
    let mesh_dir = dir.join("mesh");
    write_photo_mesh(&mesh_dir, &mesh).expect("write the photo mesh");
    let city_json = dir.join("district.city.json");
    std::fs::write(&city_json, serde_json::to_vec(&city.cityjson).expect("json")).expect("write the city");
    let (lo, hi) = mesh.extent;
    let within = |c: &geo::Coord<f64>| c.x > lo.x && c.y > lo.y && c.x < hi.x && c.y < hi.y;
    let prisms = photo_truth::prisms(&city.cityjson);
    let inside = prisms
        .iter()
        .filter(|p| p.plan.0.iter().flat_map(|poly| poly.exterior().coords()).all(within))
        .map(|p| p.id.clone())
        .collect();
    let finest = cfg.levels - 1;
    let owners = mesh
        .tiles
        .iter()
        .filter(|t| t.level == finest)
        .map(|t| {
            let o = t
                .triangles
                .iter()
                .map(|tri| photo_truth::owner(&prisms, tri.map(|i| t.positions[i as usize])).map(str::to_string))
                .collect();
            (t.name.clone(), o)
        })
        .collect();
    Fixture { root: dir, mesh_dir, city_json, owners, inside }
}

/// The photo mesh split by reference owner: one entity per (file, owner),
/// GUID the building's id or `ground`.
fn reference_model(f: &Fixture) -> CityModel {
    let opts = urbis_model::LoadOptions { detail: urbis_model::TileDetail::Finest, ..Default::default() };
    let (mut model, _) = urbis_model::open_city_opts(std::slice::from_ref(&f.mesh_dir), &opts).expect("open the mesh");
    let photo = urbis_model::classify::photo_mesh_class();
    let mut q = model.world.query::<(Entity, &urbis_model::SemanticClass, &FeatureId, &urbis_model::Placement)>();
    let files: Vec<(Entity, String, DVec3)> = q
        .iter(&model.world)
        .filter(|(_, c, ..)| **c == photo)
        .map(|(e, _, id, p)| (e, id.guid.clone(), p.enu))
        .collect();
    let mut matched = 0;
    for (e, source, placement) in files {
        let Some((_, owners)) =
            f.owners.iter().find(|(name, _)| source.trim_end_matches(".osgb").ends_with(name.as_str()))
        else {
            continue;
        };
        let g = model.world.get::<urbis_model::GeometryHandle>(e).expect("geometry").mesh;
        let mesh = model.meshes().get(g).expect("mesh").clone();
        assert_eq!(mesh.indices.len() / 3, owners.len(), "{source}: triangles as written");
        matched += 1;
        let mut split: HashMap<&str, CpuMesh> = HashMap::new();
        for (k, tri) in mesh.indices.chunks_exact(3).enumerate() {
            let texture = mesh
                .groups
                .iter()
                .find(|gr| (gr.first_index..gr.first_index + gr.index_count).contains(&(k as u32 * 3)))
                .and_then(|gr| gr.texture);
            let out = split.entry(owners[k].as_deref().unwrap_or("ground")).or_default();
            if out.groups.is_empty() {
                out.groups.push(MeshGroup { texture, first_index: 0, index_count: 0, single_sided: false });
            }
            for &i in tri {
                out.indices.push(out.vertices.len() as u32);
                out.vertices.push(mesh.vertices[i as usize]);
            }
            out.groups[0].index_count = out.indices.len() as u32;
        }
        model.remove_feature(e);
        for (who, m) in split {
            let class = if who == "ground" {
                photo
            } else {
                urbis_model::SemanticClass::new("Building", urbis_model::Family::Building)
            };
            let mut nf = urbis_model::NewFeature::new(format!("{who}@{source}"), class, placement);
            nf.attributes.insert("owner", who.to_string());
            nf.mesh = Some((m, urbis_model::Lod(30)));
            model.spawn_feature(nf);
        }
    }
    assert_eq!(matched, f.owners.len(), "every finest file loaded");
    model
}

/// The owner each pixel shows: a building id, `ground`, or nothing (sky).
fn owners_in_view(
    engine: &mut Engine,
    camera: &urbis_render::Camera,
    size: u32,
    by: &dyn Fn(&CityModel, Entity) -> String,
) -> Vec<Option<String>> {
    let lighting = default_lighting(&engine.model, camera);
    render_image(engine, camera, &lighting, None, size, size).expect("render");
    let (ids, ..) = engine.renderer.feature_ids(&engine.ctx).expect("feature ids");
    let mut names: HashMap<u32, Option<String>> = HashMap::new();
    ids.iter()
        .map(|&i| {
            names.entry(i).or_insert_with(|| engine.model.features().entity(i).map(|e| by(&engine.model, e))).clone()
        })
        .collect()
}

#[test]
fn classified_pixels_match_the_reference_owner_of_the_photo_mesh() {
    let f = fixture("accuracy");
    let opts = urbis_model::LoadOptions {
        detail: urbis_model::TileDetail::Finest,
        classify_by: vec![f.city_json.clone()],
        ..Default::default()
    };
    let (classified, reports) = urbis_model::open_city_opts(std::slice::from_ref(&f.mesh_dir), &opts).expect("open");
    let volumes = reports.iter().find(|r| r.path.starts_with("classify by")).expect("a classify report");
    assert!(volumes.features > 1000, "{} volumes", volumes.features);
    let reference = reference_model(&f);
    let (Some(mut a), Some(mut b)) = (support::engine(classified), support::engine(reference)) else { return };
    // The fixture's extent in ENU, from the reference model's bounds.
    let extent = b
        .model
        .world
        .query::<&urbis_model::Bounds>()
        .iter(&b.model.world)
        .fold(urbis_model::Bounds::from_points([]), |acc, x| acc.union(*x));
    let centre = extent.center();
    let half = (extent.max - extent.min).truncate().max_element() / 2.0;
    let classified_owner = |m: &CityModel, e: Entity| {
        let top = m.world.get::<PartOf>(e).map_or(e, |p| p.0);
        let id = m.world.get::<FeatureId>(top).expect("id");
        if m.world.get::<urbis_model::classify::ClassificationVolume>(top).is_some()
            || m.world.get::<urbis_model::classify::ClassificationVolume>(e).is_some()
        {
            id.guid.clone()
        } else {
            "ground".into()
        }
    };
    let reference_owner = |m: &CityModel, e: Entity| match m.world.get::<Attributes>(e).and_then(|a| a.get("owner")) {
        Some(AttributeValue::String(s)) => s.clone(),
        _ => panic!("a reference entity without owner"),
    };
    let d = half * 1.1;
    let views = [
        centre + DVec3::new(0.0, -1.0, half / (22.5f64.to_radians().tan()) + 60.0),
        centre + DVec3::new(0.0, -d, d),
        centre + DVec3::new(0.0, d, d),
        centre + DVec3::new(d, 0.0, d),
        centre + DVec3::new(-d, 0.0, d),
    ];
    let size = 1024;
    let mut per: HashMap<String, (u64, u64)> = HashMap::new();
    let (mut ground, mut leaked) = (0u64, 0u64);
    for eye in views {
        let camera = support::enu_camera(&a.model, eye, centre);
        let got = owners_in_view(&mut a, &camera, size, &classified_owner);
        let want = owners_in_view(&mut b, &camera, size, &reference_owner);
        for (g, w) in got.iter().zip(&want) {
            match w.as_deref() {
                None => {}
                Some("ground") => {
                    ground += 1;
                    leaked += u64::from(g.as_deref().is_some_and(|g| g != "ground"));
                }
                Some(id) => {
                    let e = per.entry(id.to_string()).or_default();
                    e.0 += 1;
                    e.1 += u64::from(g.as_deref() == Some(id));
                }
            }
        }
    }
    // Buildings wholly in the fixture and seen by at least 400 pixels.
    let mut scored: Vec<(f64, &str, u64)> = f
        .inside
        .iter()
        .filter_map(|id| per.get(id).filter(|(n, _)| *n >= 400).map(|(n, r)| (*r as f64 / *n as f64, id.as_str(), *n)))
        .collect();
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    println!(
        "{} buildings scored of {} inside; worst {:?}; ground pixels {ground}, leaked {leaked} ({:.4} %)",
        scored.len(),
        f.inside.len(),
        &scored[..scored.len().min(5)],
        leaked as f64 / ground as f64 * 100.0
    );
    assert!(scored.len() * 10 >= f.inside.len() * 9, "{} of {} buildings seen", scored.len(), f.inside.len());
    let (worst, id, n) = scored[0];
    assert!(worst >= 0.98, "building {id} keeps {:.2} % of its {n} reference pixels", worst * 100.0);
    assert!(ground > 100_000, "{ground} ground pixels");
    assert!((leaked as f64) < 0.01 * ground as f64, "{leaked} of {ground} ground pixels went to buildings");
}

#[test]
fn a_classified_photo_mesh_picks_highlights_and_styles_its_buildings() {
    let f = fixture("golden");
    let opts = urbis_model::LoadOptions {
        detail: urbis_model::TileDetail::Finest,
        classify_by: vec![f.city_json.clone()],
        ..Default::default()
    };
    let (mut model, _) = urbis_model::open_city_opts(std::slice::from_ref(&f.mesh_dir), &opts).expect("open");
    // The tallest building inside the fixture is selected; buildings are coloured by `use`.
    let mut q = model.world.query::<(Entity, &FeatureId, &urbis_model::Bounds, &Attributes)>();
    let (chosen, chosen_box) = q
        .iter(&model.world)
        .filter(|(_, id, ..)| f.inside.contains(&id.guid))
        .max_by(|x, y| x.2.max.z.total_cmp(&y.2.max.z))
        .map(|(e, _, b, _)| (e, *b))
        .expect("a building in the fixture");
    let mut q = model.world.query::<(&Attributes, &mut FeatureStyle)>();
    for (a, mut s) in q.iter_mut(&mut model.world) {
        s.color_override = match a.get("use") {
            Some(AttributeValue::String(u)) if u == "residential" => Some([0.95, 0.45, 0.1, 0.75]),
            Some(AttributeValue::String(u)) if u == "office" || u == "commercial" => Some([0.1, 0.35, 0.95, 0.75]),
            Some(AttributeValue::String(u)) if u == "public" => Some([0.6, 0.1, 0.8, 0.75]),
            Some(AttributeValue::String(_)) => Some([0.5, 0.5, 0.5, 0.75]),
            _ => None,
        };
    }
    model.world.get_mut::<FeatureStyle>(chosen).expect("style").selected = true;
    let Some(mut engine) = support::engine(model) else { return };
    let target = chosen_box.center();
    let eye = target + DVec3::new(-90.0, -220.0, 200.0);
    let camera = support::enu_camera(&engine.model, eye, target);
    let lighting = default_lighting(&engine.model, &camera);
    // Pipelines specialised to the frame (classification on) and batch (textured) draw the same.
    let (_, seen) = support::assert_specialised_same(&mut engine, &camera, &lighting, (480, 270), "classified");
    assert!(seen > 20, "{seen} features seen");
    let img = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    support::assert_golden("photo_mesh_classified", &img.image, 0.01);
    // The roof's centre picks the building (or its part), which carries the footprint's attributes.
    let roof = DVec3::new(target.x, target.y, chosen_box.max.z);
    let (x, y, _) = urbis_engine::labels::project(&engine.model, &camera, roof, 480, 270).expect("on screen");
    let picked = engine.pick(x as u32, y as u32).expect("pick").expect("something under the roof");
    let top = engine.model.world.get::<PartOf>(picked).map_or(picked, |p| p.0);
    assert_eq!(top, engine.model.world.get::<PartOf>(chosen).map_or(chosen, |p| p.0));
    let attrs = engine.model.world.get::<Attributes>(top).expect("attributes");
    assert!(attrs.get("use").is_some(), "the footprint's attributes: {attrs:?}");
    // Pixels off the footprints are the photo mesh's own; those of the chosen building are its.
    let (ids, ..) = engine.renderer.feature_ids(&engine.ctx).expect("feature ids");
    let photo = urbis_model::classify::photo_mesh_class();
    let (mut on_photo, mut on_chosen) = (0usize, 0usize);
    for &i in &ids {
        let Some(e) = engine.model.features().entity(i) else { continue };
        on_photo += usize::from(engine.model.world.get::<urbis_model::SemanticClass>(e) == Some(&photo));
        on_chosen += usize::from(engine.model.world.get::<PartOf>(e).map_or(e, |p| p.0) == top);
    }
    assert!(on_photo * 10 > ids.len(), "{on_photo} of {} pixels show the photo mesh", ids.len());
    assert!(on_chosen * 100 > ids.len(), "{on_chosen} of {} pixels show the chosen building", ids.len());
    // Hovering the building highlights it on the mesh; leaving it restores the picture.
    let at = |img: &image::RgbaImage| *img.get_pixel(x as u32, y as u32);
    engine.hover(Some(top));
    let hovered = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    let (before, during) = (at(&img.image), at(&hovered.image));
    let change = (0..3).map(|k| (i16::from(before[k]) - i16::from(during[k])).abs()).max().unwrap_or(0);
    assert!(change > 20, "the hovered roof stays {before:?} -> {during:?}");
    engine.hover(None);
    let after = render_image(&mut engine, &camera, &lighting, None, 480, 270).expect("render");
    assert_eq!(at(&after.image), before, "leaving the building restores its colour");
}
