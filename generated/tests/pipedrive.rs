//! Pipedrive's quirks (API v2), end to end over real HTTP to a wiremock
//! server that answers with bodies in Pipedrive's real shape
//! (`tests/fixtures/responses/pipedrive/`, see its `SOURCE.md`): each test
//! checks what Pipedrive received and what the caller got. Every exchange
//! is recorded for the official-document check (`official/exchanges.rs`).

#[path = "official/exchanges.rs"]
mod exchanges;

use exchanges::{Reply, Route};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::{
    Credentials, IntegratedAccount, ListFilters, ListOptions, Lookup, RequestOptions, SortBy,
    UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba98";
const DEALS: &str = "/deals";
const FIELDS: &str = "/dealFields";
const STAGES: &str = "/stages";
const PIPELINES: &str = "/pipelines";
/// API v1's users, reached from the v2 root through `/../v1/users`.
const USERS: &str = "/v1/users";
const REGION: &str = "8a7e2c41f05b3d96e1c4a0b27f5d9e3c6b1a8f02";
const PO_NUMBER: &str = "c3b9f1e07a2d54c86e0f9b13a7d25e4f8c6b0a91";
const PRODUCTS: &str = "5b8e1d4a7c0f3b6e9a2d5c8f1b4e7a0d3c6f9b2e";

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/pipedrive/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn deal_path(id: &str) -> String {
    format!("{DEALS}/{id}")
}

/// A Pipedrive company at a wiremock server.
struct Company {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Company {
    /// With the deal fields and stages answered in one page each.
    async fn start() -> Self {
        let company = Self::bare().await;
        company
            .mount(
                "GET",
                FIELDS,
                Reply::json(200, &fixture("custom_fields.json")),
            )
            .await;
        company
            .mount("GET", STAGES, Reply::json(200, &fixture("stages.json")))
            .await;
        company
            .mount(
                "GET",
                PIPELINES,
                Reply::json(200, &fixture("pipelines.json")),
            )
            .await;
        company
    }

    async fn bare() -> Self {
        let server = MockServer::start().await;
        exchanges::watch(&server, "pipedrive").await;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed)) + (9 << 64)),
            Credentials::Pipedrive(unified_crm::providers::pipedrive::AccountCredentials {
                api_token: TOKEN.into(),
            }),
        )
        .with_base_url(server.uri());
        Company {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        }
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

    async fn update(&self, id: &str, body: Value) -> Result<Value, UnifiedError> {
        self.client
            .update(&self.account, id, body, &RequestOptions::default())
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
async fn bodies_are_flat_with_only_documented_keys_and_numbers_as_numbers() {
    let company = Company::start().await;
    company
        .mount(
            "POST",
            DEALS,
            Reply::json(200, &fixture("create_response.json")),
        )
        .await;
    company
        .mount(
            "PATCH",
            &deal_path("1042"),
            Reply::json(200, &fixture("update_response.json")),
        )
        .await;
    let created = company
        .client
        .create(
            &company.account,
            json!({"name": "Globex – Support renewal", "amount": 1500, "currency": "EUR"}),
            &RequestOptions::default(),
        )
        .await
        .expect("create");
    // `{success, data}` unwrapped: the record is `data`.
    assert_eq!(created["id"], json!("1051"));
    assert_eq!(created["amount"], json!(1500.5));
    let updated = company
        .update(
            "1042",
            json!({
                "amount": 2400,
                "stage": {"id": "4"},
                "close_date": null,
                "account": null,
                "contact": [],
                "custom_fields": {"PO number": null},
            }),
        )
        .await
        .expect("update");
    assert_eq!(
        updated["stage"],
        json!({"id": "4", "name": "Negotiations started"})
    );
    let post = &company.requests("POST", DEALS).await[0];
    let patch = &company.requests("PATCH", &deal_path("1042")).await[0];
    // The exact bodies: Pipedrive refuses unknown keys and numbers in
    // strings; nothing else may ride along.
    assert_eq!(
        body(post),
        json!({"title": "Globex – Support renewal", "value": 1500.0, "currency": "EUR"})
    );
    assert_eq!(
        body(patch),
        json!({
            "value": 2400.0,
            "stage_id": 4,
            "expected_close_date": null,
            "org_id": null,
            "person_id": null,
            "custom_fields": {PO_NUMBER: null},
        })
    );
    for request in [post, patch] {
        assert_eq!(
            request
                .headers
                .get("x-api-token")
                .and_then(|value| value.to_str().ok()),
            Some(TOKEN)
        );
        assert_eq!(query(request, "api_token"), None);
    }
}

#[tokio::test]
async fn value_and_currency_are_the_amount() {
    let company = Company::start().await;
    company
        .mount(
            "GET",
            &deal_path("1042"),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    let deal = company.get("1042").await.expect("get");
    assert_eq!(
        (deal["amount"].clone(), deal["currency"].clone()),
        (json!(1500.5), json!("EUR"))
    );
    assert_eq!(deal["close_date"], json!("2026-03-05T00:00:00Z"));
    assert_eq!(deal["owner"], json!({"id": "1874221"}));
    assert_eq!(deal["account"], json!({"id": "57"}));
    assert_eq!(deal["contact"], json!([{"id": "311"}]));
}

#[tokio::test]
async fn a_deleted_deal_is_still_readable_with_the_status_deleted() {
    let company = Company::start().await;
    company
        .mount(
            "GET",
            &deal_path("1039"),
            Reply::json(200, &fixture("opportunity_deleted.json")),
        )
        .await;
    company
        .mount(
            "GET",
            &deal_path("999999"),
            Reply::json(404, &fixture("error_404.json")),
        )
        .await;
    let deal = company
        .get("1039")
        .await
        .expect("a deleted deal is readable");
    assert_eq!(deal["status"], json!("deleted"));
    assert_eq!(deal["remote_data"]["is_deleted"], json!(true));
    // A deal that never existed (or was purged) is the 404.
    match company.get("999999").await {
        Err(UnifiedError::Provider { status: 404, .. }) => {}
        other => panic!("expected Pipedrive's 404, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_fields_are_named_and_labelled_from_deal_fields_both_ways() {
    let company = Company::start().await;
    company
        .mount(
            "GET",
            &deal_path("1042"),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    company
        .mount(
            "PATCH",
            &deal_path("1042"),
            Reply::json(200, &fixture("update_response.json")),
        )
        .await;
    let deal = company.get("1042").await.expect("get");
    let fields = &deal["custom_fields"];
    // Hashes become names, option ids labels; other values as stored.
    assert_eq!(fields["Region"], json!("EMEA"));
    assert_eq!(
        fields["Products of interest"],
        json!(["SEO", "Support plan"])
    );
    assert_eq!(fields["PO number"], json!("00042"));
    assert_eq!(fields["Contract length (months)"], json!(12));
    assert_eq!(fields["Renewal date"], json!("2026-02-03"));
    assert_eq!(fields["Budget"], json!({"value": 2000, "currency": "EUR"}));
    assert_eq!(fields["Internal notes"], Value::Null);
    assert!(fields.get(REGION).is_none());

    company
        .update(
            "1042",
            json!({"custom_fields": {"Region": "APAC", "Products of interest": [], "Contract length (months)": 24}}),
        )
        .await
        .expect("update");
    let patch = &company.requests("PATCH", &deal_path("1042")).await[0];
    // Labels become ids; an empty selection is cleared with null (Pipedrive
    // refuses `[]`).
    assert_eq!(
        body(patch),
        json!({"custom_fields": {REGION: 14, PRODUCTS: null, "1f4d7a9c2e5b8f0a3c6e9b1d4f7a0c3e6b9d2f5a": 24}})
    );

    // A label no option has is refused before any PATCH.
    let error = company
        .update("1042", json!({"custom_fields": {"Region": "Antarctica"}}))
        .await
        .expect_err("unknown label");
    // Not an option even after a fresh look at dealFields: a 400 naming it.
    assert!(
        matches!(error, UnifiedError::InvalidInput { ref field, .. } if field == "custom_fields.Region"),
        "{error:?}"
    );
    assert_eq!(company.requests("PATCH", &deal_path("1042")).await.len(), 1);
}

#[tokio::test]
async fn lists_page_with_limit_and_cursor_until_it_is_null() {
    let company = Company::start().await;
    struct Pages;
    impl Respond for Pages {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let page = match query(request, "cursor") {
                None => fixture("list_page1.json"),
                Some(_) => fixture("list_page2.json"),
            };
            exchanges::answered(request, Reply::json(200, &page))
        }
    }
    Mock::given(method("GET"))
        .and(path(DEALS))
        .respond_with(Pages)
        .mount(&company.server)
        .await;
    let options = |limit, cursor: Option<String>| ListOptions {
        limit: Some(limit),
        next_cursor: cursor,
        ..ListOptions::default()
    };
    let first = company
        .client
        .list(&company.account, &options(1000, None))
        .await
        .expect("page 1");
    let cursor = first["next_cursor"].as_str().map(str::to_owned);
    assert!(cursor.is_some());
    let second = company
        .client
        .list(&company.account, &options(1000, cursor))
        .await
        .expect("page 2");
    assert_eq!(
        second["next_cursor"],
        Value::Null,
        "`next_cursor: null`: the last page"
    );
    let lists = company.requests("GET", DEALS).await;
    // At most 500 a page, whatever the caller asks.
    assert_eq!(query(&lists[0], "limit").as_deref(), Some("500"));
    let expected = fixture("list_page1.json")["additional_data"]["next_cursor"].clone();
    assert_eq!(query(&lists[1], "cursor").map(Value::from), Some(expected));
    assert_eq!(second["result"][0]["status"], json!("lost"));
}

#[tokio::test]
async fn deal_fields_and_stages_are_read_page_by_page() {
    let company = Company::bare().await;
    // The deal fields in two pages: the second holds Region.
    let all = fixture("custom_fields.json");
    let fields = all["data"].as_array().cloned().unwrap_or_default();
    let (first, rest) = fields.split_at(fields.len() - 6);
    struct FieldPages(Value, Value);
    impl Respond for FieldPages {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let page = match query(request, "cursor").as_deref() {
                None => &self.0,
                Some("ZmllbGRzOjI") => &self.1,
                Some(_) => {
                    return exchanges::answered(
                        request,
                        Reply::json(400, &fixture("error_400_validation.json")),
                    );
                }
            };
            exchanges::answered(request, Reply::json(200, page))
        }
    }
    let pages = FieldPages(
        json!({"success": true, "data": first, "additional_data": {"next_cursor": "ZmllbGRzOjI"}}),
        json!({"success": true, "data": rest, "additional_data": {"next_cursor": null}}),
    );
    Mock::given(method("GET"))
        .and(path(FIELDS))
        .respond_with(pages)
        .mount(&company.server)
        .await;
    company
        .mount("GET", STAGES, Reply::json(200, &fixture("stages.json")))
        .await;
    company
        .mount(
            "GET",
            PIPELINES,
            Reply::json(200, &fixture("pipelines.json")),
        )
        .await;
    company
        .mount(
            "GET",
            &deal_path("1042"),
            Reply::json(200, &fixture("opportunity.json")),
        )
        .await;
    let deal = company.get("1042").await.expect("get");
    assert_eq!(deal["custom_fields"]["Region"], json!("EMEA"));
    assert_eq!(deal["custom_fields"]["Internal notes"], Value::Null);
    let reads = company.requests("GET", FIELDS).await;
    assert_eq!(reads.len(), 2);
    assert_eq!(query(&reads[0], "limit").as_deref(), Some("500"));
    assert_eq!(query(&reads[1], "cursor").as_deref(), Some("ZmllbGRzOjI"));
}

#[tokio::test]
async fn one_person_per_deal_and_writable_statuses_only() {
    let company = Company::start().await;
    for (body, field) in [
        (
            json!({"name": "Two people", "contact": [{"id": "311"}, {"id": "418"}]}),
            "contact",
        ),
        (
            json!({"name": "Abandoned", "status": "abandoned"}),
            "status",
        ),
        (
            json!({"name": "Not a number", "owner": {"id": "jane"}}),
            "owner.id",
        ),
    ] {
        let error = company
            .client
            .create(&company.account, body, &RequestOptions::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(error, UnifiedError::Mapping(ref mapping) if mapping.field == field),
            "{field}: {error:?}"
        );
    }
    assert!(company.requests("POST", DEALS).await.is_empty());
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

impl Company {
    /// Lists one page with these filters; the deals answer with the last
    /// fixture page.
    async fn list_filtered(&self, filters: ListFilters) -> Result<Value, UnifiedError> {
        if self.requests("GET", DEALS).await.is_empty() {
            self.mount("GET", DEALS, Reply::json(200, &fixture("list_page2.json")))
                .await;
        }
        let options = ListOptions {
            limit: Some(2),
            filters,
            ..ListOptions::default()
        };
        self.client.list(&self.account, &options).await
    }
}

#[tokio::test]
async fn every_supported_filter_goes_into_one_deal_query() {
    let company = Company::start().await;
    let instant =
        chrono::DateTime::parse_from_rfc3339("2024-01-15T12:30:00.250+02:00").expect("a date");

    company
        .list_filtered(ListFilters {
            updated_after: Some(instant),
            status: Some("won".into()),
            owner_id: Some("1874221".into()),
            account_id: Some("57".into()),
            sort_by: Some(SortBy::UpdatedAt),
            ..ListFilters::default()
        })
        .await
        .expect("the filtered list");

    let lists = company.requests("GET", DEALS).await;
    assert_eq!(lists.len(), 1);
    // `updated_since` is "at or after" (Pipedrive has no strictly-after
    // form), in UTC, to the second.
    assert_eq!(
        sorted_query(&lists[0]),
        pairs(&[
            ("updated_since", "2024-01-15T10:30:00Z"),
            ("status", "won"),
            ("owner_id", "1874221"),
            ("org_id", "57"),
            ("sort_by", "update_time"),
            ("sort_direction", "asc"),
            ("limit", "2"),
        ])
    );
}

#[tokio::test]
async fn each_sort_is_ascending_and_no_sort_leaves_pipedrives_id_order() {
    let company = Company::start().await;
    for (sort_by, expected) in [
        (None, vec![("limit", "2")]),
        (
            Some(SortBy::CreatedAt),
            vec![
                ("limit", "2"),
                ("sort_by", "add_time"),
                ("sort_direction", "asc"),
            ],
        ),
        (
            Some(SortBy::UpdatedAt),
            vec![
                ("limit", "2"),
                ("sort_by", "update_time"),
                ("sort_direction", "asc"),
            ],
        ),
    ] {
        company
            .list_filtered(ListFilters {
                sort_by,
                ..ListFilters::default()
            })
            .await
            .expect("the list");
        let lists = company.requests("GET", DEALS).await;
        let last = lists.last().expect("a list request");
        assert_eq!(sorted_query(last), pairs(&expected), "{sort_by:?}");
    }
}

#[tokio::test]
async fn the_creation_filter_and_the_abandoned_status_are_refused_before_any_call() {
    let company = Company::start().await;
    let instant = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").expect("a date");
    let error = company
        .list_filtered(ListFilters {
            created_after: Some(instant),
            ..ListFilters::default()
        })
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "created_at[gt]"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("filters by update time only"),
        "{error}"
    );
    let error = company
        .list_filtered(ListFilters {
            status: Some("abandoned".into()),
            ..ListFilters::default()
        })
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("none is abandoned"), "{error}");
    assert!(company.requests("GET", DEALS).await.is_empty());
}

#[tokio::test]
async fn users_come_from_api_v1_in_one_answer() {
    let company = Company::start().await;
    company
        .mount("GET", USERS, Reply::json(200, &fixture("users.json")))
        .await;

    let page = company
        .client
        .list_lookup(&company.account, Lookup::Users, &ListOptions::default())
        .await
        .expect("the users");

    let calls = company.requests("GET", USERS).await;
    assert_eq!(calls.len(), 1, "no paging: every user at once");
    assert_eq!(
        calls[0]
            .headers
            .get("x-api-token")
            .and_then(|v| v.to_str().ok()),
        Some(TOKEN)
    );
    let users = page["result"].as_array().expect("users");
    assert_eq!(users.len(), 3);
    assert_eq!(users[0]["id"], json!("1874221"));
    assert_eq!(users[0]["name"], json!("Kadri Tamm"));
    assert_eq!(users[0]["email"], json!("kadri@example.com"));
    // A deactivated user is listed (old deals still name their owner).
    assert_eq!(users[2]["remote_data"]["active_flag"], json!(false));
}

/// An account whose `base_url` is the v2 root reaches the v1 users beside
/// it: `<root>/api/v2` + `/../v1/users` is `<root>/api/v1/users`. (No
/// exchange recording here: the official check maps URLs from the server
/// root.)
#[tokio::test]
async fn the_users_path_climbs_from_the_v2_root_to_the_v1_root() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users.json")))
        .mount(&server)
        .await;
    let account = IntegratedAccount::new(
        Uuid::from_u128(0x1717 + (9 << 64)),
        Credentials::Pipedrive(unified_crm::providers::pipedrive::AccountCredentials {
            api_token: TOKEN.into(),
        }),
    )
    .with_base_url(format!("{}/api/v2", server.uri()));
    let page = UnifiedClient::new()
        .with_retry_policy(crm_runtime::RetryPolicy::none())
        .list_lookup(&account, Lookup::Users, &ListOptions::default())
        .await
        .expect("the users");
    assert_eq!(page["result_count"], json!(3));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/api/v1/users");
}

#[tokio::test]
async fn stages_carry_their_pipeline_with_its_name() {
    let company = Company::start().await;

    let page = company
        .client
        .list_lookup(&company.account, Lookup::Stages, &ListOptions::default())
        .await
        .expect("the stages");

    let stages = page["result"].as_array().expect("stages");
    assert_eq!(stages.len(), 6);
    assert_eq!(stages[0]["pipeline"], json!({"id": "1", "name": "Sales"}));
    let signed = stages
        .iter()
        .find(|stage| stage["id"] == json!("9"))
        .expect("stage 9");
    assert_eq!(signed["name"], json!("Signed"));
    assert_eq!(
        signed["pipeline"],
        json!({"id": "2", "name": "Partnerships"})
    );
    assert_eq!(signed["remote_data"]["pipeline_id"], json!(2));
    let reads = company.requests("GET", PIPELINES).await;
    assert_eq!(reads.len(), 1);
    assert_eq!(query(&reads[0], "limit").as_deref(), Some("500"));

    let fields = company
        .client
        .list_lookup(
            &company.account,
            Lookup::CustomFields,
            &ListOptions::default(),
        )
        .await
        .expect("the custom fields");
    let region = fields["result"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|field| field["name"] == json!("Region"))
        .expect("Region")
        .clone();
    assert_eq!(region["type"], json!("enum"));
    assert_eq!(region["remote_data"]["field_code"], json!(REGION));
}
