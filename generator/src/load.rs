//! Step 1: bytes to a JSON value. YAML and JSON both land here, so every
//! later step works on one representation.

use serde_json::{Map, Number, Value};
use std::path::Path;

/// Reads and parses a spec or fragment file.
pub fn load_file(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    parse_text(&text)
}

/// Parses YAML or JSON text. JSON goes through `serde_json` (faster, and
/// exact for large documents); anything else through `serde_yaml`.
pub fn parse_text(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed).map_err(|error| {
            format!("this file is not valid JSON: {error}; fix the syntax at that line and column")
        });
    }
    let yaml: serde_yaml::Value = serde_yaml::from_str(trimmed).map_err(|error| {
        format!("this file is not valid YAML: {error}; fix the syntax at that line and column")
    })?;
    yaml_to_json(yaml)
}

/// Converts YAML to JSON. YAML allows keys JSON does not (response codes
/// written as the integer `200`, booleans): they become their text.
fn yaml_to_json(yaml: serde_yaml::Value) -> Result<Value, String> {
    Ok(match yaml {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(flag) => Value::Bool(flag),
        serde_yaml::Value::Number(number) => yaml_number(&number),
        serde_yaml::Value::String(text) => Value::String(text),
        serde_yaml::Value::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        serde_yaml::Value::Mapping(mapping) => {
            let mut object = Map::with_capacity(mapping.len());
            for (key, value) in mapping {
                object.insert(yaml_key(key)?, yaml_to_json(value)?);
            }
            Value::Object(object)
        }
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

fn yaml_number(number: &serde_yaml::Number) -> Value {
    if let Some(int) = number.as_i64() {
        Value::Number(int.into())
    } else if let Some(int) = number.as_u64() {
        Value::Number(int.into())
    } else {
        let float = number.as_f64().unwrap_or(f64::NAN);
        // `.inf` and `.nan` have no JSON form; keep their text.
        Number::from_f64(float).map_or_else(|| Value::String(number.to_string()), Value::Number)
    }
}

fn yaml_key(key: serde_yaml::Value) -> Result<String, String> {
    match key {
        serde_yaml::Value::String(text) => Ok(text),
        serde_yaml::Value::Number(number) => Ok(number.to_string()),
        serde_yaml::Value::Bool(flag) => Ok(flag.to_string()),
        serde_yaml::Value::Null => Ok("null".into()),
        serde_yaml::Value::Tagged(tagged) => yaml_key(tagged.value),
        serde_yaml::Value::Sequence(_) | serde_yaml::Value::Mapping(_) => Err(
            "this file uses a list or a map as a mapping key, which JSON and OpenAPI do not allow"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_text;
    use serde_json::json;

    #[test]
    fn yaml_integer_keys_become_strings() {
        let value = parse_text("responses:\n  200:\n    description: ok\n").unwrap();
        assert_eq!(value, json!({"responses": {"200": {"description": "ok"}}}));
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
