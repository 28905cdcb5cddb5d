//! WMTS 1.0.0 Capabilities documents as plain data.
//!
//! ```text
//! Capabilities
//! ├─ ows:OperationsMetadata / Operation name="GetTile" / DCP / HTTP / Get xlink:href
//! │     (GetEncoding KVP, or no constraint) ─────────────────────────► get_tile_kvp
//! └─ Contents
//!    ├─ Layer ─► WmtsLayer: ows:Identifier, ows:Title, Format*, Style* (isDefault),
//!    │           Dimension* (Default), TileMatrixSetLink* (+ TileMatrixSetLimits),
//!    │           ResourceURL* with resourceType="tile" (template)
//!    └─ TileMatrixSet ─► ows:Identifier, ows:SupportedCRS ─► WmtsCrs (EPSG, degrees, axis order)
//!         TileMatrix* ─► ScaleDenominator ─► pixel size, TopLeftCorner ─► (x, y),
//!                        TileWidth, TileHeight, MatrixWidth, MatrixHeight
//! ```
//!
//! Pixel size (CRS units) = ScaleDenominator × 0.28 mm / metres per unit,
//! a degree counting 2π · 6378137 / 360 m (OGC 07-057r7, 6.1 and annex E):
//! GoogleMapsCompatible level 0, 559082264.0287178, is 156543.0339 m.
//! Axis order: WMTS writes TopLeftCorner in the CRS's own order, latitude
//! first for EPSG:4326 and other geographic EPSG CRSs, x first for CRS84
//! and projected CRSs; corners come out as (x, y). A geographic corner
//! whose first value is beyond ±90 and second within it was written
//! longitude first (a common server bug) and is taken as it stands.
//!
//! Bounded: [`MAX_CAPABILITIES_BYTES`], the XML tree's element and depth
//! limits, [`MAX_TILE_MATRICES`] per set, matrices of at most
//! [`MAX_MATRIX_SIDE`] tiles a side and tiles of at most [`MAX_TILE_SIDE`] px.

use std::f64::consts::PI;

use super::xml::Tree;
use crate::imagery::ImageryError;

/// The standardized rendering pixel, metres (0.28 mm).
pub const STANDARD_PIXEL_M: f64 = 0.00028;
/// Metres per degree for WMTS scale denominators (2π · 6378137 / 360).
pub const METRES_PER_DEGREE: f64 = 2.0 * PI * 6_378_137.0 / 360.0;
/// The largest capabilities document accepted, bytes.
pub const MAX_CAPABILITIES_BYTES: usize = 8 << 20;
/// The most TileMatrix elements in one TileMatrixSet.
pub const MAX_TILE_MATRICES: usize = 64;
/// The most tiles along a matrix side (MatrixWidth, MatrixHeight).
pub const MAX_MATRIX_SIDE: u64 = 1 << 30;
/// The largest tile side, pixels.
pub const MAX_TILE_SIDE: u32 = 4096;

/// What a capabilities document offers.
#[derive(Debug, Clone, PartialEq)]
pub struct WmtsCapabilities {
    pub layers: Vec<WmtsLayer>,
    pub matrix_sets: Vec<TileMatrixSet>,
    /// The KVP GetTile endpoint (`xlink:href` of the GetTile operation's
    /// HTTP Get), for layers without a tile ResourceURL.
    pub get_tile_kvp: Option<String>,
}

/// A layer (`Contents/Layer`).
#[derive(Debug, Clone, PartialEq)]
pub struct WmtsLayer {
    pub identifier: String,
    pub title: String,
    /// MIME types of `Format`.
    pub formats: Vec<String>,
    pub styles: Vec<WmtsStyle>,
    pub dimensions: Vec<WmtsDimension>,
    pub matrix_set_links: Vec<TileMatrixSetLink>,
    /// RESTful tile templates (`ResourceURL resourceType="tile"`).
    pub resource_urls: Vec<ResourceUrl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WmtsStyle {
    pub identifier: String,
    pub is_default: bool,
}

/// A dimension (time, elevation…) and its default value.
#[derive(Debug, Clone, PartialEq)]
pub struct WmtsDimension {
    pub identifier: String,
    pub default: Option<String>,
}

/// A layer's link to a TileMatrixSet, with the tiles it has per matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct TileMatrixSetLink {
    pub matrix_set: String,
    /// Empty: every tile of every matrix; otherwise only the matrices listed.
    pub limits: Vec<TileMatrixLimits>,
}

/// Tile rows and columns a layer has in one matrix (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct TileMatrixLimits {
    pub tile_matrix: String,
    pub min_row: u32,
    pub max_row: u32,
    pub min_col: u32,
    pub max_col: u32,
}

/// A RESTful tile URL template.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceUrl {
    pub format: String,
    pub template: String,
}

/// What a SupportedCRS names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WmtsCrs {
    /// The EPSG code (CRS84 is 4326; 900913, 3785, 102100 and 102113 are 3857).
    pub epsg: u32,
    /// Units are degrees (else metres).
    pub degrees: bool,
    /// Coordinates are written latitude (northing) first.
    pub lat_first: bool,
}

/// Geographic EPSG CRSs (degrees, latitude first) recognised by code.
const GEOGRAPHIC_EPSG: [u32; 16] =
    [4326, 4258, 4269, 4283, 4490, 4167, 4612, 4674, 4617, 4171, 4230, 4277, 4313, 4314, 4618, 4619];

impl WmtsCrs {
    /// Reads `urn:ogc:def:crs:EPSG::3857`, `urn:ogc:def:crs:EPSG:6.18.3:3857`,
    /// `EPSG:4326`, `http://www.opengis.net/def/crs/EPSG/0/3857`,
    /// `urn:ogc:def:crs:OGC:1.3:CRS84`, `CRS:84`; `None` for anything else.
    pub fn parse(crs: &str) -> Option<WmtsCrs> {
        let upper = crs.trim().to_ascii_uppercase();
        if upper.contains("CRS84") || upper == "CRS:84" {
            return Some(WmtsCrs { epsg: 4326, degrees: true, lat_first: false });
        }
        if !upper.contains("EPSG") {
            return None;
        }
        let code: u32 = upper.rsplit([':', '/']).next()?.parse().ok().filter(|c| *c > 0)?;
        let epsg = match code {
            900913 | 3785 | 102100 | 102113 => 3857,
            c => c,
        };
        let geographic = GEOGRAPHIC_EPSG.contains(&epsg);
        Some(WmtsCrs { epsg, degrees: geographic, lat_first: geographic })
    }

    /// Metres per CRS unit for scale denominators.
    pub fn metres_per_unit(&self) -> f64 {
        if self.degrees { METRES_PER_DEGREE } else { 1.0 }
    }
}

/// A TileMatrixSet (`Contents/TileMatrixSet`).
#[derive(Debug, Clone, PartialEq)]
pub struct TileMatrixSet {
    pub identifier: String,
    pub supported_crs: String,
    /// `None` when SupportedCRS is neither EPSG nor CRS84.
    pub crs: Option<WmtsCrs>,
    /// In document order.
    pub matrices: Vec<TileMatrix>,
}

/// One zoom level of a TileMatrixSet.
#[derive(Debug, Clone, PartialEq)]
pub struct TileMatrix {
    pub identifier: String,
    pub scale_denominator: f64,
    /// West (x) and north (y) edge of tile (0, 0), CRS units, x first
    /// whatever the CRS's axis order.
    pub top_left: [f64; 2],
    pub tile_width: u32,
    pub tile_height: u32,
    pub matrix_width: u32,
    pub matrix_height: u32,
    /// Pixel size, CRS units (metres or degrees).
    pub pixel_size: f64,
}

impl TileMatrix {
    /// West, south, east and north edges of the whole matrix, CRS units.
    pub fn extent(&self) -> [f64; 4] {
        let w = f64::from(self.matrix_width) * f64::from(self.tile_width) * self.pixel_size;
        let h = f64::from(self.matrix_height) * f64::from(self.tile_height) * self.pixel_size;
        [self.top_left[0], self.top_left[1] - h, self.top_left[0] + w, self.top_left[1]]
    }
}

impl WmtsCapabilities {
    /// Parses a capabilities document; errors name `source_name` (its URL)
    /// and the element that is missing or wrong.
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<WmtsCapabilities, ImageryError> {
        parse(bytes).map_err(|message| ImageryError::Source { source_name: source_name.to_string(), message })
    }

    /// The layer with this identifier.
    pub fn layer(&self, identifier: &str) -> Option<&WmtsLayer> {
        self.layers.iter().find(|l| l.identifier == identifier)
    }

    /// The TileMatrixSet with this identifier.
    pub fn matrix_set(&self, identifier: &str) -> Option<&TileMatrixSet> {
        self.matrix_sets.iter().find(|s| s.identifier == identifier)
    }
}

fn parse(bytes: &[u8]) -> Result<WmtsCapabilities, String> {
    if bytes.len() > MAX_CAPABILITIES_BYTES {
        return Err(format!("capabilities are {} bytes, over the limit of {MAX_CAPABILITIES_BYTES}", bytes.len()));
    }
    let t = Tree::parse(bytes)?;
    let root = Tree::ROOT;
    match t.name(root) {
        "Capabilities" => {}
        "ExceptionReport" => {
            let e = t.child(root, "Exception");
            let code = e.and_then(|e| t.attr(e, "exceptionCode")).unwrap_or("no exceptionCode");
            let text = e.and_then(|e| t.child_text(e, "ExceptionText")).unwrap_or("no ExceptionText");
            return Err(format!("the server answered with an ows:ExceptionReport: {code}: {text}"));
        }
        other => return Err(format!("root element is <{other}>, not a WMTS <Capabilities>")),
    }
    let contents = t.child(root, "Contents").ok_or("Contents missing")?;
    let layers = t.children(contents, "Layer").enumerate().map(|(i, n)| layer(&t, n, i)).collect::<Result<_, _>>()?;
    let matrix_sets = t
        .children(contents, "TileMatrixSet")
        .enumerate()
        .map(|(i, n)| matrix_set(&t, n, i))
        .collect::<Result<_, _>>()?;
    Ok(WmtsCapabilities { layers, matrix_sets, get_tile_kvp: get_tile_kvp(&t) })
}

/// The GetTile operation's HTTP Get href, one allowing KVP first, then one
/// with no GetEncoding constraint.
fn get_tile_kvp(t: &Tree) -> Option<String> {
    let om = t.child(Tree::ROOT, "OperationsMetadata")?;
    let mut unconstrained = None;
    for op in
        t.children(om, "Operation").filter(|&o| t.attr(o, "name").is_some_and(|n| n.eq_ignore_ascii_case("GetTile")))
    {
        for get in t.children(op, "DCP").flat_map(|d| t.children(d, "HTTP")).flat_map(|h| t.children(h, "Get")) {
            let Some(href) = t.attr(get, "href").map(str::trim).filter(|h| !h.is_empty()) else { continue };
            let encodings: Vec<&str> = t
                .children(get, "Constraint")
                .filter(|&c| t.attr(c, "name").is_some_and(|n| n.eq_ignore_ascii_case("GetEncoding")))
                .flat_map(|c| t.children(c, "AllowedValues"))
                .flat_map(|a| t.children(a, "Value"))
                .map(|v| t.text(v))
                .collect();
            if encodings.iter().any(|e| e.eq_ignore_ascii_case("KVP")) {
                return Some(href.to_string());
            }
            if encodings.is_empty() && unconstrained.is_none() {
                unconstrained = Some(href.to_string());
            }
        }
    }
    unconstrained
}

fn layer(t: &Tree, n: usize, index: usize) -> Result<WmtsLayer, String> {
    let identifier = t.child_text(n, "Identifier").ok_or(format!("Layer #{}: ows:Identifier missing", index + 1))?;
    let at = |what: String| format!("Layer '{identifier}': {what}");
    let mut styles = Vec::new();
    for (k, s) in t.children(n, "Style").enumerate() {
        let id =
            t.child_text(s, "Identifier").ok_or_else(|| at(format!("Style #{}: ows:Identifier missing", k + 1)))?;
        let is_default = t.attr(s, "isDefault").is_some_and(|v| v.trim() == "true" || v.trim() == "1");
        styles.push(WmtsStyle { identifier: id.to_string(), is_default });
    }
    let mut dimensions = Vec::new();
    for (k, d) in t.children(n, "Dimension").enumerate() {
        let id =
            t.child_text(d, "Identifier").ok_or_else(|| at(format!("Dimension #{}: ows:Identifier missing", k + 1)))?;
        let default = t.child_text(d, "Default").or_else(|| t.child_text(d, "Value")).map(str::to_string);
        dimensions.push(WmtsDimension { identifier: id.to_string(), default });
    }
    let mut matrix_set_links = Vec::new();
    for (k, l) in t.children(n, "TileMatrixSetLink").enumerate() {
        let set = t
            .child_text(l, "TileMatrixSet")
            .ok_or_else(|| at(format!("TileMatrixSetLink #{}: TileMatrixSet missing", k + 1)))?;
        let mut limits = Vec::new();
        for m in t.children(l, "TileMatrixSetLimits").flat_map(|s| t.children(s, "TileMatrixLimits")) {
            let matrix = t
                .child_text(m, "TileMatrix")
                .ok_or_else(|| at(format!("TileMatrixSetLink '{set}': TileMatrixLimits without a TileMatrix")))?;
            let field = |name: &str| {
                let v = t.child_text(m, name).ok_or_else(|| {
                    at(format!("TileMatrixSetLink '{set}': TileMatrixLimits '{matrix}': {name} missing"))
                })?;
                v.parse::<u32>().map_err(|_| {
                    at(format!(
                        "TileMatrixSetLink '{set}': TileMatrixLimits '{matrix}': {name} '{v}' is not a tile index"
                    ))
                })
            };
            limits.push(TileMatrixLimits {
                tile_matrix: matrix.to_string(),
                min_row: field("MinTileRow")?,
                max_row: field("MaxTileRow")?,
                min_col: field("MinTileCol")?,
                max_col: field("MaxTileCol")?,
            });
        }
        matrix_set_links.push(TileMatrixSetLink { matrix_set: set.to_string(), limits });
    }
    let mut resource_urls = Vec::new();
    for r in t.children(n, "ResourceURL") {
        if !t.attr(r, "resourceType").is_some_and(|v| v.trim().eq_ignore_ascii_case("tile")) {
            continue;
        }
        let template = t.attr(r, "template").map(str::trim).filter(|s| !s.is_empty());
        let template = template.ok_or_else(|| at("ResourceURL (tile) without a template".into()))?;
        let format = t.attr(r, "format").unwrap_or_default().trim().to_string();
        resource_urls.push(ResourceUrl { format, template: template.to_string() });
    }
    Ok(WmtsLayer {
        identifier: identifier.to_string(),
        title: t.child_text(n, "Title").unwrap_or_default().to_string(),
        formats: t.children(n, "Format").map(|f| t.text(f).to_string()).filter(|f| !f.is_empty()).collect(),
        styles,
        dimensions,
        matrix_set_links,
        resource_urls,
    })
}

fn matrix_set(t: &Tree, n: usize, index: usize) -> Result<TileMatrixSet, String> {
    let id = t.child_text(n, "Identifier").ok_or(format!("TileMatrixSet #{}: ows:Identifier missing", index + 1))?;
    let at = |what: String| format!("TileMatrixSet '{id}': {what}");
    let supported_crs = t.child_text(n, "SupportedCRS").ok_or_else(|| at("ows:SupportedCRS missing".into()))?;
    let crs = WmtsCrs::parse(supported_crs);
    let nodes: Vec<usize> = t.children(n, "TileMatrix").collect();
    if nodes.is_empty() {
        return Err(at("no TileMatrix".into()));
    }
    if nodes.len() > MAX_TILE_MATRICES {
        return Err(at(format!("{} TileMatrix elements, over the limit of {MAX_TILE_MATRICES}", nodes.len())));
    }
    let matrices = nodes
        .iter()
        .enumerate()
        .map(|(k, &m)| tile_matrix(t, m, k, crs).map_err(&at))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TileMatrixSet { identifier: id.to_string(), supported_crs: supported_crs.to_string(), crs, matrices })
}

fn tile_matrix(t: &Tree, n: usize, index: usize, crs: Option<WmtsCrs>) -> Result<TileMatrix, String> {
    let id = t.child_text(n, "Identifier").ok_or(format!("TileMatrix #{}: ows:Identifier missing", index + 1))?;
    let at = |what: String| format!("TileMatrix '{id}': {what}");
    let text = |name: &str| t.child_text(n, name).ok_or_else(|| at(format!("{name} missing")));
    let number = |name: &str, v: &str| {
        v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| at(format!("{name} '{v}' is not a number")))
    };
    let whole = |name: &str, max: u64| {
        let v = text(name)?;
        match v.parse::<u64>() {
            Ok(x) if (1..=max).contains(&x) => Ok(x as u32),
            Ok(_) => Err(at(format!("{name} {v} is out of range (1 to {max})"))),
            Err(_) => Err(at(format!("{name} '{v}' is not a whole number"))),
        }
    };
    let scale_text = text("ScaleDenominator")?;
    let scale_denominator = number("ScaleDenominator", scale_text)?;
    if scale_denominator <= 0.0 {
        return Err(at(format!("ScaleDenominator {scale_text} is not positive")));
    }
    let corner_text = text("TopLeftCorner")?;
    let corner: Vec<&str> =
        corner_text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).collect();
    if corner.len() != 2 {
        return Err(at(format!("TopLeftCorner '{corner_text}' is not two numbers")));
    }
    let (a, b) = (number("TopLeftCorner", corner[0])?, number("TopLeftCorner", corner[1])?);
    let lat_first = crs.is_some_and(|c| c.lat_first) && !(a.abs() > 90.0 && b.abs() <= 90.0);
    let top_left = if lat_first { [b, a] } else { [a, b] };
    let tile = u64::from(MAX_TILE_SIDE);
    let m = TileMatrix {
        identifier: id.to_string(),
        scale_denominator,
        top_left,
        tile_width: whole("TileWidth", tile)?,
        tile_height: whole("TileHeight", tile)?,
        matrix_width: whole("MatrixWidth", MAX_MATRIX_SIDE)?,
        matrix_height: whole("MatrixHeight", MAX_MATRIX_SIDE)?,
        pixel_size: scale_denominator * STANDARD_PIXEL_M / crs.map_or(1.0, |c| c.metres_per_unit()),
    };
    if !(m.pixel_size > 0.0 && m.extent().iter().all(|v| v.is_finite())) {
        return Err(at(format!(
            "ScaleDenominator {scale_text} gives pixels of {} units: no finite extent",
            m.pixel_size
        )));
    }
    Ok(m)
}

#[cfg(test)]
#[path = "capabilities_tests.rs"]
pub(super) mod tests;
