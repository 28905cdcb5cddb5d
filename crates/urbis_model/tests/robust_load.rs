//! A broken file in a directory of inputs is skipped with its error; the
//! rest of the city loads. A broken file named explicitly is an error.

use std::path::PathBuf;

use urbis_model::*;

#[test]
fn a_broken_file_in_a_directory_does_not_stop_the_rest() {
    let dir = std::env::temp_dir().join(format!("urbis-robust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let ifc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../urbis_formats/tests/data/sample.ifc");
    std::fs::copy(&ifc, dir.join("bim.ifc")).expect("copy");
    let text = std::fs::read_to_string(&ifc).expect("read");
    // The same model cut off in the middle of an instance, and a CityJSON cut short.
    let cut = text.find("#300=").expect("an instance") + 12;
    std::fs::write(dir.join("broken.ifc"), &text[..cut]).expect("write");
    std::fs::write(dir.join("city.json"), r#"{"type":"CityJSON","version":"2.0","CityObjects":{"a":"#).expect("write");

    let (alone, _) = open_city(std::slice::from_ref(&ifc)).expect("the good file alone");
    let (model, reports) = open_city(std::slice::from_ref(&dir)).expect("the directory loads");
    assert_eq!(model.feature_count(), alone.feature_count(), "everything of the good file");
    let failed: Vec<&LoadReport> = reports.iter().filter(|r| r.error.is_some()).collect();
    assert_eq!(failed.len(), 2, "{reports:?}");
    for r in failed {
        let e = r.error.as_deref().unwrap_or_default();
        assert!(e.contains(&r.path), "the error names the file: {e}");
        assert!(e.contains("line"), "and the line: {e}");
        assert_eq!(r.features, 0);
    }

    // Named on its own, the broken file is an error that names it.
    let e = open_city(&[dir.join("broken.ifc")]).expect_err("explicit broken file").to_string();
    assert!(e.contains("broken.ifc") && e.contains("line"), "{e}");
    // A directory with nothing readable says so.
    std::fs::remove_file(dir.join("bim.ifc")).expect("rm");
    let e = open_city(std::slice::from_ref(&dir)).expect_err("nothing readable").to_string();
    assert!(e.contains("none of the 2 input files"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensor_recordings_beside_a_city_are_not_read_as_cityjsonseq() {
    let dir = std::env::temp_dir().join(format!("urbis-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let city = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample_city");
    let city = urbis_sample_city::ensure(&city, &Default::default()).expect("sample city");
    std::fs::copy(city.join(urbis_sample_city::CITYJSON_FILE), dir.join("district.city.json")).expect("copy");
    std::fs::write(dir.join("sensors.jsonl"), "{\"sensor\":\"a\",\"time\":0,\"value\":1}\n").expect("write");
    let (model, reports) = open_city(std::slice::from_ref(&dir)).expect("load");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(model.feature_count() > 1000);
    // Named explicitly, it is refused as an unsupported input.
    assert!(open_city(&[dir.join("sensors.jsonl")]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
