//! The real `server` binary: `token create`, `serve` on a fresh database
//! (created, migrated, key file 0600), `token list`, `token revoke` and
//! `keys rotate` beside the running server, and a SIGTERM that lets the
//! request in flight finish.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_server");

/// Runs the binary to completion; answers stdout, or panics with stderr.
fn run(args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("UNIFIED_SECRET_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn token_create_serve_and_graceful_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("unified.sqlite");
    let database = database.to_str().unwrap();

    let output = Command::new(BIN)
        .args([
            "token",
            "create",
            "--tenant",
            "acme",
            "--database",
            database,
        ])
        .env_remove("UNIFIED_SECRET_KEY")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.trim().to_owned();
    assert_eq!(stdout.lines().count(), 1);
    assert!(token.starts_with("ucrm_") && token.len() > 40, "{token}");
    // Only the hash is stored.
    let stored = std::fs::read(dir.path().join("unified.sqlite")).unwrap();
    assert!(
        !stored
            .windows(token.len())
            .any(|window| window == token.as_bytes())
    );

    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
            "--allow-host",
            "127.0.0.1",
        ])
        .env_remove("UNIFIED_SECRET_KEY")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs its address");
        log.push(line.clone());
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let base = format!("http://{address}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join("unified.sqlite.key");
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A provider, slow on `oppo_2`, so a request is in flight when SIGTERM
    // arrives.
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom_field/opportunity/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            include_str!("../../tests/fixtures/responses/close/custom_fields.json"),
            "application/json",
        ))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/status/opportunity/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            include_str!("../../tests/fixtures/responses/close/statuses.json"),
            "application/json",
        ))
        .mount(&provider)
        .await;
    for (at, delay) in [("/opportunity/oppo_1/", 0), ("/opportunity/oppo_2/", 1500)] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(
                        include_str!("../../tests/fixtures/responses/close/opportunity.json"),
                        "application/json",
                    )
                    .set_delay(Duration::from_millis(delay)),
            )
            .mount(&provider)
            .await;
    }
    let created: Value = http
        .post(format!("{base}/integrated-accounts"))
        .bearer_auth(&token)
        .json(&json!({"provider": "close", "credentials": {"api_key": "sekrit-key"}, "base_url": provider.uri()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = created["id"].as_str().unwrap().to_owned();
    let get_url =
        format!("{base}/unified/crm/opportunities/oppo_1?integrated_account_id={account}");

    // A second token, listed without the token itself, then revoked while
    // the server runs: refused from the next request on.
    let second = run(&[
        "token",
        "create",
        "--tenant",
        "acme",
        "--database",
        database,
    ]);
    let second = second.trim().to_owned();
    assert_eq!(
        http.get(format!("{base}/integrated-accounts"))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let listed = run(&["token", "list", "--tenant", "acme", "--database", database]);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(rows[1].starts_with("2\tacme\t"), "{listed}");
    assert!(rows[1].ends_with("\t-"), "{listed}");
    assert!(!listed.contains(&token) && !listed.contains(&second));
    let revoked = run(&["token", "revoke", "2", "--database", database]);
    assert!(revoked.contains("revoked"), "{revoked}");
    assert_eq!(
        http.get(format!("{base}/integrated-accounts"))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let listed = run(&["token", "list", "--database", database]);
    assert!(!listed.lines().nth(2).unwrap().ends_with("\t-"), "{listed}");

    // Keys rotated beside the running server: the account still reads.
    let key_file = dir.path().join("unified.sqlite.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let rotated = run(&["keys", "rotate", "--database", database]);
    assert!(
        rotated.starts_with("1 credentials re-encrypted under key "),
        "{rotated}"
    );
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key.trim(), new_key.trim());
    assert_eq!(new_key.trim().lines().count(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let response = http.get(&get_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let in_flight = tokio::spawn({
        let http = http.clone();
        let url = get_url.replace("oppo_1", "oppo_2");
        let token = token.clone();
        async move { http.get(url).bearer_auth(token).send().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the request in flight finishes");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["id"],
        json!("oppo_400xZHjapsTRTVMoOeZAutuqfjwG9ouEKtfyS5BzaYU")
    );

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(200)) {
        log.push(line);
    }
    let log = log.join("\n");
    assert!(log.contains("shutting down"), "{log}");
    // Neither the token nor the credentials reach the log, even at debug.
    assert!(!log.contains(&token), "{log}");
    assert!(!log.contains("sekrit-key"), "{log}");
    assert!(!log.contains("c2Vrcml0LWtleTo"), "{log}");
}
