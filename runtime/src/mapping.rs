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
}

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldDefinition {
    pub id: String,
    pub name: String,
    /// The provider's type name (`text`, `date`, `dropdown`...).
    pub data_type: String,
    /// For choice fields: option id and label.
    pub options: Vec<(String, String)>,
}

/// A pipeline stage (or status) as a provider defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub id: String,
    pub name: String,
}

/// A user of the provider (an opportunity's owner), as a provider lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}
