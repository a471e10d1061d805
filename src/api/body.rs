//! Request bodies that must be JSON objects.
//!
//! serde's derived `Deserialize` also reads a struct from an array of its fields in order, so
//! `["http://127.0.0.1:5001"]` would pass for `{"node": "http://127.0.0.1:5001"}`. No client means
//! that, and taking it would hide a mistake; [`Object`] accepts the object form only.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A `T` read from a JSON object and nothing else.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OnlyMaps<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OnlyMaps<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(OnlyMaps(PhantomData)).map(Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Request {
        node: String,
    }

    #[test]
    fn only_the_object_form_is_read() {
        let Object(r) = serde_json::from_str::<Object<Request>>(r#"{"node": "x"}"#).unwrap();
        assert_eq!(r, Request { node: "x".into() });
        let err = serde_json::from_str::<Object<Request>>(r#"["x"]"#)
            .err()
            .unwrap();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        assert!(
            serde_json::from_str::<Request>(r#"["x"]"#).is_ok(),
            "serde reads arrays"
        );
    }
}
