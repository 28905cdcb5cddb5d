//! The wall's fuzzing seeds (`fuzz/seeds/wall_toml`, `fuzz/seeds/wall_message`)
//! are valid inputs: every wall file parses, every message file is a run of
//! whole messages.

use std::path::Path;

fn seeds(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds").join(kind);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("seed dir")
        .map(|f| {
            let p = f.expect("entry").path();
            (p.display().to_string(), std::fs::read(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_wall_seed_parses() {
    let files = seeds("wall_toml");
    assert!(files.len() >= 2, "{} wall seeds", files.len());
    for (name, bytes) in files {
        let text = String::from_utf8(bytes).expect("UTF-8");
        let wall = urbis_wall::config::parse(&text, Path::new(&name)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!wall.layout.displays.is_empty(), "{name}: no displays");
    }
}

#[test]
fn every_message_seed_decodes() {
    let files = seeds("wall_message");
    assert!(files.len() >= 2, "{} message seeds", files.len());
    for (name, bytes) in files {
        let mut at = 0;
        let mut n = 0;
        while at < bytes.len() {
            let (_, used) = urbis_wall::sync::message::decode(&bytes[at..], &name).unwrap_or_else(|e| panic!("{e}"));
            assert!(used > 0, "{name}: a message of no bytes");
            at += used;
            n += 1;
        }
        assert!(n >= 1, "{name}: no message");
    }
}
