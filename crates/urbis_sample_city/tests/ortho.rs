//! The sample district's orthophoto: made on first use next to the district,
//! read back through the imagery sources; registered with the district's
//! own CityJSON (roof footprints are roof-coloured, and not when shifted) and
//! its XYZ pyramid with the GeoTIFF through independent math (slippy-map
//! formulas here, PROJ from EPSG:4326 rather than the writer's EPSG:3857).

use std::time::Instant;

use glam::DVec3;
use urbis_formats::imagery::geotiff::GeoTiffImagery;
use urbis_formats::imagery::xyz::{XyzOptions, XyzSource, lonlat_to_mercator};
use urbis_formats::imagery::{GeoRaster, ImagerySource};
use urbis_geo::{CrsTransform, Epsg};
use urbis_sample_city::{ORTHO_FILE, ORTHO_XYZ_DIR, SampleCityConfig, default_dir, ensure_ortho, generate, orthophoto};

/// Sizes of the files under a path, bytes, and their count.
fn du(p: &std::path::Path) -> (u64, usize) {
    if p.is_file() {
        return (std::fs::metadata(p).map_or(0, |m| m.len()), 1);
    }
    std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| du(&e.path()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// Roof polygons (outer rings, xy) of the first `n` buildings, from the CityJSON itself.
fn roofs(doc: &serde_json::Value, n: usize) -> Vec<Vec<(f64, f64)>> {
    let s = &doc["transform"]["scale"];
    let t = &doc["transform"]["translate"];
    let v = doc["vertices"].as_array().expect("vertices");
    let xy = |i: u64| {
        let p = &v[i as usize];
        (
            p[0].as_f64().expect("x") * s[0].as_f64().expect("sx") + t[0].as_f64().expect("tx"),
            p[1].as_f64().expect("y") * s[1].as_f64().expect("sy") + t[1].as_f64().expect("ty"),
        )
    };
    let mut out = Vec::new();
    let objects = doc["CityObjects"].as_object().expect("objects");
    let mut ids: Vec<&String> = objects.keys().filter(|k| objects[*k]["type"] == "Building").collect();
    ids.sort();
    for id in ids.into_iter().take(n) {
        let g = &objects[id]["geometry"][0];
        let Some(shell) = g["boundaries"][0].as_array() else { continue };
        // The highest horizontal surface's outer ring: the roof (LoD1 blocks are flat).
        let ring_of = |surface: &serde_json::Value| -> Option<Vec<u64>> {
            surface[0].as_array().map(|r| r.iter().filter_map(serde_json::Value::as_u64).collect())
        };
        let top = shell.iter().filter_map(ring_of).max_by(|a, b| {
            let z = |r: &Vec<u64>| {
                r.iter().map(|i| v[*i as usize][2].as_f64().unwrap_or(0.0)).sum::<f64>() / r.len() as f64
            };
            z(a).total_cmp(&z(b))
        });
        if let Some(r) = top {
            out.push(r.into_iter().map(xy).collect());
        }
    }
    out
}

fn inside(ring: &[(f64, f64)], p: (f64, f64)) -> bool {
    let mut c = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let (a, b) = (ring[i], ring[j]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            c = !c;
        }
        j = i;
    }
    c
}

/// Points well inside a roof: the centroid of its vertices if 2 m around it is inside.
fn roof_points(rings: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    rings
        .iter()
        .filter_map(|r| {
            let n = r.len() as f64;
            let c = (r.iter().map(|p| p.0).sum::<f64>() / n, r.iter().map(|p| p.1).sum::<f64>() / n);
            [(0.0, 0.0), (2.0, 0.0), (-2.0, 0.0), (0.0, 2.0), (0.0, -2.0)]
                .iter()
                .all(|d| inside(r, (c.0 + d.0, c.1 + d.1)))
                .then_some(c)
        })
        .collect()
}

#[test]
fn orthophoto_is_made_on_first_use_and_registers_with_the_district() {
    let cfg = SampleCityConfig::default();
    let dir = default_dir();
    let t = Instant::now();
    let tif = ensure_ortho(&dir, &cfg).expect("orthophoto");
    let (tif_bytes, _) = du(&tif);
    let (xyz_bytes, xyz_files) = du(&dir.join(ORTHO_XYZ_DIR));
    eprintln!(
        "ortho: {:.1} s (0 if cached); {ORTHO_FILE} {:.2} MB; {ORTHO_XYZ_DIR}/ {xyz_files} files, {:.2} MB",
        t.elapsed().as_secs_f64(),
        tif_bytes as f64 / 1e6,
        xyz_bytes as f64 / 1e6
    );
    assert!(tif_bytes < 16_000_000 && xyz_bytes < 24_000_000, "small enough to make on first use");

    // The file is the drawing, pixel for pixel (writer → reader on real data).
    let city = generate(&cfg).expect("district");
    let image = orthophoto(&city, cfg.seed);
    let src = GeoTiffImagery::open(&tif).expect("open");
    assert_eq!(src.epsg(), 4548);
    assert_eq!(src.extent(), image.extent());
    let e = image.extent();
    assert_eq!((e[2] - e[0], image.dx), (2200.0, 1.0), "the DEM's 2.2 km at 1 m");
    let sizes: Vec<u32> = src.levels().iter().map(|l| l.width).collect();
    assert_eq!(sizes, vec![2200, 1100, 550, 275, 138]);
    let bbox = [e[0] + 700.3, e[1] + 900.0, e[0] + 1300.0, e[1] + 1250.7];
    let mut failures = Vec::new();
    let w = src.window(bbox, 1024, &mut failures).expect("window");
    assert!(failures.is_empty());
    let direct = image.window(bbox, 1024, &mut Vec::new()).expect("crop");
    assert!(w == direct, "file window = the drawing's crop");

    // Registration with the CityJSON: roofs look like roofs (redder than
    // green, unlike grass and trees); 40 m away they mostly do not.
    let points = roof_points(&roofs(&city.cityjson, 600));
    assert!(points.len() > 300, "{}", points.len());
    let roofish = |dx: f64| {
        points
            .iter()
            .filter(|p| image.sample(p.0 + dx, p.1).is_some_and(|c| i32::from(c[0]) >= i32::from(c[1]) + 5))
            .count() as f64
            / points.len() as f64
    };
    let (on, off) = (roofish(0.0), roofish(40.0));
    assert!(on > 0.97, "{on:.3} of roof points look like roof");
    assert!(off < on - 0.2, "control: shifted 40 m, {off:.3}");
}

#[test]
fn xyz_pixels_sample_the_geotiff_where_independent_math_puts_them() {
    let cfg = SampleCityConfig::default();
    let dir = default_dir();
    ensure_ortho(&dir, &cfg).expect("orthophoto");
    let image = {
        let src = GeoTiffImagery::open(&dir.join(ORTHO_FILE)).expect("open");
        src.window(src.extent(), 4096, &mut Vec::new()).expect("full image")
    };
    assert_eq!((image.width, image.dx), (2200, 1.0));
    let to_grid = CrsTransform::new(Epsg::WGS84, Epsg(4548)).expect("PROJ");
    let tj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(ORTHO_XYZ_DIR).join("tiles.json")).expect("tiles.json"))
            .expect("json");
    assert_eq!((tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()), (Some(14), Some(17)));
    // Tile pixel centre → lon/lat by the OSM wiki's formulas → EPSG:4548 by PROJ.
    let compare = |image: &GeoRaster, z: u32, shift: f64| -> (f64, usize) {
        let (tx, ty) = urbis_formats::imagery::xyz::tile_for_lonlat(115.9, 39.0, z);
        let n = f64::from(1u32 << z);
        let mut sum = 0.0;
        let mut count = 0;
        for (x, y) in [(tx, ty), (tx + 1, ty), (tx, ty + 1)] {
            let png = dir.join(ORTHO_XYZ_DIR).join(format!("{z}/{x}/{y}.png"));
            let tile = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display())).into_rgba8();
            for py in (0..256u32).step_by(5) {
                for px in (0..256u32).step_by(5) {
                    let lon = (f64::from(x) + (f64::from(px) + 0.5) / 256.0) / n * 360.0 - 180.0;
                    let yy = f64::from(y) + (f64::from(py) + 0.5) / 256.0;
                    let lat = (std::f64::consts::PI * (1.0 - 2.0 * yy / n)).sinh().atan().to_degrees();
                    let p = to_grid.transform(DVec3::new(lon, lat, 0.0)).expect("to EPSG:4548");
                    let Some(want) = image.sample(p.x + shift, p.y) else { continue };
                    let got = tile.get_pixel(px, py);
                    sum += (0..3).map(|k| (f64::from(got[k]) - f64::from(want[k])).abs()).sum::<f64>() / 3.0;
                    count += 1;
                }
            }
        }
        (sum / count.max(1) as f64, count)
    };
    let (err, n) = compare(&image, 17, 0.0);
    assert!(n > 5000, "{n} pixels compared");
    assert!(err < 1.0, "zoom 17: mean difference {err:.2} levels");
    // Control: half a pixel off (0.5 m) the same comparison is clearly worse.
    let (shifted, _) = compare(&image, 17, 0.5);
    assert!(shifted > err + 1.0, "shifted 0.5 m: {shifted:.2} vs {err:.2}");
    // The pyramid opens as a source and covers the district.
    let src = XyzSource::files(
        &format!("{}/{{z}}/{{x}}/{{y}}.png", dir.join(ORTHO_XYZ_DIR).display()),
        XyzOptions { min_zoom: 14, max_zoom: 17, ..Default::default() },
    )
    .expect("xyz");
    let (cx, cy) = lonlat_to_mercator(115.9, 39.0);
    let mut failures = Vec::new();
    let w = src.window([cx - 500.0, cy - 500.0, cx + 500.0, cy + 500.0], 512, &mut failures).expect("window");
    assert!(failures.is_empty(), "{failures:?}");
    assert!(w.rgba.chunks_exact(4).all(|p| p[3] == 255), "the district's centre is all imagery");
}
