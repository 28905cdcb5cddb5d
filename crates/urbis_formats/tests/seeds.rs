//! The fuzzing seeds in `fuzz/seeds` are valid tiles: each parses without error.

use urbis_formats::gltf::NoResources;
use urbis_formats::tiles3d::parse_content;

#[test]
fn every_seed_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut n = 0;
    for kind in std::fs::read_dir(&dir).expect("seeds") {
        for f in std::fs::read_dir(kind.expect("dir").path()).expect("files") {
            let p = f.expect("file").path();
            let bytes = std::fs::read(&p).expect("read");
            parse_content(&bytes, &p.display().to_string(), &NoResources, 0)
                .unwrap_or_else(|e| panic!("{}: {}", p.display(), e.in_file("seed")));
            n += 1;
        }
    }
    assert!(n >= 5, "{n} seeds");
}
