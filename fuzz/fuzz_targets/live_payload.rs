//! Live sensor payloads (JSON readings, batches, SensorThings observations
//! and pages) and live configuration files: any bytes give readings with
//! finite values or counted refusals, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urbis_live::payload::{FieldMap, Limits, Parser, Registry};
use urbis_live::{LiveConfig, Stats};

fuzz_target!(|data: &[u8]| {
    let mut registry = Registry::default();
    registry.add("g1", Some("17"));
    registry.add("g2", None);
    let stats = Stats::default();
    let fields = FieldMap { topic_sensor_level: Some(1), ..Default::default() };
    let parser = Parser { fields: &fields, registry: &registry, stats: &stats, limits: Limits::default() };
    let mut out = Vec::new();
    let now = 1_784_073_600_000;
    parser.json("city/g1", data, now, &mut out);
    parser.sensorthings("17", data, now, &mut out);
    assert!(out.iter().all(|r| r.value.is_finite() && (r.stream as usize) < registry.len()));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = LiveConfig::parse(text, std::path::Path::new("fuzz.toml"));
    }
});
