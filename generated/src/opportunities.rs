//! The unified opportunities API: one call, any CRM.
//!
//! Every operation checks its input before anything is sent (ids, body
//! types, the provider's required and unsupported fields), calls the
//! account's provider through its glue, and renders the result in the
//! format asked for. Custom field definitions are fetched once per account
//! and cached.

use crate::account::{IntegratedAccount, Provider};
use crate::cursor;
use crate::error::UnifiedError;
use crate::glue::{self, Page};
use crate::options::{ListOptions, RequestOptions, ResponseFormat};
use crate::render::{UnifiedRecord, render};
use crate::unified::crm::{OpportunityCreate, OpportunityUpdate, UnifiedOpportunityStatus};
use crm_runtime::RetryPolicy;
use crm_runtime::mapping::ListQuery;
use crm_runtime::reexports::reqwest;
use crm_runtime::support::{self, FieldProblem, FieldSupport};
use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The per-account data mapping needs, fetched once.
enum AccountContext {
    Close(glue::close::Context),
    Copper(glue::copper::Context),
}

type ContextCell = Arc<OnceCell<Arc<AccountContext>>>;

/// The entry point: holds the HTTP client, the retry policy and the
/// per-account caches.
pub struct UnifiedClient {
    http: reqwest::Client,
    retry: RetryPolicy,
    contexts: Mutex<HashMap<Uuid, ContextCell>>,
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
        let accounts = self.contexts.lock().map_or(0, |contexts| contexts.len());
        f.debug_struct("UnifiedClient")
            .field("retry", &self.retry)
            .field("cached_accounts", &accounts)
            .finish()
    }
}

/// One page of a list, mapped.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedPage {
    pub records: Vec<UnifiedRecord>,
    /// The provider's response body, untouched.
    pub raw: Value,
    /// Pass it back as `next_cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// What a write sends besides its mapped body.
struct Extras {
    query: Vec<(String, String)>,
    body: Map<String, Value>,
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
            contexts: Mutex::default(),
        }
    }

    /// Drops what is cached for an account (its custom field definitions
    /// and stages): after the account is deleted, or when its provider's
    /// definitions changed.
    pub fn forget_account(&self, account_id: Uuid) {
        let mut contexts = self
            .contexts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        contexts.remove(&account_id);
    }

    /// How failed idempotent provider calls are retried.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// One page, mapped (`next_cursor` is opaque).
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "list"))]
    pub async fn list_page(
        &self,
        account: &IntegratedAccount,
        options: &ListOptions,
    ) -> Result<UnifiedPage, UnifiedError> {
        let provider = account.provider();
        let query = ListQuery {
            limit: options.limit,
            cursor: options
                .next_cursor
                .as_deref()
                .map(|text| cursor::decode(provider, text))
                .transpose()?,
            remote_query: options.request.remote_query.clone(),
        };
        let extras = Extras {
            query: pairs(&options.request.remote_query),
            body: Map::new(),
        };
        let context = self.context(account).await?;
        let page: Page = match (&*context, provider) {
            (AccountContext::Close(context), Provider::Close) => {
                glue::close::list(&self.close(account, extras), context, &query).await?
            }
            (AccountContext::Copper(context), Provider::Copper) => {
                glue::copper::list(&self.copper(account, extras), context, &query).await?
            }
            _ => return Err(mismatch(provider)),
        };
        Ok(UnifiedPage {
            records: page.records,
            raw: page.raw,
            next_cursor: page.next.map(|state| cursor::encode(provider, &state)),
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
        if options.request.format == ResponseFormat::Raw {
            return Ok(page.raw);
        }
        let result: Vec<Value> = page
            .records
            .iter()
            .map(|record| render(record, &options.request))
            .collect();
        Ok(json!({"result": result, "result_count": result.len(), "next_cursor": page.next_cursor}))
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
                                .iter()
                                .map(|record| render(record, &render_options)),
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
        let provider = account.provider();
        check_id(provider, id)?;
        let extras = Extras {
            query: pairs(&options.remote_query),
            body: Map::new(),
        };
        let context = self.context(account).await?;
        match (&*context, provider) {
            (AccountContext::Close(context), Provider::Close) => {
                glue::close::get(&self.close(account, extras), context, id).await
            }
            (AccountContext::Copper(context), Provider::Copper) => {
                glue::copper::get(&self.copper(account, extras), context, id).await
            }
            _ => Err(mismatch(provider)),
        }
    }

    /// `GET /unified/crm/opportunities/{id}`.
    pub async fn get(
        &self,
        account: &IntegratedAccount,
        id: &str,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let record = self.get_record(account, id, options).await?;
        Ok(render(&record, options))
    }

    /// `POST /unified/crm/opportunities` with a JSON body: checked against
    /// the unified schema and the provider's required and supported fields
    /// before anything is sent.
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "create"))]
    pub async fn create(
        &self,
        account: &IntegratedAccount,
        body: Value,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let provider = account.provider();
        let body: OpportunityCreate = parse_body(body)?;
        check_status(body.status.as_ref())?;
        check_support(
            provider,
            "create",
            OpportunityCreate::PROVIDER_SUPPORT,
            &body.fields_set(),
        )?;
        let extras = Extras {
            query: pairs(&options.remote_query),
            body: body
                .remote_data
                .clone()
                .map(Map::from_iter)
                .unwrap_or_default(),
        };
        let context = self.context(account).await?;
        let record = match (&*context, provider) {
            (AccountContext::Close(context), Provider::Close) => {
                glue::close::create(&self.close(account, extras), context, &body).await?
            }
            (AccountContext::Copper(context), Provider::Copper) => {
                glue::copper::create(&self.copper(account, extras), context, &body).await?
            }
            _ => return Err(mismatch(provider)),
        };
        Ok(render(&record, options))
    }

    /// `PATCH /unified/crm/opportunities/{id}`: sends only the fields the
    /// body sets (`null` clears one).
    // Spans carry the provider and operation; never credentials or bodies.
    #[tracing::instrument(skip_all, fields(provider = %account.provider(), operation = "update"))]
    pub async fn update(
        &self,
        account: &IntegratedAccount,
        id: &str,
        body: Value,
        options: &RequestOptions,
    ) -> Result<Value, UnifiedError> {
        let provider = account.provider();
        check_id(provider, id)?;
        let body: OpportunityUpdate = parse_body(body)?;
        check_status(body.status.value())?;
        check_support(
            provider,
            "update",
            OpportunityUpdate::PROVIDER_SUPPORT,
            &body.fields_set(),
        )?;
        let extras = Extras {
            query: pairs(&options.remote_query),
            body: body
                .remote_data
                .value()
                .cloned()
                .map(Map::from_iter)
                .unwrap_or_default(),
        };
        let context = self.context(account).await?;
        let record = match (&*context, provider) {
            (AccountContext::Close(context), Provider::Close) => {
                glue::close::update(&self.close(account, extras), context, id, &body).await?
            }
            (AccountContext::Copper(context), Provider::Copper) => {
                glue::copper::update(&self.copper(account, extras), context, id, &body).await?
            }
            _ => return Err(mismatch(provider)),
        };
        Ok(render(&record, options))
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
        let provider = account.provider();
        check_id(provider, id)?;
        let extras = Extras {
            query: pairs(&options.remote_query),
            body: Map::new(),
        };
        let record = match provider {
            Provider::Close => glue::close::delete(&self.close(account, extras), id).await?,
            Provider::Copper => glue::copper::delete(&self.copper(account, extras), id).await?,
        };
        Ok(render(&record, options))
    }

    fn close(
        &self,
        account: &IntegratedAccount,
        extras: Extras,
    ) -> crate::providers::close::Client {
        glue::close::client(account, &self.http)
            .with_retry_policy(self.retry.clone())
            .with_extra_query(extras.query)
            .with_extra_body(extras.body)
    }

    fn copper(
        &self,
        account: &IntegratedAccount,
        extras: Extras,
    ) -> crate::providers::copper::Client {
        glue::copper::client(account, &self.http)
            .with_retry_policy(self.retry.clone())
            .with_extra_query(extras.query)
            .with_extra_body(extras.body)
    }

    /// The account's mapping context, fetched on first use and cached.
    async fn context(
        &self,
        account: &IntegratedAccount,
    ) -> Result<Arc<AccountContext>, UnifiedError> {
        let cell = {
            let mut contexts = self
                .contexts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            contexts.entry(account.id).or_default().clone()
        };
        let context = cell
            .get_or_try_init(|| async {
                let no_extras = || Extras {
                    query: Vec::new(),
                    body: Map::new(),
                };
                let context = match account.provider() {
                    Provider::Close => AccountContext::Close(
                        glue::close::context(&self.close(account, no_extras())).await?,
                    ),
                    Provider::Copper => AccountContext::Copper(
                        glue::copper::context(&self.copper(account, no_extras())).await?,
                    ),
                };
                Ok::<_, UnifiedError>(Arc::new(context))
            })
            .await?;
        Ok(context.clone())
    }
}

fn mismatch(provider: Provider) -> UnifiedError {
    UnifiedError::Transport {
        provider,
        message: "the account's cached context belongs to another provider".into(),
    }
}

fn pairs(query: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// A body of the unified schema; a wrong type names the field.
fn parse_body<T: DeserializeOwned>(body: Value) -> Result<T, UnifiedError> {
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
    table: &[FieldSupport],
    fields_set: &[&str],
) -> Result<(), UnifiedError> {
    let problems = support::check(provider.key(), table, fields_set);
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

/// An id must be one path segment the provider can have made.
fn check_id(provider: Provider, id: &str) -> Result<(), UnifiedError> {
    // Only dots would be a `.`/`..` path segment, which URL parsers resolve.
    let plausible = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !id.chars().all(|c| c == '.');
    if !plausible {
        return Err(UnifiedError::invalid(
            "id",
            format!("`{id}` is not an opportunity id"),
        ));
    }
    if provider == Provider::Copper && id.parse::<i64>().is_err() {
        return Err(UnifiedError::invalid(
            "id",
            format!("`{id}` is not a Copper id (Copper ids are integers)"),
        ));
    }
    Ok(())
}
