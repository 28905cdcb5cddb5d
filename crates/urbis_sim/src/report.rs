//! Outputs an analyst can put in a report: ESRI ASCII grids (with a `.prj`
//! naming the EPSG code) and float32 GeoTIFFs, CSV and GeoJSON tables, and PNG maps with a
//! colour legend, units, a scale bar, a north arrow and a CRS note, their
//! text in the bundled font (`urbis_text`: Noto Sans CJK SC, so Chinese
//! names draw as written) with no system fonts needed, and line charts of
//! time series (gauges) drawn with `plotters` in the same font.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use urbis_geo::CityFrame;

use crate::city::{CityGrid, Cover, FloodedBuilding};

/// Errors writing outputs; they name the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Image { path: PathBuf, source: image::ImageError },
    #[error("{path}: chart: {msg}")]
    Chart { path: PathBuf, msg: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_path_buf(), source }
}

/// Writes a raster (row 0 south, as the solver keeps it) as an ESRI ASCII
/// grid in the grid's CRS; NaN becomes NODATA (-9999).
pub fn write_ascii_grid(path: &Path, grid: &CityGrid, values: &[f32]) -> Result<(), ReportError> {
    let (nx, ny) = (grid.nx(), grid.ny());
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io(path))?);
    write!(
        w,
        "ncols {nx}\nnrows {ny}\nxllcorner {}\nyllcorner {}\ncellsize {}\nNODATA_value -9999\n",
        grid.x_min, grid.y_min, grid.model.dx
    )
    .map_err(io(path))?;
    for j in (0..ny).rev() {
        let row: Vec<String> = values[j * nx..(j + 1) * nx]
            .iter()
            .map(|v| if v.is_finite() { format!("{:.3}", v) } else { "-9999".into() })
            .collect();
        writeln!(w, "{}", row.join(" ")).map_err(io(path))?;
    }
    w.flush().map_err(io(path))?;
    if let Some(crs) = grid.crs {
        let prj = path.with_extension("prj");
        std::fs::write(&prj, format!("EPSG:{}\n", crs.0)).map_err(io(&prj))?;
    }
    Ok(())
}

/// Writes flooded buildings as CSV (id, max depth, lon, lat).
pub fn write_buildings_csv(path: &Path, frame: &CityFrame, list: &[FloodedBuilding]) -> Result<(), ReportError> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io(path))?);
    writeln!(w, "building_id,max_depth_m,lon,lat").map_err(io(path))?;
    for b in list {
        let g = frame.enu_to_geodetic(b.centre);
        writeln!(w, "{},{:.3},{:.7},{:.7}", b.id, b.max_depth, g.lon_deg, g.lat_deg).map_err(io(path))?;
    }
    w.flush().map_err(io(path))
}

/// Writes flooded buildings as a GeoJSON FeatureCollection of points (WGS 84).
pub fn write_buildings_geojson(path: &Path, frame: &CityFrame, list: &[FloodedBuilding]) -> Result<(), ReportError> {
    let features: Vec<serde_json::Value> = list
        .iter()
        .map(|b| {
            let g = frame.enu_to_geodetic(b.centre);
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [g.lon_deg, g.lat_deg]},
                "properties": {"building_id": b.id, "max_depth_m": (b.max_depth * 1000.0).round() / 1000.0},
            })
        })
        .collect();
    let doc = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default()).map_err(io(path))
}

/// A colour ramp for a legend.
#[derive(Debug, Clone)]
pub struct Ramp {
    pub title: String,
    pub unit: String,
    pub min: f64,
    pub max: f64,
    pub colors: Vec<[u8; 3]>,
}

impl Ramp {
    /// Maximum water depth in blues, shown from 5 cm up to `max` metres.
    pub fn water_depth(unit: &str, max: f64) -> Ramp {
        Ramp {
            title: "max water depth".into(),
            unit: unit.into(),
            min: 0.05,
            max,
            colors: vec![[198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]],
        }
    }

    fn color(&self, v: f64) -> [u8; 3] {
        let t = ((v - self.min) / (self.max - self.min)).clamp(0.0, 1.0) * (self.colors.len() - 1) as f64;
        let i = (t.floor() as usize).min(self.colors.len() - 2);
        let f = t - i as f64;
        let (a, b) = (self.colors[i], self.colors[i + 1]);
        [0, 1, 2].map(|k| (a[k] as f64 + (b[k] as f64 - a[k] as f64) * f).round() as u8)
    }
}

/// Text in the bundled font (Noto Sans CJK SC): `size` 1 is body text (13 px), 2 a title (22 px).
fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, size: i64, color: [u8; 3]) {
    urbis_text::draw_rgb(img, (x as f32, y as f32 - 3.0), s, text_px(size), color);
}

fn text_px(size: i64) -> f32 {
    if size >= 2 { 22.0 } else { 13.0 }
}

/// The width of `s` drawn by [`text`], pixels.
fn text_width(s: &str, size: i64) -> i64 {
    urbis_text::measure(s, text_px(size)).0.ceil() as i64
}

fn rect(img: &mut RgbImage, x0: i64, y0: i64, x1: i64, y1: i64, color: [u8; 3]) {
    for y in y0.max(0)..y1.min(img.height() as i64) {
        for x in x0.max(0)..x1.min(img.width() as i64) {
            img.put_pixel(x as u32, y as u32, Rgb(color));
        }
    }
}

/// Draws a raster (row 0 south) over a shaded base map of the city: values
/// at or below `ramp.min` are left transparent. Legend, units, scale bar and
/// grid-north arrow are drawn in a side panel.
pub fn map_png(path: &Path, grid: &CityGrid, values: &[f32], ramp: &Ramp, title: &str) -> Result<(), ReportError> {
    map_png_where(path, grid, values, ramp, title, |v| v > ramp.min)
}

/// As [`map_png`], colouring the cells whose value `show` accepts (e.g.
/// `|v| v.abs() > 0.02` for a diverging difference map).
pub fn map_png_where(
    path: &Path,
    grid: &CityGrid,
    values: &[f32],
    ramp: &Ramp,
    title: &str,
    show: impl Fn(f64) -> bool,
) -> Result<(), ReportError> {
    map_png_marked(path, grid, values, ramp, title, show, &[], None)
}

/// A window of grid cells `[i0, i1) × [j0, j1)` (row 0 south) to draw instead of the whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub i0: usize,
    pub j0: usize,
    pub i1: usize,
    pub j1: usize,
}

impl Window {
    /// The cells whose values are finite, padded by `pad` cells; None if there are none.
    pub fn around_finite(grid: &CityGrid, values: &[f32], pad: usize) -> Option<Window> {
        let nx = grid.nx();
        let (mut i0, mut j0, mut i1, mut j1) = (usize::MAX, usize::MAX, 0, 0);
        for (c, v) in values.iter().enumerate() {
            if v.is_finite() {
                let (i, j) = (c % nx, c / nx);
                (i0, j0, i1, j1) = (i0.min(i), j0.min(j), i1.max(i + 1), j1.max(j + 1));
            }
        }
        (i1 > 0).then(|| Window {
            i0: i0.saturating_sub(pad),
            j0: j0.saturating_sub(pad),
            i1: (i1 + pad).min(nx),
            j1: (j1 + pad).min(grid.ny()),
        })
    }
}

/// As [`map_png_where`], with labelled markers (a cross and a label) at cells `(i, j)`,
/// drawing only `window` when given (larger pixels for a local analysis).
#[allow(clippy::too_many_arguments)]
pub fn map_png_marked(
    path: &Path,
    grid: &CityGrid,
    values: &[f32],
    ramp: &Ramp,
    title: &str,
    show: impl Fn(f64) -> bool,
    markers: &[((usize, usize), String)],
    window: Option<Window>,
) -> Result<(), ReportError> {
    let (nx, ny) = (grid.nx() as i64, grid.ny() as i64);
    let w_ = window.unwrap_or(Window { i0: 0, j0: 0, i1: grid.nx(), j1: grid.ny() });
    let (i0, j0) = (w_.i0.min(grid.nx() - 1) as i64, w_.j0.min(grid.ny() - 1) as i64);
    let (i1, j1) = ((w_.i1 as i64).clamp(i0 + 1, nx), (w_.j1 as i64).clamp(j0 + 1, ny));
    let (wnx, wny) = (i1 - i0, j1 - j0);
    let px = (900 / wnx.max(wny)).clamp(1, 12);
    let (map_w, map_h) = (wnx * px, wny * px);
    let panel = 230;
    let (w, h) = (map_w + panel + 30, (map_h + 70).max(420));
    let mut img = RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255]));
    let (ox, oy) = (15, 50);
    text(&mut img, ox, 15, title, 2, [20, 20, 20]);
    // Base map: hillshade of the bed, land cover tints, buildings dark.
    let z = &grid.model.z;
    let at = |i: i64, j: i64| z[(j.clamp(0, ny - 1) * nx + i.clamp(0, nx - 1)) as usize];
    for j in j0..j1 {
        for i in i0..i1 {
            let c = (j * nx + i) as usize;
            let base: [u8; 3] = if !z[c].is_finite() {
                [255, 255, 255]
            } else {
                let (dzdx, dzdy) = ((at(i + 1, j) - at(i - 1, j)) / 2.0, (at(i, j + 1) - at(i, j - 1)) / 2.0);
                let shade = (0.75 + 0.12 * (-dzdx + dzdy) / grid.model.dx.max(1e-6)).clamp(0.45, 1.0);
                let tint = match grid.cover[c] {
                    Cover::Building => [95, 95, 100],
                    Cover::Road => [205, 205, 200],
                    Cover::Vegetation => [200, 225, 190],
                    Cover::Water => [170, 200, 230],
                    Cover::Ground => [230, 228, 215],
                };
                if grid.cover[c] == Cover::Building { tint } else { tint.map(|t| (t as f64 * shade) as u8) }
            };
            let v = values[c] as f64;
            let color = if v.is_finite() && show(v) && grid.cover[c] != Cover::Building { ramp.color(v) } else { base };
            // Row 0 is south: draw it at the bottom.
            let (x, y) = (ox + (i - i0) * px, oy + (j1 - 1 - j) * px);
            rect(&mut img, x, y, x + px, y + px, color);
        }
    }
    for ((i, j), label) in markers {
        let (i, j) = (*i as i64, *j as i64);
        if i < i0 || i >= i1 || j < j0 || j >= j1 {
            continue;
        }
        let (x, y) = (ox + (i - i0) * px + px / 2, oy + (j1 - 1 - j) * px + px / 2);
        rect(&mut img, x - 7, y - 1, x + 8, y + 2, [0, 0, 0]);
        rect(&mut img, x - 1, y - 7, x + 2, y + 8, [0, 0, 0]);
        rect(&mut img, x - 5, y, x + 6, y + 1, [255, 230, 0]);
        rect(&mut img, x, y - 5, x + 1, y + 6, [255, 230, 0]);
        rect(&mut img, x + 9, y - 8, x + 13 + text_width(label, 1), y + 9, [255, 255, 255]);
        text(&mut img, x + 11, y - 7, label, 1, [0, 0, 0]);
    }
    // Frame.
    for (x0, y0, x1, y1) in [
        (ox - 1, oy - 1, ox + map_w + 1, oy),
        (ox - 1, oy + map_h, ox + map_w + 1, oy + map_h + 1),
        (ox - 1, oy, ox, oy + map_h),
        (ox + map_w, oy, ox + map_w + 1, oy + map_h),
    ] {
        rect(&mut img, x0, y0, x1, y1, [40, 40, 40]);
    }
    // Legend: a vertical colour bar with five labelled ticks.
    let lx = ox + map_w + 25;
    text(&mut img, lx, oy, &ramp.title, 1, [20, 20, 20]);
    text(&mut img, lx, oy + 12, &format!("({})", ramp.unit), 1, [60, 60, 60]);
    let (bar_top, bar_h) = (oy + 30, 180);
    for k in 0..bar_h {
        let v = ramp.max - (ramp.max - ramp.min) * k as f64 / (bar_h - 1) as f64;
        rect(&mut img, lx, bar_top + k, lx + 24, bar_top + k + 1, ramp.color(v));
    }
    for t in 0..5 {
        let v = ramp.max - (ramp.max - ramp.min) * t as f64 / 4.0;
        let y = bar_top + (bar_h - 1) * t / 4;
        rect(&mut img, lx + 24, y, lx + 30, y + 1, [20, 20, 20]);
        text(&mut img, lx + 34, y - 4, &format!("{v:.2}"), 1, [20, 20, 20]);
    }
    // Scale bar: a round length near a quarter of the map width.
    // Scale bar: the longest round length that fits the panel and a quarter of the map.
    let width_m = grid.model.dx * wnx as f64;
    let m_per_px = grid.model.dx / px as f64;
    let nice = [
        1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0,
    ];
    let fits = |l: f64| l <= width_m / 4.0 && l / m_per_px <= (panel - 40) as f64;
    let len_m = nice.iter().copied().rfind(|l| fits(*l)).unwrap_or(1.0);
    let len_px = (len_m / m_per_px).round() as i64;
    let sy = bar_top + bar_h + 40;
    rect(&mut img, lx, sy, lx + len_px, sy + 4, [20, 20, 20]);
    for end in [lx, lx + len_px - 1] {
        rect(&mut img, end, sy - 4, end + 1, sy + 8, [20, 20, 20]);
    }
    let label = if len_m >= 1000.0 { format!("{} km", len_m / 1000.0) } else { format!("{len_m} m") };
    text(&mut img, lx, sy + 10, &label, 1, [20, 20, 20]);
    // North arrow (grid north: the map's rows run west-east in the DEM's CRS).
    let (ax, ay) = (lx + 12, sy + 40);
    for k in 0..24 {
        let half = k / 3;
        rect(&mut img, ax - half, ay + k, ax + half + 1, ay + k + 1, [20, 20, 20]);
    }
    text(&mut img, ax - 3, ay + 28, "N", 1, [20, 20, 20]);
    text(&mut img, lx, ay + 42, "grid north", 1, [90, 90, 90]);
    if let Some(crs) = grid.crs {
        text(&mut img, lx, ay + 56, &format!("EPSG:{}", crs.0), 1, [90, 90, 90]);
    }
    text(&mut img, lx, ay + 70, &format!("cells {} m", grid.model.dx), 1, [90, 90, 90]);
    img.save(path).map_err(|source| ReportError::Image { path: path.to_path_buf(), source })
}

/// Writes the standard outputs of a flood run into `dir` and returns the
/// summary text (also written to `summary.txt`): the depth, arrival and
/// speed grids; a map of the depth rise over the initial water on the
/// ground ([`ground_rise`](crate::city::ground_rise): roofs left out)
/// (`ramp`, `title`); the buildings with water deeper than `threshold` m
/// next to them (CSV and GeoJSON); the ground area that deep, mass error
/// and run figures.
/// `headline` opens the summary; `seconds` is the run's wall time.
#[allow(clippy::too_many_arguments)]
pub fn write_flood_report(
    dir: &Path,
    city: &urbis_model::CityModel,
    grid: &CityGrid,
    sim: &crate::flood::FloodSim,
    ramp: &Ramp,
    title: &str,
    threshold: f64,
    headline: &str,
    seconds: f64,
) -> Result<String, ReportError> {
    write_ascii_grid(&dir.join("max_depth.asc"), grid, &sim.max_depth)?;
    write_ascii_grid(&dir.join("arrival_time.asc"), grid, &sim.arrival)?;
    write_ascii_grid(&dir.join("max_speed.asc"), grid, &sim.max_speed)?;
    write_geotiff(&dir.join("max_depth.tif"), grid, &sim.max_depth)?;
    write_geotiff(&dir.join("arrival_time.tif"), grid, &sim.arrival)?;
    write_geotiff(&dir.join("max_speed.tif"), grid, &sim.max_speed)?;
    // Depth rise over the initial water, roofs left out (as in scenario reports).
    let rise = crate::city::ground_rise(grid, &sim.max_depth);
    map_png(&dir.join("max_depth.png"), grid, &rise, ramp, title)?;
    let flooded = crate::city::flooded_buildings(city, grid, &rise, threshold);
    let frame = *city.frame();
    write_buildings_csv(&dir.join("flooded_buildings.csv"), &frame, &flooded)?;
    write_buildings_geojson(&dir.join("flooded_buildings.geojson"), &frame, &flooded)?;
    let deep_cells = rise.iter().filter(|d| **d as f64 > threshold).count();
    let mut summary = format!(
        "{headline}; {:.0} min simulated on {} x {} cells of {} m\n\
         {} steps in {seconds:.1} s ({:.2e} cell-steps/s), mass error {:.1e}\n\
         ground area deeper than {threshold} m: {:.3} km2\n\
         flooded buildings (water > {threshold} m next to them): {}\n",
        sim.t / 60.0,
        grid.nx(),
        grid.ny(),
        grid.model.dx,
        sim.steps,
        sim.cell_steps as f64 / seconds.max(1e-9),
        sim.mass_error(),
        deep_cells as f64 * grid.model.dx * grid.model.dx / 1e6,
        flooded.len()
    );
    for b in flooded.iter().take(5) {
        summary.push_str(&format!("  {}  {:.2} m\n", b.id, b.max_depth));
    }
    let path = dir.join("summary.txt");
    std::fs::write(&path, &summary).map_err(io(&path))?;
    Ok(summary)
}

/// One line of a chart: its label, colour, whether dashed, and (x, y) points.
#[derive(Debug, Clone)]
pub struct ChartLine {
    pub label: String,
    pub color: [u8; 3],
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A line chart (time series) drawn with `plotters` in the bundled font:
/// title, axes with ticks and units, light grid, a legend; dashed lines dashed.
pub fn line_chart_png(
    path: &Path,
    title: &str,
    x_unit: &str,
    y_unit: &str,
    lines: &[ChartLine],
) -> Result<(), ReportError> {
    use plotters::prelude::*;
    register_chart_font();
    let (w, h) = (1000u32, 520u32);
    let all = || lines.iter().flat_map(|l| l.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| (a.min(*x), b.max(*x)));
    let (mut y0, mut y1) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| (a.min(*y), b.max(*y)));
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.08).max(0.05);
    (y0, y1) = (if y0 >= 0.0 { (y0 - pad).max(0.0) } else { y0 - pad }, y1 + pad);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let chart_err = |e: String| ReportError::Chart { path: path.to_path_buf(), msg: e };
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| chart_err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (CHART_FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| chart_err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(x_unit)
            .y_desc(y_unit)
            .label_style((CHART_FONT, 15))
            .y_label_formatter(&|v| format!("{:.2}", if v.abs() < 1e-9 { 0.0 } else { *v }))
            .axis_desc_style((CHART_FONT, 16))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        for l in lines {
            let color = RGBColor(l.color[0], l.color[1], l.color[2]);
            let style = color.stroke_width(2);
            let points = l.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite());
            let series = if l.dashed {
                chart.draw_series(DashedLineSeries::new(points, 8, 6, style))
            } else {
                chart.draw_series(LineSeries::new(points, style))
            };
            series
                .map_err(|e| chart_err(e.to_string()))?
                .label(l.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .label_font((CHART_FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| chart_err(e.to_string()))?;
        root.present().map_err(|e| chart_err(e.to_string()))?;
    }
    let img = RgbImage::from_raw(w, h, buf).ok_or_else(|| chart_err("buffer size".into()))?;
    img.save(path).map_err(|source| ReportError::Image { path: path.to_path_buf(), source })
}

/// The family name charts ask `plotters` for: the bundled font, registered once.
const CHART_FONT: &str = "sans-serif";

fn register_chart_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if the bytes are not a font; the bundled font's own tests load it.
        let _ = plotters::style::register_font(CHART_FONT, plotters::style::FontStyle::Normal, urbis_text::FONT_BYTES);
    });
}

/// Writes a raster (row 0 south) as a float32 GeoTIFF in the grid's CRS; NaN becomes NODATA.
pub fn write_geotiff(path: &Path, grid: &CityGrid, values: &[f32]) -> Result<(), ReportError> {
    let (nx, ny) = (grid.nx(), grid.ny());
    let mut heights = Vec::with_capacity(nx * ny);
    for j in (0..ny).rev() {
        heights.extend_from_slice(&values[j * nx..(j + 1) * nx]);
    }
    let dem = urbis_formats::ascii_grid::DemGrid {
        ncols: nx,
        nrows: ny,
        x_min: grid.x_min,
        y_min: grid.y_min,
        cell_size: grid.model.dx,
        heights,
        nodata_value: None,
        crs: grid.crs,
    };
    urbis_formats::geotiff::write(path, &dem)
        .map_err(|e| ReportError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) })
}
