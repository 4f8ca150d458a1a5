//! What a client accepts from a server: how large a response body it reads,
//! and which redirects it follows.
//!
//! - Bodies are read chunk by chunk and refused past a limit
//!   ([`DEFAULT_MAX_RESPONSE_BODY`], or the one set for the current task
//!   with [`with_max_response_body`]); a `Content-Length` over the limit is
//!   refused before anything is read.
//! - Redirects are followed only within the origin (scheme, host and port)
//!   of the request, at most [`MAX_REDIRECTS`] times
//!   ([`same_origin_redirects`]): credentials are headers of the request,
//!   and a redirect to another origin would carry them there.

use bytes::{Bytes, BytesMut};
use reqwest::redirect::{Attempt, Policy};
use std::future::Future;

/// The largest response body read when no other limit is set: 16 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// Same-origin redirects followed in a row, at most.
pub const MAX_REDIRECTS: usize = 5;

tokio::task_local! {
    static MAX_RESPONSE_BODY: usize;
}

/// Runs `future` with a response-body limit of `bytes` for every request
/// it sends (in this task; a task it spawns needs its own scope).
pub async fn with_max_response_body<F: Future>(bytes: usize, future: F) -> F::Output {
    MAX_RESPONSE_BODY.scope(bytes, future).await
}

/// The response-body limit in force for the current task.
pub fn max_response_body() -> usize {
    MAX_RESPONSE_BODY
        .try_with(|bytes| *bytes)
        .unwrap_or(DEFAULT_MAX_RESPONSE_BODY)
}

pub(crate) enum ReadError {
    /// The body is larger than `limit` (known from `Content-Length`, or
    /// found while reading).
    TooLarge {
        limit: usize,
    },
    Transport(reqwest::Error),
}

/// Reads a response body, refusing it once it exceeds `limit` bytes. At
/// most `limit` bytes are ever held; the rest is not read (the connection
/// is dropped, not reused).
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, ReadError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge { limit });
    }
    // Trust `Content-Length` for the first allocation only up to 1 MiB.
    let capacity = announced.map_or(0, |length| length.min(1024 * 1024) as usize);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A redirect that was not followed because it leaves the request's origin.
#[derive(Debug, thiserror::Error)]
#[error(
    "the server redirected to another origin, {target}; not followed, so the request's credentials were not sent there"
)]
pub struct RedirectRefused {
    /// `scheme://host[:port]` of the target (never its path or query).
    pub target: String,
}

/// More than [`MAX_REDIRECTS`] redirects in a row.
#[derive(Debug, thiserror::Error)]
#[error("more than {MAX_REDIRECTS} redirects in a row; not followed further")]
pub struct TooManyRedirects;

/// The redirect policy of [`crate::http_client`]: follow a redirect only to
/// the origin of the original request (so HTTPS never downgrades and the
/// credentials stay with the host they were meant for), at most
/// [`MAX_REDIRECTS`] times; anything else is an error naming the target
/// origin.
pub fn same_origin_redirects() -> Policy {
    Policy::custom(decide)
}

fn decide(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    if attempt.url().origin() != first.origin() {
        let target = attempt.url().origin().ascii_serialization();
        return attempt.error(RedirectRefused { target });
    }
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(TooManyRedirects);
    }
    attempt.follow()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientCore, Error, Idempotency};
    use reqwest::Method;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-connection-at-a-time HTTP server on 127.0.0.1 answering
    /// `head` then `body_chunks` chunks of 64 KiB (chunked encoding when
    /// `head` has no `Content-Length`); counts the body bytes it managed to
    /// write and the requests it received.
    async fn server(
        head: String,
        body_chunks: usize,
    ) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let written = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (w, r) = (written.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                r.fetch_add(1, Ordering::SeqCst);
                if socket.write_all(head.as_bytes()).await.is_err() {
                    continue;
                }
                let chunked = !head.to_ascii_lowercase().contains("content-length");
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..body_chunks {
                    let sent = if chunked {
                        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                        framed.extend_from_slice(&chunk);
                        framed.extend_from_slice(b"\r\n");
                        socket.write_all(&framed).await
                    } else {
                        socket.write_all(&chunk).await
                    };
                    if sent.is_err() {
                        break;
                    }
                    w.fetch_add(chunk.len(), Ordering::SeqCst);
                }
                if chunked {
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                }
            }
        });
        (address, written, requests)
    }

    async fn get(base: &str) -> Result<crate::RawResponse, Error<()>> {
        let core = ClientCore::new(base);
        let request = core.request(Method::GET, "/thing", &[]);
        core.send::<()>(request, Idempotency::NotIdempotent, "get_thing")
            .await
    }

    #[tokio::test]
    async fn the_limit_is_per_task_with_a_default() {
        assert_eq!(max_response_body(), DEFAULT_MAX_RESPONSE_BODY);
        let inside = with_max_response_body(10, async { max_response_body() }).await;
        assert_eq!(inside, 10);
        assert_eq!(max_response_body(), DEFAULT_MAX_RESPONSE_BODY);
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_limit_is_refused_without_reading_it_all() {
        // 64 MiB offered, 1 MiB accepted.
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        let (base, written, _) = server(head.into(), 1024).await;
        let error = with_max_response_body(1024 * 1024, get(&base))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::BodyTooLarge {
                    status: 200,
                    limit: 1_048_576
                }
            ),
            "{error:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // The reader stopped: at most the limit plus what socket buffers hold.
        assert!(written.load(Ordering::SeqCst) < 16 * 1024 * 1024);
    }

    #[tokio::test]
    async fn a_content_length_over_the_limit_is_refused_before_reading() {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n";
        let (base, _, _) = server(head.into(), 4).await;
        let error = with_max_response_body(1024, get(&base)).await.unwrap_err();
        assert!(
            matches!(error, Error::BodyTooLarge { limit: 1024, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("1024-byte limit"), "{error}");
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        let (base, _, _) = server(head.into(), 4).await;
        let response = with_max_response_body(256 * 1024, get(&base))
            .await
            .unwrap();
        assert_eq!(response.body.len(), 256 * 1024);
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed() {
        let (elsewhere, _, reached) =
            server("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into(), 0).await;
        // Another port of the same address is another origin; so is
        // `localhost` for 127.0.0.1.
        for target in [
            elsewhere.clone(),
            elsewhere.replace("127.0.0.1", "localhost"),
        ] {
            let head = format!(
                "HTTP/1.1 302 Found\r\nlocation: {target}/stolen\r\ncontent-length: 0\r\n\r\n"
            );
            let (base, _, _) = server(head, 0).await;
            let error = get(&base).await.unwrap_err();
            let Error::Transport(transport) = &error else {
                panic!("{error:?}");
            };
            assert!(transport.is_redirect(), "{error:?}");
            let source = std::error::Error::source(transport).unwrap().to_string();
            let origin = target.trim_end_matches('/');
            assert!(source.contains(origin), "{source}");
        }
        assert_eq!(reached.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_redirect_within_the_origin_is_followed_a_few_times() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hops = Arc::new(AtomicUsize::new(0));
        let counter = hops.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    loop {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                        let hop = counter.fetch_add(1, Ordering::SeqCst);
                        let answer = if hop < 2 {
                            format!(
                                "HTTP/1.1 301 Moved\r\nlocation: /hop{hop}\r\ncontent-length: 0\r\n\r\n"
                            )
                        } else {
                            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_owned()
                        };
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let response = get(&base).await.unwrap();
        assert_eq!(response.body.as_ref(), b"ok");
        assert_eq!(hops.load(Ordering::SeqCst), 3);
    }
}
