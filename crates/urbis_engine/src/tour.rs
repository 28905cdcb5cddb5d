//! Camera tours: poses with the seconds taken to reach each, recorded in
//! the viewer (`urbis view --record-tour FILE`, key K), replayed in the
//! viewer (`urbis view --tour FILE`) or flown headless into a PNG sequence
//! (`urbis fly --tour FILE --out-dir DIR`).
//!
//! ```text
//! viewer camera ─K─► TourPose (lon, lat, height, heading, pitch, duration) ─write─► tour.json
//! tour.json ─read_tour─► poses ─pose_at(t) / frames(n)─► cameras
//! ```
//!
//! Between two poses everything moves linearly with time, and the heading
//! turns the short way round.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use urbis_render::Camera;

use crate::GeodeticPose;

/// A tour that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TourError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Not a tour: the field (JSON path) and why.
    #[error("{path}: {field}: {message}")]
    Invalid { path: PathBuf, field: String, message: String },
}

/// One pose of a tour, reached `duration` seconds after the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TourPose {
    pub lon: f64,
    pub lat: f64,
    pub height: f64,
    #[serde(default)]
    pub heading: f64,
    #[serde(default)]
    pub pitch: f64,
    #[serde(default = "one")]
    pub duration: f64,
}

fn one() -> f64 {
    1.0
}

impl TourPose {
    pub fn pose(&self) -> GeodeticPose {
        GeodeticPose { lon: self.lon, lat: self.lat, height: self.height, heading: self.heading, pitch: self.pitch }
    }

    pub fn from_pose(p: GeodeticPose, duration: f64) -> Self {
        Self { lon: p.lon, lat: p.lat, height: p.height, heading: p.heading, pitch: p.pitch, duration }
    }
}

/// Checks a tour's poses (`path` names it in errors).
pub fn parse_tour(bytes: &[u8], path: &Path) -> Result<Vec<TourPose>, TourError> {
    let invalid = |field: String, message: String| TourError::Invalid { path: path.to_path_buf(), field, message };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let tour: Vec<TourPose> =
        serde_path_to_error::deserialize(&mut de).map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
    if tour.is_empty() {
        return Err(invalid(".".into(), "the tour has no poses".into()));
    }
    for (i, p) in tour.iter().enumerate() {
        let ok = [p.lon, p.lat, p.height, p.heading, p.pitch, p.duration].iter().all(|v| v.is_finite())
            && p.lat.abs() <= 90.0
            && p.pitch.abs() <= 90.0
            && (0.0..=86_400.0).contains(&p.duration);
        if !ok {
            let message = "out of range (finite; lat and pitch within ±90°, duration 0 to 86,400 s)".into();
            return Err(invalid(format!("[{i}]"), message));
        }
    }
    Ok(tour)
}

/// Reads a tour: a JSON list of poses with durations.
pub fn read_tour(path: &Path) -> Result<Vec<TourPose>, TourError> {
    let bytes = std::fs::read(path).map_err(|source| TourError::Io { path: path.to_path_buf(), source })?;
    parse_tour(&bytes, path)
}

/// Writes a tour (through a temporary file, so a crash leaves the last good one).
pub fn write_tour(path: &Path, tour: &[TourPose]) -> Result<(), TourError> {
    let io = |source| TourError::Io { path: path.to_path_buf(), source };
    let json = serde_json::to_string_pretty(tour).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Seconds from the first pose to the last.
pub fn duration(tour: &[TourPose]) -> f64 {
    tour.iter().skip(1).map(|p| p.duration).sum()
}

fn lerp_pose(a: &TourPose, b: &TourPose, t: f64) -> GeodeticPose {
    let lerp = |x: f64, y: f64| x + (y - x) * t;
    let dh = (b.heading - a.heading + 540.0).rem_euclid(360.0) - 180.0;
    GeodeticPose {
        lon: lerp(a.lon, b.lon),
        lat: lerp(a.lat, b.lat),
        height: lerp(a.height, b.height),
        heading: a.heading + dh * t,
        pitch: lerp(a.pitch, b.pitch),
    }
}

/// The pose `seconds` into the tour (the last pose after its end).
pub fn pose_at(tour: &[TourPose], seconds: f64) -> Option<GeodeticPose> {
    let mut t = seconds.max(0.0);
    for w in tour.windows(2) {
        if t <= w[1].duration && w[1].duration > 0.0 {
            return Some(lerp_pose(&w[0], &w[1], t / w[1].duration));
        }
        t -= w[1].duration;
    }
    tour.last().map(TourPose::pose)
}

/// The camera path in `frames` steps shared out by duration: one camera per
/// frame, and the index of the pose a frame arrives at.
pub fn frames(tour: &[TourPose], frames: usize, fov: f64) -> Vec<(Camera, Option<usize>)> {
    let cam = |g: GeodeticPose| {
        let mut c = g.camera();
        c.fov_y = fov;
        c
    };
    let Some(first) = tour.first() else { return Vec::new() };
    let total = duration(tour);
    let mut out = vec![(cam(first.pose()), Some(0))];
    for (i, w) in tour.windows(2).enumerate() {
        let n = if total > 0.0 { ((frames as f64 * w[1].duration / total).round() as usize).max(1) } else { 1 };
        for k in 1..=n {
            out.push((cam(lerp_pose(&w[0], &w[1], k as f64 / n as f64)), (k == n).then_some(i + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_between_keyframes_move_linearly_and_turn_the_short_way() {
        let a = TourPose { lon: 10.0, lat: 50.0, height: 100.0, heading: 350.0, pitch: -30.0, duration: 0.0 };
        let b = TourPose { lon: 10.2, lat: 50.1, height: 300.0, heading: 10.0, pitch: -10.0, duration: 4.0 };
        let p = pose_at(&[a, b], 1.0).expect("pose");
        assert!((p.lon - 10.05).abs() < 1e-12 && (p.height - 150.0).abs() < 1e-9, "{p:?}");
        assert!((p.heading - 355.0).abs() < 1e-9, "350° → 10° passes north: {}", p.heading);
        assert_eq!(pose_at(&[a, b], 99.0), Some(b.pose()));
        let path = frames(&[a, b], 8, 0.8);
        assert_eq!(path.len(), 9);
        assert_eq!((path[0].1, path[8].1), (Some(0), Some(1)));
        let e = parse_tour(b"[{\"lon\": 1, \"lat\": 95, \"height\": 3}]", Path::new("t.json")).expect_err("lat 95");
        assert!(e.to_string().starts_with("t.json: [0]: out of range"), "{e}");
        let e = parse_tour(b"[{\"lon\": 1, \"lat\": \"x\", \"height\": 3}]", Path::new("t.json")).expect_err("type");
        assert!(e.to_string().starts_with("t.json: [0].lat: invalid type"), "{e}");
    }
}
