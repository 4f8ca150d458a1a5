use crate::retry::{Idempotency, RetryPolicy, idempotency_key, is_retryable_status};
use crate::{Auth, Credential, DecodeError, Error, ErrorResponse};
use bytes::Bytes;
use http::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// What every generated client holds: where the API lives, the HTTP
/// client, and the credentials.
#[derive(Clone, Debug)]
pub struct ClientCore {
    base_url: String,
    http: reqwest::Client,
    auth: Auth,
    /// Query parameters added to every request, untouched.
    extra_query: Vec<(String, String)>,
    /// Fields merged into every JSON object body, untouched.
    extra_body: serde_json::Map<String, serde_json::Value>,
    retry: RetryPolicy,
}

/// Timeouts of the HTTP client `ClientCore::new` builds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An HTTP client with the given timeouts (connect, whole request), that
/// follows redirects only within the request's origin
/// ([`crate::limits::same_origin_redirects`]).
pub fn http_client(connect: Duration, request: Duration) -> reqwest::Client {
    http_client_builder(connect, request)
        .build()
        .unwrap_or_default()
}

/// The builder behind [`http_client`], for callers that add to it (a DNS
/// resolver, a proxy...): timeouts and the same-origin redirect policy.
pub fn http_client_builder(connect: Duration, request: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .redirect(crate::limits::same_origin_redirects())
}

impl ClientCore {
    /// A client for the API at `base_url` (any trailing `/` is ignored),
    /// with the default timeouts and retry policy.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_http_client(
            base_url,
            http_client(DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT),
        )
    }

    /// Like [`ClientCore::new`], with a `reqwest::Client` configured by the
    /// caller (timeouts, proxies, connection pool).
    pub fn with_http_client(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        ClientCore {
            base_url,
            http,
            auth: Auth::default(),
            extra_query: Vec::new(),
            extra_body: serde_json::Map::new(),
            retry: RetryPolicy::default(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sets the credential for a security scheme of the spec.
    pub fn set_credential(&mut self, scheme: &'static str, credential: Credential) {
        self.auth.set(scheme, credential);
    }

    pub fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.retry = policy;
    }

    /// Query parameters to add to every request as they are (a caller's
    /// pass-through parameters).
    pub fn set_extra_query(&mut self, pairs: Vec<(String, String)>) {
        self.extra_query = pairs;
    }

    /// Fields to merge, as they are, into every JSON object body (a
    /// caller's pass-through data); they win over the typed body's fields.
    pub fn set_extra_body(&mut self, fields: serde_json::Map<String, serde_json::Value>) {
        self.extra_body = fields;
    }

    /// Starts a request to `path` (which begins with `/`), with the
    /// credentials of the schemes the operation accepts.
    pub fn request(&self, method: Method, path: &str, schemes: &[&str]) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if !self.extra_query.is_empty() {
            request = request.query(&self.extra_query);
        }
        self.auth.apply(request, schemes)
    }

    /// Adds a JSON body, with the extra body fields merged in.
    pub fn json_body<T: serde::Serialize + ?Sized>(
        &self,
        request: RequestBuilder,
        body: &T,
    ) -> Result<RequestBuilder, crate::encode::EncodeError> {
        if self.extra_body.is_empty() {
            return Ok(request.json(body));
        }
        let invalid = |reason: String| crate::encode::EncodeError::Invalid {
            name: "body".into(),
            reason,
        };
        let mut value = serde_json::to_value(body).map_err(|error| invalid(error.to_string()))?;
        let serde_json::Value::Object(object) = &mut value else {
            return Err(invalid(
                "extra fields can only be merged into an object body".into(),
            ));
        };
        for (key, extra) in &self.extra_body {
            object.insert(key.clone(), extra.clone());
        }
        Ok(request.json(&value))
    }

    /// Sends a request and reads the whole response (up to
    /// [`crate::limits::max_response_body`] bytes), retrying as the
    /// policy allows when the operation is safe to send again: on 429, 502,
    /// 503, 504, connection failures and timeouts, honouring `Retry-After`.
    /// Only the operation, method, status and attempt are traced; never
    /// headers or bodies.
    pub async fn send<E>(
        &self,
        request: RequestBuilder,
        idempotency: Idempotency,
        operation: &'static str,
    ) -> Result<RawResponse, Error<E>> {
        let request = match idempotency {
            Idempotency::WithKey(header) => request.header(header, idempotency_key()),
            Idempotency::Idempotent | Idempotency::NotIdempotent => request,
        };
        let retryable = idempotency != Idempotency::NotIdempotent;
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            // A body that cannot be cloned (a stream) is sent once.
            let spare = if retryable { request.try_clone() } else { None };
            let this_try = match spare {
                Some(copy) => copy,
                None => return self.send_once(request, operation, attempt).await,
            };
            let outcome = self.send_once::<E>(this_try, operation, attempt).await;
            let wait = match &outcome {
                Ok(response) if is_retryable_status(response.status.as_u16()) => {
                    self.retry
                        .delay(attempt, started.elapsed(), Some(&response.headers))
                }
                Err(Error::Transport(error)) if error.is_connect() || error.is_timeout() => {
                    self.retry.delay(attempt, started.elapsed(), None)
                }
                _ => None,
            };
            match wait {
                Some(wait) => {
                    tracing::debug!(
                        operation,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return outcome,
            }
        }
    }

    async fn send_once<E>(
        &self,
        request: RequestBuilder,
        operation: &'static str,
        attempt: u32,
    ) -> Result<RawResponse, Error<E>> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(operation, attempt, "no response");
                return Err(error.into());
            }
        };
        let status = response.status();
        tracing::debug!(operation, attempt, status = status.as_u16(), "response");
        let headers = response.headers().clone();
        let limit = crate::limits::max_response_body();
        let body = match crate::limits::read_body(response, limit).await {
            Ok(body) => body,
            Err(crate::limits::ReadError::TooLarge { limit }) => {
                tracing::debug!(operation, attempt, limit, "response body over the limit");
                return Err(Error::BodyTooLarge {
                    status: status.as_u16(),
                    limit,
                });
            }
            Err(crate::limits::ReadError::Transport(error)) => return Err(error.into()),
        };
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

/// A response as received, before it is typed.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// The body parsed as JSON of type `T`.
    pub fn json<T: DeserializeOwned, E>(self) -> Result<ResponseValue<T>, Error<E>> {
        match serde_json::from_slice(&self.body) {
            Ok(body) => Ok(self.with_body(body)),
            Err(error) => Err(Error::Decode(Box::new(DecodeError {
                status: self.status.as_u16(),
                body: String::from_utf8_lossy(&self.body).into_owned(),
                headers: self.headers,
                message: error.to_string(),
            }))),
        }
    }

    /// The body as untyped JSON, `null` when there is none (a 204, or a
    /// 200 with an empty body): what the unified layer reads, so one odd
    /// record is decoded, and failed, alone rather than with its page.
    pub fn json_value<E>(self) -> Result<ResponseValue<serde_json::Value>, Error<E>> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(self.with_body(serde_json::Value::Null));
        }
        self.json()
    }

    /// A response documented without a body; whatever came is ignored.
    pub fn empty<E>(self) -> Result<ResponseValue<()>, Error<E>> {
        Ok(self.with_body(()))
    }

    /// The body as text (lossy UTF-8).
    pub fn text<E>(self) -> Result<ResponseValue<String>, Error<E>> {
        let text = String::from_utf8_lossy(&self.body).into_owned();
        Ok(self.with_body(text))
    }

    /// The body as bytes.
    pub fn bytes<E>(self) -> Result<ResponseValue<Bytes>, Error<E>> {
        let body = self.body.clone();
        Ok(self.with_body(body))
    }

    /// An error status. `decode` parses the body as the type the spec
    /// documents for that status; the raw body is kept either way.
    pub fn into_error<E>(self, decode: impl FnOnce(u16, &[u8]) -> Option<E>) -> Error<E> {
        let status = self.status.as_u16();
        Error::Status(Box::new(ErrorResponse {
            status,
            body: decode(status, &self.body),
            raw_body: String::from_utf8_lossy(&self.body).into_owned(),
            headers: self.headers,
        }))
    }

    fn with_body<T>(&self, body: T) -> ResponseValue<T> {
        ResponseValue {
            status: self.status.as_u16(),
            headers: self.headers.clone(),
            body,
            raw: self.body.clone(),
        }
    }
}

/// A successful response: its typed body, with status and headers (which
/// carry things like total counts and rate-limit budgets).
#[derive(Clone, Debug)]
pub struct ResponseValue<T> {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: T,
    /// The body exactly as received (shared, not copied), for callers that
    /// must pass it on untouched.
    pub raw: Bytes,
}

impl<T> ResponseValue<T> {
    pub fn into_body(self) -> T {
        self.body
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ResponseValue<U> {
        ResponseValue {
            status: self.status,
            headers: self.headers,
            body: f(self.body),
            raw: self.raw,
        }
    }
}

impl<T> std::ops::Deref for ResponseValue<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.body
    }
}
