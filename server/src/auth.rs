//! Bearer tokens: every API request names its tenant with one.

use crate::AppState;
use crate::crypto::token_hash;
use crate::errors::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The tenant a request's token belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tenant(pub i64);

/// Answers 401 unless the request carries a known bearer token; otherwise
/// passes the tenant on as an extension. The token itself is never logged.
pub async fn require_tenant(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(&request) else {
        return ApiError::unauthorized().into_response();
    };
    match state.db.tenant_of(token_hash(&token)).await {
        Ok(Some(tenant)) => {
            request.extensions_mut().insert(Tenant(tenant));
            next.run(request).await
        }
        Ok(None) => ApiError::unauthorized().into_response(),
        Err(error) => ApiError::internal("token lookup failed", error).into_response(),
    }
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
