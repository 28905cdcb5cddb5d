//! What an input path is: by extension first, then by magic bytes or, for
//! JSON, by its first members.

use std::io::Read;
use std::path::Path;

use urbis_formats::FormatError;
use urbis_formats::tiles3d::{Magic, magic};

/// The kinds of input Urbis reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    CityJson,
    /// CityJSONSeq: a header then one CityJSONFeature per line.
    CityJsonSeq,
    /// IFC in a STEP physical file.
    Ifc,
    /// GeoJSON (footprints to extrude).
    GeoJson,
    /// An ESRI shapefile (`.shp` with `.dbf`, `.prj`): footprints like GeoJSON.
    Shapefile,
    AsciiGrid,
    GeoTiff,
    Tileset,
    Gltf,
    /// b3dm, i3dm, pnts or cmpt.
    Tile,
    /// An OpenSceneGraph binary tile (oblique photography).
    Osgb,
}

fn head(path: &Path, n: usize) -> Result<Vec<u8>, FormatError> {
    let f = std::fs::File::open(path).map_err(|source| FormatError::Io { path: path.display().to_string(), source })?;
    let mut buf = Vec::with_capacity(n);
    f.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|source| FormatError::Io { path: path.display().to_string(), source })?;
    Ok(buf)
}

fn json_kind(head: &[u8]) -> Option<InputKind> {
    let text = String::from_utf8_lossy(head);
    if text.contains("\"CityJSONFeature\"") {
        Some(InputKind::CityJsonSeq)
    } else if text.contains("\"CityJSON\"") || text.contains("\"CityObjects\"") {
        Some(InputKind::CityJson)
    } else if text.contains("\"geometricError\"") && text.contains("\"asset\"") {
        Some(InputKind::Tileset)
    } else if text.contains("\"asset\"") {
        Some(InputKind::Gltf)
    } else if text.contains("\"FeatureCollection\"") || text.contains("\"Feature\"") {
        Some(InputKind::GeoJson)
    } else {
        None
    }
}

/// Decides what a file is.
pub fn detect(path: &Path) -> Result<Option<InputKind>, FormatError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name.ends_with(".city.json") {
        return Ok(Some(InputKind::CityJson));
    }
    match ext.as_str() {
        // JSON lines are CityJSONSeq only when they say so (sensor recordings are JSON lines too).
        "jsonl" => {
            let h = head(path, 64 * 1024)?;
            return Ok(String::from_utf8_lossy(&h).contains("\"CityJSON").then_some(InputKind::CityJsonSeq));
        }
        "ifc" => return Ok(Some(InputKind::Ifc)),
        "geojson" => return Ok(Some(InputKind::GeoJson)),
        "shp" => return Ok(Some(InputKind::Shapefile)),
        "asc" => return Ok(Some(InputKind::AsciiGrid)),
        // An RGB(A) orthophoto is imagery, not a DEM: no city input (`--imagery` drapes it).
        "tif" | "tiff" => {
            let h = head(path, 64 * 1024)?;
            return Ok((!urbis_formats::geotiff::is_imagery(&h)).then_some(InputKind::GeoTiff));
        }
        "glb" | "gltf" => return Ok(Some(InputKind::Gltf)),
        "b3dm" | "i3dm" | "pnts" | "cmpt" => return Ok(Some(InputKind::Tile)),
        "osgb" => return Ok(Some(InputKind::Osgb)),
        _ => {}
    }
    let h = head(path, 64 * 1024)?;
    if urbis_formats::geotiff::is_tiff(&h) {
        return Ok((!urbis_formats::geotiff::is_imagery(&h)).then_some(InputKind::GeoTiff));
    }
    if urbis_formats::ifc::is_step(&h) {
        return Ok(Some(InputKind::Ifc));
    }
    Ok(match magic(&h) {
        Magic::Glb => Some(InputKind::Gltf),
        Magic::Osgb => Some(InputKind::Osgb),
        Magic::B3dm | Magic::I3dm | Magic::Pnts | Magic::Cmpt => Some(InputKind::Tile),
        Magic::Json => json_kind(&h),
        Magic::Subtree | Magic::Unknown => None,
    })
}
