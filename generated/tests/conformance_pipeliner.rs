//! Pipeliner's entry in the conformance suite. Shapes: Pipeliner's REST
//! reference and its Power Automate connector, as kept in
//! `tests/fixtures/responses/pipeliner/` (see its `SOURCE.md`). Paging:
//! `first` and `after` = `page_info.end_cursor` while
//! `page_info.has_next_page` (https://developers.pipelinersales.com/api-docs/core-api-concepts/pagination);
//! the last page still carries an `end_cursor`.

#![cfg(feature = "pipeliner")]

#[path = "conformance/suite.rs"]
mod suite;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::pipeliner::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Pipeliner;

const SPACE: &str = "nv3_PipelinerDev";
/// `Basic base64("token:secret")`: API token as user, API password as password.
const AUTHORIZATION: &str = "Basic dG9rZW46c2VjcmV0";
const USD: &str = "8a1c9f6e-3b2d-4c5e-9f70-1a2b3c4d5e6f";

fn entities(entity: &str) -> String {
    format!("/spaces/{SPACE}/entities/{entity}")
}

/// A cursor in the form Pipeliner's look like: base64 of `["<id>"]`.
fn cursor_of(record: &Value) -> Value {
    json!(STANDARD.encode(json!([record["id"]]).to_string()))
}

fn id_in_cursor(cursor: &str) -> Option<String> {
    let bytes = STANDARD.decode(cursor).ok()?;
    let ids: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    ids.into_iter().next()
}

/// The envelope of a real page (`success`, `total`, `page_info`) with
/// these records.
fn list_page(records: &[Value], total: usize, page_info: Value) -> Value {
    let mut page = fixture("pipeliner", "list_page1.json");
    page["data"] = json!(records);
    page["total"] = json!(total);
    page["page_info"] = page_info;
    page
}

impl Conformance for Pipeliner {
    const PROVIDER: Provider = Provider::Pipeliner;

    fn credentials() -> Credentials {
        Credentials::Pipeliner(AccountCredentials {
            username: "token".into(),
            password: "secret".into(),
            space_id: SPACE.into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        if header(request, "authorization") != Some(AUTHORIZATION) {
            return Err(format!(
                "Authorization is {:?}",
                header(request, "authorization")
            ));
        }
        // The space id is a path segment of every call.
        if !request.url.path().starts_with(&format!("/spaces/{SPACE}/")) {
            return Err(format!(
                "the path {} is not in the space",
                request.url.path()
            ));
        }
        Ok(())
    }

    async fn mount_context(server: &MockServer) {
        for (entity, file) in [
            ("Fields", "custom_fields.json"),
            ("Pipelines", "pipelines.json"),
            ("Steps", "stages.json"),
            ("Currencies", "currencies.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(entities(entity)))
                .respond_with(json_response(200, &fixture("pipeliner", file)))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", entities("Opportunities"))
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("pipeliner", page)["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        numbered(&base, 8, |record, n| {
            record["id"] = json!(format!("00000000-0000-4000-8000-{n:012}"))
        })
    }

    fn record_id(record: &Value) -> String {
        record["id"].as_str().unwrap_or_default().to_owned()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let first = query(request, "first")
            .and_then(|value| value.parse().ok())
            .unwrap_or(30usize);
        let start = match query(request, "after") {
            None => 0,
            Some(cursor) => {
                let Some(position) = id_in_cursor(&cursor)
                    .and_then(|id| records.iter().position(|record| record["id"] == json!(id)))
                else {
                    return json_response(400, &fixture("pipeliner", "error_400_validation.json"));
                };
                position + 1
            }
        };
        let start = start.min(records.len());
        let end = (start + first).min(records.len());
        let page = &records[start..end];
        let page_info = json!({
            "start_cursor": page.first().map(cursor_of),
            "end_cursor": page.last().map(cursor_of),
            "has_previous_page": start > 0,
            "has_next_page": end < records.len(),
        });
        json_response(200, &list_page(page, records.len(), page_info))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        let page_info = json!({
            "start_cursor": null,
            "end_cursor": "WyJ4Il0=",
            "has_previous_page": false,
            "has_next_page": true,
        });
        json_response(200, &list_page(&[], 50, page_info))
    }

    fn record_path(id: &str) -> String {
        format!("{}/{id}", entities("Opportunities"))
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"success": true, "data": record}))
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["status"] = json!(4);
        "4".into()
    }

    fn custom_field() -> (String, Value) {
        ("cf_region".into(), json!("EMEA"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", entities("Opportunities"))
    }

    fn create_body() -> Value {
        json!({
            "name": "Expansion - Acme Berlin office",
            "owner": {"id": "00000000-0000-0000-0000-000000011a7d"},
            "stage": {"id": "5f4ba3a1-7f3d-4c0b-8c54-2a0d3a4cb7e2"},
            "close_date": "2024-06-07T00:00:00Z",
            "amount": 2500.5,
            "account": {"id": "0bc376a4-c579-413a-9221-e86e4a134766"},
            "contact": [{"id": "9e3c6a8e-2c1d-4a55-bb0e-8f0f6d2e4c11"}],
            "custom_fields": {"cf_region": "EMEA", "cf_seats": 40},
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(201, &fixture("pipeliner", "create_response.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "name": "Expansion - Acme Berlin office",
            "owner_id": "00000000-0000-0000-0000-000000011a7d",
            "step_id": "5f4ba3a1-7f3d-4c0b-8c54-2a0d3a4cb7e2",
            "closing_date": "2024-06-07",
            // No currency: the amount is in the space's base currency.
            "value": {"base_value": 2500.5, "currency_id": USD},
            "account_relations": [
                {"account_id": "0bc376a4-c579-413a-9221-e86e4a134766", "is_primary": true}
            ],
            "contact_relations": [
                {"contact_id": "9e3c6a8e-2c1d-4a55-bb0e-8f0f6d2e4c11", "is_primary": true}
            ],
            "cf_region": "EMEA",
            "cf_seats": 40,
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PATCH", Self::record_path(id))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"success": true, "data": record}))
    }

    fn expected_amount_update() -> Value {
        // No currency given: the space's base currency (USD).
        json!({"value": {"base_value": 1234.5, "currency_id": USD}})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", Self::record_path(id))
    }

    fn delete_response() -> ResponseTemplate {
        // `{success, data: <id>}` per Pipeliner's reference.
        json_response(
            200,
            &json!({"success": true, "data": "00000000-0000-4000-8000-000000000000"}),
        )
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("pipeliner", "error_429.json"))
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        ["Fields", "Pipelines", "Steps", "Currencies", "Clients"]
            .iter()
            .any(|entity| request.url.path() == entities(entity))
    }

    /// Two pages of users: the first without `after`, the second after
    /// the first page's `end_cursor`.
    async fn mount_users(server: &MockServer) {
        mount_users_pages(server).await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "00000000-0000-0000-0000-000000011c33".into(),
            Some("Support Desk".into()),
            Some("support@example.com".into()),
        ))
    }

    /// The first step of `stages.json`, in the pipeline of `pipelines.json`.
    fn stage() -> Option<(String, String, Option<String>)> {
        Some((
            "5f4ba3a1-7f3d-4c0b-8c54-2a0d3a4cb7e2".into(),
            "Qualify".into(),
            Some("3c0f8b52-6d7e-4e1a-9b2c-5d6e7f8a9b0c".into()),
        ))
    }

    fn filter_ids() -> (String, String) {
        (
            "00000000-0000-0000-0000-000000011a7d".into(),
            "0bc376a4-c579-413a-9221-e86e4a134766".into(),
        )
    }
}

/// `users_page1.json` for a request without `after`, `users_page2.json`
/// for the first page's `end_cursor`.
async fn mount_users_pages(server: &MockServer) {
    let first = fixture("pipeliner", "users_page1.json");
    let after = first["page_info"]["end_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Mock::given(method("GET"))
        .and(path(entities("Clients")))
        .and(wiremock::matchers::query_param("after", after.as_str()))
        .respond_with(json_response(
            200,
            &fixture("pipeliner", "users_page2.json"),
        ))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(entities("Clients")))
        .respond_with(json_response(200, &first))
        .with_priority(2)
        .mount(server)
        .await;
}

conformance_tests!(Pipeliner);
