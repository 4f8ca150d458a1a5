//! Insightly's entry in the conformance suite. Shapes: the Insightly API
//! v3.1 reference (https://api.insightly.com/v3.1/Help), as kept in
//! `tests/fixtures/responses/insightly/` (see its `SOURCE.md`). Paging:
//! `GET /Opportunities?skip=K&top=N` answers a bare array; a page shorter
//! than `top` (or empty) is the last.
//!
//! The suite's tests are listed by hand rather than with
//! `conformance_tests!`: its update test sends `{"amount": 1234.5}`, an
//! amount Insightly cannot store (whole units only; the contract wants it
//! refused, which `tests/insightly.rs` checks). Here the same test runs
//! with `1234`; every other test is the suite's own.

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Value, json};
use suite::{Conformance, Harness, fixture, header, json_response, numbered, query};
use unified_crm::providers::insightly::AccountCredentials;
use unified_crm::{Credentials, Provider, RequestOptions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Insightly;

const LOOKUPS: [&str; 4] = [
    "/PipelineStages",
    "/Pipelines",
    "/CustomFields/Opportunities",
    // The users lookup.
    "/Users",
];
/// Where a list with a filter goes: the search, which answers the same
/// bare array as the plain list (the suite mounts records at the plain
/// list only, so here every search answers an empty page).
const SEARCH: &str = "/Opportunities/Search";

impl Conformance for Insightly {
    const PROVIDER: Provider = Provider::Insightly;

    fn credentials() -> Credentials {
        Credentials::Insightly(AccountCredentials {
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
            (LOOKUPS[0], "stages.json"),
            (LOOKUPS[1], "pipelines.json"),
            (LOOKUPS[2], "custom_fields.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture("insightly", file)))
                .mount(server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(SEARCH))
            .respond_with(json_response(200, &json!([])))
            .mount(server)
            .await;
    }

    fn list_route() -> (&'static str, String) {
        ("GET", "/Opportunities".into())
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("insightly", page)
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        // The suspended one is the unusual status the suite sets itself.
        base.retain(|record| record["OPPORTUNITY_STATE"] != json!("SUSPENDED"));
        numbered(&base, 8, |record, n| {
            record["OPPORTUNITY_ID"] = json!(5_000_000 + n)
        })
    }

    fn record_id(record: &Value) -> String {
        record["OPPORTUNITY_ID"].to_string()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        let number = |name: &str, default: usize| {
            query(request, name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(default)
        };
        let skip = number("skip", 0).min(records.len());
        let top = number("top", 500).clamp(1, 500);
        let end = (skip + top).min(records.len());
        json_response(200, &json!(records[skip..end]))
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(200, &json!([])).insert_header("X-Total-Count", "50")
    }

    fn record_path(id: &str) -> String {
        format!("/Opportunities/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn set_unknown_status(record: &mut Value) -> String {
        record["OPPORTUNITY_STATE"] = json!("SUSPENDED");
        "suspended".into()
    }

    fn custom_field() -> (String, Value) {
        ("Region__c".into(), json!("EMEA"))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", "/Opportunities".into())
    }

    fn create_body() -> Value {
        json!({
            "name": "Acme renewal 2025",
            "amount": 24000,
            "currency": "USD",
            "stage": {"id": "824432"},
        })
    }

    fn create_response() -> ResponseTemplate {
        json_response(201, &fixture("insightly", "create_response.json"))
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "OPPORTUNITY_NAME": "Acme renewal 2025",
            "OPPORTUNITY_STATE": "OPEN",
            "BID_AMOUNT": 24000,
            "BID_TYPE": "Fixed Bid",
            "BID_CURRENCY": "USD",
            "PIPELINE_ID": 259547,
            "STAGE_ID": 824432,
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    /// `PUT /Opportunities`, the id in the body (there is no
    /// `PUT /Opportunities/{id}`).
    fn update_route(_id: &str) -> (&'static str, String) {
        ("PUT", "/Opportunities".into())
    }

    fn update_response(record: &Value) -> ResponseTemplate {
        json_response(201, record)
    }

    /// For `{"amount": 1234}` (see the module doc): the id, the amount,
    /// and the bid type that makes it the total.
    fn expected_amount_update() -> Value {
        let id = Self::records()[0]["OPPORTUNITY_ID"].clone();
        json!({"OPPORTUNITY_ID": id, "BID_AMOUNT": 1234, "BID_TYPE": "Fixed Bid"})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("/Opportunities/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        // 202 Accepted, no body.
        ResponseTemplate::new(202)
    }

    fn rate_limited() -> ResponseTemplate {
        json_response(429, &fixture("insightly", "error_429.json"))
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        LOOKUPS.contains(&request.url.path())
    }

    /// One short page of users (a page shorter than `top` is the last;
    /// `tests/insightly.rs` walks two pages).
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(LOOKUPS[3]))
            .respond_with(json_response(
                200,
                &fixture("insightly", "users_page1.json"),
            ))
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "1093280".into(),
            Some("Diego Ferreira".into()),
            Some("diego.ferreira@example.com".into()),
        ))
    }

    /// The first stage of `stages.json`, in the "New business" pipeline.
    fn stage() -> Option<(String, String, Option<String>)> {
        Some((
            "824432".into(),
            "Qualification".into(),
            Some("259547".into()),
        ))
    }

    fn filter_ids() -> (String, String) {
        ("1093279".into(), "139023483".into())
    }
}

#[tokio::test]
async fn lists_every_record_once_across_pages() {
    suite::lists_every_record_once_across_pages::<Insightly>().await;
}
#[tokio::test]
async fn changing_the_limit_between_pages_neither_skips_nor_repeats() {
    suite::changing_the_limit_between_pages_neither_skips_nor_repeats::<Insightly>().await;
}
#[tokio::test]
async fn streams_every_record_once() {
    suite::streams_every_record_once::<Insightly>().await;
}
#[tokio::test]
async fn an_empty_page_that_claims_more_ends_the_list() {
    suite::an_empty_page_that_claims_more_ends_the_list::<Insightly>().await;
}
#[tokio::test]
async fn raw_lists_are_the_providers_body_and_page_the_same_way() {
    suite::raw_lists_are_the_providers_body_and_page_the_same_way::<Insightly>().await;
}
#[tokio::test]
async fn gets_a_record_with_its_remote_data() {
    suite::gets_a_record_with_its_remote_data::<Insightly>().await;
}
#[tokio::test]
async fn an_unknown_status_is_kept_lowercased() {
    suite::an_unknown_status_is_kept_lowercased::<Insightly>().await;
}
#[tokio::test]
async fn custom_fields_are_keyed_by_name() {
    suite::custom_fields_are_keyed_by_name::<Insightly>().await;
}
#[tokio::test]
async fn creates_with_the_mapped_body() {
    suite::creates_with_the_mapped_body::<Insightly>().await;
}
#[tokio::test]
async fn deletes_answer_the_id() {
    suite::deletes_answer_the_id::<Insightly>().await;
}
#[tokio::test]
async fn a_rate_limit_is_a_429_with_retry_after() {
    suite::a_rate_limit_is_a_429_with_retry_after::<Insightly>().await;
}
#[tokio::test]
async fn credentials_are_sent_as_the_provider_wants() {
    suite::credentials_are_sent_as_the_provider_wants::<Insightly>().await;
}
#[tokio::test]
async fn lookups_answer_or_are_refused_with_the_reason() {
    suite::lookups_answer_or_are_refused_with_the_reason::<Insightly>().await;
}
#[tokio::test]
async fn every_filter_reaches_the_provider_or_is_refused() {
    suite::every_filter_reaches_the_provider_or_is_refused::<Insightly>().await;
}
#[tokio::test]
async fn the_typed_api_answers_what_the_json_api_does() {
    suite::the_typed_api_answers_what_the_json_api_does::<Insightly>().await;
}

/// The suite's `updates_send_only_the_fields_set`, with a whole amount.
#[tokio::test]
async fn updates_send_only_the_fields_set() {
    let harness = Harness::<Insightly>::start().await;
    let record = Insightly::records().remove(0);
    let id = Insightly::record_id(&record);
    let (verb, at) = Insightly::update_route(&id);
    Mock::given(method(verb))
        .and(path(at.clone()))
        .respond_with(Insightly::update_response(&record))
        .mount(&harness.server)
        .await;
    Mock::given(method("GET"))
        .and(path(Insightly::record_path(&id)))
        .respond_with(Insightly::get_response(&record))
        .mount(&harness.server)
        .await;
    let updated = harness
        .client
        .update(
            &harness.account,
            &id,
            json!({"amount": 1234}),
            &RequestOptions::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("insightly: {error}"));
    assert_eq!(updated["id"], json!(id));
    let writes: Vec<Request> = harness
        .calls()
        .await
        .into_iter()
        .filter(|request| request.method.as_str() == verb && request.url.path() == at)
        .collect();
    assert_eq!(writes.len(), 1, "insightly: one update");
    let body: Value = serde_json::from_slice(&writes[0].body).unwrap_or(Value::Null);
    assert_eq!(
        body,
        Insightly::expected_amount_update(),
        "insightly: only the amount"
    );
}
