//! Specs that once broke the generator, one section per kind of trouble,
//! each with a fixture in `fixtures/specs/` that the build script
//! generates and compiles.

use integration_tests::{odd_text, percent_refs, unused_parts};
use serde_json::json;
use std::path::Path;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(spec: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(spec)
}

fn generate(spec: &str) -> crm_generator::Generated {
    crm_generator::generate_file(&fixture(spec), spec)
        .unwrap_or_else(|diagnostics| panic!("{spec} does not generate: {diagnostics:#?}"))
}

fn warnings(spec: &str) -> Vec<String> {
    generate(spec)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

// Percent-encoded pointers.

#[tokio::test]
async fn percent_encoded_references_are_followed() {
    // `copyItem` takes its path parameter from `#/paths/~1items~1%7Bid%7D`,
    // its body through `Item%20body` and a chain of aliases, and its
    // response from another path's response.
    let server = MockServer::start().await;
    let item = json!({"id": "i 1", "labels": ["a"], "tags": ["b"], "parent": {"id": "i0"}});
    Mock::given(method("POST"))
        .and(path("/items/i%201/copy"))
        .and(body_json(json!({"id": "i0"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(item.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let client = percent_refs::Client::new(server.uri());
    let body = percent_refs::ItemV2 {
        id: "i0".into(),
        labels: None,
        tags: None,
        parent: None,
    };
    let copied = client.copy_item("i 1", &body).await.expect("a copy");
    let copied: percent_refs::ItemV2 = copied.body;
    assert_eq!(copied.tags.as_deref(), Some(&["b".to_owned()][..]));
    assert_eq!(copied.parent.map(|parent| parent.id).as_deref(), Some("i0"));
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"id": "i0"}));
}

#[test]
fn schemas_of_other_files_are_hoisted_under_encoded_references() {
    // `_shapes.yaml#/schemas/Shape%20%C3%A9` is the schema `Shape é`,
    // hoisted into `components/schemas` and referenced from there.
    let shape: percent_refs::Shape = serde_json::from_value(json!({
        "sides": 3, "inner": {"sides": 4}, "corner": {"angle": 90.0}
    }))
    .expect("a shape");
    assert_eq!(shape.inner.and_then(|inner| inner.sides), Some(4));
    assert_eq!(shape.corner.and_then(|corner| corner.angle), Some(90.0));
    assert!(warnings("fixtures/specs/percent-refs/main.yaml").is_empty());
}

#[test]
fn a_cycle_through_encoded_references_is_a_cycle() {
    let errors = crm_generator::generate_file(
        &fixture("fixtures/bad/ref-cycle-encoded.yaml"),
        "ref-cycle-encoded.yaml",
    )
    .expect_err("a cycle fails");
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "error: ref-cycle-encoded.yaml#/components/schemas/A/$ref: `$ref` cycle: \
         #/components/schemas/B%20C -> #/components/schemas/A -> #/components/schemas/B%20C; \
         each reference leads to another and none to a definition"
    );
}

// Text a comment cannot hold.

#[test]
fn no_carriage_return_or_direction_change_reaches_a_comment() {
    let code = generate("fixtures/specs/odd-text.yaml").code;
    for refused in [
        '\r', '\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}', '\u{0}', '\u{7}',
    ] {
        assert!(!code.contains(refused), "{refused:?} in the generated code");
    }
    // The text itself is kept, line by line.
    assert!(code.contains("/// First line.\n/// Second line.\n/// Third line.\n"));
    assert!(
        code.contains("    /// Line one\n    /// line two\n    /// \tindented\n    ///  done\n")
    );
}

#[test]
fn odd_text_in_names_and_values_stays_on_the_wire() {
    let kinds: Vec<odd_text::Kind> =
        serde_json::from_value(json!(["two\r\nlines", "cr\ronly", "nul\u{0}", "other\r"]))
            .expect("kinds");
    assert_eq!(kinds[0], odd_text::Kind::TwoLines);
    assert_eq!(kinds[1], odd_text::Kind::CrOnly);
    assert_eq!(kinds[2], odd_text::Kind::Nul);
    assert_eq!(kinds[3], odd_text::Kind::Unknown("other\r".into()));
    let note: odd_text::Note =
        serde_json::from_value(json!({"id": "n", "body\r\ntext": "b"})).expect("a note");
    assert_eq!(note.body_text.as_deref(), Some("b"));
    let shape: odd_text::Shape =
        serde_json::from_value(json!({"kind\r\nname": "Square", "side": 2.0})).expect("a shape");
    assert!(matches!(shape, odd_text::Shape::Square(_)));
}

// Broken parts the client does not need.

#[test]
fn broken_parts_the_client_does_not_need_are_skipped_with_a_warning() {
    let warnings = warnings("fixtures/specs/unused-parts.yaml");
    let pointers: Vec<&str> = warnings
        .iter()
        .map(|warning| {
            let (_, rest) = warning.split_once('#').unwrap_or_default();
            rest.split_once(": ").unwrap_or_default().0
        })
        .collect();
    assert_eq!(
        pointers,
        [
            "/paths/~1subscriptions/post/callbacks/onEvent/{$request.body#~1url}/$ref",
            "/paths/~1subscriptions/post/callbacks/onOther",
            "/paths/~1subscriptions/post/callbacks/onThird/$ref",
            "/paths/~1subscriptions/post/requestBody/content/application~1json/examples",
            "/paths/~1subscriptions/post/responses/201/links/unsubscribe",
            "/paths/~1subscriptions/post/responses/201/content/application~1json/examples/created/$ref",
            "/paths/~1subscriptions~1{id}/parameters/0/examples",
            "/paths/~1subscriptions~1{id}/delete/responses/204/headers/X-Trace/examples/one/$ref",
            "/components/callbacks/Broken",
            "/components/links/Broken/$ref",
            "/components/examples/Broken",
            "/webhooks",
        ],
        "{warnings:#?}"
    );
    assert!(
        warnings[0].ends_with(
            "`#/components/pathItems/Missing` points at nothing; callbacks do not shape the \
             generated client, so these are skipped and the rest of the document is generated"
        ),
        "{warnings:#?}"
    );
}

#[tokio::test]
async fn the_client_of_a_spec_with_broken_unused_parts_works() {
    let server = MockServer::start().await;
    let created = json!({"id": "s1", "url": "https://example.com", "x-state": "active"});
    Mock::given(method("POST"))
        .and(path("/subscriptions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created.clone()))
        .expect(1)
        .mount(&server)
        .await;
    let client = unused_parts::Client::new(server.uri());
    let body = unused_parts::Subscription {
        id: "s0".into(),
        url: "https://example.com".into(),
        x_state: None,
    };
    let subscription = client.subscribe(&body).await.expect("subscribed").body;
    // A property named `x-...` is a property, not an extension.
    assert_eq!(subscription.x_state.as_deref(), Some("active"));
    assert_eq!(serde_json::to_value(&subscription).unwrap(), created);
}
