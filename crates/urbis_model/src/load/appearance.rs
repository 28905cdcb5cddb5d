//! Default appearance: the colour and material a surface gets from its
//! feature's class, its semantic surface type and its attributes, when the
//! source carries no material of its own.

use crate::mesh::Material;
use crate::{Attributes, Family, SemanticClass};

/// A small stable hash of a string (FNV-1a), for per-feature colour variation.
pub fn stable_hash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

fn vary(rgb: [u8; 3], seed: u32, amount: f32) -> [u8; 4] {
    let t = ((seed % 1000) as f32 / 999.0 - 0.5) * 2.0 * amount;
    let c = |v: u8| ((v as f32) * (1.0 + t)).clamp(0.0, 255.0) as u8;
    [c(rgb[0]), c(rgb[1]), c(rgb[2]), 255]
}

/// Colour and material of one surface.
pub fn surface_appearance(
    class: SemanticClass,
    semantic: Option<&str>,
    attrs: &Attributes,
    guid: &str,
) -> ([u8; 4], Material) {
    let seed = stable_hash(guid);
    if class.family() == Family::Building {
        return building_appearance(semantic, attrs, seed);
    }
    match class {
        SemanticClass::ROAD | SemanticClass::TRANSPORT_SQUARE => ([78, 80, 84, 255], Material::Road),
        SemanticClass::RAILWAY => ([110, 100, 90, 255], Material::Plain),
        SemanticClass::WATERWAY => ([52, 98, 128, 255], Material::Water),
        SemanticClass::PLANT_COVER => (vary([96, 140, 66], seed, 0.06), Material::Foliage),
        SemanticClass::SOLITARY_VEGETATION_OBJECT => (vary([62, 112, 48], seed, 0.15), Material::Foliage),
        SemanticClass::LAND_USE => (vary([168, 164, 120], seed, 0.05), Material::Terrain),
        _ => match class.family() {
            // Bridges, tunnels and their parts.
            Family::Transport => ([132, 130, 124, 255], Material::Plain),
            Family::Water => ([52, 98, 128, 255], Material::Water),
            Family::Vegetation => (vary([80, 128, 58], seed, 0.10), Material::Foliage),
            Family::Terrain => ([120, 140, 92, 255], Material::Terrain),
            Family::Furniture => ([90, 90, 96, 255], Material::Plain),
            Family::Sensor => ([255, 140, 0, 255], Material::Plain),
            Family::Generic | Family::Building => ([180, 180, 180, 255], Material::Plain),
        },
    }
}

/// Buildings, their parts, installations and (for IFC) elements: façades by use, roofs by shape.
fn building_appearance(semantic: Option<&str>, attrs: &Attributes, seed: u32) -> ([u8; 4], Material) {
    let usage = attrs.str("use").or_else(|| attrs.str("function")).unwrap_or("");
    match semantic {
        Some("RoofSurface") => {
            let pitched = attrs.str("roof_type").is_some_and(|r| r != "flat");
            if pitched {
                (vary([150, 78, 60], seed, 0.12), Material::Roof)
            } else {
                (vary([138, 136, 130], seed, 0.10), Material::Roof)
            }
        }
        Some("GroundSurface") => ([70, 70, 70, 255], Material::Plain),
        _ => {
            let base = match usage {
                "residential" => [214, 196, 170],
                "commercial" => [160, 178, 196],
                "office" => [128, 152, 180],
                "industrial" => [184, 178, 166],
                "public" => [206, 170, 132],
                _ => [205, 200, 192],
            };
            (vary(base, seed, 0.08), Material::Facade)
        }
    }
}

/// Tree trunks: the low part of a vegetation object is bark-coloured.
pub const TRUNK: [u8; 4] = [96, 72, 52, 255];
