//! The connector design's promise: when a provider's spec changes, the
//! compiler points at the glue that must follow. Each case copies what the
//! generated crate needs (the runtime, the generated crate, the specs) into
//! a scratch workspace, changes one spec, regenerates with the library, and
//! `cargo check`s the generated crate with that provider alone. The check
//! must fail, and its error must name the glue file and what changed.
//!
//! Slow (a `cargo check` of the generated crate per case; dependencies are
//! built once into `target/spec-change-checks`), so all cases share one
//! test and one scratch target directory.

use crm_generator::project::{Mode, WORKSPACE_OUTPUT, WORKSPACE_SPECS, codegen};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "tests" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A scratch workspace of runtime + generated crate + specs.
fn scratch() -> tempfile::TempDir {
    let root = workspace();
    let dir = tempfile::tempdir().unwrap();
    for part in ["runtime", "generated", "specs"] {
        copy_dir(&root.join(part), &dir.path().join(part));
    }
    fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest = manifest
        .lines()
        .map(|line| {
            if line.starts_with("members") || line.starts_with("default-members") {
                line.split('=').next().unwrap_or_default().to_owned()
                    + "= [\"generated\", \"runtime\"]"
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    dir
}

/// Edits `specs/providers/<file>` in the scratch workspace, regenerates,
/// and returns the errors of `cargo check` with `feature` alone.
fn check_after(
    dir: &Path,
    file: &str,
    edit: impl FnOnce(String) -> String,
    feature: &str,
) -> String {
    let spec = dir.join(WORKSPACE_SPECS).join("providers").join(file);
    let text = fs::read_to_string(&spec).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit must change {file}");
    fs::write(&spec, edited).unwrap();
    codegen(dir, WORKSPACE_SPECS, WORKSPACE_OUTPUT, Mode::Write)
        .unwrap_or_else(|error| panic!("the changed spec must still generate: {error:?}"));
    let output = Command::new(env!("CARGO"))
        .args([
            "check",
            "--quiet",
            "--offline",
            "-p",
            "unified-crm",
            "--no-default-features",
            "--features",
            feature,
            "--message-format",
            "short",
        ])
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/spec-change-checks"),
        )
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the glue must stop compiling after the change to {file}"
    );
    fs::write(&spec, text).unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn spec_changes_stop_the_glue_that_must_follow() {
    let dir = scratch();

    // A field becomes required in a provider body: the one line of glue
    // that builds that body stops compiling.
    let errors = check_after(
        dir.path(),
        "close.yaml",
        |spec| {
            spec.replacen(
                "      required:\n        - lead_id\n      properties:\n        lead_id:",
                "      required:\n        - lead_id\n        - pipeline_id\n      properties:\n        lead_id:",
                1,
            )
        },
        "close",
    );
    assert!(
        errors.contains("glue/close.rs") && errors.contains("mismatched types"),
        "{errors}"
    );

    // A provider field changes type: the conversion that reads it stops
    // compiling.
    let errors = check_after(
        dir.path(),
        "copper.yaml",
        |spec| {
            // The record's field (the first in the spec): read into `amount`.
            spec.replacen(
                "        monetary_value:\n          type: number",
                "        monetary_value:\n          type: string",
                1,
            )
        },
        "copper",
    );
    assert!(
        errors.contains("glue/copper.rs")
            && errors.contains("expected `Option<f64>`, found `Option<String>`"),
        "{errors}"
    );

    // A new binding: Planhat's users endpoint bound as its stage list
    // (and users declared unsupported instead). The glue lacks the
    // conversion the new binding requires, and the error names it.
    let errors = check_after(
        dir.path(),
        "planhat.yaml",
        |spec| {
            spec.replacen(
                "x-unified-operation: users.list",
                "x-unified-operation: stages.list",
                1,
            )
            .replacen(
                "x-unified-unsupported:\n  stages.list:",
                "x-unified-unsupported:\n  users.list:",
                1,
            )
        },
        "planhat",
    );
    assert!(
        errors.contains("glue/planhat.rs") && errors.contains("stages_list"),
        "{errors}"
    );
}
