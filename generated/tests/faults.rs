//! Faults over real HTTP: what the caller sees, and how many requests the
//! provider received. Idempotent calls are retried on 429, 502, 503, 504,
//! connection failures and timeouts, honouring `Retry-After`; a create is
//! never sent twice.

use crm_runtime::RetryPolicy;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, RequestOptions, UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLOSE_CUSTOM_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/close/custom_fields.json");
const CLOSE_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/close/opportunity.json");
const CLOSE_PAGE: &str = include_str!("../../tests/fixtures/responses/close/list_page3.json");
const COPPER_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/copper/custom_field_definitions.json");
const COPPER_PIPELINES: &str = include_str!("../../tests/fixtures/responses/copper/pipelines.json");
const COPPER_PAGE: &str = include_str!("../../tests/fixtures/responses/copper/list_page3.json");
const OPP: &str = "oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU";
const OPP_PATH: &str = "/opportunity/oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU/";
const SECRET: &str = "s3cret-api-key-7f1c";

/// Each test's accounts are distinct, so no mapping context is shared.
fn new_id() -> Uuid {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Uuid::from_u128(u128::from(
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    ))
}

fn json_body(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

/// Fast retries, so tests do not wait on backoff.
fn fast() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

async fn close_server() -> (MockServer, IntegratedAccount) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom_field/opportunity/"))
        .respond_with(json_body(200, CLOSE_CUSTOM_FIELDS))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/status/opportunity/"))
        .respond_with(json_body(
            200,
            include_str!("../../tests/fixtures/responses/close/statuses.json"),
        ))
        .mount(&server)
        .await;
    let account = IntegratedAccount::new(
        new_id(),
        Credentials::Close(unified_crm::providers::close::AccountCredentials {
            api_key: SECRET.into(),
        }),
    )
    .with_base_url(server.uri());
    (server, account)
}

async fn copper_server() -> (MockServer, IntegratedAccount) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom_field_definitions"))
        .respond_with(json_body(200, COPPER_FIELDS))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pipelines"))
        .respond_with(json_body(200, COPPER_PIPELINES))
        .mount(&server)
        .await;
    let credentials = Credentials::Copper(unified_crm::providers::copper::AccountCredentials {
        access_token: SECRET.into(),
        user_email: "me@example.com".into(),
    });
    let account = IntegratedAccount::new(new_id(), credentials).with_base_url(server.uri());
    (server, account)
}

/// Answers `first` once, then `then` for every later request.
async fn first_then(
    server: &MockServer,
    verb: &str,
    at: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

async fn count(server: &MockServer, verb: &str, at: &str) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .count()
}

fn provider_status(error: &UnifiedError) -> Option<u16> {
    match error {
        UnifiedError::Provider { status, .. } => Some(*status),
        _ => None,
    }
}

#[tokio::test]
async fn a_create_that_failed_with_503_is_sent_exactly_once() {
    let (server, account) = close_server().await;
    Mock::given(method("POST"))
        .and(path("/opportunity/"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    let body = json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}});
    let error = client
        .create(&account, body, &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(provider_status(&error), Some(503));
    assert_eq!(count(&server, "POST", "/opportunity/").await, 1);

    // Copper too: its create is a POST without an idempotency key.
    let (server, account) = copper_server().await;
    Mock::given(method("POST"))
        .and(path("/opportunities"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let body = json!({"name": "Deal", "contact": [{"id": "1"}]});
    let error = client
        .create(&account, body, &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(provider_status(&error), Some(502));
    assert_eq!(count(&server, "POST", "/opportunities").await, 1);
}

#[tokio::test]
async fn idempotent_operations_are_retried_once_after_a_503() {
    let (server, account) = close_server().await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    let options = RequestOptions::default();

    first_then(
        &server,
        "GET",
        OPP_PATH,
        ResponseTemplate::new(503),
        json_body(200, CLOSE_OPPORTUNITY),
    )
    .await;
    let got = client.get(&account, OPP, &options).await.unwrap();
    assert_eq!(got["id"], OPP);
    assert_eq!(count(&server, "GET", OPP_PATH).await, 2);

    first_then(
        &server,
        "PUT",
        OPP_PATH,
        ResponseTemplate::new(504),
        json_body(200, CLOSE_OPPORTUNITY),
    )
    .await;
    client
        .update(&account, OPP, json!({"amount": 1}), &options)
        .await
        .unwrap();
    assert_eq!(count(&server, "PUT", OPP_PATH).await, 2);

    first_then(
        &server,
        "DELETE",
        OPP_PATH,
        ResponseTemplate::new(502),
        json_body(200, "{}"),
    )
    .await;
    client.delete(&account, OPP, &options).await.unwrap();
    assert_eq!(count(&server, "DELETE", OPP_PATH).await, 2);

    first_then(
        &server,
        "GET",
        "/opportunity/",
        ResponseTemplate::new(429),
        json_body(200, CLOSE_PAGE),
    )
    .await;
    let page = client
        .list(&account, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(page["result_count"], 2);
    assert_eq!(count(&server, "GET", "/opportunity/").await, 2);
}

#[tokio::test]
async fn a_search_marked_idempotent_is_retried_though_it_is_a_post() {
    let (server, account) = copper_server().await;
    first_then(
        &server,
        "POST",
        "/opportunities/search",
        ResponseTemplate::new(503),
        json_body(200, COPPER_PAGE),
    )
    .await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    let page = client
        .list(&account, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(page["result_count"], 1);
    assert_eq!(count(&server, "POST", "/opportunities/search").await, 2);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (server, account) = close_server().await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_string("down"))
        .mount(&server)
        .await;
    let client = UnifiedClient::new().with_retry_policy(RetryPolicy {
        max_attempts: 4,
        ..fast()
    });
    let error = client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(provider_status(&error), Some(503));
    assert_eq!(count(&server, "GET", OPP_PATH).await, 4);

    let client = UnifiedClient::new().with_retry_policy(RetryPolicy::none());
    client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap_err();
    assert_eq!(count(&server, "GET", OPP_PATH).await, 5);
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let (server, account) = close_server().await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    first_then(
        &server,
        "GET",
        OPP_PATH,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        json_body(200, CLOSE_OPPORTUNITY),
    )
    .await;
    let started = Instant::now();
    client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(count(&server, "GET", OPP_PATH).await, 2);

    let (server, account) = close_server().await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    first_then(
        &server,
        "GET",
        OPP_PATH,
        ResponseTemplate::new(503).insert_header("Retry-After", at.as_str()),
        json_body(200, CLOSE_OPPORTUNITY),
    )
    .await;
    let started = Instant::now();
    client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap();
    // The date has a resolution of one second.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(count(&server, "GET", OPP_PATH).await, 2);
}

#[tokio::test]
async fn a_timeout_is_retried_then_reported() {
    let (server, account) = close_server().await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(json_body(200, CLOSE_OPPORTUNITY).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let http = crm_runtime::http_client(Duration::from_secs(2), Duration::from_millis(300));
    let client = UnifiedClient::with_http_client(http).with_retry_policy(RetryPolicy {
        max_attempts: 2,
        ..fast()
    });
    let error = client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, UnifiedError::Transport { .. }), "{error:?}");
    assert!(error.to_string().contains("timed out"), "{error}");
    assert_eq!(count(&server, "GET", OPP_PATH).await, 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let account = IntegratedAccount::new(
        new_id(),
        Credentials::Close(unified_crm::providers::close::AccountCredentials {
            api_key: SECRET.into(),
        }),
    )
    .with_base_url("http://127.0.0.1:9");
    let client = UnifiedClient::new().with_retry_policy(fast());
    let error = client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, UnifiedError::Transport { .. }), "{error:?}");
}

/// Bodies a provider should not send, on a success status.
#[tokio::test]
async fn unreadable_success_bodies_are_errors_with_the_status_and_a_truncated_body() {
    let long_html = format!(
        "<html><body>{}</body></html>",
        "Service unavailable. ".repeat(100)
    );
    let cases = [
        ("invalid JSON", "{\"id\": ".to_owned()),
        ("an HTML page", long_html),
        ("an empty body", String::new()),
        ("a JSON body without a record", "{}".to_owned()),
    ];
    for (what, body) in cases {
        let (server, account) = close_server().await;
        Mock::given(method("GET"))
            .and(path(OPP_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_string(body.clone()))
            .mount(&server)
            .await;
        let error = UnifiedClient::new()
            .get(&account, OPP, &RequestOptions::default())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, UnifiedError::Transport { .. }),
            "{what}: {error:?}"
        );
        assert!(message.contains("200"), "{what}: {message}");
        assert!(
            message.len() < 700,
            "{what}: the body is truncated in the message: {} chars",
            message.len()
        );
        assert_eq!(
            count(&server, "GET", OPP_PATH).await,
            1,
            "{what}: a bad body is not retried"
        );
    }
}

/// A record whose values do not fit their documented types is still
/// returned: the unreadable values are left empty, `remote_data` keeps
/// them as sent.
#[tokio::test]
async fn a_record_with_unreadable_values_keeps_the_rest() {
    let mut wrong_type: Value = serde_json::from_str(CLOSE_OPPORTUNITY).unwrap();
    wrong_type["value"] = json!("a lot");
    let mut missing: Value = serde_json::from_str(CLOSE_OPPORTUNITY).unwrap();
    missing.as_object_mut().unwrap().remove("lead_id");
    let (server, account) = close_server().await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&wrong_type))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&missing))
        .mount(&server)
        .await;
    let client = UnifiedClient::new();
    let record = client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(record["amount"], Value::Null);
    assert_eq!(record["currency"], wrong_type["value_currency"]);
    assert_eq!(record["remote_data"]["value"], json!("a lot"));
    // A required field missing: the record keeps its id and remote_data.
    let record = client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(record["id"], missing["id"]);
    assert_eq!(record["remote_data"], missing);
    assert_eq!(record.get("amount"), None);
}

#[tokio::test]
async fn an_unknown_status_is_kept_lowercased_and_the_page_goes_on() {
    let (server, account) = close_server().await;
    let mut page: Value = serde_json::from_str(CLOSE_PAGE).unwrap();
    page["data"][1]["status_type"] = json!("Archived");
    Mock::given(method("GET"))
        .and(path("/opportunity/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&page))
        .mount(&server)
        .await;
    let list = UnifiedClient::new()
        .list(&account, &ListOptions::default())
        .await
        .unwrap();
    let records = list["result"].as_array().unwrap();
    assert_eq!(records.len(), page["data"].as_array().unwrap().len());
    assert_eq!(records[1]["status"], json!("archived"));
    assert_eq!(records[1]["remote_data"]["status_type"], json!("Archived"));
    assert_eq!(records[0]["id"], page["data"][0]["id"]);
}

#[tokio::test]
async fn rate_limit_headers_come_back_with_the_error() {
    let (server, account) = close_server().await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "120")
                .insert_header("RateLimit", "limit=40, remaining=0, reset=120")
                .insert_header("X-RateLimit-Remaining", "0")
                // A provider's own rate-limit header is kept too.
                .insert_header("X-HubSpot-RateLimit-Daily-Remaining", "0"),
        )
        .mount(&server)
        .await;
    let error = UnifiedClient::new()
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap_err();
    let UnifiedError::Provider { rate_limit, .. } = &error else {
        panic!("expected a provider error, got {error:?}")
    };
    assert_eq!(error.retry_after(), Some("120"));
    assert!(
        rate_limit.contains(&(
            "ratelimit".to_owned(),
            "limit=40, remaining=0, reset=120".to_owned()
        )),
        "{rate_limit:?}"
    );
    assert!(
        rate_limit.contains(&("x-ratelimit-remaining".to_owned(), "0".to_owned())),
        "{rate_limit:?}"
    );
    assert!(
        rate_limit.contains(&(
            "x-hubspot-ratelimit-daily-remaining".to_owned(),
            "0".to_owned()
        )),
        "{rate_limit:?}"
    );
    // Longer than the policy waits: answered at once, not retried.
    assert_eq!(count(&server, "GET", OPP_PATH).await, 1);
}

/// No credential appears in any error, client or account as formatted.
#[tokio::test]
async fn credentials_never_appear_in_debug_or_display() {
    let (server, account) = close_server().await;
    Mock::given(method("GET"))
        .and(path(OPP_PATH))
        .respond_with(json_body(401, "{\"error\": \"Unauthorized\"}"))
        .mount(&server)
        .await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    let mut formatted = vec![
        format!("{account:?}"),
        format!("{client:?}"),
        format!("{:?}", account.credentials),
    ];
    let (_, copper) = copper_server().await;
    formatted.push(format!("{copper:?}"));

    let errors = [
        client
            .get(&account, OPP, &RequestOptions::default())
            .await
            .unwrap_err(),
        client
            .get(&account, "bad/id", &RequestOptions::default())
            .await
            .unwrap_err(),
        client
            .create(&account, json!({"amount": "x"}), &RequestOptions::default())
            .await
            .unwrap_err(),
        client
            .create(&account, json!({"name": "n"}), &RequestOptions::default())
            .await
            .unwrap_err(),
        client
            .create(
                &account,
                json!({"account": {"id": "l"}, "owner": {"id": "u"}, "custom_fields": {"Nope": 1}}),
                &RequestOptions::default(),
            )
            .await
            .unwrap_err(),
        client
            .create(
                &account,
                json!({"account": {"id": "l"}, "owner": {"id": "u"}, "amount": 0.001}),
                &RequestOptions::default(),
            )
            .await
            .unwrap_err(),
        client
            .get(
                &IntegratedAccount {
                    base_url: Some("http://127.0.0.1:9".into()),
                    ..account.clone()
                },
                OPP,
                &RequestOptions::default(),
            )
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        formatted.push(format!("{error:?}"));
        formatted.push(error.to_string());
    }
    // A generated client with every kind of credential set.
    let close =
        unified_crm::providers::close::Client::new(server.uri()).with_basic_auth(SECRET, SECRET);
    formatted.push(format!("{close:?}"));
    let copper_client = unified_crm::providers::copper::Client::new(server.uri())
        .with_access_token(SECRET)
        .with_user_email(SECRET);
    formatted.push(format!("{copper_client:?}"));

    assert!(formatted.len() > 10);
    let kinds: Vec<&str> = errors
        .iter()
        .map(|error| match error {
            UnifiedError::InvalidInput { .. } => "input",
            UnifiedError::Validation { .. } => "validation",
            UnifiedError::Provider { .. } => "provider",
            UnifiedError::Transport { .. } => "transport",
            UnifiedError::Mapping(_) => "mapping",
            UnifiedError::Unsupported { .. } => "unsupported",
            UnifiedError::Internal { .. } => "internal",
        })
        .collect();
    for kind in ["input", "validation", "provider", "transport", "mapping"] {
        assert!(kinds.contains(&kind), "no {kind} error among {kinds:?}");
    }
    for text in &formatted {
        assert!(!text.contains(SECRET), "a credential leaked: {text}");
        assert!(!text.contains("s3cret"), "a credential leaked: {text}");
    }
}
