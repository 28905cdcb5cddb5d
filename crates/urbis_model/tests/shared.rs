//! Access to `../shared/data` (public datasets beside the repository).
#![allow(dead_code)]

use std::path::PathBuf;

/// The path of a shared dataset file, or `None` (printing a skip) when the
/// data is absent, unless `URBIS_REQUIRE_SHARED_DATA=1`, which makes it a failure.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("URBIS_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1") {
        panic!("URBIS_REQUIRE_SHARED_DATA=1 but {} is missing", p.display());
    }
    eprintln!("SKIP: {} is missing", p.display());
    None
}
