//! Typed feature attributes: string, integer, float, boolean and date.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use bevy_ecs::component::Component;
use serde::{Deserialize, Serialize};

/// A calendar date (proleptic Gregorian), as attributes carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking the day against the month's length.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (year, month, day) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum AttributeValue {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(Date),
}

impl AttributeValue {
    /// The value as a number, for integers and floats.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttributeValue::Int(i) => Some(*i as f64),
            AttributeValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Orders numbers with numbers, dates with dates, strings with strings.
    pub fn partial_cmp_value(&self, other: &AttributeValue) -> Option<Ordering> {
        match (self, other) {
            (AttributeValue::String(a), AttributeValue::String(b)) => Some(a.cmp(b)),
            (AttributeValue::Date(a), AttributeValue::Date(b)) => Some(a.cmp(b)),
            (AttributeValue::Bool(a), AttributeValue::Bool(b)) => Some(a.cmp(b)),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }

    /// Converts a JSON value: strings that are ISO dates become dates; arrays
    /// and objects are kept as their JSON text; null gives `None`.
    pub fn from_json(v: &serde_json::Value) -> Option<AttributeValue> {
        use serde_json::Value;
        Some(match v {
            Value::Null => return None,
            Value::Bool(b) => AttributeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => AttributeValue::Int(i),
                None => AttributeValue::Float(n.as_f64()?),
            },
            Value::String(s) => match Date::parse_iso(s) {
                Some(d) => AttributeValue::Date(d),
                None => AttributeValue::String(s.clone()),
            },
            other => AttributeValue::String(other.to_string()),
        })
    }

    /// The value as plain JSON (dates as ISO strings).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttributeValue::String(s) => s.clone().into(),
            AttributeValue::Int(i) => (*i).into(),
            AttributeValue::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            AttributeValue::Bool(b) => (*b).into(),
            AttributeValue::Date(d) => d.to_string().into(),
        }
    }

    /// The name of the value's type.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::String(_) => "string",
            AttributeValue::Int(_) => "int",
            AttributeValue::Float(_) => "float",
            AttributeValue::Bool(_) => "bool",
            AttributeValue::Date(_) => "date",
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::String(s) => f.write_str(s),
            AttributeValue::Int(i) => write!(f, "{i}"),
            AttributeValue::Float(x) => write!(f, "{x}"),
            AttributeValue::Bool(b) => write!(f, "{b}"),
            AttributeValue::Date(d) => write!(f, "{d}"),
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::String(s.to_string())
    }
}
impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::String(s)
    }
}
impl From<i64> for AttributeValue {
    fn from(i: i64) -> Self {
        AttributeValue::Int(i)
    }
}
impl From<f64> for AttributeValue {
    fn from(x: f64) -> Self {
        AttributeValue::Float(x)
    }
}
impl From<bool> for AttributeValue {
    fn from(b: bool) -> Self {
        AttributeValue::Bool(b)
    }
}
impl From<Date> for AttributeValue {
    fn from(d: Date) -> Self {
        AttributeValue::Date(d)
    }
}

/// The attributes of a feature, by name.
#[derive(Component, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attributes(pub BTreeMap<String, AttributeValue>);

impl Attributes {
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.0.get(key)
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<AttributeValue>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<AttributeValue>) -> Self {
        self.insert(key, value);
        self
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(AttributeValue::as_f64)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(AttributeValue::as_str)
    }

    /// All attributes as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Date::parse_iso("2024-02-29"), Some(Date { year: 2024, month: 2, day: 29 }));
        assert_eq!(Date::parse_iso("2023-02-29"), None);
        assert_eq!(Date::parse_iso("2023-13-01"), None);
        assert_eq!(Date::parse_iso("23-01-01"), None);
    }

    #[test]
    fn json_values_become_typed() {
        let v = serde_json::json!({"a": 1, "b": 2.5, "c": "x", "d": true, "e": "1999-12-31", "f": [1, 2], "g": null});
        let map = v.as_object().unwrap();
        let t = |k: &str| AttributeValue::from_json(&map[k]);
        assert_eq!(t("a"), Some(AttributeValue::Int(1)));
        assert_eq!(t("b"), Some(AttributeValue::Float(2.5)));
        assert_eq!(t("c"), Some(AttributeValue::String("x".into())));
        assert_eq!(t("d"), Some(AttributeValue::Bool(true)));
        assert_eq!(t("e").unwrap().type_name(), "date");
        assert_eq!(t("f"), Some(AttributeValue::String("[1,2]".into())));
        assert_eq!(t("g"), None);
        assert_eq!(AttributeValue::Int(3).partial_cmp_value(&AttributeValue::Float(2.5)), Some(Ordering::Greater));
        assert_eq!(AttributeValue::Int(3).partial_cmp_value(&"x".into()), None);
    }
}
