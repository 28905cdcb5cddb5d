//! Physical monomerization in the model: the real OSGB tile in
//! `../shared/data/osgb` loaded as a photo mesh, cut by footprints into
//! building entities and ground. The clipping itself is checked against
//! analytic areas in `urbis_model::monomerize`'s unit tests; here the
//! whole surface must be conserved, textures and attributes carried, and
//! uncovered and overlapping footprints reported.

mod osgb_data;
mod shared;

use std::collections::BTreeMap;

use geo::{LineString, MultiPolygon, Polygon};
use urbis_model::monomerize::{Prism, monomerize_model};
use urbis_model::{Attributes, Bounds, CityModel, GeometryHandle, Placement, SemanticClass};

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon::new(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

/// Total 3D area per texture of every mesh of a class, and how many meshes.
fn surface(m: &mut CityModel, class: &str) -> (BTreeMap<Option<u32>, f64>, usize) {
    let mut q = m.world.query::<(&SemanticClass, &GeometryHandle, &Placement)>();
    let handles: Vec<GeometryHandle> =
        q.iter(&m.world).filter(|(c, _, _)| c.name() == class).map(|(_, g, _)| *g).collect();
    let mut by_texture = BTreeMap::new();
    for g in &handles {
        let mesh = m.meshes().get(g.mesh).expect("mesh");
        for gr in &mesh.groups {
            let idx = &mesh.indices[gr.first_index as usize..(gr.first_index + gr.index_count) as usize];
            for t in idx.chunks_exact(3) {
                let p = [t[0], t[1], t[2]].map(|i| mesh.vertices[i as usize].position.as_dvec3());
                *by_texture.entry(gr.texture.map(|t| t.0)).or_insert(0.0) +=
                    (p[1] - p[0]).cross(p[2] - p[0]).length() / 2.0;
            }
        }
    }
    (by_texture, handles.len())
}

fn total(a: &BTreeMap<Option<u32>, f64>) -> f64 {
    a.values().sum()
}

#[test]
fn a_photo_mesh_is_cut_into_buildings_and_ground_keeping_its_surface() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let (mut m, _) = urbis_model::open_city(std::slice::from_ref(&tile)).expect("open");
    let (before, n) = surface(&mut m, "PhotoMesh");
    assert_eq!(n, 1);
    assert!(before.keys().any(Option::is_some), "the tile is textured: {before:?}");
    let b = {
        let mut q = m.world.query::<(&SemanticClass, &Bounds)>();
        *q.iter(&m.world).find(|(c, _)| c.name() == "PhotoMesh").expect("photo mesh").1
    };
    let mid = (b.min.x + b.max.x) / 2.0;
    let attrs = |name: &str| {
        let mut a = Attributes::default();
        a.insert("name", name.to_string());
        a
    };
    let prism = |id: &str, plan| Prism { id: id.into(), plan, base: b.min.z, top: b.max.z };
    let footprints = vec![
        // The west half, the east half but overlapping the west by 2 m, and one far away.
        (prism("west", rect(b.min.x - 1.0, b.min.y - 1.0, mid, b.max.y + 1.0)), attrs("West block")),
        (prism("east", rect(mid - 2.0, b.min.y + 5.0, b.max.x + 1.0, b.max.y - 5.0)), attrs("East block")),
        (prism("elsewhere", rect(b.max.x + 100.0, 0.0, b.max.x + 110.0, 10.0)), attrs("Nowhere")),
    ];
    let r = monomerize_model(&mut m, &footprints);
    assert_eq!(r.photo_meshes, 1);
    assert_eq!(r.buildings, 2);
    assert_eq!(r.uncovered, ["elsewhere"]);
    assert_eq!(r.overlaps, [("west".to_string(), "east".to_string())]);
    assert!(r.clipped_triangles > 0);
    let (buildings, nb) = surface(&mut m, "Building");
    let (ground, ng) = surface(&mut m, "Ground");
    let (left, nl) = surface(&mut m, "PhotoMesh");
    assert_eq!((nb, ng, nl, left.len()), (2, 1, 0, 0));
    // Cutting moves surface, texture by texture; it never makes or loses any.
    for (tex, area) in &before {
        let after = buildings.get(tex).unwrap_or(&0.0) + ground.get(tex).unwrap_or(&0.0);
        assert!((after - area).abs() < 1e-6 * area.max(1.0), "texture {tex:?}: {after} vs {area}");
    }
    assert!(buildings.keys().chain(ground.keys()).all(|t| before.contains_key(t)), "no new textures");
    let (tb, tg, t0) = (total(&buildings), total(&ground), total(&before));
    assert!(tb > 0.3 * t0 && tg > 0.0, "{tb} {tg} of {t0}");
    // The buildings carry their footprint's attributes and plan.
    let mut q = m.world.query::<(&urbis_model::FeatureId, &Attributes, Option<&urbis_model::Footprint>)>();
    let named: Vec<(String, String, bool)> = q
        .iter(&m.world)
        .filter_map(|(id, a, fp)| match a.get("name") {
            Some(urbis_model::AttributeValue::String(s)) => Some((id.guid.clone(), s.clone(), fp.is_some())),
            _ => None,
        })
        .collect();
    let mut named = named;
    named.sort();
    assert_eq!(
        named,
        [("east".to_string(), "East block".to_string(), true), ("west".to_string(), "West block".to_string(), true)]
    );
}

#[test]
fn footprints_loaded_beside_a_photo_mesh_become_its_buildings() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let file = urbis_formats::osgb::read_osgb_file(&tile).expect("read");
    let (lo, hi) = file.root.vertex_bounds().expect("vertices");
    let dir = osgb_data::dataset("mono", &tile, osgb_data::ENU_XML);
    // A footprint over the west half of the tile (lon/lat from the ENU offsets), standing 0 m to above its top.
    let (mlat, mlon) = osgb_data::metres_per_degree(39.0);
    let ll = |x: f64, y: f64| [115.9 + x / mlon, 39.0 + y / mlat];
    let mid = (lo.x + hi.x) / 2.0;
    let ring = [
        ll(lo.x - 2.0, lo.y - 2.0),
        ll(mid, lo.y - 2.0),
        ll(mid, hi.y + 2.0),
        ll(lo.x - 2.0, hi.y + 2.0),
        ll(lo.x - 2.0, lo.y - 2.0),
    ];
    let geojson = serde_json::json!({
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "West hall", "height": hi.z + 5.0},
             "geometry": {"type": "Polygon", "coordinates": [ring]}},
            {"type": "Feature", "properties": {"name": "Far shed", "height": 5.0},
             "geometry": {"type": "Polygon", "coordinates": [[ll(500.0, 500.0), ll(510.0, 500.0), ll(510.0, 510.0), ll(500.0, 510.0), ll(500.0, 500.0)]]}}
        ]
    });
    let fp = dir.join("footprints.geojson");
    std::fs::write(&fp, geojson.to_string()).expect("write footprints");
    let opts = urbis_model::LoadOptions { monomerize: true, ..Default::default() };
    let (mut m, reports) = urbis_model::open_city_opts(&[dir.clone(), fp], &opts).expect("open");
    let mono = reports.iter().find(|r| r.path == "monomerize").expect("a monomerize report");
    assert_eq!(mono.features, 1, "{mono:?}");
    assert!(
        mono.warnings.iter().any(|w| w.contains("footprints with no photo mesh over them, kept as they were: 1:")),
        "{:?}",
        mono.warnings
    );
    let counts: BTreeMap<String, usize> =
        m.counts_by_class().into_iter().map(|(c, n)| (c.name().to_string(), n)).collect();
    // The cut building, the ground, and the far footprint kept as its own LoD1 building.
    assert_eq!(counts.get("PhotoMesh"), None, "{counts:?}");
    assert_eq!(counts.get("Ground"), Some(&1), "{counts:?}");
    let (by_tex, n) = surface(&mut m, "Building");
    assert_eq!(n, 2, "{counts:?}");
    assert!(by_tex.keys().any(Option::is_some), "the cut building is textured: {by_tex:?}");
    let mut q = m.world.query::<(&SemanticClass, &Attributes, &Bounds)>();
    let west: Vec<Bounds> = q
        .iter(&m.world)
        .filter(|(_, a, _)| matches!(a.get("name"), Some(urbis_model::AttributeValue::String(s)) if s == "West hall"))
        .map(|(_, _, b)| *b)
        .collect();
    assert_eq!(west.len(), 1);
    // It spans the west half of the tile only (the frame is centred near the tile).
    let b = west[0];
    assert!(b.max.x - b.min.x < (hi.x - lo.x) / 2.0 + 0.5 && b.max.x - b.min.x > (hi.x - lo.x) / 2.0 - 3.0, "{b:?}");
}
