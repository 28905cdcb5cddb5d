//! Hand-built streams: a tiny writer that lays fields out the way
//! OpenSceneGraph's `OutputStream` does, for the two array layouts
//! (before / from stream version 112) and the robust block-size mode.

use super::*;

/// An `.osgb` writer with robust-mode block sizes, little-endian unless
/// `big` (a big-endian machine's file: every value, the magic included).
struct W {
    b: Vec<u8>,
    version: u32,
    robust: bool,
    big: bool,
    open: Vec<usize>,
}

impl W {
    fn new(version: u32, robust: bool) -> Self {
        Self::with_order(version, robust, false)
    }
    fn with_order(version: u32, robust: bool, big: bool) -> Self {
        let mut w = W { b: Vec::new(), version, robust, big, open: Vec::new() };
        w.u32(0x6C91_0EA1).u32(0x1AFB_4545).u32(1).u32(version).u32(if robust { 4 } else { 0 }).str("0");
        w
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.b.push(v);
        self
    }
    fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v.into())
    }
    fn bytes<const N: usize>(&mut self, le: [u8; N]) -> &mut Self {
        let mut a = le;
        if self.big {
            a.reverse();
        }
        self.b.extend(a);
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.bytes(v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(v.to_le_bytes())
    }
    fn f32(&mut self, v: f32) -> &mut Self {
        self.bytes(v.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32);
        self.b.extend(s.as_bytes());
        self
    }
    fn begin(&mut self) -> &mut Self {
        if self.robust {
            self.open.push(self.b.len());
            self.b.extend([0u8; 8]);
        }
        self
    }
    fn end(&mut self) -> &mut Self {
        if self.robust {
            let at = self.open.pop().expect("balanced brackets");
            let size = (self.b.len() - at) as u64;
            self.b[at..at + 8].copy_from_slice(&size.to_le_bytes());
        }
        self
    }
    /// Class name, bracket, id; the caller writes the fields and calls `end`.
    fn object(&mut self, class: &str, id: u32) -> &mut Self {
        self.str(class).begin().u32(id)
    }
    /// Name, DataVariance, no user data.
    fn object_fields(&mut self, name: &str) -> &mut Self {
        self.str(name).i32(2).bool(false)
    }
    /// InitialBound, four callbacks, CullingActive, NodeMask (and the
    /// StateSet, absent).
    fn node_fields(&mut self) -> &mut Self {
        self.bool(false).bool(false).bool(false).bool(false).bool(false).bool(true).u32(0xffff_ffff).bool(false)
    }
    /// Drawable fields up to (not including) Geometry's.
    fn drawable_fields(&mut self) -> &mut Self {
        let v = self.version;
        if v >= 154 {
            self.node_fields();
        }
        if v <= 155 {
            self.bool(false); // StateSet
        }
        self.bool(false).bool(false).bool(false); // InitialBound, ComputeBoundingBoxCallback, Shape
        self.bool(true).bool(true).bool(false); // display lists, VBOs
        if v <= 155 {
            self.bool(false).bool(false).bool(false).bool(false);
        }
        if v >= 142 {
            self.u32(0xffff_ffff);
        }
        if v >= 145 {
            self.bool(true);
        }
        self
    }
}

const QUAD: [[f32; 3]; 4] = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]];

/// Version 91 (OpenSceneGraph 3.1): a Geode with one Geometry drawing the
/// same four vertices as a TRIANGLE_STRIP (DrawElementsUShort) and as QUADS
/// (DrawArrays), inline arrays.
fn legacy_file() -> Vec<u8> {
    let mut w = W::new(91, false);
    legacy_geode(&mut w);
    w.b
}

#[test]
fn big_endian_files_read_the_same() {
    let mut w = W::with_order(91, false, true);
    legacy_geode(&mut w);
    assert_eq!(&w.b[..4], &[0x6C, 0x91, 0x0E, 0xA1], "magic written big-endian");
    let big = read_osgb(&w.b, "be.osgb").expect("reads");
    let little = read_osgb(&legacy_file(), "le.osgb").expect("reads");
    let (b, l) = (&big.root.drawables[0], &little.root.drawables[0]);
    assert_eq!(b.positions(), l.positions());
    assert_eq!(b.tex_coords(0), l.tex_coords(0));
    assert_eq!(b.triangles().expect("be"), l.triangles().expect("le"));
}

fn legacy_geode(w: &mut W) {
    w.object("osg::Geode", 1).object_fields("root").node_fields();
    w.bool(true).u32(1).begin(); // Drawables
    w.object("osg::Geometry", 2).object_fields("quad").drawable_fields();
    w.u32(2); // PrimitiveSetList
    w.i32(53).i32(5).u32(4).begin(); // DrawElementsUShort TRIANGLE_STRIP 0 1 3 2
    for i in [0u16, 1, 3, 2] {
        w.bytes(i.to_le_bytes());
    }
    w.end();
    w.i32(50).i32(7).i32(0).i32(4); // DrawArrays QUADS 0..4
    w.bool(true).begin().bool(true).u32(1).i32(16).i32(4).begin(); // VertexData: Vec3Array of 4
    for p in QUAD {
        w.f32(p[0]).f32(p[1]).f32(p[2]);
    }
    w.end().bool(false).i32(4).i32(0).end();
    w.bool(false).bool(false).bool(false).bool(false); // normals, colours, secondary, fog
    w.bool(true).u32(1).begin().begin().bool(true).u32(2).i32(15).i32(4).begin(); // TexCoordData unit 0
    for p in QUAD {
        w.f32(p[0]).f32(p[1]);
    }
    w.end().bool(false).i32(4).i32(0).end().end();
    w.bool(false).bool(true); // VertexAttribData, FastPathHint
    w.end(); // Geometry
    w.end().end(); // Drawables, Geode
}

#[test]
fn a_shared_node_is_read_again_over_its_inline_definitions() {
    // Group { Group { Geode (arrays defined inline) }, Group by id, Geode by id }
    let mut w = W::new(91, false);
    w.object("osg::Group", 10).object_fields("outer").node_fields().bool(true).u32(3);
    w.object("osg::Group", 11).object_fields("inner").node_fields().bool(true).u32(1);
    legacy_geode(&mut w);
    w.object("osg::Group", 11).object("osg::Geode", 1);
    let f = read_osgb(&w.b, "shared.osgb").expect("reads");
    let [a, b, c] = &f.root.children[..] else { panic!("{:?}", f.root.children.len()) };
    assert_eq!((a.name.as_str(), b.name.as_str(), c.name.as_str()), ("inner", "inner", "root"));
    let tris = |n: &OsgbNode| n.geometries().iter().map(|(_, g)| g.triangles().expect("t").len()).sum::<usize>();
    assert_eq!((tris(a), tris(b), tris(c)), (4, 4, 4));
    assert_eq!(b.children[0].drawables[0].positions(), a.children[0].drawables[0].positions());
}

#[test]
fn legacy_strip_and_quads_expand_like_osg() {
    let f = read_osgb(&legacy_file(), "legacy.osgb").expect("reads");
    assert_eq!(f.version, 91);
    assert_eq!(f.root.kind, NodeKind::Geode);
    assert_eq!(f.root.name, "root");
    let g = &f.root.drawables[0];
    assert_eq!(g.name, "quad");
    assert_eq!(g.vertex_count(), 4);
    assert_eq!(g.vertices.as_ref().map(|a| a.binding), Some(Binding::PerVertex));
    assert_eq!(g.tex_coords(0).expect("uv")[2], [1.0, 1.0]);
    assert_eq!(g.primitives[0].mode, PrimitiveMode::TriangleStrip);
    assert_eq!(g.primitives[1].mode, PrimitiveMode::Quads);
    // osg::TriangleIndexFunctor: strip (r0,r1,r2) then odd (r1,r3,r2); quad (0,1,2),(0,2,3).
    assert_eq!(g.triangles().expect("triangles"), vec![[0, 1, 3], [1, 2, 3], [0, 1, 2], [0, 2, 3]]);
    // Every triangle of both sets winds counter-clockwise (+z) over this quad.
    let p = g.positions().expect("positions");
    for t in g.triangles().expect("triangles") {
        let n = (p[t[1] as usize] - p[t[0] as usize]).cross(p[t[2] as usize] - p[t[0] as usize]);
        assert!(n.z > 0.0, "{t:?} winds clockwise");
    }
}

#[test]
fn legacy_truncations_all_fail_with_an_offset() {
    let bytes = legacy_file();
    for n in 0..bytes.len() {
        match read_osgb(&bytes[..n], "t.osgb") {
            Err(FormatError::Offset { offset, .. }) => assert!(offset <= n, "offset {offset} past the {n} bytes"),
            other => panic!("prefix {n}: {other:?}"),
        }
    }
}

#[test]
fn out_of_range_draw_arrays_are_refused() {
    let mut g = Geometry {
        vertices: read_osgb(&legacy_file(), "x").expect("reads").root.drawables[0].vertices.clone(),
        ..Geometry::default()
    };
    g.primitives = vec![PrimitiveSet {
        mode: PrimitiveMode::Triangles,
        num_instances: 0,
        primitive: Primitive::DrawArrays { first: 2, count: 3 },
    }];
    assert!(g.triangles().is_err(), "vertices 2..5 of 4");
    g.primitives[0].primitive = Primitive::DrawElements { width: IndexWidth::U16, indices: [0, 1, 4].into() };
    assert!(g.triangles().is_err(), "index 4 of 4");
    g.primitives[0].primitive = Primitive::DrawArrayLengths { first: 0, lengths: [3, -1].into() };
    assert!(g.triangles().is_err(), "negative length");
    // Control: in range is fine.
    g.primitives[0].primitive = Primitive::DrawArrays { first: 1, count: 3 };
    assert_eq!(g.triangles().expect("in range"), vec![[1, 2, 3]]);
}

/// Version 161 (OpenSceneGraph 3.6.5), robust: a Group holding a
/// MatrixTransform over a Geometry (drawables are nodes from 154), the same
/// Geometry again by id, an object of an unknown class, and the
/// MatrixTransform again by id.
fn robust_file() -> Vec<u8> {
    let mut w = W::new(161, true);
    w.object("osg::Group", 1).object_fields("").node_fields();
    w.bool(true).u32(4).begin(); // Children
    w.object("osg::MatrixTransform", 2).object_fields("mt").node_fields();
    w.bool(true).u32(1).begin(); // MatrixTransform's Group children
    w.object("osg::Geometry", 3).object_fields("g").drawable_fields();
    w.u32(1); // PrimitiveSetList
    w.object("osg::DrawArrays", 4).object_fields("").bool(false).i32(0).i32(5).i32(0).i32(4).end();
    w.bool(true).object("osg::Vec3Array", 5).object_fields("").bool(false).i32(4).bool(false).bool(false).u32(4);
    for p in QUAD {
        w.f32(p[0]).f32(p[1]).f32(p[2]);
    }
    w.end();
    w.bool(false).bool(false).bool(false).bool(false).u32(0).u32(0); // other arrays, lists
    w.end(); // Geometry
    w.end(); // children
    w.i32(0).begin(); // ReferenceFrame, Matrix
    for i in 0..16 {
        let v: f64 = if i % 5 == 0 {
            1.0
        } else if i == 12 {
            10.0
        } else {
            0.0
        };
        w.b.extend(v.to_le_bytes());
    }
    w.end().end(); // Matrix, MatrixTransform
    w.object("osg::Geometry", 3).end(); // seen before
    w.object("osgSim::LightPointNode", 6).u32(7).f32(1.5).str("unknown fields").end();
    w.object("osg::MatrixTransform", 2).end(); // seen before: read again from its fields
    w.end().end(); // children, Group
    w.b
}

#[test]
fn robust_files_share_ids_and_skip_unknown_classes() {
    let f = read_osgb(&robust_file(), "robust.osgb").expect("reads");
    assert!(f.robust);
    assert_eq!(f.root.children.len(), 4);
    let mt = &f.root.children[0];
    let NodeKind::Transform { matrix, .. } = mt.kind else { panic!("{:?}", mt.kind) };
    assert_eq!(matrix.transform_point3(DVec3::ZERO), DVec3::new(10.0, 0.0, 0.0), "OSG rows are glam columns");
    let g = &mt.children[0].drawables[0];
    assert_eq!(g.triangles().expect("strip"), vec![[0, 1, 2], [1, 3, 2]]);
    assert_eq!(f.root.children[1].drawables[0].positions(), g.positions(), "shared by id");
    assert_eq!(f.root.children[2].kind, NodeKind::Skipped);
    assert_eq!(
        f.skipped,
        vec![SkippedObject { class: "osgSim::LightPointNode".into(), offset: f.root.children[2].offset }]
    );
    let again = &f.root.children[3];
    assert_eq!((&again.kind, &again.name), (&mt.kind, &mt.name), "the shared transform");
    assert_eq!(again.children[0].drawables[0].positions(), g.positions());
    // Transforms apply in `geometries`: the shared geometry alone is not under one.
    let xs: Vec<f64> =
        f.root.geometries().iter().map(|(m, g)| m.transform_point3(g.positions().expect("p")[0]).x).collect();
    assert_eq!(xs, vec![10.0, 0.0, 10.0]);
}

#[test]
fn unknown_classes_without_block_sizes_are_refused_by_name() {
    let mut w = W::new(161, false);
    w.object("osgSim::LightPointNode", 1).u32(7);
    let e = read_osgb(&w.b, "x.osgb").expect_err("unknown class").to_string();
    assert!(e.contains("osgSim::LightPointNode") && e.contains("byte 25"), "{e}");
}

#[test]
fn a_robust_block_that_lies_backwards_is_refused() {
    let mut bytes = robust_file();
    // The Group's block size is at 39..47 (after the 25-byte header and the
    // 14-byte class string): shrink it below the fields already read.
    assert_eq!(&bytes[25..39], &b"\x0a\x00\x00\x00osg::Group"[..]);
    bytes[39..47].copy_from_slice(&9u64.to_le_bytes());
    let e = read_osgb(&bytes, "x.osgb").expect_err("lying size").to_string();
    assert!(e.contains("block"), "{e}");
}

#[test]
fn child_paths_stay_inside_the_tile_directory() {
    let paged = PagedLod {
        file_names: vec![String::new(), "Tile_L17_0.osgb".into(), "../../etc/passwd".into(), "/abs/path.osgb".into()],
        ..PagedLod::default()
    };
    let paths = paged.child_paths(Path::new("/data/Tile_+000_+000"));
    assert_eq!(paths.len(), 3, "the inline child has no path");
    assert_eq!(paths[0].as_ref().expect("relative"), Path::new("/data/Tile_+000_+000/Tile_L17_0.osgb"));
    assert!(paths[1].is_err() && paths[2].is_err());
    let escaping_db = PagedLod { database_path: Some("../..".into()), ..paged };
    assert!(escaping_db.child_paths(Path::new("/data/t")).iter().all(Result::is_err));
}

#[test]
fn raw_pixels_decode_bottom_up() {
    let img = OsgbImage {
        file_name: "raw".into(),
        write_hint: 0,
        path: "x.osgb".into(),
        offset: 0,
        payload: ImagePayload::Pixels(RawPixels {
            origin: 0,
            width: 1,
            height: 2,
            depth: 1,
            internal_format: 0x1907,
            pixel_format: 0x1907,
            data_type: 0x1401,
            packing: 4,
            // Rows padded to 4 bytes: bottom row red, top row blue.
            data: [255, 0, 0, 0, 0, 0, 255, 0].into(),
            mipmap_offsets: vec![],
        }),
    };
    let rgba = img.decode_rgba().expect("decodes");
    assert_eq!(rgba.get_pixel(0, 0).0, [0, 0, 255, 255], "top row first");
    assert_eq!(rgba.get_pixel(0, 1).0, [255, 0, 0, 255]);
}
