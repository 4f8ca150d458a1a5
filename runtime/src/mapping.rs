//! What the generated `UnifiedMapping` traits speak: the unified list
//! query, mapping errors, and the provider-neutral shapes of custom field
//! definitions and stages.

use crate::paging::Position;
use std::collections::BTreeMap;
use std::fmt;

/// A unified list request, as a provider's list input is built from it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    /// Records per page the caller asked for, if any.
    pub limit: Option<u32>,
    /// Where the previous page left off, or `None` for the first page.
    /// Generated code writes it into the provider's paging parameters;
    /// glue reads it only for keyset paging.
    pub position: Option<Position>,
    /// Query parameters passed to the provider untouched.
    pub remote_query: BTreeMap<String, String>,
    /// What the caller filters and sorts by. The unified layer has already
    /// refused every filter the provider's spec declares unsupported
    /// (`x-unified-filters`), so glue maps each one it is given.
    pub filters: ListFilters,
}

/// The unified list filters, as the caller gave them. Each is passed to
/// the provider, never applied in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilters {
    /// `updated_at[gt]`: records changed strictly after this instant.
    pub updated_after: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// `created_at[gt]`: records created strictly after this instant.
    pub created_after: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// `status`: one of the unified statuses (`open`, `won`, `lost`,
    /// `abandoned`).
    pub status: Option<String>,
    /// `owner_id`: the provider id of the owning user.
    pub owner_id: Option<String>,
    /// `account_id`: the provider id of the account (company, lead).
    pub account_id: Option<String>,
    /// `sort_by`: the order of the pages, oldest first.
    pub sort_by: Option<SortBy>,
}

impl ListFilters {
    /// The names of the filters set, as `x-unified-filters` spells them
    /// (`updated_at[gt]`, `sort_by=updated_at`).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.updated_after.is_some() {
            names.push("updated_at[gt]");
        }
        if self.created_after.is_some() {
            names.push("created_at[gt]");
        }
        if self.status.is_some() {
            names.push("status");
        }
        if self.owner_id.is_some() {
            names.push("owner_id");
        }
        if self.account_id.is_some() {
            names.push("account_id");
        }
        match self.sort_by {
            Some(SortBy::UpdatedAt) => names.push("sort_by=updated_at"),
            Some(SortBy::CreatedAt) => names.push("sort_by=created_at"),
            None => {}
        }
        names
    }

    pub fn is_empty(&self) -> bool {
        *self == ListFilters::default()
    }
}

/// The query parameter a filter name is given in (`sort_by=updated_at`
/// is `sort_by`): what a refusal names.
pub fn filter_parameter(name: &str) -> &str {
    name.split_once('=')
        .map_or(name, |(parameter, _)| parameter)
}

/// A sort order of a list: ascending, oldest first, so records changed
/// during a walk move to its end instead of being skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    UpdatedAt,
    CreatedAt,
}

impl SortBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::UpdatedAt => "updated_at",
            SortBy::CreatedAt => "created_at",
        }
    }
}

/// Every filter a provider spec must declare, supported or not, in its
/// list operation's `x-unified-filters`.
pub const FILTERS: [&str; 7] = [
    "updated_at[gt]",
    "created_at[gt]",
    "status",
    "owner_id",
    "account_id",
    "sort_by=updated_at",
    "sort_by=created_at",
];

/// A value that could not be converted between the unified and a
/// provider's shape: names the provider, the field and the value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct MappingError {
    pub provider: &'static str,
    /// The field, as the unified API or the provider names it.
    pub field: String,
    /// The offending value, as text.
    pub value: String,
    pub reason: String,
    /// The account's cached definitions (custom fields, stages) do not
    /// know a name the caller used: worth fetching them again once.
    pub stale_context: bool,
}

impl MappingError {
    pub fn new(
        provider: &'static str,
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        MappingError {
            provider,
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
            stale_context: false,
        }
    }

    /// A name (custom field, stage) the account's cached definitions do
    /// not have: the unified layer refreshes them once before giving up.
    pub fn unknown_name(
        provider: &'static str,
        field: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        MappingError {
            stale_context: true,
            ..MappingError::new(provider, field, value, reason)
        }
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: field `{}` with value `{}`: {}",
            self.provider, self.field, self.value, self.reason
        )
    }
}

/// A custom field as a provider defines it: the unified API addresses
/// custom fields by `name`, providers by `id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomFieldDefinition {
    pub id: String,
    /// The key `custom_fields` uses: the API name where the provider has
    /// one, else the display name.
    pub name: String,
    /// The name people see, where the provider has one besides `name`.
    pub label: Option<String>,
    /// The provider's type name (`text`, `date`, `dropdown`...).
    pub data_type: String,
    /// For choice fields: option id and label.
    pub options: Vec<(String, String)>,
    /// The provider refuses a record without it.
    pub required: bool,
    /// The provider computes it; a write cannot set it.
    pub read_only: bool,
    /// The provider's definition, as read (`Null` where not kept).
    pub remote_data: serde_json::Value,
}

/// A pipeline stage (or status) as a provider defines it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// The pipeline the stage belongs to, where the provider has pipelines.
    pub pipeline: Option<Pipeline>,
    /// The provider's stage, as read (`Null` where not kept).
    pub remote_data: serde_json::Value,
}

/// A provider's pipeline, as its stages name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    pub id: String,
    pub name: Option<String>,
}

/// A user of the provider (an opportunity's owner), as a provider lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The provider's user, as read.
    pub remote_data: serde_json::Value,
}
