//! Viewshed and sightlines against a hand-checkable scene: an observer
//! (eyes 1.6 m up) 45 m west of a 3 m wall on flat ground.
//! - Targets on the ground behind the wall are hidden; in front, visible.
//! - Targets 4 m up are visible while the line from the eye to them clears
//!   the top of the wall's near face, 44.5 m away (the wall fills one 1 m
//!   cell): 1.6 + 2.4·44.5/d > 3, that is d < 76.3 m. Cells up to 75 m are
//!   visible and from 77 m hidden; the sightline is sampled every half cell,
//!   so the 76 m cell may go either way.
//! - A sightline through a city of boxes names the box it hits first.

use glam::{DVec3, Vec2, Vec3};
use urbis_geo::{CityFrame, Geodetic};
use urbis_model::{CityModel, CpuMesh, Lod, Material, NewFeature, SemanticClass};
use urbis_sim::city::{CityGrid, Cover};
use urbis_sim::flood::FloodModel;
use urbis_sim::viewshed::{Sight, line_of_sight, viewshed};

fn wall_grid() -> CityGrid {
    let (nx, ny) = (100, 9);
    let z: Vec<f64> = (0..nx * ny).map(|c| if c % nx == 50 { 3.0 } else { 0.0 }).collect();
    let model = FloodModel::new(nx, ny, 1.0, z, 0.03, 1 << 30).expect("model");
    CityGrid {
        h0: vec![0.0; nx * ny],
        crs: None,
        x_min: 0.0,
        y_min: 0.0,
        enu: (0..nx * ny).map(|c| DVec3::new((c % nx) as f64 + 0.5, (c / nx) as f64 + 0.5, 0.0)).collect(),
        cover: vec![Cover::Ground; nx * ny],
        building: vec![None; nx * ny],
        model,
    }
}

#[test]
fn a_wall_hides_what_lies_behind_it_up_to_the_hand_computed_distance() {
    let grid = wall_grid();
    let nx = grid.nx();
    let observer = (5, 4);
    let ground = viewshed(&grid, observer, 1.6, 0.0);
    for i in 0..nx {
        let v = ground[4 * nx + i];
        if i < 50 {
            assert!(v, "in front of the wall, cell {i} is visible");
        } else if i > 50 {
            assert!(!v, "behind the wall, cell {i} is hidden");
        }
    }
    let raised = viewshed(&grid, observer, 1.6, 4.0);
    for i in 51..nx {
        let d = (i - 5) as f64;
        if d <= 75.0 {
            assert!(raised[4 * nx + i], "4 m target at {d} m clears the wall");
        } else if d >= 77.0 {
            assert!(!raised[4 * nx + i], "4 m target at {d} m is hidden");
        }
    }
}

fn box_mesh(w: f32, d: f32, h: f32) -> CpuMesh {
    let c = [Vec3::ZERO, Vec3::new(w, 0.0, 0.0), Vec3::new(w, d, 0.0), Vec3::new(0.0, d, 0.0)];
    let mut m = CpuMesh::default();
    for i in 0..4 {
        let (a, b) = (c[i], c[(i + 1) % 4]);
        m.push_flat(
            &[a, b, b + Vec3::Z * h, a + Vec3::Z * h],
            &[[0, 1, 2], [0, 2, 3]],
            |_| Vec2::ZERO,
            [200; 4],
            Material::Facade,
        );
    }
    m.push_flat(&c.map(|p| p + Vec3::Z * h), &[[0, 1, 2], [0, 2, 3]], |_| Vec2::ZERO, [200; 4], Material::Roof);
    m
}

#[test]
fn a_sightline_names_the_first_building_in_the_way() {
    let mut city = CityModel::new(CityFrame::new(Geodetic::new(116.0, 39.0, 10.0)));
    for (k, x) in [(0, 0.0), (1, 40.0)] {
        let mut f = NewFeature::new(format!("tower-{k}"), SemanticClass::BUILDING, DVec3::new(x, 0.0, 0.0));
        f.mesh = Some((box_mesh(20.0, 20.0, 30.0), Lod(12)));
        city.spawn_feature(f);
    }
    city.rebuild_spatial_index();
    let eye = DVec3::new(-50.0, 10.0, 1.6);
    match line_of_sight(&city, eye, DVec3::new(100.0, 10.0, 1.6)) {
        Sight::Blocked { id, class, point, distance, .. } => {
            assert_eq!((id.as_str(), class), ("tower-0", Some(SemanticClass::BUILDING)));
            assert!((point.x - 0.0).abs() < 1e-3 && (distance - 50.0).abs() < 1e-3, "{point:?} {distance}");
        }
        Sight::Clear => panic!("the towers are in the way"),
    }
    // Over the roofs, and short of the first tower, the line is clear.
    assert_eq!(line_of_sight(&city, eye, DVec3::new(100.0, 10.0, 100.0)), Sight::Clear);
    assert_eq!(line_of_sight(&city, eye, DVec3::new(-1.0, 10.0, 1.6)), Sight::Clear);
}
