//! One typed API for every CRM.
//!
//! **Generated or hand-written: the path says.** Everything under
//! `src/codegen/` is written by `cargo xtask codegen` from `specs/` and is
//! never edited by hand: the unified models (`unified::crm`), one typed
//! client per provider (`providers::<key>`, with its credentials type,
//! paging and uniform calls), the provider registry (`registry`: the only
//! code that names every provider) and the declarations of the glue
//! modules (`glue`). Everything else under `src/` is hand-written:
//!
//! - `glue/<key>.rs`: one provider's conversions (its
//!   [`connector::OpportunityMapping`]), and nothing else.
//! - `connector/`: the flow every provider shares, written once.
//! - [`UnifiedClient`] (`opportunities.rs`): the unified API itself: list
//!   (with filters), stream, get, create, update, delete opportunities of
//!   any [`IntegratedAccount`], typed (`list_opportunities`...) or as JSON
//!   in the `unified`, `raw` or `normalized` format (`list`...).
//! - `lookups.rs`: custom field definitions, stages and users.
//! - `account.rs`, `options.rs`, `render.rs`, `cursor.rs`, `error.rs`.
//!
//! Each provider is a cargo feature named by its key (all on by default):
//! `--no-default-features --features close` builds Close alone.

#[rustfmt::skip] // prettyplease formats it; `cargo xtask codegen --check` guards it.
mod codegen;

pub mod account;
pub mod connector;
pub mod cursor;
pub mod error;
pub mod lookups;
pub mod opportunities;
pub mod options;
pub mod render;

pub use account::IntegratedAccount;
pub use codegen::*;
pub use crm_runtime::mapping::{ListFilters, SortBy};
pub use cursor::CursorKey;
pub use error::UnifiedError;
pub use lookups::Lookup;
pub use opportunities::{ProviderPage, UnifiedClient, UnifiedPage};
pub use options::{ListOptions, RequestOptions, ResponseFormat, UnifiedQuery};
pub use registry::{Credentials, Provider};
pub use render::UnifiedRecord;

// The README's examples are doctests: they compile, and the sync loop runs
// against a local double of Close (`generated/tests/readme/double.rs`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
