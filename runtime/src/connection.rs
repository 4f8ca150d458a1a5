//! What an integrated account gives to connect to a provider: credentials
//! and settings, as the provider spec's `x-unified-connection` declares
//! them. Generated code holds the tables ([`CredentialField`],
//! [`SettingField`]); this module reads a JSON object against them and
//! names every key that is missing, unknown or malformed.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One credential key an account must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialField {
    pub name: &'static str,
    pub description: &'static str,
    /// Secrets are held in [`crate::Secret`] and never shown; a non-secret
    /// credential (an id used in the path) is plain text.
    pub secret: bool,
}

/// One optional per-account setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingField {
    pub name: &'static str,
    pub description: &'static str,
    /// The values it takes; empty when any text is allowed.
    pub allowed: &'static [&'static str],
    pub default: Option<&'static str>,
}

/// Why a credentials or settings object was refused: every offending key,
/// by its full name (`credentials.api_key`). Never holds a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct ConnectionError {
    /// `(key, what is wrong)`, in key order.
    pub problems: Vec<(String, String)>,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .problems
            .iter()
            .map(|(key, problem)| format!("`{key}` {problem}"))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl ConnectionError {
    /// The first offending key, for APIs that name one field.
    pub fn first_key(&self) -> &str {
        self.problems.first().map_or("", |(key, _)| key.as_str())
    }
}

/// The values of `fields`, in order, read from `map` (under `prefix`, for
/// messages). Every key must be a non-empty string that can be sent in a
/// header; keys the table does not have are refused too.
pub fn read_credentials(
    provider: &str,
    prefix: &str,
    fields: &[CredentialField],
    map: &Map<String, Value>,
) -> Result<Vec<String>, ConnectionError> {
    let mut problems = Vec::new();
    for key in map.keys() {
        if !fields.iter().any(|field| field.name == key) {
            let known: Vec<&str> = fields.iter().map(|field| field.name).collect();
            problems.push((
                format!("{prefix}{key}"),
                format!(
                    "is not a credential of {provider} (it takes {})",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut values = Vec::with_capacity(fields.len());
    for field in fields {
        let key = format!("{prefix}{}", field.name);
        match map.get(field.name) {
            Some(Value::String(text)) if text.trim().is_empty() => {
                problems.push((key, "must not be empty".into()));
            }
            Some(Value::String(text)) if http::HeaderValue::from_str(text).is_err() => {
                problems.push((
                    key,
                    "holds a character that cannot be sent in an HTTP header (a line break or control character)".into(),
                ));
            }
            Some(Value::String(text)) => values.push(text.clone()),
            Some(_) => problems.push((key, "must be a string".into())),
            None => problems.push((key, format!("is required by {provider}"))),
        }
    }
    problems.sort();
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(ConnectionError { problems })
    }
}

/// An account's settings: each declared key with its value or default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<String, String>,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The settings the caller gave (defaults left out), for storage.
    pub fn to_map(&self, fields: &[SettingField]) -> Map<String, Value> {
        self.values
            .iter()
            .filter(|(name, value)| {
                !fields
                    .iter()
                    .any(|field| field.name == name.as_str() && field.default == Some(value))
            })
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect()
    }
}

/// Reads `map` against `fields`: unknown keys, non-strings and values
/// outside `allowed` are refused, naming each; absent keys take their
/// default.
pub fn read_settings(
    provider: &str,
    fields: &[SettingField],
    map: &Map<String, Value>,
) -> Result<Settings, ConnectionError> {
    let mut problems = Vec::new();
    let mut values = BTreeMap::new();
    for (key, value) in map {
        let Some(field) = fields.iter().find(|field| field.name == key) else {
            problems.push((
                format!("settings.{key}"),
                format!("is not a setting of {provider}"),
            ));
            continue;
        };
        match value {
            Value::String(text)
                if field.allowed.is_empty() || field.allowed.contains(&text.as_str()) =>
            {
                values.insert(key.clone(), text.clone());
            }
            Value::String(_) => problems.push((
                format!("settings.{key}"),
                format!("must be one of {}", field.allowed.join(", ")),
            )),
            _ => problems.push((format!("settings.{key}"), "must be a string".into())),
        }
    }
    for field in fields {
        if let (Some(default), false) = (field.default, values.contains_key(field.name)) {
            values.insert(field.name.to_owned(), default.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(Settings { values })
    } else {
        Err(ConnectionError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[CredentialField] = &[
        CredentialField {
            name: "access_token",
            description: "",
            secret: true,
        },
        CredentialField {
            name: "user_email",
            description: "",
            secret: true,
        },
    ];

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn every_missing_unknown_and_malformed_key_is_named() {
        let error = read_credentials(
            "copper",
            "credentials.",
            FIELDS,
            &map(json!({"acess_token": "x", "user_email": "a\nb"})),
        )
        .unwrap_err();
        let keys: Vec<&str> = error.problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "credentials.access_token",
                "credentials.acess_token",
                "credentials.user_email"
            ]
        );
        assert!(!error.to_string().contains("a\nb"));
    }

    #[test]
    fn values_come_back_in_table_order() {
        let values = read_credentials(
            "copper",
            "",
            FIELDS,
            &map(json!({"user_email": "u@x.io", "access_token": "t"})),
        )
        .unwrap();
        assert_eq!(values, ["t", "u@x.io"]);
    }

    #[test]
    fn settings_take_defaults_and_refuse_other_values() {
        const SETTINGS: &[SettingField] = &[SettingField {
            name: "date_order",
            description: "",
            allowed: &["MDY", "DMY"],
            default: Some("MDY"),
        }];
        let settings = read_settings("copper", SETTINGS, &Map::new()).unwrap();
        assert_eq!(settings.get("date_order"), Some("MDY"));
        assert!(settings.to_map(SETTINGS).is_empty());
        let settings =
            read_settings("copper", SETTINGS, &map(json!({"date_order": "DMY"}))).unwrap();
        assert_eq!(settings.get("date_order"), Some("DMY"));
        assert!(read_settings("copper", SETTINGS, &map(json!({"date_order": "YMD"}))).is_err());
        assert!(read_settings("copper", SETTINGS, &map(json!({"locale": "fr"}))).is_err());
    }
}
