//! Pipeliner's quirks, end to end over real HTTP: a wiremock server
//! answers with bodies in Pipeliner's shape
//! (`tests/fixtures/responses/pipeliner/`, sources in its `SOURCE.md`);
//! each test checks what Pipeliner received and what the caller got.

#![cfg(feature = "pipeliner")]

use crm_runtime::mapping::{ListFilters, SortBy};
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::pipeliner::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Lookup, Provider, RequestOptions, UnifiedClient,
    UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SPACE: &str = "nv3_PipelinerDev";
/// `Basic base64("token:secret")`.
const AUTHORIZATION: &str = "Basic dG9rZW46c2VjcmV0";
const OPP_ID: &str = "03586ca1-f2bc-4607-aa76-caf2a3e9d987";
const EUR: &str = "2a5b5d5c-0b6e-4f43-9d2a-3f3f6a1b2c10";
const ACCOUNT: &str = "0bc376a4-c579-413a-9221-e86e4a134766";
const OTHER_ACCOUNT: &str = "1cd487b5-d68a-424b-a332-f97f5b245877";
const CONTACT: &str = "9e3c6a8e-2c1d-4a55-bb0e-8f0f6d2e4c11";
const OTHER_CONTACT: &str = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const NEGOTIATION_STEP: &str = "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f";

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/pipeliner/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn entities(entity: &str) -> String {
    format!("/spaces/{SPACE}/entities/{entity}")
}

fn opportunity_path(id: &str) -> String {
    format!("{}/{id}", entities("Opportunities"))
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// A Pipeliner space at a wiremock server, its lookups (fields,
/// pipelines, steps, currencies) answered from the fixtures.
struct Space {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Space {
    async fn start() -> Self {
        let server = MockServer::start().await;
        for (entity, file) in [
            ("Fields", "custom_fields.json"),
            ("Pipelines", "pipelines.json"),
            ("Steps", "stages.json"),
            ("Currencies", "currencies.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(entities(entity)))
                .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
                .mount(&server)
                .await;
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            Credentials::Pipeliner(AccountCredentials {
                username: "token".into(),
                password: "secret".into(),
                space_id: SPACE.into(),
            }),
        )
        .with_base_url(server.uri());
        Space {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        }
    }

    async fn respond(&self, verb: &str, at: &str, status: u16, body: Value) {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    async fn requests(&self, verb: &str, at: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
            .into_iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == at)
            .collect()
    }

    async fn list(&self, limit: u32, cursor: Option<String>) -> Value {
        let options = ListOptions {
            limit: Some(limit),
            next_cursor: cursor,
            ..ListOptions::default()
        };
        self.client
            .list(&self.account, &options)
            .await
            .expect("the list")
    }

    async fn get(&self, id: &str) -> Value {
        self.client
            .get(&self.account, id, &RequestOptions::default())
            .await
            .expect("the get")
    }

    async fn create(&self, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .create(&self.account, body, &RequestOptions::default())
            .await
    }

    async fn update(&self, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .update(&self.account, OPP_ID, body, &RequestOptions::default())
            .await
    }
}

/// A one-page list of these records, in Pipeliner's envelope.
fn only_page(records: Vec<Value>) -> Value {
    let mut page = fixture("list_page2.json");
    page["data"] = json!(records);
    page
}

fn page1_records() -> Vec<Value> {
    fixture("list_page1.json")["data"]
        .as_array()
        .cloned()
        .expect("page 1 records")
}

/// The field a refused write names: a value Pipeliner cannot take (a
/// mapping error), or a name the space does not have even after a fresh
/// look at its definitions (invalid input).
fn mapping_field(error: &UnifiedError) -> &str {
    match error {
        UnifiedError::Mapping(error) => &error.field,
        UnifiedError::InvalidInput { field, .. } => field,
        other => panic!("expected a refused write, got {other:?}"),
    }
}

#[tokio::test]
async fn credentials_are_exactly_username_password_and_space_id_sent_as_basic_and_in_the_path() {
    let map =
        |value: Value| -> Map<String, Value> { value.as_object().cloned().expect("an object") };
    let missing = Credentials::from_map(
        Provider::Pipeliner,
        &map(json!({"username": "token", "password": "secret"})),
    )
    .expect_err("space_id is required");
    assert_eq!(missing.first_key(), "credentials.space_id");
    let unknown = Credentials::from_map(
        Provider::Pipeliner,
        &map(json!({"username": "token", "password": "secret", "space_id": SPACE, "api_key": "x"})),
    )
    .expect_err("no other key");
    assert_eq!(unknown.first_key(), "credentials.api_key");
    Credentials::from_map(
        Provider::Pipeliner,
        &map(json!({"username": "token", "password": "secret", "space_id": SPACE})),
    )
    .expect("exactly the three keys");

    let space = Space::start().await;
    let mut envelope = fixture("opportunity.json");
    envelope["success"] = json!(true);
    space
        .respond("GET", &opportunity_path(OPP_ID), 200, envelope)
        .await;
    space.get(OPP_ID).await;

    let requests = space
        .server
        .received_requests()
        .await
        .expect("request recording is on");
    // Four lookups (fields, pipelines, steps, currencies) and the get,
    // each in the space, each with Basic.
    assert_eq!(requests.len(), 5);
    for request in &requests {
        assert!(
            request
                .url
                .path()
                .starts_with(&format!("/spaces/{SPACE}/entities/")),
            "{} is not in the space",
            request.url
        );
        assert_eq!(
            request
                .headers
                .get("authorization")
                .and_then(|value| value.to_str().ok()),
            Some(AUTHORIZATION),
            "{}",
            request.url
        );
    }
}

#[tokio::test]
async fn lists_ask_for_relations_with_expand_and_read_the_primary_account_and_contacts() {
    let space = Space::start().await;
    let mut record = page1_records().remove(0);
    // The primary account and contact come second: the first item is not
    // the primary one.
    let accounts = record["account_relations"]
        .as_array_mut()
        .expect("accounts");
    accounts[0]["is_primary"] = json!(false);
    accounts[1]["is_primary"] = json!(true);
    let contacts = record["contact_relations"]
        .as_array_mut()
        .expect("contacts");
    contacts[0]["is_primary"] = json!(false);
    contacts[1]["is_primary"] = json!(true);
    space
        .respond(
            "GET",
            &entities("Opportunities"),
            200,
            only_page(vec![record]),
        )
        .await;

    let page = space.list(10, None).await;

    let list = space.requests("GET", &entities("Opportunities")).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        query(&list[0], "expand").as_deref(),
        Some("account_relations,contact_relations")
    );
    let got = &page["result"][0];
    assert_eq!(got["account"], json!({"id": OTHER_ACCOUNT}));
    assert_eq!(
        got["contact"],
        json!([{"id": OTHER_CONTACT}, {"id": CONTACT}]),
        "primary contact first"
    );
}

/// The generated get sends `GetOpportunityParams::default()`: it cannot
/// ask for `expand`. The relations then are URIs of relation records, so
/// the account is read from the `primary_account` URI (the account
/// resource itself) and the contacts are left unknown rather than
/// guessed from the relations' ids.
#[tokio::test]
async fn a_get_cannot_ask_for_expand_so_the_account_comes_from_primary_account() {
    let space = Space::start().await;
    let mut envelope = fixture("opportunity.json");
    let relations =
        format!("https://us-east.pipelinersales.com/api/v100/rest/spaces/{SPACE}/entities");
    envelope["data"]["account_relations"] = json!([
        format!("{relations}/LeadOpptyAccountRelations/4f1e2d3c-b4a5-4968-8776-a5b4c3d2e1f0"),
        format!("{relations}/LeadOpptyAccountRelations/5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"),
    ]);
    envelope["data"]["contact_relations"] = json!([format!(
        "{relations}/LeadOpptyContactRelations/6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"
    ),]);
    space
        .respond("GET", &opportunity_path(OPP_ID), 200, envelope.clone())
        .await;

    let got = space.get(OPP_ID).await;

    let gets = space.requests("GET", &opportunity_path(OPP_ID)).await;
    assert_eq!(gets.len(), 1);
    assert_eq!(
        query(&gets[0], "expand"),
        None,
        "the generated get sends no expand"
    );
    assert_eq!(got["account"], json!({"id": ACCOUNT}));
    assert_eq!(got["contact"], Value::Null);
    assert_eq!(got["remote_data"], envelope["data"]);
}

#[tokio::test]
async fn pages_follow_end_cursor_while_has_next_page_and_stop_when_it_is_false() {
    let space = Space::start().await;
    let page1 = fixture("list_page1.json");
    let page2 = fixture("list_page2.json");
    let cursor = page1["page_info"]["end_cursor"]
        .as_str()
        .expect("page 1 has an end cursor")
        .to_owned();
    Mock::given(method("GET"))
        .and(path(entities("Opportunities")))
        .and(query_param("first", "2"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&page1))
        .mount(&space.server)
        .await;
    Mock::given(method("GET"))
        .and(path(entities("Opportunities")))
        .and(query_param("first", "2"))
        .and(query_param("after", cursor.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&page2))
        .mount(&space.server)
        .await;

    let first = space.list(2, None).await;
    let next = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = space.list(2, Some(next)).await;

    assert_eq!(first["result"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        second["result"][0]["id"],
        json!("9b2e7c1d-5a3f-4e8b-a6d4-1c2b3a4d5e6f")
    );
    // Page 2 still has an `end_cursor`; `has_next_page: false` ends it.
    assert!(page2["page_info"]["end_cursor"].is_string());
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(
        space
            .requests("GET", &entities("Opportunities"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn an_update_is_a_patch_of_the_fields_set() {
    let space = Space::start().await;
    space
        .respond(
            "PATCH",
            &opportunity_path(OPP_ID),
            200,
            fixture("update_response.json"),
        )
        .await;

    let updated = space
        .update(
            json!({"name": "Website redesign - Acme (phase 2)", "stage": {"name": "Negotiation"}}),
        )
        .await
        .expect("the update");

    let patches = space.requests("PATCH", &opportunity_path(OPP_ID)).await;
    assert_eq!(patches.len(), 1);
    assert_eq!(
        body(&patches[0]),
        json!({"name": "Website redesign - Acme (phase 2)", "step_id": NEGOTIATION_STEP})
    );
    assert!(
        space
            .requests("PUT", &opportunity_path(OPP_ID))
            .await
            .is_empty()
    );
    assert_eq!(updated["stage"]["id"], json!(NEGOTIATION_STEP));
    assert_eq!(updated["stage"]["name"], json!("Negotiation"));
}

#[tokio::test]
async fn money_is_read_in_the_opportunitys_currency_and_written_through_the_space_currencies() {
    let space = Space::start().await;
    space
        .respond(
            "GET",
            &entities("Opportunities"),
            200,
            fixture("list_page1.json"),
        )
        .await;
    space
        .respond(
            "POST",
            &entities("Opportunities"),
            201,
            fixture("create_response.json"),
        )
        .await;

    let page = space.list(2, None).await;
    // USD is the base currency: `base_value`. The second record is in EUR:
    // `value_foreign` (10200), not its base value (11016 USD).
    assert_eq!(page["result"][0]["amount"], json!(1000.5));
    assert_eq!(page["result"][0]["currency"], json!("USD"));
    assert_eq!(page["result"][1]["amount"], json!(10200.0));
    assert_eq!(page["result"][1]["currency"], json!("EUR"));

    let create = json!({
        "name": "Expansion - Acme Berlin office",
        "owner": {"id": "00000000-0000-0000-0000-000000011a7d"},
        "stage": {"id": "5f4ba3a1-7f3d-4c0b-8c54-2a0d3a4cb7e2"},
        "close_date": "2024-06-07T00:00:00Z",
        "amount": 2300.0,
        "currency": "EUR",
    });
    space.create(create.clone()).await.expect("the create");
    let posts = space.requests("POST", &entities("Opportunities")).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        body(&posts[0])["value"],
        json!({"value_foreign": 2300.0, "currency_id": EUR})
    );

    let mut unknown = create;
    unknown["currency"] = json!("JPY");
    let error = space
        .create(unknown)
        .await
        .expect_err("JPY is not a currency of the space");
    assert_eq!(mapping_field(&error), "currency");
    assert_eq!(
        space
            .requests("POST", &entities("Opportunities"))
            .await
            .len(),
        1,
        "nothing sent for the unknown currency"
    );
    // The currencies were fetched again once before giving up.
    assert_eq!(
        space.requests("GET", &entities("Currencies")).await.len(),
        2
    );
}

#[tokio::test]
async fn status_is_an_integer_and_an_unknown_number_is_kept_as_its_text() {
    let space = Space::start().await;
    let mut records = page1_records();
    records.extend(
        fixture("list_page2.json")["data"]
            .as_array()
            .cloned()
            .expect("page 2"),
    );
    let mut fourth = records[0].clone();
    fourth["id"] = json!("4d5e6f70-8192-4a3b-8c4d-5e6f708192a3");
    fourth["status"] = json!(5);
    records.push(fourth);
    let statuses: Vec<Value> = records
        .iter()
        .map(|record| record["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(1), json!(3), json!(2), json!(5)]);
    space
        .respond("GET", &entities("Opportunities"), 200, only_page(records))
        .await;

    let page = space.list(10, None).await;

    let got: Vec<Value> = page["result"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| record["status"].clone())
        .collect();
    assert_eq!(
        got,
        [json!("open"), json!("won"), json!("lost"), json!("5")]
    );
}

#[tokio::test]
async fn the_account_is_written_as_the_primary_account_relation() {
    let space = Space::start().await;
    space
        .respond(
            "PATCH",
            &opportunity_path(OPP_ID),
            200,
            fixture("update_response.json"),
        )
        .await;

    space
        .update(json!({"account": {"id": OTHER_ACCOUNT}, "contact": [{"id": CONTACT}, {"id": OTHER_CONTACT}]}))
        .await
        .expect("the update");
    space
        .update(json!({"account": null, "contact": []}))
        .await
        .expect("the unlinking update");

    let patches = space.requests("PATCH", &opportunity_path(OPP_ID)).await;
    assert_eq!(patches.len(), 2);
    assert_eq!(
        body(&patches[0]),
        json!({
            "account_relations": [{"account_id": OTHER_ACCOUNT, "is_primary": true}],
            "contact_relations": [
                {"contact_id": CONTACT, "is_primary": true},
                {"contact_id": OTHER_CONTACT, "is_primary": false}
            ],
        })
    );
    assert_eq!(
        body(&patches[1]),
        json!({"account_relations": [], "contact_relations": []})
    );
}

#[tokio::test]
async fn closing_date_is_a_date_and_timestamps_are_read_with_their_space() {
    let space = Space::start().await;
    space
        .respond(
            "GET",
            &opportunity_path(OPP_ID),
            200,
            fixture("opportunity.json"),
        )
        .await;
    space
        .respond(
            "PATCH",
            &opportunity_path(OPP_ID),
            200,
            fixture("update_response.json"),
        )
        .await;

    let got = space.get(OPP_ID).await;
    // `closing_date: "2024-03-05"`, `created: "2024-01-08 09:15:02.123456+00:00"`.
    assert_eq!(got["close_date"], json!("2024-03-05T00:00:00Z"));
    assert_eq!(got["created_at"], json!("2024-01-08T09:15:02.123456Z"));
    assert_eq!(got["updated_at"], json!("2024-02-11T16:40:27.529970Z"));

    space
        .update(json!({"close_date": "2024-04-09T00:00:00Z"}))
        .await
        .expect("the update");
    let patches = space.requests("PATCH", &opportunity_path(OPP_ID)).await;
    assert_eq!(body(&patches[0]), json!({"closing_date": "2024-04-09"}));
}

#[tokio::test]
async fn a_create_without_owner_stage_close_date_and_amount_is_refused_before_any_call() {
    let space = Space::start().await;
    space
        .respond(
            "POST",
            &entities("Opportunities"),
            201,
            fixture("create_response.json"),
        )
        .await;

    let error = space
        .create(json!({"name": "Expansion - Acme Berlin office"}))
        .await
        .expect_err("Pipeliner needs more");

    match &error {
        UnifiedError::Validation { missing, .. } => {
            let mut missing = missing.clone();
            missing.sort();
            assert_eq!(missing, ["amount", "close_date", "owner", "stage"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(
        space
            .requests("POST", &entities("Opportunities"))
            .await
            .is_empty()
    );
}

// ------------------------------------------------------ filters and lookups

/// Every query pair a request carried, sorted.
fn query_pairs(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

impl Space {
    async fn list_filtered(&self, filters: ListFilters) -> Result<Value, UnifiedError> {
        self.client
            .list(
                &self.account,
                &ListOptions {
                    limit: Some(2),
                    filters,
                    ..ListOptions::default()
                },
            )
            .await
    }

    async fn lookup(&self, lookup: Lookup) -> Value {
        self.client
            .list_lookup(&self.account, lookup, &ListOptions::default())
            .await
            .unwrap_or_else(|error| panic!("{lookup:?}: {error}"))
    }
}

#[tokio::test]
async fn every_supported_filter_goes_out_as_a_filter_pair_together() {
    // `filter[<api_name>]` / `filter-op[<api_name>]` and `order-by`, as
    // Pipeliner's API parameters page and REST reference document them;
    // dates in Pipeliner's UTC form.
    let space = Space::start().await;
    space
        .respond(
            "GET",
            &entities("Opportunities"),
            200,
            fixture("list_page2.json"),
        )
        .await;

    space
        .list_filtered(ListFilters {
            updated_after: Some(
                chrono::DateTime::parse_from_rfc3339("2024-01-15T12:30:00+02:00").unwrap(),
            ),
            created_after: Some(
                chrono::DateTime::parse_from_rfc3339("2023-06-01T00:00:00.25Z").unwrap(),
            ),
            status: Some("won".into()),
            owner_id: Some("00000000-0000-0000-0000-000000011a7d".into()),
            account_id: None,
            sort_by: Some(SortBy::UpdatedAt),
        })
        .await
        .unwrap();

    let lists = space.requests("GET", &entities("Opportunities")).await;
    assert_eq!(lists.len(), 1);
    assert_eq!(
        query_pairs(&lists[0]),
        pairs(&[
            ("first", "2"),
            ("expand", "account_relations,contact_relations"),
            ("filter[modified]", "2024-01-15 10:30:00.000000+00:00"),
            ("filter-op[modified]", "gt"),
            ("filter[created]", "2023-06-01 00:00:00.250000+00:00"),
            ("filter-op[created]", "gt"),
            ("filter[status]", "3"),
            ("filter[owner_id]", "00000000-0000-0000-0000-000000011a7d"),
            ("order-by", "modified,id"),
        ])
    );
}

#[tokio::test]
async fn sort_by_created_at_orders_by_created_then_id_and_no_sort_sends_no_order() {
    let space = Space::start().await;
    space
        .respond(
            "GET",
            &entities("Opportunities"),
            200,
            fixture("list_page2.json"),
        )
        .await;

    space
        .list_filtered(ListFilters {
            sort_by: Some(SortBy::CreatedAt),
            ..ListFilters::default()
        })
        .await
        .unwrap();
    space.list_filtered(ListFilters::default()).await.unwrap();

    let lists = space.requests("GET", &entities("Opportunities")).await;
    assert_eq!(lists.len(), 2);
    assert_eq!(query(&lists[0], "order-by").as_deref(), Some("created,id"));
    assert_eq!(query(&lists[1], "order-by"), None, "Pipeliner's own order");
}

#[tokio::test]
async fn statuses_are_pipeliners_numbers_and_abandoned_is_refused() {
    let space = Space::start().await;
    space
        .respond(
            "GET",
            &entities("Opportunities"),
            200,
            fixture("list_page2.json"),
        )
        .await;

    for (status, code) in [("open", "1"), ("lost", "2"), ("won", "3")] {
        space
            .list_filtered(ListFilters {
                status: Some(status.into()),
                ..ListFilters::default()
            })
            .await
            .unwrap();
        let lists = space.requests("GET", &entities("Opportunities")).await;
        let last = lists.last().expect("a list request");
        assert_eq!(
            query(last, "filter[status]").as_deref(),
            Some(code),
            "{status}"
        );
    }
    let before = space
        .requests("GET", &entities("Opportunities"))
        .await
        .len();
    let error = space
        .list_filtered(ListFilters {
            status: Some("abandoned".into()),
            ..ListFilters::default()
        })
        .await
        .expect_err("Pipeliner has no abandoned status");
    assert!(error.to_string().contains("status"), "{error}");
    assert_eq!(
        space
            .requests("GET", &entities("Opportunities"))
            .await
            .len(),
        before,
        "nothing is sent"
    );
}

#[tokio::test]
async fn the_account_filter_is_refused_with_the_reason() {
    let space = Space::start().await;

    let error = space
        .list_filtered(ListFilters {
            account_id: Some(ACCOUNT.into()),
            ..ListFilters::default()
        })
        .await
        .expect_err("unsupported");

    match &error {
        UnifiedError::InvalidInput { field, message } => {
            assert_eq!(field, "account_id");
            assert!(message.contains("account relations"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        space
            .requests("GET", &entities("Opportunities"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn users_are_every_page_of_the_clients() {
    let space = Space::start().await;
    let first = fixture("users_page1.json");
    let cursor = first["page_info"]["end_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    Mock::given(method("GET"))
        .and(path(entities("Clients")))
        .and(query_param("after", cursor.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users_page2.json")))
        .with_priority(1)
        .mount(&space.server)
        .await;
    Mock::given(method("GET"))
        .and(path(entities("Clients")))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .with_priority(2)
        .mount(&space.server)
        .await;

    let page = space.lookup(Lookup::Users).await;

    let users = page["result"].as_array().unwrap();
    let ids: Vec<&str> = users
        .iter()
        .map(|user| user["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "00000000-0000-0000-0000-000000011a7d",
            "00000000-0000-0000-0000-000000011b02",
            "00000000-0000-0000-0000-000000011c33"
        ]
    );
    assert_eq!(users[0]["name"], "Maria Lindqvist");
    assert_eq!(users[0]["email"], "maria.lindqvist@example.com");
    let calls = space.requests("GET", &entities("Clients")).await;
    assert_eq!(calls.len(), 2, "two pages, then has_next_page is false");
    assert_eq!(query(&calls[0], "first").as_deref(), Some("100"));
    assert_eq!(query(&calls[1], "after"), Some(cursor));
}

#[tokio::test]
async fn stages_are_the_pipeline_steps_with_their_pipelines_name() {
    let space = Space::start().await;

    let page = space.lookup(Lookup::Stages).await;

    let stages = page["result"].as_array().unwrap();
    assert_eq!(stages.len(), 4, "the lead-process step is left out");
    for stage in stages {
        assert_eq!(
            stage["pipeline"]["id"],
            "3c0f8b52-6d7e-4e1a-9b2c-5d6e7f8a9b0c"
        );
        assert_eq!(stage["pipeline"]["name"], "Sales Pipeline");
    }
    assert_eq!(stages[0]["name"], "Qualify");
    assert_eq!(stages[0]["remote_data"]["percent"], 10);
}

#[tokio::test]
async fn custom_fields_are_the_cf_fields_named_by_api_name() {
    let space = Space::start().await;

    let page = space.lookup(Lookup::CustomFields).await;

    let fields = page["result"].as_array().unwrap();
    let names: Vec<&str> = fields
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().all(|name| name.starts_with("cf_")),
        "{names:?}"
    );
    assert!(names.contains(&"cf_region"), "{names:?}");
    assert!(fields.iter().all(|field| field["remote_data"].is_object()));
}
