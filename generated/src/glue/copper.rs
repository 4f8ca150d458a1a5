//! Copper: integer ids, `monetary_value` in units, `close_date` as
//! `MM/DD/YYYY`, `date_*` in Unix seconds, `status` Open/Won/Lost/Abandoned,
//! `assignee_id` the owner, `company_id` the account, one
//! `primary_contact_id` (required on create), `pipeline_stage_id` the
//! stage, tags as strings, custom fields as
//! `[{custom_field_definition_id, value}]`. Lists are `POST
//! /opportunities/search` with `page_number`/`page_size`.

use super::close::empty_opportunity;
use super::{Page, map_one, map_records, raw_json};
use crate::account::{Credentials, IntegratedAccount, Provider};
use crate::error::UnifiedError;
use crate::providers::copper::{
    Client, CustomFieldDefinition as CopperField, CustomFieldValue, Opportunity, OpportunityCreate,
    OpportunitySearch, OpportunityStatus, OpportunityUpdate, Pipeline, UnifiedMapping,
};
use crate::render::UnifiedRecord;
use crate::unified::crm as unified;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use crm_runtime::Patch;
use crm_runtime::mapping::{CustomFieldDefinition, ListQuery, MappingError, Stage};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PROVIDER: &str = "copper";
/// Copper's largest page.
const MAX_PAGE: u32 = 200;
const CLOSE_DATE_FORMAT: &str = "%m/%d/%Y";

/// What mapping needs: custom field definitions and stage names.
#[derive(Debug, Default)]
pub(crate) struct Context {
    pub custom_fields: Vec<CustomFieldDefinition>,
    pub stages: Vec<Stage>,
}

pub(crate) struct Glue;

pub(crate) fn client(
    account: &IntegratedAccount,
    http: &crm_runtime::reexports::reqwest::Client,
) -> Client {
    let base_url = account
        .base_url
        .clone()
        .unwrap_or_else(|| Client::DEFAULT_BASE_URL.to_owned());
    let client = Client::with_http_client(base_url, http.clone()).with_application("developer_api");
    match &account.credentials {
        Credentials::Copper {
            access_token,
            user_email,
        } => client
            .with_access_token(access_token.clone())
            .with_user_email(user_email.clone()),
        Credentials::Close { .. } => client,
    }
}

fn failed<E>(error: crm_runtime::Error<E>) -> UnifiedError {
    UnifiedError::from_client(Provider::Copper, error)
}

pub(crate) async fn context(client: &Client) -> Result<Context, UnifiedError> {
    let fields = client
        .list_custom_field_definitions()
        .await
        .map_err(failed)?;
    let pipelines = client.list_pipelines().await.map_err(failed)?;
    Ok(Context {
        custom_fields: Glue.custom_fields_list(&fields.body)?,
        stages: Glue.stages_list(&pipelines.body)?,
    })
}

pub(crate) async fn list(
    client: &Client,
    context: &Context,
    query: &ListQuery,
) -> Result<Page, UnifiedError> {
    let search = Glue.opportunities_list(query, context)?;
    let response = client
        .list_opportunities(Some(&search))
        .await
        .map_err(failed)?;
    let raw = raw_json(Provider::Copper, &response)?;
    let records = map_records(
        Provider::Copper,
        &raw,
        "",
        &response.body,
        |record| record.id.to_string(),
        |record| Glue.opportunities_get(record, context),
    )?;
    let page = search.page_number.unwrap_or(1);
    let size = search.page_size.unwrap_or(i64::from(MAX_PAGE));
    let total = response
        .headers
        .get("x-pw-total")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok());
    let more = match total {
        Some(total) => page * size < total,
        None => records.len() as i64 == size,
    };
    let next = (more && !records.is_empty()).then(|| json!({"page": page + 1}));
    Ok(Page { records, raw, next })
}

fn copper_id(field: &str, id: &str) -> Result<i64, MappingError> {
    id.parse()
        .map_err(|_| MappingError::new(PROVIDER, field, id, "Copper ids are integers"))
}

pub(crate) fn record_id(id: &str) -> Result<i64, UnifiedError> {
    copper_id("id", id).map_err(|error| UnifiedError::invalid("id", error.to_string()))
}

pub(crate) async fn get(
    client: &Client,
    context: &Context,
    id: &str,
) -> Result<UnifiedRecord, UnifiedError> {
    let response = client
        .get_opportunity(&record_id(id)?)
        .await
        .map_err(failed)?;
    map_one(Provider::Copper, &response, |record| {
        Glue.opportunities_get(record, context)
    })
}

pub(crate) async fn create(
    client: &Client,
    context: &Context,
    body: &unified::OpportunityCreate,
) -> Result<UnifiedRecord, UnifiedError> {
    let body = Glue.opportunities_create(body, context)?;
    let response = client.create_opportunity(&body).await.map_err(failed)?;
    map_one(Provider::Copper, &response, |record| {
        Glue.opportunities_get(record, context)
    })
}

pub(crate) async fn update(
    client: &Client,
    context: &Context,
    id: &str,
    body: &unified::OpportunityUpdate,
) -> Result<UnifiedRecord, UnifiedError> {
    let id = record_id(id)?;
    let body = Glue.opportunities_update(body, context)?;
    let response = client
        .update_opportunity(&id, &body)
        .await
        .map_err(failed)?;
    map_one(Provider::Copper, &response, |record| {
        Glue.opportunities_get(record, context)
    })
}

pub(crate) async fn delete(client: &Client, id: &str) -> Result<UnifiedRecord, UnifiedError> {
    let response = client
        .delete_opportunity(&record_id(id)?)
        .await
        .map_err(failed)?;
    let remote_data = raw_json(Provider::Copper, &response)?;
    Ok(UnifiedRecord {
        record: unified::Opportunity {
            id: response.body.id.to_string(),
            ..empty_opportunity()
        },
        remote_data,
    })
}

fn unix(field: &str, seconds: i64) -> Result<DateTime<FixedOffset>, MappingError> {
    DateTime::from_timestamp(seconds, 0)
        .map(|at| at.fixed_offset())
        .ok_or_else(|| MappingError::new(PROVIDER, field, seconds, "is not a Unix time in seconds"))
}

/// `1/15/2018` (Copper's `MM/DD/YYYY`, leading zeros optional) as midnight UTC.
fn parse_close_date(text: &str) -> Result<DateTime<FixedOffset>, MappingError> {
    NaiveDate::parse_from_str(text, CLOSE_DATE_FORMAT)
        .map(|date| date.and_time(NaiveTime::MIN).and_utc().fixed_offset())
        .map_err(|_| MappingError::new(PROVIDER, "close_date", text, "is not a MM/DD/YYYY date"))
}

fn format_close_date(at: &DateTime<FixedOffset>) -> String {
    at.date_naive().format(CLOSE_DATE_FORMAT).to_string()
}

fn status_to_unified(
    status: &OpportunityStatus,
) -> Result<unified::UnifiedOpportunityStatus, MappingError> {
    Ok(match status {
        OpportunityStatus::Open => unified::UnifiedOpportunityStatus::Open,
        OpportunityStatus::Won => unified::UnifiedOpportunityStatus::Won,
        OpportunityStatus::Lost => unified::UnifiedOpportunityStatus::Lost,
        OpportunityStatus::Abandoned => unified::UnifiedOpportunityStatus::Abandoned,
        OpportunityStatus::Unknown(other) => {
            return Err(MappingError::new(
                PROVIDER,
                "status",
                other,
                "is not Open, Won, Lost or Abandoned",
            ));
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

fn custom_values(
    fields: &BTreeMap<String, Value>,
    context: &Context,
) -> Result<Vec<CustomFieldValue>, MappingError> {
    fields
        .iter()
        .map(|(name, value)| {
            let definition = context
                .custom_fields
                .iter()
                .find(|definition| &definition.name == name || &definition.id == name)
                .ok_or_else(|| {
                    MappingError::new(
                        PROVIDER,
                        format!("custom_fields.{name}"),
                        value,
                        "no opportunity custom field has this name",
                    )
                })?;
            Ok(CustomFieldValue {
                custom_field_definition_id: copper_id(
                    "custom_field_definition_id",
                    &definition.id,
                )?,
                // `null` is sent: it clears the field.
                value: Some(value.clone()),
            })
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

impl UnifiedMapping for Glue {
    type Context = Context;

    fn opportunities_list(
        &self,
        query: &ListQuery,
        _context: &Context,
    ) -> Result<OpportunitySearch, MappingError> {
        let page = match &query.cursor {
            None => 1,
            Some(state) => state.get("page").and_then(Value::as_i64).ok_or_else(|| {
                MappingError::new(PROVIDER, "next_cursor", state, "not a Copper cursor")
            })?,
        };
        let mut search: OpportunitySearch = serde_json::from_value(json!({}))
            .map_err(|error| MappingError::new(PROVIDER, "search", "{}", error.to_string()))?;
        search.page_number = Some(page);
        search.page_size = Some(i64::from(query.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE)));
        Ok(search)
    }

    fn opportunities_get(
        &self,
        record: &Opportunity,
        context: &Context,
    ) -> Result<unified::Opportunity, MappingError> {
        let custom_fields = record
            .custom_fields
            .iter()
            .flatten()
            .map(|field| {
                let id = field.custom_field_definition_id.to_string();
                let name = context
                    .custom_fields
                    .iter()
                    .find(|definition| definition.id == id)
                    .map_or(id, |definition| definition.name.clone());
                (name, field.value.clone().unwrap_or(Value::Null))
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
                .map(parse_close_date)
                .transpose()?,
            created_at: record
                .date_created
                .map(|at| unix("date_created", at))
                .transpose()?,
            updated_at: record
                .date_modified
                .map(|at| unix("date_modified", at))
                .transpose()?,
            ..empty_opportunity()
        })
    }

    fn opportunities_create(
        &self,
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
            close_date: body.close_date.as_ref().map(format_close_date),
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
                .and_then(|stage| stage.id.as_deref())
                .map(|id| copper_id("stage.id", id))
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

    fn opportunities_update(
        &self,
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
            Patch::Null => Patch::Null,
            // Copper moves an opportunity between stages by stage id.
            Patch::Value(stage) => match stage.id.as_deref() {
                Some(id) => Patch::Value(copper_id("stage.id", id)?),
                None => {
                    return Err(MappingError::new(
                        PROVIDER,
                        "stage",
                        stage.name.as_deref().unwrap_or("{}"),
                        "Copper sets a stage by its id",
                    ));
                }
            },
        };
        Ok(OpportunityUpdate {
            name: body.name.clone(),
            primary_contact_id,
            assignee_id: patch(&body.owner, |owner| copper_id("owner.id", &owner.id))?,
            close_date: patch(&body.close_date, |at| Ok(format_close_date(at)))?,
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
                name: field.name.clone(),
                data_type: field.data_type.clone(),
                options: field
                    .options
                    .iter()
                    .flatten()
                    .map(|option| (option.id.to_string(), option.name.clone()))
                    .collect(),
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
                })
            })
            .collect())
    }
}
