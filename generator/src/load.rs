//! Step 1: bytes to a JSON value. YAML and JSON both land here, so every
//! later step works on one representation.

use serde_json::{Map, Number, Value};
use std::path::Path;

/// Reads and parses a spec or fragment file.
pub fn load_file(path: &Path) -> Result<Value, String> {
    // A `$ref` can name any path: a device or a FIFO would never end, and a
    // huge file would exhaust memory, so only regular files of a spec's
    // size are read.
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} is {} bytes; specs larger than {MAX_FILE_BYTES} bytes are not read",
            path.display(),
            metadata.len()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    parse_text(&text)
}

/// 64 MiB: ten times the largest real-world document seen (Kubernetes, 4.4 MB).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Parses YAML or JSON text. JSON goes through `serde_json` (faster, and
/// exact for large documents); anything else through `serde_yaml`.
pub fn parse_text(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed).map_err(|error| {
            format!("this file is not valid JSON: {error}; fix the syntax at that line and column")
        });
    }
    let deserializer = serde_yaml::Deserializer::from_str(trimmed);
    serde::de::DeserializeSeed::deserialize(YamlValue, deserializer).map_err(|error| {
        format!("this file is not valid YAML: {error}; fix the syntax at that line and column")
    })
}

/// YAML straight to a JSON value. Going through `serde_yaml::Value` would
/// fail on integers beyond 64 bits (`maximum: 18446744073709552000`),
/// which real documents have; here they become floats, as in JSON. YAML
/// allows keys JSON does not (response codes written as the integer
/// `200`, booleans): they become their text. Tags (`!Thing value`) are
/// dropped, and merge keys (`<<: *base`) are applied.
struct YamlValue;

impl<'de> serde::de::DeserializeSeed<'de> for YamlValue {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for YamlValue {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_i128<E>(self, value: i128) -> Result<Value, E> {
        Ok(match i64::try_from(value) {
            Ok(small) => Value::Number(small.into()),
            Err(_) => float(value as f64),
        })
    }

    fn visit_u128<E>(self, value: u128) -> Result<Value, E> {
        Ok(match u64::try_from(value) {
            Ok(small) => Value::Number(small.into()),
            Err(_) => float(value as f64),
        })
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(YamlValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::with_capacity(map.size_hint().unwrap_or(0));
        let mut merged = Vec::new();
        while let Some(key) = map.next_key_seed(YamlKey)? {
            let value = map.next_value_seed(YamlValue)?;
            if key == "<<" {
                merged.push(value);
            } else {
                object.insert(key, value);
            }
        }
        for value in merged {
            let sources = match value {
                Value::Array(sources) => sources,
                other => vec![other],
            };
            for source in sources {
                if let Value::Object(source) = source {
                    for (key, value) in source {
                        object.entry(key).or_insert(value);
                    }
                }
            }
        }
        Ok(Value::Object(object))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (_tag, variant) = data.variant::<serde::de::IgnoredAny>()?;
        serde::de::VariantAccess::newtype_variant_seed(variant, YamlValue)
    }
}

/// A mapping key, as the text JSON keys are.
struct YamlKey;

impl<'de> serde::de::DeserializeSeed<'de> for YamlKey {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        let key = deserializer.deserialize_any(YamlValue)?;
        match key {
            Value::String(text) => Ok(text),
            Value::Null => Ok("null".into()),
            Value::Bool(flag) => Ok(flag.to_string()),
            Value::Number(number) => Ok(match number.as_f64() {
                Some(float) if !number.is_i64() && !number.is_u64() => {
                    serde_yaml::Number::from(float).to_string()
                }
                _ => number.to_string(),
            }),
            Value::Array(_) | Value::Object(_) => Err(serde::de::Error::custom(
                "this file uses a list or a map as a mapping key, which JSON and OpenAPI do not allow",
            )),
        }
    }
}

fn float(value: f64) -> Value {
    // `.inf` and `.nan` have no JSON form; keep their YAML text.
    Number::from_f64(value).map_or_else(
        || Value::String(serde_yaml::Number::from(value).to_string()),
        Value::Number,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_regular_files_are_read() {
        let error = super::load_file(std::path::Path::new("/dev/zero")).unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");
    }

    use super::parse_text;
    use serde_json::json;

    #[test]
    fn yaml_integer_keys_become_strings() {
        let value = parse_text("responses:\n  200:\n    description: ok\n").unwrap();
        assert_eq!(value, json!({"responses": {"200": {"description": "ok"}}}));
    }

    #[test]
    fn integers_beyond_64_bits_load_as_numbers() {
        let value =
            parse_text("maximum: 18446744073709552000\nminimum: -99999999999999999999\n").unwrap();
        assert_eq!(value["maximum"].as_f64(), Some(18446744073709552000.0));
        assert_eq!(value["minimum"].as_f64(), Some(-99999999999999999999.0));
        let value = parse_text("a: 18446744073709551615\nb: .inf\n").unwrap();
        assert_eq!(value, json!({"a": 18446744073709551615u64, "b": ".inf"}));
    }

    #[test]
    fn tags_are_dropped_and_merge_keys_applied() {
        let value =
            parse_text("base: &base {a: 1, b: 2}\nc:\n  <<: *base\n  b: 3\nd: !Thing x\n").unwrap();
        assert_eq!(value["c"], json!({"b": 3, "a": 1}));
        assert_eq!(value["d"], json!("x"));
    }

    #[test]
    fn syntax_errors_say_where() {
        let error = parse_text("a: [1, 2\nb: c").unwrap_err();
        assert!(error.contains("not valid YAML"), "{error}");
        assert!(error.contains("line"), "{error}");
        let error = parse_text("{\"a\": }").unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
    }
}
