//! Every WGSL file in `shaders/` parses and validates with naga, and the
//! renderer embeds each of them.

use std::path::Path;

#[test]
fn every_wgsl_file_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shaders");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shaders/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read shader");
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&source)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&source)));
        seen.push(path.file_name().expect("name").to_string_lossy().into_owned());
    }
    seen.sort();
    let mut embedded: Vec<String> = urbis_render::shaders::ALL.iter().map(|(n, _)| n.to_string()).collect();
    embedded.sort();
    assert_eq!(seen, embedded, "shaders/ and urbis_render::shaders::ALL disagree");
}

#[test]
fn a_broken_shader_is_rejected() {
    let broken = urbis_render::shaders::CITY.replace("fn fs_main", "fn fs_main(oops");
    assert!(naga::front::wgsl::parse_str(&broken).is_err());
}
