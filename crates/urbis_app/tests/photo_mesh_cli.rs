//! `urbis sample-city --photo-mesh DIR --area small`: the synthetic OSGB
//! dataset is written, and Urbis loads it back as PhotoMesh entities placed
//! at the sample city (EPSG:4548 through its `metadata.xml`).

use std::path::PathBuf;
use std::process::Command;

use glam::{DVec2, DVec3};
use urbis_geo::{CrsTransform, Epsg, Geodetic};
use urbis_model::{Bounds, CityModel, SemanticClass, TileDetail};

fn union_of_photo_meshes(m: &mut CityModel) -> (usize, Bounds) {
    let mut q = m.world.query::<(&SemanticClass, &Bounds)>();
    let mut n = 0;
    let mut u = Bounds { min: DVec3::splat(f64::INFINITY), max: DVec3::splat(f64::NEG_INFINITY) };
    for (c, b) in q.iter(&m.world) {
        if c.name() == "PhotoMesh" {
            n += 1;
            u.min = u.min.min(b.min);
            u.max = u.max.max(b.max);
        }
    }
    (n, u)
}

#[test]
fn sample_city_writes_a_photo_mesh_that_loads_back() {
    let root = std::env::temp_dir().join(format!("urbis-cli-photo-mesh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (city, mesh) = (root.join("city"), root.join("mesh"));
    let run = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .arg("sample-city")
        .arg("--out")
        .arg(&city)
        .arg("--photo-mesh")
        .arg(&mesh)
        .args(["--area", "small"])
        .output()
        .expect("run urbis");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(mesh.join("metadata.xml").is_file() && mesh.join("truth.json").is_file());
    for t in ["Tile_+000_+000", "Tile_+001_+000", "Tile_+000_+001", "Tile_+001_+001"] {
        let d = mesh.join("Data").join(t);
        assert!(d.join(format!("{t}.osgb")).is_file(), "{t}");
        assert!(d.join(format!("{t}_L1_3.osgb")).is_file() && d.join(format!("{t}_L2_15.osgb")).is_file(), "{t}");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_urbis")).arg("inspect").arg(&mesh).arg("--json").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // `inspect` loads every tile at its finest level: 4 top tiles × 16 files.
    assert_eq!(v["counts"]["PhotoMesh"].as_u64(), Some(64), "{}", v["counts"]);

    // The extent the mesh covers: 2 × 2 tiles of 256 m at the district's south-west corner.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(city.join("district.city.json")).expect("cityjson")).expect("json");
    let e = &doc["metadata"]["geographicalExtent"];
    let sw = DVec2::new(e[0].as_f64().expect("x"), e[1].as_f64().expect("y"));
    let to_geo = CrsTransform::new(Epsg(4548), Epsg::CGCS2000).expect("proj");
    for (detail, files) in [(None, 4), (Some(TileDetail::Finest), 64)] {
        let paths: Vec<PathBuf> = vec![mesh.clone()];
        let (mut m, _) = match detail {
            None => urbis_model::open_city(&paths),
            Some(d) => urbis_model::open_city_with(&paths, d),
        }
        .expect("open");
        let (n, u) = union_of_photo_meshes(&mut m);
        assert_eq!(n, files);
        // The corners of the extent in the city's frame.
        let mut lo = DVec2::splat(f64::INFINITY);
        let mut hi = DVec2::splat(f64::NEG_INFINITY);
        for (dx, dy) in [(0.0, 0.0), (512.0, 0.0), (0.0, 512.0), (512.0, 512.0)] {
            let g = to_geo.transform(DVec3::new(sw.x + dx, sw.y + dy, 0.0)).expect("to geographic");
            let enu = m.frame().geodetic_to_enu(Geodetic::new(g.x, g.y, 0.0)).truncate();
            lo = lo.min(enu);
            hi = hi.max(enu);
        }
        assert!((u.min.truncate() - lo).abs().max_element() < 1.0, "{:?} vs {lo}", u.min);
        assert!((u.max.truncate() - hi).abs().max_element() < 1.0, "{:?} vs {hi}", u.max);
    }

    // `urbis monomerize` writes the cut buildings and the ground as 3D Tiles, which load back.
    let footprints = city.join("district.city.json");
    let tiles = root.join("monomerized");
    let run = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .arg("monomerize")
        .arg(&mesh)
        .arg(&footprints)
        .arg("--out")
        .arg(&tiles)
        .arg("--json")
        .output()
        .expect("run");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert!(report["features"].as_u64().is_some_and(|n| n >= 265 + 64), "{report}");
    let out = Command::new(env!("CARGO_BIN_EXE_urbis")).arg("inspect").arg(&tiles).arg("--json").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["counts"]["Ground"].as_u64(), Some(64), "{}", v["counts"]);
    assert!(v["counts"]["Building"].as_u64().is_some_and(|n| n >= 265), "{}", v["counts"]);

    // `--classify-by` on the streamed mesh: the selected building is found and described.
    let png = root.join("classified.png");
    let run = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .arg("render")
        .arg(&mesh)
        .arg("--classify-by")
        .arg(&footprints)
        .args(["--select", "XA-B00001", "--width", "320", "--height", "180", "--out"])
        .arg(&png)
        .output()
        .expect("run");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(png.is_file());
    let _ = std::fs::remove_dir_all(&root);
}
