//! `cargo xtask corpus DIR... [--jobs N] [--filter TEXT]`: the generator
//! against real-world documents.
//!
//! Every OpenAPI (or Swagger 2.0) document in the directories (not searched
//! recursively) or named as files is generated into a scratch crate under
//! the system temp directory, and each crate is `cargo check`ed. The crates
//! are members of one scratch workspace and share one target directory
//! (`<temp>/crm-corpus/target`, kept between runs), so dependencies build
//! once. Generation runs on `--jobs` threads; the checks run one after the
//! other, as they come (cargo locks the shared target directory anyway),
//! so each check time is that document's own.
//!
//! A panic in the generator is caught (`catch_unwind`) and is a failure;
//! the command exits non-zero when there is one. The table is Markdown;
//! the last line is `N passed, M failed`.

use crm_generator::project::module_declaration;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the scratch crates depend on besides `crm-runtime`: the workspace's
/// own entries, copied from its `Cargo.toml`.
const GENERATED_CODE_DEPENDENCIES: &[&str] = &["serde", "serde_json", "chrono", "uuid"];

/// A crate with no code of its own: checking it builds the dependencies.
const DEPENDENCIES_PACKAGE: &str = "corpus-dependencies";

/// Generator threads get a large stack: a stack overflow aborts the
/// process, which `catch_unwind` cannot report.
const GENERATOR_STACK: usize = 256 * 1024 * 1024;

pub struct Options<'a> {
    pub inputs: &'a [PathBuf],
    pub jobs: Option<usize>,
    pub filter: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Diagnostic,
    Panic,
    CompileError,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Diagnostic => "diagnostic",
            Outcome::Panic => "panic",
            Outcome::CompileError => "compile error",
        }
    }
}

struct Document {
    path: PathBuf,
    display: String,
    /// Found in a directory (rather than named): skipped, not failed, when
    /// it turns out not to be an OpenAPI document.
    scanned: bool,
}

/// One table row.
struct Row {
    display: String,
    version: String,
    operations: Option<usize>,
    outcome: Outcome,
    generation: Option<Duration>,
    check: Option<Duration>,
    lines: Option<usize>,
    /// Why it failed.
    detail: String,
    /// Not an OpenAPI document (a manifest, a JSON Schema): not counted.
    skipped: bool,
}

/// What a generator thread hands to the checker.
struct Generated {
    index: usize,
    row: Row,
    /// The scratch crate's package name, when there is code to check.
    package: Option<String>,
}

pub fn run(options: Options<'_>, workspace_root: &Path) -> ExitCode {
    let documents = match find_documents(options.inputs, options.filter) {
        Ok(documents) => documents,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if documents.is_empty() {
        eprintln!("no OpenAPI documents found (looked for .json, .yaml and .yml files)");
        return ExitCode::FAILURE;
    }
    let jobs = options
        .jobs
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .max(1);
    let scratch = match Scratch::create(workspace_root) {
        Ok(scratch) => scratch,
        Err(message) => {
            eprintln!("cannot set up the scratch workspace: {message}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "{} documents; scratch crates in {}, target directory {}",
        documents.len(),
        scratch.root.display(),
        scratch.target.display()
    );

    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(record_panic));
    let rows = generate_and_check(documents, jobs, &scratch);
    panic::set_hook(previous_hook);

    let report = report(&rows);
    print!("{report}");
    let failed = rows
        .iter()
        .filter(|row| !row.skipped && row.outcome != Outcome::Ok)
        .count();
    if failed == 0 {
        if let Err(error) = std::fs::remove_dir_all(&scratch.root) {
            eprintln!("cannot remove {}: {error}", scratch.root.display());
        }
    } else {
        eprintln!(
            "the scratch crates are kept in {} for a closer look",
            scratch.root.display()
        );
    }
    if rows.iter().any(|row| row.outcome == Outcome::Panic) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The documents in `inputs`, in a stable order, named relative to the
/// directory they all share.
fn find_documents(inputs: &[PathBuf], filter: Option<&str>) -> Result<Vec<Document>, String> {
    let mut paths = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input)
                .map_err(|error| format!("cannot read {}: {error}", input.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file() && is_spec_file(path))
                .collect();
            found.sort();
            paths.extend(found.into_iter().map(|path| (path, true)));
        } else if input.is_file() {
            paths.push((input.clone(), false));
        } else {
            return Err(format!(
                "{} is neither a directory nor a file",
                input.display()
            ));
        }
    }
    let absolute: Vec<PathBuf> = paths
        .iter()
        .map(|(path, _)| std::path::absolute(path).unwrap_or_else(|_| path.clone()))
        .collect();
    let common = common_directory(&absolute);
    let mut documents: Vec<Document> = paths
        .into_iter()
        .zip(&absolute)
        .map(|((path, scanned), absolute)| {
            let display = common
                .as_deref()
                .and_then(|common| absolute.strip_prefix(common).ok())
                .map(|relative| relative.display().to_string())
                .unwrap_or_else(|| path.display().to_string());
            Document {
                path,
                display,
                scanned,
            }
        })
        .collect();
    documents.dedup_by(|a, b| a.display == b.display);
    if let Some(filter) = filter {
        documents.retain(|document| document.display.contains(filter));
    }
    Ok(documents)
}

fn is_spec_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|extension| extension.to_str()),
        Some("json" | "yaml" | "yml")
    )
}

fn common_directory(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut common = paths.first()?.parent()?.to_path_buf();
    for path in paths {
        while !path.starts_with(&common) {
            common = common.parent()?.to_path_buf();
        }
    }
    Some(common)
}

/// Generation on `jobs` threads; checks in this thread as results come.
fn generate_and_check(documents: Vec<Document>, jobs: usize, scratch: &Scratch) -> Vec<Row> {
    let total = documents.len();
    let queue = Arc::new(Mutex::new(
        documents.into_iter().enumerate().collect::<VecDeque<_>>(),
    ));
    let (sender, receiver) = mpsc::channel::<Generated>();
    let mut workers = Vec::new();
    for worker in 0..jobs.min(total) {
        let queue = Arc::clone(&queue);
        let sender = sender.clone();
        let crates = scratch.crates.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("corpus-generate-{worker}"))
            .stack_size(GENERATOR_STACK)
            .spawn(move || {
                loop {
                    let next = match queue.lock() {
                        Ok(mut queue) => queue.pop_front(),
                        Err(_) => None,
                    };
                    let Some((index, document)) = next else {
                        break;
                    };
                    let generated = generate(index, &document, &crates);
                    if sender.send(generated).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(error) => eprintln!("cannot start a generator thread: {error}"),
        }
    }
    drop(sender);

    // The dependencies first, so the first document's check time is its own.
    let started = Instant::now();
    let mut warm_up = Row {
        display: DEPENDENCIES_PACKAGE.into(),
        version: String::new(),
        operations: None,
        outcome: Outcome::Ok,
        generation: None,
        check: None,
        lines: None,
        detail: String::new(),
        skipped: false,
    };
    scratch.check(DEPENDENCIES_PACKAGE, jobs, &mut warm_up);
    match warm_up.outcome {
        Outcome::Ok => eprintln!(
            "dependencies checked in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        _ => eprintln!("the dependencies do not build: {}", warm_up.detail),
    }

    let mut rows: Vec<Option<Row>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    for mut generated in receiver {
        if let Some(package) = &generated.package {
            scratch.check(package, jobs, &mut generated.row);
        }
        done += 1;
        let row = &generated.row;
        if row.skipped {
            eprintln!(
                "[{done}/{total}] {}: skipped, not an OpenAPI document",
                row.display
            );
            if let Some(slot) = rows.get_mut(generated.index) {
                *slot = Some(generated.row);
            }
            continue;
        }
        let check = row
            .check
            .map(|check| format!(", check {:.1} s", check.as_secs_f64()))
            .unwrap_or_default();
        eprintln!(
            "[{done}/{total}] {}: {}{check}",
            row.display,
            row.outcome.label()
        );
        if let Some(slot) = rows.get_mut(generated.index) {
            *slot = Some(generated.row);
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    rows.into_iter().flatten().collect()
}

fn generate(index: usize, document: &Document, crates: &Path) -> Generated {
    let mut row = Row {
        display: document.display.clone(),
        version: "?".into(),
        operations: None,
        outcome: Outcome::Ok,
        generation: None,
        check: None,
        lines: None,
        detail: String::new(),
        skipped: false,
    };
    let summary = catch(|| crm_generator::load::load_file(&document.path));
    if let Ok(Ok(raw)) = &summary {
        let is_openapi = raw.get("openapi").is_some() || raw.get("swagger").is_some();
        if document.scanned && !is_openapi {
            row.skipped = true;
            return Generated {
                index,
                row,
                package: None,
            };
        }
        row.version = version_of(raw);
        row.operations = Some(count_operations(raw));
    }
    let started = Instant::now();
    let result = catch(|| crm_generator::generate_file(&document.path, &document.display));
    row.generation = Some(started.elapsed());
    let generated = match result {
        Err(panic) => {
            row.outcome = Outcome::Panic;
            row.detail = panic;
            return Generated {
                index,
                row,
                package: None,
            };
        }
        Ok(Err(diagnostics)) => {
            row.outcome = Outcome::Diagnostic;
            let errors: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.severity == crm_generator::Severity::Error)
                .collect();
            row.detail = match errors.first() {
                Some(first) if errors.len() > 1 => {
                    format!("{first} (and {} more errors)", errors.len() - 1)
                }
                Some(first) => first.to_string(),
                None => "generation failed without an error diagnostic".into(),
            };
            return Generated {
                index,
                row,
                package: None,
            };
        }
        Ok(Ok(generated)) => generated,
    };
    row.lines = Some(generated.code.lines().count());

    let package = format!("corpus-{index:03}-{}", slug(&document.display));
    match write_crate(crates, &package, &generated.code) {
        Ok(()) => Generated {
            index,
            row,
            package: Some(package),
        },
        Err(error) => {
            row.outcome = Outcome::CompileError;
            row.detail = format!("cannot write the scratch crate: {error}");
            Generated {
                index,
                row,
                package: None,
            }
        }
    }
}

thread_local! {
    /// The message and location of the last panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record_panic(info: &panic::PanicHookInfo<'_>) {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let location = info
        .location()
        .map(|location| format!(" at {}:{}", location.file(), location.line()))
        .unwrap_or_default();
    LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("{message}{location}")));
}

/// Runs `work`, turning a panic into its message.
fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(work)).map_err(|_| {
        LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| "a panic".into())
    })
}

fn version_of(raw: &serde_json::Value) -> String {
    let version = raw.get("openapi").or_else(|| raw.get("swagger"));
    match version {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

fn count_operations(raw: &serde_json::Value) -> usize {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    raw.get("paths")
        .and_then(serde_json::Value::as_object)
        .map(|paths| {
            paths
                .values()
                .filter_map(serde_json::Value::as_object)
                .map(|item| {
                    item.keys()
                        .filter(|key| METHODS.contains(&key.as_str()))
                        .count()
                })
                .sum()
        })
        .unwrap_or(0)
}

fn slug(display: &str) -> String {
    let stem = Path::new(display)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut slug = String::new();
    for ch in stem.chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let slug: String = slug.chars().take(40).collect();
    if slug.is_empty() { "spec".into() } else { slug }
}

fn write_crate(crates: &Path, package: &str, code: &str) -> std::io::Result<()> {
    let dir = crates.join(package);
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\ncrm-runtime.workspace = true\n{}",
        GENERATED_CODE_DEPENDENCIES
            .iter()
            .map(|dependency| format!("{dependency}.workspace = true\n"))
            .collect::<String>()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), module_declaration("api"))?;
    std::fs::write(dir.join("src/api.rs"), code)
}

/// The scratch workspace: one member crate per generated document.
struct Scratch {
    /// This run's workspace.
    root: PathBuf,
    crates: PathBuf,
    /// Shared by all runs.
    target: PathBuf,
}

impl Scratch {
    fn create(workspace_root: &Path) -> Result<Scratch, String> {
        let base = std::env::temp_dir().join("crm-corpus");
        let root = base.join(format!("run-{}", std::process::id()));
        let crates = root.join("crates");
        let target = base.join("target");
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .map_err(|error| format!("cannot clear {}: {error}", root.display()))?;
        }
        std::fs::create_dir_all(&crates)
            .map_err(|error| format!("cannot create {}: {error}", crates.display()))?;
        let manifest_path = workspace_root.join("Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .map_err(|error| format!("cannot read {}: {error}", manifest_path.display()))?;
        let mut dependencies = format!(
            "crm-runtime = {{ path = {:?} }}\n",
            workspace_root.join("runtime").display().to_string()
        );
        for name in GENERATED_CODE_DEPENDENCIES {
            let line = workspace_dependency(&manifest, name).ok_or_else(|| {
                format!(
                    "{} has no `{name}` in [workspace.dependencies]",
                    manifest_path.display()
                )
            })?;
            dependencies.push_str(line);
            dependencies.push('\n');
        }
        let workspace = format!(
            "# Scratch workspace of `cargo xtask corpus`; safe to delete.\n\
             [workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n\
             [workspace.dependencies]\n{dependencies}"
        );
        std::fs::write(root.join("Cargo.toml"), workspace)
            .map_err(|error| format!("cannot write the scratch manifest: {error}"))?;
        write_crate(&crates, DEPENDENCIES_PACKAGE, "")
            .map_err(|error| format!("cannot write the dependencies crate: {error}"))?;
        // The workspace's lock file, so the checks use the versions the
        // workspace is tested with.
        let lock = workspace_root.join("Cargo.lock");
        if lock.is_file() {
            std::fs::copy(&lock, root.join("Cargo.lock"))
                .map_err(|error| format!("cannot copy {}: {error}", lock.display()))?;
        }
        Ok(Scratch {
            root,
            crates,
            target,
        })
    }

    /// `cargo check`s one scratch crate, filling in the row.
    fn check(&self, package: &str, jobs: usize, row: &mut Row) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let started = Instant::now();
        let output = Command::new(cargo)
            .arg("check")
            .arg("--quiet")
            .arg("--message-format=short")
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .arg("--package")
            .arg(package)
            .arg("--jobs")
            .arg(jobs.to_string())
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_INCREMENTAL", "0")
            .env("CARGO_TERM_COLOR", "never")
            .output();
        row.check = Some(started.elapsed());
        match output {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                row.outcome = Outcome::CompileError;
                let stderr = String::from_utf8_lossy(&output.stderr);
                let errors: Vec<&str> = stderr
                    .lines()
                    .filter(|line| line.contains(": error") || line.starts_with("error"))
                    .collect();
                let first = errors
                    .iter()
                    .find(|line| line.contains(": error"))
                    .or(errors.first())
                    .map(|line| line.trim().to_owned())
                    .unwrap_or_else(|| {
                        stderr
                            .lines()
                            .last()
                            .unwrap_or("cargo check failed")
                            .to_owned()
                    });
                let count = errors
                    .iter()
                    .filter(|line| line.contains(": error"))
                    .count();
                row.detail = if count > 1 {
                    format!("{first} (and {} more errors)", count - 1)
                } else {
                    first
                };
            }
            Err(error) => {
                row.outcome = Outcome::CompileError;
                row.detail = format!("cannot run cargo: {error}");
            }
        }
    }
}

/// The one-line `[workspace.dependencies]` entry for `name`, verbatim.
fn workspace_dependency<'m>(manifest: &'m str, name: &str) -> Option<&'m str> {
    let mut in_section = false;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_section = trimmed == "[workspace.dependencies]";
            continue;
        }
        if !in_section {
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        if key == name {
            return Some(trimmed);
        }
    }
    None
}

/// The Markdown table, the failures, and the summary line last.
fn report(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| document | version | operations | result | generation ms | check s | lines |\n",
    );
    out.push_str("|---|---|---:|---|---:|---:|---:|\n");
    for row in rows.iter().filter(|row| !row.skipped) {
        let operations = row
            .operations
            .map_or_else(|| "-".to_owned(), |count| count.to_string());
        let generation = row
            .generation
            .map_or_else(|| "-".to_owned(), |time| time.as_millis().to_string());
        let check = row.check.map_or_else(
            || "-".to_owned(),
            |time| format!("{:.1}", time.as_secs_f64()),
        );
        let lines = row
            .lines
            .map_or_else(|| "-".to_owned(), |lines| lines.to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {operations} | {} | {generation} | {check} | {lines} |",
            row.display,
            row.version,
            row.outcome.label()
        );
    }
    let failures: Vec<&Row> = rows
        .iter()
        .filter(|row| !row.skipped && row.outcome != Outcome::Ok)
        .collect();
    let skipped: Vec<&str> = rows
        .iter()
        .filter(|row| row.skipped)
        .map(|row| row.display.as_str())
        .collect();
    if !failures.is_empty() {
        out.push_str("\nFailures:\n\n");
        for row in &failures {
            let detail = row.detail.replace('\n', " ");
            let _ = writeln!(out, "- {} ({}): {detail}", row.display, row.outcome.label());
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "\nSkipped, not OpenAPI documents: {}",
            skipped.join(", ")
        );
    }
    let passed = rows.len() - skipped.len() - failures.len();
    let _ = writeln!(out, "\n{passed} passed, {} failed", failures.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_are_read_from_the_workspace_manifest() {
        let manifest = "[workspace]\nmembers = []\n\n[workspace.dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\n[profile.dev]\nserde = 1\n";
        assert_eq!(
            workspace_dependency(manifest, "serde"),
            Some("serde = { version = \"1\", features = [\"derive\"] }")
        );
        assert_eq!(
            workspace_dependency(manifest, "serde_json"),
            Some("serde_json = \"1\"")
        );
        assert_eq!(workspace_dependency(manifest, "uuid"), None);
    }

    #[test]
    fn slugs_are_package_name_safe() {
        assert_eq!(
            slug("openapi-corpus/oai-v2.0-petstore.json"),
            "oai-v2-0-petstore"
        );
        assert_eq!(slug("x/___.yaml"), "spec");
    }

    #[test]
    fn a_panic_is_caught_with_its_message() {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(record_panic));
        let caught = catch(|| -> () { panic!("boom") });
        panic::set_hook(previous);
        let message = caught.expect_err("the panic is caught");
        assert!(message.starts_with("boom at "), "{message}");
    }

    #[test]
    fn the_summary_is_the_last_line() {
        let row = |outcome| Row {
            display: "a.yaml".into(),
            version: "3.1.0".into(),
            operations: Some(2),
            outcome,
            generation: Some(Duration::from_millis(5)),
            check: None,
            lines: Some(10),
            detail: "why".into(),
            skipped: false,
        };
        let report = report(&[row(Outcome::Ok), row(Outcome::Panic)]);
        assert!(
            report.contains("| a.yaml | 3.1.0 | 2 | panic | 5 | - | 10 |"),
            "{report}"
        );
        assert!(report.contains("- a.yaml (panic): why"), "{report}");
        assert_eq!(report.lines().last(), Some("1 passed, 1 failed"));
    }
}
