//! Project automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask codegen`: regenerate `generated/src/codegen/` from
//!   `specs/`.
//! - `cargo xtask codegen --check`: write nothing; fail, naming the files,
//!   when the checked-in output is stale.
//! - `cargo xtask generate SPEC [-o FILE]`: generate one spec's module
//!   (to stdout by default), for trying the generator on any document.

use clap::{Parser, Subcommand};
use crm_generator::project::{self, Staleness, WORKSPACE_OUTPUT, WORKSPACE_SPECS, WriteOutcome};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Codegen { check } => codegen(&workspace_root(), check),
        Command::Generate { spec, output } => generate(&spec, output.as_deref()),
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

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn codegen(root: &Path, check: bool) -> ExitCode {
    let plan = match project::plan(root, WORKSPACE_SPECS) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}");
            }
            eprintln!(
                "codegen failed with {} error(s); {WORKSPACE_OUTPUT} was left untouched",
                diagnostics.len()
            );
            return ExitCode::FAILURE;
        }
    };
    for warning in &plan.warnings {
        eprintln!("{warning}");
    }
    let out_dir = root.join(WORKSPACE_OUTPUT);
    if check {
        return match project::stale_files(&out_dir, &plan.files) {
            Ok(stale) if stale.is_empty() => {
                println!("{WORKSPACE_OUTPUT} is up to date");
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                for file in &stale {
                    let what = match file.staleness {
                        Staleness::Changed => "differs from what the specs produce",
                        Staleness::Missing => "is missing",
                        Staleness::Extra => "is no longer produced",
                    };
                    eprintln!("stale: {} {what}", file.path.display());
                }
                eprintln!(
                    "generated code is stale: run `cargo xtask codegen` and commit the result"
                );
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("cannot read {}: {error}", out_dir.display());
                ExitCode::FAILURE
            }
        };
    }
    match project::write_output(&out_dir, &plan.files) {
        Ok(WriteOutcome::Unchanged) => {
            println!(
                "{WORKSPACE_OUTPUT} is up to date ({} files)",
                plan.files.len()
            );
            ExitCode::SUCCESS
        }
        Ok(WriteOutcome::Written { changed }) => {
            println!(
                "wrote {WORKSPACE_OUTPUT} ({} files, {changed} changed)",
                plan.files.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("codegen failed: {error}; {WORKSPACE_OUTPUT} was left as it was");
            ExitCode::FAILURE
        }
    }
}
