//! The components of a city feature entity.

use bevy_ecs::prelude::*;
use glam::DVec3;
use serde::{Deserialize, Serialize};
use urbis_geo::CityFrame;

use crate::mesh::MeshId;

/// The stable identity of a feature: the source's GUID (CityJSON id, IFC
/// GlobalId, batch id path) and a compact index that the GPU carries per
/// vertex. Index 0 is reserved for "no feature".
#[derive(Component, Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeatureId {
    pub guid: String,
    pub index: u32,
}

pub use crate::class::SemanticClass;

/// Where a feature is: its local origin in the city's ENU frame, f64 metres.
/// Its mesh vertices are f32 offsets from this point along the ENU axes.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub enu: DVec3,
}

impl Placement {
    /// The placement's ECEF position.
    pub fn ecef(&self, frame: &CityFrame) -> DVec3 {
        frame.enu_to_ecef(self.enu)
    }

    /// The placement as geodetic longitude, latitude and height.
    pub fn geodetic(&self, frame: &CityFrame) -> urbis_geo::Geodetic {
        frame.enu_to_geodetic(self.enu)
    }
}

/// The 2D ground footprint in the city's ENU metres (x east, y north).
#[derive(Component, Debug, Clone, PartialEq)]
pub struct Footprint(pub geo::Polygon<f64>);

/// Level of detail of a geometry, as CityJSON's "lod" (0, 1, 1.2, 2.2, 3 ...)
/// in tenths: LoD 2.2 is `Lod(22)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lod(pub u8);

impl Lod {
    /// Parses "2", "2.2", "1.3"; anything else is `None`.
    pub fn parse(s: &str) -> Option<Lod> {
        let mut it = s.split('.');
        let major: u8 = it.next()?.parse().ok()?;
        let minor: u8 = match it.next() {
            Some(m) => m.parse().ok()?,
            None => 0,
        };
        (major <= 4 && minor <= 9 && it.next().is_none()).then_some(Lod(major * 10 + minor))
    }
}

impl std::fmt::Display for Lod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

/// The feature's renderable geometry: a mesh in the [`MeshStore`](crate::MeshStore) and its LoD.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeometryHandle {
    pub mesh: MeshId,
    pub lod: Lod,
}

/// For a feature whose mesh is shared (an instance of a template): the
/// linear map from the shared mesh's coordinates to ENU offsets from the
/// feature's [`Placement`]. Rotation, scale and the local distortion of the
/// source CRS are all folded into it.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct InstanceTransform {
    pub linear: glam::DMat3,
}

impl InstanceTransform {
    /// The ENU offset of a mesh vertex.
    pub fn apply(&self, v: glam::Vec3) -> DVec3 {
        self.linear * v.as_dvec3()
    }
}

/// An axis-aligned bounding box in the city's ENU frame, f64 metres.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: DVec3,
    pub max: DVec3,
}

impl Bounds {
    pub const EMPTY: Bounds = Bounds { min: DVec3::splat(f64::INFINITY), max: DVec3::splat(f64::NEG_INFINITY) };

    pub fn from_points(points: impl IntoIterator<Item = DVec3>) -> Bounds {
        points.into_iter().fold(Bounds::EMPTY, |b, p| b.including(p))
    }

    pub fn including(self, p: DVec3) -> Bounds {
        Bounds { min: self.min.min(p), max: self.max.max(p) }
    }

    pub fn union(self, o: Bounds) -> Bounds {
        Bounds { min: self.min.min(o.min), max: self.max.max(o.max) }
    }

    pub fn is_empty(&self) -> bool {
        !(self.min.x <= self.max.x && self.min.y <= self.max.y && self.min.z <= self.max.z)
    }

    pub fn center(&self) -> DVec3 {
        (self.min + self.max) * 0.5
    }

    pub fn size(&self) -> DVec3 {
        self.max - self.min
    }

    pub fn contains(&self, p: DVec3) -> bool {
        p.cmpge(self.min).all() && p.cmple(self.max).all()
    }

    pub fn intersects(&self, o: &Bounds) -> bool {
        self.min.cmple(o.max).all() && o.min.cmple(self.max).all()
    }

    /// Slab test: the entry distance of the ray `origin + t·dir` (t ≥ 0), if it hits.
    pub fn ray_entry(&self, origin: DVec3, dir: DVec3) -> Option<f64> {
        let inv = dir.recip();
        let t0 = (self.min - origin) * inv;
        let t1 = (self.max - origin) * inv;
        let tmin = t0.min(t1);
        let tmax = t0.max(t1);
        // NaN (0 · ∞) lanes mean the ray lies in a slab plane; treat as inside.
        let near = [tmin.x, tmin.y, tmin.z].into_iter().filter(|v| !v.is_nan()).fold(0.0f64, f64::max);
        let far = [tmax.x, tmax.y, tmax.z].into_iter().filter(|v| !v.is_nan()).fold(f64::INFINITY, f64::min);
        (near <= far).then_some(near)
    }
}

/// A BuildingPart (or other child) points at its parent feature.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartOf(pub Entity);

/// A parent lists its child features.
#[derive(Component, Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts(pub Vec<Entity>);

/// The features of one streamed tile share one GPU chunk, the tile's own,
/// so a tile is uploaded, shown, hidden and freed as a whole. `key` has its
/// top bit set, apart from the spatial chunks' keys; vertices are relative
/// to `origin` (ENU).
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct TileChunk {
    pub key: u64,
    pub origin: DVec3,
}

impl TileChunk {
    /// The chunk key of tile `tile` of streamed tileset `tileset`.
    pub fn key_of(tileset: u32, tile: u32) -> u64 {
        (1 << 63) | ((tileset as u64 & 0x7fff_ffff) << 32) | tile as u64
    }
}

/// Tile chunks not drawn this frame (a streamed tile whose children or
/// parent stands in for it). Changing it never touches geometry.
#[derive(bevy_ecs::resource::Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct HiddenChunks(pub std::collections::HashSet<u64>);

/// Per-feature display state. The renderer keeps it in a per-feature GPU
/// buffer, so changing it never touches geometry.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct FeatureStyle {
    /// Replaces the feature's colour (linear RGB, alpha = blend weight 0..1).
    pub color_override: Option<[f32; 4]>,
    pub visible: bool,
    /// Tinted (e.g. by a query or an alarm).
    pub highlighted: bool,
    /// Outlined as the current selection.
    pub selected: bool,
    /// Vertical scale of the feature about its base (live extrusion); 1 = as modelled.
    pub height_scale: f32,
    /// 1 = opaque, down to 0 = invisible (X-ray and see-through layers).
    pub opacity: f32,
}

impl Default for FeatureStyle {
    fn default() -> Self {
        Self {
            color_override: None,
            visible: true,
            highlighted: false,
            selected: false,
            height_scale: 1.0,
            opacity: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lod_parses_cityjson_forms() {
        assert_eq!(Lod::parse("2.2"), Some(Lod(22)));
        assert_eq!(Lod::parse("1"), Some(Lod(10)));
        assert_eq!(Lod::parse("x"), None);
        assert_eq!(Lod(13).to_string(), "1.3");
        assert_eq!(Lod(20).to_string(), "2");
    }

    #[test]
    fn ray_entry_hits_and_misses() {
        let b = Bounds { min: DVec3::ZERO, max: DVec3::splat(1.0) };
        assert_eq!(b.ray_entry(DVec3::new(-1.0, 0.5, 0.5), DVec3::X), Some(1.0));
        assert_eq!(b.ray_entry(DVec3::new(-1.0, 2.0, 0.5), DVec3::X), None);
        assert_eq!(b.ray_entry(DVec3::new(0.5, 0.5, 0.5), DVec3::X), Some(0.0));
        assert_eq!(b.ray_entry(DVec3::new(2.0, 0.5, 0.5), DVec3::X), None);
    }
}
