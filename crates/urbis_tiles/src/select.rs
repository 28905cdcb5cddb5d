//! Static screen-space-error selection with Cesium's semantics: refine a
//! tile while its geometric error, projected to the screen from the camera's
//! distance to its bounding volume, exceeds the threshold (16 px by
//! default); ADD shows parent and children, REPLACE shows children instead.

use std::collections::HashSet;

use glam::DVec3;

use crate::tree::{Refine, TileId, TileTree};
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
        let d = center - self.position;
        let right = self.direction.cross(self.up).normalize();
        let up = right.cross(self.direction);
        let ty = (self.fov_y / 2.0).tan();
        let tx = ty * self.aspect;
        // Inward normals of the four side planes through the eye.
        let planes = [
            (self.direction * tx + right).normalize().cross(up),
            up.cross((self.direction * tx - right).normalize()),
            right.cross((self.direction * ty + up).normalize()),
            (self.direction * ty - up).normalize().cross(right),
        ];
        d.dot(self.direction) >= -radius && planes.iter().all(|n| -n.dot(d) >= -radius)
    }
}

/// The tiles to show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub tiles: Vec<TileId>,
    pub visited: usize,
    pub culled: usize,
}

fn visible(view: &View, v: &Volume) -> bool {
    let (c, r) = v.bounding_sphere();
    view.sees(c, r)
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
        if view.cull && !visible(view, &node.volume) {
            out.culled += 1;
            continue;
        }
        let in_request_volume = node.viewer_request_volume.as_ref().is_none_or(|v| v.contains(view.position));
        let renderable = !node.contents.is_empty() && !failed.contains(&id) && in_request_volume;
        let sse = view.sse(node.geometric_error, node.volume.distance(view.position));
        let refine = sse > view.max_sse && !node.children.is_empty();
        if !refine {
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
}
