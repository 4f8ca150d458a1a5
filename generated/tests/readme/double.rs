// A local double of Close for the README's sync example (a doctest):
// two pages of opportunities changed after the example's `since`, in
// Close's documented shape (https://developer.close.com/api/resources/opportunities),
// and the account's (empty) custom fields and statuses.

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Close's documented opportunity (the project's fixture), with this id
/// and change time.
fn opportunity(id: &str, updated: &str) -> serde_json::Value {
    let mut record: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/responses/close/opportunity.json"
    ))
    .unwrap_or_default();
    record["id"] = json!(id);
    record["date_updated"] = json!(updated);
    record
}

pub async fn close() -> MockServer {
    let server = MockServer::start().await;
    let answer = |body| ResponseTemplate::new(200).set_body_json(body);
    for at in ["/custom_field/opportunity/", "/status/opportunity/"] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(answer(json!({"data": [], "has_more": false})))
            .mount(&server)
            .await;
    }
    let pages = [
        ("0", json!({"data": [opportunity("oppo_1", "2024-05-02T10:00:00+00:00")], "has_more": true})),
        ("1", json!({"data": [opportunity("oppo_2", "2024-05-03T08:30:00+00:00")], "has_more": false})),
    ];
    for (skip, body) in pages {
        Mock::given(method("GET"))
            .and(path("/opportunity/"))
            .and(query_param("_skip", skip))
            .respond_with(answer(body))
            .mount(&server)
            .await;
    }
    server
}

/// The walk read both pages, Close was asked for the changes only, and
/// the next run starts about when this one did.
pub async fn check(server: &MockServer, next_run: chrono::DateTime<chrono::FixedOffset>) {
    let age = chrono::Utc::now().fixed_offset() - next_run;
    assert!(
        age >= chrono::TimeDelta::seconds(59) && age < chrono::TimeDelta::minutes(2),
        "{age}"
    );
    let lists: Vec<_> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == "/opportunity/")
        .collect();
    assert_eq!(lists.len(), 2);
    for request in lists {
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let has = |key: &str, value: &str| query.iter().any(|(k, v)| k == key && v == value);
        assert!(
            has("date_updated__gt", "2024-05-01T00:00:00Z") && has("_order_by", "date_created"),
            "Close was asked for the changes, in creation order: {query:?}"
        );
    }
}
