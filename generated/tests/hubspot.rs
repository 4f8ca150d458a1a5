//! HubSpot's quirks, end to end over real HTTP to a wiremock server that
//! answers with bodies in HubSpot's real shape
//! (`tests/fixtures/responses/hubspot/`, see its `SOURCE.md`): each test
//! checks what HubSpot received and what the caller got. Every exchange is
//! recorded for the official-document check (`official/exchanges.rs`).

#[path = "official/exchanges.rs"]
mod exchanges;

use exchanges::{Reply, Route};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::glue::hubspot::{MAPPED_PROPERTIES, MAX_PROPERTIES_QUERY};
use unified_crm::{
    Credentials, IntegratedAccount, ListFilters, ListOptions, Lookup, RequestOptions, SortBy,
    UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
const DEALS: &str = "/crm/v3/objects/deals";
const BATCH_READ: &str = "/crm/v3/objects/deals/batch/read";
const PROPERTIES: &str = "/crm/v3/properties/deals";
const PIPELINES: &str = "/crm/v3/pipelines/deals";
const OWNERS: &str = "/crm/v3/owners";
const DEAL_ID: &str = "18736251042";
/// The custom properties of `custom_fields.json`.
const CUSTOM: &[&str] = &[
    "contract_length_months",
    "deal_region",
    "po_number",
    "products_of_interest",
    "renewal_date",
];

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/hubspot/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn deal_path(id: &str) -> String {
    format!("{DEALS}/{id}")
}

/// A HubSpot account at a wiremock server, with its property definitions
/// and pipelines answered.
struct Portal {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Portal {
    async fn start() -> Self {
        Self::with_properties(fixture("custom_fields.json")).await
    }

    async fn with_properties(properties: Value) -> Self {
        let server = MockServer::start().await;
        exchanges::watch(&server, "hubspot").await;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed)) + (7 << 64)),
            Credentials::Hubspot(unified_crm::providers::hubspot::AccountCredentials {
                access_token: TOKEN.into(),
            }),
        )
        .with_base_url(server.uri());
        let portal = Portal {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        };
        portal
            .mount("GET", PROPERTIES, Reply::json(200, &properties))
            .await;
        portal
            .mount("GET", PIPELINES, Reply::json(200, &fixture("stages.json")))
            .await;
        portal
    }

    async fn mount(&self, verb: &'static str, at: &str, reply: Reply) {
        Mock::given(method(verb))
            .and(path(at.to_owned()))
            .respond_with(exchanges::reply(Route::exact(verb, at), reply))
            .mount(&self.server)
            .await;
    }

    async fn requests(&self, verb: &str, at: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == at)
            .collect()
    }

    async fn get(&self, id: &str) -> Result<Value, UnifiedError> {
        self.client
            .get(&self.account, id, &RequestOptions::default())
            .await
    }
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn every_value_is_a_string_on_the_wire_and_typed_for_the_caller() {
    let portal = Portal::start().await;
    portal
        .mount(
            "GET",
            &deal_path(DEAL_ID),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    let deal = portal.get(DEAL_ID).await.expect("get");
    // `"1500.00"` is the number 1500; `"12"` (a number property) is 12; the
    // string property `"00042"` stays a string; a date stays a date; the
    // `;`-joined checkbox values are an array of labels.
    assert_eq!(deal["amount"], json!(1500.0));
    assert_eq!(deal["custom_fields"]["contract_length_months"], json!(12.0));
    assert_eq!(deal["custom_fields"]["po_number"], json!("00042"));
    assert_eq!(deal["custom_fields"]["renewal_date"], json!("2026-02-03"));
    assert_eq!(
        deal["custom_fields"]["products_of_interest"],
        json!(["SEO", "Hosting"])
    );
    assert_eq!(deal["custom_fields"]["deal_region"], json!("EMEA"));
    assert_eq!(deal["close_date"], json!("2026-03-05T00:00:00Z"));

    portal
        .mount(
            "PATCH",
            &deal_path(DEAL_ID),
            Reply::json(200, &fixture("update_response.json")),
        )
        .await;
    portal
        .client
        .update(
            &portal.account,
            DEAL_ID,
            json!({
                "amount": 2400.5,
                "close_date": null,
                "custom_fields": {"contract_length_months": 24, "products_of_interest": ["SEO", "Support plan"], "po_number": "00043"},
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("update");
    let patches = portal.requests("PATCH", &deal_path(DEAL_ID)).await;
    assert_eq!(patches.len(), 1);
    // Strings only, `""` to clear, option values (not labels) `;`-joined.
    assert_eq!(
        body(&patches[0]),
        json!({"properties": {
            "amount": "2400.5",
            "closedate": "",
            "contract_length_months": "24",
            "products_of_interest": "seo;support",
            "po_number": "00043",
        }})
    );
}

#[tokio::test]
async fn reads_ask_for_every_mapped_and_custom_property_and_the_associations() {
    let portal = Portal::start().await;
    portal
        .mount(
            "GET",
            &deal_path(DEAL_ID),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    portal
        .mount("GET", DEALS, Reply::json(200, &fixture("list_page2.json")))
        .await;
    portal.get(DEAL_ID).await.expect("get");
    portal
        .client
        .list(&portal.account, &ListOptions::default())
        .await
        .expect("list");
    let mut expected: Vec<&str> = MAPPED_PROPERTIES.to_vec();
    expected.extend(CUSTOM);
    for request in [
        portal.requests("GET", &deal_path(DEAL_ID)).await,
        portal.requests("GET", DEALS).await,
    ]
    .concat()
    {
        let asked = query(&request, "properties").unwrap_or_default();
        assert_eq!(
            asked.split(',').collect::<Vec<_>>(),
            expected,
            "{}",
            request.url
        );
        assert_eq!(
            query(&request, "associations").as_deref(),
            Some("companies,contacts")
        );
    }
    // A page of 100, HubSpot's largest.
    let list = portal.requests("GET", DEALS).await;
    assert_eq!(query(&list[0], "limit").as_deref(), Some("100"));
}

/// Answers a batch read as HubSpot does: each id asked, with a value for
/// every property asked (`<name>-<id>`), in `batch_read_response.json`'s
/// envelope.
struct BatchRead;

impl Respond for BatchRead {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let asked = body(request);
        let mut answer = fixture("batch_read_response.json");
        let template = answer["results"][0].clone();
        let results: Vec<Value> = asked["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|input| {
                let id = input["id"].as_str().unwrap_or_default();
                let mut deal = template.clone();
                deal["id"] = json!(id);
                let properties: serde_json::Map<String, Value> = asked["properties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|name| (name.to_owned(), json!(format!("{name}-{id}"))))
                    .chain([("hs_object_id".to_owned(), json!(id))])
                    .collect();
                deal["properties"] = Value::Object(properties);
                deal
            })
            .collect();
        answer["results"] = json!(results);
        exchanges::answered(request, Reply::json(200, &answer))
    }
}

/// `custom_fields.json` plus `count` more custom string properties.
fn many_properties(count: usize) -> (Value, Vec<String>) {
    let mut definitions = fixture("custom_fields.json");
    let template = definitions["results"]
        .as_array()
        .and_then(|all| all.iter().find(|property| property["name"] == "po_number"))
        .cloned()
        .expect("po_number is defined");
    let names: Vec<String> = (0..count)
        .map(|n| format!("custom_tracking_property_{n:04}"))
        .collect();
    for name in &names {
        let mut property = template.clone();
        property["name"] = json!(name);
        property["label"] = json!(name);
        if let Some(all) = definitions["results"].as_array_mut() {
            all.push(property);
        }
    }
    (definitions, names)
}

#[tokio::test]
async fn four_hundred_custom_properties_split_the_read_between_the_url_and_a_batch_read() {
    let (definitions, names) = many_properties(400);
    let portal = Portal::with_properties(definitions).await;
    portal
        .mount(
            "GET",
            &deal_path(DEAL_ID),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    portal
        .mount("GET", DEALS, Reply::json(200, &fixture("list_page1.json")))
        .await;
    Mock::given(method("POST"))
        .and(path(BATCH_READ))
        .respond_with(BatchRead)
        .mount(&portal.server)
        .await;

    let deal = portal.get(DEAL_ID).await.expect("get");
    let page = portal
        .client
        .list(&portal.account, &ListOptions::default())
        .await
        .expect("list");

    let gets = portal.requests("GET", &deal_path(DEAL_ID)).await;
    let lists = portal.requests("GET", DEALS).await;
    let batches = portal.requests("POST", BATCH_READ).await;
    assert_eq!((gets.len(), lists.len(), batches.len()), (1, 1, 2));
    let mut every: Vec<String> = MAPPED_PROPERTIES
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    every.extend(CUSTOM.iter().map(|name| (*name).to_owned()));
    every.extend(names.iter().cloned());
    for (read, batch, ids) in [
        (&gets[0], &batches[0], json!([{"id": DEAL_ID}])),
        (
            &lists[0],
            &batches[1],
            json!([{"id": "18736251042"}, {"id": "18736251043"}]),
        ),
    ] {
        // The URL stays short: the property list within its cap, the
        // mapped properties first, the rest read by a batch read of the
        // same deals, in the body: together every property, once.
        let asked = query(read, "properties").unwrap_or_default();
        let encoded = asked.len() + 2 * asked.matches(',').count();
        assert!(
            encoded <= MAX_PROPERTIES_QUERY,
            "{encoded} bytes of properties"
        );
        assert!(
            read.url.as_str().len() < 8_000,
            "URL of {} bytes",
            read.url.as_str().len()
        );
        let in_url: Vec<String> = asked.split(',').map(str::to_owned).collect();
        assert!(in_url.starts_with(&every[..MAPPED_PROPERTIES.len()]));
        let batch = body(batch);
        assert_eq!(batch["inputs"], ids);
        assert_eq!(batch["propertiesWithHistory"], json!([]));
        let in_body: Vec<String> =
            serde_json::from_value(batch["properties"].clone()).unwrap_or_default();
        assert!(!in_body.is_empty());
        assert_eq!([in_url, in_body].concat(), every);
    }
    // What the batch read answered is in the record, beside what the GET did.
    let last = names.last().expect("400 names");
    assert_eq!(
        deal["custom_fields"][last],
        json!(format!("{last}-{DEAL_ID}"))
    );
    assert_eq!(
        deal["remote_data"]["properties"][last],
        json!(format!("{last}-{DEAL_ID}"))
    );
    assert_eq!(deal["amount"], json!(1500.0));
    assert_eq!(deal["account"]["id"], json!("9001234567"));
    assert_eq!(
        page["result"][1]["custom_fields"][last],
        json!(format!("{last}-18736251043"))
    );
}

#[tokio::test]
async fn status_comes_from_hs_is_closed_and_hs_is_closed_won() {
    let portal = Portal::start().await;
    let mut page = fixture("list_page1.json");
    let mut extra = fixture("list_page2.json")["results"][0].clone();
    // Both calculated properties null (old portals): the stage's metadata.
    extra["id"] = json!("18736251045");
    extra["properties"]["hs_is_closed"] = Value::Null;
    extra["properties"]["hs_is_closed_won"] = Value::Null;
    extra["properties"]["dealstage"] = json!("closedwon");
    if let Some(results) = page["results"].as_array_mut() {
        results.push(fixture("list_page2.json")["results"][0].clone());
        results.push(extra);
    }
    page.as_object_mut().map(|page| page.remove("paging"));
    portal.mount("GET", DEALS, Reply::json(200, &page)).await;
    let listed = portal
        .client
        .list(&portal.account, &ListOptions::default())
        .await
        .expect("list");
    let statuses: Vec<&Value> = listed["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|deal| &deal["status"])
        .collect();
    // `"false"`/`"false"` open; `"true"`/`"true"` won; `"true"`/`"false"`
    // lost; null/null in the closed-won stage (probability `"1.0"`) won.
    assert_eq!(
        statuses,
        [&json!("open"), &json!("won"), &json!("lost"), &json!("won")]
    );
    assert_eq!(
        listed["result"][1]["stage"],
        json!({"id": "1033427", "name": "Signed"})
    );
}

#[tokio::test]
async fn the_account_and_contacts_come_from_the_associations() {
    let portal = Portal::start().await;
    portal
        .mount("GET", DEALS, Reply::json(200, &fixture("list_page1.json")))
        .await;
    let listed = portal
        .client
        .list(&portal.account, &ListOptions::default())
        .await
        .expect("list");
    // The primary company, listed twice (primary and unlabeled), once.
    assert_eq!(listed["result"][0]["account"], json!({"id": "9001234567"}));
    assert_eq!(
        listed["result"][0]["contact"],
        json!([{"id": "251"}, {"id": "302"}])
    );
    // Another, unlabeled company does not displace the primary one.
    assert_eq!(listed["result"][1]["account"], json!({"id": "9001234999"}));
    assert_eq!(listed["result"][1]["contact"], json!([{"id": "418"}]));
}

#[tokio::test]
async fn create_sends_association_type_ids_and_reads_the_deal_back() {
    let portal = Portal::start().await;
    let created = fixture("create_response.json");
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    portal
        .mount("POST", DEALS, Reply::json(201, &created))
        .await;
    let mut read_back = fixture("opportunity.json");
    read_back["id"] = json!(id);
    portal
        .mount("GET", &deal_path(&id), Reply::json(200, &read_back))
        .await;
    let deal = portal
        .client
        .create(
            &portal.account,
            json!({
                "name": "Globex - Support renewal",
                "stage": {"id": "1033426"},
                "account": {"id": "9001234567"},
                "contact": [{"id": "251"}, {"id": "302"}],
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("create");
    let posts = portal.requests("POST", DEALS).await;
    assert_eq!(
        body(&posts[0]),
        json!({
            // The stage's pipeline goes with it (a stage of another
            // pipeline than the one sent is a 400).
            "properties": {"dealname": "Globex - Support renewal", "dealstage": "1033426", "pipeline": "1033421"},
            "associations": [
                {"to": {"id": "9001234567"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]},
                {"to": {"id": "251"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                {"to": {"id": "302"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
            ],
        })
    );
    // The 201 has no associations: the deal was read back with them.
    assert_eq!(portal.requests("GET", &deal_path(&id)).await.len(), 1);
    assert_eq!(deal["account"], json!({"id": "9001234567"}));
    assert_eq!(deal["contact"], json!([{"id": "251"}, {"id": "302"}]));
}

#[tokio::test]
async fn update_changes_associations_through_the_v4_endpoints_in_after_update() {
    let portal = Portal::start().await;
    portal
        .mount(
            "GET",
            &deal_path(DEAL_ID),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    let associations = format!("/crm/v4/objects/deals/{DEAL_ID}/associations");
    let labels = |to: &str, kind: &str| json!({"fromObjectTypeId": "0-3", "fromObjectId": DEAL_ID, "toObjectTypeId": kind, "toObjectId": to, "labels": []});
    let new_company = format!("{associations}/companies/9001235555");
    let old_company = format!("{associations}/companies/9001234567");
    let new_contact = format!("{associations}/contacts/777");
    let old_contact = format!("{associations}/contacts/302");
    let mut primary = labels("9001235555", "0-2");
    primary["labels"] = json!(["Primary"]);
    portal
        .mount("PUT", &new_company, Reply::json(201, &primary))
        .await;
    portal
        .mount("DELETE", &old_company, Reply::empty(204))
        .await;
    portal
        .mount("PUT", &new_contact, Reply::json(201, &labels("777", "0-1")))
        .await;
    portal
        .mount("DELETE", &old_contact, Reply::empty(204))
        .await;
    portal
        .client
        .update(
            &portal.account,
            DEAL_ID,
            json!({"account": {"id": "9001235555"}, "contact": [{"id": "251"}, {"id": "777"}]}),
            &RequestOptions::default(),
        )
        .await
        .expect("update");
    // Only associations changed: no PATCH at all.
    assert!(
        portal
            .requests("PATCH", &deal_path(DEAL_ID))
            .await
            .is_empty()
    );
    let put_company = portal.requests("PUT", &new_company).await;
    let put_contact = portal.requests("PUT", &new_contact).await;
    assert_eq!(
        body(&put_company[0]),
        json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}])
    );
    assert_eq!(
        body(&put_contact[0]),
        json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}])
    );
    assert_eq!(portal.requests("DELETE", &old_company).await.len(), 1);
    assert_eq!(portal.requests("DELETE", &old_contact).await.len(), 1);
    // The kept contact is left alone.
    assert!(
        portal
            .requests("PUT", &format!("{associations}/contacts/251"))
            .await
            .is_empty()
    );
    // Read once for the current associations, once back after the changes.
    assert_eq!(portal.requests("GET", &deal_path(DEAL_ID)).await.len(), 2);
}

#[tokio::test]
async fn lists_page_with_limit_and_after_until_a_page_without_paging() {
    let portal = Portal::start().await;
    struct Pages;
    impl Respond for Pages {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let page = match query(request, "after").as_deref() {
                None => fixture("list_page1.json"),
                Some("18736251044") => fixture("list_page2.json"),
                Some(_) => json!({"results": []}),
            };
            exchanges::answered(request, Reply::json(200, &page))
        }
    }
    Mock::given(method("GET"))
        .and(path(DEALS))
        .respond_with(Pages)
        .mount(&portal.server)
        .await;
    let options = |cursor: Option<String>| ListOptions {
        limit: Some(2),
        next_cursor: cursor,
        ..ListOptions::default()
    };
    let first = portal
        .client
        .list(&portal.account, &options(None))
        .await
        .expect("page 1");
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some());
    let second = portal
        .client
        .list(&portal.account, &options(cursor))
        .await
        .expect("page 2");
    assert_eq!(
        second["next_cursor"],
        Value::Null,
        "no `paging`: the last page"
    );
    let lists = portal.requests("GET", DEALS).await;
    assert_eq!(query(&lists[0], "limit").as_deref(), Some("2"));
    assert_eq!(query(&lists[0], "after"), None);
    assert_eq!(query(&lists[1], "after").as_deref(), Some("18736251044"));
}

#[tokio::test]
async fn delete_is_an_archive_answered_204_and_answers_the_id() {
    let portal = Portal::start().await;
    portal
        .mount("DELETE", &deal_path(DEAL_ID), Reply::empty(204))
        .await;
    let deleted = portal
        .client
        .delete(&portal.account, DEAL_ID, &RequestOptions::default())
        .await
        .expect("delete");
    assert_eq!(deleted["id"], json!(DEAL_ID));
    assert_eq!(
        portal.requests("DELETE", &deal_path(DEAL_ID)).await.len(),
        1
    );
    // Nothing to read back: an archived deal is a 404 anyway.
    assert!(portal.requests("GET", &deal_path(DEAL_ID)).await.is_empty());
}

#[tokio::test]
async fn a_missing_deal_with_an_html_404_is_a_clean_unified_404() {
    let portal = Portal::start().await;
    let html = include_str!("../../tests/fixtures/responses/hubspot/error_404.html");
    portal
        .mount(
            "GET",
            &deal_path("999"),
            Reply::text(404, "text/html;charset=utf-8", html),
        )
        .await;
    match portal.get("999").await {
        Err(UnifiedError::Provider { status, body, .. }) => {
            assert_eq!(status, 404);
            assert!(body.contains("HTTP ERROR 404"));
        }
        other => panic!("expected the provider's 404, got {other:?}"),
    }
    // A deal id is numeric: anything else names no deal and is not sent.
    match portal.get("not-a-deal").await {
        Err(UnifiedError::InvalidInput { field, .. }) => assert_eq!(field, "id"),
        other => panic!("expected an invalid id, got {other:?}"),
    }
}

fn rate_limit_of(error: &UnifiedError) -> Vec<(String, String)> {
    match error {
        UnifiedError::Provider {
            status: 429,
            rate_limit,
            ..
        } => rate_limit.clone(),
        other => panic!("expected a 429, got {other:?}"),
    }
}

#[tokio::test]
async fn a_rate_limit_keeps_hubspots_headers_and_waits_the_window() {
    let portal = Portal::start().await;
    // HubSpot sends no Retry-After, only its own headers.
    let limited = Reply::json(429, &fixture("error_429.json"))
        .header("X-HubSpot-RateLimit-Max", "190")
        .header("X-HubSpot-RateLimit-Remaining", "0")
        .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
        .header("X-HubSpot-RateLimit-Daily", "625000")
        .header("X-HubSpot-RateLimit-Daily-Remaining", "611234");
    portal.mount("GET", &deal_path(DEAL_ID), limited).await;
    let error = portal.get(DEAL_ID).await.expect_err("rate limited");
    assert_eq!(error.retry_after(), Some("10"), "the 10-second window");
    let headers = rate_limit_of(&error);
    assert!(
        headers.contains(&("x-ratelimit-limit".into(), "190".into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("x-ratelimit-remaining".into(), "0".into())),
        "{headers:?}"
    );

    // The daily limit lasts until the portal's midnight: no wait made up.
    let mut daily = fixture("error_429.json");
    daily["policyName"] = json!("DAILY");
    daily["message"] = json!("You have reached your daily limit.");
    let portal = Portal::start().await;
    portal
        .mount(
            "GET",
            &deal_path(DEAL_ID),
            Reply::json(429, &daily)
                .header("X-HubSpot-RateLimit-Daily", "625000")
                .header("X-HubSpot-RateLimit-Daily-Remaining", "0")
                .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"),
        )
        .await;
    let error = portal.get(DEAL_ID).await.expect_err("rate limited");
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn status_is_read_only_and_refused_before_any_call() {
    let portal = Portal::start().await;
    let error = portal
        .client
        .create(
            &portal.account,
            json!({"name": "Won already", "stage": {"id": "closedwon"}, "status": "won"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("status is not writable");
    match error {
        UnifiedError::Validation { unsupported, .. } => assert_eq!(unsupported, ["status"]),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(portal.requests("POST", DEALS).await.is_empty());
    // An unknown stage is refused before the create too (after one fresh
    // look at the pipelines).
    let error = portal
        .client
        .create(
            &portal.account,
            json!({"name": "Nowhere", "stage": {"id": "no_such_stage"}}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("unknown stage");
    // A stage the portal does not have, even after a fresh look: a 400
    // naming `stage`.
    assert!(
        matches!(error, UnifiedError::InvalidInput { ref field, .. } if field == "stage"),
        "{error:?}"
    );
    assert!(portal.requests("POST", DEALS).await.is_empty());
}

#[tokio::test]
async fn every_filter_is_refused_with_the_reason_and_nothing_is_sent() {
    let portal = Portal::start().await;
    let instant = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").expect("a date");
    let cases = [
        (
            ListFilters {
                updated_after: Some(instant),
                ..ListFilters::default()
            },
            "updated_at[gt]",
            "filters by hs_lastmodifieddate",
        ),
        (
            ListFilters {
                created_after: Some(instant),
                ..ListFilters::default()
            },
            "created_at[gt]",
            "filters by createdate",
        ),
        (
            ListFilters {
                status: Some("won".into()),
                ..ListFilters::default()
            },
            "status",
            "hs_is_closed_won",
        ),
        (
            ListFilters {
                owner_id: Some("84512963".into()),
                ..ListFilters::default()
            },
            "owner_id",
            "hubspot_owner_id",
        ),
        (
            ListFilters {
                account_id: Some("9001234567".into()),
                ..ListFilters::default()
            },
            "account_id",
            "associations.company",
        ),
        (
            ListFilters {
                sort_by: Some(SortBy::UpdatedAt),
                ..ListFilters::default()
            },
            "sort_by",
            "sorts by hs_lastmodifieddate",
        ),
        (
            ListFilters {
                sort_by: Some(SortBy::CreatedAt),
                ..ListFilters::default()
            },
            "sort_by",
            "sorts by createdate",
        ),
    ];
    for (filters, field, words) in cases {
        let error = portal
            .client
            .list(
                &portal.account,
                &ListOptions {
                    filters,
                    ..ListOptions::default()
                },
            )
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, UnifiedError::InvalidInput { field: f, .. } if f == field),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(words), "{text}");
        assert!(text.contains("10,000 results"), "{text}");
    }
    let sent = portal.server.received_requests().await.unwrap_or_default();
    assert!(
        sent.is_empty(),
        "nothing is sent, not even the context: {sent:?}"
    );
}

#[tokio::test]
async fn owners_are_every_page_of_active_owners_then_the_archived_ones() {
    let portal = Portal::start().await;
    struct Owners;
    impl Respond for Owners {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let file = match (
                query(request, "archived").as_deref(),
                query(request, "after").as_deref(),
            ) {
                (Some("true"), None) => "owners_archived.json",
                (None, Some("MTAwMA%3D%3D")) => "owners_page2.json",
                (None, None) => "owners_page1.json",
                _ => {
                    return exchanges::answered(
                        request,
                        Reply::json(400, &fixture("error_400_validation.json")),
                    );
                }
            };
            exchanges::answered(request, Reply::json(200, &fixture(file)))
        }
    }
    Mock::given(method("GET"))
        .and(path(OWNERS))
        .respond_with(Owners)
        .mount(&portal.server)
        .await;

    let page = portal
        .client
        .list_lookup(&portal.account, Lookup::Users, &ListOptions::default())
        .await
        .expect("the owners");

    let calls = portal.requests("GET", OWNERS).await;
    let queries: Vec<Vec<(String, String)>> = calls
        .iter()
        .map(|request| {
            let mut pairs: Vec<(String, String)> = request
                .url
                .query_pairs()
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
            pairs.sort();
            pairs
        })
        .collect();
    let pair = |key: &str, value: &str| (key.to_owned(), value.to_owned());
    assert_eq!(
        queries,
        [
            vec![pair("limit", "500")],
            vec![pair("after", "MTAwMA%3D%3D"), pair("limit", "500")],
            vec![pair("archived", "true"), pair("limit", "500")],
        ]
    );
    let users = page["result"].as_array().expect("users");
    let ids: Vec<&Value> = users.iter().map(|user| &user["id"]).collect();
    // The owner ids (what `hubspot_owner_id` holds), never the user ids.
    assert_eq!(
        ids,
        [&json!("84512963"), &json!("84512970"), &json!("84512001")]
    );
    assert_eq!(users[0]["name"], json!("Maria Ortiz"));
    assert_eq!(users[0]["email"], json!("maria.ortiz@example.com"));
    assert_eq!(users[2]["remote_data"]["archived"], json!(true));
}

#[tokio::test]
async fn stages_carry_their_pipeline_and_custom_fields_their_label() {
    let portal = Portal::start().await;

    let page = portal
        .client
        .list_lookup(&portal.account, Lookup::Stages, &ListOptions::default())
        .await
        .expect("the stages");
    let stages = page["result"].as_array().expect("stages");
    assert_eq!(stages.len(), 11);
    let won = stages
        .iter()
        .find(|stage| stage["id"] == json!("closedwon"))
        .expect("closedwon");
    assert_eq!(won["name"], json!("Closed won"));
    assert_eq!(
        won["pipeline"],
        json!({"id": "default", "name": "Sales Pipeline"})
    );
    assert_eq!(won["remote_data"]["metadata"]["isClosed"], json!("true"));
    let signed = stages
        .iter()
        .find(|stage| stage["id"] == json!("1033427"))
        .expect("1033427");
    assert_eq!(
        signed["pipeline"],
        json!({"id": "1033421", "name": "Enterprise"})
    );

    let fields = portal
        .client
        .list_lookup(
            &portal.account,
            Lookup::CustomFields,
            &ListOptions::default(),
        )
        .await
        .expect("the custom fields");
    let fields = fields["result"].as_array().expect("fields");
    let names: Vec<&str> = fields
        .iter()
        .filter_map(|field| field["name"].as_str())
        .collect();
    assert_eq!(names, CUSTOM);
    let region = fields
        .iter()
        .find(|field| field["name"] == json!("deal_region"))
        .expect("deal_region");
    assert!(region["label"].is_string(), "{region}");
    assert_eq!(region["read_only"], json!(false));
    assert_eq!(region["remote_data"]["name"], json!("deal_region"));
}
