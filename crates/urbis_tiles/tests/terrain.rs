//! Terrain tiles against independent references: the sample city's DEM
//! (EPSG:4548, 5 m cells) and orthophoto, interpolated and placed on the
//! globe by code written here (bilinear between cell centres, WGS84
//! geodetic → ECEF in closed form, the geographic tiling scheme's
//! rectangles), the quantized-mesh-1.0 layout as published
//! (github.com/CesiumGS/quantized-mesh: an 88-byte little-endian header,
//! edge index lists, the metadata extension), Cesium's level-zero geometric
//! error and a real HTTP server on 127.0.0.1.
//!
//! - seams: neighbouring tiles share their edge vertices and normals; skirts hang below the edges;
//! - heights: a tile's vertices lie on the DEM;
//! - imagery: four children's textures stitched equal one render of their parent (exactly on
//!   unresampled imagery; within the GeoTIFF windows' resampling otherwise);
//! - the quantized-mesh writer: layer.json, the files, headers, heights, edges, metadata;
//! - the same tileset over HTTP equals it read from disk; a missing tile names its URL;
//! - the tree: the world at level 0, four children, Cesium's errors, selection near and far.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use glam::{DVec2, DVec3, Vec3};
use urbis_formats::ascii_grid::DemGrid;
use urbis_formats::imagery::ImagerySource;
use urbis_formats::imagery::geotiff::GeoTiffImagery;
use urbis_formats::quantized_mesh as qm;
use urbis_geo::{CrsTransform, Ellipsoid, Epsg};
use urbis_sample_city::SampleCityConfig;
use urbis_tiles::terrain::{
    DemHeights, DrapeLayer, QmTerrain, TERRAIN_SSE_FACTOR, TerrainGenerator, TerrainMesh, TerrainSource, TileCoord,
    drape_tile, from_quantized, level_for_resolution, write_quantized_mesh,
};
use urbis_tiles::{Fetcher, HttpOptions, View, select};

/// Cesium's level-zero geometric error of a heightmap on WGS84, metres
/// (CesiumJS `TerrainProvider.getEstimatedLevelZeroGeometricErrorForAHeightmap(ellipsoid, 65, 2)`).
const CESIUM_LEVEL_ZERO_ERROR: f64 = 77_067.34;
/// The DEM's CRS (CGCS2000 / 3-degree Gauss-Kruger CM 117E).
const DEM_EPSG: u32 = 4548;

// ---------------------------------------------------------------- references

/// WGS84 geodetic (degrees, metres) → ECEF, the closed form (not urbis_geo's).
fn ecef(lon: f64, lat: f64, h: f64) -> DVec3 {
    let a = 6_378_137.0;
    let f = 1.0 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let (sl, cl) = lat.to_radians().sin_cos();
    let (so, co) = lon.to_radians().sin_cos();
    let n = a / (1.0 - e2 * sl * sl).sqrt();
    DVec3::new((n + h) * cl * co, (n + h) * cl * so, (n * (1.0 - e2) + h) * sl)
}

/// The geodetic up (ellipsoid normal) and north at a longitude and latitude.
fn up_north(lon: f64, lat: f64) -> (DVec3, DVec3) {
    let (sl, cl) = lat.to_radians().sin_cos();
    let (so, co) = lon.to_radians().sin_cos();
    (DVec3::new(cl * co, cl * so, sl), DVec3::new(-sl * co, -sl * so, cl))
}

/// West, south, east, north (degrees) of a tile of the geographic tiling
/// scheme: 2 × 1 tiles at level 0, rows counted from the south.
fn rect_of(z: u32, x: u32, y: u32) -> [f64; 4] {
    let size = 180.0 / f64::from(1u32 << z);
    let (w, s) = (-180.0 + f64::from(x) * size, -90.0 + f64::from(y) * size);
    [w, s, w + size, s + size]
}

/// The tile of level `z` holding a longitude and latitude.
fn tile_at(z: u32, lon: f64, lat: f64) -> TileCoord {
    let size = 180.0 / f64::from(1u32 << z);
    TileCoord { z, x: ((lon + 180.0) / size).floor() as u32, y: ((lat + 90.0) / size).floor() as u32 }
}

fn overlaps(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The DEM, interpolated here: bilinear between cell centres, the outer
/// half cells clamped to the outer centres, nothing outside the grid.
struct DemRef {
    grid: DemGrid,
    to_grid: CrsTransform,
}

impl DemRef {
    fn new(grid: DemGrid) -> DemRef {
        let to_grid = CrsTransform::new(Epsg::WGS84, Epsg(DEM_EPSG)).expect("PROJ: EPSG:4326 → EPSG:4548");
        DemRef { grid, to_grid }
    }

    fn top(&self) -> f64 {
        self.grid.y_min + self.grid.nrows as f64 * self.grid.cell_size
    }

    fn right(&self) -> f64 {
        self.grid.x_min + self.grid.ncols as f64 * self.grid.cell_size
    }

    /// Grid coordinates of a longitude and latitude.
    fn project(&self, lon: f64, lat: f64) -> DVec2 {
        self.to_grid.transform(DVec3::new(lon, lat, 0.0)).expect("PROJ transform").truncate()
    }

    /// How far (metres) a grid point lies inside the grid's outline (negative outside).
    fn inside_by(&self, p: DVec2) -> f64 {
        (p.x - self.grid.x_min).min(self.right() - p.x).min(p.y - self.grid.y_min).min(self.top() - p.y)
    }

    fn cell(&self, col: usize, row: usize) -> f64 {
        let v = self.grid.heights[row * self.grid.ncols + col];
        assert!(v.is_finite() && self.grid.nodata_value != Some(f64::from(v)), "the sample DEM has no NODATA");
        f64::from(v)
    }

    /// Height at grid coordinates, `None` outside the grid.
    fn at(&self, p: DVec2) -> Option<f64> {
        if self.inside_by(p) < 0.0 {
            return None;
        }
        let g = &self.grid;
        // Cell (c, r)'s centre is (x_min + (c + ½)·cs, top − (r + ½)·cs).
        let fx = ((p.x - g.x_min) / g.cell_size - 0.5).clamp(0.0, (g.ncols - 1) as f64);
        let fy = ((self.top() - p.y) / g.cell_size - 0.5).clamp(0.0, (g.nrows - 1) as f64);
        let (c0, r0) = (fx.floor() as usize, fy.floor() as usize);
        let (c1, r1) = ((c0 + 1).min(g.ncols - 1), (r0 + 1).min(g.nrows - 1));
        let (tx, ty) = (fx - c0 as f64, fy - r0 as f64);
        let top = self.cell(c0, r0) * (1.0 - tx) + self.cell(c1, r0) * tx;
        let bottom = self.cell(c0, r1) * (1.0 - tx) + self.cell(c1, r1) * tx;
        Some(top * (1.0 - ty) + bottom * ty)
    }

    /// Height at a longitude and latitude.
    fn height(&self, lon: f64, lat: f64) -> Option<f64> {
        self.at(self.project(lon, lat))
    }

    /// The grid's outline in degrees (corners and points along the edges).
    fn outline_deg(&self) -> [f64; 4] {
        let back = CrsTransform::new(Epsg(DEM_EPSG), Epsg::WGS84).expect("PROJ: EPSG:4548 → EPSG:4326");
        let (w, s, e, n) = (self.grid.x_min, self.grid.y_min, self.right(), self.top());
        let mut r = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for i in 0..=32 {
            let t = f64::from(i) / 32.0;
            for (x, y) in [(w + (e - w) * t, s), (w + (e - w) * t, n), (w, s + (n - s) * t), (e, s + (n - s) * t)] {
                let q = back.transform(DVec3::new(x, y, 0.0)).expect("PROJ transform");
                r = [r[0].min(q.x), r[1].min(q.y), r[2].max(q.x), r[3].max(q.y)];
            }
        }
        r
    }

    /// Longitude and latitude of the grid's centre.
    fn centre_deg(&self) -> (f64, f64) {
        let back = CrsTransform::new(Epsg(DEM_EPSG), Epsg::WGS84).expect("PROJ: EPSG:4548 → EPSG:4326");
        let c = DVec3::new((self.grid.x_min + self.right()) / 2.0, (self.grid.y_min + self.top()) / 2.0, 0.0);
        let q = back.transform(c).expect("PROJ transform");
        (q.x, q.y)
    }
}

// ---------------------------------------------------------------- fixtures

/// The sample city's folder, generated once per process (tests run in parallel).
fn sample_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &SampleCityConfig::default())
            .expect("the sample city is generated")
    })
}

fn read_dem() -> DemGrid {
    let grid = urbis_formats::ascii_grid::read(&sample_dir().join(urbis_sample_city::DEM_FILE)).expect("sample DEM");
    assert_eq!(grid.crs, Some(Epsg(DEM_EPSG)), "the sample DEM's .prj names EPSG:4548");
    grid
}

fn dem_generator() -> Arc<TerrainGenerator> {
    let dem = DemHeights::new("sample DEM", read_dem()).expect("the DEM places on the globe");
    Arc::new(TerrainGenerator::new("sample terrain", TerrainSource::Dems(vec![dem]), Vec::new()))
}

/// The DEM's finest level and the tile there over the DEM's centre.
fn finest_tile(dem: &DemRef) -> TileCoord {
    let (lon, lat) = dem.centre_deg();
    let z = level_for_resolution(dem.grid.cell_size, lat);
    // Independently: the first level whose 64 cells per tile are no larger than a DEM cell.
    let metres = |z: u32| 180.0 / f64::from(1u32 << z) * 111_320.0 * lat.to_radians().cos() / 64.0;
    let want = (0..=22).find(|&z| metres(z) <= dem.grid.cell_size).expect("a level");
    assert_eq!(z, want, "level for {} m cells at {lat:.3}°", dem.grid.cell_size);
    tile_at(z, lon, lat)
}

fn world(m: &TerrainMesh, k: usize) -> DVec3 {
    DVec3::from_array(m.center) + Vec3::from_array(m.positions[k]).as_dvec3()
}

/// Non-skirt vertices matching `pred` on their uv, in vertex order.
fn edge(m: &TerrainMesh, pred: impl Fn([f32; 2]) -> bool) -> Vec<usize> {
    (0..m.first_skirt_vertex as usize).filter(|&k| pred(m.uvs[k])).collect()
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("urbis-terrain-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The sample DEM written as a quantized-mesh tileset, three levels short of its finest.
fn write_tileset(name: &str) -> (TempDir, u32, DemRef) {
    let dem = DemRef::new(read_dem());
    let finest = finest_tile(&dem).z;
    let dir = TempDir::new(name);
    let generator = dem_generator();
    let t0 = std::time::Instant::now();
    let written = write_quantized_mesh(&generator, &dir.0, Some(finest - 3), &|_, _| {}).expect("write the tileset");
    println!("wrote {written:?} in {:.2} s", t0.elapsed().as_secs_f64());
    assert_eq!(written.max_level, finest - 3);
    (dir, finest - 3, dem)
}

/// Every `z/x/y.terrain` file under `dir`.
fn terrain_files(dir: &Path) -> BTreeSet<TileCoord> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let rel = f.strip_prefix(dir).expect("under dir").to_string_lossy().replace('\\', "/");
        if rel == "layer.json" {
            continue;
        }
        let parts: Vec<&str> = rel.trim_end_matches(".terrain").split('/').collect();
        assert!(rel.ends_with(".terrain") && parts.len() == 3, "unexpected file {rel}");
        let n = |s: &str| s.parse::<u32>().unwrap_or_else(|_| panic!("{rel}: not z/x/y"));
        assert!(out.insert(TileCoord { z: n(parts[0]), x: n(parts[1]), y: n(parts[2]) }));
    }
    out
}

/// Tiles named by a list of `{startX, startY, endX, endY}` ranges at level `z`.
fn expand_ranges(z: u32, ranges: &serde_json::Value) -> BTreeSet<TileCoord> {
    let mut out = BTreeSet::new();
    for r in ranges.as_array().expect("a list of ranges") {
        let g = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("range field {k} in {r}")) as u32;
        let (x0, y0, x1, y1) = (g("startX"), g("startY"), g("endX"), g("endY"));
        assert!(x0 <= x1 && y0 <= y1, "range {r}");
        for y in y0..=y1 {
            for x in x0..=x1 {
                out.insert(TileCoord { z, x, y });
            }
        }
    }
    out
}

fn le_f64(b: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn le_f32(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

// ---------------------------------------------------------------- 1. seams

#[test]
fn neighbouring_tiles_share_their_edges_and_skirts_hang_below() {
    let dem = DemRef::new(read_dem());
    let generator = dem_generator();
    let c = finest_tile(&dem);
    let east = TileCoord { x: c.x + 1, ..c };
    let north = TileCoord { y: c.y + 1, ..c };
    let t0 = std::time::Instant::now();
    let (mc, me, mn) = (generator.build_heights(c), generator.build_heights(east), generator.build_heights(north));
    println!("tiles {c}, {east}, {north} built in {:.3} s", t0.elapsed().as_secs_f64());
    for m in [&mc, &me, &mn] {
        assert_eq!(m.source, "dem", "{} lies over the DEM", m.coord);
    }

    let pairs = [
        ("east-west", &mc, edge(&mc, |uv| uv[0] == 1.0), &me, edge(&me, |uv| uv[0] == 0.0)),
        // uv v runs from the north (0) to the south (1).
        ("north-south", &mn, edge(&mn, |uv| uv[1] == 1.0), &mc, edge(&mc, |uv| uv[1] == 0.0)),
    ];
    for (what, a, ea, b, eb) in pairs {
        assert!(ea.len() >= 2, "{what}: {} has {} vertices on the shared edge", a.coord, ea.len());
        assert_eq!(ea.len(), eb.len(), "{what}: edge vertex counts of {} and {}", a.coord, b.coord);
        // The shared edge's longitude (east-west) or latitude (north-south), from the tiling scheme.
        let shared = if what == "east-west" {
            rect_of(a.coord.z, a.coord.x, a.coord.y)[2]
        } else {
            rect_of(a.coord.z, a.coord.x, a.coord.y)[1]
        };
        let (mut worst_pos, mut worst_nrm) = (0.0f64, 0.0f64);
        for (&ka, &kb) in ea.iter().zip(&eb) {
            let (pa, pb) = (world(a, ka), world(b, kb));
            let d = (pa - pb).length();
            worst_pos = worst_pos.max(d);
            assert!(d < 1e-3, "{what}: vertex {ka} of {} and {kb} of {} are {d} m apart", a.coord, b.coord);
            let g = Ellipsoid::WGS84.ecef_to_geodetic(pa);
            let on_edge = if what == "east-west" { g.lon_deg } else { g.lat_deg };
            assert!((on_edge - shared).abs() < 1e-8, "{what}: vertex at {on_edge}°, the edge is at {shared}°");
            let (na, nb) = (Vec3::from_array(a.normals[ka]), Vec3::from_array(b.normals[kb]));
            let dn = f64::from((na - nb).length());
            worst_nrm = worst_nrm.max(dn);
            assert!(dn < 1e-3, "{what}: normals {na} and {nb} differ by {dn}");
        }
        // The edge runs from one corner to the other: its ends are a tile side apart.
        let span = (world(a, ea[0]) - world(a, *ea.last().expect("edge"))).length();
        assert!(span > 100.0, "{what}: the shared edge spans {span} m");
        println!(
            "{what}: {} shared vertices, {span:.1} m, worst gap {worst_pos:.2e} m, worst normal difference {worst_nrm:.2e}",
            ea.len()
        );
    }

    // Skirts: below an edge vertex with the same uv, a fixed depth deeper.
    let level_error = CESIUM_LEVEL_ZERO_ERROR / f64::from(1u32 << c.z);
    for m in [&mc, &me, &mn] {
        let first = m.first_skirt_vertex as usize;
        assert!(first < m.positions.len(), "{} has skirts", m.coord);
        let on_edge = edge(m, |uv| uv[0] == 0.0 || uv[0] == 1.0 || uv[1] == 0.0 || uv[1] == 1.0);
        let mut hung = HashSet::new();
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for k in first..m.positions.len() {
            let above = on_edge.iter().copied().find(|&e| m.uvs[e] == m.uvs[k]);
            let above = above
                .unwrap_or_else(|| panic!("{}: skirt vertex {k} (uv {:?}) is under no edge vertex", m.coord, m.uvs[k]));
            hung.insert(above);
            let (gs, ge) =
                (Ellipsoid::WGS84.ecef_to_geodetic(world(m, k)), Ellipsoid::WGS84.ecef_to_geodetic(world(m, above)));
            let drop = ge.height - gs.height;
            lo = lo.min(drop);
            hi = hi.max(drop);
            let sideways = (ecef(gs.lon_deg, gs.lat_deg, ge.height) - world(m, above)).length();
            assert!(sideways < 0.01 * drop, "{}: skirt vertex {k} is {sideways} m to the side of its edge", m.coord);
        }
        assert_eq!(hung.len(), on_edge.len(), "{}: every edge vertex has a skirt below it", m.coord);
        // Deep enough to hide the crack to a neighbour one level coarser (twice this level's error), at most 1 km.
        assert!(lo >= 2.0 * level_error && hi <= 1000.0 + 0.01, "{}: skirts {lo}…{hi} m deep", m.coord);
        assert!(hi - lo < 0.01, "{}: skirt depths {lo}…{hi} m", m.coord);
        println!("{}: {} skirt vertices {lo:.3} m below the edges", m.coord, m.positions.len() - first);
    }
}

// ---------------------------------------------------------------- 2. heights

#[test]
fn tile_heights_follow_the_dem() {
    let dem = DemRef::new(read_dem());
    let generator = dem_generator();
    let z = finest_tile(&dem).z;
    // Every tile of the finest level that lies wholly inside the DEM.
    let cov = dem.outline_deg();
    let (a, b) = (tile_at(z, cov[0], cov[1]), tile_at(z, cov[2], cov[3]));
    let inside = |c: &TileCoord| {
        let r = rect_of(c.z, c.x, c.y);
        [(r[0], r[1]), (r[2], r[1]), (r[0], r[3]), (r[2], r[3])]
            .iter()
            .all(|&(lon, lat)| dem.inside_by(dem.project(lon, lat)) > 10.0)
    };
    let tiles: Vec<TileCoord> =
        (a.y..=b.y).flat_map(|y| (a.x..=b.x).map(move |x| TileCoord { z, x, y })).filter(inside).collect();
    assert!(tiles.len() >= 4, "{} tiles inside the DEM", tiles.len());
    let t0 = std::time::Instant::now();
    let (mut worst, mut lo, mut hi, mut count) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY, 0usize);
    for &c in &tiles {
        let r = rect_of(c.z, c.x, c.y);
        let m = generator.build_heights(c);
        let n = m.first_skirt_vertex as usize;
        assert!(n > 100, "{c}: {n} vertices");
        for k in 0..n {
            let g = Ellipsoid::WGS84.ecef_to_geodetic(world(&m, k));
            let on_tile = g.lon_deg >= r[0] - 1e-9
                && g.lon_deg <= r[2] + 1e-9
                && g.lat_deg >= r[1] - 1e-9
                && g.lat_deg <= r[3] + 1e-9;
            assert!(on_tile, "{c}: vertex {k} at {}, {} lies off the tile {r:?}", g.lon_deg, g.lat_deg);
            let want = dem.height(g.lon_deg, g.lat_deg).expect("inside the DEM");
            let d = (g.height - want).abs();
            worst = worst.max(d);
            assert!(
                d < 0.01,
                "{c}: vertex {k} at {:.7}, {:.7}: {} m, the DEM gives {want} m",
                g.lon_deg,
                g.lat_deg,
                g.height
            );
            lo = lo.min(want);
            hi = hi.max(want);
            count += 1;
        }
    }
    // The test means something only where the ground is not flat.
    assert!(hi - lo > 2.0, "heights {lo}…{hi} m");
    println!(
        "{} tiles of level {z}, {count} vertices in {:.2} s: heights {lo:.2}…{hi:.2} m, worst difference from the DEM {worst:.2e} m",
        tiles.len(),
        t0.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- 3. imagery

/// Texels along a child tile's side.
const T: u32 = 64;
/// The colour where no imagery has data (never in the sample orthophoto).
const BASE: [u8; 4] = [255, 0, 255, 255];

/// The sample orthophoto, or `None` (printed) where it cannot be made.
fn orthophoto() -> Option<GeoTiffImagery> {
    let tif = match urbis_sample_city::ensure_ortho(sample_dir(), &SampleCityConfig::default()) {
        Ok(p) => p,
        Err(e) => {
            println!("skipped: no sample orthophoto ({e})");
            return None;
        }
    };
    let ortho = GeoTiffImagery::open(&tif).expect("open the sample orthophoto");
    println!(
        "orthophoto EPSG:{}, levels (width, pixel m) {:?}",
        ImagerySource::epsg(&ortho),
        ortho.levels().iter().map(|l| (l.width, l.dx)).collect::<Vec<_>>()
    );
    Some(ortho)
}

/// Differences between the stitched children and the parent, and between children along their shared edges.
#[derive(Debug)]
struct Stitch {
    shared_worst: u8,
    shared_mean: f64,
    worst: u8,
    mean: f64,
}

/// Drapes `layer` on the four children (T² texels) of the level-15 tile over
/// the DEM's centre and on that parent ((2T − 1)² texels); stitches the
/// children into one (2T − 1)² image (neighbours share their edge texels)
/// and compares it with the parent's texture.
fn stitch_children(layer: DrapeLayer) -> Stitch {
    let layers = [layer];
    let dem = DemRef::new(read_dem());
    let generator = dem_generator();
    let child_level = finest_tile(&dem).z;
    let (lon, lat) = dem.centre_deg();
    let p = tile_at(child_level - 1, lon, lat);
    // The parent lies inside the orthophoto (which covers the DEM).
    let pr = rect_of(p.z, p.x, p.y);
    for (lo, la) in [(pr[0], pr[1]), (pr[2], pr[1]), (pr[0], pr[3]), (pr[2], pr[3])] {
        assert!(dem.inside_by(dem.project(lo, la)) > 10.0, "tile {p} lies inside the orthophoto");
    }
    let drape = |c: TileCoord, side: u32| {
        let mut m = generator.build_heights(c);
        let failures = drape_tile(&mut m, &layers, side, BASE);
        assert!(failures.is_empty(), "{c}: {failures:?}");
        let t = m.texture.expect("a texture");
        assert_eq!((t.width, t.height), (side, side));
        // The orthophoto covers every texel: the base colour shows nowhere.
        assert!(t.rgba.chunks_exact(4).all(|c| c[..3] != BASE[..3]), "{c}: a texel shows the base colour");
        t.rgba
    };
    // Children by (column, row) in the parent, rows from the north (TMS rows count from the south).
    let quadrants = [(0u32, 0u32), (1, 0), (0, 1), (1, 1)];
    let child = |col: u32, row: u32| TileCoord { z: p.z + 1, x: p.x * 2 + col, y: p.y * 2 + 1 - row };
    let t0 = std::time::Instant::now();
    let kids: Vec<Vec<u8>> = quadrants.iter().map(|&(col, row)| drape(child(col, row), T)).collect();
    let big = 2 * T - 1;
    let parent = drape(p, big);
    println!("children of {p} at {T}² and {p} at {big}² draped in {:.3} s", t0.elapsed().as_secs_f64());
    let px = |img: &[u8], side: u32, i: u32, j: u32| -> [u8; 4] {
        let o = ((j * side + i) * 4) as usize;
        img[o..o + 4].try_into().expect("4 bytes")
    };
    let diff = |a: [u8; 4], b: [u8; 4]| (0..3).map(|ch| a[ch].abs_diff(b[ch])).collect::<Vec<u8>>();

    // Neighbours' shared edge texels: the west child's last column is the east child's first, and so on.
    let (mut shared_worst, mut shared_sum, mut shared_n) = (0u8, 0u64, 0u64);
    for k in 0..T {
        for (a, ai, aj, b, bi, bj) in [
            (0, T - 1, k, 1, 0, k), // north-west | north-east
            (2, T - 1, k, 3, 0, k), // south-west | south-east
            (0, k, T - 1, 2, k, 0), // north-west over south-west
            (1, k, T - 1, 3, k, 0), // north-east over south-east
        ] {
            for d in diff(px(&kids[a], T, ai, aj), px(&kids[b], T, bi, bj)) {
                shared_worst = shared_worst.max(d);
                shared_sum += u64::from(d);
                shared_n += 1;
            }
        }
    }

    // Stitch: child (col, row) texel (i, j) is texel (col·(T−1) + i, row·(T−1) + j) of the big image.
    let mut stitched = vec![0u8; (big * big * 4) as usize];
    for (n, &(col, row)) in quadrants.iter().enumerate() {
        for j in 0..T {
            for i in 0..T {
                let o = (((row * (T - 1) + j) * big + col * (T - 1) + i) * 4) as usize;
                stitched[o..o + 4].copy_from_slice(&px(&kids[n], T, i, j));
            }
        }
    }
    let (mut worst, mut sum, mut count) = (0u8, 0u64, 0u64);
    for (a, b) in stitched.chunks_exact(4).zip(parent.chunks_exact(4)) {
        for ch in 0..3 {
            let d = a[ch].abs_diff(b[ch]);
            worst = worst.max(d);
            sum += u64::from(d);
            count += 1;
        }
    }
    assert_eq!(count, u64::from(big * big) * 3);
    // The comparison means something only where the image is not flat.
    let spread = |img: &[u8]| {
        let g: Vec<u8> = img.chunks_exact(4).map(|c| c[1]).collect();
        g.iter().max().copied().unwrap_or(0) - g.iter().min().copied().unwrap_or(0)
    };
    assert!(spread(&parent) > 64, "the parent's texture is nearly flat");
    let s = Stitch {
        shared_worst,
        shared_mean: shared_sum as f64 / shared_n as f64,
        worst,
        mean: sum as f64 / count as f64,
    };
    println!("{s:?}");
    s
}

#[test]
fn draped_children_stitch_into_their_parent_exactly_on_unresampled_imagery() {
    let Some(ortho) = orthophoto() else { return };
    // The orthophoto's 4 m overview as one in-memory raster: its windows are
    // crops of the same pixels for every tile (no resampling), so children
    // and parent sample one image at the same longitudes and latitudes, and
    // any difference is the drape's lattice.
    let mut failures = Vec::new();
    let raster = ortho.window(ImagerySource::extent(&ortho), 550, &mut failures).expect("the 4 m overview");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((raster.width, raster.height, raster.dx), (550, 550, 4.0), "the whole 4 m overview");
    let s = stitch_children(DrapeLayer::new(Arc::new(raster)));
    // Texels on a shared edge are the same points in both tiles: the same
    // colour, but for the last bit of the lattice's interpolated
    // coordinates (one level at most after rounding).
    assert!(s.shared_worst <= 1, "shared edge texels differ by up to {}", s.shared_worst);
    // Each child texel is a parent texel's point; the lattice is bilinear
    // between PROJ nodes 63/16 (child) or 126/16 (parent) texels apart,
    // millimetres off over a few hundred metres: a level at most.
    assert!(s.worst <= 2, "worst channel difference {}", s.worst);
    assert!(s.mean < 0.05, "mean channel difference {}", s.mean);
}

#[test]
fn draped_geotiff_shows_no_seams_at_tile_borders() {
    let Some(ortho) = orthophoto() else { return };
    let s = stitch_children(DrapeLayer::new(Arc::new(ortho)));
    // Each tile reads its own window of the GeoTIFF, on the chosen level's
    // own pixel grid (`window_on_grid`): children and parent, all on the 4 m
    // overview, sample the same pixels at the same points. (Boxed down to
    // `side + 2` pixels from each window's corner instead, shared edge texels
    // differed by up to 35 levels, 5.5 on average.)
    assert_eq!(s.shared_worst, 0, "neighbouring children's shared edge texels differ");
    assert!(s.shared_mean == 0.0, "shared edge texels differ by {} on average", s.shared_mean);
    assert!(s.worst <= 2, "worst channel difference {} between the stitched children and the parent", s.worst);
    assert!(s.mean < 0.05, "mean channel difference {} between the stitched children and the parent", s.mean);
}

// ---------------------------------------------------------------- 4. quantized-mesh writer

#[test]
fn quantized_mesh_tileset_follows_the_published_layout() {
    let (dir, max_level, dem) = write_tileset("layout");
    let dir = &dir.0;

    // layer.json
    let text = std::fs::read_to_string(dir.join("layer.json")).expect("layer.json");
    let layer: serde_json::Value = serde_json::from_str(&text).expect("layer.json is JSON");
    assert!(layer["tilejson"].as_str().is_some_and(|s| s.starts_with("2.")), "tilejson {}", layer["tilejson"]);
    assert_eq!(layer["format"], "quantized-mesh-1.0");
    assert_eq!(layer["scheme"], "tms");
    let templates = layer["tiles"].as_array().expect("tiles: a list");
    assert!(!templates.is_empty(), "a tile template");
    let template = templates[0].as_str().expect("a template string");
    for k in ["{z}", "{x}", "{y}"] {
        assert!(template.contains(k), "{template} lacks {k}");
    }
    let available = layer["available"].as_array().expect("available: a list per level");
    assert_eq!(available.len() as u32, max_level + 1, "one availability list per level");
    let mut listed = BTreeSet::new();
    for (z, ranges) in available.iter().enumerate() {
        let tiles = expand_ranges(z as u32, ranges);
        assert!(!tiles.is_empty(), "level {z} lists tiles");
        listed.extend(tiles);
    }

    // Every listed tile's file exists and no other: the files are exactly what layer.json lists.
    let files = terrain_files(dir);
    assert_eq!(files, listed, "the .terrain files and layer.json's availability");
    // What should be there: both level-0 tiles and every tile overlapping the DEM below.
    let cov = dem.outline_deg();
    let mut want = BTreeSet::from([TileCoord { z: 0, x: 0, y: 0 }, TileCoord { z: 0, x: 1, y: 0 }]);
    for z in 1..=max_level {
        let (lo, hi) = (tile_at(z, cov[0], cov[1]), tile_at(z, cov[2], cov[3]));
        for y in lo.y..=hi.y {
            for x in lo.x..=hi.x {
                if overlaps(rect_of(z, x, y), cov) {
                    want.insert(TileCoord { z, x, y });
                }
            }
        }
    }
    assert_eq!(files, want, "the tiles over the DEM");
    // The template resolves to those files.
    for c in &files {
        let rel =
            template.replace("{z}", &c.z.to_string()).replace("{x}", &c.x.to_string()).replace("{y}", &c.y.to_string());
        let rel = rel.split('?').next().expect("a path");
        assert!(dir.join(rel).is_file(), "{rel}");
    }

    let (mut checked_heights, mut worst_sphere, mut worst_height) =
        (0usize, (f64::NEG_INFINITY, 0.0, TileCoord { z: 0, x: 0, y: 0 }), 0.0f64);
    for c in &files {
        let path = dir.join(format!("{}/{}/{}.terrain", c.z, c.x, c.y));
        let bytes = std::fs::read(&path).expect("tile");
        assert!(!qm::is_gzip(&bytes), "{c}: written uncompressed");
        let m = qm::parse(&bytes, &path.display().to_string()).unwrap_or_else(|e| panic!("{c}: {e}"));
        let n = m.vertex_count();
        assert!(n >= 4 && !m.indices.is_empty(), "{c}: {n} vertices");

        // The 88-byte header, read here at the spec's offsets.
        assert!(bytes.len() > 88);
        let center = DVec3::new(le_f64(&bytes, 0), le_f64(&bytes, 8), le_f64(&bytes, 16));
        let (min_h, max_h) = (f64::from(le_f32(&bytes, 24)), f64::from(le_f32(&bytes, 28)));
        let sphere = DVec3::new(le_f64(&bytes, 32), le_f64(&bytes, 40), le_f64(&bytes, 48));
        let radius = le_f64(&bytes, 56);
        let horizon = DVec3::new(le_f64(&bytes, 64), le_f64(&bytes, 72), le_f64(&bytes, 80));
        assert!(min_h <= max_h, "{c}: heights {min_h}…{max_h}");
        assert!(
            radius > 0.0 && horizon.is_finite() && horizon.length() >= 1.0,
            "{c}: radius {radius}, horizon point {horizon}"
        );
        // The centre: the rectangle's centre, somewhere between the tile's lowest and highest heights.
        let r = rect_of(c.z, c.x, c.y);
        let (mid_lon, mid_lat) = ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
        let (a, b) = (ecef(mid_lon, mid_lat, min_h), ecef(mid_lon, mid_lat, max_h));
        let t = if (b - a).length() > 0.0 {
            ((center - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let off = (center - (a + (b - a) * t)).length();
        assert!(off < 1.0, "{c}: the header's centre is {off} m from the rectangle's centre at {min_h}…{max_h} m");

        // Decoded vertices (the published decoding: u, v over the rectangle, heights between min and max).
        let q = f64::from(qm::MAX_QUANTIZED);
        let step = (max_h - min_h) / q;
        let lonlat =
            |i: usize| (r[0] + (r[2] - r[0]) * f64::from(m.u[i]) / q, r[1] + (r[3] - r[1]) * f64::from(m.v[i]) / q);
        // Half a quantum along u, v and height: how far a decoded vertex may lie from the one written.
        let metres_per_deg = std::f64::consts::PI / 180.0 * 6_378_137.0;
        let slack = 0.5 * ((r[2] - r[0]) / q * metres_per_deg).hypot((r[3] - r[1]) / q * metres_per_deg).hypot(step);
        for i in 0..n {
            let (lon, lat) = lonlat(i);
            let h = min_h + (max_h - min_h) * f64::from(m.height[i]) / q;
            let excess = (ecef(lon, lat, h) - sphere).length() - radius;
            if excess > worst_sphere.0 {
                worst_sphere = (excess, slack, *c);
            }
            assert!(
                excess <= slack + 1e-3,
                "{c}: vertex {i} lies {excess} m outside the bounding sphere (slack {slack} m)"
            );
        }

        // Edge lists: exactly the vertices on each edge.
        let on = |pred: &dyn Fn(usize) -> bool| (0..n as u32).filter(|&i| pred(i as usize)).collect::<BTreeSet<u32>>();
        for (name, list, want) in [
            ("west", &m.west, on(&|i| m.u[i] == 0)),
            ("east", &m.east, on(&|i| m.u[i] == qm::MAX_QUANTIZED)),
            ("south", &m.south, on(&|i| m.v[i] == 0)),
            ("north", &m.north, on(&|i| m.v[i] == qm::MAX_QUANTIZED)),
        ] {
            assert!(want.len() >= 2, "{c}: {} vertices on the {name} edge", want.len());
            let got: BTreeSet<u32> = list.iter().copied().collect();
            assert_eq!(got.len(), list.len(), "{c}: the {name} list repeats a vertex");
            assert_eq!(got, want, "{c}: the {name} edge list");
        }

        // The metadata extension lists exactly the children written.
        let meta = m.metadata.as_ref().unwrap_or_else(|| panic!("{c}: no metadata extension"));
        let levels = meta["available"].as_array().unwrap_or_else(|| panic!("{c}: metadata {meta}"));
        let kids = levels.first().map(|l| expand_ranges(c.z + 1, l)).unwrap_or_default();
        let written: BTreeSet<TileCoord> = (0..4)
            .map(|k| TileCoord { z: c.z + 1, x: c.x * 2 + (k & 1), y: c.y * 2 + (k >> 1) })
            .filter(|k| files.contains(k))
            .collect();
        assert_eq!(kids, written, "{c}: children in the metadata");
        // Tiles over the DEM have children down to the last level; the other level-0 tile has none.
        let over_dem = overlaps(rect_of(c.z, c.x, c.y), cov);
        assert_eq!(written.is_empty(), c.z == max_level || !over_dem, "{c}: children written");

        // Heights over the DEM (the deepest level's tiles): the DEM here, or the ellipsoid outside it.
        if c.z == max_level {
            for i in 0..n {
                let (lon, lat) = lonlat(i);
                let p = dem.project(lon, lat);
                let inside = dem.inside_by(p);
                if inside.abs() < 1.0 {
                    continue;
                }
                let got = min_h + (max_h - min_h) * f64::from(m.height[i]) / q;
                let (want, wiggle) = if inside > 0.0 {
                    let want = dem.at(p).expect("inside");
                    // u and v are quantized too: the DEM's change over half a quantum.
                    let (du, dv) = (0.5 * (r[2] - r[0]) / q, 0.5 * (r[3] - r[1]) / q);
                    let wiggle = [(du, dv), (du, -dv), (-du, dv), (-du, -dv)]
                        .iter()
                        .filter_map(|(a, b)| dem.height(lon + a, lat + b))
                        .map(|h| (h - want).abs())
                        .fold(0.0, f64::max);
                    (want, wiggle)
                } else {
                    (0.0, 0.0)
                };
                let d = (got - want).abs();
                worst_height = worst_height.max(d);
                assert!(
                    d <= step + 0.01 + wiggle,
                    "{c}: vertex {i}: {got} m, the DEM gives {want} m (step {step}, wiggle {wiggle})"
                );
                checked_heights += usize::from(inside > 0.0);
            }
        }
    }
    assert!(checked_heights > 100, "{checked_heights} vertices checked against the DEM");
    println!(
        "{} tiles; {checked_heights} vertices on the DEM, worst height difference {worst_height:.3} m; worst vertex distance outside its bounding sphere {:.3} m (tile {}, slack {:.3} m)",
        files.len(),
        worst_sphere.0,
        worst_sphere.2,
        worst_sphere.1
    );
}

// ---------------------------------------------------------------- 5. over HTTP

/// Serves the files under a folder, the query ignored; 404 for what is not there.
struct Server {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    /// Each request's path and `Accept` header.
    accepts: Arc<Mutex<Vec<(String, String)>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(root: PathBuf) -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let (s, l, a) = (server.clone(), log.clone(), accepts.clone());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let path = req.url().split('?').next().unwrap_or_default().trim_start_matches('/').to_string();
                let accept = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Accept"))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default();
                l.lock().expect("log").push(path.clone());
                a.lock().expect("accept log").push((path.clone(), accept));
                let file = (!path.contains("..")).then(|| std::fs::read(root.join(&path)).ok()).flatten();
                let _ = match file {
                    Some(bytes) => req.respond(tiny_http::Response::from_data(bytes)),
                    None => req.respond(tiny_http::Response::from_string("no such file").with_status_code(404)),
                };
            }
        });
        Server { base: format!("http://127.0.0.1:{port}"), log, accepts, server, thread: Some(thread) }
    }

    fn requests(&self, path: &str) -> usize {
        self.log.lock().expect("log").iter().filter(|p| *p == path).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn quantized_mesh_over_http_equals_the_files() {
    let (dir, max_level, dem) = write_tileset("http");
    let server = Server::start(dir.0.clone());
    let fetcher = Arc::new(Fetcher::new(
        HttpOptions {
            attempts: 2,
            backoff: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            ..Default::default()
        },
        None,
    ));
    let t0 = std::time::Instant::now();
    let terrain = QmTerrain::open(&format!("{}/", server.base), fetcher).expect("open over HTTP");
    assert_eq!(server.requests("layer.json"), 1);
    let (lon, lat) = dem.centre_deg();
    let coords = [tile_at(0, lon, lat), tile_at(max_level / 2, lon, lat), tile_at(max_level, lon, lat)];
    for c in coords {
        let rel = format!("{}/{}/{}.terrain", c.z, c.x, c.y);
        let skirt = 25.0;
        let got = terrain.tile(c, skirt, None).unwrap_or_else(|e| panic!("{c} over HTTP: {e}"));
        let file = qm::read(&dir.0.join(&rel)).expect("the file");
        let want = from_quantized(&file, c, skirt);
        assert!(want.first_skirt_vertex > 3, "{c}: {} vertices", want.first_skirt_vertex);
        assert_eq!(got, want, "{c}: over HTTP and from the file");
        assert_eq!(server.requests(&rel), 1, "{rel} fetched once");
    }
    // A tile that is not there: an error naming its URL, after one request (404 is not retried).
    let missing = TileCoord { z: 3, x: 0, y: 0 };
    assert!(!dir.0.join("3/0/0.terrain").exists());
    let err = terrain.tile(missing, 10.0, None).expect_err("no such tile").to_string();
    let url = format!("{}/3/0/0.terrain", server.base);
    assert!(err.contains(&url), "{err} names {url}");
    assert_eq!(server.requests("3/0/0.terrain"), 1, "a 404 is asked once");
    // Tiles are asked for with the extensions (Cesium's Accept header).
    let accepts = server.accepts.lock().expect("accept log").clone();
    let tiles: Vec<&(String, String)> = accepts.iter().filter(|(p, _)| p.ends_with(".terrain")).collect();
    assert!(!tiles.is_empty());
    for (p, accept) in tiles {
        assert_eq!(accept, qm::ACCEPT, "{p}");
    }
    let elapsed = t0.elapsed();
    println!("over HTTP in {:.3} s; missing tile: {err}", elapsed.as_secs_f64());
    assert!(elapsed < Duration::from_secs(30));
}

// ---------------------------------------------------------------- 6. the tree

#[test]
fn the_tree_covers_the_world_and_refines_to_the_dem() {
    let dem = DemRef::new(read_dem());
    let finest = finest_tile(&dem);
    let generator = dem_generator();
    let t0 = std::time::Instant::now();
    let tree = generator.tree();
    println!("tree of {} tiles in {:.3} s", tree.len(), t0.elapsed().as_secs_f64());
    assert!(tree.errors.is_empty(), "{:?}", tree.errors);
    let coord = |id: urbis_tiles::TileId| {
        let i = tree.get(id).implicit.unwrap_or_else(|| panic!("tile {id:?} has no coordinate"));
        TileCoord { z: i.level, x: i.x as u32, y: i.y as u32 }
    };

    // Level 0: two tiles whose boxes hold the whole ellipsoid surface.
    let roots = &tree.get(tree.root()).children;
    let zero: BTreeSet<TileCoord> = roots.iter().map(|&id| coord(id)).collect();
    assert_eq!(zero, BTreeSet::from([TileCoord { z: 0, x: 0, y: 0 }, TileCoord { z: 0, x: 1, y: 0 }]));
    let mut points = 0;
    for lat in (-90..=90).step_by(10) {
        for lon in (-180..180).step_by(10) {
            let p = ecef(f64::from(lon), f64::from(lat), 0.0);
            assert!(roots.iter().any(|&id| tree.get(id).volume.contains(p)), "{lon}°, {lat}° lies in no level-0 tile");
            points += 1;
        }
    }
    assert!(points > 600);

    // Terrain errors are scaled by Cesium's 3D Tiles threshold over its globe's
    // (Cesium3DTileset.maximumScreenSpaceError 16 px, Globe.maximumScreenSpaceError 2 px).
    assert_eq!(TERRAIN_SSE_FACTOR, 16.0 / 2.0);

    // Refinement: four children, the quadrants one level down; Cesium's error halved per level.
    let mut refined_levels = BTreeSet::new();
    let mut deepest_at_centre = 0;
    let (lon, lat) = dem.centre_deg();
    let mut stack: Vec<urbis_tiles::TileId> = roots.clone();
    while let Some(id) = stack.pop() {
        let node = tree.get(id);
        let c = coord(id);
        let r = rect_of(c.z, c.x, c.y);
        if r[0] <= lon && lon < r[2] && r[1] <= lat && lat < r[3] {
            deepest_at_centre = deepest_at_centre.max(c.z);
        }
        if node.children.is_empty() {
            assert_eq!(node.geometric_error, 0.0, "leaf {c}");
            continue;
        }
        assert_eq!(node.children.len(), 4, "{c} has {} children", node.children.len());
        let kids: BTreeSet<TileCoord> = node.children.iter().map(|&k| coord(k)).collect();
        let want: BTreeSet<TileCoord> =
            (0..4).map(|k| TileCoord { z: c.z + 1, x: 2 * c.x + k % 2, y: 2 * c.y + k / 2 }).collect();
        assert_eq!(kids, want, "children of {c}");
        // Cesium's heightmap error, halved per level, times the factor that makes the
        // stream's 16 px threshold Cesium's 2 px for terrain.
        let error = node.geometric_error / TERRAIN_SSE_FACTOR;
        let want_error = CESIUM_LEVEL_ZERO_ERROR / f64::from(1u32 << c.z);
        assert!(
            (error - want_error).abs() <= 0.01 / f64::from(1u32 << c.z) + 1e-9,
            "{c}: error {error} m (× {TERRAIN_SSE_FACTOR}), Cesium's {want_error} m"
        );
        refined_levels.insert(c.z);
        stack.extend(node.children.iter().copied());
    }
    assert_eq!(refined_levels, (0..finest.z).collect::<BTreeSet<u32>>(), "levels with refined tiles");
    assert_eq!(deepest_at_centre, finest.z, "the tree reaches the DEM's finest level at its centre");

    // Selection, looking straight down at the DEM's centre.
    let ground = dem.height(lon, lat).expect("the DEM's centre");
    let (up, north) = up_north(lon, lat);
    let view = |altitude: f64, max_sse: f64| View {
        position: ecef(lon, lat, ground + altitude),
        direction: -up,
        up: north,
        fov_y: 60f64.to_radians(),
        aspect: 16.0 / 9.0,
        viewport_height: 1080.0,
        max_sse,
        cull: true,
    };
    let chosen = |altitude: f64, max_sse: f64| -> Vec<TileCoord> {
        select(&tree, &view(altitude, max_sse), &HashSet::new()).tiles.iter().map(|&id| coord(id)).collect()
    };
    // 300 m up at the stream's 16 px (Cesium's 2 px with the errors × 8): the finest
    // level's parent (2.35 m × 8) projects to ~60 px from there.
    let near = chosen(300.0, 16.0);
    assert!(!near.is_empty(), "300 m up: nothing selected");
    let under: Vec<&TileCoord> = near
        .iter()
        .filter(|c| {
            let r = rect_of(c.z, c.x, c.y);
            r[0] <= lon && lon < r[2] && r[1] <= lat && lat < r[3]
        })
        .collect();
    assert_eq!(under.len(), 1, "300 m up: tiles under the camera {under:?}");
    assert_eq!(under[0].z, finest.z, "300 m up: the tile under the camera");
    // REPLACE refinement: the selected tiles do not overlap.
    for (i, a) in near.iter().enumerate() {
        for b in &near[i + 1..] {
            assert!(!overlaps(rect_of(a.z, a.x, a.y), rect_of(b.z, b.x, b.y)), "{a} and {b} overlap");
        }
    }
    // 20,000 km away: level 0 (77 km × 8) projects to ~32 px and is refined; level 1
    // (38.5 km × 8) to 16 px at 18,000 km, so the 90° tile below stays (its box is
    // 19,000 km away). Level 2 shows beside it: 1/2/1's box comes within 17,900 km
    // although its surface is 20,500 km away (Cesium takes the larger of the box's and
    // the region's distances and would keep level 1 there), so level 2 is allowed.
    let far = chosen(2.0e7, 16.0);
    assert!(!far.is_empty() && far.len() <= 16, "20,000 km away: {far:?}");
    assert!(far.iter().all(|c| c.z <= 2), "20,000 km away: {far:?}");
    let below = far.iter().filter(|c| {
        let r = rect_of(c.z, c.x, c.y);
        r[0] <= lon && lon < r[2] && r[1] <= lat && lat < r[3]
    });
    assert_eq!(below.map(|c| c.z).collect::<Vec<u32>>(), vec![1], "20,000 km away: the tile below the camera");
    let levels = |v: &[TileCoord]| v.iter().map(|c| c.z).collect::<BTreeSet<u32>>();
    println!(
        "300 m up: {} tiles, levels {:?}; 20,000 km away: {} tiles, {far:?}",
        near.len(),
        levels(&near),
        far.len(),
    );
}

// ---------------------------------------------------------------- 7. bad input

/// A corrupt quantized-mesh tile fails with its file and byte offset named;
/// the stream marks it failed, keeps its parent standing in, and loads the rest.
#[test]
fn a_corrupt_terrain_tile_is_named_and_the_terrain_goes_on() {
    let (dir, max_level, dem) = write_tileset("corrupt");
    let files = terrain_files(&dir.0);
    let bad = *files.iter().rev().find(|c| c.z == max_level).expect("a finest tile");
    let bad_path = dir.0.join(format!("{}/{}/{}.terrain", bad.z, bad.x, bad.y));
    let bytes = std::fs::read(&bad_path).expect("read");
    std::fs::write(&bad_path, &bytes[..100]).expect("truncate");
    let q = QmTerrain::open(&dir.0.display().to_string(), urbis_tiles::fetch::default_fetcher()).expect("open");
    let generator = Arc::new(TerrainGenerator::new("qm", TerrainSource::QuantizedMesh(Box::new(q)), Vec::new()));
    let err = urbis_tiles::terrain::GenerateContent::generate(&*generator, bad, None).expect_err("a truncated tile");
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}/{}/{}.terrain", bad.z, bad.x, bad.y)), "{msg}");
    assert!(msg.contains("byte"), "the offset is named: {msg}");
    let good = *files.iter().find(|c| c.z == max_level && **c != bad).expect("another finest tile");
    assert!(urbis_tiles::terrain::GenerateContent::generate(&*generator, good, None).is_ok());

    // Streamed from right above the bad tile: it fails once, the rest load.
    let tree = Arc::new(generator.tree());
    let r = geographic(bad);
    let (lon, lat) = ((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
    let (up, north) = up_north(lon, lat);
    let view = View {
        position: ecef(lon, lat, 3000.0),
        direction: -up,
        up: north,
        fov_y: 1.0,
        aspect: 1.0,
        viewport_height: 512.0,
        max_sse: 16.0,
        cull: true,
    };
    let mut stream = urbis_tiles::TileStream::new(tree, urbis_tiles::StreamOptions::default());
    let start = std::time::Instant::now();
    let mut attached = 0;
    loop {
        stream.begin_frame(&[view]);
        while let Some(d) = stream.next_decoded() {
            let bytes = stream.expected_bytes(&d);
            stream.make_room(bytes);
            if stream.attached(&d, bytes) {
                attached += 1;
            }
        }
        if stream.status().complete {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "not complete: {:?}", stream.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    let failures = stream.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].error.contains(&format!("{}/{}/{}.terrain", bad.z, bad.x, bad.y)), "{:?}", failures[0]);
    assert!(attached >= 3, "the other tiles load: {attached}");
    // Its parent stands in for it (REPLACE refinement leaves no hole).
    let shown: Vec<(u32, u64, u64)> = stream
        .render_set()
        .iter()
        .filter_map(|t| stream.tree().get(*t).implicit.map(|c| (c.level, c.x, c.y)))
        .collect();
    let parent = (bad.z - 1, u64::from(bad.x / 2), u64::from(bad.y / 2));
    assert!(shown.contains(&parent), "the parent {parent:?} is drawn: {shown:?}");
    let _ = dem;
}

fn geographic(c: TileCoord) -> [f64; 4] {
    rect_of(c.z, c.x, c.y)
}

// ---------------------------------------------------------------- 8. a planet-wide terrain

/// Terrain with data everywhere down to level 18 (like a planet-wide
/// quantized-mesh server) is built lazily: the tree starts breadth first up
/// to `EAGER_TILES`, and the tiles a camera needs below that are made as
/// selection reaches them, down to what the camera asks for.
#[test]
fn a_planet_wide_terrain_is_made_as_the_camera_needs_it() {
    let layout = urbis_tiles::terrain::TerrainLayout {
        coverage: Some([-180.0, -90.0, 180.0, 90.0]),
        max_level: 18,
        globe_level: 5,
        heights: Arc::new(|_| Some([0.0, 0.0])),
        available: None,
    };
    let generator = Arc::new(TerrainGenerator::new("planet", TerrainSource::Ellipsoid, Vec::new()));
    let tree = urbis_tiles::TileTree::terrain("planet", &layout, generator);
    let eager = tree.len();
    assert!(eager <= urbis_tiles::terrain::EAGER_TILES, "{eager} tiles built at first");
    let pending = tree.nodes.iter().filter(|n| n.pending.is_some()).count();
    assert!(pending > 1000, "{pending} tiles wait for their children");
    assert!(tree.errors.is_empty(), "{:?}", tree.errors);
    let (lon, lat) = (115.9, 39.0);
    let (up, north) = up_north(lon, lat);
    let view = View {
        position: ecef(lon, lat, 300.0),
        direction: -up,
        up: north,
        fov_y: 1.0,
        aspect: 1.0,
        viewport_height: 512.0,
        max_sse: 16.0,
        cull: true,
    };
    let mut stream = urbis_tiles::TileStream::new(Arc::new(tree), urbis_tiles::StreamOptions::default());
    let start = std::time::Instant::now();
    loop {
        stream.begin_frame(&[view]);
        while let Some(d) = stream.next_decoded() {
            let bytes = stream.expected_bytes(&d);
            stream.make_room(bytes);
            stream.attached(&d, bytes);
        }
        if stream.status().complete {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not complete: {:?}", stream.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    let tree = stream.tree();
    assert!(tree.len() > eager, "tiles were made as the camera reached them ({} → {})", eager, tree.len());
    let below = tile_at(16, lon, lat);
    let shown: Vec<(u32, u64, u64)> =
        stream.render_set().iter().filter_map(|t| tree.get(*t).implicit.map(|c| (c.level, c.x, c.y))).collect();
    // 300 m up, SSE 16 px at 512 px: level 16 (9.4 m error × 512 / (2 · 300 · tan 0.5) = 14.7 px) is
    // fine enough, level 15 (29 px) is not — the tile below is level 16, made lazily.
    assert!(shown.contains(&(16, u64::from(below.x), u64::from(below.y))), "{shown:?}");
    assert!(shown.iter().all(|(z, _, _)| *z <= 16), "nothing finer than asked: {shown:?}");
    assert!(tree.errors.is_empty(), "{:?}", tree.errors);
}
