//! A synthetic oblique-photography photo mesh of the sample district: one
//! continuous, textured 2.5D skin as photogrammetry would produce it, cut
//! into ContextCapture-style OSGB pyramids, for testing the OSGB reader,
//! streamer and (later) monomerization on data whose truth is known.
//!
//! ```text
//! CityJSON polygons (buildings, parts, roads, water, trees…) ─┐  z-buffer from above,
//! DEM ─────────────────────────────────────────────────────────┴► max(terrain, features)
//!   on RASTER-metre points: height + the topmost feature
//!      │
//!      ├─► per top tile (tile_size m), per level (2× decimation): a grid mesh
//!      │   (deterministic vertex noise), an orthophoto-like JPEG (feature
//!      │   colours + noise), PagedLOD ranges in pixels, 4 paged children
//!      └─► truth (finest level): the building each triangle lies on, or none
//! ```
//!
//! [`write_photo_mesh`] writes `metadata.xml` (EPSG + `SRSOrigin`),
//! `Data/Tile_+XXX_+YYY/Tile_+XXX_+YYY[_L{level}_{index}].osgb` and a side
//! `truth.json` (outside `Data/`: the mesh itself carries no feature ids;
//! per finest file, each building id with the indices of its triangles).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use serde_json::{Value, json};
use urbis_formats::ascii_grid::DemGrid;
use urbis_formats::osgb::{OsgbMesh, OsgbTile, write_osgb};

use crate::{SampleCity, SampleCityError};

/// Spacing of the raster the surface is sampled on, metres.
pub const RASTER: f64 = 0.5;

/// What to make.
#[derive(Debug, Clone)]
pub struct PhotoMeshConfig {
    /// Side of a top tile, metres.
    pub tile_size: f64,
    /// Levels per pyramid (level 0 the coarsest; each finer one halves the tile).
    pub levels: u32,
    /// Vertex spacing at the finest level, metres (a multiple of [`RASTER`]).
    pub finest_spacing: f64,
    /// Only the top tiles `(x0..x1, y0..y1)` (indices from the district's
    /// south-west corner); `None`: all that cover the district.
    pub area: Option<([u32; 2], [u32; 2])>,
    /// Texture side per file, pixels.
    pub texture_px: u32,
    /// Amplitude of the vertical vertex noise, metres.
    pub noise: f64,
    /// Pixels on screen from which a file's paged children take over.
    pub pixel_threshold: f32,
    pub seed: u64,
}

impl Default for PhotoMeshConfig {
    fn default() -> Self {
        Self {
            tile_size: 256.0,
            levels: 3,
            finest_spacing: 1.0,
            area: None,
            texture_px: 256,
            noise: 0.03,
            pixel_threshold: 512.0,
            seed: 2017,
        }
    }
}

impl PhotoMeshConfig {
    /// The test fixture: 2 × 2 top tiles at the district's south-west corner.
    pub fn small() -> Self {
        Self { area: Some(([0, 2], [0, 2])), ..Self::default() }
    }
}

/// One `.osgb` file's content.
#[derive(Debug, Clone)]
pub struct PhotoTile {
    /// File name without extension, e.g. `Tile_+001_+000_L1_2`.
    pub name: String,
    /// The top tile's folder name, e.g. `Tile_+001_+000`.
    pub folder: String,
    pub level: u32,
    /// South-west corner (projected CRS) and side, metres.
    pub min: DVec2,
    pub size: f64,
    /// Vertices in the projected CRS (EPSG of [`PhotoMesh::epsg`]).
    pub positions: Vec<DVec3>,
    pub tex_coords: Vec<[f32; 2]>,
    pub triangles: Vec<[u32; 3]>,
    /// The orthophoto texture, JPEG.
    pub jpeg: Vec<u8>,
    /// Finest level only: per triangle, the CityJSON id of the building its
    /// centroid lies on (above ground + 1 m), or `None`. Empty on coarser levels.
    pub truth: Vec<Option<String>>,
    /// File names of the paged children (same folder).
    pub children: Vec<String>,
}

/// The whole photo mesh.
#[derive(Debug, Clone)]
pub struct PhotoMesh {
    pub epsg: u32,
    /// `SRSOrigin`: file vertices are relative to it.
    pub origin: DVec3,
    /// The covered extent (south-west, north-east), projected CRS.
    pub extent: (DVec2, DVec2),
    /// Pixels on screen from which a file's paged children take over.
    pub pixel_threshold: f32,
    pub tiles: Vec<PhotoTile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Building,
    Road,
    Bridge,
    Water,
    Green,
    Tree,
    Other,
}

pub(crate) struct Feature {
    /// The building's id for buildings and their parts.
    pub(crate) id: String,
    pub(crate) class: Class,
}

/// Height and topmost feature on the raster points of an area: point (i, j)
/// is `min + (i, j) · spacing`, stored at `j · n + i` (rows from the south).
pub(crate) struct Raster {
    pub(crate) min: DVec2,
    pub(crate) spacing: f64,
    pub(crate) n: usize,
    pub(crate) z: Vec<f64>,
    pub(crate) ground: Vec<f64>,
    pub(crate) owner: Vec<u32>,
}

/// No feature on a raster point.
pub(crate) const NONE: u32 = u32::MAX;

/// A feature's index and one of its polygons (outer ring, then holes).
pub(crate) type Polygon = (u32, Vec<Vec<DVec3>>);

impl Raster {
    fn index(&self, p: DVec2) -> usize {
        let i = (((p.x - self.min.x) / self.spacing).round().max(0.0) as usize).min(self.n - 1);
        let j = (((p.y - self.min.y) / self.spacing).round().max(0.0) as usize).min(self.n - 1);
        j * self.n + i
    }
}

/// Makes the photo mesh of `city`.
pub fn photo_mesh(city: &SampleCity, cfg: &PhotoMeshConfig) -> PhotoMesh {
    let ext = &city.cityjson["metadata"]["geographicalExtent"];
    let d0 = DVec2::new(ext[0].as_f64().unwrap_or(0.0), ext[1].as_f64().unwrap_or(0.0));
    let d1 = DVec2::new(ext[3].as_f64().unwrap_or(2000.0), ext[4].as_f64().unwrap_or(2000.0));
    let count = ((d1 - d0) / cfg.tile_size).ceil().as_uvec2();
    let ([x0, x1], [y0, y1]) = cfg.area.unwrap_or(([0, count.x], [0, count.y]));
    let min = d0 + DVec2::new(f64::from(x0), f64::from(y0)) * cfg.tile_size;
    let max = d0 + DVec2::new(f64::from(x1), f64::from(y1)) * cfg.tile_size;
    let (features, polygons) = features(&city.cityjson);
    let raster = rasterize(&city.dem, &polygons, min, max, RASTER);
    let origin = DVec3::new(d0.x, d0.y, 0.0);
    let mut tiles = Vec::new();
    for ty in y0..y1 {
        for tx in x0..x1 {
            let folder = format!("Tile_{:+04}_{:+04}", tx, ty);
            let sw = d0 + DVec2::new(f64::from(tx), f64::from(ty)) * cfg.tile_size;
            pyramid(&mut tiles, &raster, &features, cfg, &folder, sw);
        }
    }
    PhotoMesh {
        epsg: city.dem.crs.map_or(4548, |c| c.0),
        origin,
        extent: (min, max),
        pixel_threshold: cfg.pixel_threshold,
        tiles,
    }
}

fn pyramid(
    out: &mut Vec<PhotoTile>,
    raster: &Raster,
    features: &[Feature],
    cfg: &PhotoMeshConfig,
    folder: &str,
    sw: DVec2,
) {
    let levels = cfg.levels.max(1);
    for level in 0..levels {
        let per_side = 1u32 << level;
        let size = cfg.tile_size / f64::from(per_side);
        let spacing = cfg.finest_spacing * f64::from(1u32 << (levels - 1 - level));
        for iy in 0..per_side {
            for ix in 0..per_side {
                let index = iy * per_side + ix;
                let name = if level == 0 { folder.to_string() } else { format!("{folder}_L{level}_{index}") };
                let children = if level + 1 < levels {
                    let cps = per_side * 2;
                    [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|(dx, dy)| format!("{folder}_L{}_{}.osgb", level + 1, (iy * 2 + dy) * cps + ix * 2 + dx))
                        .collect()
                } else {
                    Vec::new()
                };
                let min = sw + DVec2::new(f64::from(ix), f64::from(iy)) * size;
                let finest = level + 1 == levels;
                out.push(tile(raster, features, cfg, (name, folder, level), (min, size, spacing), finest, children));
            }
        }
    }
}

fn tile(
    raster: &Raster,
    features: &[Feature],
    cfg: &PhotoMeshConfig,
    (name, folder, level): (String, &str, u32),
    (min, size, spacing): (DVec2, f64, f64),
    finest: bool,
    children: Vec<String>,
) -> PhotoTile {
    let n = (size / spacing).round() as u32;
    let mut positions = Vec::with_capacity(((n + 1) * (n + 1)) as usize);
    let mut tex_coords = Vec::with_capacity(positions.capacity());
    for j in 0..=n {
        for i in 0..=n {
            let p = min + DVec2::new(f64::from(i), f64::from(j)) * spacing;
            let k = raster.index(p);
            let key = ((p.x / RASTER).round() as i64, (p.y / RASTER).round() as i64);
            let z = raster.z[k] + cfg.noise * hash_unit(cfg.seed, key.0, key.1);
            positions.push(p.extend(z));
            tex_coords.push([i as f32 / n as f32, j as f32 / n as f32]);
        }
    }
    let mut triangles = Vec::with_capacity((n * n * 2) as usize);
    for j in 0..n {
        for i in 0..n {
            let a = j * (n + 1) + i;
            let (b, c, d) = (a + 1, a + n + 2, a + n + 1);
            // Split along the diagonal that follows the surface best.
            let za = positions[a as usize].z;
            let zc = positions[c as usize].z;
            let zb = positions[b as usize].z;
            let zd = positions[d as usize].z;
            if (za - zc).abs() <= (zb - zd).abs() {
                triangles.push([a, b, c]);
                triangles.push([a, c, d]);
            } else {
                triangles.push([a, b, d]);
                triangles.push([b, c, d]);
            }
        }
    }
    let truth = if finest {
        triangles
            .iter()
            .map(|t| {
                let c = (positions[t[0] as usize] + positions[t[1] as usize] + positions[t[2] as usize]) / 3.0;
                let k = raster.index(c.truncate());
                let f = raster.owner[k];
                (f != NONE && features[f as usize].class == Class::Building && c.z > raster.ground[k] + 1.0)
                    .then(|| features[f as usize].id.clone())
            })
            .collect()
    } else {
        Vec::new()
    };
    let jpeg = texture(raster, features, cfg, min, size);
    PhotoTile {
        name,
        folder: folder.to_string(),
        level,
        min,
        size,
        positions,
        tex_coords,
        triangles,
        jpeg,
        truth,
        children,
    }
}

/// A deterministic value in [-1, 1] for a raster point.
pub(crate) fn hash_unit(seed: u64, x: i64, y: i64) -> f64 {
    let mut h = seed ^ (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

fn texture(raster: &Raster, features: &[Feature], cfg: &PhotoMeshConfig, min: DVec2, size: f64) -> Vec<u8> {
    let px = cfg.texture_px.max(1);
    let img = image::RgbImage::from_fn(px, px, |c, r| {
        // Row 0 is the top of the image: OpenSceneGraph's t = 1.
        let p =
            min + DVec2::new((f64::from(c) + 0.5) / f64::from(px), 1.0 - (f64::from(r) + 0.5) / f64::from(px)) * size;
        let k = raster.index(p);
        let grain = hash_unit(cfg.seed ^ 0x5EED, (p.x * 4.0).floor() as i64, (p.y * 4.0).floor() as i64);
        let base = surface_colour(features, raster.owner[k], p, cfg.seed);
        let px = |v: f64| (v + 12.0 * grain).clamp(0.0, 255.0) as u8;
        image::Rgb([px(base[0]), px(base[1]), px(base[2])])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).expect("JPEG encoding into memory does not fail");
    out.into_inner()
}

/// The colour of what is seen from above at `p` (before grain): the owning
/// feature's class colour (roofs by building, greys to terracotta), or
/// patches of grass and fields where no feature is.
pub(crate) fn surface_colour(features: &[Feature], owner: u32, p: DVec2, seed: u64) -> [f64; 3] {
    if owner == NONE {
        // Grass and fields: patches of green from a coarse hash.
        let patch = hash_unit(seed, (p.x / 40.0).floor() as i64, (p.y / 40.0).floor() as i64);
        return [90.0 + 25.0 * patch, 130.0 + 20.0 * patch, 60.0];
    }
    let feat = &features[owner as usize];
    match feat.class {
        Class::Building => {
            let h = feat.id.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            // Greys to terracotta, always redder than green (unlike grass).
            let g = 115.0 + 60.0 * hash_unit(h, 1, 2);
            [g + 25.0 + 15.0 * hash_unit(h, 3, 4), g, g - 5.0 + 20.0 * hash_unit(h, 5, 6)]
        }
        Class::Road => [120.0, 120.0, 118.0],
        Class::Bridge => [140.0, 132.0, 120.0],
        Class::Water => [50.0, 90.0, 150.0],
        Class::Green => [80.0, 140.0, 70.0],
        Class::Tree => [35.0, 80.0, 35.0],
        Class::Other => [160.0, 160.0, 150.0],
    }
}

/// The features of the CityJSON and their non-vertical polygons (rings of
/// projected points), each with its feature index.
pub(crate) fn features(doc: &Value) -> (Vec<Feature>, Vec<Polygon>) {
    let tr = &doc["transform"];
    let s = |i| tr["scale"][i].as_f64().unwrap_or(1.0);
    let t = |i| tr["translate"][i].as_f64().unwrap_or(0.0);
    let (scale, translate) = (DVec3::new(s(0), s(1), s(2)), DVec3::new(t(0), t(1), t(2)));
    let vertex = |v: &Value| {
        let c = |i: usize| v[i].as_f64().unwrap_or(0.0);
        DVec3::new(c(0), c(1), c(2)) * scale + translate
    };
    let vertices: Vec<DVec3> = doc["vertices"].as_array().map(|a| a.iter().map(vertex).collect()).unwrap_or_default();
    let templates = &doc["geometry-templates"];
    let tverts: Vec<DVec3> = templates["vertices-templates"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    DVec3::new(v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0), v[2].as_f64().unwrap_or(0.0))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut feats = Vec::new();
    let mut polys = Vec::new();
    let Some(objects) = doc["CityObjects"].as_object() else { return (feats, polys) };
    let mut ids: Vec<&String> = objects.keys().collect();
    ids.sort();
    for id in ids {
        let o = &objects[id];
        let ty = o["type"].as_str().unwrap_or("");
        let (class, id) = match ty {
            "Building" => (Class::Building, id.clone()),
            "BuildingPart" => (Class::Building, o["parents"][0].as_str().unwrap_or(id).to_string()),
            "Road" | "Railway" | "TransportSquare" => (Class::Road, id.clone()),
            "Bridge" | "BridgePart" => (Class::Bridge, id.clone()),
            "WaterBody" => (Class::Water, id.clone()),
            "PlantCover" | "LandUse" => (Class::Green, id.clone()),
            "SolitaryVegetationObject" => (Class::Tree, id.clone()),
            _ => (Class::Other, id.clone()),
        };
        let Some(geoms) = o["geometry"].as_array() else { continue };
        // The most detailed geometry only.
        let Some(g) = geoms.iter().max_by(|a, b| lod(a).total_cmp(&lod(b))) else { continue };
        let f = feats.len() as u32;
        let mut rings_of = Vec::new();
        if g["type"] == "GeometryInstance" {
            let Some(tg) = templates["templates"].get(g["template"].as_u64().unwrap_or(u64::MAX) as usize) else {
                continue;
            };
            let anchor = g["boundaries"][0].as_u64().and_then(|i| vertices.get(i as usize)).copied();
            let m: Vec<f64> = g["transformationMatrix"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let (Some(anchor), true) = (anchor, m.len() == 16) else { continue };
            let place = |p: DVec3| {
                anchor
                    + DVec3::new(
                        m[0] * p.x + m[1] * p.y + m[2] * p.z + m[3],
                        m[4] * p.x + m[5] * p.y + m[6] * p.z + m[7],
                        m[8] * p.x + m[9] * p.y + m[10] * p.z + m[11],
                    )
            };
            surfaces(&tg["boundaries"], &mut |rings| {
                rings_of.push(
                    rings
                        .iter()
                        .map(|r| r.iter().filter_map(|&i| tverts.get(i).copied().map(place)).collect())
                        .collect(),
                );
            });
        } else {
            surfaces(&g["boundaries"], &mut |rings| {
                rings_of
                    .push(rings.iter().map(|r| r.iter().filter_map(|&i| vertices.get(i).copied()).collect()).collect());
            });
        }
        feats.push(Feature { id, class });
        polys.extend(rings_of.into_iter().map(|r| (f, r)));
    }
    (feats, polys)
}

fn lod(g: &Value) -> f64 {
    match &g["lod"] {
        Value::String(s) => s.parse().unwrap_or(0.0),
        v => v.as_f64().unwrap_or(0.0),
    }
}

/// Calls `f` with the rings (vertex indices) of every surface in nested boundaries.
fn surfaces(b: &Value, f: &mut dyn FnMut(Vec<Vec<usize>>)) {
    let Some(a) = b.as_array() else { return };
    if a.first().and_then(|r| r.as_array()).and_then(|r| r.first()).is_some_and(Value::is_number) {
        f(a.iter()
            .map(|r| {
                r.as_array()
                    .map(|r| r.iter().filter_map(|i| i.as_u64().map(|i| i as usize)).collect())
                    .unwrap_or_default()
            })
            .collect());
        return;
    }
    for c in a {
        surfaces(c, f);
    }
}

/// The topmost non-vertical polygon over each point `min + (i, j) · spacing`
/// of the square from `min` to `max` (features at ground level still own a
/// point slightly under the DEM), and the ground there.
pub(crate) fn rasterize(dem: &DemGrid, polys: &[Polygon], min: DVec2, max: DVec2, spacing: f64) -> Raster {
    let n = ((max - min).max_element() / spacing).round() as usize + 1;
    let mut ground = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let p = min + DVec2::new(i as f64, j as f64) * spacing;
            ground.push(dem.sample(p.x, p.y).unwrap_or(0.0));
        }
    }
    let mut top = vec![f64::NEG_INFINITY; n * n];
    let mut owner = vec![NONE; n * n];
    for (f, rings) in polys {
        let Some(outer) = rings.first().filter(|r| r.len() >= 3) else { continue };
        // Newell normal: skip walls.
        let mut nrm = DVec3::ZERO;
        for (a, b) in outer.iter().zip(outer.iter().cycle().skip(1)) {
            nrm += DVec3::new((a.y - b.y) * (a.z + b.z), (a.z - b.z) * (a.x + b.x), (a.x - b.x) * (a.y + b.y));
        }
        if nrm.z.abs() < 1e-3 * nrm.length().max(1e-12) {
            continue;
        }
        let p0 = outer[0];
        let (lo, hi) =
            outer.iter().fold((DVec2::splat(f64::INFINITY), DVec2::splat(f64::NEG_INFINITY)), |(l, h), p| {
                (l.min(p.truncate()), h.max(p.truncate()))
            });
        let i0 = ((lo.x - min.x) / spacing).ceil().max(0.0) as usize;
        let j0 = ((lo.y - min.y) / spacing).ceil().max(0.0) as usize;
        let i1 = (((hi.x - min.x) / spacing).floor().min(n as f64 - 1.0)).max(-1.0);
        let j1 = (((hi.y - min.y) / spacing).floor().min(n as f64 - 1.0)).max(-1.0);
        if i1 < 0.0 || j1 < 0.0 {
            continue;
        }
        for j in j0..=j1 as usize {
            for i in i0..=i1 as usize {
                let p = min + DVec2::new(i as f64, j as f64) * spacing;
                if !rings.iter().fold(false, |inside, r| inside ^ in_ring(r, p)) {
                    continue;
                }
                let z = p0.z - (nrm.x * (p.x - p0.x) + nrm.y * (p.y - p0.y)) / nrm.z;
                let k = j * n + i;
                // Features at ground level (roads, water, parks) still own the
                // point when slightly under the DEM.
                if z > top[k] && z > ground[k] - 0.5 {
                    top[k] = z;
                    owner[k] = *f;
                }
            }
        }
    }
    let z = top.iter().zip(&ground).map(|(t, g)| t.max(*g)).collect();
    Raster { min, spacing, n, z, ground, owner }
}

/// Even-odd test of `p` against one ring (xy).
pub(crate) fn in_ring(ring: &[DVec3], p: DVec2) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Writes the dataset into `dir`: `metadata.xml`, `Data/…/*.osgb`,
/// `truth.json`. Returns the `.osgb` paths.
pub fn write_photo_mesh(dir: &Path, mesh: &PhotoMesh) -> Result<Vec<PathBuf>, SampleCityError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SampleCityError::Io { path: path.clone(), source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let o = mesh.origin;
    let meta = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n\t<SRS>EPSG:{}</SRS>\n\t\
         <SRSOrigin>{},{},{}</SRSOrigin>\n\t<Texture>\n\t\t<ColorSource>Visible</ColorSource>\n\t</Texture>\n\
         </ModelMetadata>\n",
        mesh.epsg, o.x, o.y, o.z
    );
    std::fs::write(dir.join("metadata.xml"), meta).map_err(io(&dir.join("metadata.xml")))?;
    let mut paths = Vec::new();
    let mut truth = serde_json::Map::new();
    let mut folders: HashMap<&str, PathBuf> = HashMap::new();
    for t in &mesh.tiles {
        let folder = folders.entry(&t.folder).or_insert_with(|| dir.join("Data").join(&t.folder));
        std::fs::create_dir_all(&*folder).map_err(io(folder))?;
        let rel = |p: &DVec3| (*p - o).as_vec3().to_array();
        let c = t.min + DVec2::splat(t.size / 2.0);
        let zs = t.positions.iter().map(|p| p.z);
        let (zlo, zhi) = zs.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), z| (l.min(z), h.max(z)));
        let center = DVec3::new(c.x, c.y, (zlo + zhi) / 2.0) - o;
        let radius = DVec3::new(t.size / 2.0, t.size / 2.0, (zhi - zlo) / 2.0).length();
        let tile = OsgbTile {
            mesh: OsgbMesh {
                name: t.name.clone(),
                positions: t.positions.iter().map(rel).collect(),
                tex_coords: t.tex_coords.clone(),
                triangles: t.triangles.clone(),
                image: Some((format!("{}.jpg", t.name), t.jpeg.clone())),
            },
            center,
            radius,
            pixel_threshold: mesh.pixel_threshold,
            children: t.children.clone(),
        };
        let path = folder.join(format!("{}.osgb", t.name));
        std::fs::write(&path, write_osgb(&tile)).map_err(io(&path))?;
        paths.push(path);
        if !t.truth.is_empty() {
            // Per building id, the indices of its triangles in this file.
            let mut by_id: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
            for (i, id) in t.truth.iter().enumerate() {
                if let Some(id) = id {
                    by_id.entry(id).or_default().push(i);
                }
            }
            truth.insert(t.name.clone(), json!(by_id));
        }
    }
    let text = serde_json::to_vec(&Value::Object(truth))
        .map_err(|e| SampleCityError::Io { path: "truth.json".into(), source: e.into() })?;
    std::fs::write(dir.join("truth.json"), text).map_err(io(&dir.join("truth.json")))?;
    Ok(paths)
}
