//! Freshsales' quirks, end to end: each test talks real HTTP to a wiremock
//! server answering with bodies in Freshsales' real shape
//! (`tests/fixtures/responses/freshsales/`, sources in its `SOURCE.md`),
//! and checks what Freshsales received and what the caller got.

use crm_runtime::mapping::{ListFilters, SortBy};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::freshsales::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Lookup, RequestOptions, UnifiedClient,
    UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const FILTERS: &str = include_str!("../../tests/fixtures/responses/freshsales/filters.json");
const STAGES: &str = include_str!("../../tests/fixtures/responses/freshsales/stages.json");
const CURRENCIES: &str = include_str!("../../tests/fixtures/responses/freshsales/currencies.json");
const FIELDS: &str = include_str!("../../tests/fixtures/responses/freshsales/custom_fields.json");
const OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/freshsales/opportunity.json");
const LIST_PAGE1: &str = include_str!("../../tests/fixtures/responses/freshsales/list_page1.json");
const LIST_PAGE2: &str = include_str!("../../tests/fixtures/responses/freshsales/list_page2.json");
const CREATED: &str =
    include_str!("../../tests/fixtures/responses/freshsales/create_response.json");
const UPDATED: &str =
    include_str!("../../tests/fixtures/responses/freshsales/update_response.json");
const USERS: &str = include_str!("../../tests/fixtures/responses/freshsales/users.json");

const VIEWS_PATH: &str = "/api/deals/filters";
const STAGES_PATH: &str = "/api/selector/deal_stages";
const CURRENCIES_PATH: &str = "/api/selector/currencies";
const FIELDS_PATH: &str = "/api/settings/deals/fields";
/// `filters.json`: "My Deals" comes first, "All Deals" second.
const MY_DEALS_VIEW: &str = "70000057383";
const ALL_DEALS_PATH: &str = "/api/deals/view/70000057384";
const DEALS_PATH: &str = "/api/deals";
const DEAL_ID: &str = "70001234567";
const DEAL_PATH: &str = "/api/deals/70001234567";

/// A Freshsales account at a wiremock server (its `base_url` plus
/// `root`), the account's lookups answered.
struct Freshsales {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Freshsales {
    async fn start() -> Self {
        Self::start_at("", FILTERS).await
    }

    async fn start_at(root: &str, filters: &str) -> Self {
        let server = MockServer::start().await;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            Credentials::Freshsales(AccountCredentials {
                api_key: "sekret".into(),
            }),
        )
        .with_base_url(format!("{}{root}", server.uri()));
        let freshsales = Freshsales {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        };
        for (at, body) in [
            (VIEWS_PATH, filters),
            (STAGES_PATH, STAGES),
            (CURRENCIES_PATH, CURRENCIES),
            (FIELDS_PATH, FIELDS),
        ] {
            freshsales
                .respond("GET", &format!("{root}{at}"), 200, body)
                .await;
        }
        freshsales
    }

    async fn respond(&self, verb: &str, at: &str, status: u16, body: &str) {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
            .mount(&self.server)
            .await;
    }

    async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
    }

    /// The requests to `verb` `at`.
    async fn requests_to(&self, verb: &str, at: &str) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == at)
            .collect()
    }

    /// Every request that is not a lookup of the account's context.
    async fn calls(&self) -> Vec<String> {
        self.requests()
            .await
            .iter()
            .filter(|request| {
                ![VIEWS_PATH, STAGES_PATH, CURRENCIES_PATH, FIELDS_PATH]
                    .iter()
                    .any(|lookup| request.url.path().ends_with(lookup))
            })
            .map(|request| format!("{} {}", request.method, request.url.path()))
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

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The field and value a refused write names: a value Freshsales cannot
/// take (a mapping error), or a name the account does not have even after
/// a fresh look (invalid input, whose message quotes the value).
fn mapping_error(error: &UnifiedError) -> (String, String) {
    match error {
        UnifiedError::Mapping(error) => (error.field.clone(), error.value.clone()),
        UnifiedError::InvalidInput { field, message } => {
            let value = message
                .split_once("with value `")
                .and_then(|(_, rest)| rest.split_once("`:"))
                .map(|(value, _)| value.to_owned())
                .unwrap_or_default();
            (field.clone(), value)
        }
        other => panic!("expected a refused write, got {other:?}"),
    }
}

/// The minimal create the account accepts (its fields list requires
/// `sales_account_id`, and Freshsales `name` and `amount`).
fn minimal_create() -> Value {
    json!({"name": "Acme renewal 2025", "amount": 1500.5, "account": {"id": "70000512001"}})
}

// ------------------------------------------------------ connecting

#[tokio::test]
async fn every_request_carries_the_key_as_token_token() {
    let freshsales = Freshsales::start().await;
    freshsales.respond("GET", DEAL_PATH, 200, OPPORTUNITY).await;

    freshsales.get(DEAL_ID).await.unwrap();

    let requests = freshsales.requests().await;
    assert_eq!(requests.len(), 5, "four lookups and the get");
    for request in &requests {
        assert_eq!(
            request
                .headers
                .get("authorization")
                .and_then(|value| value.to_str().ok()),
            Some("Token token=sekret"),
            "{} {}",
            request.method,
            request.url
        );
    }
}

#[tokio::test]
async fn the_api_root_is_the_accounts_base_url_with_its_path() {
    // `https://<alias>.myfreshworks.com/crm/sales`: the path is part of it.
    let freshsales = Freshsales::start_at("/crm/sales", FILTERS).await;
    freshsales
        .respond("GET", &format!("/crm/sales{DEAL_PATH}"), 200, OPPORTUNITY)
        .await;

    let got = freshsales.get(DEAL_ID).await.unwrap();

    assert_eq!(got["id"], DEAL_ID);
    assert_eq!(
        freshsales.calls().await,
        [format!("GET /crm/sales{DEAL_PATH}")]
    );
}

#[tokio::test]
async fn an_account_without_base_url_is_refused_before_any_call() {
    let freshsales = Freshsales::start().await;
    let mut account = freshsales.account.clone();
    account.base_url = None;

    let error = freshsales
        .client
        .get(&account, DEAL_ID, &RequestOptions::default())
        .await
        .unwrap_err();

    match &error {
        UnifiedError::InvalidInput { field, .. } => assert_eq!(field, "base_url"),
        other => panic!("expected base_url to be named, got {other:?}"),
    }
    assert!(freshsales.requests().await.is_empty());
}

// ------------------------------------------------------ listing through a view

#[tokio::test]
async fn list_goes_through_the_all_deals_view_not_my_deals() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE1)
        .await;

    let page = freshsales.list(Some(3), None).await.unwrap();

    assert_eq!(page["result_count"], 3);
    let lists = freshsales.requests_to("GET", ALL_DEALS_PATH).await;
    assert_eq!(lists.len(), 1);
    assert_eq!(query(&lists[0], "page").as_deref(), Some("1"));
    assert_eq!(query(&lists[0], "per_page").as_deref(), Some("3"));
    // Ordered by creation: an edited deal keeps its place in the walk.
    assert_eq!(query(&lists[0], "sort").as_deref(), Some("created_at"));
    assert_eq!(query(&lists[0], "sort_type").as_deref(), Some("asc"));
    assert!(
        freshsales
            .requests()
            .await
            .iter()
            .all(|request| !request.url.path().contains(MY_DEALS_VIEW)),
        "My Deals is never listed"
    );
}

#[tokio::test]
async fn list_pages_to_the_short_last_page() {
    let freshsales = Freshsales::start().await;
    Mock::given(method("GET"))
        .and(path(ALL_DEALS_PATH))
        .and(wiremock::matchers::query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(LIST_PAGE1, "application/json"))
        .mount(&freshsales.server)
        .await;
    Mock::given(method("GET"))
        .and(path(ALL_DEALS_PATH))
        .and(wiremock::matchers::query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(LIST_PAGE2, "application/json"))
        .mount(&freshsales.server)
        .await;

    let first = freshsales.list(Some(3), None).await.unwrap();
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some(), "a full page has a next page");
    let second = freshsales.list(Some(3), cursor).await.unwrap();

    let ids: Vec<&str> = first["result"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["result"].as_array().unwrap())
        .map(|record| record["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "70001234567",
            "70001234568",
            "70001234569",
            "70001234570",
            "70001234571"
        ]
    );
    assert_eq!(second["next_cursor"], Value::Null, "two of three: the last");
    assert_eq!(freshsales.requests_to("GET", ALL_DEALS_PATH).await.len(), 2);
}

#[tokio::test]
async fn an_account_without_an_all_deals_view_fails_the_list_naming_it() {
    // Renamed: only "My Deals" and a custom view are left.
    let filters = json!({"filters": [
        parse(FILTERS)["filters"][0].clone(),
        parse(FILTERS)["filters"][6].clone(),
    ]})
    .to_string();
    let freshsales = Freshsales::start_at("", &filters).await;

    let error = freshsales.list(Some(3), None).await.unwrap_err();

    // The account's setup, not the caller's query: a mapping error (502
    // from the server), never a 400 as a filter the caller gave would be.
    assert!(matches!(error, UnifiedError::Mapping(_)), "{error:?}");
    let (field, value) = mapping_error(&error);
    assert_eq!((field.as_str(), value.as_str()), ("view", "All Deals"));
    assert!(freshsales.calls().await.is_empty(), "no view is listed");
}

// ------------------------------------------------------ reading

#[tokio::test]
async fn get_maps_every_field_and_asks_for_the_contacts() {
    let freshsales = Freshsales::start().await;
    freshsales.respond("GET", DEAL_PATH, 200, OPPORTUNITY).await;

    let got = freshsales.get(DEAL_ID).await.unwrap();

    let mut expected = json!({
        "id": DEAL_ID,
        "name": "Acme renewal 2025",
        // `"amount": "1500.5"`: a decimal string.
        "amount": 1500.5,
        // `currency_id` 70000000022 in `currencies.json`.
        "currency": "EUR",
        "owner": {"id": "70000011234"},
        "account": {"id": "70000512001"},
        "contact": [{"id": "70002345001"}, {"id": "70002345002"}],
        "stage": {"id": "70000231002", "name": "Qualification"},
        // The stage's `forecast_type` is `Open`.
        "status": "open",
        "custom_fields": {
            "cf_region": "EMEA",
            "cf_contract_start": "2025-04-01",
            "cf_seats": 25,
            "cf_competitors": ["Globex", "Initech"]
        },
        "close_date": "2025-03-07T00:00:00Z",
        "created_at": "2024-11-05T09:14:22Z",
        "updated_at": "2025-02-03T16:40:09+05:30",
    });
    expected["remote_data"] = parse(OPPORTUNITY)["deal"].clone();
    assert_eq!(got, expected);
    let gets = freshsales.requests_to("GET", DEAL_PATH).await;
    assert_eq!(query(&gets[0], "include").as_deref(), Some("contacts"));
}

#[tokio::test]
async fn amounts_are_read_as_numbers_or_decimal_strings() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE1)
        .await;
    let first = freshsales.list(Some(3), None).await.unwrap();
    let freshsales2 = Freshsales::start().await;
    freshsales2
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE2)
        .await;
    let second = freshsales2.list(Some(3), None).await.unwrap();

    let amounts: Vec<Value> = first["result"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["result"].as_array().unwrap())
        .map(|record| record["amount"].clone())
        .collect();
    // "1500.5", 12000, 45000.75, then page 2's two deals.
    let provider: Vec<Value> = parse(LIST_PAGE1)["deals"]
        .as_array()
        .unwrap()
        .iter()
        .chain(parse(LIST_PAGE2)["deals"].as_array().unwrap())
        .map(|deal| deal["amount"].clone())
        .collect();
    assert_eq!(provider[0], json!("1500.5"), "the fixture's decimal string");
    assert_eq!(provider[4], json!("2.0"), "the fixture's decimal string");
    assert_eq!(amounts[0], json!(1500.5));
    assert_eq!(amounts[1], json!(12000.0));
    assert_eq!(amounts[2], json!(45000.75));
    assert_eq!(amounts[4], json!(2.0));
    for (amount, deal) in amounts.iter().zip(&provider) {
        if deal.is_null() {
            assert!(amount.is_null());
        } else {
            assert!(amount.is_number(), "{amount} from {deal}");
        }
    }
}

#[tokio::test]
async fn the_status_is_the_stages_forecast_type() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE1)
        .await;

    let page = freshsales.list(Some(3), None).await.unwrap();

    let records = page["result"].as_array().unwrap();
    let seen: Vec<(Value, Value)> = records
        .iter()
        .map(|record| (record["stage"].clone(), record["status"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                json!({"id": "70000231002", "name": "Qualification"}),
                json!("open")
            ),
            // forecast_type "Closed Won"
            (json!({"id": "70000231005", "name": "Won"}), json!("won")),
            // forecast_type "Closed Lost"
            (json!({"id": "70000231006", "name": "Lost"}), json!("lost")),
        ]
    );
    // The deal itself carries no status: it is the stage's.
    for deal in parse(LIST_PAGE1)["deals"].as_array().unwrap() {
        assert!(deal.get("status").is_none());
    }
}

#[tokio::test]
async fn a_deal_without_currency_id_has_no_currency() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE1)
        .await;

    let page = freshsales.list(Some(3), None).await.unwrap();

    // 70000000022 is EUR, `null`, 70000000021 is USD.
    let currencies: Vec<Value> = page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record.get("currency").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(currencies, [json!("EUR"), Value::Null, json!("USD")]);
}

// ------------------------------------------------------ writing

#[tokio::test]
async fn create_wraps_the_deal_and_maps_currency_stage_contacts_and_custom_fields() {
    let freshsales = Freshsales::start().await;
    freshsales.respond("POST", DEALS_PATH, 200, CREATED).await;

    let created = freshsales
        .create(json!({
            "name": "Acme renewal 2025",
            "amount": 1500.5,
            "currency": "EUR",
            "owner": {"id": "70000011234"},
            "account": {"id": "70000512001"},
            "contact": [{"id": "70002345001"}],
            "stage": {"id": "70000232002"},
            "close_date": "2025-03-07T00:00:00Z",
            "custom_fields": {"cf_region": "EMEA", "cf_seats": 30},
        }))
        .await
        .unwrap();

    let posts = freshsales.requests_to("POST", DEALS_PATH).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        body(&posts[0]),
        json!({"deal": {
            "name": "Acme renewal 2025",
            "amount": 1500.5,
            "currency_id": 70000000022_i64,
            "owner_id": 70000011234_i64,
            "sales_account_id": 70000512001_i64,
            "contacts_added_list": [70002345001_i64],
            // The stage's pipeline goes with it (`Proposal` of the second pipeline).
            "deal_stage_id": 70000232002_i64,
            "deal_pipeline_id": 70000012002_i64,
            "expected_close": "2025-03-07",
            "custom_field": {"cf_region": "EMEA", "cf_seats": 30},
        }})
    );
    // The answer is `{"deal": {...}}`: the record inside it.
    assert_eq!(created["id"], "70001234599");
    assert_eq!(created["remote_data"], parse(CREATED)["deal"]);
    assert_eq!(created["stage"]["name"], "New");
    assert_eq!(freshsales.calls().await, ["POST /api/deals"]);
}

#[tokio::test]
async fn create_without_a_field_the_account_requires_is_refused_before_any_call() {
    let freshsales = Freshsales::start().await;

    // The fields list marks `sales_account_id` required.
    let error = freshsales
        .create(json!({"name": "Acme renewal 2025", "amount": 10}))
        .await
        .unwrap_err();

    assert_eq!(mapping_error(&error).0, "account");
    assert!(freshsales.calls().await.is_empty());
}

#[tokio::test]
async fn a_currency_the_account_does_not_have_is_refused_after_one_refresh() {
    let freshsales = Freshsales::start().await;
    let mut body = minimal_create();
    // JPY is not on the account; INR is, but inactive.
    for code in ["JPY", "INR"] {
        body["currency"] = json!(code);
        let error = freshsales.create(body.clone()).await.unwrap_err();
        let (field, value) = mapping_error(&error);
        assert_eq!((field.as_str(), value.as_str()), ("currency", code));
    }
    assert!(freshsales.calls().await.is_empty());
    // Once for the first operation, once more per unknown code.
    assert_eq!(
        freshsales.requests_to("GET", CURRENCIES_PATH).await.len(),
        3
    );
}

#[tokio::test]
async fn custom_fields_are_written_by_their_api_name_only() {
    let freshsales = Freshsales::start().await;
    let mut body = minimal_create();
    // "Region" is the label; the name is `cf_region`.
    body["custom_fields"] = json!({"Region": "EMEA"});

    let error = freshsales.create(body).await.unwrap_err();

    assert_eq!(mapping_error(&error).0, "custom_fields.Region");
    assert!(freshsales.calls().await.is_empty());
}

#[tokio::test]
async fn update_wraps_the_changes_and_null_clears() {
    let freshsales = Freshsales::start().await;
    freshsales.respond("PUT", DEAL_PATH, 200, UPDATED).await;

    let updated = freshsales
        .update(
            DEAL_ID,
            json!({
                "amount": 1750,
                "stage": {"id": "70000231003"},
                "close_date": null,
                "owner": null,
                "custom_fields": {"cf_seats": null},
            }),
        )
        .await
        .unwrap();

    let puts = freshsales.requests_to("PUT", DEAL_PATH).await;
    assert_eq!(puts.len(), 1);
    assert_eq!(
        body(&puts[0]),
        json!({"deal": {
            "amount": 1750.0,
            "deal_stage_id": 70000231003_i64,
            "deal_pipeline_id": 70000012001_i64,
            "expected_close": null,
            "owner_id": null,
            "custom_field": {"cf_seats": null},
        }})
    );
    assert_eq!(updated["amount"], json!(1750.0));
    assert_eq!(updated["stage"]["name"], "Negotiation");
    assert_eq!(freshsales.calls().await, [format!("PUT {DEAL_PATH}")]);
}

#[tokio::test]
async fn update_of_the_contacts_sends_what_was_added_and_removed() {
    let freshsales = Freshsales::start().await;
    freshsales.respond("PUT", DEAL_PATH, 200, UPDATED).await;
    // Now 70002345001 and 70002345002.
    freshsales.respond("GET", DEAL_PATH, 200, OPPORTUNITY).await;

    freshsales
        .update(
            DEAL_ID,
            json!({"contact": [{"id": "70002345002"}, {"id": "70002345003"}]}),
        )
        .await
        .unwrap();

    let puts = freshsales.requests_to("PUT", DEAL_PATH).await;
    assert_eq!(puts.len(), 2, "the update, then the contacts");
    assert_eq!(body(&puts[0]), json!({"deal": {}}));
    assert_eq!(
        body(&puts[1]),
        json!({"deal": {
            "contacts_added_list": [70002345003_i64],
            "contacts_removed_list": [70002345001_i64],
        }})
    );
    let gets = freshsales.requests_to("GET", DEAL_PATH).await;
    assert_eq!(gets.len(), 2, "the current contacts, then the read-back");
    for get in &gets {
        assert_eq!(query(get, "include").as_deref(), Some("contacts"));
    }
}

#[tokio::test]
async fn the_status_cannot_be_written() {
    let freshsales = Freshsales::start().await;

    let error = freshsales
        .update(DEAL_ID, json!({"status": "won"}))
        .await
        .unwrap_err();

    match &error {
        UnifiedError::Validation { unsupported, .. } => assert_eq!(unsupported, &["status"]),
        other => panic!("expected status to be refused, got {other:?}"),
    }
    assert!(freshsales.requests().await.is_empty());
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

impl Freshsales {
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

/// A view is paged by page number: sorted by update time, a deal changed
/// during a walk would shift the pages, so the sort is refused before any
/// call, with the spec's reason.
#[tokio::test]
async fn sort_by_updated_at_is_refused_because_it_would_reorder_the_pages() {
    let freshsales = Freshsales::start().await;
    let error = freshsales
        .list_filtered(ListFilters {
            sort_by: Some(SortBy::UpdatedAt),
            ..ListFilters::default()
        })
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "sort_by"),
        "{error:?}"
    );
    assert!(text.contains("by page number"), "{text}");
    assert!(
        freshsales
            .requests_to("GET", ALL_DEALS_PATH)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn sort_by_created_at_is_the_default_order_asked_explicitly() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", ALL_DEALS_PATH, 200, LIST_PAGE1)
        .await;

    freshsales
        .list_filtered(ListFilters {
            sort_by: Some(SortBy::CreatedAt),
            ..ListFilters::default()
        })
        .await
        .unwrap();
    freshsales
        .list_filtered(ListFilters::default())
        .await
        .unwrap();

    let lists = freshsales.requests_to("GET", ALL_DEALS_PATH).await;
    assert_eq!(lists.len(), 2);
    let expected = pairs(&[
        ("page", "1"),
        ("per_page", "2"),
        ("sort", "created_at"),
        ("sort_type", "asc"),
    ]);
    assert_eq!(query_pairs(&lists[0]), expected);
    assert_eq!(query_pairs(&lists[1]), expected, "the default order");
}

#[tokio::test]
async fn filters_a_view_cannot_take_are_refused_naming_the_views() {
    let freshsales = Freshsales::start().await;
    let instant = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").unwrap();
    for (name, filters) in [
        (
            "updated_at[gt]",
            ListFilters {
                updated_after: Some(instant),
                ..ListFilters::default()
            },
        ),
        (
            "status",
            ListFilters {
                status: Some("won".into()),
                ..ListFilters::default()
            },
        ),
        (
            "owner_id",
            ListFilters {
                owner_id: Some("70000011234".into()),
                ..ListFilters::default()
            },
        ),
    ] {
        let error = freshsales.list_filtered(filters).await.unwrap_err();
        match &error {
            UnifiedError::InvalidInput { field, message } => {
                assert_eq!(field, name);
                assert!(message.contains("saved views"), "{message}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    assert!(
        freshsales
            .requests_to("GET", ALL_DEALS_PATH)
            .await
            .is_empty(),
        "nothing is listed"
    );
}

#[tokio::test]
async fn users_are_the_owners_selector_in_one_call() {
    let freshsales = Freshsales::start().await;
    freshsales
        .respond("GET", "/api/selector/owners", 200, USERS)
        .await;

    let page = freshsales.lookup(Lookup::Users).await;

    let users = page["result"].as_array().unwrap();
    let ids: Vec<&str> = users
        .iter()
        .map(|user| user["id"].as_str().unwrap())
        .collect();
    // Deactivated users stay listed: deals may still name them.
    assert_eq!(ids, ["70000011234", "70000011235", "70000011236"]);
    assert_eq!(users[1]["name"], "Tomás Ibarra");
    assert_eq!(users[1]["email"], "tomas.ibarra@example.com");
    assert_eq!(users[2]["remote_data"]["is_active"], false);
    assert_eq!(
        freshsales
            .requests_to("GET", "/api/selector/owners")
            .await
            .len(),
        1,
        "the selector is not paged"
    );
}

#[tokio::test]
async fn stages_carry_their_pipeline_id() {
    let freshsales = Freshsales::start().await;

    let page = freshsales.lookup(Lookup::Stages).await;

    let stages = page["result"].as_array().unwrap();
    let won = stages
        .iter()
        .find(|stage| stage["name"] == "Won")
        .expect("the Won stage");
    assert_eq!(won["pipeline"]["id"], "70000012001");
    assert_eq!(won["remote_data"]["forecast_type"], "Closed Won");
    assert_eq!(
        stages.len(),
        parse(STAGES)["deal_stages"].as_array().unwrap().len(),
        "every stage of every pipeline"
    );
}

#[tokio::test]
async fn custom_fields_are_the_custom_deal_fields_with_their_labels() {
    let freshsales = Freshsales::start().await;

    let page = freshsales.lookup(Lookup::CustomFields).await;

    let fields = page["result"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .all(|field| field["name"].as_str().unwrap().starts_with("cf_")),
        "standard fields are left out: {fields:?}"
    );
    let region = fields
        .iter()
        .find(|field| field["name"] == "cf_region")
        .expect("cf_region");
    assert!(region["remote_data"].is_object());
}
