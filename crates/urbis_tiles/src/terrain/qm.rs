//! Quantized-mesh terrain (Cesium's `layer.json` + `.terrain` tiles) from a
//! folder or an HTTP server, and our own writer of such a tileset.
//!
//! ```text
//! layer.json ─► availability (the tree's shape), tile URL template
//! z/x/y ─► fetch (files or HTTP) ─► urbis_formats::quantized_mesh::parse
//!   ─► TerrainMesh: u, v over the tile's rectangle, heights, oct normals,
//!      skirts along the four edge-index lists
//! writer: TerrainGenerator tiles ─► QuantizedMesh (quantized u, v, heights,
//!   header sphere and horizon point, oct normals, metadata availability) ─► files
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use glam::{DVec3, Vec3};
use urbis_formats::FormatError;
use urbis_formats::quantized_mesh::{self as qm, LayerJson, QmHeader, QuantizedMesh, TileRange};

use super::mesh::{add_skirt, ecef};
use super::{TerrainMesh, TileCoord, geographic_rect};
use crate::fetch::{Fetcher, is_url};

/// A quantized-mesh tileset being read.
#[derive(Debug)]
pub struct QmTerrain {
    /// The `layer.json` location (path or URL).
    pub name: String,
    pub layer: LayerJson,
    /// The folder or URL the tile templates are relative to.
    base: String,
    fetcher: Arc<Fetcher>,
    /// Tiles read for height queries, most recent last (at most [`HEIGHT_CACHE`]).
    recent: std::sync::Mutex<Vec<(TileCoord, Arc<QuantizedMesh>)>>,
}

/// Tiles a [`QmTerrain`] keeps for height queries.
const HEIGHT_CACHE: usize = 16;

impl QmTerrain {
    /// Opens a tileset: a folder holding `layer.json`, the `layer.json`
    /// itself, or an `http(s)://` URL of either.
    pub fn open(spec: &str, fetcher: Arc<Fetcher>) -> Result<Self, FormatError> {
        // Over HTTP, ask for the octvertex normals and metadata extensions.
        let fetcher = if is_url(Path::new(spec)) && fetcher.http.accept.is_none() {
            let http = crate::HttpOptions { accept: Some(qm::ACCEPT.to_string()), ..fetcher.http.clone() };
            Arc::new(Fetcher::new(http, None))
        } else {
            fetcher
        };
        let trimmed = spec.trim_end_matches('/');
        let layer_loc = if trimmed.ends_with("layer.json") {
            trimmed.to_string()
        } else if is_url(Path::new(trimmed)) || Path::new(trimmed).is_dir() {
            format!("{trimmed}/layer.json")
        } else {
            trimmed.to_string()
        };
        let bytes = fetcher.read(Path::new(&layer_loc), None)?;
        let layer = qm::parse_layer(&bytes, &layer_loc)?;
        if !matches!(layer.projection.as_str(), "EPSG:4326" | "") {
            return Err(FormatError::Field {
                path: layer_loc,
                field: "projection".into(),
                msg: format!("{}: only the geographic tiling scheme (EPSG:4326) is read", layer.projection),
            });
        }
        if layer.tiles.is_empty() {
            return Err(FormatError::Field {
                path: layer_loc,
                field: "tiles".into(),
                msg: "no tile URL template".into(),
            });
        }
        let base = layer_loc.rsplit_once('/').map_or(String::from("."), |(b, _)| b.to_string());
        Ok(QmTerrain { name: layer_loc, layer, base, fetcher, recent: Default::default() })
    }

    /// West, south, east, north (degrees) of the deepest listed level's available tiles.
    pub fn coverage(&self) -> Option<[f64; 4]> {
        let level = self.layer.available.iter().rposition(|l| !l.is_empty())?;
        let mut cov: Option<[f64; 4]> = None;
        for r in &self.layer.available[level] {
            let a = geographic_rect(TileCoord { z: level as u32, x: r.start_x, y: r.start_y });
            let b = geographic_rect(TileCoord { z: level as u32, x: r.end_x, y: r.end_y });
            let r = [a[0], a[1], b[2], b[3]];
            cov = Some(cov.map_or(r, |c| [c[0].min(r[0]), c[1].min(r[1]), c[2].max(r[2]), c[3].max(r[3])]));
        }
        cov.filter(|c| c[2] - c[0] < 359.0)
    }

    /// Where tile `c` is read from.
    pub fn location(&self, c: TileCoord) -> Option<PathBuf> {
        let rel = self.layer.tile_url(c.z, c.x, c.y)?;
        if is_url(Path::new(&self.base)) {
            return Some(PathBuf::from(format!("{}/{rel}", self.base)));
        }
        let rel = rel.split(['?', '#']).next().unwrap_or_default();
        urbis_formats::resolve_relative(Path::new(&self.base), rel).ok()
    }

    /// The height at a longitude and latitude (degrees) in the deepest
    /// available tile holding it, interpolated in its triangle; `None`
    /// where no tile is available or readable.
    pub fn height_at(&self, lon: f64, lat: f64) -> Option<f64> {
        let deepest = self.layer.available.len().max(self.layer.maxzoom as usize + 1) as u32;
        for z in (0..deepest.min(super::MAX_LEVEL + 1)).rev() {
            let size = 180.0 / f64::from(1u32 << z);
            let (cols, rows) = (2u32 << z, 1u32 << z);
            let x = (((lon + 180.0) / size).floor().max(0.0) as u32).min(cols - 1);
            let y = (((lat + 90.0) / size).floor().max(0.0) as u32).min(rows - 1);
            if !self.layer.is_available(z, x, y) {
                continue;
            }
            let c = TileCoord { z, x, y };
            let mesh = self.cached(c)?;
            let rect = geographic_rect(c);
            let q = f64::from(qm::MAX_QUANTIZED);
            let (u, v) = ((lon - rect[0]) / (rect[2] - rect[0]) * q, (lat - rect[1]) / (rect[3] - rect[1]) * q);
            return triangle_height(&mesh, u, v);
        }
        None
    }

    fn cached(&self, c: TileCoord) -> Option<Arc<QuantizedMesh>> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = recent.iter().position(|(k, _)| *k == c) {
            let hit = recent.remove(i);
            recent.push(hit.clone());
            return Some(hit.1);
        }
        drop(recent);
        let loc = self.location(c)?;
        let bytes = self.fetcher.read(&loc, None).map_err(|e| tracing::warn!("{e}")).ok()?;
        let mesh = Arc::new(qm::parse(&bytes, &loc.display().to_string()).map_err(|e| tracing::warn!("{e}")).ok()?);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= HEIGHT_CACHE {
            recent.remove(0);
        }
        recent.push((c, mesh.clone()));
        Some(mesh)
    }

    /// Reads and decodes a tile into a mesh with skirts `skirt` metres deep.
    pub fn tile(&self, c: TileCoord, skirt: f64, cancel: Option<&AtomicBool>) -> Result<TerrainMesh, FormatError> {
        let loc = self.location(c).ok_or_else(|| FormatError::Field {
            path: self.name.clone(),
            field: format!("tiles (tile {c})"),
            msg: "no location for this tile".into(),
        })?;
        let bytes = self.fetcher.read(&loc, cancel)?;
        let mesh = qm::parse(&bytes, &loc.display().to_string())?;
        Ok(from_quantized(&mesh, c, skirt))
    }
}

/// A decoded quantized-mesh tile as a [`TerrainMesh`] over tile `c`.
pub fn from_quantized(m: &QuantizedMesh, c: TileCoord, skirt: f64) -> TerrainMesh {
    let rect = geographic_rect(c);
    let n = m.u.len();
    let world: Vec<DVec3> = (0..n)
        .map(|i| {
            let fu = f64::from(m.u[i]) / f64::from(qm::MAX_QUANTIZED);
            let fv = f64::from(m.v[i]) / f64::from(qm::MAX_QUANTIZED);
            ecef(rect[0] + (rect[2] - rect[0]) * fu, rect[1] + (rect[3] - rect[1]) * fv, m.height_m(i))
        })
        .collect();
    let center = DVec3::from_array(m.header.center);
    let center = if center.is_finite() && center.length() > 1.0 {
        center
    } else {
        world.iter().sum::<DVec3>() / n.max(1) as f64
    };
    let mut normals: Vec<[f32; 3]> = (0..n).map(|i| m.normal(i).unwrap_or([0.0; 3])).collect();
    if m.normals.is_none() {
        // Area-weighted face normals, summed per vertex.
        let mut acc = vec![DVec3::ZERO; n];
        for t in m.indices.chunks_exact(3) {
            let (a, b, cc) = (t[0] as usize, t[1] as usize, t[2] as usize);
            let f = (world[b] - world[a]).cross(world[cc] - world[a]);
            for k in [a, b, cc] {
                acc[k] += f;
            }
        }
        normals = acc
            .iter()
            .zip(&world)
            .map(|(a, p)| {
                let up = p.normalize_or_zero();
                let nn = a.normalize_or_zero();
                (if nn == DVec3::ZERO { up } else { nn }).as_vec3().to_array()
            })
            .collect();
    }
    let mut out = TerrainMesh {
        coord: c,
        rect,
        center: center.to_array(),
        positions: world.iter().map(|p| (*p - center).as_vec3().to_array()).collect(),
        normals,
        uvs: (0..n)
            .map(|i| {
                let fu = f32::from(m.u[i]) / f32::from(qm::MAX_QUANTIZED);
                let fv = f32::from(m.v[i]) / f32::from(qm::MAX_QUANTIZED);
                [fu, 1.0 - fv]
            })
            .collect(),
        indices: m.indices.clone(),
        first_skirt_vertex: n as u32,
        height_range: [f64::from(m.header.min_height), f64::from(m.header.max_height)],
        source: "quantized-mesh",
        texture: None,
    };
    // Skirts along each edge, its vertices ordered along it.
    let sorted = |list: &[u32], key: &dyn Fn(u32) -> u16| {
        let mut l: Vec<u32> = list.iter().copied().filter(|&i| (i as usize) < n).collect();
        l.sort_by_key(|&i| key(i));
        l.dedup();
        l
    };
    for ring in [
        sorted(&m.west, &|i| m.v[i as usize]),
        sorted(&m.south, &|i| m.u[i as usize]),
        sorted(&m.east, &|i| m.v[i as usize]),
        sorted(&m.north, &|i| m.u[i as usize]),
    ] {
        add_skirt(&mut out, &ring, skirt);
    }
    out
}

/// The height at quantized (u, v) inside one of the tile's triangles
/// (barycentric), or at the nearest vertex when rounding leaves it outside all.
fn triangle_height(m: &QuantizedMesh, u: f64, v: f64) -> Option<f64> {
    let p = |i: u32| (f64::from(m.u[i as usize]), f64::from(m.v[i as usize]));
    for t in m.indices.chunks_exact(3) {
        let (a, b, c) = (p(t[0]), p(t[1]), p(t[2]));
        let det = (b.1 - c.1) * (a.0 - c.0) + (c.0 - b.0) * (a.1 - c.1);
        if det.abs() < 1e-12 {
            continue;
        }
        let l1 = ((b.1 - c.1) * (u - c.0) + (c.0 - b.0) * (v - c.1)) / det;
        let l2 = ((c.1 - a.1) * (u - c.0) + (a.0 - c.0) * (v - c.1)) / det;
        let l3 = 1.0 - l1 - l2;
        if l1 >= -1e-9 && l2 >= -1e-9 && l3 >= -1e-9 {
            return Some(
                l1 * m.height_m(t[0] as usize) + l2 * m.height_m(t[1] as usize) + l3 * m.height_m(t[2] as usize),
            );
        }
    }
    let nearest = (0..m.u.len()).min_by(|&i, &j| {
        let d = |k: usize| (f64::from(m.u[k]) - u).powi(2) + (f64::from(m.v[k]) - v).powi(2);
        d(i).total_cmp(&d(j))
    })?;
    Some(m.height_m(nearest))
}

/// Cesium's horizon-culling point for `points` (ECEF) in the direction of
/// `direction`, in ellipsoid-scaled space (`EllipsoidalOccluder.computeHorizonCullingPointFromVertices`).
fn horizon_point(direction: DVec3, points: &[DVec3]) -> [f64; 3] {
    let e = urbis_geo::Ellipsoid::WGS84;
    let radii = DVec3::new(e.a, e.a, e.b());
    let dir = (direction / radii).normalize_or_zero();
    let mut best = 0.0f64;
    for p in points {
        let s = *p / radii;
        let mag2 = s.length_squared().max(1.0);
        let mag = mag2.sqrt();
        let d = s.normalize_or_zero();
        let cos_a = d.dot(dir);
        let sin_a = d.cross(dir).length();
        let cos_b = 1.0 / mag;
        let sin_b = (mag2 - 1.0).sqrt() * cos_b;
        let m = 1.0 / (cos_a * cos_b - sin_a * sin_b);
        if m.is_finite() && m > 0.0 {
            best = best.max(m);
        }
    }
    (dir * best).to_array()
}

/// A terrain tile (skirts left out) as a quantized-mesh tile, with oct
/// normals and, when `children` is given, the metadata extension listing
/// which children exist.
pub fn to_quantized(t: &TerrainMesh, children: Option<&[TileCoord]>) -> QuantizedMesh {
    let n = t.first_skirt_vertex as usize;
    let center = DVec3::from_array(t.center);
    let world: Vec<DVec3> = t.positions[..n].iter().map(|p| center + Vec3::from_array(*p).as_dvec3()).collect();
    let e = urbis_geo::Ellipsoid::WGS84;
    let heights: Vec<f64> = world.iter().map(|p| e.ecef_to_geodetic(*p).height).collect();
    let (lo, hi) = heights.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    let (lo, hi) = if lo.is_finite() { (lo, hi.max(lo)) } else { (0.0, 0.0) };
    let q = |f: f64| (f.clamp(0.0, 1.0) * f64::from(qm::MAX_QUANTIZED)).round() as u16;
    let radius = world.iter().map(|p| (*p - center).length()).fold(0.0, f64::max);
    let mut m = QuantizedMesh {
        header: QmHeader {
            center: t.center,
            min_height: lo as f32,
            max_height: hi as f32,
            bounding_sphere: [t.center[0], t.center[1], t.center[2], radius],
            horizon_occlusion: horizon_point(center, &world),
        },
        u: t.uvs[..n].iter().map(|uv| q(f64::from(uv[0]))).collect(),
        v: t.uvs[..n].iter().map(|uv| q(1.0 - f64::from(uv[1]))).collect(),
        height: heights.iter().map(|h| if hi > lo { q((h - lo) / (hi - lo)) } else { 0 }).collect(),
        indices: t
            .indices
            .chunks_exact(3)
            .filter(|tr| tr.iter().all(|&i| (i as usize) < n))
            .flatten()
            .copied()
            .collect(),
        normals: Some(t.normals[..n].iter().map(|nn| qm::oct_encode(*nn)).collect()),
        ..Default::default()
    };
    for i in 0..n as u32 {
        let (u, v) = (m.u[i as usize], m.v[i as usize]);
        if u == 0 {
            m.west.push(i);
        }
        if u == qm::MAX_QUANTIZED {
            m.east.push(i);
        }
        if v == 0 {
            m.south.push(i);
        }
        if v == qm::MAX_QUANTIZED {
            m.north.push(i);
        }
    }
    if let Some(children) = children {
        let ranges: Vec<serde_json::Value> = children
            .iter()
            .map(|c| serde_json::json!({"startX": c.x, "startY": c.y, "endX": c.x, "endY": c.y}))
            .collect();
        m.metadata = Some(serde_json::json!({ "available": [ranges] }));
    }
    m
}

/// Collapses the tiles of a level into rows of ranges (`available` entries).
pub fn ranges_of(tiles: &[TileCoord]) -> Vec<TileRange> {
    let mut t: Vec<(u32, u32)> = tiles.iter().map(|c| (c.y, c.x)).collect();
    t.sort_unstable();
    let mut out: Vec<TileRange> = Vec::new();
    for (y, x) in t {
        match out.last_mut() {
            Some(r) if r.start_y == y && r.end_x + 1 == x => r.end_x = x,
            _ => out.push(TileRange { start_x: x, start_y: y, end_x: x, end_y: y }),
        }
    }
    out
}
