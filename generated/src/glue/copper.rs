//! Copper: integer ids, `monetary_value` in units, `close_date` as
//! `MM/DD/YYYY`, `date_*` in Unix seconds, `status` Open/Won/Lost/Abandoned,
//! `assignee_id` the owner, `company_id` the account, one
//! `primary_contact_id` (required on create), `pipeline_stage_id` the
//! stage, tags as strings, custom fields as
//! `[{custom_field_definition_id, value}]`. Lists are `POST
//! /opportunities/search` with `page_number`/`page_size`.
//!
//! List filters go in that search body, which Copper ANDs:
//! `minimum_modified_date` / `minimum_created_date` (Unix seconds,
//! inclusive: the second after the instant), `status_ids`, `assignee_ids`,
//! `company_ids`, and `sort_by` `date_modified|date_created` ascending.
//! Users are `POST /users/search`, paged the same way.

use crate::account::IntegratedAccount;
use crate::connector::lookup::{CustomFields, option_id, option_label, stage_id};
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::copper::{
    AccountConnection, CustomFieldDefinition as CopperField, CustomFieldValue, Opportunity,
    OpportunityCreate, OpportunitySearch, OpportunitySearchSortDirection, OpportunityStatus,
    OpportunityUpdate, Pipeline, UnifiedMapping, User as CopperUser, UserSearch,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline as StagePipeline, Stage,
    User,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PROVIDER: &str = "copper";
/// Copper's largest search page.
const MAX_PAGE: i64 = 200;
/// The most pages of users read (200,000 users): a provider that kept
/// answering full pages stops here.
const MAX_USER_PAGES: i64 = 1000;

/// The order of day and month in an account's `close_date` strings (the
/// account setting `date_order`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DateOrder {
    /// `1/15/2018`: Copper's default.
    #[default]
    MonthFirst,
    /// `15/1/2018`: accounts with a day-first locale.
    DayFirst,
}

impl DateOrder {
    fn format(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "%m/%d/%Y",
            DateOrder::DayFirst => "%d/%m/%Y",
        }
    }
}

/// What mapping needs: custom field definitions, stage names and the
/// account's date order.
#[derive(Debug, Default)]
pub struct Context {
    pub custom_fields: CustomFields,
    pub stages: Vec<Stage>,
    pub date_order: DateOrder,
}

/// Copper's glue.
pub struct Copper;

/// A stage by id, or by name among the account's pipelines' stages, the
/// same way on create and update.
fn stage_to_copper(stage: &unified::OpportunityStage, context: &Context) -> Result<i64, MappingError> {
    let id = stage_id(PROVIDER, &context.stages, stage.id.as_deref(), stage.name.as_deref())?;
    copper_id("stage.id", &id)
}

fn copper_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Copper ids are integers"))
}

/// The earliest whole Unix second strictly after `at`: Copper's
/// `minimum_*_date` filters are inclusive and its times are whole seconds,
/// so `>= floor(at) + 1` is exactly `> at`.
fn first_second_after(at: &DateTime<FixedOffset>) -> i64 {
    at.timestamp().saturating_add(1)
}

/// Copper's status id for a unified status filter (its search takes ids:
/// 0 Open, 1 Won, 2 Lost, 3 Abandoned).
fn status_id(status: &str) -> Result<i64, MappingError> {
    match status {
        "open" => Ok(0),
        "won" => Ok(1),
        "lost" => Ok(2),
        "abandoned" => Ok(3),
        other => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "is not open, won, lost or abandoned",
        )),
    }
}

/// A typed provider item back as JSON (its unknown members kept by
/// `additionalProperties`).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

fn unix(field: &str, seconds: i64) -> Result<DateTime<FixedOffset>, MappingError> {
    DateTime::from_timestamp(seconds, 0)
        .map(|at| at.fixed_offset())
        .ok_or_else(|| MappingError::new(PROVIDER, field, seconds, "is not a Unix time in seconds"))
}

/// `1/15/2018` (`M/D/YYYY`, or `D/M/YYYY` on day-first accounts; leading
/// zeros optional) as midnight UTC.
fn parse_close_date(text: &str, order: DateOrder) -> Result<DateTime<FixedOffset>, MappingError> {
    NaiveDate::parse_from_str(text, order.format())
        .map(|date| date.and_time(NaiveTime::MIN).and_utc().fixed_offset())
        .map_err(|_| {
            MappingError::new(
                PROVIDER,
                "close_date",
                text,
                format!("is not a {} date", order.format()),
            )
        })
}

fn format_close_date(at: &DateTime<FixedOffset>, order: DateOrder) -> String {
    at.date_naive().format(order.format()).to_string()
}

fn status_to_unified(
    status: &OpportunityStatus,
) -> Result<unified::UnifiedOpportunityStatus, MappingError> {
    Ok(match status {
        OpportunityStatus::Open => unified::UnifiedOpportunityStatus::Open,
        OpportunityStatus::Won => unified::UnifiedOpportunityStatus::Won,
        OpportunityStatus::Lost => unified::UnifiedOpportunityStatus::Lost,
        OpportunityStatus::Abandoned => unified::UnifiedOpportunityStatus::Abandoned,
        // Kept, lowercased: clients accept statuses the unified set lacks.
        OpportunityStatus::Unknown(other) => {
            unified::UnifiedOpportunityStatus::Unknown(other.to_lowercase())
        }
    })
}

fn status_to_copper(
    status: &unified::UnifiedOpportunityStatus,
) -> Result<OpportunityStatus, MappingError> {
    Ok(match status {
        unified::UnifiedOpportunityStatus::Open => OpportunityStatus::Open,
        unified::UnifiedOpportunityStatus::Won => OpportunityStatus::Won,
        unified::UnifiedOpportunityStatus::Lost => OpportunityStatus::Lost,
        unified::UnifiedOpportunityStatus::Abandoned => OpportunityStatus::Abandoned,
        unified::UnifiedOpportunityStatus::Unknown(other) => {
            return Err(MappingError::new(
                PROVIDER,
                "status",
                other,
                "is not open, won, lost or abandoned",
            ));
        }
    })
}

fn single_contact(contacts: &[unified::OpportunityContact]) -> Result<Option<i64>, MappingError> {
    match contacts {
        [] => Ok(None),
        [only] => copper_id("contact.id", &only.id).map(Some),
        more => Err(MappingError::new(
            PROVIDER,
            "contact",
            more.len(),
            "Copper stores one primary contact per opportunity",
        )),
    }
}

fn tag_names(tags: &[unified::OpportunityTag]) -> Vec<String> {
    tags.iter()
        .filter_map(|tag| tag.name.clone().or_else(|| tag.id.clone()))
        .collect()
}

/// Unified custom fields (by name; option labels; dates as `YYYY-MM-DD`)
/// as Copper's `[{custom_field_definition_id, value}]` (option ids; dates
/// in Unix seconds).
fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<Vec<CustomFieldValue>, MappingError> {
    fields
        .iter()
        .map(|(key, value)| {
            let definition = context.custom_fields.by_key(PROVIDER, key, value)?;
            Ok(CustomFieldValue {
                custom_field_definition_id: copper_id(
                    "custom_field_definition_id",
                    &definition.id,
                )?,
                // `null` is sent: it clears the field.
                value: Some(custom_value_to_copper(definition, value)?),
            })
        })
        .collect()
}

/// A custom field value as Copper stores it.
fn custom_value_to_copper(
    definition: &CustomFieldDefinition,
    value: &Value,
) -> Result<Value, MappingError> {
    let option = |label: &Value| -> Result<Value, MappingError> {
        match label {
            Value::String(label) => {
                let id = option_id(PROVIDER, definition, label)?;
                Ok(id.parse::<i64>().map_or_else(|_| json!(id), |id| json!(id)))
            }
            other => Err(MappingError::new(
                PROVIDER,
                format!("custom_fields.{}", definition.name),
                other,
                "give the option's label",
            )),
        }
    };
    Ok(match (definition.data_type.as_str(), value) {
        (_, Value::Null) => Value::Null,
        ("Dropdown", label) => option(label)?,
        ("MultiSelect", Value::Array(labels)) => {
            Value::Array(labels.iter().map(option).collect::<Result<_, _>>()?)
        }
        ("Date", Value::String(text)) => {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                MappingError::new(
                    PROVIDER,
                    format!("custom_fields.{}", definition.name),
                    text,
                    "is not a YYYY-MM-DD date",
                )
            })?;
            json!(date.and_time(NaiveTime::MIN).and_utc().timestamp())
        }
        (_, other) => other.clone(),
    })
}

/// A Copper custom field value as the unified API shows it.
fn custom_value_to_unified(definition: Option<&CustomFieldDefinition>, value: Value) -> Value {
    let Some(definition) = definition else {
        return value;
    };
    let label = |id: &Value| match id {
        Value::Number(number) => json!(option_label(definition, &number.to_string())),
        other => other.clone(),
    };
    match (definition.data_type.as_str(), &value) {
        ("Dropdown", id @ Value::Number(_)) => label(id),
        ("MultiSelect", Value::Array(ids)) => Value::Array(ids.iter().map(label).collect()),
        ("Date", Value::Number(seconds)) => seconds
            .as_i64()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .map_or(value.clone(), |at| json!(at.date_naive().format("%Y-%m-%d").to_string())),
        _ => value,
    }
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

impl OpportunityMapping for Copper {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.definitions().to_vec()
    }

    /// Every stage of every pipeline, with its pipeline.
    fn stages(context: &Context) -> Vec<Stage> {
        context.stages.clone()
    }

    /// Every page of `POST /users/search`: until a page comes back shorter
    /// than asked (or empty), or [`MAX_USER_PAGES`] were read.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let mut users = Vec::new();
        for page_number in 1..=MAX_USER_PAGES {
            let search = UserSearch {
                page_number: Some(page_number),
                page_size: Some(MAX_PAGE),
            };
            let response = calls
                .client
                .list_users(Some(&search))
                .await
                .map_err(|error| UnifiedError::from_client(Provider::Copper, error))?;
            let page = Copper.users_list(&response.body)?;
            let short = (page.len() as i64) < MAX_PAGE;
            users.extend(page);
            if short {
                break;
            }
        }
        Ok(users)
    }

    async fn context(
        calls: &AccountConnection,
        account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Copper, error);
        let fields = calls
            .client
            .list_custom_field_definitions()
            .await
            .map_err(failed)?;
        let pipelines = calls.client.list_pipelines().await.map_err(failed)?;
        Ok(Context {
            custom_fields: CustomFields::new(Copper.custom_fields_list(&fields.body)?),
            stages: Copper.stages_list(&pipelines.body)?,
            date_order: match account.settings.get("date_order") {
                Some("DMY") => DateOrder::DayFirst,
                _ => DateOrder::MonthFirst,
            },
        })
    }

    /// Oldest first by creation: Copper's most stable documented order, so
    /// records added while a walk goes on land at its end instead of
    /// shifting the pages already read; `sort_by=updated_at` orders by last
    /// change, ascending too. The filters are search criteria, which
    /// Copper ANDs.
    fn list_input(
        query: &ListQuery,
        _context: &Context,
    ) -> Result<OpportunitySearch, MappingError> {
        let filters = &query.filters;
        let one_id = |field: &str, id: &Option<String>| {
            id.as_deref()
                .map(|id| copper_id(field, id).map(|id| vec![id]))
                .transpose()
        };
        Ok(OpportunitySearch {
            // Oldest created first, `sort_by=created_at` or not: the spec
            // refuses `sort_by=updated_at` (changes would reorder pages).
            sort_by: Some("date_created".into()),
            sort_direction: Some(OpportunitySearchSortDirection::Asc),
            minimum_modified_date: filters.updated_after.as_ref().map(first_second_after),
            minimum_created_date: filters.created_after.as_ref().map(first_second_after),
            status_ids: filters
                .status
                .as_deref()
                .map(|status| status_id(status).map(|id| vec![id]))
                .transpose()?,
            assignee_ids: one_id("owner_id", &filters.owner_id)?,
            company_ids: one_id("account_id", &filters.account_id)?,
            ..OpportunitySearch::default()
        })
    }

    fn to_unified(record: &Opportunity, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let custom_fields = record
            .custom_fields
            .iter()
            .flatten()
            .map(|field| {
                let id = field.custom_field_definition_id.to_string();
                let value = custom_value_to_unified(
                    context.custom_fields.by_id(&id),
                    field.value.clone().unwrap_or(Value::Null),
                );
                (context.custom_fields.key_of(&id), value)
            })
            .collect();
        let stage = record.pipeline_stage_id.map(|id| {
            let id = id.to_string();
            let name = context
                .stages
                .iter()
                .find(|stage| stage.id == id)
                .map(|stage| stage.name.clone());
            unified::OpportunityStage { id: Some(id), name }
        });
        Ok(unified::Opportunity {
            id: record.id.to_string(),
            name: Some(record.name.clone()),
            description: record.details.clone(),
            amount: record.monetary_value,
            currency: record.monetary_unit.clone(),
            owner: record
                .assignee_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: record
                .company_id
                .map(|id| unified::OpportunityAccount { id: id.to_string() }),
            contact: record
                .primary_contact_id
                .map(|id| vec![unified::OpportunityContact { id: id.to_string() }]),
            stage,
            status: record.status.as_ref().map(status_to_unified).transpose()?,
            tags: record.tags.as_ref().map(|tags| {
                tags.iter()
                    .map(|tag| unified::OpportunityTag {
                        id: Some(tag.clone()),
                        name: Some(tag.clone()),
                    })
                    .collect()
            }),
            custom_fields: Some(custom_fields),
            last_activity_at: record
                .date_last_contacted
                .map(|at| unix("date_last_contacted", at))
                .transpose()?,
            close_date: record
                .close_date
                .as_deref()
                .map(|text| parse_close_date(text, context.date_order))
                .transpose()?,
            created_at: record
                .date_created
                .map(|at| unix("date_created", at))
                .transpose()?,
            updated_at: record
                .date_modified
                .map(|at| unix("date_modified", at))
                .transpose()?,
            ..empty_opportunity(record.id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<OpportunityCreate, MappingError> {
        let name = body
            .name
            .clone()
            .ok_or_else(|| MappingError::new(PROVIDER, "name", "null", "Copper requires a name"))?;
        let primary_contact_id = single_contact(body.contact.as_deref().unwrap_or_default())?
            .ok_or_else(|| {
                MappingError::new(
                    PROVIDER,
                    "contact",
                    "[]",
                    "Copper requires a primary contact",
                )
            })?;
        Ok(OpportunityCreate {
            name,
            primary_contact_id,
            assignee_id: body
                .owner
                .as_ref()
                .map(|owner| copper_id("owner.id", &owner.id))
                .transpose()?,
            close_date: body
                .close_date
                .as_ref()
                .map(|at| format_close_date(at, context.date_order)),
            company_id: body
                .account
                .as_ref()
                .map(|account| copper_id("account.id", &account.id))
                .transpose()?,
            customer_source_id: None,
            details: body.description.clone(),
            loss_reason_id: None,
            monetary_value: body.amount,
            monetary_unit: body.currency.clone(),
            pipeline_id: None,
            pipeline_stage_id: body
                .stage
                .as_ref()
                .map(|stage| stage_to_copper(stage, context))
                .transpose()?,
            priority: None,
            status: body.status.as_ref().map(status_to_copper).transpose()?,
            tags: body.tags.as_deref().map(tag_names),
            win_probability: None,
            custom_fields: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_values(fields, context))
                .transpose()?,
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<OpportunityUpdate, MappingError> {
        let primary_contact_id = match &body.contact {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(contacts) => single_contact(contacts)?.into(),
        };
        let pipeline_stage_id = match &body.stage {
            Patch::Absent => Patch::Absent,
            // An opportunity in a pipeline always has a stage: `null` is
            // refused rather than sent.
            Patch::Null => {
                return Err(MappingError::new(
                    PROVIDER,
                    "stage",
                    "null",
                    "a Copper opportunity in a pipeline has a stage; set another stage",
                ));
            }
            Patch::Value(stage) => Patch::Value(stage_to_copper(stage, context)?),
        };
        Ok(OpportunityUpdate {
            name: body.name.clone(),
            primary_contact_id,
            assignee_id: patch(&body.owner, |owner| copper_id("owner.id", &owner.id))?,
            close_date: patch(&body.close_date, |at| {
                Ok(format_close_date(at, context.date_order))
            })?,
            company_id: patch(&body.account, |account| {
                copper_id("account.id", &account.id)
            })?,
            customer_source_id: Patch::Absent,
            details: body.description.clone(),
            loss_reason_id: Patch::Absent,
            monetary_value: body.amount.clone(),
            monetary_unit: body.currency.clone(),
            pipeline_id: Patch::Absent,
            pipeline_stage_id,
            priority: Patch::Absent,
            status: patch(&body.status, status_to_copper)?,
            tags: patch(&body.tags, |tags| Ok(tag_names(tags)))?,
            win_probability: Patch::Absent,
            custom_fields: patch(&body.custom_fields, |fields| custom_values(fields, context))?,
        })
    }
}

impl UnifiedMapping for Copper {
    fn custom_fields_list(
        &self,
        response: &Vec<CopperField>,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .iter()
            .filter(|field| {
                field
                    .available_on
                    .as_ref()
                    .is_none_or(|on| on.iter().any(|kind| kind == "opportunity"))
            })
            .map(|field| CustomFieldDefinition {
                id: field.id.to_string(),
                // Copper's one name for a field, the one people see.
                name: field.name.clone(),
                label: None,
                data_type: field.data_type.clone(),
                options: field
                    .options
                    .iter()
                    .flatten()
                    .map(|option| (option.id.to_string(), option.name.clone()))
                    .collect(),
                // Copper's definitions say neither (its app marks required
                // fields per layout, which the API does not enforce).
                required: false,
                read_only: false,
                remote_data: remote(field),
            })
            .collect())
    }

    fn stages_list(&self, response: &Vec<Pipeline>) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .iter()
            .flat_map(|pipeline| {
                pipeline.stages.iter().map(|stage| Stage {
                    id: stage.id.to_string(),
                    name: stage.name.clone(),
                    pipeline: Some(StagePipeline {
                        id: pipeline.id.to_string(),
                        name: Some(pipeline.name.clone()),
                    }),
                    remote_data: remote(stage),
                })
            })
            .collect())
    }

    fn users_list(&self, response: &Vec<CopperUser>) -> Result<Vec<User>, MappingError> {
        Ok(response
            .iter()
            .map(|user| User {
                id: user.id.to_string(),
                name: user.name.clone(),
                email: user.email.clone(),
                remote_data: remote(user),
            })
            .collect())
    }
}
