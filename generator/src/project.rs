//! A directory of specs to a directory of modules, and the rules of that
//! output directory: it belongs to the generator alone, it is replaced
//! whole or not at all, and nothing is written outside it.
//!
//! `specs/providers/close.yaml` becomes `providers/close.rs`, declared in
//! `providers/mod.rs`, declared in `mod.rs`. Files and directories whose
//! name starts with `_` are fragments that specs reference with `$ref`,
//! not specs.

use crate::connector::UnifiedFields;
use crate::diagnostic::{Diagnostic, Severity};
use crate::emit::registry::RegistryEntry;
use crate::emit::{
    CONNECTION_TYPE, CREDENTIALS_TYPE, GENERATED_MARKER, LIST_INPUT_TYPE, UnifiedLink, header,
};
use crate::names::snake_name;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Where this workspace keeps its specs, relative to the workspace root.
pub const WORKSPACE_SPECS: &str = "specs";
/// The generated crate's output directory, relative to the workspace root.
pub const WORKSPACE_OUTPUT: &str = "generated/src/codegen";

/// Lints the generated modules may trip over: their shape follows the
/// spec (many arguments, large variants, spec prose in docs).
const GENERATED_LINT_ALLOWS: &str = "#[allow(
    dead_code,
    clippy::doc_lazy_continuation,
    clippy::doc_overindented_list_items,
    clippy::empty_docs,
    clippy::enum_variant_names,
    clippy::large_enum_variant,
    clippy::module_inception,
    clippy::ptr_arg,
    clippy::result_large_err,
    clippy::tabs_in_doc_comments,
    clippy::too_many_arguments,
    clippy::type_complexity,
    clippy::upper_case_acronyms,
    rustdoc::all
)]";

/// The declaration of a generated module, with the lints it may trip.
pub fn module_declaration(name: &str) -> String {
    format!("{GENERATED_LINT_ALLOWS}\npub mod {name};\n")
}

/// An inline module around a generated file (`include!`), with the same
/// lints allowed: how build scripts compile fixture specs.
pub fn included_module(name: &str, file: &Path) -> String {
    format!(
        "{GENERATED_LINT_ALLOWS}\npub mod {name} {{\n    include!({:?});\n}}\n",
        file.display().to_string()
    )
}

/// What `codegen` is asked to do with the output directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    /// Write nothing; report the files that differ.
    Check,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    UpToDate { files: usize },
    Written { files: usize, changed: usize },
    Stale(Vec<StaleFile>),
}

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("{} problem(s) in the specs", .0.len())]
    Spec(Vec<Diagnostic>),
    #[error("{0}")]
    Io(#[from] io::Error),
}

#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub warnings: Vec<Diagnostic>,
}

/// `cargo xtask codegen`: generates every spec under `root/specs_dir` and
/// writes (or checks) `root/out_dir`. On any error the output directory is
/// left exactly as it was.
pub fn codegen(
    root: &Path,
    specs_dir: &str,
    out_dir: &str,
    mode: Mode,
) -> Result<Report, CodegenError> {
    let plan = plan(root, specs_dir).map_err(CodegenError::Spec)?;
    let out = root.join(out_dir);
    let files = plan.files.len();
    let outcome = match mode {
        Mode::Check => {
            let stale = stale_files(&out, &plan.files)?;
            if stale.is_empty() {
                Outcome::UpToDate { files }
            } else {
                Outcome::Stale(stale)
            }
        }
        Mode::Write => match write_output(&out, &plan.files)? {
            WriteOutcome::Unchanged => Outcome::UpToDate { files },
            WriteOutcome::Written { changed } => Outcome::Written { files, changed },
        },
    };
    Ok(Report {
        outcome,
        warnings: plan.warnings,
    })
}

/// A file to write, relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

#[derive(Debug)]
pub struct Plan {
    pub files: Vec<OutputFile>,
    pub warnings: Vec<Diagnostic>,
}

/// Generates every spec under `root/specs_dir`. Every spec is tried, so
/// all problems are reported at once.
pub fn plan(root: &Path, specs_dir: &str) -> Result<Plan, Vec<Diagnostic>> {
    let mut specs = Vec::new();
    let specs_root = root.join(specs_dir);
    let mut errors = Vec::new();
    if let Err(error) = find_specs(&specs_root, &mut specs) {
        errors.push(project_error(
            specs_dir,
            format!("cannot read the specs directory: {error}"),
        ));
        return Err(errors);
    }
    specs.sort();
    let mut warnings = Vec::new();
    // First every spec to its model, so providers can be linked to the
    // unified API before anything is emitted.
    let mut lowered: BTreeMap<Vec<String>, crate::Lowered> = BTreeMap::new();
    let mut displays: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for spec in specs {
        let relative = spec.strip_prefix(root).unwrap_or(&spec);
        let display = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let module_path = module_path(spec.strip_prefix(&specs_root).unwrap_or(&spec));
        if let Some(other) = displays.get(&module_path) {
            errors.push(project_error(
                &display,
                format!(
                    "this spec and {other} would both generate module `{}`; rename one",
                    module_path.join("::")
                ),
            ));
            continue;
        }
        displays.insert(module_path.clone(), display.clone());
        match crate::lower_file(&spec, &display) {
            Ok(spec) => {
                lowered.insert(module_path, spec);
            }
            Err(diagnostics) => split(diagnostics, &mut errors, &mut warnings),
        }
    }
    let unified = lowered
        .iter()
        .find(|(_, spec)| spec.api.extensions.contains_key(UNIFIED_MARKER))
        .map(|(path, spec)| {
            (
                path.clone(),
                UnifiedLink::operations_of(&spec.api),
                unified_fields(&spec.api),
            )
        });
    // Module path (as snake_case segments) to (spec, generated code).
    let mut modules: BTreeMap<Vec<String>, (String, String)> = BTreeMap::new();
    let mut registry: Vec<RegistryEntry> = Vec::new();
    for (module_path, spec) in lowered {
        let link = match &unified {
            Some((unified_path, operations, _)) if *unified_path != module_path => {
                Some(UnifiedLink {
                    module: std::iter::repeat_n("super".to_owned(), module_path.len())
                        .chain(unified_path.iter().cloned())
                        .collect(),
                    operations: operations.clone(),
                })
            }
            _ => None,
        };
        let display = spec.source.clone();
        let mut diags = crate::diagnostic::Diagnostics::new(&display);
        let connector = match (&link, &unified) {
            (Some(_), Some((_, _, fields))) => {
                crate::connector::read(&spec.api, fields, &mut diags)
            }
            _ => None,
        };
        if let Some(connector) = &connector {
            for name in [CREDENTIALS_TYPE, CONNECTION_TYPE, LIST_INPUT_TYPE] {
                if spec.api.types.iter().any(|def| def.name == name) {
                    diags.error(
                        "/components/schemas",
                        format!("a provider spec cannot have a schema that becomes `{name}`: the connector code uses that name; rename the schema"),
                    );
                }
            }
            if registry.iter().any(|entry| entry.key == connector.key) {
                diags.error(
                    "/info/x-provider",
                    format!("another spec already is provider `{}`", connector.key),
                );
            }
            registry.push(RegistryEntry {
                key: connector.key.clone(),
                module: module_path.clone(),
            });
        }
        let problems = diags.into_vec();
        let failed = problems
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error);
        split(problems, &mut errors, &mut warnings);
        if failed {
            continue;
        }
        match crate::emit_lowered(spec, link.as_ref(), connector.as_ref()) {
            Ok(generated) => {
                warnings.extend(generated.warnings);
                modules.insert(module_path, (display, generated.code));
            }
            Err(diagnostics) => split(diagnostics, &mut errors, &mut warnings),
        }
    }
    let features: BTreeMap<Vec<String>, String> = registry
        .iter()
        .map(|entry| (entry.module.clone(), entry.key.clone()))
        .collect();
    if !registry.is_empty() {
        for (name, tokens) in [
            ("registry", crate::emit::registry::registry(&registry)),
            ("glue", crate::emit::registry::glue_modules(&registry)),
        ] {
            let source = format!("the provider specs in {specs_dir}/");
            match crate::emit::format_file(tokens, &source) {
                Ok(code) => {
                    modules.insert(vec![name.to_owned()], (source, code));
                }
                Err(message) => errors.push(project_error(specs_dir, message)),
            }
        }
    }
    if let Some(clash) = module_clash(&modules) {
        errors.push(project_error(specs_dir, clash));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        files: layout(&modules, &features, specs_dir),
        warnings,
    })
}

/// The `info` extension that marks the unified API among the specs: its
/// `x-unified-operation`s are what provider operations bind to.
pub const UNIFIED_MARKER: &str = "x-unified-api";

/// The wire names of the unified opportunity schemas' fields.
fn unified_fields(api: &crate::model::Api) -> UnifiedFields {
    let names = |binding: &str, body: bool| -> Vec<String> {
        let operation = api
            .operations
            .iter()
            .find(|operation| crate::emit::binding(operation) == Some(binding));
        let ty = operation.and_then(|operation| {
            if body {
                operation.body.as_ref().map(|body| body.ty.clone())
            } else {
                crate::emit::success_type(operation)
            }
        });
        let Some(crate::model::Type::Named(name)) = ty else {
            return Vec::new();
        };
        api.types
            .iter()
            .find(|def| def.name == name)
            .and_then(|def| match &def.kind {
                crate::model::TypeKind::Struct(body) => Some(
                    body.fields
                        .iter()
                        .map(|field| field.wire_name.clone())
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    };
    UnifiedFields {
        read: names("opportunities.get", false),
        create: names("opportunities.create", true),
        update: names("opportunities.update", true),
    }
}

fn split(
    diagnostics: Vec<Diagnostic>,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    for diagnostic in diagnostics {
        match diagnostic.severity {
            Severity::Error => errors.push(diagnostic),
            Severity::Warning => warnings.push(diagnostic),
        }
    }
}

fn project_error(file: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_owned(),
        pointer: String::new(),
        message,
    }
}

fn find_specs(dir: &Path, specs: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            find_specs(&path, specs)?;
        } else if [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            specs.push(path);
        }
    }
    Ok(())
}

/// `providers/close.yaml` is `["providers", "close"]`. Every segment goes
/// through `snake_name`, so no spec name can put a file outside the
/// output directory.
fn module_path(relative: &Path) -> Vec<String> {
    let mut segments: Vec<String> = relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if let Some(last) = segments.last_mut() {
        if let Some((stem, _)) = last.rsplit_once('.') {
            *last = stem.to_owned();
        }
    }
    segments.iter().map(|segment| snake_name(segment)).collect()
}

/// A module that is also a directory of modules (`close.yaml` beside
/// `close/`) has two sources.
fn module_clash(modules: &BTreeMap<Vec<String>, (String, String)>) -> Option<String> {
    for (path, (display, _)) in modules {
        for (other, (other_display, _)) in modules {
            if other.len() > path.len() && other.starts_with(path) {
                return Some(format!(
                    "{display} and {other_display} both define module `{}`; rename one",
                    path.join("::")
                ));
            }
        }
    }
    None
}

/// The files of the output: each module, and a `mod.rs` per directory
/// declaring its children (a provider's module behind its feature).
fn layout(
    modules: &BTreeMap<Vec<String>, (String, String)>,
    features: &BTreeMap<Vec<String>, String>,
    specs_dir: &str,
) -> Vec<OutputFile> {
    let mut files = Vec::new();
    // Directory (module path) to its children: (name, is_leaf).
    let mut children: BTreeMap<Vec<String>, BTreeMap<String, bool>> = BTreeMap::new();
    children.entry(Vec::new()).or_default();
    for (path, (_, code)) in modules {
        let mut file = PathBuf::new();
        for segment in path {
            file.push(segment);
        }
        file.set_extension("rs");
        files.push(OutputFile {
            path: file,
            contents: code.clone(),
        });
        for depth in 0..path.len() {
            let parent = path[..depth].to_vec();
            let is_leaf = depth + 1 == path.len();
            children
                .entry(parent)
                .or_default()
                .insert(path[depth].clone(), is_leaf);
        }
    }
    for (dir, entries) in children {
        let mut contents = header(&format!("the specs in {specs_dir}/"));
        for (name, is_leaf) in entries {
            let mut path = dir.clone();
            path.push(name.clone());
            if let Some(feature) = features.get(&path) {
                contents.push_str(&format!("#[cfg(feature = {feature:?})]\n"));
            }
            if is_leaf {
                contents.push_str(&module_declaration(&name));
            } else {
                contents.push_str(&format!("pub mod {name};\n"));
            }
        }
        let mut file = PathBuf::new();
        for segment in &dir {
            file.push(segment);
        }
        file.push("mod.rs");
        files.push(OutputFile {
            path: file,
            contents,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// How a checked-in file differs from what the specs produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staleness {
    Changed,
    Missing,
    /// Generated before, no longer produced.
    Extra,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleFile {
    pub path: PathBuf,
    pub staleness: Staleness,
}

/// The files of `out_dir` that differ from `files`.
pub fn stale_files(out_dir: &Path, files: &[OutputFile]) -> io::Result<Vec<StaleFile>> {
    let mut stale = Vec::new();
    let existing = existing_files(out_dir)?;
    for file in files {
        let path = out_dir.join(&file.path);
        match fs::read_to_string(&path) {
            Ok(contents) if contents == file.contents => {}
            Ok(_) => stale.push(StaleFile {
                path,
                staleness: Staleness::Changed,
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => stale.push(StaleFile {
                path,
                staleness: Staleness::Missing,
            }),
            Err(error) => return Err(error),
        }
    }
    for path in existing {
        if !files.iter().any(|file| out_dir.join(&file.path) == path) {
            stale.push(StaleFile {
                path,
                staleness: Staleness::Extra,
            });
        }
    }
    Ok(stale)
}

fn existing_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    Ok(found)
}

#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Unchanged,
    Written { changed: usize },
}

/// Replaces `out_dir` with exactly `files`: written to a temporary
/// directory beside it, then swapped in, so a failure leaves the old
/// output as it was. Refuses to run over a file it did not generate.
pub fn write_output(out_dir: &Path, files: &[OutputFile]) -> io::Result<WriteOutcome> {
    for file in files {
        let escapes = file
            .path
            .components()
            .any(|component| !matches!(component, Component::Normal(_)));
        if escapes || file.path.as_os_str().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "refusing to write {}: outside the output directory",
                    file.path.display()
                ),
            ));
        }
    }
    let stale = stale_files(out_dir, files)?;
    if stale.is_empty() {
        return Ok(WriteOutcome::Unchanged);
    }
    for path in existing_files(out_dir)? {
        let contents = fs::read(&path)?;
        if !contents.starts_with(GENERATED_MARKER.as_bytes()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} was not generated (it lacks the `{GENERATED_MARKER}` header); move hand-written code out of the output directory",
                    path.display()
                ),
            ));
        }
    }
    let parent = out_dir.parent().unwrap_or(Path::new("."));
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "codegen".into());
    let staging = parent.join(format!(".{name}.new"));
    let retired = parent.join(format!(".{name}.old"));
    for leftover in [&staging, &retired] {
        if leftover.exists() {
            fs::remove_dir_all(leftover)?;
        }
    }
    let written = write_all(&staging, files);
    if let Err(error) = written {
        // Best effort: the old output is untouched either way.
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    if out_dir.exists() {
        fs::rename(out_dir, &retired)?;
    }
    if let Err(error) = fs::rename(&staging, out_dir) {
        // Put the old output back before reporting.
        let _ = fs::rename(&retired, out_dir);
        return Err(error);
    }
    if retired.exists() {
        fs::remove_dir_all(&retired)?;
    }
    Ok(WriteOutcome::Written {
        changed: stale.len(),
    })
}

fn write_all(dir: &Path, files: &[OutputFile]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &file.contents)?;
    }
    Ok(())
}
