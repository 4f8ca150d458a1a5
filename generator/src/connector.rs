//! What a provider spec says about connecting it to the unified API, read
//! from its vendor extensions (`docs/provider-specs.md`): the provider key
//! and name, the credentials and how each reaches the wire, settings, the
//! hosts it lives on, the operations bound to the unified ones with their
//! paging and field support. Plain data, checked here, emitted by
//! `emit::connector` and `emit::registry`.

use crate::diagnostic::{Diagnostics, push_pointer};
use crate::model::{Api, Operation, ParamLocation, SchemeKind, Type, TypeKind};
use serde_json::Value;
use std::collections::BTreeMap;

pub const PROVIDER_EXTENSION: &str = "x-provider";
pub const PROVIDER_NAME_EXTENSION: &str = "x-provider-name";
pub const CONNECTION_EXTENSION: &str = "x-unified-connection";
pub const PAGINATION_EXTENSION: &str = "x-pagination";
pub const FIELDS_EXTENSION: &str = "x-unified-fields";
pub const RECORD_ID_EXTENSION: &str = "x-record-id";
pub const RECORD_EXTENSION: &str = "x-record";
pub const FILTERS_EXTENSION: &str = "x-unified-filters";
pub const UNSUPPORTED_EXTENSION: &str = "x-unified-unsupported";

/// The unified list filters every provider declares, supported or not
/// (`crm_runtime::mapping::FILTERS`; a test keeps the two equal).
pub const FILTERS: [&str; 7] = [
    "updated_at[gt]",
    "created_at[gt]",
    "status",
    "owner_id",
    "account_id",
    "sort_by=updated_at",
    "sort_by=created_at",
];

/// The unified operations every connector serves, by binding name.
pub const OPPORTUNITY_BINDINGS: [&str; 5] = [
    "opportunities.list",
    "opportunities.get",
    "opportunities.create",
    "opportunities.update",
    "opportunities.delete",
];

/// The other bindings a provider may declare: lookups whose responses the
/// glue converts into the runtime's provider-neutral shapes.
pub const LOOKUP_BINDINGS: [&str; 3] = ["custom_fields.list", "stages.list", "users.list"];

/// One provider, as its spec connects it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorSpec {
    pub key: String,
    pub name: String,
    pub credentials: Vec<CredentialSpec>,
    /// Schemes sent with a fixed value: (client setter, value).
    pub constants: Vec<(String, String)>,
    pub settings: Vec<SettingSpec>,
    /// The host (and port) of every `servers` URL, templates kept.
    pub host_patterns: Vec<String>,
    /// The public API root, when it needs no account-specific part.
    pub default_base_url: Option<String>,
    pub opportunities: OpportunityBinding,
    /// Lookups the spec does not bind, each with its reason.
    pub unsupported_lookups: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CredentialSpec {
    pub name: String,
    pub description: String,
    pub secret: bool,
    pub fill: Fill,
}

/// How a credential reaches the wire.
#[derive(Clone, Debug, PartialEq)]
pub enum Fill {
    /// One part of an HTTP basic scheme (by its setter).
    Basic { setter: String, password: bool },
    /// A bearer or API-key scheme, optionally through a template.
    Single {
        setter: String,
        template: Option<String>,
    },
    /// The path parameter of the same name, in every operation.
    PathParam,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SettingSpec {
    pub name: String,
    pub description: String,
    pub allowed: Vec<String>,
    pub default: Option<String>,
}

/// The five bound operations and what the unified layer needs of them.
#[derive(Clone, Debug, PartialEq)]
pub struct OpportunityBinding {
    /// Binding name to the index of the operation in `Api::operations`.
    pub operations: BTreeMap<String, usize>,
    pub pagination: PaginationSpec,
    pub read: Vec<String>,
    pub create_supported: Vec<String>,
    pub create_required: Vec<String>,
    pub update_supported: Vec<String>,
    pub record_id: String,
    /// Pointer to the record in get/create/update bodies ("" = the body).
    pub record: String,
    /// The provider record type (the get response at `record`).
    pub record_type: Type,
    /// The list filters the provider applies.
    pub filters: Vec<String>,
    /// The others, with the reason.
    pub unsupported_filters: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaginationSpec {
    pub style: String,
    pub in_body: bool,
    pub limit_param: Option<String>,
    pub max_limit: u32,
    pub records: String,
    pub record: Option<String>,
    pub offset_param: Option<String>,
    pub page_param: Option<String>,
    pub first_page: u64,
    pub cursor_param: Option<String>,
    pub next_cursor: Option<String>,
    pub has_more: Option<String>,
    pub total_header: Option<String>,
}

/// Field names of the unified schemas, for checking `x-unified-fields`.
#[derive(Clone, Debug, Default)]
pub struct UnifiedFields {
    pub read: Vec<String>,
    pub create: Vec<String>,
    pub update: Vec<String>,
}

/// The connector a provider spec declares, if it declares one
/// (`info.x-provider`); every problem is reported with its pointer.
pub fn read(api: &Api, unified: &UnifiedFields, diags: &mut Diagnostics) -> Option<ConnectorSpec> {
    let key = match api.extensions.get(PROVIDER_EXTENSION)? {
        Value::String(key) if is_key(key) => key.clone(),
        _ => {
            diags.error(
                "/info/x-provider",
                "must be the provider key: lowercase letters, digits and `_`, starting with a letter",
            );
            return None;
        }
    };
    let name = match api.extensions.get(PROVIDER_NAME_EXTENSION) {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => {
            diags.error(
                "/info/x-provider-name",
                "every provider spec names its provider for people (`x-provider-name: Close`)",
            );
            return None;
        }
    };
    let before = diags.error_count();
    let connection = api.root_extensions.get(CONNECTION_EXTENSION);
    if connection.is_none() {
        diags.error(
            "",
            "a provider spec needs `x-unified-connection` (credentials, constants, settings); see docs/provider-specs.md",
        );
    }
    let empty = Value::Null;
    let connection = connection.unwrap_or(&empty);
    let credentials = credentials(api, connection, diags);
    let constants = constants(api, connection, diags);
    let settings = settings(connection, diags);
    check_schemes_filled(api, &credentials, connection, diags);
    let host_patterns = api
        .servers
        .iter()
        .enumerate()
        .filter_map(|(index, url)| {
            let host = host_of(url);
            if host.is_none() {
                diags.error(
                    format!("/servers/{index}/url"),
                    "a provider's server must be an absolute https URL (its host is what accounts may reach)",
                );
            }
            host
        })
        .collect();
    let default_base_url = api
        .servers
        .first()
        .filter(|url| !url.contains('{'))
        .map(|url| url.trim_end_matches('/').to_owned());
    let opportunities = opportunities(api, unified, &credentials, diags);
    let unsupported_lookups = unsupported_lookups(api, diags);
    if diags.error_count() > before {
        return None;
    }
    Some(ConnectorSpec {
        key,
        name,
        credentials,
        constants,
        settings,
        host_patterns,
        default_base_url,
        opportunities: opportunities?,
        unsupported_lookups,
    })
}

/// `x-unified-unsupported`: every lookup binding the spec does not bind,
/// with the reason the provider cannot serve it (served to callers).
fn unsupported_lookups(api: &Api, diags: &mut Diagnostics) -> Vec<(String, String)> {
    let pointer = format!("/{UNSUPPORTED_EXTENSION}");
    let declared = reasons(
        api.root_extensions.get(UNSUPPORTED_EXTENSION),
        &pointer,
        diags,
    );
    let bound: Vec<&str> = api
        .operations
        .iter()
        .filter_map(crate::emit::binding)
        .collect();
    for (name, _) in &declared {
        if !LOOKUP_BINDINGS.contains(&name.as_str()) {
            diags.error(
                push_pointer(&pointer, name),
                format!(
                    "is not a lookup; declare one of {}",
                    LOOKUP_BINDINGS.join(", ")
                ),
            );
        } else if bound.contains(&name.as_str()) {
            diags.error(
                push_pointer(&pointer, name),
                "an operation binds this lookup: it is supported; remove it here",
            );
        }
    }
    for lookup in LOOKUP_BINDINGS {
        if !bound.contains(&lookup) && !declared.iter().any(|(name, _)| name == lookup) {
            diags.error(
                &pointer,
                format!(
                    "no operation binds `{lookup}`: bind one with `x-unified-operation`, or say here why the provider cannot serve it (`{lookup}: <reason>`)"
                ),
            );
        }
    }
    declared
}

/// A map of names to non-empty reasons.
fn reasons(value: Option<&Value>, pointer: &str, diags: &mut Diagnostics) -> Vec<(String, String)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(map) = value.as_object() else {
        diags.error(
            pointer,
            "is a map of names to the reason each is unsupported",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, reason) in map {
        match reason.as_str().map(str::trim) {
            Some(reason) if !reason.is_empty() => out.push((name.clone(), reason.to_owned())),
            _ => diags.error(
                push_pointer(pointer, name),
                "give the reason the provider cannot do it, as text",
            ),
        }
    }
    out
}

/// `x-unified-filters` of the list operation: every unified filter,
/// either in `supported` or in `unsupported` with its reason.
fn list_filters(list: &Operation, diags: &mut Diagnostics) -> (Vec<String>, Vec<(String, String)>) {
    let pointer = format!("{}/{FILTERS_EXTENSION}", operation_pointer(list));
    let declared = list.extensions.get(FILTERS_EXTENSION);
    let supported = match declared.map(|value| value.get("supported")) {
        None | Some(None) => Vec::new(),
        Some(Some(value)) => strings(Some(value)).unwrap_or_else(|| {
            diags.error(format!("{pointer}/supported"), "is a list of filter names");
            Vec::new()
        }),
    };
    let unsupported = reasons(
        declared.and_then(|value| value.get("unsupported")),
        &format!("{pointer}/unsupported"),
        diags,
    );
    for name in supported
        .iter()
        .chain(unsupported.iter().map(|(name, _)| name))
    {
        if !FILTERS.contains(&name.as_str()) {
            diags.error(
                &pointer,
                format!(
                    "`{name}` is not a unified filter; they are {}",
                    FILTERS.join(", ")
                ),
            );
        }
    }
    for filter in FILTERS {
        let count = supported.iter().filter(|name| *name == filter).count()
            + unsupported
                .iter()
                .filter(|(name, _)| name == filter)
                .count();
        if count != 1 {
            diags.error(
                &pointer,
                format!(
                    "declare `{filter}` once: under `supported` if the provider's list can apply it, else under `unsupported` with the reason"
                ),
            );
        }
    }
    (supported, unsupported)
}

fn is_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `https://{domain}.myfreshworks.com/crm/sales` → `{domain}.myfreshworks.com`.
fn host_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty() && !host.contains('@')).then(|| host.to_ascii_lowercase())
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

fn credentials(api: &Api, connection: &Value, diags: &mut Diagnostics) -> Vec<CredentialSpec> {
    let base = format!("/{CONNECTION_EXTENSION}/credentials");
    let Some(map) = connection.get("credentials").and_then(Value::as_object) else {
        diags.error(
            base,
            "list the credentials an account gives (a map of key to {description, scheme})",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, spec) in map {
        let pointer = push_pointer(&base, name);
        if !is_key(name) {
            diags.error(&pointer, "a credential key is snake_case");
            continue;
        }
        let description = text(spec.get("description")).unwrap_or_default();
        if description.trim().is_empty() {
            diags.error(
                &pointer,
                "say what the credential is and where the user finds it (`description`)",
            );
        }
        let secret = spec.get("secret").and_then(Value::as_bool).unwrap_or(true);
        let fill = match text(spec.get("scheme")) {
            None => Fill::PathParam,
            Some(scheme_key) => {
                let Some(scheme) = api.security_schemes.iter().find(|s| s.key == scheme_key) else {
                    diags.error(
                        format!("{pointer}/scheme"),
                        format!("no security scheme `{scheme_key}` in components/securitySchemes"),
                    );
                    continue;
                };
                match &scheme.kind {
                    SchemeKind::Basic => {
                        let part = text(spec.get("part")).unwrap_or_else(|| "username".into());
                        if part != "username" && part != "password" {
                            diags.error(format!("{pointer}/part"), "is `username` or `password`");
                        }
                        Fill::Basic {
                            setter: scheme.setter.clone(),
                            password: part == "password",
                        }
                    }
                    _ => {
                        let template = text(spec.get("template"));
                        if template.as_deref().is_some_and(|t| !t.contains("{value}")) {
                            diags.error(
                                format!("{pointer}/template"),
                                "a template says where the value goes with `{value}`",
                            );
                        }
                        Fill::Single {
                            setter: scheme.setter.clone(),
                            template,
                        }
                    }
                }
            }
        };
        out.push(CredentialSpec {
            name: name.clone(),
            description,
            secret,
            fill,
        });
    }
    out
}

fn constants(api: &Api, connection: &Value, diags: &mut Diagnostics) -> Vec<(String, String)> {
    let Some(map) = connection.get("constants").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (scheme_key, value) in map {
        let pointer = push_pointer(&format!("/{CONNECTION_EXTENSION}/constants"), scheme_key);
        let scheme = api.security_schemes.iter().find(|s| &s.key == scheme_key);
        match (scheme, value.as_str()) {
            (Some(scheme), Some(value)) if !matches!(scheme.kind, SchemeKind::Basic) => {
                out.push((scheme.setter.clone(), value.to_owned()));
            }
            (None, _) => diags.error(pointer, format!("no security scheme `{scheme_key}`")),
            _ => diags.error(
                pointer,
                "a constant fills an API-key or bearer scheme with a string",
            ),
        }
    }
    out
}

fn settings(connection: &Value, diags: &mut Diagnostics) -> Vec<SettingSpec> {
    let Some(map) = connection.get("settings").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, spec) in map {
        let pointer = push_pointer(&format!("/{CONNECTION_EXTENSION}/settings"), name);
        let allowed = strings(spec.get("enum")).unwrap_or_default();
        let default = text(spec.get("default"));
        if let Some(default) = &default {
            if !allowed.is_empty() && !allowed.contains(default) {
                diags.error(&pointer, "the default is not one of its `enum` values");
            }
        }
        out.push(SettingSpec {
            name: name.clone(),
            description: text(spec.get("description")).unwrap_or_default(),
            allowed,
            default,
        });
    }
    out
}

/// Every scheme a bound operation sends must get a value.
fn check_schemes_filled(
    api: &Api,
    credentials: &[CredentialSpec],
    connection: &Value,
    diags: &mut Diagnostics,
) {
    for scheme in &api.security_schemes {
        let used = api
            .operations
            .iter()
            .any(|operation| operation.security.contains(&scheme.key));
        let filled = credentials.iter().any(|credential| match &credential.fill {
            Fill::Basic { setter, .. } | Fill::Single { setter, .. } => setter == &scheme.setter,
            Fill::PathParam => false,
        }) || connection
            .get("constants")
            .and_then(|constants| constants.get(&scheme.key))
            .is_some();
        if used && !filled {
            diags.error(
                push_pointer("/components/securitySchemes", &scheme.key),
                "operations send this scheme but no credential or constant in `x-unified-connection` fills it",
            );
        }
    }
}

fn operation_pointer(operation: &Operation) -> String {
    format!(
        "{}/{}",
        push_pointer("/paths", &operation.path),
        operation.method.to_ascii_lowercase()
    )
}

fn opportunities(
    api: &Api,
    unified: &UnifiedFields,
    credentials: &[CredentialSpec],
    diags: &mut Diagnostics,
) -> Option<OpportunityBinding> {
    let mut operations = BTreeMap::new();
    for (index, operation) in api.operations.iter().enumerate() {
        let Some(binding) = crate::emit::binding(operation) else {
            continue;
        };
        if OPPORTUNITY_BINDINGS.contains(&binding) {
            if operations.insert(binding.to_owned(), index).is_some() {
                diags.error(
                    format!("{}/x-unified-operation", operation_pointer(operation)),
                    format!("another operation is already bound to `{binding}`"),
                );
            }
        } else if !LOOKUP_BINDINGS.contains(&binding) {
            diags.error(
                format!("{}/x-unified-operation", operation_pointer(operation)),
                format!(
                    "`{binding}` is not a unified operation; bind one of {}, {}",
                    OPPORTUNITY_BINDINGS.join(", "),
                    LOOKUP_BINDINGS.join(", ")
                ),
            );
        }
    }
    let missing: Vec<&str> = OPPORTUNITY_BINDINGS
        .iter()
        .copied()
        .filter(|binding| !operations.contains_key(*binding))
        .collect();
    if !missing.is_empty() {
        diags.error(
            "/paths",
            format!(
                "a provider serves every unified operation; bind an operation to {} with `x-unified-operation`",
                missing.join(", ")
            ),
        );
        return None;
    }
    let op = |binding: &str| &api.operations[operations[binding]];
    for binding in OPPORTUNITY_BINDINGS {
        check_parameters(op(binding), binding, credentials, diags);
    }
    let list = op("opportunities.list");
    let pagination = pagination(api, list, diags)?;
    let get = op("opportunities.get");
    let fields = |operation: &Operation, key: &str, allowed: &[String], diags: &mut Diagnostics| {
        let pointer = format!("{}/{FIELDS_EXTENSION}/{key}", operation_pointer(operation));
        let value = operation
            .extensions
            .get(FIELDS_EXTENSION)
            .and_then(|fields| fields.get(key));
        let names = match value {
            None if key == "required" => Vec::new(),
            None => {
                diags.error(
                    &pointer,
                    "list the unified fields this operation supports (docs/provider-specs.md)",
                );
                Vec::new()
            }
            Some(value) => strings(Some(value)).unwrap_or_else(|| {
                diags.error(&pointer, "is a list of unified field names");
                Vec::new()
            }),
        };
        for name in &names {
            if !allowed.is_empty() && !allowed.contains(name) {
                diags.error(
                    &pointer,
                    format!(
                        "`{name}` is not a field of the unified schema; it has {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        names
    };
    let read = fields(get, "supported", &unified.read, diags);
    let create = op("opportunities.create");
    let create_supported = fields(create, "supported", &unified.create, diags);
    let create_required = fields(create, "required", &unified.create, diags);
    for name in &create_required {
        if !create_supported.contains(name) {
            diags.error(
                format!("{}/{FIELDS_EXTENSION}/required", operation_pointer(create)),
                format!("`{name}` is required but not in `supported`"),
            );
        }
    }
    let update_supported = fields(
        op("opportunities.update"),
        "supported",
        &unified.update,
        diags,
    );
    let record_id = text(get.extensions.get(RECORD_ID_EXTENSION)).unwrap_or_else(|| "/id".into());
    let record = text(get.extensions.get(RECORD_EXTENSION)).unwrap_or_default();
    let record_type = match crate::emit::success_type(get).and_then(|ty| type_at(api, &ty, &record))
    {
        Some(ty) => ty,
        None => {
            diags.error(
                operation_pointer(get),
                format!("the 200 response must be one JSON type with the record at `{record}` (`x-record`)"),
            );
            return None;
        }
    };
    let (filters, unsupported_filters) = list_filters(list, diags);
    Some(OpportunityBinding {
        filters,
        unsupported_filters,
        operations,
        pagination,
        read,
        create_supported,
        create_required,
        update_supported,
        record_id,
        record,
        record_type,
    })
}

/// A required parameter the unified layer cannot fill would make the
/// bound operation uncallable.
fn check_parameters(
    operation: &Operation,
    binding: &str,
    credentials: &[CredentialSpec],
    diags: &mut Diagnostics,
) {
    let takes_id = !matches!(binding, "opportunities.list" | "opportunities.create");
    let mut ids = 0;
    for param in operation.params.iter().filter(|param| param.required) {
        let from_credential = credentials
            .iter()
            .any(|c| c.fill == Fill::PathParam && c.name == param.wire_name);
        if from_credential {
            continue;
        }
        if param.location == ParamLocation::Path && takes_id {
            ids += 1;
            continue;
        }
        if binding == "opportunities.list" {
            // The glue sets it in the list input (a view id, a query).
            continue;
        }
        diags.error(
            operation_pointer(operation),
            format!(
                "required parameter `{}` cannot be filled by the unified layer: make it optional or a credential",
                param.wire_name
            ),
        );
    }
    if takes_id && ids != 1 {
        diags.error(
            operation_pointer(operation),
            format!(
                "`{binding}` takes exactly one path parameter for the record id besides credentials"
            ),
        );
    }
}

/// The type at a JSON pointer inside `ty`, through struct fields.
pub fn type_at(api: &Api, ty: &Type, pointer: &str) -> Option<Type> {
    if pointer.is_empty() {
        return Some(ty.clone());
    }
    let (head, rest) = match pointer.strip_prefix('/')?.split_once('/') {
        Some((head, rest)) => (head.to_owned(), format!("/{rest}")),
        None => (pointer[1..].to_owned(), String::new()),
    };
    let head = head.replace("~1", "/").replace("~0", "~");
    let inner = match ty {
        Type::Option(inner) => return type_at(api, inner, pointer),
        Type::Named(name) => {
            let def = api.types.iter().find(|def| &def.name == name)?;
            match &def.kind {
                TypeKind::Struct(body) => {
                    let field = body.fields.iter().find(|field| field.wire_name == head)?;
                    field.ty.clone()
                }
                TypeKind::Alias(alias) => return type_at(api, alias, pointer),
                _ => return None,
            }
        }
        _ => return None,
    };
    type_at(api, &inner, &rest)
}

fn pagination(api: &Api, list: &Operation, diags: &mut Diagnostics) -> Option<PaginationSpec> {
    let pointer = format!("{}/{PAGINATION_EXTENSION}", operation_pointer(list));
    let Some(spec) = list.extensions.get(PAGINATION_EXTENSION) else {
        diags.error(
            pointer,
            "the list operation declares how it pages (docs/provider-specs.md)",
        );
        return None;
    };
    let style = text(spec.get("style")).unwrap_or_default();
    let needs: &[&str] = match style.as_str() {
        "offset" => &["offset_param", "limit_param"],
        "page" | "link-header" => &["page_param", "limit_param"],
        "cursor" => &["cursor_param", "next_cursor"],
        "keyset" => &[],
        _ => {
            diags.error(
                format!("{pointer}/style"),
                "is one of offset, page, link-header, cursor, keyset",
            );
            return None;
        }
    };
    let before = diags.error_count();
    for need in needs {
        if text(spec.get(*need)).is_none() {
            diags.error(&pointer, format!("style `{style}` needs `{need}`"));
        }
    }
    let max_limit = spec
        .get("max_limit")
        .and_then(Value::as_u64)
        .and_then(|max| u32::try_from(max).ok())
        .filter(|max| *max > 0);
    if max_limit.is_none() {
        diags.error(
            &pointer,
            "`max_limit` is the provider's largest page, a positive integer",
        );
    }
    let in_body = match text(spec.get("location")).as_deref() {
        None | Some("query") => false,
        Some("body") => true,
        Some(_) => {
            diags.error(format!("{pointer}/location"), "is `query` or `body`");
            false
        }
    };
    let spec = PaginationSpec {
        style,
        in_body,
        limit_param: text(spec.get("limit_param")),
        max_limit: max_limit.unwrap_or(1),
        records: text(spec.get("records")).unwrap_or_default(),
        record: text(spec.get("record")),
        offset_param: text(spec.get("offset_param")),
        page_param: text(spec.get("page_param")),
        first_page: spec.get("first_page").and_then(Value::as_u64).unwrap_or(1),
        cursor_param: text(spec.get("cursor_param")),
        next_cursor: text(spec.get("next_cursor")),
        has_more: text(spec.get("has_more")),
        total_header: text(spec.get("total_header")),
    };
    for param in [
        &spec.limit_param,
        &spec.offset_param,
        &spec.page_param,
        &spec.cursor_param,
    ]
    .into_iter()
    .flatten()
    {
        if list_input_field(api, list, &spec, param).is_none() {
            diags.error(
                &pointer,
                format!(
                    "`{param}` is not an optional {} of the list operation",
                    if spec.in_body {
                        "body field"
                    } else {
                        "query parameter"
                    }
                ),
            );
        }
    }
    (diags.error_count() == before).then_some(spec)
}

/// The Rust field of the list input that carries the wire parameter, and
/// its type (without `Option`).
pub fn list_input_field(
    api: &Api,
    list: &Operation,
    spec: &PaginationSpec,
    wire: &str,
) -> Option<(String, Type)> {
    if spec.in_body {
        let Type::Named(name) = &list.body.as_ref()?.ty else {
            return None;
        };
        let def = api.types.iter().find(|def| &def.name == name)?;
        let TypeKind::Struct(body) = &def.kind else {
            return None;
        };
        let field = body.fields.iter().find(|field| field.wire_name == wire)?;
        if field.presence != crate::model::Presence::Optional {
            return None;
        }
        Some((field.name.clone(), field.ty.clone().strip_option().0))
    } else {
        let param = list
            .params
            .iter()
            .find(|param| param.wire_name == wire && !param.required)?;
        Some((param.name.clone(), param.ty.clone()))
    }
}
