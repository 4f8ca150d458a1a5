//! Structs, open enums, unions and aliases.

use super::absolute::{self, Derive};
use super::{doc_attrs, ident, type_tokens};
use crate::model::{Enum, Field, Presence, Struct, TypeDef, TypeKind, Union};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

/// Vendor extensions that say which providers support a field; they become
/// part of its documentation.
const SUPPORT_EXTENSIONS: &[(&str, &str)] = &[
    ("x-supported-in", "Supported in"),
    ("x-required-in", "Required in"),
];

pub(super) fn type_def(def: &TypeDef, is_unified: bool) -> TokenStream {
    let doc = doc_attrs(def.doc.as_deref());
    let name = ident(&def.name);
    match &def.kind {
        TypeKind::Struct(body) => struct_def(doc, &name, body, is_unified),
        TypeKind::Enum(body) => enum_def(doc, &name, body),
        TypeKind::Union(body) => union_def(doc, &name, body),
        TypeKind::Alias(ty) => {
            let ty = type_tokens(ty);
            quote! { #doc pub type #name = #ty; }
        }
    }
}

fn struct_def(
    doc: TokenStream,
    name: &proc_macro2::Ident,
    body: &Struct,
    is_unified: bool,
) -> TokenStream {
    let all_optional = body
        .fields
        .iter()
        .all(|field| field.presence != Presence::Required);
    let derive = if all_optional {
        absolute::derive(&[
            Derive::Debug,
            Derive::Clone,
            Derive::PartialEq,
            Derive::Default,
            Derive::Serialize,
            Derive::Deserialize,
        ])
    } else {
        absolute::derive(&[
            Derive::Debug,
            Derive::Clone,
            Derive::PartialEq,
            Derive::Serialize,
            Derive::Deserialize,
        ])
    };
    let fields = body.fields.iter().map(field);
    let additional = body.additional.as_ref().map(|additional| {
        let field_name = ident(&additional.name);
        let map = absolute::string_map(type_tokens(&additional.value));
        quote! {
            /// Properties not listed above, by their wire name.
            #[serde(flatten)]
            pub #field_name: #map,
        }
    });
    let support = is_unified.then(|| unified_fields_impl(name, body));
    quote! {
        #doc
        #derive
        pub struct #name {
            #(#fields)*
            #additional
        }
        #support
    }
}

/// For a struct of the unified API: its fields as rendering needs them
/// (order, date-times), and which fields a value sets, so a write can be
/// checked against a provider's support before it is sent.
fn unified_fields_impl(name: &proc_macro2::Ident, body: &Struct) -> TokenStream {
    let rows = body.fields.iter().map(|field| {
        let wire = &field.wire_name;
        let date_time = matches!(
            field.ty.clone().strip_option().0,
            crate::model::Type::DateTime
        );
        quote! { ::crm_runtime::support::FieldInfo { name: #wire, date_time: #date_time }, }
    });
    let checks = body.fields.iter().map(|field| {
        let field_name = ident(&field.name);
        let wire = &field.wire_name;
        match field.presence {
            Presence::Required => quote! { set.push(#wire); },
            Presence::RequiredNullable | Presence::Optional => {
                quote! { if self.#field_name.is_some() { set.push(#wire); } }
            }
            Presence::Patch => quote! { if !self.#field_name.is_absent() { set.push(#wire); } },
        }
    });
    let names = absolute::vec(quote! { &'static str });
    quote! {
        impl #name {
            /// The fields, in the schema's order.
            pub const FIELDS: &'static [::crm_runtime::support::FieldInfo] = &[#(#rows)*];

            /// The wire names of the fields this value sets (for a partial
            /// update: the fields it sends).
            #[allow(clippy::vec_init_then_push)]
            pub fn fields_set(&self) -> #names {
                let mut set = ::std::vec::Vec::new();
                #(#checks)*
                set
            }
        }
    }
}

fn field(field: &Field) -> TokenStream {
    let name = ident(&field.name);
    let mut ty = type_tokens(&field.ty);
    if field.boxed {
        ty = absolute::boxed(ty);
    }
    let mut serde_args = Vec::new();
    if field.name != field.wire_name {
        let wire = &field.wire_name;
        serde_args.push(quote! { rename = #wire });
    }
    let ty = match field.presence {
        Presence::Required => ty,
        Presence::RequiredNullable => absolute::option(ty),
        Presence::Optional => {
            serde_args
                .push(quote! { default, skip_serializing_if = "::core::option::Option::is_none" });
            absolute::option(ty)
        }
        Presence::Patch => {
            serde_args
                .push(quote! { default, skip_serializing_if = "::crm_runtime::Patch::is_absent" });
            if !field.nullable {
                serde_args
                    .push(quote! { deserialize_with = "::crm_runtime::Patch::deserialize_value" });
            }
            quote! { ::crm_runtime::Patch<#ty> }
        }
    };
    let serde_attr = (!serde_args.is_empty()).then(|| quote! { #[serde(#(#serde_args),*)] });
    let doc = doc_attrs(field_doc(field).as_deref());
    quote! {
        #doc
        #serde_attr
        pub #name: #ty,
    }
}

fn field_doc(field: &Field) -> Option<String> {
    let mut parts: Vec<String> = field.doc.iter().cloned().collect();
    for (extension, label) in SUPPORT_EXTENSIONS {
        if let Some(Value::Array(providers)) = field.extensions.get(*extension) {
            let names: Vec<&str> = providers.iter().filter_map(Value::as_str).collect();
            let list = if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            };
            parts.push(format!("{label}: {list}."));
        }
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

fn enum_def(doc: TokenStream, name: &proc_macro2::Ident, body: &Enum) -> TokenStream {
    let unknown = ident(&body.unknown_variant);
    let variants: Vec<_> = body
        .variants
        .iter()
        .map(|variant| ident(&variant.name))
        .collect();
    let values: Vec<&str> = body
        .variants
        .iter()
        .map(|variant| variant.value.as_str())
        .collect();
    let variant_docs = values
        .iter()
        .map(|value| doc_attrs(Some(&format!("`{value}`"))));
    let derive = absolute::derive(&[
        Derive::Debug,
        Derive::Clone,
        Derive::PartialEq,
        Derive::Eq,
        Derive::Hash,
    ]);
    let string = absolute::string();
    let serialized = absolute::result(quote! { S::Ok }, quote! { S::Error });
    let deserialized = absolute::result(quote! { Self }, quote! { D::Error });
    quote! {
        #doc
        #derive
        pub enum #name {
            #(#variant_docs #variants,)*
            /// A value this spec does not list, kept as sent.
            #unknown(#string),
        }

        impl #name {
            /// The value as it is sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #values,)*
                    Self::#unknown(value) => value,
                }
            }
        }

        impl ::core::convert::From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #(#values => Self::#variants,)*
                    other => Self::#unknown(::std::borrow::ToOwned::to_owned(other)),
                }
            }
        }

        impl ::core::convert::From<#string> for #name {
            fn from(value: #string) -> Self {
                match <Self as ::core::convert::From<&str>>::from(value.as_str()) {
                    Self::#unknown(_) => Self::#unknown(value),
                    known => known,
                }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> #serialized {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> #deserialized {
                <#string as ::serde::Deserialize>::deserialize(deserializer)
                    .map(<Self as ::core::convert::From<#string>>::from)
            }
        }
    }
}

fn union_def(doc: TokenStream, name: &proc_macro2::Ident, body: &Union) -> TokenStream {
    let variants = body.variants.iter().map(|variant| {
        let variant_name = ident(&variant.name);
        let mut ty = type_tokens(&variant.ty);
        if variant.boxed {
            ty = absolute::boxed(ty);
        }
        quote! { #variant_name(#ty), }
    });
    let Some(tag) = &body.discriminator else {
        let derive = absolute::derive(&[
            Derive::Debug,
            Derive::Clone,
            Derive::PartialEq,
            Derive::Serialize,
            Derive::Deserialize,
        ]);
        return quote! {
            #doc
            #derive
            #[serde(untagged)]
            pub enum #name {
                #(#variants)*
            }
        };
    };
    // The tag stays in each variant's own data (its schema usually
    // requires it), so the variant is chosen by hand and parsed whole.
    let arms = body.variants.iter().map(|variant| {
        let variant_name = ident(&variant.name);
        let values = &variant.tag_values;
        quote! {
            ::core::option::Option::Some(#(#values)|*) => ::serde_json::from_value(value).map(Self::#variant_name).map_err(::serde::de::Error::custom),
        }
    });
    let derive = absolute::derive(&[
        Derive::Debug,
        Derive::Clone,
        Derive::PartialEq,
        Derive::Serialize,
    ]);
    let deserialized = absolute::result(quote! { Self }, quote! { D::Error });
    let unknown_doc = doc_attrs(Some(&format!(
        "A `{tag}` this spec does not list, kept as sent."
    )));
    quote! {
        #doc
        #derive
        #[serde(untagged)]
        pub enum #name {
            #(#variants)*
            #unknown_doc
            Unknown(::serde_json::Value),
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> #deserialized {
                let value = <::serde_json::Value as ::serde::Deserialize>::deserialize(deserializer)?;
                let tag = value
                    .get(#tag)
                    .and_then(::serde_json::Value::as_str)
                    .map(<str as ::std::borrow::ToOwned>::to_owned);
                match tag.as_deref() {
                    #(#arms)*
                    _ => ::core::result::Result::Ok(Self::Unknown(value)),
                }
            }
        }
    }
}
