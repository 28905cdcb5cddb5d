//! DEM grids → a TINRelief feature with a terrain mesh; the grid itself
//! stays on the entity as a [`Terrain`] component for simulations.

use bevy_ecs::prelude::*;
use glam::{DVec3, Vec2, Vec3};
use urbis_formats::ascii_grid::DemGrid;

use super::{LoadError, LoadReport, ToEnu};
use crate::mesh::{CpuMesh, Material, MeshVertex};
use crate::{Attributes, Bounds, CityModel, Lod, NewFeature, SemanticClass};

/// The height grid a TINRelief feature was built from, in its source CRS.
#[derive(Component, Debug, Clone)]
pub struct Terrain {
    pub grid: DemGrid,
}

fn lerp(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 4] {
    let t = t.clamp(0.0, 1.0);
    let c = |i: usize| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t) as u8;
    [c(0), c(1), c(2), 255]
}

pub(super) fn add(model: &mut CityModel, grid: &DemGrid, to_enu: &ToEnu) -> Result<LoadReport, LoadError> {
    let (nc, nr) = (grid.ncols, grid.nrows);
    // ENU position of every cell centre (NaN where NODATA).
    let mut pos = vec![DVec3::NAN; nc * nr];
    for r in 0..nr {
        for c in 0..nc {
            if let Some(h) = grid.height(c, r) {
                let (x, y) = grid.cell_center(c, r);
                pos[r * nc + c] = to_enu.enu(DVec3::new(x, y, h as f64))?;
            }
        }
    }
    let valid: Vec<DVec3> = pos.iter().copied().filter(|p| p.is_finite()).collect();
    let bounds = Bounds::from_points(valid.iter().copied());
    let mut report = LoadReport::default();
    if valid.is_empty() {
        report.warnings.push("the grid holds only NODATA".into());
        return Ok(report);
    }
    let placement = DVec3::new(bounds.center().x, bounds.center().y, bounds.min.z);
    let at = |c: usize, r: usize| pos[r * nc + c];

    let mut mesh = CpuMesh::default();
    let mut vertex_of = vec![u32::MAX; nc * nr];
    let (hmin, hmax) = (bounds.min.z, bounds.max.z.max(bounds.min.z + 1.0));
    for r in 0..nr {
        for c in 0..nc {
            let p = at(c, r);
            if !p.is_finite() {
                continue;
            }
            // Central differences where neighbours exist, one-sided at edges and holes.
            let pick = |c2: usize, r2: usize| Some(at(c2, r2)).filter(|q| q.is_finite()).unwrap_or(p);
            let east = pick((c + 1).min(nc - 1), r) - pick(c.saturating_sub(1), r);
            let north = pick(c, r.saturating_sub(1)) - pick(c, (r + 1).min(nr - 1));
            let n = east.cross(north);
            let normal = if n.length_squared() > 0.0 { n.normalize().as_vec3() } else { Vec3::Z };
            let slope = 1.0 - normal.z;
            let rel = ((p.z - hmin) / (hmax - hmin)) as f32;
            let meadow = lerp([92, 118, 62], [128, 140, 84], rel);
            let color = lerp([meadow[0], meadow[1], meadow[2]], [132, 112, 86], slope * 6.0);
            vertex_of[r * nc + c] = mesh.vertices.len() as u32;
            mesh.vertices.push(MeshVertex {
                position: (p - placement).as_vec3(),
                normal,
                uv: Vec2::new((p.x - placement.x) as f32, (p.y - placement.y) as f32),
                color,
                material: Material::Terrain,
            });
        }
    }
    let mut holes = 0usize;
    for r in 0..nr.saturating_sub(1) {
        for c in 0..nc.saturating_sub(1) {
            let (a, b, cc, d) = (
                vertex_of[r * nc + c],
                vertex_of[r * nc + c + 1],
                vertex_of[(r + 1) * nc + c],
                vertex_of[(r + 1) * nc + c + 1],
            );
            // a b (north row)
            // cc d (south row); counter-clockwise seen from above.
            let mut tri = |x: u32, y: u32, z: u32| {
                if x != u32::MAX && y != u32::MAX && z != u32::MAX {
                    mesh.indices.extend([x, y, z]);
                    true
                } else {
                    false
                }
            };
            let t1 = tri(a, cc, d);
            let t2 = tri(a, d, b);
            if !(t1 && t2) {
                // Fall back to the other diagonal so one valid triangle survives next to a hole.
                if !t1 && !t2 {
                    let _ = tri(a, cc, b) || tri(b, cc, d);
                }
                holes += 1;
            }
        }
    }
    let nodata = grid.heights.iter().filter(|h| h.is_nan()).count();
    let attributes = Attributes::default()
        .with("ncols", nc as i64)
        .with("nrows", nr as i64)
        .with("cell_size", grid.cell_size)
        .with("nodata_cells", nodata as i64)
        .with("min_height", bounds.min.z)
        .with("max_height", bounds.max.z);
    if holes > 0 {
        report.warnings.push(format!("{nodata} NODATA cells leave {holes} incomplete grid squares"));
    }
    let name = std::path::Path::new(&report.path).file_stem().map(|s| s.to_string_lossy().into_owned());
    let guid = format!("terrain:{}", name.unwrap_or_else(|| "dem".into()));
    let mut f = NewFeature::new(guid, SemanticClass::TIN_RELIEF, placement);
    f.attributes = attributes;
    f.bounds = Some(bounds);
    f.mesh = Some((mesh, Lod(10)));
    let e = model.spawn_feature(f);
    model.world.entity_mut(e).insert(Terrain { grid: grid.clone() });
    report.features = 1;
    Ok(report)
}
