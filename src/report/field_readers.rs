//! How the model's fields are read from JSON where serde's derives would read too much or copy:
//! [`object`] reads objects as objects only, [`borrowed`] borrows optional and repeated strings
//! from the input. The model names these in its `deserialize_with` attributes; the serde path
//! of decoding reads a whole report through [`object::Object`].

/// Objects read as objects only. serde's derived structs also read a JSON array, field by field
/// in declaration order, so `"casualties": [40]` would count 40 killed and a top-level array of
/// twelve values would be a report. The schema has objects there; an array is a wrong type.
pub(crate) mod object {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    /// A `T` that was written as a JSON object.
    pub(crate) struct Object<T>(pub(crate) T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = T;

                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }

                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map))
                }
            }
            d.deserialize_map(V(PhantomData)).map(Object)
        }
    }

    pub(crate) fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(Object::<T>::deserialize(d)?.0)
    }

    pub(crate) fn option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
    }

    pub(crate) fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Object<T>>::deserialize(d)?
            .into_iter()
            .map(|o| o.0)
            .collect())
    }
}

/// Borrowing deserialisers for optional and repeated strings. serde borrows a `Cow<str>` field
/// from the input only when the field's type is exactly `Cow<str>`; inside an `Option` or a `Vec`
/// it always allocates. Each report carries several such strings (title, language, location,
/// categories), so these keep decoding free of copies unless a string has escapes.
pub(crate) mod borrowed {
    use std::borrow::Cow;

    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

    pub(crate) fn option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Cow<'de, str>>, D::Error> {
        Ok(Option::<Str<'de>>::deserialize(d)?.map(|s| s.0))
    }

    pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cow<'de, str>>, D::Error> {
        Ok(Vec::<Str<'de>>::deserialize(d)?
            .into_iter()
            .map(|s| s.0)
            .collect())
    }
}
