//! Salesforce's entry in the conformance suite. Shapes: the REST API
//! Developer Guide (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/)
//! and the Opportunity object reference, as kept in
//! `tests/fixtures/responses/salesforce/` (see its `SOURCE.md`).
//!
//! Paging: a list is one SOQL query (`GET /query?q=...`), and the mock
//! runs it the way Salesforce does over the records: the `SELECT` list
//! picks the fields (a field the org's describe lacks is a 400
//! `INVALID_FIELD`), `WHERE Id > '...'` starts after an id, `ORDER BY Id`
//! orders (without it the order is the mock's own, as Salesforce promises
//! none), `LIMIT` bounds the rows; one batch with `done: true`.
//!
//! Salesforce's status is two booleans (`IsClosed`, `IsWon`): it has no
//! value outside open, won and lost, so the suite's unknown-status test
//! does not apply and the tests are listed here instead of by
//! `conformance_tests!`.

#[path = "conformance/suite.rs"]
mod suite;

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use suite::{Conformance, fixture, header, json_response, numbered, query};
use unified_crm::providers::salesforce::AccountCredentials;
use unified_crm::{Credentials, Provider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

struct Salesforce;

const API: &str = "/services/data/v62.0";
const DESCRIBE_PATH: &str = "/services/data/v62.0/sobjects/Opportunity/describe";
/// SOQL on `User`: the same resource, written `/query/` (as Salesforce's
/// own examples write it).
const USERS_PATH: &str = "/services/data/v62.0/query/";
/// Salesforce's default batch: what a query without `LIMIT` answers at most.
const BATCH: usize = 2000;

/// The 18-character form of a 15-character id: three letters, each
/// encoding which of five characters are upper case.
fn with_checksum(id15: &str) -> String {
    const CODES: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut id = id15.to_owned();
    for chunk in id15.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |bits, (at, _)| bits | (1 << at));
        id.push(char::from(CODES[bits]));
    }
    id
}

fn soql_error(code: &str, message: &str) -> ResponseTemplate {
    json_response(400, &json!([{"message": message, "errorCode": code}]))
}

/// The fields of Opportunity in the fixture org.
fn org_fields() -> BTreeSet<String> {
    fixture("salesforce", "custom_fields.json")["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| field["name"].as_str().map(str::to_owned))
        .collect()
}

/// One condition of a `WHERE` clause the unified list writes:
/// `<Field> > <value>` or `<Field> = <value>`, the value a quoted id, a
/// boolean or a dateTime literal.
fn condition_holds(record: &Value, condition: &str) -> Option<bool> {
    let (field, op, value) = if let Some((field, value)) = condition.split_once(" > ") {
        (field, '>', value)
    } else {
        let (field, value) = condition.split_once(" = ")?;
        (field, '=', value)
    };
    let have = &record[field.trim()];
    let value = value.trim();
    if let Some(text) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        if !text.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let have = have.as_str();
        return Some(match op {
            '>' => have > Some(text),
            _ => have == Some(text),
        });
    }
    if let Ok(flag) = value.parse::<bool>() {
        return (op == '=').then(|| have.as_bool() == Some(flag));
    }
    let at = chrono::DateTime::parse_from_rfc3339(value).ok()?;
    let have = have
        .as_str()
        .and_then(|text| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").ok());
    (op == '>').then(|| have.is_some_and(|have| have > at))
}

/// Runs `SELECT <fields> FROM Opportunity [WHERE <condition> AND ...]
/// [ORDER BY Id] [LIMIT <n>]` over `records` (conditions: `Id > '...'`
/// and the filters' comparisons).
fn run_soql(records: &[Value], soql: &str) -> ResponseTemplate {
    let Some((select, rest)) = soql
        .strip_prefix("SELECT ")
        .and_then(|soql| soql.split_once(" FROM Opportunity"))
    else {
        return soql_error("MALFORMED_QUERY", "unexpected token");
    };
    let fields: Vec<&str> = select.split(',').map(str::trim).collect();
    let known = org_fields();
    if let Some(unknown) = fields.iter().find(|field| !known.contains(**field)) {
        return soql_error(
            "INVALID_FIELD",
            &format!("No such column '{unknown}' on entity 'Opportunity'."),
        );
    }
    let (rest, limit) = match rest.rsplit_once(" LIMIT ") {
        Some((rest, limit)) => match limit.trim().parse::<usize>() {
            Ok(limit) => (rest, limit),
            Err(_) => return soql_error("MALFORMED_QUERY", "unexpected token: LIMIT"),
        },
        None => (rest, BATCH),
    };
    let (rest, ordered) = match rest.strip_suffix(" ORDER BY Id") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let conditions: Vec<&str> = match rest.strip_prefix(" WHERE ") {
        Some(clause) => clause.split(" AND ").collect(),
        None if rest.is_empty() => Vec::new(),
        None => return soql_error("MALFORMED_QUERY", "unexpected token"),
    };
    for condition in &conditions {
        if condition_holds(&json!({}), condition).is_none() {
            return soql_error(
                "MALFORMED_QUERY",
                &format!("unexpected token in WHERE: {condition}"),
            );
        }
    }
    let mut rows: Vec<&Value> = records
        .iter()
        .filter(|record| {
            conditions
                .iter()
                .all(|condition| condition_holds(record, condition) == Some(true))
        })
        .collect();
    if ordered {
        rows.sort_by(|a, b| a["Id"].as_str().cmp(&b["Id"].as_str()));
    } else {
        rows.reverse();
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .take(limit.min(BATCH))
        .map(|record| {
            let mut row = Map::new();
            row.insert("attributes".into(), record["attributes"].clone());
            for field in &fields {
                row.insert((*field).to_owned(), record[*field].clone());
            }
            Value::Object(row)
        })
        .collect();
    json_response(
        200,
        &json!({"totalSize": rows.len(), "done": true, "records": rows}),
    )
}

impl Conformance for Salesforce {
    const PROVIDER: Provider = Provider::Salesforce;

    fn credentials() -> Credentials {
        Credentials::Salesforce(AccountCredentials {
            access_token: "tok".into(),
        })
    }

    fn check_auth(request: &Request) -> Result<(), String> {
        match header(request, "authorization") {
            Some("Bearer tok") => Ok(()),
            other => Err(format!("Authorization is {other:?}")),
        }
    }

    async fn mount_context(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(DESCRIBE_PATH))
            .respond_with(json_response(
                200,
                &fixture("salesforce", "custom_fields.json"),
            ))
            .mount(server)
            .await;
    }

    fn list_route() -> (&'static str, String) {
        ("GET", format!("{API}/query"))
    }

    fn records() -> Vec<Value> {
        let mut base = Vec::new();
        for page in ["list_page1.json", "list_page2.json"] {
            base.extend(
                fixture("salesforce", page)["records"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        // Fresh ids in ascending order, each with its true checksum.
        numbered(&base, 8, |record, n| {
            let id = with_checksum(&format!("0065g00000Xm{n:03}"));
            record["attributes"]["url"] = json!(format!("{API}/sobjects/Opportunity/{id}"));
            record["Id"] = json!(id);
        })
    }

    fn record_id(record: &Value) -> String {
        record["Id"].as_str().unwrap_or_default().to_owned()
    }

    fn page(records: &[Value], request: &Request) -> ResponseTemplate {
        match query(request, "q") {
            Some(soql) => run_soql(records, &soql),
            None => soql_error("MALFORMED_QUERY", "missing q"),
        }
    }

    fn empty_page_claiming_more() -> ResponseTemplate {
        json_response(
            200,
            &json!({
                "totalSize": 5,
                "done": false,
                "nextRecordsUrl": format!("{API}/query/01gD0000002HU6KIAW-2000"),
                "records": [],
            }),
        )
    }

    fn record_path(id: &str) -> String {
        format!("{API}/sobjects/Opportunity/{id}")
    }

    fn get_response(record: &Value) -> ResponseTemplate {
        json_response(200, record)
    }

    fn set_unknown_status(_record: &mut Value) -> String {
        unreachable!("Salesforce's status is IsClosed/IsWon: there is no other value to give")
    }

    fn custom_field() -> (String, Value) {
        ("Seats__c".into(), json!(25.0))
    }

    fn create_route() -> (&'static str, String) {
        ("POST", format!("{API}/sobjects/Opportunity"))
    }

    fn create_body() -> Value {
        json!({
            "name": "Acme - 200 licences",
            "stage": {"id": "Prospecting"},
            "close_date": "2024-03-05T00:00:00Z",
            "amount": 12500.5,
            "currency": "GBP",
            "account": {"id": "0015g00000Qa7LmAAJ"},
            "custom_fields": {"Region__c": "EMEA"},
        })
    }

    fn create_response() -> ResponseTemplate {
        // `{id, success, errors}` with the id of the record the suite
        // serves for the read-back.
        let mut saved = fixture("salesforce", "create_response.json");
        saved["id"] = json!(Self::record_id(&Self::records()[0]));
        json_response(201, &saved)
    }

    fn check_create_body(body: &Value) -> Result<(), String> {
        let expected = json!({
            "Name": "Acme - 200 licences",
            "StageName": "Prospecting",
            "CloseDate": "2024-03-05",
            "Amount": 12500.5,
            "CurrencyIsoCode": "GBP",
            "AccountId": "0015g00000Qa7LmAAJ",
            "Region__c": "EMEA",
        });
        (body == &expected)
            .then_some(())
            .ok_or_else(|| format!("expected {expected}"))
    }

    fn update_route(id: &str) -> (&'static str, String) {
        ("PATCH", format!("{API}/sobjects/Opportunity/{id}"))
    }

    fn update_response(_record: &Value) -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn expected_amount_update() -> Value {
        json!({"Amount": 1234.5})
    }

    fn delete_route(id: &str) -> (&'static str, String) {
        ("DELETE", format!("{API}/sobjects/Opportunity/{id}"))
    }

    fn delete_response() -> ResponseTemplate {
        ResponseTemplate::new(204)
    }

    fn rate_limited() -> ResponseTemplate {
        // Salesforce's request limit: a 403 `REQUEST_LIMIT_EXCEEDED`. It
        // sends no `Retry-After`; the suite's one is added to check that a
        // wait given is passed on with the 429.
        json_response(403, &fixture("salesforce", "error_403_request_limit.json"))
            .insert_header("retry-after", "7")
    }

    fn is_lookup(request: &Request) -> bool {
        let at = request.url.path();
        at == DESCRIBE_PATH || at == USERS_PATH
    }

    /// SOQL on `User`: a batch cut short, then (`WHERE Id > ...`) the last.
    async fn mount_users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path(USERS_PATH))
            .respond_with(|request: &Request| {
                let soql = query(request, "q").unwrap_or_default();
                if !soql.contains(" FROM User") {
                    return soql_error("MALFORMED_QUERY", "not a query on User");
                }
                let file = if soql.contains("WHERE Id > ") {
                    "users_page2.json"
                } else {
                    "users_page1.json"
                };
                json_response(200, &fixture("salesforce", file))
            })
            .mount(server)
            .await;
    }

    fn user() -> Option<(String, Option<String>, Option<String>)> {
        Some((
            "0055g00000Ft2HuAAJ".into(),
            Some("Automated Process".into()),
            Some("autoproc@00d5g000004abcd.example.com".into()),
        ))
    }

    /// A `StageName` value: no pipeline (Salesforce has none).
    fn stage() -> Option<(String, String, Option<String>)> {
        Some(("Closed Won".into(), "Closed Won".into(), None))
    }

    fn filter_ids() -> (String, String) {
        ("0055g00000Ft2HsAAJ".into(), "0015g00000Qa7LmAAJ".into())
    }
}

#[tokio::test]
async fn lists_every_record_once_across_pages() {
    suite::lists_every_record_once_across_pages::<Salesforce>().await;
}
#[tokio::test]
async fn changing_the_limit_between_pages_neither_skips_nor_repeats() {
    suite::changing_the_limit_between_pages_neither_skips_nor_repeats::<Salesforce>().await;
}
#[tokio::test]
async fn streams_every_record_once() {
    suite::streams_every_record_once::<Salesforce>().await;
}
#[tokio::test]
async fn an_empty_page_that_claims_more_ends_the_list() {
    suite::an_empty_page_that_claims_more_ends_the_list::<Salesforce>().await;
}
#[tokio::test]
async fn raw_lists_are_the_providers_body_and_page_the_same_way() {
    suite::raw_lists_are_the_providers_body_and_page_the_same_way::<Salesforce>().await;
}
#[tokio::test]
async fn gets_a_record_with_its_remote_data() {
    suite::gets_a_record_with_its_remote_data::<Salesforce>().await;
}
#[tokio::test]
async fn custom_fields_are_keyed_by_name() {
    suite::custom_fields_are_keyed_by_name::<Salesforce>().await;
}
#[tokio::test]
async fn creates_with_the_mapped_body() {
    suite::creates_with_the_mapped_body::<Salesforce>().await;
}
#[tokio::test]
async fn updates_send_only_the_fields_set() {
    suite::updates_send_only_the_fields_set::<Salesforce>().await;
}
#[tokio::test]
async fn deletes_answer_the_id() {
    suite::deletes_answer_the_id::<Salesforce>().await;
}
#[tokio::test]
async fn a_rate_limit_is_a_429_with_retry_after() {
    suite::a_rate_limit_is_a_429_with_retry_after::<Salesforce>().await;
}
#[tokio::test]
async fn credentials_are_sent_as_the_provider_wants() {
    suite::credentials_are_sent_as_the_provider_wants::<Salesforce>().await;
}
#[tokio::test]
async fn lookups_answer_or_are_refused_with_the_reason() {
    suite::lookups_answer_or_are_refused_with_the_reason::<Salesforce>().await;
}
#[tokio::test]
async fn every_filter_reaches_the_provider_or_is_refused() {
    suite::every_filter_reaches_the_provider_or_is_refused::<Salesforce>().await;
}
#[tokio::test]
async fn the_typed_api_answers_what_the_json_api_does() {
    suite::the_typed_api_answers_what_the_json_api_does::<Salesforce>().await;
}

#[test]
fn the_checksum_is_salesforces() {
    // Fixture ids, as Salesforce wrote them.
    assert_eq!(with_checksum("0065g00000Xk1A1"), "0065g00000Xk1A1AAJ");
    assert_eq!(with_checksum("0015g00000Qa7Lm"), "0015g00000Qa7LmAAJ");
}
