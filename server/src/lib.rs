//! The unified CRM API over HTTP.
//!
//! - `cli`: `server serve`, `server token create|list|revoke`,
//!   `server keys rotate`.
//! - `db`: the store (tenants, token hashes, integrated accounts,
//!   idempotency keys): one trait, SQLite embedded or PostgreSQL shared by
//!   replicas.
//! - `crypto`: AES-256-GCM key ring for credentials at rest, tokens and
//!   their hashes; `keys`: re-encryption under a new key.
//! - `auth`: bearer tokens to tenants (401 otherwise).
//! - `accounts`: `/integrated-accounts`.
//! - `outbound`: where the server may connect (allow-list, DNS checks).
//! - `limits`: rate limits per tenant and account, streams per tenant.
//! - `idempotency`: `Idempotency-Key` on the unified writes.
//! - `unified`: `/unified/crm/opportunities[/{id}]` over `UnifiedClient`.
//! - `errors`: every error as `{"statusCode", "error", "message"}`.
//! - `openapi`: `GET /openapi.json`.
//!
//! [`router`] builds the whole service; [`serve`] runs it on a listener
//! until a shutdown future resolves, finishing requests in flight.

pub mod accounts;
pub mod auth;
pub mod cli;
pub mod crypto;
pub mod db;
pub mod errors;
pub mod idempotency;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod outbound;
pub mod unified;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use unified_crm::{CursorKey, UnifiedClient};
use uuid::Uuid;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the server is run (`server serve` flags).
#[derive(Clone, Debug)]
pub struct Config {
    /// Hosts an account's `base_url` may name besides the providers'
    /// public hosts (`--allow-host`); plain http is allowed to them.
    pub allow_hosts: Vec<outbound::AllowedHost>,
    /// The largest provider response body read (`--max-provider-body`).
    pub max_provider_body: usize,
    /// Requests per tenant (`--tenant-rate-limit`); `None`: no limit.
    pub tenant_rate_limit: Option<limits::Rate>,
    /// Requests per integrated account (`--account-rate-limit`).
    pub account_rate_limit: Option<limits::Rate>,
    /// Concurrent streams per tenant (`--max-streams-per-tenant`); 0: no
    /// cap.
    pub max_streams_per_tenant: usize,
}

/// `--max-provider-body`'s default: 16 MiB.
pub const DEFAULT_MAX_PROVIDER_BODY: usize = crm_runtime::DEFAULT_MAX_RESPONSE_BODY;
/// `--max-streams-per-tenant`'s default.
pub const DEFAULT_MAX_STREAMS_PER_TENANT: usize = 10;

impl Default for Config {
    fn default() -> Self {
        Config {
            allow_hosts: Vec::new(),
            max_provider_body: DEFAULT_MAX_PROVIDER_BODY,
            tenant_rate_limit: limits::Rate::new(500, Duration::from_secs(10)),
            account_rate_limit: limits::Rate::new(50, Duration::from_secs(10)),
            max_streams_per_tenant: DEFAULT_MAX_STREAMS_PER_TENANT,
        }
    }
}

impl Config {
    /// The defaults, with `hosts` allowed (`--allow-host`).
    pub fn allowing(hosts: &[&str]) -> Result<Self, String> {
        Ok(Config {
            allow_hosts: hosts
                .iter()
                .map(|host| host.parse())
                .collect::<Result<_, _>>()?,
            ..Config::default()
        })
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub db: db::Db,
    pub cipher: crypto::Cipher,
    pub client: UnifiedClient,
    pub config: Config,
    pub outbound: Arc<outbound::OutboundPolicy>,
    pub limits: limits::Limits,
    /// The revision of each account this server last used.
    revisions: Mutex<HashMap<Uuid, i64>>,
    openapi: Value,
}

impl AppState {
    /// The state of a server run with `config`; its provider HTTP client
    /// connects only where the outbound policy allows, and follows
    /// redirects only within an origin. List cursors are sealed with a key
    /// derived from the newest credentials key, so every replica with the
    /// same keys accepts the others' cursors (and cursors outlive a
    /// restart).
    pub fn new(db: db::Db, cipher: crypto::Cipher, config: Config) -> Result<Self, String> {
        let outbound = Arc::new(outbound::OutboundPolicy::new(config.allow_hosts.clone()));
        let http = outbound.http_client()?;
        let mut client = UnifiedClient::with_http_client(http);
        if let Some(key) = cipher.cursor_key() {
            client = client.with_cursor_key(CursorKey::from_bytes(key));
        }
        Ok(AppState {
            db,
            cipher,
            client,
            revisions: Mutex::default(),
            limits: limits::Limits::new(
                config.tenant_rate_limit,
                config.account_rate_limit,
                config.max_streams_per_tenant,
            ),
            outbound,
            config,
            openapi: openapi::document()?,
        })
    }
}

impl AppState {
    /// Notes that account `id` is at `revision` in the database. When this
    /// server last used it at another revision, the account changed since
    /// (here or on another replica): what `UnifiedClient` cached for it
    /// (custom field definitions, stages) is dropped, so no replica keeps
    /// using what an account change made stale.
    pub fn saw_revision(&self, id: Uuid, revision: i64) {
        let mut seen = self
            .revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.insert(id, revision) != Some(revision) {
            self.client.forget_account(id);
        }
    }

    /// Forgets a deleted account.
    pub fn forget_account(&self, id: Uuid) {
        self.revisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&id);
        self.client.forget_account(id);
    }
}

/// The whole service.
pub fn router(state: Arc<AppState>) -> Router {
    use axum::routing::post;
    let api = Router::new()
        .route(
            "/integrated-accounts",
            get(accounts::list).post(accounts::create),
        )
        .route(
            "/integrated-accounts/{id}",
            get(accounts::get)
                .patch(accounts::update)
                .delete(accounts::delete),
        )
        .route(
            "/unified/crm/opportunities",
            get(unified::list).merge(post(unified::create)),
        )
        .route(
            "/unified/crm/opportunities/{id}",
            get(unified::get)
                .patch(unified::update)
                .delete(unified::delete),
        )
        .route("/unified/crm/fields", get(unified::fields))
        .route("/unified/crm/stages", get(unified::stages))
        .route("/unified/crm/users", get(unified::users))
        // Innermost first: the provider body limit around the handler; the
        // idempotency keys; the tenant's rate limit; authentication runs
        // first of all.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            provider_body_limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            tenant_rate_limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_tenant,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .merge(api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(json_errors))
        .layer(
            // Method and path only: query strings and headers (tokens) are
            // not logged.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then
/// stops accepting and finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Provider calls made while handling the request read at most
/// `max_provider_body` bytes of a response.
async fn provider_body_limit(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    crm_runtime::with_max_response_body(state.config.max_provider_body, next.run(request)).await
}

async fn tenant_rate_limit(
    State(state): State<Arc<AppState>>,
    axum::Extension(tenant): axum::Extension<auth::Tenant>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    match state.limits.check_tenant(tenant.0) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(&state.openapi).into_response()
}

async fn not_found() -> Response {
    errors::ApiError::not_found("no such route").into_response()
}

/// Error answers made outside the handlers (413 from the body limit, 405,
/// extractor rejections) become the JSON error shape too.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is larger than {MAX_BODY_BYTES} bytes (1 MiB)")
        }
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this path".to_owned(),
        _ => {
            let text = axum::body::to_bytes(body, 16 * 1024)
                .await
                .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
                .unwrap_or_default();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                text
            }
        }
    };
    let body = errors::error_body(status, &message, &[], None).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
