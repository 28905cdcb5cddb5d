//! Attributes kept after their geometry left: when a streamed tile is
//! evicted, each of its features leaves the ECS, but its class and
//! attributes move here (keyed by GUID), so attribute queries still see
//! every feature that was ever loaded, and a live binding's feature can be
//! found by its attributes while its tile is away.
//!
//! The table has its own byte limit, apart from the tile budget (attributes
//! are small next to meshes); past it the oldest entries go first. A feature
//! whose tile streams back in is dropped from the table.

use std::collections::{HashMap, VecDeque};

use bevy_ecs::prelude::*;

use crate::attributes::{AttributeValue, Attributes};
use crate::components::SemanticClass;
use crate::query::FeatureQuery;

/// The class and attributes of a feature whose geometry was evicted.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    pub class: SemanticClass,
    pub attributes: Attributes,
}

/// Evicted features' attributes, by GUID (a resource of the model).
#[derive(Resource, Debug)]
pub struct RetainedAttributes {
    by_guid: HashMap<String, (Retained, u64)>,
    /// GUIDs oldest first (an entry kept again is found by its stamp).
    order: VecDeque<(String, u64)>,
    stamp: u64,
    bytes: u64,
    limit: u64,
}

impl Default for RetainedAttributes {
    fn default() -> Self {
        Self::new(Self::DEFAULT_LIMIT)
    }
}

impl RetainedAttributes {
    /// 64 MB: about half a million features of a dozen attributes.
    pub const DEFAULT_LIMIT: u64 = 64 << 20;

    pub fn new(limit: u64) -> Self {
        Self { by_guid: HashMap::new(), order: VecDeque::new(), stamp: 0, bytes: 0, limit }
    }

    /// Bytes an entry is counted as: its GUID, its attributes' keys and values, and a fixed overhead.
    fn size(guid: &str, a: &Attributes) -> u64 {
        let values: u64 =
            a.0.iter()
                .map(|(k, v)| 48 + k.len() as u64 + if let AttributeValue::String(s) = v { s.len() as u64 } else { 16 })
                .sum();
        96 + guid.len() as u64 + values
    }

    /// Keeps a feature's class and attributes (replacing what was kept under its GUID).
    pub fn keep(&mut self, guid: &str, class: SemanticClass, attributes: Attributes) {
        self.forget(guid);
        let size = Self::size(guid, &attributes);
        if size > self.limit {
            return;
        }
        self.stamp += 1;
        self.bytes += size;
        self.by_guid.insert(guid.to_string(), (Retained { class, attributes }, self.stamp));
        self.order.push_back((guid.to_string(), self.stamp));
        while self.bytes > self.limit {
            let Some((g, stamp)) = self.order.pop_front() else { break };
            if self.by_guid.get(&g).is_some_and(|(_, s)| *s == stamp) {
                self.forget(&g);
            }
        }
        // Stale order entries (forgotten or kept again) are dropped once they are most of the queue.
        if self.order.len() > 2 * self.by_guid.len() + 64 {
            let live = &self.by_guid;
            self.order.retain(|(g, s)| live.get(g).is_some_and(|(_, t)| t == s));
        }
    }

    /// Drops what was kept under `guid` (its feature is loaded again).
    pub fn forget(&mut self, guid: &str) {
        if let Some((r, _)) = self.by_guid.remove(guid) {
            self.bytes -= Self::size(guid, &r.attributes);
        }
    }

    pub fn get(&self, guid: &str) -> Option<&Retained> {
        self.by_guid.get(guid).map(|(r, _)| r)
    }

    pub fn len(&self) -> usize {
        self.by_guid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_guid.is_empty()
    }

    /// Bytes held, as counted against the limit.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The kept features a query matches, by GUID.
    pub fn query<'a>(&'a self, q: &'a FeatureQuery) -> impl Iterator<Item = (&'a str, &'a Retained)> + 'a {
        self.by_guid.iter().filter(|(_, (r, _))| q.matches(r.class, &r.attributes)).map(|(g, (r, _))| (g.as_str(), r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(n: usize) -> Attributes {
        Attributes((0..n).map(|i| (format!("k{i}"), AttributeValue::Int(i as i64))).collect())
    }

    #[test]
    fn the_limit_drops_the_oldest_first() {
        let one = RetainedAttributes::size("g0", &attrs(4));
        let mut t = RetainedAttributes::new(one * 3);
        for i in 0..5 {
            t.keep(&format!("g{i}"), SemanticClass::BUILDING, attrs(4));
            assert!(t.bytes() <= one * 3, "over the limit after {i}");
        }
        assert_eq!(t.len(), 3);
        assert!(t.get("g0").is_none() && t.get("g1").is_none());
        assert!(t.get("g2").is_some() && t.get("g4").is_some());
        // Kept again, g2 becomes the newest: the next one pushes out g3.
        t.keep("g2", SemanticClass::BUILDING, attrs(4));
        t.keep("g5", SemanticClass::BUILDING, attrs(4));
        assert!(t.get("g3").is_none() && t.get("g2").is_some());
        t.forget("g2");
        assert_eq!(t.bytes(), one * 2);
    }
}
