//! Every error answer: `{"statusCode", "error", "message"}`, plus `fields`
//! for validation errors and `provider` for the provider's own answer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use unified_crm::UnifiedError;

/// An error answer, ready to send.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub fields: Vec<String>,
    /// The provider's answer, when it answered.
    pub provider: Option<Box<ProviderAnswer>>,
    /// `Retry-After` (seconds) of this server's own 429s and 409s.
    pub retry_after: Option<u32>,
    /// Which of this server's limits was hit (`limit` in the body).
    pub limit: Option<Box<Value>>,
}

/// What a provider error adds to the answer.
#[derive(Debug)]
pub struct ProviderAnswer {
    /// `{name, status, body, retry_after}`.
    pub json: Value,
    /// `Retry-After` to send back, as the provider sent it.
    pub retry_after: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            fields: Vec::new(),
            provider: None,
            retry_after: None,
            limit: None,
        }
    }

    pub fn bad_request(field: &str, message: impl std::fmt::Display) -> Self {
        let mut error = ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid `{field}`: {message}"),
        );
        error.fields.push(field.to_owned());
        error
    }

    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a valid `Authorization: Bearer <token>` header is required",
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        // The cause goes to the log only; the caller gets no internals.
        tracing::error!(%error, "{context}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    pub fn body(&self) -> Value {
        let mut body = error_body(
            self.status,
            &self.message,
            &self.fields,
            self.provider.as_ref().map(|provider| provider.json.clone()),
        );
        if let (Some(limit), Value::Object(map)) = (&self.limit, &mut body) {
            map.insert("limit".into(), (**limit).clone());
        }
        body
    }
}

/// The JSON of an error answer.
pub fn error_body(
    status: StatusCode,
    message: &str,
    fields: &[String],
    provider: Option<Value>,
) -> Value {
    let mut body = Map::new();
    body.insert("statusCode".into(), json!(status.as_u16()));
    body.insert(
        "error".into(),
        json!(status.canonical_reason().unwrap_or("Error")),
    );
    body.insert("message".into(), json!(message));
    if !fields.is_empty() {
        body.insert("fields".into(), json!(fields));
    }
    if let Some(provider) = provider {
        body.insert("provider".into(), provider);
    }
    Value::Object(body)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED && self.provider.is_none() {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry_after = match (&self.provider, self.retry_after) {
            (Some(provider), _) => provider
                .retry_after
                .as_deref()
                .and_then(|value| HeaderValue::from_str(value).ok()),
            (None, Some(seconds)) => HeaderValue::from_str(&seconds.to_string()).ok(),
            (None, None) => None,
        };
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// How a unified error becomes an answer:
///
/// | error | status |
/// |---|---|
/// | `InvalidInput` | 400, `fields: [field]` |
/// | `Validation` | 422, `fields`: missing and unsupported |
/// | provider 401 | 401 (the provider refused the account's credentials) |
/// | provider 403 | 403 (the credentials lack a permission) |
/// | provider 404 | 404 |
/// | provider 400, 409 or 422 | 422 (the provider refused the data) |
/// | provider 429 | 429, `Retry-After` passed through |
/// | any other provider status | 502 |
/// | `Unsupported` (a lookup the provider does not serve) | 400 |
/// | `Transport`, `Mapping` | 502 |
///
/// Provider errors carry `provider: {name, status, body, retry_after}`.
impl From<UnifiedError> for ApiError {
    fn from(error: UnifiedError) -> Self {
        let message = error.to_string();
        match error {
            UnifiedError::InvalidInput { field, .. } => {
                let mut api = ApiError::new(StatusCode::BAD_REQUEST, message);
                api.fields.push(field);
                api
            }
            UnifiedError::Validation {
                missing,
                unsupported,
                ..
            } => {
                let mut api = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message);
                api.fields = missing.into_iter().chain(unsupported).collect();
                api
            }
            UnifiedError::Provider {
                provider,
                status,
                body,
                rate_limit,
            } => {
                let code = match status {
                    401 => StatusCode::UNAUTHORIZED,
                    403 => StatusCode::FORBIDDEN,
                    404 => StatusCode::NOT_FOUND,
                    400 | 409 | 422 => StatusCode::UNPROCESSABLE_ENTITY,
                    429 => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::BAD_GATEWAY,
                };
                let retry_after = rate_limit
                    .iter()
                    .find(|(name, _)| name == "retry-after")
                    .map(|(_, value)| value.trim().to_owned());
                let seconds = retry_after.as_deref().and_then(retry_after_seconds);
                let body = serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body));
                let mut api = ApiError::new(code, message);
                api.provider = Some(Box::new(ProviderAnswer {
                    json: json!({
                        "name": provider.key(),
                        "status": status,
                        "body": body,
                        "retry_after": seconds,
                    }),
                    retry_after,
                }));
                api
            }
            UnifiedError::Unsupported { what, .. } => {
                let mut api = ApiError::new(StatusCode::BAD_REQUEST, message);
                api.fields.push(what.to_owned());
                api
            }
            UnifiedError::Transport { .. } | UnifiedError::Mapping(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, message)
            }
            UnifiedError::Internal { message } => ApiError::internal("unified layer", message),
        }
    }
}

/// `Retry-After` as whole seconds from now (a number, or an HTTP date).
fn retry_after_seconds(value: &str) -> Option<u64> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .map_or(0, |wait| wait.as_secs()),
    )
}
