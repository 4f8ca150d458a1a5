//! The connector design, hand-written once for every provider.
//!
//! A provider is four things: its spec, from which codegen emits its typed
//! client, its credentials and paging and the uniform
//! [`OpportunityCalls`]; its glue (`src/glue/<key>.rs`), which implements
//! [`OpportunityMapping`]: the conversions and nothing else; its fixtures;
//! and its conformance entry. [`Adapter`] is the shared flow, generic over
//! the glue: connect, fetch and cache the per-account context, call,
//! decode each record alone, map, pair it with its raw JSON, re-read where
//! a write answers without the record. The generated registry hands out
//! one `Adapter<Glue>` per provider as a [`DynOpportunities`].

mod adapter;
mod context;
pub mod lookup;

pub(crate) use adapter::{Adapter, DynOpportunities, Env, LookupItems};
pub(crate) use context::ContextCache;
pub use context::DEFAULT_CONTEXT_TTL;

use crate::account::IntegratedAccount;
use crate::error::UnifiedError;
use crate::unified::crm::{Opportunity, OpportunityCreate, OpportunityUpdate};
use crm_runtime::mapping::{CustomFieldDefinition, ListQuery, MappingError, Stage, User};
use crm_runtime::unified::OpportunityCalls;
use std::future::Future;

/// The provider's record type.
pub type RecordOf<G> = <<G as OpportunityMapping>::Calls as OpportunityCalls>::Record;
/// The provider's list input (parameters or search body).
pub type ListInputOf<G> = <<G as OpportunityMapping>::Calls as OpportunityCalls>::ListInput;
/// The provider's create body.
pub type CreateOf<G> = <<G as OpportunityMapping>::Calls as OpportunityCalls>::Create;
/// The provider's update body.
pub type UpdateOf<G> = <<G as OpportunityMapping>::Calls as OpportunityCalls>::Update;

/// What a provider's glue writes: the conversions between the unified
/// opportunity and the provider's, and what they need to know about the
/// account. Every method is required, so a provider cannot be half done,
/// and the types are the generated ones, so a spec change breaks exactly
/// the conversion that must follow.
pub trait OpportunityMapping: Send + Sync + Sized + 'static {
    /// The generated connection: `providers::<key>::AccountConnection`.
    type Calls: OpportunityCalls + crate::registry::Connect;
    /// Per-account lookups (custom field definitions, stages, settings);
    /// fetched once per account and cached.
    type Context: Send + Sync + 'static;

    /// Fetches the account's context with its connection.
    fn context(
        calls: &Self::Calls,
        account: &IntegratedAccount,
    ) -> impl Future<Output = Result<Self::Context, UnifiedError>> + Send;

    /// The list input besides paging, which generated code sets (sort
    /// order, filters; `query.position` for keyset paging).
    fn list_input(
        query: &ListQuery,
        context: &Self::Context,
    ) -> Result<ListInputOf<Self>, MappingError>;

    /// A provider record as the unified record. A status the unified set
    /// does not have is kept, lowercased.
    fn to_unified(
        record: &RecordOf<Self>,
        context: &Self::Context,
    ) -> Result<Opportunity, MappingError>;

    /// A unified create body as the provider's.
    fn to_create(
        body: &OpportunityCreate,
        context: &Self::Context,
    ) -> Result<CreateOf<Self>, MappingError>;

    /// A unified update body as the provider's: only the fields set.
    fn to_update(
        body: &OpportunityUpdate,
        context: &Self::Context,
    ) -> Result<UpdateOf<Self>, MappingError>;

    /// The account's custom field definitions, as `GET
    /// /unified/crm/fields` lists them: the context's, so the names are
    /// exactly the keys `custom_fields` uses. Not called when the spec
    /// declares `custom_fields.list` unsupported (`x-unified-unsupported`).
    fn custom_fields(context: &Self::Context) -> Vec<CustomFieldDefinition>;

    /// The account's stages (with their pipelines), as `GET
    /// /unified/crm/stages` lists them: the context's, so the ids and
    /// names are those `stage` uses. Not called when the spec declares
    /// `stages.list` unsupported.
    fn stages(context: &Self::Context) -> Vec<Stage>;

    /// Every user of the account (each page of the provider's users
    /// endpoint), as `GET /unified/crm/users` lists them: the ids `owner`
    /// uses. Not called when the spec declares `users.list` unsupported.
    fn users(
        calls: &Self::Calls,
        account: &IntegratedAccount,
    ) -> impl Future<Output = Result<Vec<User>, UnifiedError>> + Send;

    /// Calls a create needs besides the create itself, made after it
    /// succeeded and before the record is read back (a provider that links
    /// contacts through their own endpoint). `id` is the new record's.
    /// None by default.
    fn after_create(
        calls: &Self::Calls,
        id: &IdOf<Self>,
        body: &OpportunityCreate,
        context: &Self::Context,
    ) -> impl Future<Output = Result<AfterWrite, UnifiedError>> + Send {
        let _ = (calls, id, body, context);
        async { Ok(AfterWrite::Nothing) }
    }

    /// Calls an update needs besides the update itself (a stage changed
    /// through its own endpoint, associations). None by default.
    fn after_update(
        calls: &Self::Calls,
        id: &IdOf<Self>,
        body: &OpportunityUpdate,
        context: &Self::Context,
    ) -> impl Future<Output = Result<AfterWrite, UnifiedError>> + Send {
        let _ = (calls, id, body, context);
        async { Ok(AfterWrite::Nothing) }
    }
}

/// What an `after_*` hook did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterWrite {
    /// No call: the write's own answer stands.
    Nothing,
    /// The record changed after the write answered: read it back.
    Changed,
}

/// The provider's record id type.
pub type IdOf<G> = <<G as OpportunityMapping>::Calls as OpportunityCalls>::Id;

/// An opportunity with nothing but its id: what delete answers, and the
/// base of every mapping (`..empty_opportunity(id)`).
pub fn empty_opportunity(id: impl Into<String>) -> Opportunity {
    Opportunity {
        id: id.into(),
        name: None,
        description: None,
        amount: None,
        currency: None,
        owner: None,
        account: None,
        contact: None,
        stage: None,
        status: None,
        tags: None,
        custom_fields: None,
        last_activity_at: None,
        close_date: None,
        created_at: None,
        updated_at: None,
        urls: None,
        remote_data: None,
    }
}
