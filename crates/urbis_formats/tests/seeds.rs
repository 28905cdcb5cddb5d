//! The fuzzing seeds in `fuzz/seeds` are valid inputs: each parses without error.

use urbis_formats::gltf::NoResources;
use urbis_formats::tiles3d::parse_content;
use urbis_formats::{ascii_grid, geojson, geotiff};

#[test]
fn every_seed_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut n = 0;
    for kind in std::fs::read_dir(&dir).expect("seeds") {
        for f in std::fs::read_dir(kind.expect("dir").path()).expect("files") {
            let p = f.expect("file").path();
            let bytes = std::fs::read(&p).expect("read");
            let name = p.display().to_string();
            let kind = p.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()).unwrap_or_default();
            if matches!(kind, "live_payload" | "wall_toml" | "wall_message") {
                continue; // sensor payloads and the wall's files: checked by urbis_live's and urbis_wall's tests
            }
            let ok = match kind {
                "geotiff" => geotiff::parse(&bytes, &name).map(|g| g.heights.len()).map_err(|e| e.to_string()),
                "geojson" => geojson::parse(&bytes, &name).map(|g| g.features.len()).map_err(|e| e.to_string()),
                "ascii_grid" => ascii_grid::parse(&bytes, &name).map(|g| g.heights.len()).map_err(|e| e.to_string()),
                "shapefile" => {
                    // A u32 LE length of the .shp, its bytes, then the .dbf.
                    let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
                    let (shp, dbf) = bytes[4..].split_at(n);
                    urbis_formats::shapefile::parse(shp.to_vec(), dbf.to_vec(), urbis_geo::Epsg(4547), None, &p)
                        .map(|g| g.features.iter().map(|f| f.polygons.len()).sum())
                        .map_err(|e| e.to_string())
                }
                "imagery_geotiff" => {
                    use urbis_formats::imagery::ImagerySource;
                    urbis_formats::imagery::geotiff::GeoTiffImagery::from_reader(std::io::Cursor::new(bytes), &p)
                        .and_then(|g| {
                            let mut failures = Vec::new();
                            let w = g.window(g.extent(), 64, &mut failures)?;
                            Ok(if failures.is_empty() { g.levels().len() * w.rgba.len() } else { 0 })
                        })
                        .map_err(|e| e.to_string())
                }
                "quantized_mesh" => urbis_formats::quantized_mesh::parse(&bytes, &name)
                    .map(|m| m.indices.len() / 3)
                    .map_err(|e| e.to_string()),
                "imagery_xyz" => image::load_from_memory(&bytes)
                    .map(|i| usize::from(i.width() == 256 && i.height() == 256))
                    .map_err(|e| e.to_string()),
                // The osgb target also reads its input as a metadata.xml.
                "osgb" if p.extension().is_some_and(|e| e == "xml") => {
                    urbis_formats::osgb::read_metadata_xml(&String::from_utf8_lossy(&bytes), &name)
                        .map(|m| usize::from(matches!(m.srs, urbis_formats::osgb::Srs::Epsg { code: 4547, .. })))
                        .map_err(|e| e.to_string())
                }
                _ => {
                    parse_content(&bytes, &name, &NoResources, 0).map(|_| 1).map_err(|e| e.in_file("seed").to_string())
                }
            };
            let n_items = ok.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(n_items > 0, "{name}: empty");
            n += 1;
        }
    }
    assert!(n >= 5, "{n} seeds");
}
