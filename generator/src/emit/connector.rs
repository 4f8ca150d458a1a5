//! A provider's connector items, from its `ConnectorSpec`: the provider's
//! identity and hosts, its credentials type (read and validated against
//! the declared keys, wired into the client's auth), the paging of its
//! list input, and the uniform `OpportunityCalls` over its five bound
//! operations.

use super::{ident, type_tokens};
use crate::connector::{ConnectorSpec, Fill, list_input_field};
use crate::model::{Api, BodyEncoding, Operation, ParamLocation, Type};
use proc_macro2::TokenStream;
use quote::quote;

/// The generated names a provider module adds (checked against the spec's
/// own type names).
pub const CREDENTIALS_TYPE: &str = "AccountCredentials";
pub const CONNECTION_TYPE: &str = "AccountConnection";
/// The list input when the list operation has required parameters (a
/// view id in its path, a query): those, and its optional parameters or
/// body.
pub const LIST_INPUT_TYPE: &str = "OpportunitiesListInput";

/// The list operation's required parameters the glue fills (not from
/// credentials).
fn glue_params<'a>(spec: &ConnectorSpec, list: &'a Operation) -> Vec<&'a crate::model::Param> {
    list.params
        .iter()
        .filter(|param| {
            param.required
                && !spec
                    .credentials
                    .iter()
                    .any(|c| c.fill == Fill::PathParam && c.name == param.wire_name)
        })
        .collect()
}

pub(super) fn connector_items(api: &Api, spec: &ConnectorSpec) -> TokenStream {
    let key = &spec.key;
    let name = &spec.name;
    let hosts = &spec.host_patterns;
    let default_base_url = match &spec.default_base_url {
        Some(url) => quote! { ::core::option::Option::Some(#url) },
        None => quote! { ::core::option::Option::None },
    };
    let credential_rows = spec.credentials.iter().map(|credential| {
        let name = &credential.name;
        let description = &credential.description;
        let secret = credential.secret;
        quote! { ::crm_runtime::connection::CredentialField { name: #name, description: #description, secret: #secret }, }
    });
    let setting_rows = spec.settings.iter().map(|setting| {
        let name = &setting.name;
        let description = &setting.description;
        let allowed = &setting.allowed;
        let default = match &setting.default {
            Some(value) => quote! { ::core::option::Option::Some(#value) },
            None => quote! { ::core::option::Option::None },
        };
        quote! { ::crm_runtime::connection::SettingField { name: #name, description: #description, allowed: &[#(#allowed),*], default: #default }, }
    });
    let credentials_type = ident(CREDENTIALS_TYPE);
    let connection_type = ident(CONNECTION_TYPE);
    let fields = spec.credentials.iter().map(|credential| {
        let field = ident(&credential.name);
        if credential.secret {
            quote! { pub #field: ::crm_runtime::Secret, }
        } else {
            quote! { pub #field: ::std::string::String, }
        }
    });
    let reads = spec.credentials.iter().map(|credential| {
        let field = ident(&credential.name);
        if credential.secret {
            quote! { #field: ::crm_runtime::Secret::new(values.next().unwrap_or_default()), }
        } else {
            quote! { #field: values.next().unwrap_or_default(), }
        }
    });
    let writes = spec.credentials.iter().map(|credential| {
        let field = ident(&credential.name);
        let name = &credential.name;
        let value = if credential.secret {
            quote! { self.#field.expose() }
        } else {
            quote! { self.#field.as_str() }
        };
        quote! { map.insert(#name.into(), ::serde_json::Value::String(#value.to_owned())); }
    });
    let auth = auth_calls(spec);
    let calls = calls_impl(api, spec);
    let page_request = page_request_impl(api, spec);
    quote! {
        /// The provider key accounts and URLs use.
        pub const PROVIDER_KEY: &str = #key;
        /// The provider's name, for people.
        pub const PROVIDER_NAME: &str = #name;
        /// The hosts of the provider's API (`servers`); `{var}` stands for
        /// one DNS label of an account-specific part.
        pub const HOST_PATTERNS: &[&str] = &[#(#hosts),*];
        /// The public API root, or `None` when each account gives its own
        /// (`base_url`).
        pub const DEFAULT_BASE_URL: ::core::option::Option<&str> = #default_base_url;
        /// The credentials an account gives, from `x-unified-connection`.
        pub const CREDENTIAL_FIELDS: &[::crm_runtime::connection::CredentialField] = &[#(#credential_rows)*];
        /// The per-account settings, from `x-unified-connection`.
        pub const SETTINGS: &[::crm_runtime::connection::SettingField] = &[#(#setting_rows)*];

        /// An account's credentials. `Debug` shows no secret.
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq)]
        pub struct #credentials_type {
            #(#fields)*
        }

        impl #credentials_type {
            /// Reads `credentials` exactly: every declared key, no other.
            pub fn from_map(map: &::serde_json::Map<::std::string::String, ::serde_json::Value>) -> ::core::result::Result<Self, ::crm_runtime::connection::ConnectionError> {
                let values = ::crm_runtime::connection::read_credentials(PROVIDER_KEY, "credentials.", CREDENTIAL_FIELDS, map)?;
                let mut values = values.into_iter();
                ::core::result::Result::Ok(#credentials_type { #(#reads)* })
            }

            /// The credentials as JSON, secrets exposed: only for sealing
            /// them into storage.
            pub fn to_map(&self) -> ::serde_json::Map<::std::string::String, ::serde_json::Value> {
                let mut map = ::serde_json::Map::new();
                #(#writes)*
                map
            }
        }

        impl Client {
            /// Sends these credentials as the spec's security schemes say.
            pub fn with_account_credentials(self, credentials: &#credentials_type) -> Self {
                self #(#auth)*
            }
        }

        /// A client with an account's credentials: what the unified layer
        /// calls.
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        pub struct #connection_type {
            pub client: Client,
            pub credentials: #credentials_type,
        }

        impl #connection_type {
            pub fn new(client: Client, credentials: #credentials_type) -> Self {
                let client = client.with_account_credentials(&credentials);
                #connection_type { client, credentials }
            }
        }

        #page_request
        #calls
    }
}

fn auth_calls(spec: &ConnectorSpec) -> Vec<TokenStream> {
    let mut calls = Vec::new();
    let mut basic: Vec<&str> = Vec::new();
    for credential in &spec.credentials {
        match &credential.fill {
            Fill::Basic { setter, .. } if !basic.contains(&setter.as_str()) => {
                basic.push(setter);
                let part = |password: bool| {
                    spec.credentials
                        .iter()
                        .find(|c| matches!(&c.fill, Fill::Basic { setter: s, password: p } if s == setter && *p == password))
                        .map(|c| {
                            let field = ident(&c.name);
                            if c.secret {
                                quote! { credentials.#field.clone() }
                            } else {
                                quote! { credentials.#field.as_str() }
                            }
                        })
                        .unwrap_or_else(|| quote! { "" })
                };
                let (user, password) = (part(false), part(true));
                let setter = ident(setter);
                calls.push(quote! { .#setter(#user, #password) });
            }
            Fill::Basic { .. } | Fill::PathParam => {}
            Fill::Single { setter, template } => {
                let field = ident(&credential.name);
                let setter = ident(setter);
                let value = if credential.secret {
                    quote! { credentials.#field.expose() }
                } else {
                    quote! { credentials.#field.as_str() }
                };
                calls.push(match template {
                    Some(template) => quote! { .#setter(::crm_runtime::Secret::new(#template.replace("{value}", #value))) },
                    None => quote! { .#setter(::crm_runtime::Secret::new(#value)) },
                });
            }
        }
    }
    for (setter, value) in &spec.constants {
        let setter = ident(setter);
        calls.push(quote! { .#setter(#value) });
    }
    calls
}

fn list_operation<'a>(api: &'a Api, spec: &ConnectorSpec) -> &'a Operation {
    &api.operations[spec.opportunities.operations["opportunities.list"]]
}

/// The list input type: the options struct, or the search body, or the
/// wrapper holding them with the required parameters.
fn list_input_type(api: &Api, spec: &ConnectorSpec) -> TokenStream {
    let list = list_operation(api, spec);
    if !glue_params(spec, list).is_empty() {
        let name = ident(LIST_INPUT_TYPE);
        return quote! { #name };
    }
    inner_list_input_type(api, spec)
}

/// The options struct or the search body that paging writes into.
fn inner_list_input_type(api: &Api, spec: &ConnectorSpec) -> TokenStream {
    let list = list_operation(api, spec);
    if spec.opportunities.pagination.in_body {
        list.body
            .as_ref()
            .map(|body| type_tokens(&body.ty))
            .unwrap_or_else(|| quote! { () })
    } else {
        list.options_struct
            .as_ref()
            .map(|name| {
                let name = ident(name);
                quote! { #name }
            })
            .unwrap_or_else(|| quote! { () })
    }
}

fn page_request_impl(api: &Api, spec: &ConnectorSpec) -> TokenStream {
    let list = list_operation(api, spec);
    let paging = &spec.opportunities.pagination;
    let input = inner_list_input_type(api, spec);
    let wrapper = list_wrapper(api, spec);
    let mut sets = Vec::new();
    let number = |wire: &Option<String>, source: TokenStream| -> Option<TokenStream> {
        let (field, ty) = list_input_field(api, list, paging, wire.as_deref()?)?;
        let field = ident(&field);
        let value = match ty {
            Type::String => quote! { ::std::string::ToString::to_string(&#source) },
            Type::F64 => quote! { #source as f64 },
            Type::F32 => quote! { #source as f32 },
            other => {
                let ty = type_tokens(&other);
                quote! { <#ty as ::core::convert::TryFrom<u64>>::try_from(#source).unwrap_or(#ty::MAX) }
            }
        };
        Some(quote! { self.#field = ::core::option::Option::Some(#value); })
    };
    sets.extend(number(&paging.limit_param, quote! { at.size }));
    match paging.style.as_str() {
        "offset" => sets.extend(number(&paging.offset_param, quote! { at.offset })),
        "page" | "link-header" => sets.extend(number(&paging.page_param, quote! { at.page })),
        "cursor" => {
            if let Some((field, ty)) = paging
                .cursor_param
                .as_deref()
                .and_then(|wire| list_input_field(api, list, paging, wire))
            {
                let field = ident(&field);
                sets.push(match ty {
                    Type::String => {
                        quote! { self.#field = at.token.map(::std::borrow::ToOwned::to_owned); }
                    }
                    _ => quote! { self.#field = at.token.and_then(|token| token.parse().ok()); },
                });
            }
        }
        _ => {}
    }
    quote! {
        impl ::crm_runtime::paging::PageRequest for #input {
            fn set_page(&mut self, at: &::crm_runtime::paging::PageAt<'_>) {
                let _ = at;
                #(#sets)*
            }
        }
        #wrapper
    }
}

/// The wrapper list input, when the list operation has required
/// parameters the glue fills.
fn list_wrapper(api: &Api, spec: &ConnectorSpec) -> Option<TokenStream> {
    let list = list_operation(api, spec);
    let params = glue_params(spec, list);
    if params.is_empty() {
        return None;
    }
    let name = ident(LIST_INPUT_TYPE);
    let fields = params.iter().map(|param| {
        let field = ident(&param.name);
        let ty = type_tokens(&param.ty);
        let doc = format!(
            " `{}` ({:?}), set by the glue.",
            param.wire_name, param.location
        );
        quote! { #[doc = #doc] pub #field: #ty, }
    });
    let inner_type = inner_list_input_type(api, spec);
    let inner_field = if spec.opportunities.pagination.in_body {
        quote! { body }
    } else {
        quote! { params }
    };
    Some(quote! {
        /// The list operation's input: its required parameters, which
        /// the glue sets, and what paging writes into.
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
        pub struct #name {
            #(#fields)*
            pub #inner_field: #inner_type,
        }

        impl ::crm_runtime::paging::PageRequest for #name {
            fn set_page(&mut self, at: &::crm_runtime::paging::PageAt<'_>) {
                ::crm_runtime::paging::PageRequest::set_page(&mut self.#inner_field, at);
            }
        }
    })
}

fn pagination_const(spec: &ConnectorSpec) -> TokenStream {
    let paging = &spec.opportunities.pagination;
    let style = match paging.style.as_str() {
        "offset" => quote! { Offset },
        "page" => quote! { Page },
        "link-header" => quote! { LinkHeader },
        "cursor" => quote! { Cursor },
        _ => quote! { Keyset },
    };
    let option = |value: &Option<String>| match value {
        Some(value) => quote! { ::core::option::Option::Some(#value) },
        None => quote! { ::core::option::Option::None },
    };
    let max = paging.max_limit;
    let first = paging.first_page;
    let records = &paging.records;
    let record = option(&paging.record);
    let has_more = option(&paging.has_more);
    let total = option(&paging.total_header.as_ref().map(|h| h.to_ascii_lowercase()));
    let next_cursor = option(&paging.next_cursor);
    quote! {
        ::crm_runtime::paging::Pagination {
            style: ::crm_runtime::paging::Style::#style,
            max_limit: #max,
            first_page: #first,
            records: #records,
            record: #record,
            has_more: #has_more,
            total_header: #total,
            next_cursor: #next_cursor,
        }
    }
}

/// The arguments of a bound operation's `_json` method.
fn call_args(
    operation: &Operation,
    spec: &ConnectorSpec,
    input: Option<TokenStream>,
    body: Option<TokenStream>,
) -> Vec<TokenStream> {
    let mut args = Vec::new();
    // With the wrapper, the list input's parts.
    let wrapped = input.is_some() && !glue_params(spec, operation).is_empty();
    let input = match (&input, wrapped, spec.opportunities.pagination.in_body) {
        (Some(input), true, true) => Some(quote! { &#input.body }),
        (Some(input), true, false) => Some(quote! { &#input.params }),
        _ => input,
    };
    for param in operation.params.iter().filter(|param| param.required) {
        let from_credential = spec
            .credentials
            .iter()
            .find(|c| c.fill == Fill::PathParam && c.name == param.wire_name);
        args.push(match from_credential {
            Some(credential) => {
                let field = ident(&credential.name);
                quote! { &self.credentials.#field }
            }
            None if wrapped => {
                let field = ident(&param.name);
                quote! { &input.#field }
            }
            None if param.location == ParamLocation::Path => quote! { id },
            None => quote! { &::core::default::Default::default() },
        });
    }
    if operation.options_struct.is_some() {
        args.push(match (&input, spec.opportunities.pagination.in_body) {
            (Some(input), false) => input.clone(),
            _ => quote! { &::core::default::Default::default() },
        });
    }
    if let Some(request_body) = &operation.body {
        let value = match (&input, &body) {
            (_, Some(body)) => body.clone(),
            (Some(input), None) if spec.opportunities.pagination.in_body => input.clone(),
            _ => quote! { &::core::default::Default::default() },
        };
        args.push(match (request_body.encoding, request_body.required) {
            (BodyEncoding::Json | BodyEncoding::Form, true) => value,
            (BodyEncoding::Json | BodyEncoding::Form, false) => {
                quote! { ::core::option::Option::Some(#value) }
            }
            _ => quote! { ::core::default::Default::default() },
        });
    }
    args
}

fn calls_impl(api: &Api, spec: &ConnectorSpec) -> TokenStream {
    let binding = &spec.opportunities;
    let op = |name: &str| &api.operations[binding.operations[name]];
    let connection_type = ident(CONNECTION_TYPE);
    let input = list_input_type(api, spec);
    let record = type_tokens(&binding.record_type);
    let body_type = |name: &str| {
        op(name)
            .body
            .as_ref()
            .map(|body| type_tokens(&body.ty))
            .unwrap_or_else(|| quote! { ::serde_json::Value })
    };
    let create = body_type("opportunities.create");
    let update = body_type("opportunities.update");
    let get = op("opportunities.get");
    let id_param = get.params.iter().find(|param| {
        param.required
            && param.location == ParamLocation::Path
            && !spec
                .credentials
                .iter()
                .any(|c| c.fill == Fill::PathParam && c.name == param.wire_name)
    });
    let id_type = id_param
        .map(|param| param.ty.clone())
        .unwrap_or(Type::String);
    let (id_tokens, parse_id) = match id_type {
        Type::String => (
            quote! { ::std::string::String },
            quote! { ::crm_runtime::unified::plausible_id(id).then(|| ::std::borrow::ToOwned::to_owned(id)) },
        ),
        other => {
            let ty = type_tokens(&other);
            (ty, quote! { id.parse().ok() })
        }
    };
    let method = |name: &str| ident(&format!("{}_json", op(name).name));
    let list_method = method("opportunities.list");
    let list_args = call_args(op("opportunities.list"), spec, Some(quote! { input }), None);
    let get_method = method("opportunities.get");
    let get_args = call_args(op("opportunities.get"), spec, None, None);
    let create_method = method("opportunities.create");
    let create_args = call_args(
        op("opportunities.create"),
        spec,
        None,
        Some(quote! { body }),
    );
    let update_method = method("opportunities.update");
    let update_args = call_args(
        op("opportunities.update"),
        spec,
        None,
        Some(quote! { body }),
    );
    let delete_method = method("opportunities.delete");
    let delete_args = call_args(op("opportunities.delete"), spec, None, None);
    let strs = |names: &[String]| quote! { &[#(#names),*] };
    let read = strs(&binding.read);
    let create_supported = strs(&binding.create_supported);
    let create_required = strs(&binding.create_required);
    let update_supported = strs(&binding.update_supported);
    let pagination = pagination_const(spec);
    let filters = strs(&binding.filters);
    let unsupported = |entries: &[(String, String)]| {
        let entries = entries.iter().map(|(name, reason)| {
            quote! { ::crm_runtime::support::Unsupported { name: #name, reason: #reason } }
        });
        quote! { &[#(#entries),*] }
    };
    let unsupported_filters = unsupported(&binding.unsupported_filters);
    let unsupported_lookups = unsupported(&spec.unsupported_lookups);
    let record_id = &binding.record_id;
    let record_pointer = &binding.record;
    let in_body = binding.pagination.in_body;
    quote! {
        impl ::crm_runtime::unified::OpportunityCalls for #connection_type {
            type ListInput = #input;
            type Record = #record;
            type Create = #create;
            type Update = #update;
            type Id = #id_tokens;

            const PROVIDER: &'static str = PROVIDER_KEY;
            const PAGINATION: ::crm_runtime::paging::Pagination = #pagination;
            const SUPPORT: ::crm_runtime::support::ResourceSupport = ::crm_runtime::support::ResourceSupport {
                read: #read,
                create: ::crm_runtime::support::OperationSupport { supported: #create_supported, required: #create_required },
                update: ::crm_runtime::support::OperationSupport { supported: #update_supported, required: &[] },
                filters: #filters,
                unsupported_filters: #unsupported_filters,
            };
            const LOOKUPS: ::crm_runtime::support::LookupSupport = ::crm_runtime::support::LookupSupport {
                unsupported: #unsupported_lookups,
            };
            const RECORD_ID: &'static str = #record_id;
            const RECORD: &'static str = #record_pointer;
            const REMOTE_QUERY_IN_BODY: bool = #in_body;

            fn parse_id(id: &str) -> ::core::option::Option<Self::Id> {
                #parse_id
            }

            async fn list(&self, input: &Self::ListInput) -> ::crm_runtime::unified::CallResult {
                self.client.#list_method(#(#list_args),*).await.map_err(::crm_runtime::Error::erase)
            }

            async fn get(&self, id: &Self::Id) -> ::crm_runtime::unified::CallResult {
                self.client.#get_method(#(#get_args),*).await.map_err(::crm_runtime::Error::erase)
            }

            async fn create(&self, body: &Self::Create) -> ::crm_runtime::unified::CallResult {
                self.client.#create_method(#(#create_args),*).await.map_err(::crm_runtime::Error::erase)
            }

            async fn update(&self, id: &Self::Id, body: &Self::Update) -> ::crm_runtime::unified::CallResult {
                self.client.#update_method(#(#update_args),*).await.map_err(::crm_runtime::Error::erase)
            }

            async fn delete(&self, id: &Self::Id) -> ::crm_runtime::unified::CallResult {
                self.client.#delete_method(#(#delete_args),*).await.map_err(::crm_runtime::Error::erase)
            }
        }
    }
}
