//! Absolute paths to what generated code uses from `core` and `std`.
//!
//! Generated code shares its module with the spec's types, and a spec may
//! call a type `Option`, `String`, `From`, `Result` or `Default`: in that
//! module the short name means the spec's type. So generated code names
//! nothing from the prelude by its short name: types, traits, variants
//! (`::core::option::Option::Some`), derive macros, `format!`, and trait
//! methods, which are called through their trait
//! (`::core::convert::Into::into(value)`), since a method call finds a
//! trait only while its name is in scope. The spec's names stay as the
//! spec says. (Everything else is named by absolute path already:
//! `::crm_runtime::Error`, `::serde::Serialize`, `::serde_json::Value`.)
//!
//! Inside `quote!`, write the path (`::core::option::Option::None`) or use
//! these helpers for the types the emitter builds from parts.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

pub(crate) fn string() -> TokenStream {
    quote! { ::std::string::String }
}

pub(crate) fn option(inner: impl ToTokens) -> TokenStream {
    quote! { ::core::option::Option<#inner> }
}

pub(crate) fn vec(inner: impl ToTokens) -> TokenStream {
    quote! { ::std::vec::Vec<#inner> }
}

pub(crate) fn boxed(inner: impl ToTokens) -> TokenStream {
    quote! { ::std::boxed::Box<#inner> }
}

pub(crate) fn result(ok: impl ToTokens, error: impl ToTokens) -> TokenStream {
    quote! { ::core::result::Result<#ok, #error> }
}

/// A map keyed by wire names (properties beside known fields, maps).
pub(crate) fn string_map(value: impl ToTokens) -> TokenStream {
    let string = string();
    quote! { ::std::collections::BTreeMap<#string, #value> }
}

/// `impl Into<T>`, for arguments.
pub(crate) fn impl_into(target: impl ToTokens) -> TokenStream {
    quote! { impl ::core::convert::Into<#target> }
}

/// `value.into()`, called through the trait.
pub(crate) fn into(value: impl ToTokens) -> TokenStream {
    quote! { ::core::convert::Into::into(#value) }
}

/// The derives of generated structs and enums, by absolute path.
pub(crate) fn derive(traits: &[Derive]) -> TokenStream {
    let paths = traits.iter().map(|derive| match derive {
        Derive::Debug => quote! { ::core::fmt::Debug },
        Derive::Clone => quote! { ::core::clone::Clone },
        Derive::PartialEq => quote! { ::core::cmp::PartialEq },
        Derive::Eq => quote! { ::core::cmp::Eq },
        Derive::Hash => quote! { ::core::hash::Hash },
        Derive::Default => quote! { ::core::default::Default },
        Derive::Serialize => quote! { ::serde::Serialize },
        Derive::Deserialize => quote! { ::serde::Deserialize },
    });
    quote! { #[derive(#(#paths),*)] }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Derive {
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
}
