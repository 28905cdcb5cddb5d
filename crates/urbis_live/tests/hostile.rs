//! Hostile live inputs outside the broker tests: the fuzzing seeds parse,
//! and configuration files nested absurdly deep or padded to megabytes are
//! errors that name the file, not crashes.

use std::path::Path;

use urbis_live::payload::{FieldMap, Limits, Parser, Registry};
use urbis_live::{LiveConfig, Stats};

#[test]
fn the_fuzzing_seeds_are_valid_inputs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/live_payload");
    let mut registry = Registry::default();
    registry.add("g1", Some("17"));
    registry.add("g2", None);
    let (stats, fields) = (Stats::default(), FieldMap::default());
    let parser = Parser { fields: &fields, registry: &registry, stats: &stats, limits: Limits::default() };
    // Seeds carry 2026 timestamps: parse them "now" in 2096 so none is in the future.
    let now = 4_000_000_000_000;
    let mut n = 0;
    for f in std::fs::read_dir(&dir).expect("seeds") {
        let p = f.expect("file").path();
        let bytes = std::fs::read(&p).expect("read");
        let mut out = Vec::new();
        if p.extension().is_some_and(|e| e == "toml") {
            LiveConfig::parse(std::str::from_utf8(&bytes).expect("utf8"), &p).expect("config seed");
        } else if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("sta")) {
            assert!(parser.sensorthings("17", &bytes, now, &mut out) > 0, "{}", p.display());
        } else {
            assert!(parser.json("city/x", &bytes, now, &mut out) > 0, "{}", p.display());
        }
        n += 1;
    }
    assert!(n >= 4);
}

#[test]
fn deeply_nested_or_huge_configs_are_errors() {
    let deep = format!("a = {}1{}", "[".repeat(50_000), "]".repeat(50_000));
    let err = LiveConfig::parse(&deep, Path::new("deep.toml")).expect_err("refused");
    assert!(err.to_string().starts_with("deep.toml"), "{err}");
    let deep_tables = format!("x = {}1{}", "{a = ".repeat(20_000), "}".repeat(20_000));
    assert!(LiveConfig::parse(&deep_tables, Path::new("deep2.toml")).is_err());
    let huge = format!("[live]\ncapacity = 1\n# {}\n", "x".repeat(8 << 20));
    LiveConfig::parse(&huge, Path::new("huge.toml")).expect("a long comment is still a valid file");
    // A deeply nested payload is skipped without recursion (serde_json ignores values
    // iteratively) and counted: the batch's one element is no reading object.
    let registry = Registry::default();
    let (stats, fields) = (Stats::default(), FieldMap::default());
    let parser = Parser { fields: &fields, registry: &registry, stats: &stats, limits: Limits::default() };
    let payload = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parser.json("t", payload.as_bytes(), 0, &mut Vec::new()), 0);
    assert_eq!(stats.snapshot().rejected_total(), 1);
}
