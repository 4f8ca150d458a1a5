//! The query parameters of the unified API, parsed and checked before
//! anything is sent.

use crate::error::UnifiedError;
use chrono::{DateTime, FixedOffset};
use crm_runtime::mapping::{ListFilters, SortBy};
use std::collections::BTreeMap;
use std::str::FromStr;
use uuid::Uuid;

/// `truto_response_format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseFormat {
    /// The mapped record, plus `remote_data` (the provider's record as
    /// received) unless `truto_ignore_remote_data`.
    #[default]
    Unified,
    /// The provider's response body, untouched.
    Raw,
    /// The mapped record with every unified field present (absent values as
    /// `null`), in the schema's order, date-times in UTC, no `remote_data`.
    Normalized,
    /// Lists only: every record of every page, one at a time, as `unified`
    /// renders it.
    Stream,
}

impl FromStr for ResponseFormat {
    type Err = UnifiedError;

    fn from_str(text: &str) -> Result<Self, UnifiedError> {
        match text {
            "unified" => Ok(ResponseFormat::Unified),
            "raw" => Ok(ResponseFormat::Raw),
            "normalized" => Ok(ResponseFormat::Normalized),
            "stream" => Ok(ResponseFormat::Stream),
            other => Err(UnifiedError::invalid(
                "truto_response_format",
                format!("`{other}` is not a format; use unified, raw, normalized or stream"),
            )),
        }
    }
}

/// Options every operation takes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestOptions {
    pub format: ResponseFormat,
    pub ignore_remote_data: bool,
    /// Top-level unified fields (or `parent.child` paths) left out of the
    /// response.
    pub exclude_fields: Vec<String>,
    /// Passed to the provider as query parameters, untouched.
    pub remote_query: BTreeMap<String, String>,
}

/// Options of a list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListOptions {
    pub request: RequestOptions,
    /// Records per page, 1 to 100.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub next_cursor: Option<String>,
    /// Opportunity filters and sort order (`updated_at[gt]`, `status`,
    /// `sort_by`...). Keep them the same on every page of a walk: a
    /// cursor holds a position in the filtered list.
    pub filters: ListFilters,
}

/// A unified request's query string, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedQuery {
    pub integrated_account_id: Uuid,
    pub options: ListOptions,
    /// `resource` (lookups of custom fields): the unified resource whose
    /// definitions are listed.
    pub resource: Option<String>,
}

impl UnifiedQuery {
    /// Parses decoded query pairs as the unified spec names them:
    /// `integrated_account_id`, `truto_response_format`,
    /// `truto_ignore_remote_data`, `truto_exclude_fields[]`,
    /// `remote_query[key]`, `limit`, `next_cursor`, the list filters
    /// (`updated_at[gt]`, `created_at[gt]`, `status`, `owner_id`,
    /// `account_id`, `sort_by`) and `resource`. Other keys are refused, so
    /// a typo is not silently ignored; so is a filter given twice.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, UnifiedError> {
        let mut account = None;
        let mut resource = None;
        let mut options = ListOptions::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            let single = matches!(
                key,
                "updated_at[gt]"
                    | "created_at[gt]"
                    | "status"
                    | "owner_id"
                    | "account_id"
                    | "sort_by"
                    | "resource"
            );
            if single {
                if seen.contains(&key) {
                    return Err(UnifiedError::invalid(key, "is given twice"));
                }
                seen.push(key);
            }
            let filters = &mut options.filters;
            match key {
                "updated_at[gt]" => filters.updated_after = Some(parse_instant(key, value)?),
                "created_at[gt]" => filters.created_after = Some(parse_instant(key, value)?),
                "status" => match value {
                    "open" | "won" | "lost" | "abandoned" => {
                        filters.status = Some(value.to_owned())
                    }
                    other => {
                        return Err(UnifiedError::invalid(
                            key,
                            format!("`{other}` is not a status; use open, won, lost or abandoned"),
                        ));
                    }
                },
                "owner_id" => filters.owner_id = Some(parse_id(key, value)?),
                "account_id" => filters.account_id = Some(parse_id(key, value)?),
                "sort_by" => {
                    filters.sort_by = Some(match value {
                        "updated_at" => SortBy::UpdatedAt,
                        "created_at" => SortBy::CreatedAt,
                        other => {
                            return Err(UnifiedError::invalid(
                                key,
                                format!(
                                    "`{other}` is not a sort order; use updated_at or created_at"
                                ),
                            ));
                        }
                    })
                }
                "resource" => match value {
                    "opportunities" => resource = Some(value.to_owned()),
                    other => {
                        return Err(UnifiedError::invalid(
                            key,
                            format!("`{other}` is not a resource; use opportunities"),
                        ));
                    }
                },
                "integrated_account_id" => {
                    let id = Uuid::parse_str(value).map_err(|_| {
                        UnifiedError::invalid(
                            "integrated_account_id",
                            format!("`{value}` is not a UUID"),
                        )
                    })?;
                    account = Some(id);
                }
                "truto_response_format" => options.request.format = value.parse()?,
                "truto_ignore_remote_data" => {
                    options.request.ignore_remote_data =
                        parse_bool("truto_ignore_remote_data", value)?
                }
                "truto_exclude_fields[]" | "truto_exclude_fields" => {
                    if value.is_empty() {
                        return Err(UnifiedError::invalid(key, "names no field"));
                    }
                    options.request.exclude_fields.push(value.to_owned())
                }
                "limit" => {
                    let limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|limit| (1..=100).contains(limit))
                        .ok_or_else(|| {
                            UnifiedError::invalid(
                                "limit",
                                format!("`{value}` is not a whole number from 1 to 100"),
                            )
                        })?;
                    options.limit = Some(limit);
                }
                "next_cursor" => options.next_cursor = Some(value.to_owned()),
                other => match other
                    .strip_prefix("remote_query[")
                    .and_then(|rest| rest.strip_suffix(']'))
                {
                    // One level of brackets, each key once: anything else
                    // has no single meaning to pass on.
                    Some(name) if !name.is_empty() && !name.contains(['[', ']']) => {
                        if options.request.remote_query.contains_key(name) {
                            return Err(UnifiedError::invalid(other, "is given twice"));
                        }
                        options
                            .request
                            .remote_query
                            .insert(name.to_owned(), value.to_owned());
                    }
                    _ => {
                        return Err(UnifiedError::invalid(
                            other,
                            "is not a parameter of the unified API",
                        ));
                    }
                },
            }
        }
        let integrated_account_id =
            account.ok_or_else(|| UnifiedError::invalid("integrated_account_id", "is required"))?;
        Ok(UnifiedQuery {
            integrated_account_id,
            options,
            resource,
        })
    }
}

/// An RFC 3339 date-time with its offset (`2024-05-01T00:00:00Z`).
fn parse_instant(field: &str, value: &str) -> Result<DateTime<FixedOffset>, UnifiedError> {
    DateTime::parse_from_rfc3339(value).map_err(|_| {
        UnifiedError::invalid(
            field,
            format!("`{value}` is not an RFC 3339 date-time such as 2024-05-01T00:00:00Z"),
        )
    })
}

/// A provider id as a filter value: one plausible id.
fn parse_id(field: &str, value: &str) -> Result<String, UnifiedError> {
    if crm_runtime::unified::plausible_id(value) {
        Ok(value.to_owned())
    } else {
        Err(UnifiedError::invalid(
            field,
            format!("`{value}` is not an id"),
        ))
    }
}

fn parse_bool(field: &str, value: &str) -> Result<bool, UnifiedError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(UnifiedError::invalid(
            field,
            format!("`{other}` is not true or false"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_parameters() {
        let query = UnifiedQuery::parse([
            (
                "integrated_account_id",
                "62f44730-dd91-461e-bd6a-aedd9e0ad79d",
            ),
            ("truto_response_format", "normalized"),
            ("truto_exclude_fields[]", "id"),
            ("truto_exclude_fields[]", "name"),
            ("remote_query[foo]", "bar"),
            ("truto_ignore_remote_data", "true"),
            ("limit", "10"),
        ])
        .unwrap();
        assert_eq!(query.options.request.format, ResponseFormat::Normalized);
        assert_eq!(query.options.request.exclude_fields, ["id", "name"]);
        assert_eq!(query.options.request.remote_query["foo"], "bar");
        assert!(query.options.request.ignore_remote_data);
        assert_eq!(query.options.limit, Some(10));
    }

    #[test]
    fn parses_the_filters() {
        let id = (
            "integrated_account_id",
            "62f44730-dd91-461e-bd6a-aedd9e0ad79d",
        );
        let query = UnifiedQuery::parse([
            id,
            ("updated_at[gt]", "2024-05-01T10:00:00+02:00"),
            ("status", "won"),
            ("owner_id", "u_1"),
            ("sort_by", "updated_at"),
        ])
        .unwrap();
        let filters = &query.options.filters;
        assert_eq!(
            filters.updated_after.map(|at| at.to_rfc3339()),
            Some("2024-05-01T10:00:00+02:00".to_owned())
        );
        assert_eq!(
            filters.names(),
            ["updated_at[gt]", "status", "owner_id", "sort_by=updated_at"]
        );
        for bad in [
            [id, ("updated_at[gt]", "2024-05-01")],
            [id, ("status", "closed")],
            [id, ("sort_by", "name")],
            [id, ("owner_id", "a/b")],
            [id, ("resource", "contacts")],
        ] {
            let error = UnifiedQuery::parse(bad).unwrap_err();
            assert!(error.to_string().contains(bad[1].0), "{error}");
        }
        assert!(UnifiedQuery::parse([id, ("status", "won"), ("status", "lost")]).is_err());
    }

    #[test]
    fn bad_input_is_named() {
        let error = UnifiedQuery::parse([("integrated_account_id", "nope")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid `integrated_account_id`: `nope` is not a UUID"
        );
        let error = UnifiedQuery::parse([
            (
                "integrated_account_id",
                "62f44730-dd91-461e-bd6a-aedd9e0ad79d",
            ),
            ("truto_response_format", "xml"),
        ])
        .unwrap_err();
        assert!(
            error.to_string().contains("`xml` is not a format"),
            "{error}"
        );
        assert!(UnifiedQuery::parse([]).is_err());
        let id = (
            "integrated_account_id",
            "62f44730-dd91-461e-bd6a-aedd9e0ad79d",
        );
        for bad in [
            [id, ("truto_ignore_remote_data", "")],
            [id, ("truto_exclude_fields[]", "")],
            [id, ("remote_query[a][b]", "x")],
            [id, ("remote_query", "x")],
        ] {
            assert!(UnifiedQuery::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            UnifiedQuery::parse([id, ("remote_query[a]", "1"), ("remote_query[a]", "2")]).is_err()
        );
        assert!(
            UnifiedQuery::parse([
                (
                    "integrated_account_id",
                    "62f44730-dd91-461e-bd6a-aedd9e0ad79d"
                ),
                ("limit", "0")
            ])
            .is_err()
        );
    }
}
