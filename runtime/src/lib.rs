//! Runtime support for the clients that `cargo xtask codegen` generates.
//!
//! Generated code stays thin: it knows the paths, parameter names and types
//! of one API, and delegates everything that is the same for every API to
//! this crate:
//!
//! - [`Patch`]: the three states of a field in a partial update (absent,
//!   explicit `null`, value), so an update sends only what the caller set.
//! - [`Secret`]: credentials whose `Debug` output is redacted.
//! - [`ClientCore`]: base URL, `reqwest` client (with timeouts) and
//!   credentials, and the one place a request is sent
//!   ([`ClientCore::send`], which retries idempotent operations as the
//!   [`RetryPolicy`] allows).
//! - [`encode`]: path, query and form encoding of any `Serialize` value
//!   (OpenAPI `form` and `deepObject` styles).
//! - [`Error`], [`ErrorResponse`], [`ResponseValue`]: what a call returns.
//!   An error response keeps its status, headers and whole body, typed when
//!   the spec documents it.
//! - [`mapping`], [`support`], [`connection`], [`paging`], [`unified`]:
//!   what the generated connector code is written in terms of: mapping
//!   errors, field-support tables, credentials and settings read against
//!   their declared keys, declarative paging, and the uniform
//!   [`unified::OpportunityCalls`] every provider client implements.
//! - [`limits`]: the response-body limit (read incrementally, 16 MiB by
//!   default, per task with [`with_max_response_body`]) and the redirect
//!   policy (same origin only, so credentials never leave it).

mod auth;
mod client;
pub mod connection;
pub mod encode;
mod error;
pub mod limits;
pub mod mapping;
pub mod paging;
mod patch;
mod retry;
mod secret;
pub mod support;
pub mod unified;

pub use auth::{Auth, Credential};
pub use client::{
    ClientCore, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, RawResponse, ResponseValue,
    http_client, http_client_builder,
};
pub use error::{DecodeError, Error, ErrorResponse};
pub use limits::{DEFAULT_MAX_RESPONSE_BODY, max_response_body, with_max_response_body};
pub use patch::Patch;
pub use retry::{Idempotency, RetryPolicy, retry_after};
pub use secret::Secret;

/// Re-exports used by generated code, so a generated crate needs no direct
/// dependency on them.
pub mod reexports {
    pub use bytes;
    pub use http;
    pub use reqwest;
}
