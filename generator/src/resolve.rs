//! Step 2: `$ref`s. External references (relative files next to the spec)
//! are bundled into the document: schemas are hoisted into
//! `components/schemas` under their own name, anything else is inlined.
//! Afterwards every `$ref` is local, and each one is checked: it must point
//! at something, and a chain of references must end in a definition.
//! Fragments are percent-decoded before their pointer applies
//! ([`crate::reference`]).

use crate::diagnostic::{Diagnostics, pointer_tokens, push_pointer};
use crate::load::load_file;
use crate::reference;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Bundles the external references of `root`, read from `root_path`.
pub fn bundle(root: &mut Value, root_path: &Path, diags: &mut Diagnostics) {
    let mut bundler = Bundler {
        diags,
        files: HashMap::new(),
        hoisted: HashMap::new(),
        hoisted_schemas: Vec::new(),
        taken_names: existing_schema_names(root),
        inlining: Vec::new(),
    };
    bundler.walk(root, root_path, true, "");
    if bundler.hoisted_schemas.is_empty() {
        return;
    }
    let schemas = root
        .as_object_mut()
        .map(|object| {
            object
                .entry("components")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .map(|components| {
            components
                .entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut);
    if let Some(schemas) = schemas {
        for (name, schema) in bundler.hoisted_schemas {
            schemas.insert(name, schema);
        }
    }
}

fn existing_schema_names(root: &Value) -> HashSet<String> {
    root.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|schemas| schemas.keys().cloned().collect())
        .unwrap_or_default()
}

struct Bundler<'a> {
    diags: &'a mut Diagnostics,
    files: HashMap<PathBuf, Option<Value>>,
    hoisted: HashMap<(PathBuf, String), String>,
    hoisted_schemas: Vec<(String, Value)>,
    taken_names: HashSet<String>,
    /// External references being inlined, to catch a file that includes
    /// itself.
    inlining: Vec<(PathBuf, String)>,
}

impl Bundler<'_> {
    fn walk(&mut self, value: &mut Value, file: &Path, in_root: bool, pointer: &str) {
        match value {
            Value::Object(object) => {
                if let Some(Value::String(reference)) = object.get("$ref") {
                    let reference = reference.clone();
                    if !(in_root && reference.starts_with('#')) {
                        self.external(value, &reference, file, pointer);
                        return;
                    }
                }
                for (key, child) in object.iter_mut() {
                    if !reference::holds_references(pointer, key) {
                        continue;
                    }
                    let child_pointer = push_pointer(pointer, key);
                    self.walk(child, file, in_root, &child_pointer);
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter_mut().enumerate() {
                    let child_pointer = push_pointer(pointer, &index.to_string());
                    self.walk(child, file, in_root, &child_pointer);
                }
            }
            _ => {}
        }
    }

    fn external(&mut self, value: &mut Value, reference: &str, file: &Path, pointer: &str) {
        let ref_pointer = push_pointer(pointer, "$ref");
        if reference.contains("://") {
            self.diags.error(
                ref_pointer,
                format!(
                    "`{reference}` is a remote reference, which the generator does not fetch; \
                     save that document next to the spec and refer to it by relative path"
                ),
            );
            return;
        }
        let (file_part, fragment) = reference::split(reference);
        let target_file = if file_part.is_empty() {
            file.to_path_buf()
        } else {
            relative_file(file, file_part)
        };
        let Some((pointer_found, target)) =
            self.node(&target_file, fragment, reference, &ref_pointer)
        else {
            return;
        };
        let key = (target_file.clone(), pointer_found.clone());
        if is_schema_position(pointer) {
            let name = match self.hoisted.get(&key) {
                Some(name) => name.clone(),
                None => {
                    let name = self.fresh_name(&target_file, &pointer_found);
                    self.hoisted.insert(key, name.clone());
                    let mut schema = target;
                    let schema_pointer = push_pointer("/components/schemas", &name);
                    self.walk(&mut schema, &target_file, false, &schema_pointer);
                    self.hoisted_schemas.push((name.clone(), schema));
                    name
                }
            };
            *value = serde_json::json!({
                "$ref": reference::component_reference("/components/schemas", &name)
            });
        } else {
            if self.inlining.contains(&key) {
                self.diags.error(
                    ref_pointer,
                    format!("`{reference}` includes itself through a chain of external references; break the cycle"),
                );
                return;
            }
            self.inlining.push(key);
            let mut inlined = target;
            self.walk(&mut inlined, &target_file, false, pointer);
            self.inlining.pop();
            *value = inlined;
        }
    }

    /// What `fragment` points at in `file`, and the decoded pointer that
    /// reached it.
    fn node(
        &mut self,
        file: &Path,
        fragment: &str,
        reference: &str,
        pointer: &str,
    ) -> Option<(String, Value)> {
        if !self.files.contains_key(file) {
            let loaded = match load_file(file) {
                Ok(value) => Some(value),
                Err(error) => {
                    self.diags.error(
                        pointer,
                        format!("`{reference}` cannot be followed: {error}"),
                    );
                    None
                }
            };
            self.files.insert(file.to_path_buf(), loaded);
        }
        let document = self.files.get(file)?.as_ref()?;
        let node = reference::locate(document, fragment)
            .map(|(found, node)| (found.into_owned(), node.clone()));
        if node.is_none() {
            self.diags.error(
                pointer,
                format!(
                    "`{reference}` points at `#{}`, which does not exist in {}",
                    reference::pointer_of(fragment),
                    file.display()
                ),
            );
        }
        node
    }

    /// A name for a hoisted schema: the last token of its pointer.
    fn fresh_name(&mut self, file: &Path, pointer: &str) -> String {
        let base = pointer_tokens(pointer)
            .pop()
            .filter(|token| !token.is_empty())
            .or_else(|| {
                file.file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "External".to_owned());
        let mut name = base.clone();
        let mut counter = 2;
        while !self.taken_names.insert(name.clone()) {
            name = format!("{base}{counter}");
            counter += 1;
        }
        name
    }
}

/// The file a relative reference names, next to `file`. The location is
/// a URI reference, so it is percent-decoded too (`my%20types.yaml`); a
/// file whose name holds a literal `%` escape is still found as written.
fn relative_file(file: &Path, location: &str) -> PathBuf {
    let directory = file.parent().unwrap_or(Path::new("."));
    let decoded = reference::pointer_of(location);
    let candidate = directory.join(decoded.as_ref());
    if decoded != location && !candidate.is_file() {
        directory.join(location)
    } else {
        candidate
    }
}

/// Whether a `$ref` at `pointer` stands where a schema is expected.
fn is_schema_position(pointer: &str) -> bool {
    let tokens = pointer_tokens(pointer);
    let parent = tokens.last().map(String::as_str);
    let grandparent = tokens
        .len()
        .checked_sub(2)
        .map(|index| tokens[index].as_str());
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

/// Checks every local `$ref`: it must point at something, and following a
/// chain of references must reach a definition, not come back.
pub fn check_local_refs(root: &Value, diags: &mut Diagnostics) {
    let mut refs = Vec::new();
    collect_refs(root, "", &mut refs);
    for (pointer, reference) in refs {
        let ref_pointer = push_pointer(&pointer, "$ref");
        let Some(fragment) = reference::local_fragment(&reference) else {
            continue;
        };
        // Compared decoded, so `#/a%20b` and `#/a b` are one step.
        let mut seen = vec![reference::canonical(&reference).into_owned()];
        let mut shown = vec![reference.clone()];
        let mut current = fragment.to_owned();
        loop {
            let Some(target) = reference::follow(root, &current) else {
                diags.error(
                    ref_pointer.clone(),
                    format!(
                        "`$ref: {reference}` points at `#{}`, which does not exist; define it or fix the reference",
                        reference::pointer_of(&current)
                    ),
                );
                break;
            };
            match target.get("$ref").and_then(Value::as_str) {
                Some(next) => {
                    let Some(next_fragment) = reference::local_fragment(next) else {
                        break;
                    };
                    let key = reference::canonical(next).into_owned();
                    shown.push(next.to_owned());
                    if seen.contains(&key) {
                        diags.error(
                            ref_pointer.clone(),
                            format!(
                                "`$ref` cycle: {}; each reference leads to another and none to a definition",
                                shown.join(" -> ")
                            ),
                        );
                        break;
                    }
                    seen.push(key);
                    current = next_fragment.to_owned();
                }
                None => break,
            }
        }
    }
}

fn collect_refs(value: &Value, pointer: &str, refs: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                refs.push((pointer.to_owned(), reference.clone()));
            }
            for (key, child) in object {
                if key != "$ref" && reference::holds_references(pointer, key) {
                    collect_refs(child, &push_pointer(pointer, key), refs);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_refs(child, &push_pointer(pointer, &index.to_string()), refs);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(root: &Value) -> Vec<String> {
        let mut diags = Diagnostics::new("spec.yaml");
        check_local_refs(root, &mut diags);
        diags
            .into_vec()
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn dangling_refs_are_named_with_their_pointer() {
        let root =
            json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/Missing"}}}});
        assert_eq!(
            errors(&root),
            [
                "error: spec.yaml#/components/schemas/A/$ref: `$ref: #/components/schemas/Missing` points at `#/components/schemas/Missing`, which does not exist; define it or fix the reference"
            ]
        );
    }

    #[test]
    fn reference_cycles_are_named() {
        let root = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
        }}});
        let errors = errors(&root);
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("`$ref` cycle: #/components/schemas/B -> #/components/schemas/A -> #/components/schemas/B"), "{errors:?}");
    }

    #[test]
    fn recursion_through_properties_is_not_a_cycle() {
        let root = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}},
        }}});
        assert!(errors(&root).is_empty());
    }
}
