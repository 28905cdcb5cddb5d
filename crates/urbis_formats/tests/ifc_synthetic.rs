//! A hand-written IFC4 file exercising what the shared samples do not:
//! property sets and quantities (occurrence over type), openings cut from
//! their host, half-space and polygonally bounded half-space clipping,
//! profiles with voids, faceted breps, polygonal face sets, revolutions in
//! degrees, non-uniform mapped items, styles, site latitude/longitude, and
//! unsupported or broken items, which are skipped, named and counted.
//! Then hostile files: cycles, dangling references, exponential mapping.

use std::f64::consts::PI;

use urbis_formats::ifc::{self, IfcElement, IfcModel};

pub const SAMPLE: &str = include_str!("data/sample.ifc");

fn parse(text: &str) -> IfcModel {
    ifc::parse(text.as_bytes(), "sample.ifc").expect("parse")
}

fn named<'a>(m: &'a IfcModel, name: &str) -> &'a IfcElement {
    m.elements.iter().find(|e| e.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no element {name}"))
}

fn closed_volume(e: &IfcElement) -> f64 {
    let s = e.mesh.as_ref().unwrap_or_else(|| panic!("{:?} has no body", e.name));
    assert!(s.is_closed(), "{:?}: body not closed", e.name);
    s.volume()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: {got} vs {want}");
}

#[test]
fn properties_quantities_types_and_styles() {
    let m = parse(SAMPLE);
    let w = named(&m, "Wall A");
    let a = &w.attributes;
    let get = |k: &str| a.get(k).unwrap_or_else(|| panic!("no attribute {k}: {a:?}"));
    assert_eq!(get("Pset_WallCommon.IsExternal"), &serde_json::json!(true), "the occurrence overrides its type");
    assert_eq!(get("Pset_WallCommon.Reference"), &serde_json::json!("BR-200"), "inherited from the type");
    assert_eq!(get("Pset_WallCommon.FireRating"), &serde_json::json!("REI 90"));
    assert_eq!(get("Pset_WallCommon.ThermalTransmittance"), &serde_json::json!(0.24));
    assert_eq!(get("Pset_WallCommon.Finish"), &serde_json::json!("Plaster, Paint"));
    assert_eq!(get("Pset_WallCommon.OperatingTemp"), &serde_json::json!("-10.0..40.0"));
    assert_eq!(get("Qto_WallBaseQuantities.Length"), &serde_json::json!(4000.0));
    assert_eq!(get("Qto_WallBaseQuantities.NetVolume"), &serde_json::json!(1.8));
    assert_eq!(get("Tag"), &serde_json::json!("W-1"));
    assert_eq!(get("Description"), &serde_json::json!("a wall"));
    assert_eq!(get("PredefinedType"), &serde_json::json!("STANDARD"));
    assert_eq!(get("type_name"), &serde_json::json!("Brick 200"));
    assert_eq!(get("material"), &serde_json::json!("Brick"));
    assert_eq!(w.class, "IfcWall");
    assert_eq!(w.color, Some([0.8, 0.2, 0.1, 1.0]), "IfcSurfaceStyleRendering on the body item");
    // IFC2x3-style assignment wrapper, with transparency.
    assert_eq!(named(&m, "Column").color, Some([0.0, 0.0, 1.0, 0.5]));
    // Colour from the material's styled representation.
    assert_eq!(named(&m, "Slab").color, Some([0.5, 0.5, 0.5, 1.0]));
    assert_eq!(m.project_name.as_deref(), Some("Test project"));
    // The spatial tree.
    let storey = named(&m, "Ground floor");
    assert_eq!(w.parent, Some(storey.id));
    assert_eq!(storey.parent, Some(named(&m, "Building").id));
    assert_eq!(named(&m, "Building").parent, Some(named(&m, "Site").id));
    assert!(m.elements.iter().all(|e| e.class != "IfcOpeningElement"), "openings are cut, not listed");
}

#[test]
fn bodies_match_their_analytic_volumes() {
    let m = parse(SAMPLE);
    // 4 × 0.2 × 3 m, clipped above 2.5 m by a half-space, less a 1 × 0.2 × 1 m opening.
    close(closed_volume(named(&m, "Wall A")), 4.0 * 0.2 * 2.5 - 0.2, 1e-6, "wall");
    // 6 × 4 m with a 1 m² hole, 0.3 m thick, less a 2 × 2 × 0.15 m corner
    // cut by a polygonally bounded half-space.
    close(closed_volume(named(&m, "Slab")), 23.0 * 0.3 - 0.6, 1e-6, "slab");
    // A 0.5 m cube as a faceted brep (one bound written reversed).
    close(closed_volume(named(&m, "Column")), 0.125, 1e-9, "column");
    // 0.5 × 0.3 m rectangle centred 1.25 m off the axis, revolved 360 degrees
    // (Pappus; a 64-gon loses sin(2π/64)/(2π/64)).
    let ring = 2.0 * PI * 1.25 * 0.15 * ((2.0 * PI / 64.0).sin() / (2.0 * PI / 64.0));
    close(closed_volume(named(&m, "Ring")), ring, 1e-6, "revolved ring");
    // A 1 m cube mapped with scales (1, 2, 0.5) plus a polygonal-face-set pyramid (1 × 1 × 3 m).
    close(closed_volume(named(&m, "Furniture")), 1.0 + 1.0, 1e-9, "mapped block + pyramid");
    let f = named(&m, "Furniture");
    let (lo, hi) = f.mesh.as_ref().and_then(|s| s.bounds()).expect("bounds");
    assert!((lo.x - 0.0).abs() < 1e-9 && (hi.x - 6.0).abs() < 1e-9 && (hi.y - 2.0).abs() < 1e-9, "{lo} {hi}");
    // Placements: the building is 1 m east, 2 m north of the site, in millimetres.
    let b = named(&m, "Building");
    assert_eq!(b.transform.w_axis.truncate(), glam::DVec3::new(1.0, 2.0, 0.0));
    assert_eq!(m.length_unit, 0.001);
    let site = m.site_location.expect("site location");
    assert_eq!((site.lat_deg, site.lon_deg, site.elevation), (52.0, 4.5, 10.0));
    assert_eq!(m.true_north, Some(glam::DVec2::new(-1.0, 0.0)));
}

#[test]
fn unsupported_and_broken_items_are_named_and_counted() {
    let m = parse(SAMPLE);
    assert_eq!(m.unsupported.get("IFCADVANCEDBREP"), Some(&1), "{:?}", m.unsupported);
    assert!(
        m.warnings.iter().any(|w| w.contains("#601 IFCADVANCEDBREP") && w.contains("unsupported")),
        "{:?}",
        m.warnings
    );
    assert!(m.warnings.iter().any(|w| w.contains("dangling reference #998")), "{:?}", m.warnings);
    // The rest of each product still comes through.
    assert!(named(&m, "Proxy").mesh.is_some(), "its supported item is kept");
    assert!(named(&m, "Broken").mesh.is_none());
}

fn step(body: &str) -> String {
    format!(
        "ISO-10303-21;HEADER;FILE_DESCRIPTION((''),'2;1');FILE_NAME('','',(''),(''),'','','');\
         FILE_SCHEMA(('IFC4'));ENDSEC;DATA;\n{body}\nENDSEC;END-ISO-10303-21;"
    )
}

const PRELUDE: &str = "#1=IFCCARTESIANPOINT((0.,0.,0.));#2=IFCAXIS2PLACEMENT3D(#1,$,$);\
    #3=IFCDIRECTION((0.,0.,1.));#4=IFCRECTANGLEPROFILEDEF(.AREA.,$,$,1.,1.);\
    #5=IFCEXTRUDEDAREASOLID(#4,$,#3,1.);";

#[test]
fn hostile_graphs_end_with_named_errors() {
    // Placement cycle, representation cycle through a mapped item, a
    // boolean operand that is itself, and a parent loop.
    let body = format!(
        "{PRELUDE}\
        #10=IFCLOCALPLACEMENT(#11,#2);#11=IFCLOCALPLACEMENT(#10,#2);\
        #20=IFCBUILDINGELEMENTPROXY('0000000000000000000020',$,'Cyclic placement',$,$,#10,#21,$,$);\
        #21=IFCPRODUCTDEFINITIONSHAPE($,$,(#22));#22=IFCSHAPEREPRESENTATION($,'Body','SweptSolid',(#5));\
        #30=IFCBUILDINGELEMENTPROXY('0000000000000000000030',$,'Cyclic map',$,$,$,#31,$,$);\
        #31=IFCPRODUCTDEFINITIONSHAPE($,$,(#32));#32=IFCSHAPEREPRESENTATION($,'Body','MappedRepresentation',(#33));\
        #33=IFCMAPPEDITEM(#34,#35);#34=IFCREPRESENTATIONMAP(#2,#32);\
        #35=IFCCARTESIANTRANSFORMATIONOPERATOR3D($,$,#1,1.,$);\
        #40=IFCBUILDINGELEMENTPROXY('0000000000000000000040',$,'Self boolean',$,$,$,#41,$,$);\
        #41=IFCPRODUCTDEFINITIONSHAPE($,$,(#42));#42=IFCSHAPEREPRESENTATION($,'Body','CSG',(#43));\
        #43=IFCBOOLEANRESULT(.DIFFERENCE.,#43,#5);\
        #50=IFCRELAGGREGATES('0000000000000000000050',$,$,$,#30,(#40));\
        #51=IFCRELAGGREGATES('0000000000000000000051',$,$,$,#40,(#30));"
    );
    let m = ifc::parse(step(&body).as_bytes(), "cycles.ifc").expect("a file with cycles still parses");
    let warned = |id: &str| m.warnings.iter().any(|w| w.contains(id) && (w.contains("deeper") || w.contains("loops")));
    assert!(warned("#10") || warned("#11"), "placement cycle: {:?}", m.warnings);
    assert!(warned("#32") || warned("#33") || warned("#34"), "mapping cycle: {:?}", m.warnings);
    assert!(warned("#43"), "boolean cycle: {:?}", m.warnings);
    assert!(m.warnings.iter().any(|w| w.contains("loops back")), "parent loop: {:?}", m.warnings);
    assert_eq!(m.elements.len(), 3);

    // Dangling references everywhere: warnings, no panic.
    let body = format!(
        "{PRELUDE}#20=IFCWALL('0000000000000000000020',$,'W',$,$,#77,#21,$,$);\
         #21=IFCPRODUCTDEFINITIONSHAPE($,$,(#22,#78));#22=IFCSHAPEREPRESENTATION($,'Body','SweptSolid',(#79,#5));\
         #60=IFCRELCONTAINEDINSPATIALSTRUCTURE('0000000000000000000060',$,$,$,(#20),#80);\
         #61=IFCRELVOIDSELEMENT('0000000000000000000061',$,$,$,#20,#81);"
    );
    let m = ifc::parse(step(&body).as_bytes(), "dangling.ifc").expect("parse");
    let w = &m.elements[0];
    assert!(w.mesh.is_some(), "the valid item survives");
    for id in ["#78", "#79", "#81"] {
        assert!(m.warnings.iter().any(|x| x.contains(id)), "{id} not reported: {:?}", m.warnings);
    }

    // Mapped items doubling 21 times (25 million triangles): the triangle budget stops it.
    let mut body = String::from(PRELUDE);
    body.push_str(
        "#9=IFCCARTESIANTRANSFORMATIONOPERATOR3D($,$,#1,1.,$);#100=IFCSHAPEREPRESENTATION($,'Body','SweptSolid',(#5));",
    );
    for k in 1..=21 {
        let (rep, map, a, b) = (100 + 4 * k, 101 + 4 * k, 102 + 4 * k, 103 + 4 * k);
        let prev = 100 + 4 * (k - 1);
        body.push_str(&format!(
            "#{map}=IFCREPRESENTATIONMAP(#2,#{prev});#{a}=IFCMAPPEDITEM(#{map},#9);#{b}=IFCMAPPEDITEM(#{map},#9);\
             #{rep}=IFCSHAPEREPRESENTATION($,'Body','MappedRepresentation',(#{a},#{b}));"
        ));
    }
    body.push_str("#900=IFCPRODUCTDEFINITIONSHAPE($,$,(#184));#901=IFCBUILDINGELEMENTPROXY('0000000000000000000901',$,'Bomb',$,$,$,#900,$,$);");
    let m = ifc::parse(step(&body).as_bytes(), "bomb.ifc").expect("parse");
    assert!(m.warnings.iter().any(|w| w.contains("budget")), "{:?}", m.warnings);
    let tris = m.elements[0].mesh.as_ref().map_or(0, |s| s.triangles.len());
    assert!(tris <= 4_000_000, "{tris} triangles");

    // Not IFC at all, and a STEP file of another schema.
    assert!(ifc::parse(b"hello", "x.ifc").expect_err("not STEP").to_string().contains("x.ifc"));
    let ap214 = step("").replace("IFC4", "AUTOMOTIVE_DESIGN");
    assert!(ifc::parse(ap214.as_bytes(), "part.stp").expect_err("not IFC").to_string().contains("AUTOMOTIVE_DESIGN"));
}
