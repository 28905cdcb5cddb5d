//! The viewer's camera never passes through the ground: the terrain height
//! under a point (a ray down the model's terrain features) agrees with the
//! DEM as `urbis_sim`'s height field reads it (bilinear on the grid, an
//! independent path), and a camera below it is lifted to stand above it.

mod support;

use glam::DVec3;
use urbis_engine::view::{above_terrain, terrain_height};

#[test]
fn the_camera_stays_above_the_terrain() {
    let model = support::sample_city();
    let field = urbis_sim::terrain::TerrainSurface::from_city(&model).expect("the sample city has a DEM");
    let b = model.bounds();
    let mut checked = 0;
    for (fx, fy) in [(0.2, 0.3), (0.5, 0.5), (0.8, 0.7), (0.35, 0.85)] {
        let (x, y) = (b.min.x + fx * (b.max.x - b.min.x), b.min.y + fy * (b.max.y - b.min.y));
        let (Some(ray), Some(grid)) = (terrain_height(&model, x, y), field.height(x, y)) else { continue };
        // The terrain mesh is triangles over the grid; bilinear on the same grid differs by less than a metre here.
        assert!((ray - grid).abs() < 1.0, "at ({x:.0}, {y:.0}): ray {ray:.2} m, grid {grid:.2} m");
        let frame = model.frame();
        // 30 m below the ground: lifted to 2 m above it.
        let below = frame.enu_to_ecef(DVec3::new(x, y, ray - 30.0));
        let lifted = frame.ecef_to_enu(above_terrain(&model, below, 2.0));
        assert!((lifted.z - (ray + 2.0)).abs() < 1e-6 && (lifted.x - x).abs() < 1e-6, "{lifted}");
        // 50 m above it: left alone.
        let above = frame.enu_to_ecef(DVec3::new(x, y, ray + 50.0));
        assert_eq!(above_terrain(&model, above, 2.0), above);
        checked += 1;
    }
    assert!(checked >= 3, "{checked} points over the DEM");
}
