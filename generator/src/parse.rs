//! Step 3: which OpenAPI this is, and the JSON value to `openapiv3` types.

use crate::diagnostic::{Diagnostics, push_pointer};
use openapiv3::{
    OpenAPI, Operation, Parameter, PathItem, ReferenceOr, RequestBody, Response, Schema,
    SecurityScheme,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Checks that the document is Swagger 2.0 (converted by
/// [`crate::normalize`]) or OpenAPI 3.x. Anything else gets one clear line.
pub fn check_version(raw: &Value, diags: &mut Diagnostics) -> bool {
    if !raw.is_object() {
        diags.error("", "this is not an OpenAPI document: the top level must be a mapping with an `openapi` field");
        return false;
    }
    if let Some(version) = raw.get("swagger") {
        // `swagger: 2.0` unquoted in YAML is a number.
        if version.as_str() == Some("2.0") || version.as_f64() == Some(2.0) {
            return true;
        }
        diags.error(
            "/swagger",
            format!(
                "Swagger version {version} is not supported; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1"
            ),
        );
        return false;
    }
    if let Some(version) = raw.get("swaggerVersion") {
        diags.error(
            "/swaggerVersion",
            format!(
                "this is a Swagger {} document; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1, so convert it first (for example with `api-spec-converter`)",
                version.as_str().unwrap_or("1.x")
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
                    "OpenAPI version {other} is not supported; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1"
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

/// Deserializes the document. On failure the parts are tried one by one
/// (each path item, operation, parameter, response, component), so every
/// broken part is reported with its own pointer: `openapiv3` flattens
/// extensions into its structs, which hides the path below the top.
pub fn parse(raw: &Value, diags: &mut Diagnostics) -> Option<OpenAPI> {
    let error = match serde_path_to_error::deserialize::<_, OpenAPI>(raw) {
        Ok(doc) => return Some(doc),
        Err(error) => error,
    };
    let before = diags.has_errors();
    narrow_paths(raw, diags);
    narrow_components(raw, diags);
    if diags.has_errors() == before {
        diags.error(
            pointer_of(&error, ""),
            format!("this is not valid OpenAPI: {}", error.inner()),
        );
    }
    None
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn narrow_paths(raw: &Value, diags: &mut Diagnostics) {
    let Some(paths) = raw.get("paths").and_then(Value::as_object) else {
        return;
    };
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let item_pointer = push_pointer("/paths", path);
        let Some(item_object) = item.as_object() else {
            check::<ReferenceOr<PathItem>>(item, &item_pointer, diags);
            continue;
        };
        let before = diags.has_errors();
        if let Some(parameters) = item_object.get("parameters") {
            check_list::<ReferenceOr<Parameter>>(
                parameters,
                &push_pointer(&item_pointer, "parameters"),
                diags,
            );
        }
        for method in METHODS {
            let Some(operation) = item_object.get(*method) else {
                continue;
            };
            let pointer = push_pointer(&item_pointer, method);
            narrow_operation(operation, &pointer, diags);
        }
        if diags.has_errors() == before {
            check::<ReferenceOr<PathItem>>(item, &item_pointer, diags);
        }
    }
}

fn narrow_operation(operation: &Value, pointer: &str, diags: &mut Diagnostics) {
    let before = diags.has_errors();
    if let Some(parameters) = operation.get("parameters") {
        check_list::<ReferenceOr<Parameter>>(
            parameters,
            &push_pointer(pointer, "parameters"),
            diags,
        );
    }
    if let Some(body) = operation.get("requestBody") {
        check::<ReferenceOr<RequestBody>>(body, &push_pointer(pointer, "requestBody"), diags);
    }
    if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
        for (status, response) in responses {
            if !status.starts_with("x-") {
                let status_pointer = push_pointer(&push_pointer(pointer, "responses"), status);
                check::<ReferenceOr<Response>>(response, &status_pointer, diags);
            }
        }
    }
    if diags.has_errors() == before {
        check::<Operation>(operation, pointer, diags);
    }
}

fn narrow_components(raw: &Value, diags: &mut Diagnostics) {
    let Some(components) = raw.get("components").and_then(Value::as_object) else {
        return;
    };
    for (kind, entries) in components {
        let Some(entries) = entries.as_object() else {
            continue;
        };
        let kind_pointer = push_pointer("/components", kind);
        for (name, entry) in entries {
            let pointer = push_pointer(&kind_pointer, name);
            match kind.as_str() {
                "schemas" => check::<ReferenceOr<Schema>>(entry, &pointer, diags),
                "parameters" => check::<ReferenceOr<Parameter>>(entry, &pointer, diags),
                "responses" => check::<ReferenceOr<Response>>(entry, &pointer, diags),
                "requestBodies" => check::<ReferenceOr<RequestBody>>(entry, &pointer, diags),
                "securitySchemes" => check::<ReferenceOr<SecurityScheme>>(entry, &pointer, diags),
                _ => {}
            }
        }
    }
}

fn check_list<T: DeserializeOwned>(list: &Value, pointer: &str, diags: &mut Diagnostics) {
    match list.as_array() {
        Some(items) => {
            for (index, item) in items.iter().enumerate() {
                check::<T>(item, &push_pointer(pointer, &index.to_string()), diags);
            }
        }
        None => diags.error(
            pointer,
            format!(
                "this is not valid OpenAPI: expected a list, found {}",
                kind_of(list)
            ),
        ),
    }
}

fn check<T: DeserializeOwned>(value: &Value, pointer: &str, diags: &mut Diagnostics) {
    if let Err(error) = serde_path_to_error::deserialize::<_, T>(value) {
        diags.error(
            pointer_of(&error, pointer),
            format!("this is not valid OpenAPI: {}", error.inner()),
        );
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn pointer_of(error: &serde_path_to_error::Error<serde_json::Error>, base: &str) -> String {
    let mut pointer = base.to_owned();
    for segment in error.path().iter() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => pointer = push_pointer(&pointer, &index.to_string()),
            Segment::Map { key } => pointer = push_pointer(&pointer, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}
