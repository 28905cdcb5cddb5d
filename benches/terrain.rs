//! Terrain and imagery tile throughput (no GPU):
//!
//! - `terrain/dem_tile`: a finest-level (16) terrain tile built from a large
//!   DEM — 4096 × 4096 cells of 5 m (20 km square, 64 MiB of heights) in
//!   UTM 50N, held in memory: 67² heights through PROJ and bilinear
//!   sampling, the 65² grid mesh with normals and skirts. Tiles cycle over
//!   the DEM so no cache helps.
//! - `terrain/quantized_mesh_tile`: the same tile encoded as quantized-mesh
//!   and decoded back (what `urbis terrain` writes, what `--terrain` reads).
//! - `imagery/drape_tile`: a 256² texture for a level-16 tile resampled
//!   from the sample city's orthophoto (GeoTIFF tiles read and decoded,
//!   PROJ lattice, bilinear samples) — imagery tiles decoded per second.
//!
//! `cargo bench -p urbis_tiles --bench terrain`

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use urbis_formats::ascii_grid::DemGrid;
use urbis_formats::quantized_mesh;
use urbis_geo::{CrsTransform, Epsg};
use urbis_tiles::terrain::{
    DemHeights, DrapeLayer, TerrainGenerator, TerrainSource, TileCoord, drape_tile, from_quantized, to_quantized,
};

const X0: f64 = 440_000.0;
const Y0: f64 = 4_416_000.0;

fn large_dem() -> DemGrid {
    let n = 4096;
    let heights: Vec<f32> = (0..n * n)
        .map(|k| {
            let (c, r) = ((k % n) as f32, (k / n) as f32);
            40.0 + 30.0 * (c / 300.0).sin() * (r / 410.0).cos() + 0.002 * c
        })
        .collect();
    DemGrid {
        ncols: n,
        nrows: n,
        x_min: X0,
        y_min: Y0,
        cell_size: 5.0,
        heights,
        nodata_value: None,
        crs: Some(Epsg(32650)),
    }
}

/// Level-16 tiles over the DEM's middle 8 km, in a spread-out order.
fn tiles_over(x0: f64, y0: f64) -> Vec<TileCoord> {
    let t = CrsTransform::new(Epsg(32650), Epsg::WGS84).expect("proj");
    let size = 180.0 / 65536.0;
    (0..64)
        .map(|k| {
            let (i, j) = ((k * 37) % 64, (k * 11) % 64);
            let g = t
                .transform(glam::DVec3::new(
                    x0 + 6000.0 + f64::from(i) * 120.0,
                    y0 + 6000.0 + f64::from(j) * 120.0,
                    0.0,
                ))
                .expect("lon/lat");
            TileCoord { z: 16, x: ((g.x + 180.0) / size) as u32, y: ((g.y + 90.0) / size) as u32 }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dem = DemHeights::new("bench dem", large_dem()).expect("dem");
    let generator = Arc::new(TerrainGenerator::new("bench", TerrainSource::Dems(vec![dem]), Vec::new()));
    let tiles = tiles_over(X0, Y0);
    let mut g = c.benchmark_group("terrain");
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("dem_tile", |b| {
        b.iter(|| {
            k = (k + 1) % tiles.len();
            generator.build_heights(tiles[k])
        })
    });
    let mesh = generator.build_heights(tiles[0]);
    g.bench_function("quantized_mesh_tile", |b| {
        b.iter(|| {
            let bytes = quantized_mesh::write(&to_quantized(&mesh, None));
            let back = quantized_mesh::parse(&bytes, "bench").expect("parse");
            from_quantized(&back, mesh.coord, 4.7)
        })
    });
    g.finish();

    let cfg = urbis_sample_city::SampleCityConfig::default();
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &cfg).expect("sample city");
    let tif = urbis_sample_city::ensure_ortho(&dir, &cfg).expect("orthophoto");
    let ortho = Arc::new(urbis_formats::imagery::geotiff::GeoTiffImagery::open(&tif).expect("open"));
    let layers = vec![DrapeLayer::new(ortho)];
    // Level-16 tiles over the sample city (its centre 115.9°E, 39.0°N).
    let size = 180.0 / 65536.0;
    let city: Vec<TileCoord> = (0..16)
        .map(|k| TileCoord {
            z: 16,
            x: ((115.9 + 180.0) / size) as u32 + (k % 4) - 2,
            y: ((39.0 + 90.0) / size) as u32 + (k / 4) - 2,
        })
        .collect();
    let flat = Arc::new(TerrainGenerator::new("flat", TerrainSource::Ellipsoid, Vec::new()));
    let meshes: Vec<_> = city.iter().map(|t| flat.build_heights(*t)).collect();
    let mut g = c.benchmark_group("imagery");
    g.throughput(Throughput::Elements(1));
    let mut k = 0;
    g.bench_function("drape_tile", |b| {
        b.iter(|| {
            k = (k + 1) % meshes.len();
            let mut m = meshes[k].clone();
            let failures = drape_tile(&mut m, &layers, 256, [96, 112, 128, 255]);
            assert!(failures.is_empty());
            m
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
