//! Freshsales' entry in the conformance suite. Shapes: the Freshworks CRM
//! API reference (https://developers.freshworks.com/crm/api/), as kept in
//! `tests/fixtures/responses/freshsales/` (see its `SOURCE.md`). Paging:
//! deals are listed through a view, `GET /api/deals/view/{view_id}` with
//! `page` (from 1) and `per_page`, answering `{"deals": [...], "meta":
//! {"total_pages", "total"}}`; a page past the last is `deals: []`
//! (https://developers.freshworks.com/crm/api/#list_all_deals).

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::freshsales::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Freshsales;

/// The "All Deals" view of `filters.json` (listed after "My Deals").
const ALL_DEALS_VIEW: i64 = 70000057384;
/// A stage added to the fixture's stages for the unknown-status test: its
/// `forecast_type` is none of the three the reference shows (`Open`,
/// `Closed Won`, `Closed Lost`), as a value Freshworks could add.
const ODD_STAGE: i64 = 70000239999;

const LOOKUPS: [&str; 5] = [
    "/api/deals/filters",
    "/api/selector/deal_stages",
    "/api/selector/currencies",
    "/api/settings/deals/fields",
    // The users lookup (`GET /api/selector/owners`, one unpaged answer).
    "/api/selector/owners",
];

fn stages() -> Value {
    let mut stages = fixture("freshsales", "stages.json");
    if let Some(list) = stages["deal_stages"].as_array_mut() {
        list.push(json!({
            "partial": true,
            "id": ODD_STAGE,
            "name": "Parked",
            "position": 6,
            "forecast_type": "On Hold",
            "updated_at": "2024-08-06T09:04:58Z",
            "deal_pipeline_id": 70000012001_i64,
            "choice_type": 1,
            "probability": 0
        }));
    }
    stages
}

impl Conformance for Freshsales {
    const PROVIDER: Provider = Provider::Freshsales;

    fn credentials() -> Credentials {
        Credentials::Freshsales(AccountCredentials {
            api_key: "key".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        match header(request, "authorization") {
            Some("Token token=key") => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        for (at, body) in [
            (LOOKUPS[0], fixture("freshsales", "filters.json")),
            (LOOKUPS[1], stages()),
            (LOOKUPS[2], fixture("freshsales", "currencies.json")),
            (LOOKUPS[3], fixture("freshsales", "custom_fields.json")),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &body))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", format!("/api/deals/view/{ALL_DEALS_VIEW}"))
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("freshsales", page)["deals"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        numbered(&base, 8, |record, n| {
            record["id"] = json!(70001300000_i64 + n as i64)
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
        let per_page = number("per_page", 25).clamp(1, 100);
        let start = ((page - 1) * per_page).min(records.len());
        let end = (start + per_page).min(records.len());
        json_response(
            200,
            &json!({
                "deals": records[start..end],
                "meta": {
                    "total_pages": records.len().div_ceil(per_page),
                    "total": records.len(),
                },
            }),
        )
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(
            200,
            &json!({"deals": [], "meta": {"total_pages": 5, "total": 50}}),
        )
    }

    fn record_path(id: &str) -> String {
        format!("/api/deals/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        // The envelope of a real answer (side-loaded contacts and all).
        let mut body = fixture("freshsales", "opportunity.json");
        body["deal"] = record.clone();
        json_response(200, &body)
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["deal_stage_id"] = json!(ODD_STAGE);
        "on hold".into()
    }

    fn custom_field() -> (String, Value) {
        ("cf_region".into(), json!("EMEA"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/api/deals".into())
    }

    fn create_body() -> Value {
        // The fixture's fields list makes `sales_account_id` required.
        json!({
            "name": "Acme renewal 2025",
            "amount": 1500.5,
            "currency": "EUR",
            "account": {"id": "70000512001"},
            "stage": {"id": "70000231001"},
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(200, &fixture("freshsales", "create_response.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({"deal": {
            "name": "Acme renewal 2025",
            "amount": 1500.5,
            "currency_id": 70000000022_i64,
            "sales_account_id": 70000512001_i64,
            "deal_stage_id": 70000231001_i64,
            "deal_pipeline_id": 70000012001_i64,
        }});
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PUT", format!("/api/deals/{id}"))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(200, &json!({"deal": record}))
    }

    fn expected_amount_update() -> Value {
        json!({"deal": {"amount": 1234.5}})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/api/deals/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        // Accounts answer 200 with the JSON literal `true` (or 204).
        json_response(200, &json!(true))
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("freshsales", "error_429.json"))
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        LOOKUPS.contains(&request.url.path())
    }

    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(LOOKUPS[4]))
            .respond_with(json_response(200, &fixture("freshsales", "users.json")))
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "70000011234".into(),
            Some("Priya Raman".into()),
            Some("priya.raman@example.com".into()),
        ))
    }

    /// The first stage of `stages.json`, in the default pipeline.
    fn stage() -> Option<(String, String, Option<String>)> {
        Some((
            "70000231001".into(),
            "New".into(),
            Some("70000012001".into()),
        ))
    }

    /// An owner and an account of the fixtures (Freshsales declares both
    /// filters unsupported: the suite checks they are refused).
    fn filter_ids() -> (String, String) {
        ("70000011234".into(), "70000512001".into())
    }

    /// Lists already ask for `sort=created_at&sort_type=asc`.
    fn default_order() -> Option<&'static str> {
        Some("sort_by=created_at")
    }
}

conformance_tests!(Freshsales);
