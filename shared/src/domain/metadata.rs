//! The product's own data on an invitation (`Metadata`): a small JSON object rsvp keeps and hands back on every read,
//! in every event and on acceptance, and never interprets (Clerk's `public_metadata`, Auth0's `app_metadata`).
//!
//! Bounded so an invitation stays small: at most [`MAX_METADATA_BYTES`] as compact JSON, [`MAX_METADATA_KEYS`] keys
//! counted in every object it holds, and [`MAX_METADATA_DEPTH`] levels of objects and arrays (the object itself is
//! the first).
//!
//! Stored as its JSON text, so every store gives back exactly what it was given: DynamoDB's numbers would not
//! round-trip through an untyped map (an integer can come back a float).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub const MAX_METADATA_BYTES: usize = 4 * 1024;
pub const MAX_METADATA_KEYS: usize = 50;
pub const MAX_METADATA_DEPTH: usize = 3;

/// A checked metadata object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata(Map<String, Value>);

/// Why a `Metadata` value was refused; the text names the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("Metadata must be a JSON object.")]
    NotAnObject,
    #[error("Metadata is {0} bytes as JSON; at most {MAX_METADATA_BYTES} are kept.")]
    TooLarge(usize),
    #[error("Metadata has {0} keys; at most {MAX_METADATA_KEYS} are kept, counting those of nested objects.")]
    TooManyKeys(usize),
    #[error("Metadata nests {0} levels deep; at most {MAX_METADATA_DEPTH} (the object itself is the first).")]
    TooDeep(usize),
}

impl Metadata {
    /// Checks `value` against the limits; `null` means none.
    pub fn parse(value: Value) -> Result<Option<Self>, MetadataError> {
        let object = match value {
            Value::Null => return Ok(None),
            Value::Object(object) => object,
            _ => return Err(MetadataError::NotAnObject),
        };
        let value = Value::Object(object);
        let bytes = value.to_string().len();
        if bytes > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge(bytes));
        }
        let depth = depth(&value);
        if depth > MAX_METADATA_DEPTH {
            return Err(MetadataError::TooDeep(depth));
        }
        let keys = keys(&value);
        if keys > MAX_METADATA_KEYS {
            return Err(MetadataError::TooManyKeys(keys));
        }
        let Value::Object(object) = value else { unreachable!("checked to be an object above") };
        Ok(Some(Self(object)))
    }

    /// The object, as given.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The object as a JSON value, for an answer or an event.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// Levels of objects and arrays: a scalar is 0, `{}` 1, `{"a": []}` 2.
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Keys of every object within.
fn keys(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.len() + map.values().map(keys).sum::<usize>(),
        Value::Array(items) => items.iter().map(keys).sum(),
        _ => 0,
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Value::Object(self.0.clone()).to_string())
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match serde_json::from_str(&text).map_err(serde::de::Error::custom)? {
            Value::Object(object) => Ok(Self(object)),
            _ => Err(serde::de::Error::custom("stored metadata is not a JSON object")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_object_within_the_limits_is_kept_as_given_and_round_trips_as_text() {
        let given = json!({"plan": "pro", "seats": 3, "ratio": 0.5, "tags": ["a", {"b": 1}], "ok": true});
        let metadata = Metadata::parse(given.clone()).unwrap().unwrap();
        assert_eq!(metadata.to_value(), given);
        let stored = serde_json::to_value(&metadata).unwrap();
        assert!(stored.is_string(), "kept as its text: {stored}");
        assert_eq!(serde_json::from_value::<Metadata>(stored).unwrap(), metadata);
        assert_eq!(Metadata::parse(Value::Null).unwrap(), None);
    }

    #[test]
    fn each_limit_is_enforced_at_its_edge() {
        assert_eq!(Metadata::parse(json!([1])), Err(MetadataError::NotAnObject));
        assert_eq!(Metadata::parse(json!("x")), Err(MetadataError::NotAnObject));
        // Bytes: `{"k":"…"}` is 8 bytes around the string.
        let fits = json!({"k": "x".repeat(MAX_METADATA_BYTES - 8)});
        assert!(Metadata::parse(fits).is_ok());
        let over = json!({"k": "x".repeat(MAX_METADATA_BYTES - 7)});
        assert_eq!(Metadata::parse(over), Err(MetadataError::TooLarge(MAX_METADATA_BYTES + 1)));
        // Keys, nested ones counted.
        let mut map = Map::new();
        for i in 0..MAX_METADATA_KEYS - 1 {
            map.insert(format!("k{i}"), json!(i));
        }
        map.insert("inner".into(), json!({}));
        assert!(Metadata::parse(Value::Object(map.clone())).is_ok(), "exactly the limit");
        map.insert("inner".into(), json!({"one": 1}));
        assert_eq!(Metadata::parse(Value::Object(map)), Err(MetadataError::TooManyKeys(MAX_METADATA_KEYS + 1)));
        // Depth: the object, an array in it, an object in that.
        assert!(Metadata::parse(json!({"a": [{"b": 1}]})).is_ok());
        assert_eq!(Metadata::parse(json!({"a": [{"b": [1]}]})), Err(MetadataError::TooDeep(4)));
    }
}
