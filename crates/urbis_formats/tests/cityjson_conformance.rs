//! The CityJSON 2.0 conformance corpus (3DGI/cityjson-corpus): every case
//! passes every assertion its `invariants.json` names. Each assertion
//! compares what the reader produced with an independent, direct reading of
//! the file's JSON in this test. An assertion id this harness does not know
//! fails the test, so new corpus checks cannot pass silently.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glam::DVec3;
use serde_json::{Value, json};
use urbis_formats::cityjson::{self, CityJson, Geometry};

fn corpus() -> Option<PathBuf> {
    support::shared("cityjson/corpus/conformance")
}

/// Raw vertices with the transform applied.
fn raw_vertices(v: &Value) -> Vec<DVec3> {
    let (s, t) = match v.get("transform") {
        Some(t) => (
            DVec3::from_slice(
                &t["scale"].as_array().expect("scale").iter().map(|x| x.as_f64().expect("n")).collect::<Vec<_>>(),
            ),
            DVec3::from_slice(
                &t["translate"]
                    .as_array()
                    .expect("translate")
                    .iter()
                    .map(|x| x.as_f64().expect("n"))
                    .collect::<Vec<_>>(),
            ),
        ),
        None => (DVec3::ONE, DVec3::ZERO),
    };
    v["vertices"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    DVec3::new(p[0].as_f64().expect("x"), p[1].as_f64().expect("y"), p[2].as_f64().expect("z")) * s + t
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The polygons of a raw geometry in reading order: (index path, rings).
fn raw_polygons(g: &Value) -> Vec<(Vec<usize>, Vec<Vec<u64>>)> {
    let ring = |r: &Value| r.as_array().expect("ring").iter().map(|i| i.as_u64().expect("index")).collect::<Vec<_>>();
    let poly = |s: &Value| s.as_array().expect("surface").iter().map(ring).collect::<Vec<_>>();
    let b = &g["boundaries"];
    let arr = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    match g["type"].as_str().expect("type") {
        "MultiSurface" | "CompositeSurface" => {
            for (i, s) in arr(b).iter().enumerate() {
                out.push((vec![i], poly(s)));
            }
        }
        "Solid" => {
            for (si, sh) in arr(b).iter().enumerate() {
                for (i, s) in arr(sh).iter().enumerate() {
                    out.push((vec![si, i], poly(s)));
                }
            }
        }
        "MultiSolid" | "CompositeSolid" => {
            for (di, so) in arr(b).iter().enumerate() {
                for (si, sh) in arr(so).iter().enumerate() {
                    for (i, s) in arr(sh).iter().enumerate() {
                        out.push((vec![di, si, i], poly(s)));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

fn at<'v>(mut v: &'v Value, path: &[usize]) -> Option<&'v Value> {
    for &i in path {
        v = v.as_array()?.get(i)?;
    }
    Some(v)
}

struct Case<'a> {
    name: String,
    raw: Value,
    doc: &'a CityJson,
}

impl Case<'_> {
    fn objects(&self) -> Vec<(&String, &Value)> {
        self.raw["CityObjects"].as_object().map(|o| o.iter().collect()).unwrap_or_default()
    }

    fn object(&self, id: &str) -> &cityjson::CityObject {
        self.doc.objects.iter().find(|o| o.id == id).unwrap_or_else(|| panic!("{}: object {id} missing", self.name))
    }

    /// Pairs every raw geometry with ours.
    fn geometries(&self) -> Vec<(&Value, &Geometry, String)> {
        let mut out = Vec::new();
        for (id, o) in self.objects() {
            let ours = self.object(id);
            let raw = o.get("geometry").and_then(Value::as_array).cloned().unwrap_or_default();
            assert_eq!(raw.len(), ours.geometries.len(), "{}: {id} geometry count", self.name);
            for (i, g) in o.get("geometry").and_then(Value::as_array).into_iter().flatten().enumerate() {
                out.push((g, &ours.geometries[i], format!("{}: {id}/geometry/{i}", self.name)));
            }
        }
        out
    }

    fn check_vertices(&self) {
        let verts = raw_vertices(&self.raw);
        assert_eq!(self.doc.vertex_count, verts.len(), "{}: vertex count", self.name);
        for (g, ours, at) in self.geometries() {
            if g["type"] == "GeometryInstance" {
                continue;
            }
            let raw = raw_polygons(g);
            assert_eq!(raw.len(), ours.polygons.len(), "{at}: polygon count");
            for ((_, rings), p) in raw.iter().zip(&ours.polygons) {
                assert_eq!(rings.len(), p.rings.len(), "{at}: ring count");
                for (r, (pts, idx)) in rings.iter().zip(p.rings.iter().zip(&p.ring_indices)) {
                    assert_eq!(r.iter().map(|&i| i as u32).collect::<Vec<_>>(), *idx, "{at}: vertex indices");
                    for (&i, q) in r.iter().zip(pts) {
                        assert_eq!(verts[i as usize], *q, "{at}: coordinates of vertex {i}");
                    }
                }
            }
            if g["type"] == "MultiPoint" {
                let want: Vec<DVec3> = g["boundaries"]
                    .as_array()
                    .expect("b")
                    .iter()
                    .map(|i| verts[i.as_u64().expect("i") as usize])
                    .collect();
                assert_eq!(want, ours.points, "{at}: points");
            }
            if g["type"] == "MultiLineString" {
                assert_eq!(g["boundaries"].as_array().expect("b").len(), ours.lines.len(), "{at}: lines");
            }
        }
    }

    fn check_transform_and_precision(&self) {
        let raw_t = self.raw.get("transform");
        assert_eq!(raw_t.is_some(), self.doc.transform.is_some(), "{}: transform presence", self.name);
        if let (Some(rt), Some(t)) = (raw_t, self.doc.transform) {
            assert_eq!(
                t.scale.to_array().to_vec(),
                rt["scale"].as_array().expect("s").iter().map(|x| x.as_f64().expect("n")).collect::<Vec<_>>()
            );
            assert_eq!(
                t.translate.to_array().to_vec(),
                rt["translate"].as_array().expect("t").iter().map(|x| x.as_f64().expect("n")).collect::<Vec<_>>()
            );
            // Re-quantising what we read gives back the integers of the file.
            let verts = raw_vertices(&self.raw);
            for (i, raw) in self.raw["vertices"].as_array().expect("vertices").iter().enumerate() {
                let q = cityjson::quantize(verts[i], &t);
                let want =
                    [raw[0].as_i64().expect("int"), raw[1].as_i64().expect("int"), raw[2].as_i64().expect("int")];
                assert_eq!(q, want, "{}: vertex {i} does not round-trip", self.name);
            }
        }
    }

    fn check_geometry_types(&self) {
        for (g, ours, at) in self.geometries() {
            let want = g["type"].as_str().expect("type");
            let got = if ours.instance.is_some() { "GeometryInstance" } else { ours.kind.name() };
            assert_eq!(got, want, "{at}: type");
            // An instance has the LoD of its template.
            let src = match ours.instance {
                Some(i) => &self.raw["geometry-templates"]["templates"][i.template],
                None => g,
            };
            let lod = src.get("lod").map(|l| l.as_str().map(str::to_string).unwrap_or_else(|| l.to_string()));
            assert_eq!(ours.lod, lod, "{at}: lod");
        }
    }

    fn check_semantics(&self) {
        for (g, ours, at) in self.geometries() {
            let Some(sem) = g.get("semantics") else { continue };
            let surfaces = sem["surfaces"].as_array().expect("surfaces");
            assert_eq!(surfaces.len(), ours.surfaces.len(), "{at}: surfaces");
            for (raw, s) in surfaces.iter().zip(&ours.surfaces) {
                assert_eq!(raw["type"].as_str(), Some(s.kind.as_str()), "{at}: surface type");
                assert_eq!(raw.get("parent").and_then(Value::as_u64).map(|p| p as usize), s.parent, "{at}: parent");
                let kids: Vec<usize> = raw
                    .get("children")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().map(|x| x.as_u64().expect("i") as usize).collect())
                    .unwrap_or_default();
                assert_eq!(kids, s.children, "{at}: children");
                for (k, v) in raw.as_object().expect("obj") {
                    if !matches!(k.as_str(), "type" | "parent" | "children") {
                        assert_eq!(s.attributes.get(k), Some(v), "{at}: surface member {k}");
                    }
                }
                // The hierarchy resolves: every link names an existing surface.
                for link in s.parent.iter().chain(&s.children) {
                    assert!(*link < ours.surfaces.len(), "{at}: surface link {link} dangles");
                }
            }
            let values = &sem["values"];
            match g["type"].as_str().expect("type") {
                "MultiPoint" => {
                    let want: Vec<Option<usize>> =
                        values.as_array().expect("values").iter().map(|v| v.as_u64().map(|x| x as usize)).collect();
                    assert_eq!(want, ours.point_semantics, "{at}: point semantics");
                }
                "MultiLineString" => {
                    let want: Vec<Option<usize>> =
                        values.as_array().expect("values").iter().map(|v| v.as_u64().map(|x| x as usize)).collect();
                    assert_eq!(want, ours.line_semantics, "{at}: line semantics");
                }
                _ => {
                    for ((path, _), p) in raw_polygons(g).iter().zip(&ours.polygons) {
                        let want = self::at(values, path).and_then(Value::as_u64).map(|x| x as usize);
                        assert_eq!(want, p.semantic_index, "{at}: semantics of polygon {path:?}");
                        assert_eq!(
                            want.map(|w| surfaces[w]["type"].as_str().expect("t").to_string()),
                            p.semantic,
                            "{at}"
                        );
                    }
                }
            }
        }
    }

    fn check_materials(&self) {
        for (g, ours, at) in self.geometries() {
            let Some(mats) = g.get("material").and_then(Value::as_object) else { continue };
            for ((path, _), p) in raw_polygons(g).iter().zip(&ours.polygons) {
                let mut want: Vec<(String, usize)> = mats
                    .iter()
                    .filter_map(|(theme, m)| {
                        let i = m
                            .get("value")
                            .and_then(Value::as_u64)
                            .or_else(|| m.get("values").and_then(|v| self::at(v, path)).and_then(Value::as_u64))?;
                        Some((theme.clone(), i as usize))
                    })
                    .collect();
                let mut got = p.materials.clone();
                want.sort();
                got.sort();
                assert_eq!(got, want, "{at}: materials of polygon {path:?}");
            }
        }
    }

    fn check_textures(&self) {
        for (g, ours, at) in self.geometries() {
            let Some(tex) = g.get("texture").and_then(Value::as_object) else { continue };
            for ((path, _), p) in raw_polygons(g).iter().zip(&ours.polygons) {
                for (theme, t) in tex {
                    let rings = self::at(&t["values"], path).and_then(Value::as_array).expect("texture rings");
                    let first = rings[0].as_array().expect("ring");
                    let ours_t = p.textures.iter().find(|(th, _)| th == theme).map(|(_, x)| x);
                    match first.first().and_then(Value::as_u64) {
                        None => assert!(ours_t.is_none(), "{at}: polygon {path:?} has no {theme} texture"),
                        Some(ti) => {
                            let ours_t =
                                ours_t.unwrap_or_else(|| panic!("{at}: polygon {path:?} lost its {theme} texture"));
                            assert_eq!(ours_t.texture, ti as usize);
                            for (r, uv) in rings.iter().zip(&ours_t.uvs) {
                                let want: Vec<u32> = r.as_array().expect("ring")[1..]
                                    .iter()
                                    .map(|x| x.as_u64().expect("uv") as u32)
                                    .collect();
                                assert_eq!(&want, uv, "{at}: uv indices");
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_appearance(&self, defaults: bool, multiple: bool) {
        let raw = self.raw.get("appearance").cloned().unwrap_or(json!({}));
        let a = &self.doc.appearance;
        let mats: Vec<Value> = a.materials.iter().map(|m| Value::Object(m.raw.clone())).collect();
        assert_eq!(Value::Array(mats), raw.get("materials").cloned().unwrap_or(json!([])), "{}: materials", self.name);
        let texs: Vec<Value> = a.textures.iter().map(|t| Value::Object(t.raw.clone())).collect();
        assert_eq!(Value::Array(texs), raw.get("textures").cloned().unwrap_or(json!([])), "{}: textures", self.name);
        let tv: Vec<Value> = a.texture_vertices.iter().map(|uv| json!(uv)).collect();
        let want_tv: Vec<Value> = raw
            .get("vertices-texture")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|uv| json!([uv[0].as_f64(), uv[1].as_f64()]))
            .collect();
        assert_eq!(tv, want_tv, "{}: texture vertices", self.name);
        assert_eq!(a.default_theme_material.as_deref(), raw.get("default-theme-material").and_then(Value::as_str));
        assert_eq!(a.default_theme_texture.as_deref(), raw.get("default-theme-texture").and_then(Value::as_str));
        if defaults {
            assert!(
                a.default_theme_material.is_some() && a.default_theme_texture.is_some(),
                "{}: default themes",
                self.name
            );
        }
        if multiple {
            assert!(a.materials.len() >= 2 && a.textures.len() >= 2, "{}: several materials and textures", self.name);
        }
    }

    fn check_objects(&self) {
        assert_eq!(self.doc.objects.len(), self.objects().len(), "{}: object count", self.name);
        for (id, o) in self.objects() {
            let ours = self.object(id);
            assert_eq!(o["type"].as_str(), Some(ours.object_type.as_str()), "{}: {id} type", self.name);
            assert_eq!(
                o.get("attributes").cloned().unwrap_or(json!({})),
                Value::Object(ours.attributes.clone()),
                "{}: {id} attributes",
                self.name
            );
            let list = |k: &str| {
                o.get(k)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|x| x.as_str().expect("id").to_string()).collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            assert_eq!(list("parents"), ours.parents);
            assert_eq!(list("children"), ours.children);
            assert_eq!(o.get("geometry").is_some(), ours.has_geometry_member, "{}: {id} geometry member", self.name);
            for (k, v) in o.as_object().expect("obj") {
                if !["type", "attributes", "address", "parents", "children", "geometry", "geographicalExtent"]
                    .contains(&k.as_str())
                {
                    assert_eq!(ours.extra.get(k), Some(v), "{}: {id} member {k}", self.name);
                }
            }
        }
        // The hierarchy resolves: every link exists and is mutual.
        let by_id: BTreeMap<&str, &cityjson::CityObject> =
            self.doc.objects.iter().map(|o| (o.id.as_str(), o)).collect();
        for o in &self.doc.objects {
            for c in &o.children {
                let child =
                    by_id.get(c.as_str()).unwrap_or_else(|| panic!("{}: child {c} of {} missing", self.name, o.id));
                assert!(child.parents.contains(&o.id), "{}: {c} does not name {} as parent", self.name, o.id);
            }
            for p in &o.parents {
                assert!(by_id.contains_key(p.as_str()), "{}: parent {p} of {} missing", self.name, o.id);
            }
        }
    }

    fn check_address(&self) {
        let verts = raw_vertices(&self.raw);
        for (id, o) in self.objects() {
            let Some(addrs) = o.get("address").and_then(Value::as_array) else { continue };
            let ours = self.object(id);
            assert_eq!(addrs.len(), ours.address.len());
            for (raw, a) in addrs.iter().zip(&ours.address) {
                for (k, v) in raw.as_object().expect("address") {
                    if k == "location" {
                        let i = v["boundaries"][0].as_u64().expect("location vertex") as usize;
                        assert_eq!(a.location, Some(verts[i]), "{}: {id} address location", self.name);
                    } else {
                        assert_eq!(a.fields.get(k), Some(v), "{}: {id} address {k}", self.name);
                    }
                }
            }
        }
    }

    fn check_metadata(&self) {
        assert_eq!(
            self.raw.get("metadata").cloned().unwrap_or(json!({})),
            Value::Object(self.doc.metadata.clone()),
            "{}: metadata",
            self.name
        );
    }

    fn check_root_members(&self) {
        for (k, v) in self.raw.as_object().expect("root") {
            match k.as_str() {
                "extensions" => assert_eq!(v, &Value::Object(self.doc.extensions.clone()), "{}: extensions", self.name),
                "type" | "version" | "transform" | "metadata" | "CityObjects" | "vertices" | "geometry-templates"
                | "appearance" => {}
                other => assert_eq!(self.doc.extra.get(other), Some(v), "{}: root member {other}", self.name),
            }
        }
    }

    fn check_instances(&self) {
        let verts = raw_vertices(&self.raw);
        let tverts: Vec<DVec3> = self.raw["geometry-templates"]["vertices-templates"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        DVec3::new(p[0].as_f64().expect("x"), p[1].as_f64().expect("y"), p[2].as_f64().expect("z"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut seen = 0;
        for (g, ours, at) in self.geometries() {
            if g["type"] != "GeometryInstance" {
                continue;
            }
            seen += 1;
            let inst = ours.instance.unwrap_or_else(|| panic!("{at}: instance lost"));
            assert_eq!(inst.template as u64, g["template"].as_u64().expect("template"));
            assert_eq!(inst.reference, verts[g["boundaries"][0].as_u64().expect("ref") as usize]);
            // Resolved: every template vertex lands at reference + M·v.
            let m: Vec<f64> =
                g["transformationMatrix"].as_array().expect("m").iter().map(|x| x.as_f64().expect("n")).collect();
            let tpl = &self.raw["geometry-templates"]["templates"][inst.template];
            for ((_, rings), p) in raw_polygons(tpl).iter().zip(&ours.polygons) {
                for (r, pts) in rings.iter().zip(&p.rings) {
                    for (&i, q) in r.iter().zip(pts) {
                        let v = tverts[i as usize];
                        let want = DVec3::new(
                            m[0] * v.x + m[1] * v.y + m[2] * v.z + m[3],
                            m[4] * v.x + m[5] * v.y + m[6] * v.z + m[7],
                            m[8] * v.x + m[9] * v.y + m[10] * v.z + m[11],
                        ) + inst.reference;
                        assert!((want - *q).length() < 1e-9, "{at}: template vertex {i}");
                    }
                }
            }
            if tpl["type"] == "MultiPoint" {
                assert_eq!(ours.points.len(), tpl["boundaries"].as_array().expect("b").len());
            }
        }
        assert!(seen > 0, "{}: no GeometryInstance", self.name);
        assert_eq!(
            self.doc.templates.len(),
            self.raw["geometry-templates"]["templates"].as_array().map_or(0, Vec::len)
        );
    }

    fn check_features(&self) {
        for o in &self.doc.objects {
            assert!(
                o.extra.get("feature").and_then(Value::as_str).is_some(),
                "{}: {} lost its feature",
                self.name,
                o.id
            );
        }
    }

    fn run(&self, check: &str) {
        match check {
            "vertex_indices_preserved" | "coordinates_preserved" | "boundary_normalization_stable" => {
                self.check_vertices()
            }
            "transform_preserved" | "coordinates_precision_roundtrip" => self.check_transform_and_precision(),
            "geometry_types_preserved" => self.check_geometry_types(),
            "geometry_semantics_preserved"
            | "semantic_surface_preserved"
            | "semantic_hierarchy_resolved"
            | "semantic_attributes_resolved"
            | "semantic_extension_type_preserved"
            | "semantic_extension_members_preserved" => self.check_semantics(),
            "geometry_material_preserved" | "material_assignment" => self.check_materials(),
            "geometry_texture_preserved" => self.check_textures(),
            "appearance_preserved" => self.check_appearance(false, false),
            "default_material_texture_set" => self.check_appearance(true, false),
            "multiple_material_texture_set" => self.check_appearance(false, true),
            "cityobject_structure_preserved"
            | "cityobject_hierarchy_resolved"
            | "cityobject_extension_type_preserved"
            | "cityobject_extension_members_preserved"
            | "missing_geometry_member"
            | "empty_geometry_member" => self.check_objects(),
            "building_address_preserved" | "address_location_resolved" => self.check_address(),
            "metadata_properties_preserved" | "metadata_extra_properties_preserved" => self.check_metadata(),
            "extension_member_preserved" | "roundtrip_stable_with_extra_members" => self.check_root_members(),
            "geometry_instance_preserved" | "geometry_instance_resolved" => self.check_instances(),
            "feature_boundaries_preserved" => self.check_features(),
            "roundtrip_stable" => {
                self.check_vertices();
                self.check_transform_and_precision();
                self.check_geometry_types();
                self.check_semantics();
                self.check_materials();
                self.check_textures();
                self.check_appearance(false, false);
                self.check_objects();
                self.check_address();
                self.check_metadata();
                self.check_root_members();
            }
            other => panic!("{}: unknown conformance assertion `{other}`", self.name),
        }
    }
}

/// The synthetic case's fixture, generated here from its profile: 8
/// Building/Bridge objects covering the seven geometry types, LoDs 0–3 and
/// roof/ground/wall/closure semantics (seeded, deterministic).
fn synthetic_fixture() -> Value {
    let mut verts = Vec::new();
    for i in 0..16 {
        let f = i as i64;
        verts.push(json!([f * 10 - 80, (f % 4) * 25 - 50, (f / 4) * 30]));
    }
    let sem = json!([{"type": "RoofSurface"}, {"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "ClosureSurface"}]);
    let quad = |a: u64| json!([[a, a + 1, a + 2, a + 3]]);
    let shell = json!([quad(0), quad(4), quad(8), quad(12)]);
    let geoms = [
        json!({"type": "MultiPoint", "lod": "0", "boundaries": [0, 1, 2, 3, 4], "semantics": {"surfaces": sem, "values": [0, 1, null, 2, 3]}}),
        json!({"type": "MultiLineString", "lod": "0", "boundaries": [[0, 1, 2], [3, 4]], "semantics": {"surfaces": sem, "values": [2, null]}}),
        json!({"type": "MultiSurface", "lod": "1", "boundaries": [quad(0), quad(4), [[8, 9, 10, 11], [12, 13, 14]]], "semantics": {"surfaces": sem, "values": [0, 1, 2]}}),
        json!({"type": "CompositeSurface", "lod": "2", "boundaries": [quad(0), quad(4)], "semantics": {"surfaces": sem, "values": [3, null]}}),
        json!({"type": "Solid", "lod": "2", "boundaries": [shell.clone(), [quad(12)]], "semantics": {"surfaces": sem, "values": [[0, 1, 2, 3], [2]]}}),
        json!({"type": "MultiSolid", "lod": "3", "boundaries": [[shell.clone()], [shell.clone()]], "semantics": {"surfaces": sem, "values": [[[0, 1, 2, 3]], [[3, 2, 1, 0]]]}}),
        json!({"type": "CompositeSolid", "lod": "3", "boundaries": [[shell.clone()]], "semantics": {"surfaces": sem, "values": [[[2, 2, 2, null]]]}}),
        json!({"type": "MultiSurface", "lod": "2", "boundaries": [quad(4)]}),
    ];
    let mut objects = serde_json::Map::new();
    for (i, g) in geoms.into_iter().enumerate() {
        let kind = if i % 2 == 0 { "Building" } else { "Bridge" };
        objects.insert(format!("obj-{i}"), json!({"type": kind, "geometry": [g]}));
    }
    json!({"type": "CityJSON", "version": "2.0", "transform": {"scale": [0.01, 0.01, 0.01], "translate": [1000.0, 2000.0, 5.0]}, "CityObjects": objects, "vertices": verts})
}

fn run_case(dir: &Path, checks: &mut usize) {
    let name = dir.file_name().expect("name").to_string_lossy().into_owned();
    let invariants: Value =
        serde_json::from_slice(&std::fs::read(dir.join("invariants.json")).expect("invariants")).expect("json");
    let data = std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").path()).find(|p| {
        let n = p.file_name().expect("name").to_string_lossy();
        n.ends_with(".city.json") || n.ends_with(".city.jsonl")
    });
    let (raw, doc) = match data {
        Some(p) if p.to_string_lossy().ends_with(".jsonl") => {
            let doc = cityjson::read_seq(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The raw view of a sequence: its features' objects gathered.
            let text = std::fs::read_to_string(&p).expect("read");
            let mut objects = serde_json::Map::new();
            for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
                let v = v.expect("value");
                for (k, o) in v["CityObjects"].as_object().into_iter().flatten() {
                    objects.insert(k.clone(), o.clone());
                }
            }
            (json!({"CityObjects": objects}), doc)
        }
        Some(p) => {
            let raw: Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
            (raw, cityjson::read(&p).unwrap_or_else(|e| panic!("{name}: {e}")))
        }
        None => {
            let raw = synthetic_fixture();
            let doc = cityjson::parse(raw.to_string().as_bytes(), &name).expect("synthetic");
            (raw, doc)
        }
    };
    let case = Case { name: name.clone(), raw, doc: &doc };
    for c in invariants["checks"].as_array().expect("checks") {
        case.run(c["id"].as_str().expect("id"));
        *checks += 1;
    }
}

#[test]
fn every_conformance_case_passes_its_invariants() {
    let Some(root) = corpus() else { return };
    let mut cases = 0;
    let mut checks = 0;
    for group in ["v2_0", "synthetic"] {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(root.join(group)).expect("group").map(|e| e.expect("entry").path()).collect();
        dirs.sort();
        for d in dirs.into_iter().filter(|d| d.join("invariants.json").exists()) {
            run_case(&d, &mut checks);
            cases += 1;
        }
    }
    assert_eq!(cases, 35, "the corpus has 35 cases");
    assert!(checks >= 60, "{checks} checks ran");
}
