//! Security and operations, end to end on real sockets: the outbound
//! allow-list, redirects, the provider body cap, rate limits and stream
//! caps, idempotency keys, account updates, token revocation and key
//! rotation. The server runs in process on 127.0.0.1:0; providers are
//! wiremock (or a raw TCP stand-in where a body must be endless).

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::crypto::{Cipher, new_token, token_hash};
use server::db::Db;
use server::limits::Rate;
use server::{AppState, Config, serve};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Tests of this file run one at a time (see `_serial`).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CLOSE_CUSTOM_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/close/custom_fields.json");
const CLOSE_STATUSES: &str = include_str!("../../tests/fixtures/responses/close/statuses.json");
const CLOSE_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/close/opportunity.json");
const CLOSE_PAGE: &str = include_str!("../../tests/fixtures/responses/close/list_page3.json");
const CLOSE_ID: &str = "oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU";
const CLOSE_PATH: &str = "/opportunity/oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU/";
const COPPER_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/copper/custom_field_definitions.json");
const COPPER_PIPELINES: &str = include_str!("../../tests/fixtures/responses/copper/pipelines.json");
const COPPER_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/copper/opportunity.json");

const CLOSE_KEY: &str = "close-key-do-not-echo";
const COPPER_TOKEN: &str = "copper-token-do-not-echo";
const COPPER_EMAIL: &str = "me@example.com";
/// `close-key-do-not-echo:` in base64, as HTTP Basic sends it.
const CLOSE_BASIC: &str = "Basic Y2xvc2Uta2V5LWRvLW5vdC1lY2hvOg==";

// ---------------------------------------------------------------- harness

struct Server {
    base: String,
    db: Db,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// A server on an in-memory database that allows 127.0.0.1, with
    /// `change` applied to its configuration.
    async fn start(change: impl FnOnce(&mut Config)) -> Server {
        let mut config = Config::allowing(&["127.0.0.1"]).unwrap();
        change(&mut config);
        Server::on(
            Db::open_in_memory().unwrap(),
            Cipher::from_key(&[9; 32]),
            config,
        )
        .await
    }

    async fn on(db: Db, cipher: Cipher, config: Config) -> Server {
        let state = AppState::new(db.clone(), cipher, config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Arc::new(state), async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            db,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops accepting, finishes the requests in flight.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    async fn token(&self, tenant: &str) -> String {
        let token = new_token().unwrap();
        self.db
            .create_token(tenant.into(), token_hash(&token))
            .await
            .unwrap();
        token
    }

    fn request(
        &self,
        verb: Method,
        at: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(verb, format!("{}{at}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
    }

    async fn call(
        &self,
        verb: Method,
        at: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, body) =
            read(self.request(verb, at, token, body).send().await.unwrap()).await;
        (status, body)
    }

    async fn account(&self, token: &str, body: Value) -> String {
        let (status, created) = self
            .call(Method::POST, "/integrated-accounts", token, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }
}

/// A connection of its own to the server's SQLite file, for what the API
/// cannot do (rows as older servers wrote them, tampering).
fn sqlite(database: &std::path::Path) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(database).unwrap();
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    connection
}

async fn read(response: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, headers, body)
}

fn json_answer(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

async fn on(server: &MockServer, verb: &str, at: &str, answer: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// Close with its custom fields and one opportunity.
async fn close() -> MockServer {
    let server = MockServer::start().await;
    on(
        &server,
        "GET",
        "/custom_field/opportunity/",
        json_answer(200, CLOSE_CUSTOM_FIELDS),
    )
    .await;
    on(
        &server,
        "GET",
        "/status/opportunity/",
        json_answer(200, CLOSE_STATUSES),
    )
    .await;
    on(
        &server,
        "GET",
        CLOSE_PATH,
        json_answer(200, CLOSE_OPPORTUNITY),
    )
    .await;
    server
}

fn close_account(base_url: &str) -> Value {
    json!({"provider": "close", "credentials": {"api_key": CLOSE_KEY}, "base_url": base_url})
}

fn copper_account(base_url: &str) -> Value {
    json!({
        "provider": "copper",
        "credentials": {"access_token": COPPER_TOKEN, "user_email": COPPER_EMAIL},
        "base_url": base_url,
    })
}

fn opportunity(id: &str, account: &str) -> String {
    format!("/unified/crm/opportunities/{id}?integrated_account_id={account}")
}

fn opportunities(account: &str, extra: &str) -> String {
    format!("/unified/crm/opportunities?integrated_account_id={account}{extra}")
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

// ------------------------------------------------------- outbound allow-list

#[tokio::test]
async fn base_urls_outside_the_allow_list_are_400s_naming_base_url() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_| {}).await;
    let token = server.token("acme").await;
    let cases = [
        // Loopback other than the allowed 127.0.0.1.
        ("http://localhost:8080", "not one of close's API hosts"),
        ("http://127.0.0.2:8080", "not one of close's API hosts"),
        ("http://[::1]:8080", "not one of close's API hosts"),
        (
            "https://[::ffff:127.0.0.1]/",
            "not one of close's API hosts",
        ),
        // Private ranges.
        ("https://10.0.0.5/api/v1", "not one of close's API hosts"),
        ("https://172.16.4.2/api/v1", "not one of close's API hosts"),
        (
            "https://192.168.1.10/api/v1",
            "not one of close's API hosts",
        ),
        ("https://[fd00::1]/api/v1", "not one of close's API hosts"),
        // Link-local: cloud metadata.
        (
            "http://169.254.169.254/latest/meta-data",
            "not one of close's API hosts",
        ),
        ("https://[fe80::1]/", "not one of close's API hosts"),
        // Another public host, or a look-alike.
        (
            "https://api.close.com.evil.example/api/v1",
            "not one of close's API hosts",
        ),
        (
            "https://api.copper.com/developer_api/v1",
            "not one of close's API hosts",
        ),
        // Plain http, another port, a query, a fragment, user info.
        ("http://api.close.com/api/v1", "https"),
        ("https://api.close.com:8443/api/v1", "default https port"),
        ("https://api.close.com/api/v1?x=1#", "query"),
        ("http://127.0.0.1:9/api?x=1", "query"),
        ("https://api.close.com/api/v1#x", "fragment"),
        ("https://evil@api.close.com/api/v1", "user info"),
        ("gopher://127.0.0.1:70/", "https"),
    ];
    for (base_url, why) in cases {
        let (status, body) = server
            .call(
                Method::POST,
                "/integrated-accounts",
                &token,
                Some(close_account(base_url)),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{base_url}: {body}");
        assert_eq!(body["fields"], json!(["base_url"]), "{base_url}: {body}");
        assert!(message(&body).contains(why), "{base_url}: {body}");
    }
    // Nothing was stored.
    let (_, list) = server
        .call(Method::GET, "/integrated-accounts", &token, None)
        .await;
    assert_eq!(list["result_count"], json!(0));

    // The provider's public host passes, normalised.
    let (status, created) = server
        .call(
            Method::POST,
            "/integrated-accounts",
            &token,
            Some(close_account("HTTPS://API.Close.com:443/api/v1/")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["base_url"], json!("https://api.close.com/api/v1"));
}

#[tokio::test]
async fn without_allow_host_even_the_local_mock_is_refused() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let provider = close().await;
    let strict = Server::start(|config| config.allow_hosts.clear()).await;
    let token = strict.token("acme").await;
    let (status, body) = strict
        .call(
            Method::POST,
            "/integrated-accounts",
            &token,
            Some(close_account(&provider.uri())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("--allow-host"), "{body}");

    // An account stored while 127.0.0.1 was allowed is checked again when
    // used: with the allowance gone, the provider is never called.
    let allowing = Server::start(|_| {}).await;
    let token = allowing.token("acme").await;
    let account = allowing
        .account(&token, close_account(&provider.uri()))
        .await;
    let db = allowing.db.clone();
    allowing.stop().await;
    let strict = Server::on(
        db,
        Cipher::from_key(&[9; 32]),
        Config {
            allow_hosts: Vec::new(),
            ..Config::default()
        },
    )
    .await;
    let (status, body) = strict
        .call(Method::GET, &opportunity(CLOSE_ID, &account), &token, None)
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["fields"], json!(["base_url"]));
    assert!(message(&body).contains("outbound policy"), "{body}");
    assert!(provider.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn a_provider_redirect_to_another_host_carries_no_credential() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    // The other host: it records whatever reaches it.
    let elsewhere = MockServer::start().await;
    on(&elsewhere, "GET", "/stolen", json_answer(200, "[]")).await;
    let other = elsewhere.uri().replace("127.0.0.1", "localhost");

    // Copper (X-PW-AccessToken, X-PW-UserEmail) and Close (Authorization)
    // both answer with a redirect there.
    let copper = MockServer::start().await;
    let close = MockServer::start().await;
    for (provider, at) in [
        (&copper, "/custom_field_definitions"),
        (&close, "/custom_field/opportunity/"),
    ] {
        on(
            provider,
            "GET",
            at,
            ResponseTemplate::new(302).insert_header("location", format!("{other}/stolen")),
        )
        .await;
    }
    // Even with the other host allowed, the redirect is not followed.
    let server = Server::start(|config| {
        config.allow_hosts.push("localhost".parse().unwrap());
    })
    .await;
    let token = server.token("acme").await;
    let copper_account = server.account(&token, copper_account(&copper.uri())).await;
    let close_account = server.account(&token, close_account(&close.uri())).await;

    for (account, name, id) in [
        (&copper_account, "copper", "2827699"),
        (&close_account, "close", CLOSE_ID),
    ] {
        let (status, body) = server
            .call(Method::GET, &opportunity(id, account), &token, None)
            .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        let text = message(&body);
        assert!(text.starts_with(&format!("{name}:")), "{body}");
        assert!(text.contains(&other), "names the target: {body}");
        assert!(text.contains("not followed"), "{body}");
        assert!(!body.to_string().contains(COPPER_TOKEN));
        assert!(!body.to_string().contains(CLOSE_KEY));
    }
    // The providers got the credentials; the other host got nothing.
    let to_copper = copper.received_requests().await.unwrap();
    assert_eq!(to_copper[0].headers["x-pw-accesstoken"], COPPER_TOKEN);
    let to_close = close.received_requests().await.unwrap();
    assert_eq!(to_close[0].headers["authorization"], CLOSE_BASIC);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- body cap

/// A provider whose every answer is a 200 with an endless chunked body (or
/// a `Content-Length` of 1 GiB): it counts the bytes it managed to send.
async fn endless_provider(content_length: bool) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 8192];
                if socket.read(&mut buffer).await.is_err() {
                    return;
                }
                let head = if content_length {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                };
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                // 256 MiB at most, so the test ends whatever happens.
                for _ in 0..4096 {
                    let frame = if content_length { &chunk } else { &framed };
                    if socket.write_all(frame).await.is_err() {
                        return;
                    }
                    counter.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (base, sent)
}

/// Resident memory of this process, in bytes (Linux), if known.
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test]
async fn a_provider_body_over_the_cap_is_a_502_and_memory_stays_flat() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    const CAP: usize = 1024 * 1024;
    let server = Server::start(|config| config.max_provider_body = CAP).await;
    let token = server.token("acme").await;
    for content_length in [false, true] {
        let (provider, sent) = endless_provider(content_length).await;
        let account = server.account(&token, close_account(&provider)).await;
        let before = resident_bytes();
        let started = std::time::Instant::now();
        let (status, body) = server
            .call(Method::GET, &opportunity(CLOSE_ID, &account), &token, None)
            .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        let text = message(&body);
        assert!(text.starts_with("close:"), "{body}");
        assert!(
            text.contains(&format!("larger than {CAP} bytes")),
            "says so: {body}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The server stopped reading: what was sent is the cap plus what
        // socket buffers hold, far from the 256 MiB offered.
        let sent = sent.load(Ordering::SeqCst);
        assert!(sent < 48 * 1024 * 1024, "{sent} bytes were sent");
        if let (Some(before), Some(after)) = (before, resident_bytes()) {
            let grown = after.saturating_sub(before);
            assert!(grown < 64 * 1024 * 1024, "memory grew by {grown} bytes");
        }
    }
}

// ---------------------------------------------------------------- limits

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_from_the_server_itself() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|config| {
        config.tenant_rate_limit = Rate::new(8, Duration::from_secs(60));
        config.account_rate_limit = Rate::new(3, Duration::from_secs(60));
    })
    .await;
    let token = server.token("acme").await;
    let provider = close().await;
    let first = server.account(&token, close_account(&provider.uri())).await; // 1
    let second = server.account(&token, close_account(&provider.uri())).await; // 2

    for _ in 0..3 {
        let (status, body) = server
            .call(Method::GET, &opportunity(CLOSE_ID, &first), &token, None)
            .await; // 3, 4, 5
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let response = server
        .request(Method::GET, &opportunity(CLOSE_ID, &first), &token, None)
        .send()
        .await
        .unwrap(); // 6
    let (status, headers, body) = read(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(body.get("provider").is_none(), "not the provider's: {body}");
    assert_eq!(body["limit"]["source"], json!("server"));
    assert_eq!(body["limit"]["scope"], json!("account"));
    assert!(message(&body).contains("not the provider's"), "{body}");
    let provider_calls = provider.received_requests().await.unwrap().len();

    // The other account has its own budget, within the tenant's.
    for _ in 0..2 {
        let (status, _) = server
            .call(Method::GET, &opportunity(CLOSE_ID, &second), &token, None)
            .await; // 7, 8
        assert_eq!(status, StatusCode::OK);
    }
    let response = server
        .request(Method::GET, "/integrated-accounts", &token, None)
        .send()
        .await
        .unwrap(); // 9
    let (status, headers, body) = read(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["limit"]["scope"], json!("tenant"));
    assert_eq!(body["limit"]["limit"], json!(8));

    // Another tenant is not affected; the refused requests reached no
    // provider (the second account fetched its custom fields and
    // statuses, then two records).
    let other = server.token("globex").await;
    let (status, _) = server
        .call(Method::GET, "/integrated-accounts", &other, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        provider.received_requests().await.unwrap().len(),
        provider_calls + 4
    );
}

#[tokio::test]
async fn concurrent_streams_per_tenant_are_capped() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|config| config.max_streams_per_tenant = 1).await;
    let token = server.token("acme").await;
    let provider = MockServer::start().await;
    on(
        &provider,
        "GET",
        "/custom_field/opportunity/",
        json_answer(200, CLOSE_CUSTOM_FIELDS),
    )
    .await;
    on(
        &provider,
        "GET",
        "/status/opportunity/",
        json_answer(200, CLOSE_STATUSES),
    )
    .await;
    on(
        &provider,
        "GET",
        "/opportunity/",
        json_answer(200, CLOSE_PAGE).set_delay(Duration::from_millis(1500)),
    )
    .await;
    let account = server.account(&token, close_account(&provider.uri())).await;
    let at = opportunities(&account, "&truto_response_format=stream");

    let first = tokio::spawn(server.request(Method::GET, &at, &token, None).send());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = server
        .request(Method::GET, &at, &token, None)
        .send()
        .await
        .unwrap();
    let (status, headers, body) = read(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["limit"]["scope"], json!("streams"));

    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(!first.text().await.unwrap().is_empty());
    // The slot is free again once the stream ended.
    let again = server
        .request(Method::GET, &at, &token, None)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    again.text().await.unwrap();
}

// ---------------------------------------------------------------- idempotency

fn create_body(amount: f64) -> Value {
    json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}, "amount": amount})
}

fn posts(requests: &[wiremock::Request]) -> usize {
    requests
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .count()
}

#[tokio::test]
async fn an_idempotent_create_replayed_after_a_timeout_reaches_the_provider_once() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_| {}).await;
    let token = server.token("acme").await;
    let provider = close().await;
    on(
        &provider,
        "POST",
        "/opportunity/",
        json_answer(200, CLOSE_OPPORTUNITY).set_delay(Duration::from_millis(1200)),
    )
    .await;
    let account = server.account(&token, close_account(&provider.uri())).await;
    let at = opportunities(&account, "");
    let create = |key: &str, amount: f64| {
        server
            .request(Method::POST, &at, &token, Some(create_body(amount)))
            .header("Idempotency-Key", key)
    };

    // The caller gives up before the provider answers...
    let timed_out = create("create-1", 500.0)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    // ...and retries at once: the first is still running.
    let (status, headers, body) = read(create("create-1", 500.0).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(headers.contains_key("retry-after"));

    // Later, the retry gets the first request's answer.
    let mut replay = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answer = read(create("create-1", 500.0).send().await.unwrap()).await;
        if answer.0 != StatusCode::CONFLICT {
            replay = Some(answer);
            break;
        }
    }
    let (status, headers, body) = replay.expect("the first request finishes");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["id"], json!(CLOSE_ID));
    // Once more, for good measure.
    let (status, _, again) = read(create("create-1", 500.0).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, body);
    assert_eq!(posts(&provider.received_requests().await.unwrap()), 1);

    // The same key with another request is a 422; a bad key is a 400.
    let (status, _, body) = read(create("create-1", 600.0).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"], json!(["Idempotency-Key"]));
    for bad in ["", "has space", &"k".repeat(256)] {
        let (status, _, body) = read(create(bad, 500.0).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(body["fields"], json!(["Idempotency-Key"]));
    }
    // A method the route does not have is the router's 405, key or not.
    let response = server
        .request(Method::PATCH, &at, &token, Some(create_body(500.0)))
        .header("Idempotency-Key", "create-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Keys belong to their tenant.
    let other = server.token("globex").await;
    let (status, body) = server
        .call(
            Method::POST,
            "/integrated-accounts",
            &other,
            Some(close_account(&provider.uri())),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let other_at = opportunities(body["id"].as_str().unwrap(), "");
    let response = server
        .request(Method::POST, &other_at, &other, Some(create_body(500.0)))
        .header("Idempotency-Key", "create-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("idempotent-replayed").is_none());
    assert_eq!(posts(&provider.received_requests().await.unwrap()), 2);
    // Without a key, every request runs.
    for _ in 0..2 {
        let (status, _) = server
            .call(Method::POST, &at, &token, Some(create_body(500.0)))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(posts(&provider.received_requests().await.unwrap()), 4);
}

#[tokio::test]
async fn idempotent_answers_survive_a_restart_and_rate_limited_ones_are_not_kept() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("unified.sqlite");
    let provider = close().await;
    on(&provider, "DELETE", CLOSE_PATH, json_answer(200, "{}")).await;
    on(
        &provider,
        "POST",
        "/opportunity/",
        json_answer(200, CLOSE_OPPORTUNITY),
    )
    .await;

    let first = Server::on(
        Db::open(&database).unwrap(),
        Cipher::from_key(&[3; 32]),
        Config::allowing(&["127.0.0.1"]).unwrap(),
    )
    .await;
    let token = first.token("acme").await;
    let account = first.account(&token, close_account(&provider.uri())).await;
    let delete = |server: &Server| {
        server
            .request(
                Method::DELETE,
                &opportunity(CLOSE_ID, &account),
                &token,
                None,
            )
            .header("Idempotency-Key", "delete-1")
    };
    let (status, headers, body) = read(delete(&first).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get("idempotent-replayed").is_none());
    first.stop().await;

    let second = Server::on(
        Db::open(&database).unwrap(),
        Cipher::from_key(&[3; 32]),
        Config::allowing(&["127.0.0.1"]).unwrap(),
    )
    .await;
    let (status, headers, replayed) = read(delete(&second).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(replayed, body);
    let deletes = provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.method.as_str() == "DELETE")
        .count();
    assert_eq!(deletes, 1);
    second.stop().await;

    // A write refused by this server's rate limit frees its key: the retry
    // runs.
    let limited = Server::on(
        Db::open(&database).unwrap(),
        Cipher::from_key(&[3; 32]),
        Config {
            account_rate_limit: Rate::new(1, Duration::from_millis(400)),
            ..Config::allowing(&["127.0.0.1"]).unwrap()
        },
    )
    .await;
    let create = || {
        limited
            .request(
                Method::POST,
                &opportunities(&account, ""),
                &token,
                Some(create_body(1.0)),
            )
            .header("Idempotency-Key", "create-after-429")
    };
    let (status, _) = limited
        .call(Method::GET, &opportunity(CLOSE_ID, &account), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = read(create().send().await.unwrap()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, headers, body) = read(create().send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(headers.get("idempotent-replayed").is_none());
}

// ---------------------------------------------------------------- accounts

#[tokio::test]
async fn an_account_update_changes_credentials_and_base_url_and_drops_the_cache() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_| {}).await;
    let token = server.token("acme").await;
    let before = close().await;
    let after = close().await;
    let account = server.account(&token, close_account(&before.uri())).await;
    let (status, _) = server
        .call(Method::GET, &opportunity(CLOSE_ID, &account), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, updated) = server
        .call(
            Method::PATCH,
            &format!("/integrated-accounts/{account}"),
            &token,
            Some(json!({"base_url": after.uri(), "credentials": {"api_key": "new-key"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["base_url"], json!(after.uri()));
    assert!(updated["updated_at"].is_string());
    assert!(!updated.to_string().contains("new-key"));

    let (status, _) = server
        .call(Method::GET, &opportunity(CLOSE_ID, &account), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The new host, with the new key, and the custom fields fetched again
    // (the cached context was dropped).
    let requests = after.received_requests().await.unwrap();
    let paths: Vec<&str> = requests.iter().map(|request| request.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/custom_field/opportunity/",
            "/status/opportunity/",
            CLOSE_PATH
        ]
    );
    assert_eq!(
        requests[2].headers["authorization"],
        "Basic bmV3LWtleTo=" // new-key:
    );
    // Custom fields, statuses, the opportunity.
    assert_eq!(before.received_requests().await.unwrap().len(), 3);

    // Checked like a create.
    for (change, field) in [
        (json!({"base_url": "http://169.254.169.254/"}), "base_url"),
        (json!({"base_url": "https://api.close.com/?x"}), "base_url"),
        (
            json!({"credentials": {"api_key": "bad\nkey"}}),
            "credentials.api_key",
        ),
        (json!({"credentials": {}}), "credentials.api_key"),
        (
            json!({"credentials": {"api_key": "k", "user_email": "e"}}),
            "credentials.user_email",
        ),
        (json!({"provider": "copper"}), "provider"),
        (json!({"settings": {"x": 1}}), "settings.x"),
        (json!({"id": "x"}), "id"),
    ] {
        let (status, body) = server
            .call(
                Method::PATCH,
                &format!("/integrated-accounts/{account}"),
                &token,
                Some(change.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}: {body}");
        assert_eq!(body["fields"], json!([field]), "{change}: {body}");
    }
    // `null` goes back to the public host; settings `{}` is fine.
    let (status, updated) = server
        .call(
            Method::PATCH,
            &format!("/integrated-accounts/{account}"),
            &token,
            Some(json!({"base_url": null, "settings": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["base_url"], Value::Null);

    // Another tenant's account is a 404.
    let other = server.token("globex").await;
    let (status, _) = server
        .call(
            Method::PATCH,
            &format!("/integrated-accounts/{account}"),
            &other,
            Some(json!({"base_url": null})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_revoked_token_is_a_401_at_once() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let server = Server::start(|_| {}).await;
    let keep = server.token("acme").await;
    let revoke = server.token("acme").await;
    let (status, _) = server
        .call(Method::GET, "/integrated-accounts", &revoke, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let tokens = server.db.tokens(Some("acme".into())).await.unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|token| token.revoked_at.is_none()));
    let revoked = server.db.revoke_token(tokens[1].id).await.unwrap().unwrap();
    assert_eq!(revoked.tenant, "acme");

    let response = server
        .request(Method::GET, "/integrated-accounts", &revoke, None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, _) = server
        .call(Method::GET, "/integrated-accounts", &keep, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let tokens = server.db.tokens(None).await.unwrap();
    assert!(tokens[1].revoked_at.is_some());
    assert!(tokens[0].revoked_at.is_none());
}

// ---------------------------------------------------------------- keys

#[tokio::test]
async fn keys_rotate_re_encrypts_every_credential_while_reads_go_on() {
    // One at a time: one test measures the process's memory.
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("unified.sqlite");
    assert!(
        std::env::var(server::crypto::KEY_ENV).is_err(),
        "this test rotates the key file; unset UNIFIED_SECRET_KEY"
    );
    let server = Server::on(
        Db::open(&database).unwrap(),
        Cipher::load(&database).unwrap(),
        Config {
            account_rate_limit: None,
            tenant_rate_limit: None,
            ..Config::allowing(&["127.0.0.1"]).unwrap()
        },
    )
    .await;
    let token = server.token("acme").await;
    let close_provider = close().await;
    let copper = MockServer::start().await;
    for (at, body) in [
        ("/custom_field_definitions", COPPER_FIELDS),
        ("/pipelines", COPPER_PIPELINES),
        ("/opportunities/2827699", COPPER_OPPORTUNITY),
    ] {
        on(&copper, "GET", at, json_answer(200, body)).await;
    }
    let mut accounts = Vec::new();
    for index in 0..20 {
        let (body, id) = if index % 2 == 0 {
            (close_account(&close_provider.uri()), CLOSE_ID)
        } else {
            (copper_account(&copper.uri()), "2827699")
        };
        accounts.push((server.account(&token, body).await, id));
    }
    // A credential sealed before key ids existed (associated data: the
    // account id alone) still opens, and is upgraded by the rotation.
    let legacy = uuid::Uuid::new_v4().to_string();
    let old_keys = server::crypto::key_file_keys(&server::crypto::key_file(&database)).unwrap();
    let legacy_blob = Cipher::from_key(&old_keys[0])
        .seal(
            &serde_json::to_vec(&json!({"api_key": CLOSE_KEY})).unwrap(),
            &server::crypto::legacy_aad(&legacy),
        )
        .unwrap()
        .blob;
    sqlite(&database)
        .execute(
            "INSERT INTO integrated_accounts (id, tenant_id, provider, base_url, credentials, created_at)
             SELECT ?1, tenant_id, 'close', ?2, ?3, '2024-01-01T00:00:00.000Z' FROM tokens LIMIT 1",
            rusqlite::params![legacy, close_provider.uri(), legacy_blob],
        )
        .unwrap();
    accounts.push((legacy.clone(), CLOSE_ID));
    let old_id = server::crypto::key_id(&old_keys[0]);

    // Reads go on while `keys rotate` runs beside the server (its own
    // database connection, as the CLI has).
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = tokio::spawn({
        let reading = reading.clone();
        let http = server.http.clone();
        let base = server.base.clone();
        let token = token.clone();
        let accounts = accounts.clone();
        async move {
            let mut reads = 0;
            while reading.load(Ordering::SeqCst) || reads < accounts.len() {
                let (account, id) = &accounts[reads % accounts.len()];
                let response = http
                    .get(format!("{base}{}", opportunity(id, account)))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK, "read {reads}");
                reads += 1;
            }
            reads
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let rotation = tokio::spawn({
        let database = database.clone();
        async move {
            server::keys::rotate(
                &Db::open(&database).unwrap(),
                &Cipher::load(&database).unwrap(),
            )
            .await
        }
    })
    .await
    .unwrap()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    reading.store(false, Ordering::SeqCst);
    let reads = reader.await.unwrap();
    assert!(reads >= accounts.len());

    assert!(rotation.generated);
    assert_eq!(rotation.resealed, accounts.len());
    assert_eq!(rotation.removed, std::slice::from_ref(&old_id));
    assert_ne!(rotation.key_id, old_id);
    let usage = server.db.key_usage().await.unwrap();
    assert_eq!(
        usage,
        [(Some(rotation.key_id.clone()), accounts.len() as i64)]
    );
    let keys = server::crypto::key_file_keys(&server::crypto::key_file(&database)).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(server::crypto::key_id(&keys[0]), rotation.key_id);
    // After the rotation every account still reads (with only the new key
    // in the file, which the server re-read).
    for (account, id) in &accounts {
        let (status, body) = server
            .call(Method::GET, &opportunity(id, account), &token, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A fresh server (the new key only) reads them too.
    let db = server.db.clone();
    server.stop().await;
    let fresh = Server::on(
        db,
        Cipher::load(&database).unwrap(),
        Config::allowing(&["127.0.0.1"]).unwrap(),
    )
    .await;
    let (status, _) = fresh
        .call(Method::GET, &opportunity(CLOSE_ID, &legacy), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A sealed value copied to another row does not open there (the
    // associated data binds account, tenant and provider).
    let (from, _) = accounts[0].clone();
    let (to, _) = accounts[2].clone();
    sqlite(&database)
        .execute(
            "UPDATE integrated_accounts SET credentials =
               (SELECT credentials FROM integrated_accounts WHERE id = ?1) WHERE id = ?2",
            rusqlite::params![from, to],
        )
        .unwrap();
    let (status, body) = fresh
        .call(
            Method::GET,
            &opportunity(CLOSE_ID, &accounts[2].0),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(message(&body), "internal error");
}
