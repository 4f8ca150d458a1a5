//! Two replicas: two processes of the real `server` binary on one
//! PostgreSQL database (`UNIFIED_TEST_POSTGRES_URL`; skipped with a note
//! when it is not set, always run by `.ci/run`), behind no load balancer
//! but the test itself, which sends each request to one or the other:
//!
//! - an account created through one is used through the other;
//! - a list cursor from one pages on through the other (the cursor key
//!   is derived from the shared credentials key);
//! - an idempotent create replayed on the other replica answers the
//!   stored answer, and two racing on one key reach the provider once
//!   (wiremock counts);
//! - an account changed through one is used changed by the other at
//!   once, its cached custom fields dropped;
//! - a token revoked (`token revoke`) is refused by both from the next
//!   request on: nothing about tokens is cached, so the bound is zero;
//! - `keys rotate` beside both, and both still read;
//! - no token, credential or database password in either log.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[macro_use]
#[allow(unused_macros)]
mod common;
use common::{Engine, Scratch};

const BIN: &str = env!("CARGO_BIN_EXE_server");

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
const CLOSE_ID: &str = "oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU";
const CLOSE_PATH: &str = "/opportunity/oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU/";
const CLOSE_KEY: &str = "close-key-do-not-log";
const NEW_CLOSE_KEY: &str = "new-close-key-do-not-log";

/// Runs a command of the binary to completion: (stdout, stderr), or a
/// panic with both.
fn run(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("UNIFIED_SECRET_KEY")
        .env_remove("UNIFIED_DATABASE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A `server serve` process; killed when dropped.
struct Replica {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    fn start(database: &str, key_file: &str) -> Replica {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database,
                "--key-file",
                key_file,
                "--allow-host",
                "127.0.0.1",
                "--tenant-rate-limit",
                "0",
                "--account-rate-limit",
                "0",
            ])
            .env_remove("UNIFIED_SECRET_KEY")
            .env_remove("UNIFIED_DATABASE")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("address=").nth(1) {
                        let _ = address_tx.send(rest.split_whitespace().next().unwrap().to_owned());
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => address,
            Err(_) => panic!(
                "the replica did not start: {}",
                log.lock().unwrap().join("\n")
            ),
        };
        Replica {
            child,
            base: format!("http://{address}"),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

fn json_answer(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// Close: custom fields, statuses, one opportunity, three pages, and a create that
/// takes a while (so two replicas can race on it).
async fn close() -> MockServer {
    let provider = MockServer::start().await;
    for (verb, at, answer) in [
        (
            "GET",
            "/custom_field/opportunity/",
            json_answer(CLOSE_CUSTOM_FIELDS),
        ),
        // Close's statuses (its stages), fetched with the custom fields.
        ("GET", "/status/opportunity/", json_answer(CLOSE_STATUSES)),
        ("GET", CLOSE_PATH, json_answer(CLOSE_OPPORTUNITY)),
        (
            "POST",
            "/opportunity/",
            json_answer(CLOSE_OPPORTUNITY).set_delay(Duration::from_millis(1000)),
        ),
    ] {
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(answer)
            .mount(&provider)
            .await;
    }
    for (page, skip) in CLOSE_PAGES.iter().zip(["0", "3", "6"]) {
        Mock::given(method("GET"))
            .and(path("/opportunity/"))
            .and(query_param("_skip", skip))
            .respond_with(json_answer(page))
            .mount(&provider)
            .await;
    }
    provider
}

async fn requests_to(provider: &MockServer, verb: &str, at: &str) -> Vec<wiremock::Request> {
    provider
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.method.as_str() == verb && request.url.path() == at)
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn two_replicas_on_one_postgres_share_accounts_keys_cursors_and_revocations() {
    let Some(Engine::Postgres(base_url)) = Engine::postgres() else {
        return;
    };
    let scratch = Scratch::schema(&base_url).await;
    let database = scratch.url().unwrap().to_owned();
    let password = base_url
        .parse::<tokio_postgres::Config>()
        .unwrap()
        .get_password()
        .map(|password| String::from_utf8_lossy(password).into_owned());
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("credentials.key");
    server::crypto::write_key_file(&key_file, &[server::crypto::new_key().unwrap()]).unwrap();
    let key_file = key_file.to_str().unwrap().to_owned();

    // A token before any server runs: the command migrates the database
    // (named here by UNIFIED_DATABASE).
    let (token, _) = run(
        &["token", "create", "--tenant", "acme"],
        &[("UNIFIED_DATABASE", &database)],
    );
    let token = token.trim().to_owned();

    // Both replicas start at once on the same database.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Replica::start(&database, &key_file));
        let b = scope.spawn(|| Replica::start(&database, &key_file));
        (a.join().unwrap(), b.join().unwrap())
    });
    let http = reqwest::Client::new();
    let provider = close().await;
    let on = |replica: &Replica, verb: reqwest::Method, at: &str| {
        http.request(verb, format!("{}{at}", replica.base))
            .bearer_auth(&token)
    };

    // An account created through A is used through B.
    let (status, _, created) = send(on(&a, reqwest::Method::POST, "/integrated-accounts").json(
        &json!({"provider": "close", "credentials": {"api_key": CLOSE_KEY}, "base_url": provider.uri()}),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    let account = created["id"].as_str().unwrap().to_owned();
    let (status, _, listed) = send(on(&b, reqwest::Method::GET, "/integrated-accounts")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["result"][0]["id"], json!(account));
    let get = format!("/unified/crm/opportunities/{CLOSE_ID}?integrated_account_id={account}");
    let (status, _, record) = send(on(&b, reqwest::Method::GET, &get)).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["id"], json!(CLOSE_ID));

    // A cursor from one replica pages on through the other.
    let list = format!("/unified/crm/opportunities?integrated_account_id={account}&limit=3");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for (page, replica) in [&a, &b, &a].into_iter().enumerate() {
        let at = match &cursor {
            Some(cursor) => format!("{list}&next_cursor={cursor}"),
            None => list.clone(),
        };
        let (status, _, body) = send(on(replica, reqwest::Method::GET, &at)).await;
        assert_eq!(status, 200, "page {page}: {body}");
        seen.extend(ids(&body["result"]));
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        assert_eq!(cursor.is_none(), page == 2, "page {page}");
    }
    let expected: Vec<String> = CLOSE_PAGES
        .iter()
        .flat_map(|page| ids(&serde_json::from_str::<Value>(page).unwrap()["data"]))
        .collect();
    assert_eq!(seen, expected);

    // An idempotent create on A, replayed on B: the stored answer, and
    // the provider saw one POST.
    let create_at = format!("/unified/crm/opportunities?integrated_account_id={account}");
    let body = json!({"account": {"id": "lead_1"}, "owner": {"id": "user_1"}, "amount": 500.0});
    let create = |replica: &Replica, key: &str| {
        on(replica, reqwest::Method::POST, &create_at)
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let (status, headers, first) = send(create(&a, "create-1")).await;
    assert_eq!(status, 201, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, headers, replayed) = send(create(&b, "create-1")).await;
    assert_eq!(status, 201, "{replayed}");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(replayed, first);
    assert_eq!(
        requests_to(&provider, "POST", "/opportunity/").await.len(),
        1
    );

    // Two replicas racing on one key: one runs, the other is told it is
    // in progress; once done, both answer the stored answer.
    let (one, other) = tokio::join!(send(create(&a, "create-2")), send(create(&b, "create-2")));
    let mut statuses = [one.0, other.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{one:?} {other:?}");
    for replica in [&a, &b] {
        let mut answer = None;
        for _ in 0..50 {
            let sent = send(create(replica, "create-2")).await;
            if sent.0 != 409 {
                answer = Some(sent);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, headers, _) = answer.expect("the racing create finishes");
        assert_eq!(status, 201);
        assert_eq!(headers["idempotent-replayed"], "true");
    }
    assert_eq!(
        requests_to(&provider, "POST", "/opportunity/").await.len(),
        2
    );

    // An account changed through B is used changed by A at once: the new
    // key, and A fetches the custom fields again (its cache was dropped
    // because the account's revision changed).
    let fields_before = requests_to(&provider, "GET", "/custom_field/opportunity/")
        .await
        .len();
    let (status, _, _) = send(
        on(
            &b,
            reqwest::Method::PATCH,
            &format!("/integrated-accounts/{account}"),
        )
        .json(&json!({"credentials": {"api_key": NEW_CLOSE_KEY}})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(on(&a, reqwest::Method::GET, &get)).await;
    assert_eq!(status, 200);
    let fields = requests_to(&provider, "GET", "/custom_field/opportunity/").await;
    assert_eq!(
        fields.len(),
        fields_before + 1,
        "A fetched the custom fields again"
    );
    let new_basic = "Basic bmV3LWNsb3NlLWtleS1kby1ub3QtbG9nOg=="; // new-close-key-do-not-log:
    assert_eq!(fields.last().unwrap().headers["authorization"], new_basic);
    let reads = requests_to(&provider, "GET", CLOSE_PATH).await;
    assert_eq!(reads.last().unwrap().headers["authorization"], new_basic);

    // A token revoked beside both replicas is refused by both from the
    // very next request: nothing about tokens is cached.
    let (second, created) = run(
        &[
            "token",
            "create",
            "--tenant",
            "acme",
            "--database",
            &database,
        ],
        &[],
    );
    let second = second.trim().to_owned();
    let id = created
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    for replica in [&a, &b] {
        let response = http
            .get(format!("{}/integrated-accounts", replica.base))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let (revoked, _) = run(&["token", "revoke", &id, "--database", &database], &[]);
    assert!(revoked.contains("revoked"), "{revoked}");
    for replica in [&a, &b] {
        let response = http
            .get(format!("{}/integrated-accounts", replica.base))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{}", replica.base);
    }
    let (listed, _) = run(&["token", "list", "--database", &database], &[]);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows[0].ends_with("\t-") && !rows[1].ends_with("\t-"),
        "{listed}"
    );
    assert!(!listed.contains(&token) && !listed.contains(&second));

    // Keys rotated beside both (the shared key file): both still read.
    let (rotated, _) = run(
        &[
            "keys",
            "rotate",
            "--database",
            &database,
            "--key-file",
            &key_file,
        ],
        &[],
    );
    assert!(
        rotated.starts_with("1 credentials re-encrypted under key "),
        "{rotated}"
    );
    for replica in [&a, &b] {
        let (status, _, body) = send(on(replica, reqwest::Method::GET, &get)).await;
        assert_eq!(status, 200, "{body}");
    }

    // Neither log holds a token, a credential or the database password.
    for replica in [&a, &b] {
        let log = replica.log();
        assert!(log.contains("engine=postgres"), "{log}");
        for secret in [&token, &second, CLOSE_KEY, NEW_CLOSE_KEY, new_basic] {
            assert!(!log.contains(secret), "{log}");
        }
        if let Some(password) = &password {
            assert!(!log.contains(&format!(":{password}@")), "{log}");
        }
    }
    drop((a, b));
    drop(scratch);
}

/// Replicas must share their credentials keys, so with PostgreSQL none is
/// made up: without `UNIFIED_SECRET_KEY` or an existing `--key-file`,
/// `serve` stops before touching the database, saying what to do.
#[test]
fn serve_on_postgres_without_shared_keys_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.key");
    for extra in [vec![], vec!["--key-file", missing.to_str().unwrap()]] {
        let output = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                "postgres://app:s3cret@127.0.0.1:1/unified",
            ])
            .args(&extra)
            .env_remove("UNIFIED_SECRET_KEY")
            .env_remove("UNIFIED_DATABASE")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("UNIFIED_SECRET_KEY"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(!missing.exists(), "no key file is made up");
    }
}
