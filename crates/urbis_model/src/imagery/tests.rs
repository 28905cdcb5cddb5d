//! Unit tests of draping: texture placement checked against the DEM's own
//! cell coordinates, the added ground, the texel-size cap, the CRS lattice
//! against exact transforms, and sources that fail or lie.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use glam::{DVec3, Vec3};
use urbis_geo::{CityFrame, CrsTransform, Epsg, Geodetic};

use super::bake::{lattice_for, reduce};
use super::*;
use crate::{CityModel, Lod, NewFeature, SemanticClass};

/// A uniform raster in `epsg` covering `[west, south, east, north]` with `n × n` pixels.
fn uniform(epsg: u32, e: [f64; 4], n: u32, rgba: [u8; 4]) -> GeoRaster {
    GeoRaster {
        epsg,
        x0: e[0],
        y0: e[3],
        dx: (e[2] - e[0]) / f64::from(n),
        dy: (e[3] - e[1]) / f64::from(n),
        width: n,
        height: n,
        rgba: rgba.repeat((n * n) as usize),
    }
}

const DEM: (f64, f64, f64, usize) = (440_000.0, 4_416_000.0, 10.0, 21);

/// A 21 × 21 DEM of 10 m cells in UTM 50N (EPSG:32650), sloping east, loaded as a city.
fn dem_city(tag: &str) -> CityModel {
    let (x0, y0, cell, n) = DEM;
    let dir = std::env::temp_dir().join(format!("urbis-drape-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut text = format!("ncols {n}\nnrows {n}\nxllcorner {x0}\nyllcorner {y0}\ncellsize {cell}\n");
    for _ in 0..n {
        let row: Vec<String> = (0..n).map(|c| format!("{}", 40.0 + 0.5 * c as f64)).collect();
        text.push_str(&row.join(" "));
        text.push('\n');
    }
    std::fs::write(dir.join("dem.asc"), text).expect("write dem");
    std::fs::write(dir.join("dem.prj"), "EPSG:32650\n").expect("write prj");
    let (model, _) = crate::open_city(&[dir.join("dem.asc")]).expect("open the DEM");
    let _ = std::fs::remove_dir_all(&dir);
    model
}

const RED: [u8; 4] = [220, 20, 20, 255];
const BLUE: [u8; 4] = [20, 40, 230, 255];
const GREEN: [u8; 4] = [30, 200, 40, 255];

/// West half red; east half blue to the north, green to the south (split at
/// the DEM's middle, 5 m pixels from 20 m beyond its south-west corner).
fn halves() -> GeoRaster {
    let (x0, y0, cell, n) = DEM;
    let side = cell * n as f64;
    let mut r = uniform(32650, [x0 - 20.0, y0 - 20.0, x0 + side + 20.0, y0 + side + 20.0], 50, RED);
    for row in 0..50 {
        for col in 25..50 {
            let o = ((row * 50 + col) * 4) as usize;
            r.rgba[o..o + 4].copy_from_slice(if row < 25 { &BLUE } else { &GREEN });
        }
    }
    r
}

fn texel(model: &CityModel, report: &DrapeReport, u: f32, v: f32) -> [u8; 4] {
    let img = model.world.resource::<TextureStore>().get(report.texture).expect("texture").clone();
    let c = ((u * report.width as f32).floor() as u32).min(report.width - 1);
    let r = ((v * report.height as f32).floor() as u32).min(report.height - 1);
    img.get_pixel(c, r).0
}

#[test]
fn the_terrain_shows_the_raster_colour_of_each_vertex_own_coordinates() {
    let mut model = dem_city("reg");
    let before = model.feature_count();
    let report = drape(&mut model, &[ImageryLayer::new(Arc::new(halves()))], 2.0).expect("drape");
    assert_eq!(report.surfaces.len(), 1);
    assert!(report.ground.is_none(), "the DEM is the ground");
    assert_eq!(model.feature_count(), before);
    assert!(!report.coarsened());
    assert_eq!(report.layers[0].outcome, LayerOutcome::Drawn);
    assert!(report.layers[0].failures.is_empty(), "{:?}", report.layers[0].failures);
    let e = report.surfaces[0];
    let g = *model.world.get::<GeometryHandle>(e).expect("geometry");
    let mesh = model.meshes().get(g.mesh).expect("mesh").clone();
    assert_eq!(
        mesh.groups,
        vec![MeshGroup {
            texture: Some(report.texture),
            first_index: 0,
            index_count: mesh.indices.len() as u32,
            single_sided: false
        }]
    );
    assert_eq!(model.world.get::<Draped>(e).map(|d| d.texture), Some(report.texture));
    // Vertices are the cell centres, row by row from the north (no NODATA).
    let (x0, y0, cell, n) = DEM;
    assert_eq!(mesh.vertices.len(), n * n);
    // The raster splits at 20 m + 25 pixels of 5.2 m from its west and north edges.
    let px = (cell * n as f64 + 40.0) / 50.0;
    let (split_e, split_n) = (x0 - 20.0 + 25.0 * px, y0 + cell * n as f64 + 20.0 - 25.0 * px);
    let mut checked = 0;
    for (k, v) in mesh.vertices.iter().enumerate() {
        assert_eq!((v.material, v.color), (Material::Textured, [255; 4]));
        assert!((0.0..=1.0).contains(&v.uv.x) && (0.0..=1.0).contains(&v.uv.y), "{:?}", v.uv);
        let easting = x0 + (k % n) as f64 * cell + cell / 2.0;
        let northing = y0 + (n - k / n) as f64 * cell - cell / 2.0;
        // Skip vertices within a raster pixel of a colour boundary.
        if (easting - split_e).abs() < px || (easting > split_e && (northing - split_n).abs() < px) {
            continue;
        }
        let want = match (easting < split_e, northing > split_n) {
            (true, _) => RED,
            (false, true) => BLUE,
            (false, false) => GREEN,
        };
        assert_eq!(texel(&model, &report, v.uv.x, v.uv.y), want, "vertex {k} at ({easting}, {northing})");
        checked += 1;
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn a_city_without_terrain_gets_a_textured_ground_and_a_second_drape_replaces_it() {
    let mut model = CityModel::new(CityFrame::new(Geodetic::new(116.3, 39.9, 0.0)));
    let mut mesh = CpuMesh::default();
    let quad = |z: f32| {
        [Vec3::new(-10.0, -10.0, z), Vec3::new(10.0, -10.0, z), Vec3::new(10.0, 10.0, z), Vec3::new(-10.0, 10.0, z)]
    };
    mesh.push_flat(&quad(0.0), &[[0, 2, 1], [0, 3, 2]], |_| Vec2::ZERO, [200; 4], Material::Plain);
    mesh.push_flat(&quad(18.0), &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, [200; 4], Material::Roof);
    let mut f = NewFeature::new("b1", SemanticClass::BUILDING, DVec3::new(0.0, 0.0, 12.0));
    f.mesh = Some((mesh, Lod(1)));
    model.spawn_feature(f);
    // West of the frame's meridian: a uniform raster in lon/lat degrees.
    let raster = uniform(4326, [116.299, 39.899, 116.3, 39.901], 4, [30, 120, 200, 255]);
    let layers = [ImageryLayer::new(Arc::new(raster))];
    let first = drape(&mut model, &layers, 1.0).expect("drape");
    let ground = first.ground.expect("a ground was added");
    assert_eq!(first.surfaces, vec![ground]);
    assert_eq!(model.world.get::<SemanticClass>(ground), Some(&SemanticClass::TIN_RELIEF));
    let b = *model.world.get::<Bounds>(ground).expect("bounds");
    assert!((b.min.z - (12.0 - GROUND_DROP)).abs() < 1e-6 && (b.max.z - b.min.z).abs() < 1e-6, "{b:?}");
    assert!(b.min.x <= -60.0 + 1e-3 && b.max.x >= 60.0 - 1e-3 && b.min.y <= -60.0 + 1e-3 && b.max.y >= 60.0 - 1e-3);
    // 30 m west of the building lies in the raster; 30 m east does not.
    let at = |r: &DrapeReport, m: &CityModel, x: f64| {
        let (c, row) = r.texel_at(x, 0.0).expect("on the texture");
        m.world.resource::<TextureStore>().get(r.texture).expect("texture").get_pixel(c, row).0
    };
    assert_eq!(at(&first, &model, -30.0), [30, 120, 200, 255]);
    assert_eq!(at(&first, &model, 30.0), NEUTRAL_GROUND);
    let second = drape(&mut model, &layers, 2.0).expect("drape again");
    let mut q = model.world.query_filtered::<Entity, With<DrapedGround>>();
    assert_eq!(q.iter(&model.world).count(), 1, "the first ground was replaced");
    assert_eq!(model.feature_count(), 2);
    assert!(model.world.get_entity(ground).is_err());
    let textures = model.world.resource::<TextureStore>();
    assert!(textures.get(first.texture).is_none() && textures.get(second.texture).is_some());
}

#[test]
fn the_texel_size_is_coarsened_to_respect_the_cap() {
    let mut model = dem_city("cap");
    let opts = DrapeOptions { max_texture_side: 32, ..DrapeOptions::new(0.1) };
    let r = drape_with(&mut model, &[ImageryLayer::new(Arc::new(halves()))], &opts).expect("drape");
    assert!(r.coarsened());
    assert!(r.width <= 32 && r.height <= 32 && r.width.max(r.height) >= 31, "{} × {}", r.width, r.height);
    // The DEM's vertices span 200 m: 30 texels of it, plus one each side.
    assert!(r.metres_per_texel >= 200.0 / 30.0 && r.metres_per_texel < 200.0 / 29.0, "{}", r.metres_per_texel);
    assert!(matches!(drape(&mut model, &[], 0.0), Err(DrapeError::Resolution(_))));
    assert!(matches!(drape(&mut model, &[], f64::NAN), Err(DrapeError::Resolution(_))));
    let empty = &mut CityModel::new(CityFrame::new(Geodetic::new(116.3, 39.9, 0.0)));
    assert!(matches!(drape(empty, &[], 1.0), Err(DrapeError::NothingToDrape)));
}

#[test]
fn lattice_positions_match_exact_transforms() {
    let frame = CityFrame::new(Geodetic::new(116.3, 39.9, 0.0));
    let plan = TexturePlan { west: -1500.0, north: 1200.0, texel: 2.5, width: 1203, height: 977, z: 30.0 };
    for epsg in [32650, 3857, 4326, 4548] {
        let lat = lattice_for(&frame, &plan, epsg).expect("lattice");
        assert_eq!(lat.step, 8, "EPSG:{epsg} is smooth enough for the lattice");
        let t = CrsTransform::new(Epsg::ECEF, Epsg(epsg)).expect("transform");
        let (_, size) = lat.bbox_and_texel(&plan).expect("bbox");
        for k in 0..60u32 {
            let (c, r) = ((k * 7919) % plan.width, (k * 104_729) % plan.height);
            let exact = t.transform(frame.enu_to_ecef(plan.centre(c, r))).expect("exact").truncate();
            let err = ((lat.at(c, r, &plan).expect("placed") - exact) / size).abs().max_element();
            assert!(err < 1e-3, "EPSG:{epsg} texel ({c}, {r}): {err} texels off");
        }
    }
}

#[test]
fn reduce_averages_blocks_by_alpha() {
    // 4 × 2: a red and a blue pixel, a clear pair; a 2 × 2 block of grey.
    let rgba = [
        [255, 0, 0, 255],
        [0, 0, 255, 255],
        [100, 100, 100, 255],
        [100, 100, 100, 255],
        [0, 0, 0, 0],
        [9, 9, 9, 0],
        [100, 100, 100, 255],
        [100, 100, 100, 255],
    ]
    .concat();
    let r = GeoRaster { epsg: 3857, x0: 0.0, y0: 4.0, dx: 1.0, dy: 2.0, width: 4, height: 2, rgba };
    let h = reduce(&r, 2);
    assert_eq!((h.width, h.height, h.dx, h.dy, h.x0, h.y0), (2, 1, 2.0, 4.0, 0.0, 4.0));
    // Red and blue half each; the clear pixels add no colour, half the alpha.
    assert_eq!(h.rgba, vec![128, 0, 128, 128, 100, 100, 100, 255]);
}

/// A source that reports a missing tile, one whose window is malformed, one that fails.
struct Lying {
    mode: u8,
}

impl ImagerySource for Lying {
    fn name(&self) -> String {
        format!("lying source {}", self.mode)
    }
    fn epsg(&self) -> u32 {
        32650
    }
    fn extent(&self) -> [f64; 4] {
        [0.0, 0.0, 1.0e6, 1.0e7]
    }
    fn window(&self, bbox: [f64; 4], _: u32, failures: &mut Vec<ImageryError>) -> Result<GeoRaster, ImageryError> {
        let mut r = uniform(32650, bbox, 8, [0, 200, 0, 255]);
        match self.mode {
            0 => {
                failures.push(ImageryError::Tile {
                    source_name: self.name(),
                    z: 17,
                    x: 1,
                    y: 2,
                    message: "HTTP 404".into(),
                });
                // The missing tile: the east half is clear.
                for px in r.rgba.chunks_exact_mut(16).skip(1).step_by(2) {
                    px.fill(0);
                }
                Ok(r)
            }
            1 => {
                r.rgba.truncate(10);
                Ok(r)
            }
            _ => Err(ImageryError::Source { source_name: self.name(), message: "connection refused".into() }),
        }
    }
}

#[test]
fn failing_hidden_and_distant_layers_are_reported_and_the_rest_drapes() {
    let mut model = dem_city("fail");
    let far = uniform(32650, [100.0, 100.0, 200.0, 200.0], 2, [255; 4]);
    let hidden = ImageryLayer { opacity: 1.0, visible: false, ..ImageryLayer::new(Arc::new(halves())) };
    let layers = [
        ImageryLayer::new(Arc::new(Lying { mode: 0 })),
        ImageryLayer::new(Arc::new(Lying { mode: 1 })),
        ImageryLayer::new(Arc::new(Lying { mode: 2 })),
        hidden,
        ImageryLayer::new(Arc::new(far)),
    ];
    let r = drape(&mut model, &layers, 4.0).expect("drape");
    let outcomes: Vec<LayerOutcome> = r.layers.iter().map(|l| l.outcome).collect();
    use LayerOutcome::*;
    assert_eq!(outcomes, vec![Drawn, Failed, Failed, Hidden, OutsideExtent]);
    assert!(r.layers[0].failures[0].to_string().contains("HTTP 404"));
    assert!(r.layers[1].failures[0].to_string().contains("bytes"), "{}", r.layers[1].failures[0]);
    assert!(r.layers[2].failures[0].to_string().contains("connection refused"));
    assert_eq!(r.failure_count(), 3);
    assert_eq!((r.layers[3].texels, r.layers[4].texels), (0, 0));
    // The holey layer covers half the texture: green there, neutral in its hole.
    let all = (r.width * r.height) as usize;
    assert!(r.layers[0].texels > all / 3 && r.layers[0].texels < all * 2 / 3, "{} of {all}", r.layers[0].texels);
    let img = model.world.resource::<TextureStore>().get(r.texture).expect("texture").clone();
    let green = img.pixels().filter(|p| p.0 == [0, 200, 0, 255]).count();
    let neutral = img.pixels().filter(|p| p.0 == NEUTRAL_GROUND).count();
    assert!(green > all / 4 && neutral > all / 4, "green {green}, neutral {neutral} of {all}");
}
