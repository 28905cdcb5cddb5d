//! `--imagery SPEC`: orthophotos and base maps draped on the terrain (or a
//! ground under the city) when a scene loads.
//!
//! ```text
//! SPEC ─► GeoTIFF (a file, or a COG URL read by HTTP range requests) | XYZ (files or HTTP)
//!        | MBTiles | WMTS | graticule | the sample orthophoto ─► ImageryLayer
//!      ─► urbis_model::imagery::drape ─► a texture on the terrain; failures listed, holes left
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use urbis_formats::imagery::ImagerySource;
use urbis_formats::imagery::geotiff::GeoTiffImagery;
use urbis_formats::imagery::mbtiles::MbTiles;
use urbis_formats::imagery::xyz::{XyzOptions, XyzSource};
use urbis_model::CityModel;
use urbis_model::imagery::ImageryLayer;

use crate::Inputs;

/// The source a SPEC names.
pub fn source(spec: &str) -> Result<Arc<dyn ImagerySource>> {
    if spec == "sample" {
        let cfg = urbis_sample_city::SampleCityConfig::default();
        let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &cfg).context("the sample city")?;
        let tif = urbis_sample_city::ensure_ortho(&dir, &cfg).context("the sample city's orthophoto")?;
        return Ok(Arc::new(GeoTiffImagery::open(&tif)?));
    }
    if let Some(step) = spec.strip_prefix("graticule") {
        let step =
            match step.strip_prefix(':') {
                Some(s) => s.parse::<f64>().ok().filter(|s| *s > 0.0 && *s <= 90.0).with_context(|| {
                    format!("--imagery {spec}: the step must be degrees in (0, 90], e.g. graticule:10")
                })?,
                None if step.is_empty() => 10.0,
                None => anyhow::bail!("--imagery {spec}: write graticule or graticule:DEGREES"),
            };
        return Ok(Arc::new(urbis_formats::imagery::graticule::Graticule { step, ..Default::default() }));
    }
    if let Some(url) = spec.strip_prefix("wmts:") {
        // wmts:CAPABILITIES-URL, or wmts:CAPABILITIES-URL#LAYER
        let (url, layer) = match url.rsplit_once('#') {
            Some((u, l)) => (u, Some(l)),
            None => (url, None),
        };
        return Ok(Arc::new(urbis_tiles::open_wmts(url, layer, urbis_tiles::fetch::default_fetcher())?));
    }
    if let Some(template) = spec.strip_prefix("xyz:") {
        let opts = XyzOptions::default();
        return Ok(if template.starts_with("http://") || template.starts_with("https://") {
            let fetcher = Arc::new(urbis_tiles::HttpTileFetcher::default());
            Arc::new(XyzSource::new(template, fetcher, opts)?)
        } else {
            Arc::new(XyzSource::files(template, opts)?)
        });
    }
    if is_geotiff_url(spec) {
        let http = urbis_tiles::fetch::default_fetcher().http.clone();
        return Ok(Arc::new(urbis_tiles::open_cog(spec, &http)?));
    }
    let path = PathBuf::from(spec);
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "mbtiles" => Ok(Arc::new(MbTiles::open(&path)?)),
        "tif" | "tiff" => Ok(Arc::new(GeoTiffImagery::open(&path)?)),
        _ => anyhow::bail!(
            "--imagery {spec}: not a GeoTIFF (file or http(s) URL), .mbtiles, xyz:TEMPLATE, wmts:CAPABILITIES-URL[#LAYER], graticule[:DEGREES] or `sample`"
        ),
    }
}

/// An `http(s)://` URL whose path ends in `.tif` or `.tiff` (any case; a
/// query string or fragment ignored): a (Cloud-Optimized) GeoTIFF.
fn is_geotiff_url(spec: &str) -> bool {
    let lower = spec.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return false;
    }
    let path = lower.split(['?', '#']).next().unwrap_or_default();
    path.ends_with(".tif") || path.ends_with(".tiff")
}

/// The inputs' imagery layers, in drawing order.
pub fn layers(inputs: &Inputs) -> Result<Vec<ImageryLayer>> {
    inputs.imagery.iter().map(|s| source(s).map(ImageryLayer::new)).collect()
}

/// Drapes the inputs' imagery layers on the model (nothing without `--imagery`).
pub fn drape(inputs: &Inputs, model: &mut CityModel) -> Result<()> {
    if inputs.imagery.is_empty() {
        return Ok(());
    }
    let layers = layers(inputs)?;
    let report = urbis_model::imagery::drape(model, &layers, inputs.imagery_texel)?;
    for l in &report.layers {
        for f in &l.failures {
            eprintln!("warning: imagery {}: {f}", l.name);
        }
    }
    tracing::info!("imagery draped: {} layers", report.layers.len());
    Ok(())
}
