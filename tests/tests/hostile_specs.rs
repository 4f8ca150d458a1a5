//! Specs that once broke the generator, one section per kind of trouble,
//! each with a fixture in `fixtures/specs/` that the build script
//! generates and compiles.

use integration_tests::odd_text;
use serde_json::json;
use std::path::Path;

fn fixture(spec: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(spec)
}

fn generate(spec: &str) -> crm_generator::Generated {
    crm_generator::generate_file(&fixture(spec), spec)
        .unwrap_or_else(|diagnostics| panic!("{spec} does not generate: {diagnostics:#?}"))
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
