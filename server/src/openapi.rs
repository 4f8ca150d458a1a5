//! `GET /openapi.json`: the unified document codegen reads
//! (`specs/unified/crm.yaml`, compiled in), plus what this server adds: the
//! integrated-accounts endpoints and one credentials schema per provider,
//! `Idempotency-Key` on the unified writes (409, `Idempotent-Replayed`),
//! the provider's 403, and this server's own limits (`limit` in a 429).

use crate::accounts::{credential_fields, setting_fields};
use crm_runtime::support::ResourceSupport;
use serde_json::{Map, Value, json};
use unified_crm::Provider;

const UNIFIED_SPEC: &str = include_str!("../../specs/unified/crm.yaml");

/// The served document.
pub fn document() -> Result<Value, String> {
    let mut document: Value = serde_yaml::from_str(UNIFIED_SPEC)
        .map_err(|error| format!("specs/unified/crm.yaml: {error}"))?;
    let paths = object(&mut document, "paths")?;
    for (path, item) in account_paths() {
        paths.insert(path, item);
    }
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .ok_or("specs/unified/crm.yaml: `components.schemas` is not an object")?;
    for (name, schema) in account_schemas() {
        schemas.insert(name, schema);
    }
    if let Some(properties) = schemas
        .get_mut("Error")
        .and_then(|error| error.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        properties.insert(
            "limit".into(),
            json!({
                "type": "object",
                "description": "Present when this server's own limit (not the provider's) refused the request: which one.",
                "required": ["source", "scope", "limit"],
                "properties": {
                    "source": {"type": "string", "enum": ["server"]},
                    "scope": {"type": "string", "enum": ["tenant", "account", "streams"]},
                    "limit": {"type": "integer", "minimum": 1, "description": "Requests per period, or concurrent streams."},
                    "period_seconds": {"type": "number", "description": "The period of a rate limit."},
                },
            }),
        );
    }
    annotate_support(schemas);
    annotate_remote_query(&mut document);
    annotate_filters(&mut document);
    annotate_lookups(&mut document);
    add_unified_extras(&mut document)?;
    if let Some(tags) = document.get_mut("tags").and_then(Value::as_array_mut) {
        tags.push(json!({"name": "Integrated accounts", "description": "A tenant's connections to its CRMs."}));
    }
    Ok(document)
}

/// `Idempotency-Key` and its answers on the unified writes; the provider's
/// 403 on every unified operation.
fn add_unified_extras(document: &mut Value) -> Result<(), String> {
    let components = object(document, "components")?;
    for key in ["parameters", "headers", "responses"] {
        if !components.get(key).is_some_and(Value::is_object) {
            components.insert(key.to_owned(), json!({}));
        }
    }
    let error_content =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    if let Some(parameters) = components
        .get_mut("parameters")
        .and_then(Value::as_object_mut)
    {
        parameters.insert(
            "IdempotencyKey".into(),
            json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": "Makes the write safe to retry: the first request's status and body are kept for 24 hours with the tenant, the key and a hash of the request (method, path, query string, body). The same request with the same key gets them back (with `Idempotent-Replayed: true`) without calling the provider; the same key with another request is a 422; the same request while the first is still running is a 409.",
                "schema": {"type": "string", "minLength": 1, "maxLength": crate::idempotency::MAX_KEY_LEN, "pattern": "^[!-~]+$"},
                "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
            }),
        );
    }
    if let Some(headers) = components.get_mut("headers").and_then(Value::as_object_mut) {
        headers.insert(
            "IdempotentReplayed".into(),
            json!({
                "description": "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.",
                "schema": {"type": "string", "enum": ["true"]},
            }),
        );
    }
    if let Some(responses) = components
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    {
        responses.insert(
            "Forbidden".into(),
            json!({
                "description": "The provider refused the operation for the account's credentials (a missing permission); `provider` has its answer. Distinct from this server's own 401.",
                "content": error_content.clone(),
            }),
        );
        responses.insert(
            "Conflict".into(),
            json!({
                "description": "A request with the same `Idempotency-Key` is still in progress; retry after it finishes.",
                "headers": {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                "content": error_content,
            }),
        );
        if let Some(description) = responses
            .get_mut("TooManyRequests")
            .and_then(|response| response.get_mut("description"))
        {
            *description = json!(
                "Rate limited: by this server (its per-tenant or per-account rate, or its cap on concurrent streams; the body has `limit` and no `provider`) or by the provider (`provider` has its answer). `Retry-After` says when to try again."
            );
        }
        if let Some(description) = responses
            .get_mut("Unauthorized")
            .and_then(|response| response.get_mut("description"))
        {
            *description = json!(
                "The bearer token is missing, unknown or revoked (with `WWW-Authenticate: Bearer`), or the provider rejected the account's credentials (`provider` has its answer)."
            );
        }
    }
    let paths = object(document, "paths")?;
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/unified/") {
            continue;
        }
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            let write = matches!(method.as_str(), "post" | "patch" | "delete");
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                responses.insert(
                    "403".into(),
                    json!({"$ref": "#/components/responses/Forbidden"}),
                );
                if write {
                    responses.insert(
                        "409".into(),
                        json!({"$ref": "#/components/responses/Conflict"}),
                    );
                    for success in ["200", "201"] {
                        if let Some(response) =
                            responses.get_mut(success).and_then(Value::as_object_mut)
                        {
                            let headers = response.entry("headers").or_insert_with(|| json!({}));
                            if let Some(headers) = headers.as_object_mut() {
                                headers.insert(
                                    "Idempotent-Replayed".into(),
                                    json!({"$ref": "#/components/headers/IdempotentReplayed"}),
                                );
                            }
                        }
                    }
                }
            }
            if write {
                let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
                if let Some(parameters) = parameters.as_array_mut() {
                    parameters.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
                }
            }
        }
    }
    Ok(())
}

/// Says, per provider, where `remote_query` entries go.
fn annotate_remote_query(document: &mut Value) {
    let names = |in_body: bool| -> String {
        let names: Vec<&str> = Provider::ALL
            .iter()
            .filter(|provider| provider.remote_query_in_body() == in_body)
            .map(|provider| provider.name())
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    };
    let line = format!(
        "\n\nIn the query string: {}. In the search body: {}.",
        names(false),
        names(true)
    );
    if let Some(Value::String(description)) =
        document.pointer_mut("/components/parameters/RemoteQuery/description")
    {
        description.push_str(&line);
    }
}

/// Which providers do something, and why the others cannot: as
/// `x-supported-in` (keys), `x-unsupported-in` (key to reason) and a
/// "Supported in" / "Not supported in" line of the description.
fn support_lines(
    object: &mut Map<String, Value>,
    refusal: impl Fn(Provider) -> Option<&'static str>,
) {
    let mut supported = Vec::new();
    let mut unsupported = Map::new();
    let mut refused = Vec::new();
    for &provider in Provider::ALL {
        match refusal(provider) {
            None => supported.push(provider),
            Some(reason) => {
                unsupported.insert(provider.key().into(), json!(reason));
                refused.push(format!("{} ({reason})", provider.name()));
            }
        }
    }
    let names: Vec<&str> = supported.iter().map(|provider| provider.name()).collect();
    let mut description = object
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    description.push_str(&format!(
        "\n\nSupported in: {}.",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    ));
    if !refused.is_empty() {
        description.push_str(&format!("\n\nNot supported in: {}.", refused.join("; ")));
    }
    object.insert("description".into(), json!(description.trim_start()));
    let keys: Vec<&str> = supported.iter().map(|provider| provider.key()).collect();
    object.insert("x-supported-in".into(), json!(keys));
    object.insert("x-unsupported-in".into(), Value::Object(unsupported));
}

/// Each list filter's support, from the providers' `x-unified-filters`.
/// `sort_by` is supported per value: its `x-supported-in` and
/// `x-unsupported-in` are keyed by value.
fn annotate_filters(document: &mut Value) {
    for (parameter, filter) in [
        ("UpdatedAfter", "updated_at[gt]"),
        ("CreatedAfter", "created_at[gt]"),
        ("StatusFilter", "status"),
        ("OwnerIdFilter", "owner_id"),
        ("AccountIdFilter", "account_id"),
    ] {
        if let Some(object) = document
            .pointer_mut(&format!("/components/parameters/{parameter}"))
            .and_then(Value::as_object_mut)
        {
            support_lines(object, |provider| {
                provider.opportunities_support().filter_refusal(filter)
            });
        }
    }
    let Some(sort_by) = document
        .pointer_mut("/components/parameters/SortBy")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut supported = Map::new();
    let mut unsupported = Map::new();
    let mut lines = String::new();
    for value in ["updated_at", "created_at"] {
        let mut by_value = Map::new();
        support_lines(&mut by_value, |provider| {
            provider
                .opportunities_support()
                .filter_refusal(&format!("sort_by={value}"))
        });
        lines.push_str(&format!(
            "\n\n`{value}`: {}",
            by_value
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .replace("\n\n", " ")
        ));
        supported.insert(
            value.into(),
            by_value.remove("x-supported-in").unwrap_or_default(),
        );
        unsupported.insert(
            value.into(),
            by_value.remove("x-unsupported-in").unwrap_or_default(),
        );
    }
    if let Some(Value::String(description)) = sort_by.get_mut("description") {
        description.push_str(&lines);
    }
    sort_by.insert("x-supported-in".into(), Value::Object(supported));
    sort_by.insert("x-unsupported-in".into(), Value::Object(unsupported));
}

/// Each lookup's support, from the providers' bindings and
/// `x-unified-unsupported`.
fn annotate_lookups(document: &mut Value) {
    for (path, lookup) in [
        ("/unified/crm/fields", unified_crm::Lookup::CustomFields),
        ("/unified/crm/stages", unified_crm::Lookup::Stages),
        ("/unified/crm/users", unified_crm::Lookup::Users),
    ] {
        let pointer = format!("/paths/{}/get", path.replace('~', "~0").replace('/', "~1"));
        if let Some(operation) = document
            .pointer_mut(&pointer)
            .and_then(Value::as_object_mut)
        {
            support_lines(operation, |provider| {
                provider.lookup_support().reason(lookup.binding())
            });
        }
    }
}

/// The fields of one operation a provider supports, and requires.
type SupportOf = fn(&ResourceSupport) -> (&'static [&'static str], &'static [&'static str]);

/// Adds to each unified opportunity property the providers that support
/// (and, for creates, require) it, from each provider's spec: as
/// `x-supported-in` / `x-required-in` and as a line of its description,
/// the way the seed documents show "Supported in" and "Required in".
fn annotate_support(schemas: &mut Map<String, Value>) {
    let tables: [(&str, SupportOf); 3] = [
        ("Opportunity", |support| (support.read, &[])),
        ("OpportunityCreate", |support| {
            (support.create.supported, support.create.required)
        }),
        ("OpportunityUpdate", |support| {
            (support.update.supported, support.update.required)
        }),
    ];
    for (schema, table) in tables {
        let Some(properties) = schemas
            .get_mut(schema)
            .and_then(|schema| schema.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (field, property) in properties.iter_mut() {
            let mut supported = Vec::new();
            let mut required = Vec::new();
            for &provider in Provider::ALL {
                let support = provider.opportunities_support();
                let (fields, needed) = table(&support);
                if fields.contains(&field.as_str()) || field == "remote_data" || field == "id" {
                    supported.push(provider.key());
                }
                if needed.contains(&field.as_str()) {
                    required.push(provider.key());
                }
            }
            let Some(property) = property.as_object_mut() else {
                continue;
            };
            let names = |keys: &[&str]| -> String {
                if keys.is_empty() {
                    "none".into()
                } else {
                    keys.iter()
                        .filter_map(|key| key.parse::<Provider>().ok())
                        .map(|provider| provider.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let mut description = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            description.push_str(&format!("\n\nSupported in: {}.", names(&supported)));
            if !required.is_empty() {
                description.push_str(&format!("\n\nRequired in: {}.", names(&required)));
            }
            property.insert("description".into(), json!(description.trim_start()));
            property.insert("x-supported-in".into(), json!(supported));
            if schema == "OpportunityCreate" {
                property.insert("x-required-in".into(), json!(required));
            }
        }
    }
}

fn object<'a>(value: &'a mut Value, key: &str) -> Result<&'a mut Map<String, Value>, String> {
    value
        .get_mut(key)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("specs/unified/crm.yaml: `{key}` is not an object"))
}

/// `zendesk_sell` → `ZendeskSell`: schema names.
fn title(provider: Provider) -> String {
    provider
        .key()
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn credentials_schema_name(provider: Provider) -> String {
    format!("{}Credentials", title(provider))
}

fn account_schemas() -> Vec<(String, Value)> {
    let mut schemas = Vec::new();
    let mut variants = Vec::new();
    let mut mapping = Map::new();
    for &provider in Provider::ALL {
        let name = format!("{}AccountCreate", title(provider));
        let credentials = credentials_schema_name(provider);
        let fields = credential_fields(provider);
        let properties: Map<String, Value> = fields
            .iter()
            .map(|field| {
                (
                    field.name.to_owned(),
                    json!({"type": "string", "minLength": 1, "description": field.description}),
                )
            })
            .collect();
        let required: Vec<&str> = fields.iter().map(|field| field.name).collect();
        let settings: Map<String, Value> = setting_fields(provider)
            .iter()
            .map(|setting| {
                let mut schema = json!({"type": "string", "description": setting.description});
                if !setting.allowed.is_empty() {
                    schema["enum"] = json!(setting.allowed);
                }
                if let Some(default) = setting.default {
                    schema["default"] = json!(default);
                }
                (setting.name.to_owned(), schema)
            })
            .collect();
        schemas.push((
            credentials.clone(),
            json!({
                "type": "object",
                "description": format!("Credentials of a {provider} account. Stored encrypted, never returned."),
                "required": required,
                "properties": properties,
                "additionalProperties": false,
            }),
        ));
        schemas.push((
            name.clone(),
            json!({
                "type": "object",
                "required": if provider.default_base_url().is_some() {
                    json!(["provider", "credentials"])
                } else {
                    json!(["provider", "credentials", "base_url"])
                },
                "properties": {
                    "provider": {"type": "string", "enum": [provider.key()]},
                    "credentials": {"$ref": format!("#/components/schemas/{credentials}")},
                    "base_url": base_url_schema(),
                    "settings": {
                        "type": "object",
                        "description": format!("Non-secret options of a {provider} account; each takes its default when absent."),
                        "properties": settings,
                        "additionalProperties": false,
                    },
                },
                "additionalProperties": false,
            }),
        ));
        mapping.insert(
            provider.key().to_owned(),
            json!(format!("#/components/schemas/{name}")),
        );
        variants.push(json!({"$ref": format!("#/components/schemas/{name}")}));
    }
    let providers: Vec<&str> = Provider::ALL
        .iter()
        .map(|provider| provider.key())
        .collect();
    schemas.push((
        "IntegratedAccountCreate".into(),
        json!({
            "description": "A new integrated account: the provider and its credentials (see the `*Credentials` schemas).",
            "oneOf": variants,
            "discriminator": {"propertyName": "provider", "mapping": mapping},
        }),
    ));
    let credentials: Vec<Value> = Provider::ALL
        .iter()
        .map(|&provider| json!({"$ref": format!("#/components/schemas/{}", credentials_schema_name(provider))}))
        .collect();
    schemas.push((
        "IntegratedAccountUpdate".into(),
        json!({
            "type": "object",
            "description": "What to change: new credentials (all of the provider's), a new `base_url` (`null`: the provider's public host) or new settings; each is checked as on create. The provider cannot change.",
            "properties": {
                "credentials": {"oneOf": credentials, "description": "The account provider's credentials schema."},
                "base_url": base_url_schema(),
                "settings": {"type": "object", "description": "The provider's settings."},
            },
            "additionalProperties": false,
        }),
    ));
    schemas.push((
        "IntegratedAccount".into(),
        json!({
            "type": "object",
            "description": "An integrated account. Credentials are never returned.",
            "required": ["id", "provider", "base_url", "settings", "created_at", "updated_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "provider": {"type": "string", "enum": providers},
                "base_url": {"type": "string", "nullable": true},
                "settings": {"type": "object"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time", "nullable": true},
            },
        }),
    ));
    schemas.push((
        "IntegratedAccountList".into(),
        json!({
            "type": "object",
            "required": ["result", "result_count"],
            "properties": {
                "result": {"type": "array", "items": {"$ref": "#/components/schemas/IntegratedAccount"}},
                "result_count": {"type": "integer", "minimum": 0},
            },
        }),
    ));
    schemas
}

fn base_url_schema() -> Value {
    json!({
        "type": "string",
        "format": "uri",
        "nullable": true,
        "description": "The provider's API base URL; the provider's public host when absent or null. It must be https on one of the provider's public hosts (from its spec's `servers`, e.g. `{instance}.my.salesforce.com`), without user info, query or fragment, unless the operator allowed its host (`serve --allow-host`, which also permits http). Refused otherwise with a 400 naming `base_url`.",
    })
}

fn error(reference: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{reference}")})
}

fn too_large() -> Value {
    json!({
        "description": "The request body is larger than 1 MiB.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    })
}

fn account_paths() -> Vec<(String, Value)> {
    let account =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/IntegratedAccount"}}});
    let id = json!({
        "name": "id", "in": "path", "required": true,
        "description": "The integrated account's id.",
        "schema": {"type": "string"},
    });
    vec![
        (
            "/integrated-accounts".into(),
            json!({
                "get": {
                    "operationId": "listIntegratedAccounts",
                    "summary": "List the tenant's integrated accounts",
                    "tags": ["Integrated accounts"],
                    "responses": {
                        "200": {
                            "description": "Every integrated account of the tenant.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegratedAccountList"}}},
                        },
                        "401": error("Unauthorized"),
                        "429": error("TooManyRequests"),
                    },
                },
                "post": {
                    "operationId": "createIntegratedAccount",
                    "summary": "Create an integrated account",
                    "description": "Credentials are checked per provider (a missing one, or one that is not a valid HTTP header value, is a 400 naming it), encrypted at rest and never returned. `base_url` is checked against the outbound allow-list.",
                    "tags": ["Integrated accounts"],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegratedAccountCreate"}}},
                    },
                    "responses": {
                        "201": {"description": "The created account, without credentials.", "content": account.clone()},
                        "400": error("BadRequest"),
                        "401": error("Unauthorized"),
                        "413": too_large(),
                        "429": error("TooManyRequests"),
                    },
                },
            }),
        ),
        (
            "/integrated-accounts/{id}".into(),
            json!({
                "parameters": [id],
                "get": {
                    "operationId": "getIntegratedAccount",
                    "summary": "Get an integrated account",
                    "tags": ["Integrated accounts"],
                    "responses": {
                        "200": {"description": "The account, without credentials.", "content": account.clone()},
                        "401": error("Unauthorized"),
                        "404": error("NotFound"),
                        "429": error("TooManyRequests"),
                    },
                },
                "patch": {
                    "operationId": "updateIntegratedAccount",
                    "summary": "Change an integrated account",
                    "description": "Replaces the credentials, the `base_url` or the settings, checked as on create. What the server cached for the account (custom field definitions, stages) is dropped.",
                    "tags": ["Integrated accounts"],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegratedAccountUpdate"}}},
                    },
                    "responses": {
                        "200": {"description": "The account as it is now, without credentials.", "content": account},
                        "400": error("BadRequest"),
                        "401": error("Unauthorized"),
                        "404": error("NotFound"),
                        "413": too_large(),
                        "429": error("TooManyRequests"),
                    },
                },
                "delete": {
                    "operationId": "deleteIntegratedAccount",
                    "summary": "Delete an integrated account",
                    "tags": ["Integrated accounts"],
                    "responses": {
                        "204": {"description": "Deleted, with its credentials."},
                        "401": error("Unauthorized"),
                        "404": error("NotFound"),
                        "429": error("TooManyRequests"),
                    },
                },
            }),
        ),
        (
            "/health".into(),
            json!({
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The server is up.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "required": ["status"],
                                "properties": {"status": {"type": "string"}},
                            }}},
                        },
                    },
                },
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_and_lookup_says_who_supports_it_and_why_not() {
        let document = document().unwrap();
        let parameters = &document["components"]["parameters"];
        let every = Provider::ALL.len();
        for name in [
            "UpdatedAfter",
            "CreatedAfter",
            "StatusFilter",
            "OwnerIdFilter",
            "AccountIdFilter",
        ] {
            let parameter = &parameters[name];
            let supported = parameter["x-supported-in"].as_array().unwrap().len();
            let unsupported = parameter["x-unsupported-in"].as_object().unwrap();
            assert_eq!(supported + unsupported.len(), every, "{name}");
            assert!(
                unsupported
                    .values()
                    .all(|reason| !reason.as_str().unwrap().is_empty()),
                "{name}"
            );
            assert!(
                parameter["description"]
                    .as_str()
                    .unwrap()
                    .contains("Supported in: "),
                "{name}"
            );
        }
        for value in ["updated_at", "created_at"] {
            let sort_by = &parameters["SortBy"];
            let supported = sort_by["x-supported-in"][value].as_array().unwrap().len();
            let unsupported = sort_by["x-unsupported-in"][value].as_object().unwrap();
            assert_eq!(supported + unsupported.len(), every, "sort_by={value}");
        }
        for path in [
            "/unified/crm/fields",
            "/unified/crm/stages",
            "/unified/crm/users",
        ] {
            let operation = &document["paths"][path]["get"];
            let supported = operation["x-supported-in"].as_array().unwrap();
            let unsupported = operation["x-unsupported-in"].as_object().unwrap();
            assert_eq!(supported.len() + unsupported.len(), every, "{path}");
            assert!(operation["responses"]["403"].is_object(), "{path}");
        }
        // Close binds its custom fields definitions: served as supported.
        let fields = &document["paths"]["/unified/crm/fields"]["get"]["x-supported-in"];
        assert!(fields.as_array().unwrap().contains(&json!("close")));
    }

    #[test]
    fn the_document_has_every_path_and_credentials_schema() {
        let document = document().unwrap();
        for path in [
            "/unified/crm/opportunities",
            "/unified/crm/opportunities/{id}",
            "/integrated-accounts",
            "/integrated-accounts/{id}",
        ] {
            assert!(document["paths"][path].is_object(), "{path}");
        }
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["CloseCredentials"]["required"], json!(["api_key"]));
        assert_eq!(
            schemas["CopperCredentials"]["required"],
            json!(["access_token", "user_email"])
        );
        assert!(schemas["Opportunity"].is_object());
        // Support comes from the provider specs, not the unified one.
        let tags = &schemas["OpportunityCreate"]["properties"]["tags"];
        let tags_in = tags["x-supported-in"].as_array().unwrap();
        assert!(tags_in.contains(&json!("copper")) && !tags_in.contains(&json!("close")));
        assert!(
            tags["description"]
                .as_str()
                .unwrap()
                .contains("Supported in: ")
        );
        let account_required =
            &schemas["OpportunityCreate"]["properties"]["account"]["x-required-in"];
        assert!(
            account_required
                .as_array()
                .unwrap()
                .contains(&json!("close"))
        );

        assert!(schemas["IntegratedAccountUpdate"].is_object());
        assert!(document["paths"]["/integrated-accounts/{id}"]["patch"].is_object());
        assert!(schemas["Error"]["properties"]["limit"].is_object());
        let create = &document["paths"]["/unified/crm/opportunities"]["post"];
        assert!(
            create["parameters"]
                .as_array()
                .unwrap()
                .contains(&json!({"$ref": "#/components/parameters/IdempotencyKey"}))
        );
        assert!(create["responses"]["409"].is_object());
        assert!(create["responses"]["403"].is_object());
        assert!(create["responses"]["201"]["headers"]["Idempotent-Replayed"].is_object());
        let list = &document["paths"]["/unified/crm/opportunities"]["get"];
        assert!(list["responses"]["403"].is_object());
        assert!(list["responses"].get("409").is_none());
        assert_eq!(
            document["components"]["parameters"]["IdempotencyKey"]["in"],
            json!("header")
        );
    }
}
