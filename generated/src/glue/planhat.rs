//! Planhat: ids are 24-hex ObjectIds in `_id`; `title` the name; `arr`
//! (the annual value) the amount, `_currency` its ISO code; `salesStage`
//! a free-text stage name (no stage ids, no stage endpoint: the unified
//! stage id and name are both the name); `status` `active` (open), `won`,
//! `lost`; `ownerId` the owner; `companyId` the account (required on
//! create); `closeDate` an ISO string; custom fields in
//! `custom{name: value}`. Bodies are bare; lists a bare array paged with
//! `limit`/`offset` (a short page is the last). Opportunities carry no
//! created/updated timestamps and no description or contacts.
//!
//! The one list filter is the company (`companyId`: the unified
//! `account_id`); the spec declares the others unsupported, and stages too
//! (there is no stage list). Users are `GET /users`, paged like the rest.

use crate::account::IntegratedAccount;
use crate::connector::{AfterWrite, OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::planhat::{
    AccountConnection, CustomField, ListCustomFieldsParams, ListOpportunitiesParams,
    ListUsersParams, Opportunity, OpportunityCreate, OpportunityUpdate, UnifiedMapping,
    User as PlanhatUser,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use crm_runtime::Patch;
use crm_runtime::mapping::{CustomFieldDefinition, ListQuery, MappingError, Stage, User};
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "planhat";
/// Custom field definitions asked for per page.
const MAX_PAGE: i64 = 500;
/// The model whose custom fields are the opportunity's.
const OPPORTUNITY_MODEL: &str = "Opportunity";
/// Offsets are stable only over a stable order.
const STABLE_ORDER: &str = "_id";
/// The custom field type holding a calendar day.
const DAY_TYPE: &str = "day";
/// Users asked for per page.
const USERS_PAGE: i64 = 500;
/// The most pages of users read (500,000 users): a provider that kept
/// answering full pages stops here.
const MAX_USER_PAGES: i64 = 1000;

/// What mapping needs: the account's opportunity custom field definitions.
#[derive(Debug, Default)]
pub struct Context {
    pub custom_fields: Vec<CustomFieldDefinition>,
}

impl Context {
    fn custom_field(&self, name: &str) -> Option<&CustomFieldDefinition> {
        self.custom_fields
            .iter()
            .find(|definition| definition.name == name)
    }
}

/// Planhat's glue.
pub struct Planhat;

/// Whether `id` is a MongoDB ObjectId: 24 hexadecimal characters.
pub fn is_object_id(id: &str) -> bool {
    id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit())
}

fn object_id(field: &str, id: &str) -> Result<String, MappingError> {
    if is_object_id(id) {
        Ok(id.to_owned())
    } else {
        Err(MappingError::new(
            PROVIDER,
            field,
            id,
            "Planhat ids are 24-character hexadecimal ObjectIds",
        ))
    }
}

/// The calendar day of an ISO date or date-time Planhat stored (a
/// date-time is taken in UTC); `None` when it is neither.
fn day_of(text: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc).date_naive())
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
}

/// A day as Planhat's examples write dates: midnight UTC, milliseconds.
fn day_text(day: NaiveDate) -> String {
    format!("{}T00:00:00.000Z", day.format("%Y-%m-%d"))
}

fn midnight_utc(day: NaiveDate) -> DateTime<FixedOffset> {
    day.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

fn status_to_unified(status: &str) -> unified::UnifiedOpportunityStatus {
    match status.to_lowercase().as_str() {
        "active" => unified::UnifiedOpportunityStatus::Open,
        "won" => unified::UnifiedOpportunityStatus::Won,
        "lost" => unified::UnifiedOpportunityStatus::Lost,
        // Kept, lowercased: clients accept statuses the unified set lacks.
        other => unified::UnifiedOpportunityStatus::Unknown(other.to_owned()),
    }
}

fn status_to_planhat(status: &unified::UnifiedOpportunityStatus) -> Result<String, MappingError> {
    match status {
        unified::UnifiedOpportunityStatus::Open => Ok("active".into()),
        unified::UnifiedOpportunityStatus::Won => Ok("won".into()),
        unified::UnifiedOpportunityStatus::Lost => Ok("lost".into()),
        unified::UnifiedOpportunityStatus::Abandoned => Err(MappingError::new(
            PROVIDER,
            "status",
            "abandoned",
            "Planhat opportunities are active, won or lost",
        )),
        unified::UnifiedOpportunityStatus::Unknown(other) => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "Planhat opportunities are active, won or lost",
        )),
    }
}

/// Planhat stages are names: the name, or the id (which is the name too).
fn stage_name(stage: &unified::OpportunityStage) -> Result<String, MappingError> {
    stage
        .name
        .clone()
        .or_else(|| stage.id.clone())
        .ok_or_else(|| MappingError::new(PROVIDER, "stage", "{}", "give the stage's name"))
}

/// Unified custom fields as Planhat's `custom`, checked against the
/// account's definitions; a `day` field given as a date is sent as
/// Planhat writes dates.
fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, Value>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            let definition = context.custom_field(name).ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    format!("custom_fields.{name}"),
                    value,
                    "no opportunity custom field has this name",
                )
            })?;
            let value = match value {
                Value::String(text) if definition.data_type == DAY_TYPE => {
                    let day = day_of(text).ok_or_else(|| {
                        MappingError::new(
                            PROVIDER,
                            format!("custom_fields.{name}"),
                            text,
                            "is not an ISO date",
                        )
                    })?;
                    Value::String(day_text(day))
                }
                other => other.clone(),
            };
            Ok((name.clone(), value))
        })
        .collect()
}

/// A typed provider item back as JSON (its unknown members kept by
/// `additionalProperties`).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

fn patch<T, U>(
    value: &Patch<T>,
    convert: impl FnOnce(&T) -> Result<U, MappingError>,
) -> Result<Patch<U>, MappingError> {
    Ok(match value {
        Patch::Absent => Patch::Absent,
        Patch::Null => Patch::Null,
        Patch::Value(value) => Patch::Value(convert(value)?),
    })
}

impl OpportunityMapping for Planhat {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    /// Never called: the spec declares `stages.list` unsupported (Planhat
    /// stages are free-text names on each opportunity).
    fn stages(_context: &Context) -> Vec<Stage> {
        Vec::new()
    }

    /// Every page of `GET /users`: until a page comes back shorter than
    /// asked (or empty), or [`MAX_USER_PAGES`] were read.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let mut users = Vec::new();
        for page in 0..MAX_USER_PAGES {
            let params = ListUsersParams {
                limit: Some(USERS_PAGE),
                offset: Some(page.saturating_mul(USERS_PAGE)),
            };
            let body = calls
                .client
                .list_users(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Planhat, error))?
                .body;
            let short = (body.len() as i64) < USERS_PAGE;
            users.extend(Planhat.users_list(&body)?);
            if short {
                break;
            }
        }
        Ok(users)
    }

    /// Every page of the opportunity custom field definitions (a bare
    /// array; a short page is the last).
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let mut custom_fields = Vec::new();
        let mut offset = 0;
        loop {
            let params = ListCustomFieldsParams {
                parent: Some(OPPORTUNITY_MODEL.into()),
                limit: Some(MAX_PAGE),
                offset: Some(offset),
            };
            let page = calls
                .client
                .list_custom_fields(&params)
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Planhat, error))?
                .body;
            custom_fields.extend(Planhat.custom_fields_list(&page)?);
            if (page.len() as i64) < MAX_PAGE {
                return Ok(Context { custom_fields });
            }
            offset += MAX_PAGE;
        }
    }

    /// In `_id` order; `account_id` is `companyId` (the other filters never
    /// reach here: the spec declares them unsupported).
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<ListOpportunitiesParams, MappingError> {
        Ok(ListOpportunitiesParams {
            sort: Some(STABLE_ORDER.into()),
            company_id: query
                .filters
                .account_id
                .as_deref()
                .map(|id| object_id("account_id", id))
                .transpose()?,
            ..Default::default()
        })
    }

    fn to_unified(record: &Opportunity, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let custom_fields = record
            .custom
            .iter()
            .flatten()
            .map(|(name, value)| {
                let is_day = context
                    .custom_field(name)
                    .is_some_and(|definition| definition.data_type == DAY_TYPE);
                let value = match value {
                    Value::String(text) if is_day => day_of(text)
                        .map(|day| Value::String(day.format("%Y-%m-%d").to_string()))
                        .unwrap_or_else(|| value.clone()),
                    other => other.clone(),
                };
                (name.clone(), value)
            })
            .collect();
        let close_date = record.close_date.as_deref().and_then(|text| {
            let day = day_of(text);
            if day.is_none() {
                tracing::warn!(provider = PROVIDER, record = %record.id, field = "closeDate", "not an ISO date; close_date is left empty");
            }
            day.map(midnight_utc)
        });
        Ok(unified::Opportunity {
            name: record.title.clone(),
            amount: record.arr,
            currency: record.currency.clone(),
            owner: record
                .owner_id
                .clone()
                .map(|id| unified::OpportunityOwner { id }),
            account: record
                .company_id
                .clone()
                .map(|id| unified::OpportunityAccount { id }),
            stage: record.sales_stage.clone().map(|name| unified::OpportunityStage {
                id: Some(name.clone()),
                name: Some(name),
            }),
            status: record.status.as_deref().map(status_to_unified),
            custom_fields: Some(custom_fields),
            close_date,
            ..empty_opportunity(record.id.clone())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let account = body.account.as_ref().ok_or_else(|| {
            MappingError::new(
                PROVIDER,
                "account",
                "null",
                "Planhat needs the company (account) of an opportunity",
            )
        })?;
        Ok(OpportunityCreate {
            company_id: object_id("account.id", &account.id)?,
            title: body.name.clone(),
            owner_id: body
                .owner
                .as_ref()
                .map(|owner| object_id("owner.id", &owner.id))
                .transpose()?,
            sales_stage: body.stage.as_ref().map(stage_name).transpose()?,
            status: body.status.as_ref().map(status_to_planhat).transpose()?,
            arr: body.amount,
            mrr: None,
            nrr: None,
            currency: body.currency.clone(),
            contract_length: None,
            probability: None,
            close_date: body.close_date.map(|at| day_text(at.date_naive())),
            deal_date: None,
            landing_date: None,
            external_id: None,
            source_id: None,
            custom: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_values(fields, context))
                .transpose()?,
            additional_properties: BTreeMap::new(),
        })
    }

    /// Everything but the custom fields, which [`Planhat::after_update`]
    /// merges into the stored ones (checked here, before any call).
    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdate, MappingError> {
        match &body.custom_fields {
            Patch::Value(fields) => {
                custom_values(fields, context)?;
            }
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "custom_fields",
                    "null",
                    "set a custom field to null to clear it; the map itself cannot be null",
                ));
            }
            Patch::Absent => {}
        }
        Ok(OpportunityUpdate {
            company_id: match &body.account {
                Patch::Null => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "account",
                        "null",
                        "every Planhat opportunity belongs to a company",
                    ));
                }
                other => patch(other, |account| object_id("account.id", &account.id))?,
            },
            title: body.name.clone(),
            owner_id: patch(&body.owner, |owner| object_id("owner.id", &owner.id))?,
            sales_stage: patch(&body.stage, stage_name)?,
            status: match &body.status {
                Patch::Null => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "status",
                        "null",
                        "every Planhat opportunity is active, won or lost",
                    ));
                }
                other => patch(other, status_to_planhat)?,
            },
            arr: body.amount.clone(),
            currency: body.currency.clone(),
            close_date: patch(&body.close_date, |at| Ok(day_text(at.date_naive())))?,
            ..OpportunityUpdate::default()
        })
    }

    /// Custom fields: Planhat does not document whether a `custom` object
    /// sent to `PUT` replaces the stored one or is merged into it, so the
    /// stored values are read and the caller's merged in, and the whole
    /// object is sent: nothing the caller left out is lost either way.
    async fn after_update(
        calls: &AccountConnection,
        id: &String,
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<AfterWrite, UnifiedError> {
        let Patch::Value(fields) = &body.custom_fields else {
            return Ok(AfterWrite::Nothing);
        };
        let failed = |error| UnifiedError::from_client(Provider::Planhat, error);
        let stored = calls.client.get_opportunity(id).await.map_err(failed)?.body;
        let mut custom = stored.custom.unwrap_or_default();
        custom.extend(custom_values(fields, context)?);
        let update = OpportunityUpdate {
            custom: Patch::Value(custom),
            ..OpportunityUpdate::default()
        };
        calls
            .client
            .update_opportunity(id, &update)
            .await
            .map_err(failed)?;
        Ok(AfterWrite::Changed)
    }
}

impl UnifiedMapping for Planhat {
    fn custom_fields_list(
        &self,
        response: &Vec<CustomField>,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .iter()
            .filter(|field| {
                field
                    .parent
                    .as_deref()
                    .is_none_or(|parent| parent == OPPORTUNITY_MODEL)
            })
            .map(|field| CustomFieldDefinition {
                id: field.id.clone(),
                // Planhat's one name for a field (the key in `custom`).
                name: field.name.clone(),
                label: None,
                data_type: field.type_.clone(),
                // `listValues` are plain labels: the value is the label.
                options: field
                    .list_values
                    .iter()
                    .flatten()
                    .map(|label| (label.clone(), label.clone()))
                    .collect(),
                required: field.is_mandatory.unwrap_or(false),
                // A formula field is computed by Planhat.
                read_only: field.is_formula.unwrap_or(false),
                remote_data: remote(field),
            })
            .collect())
    }

    /// A user's name is first and last name, else the nickname Planhat
    /// shows.
    fn users_list(&self, response: &Vec<PlanhatUser>) -> Result<Vec<User>, MappingError> {
        Ok(response
            .iter()
            .map(|user| {
                let full = [user.first_name.as_deref(), user.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = Some(full)
                    .filter(|full| !full.is_empty())
                    .or_else(|| user.nick_name.clone().filter(|nick| !nick.is_empty()));
                User {
                    id: user.id.clone(),
                    name,
                    email: user.email.clone(),
                    remote_data: remote(user),
                }
            })
            .collect())
    }
}
