//! The unified opportunities API against Copper, over real HTTP (wiremock),
//! with response bodies in Copper's real shape
//! (`tests/fixtures/responses/copper/`). Each test checks what the caller
//! sees and what Copper received (method, path, JSON body, headers).
//!
//! Tests named `bug_*` show a defect of the library and fail until it is
//! fixed.

use crm_runtime::mapping::MappingError;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Provider, RequestOptions, ResponseFormat,
    UnifiedClient, UnifiedError, UnifiedQuery,
};
use uuid::Uuid;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate, Times};

const OPPORTUNITY: &str = include_str!("../../tests/fixtures/responses/copper/opportunity.json");
const LIST_PAGE1: &str = include_str!("../../tests/fixtures/responses/copper/list_page1.json");
const LIST_PAGE2: &str = include_str!("../../tests/fixtures/responses/copper/list_page2.json");
const LIST_PAGE3: &str = include_str!("../../tests/fixtures/responses/copper/list_page3.json");
const CUSTOM_FIELD_DEFINITIONS: &str =
    include_str!("../../tests/fixtures/responses/copper/custom_field_definitions.json");
const PIPELINES: &str = include_str!("../../tests/fixtures/responses/copper/pipelines.json");
const DELETE: &str = include_str!("../../tests/fixtures/responses/copper/delete.json");
const ERROR_401: &str = include_str!("../../tests/fixtures/responses/copper/error_401.json");
const ERROR_404: &str = include_str!("../../tests/fixtures/responses/copper/error_404.json");
const ERROR_422: &str = include_str!("../../tests/fixtures/responses/copper/error_422.json");
const ERROR_429: &str = include_str!("../../tests/fixtures/responses/copper/error_429.json");

/// The id of `opportunity.json` (and of the first record of `list_page1.json`).
const ID: &str = "2827699";
const OPPORTUNITY_PATH: &str = "/opportunities/2827699";

// ---------------------------------------------------------------- helpers

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// A mock that only answers requests carrying Copper's three auth headers.
fn mock(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(route))
        .and(header("X-PW-AccessToken", "tok"))
        .and(header("X-PW-UserEmail", "me@example.com"))
        .and(header("X-PW-Application", "developer_api"))
}

/// A JSON answer with exactly these bytes.
fn answer(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn account(id: u128, server: &MockServer) -> IntegratedAccount {
    IntegratedAccount::new(
        Uuid::from_u128(id),
        Credentials::Copper(unified_crm::providers::copper::AccountCredentials {
            access_token: "tok".into(),
            user_email: "me@example.com".into(),
        }),
    )
    .with_base_url(server.uri())
}

fn format(format: ResponseFormat) -> RequestOptions {
    RequestOptions {
        format,
        ..RequestOptions::default()
    }
}

fn page(limit: u32, next_cursor: Option<String>) -> ListOptions {
    ListOptions {
        limit: Some(limit),
        next_cursor,
        ..ListOptions::default()
    }
}

/// A Copper double: the account context endpoints (`/custom_field_definitions`,
/// `/pipelines`) are mounted, the rest is up to each test.
struct Copper {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Copper {
    async fn start() -> Self {
        let server = MockServer::start().await;
        mock("GET", "/custom_field_definitions")
            .respond_with(answer(200, CUSTOM_FIELD_DEFINITIONS))
            .mount(&server)
            .await;
        mock("GET", "/pipelines")
            .respond_with(answer(200, PIPELINES))
            .mount(&server)
            .await;
        let account = account(0x62f4_4730_dd91_461e_bd6a_aedd_9e0a_d79d, &server);
        Copper {
            server,
            account,
            client: UnifiedClient::new(),
        }
    }

    /// Mounts `verb route` answering `status` with `body`, expected `times`.
    async fn on(&self, verb: &str, route: &str, status: u16, body: &str, times: impl Into<Times>) {
        mock(verb, route)
            .respond_with(answer(status, body))
            .expect(times)
            .mount(&self.server)
            .await;
    }

    async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
    }

    /// Requests about opportunities (everything but the account context).
    async fn opportunity_requests(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|request| request.url.path().starts_with("/opportunities"))
            .collect()
    }

    async fn count(&self, verb: &str, route: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == route)
            .count()
    }

    /// The one opportunity request of the test: its method, path and body.
    async fn only_opportunity_request(&self) -> (String, String, Value) {
        let requests = self.opportunity_requests().await;
        assert_eq!(requests.len(), 1, "{requests:?}");
        let request = &requests[0];
        let body = if request.body.is_empty() {
            Value::Null
        } else {
            request.body_json().expect("a JSON body")
        };
        (
            request.method.to_string(),
            request.url.path().to_owned(),
            body,
        )
    }

    /// Every request carried the credentials, and every mock's expectation
    /// held.
    async fn finish(self) {
        let requests = self.requests().await;
        for request in &requests {
            let value = |name: &str| {
                request
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let what = format!("{} {}", request.method, request.url);
            assert_eq!(value("x-pw-accesstoken").as_deref(), Some("tok"), "{what}");
            assert_eq!(
                value("x-pw-useremail").as_deref(),
                Some("me@example.com"),
                "{what}"
            );
            assert_eq!(
                value("x-pw-application").as_deref(),
                Some("developer_api"),
                "{what}"
            );
            if !request.body.is_empty() {
                assert_eq!(
                    value("content-type").as_deref(),
                    Some("application/json"),
                    "{what}"
                );
            }
        }
        self.server.verify().await;
    }
}

/// The search the unified list sends: a page, in Copper's most stable
/// order (oldest first).
fn search_body(page_number: i64, page_size: i64) -> Value {
    json!({
        "page_number": page_number,
        "page_size": page_size,
        "sort_by": "date_created",
        "sort_direction": "asc",
    })
}

/// `opportunity.json` as the unified format shows it, without `remote_data`.
fn unified_2827699() -> Value {
    json!({
        "id": "2827699",
        "name": "25 Office Chairs (sample)",
        "description": "Opportunities are created for People and Companies that are interested in buying your products or services.",
        "amount": 75000.0,
        "currency": "USD",
        "owner": {"id": "137658"},
        "account": {"id": "9607580"},
        "contact": [{"id": "27140359"}],
        "stage": {"id": "987793", "name": "Contract Sent"},
        "status": "open",
        "tags": [{"id": "tag1", "name": "tag1"}],
        "custom_fields": {
            "A Text Field": "Text",
            "A Text Area Field": null,
            // Option ids read as their labels; Unix seconds as a date.
            "Color option": "Blue",
            "Go-live Date": "2018-01-15",
            "Product Lines": ["Chairs", "Copiers"],
            "Renewal": false,
            "Contract Value": 12000
        },
        "last_activity_at": "2017-03-09T00:20:00Z",
        "close_date": "2018-01-15T00:00:00Z",
        "created_at": "2017-01-09T19:07:08Z",
        "updated_at": "2017-03-09T00:19:44Z"
    })
}

fn with_remote_data(mut record: Value, remote_data: Value) -> Value {
    record
        .as_object_mut()
        .expect("an object")
        .insert("remote_data".into(), remote_data);
    record
}

fn ids(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|record| record["id"].as_str().expect("a string id"))
        .collect()
}

/// The instant a date-time string names, in UTC with `Z`.
fn utc(value: &Value) -> String {
    let text = value.as_str().expect("a date-time string");
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn mapping_error(error: UnifiedError) -> MappingError {
    match error {
        UnifiedError::Mapping(error) => error,
        other => panic!("expected a mapping error, got {other:?}"),
    }
}

fn invalid_field(error: UnifiedError) -> (String, String) {
    match error {
        UnifiedError::InvalidInput { field, message } => (field, message),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

/// `(status, body, rate_limit)` of a provider error.
fn provider_error(error: &UnifiedError) -> (u16, &str, &[(String, String)]) {
    match error {
        UnifiedError::Provider {
            provider: Provider::Copper,
            status,
            body,
            rate_limit,
        } => (*status, body.as_str(), rate_limit.as_slice()),
        other => panic!("expected a Copper provider error, got {other:?}"),
    }
}

fn valid_create() -> Value {
    json!({"name": "New Demo Opportunity", "contact": [{"id": "27140359"}]})
}

// ---------------------------------------------------------------- get

#[tokio::test]
async fn get_unified_maps_every_field_and_keeps_the_record_as_remote_data() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;

    let got = copper
        .client
        .get(&copper.account, ID, &RequestOptions::default())
        .await
        .expect("the opportunity");

    assert_eq!(
        got,
        with_remote_data(unified_2827699(), fixture(OPPORTUNITY))
    );
    // Spelled out, the conversions the seeds ask for:
    assert_eq!(got["id"], json!("2827699"));
    assert_eq!(got["amount"].as_f64(), Some(75000.0));
    assert_eq!(got["currency"], json!("USD"));
    assert_eq!(got["status"], json!("open"));
    assert_eq!(utc(&got["close_date"]), "2018-01-15T00:00:00Z");
    assert_eq!(utc(&got["created_at"]), "2017-01-09T19:07:08Z");
    assert_eq!(utc(&got["updated_at"]), "2017-03-09T00:19:44Z");
    assert_eq!(got["owner"], json!({"id": "137658"}));
    assert_eq!(got["account"], json!({"id": "9607580"}));
    assert_eq!(got["contact"], json!([{"id": "27140359"}]));
    assert_eq!(
        got["stage"],
        json!({"id": "987793", "name": "Contract Sent"})
    );
    assert_eq!(got["tags"], json!([{"id": "tag1", "name": "tag1"}]));
    assert_eq!(got["custom_fields"]["Color option"], json!("Blue"));
    assert_eq!(got["custom_fields"]["A Text Area Field"], Value::Null);
    // remote_data is the record as Copper sent it, keys in Copper's order.
    assert_eq!(
        got["remote_data"].to_string(),
        fixture(OPPORTUNITY).to_string()
    );

    let (verb, route, body) = copper.only_opportunity_request().await;
    assert_eq!((verb.as_str(), route.as_str()), ("GET", OPPORTUNITY_PATH));
    assert_eq!(body, Value::Null);
    copper.finish().await;
}

#[tokio::test]
async fn get_status_maps_each_copper_status() {
    let copper = Copper::start().await;
    let mut record = fixture(OPPORTUNITY);
    for (id, copper_status, unified_status) in [
        ("11", "Open", "open"),
        ("12", "Won", "won"),
        ("13", "Lost", "lost"),
        ("14", "Abandoned", "abandoned"),
    ] {
        record["id"] = json!(id.parse::<i64>().unwrap());
        record["status"] = json!(copper_status);
        copper
            .on(
                "GET",
                &format!("/opportunities/{id}"),
                200,
                &record.to_string(),
                1,
            )
            .await;
        let got = copper
            .client
            .get(&copper.account, id, &RequestOptions::default())
            .await
            .expect("the opportunity");
        assert_eq!(got["status"], json!(unified_status), "{copper_status}");
        assert_eq!(got["id"], json!(id));
        assert_eq!(got["remote_data"]["status"], json!(copper_status));
    }
    copper.finish().await;
}

#[tokio::test]
async fn get_raw_is_copper_body_untouched() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;

    let got = copper
        .client
        .get(&copper.account, ID, &format(ResponseFormat::Raw))
        .await
        .expect("the opportunity");

    assert_eq!(got, fixture(OPPORTUNITY));
    assert_eq!(got.to_string(), fixture(OPPORTUNITY).to_string());
    assert_eq!(got["id"], json!(2827699), "raw keeps Copper's integer id");
    assert_eq!(got["close_date"], json!("1/15/2018"));
    copper.finish().await;
}

#[tokio::test]
async fn get_normalized_has_every_unified_field_in_schema_order_and_no_remote_data() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    // A sparse record: the last of page 3, served alone.
    let sparse = fixture(LIST_PAGE3)[0].clone();
    copper
        .on("GET", "/opportunities/2827702", 200, &sparse.to_string(), 1)
        .await;
    let schema_order = [
        "id",
        "name",
        "description",
        "amount",
        "currency",
        "owner",
        "account",
        "contact",
        "stage",
        "status",
        "tags",
        "custom_fields",
        "last_activity_at",
        "close_date",
        "created_at",
        "updated_at",
        "urls",
    ];

    let full = copper
        .client
        .get(&copper.account, ID, &format(ResponseFormat::Normalized))
        .await
        .expect("the opportunity");
    let mut expected = unified_2827699();
    for (field, at) in [
        ("last_activity_at", "2017-03-09T00:20:00Z"),
        ("close_date", "2018-01-15T00:00:00Z"),
        ("created_at", "2017-01-09T19:07:08Z"),
        ("updated_at", "2017-03-09T00:19:44Z"),
    ] {
        expected[field] = json!(at);
    }
    expected["urls"] = Value::Null;
    assert_eq!(full, expected);
    let keys: Vec<&str> = full
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, schema_order);

    let sparse_got = copper
        .client
        .get(
            &copper.account,
            "2827702",
            &format(ResponseFormat::Normalized),
        )
        .await
        .expect("the opportunity");
    assert_eq!(
        sparse_got,
        json!({
            "id": "2827702",
            "name": "Partner Referral Program",
            "description": null,
            "amount": null,
            "currency": null,
            "owner": null,
            "account": null,
            "contact": [{"id": "27140362"}],
            "stage": {"id": "987795", "name": "First Meeting"},
            "status": "abandoned",
            "tags": [],
            "custom_fields": {
                "A Text Field": null,
                "A Text Area Field": null,
                "Color option": null,
                "Go-live Date": null,
                "Product Lines": [],
                "Renewal": false,
                "Contract Value": null
            },
            "last_activity_at": null,
            "close_date": null,
            "created_at": "2017-02-15T00:00:00Z",
            "updated_at": "2017-04-01T00:00:00Z",
            "urls": null
        })
    );
    let keys: Vec<&str> = sparse_got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, schema_order);
    copper.finish().await;
}

#[tokio::test]
async fn get_ignore_remote_data_drops_only_remote_data() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    let options = RequestOptions {
        ignore_remote_data: true,
        ..RequestOptions::default()
    };

    let got = copper
        .client
        .get(&copper.account, ID, &options)
        .await
        .expect("the opportunity");

    assert_eq!(got, unified_2827699());
    assert!(got.get("remote_data").is_none());
    copper.finish().await;
}

#[tokio::test]
async fn get_exclude_fields_removes_top_level_and_nested_fields() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 2)
        .await;
    let options = RequestOptions {
        exclude_fields: vec![
            "remote_data".into(),
            "custom_fields".into(),
            "owner".into(),
            "stage.name".into(),
            "tags.id".into(),
        ],
        ..RequestOptions::default()
    };

    let got = copper
        .client
        .get(&copper.account, ID, &options)
        .await
        .expect("the opportunity");

    let mut expected = unified_2827699();
    let object = expected.as_object_mut().unwrap();
    object.remove("custom_fields");
    object.remove("owner");
    object["stage"] = json!({"id": "987793"});
    object["tags"] = json!([{"name": "tag1"}]);
    assert_eq!(got, expected);

    // In the normalized format too: excluded fields are gone, not null.
    let normalized = copper
        .client
        .get(
            &copper.account,
            ID,
            &RequestOptions {
                format: ResponseFormat::Normalized,
                exclude_fields: vec!["urls".into(), "id".into()],
                ..RequestOptions::default()
            },
        )
        .await
        .expect("the opportunity");
    let object = normalized.as_object().unwrap();
    assert!(!object.contains_key("urls") && !object.contains_key("id"));
    assert_eq!(object["name"], json!("25 Office Chairs (sample)"));
    copper.finish().await;
}

#[tokio::test]
async fn get_remote_query_reaches_copper_untouched() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    let options = RequestOptions {
        remote_query: BTreeMap::from([
            ("foo".to_owned(), "bar".to_owned()),
            ("filter[name]".to_owned(), "a b&c".to_owned()),
        ]),
        ..RequestOptions::default()
    };

    let got = copper
        .client
        .get(&copper.account, ID, &options)
        .await
        .expect("the opportunity");
    assert_eq!(got["id"], json!(ID));

    let requests = copper.opportunity_requests().await;
    assert_eq!(requests.len(), 1);
    let pairs: Vec<(String, String)> = requests[0]
        .url
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("filter[name]".to_owned(), "a b&c".to_owned()),
            ("foo".to_owned(), "bar".to_owned()),
        ]
    );
    copper.finish().await;
}

// ---------------------------------------------------------------- list

/// Mounts the three pages of a two-per-page search; `total` is sent as
/// `X-PW-TOTAL` when given. `pages` says how many times each page is expected.
async fn mount_pages(copper: &Copper, total: Option<&str>, pages: [u64; 3]) {
    for (number, (body, times)) in [LIST_PAGE1, LIST_PAGE2, LIST_PAGE3]
        .into_iter()
        .zip(pages)
        .enumerate()
    {
        let mut response = answer(200, body);
        if let Some(total) = total {
            response = response.insert_header("X-PW-TOTAL", total);
        }
        mock("POST", "/opportunities/search")
            .and(body_json(search_body(number as i64 + 1, 2)))
            .respond_with(response)
            .expect(times)
            .mount(&copper.server)
            .await;
    }
}

async fn search_bodies(copper: &Copper) -> Vec<Value> {
    copper
        .opportunity_requests()
        .await
        .iter()
        .map(|request| {
            assert_eq!(request.method.as_str(), "POST");
            assert_eq!(request.url.path(), "/opportunities/search");
            request.body_json().expect("a JSON body")
        })
        .collect()
}

#[tokio::test]
async fn list_pages_through_three_pages_with_page_number_and_page_size() {
    let copper = Copper::start().await;
    mount_pages(&copper, None, [1, 1, 1]).await;

    let first = copper
        .client
        .list(&copper.account, &page(2, None))
        .await
        .expect("page 1");
    let envelope: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = envelope.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["next_cursor", "result", "result_count"]);
    let result = first["result"].as_array().unwrap();
    assert_eq!(ids(result), ["2827699", "2827698"]);
    assert_eq!(first["result_count"], json!(2));
    assert_eq!(
        result[0],
        with_remote_data(unified_2827699(), fixture(LIST_PAGE1)[0].clone())
    );
    assert_eq!(result[1]["remote_data"], fixture(LIST_PAGE1)[1]);
    assert_eq!(result[1]["owner"], Value::Null);
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    // Opaque: no page number in sight.
    assert!(
        !cursor.contains("page") && !cursor.contains('{'),
        "{cursor}"
    );

    let second = copper
        .client
        .list(&copper.account, &page(2, Some(cursor)))
        .await
        .expect("page 2");
    assert_eq!(
        ids(second["result"].as_array().unwrap()),
        ["2827700", "2827701"]
    );
    assert_eq!(second["result_count"], json!(2));
    assert_eq!(second["result"][0]["status"], json!("won"));
    assert_eq!(second["result"][0]["amount"].as_f64(), Some(1250.5));
    assert_eq!(second["result"][1]["status"], json!("lost"));
    assert_eq!(second["result"][1]["currency"], json!("EUR"));
    let cursor = second["next_cursor"].as_str().expect("a cursor").to_owned();

    let third = copper
        .client
        .list(&copper.account, &page(2, Some(cursor)))
        .await
        .expect("page 3");
    assert_eq!(ids(third["result"].as_array().unwrap()), ["2827702"]);
    assert_eq!(third["result_count"], json!(1));
    assert_eq!(third["next_cursor"], Value::Null);
    assert_eq!(third["result"][0]["status"], json!("abandoned"));
    assert_eq!(third["result"][0]["remote_data"], fixture(LIST_PAGE3)[0]);

    assert_eq!(
        search_bodies(&copper).await,
        [search_body(1, 2), search_body(2, 2), search_body(3, 2)]
    );
    copper.finish().await;
}

#[tokio::test]
async fn list_stops_where_x_pw_total_says_the_records_end() {
    let copper = Copper::start().await;
    // Four records in all: page 2 is full, yet the last one.
    mount_pages(&copper, Some("4"), [2, 2, 0]).await;

    let first = copper
        .client
        .list(&copper.account, &page(2, None))
        .await
        .expect("page 1");
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let second = copper
        .client
        .list(&copper.account, &page(2, Some(cursor)))
        .await
        .expect("page 2");
    assert_eq!(second["result_count"], json!(2));
    assert_eq!(second["next_cursor"], Value::Null);

    let streamed: Vec<Value> = copper
        .client
        .stream(&copper.account, page(2, None))
        .map(|record| record.expect("a record"))
        .collect()
        .await;
    assert_eq!(ids(&streamed), ["2827699", "2827698", "2827700", "2827701"]);

    assert_eq!(
        search_bodies(&copper).await,
        [
            search_body(1, 2),
            search_body(2, 2),
            search_body(1, 2),
            search_body(2, 2)
        ]
    );
    copper.finish().await;
}

#[tokio::test]
async fn list_stream_yields_every_record_of_every_page_in_order() {
    let copper = Copper::start().await;
    mount_pages(&copper, None, [1, 1, 1]).await;
    let options = ListOptions {
        request: format(ResponseFormat::Stream),
        ..page(2, None)
    };

    let streamed: Vec<Value> = copper
        .client
        .stream(&copper.account, options)
        .map(|record| record.expect("a record"))
        .collect()
        .await;

    assert_eq!(
        ids(&streamed),
        ["2827699", "2827698", "2827700", "2827701", "2827702"]
    );
    let raw: Vec<Value> = [LIST_PAGE1, LIST_PAGE2, LIST_PAGE3]
        .iter()
        .flat_map(|page| fixture(page).as_array().unwrap().clone())
        .collect();
    for (record, remote) in streamed.iter().zip(&raw) {
        assert_eq!(&record["remote_data"], remote);
    }
    assert_eq!(
        streamed[0],
        with_remote_data(unified_2827699(), raw[0].clone())
    );
    assert_eq!(
        search_bodies(&copper).await,
        [search_body(1, 2), search_body(2, 2), search_body(3, 2)]
    );
    copper.finish().await;
}

#[tokio::test]
async fn list_raw_is_copper_page_untouched() {
    let copper = Copper::start().await;
    mount_pages(&copper, None, [1, 0, 0]).await;
    let options = ListOptions {
        request: format(ResponseFormat::Raw),
        ..page(2, None)
    };

    let got = copper
        .client
        .list(&copper.account, &options)
        .await
        .expect("page 1");

    assert_eq!(got, fixture(LIST_PAGE1));
    assert_eq!(got.to_string(), fixture(LIST_PAGE1).to_string());
    assert_eq!(search_bodies(&copper).await, [search_body(1, 2)]);
    copper.finish().await;
}

#[tokio::test]
async fn list_normalized_ignore_exclude_and_remote_query() {
    let copper = Copper::start().await;
    // `remote_query` goes where Copper reads filters: the search body.
    let mut filtered = search_body(1, 2);
    filtered["minimum_monetary_value"] = json!(1000);
    mock("POST", "/opportunities/search")
        .and(body_json(filtered.clone()))
        .respond_with(answer(200, LIST_PAGE1))
        .expect(1)
        .mount(&copper.server)
        .await;
    let options = ListOptions {
        request: RequestOptions {
            format: ResponseFormat::Normalized,
            exclude_fields: vec!["custom_fields".into()],
            // A search filter, as Copper's search body takes it.
            remote_query: BTreeMap::from([(
                "minimum_monetary_value".to_owned(),
                "1000".to_owned(),
            )]),
            ..RequestOptions::default()
        },
        ..page(2, None)
    };

    let got = copper
        .client
        .list(&copper.account, &options)
        .await
        .expect("page 1");

    let second = &got["result"][1];
    assert_eq!(second["id"], json!("2827698"));
    assert_eq!(second["owner"], Value::Null);
    assert_eq!(second["contact"], Value::Null);
    assert_eq!(second["urls"], Value::Null);
    assert_eq!(second["close_date"], json!("2017-01-23T00:00:00Z"));
    assert_eq!(
        second["stage"],
        json!({"id": "987790", "name": "Qualified"})
    );
    assert!(second.get("remote_data").is_none());
    assert!(second.get("custom_fields").is_none());
    assert_eq!(second.as_object().unwrap().len(), 16);

    let requests = copper.opportunity_requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url.query(),
        None,
        "nothing on the URL Copper ignores"
    );
    assert_eq!(requests[0].body_json::<Value>().unwrap(), filtered);
    copper.finish().await;
}

#[tokio::test]
async fn list_refuses_a_cursor_it_did_not_make_without_a_request() {
    let copper = Copper::start().await;
    let error = copper
        .client
        .list(&copper.account, &page(2, Some("not-a-cursor!".into())))
        .await
        .expect_err("a bad cursor");
    let (field, _) = invalid_field(error);
    assert_eq!(field, "next_cursor");
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_maps_every_field_to_copper_and_merges_remote_data() {
    let copper = Copper::start().await;
    copper
        .on("POST", "/opportunities", 200, OPPORTUNITY, 1)
        .await;
    let body = json!({
        "name": "New Demo Opportunity",
        "description": "Fifty chairs",
        "contact": [{"id": "27140359"}],
        "owner": {"id": "137658"},
        "account": {"id": "9607580"},
        "amount": 75000,
        "currency": "USD",
        "close_date": "2018-01-15T00:00:00Z",
        "status": "won",
        "stage": {"id": "987793", "name": "ignored on write"},
        "tags": [{"name": "tag1"}, {"id": "vip"}],
        "custom_fields": {
            "A Text Field": "Text",
            // Written by label: sent as Copper's option ids.
            "Color option": "Blue",
            "Product Lines": ["Chairs", "Copiers"],
            "Go-live Date": "2018-01-15"
        },
        "remote_data": {
            "customer_source_id": 331242,
            "priority": "High",
            "x_extra": {"keep": [1, "two", null]}
        }
    });

    let got = copper
        .client
        .create(&copper.account, body, &RequestOptions::default())
        .await
        .expect("the created opportunity");

    assert_eq!(
        got,
        with_remote_data(unified_2827699(), fixture(OPPORTUNITY))
    );
    let (verb, route, sent) = copper.only_opportunity_request().await;
    assert_eq!((verb.as_str(), route.as_str()), ("POST", "/opportunities"));
    assert_eq!(
        sent,
        json!({
            "name": "New Demo Opportunity",
            "primary_contact_id": 27140359,
            "assignee_id": 137658,
            "close_date": "01/15/2018",
            "company_id": 9607580,
            "details": "Fifty chairs",
            "monetary_value": 75000.0,
            "monetary_unit": "USD",
            "pipeline_stage_id": 987793,
            "status": "Won",
            "tags": ["tag1", "vip"],
            "custom_fields": [
                {"custom_field_definition_id": 100764, "value": "Text"},
                {"custom_field_definition_id": 126240, "value": 167774},
                // A date is written as its midnight UTC in Unix seconds.
                {"custom_field_definition_id": 126241, "value": 1515974400},
                {"custom_field_definition_id": 126242, "value": [167780, 167782]}
            ],
            "customer_source_id": 331242,
            "priority": "High",
            "x_extra": {"keep": [1, "two", null]}
        })
    );
    copper.finish().await;
}

#[tokio::test]
async fn create_with_only_the_required_fields_sends_only_them() {
    let copper = Copper::start().await;
    copper
        .on("POST", "/opportunities", 200, OPPORTUNITY, 1)
        .await;

    let got = copper
        .client
        .create(
            &copper.account,
            valid_create(),
            &format(ResponseFormat::Raw),
        )
        .await
        .expect("the created opportunity");

    assert_eq!(got, fixture(OPPORTUNITY));
    let (_, _, sent) = copper.only_opportunity_request().await;
    assert_eq!(
        sent,
        json!({"name": "New Demo Opportunity", "primary_contact_id": 27140359})
    );
    copper.finish().await;
}

// ---------------------------------------------------------------- update

/// Updates `ID` with `body`; returns the caller's answer and the JSON body
/// Copper received.
async fn update(body: Value) -> (Value, Value) {
    let copper = Copper::start().await;
    copper
        .on("PUT", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    let got = copper
        .client
        .update(&copper.account, ID, body, &RequestOptions::default())
        .await
        .expect("the updated opportunity");
    let (verb, route, sent) = copper.only_opportunity_request().await;
    assert_eq!((verb.as_str(), route.as_str()), ("PUT", OPPORTUNITY_PATH));
    copper.finish().await;
    (got, sent)
}

#[tokio::test]
async fn update_sends_exactly_the_one_field_set() {
    let (got, sent) = update(json!({"amount": 1250.5})).await;
    assert_eq!(sent, json!({"monetary_value": 1250.5}));
    assert_eq!(
        got,
        with_remote_data(unified_2827699(), fixture(OPPORTUNITY))
    );

    for (body, expected) in [
        (json!({"name": "Renamed"}), json!({"name": "Renamed"})),
        (
            json!({"description": "New details"}),
            json!({"details": "New details"}),
        ),
        (json!({"currency": "EUR"}), json!({"monetary_unit": "EUR"})),
        (
            json!({"owner": {"id": "142310"}}),
            json!({"assignee_id": 142310}),
        ),
        (
            json!({"account": {"id": "9607581"}}),
            json!({"company_id": 9607581}),
        ),
        (
            json!({"contact": [{"id": "27140360"}]}),
            json!({"primary_contact_id": 27140360}),
        ),
        (
            json!({"stage": {"id": "987794"}}),
            json!({"pipeline_stage_id": 987794}),
        ),
        (
            json!({"close_date": "2018-02-01T00:00:00Z"}),
            json!({"close_date": "02/01/2018"}),
        ),
        (
            json!({"tags": [{"name": "renewal"}]}),
            json!({"tags": ["renewal"]}),
        ),
        (
            json!({"custom_fields": {"Renewal": true}}),
            json!({"custom_fields": [{"custom_field_definition_id": 126243, "value": true}]}),
        ),
        (
            json!({"remote_data": {"priority": "High"}}),
            json!({"priority": "High"}),
        ),
        (json!({}), json!({})),
    ] {
        let (_, sent) = update(body.clone()).await;
        assert_eq!(sent, expected, "for {body}");
    }
}

#[tokio::test]
async fn update_null_clears_the_field() {
    let (_, sent) = update(json!({"close_date": null})).await;
    assert_eq!(sent, json!({"close_date": null}));

    for (body, expected) in [
        (json!({"owner": null}), json!({"assignee_id": null})),
        (json!({"account": null}), json!({"company_id": null})),
        (json!({"amount": null}), json!({"monetary_value": null})),
        (json!({"description": null}), json!({"details": null})),
    ] {
        let (_, sent) = update(body.clone()).await;
        assert_eq!(sent, expected, "for {body}");
    }
}

#[tokio::test]
async fn update_status_lost_is_sent_as_lost() {
    let (got, sent) = update(json!({"status": "lost"})).await;
    assert_eq!(sent, json!({"status": "Lost"}));
    // The answer is Copper's record as it came back.
    assert_eq!(got["status"], json!("open"));

    for (status, copper_status) in [("open", "Open"), ("won", "Won"), ("abandoned", "Abandoned")] {
        let (_, sent) = update(json!({"status": status})).await;
        assert_eq!(sent, json!({"status": copper_status}));
    }
}

#[tokio::test]
async fn update_answers_in_the_format_asked_for() {
    let copper = Copper::start().await;
    copper
        .on("PUT", OPPORTUNITY_PATH, 200, OPPORTUNITY, 2)
        .await;

    let raw = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"name": "Renamed"}),
            &format(ResponseFormat::Raw),
        )
        .await
        .expect("raw");
    assert_eq!(raw, fixture(OPPORTUNITY));

    let trimmed = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"name": "Renamed"}),
            &RequestOptions {
                ignore_remote_data: true,
                exclude_fields: vec!["custom_fields".into()],
                remote_query: BTreeMap::from([("foo".to_owned(), "bar".to_owned())]),
                ..RequestOptions::default()
            },
        )
        .await
        .expect("unified");
    let mut expected = unified_2827699();
    expected.as_object_mut().unwrap().remove("custom_fields");
    assert_eq!(trimmed, expected);

    let requests = copper.opportunity_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].url.query(), None);
    assert_eq!(requests[1].url.query(), Some("foo=bar"));
    copper.finish().await;
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn delete_answers_the_id_with_copper_answer_as_remote_data() {
    let copper = Copper::start().await;
    copper.on("DELETE", OPPORTUNITY_PATH, 200, DELETE, 3).await;

    let got = copper
        .client
        .delete(&copper.account, ID, &RequestOptions::default())
        .await
        .expect("deleted");
    assert_eq!(
        got,
        json!({"id": "2827699", "remote_data": {"id": 2827699, "is_deleted": true}})
    );

    let raw = copper
        .client
        .delete(&copper.account, ID, &format(ResponseFormat::Raw))
        .await
        .expect("deleted");
    assert_eq!(raw, fixture(DELETE));

    let normalized = copper
        .client
        .delete(&copper.account, ID, &format(ResponseFormat::Normalized))
        .await
        .expect("deleted");
    assert_eq!(normalized["id"], json!("2827699"));
    assert_eq!(normalized["name"], Value::Null);
    assert!(normalized.get("remote_data").is_none());

    let requests = copper.opportunity_requests().await;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.method.as_str(), "DELETE");
        assert_eq!(request.url.path(), OPPORTUNITY_PATH);
        assert!(request.body.is_empty());
    }
    copper.finish().await;
}

// ---------------------------------------------------------------- account context

#[tokio::test]
async fn context_is_fetched_once_per_account_across_operations() {
    let copper = Copper::start().await;
    copper
        .on("GET", OPPORTUNITY_PATH, 200, OPPORTUNITY, 4)
        .await;
    copper
        .on("PUT", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    copper
        .on("POST", "/opportunities", 200, OPPORTUNITY, 1)
        .await;
    copper.on("DELETE", OPPORTUNITY_PATH, 200, DELETE, 1).await;
    mount_pages(&copper, None, [1, 0, 0]).await;
    let client = &copper.client;
    let account = &copper.account;
    let options = RequestOptions::default();

    // Two calls race for the first fetch.
    let (first, second) = futures::join!(
        client.get(account, ID, &options),
        client.get(account, ID, &options)
    );
    assert_eq!(first.unwrap()["stage"]["name"], json!("Contract Sent"));
    assert_eq!(
        second.unwrap()["custom_fields"]["Color option"],
        json!("Blue")
    );
    client.get(account, ID, &options).await.unwrap();
    client.list(account, &page(2, None)).await.unwrap();
    client
        .create(account, valid_create(), &options)
        .await
        .unwrap();
    client
        .update(account, ID, json!({"name": "x"}), &options)
        .await
        .unwrap();
    client.delete(account, ID, &options).await.unwrap();

    assert_eq!(copper.count("GET", "/custom_field_definitions").await, 1);
    assert_eq!(copper.count("GET", "/pipelines").await, 1);

    // Another account is another context.
    let other = self::account(7, &copper.server);
    let got = client.get(&other, ID, &options).await.unwrap();
    assert_eq!(got["stage"]["name"], json!("Contract Sent"));
    assert_eq!(copper.count("GET", "/custom_field_definitions").await, 2);
    assert_eq!(copper.count("GET", "/pipelines").await, 2);
    copper.finish().await;
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn create_without_name_or_contact_is_refused_naming_both() {
    let copper = Copper::start().await;
    let error = copper
        .client
        .create(
            &copper.account,
            json!({"description": "no name, no contact"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("refused");

    assert_eq!(
        error.to_string(),
        "copper cannot create this opportunity: missing required name, contact"
    );
    match error {
        UnifiedError::Validation {
            provider,
            operation,
            missing,
            unsupported,
        } => {
            assert_eq!(provider, Provider::Copper);
            assert_eq!(operation, "create");
            assert_eq!(missing, ["name", "contact"]);
            assert!(unsupported.is_empty());
        }
        other => panic!("expected a validation error, got {other:?}"),
    }

    // Only one of them missing: only that one named.
    let error = copper
        .client
        .create(
            &copper.account,
            json!({"name": "x"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, UnifiedError::Validation { missing, .. } if missing == &["contact"]),
        "{error:?}"
    );

    assert!(copper.opportunity_requests().await.is_empty());
    assert!(
        copper.requests().await.is_empty(),
        "nothing at all was sent"
    );
    copper.finish().await;
}

#[tokio::test]
async fn a_field_copper_cannot_store_is_refused() {
    let copper = Copper::start().await;
    let mut body = valid_create();
    body["created_at"] = json!("2020-01-01T00:00:00Z");
    let error = copper
        .client
        .create(&copper.account, body, &RequestOptions::default())
        .await
        .expect_err("refused");
    match error {
        UnifiedError::Validation {
            operation,
            missing,
            unsupported,
            ..
        } => {
            assert_eq!(operation, "create");
            assert!(missing.is_empty());
            assert_eq!(unsupported, ["created_at"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let error = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"created_at": "2020-01-01T00:00:00Z"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, UnifiedError::Validation { operation: "update", unsupported, .. } if unsupported == &["created_at"]),
        "{error:?}"
    );
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn an_unknown_status_is_refused() {
    let copper = Copper::start().await;
    let mut body = valid_create();
    body["status"] = json!("pending");
    let error = copper
        .client
        .create(&copper.account, body, &RequestOptions::default())
        .await
        .expect_err("refused");
    let (field, message) = invalid_field(error);
    assert_eq!(field, "status");
    assert!(message.contains("pending"), "{message}");

    let error = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"status": "Won"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("Copper's spelling is not a unified status");
    assert_eq!(invalid_field(error).0, "status");
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn an_amount_that_is_not_a_number_is_refused() {
    let copper = Copper::start().await;
    let mut body = valid_create();
    body["amount"] = json!("75,000");
    let error = copper
        .client
        .create(&copper.account, body, &RequestOptions::default())
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("`amount`"), "{error}");
    assert_eq!(invalid_field(error).0, "amount");

    let error = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"amount": "lots"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("refused");
    assert_eq!(invalid_field(error).0, "amount");
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn an_id_that_is_not_an_integer_is_refused() {
    let copper = Copper::start().await;
    let options = RequestOptions::default();
    for id in ["abc", "12.5", "", "../pipelines", "1 2"] {
        let error = copper
            .client
            .get(&copper.account, id, &options)
            .await
            .expect_err("refused");
        assert_eq!(invalid_field(error).0, "id", "get {id:?}");
        let error = copper
            .client
            .update(&copper.account, id, json!({"name": "x"}), &options)
            .await
            .expect_err("refused");
        assert_eq!(invalid_field(error).0, "id", "update {id:?}");
        let error = copper
            .client
            .delete(&copper.account, id, &options)
            .await
            .expect_err("refused");
        assert_eq!(invalid_field(error).0, "id", "delete {id:?}");
    }
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn an_unknown_custom_field_name_is_refused_naming_it() {
    let copper = Copper::start().await;
    let mut body = valid_create();
    body["custom_fields"] = json!({"Colour option": "Blue"});
    let (field, message) = invalid_field(
        copper
            .client
            .create(&copper.account, body, &RequestOptions::default())
            .await
            .expect_err("refused"),
    );
    assert_eq!(field, "custom_fields.Colour option");
    assert!(
        message.contains("copper") && message.contains("Colour option"),
        "{message}"
    );

    // A definition that exists, but only on people and leads.
    let (field, _) = invalid_field(
        copper
            .client
            .update(
                &copper.account,
                ID,
                json!({"custom_fields": {"LinkedIn Profile": "https://example.com"}}),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused"),
    );
    assert_eq!(field, "custom_fields.LinkedIn Profile");

    assert!(copper.opportunity_requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn a_contact_id_that_is_not_an_integer_is_refused() {
    let copper = Copper::start().await;
    let error = mapping_error(
        copper
            .client
            .create(
                &copper.account,
                json!({"name": "x", "contact": [{"id": "abc"}]}),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused"),
    );
    assert_eq!(
        (error.provider, error.field.as_str(), error.value.as_str()),
        ("copper", "contact.id", "abc")
    );

    let error = mapping_error(
        copper
            .client
            .update(
                &copper.account,
                ID,
                json!({"owner": {"id": "usr_1"}}),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused"),
    );
    assert_eq!(
        (error.field.as_str(), error.value.as_str()),
        ("owner.id", "usr_1")
    );

    // Copper keeps one primary contact: two are refused, not truncated.
    let error = mapping_error(
        copper
            .client
            .create(
                &copper.account,
                json!({"name": "x", "contact": [{"id": "1"}, {"id": "2"}]}),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused"),
    );
    assert_eq!(error.field, "contact");

    assert!(copper.opportunity_requests().await.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn a_bad_query_string_is_refused_before_anything_is_sent() {
    let copper = Copper::start().await;
    let account = "62f44730-dd91-461e-bd6a-aedd9e0ad79d";
    let error = UnifiedQuery::parse([
        ("integrated_account_id", account),
        ("truto_response_format", "xml"),
    ])
    .expect_err("unknown format");
    assert_eq!(invalid_field(error).0, "truto_response_format");
    let error =
        UnifiedQuery::parse([("integrated_account_id", "62f44730")]).expect_err("malformed uuid");
    assert_eq!(invalid_field(error).0, "integrated_account_id");

    let query = UnifiedQuery::parse([
        ("integrated_account_id", account),
        ("truto_response_format", "normalized"),
        ("remote_query[foo]", "bar"),
    ])
    .expect("valid");
    assert_eq!(query.integrated_account_id, copper.account.id);
    assert_eq!(query.options.request.format, ResponseFormat::Normalized);
    assert!(copper.requests().await.is_empty());
    copper.finish().await;
}

// ---------------------------------------------------------------- provider errors

#[tokio::test]
async fn a_404_is_a_provider_error_with_the_whole_body() {
    let copper = Copper::start().await;
    copper
        .on("GET", "/opportunities/404", 404, ERROR_404, 1)
        .await;

    let error = copper
        .client
        .get(&copper.account, "404", &RequestOptions::default())
        .await
        .expect_err("not found");

    let (status, body, _) = provider_error(&error);
    assert_eq!(status, 404);
    assert_eq!(body, ERROR_404);
    assert!(
        error.to_string().starts_with("copper answered 404"),
        "{error}"
    );
    assert_eq!(error.retry_after(), None);
    copper.finish().await;
}

#[tokio::test]
async fn a_401_is_a_provider_error_and_is_not_cached() {
    let copper = Copper::start().await;
    // The first request of an account is its context: bad credentials show
    // there first.
    mock("GET", "/custom_field_definitions")
        .respond_with(answer(401, ERROR_401))
        .with_priority(1)
        .up_to_n_times(1)
        .expect(1)
        .mount(&copper.server)
        .await;
    copper.on("GET", OPPORTUNITY_PATH, 401, ERROR_401, 1).await;

    let error = copper
        .client
        .get(&copper.account, ID, &RequestOptions::default())
        .await
        .expect_err("unauthorized");
    let (status, body, _) = provider_error(&error);
    assert_eq!((status, body), (401, ERROR_401));
    assert!(copper.opportunity_requests().await.is_empty());

    // The failed context is fetched again; then the opportunity's own 401.
    let error = copper
        .client
        .get(&copper.account, ID, &RequestOptions::default())
        .await
        .expect_err("unauthorized");
    let (status, body, _) = provider_error(&error);
    assert_eq!((status, body), (401, ERROR_401));
    assert_eq!(copper.count("GET", "/custom_field_definitions").await, 2);
    assert_eq!(copper.opportunity_requests().await.len(), 1);
    copper.finish().await;
}

#[tokio::test]
async fn a_422_is_a_provider_error_with_the_whole_body() {
    let copper = Copper::start().await;
    copper.on("POST", "/opportunities", 422, ERROR_422, 1).await;

    let error = copper
        .client
        .create(&copper.account, valid_create(), &RequestOptions::default())
        .await
        .expect_err("unprocessable");

    let (status, body, _) = provider_error(&error);
    assert_eq!((status, body), (422, ERROR_422));
    let (_, _, sent) = copper.only_opportunity_request().await;
    assert_eq!(
        sent,
        json!({"name": "New Demo Opportunity", "primary_contact_id": 27140359})
    );
    copper.finish().await;
}

#[tokio::test]
async fn a_429_passes_retry_after_back() {
    // Longer than the retry policy waits: the error comes back at once.
    let copper = Copper::start().await;
    mock("POST", "/opportunities/search")
        .respond_with(answer(429, ERROR_429).insert_header("Retry-After", "60"))
        .expect(2)
        .mount(&copper.server)
        .await;

    let error = copper
        .client
        .list(&copper.account, &page(2, None))
        .await
        .expect_err("rate limited");
    assert_eq!(error.retry_after(), Some("60"));
    let (status, body, rate_limit) = provider_error(&error);
    assert_eq!((status, body), (429, ERROR_429));
    assert_eq!(rate_limit, [("retry-after".to_owned(), "60".to_owned())]);

    // A stream ends with the error.
    let items: Vec<Result<Value, UnifiedError>> = copper
        .client
        .stream(&copper.account, page(2, None))
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().expect_err("rate limited").retry_after(),
        Some("60")
    );
    copper.finish().await;
}

// ---------------------------------------------------------------- bugs

/// The unified spec: a `null` custom field value "unsets that custom
/// field"; Copper's: "set `value` to null to clear one". The glue drops
/// the `value` key instead of sending `null`.
#[tokio::test]
async fn update_custom_field_null_sends_value_null() {
    let (_, sent) = update(json!({"custom_fields": {"A Text Field": null}})).await;
    assert_eq!(
        sent,
        json!({"custom_fields": [{"custom_field_definition_id": 100764, "value": null}]})
    );
}

/// On write a stage is selected by `id`; `name` is ignored (unified spec,
/// `OpportunityStage`). A stage with a name and no id must not clear
/// Copper's stage (`pipeline_stage_id` is not even nullable in Copper).
#[tokio::test]
async fn a_stage_by_name_is_resolved_and_null_is_refused() {
    let copper = Copper::start().await;
    copper
        .on("PUT", OPPORTUNITY_PATH, 200, OPPORTUNITY, 1)
        .await;
    copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"stage": {"name": "Qualified"}}),
            &RequestOptions::default(),
        )
        .await
        .expect("a stage by name");
    let sent: Vec<Value> = copper
        .opportunity_requests()
        .await
        .iter()
        .map(|request| request.body_json().expect("a JSON body"))
        .collect();
    assert_eq!(sent, [json!({"pipeline_stage_id": 987790})]);

    let error = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"stage": null}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("null is refused");
    assert!(
        matches!(error, UnifiedError::Mapping(ref mapping) if mapping.field == "stage"),
        "{error:?}"
    );
    let error = copper
        .client
        .update(
            &copper.account,
            ID,
            json!({"stage": {"name": "No such stage"}}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("unknown name");
    assert_eq!(invalid_field(error).0, "stage");
    copper.finish().await;
}

/// `name`, `status` and `tags` are not nullable in the unified
/// `OpportunityUpdate`, nor in Copper's: `{"name": null}` is bad input and
/// must be refused before anything is sent, not forwarded to Copper as
/// `{"name": null}`.
#[tokio::test]
async fn update_null_for_a_non_nullable_field_is_refused() {
    let copper = Copper::start().await;
    copper
        .on("PUT", OPPORTUNITY_PATH, 200, OPPORTUNITY, 0..=3)
        .await;
    let mut not_refused = Vec::new();
    for field in ["name", "status", "tags"] {
        let result = copper
            .client
            .update(
                &copper.account,
                ID,
                json!({ field: null }),
                &RequestOptions::default(),
            )
            .await;
        match result {
            Err(UnifiedError::InvalidInput { field: named, .. }) if named == field => {}
            Err(other) => not_refused.push(format!("{field}: {other}")),
            Ok(_) => not_refused.push(format!("{field}: accepted")),
        }
    }
    let sent: Vec<Value> = copper
        .opportunity_requests()
        .await
        .iter()
        .map(|request| request.body_json().expect("a JSON body"))
        .collect();
    assert!(
        sent.is_empty() && not_refused.is_empty(),
        "sent {sent:?}; not refused: {not_refused:?}"
    );
    copper.finish().await;
}

// ---------------------------------------------------------------- issue 10 quirks

/// Accounts with a day-first locale write `close_date` as `D/M/YYYY`
/// (Copper's `date_order` setting): days 1-12 are where the two orders
/// disagree, so both reading and writing must follow the account.
#[tokio::test]
async fn close_date_follows_the_accounts_date_order() {
    let copper = Copper::start().await;
    let mut record = fixture(OPPORTUNITY);
    record["close_date"] = json!("3/4/2024");
    mock("GET", OPPORTUNITY_PATH)
        .respond_with(ResponseTemplate::new(200).set_body_json(&record))
        .mount(&copper.server)
        .await;
    mock("PUT", OPPORTUNITY_PATH)
        .respond_with(ResponseTemplate::new(200).set_body_json(&record))
        .mount(&copper.server)
        .await;
    let day_first = IntegratedAccount {
        id: Uuid::from_u128(0xd1),
        ..copper.account.clone()
    }
    .with_settings(&serde_json::Map::from_iter([(
        "date_order".to_owned(),
        json!("DMY"),
    )]))
    .expect("DMY is a date order");

    let month_first = copper
        .client
        .get(&copper.account, ID, &RequestOptions::default())
        .await
        .expect("read");
    assert_eq!(month_first["close_date"], json!("2024-03-04T00:00:00Z"));
    let got = copper
        .client
        .get(&day_first, ID, &RequestOptions::default())
        .await
        .expect("read");
    assert_eq!(got["close_date"], json!("2024-04-03T00:00:00Z"));

    copper
        .client
        .update(
            &day_first,
            ID,
            json!({"close_date": "2024-11-02T00:00:00Z"}),
            &RequestOptions::default(),
        )
        .await
        .expect("update");
    let puts: Vec<Value> = copper
        .opportunity_requests()
        .await
        .iter()
        .filter(|request| request.method.as_str() == "PUT")
        .map(|request| request.body_json().expect("JSON"))
        .collect();
    assert_eq!(puts, [json!({"close_date": "02/11/2024"})]);
}

/// Copper's docs: page until a page is shorter than asked; `X-PW-TOTAL`
/// alone is not to be trusted.
#[tokio::test]
async fn a_short_page_ends_the_list_whatever_x_pw_total_says() {
    let copper = Copper::start().await;
    mock("POST", "/opportunities/search")
        .respond_with(answer(200, LIST_PAGE3).insert_header("X-PW-TOTAL", "500"))
        .mount(&copper.server)
        .await;
    let got = copper
        .client
        .list(&copper.account, &page(2, None))
        .await
        .expect("a page");
    assert_eq!(got["result_count"], json!(1));
    assert_eq!(got["next_cursor"], Value::Null);
}

/// Two definitions with one name: neither value overwrites the other on
/// read, and a write by that name is refused naming both.
#[tokio::test]
async fn two_custom_fields_with_one_name_are_never_merged() {
    let server = MockServer::start().await;
    let mut definitions = fixture(CUSTOM_FIELD_DEFINITIONS);
    if let Some(list) = definitions.as_array_mut() {
        let mut twin = list[0].clone();
        twin["id"] = json!(999001);
        list.push(twin);
    }
    mock("GET", "/custom_field_definitions")
        .respond_with(ResponseTemplate::new(200).set_body_json(&definitions))
        .mount(&server)
        .await;
    mock("GET", "/pipelines")
        .respond_with(answer(200, PIPELINES))
        .mount(&server)
        .await;
    let mut record = fixture(OPPORTUNITY);
    if let Some(values) = record["custom_fields"].as_array_mut() {
        values.push(json!({"custom_field_definition_id": 999001, "value": "Twin"}));
    }
    mock("GET", OPPORTUNITY_PATH)
        .respond_with(ResponseTemplate::new(200).set_body_json(&record))
        .mount(&server)
        .await;
    let account = account(0x2f1e, &server);
    let client = UnifiedClient::new();

    let got = client
        .get(&account, ID, &RequestOptions::default())
        .await
        .expect("read");
    assert_eq!(got["custom_fields"]["A Text Field (100764)"], json!("Text"));
    assert_eq!(got["custom_fields"]["A Text Field (999001)"], json!("Twin"));
    assert!(got["custom_fields"].get("A Text Field").is_none());

    let error = client
        .update(
            &account,
            ID,
            json!({"custom_fields": {"A Text Field": "x"}}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("ambiguous");
    assert!(error.to_string().contains("100764, 999001"), "{error}");
}

// ------------------------------------- issue 17: filters, users, stages

const USERS_PAGE1: &str = include_str!("../../tests/fixtures/responses/copper/users_page1.json");
const USERS_PAGE2: &str = include_str!("../../tests/fixtures/responses/copper/users_page2.json");

fn instant(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 instant")
}

fn filtered(filters: crm_runtime::mapping::ListFilters) -> ListOptions {
    ListOptions {
        limit: Some(2),
        filters,
        ..ListOptions::default()
    }
}

/// The search body of a list with these filters.
async fn searched_with(filters: crm_runtime::mapping::ListFilters) -> Value {
    let copper = Copper::start().await;
    copper
        .on("POST", "/opportunities/search", 200, LIST_PAGE1, 1)
        .await;
    copper
        .client
        .list(&copper.account, &filtered(filters))
        .await
        .unwrap();
    let (_, _, body) = copper.only_opportunity_request().await;
    copper.finish().await;
    body
}

#[tokio::test]
async fn every_filter_set_together_goes_in_the_search_body() {
    use crm_runtime::mapping::{ListFilters, SortBy};
    let body = searched_with(ListFilters {
        updated_after: Some(instant("2024-01-15T10:30:00Z")),
        created_after: Some(instant("2023-06-01T08:00:00.250+02:00")),
        status: Some("won".into()),
        owner_id: Some("137658".into()),
        account_id: Some("9607580".into()),
        sort_by: Some(SortBy::CreatedAt),
    })
    .await;
    // Copper ANDs the criteria; `minimum_*_date` is the earliest second
    // kept, so the second after the instant keeps exactly what is later
    // (https://developer.copper.com/opportunities/list-opportunities-search.html).
    assert_eq!(
        body,
        json!({
            "page_number": 1,
            "page_size": 2,
            "sort_by": "date_created",
            "sort_direction": "asc",
            "minimum_modified_date": 1_705_314_601,
            "minimum_created_date": 1_685_599_201,
            "status_ids": [1],
            "assignee_ids": [137_658],
            "company_ids": [9_607_580],
        })
    );
}

/// Copper pages its search by page number, so only the creation order
/// (the default) keeps pages stable; a sort by modification is refused
/// before any call, with the spec's reason.
#[tokio::test]
async fn sorting_by_creation_is_the_default_order_and_by_update_is_refused() {
    use crm_runtime::mapping::{ListFilters, SortBy};
    for sort_by in [None, Some(SortBy::CreatedAt)] {
        let body = searched_with(ListFilters {
            sort_by,
            ..Default::default()
        })
        .await;
        assert_eq!(
            body,
            json!({"page_number": 1, "page_size": 2, "sort_by": "date_created", "sort_direction": "asc"}),
            "{sort_by:?}"
        );
    }
    let copper = Copper::start().await;
    let error = copper
        .client
        .list(
            &copper.account,
            &filtered(ListFilters {
                sort_by: Some(SortBy::UpdatedAt),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    let (field, message) = invalid_field(error);
    assert_eq!(field, "sort_by");
    assert!(message.contains("by page number"), "{message}");
    assert!(copper.opportunity_requests().await.is_empty());
}

#[tokio::test]
async fn each_status_filter_is_its_copper_status_id() {
    use crm_runtime::mapping::ListFilters;
    for (status, id) in [("open", 0), ("won", 1), ("lost", 2), ("abandoned", 3)] {
        let body = searched_with(ListFilters {
            status: Some(status.into()),
            ..Default::default()
        })
        .await;
        assert_eq!(body["status_ids"], json!([id]), "{status}");
    }
}

#[tokio::test]
async fn an_owner_filter_that_is_not_a_copper_id_is_refused_before_sending() {
    use crm_runtime::mapping::ListFilters;
    let copper = Copper::start().await;
    let error = copper
        .client
        .list(
            &copper.account,
            &filtered(ListFilters {
                owner_id: Some("me".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    // A 400 naming the filter (the adapter turns the glue's refusal into
    // invalid input).
    let (field, message) = invalid_field(error);
    assert_eq!(field, "owner_id");
    assert!(message.contains("integers"), "{message}");
    assert!(copper.opportunity_requests().await.is_empty());
}

/// Page 1 of `POST /users/search` is full (200 users: the fixture's, then
/// numbered copies), page 2 (`users_page2.json`) is short.
fn users_search(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let page: Vec<Value> = match body["page_number"].as_i64() {
        Some(1) => {
            let base = fixture(USERS_PAGE1).as_array().cloned().unwrap_or_default();
            let mut page = base.clone();
            for n in 0..200 - base.len() {
                let mut user = base[n % base.len()].clone();
                user["id"] = json!(5_000_000 + n);
                page.push(user);
            }
            page
        }
        Some(2) => fixture(USERS_PAGE2).as_array().cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    ResponseTemplate::new(200).set_body_json(page)
}

/// Every record of a lookup, following its cursors.
async fn every_lookup_item(copper: &Copper, lookup: unified_crm::Lookup) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = copper
            .client
            .list_lookup(&copper.account, lookup, &page(100, cursor))
            .await
            .unwrap();
        items.extend(page["result"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn users_are_every_page_of_the_users_search() {
    let copper = Copper::start().await;
    mock("POST", "/users/search")
        .respond_with(users_search)
        .expect(2)
        .mount(&copper.server)
        .await;

    let users = every_lookup_item(&copper, unified_crm::Lookup::Users).await;

    let bodies: Vec<Value> = copper
        .requests()
        .await
        .iter()
        .filter(|request| request.url.path() == "/users/search")
        .map(|request| request.body_json().expect("a JSON body"))
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"page_number": 1, "page_size": 200}),
            json!({"page_number": 2, "page_size": 200}),
        ]
    );
    assert_eq!(users.len(), 201);
    assert_eq!(
        (&users[0]["id"], &users[0]["name"], &users[0]["email"]),
        (
            &json!("137658"),
            &json!("John Doe"),
            &json!("johndoe@copper.com")
        )
    );
    let last = &users[200];
    assert_eq!(
        (&last["id"], &last["name"], &last["email"]),
        (
            &json!("159258"),
            &json!("Demo User"),
            &json!("demouser@example.com")
        )
    );
    assert_eq!(last["remote_data"], fixture(USERS_PAGE2)[0]);
    copper.finish().await;
}

#[tokio::test]
async fn users_stop_at_an_empty_page() {
    let copper = Copper::start().await;
    copper.on("POST", "/users/search", 200, "[]", 1).await;

    let users = every_lookup_item(&copper, unified_crm::Lookup::Users).await;

    assert!(users.is_empty());
    copper.finish().await;
}

#[tokio::test]
async fn stages_are_every_pipeline_stage_with_its_pipeline() {
    let copper = Copper::start().await;

    let stages = every_lookup_item(&copper, unified_crm::Lookup::Stages).await;

    let pipelines = fixture(PIPELINES);
    let expected: Vec<Value> = pipelines
        .as_array()
        .expect("pipelines")
        .iter()
        .flat_map(|pipeline| {
            pipeline["stages"]
                .as_array()
                .expect("stages")
                .iter()
                .map(|stage| {
                    json!({
                        "id": stage["id"].to_string(),
                        "name": stage["name"],
                        "pipeline": {"id": pipeline["id"].to_string(), "name": pipeline["name"]},
                        "remote_data": stage,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(stages, expected);
    copper.finish().await;
}

#[tokio::test]
async fn custom_field_definitions_are_the_opportunity_ones_with_their_options() {
    let copper = Copper::start().await;

    let fields = every_lookup_item(&copper, unified_crm::Lookup::CustomFields).await;

    let color = fields
        .iter()
        .find(|field| field["name"] == json!("Color option"))
        .expect("Color option");
    assert_eq!(color["type"], json!("Dropdown"));
    assert_eq!(
        color["options"][0],
        json!({"id": "167776", "label": "Yellow"})
    );
    let definitions = fixture(CUSTOM_FIELD_DEFINITIONS);
    let source = definitions
        .as_array()
        .expect("definitions")
        .iter()
        .find(|definition| definition["name"] == json!("Color option"))
        .expect("the definition");
    assert_eq!(color["remote_data"], *source);
    copper.finish().await;
}
