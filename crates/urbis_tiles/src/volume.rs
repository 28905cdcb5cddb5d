//! Bounding volumes in world (ECEF) coordinates: oriented boxes, spheres and
//! geographic regions, with distances, enclosing spheres and the
//! subdivision that implicit tiling uses.

use glam::{DMat3, DMat4, DVec3};
use urbis_formats::tiles3d::BoundingVolume;
use urbis_geo::{Ellipsoid, Geodetic};

/// A bounding volume placed in the world.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Volume {
    /// Centre and half-axis columns.
    Box {
        center: DVec3,
        half_axes: DMat3,
    },
    Sphere {
        center: DVec3,
        radius: f64,
    },
    /// Radians west, south, east, north; heights in metres (WGS84). Not transformed.
    Region {
        west: f64,
        south: f64,
        east: f64,
        north: f64,
        min_height: f64,
        max_height: f64,
    },
}

/// A volume that does not make sense (NaN, negative radius, more or less than one shape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad bounding volume: {0}")]
pub struct VolumeError(pub String);

impl Volume {
    /// Places a tileset bounding volume with the tile's world transform
    /// (regions are already geographic and ignore it, as the spec says).
    pub fn from_json(v: &BoundingVolume, transform: &DMat4) -> Result<Volume, VolumeError> {
        let shapes = v.oriented_box.is_some() as u8 + v.region.is_some() as u8 + v.sphere.is_some() as u8;
        if shapes == 0 {
            return Err(VolumeError("no box, region or sphere".into()));
        }
        let vol = if let Some(b) = v.oriented_box {
            let c = transform.transform_point3(DVec3::new(b[0], b[1], b[2]));
            let m = DMat3::from_mat4(*transform);
            let axes = DMat3::from_cols(
                m * DVec3::new(b[3], b[4], b[5]),
                m * DVec3::new(b[6], b[7], b[8]),
                m * DVec3::new(b[9], b[10], b[11]),
            );
            Volume::Box { center: c, half_axes: axes }
        } else if let Some(r) = v.region {
            if r[1] > r[3] || r[4] > r[5] {
                return Err(VolumeError(format!("region {r:?} has south > north or min > max height")));
            }
            Volume::Region { west: r[0], south: r[1], east: r[2], north: r[3], min_height: r[4], max_height: r[5] }
        } else if let Some(s) = v.sphere {
            let c = transform.transform_point3(DVec3::new(s[0], s[1], s[2]));
            let m = DMat3::from_mat4(*transform);
            let scale = m.x_axis.length().max(m.y_axis.length()).max(m.z_axis.length());
            if s[3] < 0.0 {
                return Err(VolumeError(format!("sphere radius {}", s[3])));
            }
            Volume::Sphere { center: c, radius: s[3] * scale }
        } else {
            unreachable_volume()
        };
        let (c, r) = vol.bounding_sphere();
        if !c.is_finite() || !r.is_finite() {
            return Err(VolumeError(format!("non-finite volume {vol:?}")));
        }
        Ok(vol)
    }

    /// The corners of a region's geodetic box in ECEF (and edge midpoints, to
    /// bound the bulge of large regions).
    fn region_points(&self) -> Vec<DVec3> {
        let Volume::Region { west, south, east, north, min_height, max_height } = *self else { return Vec::new() };
        let mut pts = Vec::with_capacity(18);
        let east = if east < west { east + std::f64::consts::TAU } else { east };
        for lon in [west, (west + east) / 2.0, east] {
            for lat in [south, (south + north) / 2.0, north] {
                for h in [min_height, max_height] {
                    pts.push(Ellipsoid::WGS84.geodetic_to_ecef(Geodetic::new(lon.to_degrees(), lat.to_degrees(), h)));
                }
            }
        }
        pts
    }

    /// The volume moved by a rigid (or uniformly scaled) transform; regions
    /// are geographic and stay where they are.
    pub fn transformed(&self, m: &DMat4) -> Volume {
        match *self {
            Volume::Box { center, half_axes } => {
                Volume::Box { center: m.transform_point3(center), half_axes: DMat3::from_mat4(*m) * half_axes }
            }
            Volume::Sphere { center, radius } => {
                Volume::Sphere { center: m.transform_point3(center), radius: radius * crate::tree::max_scale(m) }
            }
            r @ Volume::Region { .. } => r,
        }
    }

    /// A sphere that encloses the volume.
    pub fn bounding_sphere(&self) -> (DVec3, f64) {
        match *self {
            Volume::Sphere { center, radius } => (center, radius),
            Volume::Box { center, half_axes } => (
                center,
                (half_axes.x_axis + half_axes.y_axis + half_axes.z_axis)
                    .length()
                    .max((half_axes.x_axis - half_axes.y_axis + half_axes.z_axis).length())
                    .max((half_axes.x_axis + half_axes.y_axis - half_axes.z_axis).length())
                    .max((-half_axes.x_axis + half_axes.y_axis + half_axes.z_axis).length()),
            ),
            Volume::Region { .. } => {
                let pts = self.region_points();
                let c = pts.iter().copied().sum::<DVec3>() / pts.len() as f64;
                (c, pts.iter().map(|p| (*p - c).length()).fold(0.0, f64::max) * 1.02)
            }
        }
    }

    /// Distance from a point to the volume (0 inside). Boxes are exact;
    /// spheres exact; regions use their enclosing sphere.
    pub fn distance(&self, p: DVec3) -> f64 {
        match *self {
            Volume::Box { center, half_axes } => {
                let d = p - center;
                let mut out = 0.0;
                for axis in [half_axes.x_axis, half_axes.y_axis, half_axes.z_axis] {
                    let len = axis.length();
                    if len < 1e-12 {
                        continue;
                    }
                    let along = d.dot(axis / len);
                    let excess = along.abs() - len;
                    if excess > 0.0 {
                        out += excess * excess;
                    }
                }
                out.sqrt()
            }
            Volume::Sphere { center, radius } => ((p - center).length() - radius).max(0.0),
            Volume::Region { .. } => {
                let (c, r) = self.bounding_sphere();
                ((p - c).length() - r).max(0.0)
            }
        }
    }

    pub fn contains(&self, p: DVec3) -> bool {
        match *self {
            Volume::Region { west, south, east, north, min_height, max_height } => {
                let g = Ellipsoid::WGS84.ecef_to_geodetic(p);
                let (lon, lat) = (g.lon_deg.to_radians(), g.lat_deg.to_radians());
                let in_lon = if west <= east { lon >= west && lon <= east } else { lon >= west || lon <= east };
                in_lon && lat >= south && lat <= north && g.height >= min_height && g.height <= max_height
            }
            _ => self.distance(p) == 0.0,
        }
    }

    /// The child volume of implicit tiling at `level` (relative to this root), index (x, y, z).
    pub fn subdivide(&self, level: u32, x: u64, y: u64, z: u64, octree: bool) -> Volume {
        let n = (1u64 << level.min(62)) as f64;
        let f = |i: u64| (i as f64 + 0.5) / n * 2.0 - 1.0;
        match *self {
            Volume::Box { center, half_axes } => {
                let (u, v, w) = (half_axes.x_axis, half_axes.y_axis, half_axes.z_axis);
                let (cz, wz) = if octree { (w * f(z), w / n) } else { (DVec3::ZERO, w) };
                Volume::Box { center: center + u * f(x) + v * f(y) + cz, half_axes: DMat3::from_cols(u / n, v / n, wz) }
            }
            Volume::Region { west, south, east, north, min_height, max_height } => {
                let east_ = if east < west { east + std::f64::consts::TAU } else { east };
                let (dl, dp) = ((east_ - west) / n, (north - south) / n);
                let (h0, h1) = if octree {
                    let dh = (max_height - min_height) / n;
                    (min_height + dh * z as f64, min_height + dh * (z + 1) as f64)
                } else {
                    (min_height, max_height)
                };
                Volume::Region {
                    west: west + dl * x as f64,
                    south: south + dp * y as f64,
                    east: west + dl * (x + 1) as f64,
                    north: south + dp * (y + 1) as f64,
                    min_height: h0,
                    max_height: h1,
                }
            }
            Volume::Sphere { .. } => *self, // the spec does not allow spheres for implicit tiling
        }
    }
}

fn unreachable_volume() -> Volume {
    Volume::Sphere { center: DVec3::ZERO, radius: 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_distance_and_subdivision() {
        let b = Volume::Box { center: DVec3::ZERO, half_axes: DMat3::from_diagonal(DVec3::new(2.0, 1.0, 1.0)) };
        assert_eq!(b.distance(DVec3::new(1.0, 0.0, 0.0)), 0.0);
        assert!((b.distance(DVec3::new(5.0, 0.0, 0.0)) - 3.0).abs() < 1e-12);
        assert!((b.distance(DVec3::new(5.0, 5.0, 0.0)) - (9.0f64 + 16.0).sqrt()).abs() < 1e-12);
        let Volume::Box { center, half_axes } = b.subdivide(1, 1, 0, 0, false) else { panic!() };
        assert_eq!(center, DVec3::new(1.0, -0.5, 0.0));
        assert_eq!(half_axes.x_axis, DVec3::new(1.0, 0.0, 0.0));
        assert_eq!(half_axes.z_axis, DVec3::new(0.0, 0.0, 1.0));
    }

    #[test]
    fn region_contains_its_centre_and_splits_in_four() {
        let r =
            Volume::Region { west: -1.32, south: 0.69, east: -1.31, north: 0.70, min_height: 0.0, max_height: 100.0 };
        let c = Ellipsoid::WGS84.geodetic_to_ecef(Geodetic::new((-1.315f64).to_degrees(), 0.695f64.to_degrees(), 50.0));
        assert!(r.contains(c));
        assert_eq!(r.distance(c), 0.0);
        let Volume::Region { west, north, .. } = r.subdivide(1, 1, 1, 0, false) else { panic!() };
        assert!((west - -1.315).abs() < 1e-12 && (north - 0.70).abs() < 1e-12);
    }
}
