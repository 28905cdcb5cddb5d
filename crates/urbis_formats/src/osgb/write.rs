//! A minimal `.osgb` writer: plain (not robust), little-endian binary
//! OpenSceneGraph streams at version [`WRITE_VERSION`] (OpenSceneGraph
//! 3.6.5), laid out field by field the way `osgDB::OutputStream` and the
//! serializer wrappers write them, and the way [`super::read_osgb`] reads
//! them back.
//!
//! ```text
//! OsgbTile ─► PagedLOD (user centre + radius, PIXEL_SIZE_ON_SCREEN)
//!             ├─ [0, X]    inline Geode ─► Geometry (Vec3Array, Vec2Array,
//!             │                            DrawElementsUInt TRIANGLES,
//!             │                            StateSet: Texture2D + inline JPEG)
//!             └─ [X, 1e30] paged children: file names
//! ```
//!
//! A tile without paged children is written as a bare Geode (the leaves
//! of a ContextCapture pyramid).

use glam::DVec3;

/// The stream version written (OpenSceneGraph 3.6.5's SOVERSION).
pub const WRITE_VERSION: u32 = 161;

/// One mesh: positions, texture coordinates (unit 0), triangles, and an
/// optional embedded image file (JPEG or PNG bytes, "inline file" mode).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsgbMesh {
    pub name: String,
    pub positions: Vec<[f32; 3]>,
    pub tex_coords: Vec<[f32; 2]>,
    pub triangles: Vec<[u32; 3]>,
    /// `(file name, file bytes)` of the texture image; empty bytes write an
    /// external image (OpenSceneGraph reads the file name beside the tile).
    pub image: Option<(String, Vec<u8>)>,
}

/// One `.osgb` file of a pyramid: its own geometry and the files that
/// replace it closer up.
#[derive(Debug, Clone, PartialEq)]
pub struct OsgbTile {
    pub mesh: OsgbMesh,
    /// The PagedLOD's user-defined centre and radius.
    pub center: DVec3,
    pub radius: f64,
    /// Pixels on screen at which the paged children take over.
    pub pixel_threshold: f32,
    /// Paged children, relative to this file's folder.
    pub children: Vec<String>,
}

/// The far end of the paged children's pixel range (ContextCapture's 1e30).
pub const FAR_PIXELS: f32 = 1e30;

/// Writes `tile` as a whole `.osgb` file.
pub fn write_osgb(tile: &OsgbTile) -> Vec<u8> {
    let mut w = Writer { b: Vec::new(), next_id: 1 };
    w.u32(0x6C91_0EA1).u32(0x1AFB_4545).u32(1).u32(WRITE_VERSION).u32(0).str("0");
    if tile.children.is_empty() {
        w.geode(&tile.mesh);
    } else {
        w.paged_lod(tile);
    }
    w.b
}

struct Writer {
    b: Vec<u8>,
    next_id: u32,
}

impl Writer {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.b.push(v);
        self
    }
    fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v.into())
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.b.extend(v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.b.extend(v.to_le_bytes());
        self
    }
    fn f32(&mut self, v: f32) -> &mut Self {
        self.b.extend(v.to_le_bytes());
        self
    }
    fn f64(&mut self, v: f64) -> &mut Self {
        self.b.extend(v.to_le_bytes());
        self
    }
    fn len(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.len(s.len());
        self.b.extend(s.as_bytes());
        self
    }
    /// Class name and a fresh unique id, then `osg::Object`'s fields
    /// (Name, DataVariance, no user data).
    fn object(&mut self, class: &str, name: &str) -> &mut Self {
        let id = self.next_id;
        self.next_id += 1;
        self.str(class).u32(id).str(name).i32(2).bool(false)
    }
    /// `osg::Node`: InitialBound, four callbacks, CullingActive, NodeMask;
    /// the StateSet is written by the caller.
    fn node_fields(&mut self) -> &mut Self {
        self.bool(false).bool(false).bool(false).bool(false).bool(false).bool(true).u32(0xffff_ffff)
    }

    fn paged_lod(&mut self, t: &OsgbTile) {
        self.object("osg::PagedLOD", "").node_fields().bool(false);
        // LOD: CenterMode USER_DEFINED_CENTER, UserCenter, RangeMode PIXEL_SIZE_ON_SCREEN.
        self.i32(1).bool(true).f64(t.center.x).f64(t.center.y).f64(t.center.z).f64(t.radius).i32(1);
        let n = 1 + t.children.len();
        self.bool(true).len(n).f32(0.0).f32(t.pixel_threshold);
        for _ in &t.children {
            self.f32(t.pixel_threshold).f32(FAR_PIXELS);
        }
        // PagedLOD: DatabasePath (checked, empty), NumChildrenThatCannotBeExpired,
        // DisableExternalChildrenPaging, RangeDataList (file names, priorities).
        self.bool(true).bool(false).u32(0).bool(false).bool(true).len(n).str("");
        for c in &t.children {
            self.str(c);
        }
        self.len(n);
        for _ in 0..n {
            self.f32(0.0).f32(1.0);
        }
        self.bool(true).u32(1); // Children: the inline Geode
        self.geode(&t.mesh);
    }

    fn geode(&mut self, m: &OsgbMesh) {
        self.object("osg::Geode", &m.name).node_fields().bool(false);
        self.bool(true).u32(1);
        self.geometry(m);
    }

    fn geometry(&mut self, m: &OsgbMesh) {
        self.object("osg::Geometry", &m.name).node_fields();
        match &m.image {
            None => {
                self.bool(false);
            }
            Some((name, bytes)) => {
                self.bool(true);
                self.state_set(name, bytes);
            }
        }
        // Drawable: InitialBound, ComputeBoundingBoxCallback, Shape,
        // display lists (supported, used), VBOs, NodeMask, CullingActive.
        self.bool(false).bool(false).bool(false).bool(true).bool(false).bool(true).u32(0xffff_ffff).bool(true);
        // PrimitiveSetList: one DrawElementsUInt TRIANGLES.
        self.u32(1).object("osg::DrawElementsUInt", "").bool(false).i32(0).i32(4).len(m.triangles.len() * 3);
        for t in &m.triangles {
            self.u32(t[0]).u32(t[1]).u32(t[2]);
        }
        // VertexArray.
        self.bool(true).array("osg::Vec3Array", m.positions.len());
        for p in &m.positions {
            self.f32(p[0]).f32(p[1]).f32(p[2]);
        }
        // Normal, Color, SecondaryColor, FogCoord arrays: none.
        self.bool(false).bool(false).bool(false).bool(false);
        if m.tex_coords.is_empty() {
            self.u32(0);
        } else {
            self.u32(1).array("osg::Vec2Array", m.tex_coords.len());
            for t in &m.tex_coords {
                self.f32(t[0]).f32(t[1]);
            }
        }
        self.u32(0); // VertexAttribArrayList
    }

    /// An array object up to its values: BufferObject (none), Binding
    /// BIND_PER_VERTEX, Normalize, PreserveDataType, size.
    fn array(&mut self, class: &str, n: usize) -> &mut Self {
        self.object(class, "").bool(false).i32(4).bool(false).bool(false).len(n)
    }

    fn state_set(&mut self, name: &str, bytes: &[u8]) {
        self.object("osg::StateSet", "");
        self.bool(false).bool(false); // ModeList, AttributeList
        // TextureModeList: unit 0, GL_TEXTURE_2D ON.
        self.bool(true).u32(1).u32(1).u32(0x0DE1).i32(1);
        // TextureAttributeList: unit 0, one Texture2D, ON.
        self.bool(true).u32(1).u32(1);
        self.texture_2d(name, bytes);
        self.i32(1);
        self.bool(false); // UniformList
        self.i32(0).i32(0).i32(0).str("").bool(false); // hint, bin mode/number/name, nest
        self.bool(false).bool(false).bool(false); // Update/EventCallback, DefineList
    }

    fn texture_2d(&mut self, name: &str, bytes: &[u8]) {
        self.object("osg::Texture2D", "").bool(false).bool(false); // StateAttribute callbacks
        // WRAP_S/T/R CLAMP_TO_EDGE, MIN_FILTER LINEAR_MIPMAP_LINEAR, MAG_FILTER LINEAR.
        for e in [0x812F, 0x812F, 0x812F, 0x2703, 0x2601] {
            self.bool(true).u32(e);
        }
        self.f32(1.0).bool(true).bool(true).bool(false).bool(true); // anisotropy, mipmaps, unref, client, resize
        for _ in 0..4 {
            self.f64(0.0); // BorderColor
        }
        self.i32(0).i32(0); // BorderWidth, InternalFormatMode USE_IMAGE_DATA_FORMAT
        self.bool(false).bool(false).bool(false); // InternalFormat, SourceFormat, SourceType
        self.bool(false).i32(0x0203).i32(0x1909).f32(0.0); // shadow fields
        self.bool(false); // Swizzle
        self.f32(0.0).f32(-1.0).f32(0.0); // MinLOD, MaxLOD, LODBias
        // Image: class name, id, file name, write hint, IMAGE_INLINE_FILE, bytes, object fields.
        let id = self.next_id;
        self.next_id += 1;
        self.bool(true).str("osg::Image").u32(id).str(name).i32(0);
        if bytes.is_empty() {
            self.i32(2); // IMAGE_EXTERNAL: read from the file name
        } else {
            self.i32(1).len(bytes.len());
            self.b.extend_from_slice(bytes);
        }
        self.str(name).i32(2).bool(false);
        self.i32(0).i32(0); // TextureWidth, TextureHeight
    }
}
