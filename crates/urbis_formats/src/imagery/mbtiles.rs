//! MBTiles 1.3 raster tilesets (SQLite) as an [`ImagerySource`] in EPSG:3857.
//!
//! ```text
//! file.mbtiles ─► metadata table: format (png / jpg), bounds (lon/lat),
//!                 minzoom / maxzoom (else the tiles' own range)
//!              ─► tiles table checked: zoom_level, tile_column, tile_row
//!                 (integers), tile_data (blob)
//! window ─► xyz::pyramid_window: tile (z, x, y) = row (z, x, 2^z − 1 − y)
//!           (TMS rows), decoded like any XYZ tile
//! ```
//!
//! The file is opened read-only. A missing or malformed table fails
//! [`MbTiles::open`] naming the file and table; a tile that is not a blob,
//! too large or not a decodable image leaves a hole and is reported with its
//! zoom, column and row.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::xyz::{self, MAX_TILE_BYTES, MAX_ZOOM, TileStore, XyzOptions};
use super::{GeoRaster, ImageryError, ImagerySource};

/// What the `metadata` table says.
#[derive(Debug, Clone, PartialEq)]
pub struct MbTilesMetadata {
    pub name: Option<String>,
    /// `png` or `jpg`.
    pub format: String,
    /// West, south, east and north, degrees (the whole square if absent).
    pub bounds: [f64; 4],
    pub min_zoom: u32,
    pub max_zoom: u32,
    /// Tile side, pixels (from a tile: 256 unless the tiles say otherwise).
    pub tile_size: u32,
}

/// An MBTiles file opened for windows.
pub struct MbTiles {
    path: PathBuf,
    meta: MbTilesMetadata,
    opts: XyzOptions,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for MbTiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MbTiles").field("path", &self.path).field("meta", &self.meta).finish()
    }
}

const TILE_QUERY: &str = "SELECT typeof(tile_data), length(tile_data), \
     CASE WHEN length(tile_data) <= ?4 THEN tile_data END \
     FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3";

/// The columns MBTiles 1.3 requires of `tiles`, with the type affinity each needs.
const COLUMNS: [(&str, &str); 4] =
    [("zoom_level", "INT"), ("tile_column", "INT"), ("tile_row", "INT"), ("tile_data", "BLOB")];

impl MbTiles {
    /// Opens an MBTiles file read-only and checks its tables.
    pub fn open(path: &Path) -> Result<Self, ImageryError> {
        let fail = |message: String| ImageryError::File { path: path.to_path_buf(), message };
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(fail("not a regular file".into())),
            Err(e) => return Err(fail(format!("cannot open: {e}"))),
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| fail(format!("cannot open as SQLite: {e}")))?;
        let sql = |e: rusqlite::Error| fail(format!("not a readable SQLite database: {e}"));
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0))?.collect())
            .map_err(sql)?;
        for t in ["metadata", "tiles"] {
            if !tables.iter().any(|n| n == t) {
                return Err(fail(format!("no `{t}` table or view: not an MBTiles file (MBTiles 1.3)")));
            }
        }
        // Declared column types of `tiles` (empty for view columns of expressions).
        let declared: Vec<(String, String)> = conn
            .prepare("SELECT name, type FROM pragma_table_info('tiles')")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(sql)?;
        for (column, affinity) in COLUMNS {
            let Some((_, ty)) = declared.iter().find(|(n, _)| n.eq_ignore_ascii_case(column)) else {
                return Err(fail(format!(
                    "table `tiles` has no column `{column}` (MBTiles 1.3: zoom_level, tile_column, tile_row, tile_data)"
                )));
            };
            if !ty.is_empty() && !ty.to_ascii_uppercase().contains(affinity) {
                let want = if affinity == "INT" { "INTEGER" } else { "BLOB" };
                return Err(fail(format!("table `tiles`: column `{column}` is declared {ty}, not {want}")));
            }
        }
        let mut values = std::collections::HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT name, value FROM metadata").map_err(sql)?;
            let mut rows = stmt.query([]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let text = |i: usize| match row.get_ref(i) {
                    Ok(ValueRef::Text(t)) => Some(String::from_utf8_lossy(t).into_owned()),
                    Ok(ValueRef::Integer(v)) => Some(v.to_string()),
                    Ok(ValueRef::Real(v)) => Some(v.to_string()),
                    _ => None,
                };
                if let (Some(k), Some(v)) = (text(0), text(1)) {
                    values.insert(k, v);
                }
            }
        }
        let format = values.get("format").map(|f| f.trim().to_ascii_lowercase()).unwrap_or_default();
        let format = match format.as_str() {
            "png" => "png".to_string(),
            "jpg" | "jpeg" => "jpg".to_string(),
            "" => return Err(fail("metadata has no `format` (MBTiles 1.3 requires it)".into())),
            other => return Err(fail(format!("metadata format `{other}` unsupported: png or jpg raster tiles"))),
        };
        let bounds = match values.get("bounds") {
            None => [-180.0, -xyz::WEB_MERCATOR_MAX_LAT, 180.0, xyz::WEB_MERCATOR_MAX_LAT],
            Some(s) => {
                let v: Vec<f64> = s.split(',').filter_map(|p| p.trim().parse().ok()).collect();
                match v[..] {
                    [w, so, e, n] if w < e && so < n && v.iter().all(|x| x.is_finite()) => [w, so, e, n],
                    _ => return Err(fail(format!("metadata bounds `{s}`: need west,south,east,north degrees"))),
                }
            }
        };
        let zoom = |key: &str| -> Result<Option<u32>, ImageryError> {
            values
                .get(key)
                .map(|s| {
                    s.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|z| *z <= MAX_ZOOM)
                        .ok_or_else(|| fail(format!("metadata {key} `{s}`: need a zoom of 0 to {MAX_ZOOM}")))
                })
                .transpose()
        };
        let (min_zoom, max_zoom) = match (zoom("minzoom")?, zoom("maxzoom")?) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                let (a, b): (Option<i64>, Option<i64>) = conn
                    .query_row("SELECT min(zoom_level), max(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql)?;
                match (a, b) {
                    (Some(a), Some(b)) if 0 <= a && a <= b && b <= i64::from(MAX_ZOOM) => (a as u32, b as u32),
                    (None, _) | (_, None) => return Err(fail("table `tiles` is empty".into())),
                    _ => return Err(fail(format!("tiles' zoom levels {a:?}..{b:?} outside 0 to {MAX_ZOOM}"))),
                }
            }
        };
        if min_zoom > max_zoom {
            return Err(fail(format!("metadata minzoom {min_zoom} > maxzoom {max_zoom}")));
        }
        // The tile size, from one tile's header.
        let tile_size = conn
            .query_row("SELECT tile_data FROM tiles WHERE typeof(tile_data) = 'blob' LIMIT 1", [], |r| {
                Ok(r.get_ref(0)?.as_blob().ok().and_then(tile_dimensions))
            })
            .optional()
            .map_err(sql)?
            .flatten()
            .filter(|(w, h)| w == h && (16..=4096).contains(w))
            .map_or(256, |(w, _)| w);
        conn.prepare_cached(TILE_QUERY).map_err(sql)?;
        let (w, s) = xyz::lonlat_to_mercator(bounds[0], bounds[1]);
        let (e, n) = xyz::lonlat_to_mercator(bounds[2], bounds[3]);
        let opts = XyzOptions { min_zoom, max_zoom, tms: true, tile_size, bounds: Some([w, s, e, n]) };
        opts.check().map_err(fail)?;
        let meta = MbTilesMetadata { name: values.get("name").cloned(), format, bounds, min_zoom, max_zoom, tile_size };
        Ok(MbTiles { path: path.to_path_buf(), meta, opts, conn: Mutex::new(conn) })
    }

    pub fn metadata(&self) -> &MbTilesMetadata {
        &self.meta
    }

    /// The bytes of XYZ tile (z, x, y) (stored at TMS row 2^z − 1 − y), or
    /// `None` when the file has no such tile.
    pub fn tile(&self, z: u32, x: u32, y: u32) -> Result<Option<Vec<u8>>, ImageryError> {
        self.tile_bytes(z, x, y).map_err(|message| ImageryError::Tile {
            source_name: self.path.display().to_string(),
            z,
            x,
            y,
            message,
        })
    }
}

/// Width and height from a PNG or JPEG header.
fn tile_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?.into_dimensions().ok()
}

impl TileStore for MbTiles {
    fn tile_bytes(&self, z: u32, x: u32, y: u32) -> Result<Option<Vec<u8>>, String> {
        if z > MAX_ZOOM || y >= 1u32 << z {
            return Ok(None);
        }
        let row = (1u32 << z) - 1 - y;
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn.prepare_cached(TILE_QUERY).map_err(|e| format!("{} ({})", e, self.locate(z, x, y)))?;
        let found = stmt
            .query_row(rusqlite::params![z, x, row, MAX_TILE_BYTES as i64], |r| {
                let ty: String = r.get(0)?;
                let len: Option<i64> = r.get(1)?;
                let data = match r.get_ref(2)? {
                    ValueRef::Blob(b) => Some(b.to_vec()),
                    _ => None,
                };
                Ok((ty, len, data))
            })
            .optional()
            .map_err(|e| format!("SQLite: {e} ({})", self.locate(z, x, y)))?;
        match found {
            None => Ok(None),
            Some((_, _, Some(data))) => Ok(Some(data)),
            Some((ty, Some(len), None)) if ty == "blob" => {
                Err(format!("{len} bytes, over the {MAX_TILE_BYTES}-byte tile limit ({})", self.locate(z, x, y)))
            }
            Some((ty, _, None)) => {
                Err(format!("tile_data is {}, not a BLOB ({})", ty.to_ascii_uppercase(), self.locate(z, x, y)))
            }
        }
    }

    fn locate(&self, z: u32, x: u32, y: u32) -> String {
        let row = (1u32 << z.min(MAX_ZOOM)).wrapping_sub(1).wrapping_sub(y);
        format!("zoom_level {z}, tile_column {x}, tile_row {row}")
    }
}

impl ImagerySource for MbTiles {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn epsg(&self) -> u32 {
        3857
    }

    fn extent(&self) -> [f64; 4] {
        self.opts.extent()
    }

    fn window(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        xyz::pyramid_window(self, &self.name(), &self.opts, bbox, max_side, false, failures)
    }

    fn window_on_grid(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        xyz::pyramid_window(self, &self.name(), &self.opts, bbox, max_side, true, failures)
    }
}
