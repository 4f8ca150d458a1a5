//! Remote references (`https://.../users.json#/...`) read from a copy next
//! to the spec. The generator never fetches: a vendor that publishes its
//! spec as several files linked by absolute URLs (Zoho CRM does) is
//! generated from the files saved side by side.
//!
//! What a remote reference points at is brought in the way
//! [`crate::resolve`] brings in relative files: schemas are copied into
//! `components/schemas` under their own name, anything else is inlined;
//! references inside the copied parts are followed the same way.

use super::Pointer;
use crate::diagnostic::{Diagnostics, pointer_tokens};
use crate::load::load_file;
use crate::reference;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

/// How deep inlined non-schema parts may nest references to more of them.
const MAX_INLINE_DEPTH: usize = 32;

/// Brings in each remote `$ref` whose file name exists next to `path`,
/// with one warning per remote file.
pub(super) fn localize_remote_refs(raw: &mut Value, path: &Path, diags: &mut Diagnostics) {
    let mut localizer = Localizer {
        directory: path.parent().unwrap_or(Path::new(".")),
        diags,
        files: HashMap::new(),
        documents: HashMap::new(),
        hoisted: HashMap::new(),
        pending: VecDeque::new(),
        new_schemas: Vec::new(),
        taken: raw
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| schemas.keys().cloned().collect())
            .unwrap_or_default(),
        pointer: Pointer::default(),
        depth: 0,
    };
    localizer.walk(raw, None);
    // Copied schemas are walked one after the other rather than from
    // inside each other, so a long chain of references cannot exhaust the
    // stack.
    while let Some((name, file, mut schema)) = localizer.pending.pop_front() {
        localizer.pointer = Pointer::default();
        localizer.pointer.push("components");
        localizer.pointer.push("schemas");
        localizer.pointer.push(&name);
        localizer.walk(&mut schema, Some(&file));
        localizer.new_schemas.push((name, schema));
    }
    if localizer.new_schemas.is_empty() {
        return;
    }
    let Some(root) = raw.as_object_mut() else {
        return;
    };
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(components) = components.as_object_mut() else {
        return;
    };
    let schemas = components
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(schemas) = schemas.as_object_mut() {
        for (name, schema) in localizer.new_schemas {
            schemas.insert(name, schema);
        }
    }
}

struct Localizer<'a> {
    directory: &'a Path,
    diags: &'a mut Diagnostics,
    /// Remote file URL to the name of its local copy, if there is one.
    files: HashMap<String, Option<String>>,
    /// Local copies, loaded once.
    documents: HashMap<String, Option<Value>>,
    /// (file, decoded pointer) of a schema to its name in
    /// `components/schemas`.
    hoisted: HashMap<(String, String), String>,
    /// Copied schemas still to walk: name, file, schema.
    pending: VecDeque<(String, String, Value)>,
    new_schemas: Vec<(String, Value)>,
    taken: HashSet<String>,
    pointer: Pointer,
    depth: usize,
}

impl Localizer<'_> {
    /// `file`: the local copy `value` was taken from; `None` for the spec.
    fn walk(&mut self, value: &mut Value, file: Option<&str>) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(reference)) = object.get("$ref") {
                    let reference = reference.clone();
                    if let Some(replacement) = self.reference(&reference, file) {
                        *value = replacement;
                        return;
                    }
                }
                for (key, child) in object.iter_mut() {
                    if key == "$ref" || !reference::holds_references(self.pointer.as_str(), key) {
                        continue;
                    }
                    let length = self.pointer.push(key);
                    self.walk(child, file);
                    self.pointer.truncate(length);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter_mut().enumerate() {
                    let length = self.pointer.push_index(index);
                    self.walk(child, file);
                    self.pointer.truncate(length);
                }
            }
            _ => {}
        }
    }

    /// What replaces the object holding `$ref: reference`, or `None` to
    /// leave it for the resolver.
    fn reference(&mut self, reference: &str, file: Option<&str>) -> Option<Value> {
        let (location, fragment) = reference::split(reference);
        let target_file = if location.contains("://") {
            self.local_copy(location)?
        } else if location.is_empty() {
            // Inside a copied part, `#/...` means that part's own file.
            file?.to_owned()
        } else if file.is_some() && !location.contains('/') {
            location.to_owned()
        } else {
            return None;
        };
        let schema_position = is_schema_position(self.pointer.as_str());
        let known = self
            .hoisted
            .get(&(
                target_file.clone(),
                reference::pointer_of(fragment).into_owned(),
            ))
            .filter(|_| schema_position);
        if let Some(name) = known {
            return Some(local_schema_ref(name));
        }
        let (pointer, target) = self.node(&target_file, fragment)?;
        if schema_position {
            let name = self.hoist(target_file, &pointer, target);
            return Some(local_schema_ref(&name));
        }
        if self.depth >= MAX_INLINE_DEPTH {
            return None;
        }
        let mut inlined = target;
        self.depth += 1;
        self.walk(&mut inlined, Some(&target_file));
        self.depth -= 1;
        Some(inlined)
    }

    /// `pointer`: the decoded pointer that reached `target` in `file`.
    fn hoist(&mut self, file: String, pointer: &str, target: Value) -> String {
        let key = (file, pointer.to_owned());
        if let Some(name) = self.hoisted.get(&key) {
            return name.clone();
        }
        let base = pointer_tokens(pointer)
            .pop()
            .filter(|token| !token.is_empty())
            .unwrap_or_else(|| "External".to_owned());
        let mut name = base.clone();
        let mut counter = 2;
        while !self.taken.insert(name.clone()) {
            name = format!("{base}{counter}");
            counter += 1;
        }
        self.hoisted.insert(key.clone(), name.clone());
        self.pending.push_back((name.clone(), key.0, target));
        name
    }

    /// The name of the local copy of a remote file, if it exists.
    fn local_copy(&mut self, url: &str) -> Option<String> {
        if !self.files.contains_key(url) {
            let name = url
                .split(['?', '#'])
                .next()
                .and_then(|without_query| without_query.rsplit('/').next())
                .filter(|name| !name.is_empty() && self.directory.join(name).is_file())
                .map(str::to_owned);
            if let Some(name) = &name {
                let pointer = self.pointer.child("$ref");
                self.diags.warning(
                    pointer,
                    format!(
                        "`{url}` is read from {name} next to this spec (remote references are not fetched); keep that copy current"
                    ),
                );
            }
            self.files.insert(url.to_owned(), name);
        }
        self.files.get(url)?.clone()
    }

    /// What `fragment` points at in `file`, and the decoded pointer that
    /// reached it.
    fn node(&mut self, file: &str, fragment: &str) -> Option<(String, Value)> {
        if !self.documents.contains_key(file) {
            // A copy that cannot be read is left to the resolver, which
            // reports the reference.
            let document = load_file(&self.directory.join(file)).ok();
            self.documents.insert(file.to_owned(), document);
        }
        let document = self.documents.get(file)?.as_ref()?;
        reference::locate(document, fragment)
            .map(|(pointer, node)| (pointer.into_owned(), node.clone()))
    }
}

fn local_schema_ref(name: &str) -> Value {
    let mut object = Map::new();
    object.insert(
        "$ref".into(),
        Value::String(reference::component_reference("/components/schemas", name)),
    );
    Value::Object(object)
}

/// Whether a `$ref` at `pointer` stands where a schema is expected (as
/// the resolver decides it).
fn is_schema_position(pointer: &str) -> bool {
    let tokens = pointer_tokens(pointer);
    let parent = tokens.last().map(String::as_str);
    let grandparent = tokens
        .len()
        .checked_sub(2)
        .and_then(|index| tokens.get(index))
        .map(String::as_str);
    matches!(
        parent,
        Some("schema" | "items" | "additionalProperties" | "not" | "contains" | "propertyNames")
    ) || matches!(
        grandparent,
        Some(
            "properties"
                | "allOf"
                | "oneOf"
                | "anyOf"
                | "schemas"
                | "definitions"
                | "$defs"
                | "patternProperties"
                | "prefixItems"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_references_are_read_from_copies_next_to_the_spec() {
        let dir = tempfile::tempdir().expect("temp dir");
        let other = json!({"components": {
            "schemas": {
                "User": {"type": "object", "properties": {"team": {"$ref": "#/components/schemas/Team"}}},
                "Team": {"type": "object", "properties": {"lead": {"$ref": "https://example.com/v1/other.json#/components/schemas/User"}}},
            },
            "securitySchemes": {"oauth": {"type": "oauth2", "flows": {}}},
        }});
        std::fs::write(dir.path().join("other.json"), other.to_string()).expect("write");
        let mut raw = json!({
            "openapi": "3.0.3",
            "components": {
                "schemas": {
                    "Deal": {"type": "object", "properties": {
                        "owner": {"$ref": "https://example.com/v1/other.json#/components/schemas/User"},
                        "missing": {"$ref": "https://example.com/v1/absent.json#/components/schemas/X"},
                    }},
                },
                "securitySchemes": {
                    "oauth": {"$ref": "https://example.com/v1/other.json#/components/securitySchemes/oauth"},
                },
            },
        });
        let mut diags = Diagnostics::new("spec.json");
        localize_remote_refs(&mut raw, &dir.path().join("spec.json"), &mut diags);
        assert_eq!(
            raw["components"]["schemas"],
            json!({
                "Deal": {"type": "object", "properties": {
                    "owner": {"$ref": "#/components/schemas/User"},
                    "missing": {"$ref": "https://example.com/v1/absent.json#/components/schemas/X"},
                }},
                "User": {"type": "object", "properties": {"team": {"$ref": "#/components/schemas/Team"}}},
                "Team": {"type": "object", "properties": {"lead": {"$ref": "#/components/schemas/User"}}},
            })
        );
        assert_eq!(
            raw["components"]["securitySchemes"]["oauth"],
            json!({"type": "oauth2", "flows": {}})
        );
        let warnings: Vec<String> = diags.into_vec().iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "warning: spec.json#/components/schemas/Deal/properties/owner/$ref: `https://example.com/v1/other.json` is read from other.json next to this spec (remote references are not fetched); keep that copy current"
            ]
        );
    }
}
