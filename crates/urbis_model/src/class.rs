//! Semantic classes at two levels: the source's own class (a CityJSON type,
//! an IFC entity, a 3D Tiles metadata class) and the [`Family`] it belongs to
//! (Building, Transport, Vegetation, ...). Queries and style rules may name
//! either (`class = LandUse`, `family = Vegetation`) through [`ClassFilter`].
//!
//! ```
//! use urbis_model::{Family, SemanticClass};
//! let land = SemanticClass::from_name("LandUse").unwrap();
//! assert_eq!((land.name(), land.family()), ("LandUse", Family::Terrain));
//! let wall = SemanticClass::new("IfcWall", Family::Building);
//! assert_eq!(wall.name(), "IfcWall");
//! ```

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// The coarse level of the classification, for styling and analyses that
/// care about "a building" or "vegetation" whatever the source called it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    /// Buildings, their parts, installations, rooms and (for IFC) every building element.
    Building,
    /// Roads, railways, squares, waterways, bridges and tunnels.
    Transport,
    /// Plant cover and solitary vegetation.
    Vegetation,
    /// Water bodies.
    Water,
    /// Relief and land use: the ground itself.
    Terrain,
    /// City furniture.
    Furniture,
    /// Generic objects, groups, other constructions, unknown classes.
    Generic,
    /// Live devices (sensors, meters, cameras).
    Sensor,
}

impl Family {
    pub const ALL: [Family; 8] = [
        Family::Building,
        Family::Transport,
        Family::Vegetation,
        Family::Water,
        Family::Terrain,
        Family::Furniture,
        Family::Generic,
        Family::Sensor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Building => "Building",
            Family::Transport => "Transport",
            Family::Vegetation => "Vegetation",
            Family::Water => "Water",
            Family::Terrain => "Terrain",
            Family::Furniture => "Furniture",
            Family::Generic => "Generic",
            Family::Sensor => "Sensor",
        }
    }

    /// The family of this name (ASCII case ignored), or `None`.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The semantic class of a feature: the source's own class name and its
/// family. Copy-cheap: names are interned once per process.
///
/// Classes compare by name and family. Names longer than
/// [`SemanticClass::MAX_NAME_LEN`] bytes are cut, and past
/// [`SemanticClass::MAX_NAMES`] distinct names (hostile input) further new
/// names become [`SemanticClass::UNCLASSIFIED`] of their family, with a warning.
#[derive(Component, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SemanticClass {
    name: &'static str,
    family: Family,
}

impl std::fmt::Debug for SemanticClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.name, self.family.name())
    }
}

macro_rules! known_classes {
    ($($konst:ident = $name:literal in $family:ident;)*) => {
        impl SemanticClass {
            $(pub const $konst: SemanticClass = SemanticClass { name: $name, family: Family::$family };)*
            /// Every CityJSON 2.0 city object type, and Sensor.
            pub const CITYJSON: &'static [SemanticClass] = &[$(SemanticClass::$konst),*];
        }
    };
}

known_classes! {
    BUILDING = "Building" in Building;
    BUILDING_PART = "BuildingPart" in Building;
    BUILDING_INSTALLATION = "BuildingInstallation" in Building;
    BUILDING_CONSTRUCTIVE_ELEMENT = "BuildingConstructiveElement" in Building;
    BUILDING_FURNITURE = "BuildingFurniture" in Building;
    BUILDING_STOREY = "BuildingStorey" in Building;
    BUILDING_ROOM = "BuildingRoom" in Building;
    BUILDING_UNIT = "BuildingUnit" in Building;
    BRIDGE = "Bridge" in Transport;
    BRIDGE_PART = "BridgePart" in Transport;
    BRIDGE_INSTALLATION = "BridgeInstallation" in Transport;
    BRIDGE_CONSTRUCTIVE_ELEMENT = "BridgeConstructiveElement" in Transport;
    BRIDGE_ROOM = "BridgeRoom" in Transport;
    BRIDGE_FURNITURE = "BridgeFurniture" in Transport;
    ROAD = "Road" in Transport;
    RAILWAY = "Railway" in Transport;
    TRANSPORT_SQUARE = "TransportSquare" in Transport;
    WATERWAY = "Waterway" in Transport;
    TUNNEL = "Tunnel" in Transport;
    TUNNEL_PART = "TunnelPart" in Transport;
    TUNNEL_INSTALLATION = "TunnelInstallation" in Transport;
    TUNNEL_CONSTRUCTIVE_ELEMENT = "TunnelConstructiveElement" in Transport;
    TUNNEL_HOLLOW_SPACE = "TunnelHollowSpace" in Transport;
    TUNNEL_FURNITURE = "TunnelFurniture" in Transport;
    WATER_BODY = "WaterBody" in Water;
    PLANT_COVER = "PlantCover" in Vegetation;
    SOLITARY_VEGETATION_OBJECT = "SolitaryVegetationObject" in Vegetation;
    TIN_RELIEF = "TINRelief" in Terrain;
    LAND_USE = "LandUse" in Terrain;
    CITY_FURNITURE = "CityFurniture" in Furniture;
    GENERIC_CITY_OBJECT = "GenericCityObject" in Generic;
    OTHER_CONSTRUCTION = "OtherConstruction" in Generic;
    CITY_OBJECT_GROUP = "CityObjectGroup" in Generic;
    SENSOR = "Sensor" in Sensor;
}

static INTERNED: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);

impl SemanticClass {
    /// Names are cut to this many bytes (at a character boundary).
    pub const MAX_NAME_LEN: usize = 128;
    /// At most this many distinct names are interned per process.
    pub const MAX_NAMES: usize = 4096;
    /// The class given to new names once [`SemanticClass::MAX_NAMES`] is reached.
    pub const UNCLASSIFIED: &'static str = "Unclassified";

    /// A class of any name (an IFC entity, a 3D Tiles class, a CityJSON
    /// extension type such as `+NoiseBarrier`) in the given family. A known
    /// CityJSON name keeps its own family whatever `family` says.
    pub fn new(name: &str, family: Family) -> SemanticClass {
        if let Some(known) = SemanticClass::from_name(name) {
            return known;
        }
        let mut cut = name.trim().len().min(Self::MAX_NAME_LEN);
        while !name.trim().is_char_boundary(cut) {
            cut -= 1;
        }
        let name = &name.trim()[..cut];
        let mut set = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&s) = set.get(name) {
            return SemanticClass { name: s, family };
        }
        if set.len() >= Self::MAX_NAMES {
            tracing::warn!(
                "more than {} distinct class names: `{name}` becomes {}",
                Self::MAX_NAMES,
                Self::UNCLASSIFIED
            );
            return SemanticClass { name: Self::UNCLASSIFIED, family };
        }
        let s: &'static str = Box::leak(name.to_owned().into_boxed_str());
        set.insert(s);
        SemanticClass { name: s, family }
    }

    /// The class of a CityJSON 2.0 type name (or Sensor); `None` for any other name.
    pub fn from_name(name: &str) -> Option<SemanticClass> {
        SemanticClass::CITYJSON.iter().copied().find(|c| c.name == name)
    }

    /// The source's own class name: the CityJSON type, IFC entity or metadata class.
    pub fn name(self) -> &'static str {
        self.name
    }

    pub fn family(self) -> Family {
        self.family
    }

    /// Whether this is a building or a part of one (not its installations,
    /// rooms or elements): the classes that stand as buildings in analyses.
    pub fn is_building_or_part(self) -> bool {
        self == SemanticClass::BUILDING || self == SemanticClass::BUILDING_PART
    }
}

impl std::fmt::Display for SemanticClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for SemanticClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

/// A filter on either level: a class by name, or a family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClassFilter {
    /// The source's class name, compared exactly (`LandUse`, `IfcWall`).
    Class(String),
    Family(Family),
}

/// A family name that is not one of [`Family::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown family `{0}` (families: Building, Transport, Vegetation, Water, Terrain, Furniture, Generic, Sensor)")]
pub struct UnknownFamily(pub String);

impl ClassFilter {
    pub fn family(name: &str) -> Result<ClassFilter, UnknownFamily> {
        Family::from_name(name).map(ClassFilter::Family).ok_or_else(|| UnknownFamily(name.to_string()))
    }

    pub fn matches(&self, class: SemanticClass) -> bool {
        match self {
            ClassFilter::Class(name) => class.name() == name,
            ClassFilter::Family(f) => class.family() == *f,
        }
    }
}

impl From<SemanticClass> for ClassFilter {
    fn from(c: SemanticClass) -> Self {
        ClassFilter::Class(c.name().to_string())
    }
}

impl From<Family> for ClassFilter {
    fn from(f: Family) -> Self {
        ClassFilter::Family(f)
    }
}

impl std::fmt::Display for ClassFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassFilter::Class(c) => write!(f, "class {c}"),
            ClassFilter::Family(fam) => write!(f, "family {fam}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cityjson_2_type_keeps_its_name() {
        // The 33 CityObject types of the CityJSON 2.0 specification (section 4), plus Sensor.
        let spec = [
            "Bridge",
            "BridgePart",
            "BridgeInstallation",
            "BridgeConstructiveElement",
            "BridgeRoom",
            "BridgeFurniture",
            "Building",
            "BuildingPart",
            "BuildingInstallation",
            "BuildingConstructiveElement",
            "BuildingFurniture",
            "BuildingStorey",
            "BuildingRoom",
            "BuildingUnit",
            "CityFurniture",
            "CityObjectGroup",
            "GenericCityObject",
            "LandUse",
            "OtherConstruction",
            "PlantCover",
            "SolitaryVegetationObject",
            "TINRelief",
            "TransportSquare",
            "Railway",
            "Road",
            "Tunnel",
            "TunnelPart",
            "TunnelInstallation",
            "TunnelConstructiveElement",
            "TunnelHollowSpace",
            "TunnelFurniture",
            "WaterBody",
            "Waterway",
        ];
        assert_eq!(SemanticClass::CITYJSON.len(), spec.len() + 1);
        for name in spec {
            let c = SemanticClass::from_name(name).unwrap_or_else(|| panic!("{name} unknown"));
            assert_eq!(c.name(), name);
        }
        assert_eq!(SemanticClass::from_name("+NoiseBarrier"), None);
        assert_eq!(SemanticClass::from_name("building"), None, "type names are case-sensitive");
    }

    #[test]
    fn families_follow_cityjson_modules() {
        let fam = |n: &str| SemanticClass::from_name(n).expect(n).family();
        assert_eq!(fam("LandUse"), Family::Terrain);
        assert_eq!(fam("PlantCover"), Family::Vegetation);
        assert_eq!(fam("Waterway"), Family::Transport);
        assert_eq!(fam("WaterBody"), Family::Water);
        assert_eq!(fam("Tunnel"), Family::Transport);
        assert_eq!(fam("BuildingInstallation"), Family::Building);
        assert_eq!(fam("OtherConstruction"), Family::Generic);
        assert_ne!(SemanticClass::LAND_USE, SemanticClass::PLANT_COVER);
    }

    #[test]
    fn new_names_are_interned_and_bounded() {
        let a = SemanticClass::new("IfcSanitaryTerminal", Family::Building);
        let b = SemanticClass::new(&String::from("IfcSanitaryTerminal"), Family::Building);
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.name(), b.name()), "one copy per name");
        // A known name keeps its own family.
        assert_eq!(SemanticClass::new("WaterBody", Family::Generic).family(), Family::Water);
        let long = "é".repeat(200);
        let c = SemanticClass::new(&long, Family::Generic);
        assert!(c.name().len() <= SemanticClass::MAX_NAME_LEN && c.name().len() >= SemanticClass::MAX_NAME_LEN - 1);
        assert!(c.name().chars().all(|ch| ch == 'é'));
    }

    #[test]
    fn filters_match_either_level() {
        let land = ClassFilter::Class("LandUse".into());
        assert!(land.matches(SemanticClass::LAND_USE));
        assert!(!land.matches(SemanticClass::PLANT_COVER));
        let veg = ClassFilter::family("vegetation").expect("family");
        assert!(veg.matches(SemanticClass::PLANT_COVER));
        assert!(veg.matches(SemanticClass::SOLITARY_VEGETATION_OBJECT));
        assert!(!veg.matches(SemanticClass::LAND_USE));
        assert!(ClassFilter::family("Spaceships").is_err());
    }

    #[test]
    fn serialises_as_its_name() {
        let c = SemanticClass::new("IfcBeam", Family::Building);
        assert_eq!(serde_json::to_string(&c).expect("ser"), "\"IfcBeam\"");
    }
}
