//! OSGB datasets for tests, made from the shared tile in
//! `../shared/data/osgb`: a ContextCapture-style folder around it, pyramids
//! made by patching its paged child's file name, and textbook metres per
//! degree to place footprints and check positions independently.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared tile's paged child, as it names it.
pub const CHILD: &str = "Tile_+000_+000_L16_0.osgb";

/// `metadata.xml` of a dataset in a local east-north-up frame at 39°N 115.9°E.
pub const ENU_XML: &str =
    "<ModelMetadata version=\"1\"><SRS>ENU:39.0,115.9</SRS><SRSOrigin>0,0,0</SRSOrigin></ModelMetadata>";

/// A dataset folder: `metadata.xml` and the tile as `Data/Tile_+000_+000/Tile_+000_+000.osgb`.
pub fn dataset(name: &str, tile: &Path, metadata: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-osgb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("Data/Tile_+000_+000");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::copy(tile, data.join("Tile_+000_+000.osgb")).expect("copy tile");
    std::fs::write(dir.join("metadata.xml"), metadata).expect("write metadata.xml");
    dir
}

/// The tile with its paged child's name changed (same length) to `child`.
pub fn with_child(tile: &[u8], child: &str) -> Vec<u8> {
    let old = CHILD.as_bytes();
    assert_eq!(child.len(), old.len());
    let at: Vec<usize> = tile.windows(old.len()).enumerate().filter(|(_, w)| *w == old).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "the child name appears once");
    let mut out = tile.to_vec();
    out[at[0]..at[0] + old.len()].copy_from_slice(child.as_bytes());
    out
}

/// Metres per degree of latitude and of longitude at `lat` (textbook series).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let p = lat.to_radians();
    (111_132.92 - 559.82 * (2.0 * p).cos() + 1.175 * (4.0 * p).cos(), 111_412.84 * p.cos() - 93.5 * (3.0 * p).cos())
}
