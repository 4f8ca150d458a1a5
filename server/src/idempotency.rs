//! `Idempotency-Key` on the unified writes (POST, PATCH, DELETE under
//! `/unified/`).
//!
//! The first request with a key runs; its status and body are stored with
//! the tenant, the key and a SHA-256 of the request (method, path, query
//! string and body bytes) for 24 hours. The same request again gets the
//! stored answer with `Idempotent-Replayed: true`, without calling the
//! provider; the same key with another request is a 422; the same request
//! while the first still runs is a 409. The request runs in its own task,
//! so a caller that times out and goes away does not cancel it: its answer
//! is stored for the retry.
//!
//! Answers not stored (the key is freed, a retry runs again): 429 (nothing
//! was done; retry later) and 500 (this server failed before the provider
//! was called). Everything else is stored, a 502 included: the provider may
//! have acted before the failure, so a retry must not act again.

use crate::AppState;
use crate::auth::Tenant;
use crate::errors::ApiError;
use axum::Extension;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tracing::Instrument;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
/// How long an answer is kept.
pub const TTL_SECONDS: i64 = 24 * 60 * 60;
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// An answer is stored whole up to this size (a unified record is far
/// smaller); a larger one frees the key.
const MAX_STORED_BODY: usize = 64 * 1024 * 1024;

/// Whether the request is a unified write, the only ones keys apply to
/// (by route and method: another method on those paths is left to the
/// router's 405).
fn applies(request: &Request) -> bool {
    let Some(route) = request.extensions().get::<MatchedPath>() else {
        return false;
    };
    matches!(
        (request.method(), route.as_str()),
        (&Method::POST, "/unified/crm/opportunities")
            | (
                &Method::PATCH | &Method::DELETE,
                "/unified/crm/opportunities/{id}"
            )
    )
}

/// Visible ASCII, 1 to 255 characters.
fn key_of(request: &Request) -> Result<Option<String>, ApiError> {
    let mut values = request.headers().get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |why: &str| ApiError::bad_request("Idempotency-Key", why);
    if values.next().is_some() {
        return Err(bad("must be sent once"));
    }
    let text = value.to_str().map_err(|_| bad("must be printable ASCII"))?;
    if text.is_empty() || text.len() > MAX_KEY_LEN {
        return Err(bad("must be 1 to 255 characters"));
    }
    if !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(bad("must be printable ASCII without spaces"));
    }
    Ok(Some(text.to_owned()))
}

fn request_hash(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [
        method.as_str().as_bytes(),
        uri.path().as_bytes(),
        uri.query().unwrap_or_default().as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The middleware (after authentication, so the tenant is known).
pub async fn idempotency(
    State(state): State<Arc<AppState>>,
    Extension(tenant): Extension<Tenant>,
    request: Request,
    next: Next,
) -> Response {
    if !applies(&request) {
        return next.run(request).await;
    }
    let key = match key_of(&request) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(request).await,
        Err(error) => return error.into_response(),
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} bytes (1 MiB)",
                crate::MAX_BODY_BYTES
            ),
        )
        .into_response();
    };
    let hash = request_hash(&parts.method, &parts.uri, &bytes);
    let now = unix_now();
    let claim = state
        .db
        .claim_idempotency_key(tenant.0, key.clone(), hash, now, now + TTL_SECONDS)
        .await;
    match claim {
        Err(error) => {
            return ApiError::internal("idempotency key lookup failed", error).into_response();
        }
        Ok(crate::db::Claim::New) => {}
        Ok(crate::db::Claim::Done { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, body);
            response.headers_mut().insert(
                HeaderName::from_static(REPLAYED),
                HeaderValue::from_static("true"),
            );
            return response;
        }
        Ok(crate::db::Claim::Mismatch) => {
            let mut error = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was already used with a different request (method, path, query or body); use a new key for a new request",
            );
            error.fields.push("Idempotency-Key".into());
            return error.into_response();
        }
        Ok(crate::db::Claim::InFlight { created_at }) => {
            let mut error = ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "a request with this Idempotency-Key is still in progress (started {} s ago); retry when it has finished to get its answer",
                    (now - created_at).max(0)
                ),
            );
            error.retry_after = Some(1);
            return error.into_response();
        }
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    // Its own task: a caller that goes away does not cancel the write, and
    // its answer is stored for the retry.
    let task = tokio::spawn(
        {
            let state = state.clone();
            let key = key.clone();
            async move {
                let response = next.run(request).await;
                finish(&state, tenant, key, response).await
            }
        }
        .in_current_span(),
    );
    match task.await {
        Ok(response) => response,
        Err(_) => {
            if let Err(error) = state.db.release_idempotency_key(tenant.0, key).await {
                tracing::error!(%error, "freeing an idempotency key failed");
            }
            ApiError::internal("a write failed", "its task ended abnormally").into_response()
        }
    }
}

/// Stores the answer (or frees the key) and hands the answer back.
async fn finish(state: &AppState, tenant: Tenant, key: String, response: Response) -> Response {
    let status = response.status();
    let keep = !matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::INTERNAL_SERVER_ERROR
    );
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_STORED_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            if let Err(error) = state.db.release_idempotency_key(tenant.0, key).await {
                tracing::error!(%error, "freeing an idempotency key failed");
            }
            return ApiError::internal("a write's answer", "could not be read back")
                .into_response();
        }
    };
    let stored = if keep {
        state
            .db
            .complete_idempotency_key(tenant.0, key, status.as_u16(), bytes.to_vec())
            .await
    } else {
        state.db.release_idempotency_key(tenant.0, key).await
    };
    if let Err(error) = stored {
        // The write happened; its answer goes back even if it could not be
        // kept (a retry would then see the key in flight until it expires).
        tracing::error!(%error, "storing an idempotent answer failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_covers_method_path_query_and_body() {
        let uri = |text: &str| text.parse::<axum::http::Uri>().unwrap();
        let base = request_hash(&Method::POST, &uri("/a?x=1"), b"{}");
        assert_eq!(base, request_hash(&Method::POST, &uri("/a?x=1"), b"{}"));
        assert_ne!(base, request_hash(&Method::PATCH, &uri("/a?x=1"), b"{}"));
        assert_ne!(base, request_hash(&Method::POST, &uri("/b?x=1"), b"{}"));
        assert_ne!(base, request_hash(&Method::POST, &uri("/a?x=2"), b"{}"));
        assert_ne!(base, request_hash(&Method::POST, &uri("/a?x=1"), b"{ }"));
        // Length prefixes: parts cannot slide into each other.
        assert_ne!(
            request_hash(&Method::POST, &uri("/ab?"), b""),
            request_hash(&Method::POST, &uri("/a?b"), b"")
        );
    }
}
