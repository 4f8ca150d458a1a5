//! Copper's entry in the conformance suite. Shapes: Copper's developer API
//! reference (https://developer.copper.com/opportunities/list-opportunities-search.html
//! and its siblings), as kept in `tests/fixtures/responses/copper/`.
//! Paging: `page_number`/`page_size` in the search body, a bare array, the
//! total in `X-PW-TOTAL`; a short page is the last.

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered};
use unified_crm::providers::copper::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Copper;

const LOOKUPS: [&str; 3] = ["/custom_field_definitions", "/pipelines", USERS_PATH];
const USERS_PATH: &str = "/users/search";
/// Copper's largest search page, which the glue asks for.
const USERS_PAGE_SIZE: usize = 200;

/// `POST /users/search` pages: page 1 is `users_page1.json` filled up to a
/// full page with numbered copies, page 2 (`users_page2.json`) is short.
fn users_page(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    match body["page_number"].as_u64() {
        Some(1) => {
            let base = fixture("copper", "users_page1.json")
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut page = base.clone();
            page.extend(numbered(&base, USERS_PAGE_SIZE - base.len(), |user, n| {
                user["id"] = json!(5_000_000 + n)
            }));
            json_response(200, &json!(page))
        }
        Some(2) => json_response(200, &fixture("copper", "users_page2.json")),
        _ => json_response(200, &json!([])),
    }
}

impl Conformance for Copper {
    const PROVIDER: Provider = Provider::Copper;

    fn credentials() -> Credentials {
        Credentials::Copper(AccountCredentials {
            access_token: "tok".into(),
            user_email: "me@example.com".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        for (name, value) in [
            ("x-pw-accesstoken", "tok"),
            ("x-pw-useremail", "me@example.com"),
            ("x-pw-application", "developer_api"),
        ] {
            if header(request, name) != Some(value) {
                return Err(format!("{name} is {:?}", header(request, name)));
            }
        }
        Ok(())
    }

    async fn mount_context(server: &MockServer) {
        for (at, file) in [
            ("/custom_field_definitions", "custom_field_definitions.json"),
            ("/pipelines", "pipelines.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture("copper", file)))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("POST", "/opportunities/search".into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json", "list_page3.json"] {
            base.extend(
                fixture("copper", page)
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        numbered(&base, 8, |record, n| record["id"] = json!(3_000_000 + n))
    }

    fn record_id(record: &Value) -> String {
        record["id"].to_string()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let number = |name: &str, default: u64| body[name].as_u64().unwrap_or(default) as usize;
        let page = number("page_number", 1).max(1);
        let size = number("page_size", 20).max(1);
        let start = ((page - 1) * size).min(records.len());
        let end = (start + size).min(records.len());
        json_response(200, &json!(records[start..end]))
            .insert_header("X-PW-TOTAL", records.len().to_string())
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(200, &json!([])).insert_header("X-PW-TOTAL", "50")
    }

    fn record_path(id: &str) -> String {
        format!("/opportunities/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["status"] = json!("On Hold");
        "on hold".into()
    }

    fn custom_field() -> (String, Value) {
        ("A Text Field".into(), json!("Text"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/opportunities".into())
    }

    fn create_body() -> Value {
        json!({
            "name": "25 Office Chairs",
            "contact": [{"id": "27140359"}],
            "amount": 75000.0,
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(200, &fixture("copper", "opportunity.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "name": "25 Office Chairs",
            "primary_contact_id": 27140359,
            "monetary_value": 75000.0,
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PUT", format!("/opportunities/{id}"))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn expected_amount_update() -> Value {
        json!({"monetary_value": 1234.5})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/opportunities/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        json_response(200, &fixture("copper", "delete.json"))
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("copper", "error_429.json")).insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        LOOKUPS.contains(&request.url.path())
    }

    async fn mount_users(server: &MockServer) {
        Mock::given(method("POST"))
            .and(path(USERS_PATH))
            .respond_with(users_page)
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        // The lookup's first page holds 100 of page 1's 200 users.
        Some((
            "137658".into(),
            Some("John Doe".into()),
            Some("johndoe@copper.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some((
            "987793".into(),
            "Contract Sent".into(),
            Some("213214".into()),
        ))
    }

    fn filter_ids() -> (String, String) {
        ("137658".into(), "9607580".into())
    }

    /// Lists are already oldest created first.
    fn default_order() -> Option<&'static str> {
        Some("sort_by=created_at")
    }
}

conformance_tests!(Copper);
