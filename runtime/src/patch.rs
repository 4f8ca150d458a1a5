use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A field of a partial update: absent (not sent), explicit `null` (clear
/// the stored value) or a value.
///
/// Generated update bodies declare such fields with
/// `#[serde(default, skip_serializing_if = "Patch::is_absent")]`, so an
/// absent field never reaches the wire and `null` is sent only when asked
/// for. `Option` cannot tell the first two apart, which is how other
/// generators end up clearing fields the caller never touched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Leave the stored value as it is: the field is not sent.
    #[default]
    Absent,
    /// Clear the stored value: the field is sent as `null`.
    Null,
    /// Set the stored value.
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Patch::Null)
    }

    /// The value, if one is set.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Value(value) => Some(value),
            Patch::Absent | Patch::Null => None,
        }
    }

    /// For fields the spec does not let be `null`: a present field must
    /// hold a value (`#[serde(default, deserialize_with = ...)]` keeps a
    /// missing one `Absent`).
    pub fn deserialize_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>
    where
        T: Deserialize<'de>,
    {
        T::deserialize(deserializer).map(Patch::Value)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(value) => Patch::Value(f(value)),
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `None` clears the field; to leave it untouched use [`Patch::Absent`].
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Null, Patch::Value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Value(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// A present field is `Null` or `Value`; `#[serde(default)]` on the
    /// field makes a missing one `Absent`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Patch::from)
    }
}

#[cfg(test)]
mod tests {
    use super::Patch;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
    struct Update {
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        name: Patch<String>,
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        amount: Patch<f64>,
    }

    #[test]
    fn absent_is_not_sent_and_null_is() {
        let update = Update {
            name: Patch::Null,
            ..Update::default()
        };
        assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"name":null}"#);
        let update = Update {
            amount: Patch::Value(5.0),
            ..Update::default()
        };
        assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"amount":5.0}"#);
    }

    #[test]
    fn reads_the_three_states_back() {
        let update: Update = serde_json::from_str(r#"{"name":null}"#).unwrap();
        assert_eq!(update.name, Patch::Null);
        assert_eq!(update.amount, Patch::Absent);
        let update: Update = serde_json::from_str(r#"{"amount":2}"#).unwrap();
        assert_eq!(update.amount, Patch::Value(2.0));
    }
}
