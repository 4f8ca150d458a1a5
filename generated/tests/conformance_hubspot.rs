//! HubSpot's entry in the conformance suite. Shapes: HubSpot's deals v3,
//! properties v3 and pipelines v3 documents, as kept in
//! `tests/fixtures/responses/hubspot/` (see its `SOURCE.md`). Paging:
//! `limit` (default 10, at most 100) and `after` = `paging.next.after`; the
//! last page has no `paging` member
//! (https://developers.hubspot.com/docs/api-reference/crm-deals-v3/guide).
//! Every exchange is recorded for the official-document check
//! (`official/exchanges.rs`).

#[path = "official/exchanges.rs"]
mod exchanges;
#[path = "conformance/suite.rs"]
mod suite;

use exchanges::{Reply, Route};
use serde_json::{Value, json};
use suite::{Conformance, fixture, header, numbered, query};
use unified_crm::providers::hubspot::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Hubspot;

const TOKEN: &str = "pat-na1-00000000-0000-0000-0000-000000000000";
const DEALS: &str = "/crm/v3/objects/deals";
const PROPERTIES: &str = "/crm/v3/properties/deals";
const PIPELINES: &str = "/crm/v3/pipelines/deals";
const OWNERS: &str = "/crm/v3/owners";
/// What a deal carries when `properties` names nothing else.
const DEFAULT_PROPERTIES: &[&str] = &[
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
];
const FIRST_ID: u64 = 18_736_251_042;

fn deal_path(id: &str) -> String {
    format!("{DEALS}/{id}")
}

/// HubSpot's answer to a read: the default properties plus those named in
/// `properties`, and the associations only when asked for.
fn as_read(record: &Value, request: &Request) -> Value {
    let asked: Vec<String> = query(request, "properties")
        .map(|names| names.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut record = record.clone();
    if let Some(properties) = record["properties"].as_object_mut() {
        properties.retain(|name, _| {
            DEFAULT_PROPERTIES.contains(&name.as_str()) || asked.iter().any(|asked| asked == name)
        });
    }
    let associations = query(request, "associations").unwrap_or_default();
    if let Some(kinds) = record
        .get_mut("associations")
        .and_then(Value::as_object_mut)
    {
        kinds.retain(|kind, _| associations.split(',').any(|asked| asked == kind));
        if kinds.is_empty() {
            record
                .as_object_mut()
                .map(|deal| deal.remove("associations"));
        }
    }
    record
}

impl Conformance for Hubspot {
    const PROVIDER: Provider = Provider::Hubspot;

    fn credentials() -> Credentials {
        Credentials::Hubspot(AccountCredentials {
            access_token: TOKEN.into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        let expected = format!("Bearer {TOKEN}");
        match header(request, "authorization") {
            Some(value) if value == expected => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        exchanges::watch(server, "hubspot").await;
        for (at, file) in [
            (PROPERTIES, "custom_fields.json"),
            (PIPELINES, "stages.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(exchanges::reply(
                    Route::exact("GET", at),
                    Reply::json(200, &fixture("hubspot", file)),
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
                fixture("hubspot", page)["results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        // Ids in HubSpot's order (ascending), the fixtures' own first.
        numbered(&base, 9, |record, n| {
            let id = (FIRST_ID + n as u64).to_string();
            record["properties"]["hs_object_id"] = json!(id);
            record["id"] = json!(id);
        })
    }

    fn record_id(record: &Value) -> String {
        record["id"].as_str().unwrap_or_default().to_owned()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let limit: usize = match query(request, "limit").map(|limit| limit.parse()) {
            None => 10,
            Some(Ok(limit @ 1..=100)) => limit,
            Some(_) => {
                return exchanges::answered(
                    request,
                    Reply::json(400, &fixture("hubspot", "error_400_validation.json")),
                );
            }
        };
        // `after` is the id of the first deal of the next page.
        let start = match query(request, "after") {
            None => 0,
            Some(after) => records
                .iter()
                .position(|record| record["id"] == json!(after))
                .unwrap_or(records.len()),
        };
        let end = (start + limit).min(records.len());
        let mut body = json!({
            "results": records[start..end]
                .iter()
                .map(|record| as_read(record, request))
                .collect::<Vec<_>>(),
        });
        if let Some(next) = records.get(end) {
            let after = next["id"].clone();
            body["paging"] = json!({"next": {"after": after, "link": format!("?after={}", after.as_str().unwrap_or_default())}});
        }
        exchanges::answered(request, Reply::json(200, &body))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        exchanges::reply(
            Route::exact("GET", DEALS),
            Reply::json(
                200,
                &json!({"results": [], "paging": {"next": {"after": "18736251099", "link": "?after=18736251099"}}}),
            ),
        )
    }

    fn record_path(id: &str) -> String {
        deal_path(id)
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        exchanges::reply(
            Route::exact("GET", deal_path(&Self::record_id(record))),
            Reply::json(200, record),
        )
    }

    fn set_unknown_status(record: &mut Value) -> String {
        // A deal in the recycling bin (read with `archived=true`).
        record["archived"] = json!(true);
        record["archivedAt"] = json!("2026-01-20T10:00:00.000Z");
        "archived".into()
    }

    fn custom_field() -> (String, Value) {
        // Stored as the option value `emea`; unified as its label.
        ("deal_region".into(), json!("EMEA"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", DEALS.into())
    }

    fn create_body() -> Value {
        json!({
            "name": "Globex - Support renewal",
            "amount": 1500.0,
            "currency": "EUR",
            "stage": {"id": "appointmentscheduled"},
            "owner": {"id": "84512963"},
            "account": {"id": "9001234567"},
            "contact": [{"id": "251"}],
            "close_date": "2026-03-05T00:00:00Z",
            "custom_fields": {"deal_region": "EMEA", "products_of_interest": ["SEO", "Support plan"]},
        })
    }

    fn create_response() -> ResponseTemplate {
        // HubSpot answers 201 with the deal, without associations; the glue
        // reads the deal back (the suite mounts the first record's get).
        let mut created = fixture("hubspot", "create_response.json");
        let id = FIRST_ID.to_string();
        created["properties"]["hs_object_id"] = json!(id);
        created["id"] = json!(id);
        exchanges::reply(Route::exact("POST", DEALS), Reply::json(201, &created))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "properties": {
                "dealname": "Globex - Support renewal",
                "amount": "1500",
                "deal_currency_code": "EUR",
                "dealstage": "appointmentscheduled",
                "pipeline": "default",
                "hubspot_owner_id": "84512963",
                "closedate": "2026-03-05T00:00:00.000Z",
                "deal_region": "emea",
                "products_of_interest": "seo;support",
            },
            "associations": [
                {"to": {"id": "9001234567"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]},
                {"to": {"id": "251"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
            ],
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PATCH", deal_path(id))
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        let id = Self::record_id(record);
        let mut updated = fixture("hubspot", "update_response.json");
        updated["properties"]["hs_object_id"] = json!(id);
        updated["id"] = json!(id);
        exchanges::reply(
            Route::exact("PATCH", deal_path(&id)),
            Reply::json(200, &updated),
        )
    }

    fn expected_amount_update() -> Value {
        json!({"properties": {"amount": "1234.5"}})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", deal_path(id))
    }

    fn delete_response() -> ResponseTemplate {
        // An archive: 204, no body.
        exchanges::reply(
            Route::under("DELETE", format!("{DEALS}/")),
            Reply::empty(204),
        )
    }

    fn rate_limited() -> ResponseTemplate {
        exchanges::reply(
            Route::under("GET", format!("{DEALS}/")),
            Reply::json(429, &fixture("hubspot", "error_429.json"))
                .header("X-HubSpot-RateLimit-Max", "190")
                .header("X-HubSpot-RateLimit-Remaining", "0")
                .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
                .header("retry-after", "7"),
        )
    }

    fn is_lookup(request: &Request) -> bool {
        let at = request.url.path();
        at == PROPERTIES || at == PIPELINES || at == OWNERS
    }

    /// `GET /crm/v3/owners`: two pages of active owners (`after`), one of
    /// archived ones (`archived=true`).
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(OWNERS))
            .respond_with(|request: &Request| {
                let file = match (
                    query(request, "archived").as_deref(),
                    query(request, "after").as_deref(),
                ) {
                    (Some("true"), _) => "owners_archived.json",
                    (_, Some(_)) => "owners_page2.json",
                    _ => "owners_page1.json",
                };
                exchanges::answered(request, Reply::json(200, &fixture("hubspot", file)))
            })
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "84512970".into(),
            Some("Jon Baker".into()),
            Some("jon.baker@example.com".into()),
        ))
    }

    fn stage() -> Option<(String, String, Option<String>)> {
        Some(("1033427".into(), "Signed".into(), Some("1033421".into())))
    }

    fn filter_ids() -> (String, String) {
        ("84512963".into(), "9001234567".into())
    }
}

conformance_tests!(Hubspot);
