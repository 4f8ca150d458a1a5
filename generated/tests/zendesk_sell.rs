//! Zendesk Sell's quirks, end to end over real HTTP: a wiremock server
//! answers with bodies in Sell's shape
//! (`tests/fixtures/responses/zendesk_sell/`, sources in its `SOURCE.md`);
//! each test checks what Sell received and what the caller got.

#![cfg(feature = "zendesk_sell")]

use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::zendesk_sell::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListFilters, ListOptions, Lookup, RequestOptions, SortBy,
    UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DEAL_ID: &str = "101";
const DEAL_PATH: &str = "/deals/101";
const LIST_PATH: &str = "/deals";
const STAGES_PATH: &str = "/stages";
const CUSTOM_FIELDS_PATH: &str = "/deal/custom_fields";
const PIPELINES_PATH: &str = "/pipelines";
const USERS_PATH: &str = "/users";
const USER_AGENT: &str = "unified-crm/0.1";

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/zendesk_sell/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// The deals of both list fixtures, unwrapped.
fn deals() -> Vec<Value> {
    ["list_page1.json", "list_page2.json"]
        .into_iter()
        .flat_map(|file| {
            fixture(file)["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|item| item["data"].clone())
        .collect()
}

/// One collection page of these deals, with no next page.
fn only_page(deals: &[Value]) -> Value {
    let mut page = fixture("list_page2.json");
    page["items"] = json!(
        deals
            .iter()
            .map(|deal| json!({"data": deal, "meta": {"version": 3, "type": "deal"}}))
            .collect::<Vec<_>>()
    );
    page["meta"]["count"] = json!(deals.len());
    page
}

/// A Sell account at a wiremock server, its stages and custom fields
/// answered from the fixtures.
struct Sell {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Sell {
    async fn start() -> Self {
        let server = MockServer::start().await;
        for (at, file) in [
            (STAGES_PATH, "stages.json"),
            (PIPELINES_PATH, "pipelines.json"),
            (CUSTOM_FIELDS_PATH, "custom_fields.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
                .mount(&server)
                .await;
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            Credentials::ZendeskSell(AccountCredentials {
                access_token: "tok".into(),
            }),
        )
        .with_base_url(server.uri());
        Sell {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        }
    }

    async fn respond(&self, verb: &str, at: &str, status: u16, body: Option<Value>) {
        let response = match body {
            Some(body) => ResponseTemplate::new(status).set_body_json(body),
            None => ResponseTemplate::new(status),
        };
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    async fn all_requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
    }

    async fn requests(&self, verb: &str, at: &str) -> Vec<Request> {
        self.all_requests()
            .await
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

    async fn list_filtered(&self, filters: ListFilters) -> Result<Value, UnifiedError> {
        let options = ListOptions {
            limit: Some(2),
            filters,
            ..ListOptions::default()
        };
        self.client.list(&self.account, &options).await
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

    async fn update(&self, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .update(&self.account, DEAL_ID, body, &RequestOptions::default())
            .await
    }
}

fn mapping_field(error: &UnifiedError) -> &str {
    match error {
        UnifiedError::Mapping(error) => &error.field,
        // A name the account does not have, even after a fresh look.
        UnifiedError::InvalidInput { field, .. } => field,
        other => panic!("expected a refused write, got {other:?}"),
    }
}

#[tokio::test]
async fn every_request_carries_the_bearer_token_and_a_user_agent() {
    let sell = Sell::start().await;
    sell.respond("GET", LIST_PATH, 200, Some(fixture("list_page2.json")))
        .await;
    sell.respond(
        "POST",
        LIST_PATH,
        200,
        Some(fixture("create_response.json")),
    )
    .await;
    sell.respond("DELETE", DEAL_PATH, 204, None).await;

    sell.list(2, None).await;
    sell.create(json!({"name": "Expansion - Acme Berlin office", "contact": [{"id": "501"}]}))
        .await
        .expect("the create");
    sell.client
        .delete(&sell.account, DEAL_ID, &RequestOptions::default())
        .await
        .expect("the delete");

    let requests = sell.all_requests().await;
    // Stages, pipelines, custom fields, the list, the create, the delete.
    assert_eq!(requests.len(), 6);
    for request in &requests {
        let at = format!("{} {}", request.method, request.url);
        assert_eq!(header(request, "authorization"), Some("Bearer tok"), "{at}");
        // Sell refuses requests without a User-Agent.
        assert_eq!(header(request, "user-agent"), Some(USER_AGENT), "{at}");
    }
}

#[tokio::test]
async fn ids_are_numbers_on_the_wire_and_strings_to_the_caller() {
    let sell = Sell::start().await;
    sell.respond("PUT", DEAL_PATH, 200, Some(fixture("update_response.json")))
        .await;

    let updated = sell
        .update(json!({
            "owner": {"id": "7"},
            "contact": [{"id": "502"}],
            "stage": {"name": "Quote"},
        }))
        .await
        .expect("the update");

    let puts = sell.requests("PUT", DEAL_PATH).await;
    assert_eq!(puts.len(), 1);
    assert_eq!(
        body(&puts[0]),
        json!({"data": {"owner_id": 7, "contact_id": 502, "stage_id": 3003}})
    );
    assert_eq!(updated["id"], json!("101"));
    assert_eq!(updated["owner"], json!({"id": "2"}));
    assert_eq!(updated["account"], json!({"id": "500"}));

    let error = sell.get("deal-101").await.expect_err("not a number");
    assert!(
        matches!(error, UnifiedError::InvalidInput { ref field, .. } if field == "id"),
        "{error:?}"
    );
    let error = sell
        .update(json!({"owner": {"id": "bob"}}))
        .await
        .expect_err("not a number");
    assert_eq!(mapping_field(&error), "owner.id");
    assert_eq!(
        sell.requests("PUT", DEAL_PATH).await.len(),
        1,
        "nothing more sent"
    );
    assert!(sell.requests("GET", "/deals/deal-101").await.is_empty());
}

#[tokio::test]
async fn lists_unwrap_items_data_and_end_on_a_short_page() {
    let sell = Sell::start().await;
    for (page, file) in [("1", "list_page1.json"), ("2", "list_page2.json")] {
        Mock::given(method("GET"))
            .and(path(LIST_PATH))
            .and(query_param("page", page))
            .and(query_param("per_page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
            .mount(&sell.server)
            .await;
    }

    let first = sell.list(2, None).await;
    let next = first["next_cursor"]
        .as_str()
        .expect("a full page has a next")
        .to_owned();
    let second = sell.list(2, Some(next)).await;

    let ids = |page: &Value| -> Vec<Value> {
        page["result"]
            .as_array()
            .expect("records")
            .iter()
            .map(|record| record["id"].clone())
            .collect()
    };
    assert_eq!(ids(&first), [json!("101"), json!("102")]);
    assert_eq!(ids(&second), [json!("103")]);
    // Page 2 is short (and has no `meta.links.next_page`).
    assert!(
        fixture("list_page2.json")["meta"]["links"]
            .get("next_page")
            .is_none()
    );
    assert_eq!(second["next_cursor"], Value::Null);
    let lists = sell.requests("GET", LIST_PATH).await;
    assert_eq!(lists.len(), 2);
    for request in &lists {
        assert_eq!(query(request, "sort_by").as_deref(), Some("id:asc"));
    }
}

/// The page style cannot read `meta.links.next_page`: when the last page
/// is full, one more page is asked for, and its emptiness ends the list.
#[tokio::test]
async fn a_full_last_page_costs_one_empty_page() {
    let sell = Sell::start().await;
    let mut full_last = fixture("list_page1.json");
    full_last["meta"]["links"]
        .as_object_mut()
        .expect("links")
        .remove("next_page");
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(full_last))
        .mount(&sell.server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(only_page(&[])))
        .mount(&sell.server)
        .await;

    let first = sell.list(2, None).await;
    let next = first["next_cursor"]
        .as_str()
        .expect("a full page")
        .to_owned();
    let second = sell.list(2, Some(next)).await;

    assert_eq!(second["result"], json!([]));
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(sell.requests("GET", LIST_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_value_is_read_as_a_number_or_a_decimal_string_and_written_as_a_number() {
    let sell = Sell::start().await;
    sell.respond("GET", LIST_PATH, 200, Some(only_page(&deals())))
        .await;
    sell.respond("PUT", DEAL_PATH, 200, Some(fixture("update_response.json")))
        .await;

    let page = sell.list(10, None).await;
    let amounts: Vec<Value> = page["result"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| record["amount"].clone())
        .collect();
    // `1000`, `12000` and `"1499.99"` on the wire.
    assert_eq!(amounts, [json!(1000.0), json!(12000.0), json!(1499.99)]);

    sell.update(json!({"amount": 1499.99}))
        .await
        .expect("the update");
    let error = sell
        .update(json!({"amount": 10.005}))
        .await
        .expect_err("Sell keeps two decimal places");
    assert_eq!(mapping_field(&error), "amount");
    let puts = sell.requests("PUT", DEAL_PATH).await;
    assert_eq!(puts.len(), 1, "nothing sent for 10.005");
    assert_eq!(body(&puts[0]), json!({"data": {"value": 1499.99}}));
}

#[tokio::test]
async fn the_status_is_the_category_of_the_deals_stage() {
    let sell = Sell::start().await;
    let base = deals().remove(0);
    let in_stage = |id: i64, stage: i64| {
        let mut deal = base.clone();
        deal["id"] = json!(id);
        deal["stage_id"] = json!(stage);
        deal
    };
    // incoming, in_progress, won, lost, unqualified, and a stage the
    // account's stages do not list.
    let page = only_page(&[
        in_stage(1, 3001),
        in_stage(2, 3002),
        in_stage(3, 3005),
        in_stage(4, 3006),
        in_stage(5, 3007),
        in_stage(6, 9999),
    ]);
    sell.respond("GET", LIST_PATH, 200, Some(page)).await;

    let page = sell.list(10, None).await;

    let statuses: Vec<Value> = page["result"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| record["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [
            json!("open"),
            json!("open"),
            json!("won"),
            json!("lost"),
            json!("unqualified"),
            Value::Null
        ]
    );
    assert_eq!(
        page["result"][4]["stage"],
        json!({"id": "3007", "name": "Unqualified"})
    );
}

#[tokio::test]
async fn a_create_needs_a_name_and_one_contact_before_any_call() {
    let sell = Sell::start().await;
    sell.respond(
        "POST",
        LIST_PATH,
        200,
        Some(fixture("create_response.json")),
    )
    .await;

    let error = sell
        .create(json!({"amount": 2500.5}))
        .await
        .expect_err("no name, no contact");
    match &error {
        UnifiedError::Validation { missing, .. } => {
            let mut missing = missing.clone();
            missing.sort();
            assert_eq!(missing, ["contact", "name"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let error = sell
        .create(json!({"name": "Expansion", "contact": [{"id": "501"}, {"id": "502"}]}))
        .await
        .expect_err("a deal has one contact");
    assert_eq!(mapping_field(&error), "contact");
    assert!(sell.requests("POST", LIST_PATH).await.is_empty());
}

#[tokio::test]
async fn custom_fields_are_keyed_by_name_with_unified_values() {
    let sell = Sell::start().await;
    sell.respond("GET", DEAL_PATH, 200, Some(fixture("opportunity.json")))
        .await;
    sell.respond("PUT", DEAL_PATH, 200, Some(fixture("update_response.json")))
        .await;

    let got = sell.get(DEAL_ID).await.expect("the get");
    // `list` → its label, `date` `3/9/2024` → ISO, `number` `"25"` → 25.
    assert_eq!(
        got["custom_fields"],
        json!({"Region": "EMEA", "Contract start": "2024-03-09", "Seats": 25, "Competitor": "Globex"})
    );

    sell.update(json!({"custom_fields": {"Competitor": null, "Seats": "30"}}))
        .await
        .expect("the update");
    let puts = sell.requests("PUT", DEAL_PATH).await;
    assert_eq!(
        body(&puts[0]),
        json!({"data": {"custom_fields": {"Competitor": null, "Seats": "30"}}})
    );

    let error = sell
        .update(json!({"custom_fields": {"Budget": 1}}))
        .await
        .expect_err("no such field");
    assert_eq!(mapping_field(&error), "custom_fields.Budget");
    // The definitions were fetched again once before giving up.
    assert_eq!(sell.requests("GET", CUSTOM_FIELDS_PATH).await.len(), 2);
    assert_eq!(sell.requests("PUT", DEAL_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_delete_answers_204_and_the_caller_gets_the_id() {
    let sell = Sell::start().await;
    sell.respond("DELETE", DEAL_PATH, 204, None).await;

    let deleted = sell
        .client
        .delete(&sell.account, DEAL_ID, &RequestOptions::default())
        .await
        .expect("the delete");

    assert_eq!(deleted["id"], json!(DEAL_ID));
    assert_eq!(sell.requests("DELETE", DEAL_PATH).await.len(), 1);
}

/// Inside the `data` wrapper the generated update fields are not
/// three-state; the glue sends a clearing `null` itself.
#[tokio::test]
async fn clearing_the_owner_or_the_close_date_sends_null_inside_data() {
    let sell = Sell::start().await;
    sell.respond("PUT", DEAL_PATH, 200, Some(fixture("update_response.json")))
        .await;

    sell.update(json!({"owner": null, "close_date": null, "tags": []}))
        .await
        .expect("the update");

    let puts = sell.requests("PUT", DEAL_PATH).await;
    assert_eq!(
        body(&puts[0]),
        json!({"data": {"owner_id": null, "estimated_close_date": null, "tags": []}})
    );
}

/// The query of a request, sorted, for comparing whole.
fn sorted_query(request: &Request) -> Vec<(String, String)> {
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
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn the_owner_and_account_filters_go_together_in_the_deal_query_in_id_order() {
    let sell = Sell::start().await;
    sell.respond("GET", LIST_PATH, 200, Some(only_page(&deals()[..1])))
        .await;

    sell.list_filtered(ListFilters {
        owner_id: Some("2".into()),
        account_id: Some("500".into()),
        ..ListFilters::default()
    })
    .await
    .expect("the filtered list");

    let lists = sell.requests("GET", LIST_PATH).await;
    assert_eq!(lists.len(), 1);
    assert_eq!(
        sorted_query(&lists[0]),
        pairs(&[
            ("owner_id", "2"),
            ("organization_id", "500"),
            ("sort_by", "id:asc"),
            ("page", "1"),
            ("per_page", "2"),
        ])
    );
}

/// Sell sorts by one field with no tie-break: both timestamp sorts are
/// refused before any call (the spec's reasons), and lists keep `id:asc`.
#[tokio::test]
async fn timestamp_sorts_are_refused_and_the_order_stays_the_id() {
    let sell = Sell::start().await;
    sell.respond("GET", LIST_PATH, 200, Some(only_page(&deals()[..1])))
        .await;
    for (sort_by, words) in [
        (SortBy::UpdatedAt, "shift the rest back"),
        (SortBy::CreatedAt, "same second"),
    ] {
        let error = sell
            .list_filtered(ListFilters {
                sort_by: Some(sort_by),
                ..ListFilters::default()
            })
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "sort_by"),
            "{error:?}"
        );
        assert!(error.to_string().contains(words), "{error}");
    }
    assert!(sell.requests("GET", LIST_PATH).await.is_empty());
    sell.list_filtered(ListFilters::default())
        .await
        .expect("the list");
    let lists = sell.requests("GET", LIST_PATH).await;
    assert_eq!(
        sorted_query(&lists[0]),
        pairs(&[("sort_by", "id:asc"), ("page", "1"), ("per_page", "2")])
    );
}

#[tokio::test]
async fn date_and_status_filters_are_refused_with_the_reason_before_any_call() {
    let sell = Sell::start().await;
    let instant = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").expect("a date");
    for (filters, field, words) in [
        (
            ListFilters {
                updated_after: Some(instant),
                ..ListFilters::default()
            },
            "updated_at[gt]",
            "no filter on the update time",
        ),
        (
            ListFilters {
                created_after: Some(instant),
                ..ListFilters::default()
            },
            "created_at[gt]",
            "no filter on the creation time",
        ),
        (
            ListFilters {
                status: Some("won".into()),
                owner_id: Some("2".into()),
                ..ListFilters::default()
            },
            "status",
            "one stage_id at a time",
        ),
    ] {
        let error = sell.list_filtered(filters).await.expect_err("refused");
        assert!(
            matches!(&error, UnifiedError::InvalidInput { field: f, .. } if f == field),
            "{error:?}"
        );
        assert!(error.to_string().contains(words), "{error}");
    }
    assert!(sell.requests("GET", LIST_PATH).await.is_empty());
}

#[tokio::test]
async fn an_owner_or_account_id_that_is_not_a_number_is_refused() {
    let sell = Sell::start().await;
    let error = sell
        .list_filtered(ListFilters {
            account_id: Some("acme".into()),
            ..ListFilters::default()
        })
        .await
        .expect_err("not a Sell id");
    assert_eq!(mapping_field(&error), "account_id");
    assert!(sell.requests("GET", LIST_PATH).await.is_empty());
}

#[tokio::test]
async fn users_are_read_page_after_page_until_no_next_page() {
    let sell = Sell::start().await;
    Mock::given(method("GET"))
        .and(path(USERS_PATH))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users_page1.json")))
        .mount(&sell.server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS_PATH))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users_page2.json")))
        .mount(&sell.server)
        .await;

    let page = sell
        .client
        .list_lookup(&sell.account, Lookup::Users, &ListOptions::default())
        .await
        .expect("the users");

    let users = sell.requests("GET", USERS_PATH).await;
    assert_eq!(
        users.iter().map(sorted_query).collect::<Vec<_>>(),
        [
            pairs(&[("page", "1"), ("per_page", "100"), ("sort_by", "id:asc")]),
            pairs(&[("page", "2"), ("per_page", "100"), ("sort_by", "id:asc")]),
        ]
    );
    let result = page["result"].as_array().expect("users");
    let ids: Vec<&Value> = result.iter().map(|user| &user["id"]).collect();
    assert_eq!(ids, [&json!("2"), &json!("7"), &json!("12")]);
    assert_eq!(result[0]["name"], json!("Mark Johnson"));
    assert_eq!(result[0]["email"], json!("mark@example.com"));
    assert_eq!(result[2]["remote_data"]["status"], json!("inactive"));
}

#[tokio::test]
async fn stages_carry_their_pipeline_and_its_name() {
    let sell = Sell::start().await;

    let page = sell
        .client
        .list_lookup(&sell.account, Lookup::Stages, &ListOptions::default())
        .await
        .expect("the stages");

    let stages = page["result"].as_array().expect("stages");
    assert_eq!(stages.len(), 7);
    let won = stages
        .iter()
        .find(|stage| stage["id"] == json!("3005"))
        .expect("the won stage");
    assert_eq!(won["name"], json!("Won"));
    assert_eq!(
        won["pipeline"],
        json!({"id": "1", "name": "Sales Pipeline"})
    );
    assert_eq!(won["remote_data"]["category"], json!("won"));
    let fields = sell
        .client
        .list_lookup(&sell.account, Lookup::CustomFields, &ListOptions::default())
        .await
        .expect("the custom fields");
    let region = fields["result"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|field| field["name"] == json!("Region"))
        .expect("Region")
        .clone();
    assert_eq!(region["type"], json!("list"));
    assert_eq!(region["required"], json!(false));
    assert_eq!(region["remote_data"]["id"], json!(701));
}
