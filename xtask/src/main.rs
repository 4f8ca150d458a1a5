//! Project automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask codegen`: regenerate `generated/src/codegen/` from
//!   `specs/`.
//! - `cargo xtask codegen --check`: write nothing; fail, naming the files,
//!   when the checked-in output is stale.
//! - `cargo xtask generate SPEC [-o FILE]`: generate one spec's module
//!   (to stdout by default), for trying the generator on any document.
//! - `cargo xtask corpus DIR... [--jobs N] [--filter TEXT]`: generate and
//!   `cargo check` every OpenAPI document in the directories (see
//!   `corpus.rs`).
//! - `cargo xtask bench`: the side-by-side benchmarks of `BENCHMARKS.md`
//!   (`bench/run.sh`: release builds, peers, mock provider, table).

mod corpus;

use clap::{Parser, Subcommand};
use crm_generator::project::{
    self, CodegenError, Mode, Outcome, Staleness, WORKSPACE_OUTPUT, WORKSPACE_SPECS,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Project automation for the unified CRM workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the `generated` crate's code from the specs.
    Codegen {
        /// Write nothing; exit non-zero if the checked-in code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Generate the module for one spec file.
    Generate {
        spec: PathBuf,
        /// Where to write the module; stdout when absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Generate every OpenAPI document in DIR into a scratch crate and
    /// `cargo check` it; print a table and `N passed, M failed`.
    Corpus {
        /// Directories of documents (not searched recursively), or files.
        #[arg(required = true, value_name = "DIR")]
        inputs: Vec<PathBuf>,
        /// Generator threads (and cargo jobs); the number of CPUs by default.
        #[arg(long)]
        jobs: Option<usize>,
        /// Only documents whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Benchmarks beside their peers (progenitor, serde_json, an nginx mock
    /// provider): runs `bench/run.sh`, which prints the table of
    /// `BENCHMARKS.md`. `--quick` for a short run.
    Bench {
        /// Short wrk runs, streams up to 100k records, no corpus growth.
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Codegen { check } => codegen(check),
        Command::Generate { spec, output } => generate(&spec, output.as_deref()),
        Command::Corpus {
            inputs,
            jobs,
            filter,
        } => corpus::run(
            corpus::Options {
                inputs: &inputs,
                jobs,
                filter: filter.as_deref(),
            },
            &workspace_root(),
        ),
        Command::Bench { quick } => bench(quick),
    }
}

fn bench(quick: bool) -> ExitCode {
    let mut command = std::process::Command::new("bash");
    command.arg(workspace_root().join("bench/run.sh"));
    if quick {
        command.env("BENCH_QUICK", "1");
    }
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("cannot run bench/run.sh: {error}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn codegen(check: bool) -> ExitCode {
    let mode = if check { Mode::Check } else { Mode::Write };
    let report = match project::codegen(&workspace_root(), WORKSPACE_SPECS, WORKSPACE_OUTPUT, mode)
    {
        Ok(report) => report,
        Err(CodegenError::Spec(diagnostics)) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            eprintln!(
                "codegen failed with {} error(s); {WORKSPACE_OUTPUT} was left untouched",
                diagnostics.len()
            );
            return ExitCode::FAILURE;
        }
        Err(CodegenError::Io(error)) => {
            eprintln!("codegen failed: {error}; {WORKSPACE_OUTPUT} was left as it was");
            return ExitCode::FAILURE;
        }
    };
    for warning in &report.warnings {
        eprintln!("{warning}");
    }
    match report.outcome {
        Outcome::UpToDate { files } => {
            println!("{WORKSPACE_OUTPUT} is up to date ({files} files)");
            ExitCode::SUCCESS
        }
        Outcome::Written { files, changed } => {
            println!("wrote {WORKSPACE_OUTPUT} ({files} files, {changed} changed)");
            ExitCode::SUCCESS
        }
        Outcome::Stale(stale) => {
            for file in &stale {
                let what = match file.staleness {
                    Staleness::Changed => "differs from what the specs produce",
                    Staleness::Missing => "is missing",
                    Staleness::Extra => "is no longer produced",
                };
                eprintln!("stale: {} {what}", file.path.display());
            }
            eprintln!("generated code is stale: run `cargo xtask codegen` and commit the result");
            ExitCode::FAILURE
        }
    }
}

fn generate(spec: &Path, output: Option<&Path>) -> ExitCode {
    let display = spec.display().to_string();
    let generated = match crm_generator::generate_file(spec, &display) {
        Ok(generated) => generated,
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            eprintln!("generation failed with {} diagnostic(s)", diagnostics.len());
            return ExitCode::FAILURE;
        }
    };
    for warning in &generated.warnings {
        eprintln!("{warning}");
    }
    let written = match output {
        Some(path) => std::fs::write(path, &generated.code),
        None => std::io::Write::write_all(&mut std::io::stdout(), generated.code.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cannot write the module: {error}");
            ExitCode::FAILURE
        }
    }
}
