//! OpenAPI 3.1 and Swagger 2.0 documents, normalised into the 3.0 the
//! pipeline reads: each fixture in `fixtures/normalize/` is lowered, and the
//! model (with the warnings on the way) is reviewed as a snapshot.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/normalize")
        .join(name)
}

/// The warnings, then the lowered model.
fn lowered(name: &str) -> String {
    let path = fixture(name);
    let display = format!("fixtures/normalize/{name}");
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    let generated = crm_generator::generate_text(&text, &path, &display)
        .unwrap_or_else(|diagnostics| panic!("{name} does not generate: {diagnostics:#?}"));
    let api = crm_generator::lower_text(&text, &path, &display)
        .unwrap_or_else(|diagnostics| panic!("{name} does not lower: {diagnostics:#?}"));
    let mut out = String::from("warnings:\n");
    for warning in &generated.warnings {
        let _ = writeln!(out, "  {warning}");
    }
    let _ = write!(out, "\n{api:#?}");
    out
}

#[test]
fn openapi31_types() {
    insta::assert_snapshot!(lowered("openapi31-types.yaml"));
}

#[test]
fn openapi31_references() {
    insta::assert_snapshot!(lowered("openapi31-references.yaml"));
}

#[test]
fn openapi31_document() {
    insta::assert_snapshot!(lowered("openapi31-document.yaml"));
}

#[test]
fn openapi31_webhooks_only() {
    insta::assert_snapshot!(lowered("openapi31-webhooks-only.yaml"));
}

#[test]
fn swagger20() {
    insta::assert_snapshot!(lowered("swagger20.yaml"));
}

#[test]
fn large_numbers() {
    insta::assert_snapshot!(lowered("large-numbers.yaml"));
}

#[test]
fn normalised_output_is_byte_identical_from_run_to_run() {
    for name in ["openapi31-types.yaml", "swagger20.yaml"] {
        assert_eq!(lowered(name), lowered(name), "{name}");
    }
}

#[test]
fn other_versions_get_one_clear_line() {
    let path = fixture("unsupported.yaml");
    let cases = [
        (
            "swagger: '1.2'\ninfo: {title: t, version: '1'}\npaths: {}\n",
            "error: old.yaml#/swagger: Swagger version \"1.2\" is not supported; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1",
        ),
        (
            "openapi: 2.5.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
            "error: old.yaml#/openapi: OpenAPI version \"2.5.0\" is not supported; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1",
        ),
    ];
    for (text, expected) in cases {
        let diagnostics = crm_generator::generate_text(text, &path, "old.yaml")
            .expect_err("the version is refused");
        let diagnostics: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(diagnostics, [expected]);
    }
}

/// The examples of the OpenAPI repository in `../shared/openapi-corpus`,
/// when it is there (it is beside the project, not in it).
#[test]
fn corpus_examples_of_2_0_and_3_1_generate() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/openapi-corpus");
    if !corpus.is_dir() {
        println!(
            "note: {} does not exist; the corpus examples are skipped",
            corpus.display()
        );
        return;
    }
    let cases: [(&str, &[&str]); 2] = [
        (
            "oai-v2.0-petstore.json",
            &["list_pets", "create_pets", "show_pet_by_id"],
        ),
        ("oai-v3.1-webhook-example.yaml", &[]),
    ];
    for (name, operations) in cases {
        let path = corpus.join(name);
        let text = std::fs::read_to_string(&path).expect("corpus document is readable");
        let generated = crm_generator::generate_text(&text, &path, name)
            .unwrap_or_else(|diagnostics| panic!("{name} does not generate: {diagnostics:#?}"));
        assert!(generated.code.contains("pub struct Client"), "{name}");
        let api = crm_generator::lower_text(&text, &path, name).expect("lowers");
        let names: Vec<&str> = api.operations.iter().map(|op| op.name.as_str()).collect();
        assert_eq!(names, operations, "{name}");
        assert!(
            api.types.iter().any(|ty| ty.name == "Pet"),
            "{name}: {:?}",
            api.types
        );
    }
}
