//! EPSG codes (no PROJ needed to name a CRS).

/// An EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Epsg(pub u32);

impl Epsg {
    /// WGS84 geographic, longitude/latitude in degrees (axis order normalised to lon, lat).
    pub const WGS84: Epsg = Epsg(4326);
    /// CGCS2000 geographic (China Geodetic Coordinate System 2000).
    pub const CGCS2000: Epsg = Epsg(4490);
    /// WGS84 Earth-centred, Earth-fixed, metres.
    pub const ECEF: Epsg = Epsg(4978);
    /// CGCS2000 / 3-degree Gauss-Krüger CM 114E (eastings without zone prefix).
    pub const CGCS2000_GK_CM_114E: Epsg = Epsg(4547);
    /// CGCS2000 / 3-degree Gauss-Krüger CM 117E (eastings without zone prefix).
    pub const CGCS2000_GK_CM_117E: Epsg = Epsg(4548);

    /// WGS84 / UTM zone `zone` north (EPSG:326zz).
    pub const fn utm_north(zone: u8) -> Epsg {
        Epsg(32600 + zone as u32)
    }

    /// WGS84 / UTM zone `zone` south (EPSG:327zz).
    pub const fn utm_south(zone: u8) -> Epsg {
        Epsg(32700 + zone as u32)
    }

    /// The CGCS2000 3-degree Gauss-Krüger CRS (without zone prefix) whose central
    /// meridian is nearest to `lon_deg`: EPSG:4534 (CM 75E) ... EPSG:4554 (CM 135E).
    pub fn cgcs2000_gk3_for_longitude(lon_deg: f64) -> Option<Epsg> {
        let cm = (lon_deg / 3.0).round() * 3.0;
        if !(75.0..=135.0).contains(&cm) {
            return None;
        }
        Some(Epsg(4534 + ((cm - 75.0) / 3.0) as u32))
    }

    pub fn is_geographic(self) -> bool {
        matches!(self.0, 4326 | 4490 | 4258 | 4269 | 4283 | 4171)
    }

    #[cfg_attr(not(feature = "proj"), allow(dead_code))]
    pub(crate) fn auth(self) -> String {
        format!("EPSG:{}", self.0)
    }
}

impl std::fmt::Display for Epsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EPSG:{}", self.0)
    }
}
