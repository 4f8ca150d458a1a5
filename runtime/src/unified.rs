//! The calls a unified resource makes, with one signature for every
//! provider. Codegen implements [`OpportunityCalls`] for each provider
//! spec that binds operations with `x-unified-operation`, so code written
//! once (the unified adapter) can drive any provider's typed client.
//!
//! Responses come back as untyped JSON: the adapter decodes each record
//! on its own, so one odd record never fails its page.

use crate::paging::{PageRequest, Pagination};
use crate::support::{LookupSupport, ResourceSupport};
use crate::{Error, ResponseValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;

/// What a bound call returns: the body as JSON (`null` when empty), with
/// status and headers; or the error, its typed body dropped (the raw body
/// stays).
pub type CallResult = Result<ResponseValue<Value>, Error<()>>;

/// The five operations of the unified opportunities API, as one provider
/// serves them.
pub trait OpportunityCalls: Send + Sync + 'static {
    /// The list operation's parameters (or search body), paging set by
    /// [`PageRequest`], the rest by the glue.
    type ListInput: Default + PageRequest + Send + Sync;
    /// One provider record, as the get operation returns it.
    type Record: DeserializeOwned + Send + Sync;
    type Create: Serialize + Send + Sync;
    type Update: Serialize + Send + Sync;
    /// The record id as the provider's path takes it.
    type Id: Send + Sync;

    /// The provider key (`close`).
    const PROVIDER: &'static str;
    const PAGINATION: Pagination;
    /// Which unified fields the provider reads, takes and requires, and
    /// which list filters it applies.
    const SUPPORT: ResourceSupport;
    /// Which lookups (custom fields, stages, users) it serves.
    const LOOKUPS: LookupSupport;
    /// JSON pointer to the id inside a record.
    const RECORD_ID: &'static str;
    /// JSON pointer to the record inside get, create and update bodies.
    const RECORD: &'static str;
    /// Whether the list takes its filters in a request body (a search),
    /// where pass-through `remote_query` entries then go.
    const REMOTE_QUERY_IN_BODY: bool;

    /// The id in the provider's type, or `None` when it cannot be one of
    /// its ids.
    fn parse_id(id: &str) -> Option<Self::Id>;
    fn list(&self, input: &Self::ListInput) -> impl Future<Output = CallResult> + Send;
    fn get(&self, id: &Self::Id) -> impl Future<Output = CallResult> + Send;
    fn create(&self, body: &Self::Create) -> impl Future<Output = CallResult> + Send;
    fn update(&self, id: &Self::Id, body: &Self::Update)
    -> impl Future<Output = CallResult> + Send;
    fn delete(&self, id: &Self::Id) -> impl Future<Output = CallResult> + Send;
}

/// An id the provider could have made: one plausible path segment.
pub fn plausible_id(id: &str) -> bool {
    // Only dots would be a `.`/`..` path segment, which URL parsers resolve.
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !id.chars().all(|c| c == '.')
}
