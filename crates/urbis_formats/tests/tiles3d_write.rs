//! The 3D Tiles writer (`tiles3d::write`): glbs round-trip through our own
//! reader and the independent `gltf` crate, and, where node and the npm
//! package `gltf-validator` are installed, the Khronos glTF-Validator finds
//! no errors; tilesets round-trip through our tileset reader; every bad
//! input is a `WriteError` naming its field.

use urbis_formats::gltf::{self, FeatureIdSource, MetadataValue, NoResources};
use urbis_formats::tiles3d::tileset::{self as tileset_reader, Tile};
use urbis_formats::tiles3d::write::{
    GlbContent, GlbImage, GlbPrimitive, MetadataScalar, PropertyColumn, PropertyTableData, Refine, TableProperty,
    TileNode, TilesetDoc, TilesetMetadata, WriteError, box_around, metadata::FLOAT64_NO_DATA, srgb_to_linear,
    tileset::MAX_TILE_DEPTH, write_glb, write_tileset, write_tileset_json,
};

fn png() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(8, 4, |x, y| image::Rgba([(x * 30) as u8, (y * 60) as u8, 200, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// A 3×3 vertex grid (8 triangles), textured, coloured, one feature per vertex.
fn grid() -> GlbPrimitive {
    let mut p = GlbPrimitive::default();
    for j in 0..3 {
        for i in 0..3 {
            p.positions.push([i as f32 * 2.5, (i * j) as f32 * 0.25, -(j as f32) * 2.0]);
        }
    }
    p.normals = Some(vec![[0.0, 1.0, 0.0]; 9]);
    p.uvs = Some(p.positions.iter().map(|v| [v[0] / 5.0, -v[2] / 4.0]).collect());
    p.colors = Some((0..9).map(|k| [k as u8 * 30, 1, 255 - k as u8, 128 + k as u8]).collect());
    p.feature_ids = Some((0..9).collect());
    for j in 0..2 {
        for i in 0..2 {
            let a = j * 3 + i;
            p.indices.extend([a, a + 3, a + 1, a + 1, a + 3, a + 4]);
        }
    }
    p.image = Some(0);
    p
}

/// A double-sided quad of two features (9 and 3), untextured.
fn quad() -> GlbPrimitive {
    GlbPrimitive {
        positions: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 3.0, 0.0], [0.0, 3.0, 0.0]],
        feature_ids: Some(vec![9, 9, 3, 3]),
        indices: vec![0, 1, 2, 0, 2, 3],
        base_color: [0.5, 0.25, 0.125, 1.0],
        double_sided: true,
        ..GlbPrimitive::default()
    }
}

fn table() -> PropertyTableData {
    let prop = |id: &str, name: Option<&str>, values| TableProperty {
        id: id.into(),
        name: name.map(Into::into),
        semantic: None,
        values,
    };
    let strings = ["a", "", "高度 ü", "d", "", "f", "g", "h", "i", "j"];
    PropertyTableData {
        class: "building".into(),
        count: 10,
        properties: vec![
            prop("name", Some("Name (名称)"), PropertyColumn::String(strings.map(String::from).to_vec())),
            prop(
                "height",
                None,
                PropertyColumn::Float64(vec![
                    Some(1.5),
                    None,
                    Some(-2.25),
                    Some(1e300),
                    Some(0.0),
                    Some(f64::MAX),
                    None,
                    Some(3.0),
                    Some(4.0),
                    Some(5.0),
                ]),
            ),
            prop(
                "floors",
                None,
                PropertyColumn::Int64(vec![
                    Some(3),
                    None,
                    Some(i64::MAX),
                    Some(-7),
                    Some(0),
                    Some(i64::MIN + 1),
                    Some(1),
                    Some(2),
                    None,
                    Some(4),
                ]),
            ),
            prop(
                "is_public",
                None,
                PropertyColumn::Boolean(vec![true, false, true, true, false, false, false, false, true, true]),
            ),
            prop("year", None, PropertyColumn::Int64((0..10).map(|y| Some(1990 + y)).collect())),
            prop(
                "parent",
                None,
                PropertyColumn::OptionalString((0..10).map(|i| (i % 3 == 0).then(|| format!("B{i}"))).collect()),
            ),
        ],
    }
}

fn fixture() -> GlbContent {
    GlbContent {
        primitives: vec![grid(), quad()],
        images: vec![GlbImage { mime_type: "image/png".into(), bytes: png() }],
        table: Some(table()),
        schema_id: "urbis_city".into(),
    }
}

fn expected_values(c: &PropertyColumn) -> Vec<MetadataValue> {
    match c {
        PropertyColumn::String(v) => v.iter().map(|s| MetadataValue::String(s.clone())).collect(),
        PropertyColumn::OptionalString(v) => {
            v.iter().map(|s| s.clone().map_or(MetadataValue::NoData, MetadataValue::String)).collect()
        }
        PropertyColumn::Float64(v) => v.iter().map(|x| x.map_or(MetadataValue::NoData, MetadataValue::Float)).collect(),
        PropertyColumn::Int64(v) => v.iter().map(|x| x.map_or(MetadataValue::NoData, MetadataValue::Int)).collect(),
        PropertyColumn::Boolean(v) => v.iter().map(|b| MetadataValue::Bool(*b)).collect(),
    }
}

fn attribute_ids(p: &gltf::Primitive) -> (u32, Option<usize>, Vec<u32>) {
    assert_eq!(p.feature_ids.len(), 1);
    let set = &p.feature_ids[0];
    let FeatureIdSource::Attribute { set: 0, values } = &set.source else { panic!("{:?}", set.source) };
    (set.feature_count, set.property_table, values.clone())
}

#[test]
fn a_glb_round_trips_through_our_reader() {
    let content = fixture();
    let bytes = write_glb(&content).expect("writes");
    assert_eq!(&bytes[..4], b"glTF");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().expect("4")) as usize, bytes.len());
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().expect("4")) as usize;
    assert_eq!((28 + json_len) % 8, 0, "BIN data starts 8-aligned in the file");
    let m = gltf::parse(&bytes, "w.glb", &NoResources).expect("reads back");
    assert_eq!(m.generator.as_deref(), Some("Urbis"));
    assert_eq!(m.extensions_used, ["EXT_mesh_features", "EXT_structural_metadata"]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(m.primitives.len(), 2);

    let (g, q) = (&m.primitives[0], &m.primitives[1]);
    let src = &content.primitives[0];
    assert_eq!(g.positions, src.positions);
    assert_eq!(g.normals, src.normals);
    assert_eq!(g.tex_coords, vec![src.uvs.clone().expect("uvs")]);
    assert_eq!(g.indices.as_ref(), Some(&src.indices));
    let colors = g.colors.as_ref().expect("COLOR_0");
    for (c, s) in colors.iter().zip(src.colors.as_ref().expect("colors")) {
        for k in 0..3 {
            assert!((c[k] - srgb_to_linear(s[k])).abs() < 1e-5, "{c:?} vs sRGB {s:?}");
        }
        assert!((c[3] - s[3] as f32 / 255.0).abs() < 1e-6);
    }
    assert_eq!(attribute_ids(g), (9, Some(0), (0..9).collect()));
    assert_eq!(q.positions, content.primitives[1].positions);
    assert_eq!((q.normals.as_ref(), q.tex_coords.len(), q.colors.as_ref()), (None, 0, None));
    assert_eq!(attribute_ids(q), (2, Some(0), vec![9, 9, 3, 3]));

    // Materials: the textured one and the coloured double-sided one.
    let (mg, mq) = (&m.materials[g.material.expect("material")], &m.materials[q.material.expect("material")]);
    assert_eq!(mg.base_color, [1.0; 4]);
    let tex = mg.base_color_texture.as_ref().expect("texture");
    assert_eq!((tex.tex_coord, m.textures[tex.texture].image), (0, Some(0)));
    assert!(!mg.double_sided);
    assert_eq!((mq.base_color, mq.base_color_texture.as_ref(), mq.double_sided), ([0.5, 0.25, 0.125, 1.0], None, true));
    assert_eq!(m.images.len(), 1);
    assert_eq!(m.images[0].mime_type.as_deref(), Some("image/png"));
    assert_eq!(m.images[0].bytes, content.images[0].bytes);

    // Metadata: every value of every type, noData and empty strings included.
    let md = m.metadata.as_ref().expect("EXT_structural_metadata");
    assert_eq!(md.schema.id.as_deref(), Some("urbis_city"));
    let class = &md.schema.classes["building"];
    assert_eq!(class.properties["name"].name.as_deref(), Some("Name (名称)"));
    assert_eq!(class.properties["name"].kind, "STRING");
    assert_eq!(class.properties["height"].component_type.as_deref(), Some("FLOAT64"));
    assert_eq!(class.properties["height"].no_data, Some(serde_json::json!(FLOAT64_NO_DATA)));
    assert_eq!(class.properties["floors"].no_data, Some(serde_json::json!(i64::MIN)));
    assert_eq!(class.properties["year"].no_data, None, "noData only where a value is missing");
    assert_eq!(class.properties["is_public"].kind, "BOOLEAN");
    let t = &md.property_tables[0];
    assert_eq!((t.class.as_str(), t.count), ("building", 10));
    let src = content.table.as_ref().expect("table");
    assert_eq!(t.columns.len(), src.properties.len());
    for p in &src.properties {
        assert_eq!(t.columns[&p.id], expected_values(&p.values), "{}", p.id);
    }
}

#[test]
fn a_glb_reads_in_the_gltf_crate() {
    let content = fixture();
    let bytes = write_glb(&content).expect("writes");
    // from_slice validates (POSITION min/max, indices, semantics, ...).
    let g = ::gltf::Gltf::from_slice(&bytes).expect("the gltf crate validates it");
    let used: Vec<&str> = g.extensions_used().collect();
    assert_eq!(used, ["EXT_mesh_features", "EXT_structural_metadata"]);
    assert_eq!(g.extensions_required().count(), 0);
    assert!(g.extension_value("EXT_structural_metadata").is_some());
    let (doc, buffers, images) = ::gltf::import_slice(&bytes).expect("imports, images decoded");
    assert_eq!(doc.as_json().asset.generator.as_deref(), Some("Urbis"));
    assert_eq!((images[0].width, images[0].height), (8, 4));
    let mesh = doc.meshes().next().expect("mesh");
    for (p, src) in mesh.primitives().zip(&content.primitives) {
        let r = p.reader(|b| Some(&buffers[b.index()]));
        assert_eq!(r.read_positions().expect("positions").collect::<Vec<_>>(), src.positions);
        assert_eq!(r.read_indices().expect("indices").into_u32().collect::<Vec<_>>(), src.indices);
        if let Some(uvs) = &src.uvs {
            assert_eq!(&r.read_tex_coords(0).expect("uv").into_f32().collect::<Vec<_>>(), uvs);
        }
        let pos = p.get(&::gltf::Semantic::Positions).expect("POSITION");
        let (min, max) = (pos.min().expect("min"), pos.max().expect("max"));
        let lo: [f32; 3] = serde_json::from_value(min).expect("3");
        let hi: [f32; 3] = serde_json::from_value(max).expect("3");
        for k in 0..3 {
            assert_eq!(lo[k], src.positions.iter().map(|v| v[k]).fold(f32::INFINITY, f32::min));
            assert_eq!(hi[k], src.positions.iter().map(|v| v[k]).fold(f32::NEG_INFINITY, f32::max));
        }
        let ids = p.get(&::gltf::Semantic::Extras("FEATURE_ID_0".into())).expect("_FEATURE_ID_0");
        assert_eq!(ids.data_type(), ::gltf::accessor::DataType::U16);
        let view = ids.view().expect("view");
        assert_eq!((view.stride(), view.target()), (Some(4), Some(::gltf::buffer::Target::ArrayBuffer)));
        let ext = p.extension_value("EXT_mesh_features").expect("EXT_mesh_features");
        assert_eq!(ext["featureIds"][0]["attribute"], 0);
        assert_eq!(ext["featureIds"][0]["propertyTable"], 0);
        assert_eq!(p.indices().expect("indices").data_type(), ::gltf::accessor::DataType::U16);
    }
    let img = doc.images().next().expect("image");
    let ::gltf::image::Source::View { view, mime_type } = img.source() else { panic!("not in a buffer view") };
    assert_eq!(mime_type, "image/png");
    assert_eq!(view.target(), None);
    let start = view.offset();
    assert_eq!(&buffers[0][start..start + view.length()], &content.images[0].bytes[..]);
    for v in doc.views() {
        assert_eq!(v.offset() % 4, 0, "bufferView {} offset", v.index());
    }
    // Property-table views (the first ones) are 8-byte aligned.
    let md = g.extension_value("EXT_structural_metadata").expect("metadata");
    for (name, p) in md["propertyTables"][0]["properties"].as_object().expect("properties") {
        for k in ["values", "stringOffsets"] {
            if let Some(v) = p[k].as_u64() {
                let view = doc.views().nth(v as usize).expect("view");
                assert_eq!((view.offset() % 8, view.target()), (0, None), "{name}.{k}");
            }
        }
    }
}

/// A strip of `n` vertices along x; triangles (i, i+1, i+2) up to `last` vertex.
fn strip(n: usize, last: u32) -> GlbPrimitive {
    GlbPrimitive {
        positions: (0..n).map(|i| [i as f32 * 0.01, (i % 2) as f32, 0.0]).collect(),
        indices: (0..last - 1).flat_map(|i| [i, i + 1, i + 2]).collect(),
        ..GlbPrimitive::default()
    }
}

#[test]
fn wide_indices_and_float_feature_ids() {
    // Largest index 65534: still 16-bit. 65535 (the 16-bit restart value): 32-bit.
    for (last, wide) in [(65_534u32, false), (65_535, true)] {
        let mut p = strip(65_536, last);
        assert_eq!(p.indices.iter().max(), Some(&last));
        let ids: Vec<u32> = (0..65_536).map(|i| if wide { i } else { i % 65_535 }).collect();
        p.feature_ids = Some(ids.clone());
        let content = GlbContent { primitives: vec![p.clone()], ..GlbContent::default() };
        let bytes = write_glb(&content).expect("writes");
        let (doc, buffers, _) = ::gltf::import_slice(&bytes).expect("imports");
        let gp = doc.meshes().next().expect("mesh").primitives().next().expect("primitive");
        let width = gp.indices().expect("indices").data_type();
        assert_eq!(width, if wide { ::gltf::accessor::DataType::U32 } else { ::gltf::accessor::DataType::U16 });
        let r = gp.reader(|b| Some(&buffers[b.index()]));
        assert_eq!(r.read_indices().expect("i").into_u32().collect::<Vec<_>>(), p.indices);
        let fid = gp.get(&::gltf::Semantic::Extras("FEATURE_ID_0".into())).expect("ids");
        let kind = if wide { ::gltf::accessor::DataType::F32 } else { ::gltf::accessor::DataType::U16 };
        assert_eq!(fid.data_type(), kind);
        let m = gltf::parse(&bytes, "wide.glb", &NoResources).expect("reads back");
        let (count, table, values) = attribute_ids(&m.primitives[0]);
        assert_eq!((count as usize, table, values), (if wide { 65_536 } else { 65_535 }, None, ids));
        assert_eq!(m.extensions_used, ["EXT_mesh_features"]);
        assert_eq!(m.primitives[0].indices.as_ref(), Some(&p.indices));
    }
    // FLOAT is exact below 2^24 only.
    let mut p = quad();
    p.feature_ids = Some(vec![0, 1 << 24, 0, 0]);
    let err = write_glb(&GlbContent { primitives: vec![p], ..GlbContent::default() }).expect_err("2^24");
    assert!(matches!(err, WriteError::OutOfRange { value: 16_777_216, .. }), "{err}");
}

fn glb_error(edit: impl FnOnce(&mut GlbContent)) -> WriteError {
    let mut c = fixture();
    edit(&mut c);
    write_glb(&c).expect_err("refused")
}

#[test]
fn bad_glb_input_is_an_error_naming_the_field() {
    let cases: Vec<(WriteError, &str)> = vec![
        (
            glb_error(|c| c.primitives[1].feature_ids = Some(vec![1, 2, 3])),
            "primitive 1: feature_ids has 3 values for 4 vertices",
        ),
        (
            glb_error(|c| c.primitives[0].normals = Some(vec![[0.0, 1.0, 0.0]; 8])),
            "primitive 0: normals has 8 values for 9 vertices",
        ),
        (
            glb_error(|c| c.primitives[0].uvs.as_mut().expect("uv").push([0.0; 2])),
            "primitive 0: uvs has 10 values for 9 vertices",
        ),
        (glb_error(|c| c.primitives[0].colors = Some(vec![[0; 4]])), "primitive 0: colors has 1 values for 9 vertices"),
        (glb_error(|c| c.primitives[1].indices[4] = 4), "primitive 1: indices: 4 is out of range (must be below 4)"),
        (glb_error(|c| c.primitives[1].indices.push(0)), "primitive 1: indices: 7 indices"),
        (glb_error(|c| c.primitives[1].indices.clear()), "primitive 1: indices: 0 indices"),
        (glb_error(|c| c.primitives[0].positions[5][1] = f32::NAN), "primitive 0: positions: element 5 is not finite"),
        (glb_error(|c| c.primitives[0].uvs.as_mut().expect("uv")[2][0] = f32::INFINITY), "primitive 0: uvs: element 2"),
        (
            glb_error(|c| c.primitives[0].normals.as_mut().expect("n")[1] = [0.0; 3]),
            "primitive 0: normals: normal 1 is zero",
        ),
        (glb_error(|c| c.primitives[1].positions.clear()), "primitive 1: positions: empty"),
        (glb_error(|c| c.primitives[0].image = Some(1)), "primitive 0: image: 1 is out of range (must be below 1)"),
        (glb_error(|c| c.primitives[0].uvs = None), "primitive 0: image: a texture needs uvs"),
        (glb_error(|c| c.primitives[1].base_color[0] = 1.5), "primitive 1: base_color"),
        (glb_error(|c| c.primitives[1].base_color[3] = f32::NAN), "primitive 1: base_color"),
        (
            glb_error(|c| c.primitives[1].feature_ids = Some(vec![10, 0, 0, 0])),
            "primitive 1: feature_ids: 10 is out of range (must be below 10)",
        ),
        (glb_error(|c| c.primitives.clear()), "primitives: none"),
        (glb_error(|c| c.images[0].mime_type = "image/jpeg".into()), "image 0: the bytes are not a image/jpeg file"),
        (glb_error(|c| c.images[0].mime_type = "image/webp".into()), "image 0: mime type `image/webp`"),
        (glb_error(|c| c.schema_id = "urbis city".into()), "schema id `urbis city` is not an identifier"),
        (glb_error(|c| table_of(c).class = "1st".into()), "class `1st` is not an identifier"),
        (
            glb_error(|c| table_of(c).properties[1].id = "height (m)".into()),
            "property `height (m)` is not an identifier",
        ),
        (glb_error(|c| table_of(c).properties[1].id = "name".into()), "property `name` is given twice"),
        (glb_error(|c| table_of(c).count = 11), "property table: property `name` has 10 values for 11 rows"),
        (glb_error(|c| table_of(c).count = 0), "property table: count: must be at least 1"),
        (glb_error(|c| table_of(c).properties.clear()), "property table: properties: none"),
        (glb_error(|c| table_of(c).properties[0].name = Some(String::new())), "property `name`: an empty display name"),
        (
            glb_error(|c| table_of(c).properties[1].values = PropertyColumn::Float64(vec![Some(f64::NAN); 10])),
            "property table: property `height`: element 0 is not finite",
        ),
        (
            glb_error(|c| {
                let PropertyColumn::Float64(v) = &mut table_of(c).properties[1].values else { panic!() };
                v[3] = Some(f64::MIN);
            }),
            "property `height`: row 3 equals the noData value",
        ),
        (
            glb_error(|c| {
                let PropertyColumn::Int64(v) = &mut table_of(c).properties[2].values else { panic!() };
                v[0] = Some(i64::MIN);
            }),
            "property `floors`: row 0 equals the noData value",
        ),
    ];
    for (err, want) in cases {
        let msg = err.to_string();
        assert!(msg.contains(want), "`{msg}` does not say `{want}`");
    }
    let e = glb_error(|c| c.primitives[1].feature_ids = Some(vec![1, 2, 3]));
    assert!(matches!(e, WriteError::Length { len: 3, expected: 4, .. }), "{e:?}");
    assert!(matches!(glb_error(|c| c.primitives[0].positions[0][0] = f32::NAN), WriteError::NotFinite { .. }));
    assert!(matches!(glb_error(|c| c.primitives[1].indices[0] = 9), WriteError::OutOfRange { value: 9, bound: 4, .. }));
    assert!(matches!(glb_error(|c| table_of(c).properties[0].id = "a-b".into()), WriteError::Identifier { .. }));
    assert!(matches!(glb_error(|c| table_of(c).properties[0].id = "year".into()), WriteError::Duplicate { .. }));
}

fn table_of(c: &mut GlbContent) -> &mut PropertyTableData {
    c.table.as_mut().expect("table")
}

#[test]
fn tables_of_one_row_and_of_empty_strings_read_back() {
    let table = PropertyTableData {
        class: "c".into(),
        count: 1,
        properties: vec![
            TableProperty {
                id: "s".into(),
                name: None,
                semantic: None,
                values: PropertyColumn::String(vec![String::new()]),
            },
            TableProperty { id: "f".into(), name: None, semantic: None, values: PropertyColumn::Float64(vec![None]) },
            TableProperty { id: "b".into(), name: None, semantic: None, values: PropertyColumn::Boolean(vec![true]) },
        ],
    };
    let mut p = quad();
    p.feature_ids = Some(vec![0; 4]);
    let content =
        GlbContent { primitives: vec![p.clone(), p], images: vec![], table: Some(table), schema_id: "s1".into() };
    let m = gltf::parse(&write_glb(&content).expect("writes"), "one.glb", &NoResources).expect("reads");
    let t = &m.metadata.as_ref().expect("metadata").property_tables[0];
    assert_eq!(t.columns["s"], [MetadataValue::String(String::new())]);
    assert_eq!(t.columns["f"], [MetadataValue::NoData]);
    assert_eq!(t.columns["b"], [MetadataValue::Bool(true)]);
    assert_eq!(attribute_ids(&m.primitives[0]).0, 1);
    assert_eq!(m.materials.len(), 1, "equal materials are shared");
    assert_eq!(m.primitives[0].material, m.primitives[1].material);
}

// ---------------------------------------------------------------- tileset

fn translation(x: f64, y: f64, z: f64) -> [f64; 16] {
    [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, x, y, z, 1.0]
}

fn doc() -> TilesetDoc {
    let leaf = |uri: &str, min: [f64; 3]| TileNode {
        bounding_box: box_around(min, [min[0] + 10.0, min[1] + 10.0, 30.0]),
        geometric_error: 0.0,
        refine: Refine::Add,
        content_uri: Some(uri.into()),
        ..TileNode::default()
    };
    TilesetDoc {
        geometric_error: 500.0,
        root: TileNode {
            bounding_box: box_around([0.0, 0.0, 0.0], [20.0, 20.0, 30.0]),
            geometric_error: 100.0,
            refine: Refine::Replace,
            content_uri: Some("root.glb".into()),
            // An ENU frame at some ECEF point: rotation plus translation.
            transform: Some([
                -0.8, 0.6, 0.0, 0.0, -0.3, -0.4, 0.866, 0.0, 0.52, 0.69, 0.5, 0.0, 3.2e6, 4.2e6, 3.2e6, 1.0,
            ]),
            children: vec![
                TileNode {
                    bounding_box: box_around([0.0, 0.0, 0.0], [10.0, 20.0, 30.0]),
                    geometric_error: 50.0,
                    refine: Refine::Add,
                    content_uri: Some("tiles/1/0.glb".into()),
                    children: vec![leaf("tiles/2/0.glb", [0.0, 0.0, 0.0]), leaf("tiles/2/1.glb", [0.0, 10.0, 0.0])],
                    ..TileNode::default()
                },
                TileNode {
                    bounding_box: box_around([10.0, 0.0, 0.0], [20.0, 20.0, 0.0]),
                    geometric_error: 100.0,
                    refine: Refine::Replace,
                    content_uri: None,
                    transform: Some(translation(1.0, 2.0, 3.0)),
                    children: vec![leaf("tiles/2/a%20b.glb", [10.0, 0.0, 0.0])],
                },
            ],
        },
        tileset_version: Some("2024-05".into()),
        metadata: Some(TilesetMetadata {
            schema_id: "urbis_tileset".into(),
            class: "city".into(),
            properties: vec![
                ("name".into(), MetadataScalar::String("Wuhan".into())),
                ("epsg".into(), MetadataScalar::Int64(4547)),
                ("area_km2".into(), MetadataScalar::Float64(12.5)),
                ("synthetic".into(), MetadataScalar::Boolean(true)),
            ],
        }),
        asset_extras: serde_json::Map::from_iter([("generator".to_string(), serde_json::json!("Urbis"))]),
    }
}

fn same_tree(read: &Tile, want: &TileNode, parent_refine: Option<&str>, path: &str) {
    let refine = read.refine.as_deref().or(parent_refine).expect("refine set or inherited");
    assert_eq!(refine, if want.refine == Refine::Add { "ADD" } else { "REPLACE" }, "{path}");
    assert_eq!(read.bounding_volume.oriented_box, Some(want.bounding_box), "{path}");
    assert_eq!(read.geometric_error, want.geometric_error, "{path}");
    assert_eq!(read.transform, want.transform, "{path}");
    assert_eq!(read.content.as_ref().map(|c| c.uri.as_str()), want.content_uri.as_deref(), "{path}");
    assert_eq!(read.children.len(), want.children.len(), "{path}");
    for (i, (r, w)) in read.children.iter().zip(&want.children).enumerate() {
        same_tree(r, w, Some(refine), &format!("{path}/{i}"));
    }
}

#[test]
fn a_tileset_round_trips_through_our_reader() {
    let d = doc();
    let bytes = write_tileset_json(&d).expect("writes");
    let t = tileset_reader::parse(&bytes, "tileset.json").expect("reads back");
    assert_eq!(t.asset.version, "1.1");
    assert_eq!(t.asset.tileset_version.as_deref(), Some("2024-05"));
    assert_eq!(t.geometric_error, 500.0);
    assert_eq!(t.root.refine.as_deref(), Some("REPLACE"), "refine on the root");
    same_tree(&t.root, &d.root, None, "root");
    // Written only where it changes: the leaves under an ADD tile inherit it.
    assert_eq!(t.root.children[0].children[0].refine, None);
    let schema = t.schema.as_ref().expect("schema");
    assert_eq!(schema.id.as_deref(), Some("urbis_tileset"));
    let class = &schema.classes["city"].properties;
    assert_eq!((class["epsg"].kind.as_str(), class["epsg"].component_type.as_deref()), ("SCALAR", Some("INT64")));
    assert_eq!(class["synthetic"].kind, "BOOLEAN");
    let md = t.metadata.as_ref().expect("metadata");
    assert_eq!(md.class, "city");
    assert_eq!(md.properties["name"], "Wuhan");
    assert_eq!(md.properties["area_km2"], 12.5);
    let v = write_tileset(&d).expect("value");
    assert_eq!(v["asset"]["extras"]["generator"], "Urbis");
}

fn chain(levels: usize) -> TileNode {
    let mut t = TileNode { bounding_box: box_around([0.0; 3], [1.0; 3]), ..TileNode::default() };
    for _ in 0..levels {
        t = TileNode { bounding_box: t.bounding_box, children: vec![t], ..TileNode::default() };
    }
    t
}

#[test]
fn the_deepest_tileset_written_still_reads_back() {
    let d = TilesetDoc { root: chain(MAX_TILE_DEPTH), ..TilesetDoc::default() };
    let t = tileset_reader::parse(&write_tileset_json(&d).expect("writes"), "deep.json").expect("reads back");
    let mut depth = 0;
    let mut tile = &t.root;
    while let Some(c) = tile.children.first() {
        (tile, depth) = (c, depth + 1);
    }
    assert_eq!(depth, MAX_TILE_DEPTH);
    let too_deep = TilesetDoc { root: chain(MAX_TILE_DEPTH + 1), ..TilesetDoc::default() };
    let e = write_tileset(&too_deep).expect_err("too deep");
    assert!(e.to_string().contains("deeper than 60 levels"), "{e}");
}

fn tileset_error(edit: impl FnOnce(&mut TilesetDoc)) -> WriteError {
    let mut d = doc();
    edit(&mut d);
    write_tileset(&d).expect_err("refused")
}

#[test]
fn bad_tilesets_are_errors_naming_the_tile() {
    let cases: Vec<(WriteError, &str)> = vec![
        (
            tileset_error(|d| d.root.children[0].children[1].geometric_error = 60.0),
            "root.children[0].children[1]: geometricError 60 is larger than its parent's 50",
        ),
        (tileset_error(|d| d.root.geometric_error = 501.0), "root: geometricError 501 is larger than its parent's 500"),
        (tileset_error(|d| d.geometric_error = -1.0), "tileset: geometricError: -1: must be finite"),
        (tileset_error(|d| d.root.children[1].geometric_error = f64::NAN), "root.children[1]: geometricError: NaN"),
        (
            tileset_error(|d| d.root.children[1].children[0].content_uri = Some("../other/x.glb".into())),
            "root.children[1].children[0]: content uri `../other/x.glb`: has a `..` segment",
        ),
        (tileset_error(|d| d.root.content_uri = Some("tiles/%2E%2E/%2e%2e/x.glb".into())), "has a `..` segment"),
        (tileset_error(|d| d.root.content_uri = Some("/srv/x.glb".into())), "content uri `/srv/x.glb`: absolute"),
        (tileset_error(|d| d.root.content_uri = Some("https://x/y.glb".into())), "has a scheme"),
        (tileset_error(|d| d.root.content_uri = Some("a b.glb".into())), "whitespace"),
        (tileset_error(|d| d.root.content_uri = Some(String::new())), "content uri ``: empty"),
        (
            tileset_error(|d| d.root.children[0].bounding_box[4] = f64::INFINITY),
            "root.children[0]: bounding_box: element 4 is not finite",
        ),
        (tileset_error(|d| d.root.transform.as_mut().expect("t")[3] = 0.5), "root: transform: not affine"),
        (tileset_error(|d| d.root.transform = Some([0.0; 16])), "root: transform: not affine"),
        (
            tileset_error(|d| {
                d.root.transform = Some({
                    let mut m = translation(1.0, 2.0, 3.0);
                    m[10] = 0.0;
                    m
                })
            }),
            "root: transform: not invertible",
        ),
        (tileset_error(|d| d.root.transform.as_mut().expect("t")[13] = f64::NAN), "root: transform: element 13"),
        (tileset_error(|d| d.metadata.as_mut().expect("m").class = "a.b".into()), "class `a.b` is not an identifier"),
        (
            tileset_error(|d| {
                d.metadata.as_mut().expect("m").properties.push(("epsg".into(), MetadataScalar::Int64(1)))
            }),
            "property `epsg` is given twice",
        ),
    ];
    for (err, want) in cases {
        let msg = err.to_string();
        assert!(msg.contains(want), "`{msg}` does not say `{want}`");
    }
    let e = tileset_error(|d| d.root.children[0].geometric_error = 101.0);
    assert!(matches!(e, WriteError::GeometricError { error: 101.0, parent: 100.0, .. }), "{e:?}");
    assert!(matches!(tileset_error(|d| d.root.content_uri = Some("../x".into())), WriteError::Uri { .. }));
}

// ---------------------------------------------------------- glTF-Validator

/// The folder holding `node_modules/gltf-validator`, if any.
fn validator_dir() -> Option<std::path::PathBuf> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [repo.join("target/cesium-bench"), repo.join("../shared/tools/cesium-bench")]
        .into_iter()
        .find(|d| d.join("node_modules/gltf-validator/package.json").exists())
}

#[test]
fn the_khronos_gltf_validator_finds_no_errors() {
    if std::process::Command::new("node").arg("--version").output().is_err() {
        eprintln!("skip: node is not installed");
        return;
    }
    let Some(modules) = validator_dir() else {
        eprintln!("skip: the npm package gltf-validator is not installed (target/cesium-bench/node_modules)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("urbis_tiles3d_write_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut wide = strip(70_000, 69_999);
    wide.feature_ids = Some((0..70_000).collect());
    wide.normals = Some(vec![[0.0, 0.0, 1.0]; 70_000]);
    let files = [
        ("textured_with_table.glb", fixture()),
        ("wide.glb", GlbContent { primitives: vec![wide], ..GlbContent::default() }),
        ("plain.glb", GlbContent { primitives: vec![quad()], ..GlbContent::default() }),
    ];
    let mut paths = Vec::new();
    for (name, c) in &files {
        let p = dir.join(name);
        std::fs::write(&p, write_glb(c).expect("writes")).expect("write");
        paths.push(p);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate_glb.mjs");
    let run = std::process::Command::new("node").arg(&script).arg(&modules).args(&paths).output().expect("runs node");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "validator failed: {}\n{stdout}", String::from_utf8_lossy(&run.stderr));
    let mut checked = 0;
    for line in stdout.lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("one JSON line per file");
        eprintln!(
            "{} (glTF-Validator {}): {} errors, {} warnings, {} infos",
            r["file"], r["version"], r["errors"], r["warnings"], r["infos"]
        );
        for m in r["messages"].as_array().into_iter().flatten() {
            eprintln!("  {}", m.as_str().unwrap_or_default());
        }
        assert_eq!(r["errors"], 0, "{line}");
        assert_eq!(r["warnings"], 0, "{line}");
        checked += 1;
    }
    assert_eq!(checked, files.len());
    let _ = std::fs::remove_dir_all(&dir);
}
