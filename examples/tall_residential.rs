//! Analyst example: which residential buildings are taller than 50 m?
//!
//! Loads the sample city (or the paths given), runs the attribute query,
//! writes the answer as CSV and GeoJSON, and renders a PNG with the matches
//! highlighted.
//!
//! ```text
//! cargo run --release --example tall_residential -- [PATH...]
//! ```
//! Output goes to `out/tall_residential/`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use urbis_engine::{Engine, default_camera, default_lighting, render_image};
use urbis_model::{Attributes, FeatureId, FeatureQuery, FeatureStyle, Footprint};
use urbis_render::{GpuContext, HeadlessTarget};

#[path = "common/mod.rs"]
mod common;

/// Which residential buildings are taller than 50 m? Outputs in out/tall_residential/.
#[derive(clap::Parser)]
struct Args {
    #[command(flatten)]
    city: common::CityArgs,
}

fn main() -> anyhow::Result<()> {
    let model = <Args as clap::Parser>::parse().city.open()?;
    let out = PathBuf::from("out/tall_residential");
    std::fs::create_dir_all(&out)?;

    let query = FeatureQuery::parse("class = Building and use = residential and height > 50")?;
    let hits = model.select(&query);
    println!("{} residential buildings taller than 50 m", hits.len());

    let mut csv = std::fs::File::create(out.join("tall_residential.csv"))?;
    writeln!(csv, "feature_id,height_m,floors,year_built,address,lon,lat")?;
    let mut features = Vec::new();
    let frame = *model.frame();
    for &e in &hits {
        let id = &model.world.get::<FeatureId>(e).context("id")?.guid;
        let a = model.world.get::<Attributes>(e).context("attributes")?;
        let d = model.describe(e).context("describe")?;
        let (lon, lat) = (d["position"]["lon"].as_f64().unwrap_or(0.0), d["position"]["lat"].as_f64().unwrap_or(0.0));
        writeln!(
            csv,
            "{id},{},{},{},\"{}\",{lon:.7},{lat:.7}",
            a.f64("height").unwrap_or(0.0),
            a.f64("floors").unwrap_or(0.0),
            a.f64("year_built").unwrap_or(0.0),
            a.str("address").unwrap_or("")
        )?;
        if let Some(fp) = model.world.get::<Footprint>(e) {
            let ring: Vec<[f64; 2]> =
                fp.0.exterior()
                    .points()
                    .map(|p| {
                        let g = frame.enu_to_geodetic(glam::DVec3::new(p.x(), p.y(), 0.0));
                        [g.lon_deg, g.lat_deg]
                    })
                    .collect();
            features.push(serde_json::json!({
                "type": "Feature",
                "properties": {"feature_id": id, "height": a.f64("height"), "floors": a.f64("floors"), "address": a.str("address")},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }));
        }
    }
    std::fs::write(
        out.join("tall_residential.geojson"),
        serde_json::to_string_pretty(&serde_json::json!({"type": "FeatureCollection", "features": features}))?,
    )?;

    let mut engine = Engine::new(model, GpuContext::headless()?, HeadlessTarget::FORMAT);
    for &e in &hits {
        if let Some(mut s) = engine.model.world.get_mut::<FeatureStyle>(e) {
            s.highlighted = true;
        }
    }
    let camera = default_camera(&engine.model);
    let lighting = default_lighting(&engine.model, &camera);
    let img = render_image(&mut engine, &camera, &lighting, None, 1280, 720)?;
    img.image.save(out.join("tall_residential.png"))?;
    println!("wrote {}/tall_residential.{{csv,geojson,png}}", out.display());
    Ok(())
}
