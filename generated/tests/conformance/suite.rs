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
    Credentials, IntegratedAccount, ListOptions, Lookup, Provider, RequestOptions, ResponseFormat,
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

    /// Mounts the provider's users endpoint (every page) with its fixture.
    /// Nothing where the spec declares `users.list` unsupported.
    fn mount_users(server: &MockServer) -> impl Future<Output = ()> + Send {
        let _ = server;
        async {}
    }

    /// A user of the users fixture: id, name, email. `None` where the
    /// spec declares `users.list` unsupported.
    fn user() -> Option<(String, Option<String>, Option<String>)> {
        None
    }

    /// A stage of the context fixtures: id, name, and its pipeline's id
    /// where the provider has pipelines. `None` where the spec declares
    /// `stages.list` unsupported.
    fn stage() -> Option<(String, String, Option<String>)> {
        None
    }

    /// Values the id filters are tried with: an owner id and an account
    /// id in the provider's id format.
    fn filter_ids() -> (String, String);

    /// The sort the provider's list already uses without `sort_by`
    /// (`sort_by=created_at` where lists are oldest first): asking for it
    /// may leave the request as it was.
    fn default_order() -> Option<&'static str> {
        None
    }
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
        #[tokio::test]
        async fn lookups_answer_or_are_refused_with_the_reason() {
            suite::lookups_answer_or_are_refused_with_the_reason::<$entry>().await;
        }
        #[tokio::test]
        async fn every_filter_reaches_the_provider_or_is_refused() {
            suite::every_filter_reaches_the_provider_or_is_refused::<$entry>().await;
        }
        #[tokio::test]
        async fn the_typed_api_answers_what_the_json_api_does() {
            suite::the_typed_api_answers_what_the_json_api_does::<$entry>().await;
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

    /// Answers the get operation for `record` (also the read-back after a
    /// write answered with an id only).
    pub async fn mount_get(&self, record: &Value) {
        Mock::given(method("GET"))
            .and(path(E::record_path(&E::record_id(record))))
            .respond_with(E::get_response(record))
            .mount(&self.server)
            .await;
    }

    /// Answers the create operation with the entry's answer.
    pub async fn mount_create(&self) {
        let (verb, at) = E::create_route();
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(E::create_response())
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
    harness.mount_get(&record).await;
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
    harness.mount_get(&record).await;
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
    harness.mount_create().await;
    // Providers that answer a create with an id only are read back.
    let record = E::records().remove(0);
    harness.mount_get(&record).await;
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
    harness.mount_get(&record).await;
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

/// What a request sent: method, path, query and body, for comparing two.
fn sent(request: &Request) -> (String, String, Vec<(String, String)>, Value) {
    let mut query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    query.sort();
    (
        request.method.to_string(),
        request.url.path().to_owned(),
        query,
        serde_json::from_slice(&request.body).unwrap_or(Value::Null),
    )
}

/// Each lookup the spec declares lists the account's definitions (the
/// custom field names are the keys `custom_fields` uses, the stage ids
/// those `stage` uses, users with their ids); each it declares
/// unsupported is a 400 carrying the spec's reason, and nothing is sent.
pub async fn lookups_answer_or_are_refused_with_the_reason<E: Conformance>() {
    let harness = Harness::<E>::start().await;
    E::mount_users(&harness.server).await;
    let support = E::PROVIDER.lookup_support();
    for lookup in [Lookup::CustomFields, Lookup::Stages, Lookup::Users] {
        let before = harness.requests().await.len();
        let answer = harness
            .client
            .list_lookup(&harness.account, lookup, &ListOptions::default())
            .await;
        let provider = E::PROVIDER;
        match support.reason(lookup.binding()) {
            Some(reason) => {
                let error = answer.expect_err("an unsupported lookup is refused");
                assert!(
                    matches!(error, UnifiedError::Unsupported { .. }),
                    "{provider} {lookup:?}: {error:?}"
                );
                assert!(error.to_string().contains(reason), "{provider}: {error}");
                assert_eq!(
                    harness.requests().await.len(),
                    before,
                    "{provider} {lookup:?}: nothing is sent"
                );
            }
            None => {
                let page = answer.unwrap_or_else(|error| panic!("{provider} {lookup:?}: {error}"));
                let result = page["result"].as_array().cloned().unwrap_or_default();
                assert_eq!(page["result_count"], json!(result.len()));
                assert!(
                    result.iter().all(|item| item["remote_data"].is_object()),
                    "{provider} {lookup:?}: every item carries the provider's record: {result:?}"
                );
                match lookup {
                    Lookup::CustomFields => {
                        let (name, _) = E::custom_field();
                        assert!(
                            result.iter().any(|field| field["name"] == json!(name)),
                            "{provider}: the field `{name}` that custom_fields uses is listed: {result:?}"
                        );
                    }
                    Lookup::Stages => {
                        let (id, name, pipeline) = E::stage()
                            .unwrap_or_else(|| panic!("{provider}: the entry names a stage"));
                        let stage = result
                            .iter()
                            .find(|stage| stage["id"] == json!(id))
                            .unwrap_or_else(|| panic!("{provider}: stage {id} listed: {result:?}"));
                        assert_eq!(stage["name"], json!(name), "{provider}");
                        assert_eq!(
                            stage["pipeline"]["id"].as_str(),
                            pipeline.as_deref(),
                            "{provider}: the stage's pipeline"
                        );
                    }
                    Lookup::Users => {
                        let (id, name, email) = E::user()
                            .unwrap_or_else(|| panic!("{provider}: the entry names a user"));
                        let user = result
                            .iter()
                            .find(|user| user["id"] == json!(id))
                            .unwrap_or_else(|| panic!("{provider}: user {id} listed: {result:?}"));
                        assert_eq!(user["name"].as_str(), name.as_deref(), "{provider}");
                        assert_eq!(user["email"].as_str(), email.as_deref(), "{provider}");
                        for request in harness.requests().await {
                            E::check_auth(&request)
                                .unwrap_or_else(|problem| panic!("{provider}: {problem}"));
                        }
                    }
                }
            }
        }
    }
}

/// Each filter the spec declares supported changes what is sent to the
/// provider (it is never applied in memory); each it declares unsupported
/// is a 400 naming the filter with the spec's reason, and nothing is sent.
pub async fn every_filter_reaches_the_provider_or_is_refused<E: Conformance>() {
    use crm_runtime::mapping::{ListFilters, SortBy};
    let harness = Harness::<E>::start().await;
    harness.mount_records(E::records()).await;
    let support = E::PROVIDER.opportunities_support();
    let provider = E::PROVIDER;
    let list = |filters: ListFilters| {
        let client = &harness.client;
        let account = &harness.account;
        async move {
            client
                .list(
                    account,
                    &ListOptions {
                        limit: Some(2),
                        filters,
                        ..ListOptions::default()
                    },
                )
                .await
        }
    };
    let last_call = || async {
        harness
            .calls()
            .await
            .last()
            .map(sent)
            .unwrap_or_else(|| panic!("{provider}: a list request was sent"))
    };
    list(ListFilters::default())
        .await
        .unwrap_or_else(|error| panic!("{provider} unfiltered: {error}"));
    let unfiltered = last_call().await;
    let (owner, account) = E::filter_ids();
    let instant = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:30:00Z").expect("a date");
    for name in crm_runtime::mapping::FILTERS {
        let filters = match name {
            "updated_at[gt]" => ListFilters {
                updated_after: Some(instant),
                ..Default::default()
            },
            "created_at[gt]" => ListFilters {
                created_after: Some(instant),
                ..Default::default()
            },
            "status" => ListFilters {
                status: Some("won".into()),
                ..Default::default()
            },
            "owner_id" => ListFilters {
                owner_id: Some(owner.clone()),
                ..Default::default()
            },
            "account_id" => ListFilters {
                account_id: Some(account.clone()),
                ..Default::default()
            },
            "sort_by=updated_at" => ListFilters {
                sort_by: Some(SortBy::UpdatedAt),
                ..Default::default()
            },
            "sort_by=created_at" => ListFilters {
                sort_by: Some(SortBy::CreatedAt),
                ..Default::default()
            },
            other => panic!("the suite does not know the filter {other}"),
        };
        let before = harness.calls().await.len();
        let answer = list(filters).await;
        match support.filter_refusal(name) {
            None if E::default_order() == Some(name) => {
                answer.unwrap_or_else(|error| panic!("{provider} {name}: {error}"));
            }
            None => {
                answer.unwrap_or_else(|error| panic!("{provider} {name}: {error}"));
                assert_ne!(
                    last_call().await,
                    unfiltered,
                    "{provider}: `{name}` is declared supported, so it must change the request"
                );
            }
            Some(reason) => {
                let error = answer.expect_err("an unsupported filter is refused");
                let text = error.to_string();
                assert!(
                    matches!(&error, UnifiedError::InvalidInput { field, .. } if field == name.split('=').next().unwrap_or(name)),
                    "{provider} {name}: {error:?}"
                );
                assert!(text.contains(reason), "{provider} {name}: {text}");
                assert_eq!(
                    harness.calls().await.len(),
                    before,
                    "{provider} {name}: nothing sent"
                );
            }
        }
    }
}

/// The typed library API is the JSON one with types: the same records
/// (with the provider's record as `remote_data`), the same create request,
/// the same lookups.
pub async fn the_typed_api_answers_what_the_json_api_does<E: Conformance>() {
    let provider = E::PROVIDER;
    let harness = Harness::<E>::start().await;
    E::mount_users(&harness.server).await;
    let records = E::records();
    harness.mount_records(records.clone()).await;
    let options = ListOptions {
        limit: Some(3),
        ..ListOptions::default()
    };
    let typed = harness
        .client
        .list_opportunities(&harness.account, &options)
        .await
        .unwrap_or_else(|error| panic!("{provider}: {error}"));
    let json_page = harness.list(Some(3), None).await;
    let typed_ids: Vec<String> = typed
        .records
        .iter()
        .map(|record| record.id.clone())
        .collect();
    assert_eq!(typed_ids, page_ids(&json_page), "{provider}: the same page");
    assert_eq!(
        typed.next_cursor.is_some(),
        json_page["next_cursor"].is_string()
    );
    assert!(
        typed
            .records
            .iter()
            .all(|record| record.remote_data.is_some()),
        "{provider}: every typed record carries the provider's record"
    );

    let record = records[0].clone();
    let id = E::record_id(&record);
    harness.mount_get(&record).await;
    let got = harness
        .client
        .get_opportunity(&harness.account, &id)
        .await
        .unwrap_or_else(|error| panic!("{provider}: {error}"));
    assert_eq!(got.id, id);
    assert_eq!(
        got.remote_data
            .map(|remote| Value::Object(remote.into_iter().collect())),
        Some(record),
        "{provider}: remote_data is the record as sent"
    );

    let (verb, at) = E::create_route();
    harness.mount_create().await;
    let body: unified_crm::unified::crm::OpportunityCreate =
        serde_json::from_value(E::create_body()).expect("the entry's create body is unified");
    harness
        .client
        .create_opportunity(&harness.account, &body)
        .await
        .unwrap_or_else(|error| panic!("{provider}: {error}"));
    let writes: Vec<Request> = harness
        .calls()
        .await
        .into_iter()
        .filter(|request| request.method.as_str() == verb && request.url.path() == at)
        .collect();
    assert_eq!(writes.len(), 1, "{provider}: one create");
    if let Err(problem) = E::check_create_body(&body_of(&writes[0])) {
        panic!("{provider}: typed create body: {problem}");
    }

    let support = provider.lookup_support();
    let json_keys = |lookup: Lookup, key: &'static str| {
        let client = &harness.client;
        let account = &harness.account;
        async move {
            let page = client
                .list_lookup(account, lookup, &ListOptions::default())
                .await
                .unwrap_or_else(|error| panic!("{provider} {lookup:?}: {error}"));
            page["result"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|item| item[key].as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let none = ListOptions::default();
    if support.reason(Lookup::CustomFields.binding()).is_none() {
        let typed = harness
            .client
            .list_custom_fields(&harness.account, &none)
            .await
            .unwrap_or_else(|error| panic!("{provider}: {error}"));
        let names: Vec<String> = typed.records.into_iter().map(|field| field.name).collect();
        assert_eq!(
            names,
            json_keys(Lookup::CustomFields, "name").await,
            "{provider}"
        );
    }
    if support.reason(Lookup::Stages.binding()).is_none() {
        let typed = harness
            .client
            .list_stages(&harness.account, &none)
            .await
            .unwrap_or_else(|error| panic!("{provider}: {error}"));
        let ids: Vec<String> = typed.records.into_iter().map(|stage| stage.id).collect();
        assert_eq!(ids, json_keys(Lookup::Stages, "id").await, "{provider}");
    }
    if support.reason(Lookup::Users.binding()).is_none() {
        let typed = harness
            .client
            .list_users(&harness.account, &none)
            .await
            .unwrap_or_else(|error| panic!("{provider}: {error}"));
        assert!(typed.records.iter().all(|user| user.remote_data.is_some()));
        let ids: Vec<String> = typed.records.into_iter().map(|user| user.id).collect();
        assert_eq!(ids, json_keys(Lookup::Users, "id").await, "{provider}");
    }
}
