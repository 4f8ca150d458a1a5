//! Close's entry in the conformance suite. Shapes: Close's API reference
//! (https://developer.close.com/api/resources/opportunities), as kept in
//! `tests/fixtures/responses/close/` (see its `SOURCE.md`). Paging: `_skip`
//! and `_limit` with `has_more` (https://developer.close.com/topics/pagination/).

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, query};
use unified_crm::providers::close::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Close;

const CUSTOM_FIELDS_PATH: &str = "/custom_field/opportunity/";
const STATUSES_PATH: &str = "/status/opportunity/";
const USERS_PATH: &str = "/user/";

fn list_page(records: &[Value], has_more: bool) -> Value {
    // The envelope of a real page (aggregates and all), with these records.
    let mut page = fixture("close", "list_page1.json");
    page["data"] = json!(records);
    page["has_more"] = json!(has_more);
    page
}

impl Conformance for Close {
    const PROVIDER: Provider = Provider::Close;

    fn credentials() -> Credentials {
        Credentials::Close(AccountCredentials {
            api_key: "key".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        // `Basic base64("key:")`: the key as user name, an empty password.
        match header(request, "authorization") {
            Some("Basic a2V5Og==") => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        for (at, file) in [
            (CUSTOM_FIELDS_PATH, "custom_fields.json"),
            (STATUSES_PATH, "statuses.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture("close", file)))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", "/opportunity/".into())
    }

    fn records() -> Vec<Value> {
        let mut records = Vec::new();
        for page in ["list_page1.json", "list_page2.json", "list_page3.json"] {
            records.extend(
                fixture("close", page)["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        records
    }

    fn record_id(record: &Value) -> String {
        record["id"].as_str().unwrap_or_default().to_owned()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let number = |name: &str, default: usize| {
            query(request, name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let skip = number("_skip", 0).min(records.len());
        let limit = number("_limit", 100);
        let end = (skip + limit).min(records.len());
        json_response(200, &list_page(&records[skip..end], end < records.len()))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(200, &list_page(&[], true))
    }

    fn record_path(id: &str) -> String {
        format!("/opportunity/{id}/")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["status_type"] = json!("Archived");
        "archived".into()
    }

    fn custom_field() -> (String, Value) {
        ("Deal Source".into(), json!("Inbound"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/opportunity/".into())
    }

    fn create_body() -> Value {
        json!({
            "account": {"id": "lead_1fmllAOT7Ix8VPLAfqQCF8amqJizBtyUseKgwKqWBdk"},
            "owner": {"id": "user_53DlXD7Glz23VN4eAzuhD5h6YqZ1gD8ZaoWujfx98DW"},
            "amount": 500.0,
            "currency": "USD",
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(200, &fixture("close", "opportunity.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "lead_id": "lead_1fmllAOT7Ix8VPLAfqQCF8amqJizBtyUseKgwKqWBdk",
            "user_id": "user_53DlXD7Glz23VN4eAzuhD5h6YqZ1gD8ZaoWujfx98DW",
            "value": 50000,
            "value_currency": "USD",
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PUT", format!("/opportunity/{id}/"))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn expected_amount_update() -> Value {
        json!({"value": 123450})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/opportunity/{id}/"))
    }

    fn delete_response() -> ResponseTemplate {
        json_response(200, &json!({}))
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("close", "error_429.json")).insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        [CUSTOM_FIELDS_PATH, STATUSES_PATH, USERS_PATH].contains(&request.url.path())
    }

    /// Two pages of `GET /user/` (`users_page1.json` says `has_more`).
    async fn mount_users(server: &MockServer) {
        for (skip, file) in [("0", "users_page1.json"), ("2", "users_page2.json")] {
            Mock::given(method("GET"))
                .and(path(USERS_PATH))
                .and(query_param("_skip", skip))
                .respond_with(json_response(200, &fixture("close", file)))
                .mount(server)
                .await;
        }
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        // On the second page.
        Some((
            "user_afla6or2ORGHcO7cwF4QGo7MRB2Xeb3WpOfDZrFrKoU".into(),
            Some("Sam".into()),
            Some("sam.lee@example.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some((
            "stat_OtBYyFcVubYGf0ohlFvYq7YKvSl9fS0ogDjWzyym7aK".into(),
            "Renewed".into(),
            Some("pipe_q8kqDohSeRlxwkNK2L26Xy".into()),
        ))
    }

    fn filter_ids() -> (String, String) {
        (
            "user_53DlXD7Glz23VN4eAzuhD5h6YqZ1gD8ZaoWujfx98DW".into(),
            "lead_1fmllAOT7Ix8VPLAfqQCF8amqJizBtyUseKgwKqWBdk".into(),
        )
    }

    /// Lists are already oldest created first.
    fn default_order() -> Option<&'static str> {
        Some("sort_by=created_at")
    }
}

conformance_tests!(Close);
