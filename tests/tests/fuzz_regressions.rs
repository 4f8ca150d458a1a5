//! Every input in `tests/fixtures/fuzz-regressions/`: crash inputs the
//! fuzzer found (see `fuzz/README.md`) and seed-derived documents that
//! take odd paths. The generator must return `Ok` or `Err` on each, never
//! panic, in reasonable time, and an `Err` must say something. All inputs
//! are tried, so one run lists every failure.
//!
//! A file that is not UTF-8 goes to the loader as lossy text, the way a
//! caller reading bytes would hand it over. Each file is generated as if
//! it lived next to `tests/fixtures/specs/external/main.yaml`, the
//! directory the `generate_json` fuzz target claims, so its relative
//! `$ref`s (`_common.yaml#/...`) resolve as they did when it was found.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz-regressions")
}

fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/specs/external/fuzz.yaml")
}

/// How long one input may take. The fuzz targets report an input that
/// takes 10 s as a hang; this allows for the unoptimized test build.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// Runs one input; `Err` with what went wrong if it panicked, failed
/// without a message or did not finish in time.
fn check(file: &Path) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|error| format!("cannot read: {error}"))?;
    let path = spec_path();
    let (sender, receiver) = mpsc::channel();
    // The main thread's stack size, whatever the test harness gives its
    // threads, so deep documents behave as in `cargo xtask codegen`.
    let worker = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let text = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(error) => {
                    let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                    let _ = crm_generator::load::parse_text(&text);
                    text
                }
            };
            let result = crm_generator::generate_text(&text, &path, "fuzz.yaml").map(|_| ());
            let _ = sender.send(result);
        })
        .map_err(|error| format!("cannot start a thread: {error}"))?;
    match receiver.recv_timeout(TIME_LIMIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(diagnostics)) => {
            if diagnostics
                .iter()
                .any(|diagnostic| !diagnostic.message.trim().is_empty())
            {
                Ok(())
            } else {
                Err(format!("failed without a message: {diagnostics:?}"))
            }
        }
        // The worker is left running; the test process ends it.
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "did not finish within {} s (a hang)",
            TIME_LIMIT.as_secs()
        )),
        Err(RecvTimeoutError::Disconnected) => {
            let message = match worker.join() {
                Ok(()) => "(no result and no panic)".to_owned(),
                Err(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                    .unwrap_or_else(|| "(not a string)".to_owned()),
            };
            Err(format!("panicked: {message}"))
        }
    }
}

#[test]
fn fuzz_regressions_return_without_panicking() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(regressions_dir())
        .expect("tests/fixtures/fuzz-regressions exists")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no inputs in {}",
        regressions_dir().display()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            check(file).err().map(|problem| {
                format!(
                    "{}: {problem}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fuzz regression inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
