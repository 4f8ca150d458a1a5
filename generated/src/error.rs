//! The one error type of the unified API.

use crate::registry::Provider;
use crm_runtime::mapping::MappingError;
use crm_runtime::reexports::http::HeaderMap;

/// Header names of rate-limit information worth passing back.
const RATE_LIMIT_HEADERS: &[&str] = &[
    "retry-after",
    "ratelimit",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

#[derive(Debug, thiserror::Error)]
pub enum UnifiedError {
    /// The caller's input is malformed (a bad id or uuid, an unknown format,
    /// a value of the wrong type). Nothing was sent.
    #[error("invalid `{field}`: {message}")]
    InvalidInput { field: String, message: String },
    /// The write lacks fields the provider requires or sets fields it
    /// cannot store. Nothing was sent.
    #[error("{provider} cannot {operation} this opportunity: {}", describe(.missing, .unsupported))]
    Validation {
        provider: Provider,
        operation: &'static str,
        missing: Vec<String>,
        unsupported: Vec<String>,
    },
    /// The provider answered with an error status.
    #[error("{provider} answered {status}: {}", excerpt(.body))]
    Provider {
        provider: Provider,
        status: u16,
        /// The provider's body, whole.
        body: String,
        /// `Retry-After` and rate-limit headers, as sent.
        rate_limit: Vec<(String, String)>,
    },
    /// The provider could not be reached or answered something unreadable.
    #[error("{provider}: {message}")]
    Transport { provider: Provider, message: String },
    /// A value could not be converted between the unified and the
    /// provider's shape.
    #[error("{0}")]
    Mapping(#[from] MappingError),
    /// The provider cannot serve what was asked (a lookup it has no
    /// endpoint for), as its spec declares. Nothing was sent.
    #[error("{provider} does not serve `{what}`: {reason}")]
    Unsupported {
        provider: Provider,
        what: &'static str,
        reason: &'static str,
    },
    /// A bug of this crate, not of the caller or the provider.
    #[error("internal error: {message}")]
    Internal { message: String },
}

impl UnifiedError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        UnifiedError::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The `Retry-After` the provider sent, if any.
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            UnifiedError::Provider { rate_limit, .. } => rate_limit
                .iter()
                .find(|(name, _)| name == "retry-after")
                .map(|(_, value)| value.as_str()),
            _ => None,
        }
    }

    /// Converts a generated client's error.
    pub(crate) fn from_client<E>(provider: Provider, error: crm_runtime::Error<E>) -> Self {
        match error {
            crm_runtime::Error::Status(response) => UnifiedError::Provider {
                provider,
                status: response.status,
                rate_limit: rate_limit(&response.headers),
                body: response.raw_body,
            },
            crm_runtime::Error::Decode(decode) => UnifiedError::Transport {
                provider,
                message: format!(
                    "answered {} with a body of an unexpected shape ({}): {}",
                    decode.status,
                    decode.message,
                    excerpt(&decode.body)
                ),
            },
            crm_runtime::Error::Transport(error) => {
                let kind = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "could not connect"
                } else {
                    "the request failed"
                };
                // The causes say what happened; the URL was removed from
                // the error (it can carry query credentials).
                let mut message = format!("{kind}: {error}");
                let mut cause = std::error::Error::source(&error);
                while let Some(inner) = cause {
                    message.push_str(&format!(": {inner}"));
                    cause = inner.source();
                }
                UnifiedError::Transport { provider, message }
            }
            crm_runtime::Error::BodyTooLarge { status, limit } => UnifiedError::Transport {
                provider,
                message: format!(
                    "answered {status} with a body larger than {limit} bytes, the most this client reads; it was not read"
                ),
            },
            crm_runtime::Error::InvalidRequest(message) => {
                UnifiedError::invalid("request", message)
            }
        }
    }
}

/// The rate-limit headers of an answer: the usual names, and any
/// provider's own (`X-HubSpot-RateLimit-Remaining`...), in a stable order.
fn rate_limit(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = RATE_LIMIT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    let mut others: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| {
            name.as_str().contains("ratelimit") && !RATE_LIMIT_HEADERS.contains(&name.as_str())
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    others.sort();
    kept.extend(others);
    kept
}

fn describe(missing: &[String], unsupported: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing required {}", missing.join(", ")));
    }
    if !unsupported.is_empty() {
        parts.push(format!("cannot store {}", unsupported.join(", ")));
    }
    parts.join("; ")
}

fn excerpt(body: &str) -> String {
    const LIMIT: usize = 300;
    match body.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}
