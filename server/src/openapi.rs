//! `GET /openapi.json`: the unified document codegen reads
//! (`specs/unified/crm.yaml`, compiled in), plus the integrated-accounts
//! endpoints and one credentials schema per provider.

use crate::accounts::credential_fields;
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
    annotate_support(schemas);
    if let Some(tags) = document.get_mut("tags").and_then(Value::as_array_mut) {
        tags.push(json!({"name": "Integrated accounts", "description": "A tenant's connections to its CRMs."}));
    }
    Ok(document)
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
        let settings: Map<String, Value> = provider
            .settings()
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
        let base_url_description = match provider.default_base_url() {
            Some(root) => format!(
                "Replaces {provider}'s public API root `{root}` (regional hosts, sandboxes)."
            ),
            None => format!(
                "{provider}'s API root for this account (required: it is specific to each account)."
            ),
        };
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
                    "base_url": {
                        "type": "string",
                        "format": "uri",
                        "nullable": provider.default_base_url().is_some(),
                        "description": base_url_description,
                    },
                    "settings": {
                        "type": "object",
                        "nullable": true,
                        "description": format!("{provider}'s per-account settings; each takes its default when absent."),
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
    schemas.push((
        "IntegratedAccount".into(),
        json!({
            "type": "object",
            "description": "An integrated account. Credentials are never returned.",
            "required": ["id", "provider", "base_url", "created_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "provider": {"type": "string", "enum": providers},
                "base_url": {"type": "string", "nullable": true},
                "created_at": {"type": "string", "format": "date-time"},
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

fn error(reference: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{reference}")})
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
                    },
                },
                "post": {
                    "operationId": "createIntegratedAccount",
                    "summary": "Create an integrated account",
                    "description": "Credentials are checked per provider (a missing one is a 400 naming it), encrypted at rest and never returned.",
                    "tags": ["Integrated accounts"],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntegratedAccountCreate"}}},
                    },
                    "responses": {
                        "201": {"description": "The created account, without credentials.", "content": account.clone()},
                        "400": error("BadRequest"),
                        "401": error("Unauthorized"),
                        "413": {
                            "description": "The request body is larger than 1 MiB.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        },
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
                        "200": {"description": "The account, without credentials.", "content": account},
                        "401": error("Unauthorized"),
                        "404": error("NotFound"),
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
        assert_eq!(
            schemas["OpportunityCreate"]["properties"]["name"]["x-supported-in"],
            json!(["copper"])
        );
        assert_eq!(
            schemas["OpportunityCreate"]["properties"]["account"]["x-required-in"],
            json!(["close"])
        );
    }
}
