//! Flattening (压平) on lavapipe: the synthetic photo mesh of the sample
//! city (the 2 × 2-tile fixture, finest level) pressed down over its
//! tallest building, to the building's foot, and a proposed building (a
//! modelled box, which flattening leaves standing) placed there.
//!
//! The flattening rectangle is the plan extent of the building's triangles
//! (the generator's truth) grown by 1.5 m; its height the lowest of their
//! vertices. Each photo-mesh file is split here into the triangles wholly
//! inside the rectangle and the rest, so that the feature-id target tells
//! which pixels show surfaces inside it. Checked against geometry computed
//! here:
//!
//! - after flattening, every pixel of an inside surface lies within the
//!   projection of the rectangle's box from its lowest vertex to the
//!   flattening height (a box is convex: so does every point in it), which
//!   before flattening the building overtops by far;
//! - the proposed building still rises out of that box, and shows;
//! - every pixel outside the projection of the box around all that can move
//!   (the rectangle grown by 3 m, from the lowest to the highest vertex in
//!   it) is unchanged;
//! - with shadows, the flattened building's shadow is gone: outside that
//!   box nothing gets darker and its shadow's pixels get brighter.
//!
//! And a golden image of the flattened site, looked at before it was committed;
//! the pipelines specialised to flattening (and to its absence) draw the
//! site as the general ones do.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use bevy_ecs::prelude::Entity;
use glam::{DVec2, DVec3, Vec2, Vec3};
use urbis_engine::{Engine, render_image};
use urbis_model::{CpuMesh, FeatureId, Material, MeshGroup, MeshVertex, NewFeature, SemanticClass};
use urbis_render::{Camera, FlattenPolygon};
use urbis_sample_city::{PhotoMeshConfig, SampleCityConfig, generate, photo_mesh, write_photo_mesh};

const W: u32 = 320;
const H: u32 = 240;

struct Site {
    engine: Engine,
    /// The flattening rectangle (ENU plan) and height.
    lo: DVec2,
    hi: DVec2,
    height: f64,
    /// Lowest vertex wholly inside the rectangle's triangles; the building's top.
    inside_low: f64,
    top: f64,
    /// Lowest and highest vertex within 3 m of the rectangle.
    near_low: f64,
    near_high: f64,
    /// Feature indices of the surfaces wholly inside the rectangle.
    inside: Vec<u32>,
    /// The proposed building's index.
    proposed: u32,
}

/// A box of `size` standing at `base` (its footprint's centre), facing outwards.
fn box_mesh(size: Vec3) -> CpuMesh {
    let (x, y, z) = (size.x / 2.0, size.y / 2.0, size.z);
    let colour = [236, 132, 52, 255];
    let mut m = CpuMesh::default();
    let mut quad = |corners: [Vec3; 4], normal: Vec3, material: Material| {
        let base = m.vertices.len() as u32;
        for (k, p) in corners.into_iter().enumerate() {
            let uv = Vec2::new((k == 1 || k == 2) as u32 as f32, (k >= 2) as u32 as f32);
            m.vertices.push(MeshVertex { position: p, normal, uv, color: colour, material });
        }
        m.indices.extend([base, base + 1, base + 2, base, base + 2, base + 3]);
    };
    let v = |a: f32, b: f32, c: f32| Vec3::new(a, b, c);
    quad([v(-x, -y, 0.0), v(x, -y, 0.0), v(x, -y, z), v(-x, -y, z)], Vec3::NEG_Y, Material::Plain);
    quad([v(x, -y, 0.0), v(x, y, 0.0), v(x, y, z), v(x, -y, z)], Vec3::X, Material::Plain);
    quad([v(x, y, 0.0), v(-x, y, 0.0), v(-x, y, z), v(x, y, z)], Vec3::Y, Material::Plain);
    quad([v(-x, y, 0.0), v(-x, -y, 0.0), v(-x, -y, z), v(-x, y, z)], Vec3::NEG_X, Material::Plain);
    quad([v(-x, -y, z), v(x, -y, z), v(x, y, z), v(-x, y, z)], Vec3::Z, Material::Roof);
    m
}

fn site(tag: &str) -> Option<Site> {
    let root: PathBuf = std::env::temp_dir().join(format!("urbis-flatten-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let city = generate(&SampleCityConfig::default()).expect("sample city");
    let cfg = PhotoMeshConfig::small();
    let mesh = photo_mesh(&city, &cfg);
    write_photo_mesh(&root, &mesh).expect("write the photo mesh");
    let opts = urbis_model::LoadOptions { detail: urbis_model::TileDetail::Finest, ..Default::default() };
    let (mut model, _) = urbis_model::open_city_opts(std::slice::from_ref(&root), &opts).expect("open the mesh");
    let _ = std::fs::remove_dir_all(&root);
    let finest = cfg.levels - 1;
    let truth: HashMap<&str, &Vec<Option<String>>> =
        mesh.tiles.iter().filter(|t| t.level == finest).map(|t| (t.name.as_str(), &t.truth)).collect();

    // Every finest file: its entity, placement, mesh and per-triangle building.
    let photo = urbis_model::classify::photo_mesh_class();
    let mut q = model.world.query::<(Entity, &SemanticClass, &FeatureId, &urbis_model::Placement)>();
    let files: Vec<(Entity, String, DVec3)> = q
        .iter(&model.world)
        .filter(|(_, c, ..)| **c == photo)
        .map(|(e, _, id, p)| (e, id.guid.clone(), p.enu))
        .collect();
    let mut loaded = Vec::new();
    for (e, guid, placement) in files {
        let name = guid.trim_end_matches(".osgb");
        let Some((_, owners)) = truth.iter().find(|(n, _)| name.ends_with(**n)) else { continue };
        let g = model.world.get::<urbis_model::GeometryHandle>(e).expect("geometry").mesh;
        let m = model.meshes().get(g).expect("mesh").clone();
        assert_eq!(m.indices.len() / 3, owners.len(), "{guid}: triangles as written");
        loaded.push((e, guid, placement, m, (*owners).clone()));
    }
    assert_eq!(loaded.len(), truth.len(), "every finest file loaded");

    // The tallest building wholly inside the fixture (20 m from its edges).
    let mut buildings: HashMap<&str, (DVec3, DVec3)> = HashMap::new();
    let mut all = (DVec3::INFINITY, DVec3::NEG_INFINITY);
    for (_, _, placement, m, owners) in &loaded {
        for (k, tri) in m.indices.chunks_exact(3).enumerate() {
            for &i in tri {
                let p = *placement + m.vertices[i as usize].position.as_dvec3();
                all = (all.0.min(p), all.1.max(p));
                if let Some(b) = &owners[k] {
                    let e = buildings.entry(b.as_str()).or_insert((DVec3::INFINITY, DVec3::NEG_INFINITY));
                    *e = (e.0.min(p), e.1.max(p));
                }
            }
        }
    }
    let (_, &(blo, bhi)) = buildings
        .iter()
        .filter(|(_, (lo, hi))| {
            lo.x > all.0.x + 20.0 && lo.y > all.0.y + 20.0 && hi.x < all.1.x - 20.0 && hi.y < all.1.y - 20.0
        })
        .max_by(|a, b| a.1.1.z.total_cmp(&b.1.1.z))
        .expect("a building");
    let (lo, hi) = (blo.truncate() - 1.5, bhi.truncate() + 1.5);
    let height = blo.z;
    let within = |p: DVec3, margin: f64| {
        p.x > lo.x - margin && p.y > lo.y - margin && p.x < hi.x + margin && p.y < hi.y + margin
    };

    // Split each file into the triangles wholly inside the rectangle and the rest.
    let (mut inside_low, mut near_low, mut near_high) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    let mut inside_entities = Vec::new();
    for (e, guid, placement, m, _) in loaded {
        let mut parts: [CpuMesh; 2] = Default::default();
        for (k, tri) in m.indices.chunks_exact(3).enumerate() {
            let ps: [DVec3; 3] = std::array::from_fn(|j| placement + m.vertices[tri[j] as usize].position.as_dvec3());
            for p in ps.iter().filter(|p| within(**p, 3.0)) {
                near_low = near_low.min(p.z);
                near_high = near_high.max(p.z);
            }
            let is_inside = ps.iter().all(|p| within(*p, 0.0));
            if is_inside {
                inside_low = ps.iter().map(|p| p.z).fold(inside_low, f64::min);
            }
            let texture = m
                .groups
                .iter()
                .find(|g| (g.first_index..g.first_index + g.index_count).contains(&(k as u32 * 3)))
                .and_then(|g| g.texture);
            let out = &mut parts[usize::from(is_inside)];
            if out.groups.is_empty() {
                out.groups.push(MeshGroup { texture, first_index: 0, index_count: 0, single_sided: false });
            }
            for &i in tri {
                out.indices.push(out.vertices.len() as u32);
                out.vertices.push(m.vertices[i as usize]);
            }
            out.groups[0].index_count = out.indices.len() as u32;
        }
        model.remove_feature(e);
        for (k, part) in parts.into_iter().enumerate() {
            if part.indices.is_empty() {
                continue;
            }
            let mut nf = NewFeature::new(format!("{guid}#{k}"), photo, placement);
            nf.mesh = Some((part, urbis_model::Lod(30)));
            let spawned = model.spawn_feature(nf);
            if k == 1 {
                inside_entities.push(spawned);
            }
        }
    }
    // The proposed building: a box on the middle of the rectangle, 40 % as wide and half as tall as the photographed one.
    let size = ((hi - lo) * 0.4).extend((bhi.z - height) * 0.5);
    let centre = (lo + hi) / 2.0;
    let mut nf = NewFeature::new("proposed", SemanticClass::BUILDING, centre.extend(height));
    nf.mesh = Some((box_mesh(size.as_vec3()), urbis_model::Lod(20)));
    let proposed = model.spawn_feature(nf);
    let index = |m: &urbis_model::CityModel, e: Entity| m.world.get::<FeatureId>(e).expect("id").index;
    let inside = inside_entities.iter().map(|e| index(&model, *e)).collect();
    let proposed = index(&model, proposed);
    let engine = support::engine(model)?;
    println!(
        "building {blo} .. {bhi}; rectangle {lo} .. {hi} at {height:.2} m; inside from {inside_low:.2} m; near {near_low:.2} .. {near_high:.2} m"
    );
    Some(Site { engine, lo, hi, height, inside_low, top: bhi.z, near_low, near_high, inside, proposed })
}

impl Site {
    fn polygon(&self) -> FlattenPolygon {
        let (lo, hi) = (self.lo, self.hi);
        FlattenPolygon { ring: vec![lo, DVec2::new(hi.x, lo.y), hi, DVec2::new(lo.x, hi.y)], height: self.height }
    }

    /// From the south-west, 40° down, on the rectangle's middle.
    fn camera(&self) -> Camera {
        let c = ((self.lo + self.hi) / 2.0).extend(self.height + (self.top - self.height) * 0.3);
        let d = (self.top - self.height).max((self.hi - self.lo).max_element()) * 2.6;
        support::enu_camera(&self.engine.model, c + DVec3::new(-0.55, -0.8, 0.81).normalize() * d, c)
    }

    /// Straight down from 3.5 building heights over the rectangle's middle, north up.
    fn nadir(&self) -> Camera {
        let c = ((self.lo + self.hi) / 2.0).extend(self.height);
        support::enu_camera(&self.engine.model, c + DVec3::Z * (self.top - self.height) * 3.5, c)
    }

    /// The projected corners of the rectangle grown by `margin` metres, from `z0` to `z1`.
    fn box_corners(&self, camera: &Camera, margin: f64, z0: f64, z1: f64) -> Vec<DVec2> {
        let (lo, hi) = (self.lo - margin, self.hi + margin);
        let vp = camera.view_projection(f64::from(W) / f64::from(H));
        let frame = *self.engine.model.frame();
        let mut out = Vec::new();
        for z in [z0, z1] {
            for (x, y) in [(lo.x, lo.y), (hi.x, lo.y), (hi.x, hi.y), (lo.x, hi.y)] {
                let rel = frame.enu_to_ecef(DVec3::new(x, y, z)) - camera.position;
                let clip = vp * rel.as_vec3().extend(1.0);
                assert!(clip.w > 0.0, "in front of the camera");
                let ndc = clip.truncate() / clip.w;
                out.push(DVec2::new(
                    (f64::from(ndc.x) * 0.5 + 0.5) * f64::from(W),
                    (0.5 - f64::from(ndc.y) * 0.5) * f64::from(H),
                ));
            }
        }
        hull(out)
    }
}

/// Convex hull (Andrew's monotone chain), turning left.
fn hull(mut p: Vec<DVec2>) -> Vec<DVec2> {
    p.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    let cross = |o: DVec2, a: DVec2, b: DVec2| (a - o).perp_dot(b - o);
    let chain = |points: &mut dyn Iterator<Item = DVec2>| {
        let mut h: Vec<DVec2> = Vec::new();
        for q in points {
            while h.len() >= 2 && cross(h[h.len() - 2], h[h.len() - 1], q) <= 0.0 {
                h.pop();
            }
            h.push(q);
        }
        h.pop();
        h
    };
    let mut lower = chain(&mut p.iter().copied());
    lower.extend(chain(&mut p.iter().rev().copied()));
    lower
}

/// Whether a pixel centre lies in a convex polygon grown by `margin` pixels.
fn in_hull(h: &[DVec2], x: u32, y: u32, margin: f64) -> bool {
    let p = DVec2::new(f64::from(x) + 0.5, f64::from(y) + 0.5);
    (0..h.len()).all(|i| {
        let (a, b) = (h[i], h[(i + 1) % h.len()]);
        (b - a).perp_dot(p - a) / (b - a).length() >= -margin
    })
}

fn render(site: &mut Site, camera: &Camera, lighting: &urbis_render::Lighting) -> (image::RgbaImage, Vec<u32>) {
    let img = render_image(&mut site.engine, camera, lighting, None, W, H).expect("render").image;
    let (ids, ..) = site.engine.renderer.feature_ids(&site.engine.ctx).expect("ids");
    (img, ids)
}

#[test]
fn flattening_presses_the_photo_mesh_down_inside_the_polygon_only() {
    let Some(mut s) = site("check") else { return };
    let camera = s.camera();
    let mut lighting = urbis_engine::default_lighting(&s.engine.model, &camera);
    lighting.shadows = false;
    let (before, before_ids) = render(&mut s, &camera, &lighting);
    s.engine.set_flatten(vec![s.polygon()]);
    assert_eq!(s.engine.flatten().len(), 1);
    let (after, after_ids) = render(&mut s, &camera, &lighting);

    // Inside surfaces stay within the box up to the flattening height.
    let pressed = s.box_corners(&camera, 0.0, s.inside_low, s.height);
    let is_inside = |id: u32| s.inside.contains(&id);
    let count_out = |ids: &[u32], want: &dyn Fn(u32) -> bool| {
        ids.iter()
            .enumerate()
            .filter(|(k, id)| want(**id) && !in_hull(&pressed, *k as u32 % W, *k as u32 / W, 1.0))
            .count()
    };
    let (above_before, above_after) = (count_out(&before_ids, &is_inside), count_out(&after_ids, &is_inside));
    let inside_after = after_ids.iter().filter(|id| is_inside(**id)).count();
    println!(
        "inside-surface pixels outside the flattened box: {above_before} before, {above_after} after ({inside_after} in all)"
    );
    assert!(above_before > 1000, "the photographed building overtops the box before flattening");
    assert_eq!(above_after, 0, "nothing inside the polygon rises above the flattening height");
    assert!(inside_after > 200, "the flattened ground is seen");

    // The proposed (modelled) building is not flattened: it rises out of the box, and shows now.
    let proposed = |id: u32| id == s.proposed;
    let shown =
        (before_ids.iter().filter(|id| proposed(**id)).count(), after_ids.iter().filter(|id| proposed(**id)).count());
    let rising = count_out(&after_ids, &proposed);
    println!("proposed building: {} pixels before, {} after, {rising} above the box", shown.0, shown.1);
    assert!(shown.1 > shown.0 + 500 && rising > 300, "the proposed building stands where the photographed one was");

    // Far from the polygon, nothing changes.
    let near = s.box_corners(&camera, 3.0, s.near_low - 1.0, s.near_high + 1.0);
    let mut far = 0;
    let mut changed = 0;
    for (x, y, p) in after.enumerate_pixels() {
        if in_hull(&near, x, y, 2.0) {
            continue;
        }
        far += 1;
        changed += usize::from(
            p != before.get_pixel(x, y) || after_ids[(y * W + x) as usize] != before_ids[(y * W + x) as usize],
        );
    }
    println!("{far} pixels far from the polygon, {changed} changed");
    assert!(far > (W * H / 2) as usize, "most of the frame is far from the polygon");
    assert_eq!(changed, 0, "pixels far from the polygon are unchanged");

    // With shadows, seen from above, the photographed building's shadow
    // goes with it (the shadow pass flattens too): far from the polygon
    // nothing gets darker, and its shadow's pixels get brighter.
    let nadir = s.nadir();
    let near = s.box_corners(&nadir, 3.0, s.near_low - 1.0, s.near_high + 1.0);
    let lighting = urbis_engine::default_lighting(&s.engine.model, &nadir);
    assert!(lighting.shadows);
    let (shadow_after, _) = render(&mut s, &nadir, &lighting);
    s.engine.set_flatten(Vec::new());
    assert!(s.engine.flatten().is_empty());
    let (shadow_before, _) = render(&mut s, &nadir, &lighting);
    let luma = |p: &image::Rgba<u8>| p.0[..3].iter().map(|&c| i32::from(c)).sum::<i32>();
    let (mut brighter, mut darker) = (0, 0);
    for (x, y, p) in shadow_after.enumerate_pixels() {
        if in_hull(&near, x, y, 2.0) {
            continue;
        }
        let (a, b) = (luma(p), luma(shadow_before.get_pixel(x, y)));
        brighter += usize::from(a > b + 15);
        darker += usize::from(a + 3 < b);
    }
    println!("with shadows, far from the polygon: {brighter} pixels brighter after flattening, {darker} darker");
    assert!(brighter > 300, "the flattened building casts no shadow any more");
    assert_eq!(darker, 0);
}

#[test]
fn flattened_golden() {
    let Some(mut s) = site("golden") else { return };
    s.engine.set_flatten(vec![s.polygon()]);
    let camera = s.camera();
    let lighting = urbis_engine::default_lighting(&s.engine.model, &camera);
    // Pipelines specialised to the frame (flattening on, then off) and the
    // batches (the textured mesh, the plain box) draw the same, shadows included.
    assert!(lighting.shadows);
    support::assert_specialised_same(&mut s.engine, &camera, &lighting, (W, H), "flattened");
    let img = render_image(&mut s.engine, &camera, &lighting, None, W, H).expect("render");
    support::assert_golden("flattened", &img.image, 0.01);
    s.engine.set_flatten(Vec::new());
    support::assert_specialised_same(&mut s.engine, &camera, &lighting, (W, H), "not flattened");
}
