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
