use http::HeaderMap;
use std::fmt;

/// How much of a body an error message quotes. The whole body stays in the
/// error value.
const QUOTED_BODY_CHARS: usize = 300;

/// What a generated operation returns when it does not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error<E> {
    /// The request could not be built from the arguments (for example a
    /// value that has no form in a URL path).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No HTTP response: connection refused, timeout, TLS failure...
    /// The URL is removed from the error: it can carry query credentials.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered with a status the operation does not treat as a
    /// success. (Boxed, like `Decode`, to keep `Result`s small.)
    #[error("{0}")]
    Status(Box<ErrorResponse<E>>),
    /// A success status whose body does not have the documented shape.
    #[error("{0}")]
    Decode(Box<DecodeError>),
    /// The response body is larger than the limit in force
    /// ([`crate::limits::max_response_body`]); it was not read further.
    #[error("the {status} response body is larger than the {limit}-byte limit; it was not read")]
    BodyTooLarge { status: u16, limit: usize },
}

/// A success status whose body does not have the documented shape.
#[derive(Debug, thiserror::Error)]
#[error("could not decode the {status} response ({message}): {}", quote(body))]
pub struct DecodeError {
    pub status: u16,
    pub headers: HeaderMap,
    /// The whole body, as received (lossy UTF-8).
    pub body: String,
    pub message: String,
}

impl<E> Error<E> {
    /// The HTTP status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status(response) => Some(response.status),
            Error::Decode(error) => Some(error.status),
            Error::BodyTooLarge { status, .. } => Some(*status),
            Error::InvalidRequest(_) | Error::Transport(_) => None,
        }
    }

    /// The response headers, if the server answered.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Error::Status(response) => Some(&response.headers),
            Error::Decode(error) => Some(&error.headers),
            Error::InvalidRequest(_) | Error::Transport(_) | Error::BodyTooLarge { .. } => None,
        }
    }
}

impl<E> Error<E> {
    /// The same error without its typed body (the raw body, status and
    /// headers stay): how code generic over many operations holds it.
    pub fn erase(self) -> Error<()> {
        match self {
            Error::InvalidRequest(message) => Error::InvalidRequest(message),
            Error::Transport(error) => Error::Transport(error),
            Error::Decode(error) => Error::Decode(error),
            Error::BodyTooLarge { status, limit } => Error::BodyTooLarge { status, limit },
            Error::Status(response) => Error::Status(Box::new(ErrorResponse {
                status: response.status,
                headers: response.headers,
                body: None,
                raw_body: response.raw_body,
            })),
        }
    }
}

impl<E> From<reqwest::Error> for Error<E> {
    fn from(error: reqwest::Error) -> Self {
        Error::Transport(error.without_url())
    }
}

impl<E> From<crate::encode::EncodeError> for Error<E> {
    fn from(error: crate::encode::EncodeError) -> Self {
        Error::InvalidRequest(error.to_string())
    }
}

/// An error status with everything the server sent.
#[derive(Debug)]
pub struct ErrorResponse<E> {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body parsed as the type the spec documents for this status, when
    /// it parses.
    pub body: Option<E>,
    /// The whole body, as received (lossy UTF-8).
    pub raw_body: String,
}

impl<E> fmt::Display for ErrorResponse<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("");
        write!(f, "the server answered {} {reason}", self.status)?;
        if !self.raw_body.is_empty() {
            write!(f, ": {}", quote(&self.raw_body))?;
        }
        Ok(())
    }
}

fn quote(body: &str) -> String {
    match body.char_indices().nth(QUOTED_BODY_CHARS) {
        Some((end, _)) => format!("{}… ({} bytes in all)", &body[..end], body.len()),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bodies_are_quoted_short_and_kept_whole() {
        let body = "x".repeat(1000);
        let error: Error<()> = Error::Status(Box::new(ErrorResponse {
            status: 500,
            headers: HeaderMap::new(),
            body: None,
            raw_body: body.clone(),
        }));
        let message = error.to_string();
        assert!(message.starts_with("the server answered 500 Internal Server Error: xxx"));
        assert!(message.ends_with("(1000 bytes in all)"));
        let Error::Status(response) = error else {
            unreachable!()
        };
        assert_eq!(response.raw_body, body);
    }
}
