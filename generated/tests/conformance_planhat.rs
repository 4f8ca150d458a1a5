//! Planhat's entry in the conformance suite. Shapes: Planhat's developer
//! pages (https://www.planhat.com/developers/api/opportunity and
//! siblings) and the Airbyte `source-planhat` connector, as kept in
//! `tests/fixtures/responses/planhat/` (see its `SOURCE.md`). Paging:
//! `limit`/`offset`, a bare array with no total and no next link; a page
//! shorter than `limit` is the last.

#![cfg(feature = "planhat")]

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::planhat::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Planhat;

const CUSTOM_FIELDS_PATH: &str = "/customfields";
const USERS_PATH: &str = "/users";
/// The users page the glue asks for.
const USERS_PAGE: usize = 500;

/// `GET /users` pages: offset 0 is `users_page1.json` filled up to a full
/// page with numbered copies, offset 500 is `users_page2.json` (short).
fn users_page(request: &Request) -> ResponseTemplate {
    match query(request, "offset").as_deref() {
        Some("0") | None => {
            let base = fixture("planhat", "users_page1.json")
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut page = base.clone();
            page.extend(numbered(&base, USERS_PAGE - base.len(), |user, n| {
                user["_id"] = json!(format!("6000000000000000000{n:05x}"))
            }));
            json_response(200, &json!(page))
        }
        Some("500") => json_response(200, &fixture("planhat", "users_page2.json")),
        Some(_) => json_response(200, &json!([])),
    }
}

impl Conformance for Planhat {
    const PROVIDER: Provider = Provider::Planhat;

    fn credentials() -> Credentials {
        Credentials::Planhat(AccountCredentials {
            api_token: "tok".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        match header(request, "authorization") {
            Some("Bearer tok") => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(CUSTOM_FIELDS_PATH))
            .respond_with(json_response(
                200,
                &fixture("planhat", "custom_fields.json"),
            ))
            .mount(server)
            .await;
    }

    fn list_route() -> (&'static str, String) {
        ("GET", "/opportunities".into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("planhat", page)
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        numbered(&base, 8, |record, n| {
            record["_id"] = json!(format!("65a1f0c2e4b0a1b2c3d4{n:04x}"));
            // The fixtures' third record is `onHold`, an unusual status the
            // suite sets itself where it wants one.
            if record["status"] == json!("onHold") {
                record["status"] = json!("active");
            }
        })
    }

    fn record_id(record: &Value) -> String {
        record["_id"].as_str().unwrap_or_default().to_owned()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let number = |name: &str, default: usize| {
            query(request, name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let offset = number("offset", 0).min(records.len());
        let limit = number("limit", 100);
        let end = (offset + limit).min(records.len());
        json_response(200, &json!(records[offset..end]))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        // A bare array cannot claim anything: an empty page is Planhat's
        // whole answer past the end.
        json_response(200, &json!([]))
    }

    fn record_path(id: &str) -> String {
        format!("/opportunities/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["status"] = json!("onHold");
        "onhold".into()
    }

    fn custom_field() -> (String, Value) {
        ("Lead source".into(), json!("Webinar"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/opportunities".into())
    }

    fn create_body() -> Value {
        json!({
            "name": "New logo - Globex",
            "account": {"id": "61006bc89a3e0b702ed8ea4c"},
            "owner": {"id": "5f7e1a07dcd4235b544f3ce5"},
            "amount": 12000.0,
            "currency": "EUR",
            "stage": {"name": "Discovery"},
            "status": "open",
            "close_date": "2024-06-07T00:00:00Z",
            "custom_fields": {"Lead source": "Webinar"},
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(200, &fixture("planhat", "create_response.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "companyId": "61006bc89a3e0b702ed8ea4c",
            "title": "New logo - Globex",
            "ownerId": "5f7e1a07dcd4235b544f3ce5",
            "arr": 12000.0,
            "_currency": "EUR",
            "salesStage": "Discovery",
            "status": "active",
            "closeDate": "2024-06-07T00:00:00.000Z",
            "custom": {"Lead source": "Webinar"},
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
        json!({"arr": 1234.5})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/opportunities/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        // Planhat answers 200 with an acknowledgement whose members are
        // not documented; an empty object claims none.
        json_response(200, &json!({}))
    }

    fn rate_limited() -> ResponseTemplate {
        // Planhat documents no Retry-After; the suite checks one is passed
        // on when it comes.
        json_response(429, &fixture("planhat", "error_429.json")).insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        [CUSTOM_FIELDS_PATH, USERS_PATH].contains(&request.url.path())
    }

    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(USERS_PATH))
            .respond_with(users_page)
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        // The lookup's first page holds 100 of page 1's 500 users.
        Some((
            "5f7e1a07dcd4235b544f3ce4".into(),
            Some("Alex Berg".into()),
            Some("alex.berg@example.com".into()),
        ))
    }

    fn filter_ids() -> (String, String) {
        (
            "5f7e1a07dcd4235b544f3ce4".into(),
            "61006bc89a3e0b702ed8ea49".into(),
        )
    }
}

conformance_tests!(Planhat);
