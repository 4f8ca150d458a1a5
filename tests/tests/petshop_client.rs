//! A generated client against a real HTTP server (wiremock): parameters,
//! bodies, credentials, several success types, typed errors.

use crm_runtime::{Error, Patch};
use integration_tests::petshop::{
    Client, CreatePetError, CreatePetResponse, ListPetsParams, NewPet, PetStatus, UpdatePetBody,
};
use serde_json::json;
use std::collections::BTreeMap;
use wiremock::matchers::{
    body_json, body_string, header, header_exists, method, path, query_param,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn pet(id: &str) -> serde_json::Value {
    json!({"id": id, "name": "Rex", "tag": null, "status": "available"})
}

#[tokio::test]
async fn query_styles_headers_and_bearer_token_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/pets"))
        .and(query_param("limit", "2"))
        .and(query_param("filter[color]", "brown"))
        .and(header("authorization", "Bearer s3cret"))
        .and(header("x-request-id", "req-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-total", "7")
                .set_body_json(json!({"items": [pet("p1"), {"id": "p2", "name": "Tom", "status": "adopted"}], "next": "c2"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let client = Client::new(server.uri()).with_bearer("s3cret");
    let params = ListPetsParams {
        limit: Some(2),
        tag: Some(vec!["a".into(), "b".into()]),
        filter: Some(BTreeMap::from([("color".to_owned(), "brown".to_owned())])),
        x_request_id: Some("req-1".into()),
    };
    let page = client.list_pets(&params).await.expect("a page");
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["x-total"], "7");
    assert_eq!(page.body.items.len(), 2);
    assert_eq!(page.body.items[0].status, Some(PetStatus::Available));
    // A status the spec does not list is kept, not an error.
    assert_eq!(
        page.body.items[1].status,
        Some(PetStatus::Unknown("adopted".into()))
    );
    assert_eq!(page.body.next.as_deref(), Some("c2"));

    let requests = server.received_requests().await.unwrap_or_default();
    let query = requests[0].url.query().unwrap_or_default().to_owned();
    // Arrays explode into repeated keys.
    assert!(query.contains("tag=a&tag=b"), "{query}");
}

#[tokio::test]
async fn several_success_types_and_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pets"))
        .and(header("idempotency-key", "k1"))
        .and(body_json(json!({"name": "Rex"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(pet("p1")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pets"))
        .and(header("idempotency-key", "k2"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"review_id": "r9"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/pets"))
        .and(header("idempotency-key", "k3"))
        .respond_with(
            ResponseTemplate::new(409)
                .insert_header("retry-after", "3")
                .set_body_json(json!({"existing_id": "p1"})),
        )
        .mount(&server)
        .await;
    let client = Client::new(server.uri()).with_bearer("t");
    let new_pet = NewPet {
        name: "Rex".into(),
        tag: None,
    };

    let created = client.create_pet("k1", &new_pet).await.expect("created");
    assert!(matches!(&created.body, CreatePetResponse::Created(pet) if pet.id == "p1"));
    let accepted = client.create_pet("k2", &new_pet).await.expect("accepted");
    assert_eq!(
        accepted.body,
        CreatePetResponse::Accepted(integration_tests::petshop::CreatePetResponseAccepted {
            review_id: "r9".into()
        })
    );

    let error = client
        .create_pet("k3", &new_pet)
        .await
        .expect_err("a conflict");
    assert_eq!(error.status(), Some(409));
    assert_eq!(
        error.headers().map(|h| h["retry-after"].clone()),
        Some("3".parse().unwrap())
    );
    let Error::Status(response) = error else {
        panic!("not a status error: {error:?}")
    };
    assert!(
        matches!(&response.body, Some(CreatePetError::Conflict(conflict)) if conflict.existing_id == "p1")
    );
    assert_eq!(response.raw_body, r#"{"existing_id":"p1"}"#);
}

#[tokio::test]
async fn undocumented_error_bodies_are_kept_raw() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/pets/p%2F1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "no pet", "code": 44})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pets/p2"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .mount(&server)
        .await;
    let client = Client::new(server.uri());

    // The id is one path segment: its `/` is encoded, not a new segment.
    let Error::Status(missing) = client.get_pet("p/1").await.expect_err("404") else {
        panic!("not a status error")
    };
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing
            .body
            .as_ref()
            .map(|problem| problem.message.as_str()),
        Some("no pet")
    );

    let Error::Status(gateway) = client.get_pet("p2").await.expect_err("502") else {
        panic!("not a status error")
    };
    assert_eq!(gateway.status, 502);
    assert!(gateway.body.is_none());
    assert_eq!(gateway.raw_body, "<html>bad gateway</html>");
    assert!(
        Error::Status(gateway)
            .to_string()
            .contains("502 Bad Gateway: <html>bad gateway</html>")
    );
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_a_decode_error_with_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/pets/p1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 5}"))
        .mount(&server)
        .await;
    let error = Client::new(server.uri())
        .get_pet("p1")
        .await
        .expect_err("decode error");
    let Error::Decode(decode) = error else {
        panic!("not a decode error")
    };
    assert_eq!(decode.status, 200);
    assert_eq!(decode.body, "{\"id\": 5}");
}

#[tokio::test]
async fn patch_sends_only_the_fields_set_and_null_to_clear() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/pets/p1"))
        .and(body_string(r#"{"tag":null}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(pet("p1")))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(server.uri());
    let clear_tag = UpdatePetBody {
        tag: Patch::Null,
        ..UpdatePetBody::default()
    };
    client.update_pet("p1", &clear_tag).await.expect("updated");
}

#[tokio::test]
async fn each_operation_sends_the_credentials_of_its_own_schemes() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/pets/p1"))
        .and(header("x-api-key", "k"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/pets/42/photo"))
        .and(header("content-type", "image/png"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_string("stored"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "up"})))
        .mount(&server)
        .await;
    let client = Client::new(server.uri())
        .with_bearer("b")
        .with_api_key("k")
        .with_basic("user", "pass");

    client.delete_pet("p1").await.expect("deleted");
    let stored = client
        .upload_photo(&42, vec![1, 2, 3])
        .await
        .expect("uploaded");
    assert_eq!(stored.body, "stored");
    client.health().await.expect("healthy");

    let requests: Vec<Request> = server.received_requests().await.unwrap_or_default();
    let authorization = |index: usize| {
        requests[index]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    // delete: apiKey only; upload: basic only; health: `security: []`.
    assert_eq!(authorization(0), None);
    assert_eq!(
        requests[0]
            .headers
            .get("x-api-key")
            .map(|v| v.as_bytes().to_vec()),
        Some(b"k".to_vec())
    );
    assert_eq!(authorization(1).as_deref(), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(requests[1].body, vec![1, 2, 3]);
    assert_eq!(authorization(2), None);
    assert!(requests[2].headers.get("x-api-key").is_none());
}

#[tokio::test]
async fn an_api_key_can_travel_in_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/pets/p1/owner"))
        .and(query_param("api_key", "q-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json("Ann"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(server.uri())
        .with_query_key("q-key")
        .with_bearer("not-sent");
    let owner = client.get_owner("p1").await.expect("owner");
    assert_eq!(owner.body, "Ann");
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn a_create_with_an_idempotency_key_is_retried_with_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"order_id": "o1"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let fast = crm_runtime::RetryPolicy {
        base_delay: std::time::Duration::from_millis(5),
        ..Default::default()
    };
    let client = Client::new(server.uri()).with_retry_policy(fast);
    let body = integration_tests::petshop::PlaceOrderBody {
        pet_id: "p1".into(),
    };
    let placed = client
        .place_order(&body)
        .await
        .expect("placed on the second attempt");
    assert_eq!(placed.body.order_id.as_deref(), Some("o1"));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2);
    let key = |index: usize| {
        requests[index]
            .headers
            .get("idempotency-key")
            .map(|v| v.as_bytes().to_vec())
    };
    assert!(key(0).is_some_and(|key| key.len() >= 16));
    assert_eq!(key(0), key(1), "one key for every attempt");
}

#[tokio::test]
async fn a_create_without_a_key_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/pets"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = Client::new(server.uri());
    let error = client
        .create_pet(
            "k",
            &NewPet {
                name: "Rex".into(),
                tag: None,
            },
        )
        .await
        .expect_err("503");
    assert_eq!(error.status(), Some(503));
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1
    );
}

#[tokio::test]
async fn a_connection_failure_is_a_transport_error() {
    // Nothing listens on port 9 of the loopback address.
    let error = Client::new("http://127.0.0.1:9")
        .health()
        .await
        .expect_err("no server");
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert_eq!(error.status(), None);
}

#[test]
fn the_default_base_url_fills_in_server_variables() {
    assert_eq!(Client::DEFAULT_BASE_URL, "https://eu.petshop.example/v1");
    assert_eq!(
        Client::new("http://localhost:1/").base_url(),
        "http://localhost:1"
    );
}
