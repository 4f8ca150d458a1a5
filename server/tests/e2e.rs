//! The server end to end: the router on a real socket, reqwest as the
//! caller, wiremock as Close and Copper (bodies in their real shapes from
//! `tests/fixtures/responses/`).

use common::{Engine, Scratch};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::crypto::{Cipher, new_token, token_hash};
use server::db::Db;
use server::{AppState, Config, serve};

#[macro_use]
mod common;
use std::sync::Arc;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLOSE_CUSTOM_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/close/custom_fields.json");
const CLOSE_STATUSES: &str = include_str!("../../tests/fixtures/responses/close/statuses.json");
const CLOSE_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/close/opportunity.json");
const CLOSE_PAGES: [&str; 3] = [
    include_str!("../../tests/fixtures/responses/close/list_page1.json"),
    include_str!("../../tests/fixtures/responses/close/list_page2.json"),
    include_str!("../../tests/fixtures/responses/close/list_page3.json"),
];
const CLOSE_401: &str = include_str!("../../tests/fixtures/responses/close/error_401.json");
const CLOSE_404: &str = include_str!("../../tests/fixtures/responses/close/error_404.json");
const CLOSE_429: &str = include_str!("../../tests/fixtures/responses/close/error_429.json");
const CLOSE_USERS: [&str; 2] = [
    include_str!("../../tests/fixtures/responses/close/users_page1.json"),
    include_str!("../../tests/fixtures/responses/close/users_page2.json"),
];
const CLOSE_ID: &str = "oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU";
const CLOSE_PATH: &str = "/opportunity/oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU/";

const COPPER_OPPORTUNITY: &str =
    include_str!("../../tests/fixtures/responses/copper/opportunity.json");
const COPPER_PAGES: [&str; 3] = [
    include_str!("../../tests/fixtures/responses/copper/list_page1.json"),
    include_str!("../../tests/fixtures/responses/copper/list_page2.json"),
    include_str!("../../tests/fixtures/responses/copper/list_page3.json"),
];
const COPPER_FIELDS: &str =
    include_str!("../../tests/fixtures/responses/copper/custom_field_definitions.json");
const COPPER_PIPELINES: &str = include_str!("../../tests/fixtures/responses/copper/pipelines.json");
const COPPER_DELETE: &str = include_str!("../../tests/fixtures/responses/copper/delete.json");
const COPPER_ID: &str = "2827699";
const COPPER_PATH: &str = "/opportunities/2827699";

const CLOSE_KEY: &str = "close-key-do-not-echo";
const COPPER_TOKEN: &str = "copper-token-do-not-echo";

// ---------------------------------------------------------------- harness

/// The server on a real socket, its database (a fresh one on the test's
/// engine), and a caller.
struct Server {
    base: String,
    db: Db,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _scratch: Scratch,
}

impl Server {
    async fn start(engine: &Engine) -> Server {
        let (db, _, scratch) = engine.fresh().await;
        let config = Config::allowing(&["127.0.0.1"]).unwrap();
        let state = AppState::new(db.clone(), Cipher::from_key(&[9; 32]), config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, Arc::new(state), async move {
            let _ = stopped.await;
        }));
        Server {
            base,
            db,
            http: reqwest::Client::new(),
            _stop: stop,
            _scratch: scratch,
        }
    }

    /// A new token for `tenant`, as `server token create` makes one.
    async fn token(&self, tenant: &str) -> String {
        let token = new_token().unwrap();
        self.db
            .create_token(tenant.into(), token_hash(&token))
            .await
            .unwrap();
        token
    }

    async fn send(
        &self,
        verb: Method,
        at: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(verb, format!("{}{at}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Status and JSON body.
    async fn call(
        &self,
        verb: Method,
        at: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(verb, at, Some(token), body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// Creates an account and answers its id.
    async fn account(&self, token: &str, body: Value) -> String {
        let (status, created) = self
            .call(Method::POST, "/integrated-accounts", token, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }
}

fn close_account(provider: &MockServer) -> Value {
    json!({"provider": "close", "credentials": {"api_key": CLOSE_KEY}, "base_url": provider.uri()})
}

fn copper_account(provider: &MockServer) -> Value {
    json!({
        "provider": "copper",
        "credentials": {"access_token": COPPER_TOKEN, "user_email": "me@example.com"},
        "base_url": provider.uri(),
    })
}

fn json_answer(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

async fn on(server: &MockServer, verb: &str, at: &str, status: u16, body: &str) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(json_answer(status, body))
        .mount(server)
        .await;
}

/// A Close double that answers the custom fields (fetched first) and
/// checks the account's API key arrives as Basic auth.
async fn close() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom_field/opportunity/"))
        .and(header(
            "authorization",
            "Basic Y2xvc2Uta2V5LWRvLW5vdC1lY2hvOg==",
        ))
        .respond_with(json_answer(200, CLOSE_CUSTOM_FIELDS))
        .mount(&server)
        .await;
    // Close's statuses: its stages, fetched with the custom fields.
    Mock::given(method("GET"))
        .and(path("/status/opportunity/"))
        .and(header(
            "authorization",
            "Basic Y2xvc2Uta2V5LWRvLW5vdC1lY2hvOg==",
        ))
        .respond_with(json_answer(200, CLOSE_STATUSES))
        .mount(&server)
        .await;
    server
}

async fn copper() -> MockServer {
    let server = MockServer::start().await;
    for (at, body) in [
        ("/custom_field_definitions", COPPER_FIELDS),
        ("/pipelines", COPPER_PIPELINES),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(header("X-PW-AccessToken", COPPER_TOKEN))
            .respond_with(json_answer(200, body))
            .mount(&server)
            .await;
    }
    server
}

fn opportunities(account: &str, extra: &str) -> String {
    format!("/unified/crm/opportunities?integrated_account_id={account}{extra}")
}

fn opportunity(id: &str, account: &str, extra: &str) -> String {
    format!("/unified/crm/opportunities/{id}?integrated_account_id={account}{extra}")
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["statusCode"], json!(expected.as_u16()), "{body}");
    assert_eq!(
        body["error"],
        json!(expected.canonical_reason().unwrap()),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

// ---------------------------------------------------------------- basics

async fn health_and_openapi_answer_without_a_token(engine: Engine) {
    let server = Server::start(&engine).await;
    let health = server.send(Method::GET, "/health", None, None).await;
    assert_eq!(health.status(), StatusCode::OK);

    let spec: Value = server
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], json!("3.0.3"));
    for at in [
        "/unified/crm/opportunities",
        "/unified/crm/opportunities/{id}",
        "/integrated-accounts",
        "/integrated-accounts/{id}",
    ] {
        assert!(spec["paths"][at].is_object(), "{at}");
    }
    assert_eq!(
        spec["paths"]["/unified/crm/opportunities"]["get"]["operationId"],
        json!("listOpportunities")
    );
    let schemas = &spec["components"]["schemas"];
    assert_eq!(schemas["CloseCredentials"]["required"], json!(["api_key"]));
    assert_eq!(
        schemas["CopperCredentials"]["required"],
        json!(["access_token", "user_email"])
    );
}

async fn a_missing_or_unknown_token_is_401(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    for at in [
        "/integrated-accounts".to_owned(),
        opportunities("62f44730-dd91-461e-bd6a-aedd9e0ad79d", ""),
        opportunity("1", "62f44730-dd91-461e-bd6a-aedd9e0ad79d", ""),
    ] {
        for bad in [None, Some("ucrm_not-a-token"), Some("")] {
            let response = server.send(Method::GET, &at, bad, None).await;
            assert_eq!(
                response.headers()["www-authenticate"].to_str().unwrap(),
                "Bearer"
            );
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_error(status, &body, StatusCode::UNAUTHORIZED);
        }
        // A Basic header is not a bearer token, even with the right value.
        let response = server
            .http
            .get(format!("{}{at}", server.base))
            .header("authorization", format!("Basic {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let (status, _) = server
        .call(Method::GET, "/integrated-accounts", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn unknown_routes_and_methods_answer_json_errors(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let (status, body) = server.call(Method::GET, "/nope", &token, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = server
        .call(Method::PUT, "/unified/crm/opportunities/1", &token, None)
        .await;
    assert_error(status, &body, StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------------- accounts

async fn accounts_are_created_listed_read_and_deleted_without_credentials(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;

    let (status, created) = server
        .call(
            Method::POST,
            "/integrated-accounts",
            &token,
            Some(close_account(&provider)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "base_url",
            "created_at",
            "id",
            "provider",
            "settings",
            "updated_at"
        ]
    );
    assert_eq!(created["settings"], json!({}));
    assert_eq!(created["updated_at"], Value::Null);
    assert_eq!(created["provider"], json!("close"));
    assert_eq!(created["base_url"], json!(provider.uri()));
    let id = created["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert!(!created.to_string().contains(CLOSE_KEY));

    // The public host by default.
    let (status, copper) = server
        .call(
            Method::POST,
            "/integrated-accounts",
            &token,
            Some(json!({"provider": "copper", "credentials": {"access_token": "t", "user_email": "e@x.com"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(copper["base_url"], Value::Null);

    let (status, list) = server
        .call(Method::GET, "/integrated-accounts", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["result_count"], json!(2));
    assert!(!list.to_string().contains(CLOSE_KEY));

    let (status, got) = server
        .call(
            Method::GET,
            &format!("/integrated-accounts/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);

    // Encrypted at rest: the key is nowhere in the stored row.
    let stored: Vec<u8> = server
        .db
        .accounts_not_under(String::new(), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|row| row.id == id)
        .unwrap()
        .credentials;
    assert!(
        !stored
            .windows(CLOSE_KEY.len())
            .any(|window| window == CLOSE_KEY.as_bytes())
    );

    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/integrated-accounts/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server
        .call(
            Method::GET,
            &format!("/integrated-accounts/{id}"),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    let (status, body) = server
        .call(
            Method::DELETE,
            &format!("/integrated-accounts/{id}"),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
}

async fn bad_account_bodies_are_400s_naming_the_field(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let cases = [
        (
            json!({"provider": "close", "credentials": {}}),
            "credentials.api_key",
        ),
        (
            json!({"provider": "copper", "credentials": {"access_token": "t"}}),
            "credentials.user_email",
        ),
        (
            json!({"provider": "copper", "credentials": {"access_token": "", "user_email": "e"}}),
            "credentials.access_token",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k", "token": "x"}}),
            "credentials.token",
        ),
        (json!({"provider": "close"}), "credentials"),
        (json!({"credentials": {"api_key": "k"}}), "provider"),
        (
            json!({"provider": "dynamics", "credentials": {}}),
            "provider",
        ),
        // Salesforce's API root is the org's own: base_url is required.
        (
            json!({"provider": "salesforce", "credentials": {"access_token": "t"}}),
            "base_url",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k"}, "base_url": "ftp://x"}),
            "base_url",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k"}, "base_url": "http://u:p@x"}),
            "base_url",
        ),
        // Credentials that are not valid header values are refused, not
        // stored and silently left out of requests.
        (
            json!({"provider": "copper", "credentials": {"access_token": "t\r\nX-Evil: 1", "user_email": "e"}}),
            "credentials.access_token",
        ),
        (
            json!({"provider": "copper", "credentials": {"access_token": "t", "user_email": "é@example.com"}}),
            "credentials.user_email",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": " k"}}),
            "credentials.api_key",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k\u{0}"}}),
            "credentials.api_key",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k"}, "settings": {"x": 1}}),
            "settings.x",
        ),
        (
            json!({"provider": "close", "credentials": {"api_key": "k"}, "settings": []}),
            "settings",
        ),
        (json!([1]), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) = server
            .call(
                Method::POST,
                "/integrated-accounts",
                &token,
                Some(body.clone()),
            )
            .await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST);
        assert_eq!(answer["fields"], json!([field]), "{body} -> {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    let response = server
        .http
        .post(format!("{}/integrated-accounts", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn another_tenants_account_is_a_404_like_an_unknown_one(engine: Engine) {
    let server = Server::start(&engine).await;
    let alice = server.token("alice").await;
    let bob = server.token("bob").await;
    let provider = close().await;
    on(&provider, "GET", CLOSE_PATH, 200, CLOSE_OPPORTUNITY).await;
    let account = server.account(&alice, close_account(&provider)).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    let (status, _) = server
        .call(
            Method::GET,
            &opportunity(CLOSE_ID, &account, ""),
            &alice,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    for id in [&account, &unknown] {
        let mut answers = Vec::new();
        for (verb, at, body) in [
            (Method::GET, format!("/integrated-accounts/{id}"), None),
            (Method::DELETE, format!("/integrated-accounts/{id}"), None),
            (Method::GET, opportunities(id, ""), None),
            (
                Method::GET,
                opportunities(id, "&truto_response_format=stream"),
                None,
            ),
            (Method::GET, opportunity(CLOSE_ID, id, ""), None),
            (
                Method::POST,
                opportunities(id, ""),
                Some(json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}})),
            ),
            (
                Method::PATCH,
                opportunity(CLOSE_ID, id, ""),
                Some(json!({})),
            ),
            (Method::DELETE, opportunity(CLOSE_ID, id, ""), None),
        ] {
            let (status, answer) = server.call(verb, &at, &bob, body).await;
            assert_error(status, &answer, StatusCode::NOT_FOUND);
            answers.push(
                answer["message"]
                    .as_str()
                    .unwrap()
                    .replace(id.as_str(), "ID"),
            );
        }
        // Bob's list does not show it either.
        let (_, list) = server
            .call(Method::GET, "/integrated-accounts", &bob, None)
            .await;
        assert_eq!(list["result_count"], json!(0));
        assert!(answers.iter().all(|message| message == &answers[0]));
    }
    // Nothing reached the provider on Bob's behalf, and Alice still has it.
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/integrated-accounts/{account}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let opportunity_calls = provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == CLOSE_PATH)
        .count();
    assert_eq!(opportunity_calls, 1);
}

// ---------------------------------------------------------------- Close

async fn close_get_in_every_format(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    on(&provider, "GET", CLOSE_PATH, 200, CLOSE_OPPORTUNITY).await;
    let account = server.account(&token, close_account(&provider)).await;
    let get = |extra: &'static str| {
        let at = opportunity(CLOSE_ID, &account, extra);
        let server = &server;
        let token = &token;
        async move { server.call(Method::GET, &at, token, None).await }
    };

    let (status, unified) = get("").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unified["id"], json!(CLOSE_ID));
    assert_eq!(unified["remote_data"], fixture(CLOSE_OPPORTUNITY));
    assert!(unified["amount"].is_number());

    let (_, stream) = get("&truto_response_format=stream").await;
    assert_eq!(stream, unified, "single records answer as unified");

    let (_, raw) = get("&truto_response_format=raw").await;
    assert_eq!(raw, fixture(CLOSE_OPPORTUNITY));

    let (_, normalized) = get("&truto_response_format=normalized").await;
    let keys: Vec<&String> = normalized.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
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
            "urls"
        ]
    );
    // Close has no name: its `note` is the unified name; no description.
    assert_eq!(
        normalized["name"],
        json!("Initial rollout for the Phoenix office.")
    );
    assert_eq!(normalized["description"], Value::Null);

    let (_, trimmed) = get(
        "&truto_ignore_remote_data=true&truto_exclude_fields[]=amount&truto_exclude_fields%5B%5D=currency",
    )
    .await;
    assert!(trimmed.get("remote_data").is_none(), "{trimmed}");
    assert!(trimmed.get("amount").is_none() && trimmed.get("currency").is_none());
    assert_eq!(trimmed["id"], json!(CLOSE_ID));

    // `id` is required in every Opportunity: it is never excluded.
    let (_, with_id) = get("&truto_exclude_fields[]=id&truto_exclude_fields[]=name").await;
    assert_eq!(with_id["id"], json!(CLOSE_ID));
    assert!(with_id.get("name").is_none(), "{with_id}");

    // remote_query reaches Close untouched.
    let (status, _) = get("&remote_query[_fields]=id,value").await;
    assert_eq!(status, StatusCode::OK);
    let requests = provider.received_requests().await.unwrap();
    let last = requests
        .iter()
        .rev()
        .find(|request| request.url.path() == CLOSE_PATH)
        .unwrap();
    assert_eq!(last.url.query(), Some("_fields=id%2Cvalue"));
}

async fn mount_close_pages(provider: &MockServer) {
    for (page, skip) in CLOSE_PAGES.iter().zip(["0", "3", "6"]) {
        Mock::given(method("GET"))
            .and(path("/opportunity/"))
            .and(query_param("_skip", skip))
            .respond_with(json_answer(200, page))
            .mount(provider)
            .await;
    }
}

fn close_page_ids() -> Vec<String> {
    CLOSE_PAGES
        .iter()
        .flat_map(|page| ids(&fixture(page)["data"]))
        .collect()
}

async fn close_list_pages_through_with_next_cursor_in_every_format(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    mount_close_pages(&provider).await;
    let account = server.account(&token, close_account(&provider)).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for (page, fixture_page) in CLOSE_PAGES.iter().enumerate() {
        let extra = match &cursor {
            Some(cursor) => format!("&limit=3&next_cursor={cursor}"),
            None => "&limit=3".to_owned(),
        };
        let (status, body) = server
            .call(Method::GET, &opportunities(&account, &extra), &token, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["result_count"],
            json!(body["result"].as_array().unwrap().len())
        );
        assert_eq!(
            body["result"][0]["remote_data"],
            fixture(fixture_page)["data"][0]
        );
        seen.extend(ids(&body["result"]));
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        assert_eq!(cursor.is_none(), page == 2);
    }
    assert_eq!(seen, close_page_ids());

    let (_, raw) = server
        .call(
            Method::GET,
            &opportunities(&account, "&limit=3&truto_response_format=raw"),
            &token,
            None,
        )
        .await;
    assert_eq!(raw, fixture(CLOSE_PAGES[0]));
    // A raw page is the provider's body untouched; its cursor is in the
    // `Next-Cursor` header, and pages the same way.
    let response = server
        .send(
            Method::GET,
            &opportunities(&account, "&limit=3&truto_response_format=raw"),
            Some(&token),
            None,
        )
        .await;
    let next = response.headers()["next-cursor"]
        .to_str()
        .unwrap()
        .to_owned();
    let second = server
        .send(
            Method::GET,
            &opportunities(
                &account,
                &format!("&limit=3&truto_response_format=raw&next_cursor={next}"),
            ),
            Some(&token),
            None,
        )
        .await;
    assert!(second.headers().contains_key("next-cursor"));
    let second: Value = second.json().await.unwrap();
    assert_eq!(second, fixture(CLOSE_PAGES[1]));

    let (_, normalized) = server
        .call(
            Method::GET,
            &opportunities(&account, "&limit=3&truto_response_format=normalized"),
            &token,
            None,
        )
        .await;
    assert!(normalized["result"][0].get("remote_data").is_none());
    assert_eq!(
        normalized["result"][0]["name"],
        json!("Initial rollout for the Phoenix office.")
    );
    assert!(normalized["next_cursor"].is_string());

    let (status, body) = server
        .call(
            Method::GET,
            &opportunities(&account, "&next_cursor=garbage"),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
}

async fn close_stream_is_ndjson_of_every_record_of_every_page(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    mount_close_pages(&provider).await;
    let account = server.account(&token, close_account(&provider)).await;

    let response = server
        .send(
            Method::GET,
            &opportunities(&account, "&limit=3&truto_response_format=stream"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n'));
    let records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let got: Vec<String> = records
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, close_page_ids());
    assert!(
        records
            .iter()
            .all(|record| record["remote_data"].is_object())
    );
}

async fn stream_errors_before_the_first_record_are_ordinary_error_answers(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    on(&provider, "GET", "/opportunity/", 401, CLOSE_401).await;
    let account = server.account(&token, close_account(&provider)).await;
    let (status, body) = server
        .call(
            Method::GET,
            &opportunities(&account, "&truto_response_format=stream"),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    assert_eq!(body["provider"]["status"], json!(401));
}

async fn close_create_update_delete(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    on(&provider, "POST", "/opportunity/", 200, CLOSE_OPPORTUNITY).await;
    on(&provider, "PUT", CLOSE_PATH, 200, CLOSE_OPPORTUNITY).await;
    on(&provider, "DELETE", CLOSE_PATH, 200, "{}").await;
    let account = server.account(&token, close_account(&provider)).await;

    let (status, created) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}, "amount": 500.0})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], json!(CLOSE_ID));
    let requests = provider.received_requests().await.unwrap();
    let sent: Value = requests
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .unwrap()
        .body_json()
        .unwrap();
    assert_eq!(sent["lead_id"], json!("lead_1"));
    assert_eq!(sent["value"], json!(50000));

    let (status, updated) = server
        .call(
            Method::PATCH,
            &opportunity(CLOSE_ID, &account, "&truto_response_format=normalized"),
            &token,
            Some(json!({"name": "Phoenix rollout"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated.get("remote_data").is_none());
    let requests = provider.received_requests().await.unwrap();
    let sent: Value = requests
        .iter()
        .find(|request| request.method.as_str() == "PUT")
        .unwrap()
        .body_json()
        .unwrap();
    // Close's `note` is the unified name.
    assert_eq!(sent, json!({"note": "Phoenix rollout"}));

    let (status, deleted) = server
        .call(
            Method::DELETE,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["id"], json!(CLOSE_ID));
}

async fn unified_400s_name_the_parameter(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    let account = server.account(&token, close_account(&provider)).await;
    let cases = [
        (
            "/unified/crm/opportunities".to_owned(),
            "integrated_account_id",
        ),
        (
            "/unified/crm/opportunities?integrated_account_id=nope".to_owned(),
            "integrated_account_id",
        ),
        (
            opportunities(&account, "&truto_response_format=xml"),
            "truto_response_format",
        ),
        (
            opportunities(&account, "&truto_ignore_remote_data=maybe"),
            "truto_ignore_remote_data",
        ),
        (
            opportunities(&account, "&truto_ignore_remote_data="),
            "truto_ignore_remote_data",
        ),
        (
            opportunities(&account, "&truto_exclude_fields[]="),
            "truto_exclude_fields[]",
        ),
        (
            opportunities(&account, "&remote_query[a][b]=1"),
            "remote_query[a][b]",
        ),
        (
            opportunities(&account, "&remote_query[a]=1&remote_query[a]=2"),
            "remote_query[a]",
        ),
        (opportunities(&account, "&limit=0"), "limit"),
        (opportunities(&account, "&limit=101"), "limit"),
        (opportunities(&account, "&limt=5"), "limt"),
        (opportunity("a/b", &account, ""), "id"),
        (opportunity("%20", &account, ""), "id"),
    ];
    for (at, field) in cases {
        let (status, body) = server.call(Method::GET, &at, &token, None).await;
        if at.contains("a/b") {
            // Two segments: no such route.
            assert_error(status, &body, StatusCode::NOT_FOUND);
            continue;
        }
        assert_error(status, &body, StatusCode::BAD_REQUEST);
        assert_eq!(body["fields"], json!([field]), "{at} -> {body}");
    }
    // Bodies: not JSON, and the wrong type for a field.
    let response = server
        .http
        .post(format!("{}{}", server.base, opportunities(&account, "")))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, body) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({"account": {"id": "lead_1"}, "owner": {"id": "u"}, "amount": "abc"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    assert_eq!(body["fields"], json!(["amount"]));
    // Nothing but the context was fetched from Close.
    let requests = provider.received_requests().await.unwrap();
    assert!(requests.iter().all(|request| matches!(
        request.url.path(),
        "/custom_field/opportunity/" | "/status/opportunity/"
    )));
}

async fn validation_errors_are_422_listing_the_fields(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    let account = server.account(&token, close_account(&provider)).await;
    let (status, body) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({"description": "Chairs", "tags": [{"name": "vip"}]})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields: Vec<String> = serde_json::from_value(body["fields"].clone()).unwrap();
    fields.sort();
    assert_eq!(fields, ["account", "description", "owner", "tags"]);
    assert!(body.get("provider").is_none());

    // A value Close cannot take (fractions of a cent; clearing the lead)
    // is the caller's to fix: 422 naming the field, nothing sent.
    let (status, body) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({"account": {"id": "lead_1"}, "owner": {"id": "u"}, "amount": 10.001})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"], json!(["amount"]));
    let (status, body) = server
        .call(
            Method::PATCH,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            Some(json!({"account": null})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"], json!(["account"]));
    let requests = provider.received_requests().await.unwrap();
    assert!(requests.iter().all(|request| matches!(
        request.url.path(),
        "/custom_field/opportunity/" | "/status/opportunity/"
    )));
}

async fn bodies_over_1_mib_are_413(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    let account = server.account(&token, close_account(&provider)).await;
    let big = json!({"description": "x".repeat(1024 * 1024)});
    for at in [
        opportunities(&account, ""),
        "/integrated-accounts".to_owned(),
    ] {
        let (status, body) = server
            .call(Method::POST, &at, &token, Some(big.clone()))
            .await;
        assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Without a Content-Length (chunked), the limit holds too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let response = server
        .http
        .patch(format!(
            "{}{}",
            server.base,
            opportunity(CLOSE_ID, &account, "")
        ))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nothing reached Close's opportunity endpoints.
    let requests = provider.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|request| request.url.path() != CLOSE_PATH)
    );
}

// ---------------------------------------------------------------- provider errors

async fn a_provider_429_is_passed_through_with_retry_after(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    Mock::given(method("GET"))
        .and(path(CLOSE_PATH))
        .respond_with(json_answer(429, CLOSE_429).insert_header("Retry-After", "60"))
        .mount(&provider)
        .await;
    let account = server.account(&token, close_account(&provider)).await;
    let response = server
        .send(
            Method::GET,
            &opportunity(CLOSE_ID, &account, ""),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(response.headers()["retry-after"].to_str().unwrap(), "60");
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["provider"],
        json!({"name": "close", "status": 429, "body": fixture(CLOSE_429), "retry_after": 60})
    );
}

async fn provider_404_401_403_and_5xx_map_to_404_401_403_and_502(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    on(&provider, "GET", CLOSE_PATH, 404, CLOSE_404).await;
    on(&provider, "DELETE", CLOSE_PATH, 401, CLOSE_401).await;
    on(
        &provider,
        "POST",
        "/opportunity/",
        403,
        r#"{"error": "You don't have permission to create opportunities."}"#,
    )
    .await;
    on(&provider, "PUT", CLOSE_PATH, 500, "oops").await;
    let account = server.account(&token, close_account(&provider)).await;

    let (status, body) = server
        .call(
            Method::GET,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND);
    assert_eq!(body["provider"]["status"], json!(404));
    assert_eq!(body["provider"]["body"], fixture(CLOSE_404));

    let (status, body) = server
        .call(
            Method::DELETE,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED);
    assert_eq!(body["provider"]["name"], json!("close"));

    // A provider's 403 stays a 403, with its details; this server's own
    // 401 is the one with `WWW-Authenticate` and no `provider`.
    let response = server
        .send(
            Method::POST,
            &opportunities(&account, ""),
            Some(&token),
            Some(json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}, "amount": 5.0})),
        )
        .await;
    assert!(response.headers().get("www-authenticate").is_none());
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_error(status, &body, StatusCode::FORBIDDEN);
    assert_eq!(body["provider"]["status"], json!(403));
    assert_eq!(
        body["provider"]["body"]["error"],
        json!("You don't have permission to create opportunities.")
    );

    let (status, body) = server
        .call(
            Method::PATCH,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_GATEWAY);
    assert_eq!(body["provider"]["body"], json!("oops"));
    assert!(!body.to_string().contains(CLOSE_KEY));
}

async fn an_unreachable_provider_is_502(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let account = server
        .account(
            &token,
            json!({"provider": "close", "credentials": {"api_key": "k"}, "base_url": at}),
        )
        .await;
    let (status, body) = server
        .call(
            Method::GET,
            &opportunity(CLOSE_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_GATEWAY);
}

// ---------------------------------------------------------------- Copper

async fn mount_copper_pages(provider: &MockServer) {
    for (index, page) in COPPER_PAGES.iter().enumerate() {
        let number = index + 1;
        Mock::given(method("POST"))
            .and(path("/opportunities/search"))
            .and(body_partial_json(json!({"page_number": number})))
            .respond_with(json_answer(200, page))
            .mount(provider)
            .await;
    }
}

fn copper_page_ids() -> Vec<String> {
    COPPER_PAGES
        .iter()
        .flat_map(|page| {
            fixture(page)
                .as_array()
                .unwrap()
                .iter()
                .map(|record| record["id"].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn copper_every_operation_and_format(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = copper().await;
    mount_copper_pages(&provider).await;
    on(&provider, "GET", COPPER_PATH, 200, COPPER_OPPORTUNITY).await;
    on(&provider, "POST", "/opportunities", 200, COPPER_OPPORTUNITY).await;
    on(&provider, "PUT", COPPER_PATH, 200, COPPER_OPPORTUNITY).await;
    on(&provider, "DELETE", COPPER_PATH, 200, COPPER_DELETE).await;
    let account = server.account(&token, copper_account(&provider)).await;

    // get, in every format
    let (status, unified) = server
        .call(
            Method::GET,
            &opportunity(COPPER_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unified}");
    assert_eq!(unified["id"], json!(COPPER_ID));
    assert_eq!(unified["name"], json!("25 Office Chairs (sample)"));
    assert_eq!(unified["remote_data"], fixture(COPPER_OPPORTUNITY));
    let (_, raw) = server
        .call(
            Method::GET,
            &opportunity(COPPER_ID, &account, "&truto_response_format=raw"),
            &token,
            None,
        )
        .await;
    assert_eq!(raw, fixture(COPPER_OPPORTUNITY));
    let (_, normalized) = server
        .call(
            Method::GET,
            &opportunity(COPPER_ID, &account, "&truto_response_format=normalized"),
            &token,
            None,
        )
        .await;
    assert!(normalized.get("remote_data").is_none());
    assert_eq!(normalized["urls"], Value::Null);

    // list, paged with the cursor
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let extra = match &cursor {
            Some(cursor) => format!("&limit=2&next_cursor={cursor}"),
            None => "&limit=2".to_owned(),
        };
        let (status, page) = server
            .call(Method::GET, &opportunities(&account, &extra), &token, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page["result"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() < 10, "the cursor must end");
    }
    assert_eq!(seen, copper_page_ids());

    // stream
    let response = server
        .send(
            Method::GET,
            &opportunities(
                &account,
                "&limit=2&truto_response_format=stream&truto_ignore_remote_data=true",
            ),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let text = response.text().await.unwrap();
    let streamed: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(ids(&Value::Array(streamed.clone())), copper_page_ids());
    assert!(
        streamed
            .iter()
            .all(|record| record.get("remote_data").is_none())
    );

    // create, update, delete
    let (status, created) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({"name": "New Demo Opportunity", "contact": [{"id": "27140359"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], json!(COPPER_ID));
    let (status, updated) = server
        .call(
            Method::PATCH,
            &opportunity(COPPER_ID, &account, ""),
            &token,
            Some(json!({"status": "won"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, deleted) = server
        .call(
            Method::DELETE,
            &opportunity(COPPER_ID, &account, ""),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["id"], json!(COPPER_ID));

    // Copper ids are integers: refused before anything is sent.
    let (status, body) = server
        .call(Method::GET, &opportunity("abc", &account, ""), &token, None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST);
    // Copper requires a name and a contact.
    let (status, body) = server
        .call(
            Method::POST,
            &opportunities(&account, ""),
            &token,
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"], json!(["name", "contact"]));

    // Every call carried the account's credentials.
    for request in provider.received_requests().await.unwrap() {
        assert_eq!(request.headers["x-pw-accesstoken"], COPPER_TOKEN);
        assert_eq!(request.headers["x-pw-useremail"], "me@example.com");
    }
}

// ---------------------------------------------------------------- lookups and filters

fn lookup(which: &str, account: &str, extra: &str) -> String {
    format!("/unified/crm/{which}?integrated_account_id={account}{extra}")
}

/// Close's custom field definitions and statuses through `/fields` and
/// `/stages`: the names `custom_fields` uses, paged from one snapshot;
/// filters parsed, refused where Close cannot apply them (with the reason
/// from its spec), and never accepted by endpoints that do not take them.
async fn lookups_and_filters_over_http(engine: Engine) {
    let server = Server::start(&engine).await;
    let token = server.token("acme").await;
    let provider = close().await;
    let account = server.account(&token, close_account(&provider)).await;
    let call = |at: String| {
        let server = &server;
        let token = &token;
        async move { server.call(Method::GET, &at, token, None).await }
    };

    let (status, fields) = call(lookup("fields", &account, "&resource=opportunities")).await;
    assert_eq!(status, StatusCode::OK, "{fields}");
    let names: Vec<&str> = fields["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Deal Source",
            "Products",
            "Contract Length (months)",
            "Decision Date",
            "Sales Engineer"
        ]
    );
    assert_eq!(fields["result_count"], json!(5));
    assert_eq!(fields["next_cursor"], Value::Null);
    let custom_fields = fixture(CLOSE_CUSTOM_FIELDS);
    assert_eq!(fields["result"][0]["remote_data"], custom_fields["data"][0]);

    // One item a page: every field once, in order, from one snapshot.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let extra = match &cursor {
            None => "&limit=1".to_owned(),
            Some(next) => format!("&limit=1&next_cursor={next}"),
        };
        let (status, page) = call(lookup("fields", &account, &extra)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        walked.extend(ids_of(&page, "name"));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, names);

    let (_, normalized) = call(lookup(
        "stages",
        &account,
        "&truto_response_format=normalized",
    ))
    .await;
    let first = &normalized["result"][0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "name", "pipeline"], "{first}");
    let (_, raw) = call(lookup("stages", &account, "&truto_response_format=raw")).await;
    assert_eq!(raw["result"][0], fixture(CLOSE_STATUSES)["data"][0]);

    for (at, named) in [
        (lookup("fields", &account, "&resource=contacts"), "resource"),
        (
            lookup("stages", &account, "&resource=opportunities"),
            "resource",
        ),
        (lookup("fields", &account, "&status=won"), "status"),
        (
            lookup("users", &account, "&remote_query[a]=b"),
            "remote_query",
        ),
        (
            lookup("fields", &account, "&truto_response_format=stream"),
            "truto_response_format",
        ),
        (opportunities(&account, "&status=closed"), "status"),
        (
            opportunities(&account, "&updated_at[gt]=yesterday"),
            "updated_at[gt]",
        ),
        (opportunities(&account, "&sort_by=name"), "sort_by"),
        (opportunities(&account, "&owner_id=a/b"), "owner_id"),
        (opportunity(CLOSE_ID, &account, "&status=won"), "status"),
        (opportunity(CLOSE_ID, &account, "&limit=2"), "limit"),
    ] {
        let (status, body) = call(at.clone()).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
        assert_eq!(body["fields"], json!([named]), "{at}: {body}");
    }

    // Users: every page of Close's `/user/`, then paged here.
    for (skip, page) in [("0", CLOSE_USERS[0]), ("2", CLOSE_USERS[1])] {
        Mock::given(method("GET"))
            .and(path("/user/"))
            .and(wiremock::matchers::query_param("_skip", skip))
            .respond_with(json_answer(200, page))
            .mount(&provider)
            .await;
    }
    let (status, users) = call(lookup("users", &account, "&limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(users["result_count"], json!(2));
    assert_eq!(users["result"][0]["email"], json!("joe.kemp@example.com"));
    let next = users["next_cursor"].as_str().unwrap().to_owned();
    // A users cursor is not a fields cursor, nor an opportunities one.
    for at in [
        lookup("fields", &account, &format!("&next_cursor={next}")),
        opportunities(&account, &format!("&next_cursor={next}")),
    ] {
        let (status, body) = call(at).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
        assert_eq!(body["fields"], json!(["next_cursor"]), "{body}");
    }
    let (_, rest) = call(lookup("users", &account, &format!("&next_cursor={next}"))).await;
    assert_eq!(
        ids_of(&rest, "id"),
        ["user_afla6or2ORGHcO7cwF4QGo7MRB2Xeb3WpOfDZrFrKoU"]
    );
    assert_eq!(rest["next_cursor"], Value::Null);

    // A filter Close applies reaches it as Close's own parameter.
    mount_close_pages(&provider).await;
    let (status, page) = call(opportunities(
        &account,
        "&updated_at%5Bgt%5D=2024-05-01T00:00:00Z&sort_by=created_at&owner_id=user_1",
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let requests = provider.received_requests().await.unwrap();
    let list = requests
        .iter()
        .rev()
        .find(|request| request.url.path() == "/opportunity/")
        .unwrap();
    let query: Vec<(String, String)> = list.url.query_pairs().into_owned().collect();
    for (key, value) in [
        ("date_updated__gt", "2024-05-01T00:00:00Z"),
        ("_order_by", "date_created"),
        ("user_id", "user_1"),
    ] {
        assert!(
            query.contains(&(key.to_owned(), value.to_owned())),
            "{key}={value} in {query:?}"
        );
    }

    // Close's spec decides: a filter it declares unsupported is refused
    // with the spec's reason before any call to Close.
    let support = unified_crm::Provider::Close.opportunities_support();
    let before = provider.received_requests().await.unwrap().len();
    for unsupported in support.unsupported_filters {
        let (field, value) = match unsupported.name.split_once('=') {
            Some((field, value)) => (field, value.to_owned()),
            None if unsupported.name.ends_with("[gt]") => {
                (unsupported.name, "2024-05-01T00:00:00Z".to_owned())
            }
            None if unsupported.name == "status" => (unsupported.name, "won".to_owned()),
            None => (unsupported.name, "x1".to_owned()),
        };
        let (status, body) = call(opportunities(&account, &format!("&{field}={value}"))).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST);
        assert_eq!(body["fields"], json!([field]), "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(unsupported.reason),
            "{body}"
        );
    }
    assert_eq!(provider.received_requests().await.unwrap().len(), before);
}

fn ids_of(page: &Value, key: &str) -> Vec<String> {
    page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

on_both_engines!(
    health_and_openapi_answer_without_a_token,
    a_missing_or_unknown_token_is_401,
    unknown_routes_and_methods_answer_json_errors,
    accounts_are_created_listed_read_and_deleted_without_credentials,
    bad_account_bodies_are_400s_naming_the_field,
    another_tenants_account_is_a_404_like_an_unknown_one,
    close_get_in_every_format,
    close_list_pages_through_with_next_cursor_in_every_format,
    close_stream_is_ndjson_of_every_record_of_every_page,
    stream_errors_before_the_first_record_are_ordinary_error_answers,
    close_create_update_delete,
    unified_400s_name_the_parameter,
    validation_errors_are_422_listing_the_fields,
    bodies_over_1_mib_are_413,
    a_provider_429_is_passed_through_with_retry_after,
    provider_404_401_403_and_5xx_map_to_404_401_403_and_502,
    an_unreachable_provider_is_502,
    copper_every_operation_and_format,
    lookups_and_filters_over_http,
);
