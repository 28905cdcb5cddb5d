//! A terrain tile ready to place: the plain-data form every terrain source
//! becomes (a DEM sampled on a tile's grid, a quantized-mesh tile, the bare
//! ellipsoid), with its skirts and, when imagery was draped, its texture.
//!
//! ```text
//! DEM heights / quantized-mesh / ellipsoid ─► TerrainMesh (ECEF offsets from `center`)
//!   └─ imagery sources resampled onto the tile's rectangle ─► `texture`
//! ```
//!
//! Built by `urbis_tiles::terrain`; placed as a feature by `urbis_model`.

/// Quadtree address of a tile in the geographic tiling scheme (level 0 is
/// two tiles, west and east; `y` counts rows from the south, as TMS does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    pub z: u32,
    pub x: u32,
    pub y: u32,
}

impl std::fmt::Display for TileCoord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

/// An RGBA8 (sRGB) image, rows from the north.
#[derive(Debug, Clone, PartialEq)]
pub struct TileTexture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// One terrain tile.
#[derive(Debug, Clone, PartialEq)]
pub struct TerrainMesh {
    pub coord: TileCoord,
    /// West, south, east and north edges, degrees.
    pub rect: [f64; 4],
    /// ECEF origin of the positions, metres.
    pub center: [f64; 3],
    /// ECEF offsets from `center`, metres (f32: a tile spans far less than
    /// the 2^24 mm f32 keeps at millimetre precision).
    pub positions: Vec<[f32; 3]>,
    /// Unit ECEF normals.
    pub normals: Vec<[f32; 3]>,
    /// Texture coordinates (0, 0) at the north-west texel.
    pub uvs: Vec<[f32; 2]>,
    /// Counter-clockwise triangles seen from above.
    pub indices: Vec<u32>,
    /// Vertices from this index on are skirts (hanging below the edges).
    pub first_skirt_vertex: u32,
    /// Lowest and highest surface height (skirts left out), metres above the ellipsoid.
    pub height_range: [f64; 2],
    /// Where the heights came from (`"dem"`, `"quantized-mesh"`, `"ellipsoid"`).
    pub source: &'static str,
    pub texture: Option<TileTexture>,
}

impl TerrainMesh {
    /// Bytes held (vertex arrays, indices, texture).
    pub fn bytes(&self) -> u64 {
        (self.positions.len() * 32 + self.indices.len() * 4 + self.texture.as_ref().map_or(0, |t| t.rgba.len())) as u64
    }
}
