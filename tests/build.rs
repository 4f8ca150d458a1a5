//! Generates the fixture specs into `OUT_DIR`, so the generated clients are
//! compiled (and exercised over HTTP) by this crate's tests.

use crm_generator::emit::UnifiedLink;
use std::path::{Path, PathBuf};

const FIXTURES: &[(&str, &str)] = &[
    ("types", "fixtures/specs/types.yaml"),
    ("petshop", "fixtures/specs/petshop.yaml"),
    ("no_operation_id", "fixtures/specs/no-operation-id.yaml"),
    ("external", "fixtures/specs/external/main.yaml"),
    ("percent_refs", "fixtures/specs/percent-refs/main.yaml"),
    ("odd_text", "fixtures/specs/odd-text.yaml"),
    ("unused_parts", "fixtures/specs/unused-parts.yaml"),
    ("prelude_unified", "fixtures/specs/prelude-unified.yaml"),
];

/// Provider fixtures linked to a unified fixture above, as `cargo xtask
/// codegen` links providers (so they get their `UnifiedMapping` trait):
/// module, spec, the unified fixture's module.
const LINKED: &[(&str, &str, &str)] = &[(
    "prelude_names",
    "fixtures/specs/prelude-names.yaml",
    "prelude_unified",
)];

fn main() {
    println!("cargo::rerun-if-changed=fixtures/specs");
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("OUT_DIR is not set; run this through cargo");
        std::process::exit(1);
    };
    let mut modules = String::new();
    for (module, spec) in FIXTURES {
        let generated = or_exit(crm_generator::generate_file(Path::new(spec), spec));
        modules.push_str(&write_module(&out_dir, module, &generated.code));
    }
    for (module, spec, unified_module) in LINKED {
        let Some((_, unified_spec)) = FIXTURES.iter().find(|(name, _)| name == unified_module)
        else {
            eprintln!("{module}: no fixture `{unified_module}` to link to");
            std::process::exit(1);
        };
        let unified = or_exit(crm_generator::lower_file(
            Path::new(unified_spec),
            unified_spec,
        ));
        let link = UnifiedLink {
            module: vec!["super".to_owned(), (*unified_module).to_owned()],
            operations: UnifiedLink::operations_of(&unified.api),
        };
        let lowered = or_exit(crm_generator::lower_file(Path::new(spec), spec));
        let generated = or_exit(crm_generator::emit_lowered(lowered, Some(&link), None));
        modules.push_str(&write_module(&out_dir, module, &generated.code));
    }
    if let Err(error) = std::fs::write(out_dir.join("fixtures.rs"), modules) {
        eprintln!("cannot write fixtures.rs: {error}");
        std::process::exit(1);
    }
}

fn or_exit<T>(result: Result<T, Vec<crm_generator::Diagnostic>>) -> T {
    match result {
        Ok(value) => value,
        Err(diagnostics) => {
            for diagnostic in diagnostics {
                eprintln!("{diagnostic}");
            }
            std::process::exit(1);
        }
    }
}

/// Writes one generated module; returns its declaration.
fn write_module(out_dir: &Path, module: &str, code: &str) -> String {
    let file = out_dir.join(format!("{module}.rs"));
    if let Err(error) = std::fs::write(&file, code) {
        eprintln!("cannot write {}: {error}", file.display());
        std::process::exit(1);
    }
    crm_generator::project::included_module(module, &file)
}
