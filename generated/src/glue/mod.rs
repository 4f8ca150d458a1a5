//! Hand-written glue: one module per provider, each implementing its
//! generated `UnifiedMapping` trait (the conversions) and the few calls
//! that turn a unified operation into provider requests (which client
//! method, how pages continue). Codegen never writes here.
//!
//! Every provider module offers the same functions: `client`, `context`,
//! `list`, `get`, `create`, `update`, `delete`. Adding a CRM means a spec
//! in `specs/providers/`, a module here, and one arm per operation in
//! `crate::opportunities`.

pub(crate) mod close;
pub(crate) mod copper;

use crate::account::Provider;
use crate::error::UnifiedError;
use crate::render::UnifiedRecord;
use crate::unified::crm::Opportunity;
use crm_runtime::ResponseValue;
use serde_json::Value;

/// A page of a provider's list, mapped.
pub(crate) struct Page {
    pub records: Vec<UnifiedRecord>,
    /// The provider's response body, untouched.
    pub raw: Value,
    /// The provider's state for the next page; `None` on the last page.
    pub next: Option<Value>,
}

/// The body of a response as JSON, exactly as the provider sent it.
pub(crate) fn raw_json<T>(
    provider: Provider,
    response: &ResponseValue<T>,
) -> Result<Value, UnifiedError> {
    if response.raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.raw).map_err(|error| UnifiedError::Transport {
        provider,
        message: format!(
            "answered {} with a body that is not JSON: {error}",
            response.status
        ),
    })
}

/// The raw records of a page, one per typed record, in the same order.
fn raw_records(
    provider: Provider,
    raw: &Value,
    pointer: &str,
    expected: usize,
) -> Result<Vec<Value>, UnifiedError> {
    let records = raw
        .pointer(pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if records.len() != expected {
        return Err(UnifiedError::Transport {
            provider,
            message: format!(
                "a list page has {} raw records for {expected} typed ones",
                records.len()
            ),
        });
    }
    Ok(records)
}

/// A mapping error for one record of a list: says which record.
fn in_record(
    error: crm_runtime::mapping::MappingError,
    id: &str,
) -> crm_runtime::mapping::MappingError {
    crm_runtime::mapping::MappingError {
        reason: format!("{} (record {id})", error.reason),
        ..error
    }
}

/// The records of a page, each mapped and paired with its raw JSON (the
/// array at `pointer` in the page body). A record that fails to map fails
/// the page, naming the record.
pub(crate) fn map_records<R>(
    provider: Provider,
    raw: &Value,
    pointer: &str,
    records: &[R],
    id: impl Fn(&R) -> String,
    map: impl Fn(&R) -> Result<Opportunity, crm_runtime::mapping::MappingError>,
) -> Result<Vec<UnifiedRecord>, UnifiedError> {
    let raw_list = raw_records(provider, raw, pointer, records.len())?;
    records
        .iter()
        .zip(raw_list)
        .map(|(record, remote_data)| {
            let mapped = map(record).map_err(|error| in_record(error, &id(record)))?;
            Ok(UnifiedRecord {
                record: mapped,
                remote_data,
            })
        })
        .collect()
}

/// A one-record response, mapped, with the body as `remote_data`.
pub(crate) fn map_one<R>(
    provider: Provider,
    response: &ResponseValue<R>,
    map: impl FnOnce(&R) -> Result<Opportunity, crm_runtime::mapping::MappingError>,
) -> Result<UnifiedRecord, UnifiedError> {
    let remote_data = raw_json(provider, response)?;
    Ok(UnifiedRecord {
        record: map(&response.body)?,
        remote_data,
    })
}
