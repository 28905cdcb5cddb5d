//! A small CityJSON 2.0 writer: quantised, deduplicated vertices and
//! objects with semantic solids and surfaces.

use std::collections::HashMap;

use glam::DVec3;
use serde_json::{Map, Value, json};

/// Semantic surface indices used by [`CityJsonWriter::solid`].
pub const GROUND: usize = 0;
pub const WALL: usize = 1;
pub const ROOF: usize = 2;

/// Accumulates vertices (quantised to 1 mm) and city objects.
pub struct CityJsonWriter {
    translate: DVec3,
    vertices: Vec<[i64; 3]>,
    index: HashMap<[i64; 3], usize>,
    pub objects: Map<String, Value>,
    template_vertices: Vec<[f64; 3]>,
    templates: Vec<Value>,
}

const SCALE: f64 = 0.001;

impl CityJsonWriter {
    /// `translate` is subtracted from every coordinate before quantising.
    pub fn new(translate: DVec3) -> Self {
        Self {
            translate,
            vertices: Vec::new(),
            index: HashMap::new(),
            objects: Map::new(),
            template_vertices: Vec::new(),
            templates: Vec::new(),
        }
    }

    /// The index of a vertex (real coordinates, in the output CRS).
    pub fn vertex(&mut self, p: DVec3) -> usize {
        let q = ((p - self.translate) / SCALE).round();
        let key = [q.x as i64, q.y as i64, q.z as i64];
        let n = self.vertices.len();
        *self.index.entry(key).or_insert_with(|| {
            self.vertices.push(key);
            n
        })
    }

    fn ring(&mut self, ring: &[DVec3]) -> Value {
        Value::Array(ring.iter().map(|&p| self.vertex(p).into()).collect())
    }

    /// A surface (exterior ring + holes) as boundary JSON.
    pub fn surface(&mut self, rings: &[Vec<DVec3>]) -> Value {
        Value::Array(rings.iter().map(|r| self.ring(r)).collect())
    }

    /// A Solid with one shell; each face is (rings, semantic index into
    /// Ground/Wall/Roof).
    pub fn solid(&mut self, lod: &str, faces: &[(Vec<Vec<DVec3>>, usize)]) -> Value {
        let shell: Vec<Value> = faces.iter().map(|(r, _)| self.surface(r)).collect();
        let values: Vec<Value> = faces.iter().map(|(_, s)| (*s).into()).collect();
        json!({
            "type": "Solid", "lod": lod,
            "boundaries": [shell],
            "semantics": {
                "surfaces": [{"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"}],
                "values": [values]
            }
        })
    }

    /// A MultiSurface, optionally with one semantic surface type for all faces.
    pub fn multi_surface(&mut self, lod: &str, faces: &[Vec<Vec<DVec3>>], semantic: Option<&str>) -> Value {
        let b: Vec<Value> = faces.iter().map(|r| self.surface(r)).collect();
        let mut g = json!({"type": "MultiSurface", "lod": lod, "boundaries": b});
        if let Some(s) = semantic {
            g["semantics"] = json!({"surfaces": [{"type": s}], "values": vec![0; faces.len()]});
        }
        g
    }

    /// Registers a geometry template (a MultiSurface of triangles in local metres).
    pub fn template(&mut self, lod: &str, triangles: &[[DVec3; 3]]) -> usize {
        let mut b = Vec::new();
        for t in triangles {
            let mut ring = Vec::new();
            for p in t {
                self.template_vertices.push(p.to_array());
                ring.push(Value::from(self.template_vertices.len() - 1));
            }
            b.push(json!([ring]));
        }
        self.templates.push(json!({"type": "MultiSurface", "lod": lod, "boundaries": b}));
        self.templates.len() - 1
    }

    /// A GeometryInstance of template `t` at `at`, scaled and rotated about z.
    pub fn instance(&mut self, t: usize, at: DVec3, scale: f64, height_scale: f64, rotation: f64) -> Value {
        let v = self.vertex(at);
        let (s, c) = rotation.sin_cos();
        // Row-major 4×4 as CityJSON stores it.
        let m = [
            c * scale,
            -s * scale,
            0.0,
            0.0,
            s * scale,
            c * scale,
            0.0,
            0.0,
            0.0,
            0.0,
            height_scale,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
        ];
        json!({"type": "GeometryInstance", "template": t, "boundaries": [v], "transformationMatrix": m})
    }

    pub fn add(&mut self, id: &str, object: Value) {
        self.objects.insert(id.to_string(), object);
    }

    /// The finished document.
    pub fn finish(self, metadata: Value) -> Value {
        let mut doc = json!({
            "type": "CityJSON",
            "version": "2.0",
            "transform": {"scale": [SCALE, SCALE, SCALE], "translate": self.translate.to_array()},
            "metadata": metadata,
            "CityObjects": self.objects,
            "vertices": self.vertices,
        });
        if !self.templates.is_empty() {
            doc["geometry-templates"] =
                json!({"templates": self.templates, "vertices-templates": self.template_vertices});
        }
        doc
    }
}
