//! The plain parse's JSON value: `serde_json::Value` as serde_json builds it without features.
//!
//! The workspace turns on serde_json's `preserve_order`, so its `Value` keeps object keys in an `IndexMap`
//! hashed with SipHash. Parsing into that is ~20 % slower than into serde_json's default `Value`, whose
//! objects are `BTreeMap`s (a 10k corpus: 6.0 s against 5.0 s), and a baseline slowed by our own feature
//! choice would flatter the capture ratio. Cargo unifies features across the workspace, so the default
//! `Value` cannot be had from serde_json itself here; this is the same type, read the same way.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value, objects in key order, like serde_json's default `Value`.
#[allow(dead_code)] // built to be dropped: the baseline only parses
pub enum PlainValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<PlainValue>),
    Object(BTreeMap<String, PlainValue>),
}

impl<'de> Deserialize<'de> for PlainValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PlainVisitor)
    }
}

struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = PlainValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<PlainValue, E> {
        Ok(PlainValue::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<PlainValue, E> {
        Ok(PlainValue::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<PlainValue, E> {
        Ok(PlainValue::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<PlainValue, E> {
        Ok(serde_json::Number::from_f64(n).map_or(PlainValue::Null, PlainValue::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<PlainValue, E> {
        Ok(PlainValue::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<PlainValue, E> {
        Ok(PlainValue::String(s))
    }

    fn visit_none<E>(self) -> Result<PlainValue, E> {
        Ok(PlainValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<PlainValue, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<PlainValue, E> {
        Ok(PlainValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PlainValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PlainValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PlainValue, A::Error> {
        let mut object = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, PlainValue>()? {
            object.insert(key, value);
        }
        Ok(PlainValue::Object(object))
    }
}
