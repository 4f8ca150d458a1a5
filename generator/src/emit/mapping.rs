//! The `UnifiedMapping` trait of a provider: one method per conversion the
//! hand-written glue must write, derived from the operations'
//! `x-unified-operation` bindings and typed with the provider's and the
//! unified API's generated types. The methods have no default bodies, so a
//! conversion the glue lacks is a compile error that names it, and a type
//! that changes in either spec breaks the glue that must follow.

use super::{absolute, doc_attrs, ident, type_tokens};
use crate::model::{Api, Operation, ResponseContent, Type};
use crate::names::snake_name;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// The vendor extension that binds an operation to a unified operation.
pub const BINDING_EXTENSION: &str = "x-unified-operation";

/// Where the unified API's module is, seen from a provider module, and the
/// types of its operations.
#[derive(Clone, Debug, Default)]
pub struct UnifiedLink {
    /// Path segments from the provider module (`super`, `super`,
    /// `unified`, `crm`).
    pub module: Vec<String>,
    /// Binding name (`opportunities.create`) to its unified types.
    pub operations: BTreeMap<String, UnifiedOperation>,
}

#[derive(Clone, Debug, Default)]
pub struct UnifiedOperation {
    pub body: Option<Type>,
    pub record: Option<Type>,
}

impl UnifiedLink {
    /// The unified operations of an API: those with a binding.
    pub fn operations_of(api: &Api) -> BTreeMap<String, UnifiedOperation> {
        api.operations
            .iter()
            .filter_map(|operation| {
                let binding = binding(operation)?;
                let body = operation.body.as_ref().map(|body| body.ty.clone());
                Some((
                    binding.to_owned(),
                    UnifiedOperation {
                        body,
                        record: success_type(operation),
                    },
                ))
            })
            .collect()
    }
}

pub fn binding(operation: &Operation) -> Option<&str> {
    operation
        .extensions
        .get(BINDING_EXTENSION)
        .and_then(|value| value.as_str())
}

/// The one JSON type an operation answers with on success, if it has one.
pub fn success_type(operation: &Operation) -> Option<Type> {
    if let Some(name) = &operation.success.enum_name {
        return Some(Type::Named(name.clone()));
    }
    match operation.success.cases.as_slice() {
        [only] => match &only.content {
            ResponseContent::Json(ty) => Some(ty.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn qualified(ty: &Type, module: &[String]) -> TokenStream {
    match ty {
        Type::Named(name) => {
            let segments = module.iter().map(|segment| match segment.as_str() {
                "super" => quote! { super },
                other => {
                    let segment = ident(other);
                    quote! { #segment }
                }
            });
            let name = ident(name);
            quote! { #(#segments::)* #name }
        }
        Type::Vec(inner) => absolute::vec(qualified(inner, module)),
        Type::Map(inner) => absolute::string_map(qualified(inner, module)),
        Type::Option(inner) => absolute::option(qualified(inner, module)),
        other => type_tokens(other),
    }
}

/// The trait, when the API has bound operations.
///
/// With a connector (`always`), the five `opportunities.*` bindings are
/// served by the generated `OpportunityCalls` and the shared glue trait,
/// so only the other bindings become methods here, and the trait is
/// emitted even without any: the registry requires the glue to
/// implement it.
pub(super) fn mapping_trait(api: &Api, link: &UnifiedLink, always: bool) -> Option<TokenStream> {
    let methods: Vec<TokenStream> = api
        .operations
        .iter()
        .filter(|operation| {
            !always || !binding(operation).is_some_and(|name| name.starts_with("opportunities."))
        })
        .filter_map(|operation| method(operation, link))
        .collect();
    if methods.is_empty() && !always {
        return None;
    }
    let doc = doc_attrs(Some(&format!(
        "The conversions between the unified API and {}: one method per operation bound with \
         `x-unified-operation`. Hand-written glue implements it; a missing conversion is a \
         compile error that names it.",
        api.title.trim()
    )));
    let context = (!always).then(|| {
        quote! {
            /// What the conversions need besides the value itself (custom
            /// field definitions, stages, the account).
            type Context;
        }
    });
    Some(quote! {
        #doc
        pub trait UnifiedMapping {
            #context
            #(#methods)*
        }
    })
}

fn method(operation: &Operation, link: &UnifiedLink) -> Option<TokenStream> {
    let binding = binding(operation)?;
    let (_, verb) = binding.split_once('.')?;
    let name = ident(&snake_name(binding));
    let unified = link.operations.get(binding);
    let provider_op = format!(
        "`{}` (`{} {}`)",
        operation.operation_id, operation.method, operation.path
    );
    let error = quote! { ::crm_runtime::mapping::MappingError };
    let signature = match (binding, verb) {
        ("custom_fields.list", _) => {
            let response = type_tokens(&success_type(operation)?);
            let doc = doc_attrs(Some(&format!(
                "The custom field definitions in the response of {provider_op}."
            )));
            let output = absolute::result(
                absolute::vec(quote! { ::crm_runtime::mapping::CustomFieldDefinition }),
                &error,
            );
            quote! { #doc fn #name(&self, response: &#response) -> #output; }
        }
        ("stages.list", _) => {
            let response = type_tokens(&success_type(operation)?);
            let doc = doc_attrs(Some(&format!(
                "The stages in the response of {provider_op}."
            )));
            let output = absolute::result(
                absolute::vec(quote! { ::crm_runtime::mapping::Stage }),
                &error,
            );
            quote! { #doc fn #name(&self, response: &#response) -> #output; }
        }
        ("users.list", _) => {
            let response = type_tokens(&success_type(operation)?);
            let doc = doc_attrs(Some(&format!(
                "The users in the response of {provider_op}."
            )));
            let output = absolute::result(
                absolute::vec(quote! { ::crm_runtime::mapping::User }),
                &error,
            );
            quote! { #doc fn #name(&self, response: &#response) -> #output; }
        }
        (_, "list") => {
            let input = match (&operation.body, &operation.options_struct) {
                (Some(body), _) => type_tokens(&body.ty),
                (None, Some(options)) => type_tokens(&Type::Named(options.clone())),
                (None, None) => return None,
            };
            let doc = doc_attrs(Some(&format!(
                "`{binding}`: the unified list query as the input of {provider_op}."
            )));
            let output = absolute::result(input, &error);
            quote! { #doc fn #name(&self, query: &::crm_runtime::mapping::ListQuery, context: &Self::Context) -> #output; }
        }
        (_, "get") => {
            let record = type_tokens(&success_type(operation)?);
            let unified_record = qualified(unified?.record.as_ref()?, &link.module);
            let doc = doc_attrs(Some(&format!(
                "`{binding}`: a record of {provider_op} as the unified record."
            )));
            let output = absolute::result(unified_record, &error);
            quote! { #doc fn #name(&self, record: &#record, context: &Self::Context) -> #output; }
        }
        (_, "create" | "update") => {
            let body = type_tokens(&operation.body.as_ref()?.ty);
            let unified_body = qualified(unified?.body.as_ref()?, &link.module);
            let doc = doc_attrs(Some(&format!(
                "`{binding}`: the unified body as the body of {provider_op}."
            )));
            let output = absolute::result(body, &error);
            quote! { #doc fn #name(&self, body: &#unified_body, context: &Self::Context) -> #output; }
        }
        _ => return None,
    };
    Some(signature)
}
