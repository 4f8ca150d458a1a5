//! The unified opportunities API: one call, any CRM.
//!
//! Every operation checks its input before anything is sent (ids, body
//! types, the provider's required and unsupported fields), calls the
//! account's provider through its glue, and renders the result in the
//! format asked for. Custom field definitions are fetched once per account
//! and cached.

use crate::account::IntegratedAccount;
use crate::connector::{ContextCache, DynOpportunities, Env};
use crate::cursor::{self, CursorKey};
use crate::error::UnifiedError;
use crate::lookups::Lookup;
use crate::options::{ListOptions, RequestOptions, ResponseFormat};
use crate::registry::{Provider, opportunities};
use crate::render::{UnifiedRecord, render_owned};
use crate::unified::crm::{
    Opportunity, OpportunityCreate, OpportunityUpdate, UnifiedOpportunityStatus,
};
use crm_runtime::RetryPolicy;
use crm_runtime::mapping::ListQuery;
use crm_runtime::reexports::reqwest;
use crm_runtime::support::{self, FieldInfo, FieldProblem, OperationSupport};
use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use uuid::Uuid;

pub use crate::connector::DEFAULT_CONTEXT_TTL;

/// The entry point: holds the HTTP client, the retry policy and the
/// per-account caches. It names no provider: every call goes through the
/// generated registry to the provider's glue.
pub struct UnifiedClient {
    http: reqwest::Client,
    retry: RetryPolicy,
    contexts: ContextCache,
    /// Lookup lists being walked, by account and lookup.
    snapshots: ContextCache<(Uuid, Lookup)>,
    cursor_key: CursorKey,
}

impl Default for UnifiedClient {
    fn default() -> Self {
        Self::with_http_client(crm_runtime::http_client(
            crm_runtime::DEFAULT_CONNECT_TIMEOUT,
            crm_runtime::DEFAULT_REQUEST_TIMEOUT,
        ))
    }
}

impl std::fmt::Debug for UnifiedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnifiedClient")
            .field("retry", &self.retry)
            .field("cached_accounts", &self.contexts.len())
            .field("context_ttl", &self.contexts.ttl())
            .finish()
    }
}

/// One page of a list, mapped, with the provider's body.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderPage {
    /// Mapped records; empty when the options asked for `raw`.
    pub records: Vec<UnifiedRecord>,
    /// The provider's response body, untouched.
    pub raw: Value,
    /// Pass it back as `next_cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// One page of typed records.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedPage<T> {
    pub records: Vec<T>,
    /// Pass it back as `ListOptions::next_cursor` for the next page;
    /// `None` on the last.
    pub next_cursor: Option<String>,
}

impl UnifiedClient {
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses a `reqwest::Client` you configured (timeouts, proxies);
    /// `crm_runtime::http_client(connect, request)` makes one with timeouts.
    pub fn with_http_client(http: reqwest::Client) -> Self {
        UnifiedClient {
            http,
            retry: RetryPolicy::default(),
            contexts: ContextCache::new(DEFAULT_CONTEXT_TTL),
            snapshots: ContextCache::new(DEFAULT_CONTEXT_TTL),
            cursor_key: CursorKey::random(),
        }
    }

    /// Seals cursors with this key instead of one of this process alone:
    /// replicas sharing it accept each other's cursors, and cursors
    /// survive a restart.
    pub fn with_cursor_key(mut self, key: CursorKey) -> Self {
        self.cursor_key = key;
        self
    }

    /// How long an account's custom field definitions and stages are used
    /// before they are fetched again (default 10 minutes).
    pub fn with_context_ttl(mut self, ttl: Duration) -> Self {
        self.contexts = ContextCache::new(ttl);
        self.snapshots = ContextCache::new(ttl);
        self
    }

    /// Drops what is cached for an account (its custom field definitions
    /// and stages): after the account is deleted or changed, or when its
    /// provider's definitions changed.
    pub fn forget_account(&self, account_id: Uuid) {
        self.contexts.forget(account_id);
        for lookup in [Lookup::CustomFields, Lookup::Stages, Lookup::Users] {
            self.snapshots.forget((account_id, lookup));
        }
    }

    pub(crate) fn snapshots(&self) -> &ContextCache<(Uuid, Lookup)> {
        &self.snapshots
    }

    pub(crate) fn cursor_key(&self) -> &CursorKey {
        &self.cursor_key
    }

    /// How failed idempotent provider calls are retried.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub(crate) fn env<'a>(
        &'a self,
        account: &'a IntegratedAccount,
        options: &RequestOptions,
        body: Map<String, Value>,
    ) -> Env<'a> {
        Env {
            account,
            http: &self.http,
            retry: &self.retry,
            contexts: &self.contexts,
            extra_query: options
                .remote_query
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            extra_body: body,
        }
    }

    /// One page, mapped (`next_cursor` is opaque).
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "list"))]
    pub async fn list_page(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<ProviderPage, UnifiedError> {
        let provider = account.provider();
        let query = ListQuery {
            limit: options.limit,
            position: options
                .next_cursor
                .as_deref()
                .map(|text| cursor::decode(&self.cursor_key, provider, account.id, text))
                .transpose()?,
            remote_query: options.request.remote_query.clone(),
            filters: options.filters.clone(),
        };
        let map = options.request.format != ResponseFormat::Raw;
        let page = opportunities(provider)
            .list(self.env(account, &options.request, Map::new()), query, map)
            .await?;
        Ok(ProviderPage {
            records: page.records,
            raw: page.raw,
            next_cursor: page
                .next
                .map(|position| cursor::encode(&self.cursor_key, provider, account.id, &position)),
        })
    }

    /// `GET /unified/crm/opportunities`: `{result, next_cursor, result_count}`
    /// (with `raw`, the provider's body). For `stream`, see [`Self::stream`].
    pub async fn list(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<Value, UnifiedError> {
        let page = self.list_page(account, options).await?;
        Ok(self.render_page(page, options))
    }

    /// A page as `list` answers it: `{result, result_count, next_cursor}`,
    /// or, with `raw`, the provider's body untouched (its cursor is
    /// `ProviderPage::next_cursor`).
    pub fn render_page(&self, page: ProviderPage, options: &ListOptions) -> Value {
        if options.request.format == ResponseFormat::Raw {
            return page.raw;
        }
        let result: Vec<Value> = page
            .records
            .into_iter()
            .map(|record| render_owned(record, &options.request))
            .collect();
        json!({"result": result, "result_count": result.len(), "next_cursor": page.next_cursor})
    }

    /// Every record of every page, one at a time: one page is held at a
    /// time, however long the list.
    pub fn stream<'a>(
        &'a self,
        account: &'a IntegratedAccount,
        options: ListOptions,
    ) -> impl Stream<Item = Result<Value, UnifiedError>> + 'a {
        struct State {
            options: ListOptions,
            buffered: VecDeque<Value>,
            done: bool,
        }
        let state = State {
            options,
            buffered: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(state, move |mut state| async move {
            loop {
                if let Some(record) = state.buffered.pop_front() {
                    return Some((Ok(record), state));
                }
                if state.done {
                    return None;
                }
                match self.list_page(account, &state.options).await {
                    Ok(page) => {
                        let mut render_options = state.options.request.clone();
                        if render_options.format == ResponseFormat::Stream {
                            render_options.format = ResponseFormat::Unified;
                        }
                        state.buffered.extend(
                            page.records
                                .into_iter()
                                .map(|record| render_owned(record, &render_options)),
                        );
                        state.done = page.next_cursor.is_none();
                        state.options.next_cursor = page.next_cursor;
                    }
                    Err(error) => {
                        state.done = true;
                        return Some((Err(error), state));
                    }
                }
            }
        })
    }

    /// One record, mapped.
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "get"))]
    pub async fn get_record(
        &self,
        account: &IntegratedAccount,
        id: &str,
        options: &RequestOptions,
    ) -> Result<UnifiedRecord, UnifiedError> {
        let connector = connector_for(account, id)?;
        connector
            .get(self.env(account, options, Map::new()), id)
            .await
    }

    /// `GET /unified/crm/opportunities/{id}`.
    pub async fn get(
        &self,
        account: &IntegratedAccount,
        id: &str,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let record = self.get_record(account, id, options).await?;
        Ok(render_owned(record, options))
    }

    /// `POST /unified/crm/opportunities` with a JSON body: checked against
    /// the unified schema and the provider's required and supported fields
    /// before anything is sent.
    pub async fn create(
        &self,
        account: &IntegratedAccount,
        body: Value,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let body: OpportunityCreate = parse_body(body, OpportunityCreate::FIELDS)?;
        let record = self.create_record(account, &body, options).await?;
        Ok(render_owned(record, options))
    }

    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "create"))]
    async fn create_record(
        &self,
        account: &IntegratedAccount,
        body: &OpportunityCreate,
        options: &RequestOptions,
    ) -> Result<UnifiedRecord, UnifiedError> {
        let connector = opportunities(account.provider());
        check_status(body.status.as_ref())?;
        check_support(
            account.provider(),
            "create",
            &connector.support().create,
            &body.fields_set(),
        )?;
        let extra_body = body
            .remote_data
            .clone()
            .map(Map::from_iter)
            .unwrap_or_default();
        connector
            .create(self.env(account, options, extra_body), body)
            .await
    }

    /// `PATCH /unified/crm/opportunities/{id}`: sends only the fields the
    /// body sets (`null` clears one).
    pub async fn update(
        &self,
        account: &IntegratedAccount,
        id: &str,
        body: Value,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        connector_for(account, id)?;
        let body: OpportunityUpdate = parse_body(body, OpportunityUpdate::FIELDS)?;
        let record = self.update_record(account, id, &body, options).await?;
        Ok(render_owned(record, options))
    }

    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "update"))]
    async fn update_record(
        &self,
        account: &IntegratedAccount,
        id: &str,
        body: &OpportunityUpdate,
        options: &RequestOptions,
    ) -> Result<UnifiedRecord, UnifiedError> {
        let connector = connector_for(account, id)?;
        check_status(body.status.value())?;
        check_support(
            account.provider(),
            "update",
            &connector.support().update,
            &body.fields_set(),
        )?;
        let extra_body = body
            .remote_data
            .value()
            .cloned()
            .map(Map::from_iter)
            .unwrap_or_default();
        connector
            .update(self.env(account, options, extra_body), id, body)
            .await
    }

    /// `DELETE /unified/crm/opportunities/{id}`: the deleted record's id,
    /// with the provider's answer as `remote_data`.
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "delete"))]
    pub async fn delete(
        &self,
        account: &IntegratedAccount,
        id: &str,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let connector = connector_for(account, id)?;
        let record = connector
            .delete(self.env(account, options, Map::new()), id)
            .await?;
        Ok(render_owned(record, options))
    }
}

/// The typed API: unified records in, unified records out, each with the
/// provider's record as `remote_data`. The JSON methods above are the same
/// calls for callers (the server) that hold JSON.
impl UnifiedClient {
    /// One page of opportunities (`options.request.format` is ignored:
    /// records are always mapped).
    pub async fn list_opportunities(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<UnifiedPage<Opportunity>, UnifiedError> {
        let mut options = options.clone();
        options.request.format = ResponseFormat::Unified;
        let page = self.list_page(account, &options).await?;
        Ok(UnifiedPage {
            records: page.records.into_iter().map(typed).collect(),
            next_cursor: page.next_cursor,
        })
    }

    pub async fn get_opportunity(
        &self,
        account: &IntegratedAccount,
        id: &str,
    ) -> Result<Opportunity, UnifiedError> {
        let record = self
            .get_record(account, id, &RequestOptions::default())
            .await?;
        Ok(typed(record))
    }

    /// Checked as the JSON `create` is: status, the provider's required and
    /// supported fields, before anything is sent.
    pub async fn create_opportunity(
        &self,
        account: &IntegratedAccount,
        body: &OpportunityCreate,
    ) -> Result<Opportunity, UnifiedError> {
        let record = self
            .create_record(account, body, &RequestOptions::default())
            .await?;
        Ok(typed(record))
    }

    /// Sends only the fields `body` sets (`Patch::Null` clears one).
    pub async fn update_opportunity(
        &self,
        account: &IntegratedAccount,
        id: &str,
        body: &OpportunityUpdate,
    ) -> Result<Opportunity, UnifiedError> {
        let record = self
            .update_record(account, id, body, &RequestOptions::default())
            .await?;
        Ok(typed(record))
    }

    /// The deleted record's id, with the provider's answer as `remote_data`.
    pub async fn delete_opportunity(
        &self,
        account: &IntegratedAccount,
        id: &str,
    ) -> Result<Opportunity, UnifiedError> {
        let connector = connector_for(account, id)?;
        let record = connector
            .delete(
                self.env(account, &RequestOptions::default(), Map::new()),
                id,
            )
            .await?;
        Ok(typed(record))
    }
}

/// A mapped record with the provider's record as its `remote_data`.
fn typed(record: UnifiedRecord) -> Opportunity {
    let UnifiedRecord {
        mut record,
        remote_data,
    } = record;
    if let Value::Object(remote) = remote_data {
        record.remote_data = Some(remote.into_iter().collect());
    }
    record
}

/// The account's provider, once `id` is known to be one of its ids.
fn connector_for(
    account: &IntegratedAccount,
    id: &str,
) -> Result<&'static dyn DynOpportunities, UnifiedError> {
    let connector = opportunities(account.provider());
    if !connector.is_id(id) {
        return Err(UnifiedError::invalid(
            "id",
            format!(
                "`{id}` is not a {} opportunity id",
                account.provider().name()
            ),
        ));
    }
    Ok(connector)
}

/// A body of the unified schema; a wrong type names the field.
/// A key the schema does not have is refused, naming it: a typo
/// (`amout`) must not become an empty write answered with 200.
fn parse_body<T: DeserializeOwned>(body: Value, fields: &[FieldInfo]) -> Result<T, UnifiedError> {
    if let Value::Object(object) = &body {
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|key| !fields.iter().any(|field| field.name == *key))
            .collect();
        if let Some(first) = unknown.first() {
            let known: Vec<&str> = fields.iter().map(|field| field.name).collect();
            return Err(UnifiedError::invalid(
                *first,
                format!(
                    "{} not a field of this body; the fields are {}",
                    if unknown.len() == 1 {
                        format!("`{first}` is")
                    } else {
                        format!("`{}` are", unknown.join("`, `"))
                    },
                    known.join(", ")
                ),
            ));
        }
    }
    serde_path_to_error::deserialize(body).map_err(|error| {
        let field = error.path().to_string();
        UnifiedError::invalid(
            if field == "." {
                "body".to_owned()
            } else {
                field
            },
            error.into_inner().to_string(),
        )
    })
}

/// Writes take only the statuses the unified API defines.
fn check_status(status: Option<&UnifiedOpportunityStatus>) -> Result<(), UnifiedError> {
    match status {
        Some(UnifiedOpportunityStatus::Unknown(other)) => Err(UnifiedError::invalid(
            "status",
            format!("`{other}` is not a status; use open, won, lost or abandoned"),
        )),
        _ => Ok(()),
    }
}

fn check_support(
    provider: Provider,
    operation: &'static str,
    support: &OperationSupport,
    fields_set: &[&str],
) -> Result<(), UnifiedError> {
    let problems = support::check(support, fields_set);
    if problems.is_empty() {
        return Ok(());
    }
    let names = |wanted: fn(&FieldProblem) -> bool| -> Vec<String> {
        problems
            .iter()
            .filter(|problem| wanted(problem))
            .map(|problem| problem.field().to_owned())
            .collect()
    };
    Err(UnifiedError::Validation {
        provider,
        operation,
        missing: names(|problem| matches!(problem, FieldProblem::Missing(_))),
        unsupported: names(|problem| matches!(problem, FieldProblem::Unsupported(_))),
    })
}
