//! A small attribute-query API: "residential buildings taller than 50 m".
//!
//! ```
//! use urbis_model::{FeatureQuery, SemanticClass};
//! let q = FeatureQuery::new().class(SemanticClass::BUILDING).eq("use", "residential").gt("height", 50i64);
//! let same = FeatureQuery::parse("class = Building and use = residential and height > 50").unwrap();
//! assert_eq!(q, same);
//! // Either level of the classification: the source's class or its family.
//! let green = FeatureQuery::parse("family = Vegetation").unwrap();
//! let land = FeatureQuery::parse("class = LandUse").unwrap();
//! # let _ = (green, land);
//! ```

use std::cmp::Ordering;

use crate::attributes::{AttributeValue, Attributes};
use crate::class::{ClassFilter, Family, SemanticClass};

/// A comparison on one attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Exists(String),
    Compare { key: String, op: CompareOp, value: AttributeValue },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    fn accepts(self, o: Ordering) -> bool {
        match self {
            CompareOp::Eq => o == Ordering::Equal,
            CompareOp::Ne => o != Ordering::Equal,
            CompareOp::Lt => o == Ordering::Less,
            CompareOp::Le => o != Ordering::Greater,
            CompareOp::Gt => o == Ordering::Greater,
            CompareOp::Ge => o != Ordering::Less,
        }
    }
}

/// A conjunction of class filters and attribute predicates. Class names
/// accept any of theirs, families any of theirs, and a feature must pass
/// both levels: `family = Building and class = BuildingPart` is parts only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureQuery {
    /// Source class names (`LandUse`, `IfcWall`); empty accepts every class.
    pub classes: Vec<String>,
    /// Families; empty accepts every family.
    pub families: Vec<Family>,
    pub predicates: Vec<Predicate>,
}

/// A query string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query term {index} `{term}`: {msg}")]
pub struct QueryParseError {
    pub index: usize,
    pub term: String,
    pub msg: String,
}

impl FeatureQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Restricts to a class (several calls accept any of them).
    pub fn class(self, c: SemanticClass) -> Self {
        self.class_name(c.name())
    }

    /// Restricts to a class by its source name, known to Urbis or not (`IfcBeam`).
    pub fn class_name(mut self, name: &str) -> Self {
        self.classes.push(name.to_string());
        self
    }

    /// Restricts to a family (several calls accept any of them).
    pub fn family(mut self, f: Family) -> Self {
        self.families.push(f);
        self
    }

    /// Restricts by either level.
    pub fn filter(self, f: ClassFilter) -> Self {
        match f {
            ClassFilter::Class(name) => self.class_name(&name),
            ClassFilter::Family(fam) => self.family(fam),
        }
    }

    pub fn exists(mut self, key: &str) -> Self {
        self.predicates.push(Predicate::Exists(key.into()));
        self
    }

    pub fn compare(mut self, key: &str, op: CompareOp, value: impl Into<AttributeValue>) -> Self {
        self.predicates.push(Predicate::Compare { key: key.into(), op, value: value.into() });
        self
    }

    pub fn eq(self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.compare(key, CompareOp::Eq, value)
    }

    pub fn gt(self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.compare(key, CompareOp::Gt, value)
    }

    pub fn lt(self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.compare(key, CompareOp::Lt, value)
    }

    /// Whether a feature of this class with these attributes matches.
    pub fn matches(&self, class: SemanticClass, attrs: &Attributes) -> bool {
        if !self.classes.is_empty() && !self.classes.iter().any(|c| c == class.name()) {
            return false;
        }
        if !self.families.is_empty() && !self.families.contains(&class.family()) {
            return false;
        }
        self.predicates.iter().all(|p| match p {
            Predicate::Exists(k) => attrs.get(k).is_some(),
            Predicate::Compare { key, op, value } => {
                attrs.get(key).and_then(|v| v.partial_cmp_value(value)).is_some_and(|o| op.accepts(o))
            }
        })
    }

    /// Parses `term and term and ...`, each term `key OP value` with OP one of
    /// `= != < <= > >=`, or a bare `key` (exists). `class = LandUse` filters
    /// by the source's class (any name: CityJSON types, IFC entities, 3D
    /// Tiles classes), `family = Vegetation` by family. Values parse as int, float, bool, ISO date, else string
    /// (quotes optional).
    pub fn parse(s: &str) -> Result<FeatureQuery, QueryParseError> {
        let mut q = FeatureQuery::new();
        if s.trim().is_empty() {
            return Ok(q);
        }
        for (index, term) in split_and(s).into_iter().enumerate() {
            let err = |msg: &str| QueryParseError { index, term: term.to_string(), msg: msg.into() };
            let ops = [
                ("<=", CompareOp::Le),
                (">=", CompareOp::Ge),
                ("!=", CompareOp::Ne),
                ("=", CompareOp::Eq),
                ("<", CompareOp::Lt),
                (">", CompareOp::Gt),
            ];
            let found = ops
                .iter()
                .filter_map(|(tok, op)| term.find(tok).map(|i| (i, *tok, *op)))
                .min_by_key(|(i, t, _)| (*i, std::cmp::Reverse(t.len())));
            let Some((i, tok, op)) = found else {
                let key = term.trim();
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return Err(err("expected `key OP value` or a bare key"));
                }
                q = q.exists(key);
                continue;
            };
            let key = term[..i].trim();
            let raw = term[i + tok.len()..].trim().trim_matches(|c| c == '"' || c == '\'');
            if key.is_empty() || raw.is_empty() {
                return Err(err("empty key or value"));
            }
            if key == "class" {
                if op != CompareOp::Eq {
                    return Err(err("class only supports `=`"));
                }
                if raw.contains(char::is_whitespace) {
                    return Err(err("a class name has no spaces"));
                }
                q = q.class_name(raw);
                continue;
            }
            if key == "family" {
                if op != CompareOp::Eq {
                    return Err(err("family only supports `=`"));
                }
                q = q.filter(ClassFilter::family(raw).map_err(|e| err(&e.to_string()))?);
                continue;
            }
            q = q.compare(key, op, parse_value(raw));
        }
        Ok(q)
    }
}

fn split_and(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let lower = rest.to_ascii_lowercase();
        match lower.find(" and ") {
            Some(i) => {
                out.push(rest[..i].trim());
                rest = &rest[i + 5..];
            }
            None => {
                out.push(rest.trim());
                return out;
            }
        }
    }
}

fn parse_value(raw: &str) -> AttributeValue {
    if let Ok(i) = raw.parse::<i64>() {
        AttributeValue::Int(i)
    } else if let Ok(f) = raw.parse::<f64>() {
        AttributeValue::Float(f)
    } else if let Ok(b) = raw.parse::<bool>() {
        AttributeValue::Bool(b)
    } else if let Some(d) = crate::Date::parse_iso(raw) {
        AttributeValue::Date(d)
    } else {
        AttributeValue::String(raw.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_filter_by_type_and_value() {
        let a = Attributes::default().with("use", "residential").with("height", 62.5).with("floors", 20i64);
        let q = FeatureQuery::new().class(SemanticClass::BUILDING).eq("use", "residential").gt("height", 50i64);
        assert!(q.matches(SemanticClass::BUILDING, &a));
        assert!(!q.matches(SemanticClass::ROAD, &a));
        assert!(!FeatureQuery::new().gt("height", 70.0).matches(SemanticClass::BUILDING, &a));
        assert!(
            !FeatureQuery::new().gt("use", 3i64).matches(SemanticClass::BUILDING, &a),
            "string vs number never matches"
        );
        assert!(FeatureQuery::parse("floors >= 20 and height<=62.5").unwrap().matches(SemanticClass::BUILDING, &a));
        assert!(!FeatureQuery::parse("missing").unwrap().matches(SemanticClass::BUILDING, &a));
    }

    #[test]
    fn class_and_family_are_two_levels() {
        let a = Attributes::default();
        let land = FeatureQuery::parse("class = LandUse").unwrap();
        assert!(land.matches(SemanticClass::LAND_USE, &a));
        assert!(!land.matches(SemanticClass::PLANT_COVER, &a));
        let veg = FeatureQuery::parse("family = Vegetation").unwrap();
        assert!(veg.matches(SemanticClass::PLANT_COVER, &a));
        assert!(veg.matches(SemanticClass::SOLITARY_VEGETATION_OBJECT, &a));
        assert!(!veg.matches(SemanticClass::LAND_USE, &a));
        let wall = SemanticClass::new("IfcWall", Family::Building);
        assert!(FeatureQuery::parse("class = IfcWall").unwrap().matches(wall, &a));
        assert!(FeatureQuery::parse("family = Building").unwrap().matches(wall, &a));
        assert!(!FeatureQuery::parse("class = Building").unwrap().matches(wall, &a));
        let parts = FeatureQuery::parse("family = Building and class = BuildingPart").unwrap();
        assert!(parts.matches(SemanticClass::BUILDING_PART, &a));
        assert!(!parts.matches(SemanticClass::BUILDING, &a));
        assert!(!parts.matches(wall, &a));
        let either = FeatureQuery::parse("class = Road and class = Railway").unwrap();
        assert!(either.matches(SemanticClass::RAILWAY, &a) && !either.matches(SemanticClass::BRIDGE, &a));
    }

    #[test]
    fn bad_queries_are_errors() {
        let e = FeatureQuery::parse("family = Spaceship").unwrap_err();
        assert!(e.msg.contains("unknown family"), "{e}");
        assert!(FeatureQuery::parse("class = Space ship").is_err());
        assert!(FeatureQuery::parse("class > Building").is_err());
        assert!(FeatureQuery::parse("a b c").is_err());
        assert!(FeatureQuery::parse("height >").is_err());
    }
}
