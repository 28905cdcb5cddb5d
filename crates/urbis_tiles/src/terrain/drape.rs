//! Imagery on a terrain tile: every visible layer resampled onto the
//! tile's texel lattice (the first and last texels of a row on the tile's
//! west and east edges, so neighbours share their edge texels) and
//! composited over a base colour.
//!
//! ```text
//! texel lattice (lon, lat) ─► layer CRS (closed form for EPSG:4326/3857,
//!   PROJ on a 17 × 17 lattice with bilinear in between otherwise)
//!   ─► source.window(bbox, side) once ─► bilinear samples ─► over, × opacity
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use glam::DVec2;
use urbis_formats::imagery::xyz::lonlat_to_mercator;
use urbis_formats::imagery::{ImageryError, ImagerySource};
use urbis_geo::{CrsTransform, Epsg};

use super::{TerrainMesh, TileTexture};

/// One imagery layer on the terrain.
#[derive(Clone)]
pub struct DrapeLayer {
    pub source: Arc<dyn ImagerySource>,
    /// 0 (invisible) … 1.
    pub opacity: f32,
    pub visible: bool,
}

impl DrapeLayer {
    /// A visible, opaque layer.
    pub fn new(source: Arc<dyn ImagerySource>) -> Self {
        Self { source, opacity: 1.0, visible: true }
    }
}

impl std::fmt::Debug for DrapeLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrapeLayer")
            .field("source", &self.source.name())
            .field("opacity", &self.opacity)
            .field("visible", &self.visible)
            .finish()
    }
}

thread_local! {
    /// PROJ transforms from geographic WGS84, per target EPSG code, per
    /// loader thread. Leaked, never dropped: a PROJ object destroyed as a
    /// loader thread ends while the process exits races with PROJ's own
    /// teardown (seen as heap corruption at exit). At most one per thread and CRS.
    static FROM_WGS84: RefCell<HashMap<u32, Option<&'static CrsTransform>>> = RefCell::new(HashMap::new());
}

/// Transforms longitude/latitude points (degrees) to `epsg` in place;
/// `false` when PROJ cannot.
pub(crate) fn from_wgs84(epsg: u32, pts: &mut [DVec2]) -> bool {
    match epsg {
        4326 | 4490 => true,
        3857 | 900_913 => {
            for p in pts.iter_mut() {
                let (x, y) = lonlat_to_mercator(p.x, p.y);
                *p = DVec2::new(x, y);
            }
            true
        }
        _ => {
            let t = FROM_WGS84.with(|cache| {
                *cache.borrow_mut().entry(epsg).or_insert_with(|| {
                    CrsTransform::new(Epsg::WGS84, Epsg(epsg)).ok().map(|t| &*Box::leak(Box::new(t)))
                })
            });
            let Some(t) = t else { return false };
            let mut v: Vec<glam::DVec3> = pts.iter().map(|p| p.extend(0.0)).collect();
            let ok = t.transform_all(&mut v).is_ok();
            if ok {
                for (p, q) in pts.iter_mut().zip(v) {
                    *p = q.truncate();
                }
            }
            ok
        }
    }
}

thread_local! {
    /// Each layer's extent in degrees (by source name), per loader thread.
    static EXTENT_DEG: RefCell<HashMap<String, Option<[f64; 4]>>> = RefCell::new(HashMap::new());
}

/// An imagery source's extent as west, south, east, north degrees (from
/// points along its outline), or `None` when its CRS cannot be inverted.
pub fn degree_extent(src: &dyn ImagerySource) -> Option<[f64; 4]> {
    let e = src.extent();
    let epsg = src.epsg();
    if matches!(epsg, 4326 | 4490) {
        return Some(e);
    }
    let k = 8;
    let mut pts: Vec<glam::DVec3> = (0..=k)
        .flat_map(|i| {
            let t = f64::from(i) / f64::from(k);
            let (x, y) = (e[0] + (e[2] - e[0]) * t, e[1] + (e[3] - e[1]) * t);
            [[x, e[1]], [x, e[3]], [e[0], y], [e[2], y]]
        })
        .map(|[x, y]| glam::DVec3::new(x, y, 0.0))
        .collect();
    if matches!(epsg, 3857 | 900_913) {
        for p in pts.iter_mut() {
            let (lon, lat) = urbis_formats::imagery::xyz::mercator_to_lonlat(p.x, p.y);
            *p = glam::DVec3::new(lon, lat, 0.0);
        }
    } else {
        let t = CrsTransform::new(Epsg(epsg), Epsg::WGS84).ok()?;
        t.transform_all(&mut pts).ok()?;
    }
    let (lo, hi) = pts
        .iter()
        .fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), p| (lo.min(p.truncate()), hi.max(p.truncate())));
    (lo.is_finite() && hi.is_finite()).then_some([lo.x, lo.y, hi.x, hi.y])
}

/// The texel lattice of a `side`² texture over `rect` in a layer's CRS.
fn lattice(rect: [f64; 4], side: u32, epsg: u32) -> Option<Vec<DVec2>> {
    let at = |i: f64, j: f64| {
        DVec2::new(
            rect[0] + (rect[2] - rect[0]) * i / f64::from(side - 1),
            rect[3] - (rect[3] - rect[1]) * j / f64::from(side - 1),
        )
    };
    let direct = matches!(epsg, 4326 | 4490 | 3857 | 900_913);
    if direct {
        let mut pts: Vec<DVec2> = (0..side * side).map(|k| at(f64::from(k % side), f64::from(k / side))).collect();
        return from_wgs84(epsg, &mut pts).then_some(pts);
    }
    // PROJ on a coarse lattice, bilinear between its nodes.
    const L: u32 = 16;
    let mut nodes: Vec<DVec2> = (0..=L)
        .flat_map(|j| (0..=L).map(move |i| (i, j)))
        .map(|(i, j)| {
            at(f64::from(i) * f64::from(side - 1) / f64::from(L), f64::from(j) * f64::from(side - 1) / f64::from(L))
        })
        .collect();
    if !from_wgs84(epsg, &mut nodes) || nodes.iter().any(|p| !p.is_finite()) {
        return None;
    }
    let node = |i: u32, j: u32| nodes[(j * (L + 1) + i) as usize];
    let mut out = Vec::with_capacity((side * side) as usize);
    for j in 0..side {
        let fj = f64::from(j) * f64::from(L) / f64::from(side - 1);
        let j0 = (fj.floor() as u32).min(L - 1);
        let tj = fj - f64::from(j0);
        for i in 0..side {
            let fi = f64::from(i) * f64::from(L) / f64::from(side - 1);
            let i0 = (fi.floor() as u32).min(L - 1);
            let ti = fi - f64::from(i0);
            let top = node(i0, j0).lerp(node(i0 + 1, j0), ti);
            let bottom = node(i0, j0 + 1).lerp(node(i0 + 1, j0 + 1), ti);
            out.push(top.lerp(bottom, tj));
        }
    }
    Some(out)
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Drapes `layers` (first at the bottom) on a tile: a `side`² texture over
/// its rectangle, `base` where no layer has data; the mesh's grid-fraction
/// UVs become texel-centre UVs. Returns the failures (a layer that could
/// not be read leaves a hole, the rest still drape).
pub fn drape_tile(mesh: &mut TerrainMesh, layers: &[DrapeLayer], side: u32, base: [u8; 4]) -> Vec<ImageryError> {
    let side = side.max(2);
    let mut acc: Vec<[f32; 3]> =
        vec![[f32::from(base[0]), f32::from(base[1]), f32::from(base[2])]; (side * side) as usize];
    let mut failures = Vec::new();
    for layer in layers.iter().filter(|l| l.visible && l.opacity > 0.0) {
        let src = &layer.source;
        let epsg = src.epsg();
        let extent = EXTENT_DEG.with(|c| *c.borrow_mut().entry(src.name()).or_insert_with(|| degree_extent(&**src)));
        if let Some(deg) = extent
            && !overlaps(mesh.rect, deg)
        {
            continue;
        }
        let Some(pts) = lattice(mesh.rect, side, epsg) else {
            failures.push(ImageryError::Source {
                source_name: src.name(),
                message: format!("tile {}: cannot transform to EPSG:{epsg}", mesh.coord),
            });
            continue;
        };
        let (lo, hi) = pts.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        // A texel's size in the layer's units, as margin.
        let texel = (hi - lo) / f64::from(side - 1);
        let bbox = [lo.x - texel.x, lo.y - texel.y, hi.x + texel.x, hi.y + texel.y];
        if !overlaps(bbox, src.extent()) {
            continue;
        }
        // On the level's own pixels: neighbouring tiles sample the same ones.
        let raster = match src.window_on_grid(bbox, side + 2, &mut failures) {
            Ok(r) => r,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        for (k, p) in pts.iter().enumerate() {
            if let Some(c) = raster.sample(p.x, p.y) {
                let a = f32::from(c[3]) / 255.0 * layer.opacity.clamp(0.0, 1.0);
                let d = &mut acc[k];
                for ch in 0..3 {
                    d[ch] = d[ch] * (1.0 - a) + f32::from(c[ch]) * a;
                }
            }
        }
    }
    let mut rgba = Vec::with_capacity(acc.len() * 4);
    for c in acc {
        rgba.extend_from_slice(&[c[0].round() as u8, c[1].round() as u8, c[2].round() as u8, 255]);
    }
    // Grid fraction f ↦ the texel centre lattice: (0.5 + f·(side − 1)) / side.
    let s = side as f32;
    for uv in &mut mesh.uvs {
        *uv = [(0.5 + uv[0] * (s - 1.0)) / s, (0.5 + uv[1] * (s - 1.0)) / s];
    }
    mesh.texture = Some(TileTexture { width: side, height: side, rgba });
    failures
}
