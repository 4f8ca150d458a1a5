//! Capsule's quirks, end to end: each test talks real HTTP to a wiremock
//! server answering with bodies in Capsule's documented shape
//! (`tests/fixtures/responses/capsule/`, sources in its `SOURCE.md`), and
//! checks both what Capsule received and what the caller got.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::providers::capsule::AccountCredentials;
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Provider, RequestOptions, UnifiedClient,
    UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const DEFINITIONS_PATH: &str = "/opportunities/fields/definitions";
const MILESTONES_PATH: &str = "/milestones";
const LIST_PATH: &str = "/opportunities";
const OPP_PATH: &str = "/opportunities/11876";
const LINK_TO_PAGE_2: &str =
    "<https://api.capsulecrm.com/api/v2/opportunities?page=2&perPage=3>; rel=\"next\"";

fn fixture(file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/capsule/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A Capsule account at a wiremock server that answers the custom field
/// definitions and the milestones (one page each).
struct Capsule {
    server: MockServer,
    account: IntegratedAccount,
    client: UnifiedClient,
}

impl Capsule {
    async fn start() -> Self {
        let server = MockServer::start().await;
        for (at, file) in [
            (DEFINITIONS_PATH, "custom_fields.json"),
            (MILESTONES_PATH, "stages.json"),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(json_response(200, &fixture(file)))
                .mount(&server)
                .await;
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            Credentials::Capsule(AccountCredentials {
                access_token: "tok".into(),
            }),
        )
        .with_base_url(server.uri());
        Capsule {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
        }
    }

    async fn respond(&self, verb: &str, at: &str, response: impl Respond + 'static) {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(response)
            .mount(&self.server)
            .await;
    }

    /// The requests Capsule received for `verb` and `at`, each checked for
    /// the Bearer token.
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

    async fn list(&self, limit: u32, cursor: Option<String>) -> Value {
        self.client
            .list(
                &self.account,
                &ListOptions {
                    limit: Some(limit),
                    next_cursor: cursor,
                    ..ListOptions::default()
                },
            )
            .await
            .expect("the list answers")
    }
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

/// Answers a get as Capsule does: `{"opportunity": ...}` with its tags and
/// custom field values only when `embed` asks for them.
struct Embedding(Value);

impl Respond for Embedding {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let embed = query_value(request, "embed").unwrap_or_default();
        let asked: Vec<&str> = embed.split(',').collect();
        let mut body = self.0.clone();
        if let Some(record) = body.get_mut("opportunity").and_then(Value::as_object_mut) {
            for extra in ["tags", "fields"] {
                if !asked.contains(&extra) {
                    record.remove(extra);
                }
            }
        }
        json_response(200, &body)
    }
}

fn validation(error: &UnifiedError) -> (&[String], &[String]) {
    match error {
        UnifiedError::Validation {
            provider: Provider::Capsule,
            missing,
            unsupported,
            ..
        } => (missing, unsupported),
        other => panic!("expected a Capsule validation error, got {other:?}"),
    }
}

fn mapping_field(error: &UnifiedError) -> &str {
    match error {
        UnifiedError::Mapping(error) => &error.field,
        other => panic!("expected a mapping error, got {other:?}"),
    }
}

#[tokio::test]
async fn get_unwraps_the_record_asks_for_tags_and_fields_and_maps_every_field() {
    let capsule = Capsule::start().await;
    capsule
        .respond("GET", OPP_PATH, Embedding(fixture("opportunity.json")))
        .await;

    let got = capsule
        .client
        .get(&capsule.account, "11876", &RequestOptions::default())
        .await
        .expect("the get answers");

    let request = &capsule.requests("GET", OPP_PATH).await[0];
    assert_eq!(
        query_value(request, "embed").as_deref(),
        Some("tags,fields")
    );
    let mut expected = json!({
        "id": "11876",
        "name": "Acme - web site rebuild",
        "description": "Rebuild of the public web site and the shop",
        // `value.amount` is in major units.
        "amount": 12500.5,
        "currency": "GBP",
        "owner": {"id": "6"},
        // The party is the account.
        "account": {"id": "581"},
        "stage": {"id": "102", "name": "Proposal"},
        "status": "open",
        "tags": [{"id": "88", "name": "Enterprise"}],
        // Keyed by definition name; the number field's `"25"` a number.
        "custom_fields": {
            "Lead Source": "Referral",
            "Contract Start": "2024-04-01",
            "Seats": 25,
            "Renewal": false,
        },
        "last_activity_at": "2024-02-01T10:00:00Z",
        // `expectedCloseOn` is a date: midnight UTC.
        "close_date": "2024-03-05T00:00:00Z",
        "created_at": "2024-01-09T08:15:02Z",
        "updated_at": "2024-02-03T16:40:11Z",
    });
    expected["remote_data"] = fixture("opportunity.json")["opportunity"].clone();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn the_status_is_the_milestones_and_a_complete_milestone_neither_won_nor_lost_keeps_its_name()
{
    let capsule = Capsule::start().await;
    let mut records = fixture("list_page1.json")["opportunities"].clone();
    records.as_array_mut().expect("an array").extend(
        fixture("list_page2.json")["opportunities"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    capsule
        .respond(
            "GET",
            LIST_PATH,
            json_response(200, &json!({"opportunities": records})),
        )
        .await;

    let page = capsule.list(100, None).await;

    let seen: Vec<(Value, Value, Value)> = page["result"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| {
            (
                record["id"].clone(),
                record["stage"]["name"].clone(),
                record["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("11876"), json!("Proposal"), json!("open")),
            (json!("11877"), json!("Won"), json!("won")),
            (json!("11880"), json!("Prospect"), json!("open")),
            (json!("11883"), json!("Lost"), json!("lost")),
            // Complete at 25%: its name, lowercased.
            (json!("11890"), json!("On Hold"), json!("on hold")),
        ]
    );
}

#[tokio::test]
async fn pages_go_on_only_while_a_link_header_announces_the_next() {
    let capsule = Capsule::start().await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param("page", "1"))
        .respond_with(
            json_response(200, &fixture("list_page1.json")).insert_header("link", LINK_TO_PAGE_2),
        )
        .mount(&capsule.server)
        .await;
    Mock::given(method("GET"))
        .and(path(LIST_PATH))
        .and(query_param("page", "2"))
        .respond_with(json_response(200, &fixture("list_page2.json")))
        .mount(&capsule.server)
        .await;

    let first = capsule.list(3, None).await;
    let next = first["next_cursor"].as_str().map(str::to_owned);
    assert!(next.is_some(), "a Link rel=\"next\" announces page 2");
    let second = capsule.list(3, next).await;
    assert_eq!(second["result_count"], json!(2));
    assert_eq!(second["next_cursor"], Value::Null, "no Link: the last page");

    let asked: Vec<(Option<String>, Option<String>, Option<String>)> = capsule
        .requests("GET", LIST_PATH)
        .await
        .iter()
        .map(|request| {
            (
                query_value(request, "page"),
                query_value(request, "perPage"),
                query_value(request, "embed"),
            )
        })
        .collect();
    let page = |number: &str| {
        (
            Some(number.to_owned()),
            Some("3".to_owned()),
            Some("tags,fields".to_owned()),
        )
    };
    assert_eq!(asked, vec![page("1"), page("2")]);
}

#[tokio::test]
async fn a_full_page_without_a_link_header_is_the_last() {
    let capsule = Capsule::start().await;
    // Three records for three asked, but no `Link`: Capsule has no more.
    capsule
        .respond(
            "GET",
            LIST_PATH,
            json_response(200, &fixture("list_page1.json")),
        )
        .await;

    let page = capsule.list(3, None).await;

    assert_eq!(page["result_count"], json!(3));
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn create_needs_name_stage_and_party_before_any_call() {
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "POST",
            LIST_PATH,
            json_response(201, &fixture("create_response.json")),
        )
        .await;

    let error = capsule
        .client
        .create(
            &capsule.account,
            json!({"amount": 500.0, "currency": "GBP"}),
            &RequestOptions::default(),
        )
        .await
        .expect_err("name, stage and account are missing");

    let (missing, unsupported) = validation(&error);
    let mut missing = missing.to_vec();
    missing.sort();
    assert_eq!(missing, ["account", "name", "stage"]);
    assert!(unsupported.is_empty());
    assert!(capsule.requests("POST", LIST_PATH).await.is_empty());
}

#[tokio::test]
async fn create_sends_the_wrapped_body_and_links_contacts_as_additional_parties() {
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "POST",
            LIST_PATH,
            json_response(201, &fixture("create_response.json")),
        )
        .await;
    let link = "/opportunities/11901/parties/602";
    capsule
        .respond("POST", link, ResponseTemplate::new(204))
        .await;

    let created = capsule
        .client
        .create(
            &capsule.account,
            json!({
                "name": "Acme - support desk pilot",
                "account": {"id": "581"},
                // By name: looked up among the milestones.
                "stage": {"name": "Prospect"},
                "amount": 500,
                "currency": "GBP",
                "close_date": "2024-04-08T00:00:00Z",
                "tags": [{"name": "Pilot"}],
                // 581 is the opportunity's own party: not linked again.
                "contact": [{"id": "602"}, {"id": "581"}],
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("the create answers");

    let posts = capsule.requests("POST", LIST_PATH).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        query_value(&posts[0], "embed").as_deref(),
        Some("tags,fields")
    );
    assert_eq!(
        body(&posts[0]),
        json!({"opportunity": {
            "name": "Acme - support desk pilot",
            "party": {"id": 581},
            "milestone": {"id": 101},
            "value": {"amount": 500.0, "currency": "GBP"},
            "expectedCloseOn": "2024-04-08",
            "tags": [{"name": "Pilot"}],
        }})
    );
    assert_eq!(capsule.requests("POST", link).await.len(), 1);
    assert!(
        capsule
            .requests("POST", "/opportunities/11901/parties/581")
            .await
            .is_empty()
    );
    // The 201's record, unwrapped; no read-back.
    assert_eq!(created["id"], json!("11901"));
    assert_eq!(created["stage"], json!({"id": "101", "name": "Prospect"}));
    assert!(
        capsule
            .requests("GET", "/opportunities/11901")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn update_sends_null_to_clear_and_the_amount_in_its_value() {
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "PUT",
            OPP_PATH,
            json_response(200, &fixture("update_response.json")),
        )
        .await;

    let updated = capsule
        .client
        .update(
            &capsule.account,
            "11876",
            json!({
                "description": null,
                "close_date": null,
                "amount": 13250,
                "stage": {"id": "103"},
                "custom_fields": {"Seats": 30},
            }),
            &RequestOptions::default(),
        )
        .await
        .expect("the update answers");

    let puts = capsule.requests("PUT", OPP_PATH).await;
    assert_eq!(puts.len(), 1);
    assert_eq!(
        query_value(&puts[0], "embed").as_deref(),
        Some("tags,fields")
    );
    assert_eq!(
        body(&puts[0]),
        json!({"opportunity": {
            "description": null,
            "expectedCloseOn": null,
            // No currency sent: Capsule keeps the record's.
            "value": {"amount": 13250.0},
            "milestone": {"id": 103},
            "fields": [{"definition": {"id": 5}, "value": 30}],
        }})
    );
    // The answer is the whole record: the milestone "Won" (complete, 100).
    assert_eq!(updated["status"], json!("won"));
    assert_eq!(updated["custom_fields"]["Seats"], json!(30));
}

#[tokio::test]
async fn writes_capsule_cannot_store_are_refused_before_any_call() {
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "PUT",
            OPP_PATH,
            json_response(200, &fixture("update_response.json")),
        )
        .await;
    for (update, field) in [
        // Every opportunity has a party.
        (json!({"account": null}), "account"),
        // Fractions of a cent would be rounded.
        (json!({"amount": 10.005}), "amount"),
        // A currency lives in `value`, with an amount.
        (json!({"currency": "EUR"}), "currency"),
        // Capsule answers 422 to a null boolean field.
        (
            json!({"custom_fields": {"Renewal": null}}),
            "custom_fields.Renewal",
        ),
    ] {
        let error = capsule
            .client
            .update(
                &capsule.account,
                "11876",
                update.clone(),
                &RequestOptions::default(),
            )
            .await
            .expect_err("refused");
        assert_eq!(mapping_field(&error), field, "{update}");
    }
    assert!(capsule.requests("PUT", OPP_PATH).await.is_empty());
}

#[tokio::test]
async fn delete_answers_204_and_the_caller_gets_the_id() {
    let capsule = Capsule::start().await;
    capsule
        .respond("DELETE", OPP_PATH, ResponseTemplate::new(204))
        .await;

    let deleted = capsule
        .client
        .delete(&capsule.account, "11876", &RequestOptions::default())
        .await
        .expect("the delete answers");

    assert_eq!(deleted["id"], json!("11876"));
    assert_eq!(capsule.requests("DELETE", OPP_PATH).await.len(), 1);
}

#[tokio::test]
async fn ids_are_integers_and_anything_else_is_refused_before_any_call() {
    let capsule = Capsule::start().await;

    let error = capsule
        .client
        .get(&capsule.account, "opp_11876", &RequestOptions::default())
        .await
        .expect_err("not a Capsule id");

    assert!(
        matches!(&error, UnifiedError::InvalidInput { field, .. } if field == "id"),
        "{error:?}"
    );
    let requests = capsule.server.received_requests().await.unwrap_or_default();
    assert!(
        requests
            .iter()
            .all(|request| request.url.path() != "/opportunities/opp_11876")
    );
}

// Issue 17: the one list filter (`since`), users, stages, custom fields.

fn sorted_query(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn updated_after_is_capsule_since_on_the_list() {
    use crm_runtime::mapping::ListFilters;
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "GET",
            LIST_PATH,
            json_response(200, &fixture("list_page2.json")),
        )
        .await;

    capsule
        .client
        .list(
            &capsule.account,
            &ListOptions {
                limit: Some(3),
                filters: ListFilters {
                    updated_after: Some(
                        chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z")
                            .expect("an instant"),
                    ),
                    ..Default::default()
                },
                ..ListOptions::default()
            },
        )
        .await
        .expect("the list answers");

    // `since`: "includes only entities that have been changed after this
    // date" (https://developer.capsulecrm.com/v2/operations/Opportunity).
    let requests = capsule.requests("GET", LIST_PATH).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        sorted_query(&requests[0]),
        owned(&[
            ("embed", "tags,fields"),
            ("page", "1"),
            ("perPage", "3"),
            ("since", "2024-01-15T10:30:00Z"),
        ])
    );
}

#[tokio::test]
async fn a_filter_capsule_lists_cannot_apply_is_refused_with_the_reason_even_beside_since() {
    use crm_runtime::mapping::{ListFilters, SortBy};
    let capsule = Capsule::start().await;
    capsule
        .respond(
            "GET",
            LIST_PATH,
            json_response(200, &fixture("list_page2.json")),
        )
        .await;
    let since = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").expect("an instant");
    for (filters, field, says) in [
        (
            ListFilters {
                account_id: Some("581".into()),
                ..Default::default()
            },
            "account_id",
            "/parties/{partyId}/opportunities",
        ),
        (
            ListFilters {
                owner_id: Some("6".into()),
                ..Default::default()
            },
            "owner_id",
            "cannot filter by owner",
        ),
        (
            ListFilters {
                sort_by: Some(SortBy::UpdatedAt),
                ..Default::default()
            },
            "sort_by",
            "no sort parameter",
        ),
    ] {
        let error = capsule
            .client
            .list(
                &capsule.account,
                &ListOptions {
                    filters: ListFilters {
                        updated_after: Some(since),
                        ..filters
                    },
                    ..ListOptions::default()
                },
            )
            .await
            .expect_err("refused");
        match &error {
            UnifiedError::InvalidInput { field: got, .. } => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
        assert!(error.to_string().contains(says), "{field}: {error}");
    }
    assert!(capsule.requests("GET", LIST_PATH).await.is_empty());
}

#[tokio::test]
async fn users_are_one_list_with_each_email_from_the_user_party() {
    let capsule = Capsule::start().await;
    capsule
        .respond("GET", "/users", json_response(200, &fixture("users.json")))
        .await;

    let page = capsule
        .client
        .list_lookup(
            &capsule.account,
            unified_crm::Lookup::Users,
            &ListOptions::default(),
        )
        .await
        .expect("the users answer");

    let requests = capsule.requests("GET", "/users").await;
    assert_eq!(requests.len(), 1, "one unpaged list");
    assert_eq!(sorted_query(&requests[0]), owned(&[("embed", "party")]));
    let users = page["result"].as_array().expect("a result array");
    let summary: Vec<(Value, Value, Value)> = users
        .iter()
        .map(|user| {
            (
                user["id"].clone(),
                user["name"].clone(),
                user["email"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!("6"),
                json!("Scott Spacey"),
                json!("scott@example.com")
            ),
            // The first of the party's addresses.
            (
                json!("7"),
                json!("Maria Jensen"),
                json!("maria.jensen@example.com")
            ),
            // A party without an address: no email.
            (json!("12345682"), json!("John Spacey"), Value::Null),
        ]
    );
    assert_eq!(users[2]["remote_data"], fixture("users.json")["users"][2]);
}

#[tokio::test]
async fn stages_are_the_milestones_with_their_pipeline() {
    let capsule = Capsule::start().await;

    let page = capsule
        .client
        .list_lookup(
            &capsule.account,
            unified_crm::Lookup::Stages,
            &ListOptions::default(),
        )
        .await
        .expect("the stages answer");

    let milestones = fixture("stages.json")["milestones"].clone();
    let expected: Vec<Value> = milestones
        .as_array()
        .expect("milestones")
        .iter()
        .map(|milestone| {
            json!({
                "id": milestone["id"].to_string(),
                "name": milestone["name"],
                "pipeline": {"id": "10", "name": "Sales"},
                "remote_data": milestone,
            })
        })
        .collect();
    assert_eq!(page["result"], json!(expected));
}

#[tokio::test]
async fn custom_field_definitions_keep_capsule_definition() {
    let capsule = Capsule::start().await;

    let page = capsule
        .client
        .list_lookup(
            &capsule.account,
            unified_crm::Lookup::CustomFields,
            &ListOptions::default(),
        )
        .await
        .expect("the definitions answer");

    let fields = page["result"].as_array().expect("a result array");
    let definitions = fixture("custom_fields.json")["definitions"].clone();
    assert_eq!(fields.len(), definitions.as_array().map_or(0, Vec::len));
    for (field, definition) in fields
        .iter()
        .zip(definitions.as_array().into_iter().flatten())
    {
        assert_eq!(field["name"], definition["name"]);
        assert_eq!(field["type"], definition["type"]);
        assert_eq!(field["remote_data"], *definition);
    }
}
