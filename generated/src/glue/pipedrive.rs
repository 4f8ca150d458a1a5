//! Pipedrive (API v2): integer ids sent as JSON numbers, `title` the name,
//! `value` (a JSON number in major units) + `currency`, `owner_id` /
//! `org_id` / one `person_id`, `stage_id` (its name from `GET /stages`),
//! `status` open/won/lost and `deleted` (a soft-deleted deal stays readable
//! for 30 days: kept as the status `deleted`, never a 404),
//! `expected_close_date` a `YYYY-MM-DD` date. Custom fields live in
//! `custom_fields` under 40-character hashes; their names and option labels
//! come from `GET /dealFields` and are mapped both ways (labels, never
//! option ids, reach the caller). Validation is strict: bodies carry only
//! documented keys, numbers as numbers. Lists page with `limit` (≤ 500) and
//! `cursor` = `additional_data.next_cursor` (null on the last page).
//!
//! List filters: `updated_since` (at or after), `status`, `owner_id`,
//! `org_id`, `sort_by=update_time|add_time` ascending (the cursor follows
//! the sort); creation time is refused by the spec. Users from API v1
//! (`/../v1/users` from the v2 root, one answer); stages with their
//! pipeline's name (`GET /pipelines`, read with the context).

use crate::account::IntegratedAccount;
use crate::connector::{OpportunityMapping, empty_opportunity};
use crate::error::UnifiedError;
use crate::providers::pipedrive::{
    AccountConnection, CursorData, Deal, DealCreate, DealCreateStatus, DealFieldOptionId,
    DealFieldPage, DealUpdate, DealUpdateStatus, GetDealFieldsParams, GetPipelinesParams,
    GetStagesParams, ListDealsParams, ListDealsSortBy, ListDealsSortDirection, StagePage,
    UnifiedMapping, UserList,
};
use crate::registry::Provider;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{
    CustomFieldDefinition, ListQuery, MappingError, Pipeline, SortBy, Stage, User,
};
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "pipedrive";
/// Pipedrive's largest page of deal fields, stages and pipelines.
const MAX_PAGE: i64 = 500;
/// At most this many pages of each (50,000 records): a provider that kept
/// handing out cursors would not loop forever.
const MAX_PAGES: usize = 100;
/// Field types whose value is one option id.
const SINGLE_OPTION: &str = "enum";
/// Field types whose value is an array of option ids.
const MULTIPLE_OPTIONS: &str = "set";

/// A stage and the pipeline it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineStage {
    pub id: i64,
    pub name: String,
    pub pipeline_id: i64,
    /// The stage as Pipedrive listed it.
    pub remote_data: Value,
}

/// What mapping needs: the custom deal fields (hash, name, type, options)
/// and the stages of every pipeline (with the pipelines' names).
#[derive(Debug, Default)]
pub struct Context {
    /// Custom fields only, each with the unified name it is keyed by.
    pub custom_fields: Vec<CustomFieldDefinition>,
    pub stages: Vec<PipelineStage>,
    /// Pipeline id to name.
    pub pipelines: BTreeMap<i64, String>,
}

impl Context {
    fn field_by_hash(&self, hash: &str) -> Option<&CustomFieldDefinition> {
        self.custom_fields.iter().find(|field| field.id == hash)
    }

    fn field_by_name(&self, name: &str) -> Option<&CustomFieldDefinition> {
        self.custom_fields
            .iter()
            .find(|field| field.name == name)
            .or_else(|| self.field_by_hash(name))
    }

    fn stage(&self, id: i64) -> Option<&PipelineStage> {
        self.stages.iter().find(|stage| stage.id == id)
    }
}

/// Pipedrive's glue.
pub struct Pipedrive;

fn pipedrive_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Pipedrive ids are integers"))
}

fn midnight_utc(date: NaiveDate) -> DateTime<FixedOffset> {
    date.and_time(NaiveTime::MIN).and_utc().fixed_offset()
}

fn status_to_unified(status: &str) -> unified::UnifiedOpportunityStatus {
    match status.to_lowercase().as_str() {
        "open" => unified::UnifiedOpportunityStatus::Open,
        "won" => unified::UnifiedOpportunityStatus::Won,
        "lost" => unified::UnifiedOpportunityStatus::Lost,
        // `deleted` (soft-deleted, readable for 30 days) and any future
        // value: kept, lowercased.
        other => unified::UnifiedOpportunityStatus::Unknown(other.to_owned()),
    }
}

/// The status Pipedrive takes on a write: open, won or lost.
fn writable_status(status: &unified::UnifiedOpportunityStatus) -> Result<&'static str, MappingError> {
    match status {
        unified::UnifiedOpportunityStatus::Open => Ok("open"),
        unified::UnifiedOpportunityStatus::Won => Ok("won"),
        unified::UnifiedOpportunityStatus::Lost => Ok("lost"),
        unified::UnifiedOpportunityStatus::Abandoned => Err(MappingError::new(
            PROVIDER,
            "status",
            "abandoned",
            "Pipedrive deals are open, won or lost",
        )),
        unified::UnifiedOpportunityStatus::Unknown(other) => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "Pipedrive deals are open, won or lost (delete a deal with DELETE)",
        )),
    }
}

/// The one person Pipedrive links to a deal.
fn single_person(contacts: &[unified::OpportunityContact]) -> Result<Option<i64>, MappingError> {
    match contacts {
        [] => Ok(None),
        [only] => pipedrive_id("contact.id", &only.id).map(Some),
        more => Err(MappingError::new(
            PROVIDER,
            "contact",
            more.len(),
            "Pipedrive links one person to a deal (more are participants, another API)",
        )),
    }
}

/// The stage id to send, checked against the account's stages (an unknown
/// one may have been added since the context was fetched).
fn stage_id(stage: &unified::OpportunityStage, context: &Context) -> Result<i64, MappingError> {
    let found = match (&stage.id, &stage.name) {
        (Some(id), _) => {
            let id = pipedrive_id("stage.id", id)?;
            context.stage(id)
        }
        (None, Some(name)) => {
            let mut named = context.stages.iter().filter(|stage| &stage.name == name);
            match (named.next(), named.next()) {
                (Some(only), None) => Some(only),
                (Some(_), Some(_)) => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "stage.name",
                        name,
                        "several pipelines have a stage of this name: give the stage id",
                    ));
                }
                _ => None,
            }
        }
        (None, None) => {
            return Err(MappingError::new(
                PROVIDER,
                "stage",
                "{}",
                "give the stage id (or a stage name)",
            ));
        }
    };
    found.map(|stage| stage.id).ok_or_else(|| {
        MappingError::unknown_name(
            PROVIDER,
            "stage",
            stage.id.as_deref().or(stage.name.as_deref()).unwrap_or_default(),
            "no stage of this account has this id",
        )
    })
}

/// An option id as JSON (integers for custom fields).
fn option_id_json(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| Value::from(id), Value::from)
}

fn option_label(field: &CustomFieldDefinition, id: &Value) -> Option<String> {
    let id = match id {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        // `include_option_labels=true` answers `{id, label}`.
        Value::Object(option) => return option.get("label")?.as_str().map(str::to_owned),
        _ => return None,
    };
    field
        .options
        .iter()
        .find(|(option, _)| *option == id)
        .map(|(_, label)| label.clone())
}

/// A stored custom value as the unified value: option ids become labels
/// (an id no option has any more is kept as it is).
fn custom_value_to_unified(field: &CustomFieldDefinition, value: &Value, deal: i64) -> Value {
    let label = |id: &Value| {
        option_label(field, id).map(Value::String).unwrap_or_else(|| {
            tracing::warn!(provider = PROVIDER, deal, field = %field.name, "a custom field holds an option id the field no longer has; it is kept as is");
            id.clone()
        })
    };
    match (field.data_type.as_str(), value) {
        (_, Value::Null) => Value::Null,
        (SINGLE_OPTION, id) => label(id),
        (MULTIPLE_OPTIONS, Value::Array(ids)) => Value::Array(ids.iter().map(label).collect()),
        _ => value.clone(),
    }
}

/// A unified custom value as Pipedrive stores it: labels become option ids.
fn custom_value_to_pipedrive(
    field: &CustomFieldDefinition,
    value: &Value,
) -> Result<Value, MappingError> {
    let key = format!("custom_fields.{}", field.name);
    let option = |label: &Value| -> Result<Value, MappingError> {
        let wanted = match label {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        field
            .options
            .iter()
            .find(|(id, name)| *name == wanted || *id == wanted)
            .map(|(id, _)| option_id_json(id))
            .ok_or_else(|| {
                MappingError::unknown_name(PROVIDER, key.clone(), label, "is not an option of this field")
            })
    };
    match (field.data_type.as_str(), value) {
        (_, Value::Null) => Ok(Value::Null),
        (SINGLE_OPTION, label) => option(label),
        // Pipedrive refuses `[]`: an empty selection is cleared with null.
        (MULTIPLE_OPTIONS, Value::Array(labels)) if labels.is_empty() => Ok(Value::Null),
        (MULTIPLE_OPTIONS, Value::Array(labels)) => {
            labels.iter().map(option).collect::<Result<_, _>>().map(Value::Array)
        }
        (MULTIPLE_OPTIONS, label) => Ok(Value::Array(vec![option(label)?])),
        _ => Ok(value.clone()),
    }
}

/// Unified custom fields (by name) as Pipedrive's `custom_fields` (by hash).
fn custom_fields_to_pipedrive(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<BTreeMap<String, Value>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            let field = context.field_by_name(name).ok_or_else(|| {
                MappingError::unknown_name(
                    PROVIDER,
                    format!("custom_fields.{name}"),
                    value,
                    "no custom deal field has this name",
                )
            })?;
            Ok((field.id.clone(), custom_value_to_pipedrive(field, value)?))
        })
        .collect()
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

/// The next page's cursor, if the page was not empty and names one.
fn next_cursor(more: Option<CursorData>, records: usize) -> Option<String> {
    more.and_then(|more| more.next_cursor)
        .filter(|cursor| !cursor.is_empty() && records > 0)
}

/// The item's JSON as Pipedrive sent it (as far as its type keeps it).
fn remote<T: serde::Serialize>(item: &T) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

/// The unified status filter as Pipedrive's `status` parameter.
fn status_filter(status: &str) -> Result<&'static str, MappingError> {
    match status {
        "open" => Ok("open"),
        "won" => Ok("won"),
        "lost" => Ok("lost"),
        other => Err(MappingError::new(
            PROVIDER,
            "status",
            other,
            "Pipedrive deals are open, won, lost or deleted; none is abandoned",
        )),
    }
}

/// A field the caller set to null that Pipedrive cannot clear.
fn not_clearable<T>(value: &Patch<T>, field: &str, why: &str) -> Result<(), MappingError> {
    match value {
        Patch::Null => Err(MappingError::new(PROVIDER, field, "null", why)),
        _ => Ok(()),
    }
}

impl OpportunityMapping for Pipedrive {
    type Calls = AccountConnection;
    type Context = Context;

    fn custom_fields(context: &Context) -> Vec<CustomFieldDefinition> {
        context.custom_fields.clone()
    }

    fn stages(context: &Context) -> Vec<Stage> {
        context
            .stages
            .iter()
            .map(|stage| Stage {
                id: stage.id.to_string(),
                name: stage.name.clone(),
                pipeline: Some(Pipeline {
                    id: stage.pipeline_id.to_string(),
                    name: context.pipelines.get(&stage.pipeline_id).cloned(),
                }),
                remote_data: stage.remote_data.clone(),
            })
            .collect()
    }

    /// `GET /v1/users` (API v1: users have no v2 endpoint) answers every
    /// user at once; there is no page to follow.
    async fn users(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Vec<User>, UnifiedError> {
        let body = calls
            .client
            .get_users()
            .await
            .map_err(|error| UnifiedError::from_client(Provider::Pipedrive, error))?
            .body;
        Ok(Pipedrive.users_list(&body)?)
    }

    /// Every page of the deal fields, the stages and the pipelines.
    async fn context(
        calls: &AccountConnection,
        _account: &IntegratedAccount,
    ) -> Result<Context, UnifiedError> {
        let failed = |error| UnifiedError::from_client(Provider::Pipedrive, error);
        let mut context = Context::default();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let params = GetDealFieldsParams {
                limit: Some(MAX_PAGE),
                cursor: cursor.take(),
            };
            let page = calls.client.get_deal_fields(&params).await.map_err(failed)?;
            let mut fields = Pipedrive.custom_fields_list(&page.body)?;
            // Two fields may share a display name: the later ones keep
            // their hash as their name rather than shadowing the first.
            for field in &mut fields {
                if context.field_by_name(&field.name).is_some() {
                    tracing::warn!(provider = PROVIDER, field = %field.name, "two custom deal fields share a name; the later one is keyed by its hash");
                    field.name = field.id.clone();
                }
                context.custom_fields.push(field.clone());
            }
            cursor = next_cursor(page.body.additional_data, page.body.data.len());
            if cursor.is_none() {
                break;
            }
        }
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let params = GetStagesParams {
                limit: Some(MAX_PAGE),
                cursor: cursor.take(),
                ..GetStagesParams::default()
            };
            let page = calls.client.get_stages(&params).await.map_err(failed)?;
            context.stages.extend(page.body.data.iter().map(|stage| PipelineStage {
                id: stage.id,
                name: stage.name.clone(),
                pipeline_id: stage.pipeline_id,
                remote_data: remote(stage),
            }));
            cursor = next_cursor(page.body.additional_data, page.body.data.len());
            if cursor.is_none() {
                break;
            }
        }
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let params = GetPipelinesParams {
                limit: Some(MAX_PAGE),
                cursor: cursor.take(),
            };
            let page = calls.client.get_pipelines(&params).await.map_err(failed)?;
            context.pipelines.extend(
                page.body
                    .data
                    .iter()
                    .map(|pipeline| (pipeline.id, pipeline.name.clone())),
            );
            cursor = next_cursor(page.body.additional_data, page.body.data.len());
            if cursor.is_none() {
                break;
            }
        }
        Ok(context)
    }

    /// The filters as `GET /deals` parameters, all applied together:
    /// `updated_since` (at or after: Pipedrive has no strictly-after form),
    /// `status`, `owner_id`, `org_id`; `sort_by=update_time|add_time` with
    /// `sort_direction=asc` (the cursor follows the sort). Without a sort
    /// nothing is sent: Pipedrive's default is `id` ascending. Every custom
    /// field comes back unless `custom_fields` names some.
    fn list_input(query: &ListQuery, _context: &Context) -> Result<ListDealsParams, MappingError> {
        let filters = &query.filters;
        let sort_by = filters.sort_by.map(|sort| match sort {
            SortBy::UpdatedAt => ListDealsSortBy::UpdateTime,
            SortBy::CreatedAt => ListDealsSortBy::AddTime,
        });
        Ok(ListDealsParams {
            updated_since: filters.updated_after.map(|at| {
                at.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            }),
            status: filters
                .status
                .as_deref()
                .map(status_filter)
                .transpose()?
                .map(str::to_owned),
            owner_id: filters
                .owner_id
                .as_deref()
                .map(|id| pipedrive_id("owner_id", id))
                .transpose()?,
            org_id: filters
                .account_id
                .as_deref()
                .map(|id| pipedrive_id("account_id", id))
                .transpose()?,
            sort_direction: sort_by.as_ref().map(|_| ListDealsSortDirection::Asc),
            sort_by,
            ..ListDealsParams::default()
        })
    }

    fn to_unified(record: &Deal, context: &Context) -> Result<unified::Opportunity, MappingError> {
        let custom_fields = record
            .custom_fields
            .iter()
            .flatten()
            .map(|(hash, value)| match context.field_by_hash(hash) {
                Some(field) => (field.name.clone(), custom_value_to_unified(field, value, record.id)),
                None => (hash.clone(), value.clone()),
            })
            .collect();
        let stage = record.stage_id.map(|id| unified::OpportunityStage {
            id: Some(id.to_string()),
            name: context.stage(id).map(|stage| stage.name.clone()),
        });
        Ok(unified::Opportunity {
            name: Some(record.title.clone()),
            amount: record.value,
            currency: record.currency.clone(),
            owner: record
                .owner_id
                .map(|id| unified::OpportunityOwner { id: id.to_string() }),
            account: record
                .org_id
                .map(|id| unified::OpportunityAccount { id: id.to_string() }),
            contact: record
                .person_id
                .map(|id| vec![unified::OpportunityContact { id: id.to_string() }]),
            stage,
            status: record.status.as_deref().map(status_to_unified),
            custom_fields: Some(custom_fields),
            close_date: record.expected_close_date.map(midnight_utc),
            created_at: record.add_time,
            updated_at: record.update_time,
            ..empty_opportunity(record.id.to_string())
        })
    }

    fn to_create(
        body: &unified::OpportunityCreate,
        context: &Context,
    ) -> Result<DealCreate, MappingError> {
        let title = body
            .name
            .clone()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| MappingError::new(PROVIDER, "name", "null", "Pipedrive requires a title"))?;
        Ok(DealCreate {
            title,
            value: body.amount,
            currency: body.currency.clone(),
            owner_id: body
                .owner
                .as_ref()
                .map(|owner| pipedrive_id("owner.id", &owner.id))
                .transpose()?,
            org_id: body
                .account
                .as_ref()
                .map(|account| pipedrive_id("account.id", &account.id))
                .transpose()?,
            person_id: single_person(body.contact.as_deref().unwrap_or_default())?,
            // Pipedrive takes the pipeline from the stage.
            pipeline_id: None,
            stage_id: body
                .stage
                .as_ref()
                .map(|stage| stage_id(stage, context))
                .transpose()?,
            status: body
                .status
                .as_ref()
                .map(|status| writable_status(status).map(DealCreateStatus::from))
                .transpose()?,
            expected_close_date: body.close_date.map(|at| at.date_naive()),
            probability: None,
            lost_reason: None,
            visible_to: None,
            label_ids: None,
            custom_fields: body
                .custom_fields
                .as_ref()
                .map(|fields| custom_fields_to_pipedrive(fields, context))
                .transpose()?,
        })
    }

    fn to_update(
        body: &unified::OpportunityUpdate,
        context: &Context,
    ) -> Result<DealUpdate, MappingError> {
        not_clearable(&body.name, "name", "a Pipedrive deal always has a title")?;
        not_clearable(&body.currency, "currency", "a Pipedrive deal always has a currency")?;
        not_clearable(&body.owner, "owner", "a Pipedrive deal always has an owner")?;
        not_clearable(&body.stage, "stage", "a Pipedrive deal is always in a stage")?;
        not_clearable(&body.status, "status", "a Pipedrive deal is always open, won or lost")?;
        not_clearable(
            &body.custom_fields,
            "custom_fields",
            "set a custom field to null to clear it; the map itself cannot be null",
        )?;
        Ok(DealUpdate {
            title: body.name.clone(),
            value: match body.amount {
                // Pipedrive has no empty value: a deal without one is worth 0,
                // which is what Pipedrive shows for a cleared value.
                Patch::Null => Patch::Value(0.0),
                ref other => other.clone(),
            },
            currency: body.currency.clone(),
            owner_id: patch(&body.owner, |owner| pipedrive_id("owner.id", &owner.id))?,
            org_id: patch(&body.account, |account| pipedrive_id("account.id", &account.id))?,
            person_id: match &body.contact {
                Patch::Absent => Patch::Absent,
                Patch::Null => Patch::Null,
                Patch::Value(contacts) => single_person(contacts)?.into(),
            },
            pipeline_id: Patch::Absent,
            stage_id: patch(&body.stage, |stage| stage_id(stage, context))?,
            status: patch(&body.status, |status| {
                writable_status(status).map(DealUpdateStatus::from)
            })?,
            expected_close_date: body.close_date.clone().map(|at| at.date_naive()),
            probability: Patch::Absent,
            lost_reason: Patch::Absent,
            visible_to: Patch::Absent,
            label_ids: Patch::Absent,
            custom_fields: patch(&body.custom_fields, |fields| {
                custom_fields_to_pipedrive(fields, context)
            })?,
        })
    }
}

impl UnifiedMapping for Pipedrive {
    /// The custom fields of one page of `dealFields` (built-in fields such as
    /// `title` are mapped by the glue itself). `field_name`, the display
    /// name, is the key; none is reported required (Pipedrive's
    /// `required_fields` applies per stage or status, in `remote_data`) or
    /// read-only.
    fn custom_fields_list(
        &self,
        response: &DealFieldPage,
    ) -> Result<Vec<CustomFieldDefinition>, MappingError> {
        Ok(response
            .data
            .iter()
            .filter(|field| field.is_custom_field)
            .map(|field| CustomFieldDefinition {
                id: field.field_code.clone(),
                name: field.field_name.clone(),
                label: None,
                data_type: field.field_type.clone(),
                options: field
                    .options
                    .iter()
                    .flatten()
                    .map(|option| {
                        let id = match &option.id {
                            DealFieldOptionId::Integer(id) => id.to_string(),
                            DealFieldOptionId::String(id) => id.clone(),
                        };
                        (id, option.label.clone())
                    })
                    .collect(),
                required: false,
                read_only: false,
                remote_data: remote(field),
            })
            .collect())
    }

    fn stages_list(&self, response: &StagePage) -> Result<Vec<Stage>, MappingError> {
        Ok(response
            .data
            .iter()
            .map(|stage| Stage {
                id: stage.id.to_string(),
                name: stage.name.clone(),
                pipeline: Some(Pipeline {
                    id: stage.pipeline_id.to_string(),
                    name: None,
                }),
                remote_data: remote(stage),
            })
            .collect())
    }

    fn users_list(&self, response: &UserList) -> Result<Vec<User>, MappingError> {
        Ok(response
            .data
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
