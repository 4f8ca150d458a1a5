//! Insightly's quirks, end to end: each test talks real HTTP to a wiremock
//! server answering with bodies in Insightly's v3.1 shape
//! (`tests/fixtures/responses/insightly/`, sources in its `SOURCE.md`),
//! and checks what Insightly received and what the caller got.

use crm_runtime::mapping::{ListFilters, SortBy};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::insightly::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Lookup, RequestOptions, UnifiedClient,
    UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const STAGES: &str = include_str!("../../tests/fixtures/responses/insightly/stages.json");
const PIPELINES: &str = include_str!("../../tests/fixtures/responses/insightly/pipelines.json");
const FIELDS: &str = include_str!("../../tests/fixtures/responses/insightly/custom_fields.json");
const OPPORTUNITY: &str = include_str!("../../tests/fixtures/responses/insightly/opportunity.json");
const LIST_PAGE1: &str = include_str!("../../tests/fixtures/responses/insightly/list_page1.json");
const LIST_PAGE2: &str = include_str!("../../tests/fixtures/responses/insightly/list_page2.json");
const CREATED: &str = include_str!("../../tests/fixtures/responses/insightly/create_response.json");
const UPDATED: &str = include_str!("../../tests/fixtures/responses/insightly/update_response.json");
const USERS_PAGE1: &str = include_str!("../../tests/fixtures/responses/insightly/users_page1.json");
const USERS_PAGE2: &str = include_str!("../../tests/fixtures/responses/insightly/users_page2.json");

/// `Basic base64("sekret:")`: the key as user name, an empty password.
const AUTHORIZATION: &str = "Basic c2VrcmV0Og==";
const LOOKUPS: [&str; 3] = [
    "/PipelineStages",
    "/Pipelines",
    "/CustomFields/Opportunities",
];
const OPPORTUNITIES: &str = "/Opportunities";
const ID: &str = "4123456";
const RECORD_PATH: &str = "/Opportunities/4123456";

/// An Insightly account at a wiremock server, the account's lookups
/// answered.
struct Insightly {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
    root: String,
}

impl Insightly {
    async fn start() -> Self {
        Self::start_at("").await
    }

    /// `root`: the path part of the account's `base_url` (`/v3.1`).
    async fn start_at(root: &str) -> Self {
        let server = MockServer::start().await;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            Credentials::Insightly(AccountCredentials {
                api_key: "sekret".into(),
            }),
        )
        .with_base_url(format!("{}{root}", server.uri()));
        let insightly = Insightly {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
            root: root.to_owned(),
        };
        for (at, body) in LOOKUPS.iter().zip([STAGES, PIPELINES, FIELDS]) {
            insightly.respond("GET", at, 200, body).await;
        }
        insightly
    }

    async fn respond(&self, verb: &str, at: &str, status: u16, body: &str) {
        let template = if body.is_empty() {
            ResponseTemplate::new(status)
        } else {
            ResponseTemplate::new(status).set_body_raw(body, "application/json")
        };
        Mock::given(method(verb))
            .and(path(format!("{}{at}", self.root)))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
    }

    async fn requests_to(&self, verb: &str, at: &str) -> Vec<Request> {
        let at = format!("{}{at}", self.root);
        self.requests()
            .await
            .into_iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == at)
            .collect()
    }

    /// Every request that is not a lookup of the account's context, as
    /// `METHOD /path` without the root.
    async fn calls(&self) -> Vec<String> {
        self.requests()
            .await
            .iter()
            .map(|request| {
                let at = request.url.path();
                let at = at.strip_prefix(self.root.as_str()).unwrap_or(at);
                (request.method.to_string(), at.to_owned())
            })
            .filter(|(_, at)| !LOOKUPS.contains(&at.as_str()))
            .map(|(verb, at)| format!("{verb} {at}"))
            .collect()
    }

    async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<Value, UnifiedError> {
        self.client
            .list(
                &self.account,
                &ListOptions {
                    limit,
                    next_cursor: cursor,
                    ..ListOptions::default()
                },
            )
            .await
    }

    async fn get(&self, id: &str) -> Result<Value, UnifiedError> {
        self.client
            .get(&self.account, id, &RequestOptions::default())
            .await
    }

    async fn create(&self, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .create(&self.account, body, &RequestOptions::default())
            .await
    }

    async fn update(&self, id: &str, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .update(&self.account, id, body, &RequestOptions::default())
            .await
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the request body is JSON")
}

fn query(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// The field and value a refused write names: a value Insightly cannot
/// take (a mapping error), or a name the account does not have even after
/// a fresh look (invalid input, whose message quotes the value).
fn mapping_error(error: &UnifiedError) -> (&str, &str) {
    match error {
        UnifiedError::Mapping(error) => (&error.field, &error.value),
        UnifiedError::InvalidInput { field, message } => (
            field,
            message
                .split_once("with value `")
                .and_then(|(_, rest)| rest.split_once("`:"))
                .map_or("", |(value, _)| value),
        ),
        other => panic!("expected a refused write, got {other:?}"),
    }
}

// ------------------------------------------------------ connecting

#[tokio::test]
async fn every_request_carries_the_key_as_basic_user_with_an_empty_password() {
    let insightly = Insightly::start().await;
    insightly.respond("PUT", OPPORTUNITIES, 201, UPDATED).await;
    insightly
        .respond("GET", RECORD_PATH, 200, OPPORTUNITY)
        .await;
    insightly
        .respond("PUT", &format!("{RECORD_PATH}/PipelineStage"), 200, "")
        .await;

    // Lookups, the update, the read of the current stage, the move and
    // the read-back: every kind of call.
    insightly
        .update(ID, json!({"name": "Renamed", "stage": {"id": "824433"}}))
        .await
        .unwrap();

    let requests = insightly.requests().await;
    assert_eq!(requests.len(), 7);
    for request in &requests {
        assert_eq!(
            request
                .headers
                .get("authorization")
                .and_then(|value| value.to_str().ok()),
            Some(AUTHORIZATION),
            "{} {}",
            request.method,
            request.url
        );
    }
}

#[tokio::test]
async fn the_api_root_is_the_accounts_base_url_with_its_pod_and_version() {
    // `https://api.<pod>.insightly.com/v3.1`: the version is in the root.
    let insightly = Insightly::start_at("/v3.1").await;
    insightly
        .respond("GET", RECORD_PATH, 200, OPPORTUNITY)
        .await;

    let got = insightly.get(ID).await.unwrap();

    assert_eq!(got["id"], ID);
    assert_eq!(
        insightly
            .requests()
            .await
            .iter()
            .map(|request| request.url.path().to_owned())
            .collect::<Vec<_>>(),
        [
            "/v3.1/PipelineStages",
            "/v3.1/Pipelines",
            "/v3.1/CustomFields/Opportunities",
            "/v3.1/Opportunities/4123456"
        ]
    );
}

// ------------------------------------------------------ reading

#[tokio::test]
async fn get_maps_the_upper_snake_record() {
    let insightly = Insightly::start().await;
    insightly
        .respond("GET", RECORD_PATH, 200, OPPORTUNITY)
        .await;

    let got = insightly.get(ID).await.unwrap();

    let mut expected = json!({
        "id": ID,
        "name": "Acme renewal 2025",
        "description": "Three-year renewal, procurement in March.",
        "amount": 24000.0,
        "currency": "USD",
        "owner": {"id": "1093279"},
        "account": {"id": "139023483"},
        // The `Contact` links; the `Organisation` link is the account.
        "contact": [{"id": "301234567"}, {"id": "301234568"}],
        "stage": {"id": "824432", "name": "Qualification"},
        "status": "open",
        "custom_fields": {
            "Region__c": "EMEA",
            // A DATE field: `2025-04-01 00:00:00` as an ISO date.
            "Contract_Start__c": "2025-04-01",
            "Seats__c": 25,
            "OPPORTUNITY_FIELD_1": true
        },
        // `yyyy-MM-dd HH:mm:ss`, UTC without offset.
        "last_activity_at": "2025-02-03T11:10:09Z",
        "close_date": "2025-03-07T00:00:00Z",
        "created_at": "2024-11-05T09:14:22Z",
        "updated_at": "2025-02-03T11:10:09Z",
    });
    expected["remote_data"] = parse(OPPORTUNITY);
    assert_eq!(got, expected);
}

#[tokio::test]
async fn list_pages_with_skip_and_top_until_a_short_page() {
    let insightly = Insightly::start().await;
    for (skip, page) in [("0", LIST_PAGE1), ("3", LIST_PAGE2)] {
        Mock::given(method("GET"))
            .and(path(OPPORTUNITIES))
            .and(query_param("skip", skip))
            .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
            .mount(&insightly.server)
            .await;
    }

    let first = insightly.list(Some(3), None).await.unwrap();
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some(), "a full page has a next page");
    let second = insightly.list(Some(3), cursor).await.unwrap();

    let ids: Vec<&str> = first["result"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["result"].as_array().unwrap())
        .map(|record| record["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4123456", "4123457", "4123458", "4123459", "4123460"]);
    assert_eq!(second["next_cursor"], Value::Null, "two of three: the last");
    let lists = insightly.requests_to("GET", OPPORTUNITIES).await;
    assert_eq!(lists.len(), 2);
    // Never `brief=true`: it drops the custom fields and links.
    assert_eq!(query(&lists[0]), pairs(&[("skip", "0"), ("top", "3")]));
    assert_eq!(query(&lists[1]), pairs(&[("skip", "3"), ("top", "3")]));
}

#[tokio::test]
async fn suspended_is_kept_and_a_per_month_bid_reads_its_total() {
    let insightly = Insightly::start().await;
    insightly
        .respond("GET", OPPORTUNITIES, 200, LIST_PAGE1)
        .await;

    let page = insightly.list(Some(3), None).await.unwrap();

    let suspended = &page["result"][2];
    assert_eq!(suspended["id"], "4123458");
    assert_eq!(parse(LIST_PAGE1)[2]["OPPORTUNITY_STATE"], "SUSPENDED");
    assert_eq!(suspended["status"], "suspended");
    // `BID_TYPE: Per Month`, `BID_AMOUNT` 150 a month over 12 months.
    assert_eq!(parse(LIST_PAGE1)[2]["BID_AMOUNT"], 150);
    assert_eq!(suspended["amount"], json!(1800.0));
    assert_eq!(page["result"][1]["status"], "won");
}

// ------------------------------------------------------ creating

#[tokio::test]
async fn create_sends_the_stage_with_its_pipeline_and_defaults_the_state_to_open() {
    let insightly = Insightly::start().await;
    insightly.respond("POST", OPPORTUNITIES, 201, CREATED).await;

    let created = insightly
        .create(json!({
            "name": "Acme renewal 2025",
            "description": "Three-year renewal",
            "amount": 24000,
            "currency": "USD",
            "owner": {"id": "1093279"},
            "account": {"id": "139023483"},
            "contact": [{"id": "301234567"}],
            "stage": {"id": "824441"},
            "close_date": "2025-03-07T00:00:00Z",
            "custom_fields": {"Region__c": "EMEA", "Contract_Start__c": "2025-04-01"},
        }))
        .await
        .unwrap();

    let posts = insightly.requests_to("POST", OPPORTUNITIES).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        body(&posts[0]),
        json!({
            "OPPORTUNITY_NAME": "Acme renewal 2025",
            "OPPORTUNITY_DETAILS": "Three-year renewal",
            // No status given: open.
            "OPPORTUNITY_STATE": "OPEN",
            "BID_CURRENCY": "USD",
            "BID_AMOUNT": 24000,
            "BID_TYPE": "Fixed Bid",
            "FORECAST_CLOSE_DATE": "2025-03-07 00:00:00",
            "OWNER_USER_ID": 1093279,
            "ORGANISATION_ID": 139023483,
            // `Quote sent` is a stage of the `Services` pipeline.
            "PIPELINE_ID": 259548,
            "STAGE_ID": 824441,
            "CUSTOMFIELDS": [
                {"FIELD_NAME": "Contract_Start__c", "FIELD_VALUE": "2025-04-01 00:00:00"},
                {"FIELD_NAME": "Region__c", "FIELD_VALUE": "EMEA"}
            ],
            "LINKS": [{"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": 301234567}],
        })
    );
    assert_eq!(created["id"], "4123499");
    assert_eq!(created["remote_data"], parse(CREATED));
    assert_eq!(insightly.calls().await, ["POST /Opportunities"]);
}

#[tokio::test]
async fn create_sends_the_state_asked_for() {
    let insightly = Insightly::start().await;
    insightly.respond("POST", OPPORTUNITIES, 201, CREATED).await;

    insightly
        .create(json!({"name": "Lost cause", "status": "lost"}))
        .await
        .unwrap();

    let posts = insightly.requests_to("POST", OPPORTUNITIES).await;
    assert_eq!(
        body(&posts[0]),
        json!({"OPPORTUNITY_NAME": "Lost cause", "OPPORTUNITY_STATE": "LOST"})
    );
}

#[tokio::test]
async fn a_stage_of_a_project_pipeline_is_refused_before_any_call() {
    let insightly = Insightly::start().await;

    // `Kick-off` belongs to `Onboarding project` (FOR_OPPORTUNITIES false).
    let error = insightly
        .create(json!({"name": "Acme", "stage": {"id": "824450"}}))
        .await
        .unwrap_err();

    assert_eq!(mapping_error(&error), ("stage", "824450"));
    assert!(insightly.calls().await.is_empty());
}

#[tokio::test]
async fn a_fractional_amount_is_refused_naming_amount_before_any_call() {
    let insightly = Insightly::start().await;

    let created = insightly
        .create(json!({"name": "Acme", "amount": 24000.5}))
        .await
        .unwrap_err();
    let updated = insightly
        .update(ID, json!({"amount": 0.01}))
        .await
        .unwrap_err();

    assert_eq!(mapping_error(&created), ("amount", "24000.5"));
    assert_eq!(mapping_error(&updated), ("amount", "0.01"));
    assert!(insightly.calls().await.is_empty());
}

// ------------------------------------------------------ updating

#[tokio::test]
async fn update_is_a_put_to_the_collection_with_the_id_in_the_body() {
    let insightly = Insightly::start().await;
    insightly.respond("PUT", OPPORTUNITIES, 201, UPDATED).await;

    let updated = insightly
        .update(
            ID,
            json!({
                "amount": 26000,
                "status": "won",
                "close_date": null,
                "description": null,
                "custom_fields": {"Seats__c": 30, "Region__c": null},
            }),
        )
        .await
        .unwrap();

    assert_eq!(
        insightly.calls().await,
        ["PUT /Opportunities"],
        "no PUT /Opportunities/{{id}}: it does not exist"
    );
    let puts = insightly.requests_to("PUT", OPPORTUNITIES).await;
    assert_eq!(
        body(&puts[0]),
        json!({
            "OPPORTUNITY_ID": 4123456,
            "OPPORTUNITY_DETAILS": null,
            // The state is writable, upper case.
            "OPPORTUNITY_STATE": "WON",
            "BID_AMOUNT": 26000,
            "BID_TYPE": "Fixed Bid",
            "FORECAST_CLOSE_DATE": null,
            "CUSTOMFIELDS": [
                {"FIELD_NAME": "Region__c", "FIELD_VALUE": null},
                {"FIELD_NAME": "Seats__c", "FIELD_VALUE": 30}
            ],
        })
    );
    // The PUT answers the record: no read-back.
    assert_eq!(updated["status"], "won");
    assert_eq!(updated["amount"], json!(26000.0));
    assert_eq!(updated["remote_data"], parse(UPDATED));
}

#[tokio::test]
async fn a_stage_change_goes_through_pipeline_stage_and_the_record_is_read_back() {
    let insightly = Insightly::start().await;
    insightly.respond("PUT", OPPORTUNITIES, 201, UPDATED).await;
    insightly
        .respond("PUT", &format!("{RECORD_PATH}/PipelineStage"), 200, "")
        .await;
    // The record after the move.
    let mut moved = parse(OPPORTUNITY);
    moved["STAGE_ID"] = json!(824433);
    let moved = moved.to_string();
    Mock::given(method("GET"))
        .and(path(RECORD_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(OPPORTUNITY, "application/json"))
        .up_to_n_times(1)
        .mount(&insightly.server)
        .await;
    insightly.respond("GET", RECORD_PATH, 200, &moved).await;

    let updated = insightly
        .update(ID, json!({"stage": {"id": "824433"}}))
        .await
        .unwrap();

    assert_eq!(
        insightly.calls().await,
        [
            "PUT /Opportunities",
            "GET /Opportunities/4123456",
            "PUT /Opportunities/4123456/PipelineStage",
            "GET /Opportunities/4123456"
        ]
    );
    // No stage in the PUT: it does not move an opportunity.
    let puts = insightly.requests_to("PUT", OPPORTUNITIES).await;
    assert_eq!(body(&puts[0]), json!({"OPPORTUNITY_ID": 4123456}));
    let moves = insightly
        .requests_to("PUT", &format!("{RECORD_PATH}/PipelineStage"))
        .await;
    assert_eq!(
        body(&moves[0]),
        json!({"PIPELINE_ID": 259547, "PIPELINE_STAGE_CHANGE": {"STAGE_ID": 824433}})
    );
    // The answer is the record read back, not the PUT's.
    assert_eq!(
        updated["stage"],
        json!({"id": "824433", "name": "Proposal"})
    );
}

#[tokio::test]
async fn a_stage_of_another_pipeline_goes_through_pipeline() {
    let insightly = Insightly::start().await;
    insightly.respond("PUT", OPPORTUNITIES, 201, UPDATED).await;
    insightly
        .respond("PUT", &format!("{RECORD_PATH}/Pipeline"), 200, "")
        .await;
    insightly
        .respond("GET", RECORD_PATH, 200, OPPORTUNITY)
        .await;

    // `Discovery` is in `Services`; the record is in `New business`.
    insightly
        .update(ID, json!({"stage": {"id": "824440"}}))
        .await
        .unwrap();

    let moves = insightly
        .requests_to("PUT", &format!("{RECORD_PATH}/Pipeline"))
        .await;
    assert_eq!(moves.len(), 1);
    assert_eq!(
        body(&moves[0]),
        json!({"PIPELINE_ID": 259548, "PIPELINE_STAGE_CHANGE": {"STAGE_ID": 824440}})
    );
    assert!(
        insightly
            .requests_to("PUT", &format!("{RECORD_PATH}/PipelineStage"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn contacts_change_through_their_links() {
    let insightly = Insightly::start().await;
    insightly.respond("PUT", OPPORTUNITIES, 201, UPDATED).await;
    // Linked now: contacts 301234567 (link 9001001) and 301234568.
    insightly
        .respond("GET", RECORD_PATH, 200, OPPORTUNITY)
        .await;
    insightly
        .respond("DELETE", &format!("{RECORD_PATH}/Links/9001001"), 202, "")
        .await;
    insightly
        .respond(
            "POST",
            &format!("{RECORD_PATH}/Links"),
            201,
            &json!({"LINK_ID": 9001009, "LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": 301234599})
                .to_string(),
        )
        .await;

    insightly
        .update(
            ID,
            json!({"contact": [{"id": "301234568"}, {"id": "301234599"}]}),
        )
        .await
        .unwrap();

    let calls = insightly.calls().await;
    assert!(
        calls.contains(&"DELETE /Opportunities/4123456/Links/9001001".to_owned()),
        "{calls:?}"
    );
    let added = insightly
        .requests_to("POST", &format!("{RECORD_PATH}/Links"))
        .await;
    assert_eq!(added.len(), 1);
    assert_eq!(
        body(&added[0]),
        json!({"LINK_OBJECT_NAME": "Contact", "LINK_OBJECT_ID": 301234599})
    );
    // The organisation's link is left alone.
    assert!(!calls.iter().any(|call| call.ends_with("/Links/9001003")));
    // The PUT carries no LINKS.
    let puts = insightly.requests_to("PUT", OPPORTUNITIES).await;
    assert_eq!(body(&puts[0]), json!({"OPPORTUNITY_ID": 4123456}));
}

// ------------------------------------------------------ deleting

#[tokio::test]
async fn delete_answers_202_without_a_body_and_the_caller_gets_the_id() {
    let insightly = Insightly::start().await;
    insightly.respond("DELETE", RECORD_PATH, 202, "").await;

    let deleted = insightly
        .client
        .delete(&insightly.account, ID, &RequestOptions::default())
        .await
        .unwrap();

    assert_eq!(deleted["id"], ID);
    assert_eq!(insightly.calls().await, ["DELETE /Opportunities/4123456"]);
}

// ------------------------------------------------------ filters and lookups

const SEARCH: &str = "/Opportunities/Search";

impl Insightly {
    async fn list_filtered(&self, filters: ListFilters) -> Result<Value, UnifiedError> {
        self.client
            .list(
                &self.account,
                &ListOptions {
                    limit: Some(3),
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

    /// Every item of a lookup, across its pages (100 a page).
    async fn lookup_all(&self, lookup: Lookup) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor = None;
        for _ in 0..20 {
            let page = self
                .client
                .list_lookup(
                    &self.account,
                    lookup,
                    &ListOptions {
                        next_cursor: cursor,
                        ..ListOptions::default()
                    },
                )
                .await
                .unwrap_or_else(|error| panic!("{lookup:?}: {error}"));
            items.extend(page["result"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        items
    }
}

fn instant(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 instant")
}

#[tokio::test]
async fn filters_go_to_the_search_as_updated_after_and_one_field_condition() {
    // `GET /Opportunities/Search` with `updated_after_utc` and
    // `field_name` / `field_value` (reference, "Gets a filtered list of
    // Opportunities"), paged like the plain list.
    let insightly = Insightly::start().await;
    insightly.respond("GET", SEARCH, 200, LIST_PAGE1).await;

    let page = insightly
        .list_filtered(ListFilters {
            updated_after: Some(instant("2024-01-15T12:30:00.75+02:00")),
            status: Some("won".into()),
            ..ListFilters::default()
        })
        .await
        .unwrap();

    assert_eq!(page["result_count"], 3);
    let searches = insightly.requests_to("GET", SEARCH).await;
    assert_eq!(searches.len(), 1);
    assert_eq!(
        query(&searches[0]),
        pairs(&[
            ("field_name", "OPPORTUNITY_STATE"),
            ("field_value", "WON"),
            ("updated_after_utc", "2024-01-15T10:30:00Z"),
            ("skip", "0"),
            ("top", "3"),
        ])
    );
    assert!(
        insightly.requests_to("GET", OPPORTUNITIES).await.is_empty(),
        "a filtered list is a search"
    );
}

#[tokio::test]
async fn owner_and_account_are_field_conditions_on_their_ids() {
    let insightly = Insightly::start().await;
    insightly.respond("GET", SEARCH, 200, "[]").await;

    insightly
        .list_filtered(ListFilters {
            owner_id: Some("1093279".into()),
            ..ListFilters::default()
        })
        .await
        .unwrap();
    insightly
        .list_filtered(ListFilters {
            account_id: Some("139023483".into()),
            ..ListFilters::default()
        })
        .await
        .unwrap();

    let searches = insightly.requests_to("GET", SEARCH).await;
    assert_eq!(searches.len(), 2);
    assert_eq!(
        query(&searches[0]),
        pairs(&[
            ("field_name", "OWNER_USER_ID"),
            ("field_value", "1093279"),
            ("skip", "0"),
            ("top", "3"),
        ])
    );
    assert_eq!(
        query(&searches[1]),
        pairs(&[
            ("field_name", "ORGANISATION_ID"),
            ("field_value", "139023483"),
            ("skip", "0"),
            ("top", "3"),
        ])
    );
}

#[tokio::test]
async fn a_filtered_walk_pages_the_search_with_the_same_conditions() {
    let insightly = Insightly::start().await;
    for (skip, page) in [("0", LIST_PAGE1), ("3", LIST_PAGE2)] {
        Mock::given(method("GET"))
            .and(path(SEARCH))
            .and(query_param("skip", skip))
            .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
            .mount(&insightly.server)
            .await;
    }
    let filters = ListFilters {
        updated_after: Some(instant("2024-01-15T10:30:00Z")),
        ..ListFilters::default()
    };

    let first = insightly.list_filtered(filters.clone()).await.unwrap();
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some(), "a full page has a next page");
    let second = insightly
        .client
        .list(
            &insightly.account,
            &ListOptions {
                limit: Some(3),
                next_cursor: cursor,
                filters,
                ..ListOptions::default()
            },
        )
        .await
        .unwrap();

    assert_eq!(second["next_cursor"], Value::Null, "two of three: the last");
    let searches = insightly.requests_to("GET", SEARCH).await;
    assert_eq!(searches.len(), 2);
    assert_eq!(
        query(&searches[1]),
        pairs(&[
            ("updated_after_utc", "2024-01-15T10:30:00Z"),
            ("skip", "3"),
            ("top", "3"),
        ])
    );
}

#[tokio::test]
async fn two_field_conditions_are_refused_naming_the_second() {
    let insightly = Insightly::start().await;

    let error = insightly
        .list_filtered(ListFilters {
            status: Some("open".into()),
            owner_id: Some("1093279".into()),
            ..ListFilters::default()
        })
        .await
        .unwrap_err();

    match &error {
        UnifiedError::InvalidInput { field, message } => {
            assert_eq!(field, "owner_id");
            assert!(message.contains("one field condition"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(insightly.calls().await.is_empty(), "nothing is sent");
}

#[tokio::test]
async fn creation_time_and_sorting_are_refused_with_the_reason() {
    let insightly = Insightly::start().await;
    for (name, filters) in [
        (
            "created_at[gt]",
            ListFilters {
                created_after: Some(instant("2024-01-15T10:30:00Z")),
                ..ListFilters::default()
            },
        ),
        (
            "sort_by",
            ListFilters {
                sort_by: Some(SortBy::UpdatedAt),
                ..ListFilters::default()
            },
        ),
    ] {
        let error = insightly.list_filtered(filters).await.unwrap_err();
        match &error {
            UnifiedError::InvalidInput { field, message } => {
                assert_eq!(field, name);
                assert!(message.contains("Insightly"), "{message}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    assert!(insightly.calls().await.is_empty(), "nothing is sent");
}

#[tokio::test]
async fn users_are_every_page_of_users_until_a_short_one() {
    let insightly = Insightly::start().await;
    // A full first page (500 users: the fixture's two, then numbered
    // copies), then the fixture's short last page.
    let mut first: Vec<Value> = serde_json::from_str(USERS_PAGE1).unwrap();
    let template = first[1].clone();
    for n in 0..(500 - first.len()) {
        let mut user = template.clone();
        user["USER_ID"] = json!(2_000_000 + n);
        first.push(user);
    }
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(query_param("skip", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&first))
        .mount(&insightly.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/Users"))
        .and(query_param("skip", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(USERS_PAGE2, "application/json"))
        .mount(&insightly.server)
        .await;

    let users = insightly.lookup_all(Lookup::Users).await;

    assert_eq!(users.len(), 501);
    assert_eq!(users[0]["id"], "1093279");
    assert_eq!(users[0]["name"], "Hannah Okafor");
    assert_eq!(users[0]["email"], "hannah.okafor@example.com");
    assert_eq!(users[500]["id"], "1093301");
    assert_eq!(users[500]["remote_data"]["ACTIVE"], false);
    let calls = insightly.requests_to("GET", "/Users").await;
    // The lookup's later pages read the first one's snapshot.
    assert_eq!(calls.len(), 2, "the short page is the last");
    assert_eq!(query(&calls[0]), pairs(&[("skip", "0"), ("top", "500")]));
    assert_eq!(query(&calls[1]), pairs(&[("skip", "500"), ("top", "500")]));
}

#[tokio::test]
async fn stages_are_those_of_opportunity_pipelines_with_the_pipelines_name() {
    let insightly = Insightly::start().await;

    let page = insightly.lookup(Lookup::Stages).await;

    let stages = page["result"].as_array().unwrap();
    let project_stages: Vec<i64> = parse(STAGES)
        .as_array()
        .unwrap()
        .iter()
        .filter(|stage| stage["PIPELINE_ID"] == 259549)
        .map(|stage| stage["STAGE_ID"].as_i64().unwrap())
        .collect();
    assert!(
        !project_stages.is_empty(),
        "the fixture has a project pipeline"
    );
    for stage in stages {
        assert_ne!(
            stage["pipeline"]["id"], "259549",
            "no project pipeline stage"
        );
    }
    let qualification = stages
        .iter()
        .find(|stage| stage["id"] == "824432")
        .expect("stage 824432");
    assert_eq!(qualification["name"], "Qualification");
    assert_eq!(qualification["pipeline"]["id"], "259547");
    assert_eq!(qualification["pipeline"]["name"], "New business");
    assert_eq!(qualification["remote_data"]["STAGE_ORDER"], 1);
}

#[tokio::test]
async fn custom_fields_are_named_by_field_name() {
    let insightly = Insightly::start().await;

    let page = insightly.lookup(Lookup::CustomFields).await;

    let fields = page["result"].as_array().unwrap();
    let expected: Vec<Value> = parse(FIELDS)
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["FIELD_NAME"].clone())
        .collect();
    let names: Vec<Value> = fields.iter().map(|field| field["name"].clone()).collect();
    assert_eq!(names, expected);
    assert!(fields.iter().all(|field| field["remote_data"].is_object()));
}
