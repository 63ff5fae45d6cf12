//! Lenient field readers for agents' records, which are read in one pass without a `serde_json::Value`.
//!
//! A native record is read leniently: a field of an unexpected type reads as absent, as it would in a walk
//! over a `Value`, instead of failing the whole record. These wrappers give typed structs that leniency.
//! Whatever they do not keep is skipped with `IgnoredAny`, which allocates nothing.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Any JSON value: a string is read as one, anything else is kept as JSON.
#[derive(Debug)]
pub(crate) enum Field {
    Str(String),
    Json(Value),
}

impl Field {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Str(s) => Value::String(s),
            Self::Json(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Field, E> {
        Ok(Field::Str(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Field, E> {
        Ok(Field::Str(s))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Field, E> {
        Ok(Field::Json(Value::Bool(b)))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Field, E> {
        Ok(Field::Json(n.into()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Field, E> {
        Ok(Field::Json(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Field, E> {
        Ok(Field::Json(n.into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Json(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Json(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Field::Json)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Field::Json)
    }
}

/// For `#[serde(default, deserialize_with = "lenient::given")] field: Option<Field>`: a field that is present
/// is `Some`, even when it is `null` (serde's own `Option` reads `null` as `None`).
pub(crate) fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Field>, D::Error> {
    Field::deserialize(deserializer).map(Some)
}

/// A string or a number; anything else (null, a boolean, an array, an object, a missing field) is `Absent`
/// and, if it is an array or an object, skipped unread.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Scalar {
    #[default]
    Absent,
    Null,
    Str(String),
    Unsigned(u64),
    Signed(i64),
    Other,
}

impl Scalar {
    /// The string, as `Value::as_str` would give it.
    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, as `Value::as_u64` would give it.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Unsigned(n) => Some(n),
            _ => None,
        }
    }

    /// The number, as `Value::as_i64` would give it.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Signed(n) => Some(n),
            Self::Unsigned(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(s))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar::Signed(n))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
                skip_seq(seq).map(|()| Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
                skip_map(map).map(|()| Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Whether a field is present and not `null`; its value, of any type, is skipped unread. For large fields of
/// which only the presence matters (Codex's `encrypted_content`: a fifth of a rollout's bytes), which a
/// [`Scalar`] would copy.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Given(pub(crate) bool);

impl<'de> Deserialize<'de> for Given {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `null` is `None`; anything else is `Some`, skipped by `IgnoredAny`, which copies no string.
        Option::<de::IgnoredAny>::deserialize(deserializer).map(|value| Given(value.is_some()))
    }
}

/// The elements of an array; anything else reads as no elements. The elements should be lenient too.
#[derive(Debug)]
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// An object read as `T` (a struct of lenient fields); anything else reads as `None`.
#[derive(Debug)]
pub(crate) struct Object<T>(pub(crate) Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Self(None)
    }
}

/// What `List` and `Object` read, by the JSON type they are given.
trait Shape<'de>: Sized + Default {
    fn from_seq<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        skip_seq(seq).map(|()| Self::default())
    }
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        skip_map(map).map(|()| Self::default())
    }
}

impl<'de, T: Deserialize<'de>> Shape<'de> for List<T> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Self(items))
    }
}

impl<'de, T: Deserialize<'de>> Shape<'de> for Object<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Self(Some(t)))
    }
}

struct ShapeVisitor<S>(PhantomData<S>);

impl<'de, S: Shape<'de>> Visitor<'de> for ShapeVisitor<S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_none<E: de::Error>(self) -> Result<S, E> {
        Ok(S::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<S, A::Error> {
        S::from_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S, A::Error> {
        S::from_map(map)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor(PhantomData))
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Part {
        text: Scalar,
        n: Scalar,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Record {
        name: Scalar,
        parts: List<Object<Part>>,
        inner: Object<Part>,
        raw: Option<Field>,
    }

    fn read(v: Value) -> Record {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn fields_of_the_expected_type_are_kept() {
        let r = read(json!({"name": "x", "parts": [{"text": "a", "n": 3}, {"n": -4}], "inner": {"text": "i"},
                            "raw": {"k": [1]}}));
        assert_eq!(r.name.as_str(), Some("x"));
        let parts: Vec<&Part> = r.parts.0.iter().filter_map(|p| p.0.as_ref()).collect();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].text.as_str(), parts[0].n.as_u64(), parts[0].n.as_i64()), (Some("a"), Some(3), Some(3)));
        assert_eq!((parts[1].n.as_u64(), parts[1].n.as_i64()), (None, Some(-4)));
        assert_eq!(r.inner.0.and_then(|p| p.text.into_string()), Some("i".to_owned()));
        assert_eq!(r.raw.map(Field::into_value), Some(json!({"k": [1]})));
    }

    #[test]
    fn fields_of_another_type_read_as_absent() {
        let r = read(json!({"name": {"deep": [1, {"x": 2}]}, "parts": "no", "inner": [1, 2], "extra": {"a": 1}}));
        assert_eq!(r.name, Scalar::Other);
        assert_eq!(r.name.as_str(), None);
        assert!(r.parts.0.is_empty());
        assert!(r.inner.0.is_none());
        let r = read(json!({"parts": [7, "s", null, {"text": 1.5}]}));
        assert_eq!(r.parts.0.len(), 4);
        assert!(r.parts.0[..3].iter().all(|p| p.0.is_none()));
        assert_eq!(r.parts.0[3].0.as_ref().map(|p| p.text.as_str()), Some(None));
    }

    #[test]
    fn null_missing_and_other_types_are_told_apart() {
        assert_eq!(read(json!({"name": null})).name, Scalar::Null);
        assert_eq!(read(json!({})).name, Scalar::Absent);
        assert_eq!(read(json!({"name": false})).name, Scalar::Other);
        assert_eq!(read(json!({"name": u64::MAX})).name.as_i64(), None);
    }

    #[test]
    fn given_is_any_value_but_null_and_reads_from_json_text_too() {
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct Flags {
            blob: Given,
            after: Scalar,
        }
        let given = |raw: &str| -> (bool, Option<String>) {
            let f: Flags = serde_json::from_str(raw).unwrap();
            (f.blob.0, f.after.into_string())
        };
        let after = Some("x".to_owned());
        assert_eq!(given(r#"{"blob": "gAAAA\"escaped\"", "after": "x"}"#), (true, after.clone()));
        assert_eq!(given(r#"{"blob": {"a": [1, {"b": null}]}, "after": "x"}"#), (true, after.clone()));
        assert_eq!(given(r#"{"blob": false, "after": "x"}"#), (true, after.clone()));
        assert_eq!(given(r#"{"blob": null, "after": "x"}"#), (false, after.clone()));
        assert_eq!(given(r#"{"after": "x"}"#), (false, after));
        assert!(serde_json::from_str::<Flags>(r#"{"blob": "unterminated}"#).is_err(), "skipped, still checked");
    }
}
