//! Zendesk Sell's entry in the conformance suite. Shapes: Zendesk's Sell
//! Core API reference (https://developer.zendesk.com/api-reference/sales-crm/resources/deals/
//! and siblings) and the official `zendesk/basecrm-*` clients, as kept in
//! `tests/fixtures/responses/zendesk_sell/` (see its `SOURCE.md`). Paging:
//! `page` (from 1) and `per_page`, items as `items[].data`;
//! `meta.links.next_page` only while more pages follow, so the last page
//! is short or has no `next_page`.

#![cfg(feature = "zendesk_sell")]

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::zendesk_sell::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct ZendeskSell;

const LOOKUPS: [&str; 4] = ["/stages", "/pipelines", "/deal/custom_fields", "/users"];
/// The spec's constant `User-Agent`: Sell refuses requests without one.
const USER_AGENT: &str = "unified-crm/0.1";
/// An `in_progress` stage of the fixtures' default pipeline.
const OPEN_STAGE: i64 = 3002;
const UNQUALIFIED_STAGE: i64 = 3007;

fn link(page: usize, per_page: usize) -> String {
    format!("https://api.getbase.com/v2/deals?page={page}&per_page={per_page}")
}

/// A collection page: items wrapped `{data, meta}`, links to the pages
/// around it.
fn collection(records: &[Value], page: usize, per_page: usize, more: bool) -> Value {
    let mut links = json!({"self": link(page, per_page), "first_page": link(1, per_page)});
    if page > 1 {
        links["prev_page"] = json!(link(page - 1, per_page));
    }
    if more {
        links["next_page"] = json!(link(page + 1, per_page));
    }
    json!({
        "items": records
            .iter()
            .map(|record| json!({"data": record, "meta": {"version": 3, "type": "deal"}}))
            .collect::<Vec<_>>(),
        "meta": {"type": "collection", "count": records.len(), "links": links},
    })
}

impl Conformance for ZendeskSell {
    const PROVIDER: Provider = Provider::ZendeskSell;

    fn credentials() -> Credentials {
        Credentials::ZendeskSell(AccountCredentials {
            access_token: "tok".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        if header(request, "authorization") != Some("Bearer tok") {
            return Err(format!(
                "Authorization is {:?}",
                header(request, "authorization")
            ));
        }
        if header(request, "user-agent") != Some(USER_AGENT) {
            return Err(format!("User-Agent is {:?}", header(request, "user-agent")));
        }
        Ok(())
    }

    async fn mount_context(server: &MockServer) {
        for (at, file) in [
            ("/stages", "stages.json"),
            ("/pipelines", "pipelines.json"),
            ("/deal/custom_fields", "custom_fields.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture("zendesk_sell", file)))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", "/deals".into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("zendesk_sell", page)["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| item["data"].clone()),
            );
        }
        numbered(&base, 8, |record, n| {
            record["id"] = json!(5000 + n);
            // Deal 103 is unqualified, outside the unified statuses; the
            // suite sets an unusual status itself where it wants one.
            if record["stage_id"] == json!(UNQUALIFIED_STAGE) {
                record["stage_id"] = json!(OPEN_STAGE);
            }
        })
    }

    fn record_id(record: &Value) -> String {
        record["id"].to_string()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let number = |name: &str, default: usize| {
            query(request, name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let page = number("page", 1).max(1);
        let per_page = number("per_page", 25).max(1);
        let start = ((page - 1) * per_page).min(records.len());
        let end = (start + per_page).min(records.len());
        json_response(
            200,
            &collection(&records[start..end], page, per_page, end < records.len()),
        )
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(200, &collection(&[], 1, 3, true))
    }

    fn record_path(id: &str) -> String {
        format!("/deals/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"data": record, "meta": {"type": "deal"}}))
    }

    fn set_unknown_status(record: &mut Value) -> String {
        // A deal's status is its stage's category.
        record["stage_id"] = json!(UNQUALIFIED_STAGE);
        "unqualified".into()
    }

    fn custom_field() -> (String, Value) {
        ("Competitor".into(), json!("Globex"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/deals".into())
    }

    fn create_body() -> Value {
        json!({
            "name": "Expansion - Acme Berlin office",
            "contact": [{"id": "501"}],
            "amount": 2500.5,
            "currency": "EUR",
            "owner": {"id": "2"},
            "stage": {"id": "3001"},
            "close_date": "2024-06-07T00:00:00Z",
            "tags": [{"name": "expansion"}],
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(200, &fixture("zendesk_sell", "create_response.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        // Wrapped in `data`; ids and the value as JSON numbers.
        let expected = json!({
            "data": {
                "name": "Expansion - Acme Berlin office",
                "contact_id": 501,
                "value": 2500.5,
                "currency": "EUR",
                "owner_id": 2,
                "stage_id": 3001,
                "estimated_close_date": "2024-06-07",
                "tags": ["expansion"],
            }
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PUT", format!("/deals/{id}"))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"data": record, "meta": {"type": "deal"}}))
    }

    fn expected_amount_update() -> Value {
        json!({"data": {"value": 1234.5}})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/deals/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("zendesk_sell", "error_429.json"))
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        LOOKUPS.contains(&request.url.path())
    }

    /// `GET /users`: page 1 announces `next_page`, page 2 is the last.
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/users"))
            .respond_with(|request: &Request| {
                let file = match query(request, "page").as_deref() {
                    Some("2") => "users_page2.json",
                    _ => "users_page1.json",
                };
                json_response(200, &fixture("zendesk_sell", file))
            })
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "12".into(),
            Some("Tomás Ortega".into()),
            Some("tomas@example.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some(("3005".into(), "Won".into(), Some("1".into())))
    }

    fn filter_ids() -> (String, String) {
        ("2".into(), "500".into())
    }
}

conformance_tests!(ZendeskSell);
