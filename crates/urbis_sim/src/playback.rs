//! A flood run's water depth over time, for playback in the viewer's
//! timeline: `urbis sim run` writes `{baseline,scenario}/flood/playback.bin`
//! (depth of every cell at every gauge interval), `urbis view --flood FILE`
//! plays it as a water surface over the city.
//!
//! ```text
//! FloodSim (h per cell, every gauge interval) ─► FloodPlayback ─write─► playback.bin
//! playback.bin ─read (sizes checked against the file)─► FloodPlayback ─depth_at(t)─► water surface
//! ```
//!
//! The file: the 8 bytes `URBISFLD`, a u32 version (1), a u32 length and
//! that many bytes of JSON header (`nx`, `ny`, `dx`, `origin` ENU of cell 0,
//! `times` in seconds), then the cells' ENU offsets from `origin` (x, y and
//! bed height; f32 × 3 each), then one f32 depth (metres) per cell for each
//! time. Little-endian; row 0 is south, as in the flood grid.

use std::path::{Path, PathBuf};

use glam::DVec3;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"URBISFLD";
const VERSION: u32 = 1;
/// Largest grid read back: 64 M cells (the solver's own limit is lower).
const MAX_CELLS: usize = 1 << 26;

/// Why a playback file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: at byte {offset}: {message}")]
    Invalid { path: PathBuf, offset: usize, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    nx: usize,
    ny: usize,
    dx: f64,
    origin: [f64; 3],
    times: Vec<f64>,
}

/// Depths of a flood grid over time.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodPlayback {
    pub nx: usize,
    pub ny: usize,
    /// Cell size, metres.
    pub dx: f64,
    /// ENU of each cell centre, with its bed height in z (row 0 south).
    pub cells: Vec<DVec3>,
    /// (seconds since the start, depth per cell in metres), in time order.
    pub frames: Vec<(f64, Vec<f32>)>,
}

impl FloodPlayback {
    /// A playback of the grid whose cell centres (bed heights in z) are `cells`.
    pub fn new(nx: usize, ny: usize, dx: f64, cells: Vec<DVec3>) -> Self {
        Self { nx, ny, dx, cells, frames: Vec::new() }
    }

    /// Adds the depths at `t_s` (one per cell).
    pub fn push(&mut self, t_s: f64, depth: &[f64]) {
        self.frames.push((t_s, depth.iter().map(|&d| d as f32).collect()));
    }

    /// Seconds from the first frame to the last.
    pub fn duration(&self) -> f64 {
        self.frames.last().map_or(0.0, |f| f.0) - self.frames.first().map_or(0.0, |f| f.0)
    }

    /// Depth of every cell at `t_s`, linear between the frames around it (the
    /// first or last frame outside them).
    pub fn depth_at(&self, t_s: f64) -> Vec<f32> {
        let Some(first) = self.frames.first() else { return Vec::new() };
        let i = self.frames.partition_point(|f| f.0 <= t_s);
        if i == 0 {
            return first.1.clone();
        }
        if i == self.frames.len() {
            return self.frames[i - 1].1.clone();
        }
        let (a, b) = (&self.frames[i - 1], &self.frames[i]);
        let w = ((t_s - a.0) / (b.0 - a.0).max(1e-9)) as f32;
        a.1.iter().zip(&b.1).map(|(x, y)| x + (y - x) * w).collect()
    }

    /// Writes the playback file (through a temporary file).
    pub fn write(&self, path: &Path) -> Result<(), PlaybackError> {
        let io = |source| PlaybackError::Io { path: path.to_path_buf(), source };
        let origin = self.cells.first().copied().unwrap_or(DVec3::ZERO);
        let header = Header {
            nx: self.nx,
            ny: self.ny,
            dx: self.dx,
            origin: origin.to_array(),
            times: self.frames.iter().map(|f| f.0).collect(),
        };
        let json = serde_json::to_vec(&header).map_err(|e| io(std::io::Error::other(e)))?;
        let n = self.nx * self.ny;
        let mut out = Vec::with_capacity(16 + json.len() + n * 12 + n * 4 * self.frames.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for c in &self.cells {
            for v in (*c - origin).to_array() {
                out.extend_from_slice(&(v as f32).to_le_bytes());
            }
        }
        for (_, depth) in &self.frames {
            for d in depth {
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
        let tmp = path.with_extension("bin.tmp");
        std::fs::write(&tmp, &out).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a playback file; every size is checked against the bytes there are.
    pub fn read(path: &Path) -> Result<FloodPlayback, PlaybackError> {
        let bytes = std::fs::read(path).map_err(|source| PlaybackError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&bytes, path)
    }

    /// Parses a playback file's bytes (`path` names it in errors).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<FloodPlayback, PlaybackError> {
        let bad = |offset: usize, message: String| PlaybackError::Invalid { path: path.to_path_buf(), offset, message };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad(0, "not an Urbis flood playback (no URBISFLD header)".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let version = u32_at(8);
        if version != VERSION {
            return Err(bad(8, format!("version {version}; this Urbis reads version {VERSION}")));
        }
        let len = u32_at(12) as usize;
        let json =
            bytes.get(16..16 + len).ok_or_else(|| bad(12, format!("the header of {len} bytes runs past the end")))?;
        let h: Header = serde_json::from_slice(json).map_err(|e| bad(16, format!("header: {e}")))?;
        let n = h.nx.checked_mul(h.ny).filter(|&n| n > 0 && n <= MAX_CELLS);
        let n = n.ok_or_else(|| bad(16, format!("a {} × {} grid is empty or too large", h.nx, h.ny)))?;
        if !(h.dx.is_finite() && h.dx > 0.0) || h.times.iter().any(|t| !t.is_finite()) {
            return Err(bad(16, "dx and times must be finite, dx positive".into()));
        }
        if h.times.windows(2).any(|w| w[1] < w[0]) {
            return Err(bad(16, "times must not decrease".into()));
        }
        let start = 16 + len;
        let need = n.checked_mul(12 + 4 * h.times.len()).and_then(|b| b.checked_add(start));
        match need {
            Some(need) if need == bytes.len() => {}
            Some(need) => {
                return Err(bad(
                    bytes.len().min(need),
                    format!("expected {need} bytes for the grid and its frames, found {}", bytes.len()),
                ));
            }
            None => return Err(bad(16, "the sizes overflow".into())),
        }
        let f32_at = |o: usize| f32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let origin = DVec3::from_array(h.origin);
        let cells = (0..n)
            .map(|i| {
                let o = start + i * 12;
                origin + DVec3::new(f64::from(f32_at(o)), f64::from(f32_at(o + 4)), f64::from(f32_at(o + 8)))
            })
            .collect();
        let mut frames = Vec::with_capacity(h.times.len());
        for (k, t) in h.times.iter().enumerate() {
            let o = start + n * 12 + k * n * 4;
            frames.push((*t, (0..n).map(|i| f32_at(o + i * 4)).collect()));
        }
        Ok(FloodPlayback { nx: h.nx, ny: h.ny, dx: h.dx, cells, frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FloodPlayback {
        let cells = vec![
            DVec3::new(100.0, 200.0, 5.0),
            DVec3::new(102.0, 200.0, 5.5),
            DVec3::new(100.0, 202.0, 6.0),
            DVec3::new(102.0, 202.0, 4.0),
        ];
        let mut p = FloodPlayback::new(2, 2, 2.0, cells);
        p.push(0.0, &[0.0, 0.0, 0.0, 0.1]);
        p.push(60.0, &[0.5, 0.25, 0.0, 1.1]);
        p
    }

    #[test]
    fn playback_round_trips_and_interpolates() {
        let p = sample();
        let path = std::env::temp_dir().join(format!("urbis-playback-{}.bin", std::process::id()));
        p.write(&path).expect("write");
        let back = FloodPlayback::read(&path).expect("read");
        std::fs::remove_file(&path).ok();
        assert_eq!(back, p);
        assert_eq!(p.depth_at(30.0), vec![0.25, 0.125, 0.0, 0.6]);
        assert_eq!(p.depth_at(-5.0), p.frames[0].1);
        assert_eq!(p.depth_at(99.0), p.frames[1].1);
    }

    #[test]
    fn bad_playback_files_name_the_offset() {
        let p = sample();
        let path = std::env::temp_dir().join(format!("urbis-playback-bad-{}.bin", std::process::id()));
        p.write(&path).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        std::fs::remove_file(&path).ok();
        let e = FloodPlayback::parse(&bytes[..bytes.len() - 3], Path::new("p.bin")).expect_err("truncated");
        assert!(e.to_string().starts_with("p.bin: at byte ") && e.to_string().contains("expected"), "{e}");
        let e = FloodPlayback::parse(b"nonsense", Path::new("p.bin")).expect_err("magic");
        assert!(e.to_string().contains("at byte 0: not an Urbis flood playback"), "{e}");
        // A hostile header: a huge grid is refused before anything is allocated.
        let json = br#"{"nx": 4000000000, "ny": 4000000000, "dx": 1, "origin": [0,0,0], "times": [0]}"#;
        let mut hostile = b"URBISFLD".to_vec();
        hostile.extend_from_slice(&1u32.to_le_bytes());
        hostile.extend_from_slice(&(json.len() as u32).to_le_bytes());
        hostile.extend_from_slice(json);
        let e = FloodPlayback::parse(&hostile, Path::new("p.bin")).expect_err("huge");
        assert!(e.to_string().contains("too large"), "{e}");
    }
}
