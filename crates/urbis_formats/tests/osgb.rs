//! The `.osgb` reader against a real ContextCapture-style tile
//! (`../shared/data/osgb/test.osgb`, from fanvanzh/3dtiles `data/test`,
//! Apache-2.0), `metadata.xml` variants, and a hostile corpus.
//!
//! The tile's facts are checked against things our parser does not decide:
//! the raw bytes at the offsets it reports, the embedded JPEG's own SOF
//! header, and the PagedLOD centre/radius that OpenSceneGraph computed from
//! the same vertices when it wrote the file.

use std::path::Path;

use urbis_formats::FormatError;
use urbis_formats::osgb::{
    ImagePayload, NodeKind, OsgbFile, Primitive, PrimitiveMode, Srs, read_metadata_xml, read_osgb,
};

const TILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/osgb/test.osgb");

/// The shared tile's bytes, or `None` (printing a skip) when it is absent,
/// unless `URBIS_REQUIRE_SHARED_DATA=1`.
fn tile() -> Option<Vec<u8>> {
    match std::fs::read(TILE) {
        Ok(b) => Some(b),
        Err(_) if std::env::var("URBIS_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1") => {
            panic!("URBIS_REQUIRE_SHARED_DATA=1 but {TILE} is missing")
        }
        Err(_) => {
            eprintln!("skip: {TILE} not found");
            None
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Width and height from a JPEG's SOFn marker, read directly.
fn jpeg_sof_size(j: &[u8]) -> (u32, u32) {
    assert_eq!(&j[..2], &[0xFF, 0xD8], "JPEG SOI");
    let mut at = 2;
    loop {
        assert_eq!(j[at], 0xFF, "marker at {at}");
        let marker = j[at + 1];
        let len = usize::from(u16::from_be_bytes([j[at + 2], j[at + 3]]));
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([j[at + 5], j[at + 6]]);
            let w = u16::from_be_bytes([j[at + 7], j[at + 8]]);
            return (w.into(), h.into());
        }
        at += 2 + len;
    }
}

fn read_tile(bytes: &[u8]) -> OsgbFile {
    read_osgb(bytes, TILE).expect("test.osgb reads")
}

#[test]
fn tile_structure_matches_the_file() {
    let Some(bytes) = tile() else { return };
    let f = read_tile(&bytes);
    assert_eq!(f.version, u32_at(&bytes, 12), "header version");
    assert_eq!(f.version, 91);
    assert!(!f.robust && f.skipped.is_empty());
    assert_eq!(f.root.class, "osg::PagedLOD");
    let (lod, paged) = f.root.paged_lod().expect("PagedLOD root");
    // The paged child's name appears verbatim, length-prefixed, in the file.
    let name = "Tile_+000_+000_L16_0.osgb";
    let at = find(&bytes, name.as_bytes()).expect("name in the bytes");
    assert_eq!(u32_at(&bytes, at - 4) as usize, name.len());
    assert_eq!(paged.file_names, vec![String::new(), name.to_string()], "inline child, then the paged one");
    assert_eq!(lod.ranges.len(), 2);
    assert_eq!(f.root.children.len(), 1, "one inline child for the one empty file name");
    assert_eq!(f.root.children[0].kind, NodeKind::Geode);
    let paths = f.root.child_paths(Path::new("/tiles/Tile_+000_+000"));
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].as_ref().expect("resolves"), &Path::new("/tiles/Tile_+000_+000").join(name));
}

#[test]
fn tile_geometry_matches_raw_bytes_and_osg_bound() {
    let Some(bytes) = tile() else { return };
    let f = read_tile(&bytes);
    let geoms = f.root.geometries();
    assert_eq!(geoms.len(), 2);
    let mut triangles = 0;
    let (mut lo, mut hi) = (glam::DVec3::splat(f64::MAX), glam::DVec3::splat(f64::MIN));
    for (_, g) in &geoms {
        let v = g.vertices.as_ref().expect("vertices");
        assert_eq!(v.class, "osg::Vec3Array");
        // Non-robust stream before version 112: the i32 element count sits
        // right before the first value, and the values are the raw f32s.
        assert_eq!(u32_at(&bytes, v.offset - 4) as usize, g.vertex_count(), "stored count");
        let p = g.positions().expect("positions");
        for (i, q) in p.iter().enumerate() {
            for k in 0..3 {
                let raw = f32::from_le_bytes(bytes[v.offset + 12 * i + 4 * k..][..4].try_into().expect("4 bytes"));
                assert_eq!(f64::from(raw), q[k], "vertex {i} component {k}");
            }
            lo = lo.min(*q);
            hi = hi.max(*q);
        }
        for ps in &g.primitives {
            assert_eq!(ps.mode, PrimitiveMode::Triangles);
            let Primitive::DrawElements { indices, .. } = &ps.primitive else { panic!("{ps:?}") };
            assert!(indices.iter().all(|i| (*i as usize) < g.vertex_count()), "index in range");
        }
        triangles += g.triangles().expect("triangles").len();
        if let Some(uv) = g.tex_coords(0) {
            assert_eq!(uv.len(), g.vertex_count());
            assert!(uv.iter().flatten().all(|t| t.is_finite() && (0.0..=1.0).contains(t)), "atlas coordinates");
        }
    }
    // The DrawElementsUInt counts stored in the file (0x150 = 336 at byte
    // 0x4469, and 6 in the second geometry, read with xxd) give 112 + 2.
    assert_eq!(u32_at(&bytes, 0x4469), 336);
    assert_eq!(triangles, 112 + 2);
    assert_eq!(geoms.iter().map(|(_, g)| g.vertex_count()).collect::<Vec<_>>(), vec![194, 6]);

    // OpenSceneGraph wrote the PagedLOD's user centre and radius from the
    // bounding box of these vertices: its centre and half diagonal.
    let (lod, _) = f.root.paged_lod().expect("PagedLOD");
    let c = lod.user_center.expect("user-defined centre");
    assert!((c - (lo + hi) * 0.5).length() < 1e-3, "centre {c} vs box centre {}", (lo + hi) * 0.5);
    assert!((lod.radius - (hi - lo).length() * 0.5).abs() < 1e-3 * lod.radius, "radius {}", lod.radius);
    for (_, g) in &geoms {
        for p in g.positions().expect("positions") {
            assert!((p - c).length() <= lod.radius * 1.01, "{p} outside the LOD sphere");
        }
    }
    assert_eq!(f.root.lod_center(), Some((c, lod.radius)));
}

#[test]
fn tile_texture_is_the_embedded_jpeg() {
    let Some(bytes) = tile() else { return };
    let f = read_tile(&bytes);
    let (_, g) = f.root.geometries()[0];
    let ss = g.state_set.as_ref().expect("state set");
    let material = ss.material().expect("material");
    assert_eq!(material.diffuse.front, [1.0, 1.0, 1.0, 1.0]);
    let tex = ss.texture(0).expect("texture unit 0");
    let image = tex.image.as_ref().expect("image");
    assert_eq!(image.file_name, "Tile_+000_+000_0.jpg");
    let ImagePayload::InlineFile(jpeg) = &image.payload else { panic!("{:?}", image.payload) };
    // The JPEG is stored whole: it ends with EOI, and its length prefix says so.
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
    let at = find(&bytes, &jpeg[..64]).expect("JPEG in the file");
    assert_eq!(u32_at(&bytes, at - 4) as usize, jpeg.len());
    let (w, h) = jpeg_sof_size(jpeg);
    let decoded = image.decode_rgba().expect("decodes");
    assert_eq!((decoded.width(), decoded.height()), (w, h));
    assert_eq!((w, h), (256, 128));
    // Control: a mangled JPEG does not decode.
    let mut bad = image.clone();
    bad.payload = ImagePayload::InlineFile(jpeg[..100].into());
    assert!(bad.decode_rgba().is_err());
}

#[test]
fn metadata_xml_srs_variants() {
    let doc = |srs: &str, origin: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n\t<!--Spatial Reference System-->\n\
             \t<SRS>{srs}</SRS>\n\t<!--Origin in Spatial Reference System-->\n\t{origin}\n\
             \t<Texture>\n\t\t<ColorSource>Visible</ColorSource>\n\t</Texture>\n</ModelMetadata>\n"
        )
    };
    let m = read_metadata_xml(&doc("EPSG:4547", "<SRSOrigin>521000,3397000,20.5</SRSOrigin>"), "m.xml").expect("epsg");
    assert_eq!(m.srs, Srs::Epsg { code: 4547, vertical: None });
    assert_eq!(m.srs_origin, glam::DVec3::new(521000.0, 3397000.0, 20.5));
    assert_eq!(m.color_source.as_deref(), Some("Visible"));

    let m = read_metadata_xml(&doc("EPSG:4547+5773", ""), "m.xml").expect("compound");
    assert_eq!(m.srs, Srs::Epsg { code: 4547, vertical: Some(5773) });
    assert_eq!(m.srs_origin, glam::DVec3::ZERO, "missing origin is zero");

    let m = read_metadata_xml(&doc("ENU:30.5284, 114.3573", "<SRSOrigin>0,0,0</SRSOrigin>"), "m.xml").expect("enu");
    assert_eq!(m.srs, Srs::Enu { latitude: 30.5284, longitude: 114.3573 });

    let wkt = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],UNIT["metre",1]]"#;
    let escaped = wkt.replace('"', "&quot;");
    let m = read_metadata_xml(&doc(&escaped, ""), "m.xml").expect("wkt");
    assert_eq!(m.srs, Srs::Wkt(wkt.to_string()), "entities unescaped; no code of its own");

    // WKT that names its EPSG code (EPSG's own WKT 1 and WKT 2 of EPSG:4547, whose
    // nested base CRS is EPSG:4490) is read as that code, not the nested one.
    let wkt1 = r#"PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101,AUTHORITY["EPSG","1024"]],AUTHORITY["EPSG","1043"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",114],PARAMETER["scale_factor",1],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","4547"]]"#;
    let wkt2 = r#"PROJCRS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",BASEGEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],ID["EPSG",4490]],CONVERSION["3-degree Gauss-Kruger CM 114E",METHOD["Transverse Mercator",ID["EPSG",9807]]],CS[Cartesian,2],AXIS["northing (X)",north],AXIS["easting (Y)",east],LENGTHUNIT["metre",1],ID["EPSG",4547]]"#;
    let compound = r#"COMPD_CS["CGCS2000 / 3-degree Gauss-Kruger CM 114E + Yellow Sea 1985 height",PROJCS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",GEOGCS["CGCS2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],AUTHORITY["EPSG","4490"]],PROJECTION["Transverse_Mercator"],UNIT["metre",1],AUTHORITY["EPSG","4547"]],VERT_CS["Yellow Sea 1985 height",VERT_DATUM["Yellow Sea 1985",2005],UNIT["metre",1],AUTHORITY["EPSG","5737"]]]"#;
    for (w, srs) in [
        (wkt1, Srs::Epsg { code: 4547, vertical: None }),
        (wkt2, Srs::Epsg { code: 4547, vertical: None }),
        (compound, Srs::Epsg { code: 4547, vertical: Some(5737) }),
    ] {
        let m = read_metadata_xml(&doc(&w.replace('"', "&quot;"), ""), "m.xml").expect("wkt");
        assert_eq!(m.srs, srs, "{}", &w[..40]);
    }

    // Malformed: each names the field.
    for (srs, origin, field) in [
        ("EPSG:abc", "", "SRS"),
        ("EPSG:", "", "SRS"),
        ("ENU:91,0", "", "SRS"),
        ("ENU:30.5", "", "SRS"),
        ("ENU:a,b", "", "SRS"),
        ("", "", "SRS"),
        ("UTM zone 50", "", "SRS"),
        (r#"PROJCS["x",GEOGCS["y""#, "", "SRS"),
        ("EPSG:4547", "<SRSOrigin>1,2</SRSOrigin>", "SRSOrigin"),
        ("EPSG:4547", "<SRSOrigin>1,2,nan</SRSOrigin>", "SRSOrigin"),
        ("EPSG:4547", "<SRSOrigin>1,2,3", "SRSOrigin"),
        ("EPSG:4547</SRS><SRS>EPSG:4326", "", "SRS"),
    ] {
        match read_metadata_xml(&doc(srs, origin), "bad.xml") {
            Err(FormatError::Field { path, field: f, msg }) => {
                assert_eq!((path.as_str(), f.as_str()), ("bad.xml", field), "{srs} {origin}: {msg}");
            }
            other => panic!("{srs:?} {origin:?}: {other:?}"),
        }
    }
    assert!(read_metadata_xml("<Other><SRS>EPSG:4326</SRS></Other>", "x").is_err(), "not ModelMetadata");
    assert!(read_metadata_xml("<ModelMetadata></ModelMetadata>", "x").is_err(), "no SRS");
    assert!(read_metadata_xml("<ModelMetadata><!-- <SRS>EPSG:1</SRS>", "x").is_err(), "open comment");
}

#[test]
fn every_truncation_fails_with_an_offset() {
    let Some(bytes) = tile() else { return };
    for n in 0..bytes.len() {
        match read_osgb(&bytes[..n], "cut.osgb") {
            Err(FormatError::Offset { offset, .. }) => assert!(offset <= n, "prefix {n}: offset {offset}"),
            other => panic!("prefix {n}: {other:?}"),
        }
    }
}

#[test]
fn lying_counts_fail_before_allocating() {
    let Some(bytes) = tile() else { return };
    let f = read_tile(&bytes);
    let (_, g) = f.root.geometries()[0];
    let vertex_count_at = g.vertices.as_ref().expect("vertices").offset - 4;
    let image = g.state_set.as_ref().and_then(|s| s.texture(0)).and_then(|t| t.image.clone()).expect("image");
    let ImagePayload::InlineFile(jpeg) = &image.payload else { panic!("inline image") };
    let jpeg_len_at = find(&bytes, &jpeg[..64]).expect("jpeg") - 4;
    for (at, value, expect) in [
        (vertex_count_at, 0x7fff_ffffu32, "exceeds"),
        (vertex_count_at, 0x8000_0000, "negative array size"),
        (jpeg_len_at, 0xffff_fff0, "needs"),
        (0x4469, 0x4000_0000, "exceeds"), // the DrawElementsUInt count
        (0x88, 0xffff_ffff, "exceeds"),   // the PagedLOD file-name count
    ] {
        let mut forged = bytes.clone();
        forged[at..at + 4].copy_from_slice(&value.to_le_bytes());
        match read_osgb(&forged, "forged.osgb") {
            Err(FormatError::Offset { offset, msg, .. }) => {
                assert!(msg.contains(expect), "at {at}: {msg}");
                assert!(offset <= forged.len());
            }
            other => panic!("count {value:#x} at {at}: {other:?}"),
        }
    }
}

/// A version-91 stream writer for forged scenes (no robust brackets).
struct W(Vec<u8>);

impl W {
    fn new() -> Self {
        let mut w = W(Vec::new());
        for v in [0x6C91_0EA1u32, 0x1AFB_4545, 1, 91, 0] {
            w.u32(v);
        }
        w.str("0");
        w
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32);
        self.0.extend(s.as_bytes());
        self
    }
    /// An osg::Group's class, id, Object and Node fields, and the start of
    /// its Children (present, `n`).
    fn group(&mut self, id: u32, n: u32) -> &mut Self {
        self.str("osg::Group").u32(id).str("").u32(2).u8(0); // Object
        self.u8(0).u8(0).u8(0).u8(0).u8(0).u8(1).u32(u32::MAX).u8(0); // Node
        self.u8(1).u32(n)
    }
}

#[test]
fn deep_nesting_and_object_floods_are_refused() {
    // 100 Groups, each the single child of the one before.
    let mut w = W::new();
    for id in 1..=100 {
        w.group(id, 1);
    }
    let e = read_osgb(&w.0, "deep.osgb").expect_err("too deep").to_string();
    assert!(e.contains("nested deeper"), "{e}");
    // Control: 60 levels read (and cost 60 objects, not 2^60).
    let mut w = W::new();
    for id in 1..60 {
        w.group(id, 1);
    }
    w.group(60, 0);
    let mut depth = 0;
    let mut n = &read_osgb(&w.0, "deep60.osgb").expect("60 levels read").root;
    while let Some(c) = n.children.first() {
        n = c;
        depth += 1;
    }
    assert_eq!(depth, 59);

    // A child count far beyond the bytes.
    let mut w = W::new();
    w.group(1, u32::MAX);
    let e = read_osgb(&w.0, "count.osgb").expect_err("count").to_string();
    assert!(e.contains("exceeds"), "{e}");

    // Shared ids doubling at each of 40 levels: 2^40 copies if expanded.
    let mut w = W::new();
    for level in (1..=40).rev() {
        w.group(level + 1, 2);
    }
    w.str("osg::Node").u32(1).str("").u32(2).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(1).u32(u32::MAX).u8(0);
    w.str("osg::Node").u32(1); // the leaf again, by id
    for level in 1..40 {
        w.str("osg::Group").u32(level + 1); // each Group's second child: the first, by id
    }
    let e = read_osgb(&w.0, "bomb.osgb").expect_err("exponential sharing").to_string();
    assert!(e.contains("objects"), "{e}");

    // Control: a few levels of sharing are fine and really are copies.
    let mut w = W::new();
    for level in (1..=3).rev() {
        w.group(level + 1, 2);
    }
    w.str("osg::Node").u32(1).str("leaf").u32(2).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(1).u32(u32::MAX).u8(0);
    w.str("osg::Node").u32(1);
    for level in 1..3 {
        w.str("osg::Group").u32(level + 1);
    }
    let f = read_osgb(&w.0, "shared.osgb").expect("small sharing reads");
    fn leaves(n: &urbis_formats::osgb::OsgbNode) -> usize {
        if n.children.is_empty() { usize::from(n.name == "leaf") } else { n.children.iter().map(leaves).sum() }
    }
    assert_eq!(leaves(&f.root), 8);
}

#[test]
fn escaping_child_names_are_refused() {
    let Some(bytes) = tile() else { return };
    let name = b"Tile_+000_+000_L16_0.osgb";
    let at = find(&bytes, name).expect("child name");
    for evil in ["../../etc/passwd", "/abs/path", "C:\\Windows\\x.osgb", "file:///etc/passwd"] {
        let mut forged = bytes[..at - 4].to_vec();
        forged.extend((evil.len() as u32).to_le_bytes());
        forged.extend(evil.as_bytes());
        forged.extend(&bytes[at + name.len()..]);
        let f = read_osgb(&forged, "evil.osgb").expect("still a valid stream");
        let (_, paged) = f.root.paged_lod().expect("PagedLOD");
        assert_eq!(paged.file_names[1], evil);
        let paths = f.root.child_paths(Path::new("/tiles/Tile_+000_+000"));
        assert!(paths.len() == 1 && paths[0].is_err(), "{evil}: {paths:?}");
    }
}

#[test]
fn random_byte_flips_never_panic() {
    let Some(bytes) = tile() else { return };
    let jpeg = find(&bytes, &[0xFF, 0xD8, 0xFF]).expect("jpeg start");
    let jpeg_end = find(&bytes, &[0xFF, 0xD9]).map_or(jpeg, |e| e + 2);
    // Flip bytes of the structure, not of the JPEG (its contents are not parsed).
    let structural: Vec<usize> = (0..bytes.len()).filter(|i| *i < jpeg || *i >= jpeg_end).collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let (mut ok, mut err) = (0, 0);
    for _ in 0..4000 {
        let mut m = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = structural[next() % structural.len()];
            m[at] = match next() % 3 {
                0 => m[at] ^ (1 << (next() % 8)),
                1 => next() as u8,
                _ => 0xFF,
            };
        }
        match read_osgb(&m, "flip.osgb") {
            Ok(f) => {
                ok += 1;
                for (_, g) in f.root.geometries() {
                    let _ = g.triangles();
                }
                let _ = f.root.child_paths(Path::new("/t"));
                let _ = f.root.lod_center();
            }
            Err(FormatError::Offset { offset, .. }) => {
                assert!(offset <= m.len());
                err += 1;
            }
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
    assert!(ok > 0 && err > 0, "both outcomes happen ({ok} ok, {err} errors)");
}
