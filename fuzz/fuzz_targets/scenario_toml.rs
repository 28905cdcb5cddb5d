//! Scenario files: any text gives a scenario or an error naming the file,
//! never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use urbis_sim::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = Scenario::parse(text, std::path::Path::new("fuzz.toml")) {
            assert!(e.to_string().contains("fuzz.toml") || matches!(e, urbis_sim::scenario::ScenarioError::Read(_)));
        }
    }
});
