//! 3D Tiles 1.0 / 1.1: the tileset JSON, the tile content formats (glb,
//! b3dm, i3dm, pnts, cmpt) and implicit-tiling subtrees.
//!
//! ```text
//! tileset.json ─► Tileset (tree of Tile, bounding volumes, transforms, metadata)
//! content bytes ─► parse_content (by magic) ─► TileContent { Glb | B3dm | I3dm | Pnts | Cmpt | Osgb }
//! .subtree ─► Subtree (tile / content / child-subtree availability)
//! write: GlbContent ─► .glb (EXT_mesh_features, EXT_structural_metadata); TilesetDoc ─► tileset.json
//! ```
//! Selecting, loading and placing tiles is `urbis_tiles`' job.

pub mod binary;
pub mod subtree;
mod tables;
pub mod tileset;
pub mod write;

pub use binary::{B3dm, I3dm, Instance, Pnts};
pub use subtree::{Availability, Subtree};
pub use tileset::{BoundingVolume, Content, ImplicitTiling, Tile, Tileset};

use crate::FormatError;
use crate::gltf::{self, GltfModel, Resources};

/// An error in tile data before it is tied to a file.
#[derive(Debug)]
pub enum TileError {
    Offset { offset: usize, msg: String },
    Field { field: String, msg: String },
    Format(FormatError),
}

impl TileError {
    pub fn at(offset: usize, msg: impl Into<String>) -> Self {
        TileError::Offset { offset, msg: msg.into() }
    }
    pub fn field(field: impl Into<String>, msg: impl Into<String>) -> Self {
        TileError::Field { field: field.into(), msg: msg.into() }
    }
    fn shifted(self, by: usize) -> Self {
        match self {
            TileError::Offset { offset, msg } => TileError::Offset { offset: offset + by, msg },
            other => other,
        }
    }
    /// Ties the error to a file name.
    pub fn in_file(self, path: &str) -> FormatError {
        match self {
            TileError::Offset { offset, msg } => FormatError::Offset { path: path.into(), offset, msg },
            TileError::Field { field, msg } => FormatError::Field { path: path.into(), field, msg },
            TileError::Format(f) => f,
        }
    }
}

/// The content of a tile.
#[derive(Debug, Clone)]
pub enum TileContent {
    Glb(Box<GltfModel>),
    B3dm(Box<B3dm>),
    I3dm(Box<I3dm>),
    Pnts(Box<Pnts>),
    Cmpt(Vec<TileContent>),
    /// An OpenSceneGraph binary file (a tile of an oblique-photography
    /// PagedLOD pyramid streamed as a tile); coordinates stay the file's.
    Osgb(Box<crate::osgb::OsgbFile>),
    /// A terrain tile (a DEM sampled on the tile's grid, a quantized-mesh
    /// tile or the ellipsoid), made by a tile tree's generator.
    Terrain(Box<crate::terrain_mesh::TerrainMesh>),
}

/// The kind of content by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Glb,
    B3dm,
    I3dm,
    Pnts,
    Cmpt,
    Subtree,
    /// An OpenSceneGraph binary file (`.osgb`).
    Osgb,
    /// JSON: a glTF, a tileset or a subtree in JSON form.
    Json,
    Unknown,
}

/// The first eight bytes of an OpenSceneGraph binary stream.
pub const OSGB_MAGIC: [u8; 8] = [0xa1, 0x0e, 0x91, 0x6c, 0x45, 0x45, 0xfb, 0x1a];

/// Recognises content by its magic bytes.
pub fn magic(bytes: &[u8]) -> Magic {
    match bytes.get(0..4) {
        Some(b"glTF") => Magic::Glb,
        Some(b"b3dm") => Magic::B3dm,
        Some(b"i3dm") => Magic::I3dm,
        Some(b"pnts") => Magic::Pnts,
        Some(b"cmpt") => Magic::Cmpt,
        Some(b"subt") => Magic::Subtree,
        _ if bytes.starts_with(&OSGB_MAGIC) => Magic::Osgb,
        _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => Magic::Json,
        _ => Magic::Unknown,
    }
}

/// Parses tile content by magic; JSON content is taken as a glTF.
pub fn parse_content(
    bytes: &[u8],
    name: &str,
    resources: &dyn Resources,
    depth: usize,
) -> Result<TileContent, TileError> {
    Ok(match magic(bytes) {
        Magic::Glb | Magic::Json => {
            TileContent::Glb(Box::new(gltf::parse(bytes, name, resources).map_err(TileError::Format)?))
        }
        Magic::B3dm => TileContent::B3dm(Box::new(binary::parse_b3dm(bytes, name, resources)?)),
        Magic::I3dm => TileContent::I3dm(Box::new(binary::parse_i3dm(bytes, name, resources)?)),
        Magic::Pnts => TileContent::Pnts(Box::new(binary::parse_pnts(bytes)?)),
        Magic::Cmpt => TileContent::Cmpt(binary::parse_cmpt(bytes, name, resources, depth)?),
        Magic::Osgb => {
            let mut file = crate::osgb::read_osgb(bytes, name).map_err(TileError::Format)?;
            for w in file.embed_external_images(resources) {
                tracing::warn!("{w}");
            }
            TileContent::Osgb(Box::new(file))
        }
        Magic::Subtree => return Err(TileError::at(0, "a subtree is not tile content")),
        Magic::Unknown => return Err(TileError::at(0, "unknown content: no glTF, b3dm, i3dm, pnts or cmpt magic")),
    })
}

/// Reads and parses a content file; external resources resolve next to it.
pub fn read_content(path: &std::path::Path) -> Result<TileContent, FormatError> {
    let bytes = crate::read_file(path)?;
    let name = path.display().to_string();
    let resources = gltf::DirResources { dir: path.parent().map(std::path::Path::to_path_buf).unwrap_or_default() };
    parse_content(&bytes, &name, &resources, 0).map_err(|e| e.in_file(&name))
}
