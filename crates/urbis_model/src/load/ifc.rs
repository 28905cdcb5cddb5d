//! IFC products → entities. Each product's placement goes through the
//! file's georeferencing exactly (IfcMapConversion into its projected CRS,
//! else IfcSite's latitude/longitude and true north, else the city origin);
//! its body's vertices go through the local linear part of that map, so f32
//! offsets stay relative to the product.

use std::collections::HashMap;

use glam::{DMat3, DVec2, DVec3, Vec2, Vec3};
use urbis_formats::ifc::{IfcElement, IfcModel, MapConversion};
use urbis_geo::{CityFrame, CrsTransform, Epsg, Geodetic};

use super::{LoadError, LoadReport};
use crate::mesh::{CpuMesh, Material, MeshVertex};
use crate::{AttributeValue, Attributes, CityModel, Family, Lod, NewFeature, SemanticClass};

/// How project coordinates (metres) reach ECEF.
pub(crate) enum IfcGeoref {
    Map {
        to_ecef: CrsTransform,
        mc: MapConversion,
        crs: Epsg,
    },
    Site {
        frame: CityFrame,
        north: DMat3,
    },
    /// Not georeferenced: project coordinates are the city's ENU.
    Local,
}

impl IfcGeoref {
    /// The georeferencing a file states; `notes` says what was tried.
    pub(crate) fn new(doc: &IfcModel, path: &str, notes: &mut Vec<String>) -> Result<Self, LoadError> {
        if let Some(mc) = &doc.map_conversion {
            let mut tried = Vec::new();
            for crs in mc.crs.iter().chain(&mc.fallback_crs) {
                match CrsTransform::new(*crs, Epsg::ECEF).and_then(|t| t.transform(mc.to_map(DVec3::ZERO)).map(|_| t)) {
                    Ok(t) => {
                        if !tried.is_empty() {
                            notes.push(format!(
                                "IfcProjectedCRS {}: {}; used {crs} instead",
                                mc.crs_name,
                                tried.join("; ")
                            ));
                        }
                        return Ok(IfcGeoref::Map { to_ecef: t, mc: mc.clone(), crs: *crs });
                    }
                    Err(e) => tried.push(format!("{crs}: {e}")),
                }
            }
            notes.push(format!(
                "IfcMapConversion to `{}` not usable ({}); falling back to IfcSite's latitude/longitude",
                mc.crs_name,
                if tried.is_empty() { "no EPSG code".to_string() } else { tried.join("; ") }
            ));
        }
        if let Some(site) = doc.site_location {
            let frame = CityFrame::new(Geodetic::new(site.lon_deg, site.lat_deg, site.elevation));
            // Rotate project axes so that true north points north.
            let tn = doc.true_north.unwrap_or(DVec2::Y);
            let angle = std::f64::consts::FRAC_PI_2 - tn.y.atan2(tn.x);
            return Ok(IfcGeoref::Site { frame, north: DMat3::from_rotation_z(angle) });
        }
        if doc.map_conversion.is_some() {
            return Err(LoadError::Crs {
                path: path.to_string(),
                source: urbis_geo::GeoError::InvalidCoordinate(notes.join("; ")),
            });
        }
        Ok(IfcGeoref::Local)
    }

    pub(crate) fn to_ecef(&self, p: DVec3) -> Option<Result<DVec3, urbis_geo::GeoError>> {
        match self {
            IfcGeoref::Map { to_ecef, mc, .. } => Some(to_ecef.transform(mc.to_map(p))),
            IfcGeoref::Site { frame, north } => Some(Ok(frame.enu_to_ecef(*north * p))),
            IfcGeoref::Local => None,
        }
    }

    fn to_enu(&self, frame: &CityFrame, p: DVec3, path: &str) -> Result<DVec3, LoadError> {
        match self.to_ecef(p) {
            Some(r) => {
                r.map(|e| frame.ecef_to_enu(e)).map_err(|source| LoadError::Crs { path: path.to_string(), source })
            }
            None => Ok(p),
        }
    }
}

/// Centre of the products' origins (project metres).
pub(crate) fn centre(doc: &IfcModel) -> DVec3 {
    let origins: Vec<DVec3> = doc.elements.iter().map(|e| e.transform.w_axis.truncate()).collect();
    if origins.is_empty() {
        return DVec3::ZERO;
    }
    let (lo, hi) = origins.iter().fold((origins[0], origins[0]), |(a, b), p| (a.min(*p), b.max(*p)));
    (lo + hi) / 2.0
}

/// The semantic class of an IFC product: the IFC entity itself (`IfcWall`,
/// `IfcSanitaryTerminal`), in the family its kind belongs to: infrastructure
/// to Transport, strata and earthworks to Terrain, sites, facilities,
/// alignments and geographic elements to Generic, everything else Building.
pub fn class_of(ifc_class: &str) -> SemanticClass {
    let family = match ifc_class {
        "IfcBridge" | "IfcBridgePart" | "IfcBearing" | "IfcRoad" | "IfcRoadPart" | "IfcPavement" | "IfcKerb"
        | "IfcCourse" | "IfcRailway" | "IfcRailwayPart" | "IfcRail" | "IfcTrackElement" => Family::Transport,
        "IfcSolidStratum" | "IfcGeotechnicalStratum" | "IfcEarthworksCut" | "IfcEarthworksFill" => Family::Terrain,
        "IfcGeographicElement"
        | "IfcSite"
        | "IfcFacility"
        | "IfcFacilityPart"
        | "IfcMarineFacility"
        | "IfcAlignment" => Family::Generic,
        _ => Family::Building,
    };
    SemanticClass::new(ifc_class, family)
}

/// A colour for classes that come without a style (sRGB).
fn default_colour(class: &str) -> [u8; 4] {
    let c = match class {
        c if c.starts_with("IfcWall") || c.starts_with("IfcCurtainWall") => [214, 208, 196],
        c if c.starts_with("IfcSlab") || c.starts_with("IfcCovering") => [168, 166, 160],
        c if c.starts_with("IfcRoof") => [150, 78, 60],
        c if c.starts_with("IfcWindow") => [120, 160, 190],
        c if c.starts_with("IfcDoor") => [140, 100, 70],
        c if c.starts_with("IfcBeam") || c.starts_with("IfcColumn") || c.starts_with("IfcMember") => [150, 156, 164],
        c if c.starts_with("IfcReinforcing") || c.starts_with("IfcTendon") => [110, 96, 88],
        c if c.starts_with("IfcSanitary") => [236, 236, 232],
        "IfcSite" | "IfcSolidStratum" | "IfcGeographicElement" => [140, 150, 110],
        _ => [196, 192, 186],
    };
    [c[0], c[1], c[2], 255]
}

/// An IfcColourRgb (0..1, displayed as sRGB by every BIM viewer) → bytes.
fn colour_bytes(c: [f32; 4]) -> [u8; 4] {
    let b = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    [b(c[0]), b(c[1]), b(c[2]), 255]
}

fn mesh_of(e: &IfcElement, linear: &DMat3, colour: [u8; 4]) -> Option<CpuMesh> {
    let s = e.mesh.as_ref()?;
    let m = *linear * DMat3::from_mat4(e.transform);
    let mut mesh = CpuMesh::default();
    mesh.vertices.reserve(s.triangles.len() * 3);
    for t in &s.triangles {
        let p = t.map(|i| (m * s.positions[i as usize]).as_vec3());
        let normal = (p[1] - p[0]).cross(p[2] - p[0]).normalize_or_zero();
        if normal == Vec3::ZERO {
            continue;
        }
        let base = mesh.vertices.len() as u32;
        for position in p {
            mesh.vertices.push(MeshVertex {
                position,
                normal,
                uv: Vec2::ZERO,
                color: colour,
                material: Material::Plain,
            });
        }
        mesh.indices.extend([base, base + 1, base + 2]);
    }
    (!mesh.indices.is_empty()).then_some(mesh)
}

pub(super) fn add(model: &mut CityModel, doc: &IfcModel, path: &str) -> Result<LoadReport, LoadError> {
    let mut report = LoadReport::default();
    let georef = IfcGeoref::new(doc, path, &mut report.warnings)?;
    if matches!(georef, IfcGeoref::Local) {
        report.warnings.push("no IfcMapConversion or IfcSite latitude/longitude: placed at the city origin".into());
    }
    if let IfcGeoref::Map { crs, .. } = &georef {
        report.crs = Some(crs.0);
    }
    let frame = *model.frame();
    // The local linear part of project → ENU, by central differences at the model's centre.
    let c = centre(doc);
    let mut cols = [DVec3::ZERO; 3];
    for (k, axis) in [DVec3::X, DVec3::Y, DVec3::Z].into_iter().enumerate() {
        cols[k] = (georef.to_enu(&frame, c + axis, path)? - georef.to_enu(&frame, c - axis, path)?) / 2.0;
    }
    let linear = DMat3::from_cols(cols[0], cols[1], cols[2]);

    let mut spawned = HashMap::new();
    for e in &doc.elements {
        let placement = georef.to_enu(&frame, e.transform.w_axis.truncate(), path)?;
        let guid = if e.global_id.is_empty() { format!("{path}#{}", e.id) } else { e.global_id.clone() };
        let mut attributes = Attributes::default();
        for (k, v) in &e.attributes {
            if let Some(v) = AttributeValue::from_json(v) {
                attributes.insert(k.clone(), v);
            }
        }
        if let Some(p) = &doc.project_name {
            attributes.insert("ifc_project", p.as_str());
        }
        let colour = e.color.map_or_else(|| default_colour(&e.class), colour_bytes);
        let mut nf = NewFeature::new(guid, class_of(&e.class), placement);
        nf.attributes = attributes;
        nf.mesh = mesh_of(e, &linear, colour).map(|m| (m, Lod(30)));
        let entity = model.spawn_feature(nf);
        spawned.insert(e.id, entity);
        report.features += 1;
    }
    for e in &doc.elements {
        if let (Some(child), Some(parent)) = (spawned.get(&e.id), e.parent.and_then(|p| spawned.get(&p))) {
            model.link_part(*parent, *child);
        }
    }
    report.warnings.extend(doc.warnings.iter().cloned());
    report.unsupported = doc.unsupported.clone();
    Ok(report)
}
