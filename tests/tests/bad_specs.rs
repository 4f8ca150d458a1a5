//! Bad specs: each gives a diagnostic with the file, a JSON pointer and a
//! sentence, the run fails, and the output directory stays byte-for-byte
//! as it was.

use crm_generator::project::{self, CodegenError, Mode, Outcome};
use std::fs;
use std::path::{Path, PathBuf};

const OUT: &str = "generated/src/codegen";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A workspace with one good spec already generated, then `bad` added.
fn workspace_with(bad: &str, as_name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = dir.path().join("specs");
    fs::create_dir_all(&specs).expect("specs dir");
    fs::copy(fixture("specs/petshop.yaml"), specs.join("petshop.yaml")).expect("copy");
    let report =
        project::codegen(dir.path(), "specs", OUT, Mode::Write).expect("good spec generates");
    assert!(matches!(report.outcome, Outcome::Written { .. }));
    fs::copy(fixture(bad), specs.join(as_name)).expect("copy bad spec");
    dir
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.clone(), fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// Runs codegen over a workspace holding `bad`; returns the diagnostics,
/// after checking that nothing in the output changed.
fn diagnostics_for(bad: &str, as_name: &str) -> Vec<String> {
    let dir = workspace_with(bad, as_name);
    let out = dir.path().join(OUT);
    let before = snapshot(&out);
    let error =
        project::codegen(dir.path(), "specs", OUT, Mode::Write).expect_err("a bad spec fails");
    assert_eq!(snapshot(&out), before, "the output changed");
    let siblings: Vec<_> = fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        siblings,
        ["codegen"],
        "no temporary directory is left behind"
    );
    match error {
        CodegenError::Spec(diagnostics) => diagnostics.iter().map(ToString::to_string).collect(),
        CodegenError::Io(error) => panic!("expected diagnostics, got {error}"),
    }
}

#[test]
fn malformed_yaml_names_the_line() {
    let diagnostics = diagnostics_for("bad/malformed.yaml", "malformed.yaml");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(
        diagnostics[0].starts_with("error: specs/malformed.yaml#: this file is not valid YAML"),
        "{diagnostics:?}"
    );
    assert!(diagnostics[0].contains("line 4"), "{diagnostics:?}");
}

#[test]
fn a_dangling_ref_names_the_pointer_and_the_target() {
    let diagnostics = diagnostics_for("bad/dangling-ref.yaml", "dangling.yaml");
    assert_eq!(
        diagnostics,
        [
            "error: specs/dangling.yaml#/paths/~1opportunity~1/get/responses/200/content/application~1json/schema/$ref: \
          `$ref: #/components/schemas/Opportunity` points at `#/components/schemas/Opportunity`, which does not exist; define it or fix the reference"
        ]
    );
}

#[test]
fn a_ref_cycle_is_named() {
    let diagnostics = diagnostics_for("bad/ref-cycle.yaml", "cycle.yaml");
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert!(diagnostics[0].starts_with("error: specs/cycle.yaml#/components/schemas/A/$ref: `$ref` cycle: #/components/schemas/B -> #/components/schemas/A -> #/components/schemas/B"), "{diagnostics:?}");
}

#[test]
fn an_unsupported_swagger_version_gets_one_clear_line() {
    // Swagger 2.0 is converted (see tests/normalize.rs); 1.x is not.
    let diagnostics = diagnostics_for("bad/swagger12.json", "old.json");
    assert_eq!(
        diagnostics,
        [
            "error: specs/old.json#/swaggerVersion: this is a Swagger 1.2 document; the generator reads Swagger 2.0 and OpenAPI 3.0 and 3.1, so convert it first (for example with `api-spec-converter`)"
        ]
    );
}

#[test]
fn a_wrong_shape_names_the_spot() {
    let diagnostics = diagnostics_for("bad/not-openapi.yaml", "shape.yaml");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0],
        "error: specs/shape.yaml#/paths/~1x/get/parameters: this is not valid OpenAPI: expected a list, found a string"
    );
}

#[test]
fn problems_in_several_specs_are_all_reported() {
    let dir = workspace_with("bad/swagger12.json", "old.json");
    fs::copy(
        fixture("bad/dangling-ref.yaml"),
        dir.path().join("specs/dangling.yaml"),
    )
    .unwrap();
    let Err(CodegenError::Spec(diagnostics)) =
        project::codegen(dir.path(), "specs", OUT, Mode::Write)
    else {
        panic!("expected diagnostics")
    };
    let files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["specs/dangling.yaml", "specs/old.json"]);
}

#[test]
fn a_missing_operation_id_gets_a_stable_name_instead_of_an_error() {
    let spec = fixture("specs/no-operation-id.yaml");
    let api = crm_generator::lower_text(
        &fs::read_to_string(&spec).unwrap(),
        &spec,
        "no-operation-id.yaml",
    )
    .expect("generates");
    let names: Vec<(&str, &str)> = api
        .operations
        .iter()
        .map(|op| (op.operation_id.as_str(), op.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("get_users_by_id_repos", "get_users_by_id_repos"),
            ("users/create new", "users_create_new")
        ]
    );
}

/// A provider spec must declare every unified list filter and every lookup
/// it does not bind, each unsupported one with a reason: the served
/// document and the 400 a caller gets depend on it.
#[test]
fn undeclared_filters_and_lookups_are_named_with_their_pointer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = fs::read_to_string(root.join("specs/providers/close.yaml")).expect("close spec");
    let mut spec: serde_json::Value = serde_yaml::from_str(&text).expect("close spec is YAML");
    let list = spec
        .pointer_mut("/paths/~1opportunity~1/get/x-unified-filters")
        .and_then(serde_json::Value::as_object_mut)
        .expect("Close's list declares its filters");
    // Forget `sort_by=created_at`, wherever it was declared.
    if let Some(unsupported) = list.get_mut("unsupported").and_then(|v| v.as_object_mut()) {
        unsupported.remove("sort_by=created_at");
    }
    let supported = list
        .entry("supported")
        .or_insert_with(|| serde_json::json!([]));
    if let Some(supported) = supported.as_array_mut() {
        supported.retain(|name| name != "sort_by=created_at");
        supported.push("amount[gt]".into());
    }
    spec["x-unified-unsupported"] = serde_json::json!({
        "custom_fields.list": "bound all the same",
        "deals.list": "not a lookup",
        "users.list": "",
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let specs = dir.path().join("specs");
    fs::create_dir_all(specs.join("providers")).expect("specs dir");
    fs::create_dir_all(specs.join("unified")).expect("specs dir");
    fs::copy(
        root.join("specs/unified/crm.yaml"),
        specs.join("unified/crm.yaml"),
    )
    .expect("copy");
    fs::write(
        specs.join("providers/close.yaml"),
        serde_yaml::to_string(&spec).expect("YAML"),
    )
    .expect("write");
    let error = project::codegen(dir.path(), "specs", OUT, Mode::Write).expect_err("refused");
    let CodegenError::Spec(diagnostics) = error else {
        panic!("expected diagnostics");
    };
    let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    let has = |needle: &str| {
        assert!(
            text.iter().any(|line| line.contains(needle)),
            "no diagnostic has {needle:?}: {text:#?}"
        )
    };
    has("/paths/~1opportunity~1/get/x-unified-filters");
    has("declare `sort_by=created_at` once");
    has("`amount[gt]` is not a unified filter");
    has("/x-unified-unsupported/custom_fields.list");
    has("an operation binds this lookup");
    has("/x-unified-unsupported/deals.list");
    has("/x-unified-unsupported/users.list");
    has("give the reason");
}

/// The filters codegen makes every provider declare are the runtime's,
/// and each is a parameter of the unified list (`sort_by` by its values).
#[test]
fn the_generator_the_runtime_and_the_unified_spec_agree_on_the_filters() {
    assert_eq!(
        crm_generator::connector::FILTERS,
        crm_runtime::mapping::FILTERS
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = fs::read_to_string(root.join("specs/unified/crm.yaml")).expect("unified spec");
    let spec: serde_json::Value = serde_yaml::from_str(&text).expect("YAML");
    let parameters = spec["components"]["parameters"]
        .as_object()
        .expect("parameters");
    let mut declared = Vec::new();
    for parameter in parameters.values() {
        let name = parameter["name"].as_str().unwrap_or_default();
        if name == "sort_by" {
            for value in parameter["schema"]["enum"]
                .as_array()
                .expect("sort_by enum")
            {
                declared.push(format!("sort_by={}", value.as_str().unwrap_or_default()));
            }
        } else if crm_runtime::mapping::FILTERS.contains(&name) {
            declared.push(name.to_owned());
        }
    }
    declared.sort();
    let mut expected: Vec<String> = crm_runtime::mapping::FILTERS
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    expected.sort();
    assert_eq!(declared, expected);
}
