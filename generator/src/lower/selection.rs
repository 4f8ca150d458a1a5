//! Subsets of large specs. A spec may name, under the top-level extension
//! `x-codegen-operations`, the operations to generate: each entry is an
//! operationId, `METHOD /path`, or a unified binding (the operation's
//! `x-unified-operation`). Only those operations are generated, and only
//! the component schemas they reach.

use crate::diagnostic::{Diagnostics, push_pointer};
use openapiv3::OpenAPI;
use serde_json::Value;
use std::collections::{HashSet, VecDeque};

pub const SELECTION_EXTENSION: &str = "x-codegen-operations";

#[derive(Debug, Default)]
pub(super) struct Selection {
    /// `(path, lowercase method)` of the selected operations; `None`: all.
    operations: Option<HashSet<(String, String)>>,
    /// Component schemas the selected operations reach; `None`: all.
    schemas: Option<HashSet<String>>,
}

impl Selection {
    pub(super) fn has_operation(&self, path: &str, method: &str) -> bool {
        self.operations.as_ref().is_none_or(|operations| {
            operations.contains(&(path.to_owned(), method.to_ascii_lowercase()))
        })
    }

    pub(super) fn has_schema(&self, name: &str) -> bool {
        self.schemas
            .as_ref()
            .is_none_or(|schemas| schemas.contains(name))
    }
}

pub(super) fn select(doc: &OpenAPI, raw: &Value, diags: &mut Diagnostics) -> Selection {
    let Some(selectors) = raw.get(SELECTION_EXTENSION) else {
        return Selection::default();
    };
    let pointer = push_pointer("", SELECTION_EXTENSION);
    let Some(selectors) = selectors.as_array() else {
        diags.warning(pointer, "must be a list of operationIds, `METHOD /path` or unified bindings; every operation is generated");
        return Selection::default();
    };
    let selectors: Vec<(usize, &str)> = selectors
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_str().map(|s| (i, s)))
        .collect();
    let mut used = vec![false; selectors.len()];
    let mut operations = HashSet::new();
    for (path, method, operation) in doc.operations() {
        let binding = operation
            .extensions
            .get("x-unified-operation")
            .and_then(Value::as_str);
        let route = format!("{} {path}", method.to_ascii_uppercase());
        for (slot, (_, selector)) in selectors.iter().enumerate() {
            let matches = operation.operation_id.as_deref() == Some(*selector)
                || route.eq_ignore_ascii_case(selector)
                || binding == Some(*selector);
            if matches {
                used[slot] = true;
                operations.insert((path.to_owned(), method.to_ascii_lowercase()));
            }
        }
    }
    for ((index, selector), used) in selectors.iter().zip(used) {
        if !used {
            diags.warning(
                push_pointer(&pointer, &index.to_string()),
                format!("`{selector}` matches no operation"),
            );
        }
    }
    let schemas = reachable_schemas(raw, &operations);
    Selection {
        operations: Some(operations),
        schemas: Some(schemas),
    }
}

/// Component schemas reached from the selected operations, through any
/// chain of references (schemas, parameters, responses, bodies, headers).
fn reachable_schemas(raw: &Value, operations: &HashSet<(String, String)>) -> HashSet<String> {
    let mut pending: VecDeque<&Value> = VecDeque::new();
    for (path, method) in operations {
        if let Some(item) = raw.get("paths").and_then(|paths| paths.get(path)) {
            pending.extend(item.get(method));
            pending.extend(item.get("parameters"));
        }
    }
    let mut seen_refs: HashSet<String> = HashSet::new();
    let mut schemas = HashSet::new();
    while let Some(node) = pending.pop_front() {
        match node {
            Value::Object(object) => {
                if let Some(Value::String(reference)) = object.get("$ref") {
                    if seen_refs.insert(reference.clone()) {
                        if let Some(name) = crate::reference::schema_name(reference) {
                            schemas.insert(name);
                        }
                        if let Some(target) = crate::reference::follow_local(raw, reference) {
                            pending.push_back(target);
                        }
                    }
                }
                pending.extend(
                    object
                        .iter()
                        .filter(|(key, _)| *key != "example" && *key != "examples")
                        .map(|(_, value)| value),
                );
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    schemas
}
