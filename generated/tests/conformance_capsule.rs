//! Capsule's entry in the conformance suite. Shapes: Capsule's API v2
//! reference (https://developer.capsulecrm.com/v2/operations/Opportunity and
//! its model pages), as kept in `tests/fixtures/responses/capsule/` (see its
//! `SOURCE.md`). Paging: `page` (from 1) and `perPage` (up to 100, 50 by
//! default); the body has no paging data, and only a `Link: <...>;
//! rel="next"` header says another page follows
//! (https://developer.capsulecrm.com/v2/overview/reading-from-the-api).

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::capsule::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Capsule;

const DEFINITIONS_PATH: &str = "/opportunities/fields/definitions";
const MILESTONES_PATH: &str = "/milestones";
const USERS_PATH: &str = "/users";
/// The fixture milestone that is complete at 25%: neither won nor lost.
const ON_HOLD: i64 = 105;
/// Capsule's default and largest `perPage`.
const DEFAULT_PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 100;

impl Conformance for Capsule {
    const PROVIDER: Provider = Provider::Capsule;

    fn credentials() -> Credentials {
        Credentials::Capsule(AccountCredentials {
            access_token: "tok".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        match header(request, "authorization") {
            Some("Bearer tok") => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        for (at, file) in [
            (DEFINITIONS_PATH, "custom_fields.json"),
            (MILESTONES_PATH, "stages.json"),
        ] {
            // One page each: no `Link: rel="next"`.
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture("capsule", file)))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", "/opportunities".into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("capsule", page)["opportunities"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        base.retain(|record| record["milestone"]["id"] != json!(ON_HOLD));
        numbered(&base, 8, |record, n| record["id"] = json!(20_000 + n))
    }

    fn record_id(record: &Value) -> String {
        record["id"].to_string()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let number = |name: &str, default: usize| {
            query(request, name)
                .and_then(|value| value.parse::<usize>().ok())
                .unwrap_or(default)
        };
        let page = number("page", 1).max(1);
        let per_page = number("perPage", DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE);
        let start = ((page - 1) * per_page).min(records.len());
        let end = (start + per_page).min(records.len());
        let response = json_response(200, &json!({"opportunities": records[start..end]}));
        if end < records.len() {
            // Capsule's form: the same URL with the next page number.
            let next = format!(
                "<{}://{}/opportunities?page={}&perPage={per_page}>; rel=\"next\"",
                request.url.scheme(),
                request.url.authority(),
                page + 1
            );
            response.insert_header("link", next.as_str())
        } else {
            response
        }
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(200, &json!({"opportunities": []})).insert_header(
            "link",
            "<https://api.capsulecrm.com/api/v2/opportunities?page=2&perPage=3>; rel=\"next\"",
        )
    }

    fn record_path(id: &str) -> String {
        format!("/opportunities/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"opportunity": record}))
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["milestone"] = json!({"id": ON_HOLD, "name": "On Hold"});
        "on hold".into()
    }

    fn custom_field() -> (String, Value) {
        // Capsule sends number fields as strings (`"25"`).
        ("Seats".into(), json!(25))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/opportunities".into())
    }

    fn create_body() -> Value {
        json!({
            "name": "Acme - support desk pilot",
            "description": "Pilot for the support desk",
            "account": {"id": "581"},
            "stage": {"id": "101"},
            "amount": 500.0,
            "currency": "GBP",
            "close_date": "2024-04-08T00:00:00Z",
            "custom_fields": {"Lead Source": "Website"},
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(201, &fixture("capsule", "create_response.json")).insert_header(
            "location",
            "https://api.capsulecrm.com/api/v2/opportunities/11901",
        )
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        // The request body `SOURCE.md` records for `create_response.json`.
        let expected = json!({"opportunity": {
            "name": "Acme - support desk pilot",
            "description": "Pilot for the support desk",
            "party": {"id": 581},
            "milestone": {"id": 101},
            "value": {"amount": 500.0, "currency": "GBP"},
            "expectedCloseOn": "2024-04-08",
            "fields": [{"definition": {"id": 3}, "value": "Website"}],
        }});
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PUT", format!("/opportunities/{id}"))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"opportunity": record}))
    }

    fn expected_amount_update() -> Value {
        // `value` without `currency`: the currency stays as it was.
        json!({"opportunity": {"value": {"amount": 1234.5}}})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/opportunities/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn rate_limited() -> ResponseTemplate {
        // Capsule's 429 as documented (body and `X-RateLimit-*`). Capsule
        // sends no `Retry-After`; the suite's one is added to check that a
        // wait given is passed on.
        json_response(429, &fixture("capsule", "error_429.json"))
            .insert_header("x-ratelimit-limit", "4000")
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-reset", "1709550000")
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        [DEFINITIONS_PATH, MILESTONES_PATH, USERS_PATH].contains(&request.url.path())
    }

    /// `GET /users?embed=party`: every user in one answer (no paging).
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(USERS_PATH))
            .and(query_param("embed", "party"))
            .respond_with(json_response(200, &fixture("capsule", "users.json")))
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "7".into(),
            Some("Maria Jensen".into()),
            Some("maria.jensen@example.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some(("103".into(), "Won".into(), Some("10".into())))
    }

    fn filter_ids() -> (String, String) {
        ("6".into(), "581".into())
    }
}

conformance_tests!(Capsule);
