//! What the unified client traces: provider, operation, status and
//! attempt, never credentials. Its own test binary: `tracing` caches
//! per-callsite interest process-wide, so a test without a subscriber
//! running beside this one could hide its events.

use crm_runtime::RetryPolicy;
use serde_json::json;
use std::time::Duration;
use unified_crm::{Credentials, IntegratedAccount, RequestOptions, UnifiedClient};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLOSE_CUSTOM_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/close/custom_fields.json");
const CLOSE_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/close/opportunity.json");
const OPP: &str = "oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU";
const OPP_PATH: &str = "/opportunity/oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU/";
const SECRET: &str = "s3cret-api-key-7f1c";

fn json_body(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

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
        Uuid::from_u128(7),
        Credentials::Close(unified_crm::providers::close::AccountCredentials {
            api_key: SECRET.into(),
        }),
    )
    .with_base_url(server.uri());
    (server, account)
}

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

/// A writer that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn traces_carry_provider_operation_and_status_but_no_credentials() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, account) = close_server().await;
    first_then(
        &server,
        "GET",
        OPP_PATH,
        ResponseTemplate::new(503),
        json_body(200, CLOSE_OPPORTUNITY),
    )
    .await;
    let client = UnifiedClient::new().with_retry_policy(fast());
    client
        .get(&account, OPP, &RequestOptions::default())
        .await
        .unwrap();
    client
        .create(
            &account,
            json!({"account": {"id": "l"}, "owner": {"id": "u"}}),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    // A value that does not fit its type: the warning names provider,
    // record and field, never the value.
    let mut odd: serde_json::Value = serde_json::from_str(CLOSE_OPPORTUNITY).unwrap();
    odd["value"] = json!("a-very-odd-amount");
    odd["id"] = json!("oppo_odd");
    Mock::given(method("GET"))
        .and(path("/opportunity/oppo_odd/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&odd))
        .mount(&server)
        .await;
    let read = client
        .get(&account, "oppo_odd", &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(read["amount"], serde_json::Value::Null);

    let logs = String::from_utf8_lossy(&captured.0.lock().map(|b| b.clone()).unwrap_or_default())
        .into_owned();
    assert!(logs.contains("provider=close"), "{logs}");
    assert!(logs.contains("operation=\"get\""), "{logs}");
    assert!(
        logs.contains("status=503") && logs.contains("status=200"),
        "{logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    assert!(
        logs.contains("WARN")
            && logs.contains("record=oppo_odd")
            && logs.contains("field=\"value\""),
        "{logs}"
    );
    assert!(
        !logs.contains("a-very-odd-amount"),
        "a value reached the logs: {logs}"
    );
    assert!(
        !logs.contains(SECRET) && !logs.contains("Basic "),
        "a credential reached the logs: {logs}"
    );
}
