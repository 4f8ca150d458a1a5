//! The provider registry: the one place that names every provider. From
//! all provider specs together it emits the `Provider` key enum, the
//! `Credentials` enum over each provider's generated credentials type, the
//! per-provider tables the server serves, and the dispatch from a provider
//! to its glue through the hand-written adapter. Each provider sits behind
//! the cargo feature named by its key.
//!
//! It also emits the declarations of the hand-written glue modules
//! (`glue/<key>.rs` beside the output directory), so adding a provider
//! edits no hand-written module list.
//!
//! Names it expects in the generated crate: `crate::connector::Adapter`
//! and `crate::connector::DynOpportunities` (the shared flow), and one
//! type per provider in its glue module, named after the key
//! (`crate::glue::close::Close`).

use super::ident;
use crate::names::type_name;
use proc_macro2::TokenStream;
use quote::quote;

/// A provider, as the registry names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryEntry {
    pub key: String,
    /// The provider module's path under the output directory
    /// (`["providers", "close"]`).
    pub module: Vec<String>,
}

impl RegistryEntry {
    /// `Close`, `ZendeskSell`: the `Provider` variant and the glue type.
    pub fn type_name(&self) -> String {
        type_name(&self.key)
    }
}

/// `registry.rs`.
pub fn registry(entries: &[RegistryEntry]) -> TokenStream {
    let cfg = |entry: &RegistryEntry| {
        let key = &entry.key;
        quote! { #[cfg(feature = #key)] }
    };
    let variant = |entry: &RegistryEntry| ident(&entry.type_name());
    let module = |entry: &RegistryEntry| {
        let segments = entry.module.iter().map(|segment| ident(segment));
        quote! { super #(::#segments)* }
    };
    let glue = |entry: &RegistryEntry| {
        let key = ident(&entry.key);
        let name = variant(entry);
        quote! { crate::glue::#key::#name }
    };
    let variants = entries.iter().map(|entry| {
        let cfg = cfg(entry);
        let variant = variant(entry);
        let doc = format!(" `{}`", entry.key);
        quote! { #cfg #[doc = #doc] #variant, }
    });
    let all = entries.iter().map(|entry| {
        let cfg = cfg(entry);
        let variant = variant(entry);
        quote! { #cfg Provider::#variant, }
    });
    let provider_arms = |body: &dyn Fn(&RegistryEntry) -> TokenStream| -> Vec<TokenStream> {
        entries
            .iter()
            .map(|entry| {
                let cfg = cfg(entry);
                let variant = variant(entry);
                let body = body(entry);
                quote! { #cfg Provider::#variant => #body, }
            })
            .collect()
    };
    let key_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::PROVIDER_KEY }
    });
    let name_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::PROVIDER_NAME }
    });
    let credential_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::CREDENTIAL_FIELDS }
    });
    let setting_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::SETTINGS }
    });
    let host_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::HOST_PATTERNS }
    });
    let base_url_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { #module::DEFAULT_BASE_URL }
    });
    let support_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { <#module::AccountConnection as ::crm_runtime::unified::OpportunityCalls>::SUPPORT }
    });
    let lookup_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { <#module::AccountConnection as ::crm_runtime::unified::OpportunityCalls>::LOOKUPS }
    });
    let remote_query_arms = provider_arms(&|entry| {
        let module = module(entry);
        quote! { <#module::AccountConnection as ::crm_runtime::unified::OpportunityCalls>::REMOTE_QUERY_IN_BODY }
    });
    let from_map_arms = provider_arms(&|entry| {
        let module = module(entry);
        let variant = variant(entry);
        quote! { #module::AccountCredentials::from_map(map).map(Credentials::#variant) }
    });
    let dispatch_arms = provider_arms(&|entry| {
        let glue = glue(entry);
        quote! { &crate::connector::Adapter::<#glue>::NEW }
    });
    let credential_variants = entries.iter().map(|entry| {
        let cfg = cfg(entry);
        let variant = variant(entry);
        let module = module(entry);
        quote! { #cfg #variant(#module::AccountCredentials), }
    });
    let credentials_arms = |body: &dyn Fn(&RegistryEntry) -> TokenStream| -> Vec<TokenStream> {
        entries
            .iter()
            .map(|entry| {
                let cfg = cfg(entry);
                let variant = variant(entry);
                let body = body(entry);
                quote! { #cfg Credentials::#variant(ref credentials) => #body, }
            })
            .collect()
    };
    let credentials_provider = credentials_arms(&|entry| {
        let variant = variant(entry);
        quote! { { let _ = credentials; Provider::#variant } }
    });
    let credentials_to_map = credentials_arms(&|_| quote! { credentials.to_map() });
    let connects = entries.iter().map(|entry| {
        let cfg = cfg(entry);
        let module = module(entry);
        let variant = variant(entry);
        quote! {
            #cfg
            impl Connect for #module::AccountConnection {
                fn connect(credentials: &Credentials, base_url: ::core::option::Option<&str>, settings: ClientSettings) -> ::core::result::Result<Self, ConnectError> {
                    #[allow(unreachable_patterns)]
                    let credentials = match *credentials {
                        Credentials::#variant(ref credentials) => credentials.clone(),
                        _ => return ::core::result::Result::Err(ConnectError::OtherProvider),
                    };
                    let base_url = base_url
                        .or(#module::DEFAULT_BASE_URL)
                        .ok_or(ConnectError::BaseUrlRequired)?;
                    let client = #module::Client::with_http_client(base_url, settings.http)
                        .with_retry_policy(settings.retry)
                        .with_extra_query(settings.extra_query)
                        .with_extra_body(settings.extra_body);
                    ::core::result::Result::Ok(#module::AccountConnection::new(client, credentials))
                }
            }
        }
    });
    let mapping_checks = entries.iter().map(|entry| {
        let cfg = cfg(entry);
        let module = module(entry);
        let glue = glue(entry);
        quote! {
            #cfg
            const _: fn() = || {
                fn implements<T: #module::UnifiedMapping>() {}
                implements::<#glue>();
            };
        }
    });
    quote! {
        /// A CRM this crate connects, behind the cargo feature of its key.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Provider {
            #(#variants)*
        }

        impl Provider {
            /// Every provider compiled in, in key order.
            pub const ALL: &'static [Provider] = &[#(#all)*];

            /// The key URLs, accounts and specs use (`close`).
            pub fn key(self) -> &'static str {
                match self { #(#key_arms)* }
            }

            /// The provider's name, for people (`Close`).
            pub fn name(self) -> &'static str {
                match self { #(#name_arms)* }
            }

            /// The credential keys an account gives.
            pub fn credential_fields(self) -> &'static [::crm_runtime::connection::CredentialField] {
                match self { #(#credential_arms)* }
            }

            /// The optional per-account settings.
            pub fn settings(self) -> &'static [::crm_runtime::connection::SettingField] {
                match self { #(#setting_arms)* }
            }

            /// The hosts of the provider's API (`{var}`: one DNS label).
            pub fn host_patterns(self) -> &'static [&'static str] {
                match self { #(#host_arms)* }
            }

            /// The public API root; `None` when every account gives its own.
            pub fn default_base_url(self) -> ::core::option::Option<&'static str> {
                match self { #(#base_url_arms)* }
            }

            /// Whether its list reads pass-through `remote_query` entries
            /// from a search body rather than from the query string.
            pub fn remote_query_in_body(self) -> bool {
                match self { #(#remote_query_arms)* }
            }

            /// Which unified opportunity fields it reads, takes and requires,
            /// and which list filters it applies.
            pub fn opportunities_support(self) -> ::crm_runtime::support::ResourceSupport {
                match self { #(#support_arms)* }
            }

            /// Which lookups (custom fields, stages, users) it serves.
            pub fn lookup_support(self) -> ::crm_runtime::support::LookupSupport {
                match self { #(#lookup_arms)* }
            }
        }

        impl ::core::fmt::Display for Provider {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.key())
            }
        }

        impl ::core::str::FromStr for Provider {
            type Err = ::std::string::String;

            fn from_str(text: &str) -> ::core::result::Result<Self, Self::Err> {
                Provider::ALL
                    .iter()
                    .copied()
                    .find(|provider| provider.key() == text)
                    .ok_or_else(|| {
                        let known: ::std::vec::Vec<&str> = Provider::ALL.iter().map(|provider| provider.key()).collect();
                        format!("unknown provider `{text}`; known providers: {}", known.join(", "))
                    })
            }
        }

        /// An account's credentials, for any provider. `Debug` shows no
        /// secret.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Credentials {
            #(#credential_variants)*
        }

        impl Credentials {
            pub fn provider(&self) -> Provider {
                match *self { #(#credentials_provider)* }
            }

            /// Reads a provider's credentials exactly: every declared key,
            /// no other; each problem named.
            pub fn from_map(
                provider: Provider,
                map: &::serde_json::Map<::std::string::String, ::serde_json::Value>,
            ) -> ::core::result::Result<Self, ::crm_runtime::connection::ConnectionError> {
                match provider { #(#from_map_arms)* }
            }

            /// The credentials as JSON, secrets exposed: only for sealing
            /// them into storage.
            pub fn to_map(&self) -> ::serde_json::Map<::std::string::String, ::serde_json::Value> {
                match *self { #(#credentials_to_map)* }
            }
        }

        /// How every provider client is set up, whatever the provider.
        #[derive(Clone, Debug)]
        pub struct ClientSettings {
            pub http: ::crm_runtime::reexports::reqwest::Client,
            pub retry: ::crm_runtime::RetryPolicy,
            /// Query parameters added to every request (`remote_query`).
            pub extra_query: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            /// Fields merged into every JSON body (`remote_data` of writes).
            pub extra_body: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        }

        /// Why a connection could not be made.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ConnectError {
            /// The credentials are another provider's.
            OtherProvider,
            /// The provider has no public root: the account gives `base_url`.
            BaseUrlRequired,
        }

        /// A provider's connection (its generated client with an account's
        /// credentials), built from any account's credentials.
        pub trait Connect: Sized {
            fn connect(credentials: &Credentials, base_url: ::core::option::Option<&str>, settings: ClientSettings) -> ::core::result::Result<Self, ConnectError>;
        }

        #(#connects)*

        /// The unified opportunities API of a provider, through its glue.
        pub(crate) fn opportunities(provider: Provider) -> &'static dyn crate::connector::DynOpportunities {
            match provider { #(#dispatch_arms)* }
        }

        #(#mapping_checks)*
    }
}

/// `glue.rs`: the hand-written glue modules, one per provider feature.
pub fn glue_modules(entries: &[RegistryEntry]) -> TokenStream {
    let modules = entries.iter().map(|entry| {
        let key = &entry.key;
        let name = ident(&entry.key);
        let path = format!("../glue/{}.rs", entry.key);
        quote! {
            #[cfg(feature = #key)]
            #[path = #path]
            pub mod #name;
        }
    });
    quote! { #(#modules)* }
}
