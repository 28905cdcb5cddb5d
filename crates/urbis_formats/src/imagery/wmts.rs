//! OGC WMTS 1.0.0 imagery: a layer of a Web Map Tile Service, read from its
//! capabilities document, as an [`ImagerySource`].
//!
//! ```text
//! Capabilities XML ─► WmtsCapabilities (capabilities: layers, TileMatrixSets, KVP GetTile)
//!   + WmtsOptions (layer, TileMatrixSet: EPSG:3857 first, then 4326; style; format)
//!   ─► WmtsSource: levels (one per TileMatrix, finest first, TileMatrixSetLimits applied)
//!                  URL: ResourceURL template ({TileMatrix} {TileRow} {TileCol} {Style}
//!                       {TileMatrixSet} and dimensions, any case) or KVP GetTile
//! window(bbox, max_side): the coarsest matrix with max_side pixels ─► tiles under bbox
//!   ─► TileFetcher + decode (PNG/JPEG, rayon, a batch at a time) ─► Mosaic
//!   ─► GeoRaster in the set's CRS (the caller reprojects)
//!   missing or corrupt tile ─► transparent hole + ImageryError::Tile
//!      (z: the TileMatrix's index in the set, x: TileCol, y: TileRow)
//! ```
//!
//! The HTTP side (GET the capabilities, an HTTP [`TileFetcher`]) lives in
//! `urbis_tiles::open_wmts`.

mod capabilities;
mod xml;

pub use capabilities::{
    MAX_CAPABILITIES_BYTES, MAX_MATRIX_SIDE, MAX_TILE_MATRICES, MAX_TILE_SIDE, METRES_PER_DEGREE, ResourceUrl,
    STANDARD_PIXEL_M, TileMatrix, TileMatrixLimits, TileMatrixSet, TileMatrixSetLink, WmtsCapabilities, WmtsCrs,
    WmtsDimension, WmtsLayer, WmtsStyle,
};

use std::sync::Arc;

use rayon::prelude::*;

use super::resample::{self, LevelGrid, MAX_WINDOW_TILES, Mosaic};
use super::xyz::{TileFetcher, decode_tile_sized};
use super::{GeoRaster, ImageryError, ImagerySource};

/// Which layer, set, style and format a [`WmtsSource`] reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WmtsOptions {
    /// Layer identifier; `None`: the first layer.
    pub layer: Option<String>,
    /// TileMatrixSet identifier; `None`: of the layer's sets with a known
    /// CRS, one in EPSG:3857, else one in EPSG:4326, else the first.
    pub matrix_set: Option<String>,
    /// Style identifier; `None`: the layer's default, else its first, else `default`.
    pub style: Option<String>,
    /// MIME type; `None`: PNG, else JPEG, else the first offered.
    pub format: Option<String>,
}

/// One piece of a tile URL.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Matrix,
    Row,
    Col,
}

/// A TileMatrix the source reads, with the tiles the layer has in it.
#[derive(Debug, Clone)]
struct Level {
    /// Index in the set's matrices (document order).
    index: usize,
    grid: LevelGrid,
    tile: (u32, u32),
    /// Inclusive tile columns and rows.
    cols: (u32, u32),
    rows: (u32, u32),
    extent: [f64; 4],
}

/// A WMTS layer in one TileMatrixSet, read through a [`TileFetcher`].
pub struct WmtsSource {
    url: String,
    layer: WmtsLayer,
    set: TileMatrixSet,
    epsg: u32,
    style: String,
    format: String,
    kvp: bool,
    parts: Vec<Part>,
    /// Per matrix (document order), its identifier escaped for the URL.
    matrix_ids: Vec<String>,
    /// Finest first.
    levels: Vec<Level>,
    fetcher: Arc<dyn TileFetcher>,
}

impl std::fmt::Debug for WmtsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WmtsSource")
            .field("url", &self.url)
            .field("layer", &self.layer.identifier)
            .field("matrix_set", &self.set.identifier)
            .field("style", &self.style)
            .field("format", &self.format)
            .field("kvp", &self.kvp)
            .finish()
    }
}

/// Percent-escapes `s` for a URL path segment (`query`: a query value).
fn escape(s: &str, query: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~:".contains(&b) || (!query && b"@!$'()*+,;=".contains(&b));
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `href` against the capabilities URL `base` (absolute, `//host`, `/path` or relative).
fn resolve_url(base: &str, href: &str) -> String {
    let href = href.trim();
    if href.contains("://") {
        return href.to_string();
    }
    let scheme = base.split_once("://").map(|(s, _)| s);
    if let Some(rest) = href.strip_prefix("//") {
        return format!("{}://{rest}", scheme.unwrap_or("https"));
    }
    let path = base.split(['?', '#']).next().unwrap_or(base);
    match (path.split_once("://"), href.starts_with('/')) {
        (Some((scheme, rest)), true) => format!("{scheme}://{}{href}", rest.split('/').next().unwrap_or_default()),
        (None, true) => href.to_string(),
        (Some((_, rest)), false) if !rest.contains('/') => format!("{path}/{href}"),
        _ => format!("{}{href}", path.rfind('/').map_or("", |i| &path[..=i])),
    }
}

/// Of MIME types, PNG first, then JPEG, then the first.
fn format_rank(f: &str) -> u8 {
    let f = f.trim().to_ascii_lowercase();
    if f.starts_with("image/png") {
        0
    } else if f.starts_with("image/jpeg") || f.starts_with("image/jpg") {
        1
    } else {
        2
    }
}

/// The parts of a RESTful template; `fixed` maps lower-case variables to
/// their (escaped) values.
fn compile_template(template: &str, fixed: &[(String, String)]) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        text.push_str(&rest[..open]);
        let name = rest[open + 1..close].to_ascii_lowercase();
        let var = match name.as_str() {
            "tilematrix" => Some(Part::Matrix),
            "tilerow" => Some(Part::Row),
            "tilecol" => Some(Part::Col),
            _ => None,
        };
        match (var, fixed.iter().find(|(k, _)| *k == name)) {
            (Some(v), _) => {
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(v);
            }
            (None, Some((_, value))) => text.push_str(value),
            (None, None) => {
                return Err(format!(
                    "ResourceURL template '{template}': {{{}}} is neither a WMTS variable nor a dimension with a default",
                    &rest[open + 1..close]
                ));
            }
        }
        rest = &rest[close + 1..];
    }
    text.push_str(rest);
    parts.push(Part::Text(text));
    for (p, name) in [(Part::Matrix, "TileMatrix"), (Part::Row, "TileRow"), (Part::Col, "TileCol")] {
        if !parts.contains(&p) {
            return Err(format!("ResourceURL template '{template}' lacks {{{name}}}"));
        }
    }
    Ok(parts)
}

impl WmtsSource {
    /// Reads the capabilities document `capabilities` fetched from `url`
    /// (relative templates resolve against it) and opens the layer `opts` names.
    pub fn new(
        capabilities: &[u8],
        url: &str,
        opts: &WmtsOptions,
        fetcher: Arc<dyn TileFetcher>,
    ) -> Result<Self, ImageryError> {
        let caps = WmtsCapabilities::parse(capabilities, url)?;
        Self::from_capabilities(&caps, url, opts, fetcher)
    }

    /// Opens a layer of parsed capabilities (see [`Self::new`]).
    pub fn from_capabilities(
        caps: &WmtsCapabilities,
        url: &str,
        opts: &WmtsOptions,
        fetcher: Arc<dyn TileFetcher>,
    ) -> Result<Self, ImageryError> {
        let fail = |message: String| ImageryError::Source { source_name: url.to_string(), message };
        let layer = match &opts.layer {
            Some(id) => caps.layer(id).ok_or_else(|| {
                let ids: Vec<&str> = caps.layers.iter().map(|l| l.identifier.as_str()).collect();
                fail(format!("no Layer '{id}' (layers: {})", ids.join(", ")))
            })?,
            None => caps.layers.first().ok_or_else(|| fail("Contents has no Layer".into()))?,
        };
        let lid = &layer.identifier;
        let (link, set, crs) = choose_set(caps, layer, opts.matrix_set.as_deref()).map_err(fail)?;
        let style = match &opts.style {
            Some(s) => s.clone(),
            None => layer
                .styles
                .iter()
                .find(|s| s.is_default)
                .or(layer.styles.first())
                .map_or_else(|| "default".to_string(), |s| s.identifier.clone()),
        };
        let by_rank = |formats: &mut Vec<&str>| formats.sort_by_key(|f| format_rank(f));
        let (kvp, format, parts) = if !layer.resource_urls.is_empty() {
            let mut formats: Vec<&str> = layer.resource_urls.iter().map(|r| r.format.as_str()).collect();
            by_rank(&mut formats);
            let format = opts.format.clone().unwrap_or_else(|| formats[0].to_string());
            let r = layer.resource_urls.iter().find(|r| r.format.eq_ignore_ascii_case(&format)).ok_or_else(|| {
                fail(format!("Layer '{lid}' has no tile ResourceURL in {format} (it has: {})", formats.join(", ")))
            })?;
            let mut fixed = vec![
                ("style".to_string(), escape(&style, false)),
                ("tilematrixset".to_string(), escape(&set.identifier, false)),
            ];
            for d in &layer.dimensions {
                if let Some(v) = &d.default {
                    fixed.push((d.identifier.to_ascii_lowercase(), escape(v, false)));
                }
            }
            let parts = compile_template(&resolve_url(url, &r.template), &fixed)
                .map_err(|e| fail(format!("Layer '{lid}': {e}")))?;
            (false, format, parts)
        } else {
            let Some(href) = &caps.get_tile_kvp else {
                return Err(fail(format!(
                    "Layer '{lid}' has no tile ResourceURL and OperationsMetadata no KVP GetTile"
                )));
            };
            let mut formats: Vec<&str> = layer.formats.iter().map(String::as_str).collect();
            by_rank(&mut formats);
            let format = match (&opts.format, formats.first()) {
                (Some(f), _) => f.clone(),
                (None, Some(f)) => f.to_string(),
                (None, None) => return Err(fail(format!("Layer '{lid}': no Format"))),
            };
            let base = resolve_url(url, href);
            let sep = match base.chars().last() {
                _ if !base.contains('?') => "?",
                Some('?' | '&') => "",
                _ => "&",
            };
            let q = |s: &str| escape(s, true);
            let mut head = format!(
                "{base}{sep}SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={}&STYLE={}&FORMAT={}&TILEMATRIXSET={}",
                q(lid),
                q(&style),
                q(&format),
                q(&set.identifier)
            );
            head.push_str("&TILEMATRIX=");
            let mut tail = String::new();
            for d in &layer.dimensions {
                if let Some(v) = &d.default {
                    tail.push_str(&format!("&{}={}", q(&d.identifier), q(v)));
                }
            }
            let parts = vec![
                Part::Text(head),
                Part::Matrix,
                Part::Text("&TILEROW=".into()),
                Part::Row,
                Part::Text("&TILECOL=".into()),
                Part::Col,
                Part::Text(tail),
            ];
            (true, format, parts)
        };
        let levels =
            levels(set, link).map_err(|e| fail(format!("Layer '{lid}': TileMatrixSet '{}': {e}", set.identifier)))?;
        Ok(WmtsSource {
            url: url.to_string(),
            layer: layer.clone(),
            set: set.clone(),
            epsg: crs.epsg,
            style,
            format,
            kvp,
            parts,
            matrix_ids: set.matrices.iter().map(|m| escape(&m.identifier, kvp)).collect(),
            levels,
            fetcher,
        })
    }

    pub fn layer(&self) -> &WmtsLayer {
        &self.layer
    }

    pub fn matrix_set(&self) -> &TileMatrixSet {
        &self.set
    }

    pub fn style(&self) -> &str {
        &self.style
    }

    pub fn format(&self) -> &str {
        &self.format
    }

    /// Whether tiles are requested by KVP GetTile (else a ResourceURL template).
    pub fn is_kvp(&self) -> bool {
        self.kvp
    }

    /// The URL of tile (`row`, `col`) of the set's matrix `matrix` (index in
    /// document order); `None` for no such matrix.
    pub fn tile_url(&self, matrix: usize, row: u32, col: u32) -> Option<String> {
        let id = self.matrix_ids.get(matrix)?;
        let mut url = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => url.push_str(t),
                Part::Matrix => url.push_str(id),
                Part::Row => url.push_str(&row.to_string()),
                Part::Col => url.push_str(&col.to_string()),
            }
        }
        Some(url)
    }

    /// The index (document order) of the matrix a window of `bbox` at
    /// `max_side` reads; `None` when the layer has no tile there.
    pub fn matrix_for(&self, bbox: [f64; 4], max_side: u32) -> Option<usize> {
        self.pick(bbox, max_side).map(|l| l.index)
    }

    /// Of the levels with tiles under `bbox`, the coarsest with `max_side`
    /// pixels across it (the finest if none has).
    fn pick(&self, bbox: [f64; 4], max_side: u32) -> Option<&Level> {
        let under: Vec<&Level> = self
            .levels
            .iter()
            .filter(|l| {
                l.extent[0] < bbox[2] && bbox[0] < l.extent[2] && l.extent[1] < bbox[3] && bbox[1] < l.extent[3]
            })
            .collect();
        let grids: Vec<LevelGrid> = under.iter().map(|l| l.grid).collect();
        (!under.is_empty()).then(|| under[resample::pick_level(&grids, bbox, max_side)])
    }
}

/// The layer's link and set: the one asked for, else EPSG:3857, 4326, any.
fn choose_set<'a>(
    caps: &'a WmtsCapabilities,
    layer: &'a WmtsLayer,
    wanted: Option<&str>,
) -> Result<(&'a TileMatrixSetLink, &'a TileMatrixSet, WmtsCrs), String> {
    let lid = &layer.identifier;
    let linked: Vec<&str> = layer.matrix_set_links.iter().map(|k| k.matrix_set.as_str()).collect();
    if let Some(id) = wanted {
        let link = layer.matrix_set_links.iter().find(|k| k.matrix_set == id).ok_or_else(|| {
            format!("Layer '{lid}' has no TileMatrixSetLink to '{id}' (it links: {})", linked.join(", "))
        })?;
        let set = caps.matrix_set(id).ok_or_else(|| format!("TileMatrixSet '{id}' is not in Contents"))?;
        let crs = set.crs.ok_or_else(|| {
            format!("TileMatrixSet '{id}': SupportedCRS '{}' is neither an EPSG code nor CRS84", set.supported_crs)
        })?;
        return Ok((link, set, crs));
    }
    layer
        .matrix_set_links
        .iter()
        .filter_map(|k| caps.matrix_set(&k.matrix_set).and_then(|s| Some((k, s, s.crs?))))
        .min_by_key(|(_, _, c)| match c.epsg {
            3857 => 0,
            4326 => 1,
            _ => 2,
        })
        .ok_or_else(|| {
            format!("Layer '{lid}': none of its TileMatrixSets ({}) is in Contents with a known CRS", linked.join(", "))
        })
}

/// The set's matrices as levels, finest first, limited as the link says
/// (with limits, only the matrices listed).
fn levels(set: &TileMatrixSet, link: &TileMatrixSetLink) -> Result<Vec<Level>, String> {
    let mut levels = Vec::new();
    for (index, m) in set.matrices.iter().enumerate() {
        let (mut cols, mut rows) = ((0, m.matrix_width - 1), (0, m.matrix_height - 1));
        if !link.limits.is_empty() {
            let Some(l) = link.limits.iter().find(|l| l.tile_matrix == m.identifier) else { continue };
            cols = (l.min_col, l.max_col.min(cols.1));
            rows = (l.min_row, l.max_row.min(rows.1));
            if cols.0 > cols.1 || rows.0 > rows.1 {
                continue;
            }
        }
        let (tw, th) = (u64::from(m.tile_width), u64::from(m.tile_height));
        let d = m.pixel_size;
        let grid = LevelGrid {
            x0: m.top_left[0],
            y0: m.top_left[1],
            dx: d,
            dy: d,
            width: u64::from(m.matrix_width) * tw,
            height: u64::from(m.matrix_height) * th,
        };
        let extent = [
            grid.x0 + (u64::from(cols.0) * tw) as f64 * d,
            grid.y0 - (u64::from(rows.1 + 1) * th) as f64 * d,
            grid.x0 + (u64::from(cols.1 + 1) * tw) as f64 * d,
            grid.y0 - (u64::from(rows.0) * th) as f64 * d,
        ];
        levels.push(Level { index, grid, tile: (m.tile_width, m.tile_height), cols, rows, extent });
    }
    if levels.is_empty() {
        return Err("TileMatrixSetLimits leave no TileMatrix".into());
    }
    levels.sort_by(|a, b| a.grid.dx.total_cmp(&b.grid.dx));
    Ok(levels)
}

/// Tiles fetched and decoded at once.
const BATCH: usize = 16;

impl ImagerySource for WmtsSource {
    fn name(&self) -> String {
        format!("{} (WMTS layer '{}', TileMatrixSet '{}')", self.url, self.layer.identifier, self.set.identifier)
    }

    fn epsg(&self) -> u32 {
        self.epsg
    }

    /// The union of the levels' extents.
    fn extent(&self) -> [f64; 4] {
        self.levels.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |a, l| {
            let e = l.extent;
            [a[0].min(e[0]), a[1].min(e[1]), a[2].max(e[2]), a[3].max(e[3])]
        })
    }

    fn window(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        self.window_at(bbox, max_side, false, failures)
    }

    fn window_on_grid(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        self.window_at(bbox, max_side, true, failures)
    }
}

impl WmtsSource {
    /// A window (see [`ImagerySource::window`]); `on_grid`: on the matrix's own pixels.
    fn window_at(
        &self,
        bbox: [f64; 4],
        max_side: u32,
        on_grid: bool,
        failures: &mut Vec<ImageryError>,
    ) -> Result<GeoRaster, ImageryError> {
        let name = self.name();
        let fail = |message: String| ImageryError::Source { source_name: name.clone(), message };
        resample::check_bbox(bbox).map_err(fail)?;
        let cap = if on_grid { resample::MAX_WINDOW_SIDE } else { max_side };
        let Some((level, crop)) =
            self.pick(bbox, max_side).and_then(|l| Some((l, resample::crop(&l.grid, bbox, l.extent, cap)?)))
        else {
            return Ok(resample::empty(self.epsg, bbox, max_side));
        };
        let (tw, th) = (u64::from(level.tile.0), u64::from(level.tile.1));
        let col_range =
            ((crop.cols.0 / tw) as u32).max(level.cols.0)..=(((crop.cols.1 - 1) / tw) as u32).min(level.cols.1);
        let row_range =
            ((crop.rows.0 / th) as u32).max(level.rows.0)..=(((crop.rows.1 - 1) / th) as u32).min(level.rows.1);
        let count = col_range.clone().count() as u64 * row_range.clone().count() as u64;
        let id = &self.set.matrices[level.index].identifier;
        if count > MAX_WINDOW_TILES {
            return Err(fail(format!(
                "window needs {count} tiles of TileMatrix '{id}', over the limit of {MAX_WINDOW_TILES}"
            )));
        }
        let mut mosaic = Mosaic::new(crop).ok_or_else(|| fail("window too large".into()))?;
        let tiles: Vec<(u32, u32)> = row_range.flat_map(|r| col_range.clone().map(move |c| (r, c))).collect();
        let z = level.index as u32;
        let named = if id.as_str() == z.to_string() { String::new() } else { format!("TileMatrix '{id}': ") };
        for batch in tiles.chunks(BATCH) {
            let decoded: Vec<Result<Vec<u8>, String>> = batch
                .par_iter()
                .map(|&(row, col)| {
                    let url = self.tile_url(level.index, row, col).unwrap_or_default();
                    match self.fetcher.fetch(&url)? {
                        None => Err(format!("not found ({url})")),
                        Some(bytes) => {
                            decode_tile_sized(&bytes, level.tile.0, level.tile.1).map_err(|e| format!("{e} ({url})"))
                        }
                    }
                })
                .collect();
            for (&(row, col), result) in batch.iter().zip(decoded) {
                match result {
                    Ok(rgba) => mosaic.add(u64::from(col) * tw, u64::from(row) * th, tw as usize, th as usize, &rgba),
                    Err(message) => failures.push(ImageryError::Tile {
                        source_name: name.clone(),
                        z,
                        x: col,
                        y: row,
                        message: format!("{named}{message}"),
                    }),
                }
            }
        }
        Ok(mosaic.finish(self.epsg))
    }
}

#[cfg(test)]
#[path = "wmts/source_tests.rs"]
mod tests;
