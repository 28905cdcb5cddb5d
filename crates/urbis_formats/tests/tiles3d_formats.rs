//! The 3D Tiles content formats: real b3dm from the Cesium samples, and
//! synthetic i3dm / pnts / cmpt built byte by byte for every feature-table
//! form; hostile tiles are errors with offsets, never panics.

#[path = "support/build.rs"]
mod build;
mod support;

use urbis_formats::gltf::NoResources;
use urbis_formats::tiles3d::{TileContent, parse_content};

fn parse(bytes: &[u8], name: &str) -> Result<TileContent, String> {
    parse_content(bytes, name, &NoResources, 0).map_err(|e| e.in_file(name).to_string())
}

#[test]
fn dragon_b3dm_reads_with_its_batch_table() {
    for (f, min_vertices) in [("dragon_low.b3dm", 100), ("dragon_medium.b3dm", 1000)] {
        let Some(p) = support::shared(&format!("3dtiles/1.0/TilesetWithDiscreteLOD/{f}")) else { continue };
        let bytes = std::fs::read(&p).expect("read");
        let TileContent::B3dm(b) = parse(&bytes, f).expect("parse") else { panic!("{f} is not b3dm") };
        let verts: usize = b.gltf.primitives.iter().map(|p| p.positions.len()).sum();
        assert!(verts >= min_vertices, "{f}: {verts} vertices");
        // The embedded GLB equals what the gltf crate reads from the same bytes.
        let glb_start = bytes.windows(4).position(|w| w == b"glTF").expect("embedded glb");
        let g = ::gltf::Gltf::from_slice_without_validation(&bytes[glb_start..]).expect("gltf crate");
        let bufs = ::gltf::import_buffers(&g.document, None, g.blob.clone()).expect("buffers");
        let reference: usize = g
            .document
            .meshes()
            .flat_map(|m| m.primitives().collect::<Vec<_>>())
            .map(|p| p.reader(|b| Some(&bufs[b.index()])).read_positions().map_or(0, |i| i.count()))
            .sum();
        assert_eq!(verts, reference, "{f}");
        if b.batch_length > 0 {
            for (k, v) in &b.batch_table {
                assert_eq!(v.len(), b.batch_length, "{f}: batch table column {k}");
            }
        }
    }
}

#[test]
fn b3dm_with_rtc_and_binary_batch_table() {
    let glb = build::triangle_glb();
    let ft = r#"{"BATCH_LENGTH":3,"RTC_CENTER":[1215000.5,-4736000.25,4081000.0]}"#;
    let bt = r#"{"name":["a","b","c"],"height":{"byteOffset":0,"componentType":"FLOAT","type":"SCALAR"}}"#;
    let t = build::tile(b"b3dm", ft, &[], bt, &build::f32s(&[10.0, 20.5, 30.0]), None, &glb);
    let TileContent::B3dm(b) = parse(&t, "rtc.b3dm").expect("parse") else { panic!() };
    assert_eq!(b.batch_length, 3);
    assert_eq!(b.rtc_center, Some(glam::DVec3::new(1215000.5, -4736000.25, 4081000.0)));
    assert_eq!(b.batch_table["name"][1], "b");
    assert_eq!(b.batch_table["height"][1], 20.5);
    assert_eq!(b.gltf.primitives[0].batch_ids.as_deref(), Some(&[0, 1, 2][..]));
}

#[test]
fn i3dm_positions_orientations_scales_and_ids() {
    let glb = build::triangle_glb();
    // Two instances: float positions, float normals, non-uniform scale, batch ids.
    let mut bin = build::f32s(&[1.0, 2.0, 3.0, -4.0, 5.0, 6.0]);
    bin.extend(build::f32s(&[0.0, 0.0, 1.0, 0.0, 1.0, 0.0])); // up at 24
    bin.extend(build::f32s(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0])); // right at 48
    bin.extend(build::f32s(&[1.0, 2.0, 3.0, 2.0, 2.0, 2.0])); // scale at 72
    bin.extend(build::u16s(&[7, 9])); // ids at 96
    let ft = r#"{"INSTANCES_LENGTH":2,"POSITION":{"byteOffset":0},"NORMAL_UP":{"byteOffset":24},"NORMAL_RIGHT":{"byteOffset":48},"SCALE_NON_UNIFORM":{"byteOffset":72},"BATCH_ID":{"byteOffset":96,"componentType":"UNSIGNED_SHORT"}}"#;
    let t = build::tile(b"i3dm", ft, &bin, "", &[], Some(1), &glb);
    let TileContent::I3dm(i) = parse(&t, "a.i3dm").expect("parse") else { panic!() };
    assert_eq!(i.instances.len(), 2);
    assert_eq!(i.instances[1].position, glam::DVec3::new(-4.0, 5.0, 6.0));
    assert_eq!(i.instances[0].up, Some(glam::DVec3::Z));
    assert_eq!(i.instances[0].scale, glam::DVec3::new(1.0, 2.0, 3.0));
    assert_eq!(i.instances[1].batch_id, Some(9));
    assert_eq!(i.batch_length, 10);

    // Quantized positions with oct-encoded normals and uniform scale, east-north-up flag.
    let mut bin = build::u16s(&[0, 0, 0, 65535, 32768, 65535]);
    bin.extend(build::u16s(&[32768, 65535, 65535, 32768])); // up oct at 12: (0,1) → +z? and (1,0.5) → +x
    bin.extend(build::u16s(&[65535, 32768, 32768, 0])); // right oct at 20
    bin.extend(build::f32s(&[2.0, 0.5])); // scale at 28
    let ft = r#"{"INSTANCES_LENGTH":2,"POSITION_QUANTIZED":{"byteOffset":0},"QUANTIZED_VOLUME_OFFSET":[10,20,30],"QUANTIZED_VOLUME_SCALE":[100,100,50],"NORMAL_UP_OCT32P":{"byteOffset":12},"NORMAL_RIGHT_OCT32P":{"byteOffset":20},"SCALE":{"byteOffset":28},"EAST_NORTH_UP":true}"#;
    let t = build::tile(b"i3dm", ft, &bin, "", &[], Some(1), &glb);
    let TileContent::I3dm(i) = parse(&t, "q.i3dm").expect("parse") else { panic!() };
    assert!(i.east_north_up);
    assert_eq!(i.instances[0].position, glam::DVec3::new(10.0, 20.0, 30.0));
    let p1 = i.instances[1].position;
    assert!((p1 - glam::DVec3::new(110.0, 20.0 + 100.0 * 32768.0 / 65535.0, 80.0)).length() < 1e-9, "{p1}");
    assert_eq!(i.instances[1].scale, glam::DVec3::splat(0.5));
    for inst in &i.instances {
        assert!((inst.up.expect("up").length() - 1.0).abs() < 1e-9);
    }
}

#[test]
fn pnts_colours_normals_quantization_and_batches() {
    // Three points, RGB565, oct16p normals, batch ids into a 2-feature batch table.
    let mut bin = build::u16s(&[0, 0, 0, 65535, 0, 0, 0, 65535, 65535]);
    bin.extend(build::u16s(&[0xF800, 0x07E0, 0x001F])); // at 18: red, green, blue
    bin.extend([128u8, 128, 255, 128, 128, 255]); // at 24: normals
    bin.extend(build::u16s(&[0, 1, 1])); // at 30: batch ids
    let ft = r#"{"POINTS_LENGTH":3,"POSITION_QUANTIZED":{"byteOffset":0},"QUANTIZED_VOLUME_OFFSET":[-1,-1,-1],"QUANTIZED_VOLUME_SCALE":[2,2,2],"RGB565":{"byteOffset":18},"NORMAL_OCT16P":{"byteOffset":24},"BATCH_ID":{"byteOffset":30},"BATCH_LENGTH":2,"RTC_CENTER":[1,2,3]}"#;
    let bt = r#"{"classification":["ground","vegetation"]}"#;
    let t = build::tile(b"pnts", ft, &bin, bt, &[], None, &[]);
    let TileContent::Pnts(p) = parse(&t, "p.pnts").expect("parse") else { panic!() };
    assert_eq!(p.positions, vec![[-1.0, -1.0, -1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, 1.0]]);
    assert_eq!(p.colors.as_deref(), Some(&[[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]][..]));
    assert_eq!(p.batch_ids.as_deref(), Some(&[0, 1, 1][..]));
    assert_eq!(p.batch_table["classification"][1], "vegetation");
    assert_eq!(p.rtc_center, Some(glam::DVec3::new(1.0, 2.0, 3.0)));
    assert_eq!(p.normals.as_ref().map(Vec::len), Some(3));

    let ft = r#"{"POINTS_LENGTH":2,"POSITION":{"byteOffset":0},"RGBA":{"byteOffset":24},"CONSTANT_RGBA":[1,2,3,4]}"#;
    let mut bin = build::f32s(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    bin.extend([10u8, 20, 30, 40, 50, 60, 70, 80]);
    let TileContent::Pnts(p) = parse(&build::tile(b"pnts", ft, &bin, "", &[], None, &[]), "rgba.pnts").expect("parse")
    else {
        panic!()
    };
    assert_eq!(p.colors.as_deref(), Some(&[[10, 20, 30, 40], [50, 60, 70, 80]][..]));
    assert_eq!(p.constant_rgba, Some([1, 2, 3, 4]));
}

#[test]
fn cmpt_holds_tiles_of_every_kind() {
    let glb = build::triangle_glb();
    let b3dm = build::tile(b"b3dm", r#"{"BATCH_LENGTH":3}"#, &[], "", &[], None, &glb);
    let pnts = build::tile(
        b"pnts",
        r#"{"POINTS_LENGTH":1,"POSITION":{"byteOffset":0}}"#,
        &build::f32s(&[1.0, 2.0, 3.0]),
        "",
        &[],
        None,
        &[],
    );
    let inner = build::cmpt(&[b3dm.clone(), pnts.clone()]);
    let outer = build::cmpt(&[inner, glb.clone()]);
    let TileContent::Cmpt(tiles) = parse(&outer, "c.cmpt").expect("parse") else { panic!() };
    assert_eq!(tiles.len(), 2);
    let TileContent::Cmpt(inner) = &tiles[0] else { panic!() };
    assert!(matches!(inner[0], TileContent::B3dm(_)) && matches!(inner[1], TileContent::Pnts(_)));
    assert!(matches!(tiles[1], TileContent::Glb(_)));
}

#[test]
fn hostile_tiles_report_offsets() {
    let glb = build::triangle_glb();
    let good = build::tile(b"b3dm", r#"{"BATCH_LENGTH":3}"#, &[], "", &[], None, &glb);
    // Truncated anywhere: an error, never a panic.
    for cut in (0..good.len()).step_by(7) {
        assert!(parse(&good[..cut], "cut.b3dm").is_err(), "cut at {cut} parsed");
    }
    // Header length larger than the file.
    let mut long = good.clone();
    long[8..12].copy_from_slice(&(good.len() as u32 + 1000).to_le_bytes());
    let e = parse(&long, "long.b3dm").unwrap_err();
    assert!(e.contains("long.b3dm") && e.contains("byte 8"), "{e}");
    // A table length that overruns.
    let mut over = good.clone();
    over[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse(&over, "over.b3dm").unwrap_err();
    assert!(e.contains("byte 12"), "{e}");
    // 4 GB claimed instances and points.
    let t = build::tile(
        b"i3dm",
        r#"{"INSTANCES_LENGTH":4000000000,"POSITION":{"byteOffset":0}}"#,
        &[0; 8],
        "",
        &[],
        Some(1),
        &glb,
    );
    let e = parse(&t, "huge.i3dm").unwrap_err();
    assert!(e.contains("INSTANCES_LENGTH"), "{e}");
    let t = build::tile(
        b"pnts",
        r#"{"POINTS_LENGTH":4000000000,"POSITION":{"byteOffset":0}}"#,
        &[0; 8],
        "",
        &[],
        None,
        &[],
    );
    assert!(parse(&t, "huge.pnts").unwrap_err().contains("POINTS_LENGTH"));
    let t = build::tile(b"b3dm", r#"{"BATCH_LENGTH":4000000000}"#, &[], "", &[], None, &glb);
    assert!(parse(&t, "huge.b3dm").is_err());
    // A binary reference past the body.
    let t = build::tile(b"pnts", r#"{"POINTS_LENGTH":2,"POSITION":{"byteOffset":1000}}"#, &[0; 24], "", &[], None, &[]);
    let e = parse(&t, "ref.pnts").unwrap_err();
    assert!(e.contains("ref.pnts") && e.contains("byte"), "{e}");
    // Batch table JSON nested 10,000 deep.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let t = build::tile(b"b3dm", r#"{"BATCH_LENGTH":1}"#, &[], &deep, &[], None, &glb);
    let e = parse(&t, "deep.b3dm").unwrap_err();
    assert!(e.contains("deep.b3dm") && e.contains("batchTable"), "{e}");
    // A composite that claims more tiles than it holds, and garbage.
    let mut c = build::cmpt(&[good]);
    c[12..16].copy_from_slice(&1000u32.to_le_bytes());
    assert!(parse(&c, "c.cmpt").unwrap_err().contains("byte"));
    assert!(parse(b"\x00\x01\x02", "junk.bin").unwrap_err().contains("junk.bin"));
}
