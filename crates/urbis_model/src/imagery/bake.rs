//! Baking the drape texture: texel centres placed in each layer's CRS
//! (exact PROJ transforms on a lattice, bilinear between its nodes, checked
//! against exact ones), one window fetched per layer, layers composited.

use std::sync::Arc;

use glam::{DVec2, DVec3};
use urbis_geo::{CityFrame, CrsTransform, Epsg};

use super::{GeoRaster, ImageryError, ImageryLayer, ImagerySource, LayerOutcome, LayerReport, TexturePlan};

/// Texel spacing of the lattice of exact CRS transforms; texels between
/// nodes are interpolated (checked against exact transforms, see [`super::drape_with`]).
const LATTICE_STEP: u32 = 8;

/// Texel centres placed in a CRS: exact transforms at lattice nodes
/// (every `step` texels, and the last row and column), NaN where one failed.
pub(super) struct Lattice {
    pub(super) step: u32,
    cols: u32,
    rows: u32,
    nodes: Vec<DVec2>,
    /// Texels whose nodes could not be transformed.
    failed: usize,
    first_error: Option<String>,
}

impl Lattice {
    fn build(frame: &CityFrame, plan: &TexturePlan, epsg: u32, step: u32) -> Result<Self, String> {
        let axis = |n: u32| -> Vec<u32> {
            let mut v: Vec<u32> = (0..n).step_by(step as usize).collect();
            if v.last() != Some(&(n - 1)) {
                v.push(n - 1);
            }
            v
        };
        let (xs, ys) = (axis(plan.width), axis(plan.height));
        let make = || CrsTransform::new(Epsg::ECEF, Epsg(epsg)).map_err(|e| e.to_string());
        let first = make()?;
        let row = |t: &CrsTransform, r: u32| -> (Vec<DVec2>, Option<String>) {
            let mut pts: Vec<DVec3> = xs.iter().map(|&c| frame.enu_to_ecef(plan.centre(c, r))).collect();
            let mut err = None;
            if t.transform_all(&mut pts).is_err() {
                // Some point failed: place the row one by one, keeping the rest.
                pts = xs
                    .iter()
                    .map(|&c| {
                        t.transform(frame.enu_to_ecef(plan.centre(c, r))).unwrap_or_else(|e| {
                            err.get_or_insert(e.to_string());
                            DVec3::NAN
                        })
                    })
                    .collect();
            }
            (pts.into_iter().map(|p| p.truncate()).collect(), err)
        };
        let rows: Vec<(Vec<DVec2>, Option<String>)> = if xs.len() * ys.len() < 20_000 {
            ys.iter().map(|&r| row(&first, r)).collect()
        } else {
            use rayon::prelude::*;
            // One PROJ handle per worker (they are not shared between threads).
            let chunk = ys.len().div_ceil(rayon::current_num_threads().max(1));
            ys.par_chunks(chunk)
                .map(|rs| match make() {
                    Ok(t) => rs.iter().map(|&r| row(&t, r)).collect::<Vec<_>>(),
                    Err(e) => rs.iter().map(|_| (vec![DVec2::NAN; xs.len()], Some(e.clone()))).collect(),
                })
                .flatten()
                .collect()
        };
        let mut nodes = Vec::with_capacity(xs.len() * ys.len());
        let mut first_error = None;
        for (pts, err) in rows {
            nodes.extend(pts);
            if first_error.is_none() {
                first_error = err;
            }
        }
        let bad = nodes.iter().filter(|p| !p.is_finite()).count();
        Ok(Self {
            step,
            cols: xs.len() as u32,
            rows: ys.len() as u32,
            nodes,
            failed: bad * (step as usize).pow(2),
            first_error,
        })
    }

    /// The CRS position of texel (col, row): bilinear between its cell's nodes.
    pub(super) fn at(&self, col: u32, row: u32, plan: &TexturePlan) -> Option<DVec2> {
        let locate = |i: u32, n: u32, last: u32| -> (usize, f64) {
            let k = (i / self.step).min(n.saturating_sub(2));
            let (a, b) = (k * self.step, ((k + 1) * self.step).min(last));
            (k as usize, if b > a { f64::from(i - a) / f64::from(b - a) } else { 0.0 })
        };
        let (kx, tx) = locate(col, self.cols, plan.width - 1);
        let (ky, ty) = locate(row, self.rows, plan.height - 1);
        let (kx1, ky1) = ((kx + 1).min(self.cols as usize - 1), (ky + 1).min(self.rows as usize - 1));
        let n = |x: usize, y: usize| self.nodes[y * self.cols as usize + x];
        let p = n(kx, ky) * (1.0 - tx) * (1.0 - ty)
            + n(kx1, ky) * tx * (1.0 - ty)
            + n(kx, ky1) * (1.0 - tx) * ty
            + n(kx1, ky1) * tx * ty;
        p.is_finite().then_some(p)
    }

    /// West, south, east, north of the nodes, and a texel's size along CRS x and y.
    pub(super) fn bbox_and_texel(&self, plan: &TexturePlan) -> Option<([f64; 4], DVec2)> {
        let ok: Vec<DVec2> = self.nodes.iter().copied().filter(|p| p.is_finite()).collect();
        let (lo, hi) = ok.iter().fold((DVec2::INFINITY, DVec2::NEG_INFINITY), |(l, h), p| (l.min(*p), h.max(*p)));
        if ok.is_empty() {
            return None;
        }
        // Steps between the middle texel and its east and south neighbours;
        // failing those (unplaced, or a degenerate CRS), the extent's average.
        let (c, r) = (plan.width / 2, plan.height / 2);
        let from_middle = || -> Option<DVec2> {
            let mid = self.at(c, r, plan)?;
            let de = self.at((c + 1).min(plan.width - 1), r, plan)? - mid;
            let ds = self.at(c, (r + 1).min(plan.height - 1), plan)? - mid;
            Some(DVec2::new(de.x.abs().max(ds.x.abs()), de.y.abs().max(ds.y.abs())))
        };
        let average = (hi - lo) / DVec2::new(f64::from(plan.width), f64::from(plan.height));
        let t = from_middle().filter(|t| t.min_element() > 0.0).unwrap_or(average.max(DVec2::splat(1e-9)));
        Some(([lo.x, lo.y, hi.x, hi.y], t))
    }
}

/// Whether the lattice reproduces exact transforms at a few cell middles to
/// within a thousandth of a texel.
fn lattice_is_faithful(frame: &CityFrame, plan: &TexturePlan, lat: &Lattice, epsg: u32, texel: DVec2) -> bool {
    let Ok(t) = CrsTransform::new(Epsg::ECEF, Epsg(epsg)) else { return false };
    let half = lat.step / 2;
    let probes = [
        (half, half),
        (plan.width / 2 + half, plan.height / 2 + half),
        (plan.width.saturating_sub(half + 1), plan.height.saturating_sub(half + 1)),
        (plan.width.saturating_sub(half + 1), half),
        (half, plan.height.saturating_sub(half + 1)),
    ];
    probes.iter().all(|&(c, r)| {
        let (c, r) = (c.min(plan.width - 1), r.min(plan.height - 1));
        match (lat.at(c, r, plan), t.transform(frame.enu_to_ecef(plan.centre(c, r)))) {
            (Some(p), Ok(q)) => ((p - q.truncate()) / texel).abs().max_element() < 1e-3,
            (None, _) => true,
            (Some(_), Err(_)) => false,
        }
    })
}

/// A layer ready to sample: its window and where texels fall in it.
struct Prepared {
    raster: GeoRaster,
    lattice: Arc<Lattice>,
    opacity: f32,
}

/// Bakes the texture: every texel's colour, the layers composited in order.
pub(super) fn bake(
    frame: &CityFrame,
    plan: &TexturePlan,
    layers: &[ImageryLayer],
    neutral: [u8; 4],
) -> (Vec<u8>, Vec<LayerReport>) {
    let mut lattices: Vec<(u32, Result<Arc<Lattice>, String>)> = Vec::new();
    let mut reports = Vec::new();
    let mut prepared: Vec<Option<Prepared>> = Vec::new();
    for layer in layers {
        let src = &layer.source;
        let (name, epsg) = (src.name(), src.epsg());
        let mut report = LayerReport {
            name: name.clone(),
            epsg,
            outcome: LayerOutcome::Drawn,
            window: None,
            texels: 0,
            failures: vec![],
        };
        let fail = |message: String| ImageryError::Source { source_name: name.clone(), message };
        let opacity = if layer.opacity.is_finite() { layer.opacity.clamp(0.0, 1.0) } else { 0.0 };
        if !layer.visible || opacity <= 0.0 {
            report.outcome = LayerOutcome::Hidden;
            reports.push(report);
            prepared.push(None);
            continue;
        }
        let lattice = match lattices.iter().find(|(e, _)| *e == epsg) {
            Some((_, l)) => l.clone(),
            None => {
                let l = lattice_for(frame, plan, epsg).map(Arc::new);
                lattices.push((epsg, l.clone()));
                l
            }
        };
        let prep = lattice
            .map_err(|e| fail(format!("cannot place the surface in EPSG:{epsg}: {e}")))
            .and_then(|lat| prepare(src.as_ref(), lat, plan, &mut report.failures).map_err(fail));
        match prep {
            Ok(Some((raster, lat))) => {
                if lat.failed > 0 {
                    let why = lat.first_error.clone().unwrap_or_default();
                    report
                        .failures
                        .push(fail(format!("about {} texels could not be placed in EPSG:{epsg}: {why}", lat.failed)));
                }
                report.window = Some((raster.width, raster.height));
                prepared.push(Some(Prepared { raster, lattice: lat, opacity }));
            }
            Ok(None) => {
                report.outcome = LayerOutcome::OutsideExtent;
                prepared.push(None);
            }
            Err(e) => {
                report.failures.push(e);
                report.outcome = LayerOutcome::Failed;
                prepared.push(None);
            }
        }
        reports.push(report);
    }
    let (rgba, counts) = composite(plan, &prepared, neutral);
    for (r, n) in reports.iter_mut().zip(counts) {
        r.texels = n;
    }
    (rgba, reports)
}

/// The lattice of a CRS, at [`LATTICE_STEP`] if that is faithful, else exact.
pub(super) fn lattice_for(frame: &CityFrame, plan: &TexturePlan, epsg: u32) -> Result<Lattice, String> {
    let coarse = Lattice::build(frame, plan, epsg, LATTICE_STEP)?;
    match coarse.bbox_and_texel(plan) {
        Some((_, texel)) if !lattice_is_faithful(frame, plan, &coarse, epsg, texel) => {
            Lattice::build(frame, plan, epsg, 1)
        }
        _ => Ok(coarse),
    }
}

/// Fetches a layer's window over the surface (with a two-texel margin);
/// `None` when the layer does not reach it.
fn prepare(
    src: &dyn ImagerySource,
    lat: Arc<Lattice>,
    plan: &TexturePlan,
    failures: &mut Vec<ImageryError>,
) -> Result<Option<(GeoRaster, Arc<Lattice>)>, String> {
    let (bbox, texel) = lat
        .bbox_and_texel(plan)
        .ok_or_else(|| lat.first_error.clone().unwrap_or_else(|| "no texel could be placed".into()))?;
    let bbox = [bbox[0] - 2.0 * texel.x, bbox[1] - 2.0 * texel.y, bbox[2] + 2.0 * texel.x, bbox[3] + 2.0 * texel.y];
    let e = src.extent();
    if !(e[0] < bbox[2] && e[2] > bbox[0] && e[1] < bbox[3] && e[3] > bbox[1]) {
        return Ok(None);
    }
    let side = ((bbox[2] - bbox[0]) / texel.x).max((bbox[3] - bbox[1]) / texel.y).ceil();
    let side = side.clamp(1.0, f64::from(plan.width.max(plan.height)) * 1.5 + 8.0) as u32;
    let raster = src.window(bbox, side, failures).map_err(|e| e.to_string())?;
    check_window(&raster, src.epsg())?;
    if raster.width == 0 || raster.height == 0 {
        return Ok(None);
    }
    // Much finer than a texel: average blocks so that sampling does not alias.
    let k = (texel.x / raster.dx).min(texel.y / raster.dy).floor();
    let raster = if k >= 2.0 { reduce(&raster, k.min(1024.0) as u32) } else { raster };
    Ok(Some((raster, lat)))
}

/// Rejects windows that would mislead sampling (or make it index out of range).
fn check_window(r: &GeoRaster, epsg: u32) -> Result<(), String> {
    let want = u64::from(r.width).checked_mul(u64::from(r.height)).and_then(|n| n.checked_mul(4));
    if Some(r.rgba.len() as u64) != want {
        return Err(format!("window of {} × {} pixels holds {} bytes", r.width, r.height, r.rgba.len()));
    }
    if !(r.dx.is_finite() && r.dy.is_finite() && r.dx > 0.0 && r.dy > 0.0 && r.x0.is_finite() && r.y0.is_finite()) {
        return Err(format!("window has a bad georeference (x0 {}, y0 {}, dx {}, dy {})", r.x0, r.y0, r.dx, r.dy));
    }
    if r.epsg != epsg {
        return Err(format!("window is in EPSG:{}, the source said EPSG:{epsg}", r.epsg));
    }
    Ok(())
}

/// Averages `k × k` blocks (colour weighted by alpha; alpha the block's mean).
pub(super) fn reduce(r: &GeoRaster, k: u32) -> GeoRaster {
    let (w, h) = (r.width.div_ceil(k), r.height.div_ceil(k));
    let mut rgba = vec![0u8; (w * h * 4) as usize];
    for by in 0..h {
        for bx in 0..w {
            let mut acc = [0.0f64; 4];
            let mut n = 0.0;
            for y in by * k..((by + 1) * k).min(r.height) {
                for x in bx * k..((bx + 1) * k).min(r.width) {
                    let o = ((y * r.width + x) * 4) as usize;
                    let px = &r.rgba[o..o + 4];
                    let a = f64::from(px[3]);
                    for (sum, &v) in acc.iter_mut().zip(&px[..3]) {
                        *sum += f64::from(v) * a;
                    }
                    acc[3] += a;
                    n += 1.0;
                }
            }
            let o = ((by * w + bx) * 4) as usize;
            if acc[3] > 0.0 {
                for c in 0..3 {
                    rgba[o + c] = (acc[c] / acc[3]).round() as u8;
                }
                rgba[o + 3] = (acc[3] / n).round().max(1.0) as u8;
            }
        }
    }
    GeoRaster { dx: r.dx * f64::from(k), dy: r.dy * f64::from(k), width: w, height: h, rgba, ..r.clone() }
}

/// Every texel: neutral, then each layer over it with opacity × alpha.
/// Returns the texture and, per layer, the texels it reached.
fn composite(plan: &TexturePlan, layers: &[Option<Prepared>], neutral: [u8; 4]) -> (Vec<u8>, Vec<usize>) {
    use rayon::prelude::*;
    let row_bytes = plan.width as usize * 4;
    let mut rgba = vec![0u8; row_bytes * plan.height as usize];
    let counts = rgba
        .par_chunks_mut(row_bytes)
        .enumerate()
        .map(|(r, row)| {
            let mut counts = vec![0usize; layers.len()];
            for (c, px) in row.chunks_exact_mut(4).enumerate() {
                let mut out = [f32::from(neutral[0]), f32::from(neutral[1]), f32::from(neutral[2])];
                for (k, l) in layers.iter().enumerate() {
                    let Some(l) = l else { continue };
                    let Some(p) = l.lattice.at(c as u32, r as u32, plan) else { continue };
                    let Some(s) = l.raster.sample(p.x, p.y) else { continue };
                    let a = l.opacity * f32::from(s[3]) / 255.0;
                    if a <= 0.0 {
                        continue;
                    }
                    counts[k] += 1;
                    for i in 0..3 {
                        out[i] = out[i] * (1.0 - a) + f32::from(s[i]) * a;
                    }
                }
                px.copy_from_slice(&[out[0].round() as u8, out[1].round() as u8, out[2].round() as u8, 255]);
            }
            counts
        })
        .reduce(|| vec![0usize; layers.len()], |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect());
    (rgba, counts)
}
