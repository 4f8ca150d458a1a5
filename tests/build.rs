//! Generates the fixture specs into `OUT_DIR`, so the generated clients are
//! compiled (and exercised over HTTP) by this crate's tests.

use std::path::{Path, PathBuf};

const FIXTURES: &[(&str, &str)] = &[
    ("types", "fixtures/specs/types.yaml"),
    ("petshop", "fixtures/specs/petshop.yaml"),
    ("no_operation_id", "fixtures/specs/no-operation-id.yaml"),
    ("external", "fixtures/specs/external/main.yaml"),
    ("percent_refs", "fixtures/specs/percent-refs/main.yaml"),
    ("odd_text", "fixtures/specs/odd-text.yaml"),
    ("unused_parts", "fixtures/specs/unused-parts.yaml"),
];

fn main() {
    println!("cargo::rerun-if-changed=fixtures/specs");
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("OUT_DIR is not set; run this through cargo");
        std::process::exit(1);
    };
    let mut modules = String::new();
    for (module, spec) in FIXTURES {
        let generated = match crm_generator::generate_file(Path::new(spec), spec) {
            Ok(generated) => generated,
            Err(diagnostics) => {
                for diagnostic in diagnostics {
                    eprintln!("{diagnostic}");
                }
                std::process::exit(1);
            }
        };
        let file = out_dir.join(format!("{module}.rs"));
        if let Err(error) = std::fs::write(&file, generated.code) {
            eprintln!("cannot write {}: {error}", file.display());
            std::process::exit(1);
        }
        modules.push_str(&crm_generator::project::included_module(module, &file));
    }
    if let Err(error) = std::fs::write(out_dir.join("fixtures.rs"), modules) {
        eprintln!("cannot write fixtures.rs: {error}");
        std::process::exit(1);
    }
}
