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
        ("[[rule]]\nwhen = \"class = Road\"\n", "rule[0]: gives none of"),
    ];
    for (text, want) in cases {
        let e = parse_style(text, Path::new("style.toml")).expect_err(want).to_string();
        assert!(e.contains(want), "{e}\n  should contain {want}");
    }
}

/// Ramps colour by an attribute between their stops in linear light;
/// extrusions make a feature's drawn height the attribute times the metres
/// per unit; opacity makes a class see-through; the editor's TOML reads
/// back to a style that applies the same.
#[test]
fn ramps_extrusions_and_opacity_apply_and_save() {
    let dir = urbis_sample_city::ensure(&urbis_sample_city::default_dir(), &Default::default()).expect("sample city");
    let (mut model, _) = urbis_model::open_city(&[dir]).expect("load");
    let text = r##"
[[rule]]
when = "class = Road"
opacity = 0.25

[[ramp]]
attribute = "height"
when = "class = Building"
stops = [[0, "#000000"], [100, "#ffffff"]]
mix = 1.0

[[extrude]]
attribute = "height"
when = "class = Building"
metres_per_unit = 2.0
"##;
    let style = parse_style(text, Path::new("s.toml")).expect("parses");
    let counts = style.apply(&mut model);
    let buildings = model.select(&FeatureQuery::parse("class = Building").expect("q"));
    assert!(counts[0] > 0 && counts[1] > 10 && counts[2] > 10, "{counts:?}");
    let mut checked = 0;
    for &e in &buildings {
        let Some(h) = model.world.get::<Attributes>(e).and_then(|a| a.get("height")?.as_f64()) else { continue };
        let s = *model.world.get::<FeatureStyle>(e).expect("style");
        // Grey at h/100 of the way from black to white, interpolated in linear light: linear(1) · t.
        let t = (h / 100.0).clamp(0.0, 1.0) as f32;
        let got = s.color_override.expect("ramped");
        assert!((got[0] - linear_f(1.0) * t).abs() < 1e-5 && (got[1] - got[0]).abs() < 1e-6, "{h}: {got:?}");
        let b = model.world.get::<urbis_model::Bounds>(e).expect("bounds");
        let drawn = f64::from(s.height_scale) * (b.max.z - b.min.z);
        assert!((drawn - 2.0 * h).abs() < 1e-3 * h.max(1.0), "{h} m × 2 drawn as {drawn}");
        checked += 1;
    }
    assert!(checked > 10);
    let mut q = model.world.query::<(&SemanticClass, &FeatureStyle)>();
    for (c, s) in q.iter(&model.world) {
        let want = if c.name() == "Road" { 0.25 } else { 1.0 };
        assert_eq!(s.opacity, want, "{}", c.name());
    }
    // Saved and read back, it styles a fresh model the same.
    let saved = style.to_toml();
    let again = parse_style(&saved, Path::new("saved.toml")).unwrap_or_else(|e| panic!("{e}\n{saved}"));
    let dir = urbis_sample_city::default_dir();
    let (mut fresh, _) = urbis_model::open_city(&[dir]).expect("load");
    assert_eq!(again.apply(&mut fresh), counts);
    let styles = |m: &mut urbis_model::CityModel| {
        let mut q = m.world.query::<(&urbis_model::FeatureId, &FeatureStyle)>();
        let mut v: Vec<(String, FeatureStyle)> = q.iter(&m.world).map(|(id, s)| (id.guid.clone(), *s)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(styles(&mut model), styles(&mut fresh));
}

#[test]
fn bad_ramps_and_extrusions_name_their_field() {
    let cases = [
        (
            "[[ramp]]\nattribute = \"h\"\nstops = [[10, \"#000000\"], [5, \"#ffffff\"]]\n",
            "s.toml:3:9: ramp[0].stops[1]",
        ),
        ("[[ramp]]\nattribute = \"h\"\nstops = []\n", "ramp[0].stops: a ramp needs"),
        ("[[ramp]]\nattribute = \"h\"\nstops = [[0, \"red\"]]\n", "ramp[0].stops[0]"),
        ("[[extrude]]\nattribute = \"h\"\nmetres_per_unit = -1\n", "s.toml:3:19: extrude[0].metres_per_unit"),
        ("[[extrude]]\nattribute = \"h\"\nwhen = \"height >\"\nmetres_per_unit = 3\n", "s.toml:3:8: extrude[0].when"),
        ("[[rule]]\nwhen = \"class = Road\"\nopacity = 2\n", "s.toml:3:11: rule[0].opacity"),
    ];
    for (text, want) in cases {
        let e = parse_style(text, Path::new("s.toml")).expect_err(want).to_string();
        assert!(e.contains(want), "{e} (wanted {want})");
    }
}
