//! Salesforce's quirks, end to end: each test talks real HTTP to a
//! wiremock server answering with bodies in Salesforce's documented shape
//! (`tests/fixtures/responses/salesforce/`, sources in its `SOURCE.md`),
//! and checks both what Salesforce received and what the caller got.

use base64::Engine;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::salesforce::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListFilters, ListOptions, Lookup, Provider, RequestOptions,
    SortBy, UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const DESCRIBE_PATH: &str = "/services/data/v62.0/sobjects/Opportunity/describe";
const QUERY_PATH: &str = "/services/data/v62.0/query";
/// SOQL on `User`: the same resource written `/query/`.
const USERS_PATH: &str = "/services/data/v62.0/query/";
const CREATE_PATH: &str = "/services/data/v62.0/sobjects/Opportunity";
const OPP_ID: &str = "0065g00000Xk1A1AAJ";
const OPP_PATH: &str = "/services/data/v62.0/sobjects/Opportunity/0065g00000Xk1A1AAJ";
/// What a list selects in the fixture org: every mapped standard field
/// (it is multi-currency) and every custom field of the describe.
const SELECTED: &str = "Id, Name, Description, Amount, CurrencyIsoCode, StageName, IsClosed, \
                        IsWon, OwnerId, AccountId, ContactId, CloseDate, CreatedDate, \
                        LastModifiedDate, LastActivityDate, Region__c, Seats__c, \
                        Contract_Start__c, Renewal__c, Competitor__c, Deal_Score__c";

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/salesforce/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A query answer as a `LIMIT`ed keyset query gets it: one batch, `done`.
fn keyset_page(file: &str) -> Value {
    let mut page = fixture(file);
    let records = page["records"].as_array().map_or(0, Vec::len);
    page["done"] = json!(true);
    page["totalSize"] = json!(records);
    if let Some(page) = page.as_object_mut() {
        page.remove("nextRecordsUrl");
    }
    page
}

/// The fixture describe with one more field.
fn describe_with(field: Value) -> Value {
    let mut describe = fixture("custom_fields.json");
    if let Some(fields) = describe["fields"].as_array_mut() {
        fields.push(field);
    }
    describe
}

/// A Salesforce account at a wiremock server that answers the describe.
struct Salesforce {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Salesforce {
    async fn start() -> Self {
        Self::start_with(fixture("custom_fields.json")).await
    }

    async fn start_with(describe: Value) -> Self {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(DESCRIBE_PATH))
            .respond_with(json_response(200, &describe))
            .mount(&server)
            .await;
        let account = account().with_base_url(server.uri());
        Salesforce {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        }
    }

    async fn respond(&self, verb: &str, at: &str, response: ResponseTemplate) {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    /// The requests Salesforce received for `verb` and `at`, each checked
    /// for the Bearer token.
    async fn requests(&self, verb: &str, at: &str) -> Vec<Request> {
        let requests: Vec<Request> = self
            .server
            .received_requests()
            .await
            .expect("request recording is on")
            .into_iter()
            .filter(|request| request.method.as_str() == verb && request.url.path() == at)
            .collect();
        for request in &requests {
            assert_eq!(
                request
                    .headers
                    .get("authorization")
                    .and_then(|value| value.to_str().ok()),
                Some("Bearer tok")
            );
        }
        requests
    }

    /// Every `q` the list sent, in order.
    async fn queries(&self) -> Vec<String> {
        self.requests("GET", QUERY_PATH)
            .await
            .iter()
            .filter_map(|request| query_value(request, "q"))
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
}

fn account() -> IntegratedAccount {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    IntegratedAccount::new(
        Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
        Credentials::Salesforce(AccountCredentials {
            access_token: "tok".into(),
        }),
    )
}

fn query_value(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn provider_error(error: &UnifiedError) -> (u16, &str, Option<&str>) {
    match error {
        UnifiedError::Provider {
            provider: Provider::Salesforce,
            status,
            body,
            ..
        } => (*status, body, error.retry_after()),
        other => panic!("expected a Salesforce error, got {other:?}"),
    }
}

fn mapping_field(error: &UnifiedError) -> &str {
    match error {
        UnifiedError::Mapping(error) => &error.field,
        // Refused input: a cursor this API did not seal, or a name the org
        // does not have even after a fresh describe.
        UnifiedError::InvalidInput { field, .. } => field,
        other => panic!("expected a refused input, got {other:?}"),
    }
}

/// `opportunity.json`, mapped.
fn expected_mapped() -> Value {
    json!({
        "id": OPP_ID,
        "name": "Acme - 200 licences",
        "description": "Rebuild of the public web site and the shop",
        "amount": 12500.5,
        "currency": "GBP",
        "owner": {"id": "0055g00000Ft2HsAAJ"},
        "account": {"id": "0015g00000Qa7LmAAJ"},
        "contact": [{"id": "0035g00000Rd3KwAAJ"}],
        // No stage id in Salesforce: the name is both.
        "stage": {"id": "Proposal/Price Quote", "name": "Proposal/Price Quote"},
        "status": "open",
        "custom_fields": {
            "Region__c": "EMEA",
            "Seats__c": 25.0,
            "Contract_Start__c": "2024-04-01",
            "Renewal__c": false,
            "Competitor__c": null,
            "Deal_Score__c": 72.0,
        },
        // Dates are midnight UTC; `+0000` date-times are read.
        "last_activity_at": "2024-02-01T00:00:00Z",
        "close_date": "2024-03-05T00:00:00Z",
        "created_at": "2024-01-09T08:15:02Z",
        "updated_at": "2024-02-03T16:40:11Z",
        "remote_data": fixture("opportunity.json"),
    })
}

#[tokio::test]
async fn the_instance_url_is_required_and_paths_carry_the_api_version() {
    let salesforce = Salesforce::start().await;
    let without_base_url = account();
    let error = salesforce
        .client
        .get(&without_base_url, OPP_ID, &RequestOptions::default())
        .await
        .expect_err("no instance URL");
    assert!(
        matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "base_url"),
        "{error:?}"
    );

    salesforce
        .respond(
            "GET",
            OPP_PATH,
            json_response(200, &fixture("opportunity.json")),
        )
        .await;
    let got = salesforce
        .client
        .get(&salesforce.account, OPP_ID, &RequestOptions::default())
        .await
        .expect("the get answers");
    assert_eq!(got, expected_mapped());
    assert_eq!(salesforce.requests("GET", OPP_PATH).await.len(), 1);
}

#[tokio::test]
async fn lists_page_by_keyset_over_a_soql_query_ordered_by_id() {
    let salesforce = Salesforce::start().await;
    let first = format!("SELECT {SELECTED} FROM Opportunity ORDER BY Id LIMIT 3");
    let second = format!(
        "SELECT {SELECTED} FROM Opportunity WHERE Id > '0065g00000Xk1A3AAJ' ORDER BY Id LIMIT 3"
    );
    for (q, file) in [(&first, "list_page1.json"), (&second, "list_page2.json")] {
        Mock::given(method("GET"))
            .and(path(QUERY_PATH))
            .and(query_param("q", q.as_str()))
            .respond_with(json_response(200, &keyset_page(file)))
            .mount(&salesforce.server)
            .await;
    }

    let page = salesforce.list(Some(3), None).await.expect("page 1");
    let cursor = page["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some(), "a full page: more may follow");
    let last = salesforce.list(Some(3), cursor).await.expect("page 2");

    assert_eq!(last["result_count"], json!(2));
    assert_eq!(last["next_cursor"], Value::Null, "a short page is the last");
    assert_eq!(salesforce.queries().await, [first, second]);
}

#[tokio::test]
async fn the_page_size_is_the_callers_limit_within_two_hundred() {
    let salesforce = Salesforce::start().await;
    salesforce
        .respond(
            "GET",
            QUERY_PATH,
            json_response(200, &keyset_page("list_page2.json")),
        )
        .await;

    salesforce.list(Some(500), None).await.expect("a page");
    salesforce.list(None, None).await.expect("a page");
    salesforce.list(Some(7), None).await.expect("a page");

    let limits: Vec<String> = salesforce
        .queries()
        .await
        .iter()
        .filter_map(|q| q.rsplit_once(" LIMIT ").map(|(_, limit)| limit.to_owned()))
        .collect();
    assert_eq!(limits, ["200", "200", "7"]);
}

#[tokio::test]
async fn a_cursor_that_is_not_a_salesforce_id_never_reaches_the_query() {
    let salesforce = Salesforce::start().await;
    salesforce
        .respond(
            "GET",
            QUERY_PATH,
            json_response(200, &keyset_page("list_page2.json")),
        )
        .await;
    // A cursor made by hand: cursors are sealed, so it never reaches the
    // glue, let alone the SOQL.
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"p": "salesforce", "s": {"after": "x' OR Name != '"}}).to_string());

    let error = salesforce
        .list(Some(3), Some(forged))
        .await
        .expect_err("refused");

    assert_eq!(mapping_field(&error), "next_cursor");
    assert!(salesforce.queries().await.is_empty());
}

#[tokio::test]
async fn the_stage_is_stagename_and_the_status_is_is_closed_and_is_won() {
    let salesforce = Salesforce::start().await;
    let mut page = keyset_page("list_page1.json");
    if let Some(records) = page["records"].as_array_mut() {
        records.extend(
            keyset_page("list_page2.json")["records"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    salesforce
        .respond("GET", QUERY_PATH, json_response(200, &page))
        .await;

    let listed = salesforce.list(Some(10), None).await.expect("a page");

    let seen: Vec<(Value, Value)> = listed["result"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| {
            assert_eq!(record["stage"]["id"], record["stage"]["name"]);
            (record["stage"]["name"].clone(), record["status"].clone())
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!("Proposal/Price Quote"), json!("open")),
            (json!("Closed Won"), json!("won")),
            (json!("Prospecting"), json!("open")),
            (json!("Closed Lost"), json!("lost")),
            // An inactive stage on an old record is mapped as it is.
            (json!("Legacy - On Hold"), json!("open")),
        ]
    );
}

#[tokio::test]
async fn create_needs_name_stage_and_close_date_before_any_call() {
    let salesforce = Salesforce::start().await;

    let error = salesforce
        .client
        .create(
            &salesforce.account,
            json!({"amount": 500.0, "account": {"id": "0015g00000Qa7LmAAJ"}}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("required fields are missing");

    match &error {
        UnifiedError::Validation { missing, .. } => {
            let mut missing = missing.clone();
            missing.sort();
            assert_eq!(missing, ["close_date", "name", "stage"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(salesforce.requests("POST", CREATE_PATH).await.is_empty());
}

#[tokio::test]
async fn create_answers_the_id_only_and_the_record_is_read_back() {
    let salesforce = Salesforce::start().await;
    let mut saved = fixture("create_response.json");
    saved["id"] = json!(OPP_ID);
    salesforce
        .respond("POST", CREATE_PATH, json_response(201, &saved))
        .await;
    salesforce
        .respond(
            "GET",
            OPP_PATH,
            json_response(200, &fixture("opportunity.json")),
        )
        .await;

    let created = salesforce
        .client
        .create(
            &salesforce.account,
            json!({
                "name": "Acme - 200 licences",
                // By name: Salesforce's stage has no other id.
                "stage": {"name": "Proposal/Price Quote"},
                "close_date": "2024-03-05T00:00:00Z",
                "contact": [{"id": "0035g00000Rd3KwAAJ"}],
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("the create answers");

    let posts = salesforce.requests("POST", CREATE_PATH).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        body(&posts[0]),
        json!({
            "Name": "Acme - 200 licences",
            "StageName": "Proposal/Price Quote",
            "CloseDate": "2024-03-05",
            "ContactId": "0035g00000Rd3KwAAJ",
        })
    );
    assert_eq!(salesforce.requests("GET", OPP_PATH).await.len(), 1);
    assert_eq!(created, expected_mapped());
}

#[tokio::test]
async fn update_answers_204_and_the_record_is_read_back() {
    let salesforce = Salesforce::start().await;
    salesforce
        .respond("PATCH", OPP_PATH, ResponseTemplate::new(204))
        .await;
    salesforce
        .respond(
            "GET",
            OPP_PATH,
            json_response(200, &fixture("opportunity.json")),
        )
        .await;

    let updated = salesforce
        .client
        .update(
            &salesforce.account,
            OPP_ID,
            json!({
                "stage": {"id": "Closed Won"},
                "description": null,
                "close_date": "2024-06-30T00:00:00Z",
                "custom_fields": {"Competitor__c": null},
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("the update answers");

    let patches = salesforce.requests("PATCH", OPP_PATH).await;
    assert_eq!(patches.len(), 1);
    assert_eq!(
        body(&patches[0]),
        json!({
            "StageName": "Closed Won",
            "Description": null,
            "CloseDate": "2024-06-30",
            "Competitor__c": null,
        })
    );
    assert_eq!(salesforce.requests("GET", OPP_PATH).await.len(), 1);
    assert_eq!(updated, expected_mapped());
}

#[tokio::test]
async fn delete_answers_204_and_the_caller_gets_the_id() {
    let salesforce = Salesforce::start().await;
    salesforce
        .respond("DELETE", OPP_PATH, ResponseTemplate::new(204))
        .await;

    let deleted = salesforce
        .client
        .delete(&salesforce.account, OPP_ID, &RequestOptions::default())
        .await
        .expect("the delete answers");

    assert_eq!(deleted["id"], json!(OPP_ID));
    assert_eq!(salesforce.requests("DELETE", OPP_PATH).await.len(), 1);
    assert!(salesforce.requests("GET", OPP_PATH).await.is_empty());
}

#[tokio::test]
async fn errors_are_salesforces_array_passed_on_whole() {
    let salesforce = Salesforce::start().await;
    salesforce
        .respond(
            "GET",
            OPP_PATH,
            json_response(404, &fixture("error_404.json")),
        )
        .await;
    salesforce
        .respond(
            "POST",
            CREATE_PATH,
            json_response(400, &fixture("error_400_validation.json")),
        )
        .await;

    let missing = salesforce
        .client
        .get(&salesforce.account, OPP_ID, &RequestOptions::default())
        .await
        .expect_err("not found");
    let refused = salesforce
        .client
        .create(
            &salesforce.account,
            json!({"name": "x", "stage": {"id": "Prospecting"}, "close_date": "2024-01-01T00:00:00Z"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("refused");

    let (status, body, _) = provider_error(&missing);
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(body).ok(),
        Some(fixture("error_404.json"))
    );
    let (status, body, _) = provider_error(&refused);
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(body).ok(),
        Some(fixture("error_400_validation.json"))
    );
}

#[tokio::test]
async fn the_request_limit_403_reaches_the_caller_as_429_and_other_403s_stay() {
    let salesforce = Salesforce::start().await;
    let limit = json_response(403, &fixture("error_403_request_limit.json"));
    salesforce.respond("GET", OPP_PATH, limit.clone()).await;
    salesforce.respond("GET", QUERY_PATH, limit).await;
    let other_path = "/services/data/v62.0/sobjects/Opportunity/0065g00000Xk1A2AAJ";
    let no_access = json!([{"message": "insufficient access rights on object id", "errorCode": "INSUFFICIENT_ACCESS"}]);
    salesforce
        .respond("GET", other_path, json_response(403, &no_access))
        .await;

    let on_get = salesforce
        .client
        .get(&salesforce.account, OPP_ID, &RequestOptions::default())
        .await
        .expect_err("limited");
    let on_list = salesforce.list(Some(3), None).await.expect_err("limited");
    let forbidden = salesforce
        .client
        .get(
            &salesforce.account,
            "0065g00000Xk1A2AAJ",
            &RequestOptions::default(),
        )
        .await
        .expect_err("forbidden");

    for error in [&on_get, &on_list] {
        let (status, body, retry_after) = provider_error(error);
        assert_eq!(status, 429);
        assert!(body.contains("REQUEST_LIMIT_EXCEEDED"));
        // Salesforce gives no wait: none is made up.
        assert_eq!(retry_after, None);
    }
    assert_eq!(provider_error(&forbidden).0, 403);
}

#[tokio::test]
async fn a_single_currency_org_neither_selects_nor_writes_currency() {
    let mut describe = fixture("custom_fields.json");
    if let Some(fields) = describe["fields"].as_array_mut() {
        fields.retain(|field| field["name"] != "CurrencyIsoCode");
    }
    let salesforce = Salesforce::start_with(describe).await;
    salesforce
        .respond(
            "GET",
            QUERY_PATH,
            json_response(200, &keyset_page("list_page2.json")),
        )
        .await;

    salesforce.list(Some(3), None).await.expect("a page");
    let error = salesforce
        .client
        .create(
            &salesforce.account,
            json!({
                "name": "x",
                "stage": {"id": "Prospecting"},
                "close_date": "2024-01-01T00:00:00Z",
                "amount": 10.0,
                "currency": "EUR",
            }),
            &RequestOptions::default(),
        )
        .await
        .expect_err("no currency in this org");

    let queries = salesforce.queries().await;
    assert_eq!(queries.len(), 1);
    assert!(!queries[0].contains("CurrencyIsoCode"), "{}", queries[0]);
    assert!(queries[0].starts_with("SELECT Id, Name, Description, Amount, StageName"));
    assert_eq!(mapping_field(&error), "currency");
    assert!(salesforce.requests("POST", CREATE_PATH).await.is_empty());
}

#[tokio::test]
async fn custom_fields_go_by_api_name_multi_select_values_as_lists_and_formulas_are_read_only() {
    let products = json!({
        "calculated": false, "createable": true, "custom": true, "updateable": true,
        "nillable": true, "label": "Products", "name": "Products__c", "type": "multipicklist",
        "picklistValues": [
            {"active": true, "defaultValue": false, "label": "Core", "validFor": null, "value": "Core"},
            {"active": true, "defaultValue": false, "label": "Analytics", "validFor": null, "value": "Analytics"}
        ]
    });
    let signed = json!({
        "calculated": false, "createable": true, "custom": true, "updateable": true,
        "nillable": true, "label": "Signed At", "name": "Signed_At__c", "type": "datetime",
        "picklistValues": []
    });
    let mut describe = describe_with(products);
    if let Some(fields) = describe["fields"].as_array_mut() {
        fields.push(signed);
    }
    let salesforce = Salesforce::start_with(describe).await;
    let mut record = fixture("opportunity.json");
    record["Products__c"] = json!("Core;Analytics");
    record["Signed_At__c"] = json!("2024-01-15T10:30:00.000+0000");
    salesforce
        .respond("GET", OPP_PATH, json_response(200, &record))
        .await;
    salesforce
        .respond("PATCH", OPP_PATH, ResponseTemplate::new(204))
        .await;

    let got = salesforce
        .client
        .get(&salesforce.account, OPP_ID, &RequestOptions::default())
        .await
        .expect("the get answers");
    assert_eq!(
        got["custom_fields"]["Products__c"],
        json!(["Core", "Analytics"])
    );
    // Salesforce's `+0000` date-time, as RFC 3339.
    assert_eq!(
        got["custom_fields"]["Signed_At__c"],
        json!("2024-01-15T10:30:00Z")
    );

    salesforce
        .client
        .update(
            &salesforce.account,
            OPP_ID,
            json!({"custom_fields": {"Products__c": ["Analytics", "Core"], "Region__c": "APAC"}}),
            &RequestOptions::default(),
        )
        .await
        .expect("the update answers");
    let patches = salesforce.requests("PATCH", OPP_PATH).await;
    assert_eq!(
        body(&patches[0]),
        json!({"Products__c": "Analytics;Core", "Region__c": "APAC"})
    );

    for (update, field) in [
        // A formula: Salesforce computes it.
        (
            json!({"custom_fields": {"Deal_Score__c": 5}}),
            "custom_fields.Deal_Score__c",
        ),
        // Not a field of this org.
        (
            json!({"custom_fields": {"Region": "APAC"}}),
            "custom_fields.Region",
        ),
        // Old records keep an inactive stage; it cannot be set.
        (json!({"stage": {"id": "Legacy - On Hold"}}), "stage"),
        // Currency(18,2).
        (json!({"amount": 0.125}), "amount"),
    ] {
        let error = salesforce
            .client
            .update(
                &salesforce.account,
                OPP_ID,
                update.clone(),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused");
        assert_eq!(mapping_field(&error), field, "{update}");
    }
    assert_eq!(salesforce.requests("PATCH", OPP_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_partial_batch_is_an_error_not_a_short_last_page() {
    let salesforce = Salesforce::start().await;
    // `done: false` with records: as if Salesforce had cut the batch.
    salesforce
        .respond(
            "GET",
            QUERY_PATH,
            json_response(200, &fixture("list_page1.json")),
        )
        .await;

    let error = salesforce
        .list(Some(5), None)
        .await
        .expect_err("a partial batch");

    assert!(
        matches!(&error, UnifiedError::Transport { message, .. } if message.contains("done: false")),
        "{error:?}"
    );
}

impl Salesforce {
    async fn list_filtered(
        &self,
        filters: ListFilters,
        cursor: Option<String>,
    ) -> Result<Value, UnifiedError> {
        self.client
            .list(
                &self.account,
                &ListOptions {
                    limit: Some(3),
                    next_cursor: cursor,
                    filters,
                    ..ListOptions::default()
                },
            )
            .await
    }
}

#[tokio::test]
async fn every_filter_is_a_soql_condition_beside_the_keyset_all_joined_with_and() {
    let sf = Salesforce::start().await;
    sf.respond(
        "GET",
        QUERY_PATH,
        json_response(200, &keyset_page("list_page1.json")),
    )
    .await;
    let filters = ListFilters {
        updated_after: Some(
            chrono::DateTime::parse_from_rfc3339("2024-01-15T12:30:00.250+02:00").expect("a date"),
        ),
        created_after: Some(
            chrono::DateTime::parse_from_rfc3339("2023-12-31T23:00:00-01:00").expect("a date"),
        ),
        status: Some("lost".into()),
        owner_id: Some("0055g00000Ft2HsAAJ".into()),
        account_id: Some("0015g00000Qa7LmAAJ".into()),
        ..ListFilters::default()
    };

    let first = sf
        .list_filtered(filters.clone(), None)
        .await
        .expect("page 1");
    sf.list_filtered(filters, first["next_cursor"].as_str().map(str::to_owned))
        .await
        .expect("page 2");

    let conditions = "LastModifiedDate > 2024-01-15T10:30:00Z AND CreatedDate > 2024-01-01T00:00:00Z \
                      AND IsClosed = true AND IsWon = false AND OwnerId = '0055g00000Ft2HsAAJ' \
                      AND AccountId = '0015g00000Qa7LmAAJ'";
    assert_eq!(
        sf.queries().await,
        [
            format!("SELECT {SELECTED} FROM Opportunity WHERE {conditions} ORDER BY Id LIMIT 3"),
            format!(
                "SELECT {SELECTED} FROM Opportunity WHERE {conditions} \
                 AND Id > '0065g00000Xk1A3AAJ' ORDER BY Id LIMIT 3"
            ),
        ]
    );
}

#[tokio::test]
async fn open_and_won_are_is_closed_and_is_won() {
    let sf = Salesforce::start().await;
    sf.respond(
        "GET",
        QUERY_PATH,
        json_response(200, &keyset_page("list_page2.json")),
    )
    .await;
    for status in ["open", "won"] {
        sf.list_filtered(
            ListFilters {
                status: Some(status.into()),
                ..ListFilters::default()
            },
            None,
        )
        .await
        .expect("the list");
    }
    assert_eq!(
        sf.queries().await,
        [
            format!(
                "SELECT {SELECTED} FROM Opportunity WHERE IsClosed = false ORDER BY Id LIMIT 3"
            ),
            format!("SELECT {SELECTED} FROM Opportunity WHERE IsWon = true ORDER BY Id LIMIT 3"),
        ]
    );
}

#[tokio::test]
async fn sorts_abandoned_and_ids_that_cannot_go_into_soql_are_refused_before_any_query() {
    let sf = Salesforce::start().await;
    for sort_by in [SortBy::UpdatedAt, SortBy::CreatedAt] {
        let error = sf
            .list_filtered(
                ListFilters {
                    sort_by: Some(sort_by),
                    ..ListFilters::default()
                },
                None,
            )
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "sort_by"),
            "{error:?}"
        );
        assert!(error.to_string().contains("keyset on Id"), "{error}");
    }
    for (filters, field) in [
        (
            ListFilters {
                status: Some("abandoned".into()),
                ..ListFilters::default()
            },
            "status",
        ),
        (
            ListFilters {
                owner_id: Some("005' OR Name != '".into()),
                ..ListFilters::default()
            },
            "owner_id",
        ),
        (
            ListFilters {
                account_id: Some("acme".into()),
                ..ListFilters::default()
            },
            "account_id",
        ),
    ] {
        let error = sf.list_filtered(filters, None).await.expect_err("refused");
        assert!(
            matches!(&error, UnifiedError::InvalidInput { field: f, .. } if f == field),
            "{error:?}"
        );
    }
    assert!(sf.queries().await.is_empty());
}

#[tokio::test]
async fn users_are_soql_on_user_paged_by_keyset_past_a_short_batch() {
    let sf = Salesforce::start().await;
    Mock::given(method("GET"))
        .and(path(USERS_PATH))
        .respond_with(|request: &Request| {
            let soql = query_value(request, "q").unwrap_or_default();
            let file = if soql.contains("WHERE") {
                "users_page2.json"
            } else {
                "users_page1.json"
            };
            json_response(200, &fixture(file))
        })
        .mount(&sf.server)
        .await;

    let page = sf
        .client
        .list_lookup(&sf.account, Lookup::Users, &ListOptions::default())
        .await
        .expect("the users");

    let queries: Vec<String> = sf
        .requests("GET", USERS_PATH)
        .await
        .iter()
        .filter_map(|request| query_value(request, "q"))
        .collect();
    assert_eq!(
        queries,
        [
            "SELECT Id, Name, Email, Username, IsActive, UserType FROM User ORDER BY Id LIMIT 2000",
            "SELECT Id, Name, Email, Username, IsActive, UserType FROM User \
             WHERE Id > '0055g00000Ft2HtAAJ' ORDER BY Id LIMIT 2000",
        ]
    );
    // The opportunity list's resource is not used for users.
    assert!(sf.requests("GET", QUERY_PATH).await.is_empty());
    let users = page["result"].as_array().expect("users");
    let ids: Vec<&Value> = users.iter().map(|user| &user["id"]).collect();
    assert_eq!(
        ids,
        [
            &json!("0055g00000Ft2HsAAJ"),
            &json!("0055g00000Ft2HtAAJ"),
            &json!("0055g00000Ft2HuAAJ")
        ]
    );
    assert_eq!(users[1]["name"], json!("Tom Becker"));
    assert_eq!(users[1]["email"], json!("tom.becker@example.com"));
    assert_eq!(users[1]["remote_data"]["IsActive"], json!(false));
}

#[tokio::test]
async fn stages_are_the_stagename_values_without_a_pipeline_and_fields_say_required() {
    let sf = Salesforce::start().await;

    let page = sf
        .client
        .list_lookup(&sf.account, Lookup::Stages, &ListOptions::default())
        .await
        .expect("the stages");
    let stages = page["result"].as_array().expect("stages");
    let names: Vec<&str> = stages
        .iter()
        .filter_map(|stage| stage["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Prospecting",
            "Qualification",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
            "Legacy - On Hold"
        ]
    );
    assert!(stages.iter().all(|stage| stage["pipeline"].is_null()));
    assert_eq!(stages[6]["remote_data"]["active"], json!(false));

    let fields = sf
        .client
        .list_lookup(&sf.account, Lookup::CustomFields, &ListOptions::default())
        .await
        .expect("the custom fields");
    let fields = fields["result"].as_array().expect("fields");
    let field = |name: &str| {
        fields
            .iter()
            .find(|field| field["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(field("Region__c")["label"], json!("Region"));
    assert_eq!(field("Region__c")["required"], json!(false));
    // Not nillable but defaulted on create (a checkbox): not required.
    assert_eq!(field("Renewal__c")["required"], json!(false));
    // A formula: read-only.
    assert_eq!(field("Deal_Score__c")["read_only"], json!(true));
    assert_eq!(field("Region__c")["read_only"], json!(false));
    assert_eq!(field("Region__c")["remote_data"]["type"], json!("picklist"));
}
