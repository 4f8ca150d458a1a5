//! One typed API for every CRM.
//!
//! `codegen/` is written by `cargo xtask codegen` from `specs/` and never
//! edited by hand: the unified models (`unified::crm`) and one typed HTTP
//! client per provider (`providers::close`, `providers::copper`...).

#[rustfmt::skip] // prettyplease formats it; `cargo xtask codegen --check` guards it.
mod codegen;

pub use codegen::*;
