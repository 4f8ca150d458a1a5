//! The client struct: constructors, credential setters, one async method
//! per operation, and the per-operation response and error enums.

use super::absolute::{self, Derive};
use super::{doc_attrs, ident, type_tokens};
use crate::model::{
    Api, BodyEncoding, Idempotency, Operation, Param, ParamLocation, QueryStyle, ResponseCase,
    ResponseContent, Responses, SchemeKind, StatusMatch, Type,
};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// The client struct.
pub(super) fn client_struct(api: &Api) -> TokenStream {
    let doc = doc_attrs(Some(&client_doc(api)));
    let derive = absolute::derive(&[Derive::Clone, Derive::Debug]);
    quote! {
        #doc
        #derive
        pub struct Client {
            core: ::crm_runtime::ClientCore,
        }
    }
}

/// The client's methods that are not operations, inside `impl Client`.
pub(super) fn client_constructors(api: &Api) -> TokenStream {
    let default_base_url = api.default_base_url.as_ref().map(|url| {
        quote! {
            /// The API's own host, from the spec's first server.
            pub const DEFAULT_BASE_URL: &'static str = #url;
        }
    });
    let setters = api.security_schemes.iter().map(setter);
    let string = absolute::string();
    let url = absolute::impl_into(&string);
    let pairs = absolute::vec(quote! { (#string, #string) });
    let fields = quote! { ::serde_json::Map<#string, ::serde_json::Value> };
    quote! {
        impl Client {
            #default_base_url

            /// A client for the API at `base_url`.
            pub fn new(base_url: #url) -> Self {
                Client { core: ::crm_runtime::ClientCore::new(base_url) }
            }

            /// A client using a `reqwest::Client` you configured (timeouts,
            /// proxies, connection pool).
            pub fn with_http_client(base_url: #url, http: ::crm_runtime::reexports::reqwest::Client) -> Self {
                Client { core: ::crm_runtime::ClientCore::with_http_client(base_url, http) }
            }

            pub fn base_url(&self) -> &str {
                self.core.base_url()
            }

            /// How failed idempotent calls are retried (the default retries
            /// 429, 502, 503, 504 and connection failures a few times).
            pub fn with_retry_policy(mut self, policy: ::crm_runtime::RetryPolicy) -> Self {
                self.core.set_retry_policy(policy);
                self
            }

            /// Adds these query parameters, as they are, to every request.
            pub fn with_extra_query(mut self, pairs: #pairs) -> Self {
                self.core.set_extra_query(pairs);
                self
            }

            /// Merges these fields, as they are, into every JSON object body.
            pub fn with_extra_body(mut self, fields: #fields) -> Self {
                self.core.set_extra_body(fields);
                self
            }

            #(#setters)*
        }
    }
}

/// One operation's method, inside `impl Client`.
pub(super) fn operation_method(operation: &Operation) -> TokenStream {
    let method = method(operation, false);
    quote! { impl Client { #method } }
}

/// The same call as `operation_method`, named `<name>_json`, its success
/// body untyped JSON: what the unified layer calls, so a record that does
/// not match its schema is decoded (and fails) alone.
pub(super) fn json_method(operation: &Operation) -> TokenStream {
    let method = method(operation, true);
    quote! { impl Client { #method } }
}

fn client_doc(api: &Api) -> String {
    let mut doc = format!("Client for {}.", api.title.trim());
    if let Some(description) = &api.description {
        doc.push_str("\n\n");
        doc.push_str(description);
    }
    doc
}

fn setter(scheme: &crate::model::SecurityScheme) -> TokenStream {
    let name = ident(&scheme.setter);
    let key = &scheme.key;
    let mut doc = match &scheme.kind {
        SchemeKind::Basic => format!("Sets the credentials of `{key}` (HTTP basic)."),
        SchemeKind::Bearer => {
            format!("Sets the token of `{key}` (sent as `Authorization: Bearer`).")
        }
        SchemeKind::ApiKeyHeader(header) => {
            format!("Sets the API key of `{key}` (sent in the `{header}` header).")
        }
        SchemeKind::ApiKeyQuery(param) => {
            format!("Sets the API key of `{key}` (sent as the `{param}` query parameter).")
        }
        SchemeKind::ApiKeyCookie(cookie) => {
            format!("Sets the API key of `{key}` (sent as the `{cookie}` cookie).")
        }
    };
    if let Some(description) = &scheme.doc {
        doc.push_str("\n\n");
        doc.push_str(description);
    }
    let doc = doc_attrs(Some(&doc));
    let secret = absolute::impl_into(quote! { ::crm_runtime::Secret });
    // The arguments, converted through the trait.
    let [username, password, token, api_key] = [
        quote! { username },
        quote! { password },
        quote! { token },
        quote! { key },
    ]
    .map(absolute::into);
    let (params, credential) = match &scheme.kind {
        SchemeKind::Basic => (
            quote! { username: #secret, password: #secret },
            quote! { ::crm_runtime::Credential::Basic { username: #username, password: #password } },
        ),
        SchemeKind::Bearer => (
            quote! { token: #secret },
            quote! { ::crm_runtime::Credential::Bearer(#token) },
        ),
        SchemeKind::ApiKeyHeader(header) => (
            quote! { key: #secret },
            quote! { ::crm_runtime::Credential::Header { name: #header, value: #api_key } },
        ),
        SchemeKind::ApiKeyQuery(param) => (
            quote! { key: #secret },
            quote! { ::crm_runtime::Credential::Query { name: #param, value: #api_key } },
        ),
        SchemeKind::ApiKeyCookie(cookie) => (
            quote! { key: #secret },
            quote! {
                ::crm_runtime::Credential::Header {
                    name: "cookie",
                    value: ::crm_runtime::Secret::new(::std::format!(
                        "{}={}",
                        #cookie,
                        ::core::convert::Into::<::crm_runtime::Secret>::into(key).expose()
                    )),
                }
            },
        ),
    };
    quote! {
        #doc
        pub fn #name(mut self, #params) -> Self {
            self.core.set_credential(#key, #credential);
            self
        }
    }
}

/// The type of a response case's body.
fn content_type(content: &ResponseContent) -> TokenStream {
    match content {
        ResponseContent::Json(ty) => type_tokens(ty),
        ResponseContent::Text => absolute::string(),
        ResponseContent::Bytes => quote! { ::crm_runtime::reexports::bytes::Bytes },
        ResponseContent::Empty => quote! { () },
    }
}

fn success_type(responses: &Responses) -> TokenStream {
    match (&responses.enum_name, responses.cases.as_slice()) {
        (Some(name), _) => type_tokens(&Type::Named(name.clone())),
        (None, [only]) => content_type(&only.content),
        (None, _) => quote! { ::crm_runtime::reexports::bytes::Bytes },
    }
}

fn error_type(responses: &Responses) -> TokenStream {
    if let Some(name) = &responses.enum_name {
        return type_tokens(&Type::Named(name.clone()));
    }
    match json_cases(responses).next() {
        Some((_, ty)) => type_tokens(ty),
        None => quote! { ::serde_json::Value },
    }
}

fn json_cases(responses: &Responses) -> impl Iterator<Item = (&ResponseCase, &Type)> {
    responses
        .cases
        .iter()
        .filter_map(|case| match &case.content {
            ResponseContent::Json(ty) => Some((case, ty)),
            _ => None,
        })
}

pub(super) fn response_enums(operation: &Operation) -> TokenStream {
    let derive = absolute::derive(&[Derive::Debug, Derive::Clone, Derive::PartialEq]);
    let success = operation.success.enum_name.as_ref().map(|name| {
        let name = ident(name);
        let doc = format!(
            " The documented successful responses of [`Client::{}`].",
            operation.name
        );
        let variants = operation.success.cases.iter().map(|case| {
            let variant = ident(&case.variant);
            let case_doc = format!(" {}", status_text(case.status));
            match &case.content {
                ResponseContent::Empty => quote! { #[doc = #case_doc] #variant, },
                content => {
                    let ty = content_type(content);
                    quote! { #[doc = #case_doc] #variant(#ty), }
                }
            }
        });
        quote! {
            #[doc = #doc]
            #derive
            pub enum #name { #(#variants)* }
        }
    });
    let errors = operation.errors.enum_name.as_ref().map(|name| {
        let name = ident(name);
        let doc = format!(
            " The documented error bodies of [`Client::{}`].",
            operation.name
        );
        let variants = json_cases(&operation.errors).map(|(case, ty)| {
            let variant = ident(&case.variant);
            let ty = type_tokens(ty);
            let case_doc = format!(" {}", status_text(case.status));
            quote! { #[doc = #case_doc] #variant(#ty), }
        });
        quote! {
            #[doc = #doc]
            #derive
            pub enum #name { #(#variants)* }
        }
    });
    quote! { #success #errors }
}

fn status_text(status: StatusMatch) -> String {
    match status {
        StatusMatch::Code(code) => format!("Status {code}."),
        StatusMatch::Range(range) => format!("Any {range}XX status."),
        StatusMatch::Default => "Any other status.".to_owned(),
    }
}

fn method(operation: &Operation, json_variant: bool) -> TokenStream {
    let (name, mut doc) = if json_variant {
        (
            ident(&format!("{}_json", operation.name)),
            format!(
                "[`Self::{}`], with the success body as untyped JSON (`null` when empty).",
                operation.name
            ),
        )
    } else {
        (
            ident(&operation.name),
            operation.doc.clone().unwrap_or_default(),
        )
    };
    if !doc.is_empty() {
        doc.push_str("\n\n");
    }
    doc.push_str(&format!("`{} {}`", operation.method, operation.path));
    let doc = doc_attrs(Some(&doc));

    let positional: Vec<&Param> = operation
        .params
        .iter()
        .filter(|param| param.required)
        .collect();
    let mut args: Vec<TokenStream> = positional
        .iter()
        .map(|param| {
            let arg = ident(&param.name);
            let ty = match &param.ty {
                Type::String => quote! { &str },
                other => {
                    let ty = type_tokens(other);
                    quote! { &#ty }
                }
            };
            quote! { #arg: #ty }
        })
        .collect();
    if let Some(options) = &operation.options_struct {
        let options = ident(options);
        args.push(quote! { params: &#options });
    }
    if let Some(body) = &operation.body {
        let ty = type_tokens(&body.ty);
        args.push(match (body.encoding, body.required) {
            (BodyEncoding::Json | BodyEncoding::Form, true) => quote! { body: &#ty },
            (BodyEncoding::Json | BodyEncoding::Form, false) => {
                let ty = absolute::option(quote! { &#ty });
                quote! { body: #ty }
            }
            (BodyEncoding::Text, _) => {
                let ty = absolute::string();
                quote! { body: #ty }
            }
            (BodyEncoding::Bytes, _) => {
                let ty = absolute::vec(quote! { u8 });
                quote! { body: #ty }
            }
        });
    }

    let path = path_expression(operation);
    let path_arg = if operation.path.contains('{') {
        quote! { &path }
    } else {
        quote! { path }
    };
    let http_method = ident(&operation.method);
    let schemes = &operation.security;
    let query = query_statements(operation);
    let headers = header_statements(operation);
    let body = body_statement(operation);
    let (success, arms) = if json_variant {
        (
            quote! { ::serde_json::Value },
            quote! { 200..=299 => response.json_value(), },
        )
    } else {
        (
            success_type(&operation.success),
            success_arms(&operation.success),
        )
    };
    let error = error_type(&operation.errors);
    let decode_error = decode_error(&operation.errors);
    let operation_id = &operation.operation_id;
    let idempotency = match &operation.idempotency {
        Idempotency::Idempotent => quote! { ::crm_runtime::Idempotency::Idempotent },
        Idempotency::NotIdempotent => quote! { ::crm_runtime::Idempotency::NotIdempotent },
        Idempotency::WithKey(header) => quote! { ::crm_runtime::Idempotency::WithKey(#header) },
    };
    let allow = (args.len() > 6).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let output = absolute::result(
        quote! { ::crm_runtime::ResponseValue<#success> },
        quote! { ::crm_runtime::Error<#error> },
    );
    quote! {
        #doc
        #allow
        pub async fn #name(&self, #(#args),*) -> #output {
            let path = #path;
            let request = self.core.request(::crm_runtime::reexports::reqwest::Method::#http_method, #path_arg, &[#(#schemes),*]);
            #query
            #headers
            #body
            let response = self.core.send(request, #idempotency, #operation_id).await?;
            match response.status.as_u16() {
                #arms
                _ => ::core::result::Result::Err(response.into_error(#decode_error)),
            }
        }
    }
}

fn param_value(param: &Param) -> TokenStream {
    let name = ident(&param.name);
    if param.required {
        quote! { #name }
    } else {
        quote! { &params.#name }
    }
}

/// `format!` over the path template, each parameter percent-encoded as one
/// segment.
fn path_expression(operation: &Operation) -> TokenStream {
    let mut template = String::new();
    let mut values = Vec::new();
    let mut rest = operation.path.as_str();
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let wire = &rest[start + 1..start + length];
        template.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        template.push_str("{}");
        let param = operation
            .params
            .iter()
            .find(|p| p.location == ParamLocation::Path && p.wire_name == wire);
        if let Some(param) = param {
            let value = param_value(param);
            values.push(quote! { ::crm_runtime::encode::path_segment(#wire, #value)? });
        } else {
            values.push(quote! { "" });
        }
        rest = &rest[start + length + 1..];
    }
    template.push_str(&rest.replace('{', "{{").replace('}', "}}"));
    if values.is_empty() {
        quote! { #template }
    } else {
        quote! { ::std::format!(#template, #(#values),*) }
    }
}

fn query_statements(operation: &Operation) -> TokenStream {
    let pushes: Vec<TokenStream> = operation
        .params
        .iter()
        .filter(|param| param.location == ParamLocation::Query)
        .map(|param| {
            let wire = &param.wire_name;
            let value = param_value(param);
            let style = match param.style {
                QueryStyle::Form => quote! { Form },
                QueryStyle::SpaceDelimited => quote! { SpaceDelimited },
                QueryStyle::PipeDelimited => quote! { PipeDelimited },
                QueryStyle::DeepObject => quote! { DeepObject },
            };
            let explode = param.explode;
            quote! {
                ::crm_runtime::encode::query(&mut query, #wire, #value, ::crm_runtime::encode::QueryStyle::#style, #explode)?;
            }
        })
        .collect();
    if pushes.is_empty() {
        return TokenStream::new();
    }
    let pairs = absolute::vec(quote! { (::std::string::String, ::std::string::String) });
    quote! {
        let mut query: #pairs = ::std::vec::Vec::new();
        #(#pushes)*
        let request = request.query(&query);
    }
}

fn header_statements(operation: &Operation) -> TokenStream {
    let headers = operation
        .params
        .iter()
        .filter(|param| param.location == ParamLocation::Header)
        .map(|param| {
            let wire = &param.wire_name;
            let value = param_value(param);
            quote! {
                let request = match ::crm_runtime::encode::header_value(#wire, #value)? {
                    ::core::option::Option::Some(value) => request.header(#wire, value),
                    ::core::option::Option::None => request,
                };
            }
        });
    let cookies: Vec<TokenStream> = operation
        .params
        .iter()
        .filter(|param| param.location == ParamLocation::Cookie)
        .map(|param| {
            let wire = &param.wire_name;
            let value = param_value(param);
            quote! {
                if let ::core::option::Option::Some(value) = ::crm_runtime::encode::header_value(#wire, #value)? {
                    cookies.push(::std::format!("{}={}", #wire, value));
                }
            }
        })
        .collect();
    let cookies = (!cookies.is_empty()).then(|| {
        let list = absolute::vec(absolute::string());
        quote! {
            let mut cookies: #list = ::std::vec::Vec::new();
            #(#cookies)*
            let request = if cookies.is_empty() { request } else { request.header("cookie", cookies.join("; ")) };
        }
    });
    quote! { #(#headers)* #cookies }
}

fn body_statement(operation: &Operation) -> TokenStream {
    let Some(body) = &operation.body else {
        return TokenStream::new();
    };
    let content_type = &body.content_type;
    match (body.encoding, body.required) {
        (BodyEncoding::Json, true) => quote! { let request = self.core.json_body(request, body)?; },
        (BodyEncoding::Json, false) => quote! {
            let request = match body {
                ::core::option::Option::Some(body) => self.core.json_body(request, body)?,
                ::core::option::Option::None => request,
            };
        },
        (BodyEncoding::Form, true) => {
            quote! { let request = request.form(&::crm_runtime::encode::form(body)?); }
        }
        (BodyEncoding::Form, false) => quote! {
            let request = match body {
                ::core::option::Option::Some(body) => request.form(&::crm_runtime::encode::form(body)?),
                ::core::option::Option::None => request,
            };
        },
        (BodyEncoding::Text | BodyEncoding::Bytes, _) => quote! {
            let request = request.header("content-type", #content_type).body(body);
        },
    }
}

fn status_pattern(status: StatusMatch) -> TokenStream {
    match status {
        StatusMatch::Code(code) => {
            let code = Literal::u16_unsuffixed(code);
            quote! { #code }
        }
        StatusMatch::Range(range) => {
            let low = Literal::u16_unsuffixed(range.saturating_mul(100));
            let high = Literal::u16_unsuffixed(range.saturating_mul(100).saturating_add(99));
            quote! { #low..=#high }
        }
        StatusMatch::Default => quote! { _ },
    }
}

/// Exact codes before ranges before the default, so no arm hides another.
fn ordered(cases: &[ResponseCase]) -> Vec<&ResponseCase> {
    let rank = |case: &&ResponseCase| match case.status {
        StatusMatch::Code(_) => 0,
        StatusMatch::Range(_) => 1,
        StatusMatch::Default => 2,
    };
    let mut cases: Vec<&ResponseCase> = cases.iter().collect();
    cases.sort_by_key(rank);
    cases
}

fn success_arms(responses: &Responses) -> TokenStream {
    if responses.cases.is_empty() {
        return quote! { 200..=299 => response.bytes(), };
    }
    let arms = ordered(&responses.cases).into_iter().map(|case| {
        let pattern = status_pattern(case.status);
        let read = match &case.content {
            ResponseContent::Json(ty) => {
                let ty = type_tokens(ty);
                quote! { response.json::<#ty, _>() }
            }
            ResponseContent::Text => quote! { response.text() },
            ResponseContent::Bytes => quote! { response.bytes() },
            ResponseContent::Empty => quote! { response.empty() },
        };
        let expression = match &responses.enum_name {
            None => read,
            Some(name) => {
                let name = ident(name);
                let variant = ident(&case.variant);
                match case.content {
                    ResponseContent::Empty => {
                        quote! { #read.map(|value| value.map(|()| #name::#variant)) }
                    }
                    _ => quote! { #read.map(|value| value.map(#name::#variant)) },
                }
            }
        };
        quote! { #pattern => #expression, }
    });
    quote! { #(#arms)* }
}

fn decode_error(responses: &Responses) -> TokenStream {
    let Some(name) = &responses.enum_name else {
        return quote! { |_status: u16, body: &[u8]| ::serde_json::from_slice(body).ok() };
    };
    let name = ident(name);
    let cases: Vec<ResponseCase> = json_cases(responses)
        .map(|(case, _)| case.clone())
        .collect();
    let has_default = cases.iter().any(|case| case.status == StatusMatch::Default);
    let arms = ordered(&cases).into_iter().map(|case| {
        let pattern = status_pattern(case.status);
        let variant = ident(&case.variant);
        quote! { #pattern => ::serde_json::from_slice(body).ok().map(#name::#variant), }
    });
    let fallback = (!has_default).then(|| quote! { _ => ::core::option::Option::None, });
    quote! {
        |status: u16, body: &[u8]| match status {
            #(#arms)*
            #fallback
        }
    }
}
