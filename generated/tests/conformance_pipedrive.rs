//! Pipedrive's entry in the conformance suite. Shapes: Pipedrive's official
//! API v2 document (`getDeals`, `getDeal`, `addDeal`, `updateDeal`,
//! `deleteDeal`, `getDealFields`, `getStages`), as kept in
//! `tests/fixtures/responses/pipedrive/` (see its `SOURCE.md`). Paging:
//! `limit` (default 100, at most 500) and `cursor` =
//! `additional_data.next_cursor`, `null` on the last page
//! (https://pipedrive.readme.io/docs/core-api-concepts-pagination).
//! Every exchange is recorded for the official-document check
//! (`official/exchanges.rs`).

#[path = "official/exchanges.rs"]
mod exchanges;
#[path = "conformance/suite.rs"]
mod suite;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use exchanges::{Reply, Route};
use serde_json::{Value, json};
use suite::{Conformance, fixture, header, numbered, query};
use unified_crm::providers::pipedrive::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Pipedrive;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
const DEALS: &str = "/deals";
const FIELDS: &str = "/dealFields";
const STAGES: &str = "/stages";
const PIPELINES: &str = "/pipelines";
/// API v1's users, reached from the v2 root through `/../v1/users`.
const USERS: &str = "/v1/users";
const FIRST_ID: i64 = 1042;
const REGION: &str = "8a7e2c41f05b3d96e1c4a0b27f5d9e3c6b1a8f02";
const PRODUCTS: &str = "5b8e1d4a7c0f3b6e9a2d5c8f1b4e7a0d3c6f9b2e";

fn deal_path(id: &str) -> String {
    format!("{DEALS}/{id}")
}

/// Pipedrive's cursor: base64url of the position after the last deal
/// (opaque to clients; this is the shape of the real ones).
fn cursor_after(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(
        json!({"field": "id", "fieldValue": id, "sortDirection": "asc", "id": id}).to_string(),
    )
}

fn cursor_position(cursor: &str) -> Option<i64> {
    let json = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice::<Value>(&json).ok()?["id"].as_i64()
}

fn error(status: u16, message: &str) -> Reply {
    let mut body = fixture("pipedrive", "error_400_validation.json");
    body["error"] = json!(message);
    Reply::json(status, &body)
}

impl Conformance for Pipedrive {
    const PROVIDER: Provider = Provider::Pipedrive;

    fn credentials() -> Credentials {
        Credentials::Pipedrive(AccountCredentials {
            api_token: TOKEN.into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        // API v2 reads the `x-api-token` header only (v1's `api_token`
        // query parameter is refused).
        if query(request, "api_token").is_some() {
            return Err("the token is in the query".into());
        }
        match header(request, "x-api-token") {
            Some(TOKEN) if request.headers.get("authorization").is_none() => Ok(()),
            other => Err(format!("x-api-token is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        exchanges::watch(server, "pipedrive").await;
        for (at, file) in [
            (FIELDS, "custom_fields.json"),
            (STAGES, "stages.json"),
            (PIPELINES, "pipelines.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(exchanges::reply(
                    Route::exact("GET", at),
                    Reply::json(200, &fixture("pipedrive", file)),
                ))
                .mount(server)
                .await;
        }
    }

    fn list_route() -> (&'static str, String) {
        ("GET", DEALS.into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("pipedrive", page)["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        // Ids ascending (Pipedrive's default order), the fixtures' own first.
        numbered(&base, 9, |record, n| {
            record["id"] = json!(FIRST_ID + n as i64);
        })
    }

    fn record_id(record: &Value) -> String {
        record["id"].to_string()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let limit: usize = match query(request, "limit").map(|limit| limit.parse()) {
            None => 100,
            Some(Ok(limit @ 1..=500)) => limit,
            Some(_) => {
                return exchanges::answered(
                    request,
                    error(
                        400,
                        "Validation failed: limit: Number must be less than or equal to 500",
                    ),
                );
            }
        };
        let start = match query(request, "cursor") {
            None => 0,
            Some(cursor) => match cursor_position(&cursor) {
                Some(last) => records
                    .iter()
                    .position(|record| record["id"].as_i64().is_some_and(|id| id > last))
                    .unwrap_or(records.len()),
                None => return exchanges::answered(request, error(400, "Invalid cursor")),
            },
        };
        let end = (start + limit).min(records.len());
        let next = (end < records.len())
            .then(|| records[end - 1]["id"].as_i64().map(cursor_after))
            .flatten();
        let body = json!({
            "success": true,
            "data": &records[start..end],
            "additional_data": {"next_cursor": next},
        });
        exchanges::answered(request, Reply::json(200, &body))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        exchanges::reply(
            Route::exact("GET", DEALS),
            Reply::json(
                200,
                &json!({"success": true, "data": [], "additional_data": {"next_cursor": cursor_after(1099)}}),
            ),
        )
    }

    fn record_path(id: &str) -> String {
        deal_path(id)
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        exchanges::reply(
            Route::exact("GET", deal_path(&Self::record_id(record))),
            Reply::json(200, &json!({"success": true, "data": record})),
        )
    }

    fn set_unknown_status(record: &mut Value) -> String {
        // A soft-deleted deal, readable for 30 days.
        record["status"] = json!("deleted");
        record["is_deleted"] = json!(true);
        "deleted".into()
    }

    fn custom_field() -> (String, Value) {
        // Stored as the option id 12; unified as its label.
        ("Region".into(), json!("EMEA"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", DEALS.into())
    }

    fn create_body() -> Value {
        json!({
            "name": "Globex – Support renewal",
            "amount": 1500.5,
            "currency": "EUR",
            "owner": {"id": "1874221"},
            "account": {"id": "57"},
            "contact": [{"id": "311"}],
            "stage": {"id": "1"},
            "close_date": "2026-03-05T00:00:00Z",
            "custom_fields": {"Region": "EMEA", "Products of interest": ["SEO", "Support plan"]},
        })
    }

    fn create_response() -> ResponseTemplate {
        exchanges::reply(
            Route::exact("POST", DEALS),
            Reply::json(200, &fixture("pipedrive", "create_response.json")),
        )
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        // Exactly these keys (Pipedrive refuses unknown ones), numbers as
        // numbers, the date as a date, option ids for labels.
        let expected = json!({
            "title": "Globex – Support renewal",
            "value": 1500.5,
            "currency": "EUR",
            "owner_id": 1874221,
            "org_id": 57,
            "person_id": 311,
            "stage_id": 1,
            "expected_close_date": "2026-03-05",
            "custom_fields": {REGION: 12, PRODUCTS: [21, 23]},
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PATCH", deal_path(id))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        let mut updated = record.clone();
        updated["value"] = json!(1234.5);
        updated["update_time"] = json!("2026-01-13T07:41:55Z");
        exchanges::reply(
            Route::exact("PATCH", deal_path(&Self::record_id(record))),
            Reply::json(200, &json!({"success": true, "data": updated})),
        )
    }

    fn expected_amount_update() -> Value {
        json!({"value": 1234.5})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", deal_path(id))
    }

    fn delete_response() -> ResponseTemplate {
        exchanges::reply(
            Route::under("DELETE", format!("{DEALS}/")),
            Reply::json(200, &json!({"success": true, "data": {"id": FIRST_ID}})),
        )
    }

    fn rate_limited() -> ResponseTemplate {
        exchanges::reply(
            Route::under("GET", format!("{DEALS}/")),
            Reply::json(429, &fixture("pipedrive", "error_429.json"))
                .header("x-ratelimit-limit", "40")
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "2")
                .header("retry-after", "7"),
        )
    }

    fn is_lookup(request: &Request) -> bool {
        let at = request.url.path();
        at == FIELDS || at == STAGES || at == PIPELINES || at == USERS
    }

    /// `GET /v1/users`: every user in one answer.
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(USERS))
            .respond_with(exchanges::reply(
                Route::exact("GET", USERS),
                Reply::json(200, &fixture("pipedrive", "users.json")),
            ))
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "1874230".into(),
            Some("Jonas Berg".into()),
            Some("jonas@example.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some(("8".into(), "Discovery".into(), Some("2".into())))
    }

    fn filter_ids() -> (String, String) {
        ("1874221".into(), "57".into())
    }
}

conformance_tests!(Pipedrive);
