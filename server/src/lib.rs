//! The unified CRM API over HTTP.
//!
//! - `cli`: `server serve` and `server token create`.
//! - `db`: SQLite (tenants, token hashes, integrated accounts).
//! - `crypto`: AES-256-GCM for credentials at rest, tokens and their hashes.
//! - `auth`: bearer tokens to tenants (401 otherwise).
//! - `accounts`: `/integrated-accounts`.
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
pub mod openapi;
pub mod unified;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use unified_crm::UnifiedClient;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub db: db::Db,
    pub cipher: crypto::Cipher,
    pub client: UnifiedClient,
    openapi: Value,
}

impl AppState {
    pub fn new(db: db::Db, cipher: crypto::Cipher, client: UnifiedClient) -> Result<Self, String> {
        Ok(AppState {
            db,
            cipher,
            client,
            openapi: openapi::document()?,
        })
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
            get(accounts::get).delete(accounts::delete),
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
