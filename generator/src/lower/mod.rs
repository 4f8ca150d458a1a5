//! Step 4: the parsed document to the intermediate model.
//!
//! Component schemas get their names first, so a `$ref` anywhere lowers to
//! a name; inline schemas are named from where they stand
//! (`Opportunity` + property `owner` = `OpportunityOwner`, the body of
//! `createOpportunity` = `CreateOpportunityBody`), which keeps names
//! stable when unrelated parts of the spec change.

mod boxing;
mod operation;
mod schema;
mod selection;

pub use selection::SELECTION_EXTENSION;

use crate::diagnostic::{Diagnostics, push_pointer};
use crate::model::{Api, SchemeKind, SecurityScheme, TypeDef};
use crate::names::{Namespace, snake_name, type_name};
use indexmap::IndexMap;
use openapiv3::{OpenAPI, ReferenceOr};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Items the generated module defines besides the spec's types (`Client`,
/// and a provider's `UnifiedMapping`), so no spec type may take them. Names
/// from `core`, `std` and the runtime are free: generated code names those
/// by absolute path (`emit::absolute`), so a spec type `Option` or `From`
/// keeps its name.
const RESERVED_TYPE_NAMES: &[&str] = &["Client", "UnifiedMapping"];

/// A vendor extension on an operation marking a PUT or POST that changes
/// only the fields sent (as Close's and Copper's PUT do); PATCH always does.
pub const PARTIAL_UPDATE_EXTENSION: &str = "x-partial-update";

pub fn lower(doc: &OpenAPI, raw: &Value, diags: &mut Diagnostics) -> Api {
    let selection = selection::select(doc, raw, diags);
    let mut lowerer = Lowerer::new(doc, raw, diags, selection);
    lowerer.components();
    let operations = lowerer.operations();
    let security_schemes = lowerer.security_schemes();
    let mut types: Vec<TypeDef> = lowerer.types.into_iter().flatten().collect();
    boxing::box_recursive_fields(&mut types, lowerer.diags);
    Api {
        title: doc.info.title.clone(),
        description: doc.info.description.clone(),
        default_base_url: default_base_url(doc),
        types,
        operations,
        security_schemes,
        extensions: doc.info.extensions.clone(),
        root_extensions: doc.extensions.clone(),
        servers: doc
            .servers
            .iter()
            .map(|server| server.url.clone())
            .collect(),
    }
}

struct ComponentInfo {
    rust_name: String,
    nullable: bool,
}

pub(crate) struct Lowerer<'a> {
    doc: &'a OpenAPI,
    raw: &'a Value,
    diags: &'a mut Diagnostics,
    /// Slots, so a type can be placed before the types it creates.
    types: Vec<Option<TypeDef>>,
    type_names: Namespace,
    components: IndexMap<String, ComponentInfo>,
    /// Schemas reached by a `$ref` deeper than `components/schemas/NAME`.
    deep_refs: HashMap<String, crate::model::Type>,
    /// Components referenced only as the body of partial updates: they are
    /// generated with three-state fields under their own name.
    patch_only: HashSet<String>,
    /// `{Name}Patch` companions of components also used elsewhere.
    patch_companions: HashMap<String, String>,
    depth: usize,
    selection: selection::Selection,
}

impl<'a> Lowerer<'a> {
    fn new(
        doc: &'a OpenAPI,
        raw: &'a Value,
        diags: &'a mut Diagnostics,
        selection: selection::Selection,
    ) -> Self {
        Lowerer {
            doc,
            raw,
            diags,
            types: Vec::new(),
            type_names: Namespace::with_reserved(RESERVED_TYPE_NAMES),
            components: IndexMap::new(),
            deep_refs: HashMap::new(),
            patch_only: patch_only_components(doc, raw),
            patch_companions: HashMap::new(),
            depth: 0,
            selection,
        }
    }

    fn reserve_slot(&mut self) -> usize {
        self.types.push(None);
        self.types.len() - 1
    }

    fn fill_slot(&mut self, slot: usize, def: TypeDef) {
        self.types[slot] = Some(def);
    }

    fn push_type(&mut self, def: TypeDef) {
        self.types.push(Some(def));
    }

    fn components(&mut self) {
        let Some(components) = &self.doc.components else {
            return;
        };
        for (key, schema) in components
            .schemas
            .iter()
            .filter(|(key, _)| self.selection.has_schema(key))
        {
            let nullable = matches!(schema, ReferenceOr::Item(item) if item.schema_data.nullable);
            let rust_name = self.type_names.claim(type_name(key));
            self.components.insert(
                key.clone(),
                ComponentInfo {
                    rust_name,
                    nullable,
                },
            );
        }
        for (key, schema) in &components.schemas {
            let Some(info) = self.components.get(key) else {
                continue;
            };
            let name = info.rust_name.clone();
            let pointer = push_pointer("/components/schemas", key);
            let patch = self.patch_only.contains(key);
            self.define_named(schema, &name, &pointer, patch);
        }
    }

    fn security_schemes(&mut self) -> Vec<SecurityScheme> {
        let Some(components) = &self.doc.components else {
            return Vec::new();
        };
        let mut setters = Namespace::with_reserved(&[
            "with_http_client",
            "with_extra_query",
            "with_extra_body",
            "with_retry_policy",
        ]);
        let mut schemes = Vec::new();
        for (key, scheme) in &components.security_schemes {
            let pointer = push_pointer("/components/securitySchemes", key);
            let ReferenceOr::Item(scheme) = scheme else {
                self.diags.warning(
                    pointer,
                    "a `$ref` security scheme is not supported; define the scheme here",
                );
                continue;
            };
            use openapiv3::{APIKeyLocation, SecurityScheme as Spec};
            let (kind, doc) = match scheme {
                Spec::HTTP {
                    scheme,
                    description,
                    ..
                } => match scheme.to_ascii_lowercase().as_str() {
                    "basic" => (SchemeKind::Basic, description),
                    "bearer" => (SchemeKind::Bearer, description),
                    other => {
                        self.diags.warning(
                            pointer,
                            format!("HTTP scheme `{other}` is not supported (only basic and bearer); operations using it get no credentials"),
                        );
                        continue;
                    }
                },
                Spec::APIKey {
                    location,
                    name,
                    description,
                    ..
                } => (
                    match location {
                        APIKeyLocation::Header => SchemeKind::ApiKeyHeader(name.clone()),
                        APIKeyLocation::Query => SchemeKind::ApiKeyQuery(name.clone()),
                        APIKeyLocation::Cookie => SchemeKind::ApiKeyCookie(name.clone()),
                    },
                    description,
                ),
                Spec::OAuth2 { description, .. } | Spec::OpenIDConnect { description, .. } => {
                    (SchemeKind::Bearer, description)
                }
            };
            schemes.push(SecurityScheme {
                key: key.clone(),
                setter: setters.claim(format!("with_{}", snake_name(key))),
                kind,
                doc: doc.clone(),
            });
        }
        schemes
    }
}

fn default_base_url(doc: &OpenAPI) -> Option<String> {
    let server = doc.servers.first()?;
    let mut url = server.url.clone();
    for (name, variable) in server.variables.iter().flatten() {
        url = url.replace(&format!("{{{name}}}"), &variable.default);
    }
    // A relative URL only means something next to the spec's own host.
    url.contains("://")
        .then(|| url.trim_end_matches('/').to_owned())
}

/// Whether the operation changes only the fields it sends.
fn is_partial_update(method: &str, extensions: &IndexMap<String, Value>) -> bool {
    method.eq_ignore_ascii_case("patch")
        || extensions.get(PARTIAL_UPDATE_EXTENSION) == Some(&Value::Bool(true))
}

/// Components whose every `$ref` is the request body of a partial update.
fn patch_only_components(doc: &OpenAPI, raw: &Value) -> HashSet<String> {
    let mut body_counts: HashMap<String, usize> = HashMap::new();
    for (_, method, operation) in doc.operations() {
        if !is_partial_update(method, &operation.extensions) {
            continue;
        }
        if let Some(ReferenceOr::Item(body)) = &operation.request_body {
            for media in body.content.values() {
                if let Some(ReferenceOr::Reference { reference }) = &media.schema {
                    if let Some(key) = crate::reference::schema_name(reference) {
                        *body_counts.entry(key).or_default() += 1;
                    }
                }
            }
        }
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    count_component_refs(raw, &mut counts);
    body_counts
        .into_iter()
        .filter(|(key, count)| counts.get(key) == Some(count))
        .map(|(key, _)| key)
        .collect()
}

fn count_component_refs(value: &Value, counts: &mut HashMap<String, usize>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                if let Some(key) = crate::reference::schema_name(reference) {
                    *counts.entry(key).or_default() += 1;
                }
            }
            object
                .values()
                .for_each(|child| count_component_refs(child, counts));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|child| count_component_refs(child, counts)),
        _ => {}
    }
}
