//! `wall.toml`: the displays (a grid with bezels, and/or rectangles), the
//! eye, and who renders what. Every refusal names the file, line, column
//! and field.
//!
//! ```toml
//! [eye]
//! position = [2.4, 1.0, 3.0]      # metres: x right, y up from the wall's lower-left, z towards the viewer
//!
//! [grid]                            # displays c{col}r{row}, row 0 at the bottom
//! columns = 3
//! rows = 2
//! panel = [1.6, 0.9]                # visible width and height, metres
//! bezel = 0.005                     # frame around each panel's picture (the gap between two is twice it)
//! pixels = [1920, 1080]
//! hosts = ["node-1", "node-1", "node-2", "node-2", "node-3", "node-3"]   # optional, per display in id order
//!
//! [[display]]                       # or rectangles, anywhere on the wall plane
//! id = "lobby"
//! rect = [5.0, 0.0, 1.2, 0.68]      # west, south, width, height, metres
//! pixels = [1920, 1080]
//! host = "node-4"
//! output = "DP-1"
//!
//! [sync]                            # several processes: the leader listens, followers connect
//! leader = "127.0.0.1:7400"
//! barrier_timeout_ms = 250          # a follower later than this is shown as missing
//! fps = 30                          # the leader's frame rate, at most
//!
//! [[overlay]]                       # ops overlays, in wall metres (see `overlay`)
//! kind = "clock"
//! rect = [0.1, 1.5, 0.8, 0.25]
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use glam::DVec3;
use serde::Deserialize;
use toml::Spanned;

use crate::layout::{Display, WallLayout};
use crate::overlay::{OverlaySpec, RawOverlay};

/// The most displays a wall may have.
pub const MAX_DISPLAYS: usize = 1024;
/// The largest canvas a wall may make, pixels a side: the whole wall is one
/// image at its finest display's density ([`WallLayout::canvas`]).
pub const MAX_CANVAS: u32 = 65536;

/// Why a wall file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WallError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Toml { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, field: String, message: String },
}

/// A checked wall description.
#[derive(Debug, Clone, PartialEq)]
pub struct WallConfig {
    pub layout: WallLayout,
    /// Leader and followers; `None`: one process renders every display.
    pub sync: Option<SyncConfig>,
    /// Ops overlays, in drawing order.
    pub overlays: Vec<OverlaySpec>,
}

/// How the processes of a wall find and wait for each other.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    /// The leader's address: it listens there, followers connect to it.
    pub leader: String,
    /// How long the leader's swap barrier waits for a follower's frame
    /// before showing that follower as missing and swapping without it.
    pub barrier_timeout: std::time::Duration,
    /// The leader's frame rate, at most.
    pub fps: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    leader: Spanned<String>,
    barrier_timeout_ms: Option<Spanned<u64>>,
    fps: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    eye: Spanned<RawEye>,
    grid: Option<Spanned<RawGrid>>,
    #[serde(default)]
    display: Vec<Spanned<RawDisplay>>,
    sync: Option<Spanned<RawSync>>,
    #[serde(default)]
    overlay: Vec<Spanned<RawOverlay>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEye {
    position: Spanned<[f64; 3]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    columns: Spanned<u32>,
    rows: Spanned<u32>,
    panel: Spanned<[f64; 2]>,
    #[serde(default)]
    bezel: Option<Spanned<f64>>,
    pixels: Spanned<[u32; 2]>,
    #[serde(default)]
    origin: Option<Spanned<[f64; 2]>>,
    #[serde(default)]
    hosts: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    id: Spanned<String>,
    rect: Spanned<[f64; 4]>,
    pixels: Spanned<[u32; 2]>,
    host: Option<String>,
    output: Option<String>,
    window: Option<[i32; 2]>,
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Reads and checks a wall file.
pub fn read(path: &Path) -> Result<WallConfig, WallError> {
    let text = std::fs::read_to_string(path).map_err(|source| WallError::Io { path: path.into(), source })?;
    parse(&text, path)
}

/// Parses and checks wall text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<WallConfig, WallError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        WallError::Toml { path: path.into(), line, column, message: e.message().to_string() }
    })?;
    let bad = |span: Range<usize>, field: &str, message: String| {
        let (line, column) = line_col(text, span.start);
        WallError::Invalid { path: path.into(), line, column, field: field.into(), message }
    };
    let eye = *raw.eye.get_ref().position.get_ref();
    if !(eye.iter().all(|v| v.is_finite()) && eye[2] > 0.0) {
        return Err(bad(
            raw.eye.get_ref().position.span(),
            "eye.position",
            "z must be > 0 (in front of the wall)".into(),
        ));
    }
    let mut displays: Vec<(Display, Range<usize>)> = Vec::new();
    if let Some(g) = &raw.grid {
        let g = g.get_ref();
        let (cols, rows) = (*g.columns.get_ref(), *g.rows.get_ref());
        if cols == 0 || rows == 0 || (cols as usize) * (rows as usize) > MAX_DISPLAYS {
            return Err(bad(
                g.columns.span(),
                "grid.columns",
                format!("{cols} × {rows} displays (1 to {MAX_DISPLAYS})"),
            ));
        }
        let [w, h] = *g.panel.get_ref();
        if !(w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite()) {
            return Err(bad(g.panel.span(), "grid.panel", "width and height must be > 0 metres".into()));
        }
        let bezel = g.bezel.as_ref().map_or(0.0, |b| *b.get_ref());
        if !(bezel >= 0.0 && bezel.is_finite()) {
            let span = g.bezel.as_ref().map_or(0..0, Spanned::span);
            return Err(bad(span, "grid.bezel", "must be ≥ 0 metres".into()));
        }
        let [ox, oy] = g.origin.as_ref().map_or([0.0, 0.0], |o| *o.get_ref());
        if !(ox.is_finite() && oy.is_finite()) {
            let span = g.origin.as_ref().map_or(0..0, Spanned::span);
            return Err(bad(span, "grid.origin", "west and south must be finite metres".into()));
        }
        let east = ox + f64::from(cols) * (w + 2.0 * bezel);
        let north = oy + f64::from(rows) * (h + 2.0 * bezel);
        if !(east.is_finite() && north.is_finite()) {
            return Err(bad(g.panel.span(), "grid.panel", "the grid's far edges are not finite metres".into()));
        }
        let count = (cols * rows) as usize;
        if let Some(hosts) = &g.hosts
            && hosts.get_ref().len() != count
        {
            return Err(bad(
                hosts.span(),
                "grid.hosts",
                format!("{} hosts for {count} displays", hosts.get_ref().len()),
            ));
        }
        for r in 0..rows {
            for c in 0..cols {
                let k = (r * cols + c) as usize;
                let x = ox + bezel + f64::from(c) * (w + 2.0 * bezel);
                let y = oy + bezel + f64::from(r) * (h + 2.0 * bezel);
                displays.push((
                    Display {
                        id: format!("c{c}r{r}"),
                        rect: [x, y, w, h],
                        pixels: *g.pixels.get_ref(),
                        host: g.hosts.as_ref().map(|hs| hs.get_ref()[k].clone()),
                        output: None,
                        window: None,
                    },
                    g.pixels.span(),
                ));
            }
        }
    }
    for d in &raw.display {
        let d = d.get_ref();
        let [x, y, w, h] = *d.rect.get_ref();
        if ![x, y, w, h].iter().all(|v| v.is_finite()) || w <= 0.0 || h <= 0.0 {
            return Err(bad(d.rect.span(), "display.rect", "west, south, width > 0, height > 0 (metres)".into()));
        }
        if !((x + w).is_finite() && (y + h).is_finite()) {
            return Err(bad(d.rect.span(), "display.rect", "its east and north edges are not finite metres".into()));
        }
        displays.push((
            Display {
                id: d.id.get_ref().clone(),
                rect: [x, y, w, h],
                pixels: *d.pixels.get_ref(),
                host: d.host.clone(),
                output: d.output.clone(),
                window: d.window,
            },
            d.id.span(),
        ));
    }
    if displays.is_empty() {
        return Err(bad(0..0, "display", "no displays: give a [grid] or [[display]] tables".into()));
    }
    if displays.len() > MAX_DISPLAYS {
        return Err(bad(0..0, "display", format!("{} displays, over {MAX_DISPLAYS}", displays.len())));
    }
    for (i, (d, span)) in displays.iter().enumerate() {
        if d.pixels[0] == 0 || d.pixels[1] == 0 || d.pixels[0] > 16384 || d.pixels[1] > 16384 {
            return Err(bad(span.clone(), "pixels", format!("{}: {:?} (1 to 16384 a side)", d.id, d.pixels)));
        }
        for (e, _) in &displays[..i] {
            if e.id == d.id {
                return Err(bad(span.clone(), "id", format!("\"{}\" is used twice", d.id)));
            }
            let ([ax, ay, aw, ah], [bx, by, bw, bh]) = (e.rect, d.rect);
            if ax < bx + bw - 1e-9 && bx < ax + aw - 1e-9 && ay < by + bh - 1e-9 && by < ay + ah - 1e-9 {
                return Err(bad(span.clone(), "rect", format!("{} overlaps {}", d.id, e.id)));
            }
        }
    }
    let spans: Vec<Range<usize>> = displays.iter().map(|(_, span)| span.clone()).collect();
    let layout = WallLayout { displays: displays.into_iter().map(|(d, _)| d).collect(), eye: DVec3::from_array(eye) };
    // The canvas as `WallLayout::canvas` makes it, before its sides are cast
    // to u32: tiny displays far apart would ask for an image too big to make.
    let density = layout.density();
    let [west, south, east, north] = layout.extent();
    let (cw, ch) = (((east - west) * density).round(), ((north - south) * density).round());
    if !(cw <= f64::from(MAX_CANVAS) && ch <= f64::from(MAX_CANVAS)) {
        let of = |d: &Display| (f64::from(d.pixels[0]) / d.rect[2]).max(f64::from(d.pixels[1]) / d.rect[3]);
        let ds = &layout.displays;
        let finest = (0..ds.len()).max_by(|&a, &b| of(&ds[a]).total_cmp(&of(&ds[b]))).unwrap_or(0);
        let d = &ds[finest];
        return Err(bad(
            spans[finest].clone(),
            "canvas",
            format!(
                "the wall's canvas would be {cw} × {ch} px (at {density:.0} px/m, the density of {}), \
                 over {MAX_CANVAS} a side: check the displays' rect and pixels",
                d.id
            ),
        ));
    }
    let sync = match &raw.sync {
        None => None,
        Some(s) => {
            let s = s.get_ref();
            let leader = s.leader.get_ref().clone();
            if leader.trim().is_empty() || !leader.contains(':') {
                return Err(bad(s.leader.span(), "sync.leader", format!("\"{leader}\": give host:port")));
            }
            let timeout = s.barrier_timeout_ms.as_ref().map_or(250, |t| *t.get_ref());
            if !(1..=60_000).contains(&timeout) {
                let span = s.barrier_timeout_ms.as_ref().map_or(0..0, Spanned::span);
                return Err(bad(span, "sync.barrier_timeout_ms", format!("{timeout} (1 to 60000)")));
            }
            let fps = s.fps.as_ref().map_or(30.0, |f| *f.get_ref());
            if !(fps > 0.0 && fps <= 1000.0) {
                let span = s.fps.as_ref().map_or(0..0, Spanned::span);
                return Err(bad(span, "sync.fps", format!("{fps} (over 0, at most 1000)")));
            }
            Some(SyncConfig { leader, barrier_timeout: std::time::Duration::from_millis(timeout), fps })
        }
    };
    let mut overlays = Vec::with_capacity(raw.overlay.len());
    for (i, o) in raw.overlay.iter().enumerate() {
        let spec = crate::overlay::check(o.get_ref()).map_err(|(span, field, message)| {
            let span = span.unwrap_or_else(|| o.span());
            bad(span, &format!("overlay[{i}].{field}"), message)
        })?;
        overlays.push(spec);
    }
    Ok(WallConfig { layout, sync, overlays })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: &str = r#"
[eye]
position = [2.4, 1.0, 3.0]

[grid]
columns = 3
rows = 2
panel = [1.6, 0.9]
bezel = 0.005
pixels = [1920, 1080]

[[display]]
id = "lobby"
rect = [6.0, 0.0, 1.2, 0.675]
pixels = [1920, 1080]
host = "node-4"
output = "DP-1"
"#;

    #[test]
    fn a_grid_with_bezels_and_a_rectangle() {
        let wall = parse(WALL, Path::new("wall.toml")).expect("valid").layout;
        assert_eq!(wall.displays.len(), 7);
        let ids: Vec<&str> = wall.displays.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["c0r0", "c1r0", "c2r0", "c0r1", "c1r1", "c2r1", "lobby"]);
        // Panels 1.6 m wide with a 5 mm bezel: pictures 1.61 m apart, a 1 cm gap between them.
        let [x1, y1, ..] = wall.displays[1].rect;
        let [x0, y0, w0, _] = wall.displays[0].rect;
        assert!((x0 - 0.005).abs() < 1e-12 && (y0 - 0.005).abs() < 1e-12);
        assert!((x1 - (x0 + w0) - 0.01).abs() < 1e-12 && y1 == y0);
        assert_eq!(wall.displays[6].output.as_deref(), Some("DP-1"));
        assert_eq!(wall.eye, DVec3::new(2.4, 1.0, 3.0));
    }

    #[test]
    fn refusals_name_the_line_and_field() {
        let path = Path::new("ops/wall.toml");
        let cases = [
            (WALL.replace("[2.4, 1.0, 3.0]", "[2.4, 1.0, -1.0]"), "ops/wall.toml:3:", "eye.position"),
            (WALL.replace("panel = [1.6, 0.9]", "panel = [1.6, 0.0]"), "ops/wall.toml:8:", "grid.panel"),
            (WALL.replace("columns = 3", "columns = 0"), "ops/wall.toml:6:", "grid.columns"),
            // A display's own errors point at its id.
            (WALL.replace("rect = [6.0,", "rect = [4.0,"), "ops/wall.toml:13:", "lobby overlaps c2r0"),
            (WALL.replace("id = \"lobby\"", "id = \"c0r0\""), "ops/wall.toml:13:", "used twice"),
            (WALL.replace("pixels = [1920, 1080]\nhost", "pixels = [0, 1080]\nhost"), "ops/wall.toml:13:", "pixels"),
            (WALL.replace("bezel = 0.005", "bezel = \"thin\""), "ops/wall.toml:9:", "invalid type"),
            (WALL.replace("host = \"node-4\"", "hots = \"node-4\""), "ops/wall.toml:16:", "unknown field"),
        ];
        for (text, at, what) in cases {
            let e = parse(&text, path).expect_err(what).to_string();
            assert!(e.starts_with(at) && e.contains(what), "{what}: {e}");
        }
        let e = parse("[eye]\nposition = [0, 0, 2]\n", path).expect_err("no displays").to_string();
        assert!(e.contains("no displays"), "{e}");
    }

    /// Found by the wall_toml fuzz target: tiny displays far apart (or edges
    /// past what f64 holds) were accepted, and `WallLayout::canvas` then
    /// asked for a 4294967295-pixel-wide image (its sides cast to u32).
    #[test]
    fn a_canvas_too_big_to_make_is_refused() {
        let path = Path::new("wall.toml");
        let two = |second: &str| {
            format!(
                "[eye]\nposition = [0.5, 0.5, 2.0]\n\n[[display]]\nid = \"a\"\nrect = [0.0, 0.0, 1.0, 1.0]\n\
                 pixels = [16384, 16384]\n\n[[display]]\nid = \"b\"\nrect = {second}\npixels = [1920, 1080]\n"
            )
        };
        // The control: 4 m at 16384 px a metre is exactly the largest canvas.
        let wall = parse(&two("[3.0, 0.0, 1.0, 1.0]"), path).expect("65536 px wide").layout;
        assert_eq!(wall.canvas().0, MAX_CANVAS);
        let speck = "[eye]\nposition = [0.5, 0.5, 2.0]\n\n[[display]]\nid = \"far\"\nrect = [1000.0, 0.0, 1.0, 1.0]\n\
                     pixels = [1920, 1080]\n\n[[display]]\nid = \"speck\"\nrect = [0.0, 0.0, 1e-9, 1e-9]\n\
                     pixels = [16384, 16384]\n";
        let grid = "[eye]\nposition = [0.5, 0.5, 2.0]\n\n[grid]\ncolumns = 2\nrows = 1\npixels = [1920, 1080]\n";
        let cases = [
            (two("[3.001, 0.0, 1.0, 1.0]"), "wall.toml:5:", "canvas: the wall's canvas would be 65552 × 16384 px"),
            (speck.to_string(), "wall.toml:10:", "(at 16384000000000 px/m, the density of speck), over 65536"),
            (two("[1.7e308, 0.0, 1.7e308, 1.0]"), "wall.toml:11:", "display.rect: its east and north edges"),
            (two("[-1.7e308, 0.0, 1.0, 1.0]"), "wall.toml:5:", "canvas: the wall's canvas would be inf × 16384 px"),
            (format!("{grid}panel = [1e308, 1.0]\n"), "wall.toml:8:", "grid.panel: the grid's far edges"),
            (format!("{grid}panel = [1.0, 1.0]\nbezel = 1e308\n"), "wall.toml:8:", "grid.panel: the grid's far edges"),
            (format!("{grid}panel = [1.0, 1.0]\norigin = [nan, 0.0]\n"), "wall.toml:9:", "grid.origin"),
        ];
        for (text, at, what) in cases {
            let e = parse(&text, path).expect_err(what).to_string();
            assert!(e.starts_with(at) && e.contains(what), "{what}: {e}");
        }
    }
}
