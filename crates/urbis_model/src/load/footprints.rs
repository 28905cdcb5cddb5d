//! GeoJSON footprints → LoD1 buildings: each (Multi)Polygon feature is
//! extruded from the ground (terrain under it when a DEM is loaded, else
//! 0) to a height taken from a property, or from floors × storey height.

use glam::{DVec3, Vec2, Vec3};
use urbis_formats::geojson::GeoJson;
use urbis_formats::triangulate::polygon_with_holes;

use super::appearance::surface_appearance;
use super::{LoadError, LoadReport, ToEnu};
use crate::mesh::{CpuMesh, Material};
use crate::{AttributeValue, Attributes, CityModel, Lod, NewFeature, SemanticClass};

/// How footprints become buildings.
#[derive(Debug, Clone, PartialEq)]
pub struct FootprintOptions {
    /// Properties holding the height in metres, tried in order.
    pub height_keys: Vec<String>,
    /// Properties holding the number of floors, tried in order.
    pub floors_keys: Vec<String>,
    /// Metres per floor.
    pub storey_height: f64,
    /// Height when no property gives one.
    pub default_height: f64,
}

impl Default for FootprintOptions {
    fn default() -> Self {
        Self {
            height_keys: ["height", "building:height", "measuredHeight", "height_m"].map(String::from).to_vec(),
            floors_keys: ["floors", "building:levels", "levels", "storeysAboveGround"].map(String::from).to_vec(),
            storey_height: 3.0,
            default_height: 10.0,
        }
    }
}

fn number(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().trim_end_matches('m').trim().parse().ok()))
        .filter(|x: &f64| x.is_finite() && *x > 0.0)
}

/// Ground height under a point: the streamed terrain's, or the terrain
/// (TINRelief) below it, if any (see [`crate::ground`]).
fn ground_at(model: &CityModel, x: f64, y: f64) -> Option<f64> {
    crate::ground::ground_height(model, x, y)
}

/// Signed area of a ring in plan (positive counter-clockwise).
fn signed_area(r: &[DVec3]) -> f64 {
    (0..r.len())
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % r.len()]);
            a.x * b.y - b.x * a.y
        })
        .sum::<f64>()
        / 2.0
}

pub(super) fn add(
    model: &mut CityModel,
    doc: &GeoJson,
    name: &str,
    to_enu: &ToEnu,
    opts: &FootprintOptions,
) -> Result<LoadReport, LoadError> {
    let mut report = LoadReport::default();
    model.rebuild_spatial_index(); // so that footprints can stand on terrain loaded before
    for (i, f) in doc.features.iter().enumerate() {
        let guid = f.id.clone().map_or_else(|| format!("{name}#{i}"), |id| format!("{name}#{id}"));
        if f.polygons.is_empty() {
            report.warnings.push(format!(
                "{guid}: {} geometry skipped (footprints must be polygons)",
                f.other_geometry.as_deref().unwrap_or("no")
            ));
            continue;
        }
        let mut attributes = Attributes::default();
        for (k, v) in &f.properties {
            if let Some(v) = AttributeValue::from_json(v) {
                attributes.insert(k.clone(), v);
            }
        }
        let height = opts.height_keys.iter().find_map(|k| f.properties.get(k).and_then(number));
        let floors = opts.floors_keys.iter().find_map(|k| f.properties.get(k).and_then(number));
        let (height, source) = match (height, floors) {
            (Some(h), _) => (h, "property"),
            (None, Some(n)) => (n * opts.storey_height, "floors"),
            (None, None) => {
                report
                    .warnings
                    .push(format!("{guid}: no height or floors property; {} m assumed", opts.default_height));
                (opts.default_height, "default")
            }
        };
        attributes.insert("extruded_height", height);
        attributes.insert("height_source", source);
        // Reproject every ring, oriented: exterior counter-clockwise, holes clockwise.
        let mut polys = Vec::with_capacity(f.polygons.len());
        for p in &f.polygons {
            let mut rings = Vec::with_capacity(p.len());
            for (k, r) in p.iter().enumerate() {
                let mut ring =
                    r.iter().map(|&v| to_enu.enu(DVec3::new(v.x, v.y, 0.0))).collect::<Result<Vec<_>, _>>()?;
                if (signed_area(&ring) > 0.0) != (k == 0) {
                    ring.reverse();
                }
                rings.push(ring);
            }
            polys.push(rings);
        }
        let pts = polys.iter().flatten().flatten();
        let (lo, hi) = pts
            .fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(a, b), p| (a.min(*p), b.max(*p)));
        let centre = (lo + hi) / 2.0;
        let base =
            polys.iter().flatten().flatten().filter_map(|p| ground_at(model, p.x, p.y)).fold(f64::INFINITY, f64::min);
        let base = if base.is_finite() { base - 0.2 } else { 0.0 };
        let placement = DVec3::new(centre.x, centre.y, base);
        let storey = floors.map_or(opts.storey_height, |n| height / n.max(1.0)) as f32;
        let (wall, wall_material) =
            surface_appearance(SemanticClass::BUILDING, Some("WallSurface"), &attributes, &guid);
        let (roof, _) = surface_appearance(SemanticClass::BUILDING, Some("RoofSurface"), &attributes, &guid);
        let mut mesh = CpuMesh::default();
        let local = |p: DVec3, z: f64| Vec3::new((p.x - placement.x) as f32, (p.y - placement.y) as f32, z as f32);
        for rings in &polys {
            let tris = polygon_with_holes(rings);
            let top: Vec<Vec3> = rings.iter().flatten().map(|&p| local(p, height)).collect();
            mesh.push_flat(&top, &tris, |q| Vec2::new(q.x, q.y), roof, Material::Roof);
            let bottom: Vec<Vec3> = rings.iter().flatten().map(|&p| local(p, 0.0)).collect();
            let flipped: Vec<[u32; 3]> = tris.iter().map(|t| [t[0], t[2], t[1]]).collect();
            mesh.push_flat(&bottom, &flipped, |q| Vec2::new(q.x, q.y), [70, 70, 70, 255], Material::Plain);
            for ring in rings {
                for k in 0..ring.len() {
                    let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                    let quad = [local(a, 0.0), local(b, 0.0), local(b, height), local(a, height)];
                    let along = (quad[1] - quad[0]).normalize_or(Vec3::X);
                    let o = quad[0];
                    mesh.push_flat(
                        &quad,
                        &[[0, 1, 2], [0, 2, 3]],
                        |q| Vec2::new((q - o).dot(along) / 3.6, q.z / storey),
                        wall,
                        wall_material,
                    );
                }
            }
        }
        let footprint = polys.first().map(|rings| {
            let ring = |r: &Vec<DVec3>| geo::LineString::from(r.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            geo::Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
        });
        let mut nf = NewFeature::new(guid, SemanticClass::BUILDING, placement);
        nf.attributes = attributes;
        nf.footprint = footprint;
        nf.mesh = Some((mesh, Lod(10)));
        model.spawn_feature(nf);
        report.features += 1;
    }
    Ok(report)
}
