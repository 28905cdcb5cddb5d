//! `--style FILE` on the command line: `render` of the sample city with a
//! style that paints every building pure blue shows far more blue pixels
//! than without it, and a bad style file stops the command with the file,
//! line, column and field.

use std::process::Command;

fn urbis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_urbis"))
}

fn blue_share(path: &std::path::Path) -> f64 {
    let img = image::open(path).expect("png").to_rgb8();
    let blue = img
        .pixels()
        .filter(|p| i32::from(p[2]) > i32::from(p[0]) + 60 && i32::from(p[2]) > i32::from(p[1]) + 40)
        .count();
    blue as f64 / img.pixels().len() as f64
}

#[test]
fn render_applies_a_style_file_and_refuses_a_bad_one() {
    if urbis_render::GpuContext::headless().is_err() {
        assert!(!urbis_render::GpuContext::gpu_required(), "URBIS_REQUIRE_GPU=1 but no GPU adapter");
        eprintln!("SKIP: no GPU adapter");
        return;
    }
    let dir = std::env::temp_dir().join(format!("urbis-style-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let style = dir.join("blue.toml");
    std::fs::write(&style, "[[rule]]\nwhen = \"family = Building\"\ncolor = \"#0000ff\"\nmix = 1.0\n").expect("style");
    let render = |extra: &[&std::ffi::OsStr], out: &std::path::Path| {
        let run = urbis()
            .args(["render", "--width", "320", "--height", "180", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .expect("run urbis");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    };
    let (plain, styled) = (dir.join("plain.png"), dir.join("styled.png"));
    render(&[], &plain);
    render(&["--style".as_ref(), style.as_os_str()], &styled);
    let (a, b) = (blue_share(&plain), blue_share(&styled));
    println!("blue pixels: {:.2} % plain, {:.2} % styled", a * 100.0, b * 100.0);
    assert!(b > a + 0.05, "the style painted too little: {:.2} % -> {:.2} %", a * 100.0, b * 100.0);

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nwhen = \"family = Building\"\ncolor = \"blue\"\n").expect("bad style");
    let run = urbis()
        .args(["render", "--width", "64", "--height", "36", "--out"])
        .arg(dir.join("never.png"))
        .arg("--style")
        .arg(&bad)
        .output()
        .expect("run urbis");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && err.contains("bad.toml:3:9: rule[0].color"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
