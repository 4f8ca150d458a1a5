//! Path, query, header and form encoding of any `Serialize` value.
//!
//! Going through `serde_json::Value` lets one implementation serve every
//! generated type (strings, numbers, open enums, dates, nested objects)
//! with the OpenAPI serialization styles the spec declares.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::Value;

/// Characters escaped in a path segment: everything but RFC 3986
/// unreserved characters, so a value can never add a `/` or `?`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("`{name}` cannot be encoded: {reason}")]
    Invalid { name: String, reason: String },
}

/// OpenAPI `style` of a query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryStyle {
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// A path parameter, percent-encoded as one segment.
pub fn path_segment<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<String, EncodeError> {
    let text = scalar(name, &to_value(name, value)?)?.unwrap_or_default();
    // `.` and `..` would be resolved away by the URL parser, even encoded.
    if text.is_empty() || text == "." || text == ".." {
        return Err(EncodeError::Invalid {
            name: name.to_owned(),
            reason: format!("`{text}` cannot be a path segment"),
        });
    }
    Ok(utf8_percent_encode(&text, PATH_SEGMENT).to_string())
}

/// A header parameter's value. `None` means the header is not sent.
pub fn header_value<T: Serialize + ?Sized>(
    name: &str,
    value: &T,
) -> Result<Option<String>, EncodeError> {
    match to_value(name, value)? {
        Value::Array(items) => {
            let parts: Result<Vec<_>, _> = items.iter().map(|item| scalar(name, item)).collect();
            Ok(Some(
                parts?.into_iter().flatten().collect::<Vec<_>>().join(","),
            ))
        }
        other => scalar(name, &other),
    }
}

/// Appends a query parameter to `pairs`, in the given style.
pub fn query<T: Serialize + ?Sized>(
    pairs: &mut Vec<(String, String)>,
    name: &str,
    value: &T,
    style: QueryStyle,
    explode: bool,
) -> Result<(), EncodeError> {
    match to_value(name, value)? {
        Value::Null => {}
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| scalar(name, item))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            let separator = match style {
                QueryStyle::SpaceDelimited => " ",
                QueryStyle::PipeDelimited => "|",
                QueryStyle::Form | QueryStyle::DeepObject => ",",
            };
            if explode && style == QueryStyle::Form {
                pairs.extend(items.into_iter().map(|item| (name.to_owned(), item)));
            } else if !items.is_empty() {
                pairs.push((name.to_owned(), items.join(separator)));
            }
        }
        Value::Object(map) => match style {
            QueryStyle::DeepObject => nested(pairs, name, &Value::Object(map))?,
            _ if explode => {
                for (key, value) in &map {
                    if let Some(text) = scalar(key, value)? {
                        pairs.push((key.clone(), text));
                    }
                }
            }
            _ => {
                let mut parts = Vec::new();
                for (key, value) in &map {
                    if let Some(text) = scalar(key, value)? {
                        parts.push(key.clone());
                        parts.push(text);
                    }
                }
                pairs.push((name.to_owned(), parts.join(",")));
            }
        },
        scalar_value => {
            if let Some(text) = scalar(name, &scalar_value)? {
                pairs.push((name.to_owned(), text));
            }
        }
    }
    Ok(())
}

/// An `application/x-www-form-urlencoded` body: top-level fields as keys,
/// nested objects and arrays in bracket notation (`metadata[key]=v`,
/// `items[0][price]=p`), the form Stripe-style APIs expect.
pub fn form<T: Serialize + ?Sized>(value: &T) -> Result<Vec<(String, String)>, EncodeError> {
    let mut pairs = Vec::new();
    match to_value("body", value)? {
        Value::Object(map) => {
            for (key, value) in &map {
                nested(&mut pairs, key, value)?;
            }
        }
        Value::Null => {}
        other => {
            return Err(EncodeError::Invalid {
                name: "body".into(),
                reason: format!("a form body must be an object, not {other}"),
            });
        }
    }
    Ok(pairs)
}

fn nested(
    pairs: &mut Vec<(String, String)>,
    prefix: &str,
    value: &Value,
) -> Result<(), EncodeError> {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                nested(pairs, &format!("{prefix}[{key}]"), value)?;
            }
        }
        Value::Array(items) => {
            for (index, value) in items.iter().enumerate() {
                nested(pairs, &format!("{prefix}[{index}]"), value)?;
            }
        }
        other => {
            if let Some(text) = scalar(prefix, other)? {
                pairs.push((prefix.to_owned(), text));
            }
        }
    }
    Ok(())
}

fn to_value<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Value, EncodeError> {
    serde_json::to_value(value).map_err(|error| EncodeError::Invalid {
        name: name.to_owned(),
        reason: error.to_string(),
    })
}

fn scalar(name: &str, value: &Value) -> Result<Option<String>, EncodeError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        Value::Array(_) | Value::Object(_) => Err(EncodeError::Invalid {
            name: name.to_owned(),
            reason: "a nested array or object has no form here".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(value: Value, style: QueryStyle, explode: bool) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        query(&mut pairs, "p", &value, style, explode).unwrap();
        pairs
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn path_segments_cannot_escape_the_path() {
        assert_eq!(path_segment("id", "a/b?c d").unwrap(), "a%2Fb%3Fc%20d");
        assert_eq!(path_segment("id", &42).unwrap(), "42");
        assert!(path_segment("id", "..").is_err());
        assert!(path_segment("id", "").is_err());
    }

    #[test]
    fn query_styles() {
        assert_eq!(
            encoded(json!(["a", "b"]), QueryStyle::Form, true),
            pairs(&[("p", "a"), ("p", "b")])
        );
        assert_eq!(
            encoded(json!(["a", "b"]), QueryStyle::Form, false),
            pairs(&[("p", "a,b")])
        );
        assert_eq!(
            encoded(json!({"foo": "bar", "n": 1}), QueryStyle::DeepObject, true),
            pairs(&[("p[foo]", "bar"), ("p[n]", "1")])
        );
        assert_eq!(encoded(json!(null), QueryStyle::Form, true), pairs(&[]));
        assert_eq!(
            encoded(json!(true), QueryStyle::Form, true),
            pairs(&[("p", "true")])
        );
    }

    #[test]
    fn form_bodies_use_brackets() {
        let body =
            json!({"amount": 5, "metadata": {"k": "v"}, "items": [{"price": "p"}], "gone": null});
        assert_eq!(
            form(&body).unwrap(),
            pairs(&[
                ("amount", "5"),
                ("metadata[k]", "v"),
                ("items[0][price]", "p")
            ])
        );
    }
}
