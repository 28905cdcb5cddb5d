//! What IFC says about products besides geometry: the spatial tree,
//! property sets and quantities (occurrence over type), type, material and
//! presentation colours.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::step::{Instance, StepFile, Value};
use super::{class_name, is_spatial};

/// Relations gathered once per file.
#[derive(Debug, Default)]
pub(crate) struct Relations {
    /// Child → its spatial container or the whole it is part of.
    pub parent: HashMap<u64, u64>,
    /// Object → property set / element quantity definitions.
    pub property_sets: HashMap<u64, Vec<u64>>,
    /// Object → its type object.
    pub type_of: HashMap<u64, u64>,
    /// Object (or type) → material definition.
    pub material: HashMap<u64, u64>,
}

fn refs(v: &Value) -> Vec<u64> {
    match v {
        Value::Ref(r) => vec![*r],
        Value::List(l) => l.iter().filter_map(Value::as_ref_id).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn relations(file: &StepFile, warnings: &mut Vec<String>) -> Relations {
    let mut r = Relations::default();
    for i in &file.instances {
        match i.kind.as_str() {
            "IFCRELAGGREGATES" | "IFCRELNESTS" => {
                if let Some(whole) = i.arg(4).as_ref_id() {
                    for part in refs(i.arg(5)) {
                        r.parent.entry(part).or_insert(whole);
                    }
                }
            }
            "IFCRELCONTAINEDINSPATIALSTRUCTURE" => {
                if let Some(container) = i.arg(5).as_ref_id() {
                    for e in refs(i.arg(4)) {
                        r.parent.entry(e).or_insert(container);
                    }
                }
            }
            "IFCRELDEFINESBYPROPERTIES" => {
                let defs = refs(i.arg(5));
                for o in refs(i.arg(4)) {
                    r.property_sets.entry(o).or_default().extend(&defs);
                }
            }
            "IFCRELDEFINESBYTYPE" => {
                if let Some(t) = i.arg(5).as_ref_id() {
                    for o in refs(i.arg(4)) {
                        r.type_of.insert(o, t);
                    }
                }
            }
            "IFCRELASSOCIATESMATERIAL" => {
                if let Some(m) = i.arg(5).as_ref_id() {
                    for o in refs(i.arg(4)) {
                        r.material.insert(o, m);
                    }
                }
            }
            _ => {}
        }
    }
    // A parent chain that loops would never end; break it where found.
    let ids: Vec<u64> = r.parent.keys().copied().collect();
    for start in ids {
        let mut at = start;
        for _ in 0..64 {
            match r.parent.get(&at) {
                Some(&p) if p == start => {
                    warnings.push(format!("#{start}: spatial structure loops back to itself; link dropped"));
                    r.parent.remove(&start);
                    break;
                }
                Some(&p) => at = p,
                None => break,
            }
        }
    }
    r
}

/// A STEP value as JSON: typed measures unwrap, booleans and logicals become
/// booleans (`UNKNOWN` for `.U.`), lists become arrays.
pub(crate) fn json_value(v: &Value) -> Option<Json> {
    Some(match v {
        Value::Null | Value::Derived => return None,
        Value::Int(i) => (*i).into(),
        Value::Real(r) => serde_json::Number::from_f64(*r).map(Json::Number)?,
        Value::Str(s) => s.clone().into(),
        Value::Enum(e) => match e.as_str() {
            "T" => true.into(),
            "F" => false.into(),
            "U" => "UNKNOWN".into(),
            _ => e.clone().into(),
        },
        Value::Ref(r) => format!("#{r}").into(),
        Value::List(l) => Json::Array(l.iter().filter_map(json_value).collect()),
        Value::Typed(_, inner) => json_value(inner)?,
        Value::Binary(b) => b.clone().into(),
    })
}

fn joined(values: &[Value]) -> Option<Json> {
    let parts: Vec<String> = values
        .iter()
        .filter_map(json_value)
        .map(|j| match j {
            Json::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    match parts.len() {
        0 => None,
        1 => values.iter().find_map(json_value),
        _ => Some(parts.join(", ").into()),
    }
}

/// IfcRoot's and IfcProduct's own attributes.
pub(crate) fn direct_attributes(p: &Instance) -> Map<String, Json> {
    let mut a = Map::new();
    a.insert("ifc_class".into(), class_name(&p.kind).into());
    a.insert("ifc_id".into(), format!("#{}", p.id).into());
    let mut put = |key: &str, v: &Value| {
        if let Some(j) = json_value(v) {
            a.insert(key.into(), j);
        }
    };
    put("GlobalId", p.arg(0));
    put("Name", p.arg(2));
    put("Description", p.arg(3));
    put("ObjectType", p.arg(4));
    put(if is_spatial(&p.kind) { "LongName" } else { "Tag" }, p.arg(7));
    if p.kind == "IFCBUILDINGSTOREY" {
        put("Elevation", p.arg(9));
    }
    if let Some(Value::Enum(e)) = p.args.last()
        && p.args.len() > 8
        && !matches!(e.as_str(), "T" | "F" | "U" | "ELEMENT" | "COMPLEX" | "PARTIAL")
    {
        put("PredefinedType", &Value::Enum(e.clone()));
    }
    a
}

fn add_property(file: &StepFile, prefix: &str, prop: &Instance, out: &mut Map<String, Json>, depth: usize) {
    let Some(name) = prop.arg(0).as_str() else { return };
    let key = format!("{prefix}.{name}");
    let value = match prop.kind.as_str() {
        "IFCPROPERTYSINGLEVALUE" => json_value(prop.arg(2)),
        "IFCPROPERTYENUMERATEDVALUE" | "IFCPROPERTYLISTVALUE" => prop.arg(2).as_list().and_then(joined),
        "IFCPROPERTYBOUNDEDVALUE" => {
            let (hi, lo) = (json_value(prop.arg(2)), json_value(prop.arg(3)));
            match (lo, hi) {
                (Some(lo), Some(hi)) => Some(format!("{lo}..{hi}").into()),
                (lo, hi) => lo.or(hi),
            }
        }
        "IFCCOMPLEXPROPERTY" if depth < 4 => {
            for p in refs(prop.arg(3)) {
                if let Some(p) = file.get(p) {
                    add_property(file, &key, p, out, depth + 1);
                }
            }
            None
        }
        k if k.starts_with("IFCQUANTITY") => json_value(prop.arg(3)),
        _ => None,
    };
    if let Some(v) = value {
        out.insert(key, v);
    }
}

fn add_definitions(file: &StepFile, defs: &[u64], out: &mut Map<String, Json>) {
    for d in defs.iter().filter_map(|&d| file.get(d)) {
        let (set_name, members) = match d.kind.as_str() {
            "IFCPROPERTYSET" => (d.arg(2).as_str().unwrap_or("Pset"), refs(d.arg(4))),
            "IFCELEMENTQUANTITY" => (d.arg(2).as_str().unwrap_or("Qto"), refs(d.arg(5))),
            _ => continue,
        };
        for m in members.iter().filter_map(|&m| file.get(m)) {
            add_property(file, set_name, m, out, 0);
        }
    }
}

/// The IfcMaterials (id, name) a material definition is made of.
fn materials(file: &StepFile, id: u64, depth: usize, out: &mut Vec<(u64, String)>) {
    let Some(m) = file.get(id).filter(|_| depth < 6) else { return };
    let material_names = materials;
    match m.kind.as_str() {
        "IFCMATERIAL" => out.push((m.id, m.arg(0).as_str().unwrap_or_default().to_string())),
        "IFCMATERIALLAYERSETUSAGE" | "IFCMATERIALPROFILESETUSAGE" | "IFCMATERIALPROFILESETUSAGETAPERING" => {
            material_names(file, m.arg(0).as_ref_id().unwrap_or(0), depth + 1, out)
        }
        "IFCMATERIALLAYERSET" | "IFCMATERIALLIST" => {
            for l in refs(m.arg(0)) {
                material_names(file, l, depth + 1, out);
            }
        }
        "IFCMATERIALLAYER" => material_names(file, m.arg(0).as_ref_id().unwrap_or(0), depth + 1, out),
        "IFCMATERIALPROFILESET" | "IFCMATERIALCONSTITUENTSET" => {
            for l in refs(m.arg(2)) {
                material_names(file, l, depth + 1, out);
            }
        }
        "IFCMATERIALPROFILE" | "IFCMATERIALCONSTITUENT" => {
            material_names(file, m.arg(2).as_ref_id().unwrap_or(0), depth + 1, out)
        }
        _ => {}
    }
}

/// Type properties, then the occurrence's own (which win), type and material names.
pub(crate) fn add_properties(file: &StepFile, id: u64, rel: &Relations, out: &mut Map<String, Json>) {
    if let Some(t) = rel.type_of.get(&id).and_then(|&t| file.get(t)) {
        add_definitions(file, &refs(t.arg(5)), out);
        if let Some(n) = t.arg(2).as_str() {
            out.insert("type_name".into(), n.into());
        }
        out.insert("type_class".into(), class_name(&t.kind).into());
    }
    if let Some(defs) = rel.property_sets.get(&id) {
        add_definitions(file, defs, out);
    }
    let mut names: Vec<String> =
        element_materials(file, rel, id).into_iter().map(|m| m.1).filter(|n| !n.is_empty()).collect();
    names.dedup();
    if !names.is_empty() {
        out.insert("material".into(), names.join(" / ").into());
    }
}

/// The IfcMaterials associated with an object, or else with its type.
pub(crate) fn element_materials(file: &StepFile, rel: &Relations, id: u64) -> Vec<(u64, String)> {
    let material = rel.material.get(&id).or_else(|| rel.type_of.get(&id).and_then(|t| rel.material.get(t)));
    let mut out = Vec::new();
    if let Some(&m) = material {
        materials(file, m, 0, &mut out);
    }
    out
}

/// Colours from presentation styles: per styled representation item, and per material.
#[derive(Debug, Default)]
pub(crate) struct Styles {
    pub items: HashMap<u64, [f32; 4]>,
    pub materials: HashMap<u64, [f32; 4]>,
}

fn style_colour(file: &StepFile, styled_item: &Instance) -> Option<[f32; 4]> {
    for s in refs(styled_item.arg(1)) {
        let s = file.get(s)?;
        // IFC2x3 wraps surface styles in a presentation style assignment.
        let surface_styles = if s.kind == "IFCPRESENTATIONSTYLEASSIGNMENT" { refs(s.arg(0)) } else { vec![s.id] };
        for ss in surface_styles.iter().filter_map(|&k| file.get(k)).filter(|k| k.kind == "IFCSURFACESTYLE") {
            for e in refs(ss.arg(2)).iter().filter_map(|&k| file.get(k)) {
                if !matches!(e.kind.as_str(), "IFCSURFACESTYLERENDERING" | "IFCSURFACESTYLESHADING") {
                    continue;
                }
                let c = file.get(e.arg(0).as_ref_id()?)?;
                let ch = |k: usize| c.arg(k).as_f64().filter(|v| v.is_finite()).unwrap_or(0.8).clamp(0.0, 1.0) as f32;
                let transparency = e.arg(1).as_f64().unwrap_or(0.0).clamp(0.0, 1.0) as f32;
                return Some([ch(1), ch(2), ch(3), 1.0 - transparency]);
            }
        }
    }
    None
}

pub(crate) fn styles(file: &StepFile) -> Styles {
    let mut st = Styles::default();
    for si in file.of_kind("IFCSTYLEDITEM") {
        if let (Some(item), Some(c)) = (si.arg(0).as_ref_id(), style_colour(file, si)) {
            st.items.insert(item, c);
        }
    }
    for mdr in file.of_kind("IFCMATERIALDEFINITIONREPRESENTATION") {
        let Some(material) = mdr.arg(3).as_ref_id() else { continue };
        let colour = refs(mdr.arg(2))
            .iter()
            .filter_map(|&r| file.get(r))
            .find_map(|rep| refs(rep.arg(3)).iter().filter_map(|&i| file.get(i)).find_map(|si| style_colour(file, si)));
        if let Some(c) = colour {
            st.materials.insert(material, c);
        }
    }
    st
}
