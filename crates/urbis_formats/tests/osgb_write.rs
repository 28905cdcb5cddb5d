//! The `.osgb` writer round-trips through the reader, and, where
//! OpenSceneGraph's `osgconv` is installed, OpenSceneGraph reads it too.

use glam::DVec3;
use urbis_formats::osgb::{
    ImagePayload, NodeKind, OsgbMesh, OsgbTile, RangeMode, read_osgb, write::FAR_PIXELS, write_osgb,
};

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([(x * 15) as u8, (y * 30) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
    out.into_inner()
}

fn grid_mesh(n: u32) -> OsgbMesh {
    let mut m = OsgbMesh { name: "grid".into(), ..OsgbMesh::default() };
    for j in 0..=n {
        for i in 0..=n {
            m.positions.push([i as f32, j as f32, (i * j) as f32 * 0.1]);
            m.tex_coords.push([i as f32 / n as f32, j as f32 / n as f32]);
        }
    }
    for j in 0..n {
        for i in 0..n {
            let a = j * (n + 1) + i;
            m.triangles.push([a, a + 1, a + n + 2]);
            m.triangles.push([a, a + n + 2, a + n + 1]);
        }
    }
    m.image = Some(("tex.jpg".into(), jpeg()));
    m
}

fn tile(children: Vec<String>) -> OsgbTile {
    OsgbTile { mesh: grid_mesh(4), center: DVec3::new(2.0, 2.0, 0.8), radius: 3.0, pixel_threshold: 512.0, children }
}

#[test]
fn a_paged_lod_round_trips() {
    let t = tile(vec!["a_L1_0.osgb".into(), "a_L1_1.osgb".into()]);
    let f = read_osgb(&write_osgb(&t), "w.osgb").expect("reads back");
    assert_eq!((f.version, f.robust), (161, false));
    let NodeKind::PagedLod(lod, paged) = &f.root.kind else { panic!("{:?}", f.root.kind) };
    assert_eq!(lod.range_mode, RangeMode::PixelSizeOnScreen);
    assert_eq!(lod.user_center, Some(t.center));
    assert_eq!(lod.radius, 3.0);
    assert_eq!(lod.ranges, vec![[0.0, 512.0], [512.0, FAR_PIXELS], [512.0, FAR_PIXELS]]);
    assert_eq!(paged.file_names, vec!["", "a_L1_0.osgb", "a_L1_1.osgb"]);
    assert_eq!(paged.database_path, None);
    assert_eq!(f.root.children.len(), 1);
    let geode = &f.root.children[0];
    assert_eq!(geode.kind, NodeKind::Geode);
    let g = &geode.drawables[0];
    let p: Vec<[f32; 3]> = g.positions().expect("positions").iter().map(|p| p.as_vec3().to_array()).collect();
    assert_eq!(p, t.mesh.positions);
    assert_eq!(g.tex_coords(0).expect("uv").to_vec(), t.mesh.tex_coords);
    let tris: Vec<[u32; 3]> = g.triangles().expect("triangles");
    assert_eq!(tris, t.mesh.triangles);
    let tex = g.state_set.as_ref().and_then(|s| s.texture(0)).expect("texture on unit 0");
    let img = tex.image.as_ref().expect("image");
    assert_eq!(img.file_name, "tex.jpg");
    let ImagePayload::InlineFile(bytes) = &img.payload else { panic!("not inline") };
    assert_eq!(&bytes[..], &t.mesh.image.as_ref().expect("img").1[..]);
    assert_eq!(img.decode_rgba().expect("decodes").dimensions(), (16, 8));
}

/// An 8 × 8 DXT1 DDS file of four single-colour 4 × 4 blocks (red, green,
/// blue, white: RGB565 colour 0 of each block, every index 0), written byte
/// by byte after Microsoft's DDS_HEADER layout.
fn dds_dxt1() -> Vec<u8> {
    let mut b = b"DDS ".to_vec();
    let mut u32le = |v: u32| b.extend(v.to_le_bytes());
    // dwSize, dwFlags (CAPS | HEIGHT | WIDTH | PIXELFORMAT | LINEARSIZE), height, width, linear size, depth, mips.
    for v in [124, 0x0008_1007, 8, 8, 32, 0, 0] {
        u32le(v);
    }
    for _ in 0..11 {
        u32le(0); // dwReserved1
    }
    // DDS_PIXELFORMAT: size, DDPF_FOURCC, 'DXT1', then bit count and masks.
    for v in [32, 0x4, u32::from_le_bytes(*b"DXT1"), 0, 0, 0, 0, 0] {
        u32le(v);
    }
    for v in [0x1000, 0, 0, 0, 0] {
        u32le(v); // dwCaps (TEXTURE), dwCaps2..4, dwReserved2
    }
    for colour in [0xF800u16, 0x07E0, 0x001F, 0xFFFF] {
        b.extend(colour.to_le_bytes());
        b.extend(0u16.to_le_bytes()); // colour 1: black, below colour 0 (four-colour mode)
        b.extend(0u32.to_le_bytes()); // every texel takes colour 0
    }
    b
}

#[test]
fn an_embedded_dds_texture_decodes() {
    let mut t = tile(vec![]);
    t.mesh.image = Some(("tex.dds".into(), dds_dxt1()));
    let f = read_osgb(&write_osgb(&t), "dds.osgb").expect("reads back");
    let tex = f.root.drawables[0].state_set.as_ref().and_then(|s| s.texture(0)).expect("texture");
    let img = tex.image.as_ref().expect("image").decode_rgba().expect("DXT1 decodes");
    assert_eq!(img.dimensions(), (8, 8));
    // Blocks in row order; RGB565 31/63 expand to 255.
    for (x, y, rgb) in [(1, 1, [255, 0, 0]), (6, 2, [0, 255, 0]), (2, 5, [0, 0, 255]), (7, 7, [255, 255, 255])] {
        let p = img.get_pixel(x, y);
        assert_eq!([p[0], p[1], p[2]], rgb, "texel {x},{y}");
    }
    // A truncated DDS is an error naming the image, not a panic.
    let mut cut = tile(vec![]);
    cut.mesh.image = Some(("cut.dds".into(), dds_dxt1()[..100].to_vec()));
    let f = read_osgb(&write_osgb(&cut), "cut.osgb").expect("the file reads; the image is bad");
    let tex = f.root.drawables[0].state_set.as_ref().and_then(|s| s.texture(0)).expect("texture");
    let e = tex.image.as_ref().expect("image").decode_rgba().expect_err("truncated");
    assert!(e.to_string().contains("cut.dds"), "{e}");
}

#[test]
fn external_images_are_read_from_beside_the_tile() {
    let dir = std::env::temp_dir().join(format!("urbis-osgb-external-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let png = {
        let img = image::RgbImage::from_pixel(4, 2, image::Rgb([10, 200, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).expect("png");
        out.into_inner()
    };
    std::fs::write(dir.join("tex.png"), &png).expect("image");
    // Beside the tile by name, and by the bare name of a path from the machine that made it.
    for (name, found) in [("tex.png", true), ("D:\\survey\\textures\\tex.png", true), ("gone.png", false)] {
        let mut t = tile(vec![]);
        t.mesh.image = Some((name.into(), Vec::new()));
        let path = dir.join("t.osgb");
        std::fs::write(&path, write_osgb(&t)).expect("write");
        let f = urbis_formats::osgb::read_osgb_file(&path).expect("reads");
        let tex = f.root.drawables[0].state_set.as_ref().and_then(|s| s.texture(0)).expect("texture");
        let img = tex.image.as_ref().expect("image");
        assert_eq!(img.file_name, name);
        if found {
            let rgba = img.decode_rgba().expect("decodes");
            assert_eq!((rgba.dimensions(), rgba.get_pixel(3, 1).0), ((4, 2), [10, 200, 30, 255]), "{name}");
        } else {
            assert_eq!(img.payload, ImagePayload::External);
            assert!(img.decode_rgba().is_err());
        }
    }
    // An image name that climbs out of the dataset is not read.
    let outside = dir.parent().expect("parent").join(format!("urbis-osgb-outside-{}.png", std::process::id()));
    std::fs::write(&outside, &png).expect("outside image");
    let mut t = tile(vec![]);
    t.mesh.image = Some((format!("../{}", outside.file_name().expect("name").to_string_lossy()), Vec::new()));
    let bytes = write_osgb(&t);
    let mut f = read_osgb(&bytes, "t.osgb").expect("reads");
    let warnings = f.embed_external_images(&urbis_formats::gltf::DirResources { dir: dir.clone() });
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("t.osgb") && warnings[0].contains("external image"), "{}", warnings[0]);
    let _ = std::fs::remove_file(&outside);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `bytes` (a plain file from our writer) as OpenSceneGraph writes it with
/// compressor `name`: the header, the compressor's name, then the rest encoded.
fn compressed(bytes: &[u8], name: &str, encode: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    // Magic (8), type, version, attributes (12), then the compressor name "0" (4 + 1).
    assert_eq!(&bytes[20..25], &[1, 0, 0, 0, b'0']);
    let mut out = bytes[..20].to_vec();
    out.extend((name.len() as u32).to_le_bytes());
    out.extend(name.as_bytes());
    out.extend(encode(&bytes[25..]));
    out
}

#[test]
fn compressed_streams_are_inflated() {
    use std::io::Write;
    let t = tile(vec!["c_L1_0.osgb".into()]);
    let plain = write_osgb(&t);
    let want = read_osgb(&plain, "plain.osgb").expect("plain");
    let gzip = |b: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).expect("gzip");
        e.finish().expect("gzip")
    };
    let zlib = |b: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).expect("zlib");
        e.finish().expect("zlib")
    };
    let null = |b: &[u8]| {
        let mut v = (b.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(b);
        v
    };
    for (name, bytes) in [
        ("zlib (gzip, as OpenSceneGraph writes)", compressed(&plain, "zlib", gzip)),
        ("zlib (zlib header)", compressed(&plain, "zlib", zlib)),
        ("null", compressed(&plain, "null", null)),
    ] {
        let got = read_osgb(&bytes, "c.osgb").unwrap_or_else(|e| panic!("{name}: {e}"));
        let shape = |f: &urbis_formats::osgb::OsgbFile| {
            let g = f.root.geometries();
            let (_, g) = g.first().expect("a geometry");
            let NodeKind::PagedLod(_, paged) = &f.root.kind else { panic!("not a PagedLOD") };
            (g.positions().expect("positions"), g.triangles().expect("triangles"), paged.file_names.clone())
        };
        assert_eq!(shape(&got), shape(&want), "{name}");
        assert_eq!(shape(&got).1.len(), 32, "{name}");
    }
    // A cut compressed stream, garbage after the name, or an unknown compressor: errors naming the file.
    let mut cut = compressed(&plain, "zlib", gzip);
    cut.truncate(cut.len() / 2);
    let garbage = compressed(&plain, "zlib", |b| vec![0x55; b.len()]);
    let lzma = compressed(&plain, "lzma", gzip);
    for (what, bytes) in [("cut", cut), ("garbage", garbage), ("lzma", lzma)] {
        let e = read_osgb(&bytes, "c.osgb").expect_err(what).to_string();
        assert!(e.contains("c.osgb"), "{what}: {e}");
    }
}

#[test]
fn a_leaf_is_a_geode() {
    let t = tile(vec![]);
    let f = read_osgb(&write_osgb(&t), "leaf.osgb").expect("reads back");
    assert_eq!(f.root.kind, NodeKind::Geode);
    assert_eq!(f.root.drawables[0].triangles().expect("t").len(), 32);
}

#[test]
fn openscenegraph_reads_what_is_written() {
    let ok = std::process::Command::new("osgconv").arg("--help").output().is_ok();
    if !ok {
        eprintln!("skip: osgconv (OpenSceneGraph) is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("urbis_osgb_write_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, t) in [("paged.osgb", tile(vec!["child.osgb".into()])), ("leaf.osgb", tile(vec![]))] {
        let src = dir.join(name);
        std::fs::write(&src, write_osgb(&t)).expect("write");
        let out = dir.join(format!("{name}.osgt"));
        let run = std::process::Command::new("osgconv").arg(&src).arg(&out).output().expect("runs osgconv");
        assert!(run.status.success(), "osgconv {name}: {}", String::from_utf8_lossy(&run.stderr));
        let text = std::fs::read_to_string(&out).expect("osgconv wrote ASCII");
        assert!(text.contains("osg::Vec3Array") && text.contains("vector 25 {"), "{name}: {text}");
        assert!(text.contains("Mode TRIANGLES") && text.contains("vector 96 {"), "{name}: {text}");
        if name == "paged.osgb" {
            assert!(text.contains("osg::PagedLOD") && text.contains("\"child.osgb\""), "{text}");
            assert!(text.contains("RangeMode PIXEL_SIZE_ON_SCREEN") && text.contains("FileName \"tex.jpg\""), "{text}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
