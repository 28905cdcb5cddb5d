//! [`CityModel`]: the ECS world of a city, its georeference and its indices.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bevy_ecs::prelude::*;
use glam::DVec3;
use urbis_geo::CityFrame;

use crate::Attributes;
use crate::class::Family;
use crate::components::*;
use crate::mesh::{CpuMesh, MeshId, MeshStore};
use crate::query::FeatureQuery;
use crate::spatial::SpatialIndex;

/// The georeference of the model: every ENU coordinate in it is in this frame.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Frame(pub CityFrame);

/// Lookup from feature index and GUID to entity.
#[derive(Resource, Debug, Default)]
pub struct FeatureTable {
    /// Slot 0 is "no feature".
    by_index: Vec<Option<Entity>>,
    by_guid: HashMap<String, Entity>,
    /// Indices of removed features, handed out again (streamed tiles come and go).
    free: Vec<u32>,
    /// Features spawned since the model was made (never decreases).
    spawned: u64,
}

/// While present, every spawned feature is recorded here (the streaming
/// bridge learns which entities a tile made).
#[derive(Resource, Debug, Default)]
pub struct SpawnLog(pub Vec<Entity>);

impl FeatureTable {
    /// Features spawned since the model was made: it changes whenever
    /// features arrive, even when as many left (streamed tiles swapping).
    pub fn spawned(&self) -> u64 {
        self.spawned
    }

    pub fn entity(&self, index: u32) -> Option<Entity> {
        self.by_index.get(index as usize).copied().flatten()
    }

    pub fn by_guid(&self, guid: &str) -> Option<Entity> {
        self.by_guid.get(guid).copied()
    }

    /// One past the largest feature index handed out.
    pub fn index_capacity(&self) -> u32 {
        self.by_index.len() as u32
    }
}

/// Everything needed to spawn one feature.
#[derive(Debug, Clone)]
pub struct NewFeature {
    pub guid: String,
    pub class: SemanticClass,
    pub attributes: Attributes,
    /// Local origin in the city ENU frame; mesh vertices are relative to it.
    pub placement: DVec3,
    pub footprint: Option<geo::Polygon<f64>>,
    pub mesh: Option<(CpuMesh, Lod)>,
    /// Or an instance of a mesh already in the store (a geometry template,
    /// a 3D Tiles instance), with the linear part of its placement.
    pub instance_of: Option<(MeshId, Lod, InstanceTransform)>,
    /// Bounds in ENU; computed from the mesh when `None`.
    pub bounds: Option<Bounds>,
}

impl NewFeature {
    pub fn new(guid: impl Into<String>, class: SemanticClass, placement: DVec3) -> Self {
        Self {
            guid: guid.into(),
            class,
            attributes: Attributes::default(),
            placement,
            footprint: None,
            mesh: None,
            instance_of: None,
            bounds: None,
        }
    }
}

/// The city: a bevy_ecs [`World`] with one entity per real-world feature.
///
/// Resources: [`Frame`], [`MeshStore`], [`FeatureTable`], [`SpatialIndex`].
pub struct CityModel {
    pub world: World,
}

impl std::fmt::Debug for CityModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CityModel").field("features", &self.feature_count()).finish()
    }
}

impl CityModel {
    pub fn new(frame: CityFrame) -> Self {
        let mut world = World::new();
        world.insert_resource(Frame(frame));
        world.insert_resource(MeshStore::default());
        world.insert_resource(crate::mesh::TextureStore::default());
        world.insert_resource(FeatureTable {
            by_index: vec![None],
            by_guid: HashMap::new(),
            free: Vec::new(),
            spawned: 0,
        });
        world.insert_resource(SpatialIndex::default());
        Self { world }
    }

    pub fn frame(&self) -> &CityFrame {
        &self.world.resource::<Frame>().0
    }

    pub fn meshes(&self) -> &MeshStore {
        self.world.resource::<MeshStore>()
    }

    pub fn features(&self) -> &FeatureTable {
        self.world.resource::<FeatureTable>()
    }

    pub fn spatial(&self) -> &SpatialIndex {
        self.world.resource::<SpatialIndex>()
    }

    /// Spawns a feature with all its components and registers its index and
    /// GUID. A GUID seen before gets a `#n` suffix so identities stay unique.
    pub fn spawn_feature(&mut self, f: NewFeature) -> Entity {
        let bounds = f.bounds.unwrap_or_else(|| match (&f.mesh, &f.instance_of) {
            (Some((mesh, _)), _) => {
                Bounds::from_points(mesh.vertices.iter().map(|v| f.placement + v.position.as_dvec3()))
            }
            (None, Some((id, _, t))) => match self.meshes().get(*id) {
                Some(mesh) => Bounds::from_points(mesh.vertices.iter().map(|v| f.placement + t.apply(v.position))),
                None => Bounds::from_points([f.placement]),
            },
            (None, None) => Bounds::from_points([f.placement]),
        });
        let instance = f.instance_of.map(|(_, _, t)| t);
        let geometry = match (f.mesh, f.instance_of) {
            (Some((mesh, lod)), _) => {
                Some(GeometryHandle { mesh: self.world.resource_mut::<MeshStore>().add(mesh), lod })
            }
            (None, Some((mesh, lod, _))) => Some(GeometryHandle { mesh, lod }),
            (None, None) => None,
        };
        let mut table = self.world.resource_mut::<FeatureTable>();
        table.spawned += 1;
        let index = table.free.pop().unwrap_or(table.by_index.len() as u32);
        let mut guid = f.guid;
        if table.by_guid.contains_key(&guid) {
            guid = format!("{guid}#{index}");
        }
        let mut e = self.world.spawn((
            FeatureId { guid: guid.clone(), index },
            f.class,
            f.attributes,
            Placement { enu: f.placement },
            bounds,
            FeatureStyle::default(),
        ));
        if let Some(fp) = f.footprint {
            e.insert(Footprint(fp));
        }
        if let Some(g) = geometry {
            e.insert(g);
        }
        if let Some(t) = instance {
            e.insert(t);
        }
        let id = e.id();
        let mut table = self.world.resource_mut::<FeatureTable>();
        if (index as usize) < table.by_index.len() {
            table.by_index[index as usize] = Some(id);
        } else {
            table.by_index.push(Some(id));
        }
        table.by_guid.insert(guid, id);
        if let Some(mut log) = self.world.get_resource_mut::<SpawnLog>() {
            log.0.push(id);
        }
        id
    }

    /// Links a child feature to its parent (BuildingPart → Building).
    pub fn link_part(&mut self, parent: Entity, child: Entity) {
        self.world.entity_mut(child).insert(PartOf(parent));
        let mut p = self.world.entity_mut(parent);
        match p.get_mut::<Parts>() {
            Some(mut parts) => parts.0.push(child),
            None => {
                p.insert(Parts(vec![child]));
            }
        }
    }

    /// Removes a feature and its parts from the world and the lookup tables;
    /// their indices and owned meshes are freed for reuse (call
    /// [`CityModel::rebuild_spatial_index`] after).
    pub fn remove_feature(&mut self, entity: Entity) {
        let parts = self.world.get::<Parts>(entity).map(|p| p.0.clone()).unwrap_or_default();
        for e in parts.into_iter().chain([entity]) {
            let Some(id) = self.world.get::<FeatureId>(e).cloned() else { continue };
            let owned_mesh = match (self.world.get::<GeometryHandle>(e), self.world.get::<InstanceTransform>(e)) {
                (Some(g), None) => Some(g.mesh),
                _ => None,
            };
            let mut table = self.world.resource_mut::<FeatureTable>();
            if let Some(slot) = table.by_index.get_mut(id.index as usize)
                && *slot == Some(e)
            {
                *slot = None;
                table.free.push(id.index);
            }
            if table.by_guid.get(&id.guid) == Some(&e) {
                table.by_guid.remove(&id.guid);
            }
            if let Some(m) = owned_mesh {
                self.world.resource_mut::<MeshStore>().release(m);
            }
            self.world.despawn(e);
        }
    }

    pub fn feature_count(&self) -> usize {
        self.features().by_index.iter().flatten().count()
    }

    /// Rebuilds the spatial index from every feature's [`Bounds`].
    pub fn rebuild_spatial_index(&mut self) {
        let mut q = self.world.query::<(Entity, &Bounds)>();
        let items: Vec<(Entity, Bounds)> = q.iter(&self.world).map(|(e, b)| (e, *b)).collect();
        self.world.insert_resource(SpatialIndex::build(items));
    }

    /// Bounds of every feature together (the globe's streamed terrain tiles left out).
    pub fn bounds(&self) -> Bounds {
        let mut b = Bounds::EMPTY;
        for e in self.world.iter_entities() {
            // Streamed terrain tiles (the globe) reach around the Earth: not the city's extent.
            let streamed_terrain =
                e.contains::<TileChunk>() && e.get::<SemanticClass>() == Some(&SemanticClass::TIN_RELIEF);
            if let Some(fb) = e.get::<Bounds>()
                && !streamed_terrain
            {
                b = b.union(*fb);
            }
        }
        b
    }

    /// Number of features per semantic class.
    pub fn counts_by_class(&self) -> BTreeMap<SemanticClass, usize> {
        let mut counts = BTreeMap::new();
        for e in self.world.iter_entities() {
            if let Some(c) = e.get::<SemanticClass>() {
                *counts.entry(*c).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Number of features per family (the coarse level of [`SemanticClass`]).
    pub fn counts_by_family(&self) -> BTreeMap<Family, usize> {
        let mut counts = BTreeMap::new();
        for e in self.world.iter_entities() {
            if let Some(c) = e.get::<SemanticClass>() {
                *counts.entry(c.family()).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The class names a query asks for that no feature of this model has:
    /// most likely typing errors, worth a warning since they match nothing.
    pub fn absent_classes<'q>(&self, query: &'q FeatureQuery) -> Vec<&'q str> {
        if query.classes.is_empty() {
            return Vec::new();
        }
        let present = self.counts_by_class();
        query.classes.iter().map(String::as_str).filter(|n| !present.keys().any(|c| c.name() == *n)).collect()
    }

    /// For each class, the attribute keys its features carry, with their value types.
    pub fn attribute_keys(&self) -> BTreeMap<SemanticClass, BTreeMap<String, BTreeSet<&'static str>>> {
        let mut keys: BTreeMap<SemanticClass, BTreeMap<String, BTreeSet<&'static str>>> = BTreeMap::new();
        for e in self.world.iter_entities() {
            if let (Some(c), Some(a)) = (e.get::<SemanticClass>(), e.get::<Attributes>()) {
                let per_class = keys.entry(*c).or_default();
                for (k, v) in &a.0 {
                    per_class.entry(k.clone()).or_default().insert(v.type_name());
                }
            }
        }
        keys
    }

    /// The entities matching an attribute query, in feature-index order.
    pub fn select(&self, query: &FeatureQuery) -> Vec<Entity> {
        let table = self.features();
        table
            .by_index
            .iter()
            .flatten()
            .copied()
            .filter(|&e| {
                let r = self.world.entity(e);
                match (r.get::<SemanticClass>(), r.get::<Attributes>()) {
                    (Some(c), Some(a)) => query.matches(*c, a),
                    _ => false,
                }
            })
            .collect()
    }

    /// The GUIDs of every feature matching a query, loaded or not: the
    /// loaded ones (with their entity) in feature-index order, then those
    /// whose streamed tile was evicted but whose attributes were kept
    /// ([`RetainedAttributes`](crate::RetainedAttributes)), by GUID.
    pub fn select_including_evicted(&self, query: &FeatureQuery) -> Vec<(String, Option<Entity>)> {
        let mut out: Vec<(String, Option<Entity>)> = self
            .select(query)
            .into_iter()
            .filter_map(|e| self.world.get::<FeatureId>(e).map(|f| (f.guid.clone(), Some(e))))
            .collect();
        if let Some(kept) = self.world.get_resource::<crate::RetainedAttributes>() {
            let table = self.features();
            let mut away: Vec<(String, Option<Entity>)> = kept
                .query(query)
                .filter(|(g, _)| table.by_guid(g).is_none())
                .map(|(g, _)| (g.to_string(), None))
                .collect();
            away.sort();
            out.extend(away);
        }
        out
    }

    /// A JSON description of a feature: identity, class, attributes, the
    /// parent's identity and attributes for parts, position and bounds.
    pub fn describe(&self, entity: Entity) -> Option<serde_json::Value> {
        let r = self.world.get_entity(entity).ok()?;
        let id = r.get::<FeatureId>()?;
        let class = r.get::<SemanticClass>()?;
        let frame = self.frame();
        let mut v = serde_json::json!({
            "feature_id": id.guid,
            "feature_index": id.index,
            "class": class.name(),
            "family": class.family().name(),
            "attributes": r.get::<Attributes>().map(Attributes::to_json).unwrap_or_default(),
        });
        if let Some(b) = r.get::<Bounds>() {
            let c = frame.enu_to_geodetic(DVec3::new(b.center().x, b.center().y, b.min.z));
            v["position"] = serde_json::json!({"lon": c.lon_deg, "lat": c.lat_deg, "height": c.height});
            v["bounds_enu"] = serde_json::json!({"min": b.min.to_array(), "max": b.max.to_array()});
        }
        if let Some(g) = r.get::<GeometryHandle>() {
            v["lod"] = g.lod.to_string().into();
        }
        if let Some(l) = r.get::<crate::LatestReading>() {
            let s = r.get::<crate::Sensor>();
            v["reading"] = serde_json::json!({
                "quantity": s.map(|s| s.quantity.clone()),
                "value": (!l.is_empty()).then_some(l.value),
                "unit": s.map(|s| s.unit.clone()),
                "time_ms": (!l.is_empty()).then_some(l.time_ms),
                "stale": l.stale,
                "readings": l.count,
                "history": r.get::<crate::History>().map_or(0, |h| h.len()),
            });
        }
        if let Some(l) = r.get::<crate::LiveLabel>() {
            v["live_label"] = l.0.clone().into();
        }
        if let Some(PartOf(parent)) = r.get::<PartOf>() {
            let p = self.world.entity(*parent);
            v["parent"] = serde_json::json!({
                "feature_id": p.get::<FeatureId>().map(|f| f.guid.clone()),
                "class": p.get::<SemanticClass>().map(|c| c.name()),
                "attributes": p.get::<Attributes>().map(Attributes::to_json).unwrap_or_default(),
            });
        }
        Some(v)
    }
}
