//! Developer probe: prints what the IFC reader makes of each file given
//! (schema, units, georeferencing, every product with its mesh summary).
//! `cargo run -p urbis_formats --example ifc_probe -- FILE.ifc ...`

fn main() {
    for p in std::env::args().skip(1) {
        match urbis_formats::ifc::read(std::path::Path::new(&p)) {
            Ok(m) => {
                println!(
                    "== {p}: schema {} unit {} mc {:?} site {:?} tn {:?}",
                    m.schema, m.length_unit, m.map_conversion, m.site_location, m.true_north
                );
                for e in &m.elements {
                    let mesh = e.mesh.as_ref().map(|s| (s.triangles.len(), s.is_closed(), s.volume(), s.bounds()));
                    println!(
                        "  #{} {} {:?} parent {:?} color {:?} mesh {:?}\n     {:?}",
                        e.id, e.class, e.name, e.parent, e.color, mesh, e.attributes
                    );
                }
                for w in &m.warnings {
                    println!("  warn: {w}");
                }
                println!("  unsupported {:?}", m.unsupported);
            }
            Err(e) => println!("== {p}: ERROR {e}"),
        }
    }
}
