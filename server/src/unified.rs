//! `/unified/crm/opportunities[/{id}]` and the lookups
//! (`/unified/crm/fields|stages|users`): the unified API over HTTP. The
//! query string is parsed by `UnifiedQuery::parse` (unknown parameters are
//! refused), the account is looked up among the tenant's, and the call goes
//! to `UnifiedClient`.

use crate::AppState;
use crate::accounts::{json_body, load};
use crate::auth::Tenant;
use crate::errors::ApiError;
use crate::limits::StreamSlot;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use unified_crm::{
    IntegratedAccount, ListOptions, Lookup, ResponseFormat, UnifiedError, UnifiedQuery,
};

/// Records buffered between the provider pages and the socket: enough to
/// keep a page flowing, few enough to keep memory flat.
const STREAM_BUFFER: usize = 32;

/// What an endpoint takes besides the common parameters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// The opportunities list: paging and filters.
    List,
    /// A lookup: paging, and `resource` for custom fields.
    Lookup { resource: bool },
    /// One record.
    Record,
}

/// The parsed query and the tenant's account it names; a parameter the
/// endpoint does not take is a 400 naming it.
async fn prepare(
    state: &AppState,
    tenant: Tenant,
    query: Option<String>,
    takes: Takes,
) -> Result<(IntegratedAccount, ListOptions), ApiError> {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut parsed = UnifiedQuery::parse(
        pairs
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    )?;
    let refuse = |name: &str| -> Result<(), ApiError> {
        Err(UnifiedError::invalid(name, "is not a parameter of this endpoint").into())
    };
    if takes != Takes::List {
        if let Some(name) = parsed.options.filters.names().first() {
            refuse(name.split('=').next().unwrap_or(name))?;
        }
    }
    if takes == Takes::Record {
        if parsed.options.limit.is_some() {
            refuse("limit")?;
        }
        if parsed.options.next_cursor.is_some() {
            refuse("next_cursor")?;
        }
    }
    if parsed.resource.is_some() && takes != (Takes::Lookup { resource: true }) {
        refuse("resource")?;
    }
    if matches!(takes, Takes::Lookup { .. }) && !parsed.options.request.remote_query.is_empty() {
        refuse("remote_query")?;
    }
    // `id` is required in every `Opportunity` the spec describes ("at least
    // `id` is present"), so it is never excluded.
    parsed
        .options
        .request
        .exclude_fields
        .retain(|field| field != "id");
    let account = load(state, tenant, parsed.integrated_account_id).await?;
    state.limits.check_account(account.id)?;
    Ok((account, parsed.options))
}

fn json(status: StatusCode, value: &Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// `GET /unified/crm/opportunities`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (account, options) = prepare(&state, tenant, query, Takes::List).await?;
    if options.request.format == ResponseFormat::Stream {
        let slot = state.limits.stream_slot(tenant.0)?;
        return stream(state, account, options, slot).await;
    }
    // The cursor also goes in a header: the only place a raw page, which
    // is the provider's body untouched, can carry it.
    let page = state.client.list_page(&account, &options).await?;
    let next_cursor = page.next_cursor.clone();
    let body = state.client.render_page(page, &options);
    let mut response = json(StatusCode::OK, &body);
    if let Some(cursor) = next_cursor.and_then(|cursor| HeaderValue::from_str(&cursor).ok()) {
        response.headers_mut().insert("next-cursor", cursor);
    }
    Ok(response)
}

/// `truto_response_format=stream`: NDJSON, one record a line, written as
/// the provider's pages arrive. A task pulls `UnifiedClient::stream` into a
/// small bounded channel, so at most one page and `STREAM_BUFFER` records
/// are held; when the caller goes away the channel closes and the task
/// stops. An error before the first record is an ordinary error answer; an
/// error later aborts the body (the status was already sent), so a cut
/// stream is never mistaken for a complete one. The task holds the
/// tenant's stream slot until it ends.
async fn stream(
    state: Arc<AppState>,
    account: IntegratedAccount,
    options: ListOptions,
    slot: StreamSlot,
) -> Result<Response, ApiError> {
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<Result<Value, UnifiedError>>(STREAM_BUFFER);
    let max_body = state.config.max_provider_body;
    tokio::spawn(crm_runtime::with_max_response_body(max_body, async move {
        use futures::StreamExt;
        let _slot = slot;
        let mut records = std::pin::pin!(state.client.stream(&account, options));
        while let Some(item) = records.next().await {
            if sender.send(item).await.is_err() {
                break;
            }
        }
    }));
    let first = match receiver.recv().await {
        None => None,
        Some(Ok(record)) => Some(line(&record)),
        Some(Err(error)) => return Err(error.into()),
    };
    let rest = futures::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await? {
            Ok(record) => Some((line(&record), Some(receiver))),
            Err(error) => {
                // The kind and status only: a provider's message can quote
                // its body, which is never logged.
                let (kind, status) = match &error {
                    UnifiedError::Provider { status, .. } => ("provider", Some(*status)),
                    UnifiedError::Transport { .. } => ("transport", None),
                    UnifiedError::Mapping(_) => ("mapping", None),
                    _ => ("other", None),
                };
                tracing::warn!(kind, status, "stream cut by an error");
                Some((
                    Err(std::io::Error::other("the stream was cut by an error")),
                    None,
                ))
            }
        }
    });
    let body = futures::StreamExt::chain(futures::stream::iter(first), rest);
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// A value of a write that cannot be converted to the provider's shape
/// (e.g. clearing a Close opportunity's lead) is the caller's to fix: 422
/// naming the field, not the 502 a provider record that cannot be read
/// gets.
fn write_error(error: UnifiedError) -> ApiError {
    match error {
        UnifiedError::Mapping(mapping) => {
            let mut api = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, mapping.to_string());
            api.fields.push(mapping.field);
            api
        }
        other => other.into(),
    }
}

fn line(record: &Value) -> Result<Bytes, std::io::Error> {
    let mut bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    Ok(Bytes::from(bytes))
}

/// `POST /unified/crm/opportunities`: 201.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (account, options) = prepare(&state, tenant, query, Takes::Record).await?;
    let body = json_body(&body)?;
    let record = state
        .client
        .create(&account, body, &options.request)
        .await
        .map_err(write_error)?;
    Ok(json(StatusCode::CREATED, &record))
}

/// `GET /unified/crm/opportunities/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (account, options) = prepare(&state, tenant, query, Takes::Record).await?;
    let record = state.client.get(&account, &id, &options.request).await?;
    Ok(json(StatusCode::OK, &record))
}

/// `PATCH /unified/crm/opportunities/{id}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (account, options) = prepare(&state, tenant, query, Takes::Record).await?;
    let body = json_body(&body)?;
    let record = state
        .client
        .update(&account, &id, body, &options.request)
        .await
        .map_err(write_error)?;
    Ok(json(StatusCode::OK, &record))
}

/// `DELETE /unified/crm/opportunities/{id}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (account, options) = prepare(&state, tenant, query, Takes::Record).await?;
    let record = state.client.delete(&account, &id, &options.request).await?;
    Ok(json(StatusCode::OK, &record))
}

async fn lookup(
    state: Arc<AppState>,
    tenant: Tenant,
    query: Option<String>,
    lookup: Lookup,
) -> Result<Response, ApiError> {
    let takes = Takes::Lookup {
        resource: lookup == Lookup::CustomFields,
    };
    let (account, options) = prepare(&state, tenant, query, takes).await?;
    let page = state.client.list_lookup(&account, lookup, &options).await?;
    Ok(json(StatusCode::OK, &page))
}

/// `GET /unified/crm/fields`.
pub async fn fields(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    lookup(state, tenant, query, Lookup::CustomFields).await
}

/// `GET /unified/crm/stages`.
pub async fn stages(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    lookup(state, tenant, query, Lookup::Stages).await
}

/// `GET /unified/crm/users`.
pub async fn users(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    lookup(state, tenant, query, Lookup::Users).await
}
