//! Shared helpers of the engine's integration tests.
#![allow(dead_code)]

pub mod registration;

use std::path::{Path, PathBuf};

use glam::DVec3;
use urbis_engine::Engine;
use urbis_model::CityModel;
use urbis_render::{Camera, GpuContext, HeadlessTarget, Lighting};
use urbis_sample_city::SampleCityConfig;

/// The sample city, generated on first use, loaded like any city.
pub fn sample_city() -> CityModel {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &SampleCityConfig::default())
        .expect("generate the sample city");
    urbis_model::open_city(&[dir]).expect("load the sample city").0
}

/// A headless engine, or `None` (test skipped) without an adapter unless
/// `URBIS_REQUIRE_GPU=1`.
pub fn engine(model: CityModel) -> Option<Engine> {
    let ctx = GpuContext::for_tests()?;
    Some(Engine::new(model, ctx, HeadlessTarget::FORMAT))
}

/// A camera given in the model's ENU frame.
pub fn enu_camera(model: &CityModel, eye: DVec3, target: DVec3) -> Camera {
    let f = model.frame();
    let up = if (target - eye).normalize().z.abs() > 0.999 { DVec3::Y } else { DVec3::Z };
    Camera::look_at(f.enu_to_ecef(eye), f.enu_to_ecef(target), f.enu_to_ecef_rot * up)
}

/// Fixed lighting expressed in the model's ENU frame.
pub fn enu_lighting(model: &CityModel) -> Lighting {
    let r = model.frame().enu_to_ecef_rot;
    Lighting::clear_day(r.x_axis, r.y_axis, r.z_axis, 215.0, 42.0)
}

/// Fraction of pixels whose largest channel difference exceeds `threshold`, and the mean absolute difference.
pub fn image_difference(a: &image::RgbaImage, b: &image::RgbaImage, threshold: u8) -> (f64, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut over = 0usize;
    let mut sum = 0u64;
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d = (0..3).map(|i| p.0[i].abs_diff(q.0[i])).max().unwrap_or(0);
        sum += (0..3).map(|i| p.0[i].abs_diff(q.0[i]) as u64).sum::<u64>();
        if d > threshold {
            over += 1;
        }
    }
    let n = (a.width() * a.height()) as f64;
    (over as f64 / n, sum as f64 / (3.0 * n))
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares an image with `tests/golden/<name>.png`.
///
/// Tolerance: at most `max_fraction` of the pixels may differ by more than
/// 24 levels in some channel, and the mean absolute difference must stay
/// under 2 levels. (Vulkan and GL software rasterisers differ by ≤ 2 levels;
/// the margin covers Mesa updates, not changes in what is drawn.)
/// `URBIS_UPDATE_GOLDEN=1` rewrites the golden instead. On failure the
/// actual image is written to `target/golden-failures/`.
pub fn assert_golden(name: &str, image: &image::RgbaImage, max_fraction: f64) {
    let path = golden_dir().join(format!("{name}.png"));
    let rgb = image::DynamicImage::ImageRgba8(image.clone()).to_rgb8();
    if std::env::var("URBIS_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        rgb.save(&path).expect("write golden");
        eprintln!("updated {}", path.display());
        return;
    }
    let golden = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with URBIS_UPDATE_GOLDEN=1 to create it)", path.display()))
        .to_rgba8();
    let (frac, mean) = image_difference(image, &golden, 24);
    if frac > max_fraction || mean > 2.0 {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/golden-failures");
        std::fs::create_dir_all(&dir).ok();
        let actual = dir.join(format!("{name}.actual.png"));
        rgb.save(&actual).ok();
        panic!(
            "{name}: {:.3}% of pixels differ by > 24 (limit {:.3}%), mean difference {mean:.2}; actual image in {}",
            frac * 100.0,
            max_fraction * 100.0,
            actual.display()
        );
    }
}

/// A shared dataset file, or `None` with a skip message (a failure under
/// `URBIS_REQUIRE_SHARED_DATA=1`).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("URBIS_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1") {
        panic!("URBIS_REQUIRE_SHARED_DATA=1 but {} is missing", p.display());
    }
    eprintln!("SKIP: {} is missing", p.display());
    None
}

/// The Xvfb binary, or `None` (test skipped) when it is not installed; a
/// failure under `URBIS_REQUIRE_GPU=1`.
pub fn xvfb() -> Option<PathBuf> {
    let found = ["/usr/bin/Xvfb", "/usr/local/bin/Xvfb"].iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(!GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1: install xvfb for the window tests");
        eprintln!("SKIP: Xvfb not installed");
    }
    found
}

/// Starts a virtual X server on a free display number (Xvfb picks it and
/// says which once it listens); the server and its `DISPLAY` (":N"). With
/// `fbdir`, the screen is kept there as an XWD file (`Xvfb_screen0`, see [`read_xwd`]).
pub fn start_xvfb(xvfb: &Path, screen: &str, fbdir: Option<&Path>) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(xvfb);
    if let Some(dir) = fbdir {
        command.arg("-fbdir").arg(dir);
    }
    let mut server = command
        .args(["-displayfd", "1", "-screen", "0", screen, "-nolisten", "tcp"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let mut line = String::new();
    if let Some(out) = server.stdout.take() {
        std::io::BufReader::new(out).read_line(&mut line).ok();
    }
    let number = line.trim().to_string();
    assert!(!number.is_empty(), "Xvfb did not start");
    (server, format!(":{number}"))
}

/// Runs `command` for at most `limit` (killing it then), its stdout and
/// stderr going to `log`; its exit status (`None`: killed) and that log.
pub fn run_logged(
    command: &mut std::process::Command,
    log: &Path,
    limit: std::time::Duration,
) -> (Option<std::process::ExitStatus>, String) {
    let file = std::fs::File::create(log).expect("log file");
    let mut child = command.stdout(file.try_clone().expect("log file")).stderr(file).spawn().expect("start the child");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    (status, std::fs::read_to_string(log).unwrap_or_default())
}

/// An Xvfb screen kept as an XWD file (`-fbdir`), 24/32-bit TrueColor, as RGBA.
pub fn read_xwd(path: &Path) -> Result<image::RgbaImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // The header is 25+ big-endian CARD32s, then the window name, the colour map and the pixels.
    let field = |i: usize| -> Result<usize, String> {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| "short XWD header".to_string())
    };
    let (header, width, height, byte_order) = (field(0)?, field(4)?, field(5)?, field(7)?);
    let (bpp, stride, ncolors) = (field(11)?, field(12)?, field(19)?);
    if bpp != 32 {
        return Err(format!("XWD with {bpp} bits a pixel"));
    }
    let start = header + 12 * ncolors;
    let mut image = image::RgbaImage::new(width as u32, height as u32);
    for (x, y, px) in image.enumerate_pixels_mut() {
        let at = start + y as usize * stride + 4 * x as usize;
        let b = bytes.get(at..at + 4).ok_or_else(|| "short XWD pixels".to_string())?;
        // 0x00RRGGBB, least significant byte first unless byte_order is MSBFirst (1).
        let [r, g, bl] = if byte_order == 1 { [b[1], b[2], b[3]] } else { [b[2], b[1], b[0]] };
        *px = image::Rgba([r, g, bl, 255]);
    }
    Ok(image)
}

/// Renders `camera` twice, with the pipelines specialised to the frame and
/// batch and with the general ones only (`Renderer::set_specialised`), and
/// asserts that both draw the same picture: no channel differs by more than
/// one level (compilers may round the two shaders' arithmetic apart) and
/// every pixel shows the same feature. Returns the number of pixels that
/// differ by that one level, and the number of distinct features seen.
pub fn assert_specialised_same(
    engine: &mut Engine,
    camera: &Camera,
    lighting: &Lighting,
    size: (u32, u32),
    what: &str,
) -> (usize, usize) {
    let mut draw = |specialised: bool| {
        engine.renderer.set_specialised(specialised);
        let img = urbis_engine::render_image(engine, camera, lighting, None, size.0, size.1).expect("render").image;
        let (ids, ..) = engine.renderer.feature_ids(&engine.ctx).expect("feature ids");
        (img, ids)
    };
    let (general, general_ids) = draw(false);
    let (special, special_ids) = draw(true);
    let mut one_level = 0;
    let mut worse = 0;
    for (p, q) in general.pixels().zip(special.pixels()) {
        let d = p.0.iter().zip(q.0).map(|(&a, b)| a.abs_diff(b)).max().unwrap_or(0);
        one_level += usize::from(d == 1);
        worse += usize::from(d > 1);
    }
    let ids_differ = general_ids.iter().zip(&special_ids).filter(|(a, b)| a != b).count();
    let mut seen = special_ids.clone();
    seen.sort_unstable();
    seen.dedup();
    println!(
        "{what}: {worse} pixels differ by more than a level, {one_level} by one; {ids_differ} ids differ; {} features seen",
        seen.len()
    );
    assert_eq!(worse, 0, "{what}: the specialised pipelines draw a different picture");
    assert_eq!(ids_differ, 0, "{what}: the specialised pipelines draw other features");
    (one_level, seen.len())
}
