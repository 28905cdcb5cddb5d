//! Heights from a DEM grid in any CRS, asked for by longitude and latitude
//! (PROJ per loader thread), with a min/max pyramid that bounds the heights
//! of any rectangle without reading every cell.

use glam::DVec2;
use urbis_formats::ascii_grid::DemGrid;

use super::drape::from_wgs84;

/// A DEM as a source of terrain heights.
#[derive(Debug)]
pub struct DemHeights {
    pub name: String,
    pub grid: DemGrid,
    pub epsg: u32,
    /// West, south, east, north, degrees.
    pub coverage: [f64; 4],
    /// Per level (0 = the cells), min and max over blocks of 2^level cells.
    pyramid: Vec<(usize, usize, Vec<[f32; 2]>)>,
}

impl DemHeights {
    /// A DEM with its CRS; fails (naming the file) without a CRS or when
    /// PROJ cannot place it.
    pub fn new(name: &str, grid: DemGrid) -> Result<Self, String> {
        let epsg = grid.crs.map(|c| c.0).ok_or_else(|| format!("{name}: the DEM has no CRS (add a .prj)"))?;
        if grid.ncols == 0 || grid.nrows == 0 {
            return Err(format!("{name}: the DEM is empty"));
        }
        let (w, s) = (grid.x_min, grid.y_min);
        let (e, n) = (w + grid.ncols as f64 * grid.cell_size, s + grid.nrows as f64 * grid.cell_size);
        // The outline in degrees, from points along the edges.
        let k = 16;
        let mut outline: Vec<DVec2> = (0..=k)
            .flat_map(|i| {
                let t = f64::from(i) / f64::from(k);
                [
                    DVec2::new(w + (e - w) * t, s),
                    DVec2::new(w + (e - w) * t, n),
                    DVec2::new(w, s + (n - s) * t),
                    DVec2::new(e, s + (n - s) * t),
                ]
            })
            .collect();
        if !to_wgs84(epsg, &mut outline) {
            return Err(format!("{name}: cannot transform EPSG:{epsg} to longitude and latitude"));
        }
        let (lo, hi) =
            outline.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        if !lo.is_finite() || !hi.is_finite() || lo.y < -90.0 || hi.y > 90.0 {
            return Err(format!("{name}: EPSG:{epsg} places the DEM off the Earth"));
        }
        let mut pyramid = Vec::new();
        let base: Vec<[f32; 2]> = grid.heights.iter().map(|&h| [h, h]).collect();
        pyramid.push((grid.ncols, grid.nrows, base));
        while let Some((c, r, v)) = pyramid.last().filter(|(c, r, _)| *c > 1 || *r > 1) {
            let (c2, r2) = (c.div_ceil(2), r.div_ceil(2));
            let mut next = vec![[f32::INFINITY, f32::NEG_INFINITY]; c2 * r2];
            for row in 0..*r {
                for col in 0..*c {
                    let [a, b] = v[row * c + col];
                    let d = &mut next[(row / 2) * c2 + col / 2];
                    if !a.is_nan() {
                        d[0] = d[0].min(a);
                        d[1] = d[1].max(b);
                    }
                }
            }
            pyramid.push((c2, r2, next));
        }
        Ok(DemHeights { name: name.to_string(), grid, epsg, coverage: [lo.x, lo.y, hi.x, hi.y], pyramid })
    }

    /// Cell size in metres (projected CRSs; degrees × 111 km for geographic ones).
    pub fn resolution_m(&self) -> f64 {
        if matches!(self.epsg, 4326 | 4490 | 4979) { self.grid.cell_size * 111_320.0 } else { self.grid.cell_size }
    }

    /// Heights at longitude/latitude points (degrees); `None` outside the
    /// grid or at NODATA.
    pub fn heights(&self, lonlat: &[DVec2]) -> Vec<Option<f64>> {
        let mut pts = lonlat.to_vec();
        if !from_wgs84(self.epsg, &mut pts) {
            return vec![None; lonlat.len()];
        }
        pts.iter().map(|p| self.grid.sample(p.x, p.y)).collect()
    }

    /// Lowest and highest heights within a rectangle (degrees), from the
    /// pyramid level whose blocks are about an eighth of the rectangle.
    pub fn range(&self, rect: [f64; 4]) -> Option<[f64; 2]> {
        let mut corners: Vec<DVec2> = (0..=4)
            .flat_map(|i| {
                let t = f64::from(i) / 4.0;
                [
                    DVec2::new(rect[0] + (rect[2] - rect[0]) * t, rect[1]),
                    DVec2::new(rect[0] + (rect[2] - rect[0]) * t, rect[3]),
                    DVec2::new(rect[0], rect[1] + (rect[3] - rect[1]) * t),
                    DVec2::new(rect[2], rect[1] + (rect[3] - rect[1]) * t),
                ]
            })
            .collect();
        if !from_wgs84(self.epsg, &mut corners) {
            return None;
        }
        let (lo, hi) =
            corners.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        let g = &self.grid;
        let top = g.y_min + g.nrows as f64 * g.cell_size;
        let c0 = ((lo.x - g.x_min) / g.cell_size).floor().max(0.0);
        let c1 = ((hi.x - g.x_min) / g.cell_size).ceil().min(g.ncols as f64);
        let r0 = ((top - hi.y) / g.cell_size).floor().max(0.0);
        let r1 = ((top - lo.y) / g.cell_size).ceil().min(g.nrows as f64);
        if !(c0 < c1 && r0 < r1) {
            return None;
        }
        let span = (c1 - c0).max(r1 - r0);
        let level = ((span / 8.0).max(1.0).log2().floor() as usize).min(self.pyramid.len() - 1);
        let (cols, rows, v) = &self.pyramid[level];
        let f = (1usize << level) as f64;
        let (mut mn, mut mx) = (f32::INFINITY, f32::NEG_INFINITY);
        for r in (r0 / f).floor() as usize..((r1 / f).ceil() as usize).min(*rows) {
            for c in (c0 / f).floor() as usize..((c1 / f).ceil() as usize).min(*cols) {
                let [a, b] = v[r * cols + c];
                mn = mn.min(a);
                mx = mx.max(b);
            }
        }
        (mn <= mx).then(|| [f64::from(mn), f64::from(mx)])
    }
}

/// `epsg` coordinates to longitude/latitude in place.
fn to_wgs84(epsg: u32, pts: &mut [DVec2]) -> bool {
    if matches!(epsg, 4326 | 4490) {
        return true;
    }
    let Ok(t) = urbis_geo::CrsTransform::new(urbis_geo::Epsg(epsg), urbis_geo::Epsg::WGS84) else { return false };
    let mut v: Vec<glam::DVec3> = pts.iter().map(|p| p.extend(0.0)).collect();
    if t.transform_all(&mut v).is_err() {
        return false;
    }
    for (p, q) in pts.iter_mut().zip(v) {
        *p = q.truncate();
    }
    true
}
