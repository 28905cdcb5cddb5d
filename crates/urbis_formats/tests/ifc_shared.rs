//! The IFC files of `../shared/data/ifc` (buildingSMART samples): each
//! yields its products with the right class, name, type and material, and
//! a closed body whose volume matches the one computed by hand from the
//! file's parameters.

mod support;

use glam::DVec3;
use urbis_formats::ifc::{self, IfcElement, IfcModel};

fn read(rel: &str) -> Option<IfcModel> {
    let p = support::shared(rel)?;
    Some(ifc::read(&p).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

fn by_class<'a>(m: &'a IfcModel, class: &str) -> &'a IfcElement {
    m.elements.iter().find(|e| e.class == class).unwrap_or_else(|| panic!("no {class}"))
}

/// The element's closed body and its volume in m³.
fn closed_volume(e: &IfcElement) -> f64 {
    let s = e.mesh.as_ref().unwrap_or_else(|| panic!("#{} {} has no body", e.id, e.class));
    assert!(!s.is_empty(), "#{}: empty body", e.id);
    assert!(s.is_closed(), "#{} {}: body not closed", e.id, e.class);
    s.volume()
}

fn attr<'a>(e: &'a IfcElement, key: &str) -> Option<&'a str> {
    e.attributes.get(key).and_then(|v| v.as_str())
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: {got} vs {want} (±{}%)", tol * 100.0);
}

#[test]
fn wall_beam_and_slab_extrusions() {
    if let Some(m) = read("ifc/wall-standard-case.ifc") {
        let w = by_class(&m, "IfcWallStandardCase");
        // 5000 × 270 mm rectangle extruded 2000 mm.
        assert_rel(closed_volume(w), 5.0 * 0.27 * 2.0, 1e-9, "wall volume");
        assert_eq!(attr(w, "type_name"), Some("Double Brick - 270"));
        assert_eq!(attr(w, "type_class"), Some("IfcWallType"));
        assert_eq!(attr(w, "material"), Some("Masonry - Brick - Brown / Masonry"));
        assert_eq!(w.parent, Some(by_class(&m, "IfcBuilding").id), "contained in the building");
        assert_eq!(m.length_unit, 0.001);
    }
    if let Some(m) = read("ifc/beam-extruded-solid.ifc") {
        let b = by_class(&m, "IfcBeamStandardCase");
        // IPE600 (b 220, h 600, tw 12, tf 19 mm) without its 24 mm root fillets, 10 m long.
        let area = 2.0 * 0.22 * 0.019 + (0.6 - 2.0 * 0.019) * 0.012;
        assert_rel(closed_volume(b), area * 10.0, 1e-9, "beam volume");
        assert_eq!(attr(b, "type_name"), Some("IPE600"));
        assert_eq!(attr(b, "material"), Some("S355JR"));
        assert_eq!(by_class(&m, "IfcBuilding").name.as_deref(), Some("Grasshopper Building"));
    }
    if let Some(m) = read("ifc/slab-standard-case.ifc") {
        let s = by_class(&m, "IfcSlabStandardCase");
        // A 1 × 4 m rectangle with two circular segments (chord 4 m, sagitta
        // 0.4 m, so radius 5.2 m) as bulges, 200 mm thick.
        let (r, sag) = (5.2f64, 0.4f64);
        let segment = r * r * ((r - sag) / r).acos() - (r - sag) * (2.0 * r * sag - sag * sag).sqrt();
        assert_rel(closed_volume(s), (4.0 + 2.0 * segment) * 0.2, 5e-3, "slab volume");
        // Placed 200 mm down: its top is at the storey's zero.
        let (lo, hi) = s.mesh.as_ref().and_then(|m| m.bounds()).expect("bounds");
        let top = s.transform.transform_point3(hi).z;
        assert!(top.abs() < 1e-9 && (hi.z - lo.z - 0.2).abs() < 1e-9, "top {top}");
        assert_eq!(attr(s, "material"), Some("Concrete"));
    }
}

#[test]
fn csg_mapped_items_and_tessellations() {
    if let Some(m) = read("ifc/bath-csg-solid.ifc") {
        let b = by_class(&m, "IfcSanitaryTerminal");
        // A 2000 × 800 × 800 block less a 1800 × 600 rounded rectangle (r 200)
        // extruded 700 up from 100 (an IfcBooleanResult through a mapped item).
        let void = (1.8 * 0.6 - (4.0 - std::f64::consts::PI) * 0.2 * 0.2) * 0.7;
        assert_rel(closed_volume(b), 2.0 * 0.8 * 0.8 - void, 5e-3, "bath volume");
        assert_eq!(attr(b, "material"), Some("Ceramic"));
        assert_eq!(attr(b, "type_class"), Some("IfcSanitaryTerminalType"));
    }
    if let Some(m) = read("ifc/basin-tessellation.ifc") {
        let b = by_class(&m, "IfcSanitaryTerminal");
        let v = closed_volume(b);
        assert!(v > 0.0005 && v < 0.05, "a basin of a few litres of ceramic: {v} m³");
        let (lo, hi) = b.mesh.as_ref().and_then(|m| m.bounds()).expect("bounds");
        // The point list spans about 600 × 420 × 94 mm.
        assert!((hi.x - lo.x - 0.6).abs() < 0.01 && (hi.z - lo.z - 0.094).abs() < 1e-3, "{lo} {hi}");
    }
    if let Some(m) = read("ifc/reinforcing-stirrup.ifc") {
        let bar = by_class(&m, "IfcReinforcingBar");
        // A 12 mm bar: π r² × the directrix length; the directrix alternates
        // lines and three-point arcs, measured here from its points.
        let pts: Vec<DVec3> = stirrup_points();
        let mut len = 0.0;
        let mut k = 0;
        // 13 segments: line, arc, line, …, line.
        for seg in 0..13 {
            if seg % 2 == 0 {
                len += pts[k].distance(pts[k + 1]);
            } else {
                len += arc_length(pts[k], pts[k + 1], pts[k + 2]);
                k += 1;
            }
            k += 1;
        }
        let want = std::f64::consts::PI * 0.006 * 0.006 * len / 1000.0;
        // The tube is a 32-gon (0.6 % less area) and mitres at joints; 2 %.
        assert_rel(closed_volume(bar), want, 0.02, "stirrup volume");
        assert_eq!(attr(bar, "type_name"), Some("12 Diameter Ligature"));
    }
}

/// The directrix points of reinforcing-stirrup.ifc (#206), in mm.
fn stirrup_points() -> Vec<DVec3> {
    let p = support::shared("ifc/reinforcing-stirrup.ifc").expect("file");
    let text = std::fs::read_to_string(p).expect("read");
    let line = text.lines().find(|l| l.starts_with("#206=")).expect("#206");
    let inner = &line[line.find("((").expect("list") + 2..line.rfind("))").expect("end")];
    inner
        .split("),(")
        .map(|t| {
            let c: Vec<f64> = t.trim_matches(['(', ')']).split(',').map(|x| x.parse().expect("number")).collect();
            DVec3::new(c[0], c[1], c[2])
        })
        .collect()
}

/// Length of the circular arc from `a` through `b` to `c`.
fn arc_length(a: DVec3, b: DVec3, c: DVec3) -> f64 {
    let (ab, bc, ca) = (a.distance(b), b.distance(c), c.distance(a));
    let area2 = (b - a).cross(c - a).length();
    let r = ab * bc * ca / (2.0 * area2);
    // The arc through b is the minor arc when b lies between a and c.
    let half = (ca / (2.0 * r)).clamp(-1.0, 1.0).asin();
    2.0 * r * half
}

#[test]
fn csg_primitives_and_map_conversion() {
    let Some(m) = read("ifc/geographic-referencing.ifc") else { return };
    let p = by_class(&m, "IfcBuildingElementProxy");
    // A cylinder (r 50, h 500 mm) and a cone (r 150, h 500 mm).
    let pi = std::f64::consts::PI;
    let want = pi * 0.05 * 0.05 * 0.5 + pi * 0.15 * 0.15 * 0.5 / 3.0;
    assert_rel(closed_volume(p), want, 0.01, "cone + cylinder (32-gons) volume");
    assert_eq!(p.name.as_deref(), Some("Geographic Position"));
    let storey = by_class(&m, "IfcBuildingStorey");
    assert_eq!(p.parent, Some(storey.id));
    assert_eq!(storey.attributes.get("Elevation").and_then(|v| v.as_f64()), Some(-1.6));
    let mc = m.map_conversion.as_ref().expect("IfcMapConversion");
    assert_eq!(mc.crs.map(|c| c.0), Some(25832));
    // Scale is omitted while the project is in millimetres and the map in
    // metres: one project metre is one map unit.
    assert_eq!(mc.scale, 1.0);
    let origin = mc.to_map(DVec3::ZERO);
    assert_eq!((origin.x, origin.y, origin.z), (458_658.78, 5_438_232.79, 113.7));
    // The project x axis points along (0.2706, 0.9627) on the map.
    let x = mc.to_map(DVec3::X) - origin;
    assert!((x.x - 0.270_600_445_976).abs() < 1e-9 && (x.y - 0.962_691_746_426).abs() < 1e-9);
    let site = m.site_location.expect("site lat/lon");
    assert!((site.lat_deg - (49.0 + 5.0 / 60.0 + 44.000_124 / 3600.0)).abs() < 1e-9);
    assert!((site.lon_deg - (8.0 + 26.0 / 60.0 + 1.32 / 3600.0)).abs() < 1e-9);
}

#[test]
fn georef_and_spatial_decomposition() {
    if let Some(m) = read("ifc/UT_GeoRef_1.ifc") {
        let mc = m.map_conversion.as_ref().expect("map conversion");
        assert_eq!(mc.crs_name, "EPSG:5834");
        assert_eq!(mc.to_map(DVec3::ZERO), DVec3::new(4_468_005.0, 5_334_600.0, 515.0));
        let site = by_class(&m, "IfcSite");
        let terrain = site.mesh.as_ref().expect("site surface");
        assert_eq!(terrain.triangles.len(), 2, "an open surface: a 1 km square in two triangles");
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        assert_eq!(by_class(&m, "IfcSolidStratum").parent, Some(site.id));
    }
    if let Some(m) = read("ifc/UT_SpatialDecomposition_1.ifc") {
        let name = |id: u64| m.elements.iter().find(|e| e.id == id).and_then(|e| e.name.clone());
        let part = m.elements.iter().find(|e| e.name.as_deref() == Some("myRoadPart01")).expect("road part");
        assert_eq!(part.class, "IfcFacilityPart");
        assert_eq!(name(part.parent.expect("parent")).as_deref(), Some("TrafficWayA"));
        let river = m.elements.iter().find(|e| e.name.as_deref() == Some("myRiver")).expect("river");
        assert_eq!(name(river.parent.expect("parent")).as_deref(), Some("River"));
        assert_eq!(m.elements.iter().filter(|e| e.class == "IfcFacility").count(), 3);
    }
}
