//! Measurement tools: distance, polyline length, area and height, on the
//! city's geometry.
//!
//! ```text
//! cursor pixel ─► camera ray (f64) ─► SpatialIndex::ray_cast (exact, CPU mesh)
//!              ─► snap to the hit feature's nearest vertex within SNAP_PX
//!              ─► Measurement (points in the city's ENU frame, f64)
//!              ─► figures (metres, square metres) + overlay lines and labels
//! ```
//!
//! Everything is measured in the city's local east-north-up frame, in f64:
//! horizontal means the east-north plane, vertical the up axis.

use bevy_ecs::prelude::Entity;
use glam::DVec3;
use urbis_model::{CityModel, GeometryHandle, InstanceTransform, MeshStore, Placement};
use urbis_render::{Camera, OverlayLine, Panel};

/// A measured point snaps to a vertex of the hit feature this close on screen, pixels.
pub const SNAP_PX: f64 = 10.0;

/// What a measurement measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Straight line between two points (3D, with its horizontal and vertical parts).
    Distance,
    /// Length along several points.
    Polyline,
    /// Area of the polygon through several points (horizontal and on its own plane).
    Area,
    /// Vertical difference between two points.
    Height,
}

impl MeasureKind {
    pub fn name(self) -> &'static str {
        match self {
            MeasureKind::Distance => "distance",
            MeasureKind::Polyline => "polyline",
            MeasureKind::Area => "area",
            MeasureKind::Height => "height",
        }
    }

    /// Points that finish the measurement by themselves (`None`: until finished).
    fn points_needed(self) -> Option<usize> {
        match self {
            MeasureKind::Distance | MeasureKind::Height => Some(2),
            MeasureKind::Polyline | MeasureKind::Area => None,
        }
    }
}

/// A measurement being made or made: its points in the city frame (ENU, metres).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub kind: MeasureKind,
    pub points: Vec<DVec3>,
    /// No more points are taken.
    pub finished: bool,
}

/// A measurement's figures, metres and square metres.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Along the points (closed for an area: the perimeter).
    pub length: f64,
    /// The same projected on the horizontal plane.
    pub horizontal: f64,
    /// Last point's height minus the first's.
    pub vertical: f64,
    /// Area of the polygon projected on the horizontal plane (0 under three points).
    pub area_horizontal: f64,
    /// Area of the polygon on its own (best-fit, Newell) plane.
    pub area_surface: f64,
}

impl Measurement {
    pub fn new(kind: MeasureKind) -> Self {
        Self { kind, points: Vec::new(), finished: false }
    }

    /// Adds a point; true when this finishes the measurement.
    pub fn add(&mut self, p: DVec3) -> bool {
        if self.finished {
            return true;
        }
        self.points.push(p);
        if self.kind.points_needed().is_some_and(|n| self.points.len() >= n) {
            self.finished = true;
        }
        self.finished
    }

    /// Takes no more points (a polyline or area ends here).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    pub fn figures(&self) -> Figures {
        let p = &self.points;
        let closed = self.kind == MeasureKind::Area && p.len() > 2;
        let mut f = Figures::default();
        let n = p.len();
        let segments = if closed { n } else { n.saturating_sub(1) };
        for i in 0..segments {
            let (a, b) = (p[i], p[(i + 1) % n]);
            f.length += (b - a).length();
            f.horizontal += (b - a).truncate().length();
        }
        if let (Some(a), Some(b)) = (p.first(), p.last()) {
            f.vertical = b.z - a.z;
        }
        if n > 2 {
            // Shoelace on the horizontal plane, Newell's normal for the polygon's own plane.
            let mut twice = 0.0;
            let mut normal = DVec3::ZERO;
            for i in 0..n {
                let (a, b) = (p[i] - p[0], p[(i + 1) % n] - p[0]);
                twice += a.x * b.y - b.x * a.y;
                normal += a.cross(b);
            }
            f.area_horizontal = twice.abs() / 2.0;
            f.area_surface = normal.length() / 2.0;
        }
        f
    }

    /// The figures as text lines (metres, square metres).
    pub fn lines(&self) -> Vec<String> {
        let f = self.figures();
        let n = self.points.len();
        match self.kind {
            MeasureKind::Distance if n >= 2 => vec![
                format!("distance {}", metres(f.length)),
                format!("horizontal {}", metres(f.horizontal)),
                format!("vertical {}", metres(f.vertical)),
            ],
            MeasureKind::Height if n >= 2 => vec![format!("height {}", metres(f.vertical))],
            MeasureKind::Polyline if n >= 2 => {
                vec![format!("length {}", metres(f.length)), format!("horizontal {}", metres(f.horizontal))]
            }
            MeasureKind::Area if n >= 3 => vec![
                format!("area {} (horizontal)", square_metres(f.area_horizontal)),
                format!("area {} (on its plane)", square_metres(f.area_surface)),
                format!("perimeter {}", metres(f.length)),
            ],
            kind => vec![format!(
                "{}: click points on the city{}",
                kind.name(),
                match kind {
                    MeasureKind::Polyline | MeasureKind::Area => ", Enter to finish",
                    _ => "",
                }
            )],
        }
    }

    /// The one-line label drawn in the view: the main figure.
    pub fn label(&self) -> Option<String> {
        let f = self.figures();
        let n = self.points.len();
        Some(match self.kind {
            MeasureKind::Distance if n >= 2 => metres(f.length),
            MeasureKind::Height if n >= 2 => format!("h {}", metres(f.vertical)),
            MeasureKind::Polyline if n >= 2 => metres(f.length),
            MeasureKind::Area if n >= 3 => square_metres(f.area_horizontal),
            _ => return None,
        })
    }

    /// The polyline drawn on screen (segments behind the camera are cut at
    /// its near plane) and a label panel at the last point, or at the
    /// top of the vertical for a height.
    pub fn overlay(
        &self,
        model: &CityModel,
        camera: &Camera,
        width: u32,
        height: u32,
        scale: f32,
    ) -> (Vec<OverlayLine>, Option<Panel>) {
        let color = [1.0, 0.78, 0.05, 1.0];
        let mut pts: Vec<DVec3> = self.points.clone();
        if self.kind == MeasureKind::Height && pts.len() == 2 {
            // Up from the lower point to the higher one's level, then across.
            let (lo, hi) = if pts[0].z <= pts[1].z { (pts[0], pts[1]) } else { (pts[1], pts[0]) };
            pts = vec![lo, DVec3::new(lo.x, lo.y, hi.z), hi];
        }
        let closed = self.kind == MeasureKind::Area && pts.len() > 2;
        let line = |points: Vec<[f32; 2]>| OverlayLine { points, closed: false, width: 3.0, color, markers: true };
        let mut lines = Vec::new();
        let n = pts.len();
        let segments = if closed { n } else { n.saturating_sub(1) };
        // Runs of connected segments on screen; a segment behind the camera ends a run.
        let mut current: Vec<[f32; 2]> = Vec::new();
        for i in 0..segments {
            let seg = segment_on_screen(model, camera, pts[i], pts[(i + 1) % n], width, height);
            let continues = matches!(seg, Some((a, _)) if current.last() == Some(&a));
            if !continues {
                if current.len() > 1 {
                    lines.push(line(std::mem::take(&mut current)));
                }
                current.clear();
            }
            if let Some((a, b)) = seg {
                if current.is_empty() {
                    current.push(a);
                }
                current.push(b);
            }
        }
        if n == 1
            && let Some(a) = point_on_screen(model, camera, pts[0], width, height)
        {
            current = vec![a];
        }
        if !current.is_empty() {
            lines.push(line(current));
        }
        let label_at = match self.kind {
            MeasureKind::Height if pts.len() == 3 => Some((pts[0] + pts[1]) / 2.0),
            MeasureKind::Distance if pts.len() == 2 => Some((pts[0] + pts[1]) / 2.0),
            MeasureKind::Area if pts.len() > 2 => Some(pts.iter().copied().sum::<DVec3>() / pts.len() as f64),
            _ => pts.last().copied(),
        };
        let panel = label_at.and_then(|p| point_on_screen(model, camera, p, width, height)).and_then(|[x, y]| {
            let text = self.label()?;
            Some(Panel { x: x + 6.0 * scale, y: y - 10.0 * scale, title: None, lines: vec![text] })
        });
        (lines, panel)
    }
}

fn metres(v: f64) -> String {
    if v.abs() >= 1000.0 { format!("{:.3} km", v / 1000.0) } else { format!("{v:.2} m") }
}

fn square_metres(v: f64) -> String {
    if v >= 1.0e6 { format!("{:.4} km²", v / 1.0e6) } else { format!("{v:.1} m²") }
}

/// Pixel of an ENU point in front of the camera (anywhere on the image plane).
fn point_on_screen(model: &CityModel, camera: &Camera, p: DVec3, width: u32, height: u32) -> Option<[f32; 2]> {
    let rel = model.frame().enu_to_ecef(p) - camera.position;
    let clip = camera.view_projection(f64::from(width) / f64::from(height.max(1))) * rel.as_vec3().extend(1.0);
    (clip.w > 0.0)
        .then(|| [(clip.x / clip.w * 0.5 + 0.5) * width as f32, (0.5 - clip.y / clip.w * 0.5) * height as f32])
}

/// A segment's pixels, cut where it passes behind the camera's near plane.
pub(crate) fn segment_on_screen(
    model: &CityModel,
    camera: &Camera,
    a: DVec3,
    b: DVec3,
    width: u32,
    height: u32,
) -> Option<([f32; 2], [f32; 2])> {
    let frame = model.frame();
    // Depth in front of the camera, metres.
    let depth = |p: DVec3| (frame.enu_to_ecef(p) - camera.position).dot(camera.forward());
    let near = camera.near.max(0.01) * 1.01;
    let (da, db) = (depth(a), depth(b));
    if da < near && db < near {
        return None;
    }
    let cut = |from: DVec3, to: DVec3, df: f64, dt: f64| from + (to - from) * ((near - df) / (dt - df));
    let (a, b) = match (da < near, db < near) {
        (true, false) => (cut(a, b, da, db), b),
        (false, true) => (a, cut(b, a, db, da)),
        _ => (a, b),
    };
    Some((point_on_screen(model, camera, a, width, height)?, point_on_screen(model, camera, b, width, height)?))
}

/// The city point under pixel (x, y), snapped to the hit feature's nearest
/// vertex within [`SNAP_PX`] that the camera sees; with the feature hit.
pub fn surface_point(
    model: &CityModel,
    camera: &Camera,
    x: f64,
    y: f64,
    width: u32,
    height: u32,
) -> Option<(DVec3, Entity)> {
    let frame = model.frame();
    let (origin, dir) = camera.pixel_ray(x, y, width, height);
    let (o, d) = (frame.ecef_to_enu(origin), frame.enu_to_ecef_rot.transpose() * dir);
    let hit = model.spatial().ray_cast(&model.world, o, d, 100_000.0)?;
    let mut best: Option<(f64, DVec3)> = None;
    for v in feature_vertices(model, hit.entity) {
        let Some([px, py]) = point_on_screen(model, camera, v, width, height) else { continue };
        let dist = (f64::from(px) - x).hypot(f64::from(py) - y);
        if dist <= SNAP_PX && best.is_none_or(|(b, _)| dist < b) {
            best = Some((dist, v));
        }
    }
    if let Some((_, v)) = best {
        // Only a vertex in sight: the ray to it meets nothing nearer.
        let to = v - o;
        let seen = model
            .spatial()
            .ray_cast(&model.world, o, to, to.length() + 1.0)
            .is_none_or(|h| h.distance >= to.length() - 0.05);
        if seen {
            return Some((v, hit.entity));
        }
    }
    Some((hit.point, hit.entity))
}

/// A feature's mesh vertices in the city frame (ENU), instances transformed.
pub fn feature_vertices(model: &CityModel, e: Entity) -> Vec<DVec3> {
    let world = &model.world;
    let (Some(g), Some(p), Some(store)) =
        (world.get::<GeometryHandle>(e), world.get::<Placement>(e), world.get_resource::<MeshStore>())
    else {
        return Vec::new();
    };
    let Some(mesh) = store.get(g.mesh) else { return Vec::new() };
    let linear = world.get::<InstanceTransform>(e).map(|t| t.linear);
    mesh.vertices
        .iter()
        .map(|v| {
            let local = v.position.as_dvec3();
            p.enu + linear.map_or(local, |m| m * local)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_a_right_triangle_and_a_tilted_square() {
        // A 3-4-5 triangle: perimeter 12, area 6 (both planes, it is flat).
        let mut m = Measurement::new(MeasureKind::Area);
        for p in [DVec3::ZERO, DVec3::new(3.0, 0.0, 0.0), DVec3::new(3.0, 4.0, 0.0)] {
            assert!(!m.add(p));
        }
        let f = m.figures();
        assert!((f.length - 12.0).abs() < 1e-12 && (f.area_horizontal - 6.0).abs() < 1e-12, "{f:?}");
        // A unit square tilted 60° about the x axis: 1 m² on its plane, cos 60° = 0.5 m² seen from above.
        let (c, s) = (60f64.to_radians().cos(), 60f64.to_radians().sin());
        let mut m = Measurement::new(MeasureKind::Area);
        for p in [DVec3::ZERO, DVec3::X, DVec3::new(1.0, c, s), DVec3::new(0.0, c, s)] {
            m.add(p);
        }
        let f = m.figures();
        assert!((f.area_surface - 1.0).abs() < 1e-12 && (f.area_horizontal - 0.5).abs() < 1e-12, "{f:?}");
        // Distance: a 2-3-6 box diagonal is 7.
        let mut d = Measurement::new(MeasureKind::Distance);
        assert!(!d.add(DVec3::new(1.0, 1.0, 1.0)));
        assert!(d.add(DVec3::new(3.0, 4.0, 7.0)));
        let f = d.figures();
        assert!((f.length - 7.0).abs() < 1e-12 && (f.horizontal - 13f64.sqrt()).abs() < 1e-12, "{f:?}");
        assert!((f.vertical - 6.0).abs() < 1e-12);
        assert!(d.add(DVec3::ZERO) && d.points.len() == 2, "a finished distance takes no more points");
    }
}
