//! IFC 2x3 / 4 / 4.3 (STEP physical files) → products with their spatial
//! parent, attributes (property sets, quantities, type, material), placement
//! and a triangulated body, plus the file's georeferencing.
//!
//! ```text
//! bytes ─► step::parse ─► units, contexts, IfcMapConversion / IfcSite lat-lon
//!                      ─► products (placement chains, rayon over geom::product_shape)
//!                      ─► relations: aggregates / containment, psets, types, materials, voids
//! ```
//!
//! Coordinates come out in metres in the project's engineering frame; the
//! model crate maps them through the georeferencing. Geometry that cannot be
//! built is skipped with a warning naming its `#id` and type, and counted.

pub mod geom;
mod names;
mod props;
pub mod step;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicUsize;

use glam::{DMat4, DVec2, DVec3};
use rayon::prelude::*;
use serde_json::{Map, Value as Json};
use urbis_geo::Epsg;

pub use geom::{GeomError, Solid};
pub use names::pretty as class_name;
use step::{Instance, StepFile, Value};

use crate::FormatError;

/// IfcMapConversion with its target CRS, resolved to metres.
#[derive(Debug, Clone, PartialEq)]
pub struct MapConversion {
    /// The target IfcProjectedCRS's name, e.g. `EPSG:5834`.
    pub crs_name: String,
    pub crs: Option<Epsg>,
    /// `EPSG:` codes in the CRS's other fields (geodetic / vertical datum), tried when the name's fails.
    pub fallback_crs: Vec<Epsg>,
    pub eastings: f64,
    pub northings: f64,
    pub orthogonal_height: f64,
    /// The project x axis in map coordinates (normalised).
    pub x_axis: DVec2,
    /// Map units per project metre (from Scale, else from the units).
    pub scale: f64,
}

impl MapConversion {
    /// Project coordinates (metres) → map coordinates (map units).
    pub fn to_map(&self, p: DVec3) -> DVec3 {
        let (a, b) = (self.x_axis.x, self.x_axis.y);
        DVec3::new(
            self.eastings + self.scale * (a * p.x - b * p.y),
            self.northings + self.scale * (b * p.x + a * p.y),
            self.orthogonal_height + self.scale * p.z,
        )
    }
}

/// IfcSite's reference location.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteLocation {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Metres.
    pub elevation: f64,
}

/// One product (element or spatial structure element).
#[derive(Debug, Clone)]
pub struct IfcElement {
    pub id: u64,
    /// Schema spelling, e.g. `IfcWallStandardCase`.
    pub class: String,
    pub global_id: String,
    pub name: Option<String>,
    /// The spatial element containing it, or the whole it is part of.
    pub parent: Option<u64>,
    /// Direct attributes, property sets (`Pset.Prop`), quantities, type and material.
    pub attributes: Map<String, Json>,
    /// Object placement in project coordinates, metres.
    pub transform: DMat4,
    /// The body in the element's frame, metres; openings already cut.
    pub mesh: Option<Solid>,
    /// Surface colour (linear RGB, alpha = 1 - transparency) from styles or material.
    pub color: Option<[f32; 4]>,
}

/// A read IFC file.
#[derive(Debug, Clone, Default)]
pub struct IfcModel {
    pub schema: String,
    pub project_name: Option<String>,
    /// Metres per project length unit.
    pub length_unit: f64,
    pub map_conversion: Option<MapConversion>,
    pub site_location: Option<SiteLocation>,
    /// True north in the project's XY plane (normalised), when the model context states it.
    pub true_north: Option<DVec2>,
    pub elements: Vec<IfcElement>,
    /// What was skipped, each naming the `#id` and type.
    pub warnings: Vec<String>,
    /// Skipped geometry counted per IFC type (as the file spells it, e.g. `IFCADVANCEDBREP`).
    pub unsupported: BTreeMap<String, usize>,
}

/// Classes whose bodies are not drawn: openings are cut from their hosts;
/// spaces and zones would hide what they enclose.
const NOT_DRAWN: [&str; 8] = [
    "IFCOPENINGELEMENT",
    "IFCOPENINGSTANDARDCASE",
    "IFCVOIDINGFEATURE",
    "IFCSPACE",
    "IFCSPATIALZONE",
    "IFCVIRTUALELEMENT",
    "IFCANNOTATION",
    "IFCGRID",
];

pub fn read(path: &Path) -> Result<IfcModel, FormatError> {
    let bytes = crate::read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

/// Whether bytes start like a STEP file.
pub fn is_step(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    b[start..].starts_with(b"ISO-10303-21")
}

fn warn(model: &mut IfcModel, e: &GeomError) {
    if let GeomError::Unsupported { kind, .. } = e {
        *model.unsupported.entry(kind.clone()).or_default() += 1;
    }
    model.warnings.push(e.to_string());
}

/// Parses IFC bytes; `name` is used in messages.
pub fn parse(bytes: &[u8], name: &str) -> Result<IfcModel, FormatError> {
    let file = step::parse(bytes, name)?;
    let mut model =
        IfcModel { schema: file.schema.first().cloned().unwrap_or_default(), length_unit: 1.0, ..Default::default() };
    if !model.schema.to_ascii_uppercase().starts_with("IFC") {
        return Err(FormatError::Unsupported {
            path: name.to_string(),
            what: format!("STEP schema {:?} (expected IFC2X3, IFC4 or IFC4X3)", model.schema),
        });
    }
    let mut angle_unit = 1.0;
    if let Some(project) = file.of_kind("IFCPROJECT").next() {
        model.project_name = project.arg(2).as_str().map(str::to_string);
        if let Some(units) = file.get(project.arg(8).as_ref_id().unwrap_or(0)) {
            for u in units.arg(0).as_list().unwrap_or_default() {
                let Some(u) = u.as_ref_id().and_then(|r| file.get(r)) else { continue };
                match unit_kind(u) {
                    Some("LENGTHUNIT") => model.length_unit = unit_scale(&file, u, 0),
                    Some("PLANEANGLEUNIT") => angle_unit = unit_scale(&file, u, 0),
                    _ => {}
                }
            }
        }
    }
    for c in file.of_kind("IFCGEOMETRICREPRESENTATIONCONTEXT") {
        if let Some(tn) = c.arg(5).as_ref_id().and_then(|r| file.get(r))
            && let Some(v) = tn.arg(0).as_list()
        {
            let xy: Vec<f64> = v.iter().filter_map(Value::as_f64).collect();
            if xy.len() >= 2 {
                model.true_north = DVec2::new(xy[0], xy[1]).try_normalize();
            }
        }
    }
    model.map_conversion = map_conversion(&file, model.length_unit);
    model.site_location = file.of_kind("IFCSITE").find_map(|s| site_location(s, model.length_unit));

    let products: Vec<&Instance> = file.instances.iter().filter(|i| is_product(&file, i)).collect();
    let styles = props::styles(&file);
    // Geometry, in parallel; each worker keeps its own caches, the triangle
    // budget (about 100 triangles per byte, at least 2 million) is shared.
    let budget = AtomicUsize::new(2_000_000usize.max(bytes.len().saturating_mul(100)));
    type Built = (DMat4, Option<Solid>, Option<[f32; 4]>, Vec<GeomError>);
    let built: Vec<Built> = products
        .par_iter()
        .map_init(
            || geom::Ctx::new(&file, angle_unit, &budget),
            |ctx, p| {
                let mut errors = Vec::new();
                let placement = match p.arg(5).as_ref_id() {
                    Some(r) => ctx.object_placement(p, r, 0).unwrap_or_else(|e| {
                        errors.push(e);
                        DMat4::IDENTITY
                    }),
                    None => DMat4::IDENTITY,
                };
                let shape = p.arg(6).as_ref_id().and_then(|r| file.get(r));
                ctx.visited.clear();
                let (solid, mut errs) = match shape {
                    Some(s) if p.kind != "IFCSPACE" => geom::product_shape(ctx, s),
                    _ => (None, Vec::new()),
                };
                errors.append(&mut errs);
                let color = ctx.visited.iter().find_map(|i| styles.items.get(i).copied());
                (placement, solid, color, errors)
            },
        )
        .collect();

    let by_id: HashMap<u64, usize> = products.iter().enumerate().map(|(k, p)| (p.id, k)).collect();
    let mut solids: Vec<Option<Solid>> = Vec::with_capacity(products.len());
    let mut transforms = Vec::with_capacity(products.len());
    let mut colors = Vec::with_capacity(products.len());
    for (transform, solid, color, errors) in built {
        for e in &errors {
            warn(&mut model, e);
        }
        transforms.push(transform);
        solids.push(solid);
        colors.push(color);
    }
    cut_openings(&file, &by_id, &transforms, &mut solids, &mut model);

    let rel = props::relations(&file, &mut model.warnings);
    for (k, p) in products.iter().enumerate() {
        if NOT_DRAWN[..3].contains(&p.kind.as_str()) {
            continue; // openings live on in their hosts
        }
        let mut attributes = props::direct_attributes(p);
        props::add_properties(&file, p.id, &rel, &mut attributes);
        let scale = model.length_unit;
        let mut transform = transforms[k];
        transform.w_axis = (transform.w_axis.truncate() * scale).extend(1.0);
        let mesh = if NOT_DRAWN.contains(&p.kind.as_str()) { None } else { solids[k].take() }.map(|mut s| {
            s.positions.iter_mut().for_each(|v| *v *= scale);
            s
        });
        let color = colors[k].or_else(|| {
            props::element_materials(&file, &rel, p.id).iter().find_map(|(m, _)| styles.materials.get(m).copied())
        });
        model.elements.push(IfcElement {
            id: p.id,
            class: class_name(&p.kind),
            global_id: p.arg(0).as_str().unwrap_or_default().to_string(),
            name: p.arg(2).as_str().map(str::to_string),
            parent: rel.parent.get(&p.id).copied(),
            attributes,
            transform,
            mesh,
            color,
        });
    }
    Ok(model)
}

/// Whether an instance is an IfcProduct: a GlobalId, then an object
/// placement and a product shape (or nothing) at arguments 6 and 7.
fn is_product(file: &StepFile, i: &Instance) -> bool {
    if i.args.len() < 7 || i.kind.starts_with("IFCREL") || i.kind == "IFCPROJECT" {
        return false;
    }
    let Some(guid) = i.arg(0).as_str() else { return false };
    if guid.len() != 22 {
        return false;
    }
    // A reference to the right kind, or a dangling one (warned about later).
    let refers_to = |v: &Value, kinds: &[&str]| match v.as_ref_id() {
        Some(r) => file.get(r).is_none_or(|x| kinds.contains(&x.kind.as_str())),
        None => v.is_null(),
    };
    let placement_ok = refers_to(i.arg(5), &["IFCLOCALPLACEMENT", "IFCGRIDPLACEMENT", "IFCLINEARPLACEMENT"]);
    let shape_ok = refers_to(i.arg(6), &["IFCPRODUCTDEFINITIONSHAPE"]);
    placement_ok && shape_ok && !(i.arg(5).is_null() && i.arg(6).is_null() && !is_spatial(&i.kind))
}

fn is_spatial(kind: &str) -> bool {
    matches!(
        kind,
        "IFCSITE"
            | "IFCBUILDING"
            | "IFCBUILDINGSTOREY"
            | "IFCSPACE"
            | "IFCFACILITY"
            | "IFCFACILITYPART"
            | "IFCBRIDGE"
            | "IFCROAD"
            | "IFCRAILWAY"
            | "IFCMARINEFACILITY"
    )
}

fn unit_kind(u: &Instance) -> Option<&str> {
    match u.kind.as_str() {
        "IFCSIUNIT" => u.arg(1).as_enum(),
        "IFCCONVERSIONBASEDUNIT" | "IFCCONVERSIONBASEDUNITWITHOFFSET" => u.arg(1).as_enum(),
        _ => None,
    }
}

/// SI value of one unit (metres per length unit, radians per angle unit).
fn unit_scale(file: &StepFile, u: &Instance, depth: usize) -> f64 {
    if depth > 8 {
        return 1.0;
    }
    match u.kind.as_str() {
        "IFCSIUNIT" => match u.arg(2).as_enum() {
            Some("EXA") => 1e18,
            Some("PETA") => 1e15,
            Some("TERA") => 1e12,
            Some("GIGA") => 1e9,
            Some("MEGA") => 1e6,
            Some("KILO") => 1e3,
            Some("HECTO") => 1e2,
            Some("DECA") => 1e1,
            Some("DECI") => 1e-1,
            Some("CENTI") => 1e-2,
            Some("MILLI") => 1e-3,
            Some("MICRO") => 1e-6,
            Some("NANO") => 1e-9,
            _ => 1.0,
        },
        "IFCCONVERSIONBASEDUNIT" | "IFCCONVERSIONBASEDUNITWITHOFFSET" => {
            let Some(m) = u.arg(3).as_ref_id().and_then(|r| file.get(r)) else { return 1.0 };
            let value = m.arg(0).as_f64().filter(|v| v.is_finite() && *v > 0.0).unwrap_or(1.0);
            let base = m.arg(1).as_ref_id().and_then(|r| file.get(r)).map_or(1.0, |b| unit_scale(file, b, depth + 1));
            value * base
        }
        _ => 1.0,
    }
}

/// `EPSG:5834`, `EPSG5834`, `urn:ogc:def:crs:EPSG::5834`, `…/EPSG/0/5834`.
pub fn epsg_in(s: &str) -> Option<Epsg> {
    let upper = s.to_ascii_uppercase();
    let at = upper.find("EPSG")?;
    let digits: String =
        upper[at + 4..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&c| c > 0).map(Epsg)
}

fn map_conversion(file: &StepFile, length_unit: f64) -> Option<MapConversion> {
    let mc = file.of_kind("IFCMAPCONVERSION").chain(file.of_kind("IFCMAPCONVERSIONSCALED")).next()?;
    let crs = mc.arg(1).as_ref_id().and_then(|r| file.get(r));
    let crs_name = crs.and_then(|c| c.arg(0).as_str()).unwrap_or_default().to_string();
    let fallback_crs =
        crs.map(|c| (2..4).filter_map(|k| c.arg(k).as_str().and_then(epsg_in)).collect()).unwrap_or_default();
    let map_unit =
        crs.and_then(|c| c.arg(6).as_ref_id()).and_then(|r| file.get(r)).map_or(1.0, |u| unit_scale(file, u, 0));
    let num = |k: usize, d: f64| mc.arg(k).as_f64().filter(|v| v.is_finite()).unwrap_or(d);
    let explicit = num(7, 1.0);
    // Scale converts project units to map units. Files often leave it at 1
    // while working in millimetres; then the units decide.
    let scale = if (explicit - 1.0).abs() > 1e-12 { explicit / length_unit } else { 1.0 / map_unit };
    Some(MapConversion {
        crs: epsg_in(&crs_name),
        crs_name,
        fallback_crs,
        eastings: num(2, 0.0),
        northings: num(3, 0.0),
        orthogonal_height: num(4, 0.0),
        x_axis: DVec2::new(num(5, 1.0), num(6, 0.0)).try_normalize().unwrap_or(DVec2::X),
        scale,
    })
}

/// IfcCompoundPlaneAngleMeasure (degrees, minutes, seconds, millionths).
fn compound_angle(v: &Value) -> Option<f64> {
    let parts: Vec<f64> = v.as_list()?.iter().filter_map(Value::as_f64).collect();
    let (d, m, s, u) =
        (parts.first()?, parts.get(1).unwrap_or(&0.0), parts.get(2).unwrap_or(&0.0), parts.get(3).unwrap_or(&0.0));
    Some(d + m / 60.0 + s / 3600.0 + u / 3.6e9)
}

fn site_location(site: &Instance, length_unit: f64) -> Option<SiteLocation> {
    let lat = compound_angle(site.arg(9))?;
    let lon = compound_angle(site.arg(10))?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then(|| SiteLocation {
        lat_deg: lat,
        lon_deg: lon,
        elevation: site.arg(11).as_f64().filter(|v| v.is_finite()).unwrap_or(0.0) * length_unit,
    })
}

/// Subtracts each opening (IfcRelVoidsElement) from its host's body.
fn cut_openings(
    file: &StepFile,
    by_id: &HashMap<u64, usize>,
    transforms: &[DMat4],
    solids: &mut [Option<Solid>],
    model: &mut IfcModel,
) {
    for rel in file.of_kind("IFCRELVOIDSELEMENT") {
        let (Some(&host), Some(&opening)) =
            (rel.arg(4).as_ref_id().and_then(|r| by_id.get(&r)), rel.arg(5).as_ref_id().and_then(|r| by_id.get(&r)))
        else {
            let (h, o) = (rel.arg(4).as_ref_id().unwrap_or(0), rel.arg(5).as_ref_id().unwrap_or(0));
            model
                .warnings
                .push(format!("#{} IFCRELVOIDSELEMENT: host #{h} or opening #{o} is missing or not a product", rel.id));
            continue;
        };
        let (Some(h), Some(o)) = (&solids[host], &solids[opening]) else { continue };
        let mut cutter = o.clone();
        cutter.transform(&(transforms[host].inverse() * transforms[opening]));
        match geom::boolean(h, &cutter, geom::BoolOp::Difference) {
            Ok(cut) => solids[host] = Some(cut),
            Err(why) => model.warnings.push(format!("#{} IFCRELVOIDSELEMENT: opening not cut ({why})", rel.id)),
        }
    }
}
