//! Step 3: which OpenAPI this is, and the JSON value to `openapiv3` types.

use crate::diagnostic::{Diagnostics, push_pointer};
use openapiv3::OpenAPI;
use serde_json::Value;

/// Checks that the document is OpenAPI 3.x. Swagger 2.0 gets one clear line.
pub fn check_version(raw: &Value, diags: &mut Diagnostics) -> bool {
    if !raw.is_object() {
        diags.error("", "this is not an OpenAPI document: the top level must be a mapping with an `openapi` field");
        return false;
    }
    if let Some(version) = raw.get("swagger") {
        diags.error(
            "/swagger",
            format!(
                "this is a Swagger {} document; the generator reads OpenAPI 3.0 and 3.1, so convert it first (for example `npx swagger2openapi`)",
                version.as_str().unwrap_or("2.0")
            ),
        );
        return false;
    }
    match raw.get("openapi") {
        Some(Value::String(version)) if version.starts_with("3.") => true,
        Some(other) => {
            diags.error(
                "/openapi",
                format!(
                    "OpenAPI version {other} is not supported; the generator reads 3.0 and 3.1"
                ),
            );
            false
        }
        None => {
            diags.error("", "this is not an OpenAPI document: there is no `openapi` field (add `openapi: 3.0.3`)");
            false
        }
    }
}

/// Deserializes the document, reporting the exact spot of a failure.
pub fn parse(raw: &Value, diags: &mut Diagnostics) -> Option<OpenAPI> {
    match serde_path_to_error::deserialize::<_, OpenAPI>(raw) {
        Ok(doc) => Some(doc),
        Err(error) => {
            let mut pointer = String::new();
            for segment in error.path().iter() {
                use serde_path_to_error::Segment;
                match segment {
                    Segment::Seq { index } => pointer = push_pointer(&pointer, &index.to_string()),
                    Segment::Map { key } => pointer = push_pointer(&pointer, key),
                    Segment::Enum { .. } | Segment::Unknown => {}
                }
            }
            diags.error(
                pointer,
                format!("this is not valid OpenAPI: {}", error.inner()),
            );
            None
        }
    }
}
