//! Workspace-level tests.
//!
//! The fixture specs in `fixtures/specs/` are generated into this crate by
//! its build script, so every shape the generator emits is compiled here and
//! exercised by the tests in `tests/`: snapshots of the generated text,
//! serde round trips of the generated types, a generated client against a
//! real HTTP server (wiremock), bad specs, and the freshness of
//! `generated/src/codegen`.

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
