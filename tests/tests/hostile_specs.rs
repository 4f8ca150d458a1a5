//! Specs that once broke the generator, one section per kind of trouble,
//! each with a fixture in `fixtures/specs/` that the build script
//! generates and compiles.

use crm_runtime::mapping::{CustomFieldDefinition, ListQuery, MappingError, Stage};
use integration_tests::prelude_names as names;
use integration_tests::prelude_unified as unified;
use integration_tests::{odd_text, percent_refs, unused_parts};
use serde_json::{Value, json};
use std::path::Path;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
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

// Names that shadow what generated code uses: every schema and operation
// of `prelude-names.yaml` is named after a prelude item, a runtime type,
// or a crate generated code names by path.

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(wire: Value) -> T {
    let typed: T = serde_json::from_value(wire.clone()).expect("deserializes");
    assert_eq!(serde_json::to_value(&typed).expect("serializes"), wire);
    typed
}

#[test]
fn types_named_after_the_prelude_keep_their_names_and_round_trip() {
    let option: names::Option = round_trip(json!({
        "id": "o1",
        "some": "None",
        "next": {"id": "o2", "some": "not listed"},
        "list": [{"id": "o3"}],
        "result": {"kind": "Err", "value": "bad"},
        "box": {"id": "b1", "inner": {"id": "b2", "text": "t", "flag": true}},
        "map": {"known": "k", "extra": "e"},
        "default": {"a": "x", "b": 2},
        "none": {},
        "value": {"any": [1, true, null]},
        "when": {"at": "2024-01-02T03:04:05+02:00", "on": "2024-01-02", "uid": "67e55044-10b1-426f-9247-bb680e5fe0c8"},
    }));
    let id: names::String = option.id.clone();
    assert_eq!(id, "o1");
    assert_eq!(option.some, Some(names::Some::None));
    let next = option.next.as_deref().expect("next");
    assert_eq!(next.some, Some(names::Some::Unknown("not listed".into())));
    let list: &names::Vec = option.list.as_ref().expect("list");
    assert_eq!(list[0].id, "o3");
    assert!(
        matches!(&option.result, Some(names::Result::Err(err)) if err.value.as_deref() == Some("bad"))
    );
    let boxed: &names::Box = option.box_.as_ref().expect("box");
    assert_eq!(
        boxed.inner.as_ref().map(|inner| inner.id.as_str()),
        Some("b2")
    );
    let map: &names::Map = option.map.as_ref().expect("map");
    assert_eq!(map.additional_properties["extra"], "e");
    assert_eq!(
        option.default.as_ref().and_then(|default| default.b),
        Some(2)
    );
    let value: &names::Value = option.value.as_ref().expect("value");
    assert_eq!(value["any"], json!([1, true, null]));

    // Derived and generated impls on types named like the traits.
    assert_eq!(
        serde_json::to_value(names::Default::default()).unwrap(),
        json!({})
    );
    let from = names::From {
        id: "f".into(),
        text: None,
        flag: None,
    };
    assert_eq!(from.clone(), from);
    assert_eq!(names::Into::from("into-value"), names::Into::IntoValue);
    assert_eq!(names::S::from("s-value").to_string(), "s-value");
    assert_eq!(names::D::from(String::from("other")).as_str(), "other");
    let result: names::Result = round_trip(json!({"kind": "Ok", "value": "fine"}));
    assert!(matches!(result, names::Result::Ok(names::Ok { .. })));
    let either: names::Either = round_trip(json!([{"id": "in a list"}]));
    assert!(matches!(either, names::Either::Vec(_)));
    let patch: names::Patch = round_trip(json!({"id": "p", "note": null}));
    assert_eq!(patch.note, crm_runtime::Patch::Null);
    assert_eq!(patch.count, crm_runtime::Patch::Absent);
    // `Client`, `Self` and `self` are the only names taken.
    let _: names::Client2 = round_trip(json!({"id": "c"}));
    let _: names::Self_ = round_trip(json!({"id": "s"}));
    let _: names::Self2 = round_trip(json!({"id": "s"}));
    let _: names::UnifiedMapping2 = round_trip(json!({"id": "u"}));
}

#[tokio::test]
async fn operations_named_after_the_prelude_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/option/o%201"))
        .and(query_param("Some", "Some"))
        .and(query_param("None", "3"))
        .and(query_param("Vec", "a"))
        .and(query_param("self", "true"))
        .and(header("Result", "r"))
        .and(header("cookie", "Ok=c"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "o1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/result"))
        .and(body_json(json!({"kind": "Ok"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"kind": "Err"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/string"))
        .respond_with(ResponseTemplate::new(200).set_body_string("text"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/box"))
        .and(body_string("boxed"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/error"))
        .and(header("cookie", "error=k"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "e"})))
        .expect(1)
        .mount(&server)
        .await;

    let client = names::Client::new(server.uri()).with_error("k");
    let params = names::OptionParams {
        some: Some(names::Some::Some),
        vec: Some(vec!["a".into()]),
        result: Some("r".into()),
        ok: Some("c".into()),
        self_: Some(true),
    };
    let option = client.option("o 1", &3, &params).await.expect("an option");
    assert_eq!(option.body.id, "o1");
    let ok = names::Result::Ok(names::Ok {
        kind: "Ok".into(),
        value: None,
    });
    let created = client.result(&ok).await.expect("a result");
    assert!(matches!(
        created.body,
        names::ResultResponse::Created(names::Err { .. })
    ));
    assert_eq!(client.string().await.expect("text").body, "text");
    client.box_("boxed".into()).await.expect("boxed");
    assert_eq!(client.error().await.expect("an error record").body.id, "e");
}

/// Hand-written glue for the generated trait, as `generated/src/glue/`
/// writes for real providers.
struct Glue;

impl names::UnifiedMapping for Glue {
    type Context = ();

    fn opportunities_list(
        &self,
        query: &ListQuery,
        _: &(),
    ) -> Result<names::IteratorParams, MappingError> {
        Ok(names::IteratorParams {
            limit: query.limit.map(i64::from),
            cursor: match &query.position {
                Some(crm_runtime::paging::Position::Token(token)) => Some(token.clone()),
                _ => None,
            },
        })
    }

    fn stages_list(&self, response: &names::Value) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .keys()
            .map(|id| Stage {
                id: id.clone(),
                name: id.clone(),
                ..Stage::default()
            })
            .collect())
    }

    fn custom_fields_list(
        &self,
        response: &names::Vec,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .iter()
            .map(|option| CustomFieldDefinition {
                id: option.id.clone(),
                name: option.id.clone(),
                data_type: "text".into(),
                ..CustomFieldDefinition::default()
            })
            .collect())
    }

    fn opportunities_get(
        &self,
        record: &names::Option,
        _: &(),
    ) -> Result<unified::Option, MappingError> {
        Ok(unified::Option {
            id: record.id.clone(),
            amount: None,
            result: Some(unified::Result::Ok),
        })
    }

    fn opportunities_create(
        &self,
        body: &unified::Box,
        _: &(),
    ) -> Result<names::Box, MappingError> {
        Ok(names::Box {
            id: body.name.clone(),
            text: None,
            flag: None,
            inner: None,
        })
    }

    fn opportunities_update(
        &self,
        body: &unified::Patch,
        _: &(),
    ) -> Result<names::Patch, MappingError> {
        Ok(names::Patch {
            id: String::new(),
            note: body.name.clone(),
            count: crm_runtime::Patch::Absent,
        })
    }
}

#[test]
fn the_mapping_trait_of_a_provider_named_after_the_prelude_is_implementable() {
    use names::UnifiedMapping as _;
    let record = names::Option {
        id: "o1".into(),
        ..serde_json::from_value(json!({"id": ""})).expect("an option")
    };
    let unified = Glue
        .opportunities_get(&record, &())
        .expect("a unified record");
    assert_eq!(unified.id, "o1");
    let body = Glue
        .opportunities_create(&unified::Box { name: "n".into() }, &())
        .expect("a body");
    assert_eq!(body.id, "n");
}
