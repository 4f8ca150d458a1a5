//! Parts of a document that do not shape the generated client: callbacks,
//! links, webhooks and examples (of media types, parameters, headers, and
//! `components/examples`). They are taken out before anything follows a
//! reference or reads a type, so nothing in them can fail the document.
//! A part that is broken (a `$ref` to nothing, the wrong shape) is named
//! in a warning with its JSON pointer; a sound one goes silently, as
//! before (the client never used it).
//!
//! Examples inside schemas are annotations and stay; vendor extensions
//! (`x-...`) stay where they are, and the steps that follow references
//! never look inside the ones the generator does not read
//! ([`crate::reference::holds_references`]).

use crate::diagnostic::{Diagnostics, push_pointer};
use crate::reference;
use openapiv3::{Callback, Example, Link, ReferenceOr};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Takes the unused parts out of `raw` (a 3.x document, Swagger 2.0
/// already converted), warning about the broken ones.
pub(super) fn skip_unused_parts(raw: &mut Value, diags: &mut Diagnostics) {
    // Broken parts are found against the whole document (their `$ref`s
    // point anywhere), then everything is taken out.
    let mut removals = Vec::new();
    collect(raw, &mut removals);
    for removal in &removals {
        for (pointer, problem) in removal.problems(raw) {
            diags.warning(
                pointer,
                format!(
                    "{problem}; {} do not shape the generated client, so these are skipped and the rest of the document is generated",
                    removal.kind.plural()
                ),
            );
        }
    }
    for removal in removals.iter().rev() {
        remove(raw, &removal.pointer);
    }
    if let Some(root) = raw.as_object_mut() {
        if let Some(webhooks) = root.shift_remove("webhooks") {
            let count = webhooks.as_object().map_or(0, Map::len);
            if count > 0 {
                diags.warning(
                    "/webhooks",
                    format!(
                        "{count} webhook(s) not generated: webhooks are requests the API sends to you, not operations a client calls"
                    ),
                );
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A `callbacks` map.
    Callbacks,
    /// A `links` map.
    Links,
    /// An `examples` map.
    Examples,
    /// A single `example` value: data, never broken.
    Example,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Callbacks => "callbacks",
            Kind::Links => "links",
            Kind::Examples | Kind::Example => "examples",
        }
    }
}

/// One part to take out: where it is and what it is.
struct Removal {
    pointer: String,
    kind: Kind,
}

impl Removal {
    /// The problems in the part (the first of each entry), with their
    /// pointers.
    fn problems(&self, root: &Value) -> Vec<(String, String)> {
        let Some(value) = root.pointer(&self.pointer) else {
            return Vec::new();
        };
        match self.kind {
            Kind::Example => Vec::new(),
            Kind::Callbacks => entries_problem(root, value, &self.pointer, |entry, pointer| {
                shape::<ReferenceOr<Callback>>(entry, pointer)
            }),
            Kind::Links => entries_problem(root, value, &self.pointer, |entry, pointer| {
                shape::<ReferenceOr<Link>>(entry, pointer)
            }),
            Kind::Examples => entries_problem(root, value, &self.pointer, |entry, pointer| {
                shape::<ReferenceOr<Example>>(entry, pointer)
            }),
        }
    }
}

/// A map of named entries: it must be a mapping, each entry's local
/// references must point at something, and each entry must have the
/// shape `check` wants. The first problem of each entry.
fn entries_problem(
    root: &Value,
    value: &Value,
    pointer: &str,
    check: impl Fn(&Value, &str) -> Option<(String, String)>,
) -> Vec<(String, String)> {
    let Some(entries) = value.as_object() else {
        return vec![(
            pointer.to_owned(),
            format!(
                "this must be a mapping of names to entries, not {}",
                kind_of(value)
            ),
        )];
    };
    entries
        .iter()
        .filter(|(name, _)| !name.starts_with("x-"))
        .filter_map(|(name, entry)| {
            let entry_pointer = push_pointer(pointer, name);
            dangling_ref(root, entry, &entry_pointer).or_else(|| check(entry, &entry_pointer))
        })
        .collect()
}

/// The first local `$ref` under `value` that points at nothing.
fn dangling_ref(root: &Value, value: &Value, pointer: &str) -> Option<(String, String)> {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(target)) = object.get("$ref") {
                if reference::local_fragment(target).is_some()
                    && reference::follow_local(root, target).is_none()
                {
                    return Some((
                        push_pointer(pointer, "$ref"),
                        format!("`{target}` points at nothing"),
                    ));
                }
            }
            object.iter().find_map(|(key, child)| {
                (key != "$ref" && reference::holds_references(pointer, key))
                    .then(|| dangling_ref(root, child, &push_pointer(pointer, key)))
                    .flatten()
            })
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(index, child)| {
            dangling_ref(root, child, &push_pointer(pointer, &index.to_string()))
        }),
        _ => None,
    }
}

/// Whether `value` reads as a `T`. Schemas inside are not judged here
/// (they may still be OpenAPI 3.1, and nothing generates from them).
fn shape<T: DeserializeOwned>(value: &Value, pointer: &str) -> Option<(String, String)> {
    let mut value = value.clone();
    blank_schemas(&mut value);
    let error = serde_path_to_error::deserialize::<_, T>(&value).err()?;
    let mut at = pointer.to_owned();
    for segment in error.path().iter() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => at = push_pointer(&at, &index.to_string()),
            Segment::Map { key } => at = push_pointer(&at, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    Some((at, format!("this is not valid OpenAPI: {}", error.inner())))
}

fn blank_schemas(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == "schema" && child.is_object() {
                    *child = Value::Object(Map::new());
                } else {
                    blank_schemas(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_schemas),
        _ => {}
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

/// Takes out the node at a (decoded) JSON pointer.
fn remove(root: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(object)) = root.pointer_mut(parent) {
        object.shift_remove(&key);
    }
}

/// Every unused part of the document, in document order.
fn collect(raw: &Value, out: &mut Vec<Removal>) {
    let Some(root) = raw.as_object() else {
        return;
    };
    if let Some(paths) = root.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if !path.starts_with("x-") {
                path_item(item, &push_pointer("/paths", path), out);
            }
        }
    }
    let Some(components) = root.get("components").and_then(Value::as_object) else {
        return;
    };
    for (kind, entries) in components {
        let pointer = push_pointer("/components", kind);
        match kind.as_str() {
            "callbacks" => out.push(Removal {
                pointer,
                kind: Kind::Callbacks,
            }),
            "links" => out.push(Removal {
                pointer,
                kind: Kind::Links,
            }),
            "examples" => out.push(Removal {
                pointer,
                kind: Kind::Examples,
            }),
            "responses" | "parameters" | "requestBodies" | "headers" | "pathItems" => {
                let Some(entries) = entries.as_object() else {
                    continue;
                };
                for (name, entry) in entries {
                    let entry_pointer = push_pointer(&pointer, name);
                    match kind.as_str() {
                        "responses" => response(entry, &entry_pointer, out),
                        "pathItems" => path_item(entry, &entry_pointer, out),
                        // A parameter, header or request body: examples,
                        // and media types with examples.
                        _ => examples_and_content(entry, &entry_pointer, out),
                    }
                }
            }
            _ => {}
        }
    }
}

fn path_item(item: &Value, pointer: &str, out: &mut Vec<Removal>) {
    let Some(item) = item.as_object() else {
        return;
    };
    if let Some(parameters) = item.get("parameters") {
        parameter_list(parameters, &push_pointer(pointer, "parameters"), out);
    }
    for method in METHODS {
        let Some(operation) = item.get(*method).and_then(Value::as_object) else {
            continue;
        };
        let operation_pointer = push_pointer(pointer, method);
        if operation.contains_key("callbacks") {
            out.push(Removal {
                pointer: push_pointer(&operation_pointer, "callbacks"),
                kind: Kind::Callbacks,
            });
        }
        if let Some(parameters) = operation.get("parameters") {
            parameter_list(
                parameters,
                &push_pointer(&operation_pointer, "parameters"),
                out,
            );
        }
        if let Some(body) = operation.get("requestBody") {
            examples_and_content(body, &push_pointer(&operation_pointer, "requestBody"), out);
        }
        if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
            let responses_pointer = push_pointer(&operation_pointer, "responses");
            for (status, entry) in responses {
                if !status.starts_with("x-") {
                    response(entry, &push_pointer(&responses_pointer, status), out);
                }
            }
        }
    }
}

fn parameter_list(parameters: &Value, pointer: &str, out: &mut Vec<Removal>) {
    if let Some(parameters) = parameters.as_array() {
        for (index, parameter) in parameters.iter().enumerate() {
            examples_and_content(parameter, &push_pointer(pointer, &index.to_string()), out);
        }
    }
}

fn response(response: &Value, pointer: &str, out: &mut Vec<Removal>) {
    let Some(object) = response.as_object() else {
        return;
    };
    if object.contains_key("links") {
        out.push(Removal {
            pointer: push_pointer(pointer, "links"),
            kind: Kind::Links,
        });
    }
    examples_and_content(response, pointer, out);
    if let Some(headers) = object.get("headers").and_then(Value::as_object) {
        let headers_pointer = push_pointer(pointer, "headers");
        for (name, header) in headers {
            examples_and_content(header, &push_pointer(&headers_pointer, name), out);
        }
    }
}

/// The `example` and `examples` of a parameter, header or media type, and
/// those of the media types in its `content`.
fn examples_and_content(value: &Value, pointer: &str, out: &mut Vec<Removal>) {
    let Some(object) = value.as_object() else {
        return;
    };
    if object.contains_key("$ref") {
        return;
    }
    own_examples(object, pointer, out);
    if let Some(content) = object.get("content").and_then(Value::as_object) {
        let content_pointer = push_pointer(pointer, "content");
        for (media_type, media) in content {
            let media_pointer = push_pointer(&content_pointer, media_type);
            if let Some(media) = media.as_object() {
                own_examples(media, &media_pointer, out);
            }
        }
    }
}

fn own_examples(object: &Map<String, Value>, pointer: &str, out: &mut Vec<Removal>) {
    if object.contains_key("examples") {
        out.push(Removal {
            pointer: push_pointer(pointer, "examples"),
            kind: Kind::Examples,
        });
    }
    if object.contains_key("example") {
        out.push(Removal {
            pointer: push_pointer(pointer, "example"),
            kind: Kind::Example,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn skipped(mut raw: Value) -> (Value, Vec<String>) {
        let mut diags = Diagnostics::new("spec.yaml");
        skip_unused_parts(&mut raw, &mut diags);
        let messages = diags.into_vec().iter().map(ToString::to_string).collect();
        (raw, messages)
    }

    #[test]
    fn sound_parts_go_silently() {
        let (raw, warnings) = skipped(json!({
            "paths": {"/a": {"post": {
                "callbacks": {"done": {"{$request.body#/url}": {"post": {"responses": {"200": {"description": "ok"}}}}}},
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}, "example": {"a": 1}}}},
                "responses": {"200": {"description": "ok", "links": {"self": {"operationId": "a"}}}},
            }}},
            "components": {"examples": {"one": {"value": 1}}, "schemas": {"A": {"example": 1}}},
        }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            raw,
            json!({
                "paths": {"/a": {"post": {
                    "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": {"200": {"description": "ok"}},
                }}},
                "components": {"schemas": {"A": {"example": 1}}},
            })
        );
    }

    #[test]
    fn broken_parts_are_named_and_skipped() {
        let (raw, warnings) = skipped(json!({
            "paths": {"/a": {"get": {
                "callbacks": {"done": {"$ref": "#/components/callbacks/Missing"}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"examples": [1, 2]}}}},
            }}},
            "components": {"links": {"l": {"operationId": 7}}},
        }));
        assert_eq!(
            raw,
            json!({
                "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}}},
                "components": {},
            })
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(
            warnings[0],
            "warning: spec.yaml#/paths/~1a/get/callbacks/done/$ref: `#/components/callbacks/Missing` points at nothing; \
             callbacks do not shape the generated client, so these are skipped and the rest of the document is generated"
        );
        assert!(warnings[1].starts_with("warning: spec.yaml#/paths/~1a/get/responses/200/content/application~1json/examples: this must be a mapping of names to entries, not a list; examples do not"), "{warnings:?}");
        assert!(
            warnings[2].starts_with("warning: spec.yaml#/components/links/l"),
            "{warnings:?}"
        );
        assert!(warnings[2].contains("links do not shape"), "{warnings:?}");
    }
}
