//! One typed API for every CRM.
//!
//! - `codegen/` is written by `cargo xtask codegen` from `specs/` and never
//!   edited by hand: the unified models (`unified::crm`), one typed HTTP
//!   client per provider (`providers::close`, `providers::copper`), and each
//!   provider's `UnifiedMapping` trait (the conversions glue must write).
//! - `glue/` implements those traits by hand, one module per provider.
//! - [`UnifiedClient`] is the unified API itself: list, stream, get,
//!   create, update, delete opportunities of any [`IntegratedAccount`], in
//!   the `unified`, `raw` or `normalized` format.

#[rustfmt::skip] // prettyplease formats it; `cargo xtask codegen --check` guards it.
mod codegen;

pub mod account;
mod cursor;
pub mod error;
mod glue;
pub mod opportunities;
pub mod options;
pub mod render;

pub use account::{Credentials, IntegratedAccount, Provider};
pub use codegen::*;
pub use error::UnifiedError;
pub use opportunities::{UnifiedClient, UnifiedPage};
pub use options::{ListOptions, RequestOptions, ResponseFormat, UnifiedQuery};
pub use render::UnifiedRecord;
