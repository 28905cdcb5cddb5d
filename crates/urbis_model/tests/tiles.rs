//! 3D Tiles and glTF into the model: one entity per feature with its
//! property-table or batch-table row, tile/content metadata as attributes,
//! the missing dragon reported, several inputs in one scene.

mod shared;

use serde_json::Value;
use urbis_model::load::TileDetail;
use urbis_model::*;

fn attrs_by_feature(model: &mut CityModel) -> Vec<Attributes> {
    let mut q = model.world.query::<&Attributes>();
    let mut v: Vec<Attributes> = q.iter(&model.world).cloned().collect();
    v.sort_by_key(|a| a.get("feature_id").and_then(AttributeValue::as_f64).map(|f| f as i64));
    v
}

#[test]
fn property_table_rows_become_feature_attributes() {
    let Some(p) = shared::shared(
        "gltf/EXT_structural_metadata/FeatureIdAttributeAndPropertyTable/FeatureIdAttributeAndPropertyTable.gltf",
    ) else {
        return;
    };
    let (mut model, _) = open_city(&[p]).expect("load");
    let attrs = attrs_by_feature(&mut model);
    assert_eq!(attrs.len(), 4, "one entity per feature ID");
    let want = ["[0.0,0.10000000149011612,0.20000000298023224]", "[1.0,1.100000023841858,1.2000000476837158]"];
    for (i, a) in attrs.iter().take(2).enumerate() {
        assert_eq!(a.f64("feature_id"), Some(i as f64));
        assert_eq!(a.str("example_VEC3_FLOAT32"), Some(want[i]));
    }
    let Some(p) = shared::shared(
        "gltf/EXT_structural_metadata/FeatureIdTextureAndPropertyTable/FeatureIdTextureAndPropertyTable.gltf",
    ) else {
        return;
    };
    let (mut model, _) = open_city(&[p]).expect("load");
    let attrs = attrs_by_feature(&mut model);
    // Feature IDs come from the texture: the components named in the README appear.
    let comps: Vec<&str> = attrs.iter().filter_map(|a| a.str("component")).collect();
    assert!(!comps.is_empty() && comps.iter().all(|c| ["Wall", "Door", "Roof", "Window"].contains(c)), "{comps:?}");
    assert!(!attrs.is_empty());
    assert!(attrs.iter().all(|a| a.f64("yearBuilt").is_some_and(|y| [1960.0, 1996.0, 1985.0, 2002.0].contains(&y))));
}

#[test]
fn metadata_granularities_content_and_tile_metadata_reach_entities() {
    let Some(p) = shared::shared("3dtiles/1.1/MetadataGranularities/tileset.json") else { return };
    let file: Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    let (mut model, reports) = open_city_with(&[p], TileDetail::Finest).expect("load");
    assert_eq!(reports[0].tiles_loaded, 20, "twenty contents in five tiles");
    assert!(reports[0].failed_tiles.is_empty());
    // Without feature IDs, every content is one entity.
    assert_eq!(model.feature_count(), 20);
    let mut q = model.world.query::<&Attributes>();
    for a in q.iter(&model.world) {
        let uri = a.str("tile").expect("tile uri");
        let content = file["root"]["children"]
            .as_array()
            .expect("children")
            .iter()
            .flat_map(|t| t["contents"].as_array().expect("contents").iter().map(move |c| (t, c)))
            .find(|(_, c)| c["uri"] == uri)
            .expect("content in file");
        assert_eq!(a.f64("content.vertices"), content.1["metadata"]["properties"]["vertices"].as_f64(), "{uri}");
        assert_eq!(a.str("tile.district"), content.0["metadata"]["properties"]["district"].as_str(), "{uri}");
        assert_eq!(a.str("tileset.author"), file["metadata"]["properties"]["author"].as_str());
        assert!(a.get("group.priority").is_some());
    }
}

#[test]
fn missing_dragon_is_reported_and_the_rest_loads() {
    let Some(p) = shared::shared("3dtiles/1.0/TilesetWithDiscreteLOD/tileset.json") else { return };
    let (model, reports) = open_city_with(&[p], TileDetail::Finest).expect("load");
    assert_eq!(reports[0].failed_tiles.len(), 1, "{:?}", reports[0].failed_tiles);
    assert!(reports[0].failed_tiles[0].starts_with("dragon_high.b3dm"));
    assert!(model.feature_count() > 0, "the medium dragon stands in");
    let mut uris = std::collections::BTreeSet::new();
    for e in model.world.iter_entities() {
        if let Some(a) = e.get::<Attributes>() {
            uris.insert(a.str("tile").unwrap_or_default().to_string());
        }
    }
    assert_eq!(uris.into_iter().collect::<Vec<_>>(), vec!["dragon_medium.b3dm"]);
    // Georeferenced through the tileset's transform: near Cesium's sample location.
    let g = model.frame().origin;
    assert!((g.lon_deg + 75.61).abs() < 0.05 && (g.lat_deg - 40.04).abs() < 0.05, "{g:?}");
}

#[test]
fn sample_city_and_tilesets_combine_in_one_scene() {
    let (Some(a), Some(b)) = (
        shared::shared("3dtiles/1.1/MetadataGranularities/tileset.json"),
        shared::shared("3dtiles/1.1/SparseImplicitQuadtree/tileset.json"),
    ) else {
        return;
    };
    let city = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample");
    let (model, reports) = open_city(&[city, a, b]).expect("load");
    assert_eq!(reports.len(), 4);
    // The city's frame wins; the local tilesets sit at its origin.
    assert!((model.frame().origin.lon_deg - 115.9).abs() < 0.01);
    assert!(reports[2].features == 20 && reports[3].features == 32, "{} {}", reports[2].features, reports[3].features);
    assert!(model.counts_by_class()[&SemanticClass::BUILDING] > 3000);
}

/// Feature IDs in a texture are followed texel by texel: each feature's
/// surface covers the share of the quad that its texels cover in the ID
/// texture (the sample maps the whole texture once onto a unit quad), within
/// the texels its outline crosses.
#[test]
fn texture_feature_ids_are_followed_per_texel() {
    let Some(p) = shared::shared(
        "gltf/EXT_structural_metadata/FeatureIdTextureAndPropertyTable/FeatureIdTextureAndPropertyTable.gltf",
    ) else {
        return;
    };
    // The reference: the ID texture's histogram.
    let g = urbis_formats::gltf::read(&p).expect("gltf");
    let prim = &g.primitives[0];
    let urbis_formats::gltf::features::FeatureIdSource::Texture { texture, channels, .. } = &prim.feature_ids[0].source
    else {
        panic!("a texture ID set");
    };
    let img =
        image::load_from_memory(&g.images[g.textures[*texture].image.expect("image")].bytes).expect("png").to_rgba8();
    let (w, h) = img.dimensions();
    let mut texels: std::collections::BTreeMap<u32, f64> = Default::default();
    for px in img.pixels() {
        *texels.entry(urbis_formats::gltf::features::texel_feature_id(px.0, channels)).or_default() +=
            1.0 / (w * h) as f64;
    }
    assert!(texels.len() >= 3, "{texels:?}");
    // The model: each feature's mesh area.
    let (mut model, _) = open_city(&[p]).expect("load");
    let mut areas: std::collections::BTreeMap<u32, f64> = Default::default();
    let mut q = model.world.query::<(&Attributes, &GeometryHandle)>();
    for (a, gh) in q.iter(&model.world) {
        let id = a.get("feature_id").and_then(AttributeValue::as_f64).expect("feature id") as u32;
        let mesh = model.meshes().get(gh.mesh).expect("mesh");
        let area: f64 = mesh
            .indices
            .chunks_exact(3)
            .map(|t| {
                let v = |k: usize| mesh.vertices[t[k] as usize].position.as_dvec3();
                0.5 * (v(1) - v(0)).cross(v(2) - v(0)).length()
            })
            .sum();
        *areas.entry(id).or_default() += area;
    }
    let total: f64 = areas.values().sum();
    assert!((total - 1.0).abs() < 1e-3, "the unit quad: {total}");
    // Every texel is a 1/w × 1/h patch; an outline crosses at most about w + h of them per feature.
    let tolerance = 2.0 * (w + h) as f64 / (w * h) as f64;
    for (id, share) in &texels {
        let got = areas.get(id).copied().unwrap_or(0.0) / total;
        assert!((got - share).abs() <= tolerance, "feature {id}: {got:.4} of the surface vs {share:.4} of the texels");
    }
}
