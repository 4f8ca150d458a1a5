//! Step 1b: the document rewritten into the OpenAPI 3.0 that `openapiv3`
//! reads, before references are bundled and the document is parsed.
//!
//! - Swagger 2.0 is converted to 3.0 ([`swagger`]): definitions, body and
//!   form parameters, `produces`/`consumes`, `host`/`basePath`/`schemes`,
//!   security definitions.
//! - OpenAPI 3.1 is lowered to 3.0: type arrays with `null`, `const`,
//!   `examples`, `$ref` beside other keywords, numeric
//!   `exclusiveMinimum`/`exclusiveMaximum`, `prefixItems`,
//!   `contentMediaType`, optional `paths` and `responses`, `webhooks`.
//! - Every version: schema keywords of the wrong shape (integer bounds
//!   beyond 64 bits, `required: true` on a property, boolean schemas) are
//!   repaired where the intent is clear and dropped with a warning where it
//!   is not, so one odd keyword never turns a typed schema into JSON or
//!   fails the whole document.
//!
//! Nothing here fails: every change that loses information is a warning
//! with the JSON pointer of the spot (for Swagger 2.0 documents, warnings
//! about schemas point into the converted document, `#/components/...`).

mod remote;
mod schema;
mod swagger;
mod unused;

use crate::diagnostic::{Diagnostics, push_pointer};
use serde_json::{Map, Value};
use std::path::Path;

/// Which OpenAPI the document was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Swagger2,
    OpenApi30,
    /// 3.1 and later.
    OpenApi31,
}

/// The version written into normalised 3.1 and converted 2.0 documents.
const TARGET_VERSION: &str = "3.0.3";

/// Maps (outside schemas) whose keys are names the spec chose.
const NAMED_MAPS: &[&str] = &[
    "parameters",
    "headers",
    "content",
    "encoding",
    "responses",
    "requestBodies",
    "links",
    "variables",
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Rewrites `raw` in place into OpenAPI 3.0. `path` is the spec's file,
/// for references to files next to it.
pub fn normalize(raw: &mut Value, path: &Path, diags: &mut Diagnostics) {
    let Some(dialect) = dialect_of(raw) else {
        return;
    };
    if dialect == Dialect::Swagger2 {
        swagger::convert(raw, diags);
    }
    unused::skip_unused_parts(raw, diags);
    remote::localize_remote_refs(raw, path, diags);
    let mut normalizer = Normalizer {
        dialect,
        diags,
        pointer: Pointer::default(),
    };
    normalizer.document(raw);
}

fn dialect_of(raw: &Value) -> Option<Dialect> {
    if raw.get("swagger").is_some() {
        return Some(Dialect::Swagger2);
    }
    match raw.get("openapi")?.as_str()? {
        version if version.starts_with("3.0") => Some(Dialect::OpenApi30),
        version if version.starts_with('3') => Some(Dialect::OpenApi31),
        _ => None,
    }
}

/// A JSON pointer grown and shrunk while walking, so walking a large
/// document does not allocate a pointer per node.
#[derive(Default)]
pub(crate) struct Pointer(String);

impl Pointer {
    /// Appends a token; returns the length to [`Pointer::truncate`] back to.
    fn push(&mut self, token: &str) -> usize {
        let length = self.0.len();
        self.0.push('/');
        for ch in token.chars() {
            match ch {
                '~' => self.0.push_str("~0"),
                '/' => self.0.push_str("~1"),
                other => self.0.push(other),
            }
        }
        length
    }

    fn push_index(&mut self, index: usize) -> usize {
        let length = self.0.len();
        self.0.push('/');
        self.0.push_str(&index.to_string());
        length
    }

    fn truncate(&mut self, length: usize) {
        self.0.truncate(length);
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    fn child(&self, token: &str) -> String {
        push_pointer(&self.0, token)
    }
}

pub(crate) struct Normalizer<'d> {
    dialect: Dialect,
    diags: &'d mut Diagnostics,
    pointer: Pointer,
}

impl Normalizer<'_> {
    fn warn_at(&mut self, token: &str, message: impl Into<String>) {
        let pointer = self.pointer.child(token);
        self.diags.warning(pointer, message);
    }

    fn document(&mut self, raw: &mut Value) {
        let Some(root) = raw.as_object_mut() else {
            return;
        };
        if self.dialect == Dialect::OpenApi31 {
            self.top_level_31(root);
        }
        if !root.contains_key("paths") {
            // Optional since 3.1 (a document of components or webhooks).
            root.insert("paths".into(), Value::Object(Map::new()));
        }
        for (key, value) in root.iter_mut() {
            let length = self.pointer.push(key);
            match key.as_str() {
                "paths" => self.paths(value),
                "components" => self.components(value),
                _ if key.starts_with("x-") => {}
                "info" | "servers" | "tags" | "externalDocs" | "security" | "openapi" => {}
                _ => self.walk(value),
            }
            self.pointer.truncate(length);
        }
    }

    /// (`webhooks` are taken out before, with the other parts that do not
    /// shape the client: [`unused`].)
    fn top_level_31(&mut self, root: &mut Map<String, Value>) {
        if let Some(dialect) = root.remove("jsonSchemaDialect") {
            let default = "https://spec.openapis.org/oas/3.1/dialect/base";
            if dialect.as_str() != Some(default) {
                self.diags.warning(
                    "/jsonSchemaDialect",
                    "`jsonSchemaDialect` names a dialect other than the OpenAPI 3.1 default; schemas are read as the default dialect",
                );
            }
        }
        root.insert("openapi".into(), Value::String(TARGET_VERSION.into()));
    }

    fn paths(&mut self, paths: &mut Value) {
        let Some(paths) = paths.as_object_mut() else {
            return;
        };
        for (path, item) in paths.iter_mut() {
            if path.starts_with("x-") {
                continue;
            }
            let length = self.pointer.push(path);
            self.path_item(item);
            self.pointer.truncate(length);
        }
    }

    fn path_item(&mut self, item: &mut Value) {
        let Some(item) = item.as_object_mut() else {
            return;
        };
        for (key, value) in item.iter_mut() {
            let length = self.pointer.push(key);
            if METHODS.contains(&key.as_str()) {
                self.operation(value);
            } else if !key.starts_with("x-") {
                self.walk(value);
            }
            self.pointer.truncate(length);
        }
    }

    fn operation(&mut self, operation: &mut Value) {
        let Some(operation) = operation.as_object_mut() else {
            return;
        };
        if !operation.contains_key("responses") {
            // Optional in 3.1. The lowering warns about an operation with
            // no documented response, so there is no second warning here.
            operation.insert("responses".into(), Value::Object(Map::new()));
        }
        for (key, value) in operation.iter_mut() {
            if key.starts_with("x-") {
                continue;
            }
            let length = self.pointer.push(key);
            if key == "callbacks" {
                self.callbacks(value);
            } else {
                self.walk(value);
            }
            self.pointer.truncate(length);
        }
    }

    fn callbacks(&mut self, callbacks: &mut Value) {
        let Some(callbacks) = callbacks.as_object_mut() else {
            return;
        };
        for (name, callback) in callbacks.iter_mut() {
            let length = self.pointer.push(name);
            if let Some(expressions) = callback.as_object_mut() {
                for (expression, item) in expressions.iter_mut() {
                    if expression.starts_with("x-") {
                        continue;
                    }
                    let inner = self.pointer.push(expression);
                    self.path_item(item);
                    self.pointer.truncate(inner);
                }
            }
            self.pointer.truncate(length);
        }
    }

    fn components(&mut self, components: &mut Value) {
        let Some(components) = components.as_object_mut() else {
            return;
        };
        if self.dialect == Dialect::OpenApi31 {
            self.drop_unsupported_security_schemes(components);
        }
        for (kind, entries) in components.iter_mut() {
            if kind.starts_with("x-") {
                continue;
            }
            let length = self.pointer.push(kind);
            match kind.as_str() {
                "schemas" => {
                    if let Some(entries) = entries.as_object_mut() {
                        for (name, schema) in entries.iter_mut() {
                            let inner = self.pointer.push(name);
                            self.schema(schema);
                            self.pointer.truncate(inner);
                        }
                    }
                }
                "callbacks" => self.callbacks(entries),
                "pathItems" => {
                    if let Some(entries) = entries.as_object_mut() {
                        for (name, item) in entries.iter_mut() {
                            let inner = self.pointer.push(name);
                            self.path_item(item);
                            self.pointer.truncate(inner);
                        }
                    }
                }
                "examples" | "securitySchemes" | "links" => {}
                _ => {
                    if let Some(entries) = entries.as_object_mut() {
                        self.entries(entries);
                    }
                }
            }
            self.pointer.truncate(length);
        }
    }

    /// `mutualTLS` (3.1) has no 3.0 form; the client cannot set it anyway.
    fn drop_unsupported_security_schemes(&mut self, components: &mut Map<String, Value>) {
        let Some(schemes) = components
            .get_mut("securitySchemes")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        let dropped: Vec<String> = schemes
            .iter()
            .filter(|(_, scheme)| scheme.get("type").and_then(Value::as_str) == Some("mutualTLS"))
            .map(|(name, _)| name.clone())
            .collect();
        for name in dropped {
            schemes.shift_remove(&name);
            self.diags.warning(
                push_pointer("/components/securitySchemes", &name),
                "a `mutualTLS` security scheme is configured on the HTTP client (client certificates), not per request; the scheme is skipped",
            );
        }
    }

    /// The values of a map keyed by names the spec chose (a header or a
    /// parameter may well be called `schema`).
    fn entries(&mut self, entries: &mut Map<String, Value>) {
        for (name, entry) in entries.iter_mut() {
            if name.starts_with("x-") {
                continue;
            }
            let length = self.pointer.push(name);
            self.walk(entry);
            self.pointer.truncate(length);
        }
    }

    /// Walks anything that is not a schema, normalising the schemas found
    /// under `schema` keys (parameters, media types, headers).
    fn walk(&mut self, value: &mut Value) {
        match value {
            Value::Object(object) => {
                if self.dialect == Dialect::Swagger2 {
                    swagger::rewrite_ref(object);
                }
                for (key, child) in object.iter_mut() {
                    if key == "example" || key == "examples" || key.starts_with("x-") {
                        continue;
                    }
                    let length = self.pointer.push(key);
                    match (key.as_str(), &mut *child) {
                        ("schema", _) => self.schema(child),
                        ("callbacks", _) => self.callbacks(child),
                        (name, Value::Object(entries)) if NAMED_MAPS.contains(&name) => {
                            self.entries(entries);
                        }
                        _ => self.walk(child),
                    }
                    self.pointer.truncate(length);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter_mut().enumerate() {
                    let length = self.pointer.push_index(index);
                    self.walk(child);
                    self.pointer.truncate(length);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalized(mut raw: Value) -> (Value, Vec<String>) {
        let mut diags = Diagnostics::new("spec.yaml");
        normalize(&mut raw, Path::new("spec.yaml"), &mut diags);
        let messages = diags
            .into_vec()
            .into_iter()
            .map(|d| d.to_string())
            .collect();
        (raw, messages)
    }

    #[test]
    fn openapi_31_type_arrays_become_nullable() {
        let (raw, warnings) = normalized(json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "components": {"schemas": {"A": {"type": ["string", "null"], "maxLength": 3}}},
        }));
        assert_eq!(raw["openapi"], "3.0.3");
        assert_eq!(
            raw["components"]["schemas"]["A"],
            json!({"type": "string", "maxLength": 3, "nullable": true})
        );
        assert_eq!(raw["paths"], json!({}));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn missing_responses_are_added() {
        let (raw, _) = normalized(json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a"}}},
        }));
        assert_eq!(raw["paths"]["/a"]["get"]["responses"], json!({}));
    }

    #[test]
    fn names_chosen_by_the_spec_are_not_keywords() {
        let (raw, warnings) = normalized(json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "components": {"parameters": {"schema": {
                "name": "schema", "in": "query", "required": true, "schema": {"type": ["string", "null"]},
            }}},
        }));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            raw["components"]["parameters"]["schema"],
            json!({"name": "schema", "in": "query", "required": true, "schema": {"type": "string", "nullable": true}})
        );
    }

    #[test]
    fn documents_of_other_versions_are_left_alone() {
        let (raw, warnings) = normalized(json!({"openapi": 2}));
        assert_eq!(raw, json!({"openapi": 2}));
        assert!(warnings.is_empty());
    }
}
