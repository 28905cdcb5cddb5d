//! The same small scene at the local origin and at its true ECEF position
//! (about 6,370 km from the Earth's centre) renders the same image: the GPU
//! only ever sees camera- and chunk-relative f32 coordinates.

mod support;

use glam::{DVec3, Vec2, Vec3};
use urbis_engine::render_image;
use urbis_geo::{CityFrame, Geodetic};
use urbis_model::{CityModel, CpuMesh, Lod, Material, NewFeature, SemanticClass};
use urbis_render::Camera;

/// A box mesh of size `s` standing on its placement.
fn box_mesh(s: Vec3, color: [u8; 4]) -> CpuMesh {
    let mut m = CpuMesh::default();
    let c = |x: f32, y: f32, z: f32| Vec3::new((x - 0.5) * s.x, (y - 0.5) * s.y, z * s.z);
    let faces = [
        [c(0., 0., 0.), c(0., 1., 0.), c(1., 1., 0.), c(1., 0., 0.)],
        [c(0., 0., 1.), c(1., 0., 1.), c(1., 1., 1.), c(0., 1., 1.)],
        [c(0., 0., 0.), c(1., 0., 0.), c(1., 0., 1.), c(0., 0., 1.)],
        [c(1., 0., 0.), c(1., 1., 0.), c(1., 1., 1.), c(1., 0., 1.)],
        [c(1., 1., 0.), c(0., 1., 0.), c(0., 1., 1.), c(1., 1., 1.)],
        [c(0., 1., 0.), c(0., 0., 0.), c(0., 0., 1.), c(0., 1., 1.)],
    ];
    for f in faces {
        m.push_flat(&f, &[[0, 1, 2], [0, 2, 3]], |p| Vec2::new(p.x, p.y), color, Material::Plain);
    }
    m
}

fn scene(frame: CityFrame) -> CityModel {
    let mut model = CityModel::new(frame);
    let items = [
        (DVec3::new(0.0, 0.0, 0.0), Vec3::new(8.0, 6.0, 12.0), [200, 80, 60, 255]),
        (DVec3::new(12.0, 4.0, 0.0), Vec3::new(5.0, 5.0, 20.0), [70, 120, 200, 255]),
        (DVec3::new(-9.0, 7.0, 0.0), Vec3::new(6.0, 9.0, 6.0), [90, 170, 90, 255]),
        (DVec3::new(2.0, -3.0, -0.2), Vec3::new(60.0, 60.0, 0.2), [150, 150, 140, 255]),
    ];
    for (i, (at, size, color)) in items.into_iter().enumerate() {
        let mut f = NewFeature::new(format!("box-{i}"), SemanticClass::GENERIC_CITY_OBJECT, at);
        f.mesh = Some((box_mesh(size, color), Lod(10)));
        model.spawn_feature(f);
    }
    model.rebuild_spatial_index();
    model
}

fn camera_for(model: &CityModel, round_position_to_f32: bool) -> Camera {
    let mut c = support::enu_camera(model, DVec3::new(-14.0, -22.0, 13.0), DVec3::new(1.0, 2.0, 5.0));
    if round_position_to_f32 {
        c.position = c.position.as_vec3().as_dvec3();
    }
    c
}

#[test]
fn scene_at_ecef_matches_scene_at_origin() {
    let local = scene(CityFrame::identity());
    let far = scene(CityFrame::new(Geodetic::new(115.9, 39.0, 10.0)));
    assert!(far.frame().origin_ecef.length() > 6.3e6);
    let (Some(mut a), Some(mut b)) = (support::engine(local), support::engine(far)) else {
        return;
    };
    let (ca, cb) = (camera_for(&a.model, false), camera_for(&b.model, false));
    let (la, lb) = (support::enu_lighting(&a.model), support::enu_lighting(&b.model));
    let img_a = render_image(&mut a, &ca, &la, None, 320, 240).expect("render local").image;
    let img_b = render_image(&mut b, &cb, &lb, None, 320, 240).expect("render ECEF").image;
    let (frac, mean) = support::image_difference(&img_a, &img_b, 16);
    // Tolerance: at most 0.2 % of pixels differ by more than 16 levels (f64 rounding of
    // the two frames' rotations may move an edge pixel), mean difference under 0.5.
    assert!(frac <= 0.002 && mean < 0.5, "origin vs ECEF: {:.3}% pixels differ, mean {mean:.3}", frac * 100.0);

    // Control: the same ECEF scene with the camera position rounded to f32 (what a
    // renderer that kept world positions in f32 would do) is visibly different,
    // so the comparison above is sensitive to precision loss.
    let naive = camera_for(&b.model, true);
    assert!(
        (naive.position - cb.position).length() > 0.01,
        "rounding moved the camera by {} m",
        (naive.position - cb.position).length()
    );
    let img_n = render_image(&mut b, &naive, &lb, None, 320, 240).expect("render naive").image;
    let (frac_n, _) = support::image_difference(&img_a, &img_n, 16);
    assert!(frac_n > 0.002, "f32 camera should visibly shift the image, only {:.3}% differ", frac_n * 100.0);
}
