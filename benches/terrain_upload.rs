//! A terrain tile with its draped imagery uploaded to the GPU: one
//! level-16 tile of the sample city's streamed DEM with its 256² texture
//! from the orthophoto (made once, outside the measurement), spawned as a
//! feature, then extracted and uploaded by `Engine::update` (mesh, texture
//! with mips, style), and removed again (a second update) — what attaching
//! a streamed imagery tile costs the frame thread. Needs an adapter
//! (lavapipe works); without one it is skipped.
//!
//! `cargo bench -p urbis_engine --bench terrain_upload`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::{DVec3, Vec2, Vec3};
use urbis_engine::Engine;
use urbis_geo::{CityFrame, Geodetic};
use urbis_model::{CityModel, CpuMesh, Lod, Material, MeshGroup, MeshVertex, NewFeature, SemanticClass, TextureStore};
use urbis_render::{GpuContext, HeadlessTarget};
use urbis_tiles::terrain::{DemHeights, DrapeLayer, TerrainGenerator, TerrainSource, TileCoord};

fn bench(c: &mut Criterion) {
    let Ok(gpu) = GpuContext::headless() else {
        eprintln!("no GPU adapter: terrain_upload skipped");
        return;
    };
    let cfg = urbis_sample_city::SampleCityConfig::default();
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &cfg).expect("sample city");
    let tif = urbis_sample_city::ensure_ortho(&dir, &cfg).expect("orthophoto");
    let ortho = Arc::new(urbis_formats::imagery::geotiff::GeoTiffImagery::open(&tif).expect("open"));
    let grid = urbis_formats::ascii_grid::read(&dir.join(urbis_sample_city::DEM_FILE)).expect("dem");
    let dem = DemHeights::new("sample", grid).expect("dem heights");
    let generator = TerrainGenerator::new("sample", TerrainSource::Dems(vec![dem]), vec![DrapeLayer::new(ortho)]);
    let size = 180.0 / 65536.0;
    let coord = TileCoord { z: 16, x: ((115.9 + 180.0) / size) as u32, y: ((39.0 + 90.0) / size) as u32 };
    let tile = generator.build(coord).expect("a tile");
    let tex = tile.texture.clone().expect("draped");
    let frame = CityFrame::new(Geodetic::new(115.9, 39.0, 0.0));
    let center = DVec3::from_array(tile.center);
    let origin = frame.ecef_to_enu(center);
    let rot = frame.enu_to_ecef_rot.transpose();
    let vertices: Vec<MeshVertex> = tile
        .positions
        .iter()
        .zip(&tile.normals)
        .zip(&tile.uvs)
        .map(|((p, n), uv)| MeshVertex {
            position: (frame.ecef_to_enu(center + Vec3::from_array(*p).as_dvec3()) - origin).as_vec3(),
            normal: (rot * Vec3::from_array(*n).as_dvec3()).as_vec3(),
            uv: Vec2::from_array(*uv),
            color: [255; 4],
            material: Material::Textured,
        })
        .collect();
    let mut engine = Engine::new(CityModel::new(frame), gpu, HeadlessTarget::FORMAT);
    engine.update();
    let mut g = c.benchmark_group("imagery");
    g.throughput(Throughput::Elements(1));
    g.bench_function("upload_tile", |b| {
        b.iter(|| {
            let image = image::RgbaImage::from_raw(tex.width, tex.height, tex.rgba.clone()).expect("image");
            let id = engine.model.world.resource_mut::<TextureStore>().add(image);
            let mesh = CpuMesh {
                vertices: vertices.clone(),
                indices: tile.indices.clone(),
                groups: vec![MeshGroup {
                    texture: Some(id),
                    first_index: 0,
                    index_count: tile.indices.len() as u32,
                    single_sided: false,
                }],
                ..Default::default()
            };
            let mut f = NewFeature::new("tile", SemanticClass::TIN_RELIEF, origin);
            f.mesh = Some((mesh, Lod(10)));
            let e = engine.model.spawn_feature(f);
            let stats = engine.update();
            engine.model.remove_feature(e);
            engine.model.world.resource_mut::<TextureStore>().release(id);
            engine.update();
            stats
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
