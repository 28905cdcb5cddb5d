//! Transforms between coordinate reference systems named by EPSG code.
//!
//! Horizontal transforms go through PROJ (the `proj` crate, built from source
//! with `bundled_proj`). PROJ's safe API is two-dimensional, so heights are
//! carried through unchanged: they are ellipsoidal heights in every CRS we
//! accept. EPSG:4978 (ECEF) is handled in closed form on top of geographic
//! WGS84, which keeps the height in the transform.

use glam::DVec3;
use proj::Proj;

use crate::{Ellipsoid, Epsg, GeoError, Geodetic};

/// How a [`CrsTransform`] gets from source to target.
enum Plan {
    Identity,
    /// A PROJ pipeline (x, y); z passes through.
    Proj(Proj),
    /// Source → WGS84 geographic (PROJ, or nothing) → ECEF (closed form).
    ToEcef(Option<Proj>),
    /// ECEF → WGS84 geographic (closed form) → target (PROJ, or nothing).
    FromEcef(Option<Proj>),
}

/// A transform between two EPSG CRSs. Coordinates are (x, y, z) in the CRS's
/// normalised axis order: longitude first for geographic CRSs, easting first
/// for projected ones, metres for ECEF.
pub struct CrsTransform {
    from: Epsg,
    to: Epsg,
    plan: Plan,
}

impl std::fmt::Debug for CrsTransform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrsTransform({} → {})", self.from, self.to)
    }
}

fn make_proj(from: Epsg, to: Epsg, report: (Epsg, Epsg)) -> Result<Proj, GeoError> {
    Proj::new_known_crs(&from.auth(), &to.auth(), None).map_err(|e| GeoError::CreateTransform {
        from: report.0.0,
        to: report.1.0,
        reason: e.to_string(),
    })
}

impl CrsTransform {
    /// Builds a transform from `from` to `to`. Fails with the codes named when
    /// PROJ does not know a code or cannot relate the two.
    pub fn new(from: Epsg, to: Epsg) -> Result<Self, GeoError> {
        let plan = if from == to {
            Plan::Identity
        } else if to == Epsg::ECEF {
            Plan::ToEcef((from != Epsg::WGS84).then(|| make_proj(from, Epsg::WGS84, (from, to))).transpose()?)
        } else if from == Epsg::ECEF {
            Plan::FromEcef((to != Epsg::WGS84).then(|| make_proj(Epsg::WGS84, to, (from, to))).transpose()?)
        } else {
            Plan::Proj(make_proj(from, to, (from, to))?)
        };
        Ok(Self { from, to, plan })
    }

    pub fn source(&self) -> Epsg {
        self.from
    }

    pub fn target(&self) -> Epsg {
        self.to
    }

    fn run_proj(&self, proj: &Proj, x: f64, y: f64) -> Result<(f64, f64), GeoError> {
        if !(x.is_finite() && y.is_finite()) {
            return Err(GeoError::InvalidCoordinate(format!("non-finite input ({x}, {y}) in {}", self.from)));
        }
        let (ox, oy) = proj.convert((x, y)).map_err(|e| GeoError::Transform {
            from: self.from.0,
            to: self.to.0,
            x,
            y,
            reason: e.to_string(),
        })?;
        if !(ox.is_finite() && oy.is_finite()) {
            return Err(GeoError::Transform {
                from: self.from.0,
                to: self.to.0,
                x,
                y,
                reason: "result is not finite (outside the CRS's area of use?)".into(),
            });
        }
        Ok((ox, oy))
    }

    /// Transforms one coordinate.
    pub fn transform(&self, p: DVec3) -> Result<DVec3, GeoError> {
        match &self.plan {
            Plan::Identity => Ok(p),
            Plan::Proj(proj) => {
                let (x, y) = self.run_proj(proj, p.x, p.y)?;
                Ok(DVec3::new(x, y, p.z))
            }
            Plan::ToEcef(proj) => {
                let (lon, lat) = match proj {
                    Some(proj) => self.run_proj(proj, p.x, p.y)?,
                    None => (p.x, p.y),
                };
                let g = Geodetic::new(lon, lat, p.z);
                g.validate()?;
                Ok(Ellipsoid::WGS84.geodetic_to_ecef(g))
            }
            Plan::FromEcef(proj) => {
                if !p.is_finite() {
                    return Err(GeoError::InvalidCoordinate(format!("non-finite ECEF {p}")));
                }
                let g = Ellipsoid::WGS84.ecef_to_geodetic(p);
                let (x, y) = match proj {
                    Some(proj) => self.run_proj(proj, g.lon_deg, g.lat_deg)?,
                    None => (g.lon_deg, g.lat_deg),
                };
                Ok(DVec3::new(x, y, g.height))
            }
        }
    }

    /// Transforms many coordinates in place; stops at the first failure and
    /// reports its index.
    pub fn transform_all(&self, points: &mut [DVec3]) -> Result<(), (usize, GeoError)> {
        for (i, p) in points.iter_mut().enumerate() {
            *p = self.transform(*p).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Transforms a geographic position in `crs` (lon, lat, ellipsoidal h) or any
/// projected position to geodetic WGS84.
pub fn to_geodetic(crs: Epsg, p: DVec3) -> Result<Geodetic, GeoError> {
    let t = CrsTransform::new(crs, Epsg::WGS84)?;
    let q = t.transform(p)?;
    Ok(Geodetic::new(q.x, q.y, q.z))
}
