//! Synthetic 3D Tiles 1.1 tilesets of any size, for streaming tests and
//! benchmarks: an implicit quadtree of glb tiles, each a grid of box
//! buildings with EXT_mesh_features feature IDs and an
//! EXT_structural_metadata property table.
//!
//! Every file is a pure function of its path, so a server can make tiles on
//! the fly ([`SampleTiles::file`]) for trees far larger than any disk.
//!
//! ```text
//! tileset.json                       root: box volume, ENU → ECEF transform, implicitTiling
//! subtrees/{level}/{x}/{y}.subtree   constant availability (every tile exists)
//! tiles/{level}/{x}/{y}.glb          lots × lots boxes; a box at level L covers
//!                                    size / 2^L / lots metres, so coarse tiles
//!                                    are blocks and leaves single buildings
//! ```

use glam::DVec3;
use serde_json::json;
use urbis_geo::{CityFrame, Geodetic};

/// The shape of a synthetic tileset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleTiles {
    /// Levels of the quadtree (1 = the root alone); `4^levels / 3` tiles in all.
    pub levels: u32,
    /// Boxes per tile side (every tile holds `lots²` features).
    pub lots: u32,
    /// Side of the root tile, metres.
    pub size_m: f64,
    /// Where the root's centre stands.
    pub origin: Geodetic,
    /// Wall segments per box side at the finest level (more triangles per feature).
    pub floors: u32,
}

impl Default for SampleTiles {
    fn default() -> Self {
        Self { levels: 5, lots: 16, size_m: 2048.0, origin: Geodetic::new(115.9, 39.0, 0.0), floors: 1 }
    }
}

/// Tallest box, metres.
const MAX_HEIGHT: f64 = 80.0;
/// Subtree depth in levels.
const SUBTREE_LEVELS: u32 = 3;

fn hash(mut x: u64) -> u64 {
    // SplitMix64: a stable, well-mixed hash of a lot's coordinates.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl SampleTiles {
    /// Tiles in the whole tree.
    pub fn tile_count(&self) -> u64 {
        (0..self.levels).map(|l| 1u64 << (2 * l)).sum()
    }

    /// Geometric error of a level: the box size one level finer, so leaves
    /// refine to nothing and coarser boxes show while they look small.
    pub fn geometric_error(&self, level: u32) -> f64 {
        self.size_m / (1u64 << level) as f64 / self.lots as f64
    }

    /// Height of the building at a point: one value per finest-level lot,
    /// so a coarse box is as tall as the lot at its centre.
    fn height_at(&self, x: f64, y: f64) -> f64 {
        let finest = self.size_m / (1u64 << (self.levels - 1)) as f64 / self.lots as f64;
        let i = ((x + self.size_m / 2.0) / finest).floor() as i64 as u64;
        let j = ((y + self.size_m / 2.0) / finest).floor() as i64 as u64;
        let h = hash(i.wrapping_mul(0x1_0000_0001) ^ j);
        8.0 + (h % 1000) as f64 / 1000.0 * (MAX_HEIGHT - 8.0)
    }

    /// The ENU → ECEF transform of the root, column-major.
    fn transform(&self) -> [f64; 16] {
        CityFrame::new(self.origin).enu_to_ecef_matrix().to_cols_array()
    }

    /// `tileset.json`.
    pub fn tileset_json(&self) -> Vec<u8> {
        let h = self.size_m / 2.0;
        let doc = json!({
            "asset": {"version": "1.1", "generator": "urbis sample-tiles"},
            "geometricError": self.geometric_error(0) * 4.0,
            "schema": {"id": "urbis_sample", "classes": {"building": {"properties": {
                "name": {"type": "STRING"},
                "height": {"type": "SCALAR", "componentType": "FLOAT32"},
                "level": {"type": "SCALAR", "componentType": "UINT8"}
            }}}},
            "root": {
                "transform": self.transform(),
                "boundingVolume": {"box": [0.0, 0.0, MAX_HEIGHT / 2.0, h, 0.0, 0.0, 0.0, h, 0.0, 0.0, 0.0, MAX_HEIGHT / 2.0]},
                "geometricError": self.geometric_error(0),
                "refine": "REPLACE",
                "content": {"uri": "tiles/{level}/{x}/{y}.glb"},
                "implicitTiling": {
                    "subdivisionScheme": "QUADTREE",
                    "subtreeLevels": SUBTREE_LEVELS.min(self.levels),
                    "availableLevels": self.levels,
                    "subtrees": {"uri": "subtrees/{level}/{x}/{y}.subtree"}
                }
            }
        });
        serde_json::to_vec_pretty(&doc).unwrap_or_default()
    }

    /// A subtree file: every tile and content available; child subtrees where levels remain.
    pub fn subtree(&self, level: u32) -> Vec<u8> {
        let children = u8::from(level + SUBTREE_LEVELS < self.levels);
        let json = json!({
            "tileAvailability": {"constant": 1},
            "contentAvailability": [{"constant": 1}],
            "childSubtreeAvailability": {"constant": children}
        });
        let mut j = serde_json::to_vec(&json).unwrap_or_default();
        while !j.len().is_multiple_of(8) {
            j.push(b' ');
        }
        let mut out = Vec::with_capacity(24 + j.len());
        out.extend_from_slice(b"subt");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(j.len() as u64).to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&j);
        out
    }

    /// Whether (level, x, y) is a tile of the tree.
    pub fn has_tile(&self, level: u32, x: u64, y: u64) -> bool {
        level < self.levels && x < (1u64 << level) && y < (1u64 << level)
    }

    /// The glb of tile (level, x, y); x grows east, y north.
    pub fn tile_glb(&self, level: u32, x: u64, y: u64) -> Vec<u8> {
        let n = self.lots as usize;
        let side = self.size_m / (1u64 << level) as f64;
        let lot = side / n as f64;
        let x0 = -self.size_m / 2.0 + x as f64 * side;
        let y0 = -self.size_m / 2.0 + y as f64 * side;
        let leaf = level + 1 == self.levels;
        let segments = if leaf { self.floors.max(1) } else { 1 };
        let mut pos: Vec<[f32; 3]> = Vec::new();
        let mut nor: Vec<[f32; 3]> = Vec::new();
        let mut fid: Vec<f32> = Vec::new();
        let mut idx: Vec<u32> = Vec::new();
        let mut names = Vec::with_capacity(n * n);
        let mut heights = Vec::with_capacity(n * n);
        // Tile-local coordinates relative to the tile centre keep f32 exact.
        let centre = DVec3::new(x0 + side / 2.0, y0 + side / 2.0, 0.0);
        for j in 0..n {
            for i in 0..n {
                let f = (j * n + i) as f32;
                let (cx, cy) = (x0 + (i as f64 + 0.5) * lot, y0 + (j as f64 + 0.5) * lot);
                let height = self.height_at(cx, cy);
                let half = lot * 0.4;
                let lo = DVec3::new(cx - half, cy - half, 0.0) - centre;
                let hi = DVec3::new(cx + half, cy + half, height) - centre;
                push_box(&mut pos, &mut nor, &mut idx, lo, hi, segments);
                fid.resize(pos.len(), f);
                names.push(format!("L{level}-{x}-{y}-{i}-{j}"));
                heights.push(height as f32);
            }
        }
        glb(&pos, &nor, &fid, &idx, &names, &heights, level as u8, centre)
    }

    /// The bytes at a path of the tileset (`tileset.json`, a subtree, a tile), or `None`.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        let path = path.trim_start_matches('/');
        if path == "tileset.json" {
            return Some(self.tileset_json());
        }
        let (kind, rest) = path.split_once('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [level, x, last] = parts.as_slice() else { return None };
        let level: u32 = level.parse().ok()?;
        let x: u64 = x.parse().ok()?;
        match kind {
            "tiles" => {
                let y: u64 = last.strip_suffix(".glb")?.parse().ok()?;
                self.has_tile(level, x, y).then(|| self.tile_glb(level, x, y))
            }
            "subtrees" => {
                let y: u64 = last.strip_suffix(".subtree")?.parse().ok()?;
                (self.has_tile(level, x, y) && level.is_multiple_of(SUBTREE_LEVELS)).then(|| self.subtree(level))
            }
            _ => None,
        }
    }

    /// Every path of the tileset, root first.
    pub fn paths(&self) -> impl Iterator<Item = String> + '_ {
        let tiles = (0..self.levels).flat_map(move |l| {
            let n = 1u64 << l;
            (0..n).flat_map(move |x| (0..n).map(move |y| (l, x, y)))
        });
        std::iter::once("tileset.json".to_string()).chain(tiles.flat_map(move |(l, x, y)| {
            let subtree = l.is_multiple_of(SUBTREE_LEVELS).then(|| format!("subtrees/{l}/{x}/{y}.subtree"));
            subtree.into_iter().chain([format!("tiles/{l}/{x}/{y}.glb")])
        }))
    }

    /// Writes the whole tileset under `dir`; returns the bytes written.
    pub fn write(&self, dir: &std::path::Path, mut progress: impl FnMut(u64)) -> std::io::Result<u64> {
        let mut total = 0;
        for p in self.paths() {
            let bytes = self.file(&p).ok_or_else(|| std::io::Error::other(format!("no file {p}")))?;
            let f = dir.join(&p);
            if let Some(parent) = f.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&f, &bytes)?;
            total += bytes.len() as u64;
            progress(bytes.len() as u64);
        }
        Ok(total)
    }
}

/// An axis-aligned box with flat normals, walls split into `segments` bands.
fn push_box(pos: &mut Vec<[f32; 3]>, nor: &mut Vec<[f32; 3]>, idx: &mut Vec<u32>, lo: DVec3, hi: DVec3, segments: u32) {
    let mut quad = |corners: [DVec3; 4], n: [f32; 3]| {
        let base = pos.len() as u32;
        for c in corners {
            pos.push([c.x as f32, c.y as f32, c.z as f32]);
            nor.push(n);
        }
        idx.extend_from_slice(&[base, base + 1, base + 2, base, base + 2, base + 3]);
    };
    let (a, b) = (lo, hi);
    quad(
        [DVec3::new(a.x, a.y, b.z), DVec3::new(b.x, a.y, b.z), DVec3::new(b.x, b.y, b.z), DVec3::new(a.x, b.y, b.z)],
        [0.0, 0.0, 1.0],
    );
    quad(
        [DVec3::new(a.x, a.y, a.z), DVec3::new(a.x, b.y, a.z), DVec3::new(b.x, b.y, a.z), DVec3::new(b.x, a.y, a.z)],
        [0.0, 0.0, -1.0],
    );
    for s in 0..segments {
        let z0 = a.z + (b.z - a.z) * s as f64 / segments as f64;
        let z1 = a.z + (b.z - a.z) * (s + 1) as f64 / segments as f64;
        let (p, q) = (DVec3::new(0.0, 0.0, z0), DVec3::new(0.0, 0.0, z1));
        let xy = |x: f64, y: f64| DVec3::new(x, y, 0.0);
        // Counter-clockwise seen from outside.
        quad([xy(a.x, a.y) + p, xy(b.x, a.y) + p, xy(b.x, a.y) + q, xy(a.x, a.y) + q], [0.0, -1.0, 0.0]);
        quad([xy(b.x, a.y) + p, xy(b.x, b.y) + p, xy(b.x, b.y) + q, xy(b.x, a.y) + q], [1.0, 0.0, 0.0]);
        quad([xy(b.x, b.y) + p, xy(a.x, b.y) + p, xy(a.x, b.y) + q, xy(b.x, b.y) + q], [0.0, 1.0, 0.0]);
        quad([xy(a.x, b.y) + p, xy(a.x, a.y) + p, xy(a.x, a.y) + q, xy(a.x, b.y) + q], [-1.0, 0.0, 0.0]);
    }
}

/// A glb: one primitive (z-up ENU converted to glTF's y-up), feature IDs per vertex,
/// a property table of name, height and level, and a node translation to the tile centre.
#[allow(clippy::too_many_arguments)]
fn glb(
    pos: &[[f32; 3]],
    nor: &[[f32; 3]],
    fid: &[f32],
    idx: &[u32],
    names: &[String],
    heights: &[f32],
    level: u8,
    centre: DVec3,
) -> Vec<u8> {
    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut add_view = |bin: &mut Vec<u8>, bytes: &[u8], target: Option<u32>| {
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        let v = json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len()});
        let mut v = v;
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        bin.extend_from_slice(bytes);
        views.push(v);
        views.len() - 1
    };
    let yup = |p: &[f32; 3]| [p[0], p[2], -p[1]];
    let p_bytes: Vec<u8> = pos.iter().flat_map(|p| yup(p).into_iter().flat_map(f32::to_le_bytes)).collect();
    let n_bytes: Vec<u8> = nor.iter().flat_map(|p| yup(p).into_iter().flat_map(f32::to_le_bytes)).collect();
    let f_bytes: Vec<u8> = fid.iter().flat_map(|f| f.to_le_bytes()).collect();
    let i_bytes: Vec<u8> = idx.iter().flat_map(|i| i.to_le_bytes()).collect();
    let vp = add_view(&mut bin, &p_bytes, Some(34962));
    let vn = add_view(&mut bin, &n_bytes, Some(34962));
    let vf = add_view(&mut bin, &f_bytes, Some(34962));
    let vi = add_view(&mut bin, &i_bytes, Some(34963));
    let mut string_bytes = Vec::new();
    let mut offsets = vec![0u32];
    for n in names {
        string_bytes.extend_from_slice(n.as_bytes());
        offsets.push(string_bytes.len() as u32);
    }
    let v_names = add_view(&mut bin, &string_bytes, None);
    let v_offsets = add_view(&mut bin, &offsets.iter().flat_map(|o| o.to_le_bytes()).collect::<Vec<_>>(), None);
    let v_heights = add_view(&mut bin, &heights.iter().flat_map(|h| h.to_le_bytes()).collect::<Vec<_>>(), None);
    let v_level = add_view(&mut bin, &vec![level; names.len()], None);
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for p in pos {
        let q = yup(p);
        for k in 0..3 {
            lo[k] = lo[k].min(q[k]);
            hi[k] = hi[k].max(q[k]);
        }
    }
    let doc = json!({
        "asset": {"version": "2.0", "generator": "urbis sample-tiles"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "extensions": {"EXT_structural_metadata": {
            "schema": {"id": "urbis_sample", "classes": {"building": {"properties": {
                "name": {"type": "STRING"},
                "height": {"type": "SCALAR", "componentType": "FLOAT32"},
                "level": {"type": "SCALAR", "componentType": "UINT8"}
            }}}},
            "propertyTables": [{"class": "building", "count": names.len(), "properties": {
                "name": {"values": v_names, "stringOffsets": v_offsets},
                "height": {"values": v_heights},
                "level": {"values": v_level}
            }}]
        }},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [centre.x, centre.z, -centre.y]}],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1, "_FEATURE_ID_0": 2},
            "indices": 3,
            "material": 0,
            "extensions": {"EXT_mesh_features": {"featureIds": [
                {"featureCount": names.len(), "attribute": 0, "propertyTable": 0}
            ]}}
        }]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [0.8, 0.8, 0.82, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.9}}],
        "accessors": [
            {"bufferView": vp, "componentType": 5126, "count": pos.len(), "type": "VEC3", "min": lo, "max": hi},
            {"bufferView": vn, "componentType": 5126, "count": nor.len(), "type": "VEC3"},
            {"bufferView": vf, "componentType": 5126, "count": fid.len(), "type": "SCALAR"},
            {"bufferView": vi, "componentType": 5125, "count": idx.len(), "type": "SCALAR"}
        ],
        "bufferViews": views,
        "buffers": [{"byteLength": bin.len()}]
    });
    let mut j = serde_json::to_vec(&doc).unwrap_or_default();
    while !j.len().is_multiple_of(4) {
        j.push(b' ');
    }
    let total = 12 + 8 + j.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(j.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&j);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_paths_agree() {
        let s = SampleTiles { levels: 3, lots: 2, ..Default::default() };
        assert_eq!(s.tile_count(), 1 + 4 + 16);
        let paths: Vec<String> = s.paths().collect();
        assert_eq!(paths.iter().filter(|p| p.ends_with(".glb")).count(), 21);
        assert!(paths.iter().all(|p| s.file(p).is_some()), "every listed path serves");
        assert!(s.file("tiles/3/0/0.glb").is_none() && s.file("tiles/1/2/0.glb").is_none() && s.file("x").is_none());
        let g = s.tile_glb(2, 3, 1);
        assert_eq!(&g[..4], b"glTF");
        assert_eq!(u32::from_le_bytes([g[8], g[9], g[10], g[11]]) as usize, g.len());
    }
}
