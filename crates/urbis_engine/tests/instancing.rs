//! Instanced features (shared meshes placed by a per-feature linear map)
//! render and pick exactly like the same geometry baked per feature.

mod support;

use glam::{DMat3, DVec3, Vec2, Vec3};
use urbis_engine::render_image;
use urbis_geo::{CityFrame, Geodetic};
use urbis_model::{
    CityModel, CpuMesh, FeatureId, InstanceTransform, Lod, Material, MeshStore, NewFeature, SemanticClass,
};

/// A unit-ish pyramid on a square base (distinct faces, so orientation shows).
fn pyramid() -> CpuMesh {
    let mut m = CpuMesh::default();
    let (a, b, c, d, top) = (
        Vec3::new(-2., -2., 0.),
        Vec3::new(2., -2., 0.),
        Vec3::new(2., 2., 0.),
        Vec3::new(-2., 2., 0.),
        Vec3::new(0.5, 0., 6.),
    );
    for (i, f) in [[a, b, top], [b, c, top], [c, d, top], [d, a, top]].iter().enumerate() {
        let color = [[220, 80, 60, 255], [60, 160, 80, 255], [70, 90, 210, 255], [230, 200, 60, 255]][i];
        m.push_flat(f, &[[0, 1, 2]], |p| Vec2::new(p.x, p.y), color, Material::Plain);
    }
    m
}

fn placements() -> Vec<(DVec3, DMat3)> {
    vec![
        (DVec3::new(0.0, 0.0, 0.0), DMat3::IDENTITY),
        (DVec3::new(9.0, 3.0, 0.0), DMat3::from_rotation_z(0.7) * DMat3::from_diagonal(DVec3::new(1.5, 1.5, 2.0))),
        (DVec3::new(-8.0, 5.0, 0.0), DMat3::from_rotation_z(-2.1) * DMat3::from_diagonal(DVec3::splat(0.8))),
    ]
}

fn model(instanced: bool) -> CityModel {
    let mut model = CityModel::new(CityFrame::new(Geodetic::new(115.9, 39.0, 10.0)));
    let shared = model.world.resource_mut::<MeshStore>().add(pyramid());
    for (i, (at, linear)) in placements().into_iter().enumerate() {
        let mut f = NewFeature::new(format!("p{i}"), SemanticClass::SOLITARY_VEGETATION_OBJECT, at);
        if instanced {
            f.instance_of = Some((shared, Lod(20), InstanceTransform { linear }));
        } else {
            let mut baked = pyramid();
            for v in &mut baked.vertices {
                v.position = (linear * v.position.as_dvec3()).as_vec3();
                v.normal = (linear * v.normal.as_dvec3()).normalize().as_vec3();
            }
            f.mesh = Some((baked, Lod(20)));
        }
        model.spawn_feature(f);
    }
    model.rebuild_spatial_index();
    model
}

#[test]
fn instances_match_baked_geometry_and_pick_per_instance() {
    let (Some(mut baked), Some(mut inst)) = (support::engine(model(false)), support::engine(model(true))) else {
        return;
    };
    let cam = support::enu_camera(&baked.model, DVec3::new(-6.0, -30.0, 16.0), DVec3::new(1.0, 2.0, 3.0));
    let light = support::enu_lighting(&baked.model);
    let a = render_image(&mut baked, &cam, &light, None, 320, 240).expect("render baked");
    let b = render_image(&mut inst, &cam, &light, None, 320, 240).expect("render instanced");
    assert_eq!(inst.scene.chunk_count(), baked.scene.chunk_count());
    assert_eq!(a.stats.triangles, b.stats.triangles);
    let (frac, mean) = support::image_difference(&a.image, &b.image, 16);
    // Tolerance: 0.3 % of pixels may differ by > 16 levels (normals are renormalised
    // per vertex in the instanced path), mean under 0.5.
    assert!(frac < 0.003 && mean < 0.5, "{:.3}% differ, mean {mean:.3}", frac * 100.0);

    // Each instance picks as its own feature, on GPU and CPU alike.
    for (i, (at, linear)) in placements().into_iter().enumerate() {
        let p = inst.model.frame().enu_to_ecef(at + linear * DVec3::new(0.3, -0.4, 2.0));
        // Project the point to a pixel with the camera.
        let rel = (p - cam.position).as_vec3();
        let clip = cam.view_projection(320.0 / 240.0) * rel.extend(1.0);
        let (x, y) = ((clip.x / clip.w * 0.5 + 0.5) * 320.0, (0.5 - clip.y / clip.w * 0.5) * 240.0);
        let hit = inst.pick(x as u32, y as u32).expect("pick").expect("an instance");
        assert_eq!(inst.model.world.get::<FeatureId>(hit).expect("id").guid, format!("p{i}"));
        let (o, d) = cam.pixel_ray(x as f64 + 0.5, y as f64 + 0.5, 320, 240);
        let f = *inst.model.frame();
        let ray =
            inst.model.spatial().ray_cast(&inst.model.world, f.ecef_to_enu(o), f.enu_to_ecef_rot.transpose() * d, 1e4);
        assert_eq!(ray.map(|r| r.entity), Some(hit), "CPU ray disagrees for p{i}");
    }
}
