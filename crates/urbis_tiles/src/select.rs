//! Static screen-space-error selection with Cesium's semantics: refine a
//! tile while its geometric error, projected to the screen from the camera's
//! distance to its bounding volume, exceeds the threshold (16 px by
//! default); ADD shows parent and children, REPLACE shows children instead.

use std::collections::HashSet;

use glam::DVec3;

use crate::tree::{Pending, Refine, TileId, TileTree};
use crate::volume::Volume;

/// The camera a selection is made for (world/ECEF coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub position: DVec3,
    /// Unit view direction.
    pub direction: DVec3,
    /// Unit up vector (orthogonal to the direction).
    pub up: DVec3,
    /// Vertical field of view, radians.
    pub fov_y: f64,
    /// Width / height.
    pub aspect: f64,
    pub viewport_height: f64,
    /// Maximum screen-space error in pixels (Cesium's default is 16).
    pub max_sse: f64,
    /// Skip tiles outside the view frustum.
    pub cull: bool,
}

impl View {
    /// Projected screen-space error of a geometric error seen from `distance`.
    pub fn sse(&self, geometric_error: f64, distance: f64) -> f64 {
        if distance <= 1e-9 {
            return f64::INFINITY;
        }
        geometric_error * self.viewport_height / (2.0 * distance * (self.fov_y / 2.0).tan())
    }

    /// Whether a sphere touches the view frustum (no far plane).
    pub fn sees(&self, center: DVec3, radius: f64) -> bool {
        self.sees_extent(center, |_| radius)
    }

    /// Whether a bounding volume touches the view frustum; boxes are tested
    /// as oriented boxes (a flat city tile's enclosing sphere is far larger).
    pub fn sees_volume(&self, v: &Volume) -> bool {
        match *v {
            Volume::Box { center, half_axes } => self.sees_extent(center, |n| {
                n.dot(half_axes.x_axis).abs() + n.dot(half_axes.y_axis).abs() + n.dot(half_axes.z_axis).abs()
            }),
            _ => {
                let (c, r) = v.bounding_sphere();
                self.sees(c, r)
            }
        }
    }

    /// The frustum test with the volume's extent along each plane normal.
    fn sees_extent(&self, center: DVec3, extent: impl Fn(DVec3) -> f64) -> bool {
        let radius = |n: DVec3| extent(n);
        let d = center - self.position;
        let right = self.direction.cross(self.up).normalize();
        let up = right.cross(self.direction);
        let ty = (self.fov_y / 2.0).tan();
        let tx = ty * self.aspect;
        // Outward normals of the four side planes through the eye, each
        // holding an edge direction of the frustum (dir ± right·tan, dir ± up·tan).
        let planes = [
            (self.direction + right * tx).cross(up).normalize(),
            up.cross(self.direction - right * tx).normalize(),
            right.cross(self.direction + up * ty).normalize(),
            (self.direction - up * ty).cross(right).normalize(),
        ];
        d.dot(self.direction) >= -radius(self.direction) && planes.iter().all(|n| -n.dot(d) >= -radius(*n))
    }
}

/// The tiles to show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub tiles: Vec<TileId>,
    pub visited: usize,
    pub culled: usize,
    /// Tiles of a lazy tree whose pending part (an implicit subtree, an
    /// external tileset) selection needs next; until it is grafted the tile
    /// above stands in.
    pub expand: Vec<TileId>,
}

fn visible(view: &View, v: &Volume) -> bool {
    view.sees_volume(v)
}

fn visible_or_uncull(view: &View, v: &Volume) -> bool {
    !view.cull || visible(view, v)
}

/// Whether a box lies wholly in the Earth's shadow seen from the view: in
/// the ellipsoid's scaled space (the WGS84 ellipsoid shrunk by 1 km, so
/// valleys below it are never hidden wrongly, scaled to the unit sphere, as
/// Cesium's `EllipsoidalOccluder` does), every corner lies inside the cone
/// from the eye tangent to the sphere and beyond the plane of its circle of
/// tangency. That region is convex (a cone cut by a half-space) and scaling
/// keeps convexity, so the whole box is hidden when its corners are. Terrain
/// on the far side of the globe is then not loaded.
pub(crate) fn behind_the_earth(view: &View, volume: &Volume) -> bool {
    let e = urbis_geo::Ellipsoid::WGS84;
    let radii = DVec3::new(e.a - 1000.0, e.a - 1000.0, e.b() - 1000.0);
    let Volume::Box { center, half_axes } = *volume else { return false };
    let eye = view.position / radii;
    let d = eye.length();
    if d <= 1.0 {
        return false;
    }
    let axis = -eye / d;
    let cos_alpha = (1.0 - 1.0 / (d * d)).sqrt();
    let plane = 1.0 / d;
    (0..8).all(|k| {
        let s = |bit: u32| if k & (1 << bit) == 0 { -1.0 } else { 1.0 };
        let p = (center + half_axes.x_axis * s(0) + half_axes.y_axis * s(1) + half_axes.z_axis * s(2)) / radii;
        let to = p - eye;
        to.dot(axis) >= cos_alpha * to.length() && p.dot(-axis) < plane
    })
}

/// Selects the tiles to show for `view`. Tiles in `failed` cannot show
/// content; a REPLACE parent whose child failed stays shown.
pub fn select(tree: &TileTree, view: &View, failed: &HashSet<TileId>) -> Selection {
    let mut out = Selection::default();
    if tree.is_empty() {
        return out;
    }
    let mut stack = vec![tree.root()];
    while let Some(id) = stack.pop() {
        let node = tree.get(id);
        out.visited += 1;
        if view.cull
            && (!visible(view, &node.volume) || (tree.generator.is_some() && behind_the_earth(view, &node.volume)))
        {
            out.culled += 1;
            continue;
        }
        if matches!(node.pending, Some(Pending::Subtree { .. })) {
            // Its content and children are not known yet.
            out.expand.push(id);
            continue;
        }
        let in_request_volume = node.viewer_request_volume.as_ref().is_none_or(|v| v.contains(view.position));
        let renderable = !node.contents.is_empty() && !failed.contains(&id) && in_request_volume;
        let sse = view.sse(node.geometric_error, node.volume.distance(view.position));
        let external = matches!(node.pending, Some(Pending::External { .. } | Pending::Osgb { .. } | Pending::Terrain));
        let refine = sse > view.max_sse && (!node.children.is_empty() || external);
        if !refine {
            if renderable {
                out.tiles.push(id);
            }
            continue;
        }
        let waiting: Vec<TileId> = node
            .children
            .iter()
            .copied()
            .filter(|c| matches!(tree.get(*c).pending, Some(Pending::Subtree { .. })))
            .filter(|c| visible_or_uncull(view, &tree.get(*c).volume))
            .collect();
        if external || (!waiting.is_empty() && node.refine == Refine::Replace) {
            // Children not known yet: this tile stands in while they are fetched.
            if external {
                out.expand.push(id);
            }
            out.expand.extend(waiting.iter().copied());
            if renderable {
                out.tiles.push(id);
            }
            continue;
        }
        match node.refine {
            Refine::Add => {
                if renderable {
                    out.tiles.push(id);
                }
            }
            Refine::Replace => {
                let child_failed = node.children.iter().any(|c| failed.contains(c));
                if child_failed && renderable {
                    out.tiles.push(id);
                    continue;
                }
            }
        }
        stack.extend(node.children.iter().rev());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_follows_cesium() {
        let v = View {
            position: DVec3::ZERO,
            direction: DVec3::X,
            up: DVec3::Z,
            fov_y: 60f64.to_radians(),
            aspect: 1.0,
            viewport_height: 1000.0,
            max_sse: 16.0,
            cull: true,
        };
        // 1 m error at 100 m with a 60° fov over 1000 px: 1000 / (200 tan 30°) = 8.66 px.
        assert!((v.sse(1.0, 100.0) - 8.660254).abs() < 1e-5);
        assert!(v.sees(DVec3::new(10.0, 0.0, 0.0), 1.0));
        assert!(!v.sees(DVec3::new(-10.0, 0.0, 0.0), 1.0));
        assert!(!v.sees(DVec3::new(10.0, 30.0, 0.0), 1.0));
        assert!(v.sees(DVec3::new(10.0, 30.0, 0.0), 30.0));
    }

    #[test]
    fn frustum_edges_are_at_the_field_of_view() {
        // 60° vertical, 2:1: half-angles 30° up/down and atan(2 tan 30°) = 49.1° sideways.
        let v = View {
            position: DVec3::ZERO,
            direction: DVec3::X,
            up: DVec3::Z,
            fov_y: 60f64.to_radians(),
            aspect: 2.0,
            viewport_height: 1000.0,
            max_sse: 16.0,
            cull: true,
        };
        let at = |deg_up: f64, deg_side: f64| {
            let (u, s) = (deg_up.to_radians(), deg_side.to_radians());
            DVec3::new(100.0, -100.0 * s.tan(), 100.0 * u.tan())
        };
        let side = (2.0 * 30f64.to_radians().tan()).atan().to_degrees();
        for (up, sideways, seen) in [
            (29.0, 0.0, true),
            (31.0, 0.0, false),
            (-29.0, 0.0, true),
            (-31.0, 0.0, false),
            (0.0, side - 1.0, true),
            (0.0, side + 1.0, false),
            (0.0, -side + 1.0, true),
            (0.0, -side - 1.0, false),
        ] {
            assert_eq!(v.sees(at(up, sideways), 0.01), seen, "{up}° up, {sideways}° to the right");
        }
        // An oriented box is culled by its extent along each plane, a flat tile's sphere would not be.
        let flat = Volume::Box {
            center: DVec3::new(100.0, 0.0, -200.0),
            half_axes: glam::DMat3::from_diagonal(DVec3::new(150.0, 150.0, 1.0)),
        };
        assert!(!v.sees_volume(&flat));
        let (c, r) = flat.bounding_sphere();
        assert!(v.sees(c, r), "the enclosing sphere reaches into the view");
    }
}

#[cfg(test)]
mod horizon_tests {
    use super::*;
    use crate::terrain::{TileCoord, geographic_rect, tile_box};

    fn view_from(lon: f64, lat: f64, h: f64) -> View {
        let g = urbis_geo::Ellipsoid::WGS84;
        let eye = g.geodetic_to_ecef(urbis_geo::Geodetic::new(lon, lat, h));
        let basis = urbis_geo::enu_basis(lon, lat);
        View {
            position: eye,
            direction: -basis.z_axis,
            up: basis.y_axis,
            fov_y: 1.0,
            aspect: 1.0,
            viewport_height: 512.0,
            max_sse: 16.0,
            cull: true,
        }
    }

    #[test]
    fn the_far_side_of_the_earth_is_hidden_and_the_near_side_is_not() {
        let v = view_from(115.9, 39.0, 300.0);
        let under = TileCoord {
            z: 10,
            x: ((115.9 + 180.0) / (180.0 / 1024.0)) as u32,
            y: ((39.0 + 90.0) / (180.0 / 1024.0)) as u32,
        };
        assert!(!behind_the_earth(&v, &tile_box(geographic_rect(under), [0.0, 100.0])), "the tile below");
        // The antipode's quarter of the globe (level 1: 90° tiles), and a level-3 tile on the far side.
        let far = TileCoord { z: 1, x: 0, y: 0 };
        assert!(behind_the_earth(&v, &tile_box(geographic_rect(far), [0.0, 0.0])), "the antipodal quarter");
        assert!(behind_the_earth(&v, &tile_box(geographic_rect(TileCoord { z: 3, x: 3, y: 2 }), [0.0, 0.0])));
        // 20,000 km up, the hemisphere below is seen: its tile is not hidden.
        let high = view_from(115.9, 39.0, 2.0e7);
        assert!(!behind_the_earth(&high, &tile_box(geographic_rect(TileCoord { z: 3, x: 12, y: 5 }), [0.0, 0.0])));
        // A tile beyond the horizon but standing high above it (a box 200 km
        // tall 600 km away) is not hidden from 300 m up.
        let beyond = TileCoord {
            z: 8,
            x: ((121.5 + 180.0) / (180.0 / 256.0)) as u32,
            y: ((39.0 + 90.0) / (180.0 / 256.0)) as u32,
        };
        assert!(behind_the_earth(&v, &tile_box(geographic_rect(beyond), [0.0, 0.0])), "flat, past the horizon");
        assert!(!behind_the_earth(&v, &tile_box(geographic_rect(beyond), [0.0, 200_000.0])), "tall, above it");
    }
}
