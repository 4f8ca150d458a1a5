//! The generated text for each fixture spec, reviewed as a snapshot. The
//! same output is compiled by this crate's build script, so a snapshot that
//! shows code that does not compile cannot pass.

use std::path::Path;

fn generated(spec: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(spec);
    match crm_generator::generate_file(&path, spec) {
        Ok(generated) => generated.code,
        Err(diagnostics) => panic!("{spec} does not generate: {diagnostics:#?}"),
    }
}

#[test]
fn types() {
    insta::assert_snapshot!(generated("fixtures/specs/types.yaml"));
}

#[test]
fn petshop_client() {
    insta::assert_snapshot!(generated("fixtures/specs/petshop.yaml"));
}

#[test]
fn operations_without_ids() {
    insta::assert_snapshot!(generated("fixtures/specs/no-operation-id.yaml"));
}

#[test]
fn external_references() {
    insta::assert_snapshot!(generated("fixtures/specs/external/main.yaml"));
}

#[test]
fn percent_encoded_references() {
    insta::assert_snapshot!(generated("fixtures/specs/percent-refs/main.yaml"));
}

#[test]
fn odd_text() {
    insta::assert_snapshot!(generated("fixtures/specs/odd-text.yaml"));
}

#[test]
fn unused_parts() {
    insta::assert_snapshot!(generated("fixtures/specs/unused-parts.yaml"));
}

#[test]
fn output_is_byte_identical_from_run_to_run() {
    for spec in ["fixtures/specs/types.yaml", "fixtures/specs/petshop.yaml"] {
        assert_eq!(generated(spec), generated(spec), "{spec}");
    }
}
