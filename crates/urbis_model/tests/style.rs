//! Attribute styles from a TOML file (`--style`): on the sample city, the
//! rules colour and hide exactly what their queries select, later rules win,
//! and colours are sRGB made linear by IEC 61966-2-1's formula (computed
//! here on its own). Bad files are refused with file, line, column and field.

use std::path::Path;

use urbis_model::style::parse_style;
use urbis_model::{AttributeValue, Attributes, FeatureQuery, FeatureStyle, SemanticClass};

/// IEC 61966-2-1 (sRGB) decoding of a value in 0..1.
fn linear_f(c: f64) -> f32 {
    (if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }) as f32
}

/// The same, of an 8-bit value.
fn linear(byte: u8) -> f32 {
    linear_f(f64::from(byte) / 255.0)
}

#[test]
fn rules_colour_and_hide_what_their_queries_select() {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample city");
    let (mut model, _) = urbis_model::open_city(&[dir]).expect("load");
    let text = r##"
[[rule]]
when = "use = residential"
color = "#f08020"
mix = 0.7

[[rule]]
when = "class = Road"
hide = true

[[rule]]
when = "use = residential and height > 60"
color = [0.1, 0.3, 0.9]
"##;
    let style = parse_style(text, Path::new("city.style.toml")).expect("parses");
    let counts = style.apply(&mut model);
    let select = |q: &str| model.select(&FeatureQuery::parse(q).expect("query")).len();
    assert_eq!(
        counts,
        vec![select("use = residential"), select("class = Road"), select("use = residential and height > 60")]
    );
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
    let orange = [linear(240), linear(128), linear(32), 0.7];
    let mut q = model.world.query::<(&SemanticClass, &Attributes, &FeatureStyle)>();
    let (mut tall, mut low, mut roads) = (0, 0, 0);
    for (c, a, s) in q.iter(&model.world) {
        let residential = matches!(a.get("use"), Some(AttributeValue::String(u)) if u == "residential");
        let height = a.get("height").and_then(AttributeValue::as_f64).unwrap_or(0.0);
        if c.name() == "Road" {
            assert!(!s.visible);
            roads += 1;
        } else if residential && height > 60.0 {
            // The later rule wins.
            let want = [linear_f(0.1), linear_f(0.3), linear_f(0.9), 0.8];
            let got = s.color_override.expect("coloured");
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-5), "{got:?} vs {want:?}");
            tall += 1;
        } else if residential {
            let got = s.color_override.expect("coloured");
            assert!(got.iter().zip(orange).all(|(g, w)| (g - w).abs() < 1e-5), "{got:?} vs {orange:?}");
            low += 1;
        } else {
            assert!(s.visible, "{} hidden", c.name());
        }
    }
    assert!(tall > 0 && low > 0 && roads > 0, "{tall} tall, {low} low, {roads} roads");
}

#[test]
fn bad_style_files_name_the_line_and_field() {
    let cases = [
        ("[[rule]]\nwhen = \"use = residential\"\ncolor = \"#f0802\"\n", "style.toml:3:9: rule[0].color"),
        (
            "[[rule]]\nwhen = \"class = Building\"\ncolor = \"#ffffff\"\n\n[[rule]]\nwhen = \"height >\"\nhide = true\n",
            "style.toml:6:8: rule[1].when",
        ),
        ("[[rule]]\nwhen = \"class = Road\"\ncolour = \"#ffffff\"\n", "style.toml:3:1"),
        ("[[rule]]\nwhen = \"class = Road\"\ncolor = [1, 0.5, 2]\n", "rule[0].color"),
        ("[[rule]]\nwhen = \"class = Road\"\ncolor = \"#ffffff\"\nmix = 1.5\n", "style.toml:4:7: rule[0].mix"),
        ("[[rule]]\nwhen = \"class = Road\"\n", "rule[0]: gives neither"),
    ];
    for (text, want) in cases {
        let e = parse_style(text, Path::new("style.toml")).expect_err(want).to_string();
        assert!(e.contains(want), "{e}\n  should contain {want}");
    }
}
