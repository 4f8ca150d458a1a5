//! OpenAPI documents in, typed Rust out: the library behind
//! `cargo xtask codegen`.
//!
//! The pipeline has one module per step, each testable alone:
//!
//! 1. [`load`]: YAML or JSON bytes to a `serde_json::Value`.
//! 2. [`resolve`]: external `$ref`s bundled in, local ones checked
//!    (dangling references and reference cycles are errors).
//! 3. [`parse`]: version check (Swagger 1.x and unknown versions get one
//!    clear line), then [`normalize`]: OpenAPI 3.1 and Swagger 2.0 rewritten
//!    as the 3.0 that `openapiv3` reads (type arrays, `const`, `$ref`
//!    siblings, definitions, body and form parameters...), numbers beyond
//!    64 bits tamed; then deserialization into `openapiv3` types, with the
//!    JSON pointer of any failure.
//! 4. [`validate`] then [`lower`]: the intermediate [`model`], with Rust
//!    names ([`names`]) and recursion boxed. No `syn` or `quote` here.
//! 5. [`emit`]: tokens with `quote`, text with `prettyplease`.
//!
//! [`project`] runs the pipeline over a directory of specs and owns the
//! output directory: it writes it whole through a temporary directory, or
//! not at all.
//!
//! The generator never panics on input: every problem becomes a
//! [`Diagnostic`] with the file, a JSON pointer and a sentence saying what
//! to do, and all of them are collected before it gives up.

pub mod connector;
pub mod diagnostic;
pub mod emit;
pub mod load;
pub mod lower;
pub mod model;
pub mod names;
pub mod normalize;
pub mod parse;
pub mod project;
pub mod reference;
pub mod resolve;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};

use diagnostic::Diagnostics;
use std::path::Path;

/// The Rust module generated from one spec, and the warnings on the way.
#[derive(Debug)]
pub struct Generated {
    pub code: String,
    pub warnings: Vec<Diagnostic>,
}

/// Generates the module for the spec file at `path`. `display` names the
/// file in diagnostics and in the generated header (a path relative to the
/// workspace, so output does not depend on where the checkout lives).
pub fn generate_file(path: &Path, display: &str) -> Result<Generated, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new(display);
    match load::load_file(path) {
        Ok(raw) => generate_value(raw, path, diags),
        Err(message) => {
            diags.error("", message);
            Err(diags.into_vec())
        }
    }
}

/// A spec lowered to the model, not yet emitted: how the project links
/// provider specs to the unified one before emitting them.
#[derive(Debug)]
pub struct Lowered {
    pub api: model::Api,
    pub source: String,
    pub warnings: Vec<Diagnostic>,
}

/// Lowers the spec file at `path` (see [`generate_file`]).
pub fn lower_file(path: &Path, display: &str) -> Result<Lowered, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new(display);
    let raw = match load::load_file(path) {
        Ok(raw) => raw,
        Err(message) => {
            diags.error("", message);
            return Err(diags.into_vec());
        }
    };
    let (api, diags) = model_of(raw, path, diags);
    match api {
        Some(api) if !diags.has_errors() => Ok(Lowered {
            api,
            source: diags.file().to_owned(),
            warnings: diags.into_vec(),
        }),
        _ => Err(diags.into_vec()),
    }
}

/// Emits a lowered spec; `unified` links a provider to the unified API.
pub fn emit_lowered(
    lowered: Lowered,
    unified: Option<&emit::UnifiedLink>,
    connector: Option<&connector::ConnectorSpec>,
) -> Result<Generated, Vec<Diagnostic>> {
    match emit::render(&lowered.api, &lowered.source, unified, connector) {
        Ok(code) => Ok(Generated {
            code,
            warnings: lowered.warnings,
        }),
        Err(message) => {
            let mut warnings = lowered.warnings;
            warnings.push(Diagnostic {
                severity: Severity::Error,
                file: lowered.source,
                pointer: String::new(),
                message,
            });
            Err(warnings)
        }
    }
}

/// Generates from spec text; relative `$ref`s are read next to `path`.
pub fn generate_text(text: &str, path: &Path, display: &str) -> Result<Generated, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new(display);
    match load::parse_text(text) {
        Ok(raw) => generate_value(raw, path, diags),
        Err(message) => {
            diags.error("", message);
            Err(diags.into_vec())
        }
    }
}

/// The model of a spec, for tests and tools that inspect it.
pub fn lower_text(text: &str, path: &Path, display: &str) -> Result<model::Api, Vec<Diagnostic>> {
    let mut diags = Diagnostics::new(display);
    let raw = load::parse_text(text).map_err(|message| {
        diags.error("", message);
        std::mem::take(&mut diags).into_vec()
    })?;
    let (api, diags) = model_of(raw, path, diags);
    match api {
        Some(api) if !diags.has_errors() => Ok(api),
        _ => Err(diags.into_vec()),
    }
}

fn model_of(
    mut raw: serde_json::Value,
    path: &Path,
    mut diags: Diagnostics,
) -> (Option<model::Api>, Diagnostics) {
    if !parse::check_version(&raw, &mut diags) {
        return (None, diags);
    }
    normalize::normalize(&mut raw, path, &mut diags);
    resolve::bundle(&mut raw, path, &mut diags);
    resolve::check_local_refs(&raw, &mut diags);
    if diags.has_errors() {
        return (None, diags);
    }
    let Some(doc) = parse::parse(&raw, &mut diags) else {
        return (None, diags);
    };
    validate::validate(&doc, &mut diags);
    if diags.has_errors() {
        return (None, diags);
    }
    let api = lower::lower(&doc, &raw, &mut diags);
    (Some(api), diags)
}

fn generate_value(
    raw: serde_json::Value,
    path: &Path,
    diags: Diagnostics,
) -> Result<Generated, Vec<Diagnostic>> {
    let (api, mut diags) = model_of(raw, path, diags);
    let Some(api) = api.filter(|_| !diags.has_errors()) else {
        return Err(diags.into_vec());
    };
    match emit::render(&api, diags.file(), None, None) {
        Ok(code) => Ok(Generated {
            code,
            warnings: diags.into_vec(),
        }),
        Err(message) => {
            diags.error("", message);
            Err(diags.into_vec())
        }
    }
}
