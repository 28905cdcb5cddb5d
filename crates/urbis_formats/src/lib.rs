//! # urbis_formats: files in, plain CPU data out
//!
//! Readers for the formats a city arrives in. Each reader takes bytes (or a
//! path) and returns plain Rust data in the source's own coordinate reference
//! system: f64 coordinates, semantic type names, attribute maps, polygons and
//! triangle meshes. Nothing here knows about the ECS or the GPU; the model
//! crate turns this data into entities, the engine into GPU buffers.
//!
//! ```text
//! bytes ──reader──► document (CRS-native f64 coords, semantics, attributes)
//!                     └─► triangulate::polygon_with_holes ─► triangles
//! ```
//!
//! Every reader is defensive: malformed input yields a [`FormatError`] that
//! names the file and the field, line or byte offset; never a panic, and no
//! allocation sized by an untrusted number before it is checked.
//!
//! - [`cityjson`]: CityJSON 1.1 / 2.0 objects, geometry, semantics, templates.
//! - [`ascii_grid`]: ESRI ASCII grid DEMs; [`geotiff`]: GeoTIFF DEMs.
//! - [`geojson`]: GeoJSON features and their polygons (building footprints);
//!   [`shapefile`]: ESRI shapefiles of polygons into the same features.
//! - [`ifc`]: IFC 2x3 / 4 / 4.3 STEP files: products, spatial tree, property
//!   sets, placements, bodies (swept solids, CSG, tessellations, breps,
//!   booleans) and georeferencing.
//! - [`gltf`]: glTF 2.0 / GLB with quantization, meshopt, texture transforms,
//!   EXT_mesh_features and EXT_structural_metadata.
//! - [`tiles3d`]: 3D Tiles tileset JSON, b3dm / i3dm / pnts / cmpt content and
//!   implicit-tiling subtrees.
//! - [`osgb`]: OpenSceneGraph binary scenes (oblique-photography tiles:
//!   PagedLOD trees, geometry, materials, embedded textures) and their
//!   `metadata.xml`.
//! - [`imagery`]: orthophotos and base maps as georeferenced RGBA windows:
//!   GeoTIFF / COG (with a tiled writer), XYZ / TMS pyramids, MBTiles
//!   (feature `mbtiles`).
//! - [`quantized_mesh`]: Cesium quantized-mesh-1.0 terrain tiles (read and
//!   write, gzip, extensions) and their `layer.json`.
//! - [`triangulate`]: planar 3D polygons with holes → triangles (earcut).

pub mod ascii_grid;
pub mod cityjson;
pub mod geojson;
pub mod geotiff;
pub mod gltf;
pub mod ifc;
pub mod imagery;
pub mod osgb;
pub mod quantized_mesh;
pub mod shapefile;
pub mod terrain_mesh;
pub mod tiles3d;
pub mod triangulate;

use std::path::Path;

/// The largest file a reader will load into memory (4 GiB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Errors of every reader. Each names the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: invalid JSON at line {line}, column {column}: {msg}")]
    Json { path: String, line: usize, column: usize, msg: String },
    #[error("{path}: at `{field}`: {msg}")]
    Field { path: String, field: String, msg: String },
    #[error("{path}: line {line}: {msg}")]
    Line { path: String, line: usize, msg: String },
    #[error("{path}: at byte {offset}: {msg}")]
    Offset { path: String, offset: usize, msg: String },
    #[error("{path}: unsupported: {what}")]
    Unsupported { path: String, what: String },
}

/// Resolves a relative URI (percent-encoded, `/`-separated) against a root
/// directory, refusing absolute paths, URI schemes and `..` steps that leave
/// the root.
pub fn resolve_relative(root: &Path, uri: &str) -> Result<std::path::PathBuf, FormatError> {
    let refuse = |why: &str| FormatError::Field {
        path: root.display().to_string(),
        field: uri.to_string(),
        msg: format!("URI refused: {why}"),
    };
    let decoded = percent_decode(uri).ok_or_else(|| refuse("bad percent-encoding"))?;
    let path = decoded.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() {
        return Err(refuse("empty"));
    }
    if path.starts_with('/') || path.starts_with('\\') || path.contains('\0') {
        return Err(refuse("absolute path"));
    }
    if let Some((scheme, _)) = path.split_once(':')
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
    {
        return Err(refuse("not a relative path (has a scheme or drive)"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(refuse("escapes the root"));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.iter().fold(root.to_path_buf(), |acc, p| acc.join(p)))
}

/// A URI's percent-escapes decoded (`None`: a bad escape or not UTF-8).
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads a whole file, refusing files over [`MAX_FILE_BYTES`] and anything
/// that is not a regular file (a device such as `/dev/zero` would never end).
/// At most the limit is read even if the file grows meanwhile.
pub fn read_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |source| FormatError::Io { path: name.clone(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(FormatError::Unsupported { path: name, what: "not a regular file".into() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(FormatError::TooLarge { path: name, size: meta.len(), limit: MAX_FILE_BYTES });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FormatError::TooLarge { path: name, size: bytes.len() as u64, limit: MAX_FILE_BYTES });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_uris_stay_inside_the_root() {
        let root = Path::new("/data/tiles");
        assert_eq!(resolve_relative(root, "a/b.glb").unwrap(), Path::new("/data/tiles/a/b.glb"));
        assert_eq!(resolve_relative(root, "a/../c%20d.glb").unwrap(), Path::new("/data/tiles/c d.glb"));
        assert_eq!(resolve_relative(root, "./x.b3dm?v=2").unwrap(), Path::new("/data/tiles/x.b3dm"));
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "file:///etc/passwd",
            "http://x/y",
            "C:\\x",
            "%2e%2e/x",
            "",
            "%zz",
        ] {
            assert!(resolve_relative(root, bad).is_err(), "{bad} should be refused");
        }
    }
}

#[cfg(all(test, unix))]
mod read_file_tests {
    #[test]
    fn devices_and_directories_are_refused_not_read_forever() {
        for p in ["/dev/zero", "/dev/urandom", "/"] {
            let e = super::read_file(std::path::Path::new(p)).expect_err(p).to_string();
            assert!(e.contains(p), "{e}");
        }
    }
}
