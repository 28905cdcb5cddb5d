//! An OSGB dataset as a lazy tile tree (`TileTree::open_osgb`), on the real
//! tile in `../shared/data/osgb`: the top file's error puts Cesium's SSE 16
//! where OpenSceneGraph's pixel-size switch is, expansions read the paged
//! children on the loader path (`expansion_job` → `fetch_expansion` →
//! `apply_expansion`), and a pyramid that pages back into itself is refused.

mod shared;

use std::path::{Path, PathBuf};

use glam::{DMat4, DVec3};
use urbis_tiles::tree::{Pending, TreeLimits, fetch_expansion};
use urbis_tiles::{TileId, TileTree, View};

const TOP: &str = "Tile_+000_+000.osgb";
const L16: &str = "Tile_+000_+000_L16_0.osgb";
const L17: &str = "Tile_+000_+000_L17_0.osgb";

/// The tile with its paged child's name changed (same length) to `child`.
fn with_child(tile: &[u8], child: &str) -> Vec<u8> {
    let old = L16.as_bytes();
    let at = tile.windows(old.len()).position(|w| w == old).expect("the child name");
    let mut out = tile.to_vec();
    out[at..at + old.len()].copy_from_slice(child.as_bytes());
    out
}

fn dataset(name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("urbis-tiles-osgb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("Data/Tile_+000_+000");
    std::fs::create_dir_all(&data).expect("mkdir");
    for (n, b) in files {
        std::fs::write(data.join(n), b).expect("write");
    }
    dir
}

fn expand(tree: &mut TileTree, id: TileId) -> usize {
    let (loc, spec) = tree.expansion_job(id).expect("pending");
    let r = fetch_expansion(&tree.fetcher.clone(), &loc, spec.as_ref(), None);
    tree.apply_expansion(id, r)
}

fn file_sphere_and_switch(tile: &Path) -> (DVec3, f64, f64) {
    let file = urbis_formats::osgb::read_osgb_file(tile).expect("read");
    let (lod, paged) = file.root.paged_lod().expect("PagedLOD root");
    let k = paged.file_names.iter().position(|n| !n.is_empty()).expect("paged child");
    let (c, r) = file.root.lod_center().expect("bound");
    (c, r, lod.ranges[k][0] as f64)
}

#[test]
fn the_top_tile_refines_where_openscenegraph_switches_and_cycles_are_refused() {
    let Some(tile) = shared::shared("osgb/test.osgb") else { return };
    let bytes = std::fs::read(&tile).expect("read");
    let (centre, radius, switch) = file_sphere_and_switch(&tile);
    // Top → L16 → L16 again: a cycle (a paged name must keep its length,
    // so L16, unpatched, pages in itself).
    let dir = dataset("cycle", &[(TOP, bytes.clone()), (L16, bytes.clone())]);
    let offset = DVec3::new(1000.0, -2000.0, 50.0);
    let mut tree = TileTree::open_osgb(&dir, None, DMat4::from_translation(offset), TreeLimits::lazy()).expect("open");
    assert_eq!(tree.len(), 2, "synthetic root and the top tile");
    let top = tree.get(TileId(1)).clone();
    assert_eq!(top.contents[0].path, dir.join("Data/Tile_+000_+000").join(TOP));
    assert!(matches!(top.pending, Some(Pending::Osgb { .. })));
    let (c, r) = top.volume.bounding_sphere();
    assert!((c - (centre + offset)).length() < 1e-9 && (r - radius).abs() < 1e-9);
    // Independent reference: OpenSceneGraph switches where the sphere's projected
    // diameter reaches `switch` px; Cesium refines where SSE > 16.
    let at = |c: DVec3, d: f64| View {
        position: c + DVec3::Z * (d + r),
        direction: -DVec3::Z,
        up: DVec3::Y,
        fov_y: 50f64.to_radians(),
        aspect: 1.5,
        viewport_height: 800.0,
        max_sse: 16.0,
        cull: true,
    };
    let v = |d: f64| at(c, d);
    let d_switch = 2.0 * r * 800.0 / (2.0 * switch * (25f64.to_radians()).tan());
    let sse = |d: f64| v(d).sse(top.geometric_error, top.volume.distance(v(d).position));
    assert!(
        sse(d_switch * 0.99) > 16.0 && sse(d_switch * 1.01) < 16.0,
        "{} {}",
        sse(d_switch * 0.99),
        sse(d_switch * 1.01)
    );
    assert!(tree.get(tree.root()).geometric_error >= top.geometric_error);
    // Selection close up asks for the top's pyramid, drawing the top meanwhile.
    let sel = urbis_tiles::select(&tree, &v(d_switch * 0.5), &Default::default());
    assert_eq!((sel.tiles.as_slice(), sel.expand.as_slice()), (&[TileId(1)][..], &[TileId(1)][..]));
    // L16 is read and grafted, pending in turn.
    assert_eq!(expand(&mut tree, TileId(1)), 1);
    let l16 = tree.get(TileId(2)).clone();
    assert_eq!(l16.parent, Some(TileId(1)));
    assert_eq!(l16.contents[0].path.file_name().unwrap(), L16);
    assert!(matches!(l16.pending, Some(Pending::Osgb { .. })));
    // L16 pages in L16 itself: a cycle, refused; L16 stays a leaf that draws.
    assert_eq!(expand(&mut tree, TileId(2)), 0);
    assert!(tree.errors.iter().any(|e| e.contains("cycle")), "{:?}", tree.errors);
    assert!(tree.get(TileId(2)).pending.is_none() && tree.get(TileId(2)).children.is_empty());
    let sel = urbis_tiles::select(&tree, &v(d_switch * 0.5), &Default::default());
    assert_eq!(sel.tiles, [TileId(2)]);
    assert!(sel.expand.is_empty());
    // A missing child fails the expansion; the top stays pending-free and draws.
    let dir = dataset("missing", &[(TOP, bytes.clone()), (L16, with_child(&bytes, L17))]);
    std::fs::remove_file(dir.join("Data/Tile_+000_+000").join(L16)).expect("rm");
    let mut tree = TileTree::open_osgb(&dir, None, DMat4::IDENTITY, TreeLimits::lazy()).expect("open");
    assert_eq!(expand(&mut tree, TileId(1)), 0);
    assert!(tree.errors.iter().any(|e| e.contains(L16)), "{:?}", tree.errors);
    let sel = urbis_tiles::select(&tree, &at(centre, d_switch * 0.5), &Default::default());
    assert_eq!(sel.tiles, [TileId(1)]);
    assert!(sel.expand.is_empty());
}
