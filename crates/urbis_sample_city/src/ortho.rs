//! The sample district's orthophoto: a synthetic aerial image drawn from the
//! district's own features, so that imagery registers with the city model.
//!
//! ```text
//! SampleCity (CityJSON + DEM)
//!   ─► photo_mesh::features + rasterize: the topmost feature over each pixel
//!      centre (ORTHO_PIXEL m over the DEM's extent, EPSG:4548)
//!   ─► colour: photo_mesh::surface_colour (roofs by building, greys to
//!      terracotta; asphalt; water; parks and fields) + lane markings on the
//!      street grid's lines + tree crowns shaded round + grain ─► GeoRaster
//!   ─► ortho.tif: imagery::geotiff::write_rgb (256-px tiles, deflate, overviews)
//!   ─► ortho_xyz/{z}/{x}/{y}.png + tiles.json: imagery::xyz::write_xyz,
//!      ORTHO_ZOOMS (≈ 7.4, 3.7, 1.9 and 0.9 m/px on the ground at 39°N)
//! ```
//!
//! [`ensure_ortho`] makes them on first use, next to the district's files,
//! with its own stamp (`.ortho`), so districts already generated stay as they are.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use glam::DVec2;
use urbis_formats::imagery::GeoRaster;
use urbis_formats::imagery::geotiff::write_rgb;
use urbis_formats::imagery::xyz::write_xyz;

use crate::layout;
use crate::photo_mesh::{Class, NONE, features, hash_unit, rasterize, surface_colour};
use crate::{SampleCity, SampleCityConfig, SampleCityError};

/// The orthophoto GeoTIFF's file name.
pub const ORTHO_FILE: &str = "ortho.tif";
/// The XYZ pyramid's folder name.
pub const ORTHO_XYZ_DIR: &str = "ortho_xyz";
/// Zooms of the pyramid: 156543.03 · cos 39° / 2^z ≈ 7.4 (z 14) to 0.93 (z 17) m/px.
pub const ORTHO_ZOOMS: RangeInclusive<u32> = 14..=17;
/// Pixel size of the GeoTIFF, metres.
pub const ORTHO_PIXEL: f64 = 1.0;
/// Bumped whenever the orthophoto changes, so cached files are regenerated.
pub const ORTHO_VERSION: u32 = 1;

/// Draws the district's orthophoto over its DEM's extent (in the DEM's CRS).
pub fn orthophoto(city: &SampleCity, seed: u64) -> GeoRaster {
    let dem = &city.dem;
    let px = ORTHO_PIXEL;
    let side_m = dem.ncols.max(dem.nrows) as f64 * dem.cell_size;
    let n = (side_m / px).round().max(1.0) as usize;
    let (west, south) = (dem.x_min, dem.y_min);
    let min = DVec2::new(west + px / 2.0, south + px / 2.0);
    let (feats, polys) = features(&city.cityjson);
    let raster = rasterize(dem, &polys, min, min + DVec2::splat((n - 1) as f64 * px), px);
    // Tree crowns: centre and radius of each tree feature's polygons.
    let mut crowns: Vec<Option<(DVec2, DVec2)>> = vec![None; feats.len()];
    for (f, rings) in &polys {
        if feats[*f as usize].class != Class::Tree {
            continue;
        }
        for p in rings.iter().flatten() {
            let c = crowns[*f as usize].get_or_insert((p.truncate(), p.truncate()));
            *c = (c.0.min(p.truncate()), c.1.max(p.truncate()));
        }
    }
    let ext = &city.cityjson["metadata"]["geographicalExtent"];
    let origin = DVec2::new(ext[0].as_f64().unwrap_or(west), ext[1].as_f64().unwrap_or(south));
    let size = ext[3].as_f64().map_or(2000.0, |e| e - origin.x);
    let streets = layout::streets(size, layout::STREET_SPACING, layout::ARTERIAL_EVERY);
    let mut rgba = Vec::with_capacity(n * n * 4);
    for row in 0..n {
        let j = n - 1 - row;
        for i in 0..n {
            let k = j * n + i;
            let p = min + DVec2::new(i as f64, j as f64) * px;
            let owner = raster.owner[k];
            let mut c = surface_colour(&feats, owner, p, seed);
            let class = (owner != NONE).then(|| feats[owner as usize].class);
            if class == Some(Class::Tree)
                && let Some((lo, hi)) = crowns[owner as usize]
            {
                // Round crowns: lit in the middle, darker towards the rim.
                let r = ((hi - lo).max_element() / 2.0).max(0.5);
                let d = (p - (lo + hi) / 2.0).length() / r;
                let f = 0.7 + 0.45 * (1.0 - d * d).clamp(0.0, 1.0);
                c = c.map(|v| v * f);
            }
            if class == Some(Class::Road)
                && let Some((paint, cover)) = marking(&streets, p - origin, size, px)
            {
                c = [0, 1, 2].map(|k| c[k] * (1.0 - cover) + paint[k] * cover);
            }
            // Grain in 2 m flecks (noise per pixel would double the files).
            let grain = GRAIN * hash_unit(seed ^ 0x0A7E, (p.x / 2.0).floor() as i64, (p.y / 2.0).floor() as i64);
            let v = |v: f64| (v + grain).round().clamp(0.0, 255.0) as u8;
            rgba.extend_from_slice(&[v(c[0]), v(c[1]), v(c[2]), 255]);
        }
    }
    GeoRaster {
        epsg: dem.crs.map_or(4548, |c| c.0),
        x0: west,
        y0: south + n as f64 * px,
        dx: px,
        dy: px,
        width: n as u32,
        height: n as u32,
        rgba,
    }
}

/// Width of painted lines, metres (wider than real paint, so that 1 m
/// pixels show it).
const PAINT_WIDTH: f64 = 0.8;
/// Amplitude of the per-pixel grain, levels.
const GRAIN: f64 = 4.0;

/// Lane paint over the pixel at local point `q` (metres from the district's
/// south-west corner) on a road, and how much of the pixel it covers:
/// avenues a solid yellow centre line and dashed white lanes every 6 m,
/// streets a dashed white centre line; none in junctions.
fn marking(streets: &[layout::Street], q: DVec2, size: f64, px: f64) -> Option<([f64; 3], f64)> {
    if q.x < 0.0 || q.y < 0.0 || q.x > size || q.y > size {
        return None;
    }
    for s in streets {
        let (along, across) = if s.east_west { (q.x, q.y - s.coord) } else { (q.y, q.x - s.coord) };
        if across.abs() > s.width / 2.0 - 1.0 {
            continue;
        }
        // In a junction: inside a crossing street.
        if streets.iter().any(|t| t.east_west != s.east_west && (along - t.coord).abs() < t.width / 2.0) {
            return None;
        }
        // The part of the pixel [across ± px/2] a line at `offset` covers.
        let cover = |offset: f64| {
            let lo = (across - px / 2.0).max(offset - PAINT_WIDTH / 2.0);
            let hi = (across + px / 2.0).min(offset + PAINT_WIDTH / 2.0);
            ((hi - lo) / px).max(0.0)
        };
        let dashed = along.rem_euclid(9.0) < 4.5;
        let (yellow, white) = ([215.0, 185.0, 60.0], [225.0, 225.0, 220.0]);
        let lines: &[(f64, [f64; 3], bool)] = if s.arterial {
            &[(0.0, yellow, false), (-12.0, white, true), (-6.0, white, true), (6.0, white, true), (12.0, white, true)]
        } else {
            &[(0.0, white, true)]
        };
        return lines
            .iter()
            .filter(|(_, _, dash)| !dash || dashed)
            .map(|(offset, paint, _)| (*paint, cover(*offset)))
            .find(|(_, c)| *c > 0.0);
    }
    None
}

/// What [`write_ortho`] wrote.
#[derive(Debug, Clone)]
pub struct OrthoFiles {
    pub tif: PathBuf,
    pub xyz_dir: PathBuf,
    pub tif_bytes: u64,
    pub xyz_tiles: usize,
    pub xyz_bytes: u64,
}

/// Writes `ortho.tif` and `ortho_xyz/` of `city` into `dir` (files under
/// temporary names, then renamed, so readers never see half of them).
pub fn write_ortho(dir: &Path, city: &SampleCity, seed: u64) -> Result<OrthoFiles, SampleCityError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SampleCityError::Io { path: path.clone(), source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let image = orthophoto(city, seed);
    let unique = format!("{}.{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let tif = dir.join(ORTHO_FILE);
    let tmp = dir.join(format!(".{ORTHO_FILE}.{unique}.tmp"));
    write_rgb(&tmp, &image, true)?;
    std::fs::rename(&tmp, &tif).map_err(io(&tif))?;
    let xyz_dir = dir.join(ORTHO_XYZ_DIR);
    let tmp = dir.join(format!(".{ORTHO_XYZ_DIR}.{unique}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = write_xyz(&tmp, &image, ORTHO_ZOOMS)?;
    let _ = std::fs::remove_dir_all(&xyz_dir);
    if let Err(e) = std::fs::rename(&tmp, &xyz_dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another process may have put its identical pyramid there first.
        if !xyz_dir.join("tiles.json").is_file() {
            return Err(io(&xyz_dir)(e));
        }
    }
    let tif_bytes = std::fs::metadata(&tif).map_err(io(&tif))?.len();
    Ok(OrthoFiles { tif, xyz_dir, tif_bytes, xyz_tiles: written.tiles, xyz_bytes: written.bytes })
}

fn stamp(cfg: &SampleCityConfig) -> String {
    format!(
        "urbis_sample_city ortho v{ORTHO_VERSION} district v{} seed {} size {} cell {} pixel {ORTHO_PIXEL} zooms {}-{}\n",
        crate::GENERATOR_VERSION,
        cfg.seed,
        cfg.size,
        cfg.dem_cell,
        ORTHO_ZOOMS.start(),
        ORTHO_ZOOMS.end()
    )
}

/// Makes sure `dir` holds the orthophoto (`ortho.tif`, `ortho_xyz/`) of the
/// district `cfg` describes, generating the district in memory and drawing
/// it if they are missing or stale. Returns the GeoTIFF's path.
pub fn ensure_ortho(dir: &Path, cfg: &SampleCityConfig) -> Result<PathBuf, SampleCityError> {
    // One drawing at a time in a process (tests call this from several threads).
    static DRAWING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = DRAWING.lock().unwrap_or_else(|e| e.into_inner());
    let stamp_path = dir.join(".ortho");
    let fresh = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp(cfg))
        && dir.join(ORTHO_FILE).is_file()
        && dir.join(ORTHO_XYZ_DIR).join("tiles.json").is_file();
    if !fresh {
        tracing::info!("drawing the sample city's orthophoto into {}", dir.display());
        let city = crate::generate(cfg)?;
        write_ortho(dir, &city, cfg.seed)?;
        std::fs::write(&stamp_path, stamp(cfg))
            .map_err(|source| SampleCityError::Io { path: stamp_path.display().to_string(), source })?;
    }
    Ok(dir.join(ORTHO_FILE))
}
