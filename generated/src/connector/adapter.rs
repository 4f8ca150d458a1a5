//! The shared flow of every provider's unified opportunities API.

use super::{AfterWrite, ContextCache, OpportunityMapping, empty_opportunity};
use crate::account::IntegratedAccount;
use crate::error::UnifiedError;
use crate::lookups::Lookup;
use crate::registry::{ClientSettings, Connect, ConnectError, Provider};
use crate::render::UnifiedRecord;
use crate::unified::crm::{OpportunityCreate, OpportunityUpdate};
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Stage, User, filter_parameter,
};
use crm_runtime::paging::{PageSeen, Position};
use crm_runtime::reexports::reqwest;
use crm_runtime::support::ResourceSupport;
use crm_runtime::unified::OpportunityCalls;
use crm_runtime::{ResponseValue, RetryPolicy};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::marker::PhantomData;
use std::sync::Arc;

/// What one unified call brings besides its arguments.
pub(crate) struct Env<'a> {
    pub account: &'a IntegratedAccount,
    pub http: &'a reqwest::Client,
    pub retry: &'a RetryPolicy,
    pub contexts: &'a ContextCache,
    /// Query parameters for the provider, untouched (`remote_query`).
    pub extra_query: Vec<(String, String)>,
    /// Fields merged into the provider's body, untouched (`remote_data`).
    pub extra_body: Map<String, Value>,
}

/// One page of a list.
pub(crate) struct Page {
    /// Mapped records; empty when the caller asked for the raw body.
    pub records: Vec<UnifiedRecord>,
    /// The provider's response body, untouched.
    pub raw: Value,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Position>,
}

/// The unified opportunities API of one provider, object-safe so the
/// registry can hand out `&'static dyn DynOpportunities`.
pub(crate) trait DynOpportunities: Send + Sync {
    fn support(&self) -> ResourceSupport;
    /// Whether `id` can be one of this provider's opportunity ids.
    fn is_id(&self, id: &str) -> bool;
    fn list<'a>(
        &'a self,
        env: Env<'a>,
        query: ListQuery,
        map: bool,
    ) -> BoxFuture<'a, Result<Page, UnifiedError>>;
    fn get<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>>;
    fn create<'a>(
        &'a self,
        env: Env<'a>,
        body: &'a OpportunityCreate,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>>;
    fn update<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
        body: &'a OpportunityUpdate,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>>;
    fn delete<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>>;
    /// A lookup's whole list: custom fields and stages from the account's
    /// context (fetched again when `fresh`), users from the provider.
    fn lookup<'a>(
        &'a self,
        env: Env<'a>,
        lookup: Lookup,
        fresh: bool,
    ) -> BoxFuture<'a, Result<LookupItems, UnifiedError>>;
}

/// A lookup's list, in the runtime's provider-neutral shapes.
pub(crate) enum LookupItems {
    CustomFields(Vec<CustomFieldDefinition>),
    Stages(Vec<Stage>),
    Users(Vec<User>),
}

/// The shared flow over one provider's glue `G`.
pub(crate) struct Adapter<G>(PhantomData<fn() -> G>);

impl<G> Adapter<G> {
    pub const NEW: Self = Adapter(PhantomData);
}

type Calls<G> = <G as OpportunityMapping>::Calls;

impl<G: OpportunityMapping> Adapter<G> {
    fn provider(env: &Env<'_>) -> Provider {
        env.account.provider()
    }

    fn connect(env: &Env<'_>) -> Result<Calls<G>, UnifiedError> {
        let settings = ClientSettings {
            http: env.http.clone(),
            retry: env.retry.clone(),
            extra_query: env.extra_query.clone(),
            extra_body: env.extra_body.clone(),
        };
        Calls::<G>::connect(
            &env.account.credentials,
            env.account.base_url.as_deref(),
            settings,
        )
        .map_err(|error| match error {
            ConnectError::OtherProvider => UnifiedError::Internal {
                message: "the account's credentials are another provider's".into(),
            },
            ConnectError::BaseUrlRequired => UnifiedError::invalid(
                "base_url",
                format!(
                    "{} has no public API root: the account must give its `base_url`",
                    Self::provider(env)
                ),
            ),
        })
    }

    /// The account's context, from the cache or fetched (without the
    /// caller's pass-through query and body: they are for the call, not
    /// for lookups).
    async fn context(env: &Env<'_>, fresh: bool) -> Result<Arc<G::Context>, UnifiedError> {
        if fresh {
            env.contexts.forget(env.account.id);
        }
        env.contexts
            .get(env.account.id, async {
                let lookup = Env {
                    extra_query: Vec::new(),
                    extra_body: Map::new(),
                    ..*env
                };
                let calls = Self::connect(&lookup)?;
                G::context(&calls, env.account).await
            })
            .await
    }

    fn id(env: &Env<'_>, id: &str) -> Result<<Calls<G> as OpportunityCalls>::Id, UnifiedError> {
        Calls::<G>::parse_id(id).ok_or_else(|| {
            UnifiedError::invalid(
                "id",
                format!("`{id}` is not a {} opportunity id", Self::provider(env)),
            )
        })
    }

    /// Converts a caller's body with the cached context; when the glue
    /// finds the context does not know a name the caller used (a custom
    /// field or stage added since), fetches it again once and retries. A
    /// body that still cannot be converted is the caller's to fix.
    async fn with_context<T>(
        env: &Env<'_>,
        map: impl Fn(&G::Context) -> Result<T, MappingError>,
    ) -> Result<(T, Arc<G::Context>), UnifiedError> {
        // A name the account does not have (after a fresh look) is a bad
        // reference: a 400 naming the field. Other values the provider
        // cannot take stay mapping errors (the server answers 422).
        let refused = |error: MappingError| {
            if error.stale_context {
                UnifiedError::InvalidInput {
                    field: error.field.clone(),
                    message: error.to_string(),
                }
            } else {
                UnifiedError::Mapping(error)
            }
        };
        let context = Self::context(env, false).await?;
        match map(&context) {
            Err(error) if error.stale_context => {
                let context = Self::context(env, true).await?;
                let value = map(&context).map_err(refused)?;
                Ok((value, context))
            }
            other => Ok((other.map_err(refused)?, context)),
        }
    }

    /// One record: decoded alone (an unreadable field is left out, named
    /// in a warning, never its value), mapped, paired with its raw JSON. A
    /// record the glue cannot map at all keeps its id and `remote_data`.
    /// `raw` is moved into `remote_data`, not copied.
    pub(crate) fn record(env: &Env<'_>, raw: Value, context: &G::Context) -> UnifiedRecord {
        let provider = Self::provider(env);
        let id = raw
            .pointer(Calls::<G>::RECORD_ID)
            .map(|id| match id {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        let mapped = decode_lenient::<crate::connector::RecordOf<G>>(&raw, |field| {
            tracing::warn!(%provider, record = %id, field, "a provider field could not be read; it is left empty");
        })
        .and_then(|record| match G::to_unified(&record, context) {
            Ok(record) => Some(record),
            Err(error) => {
                tracing::warn!(%provider, record = %id, field = %error.field, "a provider record could not be mapped; only its id and remote_data are returned");
                None
            }
        })
        .unwrap_or_else(|| empty_opportunity(id.clone()));
        UnifiedRecord {
            record: mapped,
            remote_data: raw,
        }
    }

    /// The record inside a get/create/update answer.
    fn answer_record(response: &ResponseValue<Value>) -> Option<&Value> {
        response
            .body
            .pointer(Calls::<G>::RECORD)
            .filter(|record| record.pointer(Calls::<G>::RECORD_ID).is_some())
    }

    /// A write's answer as a record: the record itself, or, where the
    /// provider answers with an id or nothing, the record read back.
    async fn written(
        env: &Env<'_>,
        calls: &Calls<G>,
        context: &G::Context,
        response: &ResponseValue<Value>,
        id: &<Calls<G> as OpportunityCalls>::Id,
        after: AfterWrite,
    ) -> Result<UnifiedRecord, UnifiedError> {
        if let (Some(record), AfterWrite::Nothing) = (Self::answer_record(response), after) {
            return Ok(Self::record(env, record.clone(), context));
        }
        let provider = Self::provider(env);
        let read = calls
            .get(id)
            .await
            .map_err(|error| UnifiedError::from_client(provider, error))?;
        let record = Self::answer_record(&read).ok_or_else(|| UnifiedError::Transport {
            provider,
            message: format!("answered {} to a read-back without the record", read.status),
        })?;
        Ok(Self::record(env, record.clone(), context))
    }

    /// The id of a created record: in the record it answered with, or in
    /// an id-only answer (`{id, success, errors}`).
    fn created_id(
        env: &Env<'_>,
        response: &ResponseValue<Value>,
    ) -> Result<<Calls<G> as OpportunityCalls>::Id, UnifiedError> {
        let found = Self::answer_record(response)
            .and_then(|record| record.pointer(Calls::<G>::RECORD_ID))
            .or_else(|| response.body.pointer(Calls::<G>::RECORD_ID))
            .or_else(|| response.body.pointer("/id"))
            .map(|id| match id {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .ok_or_else(|| UnifiedError::Transport {
                provider: Self::provider(env),
                message: format!(
                    "answered {} to a create without the record or its id",
                    response.status
                ),
            })?;
        Self::id(env, &found)
    }
}

impl<G: OpportunityMapping> DynOpportunities for Adapter<G> {
    fn support(&self) -> ResourceSupport {
        Calls::<G>::SUPPORT
    }

    fn lookup<'a>(
        &'a self,
        env: Env<'a>,
        lookup: Lookup,
        fresh: bool,
    ) -> BoxFuture<'a, Result<LookupItems, UnifiedError>> {
        Self::lookup_impl(env, lookup, fresh)
    }

    fn is_id(&self, id: &str) -> bool {
        Calls::<G>::parse_id(id).is_some()
    }

    fn list<'a>(
        &'a self,
        env: Env<'a>,
        query: ListQuery,
        map: bool,
    ) -> BoxFuture<'a, Result<Page, UnifiedError>> {
        Box::pin(async move {
            let provider = Self::provider(&env);
            for name in query.filters.names() {
                if let Some(reason) = Calls::<G>::SUPPORT.filter_refusal(name) {
                    return Err(UnifiedError::invalid(
                        filter_parameter(name),
                        format!("{provider} cannot apply `{name}`: {reason}"),
                    ));
                }
            }
            let paging = Calls::<G>::PAGINATION;
            if query
                .position
                .as_ref()
                .is_some_and(|position| !paging.accepts(position))
            {
                return Err(UnifiedError::invalid(
                    "next_cursor",
                    "is not a cursor of this list; pass `next_cursor` from its previous page",
                ));
            }
            let context = Self::context(&env, false).await?;
            // A filter value the provider cannot express (Close has no
            // abandoned status) is the caller's to change: a 400 naming it.
            // Anything else (an account without the view its deals are
            // listed through) stays a mapping error.
            let mut input = G::list_input(&query, &context).map_err(|error| {
                let names_a_filter = query
                    .filters
                    .names()
                    .into_iter()
                    .any(|name| filter_parameter(name) == error.field);
                if names_a_filter {
                    UnifiedError::InvalidInput {
                        field: error.field.clone(),
                        message: error.to_string(),
                    }
                } else {
                    UnifiedError::Mapping(error)
                }
            })?;
            let limit = paging.limit(query.limit);
            let at = paging.page_at(query.position.as_ref(), limit);
            crm_runtime::paging::PageRequest::set_page(&mut input, &at);
            // A search reads its filters from its body, not from the URL.
            let env = if Calls::<G>::REMOTE_QUERY_IN_BODY {
                Env {
                    extra_body: env
                        .extra_query
                        .iter()
                        .map(|(key, value)| (key.clone(), json_or_text(value)))
                        .collect(),
                    extra_query: Vec::new(),
                    ..env
                }
            } else {
                env
            };
            let calls = Self::connect(&env)?;
            let response = calls
                .list(&input)
                .await
                .map_err(|error| UnifiedError::from_client(provider, error))?;
            let raw_records =
                paging
                    .records(&response.body)
                    .ok_or_else(|| UnifiedError::Transport {
                        provider,
                        message: format!(
                            "answered {} with a list page that has no array of records at `{}`",
                            response.status, paging.records
                        ),
                    })?;
            let last_id = raw_records
                .last()
                .and_then(|record| record.pointer(Calls::<G>::RECORD_ID))
                .map(|id| match id {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                });
            let next = paging.next(
                &at,
                &PageSeen {
                    body: &response.body,
                    headers: &response.headers,
                    records: raw_records.len(),
                    last_id: last_id.as_deref(),
                },
            );
            let records = if map {
                raw_records
                    .iter()
                    .map(|raw| Self::record(&env, Value::clone(raw), &context))
                    .collect()
            } else {
                Vec::new()
            };
            drop(raw_records);
            Ok(Page {
                records,
                raw: response.body,
                next,
            })
        })
    }

    fn get<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>> {
        Box::pin(async move {
            let provider = Self::provider(&env);
            let id = Self::id(&env, id)?;
            let context = Self::context(&env, false).await?;
            let calls = Self::connect(&env)?;
            let mut response = calls
                .get(&id)
                .await
                .map_err(|error| UnifiedError::from_client(provider, error))?;
            Self::answer_record(&response).ok_or_else(|| UnifiedError::Transport {
                provider,
                message: format!(
                    "answered {} without a record (no id at `{}{}`)",
                    response.status,
                    Calls::<G>::RECORD,
                    Calls::<G>::RECORD_ID
                ),
            })?;
            // Moved out of the body, which is not used again.
            let record = response
                .body
                .pointer_mut(Calls::<G>::RECORD)
                .map(Value::take)
                .unwrap_or_default();
            Ok(Self::record(&env, record, &context))
        })
    }

    fn create<'a>(
        &'a self,
        env: Env<'a>,
        body: &'a OpportunityCreate,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>> {
        Box::pin(async move {
            let provider = Self::provider(&env);
            let (provider_body, context) =
                Self::with_context(&env, |context| G::to_create(body, context)).await?;
            let calls = Self::connect(&env)?;
            let response = calls
                .create(&provider_body)
                .await
                .map_err(|error| UnifiedError::from_client(provider, error))?;
            let id = Self::created_id(&env, &response)?;
            let after = G::after_create(&calls, &id, body, &context).await?;
            Self::written(&env, &calls, &context, &response, &id, after).await
        })
    }

    fn update<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
        body: &'a OpportunityUpdate,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>> {
        Box::pin(async move {
            let provider = Self::provider(&env);
            let id = Self::id(&env, id)?;
            let (provider_body, context) =
                Self::with_context(&env, |context| G::to_update(body, context)).await?;
            let calls = Self::connect(&env)?;
            let response = calls
                .update(&id, &provider_body)
                .await
                .map_err(|error| UnifiedError::from_client(provider, error))?;
            let after = G::after_update(&calls, &id, body, &context).await?;
            Self::written(&env, &calls, &context, &response, &id, after).await
        })
    }

    fn delete<'a>(
        &'a self,
        env: Env<'a>,
        id: &'a str,
    ) -> BoxFuture<'a, Result<UnifiedRecord, UnifiedError>> {
        Box::pin(async move {
            let provider = Self::provider(&env);
            let provider_id = Self::id(&env, id)?;
            let calls = Self::connect(&env)?;
            let response = calls
                .delete(&provider_id)
                .await
                .map_err(|error| UnifiedError::from_client(provider, error))?;
            Ok(UnifiedRecord {
                record: empty_opportunity(id),
                remote_data: response.body,
            })
        })
    }
}

impl<G: OpportunityMapping> Adapter<G> {
    fn lookup_impl<'a>(
        env: Env<'a>,
        lookup: Lookup,
        fresh: bool,
    ) -> BoxFuture<'a, Result<LookupItems, UnifiedError>> {
        Box::pin(async move {
            if let Some(reason) = Calls::<G>::LOOKUPS.reason(lookup.binding()) {
                return Err(UnifiedError::Unsupported {
                    provider: Self::provider(&env),
                    what: lookup.binding(),
                    reason,
                });
            }
            // Lookups read what the account has, never the caller's
            // pass-through query or body.
            let env = Env {
                extra_query: Vec::new(),
                extra_body: Map::new(),
                ..env
            };
            Ok(match lookup {
                Lookup::CustomFields => {
                    let context = Self::context(&env, fresh).await?;
                    LookupItems::CustomFields(G::custom_fields(&context))
                }
                Lookup::Stages => {
                    let context = Self::context(&env, fresh).await?;
                    LookupItems::Stages(G::stages(&context))
                }
                Lookup::Users => {
                    let calls = Self::connect(&env)?;
                    LookupItems::Users(G::users(&calls, env.account).await?)
                }
            })
        })
    }
}

/// A pass-through value as the JSON it spells (`1000`, `true`, `[1,2]`),
/// or else as text.
fn json_or_text(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
}

/// Decodes `raw` as `T`; a field that does not fit its type is set to
/// `null` (reported by `on_unreadable` with its path) and decoding tried
/// again, so one malformed value costs that value, not the record. `None`
/// when even that fails (a required field is unreadable).
fn decode_lenient<T: DeserializeOwned>(
    raw: &Value,
    mut on_unreadable: impl FnMut(&str),
) -> Option<T> {
    // Most records fit: decode them without tracking the path, which only
    // an unreadable field needs.
    if let Ok(record) = T::deserialize(raw) {
        return Some(record);
    }
    let mut value = std::borrow::Cow::Borrowed(raw);
    // Each round nulls one more field; a record has few.
    for _ in 0..16 {
        match serde_path_to_error::deserialize::<_, T>(value.as_ref()) {
            Ok(record) => return Some(record),
            Err(error) => {
                let path = error.path().to_string();
                let pointer = json_pointer(error.path());
                on_unreadable(&path);
                let target = value.to_mut().pointer_mut(&pointer)?;
                if target.is_null() {
                    return None;
                }
                *target = Value::Null;
            }
        }
    }
    None
}

/// A `serde_path_to_error` path as a JSON pointer.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => {}
        }
    }
    pointer
}
