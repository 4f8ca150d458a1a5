//! The conformance suite every provider runs: the same tests, over real
//! HTTP to a wiremock server that answers as the provider does.
//!
//! A provider's entry (`tests/conformance_<key>.rs`) implements
//! [`Conformance`]: its fixtures (responses in the provider's documented
//! shape), how its list pages (a small emulation of its documented paging
//! over a set of records), where its operations live, and how it wants
//! credentials sent. `conformance_tests!(Entry)` then expands to every
//! test below. Quirks of one provider go in its own test file.

#![allow(dead_code)]

use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use unified_crm::{
    Credentials, IntegratedAccount, ListOptions, Provider, RequestOptions, ResponseFormat,
    UnifiedClient, UnifiedError,
};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One provider, as the suite drives it.
pub trait Conformance: Send + Sync + 'static {
    const PROVIDER: Provider;

    /// Test credentials (any values: the mock checks how they are sent).
    fn credentials() -> Credentials;

    /// The account's settings, if any.
    fn settings() -> Map<String, Value> {
        Map::new()
    }

    /// Whether a request carries the credentials exactly as the provider
    /// wants them (headers, Basic, query): `Err` says what is wrong.
    fn check_auth(request: &Request) -> Result<(), String>;

    /// Mounts the account's lookups (custom field definitions, stages...)
    /// the glue fetches before the first operation.
    fn mount_context(server: &MockServer) -> impl Future<Output = ()> + Send;

    /// The list operation: HTTP method and path.
    fn list_route() -> (&'static str, String);

    /// At least seven records in the provider's shape (from its fixtures),
    /// distinct ids, none with an unusual status.
    fn records() -> Vec<Value>;

    /// The unified id of a provider record.
    fn record_id(record: &Value) -> String;

    /// The provider's answer to a list request over `records`, as its
    /// documented paging works (offset, page, cursor, Link header...).
    fn page(records: &[Value], request: &Request) -> ResponseTemplate;

    /// A list page with no records that claims more follow.
    fn empty_page_claiming_more() -> ResponseTemplate;

    /// The get operation's path for a unified id.
    fn record_path(id: &str) -> String;

    /// The get answer for one record (wrapped as the provider wraps it).
    fn get_response(record: &Value) -> ResponseTemplate;

    /// Gives the record a status the unified set does not have; returns
    /// the unified status expected (the provider's value, lowercased).
    fn set_unknown_status(record: &mut Value) -> String;

    /// A custom field of `records()[0]`: its unified name and value.
    fn custom_field() -> (String, Value);

    /// Create: method and path, a unified body the provider accepts, the
    /// provider's answer, and a check of the body it received.
    fn create_route() -> (&'static str, String);
    fn create_body() -> Value;
    fn create_response() -> ResponseTemplate;
    fn check_create_body(body: &Value) -> Result<(), String>;

    /// Update of `id`: method and path, and the provider's answer.
    fn update_route(id: &str) -> (&'static str, String);
    fn update_response(record: &Value) -> ResponseTemplate;
    /// The body the provider must receive for the unified update
    /// `{"amount": 1234.5}`: that field alone (in its wrapper, if any).
    fn expected_amount_update() -> Value;

    /// Delete of `id`: method and path, and the provider's answer.
    fn delete_route(id: &str) -> (&'static str, String);
    fn delete_response() -> ResponseTemplate;

    /// A rate-limited answer with `Retry-After: 7`, in the provider's
    /// shape (a 429, or what the provider uses instead).
    fn rate_limited() -> ResponseTemplate;

    /// Requests the glue makes for lookups, left out of counts.
    fn is_lookup(request: &Request) -> bool;
}

/// Expands to every conformance test for the entry `$entry`.
#[macro_export]
macro_rules! conformance_tests {
    ($entry:ty) => {
        #[tokio::test]
        async fn lists_every_record_once_across_pages() {
            suite::lists_every_record_once_across_pages::<$entry>().await;
        }
        #[tokio::test]
        async fn changing_the_limit_between_pages_neither_skips_nor_repeats() {
            suite::changing_the_limit_between_pages_neither_skips_nor_repeats::<$entry>().await;
        }
        #[tokio::test]
        async fn streams_every_record_once() {
            suite::streams_every_record_once::<$entry>().await;
        }
        #[tokio::test]
        async fn an_empty_page_that_claims_more_ends_the_list() {
            suite::an_empty_page_that_claims_more_ends_the_list::<$entry>().await;
        }
        #[tokio::test]
        async fn raw_lists_are_the_providers_body_and_page_the_same_way() {
            suite::raw_lists_are_the_providers_body_and_page_the_same_way::<$entry>().await;
        }
        #[tokio::test]
        async fn gets_a_record_with_its_remote_data() {
            suite::gets_a_record_with_its_remote_data::<$entry>().await;
        }
        #[tokio::test]
        async fn an_unknown_status_is_kept_lowercased() {
            suite::an_unknown_status_is_kept_lowercased::<$entry>().await;
        }
        #[tokio::test]
        async fn custom_fields_are_keyed_by_name() {
            suite::custom_fields_are_keyed_by_name::<$entry>().await;
        }
        #[tokio::test]
        async fn creates_with_the_mapped_body() {
            suite::creates_with_the_mapped_body::<$entry>().await;
        }
        #[tokio::test]
        async fn updates_send_only_the_fields_set() {
            suite::updates_send_only_the_fields_set::<$entry>().await;
        }
        #[tokio::test]
        async fn deletes_answer_the_id() {
            suite::deletes_answer_the_id::<$entry>().await;
        }
        #[tokio::test]
        async fn a_rate_limit_is_a_429_with_retry_after() {
            suite::a_rate_limit_is_a_429_with_retry_after::<$entry>().await;
        }
        #[tokio::test]
        async fn credentials_are_sent_as_the_provider_wants() {
            suite::credentials_are_sent_as_the_provider_wants::<$entry>().await;
        }
    };
}

/// A provider account at a fresh mock server, its lookups mounted.
pub struct Harness<E: Conformance> {
    pub server: MockServer,
    pub account: IntegratedAccount,
    pub client: UnifiedClient,
    entry: std::marker::PhantomData<E>,
}

impl<E: Conformance> Harness<E> {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        E::mount_context(&server).await;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let account = IntegratedAccount::new(
            Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed))),
            E::credentials(),
        )
        .with_base_url(server.uri())
        .with_settings(&E::settings())
        .expect("the entry's settings are valid");
        Harness {
            server,
            account,
            client: UnifiedClient::new().with_retry_policy(crm_runtime::RetryPolicy::none()),
            entry: std::marker::PhantomData,
        }
    }

    /// Answers the list operation over `records` with the provider's paging.
    pub async fn mount_records(&self, records: Vec<Value>) {
        let (verb, at) = E::list_route();
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(Pager::<E> {
                records: Arc::new(records),
                entry: std::marker::PhantomData,
            })
            .mount(&self.server)
            .await;
    }

    pub async fn requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .expect("request recording is on")
    }

    /// Requests other than lookups.
    pub async fn calls(&self) -> Vec<Request> {
        self.requests()
            .await
            .into_iter()
            .filter(|request| !E::is_lookup(request))
            .collect()
    }

    pub async fn list(&self, limit: Option<u32>, cursor: Option<String>) -> Value {
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
            .unwrap_or_else(|error| panic!("{} list: {error}", E::PROVIDER))
    }
}

struct Pager<E> {
    records: Arc<Vec<Value>>,
    entry: std::marker::PhantomData<fn() -> E>,
}

impl<E: Conformance> Respond for Pager<E> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        E::page(&self.records, request)
    }
}

fn ids<E: Conformance>(records: &[Value]) -> Vec<String> {
    records.iter().map(E::record_id).collect()
}

fn page_ids(page: &Value) -> Vec<String> {
    page["result"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|record| record["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_once_in_order(provider: Provider, seen: &[String], expected: &[String]) {
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "{provider}: a record came twice: {seen:?}"
    );
    assert_eq!(seen, expected, "{provider}: every record, once, in order");
}

pub async fn lists_every_record_once_across_pages<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let records = E::records();
    assert!(
        records.len() >= 7,
        "{}: the entry gives at least seven records",
        E::PROVIDER
    );
    harness.mount_records(records.clone()).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = harness.list(Some(3), cursor).await;
        let ids = page_ids(&page);
        assert!(
            ids.len() <= 3,
            "{}: a page holds at most the limit",
            E::PROVIDER
        );
        assert_eq!(page["result_count"], json!(ids.len()));
        seen.extend(ids);
        pages += 1;
        assert!(pages <= records.len() + 1, "{}: the walk ends", E::PROVIDER);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_once_in_order(E::PROVIDER, &seen, &ids::<E>(&records));
    assert!(
        pages <= records.len().div_ceil(3) + 1,
        "{}: {pages} pages for {} records at 3 a page",
        E::PROVIDER,
        records.len()
    );
}

pub async fn changing_the_limit_between_pages_neither_skips_nor_repeats<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let records = E::records();
    harness.mount_records(records.clone()).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    // 2, then 5, then 1, then 4...: every size change mid-walk.
    for limit in [2, 5, 1, 4, 3, 100, 100, 100, 100, 100]
        .into_iter()
        .cycle()
        .take(records.len() + 2)
    {
        let page = harness.list(Some(limit), cursor).await;
        seen.extend(page_ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                cursor = None;
                break;
            }
        }
    }
    assert!(cursor.is_none(), "{}: the walk ends", E::PROVIDER);
    assert_once_in_order(E::PROVIDER, &seen, &ids::<E>(&records));
}

pub async fn streams_every_record_once<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let records = E::records();
    harness.mount_records(records.clone()).await;
    let options = ListOptions {
        limit: Some(2),
        request: RequestOptions {
            format: ResponseFormat::Stream,
            ..RequestOptions::default()
        },
        ..ListOptions::default()
    };
    let streamed: Vec<Value> = harness
        .client
        .stream(&harness.account, options)
        .map(|record| record.unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER)))
        .collect()
        .await;
    let seen: Vec<String> = streamed
        .iter()
        .map(|record| record["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_once_in_order(E::PROVIDER, &seen, &ids::<E>(&records));
}

pub async fn an_empty_page_that_claims_more_ends_the_list<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let (verb, at) = E::list_route();
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(E::empty_page_claiming_more())
        .mount(&harness.server)
        .await;
    let page = harness.list(Some(3), None).await;
    assert_eq!(page["result"], json!([]));
    assert_eq!(
        page["next_cursor"],
        Value::Null,
        "{}: no next page",
        E::PROVIDER
    );
    let options = ListOptions {
        request: RequestOptions {
            format: ResponseFormat::Stream,
            ..RequestOptions::default()
        },
        ..ListOptions::default()
    };
    let streamed: Vec<_> = harness
        .client
        .stream(&harness.account, options)
        .take(5)
        .collect()
        .await;
    assert!(streamed.is_empty(), "{}: the stream ends", E::PROVIDER);
}

pub async fn raw_lists_are_the_providers_body_and_page_the_same_way<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let records = E::records();
    harness.mount_records(records.clone()).await;
    let options = |cursor: Option<String>| ListOptions {
        limit: Some(3),
        next_cursor: cursor,
        request: RequestOptions {
            format: ResponseFormat::Raw,
            ..RequestOptions::default()
        },
        ..ListOptions::default()
    };
    let page = harness
        .client
        .list_page(&harness.account, &options(None))
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert!(page.records.is_empty(), "{}: raw never maps", E::PROVIDER);
    let next = page
        .next_cursor
        .expect("a first page of three has a next page");
    let second = harness
        .client
        .list_page(&harness.account, &options(Some(next)))
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert_ne!(
        page.raw,
        second.raw,
        "{}: the second page is another page",
        E::PROVIDER
    );
}

pub async fn gets_a_record_with_its_remote_data<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let record = E::records().remove(0);
    let id = E::record_id(&record);
    Mock::given(method("GET"))
        .and(path(E::record_path(&id)))
        .respond_with(E::get_response(&record))
        .mount(&harness.server)
        .await;
    let got = harness
        .client
        .get(&harness.account, &id, &RequestOptions::default())
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert_eq!(got["id"], json!(id));
    assert_eq!(
        got["remote_data"],
        record,
        "{}: remote_data is the record as sent",
        E::PROVIDER
    );
    // Normalized: every unified field, in order.
    let normalized = harness
        .client
        .get(
            &harness.account,
            &id,
            &RequestOptions {
                format: ResponseFormat::Normalized,
                ..RequestOptions::default()
            },
        )
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert!(normalized.get("remote_data").is_none());
    assert!(
        normalized
            .as_object()
            .is_some_and(|fields| fields.contains_key("close_date"))
    );
}

pub async fn an_unknown_status_is_kept_lowercased<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let mut records = E::records();
    let expected = E::set_unknown_status(&mut records[1]);
    harness.mount_records(records.clone()).await;
    let page = harness.list(Some(3), None).await;
    let result = page["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(result.len(), 3, "{}: the page goes on", E::PROVIDER);
    assert_eq!(result[1]["status"], json!(expected));
    assert_eq!(result[1]["remote_data"], records[1]);
}

pub async fn custom_fields_are_keyed_by_name<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let record = E::records().remove(0);
    let id = E::record_id(&record);
    Mock::given(method("GET"))
        .and(path(E::record_path(&id)))
        .respond_with(E::get_response(&record))
        .mount(&harness.server)
        .await;
    let got = harness
        .client
        .get(&harness.account, &id, &RequestOptions::default())
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    let (name, value) = E::custom_field();
    assert_eq!(
        got["custom_fields"][&name],
        value,
        "{}: custom field `{name}`",
        E::PROVIDER
    );
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

pub async fn creates_with_the_mapped_body<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let (verb, at) = E::create_route();
    Mock::given(method(verb))
        .and(path(at.clone()))
        .respond_with(E::create_response())
        .mount(&harness.server)
        .await;
    // Providers that answer a create with an id only are read back.
    let record = E::records().remove(0);
    Mock::given(method("GET"))
        .and(path(E::record_path(&E::record_id(&record))))
        .respond_with(E::get_response(&record))
        .mount(&harness.server)
        .await;
    let created = harness
        .client
        .create(
            &harness.account,
            E::create_body(),
            &RequestOptions::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert!(created["id"].as_str().is_some_and(|id| !id.is_empty()));
    let writes: Vec<Request> = harness
        .calls()
        .await
        .into_iter()
        .filter(|request| request.method.as_str() == verb && request.url.path() == at)
        .collect();
    assert_eq!(writes.len(), 1, "{}: one create", E::PROVIDER);
    if let Err(problem) = E::check_create_body(&body_of(&writes[0])) {
        panic!(
            "{}: create body {}: {problem}",
            E::PROVIDER,
            body_of(&writes[0])
        );
    }
}

pub async fn updates_send_only_the_fields_set<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let record = E::records().remove(0);
    let id = E::record_id(&record);
    let (verb, at) = E::update_route(&id);
    Mock::given(method(verb))
        .and(path(at.clone()))
        .respond_with(E::update_response(&record))
        .mount(&harness.server)
        .await;
    Mock::given(method("GET"))
        .and(path(E::record_path(&id)))
        .respond_with(E::get_response(&record))
        .mount(&harness.server)
        .await;
    let updated = harness
        .client
        .update(
            &harness.account,
            &id,
            json!({"amount": 1234.5}),
            &RequestOptions::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert_eq!(updated["id"], json!(id));
    let writes: Vec<Request> = harness
        .calls()
        .await
        .into_iter()
        .filter(|request| request.method.as_str() == verb && request.url.path() == at)
        .collect();
    assert_eq!(writes.len(), 1, "{}: one update", E::PROVIDER);
    assert_eq!(
        body_of(&writes[0]),
        E::expected_amount_update(),
        "{}: only the amount",
        E::PROVIDER
    );
}

pub async fn deletes_answer_the_id<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let id = E::record_id(&E::records()[0]);
    let (verb, at) = E::delete_route(&id);
    Mock::given(method(verb))
        .and(path(at.clone()))
        .respond_with(E::delete_response())
        .expect(1)
        .mount(&harness.server)
        .await;
    let deleted = harness
        .client
        .delete(&harness.account, &id, &RequestOptions::default())
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", E::PROVIDER));
    assert_eq!(deleted["id"], json!(id));
}

pub async fn a_rate_limit_is_a_429_with_retry_after<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    let id = E::record_id(&E::records()[0]);
    Mock::given(method("GET"))
        .and(path(E::record_path(&id)))
        .respond_with(E::rate_limited())
        .mount(&harness.server)
        .await;
    let error = harness
        .client
        .get(&harness.account, &id, &RequestOptions::default())
        .await
        .expect_err("rate limited");
    match &error {
        UnifiedError::Provider { status, .. } => {
            assert_eq!(
                *status,
                429,
                "{}: rate limits reach the caller as 429",
                E::PROVIDER
            )
        }
        other => panic!("{}: {other:?}", E::PROVIDER),
    }
    assert_eq!(error.retry_after(), Some("7"));
}

pub async fn credentials_are_sent_as_the_provider_wants<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    harness.mount_records(E::records()).await;
    harness.list(Some(3), None).await;
    let requests = harness.requests().await;
    assert!(!requests.is_empty());
    for request in &requests {
        if let Err(problem) = E::check_auth(request) {
            panic!(
                "{}: {} {}: {problem}",
                E::PROVIDER,
                request.method,
                request.url
            );
        }
    }
}

/// The value of a query parameter of a request.
pub fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The value of a header of a request.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// A JSON answer.
pub fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A fixture file of `tests/fixtures/responses/<provider>/`, parsed.
pub fn fixture(provider: &str, file: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/responses/{provider}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// `count` records made from the fixture records by giving each a fresh
/// id (`make_id(n)`), so pages of any size can be served.
pub fn numbered(base: &[Value], count: usize, set_id: impl Fn(&mut Value, usize)) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let mut record = base[n % base.len()].clone();
            set_id(&mut record, n);
            record
        })
        .collect()
}
