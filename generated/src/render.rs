//! A mapped record as the caller asked to see it: `unified`, `raw` or
//! `normalized`, with `truto_exclude_fields` applied.

use crate::options::{RequestOptions, ResponseFormat};
use crate::unified::crm::Opportunity;
use crm_runtime::support::FieldInfo;
use serde_json::{Map, Value};

/// A record in both shapes: mapped, and as the provider sent it.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedRecord {
    pub record: Opportunity,
    /// The provider's record, untouched.
    pub remote_data: Value,
}

/// One record as the options ask (`raw` shows the provider's record).
pub fn render(record: &UnifiedRecord, options: &RequestOptions) -> Value {
    render_with(&record.record, || record.remote_data.clone(), options)
}

/// [`render`] of a record no longer needed: its `remote_data` is moved
/// into the answer, not copied.
pub fn render_owned(record: UnifiedRecord, options: &RequestOptions) -> Value {
    let UnifiedRecord {
        record,
        remote_data,
    } = record;
    render_with(&record, move || remote_data, options)
}

fn render_with(
    record: &Opportunity,
    remote_data: impl FnOnce() -> Value,
    options: &RequestOptions,
) -> Value {
    if options.format == ResponseFormat::Raw {
        return remote_data();
    }
    render_object(to_object(record), Opportunity::FIELDS, remote_data, options)
}

/// A unified record (as its JSON object) as the options ask: `normalized`
/// puts every field of `fields` in order, `unified` adds `remote_data`,
/// then `truto_exclude_fields` applies. `raw` is the caller's to handle.
pub(crate) fn render_object(
    object: Map<String, Value>,
    fields: &[FieldInfo],
    remote_data: impl FnOnce() -> Value,
    options: &RequestOptions,
) -> Value {
    let mut value = match options.format {
        ResponseFormat::Raw => return remote_data(),
        ResponseFormat::Normalized => normalized(object, fields),
        ResponseFormat::Unified | ResponseFormat::Stream => {
            let mut value = object;
            if !options.ignore_remote_data {
                value.insert("remote_data".into(), remote_data());
            }
            value
        }
    };
    for path in &options.exclude_fields {
        exclude(&mut value, path);
    }
    Value::Object(value)
}

pub(crate) fn to_object(record: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Every unified field, in the schema's order, `null` when absent;
/// date-times in UTC.
fn normalized(mut present: Map<String, Value>, fields: &[FieldInfo]) -> Map<String, Value> {
    let mut out = Map::new();
    for field in fields {
        if field.name == "remote_data" {
            continue;
        }
        let value = present.remove(field.name).unwrap_or(Value::Null);
        let value = if field.date_time {
            to_utc(value)
        } else {
            value
        };
        out.insert(field.name.to_owned(), value);
    }
    out
}

fn to_utc(value: Value) -> Value {
    match &value {
        Value::String(text) => match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(at) => Value::String(
                at.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            Err(_) => value,
        },
        _ => value,
    }
}

/// Removes `a` or `a.b` from an object (and from each element of an array
/// along the way).
fn exclude(object: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            object.remove(path);
        }
        Some((head, rest)) => match object.get_mut(head) {
            Some(Value::Object(child)) => exclude(child, rest),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::Object(child) = item {
                        exclude(child, rest);
                    }
                }
            }
            _ => {}
        },
    }
}
